//! Persistence: RDB snapshots (SAVE, BGSAVE, loading at start) and, in `aof`, the append-only
//! file.
//!
//! ```text
//!   SAVE            the snapshot walk and the file writes run in the caller, lock held
//!   BGSAVE          Cow::start under the lock, then a "snapshot" thread:
//!                     loop { lock; Cow::step(STEP); take the copied records; unlock;
//!                            encode them (no lock); hand the bytes to the consumers }
//!                   consumers: the RDB file (temp file, fsync, rename), replicas doing a full
//!                   sync (`replication`), the AOF rewrite (`aof::Rewrite`)
//!   BGREWRITEAOF    the same walk, the new AOF base as consumer (`aof`)
//!   start of node   `load_at_start`: the AOF if `appendonly yes` and it exists, else
//!                   `<dir>/<dbfilename>`
//! ```
//!
//! There is no fork: the snapshot is a consistent point in time because of the per-key
//! copy-on-write described in [`snapshot`]. A file is complete and checksummed or it does not
//! exist: bytes go to `temp-<pid>-<n>.rdb` in the same directory, which is fsynced and renamed
//! over the target only after the writer's CRC64 trailer.

pub mod aof;
pub mod propagate;
pub mod snapshot;

use crate::server::{Engine, Server};
use snapshot::{Cow, Encoder, Form, SharedBuf, StepBudget};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// What the snapshot walk may do per lock acquisition: bounds the pause a snapshot adds to any
/// command. A step only copies values out (encoding happens after the lock is released); the
/// time limit keeps big values and slow (debug, loaded) builds within the same bound.
const STEP: StepBudget = StepBudget {
    slots: 512,
    time: std::time::Duration::from_micros(100),
};

/// Something that receives the bytes of a snapshot as they are produced.
pub trait Consumer: Send {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// The last bytes were written: make the result durable / visible.
    fn finish(&mut self) -> std::io::Result<()>;
    /// The snapshot failed: leave nothing behind.
    fn abort(&mut self);
    /// Called under the engine lock once the snapshot ended (replication switches the replica
    /// to the command stream here). `ok` says whether this consumer got the whole file.
    fn done(&mut self, _srv: &mut Server, _ok: bool) {}
    /// Bytes handed over and not yet delivered (a replica's socket): the walk waits while any
    /// consumer holds more than [`MAX_CONSUMER_BACKLOG`].
    fn backlog(&self) -> usize {
        0
    }
}

/// How far a consumer may fall behind the walk before the walk waits for it.
pub const MAX_CONSUMER_BACKLOG: usize = 8 << 20;

/// Persistence state kept in the server.
pub struct Persistence {
    /// The engine, for the snapshot thread (set by `Engine::new`).
    pub engine: Weak<Engine>,
    /// The running background snapshot.
    pub running: Option<Running>,
    /// BGSAVE SCHEDULE arrived while a snapshot ran.
    pub scheduled: bool,
    /// `stats.dirty` when the last successful save started.
    pub dirty_at_save: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_secs: i64,
    pub saves: u64,
    pub last_cow_bytes: usize,
    /// `Keyspace::cow` buffer high-water mark of the running (or last) snapshot.
    pub cow_peak: usize,
    /// Keys loaded at start and from where.
    pub loaded: Option<(String, u64)>,
    pub aof: Option<aof::Aof>,
    /// BGREWRITEAOF state and history (INFO `aof_rewrite*`).
    pub rewrite: aof::RewriteStats,
    /// Replaying the AOF: commands are not appended again.
    pub loading: bool,
    /// Commands of the current top-level command, for the AOF and the replicas.
    pub pending: Vec<propagate::Propagated>,
    /// Entries of `Keyspace::expired_log` already turned into DELs.
    pub expired_seen: usize,
    temp_seq: u64,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            engine: Weak::new(),
            running: None,
            scheduled: false,
            dirty_at_save: 0,
            last_bgsave_ok: true,
            last_bgsave_secs: -1,
            saves: 0,
            last_cow_bytes: 0,
            cow_peak: 0,
            loaded: None,
            aof: None,
            rewrite: aof::RewriteStats::default(),
            loading: false,
            pending: Vec::new(),
            expired_seen: 0,
            temp_seq: 0,
        }
    }
}

/// A background snapshot in progress.
pub struct Running {
    pub started: Instant,
    pub dirty_at_start: u64,
    /// Whether the RDB file is one of the consumers (BGSAVE) or only replicas.
    pub to_file: bool,
    /// The walk writes a new AOF base (BGREWRITEAOF), not an RDB file.
    pub aof_rewrite: bool,
}

/// `<dir>/<dbfilename>`.
pub fn rdb_path(srv: &Server) -> PathBuf {
    Path::new(&srv.config.value_of("dir")).join(srv.config.value_of("dbfilename"))
}

/// The RDB file consumer: a temporary file renamed over the target when complete.
pub struct RdbFile {
    tmp: PathBuf,
    target: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl RdbFile {
    pub fn create(srv: &mut Server) -> std::io::Result<RdbFile> {
        let target = rdb_path(srv);
        let dir = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        srv.persist.temp_seq += 1;
        let tmp = dir.join(format!(
            "temp-{}-{}.rdb",
            std::process::id(),
            srv.persist.temp_seq
        ));
        let f = std::fs::File::create(&tmp)?;
        Ok(RdbFile {
            tmp,
            target,
            out: Some(std::io::BufWriter::with_capacity(1 << 20, f)),
        })
    }
}

impl Consumer for RdbFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.write_all(bytes),
            None => Err(std::io::Error::other("file already closed")),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("file already closed"))?;
        let f = out.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target)?;
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.out = None;
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Where the walk stands after a step.
#[derive(PartialEq, Eq)]
enum Step {
    More,
    /// Complete: the trailer is in the buffer, `Keyspace::cow` is cleared.
    Done,
    /// A value could not be written: the result must not be used (`Keyspace::cow` is cleared).
    Failed,
}

/// The part of a step that needs the lock: walk, take what was copied. The last step also
/// ends the copy-on-write (`Keyspace::cow` cleared) in the same lock hold.
fn copy_step(srv: &mut Server) -> (Vec<snapshot::Detached>, bool) {
    let done = Cow::step(&mut srv.ks, STEP);
    let Some(cow) = srv.ks.cow.as_deref_mut() else {
        return (Vec::new(), true);
    };
    srv.persist.cow_peak = srv.persist.cow_peak.max(cow.copied_bytes);
    let records = cow.take_copied();
    if done {
        srv.ks.cow = None;
    }
    (records, done)
}

/// The part of a step that does not: encode the records into `buf`, and end the file after the
/// last one. `encoder` is None once the snapshot failed.
fn encode_step(
    encoder: &mut Option<Encoder>,
    records: Vec<snapshot::Detached>,
    done: bool,
) -> Step {
    let Some(enc) = encoder.as_mut() else {
        return Step::Failed;
    };
    if enc.encode(records).is_err() {
        *encoder = None;
        return Step::Failed;
    }
    if !done {
        return Step::More;
    }
    match encoder.take().map(Encoder::finish) {
        Some(Ok(())) => Step::Done,
        _ => Step::Failed,
    }
}

/// Hands bytes to every live consumer; a failing one is aborted and dropped (false).
fn feed(consumers: &mut [(Box<dyn Consumer>, bool)], bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    for (c, ok) in consumers.iter_mut() {
        if *ok && c.write(bytes).is_err() {
            c.abort();
            *ok = false;
        }
    }
}

fn finish_all(consumers: &mut [(Box<dyn Consumer>, bool)]) {
    for (c, ok) in consumers.iter_mut() {
        if *ok && c.finish().is_err() {
            c.abort();
            *ok = false;
        }
    }
}

/// Starts the walk: flips the marks, writes the header.
fn begin(srv: &mut Server, buf: &SharedBuf, form: Form) -> Result<Encoder, String> {
    if srv.ks.cow.is_some() {
        return Err("ERR Background save already in progress".into());
    }
    let used = srv.used_memory() as u64;
    srv.persist.cow_peak = 0;
    let functions: Vec<Vec<u8>> = srv
        .scripts
        .functions
        .libraries()
        .map(|l| l.code.clone())
        .collect();
    Cow::start(&mut srv.ks, buf.clone(), used, form, &functions).map_err(|e| format!("ERR {e}"))
}

/// SAVE: the whole snapshot in the caller, lock held (what SAVE means in Redis).
pub fn save_now(srv: &mut Server) -> Result<(), String> {
    if srv.persist.running.is_some() {
        return Err("ERR Background save already in progress".into());
    }
    let mut file = RdbFile::create(srv).map_err(|e| format!("ERR {e}"))?;
    let buf = SharedBuf::default();
    let dirty = srv.stats.dirty;
    let mut encoder = Some(begin(srv, &buf, Form::Rdb)?);
    let mut ok = true;
    loop {
        // The walk always runs to its end, even after a failure: a slot it did not reach would
        // keep the old mark, and the next snapshot would take it for done.
        let (records, done) = copy_step(srv);
        let step = encode_step(&mut encoder, records, done);
        srv.persist.cow_peak = srv.persist.cow_peak.max(buf.len());
        let bytes = buf.take();
        if ok && (step == Step::Failed || file.write(&bytes).is_err()) {
            ok = false;
            file.abort();
            // Nothing more to encode, but the walk must still mark every slot (see `done`).
            encoder = None;
        }
        if done {
            break;
        }
    }
    if ok && file.finish().is_err() {
        file.abort();
        ok = false;
    }
    if ok {
        srv.last_save = crate::util::now_ms() / 1000;
        srv.persist.dirty_at_save = dirty;
        srv.persist.saves += 1;
        Ok(())
    } else {
        Err("ERR".into())
    }
}

/// Starts a background snapshot feeding `consumers` (plus the RDB file if `to_file`).
pub fn start_background(
    srv: &mut Server,
    to_file: bool,
    extra: Vec<Box<dyn Consumer>>,
) -> Result<(), String> {
    spawn_walk(srv, to_file, None, extra)
}

/// Starts the snapshot thread. `aof_rewrite` (the form of the new base) says the walk is an
/// AOF rewrite (for INFO and for the commands that must not start a second walk).
fn spawn_walk(
    srv: &mut Server,
    to_file: bool,
    aof_rewrite: Option<Form>,
    mut extra: Vec<Box<dyn Consumer>>,
) -> Result<(), String> {
    if srv.persist.running.is_some() || srv.ks.cow.is_some() {
        return Err("ERR Background save already in progress".into());
    }
    let engine = srv
        .persist
        .engine
        .upgrade()
        .ok_or("ERR the engine is shutting down")?;
    let mut consumers: Vec<(Box<dyn Consumer>, bool)> = Vec::new();
    if to_file {
        let f = RdbFile::create(srv).map_err(|e| format!("ERR {e}"))?;
        consumers.push((Box::new(f), true));
    }
    consumers.extend(extra.drain(..).map(|c| (c, true)));
    let buf = SharedBuf::default();
    let encoder = begin(srv, &buf, aof_rewrite.unwrap_or(Form::Rdb))?;
    srv.persist.running = Some(Running {
        started: Instant::now(),
        dirty_at_start: srv.stats.dirty,
        to_file,
        aof_rewrite: aof_rewrite.is_some(),
    });
    let spawned = std::thread::Builder::new()
        .name("snapshot".into())
        .spawn(move || background(engine, buf, encoder, consumers, to_file));
    if let Err(e) = spawned {
        // Nobody will walk: drop the state (marks of unwritten slots stay old, so flip back).
        srv.ks.cow = None;
        srv.ks.mark = !srv.ks.mark;
        srv.persist.running = None;
        return Err(format!("ERR {e}"));
    }
    Ok(())
}

fn background(
    engine: Arc<Engine>,
    buf: SharedBuf,
    encoder: Encoder,
    mut consumers: Vec<(Box<dyn Consumer>, bool)>,
    to_file: bool,
) {
    let mut encoder = Some(encoder);
    let mut last_bytes = 0;
    loop {
        let mut guard = engine.lock();
        guard.persist.cow_peak = guard.persist.cow_peak.max(last_bytes);
        let (records, done) = copy_step(&mut guard);
        // Hand the lock to a waiting connection rather than taking it straight back: the walk
        // must interleave with commands, not starve them.
        parking_lot::MutexGuard::unlock_fair(guard);
        let step = encode_step(&mut encoder, records, done);
        let bytes = buf.take();
        last_bytes = bytes.len();
        if step == Step::Failed {
            for (c, ok) in consumers.iter_mut().filter(|(_, ok)| *ok) {
                c.abort();
                *ok = false;
            }
        }
        feed(&mut consumers, &bytes);
        if !consumers.iter().any(|(_, ok)| *ok) {
            // Nobody wants the bytes any more (a full disk, replicas gone): stop encoding, but
            // walk on to the end so every slot gets the new mark.
            encoder = None;
        }
        if done {
            break;
        }
        // Let the consumers catch up (replica sockets): memory stays bounded by their buffers.
        let start = Instant::now();
        while consumers
            .iter()
            .any(|(c, ok)| *ok && c.backlog() > MAX_CONSUMER_BACKLOG)
            && start.elapsed().as_secs() < 60
        {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    finish_all(&mut consumers);
    let mut s = engine.lock();
    let run = s.persist.running.take();
    let file_ok = !to_file || consumers.first().is_some_and(|(_, ok)| *ok);
    if let Some(run) = run {
        if to_file {
            s.persist.last_bgsave_ok = file_ok;
            s.persist.last_bgsave_secs = run.started.elapsed().as_secs() as i64;
            if file_ok {
                s.last_save = crate::util::now_ms() / 1000;
                s.persist.dirty_at_save = run.dirty_at_start;
                s.persist.saves += 1;
            }
        }
    }
    s.persist.last_cow_bytes = s.persist.cow_peak;
    for (c, ok) in consumers.iter_mut() {
        c.done(&mut s, *ok);
    }
    if std::mem::take(&mut s.persist.scheduled) {
        let _ = start_background(&mut s, true, Vec::new());
    } else {
        aof::start_scheduled_rewrite(&mut s);
    }
}

/// Periodic work: DELs of actively expired keys, the AOF's write and everysec fsync, the
/// replication link's timers.
pub fn cron(srv: &mut Server) {
    propagate::flush(srv);
    aof::end_batch(srv);
    aof::cron(srv);
    aof::rewrite_cron(srv);
    crate::replication::cron(srv);
}

/// `SAVE` and `BGSAVE [SCHEDULE]`.
pub fn save_command(ctx: &mut crate::cmd::Ctx) -> crate::cmd::CmdResult {
    use crate::cmd::Error;
    if ctx.spec.name == "save" {
        save_now(ctx.srv).map_err(Error::msg)?;
        ctx.out.ok();
        return Ok(());
    }
    let schedule = match ctx.argv.len() {
        1 => false,
        2 if crate::util::eq_ignore_case(&ctx.argv[1], "schedule") => true,
        _ => return crate::cmd::err(crate::cmd::SYNTAX),
    };
    if ctx.srv.persist.running.is_some() || ctx.srv.ks.cow.is_some() {
        let rdb_running = ctx.srv.persist.running.as_ref().is_some_and(|r| r.to_file);
        if schedule && !rdb_running {
            ctx.srv.persist.scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        if rdb_running {
            return crate::cmd::err("ERR Background save already in progress");
        }
        return crate::cmd::err(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. \
             Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        );
    }
    start_background(ctx.srv, true, Vec::new()).map_err(Error::msg)?;
    ctx.out.simple("Background saving started");
    Ok(())
}

/// Loads `<dir>/<dbfilename>` (or replays the AOF, see [`aof`]) into an empty keyspace.
/// A missing file is not an error; a corrupt one is (the node must not start on half the data).
pub fn load_at_start(srv: &mut Server) -> Result<(), String> {
    if srv.config.flag("appendonly") {
        let path = aof::path(srv);
        if path.exists() {
            let n = aof::replay(srv, &path)?;
            srv.persist.loaded = Some((path.display().to_string(), n));
        }
        aof::open(srv)?;
        return Ok(());
    }
    let path = rdb_path(srv);
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let n = load_rdb(srv, f).map_err(|e| format!("{}: {e}", path.display()))?;
    srv.persist.loaded = Some((path.display().to_string(), n));
    Ok(())
}

/// Reads an RDB stream into the keyspace (keys already expired are skipped, as a primary
/// does). Returns the number of keys loaded.
pub fn load_rdb(srv: &mut Server, r: impl std::io::Read) -> Result<u64, String> {
    let mut reader = rdb::Reader::new(r).map_err(|e| e.to_string())?;
    load_entries(srv, &mut reader)
}

/// Loads the entries of an opened RDB stream, through its end marker and checksum.
pub fn load_entries<R: std::io::Read>(
    srv: &mut Server,
    reader: &mut rdb::Reader<R>,
) -> Result<u64, String> {
    let now = crate::util::now_ms();
    let limits = srv.ks.limits;
    let mut n = 0;
    while let Some(e) = reader.next_entry().map_err(|e| e.to_string())? {
        let db = e.db as usize;
        if db >= srv.ks.dbs.len() {
            return Err(format!(
                "the file uses DB {db}; this node has {} databases",
                srv.ks.dbs.len()
            ));
        }
        if e.expire_ms.is_some_and(|t| t <= now) {
            continue;
        }
        srv.ks
            .set_owned(db, &e.key, crate::cmd::dump::from_rdb(e.value, &limits));
        if let Some(t) = e.expire_ms {
            srv.ks.set_expire(db, &e.key, t);
        }
        n += 1;
    }
    // The file is the whole state: its function libraries replace ours (none if it has none).
    let control = std::sync::Arc::clone(&srv.scripts.control);
    srv.scripts
        .functions
        .load_all(
            &control,
            &mut crate::scripting::functions::LoadHost,
            reader.functions(),
            crate::scripting::functions::RestorePolicy::Flush,
        )
        .map_err(|e| format!("loading function libraries: {e:?}"))?;
    srv.last_save = now / 1000;
    Ok(n)
}

/// The `# Persistence` section of INFO, with the field names redis-server 7.0 prints.
pub fn info(srv: &Server, o: &mut String) {
    use std::fmt::Write as _;
    let p = &srv.persist;
    let cow = srv.ks.cow.as_deref();
    let running = p.running.as_ref();
    let mut w = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(o, "{k}:{v}\r\n");
    };
    w("loading", &(p.loading as u8));
    w("async_loading", &0);
    w("current_cow_peak", &p.cow_peak);
    w(
        "current_cow_size",
        &if cow.is_some() { p.cow_peak } else { 0 },
    );
    w("current_cow_size_age", &0);
    w("current_fork_perc", &"0.00");
    w(
        "current_save_keys_processed",
        &cow.map_or(0, |c| c.keys_written),
    );
    w("current_save_keys_total", &cow.map_or(0, |c| c.keys_total));
    w(
        "rdb_changes_since_last_save",
        &srv.stats.dirty.saturating_sub(p.dirty_at_save),
    );
    w(
        "rdb_bgsave_in_progress",
        &(running.is_some_and(|r| !r.aof_rewrite) as u8),
    );
    w("rdb_last_save_time", &srv.last_save);
    w(
        "rdb_last_bgsave_status",
        &if p.last_bgsave_ok { "ok" } else { "err" },
    );
    w("rdb_last_bgsave_time_sec", &p.last_bgsave_secs);
    w(
        "rdb_current_bgsave_time_sec",
        &running
            .filter(|r| !r.aof_rewrite)
            .map_or(-1, |r| r.started.elapsed().as_secs() as i64),
    );
    w("rdb_saves", &p.saves);
    w("rdb_last_cow_size", &p.last_cow_bytes);
    w(
        "rdb_last_load_keys_loaded",
        &p.loaded.as_ref().map_or(0, |l| l.1),
    );
    aof::info(srv, &mut w);
}
