//! Zipmap (hashes in Redis 2.4 and older, still loadable): `<zmlen u8>` then
//! `<len>key<len><free u8>value<free bytes>` pairs and `0xFF`; a length is one byte below 254,
//! or 254 followed by a little-endian u32.

use super::Cursor;
use crate::error::{corrupt, Result};

/// The field/value pairs of a zipmap.
pub fn decode(zm: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut c = Cursor::new(zm, 0);
    let _zmlen = c.u8()?;
    let mut out = Vec::new();
    while let Some(key_len) = read_len(&mut c)? {
        let key = c.take(key_len)?.to_vec();
        let val_len = read_len(&mut c)?.ok_or_else(|| corrupt("zipmap key without value"))?;
        let free = c.u8()? as usize;
        let val = c.take(val_len)?.to_vec();
        c.take(free)?;
        out.push((key, val));
    }
    if c.pos != zm.len() {
        return Err(corrupt("bytes after zipmap end marker"));
    }
    Ok(out)
}

fn read_len(c: &mut Cursor<'_>) -> Result<Option<usize>> {
    match c.u8()? {
        0xFF => Ok(None),
        0xFE => Ok(Some(c.u32_le()? as usize)),
        0xFD => Err(corrupt("bad zipmap length")),
        n => Ok(Some(n as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_with_free_bytes() {
        let zm = [
            2, 1, b'a', 2, 1, b'x', b'y', 0, 3, b'b', b'c', b'd', 1, 0, b'z', 0xFF,
        ];
        let pairs = decode(&zm).unwrap();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"xy".to_vec()),
                (b"bcd".to_vec(), b"z".to_vec())
            ]
        );
        assert!(decode(&zm[..zm.len() - 1]).is_err());
    }
}
