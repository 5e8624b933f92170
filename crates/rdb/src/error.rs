//! The one error type of the crate: what went wrong while reading or writing RDB data.

use std::io;

/// Why an RDB file or DUMP payload could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The underlying reader or writer failed (a truncated file shows up as `UnexpectedEof`).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with `REDIS` and four ASCII digits.
    #[error("not an RDB file (bad magic)")]
    BadMagic,
    /// An RDB version newer than this crate understands.
    #[error("unsupported RDB version {0}")]
    UnsupportedVersion(u32),
    /// The CRC64 trailer does not match the content.
    #[error("checksum mismatch: file says {expected:#018x}, content hashes to {actual:#018x}")]
    ChecksumMismatch { expected: u64, actual: u64 },
    /// The bytes do not follow the format (bad encoding, lengths that do not add up, ...).
    #[error("corrupt RDB data: {0}")]
    Corrupt(String),
    /// Valid RDB data this crate deliberately does not model (streams, modules, ...).
    #[error("unsupported RDB content: {0}")]
    Unsupported(&'static str),
    /// A value that Redis cannot represent (e.g. an empty collection).
    #[error("invalid value: {0}")]
    InvalidValue(&'static str),
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a [`Error::Corrupt`] built from a formatted message.
pub(crate) fn corrupt(msg: impl Into<String>) -> Error {
    Error::Corrupt(msg.into())
}
