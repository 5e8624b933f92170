//! Lua scripting as Redis 7.0 does it: EVAL/EVALSHA/SCRIPT over one Lua 5.1 VM, the `redis`
//! API (`call`, `pcall`, `error_reply`, `status_reply`, `sha1hex`, `log`, `setresp`, ...), the
//! Redis <-> Lua type conversions, the cjson/cmsgpack/bit/struct libraries, a sandbox with
//! read-only globals, a SHA1 script cache, and `lua-time-limit` with BUSY and SCRIPT KILL.
//!
//! The engine plugs in through [`ScriptHost`]: the scripting layer never touches the keyspace,
//! it hands each `redis.call` argument vector to the host and converts the [`ScriptReply`] back.
//!
//! ```text
//!  connection A                      Scripting (one Lua VM, behind the keyspace lock)
//!  EVAL ──► engine takes keyspace ──► run script ──► redis.call ──► ScriptHost::call ──┐
//!                                        ▲  hook every 100k instructions: kill flag?    │
//!  connection B                          │                                              │
//!  GET  ──► ScriptControl::busy()? ──► -BUSY (after lua-time-limit), else waits for lock│
//!  SCRIPT KILL ──► ScriptControl::kill() (no lock needed) ──► sets the kill flag ◄──────┘
//! ```

mod commands;
mod control;
mod convert;
pub mod functions;
mod lib_bit;
mod lib_cjson;
mod lib_cmsgpack;
mod lib_math;
mod lib_struct;
mod reply;
mod vm;

pub use commands::{eval_command, evalsha_command, script_command, script_kill, EvalMode};
pub use control::{KillError, ScriptControl, BUSY_ERROR, BUSY_FUNCTION_ERROR};
pub use reply::ScriptReply;
pub use vm::Scripting;

/// What a script's `redis.call` needs from the engine.
///
/// The host runs one command on the script's behalf, with the checks Redis applies to commands
/// called from scripts. Errors come back as [`ScriptReply::Error`] with Redis's text (no leading
/// `-`), e.g. `ERR Unknown Redis command called from script`, `ERR Wrong number of args calling
/// Redis command from script`, `ERR This Redis command is not allowed from script`, `ERR Write
/// commands are not allowed from read-only scripts.` (when [`CallOptions::read_only`]), or the
/// command's own error.
pub trait ScriptHost {
    /// Runs `argv` (command name first) and returns its reply, in RESP3 shapes when
    /// `opts.resp == 3` (the script called `redis.setresp(3)`).
    fn call(&mut self, argv: &[&[u8]], opts: &CallOptions) -> ScriptReply;
    /// Whether any command run so far by this script changed the dataset (such a script can no
    /// longer be killed).
    fn has_written(&self) -> bool;
    /// `redis.log`: one line for the server log at `level`.
    fn log(&mut self, level: LogLevel, message: &[u8]);
    /// `redis.acl_check_cmd`: whether the calling user may run `argv`; `None` if the command
    /// does not exist.
    fn acl_check(&mut self, argv: &[&[u8]]) -> Option<bool>;
}

/// How commands called from the running script must behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOptions {
    /// Protocol of the replies the script wants (2 or 3).
    pub resp: u8,
    /// EVAL_RO/EVALSHA_RO or a `#!lua flags=no-writes` script: write commands are refused.
    pub read_only: bool,
    /// `#!lua flags=allow-oom`: deny-OOM commands may run over maxmemory.
    pub allow_oom: bool,
}

/// `redis.log` levels (`redis.LOG_DEBUG` ... `redis.LOG_WARNING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

#[cfg(test)]
mod tests;
