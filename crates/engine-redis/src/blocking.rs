//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN/MAX, BZMPOP).
//!
//! As in redis: a client that finds nothing registers on each of its keys, in FIFO order per
//! key. A write that gives a watched key data marks it *ready*; after the command that did it
//! (never in the middle of a transaction or script), ready keys are served in the order they
//! became ready, each to its waiters in the order they blocked. The served client's reply goes
//! through its outbox, followed by [`OutMsg::Unblocked`] so its connection resumes.

use crate::client::{Client, OutMsg};
use crate::server::Server;
use crate::types::list::End;
use resp::ReplyBuf;
use std::collections::{HashMap, HashSet, VecDeque};

#[derive(Clone, Debug)]
pub enum BlockOp {
    /// BLPOP / BRPOP: reply `[key, value]`.
    ListPop { end: End },
    /// BLMOVE / BRPOPLPUSH: reply `value`.
    ListMove { dest: Vec<u8>, from: End, to: End },
    /// BLMPOP: reply `[key, [values]]`.
    ListMPop { end: End, count: usize },
    /// BZPOPMIN / BZPOPMAX: reply `[key, member, score]`.
    ZPop { max: bool },
    /// BZMPOP: reply `[key, [[member, score], ...]]`.
    ZMPop { max: bool, count: usize },
    /// XREAD BLOCK: entries after `after[i]` of the i-th key.
    XRead {
        after: Vec<crate::types::stream::StreamId>,
        count: usize,
    },
    /// XREADGROUP BLOCK with `>`.
    XReadGroup {
        group: Vec<u8>,
        consumer: Vec<u8>,
        count: usize,
        noack: bool,
    },
    /// WAIT: no keys; served by replicas' acknowledgements (`replication`), the reply is the
    /// number of replicas that acknowledged `offset`.
    Wait { offset: u64, replicas: usize },
}

impl BlockOp {
    fn wants_list(&self) -> bool {
        matches!(
            self,
            BlockOp::ListPop { .. } | BlockOp::ListMove { .. } | BlockOp::ListMPop { .. }
        )
    }

    /// Reply on timeout: a null array, except for the single-value moves.
    pub fn timeout_reply(&self, out: &mut ReplyBuf) {
        match self {
            BlockOp::ListMove { .. } => out.null(),
            _ => out.null_array(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Box<[u8]>>,
    pub op: BlockOp,
    /// Absolute deadline in ms; `None` blocks forever.
    pub deadline: Option<i64>,
}

#[derive(Default)]
pub struct Blocking {
    pub waiting: HashMap<(usize, Box<[u8]>), VecDeque<u64>>,
    pub ready: Vec<(usize, Box<[u8]>)>,
    ready_set: HashSet<(usize, Box<[u8]>)>,
}

impl Blocking {
    /// A key received data: if anyone waits on it, queue it for serving.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.waiting.is_empty() {
            return;
        }
        let k = (db, Box::<[u8]>::from(key));
        if self.waiting.contains_key(&k) && self.ready_set.insert(k.clone()) {
            self.ready.push(k);
        }
    }

    pub fn block(&mut self, c: &mut Client, b: Blocked) {
        for k in &b.keys {
            let q = self.waiting.entry((b.db, k.clone())).or_default();
            if !q.contains(&c.id) {
                q.push_back(c.id);
            }
        }
        c.blocked = Some(b);
    }

    pub fn unblock(&mut self, c: &mut Client) -> Option<Blocked> {
        let b = c.blocked.take()?;
        for k in &b.keys {
            let key = (b.db, k.clone());
            if let Some(q) = self.waiting.get_mut(&key) {
                q.retain(|&i| i != c.id);
                if q.is_empty() {
                    self.waiting.remove(&key);
                }
            }
        }
        Some(b)
    }

    pub fn blocked_clients(&self) -> usize {
        let mut ids: HashSet<u64> = HashSet::new();
        for q in self.waiting.values() {
            ids.extend(q.iter());
        }
        ids.len()
    }
}

/// Tries to complete `op` on `key` for `client`, writing its reply; false if the key has no
/// data of the right type.
pub fn try_serve(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    key: &[u8],
    op: &BlockOp,
    out: &mut ReplyBuf,
) -> bool {
    if matches!(op, BlockOp::XRead { .. } | BlockOp::XReadGroup { .. }) {
        let keys = client
            .blocked
            .as_ref()
            .map(|b| b.keys.clone())
            .unwrap_or_default();
        return crate::cmd::streams::serve_blocked(srv, db, key, op, &keys, out);
    }
    let has_data = if op.wants_list() {
        matches!(srv.ks.get_list(db, key), Ok(Some(l)) if !l.is_empty())
    } else {
        matches!(srv.ks.get_zset(db, key), Ok(Some(z)) if !z.is_empty())
    };
    if !has_data {
        return false;
    }
    match op {
        BlockOp::ListPop { end } => {
            let v = crate::cmd::lists::pop_values(srv, client, db, key, *end, 1);
            out.array(2);
            out.bulk(key);
            out.bulk(&v[0]);
        }
        BlockOp::ListMPop { end, count } => {
            let v = crate::cmd::lists::pop_values(srv, client, db, key, *end, *count);
            out.array(2);
            out.bulk(key);
            out.array(v.len());
            for x in v {
                out.bulk(&x);
            }
        }
        BlockOp::ListMove { dest, from, to } => {
            match crate::cmd::lists::move_one(srv, client, db, key, dest, *from, *to) {
                Ok(Some(v)) => out.bulk(&v),
                Ok(None) => return false,
                Err(e) => out.error(&e.0),
            }
        }
        BlockOp::ZPop { max } => {
            let v = crate::cmd::zsets::pop_members(srv, client, db, key, *max, 1);
            out.array(3);
            out.bulk(key);
            out.bulk(&v[0].0);
            out.double(v[0].1);
        }
        BlockOp::XRead { .. } | BlockOp::XReadGroup { .. } => unreachable!("served above"),
        BlockOp::Wait { .. } => return false,
        BlockOp::ZMPop { max, count } => {
            let v = crate::cmd::zsets::pop_members(srv, client, db, key, *max, *count);
            out.array(2);
            out.bulk(key);
            out.array(v.len());
            for (m, s) in v {
                out.array(2);
                out.bulk(&m);
                out.double(s);
            }
        }
    }
    true
}

/// Serves clients blocked on keys that became ready.
pub fn serve_ready(srv: &mut Server, current: &mut Client) {
    let mut rounds = 0;
    while !srv.blocking.ready.is_empty() && rounds < 10_000 {
        rounds += 1;
        let ready = std::mem::take(&mut srv.blocking.ready);
        srv.blocking.ready_set.clear();
        for (db, key) in ready {
            let Some(ids) = srv.blocking.waiting.get(&(db, key.clone())).cloned() else {
                continue;
            };
            for id in ids {
                if id == current.id {
                    continue;
                }
                let Some(mut c) = srv.clients.remove(&id) else {
                    continue;
                };
                let op = c.blocked.as_ref().map(|b| b.op.clone());
                let mut out = ReplyBuf::new(c.resp3);
                let served = match &op {
                    Some(op) => try_serve(srv, &mut c, db, &key, op, &mut out),
                    None => false,
                };
                if served {
                    if let Some(op) = &op {
                        crate::persistence::propagate::served(srv, db, &key, op);
                        crate::persistence::propagate::flush(srv);
                    }
                    srv.blocking.unblock(&mut c);
                    c.outbox.send(OutMsg::Data(out.buf));
                    c.outbox.send(OutMsg::Unblocked);
                }
                srv.clients.insert(id, c);
                if !served {
                    break;
                }
            }
        }
    }
}

/// The deadline passed: reply the timeout value if the client is still blocked.
pub fn timeout_client(srv: &mut Server, id: u64, out: &mut Vec<u8>) {
    let Some(c) = srv.clients.get_mut(&id) else {
        return;
    };
    let resp3 = c.resp3;
    let expired = c
        .blocked
        .as_ref()
        .is_some_and(|b| b.deadline.is_some_and(|d| d <= srv.ks.now));
    if !expired {
        return;
    }
    let b = srv.blocking.unblock(c).expect("blocked");
    let mut r = ReplyBuf::new(resp3);
    match b.op {
        BlockOp::Wait { offset, .. } => r.int(crate::replication::acked(srv, offset) as i64),
        _ => b.op.timeout_reply(&mut r),
    }
    out.extend_from_slice(&r.buf);
}
