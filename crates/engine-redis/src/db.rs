//! The keyspace: `databases` numbered DBs, each a table of keys plus a separate table of expiry
//! times for the keys that have one (like redis's `db->dict` and `db->expires`).
//!
//! Memory layout of one key (the hot case is a string):
//! ```text
//!   IndexTable<Slot>:  index: HashTable<u32> (5 B/slot)   entries: Vec<Slot> (32 B/key)
//!   Slot { data: Box<[u8]> = key bytes ++ string value bytes,   one heap block per key
//!          agg:  Option<Box<Aggregate>>  (lists, hashes, sets, zsets only),
//!          key_len: u32, meta: u32 (LRU clock or LFU counter) }
//! ```
//! A string key therefore costs one allocation holding key and value together, 32 bytes in the
//! dense vector and about 10 bytes of hash index: no per-entry node, no separate value object.
//!
//! Expiry is lazy here (every lookup of a key past its time deletes it and logs the key for the
//! `expired` notification); the active, incremental part is [`Keyspace::active_expire_cycle`].

use crate::table::{IndexTable, Keyed};
use crate::types::{Aggregate, Hash, Kind, Limits, List, Set, Stream, ZSet};
use rand::Rng;

pub struct Slot {
    data: Box<[u8]>,
    agg: Option<Box<Aggregate>>,
    /// Key length in the low 31 bits; the top bit is the snapshot mark (see
    /// `persistence::snapshot`): a slot whose mark equals the running snapshot's parity has
    /// already been written to it, or was created after it started.
    key_len: u32,
    /// LRU: seconds clock of the last access. LFU: minutes (16 bits) << 8 | log counter.
    pub meta: u32,
}

/// The snapshot mark bit of `Slot::key_len` (keys are at most 512 MB, well below 2^31).
const MARK: u32 = 1 << 31;

impl Keyed for Slot {
    fn key(&self) -> &[u8] {
        &self.data[..self.klen()]
    }

    /// Key and string value share one block: both of its cache lines.
    fn prefetch_data(&self) {
        let d = &self.data;
        crate::table::prefetch(d.as_ptr());
        crate::table::prefetch(d.as_ptr().wrapping_add(d.len().saturating_sub(1)));
    }
}

/// Read access to a value.
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    Agg(&'a Aggregate),
}

impl Slot {
    fn klen(&self) -> usize {
        (self.key_len & !MARK) as usize
    }

    /// The snapshot mark (see `persistence::snapshot`).
    pub fn mark(&self) -> bool {
        self.key_len & MARK != 0
    }

    pub fn set_mark(&mut self, mark: bool) {
        self.key_len = (self.key_len & !MARK) | if mark { MARK } else { 0 };
    }

    fn new_str(key: &[u8], val: &[u8], meta: u32) -> Slot {
        let mut data = Vec::with_capacity(key.len() + val.len());
        data.extend_from_slice(key);
        data.extend_from_slice(val);
        Slot {
            data: data.into_boxed_slice(),
            agg: None,
            key_len: key.len() as u32,
            meta,
        }
    }

    fn new_agg(key: &[u8], agg: Aggregate, meta: u32) -> Slot {
        Slot {
            data: key.into(),
            agg: Some(Box::new(agg)),
            key_len: key.len() as u32,
            meta,
        }
    }

    pub fn kind(&self) -> Kind {
        match &self.agg {
            None => Kind::String,
            Some(a) => a.kind(),
        }
    }

    pub fn value(&self) -> ValueRef<'_> {
        match &self.agg {
            None => ValueRef::Str(&self.data[self.klen()..]),
            Some(a) => ValueRef::Agg(a),
        }
    }

    pub fn str(&self) -> Option<&[u8]> {
        match &self.agg {
            None => Some(&self.data[self.klen()..]),
            Some(_) => None,
        }
    }

    pub fn agg(&self) -> Option<&Aggregate> {
        self.agg.as_deref()
    }

    pub fn agg_mut(&mut self) -> Option<&mut Aggregate> {
        self.agg.as_deref_mut()
    }

    pub fn set_str(&mut self, val: &[u8]) {
        let k = self.klen();
        if self.agg.is_none() && self.data.len() - k == val.len() {
            // Same size (overwriting counters, fixed-size values): no new allocation.
            self.data[k..].copy_from_slice(val);
            return;
        }
        let mut data = Vec::with_capacity(k + val.len());
        data.extend_from_slice(&self.data[..k]);
        data.extend_from_slice(val);
        self.data = data.into_boxed_slice();
        self.agg = None;
    }

    /// Heap bytes of this key and value (MEMORY USAGE).
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Slot>()
            + 10
            + self.data.len()
            + self.agg.as_ref().map_or(0, |a| a.approx_bytes())
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match &self.agg {
            Some(a) => a.encoding(),
            None => {
                let v = &self.data[self.klen()..];
                if v.len() <= 20 && crate::util::parse_i64(v).is_some() {
                    "int"
                } else if v.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }

    /// Moves the value out (for COPY/MOVE/RENAME): (string bytes or aggregate).
    fn into_value(self) -> OwnedValue {
        match self.agg {
            None => OwnedValue::Str(self.data[self.klen()..].to_vec()),
            Some(a) => OwnedValue::Agg(*a),
        }
    }

    fn owned_value(&self) -> OwnedValue {
        match &self.agg {
            None => OwnedValue::Str(self.data[self.klen()..].to_vec()),
            Some(a) => OwnedValue::Agg((**a).clone()),
        }
    }
}

/// A value detached from its key.
#[derive(Clone, Debug)]
pub enum OwnedValue {
    Str(Vec<u8>),
    Agg(Aggregate),
}

pub struct Expire {
    key: Box<[u8]>,
    at: i64,
}

impl Keyed for Expire {
    fn key(&self) -> &[u8] {
        &self.key
    }
}

#[derive(Default)]
pub struct Db {
    pub keys: IndexTable<Slot>,
    pub expires: IndexTable<Expire>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expire_of(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get_by_key(key).map(|e| e.at)
    }

    /// Average TTL of a sample of volatile keys (INFO keyspace `avg_ttl`).
    pub fn avg_ttl(&self, now: i64) -> i64 {
        let n = self.expires.len().min(64);
        if n == 0 {
            return 0;
        }
        let sum: i64 = self
            .expires
            .iter()
            .take(n)
            .map(|e| (e.at - now).max(0))
            .sum();
        sum / n as i64
    }
}

/// Counters the keyspace keeps for INFO.
#[derive(Default, Clone, Copy)]
pub struct KeyStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub evicted: u64,
}

/// The value of a key is of the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// Eviction bookkeeping mode (what `Slot::meta` holds).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccessTracking {
    Lru,
    Lfu { log_factor: u32, decay_minutes: u32 },
}

pub struct Keyspace {
    pub dbs: Vec<Db>,
    /// Milliseconds; fixed for the duration of one command, like redis's `commandTimeSnapshot`.
    pub now: i64,
    pub tracking: AccessTracking,
    pub limits: Limits,
    pub stats: KeyStats,
    /// Keys deleted by lazy or active expiry since the last drain: (db, key).
    pub expired_log: Vec<(usize, Box<[u8]>)>,
    /// Keys added since the last drain, kept only while `new` events are wanted
    /// (`notify-keyspace-events` with `n`; see `notify::flush_new_keys`).
    pub new_keys_log: Option<Vec<(usize, Box<[u8]>)>>,
    /// Where large values go to be dropped off the request path.
    pub lazyfree: Option<std::sync::mpsc::Sender<Box<dyn Send>>>,
    /// The running snapshot's copy-on-write state (`persistence::snapshot`).
    pub cow: Option<Box<crate::persistence::snapshot::Cow>>,
    /// The mark new slots get: the parity of the running or last snapshot.
    pub mark: bool,
}

macro_rules! typed_access {
    ($get:ident, $get_mut:ident, $create:ident, $variant:ident, $ty:ty) => {
        /// The value if it exists and has this type; `Err(WrongType)` if it has another.
        pub fn $get(&mut self, db: usize, key: &[u8]) -> Result<Option<&$ty>, WrongType> {
            match self.lookup(db, key) {
                None => Ok(None),
                Some(i) => match self.dbs[db].keys.get(i).agg() {
                    Some(Aggregate::$variant(v)) => Ok(Some(v)),
                    _ => Err(WrongType),
                },
            }
        }

        pub fn $get_mut(&mut self, db: usize, key: &[u8]) -> Result<Option<&mut $ty>, WrongType> {
            match self.lookup(db, key) {
                None => Ok(None),
                Some(i) => match self.preserved_mut(db, i).agg_mut() {
                    Some(Aggregate::$variant(v)) => Ok(Some(v)),
                    _ => Err(WrongType),
                },
            }
        }

        /// The value, created empty if the key does not exist.
        pub fn $create(&mut self, db: usize, key: &[u8]) -> Result<&mut $ty, WrongType> {
            let i = match self.lookup(db, key) {
                Some(i) => i,
                None => {
                    let meta = self.initial_meta();
                    self.insert_slot(
                        db,
                        Slot::new_agg(key, Aggregate::$variant(<$ty>::default()), meta),
                    )
                }
            };
            match self.preserved_mut(db, i).agg_mut() {
                Some(Aggregate::$variant(v)) => Ok(v),
                _ => Err(WrongType),
            }
        }
    };
}

/// Values bigger than this (elements or bytes) are dropped on the lazy-free thread when the
/// command or configuration asks for asynchronous freeing.
const LAZYFREE_THRESHOLD: usize = 64;

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            now: crate::util::now_ms(),
            tracking: AccessTracking::Lru,
            limits: Limits::default(),
            stats: KeyStats::default(),
            expired_log: Vec::new(),
            new_keys_log: None,
            lazyfree: None,
            cow: None,
            mark: false,
        }
    }

    /// Before a key's value or TTL changes or it is deleted: a running snapshot writes the old
    /// value first if it has not reached the key yet (per-key copy-on-write).
    fn preserve(&mut self, db: usize, idx: usize) {
        if let Some(cow) = self.cow.as_deref_mut() {
            cow.preserve(db, &mut self.dbs[db], idx);
        }
    }

    fn preserve_key(&mut self, db: usize, key: &[u8]) {
        if self.cow.is_some() {
            if let Some(idx) = self.dbs[db].keys.find(key) {
                self.preserve(db, idx);
            }
        }
    }

    /// A slot about to be modified in place.
    fn preserved_mut(&mut self, db: usize, idx: usize) -> &mut Slot {
        self.preserve(db, idx);
        self.dbs[db].keys.get_mut(idx)
    }

    /// Inserts a new key; it carries the current mark, so a running snapshot skips it.
    fn insert_slot(&mut self, db: usize, mut slot: Slot) -> usize {
        slot.set_mark(self.mark);
        if let Some(log) = self.new_keys_log.as_mut() {
            log.push((db, slot.key().into()));
        }
        self.dbs[db].keys.insert_new(slot)
    }

    pub fn lru_clock(&self) -> u32 {
        (self.now / 1000) as u32
    }

    fn minutes(&self) -> u32 {
        ((self.now / 60_000) & 0xffff) as u32
    }

    pub fn initial_meta(&self) -> u32 {
        match self.tracking {
            AccessTracking::Lru => self.lru_clock(),
            AccessTracking::Lfu { .. } => (self.minutes() << 8) | 5, // LFU_INIT_VAL
        }
    }

    /// LFU counter after decay (redis's `LFUDecrAndReturn`).
    pub fn lfu_value(&self, meta: u32) -> u32 {
        let AccessTracking::Lfu { decay_minutes, .. } = self.tracking else {
            return 0;
        };
        let counter = meta & 0xff;
        let ldt = meta >> 8;
        let now = self.minutes();
        let elapsed = if now >= ldt {
            now - ldt
        } else {
            65535 - ldt + now
        };
        let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// Seconds since the key was last touched (OBJECT IDLETIME) under LRU tracking.
    pub fn idle_seconds(&self, meta: u32) -> u64 {
        self.lru_clock().wrapping_sub(meta) as u64
    }

    fn touch(&mut self, db: usize, idx: usize) {
        let new_meta = match self.tracking {
            AccessTracking::Lru => self.lru_clock(),
            AccessTracking::Lfu { log_factor, .. } => {
                let meta = self.dbs[db].keys.get(idx).meta;
                let mut counter = self.lfu_value(meta);
                // redis's LFULogIncr: probabilistic logarithmic increment.
                if counter < 255 {
                    let base = counter.saturating_sub(5) as f64;
                    let p = 1.0 / (base * log_factor as f64 + 1.0);
                    if rand::thread_rng().gen::<f64>() < p {
                        counter += 1;
                    }
                }
                (self.minutes() << 8) | counter
            }
        };
        self.dbs[db].keys.get_mut(idx).meta = new_meta;
    }

    /// Deletes the key if its time has come; true if it did.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        if self.dbs[db].expires.is_empty() {
            return false;
        }
        match self.dbs[db].expires.get_by_key(key) {
            Some(e) if e.at <= self.now => {
                self.preserve_key(db, key);
                let d = &mut self.dbs[db];
                d.expires.remove_key(key);
                if let Some(slot) = d.keys.remove_key(key) {
                    self.dispose(slot, false);
                }
                self.stats.expired += 1;
                self.expired_log.push((db, key.into()));
                true
            }
            _ => false,
        }
    }

    /// One step of loading what a lookup of `key` will read (index group, slot, key and value
    /// bytes; the same in the expiry index when the DB has volatile keys), without changing
    /// anything: see [`Keyspace::PREFETCH_AHEAD`].
    /// `h` is the key's `table::hash_key`.
    #[inline]
    pub fn prefetch_step(&self, db: usize, h: u64, step: u8) {
        let d = &self.dbs[db];
        d.keys.prefetch_step(h, step);
        if !d.expires.is_empty() {
            d.expires.prefetch_step(h, step);
        }
    }

    /// How many commands ahead of the running one each prefetch step works on a pipelined batch:
    /// step 0 (index group) 6 commands ahead, step 1 (slot) 4, step 2 (key and value) 2. Each
    /// step reads what the previous one asked for two commands earlier, by when it has arrived,
    /// so a batch's lookups wait for memory only at its start, not three times per key.
    pub const PREFETCH_AHEAD: [usize; 3] = [6, 4, 2];

    /// Finds a live key and records the access (LRU/LFU). Index valid until the next change.
    pub fn lookup(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        self.expire_if_needed(db, key);
        let idx = self.dbs[db].keys.find(key)?;
        self.touch(db, idx);
        Some(idx)
    }

    /// Finds a live key without recording an access (TYPE-like introspection, OBJECT).
    pub fn peek(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        self.expire_if_needed(db, key);
        self.dbs[db].keys.find(key)
    }

    /// Lookup for a read command: counts keyspace hits and misses.
    pub fn lookup_read(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        let r = self.lookup(db, key);
        if r.is_some() {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        r
    }

    /// [`Keyspace::lookup_read`] without recording an access: EXISTS, TYPE, TTL and friends
    /// (redis's LOOKUP_NOTOUCH) count hits and misses but leave OBJECT IDLETIME alone.
    pub fn lookup_read_notouch(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        let r = self.peek(db, key);
        if r.is_some() {
            self.stats.hits += 1;
        } else {
            self.stats.misses += 1;
        }
        r
    }

    pub fn slot(&self, db: usize, idx: usize) -> &Slot {
        self.dbs[db].keys.get(idx)
    }

    pub fn slot_mut(&mut self, db: usize, idx: usize) -> &mut Slot {
        self.preserved_mut(db, idx)
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.peek(db, key).is_some()
    }

    /// The string value, or `Err` if the key holds another type (read access, counts hits).
    pub fn get_str(&mut self, db: usize, key: &[u8]) -> Result<Option<&[u8]>, WrongType> {
        match self.lookup_read(db, key) {
            None => Ok(None),
            Some(i) => self.dbs[db].keys.get(i).str().map(Some).ok_or(WrongType),
        }
    }

    /// Same as [`Keyspace::get_str`] for write paths (no hit/miss accounting).
    pub fn get_str_w(&mut self, db: usize, key: &[u8]) -> Result<Option<&[u8]>, WrongType> {
        match self.lookup(db, key) {
            None => Ok(None),
            Some(i) => self.dbs[db].keys.get(i).str().map(Some).ok_or(WrongType),
        }
    }

    /// Sets a string value, replacing any value of any type. Keeps the TTL only if asked.
    pub fn set_str(&mut self, db: usize, key: &[u8], val: &[u8], keep_ttl: bool) {
        match self.lookup(db, key) {
            Some(i) => {
                let slot = self.preserved_mut(db, i);
                let old_agg = slot.agg.take();
                slot.set_str(val);
                if let Some(a) = old_agg {
                    self.drop_value(*a, false);
                }
            }
            None => {
                let meta = self.initial_meta();
                self.insert_slot(db, Slot::new_str(key, val, meta));
            }
        }
        if !keep_ttl {
            self.persist(db, key);
        }
    }

    /// Updates a string in place (APPEND, SETRANGE, INCR): the key must exist as a string.
    pub fn replace_str(&mut self, db: usize, idx: usize, val: &[u8]) {
        self.preserved_mut(db, idx).set_str(val);
    }

    /// Stores a value detached from its key (RENAME, MOVE, COPY, RESTORE, SORT STORE).
    pub fn set_owned(&mut self, db: usize, key: &[u8], v: OwnedValue) {
        match v {
            OwnedValue::Str(s) => self.set_str(db, key, &s, false),
            OwnedValue::Agg(a) => {
                self.delete(db, key);
                let meta = self.initial_meta();
                self.insert_slot(db, Slot::new_agg(key, a, meta));
            }
        }
    }

    pub fn take_value(&mut self, db: usize, key: &[u8]) -> Option<(OwnedValue, Option<i64>)> {
        let idx = self.peek(db, key)?;
        self.preserve(db, idx);
        let exp = self.dbs[db].expires.remove_key(key).map(|e| e.at);
        let slot = self.dbs[db].keys.remove_key(key)?;
        Some((slot.into_value(), exp))
    }

    pub fn clone_value(&mut self, db: usize, key: &[u8]) -> Option<(OwnedValue, Option<i64>)> {
        let i = self.peek(db, key)?;
        let v = self.dbs[db].keys.get(i).owned_value();
        Some((v, self.dbs[db].expire_of(key)))
    }

    /// Deletes a key; true if it existed.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        self.delete_with(db, key, false)
    }

    /// Deletes a key, freeing a large value on the lazy-free thread if `lazy` (UNLINK).
    pub fn delete_with(&mut self, db: usize, key: &[u8], lazy: bool) -> bool {
        if self.expire_if_needed(db, key) {
            return false;
        }
        self.preserve_key(db, key);
        let d = &mut self.dbs[db];
        match d.keys.remove_key(key) {
            Some(slot) => {
                if !d.expires.is_empty() {
                    d.expires.remove_key(key);
                }
                self.dispose(slot, lazy);
                true
            }
            None => false,
        }
    }

    /// Deletes an aggregate key that became empty (every type deletes its key at zero length).
    pub fn remove_if_empty(&mut self, db: usize, key: &[u8]) -> bool {
        let empty = match self.dbs[db].keys.get_by_key(key) {
            Some(s) => s.agg().is_some_and(|a| a.is_empty()),
            None => false,
        };
        if empty {
            self.delete(db, key);
        }
        empty
    }

    fn dispose(&mut self, slot: Slot, lazy: bool) {
        if let Some(a) = slot.agg {
            self.drop_value(*a, lazy);
        }
    }

    fn drop_value(&mut self, a: Aggregate, lazy: bool) {
        if lazy && a.len() > LAZYFREE_THRESHOLD {
            if let Some(tx) = &self.lazyfree {
                let _ = tx.send(Box::new(a));
            }
        }
    }

    pub fn expire_at(&mut self, db: usize, key: &[u8]) -> Option<i64> {
        self.dbs[db].expire_of(key)
    }

    /// Sets the expiry time of an existing key.
    pub fn set_expire(&mut self, db: usize, key: &[u8], at: i64) {
        self.preserve_key(db, key);
        let d = &mut self.dbs[db];
        match d.expires.get_by_key_mut(key) {
            Some(e) => e.at = at,
            None => {
                d.expires.insert_new(Expire {
                    key: key.into(),
                    at,
                });
            }
        }
    }

    /// Removes the TTL; true if there was one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        if self.dbs[db].expires.is_empty() {
            return false;
        }
        self.preserve_key(db, key);
        self.dbs[db].expires.remove_key(key).is_some()
    }

    /// Empties one DB (or all if `db` is None); with `lazy` the data is dropped on the
    /// lazy-free thread.
    pub fn flush(&mut self, db: Option<usize>, lazy: bool) -> usize {
        let range = match db {
            Some(d) => d..d + 1,
            None => 0..self.dbs.len(),
        };
        let mut removed = 0;
        for d in range {
            let old = std::mem::take(&mut self.dbs[d]);
            removed += old.len();
            // A running snapshot still has to write the keys it has not reached.
            let Some(old) = (match self.cow.as_deref_mut() {
                Some(cow) => cow.adopt_flushed(d, old),
                None => Some(old),
            }) else {
                continue;
            };
            match (&self.lazyfree, lazy) {
                (Some(tx), true) => {
                    let _ = tx.send(Box::new(old));
                }
                _ => drop(old),
            }
        }
        removed
    }

    typed_access!(get_list, get_list_mut, list_or_create, List, List);
    typed_access!(get_hash, get_hash_mut, hash_or_create, Hash, Hash);
    typed_access!(get_set, get_set_mut, set_or_create, Set, Set);
    typed_access!(get_zset, get_zset_mut, zset_or_create, ZSet, ZSet);
    typed_access!(get_stream, get_stream_mut, stream_or_create, Stream, Stream);

    /// Type of a live key (without touching it).
    pub fn kind(&mut self, db: usize, key: &[u8]) -> Option<Kind> {
        let i = self.peek(db, key)?;
        Some(self.dbs[db].keys.get(i).kind())
    }

    /// A random live key of a DB (RANDOMKEY), skipping expired ones it finds.
    pub fn random_key(&mut self, db: usize) -> Option<Vec<u8>> {
        for _ in 0..100 {
            let n = self.dbs[db].keys.len();
            if n == 0 {
                return None;
            }
            let i = rand::thread_rng().gen_range(0..n);
            let key = self.dbs[db].keys.get(i).key().to_vec();
            if !self.expire_if_needed(db, &key) {
                return Some(key);
            }
        }
        let n = self.dbs[db].keys.len();
        (n > 0).then(|| self.dbs[db].keys.get(0).key().to_vec())
    }

    /// One incremental pass of active expiry over every DB: samples up to 20 volatile keys at a
    /// time and repeats while more than a quarter of a sample was stale, within `budget_us`
    /// microseconds in total, so that a mass expiry is spread over many cycles.
    pub fn active_expire_cycle(&mut self, budget_us: u64) -> usize {
        let start = std::time::Instant::now();
        let mut removed = 0;
        let mut rng = rand::thread_rng();
        for db in 0..self.dbs.len() {
            loop {
                let n = self.dbs[db].expires.len();
                if n == 0 {
                    break;
                }
                let sample = n.min(20);
                let mut stale = 0;
                for _ in 0..sample {
                    let n = self.dbs[db].expires.len();
                    if n == 0 {
                        break;
                    }
                    let i = rng.gen_range(0..n);
                    let e = self.dbs[db].expires.get(i);
                    if e.at <= self.now {
                        let key = e.key.clone();
                        self.expire_if_needed(db, &key);
                        stale += 1;
                    }
                }
                removed += stale;
                if stale * 4 <= sample || start.elapsed().as_micros() as u64 > budget_us {
                    break;
                }
            }
            if start.elapsed().as_micros() as u64 > budget_us {
                break;
            }
        }
        removed
    }
}
