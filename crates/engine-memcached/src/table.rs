//! An open-addressing hash table of thin item pointers, with a CLOCK hand for eviction.
//!
//! Each slot is one `u64`: the item pointer in the low 48 bits and 16 bits of the key's hash
//! on top, so most probes that do not match are rejected without touching the item. Linear
//! probing with backward-shift deletion (no tombstones). Capacities are not powers of two (the
//! home slot is a multiply-shift of the hash): the table grows by half when 4/5 full, so it
//! stays 53-80% full, about 12 bytes per item, where doubling would average 17.
//!
//! The CLOCK hand walks the slots themselves, so the eviction order costs no memory per item
//! (a linked LRU would cost two pointers, 16 bytes, per item). Every hit sets the item's
//! reference bit; the hand clears it and moves on, and takes the first item whose bit is
//! clear. Hot items keep being referenced between two passes and stay.

use crate::item::{ItemPtr, BIT_REFERENCED};

const PTR_BITS: u32 = 48;
const PTR_MASK: u64 = (1 << PTR_BITS) - 1;

/// The 64-bit hash of a key (word-at-a-time multiply-xor with murmur3's finaliser).
pub fn hash_key(key: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ (key.len() as u64).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0x8764_2a5b_3a67_d4c1).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(0x8764_2a5b_3a67_d4c1)
            .rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn tag_of(hash: u64) -> u64 {
    hash & !PTR_MASK
}

/// Asks the CPU to start loading the cache line at `p` (a hint: never faults, never waits).
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions do not fault on any address and do not access memory
    // architecturally.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

pub struct Table {
    slots: Vec<u64>,
    len: usize,
    hand: usize,
    /// Item header length (depends on CAS), needed to read keys.
    header: usize,
}

impl Table {
    pub fn new(header: usize, capacity: usize) -> Table {
        Table {
            slots: vec![0; capacity.max(8)],
            len: 0,
            hand: 0,
            header,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the slot array (memcached's `hash_bytes`).
    pub fn bytes(&self) -> usize {
        self.slots.len() * 8
    }

    fn next(&self, idx: usize) -> usize {
        if idx + 1 == self.slots.len() {
            0
        } else {
            idx + 1
        }
    }

    /// Slots from `from` forward to `to`, wrapping.
    fn distance(&self, from: usize, to: usize) -> usize {
        if to >= from {
            to - from
        } else {
            to + self.slots.len() - from
        }
    }

    /// Home slot of a hash: bits 16..48 (the low bits pick the shard, the top 16 are the tag)
    /// scaled onto the capacity.
    fn home(&self, hash: u64) -> usize {
        ((((hash >> 16) & 0xffff_ffff) * self.slots.len() as u64) >> 32) as usize
    }

    fn item_at(&self, idx: usize) -> Option<ItemPtr> {
        let s = self.slots[idx];
        // SAFETY: non-zero slots hold live items owned by this table.
        (s != 0).then(|| unsafe { ItemPtr::from_raw((s & PTR_MASK) as usize) })
    }

    /// The slot holding `key`, if any.
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let tag = tag_of(hash);
        let mut idx = self.home(hash);
        loop {
            let s = self.slots[idx];
            if s == 0 {
                return None;
            }
            if s & !PTR_MASK == tag {
                // SAFETY: as in item_at.
                let item = unsafe { ItemPtr::from_raw((s & PTR_MASK) as usize) };
                if item.key(self.header) == key {
                    return Some(idx);
                }
            }
            idx = self.next(idx);
        }
    }

    /// Starts loading the cache line of `hash`'s home slot (see [`prefetch`]).
    pub fn prefetch_home(&self, hash: u64) {
        prefetch(&self.slots[self.home(hash)]);
    }

    /// Starts loading the header of the first item whose tag matches `hash` (its key is not
    /// compared: this is a hint, and a tag collision only wastes one load).
    pub fn prefetch_item(&self, hash: u64) {
        let tag = tag_of(hash);
        let mut idx = self.home(hash);
        loop {
            let s = self.slots[idx];
            if s == 0 {
                return;
            }
            if s & !PTR_MASK == tag {
                prefetch((s & PTR_MASK) as *const u8);
                return;
            }
            idx = self.next(idx);
        }
    }

    /// Once [`Table::prefetch_item`] has brought the header in: starts loading the rest of the
    /// item (key and value), up to `limit` bytes of it.
    pub fn prefetch_body(&self, hash: u64, limit: usize) {
        let tag = tag_of(hash);
        let mut idx = self.home(hash);
        loop {
            let s = self.slots[idx];
            if s == 0 {
                return;
            }
            if s & !PTR_MASK == tag {
                // SAFETY: as in item_at.
                let item = unsafe { ItemPtr::from_raw((s & PTR_MASK) as usize) };
                self.prefetch_rest(item, limit);
                return;
            }
            idx = self.next(idx);
        }
    }

    /// Starts loading an item's cache lines after its first (the header's), up to `limit` bytes
    /// of it, so that copying its value out waits for memory once rather than line by line.
    pub fn prefetch_rest(&self, item: ItemPtr, limit: usize) {
        let start = item.raw() as *const u8;
        let end = item.size(self.header).min(limit);
        for offset in (64..end).step_by(64) {
            prefetch(start.wrapping_add(offset));
        }
    }

    /// The item in slot `idx`, if the slot is occupied.
    pub fn slot(&self, idx: usize) -> Option<ItemPtr> {
        self.slots.get(idx).and(self.item_at(idx))
    }

    pub fn get(&self, idx: usize) -> ItemPtr {
        self.item_at(idx).expect("slot index from find")
    }

    /// Puts `item` in slot `idx` (which holds the same key) and returns the old item.
    pub fn replace(&mut self, idx: usize, item: ItemPtr) -> ItemPtr {
        let old = self.get(idx);
        self.slots[idx] = (self.slots[idx] & !PTR_MASK) | item.raw() as u64;
        old
    }

    /// Inserts an item whose key is not in the table.
    pub fn insert(&mut self, hash: u64, item: ItemPtr) {
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        self.place(hash, item);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, item: ItemPtr) {
        let raw = item.raw() as u64;
        debug_assert_eq!(raw & !PTR_MASK, 0, "pointers fit in 48 bits");
        let mut idx = self.home(hash);
        while self.slots[idx] != 0 {
            idx = self.next(idx);
        }
        self.slots[idx] = tag_of(hash) | raw;
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() + self.slots.len() / 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for s in old.into_iter().filter(|&s| s != 0) {
            // SAFETY: as in item_at.
            let item = unsafe { ItemPtr::from_raw((s & PTR_MASK) as usize) };
            self.place(hash_key(item.key(self.header)), item);
        }
        self.hand = 0;
    }

    /// Removes the item in slot `idx` and returns it (backward-shift deletion).
    pub fn remove(&mut self, idx: usize) -> ItemPtr {
        let removed = self.get(idx);
        let mut hole = idx;
        let mut j = self.next(idx);
        while let Some(item) = self.item_at(j) {
            let home = self.home(hash_key(item.key(self.header)));
            // The entry at j may move into the hole if its home is not in (hole, j].
            if self.distance(home, j) >= self.distance(hole, j) {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
            j = self.next(j);
        }
        self.slots[hole] = 0;
        self.len -= 1;
        removed
    }

    /// Advances the CLOCK hand by at most one pass and returns a victim's slot: the first item
    /// for which `dead` holds (expired or flushed), or else the first whose reference bit is
    /// clear. Bits are cleared on the way, so an item survives one pass after its last read.
    /// `None` when the table is empty or every item was referenced.
    pub fn clock_victim(&mut self, dead: impl Fn(ItemPtr) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..self.slots.len() {
            let idx = self.hand.min(self.slots.len() - 1);
            self.hand = self.next(idx);
            let Some(item) = self.item_at(idx) else {
                continue;
            };
            if dead(item) {
                return Some(idx);
            }
            let bits = item.bits();
            if bits & BIT_REFERENCED != 0 {
                item.set_bits(bits & !BIT_REFERENCED);
                continue;
            }
            // Step back: backward-shift deletion may move the next item into this slot.
            self.hand = idx;
            return Some(idx);
        }
        None
    }

    /// Visits up to `budget` slots from the crawler position `pos`, returning the slots of items
    /// for which `dead` holds and the next position.
    pub fn crawl(
        &self,
        pos: usize,
        budget: usize,
        dead: impl Fn(ItemPtr) -> bool,
    ) -> (Vec<usize>, usize) {
        let mut found = Vec::new();
        let n = self.slots.len();
        let start = pos.min(n);
        let end = (start + budget).min(n);
        for idx in start..end {
            if let Some(item) = self.item_at(idx) {
                if dead(item) {
                    found.push(idx);
                }
            }
        }
        (found, if end >= n { 0 } else { end })
    }

    /// Every item, for stats scans and teardown.
    pub fn items(&self) -> impl Iterator<Item = ItemPtr> + '_ {
        (0..self.slots.len()).filter_map(|i| self.item_at(i))
    }

    /// Empties the table, returning the items to free.
    pub fn drain(&mut self) -> Vec<ItemPtr> {
        let items: Vec<_> = self.items().collect();
        self.slots.iter_mut().for_each(|s| *s = 0);
        self.len = 0;
        self.hand = 0;
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{ItemSpec, HEADER};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn item(key: &[u8]) -> ItemPtr {
        ItemPtr::new(
            &ItemSpec {
                key,
                flags: 0,
                exptime: 0,
                time: 0,
                cas: 0,
                value: &[b"v"],
            },
            HEADER,
        )
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u16..300), 1..600)) {
            let mut t = Table::new(HEADER, 8);
            let mut model: HashMap<Vec<u8>, ()> = HashMap::new();
            for (insert, k) in ops {
                let key = k.to_string().into_bytes();
                let h = hash_key(&key);
                match (insert, t.find(h, &key)) {
                    (true, None) => { t.insert(h, item(&key)); model.insert(key, ()); }
                    (false, Some(idx)) => { t.remove(idx).free(HEADER); model.remove(&key); }
                    _ => {}
                }
                prop_assert_eq!(t.len(), model.len());
            }
            for key in model.keys() {
                prop_assert!(t.find(hash_key(key), key).is_some());
            }
            for i in t.drain() { i.free(HEADER); }
        }
    }

    #[test]
    fn clock_spares_referenced_items() {
        let mut t = Table::new(HEADER, 64);
        let keys: Vec<Vec<u8>> = (0..20).map(|i| format!("k{i}").into_bytes()).collect();
        for k in &keys {
            t.insert(hash_key(k), item(k));
        }
        let hot = t.get(t.find(hash_key(&keys[3]), &keys[3]).unwrap());
        for _ in 0..19 {
            hot.set_bits(BIT_REFERENCED);
            let v = t.clock_victim(|_| false).unwrap();
            t.remove(v).free(HEADER);
        }
        // Only the hot item is left: one pass clears its bit, the next takes it.
        assert_eq!(t.clock_victim(|_| false), None);
        assert!(t.clock_victim(|_| false).is_some());
        assert_eq!(t.len(), 1);
        assert!(t.find(hash_key(&keys[3]), &keys[3]).is_some());
        for i in t.drain() {
            i.free(HEADER);
        }
    }
}
