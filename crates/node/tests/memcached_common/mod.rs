//! Shared helpers of the memcached node tests: start our node in-process, start a real
//! `memcached` as the oracle, exchange raw bytes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use node::memcached::Handle;
use node::{Engine, NodeArgs};

/// Node arguments for a test node on a free loopback port.
pub fn args(params: &[(&str, &str)]) -> NodeArgs {
    NodeArgs {
        engine: Engine::Memcached,
        bind: vec!["127.0.0.1".parse().unwrap()],
        port: Some(0),
        threads: Some(2),
        maxmemory: None,
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        managed: false,
        control_socket: None,
        dir: std::env::temp_dir(),
        busy_poll: 0,
    }
}

/// Starts our node with the given parameters.
pub fn start_node(params: &[(&str, &str)]) -> Handle {
    node::memcached::start(args(params)).expect("node starts")
}

/// A `memcached` process, killed on drop.
pub struct Memcached {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Debian's memcached on a free port with extra arguments.
pub fn start_memcached(extra: &[&str]) -> Memcached {
    let bin = which("memcached").expect("memcached is not installed (scripts/test.sh installs it)");
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-u", "root"]);
        }
        cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn memcached");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if TcpStream::connect(addr).is_ok() {
                return Memcached { child, addr };
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("memcached did not start");
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// Connects with read/write timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Reads until the reply ends with `end` (or EOF), bounded by the socket timeout.
pub fn read_until(s: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while !out.ends_with(end) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Reads until the peer closes.
pub fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends `request` and reads until the reply ends with `end`.
pub fn exchange(s: &mut TcpStream, request: &[u8], end: &[u8]) -> Vec<u8> {
    s.write_all(request).unwrap();
    read_until(s, end)
}
