//! Client requests: `*N\r\n$len\r\narg\r\n...` arrays and inline commands (`SET a b\n`).
//!
//! Mirrors `processMultibulkBuffer` / `processInlineBuffer` of redis-server 7.0 (networking.c),
//! including its limits and its protocol-error texts; after any [`ParseError`] the server replies
//! `-ERR <text>` and closes the connection.

use std::ops::Index;

/// Longest inline request, and longest `*N` / `$N` header line, before redis gives up.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Largest multibulk count redis accepts (`INT_MAX`).
const MAX_MULTIBULK: i64 = i32::MAX as i64;

/// The limits a request is checked against.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`: largest single argument.
    pub max_bulk_len: i64,
    /// Unauthenticated connections get much smaller limits (10 args, 16 KiB per arg).
    pub authenticated: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bulk_len: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// A protocol violation; `message()` is redis-server's text (without the `ERR ` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    ExpectedDollar(u8),
    TooBigBulkCount,
    InvalidBulkLength,
    UnauthenticatedBulkLength,
}

impl ParseError {
    pub fn message(&self) -> String {
        match self {
            ParseError::TooBigInline => "Protocol error: too big inline request".into(),
            ParseError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request".into(),
            ParseError::TooBigMbulkCount => "Protocol error: too big mbulk count string".into(),
            ParseError::InvalidMultibulkLength => "Protocol error: invalid multibulk length".into(),
            ParseError::UnauthenticatedMultibulkLength => {
                "Protocol error: unauthenticated multibulk length".into()
            }
            ParseError::ExpectedDollar(c) => {
                format!("Protocol error: expected '$', got '{}'", *c as char)
            }
            ParseError::TooBigBulkCount => "Protocol error: too big bulk count string".into(),
            ParseError::InvalidBulkLength => "Protocol error: invalid bulk length".into(),
            ParseError::UnauthenticatedBulkLength => {
                "Protocol error: unauthenticated bulk length".into()
            }
        }
    }
}

/// An argument vector stored in one buffer (one allocation per command, not per argument).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Argv {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Argv {
    pub fn new() -> Self {
        Argv::default()
    }

    pub fn from_slices<S: AsRef<[u8]>>(args: &[S]) -> Self {
        let mut argv = Argv::new();
        for a in args {
            argv.push(a.as_ref());
        }
        argv
    }

    pub fn push(&mut self, arg: &[u8]) {
        self.data.extend_from_slice(arg);
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| &self[i])
    }

    /// Bytes held by the arguments (for memory accounting and MONITOR limits).
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|a| a.to_vec()).collect()
    }
}

impl Index<usize> for Argv {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i).expect("argument index in range")
    }
}

impl std::fmt::Debug for Argv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// One parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A command and the bytes it used. An empty `Argv` is a blank line or `*0`: skip it.
    Command(Argv, usize),
    /// Not enough bytes yet.
    Incomplete,
}

/// Parses the first request in `buf`.
pub fn parse_request(buf: &[u8], limits: &RequestLimits) -> Result<Parsed, ParseError> {
    match buf.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk(buf, limits),
        Some(_) => parse_inline(buf),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(b'\r', &buf[from..]).map(|i| from + i)
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    // Redis's string2ll: optional '-', digits, no '+', no leading zeros except "0".
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
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

fn parse_multibulk(buf: &[u8], limits: &RequestLimits) -> Result<Parsed, ParseError> {
    let Some(cr) = find_crlf(buf, 1) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ParseError::TooBigMbulkCount);
        }
        return Ok(Parsed::Incomplete);
    };
    if cr > PROTO_INLINE_MAX_SIZE {
        return Err(ParseError::TooBigMbulkCount);
    }
    if cr + 1 >= buf.len() {
        return Ok(Parsed::Incomplete);
    }
    let count = match parse_i64(&buf[1..cr]) {
        Some(n) if n <= MAX_MULTIBULK => n,
        _ => return Err(ParseError::InvalidMultibulkLength),
    };
    if count > 10 && !limits.authenticated {
        return Err(ParseError::UnauthenticatedMultibulkLength);
    }
    let mut pos = cr + 2;
    if count <= 0 {
        return Ok(Parsed::Command(Argv::new(), pos));
    }
    // First pass: check that the whole command is buffered, without copying.
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity((count as usize).min(1024));
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(Parsed::Incomplete);
        }
        let Some(cr) = find_crlf(buf, pos) else {
            if buf.len() - pos > PROTO_INLINE_MAX_SIZE {
                return Err(ParseError::TooBigBulkCount);
            }
            return Ok(Parsed::Incomplete);
        };
        if cr - pos > PROTO_INLINE_MAX_SIZE {
            return Err(ParseError::TooBigBulkCount);
        }
        if buf[pos] != b'$' {
            return Err(ParseError::ExpectedDollar(buf[pos]));
        }
        if cr + 1 >= buf.len() {
            return Ok(Parsed::Incomplete);
        }
        let len = match parse_i64(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && n <= limits.max_bulk_len => n as usize,
            _ => return Err(ParseError::InvalidBulkLength),
        };
        if len > 16384 && !limits.authenticated {
            return Err(ParseError::UnauthenticatedBulkLength);
        }
        let start = cr + 2;
        // Redis does not check the trailing CRLF bytes, it skips two bytes.
        if buf.len() < start + len + 2 {
            return Ok(Parsed::Incomplete);
        }
        spans.push((start, start + len));
        pos = start + len + 2;
    }
    let total: usize = spans.iter().map(|(s, e)| e - s).sum();
    let mut argv = Argv {
        data: Vec::with_capacity(total),
        ends: Vec::with_capacity(spans.len()),
    };
    for (s, e) in spans {
        argv.push(&buf[s..e]);
    }
    Ok(Parsed::Command(argv, pos))
}

fn parse_inline(buf: &[u8]) -> Result<Parsed, ParseError> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ParseError::TooBigInline);
        }
        return Ok(Parsed::Incomplete);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let argv = split_args(line).ok_or(ParseError::UnbalancedQuotes)?;
    Ok(Parsed::Command(argv, nl + 1))
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Redis's `sdssplitargs`: whitespace-separated words, "double quotes" with C escapes
/// (`\n \r \t \b \a \xHH`), 'single quotes' with only `\'`. `None` on unbalanced quotes or a
/// closing quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Argv> {
    let mut argv = Argv::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(argv);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    cur.push(hex_val(line[i + 2]) * 16 + hex_val(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        argv.push(&cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<Parsed, ParseError> {
        parse_request(b, &RequestLimits::default())
    }

    fn cmd(b: &[u8]) -> (Vec<Vec<u8>>, usize) {
        match parse(b).unwrap() {
            Parsed::Command(a, n) => (a.to_vecs(), n),
            Parsed::Incomplete => panic!("incomplete"),
        }
    }

    #[test]
    fn multibulk() {
        let (a, n) = cmd(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nrest");
        assert_eq!(a, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(n, 20);
        assert_eq!(cmd(b"*0\r\n").1, 4);
        assert_eq!(cmd(b"*-1\r\n").1, 5);
    }

    #[test]
    fn incomplete_at_every_cut() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            assert_eq!(parse(&full[..cut]), Ok(Parsed::Incomplete), "cut {cut}");
        }
        assert_eq!(cmd(full).1, full.len());
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"*x\r\n"), Err(ParseError::InvalidMultibulkLength));
        assert_eq!(
            parse(b"*1\r\n+a\r\n"),
            Err(ParseError::ExpectedDollar(b'+'))
        );
        assert_eq!(parse(b"*1\r\n$-1\r\n"), Err(ParseError::InvalidBulkLength));
        assert_eq!(
            parse(b"*1\r\n$536870913\r\n"),
            Err(ParseError::InvalidBulkLength)
        );
        assert_eq!(
            parse(&[b'a'; PROTO_INLINE_MAX_SIZE + 1]),
            Err(ParseError::TooBigInline)
        );
        assert_eq!(parse(b"set \"a\n"), Err(ParseError::UnbalancedQuotes));
        let unauth = RequestLimits {
            authenticated: false,
            ..Default::default()
        };
        assert_eq!(
            parse_request(b"*11\r\n", &unauth),
            Err(ParseError::UnauthenticatedMultibulkLength)
        );
        assert_eq!(
            ParseError::ExpectedDollar(b'x').message(),
            "Protocol error: expected '$', got 'x'"
        );
    }

    #[test]
    fn inline() {
        let (a, n) = cmd(b"set  \"a b\" 'c\\'d' \"\\x41\\n\"\r\nnext");
        assert_eq!(
            a,
            vec![
                b"set".to_vec(),
                b"a b".to_vec(),
                b"c'd".to_vec(),
                b"A\n".to_vec()
            ]
        );
        assert_eq!(n, 28);
        assert_eq!(cmd(b"\r\n").0.len(), 0);
        assert_eq!(parse(b"PING"), Ok(Parsed::Incomplete));
        assert_eq!(parse(b"get \"a\"b\n"), Err(ParseError::UnbalancedQuotes));
    }
}
