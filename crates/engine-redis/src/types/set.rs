//! Sets. A set of integers below `set-max-intset-entries` is an "intset" and, as in redis,
//! iterates in ascending numeric order; any other set is a hash table.

use crate::table::{IndexTable, Keyed};
use crate::util::parse_i64;

#[derive(Clone, Debug)]
pub struct Member(pub Box<[u8]>);

impl Keyed for Member {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Clone, Default)]
pub struct Set {
    members: IndexTable<Member>,
    big: bool,
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Set({} members)", self.members.len())
    }
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn is_intset(&self) -> bool {
        !self.big
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "hashtable"
        } else {
            "intset"
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.find(m).is_some()
    }

    pub fn add(&mut self, m: &[u8], limits: &super::Limits) -> bool {
        if self.contains(m) {
            return false;
        }
        if !self.big && parse_i64(m).is_none() {
            self.big = true;
        }
        self.members.insert_new(Member(m.into()));
        if self.members.len() > limits.set_intset_entries {
            self.big = true;
        }
        true
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.remove_key(m).is_some()
    }

    /// Members in the order redis would list them: ascending for an intset, table order
    /// otherwise.
    pub fn members(&self) -> Vec<&[u8]> {
        let mut v: Vec<&[u8]> = self.members.iter().map(|m| &*m.0).collect();
        if !self.big {
            v.sort_by_key(|m| parse_i64(m).unwrap_or(0));
        }
        v
    }

    pub fn at(&self, i: usize) -> &[u8] {
        &self.members.get(i).0
    }

    pub fn pop_at(&mut self, i: usize) -> Box<[u8]> {
        self.members.swap_remove(i).0
    }

    pub fn approx_bytes(&self) -> usize {
        self.members.overhead_bytes() + self.members.iter().map(|m| m.0.len()).sum::<usize>()
    }
}
