//! Client output buffer limits (`client-output-buffer-limit`, redis's
//! `checkClientOutputBufferLimits`): the bytes waiting to be written to a client are held
//! against the limits of its class (normal, replica, pub/sub). Over the hard limit the client
//! is closed at once; over the soft limit it is closed once it has stayed over for more than
//! the soft seconds (the clock starts the first time it is seen over, and stops as soon as it
//! is seen under).
//!
//! ```text
//!  a batch of commands whose replies pass the hard limit ─▶ rest of the batch not run, close
//!  output queued for a client (pub/sub message, MONITOR line, replication stream)
//!       └─▶ enforce(client)                      ─┐
//!  cron (every tick): every client                ├─▶ over? mark it, OutMsg::Close, drop
//!       └─▶ enforce(client)  (soft seconds pass, ─┘   whatever else is queued for it
//!            replies a client does not read)
//! ```
//!
//! What waits for a client is its outbox (`Outbox::pending_bytes`: messages queued plus the
//! replies its connection is writing), and for a replica still receiving its RDB, the stream
//! held back until the RDB is sent. The peaks feed INFO's `client_recent_max_output_buffer`.

use crate::client::{Client, OutMsg};
use crate::server::Server;

/// Classes of [`crate::config::Config::output_limits`].
pub const NORMAL: usize = 0;
pub const REPLICA: usize = 1;
pub const PUBSUB: usize = 2;

/// The limits class of a client: a replica (MONITOR excluded), then a subscriber, else normal
/// (the link to our own primary and MONITOR clients included), as Redis classifies them.
pub fn class_of(c: &Client) -> usize {
    if c.repl_role == Some("replica") && !c.monitor {
        REPLICA
    } else if c.subscription_count() > 0 {
        PUBSUB
    } else {
        NORMAL
    }
}

/// The largest output buffer seen per second over the last `PEAK_SLOTS` seconds (redis's
/// `ClientsPeakMemOutput`), for INFO's `client_recent_max_output_buffer`.
#[derive(Default)]
pub struct Peaks {
    slots: [usize; PEAK_SLOTS],
    /// The unix second of the newest slot written.
    second: i64,
}

const PEAK_SLOTS: usize = 8;

impl Peaks {
    fn note(&mut self, now_secs: i64, bytes: usize) {
        if now_secs != self.second {
            // Clear the slots of the seconds that went by without a sample.
            let gap = (now_secs - self.second).clamp(0, PEAK_SLOTS as i64);
            for s in 1..=gap {
                self.slots[((self.second + s).rem_euclid(PEAK_SLOTS as i64)) as usize] = 0;
            }
            self.second = now_secs;
        }
        let slot = &mut self.slots[now_secs.rem_euclid(PEAK_SLOTS as i64) as usize];
        *slot = (*slot).max(bytes);
    }

    pub fn recent_max(&self) -> usize {
        self.slots.iter().copied().max().unwrap_or(0)
    }
}

/// Bytes waiting to be written to client `c`.
fn waiting(srv: &Server, c: &Client) -> usize {
    if class_of(c) == REPLICA {
        if let Some(r) = srv.repl.replicas.iter().find(|r| r.client_id == c.id) {
            if r.state != crate::replication::ReplicaState::Online {
                // The RDB travels through the outbox at the snapshot's pace; what counts is
                // the stream piling up behind it.
                return r.pending.len();
            }
        }
    }
    c.outbox.pending_bytes()
}

/// Redis's limit test for `used` bytes waiting for `c` at `now_secs`; updates the soft-limit
/// clock as a side effect.
fn over_limit(srv: &Server, c: &mut Client, used: usize, now_secs: i64) -> bool {
    let class = class_of(c);
    let limit = srv.config.output_limits[class];
    let mut hard = limit.hard;
    if class == REPLICA && hard > 0 {
        // A replica limit under the backlog would drop replicas that a partial resync just
        // accepted: Redis raises it to the backlog size.
        let backlog = srv
            .config
            .value_of("repl-backlog-size")
            .parse::<u64>()
            .unwrap_or(0);
        hard = hard.max(backlog);
    }
    let used = used as u64;
    let over_hard = hard > 0 && used >= hard;
    let mut over_soft = limit.soft > 0 && used >= limit.soft;
    if over_soft {
        if c.obuf_soft_since == 0 {
            c.obuf_soft_since = now_secs;
            over_soft = false;
        } else if now_secs - c.obuf_soft_since <= limit.soft_secs as i64 {
            over_soft = false;
        }
    } else {
        c.obuf_soft_since = 0;
    }
    over_hard || over_soft
}

/// Checks client `id` (in the registry) and closes it if it is over its limit; true if it is
/// closed (now or before).
pub fn enforce(srv: &mut Server, id: u64) -> bool {
    let now_secs = crate::util::now_ms() / 1000;
    let Some(mut c) = srv.clients.remove(&id) else {
        return false;
    };
    let closed = enforce_on(srv, &mut c, now_secs);
    srv.clients.insert(id, c);
    closed
}

fn enforce_on(srv: &mut Server, c: &mut Client, now_secs: i64) -> bool {
    if c.obuf_closed {
        return true;
    }
    limit_reached(srv, c, now_secs)
}

fn limit_reached(srv: &mut Server, c: &mut Client, now_secs: i64) -> bool {
    let used = waiting(srv, c);
    // Nothing waiting: nothing to limit (the soft clock is left as it is, as Redis does),
    // except for replicas, whose stream may be held elsewhere.
    if used == 0 && class_of(c) != REPLICA {
        return false;
    }
    if !over_limit(srv, c, used, now_secs) {
        return false;
    }
    c.obuf_closed = true;
    c.outbox.send(OutMsg::Close);
    true
}

/// Whether a client running a batch of commands is already over its hard limit with
/// `unwritten` bytes of replies not yet handed to its connection; it is then marked closed.
/// (The soft limit needs time to pass: the cron sees to it.)
pub fn batch_over_hard_limit(srv: &Server, c: &mut Client, unwritten: usize) -> bool {
    let class = class_of(c);
    if class == REPLICA {
        // A replica's outbox also carries its RDB; `enforce` knows what to count.
        return false;
    }
    let hard = srv.config.output_limits[class].hard;
    if hard == 0 || ((c.outbox.pending_bytes() + unwritten) as u64) < hard {
        return false;
    }
    c.obuf_closed = true;
    true
}

/// Every client, once per cron tick: soft limits expire without new output, and replies a
/// client does not read count too. The peaks are sampled here, as Redis samples them in its
/// client cron (a client dropped between two ticks leaves no peak).
pub fn cron(srv: &mut Server) {
    let now_secs = crate::util::now_ms() / 1000;
    srv.stats.output_peaks.note(now_secs, 0);
    let ids: Vec<u64> = srv.clients.keys().copied().collect();
    for id in ids {
        if let Some(mut c) = srv.clients.remove(&id) {
            if !c.obuf_closed {
                let used = waiting(srv, &c);
                srv.stats.output_peaks.note(now_secs, used);
                enforce_on(srv, &mut c, now_secs);
            }
            srv.clients.insert(id, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_forget_after_eight_seconds() {
        let mut p = Peaks::default();
        p.note(100, 5000);
        p.note(101, 10);
        assert_eq!(p.recent_max(), 5000);
        p.note(107, 0);
        assert_eq!(p.recent_max(), 5000);
        p.note(108, 0);
        assert_eq!(p.recent_max(), 10);
        p.note(200, 3);
        assert_eq!(p.recent_max(), 3);
    }
}
