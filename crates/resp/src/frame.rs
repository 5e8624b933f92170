//! A parsed reply of any RESP2/RESP3 type, and its parser. Used by the differential tests (to
//! compare our replies with redis-server's), by clients in tests, and by scripting (which reads
//! back the reply of a command it ran).

/// One RESP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` or RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(f64),
    Bool(bool),
    Verbatim(Vec<u8>),
    BigNumber(Vec<u8>),
}

/// Why a reply could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    Incomplete,
    Invalid,
}

impl Frame {
    /// Parses one frame at the start of `buf`: the frame and the bytes it used.
    pub fn parse(buf: &[u8]) -> Result<(Frame, usize), FrameError> {
        let mut pos = 0;
        let f = parse_at(buf, &mut pos, 0)?;
        Ok((f, pos))
    }

    /// Parses a buffer that holds exactly a sequence of whole frames.
    pub fn parse_all(mut buf: &[u8]) -> Result<Vec<Frame>, FrameError> {
        let mut out = Vec::new();
        while !buf.is_empty() {
            let (f, n) = Frame::parse(buf)?;
            out.push(f);
            buf = &buf[n..];
        }
        Ok(out)
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(b) | Frame::Error(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Simple(b) => write!(f, "+{}", String::from_utf8_lossy(b)),
            Frame::Error(b) => write!(f, "-{}", String::from_utf8_lossy(b)),
            Frame::Int(n) => write!(f, ":{n}"),
            Frame::Bulk(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Frame::Null => write!(f, "(nil)"),
            Frame::Double(d) => write!(f, ",{d}"),
            Frame::Bool(b) => write!(f, "#{b}"),
            Frame::Verbatim(b) => write!(f, "={:?}", String::from_utf8_lossy(b)),
            Frame::BigNumber(b) => write!(f, "({})", String::from_utf8_lossy(b)),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                write!(f, "[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
            Frame::Map(v) => {
                write!(f, "{{")?;
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {x}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

const MAX_DEPTH: usize = 128;

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<&'a [u8], FrameError> {
    let start = *pos;
    let i = memchr::memchr(b'\r', &buf[start..]).ok_or(FrameError::Incomplete)?;
    if start + i + 1 >= buf.len() {
        return Err(FrameError::Incomplete);
    }
    if buf[start + i + 1] != b'\n' {
        return Err(FrameError::Invalid);
    }
    *pos = start + i + 2;
    Ok(&buf[start..start + i])
}

fn int(s: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(FrameError::Invalid)
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Frame, FrameError> {
    if depth > MAX_DEPTH {
        return Err(FrameError::Invalid);
    }
    let tag = *buf.get(*pos).ok_or(FrameError::Incomplete)?;
    *pos += 1;
    let l = line(buf, pos)?;
    let collect = |n: i64, pos: &mut usize| -> Result<Vec<Frame>, FrameError> {
        let mut v = Vec::with_capacity((n.max(0) as usize).min(4096));
        for _ in 0..n {
            v.push(parse_at(buf, pos, depth + 1)?);
        }
        Ok(v)
    };
    Ok(match tag {
        b'+' => Frame::Simple(l.to_vec()),
        b'-' => Frame::Error(l.to_vec()),
        b':' => Frame::Int(int(l)?),
        b'_' => Frame::Null,
        b'#' => Frame::Bool(l == b"t"),
        b'(' => Frame::BigNumber(l.to_vec()),
        b',' => {
            let s = std::str::from_utf8(l).map_err(|_| FrameError::Invalid)?;
            Frame::Double(match s {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => s.parse().map_err(|_| FrameError::Invalid)?,
            })
        }
        b'$' | b'=' | b'!' => {
            let n = int(l)?;
            if n < 0 {
                return Ok(Frame::Null);
            }
            let n = n as usize;
            if buf.len() < *pos + n + 2 {
                return Err(FrameError::Incomplete);
            }
            let data = buf[*pos..*pos + n].to_vec();
            *pos += n + 2;
            match tag {
                b'$' => Frame::Bulk(data),
                b'!' => Frame::Error(data),
                _ => Frame::Verbatim(data.get(4..).unwrap_or_default().to_vec()),
            }
        }
        b'*' => {
            let n = int(l)?;
            if n < 0 {
                Frame::Null
            } else {
                Frame::Array(collect(n, pos)?)
            }
        }
        b'~' => Frame::Set(collect(int(l)?, pos)?),
        b'>' => Frame::Push(collect(int(l)?, pos)?),
        b'%' => {
            let v = collect(2 * int(l)?, pos)?;
            let mut pairs = Vec::with_capacity(v.len() / 2);
            let mut it = v.into_iter();
            while let (Some(k), Some(x)) = (it.next(), it.next()) {
                pairs.push((k, x));
            }
            Frame::Map(pairs)
        }
        _ => return Err(FrameError::Invalid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested() {
        let (f, n) = Frame::parse(b"*3\r\n:1\r\n$2\r\nab\r\n%1\r\n+k\r\n_\r\nX").unwrap();
        assert_eq!(n, 27);
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Int(1),
                Frame::Bulk(b"ab".to_vec()),
                Frame::Map(vec![(Frame::Simple(b"k".to_vec()), Frame::Null)])
            ])
        );
        assert_eq!(Frame::parse(b"*2\r\n:1\r\n"), Err(FrameError::Incomplete));
    }
}
