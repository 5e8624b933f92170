//! The meta commands over the store (`mg`, `ms`, `md`, `ma`, `mn`, `me`).
//!
//! Replies echo the return flags in request order, as memcached 1.6 does. Supported:
//! mg b c f h k l O q s t u v T N R (with the W/X/Z win, stale and token-sent markers);
//! ms b c C E F k O q T M N; md b C E I k O q T (I marks the item stale); ma b C E N J D T M
//! O q t c v k. Accepted without its meaning: ms I (invalidate-if-older), which stores as
//! a plain ms; mg E.

use engine_memcached::stats::ThreadStats;
use engine_memcached::{
    ArithOutcome, DeleteOutcome, GetOptions, ItemView, Mode, StoreOutcome, StoreRequest,
};
use memcache_proto::meta::{base64_encode, MetaCommand, MetaKind};
use memcache_proto::number::{parse_i32, parse_u64, write_i64, write_u64};
use memcache_proto::text::{self, DataBlock};
use memcache_proto::{msg, ErrorReply};

use super::conn::{Ctx, Step};

const BAD_TOKEN: ErrorReply = ErrorReply::Client("bad token in command line format");

pub fn execute(
    ctx: &mut Ctx<'_>,
    m: &MetaCommand<'_>,
    line: usize,
    rest: &[u8],
    out: &mut Vec<u8>,
) -> Step {
    if m.kind == MetaKind::Set {
        return set(ctx, m, line, rest, out);
    }
    ThreadStats::bump(&ctx.stats.cmd_meta);
    if let Err(e) = run(ctx, m, out) {
        e.write_text(out);
    }
    Step::Consumed(line)
}

fn run(ctx: &mut Ctx<'_>, m: &MetaCommand<'_>, out: &mut Vec<u8>) -> Result<(), ErrorReply> {
    match m.kind {
        MetaKind::Noop => {
            out.extend_from_slice(b"MN\r\n");
            Ok(())
        }
        MetaKind::Get => get(ctx, m, out),
        MetaKind::Delete => delete(ctx, m, out),
        MetaKind::Arithmetic => arith(ctx, m, out),
        MetaKind::Debug => debug(ctx, m, out),
        MetaKind::Set => unreachable!("handled by set()"),
    }
}

fn ttl_token(m: &MetaCommand<'_>, flag: u8) -> Result<Option<i32>, ErrorReply> {
    m.flags
        .token(flag)
        .map(|t| parse_i32(t).ok_or(BAD_TOKEN))
        .transpose()
}

fn u64_token(m: &MetaCommand<'_>, flag: u8) -> Result<Option<u64>, ErrorReply> {
    m.flags
        .token(flag)
        .map(|t| parse_u64(t).ok_or(BAD_TOKEN))
        .transpose()
}

/// Writes ` k<key>` (with ` b` for a base64 key) and ` O<opaque>`, the flags every reply echoes.
fn echo_flag(m: &MetaCommand<'_>, flag: u8, token: &[u8], out: &mut Vec<u8>) -> bool {
    match flag {
        b'k' => {
            out.extend_from_slice(b" k");
            out.extend_from_slice(m.key);
            if m.flags.has(b'b') {
                out.extend_from_slice(b" b");
            }
            true
        }
        b'O' => {
            out.extend_from_slice(b" O");
            out.extend_from_slice(token);
            true
        }
        _ => false,
    }
}

fn echo_only(m: &MetaCommand<'_>, out: &mut Vec<u8>) {
    for (f, t) in m.flags.iter() {
        echo_flag(m, f, t, out);
    }
}

fn item_flags(ctx: &Ctx<'_>, m: &MetaCommand<'_>, v: &ItemView<'_>, out: &mut Vec<u8>) {
    let now = ctx.shared.store.clock.now();
    for (f, t) in m.flags.iter() {
        if echo_flag(m, f, t, out) {
            continue;
        }
        match f {
            b'c' => {
                out.extend_from_slice(b" c");
                write_u64(out, v.cas);
            }
            b'f' => {
                out.extend_from_slice(b" f");
                write_u64(out, u64::from(v.flags));
            }
            b'h' => out.extend_from_slice(if v.fetched_before { b" h1" } else { b" h0" }),
            b'l' => {
                out.extend_from_slice(b" l");
                write_u64(out, u64::from(now.saturating_sub(v.last_access)));
            }
            b's' => {
                out.extend_from_slice(b" s");
                write_u64(out, v.value.len() as u64);
            }
            b't' => {
                out.extend_from_slice(b" t");
                if v.exptime == 0 {
                    out.extend_from_slice(b"-1");
                } else {
                    write_i64(out, i64::from(v.exptime) - i64::from(now));
                }
            }
            _ => {}
        }
    }
}

fn get(ctx: &mut Ctx<'_>, m: &MetaCommand<'_>, out: &mut Vec<u8>) -> Result<(), ErrorReply> {
    let key = m.decoded_key()?;
    let store = &ctx.shared.store;
    let touch = ttl_token(m, b'T')?.map(|t| store.clock.realtime(i64::from(t)));
    let st = ctx.stats;
    ThreadStats::bump(&st.cmd_get);
    if touch.is_some() {
        ThreadStats::bump(&st.cmd_touch);
    }
    let with_value = m.flags.has(b'v');
    let vivify = ttl_token(m, b'N')?.map(|t| store.clock.realtime(i64::from(t)));
    let recache = ttl_token(m, b'R')?.map(|t| t.max(0) as u32);
    let opts = GetOptions {
        touch,
        no_bump: m.flags.has(b'u'),
        vivify,
        recache,
    };
    let hit = store.get(&key, opts, |v| {
        if with_value {
            out.extend_from_slice(b"VA ");
            write_u64(out, v.value.len() as u64);
        } else {
            out.extend_from_slice(b"HD");
        }
        item_flags(ctx, m, v, out);
        // Stale-while-revalidate markers, after the requested flags, in memcached's order.
        if v.token_sent_before {
            out.extend_from_slice(b" Z");
        }
        if v.stale {
            out.extend_from_slice(b" X");
        }
        if v.won {
            out.extend_from_slice(b" W");
        }
        out.extend_from_slice(b"\r\n");
        if with_value {
            out.extend_from_slice(v.value);
            out.extend_from_slice(b"\r\n");
        }
        v.vivified
    });
    if hit == Ok(false) {
        ThreadStats::bump(&st.get_hits);
        if touch.is_some() {
            ThreadStats::bump(&st.touch_hits);
        }
    } else {
        ThreadStats::bump(&st.get_misses);
        if touch.is_some() {
            ThreadStats::bump(&st.touch_misses);
        }
        // A vivified miss was answered like a hit (with "W"), even under q.
        if hit.is_err() && !m.flags.has(b'q') {
            out.extend_from_slice(b"EN");
            echo_only(m, out);
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(())
}

fn set(
    ctx: &mut Ctx<'_>,
    m: &MetaCommand<'_>,
    line: usize,
    rest: &[u8],
    out: &mut Vec<u8>,
) -> Step {
    let store = &ctx.shared.store;
    let st = ctx.stats;
    let key = match m.decoded_key() {
        Ok(k) => k,
        Err(e) => {
            e.write_text(out);
            return Step::Swallow {
                consumed: line,
                swallow: m.len + 2,
            };
        }
    };
    if store.too_large(key.len(), m.len) {
        ThreadStats::bump(&st.cmd_set);
        ThreadStats::bump(&st.store_too_large);
        ErrorReply::Server(msg::TOO_LARGE).write_text(out);
        return Step::Swallow {
            consumed: line,
            swallow: m.len + 2,
        };
    }
    let data = match text::data_block(rest, m.len) {
        DataBlock::Incomplete => return Step::NeedMoreFor(line + m.len + 2),
        DataBlock::BadChunk => {
            ErrorReply::Client(msg::BAD_CHUNK).write_text(out);
            return Step::Consumed(line + m.len + 2);
        }
        DataBlock::Data(d) => d,
    };
    ThreadStats::bump(&st.cmd_meta);
    ThreadStats::bump(&st.cmd_set);
    let parsed = (|| -> Result<StoreRequest<'_>, ErrorReply> {
        let flags = u64_token(m, b'F')?.unwrap_or(0) as u32;
        let exptime = store
            .clock
            .realtime(i64::from(ttl_token(m, b'T')?.unwrap_or(0)));
        let compare_cas = u64_token(m, b'C')?.unwrap_or(0);
        let new_cas = u64_token(m, b'E')?;
        let mode = match m.flags.token(b'M').and_then(|t| t.first()) {
            None | Some(b'S' | b's') if compare_cas != 0 => Mode::Cas,
            None | Some(b'S' | b's') => Mode::Set,
            Some(b'E' | b'e') => Mode::Add,
            Some(b'A' | b'a') => Mode::Append,
            Some(b'P' | b'p') => Mode::Prepend,
            _ => Mode::Replace,
        };
        Ok(StoreRequest {
            mode,
            key: &key,
            flags,
            exptime,
            value: data,
            compare_cas,
            new_cas,
        })
    })();
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            e.write_text(out);
            return Step::Consumed(line + m.len + 2);
        }
    };
    let mut outcome = store.store(&req);
    // N<ttl>: append/prepend to a missing item creates it.
    if outcome == StoreOutcome::NotStored && matches!(req.mode, Mode::Append | Mode::Prepend) {
        if let Ok(Some(ttl)) = ttl_token(m, b'N') {
            outcome = store.store(&StoreRequest {
                mode: Mode::Add,
                exptime: store.clock.realtime(i64::from(ttl)),
                ..req
            });
        }
    }
    let code: &[u8] = match outcome {
        StoreOutcome::Stored { .. } => b"HD",
        StoreOutcome::NotStored => b"NS",
        StoreOutcome::Exists => {
            ThreadStats::bump(&st.cas_badval);
            b"EX"
        }
        StoreOutcome::NotFound => {
            ThreadStats::bump(&st.cas_misses);
            b"NF"
        }
        StoreOutcome::TooLarge => {
            ErrorReply::Server(msg::TOO_LARGE).write_text(out);
            return Step::Consumed(line + m.len + 2);
        }
        StoreOutcome::NoMemory => {
            ErrorReply::Server(msg::OUT_OF_MEMORY).write_text(out);
            return Step::Consumed(line + m.len + 2);
        }
    };
    if code == b"HD" && m.flags.has(b'q') {
        return Step::Consumed(line + m.len + 2);
    }
    out.extend_from_slice(code);
    for (f, t) in m.flags.iter() {
        if echo_flag(m, f, t, out) {
            continue;
        }
        if f == b'c' {
            if let StoreOutcome::Stored { cas } = outcome {
                out.extend_from_slice(b" c");
                write_u64(out, cas);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    Step::Consumed(line + m.len + 2)
}

fn delete(ctx: &mut Ctx<'_>, m: &MetaCommand<'_>, out: &mut Vec<u8>) -> Result<(), ErrorReply> {
    let key = m.decoded_key()?;
    let compare = u64_token(m, b'C')?.unwrap_or(0);
    let st = ctx.stats;
    let outcome = if m.flags.has(b'I') {
        let store = &ctx.shared.store;
        let ttl = ttl_token(m, b'T')?.map(|t| store.clock.realtime(i64::from(t)));
        store.invalidate(&key, compare, ttl)
    } else {
        ctx.shared.store.delete(&key, compare)
    };
    let code: &[u8] = match outcome {
        DeleteOutcome::Deleted => {
            ThreadStats::bump(&st.delete_hits);
            if m.flags.has(b'q') {
                return Ok(());
            }
            b"HD"
        }
        DeleteOutcome::NotFound => {
            ThreadStats::bump(&st.delete_misses);
            b"NF"
        }
        DeleteOutcome::Exists => b"EX",
    };
    out.extend_from_slice(code);
    echo_only(m, out);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn arith(ctx: &mut Ctx<'_>, m: &MetaCommand<'_>, out: &mut Vec<u8>) -> Result<(), ErrorReply> {
    let key = m.decoded_key()?;
    let store = &ctx.shared.store;
    let st = ctx.stats;
    let delta = u64_token(m, b'D')?.unwrap_or(1);
    let initial = u64_token(m, b'J')?.unwrap_or(0);
    let compare = u64_token(m, b'C')?.unwrap_or(0);
    let create = ttl_token(m, b'N')?.map(|t| (initial, store.clock.realtime(i64::from(t))));
    let incr = match m.flags.token(b'M').and_then(|t| t.first()) {
        None | Some(b'I' | b'i' | b'+') => true,
        Some(b'D' | b'd' | b'-') => false,
        _ => return Err(ErrorReply::Client("invalid mode for ma M token")),
    };
    let (hits, misses) = if incr {
        (&st.incr_hits, &st.incr_misses)
    } else {
        (&st.decr_hits, &st.decr_misses)
    };
    match store.arith(&key, incr, delta, create, compare) {
        ArithOutcome::Value { value, .. } => {
            ThreadStats::bump(hits);
            if let Some(ttl) = ttl_token(m, b'T')? {
                store.touch(&key, store.clock.realtime(i64::from(ttl)));
            }
            let with_value = m.flags.has(b'v');
            if !with_value && m.flags.has(b'q') {
                return Ok(());
            }
            let mut digits = Vec::new();
            write_u64(&mut digits, value);
            if with_value {
                out.extend_from_slice(b"VA ");
                write_u64(out, digits.len() as u64);
            } else {
                out.extend_from_slice(b"HD");
            }
            let view = store.get(
                &key,
                GetOptions {
                    touch: None,
                    no_bump: true,
                    ..GetOptions::default()
                },
                |v| {
                    let mut flags = Vec::new();
                    for (f, t) in m.flags.iter() {
                        if echo_flag(m, f, t, &mut flags) {
                            continue;
                        }
                        match f {
                            b'c' => {
                                flags.extend_from_slice(b" c");
                                write_u64(&mut flags, v.cas);
                            }
                            b't' => {
                                flags.extend_from_slice(b" t");
                                if v.exptime == 0 {
                                    flags.extend_from_slice(b"-1");
                                } else {
                                    write_i64(
                                        &mut flags,
                                        i64::from(v.exptime) - i64::from(store.clock.now()),
                                    );
                                }
                            }
                            _ => {}
                        }
                    }
                    flags
                },
            );
            out.extend_from_slice(&view.unwrap_or_default());
            out.extend_from_slice(b"\r\n");
            if with_value {
                out.extend_from_slice(&digits);
                out.extend_from_slice(b"\r\n");
            }
        }
        ArithOutcome::NotFound => {
            ThreadStats::bump(misses);
            out.extend_from_slice(b"NF");
            echo_only(m, out);
            out.extend_from_slice(b"\r\n");
        }
        ArithOutcome::NonNumeric => ErrorReply::Client(msg::NON_NUMERIC).write_text(out),
        ArithOutcome::Exists => {
            out.extend_from_slice(b"EX");
            echo_only(m, out);
            out.extend_from_slice(b"\r\n");
        }
        ArithOutcome::NoMemory => ErrorReply::Server(msg::OUT_OF_MEMORY).write_text(out),
    }
    Ok(())
}

/// `me <key>`: memcached's debug line.
fn debug(ctx: &mut Ctx<'_>, m: &MetaCommand<'_>, out: &mut Vec<u8>) -> Result<(), ErrorReply> {
    let key = m.decoded_key()?;
    let store = &ctx.shared.store;
    let now = store.clock.now();
    let cas = store.cas_enabled();
    let sizes = store.slab_sizes();
    let found = store.get(
        &key,
        GetOptions {
            touch: None,
            no_bump: true,
            ..GetOptions::default()
        },
        |v| {
            let total =
                engine_memcached::slabs::memcached_item_total(v.key.len(), v.value.len(), cas);
            out.extend_from_slice(b"ME ");
            if m.flags.has(b'b') {
                base64_encode(v.key, out);
            } else {
                out.extend_from_slice(v.key);
            }
            let exp = if v.exptime == 0 {
                -1
            } else {
                i64::from(v.exptime) - i64::from(now)
            };
            let line = format!(
                " exp={exp} la={} cas={} fetch={} cls={} size={}\r\n",
                now.saturating_sub(v.last_access),
                v.cas,
                if v.fetched_before { "yes" } else { "no" },
                engine_memcached::slabs::class_of(sizes, total),
                total
            );
            out.extend_from_slice(line.as_bytes());
        },
    );
    if found.is_err() {
        out.extend_from_slice(b"EN\r\n");
    }
    Ok(())
}
