//! Transactions (redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! EXEC runs every queued command inside the one critical section of the batch, so nothing
//! else interleaves; blocking commands inside it reply as if their timeout expired.

use super::{err, CmdResult, Ctx};
use crate::client::{Client, MultiState};
use crate::server::Server;

pub fn multi(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.out.ok();
    Ok(())
}

pub fn discard(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return err("ERR DISCARD without MULTI");
    }
    unwatch_all(ctx.srv, ctx.client);
    ctx.out.ok();
    Ok(())
}

pub fn exec(ctx: &mut Ctx) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return err("ERR EXEC without MULTI");
    };
    if m.aborted {
        unwatch_all(ctx.srv, ctx.client);
        return err("EXECABORT Transaction discarded because of previous errors.");
    }
    // Keys that expired since WATCH count as changed.
    let watched = ctx.client.watched.clone();
    for (db, k) in &watched {
        ctx.srv.ks.expire_if_needed(*db, k);
    }
    if !ctx.srv.ks.expired_log.is_empty() {
        for (db, k) in std::mem::take(&mut ctx.srv.ks.expired_log) {
            ctx.srv.touch_watched(db, &k, Some(ctx.client));
            crate::notify::notify(
                ctx.srv,
                Some(ctx.client),
                Some(ctx.out),
                crate::notify::EXPIRED,
                "expired",
                db,
                &k,
            );
        }
    }
    let dirty = ctx.client.dirty_cas;
    unwatch_all(ctx.srv, ctx.client);
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(m.queued.len());
    ctx.srv.call_depth += 1;
    for argv in &m.queued {
        let spec = super::lookup(&argv[0]).expect("queued commands passed the table check");
        // The rules may have changed since the command was queued.
        if let Err(denied) = crate::acl::check(ctx.srv, ctx.client, spec, argv) {
            crate::acl::log_command_denial(
                ctx.srv,
                ctx.client,
                ctx.client,
                denied,
                crate::acl::LogContext::Multi,
                spec,
                argv,
            );
            ctx.out.error(&format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}", denied.exec_reason()));
            continue;
        }
        super::run_spec(ctx.srv, ctx.client, spec, argv, ctx.out);
        ctx.out.resp3 = ctx.client.resp3;
    }
    ctx.srv.call_depth -= 1;
    Ok(())
}

pub fn watch(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    let db = ctx.db();
    let a = ctx.argv;
    for k in a.iter().skip(1) {
        let key: (usize, Box<[u8]>) = (db, k.into());
        if ctx.client.watched.contains(&key) {
            continue;
        }
        ctx.srv
            .watched
            .entry(key.clone())
            .or_default()
            .push(ctx.client.id);
        ctx.client.watched.push(key);
    }
    ctx.out.ok();
    Ok(())
}

pub fn unwatch(ctx: &mut Ctx) -> CmdResult {
    unwatch_all(ctx.srv, ctx.client);
    ctx.out.ok();
    Ok(())
}

pub fn unwatch_all(srv: &mut Server, c: &mut Client) {
    for key in c.watched.drain(..) {
        if let Some(ids) = srv.watched.get_mut(&key) {
            ids.retain(|&i| i != c.id);
            if ids.is_empty() {
                srv.watched.remove(&key);
            }
        }
    }
    c.dirty_cas = false;
}

/// Transactions while a script holds the engine past its time limit. Redis lets MULTI, EXEC and
/// DISCARD through then, and flags the transaction of a client in MULTI whose command it
/// refuses with BUSY, so that a pipelined transaction is never half run (redis PR #7022). The
/// client's state is behind the engine the script holds: what its transaction went through is
/// noted here, answered at once, and replayed on the client at its next turn.
#[derive(Default)]
pub struct BusyTransactions {
    pending: std::sync::atomic::AtomicBool,
    notes: parking_lot::Mutex<std::collections::HashMap<u64, BusyNote>>,
}

#[derive(Default)]
struct BusyNote {
    /// Known once MULTI, EXEC or DISCARD passed during the busy script; before that, the
    /// client's state is whatever it was when the script started.
    in_multi: Option<bool>,
    effects: Vec<TxnEffect>,
}

enum TxnEffect {
    Multi,
    /// EXEC (answered EXECABORT) or DISCARD: the transaction and the watched keys are dropped.
    Discard,
    /// A refused command: EXEC will answer EXECABORT, if the client is in MULTI.
    Flag,
}

impl BusyTransactions {
    /// Answers one command of client `id` while a script is busy.
    pub fn reply(
        &self,
        control: &crate::scripting::ScriptControl,
        id: u64,
        argv: &resp::request::Argv,
        out: &mut Vec<u8>,
    ) {
        let is = |w: &str| argv.len() == 1 && argv[0].eq_ignore_ascii_case(w.as_bytes());
        let mut notes = self.notes.lock();
        let note = notes.entry(id).or_default();
        let reply: std::borrow::Cow<str> = if is("multi") {
            if note.in_multi == Some(true) {
                "-ERR MULTI calls can not be nested".into()
            } else {
                note.in_multi = Some(true);
                note.effects.push(TxnEffect::Multi);
                "+OK".into()
            }
        } else if is("exec") {
            note.in_multi = Some(false);
            note.effects.push(TxnEffect::Discard);
            format!(
                "-EXECABORT Transaction discarded because of: {}",
                control.busy_error()
            )
            .into()
        } else if is("discard") {
            if note.in_multi == Some(false) {
                "-ERR DISCARD without MULTI".into()
            } else {
                note.in_multi = Some(false);
                note.effects.push(TxnEffect::Discard);
                "+OK".into()
            }
        } else {
            if note.in_multi != Some(false) {
                note.effects.push(TxnEffect::Flag);
            }
            drop(notes);
            crate::cmd::scripting::busy_reply(control, argv, false, out);
            self.pending
                .store(true, std::sync::atomic::Ordering::Release);
            return;
        };
        drop(notes);
        self.pending
            .store(true, std::sync::atomic::Ordering::Release);
        out.extend_from_slice(reply.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// Applies what client `c`'s transaction went through while it could not reach the engine.
    pub fn replay(&self, srv: &mut Server, c: &mut Client) {
        if !self.pending.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let note = {
            let mut notes = self.notes.lock();
            let note = notes.remove(&c.id);
            if notes.is_empty() {
                self.pending
                    .store(false, std::sync::atomic::Ordering::Release);
            }
            note
        };
        for effect in note.map(|n| n.effects).unwrap_or_default() {
            match effect {
                TxnEffect::Multi => {
                    c.multi.get_or_insert_with(MultiState::default);
                }
                TxnEffect::Discard => {
                    c.multi = None;
                    unwatch_all(srv, c);
                }
                TxnEffect::Flag => {
                    if let Some(m) = c.multi.as_mut() {
                        m.aborted = true;
                    }
                }
            }
        }
    }

    /// A client that leaves takes its note with it.
    pub fn forget(&self, id: u64) {
        if self.pending.load(std::sync::atomic::Ordering::Acquire) {
            self.notes.lock().remove(&id);
        }
    }
}
