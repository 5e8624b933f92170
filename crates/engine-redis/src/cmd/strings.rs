//! String commands (redis's t_string.c).

use super::{err, CmdResult, Ctx, Error, NOT_FLOAT, NOT_INT, OVERFLOW, SYNTAX};
use crate::notify::{GENERIC, STRING};
use crate::util::{eq_ignore_case, fmt_human_double, fmt_i64, parse_f64, parse_i64};

/// Largest string redis builds with SETRANGE/APPEND/SETBIT (`proto-max-bulk-len`).
pub fn check_string_len(ctx: &Ctx, len: u64) -> CmdResult {
    if len > ctx.srv.config.proto_max_bulk_len as u64 {
        return err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    Ok(())
}

pub fn get(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    match ctx.srv.ks.get_str(db, &ctx.argv[1])? {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// An expiry option: absolute time in ms.
pub fn expire_from_arg(ctx: &Ctx, unit_ms: bool, absolute: bool, arg: &[u8]) -> Result<i64, Error> {
    let v = parse_i64(arg).ok_or(Error::msg(NOT_INT))?;
    let bad = || {
        Error::msg(format!(
            "ERR invalid expire time in '{}' command",
            ctx.spec.name
        ))
    };
    if v <= 0 {
        return Err(bad());
    }
    let ms = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(bad)?
    };
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(ctx.srv.ks.now).ok_or_else(bad)
    }
}

pub fn set(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let (mut nx, mut xx, mut get, mut keepttl) = (false, false, false, false);
    let mut expire: Option<i64> = None;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let next = a.get(i + 1);
        if eq_ignore_case(o, "nx") && !xx {
            nx = true;
        } else if eq_ignore_case(o, "xx") && !nx {
            xx = true;
        } else if eq_ignore_case(o, "get") {
            get = true;
        } else if eq_ignore_case(o, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if ["ex", "px", "exat", "pxat"]
            .iter()
            .any(|n| eq_ignore_case(o, n))
            && !keepttl
            && expire.is_none()
            && next.is_some()
        {
            let l = crate::util::lower(o);
            expire = Some(expire_from_arg(
                ctx,
                l.starts_with('p'),
                l.ends_with("at"),
                next.unwrap_or_default(),
            )?);
            i += 1;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    let db = ctx.db();
    let key = &a[1];
    let old = if get {
        ctx.srv.ks.get_str(db, key)?.map(|v| v.to_vec())
    } else {
        None
    };
    // Plain SET does not ask: `set_str` finds the key once anyway.
    let exists = (nx || xx) && ctx.srv.ks.exists(db, key);
    if (nx && exists) || (xx && !exists) {
        if get {
            match old {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        } else {
            ctx.out.null();
        }
        return Ok(());
    }
    set_with_expire(ctx, db, key, &a[2], expire, keepttl);
    if get {
        match old {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn set_with_expire(
    ctx: &mut Ctx,
    db: usize,
    key: &[u8],
    val: &[u8],
    expire: Option<i64>,
    keepttl: bool,
) {
    ctx.srv.ks.set_str(db, key, val, keepttl);
    ctx.modified(db, key, STRING, "set");
    if let Some(at) = expire {
        ctx.srv.ks.set_expire(db, key, at);
        ctx.notify(GENERIC, "expire", db, key);
    }
}

pub fn setnx(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    if ctx.srv.ks.exists(db, &a[1]) {
        ctx.out.int(0);
    } else {
        set_with_expire(ctx, db, &a[1], &a[2], None, false);
        ctx.out.int(1);
    }
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, unit_ms: bool) -> CmdResult {
    let a = ctx.argv;
    let at = expire_from_arg(ctx, unit_ms, false, &a[2])?;
    let db = ctx.db();
    set_with_expire(ctx, db, &a[1], &a[3], Some(at), false);
    ctx.out.ok();
    Ok(())
}

pub fn setex(ctx: &mut Ctx) -> CmdResult {
    setex_generic(ctx, false)
}

pub fn psetex(ctx: &mut Ctx) -> CmdResult {
    setex_generic(ctx, true)
}

pub fn getset(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let old = ctx.srv.ks.get_str(db, &a[1])?.map(|v| v.to_vec());
    set_with_expire(ctx, db, &a[1], &a[2], None, false);
    match old {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn getdel(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    match ctx.srv.ks.get_str(db, key)? {
        Some(v) => {
            let v = v.to_vec();
            ctx.srv.ks.delete(db, key);
            ctx.modified(db, key, GENERIC, "del");
            ctx.out.bulk(&v);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn getex(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut expire = None;
    let mut persist = false;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if eq_ignore_case(o, "persist") && expire.is_none() && !persist {
            persist = true;
        } else if ["ex", "px", "exat", "pxat"]
            .iter()
            .any(|n| eq_ignore_case(o, n))
            && expire.is_none()
            && !persist
            && i + 1 < a.len()
        {
            let l = crate::util::lower(o);
            expire = Some(expire_from_arg(
                ctx,
                l.starts_with('p'),
                l.ends_with("at"),
                &a[i + 1],
            )?);
            i += 1;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    let db = ctx.db();
    let key = &a[1];
    let Some(v) = ctx.srv.ks.get_str(db, key)?.map(|v| v.to_vec()) else {
        ctx.out.null();
        return Ok(());
    };
    if let Some(at) = expire {
        if at <= ctx.srv.ks.now {
            ctx.srv.ks.delete(db, key);
            ctx.modified(db, key, GENERIC, "del");
        } else {
            ctx.srv.ks.set_expire(db, key, at);
            ctx.modified(db, key, GENERIC, "expire");
        }
    } else if persist && ctx.srv.ks.persist(db, key) {
        ctx.modified(db, key, GENERIC, "persist");
    }
    ctx.out.bulk(&v);
    Ok(())
}

pub fn mget(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    ctx.out.array(a.len() - 1);
    for k in a.iter().skip(1) {
        match ctx.srv.ks.get_str(db, k) {
            Ok(Some(v)) => ctx.out.bulk(v),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn mset(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, false)
}

pub fn msetnx(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, true)
}

fn mset_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let a = ctx.argv;
    if a.len().is_multiple_of(2) {
        return Err(Error::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.spec.name
        )));
    }
    let db = ctx.db();
    if nx
        && (1..a.len())
            .step_by(2)
            .any(|i| ctx.srv.ks.exists(db, &a[i]))
    {
        ctx.out.int(0);
        return Ok(());
    }
    for i in (1..a.len()).step_by(2) {
        set_with_expire(ctx, db, &a[i], &a[i + 1], None, false);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

pub fn append(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let key = &a[1];
    let len = match ctx.srv.ks.lookup(db, key) {
        Some(i) => {
            let cur = ctx.srv.ks.slot(db, i).str().ok_or(crate::db::WrongType)?;
            check_string_len(ctx, (cur.len() + a[2].len()) as u64)?;
            let mut v = cur.to_vec();
            v.extend_from_slice(&a[2]);
            ctx.srv.ks.replace_str(db, i, &v);
            v.len()
        }
        None => {
            ctx.srv.ks.set_str(db, key, &a[2], false);
            a[2].len()
        }
    };
    ctx.modified(db, key, STRING, "append");
    ctx.out.int(len as i64);
    Ok(())
}

pub fn strlen(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.get_str(db, &ctx.argv[1])?.map_or(0, |v| v.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// INCR/DECR family: adds `by` to the integer value of the key.
fn incr_by(ctx: &mut Ctx, by: i64) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    let cur = match ctx.srv.ks.get_str_w(db, key)? {
        Some(v) => parse_i64(v).ok_or(Error::msg(NOT_INT))?,
        None => 0,
    };
    let n = cur.checked_add(by).ok_or(Error::msg(OVERFLOW))?;
    ctx.srv.ks.set_str(db, key, &fmt_i64(n), true);
    ctx.modified(db, key, STRING, "incrby");
    ctx.out.int(n);
    Ok(())
}

pub fn incr(ctx: &mut Ctx) -> CmdResult {
    incr_by(ctx, 1)
}

pub fn decr(ctx: &mut Ctx) -> CmdResult {
    incr_by(ctx, -1)
}

pub fn incrby(ctx: &mut Ctx) -> CmdResult {
    let by = ctx.int_arg(2)?;
    incr_by(ctx, by)
}

pub fn decrby(ctx: &mut Ctx) -> CmdResult {
    let by = ctx.int_arg(2)?;
    if by == i64::MIN {
        return err("ERR decrement would overflow");
    }
    incr_by(ctx, -by)
}

pub fn incrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let key = &ctx.argv[1];
    let cur = match ctx.srv.ks.get_str_w(db, key)? {
        Some(v) => parse_f64(v).ok_or(Error::msg(NOT_FLOAT))?,
        None => 0.0,
    };
    let by = ctx.float_arg(2)?;
    let n = cur + by;
    if n.is_nan() || n.is_infinite() {
        return err("ERR increment would produce NaN or Infinity");
    }
    let s = fmt_human_double(n);
    ctx.srv.ks.set_str(db, key, &s, true);
    ctx.modified(db, key, STRING, "incrbyfloat");
    ctx.out.bulk(&s);
    Ok(())
}

pub fn setrange(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let key = &a[1];
    let offset = ctx.int_arg(2)?;
    if offset < 0 {
        return err("ERR offset is out of range");
    }
    let val = &a[3];
    let offset = offset as usize;
    let mut cur = match ctx.srv.ks.get_str_w(db, key)? {
        Some(v) => v.to_vec(),
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            Vec::new()
        }
    };
    if val.is_empty() {
        ctx.out.int(cur.len() as i64);
        return Ok(());
    }
    check_string_len(ctx, (offset + val.len()) as u64)?;
    if cur.len() < offset + val.len() {
        cur.resize(offset + val.len(), 0);
    }
    cur[offset..offset + val.len()].copy_from_slice(val);
    ctx.srv.ks.set_str(db, key, &cur, true);
    ctx.modified(db, key, STRING, "setrange");
    ctx.out.int(cur.len() as i64);
    Ok(())
}

pub fn getrange(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (start, end) = (ctx.int_arg(2)?, ctx.int_arg(3)?);
    let v = ctx.srv.ks.get_str(db, &a[1])?.unwrap_or_default();
    let len = v.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        ctx.out.bulk(b"");
        return Ok(());
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if e < 0 {
        e = 0;
    }
    if e >= len {
        e = len - 1;
    }
    if s > e {
        ctx.out.bulk(b"");
    } else {
        let out = v[s as usize..=e as usize].to_vec();
        ctx.out.bulk(&out);
    }
    Ok(())
}

pub fn lcs(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let (mut want_len, mut want_idx, mut with_len) = (false, false, false);
    let mut min_len = 0i64;
    let mut i = 3;
    while i < a.len() {
        if eq_ignore_case(&a[i], "len") {
            want_len = true;
        } else if eq_ignore_case(&a[i], "idx") {
            want_idx = true;
        } else if eq_ignore_case(&a[i], "withmatchlen") {
            with_len = true;
        } else if eq_ignore_case(&a[i], "minmatchlen") && i + 1 < a.len() {
            min_len = ctx.int_arg(i + 1)?.max(0);
            i += 1;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    if want_len && want_idx {
        return err("ERR If you want both the length and indexes, please just use IDX.");
    }
    let s1 = match ctx.srv.ks.get_str(db, &a[1]) {
        Ok(v) => v.unwrap_or_default().to_vec(),
        Err(_) => return err("ERR The specified keys must contain string values"),
    };
    let s2 = match ctx.srv.ks.get_str(db, &a[2]) {
        Ok(v) => v.unwrap_or_default().to_vec(),
        Err(_) => return err("ERR The specified keys must contain string values"),
    };
    let (n, m) = (s1.len(), s2.len());
    let mut dp = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in 1..=n {
        for j in 1..=m {
            dp[at(i, j)] = if s1[i - 1] == s2[j - 1] {
                dp[at(i - 1, j - 1)] + 1
            } else {
                dp[at(i - 1, j)].max(dp[at(i, j - 1)])
            };
        }
    }
    let total = dp[at(n, m)] as usize;
    let mut result = vec![0u8; total];
    type Match = ((usize, usize), (usize, usize), usize);
    let mut matches: Vec<Match> = Vec::new();
    let (mut i, mut j, mut k) = (n, m, total);
    let mut cur: Option<((usize, usize), (usize, usize))> = None;
    while i > 0 && j > 0 {
        if s1[i - 1] == s2[j - 1] {
            result[k - 1] = s1[i - 1];
            k -= 1;
            match &mut cur {
                Some(((a1, _), (b1, _))) if *a1 == i && *b1 == j => {
                    *a1 = i - 1;
                    *b1 = j - 1;
                }
                _ => {
                    if let Some((r1, r2)) = cur.take() {
                        let l = r1.1 - r1.0 + 1;
                        if l as i64 >= min_len {
                            matches.push((r1, r2, l));
                        }
                    }
                    cur = Some(((i - 1, i - 1), (j - 1, j - 1)));
                }
            }
            i -= 1;
            j -= 1;
        } else if dp[at(i - 1, j)] > dp[at(i, j - 1)] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some((r1, r2)) = cur.take() {
        let l = r1.1 - r1.0 + 1;
        if l as i64 >= min_len {
            matches.push((r1, r2, l));
        }
    }
    if want_idx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(matches.len());
        for (r1, r2, l) in matches {
            ctx.out.array(if with_len { 3 } else { 2 });
            ctx.out.array(2);
            ctx.out.int(r1.0 as i64);
            ctx.out.int(r1.1 as i64);
            ctx.out.array(2);
            ctx.out.int(r2.0 as i64);
            ctx.out.int(r2.1 as i64);
            if with_len {
                ctx.out.int(l as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else if want_len {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
    Ok(())
}

pub fn parse_int_or(v: &[u8]) -> Result<i64, Error> {
    parse_i64(v).ok_or(Error::msg(NOT_INT))
}
