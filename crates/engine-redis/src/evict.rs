//! Eviction under `maxmemory` (redis's evict.c), every `maxmemory-policy`:
//! `noeviction`, `allkeys-lru|lfu|random`, `volatile-lru|lfu|random|ttl`.
//!
//! Before a command that may grow memory (`denyoom` in the table) runs while `used_memory` is
//! above `maxmemory - reserved-memory`, keys are evicted one at a time. Each choice samples
//! `maxmemory-samples` keys per DB (from all keys, or from the keys with a TTL for `volatile-*`)
//! into a pool of the 16 best candidates kept across choices, like redis's eviction pool, and
//! evicts the best one still alive. If nothing can be evicted the command gets the OOM error.

use crate::server::Server;
use crate::table::Keyed;
use rand::Rng;

const POOL_SIZE: usize = 16;
/// Bound on keys evicted for one command, so one command never stalls the server for long.
const MAX_EVICTIONS_PER_CALL: usize = 100_000;

#[derive(Clone, Copy, PartialEq)]
enum Strategy {
    Lru,
    Lfu,
    Random,
    Ttl,
}

/// A candidate: its "badness" (higher evicts first), db and key.
struct Candidate {
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// Evicts until memory is under the limit; false if that is impossible (the command must fail).
pub fn make_room(srv: &mut Server) -> bool {
    let limit = srv.config.memory_limit() as usize;
    if limit == 0 || srv.used_memory() <= limit {
        return true;
    }
    let policy = srv.config.policy;
    if policy == "noeviction" {
        return false;
    }
    let volatile = policy.starts_with("volatile");
    let strategy = match &policy[policy.find('-').map_or(0, |i| i + 1)..] {
        "lru" => Strategy::Lru,
        "lfu" => Strategy::Lfu,
        "random" => Strategy::Random,
        _ => Strategy::Ttl,
    };
    let mut pool: Vec<Candidate> = Vec::new();
    let mut evicted = 0;
    while srv.used_memory() > limit {
        if evicted >= MAX_EVICTIONS_PER_CALL {
            return false;
        }
        let Some((db, key)) = choose(srv, strategy, volatile, &mut pool) else {
            return false;
        };
        let lazy = srv.config.flag("lazyfree-lazy-eviction");
        if srv.ks.delete_with(db, &key, lazy) {
            srv.ks.stats.evicted += 1;
            evicted += 1;
            srv.touch_watched(db, &key, None);
            crate::notify::notify(srv, None, None, crate::notify::EVICTED, "evicted", db, &key);
        }
    }
    true
}

fn choose(
    srv: &mut Server,
    strategy: Strategy,
    volatile: bool,
    pool: &mut Vec<Candidate>,
) -> Option<(usize, Box<[u8]>)> {
    let samples = srv.config.samples.max(1);
    let mut rng = rand::thread_rng();
    let now = srv.ks.now;
    if strategy == Strategy::Random {
        // Round-robin over DBs that have candidates.
        for db in 0..srv.ks.dbs.len() {
            let d = &srv.ks.dbs[db];
            let n = if volatile {
                d.expires.len()
            } else {
                d.keys.len()
            };
            if n == 0 {
                continue;
            }
            let i = rng.gen_range(0..n);
            let key: Box<[u8]> = if volatile {
                d.expires.get(i).key().into()
            } else {
                d.keys.get(i).key().into()
            };
            return Some((db, key));
        }
        return None;
    }
    for db in 0..srv.ks.dbs.len() {
        let n = {
            let d = &srv.ks.dbs[db];
            if volatile {
                d.expires.len()
            } else {
                d.keys.len()
            }
        };
        if n == 0 {
            continue;
        }
        for _ in 0..samples.min(n) {
            let i = rng.gen_range(0..n);
            let d = &srv.ks.dbs[db];
            let key: Box<[u8]> = if volatile {
                d.expires.get(i).key().into()
            } else {
                d.keys.get(i).key().into()
            };
            let Some(slot) = d.keys.get_by_key(&key) else {
                continue;
            };
            let score = match strategy {
                Strategy::Lru => srv.ks.idle_seconds(slot.meta),
                Strategy::Lfu => 255 - srv.ks.lfu_value(slot.meta) as u64,
                Strategy::Ttl => {
                    let at = d.expire_of(&key).unwrap_or(i64::MAX);
                    u64::MAX - (at - now).max(0) as u64
                }
                Strategy::Random => 0,
            };
            if pool.iter().any(|c| c.db == db && c.key == key) {
                continue;
            }
            pool.push(Candidate { score, db, key });
        }
    }
    pool.sort_by_key(|c| std::cmp::Reverse(c.score));
    pool.truncate(POOL_SIZE);
    while !pool.is_empty() {
        let c = pool.remove(0);
        if srv.ks.dbs[c.db].keys.find(&c.key).is_some() {
            return Some((c.db, c.key));
        }
    }
    None
}
