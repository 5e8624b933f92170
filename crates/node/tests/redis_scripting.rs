//! End to end over real sockets: Lua scripting (EVAL/EVALSHA/SCRIPT, BUSY and SCRIPT KILL),
//! HyperLogLog and DUMP/RESTORE on our node, compared with redis-server 7.0 where the reply is
//! deterministic, and values moved between the two servers both ways.

#[path = "../../engine-redis/tests/lua/corpus.rs"]
mod lua_corpus;
mod redis_common;

use redis_common::{start_ours, start_real, Client};
use resp::Frame;
use std::time::Duration;

/// Runs the same command on both servers and requires the same reply.
fn same(ours: &mut Client, real: &mut Client, args: &[&str]) -> Frame {
    let a = ours.cmd(args);
    let b = real.cmd(args);
    assert_eq!(a, b, "reply differs for {args:?}\n ours: {a}\n redis: {b}");
    a
}

#[test]
fn scripting_hll_and_dump_match_redis() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    let mut ours = Client::connect(node.addr());
    let mut theirs = Client::connect(real.addr);
    let cases: &[&[&str]] = &[
        &["EVAL", "return {1, 2.5, 'x', true, false, nil, 3}", "0"],
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
            "1",
            "k",
            "v",
        ],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "counter"],
        &["EVAL", "return redis.call('incr', KEYS[1])", "1", "k"],
        &["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "k"],
        &["EVAL", "return redis.call('nosuch')", "0"],
        &["EVAL", "return redis.call('get')", "0"],
        &["EVAL", "return redis.call('eval', 'return 1', '0')", "0"],
        &["EVAL", "x = 1", "0"],
        &["EVAL", "return y", "0"],
        &["EVAL", "return 'x' ..", "0"],
        &[
            "EVAL",
            "redis.call('rpush', 'l', 'a', 'b') return redis.call('lrange', 'l', 0, -1)",
            "0",
        ],
        &[
            "EVAL",
            "redis.call('hset', 'h', 'f', 'v') return redis.call('hgetall', 'h')",
            "0",
        ],
        &[
            "EVAL",
            "redis.setresp(3) return redis.call('hgetall', 'h').map.f",
            "0",
        ],
        &["EVAL", "return redis.call('select', 1)", "0"],
        &["GET", "k"],
        &["EVAL", "return cjson.encode({a = {1, 2}})", "0"],
        &["EVAL", "return cmsgpack.pack({1, 'two'})", "0"],
        &["EVAL", "return {math.random(1000), math.random(1000)}", "0"],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return 1", "3", "a"],
        &["SCRIPT", "LOAD", "return KEYS[1]"],
        &[
            "EVALSHA",
            "b2cd2fa0d2e9b6e36eeea1e5eab8a4dd5a6db0a9",
            "1",
            "x",
        ],
        &["EVALSHA", "0000000000000000000000000000000000000000", "0"],
        &[
            "SCRIPT",
            "EXISTS",
            "ffffffffffffffffffffffffffffffffffffffff",
        ],
        &["EVAL_RO", "return redis.call('set', 'ro', 1)", "0"],
        &["EVAL_RO", "return redis.call('get', 'k')", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set', 'ro', 1)",
            "0",
        ],
        &["SCRIPT", "FLUSH"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "NOPE"],
        &["SCRIPT", "DEBUG", "NO"],
        &["SCRIPT", "DEBUG", "MAYBE"],
        &["PFADD", "hll", "a", "b", "c"],
        &["PFADD", "hll", "a"],
        &["PFCOUNT", "hll"],
        &["GET", "hll"],
        &["PFADD", "hll2", "c", "d"],
        &["PFCOUNT", "hll", "hll2", "missing"],
        &["PFMERGE", "merged", "hll", "hll2"],
        &["GET", "merged"],
        &["PFCOUNT", "merged"],
        &["PFADD", "k", "x"],
        &["PFCOUNT", "l"],
        &["PFADD", "empty"],
        &["GET", "empty"],
        &["DUMP", "nokey"],
        &["RESTORE", "k", "0", "garbage"],
        &["RESTORE", "newkey", "-1", "x"],
    ];
    for args in cases {
        same(&mut ours, &mut theirs, args);
    }
    // A dense HyperLogLog: same bytes too.
    let elements: Vec<String> = (0..3000).map(|i| format!("e{i}")).collect();
    let mut pfadd: Vec<&str> = vec!["PFADD", "big"];
    pfadd.extend(elements.iter().map(String::as_str));
    same(&mut ours, &mut theirs, &pfadd);
    same(&mut ours, &mut theirs, &["PFCOUNT", "big"]);
    same(&mut ours, &mut theirs, &["GET", "big"]);
}

/// The whole Lua corpus on our node and on redis-server, over RESP2 and RESP3 connections.
#[test]
fn lua_corpus_matches_redis() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    for resp3 in [false, true] {
        let mut ours = Client::connect(node.addr());
        let mut theirs = Client::connect(real.addr);
        if resp3 {
            // Client ids differ; only the protocol switch matters here.
            assert!(matches!(ours.cmd(&["HELLO", "3"]), Frame::Map(_)));
            assert!(matches!(theirs.cmd(&["HELLO", "3"]), Frame::Map(_)));
        }
        for (body, keys, args) in lua_corpus::SCRIPTS {
            let n = keys.len().to_string();
            let mut argv: Vec<&str> = vec!["EVAL", body, &n];
            argv.extend(keys.iter());
            argv.extend(args.iter());
            same(&mut ours, &mut theirs, &argv);
        }
    }
}

/// Values of every type cross between our node and redis-server with DUMP/RESTORE.
#[test]
fn dump_restore_across_servers() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    let fill: &[&[&str]] = &[
        &["SET", "s", "hello"],
        &["SET", "n", "12345"],
        &["RPUSH", "l", "a", "1", "b"],
        &["SADD", "si", "1", "2", "3"],
        &["SADD", "ss", "x", "y"],
        &["ZADD", "z", "1.5", "a", "-2", "b"],
        &["HSET", "h", "f1", "v1", "f2", "2"],
        &["PFADD", "p", "x", "y"],
    ];
    let long: String = "abc".repeat(1000);
    for (src_addr, dst_addr, from) in [
        (node.addr(), real.addr, "ours"),
        (real.addr, node.addr(), "redis"),
    ] {
        let (src, dst) = (
            &mut Client::connect(src_addr),
            &mut Client::connect(dst_addr),
        );
        src.cmd(&["FLUSHALL"]);
        dst.cmd(&["FLUSHALL"]);
        for args in fill {
            src.cmd(args);
        }
        src.cmd(&["SET", "long", long.as_str()]);
        src.cmd(&["PEXPIRE", "long", "100000"]);
        for key in ["s", "n", "l", "si", "ss", "z", "h", "p", "long"] {
            let Frame::Bulk(payload) = src.cmd(&["DUMP", key]) else {
                panic!("DUMP {key} from {from}")
            };
            let ttl = if key == "long" { "100000" } else { "0" };
            let r = dst.cmd(&[
                b"RESTORE".as_slice(),
                key.as_bytes(),
                ttl.as_bytes(),
                &payload,
            ]);
            assert_eq!(
                r,
                Frame::Simple(b"OK".to_vec()),
                "RESTORE {key} from {from}"
            );
            assert_eq!(
                src.cmd(&["TYPE", key]),
                dst.cmd(&["TYPE", key]),
                "TYPE {key} from {from}"
            );
        }
        for read in [
            &["GET", "s"][..],
            &["GET", "n"],
            &["LRANGE", "l", "0", "-1"],
            &["SMEMBERS", "si"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["HGET", "h", "f2"],
            &["PFCOUNT", "p"],
            &["GET", "long"],
        ] {
            let (a, b) = (src.cmd(read), dst.cmd(read));
            assert_eq!(a, b, "{read:?} after RESTORE from {from}");
        }
        let Frame::Int(pttl) = dst.cmd(&["PTTL", "long"]) else {
            panic!()
        };
        assert!(pttl > 0 && pttl <= 100000, "TTL restored: {pttl}");
        assert_eq!(
            dst.cmd(&["RESTORE", "s", "0", "x"]),
            Frame::Error(b"BUSYKEY Target key name already exists.".to_vec())
        );
    }
}

/// A script past `lua-time-limit` makes others get BUSY; SCRIPT KILL stops it; a script that
/// wrote cannot be killed.
#[test]
fn busy_script_and_script_kill() {
    let node = start_ours(&[]);
    let mut admin = Client::connect(node.addr());
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "lua-time-limit", "50"]),
        Frame::Simple(b"OK".to_vec())
    );
    let mut runner = Client::connect(node.addr());
    runner.set_timeout(Duration::from_secs(60));
    // Connected before the script starts: registering a connection needs the engine lock.
    let mut other = Client::connect(node.addr());
    assert_eq!(other.cmd(&["PING"]), Frame::Simple(b"PONG".to_vec()));
    runner.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    let busy = Frame::Error(
        b"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            .to_vec(),
    );
    let mut saw_busy = false;
    for _ in 0..500 {
        if other.cmd(&["GET", "x"]) == busy {
            saw_busy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_busy, "other clients get BUSY while the script runs");
    // A client connecting now (registering it needs the engine) is answered too, as redis
    // answers it: BUSY, and SCRIPT KILL works from there (how redis-cli stops a runaway script).
    let mut late = Client::connect(node.addr());
    assert_eq!(late.cmd(&["PING"]), busy, "a new connection gets BUSY");
    assert_eq!(other.cmd(&["GET", "x"]), busy, "still busy");
    assert_eq!(late.cmd(&["SCRIPT", "KILL"]), Frame::Simple(b"OK".to_vec()));
    let Frame::Error(e) = runner.read() else {
        panic!("killed script replies an error")
    };
    assert!(
        String::from_utf8_lossy(&e).starts_with("ERR Script killed by user with SCRIPT KILL...")
    );
    assert_eq!(other.cmd(&["PING"]), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(late.cmd(&["PING"]), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(
        late.cmd(&["CLIENT", "GETNAME"]),
        Frame::Null,
        "registered once the script ended"
    );
    assert_eq!(
        other.cmd(&["SCRIPT", "KILL"]),
        Frame::Error(b"NOTBUSY No scripts in execution right now.".to_vec())
    );

    // After a write the script is unkillable and runs to its end.
    runner.send(&[
        "EVAL",
        "redis.call('set', 'w', 1) local i = 0 while i < 60000000 do i = i + 1 end return i",
        "0",
    ]);
    let mut answer = None;
    let mut seen = Vec::new();
    for _ in 0..500 {
        match other.cmd(&["SCRIPT", "KILL"]) {
            Frame::Error(e) if e.starts_with(b"UNKILLABLE") => {
                answer = Some(e);
                break;
            }
            other => {
                seen.push(other);
                std::thread::sleep(Duration::from_millis(10))
            }
        }
    }
    seen.dedup();
    if answer.is_none() {
        runner.set_timeout(Duration::from_secs(5));
        panic!(
            "no UNKILLABLE; runner replied {:?}; other saw {seen:?}",
            runner.try_read()
        );
    }
    assert!(
        answer.is_some(),
        "SCRIPT KILL of a script that wrote is refused; got {seen:?}"
    );
    assert_eq!(runner.read(), Frame::Int(60000000));
    assert_eq!(other.cmd(&["GET", "w"]), Frame::Bulk(b"1".to_vec()));
}

/// SHUTDOWN NOSAVE stops a busy script, even one that wrote, and the node shuts down.
#[test]
fn shutdown_nosave_stops_a_busy_script() {
    let node = start_ours(&[]);
    let mut admin = Client::connect(node.addr());
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "lua-time-limit", "50"]),
        Frame::Simple(b"OK".to_vec())
    );
    let mut runner = Client::connect(node.addr());
    runner.set_timeout(Duration::from_secs(60));
    runner.send(&["EVAL", "redis.call('set', 'w', 1) while true do end", "0"]);
    let mut saw_unkillable = false;
    for _ in 0..500 {
        match admin.cmd(&["SCRIPT", "KILL"]) {
            Frame::Error(e) if e.starts_with(b"UNKILLABLE") => {
                saw_unkillable = true;
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    assert!(saw_unkillable);
    admin.send(&["SHUTDOWN", "NOSAVE"]);
    // The script is stopped: its client gets the kill error (or sees the node close).
    match runner.try_read() {
        Some(Frame::Error(e)) => assert!(e.starts_with(b"ERR Script killed")),
        Some(other) => panic!("unexpected reply {other}"),
        None => {}
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        node.wait();
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "the node shut down"
    );
}

const LIB_A: &str = "#!lua name=liba\n\
    redis.register_function{function_name='a_get', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n\
    redis.register_function('a_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
/// Long enough that redis compresses it (LZF) in its payloads.
const LIB_B: &str = "#!lua name=libb\n\
    -- padding padding padding padding padding padding padding padding padding padding\n\
    redis.register_function('b_echo', function(keys, args) return args end)";

/// FUNCTION DUMP payloads move both ways between our node and redis-server 7.0, and so do
/// RDB files holding function libraries.
#[test]
fn function_dump_restore_and_rdb_across_servers() {
    let node = start_ours(&[]);
    let real = start_real(&[]);
    let ok = Frame::Simple(b"OK".to_vec());
    for (src_addr, dst_addr, from) in [
        (node.addr(), real.addr, "ours"),
        (real.addr, node.addr(), "redis"),
    ] {
        let (src, dst) = (
            &mut Client::connect(src_addr),
            &mut Client::connect(dst_addr),
        );
        for c in [&mut *src, &mut *dst] {
            assert_eq!(c.cmd(&["FUNCTION", "FLUSH"]), ok);
        }
        assert_eq!(
            src.cmd(&["FUNCTION", "LOAD", LIB_A]),
            Frame::Bulk(b"liba".to_vec())
        );
        assert_eq!(
            src.cmd(&["FUNCTION", "LOAD", LIB_B]),
            Frame::Bulk(b"libb".to_vec())
        );
        let Frame::Bulk(payload) = src.cmd(&["FUNCTION", "DUMP"]) else {
            panic!("FUNCTION DUMP from {from}")
        };
        let restore = |c: &mut Client, policy: &str| {
            c.cmd(&[
                b"FUNCTION".as_slice(),
                b"RESTORE",
                &payload,
                policy.as_bytes(),
            ])
        };
        assert_eq!(restore(dst, "APPEND"), ok, "RESTORE from {from}");
        // Which of the two libraries redis names first is its hash table's order.
        let Frame::Error(e) = restore(dst, "APPEND") else {
            panic!("second APPEND from {from} is refused")
        };
        let e = String::from_utf8_lossy(&e).to_string();
        assert!(
            e == "ERR Library liba already exists" || e == "ERR Library libb already exists",
            "{e}"
        );
        assert_eq!(restore(dst, "REPLACE"), ok);
        assert_eq!(restore(dst, "FLUSH"), ok);
        for args in [
            &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "libb"][..],
            &["FCALL", "a_set", "1", "k", "v"],
            &["FCALL_RO", "a_get", "1", "k"],
            &["FCALL", "b_echo", "0", "x", "y"],
            &["FUNCTION", "STATS"],
        ] {
            assert_eq!(
                src.cmd(args),
                dst.cmd(args),
                "{args:?} after RESTORE from {from}"
            );
        }
        let mut corrupt = payload.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert_eq!(
            dst.cmd(&[b"FUNCTION".as_slice(), b"RESTORE", &corrupt]),
            Frame::Error(b"ERR DUMP payload version or checksum are wrong".to_vec())
        );
    }

    // RDB files: redis-server's libraries load into our node, and ours into redis-server.
    let dir_real = tempfile::tempdir().unwrap();
    let dir_ours = tempfile::tempdir().unwrap();
    let real_dir = dir_real.path().to_str().unwrap();
    let ours_dir = dir_ours.path().to_str().unwrap();
    {
        let real = start_real(&["--dir", real_dir]);
        let mut r = Client::connect(real.addr);
        r.cmd(&["FUNCTION", "LOAD", LIB_A]);
        assert_eq!(r.cmd(&["SAVE"]), ok);
    }
    std::fs::copy(
        dir_real.path().join("dump.rdb"),
        dir_ours.path().join("dump.rdb"),
    )
    .unwrap();
    let node = start_ours(&["--dir", ours_dir]);
    let mut n = Client::connect(node.addr());
    assert_eq!(n.cmd(&["FCALL", "a_set", "1", "k", "from-rdb"]), ok);
    n.cmd(&["FUNCTION", "LOAD", LIB_B]);
    assert_eq!(n.cmd(&["SAVE"]), ok);
    std::fs::copy(
        dir_ours.path().join("dump.rdb"),
        dir_real.path().join("dump.rdb"),
    )
    .unwrap();
    let real = start_real(&["--dir", real_dir]);
    let mut r = Client::connect(real.addr);
    assert_eq!(
        r.cmd(&["FCALL_RO", "a_get", "1", "k"]),
        Frame::Bulk(b"from-rdb".to_vec())
    );
    assert_eq!(
        r.cmd(&["FCALL", "b_echo", "0", "z"]),
        Frame::Array(vec![Frame::Bulk(b"z".to_vec())])
    );
}

/// A function past `busy-reply-threshold` makes others get BUSY (naming FUNCTION KILL); SCRIPT
/// KILL does not stop it, FUNCTION KILL does; FUNCTION STATS shows it meanwhile.
#[test]
fn busy_function_and_function_kill() {
    let node = start_ours(&[]);
    let mut admin = Client::connect(node.addr());
    admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    admin.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=spin\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)",
    ]);
    let mut runner = Client::connect(node.addr());
    runner.set_timeout(Duration::from_secs(60));
    runner.send(&["FCALL", "spin", "0"]);
    let busy = Frame::Error(
        b"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            .to_vec(),
    );
    let mut saw_busy = false;
    for _ in 0..500 {
        if admin.cmd(&["PING"]) == busy {
            saw_busy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_busy, "others get BUSY while the function runs");
    assert_eq!(admin.cmd(&["SCRIPT", "KILL"]), busy);
    let Frame::Array(stats) = admin.cmd(&["FUNCTION", "STATS"]) else {
        panic!("FUNCTION STATS answers while busy")
    };
    let Frame::Array(running) = &stats[1] else {
        panic!("running_script is set: {stats:?}")
    };
    assert_eq!(
        running[..2],
        [Frame::Bulk(b"name".to_vec()), Frame::Bulk(b"spin".to_vec())]
    );
    assert_eq!(
        admin.cmd(&["FUNCTION", "KILL"]),
        Frame::Simple(b"OK".to_vec())
    );
    let Frame::Error(e) = runner.read() else {
        panic!("a killed function replies an error")
    };
    assert!(String::from_utf8_lossy(&e).starts_with("ERR Script killed by user"));
    assert_eq!(admin.cmd(&["PING"]), Frame::Simple(b"PONG".to_vec()));
}

/// redis's `unit/multi` "script timeout" cases: while a script is busy, MULTI, EXEC and DISCARD
/// pass, a refused command flags the transaction, and EXEC answers EXECABORT; nothing of a
/// transaction runs half. Replies compared with redis-server's.
#[test]
fn transactions_during_a_busy_script_match_redis() {
    // What of the transaction happens while the script is busy (redis's four test names).
    #[derive(Clone, Copy, Debug)]
    enum Case {
        Multi,
        Exec,
        Body,
        JustExec,
    }
    fn run(addr: std::net::SocketAddr, case: Case) -> Vec<Frame> {
        let mut admin = Client::connect(addr);
        let mut runner = Client::connect(addr);
        let mut probe = Client::connect(addr);
        let mut r2 = Client::connect(addr);
        runner.set_timeout(Duration::from_secs(60));
        admin.cmd(&["CONFIG", "SET", "lua-time-limit", "10"]);
        admin.cmd(&["SET", "xx", "1"]);
        let mut seen = Vec::new();
        if !matches!(case, Case::Multi) {
            seen.push(r2.cmd(&["MULTI"]));
            seen.push(r2.cmd(&["INCR", "xx"]));
        }
        runner.send(&["EVAL", "while true do end", "0"]);
        let busy = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            matches!(probe.cmd(&["PING"]), Frame::Error(e) if e.starts_with(b"BUSY"))
        });
        assert!(busy, "{case:?}: the script got busy");
        match case {
            Case::Multi => {
                seen.push(r2.cmd(&["MULTI"]));
                seen.push(r2.cmd(&["INCR", "xx"]));
                seen.push(admin.cmd(&["SCRIPT", "KILL"]));
                runner.read();
                seen.push(r2.cmd(&["INCR", "xx"]));
                seen.push(r2.cmd(&["EXEC"]));
            }
            Case::Exec => {
                seen.push(r2.cmd(&["INCR", "xx"]));
                seen.push(r2.cmd(&["EXEC"]));
                seen.push(admin.cmd(&["SCRIPT", "KILL"]));
                runner.read();
            }
            Case::Body => {
                seen.push(r2.cmd(&["INCR", "xx"]));
                seen.push(admin.cmd(&["SCRIPT", "KILL"]));
                runner.read();
                seen.push(r2.cmd(&["EXEC"]));
            }
            Case::JustExec => {
                seen.push(r2.cmd(&["EXEC"]));
                seen.push(admin.cmd(&["SCRIPT", "KILL"]));
                runner.read();
            }
        }
        seen.push(admin.cmd(&["GET", "xx"]));
        // Out of MULTI: PING answers at once.
        seen.push(r2.cmd(&["PING", "asdf"]));
        seen.push(r2.cmd(&["DISCARD"]));
        seen
    }
    let ours = start_ours(&[]);
    let real = start_real(&[]);
    for case in [Case::Multi, Case::Exec, Case::Body, Case::JustExec] {
        let a = run(ours.addr(), case);
        let b = run(real.addr, case);
        let show = |v: &[Frame]| {
            v.iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        };
        assert_eq!(a, b, "{case:?}\n ours: {}\n redis: {}", show(&a), show(&b));
    }
}
