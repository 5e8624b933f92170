//! The `bit` library (LuaBitOp 1.0 semantics): 32-bit operations on Lua numbers, results as
//! signed 32-bit integers.

use mlua::{Lua, MultiValue, Value};

use super::vm::{LibError, LibFn, LibResult};

pub(crate) const FUNCTIONS: &[(&str, LibFn)] = &[
    ("tobit", tobit),
    ("tohex", tohex),
    ("bnot", bnot),
    ("band", band),
    ("bor", bor),
    ("bxor", bxor),
    ("lshift", lshift),
    ("rshift", rshift),
    ("arshift", arshift),
    ("rol", rol),
    ("ror", ror),
    ("bswap", bswap),
];

/// LuaBitOp's conversion: add 2^52+2^51 and keep the low 32 bits of the double (rounds to
/// nearest even, wraps modulo 2^32).
fn to_i32(v: &Value, n: usize, fname: &str) -> Result<i32, LibError> {
    let f = match v {
        Value::Integer(i) => *i as f64,
        Value::Number(f) => *f,
        Value::String(s) => match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(f) => f,
            None => return Err(bad_arg(n, fname, "string")),
        },
        other => return Err(bad_arg(n, fname, other.type_name())),
    };
    Ok((f + 6755399441055744.0).to_bits() as u32 as i32)
}

fn bad_arg(n: usize, fname: &str, got: &str) -> LibError {
    LibError::msg(format!(
        "bad argument #{n} to '{fname}' (number expected, got {got})"
    ))
}

fn args_i32(args: &MultiValue, fname: &str, min: usize) -> Result<Vec<i32>, LibError> {
    if args.len() < min {
        return Err(bad_arg(args.len() + 1, fname, "no value"));
    }
    args.iter()
        .enumerate()
        .map(|(i, v)| to_i32(v, i + 1, fname))
        .collect()
}

fn num(v: i32) -> LibResult {
    Ok(MultiValue::from_iter([Value::Number(v as f64)]))
}

fn tobit(_: &Lua, a: MultiValue) -> LibResult {
    num(args_i32(&a, "tobit", 1)?[0])
}

fn bnot(_: &Lua, a: MultiValue) -> LibResult {
    num(!args_i32(&a, "bnot", 1)?[0])
}

fn fold(a: MultiValue, name: &str, f: fn(i32, i32) -> i32) -> LibResult {
    let v = args_i32(&a, name, 1)?;
    num(v[1..].iter().fold(v[0], |acc, &x| f(acc, x)))
}

fn band(_: &Lua, a: MultiValue) -> LibResult {
    fold(a, "band", |x, y| x & y)
}
fn bor(_: &Lua, a: MultiValue) -> LibResult {
    fold(a, "bor", |x, y| x | y)
}
fn bxor(_: &Lua, a: MultiValue) -> LibResult {
    fold(a, "bxor", |x, y| x ^ y)
}

fn shift(a: MultiValue, name: &str, f: fn(u32, u32) -> u32) -> LibResult {
    let v = args_i32(&a, name, 2)?;
    num(f(v[0] as u32, (v[1] & 31) as u32) as i32)
}

fn lshift(_: &Lua, a: MultiValue) -> LibResult {
    shift(a, "lshift", |x, n| x << n)
}
fn rshift(_: &Lua, a: MultiValue) -> LibResult {
    shift(a, "rshift", |x, n| x >> n)
}
fn arshift(_: &Lua, a: MultiValue) -> LibResult {
    shift(a, "arshift", |x, n| ((x as i32) >> n) as u32)
}
fn rol(_: &Lua, a: MultiValue) -> LibResult {
    shift(a, "rol", |x, n| x.rotate_left(n))
}
fn ror(_: &Lua, a: MultiValue) -> LibResult {
    shift(a, "ror", |x, n| x.rotate_right(n))
}

fn bswap(_: &Lua, a: MultiValue) -> LibResult {
    num(args_i32(&a, "bswap", 1)?[0].swap_bytes())
}

fn tohex(lua: &Lua, a: MultiValue) -> LibResult {
    let x = to_i32(a.front().unwrap_or(&Value::Nil), 1, "tohex")? as u32;
    let n = match a.get(1) {
        None | Some(Value::Nil) => 8,
        Some(v) => to_i32(v, 2, "tohex")?,
    };
    let (upper, n) = if n < 0 { (true, -n) } else { (false, n) };
    let n = n.clamp(1, 8) as usize;
    let masked = if n < 8 {
        x & ((1u32 << (4 * n)) - 1)
    } else {
        x
    };
    let s = if upper {
        format!("{masked:0n$X}")
    } else {
        format!("{masked:0n$x}")
    };
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(s)?,
    )]))
}
