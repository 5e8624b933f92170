//! Generic key commands (redis's db.c / expire.c / object.c): DEL, EXISTS, TYPE, the EXPIRE
//! family, KEYS, SCAN (and the cursor logic shared by HSCAN/SSCAN/ZSCAN), RENAME, MOVE, COPY,
//! OBJECT, RANDOMKEY, DBSIZE.

use super::{err, CmdResult, CommandSpec, Ctx, Error, NOT_INT, NO_KEY, SYNTAX};
use crate::notify::GENERIC;
use crate::types::Kind;
use crate::util::{eq_ignore_case, glob_match, parse_i64, parse_u64};
use resp::request::Argv;

/// What COMMAND GETKEYS finds in a command line, as Redis 7.0's key specs find it.
#[derive(Debug, PartialEq)]
pub enum GetKeys {
    Keys(Vec<usize>),
    /// The command takes no keys at all.
    NoKeys,
    /// The arguments do not say where the keys are (a bad numkeys, no STREAMS, ...).
    Invalid,
}

/// Key argument positions of `argv` (a whole command line, arity already checked): the
/// commands whose keys follow a count (`numkeys`) or a keyword (STREAMS, STORE, KEYS), then
/// the table's first/last/step for every other.
pub fn getkeys(spec: &CommandSpec, argv: &Argv) -> GetKeys {
    let n = argv.len();
    // Keys counted by a numkeys argument at `at`, following it; `before` keys come first.
    let counted = |at: usize, before: &[usize], zero_ok: bool| -> GetKeys {
        let Some(k) = argv.get(at).and_then(parse_i64) else {
            return GetKeys::Invalid;
        };
        if k < 0 || (k == 0 && !zero_ok) || at + 1 + k as usize > n {
            return GetKeys::Invalid;
        }
        let mut v = before.to_vec();
        v.extend(at + 1..at + 1 + k as usize);
        GetKeys::Keys(v)
    };
    let after_keyword = |from: usize, words: &[&str]| -> Option<usize> {
        (from..n).find(|&i| words.iter().any(|w| eq_ignore_case(&argv[i], w)))
    };
    match spec.name {
        // Scripts may run without keys (NO_MANDATORY_KEYS): whatever the count says, the
        // answer is a list, empty when the count is unusable.
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" => {
            match counted(2, &[], true) {
                GetKeys::Invalid => GetKeys::Keys(Vec::new()),
                keys => keys,
            }
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => counted(2, &[1], false),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            counted(1, &[], false)
        }
        "blmpop" | "bzmpop" => counted(2, &[], false),
        "xread" | "xreadgroup" => {
            let from = if spec.name == "xread" { 1 } else { 4 };
            match after_keyword(from, &["streams"]) {
                // At least one key and its ID after STREAMS.
                Some(s) if n > s + 2 => GetKeys::Keys((s + 1..s + 1 + (n - s - 1) / 2).collect()),
                _ => GetKeys::Invalid,
            }
        }
        "sort" => {
            let mut v = vec![1];
            let mut i = 2;
            while i < n {
                if eq_ignore_case(&argv[i], "limit") {
                    i += 3;
                } else if eq_ignore_case(&argv[i], "get") || eq_ignore_case(&argv[i], "by") {
                    i += 2;
                } else if eq_ignore_case(&argv[i], "store") && i + 1 < n {
                    v.push(i + 1);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            GetKeys::Keys(v)
        }
        "georadius" | "georadiusbymember" => {
            let mut v = vec![1];
            if let Some(i) = after_keyword(4, &["store", "storedist"]).filter(|i| i + 1 < n) {
                v.push(i + 1);
            }
            GetKeys::Keys(v)
        }
        "migrate" => {
            // MIGRATE host port "" db timeout ... KEYS k1 k2: the keys follow KEYS; without
            // any, the key argument itself (even empty) is the key.
            match after_keyword(6, &["keys"]) {
                Some(_) if !argv[3].is_empty() => GetKeys::Invalid,
                Some(k) if k + 1 < n => GetKeys::Keys((k + 1..n).collect()),
                _ => GetKeys::Keys(vec![3]),
            }
        }
        _ if !has_keys(spec) => GetKeys::NoKeys,
        _ => GetKeys::Keys(key_positions(spec, argv)),
    }
}

/// Commands whose keys [`getkeys`] finds by a count or a keyword rather than by position.
const KEYS_BY_RULE: &[&str] = &[
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zunion",
    "zinter",
    "zdiff",
    "zintercard",
    "sintercard",
    "lmpop",
    "zmpop",
    "blmpop",
    "bzmpop",
    "xread",
    "xreadgroup",
    "sort",
    "georadius",
    "georadiusbymember",
    "migrate",
];

/// Whether the command takes key arguments at all (whatever its arguments).
pub fn has_keys(spec: &CommandSpec) -> bool {
    spec.first_key != 0 || KEYS_BY_RULE.contains(&spec.name)
}

// Key-spec flags (redis 7.0's `CMD_KEY_*`): how a command uses each of its keys.
pub const KEY_RO: u16 = 1;
pub const KEY_RW: u16 = 1 << 1;
pub const KEY_OW: u16 = 1 << 2;
pub const KEY_RM: u16 = 1 << 3;
pub const KEY_ACCESS: u16 = 1 << 4;
pub const KEY_UPDATE: u16 = 1 << 5;
pub const KEY_INSERT: u16 = 1 << 6;
pub const KEY_DELETE: u16 = 1 << 7;
pub const KEY_NOT_KEY: u16 = 1 << 8;
pub const KEY_INCOMPLETE: u16 = 1 << 9;
pub const KEY_VARIABLE_FLAGS: u16 = 1 << 10;

/// The flags of the key specs of a command (or `container|sub`): those of its first key spec,
/// and those of the keys after the first one (a second spec: destination, sources, STORE).
/// Generated from redis 7.0's `src/commands/*.json`; commands without keys have none.
fn key_spec_flags(name: &str) -> (u16, u16) {
    const RO: u16 = KEY_RO;
    const RW: u16 = KEY_RW;
    const OW: u16 = KEY_OW;
    const RM: u16 = KEY_RM;
    const ACCESS: u16 = KEY_ACCESS;
    const UPDATE: u16 = KEY_UPDATE;
    const INSERT: u16 = KEY_INSERT;
    const DELETE: u16 = KEY_DELETE;
    const VARIABLE_FLAGS: u16 = KEY_VARIABLE_FLAGS;
    const fn same(f: u16) -> (u16, u16) {
        (f, f)
    }
    #[rustfmt::skip]
    let flags = match name {
        "bitcount" | "bitfield_ro" | "bitpos" | "dump" | "eval_ro" | "evalsha_ro" | "expiretime" | "geodist" | "geohash" | "geopos" | "georadius_ro" | "georadiusbymember_ro" | "geosearch" | "get" | "getbit" | "getrange" | "hget" | "hgetall" | "hkeys" | "hmget" | "hrandfield" | "hscan" | "hvals" | "lcs" | "lindex" | "lpos" | "lrange" | "mget" | "pexpiretime" | "pttl" | "sdiff" | "sinter" | "sintercard" | "smembers" | "smismember" | "sort_ro" | "srandmember" | "sscan" | "substr" | "sunion" | "ttl" | "xinfo|consumers" | "xinfo|groups" | "xinfo|stream" | "xpending" | "xrange" | "xread" | "xreadgroup" | "xrevrange" | "zcount" | "zdiff" | "zinter" | "zintercard" | "zlexcount" | "zmscore" | "zrandmember" | "zrange" | "zrangebylex" | "zrangebyscore" | "zrank" | "zrevrange" | "zrevrangebylex" | "zrevrangebyscore" | "zrevrank" | "zscan" | "zscore" | "zunion" => same(RO | ACCESS),
        "exists" | "hexists" | "hlen" | "hstrlen" | "llen" | "memory|usage" | "object|encoding" | "object|freq" | "object|idletime" | "object|refcount" | "scard" | "sismember" | "strlen" | "touch" | "type" | "watch" | "xlen" | "zcard" => same(RO),
        "expire" | "expireat" | "geoadd" | "hmset" | "hset" | "lset" | "persist" | "pexpire" | "pexpireat" | "setrange" | "xack" | "xadd" | "xclaim" | "xgroup|setid" | "zadd" => same(RW | UPDATE),
        "blmpop" | "blpop" | "brpop" | "bzmpop" | "bzpopmax" | "bzpopmin" | "getdel" | "lmpop" | "lpop" | "rpop" | "spop" | "zmpop" | "zpopmax" | "zpopmin" => same(RW | ACCESS | DELETE),
        "decr" | "decrby" | "eval" | "evalsha" | "getex" | "getset" | "hincrby" | "hincrbyfloat" | "incr" | "incrby" | "incrbyfloat" | "move" | "setbit" | "zincrby" => same(RW | ACCESS | UPDATE),
        "hdel" | "lrem" | "ltrim" | "srem" | "xautoclaim" | "xdel" | "xgroup|delconsumer" | "xgroup|destroy" | "xtrim" | "zrem" | "zremrangebylex" | "zremrangebyrank" | "zremrangebyscore" => same(RW | DELETE),
        "append" | "hsetnx" | "linsert" | "lpush" | "lpushx" | "pfadd" | "rpush" | "rpushx" | "sadd" | "xgroup|create" | "xgroup|createconsumer" => same(RW | INSERT),
        "bitop" | "geosearchstore" | "sdiffstore" | "sunionstore" | "zdiffstore" | "zinterstore" | "zrangestore" | "zunionstore" => (OW | UPDATE, RO | ACCESS),
        "blmove" | "brpoplpush" | "lmove" | "rpoplpush" | "smove" => (RW | ACCESS | DELETE, RW | INSERT),
        "copy" | "georadius" | "georadiusbymember" | "sort" => (RO | ACCESS, OW | UPDATE),
        "mset" | "psetex" | "restore" | "setex" => same(OW | UPDATE),
        "del" | "unlink" => same(RM | DELETE),
        "msetnx" | "setnx" => same(OW | INSERT),
        "bitfield" => same(RW | UPDATE | ACCESS | VARIABLE_FLAGS),
        // Keys after KEYS get the first spec's flags too (redis's migrateGetKeys).
        "migrate" => same(RW | ACCESS | DELETE),
        "pfcount" => same(RW | ACCESS),
        "pfmerge" => (RW | ACCESS | INSERT, RO | ACCESS),
        "rename" => (RW | ACCESS | DELETE, OW | UPDATE),
        "renamenx" => (RW | ACCESS | DELETE, OW | INSERT),
        "set" => same(RW | ACCESS | UPDATE | VARIABLE_FLAGS),
        "sinterstore" => (RW | UPDATE, RO | ACCESS),
        _ => (0, 0),
    };
    flags
}

/// Flags of each of the `n` keys [`getkeys`] found in `argv` (COMMAND GETKEYSANDFLAGS). SET and
/// BITFIELD decide from their arguments, as redis's `setGetKeys`/`bitfieldGetKeys` do.
pub fn key_flags(spec: &CommandSpec, argv: &Argv, n: usize) -> Vec<u16> {
    let (first, rest) = key_spec_flags(spec.name);
    let mut v = vec![rest; n];
    if let Some(f) = v.first_mut() {
        *f = first;
    }
    match spec.name {
        "set" => {
            let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
            v[0] = if get {
                KEY_RW | KEY_ACCESS | KEY_UPDATE
            } else {
                KEY_OW | KEY_UPDATE
            };
        }
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < argv.len() {
                let remaining = argv.len() - i - 1;
                if eq_ignore_case(&argv[i], "get") && remaining >= 2 {
                    i += 3;
                } else if eq_ignore_case(&argv[i], "overflow") && remaining >= 1 {
                    i += 2;
                } else {
                    // SET/INCRBY, or a syntax error (assumed to write, as redis does).
                    readonly = false;
                    break;
                }
            }
            v[0] = if readonly {
                KEY_RO | KEY_ACCESS
            } else {
                KEY_RW | KEY_ACCESS | KEY_UPDATE
            };
        }
        _ => {}
    }
    v
}

/// Names of key-spec flags, in redis's order.
pub fn key_flag_names(f: u16) -> Vec<&'static str> {
    [
        (KEY_RO, "RO"),
        (KEY_RW, "RW"),
        (KEY_OW, "OW"),
        (KEY_RM, "RM"),
        (KEY_ACCESS, "access"),
        (KEY_UPDATE, "update"),
        (KEY_INSERT, "insert"),
        (KEY_DELETE, "delete"),
        (KEY_NOT_KEY, "not_key"),
        (KEY_INCOMPLETE, "incomplete"),
        (KEY_VARIABLE_FLAGS, "variable_flags"),
    ]
    .iter()
    .filter(|(bit, _)| f & bit != 0)
    .map(|(_, n)| *n)
    .collect()
}

pub fn key_positions(spec: &CommandSpec, argv: &Argv) -> Vec<usize> {
    if spec.first_key == 0 {
        return Vec::new();
    }
    let argc = argv.len() as i32;
    let last = if spec.last_key < 0 {
        argc + spec.last_key
    } else {
        spec.last_key
    };
    let mut v = Vec::new();
    let mut i = spec.first_key;
    while i <= last && i < argc {
        v.push(i as usize);
        i += spec.step.max(1);
    }
    v
}

fn del_generic(ctx: &mut Ctx, lazy: bool) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let mut n = 0;
    for k in a.iter().skip(1) {
        if ctx.srv.ks.delete_with(db, k, lazy) {
            ctx.modified(db, k, GENERIC, "del");
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

pub fn del(ctx: &mut Ctx) -> CmdResult {
    let lazy = ctx.srv.config.flag("lazyfree-lazy-user-del");
    del_generic(ctx, lazy)
}

pub fn unlink(ctx: &mut Ctx) -> CmdResult {
    del_generic(ctx, true)
}

pub fn exists(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let n = a
        .iter()
        .skip(1)
        .filter(|k| ctx.srv.ks.lookup_read_notouch(db, k).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

pub fn touch(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let n = a
        .iter()
        .skip(1)
        .filter(|k| ctx.srv.ks.lookup(db, k).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

pub fn type_(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let t = match ctx.srv.ks.lookup_read_notouch(db, &ctx.argv[1]) {
        Some(i) => ctx.srv.ks.slot(db, i).kind().name(),
        None => "none",
    };
    ctx.out.simple(t);
    Ok(())
}

/// Sets an absolute expiry (ms) on an existing key, deleting it if the time has passed.
pub fn apply_expire(ctx: &mut Ctx, db: usize, key: &[u8], at: i64) {
    if at <= ctx.srv.ks.now {
        ctx.srv.ks.delete(db, key);
        ctx.modified(db, key, GENERIC, "del");
    } else {
        ctx.srv.ks.set_expire(db, key, at);
        ctx.modified(db, key, GENERIC, "expire");
    }
}

fn expire_generic(ctx: &mut Ctx, unit_ms: bool, absolute: bool) -> CmdResult {
    let a = ctx.argv;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in a.iter().skip(3) {
        if eq_ignore_case(o, "nx") {
            nx = true;
        } else if eq_ignore_case(o, "xx") {
            xx = true;
        } else if eq_ignore_case(o, "gt") {
            gt = true;
        } else if eq_ignore_case(o, "lt") {
            lt = true;
        } else {
            return Err(Error::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(o)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return err("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return err("ERR GT and LT options at the same time are not compatible");
    }
    let v = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?;
    let bad = || {
        Error::msg(format!(
            "ERR invalid expire time in '{}' command",
            ctx.spec.name
        ))
    };
    let mut when = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(bad)?
    };
    if !absolute {
        when = when.checked_add(ctx.srv.ks.now).ok_or_else(bad)?;
    }
    let db = ctx.db();
    let key = &a[1];
    if ctx.srv.ks.lookup(db, key).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let cur = ctx.srv.ks.expire_at(db, key);
    let ok = if nx {
        cur.is_none()
    } else if xx && cur.is_none() {
        false
    } else if gt {
        cur.is_some_and(|c| when > c)
    } else if lt {
        cur.is_none_or(|c| when < c)
    } else {
        true
    };
    if !ok {
        ctx.out.int(0);
        return Ok(());
    }
    apply_expire(ctx, db, key, when);
    ctx.out.int(1);
    Ok(())
}

pub fn expire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, false, false)
}
pub fn pexpire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, true, false)
}
pub fn expireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, false, true)
}
pub fn pexpireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, true, true)
}

fn ttl_generic(ctx: &mut Ctx, ms: bool, absolute: bool) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    if ctx.srv.ks.lookup_read_notouch(db, key).is_none() {
        ctx.out.int(-2);
        return Ok(());
    }
    match ctx.srv.ks.expire_at(db, key) {
        None => ctx.out.int(-1),
        Some(at) => {
            let v = if absolute {
                at
            } else {
                (at - ctx.srv.ks.now).max(0)
            };
            ctx.out.int(if ms {
                v
            } else if absolute {
                at / 1000
            } else {
                (v + 500) / 1000
            });
        }
    }
    Ok(())
}

pub fn ttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, false)
}
pub fn pttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, false)
}
pub fn expiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, true)
}
pub fn pexpiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, true)
}

pub fn persist(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    if ctx.srv.ks.lookup(db, key).is_some() && ctx.srv.ks.persist(db, key) {
        ctx.modified(db, key, GENERIC, "persist");
        ctx.out.int(1);
    } else {
        ctx.out.int(0);
    }
    Ok(())
}

pub fn keys(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let pat = &ctx.argv[1];
    let all = pat == b"*";
    let now = ctx.srv.ks.now;
    let d = &ctx.srv.ks.dbs[db];
    let found: Vec<Vec<u8>> = d
        .keys
        .iter()
        .map(crate::table::Keyed::key)
        .filter(|k| all || glob_match(pat, k, false))
        .filter(|k| d.expire_of(k).is_none_or(|at| at > now))
        .map(|k| k.to_vec())
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(&k);
    }
    Ok(())
}

/// Options of the SCAN family.
pub struct ScanOpts {
    pub pattern: Option<Vec<u8>>,
    pub count: usize,
    pub kind: Option<Vec<u8>>,
}

pub fn parse_cursor(arg: &[u8]) -> Result<u64, Error> {
    parse_u64(arg).ok_or(Error::msg("ERR invalid cursor"))
}

pub fn parse_scan_opts(ctx: &Ctx, from: usize, allow_type: bool) -> Result<ScanOpts, Error> {
    let a = ctx.argv;
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        kind: None,
    };
    let mut i = from;
    while i < a.len() {
        if i + 1 >= a.len() {
            return err(SYNTAX);
        }
        if eq_ignore_case(&a[i], "count") {
            let n = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
            if n < 1 {
                return err(SYNTAX);
            }
            o.count = n as usize;
        } else if eq_ignore_case(&a[i], "match") {
            o.pattern = Some(a[i + 1].to_vec());
        } else if allow_type && eq_ignore_case(&a[i], "type") {
            o.kind = Some(a[i + 1].to_ascii_lowercase());
        } else {
            return err(SYNTAX);
        }
        i += 2;
    }
    Ok(o)
}

/// One SCAN step over a dense table of `len` entries: walks positions downwards from the
/// cursor (0 = start). Returns the positions visited and the next cursor (0 = done).
pub fn scan_positions(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let start = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let end = start.saturating_sub(count);
    let next = if end == 0 { 0 } else { end as u64 };
    (end..start, next)
}

pub fn scan(ctx: &mut Ctx) -> CmdResult {
    let cursor = parse_cursor(&ctx.argv[1])?;
    let o = parse_scan_opts(ctx, 2, true)?;
    let db = ctx.db();
    let len = ctx.srv.ks.dbs[db].keys.len();
    let (range, next) = scan_positions(len, cursor, o.count);
    let candidates: Vec<Vec<u8>> = range
        .rev()
        .map(|i| crate::table::Keyed::key(ctx.srv.ks.dbs[db].keys.get(i)).to_vec())
        .collect();
    let mut found = Vec::new();
    for k in candidates {
        if o.pattern
            .as_ref()
            .is_some_and(|p| !glob_match(p, &k, false))
        {
            continue;
        }
        let Some(kind) = ctx.srv.ks.kind(db, &k) else {
            continue;
        };
        if let Some(t) = &o.kind {
            if kind.name().as_bytes() != t.as_slice() {
                continue;
            }
        }
        found.push(k);
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(&k);
    }
    Ok(())
}

pub fn randomkey(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    match ctx.srv.ks.random_key(db) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (src, dst) = (&a[1], &a[2]);
    if ctx.srv.ks.lookup(db, src).is_none() {
        return err(NO_KEY);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && ctx.srv.ks.exists(db, dst) {
        ctx.out.int(0);
        return Ok(());
    }
    let (v, exp) = ctx.srv.ks.take_value(db, src).expect("checked above");
    let dst_existed = ctx.srv.ks.delete(db, dst);
    ctx.srv.ks.set_owned(db, dst, v);
    if let Some(at) = exp {
        ctx.srv.ks.set_expire(db, dst, at);
    }
    ctx.modified(db, src, GENERIC, "rename_from");
    if dst_existed {
        ctx.srv.touch_watched(db, dst, Some(ctx.client));
    }
    ctx.modified(db, dst, GENERIC, "rename_to");
    signal_if_waitable(ctx, db, dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// A key received a value by a generic command: blocked poppers may proceed.
fn signal_if_waitable(ctx: &mut Ctx, db: usize, key: &[u8]) {
    if matches!(ctx.srv.ks.kind(db, key), Some(Kind::List | Kind::ZSet)) {
        ctx.signal_ready(db, key);
    }
}

pub fn rename(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, false)
}

pub fn renamenx(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, true)
}

pub fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, Error> {
    let n = parse_i64(arg).ok_or(Error::msg(NOT_INT))?;
    if n < 0 || n as usize >= ctx.srv.ks.dbs.len() {
        return err("ERR DB index is out of range");
    }
    Ok(n as usize)
}

pub fn move_(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let src_db = ctx.db();
    let dst_db = parse_db_index(ctx, &a[2])?;
    if src_db == dst_db {
        return err("ERR source and destination objects are the same");
    }
    let key = &a[1];
    if ctx.srv.ks.lookup(src_db, key).is_none() || ctx.srv.ks.exists(dst_db, key) {
        ctx.out.int(0);
        return Ok(());
    }
    let (v, exp) = ctx.srv.ks.take_value(src_db, key).expect("checked above");
    ctx.srv.ks.set_owned(dst_db, key, v);
    if let Some(at) = exp {
        ctx.srv.ks.set_expire(dst_db, key, at);
    }
    ctx.modified(src_db, key, GENERIC, "move_from");
    ctx.modified(dst_db, key, GENERIC, "move_to");
    signal_if_waitable(ctx, dst_db, key);
    ctx.out.int(1);
    Ok(())
}

pub fn copy(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if eq_ignore_case(&a[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&a[i], "db") && i + 1 < a.len() {
            dst_db = parse_db_index(ctx, &a[i + 1])?;
            i += 1;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (&a[1], &a[2]);
    if src_db == dst_db && src == dst {
        return err("ERR source and destination objects are the same");
    }
    let Some((v, exp)) = ctx.srv.ks.clone_value(src_db, src) else {
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.srv.ks.exists(dst_db, dst) {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.srv.ks.delete(dst_db, dst);
    }
    ctx.srv.ks.set_owned(dst_db, dst, v);
    if let Some(at) = exp {
        ctx.srv.ks.set_expire(dst_db, dst, at);
    }
    ctx.modified(dst_db, dst, GENERIC, "copy_to");
    signal_if_waitable(ctx, dst_db, dst);
    ctx.out.int(1);
    Ok(())
}

pub fn object(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = crate::util::lower(&a[1]);
    if sub == "help" {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
        return Ok(());
    }
    if !matches!(sub.as_str(), "encoding" | "freq" | "idletime" | "refcount") {
        return Err(super::unknown_subcommand(ctx));
    }
    if a.len() != 3 {
        return Err(super::sub_arity(ctx));
    }
    let db = ctx.db();
    let Some(i) = ctx.srv.ks.peek(db, &a[2]) else {
        ctx.out.null();
        return Ok(());
    };
    let slot = ctx.srv.ks.slot(db, i);
    match sub.as_str() {
        "encoding" => {
            let e = slot.encoding();
            ctx.out.bulk(e.as_bytes());
        }
        "refcount" => {
            let shared_int = slot.encoding() == "int"
                && slot
                    .str()
                    .and_then(parse_i64)
                    .is_some_and(|n| (0..10000).contains(&n));
            ctx.out.int(if shared_int { i32::MAX as i64 } else { 1 });
        }
        "idletime" => {
            if matches!(ctx.srv.ks.tracking, crate::db::AccessTracking::Lfu { .. }) {
                return err("ERR An LRU maxmemory policy is not selected, access time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            }
            let idle = ctx.srv.ks.idle_seconds(slot.meta);
            ctx.out.int(idle as i64);
        }
        _ => {
            if !matches!(ctx.srv.ks.tracking, crate::db::AccessTracking::Lfu { .. }) {
                return err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            }
            let f = ctx.srv.ks.lfu_value(slot.meta);
            ctx.out.int(f as i64);
        }
    }
    Ok(())
}

pub fn dbsize(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.dbs[db].len();
    ctx.out.int(n as i64);
    Ok(())
}
