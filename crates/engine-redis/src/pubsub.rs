//! Pub/sub registry: channel and pattern subscriptions, and message delivery.

use crate::client::Client;
use crate::server::Server;
use resp::ReplyBuf;
use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
pub struct PubSub {
    /// Channel → subscriber ids, in subscription order.
    pub channels: HashMap<Vec<u8>, Vec<u64>>,
    /// Pattern → subscriber ids (ordered for deterministic delivery).
    pub patterns: BTreeMap<Vec<u8>, Vec<u64>>,
}

fn message(resp3: bool, kind: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut r = ReplyBuf::new(resp3);
    r.push(parts.len() + 1);
    r.bulk(kind);
    for p in parts {
        r.bulk(p);
    }
    r.buf
}

/// Delivers a message to the channel's subscribers and matching patterns; returns how many
/// clients received it. A subscriber that is the current client gets it in `out` (before its
/// own reply, as in redis).
pub fn publish(
    srv: &mut Server,
    current: Option<&mut Client>,
    channel: &[u8],
    msg: &[u8],
    mut out: Option<&mut ReplyBuf>,
) -> usize {
    let mut n = 0;
    let mut cur = current;
    if let Some(ids) = srv.pubsub.channels.get(channel).cloned() {
        for id in ids {
            srv.deliver(
                cur.as_deref_mut(),
                id,
                |r3| message(r3, b"message", &[channel, msg]),
                out.as_deref_mut(),
            );
            n += 1;
        }
    }
    if !srv.pubsub.patterns.is_empty() {
        let matching: Vec<(Vec<u8>, Vec<u64>)> = srv
            .pubsub
            .patterns
            .iter()
            .filter(|(p, _)| crate::util::glob_match(p, channel, false))
            .map(|(p, ids)| (p.clone(), ids.clone()))
            .collect();
        for (pat, ids) in matching {
            for id in ids {
                srv.deliver(
                    cur.as_deref_mut(),
                    id,
                    |r3| message(r3, b"pmessage", &[&pat, channel, msg]),
                    out.as_deref_mut(),
                );
                n += 1;
            }
        }
    }
    srv.stats.pubsub_messages += 1;
    n
}

pub fn subscribe(srv: &mut Server, c: &mut Client, channel: &[u8]) -> bool {
    if !c.subscriptions.insert(channel.to_vec()) {
        return false;
    }
    srv.pubsub
        .channels
        .entry(channel.to_vec())
        .or_default()
        .push(c.id);
    true
}

pub fn unsubscribe(srv: &mut Server, c: &mut Client, channel: &[u8]) -> bool {
    if !c.subscriptions.remove(channel) {
        return false;
    }
    if let Some(ids) = srv.pubsub.channels.get_mut(channel) {
        ids.retain(|&i| i != c.id);
        if ids.is_empty() {
            srv.pubsub.channels.remove(channel);
        }
    }
    true
}

pub fn psubscribe(srv: &mut Server, c: &mut Client, pattern: &[u8]) -> bool {
    if !c.patterns.insert(pattern.to_vec()) {
        return false;
    }
    srv.pubsub
        .patterns
        .entry(pattern.to_vec())
        .or_default()
        .push(c.id);
    true
}

pub fn punsubscribe(srv: &mut Server, c: &mut Client, pattern: &[u8]) -> bool {
    if !c.patterns.remove(pattern) {
        return false;
    }
    if let Some(ids) = srv.pubsub.patterns.get_mut(pattern) {
        ids.retain(|&i| i != c.id);
        if ids.is_empty() {
            srv.pubsub.patterns.remove(pattern);
        }
    }
    true
}
