//! Client-side caching (CLIENT TRACKING) against redis-server 7.0: scripts of commands on several
//! connections run on both servers; after every step each connection is synchronised with a
//! `PING sync`, and everything it received before (replies, RESP3 `invalidate` pushes,
//! `__redis__:invalidate` messages) is compared frame by frame.
//!
//! Script lines: `N command...` runs a command on connection N (`$idK` is connection K's client
//! id on that server, and ids in replies are written back as `$idK`); `~N command...` does not
//! compare its reply (HELLO's server details); `N @info` compares the tracking fields of INFO;
//! `N @flags` the `flags=`/`redir=` fields of CLIENT INFO; `N @close` closes connection N;
//! `@sleep MS` waits.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::net::SocketAddr;
use std::time::Duration;

/// The connections of one server and their client ids.
struct Side {
    conns: Vec<Option<Client>>,
    ids: Vec<i64>,
    /// Connections inside MULTI (a sync PING would be queued there).
    in_multi: Vec<bool>,
}

const CONNS: usize = 3;

impl Side {
    fn open(addr: SocketAddr) -> Side {
        // Ids of both servers start far from the small numbers the scripts compare.
        let warmup: Vec<Client> = (0..20).map(|_| Client::connect(addr)).collect();
        drop(warmup);
        let mut conns = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..CONNS {
            let mut c = Client::connect(addr);
            c.set_timeout(Duration::from_secs(5));
            match c.cmd(&["CLIENT", "ID"]) {
                Frame::Int(id) => ids.push(id),
                other => panic!("CLIENT ID: {other}"),
            }
            conns.push(Some(c));
        }
        Side {
            conns,
            ids,
            in_multi: vec![false; CONNS],
        }
    }

    fn conn(&mut self, n: usize) -> &mut Client {
        self.conns[n].as_mut().expect("connection still open")
    }

    /// Ids in a reply become `$idK`, so both servers' transcripts compare.
    fn normalise(&self, f: Frame) -> Frame {
        match f {
            Frame::Int(i) => match self.ids.iter().position(|&id| id == i) {
                Some(k) => Frame::Simple(format!("$id{}", k + 1).into_bytes()),
                None => Frame::Int(i),
            },
            Frame::Array(v) => Frame::Array(v.into_iter().map(|x| self.normalise(x)).collect()),
            Frame::Set(v) => Frame::Set(v.into_iter().map(|x| self.normalise(x)).collect()),
            Frame::Push(v) => Frame::Push(v.into_iter().map(|x| self.normalise(x)).collect()),
            Frame::Map(v) => Frame::Map(
                v.into_iter()
                    .map(|(k, x)| (self.normalise(k), self.normalise(x)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Frames connection `n` received up to the reply of a `PING sync`.
    fn sync(&mut self, n: usize) -> Vec<Frame> {
        let c = self.conn(n);
        c.send(&["PING", "sync"]);
        let mut got = Vec::new();
        for _ in 0..1000 {
            let f = c.read();
            let is_sync = match &f {
                Frame::Bulk(b) => b == b"sync",
                Frame::Array(v) | Frame::Push(v) => v == &[bulk("pong"), bulk("sync")],
                _ => false,
            };
            if is_sync {
                return got;
            }
            got.push(f);
        }
        panic!("no PING reply on connection {}", n + 1)
    }

    /// One script line; what every connection received, as text.
    fn step(&mut self, line: &str) -> Vec<String> {
        let (compare, line) = match line.strip_prefix('~') {
            Some(rest) => (false, rest),
            None => (true, line),
        };
        let mut words = line.split_whitespace();
        let first = words.next().expect("non-empty line");
        if first == "@sleep" {
            let ms: u64 = words.next().expect("ms").parse().expect("ms");
            std::thread::sleep(Duration::from_millis(ms));
            return self.sync_all(None);
        }
        let n: usize = first.parse::<usize>().expect("connection number") - 1;
        let args: Vec<String> = words
            .map(|w| match w.strip_prefix("$id") {
                Some(k) => self.ids[k.parse::<usize>().expect("id index") - 1].to_string(),
                None => w.to_string(),
            })
            .collect();
        let mut out = Vec::new();
        match args[0].as_str() {
            "@close" => {
                self.conns[n] = None;
                // Let the server notice before the next step.
                std::thread::sleep(Duration::from_millis(100));
            }
            "@info" => {
                let c = self.conn(n);
                for field in [
                    "tracking_clients",
                    "tracking_total_keys",
                    "tracking_total_items",
                    "tracking_total_prefixes",
                ] {
                    let section = if field == "tracking_clients" {
                        "clients"
                    } else {
                        "stats"
                    };
                    out.push(format!("{field}={:?}", info_field(c, section, field)));
                }
            }
            "@flags" => {
                let reply = self.conn(n).cmd(&["CLIENT", "INFO"]);
                let text =
                    String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).to_string();
                for field in text.split_whitespace() {
                    if field.starts_with("flags=") {
                        out.push(field.to_string());
                    }
                    if let Some(r) = field.strip_prefix("redir=") {
                        let r: i64 = r.parse().expect("redir number");
                        out.push(format!("redir={}", self.normalise(Frame::Int(r))));
                    }
                }
            }
            _ => {
                let name = args[0].to_ascii_lowercase();
                let c = self.conn(n);
                c.send(&args);
                let reply = c.read();
                if compare {
                    out.push(format!("reply {}", self.normalise(reply)));
                }
                match name.as_str() {
                    "multi" => self.in_multi[n] = true,
                    "exec" | "discard" => self.in_multi[n] = false,
                    _ => {}
                }
            }
        }
        // CLIENT CACHING lasts for the next command: no sync PING on that connection now.
        let caching = args.len() > 1
            && args[0].eq_ignore_ascii_case("client")
            && args[1].eq_ignore_ascii_case("caching");
        out.extend(self.sync_all(caching.then_some(n)));
        out
    }

    fn sync_all(&mut self, skip: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        for k in 0..CONNS {
            if self.conns[k].is_none() || self.in_multi[k] || skip == Some(k) {
                continue;
            }
            for f in self.sync(k) {
                out.push(format!("conn {} got {}", k + 1, self.normalise(f)));
            }
        }
        out
    }
}

/// Runs a script on our node and on redis-server; panics at the first differing step.
fn differential(script: &str, ours_args: &[&str], real_args: &[&str]) {
    let node = start_ours(ours_args);
    let real = start_real(real_args);
    let mut ours = Side::open(node.addr());
    let mut theirs = Side::open(real.addr);
    for line in script.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let a = ours.step(line);
        let b = theirs.step(line);
        assert_eq!(
            a, b,
            "step {line:?}: ours (left) and redis-server (right) differ"
        );
    }
}

#[test]
fn resp3_invalidations_on_the_same_connection() {
    differential(
        r#"
        ~1 HELLO 3
        1 CLIENT TRACKING on
        1 @flags
        1 @info
        1 GET k
        2 SET k v
        1 GET k
        1 SET k v2
        1 MGET k a b
        1 @info
        2 DEL a k
        1 @info
        # a change by the tracking client itself comes after its reply
        1 GET s
        1 APPEND s x
        # every write path: other data types, expiry
        1 HGET h f
        1 SMEMBERS st
        1 LRANGE l 0 -1
        2 HSET h f 1
        2 SADD st m
        2 RPUSH l a b
        1 ZSCORE z m
        2 ZADD z 1 m
        2 SET e 1 PX 50
        1 GET e
        @sleep 250
        2 GET e
        # FLUSHDB/FLUSHALL announce a null to every tracking client and empty the table
        1 GET f1
        1 GET f2
        1 @info
        2 FLUSHALL
        1 @info
        1 GET f1
        1 FLUSHDB
        1 CLIENT GETREDIR
        1 CLIENT TRACKINGINFO
        # NOLOOP: no message about its own changes
        1 CLIENT TRACKING on NOLOOP
        1 CLIENT TRACKINGINFO
        1 GET n
        1 SET n 1
        1 GET n
        2 SET n 2
        # reads inside MULTI/EXEC
        1 MULTI
        1 GET t1
        1 GET t2
        1 EXEC
        2 MSET t1 1 t2 2
        1 CLIENT TRACKING off
        1 @flags
        1 @info
        1 CLIENT GETREDIR
        1 CLIENT TRACKINGINFO
        2 SET k again
        "#,
        &[],
        &[],
    );
}

#[test]
fn optin_optout_and_caching() {
    differential(
        r#"
        ~1 HELLO 3
        1 CLIENT CACHING yes
        1 CLIENT TRACKING on OPTIN
        1 GET o1
        2 SET o1 x
        1 CLIENT CACHING yes
        1 GET o1
        2 SET o1 y
        1 CLIENT TRACKINGINFO
        1 CLIENT CACHING no
        1 CLIENT CACHING maybe
        # CACHING YES covers a whole transaction
        1 CLIENT CACHING yes
        1 MULTI
        1 GET m1
        1 EXEC
        2 SET m1 z
        1 CLIENT TRACKING on OPTOUT
        1 CLIENT TRACKING off
        1 CLIENT TRACKING on OPTOUT
        1 CLIENT CACHING no
        1 GET o2
        2 SET o2 x
        1 GET o2
        2 SET o2 y
        1 CLIENT CACHING yes
        1 CLIENT TRACKINGINFO
        1 CLIENT TRACKING off
        "#,
        &[],
        &[],
    );
}

#[test]
fn resp2_redirect_to_a_subscribed_connection() {
    differential(
        r#"
        2 SUBSCRIBE __redis__:invalidate
        1 CLIENT TRACKING on REDIRECT $id2
        1 @flags
        1 CLIENT GETREDIR
        1 CLIENT TRACKINGINFO
        1 GET r1
        1 MGET r2 r3
        3 SET r1 x
        3 DEL r2 r3
        1 GET r1
        3 FLUSHDB
        # the redirect target itself flushes: the message follows its reply
        2 UNSUBSCRIBE
        ~2 HELLO 3
        1 MGET r1 r5
        2 SET r5 y
        2 FLUSHALL
        ~2 HELLO 2
        2 SUBSCRIBE __redis__:invalidate
        # RESP2 without redirect, or to a connection that is not subscribed: nothing is sent
        1 CLIENT TRACKING on REDIRECT $id3
        1 GET q
        3 SET q 1
        1 CLIENT TRACKING on
        1 GET q
        3 SET q 2
        # BCAST through the redirect
        1 CLIENT TRACKING off
        1 CLIENT TRACKING on BCAST PREFIX user: PREFIX obj: REDIRECT $id2
        3 MSET user:1 a obj:1 b other c
        1 SET user:2 x
        1 @info
        1 @flags
        # the redirect target goes away
        2 @close
        3 SET user:3 y
        1 @flags
        1 CLIENT TRACKINGINFO
        "#,
        &[],
        &[],
    );
}

#[test]
fn bcast_prefixes_and_broken_redirect_resp3() {
    differential(
        r#"
        ~1 HELLO 3
        1 CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:
        1 @flags
        1 @info
        2 MSET user:1 a obj:1 b other c
        1 SET user:2 x
        1 CLIENT TRACKING on BCAST PREFIX u
        1 CLIENT TRACKING on BCAST PREFIX a PREFIX ab
        1 CLIENT TRACKING on BCAST PREFIX zz
        1 CLIENT TRACKINGINFO
        1 CLIENT TRACKING on
        1 CLIENT TRACKING off
        1 CLIENT TRACKING on BCAST NOLOOP
        1 @info
        1 SET mine 1
        2 SET theirs 1
        1 CLIENT TRACKING off
        1 @info
        # RESP3 client whose redirect target disconnects is told so
        1 CLIENT TRACKING on REDIRECT $id3
        1 GET b1
        3 @close
        2 SET b1 x
        1 @flags
        1 CLIENT TRACKINGINFO
        "#,
        &[],
        &[],
    );
}

#[test]
fn tracking_errors() {
    differential(
        r#"
        1 CLIENT TRACKING
        1 CLIENT TRACKING maybe
        1 CLIENT TRACKING on FOO
        1 CLIENT TRACKING on REDIRECT
        1 CLIENT TRACKING on PREFIX a
        1 CLIENT TRACKING on BCAST OPTIN
        1 CLIENT TRACKING on OPTIN OPTOUT
        1 CLIENT TRACKING on REDIRECT 999999
        1 CLIENT TRACKING on REDIRECT notanumber
        1 CLIENT TRACKING on REDIRECT $id2 REDIRECT $id2
        1 CLIENT TRACKING off REDIRECT 999999
        1 CLIENT CACHING yes
        1 CLIENT CACHING
        1 CLIENT GETREDIR extra
        1 CLIENT TRACKINGINFO extra
        1 @info
        1 CLIENT TRACKING on REDIRECT $id1
        1 CLIENT GETREDIR
        1 CLIENT TRACKING off REDIRECT $id2
        1 CLIENT TRACKING off
        1 @info
        "#,
        &[],
        &[],
    );
}

/// `tracking-table-max-keys`: over the limit, keys leave the table and their clients are told.
/// Which key goes is random on both servers, so the count and the shape are compared.
#[test]
fn table_max_keys() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    for addr in [node.addr(), real.addr] {
        let mut c = Client::connect(addr);
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "2"]),
            simple("OK")
        );
        c.cmd(&["HELLO", "3"]);
        assert_eq!(c.cmd(&["CLIENT", "TRACKING", "on"]), simple("OK"));
        for k in ["a", "b", "c"] {
            assert_eq!(c.cmd(&["GET", k]), Frame::Null);
        }
        // One key leaves the table, announced before the next reply.
        let mut pushes = Vec::new();
        c.send(&["PING", "sync"]);
        loop {
            match c.read() {
                Frame::Push(v) => pushes.push(v),
                f => {
                    assert_eq!(f, bulk("sync"));
                    break;
                }
            }
        }
        assert_eq!(
            pushes.len(),
            1,
            "{addr} (ours: {}): {pushes:?}",
            node.addr()
        );
        assert_eq!(pushes[0][0], bulk("invalidate"));
        assert_eq!(
            info_field(&mut c, "stats", "tracking_total_keys").as_deref(),
            Some("2")
        );
    }
}

/// Keys evicted under `maxmemory` are announced like changed keys (our node only: eviction
/// starts at a different point in redis-server, whose memory accounting differs).
#[test]
fn evicted_keys_are_invalidated() {
    let node = start_ours(&[]);
    let mut writer = Client::connect(node.addr());
    let mut reader = Client::connect(node.addr());
    reader.cmd(&["HELLO", "3"]);
    assert_eq!(reader.cmd(&["CLIENT", "TRACKING", "on"]), simple("OK"));
    for i in 0..200 {
        let k = format!("t:{i}");
        assert_eq!(writer.cmd(&["SET", &k, "v"]), simple("OK"));
        assert_eq!(reader.cmd(&["GET", &k]), bulk("v"));
    }
    let base: u64 = info_field(&mut writer, "memory", "used_memory")
        .unwrap()
        .parse()
        .unwrap();
    let limit = (base + 2 * 1024 * 1024).to_string();
    assert_eq!(
        writer.cmd(&["CONFIG", "SET", "maxmemory", &limit]),
        simple("OK")
    );
    assert_eq!(
        writer.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
        simple("OK")
    );
    let value = "x".repeat(1000);
    for i in 0..8000 {
        assert_eq!(
            writer.cmd(&["SET", &format!("fill:{i}"), &value]),
            simple("OK")
        );
    }
    let evicted: u64 = info_field(&mut writer, "stats", "evicted_keys")
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted > 1000, "evicted {evicted}");
    // Only evictions touched the tracked keys: each one announced is gone, and every tracked
    // key that is gone was announced.
    let mut announced = std::collections::BTreeSet::new();
    reader.send(&["PING", "sync"]);
    loop {
        match reader.read() {
            Frame::Push(v) => {
                assert_eq!(v[0], bulk("invalidate"));
                let Frame::Array(keys) = &v[1] else {
                    panic!("{v:?}")
                };
                for k in keys {
                    announced.insert(String::from_utf8_lossy(k.as_bytes().unwrap()).to_string());
                }
            }
            f => {
                assert_eq!(f, bulk("sync"));
                break;
            }
        }
    }
    assert_eq!(
        writer.cmd(&["CONFIG", "SET", "maxmemory", "0"]),
        simple("OK")
    );
    let gone: std::collections::BTreeSet<String> = (0..200)
        .map(|i| format!("t:{i}"))
        .filter(|k| writer.cmd(&["EXISTS", k]) == int(0))
        .collect();
    assert!(!gone.is_empty(), "no tracked key was evicted");
    assert_eq!(announced, gone);
}

/// A script that calls a read-only command makes its caller track the keys it declared (not
/// the keys it touched); one that only writes, or only pings, tracks nothing; EVAL_RO likewise
/// (redis's unit/tracking "Tracking only occurs for scripts when a command calls a read-only
/// command").
#[test]
fn scripts_track_their_declared_keys_when_they_read() {
    differential(
        r#"
        ~1 HELLO 3
        1 CLIENT TRACKING on
        2 MSET k2 1 k2 1
        # (script lines split on spaces: the Lua has none)
        1 EVAL redis.call('set','k3','bar') 2 k1 k2
        2 MSET k2 2 k1 2
        1 EVAL redis.call('get','k3') 2 k1 k2
        2 MSET k2 2 k1 2
        1 EVAL_RO redis.call('ping') 2 k1 k2
        2 MSET k2 2 k1 2
        1 EVAL_RO redis.call('get','k1') 2 k1 k2
        2 MSET k2 3 k1 3
        2 SET k3 x
        1 @info
        "#,
        &[],
        &[],
    );
}
