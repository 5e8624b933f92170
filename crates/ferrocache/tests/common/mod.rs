//! What the end-to-end tests share: `ferrocache serve` in a temp data dir on a free port, the
//! real aws CLI pointed at it, and cleanup of every node process it caused.

#![allow(dead_code)] // each test binary uses its own part

use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const KEY: &str = "AKIDFERROCACHETEST01";
pub const SECRET: &str = "ferrocache-test-secret-key-0123456789abcd";

pub struct Serve {
    pub child: Option<Child>,
    pub port: u16,
    pub data: PathBuf,
    pub home: tempfile::TempDir,
    /// Extra `serve` arguments (e.g. `--clock-file`), kept for relaunches.
    pub extra_args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Serve {
    pub fn start() -> Serve {
        Serve::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut serve = Serve {
            child: None,
            port,
            data: dir.path().join("data"),
            home: tempfile::tempdir().unwrap(),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            _dir: dir,
        };
        serve.launch();
        serve
    }

    pub fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.with_extension("log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrocache"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--data-dir",
            ])
            .arg(&self.data)
            .args(&self.extra_args)
            .env("FERROCACHE_ACCESS_KEY_ID", KEY)
            .env("FERROCACHE_SECRET_ACCESS_KEY", SECRET)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// kill -9, as a crash would.
    pub fn crash(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Runs `aws elasticache <args>`; Ok(JSON) or Err(stderr).
    pub fn aws(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new("aws")
            .arg("elasticache")
            .args(args)
            .args([
                "--endpoint-url",
                &format!("http://127.0.0.1:{}", self.port),
                "--output",
                "json",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_CONFIG_FILE", self.home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.path().join("credentials"),
            )
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            Ok(if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        self.aws(args)
            .unwrap_or_else(|e| panic!("aws elasticache {args:?} failed: {e}"))
    }

    pub fn cluster(&self, id: &str) -> Value {
        self.ok(&[
            "describe-cache-clusters",
            "--cache-cluster-id",
            id,
            "--show-cache-node-info",
        ])["CacheClusters"][0]
            .clone()
    }

    /// The waiter polls every 15 s; poll faster first, then let the waiter confirm.
    pub fn wait_available(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.cluster(id)["CacheClusterStatus"] != "available" {
            assert!(
                Instant::now() < deadline,
                "{id} never became available: {}",
                self.cluster(id)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        self.ok(&["wait", "cache-cluster-available", "--cache-cluster-id", id]);
        self.cluster(id)
    }

    pub fn node_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for cluster in std::fs::read_dir(self.data.join("nodes"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for node in std::fs::read_dir(cluster.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(text) = std::fs::read_to_string(node.path().join("pid")) {
                    if let Some(pid) = text.lines().next().and_then(|l| l.parse().ok()) {
                        pids.push(pid);
                    }
                }
            }
        }
        pids
    }

    pub fn control_socket(&self, cluster: &str, node: &str) -> PathBuf {
        let text =
            std::fs::read_to_string(self.data.join("nodes").join(cluster).join(node).join("pid"))
                .unwrap();
        PathBuf::from(text.lines().nth(1).unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for pid in self.node_pids() {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

pub fn endpoint(v: &Value) -> String {
    format!("{}:{}", v["Address"].as_str().unwrap(), v["Port"])
}

/// The pid a server at `addr` reports for itself: redis (`INFO server`, `process_id:`) or
/// memcached (`stats`, `STAT pid `). A test that starts a server on a probed free port checks
/// it against its child: another test may have won the port in between.
pub fn reported_pid(addr: &str, memcached: bool) -> Option<u32> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let (request, field): (&[u8], &str) = if memcached {
        (b"stats\r\n", "STAT pid ")
    } else {
        (b"INFO server\r\n", "process_id:")
    };
    s.write_all(request).ok()?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    while r.read_line(&mut line).ok()? > 0 {
        if let Some(pid) = line.trim_end().strip_prefix(field) {
            return pid.parse().ok();
        }
        line.clear();
    }
    None
}

/// `ferrocache node` started by a test (killed on drop).
pub struct NodeProcess {
    pub child: Child,
    pub port: u16,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns the server that `command(port)` builds on a free port and waits until the server
/// answering there reports this child's pid (another test may win the port in between: then
/// it tries another). Panics after five ports.
pub fn spawn_on_free_port(command: impl Fn(u16) -> Command, memcached: bool) -> (Child, u16) {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = command(port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            if reported_pid(&format!("127.0.0.1:{port}"), memcached) == Some(child.id()) {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("the server did not start");
}

/// Starts `ferrocache node --engine <engine>` with two threads and `extra` arguments on a free
/// port, in a fresh directory.
pub fn start_node(engine: &str, extra: &[&str]) -> NodeProcess {
    let dir = tempfile::tempdir().unwrap().keep();
    let (child, port) = spawn_on_free_port(
        |port| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_ferrocache"));
            c.args(["node", "--engine", engine, "--bind", "127.0.0.1"])
                .args(["--threads", "2", "--port", &port.to_string()])
                .args(extra)
                .arg("--dir")
                .arg(&dir);
            c
        },
        engine == "memcached",
    );
    NodeProcess { child, port }
}
