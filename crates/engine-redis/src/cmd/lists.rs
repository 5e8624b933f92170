//! List commands (redis's t_list.c), including the blocking ones.

use super::{
    err, modified, CmdResult, Ctx, Error, NEGATIVE_TIMEOUT, NOT_INT, NO_KEY, OUT_OF_RANGE, SYNTAX,
    TIMEOUT_NOT_FLOAT,
};
use crate::blocking::{BlockOp, Blocked};
use crate::client::Client;
use crate::notify::{GENERIC, LIST};
use crate::server::Server;
use crate::types::list::{End, List};
use crate::util::{eq_ignore_case, parse_f64, parse_i64};

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_generic(ctx: &mut Ctx, end: End, only_existing: bool) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let key = &a[1];
    if only_existing && ctx.srv.ks.get_list_mut(db, key)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let list = ctx.srv.ks.list_or_create(db, key)?;
    for v in a.iter().skip(2) {
        list.push(end, v);
    }
    let len = list.len();
    ctx.modified(db, key, LIST, push_event(end));
    ctx.signal_ready(db, key);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn lpush(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, End::Head, false)
}
pub fn rpush(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, End::Tail, false)
}
pub fn lpushx(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, End::Head, true)
}
pub fn rpushx(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, End::Tail, true)
}

/// Pops up to `count` values (the key must hold a non-empty list); deletes the key when empty.
pub fn pop_values(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    key: &[u8],
    end: End,
    count: usize,
) -> Vec<Box<[u8]>> {
    let mut out = Vec::new();
    if let Ok(Some(l)) = srv.ks.get_list_mut(db, key) {
        while out.len() < count {
            match l.pop(end) {
                Some(v) => out.push(v),
                None => break,
            }
        }
    }
    if !out.is_empty() {
        modified(srv, client, db, key, LIST, pop_event(end));
        if srv.ks.remove_if_empty(db, key) {
            modified(srv, client, db, key, GENERIC, "del");
        }
    }
    out
}

fn parse_count(ctx: &Ctx, i: usize) -> Result<usize, Error> {
    let n =
        parse_i64(&ctx.argv[i]).ok_or(Error::msg("ERR value is out of range, must be positive"))?;
    if n < 0 {
        return err("ERR value is out of range, must be positive");
    }
    Ok(n as usize)
}

fn pop_generic(ctx: &mut Ctx, end: End) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    if a.len() > 3 {
        return Err(Error::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.spec.name
        )));
    }
    let count = if a.len() == 3 {
        Some(parse_count(ctx, 2)?)
    } else {
        None
    };
    let key = &a[1];
    let exists = ctx.srv.ks.get_list_mut(db, key)?.is_some();
    if !exists {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    match count {
        None => {
            let v = pop_values(ctx.srv, ctx.client, db, key, end, 1);
            ctx.out.bulk(&v[0]);
        }
        Some(n) => {
            let v = pop_values(ctx.srv, ctx.client, db, key, end, n);
            ctx.out.array(v.len());
            for x in v {
                ctx.out.bulk(&x);
            }
        }
    }
    Ok(())
}

pub fn lpop(ctx: &mut Ctx) -> CmdResult {
    pop_generic(ctx, End::Head)
}
pub fn rpop(ctx: &mut Ctx) -> CmdResult {
    pop_generic(ctx, End::Tail)
}

pub fn llen(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let n = ctx.srv.ks.get_list(db, &ctx.argv[1])?.map_or(0, List::len);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn lindex(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let idx = ctx.int_arg(2)?;
    let v = ctx
        .srv
        .ks
        .get_list(db, &ctx.argv[1])?
        .and_then(|l| l.resolve(idx).and_then(|i| l.get(i)).map(|v| v.to_vec()));
    match v {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn lset(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let idx = ctx.int_arg(2)?;
    let l = ctx
        .srv
        .ks
        .get_list_mut(db, &a[1])?
        .ok_or(Error::msg(NO_KEY))?;
    let i = l.resolve(idx).ok_or(Error::msg(OUT_OF_RANGE))?;
    l.set(i, &a[3]);
    ctx.modified(db, &a[1], LIST, "lset");
    ctx.out.ok();
    Ok(())
}

pub fn lrange(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let (s, e) = (ctx.int_arg(2)?, ctx.int_arg(3)?);
    let Some(l) = ctx.srv.ks.get_list(db, &ctx.argv[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (start, end) = List::range_bounds(l.len(), s, e);
    let items: Vec<Vec<u8>> = l.range(start, end).map(|v| v.to_vec()).collect();
    ctx.out.array(items.len());
    for v in items {
        ctx.out.bulk(&v);
    }
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let (s, e) = (ctx.int_arg(2)?, ctx.int_arg(3)?);
    if let Some(l) = ctx.srv.ks.get_list_mut(db, &a[1])? {
        let (start, end) = List::range_bounds(l.len(), s, e);
        l.trim(start, end);
        ctx.modified(db, &a[1], LIST, "ltrim");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.ok();
    Ok(())
}

pub fn lrem(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let count = ctx.int_arg(2)?;
    let n = match ctx.srv.ks.get_list_mut(db, &a[1])? {
        Some(l) => l.remove_matching(&a[3], count),
        None => 0,
    };
    if n > 0 {
        ctx.modified(db, &a[1], LIST, "lrem");
        if ctx.srv.ks.remove_if_empty(db, &a[1]) {
            ctx.modified(db, &a[1], GENERIC, "del");
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn linsert(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let after = if eq_ignore_case(&a[2], "after") {
        true
    } else if eq_ignore_case(&a[2], "before") {
        false
    } else {
        return err(SYNTAX);
    };
    let Some(l) = ctx.srv.ks.get_list_mut(db, &a[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    match l.position(&a[3]) {
        None => ctx.out.int(-1),
        Some(p) => {
            l.insert(if after { p + 1 } else { p }, &a[4]);
            let n = l.len();
            ctx.modified(db, &a[1], LIST, "linsert");
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

pub fn lpos(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < a.len() {
        if i + 1 >= a.len() {
            return err(SYNTAX);
        }
        let v = parse_i64(&a[i + 1]).ok_or(Error::msg(NOT_INT))?;
        if eq_ignore_case(&a[i], "rank") {
            if v == 0 || v == i64::MIN {
                return err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            rank = v;
        } else if eq_ignore_case(&a[i], "count") {
            if v < 0 {
                return err("ERR COUNT can't be negative");
            }
            count = Some(v as usize);
        } else if eq_ignore_case(&a[i], "maxlen") {
            if v < 0 {
                return err("ERR MAXLEN can't be negative");
            }
            maxlen = v as usize;
        } else {
            return err(SYNTAX);
        }
        i += 2;
    }
    let elem = &a[2];
    let mut found = Vec::new();
    if let Some(l) = ctx.srv.ks.get_list(db, &a[1])? {
        let want = match count {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => 1,
        };
        let mut skip = rank.unsigned_abs() as usize - 1;
        let len = l.len();
        let idxs: Box<dyn Iterator<Item = usize>> = if rank > 0 {
            Box::new(0..len)
        } else {
            Box::new((0..len).rev())
        };
        for (checked, idx) in idxs.enumerate() {
            if maxlen > 0 && checked >= maxlen {
                break;
            }
            if l.get(idx) == Some(elem) {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                found.push(idx);
                if found.len() >= want {
                    break;
                }
            }
        }
    }
    match count {
        Some(_) => {
            ctx.out.array(found.len());
            for f in found {
                ctx.out.int(f as i64);
            }
        }
        None => match found.first() {
            Some(f) => ctx.out.int(*f as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

/// Moves one element from `src` to `dst` (LMOVE); `Ok(None)` if `src` is empty.
pub fn move_one(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, Error> {
    if srv.ks.get_list(db, src)?.is_none() {
        return Ok(None);
    }
    srv.ks.get_list(db, dst)?;
    let v = pop_values(srv, client, db, src, from, 1);
    let Some(v) = v.into_iter().next() else {
        return Ok(None);
    };
    let l = srv.ks.list_or_create(db, dst)?;
    l.push(to, &v);
    modified(srv, client, db, dst, LIST, push_event(to));
    srv.blocking.signal(db, dst);
    Ok(Some(v.to_vec()))
}

fn lmove_generic(ctx: &mut Ctx, from: End, to: End) -> CmdResult {
    let db = ctx.db();
    let a = ctx.argv;
    match move_one(ctx.srv, ctx.client, db, &a[1], &a[2], from, to)? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn rpoplpush(ctx: &mut Ctx) -> CmdResult {
    lmove_generic(ctx, End::Tail, End::Head)
}

fn parse_end(arg: &[u8]) -> Result<End, Error> {
    End::parse(arg).ok_or(Error::msg(SYNTAX))
}

pub fn lmove(ctx: &mut Ctx) -> CmdResult {
    let (from, to) = (parse_end(&ctx.argv[3])?, parse_end(&ctx.argv[4])?);
    lmove_generic(ctx, from, to)
}

/// Parses a blocking timeout (seconds, may be fractional) into an absolute deadline.
pub fn parse_timeout(ctx: &Ctx, arg: &[u8]) -> Result<Option<i64>, Error> {
    let t = parse_f64(arg).ok_or(Error::msg(TIMEOUT_NOT_FLOAT))?;
    if t < 0.0 {
        return err(NEGATIVE_TIMEOUT);
    }
    if !t.is_finite() || t * 1000.0 > (i64::MAX / 2) as f64 {
        return err(TIMEOUT_NOT_FLOAT);
    }
    let ms = (t * 1000.0).ceil() as i64;
    Ok(if ms == 0 {
        None
    } else {
        Some(ctx.srv.ks.now + ms)
    })
}

/// Runs a blocking command: serve from the first key with data, otherwise block (or, inside
/// MULTI/scripts, reply as if the timeout had expired).
pub fn block_or_serve(
    ctx: &mut Ctx,
    keys: Vec<Box<[u8]>>,
    op: BlockOp,
    deadline: Option<i64>,
) -> CmdResult {
    let db = ctx.db();
    for k in &keys {
        // Type errors are reported for the first key that has the wrong type.
        match op {
            BlockOp::ZPop { .. } | BlockOp::ZMPop { .. } => {
                ctx.srv.ks.get_zset(db, k)?;
            }
            _ => {
                ctx.srv.ks.get_list(db, k)?;
            }
        }
        if crate::blocking::try_serve(ctx.srv, ctx.client, db, k, &op, ctx.out) {
            return Ok(());
        }
    }
    if ctx.srv.call_depth > 0 || ctx.client.multi.is_some() {
        op.timeout_reply(ctx.out);
        return Ok(());
    }
    let b = Blocked {
        db,
        keys,
        op,
        deadline,
    };
    ctx.srv.blocking.block(ctx.client, b);
    Ok(())
}

fn bpop_generic(ctx: &mut Ctx, end: End) -> CmdResult {
    let a = ctx.argv;
    let deadline = parse_timeout(ctx, &a[a.len() - 1])?;
    let keys = (1..a.len() - 1).map(|i| Box::<[u8]>::from(&a[i])).collect();
    block_or_serve(ctx, keys, BlockOp::ListPop { end }, deadline)
}

pub fn blpop(ctx: &mut Ctx) -> CmdResult {
    bpop_generic(ctx, End::Head)
}
pub fn brpop(ctx: &mut Ctx) -> CmdResult {
    bpop_generic(ctx, End::Tail)
}

pub fn brpoplpush(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let deadline = parse_timeout(ctx, &a[3])?;
    let op = BlockOp::ListMove {
        dest: a[2].to_vec(),
        from: End::Tail,
        to: End::Head,
    };
    block_or_serve(ctx, vec![a[1].into()], op, deadline)
}

pub fn blmove(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let (from, to) = (parse_end(&a[3])?, parse_end(&a[4])?);
    let deadline = parse_timeout(ctx, &a[5])?;
    let op = BlockOp::ListMove {
        dest: a[2].to_vec(),
        from,
        to,
    };
    block_or_serve(ctx, vec![a[1].into()], op, deadline)
}

/// Parses `numkeys key... <where> [COUNT n]` of LMPOP/ZMPOP and friends, starting at `at`.
/// Keys, index of the chosen end word, count.
pub type MPopArgs = (Vec<Box<[u8]>>, usize, usize);

pub fn parse_mpop(ctx: &Ctx, at: usize, ends: &[&str]) -> Result<MPopArgs, Error> {
    let a = ctx.argv;
    let n = parse_i64(&a[at]).ok_or(Error::msg("ERR numkeys should be greater than 0"))?;
    if n <= 0 {
        return err("ERR numkeys should be greater than 0");
    }
    let n = n as usize;
    if n > a.len() - at - 1 {
        return err(SYNTAX);
    }
    let keys = (at + 1..at + 1 + n)
        .map(|i| Box::<[u8]>::from(&a[i]))
        .collect();
    let wi = at + 1 + n;
    let Some(w) = a.get(wi) else {
        return err(SYNTAX);
    };
    let which = ends
        .iter()
        .position(|e| eq_ignore_case(w, e))
        .ok_or(Error::msg(SYNTAX))?;
    let mut count = 1;
    let mut i = wi + 1;
    let mut seen = false;
    while i < a.len() {
        if eq_ignore_case(&a[i], "count") && i + 1 < a.len() && !seen {
            let c = parse_i64(&a[i + 1]).ok_or(Error::msg("ERR count should be greater than 0"))?;
            if c <= 0 {
                return err("ERR count should be greater than 0");
            }
            count = c as usize;
            seen = true;
            i += 2;
        } else {
            return err(SYNTAX);
        }
    }
    Ok((keys, which, count))
}

pub fn lmpop(ctx: &mut Ctx) -> CmdResult {
    let (keys, which, count) = parse_mpop(ctx, 1, &["left", "right"])?;
    let end = if which == 0 { End::Head } else { End::Tail };
    let db = ctx.db();
    let op = BlockOp::ListMPop { end, count };
    for k in &keys {
        ctx.srv.ks.get_list(db, k)?;
        if crate::blocking::try_serve(ctx.srv, ctx.client, db, k, &op, ctx.out) {
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

pub fn blmpop(ctx: &mut Ctx) -> CmdResult {
    let deadline = parse_timeout(ctx, &ctx.argv[1])?;
    let (keys, which, count) = parse_mpop(ctx, 2, &["left", "right"])?;
    let end = if which == 0 { End::Head } else { End::Tail };
    block_or_serve(ctx, keys, BlockOp::ListMPop { end, count }, deadline)
}
