//! Reading: the value decoder (shared with DUMP payloads) and the streaming file [`Reader`].

use std::io::{BufReader, Read};

use crate::encoding::{intset, listpack, parse_score, ziplist, zipmap, Elem};
use crate::error::{corrupt, Error, Result};
use crate::opcode::*;
use crate::{lzf, Entry, Value, CRC64, MAX_READ_VERSION};

/// Collections announce their size up front; trust it only this far when preallocating, so a
/// corrupt length cannot make us allocate more than the data that actually follows.
const PREALLOC_LIMIT: usize = 4096;

/// Decodes the primitives of the format and whole values from any byte source.
pub(crate) struct Decoder<R> {
    pub(crate) r: R,
}

/// A length field: either a plain length or the number of a special string encoding.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<R: Read> Decoder<R> {
    pub(crate) fn u8(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.r.read_exact(&mut b)?;
        Ok(b[0])
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    fn len_field(&mut self) -> Result<Len> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain(((b as u64 & 0x3f) << 8) | self.u8()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(corrupt(format!("bad length encoding {b:#x}"))),
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    pub(crate) fn len(&mut self) -> Result<u64> {
        match self.len_field()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(corrupt("encoded string where a length was expected")),
        }
    }

    pub(crate) fn usize_len(&mut self) -> Result<usize> {
        usize::try_from(self.len()?).map_err(|_| corrupt("length does not fit in memory"))
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity((n as usize).min(1 << 20));
        (&mut self.r).take(n).read_to_end(&mut buf)?;
        if buf.len() as u64 != n {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(buf)
    }

    /// A string in any of its encodings: raw, 8/16/32-bit integer, LZF.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_field()? {
            Len::Plain(n) => self.bytes(n),
            Len::Encoded(0) => Ok(int_bytes(self.u8()? as i8 as i64)),
            Len::Encoded(1) => Ok(int_bytes(i16::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(2) => Ok(int_bytes(i32::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(3) => {
                let clen = self.len()?;
                let ulen = usize::try_from(self.len()?).map_err(|_| corrupt("LZF length"))?;
                let compressed = self.bytes(clen)?;
                lzf::decompress(&compressed, ulen)
            }
            Len::Encoded(e) => Err(corrupt(format!("unknown string encoding {e}"))),
        }
    }

    /// A score of the old ZSET type: a length byte then ASCII, or 253/254/255 for nan/+inf/-inf.
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_score(&self.bytes(n as u64)?),
        }
    }

    fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    fn strings(&mut self) -> Result<Vec<Vec<u8>>> {
        let n = self.usize_len()?;
        let mut v = Vec::with_capacity(n.min(PREALLOC_LIMIT));
        for _ in 0..n {
            v.push(self.string()?);
        }
        Ok(v)
    }

    fn pairs(&mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let n = self.usize_len()?;
        let mut v = Vec::with_capacity(n.min(PREALLOC_LIMIT));
        for _ in 0..n {
            v.push((self.string()?, self.string()?));
        }
        Ok(v)
    }

    fn scored(&mut self, binary: bool) -> Result<Vec<(Vec<u8>, f64)>> {
        let n = self.usize_len()?;
        let mut v = Vec::with_capacity(n.min(PREALLOC_LIMIT));
        for _ in 0..n {
            let member = self.string()?;
            let score = if binary {
                self.binary_double()?
            } else {
                self.text_double()?
            };
            if score.is_nan() {
                return Err(corrupt("NaN score in sorted set"));
            }
            v.push((member, score));
        }
        Ok(v)
    }

    /// A value of RDB type `t`.
    pub(crate) fn value(&mut self, t: u8) -> Result<Value> {
        let value = match t {
            TYPE_STRING => Value::String(self.string()?),
            TYPE_LIST => Value::List(self.strings()?),
            TYPE_SET => Value::Set(self.strings()?),
            TYPE_ZSET => Value::SortedSet(self.scored(false)?),
            TYPE_ZSET_2 => Value::SortedSet(self.scored(true)?),
            TYPE_HASH => Value::Hash(self.pairs()?),
            TYPE_HASH_ZIPMAP => Value::Hash(zipmap::decode(&self.string()?)?),
            TYPE_LIST_ZIPLIST => Value::List(flat(ziplist::decode(&self.string()?)?)),
            TYPE_SET_INTSET => {
                let ints = intset::decode(&self.string()?)?;
                Value::Set(ints.into_iter().map(int_bytes).collect())
            }
            TYPE_SET_LISTPACK => Value::Set(flat(listpack::decode(&self.string()?)?)),
            TYPE_ZSET_ZIPLIST => Value::SortedSet(scored_pairs(ziplist::decode(&self.string()?)?)?),
            TYPE_ZSET_LISTPACK => {
                Value::SortedSet(scored_pairs(listpack::decode(&self.string()?)?)?)
            }
            TYPE_HASH_ZIPLIST => Value::Hash(byte_pairs(ziplist::decode(&self.string()?)?)?),
            TYPE_HASH_LISTPACK => Value::Hash(byte_pairs(listpack::decode(&self.string()?)?)?),
            TYPE_LIST_QUICKLIST => {
                let nodes = self.usize_len()?;
                let mut items = Vec::new();
                for _ in 0..nodes {
                    let zl = self.string()?;
                    items.extend(ziplist::decode(&zl)?.into_iter().map(Elem::to_bytes));
                }
                Value::List(items)
            }
            TYPE_LIST_QUICKLIST_2 => {
                let nodes = self.usize_len()?;
                let mut items = Vec::new();
                for _ in 0..nodes {
                    match self.len()? {
                        // PLAIN: one large element stored as is.
                        1 => items.push(self.string()?),
                        // PACKED: a listpack of elements.
                        2 => {
                            let lp = self.string()?;
                            items.extend(listpack::decode(&lp)?.into_iter().map(Elem::to_bytes));
                        }
                        c => return Err(corrupt(format!("bad quicklist container {c}"))),
                    }
                }
                Value::List(items)
            }
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
                Value::Stream(Box::new(self.stream(t)?))
            }
            TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => return Err(Error::Unsupported("module values")),
            TYPE_HASH_METADATA_PRE_GA
            | TYPE_HASH_LISTPACK_EX_PRE_GA
            | TYPE_HASH_METADATA
            | TYPE_HASH_LISTPACK_EX => {
                return Err(Error::Unsupported("hashes with field expiries (Redis 7.4)"))
            }
            t => return Err(corrupt(format!("unknown value type {t}"))),
        };
        Ok(value)
    }
}

/// Redis never stores empty collections; loading one from a file skips it, RESTORE refuses it.
/// A stream without entries is not one: it lives on with its last ID and consumer groups.
pub(crate) fn is_empty_collection(value: &Value) -> bool {
    match value {
        Value::String(_) | Value::Stream(_) => false,
        Value::List(v) | Value::Set(v) => v.is_empty(),
        Value::SortedSet(v) => v.is_empty(),
        Value::Hash(v) => v.is_empty(),
    }
}

fn int_bytes(i: i64) -> Vec<u8> {
    itoa::Buffer::new().format(i).as_bytes().to_vec()
}

fn flat(elems: Vec<Elem<'_>>) -> Vec<Vec<u8>> {
    elems.into_iter().map(Elem::to_bytes).collect()
}

fn byte_pairs(elems: Vec<Elem<'_>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !elems.len().is_multiple_of(2) {
        return Err(corrupt("odd number of elements in a hash encoding"));
    }
    Ok(elems
        .chunks(2)
        .map(|p| (p[0].to_bytes(), p[1].to_bytes()))
        .collect())
}

fn scored_pairs(elems: Vec<Elem<'_>>) -> Result<Vec<(Vec<u8>, f64)>> {
    if !elems.len().is_multiple_of(2) {
        return Err(corrupt("odd number of elements in a sorted set encoding"));
    }
    elems
        .chunks(2)
        .map(|p| match p[1].to_score()? {
            s if s.is_nan() => Err(corrupt("NaN score in sorted set")),
            s => Ok((p[0].to_bytes(), s)),
        })
        .collect()
}

/// Feeds every byte read into the running CRC64.
struct Checksummed<R> {
    inner: R,
    digest: crc::Digest<'static, u64>,
}

impl<R: Read> Read for Checksummed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Streams the entries of an RDB file, one key at a time.
///
/// Aux fields and function libraries are collected as they pass; they are complete once the
/// iterator has returned `None`. After the last entry the CRC64 trailer is checked (a zero
/// trailer means the writer disabled checksums, as `rdbchecksum no` does).
pub struct Reader<R> {
    d: Decoder<Checksummed<BufReader<R>>>,
    version: u32,
    db: u32,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    functions: Vec<Vec<u8>>,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// Reads and checks the header.
    pub fn new(r: R) -> Result<Self> {
        let mut d = Decoder {
            r: Checksummed {
                inner: BufReader::with_capacity(64 * 1024, r),
                digest: CRC64.digest(),
            },
        };
        let mut magic = [0u8; 9];
        d.r.read_exact(&mut magic).map_err(|_| Error::BadMagic)?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(Error::BadMagic);
        }
        let version: u32 = std::str::from_utf8(&magic[5..]).unwrap().parse().unwrap();
        if version == 0 || version > MAX_READ_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        Ok(Reader {
            d,
            version,
            db: 0,
            aux: Vec::new(),
            functions: Vec::new(),
            done: false,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The aux fields (`redis-ver`, `ctime`, ...) seen so far.
    pub fn aux(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.aux
    }

    /// The source code of the function libraries (Redis 7 `FUNCTION`) seen so far.
    pub fn functions(&self) -> &[Vec<u8>] {
        &self.functions
    }

    /// The next key, or `None` after the end marker (and a good checksum).
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        if self.done {
            return Ok(None);
        }
        let mut expire_ms = None;
        loop {
            let op = self.d.u8()?;
            match op {
                EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(self.d.array()?)),
                EXPIRETIME => expire_ms = Some(i32::from_le_bytes(self.d.array()?) as i64 * 1000),
                FREQ => {
                    self.d.u8()?;
                }
                IDLE => {
                    self.d.len()?;
                }
                SELECTDB => {
                    self.db = u32::try_from(self.d.len()?).map_err(|_| corrupt("db number"))?;
                }
                RESIZEDB => {
                    self.d.len()?;
                    self.d.len()?;
                }
                SLOT_INFO => {
                    for _ in 0..3 {
                        self.d.len()?;
                    }
                }
                AUX => {
                    let k = self.d.string()?;
                    let v = self.d.string()?;
                    self.aux.push((k, v));
                }
                FUNCTION2 => {
                    let code = self.d.string()?;
                    self.functions.push(code);
                }
                FUNCTION_PRE_GA => return Err(Error::Unsupported("pre-GA function records")),
                MODULE_AUX => return Err(Error::Unsupported("module aux data")),
                EOF => {
                    self.finish()?;
                    return Ok(None);
                }
                t => {
                    let key = self.d.string()?;
                    let value = self.d.value(t)?;
                    if is_empty_collection(&value) {
                        expire_ms = None;
                        continue;
                    }
                    return Ok(Some(Entry {
                        db: self.db,
                        key,
                        value,
                        expire_ms,
                    }));
                }
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        self.done = true;
        if self.version < 5 {
            return Ok(());
        }
        let actual = self.d.r.digest.clone().finalize();
        let expected = u64::from_le_bytes(self.d.array()?);
        if expected != 0 && expected != actual {
            return Err(Error::ChecksumMismatch { expected, actual });
        }
        Ok(())
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                // A broken stream ends the iteration after its error.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
