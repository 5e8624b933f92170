//! The command table and the dispatcher.
//!
//! [`TABLE`] describes every command once: name, arity (negative = at least), flags, key
//! positions, group. The dispatcher checks it before any handler runs: unknown command, arity,
//! authentication, managed-mode restriction, pub/sub context, MULTI queueing, OOM. Handlers
//! never recount arguments or test those conditions themselves.

pub mod bits;
pub mod command;
pub mod dump;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod multi;
pub mod pubsub_cmds;
pub mod random;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod zsets;

use crate::client::Client;
use crate::server::Server;
use resp::request::Argv;
use resp::ReplyBuf;
use std::borrow::Cow;
use std::sync::OnceLock;

pub const WRITE: u32 = 1;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const PUBSUB: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const BLOCKING: u32 = 1 << 6;
pub const FAST: u32 = 1 << 7;
pub const NO_AUTH: u32 = 1 << 8;
pub const LOADING: u32 = 1 << 9;
pub const STALE: u32 = 1 << 10;
pub const SKIP_MONITOR: u32 = 1 << 11;
pub const SKIP_SLOWLOG: u32 = 1 << 12;
pub const NO_MULTI: u32 = 1 << 13;
pub const ALLOW_BUSY: u32 = 1 << 14;
/// Refused to clients in `--managed` mode (ElastiCache's restricted commands).
pub const RESTRICTED: u32 = 1 << 15;
/// Allowed while a RESP2 connection is in pub/sub mode.
pub const PUBSUB_CONTEXT: u32 = 1 << 16;
pub const MAY_REPLICATE: u32 = 1 << 17;
pub const RANDOM: u32 = 1 << 18;
/// Has subcommands (`command.rs`'s table), whose own arity is checked too.
pub const CONTAINER: u32 = 1 << 19;

const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MULTI, "no_multi"),
    (ALLOW_BUSY, "allow_busy"),
];

/// An error reply, with its code (`ERR ...`, `WRONGTYPE ...`).
#[derive(Debug, Clone)]
pub struct Error(pub Cow<'static, str>);

pub type CmdResult = Result<(), Error>;

impl Error {
    pub fn msg(s: impl Into<Cow<'static, str>>) -> Error {
        Error(s.into())
    }
}

impl From<crate::db::WrongType> for Error {
    fn from(_: crate::db::WrongType) -> Error {
        Error(Cow::Borrowed(WRONGTYPE))
    }
}

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_KEY: &str = "ERR no such key";
pub const OUT_OF_RANGE: &str = "ERR index out of range";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const NEGATIVE_TIMEOUT: &str = "ERR timeout is negative";

pub fn err<T>(s: &'static str) -> Result<T, Error> {
    Err(Error(Cow::Borrowed(s)))
}

pub type Handler = fn(&mut Ctx) -> CmdResult;

pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn flag_names(&self) -> Vec<&'static str> {
        FLAG_NAMES
            .iter()
            .filter(|(f, _)| self.flags & f != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// Key argument positions in `argv` (the table's first/last/step, plus the numkeys forms).
    pub fn key_positions(&self, argv: &Argv) -> Vec<usize> {
        keys::key_positions(self, argv)
    }
}

/// Everything a handler may touch.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub argv: &'a Argv,
    pub out: &'a mut ReplyBuf,
    pub spec: &'static CommandSpec,
}

impl<'a> Ctx<'a> {
    pub fn db(&self) -> usize {
        self.client.db
    }

    pub fn ks(&mut self) -> &mut crate::db::Keyspace {
        &mut self.srv.ks
    }

    pub fn argc(&self) -> usize {
        self.argv.len()
    }

    /// A data change: invalidates WATCHes, publishes the keyspace event, counts a change.
    pub fn modified(&mut self, db: usize, key: &[u8], class: u32, event: &str) {
        self.srv.touch_watched(db, key, Some(self.client));
        self.srv.stats.dirty += 1;
        self.notify(class, event, db, key);
    }

    pub fn notify(&mut self, class: u32, event: &str, db: usize, key: &[u8]) {
        if self.srv.config.notify_flags != 0 {
            crate::notify::notify(
                self.srv,
                Some(self.client),
                Some(self.out),
                class,
                event,
                db,
                key,
            );
        }
    }

    /// A list or zset key received elements: wake clients blocked on it.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        self.srv.blocking.signal(db, key);
    }

    pub fn int_arg(&self, i: usize) -> Result<i64, Error> {
        crate::util::parse_i64(&self.argv[i]).ok_or(Error(Cow::Borrowed(NOT_INT)))
    }

    pub fn float_arg(&self, i: usize) -> Result<f64, Error> {
        crate::util::parse_f64(&self.argv[i]).ok_or(Error(Cow::Borrowed(NOT_FLOAT)))
    }

    /// The lowercase name for error messages (`config|get` style for subcommands).
    pub fn name(&self) -> &'static str {
        self.spec.name
    }
}

/// A data change outside of a handler context (blocked-client serving, expiry, eviction).
pub fn modified(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    key: &[u8],
    class: u32,
    event: &str,
) {
    srv.touch_watched(db, key, Some(&mut *client));
    srv.stats.dirty += 1;
    if srv.config.notify_flags != 0 {
        crate::notify::notify(srv, Some(client), None, class, event, db, key);
    }
}

macro_rules! c {
    ($name:expr, $arity:expr, $flags:expr, $fk:expr, $lk:expr, $st:expr, $group:expr, $h:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $fk,
            last_key: $lk,
            step: $st,
            group: $group,
            handler: $h,
        }
    };
}
// Also the subcommand table's (`command.rs`).
pub(crate) use c;

const W: u32 = WRITE;
const WD: u32 = WRITE | DENYOOM;
const WDF: u32 = WRITE | DENYOOM | FAST;
const WF: u32 = WRITE | FAST;
const R: u32 = READONLY;
const RF: u32 = READONLY | FAST;
const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const CONN: u32 = NOSCRIPT | LOADING | STALE | FAST;

#[rustfmt::skip]
pub static TABLE: &[CommandSpec] = &[
    // strings
    c!("get", 2, RF, 1, 1, 1, "string", strings::get),
    c!("set", -3, WD, 1, 1, 1, "string", strings::set),
    c!("setnx", 3, WDF, 1, 1, 1, "string", strings::setnx),
    c!("setex", 4, WD, 1, 1, 1, "string", strings::setex),
    c!("psetex", 4, WD, 1, 1, 1, "string", strings::psetex),
    c!("getset", 3, WDF, 1, 1, 1, "string", strings::getset),
    c!("getdel", 2, WF, 1, 1, 1, "string", strings::getdel),
    c!("getex", -2, WF, 1, 1, 1, "string", strings::getex),
    c!("mget", -2, RF, 1, -1, 1, "string", strings::mget),
    c!("mset", -3, WD, 1, -1, 2, "string", strings::mset),
    c!("msetnx", -3, WD, 1, -1, 2, "string", strings::msetnx),
    c!("append", 3, WDF, 1, 1, 1, "string", strings::append),
    c!("strlen", 2, RF, 1, 1, 1, "string", strings::strlen),
    c!("incr", 2, WDF, 1, 1, 1, "string", strings::incr),
    c!("decr", 2, WDF, 1, 1, 1, "string", strings::decr),
    c!("incrby", 3, WDF, 1, 1, 1, "string", strings::incrby),
    c!("decrby", 3, WDF, 1, 1, 1, "string", strings::decrby),
    c!("incrbyfloat", 3, WDF, 1, 1, 1, "string", strings::incrbyfloat),
    c!("setrange", 4, WD, 1, 1, 1, "string", strings::setrange),
    c!("getrange", 4, R, 1, 1, 1, "string", strings::getrange),
    c!("substr", 4, R, 1, 1, 1, "string", strings::getrange),
    c!("lcs", -3, R, 1, 2, 1, "string", strings::lcs),
    // bitmaps
    c!("setbit", 4, WD, 1, 1, 1, "bitmap", bits::setbit),
    c!("getbit", 3, RF, 1, 1, 1, "bitmap", bits::getbit),
    c!("bitcount", -2, R, 1, 1, 1, "bitmap", bits::bitcount),
    c!("bitpos", -3, R, 1, 1, 1, "bitmap", bits::bitpos),
    c!("bitop", -4, WD, 2, -1, 1, "bitmap", bits::bitop),
    c!("bitfield", -2, WD, 1, 1, 1, "bitmap", bits::bitfield),
    c!("bitfield_ro", -2, RF, 1, 1, 1, "bitmap", bits::bitfield_ro),
    // keys
    c!("del", -2, W, 1, -1, 1, "generic", keys::del),
    c!("unlink", -2, WF, 1, -1, 1, "generic", keys::unlink),
    c!("exists", -2, RF, 1, -1, 1, "generic", keys::exists),
    c!("touch", -2, RF, 1, -1, 1, "generic", keys::touch),
    c!("type", 2, RF, 1, 1, 1, "generic", keys::type_),
    c!("expire", -3, WF, 1, 1, 1, "generic", keys::expire),
    c!("pexpire", -3, WF, 1, 1, 1, "generic", keys::pexpire),
    c!("expireat", -3, WF, 1, 1, 1, "generic", keys::expireat),
    c!("pexpireat", -3, WF, 1, 1, 1, "generic", keys::pexpireat),
    c!("ttl", 2, RF | RANDOM, 1, 1, 1, "generic", keys::ttl),
    c!("pttl", 2, RF | RANDOM, 1, 1, 1, "generic", keys::pttl),
    c!("expiretime", 2, RF, 1, 1, 1, "generic", keys::expiretime),
    c!("pexpiretime", 2, RF, 1, 1, 1, "generic", keys::pexpiretime),
    c!("persist", 2, WF, 1, 1, 1, "generic", keys::persist),
    c!("keys", 2, R | RANDOM, 0, 0, 0, "generic", keys::keys),
    c!("scan", -2, R | RANDOM, 0, 0, 0, "generic", keys::scan),
    c!("randomkey", 1, R | RANDOM, 0, 0, 0, "generic", keys::randomkey),
    c!("rename", 3, W, 1, 2, 1, "generic", keys::rename),
    c!("renamenx", 3, WF, 1, 2, 1, "generic", keys::renamenx),
    c!("move", 3, WF, 1, 1, 1, "generic", keys::move_),
    c!("copy", -3, WD, 1, 2, 1, "generic", keys::copy),
    c!("object", -2, R | RANDOM | CONTAINER, 2, 2, 1, "generic", keys::object),
    c!("sort", -2, WD, 1, 1, 1, "generic", sort::sort),
    c!("sort_ro", -2, R, 1, 1, 1, "generic", sort::sort_ro),
    c!("dbsize", 1, RF, 0, 0, 0, "server", keys::dbsize),
    // lists
    c!("lpush", -3, WDF, 1, 1, 1, "list", lists::lpush),
    c!("rpush", -3, WDF, 1, 1, 1, "list", lists::rpush),
    c!("lpushx", -3, WDF, 1, 1, 1, "list", lists::lpushx),
    c!("rpushx", -3, WDF, 1, 1, 1, "list", lists::rpushx),
    c!("lpop", -2, WF, 1, 1, 1, "list", lists::lpop),
    c!("rpop", -2, WF, 1, 1, 1, "list", lists::rpop),
    c!("llen", 2, RF, 1, 1, 1, "list", lists::llen),
    c!("lindex", 3, R, 1, 1, 1, "list", lists::lindex),
    c!("lset", 4, WD, 1, 1, 1, "list", lists::lset),
    c!("lrange", 4, R, 1, 1, 1, "list", lists::lrange),
    c!("ltrim", 4, W, 1, 1, 1, "list", lists::ltrim),
    c!("lrem", 4, W, 1, 1, 1, "list", lists::lrem),
    c!("linsert", 5, WD, 1, 1, 1, "list", lists::linsert),
    c!("lpos", -3, R, 1, 1, 1, "list", lists::lpos),
    c!("rpoplpush", 3, WD, 1, 2, 1, "list", lists::rpoplpush),
    c!("lmove", 5, WD, 1, 2, 1, "list", lists::lmove),
    c!("lmpop", -4, W, 0, 0, 0, "list", lists::lmpop),
    // The blocking commands redis 7.0 refuses in scripts (its NOSCRIPT; BLMPOP/BZMPOP it allows,
    // and they do not block there).
    c!("blpop", -3, W | BLOCKING | NOSCRIPT, 1, -2, 1, "list", lists::blpop),
    c!("brpop", -3, W | BLOCKING | NOSCRIPT, 1, -2, 1, "list", lists::brpop),
    c!("brpoplpush", 4, WD | BLOCKING | NOSCRIPT, 1, 2, 1, "list", lists::brpoplpush),
    c!("blmove", 6, WD | BLOCKING | NOSCRIPT, 1, 2, 1, "list", lists::blmove),
    c!("blmpop", -5, W | BLOCKING, 0, 0, 0, "list", lists::blmpop),
    // hashes
    c!("hset", -4, WDF, 1, 1, 1, "hash", hashes::hset),
    c!("hmset", -4, WDF, 1, 1, 1, "hash", hashes::hmset),
    c!("hsetnx", 4, WDF, 1, 1, 1, "hash", hashes::hsetnx),
    c!("hget", 3, RF, 1, 1, 1, "hash", hashes::hget),
    c!("hmget", -3, RF, 1, 1, 1, "hash", hashes::hmget),
    c!("hgetall", 2, R | RANDOM, 1, 1, 1, "hash", hashes::hgetall),
    c!("hkeys", 2, R | RANDOM, 1, 1, 1, "hash", hashes::hkeys),
    c!("hvals", 2, R | RANDOM, 1, 1, 1, "hash", hashes::hvals),
    c!("hlen", 2, RF, 1, 1, 1, "hash", hashes::hlen),
    c!("hdel", -3, WF, 1, 1, 1, "hash", hashes::hdel),
    c!("hexists", 3, RF, 1, 1, 1, "hash", hashes::hexists),
    c!("hincrby", 4, WDF, 1, 1, 1, "hash", hashes::hincrby),
    c!("hincrbyfloat", 4, WDF, 1, 1, 1, "hash", hashes::hincrbyfloat),
    c!("hstrlen", 3, RF, 1, 1, 1, "hash", hashes::hstrlen),
    c!("hrandfield", -2, R | RANDOM, 1, 1, 1, "hash", hashes::hrandfield),
    c!("hscan", -3, R | RANDOM, 1, 1, 1, "hash", hashes::hscan),
    // sets
    c!("sadd", -3, WDF, 1, 1, 1, "set", sets::sadd),
    c!("srem", -3, WF, 1, 1, 1, "set", sets::srem),
    c!("smembers", 2, R, 1, 1, 1, "set", sets::smembers),
    c!("sismember", 3, RF, 1, 1, 1, "set", sets::sismember),
    c!("smismember", -3, RF, 1, 1, 1, "set", sets::smismember),
    c!("scard", 2, RF, 1, 1, 1, "set", sets::scard),
    c!("spop", -2, WF | RANDOM, 1, 1, 1, "set", sets::spop),
    c!("srandmember", -2, R | RANDOM, 1, 1, 1, "set", sets::srandmember),
    c!("smove", 4, WF, 1, 2, 1, "set", sets::smove),
    c!("sinter", -2, R, 1, -1, 1, "set", sets::sinter),
    c!("sintercard", -3, R, 0, 0, 0, "set", sets::sintercard),
    c!("sinterstore", -3, WD, 1, -1, 1, "set", sets::sinterstore),
    c!("sunion", -2, R, 1, -1, 1, "set", sets::sunion),
    c!("sunionstore", -3, WD, 1, -1, 1, "set", sets::sunionstore),
    c!("sdiff", -2, R, 1, -1, 1, "set", sets::sdiff),
    c!("sdiffstore", -3, WD, 1, -1, 1, "set", sets::sdiffstore),
    c!("sscan", -3, R | RANDOM, 1, 1, 1, "set", sets::sscan),
    // sorted sets
    c!("zadd", -4, WDF, 1, 1, 1, "sortedset", zsets::zadd),
    c!("zincrby", 4, WDF, 1, 1, 1, "sortedset", zsets::zincrby),
    c!("zrem", -3, WF, 1, 1, 1, "sortedset", zsets::zrem),
    c!("zcard", 2, RF, 1, 1, 1, "sortedset", zsets::zcard),
    c!("zscore", 3, RF, 1, 1, 1, "sortedset", zsets::zscore),
    c!("zmscore", -3, RF, 1, 1, 1, "sortedset", zsets::zmscore),
    c!("zrank", 3, RF, 1, 1, 1, "sortedset", zsets::zrank),
    c!("zrevrank", 3, RF, 1, 1, 1, "sortedset", zsets::zrevrank),
    c!("zcount", 4, RF, 1, 1, 1, "sortedset", zsets::zcount),
    c!("zlexcount", 4, RF, 1, 1, 1, "sortedset", zsets::zlexcount),
    c!("zrange", -4, R, 1, 1, 1, "sortedset", zsets::zrange),
    c!("zrangestore", -5, WD, 1, 2, 1, "sortedset", zsets::zrangestore),
    c!("zrevrange", -4, R, 1, 1, 1, "sortedset", zsets::zrevrange),
    c!("zrangebyscore", -4, R, 1, 1, 1, "sortedset", zsets::zrangebyscore),
    c!("zrevrangebyscore", -4, R, 1, 1, 1, "sortedset", zsets::zrevrangebyscore),
    c!("zrangebylex", -4, R, 1, 1, 1, "sortedset", zsets::zrangebylex),
    c!("zrevrangebylex", -4, R, 1, 1, 1, "sortedset", zsets::zrevrangebylex),
    c!("zremrangebyrank", 4, W, 1, 1, 1, "sortedset", zsets::zremrangebyrank),
    c!("zremrangebyscore", 4, W, 1, 1, 1, "sortedset", zsets::zremrangebyscore),
    c!("zremrangebylex", 4, W, 1, 1, 1, "sortedset", zsets::zremrangebylex),
    c!("zunionstore", -4, WD, 1, 1, 1, "sortedset", zsets::zunionstore),
    c!("zinterstore", -4, WD, 1, 1, 1, "sortedset", zsets::zinterstore),
    c!("zdiffstore", -4, WD, 1, 1, 1, "sortedset", zsets::zdiffstore),
    c!("zunion", -3, R, 0, 0, 0, "sortedset", zsets::zunion),
    c!("zinter", -3, R, 0, 0, 0, "sortedset", zsets::zinter),
    c!("zdiff", -3, R, 0, 0, 0, "sortedset", zsets::zdiff),
    c!("zintercard", -3, R, 0, 0, 0, "sortedset", zsets::zintercard),
    c!("zpopmin", -2, WF, 1, 1, 1, "sortedset", zsets::zpopmin),
    c!("zpopmax", -2, WF, 1, 1, 1, "sortedset", zsets::zpopmax),
    c!("bzpopmin", -3, WF | BLOCKING | NOSCRIPT, 1, -2, 1, "sortedset", zsets::bzpopmin),
    c!("bzpopmax", -3, WF | BLOCKING | NOSCRIPT, 1, -2, 1, "sortedset", zsets::bzpopmax),
    c!("zmpop", -4, W, 0, 0, 0, "sortedset", zsets::zmpop),
    c!("bzmpop", -5, W | BLOCKING, 0, 0, 0, "sortedset", zsets::bzmpop),
    c!("zrandmember", -2, R | RANDOM, 1, 1, 1, "sortedset", zsets::zrandmember),
    c!("zscan", -3, R | RANDOM, 1, 1, 1, "sortedset", zsets::zscan),
    // geo
    c!("geoadd", -5, WD, 1, 1, 1, "geo", geo::geoadd),
    c!("geopos", -2, R, 1, 1, 1, "geo", geo::geopos),
    c!("geodist", -4, R, 1, 1, 1, "geo", geo::geodist),
    c!("geohash", -2, R, 1, 1, 1, "geo", geo::geohash),
    c!("georadius", -6, WD, 1, 1, 1, "geo", geo::georadius),
    c!("georadius_ro", -6, R, 1, 1, 1, "geo", geo::georadius_ro),
    c!("georadiusbymember", -5, WD, 1, 1, 1, "geo", geo::georadiusbymember),
    c!("georadiusbymember_ro", -5, R, 1, 1, 1, "geo", geo::georadiusbymember_ro),
    c!("geosearch", -7, R, 1, 1, 1, "geo", geo::geosearch),
    c!("geosearchstore", -8, WD, 1, 2, 1, "geo", geo::geosearchstore),
    // streams
    c!("xadd", -5, WDF, 1, 1, 1, "stream", streams::xadd),
    c!("xlen", 2, RF, 1, 1, 1, "stream", streams::xlen),
    c!("xrange", -4, R, 1, 1, 1, "stream", streams::xrange),
    c!("xrevrange", -4, R, 1, 1, 1, "stream", streams::xrevrange),
    c!("xdel", -3, WF, 1, 1, 1, "stream", streams::xdel),
    c!("xtrim", -4, W, 1, 1, 1, "stream", streams::xtrim),
    c!("xread", -4, R | BLOCKING, 0, 0, 0, "stream", streams::xread),
    c!("xgroup", -2, W | CONTAINER, 2, 2, 1, "stream", streams::xgroup),
    c!("xreadgroup", -7, W | BLOCKING, 0, 0, 0, "stream", streams::xreadgroup),
    c!("xack", -4, WF, 1, 1, 1, "stream", streams::xack),
    c!("xpending", -3, R, 1, 1, 1, "stream", streams::xpending),
    c!("xclaim", -6, WF, 1, 1, 1, "stream", streams::xclaim),
    c!("xautoclaim", -6, WF, 1, 1, 1, "stream", streams::xautoclaim),
    c!("xinfo", -2, R | CONTAINER, 2, 2, 1, "stream", streams::xinfo),
    c!("xsetid", -3, WDF, 1, 1, 1, "stream", streams::xsetid),
    // pub/sub
    c!("subscribe", -2, PUBSUB | CONN | PUBSUB_CONTEXT, 0, 0, 0, "pubsub", pubsub_cmds::subscribe),
    c!("unsubscribe", -1, PUBSUB | CONN | PUBSUB_CONTEXT, 0, 0, 0, "pubsub", pubsub_cmds::unsubscribe),
    c!("psubscribe", -2, PUBSUB | CONN | PUBSUB_CONTEXT, 0, 0, 0, "pubsub", pubsub_cmds::psubscribe),
    c!("punsubscribe", -1, PUBSUB | CONN | PUBSUB_CONTEXT, 0, 0, 0, "pubsub", pubsub_cmds::punsubscribe),
    c!("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, 0, 0, 0, "pubsub", pubsub_cmds::publish),
    c!("pubsub", -2, PUBSUB | LOADING | STALE | CONTAINER, 0, 0, 0, "pubsub", pubsub_cmds::pubsub),
    // transactions
    c!("multi", 1, CONN | ALLOW_BUSY, 0, 0, 0, "transactions", multi::multi),
    c!("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, 0, 0, 0, "transactions", multi::exec),
    c!("discard", 1, CONN | ALLOW_BUSY, 0, 0, 0, "transactions", multi::discard),
    c!("watch", -2, CONN | ALLOW_BUSY, 1, -1, 1, "transactions", multi::watch),
    c!("unwatch", 1, CONN | ALLOW_BUSY, 0, 0, 0, "transactions", multi::unwatch),
    // connection
    c!("ping", -1, FAST | PUBSUB_CONTEXT, 0, 0, 0, "connection", server::ping),
    c!("echo", 2, FAST, 0, 0, 0, "connection", server::echo),
    c!("quit", -1, CONN | NO_AUTH | ALLOW_BUSY | PUBSUB_CONTEXT, 0, 0, 0, "connection", server::quit),
    c!("reset", 1, CONN | NO_AUTH | ALLOW_BUSY | PUBSUB_CONTEXT, 0, 0, 0, "connection", server::reset),
    c!("select", 2, LOADING | STALE | FAST, 0, 0, 0, "connection", server::select),
    c!("swapdb", 3, WF, 0, 0, 0, "keyspace", server::swapdb),
    c!("auth", -2, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, "connection", crate::acl::command::auth),
    c!("hello", -1, CONN | NO_AUTH | ALLOW_BUSY, 0, 0, 0, "connection", server::hello),
    c!("client", -2, ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER, 0, 0, 0, "connection", server::client),
    // server
    c!("info", -1, LOADING | STALE | RANDOM, 0, 0, 0, "server", server::info),
    c!("config", -2, ADM | RESTRICTED | CONTAINER, 0, 0, 0, "server", server::config),
    c!("flushdb", -1, W, 0, 0, 0, "keyspace", server::flushdb),
    c!("flushall", -1, W, 0, 0, 0, "keyspace", server::flushall),
    c!("time", 1, LOADING | STALE | FAST | RANDOM, 0, 0, 0, "server", server::time),
    c!("lastsave", 1, LOADING | STALE | FAST | RANDOM, 0, 0, 0, "server", server::lastsave),
    c!("slowlog", -2, ADMIN | LOADING | STALE | CONTAINER, 0, 0, 0, "server", server::slowlog),
    c!("monitor", 1, ADM, 0, 0, 0, "server", server::monitor),
    c!("command", -1, LOADING | STALE | CONTAINER, 0, 0, 0, "server", command::command),
    c!("memory", -2, R | CONTAINER, 0, 0, 0, "server", server::memory),
    c!("debug", -2, ADM | RESTRICTED, 0, 0, 0, "server", server::debug),
    c!("save", 1, ADM | NO_MULTI | RESTRICTED, 0, 0, 0, "server", server::save),
    c!("bgsave", -1, ADM | RESTRICTED, 0, 0, 0, "server", server::save),
    c!("bgrewriteaof", 1, ADM | NO_MULTI | RESTRICTED, 0, 0, 0, "server", server::bgrewriteaof),
    c!("shutdown", -1, ADM | NO_MULTI | ALLOW_BUSY | RESTRICTED, 0, 0, 0, "server", server::shutdown),
    c!("slaveof", 3, ADM | NO_MULTI | RESTRICTED, 0, 0, 0, "server", server::replicaof),
    c!("replicaof", 3, ADM | NO_MULTI | RESTRICTED, 0, 0, 0, "server", server::replicaof),
    c!("migrate", -6, W | RESTRICTED, 3, 3, 1, "generic", server::migrate),
    c!("role", 1, NOSCRIPT | LOADING | STALE | FAST, 0, 0, 0, "server", server::role),
    c!("wait", 3, NOSCRIPT, 0, 0, 0, "generic", server::wait),
    c!("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, 0, 0, 0, "server", crate::replication::psync),
    c!("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, 0, 0, 0, "server", crate::replication::psync),
    c!("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, 0, 0, 0, "server", crate::replication::replconf),
    c!("readonly", 1, LOADING | STALE | FAST, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("readwrite", 1, LOADING | STALE | FAST, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster", -2, CONTAINER, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("acl", -2, ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER, 0, 0, 0, "server", crate::acl::command::acl),
    c!("latency", -2, ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER, 0, 0, 0, "server", server::latency),
    c!("module", -2, ADMIN | NOSCRIPT | CONTAINER, 0, 0, 0, "server", server::module),
    // HyperLogLog, DUMP/RESTORE and scripting (handlers in hyperloglog.rs, dump.rs, scripting.rs)
    c!("pfadd", -2, WDF, 1, 1, 1, "hyperloglog", hyperloglog::pfadd),
    c!("pfcount", -2, R | MAY_REPLICATE, 1, -1, 1, "hyperloglog", hyperloglog::pfcount),
    c!("pfmerge", -2, WD, 1, -1, 1, "hyperloglog", hyperloglog::pfmerge),
    c!("pfdebug", 3, WD | ADMIN, 2, 2, 1, "hyperloglog", hyperloglog::pfdebug),
    c!("pfselftest", 1, ADMIN, 0, 0, 0, "hyperloglog", hyperloglog::pfselftest),
    c!("dump", 2, R | RANDOM, 1, 1, 1, "generic", dump::dump),
    c!("restore", -4, WD, 1, 1, 1, "generic", dump::restore),
    c!("eval", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE, 0, 0, 0, "scripting", scripting::eval),
    c!("evalsha", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE, 0, 0, 0, "scripting", scripting::evalsha),
    c!("eval_ro", -3, NOSCRIPT | SKIP_MONITOR | READONLY | STALE, 0, 0, 0, "scripting", scripting::eval_ro),
    c!("evalsha_ro", -3, NOSCRIPT | SKIP_MONITOR | READONLY | STALE, 0, 0, 0, "scripting", scripting::evalsha_ro),
    c!("script", -2, NOSCRIPT | MAY_REPLICATE | STALE | CONTAINER, 0, 0, 0, "scripting", scripting::script),
    c!("fcall", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE, 0, 0, 0, "scripting", functions::fcall),
    c!("fcall_ro", -3, NOSCRIPT | SKIP_MONITOR | READONLY | STALE, 0, 0, 0, "scripting", functions::fcall_ro),
    c!("function", -2, NOSCRIPT | MAY_REPLICATE | STALE, 0, 0, 0, "scripting", functions::function),
    c!("lolwut", -1, READONLY | FAST, 0, 0, 0, "server", server::lolwut),
];

/// Command names (lowercase bytes) to their [`TABLE`] positions: an open-addressing table of
/// `position + 1` (0 = empty) at most a quarter full, probed linearly. A name is looked up for
/// every request, so this is a hash of the lowercased name and usually a single comparison.
struct NameIndex {
    slots: Vec<u16>,
}

impl NameIndex {
    fn build() -> NameIndex {
        let size = (TABLE.len() * 4).next_power_of_two();
        let mut slots = vec![0u16; size];
        for (i, spec) in TABLE.iter().enumerate() {
            let mut at = crate::table::hash_key(spec.name.as_bytes()) as usize & (size - 1);
            while slots[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            slots[at] = i as u16 + 1;
        }
        NameIndex { slots }
    }

    fn get(&self, lower: &[u8]) -> Option<&'static CommandSpec> {
        let mask = self.slots.len() - 1;
        let mut at = crate::table::hash_key(lower) as usize & mask;
        loop {
            let spec = &TABLE[(*self.slots.get(at)? as usize).checked_sub(1)?];
            if spec.name.as_bytes() == lower {
                return Some(spec);
            }
            at = (at + 1) & mask;
        }
    }
}

fn index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(NameIndex::build)
}

pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    index().get(lower)
}

/// The position of a command in [`TABLE`] (every spec the dispatcher sees is one of its entries).
pub fn table_index(spec: &'static CommandSpec) -> usize {
    (spec as *const CommandSpec as usize - TABLE.as_ptr() as usize)
        / std::mem::size_of::<CommandSpec>()
}

fn unknown_command_error(argv: &Argv) -> String {
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        args.push_str(&format!("'{s}' "));
    }
    let name: String = String::from_utf8_lossy(&argv[0])
        .chars()
        .take(128)
        .collect();
    format!("ERR unknown command '{name}', with args beginning with: {args}")
}

/// The error for a subcommand that does not exist (`CONFIG FOO`).
pub fn unknown_subcommand(ctx: &Ctx) -> Error {
    let sub = String::from_utf8_lossy(&ctx.argv[1]).to_string();
    Error::msg(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        sub.chars().take(128).collect::<String>(),
        ctx.spec.name.to_ascii_uppercase()
    ))
}

/// Arity error of a subcommand (`config|get`).
pub fn sub_arity(ctx: &Ctx) -> Error {
    Error::msg(format!(
        "ERR wrong number of arguments for '{}|{}' command",
        ctx.spec.name,
        crate::util::lower(&ctx.argv[1])
    ))
}

pub(crate) fn record_error(srv: &mut Server, msg: &str) {
    srv.stats.total_error_replies += 1;
    let code = msg.split(' ').next().unwrap_or("ERR").to_string();
    *srv.stats.errors.entry(code).or_default() += 1;
}

/// Replies an error that the dispatcher raised before running the command.
fn reject(
    srv: &mut Server,
    client: &mut Client,
    spec: Option<&'static CommandSpec>,
    out: &mut ReplyBuf,
    msg: &str,
) {
    if let Some(s) = spec {
        srv.stats.commands.of(s).rejected += 1;
    }
    if spec.is_some_and(|s| s.name == "exec") {
        // A refused EXEC ends the transaction, saying why (redis's execCommandAbort; its
        // formatted rejections carry no "ERR " code there).
        client.multi = None;
        multi::unwatch_all(srv, client);
        let why = msg.strip_prefix("ERR ").unwrap_or(msg);
        let msg = format!("EXECABORT Transaction discarded because of: {why}");
        record_error(srv, &msg);
        out.error(&msg);
        return;
    }
    record_error(srv, msg);
    if let Some(m) = client.multi.as_mut() {
        m.aborted = true;
    }
    out.error(msg);
}

/// EXEC of a transaction holding a command that may grow memory is refused out of memory, as
/// that command itself would be (redis's `mstate.cmd_flags`).
fn exec_may_grow(client: &Client, spec: &CommandSpec) -> bool {
    spec.name == "exec"
        && client.multi.as_ref().is_some_and(|m| {
            m.queued
                .iter()
                .any(|argv| lookup(&argv[0]).is_some_and(|s| s.has(DENYOOM)))
        })
}

/// If CLIENT PAUSE applies to this command, until when.
pub fn pause_applies(srv: &mut Server, client: &Client, argv: &Argv) -> Option<i64> {
    let (until, all) = srv.pause?;
    let now = crate::util::now_ms();
    if now >= until {
        srv.pause = None;
        return None;
    }
    if client.kind == crate::client::ClientKind::Control {
        return None;
    }
    let spec = lookup(argv.get(0)?)?;
    let writes = spec.has(WRITE) || spec.name == "exec" || spec.has(MAY_REPLICATE);
    if all || writes {
        // CLIENT UNPAUSE, and commands of the pausing kind only.
        if spec.name == "client" {
            return None;
        }
        Some(until)
    } else {
        None
    }
}

/// Checks a command against the table and runs it.
pub fn dispatch(srv: &mut Server, client: &mut Client, argv: &Argv, out: &mut ReplyBuf) {
    if argv.is_empty() {
        return;
    }
    client.last_interaction_ms = srv.ks.now;
    let spec = match lookup(&argv[0]) {
        Some(s)
            if !(s.has(RESTRICTED)
                && srv.managed
                && client.kind == crate::client::ClientKind::Normal) =>
        {
            s
        }
        // Managed mode answers a restricted command as if it did not exist, which is what
        // ElastiCache's clients see for its renamed/disabled commands.
        _ => {
            let msg = unknown_command_error(argv);
            reject(srv, client, None, out, &msg);
            return;
        }
    };
    client.last_cmd = spec.name;
    let argc = argv.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        let msg = format!("ERR wrong number of arguments for '{}' command", spec.name);
        reject(srv, client, Some(spec), out, &msg);
        return;
    }
    // A known subcommand's arity too (`xinfo|help` takes no argument); an unknown one is
    // answered by the container's handler.
    if spec.has(CONTAINER) && argc >= 2 {
        if let Some(sub) = command::subcommand(spec, &argv[1]) {
            // CLIENT LIST's `cmd=` names the subcommand (`client|list`), as redis does.
            client.last_cmd = sub.name;
            if (sub.arity > 0 && argc != sub.arity) || argc < -sub.arity {
                let msg = format!("ERR wrong number of arguments for '{}' command", sub.name);
                reject(srv, client, Some(spec), out, &msg);
                return;
            }
        }
    }
    if !client.authenticated && !spec.has(NO_AUTH) {
        reject(
            srv,
            client,
            Some(spec),
            out,
            "NOAUTH Authentication required.",
        );
        return;
    }
    // ACL: one flag for users allowed everything (the default user unless restricted).
    if client.user.as_ref().is_some_and(|u| !u.unrestricted()) {
        if let Some(msg) = crate::acl::deny_reason(srv, client, spec, argv) {
            reject(srv, client, Some(spec), out, &msg);
            return;
        }
    }
    // Out of memory: commands that may grow it are refused, and so is anything queued in a
    // transaction (queueing grows memory too) except what ends it.
    let in_multi_queueing =
        client.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset");
    if srv.config.maxmemory > 0
        && (spec.has(DENYOOM) || in_multi_queueing || exec_may_grow(client, spec))
        && srv.call_depth == 0
        && !crate::evict::make_room(srv)
    {
        reject(
            srv,
            client,
            Some(spec),
            out,
            "OOM command not allowed when used memory > 'maxmemory'.",
        );
        return;
    }
    if client.multi.is_some()
        && !matches!(
            spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if spec.has(NO_MULTI) {
            reject(
                srv,
                client,
                Some(spec),
                out,
                "ERR Command not allowed inside a transaction",
            );
            return;
        }
        if let Some(m) = client.multi.as_mut() {
            m.queued.push(argv.clone());
        }
        out.simple("QUEUED");
        return;
    }
    if let Some(msg) = crate::replication::refuse(srv, client, spec) {
        reject(srv, client, Some(spec), out, msg);
        return;
    }
    if client.in_pubsub_mode() && !spec.has(PUBSUB_CONTEXT) {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        );
        reject(srv, client, Some(spec), out, &msg);
        return;
    }
    run_spec(srv, client, spec, argv, out);
}

/// Runs a command that passed every check (also used by EXEC for its queued commands).
pub fn run_spec(
    srv: &mut Server,
    client: &mut Client,
    spec: &'static CommandSpec,
    argv: &Argv,
    out: &mut ReplyBuf,
) {
    // Passwords stay out of MONITOR: AUTH, HELLO (AUTH) and ACL (SETUSER) are not shown.
    if !srv.monitors.is_empty()
        && !spec.has(SKIP_MONITOR)
        && !matches!(spec.name, "auth" | "hello" | "acl")
    {
        server::feed_monitors(srv, client, argv);
    }
    // The clock reading that ended the previous command is this one's start (one clock read
    // per command; `Server::execute` took `ks.now` from the same reading).
    let start = srv.clock.last();
    let mark = out.len();
    let dirty_before = srv.stats.dirty;
    let result = {
        let mut ctx = Ctx {
            srv,
            client,
            argv,
            out,
            spec,
        };
        (spec.handler)(&mut ctx)
    };
    // Client-side caching: the keys a tracking client read may now be in its cache; a read
    // inside its script stands for the keys the script declared.
    if spec.has(READONLY) {
        if client.tracking.is_some() {
            crate::tracking::remember_keys(srv, client, spec, argv);
        } else if srv.tracking.script_reads_armed() {
            crate::tracking::script_read(srv);
        }
    }
    let failed = match result {
        Ok(()) => out.buf.get(mark) == Some(&b'-') && !spec.has(ADMIN),
        Err(e) => {
            record_error(srv, &e.0);
            out.error(&e.0);
            true
        }
    };
    let us = srv
        .clock
        .tick()
        .saturating_duration_since(start)
        .as_micros() as u64;
    let db = client.db;
    crate::persistence::propagate::after_write(srv, db, spec, argv, &out.buf[mark..], dirty_before);
    let st = srv.stats.commands.of(spec);
    st.calls += 1;
    st.usec += us;
    if failed {
        st.failed += 1;
    }
    srv.stats.commands_processed += 1;
    if !spec.has(SKIP_SLOWLOG) && !spec.has(BLOCKING) {
        server::slowlog_push(srv, client, argv, us);
    }
}

/// Drops every trace of a disconnecting client.
pub fn cleanup_client(srv: &mut Server, c: &mut Client) {
    srv.blocking.unblock(c);
    multi::unwatch_all(srv, c);
    let chans: Vec<Vec<u8>> = c.subscriptions.iter().cloned().collect();
    for ch in chans {
        crate::pubsub::unsubscribe(srv, c, &ch);
    }
    let pats: Vec<Vec<u8>> = c.patterns.iter().cloned().collect();
    for p in pats {
        crate::pubsub::punsubscribe(srv, c, &p);
    }
    srv.monitors.retain(|&i| i != c.id);
    crate::tracking::disable(srv, c);
    crate::replication::client_gone(srv, c.id);
}

/// Disconnects a client other than the running one (CLIENT KILL, ACL DELUSER): gone from the
/// registry at once, as redis frees it, and its connection told to close.
pub fn close_client(srv: &mut Server, id: u64) {
    if let Some(mut c) = srv.clients.remove(&id) {
        cleanup_client(srv, &mut c);
        c.close_after_reply = true;
        c.outbox.send(crate::client::OutMsg::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_in_any_case() {
        for (i, spec) in TABLE.iter().enumerate() {
            let upper = spec.name.to_ascii_uppercase();
            let mixed: String = spec
                .name
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if j % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for name in [spec.name, &upper, &mixed] {
                let found = lookup(name.as_bytes()).expect("command in the table");
                assert_eq!(table_index(found), i, "{name}");
            }
        }
        for unknown in ["", "gett", "ge", "x", "getx", "setex2", &"a".repeat(40)] {
            assert!(lookup(unknown.as_bytes()).is_none(), "{unknown}");
        }
    }
}
