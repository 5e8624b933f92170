//! Bad input does not hurt: malformed requests get redis's protocol error and a closed
//! connection, oversized bulk lengths are refused, half-finished requests cost nothing once the
//! client leaves, and other clients are served throughout. One test per binary run so that the
//! process-wide `used_memory` reflects this node only.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::io::Write;

fn used(c: &mut Client) -> i64 {
    info_field(c, "memory", "used_memory")
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn bad_input_is_contained() {
    let node = start_ours(&[]);
    let mut bystander = Client::connect(node.addr());
    bystander.cmd(&["SET", "safe", "1"]);

    for (raw, err) in [
        (
            &b"*1\r\n+PING\r\n"[..],
            "ERR Protocol error: expected '$', got '+'",
        ),
        (b"*-\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"),
        (
            b"*1\r\n$536870913\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (
            b"SET a \"b\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ] {
        let mut c = Client::connect(node.addr());
        c.send_raw(raw);
        assert_eq!(c.read(), Frame::Error(err.as_bytes().to_vec()));
        assert!(c.is_closed());
        assert_eq!(bystander.cmd(&["GET", "safe"]), bulk("1"));
    }
    // Commands before the error in the same packet are answered first.
    let mut c = Client::connect(node.addr());
    c.send_raw(b"PING\r\n*1\r\n+x\r\n");
    assert_eq!(c.read(), simple("PONG"));
    assert!(c.read().is_error());
    assert!(c.is_closed());

    // Inline request longer than 64 KiB without a newline.
    let mut c = Client::connect(node.addr());
    c.send_raw(&vec![b'a'; 70 * 1024]);
    assert_eq!(
        c.read(),
        Frame::Error(b"ERR Protocol error: too big inline request".to_vec())
    );
    assert!(c.is_closed());

    // proto-max-bulk-len is honoured and configurable.
    bystander.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]);
    let mut c = Client::connect(node.addr());
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    assert_eq!(
        c.read(),
        Frame::Error(b"ERR Protocol error: invalid bulk length".to_vec())
    );
    assert!(c.is_closed());
    bystander.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]);

    // A half-finished 64 MB argument: memory grows while it arrives and is given back when the
    // client goes away; other clients are served meanwhile.
    let before = used(&mut bystander);
    let mut c = Client::connect(node.addr());
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$67108864\r\n");
    let chunk = vec![b'z'; 1 << 20];
    for _ in 0..48 {
        c.stream.write_all(&chunk).unwrap();
    }
    let mut during = 0;
    for _ in 0..200 {
        during = used(&mut bystander);
        if during - before > 40 << 20 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        during - before > 40 << 20,
        "buffered {} bytes",
        during - before
    );
    assert_eq!(bystander.cmd(&["GET", "safe"]), bulk("1"));
    drop(c);
    let mut after = i64::MAX;
    for _ in 0..200 {
        after = used(&mut bystander);
        if after - before < 4 << 20 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        after - before < 4 << 20,
        "kept {} bytes after the client left",
        after - before
    );
    assert_eq!(bystander.cmd(&["EXISTS", "big"]), int(0));

    // Pipelining thousands of commands in one write works and keeps order.
    let mut c = Client::connect(node.addr());
    let mut batch = Vec::new();
    for i in 0..5000 {
        batch.extend_from_slice(&Client::encode(&["INCR", "ctr"]));
        let _ = i;
    }
    c.send_raw(&batch);
    for i in 1..=5000 {
        assert_eq!(c.read(), int(i));
    }
}
