//! DUMP/RESTORE payloads: `<type><value encoding><RDB version u16 LE><CRC64 u64 LE>`, the CRC
//! covering everything before it.
//!
//! [`encode`] stamps RDB version 10 so redis-server 7.0 accepts our payloads (it refuses any
//! version newer than its own). [`decode`] accepts every version this crate reads (up to 12).
//! Map errors to replies as Redis does: [`Error::UnsupportedVersion`] and
//! [`Error::ChecksumMismatch`] are `ERR DUMP payload version or checksum are wrong`, anything
//! else `ERR Bad data format`.

use crate::error::{corrupt, Error, Result};
use crate::read::{is_empty_collection, Decoder};
use crate::{crc64, encode_value, Value, MAX_READ_VERSION, WRITE_VERSION};

/// The DUMP payload of `value`.
pub fn encode(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_value(value, &mut out)?;
    push_footer(&mut out);
    Ok(out)
}

/// The version and CRC64 footer that ends every DUMP-style payload.
fn push_footer(out: &mut Vec<u8>) {
    out.extend((WRITE_VERSION as u16).to_le_bytes());
    let crc = crc64(out);
    out.extend(crc.to_le_bytes());
}

/// The FUNCTION DUMP payload of these library sources: one `FUNCTION2` record each, then the
/// same version and CRC64 footer as DUMP.
pub fn encode_functions<'a>(libraries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in libraries {
        out.push(crate::opcode::FUNCTION2);
        crate::write::put_string(&mut out, code);
    }
    push_footer(&mut out);
    out
}

/// The library sources inside a FUNCTION DUMP payload, after checking its version and
/// checksum (errors as [`decode`]; a record other than `FUNCTION2` is [`Error::Corrupt`]).
pub fn decode_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>> {
    let body = check_footer(payload)?;
    let mut d = Decoder { r: body };
    let mut libraries = Vec::new();
    while !d.r.is_empty() {
        if d.u8()? != crate::opcode::FUNCTION2 {
            return Err(corrupt("given type is not a function"));
        }
        libraries.push(d.string()?);
    }
    Ok(libraries)
}

/// The body of a DUMP-style payload once its version and CRC64 footer check out.
fn check_footer(payload: &[u8]) -> Result<&[u8]> {
    if payload.len() < 10 {
        return Err(Error::ChecksumMismatch {
            expected: 0,
            actual: 0,
        });
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]) as u32;
    if version > MAX_READ_VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let expected = u64::from_le_bytes(footer[2..].try_into().unwrap());
    let actual = crc64(&payload[..payload.len() - 8]);
    if expected != actual {
        return Err(Error::ChecksumMismatch { expected, actual });
    }
    Ok(body)
}

/// The value inside a DUMP payload, after checking its version and checksum.
pub fn decode(payload: &[u8]) -> Result<Value> {
    // A value needs at least its type byte before the footer.
    if payload.len() < 11 {
        return Err(Error::ChecksumMismatch {
            expected: 0,
            actual: 0,
        });
    }
    let body = check_footer(payload)?;
    let mut d = Decoder { r: body };
    let t = d.u8()?;
    let value = d.value(t)?;
    if !d.r.is_empty() {
        return Err(corrupt("bytes after the value in a DUMP payload"));
    }
    if is_empty_collection(&value) {
        return Err(corrupt("empty collection"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_redis_payload_decodes() {
        // redis-server 7.0: SET k hello; DUMP k
        let p = b"\x00\x05hello\n\x00cr\xdfve4 \n";
        assert_eq!(decode(p).unwrap(), Value::String(b"hello".to_vec()));
        assert_eq!(
            encode(&Value::String(b"hello".to_vec())).unwrap(),
            p.to_vec()
        );
        let mut bad = p.to_vec();
        bad[3] ^= 1;
        assert!(matches!(decode(&bad), Err(Error::ChecksumMismatch { .. })));
    }
}
