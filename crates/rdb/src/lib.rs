//! The Redis RDB format: reading every version real Redis writes and writing one it loads, plus
//! the DUMP/RESTORE value payload (same value encoding, RDB version and CRC64 trailer).
//!
//! No I/O beyond `Read`/`Write`, no knowledge of the engine's data structures: values cross this
//! boundary as plain Rust collections.
