//! Set commands (redis's t_set.c).

use super::keys::{parse_cursor, parse_scan_opts, scan_positions};
use super::{err, CmdResult, Ctx, Error, SYNTAX};
use crate::db::OwnedValue;
use crate::notify::{GENERIC, SET};
use crate::types::{Aggregate, Set};
use crate::util::{eq_ignore_case, glob_match, parse_i64};
use rand::Rng;

pub fn sadd(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let limits = ctx.srv.ks.limits;
    let s = ctx.srv.ks.set_or_create(db, &a[1])?;
    let n = a.iter().skip(2).filter(|m| s.add(m, &limits)).count();
    if n > 0 {
        ctx.modified(db, &a[1], SET, "sadd");
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn srem(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let n = match ctx.srv.ks.get_set_mut(db, &a[1])? {
        Some(s) => a.iter().skip(2).filter(|m| s.remove(m)).count(),
        None => 0,
    };
    if n > 0 {
        ctx.modified(db, &a[1], SET, "srem");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn reply_members(ctx: &mut Ctx, members: &[Vec<u8>]) {
    ctx.out.set(members.len());
    for m in members {
        ctx.out.bulk(m);
    }
}

fn members_of(s: &Set) -> Vec<Vec<u8>> {
    s.members().into_iter().map(|m| m.to_vec()).collect()
}

pub fn smembers(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let m = ctx
        .srv
        .ks
        .get_set(db, &ctx.argv[1])?
        .map(members_of)
        .unwrap_or_default();
    reply_members(ctx, &m);
    Ok(())
}

pub fn sismember(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let r = ctx
        .srv
        .ks
        .get_set(db, &a[1])?
        .is_some_and(|s| s.contains(&a[2]));
    ctx.out.int(r as i64);
    Ok(())
}

pub fn smismember(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let r: Vec<bool> = match ctx.srv.ks.get_set(db, &a[1])? {
        Some(s) => a.iter().skip(2).map(|m| s.contains(m)).collect(),
        None => vec![false; a.len() - 2],
    };
    ctx.out.array(r.len());
    for x in r {
        ctx.out.int(x as i64);
    }
    Ok(())
}

pub fn scard(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.get_set(db, &ctx.argv[1])?.map_or(0, Set::len);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn spop(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    if a.len() > 3 {
        return err(SYNTAX);
    }
    let count = if a.len() == 3 {
        let c =
            parse_i64(&a[2]).ok_or(Error::msg("ERR value is out of range, must be positive"))?;
        if c < 0 {
            return err("ERR value is out of range, must be positive");
        }
        Some(c as usize)
    } else {
        None
    };
    let Some(s) = ctx.srv.ks.get_set_mut(db, &a[1])? else {
        match count {
            Some(_) => ctx.out.set(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let mut rng = rand::thread_rng();
    let want = count.unwrap_or(1).min(s.len());
    let mut popped = Vec::with_capacity(want);
    for _ in 0..want {
        let i = rng.gen_range(0..s.len());
        popped.push(s.pop_at(i));
    }
    if !popped.is_empty() {
        ctx.modified(db, &a[1], SET, "spop");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => {
            ctx.out.set(popped.len());
            for p in popped {
                ctx.out.bulk(&p);
            }
        }
    }
    Ok(())
}

pub fn srandmember(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (count, _) = super::random::parse_count(a, None)?;
    let Some(s) = ctx.srv.ks.get_set(db, &a[1])? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let picks: Vec<Vec<u8>> = super::random::positions(s.len(), count)?
        .into_iter()
        .map(|i| s.at(i).to_vec())
        .collect();
    match count {
        None => ctx.out.bulk(&picks[0]),
        Some(_) => {
            ctx.out.array(picks.len());
            for p in picks {
                ctx.out.bulk(&p);
            }
        }
    }
    Ok(())
}

pub fn smove(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (src, dst, m) = (&a[1], &a[2], &a[3]);
    let in_src = match ctx.srv.ks.get_set(db, src)? {
        Some(s) => s.contains(m),
        None => {
            ctx.out.int(0);
            return Ok(());
        }
    };
    ctx.srv.ks.get_set(db, dst)?;
    if src == dst {
        ctx.out.int(in_src as i64);
        return Ok(());
    }
    if !in_src {
        ctx.out.int(0);
        return Ok(());
    }
    let limits = ctx.srv.ks.limits;
    if let Some(s) = ctx.srv.ks.get_set_mut(db, src)? {
        s.remove(m);
    }
    ctx.modified(db, src, SET, "srem");
    if ctx.srv.ks.remove_if_empty(db, src) {
        ctx.modified(db, src, GENERIC, "del");
    }
    // The destination is modified (WATCH, notifications) only if it did not hold the member.
    if ctx.srv.ks.set_or_create(db, dst)?.add(m, &limits) {
        ctx.modified(db, dst, SET, "sadd");
    }
    ctx.out.int(1);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes the set operation over `keys`; the member order follows redis's algorithm closely
/// enough for intsets (sorted) and is arbitrary otherwise.
fn compute(ctx: &mut Ctx, keys: &[&[u8]], op: Op) -> Result<Vec<Vec<u8>>, Error> {
    let db = ctx.db();
    let mut sets: Vec<Option<Vec<Vec<u8>>>> = Vec::new();
    for k in keys {
        sets.push(ctx.srv.ks.get_set(db, k)?.map(members_of));
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(out);
            }
            let mut sets: Vec<Vec<Vec<u8>>> =
                sets.into_iter().map(|s| s.unwrap_or_default()).collect();
            sets.sort_by_key(|s| s.len());
            let others: Vec<std::collections::HashSet<&Vec<u8>>> =
                sets[1..].iter().map(|s| s.iter().collect()).collect();
            for m in &sets[0] {
                if others.iter().all(|o| o.contains(m)) {
                    out.push(m.clone());
                }
            }
        }
        Op::Union => {
            let mut seen = std::collections::HashSet::new();
            for s in sets.into_iter().flatten() {
                for m in s {
                    if seen.insert(m.clone()) {
                        out.push(m);
                    }
                }
            }
        }
        Op::Diff => {
            let mut it = sets.into_iter();
            let first = it.next().flatten().unwrap_or_default();
            let rest: Vec<std::collections::HashSet<Vec<u8>>> = it
                .map(|s| s.unwrap_or_default().into_iter().collect())
                .collect();
            for m in first {
                if !rest.iter().any(|r| r.contains(&m)) {
                    out.push(m);
                }
            }
        }
    }
    Ok(out)
}

fn sort_like_redis(ctx: &Ctx, members: &mut [Vec<u8>]) {
    let intset = members.len() <= ctx.srv.ks.limits.set_intset_entries
        && members.iter().all(|m| parse_i64(m).is_some());
    if intset {
        members.sort_by_key(|m| parse_i64(m).unwrap_or(0));
    }
}

fn op_generic(ctx: &mut Ctx, op: Op) -> CmdResult {
    let a = ctx.argv;
    let keys: Vec<&[u8]> = a.iter().skip(1).collect();
    let mut r = compute(ctx, &keys, op)?;
    sort_like_redis(ctx, &mut r);
    reply_members(ctx, &r);
    Ok(())
}

fn store_generic(ctx: &mut Ctx, op: Op, event: &str) -> CmdResult {
    let a = ctx.argv;
    let keys: Vec<&[u8]> = a.iter().skip(2).collect();
    let r = compute(ctx, &keys, op)?;
    let db = ctx.db();
    let dst = &a[1];
    let n = r.len();
    if r.is_empty() {
        if ctx.srv.ks.delete(db, dst) {
            ctx.modified(db, dst, GENERIC, "del");
        }
    } else {
        let limits = ctx.srv.ks.limits;
        let mut s = Set::default();
        for m in &r {
            s.add(m, &limits);
        }
        ctx.srv
            .ks
            .set_owned(db, dst, OwnedValue::Agg(Aggregate::Set(s)));
        ctx.modified(db, dst, SET, event);
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn sinter(ctx: &mut Ctx) -> CmdResult {
    op_generic(ctx, Op::Inter)
}
pub fn sunion(ctx: &mut Ctx) -> CmdResult {
    op_generic(ctx, Op::Union)
}
pub fn sdiff(ctx: &mut Ctx) -> CmdResult {
    op_generic(ctx, Op::Diff)
}
pub fn sinterstore(ctx: &mut Ctx) -> CmdResult {
    store_generic(ctx, Op::Inter, "sinterstore")
}
pub fn sunionstore(ctx: &mut Ctx) -> CmdResult {
    store_generic(ctx, Op::Union, "sunionstore")
}
pub fn sdiffstore(ctx: &mut Ctx) -> CmdResult {
    store_generic(ctx, Op::Diff, "sdiffstore")
}

/// Parses `numkeys key... [LIMIT n]` of SINTERCARD/ZINTERCARD.
pub fn parse_intercard(ctx: &Ctx) -> Result<(Vec<Vec<u8>>, usize), Error> {
    let a = ctx.argv;
    let n = parse_i64(&a[1]).ok_or(Error::msg("ERR numkeys should be greater than 0"))?;
    if n <= 0 {
        return err("ERR numkeys should be greater than 0");
    }
    let n = n as usize;
    if n > a.len() - 2 {
        return err("ERR Number of keys can't be greater than number of args");
    }
    let keys = (2..2 + n).map(|i| a[i].to_vec()).collect();
    let mut limit = 0;
    let mut i = 2 + n;
    while i < a.len() {
        if eq_ignore_case(&a[i], "limit") && i + 1 < a.len() {
            let l = parse_i64(&a[i + 1]).ok_or(Error::msg("ERR LIMIT can't be negative"))?;
            if l < 0 {
                return err("ERR LIMIT can't be negative");
            }
            limit = l as usize;
            i += 2;
        } else {
            return err(SYNTAX);
        }
    }
    Ok((keys, limit))
}

pub fn sintercard(ctx: &mut Ctx) -> CmdResult {
    let (keys, limit) = parse_intercard(ctx)?;
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let r = compute(ctx, &refs, Op::Inter)?;
    let n = if limit > 0 {
        r.len().min(limit)
    } else {
        r.len()
    };
    ctx.out.int(n as i64);
    Ok(())
}

pub fn sscan(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let cursor = parse_cursor(&ctx.argv[2])?;
    let o = parse_scan_opts(ctx, 3, false)?;
    let Some(s) = ctx.srv.ks.get_set(db, &ctx.argv[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (members, next): (Vec<Vec<u8>>, u64) = if s.is_intset() {
        (members_of(s), 0)
    } else {
        let (r, n) = scan_positions(s.len(), cursor, o.count);
        (r.rev().map(|i| s.at(i).to_vec()).collect(), n)
    };
    let items: Vec<Vec<u8>> = members
        .into_iter()
        .filter(|m| o.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)))
        .collect();
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len());
    for m in items {
        ctx.out.bulk(&m);
    }
    Ok(())
}
