//! The store: sharded tables of items, CAS, expiry, flush, eviction and memory accounting.
//!
//! ```text
//!   worker threads ──▶ Store::{get, store, arith, delete, touch}
//!                        │ hash(key) → shard (Mutex<Shard>) → Table slot → item
//!                        └ make_room(): evicts round-robin across shards, one CLOCK victim at a
//!                          time, before taking the target shard's lock (never two locks held)
//!   maintenance thread ──▶ Store::crawl(): reclaims expired/flushed items in the background
//! ```
//!
//! Memory: every item is charged what the allocator really uses for it
//! ([`crate::item::charged_size`]) against `limit_maxbytes`. The hash table is reported as
//! `hash_bytes`, outside the limit, as memcached does. Freed memory goes back to the allocator
//! and serves items of any size.
//!
//! Locking: a function ending in `_locked` expects its shard's lock held by the caller.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use memcache_proto::cluster::ClusterConfig;

use crate::clock::{Clock, RelTime};
use crate::item::{
    charged_size, ItemPtr, ItemSpec, BIT_FETCHED, BIT_REFERENCED, BIT_STALE, BIT_TOKEN_SENT,
    HEADER, HEADER_CAS,
};
use crate::settings::Settings;
use crate::slabs;
use crate::stats::{GlobalStats, ThreadStats};
use crate::table::{hash_key, Table};

const SHARDS: usize = 256;

/// Key under which engine 1.4.5 clients read the cluster configuration.
pub const LEGACY_CLUSTER_KEY: &[u8] = b"AmazonElastiCache:cluster";

/// How a storage command stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    /// Store only if the item exists with the given CAS.
    Cas,
}

/// How much of each item [`Store::prefetch`] warms.
const PREFETCH_BODY_LIMIT: usize = 2048;

/// A storage request (text, binary and meta all come down to this).
#[derive(Debug, Clone, Copy)]
pub struct StoreRequest<'a> {
    pub mode: Mode,
    pub key: &'a [u8],
    pub flags: u32,
    /// Already converted with [`Clock::realtime`].
    pub exptime: RelTime,
    pub value: &'a [u8],
    /// Compare value: 0 = none (for [`Mode::Cas`] 0 never matches a live item's CAS).
    pub compare_cas: u64,
    /// Explicit CAS for the new item (meta `E`), else the next counter value.
    pub new_cas: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored { cas: u64 },
    NotStored,
    Exists,
    NotFound,
    TooLarge,
    NoMemory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOutcome {
    Value { value: u64, cas: u64 },
    NotFound,
    NonNumeric,
    Exists,
    NoMemory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    Exists,
}

/// Why a lookup missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    Missing,
    Expired,
    Flushed,
}

/// A live item as a reader sees it, valid while the shard lock is held.
#[derive(Debug)]
pub struct ItemView<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub flags: u32,
    pub cas: u64,
    /// Relative expiry (0 = never).
    pub exptime: RelTime,
    /// Relative time of the last access.
    pub last_access: RelTime,
    /// Whether the item had been fetched before this access.
    pub fetched_before: bool,
    /// Meta protocol: another client already holds the recache token ("Z").
    pub token_sent_before: bool,
    /// Meta protocol: the item was invalidated ("X").
    pub stale: bool,
    /// Meta protocol: this reader gets the recache token ("W").
    pub won: bool,
    /// Meta protocol: the item was created by this read (`mg ... N<ttl>` on a miss).
    pub vivified: bool,
}

/// Options of a read.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetOptions {
    /// New relative exptime (gat, touch, meta `T`).
    pub touch: Option<RelTime>,
    /// Leave the item's LRU and fetched state alone (meta `u`, `me`).
    pub no_bump: bool,
    /// Meta `N<ttl>`: on a miss, create an empty item with this exptime and win its token.
    pub vivify: Option<RelTime>,
    /// Meta `R<secs>`: win the token when the remaining TTL is below this.
    pub recache: Option<u32>,
}

struct Shard {
    table: Table,
    crawl_pos: usize,
}

/// A padded shard, so neighbouring locks do not share a cache line.
#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

pub struct Store {
    shards: Box<[PaddedShard]>,
    header: usize,
    used: AtomicUsize,
    limit: AtomicUsize,
    max_item_size: AtomicUsize,
    error_on_memory_exhausted: AtomicBool,
    next_cas: AtomicU64,
    evict_hand: AtomicUsize,
    /// memcached's `oldest_live`: items last touched at or before it are gone once it is past.
    oldest_live: AtomicU32,
    pub clock: Clock,
    pub global: GlobalStats,
    threads: Mutex<Vec<Arc<ThreadStats>>>,
    settings: Mutex<Settings>,
    cluster: RwLock<Option<ClusterConfig>>,
    slab_sizes: Vec<usize>,
}

impl Store {
    pub fn new(settings: Settings) -> Store {
        let header = if settings.cas_disabled {
            HEADER
        } else {
            HEADER_CAS
        };
        let per_shard = ((1usize << settings.hashpower_init) / SHARDS).max(8);
        Store {
            shards: (0..SHARDS)
                .map(|_| {
                    PaddedShard(Mutex::new(Shard {
                        table: Table::new(header, per_shard),
                        crawl_pos: 0,
                    }))
                })
                .collect(),
            header,
            used: AtomicUsize::new(0),
            limit: AtomicUsize::new(settings.limit_bytes() as usize),
            max_item_size: AtomicUsize::new(settings.max_item_size as usize),
            error_on_memory_exhausted: AtomicBool::new(settings.error_on_memory_exhausted),
            next_cas: AtomicU64::new(1),
            evict_hand: AtomicUsize::new(0),
            oldest_live: AtomicU32::new(0),
            clock: Clock::new(),
            global: GlobalStats::default(),
            threads: Mutex::new(Vec::new()),
            slab_sizes: slabs::class_sizes(settings.chunk_size, settings.chunk_size_growth_factor),
            settings: Mutex::new(settings),
            cluster: RwLock::new(None),
        }
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> Settings {
        self.settings.lock().clone()
    }

    /// Changes a parameter on the running store (admin command).
    pub fn set_param(&self, name: &str, value: &str) -> Result<(), crate::settings::ParamError> {
        let mut s = self.settings.lock();
        let mut next = s.clone();
        next.apply_runtime(name, value)?;
        self.limit.store(next.limit_bytes() as usize, Relaxed);
        self.max_item_size
            .store(next.max_item_size as usize, Relaxed);
        self.error_on_memory_exhausted
            .store(next.error_on_memory_exhausted, Relaxed);
        *s = next;
        drop(s);
        // A lower limit takes effect now, not at the next store.
        let _ = self.make_room(0);
        Ok(())
    }

    /// `cache_memlimit`: items may now use `mb` megabytes (evicting at once if over).
    pub fn set_memory_limit_mb(&self, mb: u64) {
        let mut s = self.settings.lock();
        s.max_cache_memory = Some(mb + s.memcached_connections_overhead);
        self.limit.store(s.limit_bytes() as usize, Relaxed);
        drop(s);
        let _ = self.make_room(0);
    }

    /// Registers a worker's counters.
    pub fn thread_stats(&self) -> Arc<ThreadStats> {
        let t = Arc::new(ThreadStats::default());
        self.threads.lock().push(t.clone());
        t
    }

    pub fn cas_enabled(&self) -> bool {
        self.header == HEADER_CAS
    }

    pub fn max_item_size(&self) -> usize {
        self.max_item_size.load(Relaxed)
    }

    pub fn limit_bytes(&self) -> usize {
        self.limit.load(Relaxed)
    }

    pub fn used_bytes(&self) -> usize {
        self.used.load(Relaxed)
    }

    fn shard(&self, hash: u64) -> &Mutex<Shard> {
        &self.shards[hash as usize & (SHARDS - 1)].0
    }

    fn next_cas(&self) -> u64 {
        if self.cas_enabled() {
            self.next_cas.fetch_add(1, Relaxed)
        } else {
            0
        }
    }

    /// Whether an item can no longer be seen, and why.
    fn dead(&self, item: ItemPtr, now: RelTime) -> Option<Miss> {
        let exp = item.exptime();
        if exp != 0 && exp <= now {
            return Some(Miss::Expired);
        }
        let oldest = self.oldest_live.load(Relaxed);
        if oldest != 0 && oldest <= now && item.time() <= oldest {
            return Some(Miss::Flushed);
        }
        None
    }

    fn free_item(&self, item: ItemPtr) {
        self.used
            .fetch_sub(charged_size(item.size(self.header)), Relaxed);
        item.free(self.header);
    }

    /// Removes the item in `idx` because it is expired or flushed.
    fn reclaim_locked(&self, shard: &mut Shard, idx: usize) {
        let item = shard.table.remove(idx);
        self.global.reclaimed.fetch_add(1, Relaxed);
        if item.bits() & BIT_FETCHED == 0 {
            self.global.expired_unfetched.fetch_add(1, Relaxed);
        }
        self.free_item(item);
    }

    /// Finds a live item, reclaiming a dead one on the way.
    fn lookup_locked(
        &self,
        shard: &mut Shard,
        hash: u64,
        key: &[u8],
        now: RelTime,
    ) -> Result<usize, Miss> {
        let idx = shard.table.find(hash, key).ok_or(Miss::Missing)?;
        if let Some(why) = self.dead(shard.table.get(idx), now) {
            self.reclaim_locked(shard, idx);
            return Err(why);
        }
        Ok(idx)
    }

    fn view(&self, item: ItemPtr, bits: u8) -> ItemView<'_> {
        ItemView {
            key: item.key(self.header),
            value: item.value(self.header),
            flags: item.flags(),
            cas: item.cas(self.header),
            exptime: item.exptime(),
            last_access: item.time(),
            fetched_before: bits & BIT_FETCHED != 0,
            token_sent_before: bits & BIT_TOKEN_SENT != 0,
            stale: bits & BIT_STALE != 0,
            won: false,
            vivified: false,
        }
    }

    /// Warms the memory that reading `keys` one after another will touch (multi-key gets), in
    /// three passes over up to 32 keys at a time: every key's home slot, then the header of the
    /// item each slot points to, then the rest of each item (up to 2 KB; the copy of a longer
    /// value streams well on its own). The cache misses of all the keys then overlap, where
    /// the reads alone wait for memory two or three times per key (slot, item header, value).
    /// A hint only: it changes no state, not even reference bits.
    pub fn prefetch<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) {
        const BATCH: usize = 32;
        let mut hashes = [0u64; BATCH];
        let mut keys = keys.peekable();
        while keys.peek().is_some() {
            let mut n = 0;
            for key in keys.by_ref().take(BATCH) {
                hashes[n] = hash_key(key);
                self.shard(hashes[n]).lock().table.prefetch_home(hashes[n]);
                n += 1;
            }
            for &hash in &hashes[..n] {
                self.shard(hash).lock().table.prefetch_item(hash);
            }
            for &hash in &hashes[..n] {
                self.shard(hash)
                    .lock()
                    .table
                    .prefetch_body(hash, PREFETCH_BODY_LIMIT);
            }
        }
    }

    /// Reads an item; `f` sees it under the lock (copy out what you need).
    pub fn get<R>(
        &self,
        key: &[u8],
        opts: GetOptions,
        f: impl FnOnce(&ItemView<'_>) -> R,
    ) -> Result<R, Miss> {
        self.get_inner(key, opts, false, f)
    }

    fn get_inner<R>(
        &self,
        key: &[u8],
        opts: GetOptions,
        vivified: bool,
        f: impl FnOnce(&ItemView<'_>) -> R,
    ) -> Result<R, Miss> {
        let hash = hash_key(key);
        let now = self.clock.now();
        let mut shard = self.shard(hash).lock();
        let idx = match self.lookup_locked(&mut shard, hash, key, now) {
            Ok(idx) => idx,
            Err(miss) => {
                let Some(exptime) = opts.vivify else {
                    return Err(miss);
                };
                drop(shard);
                // Create the placeholder, then read it as its creator (who wins its token).
                self.store(&StoreRequest {
                    mode: Mode::Add,
                    key,
                    flags: 0,
                    exptime,
                    value: &[],
                    compare_cas: 0,
                    new_cas: None,
                });
                let again = GetOptions {
                    vivify: None,
                    ..opts
                };
                return self.get_inner(key, again, true, f);
            }
        };
        let item = shard.table.get(idx);
        let bits = item.bits();
        if let Some(exp) = opts.touch {
            item.set_exptime(exp);
        }
        let mut view = self.view(item, bits);
        view.exptime = item.exptime();
        view.vivified = vivified;
        let recache_due = opts.recache.is_some_and(|r| {
            let exp = item.exptime();
            exp != 0 && exp.saturating_sub(now) < r
        });
        let mut new_bits = bits;
        if bits & BIT_TOKEN_SENT == 0 && (vivified || view.stale || recache_due) {
            view.won = true;
            new_bits |= BIT_TOKEN_SENT;
        }
        if !opts.no_bump {
            new_bits |= BIT_FETCHED | BIT_REFERENCED;
            if item.time() != now {
                item.set_time(now);
            }
        }
        // Write only what changes: a hot item's cache line then stays clean.
        if new_bits != bits {
            item.set_bits(new_bits);
        }
        Ok(f(&view))
    }

    /// Meta `md <key> I`: marks the item stale (served with "X" until replaced) instead of
    /// deleting it, with a new CAS and optionally a new exptime.
    pub fn invalidate(
        &self,
        key: &[u8],
        compare_cas: u64,
        exptime: Option<RelTime>,
    ) -> DeleteOutcome {
        let now = self.clock.now();
        let hash = hash_key(key);
        let mut shard = self.shard(hash).lock();
        let Ok(idx) = self.lookup_locked(&mut shard, hash, key, now) else {
            return DeleteOutcome::NotFound;
        };
        let item = shard.table.get(idx);
        if compare_cas != 0 && item.cas(self.header) != compare_cas {
            return DeleteOutcome::Exists;
        }
        item.set_bits((item.bits() | BIT_STALE) & !BIT_TOKEN_SENT);
        item.set_cas(self.header, self.next_cas());
        if let Some(exp) = exptime {
            item.set_exptime(exp);
        }
        DeleteOutcome::Deleted
    }

    /// Checks the size limit: memcached's item total must fit `max_item_size`.
    pub fn too_large(&self, key_len: usize, value_len: usize) -> bool {
        slabs::memcached_item_total(key_len, value_len, self.cas_enabled())
            > self.max_item_size.load(Relaxed)
    }

    /// Frees memory until `need` more bytes fit the limit.
    fn make_room(&self, need: usize) -> Result<(), ()> {
        let limit = self.limit.load(Relaxed);
        if need > limit {
            return Err(());
        }
        // Shards with nothing to give (empty, or every item read since the hand last passed)
        // are skipped; two fruitless rounds mean the store is empty.
        let mut idle_shards = 0;
        while self.used.load(Relaxed) + need > limit {
            if self.error_on_memory_exhausted.load(Relaxed) && need > 0 {
                return Err(());
            }
            if idle_shards >= 2 * SHARDS {
                return Err(());
            }
            let i = self.evict_hand.fetch_add(1, Relaxed) & (SHARDS - 1);
            let mut shard = self.shards[i].0.lock();
            let now = self.clock.now();
            match shard.table.clock_victim(|it| self.dead(it, now).is_some()) {
                None => idle_shards += 1,
                Some(idx) => {
                    idle_shards = 0;
                    let item = shard.table.get(idx);
                    if self.dead(item, now).is_some() {
                        self.reclaim_locked(&mut shard, idx);
                    } else {
                        let item = shard.table.remove(idx);
                        self.global.evictions.fetch_add(1, Relaxed);
                        if item.bits() & BIT_FETCHED == 0 {
                            self.global.evicted_unfetched.fetch_add(1, Relaxed);
                        }
                        self.free_item(item);
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes `key` (used when a SET fails, so no stale value survives, as memcached does).
    fn unlink(&self, key: &[u8]) {
        let hash = hash_key(key);
        let mut shard = self.shard(hash).lock();
        if let Some(idx) = shard.table.find(hash, key) {
            let item = shard.table.remove(idx);
            self.free_item(item);
        }
    }

    /// Stores an item.
    pub fn store(&self, req: &StoreRequest<'_>) -> StoreOutcome {
        let now = self.clock.now();
        let hash = hash_key(req.key);
        // Append/prepend sizes depend on the current item: checked under the lock below.
        let combines = matches!(req.mode, Mode::Append | Mode::Prepend);
        if !combines {
            if self.too_large(req.key.len(), req.value.len()) {
                if req.mode == Mode::Set {
                    self.unlink(req.key);
                }
                return StoreOutcome::TooLarge;
            }
            let charge = charged_size(self.header + req.key.len() + req.value.len());
            if self.make_room(charge).is_err() {
                if req.mode == Mode::Set {
                    self.unlink(req.key);
                }
                return StoreOutcome::NoMemory;
            }
        }
        let mut shard = self.shard(hash).lock();
        let found = self.lookup_locked(&mut shard, hash, req.key, now).ok();
        let existing = found.map(|idx| shard.table.get(idx));
        match (req.mode, existing) {
            (Mode::Add, Some(item)) => {
                // memcached bumps the existing item on a failed add.
                item.set_bits(item.bits() | BIT_REFERENCED);
                return StoreOutcome::NotStored;
            }
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => return StoreOutcome::NotStored,
            (Mode::Cas, None) => return StoreOutcome::NotFound,
            (_, None) if req.compare_cas != 0 => return StoreOutcome::NotFound,
            (Mode::Cas, Some(item)) if item.cas(self.header) != req.compare_cas => {
                return StoreOutcome::Exists
            }
            (_, Some(item)) if req.compare_cas != 0 && item.cas(self.header) != req.compare_cas => {
                return StoreOutcome::Exists
            }
            _ => {}
        }
        let cas = req.new_cas.unwrap_or_else(|| self.next_cas());
        let new_item = match (req.mode, existing) {
            (Mode::Append | Mode::Prepend, Some(old)) => {
                let old_value = old.value(self.header);
                if self.too_large(req.key.len(), old_value.len() + req.value.len()) {
                    // memcached cannot allocate the combined item and answers NOT_STORED.
                    return StoreOutcome::NotStored;
                }
                let parts: [&[u8]; 2] = if req.mode == Mode::Append {
                    [old_value, req.value]
                } else {
                    [req.value, old_value]
                };
                let size = self.header + req.key.len() + old_value.len() + req.value.len();
                if let Err(e) = drop_then_room(self, &mut shard, charged_size(size)) {
                    return e;
                }
                // make_room may have evicted from this shard: look the item up again.
                let Some(idx) = shard.table.find(hash, req.key) else {
                    return StoreOutcome::NotStored;
                };
                let old = shard.table.get(idx);
                let old_value = old.value(self.header);
                let parts: [&[u8]; 2] = if parts[0].as_ptr() == req.value.as_ptr() {
                    [req.value, old_value]
                } else {
                    [old_value, req.value]
                };
                ItemPtr::new(
                    &ItemSpec {
                        key: req.key,
                        flags: old.flags(),
                        exptime: old.exptime(),
                        time: now,
                        cas,
                        value: &parts,
                    },
                    self.header,
                )
            }
            _ => ItemPtr::new(
                &ItemSpec {
                    key: req.key,
                    flags: req.flags,
                    exptime: req.exptime,
                    time: now,
                    cas,
                    value: &[req.value],
                },
                self.header,
            ),
        };
        self.used
            .fetch_add(charged_size(new_item.size(self.header)), Relaxed);
        self.global.total_items.fetch_add(1, Relaxed);
        match shard.table.find(hash, req.key) {
            Some(idx) => {
                let old = shard.table.replace(idx, new_item);
                self.free_item(old);
            }
            None => shard.table.insert(hash, new_item),
        }
        StoreOutcome::Stored { cas }
    }

    /// incr/decr. `create` = (initial value, exptime) makes a missing counter (binary, meta).
    pub fn arith(
        &self,
        key: &[u8],
        incr: bool,
        delta: u64,
        create: Option<(u64, RelTime)>,
        compare_cas: u64,
    ) -> ArithOutcome {
        let now = self.clock.now();
        let hash = hash_key(key);
        let mut shard = self.shard(hash).lock();
        let Ok(idx) = self.lookup_locked(&mut shard, hash, key, now) else {
            drop(shard);
            let Some((initial, exptime)) = create else {
                return ArithOutcome::NotFound;
            };
            let digits = initial.to_string();
            return match self.store(&StoreRequest {
                mode: Mode::Add,
                key,
                flags: 0,
                exptime,
                value: digits.as_bytes(),
                compare_cas: 0,
                new_cas: None,
            }) {
                StoreOutcome::Stored { cas } => ArithOutcome::Value {
                    value: initial,
                    cas,
                },
                // Someone created it meanwhile: apply the delta to theirs.
                StoreOutcome::NotStored => self.arith(key, incr, delta, None, compare_cas),
                _ => ArithOutcome::NoMemory,
            };
        };
        let item = shard.table.get(idx);
        if compare_cas != 0 && item.cas(self.header) != compare_cas {
            return ArithOutcome::Exists;
        }
        let Some(current) = parse_counter(item.value(self.header)) else {
            return ArithOutcome::NonNumeric;
        };
        let value = if incr {
            current.wrapping_add(delta)
        } else {
            current.saturating_sub(delta)
        };
        item.set_bits(item.bits() | BIT_REFERENCED | BIT_FETCHED);
        let cas = self.next_cas();
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(value).as_bytes();
        let old_len = item.value_len();
        if digits.len() <= old_len {
            // memcached rewrites in place and pads with spaces to the old length.
            let v = item.value_mut(self.header);
            v[..digits.len()].copy_from_slice(digits);
            v[digits.len()..].fill(b' ');
            item.set_cas(self.header, cas);
            item.set_time(now);
            return ArithOutcome::Value { value, cas };
        }
        let charge = charged_size(self.header + key.len() + digits.len());
        if drop_then_room(self, &mut shard, charge).is_err() {
            return ArithOutcome::NoMemory;
        }
        let Some(idx) = shard.table.find(hash, key) else {
            return ArithOutcome::NotFound;
        };
        let old = shard.table.get(idx);
        let new_item = ItemPtr::new(
            &ItemSpec {
                key,
                flags: old.flags(),
                exptime: old.exptime(),
                time: now,
                cas,
                value: &[digits],
            },
            self.header,
        );
        new_item.set_bits(old.bits());
        self.used
            .fetch_add(charged_size(new_item.size(self.header)), Relaxed);
        let old = shard.table.replace(idx, new_item);
        self.free_item(old);
        ArithOutcome::Value { value, cas }
    }

    /// Deletes an item, optionally only if its CAS matches.
    pub fn delete(&self, key: &[u8], compare_cas: u64) -> DeleteOutcome {
        let now = self.clock.now();
        let hash = hash_key(key);
        let mut shard = self.shard(hash).lock();
        let Ok(idx) = self.lookup_locked(&mut shard, hash, key, now) else {
            return DeleteOutcome::NotFound;
        };
        if compare_cas != 0 && shard.table.get(idx).cas(self.header) != compare_cas {
            return DeleteOutcome::Exists;
        }
        let item = shard.table.remove(idx);
        self.free_item(item);
        DeleteOutcome::Deleted
    }

    /// Sets a new exptime; false when missing.
    pub fn touch(&self, key: &[u8], exptime: RelTime) -> bool {
        self.get(
            key,
            GetOptions {
                touch: Some(exptime),
                ..GetOptions::default()
            },
            |_| (),
        )
        .is_ok()
    }

    /// `flush_all [delay]`: with no delay everything goes now; otherwise items not stored
    /// after the deadline disappear when it passes.
    pub fn flush_all(&self, delay: i64) {
        if delay > 0 {
            let when = self.clock.realtime(delay);
            self.oldest_live
                .store(when.saturating_sub(1).max(1), Relaxed);
            return;
        }
        self.oldest_live.store(0, Relaxed);
        for shard in self.shards.iter() {
            let items = shard.0.lock().table.drain();
            for item in items {
                self.free_item(item);
            }
        }
    }

    /// One step of the background crawler: visits `budget` slots of every shard and reclaims
    /// the dead items there. Returns how many it reclaimed.
    pub fn crawl(&self, budget: usize) -> u64 {
        let mut reclaimed = 0;
        let now = self.clock.now();
        for shard in self.shards.iter() {
            let mut shard = shard.0.lock();
            let pos = shard.crawl_pos;
            let (mut dead, next) = shard
                .table
                .crawl(pos, budget, |it| self.dead(it, now).is_some());
            self.global
                .crawler_items_checked
                .fetch_add(budget.min(shard.table.bytes() / 8) as u64, Relaxed);
            // Remove from the highest slot down: backward shifts only move later slots.
            dead.sort_unstable_by(|a, b| b.cmp(a));
            for idx in dead {
                // A shift may have moved a live item here; check again.
                let still_dead = shard
                    .table
                    .slot(idx)
                    .is_some_and(|it| self.dead(it, now).is_some());
                if still_dead {
                    self.reclaim_locked(&mut shard, idx);
                    self.global.crawler_reclaimed.fetch_add(1, Relaxed);
                    reclaimed += 1;
                }
            }
            shard.crawl_pos = next;
        }
        reclaimed
    }

    // ----- Auto Discovery -----

    /// The current cluster configuration.
    pub fn cluster_config(&self) -> Option<ClusterConfig> {
        self.cluster.read().clone()
    }

    /// Replaces the cluster configuration (admin only) and mirrors it under the 1.4.5 key.
    pub fn set_cluster_config(&self, config: ClusterConfig) {
        *self.cluster.write() = Some(config);
        self.restore_legacy_cluster_item();
    }

    /// Rewrites `AmazonElastiCache:cluster` if a client overwrote or deleted it (ElastiCache
    /// repairs it within 15 seconds; the maintenance thread calls this every few seconds).
    pub fn restore_legacy_cluster_item(&self) {
        let Some(config) = self.cluster_config() else {
            return;
        };
        let payload = config.payload();
        let same = self
            .get(
                LEGACY_CLUSTER_KEY,
                GetOptions {
                    no_bump: true,
                    ..GetOptions::default()
                },
                |v| v.value == payload.as_slice() && v.flags == 0 && v.exptime == 0,
            )
            .unwrap_or(false);
        if !same {
            self.store(&StoreRequest {
                mode: Mode::Set,
                key: LEGACY_CLUSTER_KEY,
                flags: 0,
                exptime: 0,
                value: &payload,
                compare_cas: 0,
                new_cas: None,
            });
        }
    }

    // ----- Stats -----

    /// Sum of every worker's counters, in [`ThreadStats::names`] order.
    pub fn thread_totals(&self) -> Vec<(&'static str, u64)> {
        let names = ThreadStats::names();
        let mut acc = vec![0u64; names.len()];
        for t in self.threads.lock().iter() {
            t.add_into(&mut acc);
        }
        names.iter().copied().zip(acc).collect()
    }

    /// `stats reset`.
    pub fn reset_stats(&self) {
        for t in self.threads.lock().iter() {
            t.reset();
        }
        for name in [
            &self.global.total_items,
            &self.global.evictions,
            &self.global.reclaimed,
            &self.global.expired_unfetched,
            &self.global.evicted_unfetched,
            &self.global.crawler_reclaimed,
            &self.global.crawler_items_checked,
            &self.global.slabs_moved,
            &self.global.total_connections,
            &self.global.rejected_connections,
            &self.global.listen_disabled_num,
        ] {
            name.store(0, Relaxed);
        }
    }

    /// Items currently stored.
    pub fn curr_items(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().table.len()).sum()
    }

    /// Bytes of the hash tables.
    pub fn hash_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().table.bytes()).sum()
    }

    /// memcached's `bytes`: the sum of item sizes as memcached counts them.
    pub fn item_bytes(&self) -> u64 {
        let cas = self.cas_enabled();
        self.fold_items(0u64, |acc, k, v, _| {
            *acc += slabs::memcached_item_total(k, v, cas) as u64
        })
    }

    fn fold_items<A>(&self, mut acc: A, mut f: impl FnMut(&mut A, usize, usize, RelTime)) -> A {
        for shard in self.shards.iter() {
            let shard = shard.0.lock();
            for item in shard.table.items() {
                f(&mut acc, item.key_len(), item.value_len(), item.time());
            }
        }
        acc
    }

    pub fn slab_sizes(&self) -> &[usize] {
        &self.slab_sizes
    }

    /// Per slab class: (class id, items, bytes requested, oldest access time).
    pub fn class_usage(&self) -> Vec<(usize, u64, u64, RelTime)> {
        let cas = self.cas_enabled();
        let sizes = &self.slab_sizes;
        let mut per: Vec<(u64, u64, RelTime)> = vec![(0, 0, RelTime::MAX); sizes.len() + 1];
        per = self.fold_items(per, |per, k, v, time| {
            let total = slabs::memcached_item_total(k, v, cas);
            let c = slabs::class_of(sizes, total);
            per[c].0 += 1;
            per[c].1 += total as u64;
            per[c].2 = per[c].2.min(time);
        });
        per.into_iter()
            .enumerate()
            .filter(|(_, (n, _, _))| *n > 0)
            .map(|(c, (n, b, t))| (c, n, b, t))
            .collect()
    }

    /// Up to `limit` items (0 = all) of a slab class: (key, value length, relative exptime).
    pub fn class_items(&self, class: usize, limit: usize) -> Vec<(Vec<u8>, usize, RelTime)> {
        let cas = self.cas_enabled();
        let mut found = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.0.lock();
            for item in shard.table.items() {
                if limit != 0 && found.len() >= limit {
                    return found;
                }
                let total = slabs::memcached_item_total(item.key_len(), item.value_len(), cas);
                if slabs::class_of(&self.slab_sizes, total) == class {
                    found.push((
                        item.key(self.header).to_vec(),
                        item.value_len(),
                        item.exptime(),
                    ));
                }
            }
        }
        found
    }

    /// Item counts by memcached's total size rounded up to 32 bytes (`stats sizes`).
    pub fn size_histogram(&self) -> Vec<(usize, u64)> {
        let cas = self.cas_enabled();
        let mut map = std::collections::BTreeMap::new();
        map = self.fold_items(map, |m, k, v, _| {
            let total = slabs::memcached_item_total(k, v, cas);
            *m.entry(total.div_ceil(32) * 32).or_insert(0u64) += 1;
        });
        map.into_iter().collect()
    }
}

/// Frees room for `charge` bytes while the caller holds `shard`'s lock: the lock is released
/// around the eviction (which takes other shard locks) and taken again.
fn drop_then_room(
    store: &Store,
    shard: &mut parking_lot::MutexGuard<'_, Shard>,
    charge: usize,
) -> Result<(), StoreOutcome> {
    if store.used.load(Relaxed) + charge <= store.limit.load(Relaxed) {
        return Ok(());
    }
    parking_lot::MutexGuard::unlocked(shard, || store.make_room(charge))
        .map_err(|_| StoreOutcome::NoMemory)
}

/// Parses a counter value as memcached's `safe_strtoull` on item data does: optional leading
/// whitespace, digits, then the end or whitespace (decr leaves trailing spaces).
pub fn parse_counter(value: &[u8]) -> Option<u64> {
    let start = value.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &value[start..];
    let digits_end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits_end == 0 {
        return None;
    }
    if digits_end < rest.len() && !rest[digits_end].is_ascii_whitespace() {
        return None;
    }
    memcache_proto::number::parse_u64(&rest[..digits_end])
}

impl Drop for Store {
    fn drop(&mut self) {
        for shard in self.shards.iter() {
            for item in shard.0.lock().table.drain() {
                item.free(self.header);
            }
        }
    }
}
