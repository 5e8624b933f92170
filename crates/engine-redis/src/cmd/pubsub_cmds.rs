//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.

use super::{CmdResult, Ctx};
use crate::pubsub;
use crate::util::glob_match;

/// Whether `argv` is a command whose replies are subscription confirmations: redis sends those
/// even under CLIENT REPLY OFF/SKIP.
pub fn replies_are_pushes(argv: &resp::request::Argv) -> bool {
    argv.get(0).is_some_and(|name| {
        ["subscribe", "unsubscribe", "psubscribe", "punsubscribe"]
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c.as_bytes()))
    })
}

fn confirm(ctx: &mut Ctx, kind: &[u8], name: Option<&[u8]>) {
    let count = ctx.client.subscription_count();
    ctx.out.push(3);
    ctx.out.bulk(kind);
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

pub fn subscribe(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    for ch in a.iter().skip(1) {
        pubsub::subscribe(ctx.srv, ctx.client, ch);
        confirm(ctx, b"subscribe", Some(ch));
    }
    Ok(())
}

pub fn psubscribe(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    for p in a.iter().skip(1) {
        pubsub::psubscribe(ctx.srv, ctx.client, p);
        confirm(ctx, b"psubscribe", Some(p));
    }
    Ok(())
}

pub fn unsubscribe(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let targets: Vec<Vec<u8>> = if a.len() > 1 {
        a.iter().skip(1).map(|c| c.to_vec()).collect()
    } else {
        let mut v: Vec<Vec<u8>> = ctx.client.subscriptions.iter().cloned().collect();
        v.sort();
        v
    };
    if targets.is_empty() {
        confirm(ctx, b"unsubscribe", None);
    }
    for ch in targets {
        pubsub::unsubscribe(ctx.srv, ctx.client, &ch);
        confirm(ctx, b"unsubscribe", Some(&ch));
    }
    Ok(())
}

pub fn punsubscribe(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let targets: Vec<Vec<u8>> = if a.len() > 1 {
        a.iter().skip(1).map(|c| c.to_vec()).collect()
    } else {
        let mut v: Vec<Vec<u8>> = ctx.client.patterns.iter().cloned().collect();
        v.sort();
        v
    };
    if targets.is_empty() {
        confirm(ctx, b"punsubscribe", None);
    }
    for p in targets {
        pubsub::punsubscribe(ctx.srv, ctx.client, &p);
        confirm(ctx, b"punsubscribe", Some(&p));
    }
    Ok(())
}

pub fn publish(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let n = pubsub::publish(ctx.srv, Some(ctx.client), &a[1], &a[2], Some(ctx.out));
    ctx.out.int(n as i64);
    Ok(())
}

pub fn pubsub(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    let sub = crate::util::lower(&a[1]);
    match sub.as_str() {
        "channels" if a.len() <= 3 => {
            let mut chans: Vec<Vec<u8>> = ctx
                .srv
                .pubsub
                .channels
                .keys()
                .filter(|c| a.len() < 3 || glob_match(&a[2], c, false))
                .cloned()
                .collect();
            chans.sort();
            ctx.out.array(chans.len());
            for c in chans {
                ctx.out.bulk(&c);
            }
        }
        "numsub" => {
            ctx.out.map(a.len() - 2);
            for c in a.iter().skip(2) {
                let n = ctx.srv.pubsub.channels.get(c).map_or(0, Vec::len);
                ctx.out.bulk(c);
                ctx.out.int(n as i64);
            }
        }
        "numpat" if a.len() == 2 => {
            let n = ctx.srv.pubsub.patterns.len();
            ctx.out.int(n as i64);
        }
        "shardchannels" if a.len() <= 3 => ctx.out.array(0),
        "shardnumsub" => {
            ctx.out.map(a.len() - 2);
            for c in a.iter().skip(2) {
                ctx.out.bulk(c);
                ctx.out.int(0);
            }
        }
        "help" => {
            let lines = [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        "channels" | "numpat" | "shardchannels" => return Err(super::sub_arity(ctx)),
        _ => return Err(super::unknown_subcommand(ctx)),
    }
    Ok(())
}
