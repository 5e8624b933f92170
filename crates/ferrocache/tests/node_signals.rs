//! A node process stops on SIGTERM, also while a Lua script that never ends holds its engine
//! (the script is stopped as SHUTDOWN NOSAVE would stop it). Before, the stop waited for the
//! script forever.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_a_node_whose_script_never_ends() {
    let mut node = common::start_node("redis", &[]);
    let mut busy = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
    busy.write_all(b"*3\r\n$4\r\nEVAL\r\n$17\r\nwhile true do end\r\n$1\r\n0\r\n")
        .unwrap();
    // Wait until the script holds the engine: another client is answered BUSY (after the
    // 5 s busy-reply threshold).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut c = TcpStream::connect(("127.0.0.1", node.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        let mut reply = [0u8; 5];
        c.read_exact(&mut reply).unwrap();
        if &reply == b"-BUSY" {
            break;
        }
        assert!(Instant::now() < deadline, "the script never became busy");
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(node.child.id() as i32, libc::SIGTERM) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the node is still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The script's client got the error of a killed script, or the connection closed first.
    busy.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = Vec::new();
    let _ = busy.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.is_empty() || reply.starts_with("-ERR Script killed"),
        "{reply}"
    );
}
