//! The append-only file: `appendonly yes` appends every write (the [`super::propagate`]
//! stream, RESP-encoded, with SELECT where the DB changes) to `<dir>/<appendfilename>`.
//!
//! ```text
//!   commands of a batch ─▶ Aof::buf ─(end of the batch, before any reply is written)─▶ write(2)
//!   appendfsync always    fdatasync right there, still before the replies: an acknowledged
//!                         write is on disk
//!   appendfsync everysec  fdatasync from the cron, at most once a second, on its own thread
//!   appendfsync no        the kernel decides
//! ```
//!
//! At start the file is replayed through a client of its own. A crash can leave a torn last
//! command: with `aof-load-truncated yes` (the default) the file is cut back to the last whole
//! command, as Redis does, and a transaction left open by the cut is dropped with it; with `no`
//! the node refuses to start.
//!
//! The file is the single-file layout of Redis before 7.0 (no manifest), which redis-server
//! 7.0 still loads (it upgrades it to its manifest layout) and `redis-check-aof` checks.
//!
//! ## Rewrite (BGREWRITEAOF, and automatically per `auto-aof-rewrite-percentage/min-size`)
//!
//! ```text
//!   start (lock)    write out the batch buffer; the snapshot walk starts (`super::snapshot`,
//!                   a point-in-time copy, no fork); `Aof::rewrite` starts collecting a copy of
//!                   every byte appended to the file from now on (the "diff")
//!   walk thread     the copy is encoded into temp-rewriteaof-bg-<pid>.aof: the new base, an
//!                   RDB preamble with `aof-use-rdb-preamble yes` (Redis's default), else
//!                   RESTORE ... REPLACE [ABSTTL] commands
//!   end (no lock)   the diff so far is appended to the temp file, fsync
//!   end (lock)      the rest of the diff, fsync, rename over the AOF, fsync the directory;
//!                   the node appends to the new file from here
//! ```
//!
//! Until the rename the old file receives every write as before, so a crash at any moment
//! leaves either the old file or the new one, each complete (with `appendfsync always`, each
//! holding every acknowledged write). The loader reads both forms: a file starting with
//! `REDIS` is an RDB preamble followed by commands, anything else is commands.

use super::propagate::{encode_stream, Propagated};
use super::snapshot::{Form, SharedBuf};
use super::Consumer;
use crate::client::{ClientKind, ConnInfo, NullOutbox};
use crate::server::Server;
use resp::request::{parse_request, Parsed, RequestLimits};
use resp::ReplyBuf;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fsync {
    Always,
    Everysec,
    No,
}

pub struct Aof {
    file: std::fs::File,
    buf: Vec<u8>,
    selected: Option<usize>,
    pub size: u64,
    last_fsync: Instant,
    unsynced: bool,
    /// An everysec fdatasync is running on its thread.
    syncing: Arc<AtomicBool>,
    pub last_write_ok: bool,
    pub fsyncs: u64,
    /// Size of the base (the RDB preamble, or the whole file when it was loaded at start),
    /// the reference for `auto-aof-rewrite-percentage`.
    pub base_size: u64,
    /// During a rewrite: a copy of every byte written to the file since the copy started.
    rewrite: Option<SharedBuf>,
}

/// What INFO says about rewrites.
pub struct RewriteStats {
    /// BGREWRITEAOF arrived while another snapshot ran: start when it ends.
    pub scheduled: bool,
    pub last_ok: bool,
    pub last_secs: i64,
    pub done: u64,
    pub consecutive_failures: u64,
}

impl Default for RewriteStats {
    fn default() -> Self {
        RewriteStats {
            scheduled: false,
            last_ok: true,
            last_secs: -1,
            done: 0,
            consecutive_failures: 0,
        }
    }
}

pub fn path(srv: &Server) -> PathBuf {
    Path::new(&srv.config.value_of("dir")).join(srv.config.value_of("appendfilename"))
}

fn policy(srv: &Server) -> Fsync {
    match srv.config.value_of("appendfsync").as_str() {
        "always" => Fsync::Always,
        "no" => Fsync::No,
        _ => Fsync::Everysec,
    }
}

/// Opens (creating) the file for appending.
pub fn open(srv: &mut Server) -> Result<(), String> {
    let p = path(srv);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    srv.persist.aof = Some(Aof {
        file,
        buf: Vec::new(),
        selected: None,
        size,
        last_fsync: Instant::now(),
        unsynced: false,
        syncing: Arc::new(AtomicBool::new(false)),
        last_write_ok: true,
        fsyncs: 0,
        base_size: size,
        rewrite: None,
    });
    Ok(())
}

/// CONFIG SET appendonly yes|no at run time.
pub fn config_changed(srv: &mut Server) -> Result<(), String> {
    let on = srv.config.flag("appendonly");
    match (on, srv.persist.aof.is_some()) {
        (true, false) => {
            // The file must start from the current data: write it as commands.
            rewrite_from_keyspace(srv)?;
            open(srv)
        }
        (false, true) => {
            end_batch(srv);
            srv.persist.aof = None;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The whole dataset was replaced without commands (a replica's full sync): the file must
/// start again from the new data, or a restart would replay the old data under the new.
pub fn dataset_replaced(srv: &mut Server) -> Result<(), String> {
    if srv.persist.aof.is_none() {
        return Ok(());
    }
    end_batch(srv);
    // A rewrite in progress holds a copy of the old data: its result must not be installed.
    if let Some(a) = srv.persist.aof.as_mut() {
        a.rewrite = None;
    }
    rewrite_from_keyspace(srv)?;
    open(srv)
}

/// Writes the whole keyspace as commands to a new file (turning AOF on with data present).
fn rewrite_from_keyspace(srv: &mut Server) -> Result<(), String> {
    let p = path(srv);
    let tmp = p.with_extension("aof.tmp");
    let mut out = Vec::new();
    let mut selected = None;
    for db in 0..srv.ks.dbs.len() {
        let d = &srv.ks.dbs[db];
        let mut cmds: Vec<Propagated> = Vec::new();
        for slot in d.keys.iter() {
            let key = crate::table::Keyed::key(slot).to_vec();
            let v = super::snapshot::to_rdb(slot.value());
            let at = d.expire_of(&key);
            cmds.push((db, restore_command(key, &v, at).map_err(|e| e.to_string())?));
        }
        encode_stream(&cmds, &mut selected, &mut out);
    }
    let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    f.write_all(&out).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &p).map_err(|e| e.to_string())?;
    sync_dir(&p).map_err(|e| e.to_string())
}

/// fsyncs the directory holding `file` (after a rename into it).
fn sync_dir(file: &Path) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// The command that recreates a key with its value and absolute expiry time.
pub fn restore_command(
    key: Vec<u8>,
    v: &rdb::Value,
    expire_ms: Option<i64>,
) -> rdb::Result<Vec<Vec<u8>>> {
    let payload = rdb::dump::encode(v)?;
    let ttl = expire_ms.map_or(b"0".to_vec(), |at| at.to_string().into_bytes());
    let mut c = vec![b"RESTORE".to_vec(), key, ttl, payload, b"REPLACE".to_vec()];
    if expire_ms.is_some() {
        c.push(b"ABSTTL".to_vec());
    }
    Ok(c)
}

/// Appends commands (buffered until the end of the batch).
pub fn feed(srv: &mut Server, cmds: &[Propagated]) {
    if let Some(a) = srv.persist.aof.as_mut() {
        encode_stream(cmds, &mut a.selected, &mut a.buf);
    }
}

/// End of a batch of commands, before the replies are written: write, and fsync if `always`.
pub fn end_batch(srv: &mut Server) {
    let pol = policy(srv);
    let Some(a) = srv.persist.aof.as_mut() else {
        return;
    };
    if a.buf.is_empty() {
        return;
    }
    let ok = a.file.write_all(&a.buf).is_ok();
    a.last_write_ok = ok;
    if ok {
        a.size += a.buf.len() as u64;
        a.unsynced = true;
    }
    if let Some(diff) = &a.rewrite {
        diff.0.lock().extend_from_slice(&a.buf);
    }
    a.buf.clear();
    if pol == Fsync::Always && ok {
        a.last_write_ok = a.file.sync_data().is_ok();
        a.fsyncs += 1;
        a.unsynced = false;
        a.last_fsync = Instant::now();
    }
}

/// Cron: the everysec fdatasync, off the lock on a thread of its own.
pub fn cron(srv: &mut Server) {
    if policy(srv) != Fsync::Everysec {
        return;
    }
    let Some(a) = srv.persist.aof.as_mut() else {
        return;
    };
    if !a.unsynced || a.last_fsync.elapsed().as_millis() < 1000 {
        return;
    }
    if a.syncing.swap(true, Ordering::AcqRel) {
        return;
    }
    let Ok(f) = a.file.try_clone() else {
        a.syncing.store(false, Ordering::Release);
        return;
    };
    a.unsynced = false;
    a.last_fsync = Instant::now();
    a.fsyncs += 1;
    let flag = a.syncing.clone();
    let spawned = std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(move || {
            let _ = f.sync_data();
            flag.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        a.syncing.store(false, Ordering::Release);
    }
}

/// Replays the file into the keyspace (its RDB preamble, then the commands); returns the number
/// of keys loaded plus commands run.
pub fn replay(srv: &mut Server, p: &Path) -> Result<u64, String> {
    let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let (mut n, mut pos) = (0, 0);
    if data.starts_with(b"REDIS") {
        let mut rest: &[u8] = &data;
        let mut reader =
            rdb::Reader::new(&mut rest).map_err(|e| format!("{}: {e}", p.display()))?;
        n = super::load_entries(srv, &mut reader)
            .map_err(|e| format!("{}: RDB preamble: {e}", p.display()))?;
        let ahead = reader.read_ahead();
        drop(reader);
        pos = data.len() - rest.len() - ahead;
    }
    let limits = RequestLimits {
        max_bulk_len: i64::MAX,
        authenticated: true,
    };
    let mut client = srv.new_client(ClientKind::Fake, ConnInfo::default(), Arc::new(NullOutbox));
    srv.persist.loading = true;
    // Where the open transaction started: a cut inside it drops the whole transaction.
    let mut multi_at: Option<usize> = None;
    let mut truncate_at: Option<usize> = None;
    let mut error = None;
    while pos < data.len() {
        match parse_request(&data[pos..], &limits) {
            Ok(Parsed::Command(argv, used)) => {
                if argv.is_empty() {
                    pos += used;
                    continue;
                }
                let name = crate::util::lower(&argv[0]);
                if name == "multi" {
                    multi_at = Some(pos);
                } else if name == "exec" {
                    multi_at = None;
                }
                let mut out = ReplyBuf::new(false);
                srv.execute(&mut client, &argv, &mut out);
                n += 1;
                pos += used;
            }
            Ok(Parsed::Incomplete) => {
                truncate_at = Some(multi_at.unwrap_or(pos));
                break;
            }
            Err(e) => {
                error = Some(format!(
                    "Bad file format reading the append only file {} at offset {pos}: {}",
                    p.display(),
                    e.message()
                ));
                break;
            }
        }
    }
    if error.is_none() && truncate_at.is_none() {
        if let Some(at) = multi_at {
            // A transaction without its EXEC at the very end: the crash came between them.
            truncate_at = Some(at);
        }
    }
    srv.persist.loading = false;
    client.multi = None;
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(at) = truncate_at {
        if !srv.config.flag("aof-load-truncated") {
            return Err(format!(
                "Unexpected end of file reading the append only file {}",
                p.display()
            ));
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .map_err(|e| e.to_string())?;
        f.set_len(at as u64).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        eprintln!(
            "AOF {} was truncated: the last command was incomplete; cut at offset {at} of {}",
            p.display(),
            data.len()
        );
    }
    Ok(n)
}

/// The AOF part of INFO persistence.
pub fn info(srv: &Server, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let a = srv.persist.aof.as_ref();
    w("aof_enabled", &(a.is_some() as u8));
    let st = &srv.persist.rewrite;
    let running = srv.persist.running.as_ref().filter(|r| r.aof_rewrite);
    w("aof_rewrite_in_progress", &(running.is_some() as u8));
    w("aof_rewrite_scheduled", &(st.scheduled as u8));
    w("aof_last_rewrite_time_sec", &st.last_secs);
    w(
        "aof_current_rewrite_time_sec",
        &running.map_or(-1, |r| r.started.elapsed().as_secs() as i64),
    );
    w(
        "aof_last_bgrewrite_status",
        &if st.last_ok { "ok" } else { "err" },
    );
    w("aof_rewrites", &st.done);
    w(
        "aof_rewrites_consecutive_failures",
        &st.consecutive_failures,
    );
    w(
        "aof_last_write_status",
        &if a.is_none_or(|a| a.last_write_ok) {
            "ok"
        } else {
            "err"
        },
    );
    w("aof_last_cow_size", &0);
    w("module_fork_in_progress", &0);
    w("module_fork_last_cow_size", &0);
    if let Some(a) = a {
        w("aof_current_size", &a.size);
        w("aof_base_size", &a.base_size);
        w("aof_pending_rewrite", &0);
        w("aof_buffer_length", &a.buf.len());
        w(
            "aof_pending_bio_fsync",
            &(a.syncing.load(Ordering::Relaxed) as u8),
        );
        w("aof_delayed_fsync", &0);
    }
}

/// BGREWRITEAOF, with the replies and scheduling of redis-server 7.0.
pub fn bgrewriteaof_command(ctx: &mut crate::cmd::Ctx) -> crate::cmd::CmdResult {
    let srv = &mut *ctx.srv;
    if srv.persist.running.as_ref().is_some_and(|r| r.aof_rewrite) {
        return crate::cmd::err("ERR Background append only file rewriting already in progress");
    }
    if srv.persist.running.is_some() || srv.ks.cow.is_some() {
        srv.persist.rewrite.scheduled = true;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    if let Err(e) = start_rewrite(srv) {
        eprintln!("Can't rewrite append only file in background: {e}");
        return crate::cmd::err(
            "ERR Can't execute an AOF background rewriting. \
             Please check the server logs for more information.",
        );
    }
    ctx.out
        .simple("Background append only file rewriting started");
    Ok(())
}

/// Starts a rewrite now (no other walk may be running).
pub fn start_rewrite(srv: &mut Server) -> Result<(), String> {
    srv.persist.rewrite.scheduled = false;
    let target = path(srv);
    let tmp = target.with_file_name(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    // What the batch buffer holds ran before the copy starts: it belongs to the old file only.
    end_batch(srv);
    let diff = srv.persist.aof.as_mut().map(|a| {
        let d = SharedBuf::default();
        a.rewrite = Some(d.clone());
        // The diff must name its DB before its first command.
        a.selected = None;
        d
    });
    let consumer = Rewrite {
        tmp: tmp.clone(),
        target,
        out: Some(std::io::BufWriter::with_capacity(1 << 20, f)),
        file: None,
        diff,
        base_size: 0,
        started: Instant::now(),
    };
    let form = if srv.config.flag("aof-use-rdb-preamble") {
        Form::Rdb
    } else {
        Form::Commands
    };
    if let Err(e) = super::spawn_walk(srv, false, Some(form), vec![Box::new(consumer)]) {
        if let Some(a) = srv.persist.aof.as_mut() {
            a.rewrite = None;
        }
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// After a walk ended: the BGREWRITEAOF that waited for it.
pub fn start_scheduled_rewrite(srv: &mut Server) {
    if srv.persist.rewrite.scheduled && srv.persist.running.is_none() && srv.ks.cow.is_none() {
        if let Err(e) = start_rewrite(srv) {
            eprintln!("Can't rewrite append only file in background: {e}");
            srv.persist.rewrite.last_ok = false;
            srv.persist.rewrite.consecutive_failures += 1;
        }
    }
}

/// Cron: a scheduled rewrite, or the automatic one once the file grew by
/// `auto-aof-rewrite-percentage` over its base and is at least `auto-aof-rewrite-min-size`.
pub fn rewrite_cron(srv: &mut Server) {
    if srv.persist.running.is_some() || srv.ks.cow.is_some() {
        return;
    }
    if srv.persist.rewrite.scheduled {
        start_scheduled_rewrite(srv);
        return;
    }
    let Some(a) = srv.persist.aof.as_ref() else {
        return;
    };
    let perc: u64 = srv
        .config
        .value_of("auto-aof-rewrite-percentage")
        .parse()
        .unwrap_or(0);
    let min: u64 = srv
        .config
        .value_of("auto-aof-rewrite-min-size")
        .parse()
        .unwrap_or(0);
    if perc == 0 || a.size < min {
        return;
    }
    let base = a.base_size.max(1);
    let growth = (a.size * 100 / base).saturating_sub(100);
    // A failing rewrite (full disk) is not retried on every tick: redis waits too.
    let failures = srv.persist.rewrite.consecutive_failures;
    if growth >= perc && failures < 3 {
        if let Err(e) = start_rewrite(srv) {
            eprintln!("Can't rewrite append only file in background: {e}");
            srv.persist.rewrite.consecutive_failures += 1;
        }
    }
}

/// The rewrite's consumer of the snapshot walk: the new base, then the diff, then the rename.
struct Rewrite {
    tmp: PathBuf,
    target: PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
    /// The file after `finish` (base and most of the diff, fsynced).
    file: Option<std::fs::File>,
    /// The diff (None: the AOF was off when the rewrite started; the file is the base alone).
    diff: Option<SharedBuf>,
    base_size: u64,
    started: Instant,
}

impl Rewrite {
    /// Moves what the diff holds into the file.
    fn drain_diff(&mut self) -> std::io::Result<()> {
        let (Some(f), Some(d)) = (self.file.as_mut(), self.diff.as_ref()) else {
            return Ok(());
        };
        f.write_all(&d.take())
    }

    /// Under the lock, the AOF unchanged since the start: the last of the diff, then the
    /// switch to the new file.
    fn install(&mut self, srv: &mut Server) -> std::io::Result<()> {
        end_batch(srv);
        self.drain_diff()?;
        let f = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("no file"))?;
        f.sync_all()?;
        let size = f.metadata()?.len();
        drop(f);
        std::fs::rename(&self.tmp, &self.target)?;
        sync_dir(&self.target)?;
        if let Some(a) = srv.persist.aof.as_mut() {
            a.file = std::fs::OpenOptions::new()
                .append(true)
                .open(&self.target)?;
            a.size = size;
            a.base_size = self.base_size;
            a.rewrite = None;
            a.unsynced = false;
        }
        Ok(())
    }
}

impl Consumer for Rewrite {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.base_size += bytes.len() as u64;
        match self.out.as_mut() {
            Some(o) => o.write_all(bytes),
            None => Err(std::io::Error::other("file already closed")),
        }
    }

    /// Off the lock: the base is complete; add the diff so far and fsync, so that what is
    /// left for the locked part is small.
    fn finish(&mut self) -> std::io::Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("file already closed"))?;
        self.file = Some(out.into_inner().map_err(|e| e.into_error())?);
        self.drain_diff()?;
        if let Some(f) = &self.file {
            f.sync_data()?;
        }
        Ok(())
    }

    fn abort(&mut self) {
        self.out = None;
        self.file = None;
        let _ = std::fs::remove_file(&self.tmp);
    }

    fn done(&mut self, srv: &mut Server, ok: bool) {
        // The AOF the diff was collected for must still be the one in use.
        let same = match (
            &self.diff,
            srv.persist.aof.as_ref().and_then(|a| a.rewrite.as_ref()),
        ) {
            (Some(d), Some(cur)) => Arc::ptr_eq(&d.0, &cur.0),
            (None, None) => srv.persist.aof.is_none(),
            _ => false,
        };
        let ok = ok && same && path(srv) == self.target && {
            let r = self.install(srv);
            if let Err(e) = &r {
                eprintln!("AOF rewrite failed: {e}");
            }
            r.is_ok()
        };
        if !ok {
            self.abort();
            if let Some(a) = srv.persist.aof.as_mut() {
                if self.diff.as_ref().is_some_and(|d| {
                    a.rewrite
                        .as_ref()
                        .is_some_and(|cur| Arc::ptr_eq(&d.0, &cur.0))
                }) {
                    a.rewrite = None;
                }
            }
        }
        let st = &mut srv.persist.rewrite;
        st.last_ok = ok;
        st.last_secs = self.started.elapsed().as_secs() as i64;
        if ok {
            st.done += 1;
            st.consecutive_failures = 0;
        } else {
            st.consecutive_failures += 1;
        }
    }
}
