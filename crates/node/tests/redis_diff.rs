//! Differential tests: the same command sequences run against our node (in-process) and a real
//! `redis-server` 7.0 (child process), replies compared frame by frame.
//!
//! Normalised, and only where redis itself gives no fixed answer: the element order of replies
//! from unordered collections (sorted before comparing), and commands whose reply is random or
//! time-dependent (compared by shape only).

mod redis_common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis_common::*;
use resp::Frame;

/// How a command's reply is compared.
#[derive(Clone, Copy, PartialEq)]
enum Cmp {
    Exact,
    /// Sort the top-level array (set members, key lists).
    Sorted,
    /// Sort the (field, value) pairs of a flat array.
    SortedPairs,
    /// Random answer: only the frame kind and length must agree.
    Shape,
    /// SCAN-like: `[cursor, [items]]`, compare only the items of a complete iteration.
    Scan,
}

fn classify(args: &[String]) -> Cmp {
    let name = args[0].to_ascii_lowercase();
    match name.as_str() {
        "keys" | "smembers" | "sinter" | "sunion" | "sdiff" | "hkeys" | "hvals" => Cmp::Sorted,
        "hgetall" => Cmp::SortedPairs,
        "spop" | "srandmember" | "randomkey" | "hrandfield" | "zrandmember" => Cmp::Shape,
        "scan" | "sscan" | "hscan" | "zscan" => Cmp::Scan,
        "object"
            if args
                .get(1)
                .is_some_and(|s| s.eq_ignore_ascii_case("idletime")) =>
        {
            Cmp::Shape
        }
        "ttl" | "pttl" | "lastsave" | "time" => Cmp::Shape,
        _ => Cmp::Exact,
    }
}

fn sort_frames(v: &mut [Frame]) {
    v.sort_by_key(|f| format!("{f}"));
}

fn normalise(f: Frame, how: Cmp) -> Frame {
    match (how, f) {
        (Cmp::Sorted, Frame::Array(mut v)) | (Cmp::Sorted, Frame::Set(mut v)) => {
            sort_frames(&mut v);
            Frame::Array(v)
        }
        (Cmp::SortedPairs, Frame::Array(v)) => {
            let mut pairs: Vec<Frame> = v.chunks(2).map(|c| Frame::Array(c.to_vec())).collect();
            sort_frames(&mut pairs);
            Frame::Array(pairs)
        }
        (Cmp::Shape, Frame::Array(v)) => Frame::Int(v.len() as i64),
        (Cmp::Shape, Frame::Bulk(_)) => Frame::Bulk(b"<random>".to_vec()),
        (Cmp::Shape, Frame::Int(_)) => Frame::Int(0),
        (_, f) => f,
    }
}

struct Pair {
    ours: Client,
    real: Client,
    log: Vec<String>,
}

impl Pair {
    fn new(ours: std::net::SocketAddr, real: std::net::SocketAddr) -> Pair {
        Pair {
            ours: Client::connect(ours),
            real: Client::connect(real),
            log: Vec::new(),
        }
    }

    fn run(&mut self, args: &[String]) {
        let how = classify(args);
        if how == Cmp::Scan {
            return self.run_scan(args);
        }
        let a = self.ours.cmd(args);
        let b = self.real.cmd(args);
        self.log.push(args.join(" "));
        let (na, nb) = (normalise(a.clone(), how), normalise(b.clone(), how));
        if na != nb {
            let tail: Vec<&String> = self.log.iter().rev().take(15).collect();
            panic!(
                "reply mismatch for {:?}\n  ours:  {a}\n  redis: {b}\nlast commands (newest first): {tail:#?}",
                args.join(" ")
            );
        }
    }

    /// Runs a whole SCAN iteration on both and compares the sets of items returned.
    fn run_scan(&mut self, args: &[String]) {
        let cursor_at = if args[0].eq_ignore_ascii_case("scan") {
            1
        } else {
            2
        };
        let collect = |c: &mut Client| -> Result<Vec<String>, Frame> {
            let mut items = Vec::new();
            let mut a = args.to_vec();
            a[cursor_at] = "0".into();
            for _ in 0..10_000 {
                match c.cmd(&a) {
                    Frame::Array(v) if v.len() == 2 => {
                        let next = String::from_utf8_lossy(v[0].as_bytes().unwrap_or_default())
                            .to_string();
                        if let Frame::Array(xs) = &v[1] {
                            items.extend(xs.iter().map(|x| format!("{x}")));
                        }
                        if next == "0" {
                            break;
                        }
                        a[cursor_at] = next;
                    }
                    other => return Err(other),
                }
            }
            Ok(items)
        };
        let a = collect(&mut self.ours);
        let b = collect(&mut self.real);
        self.log.push(args.join(" "));
        let norm = |r: Result<Vec<String>, Frame>, pairs: bool| match r {
            Ok(mut v) => {
                if pairs {
                    let mut p: Vec<String> = v.chunks(2).map(|c| c.join("=")).collect();
                    p.sort();
                    p.dedup();
                    p
                } else {
                    v.sort();
                    v.dedup();
                    v
                }
            }
            Err(f) => vec![format!("error {f}")],
        };
        let pairs = matches!(args[0].to_ascii_lowercase().as_str(), "hscan" | "zscan");
        let (na, nb) = (norm(a, pairs), norm(b, pairs));
        assert_eq!(na, nb, "scan mismatch for {:?}", args.join(" "));
    }

    fn script(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let argv = resp::request::split_args(line.as_bytes()).expect("valid test line");
            let args: Vec<String> = argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).to_string())
                .collect();
            self.run(&args);
        }
    }
}

fn servers() -> (node::redis::RedisNode, RealRedis) {
    (start_ours(&[]), start_real(&[]))
}

const STRINGS: &str = r#"
set k v
get k
get nokey
set k v2 xx
set k2 v nx
set k2 v3 nx
set k v get
set k v nx xx
set k v ex 0
set k v ex -1
set k v ex abc
set k v px 100000 keepttl
set k v badopt
set k1 10 ex 100
getex k1 persist
getex k1 ex 0
getex nokey
getdel k1
getdel k1
setnx a 1
setnx a 2
mset a 1 b 2 c 3
mset a 1 b
mget a b c nokey
msetnx a 1 z 2
msetnx y 1 z 2
append a xyz
append new hello
strlen a
strlen nokey
incr cnt
incrby cnt 10
decrby cnt 3
decr cnt
incr a
incrby cnt abc
set big 9223372036854775807
incr big
decrby cnt -9223372036854775808
incrbyfloat f 1.5
incrbyfloat f 0.25
incrbyfloat f abc
incrbyfloat a 1
setrange sr 5 hello
get sr
setrange sr 0 HE
setrange sr -1 x
setrange empty 0 ""
exists empty
getrange sr 0 -1
getrange sr -3 -1
getrange sr 10 5
getrange sr -100 100
substr sr 1 3
getset gs one
getset gs two
lpush lst x
get lst
getset lst y
append lst z
strlen lst
lcs sr gs
setex se 100 v
setex se 0 v
psetex pse 100000 v
get se
get
set
getex k px 100000
"#;

const KEYS: &str = r#"
mset a 1 b 2 c 3 d 4
del a b nokey
exists a c d nokey c
type c
type nokey
rpush l 1
type l
sadd s m
type s
hset h f v
type h
zadd z 1 m
type z
expire c 100
ttl nokey
persist c
persist c
ttl c
expire c 100 nx
expire c 200 nx
expire c 50 xx
expire c 500 gt
expire c 10 lt
expire c 10 nx xx
expire c 10 gt lt
expire c 10 foo
expire c abc
expire nokey 10
expire d -1
exists d
pexpire c 100000
pexpireat c 99999999999999
expireat c 99999999999
expiretime c
pexpiretime c
expiretime nokey
expiretime l
rename c c2
rename nokey x
rename c2 c2
get c2
renamenx c2 l
renamenx c2 c3
get c3
keys *
keys c*
keys ?
dbsize
move c3 1
move c3 0
move l 99
move l abc
select 1
get c3
dbsize
select 0
copy l l2
copy l l2
copy l l2 replace
lrange l2 0 -1
copy l l
copy l lx db 1
copy l lx db 99
object encoding l
object encoding s
object encoding h
object encoding z
object encoding nokey
set num 12345
object encoding num
set str hello
object encoding str
object refcount str
object foo x
object encoding
object freq str
touch s h nokey
unlink s h z nokey
flushdb
dbsize
flushdb async
flushdb badarg
select 16
select -1
select x
swapdb 0 1
swapdb 0 99
set aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1
keys a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b
keys a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*
"#;

const LISTS: &str = r#"
rpush l a b c d e
lpush l z
lrange l 0 -1
lrange l -2 -1
lrange l 5 1
lrange l -100 100
llen l
llen nokey
lindex l 0
lindex l -1
lindex l 100
lindex l x
lset l 1 B
lset l 100 x
lset nokey 0 x
lpop l
rpop l
lpop l 2
rpop l 0
lpop l -1
lpop nokey
lpop nokey 2
rpush l a b a c a
lrem l 2 a
lrem l -1 a
lrem l 0 zz
lrange l 0 -1
linsert l before b X
linsert l after c Y
linsert l after nope Y
linsert l middle c Y
linsert nokey after c Y
lrange l 0 -1
ltrim l 1 -2
lrange l 0 -1
ltrim l 5 1
exists l
rpush q 1 2 3 2 1 2
lpos q 2
lpos q 2 rank 2
lpos q 2 rank -1
lpos q 2 count 0
lpos q 2 count 2 rank -1
lpos q 2 maxlen 2 count 0
lpos q 2 rank 0
lpos q 2 count -1
lpos q 9
lpushx nokey a
rpushx q 4
rpoplpush q q2
rpoplpush q q
lrange q 0 -1
lmove q q2 left right
lmove q q2 up right
lrange q2 0 -1
lmpop 2 nokey q left
lmpop 2 nokey q right count 10
lmpop 0 q left
lmpop 1 q2 left count 0
lmpop 5 q2 left
exists q
set str x
lpush str a
lrange str 0 -1
rpoplpush q2 str
rpush q2 a b c d e
blpop nokey q2 0.01
brpop q2 0
blpop nokey 0.01
blpop q2 -1
blpop q2 abc
blmove q2 q3 right left 0
brpoplpush q3 q4 0
blmpop 0.01 1 q4 left
"#;

const HASHES: &str = r#"
hset h f1 v1 f2 v2
hset h f1 x
hset h f3
hget h f1
hget h nof
hget nokey f
hmset h a 1 b 2
hmget h f1 nof a
hgetall h
hkeys h
hvals h
hlen h
hlen nokey
hexists h a
hexists h zz
hdel h a zz
hdel h a
hsetnx h f1 y
hsetnx h new y
hincrby h cnt 5
hincrby h cnt -2
hincrby h f1 1
hincrby h cnt x
hincrbyfloat h fl 1.5
hincrbyfloat h fl x
hincrbyfloat h f1 1
hstrlen h f2
hstrlen h nof
hgetall nokey
set s x
hget s f
hset s f v
hdel h f1 f2 f3 new cnt fl b
exists h
hrandfield nokey
hrandfield nokey 3
hset h2 a 1 b 2 c 3
hrandfield h2 5
hrandfield h2 -5 withvalues
hrandfield h2 1 withvalues
hrandfield h2 x
hrandfield h2 x y z
hrandfield h2 1 y z
hrandfield h2 1 withvalue
hscan h2 0
hscan h2 0 match a*
hscan h2 0 count 0
hincrbyfloat hf f +inf
hincrbyfloat hf f -inf
hincrbyfloat hf f nan
exists hf
incrbyfloat sf +inf
"#;

const SETS: &str = r#"
sadd s 3 1 2
sadd s 2 4
smembers s
sadd t a b c 1
smembers t
sismember s 1
sismember s 9
smismember s 1 9 2
scard s
scard nokey
srem s 1 9
srem nokey 1
sinter s t
sunion s t
sdiff s t
sdiff t s
sinterstore d s t
smembers d
sunionstore d s t
scard d
sdiffstore d s nokey
smembers d
sinterstore d nokey s
exists d
sintercard 2 s t
sintercard 2 s t limit 1
sintercard 0 s
sintercard 3 s t
sintercard 1 s limit -1
smove s t 2
smove s t 99
smove nokey t 2
smembers s
smembers t
spop nokey
spop nokey 2
spop s 0
spop s -1
srandmember nokey
srandmember nokey 3
srandmember t 2
srandmember t x y
srandmember t x
srandmember t -10
sadd str x
set str x
sadd str y
smembers str
sscan t 0
sscan t 0 match a*
# SMOVE of a member the destination already has does not touch the destination (WATCH)
sadd msrc a b
sadd mdst a
watch mdst
smove msrc mdst a
multi
sadd mdst c
exec
scard mdst
"#;

const ZSETS: &str = r#"
zadd z 1 a 2 b 3 c
zadd z 1.5 a
zadd z nx 10 a 4 d
zadd z xx 11 a 5 e
zadd z gt 5 a
zadd z lt 20 a
zadd z gt ch 20 a
zadd z incr 2 a
zadd z incr 2 a 3 b
zadd z nx xx 1 a
zadd z gt lt 1 a
zadd z x a
zadd z 1
zadd z nx incr 1 a
zscore z a
zscore z nope
zmscore z a nope b
zincrby z 2.5 b
zincrby z x b
zcard z
zcard nokey
zrank z a
zrevrank z a
zrank z nope
zcount z -inf +inf
zcount z (1 3
zcount z x 3
zrange z 0 -1
zrange z 0 -1 withscores
zrange z 0 1 rev
zrange z (1 5 byscore
zrange z 5 (1 byscore rev withscores
zrange z 0 10 byscore limit 1 1
zrange z 0 -1 limit 1 1
zrevrange z 0 1 withscores
zrangebyscore z -inf +inf withscores limit 0 2
zrangebyscore z 1 x
zrevrangebyscore z +inf -inf
zadd lex 0 a 0 b 0 c 0 d 0 e
zrangebylex lex - +
zrangebylex lex [b (d
zrevrangebylex lex + - limit 1 2
zrangebylex lex b d
zlexcount lex [b +
zrange lex [a [c bylex
zrange lex [c [a bylex rev
zrange lex [a [c bylex withscores
zremrangebylex lex [a [b
zremrangebyrank z 0 0
zremrangebyscore z 3 4
zrange z 0 -1 withscores
zadd z2 1 a 2 x
zunionstore u 2 z z2
zrange u 0 -1 withscores
zunionstore u 2 z z2 weights 2 3 aggregate max
zrange u 0 -1 withscores
zinterstore i 2 z z2 aggregate min
zrange i 0 -1 withscores
zinterstore i 0 z
zinterstore i 3 z z2
zunionstore u 2 z z2 weights 1
zunionstore u 2 z z2 aggregate avg
zdiffstore dd 2 z z2
zrange dd 0 -1 withscores
zunion 2 z z2 withscores
zinter 2 z z2
zdiff 2 z z2 withscores
zintercard 2 z z2
sadd st a b
zunion 2 z st withscores
zrangestore dst z 0 -1
zrange dst 0 -1 withscores
zrangestore dst z 10 20
exists dst
zpopmin z
zpopmax z 2
zpopmin z -1
zpopmin nokey
zmpop 1 z min
zmpop 2 nokey z2 max count 5
zmpop 1 z2 foo
bzpopmin nokey 0.01
bzpopmax u 0
bzmpop 0.01 1 u min count 2
zrem u a nope
zrandmember nokey
zrandmember nokey 5
zadd r 1 a 2 b 3 c
zrandmember r 2 withscores
zrandmember r -5
zrandmember r x y z
zrandmember r 1 withscore
zscan r 0
set str x
zadd str 1 a
zrange str 0 -1
zadd inf +inf a -inf b
zrange inf 0 -1 withscores
zincrby inf -inf a
zadd big 1 a 2 b
zrange big 0 -1 byscore
zintercard 0 z1
zintercard -1 z1
zintercard x z1
zintercard 2 z1
sintercard 0 z1
"#;

const BITS: &str = r#"
setbit b 7 1
setbit b 100 1
getbit b 7
getbit b 8
getbit b 1000
getbit nokey 1
setbit b -1 1
setbit b 1 2
setbit b x 1
get b
bitcount b
bitcount b 0 0
bitcount b 0 -1 bit
bitcount b 0
bitcount nokey
bitpos b 1
bitpos b 0
bitpos b 1 1
bitpos b 0 0 0
bitpos b 1 0 -1 bit
bitpos b 2
bitpos nokey 0
bitpos nokey 1
set s1 foobar
set s2 abcdef
bitop and dest s1 s2
get dest
bitop or dest s1 s2
bitop xor dest s1 s2 nokey
bitop not dest s1
get dest
bitop not dest s1 s2
bitop foo dest s1
bitop and dest nokey
exists dest
bitfield bf set i8 0 100 get i8 0
bitfield bf incrby i8 0 100
bitfield bf overflow sat incrby i8 0 100
bitfield bf overflow fail incrby i8 0 100
bitfield bf overflow wrap incrby u4 0 100
bitfield bf get u4 #1 get i64 0
bitfield bf get u64 0
bitfield bf get i8 -1
bitfield bf overflow foo get i8 0
bitfield bf set u8 8 255 get u8 8 incrby u8 8 1
bitfield_ro bf get i8 0
bitfield_ro bf set i8 0 1
lpush l x
setbit l 0 1
set bcs xxxx
bitcount bcs -6 -7
bitcount bcs -6 -15 bit
bitcount bcs -6 -15 foo
bitcount bcs -6 x
bitcount bcs 1 2 bit
bitcount bcs 3 13 bit
bitcount bcs 0 -1
bitcount bcs 1 1
bitcount bcs 5 100 bit
bitcount bcs 9 9 bit
bitcount nokey x y
"#;

const GEO: &str = r#"
geoadd sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd sicily 200 38 Bad
geoadd sicily 13 38
geoadd sicily nx ch 13.361389 38.115556 Palermo 12 37 Trapani
geoadd sicily xx ch 13.5 38.1 Palermo 14 37 NewOne
zrange sicily 0 -1 withscores
geopos sicily Palermo Catania NonExisting
geopos nokey a
geodist sicily Palermo Catania
geodist sicily Palermo Catania km
geodist sicily Palermo Catania mi
geodist sicily Palermo Catania ft
geodist sicily Palermo Catania parsec
geodist sicily Palermo Nope
geohash sicily Palermo Catania Nope
georadius sicily 15 37 200 km
georadius sicily 15 37 200 km withdist withcoord withhash asc
georadius sicily 15 37 200 km withdist desc count 1
georadius sicily 15 37 200 km count 0
georadius sicily 15 37 -1 km
georadius sicily 15 37 200 km store dst
zrange dst 0 -1 withscores
georadius sicily 15 37 200 km storedist dst2 asc
zrange dst2 0 -1 withscores
georadius sicily 15 37 200 km withdist store dst
georadiusbymember sicily Palermo 300 km withdist asc
georadiusbymember sicily Nope 300 km
georadius_ro sicily 15 37 200 km asc
georadius_ro sicily 15 37 200 km store x
geosearch sicily fromlonlat 15 37 byradius 200 km asc withdist
geosearch sicily frommember Palermo bybox 400 400 km asc withcoord
geosearch sicily byradius 200 km
geosearch sicily fromlonlat 15 37 frommember Palermo byradius 200 km
geosearch sicily fromlonlat 15 37 byradius 200 km bybox 1 1 km
geosearch sicily fromlonlat 15 37 byradius 200 km any
geosearchstore out sicily fromlonlat 15 37 byradius 200 km asc
zrange out 0 -1 withscores
geosearchstore out sicily fromlonlat 15 37 byradius 200 km asc storedist
zrange out 0 -1 withscores
set str x
geoadd str 1 1 m
geopos str m
zadd gdst 1 x
georadiusbymember gsrc member 1 km
georadiusbymember gsrc member 1 km store gdst
exists gdst
zadd gdst 1 x
geosearch gsrc frommember member bybox 1 1 km
geosearchstore gdst gsrc frommember member bybox 1 1 m
exists gdst
geosearchstore gdst gsrc frommember member bybox 1 1 m withcoord
geoadd gk xx nx 1 1 a
geoadd gk xx 1 1
geoadd gk foo 1 1 a
geoadd gk nx ch 1 1 a
"#;

const STREAMS: &str = r#"
# Group read counters and lag (XINFO GROUPS: entries-read, lag), with and without XDEL
del x
xadd x 1-0 data a
xadd x 2-0 data b
xadd x 3-0 data c
xadd x 4-0 data d
xadd x 5-0 data e
xgroup create x g1 0
xinfo groups x
xreadgroup group g1 c11 count 1 streams x >
xinfo groups x
xreadgroup group g1 c12 count 10 streams x >
xinfo groups x
xadd x 6-0 data f
xinfo groups x
del x
xadd x 1-0 data a
xadd x 2-0 data b
xadd x 3-0 data c
xadd x 4-0 data d
xadd x 5-0 data e
xdel x 3-0
xgroup create x g1 0
xgroup create x g2 0
xreadgroup group g1 c11 count 1 streams x >
xinfo groups x
xreadgroup group g1 c11 count 1 streams x >
xinfo groups x
xreadgroup group g1 c11 count 1 streams x >
xinfo groups x
xreadgroup group g2 c21 count 10 streams x >
xinfo groups x
# XAUTOCLAIM: deleted entries count toward COUNT; the cursor is the next PEL entry
del x
xadd x 1-0 f v
xadd x 2-0 f v
xadd x 3-0 f v
xgroup create x grp 0
xreadgroup group grp Alice streams x >
xdel x 1-0
xdel x 2-0
xautoclaim x grp Bob 0 0-0 count 1
xautoclaim x grp Bob 0 2-0 count 1
xautoclaim x grp Bob 0 0-0 count 5
xpending x grp
# XREADGROUP with an ID reads the consumer's history after that ID, not including it
xreadgroup group grp Bob streams x 0
xreadgroup group grp Bob streams x 2-0
xreadgroup group grp Bob streams x 3-0
xadd s 1-1 a 1
xadd s 1-2 b 2 c 3
xadd s 1-* d 4
xadd s 2 e 5
xadd s 1-1 x y
xadd s 0-0 x y
xadd s abc x y
xadd s 3-1 x
xadd nokey nomkstream 5-1 a b
exists nokey
xlen s
xlen nokey
xrange s - +
xrange s - + count 2
xrange s (1-2 +
xrange s 1 1
xrevrange s + - count 1
xrevrange s + (2-0
xrange s x +
xadd s maxlen 3 3-1 f 6
xlen s
xadd s maxlen ~ 1 4-1 g 7
xlen s
xadd s maxlen = 3 limit 2 5-1 h 8
xtrim s maxlen 2
xtrim s minid 5
xtrim s maxlen -1
xrange s - +
xdel s 4-1 9-9
xdel s bad
xread count 1 streams s 0
xread streams s nokey 0 0
xread streams s $
xread streams s
xgroup create s g1 0
xgroup create s g1 0
xgroup create nokey g 0
xgroup create nokey g $ mkstream
xadd s 6-1 i 9
xadd s 7-1 j 10
xreadgroup group g1 c1 count 1 streams s >
xreadgroup group g1 c2 streams s >
xreadgroup group g1 c1 streams s 0
xreadgroup group nog c1 streams s >
xpending s g1
xpending s nog
xack s g1 5-1 99-1
xpending s g1
xgroup createconsumer s g1 c3
xgroup createconsumer s g1 c3
xgroup delconsumer s g1 c2
xpending s g1
xclaim s g1 c3 0 6-1 justid
xautoclaim s g1 c1 0 0 count 10 justid
xgroup setid s g1 0
xgroup destroy s g1
xgroup destroy s g1
xinfo groups s
xgroup create s g2 $
xgroup create s g3 0 entriesread -1
xgroup create s g4 0 entriesread -2
xgroup create s g5 0 entriesread 2
xgroup setid s g5 $ entriesread -1
xinfo groups s
set str x
xadd str 1-1 a b
xlen str
xrange str - +
xsetid xs 5-0
xadd xs 1-1 a b
xsetid xs 0-1
xsetid xs -
xsetid xs 5-0
xsetid xs 6-0 entriesadded 0
xsetid xs 6-0 entriesadded -1
xsetid xs 6-0 entriesadded x
xsetid xs 6-0 entriesadded
xsetid xs 9-0 foo bar
xsetid xs 7-0 entriesadded 10 maxdeletedid 8-0
xsetid xs 7-0 entriesadded 10 maxdeletedid 3-0
xsetid xs 2-0
xlen xs
xadd xs 10-1 c d
xgroup create xs gl -
xgroup setid xs gl +
xgroup setid xs gl -
xreadgroup group gl c1 streams xs >
xsetid str 1-0
xgroup setid xs nosuch 0
xgroup createconsumer xs nosuch c
xgroup delconsumer xs nosuch c
xgroup setid nokey g 0
xgroup createconsumer nokey g c
xgroup destroy nokey g
xrange xs (18446744073709551615-18446744073709551615 +
xrange xs - (0-0
xrevrange xs (0-0 -
xrevrange xs + (18446744073709551615-18446744073709551615
xrange xs (- +
xrange xs - (+
xrange xs (1-1 (2-0
xpending xs gl (18446744073709551615-18446744073709551615 + 10
xpending xs gl - (0-0 10
xautoclaim xs gl c1 0 (18446744073709551615-18446744073709551615
"#;

const MISC: &str = r#"
# A known subcommand's arity is checked like a command's
xinfo help extra
xgroup help extra
client help extra
client getname extra
object encoding
memory usage
slowlog len extra
latency help extra
command count extra
config get
# FLUSHALL and FLUSHDB touch the watched keys that exist, not the others
del wx
watch wx
flushall
multi
ping
exec
watch wx
flushdb
multi
ping
exec
set wx 1
watch wx
flushdb
multi
ping
exec
# SWAPDB touches a watched key that exists in either DB
select 1
set swapped 1
select 0
watch swapped
swapdb 0 1
multi
ping
exec
swapdb 0 1
flushall
# A refused EXEC ends the transaction and says why (EXECABORT)
exec extra
multi
set t 1
exec extra
exec
get t
command getkeys mset a b c d e f
command getkeys get k
command getkeys eval "return 1" 3 k1 k2 k3 a1 a2
command getkeys eval "return 1" 0 a1
command getkeys eval "return 1" 5 k1
command getkeys evalsha abc -1
command getkeys zunionstore dst 2 z1 z2 weights 1 2
command getkeys zunion 2 z1 z2 withscores
command getkeys zinter 0 z1
command getkeys sintercard 2 s1 s2 limit 3
command getkeys lmpop 2 l1 l2 left count 2
command getkeys blmpop 0 2 l1 l2 right
command getkeys xread count 2 streams s1 s2 0 0
command getkeys xreadgroup group g c streams s1 >
command getkeys xread count 2
command getkeys sort k by w* get # limit 0 2 store out
command getkeys sort_ro k
command getkeys georadius g 0 0 1 km store dest
command getkeys migrate 127.0.0.1 6379 "" 0 100 copy keys a b
command getkeys migrate 127.0.0.1 6379 k 0 100
command getkeys object encoding k
command getkeys eval "return 1" x k1
command getkeys migrate 127.0.0.1 6379 "" 0 100
command getkeys migrate 127.0.0.1 6379 "" 0 100 keys
command getkeys xread streams s1 s2 s3
command getkeys sort k limit 0 1 store out
command getkeys georadiusbymember g m 1 km storedist d2
command getkeys georadius_ro g 0 0 1 km
command getkeys lmpop 0 left
command getkeys lmpop 5 l1 left
command getkeys zunionstore d 0 z
command getkeys ping
command getkeys ping a b c
command getkeys get
command getkeys
command getkeys nosuchcommand k
ping
ping hello
ping a b
echo hi
echo
foo bar baz
FOO
get a b
multi
set a 1
incr a
lpush a x
exec
get a
multi
set a 2
foo
exec
get a
multi
set a 3
get a b
exec
exec
discard
multi
multi
discard
watch a
unwatch
multi
watch a
discard
sort nokey
rpush sl 3 1 2 10
sort sl
sort sl desc
sort sl alpha
sort sl limit 1 2
rpush sa b c a
sort sa
sort sa alpha desc
mset w_1 3 w_2 1 w_3 2 w_10 0
sort sl by w_*
sort sl by w_* get # get w_*
sort sl by nosort
sort sl store dst
lrange dst 0 -1
sort sl foo
sort_ro sl limit 0 2
hset h_1 f 5
sort sl by h_*->f get h_*->f
sadd ss 3 1 2
sort ss
sort_ro ss store x
zadd zs 1 c 2 a 3 b
sort zs alpha
sort zs by nosort
publish ch msg
pubsub channels
pubsub numsub ch
pubsub numpat
pubsub foo
config get maxmemory-policy
config get maxmemory
config set maxmemory-policy bogus
config set foo bar
config set maxmemory-samples 0
config get notify-keyspace-events
config set notify-keyspace-events KEA
config get notify-keyspace-events
config set notify-keyspace-events Q
config set notify-keyspace-events ""
config get hash-max-ziplist-entries
config foo
client setname n1
client getname
client setname "a b"
client foo
client reply foo
lastsave
dbsize
flushall
dbsize
flushall async
flushall foo
object help
rpush sl a b c
sort sl by nosort desc
sort sl by nosort desc limit 0 2
zadd sz 1 a 5 b 2 c 10 d 3 e
sort sz by nosort desc
sort sz by nosort
sort sz by nosort desc limit 1 2
sort sz by nosort limit 4 10
sort sz by nosort desc limit 7 1
sadd ss 3 1 2
sort ss by nosort desc
sadd st c a b aa
sort st by nosort desc store sdst
lrange sdst 0 -1
sort st by _ store sdst
lrange sdst 0 -1
eval "return redis.call('sort',KEYS[1],'by','nosort','desc')" 1 st
config set maxmemory 1
multi
set oomk 1
get oomk
exec
multi
get oomk
discard
set oomk 1
get oomk
config set maxmemory 0
pfadd hll a b c
pfdebug encoding hll
pfdebug decode hll
pfdebug todense hll
pfdebug encoding hll
pfdebug decode hll
pfdebug todense hll
pfcount hll
pfadd hll2 x y
pfdebug getreg hll2
pfdebug encoding hll2
pfdebug foo hll
pfdebug encoding nokey
set notahll x
pfdebug encoding notahll
pfdebug getreg
pfselftest
eval "return redis.pcall('blpop','x',0)" 0
eval "return redis.pcall('brpop','x',0)" 0
eval "return redis.pcall('brpoplpush','x','y',0)" 0
eval "return redis.pcall('blmove','x','y','left','left',0)" 0
eval "return redis.pcall('bzpopmin','x',0)" 0
eval "return redis.pcall('bzpopmax','x',0)" 0
eval "return redis.pcall('blmpop',0,1,'x','left')" 0
eval "return redis.pcall('bzmpop',0,1,'x','min')" 0
"#;

const FUNCTIONS: &str = r##"
function flush
function list
function stats
function load "#!lua name=lib1\nredis.register_function('get1', function(keys, args) return redis.call('get', keys[1]) end)"
function load "#!lua name=lib1\nreturn 1"
function list
function list withcode
function list libraryname lib*
function list libraryname nope
function list libraryname
function list bogus
function list withcode withcode
set k v
fcall get1 1 k
fcall get1 0
fcall get1 1
fcall get1 x k
fcall get1 -1 k
fcall nope 0
fcall_ro get1 1 k
function load "#!lua name=lib2\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('strlen', keys[1]) end, flags={'no-writes', 'allow-oom'}, description='read only'}"
fcall_ro ro 1 k
fcall ro 1 k
function list libraryname lib2
function load "#!lua name=lib3\nredis.register_function{function_name='wr', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes'}}"
fcall wr 1 k x
get k
function load "#!lua name=lib4\nredis.register_function('w', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('incr', keys[1]) end)"
fcall w 1 n 41
fcall w 1 n x
get n
function load "#!lua name=lib5\nredis.register_function('t', function(keys, args) return {1, 'a', {2, 3}, true, false, 1.5, {ok='st'}} end)"
fcall t 0
function load "#!lua name=lib6\nredis.register_function('e', function() return redis.error_reply('MY err') end)\nredis.register_function('p', function() return redis.pcall('incr', 'k') end)\nredis.register_function('g', function() return nosuch end)"
fcall e 0
fcall p 0
fcall g 0
config set maxmemory 1
fcall w 1 n 5
fcall_ro ro 1 k
function load "#!lua name=oom\nredis.register_function('o', function() return 1 end)"
config set maxmemory 0
function stats
function load "#!lua name=lib1\nredis.register_function('other', function() return 1 end)"
function load replace "#!lua name=lib1\nredis.register_function('ro', function() return 1 end)"
function load replace "#!lua name=lib1\nredis.register_function('get2', function(keys) return redis.call('get', keys[1]) end)"
fcall get1 1 k
fcall get2 1 k
function load bogus "#!lua name=lib9\nredis.register_function('x', function() end)"
function load replace
function load "lua name=x\n"
function load "#!lua name=x"
function load "#!lua\nreturn 1"
function load "#!lua foo=bar\nreturn 1"
function load "#!lua name=a name=b\nreturn 1"
function load "#!lua name=a-b\nreturn 1"
function load "#!js name=x\nreturn 1"
function load "#!lua name=x\nreturn 1"
function load "#!lua name=x\nredis.call('set', 'a', 'b')"
function load "#!lua name=x\nlocal s = string.len('a')"
function load "#!lua name=x\nredis.register_function('f', function() end"
function load "#!lua name=x\nredis.register_function('a-b', function() end)"
function load "#!lua name=x\nredis.register_function('a', function() end)\nredis.register_function('a', function() end)"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags='no-writes'}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, other=1}"
function load "#!lua name=x\nredis.register_function{callback=function() end}"
function load "#!lua name=x\nredis.register_function{function_name='a'}"
function load "#!lua name=x\nredis.register_function{function_name=1, callback=function() end}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback='c'}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, description=1}"
function load "#!lua name=x\nredis.register_function('a')"
function load "#!lua name=x\nredis.register_function(1, function() end)"
function load "#!lua name=x\nredis.register_function('a', 'b')"
function load "#!lua name=x\nredis.register_function('a')"
function load "#!lua name=x\nredis.register_function(function() end)"
function load "#!lua name=x\nredis.register_function('a', function() end, 3)"
function load "#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading') redis.register_function('v', function() return redis.REDIS_VERSION end)"
fcall v 0
function load "#!lua name=y\nredis.register_function('gl', function() x = 1 end)"
fcall gl 0
function delete x
function delete y
function delete nope
function delete
function stats
function flush bogus
function flush async
function list
fcall get2 1 k
function load "#!lua name=z\nredis.register_function('z1', function() return 1 end)"
function flush sync
function stats
function dump extra
function restore
function restore bad
function restore bad bogus
function nosuch
function help extra
fcall
"##;

#[test]
fn differential_hand_written_groups() {
    let (ours, real) = servers();
    for (name, text) in [
        ("strings", STRINGS),
        ("keys", KEYS),
        ("lists", LISTS),
        ("hashes", HASHES),
        ("sets", SETS),
        ("zsets", ZSETS),
        ("bits", BITS),
        ("geo", GEO),
        ("streams", STREAMS),
        ("functions", FUNCTIONS),
        ("misc", MISC),
    ] {
        let mut p = Pair::new(ours.addr(), real.addr);
        p.run(&["flushall".into()]);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.script(text)));
        if let Err(e) = result {
            panic!(
                "group {name}: {}",
                e.downcast_ref::<String>().cloned().unwrap_or_default()
            );
        }
    }
}

/// Random commands over a small key and value space, several seeds; every reply must match.
#[test]
fn differential_generated_sequences() {
    let (ours, real) = servers();
    let keys = ["k1", "k2", "k3", "k4"];
    let vals = ["0", "1", "-3", "7", "2.5", "a", "b", "xyz", "", "10"];
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut p = Pair::new(ours.addr(), real.addr);
        p.run(&["flushall".into()]);
        for _ in 0..400 {
            let k = keys[rng.gen_range(0..keys.len())].to_string();
            let k2 = keys[rng.gen_range(0..keys.len())].to_string();
            let v = vals[rng.gen_range(0..vals.len())].to_string();
            let v2 = vals[rng.gen_range(0..vals.len())].to_string();
            let n = rng.gen_range(-3i64..5).to_string();
            let m = rng.gen_range(-3i64..5).to_string();
            let cmd: Vec<String> = match rng.gen_range(0..60) {
                0 => vec!["set".into(), k, v],
                1 => vec!["get".into(), k],
                2 => vec!["incr".into(), k],
                3 => vec!["incrby".into(), k, n],
                4 => vec!["append".into(), k, v],
                5 => vec!["del".into(), k, k2],
                6 => vec!["exists".into(), k, k2],
                7 => vec!["type".into(), k],
                8 => vec!["lpush".into(), k, v, v2],
                9 => vec!["rpush".into(), k, v],
                10 => vec!["lpop".into(), k],
                11 => vec!["rpop".into(), k, m],
                12 => vec!["lrange".into(), k, n, m],
                13 => vec!["lindex".into(), k, n],
                14 => vec!["lrem".into(), k, n, v],
                15 => vec!["ltrim".into(), k, n, m],
                16 => vec!["llen".into(), k],
                17 => vec!["lmove".into(), k, k2, "left".into(), "right".into()],
                18 => vec!["sadd".into(), k, v, v2],
                19 => vec!["srem".into(), k, v],
                20 => vec!["smembers".into(), k],
                21 => vec!["sismember".into(), k, v],
                22 => vec!["scard".into(), k],
                23 => vec!["sinter".into(), k, k2],
                24 => vec!["sunionstore".into(), k.clone(), k2, k],
                25 => vec!["sdiff".into(), k, k2],
                26 => vec!["hset".into(), k, v, v2],
                27 => vec!["hget".into(), k, v],
                28 => vec!["hdel".into(), k, v],
                29 => vec!["hgetall".into(), k],
                30 => vec!["hincrby".into(), k, v, n],
                31 => vec!["hlen".into(), k],
                32 => vec!["zadd".into(), k, n, v],
                33 => vec!["zincrby".into(), k, v2, v],
                34 => vec!["zrange".into(), k, n, m, "withscores".into()],
                35 => vec!["zrangebyscore".into(), k, n, m],
                36 => vec!["zrem".into(), k, v],
                37 => vec!["zscore".into(), k, v],
                38 => vec!["zrank".into(), k, v],
                39 => vec!["zcard".into(), k],
                40 => vec!["zunionstore".into(), k2.clone(), "2".into(), k, k2],
                41 => vec!["zpopmin".into(), k],
                42 => vec!["rename".into(), k, k2],
                43 => vec!["expire".into(), k, "100".into()],
                44 => vec!["persist".into(), k],
                45 => vec!["getrange".into(), k, n, m],
                46 => vec!["setrange".into(), k, rng.gen_range(0..4).to_string(), v],
                47 => vec!["strlen".into(), k],
                48 => vec!["incrbyfloat".into(), k, v],
                49 => vec![
                    "setbit".into(),
                    k,
                    rng.gen_range(0..20).to_string(),
                    rng.gen_range(0..2).to_string(),
                ],
                50 => vec!["bitcount".into(), k],
                51 => vec!["getset".into(), k, v],
                52 => vec!["mget".into(), k, k2],
                53 => vec!["linsert".into(), k, "before".into(), v, v2],
                54 => vec!["zremrangebyrank".into(), k, n, m],
                55 => vec!["zcount".into(), k, n, m],
                56 => vec!["hsetnx".into(), k, v, v2],
                57 => vec!["smove".into(), k, k2, v],
                58 => vec!["copy".into(), k, k2, "replace".into()],
                _ => vec!["dbsize".into()],
            };
            p.run(&cmd);
        }
        p.run(&["keys".into(), "*".into()]);
    }
}

#[test]
fn differential_protocol_and_inline() {
    let (ours, real) = servers();
    for raw in [
        &b"PING\r\n"[..],
        b"set a \"x y\"\r\nget a\r\n",
        b"*1\r\n$4\r\nPING\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"\r\n\r\nPING\r\n",
        b"*0\r\nPING\r\n",
    ] {
        let mut a = Client::connect(ours.addr());
        let mut b = Client::connect(real.addr);
        a.send_raw(raw);
        b.send_raw(raw);
        let n = raw.windows(2).filter(|w| w == b"\r\n").count();
        let expected = match raw {
            r if r.starts_with(b"*3") => 2,
            r if r.starts_with(b"set a") => 2,
            _ => 1,
        };
        let _ = n;
        for _ in 0..expected {
            assert_eq!(a.read(), b.read(), "raw {:?}", String::from_utf8_lossy(raw));
        }
    }
    // Protocol errors: same error text, then the connection is closed.
    for raw in [
        &b"*1\r\n+PING\r\n"[..],
        b"*abc\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$999999999999\r\n",
        b"set \"unbalanced\r\n",
    ] {
        let mut a = Client::connect(ours.addr());
        let mut b = Client::connect(real.addr);
        a.send_raw(raw);
        b.send_raw(raw);
        assert_eq!(a.read(), b.read(), "raw {:?}", String::from_utf8_lossy(raw));
        assert!(
            a.is_closed() && b.is_closed(),
            "closed after {:?}",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn differential_resp3() {
    let (ours, real) = servers();
    let mut p = Pair::new(ours.addr(), real.addr);
    let hello_ours = p.ours.cmd(&["HELLO", "3"]);
    let hello_real = p.real.cmd(&["HELLO", "3"]);
    assert!(matches!(hello_ours, Frame::Map(_)) && matches!(hello_real, Frame::Map(_)));
    p.script(
        r#"
        hset h a 1 b 2
        hgetall h
        zadd z 1.5 a 2 b
        zscore z a
        zrange z 0 -1 withscores
        zpopmin z 5
        sadd s 1 2
        smembers s
        get nokey
        lpop nokey 2
        config get maxmemory
        exists h
        zincrby z 1 a
        hello 4
        "#,
    );
}

/// CLIENT REPLY OFF/SKIP drop replies, but not subscription confirmations (redis pushes those
/// regardless), and SKIP under OFF leaves OFF in place.
#[test]
fn differential_client_reply_modes_and_pubsub() {
    let (ours, real) = servers();
    for resp3 in [false, true] {
        let mut a = Client::connect(ours.addr());
        let mut b = Client::connect(real.addr);
        if resp3 {
            for c in [&mut a, &mut b] {
                assert!(matches!(c.cmd(&["HELLO", "3"]), Frame::Map(_)));
            }
        }
        let raw = b"client reply off\r\nset k v\r\nsubscribe channel\r\npsubscribe ch*\r\n\
            client reply skip\r\nunsubscribe channel\r\nping\r\nclient reply on\r\nping\r\n";
        a.send_raw(raw);
        b.send_raw(raw);
        // Three confirmations; in RESP3 also the OK of CLIENT REPLY ON and PONG (in RESP2's
        // subscribed context CLIENT is refused, and that error is dropped too).
        for _ in 0..if resp3 { 5 } else { 3 } {
            assert_eq!(a.read(), b.read(), "resp3 {resp3}");
        }
        // Out of the subscribed context (RESP2 can only turn replies on from there): a
        // confirmation, OK, PONG, and nothing sent in between.
        let raw = b"punsubscribe\r\nclient reply on\r\nping\r\n";
        a.send_raw(raw);
        b.send_raw(raw);
        for _ in 0..3 {
            assert_eq!(a.read(), b.read(), "resp3 {resp3}: after leaving");
        }
    }
}

/// TYPE, EXISTS and the TTL family read a key without touching it (OBJECT IDLETIME keeps
/// growing) but count keyspace hits and misses; GET touches it.
#[test]
fn differential_reads_that_do_not_touch_the_key() {
    let (ours, real) = servers();
    let mut p = Pair::new(ours.addr(), real.addr);
    p.script("set idle v\nconfig resetstat");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    p.script("type idle\nexists idle nokey\nttl idle\npttl idle\nexpiretime idle\ntype nokey");
    for server in [ours.addr(), real.addr] {
        let mut c = Client::connect(server);
        let Frame::Bulk(info) = c.cmd(&["INFO", "stats"]) else {
            panic!("INFO")
        };
        let info = String::from_utf8_lossy(&info);
        assert!(info.contains("keyspace_hits:5\r\n"), "{server}: {info}");
        assert!(info.contains("keyspace_misses:2\r\n"), "{server}: {info}");
        let idle = c.cmd(&["OBJECT", "IDLETIME", "idle"]);
        assert!(
            matches!(idle, Frame::Int(n) if n >= 2),
            "{server}: {idle:?}"
        );
        c.cmd(&["GET", "idle"]);
        assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "idle"]), Frame::Int(0));
    }
}

/// A consumer blocked in XREADGROUP is told when its stream is deleted or replaced, or its
/// group destroyed, instead of waiting forever.
#[test]
fn differential_blocked_xreadgroup_when_the_stream_goes() {
    let (ours, real) = servers();
    for ending in [
        vec!["DEL", "bs"],
        vec!["SET", "bs", "x"],
        vec!["XGROUP", "DESTROY", "bs", "g"],
        vec!["FLUSHDB"],
        vec!["FLUSHALL"],
    ] {
        let mut replies = Vec::new();
        for server in [ours.addr(), real.addr] {
            let mut c = Client::connect(server);
            c.cmd(&["DEL", "bs"]);
            c.cmd(&["XADD", "bs", "1-1", "f", "v"]);
            c.cmd(&["XGROUP", "CREATE", "bs", "g", "$"]);
            let mut blocked = Client::connect(server);
            blocked.send(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "BLOCK",
                "0",
                "STREAMS",
                "bs",
                ">",
            ]);
            // Wait until it is blocked.
            for _ in 0..500 {
                let n = info_field(&mut c, "clients", "blocked_clients").unwrap();
                if n == "1" {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            c.cmd(&ending);
            replies.push(blocked.read());
        }
        assert_eq!(replies[0], replies[1], "after {ending:?}");
        assert!(matches!(&replies[0], Frame::Error(_)), "{replies:?}");
    }
}

/// Out of memory, EXEC of a transaction holding a command that may grow memory is refused
/// (EXECABORT ... OOM) and the transaction ends; one of reads only still runs.
#[test]
fn differential_exec_out_of_memory() {
    let (ours, real) = servers();
    let mut p = Pair::new(ours.addr(), real.addr);
    let mut admins = [Client::connect(ours.addr()), Client::connect(real.addr)];
    let maxmemory = |admins: &mut [Client; 2], v: &str| {
        for a in admins.iter_mut() {
            assert_eq!(
                a.cmd(&["CONFIG", "SET", "maxmemory", v]),
                Frame::Simple(b"OK".to_vec())
            );
        }
    };
    p.script("set x value\nmulti\nget x\nping");
    maxmemory(&mut admins, "1");
    p.script("exec");
    maxmemory(&mut admins, "0");
    p.script("multi\nset x 1\nget x");
    maxmemory(&mut admins, "1");
    p.script("exec\nping");
    maxmemory(&mut admins, "0");
    p.script("get x");
}

/// Keyspace notifications seen by a subscriber: `new` events (the `n` flag, sent before the
/// command's own event) and the events of stream consumer groups (a consumer created by
/// XREADGROUP or XCLAIM is an event; reads and claims are not).
#[test]
fn differential_keyspace_events_new_keys_and_streams() {
    let (ours, real) = servers();
    let mut p = Pair::new(ours.addr(), real.addr);
    let mut subs = [Client::connect(ours.addr()), Client::connect(real.addr)];
    for (flags, script) in [
        (
            "En",
            "set foo bar\nset foo baz\nset bar bar\nlpush l a\nlpush l b\nrename l l2\ndel foo\nset foo x",
        ),
        ("KEAn", "set a 1\nset a 2\nsadd s x\nsadd s y\nincr n\nhset h f v"),
        (
            "Kt",
            "xgroup create mystream mygroup $ mkstream\n\
             xgroup createconsumer mystream mygroup Bob\n\
             xadd mystream 1 field1 A\n\
             xreadgroup group mygroup Alice streams mystream >\n\
             xclaim mystream mygroup Mike 0 1-0 force\n\
             xclaim mystream mygroup Nobody 3600000 1-0\n\
             xgroup delconsumer mystream mygroup Lee\n\
             xautoclaim mystream mygroup Bob 0 1-0\n\
             xgroup delconsumer mystream mygroup Bob\n\
             xinfo groups mystream",
        ),
    ] {
        p.script(&format!("flushall\nconfig set notify-keyspace-events {flags}"));
        for s in subs.iter_mut() {
            s.cmd(&["PSUBSCRIBE", "*"]);
        }
        p.script(script);
        p.script("publish sentinel done");
        let mut seen: Vec<Vec<Frame>> = Vec::new();
        for s in subs.iter_mut() {
            let mut events = Vec::new();
            loop {
                let f = s.read();
                if f == Frame::Array(vec![bulk("pmessage"), bulk("*"), bulk("sentinel"), bulk("done")]) {
                    break;
                }
                events.push(f);
            }
            s.cmd(&["PUNSUBSCRIBE", "*"]);
            seen.push(events);
        }
        let show = |v: &[Frame]| v.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n  ");
        assert!(
            seen[0] == seen[1],
            "notify-keyspace-events {flags}\n ours:\n  {}\n redis:\n  {}",
            show(&seen[0]),
            show(&seen[1])
        );
    }
    p.script("config set notify-keyspace-events \"\"");
}
