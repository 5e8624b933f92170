//! Auto Discovery: the control plane sets the cluster configuration over the control socket;
//! clients read it with `config get cluster` (text and binary) and `get AmazonElastiCache:cluster`.

mod memcached_common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use memcached_common::{args, connect, exchange, read_until};

fn admin(path: &std::path::Path, request: &[u8], end: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(path).expect("control socket");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(end) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn config_set(version: u64, nodes: &[&str]) -> Vec<u8> {
    let payload = format!("{version}\n{}\n", nodes.join(" "));
    format!("config set cluster 0 0 {}\r\n{payload}\r\n", payload.len()).into_bytes()
}

/// Parses a text `config get cluster` reply: (header byte count, payload).
fn parse_config_reply(reply: &[u8]) -> (usize, Vec<u8>) {
    let text = String::from_utf8(reply.to_vec()).unwrap();
    let (header, rest) = text.split_once("\r\n").expect("header line");
    let parts: Vec<&str> = header.split(' ').collect();
    assert_eq!(&parts[..3], &["CONFIG", "cluster", "0"], "{text:?}");
    let n: usize = parts[3].parse().unwrap();
    assert!(rest.ends_with("\r\nEND\r\n"), "{text:?}");
    let payload = rest.strip_suffix("\r\nEND\r\n").unwrap();
    (n, payload.as_bytes().to_vec())
}

fn binary_config_get(addr: std::net::SocketAddr) -> (u16, Vec<u8>) {
    let mut c = connect(addr);
    let mut req = Vec::new();
    memcache_proto::binary::encode_request(&mut req, 0x60, 42, 0, &[], b"cluster", b"");
    c.write_all(&req).unwrap();
    let mut header = [0u8; 24];
    c.read_exact(&mut header).unwrap();
    assert_eq!((header[0], header[1]), (0x81, 0x60));
    assert_eq!(
        u32::from_be_bytes(header[12..16].try_into().unwrap()),
        42,
        "opaque echoed"
    );
    let status = u16::from_be_bytes([header[6], header[7]]);
    let extras = header[4] as usize;
    let body = u32::from_be_bytes(header[8..12].try_into().unwrap()) as usize;
    let mut rest = vec![0u8; body];
    c.read_exact(&mut rest).unwrap();
    (status, rest[extras..].to_vec())
}

#[test]
fn three_nodes_then_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let mut a = args(&[]);
    a.control_socket = Some(sock.clone());
    let node = node::memcached::start(a).unwrap();
    let mut client = connect(node.addr());

    // Before the control plane has said anything there is no configuration.
    assert_eq!(
        exchange(&mut client, b"config get cluster\r\n", b"END\r\n"),
        b"END\r\n"
    );

    let nodes = [
        "web.abc123.0003.use1.cache.amazonaws.com|10.0.0.3|11211",
        "web.abc123.0001.use1.cache.amazonaws.com|10.0.0.1|11211",
        "web.abc123.0002.use1.cache.amazonaws.com||11211",
    ];
    assert_eq!(admin(&sock, &config_set(7, &nodes), b"\r\n"), b"STORED\r\n");

    let reply = exchange(&mut client, b"config get cluster\r\n", b"END\r\n");
    let (count, payload) = parse_config_reply(&reply);
    assert_eq!(count, payload.len(), "byte count matches the data block");
    let expected = "7\nweb.abc123.0001.use1.cache.amazonaws.com|10.0.0.1|11211 \
                    web.abc123.0002.use1.cache.amazonaws.com||11211 \
                    web.abc123.0003.use1.cache.amazonaws.com|10.0.0.3|11211\n";
    assert_eq!(
        String::from_utf8(payload.clone()).unwrap(),
        expected,
        "hostname order"
    );

    let (status, bin_payload) = binary_config_get(node.addr());
    assert_eq!(status, 0);
    assert_eq!(bin_payload, payload, "binary and text agree");

    // The 1.4.5 form reads the same payload as an ordinary item.
    let legacy = exchange(
        &mut client,
        b"get AmazonElastiCache:cluster\r\n",
        b"END\r\n",
    );
    let mut want = format!("VALUE AmazonElastiCache:cluster 0 {}\r\n", payload.len()).into_bytes();
    want.extend_from_slice(&payload);
    want.extend_from_slice(b"\r\nEND\r\n");
    assert_eq!(legacy, want);

    // A client overwriting the 1.4.5 key is corrected soon (ElastiCache: within 15 seconds).
    assert_eq!(
        exchange(
            &mut client,
            b"set AmazonElastiCache:cluster 0 0 3\r\nbad\r\n",
            b"\r\n"
        ),
        b"STORED\r\n"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while exchange(
        &mut client,
        b"get AmazonElastiCache:cluster\r\n",
        b"END\r\n",
    ) != want
    {
        assert!(
            std::time::Instant::now() < deadline,
            "cluster item not restored"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // A client cannot change the configuration.
    let forged = config_set(99, &nodes[..1]);
    assert_eq!(exchange(&mut client, &forged, b"\r\n"), b"ERROR\r\n");
    let after = exchange(&mut client, b"config get cluster\r\n", b"END\r\n");
    assert_eq!(after, reply, "unchanged after a client's config set");

    // The control plane removes a node: version 8.
    assert_eq!(
        admin(&sock, &config_set(8, &nodes[1..]), b"\r\n"),
        b"STORED\r\n"
    );
    let (count, payload) = parse_config_reply(&exchange(
        &mut client,
        b"config get cluster\r\n",
        b"END\r\n",
    ));
    assert_eq!(count, payload.len());
    let text = String::from_utf8(payload).unwrap();
    let (version, list) = text.split_once('\n').unwrap();
    assert_eq!(version, "8", "version increased by one");
    assert_eq!(list.trim_end().split(' ').count(), 2);

    let stats = String::from_utf8(exchange(&mut client, b"stats\r\n", b"END\r\n")).unwrap();
    for (name, value) in [
        ("cmd_config_get", "5"),
        ("cmd_config_set", "2"),
        ("curr_config", "1"),
    ] {
        assert!(
            stats.contains(&format!("STAT {name} {value}\r\n")),
            "{name} in {stats}"
        );
    }
}

#[test]
fn admin_changes_parameters_at_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let mut a = args(&[]);
    a.control_socket = Some(sock.clone());
    let node = node::memcached::start(a).unwrap();
    let mut client = connect(node.addr());
    let value = "v".repeat(3000);
    let set = format!("set k 0 0 3000\r\n{value}\r\n");
    assert_eq!(
        exchange(&mut client, set.as_bytes(), b"\r\n"),
        b"STORED\r\n"
    );

    // Clients may not; the admin connection may.
    assert_eq!(
        exchange(
            &mut client,
            b"config set param max_item_size 2048\r\n",
            b"\r\n"
        ),
        b"ERROR\r\n"
    );
    assert_eq!(
        admin(&sock, b"config set param max_item_size 2048\r\n", b"\r\n"),
        b"OK\r\n"
    );
    assert_eq!(
        exchange(&mut client, set.as_bytes(), b"\r\n"),
        b"SERVER_ERROR object too large for cache\r\n"
    );
    assert!(
        admin(&sock, b"config set param cas_disabled 1\r\n", b"\r\n").starts_with(b"CLIENT_ERROR")
    );
    assert!(admin(&sock, b"config set param nonsense 1\r\n", b"\r\n").starts_with(b"CLIENT_ERROR"));
    let settings =
        String::from_utf8(exchange(&mut client, b"stats settings\r\n", b"END\r\n")).unwrap();
    assert!(
        settings.contains("STAT item_size_max 2048\r\n"),
        "{settings}"
    );
    let _ = read_until;
}
