//! Byte-string helpers with redis-server's exact rules: integer and float parsing
//! (`string2ll`, `strtold` checks), glob matching (`stringmatchlen`), number formatting.

/// Redis's `string2ll`: optional `-`, digits, no `+`, no spaces, no leading zeros, fits i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
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
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub((d - b'0') as i64)?
        } else {
            v.checked_add((d - b'0') as i64)?
        };
    }
    Some(v)
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let v = parse_i64(s)?;
    u64::try_from(v).ok()
}

/// Parses a float argument the way `getDoubleFromObject` does: `strtod` over the whole string,
/// no leading space, no NaN; `inf`/`+inf`/`-inf` accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let st = std::str::from_utf8(s).ok()?;
    if st.is_empty() || st.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = st.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            // Rust accepts the same decimal and exponent forms as strtod for these inputs,
            // but not hexadecimal floats; those are rare enough to refuse.
            st.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

pub fn fmt_i64(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// How INCRBYFLOAT and HINCRBYFLOAT print their result (redis uses `%.17Lg` on a long double and
/// strips trailing zeros; the shortest round-trip form of the f64 matches it for the values
/// people use).
pub fn fmt_human_double(d: f64) -> Vec<u8> {
    if d == 0.0 {
        return b"0".to_vec();
    }
    if d.fract() == 0.0 && d.abs() < 1e17 {
        return fmt_i64(d as i64);
    }
    let s = format!("{d}");
    s.into_bytes()
}

pub fn eq_ignore_case(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

pub fn lower(a: &[u8]) -> String {
    String::from_utf8_lossy(a).to_ascii_lowercase()
}

/// Redis's `stringmatchlen`: `*`, `?`, `[...]` with ranges and `^`, `\` escapes.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    glob_inner(pattern, string, nocase, 0, &mut false)
}

/// `skip_longer` is redis's `skipLongerMatches`: once the rest of the pattern after a `*`
/// matches nowhere in the rest of the string, no earlier `*` can help by matching more, so
/// every caller gives up at once. Without it `a*a*...*b` takes exponential time.
fn glob_inner(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    depth: usize,
    skip_longer: &mut bool,
) -> bool {
    if depth > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..s.len() {
                    if glob_inner(&p[1..], &s[i..], nocase, depth + 1, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = if nocase {
                            s[0].to_ascii_lowercase()
                        } else {
                            s[0]
                        };
                        let (start, end) = if nocase {
                            (start.to_ascii_lowercase(), end.to_ascii_lowercase())
                        } else {
                            (start, end)
                        };
                        if c >= start && c <= end {
                            matched = true;
                        }
                        p = &p[2..];
                    } else if eq(p[0], s[0]) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Unterminated class: redis treats the end of pattern as the end of class.
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    s = &s[1..];
                    continue;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// The time commands see, read once per command: the monotonic reading that ends a command
/// (for its commandstats/slowlog duration) is the next command's start, and its wall-clock
/// milliseconds (`Keyspace::now`) are derived from it, so a pipelined batch pays one clock read
/// per command instead of three. [`CommandClock::calibrate`] re-reads the wall clock at the
/// start of every batch (and of every command run outside one).
pub struct CommandClock {
    last: std::time::Instant,
    base: std::time::Instant,
    base_wall_us: i64,
}

impl Default for CommandClock {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandClock {
    pub fn new() -> CommandClock {
        let now = std::time::Instant::now();
        CommandClock {
            last: now,
            base: now,
            base_wall_us: now_us(),
        }
    }

    /// Reads both clocks afresh.
    pub fn calibrate(&mut self) {
        self.base = std::time::Instant::now();
        self.last = self.base;
        self.base_wall_us = now_us();
    }

    /// The latest reading.
    pub fn last(&self) -> std::time::Instant {
        self.last
    }

    /// Reads the monotonic clock; the new reading becomes the latest.
    pub fn tick(&mut self) -> std::time::Instant {
        self.last = std::time::Instant::now();
        self.last
    }

    /// Unix time in milliseconds of the latest reading.
    pub fn wall_ms(&self) -> i64 {
        let since = self.last.saturating_duration_since(self.base).as_micros() as i64;
        (self.base_wall_us + since).div_euclid(1000)
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"012"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*o", b"heeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        // As in redis, the loop never runs on an empty string: "*" does not match "".
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"a\\*", b"a*", false));
        assert!(!glob_match(b"a", b"ab", false));
        assert!(glob_match(b"A*", b"abc", true));
        assert!(glob_match(b"*a*b", b"xaxb", false));
        assert!(glob_match(b"a*b*c", b"axbxbxc", false));
        assert!(!glob_match(b"a*b*c", b"axbxbx", false));
        assert!(glob_match(b"*b*", b"abba", false));
    }

    #[test]
    fn nested_stars_that_cannot_match_give_up_at_once() {
        // Exponential without the skip (redis's regression test of the same name).
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &[b'a'; 40], false));
        assert!(glob_match(pattern, b"aaaaaaaaaaaaaaaaaaaaab", false));
    }
}
