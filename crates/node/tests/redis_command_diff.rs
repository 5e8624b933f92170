//! COMMAND GETKEYSANDFLAGS, COMMAND LIST (with `container|sub` names and FILTERBY) and
//! `maxclients`, against redis-server 7.0.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::collections::BTreeSet;

/// One line of each key-spec shape: flags of the first key and of the others, commands that
/// choose their flags from their arguments (SET, BITFIELD), keys found by count or keyword,
/// container subcommands, and the errors.
const GETKEYSANDFLAGS: &str = r#"
get k
mget a b c
set k v
set k v nx get
set k v ex 10
setnx k v
msetnx a 1 b 2
mset a 1 b 2
getdel k
getex k persist
incr k
append k v
del a b
unlink a b
exists a b
touch a b
lmove src dst left right
blmove src dst left right 0
rpoplpush src dst
smove src dst m
rename a b
renamenx a b
copy a b
sort k
sort k by w get o store dst
sort_ro k by w
bitop and dst a b
bitfield k get u8 0
bitfield k set u8 0 1
bitfield k overflow sat get u8 0
bitfield k incrby u8 0 1
bitfield_ro k get u8 0
zunionstore dst 2 a b weights 1 2
zinterstore dst 2 a b
zdiffstore dst 2 a b
zrangestore dst src 0 -1
sinterstore dst a b
sunionstore dst a b
sdiffstore dst a b
geosearchstore dst src fromlonlat 0 0 byradius 1 km
georadius k 0 0 1 km store dst
georadiusbymember k m 1 km storedist dst
pfmerge dst a b
pfcount a b
pfadd k a
lmpop 2 a b left
blmpop 0 2 a b left
zmpop 2 a b min
bzmpop 0 2 a b min
blpop a b 0
bzpopmin a b 0
zunion 2 a b
sintercard 2 a b
eval "return 1" 2 a b
evalsha abc 1 a
eval_ro "return 1" 1 a
xread streams s1 s2 0 0
xreadgroup group g c streams s 0
xadd s * f v
xgroup create s g $
xgroup createconsumer s g c
xgroup destroy s g
xinfo stream s
object encoding k
memory usage k
migrate h 1 k 0 1
migrate h 1 "" 0 1 keys a b
migrate h 1 k 0 1 keys a b
restore k 0 payload
expire k 10
hset h f v
hincrby h f 1
hdel h f
lpush l a
linsert l before a b
lrem l 0 a
ltrim l 0 1
sadd s m
spop s
zadd z 1 m
zrem z m
watch a b
dump k
lcs a b
ping
config get maxmemory
xgroup help
get
set k
zunionstore dst 0 a
object encoding
object nosuch k
nosuch k
"#;

fn flags_of(c: &mut Client, line: &str) -> Frame {
    let mut argv: Vec<Vec<u8>> = vec![b"COMMAND".to_vec(), b"GETKEYSANDFLAGS".to_vec()];
    argv.extend(
        resp::request::split_args(line.as_bytes())
            .expect("valid line")
            .iter()
            .map(|a| a.to_vec()),
    );
    c.cmd(&argv)
}

#[test]
fn getkeysandflags_matches_redis() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    let mut ours = Client::connect(node.addr());
    let mut theirs = Client::connect(real.addr);
    for line in GETKEYSANDFLAGS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (a, b) = (flags_of(&mut ours, line), flags_of(&mut theirs, line));
        assert_eq!(
            a, b,
            "COMMAND GETKEYSANDFLAGS {line}\n  ours:  {a}\n  redis: {b}"
        );
    }
    // GETKEYS agrees with the same key specs.
    for line in [
        "object encoding k",
        "memory usage k samples 5",
        "xinfo stream s",
    ] {
        let mut argv: Vec<&str> = vec!["COMMAND", "GETKEYS"];
        argv.extend(line.split(' '));
        assert_eq!(ours.cmd(&argv), theirs.cmd(&argv), "{line}");
    }
    // Arity of the subcommand itself.
    for argv in [
        vec!["COMMAND", "GETKEYSANDFLAGS"],
        vec!["COMMAND", "GETKEYSANDFLAGS", "get"],
        vec!["COMMAND", "GETKEYS", "object"],
    ] {
        assert_eq!(ours.cmd(&argv), theirs.cmd(&argv), "{argv:?}");
    }
}

fn names(f: Frame) -> BTreeSet<String> {
    match f {
        Frame::Array(v) => v
            .into_iter()
            .map(|x| String::from_utf8_lossy(x.as_bytes().expect("bulk name")).to_string())
            .collect(),
        other => panic!("not a list: {other}"),
    }
}

/// What redis-server 7.0 has and we do not (FUNCTION, cluster-only, sharded pub/sub, debug
/// helpers), and what we have beyond 7.0 (CLIENT SETINFO/NO-TOUCH, from 7.2).
const ONLY_REDIS: &[&str] = &[
    "asking",
    "failover",
    "fcall",
    "fcall_ro",
    "function",
    "function|delete",
    "function|dump",
    "function|flush",
    "function|help",
    "function|kill",
    "function|list",
    "function|load",
    "function|restore",
    "function|stats",
    "latency|graph",
    "pfdebug",
    "pfselftest",
    "restore-asking",
    "spublish",
    "ssubscribe",
    "sunsubscribe",
    "xsetid",
];
const ONLY_OURS: &[&str] = &["client|no-touch", "client|setinfo"];

#[test]
fn command_list_matches_redis() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    let mut ours = Client::connect(node.addr());
    let mut theirs = Client::connect(real.addr);
    let known_difference =
        |name: &String| ONLY_REDIS.contains(&name.as_str()) || ONLY_OURS.contains(&name.as_str());
    let list = |c: &mut Client, extra: &[&str]| {
        let mut argv = vec!["COMMAND", "LIST"];
        argv.extend_from_slice(extra);
        names(c.cmd(&argv))
    };
    let a = list(&mut ours, &[]);
    let b = list(&mut theirs, &[]);
    assert!(a.len() > 300, "{} names", a.len());
    let diff: Vec<&String> = a.symmetric_difference(&b).collect();
    assert!(
        diff.iter().all(|n| known_difference(n)),
        "COMMAND LIST differs beyond the known commands: {diff:?}"
    );
    assert!(a.contains("config|get") && a.contains("client|list") && a.contains("get"));
    // COUNT counts the commands, not their subcommands.
    let top = a.iter().filter(|n| !n.contains('|')).count() as i64;
    assert_eq!(ours.cmd(&["COMMAND", "COUNT"]), int(top));
    for filter in [
        &["FILTERBY", "PATTERN", "config*"][..],
        &["FILTERBY", "PATTERN", "*get*"],
        &["FILTERBY", "PATTERN", "CLIENT|*"],
        &["FILTERBY", "ACLCAT", "string"],
        &["FILTERBY", "ACLCAT", "hash"],
        &["FILTERBY", "ACLCAT", "nosuchcategory"],
        &["FILTERBY", "MODULE", "fakemod"],
    ] {
        let a = list(&mut ours, filter);
        let b = list(&mut theirs, filter);
        let diff: Vec<&String> = a.symmetric_difference(&b).collect();
        assert!(
            diff.iter().all(|n| known_difference(n)),
            "COMMAND LIST {filter:?}: {diff:?}"
        );
    }
    for bad in [
        &["FILTERBY"][..],
        &["FILTERBY", "FOO", "x"],
        &["x"],
        &["FILTERBY", "PATTERN", "c*", "extra"],
        &["FILTERBY", "ACLCAT", "list", "PATTERN", "l*"],
    ] {
        let mut argv = vec!["COMMAND", "LIST"];
        argv.extend_from_slice(bad);
        assert_eq!(ours.cmd(&argv), theirs.cmd(&argv), "{argv:?}");
    }
    assert_eq!(
        ours.cmd(&["COMMAND", "COUNT", "x"]),
        theirs.cmd(&["COMMAND", "COUNT", "x"])
    );
    // COMMAND INFO knows subcommands by their full name, and lists a container's subcommands.
    let info = |c: &mut Client, name: &str| match c.cmd(&["COMMAND", "INFO", name]) {
        Frame::Array(mut v) => v.remove(0),
        other => panic!("{other}"),
    };
    for name in [
        "config|get",
        "client|tracking",
        "object|encoding",
        "nosuch|x",
    ] {
        let (a, b) = (info(&mut ours, name), info(&mut theirs, name));
        let head = |f: &Frame| match f {
            Frame::Array(v) => v[..2].to_vec(),
            other => vec![other.clone()],
        };
        assert_eq!(head(&a), head(&b), "COMMAND INFO {name}");
    }
    let subs = |f: Frame| match f {
        Frame::Array(v) => names(Frame::Array(
            match &v[9] {
                Frame::Array(s) => s.iter().map(|e| match e {
                    Frame::Array(x) => x[0].clone(),
                    o => o.clone(),
                }),
                o => panic!("{o}"),
            }
            .collect(),
        )),
        other => panic!("{other}"),
    };
    assert_eq!(
        subs(info(&mut ours, "config")),
        subs(info(&mut theirs, "config"))
    );
}

/// `maxclients`: a connection beyond the limit gets redis's error and is closed; counted in
/// `rejected_connections`; CONFIG SET changes the limit at runtime.
#[test]
fn maxclients_is_enforced_like_redis() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    for (who, addr) in [("ours", node.addr()), ("redis", real.addr)] {
        let mut admin = Client::connect(addr);
        let open = match admin.cmd(&["INFO", "clients"]) {
            Frame::Bulk(b) => String::from_utf8_lossy(&b)
                .lines()
                .find_map(|l| l.strip_prefix("connected_clients:").map(str::to_string))
                .expect("connected_clients")
                .trim()
                .parse::<usize>()
                .unwrap(),
            other => panic!("{other}"),
        };
        let limit = open + 2;
        assert_eq!(
            admin.cmd(&["CONFIG", "SET", "maxclients", &limit.to_string()]),
            simple("OK"),
            "{who}"
        );
        assert_eq!(
            admin.cmd(&["CONFIG", "GET", "maxclients"]),
            Frame::Array(vec![bulk("maxclients"), bulk(&limit.to_string())])
        );
        let mut kept: Vec<Client> = (0..2).map(|_| Client::connect(addr)).collect();
        for c in kept.iter_mut() {
            assert_eq!(c.cmd(&["PING"]), simple("PONG"), "{who}");
        }
        let mut refused = Client::connect(addr);
        assert_eq!(
            refused.read(),
            Frame::Error(b"ERR max number of clients reached".to_vec()),
            "{who}"
        );
        assert!(refused.is_closed(), "{who}: refused connection closed");
        assert_eq!(
            info_field(&mut admin, "stats", "rejected_connections").as_deref(),
            Some("1"),
            "{who}"
        );
        // Room again once a client leaves, and when the limit is raised.
        drop(kept.pop());
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut again = Client::connect(addr);
        assert_eq!(again.cmd(&["PING"]), simple("PONG"), "{who}");
        assert_eq!(
            admin.cmd(&["CONFIG", "SET", "maxclients", &(limit + 1).to_string()]),
            simple("OK")
        );
        let mut more = Client::connect(addr);
        assert_eq!(more.cmd(&["PING"]), simple("PONG"), "{who}");
        // Bad values change nothing.
        let bad = admin.cmd(&["CONFIG", "SET", "maxclients", "-1"]);
        assert!(bad.is_error(), "{who}: {bad}");
        assert_eq!(
            admin.cmd(&["CONFIG", "GET", "maxclients"]),
            Frame::Array(vec![bulk("maxclients"), bulk(&(limit + 1).to_string())])
        );
    }
}
