//! Counters, with memcached's names.
//!
//! Command counters are kept per worker thread ([`ThreadStats`], one writer each, so no cache
//! line is shared on the hot path) and summed when `stats` is asked. Store-wide events
//! (evictions, reclaims, connections) are in [`GlobalStats`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($(#[$m:meta])* $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Default, Debug)]
        #[repr(align(128))]
        pub struct $name { $(pub $field: AtomicU64,)* }

        impl $name {
            /// (name, value) pairs in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field.load(Relaxed)),)*]
            }
            /// Adds another set of the same counters into this one's snapshot values.
            pub fn add_into(&self, acc: &mut [u64]) {
                let mut i = 0;
                $(acc[i] += self.$field.load(Relaxed); i += 1;)*
                let _ = i;
            }
            pub fn names() -> &'static [&'static str] {
                &[$(stringify!($field),)*]
            }
            pub fn reset(&self) {
                $(self.$field.store(0, Relaxed);)*
            }
        }
    };
}

counters!(
    /// Per-worker command counters.
    ThreadStats {
        cmd_get, cmd_set, cmd_flush, cmd_touch, cmd_meta,
        get_hits, get_misses, get_expired, get_flushed,
        delete_misses, delete_hits,
        incr_misses, incr_hits, decr_misses, decr_hits,
        cas_misses, cas_hits, cas_badval,
        touch_hits, touch_misses,
        store_too_large, store_no_memory,
        auth_cmds, auth_errors,
        bytes_read, bytes_written,
        cmd_config_get, cmd_config_set,
    }
);

counters!(
    /// Store-wide counters.
    GlobalStats {
        total_items, evictions, reclaimed, expired_unfetched, evicted_unfetched,
        crawler_reclaimed, crawler_items_checked, slabs_moved,
        curr_connections, total_connections, rejected_connections, listen_disabled_num,
    }
);

impl ThreadStats {
    #[inline]
    pub fn bump(counter: &AtomicU64) {
        // One writer per counter set: a plain load/store pair avoids a locked instruction.
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Relaxed) + n, Relaxed);
    }
}

/// `stats` counters that must not be reset by `stats reset` (memcached keeps gauges).
pub const GAUGES: &[&str] = &["curr_connections"];
