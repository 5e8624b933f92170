//! The Redis-compatible data store: keyspace, data types, expiry, eviction, commands, pub/sub,
//! transactions, blocking commands and (see `scripting/`) Lua.
//!
//! Commands never see sockets: they read an argument vector and write to a reply sink. The
//! `node` crate owns sockets, buffers and threads.
//!
//! ```text
//!  connection threads (node)           Engine = Mutex<Server>
//!  ───────────────────────────          ─────────────────────────────────────────────
//!  parse every complete request  ──▶   Engine::run(client, batch):  lock once,
//!  of the read buffer                    for each command: dispatcher (cmd::dispatch)
//!                                          ├─ table check: arity, auth, managed mode,
//!                                          │   MULTI queueing, pub/sub context, OOM
//!                                          ├─ handler(ctx): keyspace (db.rs) + types/
//!                                          └─ after: serve blocked clients, notifications
//!  write all replies at once     ◀──    unlock; replies in the caller's buffer
//!  async messages (pub/sub, served  ◀── Outbox of other clients (trait, node-implemented)
//!  blocked pops, MONITOR)
//! ```
//!
//! Design choices:
//! - **One lock, taken once per batch of pipelined commands** (or once per [`Turn`] for the
//!   batches of several connections: a node worker runs everything it has waiting in one turn).
//!   Every command is atomic and runs alone, so MULTI/EXEC and scripts need no extra machinery:
//!   they run inside the same critical section. I/O, parsing and reply encoding of different
//!   connections run in parallel on the node's threads; at pipeline depth 16 a batch costs one
//!   lock and one write. While a script holds the lock past its time limit, batches are
//!   answered BUSY without it (`cmd::multi::BusyTransactions` keeps MULTI/EXEC right then).
//! - **Re-entrant `call`:** [`Server::call`] executes a command for a client with no socket (a
//!   script's fake client, EXEC's queued commands) and returns the encoded reply; scripting
//!   parses it back with `resp::Frame`.
//! - **Client state lives in the server** (a registry keyed by client id) so CLIENT LIST/KILL,
//!   pub/sub delivery, WATCH invalidation and blocked-client wake-ups reach any client. While a
//!   client's batch runs, its state is taken out of the registry and handed to the handlers.
//! - **Memory**: see `db.rs` for the per-key layout; `used_memory` comes from the process's
//!   allocation counter ([`alloc::CountingAlloc`], installed by the node binary), so eviction
//!   starts where `maxmemory` says.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod client;
pub mod cmd;
pub mod config;
pub mod db;
pub mod evict;
pub mod hll;
pub mod info;
pub mod notify;
pub mod obuf;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod table;
pub mod tracking;
pub mod types;
pub mod util;

pub use client::{ClientKind, ConnInfo, OutMsg, Outbox};
pub use config::Config;
pub use server::{Engine, RunOutcome, Server, Turn};
