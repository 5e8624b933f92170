//! ACL users, differential: the same sequences run against our node (in-process) and a real
//! `redis-server` 7.0, over several connections each (an admin and the users it creates),
//! replies compared frame by frame.
//!
//! Normalised only where redis gives no fixed answer: the order of single-command rules in a
//! rule text (redis walks its command dict in a random per-process order, so `-@all +get +set`
//! may come out as `-@all +set +get`), ACL LOG ages and the per-process parts of its client
//! lines (ids, addresses), GENPASS output (random), and ACL CAT lists (order of redis's dict;
//! ours lists only the commands this node serves).

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::collections::HashMap;
use std::net::SocketAddr;

struct Side {
    addr: SocketAddr,
    conns: HashMap<String, Client>,
}

impl Side {
    fn conn(&mut self, name: &str) -> &mut Client {
        let addr = self.addr;
        self.conns
            .entry(name.to_string())
            .or_insert_with(|| Client::connect(addr))
    }
}

struct Diff {
    ours: Side,
    real: Side,
    /// Commands our node serves (ACL CAT on redis is filtered to these).
    served: Vec<String>,
    log: Vec<String>,
}

/// Sorts the words of each part of a rule text (the root rules, each `(selector)`), which
/// makes the order of single-command rules irrelevant and keeps everything else compared.
fn sort_rules(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let mut parts = Vec::new();
    for part in text.split('(') {
        let mut words: Vec<&str> = part.split_whitespace().collect();
        words.sort();
        parts.push(words.join(" "));
    }
    parts.join(" (").into_bytes()
}

/// The fields of a CLIENT LIST line that mean the same thing on both servers. Not `cmd`, which
/// is `client` here and `client|list` on redis (our clients record the command, not the
/// subcommand), nor `flags`/`multi`, which redis still shows as in MULTI while EXEC runs.
fn client_fields(line: &[u8]) -> Vec<u8> {
    let line = String::from_utf8_lossy(line);
    let keep = ["name", "db", "sub", "psub", "user", "resp"];
    line.split_whitespace()
        .filter(|kv| keep.iter().any(|k| kv.split('=').next() == Some(k)))
        .collect::<Vec<_>>()
        .join(" ")
        .into_bytes()
}

fn is_rule_text(b: &[u8]) -> bool {
    let s = String::from_utf8_lossy(b);
    s.contains("+@all") || s.contains("-@all")
}

/// RESP3 maps as flat arrays and sets as sorted arrays, so one normalisation serves both.
fn flatten(f: Frame) -> Frame {
    match f {
        Frame::Map(kv) => Frame::Array(
            kv.into_iter()
                .flat_map(|(k, v)| [flatten(k), flatten(v)])
                .collect(),
        ),
        Frame::Set(mut v) => {
            v.sort_by_key(|x| format!("{x}"));
            Frame::Array(v.into_iter().map(flatten).collect())
        }
        Frame::Array(v) => Frame::Array(v.into_iter().map(flatten).collect()),
        f => f,
    }
}

fn normalise(cmd: &[String], f: Frame, served: &[String]) -> Frame {
    let sub = |i: usize| {
        cmd.get(i)
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default()
    };
    match (sub(0).as_str(), sub(1).as_str(), flatten(f)) {
        ("acl", "list" | "getuser", Frame::Array(v)) => Frame::Array(
            v.into_iter()
                .map(|x| match x {
                    Frame::Bulk(b) if is_rule_text(&b) => Frame::Bulk(sort_rules(&b)),
                    Frame::Array(inner) => Frame::Array(
                        inner
                            .into_iter()
                            .map(|y| match y {
                                Frame::Bulk(b) if is_rule_text(&b) => Frame::Bulk(sort_rules(&b)),
                                y => y,
                            })
                            .collect(),
                    ),
                    x => x,
                })
                .collect(),
        ),
        ("acl", "log", Frame::Array(entries)) => Frame::Array(
            entries
                .into_iter()
                .map(|e| match e {
                    Frame::Array(kv) => {
                        let mut out = Vec::new();
                        for pair in kv.chunks(2) {
                            let key = pair[0].as_bytes().unwrap_or_default().to_vec();
                            let value = match key.as_slice() {
                                b"age-seconds" => Frame::Bulk(b"<age>".to_vec()),
                                b"client-info" => Frame::Bulk(client_fields(
                                    pair[1].as_bytes().unwrap_or_default(),
                                )),
                                _ => pair[1].clone(),
                            };
                            out.push(pair[0].clone());
                            out.push(value);
                        }
                        Frame::Array(out)
                    }
                    e => e,
                })
                .collect(),
        ),
        ("acl", "genpass", Frame::Bulk(b)) => Frame::Int(b.len() as i64),
        // HELLO's client id is per process.
        ("hello", _, Frame::Array(mut v)) => {
            if let Some(i) = v.iter().position(|x| x.as_bytes() == Some(b"id")) {
                v[i + 1] = Frame::Int(0);
            }
            Frame::Array(v)
        }
        ("acl", "cat", Frame::Array(mut v)) if cmd.len() == 3 => {
            v.retain(|x| {
                let name = String::from_utf8_lossy(x.as_bytes().unwrap_or_default()).to_string();
                let top = name.split('|').next().unwrap_or_default().to_string();
                served.contains(&top)
            });
            v.sort_by_key(|x| format!("{x}"));
            Frame::Array(v)
        }
        ("client", "list" | "info", Frame::Bulk(b))
        | ("client", "list" | "info", Frame::Verbatim(b)) => {
            let lines: Vec<Vec<u8>> = b
                .split(|&c| c == b'\n')
                .filter(|l| !l.is_empty())
                .map(client_fields)
                .collect();
            Frame::Array(lines.into_iter().map(Frame::Bulk).collect())
        }
        (_, _, f) => f,
    }
}

impl Diff {
    fn new(ours: SocketAddr, real: SocketAddr) -> Diff {
        let mut d = Diff {
            ours: Side {
                addr: ours,
                conns: HashMap::new(),
            },
            real: Side {
                addr: real,
                conns: HashMap::new(),
            },
            served: Vec::new(),
            log: Vec::new(),
        };
        if let Frame::Array(v) = d.ours.conn("admin").cmd(&["COMMAND", "LIST"]) {
            d.served = v
                .iter()
                .map(|x| String::from_utf8_lossy(x.as_bytes().unwrap_or_default()).to_string())
                .collect();
        }
        d
    }

    fn fail(&self, what: &str, ours: &Frame, real: &Frame) -> ! {
        let tail: Vec<&String> = self.log.iter().rev().take(12).collect();
        panic!("{what}\n  ours:  {ours}\n  redis: {real}\nlast commands (newest first): {tail:#?}");
    }

    /// One script line: `[@conn] command args...` (connection `admin` by default), or
    /// `@conn !closed` (the server closed it) / `@conn !reconnect` (a fresh connection).
    fn line(&mut self, line: &str) {
        let (conn, rest) = match line.strip_prefix('@') {
            Some(l) => l.split_once(' ').expect("connection and command"),
            None => ("admin", line),
        };
        self.log.push(format!("@{conn} {rest}"));
        match rest.trim() {
            "!closed" => {
                let a = self.ours.conn(conn).is_closed();
                let b = self.real.conn(conn).is_closed();
                assert!(
                    a && b,
                    "@{conn} closed: ours {a}, redis {b}; log {:#?}",
                    self.log
                );
                self.ours.conns.remove(conn);
                self.real.conns.remove(conn);
                return;
            }
            "!reconnect" => {
                self.ours.conns.remove(conn);
                self.real.conns.remove(conn);
                return;
            }
            _ => {}
        }
        let argv = resp::request::split_args(rest.as_bytes()).expect("valid test line");
        let args: Vec<String> = argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        let a = self.ours.conn(conn).cmd(&args);
        let b = self.real.conn(conn).cmd(&args);
        let (na, nb) = (
            normalise(&args, a.clone(), &self.served),
            normalise(&args, b.clone(), &self.served),
        );
        if na != nb {
            self.fail(&format!("reply mismatch for @{conn} {rest}"), &a, &b);
        }
    }

    fn script(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.line(line);
        }
    }
}

fn diff(ours_args: &[&str], real_args: &[&str]) -> (node::redis::RedisNode, RealRedis, Diff) {
    let ours = start_ours(ours_args);
    let real = start_real(real_args);
    let d = Diff::new(ours.addr(), real.addr);
    (ours, real, d)
}

#[test]
fn rules_and_their_descriptions() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
acl users
acl list
acl getuser default
acl getuser nobody
acl whoami
acl setuser alice
acl getuser alice
acl setuser alice on >p1 >p2 ~k* %R~r* %W~w* %RW~rw* &ch &news.* +get +set +@hash -hdel +select|0 +select|1 +config|get
acl getuser alice
acl list
acl users
acl setuser alice <p1 #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
acl getuser alice
acl setuser alice !ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
acl getuser alice
acl setuser alice resetkeys allkeys resetchannels allchannels
acl getuser alice
acl setuser alice nopass
acl getuser alice
acl setuser alice resetpass skip-sanitize-payload
acl getuser alice
acl setuser alice reset
acl getuser alice
acl setuser bob on nopass allcommands -@dangerous -@admin +config|get allkeys
acl list
acl setuser bob -@all +@read +@write -@keyspace +del
acl getuser bob
acl setuser bob +@all -config|set -debug -client|kill
acl getuser bob
acl setuser carol on (+get ~a*) (+set ~b* &c) "(+del ~x" "~y)"
acl getuser carol
acl list
acl setuser carol clearselectors
acl getuser carol
acl setuser dave on nocommands +acl|whoami +client
acl getuser dave
acl setuser dave -client|id
acl getuser dave
# errors: nothing is applied
acl setuser alice on +bogus ~z
acl getuser alice
acl setuser alice +@bogus
acl setuser alice +config|get|x
acl setuser alice +select|
acl setuser alice -select|0
acl setuser alice %X~k
acl setuser alice "~a b"
acl setuser alice allkeys ~k
acl setuser alice allchannels &c
acl setuser alice <neverset
acl setuser alice #abc
acl setuser alice !ABCDEF
acl setuser alice what
acl setuser alice "(+get" ~k
acl setuser "a b"
acl setuser alice ""
acl getuser alice
acl deluser default
acl deluser alice nobody bob
acl deluser alice
acl users
acl cat
acl cat read
acl cat Dangerous
acl cat keyspace
acl cat pubsub
acl cat nosuch
acl genpass
acl genpass 5
acl genpass 0
acl genpass 4097
acl genpass x
acl load
acl save
acl log x
acl nosuch
acl getuser
acl setuser
"#,
    );
}

#[test]
fn authentication() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
auth x
auth default x
auth nobody x
acl setuser alice on >pw +@all ~*
@u auth alice nope
@u auth alice pw
@u acl whoami
@u auth default whatever
@u acl whoami
@u auth alice pw
acl setuser alice off
@u auth alice pw
@u acl whoami
@u ping
acl setuser nopassuser on nopass +acl|whoami
@v auth nopassuser anything
@v acl whoami
@v get k
acl log
acl log 1
@h hello 3 auth alice pw
acl setuser alice on
@h !reconnect
@h hello 2 auth alice pw setname hc
@h acl whoami
@h client getname
@h hello 2 auth alice wrong
@h acl whoami
acl log 2
acl log reset
acl log
@h reset
@h acl whoami
"#,
    );
}

#[test]
fn requirepass_is_the_default_users_password() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
config set requirepass secret
acl list
acl getuser default
@n ping
@n auth wrong
@n auth secret
@n ping
@n auth default secret
@n acl whoami
acl setuser default >second
@m auth second
@m ping
config set maxmemory 0
@m2 auth second
@m2 ping
config set requirepass ""
acl list
@fresh ping
acl setuser default resetpass
@fresh2 ping
@fresh2 auth default x
@fresh2 hello 2
acl setuser default nopass
"#,
    );
}

#[test]
fn command_key_and_channel_permissions() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
set k1 v
set r1 v
set w1 v
acl setuser u on nopass ~k* %R~r* %W~w* &news.* +@read +set +copy +lmove +publish +subscribe +psubscribe +config|get +select|0 +object|encoding +multi +exec +discard +eval +evalsha -keys
@u auth u x
@u get k1
@u get r1
@u get w1
@u get other
@u set k1 v2
@u set r1 v2
@u set w1 v2
@u set other v2
@u mget k1 r1
@u mget k1 w1
@u copy r1 w2
@u copy w1 k2
@u copy r1 r2
@u lmove k1 w1 left left
@u del k1
@u keys *
@u config get maxmemory
@u config set maxmemory 0
@u config resetstat
@u select 0
@u select 1
@u object encoding k1
@u object encoding other
@u object freq k1
@u publish news.1 hi
@u publish sports hi
@u ping
@u acl whoami
@u flushall
@u info server
@u lastsave
acl dryrun u get k1
acl dryrun u get other
acl dryrun u set r1 x
acl dryrun u publish news.x m
acl dryrun u publish other m
acl dryrun u config set maxmemory 1
acl dryrun u config get maxmemory
acl dryrun u nosuch
acl dryrun nobody get k
acl dryrun u get
acl dryrun u set a
acl dryrun u subscribe news.1 other
acl dryrun u psubscribe news.* other.*
acl dryrun u psubscribe news.
acl log 3
acl log
"#,
    );
}

#[test]
fn pubsub_channels() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
acl setuser s on nopass allcommands allkeys &news.* &sport
@s auth s x
@s subscribe news.1 sport
@s2 auth s x
@s2 subscribe other
@s3 auth s x
@s3 psubscribe news.*
@s4 auth s x
@s4 psubscribe news.1*
@s5 auth s x
@s5 publish news.2 hi
@s5 publish nope hi
acl setuser s &more
@s5 ping
acl setuser s resetchannels &sport
@s !closed
@s3 !closed
@s5 ping
acl setuser s allchannels
@s5 publish anything hi
"#,
    );
}

#[test]
fn transactions_and_scripts() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
set k1 v
acl setuser u on nopass ~k* +get +set +multi +exec +discard +eval +evalsha +eval_ro
@u auth u x
@u multi
@u get k1
@u del k1
@u get other
@u exec
@u multi
@u set k1 a
@u get k1
acl setuser u -set
@u exec
@u multi
@u get k1
acl setuser u resetkeys ~j*
@u exec
acl setuser u resetkeys ~k*
@u eval "return redis.call('get', KEYS[1])" 1 k1
@u eval "return redis.call('get', KEYS[1])" 1 other
@u eval "return redis.call('del', KEYS[1])" 1 k1
@u eval "return redis.pcall('del', KEYS[1])" 1 k1
@u eval "return redis.call('get', 'x')" 0
@u eval "return redis.acl_check_cmd('get', 'k1')" 0
@u eval "return redis.acl_check_cmd('get', 'x1')" 0
@u eval "return redis.acl_check_cmd('del', 'k1')" 0
@u eval "return redis.acl_check_cmd('nosuch')" 0
@u eval_ro "return redis.call('get', KEYS[1])" 1 k1
eval "return redis.acl_check_cmd('del', 'k1')" 0
acl log
"#,
    );
}

#[test]
fn deleted_users_lose_their_connections() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
acl setuser a on nopass +@all ~*
acl setuser b on nopass +@all ~*
@a1 auth a x
@a1 client setname a1
@a2 auth a x
@b auth b x
@b client setname bee
@b acl whoami
client list
client kill user nobody
client kill user b
client list
@b !closed
acl deluser a
@a1 !closed
@a2 !closed
client list
acl setuser c on nopass +@all ~*
@c auth c x
@c acl deluser c
@c !closed
acl users
"#,
    );
}

/// Which key of a multi-key command needs read and which write access: each key spec of redis's
/// command table, asked with ACL DRYRUN (no data needed) for a user who may read `src*` and
/// write `dst*` only.
#[test]
fn read_and_write_key_permissions_per_key_spec() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
acl setuser rw on nopass +@all %R~src* %W~dst* ~both*
acl dryrun rw get src1
acl dryrun rw get dst1
acl dryrun rw set dst1 v
acl dryrun rw set src1 v
acl dryrun rw set dst1 v get
acl dryrun rw set both1 v get
acl dryrun rw exists src1 dst1 other
acl dryrun rw del src1
acl dryrun rw del dst1
acl dryrun rw copy src1 dst1
acl dryrun rw copy dst1 src1
acl dryrun rw rename src1 dst1
acl dryrun rw rename both1 dst1
acl dryrun rw smove both1 both2 m
acl dryrun rw lmove src1 dst1 left right
acl dryrun rw rpoplpush both1 dst1
acl dryrun rw blmove both1 dst1 left right 0
acl dryrun rw sinterstore dst1 src1 src2
acl dryrun rw sinterstore dst1 src1 dst2
acl dryrun rw zunionstore dst1 2 src1 src2
acl dryrun rw zunionstore dst1 2 src1 other
acl dryrun rw zrangestore dst1 src1 0 -1
acl dryrun rw geosearchstore dst1 src1 frommember m byradius 1 km
acl dryrun rw bitop and dst1 src1 src2
acl dryrun rw pfmerge both1 src1
acl dryrun rw pfmerge dst1 src1
acl dryrun rw sort src1 store dst1
acl dryrun rw sort src1 store src2
acl dryrun rw sort_ro src1
acl dryrun rw georadius src1 0 0 1 km store dst1
acl dryrun rw georadius src1 0 0 1 km storedist src2
acl dryrun rw lcs src1 src2
acl dryrun rw mset dst1 a dst2 b
acl dryrun rw mset dst1 a src2 b
acl dryrun rw mget src1 src2 dst1
acl dryrun rw xread streams src1 dst1 0 0
acl dryrun rw lmpop 2 both1 src1 left
acl dryrun rw eval "return 1" 2 src1 dst1
acl dryrun rw eval_ro "return 1" 1 src1
acl dryrun rw object encoding src1
acl dryrun rw object encoding dst1
acl dryrun rw xinfo stream src1
acl dryrun rw xgroup create src1 g $
acl dryrun rw memory usage src1
acl dryrun rw bitfield src1 get u8 0
acl dryrun rw bitfield src1 set u8 0 1
acl dryrun rw bitfield both1 get u8 0 incrby u8 0 1
acl dryrun rw incr src1
acl dryrun rw append dst1 x
acl dryrun rw getdel both1
acl dryrun rw expire src1 10
acl dryrun rw type src1
acl dryrun rw touch src1
acl dryrun rw dump src1
acl dryrun rw restore dst1 0 x
acl dryrun rw migrate h 1 src1 0 10
acl dryrun rw watch src1
acl dryrun rw pfcount src1 dst1
"#,
    );
}

/// RESP3 shapes: ACL GETUSER is a map with a set of flags, ACL LOG entries are maps.
#[test]
fn resp3_replies() {
    let (_o, _r, mut d) = diff(&[], &[]);
    d.script(
        r#"
@r hello 3
acl setuser alice on >pw ~k* &c +get (+set ~s*)
@r acl getuser alice
@r acl getuser default
@r acl getuser nobody
@a auth alice pw
@a set k v
@a get x
@r acl log
@r acl whoami
@r acl users
"#,
    );
}
