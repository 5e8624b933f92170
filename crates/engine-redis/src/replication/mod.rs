//! Replication, Redis's own protocol (PSYNC2): replication ids and offsets, the backlog, the
//! primary's side of full and partial resynchronization, and the replica's state. The replica's
//! socket (connect, handshake, reading the RDB and the stream) lives in the node crate
//! (`node::redis::replication`); it drives the engine through `Link` calls.
//!
//! ```text
//!  primary                                               replica (node task)
//!  ───────                                               ───────────────────
//!  propagate::flush ─▶ feed: SELECT + commands (RESP)    PING, REPLCONF listening-port/capa,
//!      ├─▶ backlog (`repl-backlog-size` ring) + offset    PSYNC <replid> <offset+1>
//!      ├─▶ online replicas' outboxes          ◀────────   +CONTINUE: keep data, stream follows
//!      └─▶ pending of replicas still receiving the RDB    +FULLRESYNC id off: $EOF:<mark> RDB
//!  PSYNC: partial from the backlog, else full:                <mark>, flush + load, stream
//!      snapshot (persistence, no fork) ─▶ "$EOF:" RDB     stream: run as the master client,
//!      ─▶ pending stream ─▶ online                          offset += bytes, raw bytes into
//!  REPLCONF ACK <off> ◀────────────────────────────────     its own backlog; ACK every second
//! ```
//!
//! A replica keeps the primary's exact bytes in its backlog and offset, so after a promotion
//! (REPLICAOF NO ONE: the old id becomes `replid2`) other replicas continue with +CONTINUE.

use crate::client::{Client, ClientKind, OutMsg, Outbox};
use crate::cmd::{err, CmdResult, Ctx, Error};
use crate::persistence::propagate::{encode_stream, Propagated};
use crate::server::Server;
use crate::util::eq_ignore_case;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The last `repl-backlog-size` bytes of the stream, for partial resynchronization.
#[derive(Default)]
pub struct Backlog {
    pub buf: VecDeque<u8>,
    pub size: usize,
}

impl Backlog {
    /// Bytes from stream offset `from` (1-based, like PSYNC's) to the end, if still held.
    fn since(&self, from: u64, end_offset: u64) -> Option<Vec<u8>> {
        let first = end_offset + 1 - self.buf.len() as u64;
        if from < first || from > end_offset + 1 {
            return None;
        }
        Some(self.buf.range((from - first) as usize..).copied().collect())
    }

    pub fn push(&mut self, bytes: &[u8]) {
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
    /// Replicas connected to this node.
    pub replicas: Vec<ReplicaLink>,
    /// REPLCONF values a connection sent before its PSYNC: client id → (port, capa eof).
    pub announced: HashMap<u64, (u16, bool)>,
    /// Set when this node is a replica (REPLICAOF host port).
    pub master: Option<MasterLink>,
    /// Bumped at every REPLICAOF: the node's link task of an older generation stops.
    pub generation: u64,
    /// Clients blocked in WAIT.
    pub waiters: Vec<u64>,
    /// When the last replica left (for `repl-backlog-ttl`).
    pub no_replicas_since: Option<std::time::Instant>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub last_ping_ms: i64,
    pub last_timestamp_ms: i64,
}

/// Where a replica connected to this node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start (one is running for someone else).
    WaitBgsave,
    /// The RDB is being sent; the stream waits in `pending`.
    SendingRdb,
    /// The EOF-marked RDB was sent: the stream starts at the replica's first REPLCONF ACK, as
    /// in Redis (the replica recognizes the end mark only as the last bytes of a read, so
    /// nothing may follow it until the replica has loaded).
    WaitAck,
    Online,
}

pub struct ReplicaLink {
    pub client_id: u64,
    pub outbox: Arc<dyn Outbox>,
    pub ip: String,
    pub port: u16,
    pub capa_eof: bool,
    pub state: ReplicaState,
    pub ack_offset: u64,
    pub ack_ms: i64,
    /// Stream produced while the RDB is on its way.
    pub pending: Vec<u8>,
    /// False once the connection is gone (the snapshot thread stops feeding it).
    pub alive: Arc<AtomicBool>,
}

/// The replica side: which primary, and how far the link got.
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Client id of the connection applying the stream, once connected.
    pub client_id: Option<u64>,
    pub last_io_ms: i64,
    pub down_since_ms: i64,
    pub sync_start_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Sync,
    Connected,
}

impl LinkState {
    fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
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
            replicas: Vec::new(),
            announced: HashMap::new(),
            master: None,
            generation: 0,
            waiters: Vec::new(),
            no_replicas_since: None,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            last_ping_ms: 0,
            last_timestamp_ms: 0,
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
    // A replica's stream is its primary's bytes, fed by the link (`Link::applied`).
    if r.master.is_some() {
        return;
    }
    let Some(backlog) = r.backlog.as_mut() else {
        return;
    };
    let mut bytes = Vec::new();
    encode_stream(cmds, &mut r.selected, &mut bytes);
    backlog.push(&bytes);
    r.offset += bytes.len() as u64;
    send_to_replicas(r, &bytes);
    // A replica that cannot keep up is dropped (client-output-buffer-limit replica).
    let ids: Vec<u64> = srv.repl.replicas.iter().map(|r| r.client_id).collect();
    for id in ids {
        crate::obuf::enforce(srv, id);
    }
}

fn send_to_replicas(r: &mut Replication, bytes: &[u8]) {
    for rep in r.replicas.iter_mut() {
        match rep.state {
            ReplicaState::Online => rep.outbox.send(OutMsg::Data(bytes.to_vec())),
            _ => rep.pending.extend_from_slice(bytes),
        }
    }
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

/// The lag in seconds of each replica's last ACK.
fn lag_secs(rep: &ReplicaLink, now_ms: i64) -> i64 {
    (now_ms - rep.ack_ms).max(0) / 1000
}

/// Replicas that acknowledged at least `offset`.
pub fn acked(srv: &Server, offset: u64) -> usize {
    srv.repl
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
        .count()
}

/// The error a write gets before it runs, if any: a read-only replica refuses clients' writes;
/// a primary with `min-replicas-to-write` refuses them without enough fresh replicas.
pub fn refuse(
    srv: &Server,
    client: &Client,
    spec: &crate::cmd::CommandSpec,
) -> Option<&'static str> {
    let from_primary = client.repl_role == Some("master");
    if client.kind != ClientKind::Normal || from_primary || !spec.has(crate::cmd::WRITE) {
        return None;
    }
    if srv.repl.master.is_some() {
        if srv.config.flag("replica-read-only") {
            return Some("READONLY You can't write against a read only replica.");
        }
        return None;
    }
    let min = srv.config.min_replicas_to_write;
    if min == 0 {
        return None;
    }
    let max_lag: i64 = srv
        .config
        .value_of("min-replicas-max-lag")
        .parse()
        .unwrap_or(10);
    let now = crate::util::now_ms();
    let good = srv
        .repl
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online && lag_secs(r, now) <= max_lag)
        .count();
    (good < min).then_some("NOREPLICAS Not enough good replicas to write.")
}

/// `REPLCONF <option> <value> ...`
pub fn replconf(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if a.len().is_multiple_of(2) {
        return err(crate::cmd::SYNTAX);
    }
    let id = ctx.client.id;
    let mut i = 1;
    while i + 1 < a.len() {
        let opt = crate::util::lower(&a[i]);
        let val = &a[i + 1];
        match opt.as_str() {
            "listening-port" => {
                let port = crate::util::parse_i64(val)
                    .filter(|p| (0..=65535).contains(p))
                    .ok_or(Error::msg("ERR value is not an integer or out of range"))?;
                ctx.srv.repl.announced.entry(id).or_insert((0, false)).0 = port as u16;
            }
            "capa" => {
                if eq_ignore_case(val, "eof") {
                    ctx.srv.repl.announced.entry(id).or_insert((0, false)).1 = true;
                }
            }
            "ack" | "fack" => {
                // A replica's acknowledgement: no reply.
                if opt == "ack" {
                    if let Some(off) = crate::util::parse_i64(val) {
                        ack(ctx.srv, id, off.max(0) as u64);
                    }
                }
                return Ok(());
            }
            "getack" => {
                // Only meaningful from our primary; the node's link answers it there.
                return Ok(());
            }
            "ip-address" | "rdb-only" | "rdb-filter-only" => {}
            _ => {
                return Err(Error::msg(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&a[i])
                )))
            }
        }
        i += 2;
    }
    ctx.out.ok();
    Ok(())
}

fn ack(srv: &mut Server, id: u64, off: u64) {
    let now = crate::util::now_ms();
    if let Some(r) = srv.repl.replicas.iter_mut().find(|r| r.client_id == id) {
        r.ack_offset = r.ack_offset.max(off);
        r.ack_ms = now;
        if r.state == ReplicaState::WaitAck {
            go_online(r);
        }
    }
    serve_waiters(srv);
}

/// WAIT clients whose replicas have now acknowledged enough.
fn serve_waiters(srv: &mut Server) {
    if srv.repl.waiters.is_empty() {
        return;
    }
    let ids = std::mem::take(&mut srv.repl.waiters);
    for id in ids {
        let want = srv
            .clients
            .get(&id)
            .and_then(|c| match c.blocked.as_ref().map(|b| &b.op) {
                Some(crate::blocking::BlockOp::Wait { offset, replicas }) => {
                    Some((*offset, *replicas))
                }
                _ => None,
            });
        let Some((offset, replicas)) = want else {
            continue;
        };
        let n = acked(srv, offset);
        if n >= replicas {
            if let Some(mut c) = srv.clients.remove(&id) {
                srv.blocking.unblock(&mut c);
                let mut out = resp::ReplyBuf::new(c.resp3);
                out.int(n as i64);
                c.outbox.send(OutMsg::Data(out.buf));
                c.outbox.send(OutMsg::Unblocked);
                srv.clients.insert(id, c);
            }
        } else {
            srv.repl.waiters.push(id);
        }
    }
}

/// `WAIT numreplicas timeout`
pub fn wait(ctx: &mut Ctx) -> CmdResult {
    let want = ctx.int_arg(1)?;
    let timeout = ctx.int_arg(2)?;
    if timeout < 0 {
        return err("ERR timeout is negative");
    }
    if ctx.srv.repl.master.is_some() {
        return err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let offset = ctx.srv.repl.offset;
    let n = acked(ctx.srv, offset);
    if n as i64 >= want || ctx.client.multi.is_some() || ctx.srv.call_depth > 0 {
        ctx.out.int(n as i64);
        return Ok(());
    }
    // Ask the replicas for an acknowledgement now rather than at their next second.
    getack(ctx.srv);
    let deadline = (timeout > 0).then(|| crate::util::now_ms() + timeout);
    let b = crate::blocking::Blocked {
        db: ctx.client.db,
        keys: Vec::new(),
        op: crate::blocking::BlockOp::Wait {
            offset,
            replicas: want.max(0) as usize,
        },
        deadline,
    };
    ctx.srv.blocking.block(ctx.client, b);
    ctx.srv.repl.waiters.push(ctx.client.id);
    Ok(())
}

/// `REPLCONF GETACK *` to every online replica (it is part of the stream, as in Redis).
fn getack(srv: &mut Server) {
    if srv.repl.replicas.is_empty() || srv.repl.backlog.is_none() {
        return;
    }
    let cmd = vec![b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()];
    let mut bytes = Vec::new();
    crate::persistence::propagate::encode(&cmd, &mut bytes);
    let r = &mut srv.repl;
    if let Some(b) = r.backlog.as_mut() {
        b.push(&bytes);
    }
    r.offset += bytes.len() as u64;
    send_to_replicas(r, &bytes);
}

/// `PSYNC replid offset` and `SYNC`.
pub fn psync(ctx: &mut Ctx) -> CmdResult {
    if ctx
        .srv
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.state != LinkState::Connected)
    {
        return err("NOMASTERLINK Can't SYNC while not connected with my master");
    }
    if ctx
        .srv
        .repl
        .replicas
        .iter()
        .any(|r| r.client_id == ctx.client.id)
    {
        return Ok(());
    }
    let id = ctx.client.id;
    let (port, capa_eof) = ctx.srv.repl.announced.remove(&id).unwrap_or((0, false));
    let ip = ctx
        .client
        .conn
        .addr
        .rsplit_once(':')
        .map_or(String::new(), |(h, _)| h.to_string());
    create_backlog(ctx.srv);
    ctx.client.repl_role = Some("replica");
    let mut link = ReplicaLink {
        client_id: id,
        outbox: ctx.client.outbox.clone(),
        ip,
        port,
        capa_eof,
        state: ReplicaState::WaitBgsave,
        ack_offset: 0,
        ack_ms: crate::util::now_ms(),
        pending: Vec::new(),
        alive: Arc::new(AtomicBool::new(true)),
    };
    let is_psync = ctx.spec.name == "psync";
    if is_psync {
        let r = &ctx.srv.repl;
        let asked_id = String::from_utf8_lossy(&ctx.argv[1]).to_string();
        let from = crate::util::parse_i64(&ctx.argv[2]).unwrap_or(-1);
        let id_ok =
            asked_id == r.replid || (asked_id == r.replid2 && from >= 0 && from <= r.second_offset);
        let data = (id_ok && from >= 0)
            .then(|| r.backlog.as_ref()?.since(from as u64, r.offset))
            .flatten();
        if let Some(data) = data {
            ctx.out.simple(&format!("CONTINUE {}", r.replid));
            ctx.out.raw(&data);
            link.state = ReplicaState::Online;
            link.ack_offset = from.max(1) as u64 - 1;
            ctx.srv.repl.sync_partial_ok += 1;
            ctx.srv.repl.replicas.push(link);
            ctx.srv.repl.no_replicas_since = None;
            return Ok(());
        }
        if asked_id != "?" {
            ctx.srv.repl.sync_partial_err += 1;
        }
    }
    ctx.srv.repl.sync_full += 1;
    ctx.srv.repl.replicas.push(link);
    ctx.srv.repl.no_replicas_since = None;
    if !is_psync {
        // Old SYNC: no +FULLRESYNC line, and the payload must say its length.
        if let Some(l) = ctx.srv.repl.replicas.last_mut() {
            l.capa_eof = false;
            l.port = u16::MAX;
        }
    }
    start_full_syncs(ctx.srv);
    Ok(())
}

/// Starts a snapshot for every replica waiting for one, unless one is running (they then wait
/// for the next; `cron` retries).
fn start_full_syncs(srv: &mut Server) {
    if srv.persist.running.is_some() || srv.ks.cow.is_some() {
        return;
    }
    let offset = srv.repl.offset;
    let replid = srv.repl.replid.clone();
    let mut consumers: Vec<Box<dyn crate::persistence::Consumer>> = Vec::new();
    for r in srv.repl.replicas.iter_mut() {
        if r.state != ReplicaState::WaitBgsave {
            continue;
        }
        r.state = ReplicaState::SendingRdb;
        r.pending.clear();
        // SYNC (port marked u16::MAX above) gets no +FULLRESYNC line.
        if r.port != u16::MAX {
            r.outbox.send(OutMsg::Data(
                format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes(),
            ));
        } else {
            r.port = 0;
        }
        consumers.push(Box::new(RdbToReplica {
            client_id: r.client_id,
            outbox: r.outbox.clone(),
            alive: r.alive.clone(),
            eof_mark: r.capa_eof.then(random_id),
            started: false,
            whole: Vec::new(),
        }));
    }
    if consumers.is_empty() {
        return;
    }
    // The new replicas load a file with no selected DB: the stream after it must say SELECT.
    srv.repl.selected = None;
    if let Err(e) = crate::persistence::start_background(srv, false, consumers) {
        // Could not start: drop them; they reconnect and try again.
        for r in srv.repl.replicas.iter_mut() {
            if r.state == ReplicaState::SendingRdb {
                r.outbox.send(OutMsg::Close);
            }
        }
        let _ = e;
    }
}

/// A snapshot's bytes on their way to a replica: `$EOF:<mark>\r\n<rdb><mark>` (diskless, what
/// replicas with `capa eof` accept), or `$<len>\r\n<rdb>` built in memory for the others.
struct RdbToReplica {
    client_id: u64,
    outbox: Arc<dyn Outbox>,
    alive: Arc<AtomicBool>,
    eof_mark: Option<String>,
    started: bool,
    whole: Vec<u8>,
}

impl crate::persistence::Consumer for RdbToReplica {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if !self.alive.load(Ordering::Acquire) {
            return Err(std::io::Error::other("replica gone"));
        }
        match &self.eof_mark {
            Some(mark) => {
                let mut data = Vec::with_capacity(bytes.len() + 50);
                if !self.started {
                    data.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
                    self.started = true;
                }
                data.extend_from_slice(bytes);
                self.outbox.send(OutMsg::Data(data));
            }
            None => self.whole.extend_from_slice(bytes),
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match &self.eof_mark {
            Some(mark) => self.outbox.send(OutMsg::Data(mark.as_bytes().to_vec())),
            None => {
                let mut data = format!("${}\r\n", self.whole.len()).into_bytes();
                data.append(&mut self.whole);
                self.outbox.send(OutMsg::Data(data));
            }
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.outbox.send(OutMsg::Close);
    }

    fn done(&mut self, srv: &mut Server, ok: bool) {
        let Some(pos) = srv
            .repl
            .replicas
            .iter()
            .position(|r| r.client_id == self.client_id)
        else {
            return;
        };
        if !ok {
            srv.repl.replicas.remove(pos);
            self.outbox.send(OutMsg::Close);
            return;
        }
        let r = &mut srv.repl.replicas[pos];
        r.ack_ms = crate::util::now_ms();
        if self.eof_mark.is_some() {
            r.state = ReplicaState::WaitAck;
        } else {
            go_online(r);
        }
    }

    fn backlog(&self) -> usize {
        self.outbox.pending_bytes()
    }
}

/// The stream that waited during the sync follows, then the live stream.
fn go_online(r: &mut ReplicaLink) {
    let pending = std::mem::take(&mut r.pending);
    if !pending.is_empty() {
        r.outbox.send(OutMsg::Data(pending));
    }
    r.state = ReplicaState::Online;
}

/// A connection closed: forget it if it was a replica.
pub fn client_gone(srv: &mut Server, id: u64) {
    srv.repl.announced.remove(&id);
    if let Some(pos) = srv.repl.replicas.iter().position(|r| r.client_id == id) {
        let r = srv.repl.replicas.remove(pos);
        r.alive.store(false, Ordering::Release);
        if srv.repl.replicas.is_empty() {
            srv.repl.no_replicas_since = Some(std::time::Instant::now());
        }
    }
    srv.repl.waiters.retain(|&w| w != id);
    if let Some(m) = srv.repl.master.as_mut() {
        if m.client_id == Some(id) {
            m.client_id = None;
        }
    }
}

/// `REPLICAOF host port` / `SLAVEOF`, and `REPLICAOF NO ONE`.
pub fn replicaof(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.argv;
    if eq_ignore_case(&a[1], "no") && eq_ignore_case(&a[2], "one") {
        promote(ctx.srv);
        ctx.out.ok();
        return Ok(());
    }
    let port = crate::util::parse_i64(&a[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or(Error::msg("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&a[1]).to_string();
    if let Some(m) = &ctx.srv.repl.master {
        if m.host == host && m.port == port as u16 {
            ctx.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    become_replica(ctx.srv, host, port as u16);
    ctx.out.ok();
    Ok(())
}

fn become_replica(srv: &mut Server, host: String, port: u16) {
    srv.repl.generation += 1;
    let now = crate::util::now_ms();
    if srv.repl.master.is_none() {
        // Our own history becomes the cache the first PSYNC offers (PSYNC2 after a demotion).
        srv.repl.selected = None;
    }
    srv.repl.master = Some(MasterLink {
        host,
        port,
        state: LinkState::Connect,
        client_id: None,
        last_io_ms: now,
        down_since_ms: now,
        sync_start_ms: 0,
    });
    // Our replicas must resync from our new history.
    for r in std::mem::take(&mut srv.repl.replicas) {
        r.alive.store(false, Ordering::Release);
        r.outbox.send(OutMsg::Close);
    }
}

/// REPLICAOF NO ONE: this node becomes a primary; its replication id changes, the old one
/// stays valid (as `replid2`) up to the current offset, so other replicas of the old primary
/// can continue from here.
pub fn promote(srv: &mut Server) {
    if srv.repl.master.take().is_none() {
        return;
    }
    srv.repl.generation += 1;
    let r = &mut srv.repl;
    r.replid2 = std::mem::replace(&mut r.replid, random_id());
    r.second_offset = r.offset as i64 + 1;
    r.selected = None;
}

/// `ROLE`
pub fn role(ctx: &mut Ctx) -> CmdResult {
    let srv = &*ctx.srv;
    match &srv.repl.master {
        None => {
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.int(srv.repl.offset as i64);
            let online: Vec<&ReplicaLink> = srv
                .repl
                .replicas
                .iter()
                .filter(|r| r.state == ReplicaState::Online)
                .collect();
            ctx.out.array(online.len());
            for r in online {
                ctx.out.array(3);
                ctx.out.bulk(r.ip.as_bytes());
                ctx.out.bulk(r.port.to_string().as_bytes());
                ctx.out.bulk(r.ack_offset.to_string().as_bytes());
            }
        }
        Some(m) => {
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(m.host.as_bytes());
            ctx.out.int(m.port as i64);
            ctx.out.bulk(m.state.name().as_bytes());
            let off = if m.state == LinkState::Connected {
                srv.repl.offset as i64
            } else {
                -1
            };
            ctx.out.int(off);
        }
    }
    Ok(())
}

/// Periodic work: the primary's PING into the stream every `repl-ping-replica-period` (10 s),
/// dropping replicas silent for `repl-timeout`, releasing the backlog after
/// `repl-backlog-ttl`, starting full syncs that waited for a running snapshot.
pub fn cron(srv: &mut Server) {
    let now = crate::util::now_ms();
    if srv.repl.master.is_none()
        && srv.managed
        && srv.config.flag("elasticache-master-replication-timestamp")
    {
        write_timestamp(srv, now);
    }
    if srv.repl.master.is_none() {
        let timeout: i64 = srv.config.value_of("repl-timeout").parse().unwrap_or(60);
        for r in srv.repl.replicas.iter() {
            if r.state == ReplicaState::Online && now - r.ack_ms > timeout * 1000 {
                r.outbox.send(OutMsg::Close);
            }
        }
        if srv
            .repl
            .replicas
            .iter()
            .any(|r| r.state == ReplicaState::WaitBgsave)
        {
            start_full_syncs(srv);
        }
        let ttl: u64 = srv
            .config
            .value_of("repl-backlog-ttl")
            .parse()
            .unwrap_or(3600);
        if let Some(t) = srv.repl.no_replicas_since {
            if ttl > 0 && srv.repl.replicas.is_empty() && t.elapsed().as_secs() >= ttl {
                srv.repl.backlog = None;
                srv.repl.no_replicas_since = None;
                // A new history: nobody can continue the old one.
                srv.repl.replid2 = "0".repeat(40);
                srv.repl.second_offset = -1;
                srv.repl.replid = random_id();
            }
        }
        if srv.repl.backlog.is_some() && !srv.repl.replicas.is_empty() {
            let period_ms = srv
                .config
                .value_of("repl-ping-replica-period")
                .parse::<i64>()
                .unwrap_or(10)
                .max(1)
                * 1000;
            if now / period_ms != srv.repl.last_ping_ms / period_ms {
                srv.repl.last_ping_ms = now;
                let cmd = [(srv.repl.selected.unwrap_or(0), vec![b"PING".to_vec()])];
                feed(srv, &cmd);
            }
        }
    }
}

/// The key ElastiCache writes into every Redis cluster so that replication lag can be measured
/// (`now - value` on a replica).
pub const TIMESTAMP_KEY: &[u8] = b"ElastiCacheMasterReplicationTimestamp";

/// A managed primary with `elasticache-master-replication-timestamp yes` writes the current UTC
/// time (ISO 8601, milliseconds) into [`TIMESTAMP_KEY`] once a second, through the command
/// path, so it reaches the replicas and the AOF like any write.
fn write_timestamp(srv: &mut Server, now: i64) {
    if now - srv.repl.last_timestamp_ms < 1000 {
        return;
    }
    srv.repl.last_timestamp_ms = now;
    let mut fake = srv.new_client(
        ClientKind::Fake,
        crate::client::ConnInfo::default(),
        Arc::new(crate::client::NullOutbox),
    );
    let argv =
        resp::request::Argv::from_slices(&[b"SET", TIMESTAMP_KEY, iso8601_ms(now).as_bytes()]);
    let mut out = resp::ReplyBuf::new(false);
    srv.execute(&mut fake, &argv, &mut out);
}

/// `2026-11-26T06:54:00.123Z` from unix milliseconds (days to civil date: H. Hinnant).
pub fn iso8601_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601() {
        assert_eq!(super::iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::iso8601_ms(1_795_676_040_123),
            "2026-11-26T06:54:00.123Z"
        );
        assert_eq!(
            super::iso8601_ms(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }
}

/// The `# Replication` section of INFO, as redis-server prints it.
pub fn info(srv: &Server, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let r = &srv.repl;
    let now = crate::util::now_ms();
    match &r.master {
        None => w("role", &"master"),
        Some(m) => {
            w("role", &"slave");
            w("master_host", &m.host);
            w("master_port", &m.port);
            let up = m.state == LinkState::Connected;
            w("master_link_status", &if up { "up" } else { "down" });
            w(
                "master_last_io_seconds_ago",
                &if up { (now - m.last_io_ms) / 1000 } else { -1 },
            );
            w(
                "master_sync_in_progress",
                &((m.state == LinkState::Sync) as u8),
            );
            w("slave_read_repl_offset", &r.offset);
            w("slave_repl_offset", &r.offset);
            if !up {
                w(
                    "master_link_down_since_seconds",
                    &((now - m.down_since_ms) / 1000),
                );
            }
            w("slave_priority", &100);
            w(
                "slave_read_only",
                &(srv.config.flag("replica-read-only") as u8),
            );
            w("replica_announced", &1);
        }
    }
    let online: Vec<&ReplicaLink> = r.replicas.iter().collect();
    w("connected_slaves", &online.len());
    for (i, rep) in online.iter().enumerate() {
        let state = match rep.state {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendingRdb | ReplicaState::WaitAck => "send_bulk",
            ReplicaState::Online => "online",
        };
        w(
            &format!("slave{i}"),
            &format!(
                "ip={},port={},state={state},offset={},lag={}",
                rep.ip,
                rep.port,
                rep.ack_offset,
                lag_secs(rep, now)
            ),
        );
    }
    if r.master.is_none() {
        let min: usize = srv
            .config
            .value_of("min-replicas-to-write")
            .parse()
            .unwrap_or(0);
        if min > 0 {
            let max_lag: i64 = srv
                .config
                .value_of("min-replicas-max-lag")
                .parse()
                .unwrap_or(10);
            let good = r
                .replicas
                .iter()
                .filter(|x| x.state == ReplicaState::Online && lag_secs(x, now) <= max_lag)
                .count();
            w("min_slaves_good_slaves", &good);
        }
    }
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

/// What the node's replica link calls, each under the engine lock.
pub mod link {
    use super::*;

    /// Whether the link task of `generation` should still run, and where to connect.
    pub fn target(srv: &Server) -> Option<(u64, String, u16)> {
        let m = srv.repl.master.as_ref()?;
        Some((srv.repl.generation, m.host.clone(), m.port))
    }

    pub fn set_state(srv: &mut Server, generation: u64, state: LinkState) -> bool {
        if srv.repl.generation != generation {
            return false;
        }
        let now = crate::util::now_ms();
        if let Some(m) = srv.repl.master.as_mut() {
            if m.state == LinkState::Connected && state != LinkState::Connected {
                m.down_since_ms = now;
            }
            if state == LinkState::Sync {
                m.sync_start_ms = now;
            }
            m.state = state;
            m.last_io_ms = now;
        }
        true
    }

    /// What PSYNC should ask for: our history's id and the next offset.
    pub fn psync_args(srv: &Server) -> (String, u64) {
        if srv.repl.backlog.is_some() || srv.repl.offset > 0 {
            (srv.repl.replid.clone(), srv.repl.offset + 1)
        } else {
            ("?".into(), 0)
        }
    }

    /// +FULLRESYNC: replace the data with the RDB and take the primary's history.
    pub fn full_sync(
        srv: &mut Server,
        replid: &str,
        offset: u64,
        rdb: &[u8],
    ) -> Result<u64, String> {
        srv.ks.flush(None, true);
        let n = crate::persistence::load_rdb(srv, rdb)?;
        crate::persistence::aof::dataset_replaced(srv)?;
        let r = &mut srv.repl;
        r.replid = replid.to_string();
        r.replid2 = "0".repeat(40);
        r.second_offset = -1;
        r.offset = offset;
        r.backlog = None;
        create_backlog(srv);
        Ok(n)
    }

    /// `+CONTINUE [newid]`: the primary changed id (it was promoted): our old one is replid2.
    pub fn continued(srv: &mut Server, new_id: Option<&str>) {
        create_backlog(srv);
        let r = &mut srv.repl;
        if let Some(id) = new_id {
            if id != r.replid {
                r.replid2 = std::mem::replace(&mut r.replid, id.to_string());
                r.second_offset = r.offset as i64 + 1;
            }
        }
    }

    /// `bytes` of the stream were applied: they join our backlog and offset (replicas of ours
    /// get them verbatim).
    pub fn applied(srv: &mut Server, bytes: &[u8]) {
        let r = &mut srv.repl;
        if let Some(b) = r.backlog.as_mut() {
            b.push(bytes);
        }
        r.offset += bytes.len() as u64;
        if let Some(m) = r.master.as_mut() {
            m.last_io_ms = crate::util::now_ms();
        }
        send_to_replicas(r, bytes);
    }

    pub fn offset(srv: &Server) -> u64 {
        srv.repl.offset
    }

    /// The connection applying the stream is this client (CLIENT KILL TYPE master finds it).
    pub fn set_client(srv: &mut Server, generation: u64, id: u64) {
        if srv.repl.generation == generation {
            if let Some(m) = srv.repl.master.as_mut() {
                m.client_id = Some(id);
            }
            if let Some(c) = srv.clients.get_mut(&id) {
                c.repl_role = Some("master");
                // The primary's stream is trusted: no AUTH on this side of the link.
                c.authenticated = true;
                c.user = None;
            }
        }
    }
}
