//! Sorted-set commands (redis's t_zset.c).

use super::keys::{parse_cursor, parse_scan_opts, scan_positions};
use super::lists::{block_or_serve, parse_mpop, parse_timeout};
use super::{err, modified, CmdResult, Ctx, Error, NOT_FLOAT, NOT_INT, SYNTAX};
use crate::blocking::BlockOp;
use crate::client::Client;
use crate::db::OwnedValue;
use crate::notify::{GENERIC, ZSET};
use crate::server::Server;
use crate::types::zset::{LexBound, ScoreBound};
use crate::types::{Aggregate, ZSet};
use crate::util::{eq_ignore_case, glob_match, parse_f64, parse_i64};

pub fn zadd(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if eq_ignore_case(o, "nx") {
            nx = true;
        } else if eq_ignore_case(o, "xx") {
            xx = true;
        } else if eq_ignore_case(o, "gt") {
            gt = true;
        } else if eq_ignore_case(o, "lt") {
            lt = true;
        } else if eq_ignore_case(o, "ch") {
            ch = true;
        } else if eq_ignore_case(o, "incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = a.len() - i;
    if rest == 0 || !rest.is_multiple_of(2) {
        return err(SYNTAX);
    }
    if nx && xx {
        return err("ERR XX and NX options at the same time are not compatible");
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if incr && rest > 2 {
        return err("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::new();
    for j in (i..a.len()).step_by(2) {
        let s = parse_f64(&a[j]).ok_or(Error::msg(NOT_FLOAT))?;
        pairs.push((s, &a[j + 1]));
    }
    let db = ctx.db();
    let limits = ctx.srv.ks.limits;
    if xx && ctx.srv.ks.get_zset(db, &a[1])?.is_none() {
        if incr {
            ctx.out.null();
        } else {
            ctx.out.int(0);
        }
        return Ok(());
    }
    let z = ctx.srv.ks.zset_or_create(db, &a[1])?;
    let (mut added, mut changed) = (0, 0);
    let mut incr_result: Option<f64> = None;
    for (score, m) in pairs {
        let cur = z.score(m);
        let mut new = score;
        if incr {
            new = cur.unwrap_or(0.0) + score;
            if new.is_nan() {
                ctx.srv.ks.remove_if_empty(db, &a[1]);
                return err("ERR resulting score is not a number (NaN)");
            }
        }
        match cur {
            Some(c) => {
                if nx || (gt && new <= c) || (lt && new >= c) {
                    continue;
                }
                if c != new {
                    z.insert(m, new, &limits);
                    changed += 1;
                }
                incr_result = Some(new);
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(m, new, &limits);
                added += 1;
                incr_result = Some(new);
            }
        }
    }
    if added + changed > 0 {
        ctx.modified(db, &a[1], ZSET, if incr { "zincr" } else { "zadd" });
        ctx.signal_ready(db, &a[1]);
    } else if ctx.srv.ks.remove_if_empty(db, &a[1]) {
        // Nothing was added to a key created for this call.
    }
    if incr {
        match incr_result {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

pub fn zincrby(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let by = ctx.float_arg(2)?;
    let db = ctx.db();
    let limits = ctx.srv.ks.limits;
    let cur = ctx
        .srv
        .ks
        .get_zset(db, &a[1])?
        .and_then(|z| z.score(&a[3]))
        .unwrap_or(0.0);
    let new = cur + by;
    if new.is_nan() {
        return err("ERR resulting score is not a number (NaN)");
    }
    ctx.srv
        .ks
        .zset_or_create(db, &a[1])?
        .insert(&a[3], new, &limits);
    ctx.modified(db, &a[1], ZSET, "zincr");
    ctx.signal_ready(db, &a[1]);
    ctx.out.double(new);
    Ok(())
}

pub fn zrem(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let n = match ctx.srv.ks.get_zset_mut(db, &a[1])? {
        Some(z) => a.iter().skip(2).filter(|m| z.remove(m)).count(),
        None => 0,
    };
    if n > 0 {
        ctx.modified(db, &a[1], ZSET, "zrem");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn zcard(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.get_zset(db, &ctx.argv[1])?.map_or(0, ZSet::len);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn zscore(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    match ctx.srv.ks.get_zset(db, &a[1])?.and_then(|z| z.score(&a[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zmscore(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let r: Vec<Option<f64>> = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => a.iter().skip(2).map(|m| z.score(m)).collect(),
        None => vec![None; a.len() - 2],
    };
    ctx.out.array(r.len());
    for s in r {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let r = ctx
        .srv
        .ks
        .get_zset(db, &a[1])?
        .and_then(|z| z.rank(&a[2]).map(|r| if rev { z.len() - 1 - r } else { r }));
    match r {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zrank(ctx: &mut Ctx) -> CmdResult {
    rank_generic(ctx, false)
}
pub fn zrevrank(ctx: &mut Ctx) -> CmdResult {
    rank_generic(ctx, true)
}

fn score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), Error> {
    match (ScoreBound::parse(min), ScoreBound::parse(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => err("ERR min or max is not a float"),
    }
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), Error> {
    match (LexBound::parse(min), LexBound::parse(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => err("ERR min or max not valid string range item"),
    }
}

pub fn zcount(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (min, max) = score_range(&a[2], &a[3])?;
    let n = ctx
        .srv
        .ks
        .get_zset(db, &a[1])?
        .map_or(0, |z| z.by_score(min, max).count());
    ctx.out.int(n as i64);
    Ok(())
}

pub fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (min, max) = lex_range(&a[2], &a[3])?;
    let n = ctx
        .srv
        .ks
        .get_zset(db, &a[1])?
        .map_or(0, |z| z.by_lex(&min, &max).count());
    ctx.out.int(n as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

struct RangeSpec {
    by: RangeBy,
    rev: bool,
    limit: Option<(i64, i64)>,
    withscores: bool,
}

/// Selects elements of a zset per ZRANGE's rules; `min`/`max` as given (for REV, max first).
fn select(
    z: &ZSet,
    spec: &RangeSpec,
    start: &[u8],
    stop: &[u8],
) -> Result<Vec<(Vec<u8>, f64)>, Error> {
    let mut out: Vec<(Vec<u8>, f64)> = Vec::new();
    let (offset, count) = spec.limit.unwrap_or((0, -1));
    let take = |it: &mut dyn Iterator<Item = (&[u8], f64)>, out: &mut Vec<(Vec<u8>, f64)>| {
        if offset < 0 {
            return;
        }
        let it = it.skip(offset as usize);
        let it: Box<dyn Iterator<Item = (&[u8], f64)>> = if count < 0 {
            Box::new(it)
        } else {
            Box::new(it.take(count as usize))
        };
        for (m, s) in it {
            out.push((m.to_vec(), s));
        }
    };
    match spec.by {
        RangeBy::Rank => {
            let s = parse_i64(start).ok_or(Error::msg(NOT_INT))?;
            let e = parse_i64(stop).ok_or(Error::msg(NOT_INT))?;
            let (lo, hi) = crate::types::list::List::range_bounds(z.len(), s, e);
            if spec.rev {
                for n in z.iter().rev().skip(lo).take(hi - lo) {
                    out.push((n.member.to_vec(), n.score));
                }
            } else {
                for n in z.by_rank(lo, hi) {
                    out.push((n.member.to_vec(), n.score));
                }
            }
        }
        RangeBy::Score => {
            let (min, max) = if spec.rev {
                score_range(stop, start)?
            } else {
                score_range(start, stop)?
            };
            let v: Vec<_> = z
                .by_score(min, max)
                .map(|n| (&*n.member, n.score))
                .collect();
            if spec.rev {
                take(&mut v.into_iter().rev(), &mut out);
            } else {
                take(&mut v.into_iter(), &mut out);
            }
        }
        RangeBy::Lex => {
            let (min, max) = if spec.rev {
                lex_range(stop, start)?
            } else {
                lex_range(start, stop)?
            };
            let v: Vec<_> = z
                .by_lex(&min, &max)
                .map(|n| (&*n.member, n.score))
                .collect();
            if spec.rev {
                take(&mut v.into_iter().rev(), &mut out);
            } else {
                take(&mut v.into_iter(), &mut out);
            }
        }
    }
    Ok(out)
}

fn reply_scored(ctx: &mut Ctx, items: &[(Vec<u8>, f64)], withscores: bool) {
    if withscores && ctx.out.resp3 {
        ctx.out.array(items.len());
        for (m, s) in items {
            ctx.out.array(2);
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
    } else {
        ctx.out.array(items.len() * if withscores { 2 } else { 1 });
        for (m, s) in items {
            ctx.out.bulk(m);
            if withscores {
                ctx.out.double(*s);
            }
        }
    }
}

/// Parses the option tail of ZRANGE-like commands from `from`.
fn parse_range_opts(
    ctx: &Ctx,
    from: usize,
    mut spec: RangeSpec,
    allow_by: bool,
    allow_withscores: bool,
) -> Result<RangeSpec, Error> {
    let a = ctx.argv;
    let mut i = from;
    while i < a.len() {
        let o = &a[i];
        if allow_withscores && eq_ignore_case(o, "withscores") {
            spec.withscores = true;
        } else if eq_ignore_case(o, "limit") && i + 2 < a.len() {
            let off = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
            let cnt = parse_i64(&a[i + 2]).ok_or(Error::msg(NOT_INT))?;
            spec.limit = Some((off, cnt));
            i += 2;
        } else if allow_by && eq_ignore_case(o, "byscore") {
            spec.by = RangeBy::Score;
        } else if allow_by && eq_ignore_case(o, "bylex") {
            spec.by = RangeBy::Lex;
        } else if allow_by && eq_ignore_case(o, "rev") {
            spec.rev = true;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    if spec.limit.is_some() && spec.by == RangeBy::Rank {
        return err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
    }
    if spec.withscores && spec.by == RangeBy::Lex {
        return err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    Ok(spec)
}

fn range_generic(ctx: &mut Ctx, by: RangeBy, rev: bool, allow_by: bool) -> CmdResult {
    let a = ctx.argv;
    let spec = parse_range_opts(
        ctx,
        4,
        RangeSpec {
            by,
            rev,
            limit: None,
            withscores: false,
        },
        allow_by,
        by != RangeBy::Lex || allow_by,
    )?;
    let db = ctx.db();
    let items = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => select(z, &spec, &a[2], &a[3])?,
        None => {
            // Validate the range arguments even when the key is missing.
            select(&ZSet::default(), &spec, &a[2], &a[3])?
        }
    };
    reply_scored(ctx, &items, spec.withscores);
    Ok(())
}

pub fn zrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Rank, false, true)
}
pub fn zrevrange(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Rank, true, false)
}
pub fn zrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Score, false, false)
}
pub fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Score, true, false)
}
pub fn zrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Lex, false, false)
}
pub fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult {
    range_generic(ctx, RangeBy::Lex, true, false)
}

fn store_zset(ctx: &mut Ctx, dst: &[u8], items: Vec<(Vec<u8>, f64)>, event: &str) -> usize {
    let db = ctx.db();
    let n = items.len();
    if items.is_empty() {
        if ctx.srv.ks.delete(db, dst) {
            ctx.modified(db, dst, GENERIC, "del");
        }
        return 0;
    }
    let limits = ctx.srv.ks.limits;
    let mut z = ZSet::default();
    for (m, s) in items {
        z.insert(&m, s, &limits);
    }
    ctx.srv
        .ks
        .set_owned(db, dst, OwnedValue::Agg(Aggregate::ZSet(z)));
    ctx.modified(db, dst, ZSET, event);
    ctx.signal_ready(db, dst);
    n
}

pub fn zrangestore(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let spec = parse_range_opts(
        ctx,
        5,
        RangeSpec {
            by: RangeBy::Rank,
            rev: false,
            limit: None,
            withscores: false,
        },
        true,
        false,
    )?;
    let db = ctx.db();
    let items = match ctx.srv.ks.get_zset(db, &a[2])? {
        Some(z) => select(z, &spec, &a[3], &a[4])?,
        None => select(&ZSet::default(), &spec, &a[3], &a[4])?,
    };
    let n = store_zset(ctx, &a[1], items, "zrangestore");
    ctx.out.int(n as i64);
    Ok(())
}

fn remrange_generic(ctx: &mut Ctx, by: RangeBy) -> CmdResult {
    let a = ctx.argv;
    let db = ctx.db();
    let spec = RangeSpec {
        by,
        rev: false,
        limit: None,
        withscores: false,
    };
    let victims = match ctx.srv.ks.get_zset(db, &a[1])? {
        Some(z) => select(z, &spec, &a[2], &a[3])?,
        None => {
            select(&ZSet::default(), &spec, &a[2], &a[3])?;
            ctx.out.int(0);
            return Ok(());
        }
    };
    if let Some(z) = ctx.srv.ks.get_zset_mut(db, &a[1])? {
        for (m, _) in &victims {
            z.remove(m);
        }
    }
    if !victims.is_empty() {
        let ev = match by {
            RangeBy::Rank => "zremrangebyrank",
            RangeBy::Score => "zremrangebyscore",
            RangeBy::Lex => "zremrangebylex",
        };
        ctx.modified(db, &a[1], ZSET, ev);
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.int(victims.len() as i64);
    Ok(())
}

pub fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    remrange_generic(ctx, RangeBy::Rank)
}
pub fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    remrange_generic(ctx, RangeBy::Score)
}
pub fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    remrange_generic(ctx, RangeBy::Lex)
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// Reads a source key of ZUNION/ZINTER/ZDIFF: a zset, or a plain set with score 1.
type Scored = Vec<(Vec<u8>, f64)>;

fn source(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Scored>, Error> {
    let db = ctx.db();
    match ctx.srv.ks.kind(db, key) {
        None => Ok(None),
        Some(crate::types::Kind::ZSet) => Ok(ctx
            .srv
            .ks
            .get_zset(db, key)?
            .map(|z| z.iter().map(|n| (n.member.to_vec(), n.score)).collect())),
        Some(crate::types::Kind::Set) => Ok(ctx
            .srv
            .ks
            .get_set(db, key)?
            .map(|s| s.members().into_iter().map(|m| (m.to_vec(), 1.0)).collect())),
        Some(_) => err(super::WRONGTYPE),
    }
}

/// Shared by ZUNION[STORE]/ZINTER[STORE]/ZDIFF[STORE]: `at` is the numkeys position.
fn setop_generic(ctx: &mut Ctx, op: SetOp, at: usize, store: Option<&[u8]>) -> CmdResult {
    let a = ctx.argv;
    let name = ctx.spec.name;
    let n = parse_i64(&a[at]).ok_or(Error::msg(NOT_INT))?;
    if n < 1 {
        return Err(Error::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let n = n as usize;
    if at + 1 + n > a.len() {
        return err(SYNTAX);
    }
    let keys: Vec<&[u8]> = (at + 1..at + 1 + n).map(|i| &a[i]).collect();
    let mut weights = vec![1.0; n];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut i = at + 1 + n;
    while i < a.len() {
        if op != SetOp::Diff && eq_ignore_case(&a[i], "weights") && i + n < a.len() {
            for (j, w) in weights.iter_mut().enumerate() {
                *w = parse_f64(&a[i + 1 + j])
                    .ok_or(Error::msg("ERR weight value is not a float"))?;
            }
            i += n + 1;
        } else if op != SetOp::Diff && eq_ignore_case(&a[i], "aggregate") && i + 1 < a.len() {
            agg = match crate::util::lower(&a[i + 1]).as_str() {
                "sum" => Agg::Sum,
                "min" => Agg::Min,
                "max" => Agg::Max,
                _ => return err(SYNTAX),
            };
            i += 2;
        } else if store.is_none() && eq_ignore_case(&a[i], "withscores") {
            withscores = true;
            i += 1;
        } else {
            return err(SYNTAX);
        }
    }
    let mut sources = Vec::new();
    for k in &keys {
        sources.push(source(ctx, k)?);
    }
    let combine = |x: f64, y: f64| {
        let r = match agg {
            Agg::Sum => x + y,
            Agg::Min => x.min(y),
            Agg::Max => x.max(y),
        };
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let weighted = |s: f64, w: f64| {
        let r = s * w;
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut index: std::collections::HashMap<Vec<u8>, usize> = Default::default();
            for (src, w) in sources.iter().zip(&weights) {
                for (m, s) in src.iter().flatten() {
                    let v = weighted(*s, *w);
                    match index.get(m) {
                        Some(&p) => result[p].1 = combine(result[p].1, v),
                        None => {
                            index.insert(m.clone(), result.len());
                            result.push((m.clone(), v));
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            if sources.iter().all(|s| s.is_some()) {
                let maps: Vec<std::collections::HashMap<&Vec<u8>, f64>> = sources
                    .iter()
                    .map(|s| s.iter().flatten().map(|(m, s)| (m, *s)).collect())
                    .collect();
                let smallest = (0..n).min_by_key(|&j| maps[j].len()).unwrap_or(0);
                for (m, _) in sources[smallest].iter().flatten() {
                    let mut acc: Option<f64> = None;
                    let mut all = true;
                    for j in 0..n {
                        match maps[j].get(m) {
                            Some(s) => {
                                let v = weighted(*s, weights[j]);
                                acc = Some(match acc {
                                    None => v,
                                    Some(x) => combine(x, v),
                                });
                            }
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        result.push((m.clone(), acc.unwrap_or(0.0)));
                    }
                }
            }
        }
        SetOp::Diff => {
            if let Some(first) = &sources[0] {
                let rest: Vec<std::collections::HashSet<&Vec<u8>>> = sources[1..]
                    .iter()
                    .map(|s| s.iter().flatten().map(|(m, _)| m).collect())
                    .collect();
                for (m, s) in first {
                    if !rest.iter().any(|r| r.contains(m)) {
                        result.push((m.clone(), *s));
                    }
                }
            }
        }
    }
    result.sort_by(|x, y| {
        x.1.partial_cmp(&y.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| x.0.cmp(&y.0))
    });
    match store {
        Some(dst) => {
            let ev = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            let n = store_zset(ctx, dst, result, ev);
            ctx.out.int(n as i64);
        }
        None => reply_scored(ctx, &result, withscores),
    }
    Ok(())
}

pub fn zunionstore(ctx: &mut Ctx) -> CmdResult {
    let d = ctx.argv[1].to_vec();
    setop_generic(ctx, SetOp::Union, 2, Some(&d))
}
pub fn zinterstore(ctx: &mut Ctx) -> CmdResult {
    let d = ctx.argv[1].to_vec();
    setop_generic(ctx, SetOp::Inter, 2, Some(&d))
}
pub fn zdiffstore(ctx: &mut Ctx) -> CmdResult {
    let d = ctx.argv[1].to_vec();
    setop_generic(ctx, SetOp::Diff, 2, Some(&d))
}
pub fn zunion(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, SetOp::Union, 1, None)
}
pub fn zinter(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, SetOp::Inter, 1, None)
}
pub fn zdiff(ctx: &mut Ctx) -> CmdResult {
    setop_generic(ctx, SetOp::Diff, 1, None)
}

pub fn zintercard(ctx: &mut Ctx) -> CmdResult {
    // numkeys is checked the way of the other zset set operations, not SINTERCARD's.
    match parse_i64(&ctx.argv[1]) {
        None => return err(NOT_INT),
        Some(n) if n < 1 => {
            return err("ERR at least 1 input key is needed for 'zintercard' command")
        }
        Some(n) if n as usize > ctx.argv.len() - 2 => return err(SYNTAX),
        Some(_) => {}
    }
    let (keys, limit) = super::sets::parse_intercard(ctx)?;
    let mut sets = Vec::new();
    for k in &keys {
        sets.push(source(ctx, k)?);
    }
    let n = if sets.iter().any(|s| s.is_none()) {
        0
    } else {
        let sets: Vec<Vec<(Vec<u8>, f64)>> = sets.into_iter().flatten().collect();
        let others: Vec<std::collections::HashSet<&Vec<u8>>> = sets[1..]
            .iter()
            .map(|s| s.iter().map(|(m, _)| m).collect())
            .collect();
        let c = sets[0]
            .iter()
            .filter(|(m, _)| others.iter().all(|o| o.contains(m)))
            .count();
        if limit > 0 {
            c.min(limit)
        } else {
            c
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// Pops up to `count` lowest (or highest) members; deletes the key when empty.
pub fn pop_members(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
) -> Vec<(Box<[u8]>, f64)> {
    let mut out = Vec::new();
    if let Ok(Some(z)) = srv.ks.get_zset_mut(db, key) {
        while out.len() < count {
            match z.pop(max) {
                Some(x) => out.push(x),
                None => break,
            }
        }
    }
    if !out.is_empty() {
        modified(
            srv,
            client,
            db,
            key,
            ZSET,
            if max { "zpopmax" } else { "zpopmin" },
        );
        if srv.ks.remove_if_empty(db, key) {
            modified(srv, client, db, key, GENERIC, "del");
        }
    }
    out
}

fn zpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    let a = ctx.argv;
    if a.len() > 3 {
        return err(SYNTAX);
    }
    let count = if a.len() == 3 {
        let c = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?;
        if c < 0 {
            return err("ERR value is out of range, must be positive");
        }
        Some(c as usize)
    } else {
        None
    };
    let db = ctx.db();
    let exists = ctx.srv.ks.get_zset(db, &a[1])?.is_some();
    let items: Vec<(Vec<u8>, f64)> = if exists {
        pop_members(ctx.srv, ctx.client, db, &a[1], max, count.unwrap_or(1))
            .into_iter()
            .map(|(m, s)| (m.to_vec(), s))
            .collect()
    } else {
        Vec::new()
    };
    if count.is_none() || !ctx.out.resp3 {
        ctx.out.array(items.len() * 2);
        for (m, s) in items {
            ctx.out.bulk(&m);
            ctx.out.double(s);
        }
    } else {
        reply_scored(ctx, &items, true);
    }
    Ok(())
}

pub fn zpopmin(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, false)
}
pub fn zpopmax(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, true)
}

fn bzpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    let a = ctx.argv;
    let deadline = parse_timeout(ctx, &a[a.len() - 1])?;
    let keys = (1..a.len() - 1).map(|i| Box::<[u8]>::from(&a[i])).collect();
    block_or_serve(ctx, keys, BlockOp::ZPop { max }, deadline)
}

pub fn bzpopmin(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, false)
}
pub fn bzpopmax(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, true)
}

pub fn zmpop(ctx: &mut Ctx) -> CmdResult {
    let (keys, which, count) = parse_mpop(ctx, 1, &["min", "max"])?;
    let db = ctx.db();
    let op = BlockOp::ZMPop {
        max: which == 1,
        count,
    };
    for k in &keys {
        ctx.srv.ks.get_zset(db, k)?;
        if crate::blocking::try_serve(ctx.srv, ctx.client, db, k, &op, ctx.out) {
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

pub fn bzmpop(ctx: &mut Ctx) -> CmdResult {
    let deadline = parse_timeout(ctx, &ctx.argv[1])?;
    let (keys, which, count) = parse_mpop(ctx, 2, &["min", "max"])?;
    block_or_serve(
        ctx,
        keys,
        BlockOp::ZMPop {
            max: which == 1,
            count,
        },
        deadline,
    )
}

pub fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (count, withscores) = super::random::parse_count(a, Some("withscores"))?;
    let Some(z) = ctx.srv.ks.get_zset(db, &a[1])? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = z.len();
    let picks = super::random::positions(len, count)?;
    let items: Vec<(Vec<u8>, f64)> = picks
        .iter()
        .map(|&i| {
            let (m, s) = z.at(i);
            (m.to_vec(), s)
        })
        .collect();
    if count.is_none() {
        ctx.out.bulk(&items[0].0);
    } else {
        reply_scored(ctx, &items, withscores);
    }
    Ok(())
}

pub fn zscan(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let cursor = parse_cursor(&ctx.argv[2])?;
    let o = parse_scan_opts(ctx, 3, false)?;
    let Some(z) = ctx.srv.ks.get_zset(db, &ctx.argv[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (items, next): (Vec<(Vec<u8>, f64)>, u64) = if z.encoding() == "listpack" {
        (z.iter().map(|n| (n.member.to_vec(), n.score)).collect(), 0)
    } else {
        let (r, n) = scan_positions(z.len(), cursor, o.count);
        (
            r.rev()
                .map(|i| {
                    let (m, s) = z.at(i);
                    (m.to_vec(), s)
                })
                .collect(),
            n,
        )
    };
    let items: Vec<(Vec<u8>, f64)> = items
        .into_iter()
        .filter(|(m, _)| o.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)))
        .collect();
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len() * 2);
    for (m, s) in items {
        ctx.out.bulk(&m);
        ctx.out.bulk(resp::reply::format_double(s).as_bytes());
    }
    Ok(())
}
