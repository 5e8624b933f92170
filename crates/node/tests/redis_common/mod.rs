//! Shared helpers of the Redis node tests: start our node in-process or a real redis-server on a
//! free loopback port, and a minimal blocking RESP client.
#![allow(dead_code)]

use resp::Frame;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn node_args(extra: &[&str]) -> node::NodeArgs {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: node::NodeArgs,
    }
    let mut argv = vec!["test", "--engine", "redis", "--port", "0", "--threads", "2"];
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).args
}

/// A fresh directory for one server's files. Without it a node would load (and redis-server
/// write) `./dump.rdb` in the crate directory, and one test's file would leak into the next.
pub fn scratch_dir() -> std::path::PathBuf {
    tempfile::Builder::new()
        .prefix("ferrocache-test-")
        .tempdir()
        .expect("temp dir")
        .keep()
}

/// Our node, in-process; its `--dir` is a fresh directory unless the test gives one.
pub fn start_ours(extra: &[&str]) -> node::redis::RedisNode {
    let mut args = node_args(extra);
    if !extra.contains(&"--dir") {
        args.dir = scratch_dir();
    }
    node::redis::start(args).expect("start ferrocache redis node")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server child process, killed on drop.
pub struct RealRedis {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_real(extra: &[&str]) -> RealRedis {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]);
        if !extra.contains(&"--dir") {
            cmd.arg("--dir").arg(scratch_dir());
        }
        cmd.args(extra);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("redis-server is installed");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut r = RealRedis { child, addr };
        // Long enough to load a 1M-key dump.rdb on a busy machine (PING says -LOADING).
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut c) = Client::try_connect(addr) {
                if c.cmd(&["PING"]) == Frame::Simple(b"PONG".to_vec()) {
                    // Another test's server may hold the port we picked: only ours counts.
                    let pid = format!("process_id:{}\r\n", r.child.id());
                    match c.cmd(&["INFO", "server"]) {
                        Frame::Bulk(info) if String::from_utf8_lossy(&info).contains(&pid) => {
                            return r;
                        }
                        _ => {
                            let _ = r.child.kill();
                            let _ = r.child.wait();
                            break;
                        }
                    }
                }
            }
            if r.child.try_wait().ok().flatten().is_some() {
                break; // it exited (the port was taken meanwhile): try another
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("redis-server did not start");
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn try_connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).expect("connect")
    }

    pub fn encode<S: AsRef<[u8]>>(args: &[S]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    pub fn send<S: AsRef<[u8]>>(&mut self, args: &[S]) {
        self.stream.write_all(&Self::encode(args)).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one reply; panics on timeout.
    pub fn read(&mut self) -> Frame {
        self.try_read().expect("reply before timeout")
    }

    pub fn try_read(&mut self) -> Option<Frame> {
        loop {
            if let Ok((f, n)) = Frame::parse(&self.buf) {
                self.buf.drain(..n);
                return Some(f);
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }

    /// True once the server has closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return false,
            }
        }
    }

    pub fn cmd<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Frame {
        self.send(args);
        self.read()
    }

    pub fn set_timeout(&mut self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
    }
}

pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

pub fn simple(s: &str) -> Frame {
    Frame::Simple(s.as_bytes().to_vec())
}

pub fn int(n: i64) -> Frame {
    Frame::Int(n)
}

/// INFO field value.
pub fn info_field(c: &mut Client, section: &str, field: &str) -> Option<String> {
    let f = c.cmd(&["INFO", section]);
    let text = String::from_utf8_lossy(f.as_bytes()?).to_string();
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}
