//! Connection and server commands: PING, ECHO, QUIT, RESET, SELECT, SWAPDB, AUTH, HELLO, CLIENT,
//! INFO, CONFIG, FLUSHDB/FLUSHALL, TIME, LASTSAVE, SLOWLOG, MONITOR, COMMAND, MEMORY, DEBUG,
//! and the persistence/replication entry points that belong to other parts of the project.

use super::{err, unknown_subcommand, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::client::{Client, ClientKind, OutMsg, ReplyMode};
use crate::server::{Server, SlowEntry};
use crate::util::{eq_ignore_case, lower, parse_i64};
use resp::request::Argv;

pub fn ping(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len() > 2 {
        return Err(Error::msg(
            "ERR wrong number of arguments for 'ping' command",
        ));
    }
    if ctx.client.in_pubsub_mode() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(a.get(1).unwrap_or_default());
    } else if a.len() == 2 {
        ctx.out.bulk(&a[1]);
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    ctx.out.bulk(&a[1]);
    Ok(())
}

pub fn cluster_disabled(_ctx: &mut Ctx) -> CmdResult {
    err("ERR This instance has cluster support disabled")
}

/// LATENCY: the latency monitor records events slower than `latency-monitor-threshold`; it is
/// off (0) by default and no event source feeds it yet, so its history is empty.
pub fn latency(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "latest" if a.len() == 2 => ctx.out.array(0),
        "history" if a.len() == 3 => ctx.out.array(0),
        "reset" => ctx.out.int(0),
        "doctor" if a.len() == 2 => ctx.out.verbatim(b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better tonight.\n"),
        "histogram" => ctx.out.map(0),
        "help" => {
            let lines = ["LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DOCTOR", "GRAPH <event>", "HISTORY <event>", "LATEST", "RESET [<event> ...]", "HISTOGRAM [COMMAND ...]", "HELP"];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "latest" | "history" | "doctor" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

/// MODULE: this server loads no modules.
pub fn module(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "list" if a.len() == 2 => ctx.out.array(0),
        "load" | "loadex" if a.len() >= 3 => {
            return err("ERR Error loading the extension. Please check the server logs.")
        }
        "unload" if a.len() == 3 => {
            return err("ERR Error unloading module: no such module with that name")
        }
        "help" => {
            let lines = [
                "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LIST",
                "LOAD <path> [<arg> ...]",
                "UNLOAD <name>",
                "HELP",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "list" | "load" | "loadex" | "unload" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

pub fn quit(ctx: &mut Ctx) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

pub fn reset(ctx: &mut Ctx) -> CmdResult {
    ctx.client.multi = None;
    crate::tracking::disable(ctx.srv, ctx.client);
    super::multi::unwatch_all(ctx.srv, ctx.client);
    let chans: Vec<Vec<u8>> = ctx.client.subscriptions.iter().cloned().collect();
    for c in chans {
        crate::pubsub::unsubscribe(ctx.srv, ctx.client, &c);
    }
    let pats: Vec<Vec<u8>> = ctx.client.patterns.iter().cloned().collect();
    for p in pats {
        crate::pubsub::punsubscribe(ctx.srv, ctx.client, &p);
    }
    if ctx.client.monitor {
        ctx.client.monitor = false;
        let id = ctx.client.id;
        ctx.srv.monitors.retain(|&i| i != id);
    }
    ctx.client.db = 0;
    ctx.client.resp3 = false;
    ctx.out.resp3 = false;
    ctx.client.name = None;
    ctx.client.no_evict = false;
    ctx.client.reply_mode = ReplyMode::On;
    // Back to the default user, authenticated only if it needs no password.
    if ctx.client.kind != ClientKind::Control {
        if ctx.client.user.is_some() {
            ctx.client.user = Some(ctx.srv.acl.default_tag());
        }
        ctx.client.authenticated = ctx.srv.acl.default_needs_no_auth();
    }
    ctx.out.simple("RESET");
    Ok(())
}

pub fn select(ctx: &mut Ctx) -> CmdResult {
    let n = parse_i64(&ctx.argv[1]).ok_or(Error::msg(NOT_INT))?;
    if n < 0 || n as usize >= ctx.srv.ks.dbs.len() {
        return err("ERR DB index is out of range");
    }
    ctx.client.db = n as usize;
    ctx.out.ok();
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let x = parse_i64(&a[1]).ok_or(Error::msg("ERR invalid first DB index"))?;
    let y = parse_i64(&a[2]).ok_or(Error::msg("ERR invalid second DB index"))?;
    let n = ctx.srv.ks.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return err("ERR DB index is out of range");
    }
    if x != y {
        ctx.srv.ks.dbs.swap(x as usize, y as usize);
        if let Some(cow) = ctx.srv.ks.cow.as_deref_mut() {
            cow.swapped(x as usize, y as usize);
        }
        let (x, y) = (x as usize, y as usize);
        ctx.srv.touch_all_watched(Some(x), Some(y), ctx.client);
        ctx.srv.touch_all_watched(Some(y), Some(x), ctx.client);
        for db in [x, y] {
            let keys: Vec<Box<[u8]>> = ctx
                .srv
                .blocking
                .waiting
                .keys()
                .filter(|(d, _)| *d == db)
                .map(|(_, k)| k.clone())
                .collect();
            for k in keys {
                ctx.srv.blocking.signal(db, &k);
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

pub fn hello(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut proto = if ctx.client.resp3 { 3 } else { 2 };
    let mut i = 1;
    if a.len() > 1 {
        let v = parse_i64(&a[1]).ok_or(Error::msg(
            "ERR Protocol version is not an integer or out of range",
        ))?;
        if !(2..=3).contains(&v) {
            return err("NOPROTO unsupported protocol version");
        }
        proto = v;
        i = 2;
    }
    let mut auth: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut setname: Option<Vec<u8>> = None;
    while i < a.len() {
        if eq_ignore_case(&a[i], "auth") && i + 2 < a.len() {
            auth = Some((a[i + 1].to_vec(), a[i + 2].to_vec()));
            i += 3;
        } else if eq_ignore_case(&a[i], "setname") && i + 1 < a.len() {
            setname = Some(a[i + 1].to_vec());
            i += 2;
        } else {
            return Err(Error::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            )));
        }
    }
    if let Some((u, p)) = &auth {
        crate::acl::command::authenticate(ctx, Some(u), p)?;
    }
    if !ctx.client.authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        validate_name(&n)?;
        ctx.client.name = if n.is_empty() { None } else { Some(n) };
    }
    ctx.client.resp3 = proto == 3;
    ctx.out.resp3 = ctx.client.resp3;
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::info::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(proto);
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

fn validate_name(n: &[u8]) -> CmdResult {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return err("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    Ok(())
}

/// One CLIENT LIST line (without the trailing newline).
pub fn client_line(c: &Client, now: i64) -> String {
    let name = c
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib_name = c
        .lib_name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib_ver = c
        .lib_ver
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let multi = c.multi.as_ref().map_or(-1, |m| m.queued.len() as i64);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        c.id,
        c.conn.addr,
        c.conn.laddr,
        c.conn.fd,
        name,
        (now - c.created_ms) / 1000,
        (now - c.last_interaction_ms) / 1000,
        c.flags(),
        c.db,
        c.subscriptions.len(),
        c.patterns.len(),
        multi,
        c.outbox.pending_bytes(),
        c.last_cmd,
        c.user.as_ref().map_or("(superuser)", |u| u.name.as_str()),
        crate::tracking::redirect_of(c),
        if c.resp3 { 3 } else { 2 },
        lib_name,
        lib_ver,
    )
}

fn all_clients<'a>(srv: &'a Server, current: &'a Client) -> Vec<&'a Client> {
    let mut v: Vec<&Client> = srv
        .clients
        .values()
        .map(|b| &**b)
        .filter(|c| c.kind != ClientKind::Fake)
        .collect();
    v.push(current);
    v.sort_by_key(|c| c.id);
    v
}

fn client_type_matches(c: &Client, t: &str) -> bool {
    match t {
        "normal" => c.subscription_count() == 0 && c.repl_role.is_none(),
        "pubsub" => c.subscription_count() > 0,
        "master" => c.repl_role == Some("master"),
        "replica" | "slave" => c.repl_role == Some("replica"),
        _ => false,
    }
}

pub fn client(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = lower(&a[1]);
    let now = crate::util::now_ms();
    match sub.as_str() {
        "id" if a.len() == 2 => ctx.out.int(ctx.client.id as i64),
        "getname" if a.len() == 2 => match &ctx.client.name {
            Some(n) => {
                let n = n.clone();
                ctx.out.bulk(&n)
            }
            None => ctx.out.null(),
        },
        "setname" if a.len() == 3 => {
            validate_name(&a[2])?;
            ctx.client.name = if a[2].is_empty() {
                None
            } else {
                Some(a[2].to_vec())
            };
            ctx.out.ok();
        }
        "setinfo" if a.len() == 4 => {
            let attr = lower(&a[2]);
            if a[3].iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
                return Err(Error::msg(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    attr
                )));
            }
            match attr.as_str() {
                "lib-name" => ctx.client.lib_name = Some(a[3].to_vec()),
                "lib-ver" => ctx.client.lib_ver = Some(a[3].to_vec()),
                _ => {
                    return Err(Error::msg(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&a[2])
                    )))
                }
            }
            ctx.out.ok();
        }
        "list" => {
            let mut ids: Option<Vec<u64>> = None;
            let mut ty: Option<String> = None;
            let mut i = 2;
            while i < a.len() {
                if eq_ignore_case(&a[i], "type") && i + 1 < a.len() {
                    let t = lower(&a[i + 1]);
                    if !matches!(
                        t.as_str(),
                        "normal" | "master" | "replica" | "slave" | "pubsub"
                    ) {
                        return Err(Error::msg(format!("ERR Unknown client type '{}'", t)));
                    }
                    ty = Some(t);
                    i += 2;
                } else if eq_ignore_case(&a[i], "id") && i + 1 < a.len() {
                    let mut v = Vec::new();
                    for x in a.iter().skip(i + 1) {
                        let n = parse_i64(x)
                            .filter(|n| *n > 0)
                            .ok_or(Error::msg("ERR Invalid client ID"))?;
                        v.push(n as u64);
                    }
                    ids = Some(v);
                    i = a.len();
                } else {
                    return err(SYNTAX);
                }
            }
            let mut text = String::new();
            for c in all_clients(ctx.srv, ctx.client) {
                if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
                    continue;
                }
                if ty.as_ref().is_some_and(|t| !client_type_matches(c, t)) {
                    continue;
                }
                text.push_str(&client_line(c, now));
                text.push('\n');
            }
            ctx.out.verbatim(text.as_bytes());
        }
        "info" if a.len() == 2 => {
            let mut line = client_line(ctx.client, now);
            line.push('\n');
            ctx.out.verbatim(line.as_bytes());
        }
        "kill" => client_kill(ctx)?,
        "pause" if a.len() == 3 || a.len() == 4 => {
            let ms = parse_i64(&a[2])
                .ok_or(Error::msg("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return err("ERR timeout is negative");
            }
            let all = if a.len() == 4 {
                if eq_ignore_case(&a[3], "write") {
                    false
                } else if eq_ignore_case(&a[3], "all") {
                    true
                } else {
                    return err("ERR CLIENT PAUSE mode must be WRITE or ALL");
                }
            } else {
                true
            };
            ctx.srv.pause = Some((now + ms, all));
            ctx.out.ok();
        }
        "unpause" if a.len() == 2 => {
            ctx.srv.pause = None;
            ctx.out.ok();
        }
        "reply" if a.len() == 3 => {
            let m = lower(&a[2]);
            ctx.client.reply_mode = match m.as_str() {
                "on" => ReplyMode::On,
                "off" => ReplyMode::Off,
                // SKIP under OFF changes nothing (redis sets SKIP_NEXT only when not OFF).
                "skip" if ctx.client.reply_mode == ReplyMode::Off => ReplyMode::Off,
                "skip" => ReplyMode::Skip,
                _ => return err(SYNTAX),
            };
            if ctx.client.reply_mode == ReplyMode::On {
                ctx.out.ok();
            }
        }
        "no-evict" if a.len() == 3 => {
            let m = lower(&a[2]);
            ctx.client.no_evict = match m.as_str() {
                "on" => true,
                "off" => false,
                _ => return err(SYNTAX),
            };
            ctx.out.ok();
        }
        "no-touch" if a.len() == 3 => ctx.out.ok(),
        // Client-side caching (tracking.rs).
        "tracking" if a.len() >= 3 => return crate::tracking::client_tracking(ctx),
        "caching" if a.len() == 3 => return crate::tracking::client_caching(ctx),
        "getredir" if a.len() == 2 => return crate::tracking::client_getredir(ctx),
        "trackinginfo" if a.len() == 2 => return crate::tracking::client_trackinginfo(ctx),
        "unblock" if a.len() == 3 || a.len() == 4 => {
            let id = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))? as u64;
            let error = if a.len() == 4 {
                if eq_ignore_case(&a[3], "error") {
                    true
                } else if eq_ignore_case(&a[3], "timeout") {
                    false
                } else {
                    return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                }
            } else {
                false
            };
            let Some(c) = ctx.srv.clients.get_mut(&id) else {
                ctx.out.int(0);
                return Ok(());
            };
            if c.blocked.is_none() {
                ctx.out.int(0);
                return Ok(());
            }
            let b = ctx.srv.blocking.unblock(c).expect("blocked");
            let mut r = resp::ReplyBuf::new(c.resp3);
            if error {
                r.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            } else {
                b.op.timeout_reply(&mut r);
            }
            c.outbox.send(OutMsg::Data(r.buf));
            c.outbox.send(OutMsg::Unblocked);
            ctx.out.int(1);
        }
        "help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "ID",
                "INFO",
                "KILL <ip:port>",
                "KILL <option> <value> [<option> <value> [...]]",
                "LIST [options ...]",
                "UNPAUSE",
                "PAUSE <timeout> [WRITE|ALL]",
                "REPLY (ON|OFF|SKIP)",
                "SETNAME <name>",
                "SETINFO <option> <value>",
                "NO-EVICT (ON|OFF)",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "HELP",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "id" | "getname" | "setname" | "setinfo" | "info" | "pause" | "unpause" | "reply"
        | "no-evict" | "no-touch" | "getredir" | "trackinginfo" | "unblock" | "tracking"
        | "caching" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

fn client_kill(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let now_id = ctx.client.id;
    // Old form: CLIENT KILL addr:port.
    if a.len() == 3 {
        let addr = String::from_utf8_lossy(&a[2]).to_string();
        let target = all_clients(ctx.srv, ctx.client)
            .into_iter()
            .find(|c| c.conn.addr == addr)
            .map(|c| c.id);
        let Some(id) = target else {
            return err("ERR No such client");
        };
        kill_one(ctx, id);
        ctx.out.ok();
        return Ok(());
    }
    if !a.len().is_multiple_of(2) {
        return err(SYNTAX);
    }
    let (mut id, mut addr, mut laddr, mut ty, mut user, mut skipme) =
        (None, None, None, None, None, true);
    for i in (2..a.len()).step_by(2) {
        let v = String::from_utf8_lossy(&a[i + 1]).to_string();
        match lower(&a[i]).as_str() {
            "id" => {
                id = Some(
                    parse_i64(&a[i + 1])
                        .filter(|n| *n > 0)
                        .ok_or(Error::msg("ERR client-id should be greater than 0"))?
                        as u64,
                )
            }
            "addr" => addr = Some(v),
            "laddr" => laddr = Some(v),
            "type" => {
                let t = v.to_ascii_lowercase();
                if !matches!(
                    t.as_str(),
                    "normal" | "master" | "replica" | "slave" | "pubsub"
                ) {
                    return Err(Error::msg(format!("ERR Unknown client type '{v}'")));
                }
                ty = Some(t)
            }
            "user" => {
                if !ctx.srv.acl.users.contains_key(&v) {
                    return Err(Error::msg(format!("ERR No such user '{v}'")));
                }
                user = Some(v)
            }
            "skipme" => {
                skipme = match v.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return err(SYNTAX),
                }
            }
            "maxage" => {}
            _ => return err(SYNTAX),
        }
    }
    let targets: Vec<u64> = all_clients(ctx.srv, ctx.client)
        .into_iter()
        .filter(|c| id.is_none_or(|x| c.id == x))
        .filter(|c| addr.as_ref().is_none_or(|x| &c.conn.addr == x))
        .filter(|c| laddr.as_ref().is_none_or(|x| &c.conn.laddr == x))
        .filter(|c| ty.as_ref().is_none_or(|t| client_type_matches(c, t)))
        .filter(|c| {
            user.as_ref()
                .is_none_or(|u| c.user.as_ref().is_some_and(|x| x.name == *u))
        })
        .filter(|c| !(skipme && c.id == now_id))
        .map(|c| c.id)
        .collect();
    for t in &targets {
        kill_one(ctx, *t);
    }
    ctx.out.int(targets.len() as i64);
    Ok(())
}

fn kill_one(ctx: &mut Ctx, id: u64) {
    if id == ctx.client.id {
        ctx.client.close_after_reply = true;
        return;
    }
    super::close_client(ctx.srv, id);
}

pub fn info(ctx: &mut Ctx) -> CmdResult {
    let args: Vec<String> = ctx.argv.iter().skip(1).map(lower).collect();
    let connected = ctx.client.kind != ClientKind::Fake;
    let text = crate::info::render(ctx.srv, &args, connected);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

pub fn config(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = lower(&a[1]);
    match sub.as_str() {
        "get" if a.len() >= 3 => {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for p in a.iter().skip(2) {
                for (k, v) in ctx.srv.config.matching(p) {
                    if !pairs.iter().any(|(x, _)| *x == k) {
                        pairs.push((k, v));
                    }
                }
            }
            ctx.out.map(pairs.len());
            for (k, v) in pairs {
                ctx.out.bulk(k.as_bytes());
                ctx.out.bulk(v.as_bytes());
            }
        }
        "set" if a.len() >= 4 && a.len().is_multiple_of(2) => {
            let mut trial = ctx.srv.config.clone();
            let mut seen: Vec<String> = Vec::new();
            for i in (2..a.len()).step_by(2) {
                let name = lower(&a[i]);
                if seen.contains(&name) {
                    return Err(Error::msg(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter")));
                }
                seen.push(name.clone());
                let value = String::from_utf8_lossy(&a[i + 1]).to_string();
                if let Err(e) = trial.set(&name, &value) {
                    if e == "Unknown option" {
                        return Err(Error::msg(format!(
                            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                            String::from_utf8_lossy(&a[i])
                        )));
                    }
                    return Err(Error::msg(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - {e}"
                    )));
                }
            }
            ctx.srv.config = trial;
            ctx.srv.apply_config();
            if seen.iter().any(|n| n == "maxmemory") {
                // A lower limit evicts at once, as redis's updateMaxmemory does.
                crate::evict::make_room(ctx.srv);
            }
            crate::persistence::aof::config_changed(ctx.srv)
                .map_err(|e| Error::msg(format!("ERR {e}")))?;
            ctx.out.ok();
        }
        "resetstat" if a.len() == 2 => {
            ctx.srv.stats.commands.clear();
            ctx.srv.stats.errors.clear();
            ctx.srv.stats.total_error_replies = 0;
            ctx.srv.stats.commands_processed = 0;
            ctx.srv.stats.connections_received = 0;
            ctx.srv.stats.net_input_bytes = 0;
            ctx.srv.stats.net_output_bytes = 0;
            ctx.srv.stats.pubsub_messages = 0;
            ctx.srv.ks.stats = Default::default();
            ctx.out.ok();
        }
        "rewrite" if a.len() == 2 => return err("ERR The server is running without a config file"),
        "help" => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "get" | "set" | "resetstat" | "rewrite" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

fn flush_mode(ctx: &Ctx) -> Result<bool, Error> {
    let a = ctx.argv;
    match a.len() {
        1 => Ok(ctx.srv.config.flag("lazyfree-lazy-user-flush")),
        2 if eq_ignore_case(&a[1], "async") => Ok(true),
        2 if eq_ignore_case(&a[1], "sync") => Ok(false),
        _ => err(SYNTAX),
    }
}

pub fn flushdb(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    let db = ctx.db();
    ctx.srv.touch_all_watched(Some(db), None, ctx.client);
    crate::tracking::flush(ctx.srv, ctx.client);
    ctx.srv.ks.flush(Some(db), lazy);
    ctx.srv.stats.dirty += 1;
    ctx.out.ok();
    Ok(())
}

pub fn flushall(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    ctx.srv.touch_all_watched(None, None, ctx.client);
    crate::tracking::flush(ctx.srv, ctx.client);
    ctx.srv.ks.flush(None, lazy);
    ctx.srv.stats.dirty += 1;
    ctx.out.ok();
    Ok(())
}

pub fn time(ctx: &mut Ctx) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk((us / 1_000_000).to_string().as_bytes());
    ctx.out.bulk((us % 1_000_000).to_string().as_bytes());
    Ok(())
}

pub fn lastsave(ctx: &mut Ctx) -> CmdResult {
    let t = ctx.srv.last_save;
    ctx.out.int(t);
    Ok(())
}

/// Records a command in the slow log if it ran long enough.
pub fn slowlog_push(srv: &mut Server, client: &Client, argv: &Argv, us: u64) {
    let threshold = srv.config.slowlog_slower_than;
    if threshold < 0 || (us as i64) < threshold {
        return;
    }
    let mut args: Vec<Vec<u8>> = Vec::new();
    let n = argv.len().min(32);
    for (i, a) in argv.iter().take(n).enumerate() {
        if i == 31 && argv.len() > 32 {
            args.push(format!("... ({} more arguments)", argv.len() - 31).into_bytes());
            break;
        }
        if crate::acl::redacted(argv, i) {
            args.push(b"(redacted)".to_vec());
        } else if a.len() > 128 {
            let mut v = a[..128].to_vec();
            v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
            args.push(v);
        } else {
            args.push(a.to_vec());
        }
    }
    let id = srv.slowlog_next_id;
    srv.slowlog_next_id += 1;
    srv.slowlog.push_front(SlowEntry {
        id,
        time: crate::util::now_ms() / 1000,
        duration_us: us,
        args,
        addr: client.conn.addr.clone(),
        name: client.name.clone().unwrap_or_default(),
    });
    while srv.slowlog.len() > srv.config.slowlog_max_len {
        srv.slowlog.pop_back();
    }
}

pub fn slowlog(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "get" if a.len() <= 3 => {
            let n = if a.len() == 3 {
                let n = parse_i64(&a[2]).ok_or(Error::msg(
                    "ERR count should be greater than or equal to -1",
                ))?;
                if n < -1 {
                    return err("ERR count should be greater than or equal to -1");
                }
                if n == -1 {
                    usize::MAX
                } else {
                    n as usize
                }
            } else {
                10
            };
            let entries: Vec<&SlowEntry> = ctx.srv.slowlog.iter().take(n).collect();
            let mut r = resp::ReplyBuf::new(ctx.out.resp3);
            r.array(entries.len());
            for e in entries {
                r.array(6);
                r.int(e.id as i64);
                r.int(e.time);
                r.int(e.duration_us as i64);
                r.array(e.args.len());
                for x in &e.args {
                    r.bulk(x);
                }
                r.bulk(e.addr.as_bytes());
                r.bulk(&e.name);
            }
            ctx.out.raw(&r.buf);
        }
        "len" if a.len() == 2 => {
            let n = ctx.srv.slowlog.len();
            ctx.out.int(n as i64);
        }
        "reset" if a.len() == 2 => {
            ctx.srv.slowlog.clear();
            ctx.out.ok();
        }
        "help" => {
            let lines = [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "get" | "len" | "reset" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

pub fn monitor(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.is_some() {
        return err("ERR MONITOR isn't allowed inside a transaction");
    }
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.srv.monitors.push(ctx.client.id);
    }
    ctx.out.ok();
    Ok(())
}

/// redis's `sdscatrepr`: a quoted, escaped argument.
fn repr(a: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in a {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

pub fn feed_monitors(srv: &mut Server, client: &Client, argv: &Argv) {
    let us = crate::util::now_us();
    let who = match client.kind {
        ClientKind::Fake => "lua".to_string(),
        ClientKind::Control => "unix:control".to_string(),
        ClientKind::Normal => client.conn.addr.clone(),
    };
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        who
    );
    for a in argv.iter() {
        line.push(' ');
        line.push_str(&repr(a));
    }
    line.push_str("\r\n");
    for id in srv.monitors.clone() {
        if id == client.id {
            continue;
        }
        if let Some(m) = srv.clients.get(&id).filter(|m| !m.obuf_closed) {
            m.outbox.send(OutMsg::Data(line.clone().into_bytes()));
            crate::obuf::enforce(srv, id);
        }
    }
}

pub(crate) fn acl_categories(spec: &'static super::CommandSpec) -> Vec<String> {
    crate::acl::categories_of(spec)
}

pub fn memory(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "usage" if a.len() == 3 || a.len() == 5 => {
            if a.len() == 5 && !eq_ignore_case(&a[3], "samples") {
                return err(SYNTAX);
            }
            let db = ctx.db();
            match ctx.srv.ks.peek(db, &a[2]) {
                Some(i) => {
                    let n = ctx.srv.ks.slot(db, i).approx_bytes();
                    ctx.out.int(n as i64)
                }
                None => ctx.out.null(),
            }
        }
        "stats" if a.len() == 2 => {
            let used = ctx.srv.used_memory() as i64;
            let keys: usize = ctx.srv.ks.dbs.iter().map(|d| d.len()).sum();
            ctx.out.map(4);
            ctx.out.bulk(b"peak.allocated");
            ctx.out.int(crate::alloc::peak().max(used as usize) as i64);
            ctx.out.bulk(b"total.allocated");
            ctx.out.int(used);
            ctx.out.bulk(b"keys.count");
            ctx.out.int(keys as i64);
            ctx.out.bulk(b"keys.bytes-per-key");
            ctx.out.int(if keys > 0 { used / keys as i64 } else { 0 });
        }
        "doctor" if a.len() == 2 => ctx.out.verbatim(b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."),
        "malloc-stats" if a.len() == 2 => ctx.out.verbatim(b"Stats not supported for the current allocator"),
        "purge" if a.len() == 2 => ctx.out.ok(),
        "help" => {
            let lines = ["MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DOCTOR", "MALLOC-STATS", "PURGE", "STATS", "USAGE <key> [SAMPLES <count>]", "HELP"];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "usage" | "stats" | "doctor" | "malloc-stats" | "purge" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

pub fn debug(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "sleep" if a.len() == 3 => {
            let secs = crate::util::parse_f64(&a[2])
                .ok_or(Error::msg("ERR value is not a valid float"))?;
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.clamp(0.0, 60.0)));
            ctx.out.ok();
        }
        "object" if a.len() == 3 => {
            let db = ctx.db();
            let Some(i) = ctx.srv.ks.peek(db, &a[2]) else {
                return err("ERR no such key");
            };
            let s = ctx.srv.ks.slot(db, i);
            let line = format!(
                "Value at:0x0 refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                s.encoding(),
                s.approx_bytes(),
                s.meta & 0xff_ffff,
                ctx.srv.ks.idle_seconds(s.meta)
            );
            ctx.out.simple(&line);
        }
        "set-active-expire"
        | "quicklist-packed-threshold"
        | "set-skip-checksum-validation"
        | "change-repl-id"
        | "jmap"
        | "stringmatch-len" => ctx.out.ok(),
        "help" => {
            let lines = [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "OBJECT <key>",
                "SLEEP <seconds>",
                "SET-ACTIVE-EXPIRE <0|1>",
                "HELP",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

pub fn save(ctx: &mut Ctx) -> CmdResult {
    crate::persistence::save_command(ctx)
}

pub fn bgrewriteaof(ctx: &mut Ctx) -> CmdResult {
    crate::persistence::aof::bgrewriteaof_command(ctx)
}

pub fn shutdown(ctx: &mut Ctx) -> CmdResult {
    for o in ctx.argv.iter().skip(1) {
        if !["nosave", "save", "now", "force", "abort"]
            .iter()
            .any(|x| eq_ignore_case(o, x))
        {
            return err(SYNTAX);
        }
    }
    ctx.srv.shutdown_requested = true;
    ctx.client.close_after_reply = true;
    Ok(())
}

pub fn replicaof(ctx: &mut Ctx) -> CmdResult {
    crate::replication::replicaof(ctx)
}

pub fn migrate(_ctx: &mut Ctx) -> CmdResult {
    err("ERR MIGRATE is not available on this node yet")
}

pub fn role(ctx: &mut Ctx) -> CmdResult {
    crate::replication::role(ctx)
}

pub fn wait(ctx: &mut Ctx) -> CmdResult {
    crate::replication::wait(ctx)
}

pub fn lolwut(ctx: &mut Ctx) -> CmdResult {
    let text = format!("ferrocache, Redis ver. {}\n", crate::info::REDIS_VERSION);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// Closes connections idle longer than `timeout` (seconds; 0 disables).
pub fn cron_timeouts(srv: &mut Server) {
    let t = srv.config.timeout_secs as i64;
    if t == 0 {
        return;
    }
    let now = crate::util::now_ms();
    for c in srv.clients.values_mut() {
        if c.kind == ClientKind::Normal
            && c.blocked.is_none()
            && c.subscription_count() == 0
            && now - c.last_interaction_ms > t * 1000
        {
            c.close_after_reply = true;
            c.outbox.send(OutMsg::Close);
        }
    }
}
