//! Per-client state (what redis keeps in `struct client`), and the [`Outbox`] through which the
//! engine reaches a client's connection outside of its own request/reply cycle.

use crate::blocking::Blocked;
use resp::request::Argv;
use std::collections::HashSet;
use std::sync::Arc;

/// A message for a connection that is not the one currently executing.
#[derive(Debug)]
pub enum OutMsg {
    /// Bytes to write (pub/sub messages, MONITOR lines, the reply of a served blocked command).
    Data(Vec<u8>),
    /// The blocking command has completed; resume processing buffered requests.
    Unblocked,
    /// Close the connection (CLIENT KILL, output buffer limit).
    Close,
}

/// Implemented by the node for each connection.
pub trait Outbox: Send + Sync {
    fn send(&self, msg: OutMsg);
    /// Bytes queued and not yet written (client output buffer limits, CLIENT LIST `omem`).
    fn pending_bytes(&self) -> usize {
        0
    }
}

/// An outbox that drops everything (fake clients: scripts, tests).
pub struct NullOutbox;

impl Outbox for NullOutbox {
    fn send(&self, _msg: OutMsg) {}
}

/// Where a connection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// A TCP client.
    Normal,
    /// The control socket: admin privileges, exempt from managed-mode restrictions.
    Control,
    /// No connection: scripts and internal calls.
    Fake,
}

/// Addresses of a connection, for CLIENT LIST and MONITOR.
#[derive(Clone, Debug, Default)]
pub struct ConnInfo {
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
}

/// MULTI state: queued commands and whether queueing hit an error.
#[derive(Default)]
pub struct MultiState {
    pub queued: Vec<Argv>,
    pub aborted: bool,
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    Skip,
}

pub struct Client {
    pub id: u64,
    pub kind: ClientKind,
    pub conn: ConnInfo,
    pub outbox: Arc<dyn Outbox>,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// The ACL user whose permissions apply; `None` for internal clients (control socket, AOF
    /// loading, the primary's stream), which may run anything.
    pub user: Option<Arc<crate::acl::UserTag>>,
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes: (db, key).
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// A watched key changed: the next EXEC fails.
    pub dirty_cas: bool,
    pub subscriptions: HashSet<Vec<u8>>,
    pub patterns: HashSet<Vec<u8>>,
    pub blocked: Option<Blocked>,
    pub monitor: bool,
    pub no_evict: bool,
    pub reply_mode: ReplyMode,
    /// Close after the replies so far are written (QUIT, CLIENT KILL of itself, protocol error).
    pub close_after_reply: bool,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    /// `Some("replica")` for a replica's connection, `Some("master")` for the link applying our
    /// primary's stream (CLIENT KILL TYPE).
    pub repl_role: Option<&'static str>,
    /// Unix second since which the output buffer has been over its soft limit (0: it is not).
    pub obuf_soft_since: i64,
    /// Closed for exceeding an output buffer limit: nothing more is queued for it.
    pub obuf_closed: bool,
    /// CLIENT TRACKING mode, while on (`tracking.rs`).
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
}

impl Client {
    pub fn new(
        id: u64,
        kind: ClientKind,
        conn: ConnInfo,
        outbox: Arc<dyn Outbox>,
        now: i64,
    ) -> Client {
        Client {
            id,
            kind,
            conn,
            outbox,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            resp3: false,
            authenticated: false,
            user: None,
            multi: None,
            watched: Vec::new(),
            dirty_cas: false,
            subscriptions: HashSet::new(),
            patterns: HashSet::new(),
            blocked: None,
            monitor: false,
            no_evict: false,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            created_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL",
            repl_role: None,
            obuf_soft_since: 0,
            obuf_closed: false,
            tracking: None,
        }
    }

    /// Subscribed to anything (RESP2 connections are then in "pub/sub mode").
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len() + self.patterns.len()
    }

    pub fn in_pubsub_mode(&self) -> bool {
        !self.resp3 && self.subscription_count() > 0
    }

    /// The flags column of CLIENT LIST.
    pub fn flags(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.subscription_count() > 0 {
            f.push('P');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.blocked.is_some() {
            f.push('b');
        }
        crate::tracking::flag_letters(self, &mut f);
        if self.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
}
