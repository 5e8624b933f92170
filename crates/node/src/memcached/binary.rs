//! The binary protocol over the store.

use engine_memcached::stats::ThreadStats;
use engine_memcached::{
    ArithOutcome, DeleteOutcome, GetOptions, Miss, Mode, StoreOutcome, StoreRequest,
};
use memcache_proto::binary::{self, write_error, Opcode, Request, Response, Status};
use memcache_proto::cluster::ClusterConfig;
use memcache_proto::text::StatsGroup;
use memcache_proto::{ErrorReply, ParseError};

use super::conn::{Ctx, Step};
use super::stats;

/// Handles the request at the start of `buf`.
pub fn handle(ctx: &mut Ctx<'_>, buf: &[u8], out: &mut Vec<u8>) -> Step {
    let header = match binary::parse_header(buf) {
        Err(ParseError::Incomplete) => return Step::NeedMore,
        Err(ParseError::Fatal(ErrorReply::Binary(status))) => {
            let opcode = buf.get(1).copied().unwrap_or(0);
            write_error(out, opcode, status, 0);
            return Step::Close;
        }
        Err(_) => return Step::Close,
        Ok(h) => h,
    };
    let total = binary::HEADER_LEN + header.body_len as usize;
    // A body far beyond the item limit is refused at once and swallowed, not buffered.
    let max = ctx.shared.store.max_item_size();
    if header.body_len as usize > max + 1024 {
        let status = match Opcode::from_u8(header.opcode) {
            Some(op) if is_storage(op) => Status::TooLarge,
            _ => Status::InvalidArguments,
        };
        write_error(out, header.opcode, status, header.opaque);
        return Step::Swallow {
            consumed: binary::HEADER_LEN,
            swallow: header.body_len as usize,
        };
    }
    match binary::parse(buf) {
        Err(ParseError::Incomplete) => Step::NeedMoreFor(total),
        Err(ParseError::Fatal(ErrorReply::Binary(status))) => {
            write_error(out, header.opcode, status, header.opaque);
            Step::Close
        }
        Err(_) => Step::Close,
        Ok((req, used)) => execute(ctx, &req, out).unwrap_or(Step::Consumed(used)),
    }
}

fn is_storage(op: Opcode) -> bool {
    use Opcode::*;
    matches!(
        op,
        Set | SetQ | Add | AddQ | Replace | ReplaceQ | Append | AppendQ | Prepend | PrependQ
    )
}

fn ok(out: &mut Vec<u8>, req: &Request<'_>, cas: u64, extras: &[u8], key: &[u8], value: &[u8]) {
    binary::write_response(
        out,
        &Response {
            opcode: req.header.opcode,
            status: Status::Success,
            opaque: req.header.opaque,
            cas,
            extras,
            key,
            value,
        },
    );
}

fn err(out: &mut Vec<u8>, req: &Request<'_>, status: Status) {
    write_error(out, req.header.opcode, status, req.header.opaque);
}

/// Runs one request; `Some(step)` overrides the default "consumed the request".
fn execute(ctx: &mut Ctx<'_>, req: &Request<'_>, out: &mut Vec<u8>) -> Option<Step> {
    use Opcode::*;
    let store = &ctx.shared.store;
    let st = ctx.stats;
    let Some(op) = req.opcode else {
        err(out, req, Status::UnknownCommand);
        return None;
    };
    let quiet = op.is_quiet();
    match op {
        Get | GetQ | GetK | GetKQ | Gat | GatQ | GatK | GatKQ | Touch => {
            let touch = req
                .u32_extra()
                .filter(|_| matches!(op, Gat | GatQ | GatK | GatKQ | Touch));
            let touch = touch.map(|e| store.clock.realtime(i64::from(e as i32)));
            let with_key = matches!(op, GetK | GetKQ | GatK | GatKQ);
            let with_value = op != Touch;
            if touch.is_some() {
                ThreadStats::bump(&st.cmd_touch);
            }
            if op != Touch {
                ThreadStats::bump(&st.cmd_get);
            }
            let r = store.get(
                req.key,
                GetOptions {
                    touch,
                    no_bump: false,
                    ..GetOptions::default()
                },
                |v| {
                    let flags = v.flags.to_be_bytes();
                    let key: &[u8] = if with_key { v.key } else { &[] };
                    let value: &[u8] = if with_value { v.value } else { &[] };
                    ok(out, req, v.cas, &flags, key, value);
                },
            );
            match r {
                Ok(()) => {
                    if op != Touch {
                        ThreadStats::bump(&st.get_hits);
                    }
                    if touch.is_some() {
                        ThreadStats::bump(&st.touch_hits);
                    }
                }
                Err(why) => {
                    if op != Touch {
                        ThreadStats::bump(&st.get_misses);
                        match why {
                            Miss::Expired => ThreadStats::bump(&st.get_expired),
                            Miss::Flushed => ThreadStats::bump(&st.get_flushed),
                            Miss::Missing => {}
                        }
                    }
                    if touch.is_some() {
                        ThreadStats::bump(&st.touch_misses);
                    }
                    if !quiet {
                        if with_key {
                            binary::write_response(
                                out,
                                &Response {
                                    opcode: req.header.opcode,
                                    status: Status::KeyNotFound,
                                    opaque: req.header.opaque,
                                    cas: 0,
                                    extras: &[],
                                    key: req.key,
                                    value: &[],
                                },
                            );
                        } else {
                            err(out, req, Status::KeyNotFound);
                        }
                    }
                }
            }
        }
        Set | SetQ | Add | AddQ | Replace | ReplaceQ | Append | AppendQ | Prepend | PrependQ => {
            ThreadStats::bump(&st.cmd_set);
            let (flags, exptime) = if req.extras.len() == 8 {
                req.store_extras()
            } else {
                (0, 0)
            };
            let mode = match op {
                Set | SetQ => Mode::Set,
                Add | AddQ => Mode::Add,
                Replace | ReplaceQ => Mode::Replace,
                Append | AppendQ => Mode::Append,
                _ => Mode::Prepend,
            };
            let compare_cas = req.header.cas;
            let outcome = store.store(&StoreRequest {
                mode,
                key: req.key,
                flags,
                exptime: store.clock.realtime(i64::from(exptime as i32)),
                value: req.value,
                compare_cas,
                new_cas: None,
            });
            match outcome {
                StoreOutcome::Stored { cas } => {
                    if compare_cas != 0 {
                        ThreadStats::bump(&st.cas_hits);
                    }
                    if !quiet {
                        ok(out, req, cas, &[], &[], &[]);
                    }
                }
                StoreOutcome::NotStored => err(
                    out,
                    req,
                    match mode {
                        Mode::Add => Status::KeyExists,
                        Mode::Replace => Status::KeyNotFound,
                        _ => Status::NotStored,
                    },
                ),
                StoreOutcome::Exists => {
                    ThreadStats::bump(&st.cas_badval);
                    err(out, req, Status::KeyExists)
                }
                StoreOutcome::NotFound => {
                    ThreadStats::bump(&st.cas_misses);
                    err(out, req, Status::KeyNotFound)
                }
                StoreOutcome::TooLarge => {
                    ThreadStats::bump(&st.store_too_large);
                    err(out, req, Status::TooLarge)
                }
                StoreOutcome::NoMemory => {
                    ThreadStats::bump(&st.store_no_memory);
                    err(out, req, Status::OutOfMemory)
                }
            }
        }
        Delete | DeleteQ => match store.delete(req.key, req.header.cas) {
            DeleteOutcome::Deleted => {
                ThreadStats::bump(&st.delete_hits);
                if !quiet {
                    ok(out, req, 0, &[], &[], &[]);
                }
            }
            DeleteOutcome::NotFound => {
                ThreadStats::bump(&st.delete_misses);
                err(out, req, Status::KeyNotFound)
            }
            DeleteOutcome::Exists => err(out, req, Status::KeyExists),
        },
        Increment | IncrementQ | Decrement | DecrementQ => {
            let incr = matches!(op, Increment | IncrementQ);
            let (delta, initial, exptime) = req.arith_extras();
            let create = (exptime != u32::MAX)
                .then(|| (initial, store.clock.realtime(i64::from(exptime as i32))));
            let (hits, misses) = if incr {
                (&st.incr_hits, &st.incr_misses)
            } else {
                (&st.decr_hits, &st.decr_misses)
            };
            match store.arith(req.key, incr, delta, create, req.header.cas) {
                ArithOutcome::Value { value, cas } => {
                    ThreadStats::bump(hits);
                    if !quiet {
                        ok(out, req, cas, &[], &[], &value.to_be_bytes());
                    }
                }
                ArithOutcome::NotFound => {
                    ThreadStats::bump(misses);
                    err(out, req, Status::KeyNotFound)
                }
                ArithOutcome::NonNumeric => err(out, req, Status::NonNumeric),
                ArithOutcome::Exists => err(out, req, Status::KeyExists),
                ArithOutcome::NoMemory => err(out, req, Status::OutOfMemory),
            }
        }
        Quit => {
            ok(out, req, 0, &[], &[], &[]);
            return Some(Step::Close);
        }
        QuitQ => return Some(Step::Close),
        Flush | FlushQ => {
            ThreadStats::bump(&st.cmd_flush);
            store.flush_all(i64::from(req.u32_extra().unwrap_or(0) as i32));
            if !quiet {
                ok(out, req, 0, &[], &[], &[]);
            }
        }
        Noop => ok(out, req, 0, &[], &[], &[]),
        Verbosity => {
            // memcached 1.6 answers VERBOSITY with "Unknown command" and closes.
            err(out, req, Status::UnknownCommand);
            return Some(Step::Close);
        }
        Version => ok(out, req, 0, &[], &[], stats::VERSION.as_bytes()),
        Stat => {
            let group = match req.key {
                b"" => StatsGroup::General,
                b"settings" => StatsGroup::Settings,
                b"items" => StatsGroup::Items,
                b"slabs" => StatsGroup::Slabs,
                b"sizes" => StatsGroup::Sizes,
                b"conns" => StatsGroup::Conns,
                b"reset" => StatsGroup::Reset,
                _ => {
                    err(out, req, Status::KeyNotFound);
                    return None;
                }
            };
            if group == StatsGroup::Reset {
                ctx.shared.store.reset_stats();
            } else {
                let mut text = Vec::new();
                stats::write(ctx.shared, group, &mut text);
                for line in text.split(|&b| b == b'\n') {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let Some(rest) = line.strip_prefix(b"STAT ") else {
                        continue;
                    };
                    let (name, value) = match rest.iter().position(|&b| b == b' ') {
                        Some(i) => (&rest[..i], &rest[i + 1..]),
                        None => (rest, &b""[..]),
                    };
                    ok(out, req, 0, &[], name, value);
                }
            }
            ok(out, req, 0, &[], &[], &[]);
        }
        SaslListMechs | SaslAuth | SaslStep => err(out, req, Status::UnknownCommand),
        ConfigGet => {
            ThreadStats::bump(&st.cmd_config_get);
            match (req.key, store.cluster_config()) {
                (b"cluster", Some(config)) => {
                    ok(out, req, 0, &0u32.to_be_bytes(), &[], &config.payload())
                }
                _ => err(out, req, Status::KeyNotFound),
            }
        }
        ConfigSet => {
            if !ctx.admin {
                err(out, req, Status::UnknownCommand);
            } else {
                ThreadStats::bump(&st.cmd_config_set);
                match (req.key, ClusterConfig::parse_payload(req.value)) {
                    (b"cluster", Some(config)) => {
                        store.set_cluster_config(config);
                        ok(out, req, 0, &[], &[], &[]);
                    }
                    _ => err(out, req, Status::InvalidArguments),
                }
            }
        }
    }
    None
}
