//! Hash commands (redis's t_hash.c).

use super::keys::{parse_cursor, parse_scan_opts, scan_positions};
use super::{err, CmdResult, Ctx, Error, NOT_FLOAT, OVERFLOW};
use crate::notify::{GENERIC, HASH};
use crate::types::Hash;
use crate::util::{fmt_human_double, fmt_i64, glob_match, parse_f64, parse_i64};

fn hset_generic(ctx: &mut Ctx, reply_count: bool) -> CmdResult {
    let a = ctx.argv;
    if !a.len().is_multiple_of(2) {
        return Err(Error::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.spec.name
        )));
    }
    let db = ctx.db();
    let limits = ctx.srv.ks.limits;
    let h = ctx.srv.ks.hash_or_create(db, &a[1])?;
    let mut created = 0;
    for i in (2..a.len()).step_by(2) {
        if h.set(&a[i], &a[i + 1], &limits) {
            created += 1;
        }
    }
    ctx.modified(db, &a[1], HASH, "hset");
    if reply_count {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

pub fn hset(ctx: &mut Ctx) -> CmdResult {
    hset_generic(ctx, true)
}

pub fn hmset(ctx: &mut Ctx) -> CmdResult {
    hset_generic(ctx, false)
}

pub fn hsetnx(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let limits = ctx.srv.ks.limits;
    if ctx
        .srv
        .ks
        .get_hash(db, &a[1])?
        .is_some_and(|h| h.get(&a[2]).is_some())
    {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.srv
        .ks
        .hash_or_create(db, &a[1])?
        .set(&a[2], &a[3], &limits);
    ctx.modified(db, &a[1], HASH, "hset");
    ctx.out.int(1);
    Ok(())
}

pub fn hget(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let v = ctx
        .srv
        .ks
        .get_hash(db, &a[1])?
        .and_then(|h| h.get(&a[2]).map(|v| v.to_vec()));
    match v {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn hmget(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let vals: Vec<Option<Vec<u8>>> = match ctx.srv.ks.get_hash(db, &a[1])? {
        Some(h) => a
            .iter()
            .skip(2)
            .map(|f| h.get(f).map(|v| v.to_vec()))
            .collect(),
        None => vec![None; a.len() - 2],
    };
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn getall_generic(ctx: &mut Ctx, keys: bool, vals: bool) -> CmdResult {
    let db = ctx.db();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = match ctx.srv.ks.get_hash(db, &ctx.argv[1])? {
        Some(h) => h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
        None => Vec::new(),
    };
    if keys && vals {
        ctx.out.map(pairs.len());
    } else {
        ctx.out.array(pairs.len());
    }
    for (k, v) in pairs {
        if keys {
            ctx.out.bulk(&k);
        }
        if vals {
            ctx.out.bulk(&v);
        }
    }
    Ok(())
}

pub fn hgetall(ctx: &mut Ctx) -> CmdResult {
    getall_generic(ctx, true, true)
}
pub fn hkeys(ctx: &mut Ctx) -> CmdResult {
    getall_generic(ctx, true, false)
}
pub fn hvals(ctx: &mut Ctx) -> CmdResult {
    getall_generic(ctx, false, true)
}

pub fn hlen(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.get_hash(db, &ctx.argv[1])?.map_or(0, Hash::len);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn hdel(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let mut n = 0;
    if let Some(h) = ctx.srv.ks.get_hash_mut(db, &a[1])? {
        for f in a.iter().skip(2) {
            if h.remove(f) {
                n += 1;
            }
        }
    }
    if n > 0 {
        ctx.modified(db, &a[1], HASH, "hdel");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.int(n);
    Ok(())
}

pub fn hexists(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let e = ctx
        .srv
        .ks
        .get_hash(db, &a[1])?
        .is_some_and(|h| h.get(&a[2]).is_some());
    ctx.out.int(e as i64);
    Ok(())
}

pub fn hstrlen(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let n = ctx
        .srv
        .ks
        .get_hash(db, &a[1])?
        .and_then(|h| h.get(&a[2]).map(|v| v.len()))
        .unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn hincrby(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let by = ctx.int_arg(3)?;
    let limits = ctx.srv.ks.limits;
    let cur = match ctx.srv.ks.get_hash(db, &a[1])?.and_then(|h| h.get(&a[2])) {
        Some(v) => parse_i64(v).ok_or(Error::msg("ERR hash value is not an integer"))?,
        None => 0,
    };
    let n = cur.checked_add(by).ok_or(Error::msg(OVERFLOW))?;
    let h = ctx.srv.ks.hash_or_create(db, &a[1])?;
    h.set(&a[2], &fmt_i64(n), &limits);
    ctx.modified(db, &a[1], HASH, "hincrby");
    ctx.out.int(n);
    Ok(())
}

pub fn hincrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let by = ctx.float_arg(3)?;
    if !by.is_finite() {
        // Checked before the hash is looked at, as redis does (INCRBYFLOAT only checks the sum).
        return err("ERR value is NaN or Infinity");
    }
    let limits = ctx.srv.ks.limits;
    let cur = match ctx.srv.ks.get_hash(db, &a[1])?.and_then(|h| h.get(&a[2])) {
        Some(v) => parse_f64(v).ok_or(Error::msg("ERR hash value is not a float"))?,
        None => 0.0,
    };
    let n = cur + by;
    if !n.is_finite() {
        return err("ERR increment would produce NaN or Infinity");
    }
    let s = fmt_human_double(n);
    let h = ctx.srv.ks.hash_or_create(db, &a[1])?;
    h.set(&a[2], &s, &limits);
    ctx.modified(db, &a[1], HASH, "hincrbyfloat");
    ctx.out.bulk(&s);
    Ok(())
}

pub fn hrandfield(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (count, withvalues) = super::random::parse_count(a, Some("withvalues"))?;
    let Some(h) = ctx.srv.ks.get_hash(db, &a[1])? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = h.len();
    let picks = super::random::positions(len, count)?;
    let items: Vec<(Vec<u8>, Vec<u8>)> = picks
        .iter()
        .map(|&i| {
            let (k, v) = h.at(i);
            (k.to_vec(), v.to_vec())
        })
        .collect();
    if count.is_none() {
        ctx.out.bulk(&items[0].0);
        return Ok(());
    }
    if withvalues && ctx.out.resp3 {
        ctx.out.array(items.len());
        for (k, v) in items {
            ctx.out.array(2);
            ctx.out.bulk(&k);
            ctx.out.bulk(&v);
        }
    } else {
        ctx.out.array(items.len() * if withvalues { 2 } else { 1 });
        for (k, v) in items {
            ctx.out.bulk(&k);
            if withvalues {
                ctx.out.bulk(&v);
            }
        }
    }
    Ok(())
}

pub fn hscan(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let cursor = parse_cursor(&ctx.argv[2])?;
    let o = parse_scan_opts(ctx, 3, false)?;
    let Some(h) = ctx.srv.ks.get_hash(db, &ctx.argv[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (range, next) = if h.encoding() == "listpack" {
        (0..h.len(), 0)
    } else {
        let (r, n) = scan_positions(h.len(), cursor, o.count);
        (r, n)
    };
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let listpack = h.encoding() == "listpack";
    let order: Vec<usize> = if listpack {
        range.collect()
    } else {
        range.rev().collect()
    };
    for i in order {
        let (k, v) = h.at(i);
        if o.pattern.as_ref().is_none_or(|p| glob_match(p, k, false)) {
            items.push((k.to_vec(), v.to_vec()));
        }
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len() * 2);
    for (k, v) in items {
        ctx.out.bulk(&k);
        ctx.out.bulk(&v);
    }
    let _ = NOT_FLOAT;
    Ok(())
}
