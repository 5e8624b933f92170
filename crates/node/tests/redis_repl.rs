//! Replication interoperability with redis-server 7.0, both ways: our node as a replica of a
//! real primary, and a real redis-server as a replica of our node. Each direction: full sync,
//! the command stream, a dropped link (CLIENT KILL TYPE master / replica) followed by a partial
//! resync (+CONTINUE, counted in the primary's `sync_partial_ok`), and the data compared key
//! by key (type, value, TTL) on both sides.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

type Dump = BTreeMap<(usize, Vec<u8>), (String, String, Option<i64>)>;

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).to_string(),
        Frame::Int(n) => n.to_string(),
        Frame::Double(d) => d.to_string(),
        Frame::Null => "(nil)".into(),
        Frame::Array(v) => format!("[{}]", v.iter().map(text).collect::<Vec<_>>().join(",")),
        other => format!("{other:?}"),
    }
}

fn sorted(f: Frame) -> String {
    let mut v: Vec<String> = match f {
        Frame::Array(v) => v.iter().map(text).collect(),
        other => vec![text(&other)],
    };
    v.sort();
    v.join(",")
}

fn pairs_sorted(f: Frame) -> String {
    let Frame::Array(v) = f else {
        return text(&f);
    };
    let mut p: Vec<String> = v
        .chunks(2)
        .map(|c| format!("{}={}", text(&c[0]), text(&c[1])))
        .collect();
    p.sort();
    p.join(",")
}

/// A reply without the name/value pairs named in `names`, at any depth (the names are
/// XINFO's, which the data set does not use as field names or values).
fn without_fields(f: Frame, names: &[&str]) -> Frame {
    match f {
        Frame::Array(v) => {
            let mut out = Vec::with_capacity(v.len());
            let mut items = v.into_iter();
            while let Some(x) = items.next() {
                if matches!(&x, Frame::Bulk(b) if names.iter().any(|n| n.as_bytes() == b)) {
                    items.next();
                } else {
                    out.push(without_fields(x, names));
                }
            }
            Frame::Array(out)
        }
        other => other,
    }
}

/// Every key of every DB: type, value, absolute expiry (unix ms).
fn dump(addr: SocketAddr) -> Dump {
    let mut c = Client::connect(addr);
    let mut out = Dump::new();
    for db in 0..16 {
        c.cmd(&["SELECT", &db.to_string()]);
        let Frame::Array(keys) = c.cmd(&["KEYS", "*"]) else {
            panic!("KEYS")
        };
        for k in keys {
            let Frame::Bulk(k) = k else { continue };
            let ks = String::from_utf8_lossy(&k).to_string();
            let ty = text(&c.cmd(&["TYPE", &ks]));
            let v = match ty.as_str() {
                "string" => text(&c.cmd(&["GET", &ks])),
                "list" => text(&c.cmd(&["LRANGE", &ks, "0", "-1"])),
                "set" => sorted(c.cmd(&["SMEMBERS", &ks])),
                "zset" => text(&c.cmd(&["ZRANGE", &ks, "0", "-1", "WITHSCORES"])),
                "hash" => pairs_sorted(c.cmd(&["HGETALL", &ks])),
                // Entries, metadata, groups, PEL (delivery times and counts) and consumers.
                // Not compared: the node counts (the server's memory layout), and what Redis
                // 7.0's own replication leaves behind on a replica: XREADGROUP reaches it as
                // XCLAIM, which stamps the replica's time as the consumer's seen-time and does
                // not advance the group's entries-read (hence its lag).
                "stream" => text(&without_fields(
                    c.cmd(&["XINFO", "STREAM", &ks, "FULL", "COUNT", "0"]),
                    &[
                        "radix-tree-keys",
                        "radix-tree-nodes",
                        "seen-time",
                        "entries-read",
                        "lag",
                    ],
                )),
                other => panic!("type {other}"),
            };
            // The absolute expiry time: dumps of the two sides run seconds apart.
            let ttl = match c.cmd(&["PEXPIRETIME", &ks]) {
                Frame::Int(t) if t >= 0 => Some(t),
                _ => None,
            };
            out.insert((db, k), (ty, v, ttl));
        }
    }
    out
}

fn assert_same(a: &Dump, b: &Dump) {
    assert_eq!(a.len(), b.len(), "key counts differ");
    for (k, (ty, v, ttl)) in a {
        let (ty2, v2, ttl2) = b
            .get(k)
            .unwrap_or_else(|| panic!("{k:?} missing on the replica"));
        assert_eq!((ty, v), (ty2, v2), "{k:?}");
        match (ttl, ttl2) {
            (None, None) => {}
            (Some(x), Some(y)) => assert!((x - y).abs() < 1000, "{k:?}: expiry {x} vs {y}"),
            _ => panic!("{k:?}: ttl {ttl:?} vs {ttl2:?}"),
        }
    }
}

/// Every node of these tests works in a temporary directory: a redis-server replica writes the
/// RDB it receives to its `dir`, and our nodes load `<dir>/dump.rdb` at start.
fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn ours_in(dir: &tempfile::TempDir) -> node::redis::RedisNode {
    start_ours(&["--dir", dir.path().to_str().unwrap()])
}

fn real_in(dir: &tempfile::TempDir, extra: &[&str]) -> RealRedis {
    let mut args = vec!["--dir", dir.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    start_real(&args)
}

fn field(addr: SocketAddr, section: &str, name: &str) -> String {
    info_field(&mut Client::connect(addr), section, name).unwrap_or_default()
}

/// Waits until the replica is up and has applied everything the primary produced.
fn wait_in_sync(primary: SocketAddr, replica: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = field(replica, "replication", "master_link_status") == "up";
        let p = field(primary, "replication", "master_repl_offset");
        let r = field(replica, "replication", "slave_repl_offset");
        if up && p == r && !p.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "replica not in sync: up={up} primary offset {p} replica offset {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Data of every type, several DBs, TTLs, small and large encodings.
fn write_dataset(addr: SocketAddr, tag: &str) {
    let mut c = Client::connect(addr);
    for db in [0, 3] {
        c.cmd(&["SELECT", &db.to_string()]);
        for i in 0..200 {
            c.cmd(&["SET", &format!("{tag}:s:{i}"), &format!("v{i}")]);
        }
        c.cmd(&["SET", &format!("{tag}:int"), "12345"]);
        c.cmd(&["SET", &format!("{tag}:ttl"), "x", "EX", "1000"]);
        c.cmd(&["RPUSH", &format!("{tag}:list"), "a", "b", "c"]);
        let big: Vec<String> = (0..300).map(|i| format!("item{i}")).collect();
        let mut args = vec!["RPUSH".to_string(), format!("{tag}:biglist")];
        args.extend(big.iter().cloned());
        c.cmd(&args);
        c.cmd(&["SADD", &format!("{tag}:iset"), "1", "2", "3"]);
        c.cmd(&["SADD", &format!("{tag}:set"), "x", "y"]);
        c.cmd(&["ZADD", &format!("{tag}:z"), "1.5", "a", "2", "b"]);
        let mut zargs = vec!["ZADD".to_string(), format!("{tag}:bigz")];
        for i in 0..200 {
            zargs.push(format!("{i}.25"));
            zargs.push(format!("m{i}"));
        }
        c.cmd(&zargs);
        c.cmd(&["HSET", &format!("{tag}:h"), "f1", "v1", "f2", "v2"]);
        let mut hargs = vec!["HSET".to_string(), format!("{tag}:bigh")];
        for i in 0..600 {
            hargs.push(format!("f{i}"));
            hargs.push(format!("v{i}"));
        }
        c.cmd(&hargs);
        c.cmd(&["PEXPIRE", &format!("{tag}:h"), "900000"]);
        let stream = format!("{tag}:stream");
        for i in 0..250 {
            c.cmd(&["XADD", &stream, "*", "n", &i.to_string(), "p", "payload"]);
        }
        c.cmd(&["XGROUP", "CREATE", &stream, "g", "0"]);
        c.cmd(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "20",
            "STREAMS",
            &stream,
            ">",
        ]);
        c.cmd(&["XGROUP", "CREATECONSUMER", &stream, "g", "bob"]);
        c.cmd(&["XTRIM", &stream, "MAXLEN", "240"]);
        // Redis propagates this as an exact trim with its LIMIT left in.
        c.cmd(&[
            "XADD", &stream, "MAXLEN", "~", "100", "LIMIT", "100", "*", "n", "x",
        ]);
        c.cmd(&["INCR", &format!("{tag}:int")]);
        c.cmd(&["DEL", &format!("{tag}:s:0")]);
    }
}

#[test]
fn ferrocache_replica_of_redis_primary() {
    let (d1, d2) = (tmp(), tmp());
    let real = real_in(&d1, &["--repl-diskless-sync-delay", "0"]);
    write_dataset(real.addr, "before");
    let ours = ours_in(&d2);
    let mut c = Client::connect(ours.addr());
    let port = real.addr.port().to_string();
    assert_eq!(c.cmd(&["REPLICAOF", "127.0.0.1", &port]), simple("OK"));
    wait_in_sync(real.addr, ours.addr());
    assert_same(&dump(real.addr), &dump(ours.addr()));
    assert_eq!(field(real.addr, "stats", "sync_full"), "1");

    // The stream: more writes, including rewritten ones (EXPIRE, SPOP, scripts).
    write_dataset(real.addr, "after");
    let mut r = Client::connect(real.addr);
    r.cmd(&["EXPIRE", "after:list", "5000"]);
    r.cmd(&["SPOP", "after:set"]);
    r.cmd(&[
        "EVAL",
        "redis.call('SET', KEYS[1], 'lua') return 1",
        "1",
        "scripted",
    ]);
    wait_in_sync(real.addr, ours.addr());
    assert_same(&dump(real.addr), &dump(ours.addr()));

    // Read-only for clients; ROLE says so.
    assert_eq!(
        c.cmd(&["SET", "x", "1"]),
        Frame::Error(b"READONLY You can't write against a read only replica.".to_vec())
    );
    match c.cmd(&["ROLE"]) {
        Frame::Array(v) => {
            assert_eq!(v[0], bulk("slave"));
            assert_eq!(v[3], bulk("connected"));
        }
        f => panic!("{f:?}"),
    }

    // Drop the link from our side; writes meanwhile; it comes back with a partial resync.
    assert_eq!(c.cmd(&["CLIENT", "KILL", "TYPE", "master"]), int(1));
    for i in 0..50 {
        r.cmd(&["SET", &format!("during:{i}"), "x"]);
    }
    wait_in_sync(real.addr, ours.addr());
    assert_same(&dump(real.addr), &dump(ours.addr()));
    assert_eq!(field(real.addr, "stats", "sync_full"), "1");
    assert_eq!(field(real.addr, "stats", "sync_partial_ok"), "1");

    // Promotion: writable, and a new replication id.
    let old_id = field(ours.addr(), "replication", "master_replid");
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), simple("OK"));
    assert_eq!(c.cmd(&["SET", "x", "1"]), simple("OK"));
    assert_eq!(field(ours.addr(), "replication", "master_replid2"), old_id);
    assert_eq!(field(ours.addr(), "replication", "role"), "master");
}

#[test]
fn redis_replica_of_ferrocache_primary() {
    let (d1, d2) = (tmp(), tmp());
    let ours = ours_in(&d1);
    write_dataset(ours.addr(), "before");
    // Enough data that the sync takes a while, and writes while it runs: they must reach the
    // replica after the RDB (and not glued to its end mark).
    let mut c = Client::connect(ours.addr());
    let mut batch = Vec::new();
    for i in 0..20_000 {
        batch.extend(Client::encode(&[
            "SET",
            &format!("bulk:{i}"),
            &"v".repeat(100),
        ]));
    }
    c.send_raw(&batch);
    for _ in 0..20_000 {
        c.read();
    }
    let addr = ours.addr();
    let writer = std::thread::spawn(move || {
        let mut w = Client::connect(addr);
        for i in 0..2000 {
            w.cmd(&["SET", &format!("during-sync:{i}"), "x"]);
        }
    });
    let port = ours.addr().port().to_string();
    let real = real_in(&d2, &["--replicaof", "127.0.0.1", &port]);
    writer.join().unwrap();
    wait_in_sync(ours.addr(), real.addr);
    assert_same(&dump(ours.addr()), &dump(real.addr));
    assert_eq!(field(ours.addr(), "stats", "sync_full"), "1");

    write_dataset(ours.addr(), "after");
    c.cmd(&["EXPIRE", "after:list", "5000"]);
    c.cmd(&["SPOP", "after:set"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "tx"]);
    c.cmd(&["SET", "tx2", "v", "PX", "800000"]);
    c.cmd(&["EXEC"]);
    c.cmd(&[
        "EVAL",
        "redis.call('SET', KEYS[1], 'lua') return 1",
        "1",
        "scripted",
    ]);
    wait_in_sync(ours.addr(), real.addr);
    assert_same(&dump(ours.addr()), &dump(real.addr));

    // WAIT counts the replica once it acknowledged.
    c.cmd(&["SET", "w", "1"]);
    assert_eq!(c.cmd(&["WAIT", "1", "5000"]), int(1));
    match c.cmd(&["ROLE"]) {
        Frame::Array(v) => {
            assert_eq!(v[0], bulk("master"));
            assert!(matches!(&v[2], Frame::Array(r) if r.len() == 1));
        }
        f => panic!("{f:?}"),
    }
    assert_eq!(field(ours.addr(), "replication", "connected_slaves"), "1");

    // Drop the link from our side; it comes back with +CONTINUE.
    assert_eq!(c.cmd(&["CLIENT", "KILL", "TYPE", "replica"]), int(1));
    for i in 0..50 {
        c.cmd(&["SET", &format!("during:{i}"), "x"]);
    }
    wait_in_sync(ours.addr(), real.addr);
    assert_same(&dump(ours.addr()), &dump(real.addr));
    assert_eq!(field(ours.addr(), "stats", "sync_full"), "1");
    assert_eq!(field(ours.addr(), "stats", "sync_partial_ok"), "1");

    // min-replicas-to-write: more good replicas than exist refuses writes.
    c.cmd(&["CONFIG", "SET", "min-replicas-to-write", "2"]);
    assert_eq!(
        c.cmd(&["SET", "y", "1"]),
        Frame::Error(b"NOREPLICAS Not enough good replicas to write.".to_vec())
    );
    c.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    assert_eq!(c.cmd(&["SET", "y", "1"]), simple("OK"));
}

#[test]
fn ferrocache_replica_of_ferrocache_primary_and_promotion() {
    let dirs = [tmp(), tmp(), tmp()];
    let primary = ours_in(&dirs[0]);
    // The primary's periodic PING must not land between a's promotion and b's switch to a:
    // b would then be one PING ahead of a and need a full sync (a race redis has too).
    Client::connect(primary.addr()).cmd(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]);
    write_dataset(primary.addr(), "p");
    let a = ours_in(&dirs[1]);
    let b = ours_in(&dirs[2]);
    let port = primary.addr().port().to_string();
    for r in [&a, &b] {
        let mut c = Client::connect(r.addr());
        assert_eq!(c.cmd(&["REPLICAOF", "127.0.0.1", &port]), simple("OK"));
    }
    wait_in_sync(primary.addr(), a.addr());
    wait_in_sync(primary.addr(), b.addr());
    assert_same(&dump(primary.addr()), &dump(a.addr()));
    // Promote a; b follows a and continues partially (PSYNC2: a's replid2 is the old history).
    let mut ca = Client::connect(a.addr());
    assert_eq!(ca.cmd(&["REPLICAOF", "NO", "ONE"]), simple("OK"));
    let mut cb = Client::connect(b.addr());
    let aport = a.addr().port().to_string();
    assert_eq!(cb.cmd(&["REPLICAOF", "127.0.0.1", &aport]), simple("OK"));
    ca.cmd(&["SET", "after-promotion", "1"]);
    wait_in_sync(a.addr(), b.addr());
    assert_same(&dump(a.addr()), &dump(b.addr()));
    assert_eq!(field(a.addr(), "stats", "sync_partial_ok"), "1");
    assert_eq!(field(a.addr(), "stats", "sync_full"), "0");
}

/// Managed mode: REPLICAOF is refused to clients but runs on the control socket; the primary
/// writes `ElastiCacheMasterReplicationTimestamp` and the replica receives it (lag measure).
#[test]
fn managed_replication_via_control_socket_and_timestamp_key() {
    use std::io::{Read, Write};
    let (d1, d2) = (tmp(), tmp());
    let primary = start_ours(&[
        "--dir",
        d1.path().to_str().unwrap(),
        "--managed",
        "--param",
        "elasticache-master-replication-timestamp=yes",
    ]);
    let sock = d2.path().join("ctl.sock");
    let replica = start_ours(&[
        "--dir",
        d2.path().to_str().unwrap(),
        "--managed",
        "--control-socket",
        sock.to_str().unwrap(),
    ]);
    let port = primary.addr().port().to_string();
    let mut c = Client::connect(replica.addr());
    assert!(matches!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &port]),
        Frame::Error(e) if e.starts_with(b"ERR unknown command")
    ));
    let mut ctl = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    ctl.write_all(&Client::encode(&["REPLICAOF", "127.0.0.1", &port]))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = ctl.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+OK\r\n");
    wait_in_sync(primary.addr(), replica.addr());
    let deadline = Instant::now() + Duration::from_secs(10);
    let value = loop {
        if let Frame::Bulk(v) = c.cmd(&["GET", "ElastiCacheMasterReplicationTimestamp"]) {
            break String::from_utf8(v).unwrap();
        }
        assert!(Instant::now() < deadline, "no timestamp key on the replica");
        std::thread::sleep(Duration::from_millis(100));
    };
    // 2026-11-26T06:54:00.123Z
    assert_eq!(value.len(), 24, "{value}");
    assert!(
        value.ends_with('Z') && value.as_bytes()[10] == b'T',
        "{value}"
    );
}

/// `--param replicaof="<host> <port>"` (redis.conf's `replicaof`, issue 6): the node is a
/// replica from its first connection, refuses writes, and syncs; a malformed one stops the start.
#[test]
fn a_node_started_with_replicaof_is_a_replica_from_the_start() {
    let primary = start_ours(&[]);
    let mut p = Client::connect(primary.addr());
    assert_eq!(p.cmd(&["SET", "k", "v"]), simple("OK"));
    let target = format!("127.0.0.1 {}", primary.addr().port());
    let replica = start_ours(&["--param", &format!("replicaof={target}")]);
    let mut r = Client::connect(replica.addr());
    let role = r.cmd(&["ROLE"]);
    assert!(text(&role).starts_with("[slave,127.0.0.1,"), "{role:?}");
    let refused = r.cmd(&["SET", "x", "1"]);
    assert!(
        matches!(&refused, Frame::Error(e) if e.starts_with(b"READONLY")),
        "{refused:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.cmd(&["GET", "k"]) != bulk("v") {
        assert!(Instant::now() < deadline, "the replica never synced");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut args = node_args(&["--param", "replicaof=nohostport"]);
    args.dir = scratch_dir();
    assert!(node::redis::start(args).is_err());
}
