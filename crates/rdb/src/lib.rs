//! The Redis RDB format: reading every version real Redis writes and writing one it loads, plus
//! the DUMP/RESTORE value payload (same value encoding, RDB version and CRC64 trailer).
//!
//! No I/O beyond `Read`/`Write`, no knowledge of the engine's data structures: values cross this
//! boundary as plain Rust collections ([`Value`]), keys as [`Entry`]s.
//!
//! - [`Reader`] streams entries out of an RDB file of version 1 to 12 (Redis 2.x to 7.4), every
//!   encoding: plain types, zipmap, ziplist, intset, listpack, quicklist v1/v2, ZSET_2, LZF and
//!   integer-encoded strings, streams of all three encodings (Redis 5, 7.0, 7.2) with their
//!   consumer groups; it checks the CRC64 trailer. Module values, module aux data, pre-GA
//!   function records and 7.4 hash-field expiries are refused with [`Error::Unsupported`];
//!   function libraries (Redis 7 `FUNCTION2`) are kept aside as source text.
//! - [`Writer`] writes RDB version 10 (what redis-server 7.0 writes) with the encodings 7.0 uses.
//! - [`dump`] encodes and decodes DUMP payloads.
//!
//! ```text
//! file  := "REDIS" version(4 ASCII digits) record* 0xFF crc64(8, LE)
//! record:= AUX key value | SELECTDB len | RESIZEDB len len | FUNCTION2 string
//!        | [EXPIRETIME_MS i64 | EXPIRETIME i32] [IDLE len | FREQ u8] type key value
//! ```

pub mod dump;
pub mod encoding;
mod error;
pub mod lzf;
mod read;
pub mod stream;
mod write;

pub use error::{Error, Result};
pub use read::Reader;
pub use stream::Stream;
pub use write::{encode_value, Writer};

/// The RDB version this crate writes (redis-server 7.0).
pub const WRITE_VERSION: u32 = 10;
/// The newest RDB version this crate reads (redis-server 7.4).
pub const MAX_READ_VERSION: u32 = 12;

/// One key's value, in the shape Redis exposes it (not how it is encoded).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    /// Elements head to tail.
    List(Vec<Vec<u8>>),
    /// Members in no particular order.
    Set(Vec<Vec<u8>>),
    /// Member and score pairs in no particular order.
    SortedSet(Vec<(Vec<u8>, f64)>),
    /// Field and value pairs in no particular order.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// Entries, metadata and consumer groups (boxed: much larger than the other variants).
    Stream(Box<Stream>),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::SortedSet(_) => "zset",
            Value::Hash(_) => "hash",
            Value::Stream(_) => "stream",
        }
    }
}

/// One key of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The database number (`SELECT` index).
    pub db: u32,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute expiry time in unix milliseconds, if the key has a TTL.
    pub expire_ms: Option<i64>,
}

/// The record opcodes and value type bytes of the format (`rdb.h`).
pub mod opcode {
    pub const SLOT_INFO: u8 = 244;
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;

    pub const TYPE_STRING: u8 = 0;
    pub const TYPE_LIST: u8 = 1;
    pub const TYPE_SET: u8 = 2;
    pub const TYPE_ZSET: u8 = 3;
    pub const TYPE_HASH: u8 = 4;
    pub const TYPE_ZSET_2: u8 = 5;
    pub const TYPE_MODULE_PRE_GA: u8 = 6;
    pub const TYPE_MODULE_2: u8 = 7;
    pub const TYPE_HASH_ZIPMAP: u8 = 9;
    pub const TYPE_LIST_ZIPLIST: u8 = 10;
    pub const TYPE_SET_INTSET: u8 = 11;
    pub const TYPE_ZSET_ZIPLIST: u8 = 12;
    pub const TYPE_HASH_ZIPLIST: u8 = 13;
    pub const TYPE_LIST_QUICKLIST: u8 = 14;
    pub const TYPE_STREAM_LISTPACKS: u8 = 15;
    pub const TYPE_HASH_LISTPACK: u8 = 16;
    pub const TYPE_ZSET_LISTPACK: u8 = 17;
    pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
    pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
    pub const TYPE_SET_LISTPACK: u8 = 20;
    pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;
    pub const TYPE_HASH_METADATA_PRE_GA: u8 = 22;
    pub const TYPE_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
    pub const TYPE_HASH_METADATA: u8 = 24;
    pub const TYPE_HASH_LISTPACK_EX: u8 = 25;
}

/// CRC-64/Jones as Redis uses it for the RDB trailer and DUMP payloads.
pub(crate) static CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// The CRC64 Redis computes over `data`.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}
