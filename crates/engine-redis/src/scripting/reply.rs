//! [`ScriptReply`]: a command reply as scripts see it, and as a script's result is sent back.

/// A RESP reply in structured form (RESP2 and RESP3 shapes).
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptReply {
    /// `+OK`-style status.
    Status(String),
    /// An error line without the leading `-`, e.g. `ERR syntax error`.
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    /// The null bulk string of RESP2 / the null of RESP3.
    Nil,
    /// The null array of RESP2 (`*-1`).
    NilArray,
    Array(Vec<ScriptReply>),
    Map(Vec<(ScriptReply, ScriptReply)>),
    Set(Vec<ScriptReply>),
    Double(f64),
    Boolean(bool),
    BigNumber(String),
    Verbatim {
        format: String,
        text: Vec<u8>,
    },
}

impl ScriptReply {
    /// Shorthand for an error reply.
    pub fn err(msg: impl Into<String>) -> Self {
        ScriptReply::Error(msg.into())
    }

    /// Encodes the reply for a client speaking RESP2 or RESP3, as Redis would.
    pub fn write_resp(&self, resp3: bool, out: &mut Vec<u8>) {
        use ScriptReply::*;
        match self {
            Status(s) => line(out, b'+', s.as_bytes()),
            Error(e) => line(out, b'-', e.as_bytes()),
            Integer(i) => line(out, b':', i.to_string().as_bytes()),
            Bulk(b) => bulk(out, b),
            Nil if resp3 => out.extend_from_slice(b"_\r\n"),
            Nil => out.extend_from_slice(b"$-1\r\n"),
            NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
            NilArray => out.extend_from_slice(b"*-1\r\n"),
            Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                items.iter().for_each(|i| i.write_resp(resp3, out));
            }
            Map(pairs) => {
                if resp3 {
                    line(out, b'%', pairs.len().to_string().as_bytes());
                } else {
                    line(out, b'*', (pairs.len() * 2).to_string().as_bytes());
                }
                for (k, v) in pairs {
                    k.write_resp(resp3, out);
                    v.write_resp(resp3, out);
                }
            }
            Set(items) => {
                line(
                    out,
                    if resp3 { b'~' } else { b'*' },
                    items.len().to_string().as_bytes(),
                );
                items.iter().for_each(|i| i.write_resp(resp3, out));
            }
            Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    line(out, b',', text.as_bytes());
                } else {
                    bulk(out, text.as_bytes());
                }
            }
            Boolean(b) if resp3 => line(out, b'#', if *b { b"t" } else { b"f" }),
            Boolean(b) => line(out, b':', if *b { b"1" } else { b"0" }),
            BigNumber(n) if resp3 => line(out, b'(', n.as_bytes()),
            BigNumber(n) => bulk(out, n.as_bytes()),
            Verbatim { format, text } if resp3 => {
                line(out, b'=', (text.len() + 4).to_string().as_bytes());
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Verbatim { text, .. } => bulk(out, text),
        }
    }
}

fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    line(out, b'$', b.len().to_string().as_bytes());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

/// Doubles as Redis replies them (`%.17g`, `inf`, `-inf`, `nan`).
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        super::lib_cjson::format_g(d, 17)
    }
}
