//! A global allocator wrapper that counts live heap bytes: the source of `used_memory`.
//!
//! Install it once per binary (`#[global_allocator] static A: CountingAlloc = CountingAlloc;`,
//! done by the `node` crate). When it is not installed, [`allocated`] returns `None` and the
//! engine falls back to its own estimate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub struct CountingAlloc;

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Marks the counter as meaningful (call from the binary that installed [`CountingAlloc`]).
pub fn mark_installed() {
    ACTIVE.store(true, Ordering::Relaxed);
}

/// Live heap bytes of the process, if the counting allocator is installed.
pub fn allocated() -> Option<usize> {
    if !ACTIVE.load(Ordering::Relaxed) {
        return None;
    }
    let n = ALLOCATED.load(Ordering::Relaxed);
    PEAK.fetch_max(n, Ordering::Relaxed);
    Some(n)
}

pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}
