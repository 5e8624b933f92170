//! The Redis-compatible data store: keyspace, data types, expiry, eviction, commands, pub/sub,
//! transactions and Lua scripting.
//!
//! Commands never see sockets: they read an argument vector and write to a reply sink. The
//! `node` crate owns sockets, buffers and threads.

pub mod hll;
pub mod scripting;
