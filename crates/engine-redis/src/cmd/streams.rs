//! Stream commands (redis's t_stream.c): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD,
//! XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO.
//!
//! XREAD/XREADGROUP BLOCK use the same blocked-client machinery as BLPOP (see `blocking.rs`):
//! XADD marks the key ready and the waiter is served in blocking order.

use super::{err, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::notify::STREAM;
use crate::types::stream::{Consumer, Fields, Group, PendingEntry, Stream, StreamId};
use crate::util::{eq_ignore_case, lower, parse_i64};

/// XREAD results: per key, its entries.
type ReadReply = Vec<(Vec<u8>, Vec<(StreamId, Fields)>)>;
/// XREADGROUP results: per key, entries (None when deleted since delivery).
type GroupReadReply = Vec<(Vec<u8>, Vec<(StreamId, Option<Fields>)>)>;

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const NODE_SIZE: usize = 100;

fn parse_id(arg: &[u8], default_seq: u64) -> Result<StreamId, Error> {
    StreamId::parse(arg, default_seq).ok_or(Error::msg(INVALID_ID))
}

/// An ID where `-` and `+` also stand for the smallest and largest (redis's non-strict parse:
/// XGROUP SETID takes them, CREATE does not).
fn parse_loose_id(arg: &[u8]) -> Result<StreamId, Error> {
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => parse_id(arg, 0),
    }
}

/// Range bound: `-`, `+`, `id`, `(id` (exclusive). An exclusive bound past the last (or
/// before the first) possible ID is an error, as in redis.
fn parse_range_id(arg: &[u8], is_start: bool) -> Result<StreamId, Error> {
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => {
            if let Some(rest) = arg.strip_prefix(b"(") {
                if rest == b"-" || rest == b"+" {
                    return err(INVALID_ID);
                }
                let id = parse_id(rest, if is_start { 0 } else { u64::MAX })?;
                let moved = if is_start { id.next() } else { id.prev() };
                moved.ok_or_else(|| {
                    Error::msg(if is_start {
                        "ERR invalid start ID for the interval"
                    } else {
                        "ERR invalid end ID for the interval"
                    })
                })
            } else {
                parse_id(arg, if is_start { 0 } else { u64::MAX })
            }
        }
    }
}

fn reply_entry(ctx: &mut Ctx, id: StreamId, fields: &Fields) {
    ctx.out.array(2);
    ctx.out.bulk(&id.to_bytes());
    ctx.out.array(fields.len() * 2);
    for (f, v) in fields {
        ctx.out.bulk(f);
        ctx.out.bulk(v);
    }
}

struct TrimSpec {
    maxlen: Option<usize>,
    minid: Option<StreamId>,
    approx: bool,
    limit: Option<usize>,
}

/// Parses `MAXLEN|MINID [=|~] threshold [LIMIT n]` at `i`; returns the spec and the next index.
fn parse_trim(ctx: &Ctx, mut i: usize, spec: &mut TrimSpec) -> Result<usize, Error> {
    let a = ctx.argv;
    let is_max = eq_ignore_case(&a[i], "maxlen");
    i += 1;
    if i < a.len() && (&a[i][..] == b"~" || &a[i][..] == b"=") {
        spec.approx = &a[i][..] == b"~";
        i += 1;
    }
    let Some(t) = a.get(i) else {
        return err(SYNTAX);
    };
    if spec.maxlen.is_some() || spec.minid.is_some() {
        return err(SYNTAX);
    }
    if is_max {
        let n = parse_i64(t).ok_or(Error::msg(NOT_INT))?;
        if n < 0 {
            return err("ERR The MAXLEN argument must be >= 0.");
        }
        spec.maxlen = Some(n as usize);
    } else {
        spec.minid = Some(parse_id(t, 0)?);
    }
    i += 1;
    if i + 1 < a.len() && eq_ignore_case(&a[i], "limit") {
        let n = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
        if n < 0 {
            return err("ERR The LIMIT argument must be >= 0.");
        }
        spec.limit = Some(n as usize);
        i += 2;
    }
    Ok(i)
}

/// LIMIT needs `~` from clients; from our primary or the AOF it comes with the exact trim a
/// Redis primary rewrote an approximate one into, and is ignored (as Redis's replicas do).
fn check_limit(ctx: &Ctx, spec: &mut TrimSpec) -> CmdResult {
    if ctx.client.repl_role == Some("master") || ctx.srv.persist.loading {
        spec.limit = None;
        return Ok(());
    }
    if spec.limit.is_some() && !spec.approx {
        return err("ERR syntax error, LIMIT cannot be used without the special ~ option");
    }
    Ok(())
}

pub fn xadd(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut nomkstream = false;
    let mut trim = TrimSpec {
        maxlen: None,
        minid: None,
        approx: false,
        limit: None,
    };
    let mut i = 2;
    loop {
        let Some(o) = a.get(i) else {
            return err(SYNTAX);
        };
        if eq_ignore_case(o, "nomkstream") {
            nomkstream = true;
            i += 1;
        } else if eq_ignore_case(o, "maxlen") || eq_ignore_case(o, "minid") {
            i = parse_trim(ctx, i, &mut trim)?;
        } else {
            break;
        }
    }
    check_limit(ctx, &mut trim)?;
    let id_arg = &a[i];
    let fields_at = i + 1;
    if fields_at >= a.len() || !(a.len() - fields_at).is_multiple_of(2) {
        return err("ERR wrong number of arguments for 'xadd' command");
    }
    // Explicit ID forms: ms-seq, ms, ms-*.
    let explicit: Option<(u64, Option<u64>)> = if id_arg == b"*" {
        None
    } else {
        let s = std::str::from_utf8(id_arg).map_err(|_| Error::msg(INVALID_ID))?;
        let (ms, seq) = match s.split_once('-') {
            Some((m, "*")) => (m.parse::<u64>().map_err(|_| Error::msg(INVALID_ID))?, None),
            Some((m, q)) => (
                m.parse::<u64>().map_err(|_| Error::msg(INVALID_ID))?,
                Some(q.parse::<u64>().map_err(|_| Error::msg(INVALID_ID))?),
            ),
            None => (
                s.parse::<u64>().map_err(|_| Error::msg(INVALID_ID))?,
                Some(0),
            ),
        };
        if ms == 0 && seq == Some(0) {
            return err("ERR The ID specified in XADD must be greater than 0-0");
        }
        Some((ms, seq))
    };
    let db = ctx.db();
    if nomkstream && ctx.srv.ks.get_stream(db, &a[1])?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    let now = ctx.srv.ks.now as u64;
    let s = ctx.srv.ks.stream_or_create(db, &a[1])?;
    let last = s.last_id;
    let id = match explicit {
        None => {
            if now > last.ms {
                StreamId { ms: now, seq: 0 }
            } else {
                match last.next() {
                    Some(n) => n,
                    None => return err("ERR The stream has exhausted the last possible ID, unable to add more items"),
                }
            }
        }
        Some((ms, Some(seq))) => StreamId { ms, seq },
        Some((ms, None)) => {
            if ms == last.ms {
                match last.next() {
                    Some(n) if n.ms == ms => n,
                    _ => return err("ERR The ID specified in XADD is equal or smaller than the target stream top item"),
                }
            } else {
                StreamId { ms, seq: 0 }
            }
        }
    };
    if id <= last {
        if s.is_empty() && s.entries_added == 0 && s.groups.is_empty() {
            ctx.srv.ks.delete(db, &a[1]);
        }
        return err(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        );
    }
    let fields: Fields = (fields_at..a.len())
        .step_by(2)
        .map(|j| (Box::<[u8]>::from(&a[j]), Box::<[u8]>::from(&a[j + 1])))
        .collect();
    s.entries.insert(id, fields);
    s.last_id = id;
    s.entries_added += 1;
    if trim.maxlen.is_some() || trim.minid.is_some() {
        let limit = trim
            .limit
            .unwrap_or(if trim.approx { NODE_SIZE * 100 } else { 0 });
        s.trim(trim.maxlen, trim.minid, trim.approx, limit, NODE_SIZE);
    }
    ctx.modified(db, &a[1], STREAM, "xadd");
    ctx.signal_ready(db, &a[1]);
    ctx.out.bulk(&id.to_bytes());
    Ok(())
}

pub fn xlen(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx
        .srv
        .ks
        .get_stream(db, &ctx.argv[1])?
        .map_or(0, Stream::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn range_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let a = ctx.argv;
    let (start_arg, end_arg) = if rev { (&a[3], &a[2]) } else { (&a[2], &a[3]) };
    let start = parse_range_id(start_arg, true)?;
    let end = parse_range_id(end_arg, false)?;
    let mut count: Option<usize> = None;
    if a.len() > 4 {
        if a.len() != 6 || !eq_ignore_case(&a[4], "count") {
            return err(SYNTAX);
        }
        let n = parse_i64(&a[5]).ok_or(Error::msg(NOT_INT))?;
        count = Some(n.max(0) as usize);
    }
    let db = ctx.db();
    let items: Vec<(StreamId, Fields)> = match (ctx.srv.ks.get_stream(db, &a[1])?, start, end) {
        (Some(s), st, en) if st <= en && count != Some(0) => {
            let it = s.entries.range(st..=en).map(|(k, v)| (*k, v.clone()));
            let v: Vec<(StreamId, Fields)> = if rev {
                it.rev().take(count.unwrap_or(usize::MAX)).collect()
            } else {
                it.take(count.unwrap_or(usize::MAX)).collect()
            };
            v
        }
        _ => Vec::new(),
    };
    ctx.out.array(items.len());
    for (id, f) in items {
        reply_entry(ctx, id, &f);
    }
    Ok(())
}

pub fn xrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, false)
}
pub fn xrevrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, true)
}

pub fn xdel(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut ids = Vec::new();
    for x in a.iter().skip(2) {
        ids.push(parse_id(x, 0)?);
    }
    let db = ctx.db();
    let mut n = 0;
    if let Some(s) = ctx.srv.ks.get_stream_mut(db, &a[1])? {
        for id in ids {
            if s.entries.remove(&id).is_some() {
                n += 1;
                if id > s.max_deleted {
                    s.max_deleted = id;
                }
            }
        }
    }
    if n > 0 {
        ctx.modified(db, &a[1], STREAM, "xdel");
    }
    ctx.out.int(n);
    Ok(())
}

pub fn xtrim(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut trim = TrimSpec {
        maxlen: None,
        minid: None,
        approx: false,
        limit: None,
    };
    if !(eq_ignore_case(&a[2], "maxlen") || eq_ignore_case(&a[2], "minid")) {
        return err(SYNTAX);
    }
    let next = parse_trim(ctx, 2, &mut trim)?;
    if next != a.len() {
        return err(SYNTAX);
    }
    check_limit(ctx, &mut trim)?;
    let db = ctx.db();
    let n = match ctx.srv.ks.get_stream_mut(db, &a[1])? {
        Some(s) => {
            let limit = trim
                .limit
                .unwrap_or(if trim.approx { NODE_SIZE * 100 } else { 0 });
            s.trim(trim.maxlen, trim.minid, trim.approx, limit, NODE_SIZE)
        }
        None => 0,
    };
    if n > 0 {
        ctx.modified(db, &a[1], STREAM, "xtrim");
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// Parses `[COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...` from `i`.
struct ReadArgs {
    count: Option<usize>,
    /// BLOCK milliseconds (0 = forever).
    block: Option<i64>,
    noack: bool,
    keys: Vec<Vec<u8>>,
    ids: Vec<Vec<u8>>,
}

fn parse_read(ctx: &Ctx, mut i: usize, group: bool) -> Result<ReadArgs, Error> {
    let a = ctx.argv;
    let mut r = ReadArgs {
        count: None,
        block: None,
        noack: false,
        keys: Vec::new(),
        ids: Vec::new(),
    };
    while i < a.len() {
        let o = lower(&a[i]);
        match o.as_str() {
            "count" if i + 1 < a.len() => {
                let n = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
                r.count = if n > 0 { Some(n as usize) } else { None };
                i += 2;
            }
            "block" if i + 1 < a.len() => {
                let n = parse_i64(&a[i + 1])
                    .ok_or(Error::msg("ERR timeout is not an integer or out of range"))?;
                if n < 0 {
                    return err("ERR timeout is negative");
                }
                r.block = Some(n);
                i += 2;
            }
            "noack" if group => {
                r.noack = true;
                i += 1;
            }
            "streams" => {
                let rest = a.len() - i - 1;
                if rest == 0 || !rest.is_multiple_of(2) {
                    return err("ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
                }
                let n = rest / 2;
                r.keys = (i + 1..i + 1 + n).map(|j| a[j].to_vec()).collect();
                r.ids = (i + 1 + n..a.len()).map(|j| a[j].to_vec()).collect();
                return Ok(r);
            }
            _ => return err(SYNTAX),
        }
    }
    err(SYNTAX)
}

pub fn xread(ctx: &mut Ctx) -> CmdResult {
    let r = parse_read(ctx, 1, false)?;
    let db = ctx.db();
    let mut results: ReadReply = Vec::new();
    for (k, idarg) in r.keys.iter().zip(&r.ids) {
        let s = ctx.srv.ks.get_stream(db, k)?;
        let after = if &idarg[..] == b"$" {
            s.map_or(StreamId::MIN, |s| s.last_id)
        } else if &idarg[..] == b"+" {
            s.and_then(|s| s.entries.keys().next_back().copied())
                .and_then(StreamId::prev)
                .unwrap_or(StreamId::MAX)
        } else {
            parse_id(idarg, 0)?
        };
        let Some(s) = s else { continue };
        let Some(from) = after.next() else { continue };
        let items: Vec<(StreamId, Fields)> = s
            .entries
            .range(from..)
            .take(r.count.unwrap_or(usize::MAX))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        if !items.is_empty() {
            results.push((k.clone(), items));
        }
    }
    if results.is_empty() {
        if let Some(ms) = r.block {
            if ctx.srv.call_depth == 0 && ctx.client.multi.is_none() {
                let mut after = Vec::new();
                for (k, idarg) in r.keys.iter().zip(&r.ids) {
                    let last = ctx
                        .srv
                        .ks
                        .get_stream(db, k)?
                        .map_or(StreamId::MIN, |s| s.last_id);
                    after.push(if &idarg[..] == b"$" || &idarg[..] == b"+" {
                        last
                    } else {
                        parse_id(idarg, 0)?
                    });
                }
                let op = crate::blocking::BlockOp::XRead {
                    after,
                    count: r.count.unwrap_or(usize::MAX),
                };
                return block(ctx, r.keys, op, ms);
            }
        }
    }
    reply_read(ctx, results);
    Ok(())
}

fn block(ctx: &mut Ctx, keys: Vec<Vec<u8>>, op: crate::blocking::BlockOp, ms: i64) -> CmdResult {
    let deadline = if ms == 0 {
        None
    } else {
        Some(ctx.srv.ks.now + ms)
    };
    let b = crate::blocking::Blocked {
        db: ctx.db(),
        keys: keys.into_iter().map(Vec::into_boxed_slice).collect(),
        op,
        deadline,
    };
    ctx.srv.blocking.block(ctx.client, b);
    Ok(())
}

/// Serves a blocked XREAD or XREADGROUP on `key`; false if there is nothing for it yet.
pub fn serve_blocked(
    srv: &mut crate::server::Server,
    db: usize,
    key: &[u8],
    op: &crate::blocking::BlockOp,
    keys: &[Box<[u8]>],
    out: &mut resp::ReplyBuf,
) -> bool {
    use crate::blocking::BlockOp;
    let now = srv.ks.now;
    let items: Vec<(StreamId, Fields)> = match op {
        BlockOp::XRead { after, count } => {
            let Some(i) = keys.iter().position(|k| &k[..] == key) else {
                return false;
            };
            let Ok(Some(s)) = srv.ks.get_stream(db, key) else {
                return false;
            };
            let Some(from) = after[i].next() else {
                return false;
            };
            s.entries
                .range(from..)
                .take(*count)
                .map(|(k, v)| (*k, v.clone()))
                .collect()
        }
        BlockOp::XReadGroup {
            group,
            consumer,
            count,
            noack,
        } => {
            // A consumer waiting on a stream that was deleted (or replaced by another type), or
            // on a group that was destroyed, is told so, as redis 7.0 does, instead of waiting
            // forever.
            // The error counts in INFO errorstats, as any error reply does.
            let mut fail = |srv: &mut crate::server::Server, msg: &str| {
                super::record_error(srv, msg);
                out.error(msg);
                true
            };
            let Ok(Some(s)) = srv.ks.get_stream_mut(db, key) else {
                return fail(srv, "UNBLOCKED the stream key no longer exists");
            };
            let basis = s.counter_basis();
            let entries = &s.entries;
            let Some(g) = s.groups.get_mut(group) else {
                return fail(
                    srv,
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                );
            };
            g.deliver_new(entries, basis, consumer, *count, *noack, now)
        }
        _ => return false,
    };
    if items.is_empty() {
        return false;
    }
    if let BlockOp::XReadGroup {
        group,
        consumer,
        noack,
        ..
    } = op
    {
        srv.stats.dirty += 1;
        let ids: Vec<StreamId> = items.iter().map(|(id, _)| *id).collect();
        if let Ok(Some(s)) = srv.ks.get_stream(db, key) {
            let cmds = group_delivery(s, key, group, consumer, &ids, *noack);
            crate::persistence::propagate::record(srv, db, cmds);
        }
    }
    if out.resp3 {
        out.map(1);
    } else {
        out.array(1);
        out.array(2);
    }
    out.bulk(key);
    out.array(items.len());
    for (id, f) in items {
        out.array(2);
        out.bulk(&id.to_bytes());
        out.array(f.len() * 2);
        for (a, b) in &f {
            out.bulk(a);
            out.bulk(b);
        }
    }
    true
}

fn reply_read(ctx: &mut Ctx, results: ReadReply) {
    if results.is_empty() {
        ctx.out.null_array();
        return;
    }
    if ctx.out.resp3 {
        ctx.out.map(results.len());
    } else {
        ctx.out.array(results.len());
    }
    for (k, items) in results {
        if !ctx.out.resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(&k);
        ctx.out.array(items.len());
        for (id, f) in items {
            reply_entry(ctx, id, &f);
        }
    }
}

fn nogroup(key: &[u8], group: &[u8], cmd: &str) -> Error {
    Error::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group),
        cmd
    ))
}

const XGROUP_NO_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// XGROUP SETID/CREATECONSUMER/DELCONSUMER on a stream without that group.
fn xgroup_nogroup(key: &[u8], group: &[u8]) -> Error {
    Error::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key),
    ))
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]: the stream's last ID and the
/// counters behind consumer group lag, as redis checks them.
pub fn xsetid(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let id = parse_id(&a[2], 0)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted: Option<StreamId> = None;
    let mut i = 3;
    while i < a.len() {
        if eq_ignore_case(&a[i], "entriesadded") && i + 1 < a.len() {
            let n = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
            if n < 0 {
                return err("ERR entries_added must be positive");
            }
            entries_added = Some(n as u64);
        } else if eq_ignore_case(&a[i], "maxdeletedid") && i + 1 < a.len() {
            let m = parse_id(&a[i + 1], 0)?;
            if id < m {
                return err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_deleted = Some(m);
        } else {
            return err(SYNTAX);
        }
        i += 2;
    }
    let s = ctx
        .srv
        .ks
        .get_stream_mut(db, &a[1])?
        .ok_or(Error::msg("ERR no such key"))?;
    if let Some((&top, _)) = s.entries.last_key_value() {
        if id < top {
            return err(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            );
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return err("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if let Some(m) = max_deleted.filter(|m| *m != StreamId::MIN) {
        s.max_deleted = m;
    }
    ctx.modified(db, &a[1], STREAM, "xsetid");
    ctx.out.ok();
    Ok(())
}

pub fn xgroup(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = lower(&a[1]);
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    match sub.as_str() {
        "create" if a.len() >= 5 => {
            let mut mkstream = false;
            let mut entries_read: Option<u64> = None;
            let mut i = 5;
            while i < a.len() {
                if eq_ignore_case(&a[i], "mkstream") {
                    mkstream = true;
                    i += 1;
                } else if eq_ignore_case(&a[i], "entriesread") && i + 1 < a.len() {
                    entries_read = parse_entries_read(&a[i + 1])?;
                    i += 2;
                } else {
                    return err(SYNTAX);
                }
            }
            let exists = ctx.srv.ks.get_stream(db, &a[2])?.is_some();
            if !exists && !mkstream {
                return err(XGROUP_NO_KEY);
            }
            let idarg = &a[4];
            let parsed = if idarg == b"$" {
                None
            } else {
                Some(parse_id(idarg, 0)?)
            };
            let s = ctx.srv.ks.stream_or_create(db, &a[2])?;
            if s.groups.contains_key(&a[3][..]) {
                return err("BUSYGROUP Consumer Group name already exists");
            }
            let last = parsed.unwrap_or(s.last_id);
            s.groups.insert(
                a[3].to_vec(),
                Group {
                    last_id: last,
                    // Unknown unless given, even for `$` (Redis 7.0 does the same; the lag is
                    // then estimated).
                    entries_read,
                    ..Default::default()
                },
            );
            ctx.modified(db, &a[2], STREAM, "xgroup-create");
            ctx.out.ok();
        }
        "setid" if a.len() == 5 || a.len() == 7 => {
            let entries_read = if a.len() == 7 {
                if !eq_ignore_case(&a[5], "entriesread") {
                    return err(SYNTAX);
                }
                parse_entries_read(&a[6])?
            } else {
                None
            };
            let s = ctx
                .srv
                .ks
                .get_stream_mut(db, &a[2])?
                .ok_or(Error::msg(XGROUP_NO_KEY))?;
            let last = if &a[4][..] == b"$" {
                s.last_id
            } else {
                parse_loose_id(&a[4])?
            };
            let g = s
                .groups
                .get_mut(&a[3][..])
                .ok_or_else(|| xgroup_nogroup(&a[2], &a[3]))?;
            g.last_id = last;
            g.entries_read = entries_read;
            ctx.modified(db, &a[2], STREAM, "xgroup-setid");
            ctx.out.ok();
        }
        "destroy" if a.len() == 4 => {
            let removed = match ctx.srv.ks.get_stream_mut(db, &a[2])? {
                Some(s) => s.groups.remove(&a[3][..]).is_some(),
                None => return err(XGROUP_NO_KEY),
            };
            if removed {
                ctx.modified(db, &a[2], STREAM, "xgroup-destroy");
            }
            ctx.out.int(removed as i64);
        }
        "createconsumer" if a.len() == 5 => {
            let s = ctx
                .srv
                .ks
                .get_stream_mut(db, &a[2])?
                .ok_or(Error::msg(XGROUP_NO_KEY))?;
            let g = s
                .groups
                .get_mut(&a[3][..])
                .ok_or_else(|| xgroup_nogroup(&a[2], &a[3]))?;
            let created = if g.consumers.contains_key(&a[4][..]) {
                false
            } else {
                g.consumers.insert(
                    a[4].to_vec(),
                    Consumer {
                        seen_time: now,
                        ..Default::default()
                    },
                );
                true
            };
            if created {
                ctx.modified(db, &a[2], STREAM, "xgroup-createconsumer");
            }
            ctx.out.int(created as i64);
        }
        "delconsumer" if a.len() == 5 => {
            let s = ctx
                .srv
                .ks
                .get_stream_mut(db, &a[2])?
                .ok_or(Error::msg(XGROUP_NO_KEY))?;
            let g = s
                .groups
                .get_mut(&a[3][..])
                .ok_or_else(|| xgroup_nogroup(&a[2], &a[3]))?;
            let removed = g.consumers.remove(&a[4][..]);
            let pending = removed.as_ref().map_or(0, |c| {
                for id in &c.pending {
                    g.pel.remove(id);
                }
                c.pending.len()
            });
            // Deleting a consumer that does not exist changes nothing (no event, as redis).
            if removed.is_some() {
                ctx.modified(db, &a[2], STREAM, "xgroup-delconsumer");
            }
            ctx.out.int(pending as i64);
        }
        "help" => {
            let lines = [
                "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CREATE <key> <groupname> <id|$> [option]",
                "CREATECONSUMER <key> <groupname> <consumer>",
                "DELCONSUMER <key> <groupname> <consumer>",
                "DESTROY <key> <groupname>",
                "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                "HELP",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "create" | "setid" | "destroy" | "createconsumer" | "delconsumer" => {
            return Err(super::sub_arity(ctx))
        }
        _ => return Err(super::unknown_subcommand(ctx)),
    }
    Ok(())
}

pub fn xreadgroup(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if !eq_ignore_case(&a[1], "group") || a.len() < 4 {
        return err(SYNTAX);
    }
    let (group, consumer) = (a[2].to_vec(), a[3].to_vec());
    let r = parse_read(ctx, 4, true)?;
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    // Every key must have the group before anything is read.
    for k in &r.keys {
        let ok = ctx
            .srv
            .ks
            .get_stream(db, k)?
            .is_some_and(|s| s.groups.contains_key(&group));
        if !ok {
            return Err(nogroup(k, &group, " in XREADGROUP with GROUP option"));
        }
    }
    let mut results: GroupReadReply = Vec::new();
    let mut touched = Vec::new();
    let mut consumer_created = Vec::new();
    for (k, idarg) in r.keys.iter().zip(&r.ids) {
        let s = ctx.srv.ks.get_stream_mut(db, k)?.expect("checked above");
        let entries = &s.entries;
        let basis = s.counter_basis();
        let g = s.groups.get_mut(&group).expect("checked above");
        if !g.consumers.contains_key(&consumer) {
            consumer_created.push(k.clone());
        }
        let c = g.consumers.entry(consumer.clone()).or_default();
        c.seen_time = now;
        let mut items: Vec<(StreamId, Option<Fields>)> = Vec::new();
        if &idarg[..] == b">" {
            let new = g.deliver_new(
                entries,
                basis,
                &consumer,
                r.count.unwrap_or(usize::MAX),
                r.noack,
                now,
            );
            items.extend(new.into_iter().map(|(id, f)| (id, Some(f))));
            if !items.is_empty() {
                touched.push(k.clone());
            }
            if items.is_empty() {
                continue;
            }
        } else {
            let start = parse_id(idarg, 0)?;
            let c = g.consumers.get(&consumer).cloned().unwrap_or_default();
            // The consumer's history after the given ID, not including it (as redis).
            let after = (std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded);
            for id in c.pending.range(after).take(r.count.unwrap_or(usize::MAX)) {
                if let Some(pe) = g.pel.get_mut(id) {
                    pe.delivery_time = now;
                    pe.delivery_count += 1;
                }
                items.push((*id, entries.get(id).cloned()));
            }
        }
        results.push((k.clone(), items));
    }
    // As redis: a new consumer is an event, a delivery only changes the dataset (no event,
    // no WATCH or tracking invalidation: the stream's entries stay as they were).
    for k in consumer_created {
        ctx.srv.stats.dirty += 1;
        ctx.notify(STREAM, "xgroup-createconsumer", db, &k);
    }
    ctx.srv.stats.dirty += touched.len() as u64;
    if results.is_empty() && r.ids.iter().all(|i| &i[..] == b">") {
        if let Some(ms) = r.block {
            if ctx.srv.call_depth == 0 && ctx.client.multi.is_none() {
                let op = crate::blocking::BlockOp::XReadGroup {
                    group,
                    consumer,
                    count: r.count.unwrap_or(usize::MAX),
                    noack: r.noack,
                };
                return block(ctx, r.keys, op, ms);
            }
        }
    }
    if results.is_empty() {
        ctx.out.null_array();
        return Ok(());
    }
    if ctx.out.resp3 {
        ctx.out.map(results.len());
    } else {
        ctx.out.array(results.len());
    }
    for (k, items) in results {
        if !ctx.out.resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(&k);
        ctx.out.array(items.len());
        for (id, f) in items {
            match f {
                Some(f) => reply_entry(ctx, id, &f),
                None => {
                    ctx.out.array(2);
                    ctx.out.bulk(&id.to_bytes());
                    ctx.out.null_array();
                }
            }
        }
    }
    Ok(())
}

pub fn xack(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut ids = Vec::new();
    for x in a.iter().skip(3) {
        ids.push(parse_id(x, 0)?);
    }
    let db = ctx.db();
    let mut n = 0;
    if let Some(s) = ctx.srv.ks.get_stream_mut(db, &a[1])? {
        if let Some(g) = s.groups.get_mut(&a[2][..]) {
            for id in ids {
                if let Some(pe) = g.pel.remove(&id) {
                    if let Some(c) = g.consumers.get_mut(&pe.consumer) {
                        c.pending.remove(&id);
                    }
                    n += 1;
                }
            }
        }
    }
    ctx.out.int(n);
    Ok(())
}

pub fn xpending(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    let mut i = 3;
    let mut min_idle: i64 = 0;
    if a.len() > 3 && eq_ignore_case(&a[3], "idle") {
        if a.len() < 5 {
            return err(SYNTAX);
        }
        min_idle = parse_i64(&a[4]).ok_or(Error::msg(NOT_INT))?;
        i = 5;
    }
    let extended = a.len() > i;
    if extended && a.len() < i + 3 {
        return err(SYNTAX);
    }
    // The range is checked before the group is looked up, as redis does.
    let range = if extended {
        let start = parse_range_id(&a[i], true)?;
        let end = parse_range_id(&a[i + 1], false)?;
        let count = parse_i64(&a[i + 2]).ok_or(Error::msg(NOT_INT))?.max(0) as usize;
        Some((start, end, count, a.get(i + 3)))
    } else {
        None
    };
    let Some(g) = ctx
        .srv
        .ks
        .get_stream(db, &a[1])?
        .and_then(|s| s.groups.get(&a[2][..]))
    else {
        return Err(nogroup(&a[1], &a[2], ""));
    };
    let out = &mut *ctx.out;
    let Some((start, end, count, consumer)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                out.bulk(&first.to_bytes());
                out.bulk(&last.to_bytes());
                let counts: Vec<(&Vec<u8>, usize)> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pending.is_empty())
                    .map(|(n, c)| (n, c.pending.len()))
                    .collect();
                out.array(counts.len());
                for (n, c) in counts {
                    out.array(2);
                    out.bulk(n);
                    out.bulk(c.to_string().as_bytes());
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let rows: Vec<(&StreamId, &PendingEntry)> = if start > end {
        Vec::new()
    } else {
        g.pel
            .range(start..=end)
            .filter(|(_, pe)| consumer.is_none_or(|c| pe.consumer[..] == c[..]))
            .filter(|(_, pe)| now - pe.delivery_time >= min_idle)
            .take(count)
            .collect()
    };
    out.array(rows.len());
    for (id, pe) in rows {
        out.array(4);
        out.bulk(&id.to_bytes());
        out.bulk(&pe.consumer);
        out.int(now - pe.delivery_time);
        out.int(pe.delivery_count as i64);
    }
    Ok(())
}

/// The claiming consumer of XCLAIM/XAUTOCLAIM is created and seen only when it claims
/// something, as in redis. True when this created it.
fn claimed_by(g: &mut Group, consumer: &[u8], existed: bool, claimed: bool, now: i64) -> bool {
    if !claimed {
        return false;
    }
    g.consumers.entry(consumer.to_vec()).or_default().seen_time = now;
    !existed
}

/// A claim changes the dataset but, as in redis, is no event of its own and touches no WATCH;
/// a consumer it created is (`xgroup-createconsumer`).
fn claim_done(ctx: &mut Ctx, db: usize, key: &[u8], created: bool, changes: usize) {
    ctx.srv.stats.dirty += changes as u64;
    if created {
        ctx.srv.stats.dirty += 1;
        ctx.notify(STREAM, "xgroup-createconsumer", db, key);
    }
}

fn claim_one(
    g: &mut Group,
    id: StreamId,
    consumer: &[u8],
    delivery_time: i64,
    retry: Option<u64>,
    justid: bool,
) {
    let prev = g.pel.get(&id).map(|p| p.consumer.clone());
    if let Some(p) = prev {
        if let Some(pc) = g.consumers.get_mut(&p) {
            pc.pending.remove(&id);
        }
    }
    let count = g.pel.get(&id).map_or(0, |p| p.delivery_count);
    let new_count = match retry {
        Some(r) => r,
        None if justid => count,
        None => count + 1,
    };
    g.pel.insert(
        id,
        PendingEntry {
            consumer: consumer.to_vec(),
            delivery_time,
            delivery_count: new_count,
        },
    );
    g.consumers
        .entry(consumer.to_vec())
        .or_default()
        .pending
        .insert(id);
}

pub fn xclaim(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    let min_idle =
        parse_i64(&a[4]).ok_or(Error::msg("ERR Invalid min-idle-time argument for XCLAIM"))?;
    let mut ids = Vec::new();
    let mut i = 5;
    while i < a.len() {
        match StreamId::parse(&a[i], 0) {
            Some(id) => ids.push(id),
            None => break,
        }
        i += 1;
    }
    let (mut delivery_time, mut retry, mut force, mut justid) = (now, None, false, false);
    let mut lastid: Option<StreamId> = None;
    while i < a.len() {
        let o = lower(&a[i]);
        match o.as_str() {
            "idle" if i + 1 < a.len() => {
                delivery_time = now
                    - parse_i64(&a[i + 1])
                        .ok_or(Error::msg("ERR Invalid IDLE option argument for XCLAIM"))?;
                i += 1;
            }
            "time" if i + 1 < a.len() => {
                delivery_time = parse_i64(&a[i + 1])
                    .ok_or(Error::msg("ERR Invalid TIME option argument for XCLAIM"))?;
                i += 1;
            }
            "retrycount" if i + 1 < a.len() => {
                retry = Some(
                    parse_i64(&a[i + 1])
                        .ok_or(Error::msg(
                            "ERR Invalid RETRYCOUNT option argument for XCLAIM",
                        ))?
                        .max(0) as u64,
                );
                i += 1;
            }
            "force" => force = true,
            "justid" => justid = true,
            "lastid" if i + 1 < a.len() => {
                lastid = Some(parse_id(&a[i + 1], 0)?);
                i += 1;
            }
            _ => {
                return Err(Error::msg(format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(&a[i])
                )))
            }
        }
        i += 1;
    }
    let s = ctx
        .srv
        .ks
        .get_stream_mut(db, &a[1])?
        .ok_or_else(|| nogroup(&a[1], &a[2], ""))?;
    // Split borrows: the entries are read while the group changes (no copy of the stream).
    let entries = &s.entries;
    let g = s
        .groups
        .get_mut(&a[2][..])
        .ok_or_else(|| nogroup(&a[1], &a[2], ""))?;
    let existed = g.consumers.contains_key(&a[3][..]);
    if let Some(l) = lastid {
        if l > g.last_id {
            g.last_id = l;
        }
    }
    let mut claimed: Vec<(StreamId, Option<Fields>)> = Vec::new();
    for id in ids {
        let pending = g.pel.get(&id).cloned();
        match pending {
            None => {
                if !force || !entries.contains_key(&id) {
                    continue;
                }
            }
            Some(pe) => {
                if min_idle > 0 && now - pe.delivery_time < min_idle {
                    continue;
                }
                if !entries.contains_key(&id) {
                    // Deleted entry: drop it from the PEL.
                    g.pel.remove(&id);
                    if let Some(c) = g.consumers.get_mut(&pe.consumer) {
                        c.pending.remove(&id);
                    }
                    continue;
                }
            }
        }
        claim_one(g, id, &a[3], delivery_time, retry, justid);
        claimed.push((
            id,
            if justid {
                None
            } else {
                entries.get(&id).cloned()
            },
        ));
    }
    let created = claimed_by(g, &a[3], existed, !claimed.is_empty(), now);
    claim_done(ctx, db, &a[1], created, claimed.len());
    ctx.out.array(claimed.len());
    for (id, f) in claimed {
        match f {
            Some(f) => reply_entry(ctx, id, &f),
            None => ctx.out.bulk(&id.to_bytes()),
        }
    }
    Ok(())
}

pub fn xautoclaim(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    let min_idle = parse_i64(&a[4]).ok_or(Error::msg(
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    ))?;
    let start = parse_range_id(&a[5], true)?;
    let (mut count, mut justid) = (100usize, false);
    let mut i = 6;
    while i < a.len() {
        if eq_ignore_case(&a[i], "count") && i + 1 < a.len() {
            let c = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
            if !(1..=i64::MAX / 10).contains(&c) {
                return err("ERR COUNT must be > 0");
            }
            count = c as usize;
            i += 2;
        } else if eq_ignore_case(&a[i], "justid") {
            justid = true;
            i += 1;
        } else {
            return err(SYNTAX);
        }
    }
    let s = ctx
        .srv
        .ks
        .get_stream_mut(db, &a[1])?
        .ok_or_else(|| nogroup(&a[1], &a[2], ""))?;
    let entries = &s.entries;
    let g = s
        .groups
        .get_mut(&a[2][..])
        .ok_or_else(|| nogroup(&a[1], &a[2], ""))?;
    let existed = g.consumers.contains_key(&a[3][..]);
    // As redis: every PEL entry looked at costs one of count*10 attempts; a claimed entry
    // and a deleted one each take one of `count` (the reply's size); the cursor is the entry
    // after the last one looked at, 0-0 once the PEL is exhausted.
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let (mut attempts, mut left) = (count.saturating_mul(10), count);
    let mut from = Included(start);
    let mut exhausted = false;
    while attempts > 0 && left > 0 {
        attempts -= 1;
        let Some((&id, pe)) = g.pel.range((from, Unbounded)).next() else {
            exhausted = true;
            break;
        };
        from = Excluded(id);
        if !entries.contains_key(&id) {
            let owner = pe.consumer.clone();
            g.pel.remove(&id);
            if let Some(c) = g.consumers.get_mut(&owner) {
                c.pending.remove(&id);
            }
            deleted.push(id);
            left -= 1;
            continue;
        }
        if now - pe.delivery_time < min_idle {
            continue;
        }
        claim_one(g, id, &a[3], now, None, justid);
        claimed.push((
            id,
            if justid {
                None
            } else {
                entries.get(&id).cloned()
            },
        ));
        left -= 1;
    }
    let next = match exhausted {
        true => StreamId::MIN,
        false => g
            .pel
            .range((from, Unbounded))
            .next()
            .map_or(StreamId::MIN, |(id, _)| *id),
    };
    let created = claimed_by(g, &a[3], existed, !claimed.is_empty(), now);
    claim_done(ctx, db, &a[1], created, claimed.len() + deleted.len());
    ctx.out.array(3);
    ctx.out.bulk(&next.to_bytes());
    ctx.out.array(claimed.len());
    for (id, f) in claimed {
        match f {
            Some(f) => reply_entry(ctx, id, &f),
            None => ctx.out.bulk(&id.to_bytes()),
        }
    }
    ctx.out.array(deleted.len());
    for id in deleted {
        ctx.out.bulk(&id.to_bytes());
    }
    Ok(())
}

pub fn xinfo(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = lower(&a[1]);
    let db = ctx.db();
    let now = ctx.srv.ks.now;
    if sub == "help" {
        let lines = [
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "GROUPS <key>",
            "STREAM <key> [FULL [COUNT <count>]]",
            "HELP",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
        return Ok(());
    }
    if a.len() < 3 {
        return Err(super::sub_arity(ctx));
    }
    let s = match ctx.srv.ks.get_stream(db, &a[2])? {
        Some(s) => s.clone(),
        None => return err("ERR no such key"),
    };
    match sub.as_str() {
        "stream" => {
            let full = a.len() > 3;
            if full && !eq_ignore_case(&a[3], "full") {
                return err(SYNTAX);
            }
            let mut count = 10usize;
            if a.len() > 4 {
                if a.len() != 6 || !eq_ignore_case(&a[4], "count") {
                    return err(SYNTAX);
                }
                let c = parse_i64(&a[5]).ok_or(Error::msg(NOT_INT))?;
                count = if c <= 0 { usize::MAX } else { c as usize };
            }
            ctx.out.map(if full { 9 } else { 10 });
            ctx.out.bulk(b"length");
            ctx.out.int(s.len() as i64);
            ctx.out.bulk(b"radix-tree-keys");
            ctx.out.int(s.len().div_ceil(NODE_SIZE) as i64);
            ctx.out.bulk(b"radix-tree-nodes");
            ctx.out.int((s.len().div_ceil(NODE_SIZE) + 1) as i64);
            ctx.out.bulk(b"last-generated-id");
            ctx.out.bulk(&s.last_id.to_bytes());
            ctx.out.bulk(b"max-deleted-entry-id");
            ctx.out.bulk(&s.max_deleted.to_bytes());
            ctx.out.bulk(b"entries-added");
            ctx.out.int(s.entries_added as i64);
            ctx.out.bulk(b"recorded-first-entry-id");
            ctx.out.bulk(&s.first_id().to_bytes());
            if !full {
                ctx.out.bulk(b"groups");
                ctx.out.int(s.groups.len() as i64);
                ctx.out.bulk(b"first-entry");
                match s.entries.iter().next() {
                    Some((id, f)) => reply_entry(ctx, *id, f),
                    None => ctx.out.null(),
                }
                ctx.out.bulk(b"last-entry");
                match s.entries.iter().next_back() {
                    Some((id, f)) => reply_entry(ctx, *id, f),
                    None => ctx.out.null(),
                }
                return Ok(());
            }
            ctx.out.bulk(b"entries");
            let entries: Vec<_> = s.entries.iter().take(count).collect();
            ctx.out.array(entries.len());
            for (id, f) in entries {
                reply_entry(ctx, *id, f);
            }
            ctx.out.bulk(b"groups");
            ctx.out.array(s.groups.len());
            for (name, g) in &s.groups {
                ctx.out.map(7);
                ctx.out.bulk(b"name");
                ctx.out.bulk(name);
                ctx.out.bulk(b"last-delivered-id");
                ctx.out.bulk(&g.last_id.to_bytes());
                ctx.out.bulk(b"entries-read");
                match g.entries_read {
                    Some(n) => ctx.out.int(n as i64),
                    None => ctx.out.null(),
                }
                ctx.out.bulk(b"lag");
                match s.lag(g) {
                    Some(n) => ctx.out.int(n),
                    None => ctx.out.null(),
                }
                ctx.out.bulk(b"pel-count");
                ctx.out.int(g.pel.len() as i64);
                ctx.out.bulk(b"pending");
                let pel: Vec<_> = g.pel.iter().take(count).collect();
                ctx.out.array(pel.len());
                for (id, pe) in pel {
                    ctx.out.array(4);
                    ctx.out.bulk(&id.to_bytes());
                    ctx.out.bulk(&pe.consumer);
                    ctx.out.int(pe.delivery_time);
                    ctx.out.int(pe.delivery_count as i64);
                }
                ctx.out.bulk(b"consumers");
                ctx.out.array(g.consumers.len());
                for (cname, c) in &g.consumers {
                    ctx.out.map(4);
                    ctx.out.bulk(b"name");
                    ctx.out.bulk(cname);
                    ctx.out.bulk(b"seen-time");
                    ctx.out.int(c.seen_time);
                    ctx.out.bulk(b"pel-count");
                    ctx.out.int(c.pending.len() as i64);
                    ctx.out.bulk(b"pending");
                    let ids: Vec<_> = c.pending.iter().take(count).collect();
                    ctx.out.array(ids.len());
                    for id in ids {
                        let pe = g.pel.get(id).cloned();
                        ctx.out.array(3);
                        ctx.out.bulk(&id.to_bytes());
                        ctx.out.int(pe.as_ref().map_or(0, |p| p.delivery_time));
                        ctx.out
                            .int(pe.as_ref().map_or(0, |p| p.delivery_count as i64));
                    }
                }
            }
        }
        "groups" if a.len() == 3 => {
            ctx.out.array(s.groups.len());
            for (name, g) in &s.groups {
                ctx.out.map(6);
                ctx.out.bulk(b"name");
                ctx.out.bulk(name);
                ctx.out.bulk(b"consumers");
                ctx.out.int(g.consumers.len() as i64);
                ctx.out.bulk(b"pending");
                ctx.out.int(g.pel.len() as i64);
                ctx.out.bulk(b"last-delivered-id");
                ctx.out.bulk(&g.last_id.to_bytes());
                ctx.out.bulk(b"entries-read");
                match g.entries_read {
                    Some(n) => ctx.out.int(n as i64),
                    None => ctx.out.null(),
                }
                ctx.out.bulk(b"lag");
                match s.lag(g) {
                    Some(n) => ctx.out.int(n),
                    None => ctx.out.null(),
                }
            }
        }
        "consumers" if a.len() == 4 => {
            let g = s
                .groups
                .get(&a[3][..])
                .ok_or_else(|| nogroup(&a[2], &a[3], " for XINFO CONSUMERS"))?;
            ctx.out.array(g.consumers.len());
            for (name, c) in &g.consumers {
                ctx.out.map(3);
                ctx.out.bulk(b"name");
                ctx.out.bulk(name);
                ctx.out.bulk(b"pending");
                ctx.out.int(c.pending.len() as i64);
                ctx.out.bulk(b"idle");
                ctx.out.int(now - c.seen_time);
            }
        }
        "groups" | "consumers" => return Err(super::sub_arity(ctx)),
        _ => return Err(super::unknown_subcommand(ctx)),
    }
    Ok(())
}

/// The ENTRIESREAD argument of XGROUP CREATE/SETID: a count, or -1 for "unknown".
fn parse_entries_read(arg: &[u8]) -> Result<Option<u64>, Error> {
    match parse_i64(arg).ok_or(Error::msg(NOT_INT))? {
        -1 => Ok(None),
        n if n < 0 => err("ERR value for ENTRIESREAD must be positive or -1"),
        n => Ok(Some(n as u64)),
    }
}

/// One propagated command.
type Cmd = Vec<Vec<u8>>;

/// How a stream write reaches replicas and the AOF when the command as given would not give
/// the same result there (Redis's rewrites in t_stream.c); `None` keeps the command as is.
///
/// - XADD: the ID it generated replaces `*` or `ms-*`;
/// - XADD and XTRIM with `~`: the trim becomes exact at what was actually kept (`=` and the
///   resulting length or first ID), LIMIT dropped;
/// - XREADGROUP: see `group_delivery`.
pub fn propagation(
    srv: &mut crate::server::Server,
    db: usize,
    name: &str,
    argv: &resp::request::Argv,
    reply: &[u8],
) -> Option<Vec<Cmd>> {
    let key = argv.get(1)?;
    match name {
        "xadd" => {
            let resp::Frame::Bulk(id) = resp::Frame::parse(reply).ok()?.0 else {
                return None;
            };
            let s = srv.ks.get_stream(db, key).ok()??;
            let mut cmd: Cmd = vec![argv[0].to_vec(), key.to_vec()];
            let mut i = 2;
            while i < argv.len() {
                if eq_ignore_case(&argv[i], "nomkstream") {
                    cmd.push(argv[i].to_vec());
                    i += 1;
                } else if eq_ignore_case(&argv[i], "maxlen") || eq_ignore_case(&argv[i], "minid") {
                    i = exact_trim(argv, i, s, &mut cmd);
                } else {
                    break;
                }
            }
            cmd.push(id);
            cmd.extend(argv.iter().skip(i + 1).map(<[u8]>::to_vec));
            Some(vec![cmd])
        }
        "xtrim" => {
            let s = srv.ks.get_stream(db, key).ok()??;
            let mut cmd: Cmd = vec![argv[0].to_vec(), key.to_vec()];
            exact_trim(argv, 2, s, &mut cmd);
            Some(vec![cmd])
        }
        "xreadgroup" => {
            let (group, consumer) = (argv.get(2)?, argv.get(3)?);
            let noack = argv
                .iter()
                .skip(4)
                .take_while(|a| !eq_ignore_case(a, "streams"))
                .any(|a| eq_ignore_case(a, "noack"));
            let per_key: Vec<(Vec<u8>, Vec<resp::Frame>)> = match resp::Frame::parse(reply).ok()?.0
            {
                resp::Frame::Array(keys) => keys
                    .into_iter()
                    .filter_map(|kv| match kv {
                        resp::Frame::Array(mut kv) if kv.len() == 2 => match (kv.pop(), kv.pop()) {
                            (Some(resp::Frame::Array(items)), Some(resp::Frame::Bulk(k))) => {
                                Some((k, items))
                            }
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect(),
                resp::Frame::Map(pairs) => pairs
                    .into_iter()
                    .filter_map(|(k, v)| match (k, v) {
                        (resp::Frame::Bulk(k), resp::Frame::Array(items)) => Some((k, items)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut out = Vec::new();
            for (k, items) in per_key {
                let ids: Vec<StreamId> = items
                    .iter()
                    .filter_map(|e| match e {
                        resp::Frame::Array(e) => match e.first() {
                            Some(resp::Frame::Bulk(id)) => StreamId::parse(id, 0),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
                if let Ok(Some(s)) = srv.ks.get_stream(db, &k) {
                    out.extend(group_delivery(s, &k, group, consumer, &ids, noack));
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// Copies `MAXLEN|MINID [=|~] threshold [LIMIT n]` at `i` into `cmd`, an approximate trim made
/// exact at what `s` kept; returns the index after it.
fn exact_trim(a: &resp::request::Argv, mut i: usize, s: &Stream, cmd: &mut Cmd) -> usize {
    let is_maxlen = eq_ignore_case(&a[i], "maxlen");
    cmd.push(a[i].to_vec());
    i += 1;
    let approx = &a[i][..] == b"~";
    if approx || &a[i][..] == b"=" {
        i += 1;
    }
    if approx {
        cmd.push(b"=".to_vec());
        cmd.push(if is_maxlen {
            s.len().to_string().into_bytes()
        } else {
            s.entries
                .keys()
                .next()
                .copied()
                .unwrap_or(StreamId::MAX)
                .to_bytes()
        });
    } else {
        cmd.push(a[i].to_vec());
    }
    i += 1;
    if i < a.len() && eq_ignore_case(&a[i], "limit") {
        i += 2;
    }
    i
}

/// Commands that reproduce a group delivery of `ids` elsewhere, as Redis 7.0 propagates
/// XREADGROUP: an XCLAIM per entry with its delivery time and count and the group's last ID;
/// with NOACK (nothing pending) the consumer's creation and the group's new position.
fn group_delivery(
    s: &Stream,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    ids: &[StreamId],
    noack: bool,
) -> Vec<Cmd> {
    let Some(g) = s.groups.get(group) else {
        return Vec::new();
    };
    if ids.is_empty() {
        return Vec::new();
    }
    let bytes = |parts: &[&[u8]]| -> Cmd { parts.iter().map(|p| p.to_vec()).collect() };
    let last = g.last_id.to_bytes();
    if noack {
        let read = g.entries_read.map_or(-1, |n| n as i64).to_string();
        return vec![
            bytes(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer]),
            bytes(&[
                b"XGROUP",
                b"SETID",
                key,
                group,
                &last,
                b"ENTRIESREAD",
                read.as_bytes(),
            ]),
        ];
    }
    ids.iter()
        .filter_map(|id| {
            let pe = g.pel.get(id)?;
            let (time, count) = (pe.delivery_time.to_string(), pe.delivery_count.to_string());
            Some(bytes(&[
                b"XCLAIM",
                key,
                group,
                &pe.consumer,
                b"0",
                &id.to_bytes(),
                b"TIME",
                time.as_bytes(),
                b"RETRYCOUNT",
                count.as_bytes(),
                b"FORCE",
                b"JUSTID",
                b"LASTID",
                &last,
            ]))
        })
        .collect()
}
