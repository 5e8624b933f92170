//! The Redis node: RESP listeners, connection loops and the control socket over `engine-redis`.
//!
//! ```text
//!   worker 0..N (`--threads N`; one thread each, a single-threaded tokio runtime)
//!   ├─ worker 0: accept loop per --bind address and per runtime listener (`listeners.rs`)
//!   │     ──▶ hands each connection to a worker, round-robin; it stays there until closed
//!   ├─ worker 0: control socket (unix, --control-socket) ─▶ connection task, ClientKind::Control
//!   │     (also LISTENER ADD/REMOVE)
//!   ├─ worker 0: cron task (every 1000/hz ms): active expiry, idle timeouts, SHUTDOWN watch
//!   └─ connection tasks ──▶ Executor (`exec.rs`) ──▶ Arc<Engine> (one Mutex<Server>)
//!   replication thread: the link to our primary after REPLICAOF (`replication.rs`)
//!
//!   connection task:
//!     read ─▶ parse every complete request in the buffer (no lock)
//!          ─▶ Executor::run(batch) (one lock for the whole batch; while another worker has
//!             the engine, the batch waits as a task and runs in this worker's next turn
//!             together with its other connections' batches)
//!          ─▶ one write of all replies
//!     while waiting for input it also waits on the client's mailbox (`mailbox.rs`: pub/sub
//!     messages, served blocked commands, CLIENT KILL, output buffer limits; other workers reach
//!     a connection only through it) and on the deadline of a blocked command.
//! ```
//!
//! Per-request kernel crossings dominate at pipeline depth 1 on small machines, so a connection
//! drains everything readable before executing and writes every reply of the batch at once; a
//! short read clears the socket's readiness (tokio), so waiting costs no failed read. No task
//! moves between threads: a worker's connections share its thread and its poller, and the only
//! state workers share is the engine. Stopping the node drops every worker's runtime, which
//! closes its connections.

mod exec;
pub mod listeners;
mod mailbox;
pub mod replication;

use crate::NodeArgs;
use anyhow::Context as _;
use bytes::{Buf as _, BytesMut};
use engine_redis::client::{ClientKind, ConnInfo, OutMsg, Outbox};
use engine_redis::{Config, Engine, RunOutcome};
use resp::request::{parse_request, Argv, Parsed, RequestLimits};
use std::collections::VecDeque;
use std::future::Future as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

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
    threads: Vec<std::thread::JoinHandle<()>>,
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

    /// Stops accepting, closes connections and joins the worker threads.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// Blocks until the node stops (SHUTDOWN, or [`RedisNode::shutdown`] from elsewhere).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    fn stop_and_join(&mut self) {
        self.engine.stop_script_for_shutdown();
        let _ = self.stop.send(true);
        for t in self.threads.drain(..) {
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

/// What every worker and accept loop of a node shares: the engine (behind its executor) and
/// the workers' runtimes.
pub(crate) struct Workers {
    exec: Arc<exec::Executor>,
    handles: Vec<tokio::runtime::Handle>,
    next: AtomicUsize,
}

impl Workers {
    /// Hands an accepted connection to the next worker, round-robin; it stays there until it
    /// closes.
    fn place(&self, sock: tokio::net::TcpStream, info: ConnInfo) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        // Leave this worker's poller; the target worker registers the socket with its own.
        let Ok(sock) = sock.into_std() else {
            return;
        };
        let exec = self.exec.clone();
        self.handles[i].spawn(async move {
            if let Ok(sock) = tokio::net::TcpStream::from_std(sock) {
                serve(sock, exec, ClientKind::Normal, info, None).await;
            }
        });
    }
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
    let runtimes = (0..args.threads())
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("building the runtimes")?;
    let rt0 = &runtimes[0];
    let mut listeners = Vec::new();
    for ip in &args.bind {
        let addr = SocketAddr::new(*ip, args.port());
        let l = rt0
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
    let mut control = match &args.control_socket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let _guard = rt0.enter();
            Some(
                tokio::net::UnixListener::bind(path)
                    .with_context(|| format!("binding control socket {}", path.display()))?,
            )
        }
        None => None,
    };
    let workers = Arc::new(Workers {
        exec: Arc::new(exec::Executor::new(engine.clone())),
        handles: runtimes.iter().map(|rt| rt.handle().clone()).collect(),
        next: AtomicUsize::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, rt) in runtimes.into_iter().enumerate() {
        let mut stop = stop_rx.clone();
        let busy_poll = args.busy_poll();
        // Worker 0 also runs the accept loops, the control socket, cron and replication.
        let first = (i == 0).then(|| {
            (
                std::mem::take(&mut listeners),
                control.take(),
                workers.clone(),
                stop_tx.clone(),
            )
        });
        let thread = std::thread::Builder::new()
            .name(format!("redis-worker-{i}"))
            .spawn(move || {
                rt.block_on(async move {
                    crate::busy_poll::start(busy_poll);
                    if let Some((listeners, control, workers, stop_tx)) = first {
                        let engine = workers.exec.engine().clone();
                        for l in listeners {
                            tokio::spawn(accept_tcp(l, workers.clone()));
                        }
                        if let Some(c) = control {
                            let runtime =
                                Arc::new(listeners::RuntimeListeners::new(workers.clone()));
                            tokio::spawn(accept_unix(c, workers.clone(), runtime));
                        }
                        tokio::spawn(cron(engine, stop_tx));
                    }
                    let _ = stop.wait_for(|stop| *stop).await;
                });
                // Dropping the runtime's tasks closes this worker's connections.
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .context("spawning a worker thread")?;
        threads.push(thread);
    }
    // The replication link takes the engine's lock unconditionally (it must apply the stream
    // in order), also while a script holds it: on a thread of its own, that wait never stalls
    // a worker's clients (SCRIPT KILL, SHUTDOWN NOSAVE).
    let replication_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the replication runtime")?;
    let (eng, mut stop) = (engine.clone(), stop_rx);
    let thread = std::thread::Builder::new()
        .name("redis-replication".into())
        .spawn(move || {
            replication_rt.block_on(async move {
                tokio::spawn(replication::supervise(eng, stop.clone()));
                let _ = stop.wait_for(|stop| *stop).await;
            });
            replication_rt.shutdown_timeout(Duration::from_millis(200));
        })
        .context("spawning the replication thread")?;
    threads.push(thread);
    Ok(RedisNode {
        addrs,
        engine,
        stop: stop_tx,
        threads,
    })
}

/// Runs a node until SHUTDOWN or a termination signal.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let node = start(args)?;
    tracing::info!(addr = %node.addr(), "redis node ready to accept connections");
    ctrlc_stop(node.stop.clone(), node.engine.clone());
    node.wait();
    Ok(())
}

/// SIGINT/SIGTERM stop the node (and a script that would keep it busy).
fn ctrlc_stop(stop: watch::Sender<bool>, engine: Arc<Engine>) {
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
        engine.stop_script_for_shutdown();
        let _ = stop.send(true);
    });
}

/// Runs until the node stops (its runtime drops it) or SHUTDOWN asks to stop.
async fn cron(engine: Arc<Engine>, stop_tx: watch::Sender<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        engine.cron();
        if engine.shutdown_requested() {
            let _ = stop_tx.send(true);
            return;
        }
    }
}

/// Accepts on one TCP listener (on worker 0) until the node stops or the listener is removed.
async fn accept_tcp(l: tokio::net::TcpListener, workers: Arc<Workers>) {
    loop {
        match l.accept().await {
            Ok((sock, peer)) => {
                let _ = sock.set_nodelay(true);
                let info = ConnInfo {
                    addr: peer.to_string(),
                    laddr: sock.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                    fd: std::os::fd::AsRawFd::as_raw_fd(&sock) as i64,
                };
                workers.place(sock, info);
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Accepts control connections; they are served on worker 0, where the runtime listeners'
/// accept loops live too.
async fn accept_unix(
    l: tokio::net::UnixListener,
    workers: Arc<Workers>,
    runtime: Arc<listeners::RuntimeListeners>,
) {
    loop {
        let Ok((sock, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        {
            let info = ConnInfo {
                addr: "/control:0".into(),
                laddr: "/control:0".into(),
                fd: std::os::fd::AsRawFd::as_raw_fd(&sock) as i64,
            };
            tokio::spawn(serve(
                sock,
                workers.exec.clone(),
                ClientKind::Control,
                info,
                Some(runtime.clone()),
            ));
        }
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
            // The engine is held by a script: unregister off the async workers (on a plain
            // thread when the worker's runtime is being dropped).
            let (engine, id) = (self.engine.clone(), self.id);
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || engine.disconnect(id))),
                Err(_) => drop(std::thread::spawn(move || engine.disconnect(id))),
            }
        } else {
            self.engine.disconnect(self.id);
        }
    }
}

const READ_CHUNK: usize = 16 * 1024;
/// Read buffers grown past this are given back once drained.
const BUFFER_KEEP: usize = 64 * 1024;

/// Writes all of `out`. False when the connection failed, or was closed (CLIENT KILL, output
/// buffer limits) while the client was not reading.
async fn write_out<S: AsyncWrite + Unpin>(
    sock: &mut S,
    out: &[u8],
    mail: &mut mailbox::MailboxRx,
) -> bool {
    let mut done = 0;
    // Unsent bytes counted in the client's output buffer (CLIENT LIST omem, output buffer
    // limits) while the socket does not take them; a reply that leaves at once is never counted.
    let mut counted = 0;
    let written = std::future::poll_fn(|cx| loop {
        match std::pin::Pin::new(&mut *sock).poll_write(cx, &out[done..]) {
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(false),
            Poll::Ready(Ok(n)) => {
                done += n;
                if done == out.len() {
                    return Poll::Ready(true);
                }
            }
            Poll::Pending => {
                if mail.poll_killed(cx) {
                    return Poll::Ready(false);
                }
                mail.recount_unsent(&mut counted, out.len() - done);
                return Poll::Pending;
            }
        }
    })
    .await;
    mail.recount_unsent(&mut counted, 0);
    written
}

/// What a waiting connection woke up for.
enum Wake {
    Read(std::io::Result<usize>),
    Mail,
    Deadline,
}

/// How registering a new connection ended.
enum Admission {
    Admitted(u64),
    /// Over `maxclients`.
    Refused,
    /// The peer went away first.
    Gone,
}

/// Registers a connection that arrives while a script holds the engine (registering needs the
/// engine) without leaving it unanswered meanwhile, as redis answers: each request gets BUSY,
/// SCRIPT KILL works, and SHUTDOWN NOSAVE stops the script and waits in `buf` to run once the
/// connection is registered (or refused by `maxclients`).
async fn register_while_script_runs<S: AsyncRead + AsyncWrite + Unpin>(
    sock: &mut S,
    engine: &Arc<Engine>,
    kind: ClientKind,
    info: ConnInfo,
    outbox: Arc<dyn Outbox>,
    buf: &mut BytesMut,
) -> Admission {
    let eng = engine.clone();
    let mut registration = tokio::task::spawn_blocking(move || eng.try_connect(kind, info, outbox));
    let limits = RequestLimits {
        max_bulk_len: engine.proto_max_bulk_len(),
        authenticated: false,
    };
    let mut held = false; // a SHUTDOWN NOSAVE waits in `buf`
                          // Requests wait, as they would for the lock, until the script passes the BUSY threshold.
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tokio::select! {
            id = &mut registration => return match id {
                Ok(Some(id)) => Admission::Admitted(id),
                Ok(None) => Admission::Refused,
                Err(_) => Admission::Gone,
            },
            r = sock.read_buf(buf), if !held => {
                if !matches!(r, Ok(n) if n > 0) {
                    // Gone: unregister once the registration is through.
                    let eng = engine.clone();
                    tokio::spawn(async move {
                        if let Ok(Some(id)) = registration.await {
                            let _ = tokio::task::spawn_blocking(move || eng.disconnect(id)).await;
                        }
                    });
                    return Admission::Gone;
                }
            }
            _ = tick.tick() => {}
        }
        if held || buf.is_empty() || !engine.script_busy() {
            continue;
        }
        let mut out = Vec::new();
        let mut consumed = 0;
        while let Ok(Parsed::Command(argv, n)) = parse_request(&buf[consumed..], &limits) {
            if !engine.reply_while_script_runs(&argv, &mut out) {
                held = true;
                break;
            }
            consumed += n;
        }
        buf.advance(consumed);
        if !out.is_empty() && sock.write_all(&out).await.is_err() {
            return Admission::Gone;
        }
    }
}

/// Serves one connection until the client leaves, the connection is closed (QUIT, CLIENT KILL,
/// a protocol error) or the node stops (its worker's runtime drops this task).
async fn serve<S>(
    mut sock: S,
    exec: Arc<exec::Executor>,
    kind: ClientKind,
    info: ConnInfo,
    runtime: Option<Arc<listeners::RuntimeListeners>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let engine = exec.engine().clone();
    let mailbox = Arc::new(mailbox::Mailbox::default());
    let outbox: Arc<dyn Outbox> = mailbox.clone();
    let mut mail = mailbox::MailboxRx::new(mailbox);
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    // Registering needs the engine: if it is held (a script may have just started and hold it
    // for long), register off this worker and answer BUSY meanwhile instead of blocking it.
    let now = if engine.script_running() {
        None
    } else {
        engine.try_connect_now(kind, info.clone(), outbox.clone())
    };
    let admission = match now {
        Some(Some(id)) => Admission::Admitted(id),
        Some(None) => Admission::Refused,
        None => register_while_script_runs(&mut sock, &engine, kind, info, outbox, &mut buf).await,
    };
    let id = match admission {
        Admission::Admitted(id) => id,
        Admission::Refused => {
            // Over `maxclients`: redis's error, then the connection closes.
            let _ = sock
                .write_all(engine_redis::server::MAX_CLIENTS_ERROR)
                .await;
            let _ = sock.shutdown().await;
            return;
        }
        Admission::Gone => return,
    };
    // Until AUTH succeeds, requests get redis's unauthenticated limits (10 arguments, 16 KiB
    // each), so an unauthenticated peer cannot make the server buffer large requests.
    let mut authenticated = engine.starts_authenticated(kind);
    let _reg = Registration {
        engine: engine.clone(),
        id,
    };
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
                            rt.run(&argv, &mut out);
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
            crate::busy_poll::note_input();
            // `advance`, not `split_to`: the buffer stays one plain allocation (no shared
            // counter), and `reserve` moves unread bytes to its front when room runs out.
            buf.advance(consumed);
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
                // this worker keeps serving its other connections (their BUSY replies).
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
                exec.run(id, &mut cmds, &mut out).await
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
            if !write_out(&mut sock, &out, &mut mail).await {
                return;
            }
            out.clear();
            if out.capacity() > BUFFER_KEEP {
                out = Vec::with_capacity(READ_CHUNK);
            }
        }
        if closing {
            let _ = sock.flush().await;
            let _ = sock.shutdown().await;
            return;
        }
        if (more_buffered || parse_deferred) && blocked.is_none() && paused_until.is_none() {
            continue;
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let wake_at = match (blocked, paused_until) {
            (Some(Some(d)), _) => Some(d),
            (_, Some(p)) => Some(p),
            _ => None,
        };
        // No timer is registered unless the connection waits for a deadline.
        let deadline = wake_at.map(|w| {
            let now = engine_redis::util::now_ms();
            tokio::time::sleep(Duration::from_millis((w - now).max(0) as u64))
        });
        let mut deadline = std::pin::pin!(deadline);
        // One hand-written wait instead of `select!`: nothing to build or randomise per request.
        // The outbox comes first so that a client that keeps sending cannot starve its pub/sub
        // messages and wake-ups.
        let wake = std::future::poll_fn(|cx| {
            if mail.poll_mail(cx).is_ready() {
                return Poll::Ready(Wake::Mail);
            }
            if !protocol_error {
                if let Poll::Ready(r) = std::pin::pin!(sock.read_buf(&mut buf)).poll(cx) {
                    return Poll::Ready(Wake::Read(r));
                }
            }
            match deadline.as_mut().as_pin_mut().map(|d| d.poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Wake::Deadline),
                _ => Poll::Pending,
            }
        })
        .await;
        match wake {
            Wake::Read(Ok(0) | Err(_)) => return,
            Wake::Read(Ok(_)) => {}
            Wake::Mail => {
                // Everything queued, written in one go.
                for m in mail.take() {
                    match m {
                        OutMsg::Data(d) => out.extend_from_slice(&d),
                        OutMsg::Unblocked => blocked = None,
                        OutMsg::Close => closing = true,
                    }
                }
            }
            Wake::Deadline => {
                if blocked.is_some() {
                    engine.timeout_blocked(id, &mut out);
                    blocked = None;
                }
                paused_until = None;
            }
        }
    }
}
