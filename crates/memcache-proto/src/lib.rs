//! The memcached wire protocols: text, meta and binary, plus ElastiCache's `config get cluster`.
//!
//! A codec only: no I/O, no state. Requests parse from `&[u8]` into typed values plus bytes
//! consumed, or `Incomplete`; responses encode into a buffer.
