//! Sorted sets: a member→score table plus a `BTreeSet` ordered by (score, member).
//! Encoding reported as redis's: "listpack" while small, "skiplist" after.

use crate::table::{IndexTable, Keyed};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

#[derive(Clone, Debug)]
struct Scored {
    member: Box<[u8]>,
    score: f64,
}

impl Keyed for Scored {
    fn key(&self) -> &[u8] {
        &self.member
    }
}

/// Ordering key of the tree: score, then member bytes (redis's order).
#[derive(Clone, Debug)]
pub struct Node {
    pub score: f64,
    pub member: Box<[u8]>,
}

impl PartialEq for Node {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Node {}
impl PartialOrd for Node {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Node {
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .partial_cmp(&o.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| self.member.cmp(&o.member))
    }
}

#[derive(Clone, Default)]
pub struct ZSet {
    dict: IndexTable<Scored>,
    tree: BTreeSet<Node>,
    big: bool,
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZSet({} members)", self.dict.len())
    }
}

/// A score bound of ZRANGEBYSCORE (`(1.5` is exclusive).
#[derive(Clone, Copy, Debug)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A lex bound of ZRANGEBYLEX: `-`, `+`, `[x` or `(x`.
#[derive(Clone, Debug)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl ScoreBound {
    pub fn parse(s: &[u8]) -> Option<ScoreBound> {
        let (exclusive, rest) = match s.first() {
            Some(b'(') => (true, &s[1..]),
            _ => (false, s),
        };
        let value = crate::util::parse_f64(rest)?;
        Some(ScoreBound { value, exclusive })
    }
    fn above_min(&self, x: f64) -> bool {
        if self.exclusive {
            x > self.value
        } else {
            x >= self.value
        }
    }
    fn below_max(&self, x: f64) -> bool {
        if self.exclusive {
            x < self.value
        } else {
            x <= self.value
        }
    }
}

impl LexBound {
    pub fn parse(s: &[u8]) -> Option<LexBound> {
        match s.first()? {
            b'-' if s.len() == 1 => Some(LexBound::NegInf),
            b'+' if s.len() == 1 => Some(LexBound::PosInf),
            b'[' => Some(LexBound::Incl(s[1..].to_vec())),
            b'(' => Some(LexBound::Excl(s[1..].to_vec())),
            _ => None,
        }
    }
    fn above_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(v) => m >= &v[..],
            LexBound::Excl(v) => m > &v[..],
        }
    }
    fn below_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(v) => m <= &v[..],
            LexBound::Excl(v) => m < &v[..],
        }
    }
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.dict.get_by_key(m).map(|s| s.score)
    }

    /// Inserts or updates; returns the previous score.
    pub fn insert(&mut self, m: &[u8], score: f64, limits: &super::Limits) -> Option<f64> {
        if m.len() > limits.zset_value {
            self.big = true;
        }
        let old = match self.dict.get_by_key_mut(m) {
            Some(s) => {
                let old = s.score;
                s.score = score;
                Some(old)
            }
            None => {
                self.dict.insert_new(Scored {
                    member: m.into(),
                    score,
                });
                None
            }
        };
        if let Some(old) = old {
            if old != score || old.is_sign_negative() != score.is_sign_negative() {
                self.tree.remove(&Node {
                    score: old,
                    member: m.into(),
                });
                self.tree.insert(Node {
                    score,
                    member: m.into(),
                });
            }
        } else {
            self.tree.insert(Node {
                score,
                member: m.into(),
            });
        }
        if self.dict.len() > limits.zset_entries {
            self.big = true;
        }
        old
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.dict.remove_key(m) {
            Some(s) => {
                self.tree.remove(&Node {
                    score: s.score,
                    member: s.member,
                });
                true
            }
            None => false,
        }
    }

    /// 0-based rank in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let score = self.score(m)?;
        let node = Node {
            score,
            member: m.into(),
        };
        Some(self.tree.range(..node).count())
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Node> {
        self.tree.iter()
    }

    /// Elements with rank in [start, end) in ascending order.
    pub fn by_rank(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &Node> {
        self.tree.iter().skip(start).take(end.saturating_sub(start))
    }

    pub fn by_score(
        &self,
        min: ScoreBound,
        max: ScoreBound,
    ) -> impl DoubleEndedIterator<Item = &Node> {
        let lo = Node {
            score: min.value,
            member: Box::default(),
        };
        self.tree
            .range((Bound::Included(lo), Bound::Unbounded))
            .skip_while(move |n| !min.above_min(n.score))
            .take_while(move |n| max.below_max(n.score))
            .collect::<Vec<_>>()
            .into_iter()
    }

    pub fn by_lex<'a>(
        &'a self,
        min: &'a LexBound,
        max: &'a LexBound,
    ) -> impl DoubleEndedIterator<Item = &'a Node> {
        self.tree
            .iter()
            .skip_while(move |n| !min.above_min(&n.member))
            .take_while(move |n| max.below_max(&n.member))
            .collect::<Vec<_>>()
            .into_iter()
    }

    pub fn at(&self, i: usize) -> (&[u8], f64) {
        let s = self.dict.get(i);
        (&s.member, s.score)
    }

    pub fn pop(&mut self, max: bool) -> Option<(Box<[u8]>, f64)> {
        let n = if max {
            self.tree.last()?.clone()
        } else {
            self.tree.first()?.clone()
        };
        self.remove(&n.member);
        Some((n.member, n.score))
    }

    pub fn approx_bytes(&self) -> usize {
        self.dict.overhead_bytes()
            + self
                .dict
                .iter()
                .map(|s| 2 * s.member.len() + 48)
                .sum::<usize>()
    }
}
