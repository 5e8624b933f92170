//! Intset: `<encoding u32 (2|4|8)><length u32>` then sorted little-endian integers of that width.

use super::Cursor;
use crate::error::{corrupt, Result};

/// The integers of an intset, in stored (ascending) order.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>> {
    let mut c = Cursor::new(blob, 0);
    let width = c.u32_le()? as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(corrupt("bad intset encoding"));
    }
    let len = c.u32_le()? as usize;
    if len.checked_mul(width) != Some(blob.len() - 8) {
        return Err(corrupt("intset length does not match its size"));
    }
    (0..len).map(|_| c.int_le(width)).collect()
}

/// Encodes `values` as an intset (sorted, deduplicated, narrowest width that fits all).
pub fn encode(values: &[i64]) -> Vec<u8> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let width = if v.iter().all(|&x| i16::try_from(x).is_ok()) {
        2
    } else if v.iter().all(|&x| i32::try_from(x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + v.len() * width);
    out.extend((width as u32).to_le_bytes());
    out.extend((v.len() as u32).to_le_bytes());
    for x in v {
        out.extend(&x.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_each_width() {
        for set in [vec![3, -2, 1], vec![70000, 1], vec![i64::MIN, 0, i64::MAX]] {
            let mut sorted = set.clone();
            sorted.sort();
            assert_eq!(decode(&encode(&set)).unwrap(), sorted);
        }
        assert_eq!(encode(&[1, 2])[0], 2);
        assert_eq!(encode(&[1, 1 << 20])[0], 4);
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
    }
}
