//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT on the engine: the glue between the command
//! table and `crate::scripting`, which knows nothing of the keyspace.
//!
//! A script runs inside the EVAL command, so it holds the server lock for its whole run and no
//! other command interleaves. Its `redis.call`s go through `EngineHost`, which applies the
//! checks Redis makes for commands called from scripts and runs them with [`Server::call`] on
//! the scripting client (a fake client whose DB starts as the caller's). While a script runs
//! past `busy-reply-threshold` (`lua-time-limit`), other connections get BUSY without waiting
//! for the lock, and SCRIPT KILL reaches it through [`ScriptState::control`] (see
//! `Engine::run`).

use std::sync::Arc;

use super::{lookup, CmdResult, Ctx, BLOCKING, DENYOOM, NOSCRIPT, WRITE};
use crate::client::{Client, ClientKind, ConnInfo, NullOutbox};
use crate::scripting::functions::Functions;
use crate::scripting::{
    eval_command, evalsha_command, script_command, script_kill, CallOptions, EvalMode, LogLevel,
    ScriptControl, ScriptHost, ScriptReply, Scripting,
};
use crate::server::Server;
use resp::frame::Frame;
use resp::request::Argv;

/// The scripting state a server keeps: the Lua VM and the scripting client, both created on
/// first use, and the control shared with every connection.
pub struct ScriptState {
    vm: Option<Scripting>,
    client: Option<Box<Client>>,
    pub control: Arc<ScriptControl>,
    /// Redis 7 function libraries (see `crate::scripting::functions`).
    pub functions: Functions,
}

impl Default for ScriptState {
    fn default() -> Self {
        ScriptState {
            vm: None,
            client: None,
            control: Arc::new(ScriptControl::default()),
            functions: Functions::default(),
        }
    }
}

/// The commands that run a script or a function.
pub const SCRIPT_COMMANDS: &[&str] = &[
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
];

/// Whether `argv` runs a script (which may hold the engine for long: the node lets its async
/// runtime move other work off the thread first).
pub fn is_script_command(argv: &Argv) -> bool {
    argv.get(0).is_some_and(|n| {
        SCRIPT_COMMANDS
            .iter()
            .any(|c| n.eq_ignore_ascii_case(c.as_bytes()))
    })
}

/// Whether `argv` is SHUTDOWN NOSAVE, which Redis honours even while a script is busy.
pub fn is_shutdown_nosave(argv: &Argv) -> bool {
    argv.get(0)
        .is_some_and(|n| n.eq_ignore_ascii_case(b"shutdown"))
        && argv
            .iter()
            .skip(1)
            .any(|a| a.eq_ignore_ascii_case(b"nosave"))
}

/// The reply a connection gets for `argv` while another connection's script is busy.
pub fn busy_reply(control: &ScriptControl, argv: &Argv, resp3: bool, out: &mut Vec<u8>) {
    let is = |i: usize, w: &str| {
        argv.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    let reply = if is(0, "script") && is(1, "kill") && argv.len() == 2 {
        script_kill(control)
    } else if is(0, "function") && is(1, "kill") && argv.len() == 2 {
        super::functions::function_kill(control)
    } else if is(0, "function") && is(1, "stats") && argv.len() == 2 {
        super::functions::busy_stats(control)
    } else {
        ScriptReply::err(control.busy_error())
    };
    reply.write_resp(resp3, out);
}

fn frame_to_reply(f: Frame) -> ScriptReply {
    match f {
        Frame::Simple(s) => ScriptReply::Status(String::from_utf8_lossy(&s).into_owned()),
        Frame::Error(e) => ScriptReply::Error(String::from_utf8_lossy(&e).into_owned()),
        Frame::Int(i) => ScriptReply::Integer(i),
        Frame::Bulk(b) => ScriptReply::Bulk(b),
        Frame::Null => ScriptReply::Nil,
        Frame::Array(items) | Frame::Push(items) => {
            ScriptReply::Array(items.into_iter().map(frame_to_reply).collect())
        }
        Frame::Set(items) => ScriptReply::Set(items.into_iter().map(frame_to_reply).collect()),
        Frame::Map(pairs) => ScriptReply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (frame_to_reply(k), frame_to_reply(v)))
                .collect(),
        ),
        Frame::Double(d) => ScriptReply::Double(d),
        Frame::Bool(b) => ScriptReply::Boolean(b),
        Frame::BigNumber(n) => ScriptReply::BigNumber(String::from_utf8_lossy(&n).into_owned()),
        Frame::Verbatim(v) => match v.get(3) {
            Some(b':') => ScriptReply::Verbatim {
                format: String::from_utf8_lossy(&v[..3]).into_owned(),
                text: v[4..].to_vec(),
            },
            _ => ScriptReply::Verbatim {
                format: "txt".into(),
                text: v,
            },
        },
    }
}

/// `redis.call` on the engine.
struct EngineHost<'a> {
    srv: &'a mut Server,
    client: &'a mut Client,
    /// The client running the script (the ACL LOG shows its CLIENT LIST line).
    caller: &'a Client,
    dirty_at_start: u64,
}

impl ScriptHost for EngineHost<'_> {
    fn call(&mut self, argv: &[&[u8]], opts: &CallOptions) -> ScriptReply {
        let Some(spec) = lookup(argv[0]) else {
            return ScriptReply::err("ERR Unknown Redis command called from script");
        };
        let argc = argv.len() as i32;
        if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
            return ScriptReply::err("ERR Wrong number of args calling Redis command from script");
        }
        if spec.has(NOSCRIPT) {
            return ScriptReply::err("ERR This Redis command is not allowed from script");
        }
        if opts.read_only && spec.has(WRITE) {
            return ScriptReply::err("ERR Write commands are not allowed from read-only scripts.");
        }
        if self.srv.config.maxmemory > 0
            && spec.has(DENYOOM)
            && !opts.allow_oom
            && !self.has_written()
            && !crate::evict::make_room(self.srv)
        {
            return ScriptReply::err("OOM command not allowed when used memory > 'maxmemory'.");
        }
        let argv = Argv::from_slices(argv);
        // The script runs with its caller's ACL user.
        if let Err(denied) = crate::acl::check(self.srv, self.client, spec, &argv) {
            crate::acl::log_command_denial(
                self.srv,
                self.client,
                self.caller,
                denied,
                crate::acl::LogContext::Lua,
                spec,
                &argv,
            );
            return ScriptReply::Error(format!(
                "ERR The user executing the script {}",
                denied.reason()
            ));
        }
        self.client.resp3 = opts.resp == 3;
        let bytes = self.srv.call(self.client, &argv);
        if spec.has(BLOCKING) && self.client.blocked.is_some() {
            // Scripts never block: a blocking command with nothing to pop answers nil.
            self.srv.blocking.unblock(self.client);
            return ScriptReply::NilArray;
        }
        match Frame::parse(&bytes) {
            Ok((frame, _)) => frame_to_reply(frame),
            Err(_) => {
                ScriptReply::err("ERR internal error: unreadable reply from a script command")
            }
        }
    }

    fn has_written(&self) -> bool {
        self.srv.stats.dirty > self.dirty_at_start
    }

    /// Whether the caller's user may run the command (without logging a denial).
    fn acl_check(&mut self, argv: &[&[u8]]) -> Option<bool> {
        let spec = lookup(argv[0])?;
        let argv = Argv::from_slices(argv);
        Some(crate::acl::check(self.srv, self.client, spec, &argv).is_ok())
    }

    fn log(&mut self, level: LogLevel, message: &[u8]) {
        let min = match self.srv.config.value_of("loglevel").as_str() {
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "warning" => LogLevel::Warning,
            _ => LogLevel::Notice,
        };
        if level >= min {
            let mark = ['.', '-', '*', '#'][level as usize];
            eprintln!(
                "{}:M {} {}",
                std::process::id(),
                mark,
                String::from_utf8_lossy(message)
            );
        }
    }
}

/// Runs `f` with the VM and scripting client taken out of the server (put back after).
fn with_vm(
    ctx: &mut Ctx,
    f: impl FnOnce(&mut Scripting, &mut dyn ScriptHost) -> ScriptReply,
) -> CmdResult {
    let control = Arc::clone(&ctx.srv.scripts.control);
    let mut vm = match ctx.srv.scripts.vm.take() {
        Some(vm) => vm,
        None => match Scripting::new(Arc::clone(&control)) {
            Ok(vm) => vm,
            Err(e) => return Err(super::Error::msg(format!("ERR cannot start Lua: {e}"))),
        },
    };
    let result = with_host(ctx, |host| f(&mut vm, host));
    ctx.srv.scripts.vm = Some(vm);
    result
}

/// Runs `f` with a host for `redis.call` (the scripting client, taken out of the server and
/// put back after) and writes its reply.
pub(super) fn with_host(
    ctx: &mut Ctx,
    f: impl FnOnce(&mut dyn ScriptHost) -> ScriptReply,
) -> CmdResult {
    let srv = &mut *ctx.srv;
    let limit = srv
        .config
        .value_of("busy-reply-threshold")
        .parse()
        .unwrap_or(5000);
    srv.scripts.control.set_time_limit_ms(limit);
    let mut client = srv.scripts.client.take().unwrap_or_else(|| {
        srv.new_client(ClientKind::Fake, ConnInfo::default(), Arc::new(NullOutbox))
    });
    client.db = ctx.client.db;
    client.user = ctx.client.user.clone();
    client.authenticated = true;
    let dirty_at_start = srv.stats.dirty;
    let tracking = srv.tracking.active;
    if tracking {
        crate::tracking::arm_script_reads(srv, ctx.client, ctx.spec, ctx.argv);
    }
    let reply = {
        let mut host = EngineHost {
            srv,
            client: &mut client,
            caller: ctx.client,
            dirty_at_start,
        };
        f(&mut host)
    };
    if tracking {
        crate::tracking::disarm_script_reads(ctx.srv);
    }
    ctx.srv.scripts.client = Some(client);
    let mut bytes = Vec::new();
    reply.write_resp(ctx.client.resp3, &mut bytes);
    ctx.out.raw(&bytes);
    Ok(())
}

fn args(ctx: &Ctx) -> Vec<Vec<u8>> {
    ctx.argv.iter().map(<[u8]>::to_vec).collect()
}

fn eval_generic(ctx: &mut Ctx, by_sha: bool, mode: EvalMode) -> CmdResult {
    let owned = args(ctx);
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    with_vm(ctx, |vm, host| {
        if by_sha {
            evalsha_command(vm, host, &argv, mode)
        } else {
            eval_command(vm, host, &argv, mode)
        }
    })
}

pub fn eval(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, EvalMode::ReadWrite)
}

pub fn evalsha(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, EvalMode::ReadWrite)
}

pub fn eval_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, EvalMode::ReadOnly)
}

pub fn evalsha_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, EvalMode::ReadOnly)
}

pub fn script(ctx: &mut Ctx) -> CmdResult {
    let owned = args(ctx);
    let argv: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    with_vm(ctx, |vm, _| script_command(vm, &argv))
}
