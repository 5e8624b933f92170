//! Point-in-time snapshots without fork: incremental copying plus per-key copy-on-write, with
//! the serialization done outside the engine lock.
//!
//! ```text
//!   start (under the lock)      flip Keyspace::mark; every existing slot now carries the *old*
//!                               mark = "not yet copied"; new slots get the new one
//!   driver step (under the lock, at most STEP_SLOTS slots and STEP_TIME)
//!       walk each DB from its last slot down; a slot with the old mark is copied out
//!       (key, plain value, TTL: a `Detached` record), then marked
//!   any write path (db.rs hooks: modify, delete, TTL change, flush)
//!       a slot with the old mark is copied out *before* the change, then marked
//!   between steps (no lock)     the driver takes the copied records and encodes them with the
//!                               RDB writer (encodings, LZF, CRC64) or as RESTORE commands
//!                               (`Form`), then hands the bytes to its consumers (the file,
//!                               replicas waiting for a full sync, an AOF rewrite)
//! ```
//!
//! Every key that existed at the start is copied exactly once, with the value and TTL it had
//! at the start: either the walk reaches it untouched, or the first change to it copies the old
//! value first. Keys created later carry the new mark and are skipped. The walk goes from the
//! end of each DB's dense vector down, so the swap-remove of a deletion only ever moves an
//! already-visited (or new) slot into a hole below the cursor, never an unvisited one above it.
//! The marks make revisits harmless.
//!
//! The lock is held only to copy a bounded number of values (a memcpy each), never to encode
//! or compress them, so the pause a snapshot adds to a command is one short step.
//!
//! Extra memory is the copied records and encoded bytes not yet handed to the consumers (one
//! step's worth plus what the copy-on-write hooks copied meanwhile; `current_cow_size` /
//! `current_cow_peak` in INFO), not a copy of the dataset. A FLUSHALL/FLUSHDB during a snapshot
//! hands the old tables to the snapshot instead of freeing them, which keeps memory where it
//! was until they are copied.

use crate::db::{Db, Keyspace, ValueRef};
use crate::table::Keyed;
use crate::types::Aggregate;
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bytes the RDB writer produced and the driver has not taken yet.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock())
    }

    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One key as it was at the start of the snapshot, copied out of the keyspace and waiting to
/// be encoded outside the lock.
pub struct Detached {
    /// The DB number the key had at the start (SWAPDB moves tables).
    db: u32,
    key: Vec<u8>,
    value: rdb::Value,
    expire_ms: Option<i64>,
}

/// Where the walk of one table stands.
struct Cursor {
    /// The DB number this table had when the snapshot started (SWAPDB moves tables).
    logical: u32,
    /// Slots below this position are still to visit.
    pos: usize,
}

/// The copy-on-write state of the running snapshot, kept in the keyspace so that its write
/// paths can reach it.
pub struct Cow {
    /// Slots whose mark equals this are done (copied, or created after the start).
    parity: bool,
    /// Copied records the driver has not taken yet.
    copied: Vec<Detached>,
    /// Approximate bytes held by `copied`.
    pub copied_bytes: usize,
    /// One cursor per live DB, indexed like `Keyspace::dbs`.
    cursors: Vec<Cursor>,
    /// Tables flushed during the snapshot, still to be walked.
    orphans: Vec<(Cursor, Db)>,
    pub keys_total: u64,
    /// Keys copied out so far (INFO `current_save_keys_processed`).
    pub keys_written: u64,
    /// Keys copied by the write hooks rather than by the walk.
    pub keys_copied: u64,
    /// Start time (unix ms): expiry times before it are kept, the loader drops them.
    pub started_ms: i64,
}

/// How much one step of the walk may do under the lock: whichever limit comes first.
#[derive(Clone, Copy)]
pub struct StepBudget {
    pub slots: usize,
    pub time: Duration,
}

impl Cow {
    /// Starts a snapshot of `ks`: flips the marks; returns the encoder, which has written the
    /// header, aux fields and function libraries into `buf` (for the RDB form; FUNCTION LOAD
    /// commands for the command form).
    pub fn start(
        ks: &mut Keyspace,
        buf: SharedBuf,
        used_mem: u64,
        form: Form,
        functions: &[Vec<u8>],
    ) -> rdb::Result<Encoder> {
        let now = crate::util::now_ms();
        let out = match form {
            Form::Rdb => {
                let mut w = rdb::Writer::new(buf)?;
                w.standard_aux(crate::info::REDIS_VERSION, now / 1000, used_mem)?;
                // Function libraries come before the databases, as redis writes them.
                for code in functions {
                    w.function(code)?;
                }
                Out::Rdb(w)
            }
            Form::Commands => {
                let mut bytes = Vec::new();
                for code in functions {
                    let parts: [&[u8]; 3] = [b"FUNCTION", b"LOAD", code];
                    bytes.extend(format!("*{}\r\n", parts.len()).as_bytes());
                    for p in parts {
                        bytes.extend(format!("${}\r\n", p.len()).as_bytes());
                        bytes.extend_from_slice(p);
                        bytes.extend_from_slice(b"\r\n");
                    }
                }
                let mut buf = buf;
                buf.write_all(&bytes)?;
                Out::Commands {
                    buf,
                    selected: None,
                }
            }
        };
        ks.mark = !ks.mark;
        let cursors = ks
            .dbs
            .iter()
            .enumerate()
            .map(|(i, d)| Cursor {
                logical: i as u32,
                pos: d.keys.len(),
            })
            .collect();
        let sizes: Vec<(u64, u64)> = ks
            .dbs
            .iter()
            .map(|d| (d.keys.len() as u64, d.expires.len() as u64))
            .collect();
        ks.cow = Some(Box::new(Cow {
            parity: ks.mark,
            copied: Vec::new(),
            copied_bytes: 0,
            cursors,
            orphans: Vec::new(),
            keys_total: sizes.iter().map(|s| s.0).sum(),
            keys_written: 0,
            keys_copied: 0,
            started_ms: now,
        }));
        Ok(Encoder {
            out,
            current_db: None,
            sized: vec![false; sizes.len()],
            sizes,
        })
    }

    /// The write hook: copies slot `idx` of table `db` if the snapshot has not reached it.
    pub fn preserve(&mut self, db: usize, d: &mut Db, idx: usize) {
        if d.keys.get(idx).mark() == self.parity {
            return;
        }
        let logical = self.cursors[db].logical;
        self.copy_slot(logical, d, idx);
        self.keys_copied += 1;
    }

    fn copy_slot(&mut self, logical: u32, d: &mut Db, idx: usize) {
        let slot = d.keys.get(idx);
        let key = slot.key().to_vec();
        let expire_ms = d.expire_of(&key);
        let value = to_rdb(slot.value());
        self.copied_bytes += key.len() + approx_size(&value) + 48;
        self.copied.push(Detached {
            db: logical,
            key,
            value,
            expire_ms,
        });
        self.keys_written += 1;
        d.keys.get_mut(idx).set_mark(self.parity);
    }

    /// The records copied since the last call, for the encoder.
    pub fn take_copied(&mut self) -> Vec<Detached> {
        self.copied_bytes = 0;
        std::mem::take(&mut self.copied)
    }

    /// FLUSHDB/FLUSHALL of table `db`: keeps the old table if it still has keys to copy
    /// (`None`), else gives it back to be freed.
    pub fn adopt_flushed(&mut self, db: usize, old: Db) -> Option<Db> {
        let c = &mut self.cursors[db];
        let pending = Cursor {
            logical: c.logical,
            pos: c.pos.min(old.keys.len()),
        };
        // The fresh table is empty: whatever lands in it is new.
        c.pos = 0;
        if pending.pos == 0 {
            return Some(old);
        }
        self.orphans.push((pending, old));
        None
    }

    /// SWAPDB: the tables (and what remains to walk in them) trade places.
    pub fn swapped(&mut self, a: usize, b: usize) {
        self.cursors.swap(a, b);
    }

    /// Walks one step: until `budget.slots` slots are visited or `budget.time` has passed.
    /// True when every table has been walked.
    pub fn step(ks: &mut Keyspace, budget: StepBudget) -> bool {
        /// Slots between two looks at the time (a clock read costs about as much as a slot).
        const CHUNK: usize = 32;
        let Keyspace {
            dbs, cow, lazyfree, ..
        } = ks;
        let Some(cow) = cow.as_deref_mut() else {
            return true;
        };
        let started = Instant::now();
        let mut left = budget.slots;
        while left > 0 {
            if started.elapsed() >= budget.time {
                break;
            }
            let mut chunk = left.min(CHUNK);
            left -= chunk;
            if let Some((cur, mut d)) = cow.orphans.pop() {
                let mut pos = cur.pos.min(d.keys.len());
                while pos > 0 && chunk > 0 {
                    pos -= 1;
                    chunk -= 1;
                    if d.keys.get(pos).mark() != cow.parity {
                        cow.copy_slot(cur.logical, &mut d, pos);
                    }
                }
                if pos > 0 {
                    let logical = cur.logical;
                    cow.orphans.push((Cursor { logical, pos }, d));
                } else if let Some(tx) = lazyfree {
                    let _ = tx.send(Box::new(d));
                }
                continue;
            }
            let Some(i) = cow.cursors.iter().position(|c| c.pos > 0) else {
                return true;
            };
            let logical = cow.cursors[i].logical;
            let d = &mut dbs[i];
            let mut pos = cow.cursors[i].pos.min(d.keys.len());
            while pos > 0 && chunk > 0 {
                pos -= 1;
                chunk -= 1;
                if d.keys.get(pos).mark() != cow.parity {
                    cow.copy_slot(logical, d, pos);
                }
            }
            cow.cursors[i].pos = pos;
        }
        cow.orphans.is_empty() && cow.cursors.iter().all(|c| c.pos == 0)
    }
}

/// What a snapshot is written as.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// An RDB file (BGSAVE, full syncs, the AOF's RDB preamble).
    Rdb,
    /// Commands that recreate each key (`RESTORE ... REPLACE [ABSTTL]`, SELECT between DBs):
    /// an AOF base with `aof-use-rdb-preamble no`.
    Commands,
}

enum Out {
    Rdb(rdb::Writer<SharedBuf>),
    Commands {
        buf: SharedBuf,
        /// The DB the last SELECT named.
        selected: Option<usize>,
    },
    /// A record could not be encoded.
    Failed,
}

/// The encoding of a snapshot, run by the driver outside the engine lock on the records the
/// walk and the hooks copied out, in the order they were copied.
pub struct Encoder {
    out: Out,
    /// The DB of the last SELECTDB record written.
    current_db: Option<u32>,
    /// (keys, keys with TTL) of each DB at the start, for the RESIZEDB hints.
    sizes: Vec<(u64, u64)>,
    sized: Vec<bool>,
}

impl Encoder {
    /// Encodes copied records into the buffer. A key that cannot be encoded fails the whole
    /// snapshot: a file missing keys must not pass for a point-in-time copy.
    pub fn encode(&mut self, records: Vec<Detached>) -> rdb::Result<()> {
        let w = match &mut self.out {
            Out::Rdb(w) => w,
            Out::Commands { buf, selected } => {
                let mut bytes = Vec::new();
                for r in records {
                    let cmd = match super::aof::restore_command(r.key, &r.value, r.expire_ms) {
                        Ok(c) => c,
                        Err(e) => {
                            self.out = Out::Failed;
                            return Err(e);
                        }
                    };
                    super::propagate::encode_stream(&[(r.db as usize, cmd)], selected, &mut bytes);
                }
                return buf.write_all(&bytes).map_err(rdb::Error::from);
            }
            Out::Failed => return Err(rdb::Error::Unsupported("the snapshot already failed")),
        };
        for r in records {
            if self.current_db != Some(r.db) {
                let l = r.db as usize;
                let sizes = (l < self.sized.len() && !self.sized[l]).then(|| {
                    self.sized[l] = true;
                    self.sizes[l]
                });
                w.select_db(r.db, sizes)?;
                self.current_db = Some(r.db);
            }
            if let Err(e) = w.entry(&r.key, &r.value, r.expire_ms) {
                self.out = Out::Failed;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Ends the file: end marker and checksum into the buffer (RDB form).
    pub fn finish(self) -> rdb::Result<()> {
        match self.out {
            Out::Rdb(w) => w.finish().map(|_| ()),
            Out::Commands { .. } => Ok(()),
            Out::Failed => Err(rdb::Error::Unsupported("the snapshot already failed")),
        }
    }
}

/// Roughly the heap bytes of a copied value (for the memory figures in INFO).
fn approx_size(v: &rdb::Value) -> usize {
    const PER_ITEM: usize = 24;
    match v {
        rdb::Value::String(s) => s.len(),
        rdb::Value::List(l) | rdb::Value::Set(l) => {
            l.iter().map(|e| e.len() + PER_ITEM).sum::<usize>()
        }
        rdb::Value::SortedSet(z) => z.iter().map(|(m, _)| m.len() + 8 + PER_ITEM).sum(),
        rdb::Value::Hash(h) => h
            .iter()
            .map(|(f, v)| f.len() + v.len() + 2 * PER_ITEM)
            .sum(),
        rdb::Value::Stream(st) => st
            .entries
            .iter()
            .map(|e| {
                let fields: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
                fields + 16 + PER_ITEM
            })
            .sum(),
    }
}

/// A keyspace value in the `rdb` crate's plain form, read in place (`cmd::dump::to_rdb` does
/// the same from a detached copy; the snapshot must not copy a value twice).
pub fn to_rdb(v: ValueRef) -> rdb::Value {
    match v {
        ValueRef::Str(s) => rdb::Value::String(s.to_vec()),
        ValueRef::Agg(Aggregate::List(l)) => {
            rdb::Value::List(l.iter().map(<[u8]>::to_vec).collect())
        }
        ValueRef::Agg(Aggregate::Set(s)) => {
            rdb::Value::Set(s.members().into_iter().map(<[u8]>::to_vec).collect())
        }
        ValueRef::Agg(Aggregate::ZSet(z)) => {
            rdb::Value::SortedSet(z.iter().map(|n| (n.member.to_vec(), n.score)).collect())
        }
        ValueRef::Agg(Aggregate::Hash(h)) => {
            rdb::Value::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
        }
        ValueRef::Agg(Aggregate::Stream(s)) => rdb::Value::Stream(Box::new(s.to_rdb())),
    }
}
