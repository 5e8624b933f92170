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
