//! The memcached wire protocols: text, meta and binary, plus ElastiCache's `config get cluster`.
//!
//! A codec only: no I/O, no state. Requests parse from `&[u8]` into typed values plus bytes
//! consumed, or `Incomplete`; responses encode into a `Vec<u8>`.
//!
//! ```text
//!   first byte 0x80 ──▶ binary::parse  ──▶ binary::Request  (header + extras + key + value)
//!   anything else   ──▶ text::parse    ──▶ text::Command    (classic, meta and config commands)
//!                                          storage/meta-set data blocks: text::data_block
//! ```
//!
//! A text storage command is parsed in two steps, as memcached does (`conn_nread`): the command
//! line first, then the data block of the announced length. The node can then refuse an oversized
//! value at once and swallow its bytes as they arrive instead of buffering them.
//!
//! Does not depend on the store or on any runtime.

pub mod binary;
pub mod cluster;
pub mod fuzzing;
pub mod meta;
pub mod number;
pub mod text;

/// memcached's key length limit (`KEY_MAX_LENGTH`).
pub const KEY_MAX_LENGTH: usize = 250;

/// memcached's limit on an unterminated command line: past this many bytes without `\n` the
/// connection is closed (a multi-get is let through, see [`text::line_end`]).
pub const MAX_LINE: usize = 2048;

/// Expiry times above this many seconds are absolute unix times (memcached's `REALTIME_MAXDELTA`).
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;

/// The result of a parse step: a value and how many bytes of input it used.
pub type Parsed<T> = Result<(T, usize), ParseError>;

/// Why a parse step did not produce a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed; nothing was consumed.
    Incomplete,
    /// The input can never become valid; the caller answers with the protocol's error and, for
    /// the text protocol, drops the line (`consumed` bytes).
    Invalid { consumed: usize, reply: ErrorReply },
    /// A condition after which memcached closes the connection (line too long, binary
    /// protocol framing errors).
    Fatal(ErrorReply),
}

/// The text protocol's error lines, exactly as memcached writes them (without `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReply {
    /// `ERROR`: unknown command or wrong number of tokens.
    Error,
    /// `CLIENT_ERROR <msg>`.
    Client(&'static str),
    /// `SERVER_ERROR <msg>`.
    Server(&'static str),
    /// Binary protocol status with its message (e.g. EINVAL "Invalid arguments").
    Binary(binary::Status),
    /// Nothing is written (memcached closes silently).
    Silent,
}

impl ErrorReply {
    /// Appends the reply line (with `\r\n`) for the text protocol.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self {
            ErrorReply::Error => out.extend_from_slice(b"ERROR\r\n"),
            ErrorReply::Client(m) => {
                out.extend_from_slice(b"CLIENT_ERROR ");
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            ErrorReply::Server(m) => {
                out.extend_from_slice(b"SERVER_ERROR ");
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            ErrorReply::Binary(_) | ErrorReply::Silent => {}
        }
    }
}

/// memcached's common client error texts.
pub mod msg {
    pub const BAD_FORMAT: &str = "bad command line format";
    pub const BAD_CHUNK: &str = "bad data chunk";
    pub const TOO_LARGE: &str = "object too large for cache";
    pub const OUT_OF_MEMORY: &str = "out of memory storing object";
    pub const INVALID_EXPTIME: &str = "invalid exptime argument";
    pub const INVALID_DELTA: &str = "invalid numeric delta argument";
    pub const NON_NUMERIC: &str = "cannot increment or decrement non-numeric value";
    pub const LINE_TOO_LONG: &str = "line too long";
    pub const DELETE_USAGE: &str = "bad command line format.  Usage: delete <key> [noreply]";
}
