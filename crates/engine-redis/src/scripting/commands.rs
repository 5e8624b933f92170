//! EVAL, EVALSHA (and their _RO forms) and SCRIPT: argument handling and replies. The command
//! table checks arity before these run; SCRIPT KILL goes through [`script_kill`] because it
//! must work while the keyspace is held by the script it kills.

use super::control::ScriptControl;
use super::vm::Scripting;
use super::{ScriptHost, ScriptReply};

/// EVAL/EVALSHA or their read-only variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalMode {
    ReadWrite,
    ReadOnly,
}

/// `numkeys` and the split of the remaining arguments into KEYS and ARGV.
/// KEYS and ARGV of an EVAL-style argument vector.
type KeysAndArgs<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

fn split_keys<'a>(argv: &'a [&'a [u8]]) -> Result<KeysAndArgs<'a>, ScriptReply> {
    let numkeys = std::str::from_utf8(argv[2])
        .ok()
        .filter(|s| !s.starts_with('+') && !s.is_empty())
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ScriptReply::err("ERR value is not an integer or out of range"))?;
    let rest = &argv[3..];
    if numkeys < 0 {
        return Err(ScriptReply::err("ERR Number of keys can't be negative"));
    }
    if numkeys as usize > rest.len() {
        return Err(ScriptReply::err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(numkeys as usize))
}

/// `EVAL script numkeys key... arg...`
pub fn eval_command(
    s: &mut Scripting,
    host: &mut dyn ScriptHost,
    argv: &[&[u8]],
    mode: EvalMode,
) -> ScriptReply {
    let (keys, args) = match split_keys(argv) {
        Ok(split) => split,
        Err(e) => return e,
    };
    match s.load(argv[1]) {
        Ok(sha) => s.run(&sha, host, keys, args, mode == EvalMode::ReadOnly),
        Err(e) => e,
    }
}

/// `EVALSHA sha1 numkeys key... arg...`
pub fn evalsha_command(
    s: &mut Scripting,
    host: &mut dyn ScriptHost,
    argv: &[&[u8]],
    mode: EvalMode,
) -> ScriptReply {
    let (keys, args) = match split_keys(argv) {
        Ok(split) => split,
        Err(e) => return e,
    };
    if argv[1].len() != 40 {
        return ScriptReply::err("NOSCRIPT No matching script. Please use EVAL.");
    }
    let sha = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
    s.run(&sha, host, keys, args, mode == EvalMode::ReadOnly)
}

/// SCRIPT KILL, answered from the shared control without the keyspace.
pub fn script_kill(control: &ScriptControl) -> ScriptReply {
    // A running function is FUNCTION KILL's to stop.
    match control.kill_kind(true) {
        Ok(()) => ScriptReply::Status("OK".into()),
        Err(e) => ScriptReply::err(e),
    }
}

const HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// `SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP ...` (`argv[0]` is SCRIPT).
pub fn script_command(s: &mut Scripting, argv: &[&[u8]]) -> ScriptReply {
    let sub =
        String::from_utf8_lossy(argv.get(1).copied().unwrap_or_default()).to_ascii_lowercase();
    let arity_error = || {
        ScriptReply::Error(format!(
            "ERR wrong number of arguments for 'script|{sub}' command"
        ))
    };
    match sub.as_str() {
        "load" if argv.len() == 3 => match s.load(argv[2]) {
            Ok(sha) => ScriptReply::Bulk(sha.into_bytes()),
            Err(e) => e,
        },
        "exists" if argv.len() >= 3 => ScriptReply::Array(
            argv[2..]
                .iter()
                .map(|sha| ScriptReply::Integer(s.exists(sha) as i64))
                .collect(),
        ),
        "flush" if argv.len() <= 3 => {
            if let Some(mode) = argv.get(2) {
                if !mode.eq_ignore_ascii_case(b"sync") && !mode.eq_ignore_ascii_case(b"async") {
                    return ScriptReply::err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
                }
            }
            match s.flush() {
                Ok(()) => ScriptReply::Status("OK".into()),
                Err(e) => ScriptReply::Error(format!("ERR {e}")),
            }
        }
        "kill" if argv.len() == 2 => script_kill(s.control()),
        "help" if argv.len() == 2 => ScriptReply::Array(
            HELP.iter()
                .map(|l| ScriptReply::Status(l.to_string()))
                .collect(),
        ),
        "debug" if argv.len() == 3 => {
            // The Lua debugger (LDB) is not implemented; turning it off is always possible.
            let mode = String::from_utf8_lossy(argv[2]).to_ascii_lowercase();
            match mode.as_str() {
                "no" => ScriptReply::Status("OK".into()),
                "yes" | "sync" => {
                    ScriptReply::err("ERR SCRIPT DEBUG is not supported by this server")
                }
                _ => ScriptReply::err("ERR Use SCRIPT DEBUG YES/SYNC/NO"),
            }
        }
        "load" | "exists" | "flush" | "kill" | "help" | "debug" => arity_error(),
        _ => ScriptReply::Error(format!(
            "ERR unknown subcommand '{}'. Try SCRIPT HELP.",
            String::from_utf8_lossy(argv.get(1).copied().unwrap_or_default())
        )),
    }
}
