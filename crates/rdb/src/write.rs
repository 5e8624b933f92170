//! Writing: value encoding (shared with DUMP payloads) and the RDB version 10 file [`Writer`].
//!
//! Encodings follow what redis-server 7.0 itself writes with default settings, so a file from
//! us loads into the same in-memory encodings as one from Redis:
//! strings as 8/16/32-bit integers when they are canonical integers, LZF above 20 bytes when it
//! saves space; lists as QUICKLIST_2 of 8 KB listpacks (`list-max-listpack-size -2`); sets as
//! an intset up to 512 integers, else plain; sorted sets and hashes as a listpack up to 128
//! entries of at most 64 bytes, else ZSET_2 (binary scores) or plain HASH; streams as
//! STREAM_LISTPACKS_2 (see [`crate::stream`]).

use std::io::{BufWriter, Write};

use crate::encoding::{intset, listpack, strict_i64};
use crate::error::{Error, Result};
use crate::opcode::*;
use crate::read::is_empty_collection;
use crate::{lzf, Value, CRC64, WRITE_VERSION};

const LIST_NODE_MAX_BYTES: usize = 8192;
const SET_MAX_INTSET_ENTRIES: usize = 512;
const MAX_LISTPACK_ENTRIES: usize = 128;
const MAX_LISTPACK_VALUE: usize = 64;
/// Strings longer than this are tried with LZF (`rdbSaveRawString`).
const COMPRESS_MIN_LEN: usize = 20;

pub(crate) fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend((n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend(n.to_be_bytes());
    }
}

/// A string in the most compact encoding Redis would pick.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = strict_i64(s) {
            if let Ok(b) = i8::try_from(v) {
                out.extend([0xC0, b as u8]);
                return;
            } else if let Ok(h) = i16::try_from(v) {
                out.push(0xC1);
                out.extend(h.to_le_bytes());
                return;
            } else if let Ok(w) = i32::try_from(v) {
                out.push(0xC2);
                out.extend(w.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > COMPRESS_MIN_LEN {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            put_len(out, c.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A score as Redis 7.0's `d2string` prints it into a listpack (any text `strtod` reads back
/// to the same double would load; this keeps integers as integers like Redis does).
fn score_text(v: f64) -> Vec<u8> {
    if v.is_infinite() {
        return if v > 0.0 {
            b"inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    if v > -4503599627370495.0 && v < 4503599627370496.0 && v == (v as i64) as f64 {
        return itoa::Buffer::new().format(v as i64).as_bytes().to_vec();
    }
    // Shortest text that round-trips; uses an exponent for very large or small magnitudes.
    format!("{v:?}").into_bytes()
}

/// Appends the payload of `value` and returns its RDB type byte.
pub(crate) fn encode_payload(value: &Value, out: &mut Vec<u8>) -> Result<u8> {
    if is_empty_collection(value) {
        return Err(Error::InvalidValue(
            "empty collections do not exist in Redis",
        ));
    }
    Ok(match value {
        Value::String(s) => {
            put_string(out, s);
            TYPE_STRING
        }
        Value::List(items) => {
            let mut nodes = Vec::new();
            let mut node = listpack::Builder::new();
            for item in items {
                if !node.is_empty() && node.len() + item.len() + 11 > LIST_NODE_MAX_BYTES {
                    nodes.push(std::mem::take(&mut node).finish());
                }
                node.push(item);
            }
            nodes.push(node.finish());
            put_len(out, nodes.len() as u64);
            for n in nodes {
                put_len(out, 2); // PACKED container
                put_string(out, &n);
            }
            TYPE_LIST_QUICKLIST_2
        }
        Value::Set(members) => {
            let ints: Option<Vec<i64>> = if members.len() <= SET_MAX_INTSET_ENTRIES {
                members.iter().map(|m| strict_i64(m)).collect()
            } else {
                None
            };
            match ints {
                Some(ints) => {
                    put_string(out, &intset::encode(&ints));
                    TYPE_SET_INTSET
                }
                None => {
                    put_len(out, members.len() as u64);
                    for m in members {
                        put_string(out, m);
                    }
                    TYPE_SET
                }
            }
        }
        Value::SortedSet(pairs) => {
            if pairs.iter().any(|(_, s)| s.is_nan()) {
                return Err(Error::InvalidValue("NaN score"));
            }
            if pairs.len() <= MAX_LISTPACK_ENTRIES
                && pairs.iter().all(|(m, _)| m.len() <= MAX_LISTPACK_VALUE)
            {
                // A listpack sorted set is kept in (score, member) order; Redis relies on it.
                let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
                sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
                let mut lp = listpack::Builder::new();
                for (m, s) in sorted {
                    lp.push(m);
                    lp.push(&score_text(*s));
                }
                put_string(out, &lp.finish());
                TYPE_ZSET_LISTPACK
            } else {
                put_len(out, pairs.len() as u64);
                for (m, s) in pairs {
                    put_string(out, m);
                    out.extend(s.to_le_bytes());
                }
                TYPE_ZSET_2
            }
        }
        Value::Hash(pairs) => {
            if pairs.len() <= MAX_LISTPACK_ENTRIES
                && pairs
                    .iter()
                    .all(|(f, v)| f.len() <= MAX_LISTPACK_VALUE && v.len() <= MAX_LISTPACK_VALUE)
            {
                let mut lp = listpack::Builder::new();
                for (f, v) in pairs {
                    lp.push(f);
                    lp.push(v);
                }
                put_string(out, &lp.finish());
                TYPE_HASH_LISTPACK
            } else {
                put_len(out, pairs.len() as u64);
                for (f, v) in pairs {
                    put_string(out, f);
                    put_string(out, v);
                }
                TYPE_HASH
            }
        }
        Value::Stream(s) => crate::stream::encode(s, out)?,
    })
}

/// Appends the type byte and payload of `value`: the value part of a DUMP payload.
pub fn encode_value(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    let at = out.len();
    out.push(0);
    match encode_payload(value, out) {
        Ok(t) => {
            out[at] = t;
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}

/// Writes an RDB version 10 file: header, aux fields, databases with their keys, end marker
/// and CRC64 trailer. Call [`Writer::finish`] or the file is incomplete.
pub struct Writer<W: Write> {
    out: BufWriter<W>,
    digest: crc::Digest<'static, u64>,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a file (writes the `REDIS0010` header).
    pub fn new(out: W) -> Result<Self> {
        let mut w = Writer {
            out: BufWriter::with_capacity(64 * 1024, out),
            digest: CRC64.digest(),
            buf: Vec::new(),
        };
        w.raw(format!("REDIS{WRITE_VERSION:04}").as_bytes())?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.digest.update(bytes);
        self.out.write_all(bytes)?;
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        let r = self.raw(&buf);
        self.buf = buf;
        self.buf.clear();
        r
    }

    /// One aux field (`redis-ver`, `ctime`, ...).
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.buf.push(AUX);
        put_string(&mut self.buf, key);
        put_string(&mut self.buf, value);
        self.flush_buf()
    }

    /// The aux fields redis-server 7.0 writes at the head of every file.
    pub fn standard_aux(
        &mut self,
        redis_ver: &str,
        ctime_unix_secs: i64,
        used_mem: u64,
    ) -> Result<()> {
        self.aux(b"redis-ver", redis_ver.as_bytes())?;
        self.aux(b"redis-bits", b"64")?;
        self.aux(b"ctime", ctime_unix_secs.to_string().as_bytes())?;
        self.aux(b"used-mem", used_mem.to_string().as_bytes())?;
        self.aux(b"aof-base", b"0")
    }

    /// Starts database `db`; `sizes` (keys, keys with expiry) lets the loader presize its tables.
    pub fn select_db(&mut self, db: u32, sizes: Option<(u64, u64)>) -> Result<()> {
        self.buf.push(SELECTDB);
        put_len(&mut self.buf, db as u64);
        if let Some((keys, expires)) = sizes {
            self.buf.push(RESIZEDB);
            put_len(&mut self.buf, keys);
            put_len(&mut self.buf, expires);
        }
        self.flush_buf()
    }

    /// One function library (`FUNCTION2` record with the library's source), written before the
    /// databases as redis-server 7.0 does.
    pub fn function(&mut self, code: &[u8]) -> Result<()> {
        self.buf.push(FUNCTION2);
        put_string(&mut self.buf, code);
        self.flush_buf()
    }

    /// One key of the current database.
    pub fn entry(&mut self, key: &[u8], value: &Value, expire_ms: Option<i64>) -> Result<()> {
        let mut payload = Vec::new();
        let t = encode_payload(value, &mut payload)?;
        if let Some(ms) = expire_ms {
            self.buf.push(EXPIRETIME_MS);
            self.buf.extend(ms.to_le_bytes());
        }
        self.buf.push(t);
        put_string(&mut self.buf, key);
        self.flush_buf()?;
        self.raw(&payload)
    }

    /// Writes the end marker and checksum, flushes, and hands back the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.raw(&[EOF])?;
        let crc = self.digest.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.into_inner().map_err(|e| Error::Io(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_pick_redis_encodings() {
        let enc = |s: &[u8]| {
            let mut v = vec![];
            put_string(&mut v, s);
            v
        };
        assert_eq!(enc(b"12"), vec![0xC0, 12]);
        assert_eq!(enc(b"-300"), vec![0xC1, 0xD4, 0xFE]);
        assert_eq!(enc(b"100000"), vec![0xC2, 0xA0, 0x86, 0x01, 0x00]);
        assert_eq!(enc(b"012"), vec![3, b'0', b'1', b'2']);
        assert_eq!(enc(b"99999999999"), [&[11u8][..], b"99999999999"].concat());
        assert_eq!(enc(&[b'a'; 100])[0], 0xC3);
    }

    #[test]
    fn scores_print_like_d2string() {
        assert_eq!(score_text(3.0), b"3");
        assert_eq!(score_text(-0.0), b"-0");
        assert_eq!(score_text(1.5), b"1.5");
        assert_eq!(score_text(f64::NEG_INFINITY), b"-inf");
        assert_eq!(score_text(1e300).as_slice(), b"1e300");
    }
}
