//! Provisioners run cache nodes. The interface is what the reconciler needs of a node at some
//! place: start it, stop it, ask whether it is alive, and reconfigure it (parameters, the Auto
//! Discovery configuration). `LocalProvisioner` runs each node as a process of this binary
//! (`ferrocache node --managed ...`); a Kubernetes or multi-host provisioner would implement the
//! same trait.
//!
//! Local nodes outlive `serve`: each runs in its own session, logs to a file in its directory and
//! leaves its pid there, so a restarted `serve` finds it again (or kills what it no longer
//! knows).

use crate::catalog::Engine;
use crate::model::{ProcessRecord, Timestamp};
use anyhow::{bail, Context};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Everything needed to start one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub cluster_id: String,
    pub node_id: String,
    pub engine: Engine,
    pub engine_version: String,
    /// The node's own address first, then any shared one (the configuration endpoint).
    pub addresses: Vec<Ipv4Addr>,
    pub port: u16,
    /// Memcached `num_threads`.
    pub threads: Option<u32>,
    /// Redis `maxmemory`, bytes.
    pub maxmemory: Option<u64>,
    /// Engine parameters (the parameter group's values, and node-type-specific ones such as
    /// `max_cache_memory`).
    pub params: BTreeMap<String, String>,
    /// An RDB file to place in the node's directory before it starts, so it loads it
    /// (restore and seed, issue 5).
    pub seed_rdb: Option<PathBuf>,
}

/// What a health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The process runs and answers on its control channel.
    Ready,
    /// The process runs but does not answer yet.
    Starting,
    /// The process is gone.
    Gone,
}

/// One Auto Discovery entry: `hostname|ip|port`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscoveryEntry {
    pub hostname: String,
    pub ip: Ipv4Addr,
    pub port: u16,
}

pub trait Provisioner: Send + Sync {
    fn start(&self, spec: &NodeSpec) -> anyhow::Result<ProcessRecord>;
    fn stop(&self, cluster_id: &str, node_id: &str, process: &ProcessRecord) -> anyhow::Result<()>;
    fn health(&self, engine: Engine, process: &ProcessRecord) -> Health;
    /// Applies parameters to a running node (those that take effect immediately).
    fn set_params(
        &self,
        engine: Engine,
        process: &ProcessRecord,
        params: &[(String, String)],
    ) -> anyhow::Result<()>;
    /// Replaces a memcached node's Auto Discovery configuration.
    fn set_discovery(
        &self,
        process: &ProcessRecord,
        version: u64,
        entries: &[DiscoveryEntry],
    ) -> anyhow::Result<()>;
    /// Stops processes left behind by nodes that no longer exist (`known` = (cluster, node)).
    fn sweep(&self, known: &[(String, String)]);
    /// The last thing a node said before it exited (its log's last line), for events.
    fn last_words(&self, cluster_id: &str, node_id: &str) -> Option<String>;
    /// Has a running Redis node write its RDB file (a fork-free BGSAVE) and returns where the
    /// file is once it is complete (snapshots, issue 5).
    fn save_rdb(
        &self,
        _cluster_id: &str,
        _node_id: &str,
        _process: &ProcessRecord,
    ) -> anyhow::Result<PathBuf> {
        bail!("this provisioner cannot take snapshots")
    }
    /// Sends one command to a running Redis node's control socket and returns its reply: a
    /// status or error line (`+OK`, `-ERR ...`) or a bulk string's contents (replication
    /// groups, issue 6: REPLICAOF, INFO replication, LISTENER).
    fn redis_command(&self, _process: &ProcessRecord, _args: &[&str]) -> anyhow::Result<String> {
        bail!("this provisioner cannot run commands on nodes")
    }
    /// Whether the process exists (answering or not), without talking to it: a hung node is
    /// running (failover detection, issue 6).
    fn running(&self, process: &ProcessRecord) -> bool {
        self.health(Engine::Redis, process) != Health::Gone
    }
    /// Fencing a primary that stopped answering (issue 6): SIGKILL, returning once the process
    /// can run no more code. Its listening sockets, the primary endpoint among them, are free
    /// then.
    fn kill(&self, _process: &ProcessRecord) -> anyhow::Result<()> {
        bail!("this provisioner cannot kill nodes")
    }
}

/// The RDB file name a node writes and loads in its directory (Redis's `dbfilename`).
pub const RDB_FILE: &str = "dump.rdb";

/// The `ferrocache node` invocation for a spec, without the control socket and directory.
pub fn node_arguments(spec: &NodeSpec) -> Vec<String> {
    let mut args = vec![
        "node".to_string(),
        "--engine".into(),
        spec.engine.as_str().into(),
        "--managed".into(),
    ];
    for a in &spec.addresses {
        args.push("--bind".into());
        args.push(a.to_string());
    }
    args.push("--port".into());
    args.push(spec.port.to_string());
    if let Some(t) = spec.threads {
        args.push("--threads".into());
        args.push(t.to_string());
    }
    if let Some(m) = spec.maxmemory {
        args.push("--maxmemory".into());
        args.push(m.to_string());
    }
    for (name, value) in &spec.params {
        args.push("--param".into());
        args.push(format!("{name}={value}"));
    }
    args
}

/// Runs nodes as child processes of `exe` (normally this very binary).
pub struct LocalProvisioner {
    exe: PathBuf,
    nodes_dir: PathBuf,
    /// Processes started by this `serve`, so they can be reaped; adopted ones are not here.
    children: Mutex<HashMap<u32, Child>>,
}

impl LocalProvisioner {
    pub fn new(exe: PathBuf, data_dir: &Path) -> anyhow::Result<LocalProvisioner> {
        let nodes_dir = data_dir.join("nodes");
        std::fs::create_dir_all(&nodes_dir)
            .with_context(|| format!("creating {}", nodes_dir.display()))?;
        Ok(LocalProvisioner {
            exe,
            nodes_dir,
            children: Mutex::new(HashMap::new()),
        })
    }

    fn node_dir(&self, cluster_id: &str, node_id: &str) -> PathBuf {
        self.nodes_dir.join(cluster_id).join(node_id)
    }

    /// The control socket path; Unix socket paths are limited to ~107 bytes, so a deep data
    /// directory falls back to a short path under the temp dir.
    fn socket_path(&self, dir: &Path, cluster_id: &str, node_id: &str) -> PathBuf {
        let path = dir.join("control.sock");
        if path.as_os_str().len() < 100 {
            return path;
        }
        let h = self
            .nodes_dir
            .to_string_lossy()
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
        std::env::temp_dir()
            .join(format!("ferrocache-{h:x}"))
            .join(format!("{cluster_id}-{node_id}.sock"))
    }

    /// Kills a process recorded in a pid file if it is still the node it was.
    fn kill_stale(&self, dir: &Path) {
        let Ok(text) = std::fs::read_to_string(dir.join("pid")) else {
            return;
        };
        let mut lines = text.lines();
        let (Some(pid), Some(socket)) = (
            lines.next().and_then(|p| p.parse::<u32>().ok()),
            lines.next(),
        ) else {
            return;
        };
        let record = ProcessRecord {
            pid,
            control_socket: socket.to_string(),
            started: Timestamp(0),
        };
        if is_our_node(&record) {
            let child = self.children.lock().remove(&pid);
            terminate(pid, child);
        }
    }
}

/// Whether `pid` is alive and is the node with this control socket (pids get reused).
fn is_our_node(p: &ProcessRecord) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{}/cmdline", p.pid)) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.split('\0').any(|arg| arg == p.control_socket) {
        return false;
    }
    // A zombie has a cmdline of nothing, but check its state anyway.
    std::fs::read_to_string(format!("/proc/{}/stat", p.pid))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// SIGTERM, a grace period, then SIGKILL; reaps the process if it is our child (the caller
/// has taken it out of the table, so other stops run meanwhile).
fn terminate(pid: u32, mut child: Option<Child>) {
    let signal = |sig| unsafe { libc::kill(pid as libc::pid_t, sig) };
    signal(libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let gone = match child.as_mut() {
            Some(child) => child.try_wait().map(|s| s.is_some()).unwrap_or(true),
            None => (unsafe { libc::kill(pid as libc::pid_t, 0) }) != 0,
        };
        if gone {
            break;
        }
        if Instant::now() >= deadline {
            signal(libc::SIGKILL);
            if let Some(child) = child.as_mut() {
                let _ = child.wait();
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Provisioner for LocalProvisioner {
    fn start(&self, spec: &NodeSpec) -> anyhow::Result<ProcessRecord> {
        let dir = self.node_dir(&spec.cluster_id, &spec.node_id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        self.kill_stale(&dir);
        let socket = self.socket_path(&dir, &spec.cluster_id, &spec.node_id);
        if let Some(parent) = socket.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let _ = std::fs::remove_file(&socket);
        if let Some(seed) = &spec.seed_rdb {
            place_seed(seed, &dir.join(RDB_FILE))?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))?;
        let mut command = Command::new(&self.exe);
        command
            .args(node_arguments(spec))
            .arg("--control-socket")
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Its own session: the node survives `serve` and its terminal.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let pid = child.id();
        std::fs::write(dir.join("pid"), format!("{pid}\n{}\n", socket.display()))?;
        self.children.lock().insert(pid, child);
        Ok(ProcessRecord {
            pid,
            control_socket: socket.to_string_lossy().into_owned(),
            started: Timestamp::from_datetime(time::OffsetDateTime::now_utc()),
        })
    }

    fn stop(&self, cluster_id: &str, node_id: &str, process: &ProcessRecord) -> anyhow::Result<()> {
        let child = self.children.lock().remove(&process.pid);
        if child.is_some() || is_our_node(process) {
            terminate(process.pid, child);
        }
        let _ = std::fs::remove_file(&process.control_socket);
        let dir = self.node_dir(cluster_id, node_id);
        let _ = std::fs::remove_dir_all(&dir);
        if let Some(cluster_dir) = dir.parent() {
            let _ = std::fs::remove_dir(cluster_dir); // only if empty
        }
        Ok(())
    }

    fn health(&self, engine: Engine, process: &ProcessRecord) -> Health {
        {
            let mut children = self.children.lock();
            if let Some(child) = children.get_mut(&process.pid) {
                if !matches!(child.try_wait(), Ok(None)) {
                    children.remove(&process.pid);
                    return Health::Gone;
                }
            } else if !is_our_node(process) {
                return Health::Gone;
            }
        }
        let ping = match engine {
            Engine::Memcached => control_request(&process.control_socket, b"version\r\n")
                .map(|r| r.starts_with("VERSION")),
            Engine::Redis => control_request(&process.control_socket, &resp_command(&["PING"]))
                .map(|r| r.starts_with("+PONG")),
        };
        if ping.unwrap_or(false) {
            Health::Ready
        } else {
            Health::Starting
        }
    }

    fn set_params(
        &self,
        engine: Engine,
        process: &ProcessRecord,
        params: &[(String, String)],
    ) -> anyhow::Result<()> {
        for (name, value) in params {
            let reply = match engine {
                Engine::Redis => control_request(
                    &process.control_socket,
                    &resp_command(&["CONFIG", "SET", name, value]),
                )?,
                Engine::Memcached => control_request(
                    &process.control_socket,
                    format!("config set param {name} {value}\r\n").as_bytes(),
                )?,
            };
            if !(reply.starts_with("+OK") || reply.starts_with("OK") || reply.starts_with("STORED"))
            {
                bail!("node refused {name}={value}: {}", reply.trim_end());
            }
        }
        Ok(())
    }

    fn set_discovery(
        &self,
        process: &ProcessRecord,
        version: u64,
        entries: &[DiscoveryEntry],
    ) -> anyhow::Result<()> {
        let block = discovery_block(version, entries);
        let mut request = format!("config set cluster 0 0 {}\r\n", block.len()).into_bytes();
        request.extend_from_slice(block.as_bytes());
        request.extend_from_slice(b"\r\n");
        let reply = control_request(&process.control_socket, &request)?;
        if !reply.starts_with("STORED") {
            bail!(
                "node refused the cluster configuration: {}",
                reply.trim_end()
            );
        }
        Ok(())
    }

    fn save_rdb(
        &self,
        cluster_id: &str,
        node_id: &str,
        process: &ProcessRecord,
    ) -> anyhow::Result<PathBuf> {
        bgsave_and_wait(&process.control_socket)?;
        Ok(self.node_dir(cluster_id, node_id).join(RDB_FILE))
    }

    fn redis_command(&self, process: &ProcessRecord, args: &[&str]) -> anyhow::Result<String> {
        control_reply(&process.control_socket, &resp_command(args))
    }

    fn running(&self, process: &ProcessRecord) -> bool {
        let mut children = self.children.lock();
        match children.get_mut(&process.pid) {
            Some(child) => {
                let alive = matches!(child.try_wait(), Ok(None));
                if !alive {
                    children.remove(&process.pid);
                }
                alive
            }
            None => is_our_node(process),
        }
    }

    fn kill(&self, process: &ProcessRecord) -> anyhow::Result<()> {
        if !self.running(process) {
            return Ok(());
        }
        // SIGKILL also ends a stopped (SIGSTOP) process.
        unsafe { libc::kill(process.pid as libc::pid_t, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.running(process) {
            anyhow::ensure!(
                Instant::now() < deadline,
                "process {} survived SIGKILL",
                process.pid
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    fn last_words(&self, cluster_id: &str, node_id: &str) -> Option<String> {
        let log =
            std::fs::read_to_string(self.node_dir(cluster_id, node_id).join("node.log")).ok()?;
        log.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().chars().take(300).collect())
    }

    fn sweep(&self, known: &[(String, String)]) {
        let Ok(clusters) = std::fs::read_dir(&self.nodes_dir) else {
            return;
        };
        for cluster in clusters.flatten() {
            let cluster_id = cluster.file_name().to_string_lossy().into_owned();
            let Ok(nodes) = std::fs::read_dir(cluster.path()) else {
                continue;
            };
            for node in nodes.flatten() {
                let node_id = node.file_name().to_string_lossy().into_owned();
                if known.iter().any(|(c, n)| *c == cluster_id && *n == node_id) {
                    continue;
                }
                tracing::warn!(cluster = %cluster_id, node = %node_id, "stopping a node the state no longer knows");
                self.kill_stale(&node.path());
                let _ = std::fs::remove_dir_all(node.path());
            }
            let _ = std::fs::remove_dir(cluster.path());
        }
    }
}

// ---- Snapshots (issue 5) ----

/// Copies a seed RDB into a node directory: temp file, fsync, rename, so the node finds the
/// whole file or none.
fn place_seed(seed: &Path, target: &Path) -> anyhow::Result<()> {
    let tmp = target.with_extension("rdb.seed-tmp");
    std::fs::copy(seed, &tmp).with_context(|| format!("copying {}", seed.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, target)?;
    Ok(())
}

/// How long a node may take to write its RDB file.
const SAVE_TIMEOUT: Duration = Duration::from_secs(600);

/// BGSAVE on the control socket, then INFO persistence until the background save is over;
/// fails if the node reports the save failed.
fn bgsave_and_wait(socket: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + SAVE_TIMEOUT;
    loop {
        let reply = control_request(socket, &resp_command(&["BGSAVE"]))?;
        if reply.starts_with('+') {
            break;
        }
        // Another background save (replication, a scheduled save) is running: wait for it.
        if !reply.contains("in progress") || Instant::now() >= deadline {
            bail!("the node refused BGSAVE: {}", reply.trim_end());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    loop {
        let info = control_bulk(socket, &resp_command(&["INFO", "persistence"]))?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
                .map(str::to_string)
        };
        if field("rdb_bgsave_in_progress").as_deref() == Some("0") {
            return match field("rdb_last_bgsave_status").as_deref() {
                Some("ok") => Ok(()),
                other => bail!("the node's background save failed ({other:?})"),
            };
        }
        if Instant::now() >= deadline {
            bail!("the node's background save did not finish in {SAVE_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one request and reads a bulk-string reply whole.
fn control_bulk(socket: &str, request: &[u8]) -> anyhow::Result<String> {
    let mut stream =
        UnixStream::connect(socket).with_context(|| format!("connecting to {socket}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let Some(len) = line
        .strip_prefix('$')
        .and_then(|l| l.trim_end().parse::<usize>().ok())
    else {
        bail!("unexpected reply: {}", line.trim_end());
    };
    anyhow::ensure!(len <= 1 << 20, "reply too long ({len} bytes)");
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Sends one RESP request and returns a status/error line, or a bulk string's contents.
fn control_reply(socket: &str, request: &[u8]) -> anyhow::Result<String> {
    let mut stream =
        UnixStream::connect(socket).with_context(|| format!("connecting to {socket}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(request)?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let Some(len) = line.strip_prefix('$') else {
        anyhow::ensure!(!line.is_empty(), "the node closed its control connection");
        return Ok(line.trim_end().to_string());
    };
    let len: usize = len.trim_end().parse().context("bulk length")?;
    anyhow::ensure!(len <= 1 << 20, "reply too long ({len} bytes)");
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The Auto Discovery data block: the version, then the `hostname|ip|port` entries in
/// alphabetical order of hostname, LF-terminated (behaviour.md §3, §13).
pub fn discovery_block(version: u64, entries: &[DiscoveryEntry]) -> String {
    let mut sorted = entries.to_vec();
    sorted.sort();
    let list: Vec<String> = sorted
        .iter()
        .map(|e| format!("{}|{}|{}", e.hostname, e.ip, e.port))
        .collect();
    format!("{version}\n{}\n", list.join(" "))
}

fn resp_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends one request on a fresh control connection and returns the first reply line.
fn control_request(socket: &str, request: &[u8]) -> anyhow::Result<String> {
    let mut stream =
        UnixStream::connect(socket).with_context(|| format!("connecting to {socket}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(request)?;
    let mut line = String::new();
    BufReader::new((&stream).take(64 * 1024)).read_line(&mut line)?;
    if line.is_empty() {
        bail!("the node closed its control connection");
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_command_line_carries_addresses_memory_and_parameters() {
        let spec = NodeSpec {
            cluster_id: "web".into(),
            node_id: "0001".into(),
            engine: Engine::Memcached,
            engine_version: "1.4.14".into(),
            addresses: vec![Ipv4Addr::new(127, 9, 0, 2), Ipv4Addr::new(127, 9, 0, 9)],
            port: 11211,
            threads: Some(2),
            maxmemory: None,
            params: BTreeMap::from([
                ("chunk_size".into(), "48".into()),
                ("max_cache_memory".into(), "6200".into()),
            ]),
            seed_rdb: None,
        };
        assert_eq!(
            node_arguments(&spec).join(" "),
            "node --engine memcached --managed --bind 127.9.0.2 --bind 127.9.0.9 --port 11211 --threads 2 --param chunk_size=48 --param max_cache_memory=6200"
        );
    }

    #[test]
    fn discovery_blocks_are_sorted_and_lf_terminated() {
        let e = |h: &str, last: u8| DiscoveryEntry {
            hostname: h.into(),
            ip: Ipv4Addr::new(127, 1, 1, last),
            port: 11211,
        };
        assert_eq!(
            discovery_block(12, &[e("b.0002", 3), e("a.0001", 2)]),
            "12\na.0001|127.1.1.2|11211 b.0002|127.1.1.3|11211\n"
        );
    }

    #[test]
    fn resp_commands_are_framed() {
        assert_eq!(
            resp_command(&["CONFIG", "GET", "x"]),
            b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\nx\r\n"
        );
    }

    /// A stand-in node: a shell script that records its arguments, listens on its control
    /// socket with python, and answers like memcached.
    #[test]
    fn local_nodes_start_answer_and_stop_in_their_own_session() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("fake-node");
        std::fs::write(
            &exe,
            r#"#!/bin/sh
sock=""
while [ $# -gt 0 ]; do [ "$1" = "--control-socket" ] && sock="$2"; shift; done
exec python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); d = c.recv(65536)
    c.sendall(b"VERSION 1.4.14\r\n" if d.startswith(b"version") else b"STORED\r\n" if d.startswith(b"config set cluster") else b"ERROR\r\n")
    c.close()
' "$sock"
"#,
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let p = LocalProvisioner::new(exe, dir.path()).unwrap();
        let spec = NodeSpec {
            cluster_id: "web".into(),
            node_id: "0001".into(),
            engine: Engine::Memcached,
            engine_version: "1.4.14".into(),
            addresses: vec![Ipv4Addr::new(127, 9, 0, 2)],
            port: 11211,
            threads: None,
            maxmemory: None,
            params: BTreeMap::new(),
            seed_rdb: None,
        };
        let record = p.start(&spec).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while p.health(Engine::Memcached, &record) != Health::Ready {
            assert!(Instant::now() < deadline, "the fake node never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
        let sid = unsafe { libc::getsid(record.pid as libc::pid_t) };
        assert_eq!(
            sid, record.pid as libc::pid_t,
            "the node leads its own session"
        );
        let entries = [DiscoveryEntry {
            hostname: "h".into(),
            ip: Ipv4Addr::new(127, 9, 0, 2),
            port: 11211,
        }];
        p.set_discovery(&record, 2, &entries).unwrap();
        assert!(p
            .set_params(Engine::Memcached, &record, &[("x".into(), "1".into())])
            .is_err());
        // A stale pid file of a node the state no longer knows is swept.
        p.sweep(&[]);
        assert_eq!(p.health(Engine::Memcached, &record), Health::Gone);
        assert!(!dir.path().join("nodes/web/0001").exists());
        let record = p.start(&spec).unwrap();
        p.stop("web", "0001", &record).unwrap();
        assert_eq!(p.health(Engine::Memcached, &record), Health::Gone);
    }
}
