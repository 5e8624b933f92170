//! The meta commands of memcached 1.6: `mg`, `ms`, `md`, `ma`, `mn`, `me`.
//!
//! A meta command is a name, a key, (for `ms`) a data length, then single-letter flags, some
//! with a token glued on (`T30`, `Oabc`). The parser checks the flags against the command's
//! table and for duplicates, as memcached does, and keeps them in request order because the
//! reply echoes its flags in that order.

use crate::number::parse_i32;
use crate::{msg, ErrorReply, KEY_MAX_LENGTH};

/// Which meta command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    Get,
    Set,
    Delete,
    Arithmetic,
    Noop,
    Debug,
}

impl MetaKind {
    /// The flags memcached 1.6.18 accepts for this command.
    fn allowed(self) -> &'static [u8] {
        match self {
            MetaKind::Get => b"bcfhklOqstuvENRT",
            MetaKind::Set => b"bcCEFIkOqsTMN",
            MetaKind::Delete => b"bCEIkOqT",
            MetaKind::Arithmetic => b"bCENJDTMOqtcvk",
            MetaKind::Noop | MetaKind::Debug => b"b",
        }
    }
}

/// The most flags a command line can carry (memcached's token limit).
pub const MAX_FLAGS: usize = 24;

/// Flags in request order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags<'a> {
    items: [(u8, &'a [u8]); MAX_FLAGS],
    len: usize,
}

impl<'a> Flags<'a> {
    fn new() -> Self {
        Flags {
            items: [(0, &[]); MAX_FLAGS],
            len: 0,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_ {
        self.items[..self.len].iter().copied()
    }

    pub fn has(&self, flag: u8) -> bool {
        self.iter().any(|(f, _)| f == flag)
    }

    /// The token glued to `flag`, if the flag is present.
    pub fn token(&self, flag: u8) -> Option<&'a [u8]> {
        self.iter().find(|&(f, _)| f == flag).map(|(_, t)| t)
    }
}

/// One meta command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand<'a> {
    pub kind: MetaKind,
    /// The key as sent (base64 when the `b` flag is present; see [`MetaCommand::decoded_key`]).
    pub key: &'a [u8],
    /// `ms` only: the data block length.
    pub len: usize,
    pub flags: Flags<'a>,
}

impl MetaCommand<'_> {
    /// The key to look up: the base64-decoded key with the `b` flag, else the key itself.
    pub fn decoded_key(&self) -> Result<Vec<u8>, ErrorReply> {
        if self.flags.has(b'b') {
            let key = base64_decode(self.key).ok_or(ErrorReply::Client("error decoding key"))?;
            if key.len() > KEY_MAX_LENGTH {
                return Err(ErrorReply::Client(msg::BAD_FORMAT));
            }
            Ok(key)
        } else {
            Ok(self.key.to_vec())
        }
    }
}

/// Parses a meta command from its name and argument tokens.
pub fn parse<'a>(name: &[u8], args: &[&'a [u8]]) -> Result<MetaCommand<'a>, ErrorReply> {
    let kind = match name {
        b"mg" => MetaKind::Get,
        b"ms" => MetaKind::Set,
        b"md" => MetaKind::Delete,
        b"ma" => MetaKind::Arithmetic,
        b"mn" => MetaKind::Noop,
        _ => MetaKind::Debug,
    };
    if kind == MetaKind::Noop {
        return Ok(MetaCommand {
            kind,
            key: b"",
            len: 0,
            flags: Flags::new(),
        });
    }
    let Some((&key, mut rest)) = args.split_first() else {
        return Err(ErrorReply::Error);
    };
    if key.len() > KEY_MAX_LENGTH {
        return Err(ErrorReply::Client(msg::BAD_FORMAT));
    }
    let mut len = 0;
    if kind == MetaKind::Set {
        let Some((&l, r)) = rest.split_first() else {
            return Err(ErrorReply::Client(msg::BAD_FORMAT));
        };
        len = match parse_i32(l) {
            Some(l) if l >= 0 => l as usize,
            _ => return Err(ErrorReply::Client(msg::BAD_FORMAT)),
        };
        rest = r;
    }
    let mut flags = Flags::new();
    let allowed = kind.allowed();
    let (invalid, duplicate) = if matches!(kind, MetaKind::Arithmetic | MetaKind::Delete) {
        ("invalid or duplicate flag", "invalid or duplicate flag")
    } else {
        ("invalid flag", "duplicate flag")
    };
    for &token in rest {
        let flag = token[0];
        if !allowed.contains(&flag) {
            return Err(ErrorReply::Client(invalid));
        }
        if flags.has(flag) {
            return Err(ErrorReply::Client(duplicate));
        }
        if flags.len == MAX_FLAGS {
            return Err(ErrorReply::Client(msg::BAD_FORMAT));
        }
        flags.items[flags.len] = (flag, &token[1..]);
        flags.len += 1;
    }
    if kind == MetaKind::Set {
        if let Some(mode) = flags.token(b'M') {
            if !matches!(
                mode,
                [b'E' | b'e' | b'A' | b'a' | b'P' | b'p' | b'R' | b'r' | b'S' | b's']
            ) {
                return Err(ErrorReply::Client("invalid mode for ms M token"));
            }
        }
    }
    Ok(MetaCommand {
        kind,
        key,
        len,
        flags,
    })
}

/// For an `ms` whose key and length parse, the data length: its data block follows even when
/// the flags are refused.
pub fn set_data_len(name: &[u8], args: &[&[u8]]) -> Option<usize> {
    match (name, args) {
        (b"ms", [key, len, ..]) if key.len() <= KEY_MAX_LENGTH => {
            parse_i32(len).filter(|&l| l >= 0).map(|l| l as usize)
        }
        _ => None,
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(input: &[u8], out: &mut Vec<u8>) {
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// Decodes standard base64 (padding required as memcached's decoder expects full quads).
pub fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() || !input.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> { B64.iter().position(|&x| x == c).map(|p| p as u32) };
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    for quad in input.chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{parse as parse_text, Command};

    fn meta(line: &[u8]) -> MetaCommand<'_> {
        match parse_text(line) {
            Ok((Command::Meta(m), _)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_in_order() {
        let m = meta(b"mg foo v c O123 k\r\n");
        assert_eq!(m.kind, MetaKind::Get);
        let flags: Vec<_> = m.flags.iter().collect();
        assert_eq!(
            flags,
            vec![(b'v', &b""[..]), (b'c', b""), (b'O', b"123"), (b'k', b"")]
        );
    }

    #[test]
    fn errors_match_memcached() {
        let e = |l: &[u8]| parse_text(l).unwrap_err();
        use crate::ParseError::Invalid;
        assert!(matches!(
            e(b"mg foo zz\r\n"),
            Invalid {
                reply: ErrorReply::Client("invalid flag"),
                ..
            }
        ));
        assert!(matches!(
            e(b"mg foo v v\r\n"),
            Invalid {
                reply: ErrorReply::Client("duplicate flag"),
                ..
            }
        ));
        assert!(matches!(
            e(b"mg\r\n"),
            Invalid {
                reply: ErrorReply::Error,
                ..
            }
        ));
        assert!(matches!(
            e(b"ms foo\r\n"),
            Invalid {
                reply: ErrorReply::Client(msg::BAD_FORMAT),
                ..
            }
        ));
        // A refused ms still has its data block to drop.
        assert!(matches!(
            parse_text(b"ms foo 3 MX\r\n"),
            Ok((
                Command::Refused {
                    reply: ErrorReply::Client("invalid mode for ms M token"),
                    swallow: 5
                },
                _
            ))
        ));
    }

    #[test]
    fn set_length() {
        let m = meta(b"ms k 5 T10 F3\r\n");
        assert_eq!(
            (m.kind, m.len, m.flags.token(b'T')),
            (MetaKind::Set, 5, Some(&b"10"[..]))
        );
    }

    #[test]
    fn base64_round_trip() {
        for s in [&b"f"[..], b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
            let mut enc = Vec::new();
            base64_encode(s, &mut enc);
            assert_eq!(base64_decode(&enc).as_deref(), Some(s));
        }
        assert_eq!(base64_decode(b"Zm9v").as_deref(), Some(&b"foo"[..]));
    }
}
