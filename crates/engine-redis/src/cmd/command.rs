//! COMMAND and the subcommand half of the command table: COMMAND [COUNT | LIST | INFO | DOCS |
//! GETKEYS | GETKEYSANDFLAGS | HELP].
//!
//! [`SUBCOMMANDS`] lists the subcommands of the container commands (`config|get`,
//! `client|list`, ...) the way redis 7.0's table has them: own arity, flags, key position and
//! group, the container's handler. The dispatcher never looks here (the container's handler
//! parses its subcommand); COMMAND LIST/INFO and key extraction do.

use super::c;
use super::keys::{getkeys, has_keys, GetKeys};
use super::server::{self, acl_categories};
use super::{
    err, lookup, unknown_subcommand, CmdResult, CommandSpec, Ctx, ADMIN, ALLOW_BUSY, DENYOOM,
    LOADING, NOSCRIPT, PUBSUB, RANDOM, READONLY, STALE, SYNTAX, TABLE, WRITE,
};
use crate::util::{eq_ignore_case, lower};
use resp::request::Argv;

/// Subcommands of the container commands, sorted by full name.
#[rustfmt::skip]
pub static SUBCOMMANDS: &[CommandSpec] = &[
    c!("acl|cat", -2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|deluser", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|dryrun", -4, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|genpass", -2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|getuser", 3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|help", 2, LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|list", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|load", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|log", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|save", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|setuser", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|users", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("acl|whoami", 2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", crate::acl::command::acl),
    c!("client|caching", 3, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|getname", 2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|getredir", 2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|help", 2, LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|id", 2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|info", 2, NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "connection", server::client),
    c!("client|kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|list", -2, ADMIN | NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "connection", server::client),
    c!("client|no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|no-touch", 3, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|reply", 3, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|setname", 3, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|setinfo", 4, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|tracking", -3, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|trackinginfo", 2, NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("client|unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "connection", server::client),
    c!("cluster|addslots", -3, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|addslotsrange", -4, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|bumpepoch", 2, ADMIN | STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|count-failure-reports", 3, ADMIN | STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|countkeysinslot", 3, STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|delslots", -3, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|delslotsrange", -4, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|failover", -2, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|flushslots", 2, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|forget", 3, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|getkeysinslot", 4, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|help", 2, LOADING | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|info", 2, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|keyslot", 3, STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|links", 2, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|meet", -4, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|myid", 2, STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|nodes", 2, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|replicas", 3, ADMIN | STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|replicate", 3, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|reset", -2, ADMIN | STALE | NOSCRIPT, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|saveconfig", 2, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|set-config-epoch", 3, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|setslot", -4, ADMIN | STALE, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|shards", 2, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|slaves", 3, ADMIN | STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("cluster|slots", 2, STALE | RANDOM, 0, 0, 0, "cluster", server::cluster_disabled),
    c!("command|count", 2, LOADING | STALE, 0, 0, 0, "server", self::command),
    c!("command|docs", -2, LOADING | STALE | RANDOM, 0, 0, 0, "server", self::command),
    c!("command|getkeys", -4, LOADING | STALE, 0, 0, 0, "server", self::command),
    c!("command|getkeysandflags", -4, LOADING | STALE, 0, 0, 0, "server", self::command),
    c!("command|help", 2, LOADING | STALE, 0, 0, 0, "server", self::command),
    c!("command|info", -2, LOADING | STALE | RANDOM, 0, 0, 0, "server", self::command),
    c!("command|list", -2, LOADING | STALE | RANDOM, 0, 0, 0, "server", self::command),
    c!("config|get", -3, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", server::config),
    c!("config|help", 2, LOADING | STALE, 0, 0, 0, "server", server::config),
    c!("config|resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", server::config),
    c!("config|rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", server::config),
    c!("config|set", -4, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", server::config),
    c!("latency|doctor", 2, ADMIN | NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::latency),
    c!("latency|help", 2, LOADING | STALE, 0, 0, 0, "server", server::latency),
    c!("latency|histogram", -2, ADMIN | NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::latency),
    c!("latency|history", 3, ADMIN | NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::latency),
    c!("latency|latest", 2, ADMIN | NOSCRIPT | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::latency),
    c!("latency|reset", -2, ADMIN | NOSCRIPT | LOADING | STALE, 0, 0, 0, "server", server::latency),
    c!("memory|doctor", 2, RANDOM, 0, 0, 0, "server", server::memory),
    c!("memory|help", 2, LOADING | STALE, 0, 0, 0, "server", server::memory),
    c!("memory|malloc-stats", 2, RANDOM, 0, 0, 0, "server", server::memory),
    c!("memory|purge", 2, 0, 0, 0, 0, "server", server::memory),
    c!("memory|stats", 2, RANDOM, 0, 0, 0, "server", server::memory),
    c!("memory|usage", -3, READONLY, 2, 2, 1, "server", server::memory),
    c!("module|help", 2, LOADING | STALE, 0, 0, 0, "server", server::module),
    c!("module|list", 2, ADMIN | NOSCRIPT | RANDOM, 0, 0, 0, "server", server::module),
    c!("module|load", -3, ADMIN | NOSCRIPT, 0, 0, 0, "server", server::module),
    c!("module|loadex", -3, ADMIN | NOSCRIPT, 0, 0, 0, "server", server::module),
    c!("module|unload", 3, ADMIN | NOSCRIPT, 0, 0, 0, "server", server::module),
    c!("object|encoding", 3, READONLY | RANDOM, 2, 2, 1, "generic", super::keys::object),
    c!("object|freq", 3, READONLY | RANDOM, 2, 2, 1, "generic", super::keys::object),
    c!("object|help", 2, LOADING | STALE, 0, 0, 0, "generic", super::keys::object),
    c!("object|idletime", 3, READONLY | RANDOM, 2, 2, 1, "generic", super::keys::object),
    c!("object|refcount", 3, READONLY | RANDOM, 2, 2, 1, "generic", super::keys::object),
    c!("pubsub|channels", -2, PUBSUB | LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("pubsub|help", 2, LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("pubsub|numpat", 2, PUBSUB | LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("pubsub|numsub", -2, PUBSUB | LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("pubsub|shardchannels", -2, PUBSUB | LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("pubsub|shardnumsub", -2, PUBSUB | LOADING | STALE, 0, 0, 0, "pubsub", super::pubsub_cmds::pubsub),
    c!("script|debug", 3, NOSCRIPT, 0, 0, 0, "scripting", super::scripting::script),
    c!("script|exists", -3, NOSCRIPT, 0, 0, 0, "scripting", super::scripting::script),
    c!("script|flush", -2, NOSCRIPT, 0, 0, 0, "scripting", super::scripting::script),
    c!("script|help", 2, LOADING | STALE, 0, 0, 0, "scripting", super::scripting::script),
    c!("script|kill", 2, NOSCRIPT | ALLOW_BUSY, 0, 0, 0, "scripting", super::scripting::script),
    c!("script|load", 3, NOSCRIPT | STALE, 0, 0, 0, "scripting", super::scripting::script),
    c!("slowlog|get", -2, ADMIN | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::slowlog),
    c!("slowlog|help", 2, LOADING | STALE, 0, 0, 0, "server", server::slowlog),
    c!("slowlog|len", 2, ADMIN | LOADING | STALE | RANDOM, 0, 0, 0, "server", server::slowlog),
    c!("slowlog|reset", 2, ADMIN | LOADING | STALE, 0, 0, 0, "server", server::slowlog),
    c!("xgroup|create", -5, WRITE | DENYOOM, 2, 2, 1, "stream", super::streams::xgroup),
    c!("xgroup|createconsumer", 5, WRITE | DENYOOM, 2, 2, 1, "stream", super::streams::xgroup),
    c!("xgroup|delconsumer", 5, WRITE, 2, 2, 1, "stream", super::streams::xgroup),
    c!("xgroup|destroy", 4, WRITE, 2, 2, 1, "stream", super::streams::xgroup),
    c!("xgroup|help", 2, LOADING | STALE, 0, 0, 0, "stream", super::streams::xgroup),
    c!("xgroup|setid", -5, WRITE, 2, 2, 1, "stream", super::streams::xgroup),
    c!("xinfo|consumers", 4, READONLY | RANDOM, 2, 2, 1, "stream", super::streams::xinfo),
    c!("xinfo|groups", 3, READONLY, 2, 2, 1, "stream", super::streams::xinfo),
    c!("xinfo|help", 2, LOADING | STALE, 0, 0, 0, "stream", super::streams::xinfo),
    c!("xinfo|stream", -3, READONLY, 2, 2, 1, "stream", super::streams::xinfo),
];

/// The subcommands of a container (empty for other commands).
pub fn subcommands_of(container: &str) -> impl Iterator<Item = &'static CommandSpec> + '_ {
    SUBCOMMANDS
        .iter()
        .filter(move |s| s.name.split_once('|').is_some_and(|(c, _)| c == container))
}

/// The spec of `container`'s subcommand `sub` (any case), if it has one by that name.
pub fn subcommand(container: &CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    SUBCOMMANDS.iter().find(|s| {
        s.name.split_once('|').is_some_and(|(c, name)| {
            c == container.name && name.as_bytes().eq_ignore_ascii_case(sub)
        })
    })
}

/// A command or `container|sub` name (any case), as COMMAND INFO/DOCS accept them.
pub fn lookup_full(name: &[u8]) -> Option<&'static CommandSpec> {
    let l = lower(name);
    if l.contains('|') {
        return SUBCOMMANDS.iter().find(|s| s.name == l);
    }
    lookup(name)
}

/// The spec that describes a whole command line: the subcommand's for a container command.
/// `Err` when the container does not know the subcommand.
fn resolve(argv: &Argv) -> Result<&'static CommandSpec, ()> {
    let top = lookup(&argv[0]).ok_or(())?;
    if !top.has(super::CONTAINER) {
        return Ok(top);
    }
    let Some(sub) = argv.get(1) else {
        return Ok(top);
    };
    subcommand(top, sub).ok_or(())
}

/// ACL categories (COMMAND INFO, COMMAND LIST FILTERBY ACLCAT): redis's, from the ACL command
/// table, which knows subcommands by their full name too.
fn categories(spec: &'static CommandSpec) -> Vec<String> {
    if !spec.name.contains('|') {
        return acl_categories(spec);
    }
    let bits = crate::acl::lookup_command(spec.name.as_bytes())
        .and_then(crate::acl::command)
        .map_or(0, |c| c.categories);
    crate::acl::CATEGORY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| format!("@{n}"))
        .collect()
}

fn entry(ctx: &mut Ctx, spec: &'static CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(spec.name.as_bytes());
    ctx.out.int(spec.arity as i64);
    let flags = spec.flag_names();
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.simple(f);
    }
    ctx.out.int(spec.first_key as i64);
    ctx.out.int(spec.last_key as i64);
    ctx.out.int(spec.step as i64);
    let cats = categories(spec);
    ctx.out.set(cats.len());
    for c in cats {
        ctx.out.simple(&c);
    }
    ctx.out.set(0);
    ctx.out.array(0);
    let subs: Vec<&CommandSpec> = if spec.name.contains('|') {
        Vec::new()
    } else {
        subcommands_of(spec.name).collect()
    };
    ctx.out.array(subs.len());
    for s in subs {
        entry(ctx, s);
    }
}

/// Every name COMMAND LIST knows: commands, then each container's subcommands.
fn all_names() -> impl Iterator<Item = &'static CommandSpec> {
    TABLE.iter().chain(SUBCOMMANDS.iter())
}

pub fn command(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len() == 1 {
        ctx.out.array(TABLE.len());
        for spec in TABLE {
            entry(ctx, spec);
        }
        return Ok(());
    }
    match lower(&a[1]).as_str() {
        "count" if a.len() == 2 => ctx.out.int(TABLE.len() as i64),
        "info" => {
            let specs: Vec<Option<&CommandSpec>> = if a.len() == 2 {
                TABLE.iter().map(Some).collect()
            } else {
                a.iter().skip(2).map(lookup_full).collect()
            };
            ctx.out.array(specs.len());
            for s in specs {
                match s {
                    Some(spec) => entry(ctx, spec),
                    None => ctx.out.null_array(),
                }
            }
        }
        "docs" => {
            let specs: Vec<&CommandSpec> = if a.len() == 2 {
                TABLE.iter().collect()
            } else {
                a.iter().skip(2).filter_map(lookup_full).collect()
            };
            ctx.out.map(specs.len());
            for s in specs {
                ctx.out.bulk(s.name.as_bytes());
                ctx.out.map(3);
                ctx.out.bulk(b"summary");
                ctx.out.bulk(b"");
                ctx.out.bulk(b"since");
                ctx.out.bulk(b"1.0.0");
                ctx.out.bulk(b"group");
                ctx.out.bulk(s.group.as_bytes());
            }
        }
        "list" => {
            let names: Vec<&str> = match a.len() {
                2 => all_names().map(|s| s.name).collect(),
                5 if eq_ignore_case(&a[2], "filterby") => {
                    let v = &a[4];
                    match lower(&a[3]).as_str() {
                        "pattern" => all_names()
                            .filter(|s| crate::util::glob_match(v, s.name.as_bytes(), true))
                            .map(|s| s.name)
                            .collect(),
                        "aclcat" => all_names()
                            .filter(|s| {
                                categories(s)
                                    .iter()
                                    .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(v))
                            })
                            .map(|s| s.name)
                            .collect(),
                        // No modules are ever loaded.
                        "module" => Vec::new(),
                        _ => return err(SYNTAX),
                    }
                }
                _ => return err(SYNTAX),
            };
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        sub @ ("getkeys" | "getkeysandflags") if a.len() >= 4 => {
            let with_flags = sub == "getkeysandflags";
            let line = Argv::from_slices(&a.iter().skip(2).collect::<Vec<_>>());
            let Ok(spec) = resolve(&line) else {
                return err("ERR Invalid command specified");
            };
            let argc = line.len() as i32;
            if !has_keys(spec) {
                return err("ERR The command has no key arguments");
            }
            if (spec.arity > 0 && argc != spec.arity) || argc < -spec.arity {
                return err("ERR Invalid number of arguments specified for command");
            }
            let keys = match getkeys(spec, &line) {
                GetKeys::Keys(k) => k,
                GetKeys::NoKeys => return err("ERR The command has no key arguments"),
                GetKeys::Invalid => return err("ERR Invalid arguments specified for command"),
            };
            let flags = super::keys::key_flags(spec, &line, keys.len());
            ctx.out.array(keys.len());
            for (k, f) in keys.iter().zip(flags) {
                if with_flags {
                    ctx.out.array(2);
                    ctx.out.bulk(&line[*k]);
                    let names = super::keys::key_flag_names(f);
                    ctx.out.set(names.len());
                    for n in names {
                        ctx.out.simple(n);
                    }
                } else {
                    ctx.out.bulk(&line[*k]);
                }
            }
        }
        "help" => {
            let lines = [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "COUNT",
                "DOCS [<command-name> ...]",
                "GETKEYS <full-command>",
                "GETKEYSANDFLAGS <full-command>",
                "INFO [<command-name> ...]",
                "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
                "HELP",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "count" | "getkeys" | "getkeysandflags" => return Err(super::sub_arity(ctx)),
        _ => return Err(unknown_subcommand(ctx)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CONTAINER flag of the command table and the subcommand table say the same.
    #[test]
    fn containers_are_the_commands_with_subcommands() {
        let mut flagged: Vec<&str> = super::super::TABLE
            .iter()
            .filter(|s| s.has(super::super::CONTAINER))
            .map(|s| s.name)
            .collect();
        let mut with_subs: Vec<&str> = SUBCOMMANDS
            .iter()
            .filter_map(|s| s.name.split_once('|').map(|(c, _)| c))
            .collect();
        flagged.sort_unstable();
        with_subs.sort_unstable();
        with_subs.dedup();
        assert_eq!(flagged, with_subs);
    }
}
