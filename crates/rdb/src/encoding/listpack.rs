//! Listpack (Redis 7): `<total u32><count u16> entries 0xFF`, each entry
//! `<encoding+data><backlen>` where backlen stores the entry's size in 1..=5 bytes, read
//! right to left. Decoding for every listpack Redis writes, encoding for our writer.

use super::{strict_i64, Cursor, Elem};
use crate::error::{corrupt, Result};

/// All elements of a listpack, in order.
pub fn decode(lp: &[u8]) -> Result<Vec<Elem<'_>>> {
    let mut c = Cursor::new(lp, 0);
    let total = c.u32_le()? as usize;
    if total != lp.len() {
        return Err(corrupt("listpack size header does not match its length"));
    }
    let count = c.take(2)?;
    let count = u16::from_le_bytes([count[0], count[1]]) as usize;
    let mut out = Vec::with_capacity(count.min(4096));
    loop {
        let start = c.pos;
        let b = c.u8()?;
        let elem = if b & 0x80 == 0 {
            Elem::Int((b & 0x7f) as i64)
        } else if b & 0xC0 == 0x80 {
            Elem::Str(c.take((b & 0x3f) as usize)?)
        } else if b & 0xE0 == 0xC0 {
            let v = ((b as i64 & 0x1f) << 8) | c.u8()? as i64;
            Elem::Int(if v >= 1 << 12 { v - (1 << 13) } else { v })
        } else if b & 0xF0 == 0xE0 {
            let len = ((b as usize & 0x0f) << 8) | c.u8()? as usize;
            Elem::Str(c.take(len)?)
        } else {
            match b {
                0xF0 => {
                    let len = c.u32_le()? as usize;
                    Elem::Str(c.take(len)?)
                }
                0xF1 => Elem::Int(c.int_le(2)?),
                0xF2 => Elem::Int(c.int_le(3)?),
                0xF3 => Elem::Int(c.int_le(4)?),
                0xF4 => Elem::Int(c.int_le(8)?),
                0xFF => break,
                _ => return Err(corrupt("bad listpack entry encoding")),
            }
        };
        let entry_len = c.pos - start;
        let backlen = c.take(backlen_size(entry_len))?;
        if decode_backlen(backlen) != entry_len {
            return Err(corrupt("listpack backlen does not match its entry"));
        }
        out.push(elem);
    }
    if c.pos != lp.len() {
        return Err(corrupt("bytes after listpack end marker"));
    }
    if count != 0xFFFF && count != out.len() {
        return Err(corrupt("listpack entry count does not match its header"));
    }
    Ok(out)
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn decode_backlen(b: &[u8]) -> usize {
    // The first byte holds the most significant 7 bits; every byte after it has bit 7 set.
    b.iter()
        .fold(0usize, |acc, &x| (acc << 7) | (x & 0x7f) as usize)
}

fn encode_backlen(l: usize, out: &mut Vec<u8>) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let seven = ((l >> (7 * i)) & 0x7f) as u8;
        out.push(if i == n - 1 { seven } else { seven | 0x80 });
    }
}

/// Builds a listpack the way Redis 7.0 does: elements that are canonical integers are stored
/// as integers, everything else as strings.
#[derive(Debug, Clone)]
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend([0u8; 6]);
        Builder { buf, count: 0 }
    }

    /// Bytes the listpack would have if finished now.
    pub fn len(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one element.
    pub fn push(&mut self, elem: &[u8]) {
        let start = self.buf.len();
        match strict_i64(elem) {
            Some(v) => self.push_int(v),
            None => self.push_str(elem),
        }
        let entry_len = self.buf.len() - start;
        encode_backlen(entry_len, &mut self.buf);
        self.count += 1;
    }

    /// Appends one integer element (what `lpAppendInteger` does).
    pub fn push_integer(&mut self, v: i64) {
        let start = self.buf.len();
        self.push_int(v);
        let entry_len = self.buf.len() - start;
        encode_backlen(entry_len, &mut self.buf);
        self.count += 1;
    }

    /// Rewrites the first element, a counter pushed with [`Builder::push_integer`] while it was
    /// in `0..=127`, to `v` in the same range: such integers take one byte, so the update is in
    /// place, as Redis updates a stream node's entry count.
    pub fn set_first_small_int(&mut self, v: u8) {
        assert!(v < 128 && self.count > 0 && self.buf[6] < 128 && self.buf[7] == 1);
        self.buf[6] = v;
    }

    fn push_int(&mut self, v: i64) {
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.push(0xC0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if i16::try_from(v).is_ok() {
            b.push(0xF1);
            b.extend(&v.to_le_bytes()[..2]);
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            b.push(0xF2);
            b.extend(&v.to_le_bytes()[..3]);
        } else if i32::try_from(v).is_ok() {
            b.push(0xF3);
            b.extend(&v.to_le_bytes()[..4]);
        } else {
            b.push(0xF4);
            b.extend(v.to_le_bytes());
        }
    }

    fn push_str(&mut self, s: &[u8]) {
        let b = &mut self.buf;
        if s.len() < 64 {
            b.push(0x80 | s.len() as u8);
        } else if s.len() < 4096 {
            b.push(0xE0 | (s.len() >> 8) as u8);
            b.push(s.len() as u8);
        } else {
            b.push(0xF0);
            b.extend((s.len() as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
    }

    /// The finished listpack bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(0xFFFF) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_use_the_smallest_encoding() {
        let mut b = Builder::new();
        for s in [
            "5",
            "-1",
            "4095",
            "-4096",
            "30000",
            "-8388608",
            "2147483647",
            "-9223372036854775808",
        ] {
            b.push(s.as_bytes());
        }
        b.push(b"007");
        let lp = b.finish();
        // 6 header, 2+3+3+3+4+5+6+10 int entries, 5 for "007", end.
        assert_eq!(lp.len(), 6 + 2 + 3 + 3 + 3 + 4 + 5 + 6 + 10 + 5 + 1);
        let elems = decode(&lp).unwrap();
        assert_eq!(elems[0], Elem::Int(5));
        assert_eq!(elems[3], Elem::Int(-4096));
        assert_eq!(elems[7], Elem::Int(i64::MIN));
        assert_eq!(elems[8], Elem::Str(b"007"));
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                any::<i64>().prop_map(|i| i.to_string().into_bytes()),
                proptest::collection::vec(any::<u8>(), 4090..4200),
            ], 0..40)) {
            let mut b = Builder::new();
            for it in &items { b.push(it); }
            let lp = b.finish();
            let back: Vec<Vec<u8>> = decode(&lp).unwrap().into_iter().map(Elem::to_bytes).collect();
            prop_assert_eq!(back, items);
        }
    }
}
