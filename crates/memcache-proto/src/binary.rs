//! The binary protocol (memcached's `protocol_binary.h`): a 24-byte header, extras, key, value.
//!
//! [`parse`] returns a whole request once its body is buffered. [`parse_header`] lets the node
//! look at a request's size first, to refuse and swallow an oversized body as memcached does.
//! Replies are written by [`write_response`]; error replies carry memcached's message text as
//! their value ([`Status::message`]).

use crate::{ErrorReply, ParseError, Parsed, KEY_MAX_LENGTH};

pub const REQUEST_MAGIC: u8 = 0x80;
pub const RESPONSE_MAGIC: u8 = 0x81;
pub const HEADER_LEN: usize = 24;

/// Every opcode memcached 1.6 implements, plus ElastiCache's `config get` (0x60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    Get = 0x00,
    Set = 0x01,
    Add = 0x02,
    Replace = 0x03,
    Delete = 0x04,
    Increment = 0x05,
    Decrement = 0x06,
    Quit = 0x07,
    Flush = 0x08,
    GetQ = 0x09,
    Noop = 0x0a,
    Version = 0x0b,
    GetK = 0x0c,
    GetKQ = 0x0d,
    Append = 0x0e,
    Prepend = 0x0f,
    Stat = 0x10,
    SetQ = 0x11,
    AddQ = 0x12,
    ReplaceQ = 0x13,
    DeleteQ = 0x14,
    IncrementQ = 0x15,
    DecrementQ = 0x16,
    QuitQ = 0x17,
    FlushQ = 0x18,
    AppendQ = 0x19,
    PrependQ = 0x1a,
    Verbosity = 0x1b,
    Touch = 0x1c,
    Gat = 0x1d,
    GatQ = 0x1e,
    SaslListMechs = 0x20,
    SaslAuth = 0x21,
    SaslStep = 0x22,
    GatK = 0x23,
    GatKQ = 0x24,
    /// ElastiCache Auto Discovery: `config get`, key `cluster`.
    ConfigGet = 0x60,
    /// ElastiCache: `config set` (admin connections only).
    ConfigSet = 0x64,
}

impl Opcode {
    pub fn from_u8(b: u8) -> Option<Opcode> {
        use Opcode::*;
        Some(match b {
            0x00 => Get,
            0x01 => Set,
            0x02 => Add,
            0x03 => Replace,
            0x04 => Delete,
            0x05 => Increment,
            0x06 => Decrement,
            0x07 => Quit,
            0x08 => Flush,
            0x09 => GetQ,
            0x0a => Noop,
            0x0b => Version,
            0x0c => GetK,
            0x0d => GetKQ,
            0x0e => Append,
            0x0f => Prepend,
            0x10 => Stat,
            0x11 => SetQ,
            0x12 => AddQ,
            0x13 => ReplaceQ,
            0x14 => DeleteQ,
            0x15 => IncrementQ,
            0x16 => DecrementQ,
            0x17 => QuitQ,
            0x18 => FlushQ,
            0x19 => AppendQ,
            0x1a => PrependQ,
            0x1b => Verbosity,
            0x1c => Touch,
            0x1d => Gat,
            0x1e => GatQ,
            0x20 => SaslListMechs,
            0x21 => SaslAuth,
            0x22 => SaslStep,
            0x23 => GatK,
            0x24 => GatKQ,
            0x60 => ConfigGet,
            0x64 => ConfigSet,
            _ => return None,
        })
    }

    /// Quiet variants answer only errors (and misses are silent for the get family).
    pub fn is_quiet(self) -> bool {
        use Opcode::*;
        matches!(
            self,
            GetQ | GetKQ
                | SetQ
                | AddQ
                | ReplaceQ
                | DeleteQ
                | IncrementQ
                | DecrementQ
                | QuitQ
                | FlushQ
                | AppendQ
                | PrependQ
                | GatQ
                | GatKQ
        )
    }

    /// The (extras length, key required, value allowed) memcached checks for each opcode;
    /// anything else is a protocol error that closes the connection.
    fn shape(self) -> Shape {
        use Opcode::*;
        match self {
            Get | GetQ | GetK | GetKQ | Delete | DeleteQ => Shape::key_only(0),
            Set | SetQ | Add | AddQ | Replace | ReplaceQ => Shape {
                extras: Some(8),
                key: true,
                value: true,
            },
            Append | AppendQ | Prepend | PrependQ => Shape {
                extras: Some(0),
                key: true,
                value: true,
            },
            Increment | IncrementQ | Decrement | DecrementQ => Shape::key_only(20),
            Touch | Gat | GatQ | GatK | GatKQ => Shape::key_only(4),
            Quit | QuitQ | Noop | Version | SaslListMechs => Shape::empty(),
            Flush | FlushQ => Shape {
                extras: None,
                key: false,
                value: false,
            },
            Verbosity => Shape {
                extras: Some(4),
                key: false,
                value: false,
            },
            Stat => Shape {
                extras: Some(0),
                key: false,
                value: false,
            },
            SaslAuth | SaslStep => Shape {
                extras: Some(0),
                key: true,
                value: true,
            },
            ConfigGet => Shape::key_only(0),
            ConfigSet => Shape {
                extras: Some(0),
                key: true,
                value: true,
            },
        }
    }
}

struct Shape {
    /// Required extras length; `None` for FLUSH, which takes 0 or 4.
    extras: Option<usize>,
    key: bool,
    value: bool,
}

impl Shape {
    fn key_only(extras: usize) -> Shape {
        Shape {
            extras: Some(extras),
            key: true,
            value: false,
        }
    }
    fn empty() -> Shape {
        Shape {
            extras: Some(0),
            key: false,
            value: false,
        }
    }
}

/// Response status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Status {
    Success = 0x00,
    KeyNotFound = 0x01,
    KeyExists = 0x02,
    TooLarge = 0x03,
    InvalidArguments = 0x04,
    NotStored = 0x05,
    NonNumeric = 0x06,
    AuthError = 0x20,
    UnknownCommand = 0x81,
    OutOfMemory = 0x82,
}

impl Status {
    /// The value memcached puts in an error reply (`write_bin_error`).
    pub fn message(self) -> &'static [u8] {
        match self {
            Status::Success => b"",
            Status::KeyNotFound => b"Not found",
            Status::KeyExists => b"Data exists for key.",
            Status::TooLarge => b"Too large.",
            Status::InvalidArguments => b"Invalid arguments",
            Status::NotStored => b"Not stored.",
            Status::NonNumeric => b"Non-numeric server-side value for incr or decr",
            Status::AuthError => b"Auth failure.",
            Status::UnknownCommand => b"Unknown command",
            Status::OutOfMemory => b"Out of memory",
        }
    }
}

/// A request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub opcode: u8,
    pub key_len: u16,
    pub extras_len: u8,
    pub data_type: u8,
    pub vbucket: u16,
    pub body_len: u32,
    pub opaque: u32,
    pub cas: u64,
}

/// A whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub header: Header,
    /// `None` for an opcode memcached does not know (answered with UnknownCommand).
    pub opcode: Option<Opcode>,
    pub extras: &'a [u8],
    pub key: &'a [u8],
    pub value: &'a [u8],
}

impl Request<'_> {
    fn extra_u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(
            self.extras[at..at + 4]
                .try_into()
                .expect("extras checked by parse"),
        )
    }
    fn extra_u64(&self, at: usize) -> u64 {
        u64::from_be_bytes(
            self.extras[at..at + 8]
                .try_into()
                .expect("extras checked by parse"),
        )
    }
    /// SET/ADD/REPLACE: (flags, exptime).
    pub fn store_extras(&self) -> (u32, u32) {
        (self.extra_u32(0), self.extra_u32(4))
    }
    /// INCR/DECR: (delta, initial, exptime).
    pub fn arith_extras(&self) -> (u64, u64, u32) {
        (self.extra_u64(0), self.extra_u64(8), self.extra_u32(16))
    }
    /// TOUCH/GAT*, FLUSH (when given), VERBOSITY: the one 32-bit extra.
    pub fn u32_extra(&self) -> Option<u32> {
        (self.extras.len() == 4).then(|| self.extra_u32(0))
    }
}

/// Reads a request header, validating the magic byte and the length fields.
pub fn parse_header(buf: &[u8]) -> Result<Header, ParseError> {
    if buf.len() < HEADER_LEN {
        return Err(ParseError::Incomplete);
    }
    if buf[0] != REQUEST_MAGIC {
        return Err(ParseError::Fatal(ErrorReply::Silent));
    }
    let u16_at = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes(buf[i..i + 4].try_into().expect("in bounds"));
    let header = Header {
        opcode: buf[1],
        key_len: u16_at(2),
        extras_len: buf[4],
        data_type: buf[5],
        vbucket: u16_at(6),
        body_len: u32_at(8),
        opaque: u32_at(12),
        cas: u64::from_be_bytes(buf[16..24].try_into().expect("in bounds")),
    };
    let protocol_error = ParseError::Fatal(ErrorReply::Binary(Status::InvalidArguments));
    if usize::from(header.key_len) + usize::from(header.extras_len) > header.body_len as usize
        || usize::from(header.key_len) > KEY_MAX_LENGTH
    {
        return Err(protocol_error);
    }
    Ok(header)
}

/// Parses one whole request.
pub fn parse(buf: &[u8]) -> Parsed<Request<'_>> {
    let header = parse_header(buf)?;
    let total = HEADER_LEN + header.body_len as usize;
    if buf.len() < total {
        return Err(ParseError::Incomplete);
    }
    let extras_end = HEADER_LEN + usize::from(header.extras_len);
    let key_end = extras_end + usize::from(header.key_len);
    let opcode = Opcode::from_u8(header.opcode);
    let request = Request {
        header,
        opcode,
        extras: &buf[HEADER_LEN..extras_end],
        key: &buf[extras_end..key_end],
        value: &buf[key_end..total],
    };
    if let Some(op) = opcode {
        let shape = op.shape();
        let extras_ok = match shape.extras {
            Some(n) => request.extras.len() == n,
            None => matches!(request.extras.len(), 0 | 4),
        };
        let key_ok = if shape.key {
            !request.key.is_empty()
        } else {
            request.key.is_empty()
        };
        let value_ok = shape.value || request.value.is_empty();
        // STAT takes an optional key (the group name).
        let key_ok = key_ok || op == Opcode::Stat;
        if !(extras_ok && key_ok && value_ok) {
            return Err(ParseError::Fatal(ErrorReply::Binary(
                Status::InvalidArguments,
            )));
        }
    }
    Ok((request, total))
}

/// A response to write.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub opcode: u8,
    pub status: Status,
    pub opaque: u32,
    pub cas: u64,
    pub extras: &'a [u8],
    pub key: &'a [u8],
    pub value: &'a [u8],
}

/// Writes a whole response.
pub fn write_response(out: &mut Vec<u8>, r: &Response<'_>) {
    let body = r.extras.len() + r.key.len() + r.value.len();
    out.push(RESPONSE_MAGIC);
    out.push(r.opcode);
    out.extend_from_slice(&(r.key.len() as u16).to_be_bytes());
    out.push(r.extras.len() as u8);
    out.push(0);
    out.extend_from_slice(&(r.status as u16).to_be_bytes());
    out.extend_from_slice(&(body as u32).to_be_bytes());
    out.extend_from_slice(&r.opaque.to_be_bytes());
    out.extend_from_slice(&r.cas.to_be_bytes());
    out.extend_from_slice(r.extras);
    out.extend_from_slice(r.key);
    out.extend_from_slice(r.value);
}

/// Writes an error response with memcached's message as the value.
pub fn write_error(out: &mut Vec<u8>, opcode: u8, status: Status, opaque: u32) {
    write_response(
        out,
        &Response {
            opcode,
            status,
            opaque,
            cas: 0,
            extras: &[],
            key: &[],
            value: status.message(),
        },
    );
}

/// Builds a request (used by tests, fuzzers and the benchmark client).
pub fn encode_request(
    out: &mut Vec<u8>,
    opcode: u8,
    opaque: u32,
    cas: u64,
    extras: &[u8],
    key: &[u8],
    value: &[u8],
) {
    out.push(REQUEST_MAGIC);
    out.push(opcode);
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.push(extras.len() as u8);
    out.push(0);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&((extras.len() + key.len() + value.len()) as u32).to_be_bytes());
    out.extend_from_slice(&opaque.to_be_bytes());
    out.extend_from_slice(&cas.to_be_bytes());
    out.extend_from_slice(extras);
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn set_request_fixture() {
        // SET "k" = "v", flags 0xdeadbeef, exptime 0x1c20, opaque 7, cas 0.
        let bytes: &[u8] = &[
            0x80, 0x01, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
            0x00, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x1c, 0x20,
            b'k', b'v',
        ];
        let (req, used) = parse(bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(req.opcode, Some(Opcode::Set));
        assert_eq!(req.store_extras(), (0xdeadbeef, 0x1c20));
        assert_eq!(
            (req.key, req.value, req.header.opaque),
            (&b"k"[..], &b"v"[..], 7)
        );
        assert_eq!(parse(&bytes[..30]), Err(ParseError::Incomplete));
    }

    #[test]
    fn protocol_errors_close() {
        let mut buf = Vec::new();
        encode_request(&mut buf, Opcode::Set as u8, 0, 0, &[], b"k", b"v");
        assert_eq!(
            parse(&buf),
            Err(ParseError::Fatal(ErrorReply::Binary(
                Status::InvalidArguments
            )))
        );
        let mut bad_magic = buf.clone();
        bad_magic[0] = 0x81;
        assert_eq!(
            parse(&bad_magic),
            Err(ParseError::Fatal(ErrorReply::Silent))
        );
    }

    #[test]
    fn error_response_fixture() {
        let mut out = Vec::new();
        write_error(&mut out, 0x00, Status::KeyNotFound, 9);
        assert_eq!(
            out,
            [
                &[0x81, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0][..],
                b"Not found"
            ]
            .concat()
        );
    }

    proptest! {
        #[test]
        fn request_round_trip(op in prop::sample::select(vec![0x01u8, 0x02, 0x03, 0x11]),
                              opaque: u32, cas: u64, flags: u32, exp: u32,
                              key in prop::collection::vec(any::<u8>(), 1..250),
                              value in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut extras = flags.to_be_bytes().to_vec();
            extras.extend(exp.to_be_bytes());
            let mut buf = Vec::new();
            encode_request(&mut buf, op, opaque, cas, &extras, &key, &value);
            let (req, used) = parse(&buf).unwrap();
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(req.store_extras(), (flags, exp));
            prop_assert_eq!(req.key, &key[..]);
            prop_assert_eq!(req.value, &value[..]);
            prop_assert_eq!((req.header.opaque, req.header.cas), (opaque, cas));
        }

        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let _ = parse(&bytes);
        }
    }
}
