//! Bad input gets memcached's answer and never disturbs other clients: garbage, oversized
//! lines, half-sent values, binary framing errors. (The exact replies are checked against real
//! memcached in memcached_diff.rs; here the point is isolation.)

mod memcached_common;

use std::io::{Read, Write};
use std::time::Duration;

use memcached_common::{connect, exchange, read_to_eof, start_node};

#[test]
fn bad_clients_do_not_disturb_others() {
    let node = start_node(&[]);
    let addr = node.addr();
    let mut good = connect(addr);
    assert_eq!(
        exchange(&mut good, b"set keep 0 0 4\r\nsafe\r\n", b"\r\n"),
        b"STORED\r\n"
    );

    // A half-sent value: the line and part of the data, then silence.
    let mut half = connect(addr);
    half.write_all(b"set half 0 0 10\r\n12345").unwrap();

    // A line that never ends: closed without a reply, as memcached does.
    let mut long = connect(addr);
    long.write_all(&[b'z'; 4096]).unwrap();
    assert_eq!(read_to_eof(&mut long), b"");

    // Garbage on the text protocol: ERROR per line, connection kept.
    let mut garbage = connect(addr);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut noise = Vec::new();
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let b = (seed & 0xff) as u8;
        noise.push(if b == b'\n' || b == 0x80 { b'?' } else { b });
    }
    noise.extend_from_slice(b"\r\nversion\r\n");
    garbage.write_all(b"x").unwrap(); // first byte decides the protocol: text
    garbage.write_all(&noise).unwrap();
    let reply = memcached_common::read_until(&mut garbage, b"VERSION 1.6.18\r\n");
    assert!(
        reply.ends_with(b"VERSION 1.6.18\r\n"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );

    // Binary framing error: "Invalid arguments", then closed.
    let mut bin = connect(addr);
    let mut req = Vec::new();
    memcache_proto::binary::encode_request(&mut req, 0x01, 0, 0, &[], b"k", b"v");
    bin.write_all(&req).unwrap();
    let reply = read_to_eof(&mut bin);
    assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 0x04);
    assert!(reply.ends_with(b"Invalid arguments"));

    // A value over the item limit is refused at once; its bytes are swallowed as they come.
    let mut big = connect(addr);
    big.write_all(b"set big 0 0 5000000\r\n").unwrap();
    let mut line = [0u8; 41];
    big.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"SERVER_ERROR object too large for cache\r\n");
    for _ in 0..50 {
        big.write_all(&[b'y'; 100_000]).unwrap();
    }
    assert_eq!(
        exchange(&mut big, b"\r\nget big\r\n", b"END\r\n"),
        b"END\r\n"
    );

    // Meanwhile the well-behaved client is served normally.
    for i in 0..100 {
        let set = format!("set k{i} 0 0 1\r\n{}\r\n", i % 10);
        assert_eq!(exchange(&mut good, set.as_bytes(), b"\r\n"), b"STORED\r\n");
    }
    assert_eq!(
        exchange(&mut good, b"get keep k7\r\n", b"END\r\n"),
        b"VALUE keep 0 4\r\nsafe\r\nVALUE k7 0 1\r\n7\r\nEND\r\n"
    );

    // The half-sent value completes later and is stored.
    std::thread::sleep(Duration::from_millis(100));
    half.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        exchange(&mut half, b"67890\r\nget half\r\n", b"END\r\n"),
        b"STORED\r\nVALUE half 0 10\r\n1234567890\r\nEND\r\n"
    );
}

#[test]
fn connection_limit_with_maxconns_fast() {
    let node = start_node(&[
        ("max_simultaneous_connections", "3"),
        ("maxconns_fast", "1"),
    ]);
    let addr = node.addr();
    let mut held: Vec<_> = (0..3).map(|_| connect(addr)).collect();
    for c in &mut held {
        assert_eq!(exchange(c, b"version\r\n", b"\r\n"), b"VERSION 1.6.18\r\n");
    }
    let mut extra = connect(addr);
    assert_eq!(
        read_to_eof(&mut extra),
        b"ERROR Too many open connections\r\n"
    );
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut again = connect(addr);
    assert_eq!(
        exchange(&mut again, b"version\r\n", b"\r\n"),
        b"VERSION 1.6.18\r\n"
    );
    let stats = String::from_utf8(exchange(&mut again, b"stats\r\n", b"END\r\n")).unwrap();
    assert!(stats.contains("STAT rejected_connections 1\r\n"), "{stats}");
}
