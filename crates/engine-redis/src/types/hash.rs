//! Hashes. Small hashes keep insertion order (redis's listpack encoding); past
//! `hash-max-listpack-entries` / `-value` they become a hash table for good.

use crate::table::{IndexTable, Keyed};

#[derive(Clone, Debug)]
pub struct Field {
    pub name: Box<[u8]>,
    pub value: Box<[u8]>,
}

impl Keyed for Field {
    fn key(&self) -> &[u8] {
        &self.name
    }
}

#[derive(Clone, Default)]
pub struct Hash {
    fields: IndexTable<Field>,
    big: bool,
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({} fields)", self.fields.len())
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "listpack"
        }
    }

    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields.get_by_key(name).map(|f| &*f.value)
    }

    /// Sets a field; true if it is new.
    pub fn set(&mut self, name: &[u8], value: &[u8], limits: &super::Limits) -> bool {
        if name.len() > limits.hash_value || value.len() > limits.hash_value {
            self.big = true;
        }
        let new = match self.fields.get_by_key_mut(name) {
            Some(f) => {
                f.value = value.into();
                false
            }
            None => {
                self.fields.insert_new(Field {
                    name: name.into(),
                    value: value.into(),
                });
                true
            }
        };
        if self.fields.len() > limits.hash_entries {
            self.big = true;
        }
        new
    }

    pub fn remove(&mut self, name: &[u8]) -> bool {
        let Some(idx) = self.fields.find(name) else {
            return false;
        };
        if self.big {
            self.fields.swap_remove(idx);
        } else {
            self.fields.shift_remove(idx);
        }
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields.iter().map(|f| (&*f.name, &*f.value))
    }

    /// The field at a dense position (HRANDFIELD, HSCAN).
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        let f = self.fields.get(i);
        (&f.name, &f.value)
    }

    pub fn approx_bytes(&self) -> usize {
        self.fields.overhead_bytes()
            + self
                .fields
                .iter()
                .map(|f| f.name.len() + f.value.len())
                .sum::<usize>()
    }
}
