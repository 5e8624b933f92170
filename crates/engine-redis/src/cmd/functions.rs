//! FCALL, FCALL_RO and FUNCTION on the engine: the glue between the command table and
//! `crate::scripting::functions`. A function runs like an EVAL script (inside the command,
//! holding the server, `redis.call` through the scripting host, BUSY and FUNCTION KILL through
//! the shared `ScriptControl`). FUNCTION LOAD/DELETE/FLUSH/RESTORE change the dataset as redis
//! counts it (`dirty`) and go to the AOF and replicas as the commands themselves.

use std::sync::Arc;

use super::scripting::with_host;
use super::{sub_arity, unknown_subcommand, CmdResult, Ctx};
use crate::client::ClientKind;
use crate::scripting::functions::{Functions, Refusals, RestorePolicy, LOAD_TIMEOUT_MS};
use crate::scripting::{ScriptControl, ScriptHost, ScriptReply};
use crate::util::lower;

/// Redis 7.0's FUNCTION HELP text.
const HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

fn owned_args(ctx: &Ctx) -> Vec<Vec<u8>> {
    ctx.argv.iter().map(<[u8]>::to_vec).collect()
}

/// Runs `f` on the registry taken out of the server (so the scripting host may borrow the
/// server), with a host for `redis.call`/`redis.log`.
fn with_functions(
    ctx: &mut Ctx,
    f: impl FnOnce(&mut Functions, &Arc<ScriptControl>, &mut dyn ScriptHost) -> ScriptReply,
) -> CmdResult {
    let mut functions = std::mem::take(&mut ctx.srv.scripts.functions);
    let control = Arc::clone(&ctx.srv.scripts.control);
    let result = with_host(ctx, |host| f(&mut functions, &control, host));
    ctx.srv.scripts.functions = functions;
    result
}

fn fcall_generic(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let owned = owned_args(ctx);
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    // What redis's scriptPrepareForRun refuses a function that may write: on a read-only
    // replica (unless the primary sent it), and out of memory without `allow-oom`.
    let mut refusals = Refusals::default();
    if let Some(flags) = ctx.srv.scripts.functions.flags_of(argv[1]) {
        if !flags.no_writes() {
            let srv = &mut *ctx.srv;
            refusals.readonly_replica = ctx.client.kind == ClientKind::Normal
                && ctx.client.repl_role != Some("master")
                && srv.repl.master.is_some()
                && srv.config.flag("replica-read-only");
            refusals.oom =
                !flags.allow_oom() && srv.config.maxmemory > 0 && !crate::evict::make_room(srv);
        }
    }
    with_functions(ctx, |functions, _, host| {
        functions.fcall(host, &argv, read_only, refusals)
    })
}

pub fn fcall(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, false)
}

pub fn fcall_ro(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, true)
}

/// FUNCTION KILL, answered from the shared control (it must work while a function is busy).
pub fn function_kill(control: &ScriptControl) -> ScriptReply {
    match control.kill_kind(false) {
        Ok(()) => ScriptReply::Status("OK".into()),
        Err(e) => ScriptReply::err(e),
    }
}

/// FUNCTION STATS while a script holds the server: the running function (redis refuses it
/// with BUSY while an EVAL script runs).
pub fn busy_stats(control: &ScriptControl) -> ScriptReply {
    let Some(run) = control.running_function_info() else {
        return ScriptReply::err(control.busy_error());
    };
    let bulk = |s: &str| ScriptReply::Bulk(s.as_bytes().to_vec());
    let running = ScriptReply::Map(vec![
        (bulk("name"), bulk(&run.name)),
        (
            bulk("command"),
            ScriptReply::Array(run.command.into_iter().map(ScriptReply::Bulk).collect()),
        ),
        (
            bulk("duration_ms"),
            ScriptReply::Integer(control.running_ms() as i64),
        ),
    ]);
    stats_reply(running, run.libraries, run.functions)
}

fn stats_reply(running: ScriptReply, libraries: usize, functions: usize) -> ScriptReply {
    let bulk = |s: &str| ScriptReply::Bulk(s.as_bytes().to_vec());
    ScriptReply::Map(vec![
        (bulk("running_script"), running),
        (
            bulk("engines"),
            ScriptReply::Map(vec![(
                bulk("LUA"),
                ScriptReply::Map(vec![
                    (
                        bulk("libraries_count"),
                        ScriptReply::Integer(libraries as i64),
                    ),
                    (
                        bulk("functions_count"),
                        ScriptReply::Integer(functions as i64),
                    ),
                ]),
            )]),
        ),
    ])
}

fn stats(functions: &Functions) -> ScriptReply {
    stats_reply(
        ScriptReply::Nil,
        functions.library_count(),
        functions.function_count(),
    )
}

/// A FUNCTION subcommand changed the libraries: count it and propagate it as is.
fn changed(ctx: &mut Ctx) {
    ctx.srv.stats.dirty += 1;
    let cmd = owned_args(ctx);
    let db = ctx.client.db;
    crate::persistence::propagate::record(ctx.srv, db, vec![cmd]);
}

/// Redis's `addReplySubcommandSyntaxError`.
fn syntax_error(sub: &[u8]) -> ScriptReply {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    ScriptReply::Error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try FUNCTION HELP."
    ))
}

fn write_reply(ctx: &mut Ctx, reply: ScriptReply) -> CmdResult {
    let mut bytes = Vec::new();
    reply.write_resp(ctx.client.resp3, &mut bytes);
    ctx.out.raw(&bytes);
    Ok(())
}

pub fn function(ctx: &mut Ctx) -> CmdResult {
    let sub = lower(&ctx.argv[1]);
    let argc = ctx.argv.len();
    let arity_ok = match sub.as_str() {
        "load" | "restore" => argc >= 3,
        "delete" => argc == 3,
        "flush" | "list" => argc >= 2,
        "dump" | "stats" | "kill" | "help" => argc == 2,
        _ => return Err(unknown_subcommand(ctx)),
    };
    if !arity_ok {
        return Err(sub_arity(ctx));
    }
    let owned = owned_args(ctx);
    let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    // LOAD and RESTORE are deny-OOM subcommands in redis.
    if matches!(sub.as_str(), "load" | "restore")
        && ctx.srv.config.maxmemory > 0
        && !crate::evict::make_room(ctx.srv)
    {
        return write_reply(
            ctx,
            ScriptReply::err("OOM command not allowed when used memory > 'maxmemory'."),
        );
    }
    match sub.as_str() {
        "load" => {
            let mut replace = false;
            for opt in &args[2..argc - 1] {
                if opt.eq_ignore_ascii_case(b"replace") {
                    replace = true;
                } else {
                    let msg = format!("ERR Unknown option given: {}", String::from_utf8_lossy(opt));
                    return write_reply(ctx, ScriptReply::Error(msg));
                }
            }
            // Replayed commands (AOF, a primary's stream) must not fail on timing.
            let timeout = if ctx.srv.persist.loading {
                0
            } else {
                LOAD_TIMEOUT_MS
            };
            let code = args[argc - 1];
            let mut ok = false;
            with_functions(ctx, |functions, control, host| {
                match functions.load(control, host, code, replace, timeout) {
                    Ok(name) => {
                        ok = true;
                        ScriptReply::Bulk(name.into_bytes())
                    }
                    Err(e) => e,
                }
            })?;
            if ok {
                changed(ctx);
            }
            Ok(())
        }
        "restore" => {
            if argc > 4 {
                return write_reply(ctx, syntax_error(args[1]));
            }
            let policy = match args.get(3).map(|p| lower(p)).as_deref() {
                None | Some("append") => RestorePolicy::Append,
                Some("replace") => RestorePolicy::Replace,
                Some("flush") => RestorePolicy::Flush,
                Some(_) => {
                    return write_reply(
                        ctx,
                        ScriptReply::err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."),
                    )
                }
            };
            let payload = args[2];
            let mut ok = false;
            with_functions(ctx, |functions, control, host| {
                match functions.restore(control, host, payload, policy) {
                    Ok(()) => {
                        ok = true;
                        ScriptReply::Status("OK".into())
                    }
                    Err(e) => e,
                }
            })?;
            if ok {
                changed(ctx);
            }
            Ok(())
        }
        "delete" => {
            let reply = match ctx.srv.scripts.functions.delete(args[2]) {
                Ok(()) => {
                    changed(ctx);
                    ScriptReply::Status("OK".into())
                }
                Err(e) => e,
            };
            write_reply(ctx, reply)
        }
        "flush" => {
            if argc > 3 {
                return write_reply(ctx, syntax_error(args[1]));
            }
            let mode = args.get(2).map(|m| lower(m));
            if mode.as_deref().is_some_and(|m| m != "sync" && m != "async") {
                return write_reply(
                    ctx,
                    ScriptReply::err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
                );
            }
            ctx.srv.scripts.functions.flush();
            changed(ctx);
            write_reply(ctx, ScriptReply::Status("OK".into()))
        }
        "list" => {
            let reply = ctx.srv.scripts.functions.list(&args[2..]);
            write_reply(ctx, reply)
        }
        "dump" => {
            let payload = ctx.srv.scripts.functions.dump();
            write_reply(ctx, ScriptReply::Bulk(payload))
        }
        "stats" => {
            let reply = stats(&ctx.srv.scripts.functions);
            write_reply(ctx, reply)
        }
        "kill" => {
            let reply = function_kill(&ctx.srv.scripts.control);
            write_reply(ctx, reply)
        }
        _ => {
            let reply = ScriptReply::Array(
                HELP.iter()
                    .map(|l| ScriptReply::Status((*l).into()))
                    .collect(),
            );
            write_reply(ctx, reply)
        }
    }
}
