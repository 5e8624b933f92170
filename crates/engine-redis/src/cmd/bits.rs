//! Bitmap commands over string values (redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD, BITFIELD_RO. Bit 0 is the most significant bit of byte 0.

use super::strings::check_string_len;
use super::{err, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::notify::{GENERIC, STRING};
use crate::util::{eq_ignore_case, parse_i64};

fn parse_bit_offset(ctx: &Ctx, arg: &[u8], hash_mult: Option<u32>) -> Result<u64, Error> {
    let bad = || Error::msg("ERR bit offset is not an integer or out of range");
    let (mult, digits) = match (arg.first(), hash_mult) {
        (Some(b'#'), Some(m)) => (m as i64, &arg[1..]),
        _ => (1, arg),
    };
    let v = parse_i64(digits).ok_or_else(bad)?;
    let v = v.checked_mul(mult).ok_or_else(bad)?;
    let max = ctx.srv.config.proto_max_bulk_len * 8;
    if v < 0 || v >= max {
        return Err(bad());
    }
    Ok(v as u64)
}

fn get_bit(v: &[u8], bit: u64) -> u8 {
    let byte = (bit / 8) as usize;
    if byte >= v.len() {
        return 0;
    }
    (v[byte] >> (7 - (bit % 8))) & 1
}

pub fn setbit(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let off = parse_bit_offset(ctx, &a[2], None)?;
    let on = match &a[3][..] {
        b"1" => true,
        b"0" => false,
        _ => return err("ERR bit is not an integer or out of range"),
    };
    let db = ctx.db();
    let mut v = ctx
        .srv
        .ks
        .get_str_w(db, &a[1])?
        .map(|v| v.to_vec())
        .unwrap_or_default();
    let byte = (off / 8) as usize;
    check_string_len(ctx, byte as u64 + 1)?;
    if v.len() <= byte {
        v.resize(byte + 1, 0);
    }
    let mask = 1u8 << (7 - (off % 8));
    let old = (v[byte] & mask != 0) as i64;
    if on {
        v[byte] |= mask;
    } else {
        v[byte] &= !mask;
    }
    ctx.srv.ks.set_str(db, &a[1], &v, true);
    ctx.modified(db, &a[1], STRING, "setbit");
    ctx.out.int(old);
    Ok(())
}

pub fn getbit(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let off = parse_bit_offset(ctx, &a[2], None)?;
    let db = ctx.db();
    let b = ctx
        .srv
        .ks
        .get_str(db, &a[1])?
        .map_or(0, |v| get_bit(v, off));
    ctx.out.int(b as i64);
    Ok(())
}

/// Resolves `start end [BYTE|BIT]` to an inclusive bit range, or None if empty.
fn bit_range(ctx: &Ctx, len_bytes: usize, from: usize) -> Result<Option<(u64, u64)>, Error> {
    let a = ctx.argv;
    let bits_mode = if a.len() > from + 2 {
        if eq_ignore_case(&a[from + 2], "bit") {
            true
        } else if eq_ignore_case(&a[from + 2], "byte") {
            false
        } else {
            return err(SYNTAX);
        }
    } else {
        false
    };
    let total = if bits_mode {
        len_bytes as i64 * 8
    } else {
        len_bytes as i64
    };
    let mut s = parse_i64(&a[from]).ok_or(Error::msg(NOT_INT))?;
    let mut e = if a.len() > from + 1 {
        parse_i64(&a[from + 1]).ok_or(Error::msg(NOT_INT))?
    } else {
        total - 1
    };
    if s < 0 {
        s += total;
    }
    if e < 0 {
        e += total;
    }
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e || total == 0 {
        return Ok(None);
    }
    Ok(Some(if bits_mode {
        (s as u64, e as u64)
    } else {
        (s as u64 * 8, e as u64 * 8 + 7)
    }))
}

pub fn bitcount(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len() == 3 || a.len() > 5 {
        return err(SYNTAX);
    }
    let db = ctx.db();
    let Some(len) = ctx.srv.ks.get_str(db, &a[1])?.map(|v| v.len()) else {
        ctx.out.int(0);
        return Ok(());
    };
    let range = if a.len() >= 4 {
        let start = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?;
        let end = parse_i64(&a[3]).ok_or(Error::msg(NOT_INT))?;
        // Two negative indexes the wrong way round count nothing (redis 7.0, checked before
        // BIT/BYTE), where clamping both to 0 would count the first byte.
        if start < 0 && end < 0 && start > end {
            None
        } else {
            bit_range(ctx, len, 2)?
        }
    } else if len == 0 {
        None
    } else {
        Some((0, len as u64 * 8 - 1))
    };
    let n = match range {
        None => 0,
        Some((s, e)) => {
            let v = ctx.srv.ks.get_str(db, &a[1])?.unwrap_or_default();
            count_ones(v, s, e)
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// Set bits from bit `s` to bit `e` (inclusive, most significant bit of byte 0 first), a
/// byte at a time.
fn count_ones(v: &[u8], s: u64, e: u64) -> u64 {
    let (first, last) = ((s / 8) as usize, (e / 8) as usize);
    let head = 0xFFu8 >> (s % 8);
    let tail = 0xFFu8 << (7 - e % 8);
    if first == last {
        return (v[first] & head & tail).count_ones() as u64;
    }
    let middle: u64 = v[first + 1..last]
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum();
    (v[first] & head).count_ones() as u64 + middle + (v[last] & tail).count_ones() as u64
}

pub fn bitpos(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len() > 6 {
        return err(SYNTAX);
    }
    let bit = match &a[2][..] {
        b"1" => 1u8,
        b"0" => 0u8,
        _ => return err("ERR The bit argument must be 1 or 0."),
    };
    let db = ctx.db();
    let Some(v) = ctx.srv.ks.get_str(db, &a[1])?.map(|v| v.to_vec()) else {
        ctx.out.int(if bit == 1 { -1 } else { 0 });
        return Ok(());
    };
    let end_given = a.len() >= 5;
    let range = if a.len() >= 4 {
        bit_range(ctx, v.len(), 3)?
    } else if v.is_empty() {
        None
    } else {
        Some((0, v.len() as u64 * 8 - 1))
    };
    let Some((s, e)) = range else {
        ctx.out.int(-1);
        return Ok(());
    };
    for b in s..=e {
        if get_bit(&v, b) == bit {
            ctx.out.int(b as i64);
            return Ok(());
        }
    }
    // Looking for a clear bit with no explicit end: the string is virtually padded with zeros.
    if bit == 0 && !end_given {
        ctx.out.int(e as i64 + 1);
    } else {
        ctx.out.int(-1);
    }
    Ok(())
}

pub fn bitop(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let op = crate::util::lower(&a[1]);
    if !matches!(op.as_str(), "and" | "or" | "xor" | "not") {
        return err(SYNTAX);
    }
    if op == "not" && a.len() != 4 {
        return err("ERR BITOP NOT must be called with a single source key.");
    }
    let db = ctx.db();
    let mut srcs = Vec::new();
    for k in a.iter().skip(3) {
        srcs.push(
            ctx.srv
                .ks
                .get_str(db, k)?
                .map(|v| v.to_vec())
                .unwrap_or_default(),
        );
    }
    let len = srcs.iter().map(Vec::len).max().unwrap_or(0);
    let mut res = vec![0u8; len];
    for (i, r) in res.iter_mut().enumerate() {
        let byte = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
        *r = match op.as_str() {
            "not" => !byte(&srcs[0]),
            "and" => srcs.iter().fold(0xff, |acc, s| acc & byte(s)),
            "or" => srcs.iter().fold(0, |acc, s| acc | byte(s)),
            _ => srcs.iter().fold(0, |acc, s| acc ^ byte(s)),
        };
    }
    let dst = &a[2];
    if res.is_empty() {
        if ctx.srv.ks.delete(db, dst) {
            ctx.modified(db, dst, GENERIC, "del");
        }
    } else {
        ctx.srv.ks.set_str(db, dst, &res, false);
        ctx.modified(db, dst, STRING, "set");
    }
    ctx.out.int(res.len() as i64);
    Ok(())
}

#[derive(Clone, Copy)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
struct FieldType {
    signed: bool,
    bits: u32,
}

fn parse_type(t: &[u8]) -> Result<FieldType, Error> {
    let bad = || {
        Error::msg("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    };
    let signed = match t.first() {
        Some(b'i') | Some(b'I') => true,
        Some(b'u') | Some(b'U') => false,
        _ => return Err(bad()),
    };
    let bits = parse_i64(&t[1..]).ok_or_else(bad)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(bad());
    }
    Ok(FieldType {
        signed,
        bits: bits as u32,
    })
}

fn read_field(v: &[u8], off: u64, t: FieldType) -> i64 {
    let mut u: u64 = 0;
    for i in 0..t.bits as u64 {
        u = (u << 1) | get_bit(v, off + i) as u64;
    }
    if t.signed && t.bits < 64 && (u >> (t.bits - 1)) & 1 == 1 {
        (u | (!0u64 << t.bits)) as i64
    } else {
        u as i64
    }
}

fn write_field(v: &mut Vec<u8>, off: u64, t: FieldType, val: i64) {
    let need = (off + t.bits as u64).div_ceil(8) as usize;
    if v.len() < need {
        v.resize(need, 0);
    }
    let u = val as u64;
    for i in 0..t.bits as u64 {
        let bit = (u >> (t.bits as u64 - 1 - i)) & 1;
        let pos = off + i;
        let byte = (pos / 8) as usize;
        let mask = 1u8 << (7 - pos % 8);
        if bit == 1 {
            v[byte] |= mask;
        } else {
            v[byte] &= !mask;
        }
    }
}

/// Applies overflow policy to `val` (an i128 to see overflow); None = FAIL triggered.
fn clamp(val: i128, t: FieldType, ov: Overflow) -> Option<i64> {
    let (min, max): (i128, i128) = if t.signed {
        (-(1i128 << (t.bits - 1)), (1i128 << (t.bits - 1)) - 1)
    } else {
        (0, (1i128 << t.bits) - 1)
    };
    if val >= min && val <= max {
        return Some(val as i64);
    }
    match ov {
        Overflow::Fail => None,
        Overflow::Sat => Some(if val < min { min as i64 } else { max as i64 }),
        Overflow::Wrap => {
            let m = 1i128 << t.bits;
            let mut w = val.rem_euclid(m);
            if t.signed && w > max {
                w -= m;
            }
            Some(w as i64)
        }
    }
}

enum Op {
    Get(FieldType, u64),
    Set(FieldType, u64, i64, Overflow),
    Incr(FieldType, u64, i64, Overflow),
}

fn bitfield_generic(ctx: &mut Ctx, readonly: bool) -> CmdResult {
    let a = ctx.argv;
    let mut ops = Vec::new();
    let mut ov = Overflow::Wrap;
    let mut i = 2;
    while i < a.len() {
        let sub = crate::util::lower(&a[i]);
        match sub.as_str() {
            "get" if i + 2 < a.len() => {
                let t = parse_type(&a[i + 1])?;
                let off = parse_bit_offset(ctx, &a[i + 2], Some(t.bits))?;
                ops.push(Op::Get(t, off));
                i += 3;
            }
            "set" | "incrby" if i + 3 < a.len() => {
                if readonly {
                    return err("ERR BITFIELD_RO only supports the GET subcommand");
                }
                let t = parse_type(&a[i + 1])?;
                let off = parse_bit_offset(ctx, &a[i + 2], Some(t.bits))?;
                let v = parse_i64(&a[i + 3]).ok_or(Error::msg(NOT_INT))?;
                ops.push(if sub == "set" {
                    Op::Set(t, off, v, ov)
                } else {
                    Op::Incr(t, off, v, ov)
                });
                i += 4;
            }
            "overflow" if i + 1 < a.len() => {
                if readonly {
                    return err("ERR BITFIELD_RO only supports the GET subcommand");
                }
                ov = match crate::util::lower(&a[i + 1]).as_str() {
                    "wrap" => Overflow::Wrap,
                    "sat" => Overflow::Sat,
                    "fail" => Overflow::Fail,
                    _ => return err("ERR Invalid OVERFLOW type specified"),
                };
                i += 2;
            }
            _ => return err(SYNTAX),
        }
    }
    let db = ctx.db();
    let writes = ops.iter().any(|o| !matches!(o, Op::Get(..)));
    let mut v = if writes {
        ctx.srv
            .ks
            .get_str_w(db, &a[1])?
            .map(|v| v.to_vec())
            .unwrap_or_default()
    } else {
        ctx.srv
            .ks
            .get_str(db, &a[1])?
            .map(|v| v.to_vec())
            .unwrap_or_default()
    };
    let mut results: Vec<Option<i64>> = Vec::new();
    let mut changed = false;
    for op in ops {
        match op {
            Op::Get(t, off) => results.push(Some(read_field(&v, off, t))),
            Op::Set(t, off, val, ov) => {
                let old = read_field(&v, off, t);
                // SET stores the value with the overflow policy applied to the raw input.
                match clamp(val as i128, t, ov) {
                    Some(n) => {
                        write_field(&mut v, off, t, n);
                        changed = true;
                        results.push(Some(old));
                    }
                    None => results.push(None),
                }
            }
            Op::Incr(t, off, by, ov) => {
                let old = read_field(&v, off, t);
                match clamp(old as i128 + by as i128, t, ov) {
                    Some(n) => {
                        write_field(&mut v, off, t, n);
                        changed = true;
                        results.push(Some(n));
                    }
                    None => results.push(None),
                }
            }
        }
    }
    if changed {
        check_string_len(ctx, v.len() as u64)?;
        ctx.srv.ks.set_str(db, &a[1], &v, true);
        ctx.modified(db, &a[1], STRING, "setbit");
    }
    ctx.out.array(results.len());
    for r in results {
        match r {
            Some(n) => ctx.out.int(n),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn bitfield(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, false)
}

pub fn bitfield_ro(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, true)
}
