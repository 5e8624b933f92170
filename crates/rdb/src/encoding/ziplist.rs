//! Ziplist (Redis 2.6 to 6.2): `<zlbytes u32><zltail u32><zllen u16> entries 0xFF`, each entry
//! `<prevlen 1|5 bytes><encoding><data>`. Read-only: Redis 7 writes listpacks instead.

use super::{Cursor, Elem};
use crate::error::{corrupt, Result};

/// All elements of a ziplist, in order.
pub fn decode(zl: &[u8]) -> Result<Vec<Elem<'_>>> {
    let mut c = Cursor::new(zl, 0);
    let total = c.u32_le()? as usize;
    if total != zl.len() {
        return Err(corrupt("ziplist size header does not match its length"));
    }
    let _tail = c.u32_le()?;
    let count = c.take(2)?;
    let count = u16::from_le_bytes([count[0], count[1]]) as usize;
    let mut out = Vec::with_capacity(count.min(4096));
    loop {
        let first = c.peek()?;
        if first == 0xFF {
            c.pos += 1;
            break;
        }
        // prevlen: one byte, or 0xFE and four more.
        if c.u8()? == 0xFE {
            c.take(4)?;
        }
        let enc = c.u8()?;
        let elem = match enc >> 6 {
            0 => Elem::Str(c.take((enc & 0x3f) as usize)?),
            1 => {
                let len = ((enc as usize & 0x3f) << 8) | c.u8()? as usize;
                Elem::Str(c.take(len)?)
            }
            2 => {
                if enc != 0x80 {
                    return Err(corrupt("bad ziplist string encoding"));
                }
                let b = c.take(4)?;
                let len = u32::from_be_bytes(b.try_into().unwrap()) as usize;
                Elem::Str(c.take(len)?)
            }
            _ => match enc {
                0xC0 => Elem::Int(c.int_le(2)?),
                0xD0 => Elem::Int(c.int_le(4)?),
                0xE0 => Elem::Int(c.int_le(8)?),
                0xF0 => Elem::Int(c.int_le(3)?),
                0xFE => Elem::Int(c.int_le(1)?),
                0xF1..=0xFD => Elem::Int((enc & 0x0f) as i64 - 1),
                _ => return Err(corrupt("bad ziplist integer encoding")),
            },
        };
        out.push(elem);
    }
    if c.pos != zl.len() {
        return Err(corrupt("bytes after ziplist end marker"));
    }
    if count != 0xFFFF && count != out.len() {
        return Err(corrupt("ziplist entry count does not match its header"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strings_and_every_integer_width() {
        // Built by hand from the ziplist spec.
        let mut body = vec![];
        body.extend([0x00, 0x02, b'h', b'i']); // "hi"
        body.extend([0x04, 0xF2]); // immediate 1
        body.extend([0x02, 0xFE, 0x80]); // int8 -128
        body.extend([0x03, 0xC0, 0x34, 0x12]); // int16 0x1234
        body.extend([0x04, 0xF0, 0x00, 0x00, 0x80]); // int24 min
        body.extend([0x05, 0xD0, 0xFF, 0xFF, 0xFF, 0x7F]); // int32 max
        body.extend([0x06, 0xE0, 1, 0, 0, 0, 0, 0, 0, 0]); // int64 1
        let mut zl = vec![];
        let total = 10 + body.len() + 1;
        zl.extend((total as u32).to_le_bytes());
        zl.extend(0u32.to_le_bytes());
        zl.extend(7u16.to_le_bytes());
        zl.extend(body);
        zl.push(0xFF);
        let elems = decode(&zl).unwrap();
        assert_eq!(
            elems,
            vec![
                Elem::Str(b"hi"),
                Elem::Int(1),
                Elem::Int(-128),
                Elem::Int(0x1234),
                Elem::Int(-(1 << 23)),
                Elem::Int(i32::MAX as i64),
                Elem::Int(1)
            ]
        );
        zl[0] += 1;
        assert!(decode(&zl).is_err());
    }
}
