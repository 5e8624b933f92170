//! Lists: a `VecDeque` of byte strings (O(1) at both ends, O(1) index).

use std::collections::VecDeque;

#[derive(Clone, Debug, Default)]
pub struct List {
    items: VecDeque<Box<[u8]>>,
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl End {
    pub fn parse(s: &[u8]) -> Option<End> {
        if s.eq_ignore_ascii_case(b"left") {
            Some(End::Head)
        } else if s.eq_ignore_ascii_case(b"right") {
            Some(End::Tail)
        } else {
            None
        }
    }
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push(&mut self, end: End, v: &[u8]) {
        match end {
            End::Head => self.items.push_front(v.into()),
            End::Tail => self.items.push_back(v.into()),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Box<[u8]>> {
        match end {
            End::Head => self.items.pop_front(),
            End::Tail => self.items.pop_back(),
        }
    }

    /// Resolves a possibly negative index.
    pub fn resolve(&self, i: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if i < 0 { len + i } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.items.get(i).map(|b| &**b)
    }

    pub fn set(&mut self, i: usize, v: &[u8]) {
        self.items[i] = v.into();
    }

    /// Clamps a redis `start stop` range to `[start, end)` in bounds (empty if none).
    pub fn range_bounds(len: usize, start: i64, stop: i64) -> (usize, usize) {
        let len = len as i64;
        let mut s = if start < 0 { len + start } else { start };
        let mut e = if stop < 0 { len + stop } else { stop };
        if s < 0 {
            s = 0;
        }
        if s > e || s >= len {
            return (0, 0);
        }
        if e >= len {
            e = len - 1;
        }
        (s as usize, e as usize + 1)
    }

    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> {
        self.items.range(start..end).map(|b| &**b)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.items.iter().map(|b| &**b)
    }

    pub fn trim(&mut self, start: usize, end: usize) {
        self.items.truncate(end);
        self.items.drain(..start.min(self.items.len()));
    }

    pub fn position(&self, v: &[u8]) -> Option<usize> {
        self.items.iter().position(|x| &**x == v)
    }

    pub fn insert(&mut self, at: usize, v: &[u8]) {
        self.items.insert(at, v.into());
    }

    /// LREM: removes up to `count` matches (from the head if count > 0, the tail if < 0, all if 0).
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut removed = 0;
        if count >= 0 {
            let mut i = 0;
            while i < self.items.len() && removed < limit {
                if &*self.items[i] == v {
                    self.items.remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        } else {
            let mut i = self.items.len();
            while i > 0 && removed < limit {
                i -= 1;
                if &*self.items[i] == v {
                    self.items.remove(i);
                    removed += 1;
                }
            }
        }
        removed
    }

    pub fn approx_bytes(&self) -> usize {
        self.items.iter().map(|b| b.len() + 16).sum::<usize>() + 32
    }
}
