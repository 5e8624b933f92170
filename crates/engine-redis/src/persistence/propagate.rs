//! The command stream: what a write did, as commands that reproduce it, for the AOF and the
//! replicas (one place builds it, both consume it).
//!
//! ```text
//!   run_spec (every command, also inside EXEC and scripts)
//!       └─ after_write: the command changed data → rewritten for determinism → pending
//!   expiry (lazy or active) ─▶ DEL          served blocked pop ─▶ LPOP/RPOP/LMOVE/ZPOP*
//!   end of the top-level command (Server::execute)
//!       └─ flush: one command as is, several (EXEC, scripts: effects) wrapped in MULTI/EXEC
//!            ─▶ aof::feed  ─▶ replication::feed
//! ```
//!
//! Rewrites, as Redis does them, so that replaying later or elsewhere gives the same data:
//! relative TTLs become `PEXPIREAT` with the absolute time the primary computed (EXPIRE that
//! deletes becomes DEL), SPOP becomes SREM of the members it popped, stream writes as
//! `cmd::streams::propagation` says (generated IDs, exact trims, XCLAIM per delivery). Scripts
//! propagate their effects (the commands they ran), never the script.

use crate::blocking::BlockOp;
use crate::cmd::CommandSpec;
use crate::server::Server;
use crate::types::list::End;
use resp::request::Argv;

/// One command of the stream: the DB it applies to and its arguments.
pub type Propagated = (usize, Vec<Vec<u8>>);

fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

fn active(srv: &Server) -> bool {
    !srv.persist.loading && (srv.persist.aof.is_some() || crate::replication::has_stream(srv))
}

/// Called after every command ran; records it if it changed data.
pub fn after_write(
    srv: &mut Server,
    db: usize,
    spec: &'static CommandSpec,
    argv: &Argv,
    reply: &[u8],
    dirty_before: u64,
) {
    sync_expired(srv);
    if srv.stats.dirty == dirty_before || !spec.has(crate::cmd::WRITE) || !active(srv) {
        return;
    }
    let name = spec.name;
    let key = argv.get(1).unwrap_or_default().to_vec();
    let pexpireat = |srv: &mut Server, key: &[u8]| -> Option<Vec<Vec<u8>>> {
        let at = srv.ks.dbs[db].expire_of(key)?;
        Some(args(&[b"PEXPIREAT", key, at.to_string().as_bytes()]))
    };
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            match pexpireat(srv, &key) {
                Some(c) => out.push(c),
                // The time was in the past: the key was deleted.
                None => out.push(args(&[b"DEL", &key])),
            }
        }
        "set" | "setex" | "psetex" | "getex" | "restore" => {
            out.push(argv.iter().map(<[u8]>::to_vec).collect());
            let has_relative_ttl = name != "set"
                || argv.iter().skip(3).any(|a| {
                    crate::util::eq_ignore_case(a, "ex") || crate::util::eq_ignore_case(a, "px")
                });
            if has_relative_ttl {
                if let Some(c) = pexpireat(srv, &key) {
                    out.push(c);
                }
            }
        }
        "xadd" | "xtrim" | "xreadgroup" => {
            match crate::cmd::streams::propagation(srv, db, name, argv, reply) {
                Some(cmds) => out.extend(cmds),
                None => out.push(argv.iter().map(<[u8]>::to_vec).collect()),
            }
        }
        "spop" => {
            let members = popped_members(reply);
            if !members.is_empty() {
                let mut c = args(&[b"SREM", &key]);
                c.extend(members);
                out.push(c);
            }
        }
        _ => out.push(argv.iter().map(<[u8]>::to_vec).collect()),
    }
    // SELECT/SWAPDB-style commands change the client's DB: the stream records each command
    // with the DB it ran in.
    srv.persist.pending.extend(out.into_iter().map(|c| (db, c)));
}

/// The members in SPOP's reply (a bulk string or an array of them).
fn popped_members(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let Ok((frame, _)) = resp::Frame::parse(reply) else {
        return v;
    };
    match frame {
        resp::Frame::Bulk(b) => v.push(b),
        resp::Frame::Array(items) | resp::Frame::Set(items) => {
            for i in items {
                if let resp::Frame::Bulk(b) = i {
                    v.push(b);
                }
            }
        }
        _ => {}
    }
    v
}

/// Keys removed by expiry since the last look: DEL for the AOF and the replicas (in Redis a
/// replica does not expire keys on its own; the primary tells it). They go before the command
/// that found them expired (a SET of an expired key must not be followed by its DEL).
fn sync_expired(srv: &mut Server) {
    let log = &srv.ks.expired_log;
    let from = srv.persist.expired_seen.min(log.len());
    if from == log.len() {
        return;
    }
    if active(srv) {
        let dels: Vec<Propagated> = log[from..]
            .iter()
            .map(|(db, k)| (*db, args(&[b"DEL", k])))
            .collect();
        srv.persist.pending.extend(dels);
    }
    srv.persist.expired_seen = srv.ks.expired_log.len();
}

/// Commands a write outside the command path (a served blocked client) hands to the stream.
pub fn record(srv: &mut Server, db: usize, cmds: Vec<Vec<Vec<u8>>>) {
    if active(srv) {
        srv.persist
            .pending
            .extend(cmds.into_iter().map(|c| (db, c)));
    }
}

/// A blocked client was served: the pop it did, as a plain command.
pub fn served(srv: &mut Server, db: usize, key: &[u8], op: &BlockOp) {
    if !active(srv) {
        return;
    }
    let side = |e: &End| -> &'static [u8] {
        match e {
            End::Head => b"LEFT",
            End::Tail => b"RIGHT",
        }
    };
    let c = match op {
        BlockOp::ListPop { end } => args(&[
            if matches!(end, End::Head) {
                b"LPOP"
            } else {
                b"RPOP"
            },
            key,
        ]),
        BlockOp::ListMPop { end, count } => args(&[
            if matches!(end, End::Head) {
                b"LPOP"
            } else {
                b"RPOP"
            },
            key,
            count.to_string().as_bytes(),
        ]),
        BlockOp::ListMove { dest, from, to } => args(&[b"LMOVE", key, dest, side(from), side(to)]),
        BlockOp::ZPop { max } => args(&[if *max { b"ZPOPMAX" } else { b"ZPOPMIN" }, key]),
        // XREAD changes nothing; a served XREADGROUP recorded its effects itself (it alone
        // knows which entries it delivered, see `cmd::streams::serve_blocked`).
        BlockOp::Wait { .. } | BlockOp::XRead { .. } | BlockOp::XReadGroup { .. } => return,
        BlockOp::ZMPop { max, count } => args(&[
            if *max { b"ZPOPMAX" } else { b"ZPOPMIN" },
            key,
            count.to_string().as_bytes(),
        ]),
    };
    srv.persist.pending.push((db, c));
}

/// End of a top-level command: hands what it did to the AOF and the replicas.
pub fn flush(srv: &mut Server) {
    sync_expired(srv);
    // The log is drained right after a top-level command (`Server::after_command`).
    srv.persist.expired_seen = 0;
    if srv.persist.pending.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut srv.persist.pending);
    let wrap = pending.len() > 1;
    let mut cmds: Vec<Propagated> = Vec::with_capacity(pending.len() + 2);
    if wrap {
        cmds.push((pending[0].0, args(&[b"MULTI"])));
    }
    let last_db = pending.last().map_or(0, |p| p.0);
    cmds.extend(pending);
    if wrap {
        cmds.push((last_db, args(&[b"EXEC"])));
    }
    super::aof::feed(srv, &cmds);
    crate::replication::feed(srv, &cmds);
}

/// RESP encoding of one command.
pub fn encode(cmd: &[Vec<u8>], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(cmd.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in cmd {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Encodes `cmds` for a consumer that tracks its own selected DB.
pub fn encode_stream(cmds: &[Propagated], selected: &mut Option<usize>, out: &mut Vec<u8>) {
    for (db, c) in cmds {
        let is_tx = c.len() == 1 && (c[0] == b"MULTI" || c[0] == b"EXEC");
        if !is_tx && *selected != Some(*db) {
            encode(&[b"SELECT".to_vec(), db.to_string().into_bytes()], out);
            *selected = Some(*db);
        }
        encode(c, out);
    }
}
