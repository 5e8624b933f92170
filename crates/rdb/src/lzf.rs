//! LZF, the compression RDB uses for strings longer than 20 bytes (`rdbcompression yes`).
//!
//! The bit format (liblzf, as Redis embeds it):
//! - `000LLLLL` then `L+1` literal bytes (1..=32),
//! - `LLLooooo oooooooo` a back reference of `L+2` bytes (`L` in 1..=6) at distance `o+1`,
//! - `111ooooo LLLLLLLL oooooooo` the same with length `L+9` (up to 264).
//!
//! The compressor is our own greedy matcher over a hash of 3-byte prefixes; any valid LZF stream
//! decompresses the same, so it need not match liblzf byte for byte.

use crate::error::{corrupt, Result};

const MAX_LITERAL: usize = 32;
const MAX_OFFSET: usize = 8191;
const MAX_MATCH: usize = 264;
const MAX_HASH_BITS: u32 = 14;

/// Decompresses `input`, which must expand to exactly `out_len` bytes.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>> {
    // Each input byte expands to at most ~88 output bytes; refuse absurd claims before allocating.
    if out_len > input.len().saturating_mul(90) + MAX_MATCH {
        return Err(corrupt(
            "LZF length claim exceeds what the data can expand to",
        ));
    }
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            if i + len > input.len() || out.len() + len > out_len {
                return Err(corrupt("LZF literal run out of bounds"));
            }
            out.extend_from_slice(&input[i..i + len]);
            i += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input
                    .get(i)
                    .ok_or_else(|| corrupt("LZF truncated back reference"))?
                    as usize;
                i += 1;
            }
            len += 2;
            let low = *input
                .get(i)
                .ok_or_else(|| corrupt("LZF truncated back reference"))?
                as usize;
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            if back > out.len() || out.len() + len > out_len {
                return Err(corrupt("LZF back reference out of bounds"));
            }
            let start = out.len() - back;
            // Byte by byte: the source may overlap what we are writing (run-length style).
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(corrupt("LZF data shorter than its declared length"));
    }
    Ok(out)
}

/// Compresses `input`; `None` when the result would be longer than `max_out` bytes.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max_out.min(input.len()));
    // Size the hash table to the input: a short string must not pay for clearing 128 KB.
    let bits = (usize::BITS - input.len().leading_zeros()).clamp(8, MAX_HASH_BITS);
    let mut table = vec![usize::MAX; 1 << bits];
    let mut lit_start = 0;
    let mut i = 0;
    while i + 2 < input.len() {
        let h = hash3(&input[i..i + 3], bits);
        let candidate = table[h];
        table[h] = i;
        if candidate != usize::MAX
            && i - candidate - 1 <= MAX_OFFSET
            && input[candidate..candidate + 3] == input[i..i + 3]
        {
            let max_len = MAX_MATCH.min(input.len() - i);
            let mut len = 3;
            while len < max_len && input[candidate + len] == input[i + len] {
                len += 1;
            }
            emit_literals(&mut out, &input[lit_start..i]);
            let off = i - candidate - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            // Index the positions inside the match so later data can refer to them.
            let end = i + len;
            let mut j = i + 1;
            while j < end && j + 2 < input.len() {
                table[hash3(&input[j..j + 3], bits)] = j;
                j += 1;
            }
            i = end;
            lit_start = i;
        } else {
            i += 1;
        }
        if out.len() > max_out {
            return None;
        }
    }
    emit_literals(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

fn hash3(b: &[u8], bits: u32) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2654435761) >> (32 - bits)) as usize
}

fn emit_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let n = lit.len().min(MAX_LITERAL);
        out.push((n - 1) as u8);
        out.extend_from_slice(&lit[..n]);
        lit = &lit[n..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_data_shrinks_and_round_trips() {
        let data = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(40);
        let c = compress(&data, data.len()).unwrap();
        assert!(c.len() < data.len() / 10);
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn hand_made_stream_decodes() {
        // "aaaaaaaaaa": literal 'a', then back reference distance 1 length 9.
        let stream = [0x00, b'a', 0xE0, 0x00, 0x00];
        assert_eq!(decompress(&stream, 10).unwrap(), b"aaaaaaaaaa");
        assert!(decompress(&stream, 11).is_err());
        assert!(decompress(&[0x20, 0x05], 3).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..3000)) {
            if let Some(c) = compress(&data, data.len() + data.len() / 32 + 1) {
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }
    }
}
