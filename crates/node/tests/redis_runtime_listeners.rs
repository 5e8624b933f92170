//! LISTENER ADD/REMOVE/LIST on the control socket (issue 6: a replication group's primary
//! endpoint moves between nodes): only the control socket has it, an added address serves the
//! same data, a removed one stops accepting while open connections keep working, bad input gets
//! an error and changes nothing.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// One command on the control socket, one reply.
fn control(sock: &std::path::Path, args: &[&str]) -> Frame {
    let mut u = UnixStream::connect(sock).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    u.write_all(&Client::encode(args)).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        if let Ok(mut frames) = Frame::parse_all(&buf) {
            if !frames.is_empty() {
                return frames.remove(0);
            }
        }
        let n = u.read(&mut chunk).unwrap();
        assert!(n > 0, "control connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn error_text(f: &Frame) -> String {
    match f {
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        other => panic!("expected an error, got {other}"),
    }
}

#[test]
fn runtime_listeners_come_and_go_through_the_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let node = start_ours(&["--managed", "--control-socket", &sock.display().to_string()]);
    let mut c = Client::connect(node.addr());
    assert_eq!(c.cmd(&["SET", "a", "1"]), simple("OK"));
    let extra: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let extra_s = extra.to_string();

    // Clients cannot move listeners.
    let e = error_text(&c.cmd(&["LISTENER", "ADD", &extra_s]));
    assert!(e.starts_with("ERR unknown command"), "{e}");
    assert!(TcpStream::connect(extra).is_err());

    // Bad input: an error, nothing changes.
    for bad in [
        vec!["LISTENER"],
        vec!["LISTENER", "ADD"],
        vec!["LISTENER", "ADD", "not-an-address"],
        vec!["LISTENER", "MOVE", &extra_s],
        vec!["LISTENER", "ADD", &extra_s, "extra"],
    ] {
        let e = error_text(&control(&sock, &bad));
        assert!(e.starts_with("ERR syntax"), "{bad:?}: {e}");
    }
    let own = node.addr().to_string();
    let e = error_text(&control(&sock, &["LISTENER", "ADD", &own]));
    assert!(e.starts_with("ERR cannot listen"), "{e}");
    assert_eq!(control(&sock, &["LISTENER", "LIST"]), Frame::Array(vec![]));

    // Added: the same data at the new address; adding twice is harmless.
    assert_eq!(control(&sock, &["LISTENER", "ADD", &extra_s]), simple("OK"));
    assert_eq!(control(&sock, &["LISTENER", "ADD", &extra_s]), simple("OK"));
    assert_eq!(
        control(&sock, &["LISTENER", "LIST"]),
        Frame::Array(vec![bulk(&extra_s)])
    );
    let mut d = Client::connect(extra);
    assert_eq!(d.cmd(&["GET", "a"]), bulk("1"));
    assert_eq!(d.cmd(&["SET", "b", "2"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "b"]), bulk("2"));

    // Removed: no new connections there; the open one keeps working.
    assert_eq!(
        control(&sock, &["LISTENER", "REMOVE", &extra_s]),
        simple("OK")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(extra).is_ok() {
        assert!(Instant::now() < deadline, "{extra} still accepts");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(d.cmd(&["GET", "b"]), bulk("2"));
    assert_eq!(control(&sock, &["LISTENER", "LIST"]), Frame::Array(vec![]));
    // The address is free again at once (SO_REUSEADDR): another node could take it.
    assert_eq!(control(&sock, &["LISTENER", "ADD", &extra_s]), simple("OK"));
    assert_eq!(Client::connect(extra).cmd(&["GET", "a"]), bulk("1"));
}
