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
//! The file is the single-file layout of Redis before 7.0 (no manifest, no RDB preamble);
//! BGREWRITEAOF is not implemented.

use super::propagate::{encode_stream, Propagated};
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
            let payload = rdb::dump::encode(&v).map_err(|e| e.to_string())?;
            let mut c = vec![b"RESTORE".to_vec(), key.clone(), b"0".to_vec(), payload];
            c.push(b"REPLACE".to_vec());
            if let Some(at) = d.expire_of(&key) {
                c[2] = at.to_string().into_bytes();
                c.push(b"ABSTTL".to_vec());
            }
            cmds.push((db, c));
        }
        encode_stream(&cmds, &mut selected, &mut out);
    }
    let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    f.write_all(&out).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &p).map_err(|e| e.to_string())?;
    Ok(())
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

/// Replays the file into the keyspace; returns the number of commands run.
pub fn replay(srv: &mut Server, p: &Path) -> Result<u64, String> {
    let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let limits = RequestLimits {
        max_bulk_len: i64::MAX,
        authenticated: true,
    };
    let mut client = srv.new_client(ClientKind::Fake, ConnInfo::default(), Arc::new(NullOutbox));
    srv.persist.loading = true;
    let mut pos = 0;
    let mut n = 0;
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
    w("aof_rewrite_in_progress", &0);
    w("aof_rewrite_scheduled", &0);
    w("aof_last_rewrite_time_sec", &-1);
    w("aof_current_rewrite_time_sec", &-1);
    w("aof_last_bgrewrite_status", &"ok");
    w("aof_rewrites", &0);
    w("aof_rewrites_consecutive_failures", &0);
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
        w("aof_base_size", &0);
        w("aof_pending_rewrite", &0);
        w("aof_buffer_length", &a.buf.len());
        w(
            "aof_pending_bio_fsync",
            &(a.syncing.load(Ordering::Relaxed) as u8),
        );
        w("aof_delayed_fsync", &0);
    }
}
