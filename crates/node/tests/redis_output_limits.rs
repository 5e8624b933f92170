//! Client output buffer limits (`client-output-buffer-limit`), side by side with redis-server
//! 7.0 over real sockets: each scenario runs against both servers and must end the same way.
//!
//! - a pub/sub subscriber that stops reading is dropped at the pub/sub hard limit: PUBLISH
//!   soon counts no receiver, the subscriber reads the end of its stream;
//! - over the soft limit it is kept at first, then dropped once the soft seconds have passed,
//!   with no further output needed to notice;
//! - a normal client that pipelines requests for a large value and reads nothing is dropped
//!   at the normal hard limit;
//! - CLIENT LIST `omem` and INFO `client_recent_max_output_buffer` show the backlog (the
//!   latter as sampled by the client cron), and
//!   ElastiCache's parameter names (`client-output-buffer-limit-pubsub-hard-limit`, ...) set
//!   the same limits on our node.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A connection with a small receive buffer, so that unread output piles up in the server
/// rather than in the kernel.
fn slow_reader(addr: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    s.connect(&addr.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the server closes the connection; false if it is still open after the timeout.
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) | Frame::Verbatim(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        other => format!("{other:?}"),
    }
}

/// `field=value` of the CLIENT LIST line of client `id`, if it is connected.
fn client_field(c: &mut Client, id: i64, field: &str) -> Option<String> {
    let list = text(&c.cmd(&["CLIENT", "LIST", "ID", &id.to_string()]));
    let line = list.lines().next()?;
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .map(str::to_string)
}

fn wait_gone(c: &mut Client, id: i64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if client_field(c, id, "id").is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Subscribes a slow reader to `ch`; returns it and its client id.
fn subscriber(addr: SocketAddr, ch: &str) -> (TcpStream, i64) {
    let mut s = slow_reader(addr);
    s.write_all(&Client::encode(&["CLIENT", "ID"])).unwrap();
    s.write_all(&Client::encode(&["SUBSCRIBE", ch])).unwrap();
    // `:<id>\r\n` then the subscribe confirmation; read just those.
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !(got.ends_with(b"\r\n:1\r\n") && got.starts_with(b":")) {
        s.read_exact(&mut b).unwrap();
        got.push(b[0]);
    }
    let id = std::str::from_utf8(&got[1..got.iter().position(|&c| c == b'\r').unwrap()])
        .unwrap()
        .parse()
        .unwrap();
    (s, id)
}

/// The scenarios, run against the server at `addr`; `name` tells which in failures.
fn hard_limit_drops_a_slow_subscriber(addr: SocketAddr, name: &str) {
    let mut c = Client::connect(addr);
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0"
        ]),
        simple("OK")
    );
    let (mut sub, id) = subscriber(addr, "news");
    let msg = "m".repeat(100_000);
    let mut dropped_after = None;
    for i in 0..1000 {
        match c.cmd(&["PUBLISH", "news", &msg]) {
            Frame::Int(1) => {}
            Frame::Int(0) => {
                dropped_after = Some(i);
                break;
            }
            other => panic!("{name}: PUBLISH: {other:?}"),
        }
    }
    assert!(dropped_after.is_some(), "{name}: never dropped");
    assert!(wait_gone(&mut c, id), "{name}: still listed");
    assert!(closed_by_server(&mut sub), "{name}: connection left open");
}

fn soft_limit_drops_after_the_soft_seconds(addr: SocketAddr, name: &str) {
    let mut c = Client::connect(addr);
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 256kb 1"
        ]),
        simple("OK")
    );
    let (mut sub, id) = subscriber(addr, "news");
    let msg = "s".repeat(32_000);
    let mut over = false;
    for _ in 0..2000 {
        assert_eq!(c.cmd(&["PUBLISH", "news", &msg]), int(1), "{name}");
        let omem: u64 = client_field(&mut c, id, "omem")
            .unwrap_or_else(|| panic!("{name}: subscriber dropped under the soft limit"))
            .parse()
            .unwrap();
        if omem >= 256 * 1024 {
            over = true;
            break;
        }
    }
    assert!(over, "{name}: output never reached the soft limit");
    // Over the soft limit, but not for long yet: still there.
    assert!(
        client_field(&mut c, id, "id").is_some(),
        "{name}: dropped at once"
    );
    // Nothing more is published: the server notices the time on its own.
    assert!(wait_gone(&mut c, id), "{name}: kept past the soft seconds");
    assert!(closed_by_server(&mut sub), "{name}: connection left open");
    // The client cron saw its backlog while it waited.
    let peak: u64 = info_field(&mut c, "clients", "client_recent_max_output_buffer")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        peak >= 256 * 1024,
        "{name}: recent max output buffer {peak}"
    );
}

fn normal_hard_limit_drops_a_client_that_does_not_read(addr: SocketAddr, name: &str) {
    let mut c = Client::connect(addr);
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 0 0"
        ]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["SET", "big", &"b".repeat(500_000)]), simple("OK"));
    let mut greedy = slow_reader(addr);
    greedy
        .write_all(&Client::encode(&["CLIENT", "ID"]))
        .unwrap();
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        greedy.read_exact(&mut b).unwrap();
        line.push(b[0]);
    }
    let id: i64 = std::str::from_utf8(&line[1..line.len() - 2])
        .unwrap()
        .parse()
        .unwrap();
    let mut batch = Vec::new();
    for _ in 0..40 {
        batch.extend(Client::encode(&["GET", "big"]));
    }
    greedy.write_all(&batch).unwrap();
    assert!(
        wait_gone(&mut c, id),
        "{name}: a client over the normal limit is kept"
    );
    assert!(
        closed_by_server(&mut greedy),
        "{name}: connection left open"
    );
    // Others are served as before.
    assert_eq!(c.cmd(&["STRLEN", "big"]), int(500_000));
}

#[test]
fn pubsub_hard_limit_same_as_redis() {
    let real = start_real(&[]);
    hard_limit_drops_a_slow_subscriber(real.addr, "redis-server");
    let ours = start_ours(&[]);
    hard_limit_drops_a_slow_subscriber(ours.addr(), "ferrocache");
}

#[test]
fn pubsub_soft_limit_same_as_redis() {
    let real = start_real(&[]);
    soft_limit_drops_after_the_soft_seconds(real.addr, "redis-server");
    let ours = start_ours(&[]);
    soft_limit_drops_after_the_soft_seconds(ours.addr(), "ferrocache");
}

#[test]
fn normal_hard_limit_same_as_redis() {
    let real = start_real(&[]);
    normal_hard_limit_drops_a_client_that_does_not_read(real.addr, "redis-server");
    let ours = start_ours(&[]);
    normal_hard_limit_drops_a_client_that_does_not_read(ours.addr(), "ferrocache");
}

/// The guide's per-field parameter names set the same limits as the Redis triplets.
#[test]
fn elasticache_parameter_names_map_to_the_limits() {
    let ours = start_ours(&[
        "--param",
        "client-output-buffer-limit-pubsub-hard-limit=1048576",
        "--param",
        "client-output-buffer-limit-pubsub-soft-limit=0",
        "--param",
        "client-output-buffer-limit-pubsub-soft-seconds=0",
    ]);
    let mut c = Client::connect(ours.addr());
    let Frame::Array(kv) = c.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]) else {
        panic!("CONFIG GET")
    };
    assert!(
        text(&kv[1]).ends_with("pubsub 1048576 0 0"),
        "{}",
        text(&kv[1])
    );
    // And they are enforced: the hard-limit scenario, without setting the triplet.
    let (mut sub, id) = subscriber(ours.addr(), "news");
    let msg = "m".repeat(100_000);
    let dropped = (0..1000).any(|_| c.cmd(&["PUBLISH", "news", &msg]) == int(0));
    assert!(dropped);
    assert!(wait_gone(&mut c, id));
    assert!(closed_by_server(&mut sub));
}
