//! The Memcached-compatible store: items, CAS, LRU eviction, memory accounting, stats and the
//! Auto Discovery cluster configuration.
//!
//! The store knows nothing of the wire: `memcache-proto` parses requests, the `node` crate owns
//! sockets and threads.
//!
//! Design, in one paragraph: an item is one allocation (packed 18/26-byte header, key, value;
//! [`item`]); 256 mutex-striped open-addressing tables hold one 8-byte tagged pointer per item
//! ([`table`]); eviction is CLOCK over the table slots, which keeps items read since the hand's
//! last pass and costs one bit per item instead of an LRU list's two pointers; memory is charged
//! at what the allocator really uses and freed memory serves any size ([`slabs`] is only a
//! reporting view of memcached's classes); expired and flushed items are reclaimed when seen and
//! by a background crawler ([`Store::crawl`]).

pub mod clock;
pub mod item;
pub mod settings;
pub mod slabs;
pub mod stats;
pub mod store;
pub mod table;

pub use settings::Settings;
pub use store::{
    ArithOutcome, DeleteOutcome, GetOptions, ItemView, Miss, Mode, Store, StoreOutcome,
    StoreRequest,
};
