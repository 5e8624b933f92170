//! The server state behind the one lock, and the entry points the node calls.

use crate::blocking::Blocking;
use crate::client::{Client, ClientKind, ConnInfo, NullOutbox, OutMsg, Outbox, ReplyMode};
use crate::cmd;
use crate::config::Config;
use crate::db::Keyspace;
use crate::pubsub::PubSub;
use parking_lot::Mutex;
use resp::request::Argv;
use resp::ReplyBuf;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// INFO commandstats: one set of counters per entry of the command table, found by position
/// (no hashing of the name on every command).
pub struct CommandStatsTable(Vec<CommandStats>);

impl Default for CommandStatsTable {
    fn default() -> Self {
        CommandStatsTable(vec![CommandStats::default(); cmd::TABLE.len()])
    }
}

impl CommandStatsTable {
    pub fn of(&mut self, spec: &'static cmd::CommandSpec) -> &mut CommandStats {
        &mut self.0[cmd::table_index(spec)]
    }

    /// The commands that were called or rejected since the last reset: (name, counters).
    pub fn iter(&self) -> impl Iterator<Item = (&'static &'static str, &CommandStats)> + '_ {
        cmd::TABLE
            .iter()
            .zip(&self.0)
            .filter(|(_, c)| c.calls > 0 || c.rejected > 0 || c.failed > 0)
            .map(|(spec, c)| (&spec.name, c))
    }

    pub fn clear(&mut self) {
        self.0.fill(CommandStats::default());
    }
}

/// Server-wide counters (INFO stats).
#[derive(Default)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub total_error_replies: u64,
    pub errors: HashMap<String, u64>,
    pub commands: CommandStatsTable,
    pub pubsub_messages: u64,
    pub evicted_clients: u64,
    pub unexpected_error_replies: u64,
    pub dirty: u64,
    /// Recent output buffer peaks (`client_recent_max_output_buffer`).
    pub output_peaks: crate::obuf::Peaks,
}

/// One SLOWLOG entry.
pub struct SlowEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

pub struct Server {
    pub ks: Keyspace,
    pub config: Config,
    /// By client id. Ids are ours (sequential), not a peer's input, so a fast hash is safe;
    /// the map is touched twice per executed batch.
    pub clients: foldhash::HashMap<u64, Box<Client>>,
    pub pubsub: PubSub,
    pub blocking: Blocking,
    /// WATCHed keys: (db, key) → ids of the clients watching it.
    pub watched: HashMap<(usize, Box<[u8]>), Vec<u64>>,
    pub stats: Stats,
    pub slowlog: VecDeque<SlowEntry>,
    pub slowlog_next_id: u64,
    pub monitors: Vec<u64>,
    pub managed: bool,
    pub next_client_id: u64,
    pub start: Instant,
    pub start_ms: i64,
    /// Time as commands see it: `ks.now` and commandstats durations (`util::CommandClock`).
    pub clock: crate::util::CommandClock,
    pub run_id: String,
    pub tcp_port: u16,
    pub last_save: i64,
    /// CLIENT PAUSE: until (ms) and whether all commands (true) or only writes pause.
    pub pause: Option<(i64, bool)>,
    /// Nesting depth of `call` (EXEC, scripts): notifications of blocked clients wait for 0.
    pub call_depth: usize,
    pub shutdown_requested: bool,
    pub executable: String,
    pub config_file: String,
    /// Lua VM, scripting client and the BUSY/SCRIPT KILL control (`cmd/scripting.rs`).
    pub scripts: crate::cmd::scripting::ScriptState,
    /// Snapshots and the AOF (`persistence/`).
    pub persist: crate::persistence::Persistence,
    /// Replication state, primary and replica sides (`replication/`).
    pub repl: crate::replication::Replication,
    /// Client-side caching: tracked keys, BCAST prefixes, pending invalidations.
    pub tracking: crate::tracking::Tracking,
    /// ACL users and the ACL LOG (`acl/`).
    pub acl: crate::acl::Acl,
}

/// What the connection must do after [`Engine::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every command ran; wait for more input.
    Done,
    /// A blocking command is waiting; keep the rest of the batch and wait for
    /// [`OutMsg::Unblocked`] or until the deadline (then call [`Engine::timeout_blocked`]).
    Blocked { deadline_ms: Option<i64> },
    /// CLIENT PAUSE is in effect for the next command; retry at this time (ms).
    Paused { until_ms: i64 },
    /// Write the replies, then close (QUIT, killed, protocol error).
    Close,
}

impl Server {
    pub fn new(config: Config, managed: bool) -> Server {
        let mut ks = Keyspace::new(config.databases);
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn Send>>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for v in rx {
                    drop(v);
                }
            })
            .expect("spawn lazyfree thread");
        ks.lazyfree = Some(tx);
        let now = crate::util::now_ms();
        let mut rid = String::new();
        for _ in 0..40 {
            rid.push(char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'));
        }
        let mut s = Server {
            ks,
            config,
            clients: Default::default(),
            pubsub: PubSub::default(),
            blocking: Blocking::default(),
            watched: HashMap::new(),
            stats: Stats::default(),
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            monitors: Vec::new(),
            managed,
            next_client_id: 1,
            start: Instant::now(),
            start_ms: now,
            clock: crate::util::CommandClock::new(),
            run_id: rid,
            tcp_port: 0,
            last_save: now / 1000,
            pause: None,
            call_depth: 0,
            shutdown_requested: false,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            config_file: String::new(),
            scripts: Default::default(),
            persist: Default::default(),
            repl: Default::default(),
            tracking: Default::default(),
            acl: Default::default(),
        };
        s.apply_config();
        s
    }

    /// Pushes configuration values into the structures that cache them.
    pub fn apply_config(&mut self) {
        self.ks.limits = self.config.type_limits();
        let flags = self.config.notify_flags;
        let new_events = flags & crate::notify::NEW != 0
            && flags & (crate::notify::KEYSPACE | crate::notify::KEYEVENT) != 0;
        if new_events != self.ks.new_keys_log.is_some() {
            self.ks.new_keys_log = new_events.then(Vec::new);
        }
        self.ks.tracking = self.config.access_tracking();
        self.tracking.max_keys = self
            .config
            .value_of("tracking-table-max-keys")
            .parse()
            .unwrap_or(0);
        self.acl.sync_requirepass(&self.config.requirepass);
    }

    pub fn new_client(
        &mut self,
        kind: ClientKind,
        conn: ConnInfo,
        outbox: Arc<dyn Outbox>,
    ) -> Box<Client> {
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(id, kind, conn, outbox, crate::util::now_ms());
        c.authenticated = self.acl.default_needs_no_auth() || kind == ClientKind::Control;
        if kind == ClientKind::Normal {
            c.user = Some(self.acl.default_tag());
        }
        Box::new(c)
    }

    /// Runs one command for `client` (not in the registry) and writes its reply to `out`.
    pub fn execute(&mut self, client: &mut Client, argv: &Argv, out: &mut ReplyBuf) {
        self.clock.calibrate();
        self.execute_next(client, argv, out);
    }

    /// [`Server::execute`] for the next command of a batch: the clock was calibrated when the
    /// batch started, and the reading that ended the previous command is this one's time.
    /// Inlined into the batch loop of [`Engine::run`] (the per-command path).
    #[inline(always)]
    fn execute_next(&mut self, client: &mut Client, argv: &Argv, out: &mut ReplyBuf) {
        self.ks.now = self.clock.wall_ms();
        self.tracking.current = client.id;
        let reply_at = out.len();
        cmd::dispatch(self, client, argv, out);
        if self.call_depth == 0 {
            crate::persistence::propagate::flush(self);
            self.after_command(client);
            if self.tracking.active {
                crate::tracking::after_command(self, client, out, reply_at);
            }
        }
    }

    /// Re-entrant execution of a command with a fake client (scripts): the reply bytes.
    pub fn call(&mut self, client: &mut Client, argv: &Argv) -> Vec<u8> {
        let mut out = ReplyBuf::new(client.resp3);
        // The command's duration starts now, not at the end of the previous one.
        self.clock.tick();
        self.call_depth += 1;
        cmd::dispatch(self, client, argv, &mut out);
        self.call_depth -= 1;
        out.buf
    }

    /// Work that follows every top-level command: serve clients blocked on keys that received
    /// data, publish `expired` notifications of lazily expired keys.
    pub fn after_command(&mut self, current: &mut Client) {
        crate::notify::flush_new_keys(self, Some(&mut *current), None);
        if !self.ks.expired_log.is_empty() {
            let log = std::mem::take(&mut self.ks.expired_log);
            for (db, key) in log {
                self.touch_watched(db, &key, Some(current));
                crate::notify::notify(
                    self,
                    Some(current),
                    None,
                    crate::notify::EXPIRED,
                    "expired",
                    db,
                    &key,
                );
            }
        }
        if !self.blocking.ready.is_empty() {
            crate::blocking::serve_ready(self, current);
        }
    }

    /// A key changed (the hook of every write path, expiry and eviction): every client
    /// WATCHing it will fail its EXEC, and clients caching it are told (`tracking.rs`).
    pub fn touch_watched(&mut self, db: usize, key: &[u8], current: Option<&mut Client>) {
        // Clients blocked on the key look again (a deleted stream ends an XREADGROUP wait).
        self.blocking.signal(db, key);
        if self.tracking.active {
            crate::tracking::invalidate_key(self, key, true);
        }
        self.dirty_watchers(db, key, current);
    }

    fn dirty_watchers(&mut self, db: usize, key: &[u8], current: Option<&mut Client>) {
        if self.watched.is_empty() {
            return;
        }
        let Some(ids) = self.watched.get(&(db, Box::<[u8]>::from(key))) else {
            return;
        };
        let mut cur = current;
        for id in ids.clone() {
            match cur.as_deref_mut() {
                Some(c) if c.id == id => c.dirty_cas = true,
                _ => {
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.dirty_cas = true;
                    }
                }
            }
        }
    }

    /// The watched keys of a DB (every DB for `None`) that a FLUSHDB, FLUSHALL or SWAPDB
    /// changes: those that exist in it, or in the DB it is swapped with. A watched key that
    /// exists in neither stays untouched, as in redis. Called before a flush, and after or
    /// before a swap (either way, both DBs are looked in). Tracking is told separately
    /// (`tracking::flush`; SWAPDB does not invalidate, as in redis).
    pub fn touch_all_watched(
        &mut self,
        db: Option<usize>,
        swapped_with: Option<usize>,
        current: &mut Client,
    ) {
        // Clients blocked on keys of the flushed DBs look again (XREADGROUP ends with an error).
        let blocked: Vec<(usize, Box<[u8]>)> = self
            .blocking
            .waiting
            .keys()
            .filter(|(d, _)| db.is_none_or(|x| x == *d))
            .cloned()
            .collect();
        for (d, k) in blocked {
            self.blocking.signal(d, &k);
        }
        let dbs = &self.ks.dbs;
        let exists = |d: usize, k: &[u8]| dbs[d].keys.find(k).is_some();
        let keys: Vec<(usize, Box<[u8]>)> = self
            .watched
            .keys()
            .filter(|(d, k)| {
                db.is_none_or(|x| x == *d)
                    && (exists(*d, k) || swapped_with.is_some_and(|w| exists(w, k)))
            })
            .cloned()
            .collect();
        for (d, k) in keys {
            self.dirty_watchers(d, &k, Some(current));
        }
    }

    /// Sends bytes to a client that is either `current` or in the registry.
    pub fn deliver(
        &mut self,
        current: Option<&mut Client>,
        id: u64,
        f: impl FnOnce(bool) -> Vec<u8>,
        out: Option<&mut ReplyBuf>,
    ) {
        if let (Some(c), Some(o)) = (current, out) {
            if c.id == id {
                let bytes = f(c.resp3);
                o.raw(&bytes);
                return;
            }
        }
        if let Some(c) = self.clients.get(&id) {
            if c.obuf_closed {
                return;
            }
            let bytes = f(c.resp3);
            c.outbox.send(OutMsg::Data(bytes));
            // A client that cannot keep up is dropped (client-output-buffer-limit).
            crate::obuf::enforce(self, id);
        }
    }

    /// `used_memory`: the allocation counter when installed, else an estimate of the data.
    pub fn used_memory(&self) -> usize {
        crate::alloc::allocated().unwrap_or_else(|| {
            self.ks
                .dbs
                .iter()
                .flat_map(|d| d.keys.iter())
                .map(|s| s.approx_bytes())
                .sum::<usize>()
                + 1_000_000
        })
    }

    pub fn uptime_secs(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    pub fn client_count(&self) -> usize {
        self.clients
            .values()
            .filter(|c| c.kind != ClientKind::Fake)
            .count()
    }
}

/// What a connection refused by `maxclients` receives before it is closed (redis's text).
pub const MAX_CLIENTS_ERROR: &[u8] = b"-ERR max number of clients reached\r\n";

/// A turn at the engine (see [`Engine::turn`]).
pub struct Turn<'a> {
    engine: &'a Engine,
    guard: Option<parking_lot::MutexGuard<'a, Server>>,
}

impl Turn<'_> {
    /// Runs one connection's queued commands: executed commands are removed from `cmds`,
    /// replies are appended to `out`. While a script holds the engine past its time limit, the
    /// batch is answered with BUSY instead (and the turn keeps trying the lock for the next).
    pub fn run(&mut self, id: u64, cmds: &mut VecDeque<Argv>, out: &mut Vec<u8>) -> RunOutcome {
        if self.guard.is_none() {
            self.guard = self.engine.lock_unless_busy(id, cmds, out);
        }
        match self.guard.as_deref_mut() {
            Some(s) => self.engine.run_locked(s, id, cmds, out),
            None => RunOutcome::Done,
        }
    }
}

/// The engine handle shared by every connection of a node.
pub struct Engine {
    inner: Mutex<Server>,
    /// The running script's state, readable without the lock (BUSY replies, SCRIPT KILL).
    script_control: Arc<crate::scripting::ScriptControl>,
    /// `proto-max-bulk-len`, readable by the parser without taking the lock.
    max_bulk_len: std::sync::atomic::AtomicI64,
    /// Request bytes read (INFO `total_net_input_bytes`), counted without the lock.
    input_bytes: std::sync::atomic::AtomicU64,
    /// MULTI/EXEC/DISCARD answered while a script holds the engine.
    busy_transactions: crate::cmd::multi::BusyTransactions,
}

impl Engine {
    pub fn new(config: Config, managed: bool) -> Arc<Engine> {
        let max = config.proto_max_bulk_len;
        let server = Server::new(config, managed);
        let engine = Arc::new(Engine {
            script_control: Arc::clone(&server.scripts.control),
            inner: Mutex::new(server),
            max_bulk_len: std::sync::atomic::AtomicI64::new(max),
            input_bytes: std::sync::atomic::AtomicU64::new(0),
            busy_transactions: Default::default(),
        });
        engine.lock().persist.engine = Arc::downgrade(&engine);
        engine
    }

    /// Direct access to the server state (control socket, tests, timers).
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, Server> {
        self.inner.lock()
    }

    /// Whether a new connection of this kind starts authenticated (the default user needs no
    /// password, or the control socket). Unauthenticated connections get redis's small request limits.
    pub fn starts_authenticated(&self, kind: ClientKind) -> bool {
        kind == ClientKind::Control || self.inner.lock().acl.default_needs_no_auth()
    }

    /// Whether a client has authenticated (checked by the connection after a batch).
    pub fn is_authenticated(&self, id: u64) -> bool {
        self.inner
            .lock()
            .clients
            .get(&id)
            .is_some_and(|c| c.authenticated)
    }

    /// Registers a connection; returns its client id.
    pub fn connect(&self, kind: ClientKind, conn: ConnInfo, outbox: Arc<dyn Outbox>) -> u64 {
        let mut s = self.inner.lock();
        Self::register(&mut s, kind, conn, outbox)
    }

    /// Registers a client connection unless `maxclients` connections are already open; a refused
    /// one counts in INFO `rejected_connections` and gets [`MAX_CLIENTS_ERROR`] from the caller.
    /// The control socket is never refused (the control plane must reach a full node).
    pub fn try_connect(
        &self,
        kind: ClientKind,
        conn: ConnInfo,
        outbox: Arc<dyn Outbox>,
    ) -> Option<u64> {
        Self::admit(&mut self.inner.lock(), kind, conn, outbox)
    }

    /// As [`Engine::try_connect`], without waiting: `None` (nothing registered) while the engine
    /// is held, e.g. by a script that has just started.
    pub fn try_connect_now(
        &self,
        kind: ClientKind,
        conn: ConnInfo,
        outbox: Arc<dyn Outbox>,
    ) -> Option<Option<u64>> {
        let mut s = self.inner.try_lock()?;
        Some(Self::admit(&mut s, kind, conn, outbox))
    }

    fn admit(
        s: &mut Server,
        kind: ClientKind,
        conn: ConnInfo,
        outbox: Arc<dyn Outbox>,
    ) -> Option<u64> {
        if kind == ClientKind::Normal {
            let max: usize = s
                .config
                .value_of("maxclients")
                .parse()
                .unwrap_or(usize::MAX);
            let open = s
                .clients
                .values()
                .filter(|c| c.kind == ClientKind::Normal)
                .count();
            if open >= max {
                s.stats.rejected_connections += 1;
                return None;
            }
        }
        Some(Self::register(s, kind, conn, outbox))
    }

    fn register(s: &mut Server, kind: ClientKind, conn: ConnInfo, outbox: Arc<dyn Outbox>) -> u64 {
        let c = s.new_client(kind, conn, outbox);
        let id = c.id;
        s.stats.connections_received += 1;
        s.clients.insert(id, c);
        id
    }

    pub fn disconnect(&self, id: u64) {
        let mut s = self.inner.lock();
        if let Some(mut c) = s.clients.remove(&id) {
            crate::cmd::cleanup_client(&mut s, &mut c);
        }
        self.busy_transactions.forget(id);
    }

    /// Runs the queued commands of one connection under one lock acquisition. Executed commands
    /// are removed from `cmds`; replies are appended to `out`.
    pub fn run(&self, id: u64, cmds: &mut VecDeque<Argv>, out: &mut Vec<u8>) -> RunOutcome {
        self.turn().run(id, cmds, out)
    }

    /// A turn at the engine: the batches run through it share one lock acquisition (a worker
    /// runs the batches of all its ready connections in one turn). The lock is taken by the
    /// first batch and held until the turn is dropped.
    pub fn turn(&self) -> Turn<'_> {
        Turn {
            engine: self,
            guard: None,
        }
    }

    fn run_locked(
        &self,
        s: &mut Server,
        id: u64,
        cmds: &mut VecDeque<Argv>,
        out: &mut Vec<u8>,
    ) -> RunOutcome {
        let Some(mut client) = s.clients.remove(&id) else {
            return RunOutcome::Close;
        };
        self.busy_transactions.replay(s, &mut client);
        let mut rb = ReplyBuf {
            buf: std::mem::take(out),
            resp3: client.resp3,
        };
        let mut outcome = RunOutcome::Done;
        s.clock.calibrate();
        // Most commands name a key first: a pipelined batch loads the keys of the commands
        // ahead while it runs the current one (`Keyspace::PREFETCH_AHEAD`).
        // Each key is hashed once, at its first step; the ring holds the hashes of the commands
        // between the running one and the farthest one being prefetched.
        let ahead = Keyspace::PREFETCH_AHEAD;
        let prefetching = cmds.len() > 1;
        let mut ring = [None::<u64>; 8];
        let mut started = 0usize;
        if prefetching {
            for (i, argv) in cmds.iter().take(ahead[0]).enumerate() {
                ring[i % 8] = argv.get(1).map(crate::table::hash_key);
            }
            for (step, &distance) in ahead.iter().enumerate() {
                for h in ring.iter().take(distance.min(cmds.len())).flatten() {
                    s.ks.prefetch_step(client.db, *h, step as u8);
                }
            }
        }
        while let Some(argv) = cmds.front() {
            if client.close_after_reply {
                outcome = RunOutcome::Close;
                break;
            }
            if let Some(until) = cmd::pause_applies(s, &client, argv) {
                outcome = RunOutcome::Paused { until_ms: until };
                break;
            }
            if prefetching {
                let far = started + ahead[0];
                ring[far % 8] = cmds
                    .get(ahead[0])
                    .and_then(|a| a.get(1))
                    .map(crate::table::hash_key);
                for (step, &distance) in ahead.iter().enumerate() {
                    if let Some(h) = ring[(started + distance) % 8] {
                        s.ks.prefetch_step(client.db, h, step as u8);
                    }
                }
                started += 1;
            }
            let argv = cmds.pop_front().expect("front exists");
            let mark = rb.len();
            let mode_before = client.reply_mode;
            s.execute_next(&mut client, &argv, &mut rb);
            rb.resp3 = client.resp3;
            // CLIENT REPLY OFF|SKIP: drop this command's reply, unless it is a pub/sub
            // confirmation, which redis pushes regardless (CLIENT_PUSHING).
            match mode_before {
                ReplyMode::Skip => {
                    if !cmd::pubsub_cmds::replies_are_pushes(&argv) {
                        rb.buf.truncate(mark);
                    }
                    if client.reply_mode == ReplyMode::Skip {
                        client.reply_mode = ReplyMode::On;
                    }
                }
                ReplyMode::Off
                    if client.reply_mode != ReplyMode::On
                        && !cmd::pubsub_cmds::replies_are_pushes(&argv) =>
                {
                    rb.buf.truncate(mark)
                }
                _ => {}
            }
            if let Some(b) = &client.blocked {
                outcome = RunOutcome::Blocked {
                    deadline_ms: b.deadline,
                };
                break;
            }
            // Over its hard output limit, the client is dropped and the rest of its batch
            // is not run (client-output-buffer-limit).
            if crate::obuf::batch_over_hard_limit(s, &mut client, rb.len()) {
                cmds.clear();
                rb.buf.clear();
                outcome = RunOutcome::Close;
                break;
            }
        }
        if client.close_after_reply {
            outcome = RunOutcome::Close;
        }
        // BCAST invalidations collected during the batch (redis sends them before sleeping).
        if s.tracking.active {
            crate::tracking::broadcast(s, Some((&mut client, &mut rb)));
        }
        s.stats.net_output_bytes += rb.buf.len() as u64;
        s.stats.net_input_bytes = self.input_bytes();
        // The AOF is written (and fsynced under `always`) before any reply leaves.
        if s.persist.aof.is_some() {
            crate::persistence::aof::end_batch(s);
        }
        self.max_bulk_len.store(
            s.config.proto_max_bulk_len,
            std::sync::atomic::Ordering::Relaxed,
        );
        *out = rb.buf;
        s.clients.insert(id, client);
        outcome
    }

    /// Takes the lock; while a script holds it past the time limit, answers the batch with BUSY
    /// (or SCRIPT KILL's reply) instead, as Redis does, and returns `None`. The reply protocol is
    /// RESP2/3-neutral for errors, so the client's protocol does not matter here.
    fn lock_unless_busy(
        &self,
        id: u64,
        cmds: &mut VecDeque<Argv>,
        out: &mut Vec<u8>,
    ) -> Option<parking_lot::MutexGuard<'_, Server>> {
        let wait = std::time::Duration::from_millis(10);
        loop {
            if let Some(s) = self.inner.try_lock() {
                return Some(s);
            }
            // A script past its time limit is answered at once (a worker's turn may hold
            // several connections' batches); otherwise wait for the lock a little at a time.
            if !self.script_control.busy() {
                if let Some(s) = self.inner.try_lock_for(wait) {
                    return Some(s);
                }
                continue;
            }
            if cmds
                .front()
                .is_some_and(crate::cmd::scripting::is_shutdown_nosave)
            {
                // Stop the script, then run SHUTDOWN NOSAVE once the lock is free.
                self.script_control.kill_for_shutdown();
                if let Some(s) = self.inner.try_lock_for(wait) {
                    return Some(s);
                }
                continue;
            }
            while let Some(argv) = cmds.pop_front() {
                self.busy_transactions
                    .reply(&self.script_control, id, &argv, out);
            }
            return None;
        }
    }

    /// The deadline of a blocked client passed: reply the timeout value if it is still blocked.
    pub fn timeout_blocked(&self, id: u64, out: &mut Vec<u8>) {
        // While a script runs the timeout waits (the client stays blocked until it ends).
        let Some(mut s) = self.lock_unless_script() else {
            return;
        };
        s.ks.now = crate::util::now_ms();
        crate::blocking::timeout_client(&mut s, id, out);
    }

    /// A protocol error from the parser: counted like redis counts it.
    pub fn protocol_error(&self, msg: &str) {
        let mut s = self.inner.lock();
        s.stats.total_error_replies += 1;
        *s.stats.errors.entry("ERR".into()).or_default() += 1;
        let _ = msg;
    }

    /// Counts request bytes (INFO `total_net_input_bytes`) without taking the lock.
    pub fn note_input(&self, bytes: usize) {
        self.input_bytes
            .fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn input_bytes(&self) -> u64 {
        self.input_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The lock, or `None` if a script is running (bookkeeping must not wait for a script).
    fn lock_unless_script(&self) -> Option<parking_lot::MutexGuard<'_, Server>> {
        loop {
            if let Some(s) = self
                .inner
                .try_lock_for(std::time::Duration::from_millis(10))
            {
                return Some(s);
            }
            if self.script_control.running() {
                return None;
            }
        }
    }

    /// Periodic work (redis's `serverCron` at `hz`): active expiry, client timeouts.
    pub fn cron(&self) {
        // Skipped while a script runs, as redis's cron does not run during a script either.
        let Some(mut s) = self.lock_unless_script() else {
            return;
        };
        s.ks.now = crate::util::now_ms();
        s.ks.active_expire_cycle(1000);
        crate::persistence::cron(&mut s);
        if !s.ks.expired_log.is_empty() {
            let mut fake =
                s.new_client(ClientKind::Fake, ConnInfo::default(), Arc::new(NullOutbox));
            s.after_command(&mut fake);
        }
        crate::cmd::server::cron_timeouts(&mut s);
        crate::obuf::cron(&mut s);
        if s.tracking.active {
            crate::tracking::broadcast(&mut s, None);
        }
        // Give back the spare capacity of tables that shrank a lot (mass deletes, expiry).
        for d in s.ks.dbs.iter_mut() {
            d.keys.shrink_if_sparse();
            d.expires.shrink_if_sparse();
        }
    }

    /// Runs one command as an internal admin client (control socket helpers and tests).
    pub fn admin_call(&self, args: &[&[u8]]) -> Vec<u8> {
        let mut s = self.inner.lock();
        let mut fake = s.new_client(
            ClientKind::Control,
            ConnInfo::default(),
            Arc::new(NullOutbox),
        );
        let mut out = ReplyBuf::new(false);
        s.execute(&mut fake, &Argv::from_slices(args), &mut out);
        crate::persistence::aof::end_batch(&mut s);
        out.buf
    }

    /// The node is stopping (SIGTERM, SIGINT): a running script is stopped as SHUTDOWN NOSAVE
    /// would stop it, so that it cannot keep the process alive.
    pub fn stop_script_for_shutdown(&self) {
        self.script_control.kill_for_shutdown();
    }

    /// Whether a script has held the engine past `busy-reply-threshold` (then other clients
    /// get BUSY replies instead of waiting).
    pub fn script_busy(&self) -> bool {
        self.script_control.busy()
    }

    /// The reply to `argv` from a connection not registered yet because a busy script holds
    /// the engine: BUSY, or SCRIPT KILL's reply. SHUTDOWN NOSAVE is not answered here: it stops
    /// the script and returns false, and the connection runs it once registered.
    pub fn reply_while_script_runs(&self, argv: &Argv, out: &mut Vec<u8>) -> bool {
        if crate::cmd::scripting::is_shutdown_nosave(argv) {
            self.script_control.kill_for_shutdown();
            return false;
        }
        crate::cmd::scripting::busy_reply(&self.script_control, argv, false, out);
        true
    }

    /// Whether a Lua script holds the engine (the node keeps lock waits off its async workers).
    pub fn script_running(&self) -> bool {
        self.script_control.running()
    }

    pub fn proto_max_bulk_len(&self) -> i64 {
        self.max_bulk_len.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_port(&self, port: u16) {
        self.inner.lock().tcp_port = port;
    }

    pub fn shutdown_requested(&self) -> bool {
        // Polled by the node's timer task: must not stall a runtime thread behind a script.
        self.lock_unless_script()
            .is_some_and(|s| s.shutdown_requested)
    }
}
