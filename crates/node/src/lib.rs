//! One cache node process: listeners, connection loops and the control channel.
//!
//! ```text
//!   clients ──TCP──▶ listener(s) ──▶ connection tasks ──▶ engine (engine-redis | engine-memcached)
//!   control plane ──unix socket──▶ control channel ──▶ same engine, admin privileges
//! ```
//!
//! The control channel is a Unix socket (`--control-socket`) that speaks the engine's own
//! protocol. A connection there is an *admin* connection: the commands that `--managed` refuses to
//! clients (CONFIG, SAVE, SLAVEOF, `config set cluster`, ...) are allowed on it. File permissions
//! on the socket, not a password, keep clients out. One grammar, one command table, one flag.

mod busy_poll;
pub mod memcached;
pub mod redis;

use std::net::IpAddr;
use std::path::PathBuf;

/// Which protocol and store a node runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Redis,
    Memcached,
}

impl Engine {
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Redis => 6379,
            Engine::Memcached => 11211,
        }
    }
}

/// Options of `ferrocache node`.
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// The engine this node runs.
    #[arg(long, value_enum)]
    pub engine: Engine,
    /// Addresses to listen on (repeat for several).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: Vec<IpAddr>,
    /// TCP port (default: 6379 for redis, 11211 for memcached; 0 picks a free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// Worker threads (memcached's `num_threads`); defaults to the number of CPUs.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Memory limit in bytes (Redis `maxmemory`); memcached uses `max_cache_memory` instead.
    #[arg(long)]
    pub maxmemory: Option<u64>,
    /// Engine parameter as NAME=VALUE (any parameter of the guide); repeat for several.
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Restricted mode used by the control plane: refuse the commands ElastiCache refuses.
    #[arg(long)]
    pub managed: bool,
    /// Unix socket of the control channel (admin connections).
    #[arg(long)]
    pub control_socket: Option<PathBuf>,
    /// Directory for the node's files (snapshots, append-only file).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// After serving input a worker keeps polling its sockets this long before it sleeps,
    /// sparing the next sender a wake-up (0: sleep at once). For a node with cores of its own.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 0)]
    pub busy_poll: u64,
}

impl NodeArgs {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.engine.default_port())
    }

    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    pub fn busy_poll(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.busy_poll)
    }
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    Ok((name.to_string(), value.to_string()))
}

/// Runs one node until it is told to stop.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    match args.engine {
        Engine::Redis => redis::run(args),
        Engine::Memcached => memcached::run(args),
    }
}
