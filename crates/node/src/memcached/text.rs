//! The text protocol over the store: classic commands and `config`.

use std::sync::atomic::Ordering::Relaxed;

use engine_memcached::stats::ThreadStats;
use engine_memcached::{
    ArithOutcome, DeleteOutcome, GetOptions, Miss, Mode, StoreOutcome, StoreRequest,
};
use memcache_proto::cluster::ClusterConfig;
use memcache_proto::number::write_u64;
use memcache_proto::text::{self, Command, DataBlock, Store, StoreMode};
use memcache_proto::{msg, ErrorReply, ParseError};

use super::conn::{Ctx, Step};
use super::{meta, stats};

/// Handles the request at the start of `buf`.
pub fn handle(ctx: &mut Ctx<'_>, buf: &[u8], out: &mut Vec<u8>) -> Step {
    match text::parse(buf) {
        Err(ParseError::Incomplete) => Step::NeedMore,
        Err(ParseError::Fatal(_)) => Step::Close,
        Err(ParseError::Invalid { consumed, reply }) => {
            reply.write_text(out);
            Step::Consumed(consumed)
        }
        Ok((cmd, line)) => execute(ctx, cmd, line, &buf[line..], out),
    }
}

fn execute(
    ctx: &mut Ctx<'_>,
    cmd: Command<'_>,
    line: usize,
    rest: &[u8],
    out: &mut Vec<u8>,
) -> Step {
    let store = &ctx.shared.store;
    let st = ctx.stats;
    match cmd {
        Command::Store(s) => return storage(ctx, &s, line, rest, out),
        Command::Get { keys, with_cas } => {
            prefetch_many(ctx, &keys);
            for key in keys.iter() {
                get_one(ctx, key, with_cas, None, out);
            }
            out.extend_from_slice(b"END\r\n");
        }
        Command::Gat {
            exptime,
            keys,
            with_cas,
        } => {
            let exp = store.clock.realtime(i64::from(exptime));
            prefetch_many(ctx, &keys);
            for key in keys.iter() {
                get_one(ctx, key, with_cas, Some(exp), out);
            }
            out.extend_from_slice(b"END\r\n");
        }
        Command::Touch {
            key,
            exptime,
            noreply,
        } => {
            ThreadStats::bump(&st.cmd_touch);
            let hit = store.touch(key, store.clock.realtime(i64::from(exptime)));
            ThreadStats::bump(if hit {
                &st.touch_hits
            } else {
                &st.touch_misses
            });
            reply(out, noreply, if hit { "TOUCHED" } else { "NOT_FOUND" });
        }
        Command::Arith {
            key,
            delta,
            incr,
            noreply,
        } => {
            let (hits, misses) = if incr {
                (&st.incr_hits, &st.incr_misses)
            } else {
                (&st.decr_hits, &st.decr_misses)
            };
            match store.arith(key, incr, delta, None, 0) {
                ArithOutcome::Value { value, .. } => {
                    ThreadStats::bump(hits);
                    if !noreply {
                        write_u64(out, value);
                        out.extend_from_slice(b"\r\n");
                    }
                }
                ArithOutcome::NotFound => {
                    ThreadStats::bump(misses);
                    reply(out, noreply, "NOT_FOUND");
                }
                ArithOutcome::NonNumeric => {
                    error(out, noreply, ErrorReply::Client(msg::NON_NUMERIC))
                }
                ArithOutcome::NoMemory => {
                    error(out, noreply, ErrorReply::Server(msg::OUT_OF_MEMORY))
                }
                ArithOutcome::Exists => reply(out, noreply, "EXISTS"),
            }
        }
        Command::Delete { key, noreply } => match store.delete(key, 0) {
            DeleteOutcome::Deleted => {
                ThreadStats::bump(&st.delete_hits);
                reply(out, noreply, "DELETED");
            }
            _ => {
                ThreadStats::bump(&st.delete_misses);
                reply(out, noreply, "NOT_FOUND");
            }
        },
        Command::FlushAll { delay, noreply } => {
            ThreadStats::bump(&st.cmd_flush);
            store.flush_all(i64::from(delay));
            reply(out, noreply, "OK");
        }
        Command::Version => {
            out.extend_from_slice(b"VERSION ");
            out.extend_from_slice(stats::VERSION.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Command::Verbosity { level, noreply } => {
            ctx.shared
                .verbosity
                .store(level.min(u64::from(u32::MAX)) as u32, Relaxed);
            reply(out, noreply, "OK")
        }
        Command::Quit => return Step::Close,
        Command::Stats(group) => {
            if !stats::write(ctx.shared, group, out) {
                out.extend_from_slice(b"ERROR\r\n");
            }
        }
        Command::SlabsReassign { src, dst } => {
            let settings = store.settings();
            let classes = store.slab_sizes().len() as i32;
            let answer = if !settings.slab_reassign {
                "CLIENT_ERROR slab reassignment disabled"
            } else if src == dst {
                "SAME src and dst class are identical"
            } else if !(src == -1 || (1..=classes).contains(&src)) || !(1..=classes).contains(&dst)
            {
                "BADCLASS invalid src or dst class id"
            } else {
                // Items are not kept in slab pages: there is never a page to move, and memory
                // freed by one size already serves every other.
                "NOSPARE source class has no spare pages"
            };
            line_out(out, answer);
        }
        Command::SlabsAutomove { level } => {
            let _ = store.set_param("slab_automove", &level.to_string());
            line_out(out, "OK");
        }
        Command::CacheMemlimit { megabytes, noreply } => {
            if megabytes < 8 {
                line_out(
                    out,
                    "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m",
                );
            } else {
                store.set_memory_limit_mb(megabytes);
                reply(out, noreply, "OK");
            }
        }
        Command::ConfigGet { key } => {
            ThreadStats::bump(&st.cmd_config_get);
            match (key, store.cluster_config()) {
                (b"cluster", Some(config)) => config.write_text_reply(key, out),
                (b"cluster", None) => out.extend_from_slice(b"END\r\n"),
                _ => out.extend_from_slice(b"ERROR\r\n"),
            }
        }
        Command::ConfigSet { key, len } => return config_set(ctx, key, len, line, rest, out),
        Command::ConfigSetParam { name, value } => {
            if !ctx.admin {
                out.extend_from_slice(b"ERROR\r\n");
            } else {
                let (name, value) = (
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value),
                );
                match store.set_param(&name, &value) {
                    Ok(()) => line_out(out, "OK"),
                    Err(e) => line_out(out, &format!("CLIENT_ERROR {e}")),
                }
            }
        }
        Command::Meta(m) => return meta::execute(ctx, &m, line, rest, out),
        Command::Refused { reply, swallow } => {
            reply.write_text(out);
            return Step::Swallow {
                consumed: line,
                swallow,
            };
        }
    }
    Step::Consumed(line)
}

fn line_out(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn reply(out: &mut Vec<u8>, noreply: bool, s: &str) {
    if !noreply {
        line_out(out, s);
    }
}

fn error(out: &mut Vec<u8>, noreply: bool, e: ErrorReply) {
    if !noreply {
        e.write_text(out);
    }
}

/// One key of get/gets/gat/gats.
/// Multi-key gets: overlap the keys' memory loads before reading them one by one.
fn prefetch_many(ctx: &Ctx<'_>, keys: &text::Keys<'_>) {
    if keys.iter().nth(1).is_some() {
        ctx.shared.store.prefetch(keys.iter());
    }
}

fn get_one(ctx: &mut Ctx<'_>, key: &[u8], with_cas: bool, touch: Option<u32>, out: &mut Vec<u8>) {
    let st = ctx.stats;
    if touch.is_some() {
        ThreadStats::bump(&st.cmd_touch);
    }
    ThreadStats::bump(&st.cmd_get);
    let r = ctx.shared.store.get(
        key,
        GetOptions {
            touch,
            no_bump: false,
            ..GetOptions::default()
        },
        |v| {
            out.extend_from_slice(b"VALUE ");
            out.extend_from_slice(v.key);
            out.push(b' ');
            write_u64(out, u64::from(v.flags));
            out.push(b' ');
            write_u64(out, v.value.len() as u64);
            if with_cas {
                out.push(b' ');
                write_u64(out, v.cas);
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(v.value);
            out.extend_from_slice(b"\r\n");
        },
    );
    match r {
        Ok(()) => {
            ThreadStats::bump(&st.get_hits);
            if touch.is_some() {
                ThreadStats::bump(&st.touch_hits);
            }
        }
        Err(why) => {
            ThreadStats::bump(&st.get_misses);
            if touch.is_some() {
                ThreadStats::bump(&st.touch_misses);
            }
            match why {
                Miss::Expired => ThreadStats::bump(&st.get_expired),
                Miss::Flushed => ThreadStats::bump(&st.get_flushed),
                Miss::Missing => {}
            }
        }
    }
}

fn mode_of(m: StoreMode) -> Mode {
    match m {
        StoreMode::Set => Mode::Set,
        StoreMode::Add => Mode::Add,
        StoreMode::Replace => Mode::Replace,
        StoreMode::Append => Mode::Append,
        StoreMode::Prepend => Mode::Prepend,
        StoreMode::Cas => Mode::Cas,
    }
}

/// A storage command: refuse oversized values at once (swallowing their bytes), else wait
/// for the whole data block and store it.
fn storage(ctx: &mut Ctx<'_>, s: &Store<'_>, line: usize, rest: &[u8], out: &mut Vec<u8>) -> Step {
    let store = &ctx.shared.store;
    let st = ctx.stats;
    if store.too_large(s.key.len(), s.len) {
        ThreadStats::bump(&st.cmd_set);
        ThreadStats::bump(&st.store_too_large);
        error(out, s.noreply, ErrorReply::Server(msg::TOO_LARGE));
        if s.mode == StoreMode::Set {
            store.delete(s.key, 0);
        }
        return Step::Swallow {
            consumed: line,
            swallow: s.len + 2,
        };
    }
    let data = match text::data_block(rest, s.len) {
        DataBlock::Incomplete => return Step::NeedMoreFor(line + s.len + 2),
        DataBlock::BadChunk => {
            error(out, s.noreply, ErrorReply::Client(msg::BAD_CHUNK));
            return Step::Consumed(line + s.len + 2);
        }
        DataBlock::Data(d) => d,
    };
    ThreadStats::bump(&st.cmd_set);
    let outcome = store.store(&StoreRequest {
        mode: mode_of(s.mode),
        key: s.key,
        flags: s.flags,
        exptime: store.clock.realtime(i64::from(s.exptime)),
        value: data,
        compare_cas: s.cas,
        new_cas: None,
    });
    let is_cas = s.mode == StoreMode::Cas;
    let text = match outcome {
        StoreOutcome::Stored { .. } => {
            if is_cas {
                ThreadStats::bump(&st.cas_hits);
            }
            "STORED"
        }
        StoreOutcome::NotStored => "NOT_STORED",
        StoreOutcome::Exists => {
            ThreadStats::bump(&st.cas_badval);
            "EXISTS"
        }
        StoreOutcome::NotFound => {
            ThreadStats::bump(&st.cas_misses);
            "NOT_FOUND"
        }
        StoreOutcome::TooLarge => {
            ThreadStats::bump(&st.store_too_large);
            "SERVER_ERROR object too large for cache"
        }
        StoreOutcome::NoMemory => {
            ThreadStats::bump(&st.store_no_memory);
            "SERVER_ERROR out of memory storing object"
        }
    };
    reply(out, s.noreply, text);
    Step::Consumed(line + s.len + 2)
}

/// `config set cluster 0 0 <bytes>` + data: admin connections only.
fn config_set(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    len: usize,
    line: usize,
    rest: &[u8],
    out: &mut Vec<u8>,
) -> Step {
    let store = &ctx.shared.store;
    if !ctx.admin {
        // ElastiCache does not let clients change the configuration. The announced data block
        // is dropped so that it is not read as commands.
        out.extend_from_slice(b"ERROR\r\n");
        return Step::Swallow {
            consumed: line,
            swallow: len + 2,
        };
    }
    let limit = store.settings().config_size_max as usize;
    if len > limit {
        out.extend_from_slice(b"SERVER_ERROR object too large for cache\r\n");
        return Step::Swallow {
            consumed: line,
            swallow: len + 2,
        };
    }
    let data = match text::data_block(rest, len) {
        DataBlock::Incomplete => return Step::NeedMoreFor(line + len + 2),
        DataBlock::BadChunk => {
            out.extend_from_slice(b"CLIENT_ERROR bad data chunk\r\n");
            return Step::Consumed(line + len + 2);
        }
        DataBlock::Data(d) => d,
    };
    ThreadStats::bump(&ctx.stats.cmd_config_set);
    if key != b"cluster" {
        out.extend_from_slice(b"ERROR\r\n");
    } else {
        match ClusterConfig::parse_payload(data) {
            Some(config) if config.nodes.len() as u64 <= store.settings().config_max.max(20) => {
                store.set_cluster_config(config);
                out.extend_from_slice(b"STORED\r\n");
            }
            _ => out.extend_from_slice(b"CLIENT_ERROR bad data chunk\r\n"),
        }
    }
    Step::Consumed(line + len + 2)
}
