//! The data types, one module each (like redis's `t_*.c` type APIs): each hides its encoding and
//! exposes the operations the commands need. [`Aggregate`] is the boxed value of every non-string
//! key; strings live inline in the keyspace entry (see `db.rs`).

pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::Stream;
pub use zset::ZSet;

/// Value of a key that is not a string.
#[derive(Clone, Debug)]
pub enum Aggregate {
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    Stream(Stream),
}

/// The type of a key, as TYPE prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    List,
    Hash,
    Set,
    ZSet,
    Stream,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Stream => "stream",
        }
    }
}

impl Aggregate {
    pub fn kind(&self) -> Kind {
        match self {
            Aggregate::List(_) => Kind::List,
            Aggregate::Hash(_) => Kind::Hash,
            Aggregate::Set(_) => Kind::Set,
            Aggregate::ZSet(_) => Kind::ZSet,
            Aggregate::Stream(_) => Kind::Stream,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Aggregate::List(l) => l.len(),
            Aggregate::Hash(h) => h.len(),
            Aggregate::Set(s) => s.len(),
            Aggregate::ZSet(z) => z.len(),
            Aggregate::Stream(s) => s.len(),
        }
    }

    /// An empty aggregate deletes its key, except a stream, which lives on empty.
    pub fn is_empty(&self) -> bool {
        !matches!(self, Aggregate::Stream(_)) && self.len() == 0
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            Aggregate::List(_) => "quicklist",
            Aggregate::Hash(h) => h.encoding(),
            Aggregate::Set(s) => s.encoding(),
            Aggregate::ZSet(z) => z.encoding(),
            Aggregate::Stream(_) => "stream",
        }
    }

    /// Rough heap size, for MEMORY USAGE and lazy-free decisions.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Aggregate::List(l) => l.approx_bytes(),
            Aggregate::Hash(h) => h.approx_bytes(),
            Aggregate::Set(s) => s.approx_bytes(),
            Aggregate::ZSet(z) => z.approx_bytes(),
            Aggregate::Stream(s) => s.approx_bytes(),
        }
    }
}

/// Encoding thresholds (the `*-max-listpack-*` / `*-max-intset-*` parameters).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
        }
    }
}
