//! Client-side caching (redis's tracking.c): CLIENT TRACKING/CACHING/GETREDIR/TRACKINGINFO,
//! the table of keys read by tracking clients, BCAST prefixes, and the invalidation messages.
//!
//! ```text
//!  read command by a tracking client ──▶ remember_keys: key → {client ids}   (default mode)
//!  any change of a key (Server::touch_watched, the one hook of every write path, expiry and
//!  eviction) ──▶ invalidate_key: the key's ids are told and the key leaves the table;
//!                 BCAST prefixes matching the key collect it (sent once per batch/cron)
//!  FLUSHDB/FLUSHALL ──▶ flush: every tracking client gets a null ("everything"), table emptied
//! ```
//!
//! Messages: RESP3 connections get a push `>2 invalidate [keys]` on their own connection;
//! with `REDIRECT id` they go to that connection instead, and a RESP2 connection subscribed to
//! anything receives them as a `__redis__:invalidate` pub/sub message. As in redis, a message
//! for the connection whose command is running waits until that command's reply is written
//! (the pending list, drained by [`after_command`]).
//!
//! Cost when nobody tracks: the write hook tests [`Tracking::active`] (one branch), reads test
//! the client's own `tracking` field after READONLY commands; nothing is hashed or allocated.

use crate::client::Client;
use crate::cmd::{err, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::server::Server;
use crate::util::{eq_ignore_case, lower, parse_i64};
use resp::ReplyBuf;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The pub/sub channel RESP2 redirect targets receive invalidations on.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's tracking mode (present while CLIENT TRACKING is on).
#[derive(Default, Debug)]
pub struct ClientTracking {
    /// Client id the messages go to (0: this connection).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) was given for the next command.
    pub caching: bool,
    /// The redirect target disconnected.
    pub broken_redirect: bool,
    /// BCAST prefixes, ordered as redis lists them.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// What an invalidation message carries.
#[derive(Clone, Debug)]
enum Payload {
    /// One key: `[key]`.
    Key(Box<[u8]>),
    /// Everything (a flush): a null, in the tracking client's protocol.
    All,
    /// An already encoded array of keys (BCAST).
    Keys(Vec<u8>),
}

/// Keys modified under one BCAST prefix since the last broadcast, and its subscribers.
#[derive(Default)]
struct Prefix {
    /// Key → id of the client that last modified it (0: none), for NOLOOP.
    keys: BTreeMap<Vec<u8>, u64>,
    clients: BTreeSet<u64>,
}

/// Server-wide tracking state.
#[derive(Default)]
pub struct Tracking {
    /// Whether writes must look here: a client tracks, or the tables still hold something.
    pub active: bool,
    /// Clients with tracking on (INFO `tracking_clients`).
    pub clients: usize,
    /// Key → ids of the clients that may cache it. Keys are client input: SipHash.
    keys: HashMap<Box<[u8]>, BTreeSet<u64>>,
    /// Ids summed over `keys` (INFO `tracking_total_items`).
    items: u64,
    prefixes: BTreeMap<Vec<u8>, Prefix>,
    /// A prefix collected a key since the last broadcast.
    bcast_pending: bool,
    /// Messages for the running command's connection: (tracking client id, payload). Its own
    /// invalidations follow the command's reply, as redis defers them.
    pending: Vec<(u64, Payload)>,
    /// Other clients' invalidations redirected to the running command's connection: redis
    /// writes them at once, so they come before the command's reply.
    before_reply: Vec<(u64, Payload)>,
    /// The client whose command is running (0: none, e.g. cron).
    pub current: u64,
    /// Rounds in a row that `limit_keys` ended still over the limit (more effort each time).
    over_limit_rounds: u32,
    /// `tracking-table-max-keys` (0: no limit), set by `Server::apply_config`.
    pub max_keys: usize,
    /// While a tracking client's script runs: its id and the keys it declared, remembered for
    /// it once the script calls a read-only command (`arm_script_reads`).
    script_reads: Option<(u64, Vec<Box<[u8]>>)>,
}

impl Tracking {
    /// A tracking client's script is running (see `arm_script_reads`).
    pub fn script_reads_armed(&self) -> bool {
        self.script_reads.is_some()
    }

    fn refresh_active(&mut self) {
        self.active = self.clients > 0 || !self.keys.is_empty() || !self.prefixes.is_empty();
    }

    pub fn total_keys(&self) -> usize {
        self.keys.len()
    }

    pub fn total_items(&self) -> u64 {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// A key changed (called from the write hook when `active`): tell the clients that read it,
/// and let BCAST prefixes collect it. `bcast` is false when the key only leaves the table
/// (tracking-table-max-keys), which is not a change.
// Off the hot path: only called while tracking is in use.
#[cold]
#[inline(never)]
pub fn invalidate_key(srv: &mut Server, key: &[u8], bcast: bool) {
    let t = &mut srv.tracking;
    if bcast && !t.prefixes.is_empty() {
        let modifier = t.current;
        for (p, state) in t.prefixes.iter_mut() {
            if key.starts_with(p) {
                state.keys.insert(key.to_vec(), modifier);
                t.bcast_pending = true;
            }
        }
    }
    let Some(ids) = t.keys.remove(key) else {
        return;
    };
    t.items -= ids.len() as u64;
    for id in ids {
        let current = srv.tracking.current;
        if id == current {
            // Its own command's reply goes first; NOLOOP and the mode are checked then.
            srv.tracking.pending.push((id, Payload::Key(key.into())));
            continue;
        }
        let Some(tr) = srv.clients.get(&id).and_then(|c| c.tracking.as_deref()) else {
            continue;
        };
        // Keys remembered before the client switched to BCAST are not announced.
        if tr.bcast {
            continue;
        }
        if tr.redirect != 0 && tr.redirect == current {
            srv.tracking
                .before_reply
                .push((id, Payload::Key(key.into())));
        } else {
            send(srv, None, id, &Payload::Key(key.into()));
        }
    }
    srv.tracking.refresh_active();
}

/// FLUSHDB/FLUSHALL: every tracking client is told that all keys changed; the table empties.
pub fn flush(srv: &mut Server, current: &Client) {
    if srv.tracking.clients > 0 {
        if current.tracking.is_some() {
            srv.tracking.pending.push((current.id, Payload::All));
        }
        let targets: Vec<(u64, u64)> = srv
            .clients
            .values()
            .filter_map(|c| Some((c.id, c.tracking.as_ref()?.redirect)))
            .collect();
        for (id, redirect) in targets {
            if redirect != 0 && redirect == current.id {
                srv.tracking.before_reply.push((id, Payload::All));
            } else {
                send(srv, None, id, &Payload::All);
            }
        }
    }
    srv.tracking.keys.clear();
    srv.tracking.items = 0;
    srv.tracking.refresh_active();
}

/// Encodes and delivers one message of tracking client `source` (resolving its redirect).
/// `cur` is the running client with its reply buffer, when the message may be for it.
fn send(
    srv: &mut Server,
    mut cur: Option<(&mut Client, &mut ReplyBuf)>,
    source: u64,
    payload: &Payload,
) {
    // The tracking client's redirect and protocol.
    let src = match cur.as_mut() {
        Some((c, _)) if c.id == source => Some(&**c),
        _ => srv.clients.get(&source).map(|c| &**c),
    };
    let Some((redirect, src_resp3)) =
        src.and_then(|c| Some((c.tracking.as_ref()?.redirect, c.resp3)))
    else {
        return;
    };
    let null: &[u8] = if src_resp3 { b"_\r\n" } else { b"$-1\r\n" };
    let target_id = if redirect != 0 { redirect } else { source };
    let target = match cur.as_mut() {
        Some((c, _)) if c.id == target_id => Some((c.resp3, c.subscription_count() > 0)),
        _ => srv
            .clients
            .get(&target_id)
            .map(|c| (c.resp3, c.subscription_count() > 0)),
    };
    let Some((resp3, subscribed)) = target else {
        // The redirect target is gone: flag it, and a RESP3 client is told.
        let mut told = None;
        let src = match cur.as_mut() {
            Some((c, _)) if c.id == source => Some(&mut **c),
            _ => srv.clients.get_mut(&source).map(|c| &mut **c),
        };
        if let Some(c) = src {
            if let Some(t) = c.tracking.as_mut() {
                t.broken_redirect = true;
            }
            if c.resp3 {
                let mut r = ReplyBuf::new(true);
                r.push(2);
                r.bulk(b"tracking-redir-broken");
                r.int(redirect as i64);
                told = Some(r.buf);
            }
        }
        if let Some(bytes) = told {
            write_to(srv, cur, source, bytes);
        }
        return;
    };
    let mut r = ReplyBuf::new(resp3);
    if resp3 {
        r.push(2);
        r.bulk(b"invalidate");
    } else if redirect != 0 && subscribed {
        r.array(3);
        r.bulk(b"message");
        r.bulk(CHANNEL);
    } else {
        // RESP2 without a subscribed redirect target has no way to receive it.
        return;
    }
    match payload {
        Payload::Key(k) => {
            r.array(1);
            r.bulk(k);
        }
        Payload::All => r.raw(null),
        Payload::Keys(encoded) => r.raw(encoded),
    }
    write_to(srv, cur, target_id, r.buf);
}

fn write_to(srv: &mut Server, cur: Option<(&mut Client, &mut ReplyBuf)>, id: u64, bytes: Vec<u8>) {
    match cur {
        Some((c, out)) if c.id == id => out.raw(&bytes),
        Some((c, _)) => srv.deliver(Some(c), id, move |_| bytes, None),
        None => srv.deliver(None, id, move |_| bytes, None),
    }
}

/// Whether the keys this client reads now go in its tracking table (default mode, not BCAST;
/// OPTIN after CLIENT CACHING yes, OPTOUT unless CLIENT CACHING no).
fn caches_reads(client: &Client) -> bool {
    client
        .tracking
        .as_deref()
        .is_some_and(|tr| !(tr.bcast || (tr.optin && !tr.caching) || (tr.optout && tr.caching)))
}

/// After a READONLY command of a client in default (not BCAST) tracking mode: remember the
/// keys it read, unless OPTIN/OPTOUT and CLIENT CACHING say otherwise.
// Off the hot path: only called while tracking is in use.
#[cold]
#[inline(never)]
pub fn remember_keys(
    srv: &mut Server,
    client: &Client,
    spec: &'static crate::cmd::CommandSpec,
    argv: &resp::request::Argv,
) {
    if !caches_reads(client) {
        return;
    }
    // A script's own declared keys count only if it reads (`arm_script_reads`), nor channels.
    if spec.has(crate::cmd::PUBSUB) || is_script_call(spec) {
        return;
    }
    let crate::cmd::keys::GetKeys::Keys(positions) = crate::cmd::keys::getkeys(spec, argv) else {
        return;
    };
    remember(srv, client.id, positions.iter().map(|&p| &argv[p][..]));
}

fn is_script_call(spec: &crate::cmd::CommandSpec) -> bool {
    crate::cmd::scripting::SCRIPT_COMMANDS.contains(&spec.name)
}

/// Before a script of `caller` runs: as redis, once the script calls a read-only command, the
/// keys the script declared are remembered for the caller (not those the script touched).
pub fn arm_script_reads(
    srv: &mut Server,
    caller: &Client,
    spec: &'static crate::cmd::CommandSpec,
    argv: &resp::request::Argv,
) {
    srv.tracking.script_reads = None;
    if !caches_reads(caller) || !is_script_call(spec) {
        return;
    }
    if let crate::cmd::keys::GetKeys::Keys(positions) = crate::cmd::keys::getkeys(spec, argv) {
        let keys = positions.iter().map(|&p| Box::from(&argv[p][..])).collect();
        srv.tracking.script_reads = Some((caller.id, keys));
    }
}

/// A script called a read-only command: remember its caller's declared keys (once).
#[cold]
#[inline(never)]
pub fn script_read(srv: &mut Server) {
    if let Some((id, keys)) = srv.tracking.script_reads.take() {
        remember(srv, id, keys.iter().map(|k| &k[..]));
    }
}

/// The script ended.
pub fn disarm_script_reads(srv: &mut Server) {
    srv.tracking.script_reads = None;
}

fn remember<'a>(srv: &mut Server, id: u64, keys: impl Iterator<Item = &'a [u8]>) {
    let t = &mut srv.tracking;
    for key in keys {
        if !t.keys.contains_key(key) {
            t.keys.insert(Box::from(key), BTreeSet::new());
        }
        let ids = t.keys.get_mut(key).expect("inserted above");
        if ids.insert(id) {
            t.items += 1;
        }
    }
    t.active = true;
}

/// After every top-level command while tracking is active: messages for the running connection
/// go before (others' redirected ones) or after (its own) the command's reply, which starts at
/// `reply_at` in `out`; CLIENT CACHING lasts for one command (or one transaction); the table is
/// kept within `tracking-table-max-keys`.
// Off the hot path: only called while tracking is in use.
#[cold]
#[inline(never)]
pub fn after_command(srv: &mut Server, client: &mut Client, out: &mut ReplyBuf, reply_at: usize) {
    if let Some(t) = client.tracking.as_mut() {
        // CLIENT CACHING's promise lasts until the next command other than CLIENT's own.
        let container = client.last_cmd.split('|').next();
        if client.multi.is_none() && container != Some("client") {
            t.caching = false;
        }
    }
    if !srv.tracking.before_reply.is_empty() {
        let mut early = ReplyBuf::new(client.resp3);
        for (source, payload) in std::mem::take(&mut srv.tracking.before_reply) {
            send(srv, Some((client, &mut early)), source, &payload);
        }
        let at = reply_at.min(out.buf.len());
        out.buf.splice(at..at, early.buf);
    }
    if srv.tracking.clients > 0 {
        limit_keys(srv);
    }
    if !srv.tracking.pending.is_empty() {
        let pending = std::mem::take(&mut srv.tracking.pending);
        for (source, payload) in pending {
            if source == client.id {
                let key_msg = matches!(payload, Payload::Key(_));
                match client.tracking.as_deref() {
                    // NOLOOP: not about its own changes. BCAST: keys from before the switch.
                    // A flush is announced to every tracking client.
                    Some(t) if !(key_msg && (t.noloop || t.bcast)) => {}
                    _ => continue,
                }
            }
            send(srv, Some((client, out)), source, &payload);
        }
    }
    srv.tracking.current = 0;
    srv.tracking.refresh_active();
}

/// `tracking-table-max-keys`: over the limit, keys leave the table (their clients are told,
/// as if the keys changed), a bounded number per call as redis does.
fn limit_keys(srv: &mut Server) {
    let max = srv.tracking.max_keys;
    if max == 0 || srv.tracking.keys.len() <= max {
        srv.tracking.over_limit_rounds = 0;
        return;
    }
    let mut effort = 100 * (srv.tracking.over_limit_rounds as usize + 1);
    while effort > 0 && srv.tracking.keys.len() > max {
        effort -= 1;
        // HashMap order (random per map) stands for redis's random walk.
        let Some(key) = srv.tracking.keys.keys().next().cloned() else {
            break;
        };
        invalidate_key(srv, &key, false);
    }
    if srv.tracking.keys.len() > max {
        srv.tracking.over_limit_rounds += 1;
    } else {
        srv.tracking.over_limit_rounds = 0;
    }
}

/// Sends what the BCAST prefixes collected (end of a batch, and cron): each subscriber gets
/// the keys of its prefix, without its own changes under NOLOOP. `cur` is the running client.
// Off the hot path: only called while tracking is in use.
#[cold]
#[inline(never)]
pub fn broadcast(srv: &mut Server, mut cur: Option<(&mut Client, &mut ReplyBuf)>) {
    if !srv.tracking.bcast_pending {
        return;
    }
    srv.tracking.bcast_pending = false;
    let mut sends: Vec<(u64, Vec<u8>)> = Vec::new();
    for state in srv.tracking.prefixes.values_mut() {
        if state.keys.is_empty() {
            continue;
        }
        let keys = std::mem::take(&mut state.keys);
        for &id in &state.clients {
            let noloop = match cur.as_ref() {
                Some((c, _)) if c.id == id => c.tracking.as_ref().is_some_and(|t| t.noloop),
                _ => srv
                    .clients
                    .get(&id)
                    .and_then(|c| c.tracking.as_ref())
                    .is_some_and(|t| t.noloop),
            };
            let selected: Vec<&Vec<u8>> = keys
                .iter()
                .filter(|(_, &by)| !(noloop && by == id))
                .map(|(k, _)| k)
                .collect();
            if selected.is_empty() {
                continue;
            }
            let mut r = ReplyBuf::new(false);
            r.array(selected.len());
            for k in selected {
                r.bulk(k);
            }
            sends.push((id, r.buf));
        }
    }
    for (id, encoded) in sends {
        let cur = cur.as_mut().map(|(c, o)| (&mut **c, &mut **o));
        send(srv, cur, id, &Payload::Keys(encoded));
    }
}

/// Turns tracking off for a client (CLIENT TRACKING OFF, RESET, disconnect). Its entries in the
/// key table stay until those keys change, as in redis (no walk of the table).
pub fn disable(srv: &mut Server, c: &mut Client) {
    let Some(t) = c.tracking.take() else {
        return;
    };
    for p in &t.prefixes {
        if let Some(state) = srv.tracking.prefixes.get_mut(p) {
            state.clients.remove(&c.id);
            if state.clients.is_empty() {
                srv.tracking.prefixes.remove(p);
            }
        }
    }
    srv.tracking.clients -= 1;
    srv.tracking.refresh_active();
}

/// The `t`, `R`, `B` letters of CLIENT LIST's flags.
pub fn flag_letters(c: &Client, f: &mut String) {
    if let Some(t) = &c.tracking {
        f.push('t');
        if t.broken_redirect {
            f.push('R');
        }
        if t.bcast {
            f.push('B');
        }
    }
}

/// CLIENT LIST's `redir=`.
pub fn redirect_of(c: &Client) -> i64 {
    c.tracking.as_ref().map_or(-1, |t| t.redirect as i64)
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`.
pub fn client_tracking(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut redirect: i64 = 0;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        let opt = lower(&a[j]);
        match opt.as_str() {
            "redirect" if more => {
                j += 1;
                if redirect != 0 {
                    return err("ERR A client can only redirect to a single other client");
                }
                redirect = parse_i64(&a[j]).ok_or(Error::msg(NOT_INT))?;
                let exists = redirect as u64 == ctx.client.id
                    || ctx
                        .srv
                        .clients
                        .get(&(redirect as u64))
                        .is_some_and(|c| c.kind != crate::client::ClientKind::Fake);
                if !exists {
                    return err("ERR The client ID you want redirect to does not exist");
                }
            }
            "bcast" => bcast = true,
            "optin" => optin = true,
            "optout" => optout = true,
            "noloop" => noloop = true,
            "prefix" if more => {
                j += 1;
                prefixes.push(&a[j]);
            }
            _ => return err(SYNTAX),
        }
        j += 1;
    }
    if eq_ignore_case(&a[2], "off") {
        disable(ctx.srv, ctx.client);
        ctx.out.ok();
        return Ok(());
    }
    if !eq_ignore_case(&a[2], "on") {
        return err(SYNTAX);
    }
    let old = ctx.client.tracking.as_deref();
    if !bcast && !prefixes.is_empty() {
        return err("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if old.is_some_and(|t| t.bcast != bcast) {
        return err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if bcast && (optin || optout) {
        return err("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if optin && optout {
        return err("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if old.is_some_and(|t| (optin && t.optout) || (optout && t.optin)) {
        return err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if bcast {
        check_prefix_collisions(old, &prefixes)?;
    }
    // Enable (or re-enable with new options; BCAST prefixes accumulate, as in redis).
    let id = ctx.client.id;
    let srv = &mut *ctx.srv;
    let t = ctx.client.tracking.get_or_insert_with(|| {
        srv.tracking.clients += 1;
        Box::default()
    });
    let caching = t.caching;
    let kept_prefixes = std::mem::take(&mut t.prefixes);
    **t = ClientTracking {
        redirect: redirect as u64,
        bcast,
        optin,
        optout,
        noloop,
        caching,
        broken_redirect: false,
        prefixes: kept_prefixes,
    };
    if bcast {
        let wanted: Vec<&[u8]> = if prefixes.is_empty() {
            vec![b""]
        } else {
            prefixes
        };
        for p in wanted {
            srv.tracking
                .prefixes
                .entry(p.to_vec())
                .or_default()
                .clients
                .insert(id);
            t.prefixes.insert(p.to_vec());
        }
    }
    srv.tracking.refresh_active();
    ctx.out.ok();
    Ok(())
}

/// Two prefixes overlap when one starts with the other: a key would be announced twice.
fn check_prefix_collisions(old: Option<&ClientTracking>, new: &[&[u8]]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in new.iter().enumerate() {
        if let Some(existing) = old
            .into_iter()
            .flat_map(|t| t.prefixes.iter())
            .find(|e| overlap(e, p))
        {
            return Err(Error::msg(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(existing)
            )));
        }
        if let Some(other) = new[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(Error::msg(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING YES|NO: the next command's keys are (OPTIN) or are not (OPTOUT) tracked.
pub fn client_caching(ctx: &mut Ctx) -> CmdResult {
    let Some(t) = ctx.client.tracking.as_mut() else {
        return err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    let opt = &ctx.argv[2];
    if eq_ignore_case(opt, "yes") {
        if !t.optin {
            return err(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
    } else if eq_ignore_case(opt, "no") {
        if !t.optout {
            return err(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
    } else {
        return err(SYNTAX);
    }
    t.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the redirect id, 0 without one, -1 when tracking is off.
pub fn client_getredir(ctx: &mut Ctx) -> CmdResult {
    let r = redirect_of(ctx.client);
    ctx.out.int(r);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags, redirect, prefixes.
pub fn client_trackinginfo(ctx: &mut Ctx) -> CmdResult {
    let t = ctx.client.tracking.as_deref();
    let mut flags: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        if t.broken_redirect {
            flags.push("broken_redirect");
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(redirect_of(ctx.client));
    out.bulk(b"prefixes");
    let prefixes: Vec<&Vec<u8>> = t.iter().flat_map(|t| t.prefixes.iter()).collect();
    out.array(prefixes.len());
    for p in prefixes {
        out.bulk(p);
    }
    Ok(())
}
