//! The Redis node: RESP listeners, connection loops and the control socket over `engine-redis`.
//!
//! ```text
//!   tokio runtime, `--threads N` worker threads
//!   ├─ listener per --bind address ──accept──▶ connection task (one per client)
//!   ├─ control socket (unix, --control-socket) ─▶ connection task, ClientKind::Control
//!   │     (also LISTENER ADD/REMOVE: runtime listeners, `listeners.rs`)
//!   ├─ cron task (every 1000/hz ms): active expiry, idle timeouts, SHUTDOWN watch
//!   └─ replication supervisor: the link to our primary after REPLICAOF (`replication.rs`)
//!
//!   connection task:
//!     read ─▶ parse every complete request in the buffer (no lock)
//!          ─▶ Engine::run(batch)   (one lock for the whole batch)
//!          ─▶ one write of all replies
//!     select! also waits on the client's outbox (pub/sub messages, served blocked commands,
//!     CLIENT KILL) and on the deadline of a blocked command.
//! ```
//!
//! Per-request kernel crossings dominate at pipeline depth 1 on small machines, so a connection
//! drains everything readable before executing and writes every reply of the batch at once.

pub mod listeners;
pub mod replication;

use crate::NodeArgs;
use anyhow::Context as _;
use bytes::BytesMut;
use engine_redis::client::{ClientKind, ConnInfo, OutMsg, Outbox};
use engine_redis::{Config, Engine, RunOutcome};
use resp::request::{parse_request, Argv, Parsed, RequestLimits};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, Notify};

/// `used_memory` is the live heap of the process, counted by this allocator (see
/// `engine_redis::alloc`). It is process-wide, so it also counts a memcached node's memory if
/// both ran in one process (they do not: one node per process).
#[global_allocator]
static ALLOC: engine_redis::alloc::CountingAlloc = engine_redis::alloc::CountingAlloc;

/// A running node (in-process: tests, or the binary through [`run`]).
pub struct RedisNode {
    addrs: Vec<SocketAddr>,
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RedisNode {
    /// The first bound TCP address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops accepting, closes connections and joins the runtime thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// Blocks until the node stops (SHUTDOWN, or [`RedisNode::shutdown`] from elsewhere).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Builds the engine configuration from the command line.
pub fn config_from_args(args: &NodeArgs) -> anyhow::Result<Config> {
    let mut config = Config::default();
    for (name, value) in args.params.iter().filter(|(n, _)| !is_replicaof(n)) {
        config
            .set_initial(name, value)
            .map_err(|e| anyhow::anyhow!("--param {name}={value}: {e}"))?;
    }
    if let Some(m) = args.maxmemory {
        config
            .set_initial("maxmemory", &m.to_string())
            .map_err(anyhow::Error::msg)?;
    }
    config
        .set_initial("port", &args.port().to_string())
        .map_err(anyhow::Error::msg)?;
    config
        .set_initial("dir", &args.dir.display().to_string())
        .map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// redis.conf's `replicaof <host> <port>` (alias `slaveof`): not a CONFIG SET parameter, a
/// role the node takes before it listens.
fn is_replicaof(name: &str) -> bool {
    name.eq_ignore_ascii_case("replicaof") || name.eq_ignore_ascii_case("slaveof")
}

/// `--param replicaof="<host> <port>"`: the node is a replica from its first accepted
/// connection, so a replaced replica never serves writes as an empty primary (issue 6).
fn start_as_replica(engine: &Engine, args: &NodeArgs) -> anyhow::Result<()> {
    let Some((_, target)) = args.params.iter().rev().find(|(n, _)| is_replicaof(n)) else {
        return Ok(());
    };
    let (host, port) = target
        .split_once(' ')
        .with_context(|| format!("--param replicaof={target}: expected \"<host> <port>\""))?;
    let info = ConnInfo {
        addr: "/control:0".into(),
        laddr: "/control:0".into(),
        fd: -1,
    };
    let id = engine.connect(
        ClientKind::Control,
        info,
        Arc::new(engine_redis::client::NullOutbox),
    );
    let mut cmds = VecDeque::from([Argv::from_slices(&["REPLICAOF", host, port.trim()])]);
    let mut out = Vec::new();
    let _ = engine.run(id, &mut cmds, &mut out);
    engine.disconnect(id);
    anyhow::ensure!(
        out.starts_with(b"+OK"),
        "--param replicaof={target}: {}",
        String::from_utf8_lossy(&out).trim_end()
    );
    Ok(())
}

/// Starts a node and returns once its listeners are bound (port 0 picks a free port).
pub fn start(args: NodeArgs) -> anyhow::Result<RedisNode> {
    engine_redis::alloc::mark_installed();
    let config = config_from_args(&args)?;
    let engine = Engine::new(config, args.managed);
    // The RDB file or the AOF of `--dir`; a corrupt one stops the start.
    engine_redis::persistence::load_at_start(&mut engine.lock())
        .map_err(|e| anyhow::anyhow!("loading data: {e}"))?;
    start_as_replica(&engine, &args)?;
    let threads = args.threads();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("redis-io")
        .enable_all()
        .build()
        .context("building the runtime")?;
    let mut listeners = Vec::new();
    for ip in &args.bind {
        let addr = SocketAddr::new(*ip, args.port());
        let l = rt
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("binding {addr}"))?;
        listeners.push(l);
    }
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    if let Some(a) = addrs.first() {
        engine.set_port(a.port());
    }
    let control = match &args.control_socket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let _guard = rt.enter();
            Some(
                tokio::net::UnixListener::bind(path)
                    .with_context(|| format!("binding control socket {}", path.display()))?,
            )
        }
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let eng = engine.clone();
    let stop_for_cron = stop_tx.clone();
    let thread = std::thread::Builder::new()
        .name("redis-node".into())
        .spawn(move || {
            rt.block_on(async move {
                for l in listeners {
                    tokio::spawn(accept_tcp(l, eng.clone(), stop_rx.clone()));
                }
                if let Some(c) = control {
                    let runtime = Arc::new(listeners::RuntimeListeners::default());
                    tokio::spawn(accept_unix(c, eng.clone(), runtime, stop_rx.clone()));
                }
                tokio::spawn(cron(eng.clone(), stop_for_cron, stop_rx.clone()));
                tokio::spawn(replication::supervise(eng.clone(), stop_rx.clone()));
                let mut rx = stop_rx;
                while !*rx.borrow() {
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        })
        .context("spawning the node thread")?;
    Ok(RedisNode {
        addrs,
        engine,
        stop: stop_tx,
        thread: Some(thread),
    })
}

/// Runs a node until SHUTDOWN or a termination signal.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let node = start(args)?;
    tracing::info!(addr = %node.addr(), "redis node ready to accept connections");
    let stop = node.stop.clone();
    ctrlc_stop(stop);
    node.wait();
    Ok(())
}

/// SIGINT/SIGTERM stop the node.
fn ctrlc_stop(stop: watch::Sender<bool>) {
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(_) => return,
        };
        rt.block_on(async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        let _ = stop.send(true);
    });
}

async fn cron(engine: Arc<Engine>, stop_tx: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        engine.cron();
        if engine.shutdown_requested() {
            let _ = stop_tx.send(true);
            return;
        }
    }
}

async fn accept_tcp(
    l: tokio::net::TcpListener,
    engine: Arc<Engine>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            r = l.accept() => r,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((sock, peer)) => {
                let _ = sock.set_nodelay(true);
                let info = ConnInfo {
                    addr: peer.to_string(),
                    laddr: sock.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                    fd: std::os::fd::AsRawFd::as_raw_fd(&sock) as i64,
                };
                tokio::spawn(serve(
                    sock,
                    engine.clone(),
                    ClientKind::Normal,
                    info,
                    stop.clone(),
                    None,
                ));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn accept_unix(
    l: tokio::net::UnixListener,
    engine: Arc<Engine>,
    runtime: Arc<listeners::RuntimeListeners>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            r = l.accept() => r,
            _ = stop.changed() => return,
        };
        if let Ok((sock, _)) = accepted {
            let info = ConnInfo {
                addr: "/control:0".into(),
                laddr: "/control:0".into(),
                fd: std::os::fd::AsRawFd::as_raw_fd(&sock) as i64,
            };
            tokio::spawn(serve(
                sock,
                engine.clone(),
                ClientKind::Control,
                info,
                stop.clone(),
                Some(runtime.clone()),
            ));
        }
    }
}

/// The node's side of a client's outbox: a channel into its connection task.
struct ChannelOutbox {
    tx: mpsc::UnboundedSender<OutMsg>,
    /// Bytes queued plus the replies being written (output buffer limits, CLIENT LIST omem).
    pending: Arc<AtomicUsize>,
    /// Close also reaches a task stuck writing to a client that does not read.
    kill: Arc<Notify>,
}

impl Outbox for ChannelOutbox {
    fn send(&self, msg: OutMsg) {
        match &msg {
            OutMsg::Data(d) => {
                self.pending.fetch_add(d.len(), Ordering::Relaxed);
            }
            OutMsg::Close => self.kill.notify_one(),
            OutMsg::Unblocked => {}
        }
        let _ = self.tx.send(msg);
    }

    fn pending_bytes(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

/// Removes the client from the engine when the connection task ends, however it ends.
struct Registration {
    engine: Arc<Engine>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.engine.script_running() {
            // The engine is held by a script: unregister off the async workers.
            let (engine, id) = (self.engine.clone(), self.id);
            tokio::task::spawn_blocking(move || engine.disconnect(id));
        } else {
            self.engine.disconnect(self.id);
        }
    }
}

const READ_CHUNK: usize = 16 * 1024;
/// Read buffers grown past this are given back once drained.
const BUFFER_KEEP: usize = 64 * 1024;

async fn serve<S>(
    sock: S,
    engine: Arc<Engine>,
    kind: ClientKind,
    info: ConnInfo,
    mut stop: watch::Receiver<bool>,
    runtime: Option<Arc<listeners::RuntimeListeners>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pending = Arc::new(AtomicUsize::new(0));
    let kill = Arc::new(Notify::new());
    let outbox = Arc::new(ChannelOutbox {
        tx,
        pending: pending.clone(),
        kill: kill.clone(),
    });
    let id = if engine.script_running() {
        // The engine is held by a script: register off the async workers.
        let eng = engine.clone();
        match tokio::task::spawn_blocking(move || eng.connect(kind, info, outbox)).await {
            Ok(id) => id,
            Err(_) => return,
        }
    } else {
        engine.connect(kind, info, outbox)
    };
    // Until AUTH succeeds, requests get redis's unauthenticated limits (10 arguments, 16 KiB
    // each), so an unauthenticated peer cannot make the server buffer large requests.
    let mut authenticated = engine.starts_authenticated(kind);
    let _reg = Registration {
        engine: engine.clone(),
        id,
    };
    let (mut rd, mut wr) = tokio::io::split(sock);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut cmds: VecDeque<Argv> = VecDeque::new();
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut blocked: Option<Option<i64>> = None;
    let mut paused_until: Option<i64> = None;
    let mut closing = false;
    let mut protocol_error = false;
    loop {
        // Parse what is buffered; while unauthenticated, one command at a time (as redis does),
        // so that a successful AUTH lifts the limits for the requests that follow it.
        let mut more_buffered = false;
        // Commands still queued (after a blocked one) are run before more input is parsed.
        let parse_deferred = !protocol_error && !buf.is_empty() && !cmds.is_empty();
        if !protocol_error && !buf.is_empty() && cmds.is_empty() {
            let limits = RequestLimits {
                max_bulk_len: engine.proto_max_bulk_len(),
                authenticated,
            };
            let mut consumed = 0;
            loop {
                if !authenticated && !cmds.is_empty() {
                    more_buffered = consumed < buf.len();
                    break;
                }
                match parse_request(&buf[consumed..], &limits) {
                    Ok(Parsed::Command(argv, n)) => {
                        consumed += n;
                        if let Some(rt) = runtime
                            .as_ref()
                            .filter(|_| listeners::RuntimeListeners::is_listener_command(&argv))
                        {
                            // Replies keep the order of the requests.
                            if !cmds.is_empty() && blocked.is_none() {
                                let _ = engine.run(id, &mut cmds, &mut out);
                            }
                            rt.run(&argv, &engine, &stop, &mut out);
                        } else if !argv.is_empty() {
                            cmds.push_back(argv);
                        }
                    }
                    Ok(Parsed::Incomplete) => break,
                    Err(e) => {
                        let msg = e.message();
                        engine.protocol_error(&msg);
                        // Replies to what parsed before the error come first.
                        if !cmds.is_empty() && blocked.is_none() {
                            let _ = engine.run(id, &mut cmds, &mut out);
                        }
                        out.extend_from_slice(b"-ERR ");
                        out.extend_from_slice(msg.as_bytes());
                        out.extend_from_slice(b"\r\n");
                        protocol_error = true;
                        cmds.clear();
                        consumed = buf.len();
                        break;
                    }
                }
            }
            engine.note_input(consumed);
            let _ = buf.split_to(consumed);
            if buf.is_empty() && buf.capacity() > BUFFER_KEEP {
                buf = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        // Execute what is queued unless blocked or paused.
        if blocked.is_none() && paused_until.is_none() && !cmds.is_empty() {
            let outcome = if cmds
                .iter()
                .any(engine_redis::cmd::scripting::is_script_command)
            {
                // A script may hold the engine for long: run the batch on the blocking pool so
                // this runtime's workers keep serving other connections (their BUSY replies).
                let eng = engine.clone();
                let (mut c, mut o) = (std::mem::take(&mut cmds), std::mem::take(&mut out));
                let done = tokio::task::spawn_blocking(move || {
                    let outcome = eng.run(id, &mut c, &mut o);
                    (outcome, c, o)
                })
                .await;
                match done {
                    Ok((outcome, c, o)) => {
                        (cmds, out) = (c, o);
                        outcome
                    }
                    Err(_) => RunOutcome::Close,
                }
            } else {
                engine.run(id, &mut cmds, &mut out)
            };
            match outcome {
                RunOutcome::Done => {}
                RunOutcome::Blocked { deadline_ms } => blocked = Some(deadline_ms),
                RunOutcome::Paused { until_ms } => paused_until = Some(until_ms),
                RunOutcome::Close => closing = true,
            }
            if !authenticated {
                authenticated = engine.is_authenticated(id);
            }
        }
        if protocol_error && cmds.is_empty() && blocked.is_none() {
            closing = true;
        }
        if !out.is_empty() {
            pending.fetch_add(out.len(), Ordering::Relaxed);
            let written = tokio::select! {
                r = wr.write_all(&out) => r.is_ok(),
                _ = kill.notified() => false,
            };
            pending.fetch_sub(out.len(), Ordering::Relaxed);
            if !written {
                return;
            }
            out.clear();
            if out.capacity() > BUFFER_KEEP {
                out = Vec::with_capacity(READ_CHUNK);
            }
        }
        if closing {
            let _ = wr.flush().await;
            let _ = wr.shutdown().await;
            return;
        }
        if (more_buffered || parse_deferred) && blocked.is_none() && paused_until.is_none() {
            continue;
        }
        let now = engine_redis::util::now_ms();
        let wake_at = match (blocked, paused_until) {
            (Some(Some(d)), _) => Some(d),
            (_, Some(p)) => Some(p),
            _ => None,
        };
        // No timer is registered unless the connection waits for a deadline.
        let sleep = async move {
            match wake_at {
                Some(w) => tokio::time::sleep(Duration::from_millis((w - now).max(0) as u64)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            r = rd.read_buf(&mut buf), if !protocol_error => {
                match r {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if buf.capacity() - buf.len() < READ_CHUNK / 4 {
                    buf.reserve(READ_CHUNK);
                }
            }
            msg = rx.recv() => {
                match msg {
                    Some(OutMsg::Data(d)) => {
                        pending.fetch_sub(d.len(), Ordering::Relaxed);
                        out.extend_from_slice(&d);
                        // Drain whatever else is queued to write it in one go.
                        while let Ok(m) = rx.try_recv() {
                            match m {
                                OutMsg::Data(d) => {
                                    pending.fetch_sub(d.len(), Ordering::Relaxed);
                                    out.extend_from_slice(&d);
                                }
                                OutMsg::Unblocked => blocked = None,
                                OutMsg::Close => closing = true,
                            }
                        }
                    }
                    Some(OutMsg::Unblocked) => blocked = None,
                    Some(OutMsg::Close) => closing = true,
                    None => return,
                }
            }
            _ = sleep, if wake_at.is_some() => {
                if blocked.is_some() {
                    engine.timeout_blocked(id, &mut out);
                    blocked = None;
                }
                paused_until = None;
            }
            _ = stop.changed() => return,
        }
    }
}
