//! The Memcached node: text/binary/meta listeners and connection loops over `engine-memcached`.
//!
//! ```text
//!   worker 0..N (one thread each, a single-threaded tokio runtime)
//!     ├─ its own SO_REUSEPORT listener per --bind address ──▶ connection tasks (conn::serve)
//!     └─ worker 0 also: the control socket (admin connections)
//!   maintenance thread: expired-item crawler, AmazonElastiCache:cluster repair
//!   all of them ──▶ Arc<Shared> { Store, counters }
//! ```
//!
//! The kernel spreads connections over the workers' listeners, so a connection lives on one
//! thread from accept to close and no request crosses threads (thread-per-core, as memcached's
//! worker threads).
//!
//! Admin connections (the `--control-socket` Unix socket) speak the same text protocol plus:
//! - `config set cluster 0 0 <bytes>\r\n<version>\n<host>|<ip>|<port> ...\n\r\n` → `STORED`
//!   (the version is the control plane's; nodes never invent one);
//! - `config set param <name> <value>` → `OK` or `CLIENT_ERROR <why>`: changes a parameter on
//!   the running node (memory limit, max_item_size, error_on_memory_exhausted, maxconns_fast,
//!   max_simultaneous_connections, slab_automove, slab_reassign, ...; layout and thread
//!   parameters are refused as restart-only).
//!
//! On client connections both `config set` forms answer `ERROR`.

mod binary;
mod conn;
mod meta;
mod stats;
mod text;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use engine_memcached::{Settings, Store};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, Notify};

use crate::NodeArgs;

/// State shared by every worker of a node.
pub struct Shared {
    pub store: Store,
    pub port: u16,
    pub threads: usize,
    pub verbosity: AtomicU32,
    pub conn_yields: AtomicU64,
    /// Open client connections for `stats conns`: id → (peer, listening address).
    pub conns: Mutex<HashMap<u64, (String, String)>>,
    next_conn: AtomicU64,
    slot_freed: Notify,
}

/// A running node.
pub struct Handle {
    /// The addresses the node listens on (real ports, also when 0 was asked).
    pub addrs: Vec<SocketAddr>,
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
}

impl Handle {
    /// The first listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Stops every worker and waits for them.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stopped.store(true, Relaxed);
        let _ = self.shutdown.send(true);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Blocks until the node stops (it does not stop on its own: the process is killed).
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_inner();
        }
    }
}

/// Builds the settings from `--param` and `--threads`.
pub fn settings_from_args(args: &NodeArgs) -> anyhow::Result<Settings> {
    let mut s = Settings::default();
    for (name, value) in &args.params {
        s.apply(name, value)?;
    }
    if let Some(t) = args.threads {
        s.num_threads = t.max(1);
    } else if !args.params.iter().any(|(n, _)| n == "num_threads") {
        s.num_threads = args.threads();
    }
    Ok(s)
}

fn listener(addr: SocketAddr, backlog: u32) -> anyhow::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("binding {addr}"))?;
    socket.listen(backlog.clamp(16, 65535) as i32)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Starts a node in this process and returns once it is listening.
pub fn start(args: NodeArgs) -> anyhow::Result<Handle> {
    let settings = settings_from_args(&args)?;
    let threads = settings.num_threads;
    let backlog = settings.backlog_queue_limit;

    // Every listener sets SO_REUSEPORT, also across processes on purpose: the memcached
    // configuration endpoint is one address that all nodes of a cluster listen on (DESIGN.md,
    // "Endpoints without DNS"), so a client lands on some live node.
    // Bind worker 0's listeners first: with port 0 they pick the port the others share.
    let mut per_worker: Vec<Vec<std::net::TcpListener>> = Vec::new();
    let mut addrs = Vec::new();
    let first: Vec<_> = args
        .bind
        .iter()
        .map(|ip| listener(SocketAddr::new(*ip, args.port()), backlog))
        .collect::<anyhow::Result<_>>()?;
    for l in &first {
        addrs.push(l.local_addr()?);
    }
    per_worker.push(first);
    for _ in 1..threads {
        per_worker.push(
            addrs
                .iter()
                .map(|a| listener(*a, backlog))
                .collect::<anyhow::Result<_>>()?,
        );
    }
    let control = match &args.control_socket {
        Some(path) => {
            let _ = std::fs::remove_file(path);
            let l = std::os::unix::net::UnixListener::bind(path)
                .with_context(|| format!("binding control socket {}", path.display()))?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };

    let shared = Arc::new(Shared {
        store: Store::new(settings),
        port: addrs[0].port(),
        threads,
        verbosity: AtomicU32::new(0),
        conn_yields: AtomicU64::new(0),
        conns: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
        slot_freed: Notify::new(),
    });
    let (shutdown, rx) = watch::channel(false);
    let stopped = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let mut control = control;
    for (i, listeners) in per_worker.into_iter().enumerate() {
        let shared = shared.clone();
        let rx = rx.clone();
        let control = if i == 0 { control.take() } else { None };
        let busy_poll = args.busy_poll();
        handles.push(
            std::thread::Builder::new()
                .name(format!("mc-worker-{i}"))
                .spawn(move || worker(shared, listeners, control, rx, busy_poll))?,
        );
    }
    {
        let shared = shared.clone();
        let stopped = stopped.clone();
        handles.push(
            std::thread::Builder::new()
                .name("mc-maintenance".into())
                .spawn(move || maintenance(&shared, &stopped))?,
        );
    }
    Ok(Handle {
        addrs,
        shared,
        shutdown,
        threads: handles,
        stopped,
    })
}

/// Runs a node until the process is killed.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let handle = start(args)?;
    tracing::info!(addrs = ?handle.addrs, "memcached node listening");
    handle.wait();
    Ok(())
}

fn maintenance(shared: &Shared, stopped: &AtomicBool) {
    let mut tick = 0u64;
    while !stopped.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        tick += 1;
        if tick.is_multiple_of(10) {
            shared.store.crawl(512);
        }
        if tick.is_multiple_of(50) {
            shared.store.restore_legacy_cluster_item();
        }
    }
}

fn worker(
    shared: Arc<Shared>,
    listeners: Vec<std::net::TcpListener>,
    control: Option<std::os::unix::net::UnixListener>,
    mut shutdown: watch::Receiver<bool>,
    busy_poll: Duration,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let stats = shared.store.thread_stats();
    rt.block_on(async move {
        crate::busy_poll::start(busy_poll);
        for l in listeners {
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            let (shared, stats, shutdown) = (shared.clone(), stats.clone(), shutdown.clone());
            tokio::spawn(accept_tcp(l, shared, stats, shutdown));
        }
        if let Some(c) = control {
            let c = tokio::net::UnixListener::from_std(c).expect("control listener");
            let (shared, stats, mut shutdown) = (shared.clone(), stats.clone(), shutdown.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        r = c.accept() => {
                            if let Ok((sock, _)) = r {
                                let (shared, stats) = (shared.clone(), stats.clone());
                                tokio::spawn(async move {
                                    conn::serve(sock, &shared, &stats, true).await;
                                });
                            }
                        }
                        _ = shutdown.changed() => break,
                    }
                }
            });
        }
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
}

async fn accept_tcp(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stats: Arc<engine_memcached::stats::ThreadStats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let g = &shared.store.global;
    loop {
        let settings = shared.store.settings();
        let max = settings.max_simultaneous_connections;
        if !settings.maxconns_fast && g.curr_connections.load(Relaxed) >= max {
            // At the limit, leave new connections in the backlog until one closes.
            g.listen_disabled_num.fetch_add(1, Relaxed);
            tokio::select! {
                _ = shared.slot_freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        let (mut sock, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        if g.curr_connections.load(Relaxed) >= max {
            g.rejected_connections.fetch_add(1, Relaxed);
            let _ = sock.write_all(b"ERROR Too many open connections\r\n").await;
            continue;
        }
        let _ = sock.set_nodelay(true);
        let local = sock
            .local_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let (shared, stats) = (shared.clone(), stats.clone());
        tokio::spawn(async move {
            let g = &shared.store.global;
            g.curr_connections.fetch_add(1, Relaxed);
            g.total_connections.fetch_add(1, Relaxed);
            let id = shared.next_conn.fetch_add(1, Relaxed);
            shared
                .conns
                .lock()
                .insert(id, (format!("tcp:{peer}"), format!("tcp:{local}")));
            conn::serve(sock, &shared, &stats, false).await;
            shared.conns.lock().remove(&id);
            g.curr_connections.fetch_sub(1, Relaxed);
            shared.slot_freed.notify_waiters();
        });
    }
}
