//! `IndexTable`: entries in a dense `Vec`, found through a `hashbrown::HashTable<u32>` of indices.
//!
//! Why this shape, for the keyspace and for every hash-based collection:
//! - memory: an empty hash slot costs 5 bytes (a `u32` and a control byte), not a whole entry, so
//!   the table's load factor (between 7/16 and 7/8) barely matters; entries are stored densely;
//! - `SCAN`: a cursor is a position in the dense vector. Removal moves the *last* entry into the
//!   hole, and iteration walks from the end down, so an entry present for the whole scan is never
//!   skipped (at worst it is returned twice, which SCAN allows);
//! - random sampling (RANDOMKEY, eviction, active expiry, SRANDMEMBER) is a random index.
//!
//! Small ordered collections (redis's listpack encodings keep insertion order) use
//! [`IndexTable::shift_remove`], which keeps order at O(n) cost.

use hashbrown::HashTable;
use std::hash::BuildHasher;

/// What an entry of an [`IndexTable`] is found by.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

pub struct IndexTable<T> {
    entries: Vec<T>,
    index: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl<T> Default for IndexTable<T> {
    fn default() -> Self {
        IndexTable {
            entries: Vec::new(),
            index: HashTable::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }
}

impl<T: Clone + Keyed> Clone for IndexTable<T> {
    fn clone(&self) -> Self {
        let mut t = IndexTable::default();
        for e in &self.entries {
            t.insert_new(e.clone());
        }
        t
    }
}

impl<T: Keyed> IndexTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let h = self.hash(key);
        self.index
            .find(h, |&i| self.entries[i as usize].key() == key)
            .map(|&i| i as usize)
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
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.index.insert_unique(h, idx as u32, |&i| {
            hasher.hash_one(entries[i as usize].key())
        });
        idx
    }

    /// Removes the entry at `idx`, moving the last entry into its place. O(1).
    pub fn swap_remove(&mut self, idx: usize) -> T {
        let h = self.hash(self.entries[idx].key());
        self.index
            .find_entry(h, |&i| i as usize == idx)
            .expect("indexed entry")
            .remove();
        let last = self.entries.len() - 1;
        if idx != last {
            let hl = self.hash(self.entries[last].key());
            *self
                .index
                .find_mut(hl, |&i| i as usize == last)
                .expect("indexed last entry") = idx as u32;
        }
        self.entries.swap_remove(idx)
    }

    /// Removes the entry at `idx` keeping the order of the others. O(n).
    pub fn shift_remove(&mut self, idx: usize) -> T {
        let h = self.hash(self.entries[idx].key());
        self.index
            .find_entry(h, |&i| i as usize == idx)
            .expect("indexed entry")
            .remove();
        for i in self.index.iter_mut() {
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
        self.index.clear();
    }

    /// Takes every entry out, leaving an empty table (used by lazy free).
    pub fn take_all(&mut self) -> Vec<T> {
        self.index = HashTable::new();
        std::mem::take(&mut self.entries)
    }

    /// Gives back spare capacity after many removals.
    pub fn shrink_if_sparse(&mut self) {
        let cap = self.entries.capacity();
        if cap > 64 && self.entries.len() < cap / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
            let entries = &self.entries;
            let hasher = &self.hasher;
            self.index.shrink_to(entries.len() * 2, |&i| {
                hasher.hash_one(entries[i as usize].key())
            });
        }
    }

    /// Bytes of bookkeeping this table holds (for MEMORY USAGE estimates).
    pub fn overhead_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<T>() + self.index.capacity() * 5
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
}
