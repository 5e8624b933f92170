//! SORT and SORT_RO (redis's sort.c): numeric or ALPHA ordering of a list, set or zset, with
//! BY and GET patterns (`*` substitution, `->field` for hashes), LIMIT and STORE.

use super::{err, CmdResult, Ctx, Error, NOT_INT, SYNTAX};
use crate::client::ClientKind;
use crate::db::OwnedValue;
use crate::notify::{GENERIC, LIST};
use crate::types::list::End;
use crate::types::{Aggregate, List};
use crate::util::{eq_ignore_case, parse_f64, parse_i64};

/// Looks up a BY/GET pattern for one element: `#` is the element itself.
fn lookup_pattern(ctx: &mut Ctx, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let (field_sep, field) = match pattern.windows(2).rposition(|w| w == b"->") {
        Some(p) if p > star && p + 2 < pattern.len() => (p, Some(&pattern[p + 2..])),
        _ => (pattern.len(), None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(elem);
    key.extend_from_slice(&pattern[star + 1..field_sep]);
    let db = ctx.db();
    match field {
        Some(f) => ctx
            .srv
            .ks
            .get_hash(db, &key)
            .ok()
            .flatten()
            .and_then(|h| h.get(f).map(|v| v.to_vec())),
        None => ctx
            .srv
            .ks
            .get_str(db, &key)
            .ok()
            .flatten()
            .map(|v| v.to_vec()),
    }
}

fn sort_generic(ctx: &mut Ctx, readonly: bool) -> CmdResult {
    let a = ctx.argv;
    let (mut desc, mut alpha) = (false, false);
    let mut limit: Option<(i64, i64)> = None;
    let mut by: Option<Vec<u8>> = None;
    let mut gets: Vec<Vec<u8>> = Vec::new();
    let mut store: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        let left = a.len() - i - 1;
        if eq_ignore_case(o, "asc") {
            desc = false;
        } else if eq_ignore_case(o, "desc") {
            desc = true;
        } else if eq_ignore_case(o, "alpha") {
            alpha = true;
        } else if eq_ignore_case(o, "limit") && left >= 2 {
            let off = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
            let cnt = parse_i64(&a[i + 2]).ok_or(Error::msg(NOT_INT))?;
            limit = Some((off, cnt));
            i += 2;
        } else if eq_ignore_case(o, "store") && left >= 1 && !readonly {
            store = Some(a[i + 1].to_vec());
            i += 1;
        } else if eq_ignore_case(o, "by") && left >= 1 {
            by = Some(a[i + 1].to_vec());
            i += 1;
        } else if eq_ignore_case(o, "get") && left >= 1 {
            gets.push(a[i + 1].to_vec());
            i += 1;
        } else {
            return err(SYNTAX);
        }
        i += 1;
    }
    let db = ctx.db();
    let key = &a[1];
    let (mut elems, is_set) = match ctx.srv.ks.peek(db, key) {
        None => (Vec::new(), false),
        Some(idx) => match ctx.srv.ks.slot(db, idx).agg() {
            Some(Aggregate::List(l)) => (l.iter().map(|v| v.to_vec()).collect(), false),
            Some(Aggregate::Set(s)) => {
                (s.members().into_iter().map(|v| v.to_vec()).collect(), true)
            }
            Some(Aggregate::ZSet(z)) => (z.iter().map(|n| n.member.to_vec()).collect(), false),
            _ => return err(super::WRONGTYPE),
        },
    };
    let mut dontsort = by.as_ref().is_some_and(|b| !b.contains(&b'*'));
    if dontsort && is_set && (store.is_some() || ctx.client.kind == ClientKind::Fake) {
        // A set has no order of its own: what is stored, or returned to a script, must be
        // the same on replicas and in the AOF, so it is sorted (ALPHA, by the members).
        (dontsort, alpha, by) = (false, true, None);
    }
    if dontsort {
        // Lists and sorted sets keep their own order, reversed by DESC; sets stay as they are.
        if desc && !is_set {
            elems.reverse();
        }
    } else {
        let mut keyed: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(elems.len());
        for e in elems {
            let k = match &by {
                Some(p) => lookup_pattern(ctx, p, &e),
                None => Some(e.clone()),
            };
            keyed.push((e, k));
        }
        if alpha {
            keyed.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
        } else {
            let mut scored = Vec::with_capacity(keyed.len());
            for (e, k) in keyed {
                let s = match k {
                    Some(v) => parse_f64(&v).ok_or(Error::msg(
                        "ERR One or more scores can't be converted into double",
                    ))?,
                    None => 0.0,
                };
                scored.push((e, s));
            }
            scored.sort_by(|x, y| {
                x.1.partial_cmp(&y.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| x.0.cmp(&y.0))
            });
            keyed = scored.into_iter().map(|(e, _)| (e, None)).collect();
        }
        elems = keyed.into_iter().map(|(e, _)| e).collect();
        if desc {
            elems.reverse();
        }
    }
    if let Some((off, cnt)) = limit {
        let len = elems.len() as i64;
        let start = off.clamp(0, len) as usize;
        let count = if cnt < 0 { len } else { cnt };
        let end = (start as i64 + count).min(len).max(start as i64) as usize;
        elems = elems[start..end].to_vec();
    }
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    if gets.is_empty() {
        out = elems.into_iter().map(Some).collect();
    } else {
        for e in &elems {
            for g in &gets {
                out.push(lookup_pattern(ctx, g, e));
            }
        }
    }
    match store {
        Some(dst) => {
            let n = out.len();
            if out.is_empty() {
                if ctx.srv.ks.delete(db, &dst) {
                    ctx.modified(db, &dst, GENERIC, "del");
                }
            } else {
                let mut l = List::default();
                for v in out {
                    l.push(End::Tail, &v.unwrap_or_default());
                }
                ctx.srv
                    .ks
                    .set_owned(db, &dst, OwnedValue::Agg(Aggregate::List(l)));
                ctx.modified(db, &dst, LIST, "sortstore");
                ctx.signal_ready(db, &dst);
            }
            ctx.out.int(n as i64);
        }
        None => {
            ctx.out.array(out.len());
            for v in out {
                match v {
                    Some(v) => ctx.out.bulk(&v),
                    None => ctx.out.null(),
                }
            }
        }
    }
    Ok(())
}

pub fn sort(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, false)
}

pub fn sort_ro(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, true)
}
