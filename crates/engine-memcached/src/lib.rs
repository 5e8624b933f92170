//! The Memcached-compatible store: items, CAS, LRU eviction, memory accounting, stats and the
//! Auto Discovery cluster configuration.
//!
//! The store knows nothing of the wire: `memcache-proto` parses requests, the `node` crate owns
//! sockets and threads.
