//! The `struct` library (Roberto Ierusalimschy's struct.c as Redis ships it): `pack`, `unpack`
//! and `size` of binary records described by a format string.
//!
//! Format: `<` little / `>` big / `=` native endian, `!n` alignment, `x` pad byte, `b`/`B` char,
//! `h`/`H` short, `l`/`L` long, `T` size_t, `i`/`I`[n] int of n bytes, `f` float, `d` double,
//! `s` zero-terminated string, `c`[n] fixed-size string (`c0`: size from the previous value).

use mlua::{Lua, MultiValue, Value};

use super::vm::{LibError, LibFn, LibResult};

pub(crate) const FUNCTIONS: &[(&str, LibFn)] =
    &[("pack", pack), ("unpack", unpack), ("size", size)];

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
    h: Header,
    /// The Lua function name, for `bad argument` errors.
    fname: &'static str,
}

/// One data item of a format, after the control options before it were applied.
#[derive(Clone, Copy)]
struct Item {
    opt: u8,
    size: usize,
}

impl<'a> Format<'a> {
    fn new(fmt: &'a [u8], fname: &'static str) -> Self {
        Format {
            fmt,
            pos: 0,
            h: Header {
                little: true,
                align: 1,
            },
            fname,
        }
    }

    fn num(&mut self, default: usize) -> usize {
        if !self.fmt.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return default;
        }
        let mut n = 0usize;
        while let Some(d) = self.fmt.get(self.pos).filter(|d| d.is_ascii_digit()) {
            n = n.saturating_mul(10).saturating_add((d - b'0') as usize);
            self.pos += 1;
        }
        n
    }

    /// The next data item, applying control options on the way; `None` at the end.
    fn next_item(&mut self) -> Result<Option<Item>, LibError> {
        while let Some(&opt) = self.fmt.get(self.pos) {
            self.pos += 1;
            let size = match opt {
                b'b' | b'B' | b'x' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' | b'd' => 8,
                b'f' => 4,
                b'c' => self.num(1),
                b'i' | b'I' => {
                    let sz = self.num(4);
                    if sz > MAXINTSIZE {
                        return Err(LibError::msg(format!(
                            "integral size {sz} is larger than limit of {MAXINTSIZE}"
                        )));
                    }
                    sz
                }
                b's' => 0,
                b' ' => continue,
                b'>' => {
                    self.h.little = false;
                    continue;
                }
                b'<' | b'=' => {
                    self.h.little = true;
                    continue;
                }
                b'!' => {
                    let a = self.num(MAXALIGN);
                    if !a.is_power_of_two() {
                        return Err(LibError::msg(format!("alignment {a} is not a power of 2")));
                    }
                    self.h.align = a;
                    continue;
                }
                other => {
                    return Err(LibError::msg(format!(
                        "bad argument #1 to '{}' (invalid format option '{}')",
                        self.fname, other as char
                    )))
                }
            };
            return Ok(Some(Item { opt, size }));
        }
        Ok(None)
    }

    fn padding(&self, len: usize, item: Item) -> usize {
        if item.size <= 1 || self.h.align <= 1 || item.opt == b'c' || item.opt == b's' {
            return 0;
        }
        let align = item.size.min(self.h.align);
        (align - (len & (align - 1))) & (align - 1)
    }
}

fn arg_number(v: Option<&Value>, n: usize) -> Result<f64, LibError> {
    match v {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Number(f)) => Ok(*f),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                LibError::msg(format!(
                    "bad argument #{n} to 'pack' (number expected, got string)"
                ))
            }),
        other => Err(LibError::msg(format!(
            "bad argument #{n} to 'pack' (number expected, got {})",
            other.map(Value::type_name).unwrap_or("no value")
        ))),
    }
}

fn arg_bytes(lua: &Lua, v: Option<&Value>, n: usize, f: &str) -> Result<Vec<u8>, LibError> {
    match v {
        Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => Ok(lua
            .coerce_string(v.clone())?
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default()),
        other => Err(LibError::msg(format!(
            "bad argument #{n} to '{f}' (string expected, got {})",
            other.map(Value::type_name).unwrap_or("no value")
        ))),
    }
}

fn put_int(out: &mut Vec<u8>, n: f64, size: usize, little: bool) {
    let value: u64 = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate().take(8.min(size)) {
        *b = (value >> (8 * i)) as u8;
    }
    if !little {
        bytes.reverse();
    }
    out.extend(bytes);
}

fn pack(lua: &Lua, args: MultiValue) -> LibResult {
    let args: Vec<Value> = args.into_iter().collect();
    let fmt = arg_bytes(lua, args.first(), 1, "pack")?;
    let mut f = Format::new(&fmt, "pack");
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some(item) = f.next_item()? {
        let pad = f.padding(out.len(), item);
        out.resize(out.len() + pad, 0);
        match item.opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = arg_number(args.get(arg), arg + 1)?;
                arg += 1;
                put_int(&mut out, n, item.size, f.h.little);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = arg_number(args.get(arg), arg + 1)? as f32;
                arg += 1;
                out.extend(if f.h.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                });
            }
            b'd' => {
                let n = arg_number(args.get(arg), arg + 1)?;
                arg += 1;
                out.extend(if f.h.little {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = arg_bytes(lua, args.get(arg), arg + 1, "pack")?;
                arg += 1;
                if item.opt == b's' {
                    out.extend_from_slice(&s);
                    out.push(0);
                } else {
                    let size = if item.size == 0 { s.len() } else { item.size };
                    if s.len() < size {
                        return Err(LibError::msg(format!(
                            "bad argument #{arg} to 'pack' (string too short)"
                        )));
                    }
                    out.extend_from_slice(&s[..size]);
                }
            }
            _ => unreachable!("next_item only yields data options"),
        }
    }
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(out)?,
    )]))
}

fn get_int(data: &[u8], little: bool, signed: bool) -> f64 {
    let mut value: u64 = 0;
    let size = data.len();
    for i in 0..size.min(8) {
        let b = if little {
            data[size.min(8) - 1 - i]
        } else {
            data[i + size.saturating_sub(8)]
        };
        value = (value << 8) | b as u64;
    }
    if signed && size < 8 {
        let shift = 64 - 8 * size as u32;
        ((value << shift) as i64 >> shift) as f64
    } else if signed {
        value as i64 as f64
    } else {
        value as f64
    }
}

fn unpack(lua: &Lua, args: MultiValue) -> LibResult {
    let args: Vec<Value> = args.into_iter().collect();
    let fmt = arg_bytes(lua, args.first(), 1, "unpack")?;
    let data = arg_bytes(lua, args.get(1), 2, "unpack")?;
    let mut pos = match args.get(2) {
        None | Some(Value::Nil) => 0,
        v => (arg_number(v, 3)? as i64 - 1).max(0) as usize,
    };
    let mut f = Format::new(&fmt, "unpack");
    let mut out: Vec<Value> = Vec::new();
    let too_short = || LibError::msg("bad argument #2 to 'unpack' (data string too short)");
    while let Some(item) = f.next_item()? {
        pos += f.padding(pos, item);
        let mut size = item.size;
        match item.opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = data.get(pos..pos + size).ok_or_else(too_short)?;
                out.push(Value::Number(get_int(
                    bytes,
                    f.h.little,
                    item.opt.is_ascii_lowercase(),
                )));
            }
            b'x' => {}
            b'f' | b'd' => {
                let bytes = data.get(pos..pos + size).ok_or_else(too_short)?;
                let v = if item.opt == b'f' {
                    let a: [u8; 4] = bytes.try_into().unwrap();
                    (if f.h.little {
                        f32::from_le_bytes(a)
                    } else {
                        f32::from_be_bytes(a)
                    }) as f64
                } else {
                    let a: [u8; 8] = bytes.try_into().unwrap();
                    if f.h.little {
                        f64::from_le_bytes(a)
                    } else {
                        f64::from_be_bytes(a)
                    }
                };
                out.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    size = match out.pop() {
                        Some(Value::Number(n)) => n as usize,
                        Some(Value::Integer(i)) => i as usize,
                        _ => return Err(LibError::msg("format 'c0' needs a previous size")),
                    };
                }
                let bytes = data.get(pos..pos + size).ok_or_else(too_short)?;
                out.push(Value::String(lua.create_string(bytes)?));
            }
            b's' => {
                let rest = data.get(pos..).ok_or_else(too_short)?;
                let end = memchr::memchr(0, rest)
                    .ok_or_else(|| LibError::msg("unfinished string in data"))?;
                out.push(Value::String(lua.create_string(&rest[..end])?));
                size = end + 1;
            }
            _ => unreachable!("next_item only yields data options"),
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(out))
}

fn size(lua: &Lua, args: MultiValue) -> LibResult {
    let fmt = arg_bytes(lua, args.front(), 1, "size")?;
    let mut f = Format::new(&fmt, "size");
    let mut total = 0;
    while let Some(item) = f.next_item()? {
        if item.opt == b's' || (item.opt == b'c' && item.size == 0) {
            return Err(LibError::msg(
                "bad argument #1 to 'size' (variable-length format)",
            ));
        }
        total += f.padding(total, item) + item.size;
    }
    Ok(MultiValue::from_iter([Value::Number(total as f64)]))
}
