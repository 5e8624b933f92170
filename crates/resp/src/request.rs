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

/// An argument vector stored in one buffer. The usual short command (`GET key`, `SET key
/// value` with a small value) lives entirely inline, bytes and boundaries: no allocation per
/// request; a longer one makes one allocation for its bytes.
#[derive(Clone, Default)]
pub struct Argv {
    data: Bytes,
    ends: Ends,
}

/// Argument bytes a command may have before they move to the heap.
const INLINE_BYTES: usize = 62;

/// The argument bytes, concatenated.
#[derive(Clone)]
enum Bytes {
    Inline(u8, [u8; INLINE_BYTES]),
    Heap(Vec<u8>),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Inline(0, [0; INLINE_BYTES])
    }
}

impl Bytes {
    fn with_capacity(n: usize) -> Bytes {
        if n <= INLINE_BYTES {
            Bytes::default()
        } else {
            Bytes::Heap(Vec::with_capacity(n))
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Inline(n, b) => &b[..*n as usize],
            Bytes::Heap(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn extend(&mut self, arg: &[u8]) {
        match self {
            Bytes::Inline(n, b) if *n as usize + arg.len() <= INLINE_BYTES => {
                b[*n as usize..*n as usize + arg.len()].copy_from_slice(arg);
                *n += arg.len() as u8;
            }
            Bytes::Inline(n, b) => {
                let mut v = Vec::with_capacity(*n as usize + arg.len());
                v.extend_from_slice(&b[..*n as usize]);
                v.extend_from_slice(arg);
                *self = Bytes::Heap(v);
            }
            Bytes::Heap(v) => v.extend_from_slice(arg),
        }
    }
}

/// Arguments a command may have before its boundaries move to the heap (`SET k v EX 10 NX`).
const INLINE_ARGS: usize = 6;

/// End offsets of the arguments in `Argv::data`.
#[derive(Clone)]
enum Ends {
    /// Up to [`INLINE_ARGS`] ends, while the data fits in `u32` offsets.
    Inline(u8, [u32; INLINE_ARGS]),
    Heap(Vec<usize>),
}

impl Default for Ends {
    fn default() -> Self {
        Ends::Inline(0, [0; INLINE_ARGS])
    }
}

impl Ends {
    fn len(&self) -> usize {
        match self {
            Ends::Inline(n, _) => *n as usize,
            Ends::Heap(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Option<usize> {
        match self {
            Ends::Inline(n, e) => (i < *n as usize).then(|| e[i] as usize),
            Ends::Heap(v) => v.get(i).copied(),
        }
    }

    fn push(&mut self, end: usize) {
        match self {
            Ends::Inline(n, e) if (*n as usize) < INLINE_ARGS && end <= u32::MAX as usize => {
                e[*n as usize] = end as u32;
                *n += 1;
            }
            Ends::Inline(n, e) => {
                let mut v: Vec<usize> = e[..*n as usize].iter().map(|&x| x as usize).collect();
                v.push(end);
                *self = Ends::Heap(v);
            }
            Ends::Heap(v) => v.push(end),
        }
    }

    fn with_capacity(n: usize) -> Ends {
        if n <= INLINE_ARGS {
            Ends::default()
        } else {
            Ends::Heap(Vec::with_capacity(n))
        }
    }
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
        self.data.extend(arg);
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.len() == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = self.ends.get(i)?;
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).unwrap_or(0)
        };
        self.data.as_slice().get(start..end)
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

impl PartialEq for Argv {
    fn eq(&self, other: &Argv) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Argv {}

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

/// Redis's `string2ll`: optional '-', digits, no '+', no leading zeros except "0".
fn parse_i64(s: &[u8]) -> Option<i64> {
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

/// The common header `<digits>\r` at `buf[from..]`, read in one pass: (value, index of the CR).
/// `None` for anything else (signs, leading zeros, long or unterminated numbers, other bytes),
/// which then takes the general path and gets exactly its answer: this only shortcuts inputs
/// that `parse_i64` accepts with the same value.
#[inline]
fn short_number(buf: &[u8], from: usize) -> Option<(i64, usize)> {
    let first = *buf.get(from)?;
    if !first.is_ascii_digit() || (first == b'0' && buf.get(from + 1) != Some(&b'\r')) {
        return None;
    }
    let mut v = 0i64;
    // At most 18 digits: no overflow, and far below the 64 KiB header limit.
    for (i, &c) in buf.iter().enumerate().skip(from).take(19) {
        if c.is_ascii_digit() && i - from < 18 {
            v = v * 10 + (c - b'0') as i64;
        } else if c == b'\r' {
            return Some((v, i));
        } else {
            return None;
        }
    }
    None
}

/// A header line (`*N` or `$N`) starting at `pos` (the type byte): (number or `None` if it does
/// not parse, index of its CR). `Err(None)` if the line is not complete yet, `Err(Some(e))` if
/// it is too long.
#[inline]
fn header(
    buf: &[u8],
    pos: usize,
    too_big: ParseError,
) -> Result<(Option<i64>, usize), Option<ParseError>> {
    if let Some((n, cr)) = short_number(buf, pos + 1) {
        return Ok((Some(n), cr));
    }
    let Some(cr) = find_crlf(buf, pos + 1) else {
        return Err((buf.len() - pos > PROTO_INLINE_MAX_SIZE).then_some(too_big));
    };
    if cr - pos > PROTO_INLINE_MAX_SIZE {
        return Err(Some(too_big));
    }
    Ok((parse_i64(&buf[pos + 1..cr]), cr))
}

/// Arguments whose positions the first pass keeps on the stack (longer commands walk twice).
const SPANS_ON_STACK: usize = 8;

fn parse_multibulk(buf: &[u8], limits: &RequestLimits) -> Result<Parsed, ParseError> {
    let (count, cr) = match header(buf, 0, ParseError::TooBigMbulkCount) {
        Ok(h) => h,
        Err(None) => return Ok(Parsed::Incomplete),
        Err(Some(e)) => return Err(e),
    };
    if cr + 1 >= buf.len() {
        return Ok(Parsed::Incomplete);
    }
    let count = match count {
        Some(n) if n <= MAX_MULTIBULK => n,
        _ => return Err(ParseError::InvalidMultibulkLength),
    };
    if count > 10 && !limits.authenticated {
        return Err(ParseError::UnauthenticatedMultibulkLength);
    }
    let first = cr + 2;
    if count <= 0 {
        return Ok(Parsed::Command(Argv::new(), first));
    }
    let count = count as usize;
    // First pass: check that the whole command is buffered, without copying (a large argument
    // arriving in pieces is not copied again and again).
    let mut spans = [(0usize, 0usize); SPANS_ON_STACK];
    let mut total = 0;
    let end = match walk_bulks(buf, first, count, limits, |i, s, e| {
        total += e - s;
        if let Some(slot) = spans.get_mut(i) {
            *slot = (s, e);
        }
    })? {
        Some(end) => end,
        None => return Ok(Parsed::Incomplete),
    };
    let mut argv = Argv {
        data: Bytes::with_capacity(total),
        ends: Ends::with_capacity(count),
    };
    if count <= SPANS_ON_STACK {
        for &(s, e) in &spans[..count] {
            argv.push(&buf[s..e]);
        }
    } else {
        walk_bulks(buf, first, count, limits, |_, s, e| argv.push(&buf[s..e]))?;
    }
    Ok(Parsed::Command(argv, end))
}

/// Walks `count` bulk strings from `pos`, calling `f(index, start, end)` for each; the position
/// after the last, or `None` if the buffer ends first.
#[inline]
fn walk_bulks(
    buf: &[u8],
    mut pos: usize,
    count: usize,
    limits: &RequestLimits,
    mut f: impl FnMut(usize, usize, usize),
) -> Result<Option<usize>, ParseError> {
    for i in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        let (len, cr) = if buf[pos] == b'$' {
            match header(buf, pos, ParseError::TooBigBulkCount) {
                Ok(h) => h,
                Err(None) => return Ok(None),
                Err(Some(e)) => return Err(e),
            }
        } else {
            // Redis looks for the line end (from the type byte on) before it looks at the type.
            return match find_crlf(buf, pos) {
                None if buf.len() - pos <= PROTO_INLINE_MAX_SIZE => Ok(None),
                Some(cr) if cr - pos <= PROTO_INLINE_MAX_SIZE => {
                    Err(ParseError::ExpectedDollar(buf[pos]))
                }
                _ => Err(ParseError::TooBigBulkCount),
            };
        };
        if cr + 1 >= buf.len() {
            return Ok(None);
        }
        let len = match len {
            Some(n) if n >= 0 && n <= limits.max_bulk_len => n as usize,
            _ => return Err(ParseError::InvalidBulkLength),
        };
        if len > 16384 && !limits.authenticated {
            return Err(ParseError::UnauthenticatedBulkLength);
        }
        let start = cr + 2;
        // Redis does not check the trailing CRLF bytes, it skips two bytes.
        if buf.len() < start + len + 2 {
            return Ok(None);
        }
        f(i, start, start + len);
        pos = start + len + 2;
    }
    Ok(Some(pos))
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

    /// The straightforward parser this module had before the single-allocation one (spans in a
    /// `Vec`, `memchr` for every line): the oracle the fast path is compared with.
    fn reference_multibulk(buf: &[u8], limits: &RequestLimits) -> Result<Parsed, ParseError> {
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
        let _ = total;
        let mut argv = Argv::new();
        for (s, e) in spans {
            argv.push(&buf[s..e]);
        }
        Ok(Parsed::Command(argv, pos))
    }

    /// Requests built from pieces that exercise every branch: valid headers, signs, leading
    /// zeros, long numbers, wrong type bytes, missing CR, cut anywhere.
    fn piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..6),
            Just(b"\r\n".to_vec()),
            (0i64..30).prop_map(|n| format!("${n}\r\n").into_bytes()),
            (0i64..5).prop_map(|n| format!("*{n}\r\n").into_bytes()),
            prop::sample::select(vec![
                b"$-1\r\n".to_vec(),
                b"$01\r\n".to_vec(),
                b"$0\r\n".to_vec(),
                b"$+1\r\n".to_vec(),
                b"$99999999999999999999\r\n".to_vec(),
                b"$1234567890123456789\r\n".to_vec(),
                b"$123456789012345678\r\n".to_vec(),
                b"*-1\r\n".to_vec(),
                b"*0\r\n".to_vec(),
                b"$3\r\nSET\r\n".to_vec(),
                b"$\r\n".to_vec(),
                b"$1x\r\n".to_vec(),
                b"\r".to_vec(),
                b"*12\r\n".to_vec(),
                b"$16385\r\n".to_vec(),
                b"$536870913\r\n".to_vec(),
            ]),
        ]
    }

    proptest::proptest! {
        #[test]
        fn same_answers_as_reference(
            count in proptest::option::weighted(0.9, 0usize..13),
            parts in proptest::collection::vec(piece(), 1..12),
            auth in proptest::bool::ANY,
        ) {
            let mut wire = b"*".to_vec();
            if let Some(n) = count {
                wire.extend_from_slice(format!("{n}\r\n").as_bytes());
            }
            for p in &parts {
                wire.extend_from_slice(p);
            }
            let limits = RequestLimits { max_bulk_len: 1 << 20, authenticated: auth };
            for cut in 0..=wire.len() {
                let b = &wire[..cut];
                if b.first() == Some(&b'*') {
                    proptest::prop_assert_eq!(parse_multibulk(b, &limits), reference_multibulk(b, &limits), "{:?}", String::from_utf8_lossy(b));
                }
            }
        }
    }

    #[test]
    fn many_arguments_and_large_offsets() {
        let args: Vec<Vec<u8>> = (0..40).map(|i| vec![b'a' + (i % 26) as u8; i]).collect();
        let mut wire = format!("*{}\r\n", args.len()).into_bytes();
        for a in &args {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
        let (got, n) = cmd(&wire);
        assert_eq!(got, args);
        assert_eq!(n, wire.len());
        let mut argv = Argv::new();
        for a in &args[..3] {
            argv.push(a);
        }
        assert_eq!(argv, Argv::from_slices(&args[..3]));
        assert_ne!(argv, Argv::from_slices(&args[..4]));
        assert_eq!(argv.get(3), None);
    }

    #[test]
    fn bytes_move_to_the_heap_when_they_outgrow_the_inline_buffer() {
        let parts: Vec<Vec<u8>> = (0..9).map(|i| vec![b'a' + i as u8; 20]).collect();
        let mut argv = Argv::new();
        for (i, p) in parts.iter().enumerate() {
            argv.push(p);
            assert_eq!(argv.to_vecs(), parts[..=i].to_vec());
            assert_eq!(argv.byte_len(), 20 * (i + 1));
        }
        let wire = b"*2\r\n$3\r\nGET\r\n$59\r\n".to_vec();
        let mut wire = wire;
        wire.extend_from_slice(&[b'k'; 59]);
        wire.extend_from_slice(b"\r\n");
        let (got, _) = cmd(&wire);
        assert_eq!(got, vec![b"GET".to_vec(), vec![b'k'; 59]]);
        assert!(std::mem::size_of::<Argv>() <= 112);
    }
}
