//! The `cmsgpack` library (lua-cmsgpack 0.4 as Redis ships it): `pack(...)` concatenates the
//! MessagePack encoding of each argument; `unpack`, `unpack_one`, `unpack_limit` decode.
//!
//! Integral numbers use the smallest integer encoding, others float32 when exact else float64;
//! strings fixstr/str8/str16/str32; tables whose keys are exactly 1..n are arrays, others maps;
//! nesting deeper than 16 is encoded as nil; functions and userdata as nil.

use mlua::{Lua, MultiValue, Table, Value};

use super::vm::{LibError, LibFn, LibResult};

pub(crate) const FUNCTIONS: &[(&str, LibFn)] = &[
    ("pack", pack),
    ("unpack", unpack),
    ("unpack_one", unpack_one),
    ("unpack_limit", unpack_limit),
];

const MAX_NESTING: usize = 16;

pub(crate) fn add_constants(_lua: &Lua, t: &Table) -> mlua::Result<()> {
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(())
}

fn pack(lua: &Lua, args: MultiValue) -> LibResult {
    if args.is_empty() {
        return Err(LibError::msg(
            "bad argument #0 to 'pack' (MessagePack pack needs input.)",
        ));
    }
    let mut out = Vec::new();
    for v in args.iter() {
        encode(v, 0, &mut out)?;
    }
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(out)?,
    )]))
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend([0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend((n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend((n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend((n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend([0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend((n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend((n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend(n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && (n as i64) as f64 == n {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend((n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend(n.to_be_bytes());
    }
}

fn header(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, b16: u8, b32: u8) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(b16);
        out.extend((len as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend((len as u32).to_be_bytes());
    }
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> Result<(), LibError> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => {
            let s = s.as_bytes();
            if s.len() < 32 {
                out.push(0xa0 | s.len() as u8);
            } else if s.len() <= 0xff {
                out.extend([0xd9, s.len() as u8]);
            } else if s.len() <= 0xffff {
                out.push(0xda);
                out.extend((s.len() as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend((s.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(&s);
        }
        Value::Table(t) if level < MAX_NESTING => {
            if is_array(t)? {
                let len = t.raw_len();
                header(out, len, 0x90, 15, 0xdc, 0xdd);
                for i in 1..=len {
                    encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> =
                    t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
                header(out, pairs.len(), 0x80, 15, 0xde, 0xdf);
                for (k, v) in pairs {
                    encode(&k, level + 1, out)?;
                    encode(&v, level + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// lua-cmsgpack's `table_is_an_array`: every key a positive integer and max key == count.
fn is_array(t: &Table) -> mlua::Result<bool> {
    let (mut count, mut max) = (0i64, 0i64);
    for pair in t.pairs::<Value, Value>() {
        let n = match pair?.0 {
            Value::Integer(i) if i > 0 => i,
            Value::Number(n) if n > 0.0 && n.fract() == 0.0 => n as i64,
            _ => return Ok(false),
        };
        max = max.max(n);
        count += 1;
    }
    Ok(max == count)
}

enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.s.len())
            .ok_or(DecodeError::Eof)?;
        let b = &self.s[self.pos..end];
        self.pos = end;
        Ok(b)
    }
    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

fn decode(lua: &Lua, c: &mut Cursor<'_>) -> Result<Value, DecodeError> {
    let t = c.take(1)?[0];
    Ok(match t {
        0x00..=0x7f => Value::Number(t as f64),
        0xe0..=0xff => Value::Number(t as i8 as f64),
        0xcc => Value::Number(c.be(1)? as f64),
        0xcd => Value::Number(c.be(2)? as f64),
        0xce => Value::Number(c.be(4)? as f64),
        0xcf => Value::Number(c.be(8)? as f64),
        0xd0 => Value::Number(c.be(1)? as u8 as i8 as f64),
        0xd1 => Value::Number(c.be(2)? as u16 as i16 as f64),
        0xd2 => Value::Number(c.be(4)? as u32 as i32 as f64),
        0xd3 => Value::Number(c.be(8)? as i64 as f64),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xca => Value::Number(f32::from_bits(c.be(4)? as u32) as f64),
        0xcb => Value::Number(f64::from_bits(c.be(8)?)),
        0xa0..=0xbf => Value::String(lua.create_string(c.take((t & 0x1f) as usize)?)?),
        0xd9 | 0xc4 => {
            let n = c.be(1)? as usize;
            Value::String(lua.create_string(c.take(n)?)?)
        }
        0xda | 0xc5 => {
            let n = c.be(2)? as usize;
            Value::String(lua.create_string(c.take(n)?)?)
        }
        0xdb | 0xc6 => {
            let n = c.be(4)? as usize;
            Value::String(lua.create_string(c.take(n)?)?)
        }
        0x90..=0x9f | 0xdc | 0xdd => {
            let n = match t {
                0xdc => c.be(2)? as usize,
                0xdd => c.be(4)? as usize,
                _ => (t & 0x0f) as usize,
            };
            let table = lua.create_table()?;
            for i in 1..=n {
                table.raw_set(i, decode(lua, c)?)?;
            }
            Value::Table(table)
        }
        0x80..=0x8f | 0xde | 0xdf => {
            let n = match t {
                0xde => c.be(2)? as usize,
                0xdf => c.be(4)? as usize,
                _ => (t & 0x0f) as usize,
            };
            let table = lua.create_table()?;
            for _ in 0..n {
                let k = decode(lua, c)?;
                let v = decode(lua, c)?;
                if !matches!(k, Value::Nil) {
                    table.raw_set(k, v)?;
                }
            }
            Value::Table(table)
        }
        _ => return Err(DecodeError::BadFormat),
    })
}

fn int_arg(v: Option<&Value>, n: usize, f: &str) -> Result<i64, LibError> {
    match v {
        Some(Value::Integer(i)) => Ok(*i),
        Some(Value::Number(x)) => Ok(*x as i64),
        other => Err(LibError::msg(format!(
            "bad argument #{n} to '{f}' (number expected, got {})",
            other.map(Value::type_name).unwrap_or("no value")
        ))),
    }
}

/// lua-cmsgpack's `mp_unpack_full`.
fn unpack_full(lua: &Lua, args: &MultiValue, limit: i64, offset: i64, f: &str) -> LibResult {
    let s = match args.front() {
        Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default(),
        other => {
            return Err(LibError::msg(format!(
                "bad argument #1 to '{f}' (string expected, got {})",
                other.map(Value::type_name).unwrap_or("no value")
            )))
        }
    };
    let len = s.len() as i64;
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(LibError::msg(format!(
            "Invalid request to unpack with offset of {offset} and limit of {len}."
        )));
    } else if offset > len {
        return Err(LibError::msg(format!(
            "Start offset {offset} greater than input length {len}."
        )));
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut c = Cursor {
        s: &s,
        pos: offset as usize,
    };
    let mut out = Vec::new();
    let mut count = 0;
    while c.pos < s.len() && count < limit {
        match decode(lua, &mut c) {
            Ok(v) => out.push(v),
            Err(DecodeError::Eof) => return Err(LibError::msg("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(LibError::msg("Bad data format in input.")),
            Err(DecodeError::Lua(e)) => return Err(LibError::Lua(e)),
        }
        count += 1;
    }
    if !decode_all {
        let next = if c.pos == s.len() { -1 } else { c.pos as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_iter(out))
}

fn unpack(lua: &Lua, args: MultiValue) -> LibResult {
    unpack_full(lua, &args, 0, 0, "unpack")
}

fn unpack_one(lua: &Lua, args: MultiValue) -> LibResult {
    let offset = match args.get(1) {
        None | Some(Value::Nil) => 0,
        v => int_arg(v, 2, "unpack_one")?,
    };
    unpack_full(lua, &args, 1, offset, "unpack_one")
}

fn unpack_limit(lua: &Lua, args: MultiValue) -> LibResult {
    let limit = int_arg(args.get(1), 2, "unpack_limit")?;
    let offset = match args.get(2) {
        None | Some(Value::Nil) => 0,
        v => int_arg(v, 3, "unpack_limit")?,
    };
    unpack_full(lua, &args, limit, offset, "unpack_limit")
}
