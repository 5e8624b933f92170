//! Point-in-time snapshots without fork: incremental serialization plus per-key copy-on-write.
//!
//! ```text
//!   start (under the lock)      flip Keyspace::mark; every existing slot now carries the *old*
//!                               mark = "not yet written"; new slots get the new one
//!   driver step (under the lock, a bounded number of slots per step)
//!       walk each DB from its last slot down; a slot with the old mark is written, then marked
//!   any write path (db.rs hooks: modify, delete, TTL change, flush)
//!       a slot with the old mark is written *before* the change, then marked
//!   between steps (no lock)     the driver hands the bytes written so far to its consumers
//!                               (the file, replicas waiting for a full sync)
//! ```
//!
//! Every key that existed at the start is written exactly once, with the value and TTL it had
//! at the start: either the walk reaches it untouched, or the first change to it writes the old
//! value first. Keys created later carry the new mark and are skipped. The walk goes from the
//! end of each DB's dense vector down, so the swap-remove of a deletion only ever moves an
//! already-visited (or new) slot into a hole below the cursor, never an unvisited one above it.
//! The marks make revisits harmless.
//!
//! Extra memory is the serialized bytes not yet handed to the consumers (one step's worth plus
//! what the copy-on-write hooks produced meanwhile; `current_cow_size` / `current_cow_peak` in
//! INFO), not a copy of the dataset. A FLUSHALL/FLUSHDB during a snapshot hands the old tables to
//! the snapshot instead of freeing them, which keeps memory where it was until they are written.

use crate::db::{Db, Keyspace, ValueRef};
use crate::table::Keyed;
use crate::types::Aggregate;
use parking_lot::Mutex;
use std::io::Write;
use std::sync::Arc;

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
    /// Slots whose mark equals this are done (written, or created after the start).
    parity: bool,
    writer: Option<rdb::Writer<SharedBuf>>,
    /// One cursor per live DB, indexed like `Keyspace::dbs`.
    cursors: Vec<Cursor>,
    /// Tables flushed during the snapshot, still to be walked.
    orphans: Vec<(Cursor, Db)>,
    /// The DB of the last SELECTDB record written.
    current_db: Option<u32>,
    /// (keys, keys with TTL) of each DB at the start, for the RESIZEDB hints.
    sizes: Vec<(u64, u64)>,
    sized: Vec<bool>,
    pub keys_total: u64,
    pub keys_written: u64,
    /// Keys written by the write hooks rather than by the walk.
    pub keys_copied: u64,
    /// A value the writer refused (never expected: only empty collections are refused).
    pub encode_errors: u64,
    /// Start time (unix ms): expiry times before it are kept, the loader drops them.
    pub started_ms: i64,
}

impl Cow {
    /// Starts a snapshot of `ks`: writes the header and aux fields into `buf`.
    pub fn start(ks: &mut Keyspace, buf: SharedBuf, used_mem: u64) -> rdb::Result<()> {
        ks.mark = !ks.mark;
        let now = crate::util::now_ms();
        let mut w = rdb::Writer::new(buf)?;
        w.standard_aux(crate::info::REDIS_VERSION, now / 1000, used_mem)?;
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
            writer: Some(w),
            cursors,
            orphans: Vec::new(),
            current_db: None,
            sized: vec![false; sizes.len()],
            keys_total: sizes.iter().map(|s| s.0).sum(),
            sizes,
            keys_written: 0,
            keys_copied: 0,
            encode_errors: 0,
            started_ms: now,
        }));
        Ok(())
    }

    /// The write hook: writes slot `idx` of table `db` if the snapshot has not reached it.
    pub fn preserve(&mut self, db: usize, d: &mut Db, idx: usize) {
        if d.keys.get(idx).mark() == self.parity {
            return;
        }
        let logical = self.cursors[db].logical;
        self.write_slot(logical, d, idx);
        self.keys_copied += 1;
    }

    fn write_slot(&mut self, logical: u32, d: &mut Db, idx: usize) {
        let slot = d.keys.get(idx);
        let key = slot.key();
        let expire = d.expire_of(key);
        let value = to_rdb(slot.value());
        if self.current_db != Some(logical) {
            let l = logical as usize;
            let sizes = (l < self.sized.len() && !self.sized[l]).then(|| {
                self.sized[l] = true;
                self.sizes[l]
            });
            if let Some(w) = self.writer.as_mut() {
                // The sink is memory: writing cannot fail.
                let _ = w.select_db(logical, sizes);
            }
            self.current_db = Some(logical);
        }
        if let Some(w) = self.writer.as_mut() {
            match w.entry(key, &value, expire) {
                Ok(()) => self.keys_written += 1,
                Err(_) => self.encode_errors += 1,
            }
        }
        d.keys.get_mut(idx).set_mark(self.parity);
    }

    /// FLUSHDB/FLUSHALL of table `db`: keeps the old table if it still has keys to write
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

    /// Walks up to `budget` slots. True when every table has been walked.
    pub fn step(ks: &mut Keyspace, budget: usize) -> bool {
        let Keyspace {
            dbs, cow, lazyfree, ..
        } = ks;
        let Some(cow) = cow.as_deref_mut() else {
            return true;
        };
        let mut left = budget;
        while left > 0 {
            if let Some((cur, mut d)) = cow.orphans.pop() {
                let mut pos = cur.pos.min(d.keys.len());
                while pos > 0 && left > 0 {
                    pos -= 1;
                    left -= 1;
                    if d.keys.get(pos).mark() != cow.parity {
                        cow.write_slot(cur.logical, &mut d, pos);
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
            while pos > 0 && left > 0 {
                pos -= 1;
                left -= 1;
                if d.keys.get(pos).mark() != cow.parity {
                    cow.write_slot(logical, d, pos);
                }
            }
            cow.cursors[i].pos = pos;
        }
        cow.orphans.is_empty() && cow.cursors.iter().all(|c| c.pos == 0)
    }

    /// Ends the file (end marker and checksum into the buffer) once [`Cow::step`] said done.
    /// A key that could not be encoded fails the whole snapshot: a file missing keys must not
    /// pass for a point-in-time copy.
    pub fn finish(&mut self) -> rdb::Result<()> {
        if self.encode_errors > 0 {
            self.writer = None;
            return Err(rdb::Error::InvalidValue(
                "a value the RDB writer refused is in the keyspace",
            ));
        }
        match self.writer.take() {
            Some(w) => w.finish().map(|_| ()),
            None => Ok(()),
        }
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
