//! Number parsing with memcached's rules (`safe_strtoul`, `safe_strtol`, `safe_strtoull`).
//!
//! memcached uses the C library's `strto*` on a whole token: leading `+` is accepted, a `-` on an
//! unsigned field is refused when the result would be negative, and the token must end at a
//! digit. Tokens never contain spaces here, so "ends with whitespace" cannot occur.

/// Unsigned 64-bit (`safe_strtoull`): digits with an optional `+`; `-` is refused.
pub fn parse_u64(token: &[u8]) -> Option<u64> {
    let digits = token.strip_prefix(b"+").unwrap_or(token);
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Client flags: memcached 1.6 reads them with `strtoul` (64-bit) and keeps the low 32 bits.
pub fn parse_flags(token: &[u8]) -> Option<u32> {
    parse_u64(token).map(|v| v as u32)
}

/// Signed 32-bit (`safe_strtol`): exptimes and lengths. Out of range is refused.
pub fn parse_i32(token: &[u8]) -> Option<i32> {
    let (negative, digits) = match token.first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let magnitude = parse_u64(digits)? as i128;
    let value = if negative { -magnitude } else { magnitude };
    i32::try_from(value).ok()
}

/// Writes `n` in decimal.
pub fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Writes `n` in decimal.
pub fn write_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"+7"), Some(7));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"1x"), None);
        assert_eq!(parse_u64(b""), None);
    }

    #[test]
    fn flags_keep_low_bits() {
        assert_eq!(parse_flags(b"4294967296"), Some(0));
        assert_eq!(parse_flags(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_flags(b"-1"), None);
    }

    #[test]
    fn signed() {
        assert_eq!(parse_i32(b"-1"), Some(-1));
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"2147483648"), None);
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"x"), None);
    }
}
