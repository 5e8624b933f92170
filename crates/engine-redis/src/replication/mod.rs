//! Replication, Redis's own protocol: replication ids and offsets, the backlog, and (in later
//! parts of this module) the primary's PSYNC handling and the replica's state.
//!
//! ```text
//!   propagate::flush ─▶ feed: SELECT as needed + commands, RESP-encoded
//!                          ├─▶ backlog (ring of `repl-backlog-size` bytes) + master_repl_offset
//!                          └─▶ each online replica's outbox
//! ```

use crate::persistence::propagate::{encode_stream, Propagated};
use crate::server::Server;
use std::collections::VecDeque;

/// The last `repl-backlog-size` bytes of the stream, for partial resynchronization.
#[derive(Default)]
pub struct Backlog {
    pub buf: VecDeque<u8>,
    pub size: usize,
}

impl Backlog {
    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
        if self.buf.len() > self.size {
            let extra = self.buf.len() - self.size;
            self.buf.drain(..extra);
        }
    }
}

/// Replication state of this node.
pub struct Replication {
    /// The current replication id (40 hex characters).
    pub replid: String,
    /// The previous id (after a promotion) and the offset up to which it is valid.
    pub replid2: String,
    pub second_offset: i64,
    /// `master_repl_offset`: bytes of stream produced (or, on a replica, applied).
    pub offset: u64,
    pub backlog: Option<Backlog>,
    /// The DB the stream last selected.
    pub selected: Option<usize>,
}

pub fn random_id() -> String {
    (0..40)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
        .collect()
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            replid: random_id(),
            replid2: "0".repeat(40),
            second_offset: -1,
            offset: 0,
            backlog: None,
            selected: None,
        }
    }
}

/// Whether writes must be turned into a stream (a backlog exists: replicas are or were here).
pub fn has_stream(srv: &Server) -> bool {
    srv.repl.backlog.is_some()
}

/// Appends commands to the stream.
pub fn feed(srv: &mut Server, cmds: &[Propagated]) {
    let r = &mut srv.repl;
    let Some(backlog) = r.backlog.as_mut() else {
        return;
    };
    let mut bytes = Vec::new();
    encode_stream(cmds, &mut r.selected, &mut bytes);
    backlog.push(&bytes);
    r.offset += bytes.len() as u64;
}

/// Creates the backlog (the first replica arrived).
pub fn create_backlog(srv: &mut Server) {
    if srv.repl.backlog.is_none() {
        let size = srv
            .config
            .value_of("repl-backlog-size")
            .parse::<usize>()
            .unwrap_or(1 << 20)
            .max(16 * 1024);
        srv.repl.backlog = Some(Backlog {
            buf: VecDeque::new(),
            size,
        });
        // A new backlog starts a new history: the stream re-selects its DB.
        srv.repl.selected = None;
    }
}

/// Periodic work of the replication link.
pub fn cron(_srv: &mut Server) {}

/// The `# Replication` section of INFO, as redis-server prints it.
pub fn info(srv: &Server, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let r = &srv.repl;
    w("role", &"master");
    w("connected_slaves", &0);
    w("master_failover_state", &"no-failover");
    w("master_replid", &r.replid);
    w("master_replid2", &r.replid2);
    w("master_repl_offset", &r.offset);
    w("second_repl_offset", &r.second_offset);
    let (active, histlen, size) = match &r.backlog {
        Some(b) => (1, b.buf.len() as u64, b.size),
        None => (
            0,
            0,
            srv.config
                .value_of("repl-backlog-size")
                .parse::<usize>()
                .unwrap_or(1 << 20),
        ),
    };
    w("repl_backlog_active", &active);
    w("repl_backlog_size", &size);
    w(
        "repl_backlog_first_byte_offset",
        &if active == 1 {
            r.offset + 1 - histlen
        } else {
            0
        },
    );
    w("repl_backlog_histlen", &histlen);
}
