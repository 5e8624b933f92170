//! The compact blob encodings Redis stores inside RDB strings: ziplist, listpack, intset, zipmap.
//!
//! Each module turns a blob into its elements (and, where our writer needs it, back). Elements are
//! either byte strings or integers, as the encodings store them; [`Elem`] keeps that distinction
//! so callers can render integers as Redis does (decimal) or read sorted-set scores directly.

pub mod intset;
pub mod listpack;
pub mod ziplist;
pub mod zipmap;

use crate::error::{corrupt, Result};

/// One element of a ziplist or listpack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// The element as Redis shows it: strings as they are, integers in decimal.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Elem::Str(s) => s.to_vec(),
            Elem::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
        }
    }

    /// The element read as a sorted-set score.
    pub fn to_score(self) -> Result<f64> {
        match self {
            Elem::Int(i) => Ok(i as f64),
            Elem::Str(s) => parse_score(s),
        }
    }
}

/// Parses a score stored as text (`%.17g` output, `inf`, `-inf`, `nan`), as `strtod` would.
pub fn parse_score(s: &[u8]) -> Result<f64> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .ok_or_else(|| corrupt(format!("bad score {:?}", String::from_utf8_lossy(s))))
}

/// Parses `s` as an integer exactly as Redis's `string2ll` accepts it (no sign `+`, no leading
/// zeros, no spaces, fits `i64`), so that printing it back gives the same bytes.
pub fn strict_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        let d = (d - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// A bounds-checked cursor over a blob.
pub(crate) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], pos: usize) -> Self {
        Cursor { buf, pos }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| corrupt("encoded blob truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn peek(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| corrupt("encoded blob truncated"))
    }

    /// Little-endian signed integer of `n` bytes (1..=8).
    pub fn int_le(&mut self, n: usize) -> Result<i64> {
        let b = self.take(n)?;
        let mut v: u64 = 0;
        for (i, &x) in b.iter().enumerate() {
            v |= (x as u64) << (8 * i);
        }
        let shift = 64 - 8 * n as u32;
        Ok(((v << shift) as i64) >> shift)
    }

    pub fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers_follow_string2ll() {
        assert_eq!(strict_i64(b"0"), Some(0));
        assert_eq!(strict_i64(b"-12"), Some(-12));
        assert_eq!(strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"007",
            b"-0",
            b"+1",
            b" 1",
            b"",
            b"-",
            b"1a",
        ] {
            assert_eq!(strict_i64(bad), None, "{bad:?}");
        }
    }
}
