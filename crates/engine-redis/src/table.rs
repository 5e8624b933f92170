//! `IndexTable`: entries in a dense `Vec`, found through a hash index of `u32` positions.
//!
//! Why this shape, for the keyspace and for every hash-based collection:
//! - memory: an index slot costs 5⅓ bytes (a `u32` and a control byte, padded to 64-byte groups
//!   of 12), not a whole entry, so the index's load factor (up to 7/8) barely matters; entries
//!   are stored densely;
//! - `SCAN`: a cursor is a position in the dense vector. Removal moves the *last* entry into the
//!   hole, and iteration walks from the end down, so an entry present for the whole scan is never
//!   skipped (at worst it is returned twice, which SCAN allows);
//! - random sampling (RANDOMKEY, eviction, active expiry, SRANDMEMBER) is a random index;
//! - prefetching: a lookup touches three cache lines that depend on each other (index group →
//!   entry → entry's heap data). Each address is computable from the one before, and the group's
//!   address from the hash alone, so the lookups of a pipelined batch can load them ahead in
//!   three steps ([`IndexTable::prefetch_step`]) while earlier commands run, instead of paying
//!   three memory round trips per key (pipelined requests at a million keys are bound by that).
//!
//! The index is open addressing over groups of 12 slots, one 64-byte cache line each: 16 control
//! bytes (12 used: a 7-bit tag of the hash, or empty, or deleted) and 12 `u32` positions. A lookup
//! compares the tag against all 12 control bytes at once (SWAR on a `u128`), checks the key only
//! on a tag match, and walks to the next group only when the group is full with no empty slot.
//!
//! Small ordered collections (redis's listpack encodings keep insertion order) use
//! [`IndexTable::shift_remove`], which keeps order at O(n) cost.

use std::hash::BuildHasher;

/// The hash of a key in every [`IndexTable`]: foldhash with this process's random seed (like
/// redis's per-process SipHash key). One function for all tables, so a key hashed once can be
/// looked up in the keys and the expiry table and prefetched without hashing again.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    foldhash::fast::SeedableRandomState::with_seed(0, foldhash::SharedSeed::global_random())
        .hash_one(key)
}

/// What an entry of an [`IndexTable`] is found by.
pub trait Keyed {
    fn key(&self) -> &[u8];

    /// Starts loading the memory a lookup of this entry will read (its key; the value too when
    /// it lives with the key).
    fn prefetch_data(&self) {
        let k = self.key();
        prefetch(k.as_ptr());
    }
}

/// Asks the CPU to load the cache line of `p` without waiting for it (no effect elsewhere).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Slots per group: 12 control bytes + 12 positions fill one 64-byte line.
const GROUP: usize = 12;
const EMPTY: u8 = 0xFF;
const DELETED: u8 = 0x80;
/// Control bytes 12..16 of a group: neither a tag nor empty, and masked out of every search.
const PAD: u8 = 0x80;
const LO: u128 = u128::from_le_bytes([0x01; 16]);
const HI: u128 = u128::from_le_bytes([0x80; 16]);
/// The 12 used control bytes.
const USED: u128 = (1u128 << (8 * GROUP)) - 1;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group {
    ctrl: [u8; 16],
    pos: [u32; GROUP],
}

const EMPTY_GROUP: Group = Group {
    ctrl: [
        EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, PAD,
        PAD, PAD, PAD,
    ],
    pos: [0; GROUP],
};

/// Control bytes that matched, one high bit per byte.
struct Matches(u128);

impl Iterator for Matches {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let j = self.0.trailing_zeros() as usize / 8;
        self.0 &= self.0 - 1;
        Some(j)
    }
}

impl Group {
    #[inline]
    fn word(&self) -> u128 {
        u128::from_le_bytes(self.ctrl)
    }

    /// Slots whose tag is `tag`. May report a full slot with a neighbouring tag too (the SWAR
    /// zero-byte test borrows); callers check the key anyway. Never reports an empty or deleted
    /// slot: those bytes have the high bit set, and a tag has not.
    #[inline]
    fn matching(&self, tag: u8) -> Matches {
        let x = self.word() ^ (LO * tag as u128);
        Matches(x.wrapping_sub(LO) & !x & HI & USED)
    }

    /// Empty slots (0xFF: the only control byte with both top bits set).
    #[inline]
    fn empty(&self) -> Matches {
        let w = self.word();
        Matches(w & (w << 1) & HI & USED)
    }

    /// Empty or deleted slots.
    #[inline]
    fn free(&self) -> Matches {
        Matches(self.word() & HI & USED)
    }

    /// Full slots.
    #[inline]
    fn full(&self) -> Matches {
        Matches(!self.word() & HI & USED)
    }
}

#[inline]
fn tag_of(h: u64) -> u8 {
    (h >> 57) as u8
}

/// Most slots the index fills (full or deleted) before it is rebuilt: 7/8 of them.
fn limit(groups: usize) -> usize {
    groups * GROUP * 7 / 8
}

/// Groups (a power of two) for `n` entries.
fn groups_for(n: usize) -> usize {
    let mut g = 1;
    while limit(g) < n {
        g *= 2;
    }
    g
}

/// The hash index of an [`IndexTable`]: positions in the entry vector.
#[derive(Clone, Default)]
struct Index {
    groups: Vec<Group>,
    /// Slots that may still be filled before a rebuild (limit − full − deleted).
    growth_left: usize,
}

impl Index {
    fn with_groups(n: usize) -> Index {
        Index {
            groups: vec![EMPTY_GROUP; n],
            growth_left: limit(n),
        }
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        h as usize & (self.groups.len() - 1)
    }

    /// The slot (group, index in group) holding a position that `eq` accepts.
    #[inline]
    fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(usize, usize)> {
        if self.groups.is_empty() {
            return None;
        }
        let tag = tag_of(h);
        let mask = self.groups.len() - 1;
        let mut g = self.home(h);
        loop {
            let group = &self.groups[g];
            for j in group.matching(tag) {
                if eq(group.pos[j]) {
                    return Some((g, j));
                }
            }
            if group.empty().0 != 0 {
                return None;
            }
            g = (g + 1) & mask;
        }
    }

    /// Adds a position; there must be room (`growth_left > 0`).
    #[inline]
    fn insert(&mut self, h: u64, pos: u32) {
        let mask = self.groups.len() - 1;
        let mut g = self.home(h);
        loop {
            let group = &mut self.groups[g];
            if let Some(j) = group.free().next() {
                if group.ctrl[j] == EMPTY {
                    self.growth_left -= 1;
                }
                group.ctrl[j] = tag_of(h);
                group.pos[j] = pos;
                return;
            }
            g = (g + 1) & mask;
        }
    }

    /// Frees a slot. A group that still has an empty slot was never walked past (a lookup stops
    /// there, an insertion fills it first), so the slot can become empty again; otherwise it
    /// becomes a tombstone that lookups walk over.
    fn erase(&mut self, (g, j): (usize, usize)) {
        let group = &mut self.groups[g];
        if group.empty().0 != 0 {
            group.ctrl[j] = EMPTY;
            self.growth_left += 1;
        } else {
            group.ctrl[j] = DELETED;
        }
    }

    /// Every stored position, mutably.
    fn positions_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.groups.iter_mut().flat_map(|g| {
            let full = g.full();
            let pos = &mut g.pos;
            pos.iter_mut()
                .enumerate()
                .filter(move |(j, _)| full.0 & (0x80u128 << (8 * j)) != 0)
                .map(|(_, p)| p)
        })
    }

    fn bytes(&self) -> usize {
        self.groups.len() * std::mem::size_of::<Group>()
    }
}

pub struct IndexTable<T> {
    entries: Vec<T>,
    index: Index,
}

impl<T> Default for IndexTable<T> {
    fn default() -> Self {
        IndexTable {
            entries: Vec::new(),
            index: Index::default(),
        }
    }
}

impl<T: Clone + Keyed> Clone for IndexTable<T> {
    fn clone(&self) -> Self {
        IndexTable {
            entries: self.entries.clone(),
            index: self.index.clone(),
        }
    }
}

impl<T: Keyed> IndexTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        hash_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        self.find_hashed(hash_key(key), key)
    }

    /// [`IndexTable::find`] with the key's [`hash_key`] already computed.
    #[inline]
    pub fn find_hashed(&self, h: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(h, |i| {
                entries.get(i as usize).is_some_and(|e| e.key() == key)
            })
            .map(|(g, j)| self.index.groups[g].pos[j] as usize)
    }

    /// One step of loading what a lookup of `key` will read, without changing anything. Called
    /// with `step` 0, 1, 2 in turn with other work in between (see `Keyspace::prefetch_step`),
    /// each step finds the line the previous one asked for already loaded: 0 → the key's index
    /// group, 1 → the entry its first tag match points at, 2 → that entry's data. A guess is
    /// enough here (the first tag match is the key nearly always); an absent key costs one group.
    /// `h` is the key's [`hash_key`].
    #[inline]
    pub fn prefetch_step(&self, h: u64, step: u8) {
        if self.index.groups.is_empty() {
            return;
        }
        let group = &self.index.groups[self.index.home(h)];
        if step == 0 {
            prefetch(group);
            return;
        }
        let Some(j) = group.matching(tag_of(h)).next() else {
            return;
        };
        let Some(e) = self.entries.get(group.pos[j] as usize) else {
            return;
        };
        if step == 1 {
            prefetch(e);
        } else {
            e.prefetch_data();
        }
    }

    pub fn get(&self, idx: usize) -> &T {
        &self.entries[idx]
    }

    pub fn get_mut(&mut self, idx: usize) -> &mut T {
        &mut self.entries[idx]
    }

    pub fn get_by_key(&self, key: &[u8]) -> Option<&T> {
        self.find(key).map(|i| &self.entries[i])
    }

    pub fn get_by_key_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.find(key).map(move |i| &mut self.entries[i])
    }

    /// Inserts an entry whose key is known to be absent; returns its index.
    pub fn insert_new(&mut self, entry: T) -> usize {
        let idx = self.entries.len();
        let h = self.hash(entry.key());
        self.entries.push(entry);
        if self.index.growth_left == 0 {
            // Rebuilding indexes every entry, the new one included.
            self.rebuild();
        } else {
            self.index.insert(h, idx as u32);
        }
        idx
    }

    /// Re-creates the index for the current entries: the same size if half of it is tombstones
    /// and deletions, else twice as large (or as large as the entries need).
    fn rebuild(&mut self) {
        let groups = self.index.groups.len();
        let cap = limit(groups);
        let n = self.entries.len();
        let target = if n <= cap / 2 {
            groups.max(1)
        } else {
            groups_for(n.max(cap + 1))
        };
        self.reindex(target);
    }

    fn reindex(&mut self, groups: usize) {
        let mut index = Index::with_groups(groups);
        for (i, e) in self.entries.iter().enumerate() {
            index.insert(hash_key(e.key()), i as u32);
        }
        self.index = index;
    }

    fn slot_of(&self, idx: usize) -> (usize, usize) {
        let h = self.hash(self.entries[idx].key());
        self.index
            .find(h, |i| i as usize == idx)
            .expect("indexed entry")
    }

    /// Removes the entry at `idx`, moving the last entry into its place. O(1).
    pub fn swap_remove(&mut self, idx: usize) -> T {
        let slot = self.slot_of(idx);
        self.index.erase(slot);
        let last = self.entries.len() - 1;
        if idx != last {
            let (g, j) = self.slot_of(last);
            self.index.groups[g].pos[j] = idx as u32;
        }
        self.entries.swap_remove(idx)
    }

    /// Removes the entry at `idx` keeping the order of the others. O(n).
    pub fn shift_remove(&mut self, idx: usize) -> T {
        let slot = self.slot_of(idx);
        self.index.erase(slot);
        for i in self.index.positions_mut() {
            if *i as usize > idx {
                *i -= 1;
            }
        }
        self.entries.remove(idx)
    }

    pub fn remove_key(&mut self, key: &[u8]) -> Option<T> {
        let idx = self.find(key)?;
        Some(self.swap_remove(idx))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.entries.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.entries.iter_mut()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        let groups = self.index.groups.len();
        self.index = Index::with_groups(groups);
    }

    /// Takes every entry out, leaving an empty table (used by lazy free).
    pub fn take_all(&mut self) -> Vec<T> {
        self.index = Index::default();
        std::mem::take(&mut self.entries)
    }

    /// Gives back spare capacity after many removals.
    pub fn shrink_if_sparse(&mut self) {
        let cap = self.entries.capacity();
        if cap > 64 && self.entries.len() < cap / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
            let groups = groups_for(self.entries.len() * 2);
            if groups < self.index.groups.len() {
                self.reindex(groups);
            }
        }
    }

    /// Bytes of bookkeeping this table holds (for MEMORY USAGE estimates).
    pub fn overhead_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<T>() + self.index.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct E(Vec<u8>, u32);
    impl Keyed for E {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn insert_find_remove() {
        let mut t = IndexTable::new();
        for i in 0..1000u32 {
            t.insert_new(E(i.to_string().into_bytes(), i));
        }
        for i in (0..1000u32).step_by(3) {
            let e = t.remove_key(i.to_string().as_bytes()).unwrap();
            assert_eq!(e.1, i);
        }
        for i in 0..1000u32 {
            let found = t.get_by_key(i.to_string().as_bytes()).map(|e| e.1);
            assert_eq!(found, if i % 3 == 0 { None } else { Some(i) });
        }
        let idx = t.find(b"1").unwrap();
        t.shift_remove(idx);
        assert!(t.find(b"1").is_none());
        assert_eq!(t.get_by_key(b"2").unwrap().1, 2);
        t.shrink_if_sparse();
        assert_eq!(t.get_by_key(b"998").unwrap().1, 998);
    }

    /// Random inserts, removals (swap and shift), clears and shrinks against a `HashMap` model,
    /// over few distinct keys (many tombstones, same-size rebuilds) and many (growth).
    #[test]
    fn matches_a_model_under_churn() {
        use rand::{Rng, SeedableRng};
        for (seed, distinct) in [(1u64, 40u32), (2, 3000), (3, 200_000)] {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut t: IndexTable<E> = IndexTable::new();
            let mut model = std::collections::HashMap::new();
            for step in 0..60_000u32 {
                let k = rng.gen_range(0..distinct);
                let key = format!("k{k}").into_bytes();
                match rng.gen_range(0..10) {
                    0..=4 => {
                        if t.find(&key).is_none() {
                            t.insert_new(E(key.clone(), step));
                            model.insert(key.clone(), step);
                        }
                    }
                    5..=7 => assert_eq!(t.remove_key(&key).map(|e| e.1), model.remove(&key)),
                    8 => {
                        if let Some(i) = t.find(&key) {
                            assert_eq!(t.shift_remove(i).1, model.remove(&key).unwrap());
                        }
                    }
                    _ => {
                        if step % 5000 == 0 {
                            t.clear();
                            model.clear();
                        }
                        t.shrink_if_sparse();
                    }
                }
                assert_eq!(t.get_by_key(&key).map(|e| e.1), model.get(&key).copied());
            }
            assert_eq!(t.len(), model.len());
            for (k, v) in &model {
                assert_eq!(t.get_by_key(k).map(|e| e.1), Some(*v));
            }
            for (i, e) in t.iter().enumerate() {
                assert_eq!(t.find(&e.0), Some(i));
            }
            let c = t.clone();
            for (k, v) in &model {
                assert_eq!(c.get_by_key(k).map(|e| e.1), Some(*v));
            }
            for k in model.keys().take(100) {
                for step in 0..3 {
                    t.prefetch_step(hash_key(k), step);
                }
            }
        }
    }

    #[test]
    fn group_matching() {
        let mut g = EMPTY_GROUP;
        assert_eq!(g.empty().count(), GROUP);
        assert_eq!(g.free().count(), GROUP);
        assert_eq!(g.full().count(), 0);
        g.ctrl[3] = 0x11;
        g.ctrl[4] = 0x10;
        g.ctrl[7] = DELETED;
        assert!(g.matching(0x11).any(|j| j == 3));
        assert!(g.matching(0x10).any(|j| j == 4));
        assert_eq!(g.matching(0x12).count(), 0);
        assert_eq!(g.empty().count(), GROUP - 3);
        assert_eq!(g.free().count(), GROUP - 2);
        assert_eq!(g.full().collect::<Vec<_>>(), vec![3, 4]);
    }
}
