//! End-to-end behaviour over real sockets that a request/reply diff cannot show: blocking list
//! commands (wake-up order, timeouts, BLMOVE), pub/sub with keyspace notifications,
//! MULTI/WATCH across connections, CLIENT KILL, managed mode and the control socket.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::time::Duration;

fn arr(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

/// Waits until the server reports `n` blocked clients (bounded).
fn wait_blocked(c: &mut Client, n: usize) {
    for _ in 0..500 {
        if info_field(c, "clients", "blocked_clients").as_deref() == Some(&n.to_string()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("never saw {n} blocked clients");
}

#[test]
fn blocking_pops_wake_in_order_and_time_out() {
    let node = start_ours(&[]);
    let mut a = Client::connect(node.addr());
    let mut b = Client::connect(node.addr());
    let mut w = Client::connect(node.addr());
    a.send(&["BLPOP", "q1", "q2", "0"]);
    wait_blocked(&mut w, 1);
    b.send(&["BLPOP", "q1", "0"]);
    wait_blocked(&mut w, 2);
    // One push of two elements: the first waiter gets the first, the second the next.
    assert_eq!(w.cmd(&["RPUSH", "q1", "x", "y"]), int(2));
    assert_eq!(a.read(), arr(&["q1", "x"]));
    assert_eq!(b.read(), arr(&["q1", "y"]));
    assert_eq!(w.cmd(&["LLEN", "q1"]), int(0));

    // A key other than the first one wakes the client; it resumes its pipelined commands.
    a.send(&["BRPOP", "q1", "q2", "0"]);
    a.send(&["PING"]);
    wait_blocked(&mut w, 1);
    w.cmd(&["LPUSH", "q2", "z"]);
    assert_eq!(a.read(), arr(&["q2", "z"]));
    assert_eq!(a.read(), simple("PONG"));

    // Timeouts reply with a null array (BLPOP) or a null bulk (BLMOVE).
    assert_eq!(a.cmd(&["BLPOP", "none", "0.05"]), Frame::Null);
    assert_eq!(
        a.cmd(&["BLMOVE", "none", "dst", "LEFT", "RIGHT", "0.05"]),
        Frame::Null
    );

    // BLMOVE wakes on push and moves the element; the destination may wake another waiter.
    a.send(&["BLMOVE", "src", "mid", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut w, 1);
    b.send(&["BLPOP", "mid", "0"]);
    wait_blocked(&mut w, 2);
    w.cmd(&["RPUSH", "src", "v"]);
    assert_eq!(a.read(), bulk("v"));
    assert_eq!(b.read(), arr(&["mid", "v"]));

    // Sorted sets block too.
    a.send(&["BZPOPMIN", "zz", "0"]);
    wait_blocked(&mut w, 1);
    w.cmd(&["ZADD", "zz", "2", "m"]);
    assert_eq!(
        a.read(),
        Frame::Array(vec![bulk("zz"), bulk("m"), bulk("2")])
    );

    // Inside MULTI a blocking pop does not block.
    w.cmd(&["MULTI"]);
    w.cmd(&["BLPOP", "none", "0"]);
    assert_eq!(w.cmd(&["EXEC"]), Frame::Array(vec![Frame::Null]));

    // A client that disconnects while blocked does not swallow data.
    let mut gone = Client::connect(node.addr());
    gone.send(&["BLPOP", "late", "0"]);
    wait_blocked(&mut w, 1);
    drop(gone);
    wait_blocked(&mut w, 0);
    w.cmd(&["RPUSH", "late", "kept"]);
    assert_eq!(w.cmd(&["LRANGE", "late", "0", "-1"]), arr(&["kept"]));
}

fn a_id(node: &node::redis::RedisNode) -> Option<i64> {
    let mut c = Client::connect(node.addr());
    match c.cmd(&["CLIENT", "LIST"]) {
        Frame::Bulk(b) | Frame::Verbatim(b) => {
            let text = String::from_utf8_lossy(&b).to_string();
            text.lines()
                .find(|l| l.contains("flags=b"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|f| f.strip_prefix("id="))
                .and_then(|v| v.parse().ok())
        }
        _ => None,
    }
}

#[test]
fn client_unblock_and_kill() {
    let node = start_ours(&[]);
    let mut a = Client::connect(node.addr());
    let mut w = Client::connect(node.addr());
    a.send(&["BLPOP", "never", "0"]);
    wait_blocked(&mut w, 1);
    let id = a_id(&node).expect("blocked client listed").to_string();
    assert_eq!(w.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
    assert_eq!(
        a.read(),
        Frame::Error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK".to_vec())
    );
    assert_eq!(w.cmd(&["CLIENT", "KILL", "ID", &id]), int(1));
    assert!(a.is_closed());
    assert_eq!(w.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn pubsub_with_keyspace_notifications() {
    let node = start_ours(&[]);
    let mut sub = Client::connect(node.addr());
    let mut psub = Client::connect(node.addr());
    let mut w = Client::connect(node.addr());
    assert_eq!(
        w.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        simple("OK")
    );
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "news", "__keyevent@0__:expired"]),
        Frame::Array(vec![bulk("subscribe"), bulk("news"), int(1)])
    );
    assert_eq!(
        sub.read(),
        Frame::Array(vec![
            bulk("subscribe"),
            bulk("__keyevent@0__:expired"),
            int(2)
        ])
    );
    assert_eq!(
        psub.cmd(&["PSUBSCRIBE", "__keyspace@0__:*"]),
        Frame::Array(vec![bulk("psubscribe"), bulk("__keyspace@0__:*"), int(1)])
    );
    // In RESP2 pub/sub mode other commands are refused.
    assert!(sub.cmd(&["GET", "x"]).is_error());

    assert_eq!(w.cmd(&["PUBLISH", "news", "hello"]), int(1));
    assert_eq!(
        sub.read(),
        Frame::Array(vec![bulk("message"), bulk("news"), bulk("hello")])
    );

    w.cmd(&["SET", "k", "v"]);
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:k"),
            bulk("set")
        ])
    );
    w.cmd(&["LPUSH", "l", "a"]);
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:l"),
            bulk("lpush")
        ])
    );
    w.cmd(&["DEL", "l"]);
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:l"),
            bulk("del")
        ])
    );

    // A key expiring on its own (active expiry, nobody touches it) is announced.
    w.cmd(&["SET", "t", "v", "PX", "30"]);
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:t"),
            bulk("set")
        ])
    );
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:t"),
            bulk("expire")
        ])
    );
    assert_eq!(
        sub.read(),
        Frame::Array(vec![
            bulk("message"),
            bulk("__keyevent@0__:expired"),
            bulk("t")
        ])
    );
    assert_eq!(
        psub.read(),
        Frame::Array(vec![
            bulk("pmessage"),
            bulk("__keyspace@0__:*"),
            bulk("__keyspace@0__:t"),
            bulk("expired")
        ])
    );

    assert_eq!(
        w.cmd(&["PUBSUB", "NUMSUB", "news"]),
        Frame::Array(vec![bulk("news"), int(1)])
    );
    assert_eq!(w.cmd(&["PUBSUB", "NUMPAT"]), int(1));
    sub.send(&["UNSUBSCRIBE"]);
    let mut left = Vec::new();
    for _ in 0..2 {
        if let Frame::Array(v) = sub.read() {
            left.push(v[2].clone());
        }
    }
    assert_eq!(left, vec![int(1), int(0)]);
    assert_eq!(sub.cmd(&["GET", "k"]), bulk("v"));

    // RESP3: pushes arrive as push frames and normal commands keep working.
    let mut r3 = Client::connect(node.addr());
    assert!(matches!(r3.cmd(&["HELLO", "3"]), Frame::Map(_)));
    assert_eq!(
        r3.cmd(&["SUBSCRIBE", "c3"]),
        Frame::Push(vec![bulk("subscribe"), bulk("c3"), int(1)])
    );
    assert_eq!(r3.cmd(&["PING"]), simple("PONG"));
    w.cmd(&["PUBLISH", "c3", "m"]);
    assert_eq!(
        r3.read(),
        Frame::Push(vec![bulk("message"), bulk("c3"), bulk("m")])
    );
    // A RESP3 client subscribed to its own key events gets them before its reply, as in redis.
    assert_eq!(
        r3.cmd(&["SUBSCRIBE", "__keyevent@0__:set"]),
        Frame::Push(vec![bulk("subscribe"), bulk("__keyevent@0__:set"), int(2)])
    );
    r3.send(&["SET", "mine", "1"]);
    assert_eq!(
        r3.read(),
        Frame::Push(vec![
            bulk("message"),
            bulk("__keyevent@0__:set"),
            bulk("mine")
        ])
    );
    assert_eq!(r3.read(), simple("OK"));
}

#[test]
fn multi_watch_across_connections() {
    let node = start_ours(&[]);
    let mut a = Client::connect(node.addr());
    let mut b = Client::connect(node.addr());
    a.cmd(&["SET", "bal", "10"]);
    assert_eq!(a.cmd(&["WATCH", "bal"]), simple("OK"));
    assert_eq!(b.cmd(&["INCRBY", "bal", "5"]), int(15));
    a.cmd(&["MULTI"]);
    assert_eq!(a.cmd(&["DECRBY", "bal", "3"]), simple("QUEUED"));
    assert_eq!(a.cmd(&["EXEC"]), Frame::Null);
    assert_eq!(a.cmd(&["GET", "bal"]), bulk("15"));

    // Untouched watch: the transaction runs, atomically, with every reply.
    a.cmd(&["WATCH", "bal"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["DECRBY", "bal", "3"]);
    a.cmd(&["GET", "bal"]);
    assert_eq!(a.cmd(&["EXEC"]), Frame::Array(vec![int(12), bulk("12")]));

    // Watched key deleted by another client, or flushed, or expired: EXEC fails.
    a.cmd(&["WATCH", "bal"]);
    b.cmd(&["FLUSHDB"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "bal", "1"]);
    assert_eq!(a.cmd(&["EXEC"]), Frame::Null);
    a.cmd(&["SET", "tmp", "1", "PX", "20"]);
    a.cmd(&["WATCH", "tmp"]);
    std::thread::sleep(Duration::from_millis(60));
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "x", "1"]);
    assert_eq!(a.cmd(&["EXEC"]), Frame::Null);

    // Errors while queueing abort the whole transaction.
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "x", "2"]);
    assert!(a.cmd(&["NOSUCHCMD"]).is_error());
    assert_eq!(
        a.cmd(&["EXEC"]),
        Frame::Error(b"EXECABORT Transaction discarded because of previous errors.".to_vec())
    );
    assert_eq!(a.cmd(&["GET", "x"]), Frame::Null);

    // Other connections see nothing of a transaction until it executes.
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "y", "1"]);
    assert_eq!(b.cmd(&["GET", "y"]), Frame::Null);
    a.cmd(&["EXEC"]);
    assert_eq!(b.cmd(&["GET", "y"]), bulk("1"));
}

#[test]
fn managed_mode_and_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let sock_s = sock.display().to_string();
    let node = start_ours(&["--managed", "--control-socket", &sock_s]);
    let mut c = Client::connect(node.addr());
    for cmd in [
        vec!["CONFIG", "GET", "maxmemory"],
        vec!["BGSAVE"],
        vec!["SAVE"],
        vec!["DEBUG", "SLEEP", "0"],
        vec!["SLAVEOF", "NO", "ONE"],
        vec!["REPLICAOF", "NO", "ONE"],
        vec!["SHUTDOWN"],
        vec!["BGREWRITEAOF"],
        vec!["MIGRATE", "h", "1", "k", "0", "1"],
    ] {
        match c.cmd(&cmd) {
            Frame::Error(e) => {
                let e = String::from_utf8_lossy(&e).to_string();
                assert!(
                    e.starts_with(&format!("ERR unknown command '{}'", cmd[0])),
                    "{e}"
                );
            }
            other => panic!("{cmd:?} allowed in managed mode: {other}"),
        }
    }
    assert_eq!(c.cmd(&["SET", "a", "1"]), simple("OK"));
    // The control socket speaks the same protocol with admin rights.
    let mut u = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    use std::io::{Read, Write};
    u.write_all(&Client::encode(&[
        "CONFIG",
        "SET",
        "maxmemory-policy",
        "allkeys-lru",
    ]))
    .unwrap();
    u.write_all(&Client::encode(&["GET", "a"])).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    while Frame::parse_all(&buf).map_or(true, |v| v.len() < 2) {
        let n = u.read(&mut chunk).unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(
        Frame::parse_all(&buf).unwrap(),
        vec![simple("OK"), bulk("1")]
    );
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory_policy").as_deref(),
        Some("allkeys-lru")
    );
}

#[test]
fn auth_select_and_client_commands() {
    let node = start_ours(&["--param", "requirepass=s3cret"]);
    let mut c = Client::connect(node.addr());
    assert_eq!(
        c.cmd(&["GET", "a"]),
        Frame::Error(b"NOAUTH Authentication required.".to_vec())
    );
    assert!(c.cmd(&["AUTH", "wrong"]).is_error());
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), simple("OK"));
    assert_eq!(c.cmd(&["SELECT", "3"]), simple("OK"));
    c.cmd(&["SET", "in3", "x"]);
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "me"]), simple("OK"));
    let list = c.cmd(&["CLIENT", "LIST"]);
    let text = String::from_utf8_lossy(list.as_bytes().unwrap()).to_string();
    assert!(text.contains("name=me") && text.contains("db=3"), "{text}");
    let mut d = Client::connect(node.addr());
    assert!(matches!(
        d.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]),
        Frame::Map(_)
    ));
    assert_eq!(d.cmd(&["GET", "in3"]), Frame::Null);
    assert_eq!(d.cmd(&["SELECT", "3"]), simple("OK"));
    assert_eq!(d.cmd(&["GET", "in3"]), bulk("x"));
    assert_eq!(
        info_field(&mut d, "clients", "connected_clients").as_deref(),
        Some("2")
    );
}

#[test]
fn stream_reads_block_until_xadd() {
    let node = start_ours(&[]);
    let mut a = Client::connect(node.addr());
    let mut b = Client::connect(node.addr());
    let mut w = Client::connect(node.addr());
    assert_eq!(
        a.cmd(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]),
        Frame::Null
    );
    a.send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut w, 1);
    w.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    b.send(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ]);
    wait_blocked(&mut w, 2);
    assert_eq!(w.cmd(&["XADD", "s", "1-1", "f", "v"]), bulk("1-1"));
    let entry = Frame::Array(vec![bulk("1-1"), Frame::Array(vec![bulk("f"), bulk("v")])]);
    let expected = Frame::Array(vec![Frame::Array(vec![
        bulk("s"),
        Frame::Array(vec![entry]),
    ])]);
    assert_eq!(a.read(), expected);
    assert_eq!(b.read(), expected);
    // The group delivery is pending for consumer c.
    match w.cmd(&["XPENDING", "s", "g"]) {
        Frame::Array(v) => assert_eq!(v[0], int(1)),
        f => panic!("{f}"),
    }
}

#[test]
fn unauthenticated_requests_get_small_limits_until_auth() {
    let node = start_ours(&["--param", "requirepass=pw"]);
    // More than 10 arguments before AUTH: redis's protocol error, connection closed.
    let mut c = Client::connect(node.addr());
    let args: Vec<String> = (0..12).map(|i| format!("a{i}")).collect();
    c.send(&args);
    assert_eq!(
        c.read(),
        Frame::Error(b"ERR Protocol error: unauthenticated multibulk length".to_vec())
    );
    assert!(c.is_closed());
    // AUTH and a large request in the same packet: AUTH is applied first, then the request.
    let mut c = Client::connect(node.addr());
    let big = "v".repeat(100_000);
    let mut raw = Client::encode(&["AUTH", "pw"]);
    raw.extend_from_slice(&Client::encode(&["SET", "big", &big]));
    raw.extend_from_slice(&Client::encode(&["STRLEN", "big"]));
    c.send_raw(&raw);
    assert_eq!(c.read(), simple("OK"));
    assert_eq!(c.read(), simple("OK"));
    assert_eq!(c.read(), int(100_000));
}
