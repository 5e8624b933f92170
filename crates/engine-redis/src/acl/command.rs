//! The ACL command (SETUSER, DELUSER, GETUSER, LIST, USERS, WHOAMI, CAT, DRYRUN, LOG, GENPASS,
//! LOAD/SAVE, HELP) and authentication (AUTH, HELLO's AUTH option), with redis 7.0's replies.

use super::{
    check_user, command, full_name, kill_clients_of, kill_pubsub_clients_if_needed, log_denial,
    rules::has_spaces, Denied, LogContext, LogReason, User, CATEGORY_NAMES, DEFAULT_USER,
};
use crate::cmd::{err, lookup, sub_arity, unknown_subcommand, CmdResult, Ctx, Error, NOT_INT};
use crate::util::{eq_ignore_case, lower, parse_i64};
use resp::request::Argv;

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH and HELLO AUTH: authenticates `client` as `user` (`None`: the default user, AUTH's
/// one-argument form). A failure is logged in the ACL LOG under the name the client tried.
pub fn authenticate(ctx: &mut Ctx, user: Option<&[u8]>, pass: &[u8]) -> CmdResult {
    if user.is_none() && ctx.srv.acl.default_user().nopass {
        return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    let name = user.unwrap_or(DEFAULT_USER.as_bytes());
    match ctx.srv.acl.authenticate(name, pass) {
        Some(tag) => {
            // Internal clients (control socket) keep their own privileges.
            if ctx.client.user.is_some() {
                ctx.client.user = Some(tag);
            }
            ctx.client.authenticated = true;
            Ok(())
        }
        None => {
            let context = if ctx.client.multi.is_some() {
                LogContext::Multi
            } else {
                LogContext::Toplevel
            };
            let object = ctx.argv[0].to_vec();
            log_denial(ctx.srv, name, ctx.client, LogReason::Auth, context, &object);
            err(WRONGPASS)
        }
    }
}

pub fn auth(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match a.len() {
        2 => authenticate(ctx, None, &a[1])?,
        3 => authenticate(ctx, Some(&a[1]), &a[2])?,
        _ => return err(crate::cmd::SYNTAX),
    }
    ctx.out.ok();
    Ok(())
}

pub fn acl(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    match lower(&a[1]).as_str() {
        "setuser" if a.len() >= 3 => setuser(ctx)?,
        "deluser" if a.len() >= 3 => deluser(ctx)?,
        "getuser" if a.len() == 3 => getuser(ctx),
        "list" if a.len() == 2 => {
            let lines: Vec<Vec<u8>> = ctx
                .srv
                .acl
                .users
                .values()
                .map(|u| {
                    let mut l = format!("user {} ", u.name()).into_bytes();
                    l.extend_from_slice(&u.describe());
                    l
                })
                .collect();
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.bulk(&l);
            }
        }
        "users" if a.len() == 2 => {
            ctx.out.array(ctx.srv.acl.users.len());
            for name in ctx.srv.acl.users.keys() {
                ctx.out.bulk(name.as_bytes());
            }
        }
        "whoami" if a.len() == 2 => {
            let name = ctx
                .client
                .user
                .as_ref()
                .map_or(DEFAULT_USER.to_string(), |u| u.name.clone());
            ctx.out.bulk(name.as_bytes());
        }
        "load" | "save" => return err("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."),
        "cat" if a.len() == 2 => {
            ctx.out.array(CATEGORY_NAMES.len());
            for c in CATEGORY_NAMES {
                ctx.out.bulk(c.as_bytes());
            }
        }
        "cat" if a.len() == 3 => {
            let Some(bit) = super::category_by_name(&a[2]) else {
                let name: String = String::from_utf8_lossy(&a[2]).chars().take(128).collect();
                return Err(Error::msg(format!("ERR Unknown category '{name}'")));
            };
            // The commands of the category this node serves (a subcommand by its container).
            let names: Vec<&str> = super::commands::COMMANDS
                .iter()
                .filter(|c| c.categories & bit != 0)
                .filter(|c| {
                    let top = command(c.parent).unwrap_or(c);
                    lookup(top.name.as_bytes()).is_some()
                })
                .map(|c| c.name)
                .collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        "genpass" if a.len() <= 3 => {
            let bits = if a.len() == 3 {
                parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?
            } else {
                256
            };
            if !(1..=4096).contains(&bits) {
                return err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            }
            let chars = (bits as usize).div_ceil(4);
            let s: String = (0..chars)
                .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
                .collect();
            ctx.out.bulk(s.as_bytes());
        }
        "log" if a.len() <= 3 => log(ctx)?,
        "dryrun" if a.len() >= 4 => dryrun(ctx)?,
        "help" if a.len() == 2 => {
            let lines = [
                "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CAT [<category>]",
                "    List all commands that belong to <category>, or all command categories",
                "    when no category is specified.",
                "DELUSER <username> [<username> ...]",
                "    Delete a list of users.",
                "DRYRUN <username> <command> [<arg> ...]",
                "    Returns whether the user can execute the given command without executing the command.",
                "GETUSER <username>",
                "    Get the user's details.",
                "GENPASS [<bits>]",
                "    Generate a secure 256-bit user password. The optional `bits` argument can",
                "    be used to specify a different size.",
                "LIST",
                "    Show users details in config file format.",
                "LOAD",
                "    Reload users from the ACL file.",
                "LOG [<count> | RESET]",
                "    Show the ACL log entries.",
                "SAVE",
                "    Save the current config to the ACL file.",
                "SETUSER <username> <attribute> [<attribute> ...]",
                "    Create or modify a user with the specified attributes.",
                "USERS",
                "    List all the registered usernames.",
                "WHOAMI",
                "    Return the current connection username.",
                "HELP",
                "    Print this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "setuser" | "deluser" | "getuser" | "list" | "users" | "whoami" | "cat" | "genpass"
        | "log" | "dryrun" | "help" => return Err(sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

fn setuser(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let Ok(name) = std::str::from_utf8(&a[2]) else {
        return err("ERR Usernames can't contain spaces or null characters");
    };
    if has_spaces(name.as_bytes()) {
        return err("ERR Usernames can't contain spaces or null characters");
    }
    let rules: Vec<&[u8]> = a.iter().skip(3).collect();
    let existing = ctx.srv.acl.users.get(name);
    let base = existing.cloned().unwrap_or_else(|| User::new(name));
    let changed = base.with_rules(&rules).map_err(Error::msg)?;
    if existing.is_some() {
        kill_pubsub_clients_if_needed(ctx.srv, ctx.client, name, &base, &changed);
    }
    changed.publish();
    ctx.srv.acl.users.insert(name.to_string(), changed);
    ctx.out.ok();
    Ok(())
}

fn deluser(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.iter().skip(2).any(|n| n == DEFAULT_USER.as_bytes()) {
        return err("ERR The 'default' user cannot be removed");
    }
    let mut deleted = 0;
    for n in a.iter().skip(2) {
        let Ok(name) = std::str::from_utf8(n) else {
            continue;
        };
        if ctx.srv.acl.users.remove(name).is_some() {
            kill_clients_of(ctx.srv, ctx.client, name);
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

fn describe_selector(ctx: &mut Ctx, s: &super::Selector) {
    ctx.out.bulk(b"commands");
    ctx.out.bulk(s.describe_commands().as_bytes());
    ctx.out.bulk(b"keys");
    ctx.out.bulk(&s.describe_keys());
    ctx.out.bulk(b"channels");
    ctx.out.bulk(&s.describe_channels());
}

fn getuser(ctx: &mut Ctx) {
    let Some(u) = std::str::from_utf8(&ctx.argv[2])
        .ok()
        .and_then(|n| ctx.srv.acl.users.get(n))
        .cloned()
    else {
        ctx.out.null();
        return;
    };
    ctx.out.map(6);
    ctx.out.bulk(b"flags");
    let flags = u.flag_names();
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.bulk(f.as_bytes());
    }
    ctx.out.bulk(b"passwords");
    ctx.out.array(u.passwords.len());
    for p in &u.passwords {
        ctx.out.bulk(p.as_bytes());
    }
    describe_selector(ctx, u.root());
    ctx.out.bulk(b"selectors");
    ctx.out.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        ctx.out.map(3);
        describe_selector(ctx, s);
    }
}

fn log(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let mut count = 10usize;
    if a.len() == 3 {
        if eq_ignore_case(&a[2], "reset") {
            ctx.srv.acl.log.clear();
            ctx.out.ok();
            return Ok(());
        }
        count = parse_i64(&a[2]).ok_or(Error::msg(NOT_INT))?.max(0) as usize;
    }
    let now = crate::util::now_ms();
    let entries: Vec<_> = ctx.srv.acl.log.iter().take(count).collect();
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.map(7);
        ctx.out.bulk(b"count");
        ctx.out.int(e.count as i64);
        ctx.out.bulk(b"reason");
        ctx.out.bulk(e.reason.name().as_bytes());
        ctx.out.bulk(b"context");
        ctx.out.bulk(e.context.name().as_bytes());
        ctx.out.bulk(b"object");
        ctx.out.bulk(&e.object);
        ctx.out.bulk(b"username");
        ctx.out.bulk(&e.username);
        ctx.out.bulk(b"age-seconds");
        ctx.out.double((now - e.ctime_ms) as f64 / 1000.0);
        ctx.out.bulk(b"client-info");
        ctx.out.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let Some(user) = std::str::from_utf8(&a[2])
        .ok()
        .and_then(|n| ctx.srv.acl.users.get(n))
    else {
        return Err(Error::msg(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(&a[2])
        )));
    };
    let Some(spec) = lookup(&a[3]) else {
        return Err(Error::msg(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&a[3])
        )));
    };
    let argv = Argv::from_slices(&a.iter().skip(3).collect::<Vec<_>>());
    let argc = argv.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
        return Err(Error::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            full_name(spec, &argv)
        )));
    }
    match check_user(user, spec, &argv) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let text = match d {
                Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    full_name(spec, &argv)
                ),
                Denied::Key(i) => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&argv[i])
                ),
                Denied::Channel(i) => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&argv[i])
                ),
            };
            ctx.out.bulk(text.as_bytes());
        }
    }
    Ok(())
}
