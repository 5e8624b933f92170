//! One item = one heap allocation: a packed header, the key, then the value.
//!
//! ```text
//!   0      4      8       12     16     17     18           18|26
//!   ┌──────┬──────┬───────┬──────┬──────┬──────┬────────────┬─────┬───────┐
//!   │exptim│ time │ flags │ vlen │ klen │ bits │ cas (opt.) │ key │ value │
//!   └──────┴──────┴───────┴──────┴──────┴──────┴────────────┴─────┴───────┘
//! ```
//!
//! 18 bytes of header, 26 with CAS (memcached's item header is 48 with CAS, plus a `\r\n` and a
//! NUL it stores with every item). The table holds one thin pointer per item; nothing else is
//! allocated per item. `bits` holds the CLOCK reference bit, the "fetched" bit and the meta
//! protocol's win-token and stale bits.
//!
//! Safety: an [`ItemPtr`] is owned by exactly one hash-table slot; it is read and written only
//! while that table's shard lock is held, and freed exactly once by [`ItemPtr::free`].

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;

const EXPTIME: usize = 0;
const TIME: usize = 4;
const FLAGS: usize = 8;
const VLEN: usize = 12;
const KLEN: usize = 16;
const BITS: usize = 17;
const CAS: usize = 18;

/// Header length without and with the CAS field.
pub const HEADER: usize = 18;
pub const HEADER_CAS: usize = 26;

pub const BIT_REFERENCED: u8 = 1;
pub const BIT_FETCHED: u8 = 2;
/// Meta protocol: a client has been handed the right to recache this item ("W" flag).
pub const BIT_TOKEN_SENT: u8 = 4;
/// Meta protocol: invalidated by `md <key> I`; served with "X" until replaced.
pub const BIT_STALE: u8 = 8;

/// What an item holds, for building a new one.
pub struct ItemSpec<'a> {
    pub key: &'a [u8],
    pub flags: u32,
    pub exptime: u32,
    pub time: u32,
    pub cas: u64,
    /// The value, possibly in pieces (append/prepend build from two).
    pub value: &'a [&'a [u8]],
}

/// A pointer to an item allocation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ItemPtr(NonNull<u8>);

// SAFETY: items are only touched under their shard's lock (see module docs).
unsafe impl Send for ItemPtr {}

/// Bytes the allocator really uses for a request of `size` (glibc: 8 bytes of chunk header,
/// 16-byte granularity, 32-byte minimum). This is what the memory limit is charged.
pub fn charged_size(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

impl ItemPtr {
    /// Allocates and fills a new item. `header` is [`HEADER`] or [`HEADER_CAS`].
    pub fn new(spec: &ItemSpec<'_>, header: usize) -> ItemPtr {
        let vlen: usize = spec.value.iter().map(|p| p.len()).sum();
        let size = header + spec.key.len() + vlen;
        let layout = Layout::from_size_align(size, 1).expect("item size fits a layout");
        // SAFETY: size > 0 (header is non-zero); the block is filled below before any read.
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        let item = ItemPtr(ptr);
        item.write_u32(EXPTIME, spec.exptime);
        item.write_u32(TIME, spec.time);
        item.write_u32(FLAGS, spec.flags);
        item.write_u32(VLEN, vlen as u32);
        // SAFETY: offsets are within the allocation of `size` bytes.
        unsafe {
            *raw.add(KLEN) = spec.key.len() as u8;
            *raw.add(BITS) = 0;
            if header == HEADER_CAS {
                std::ptr::write_unaligned(raw.add(CAS) as *mut u64, spec.cas);
            }
            std::ptr::copy_nonoverlapping(spec.key.as_ptr(), raw.add(header), spec.key.len());
            let mut at = header + spec.key.len();
            for piece in spec.value {
                std::ptr::copy_nonoverlapping(piece.as_ptr(), raw.add(at), piece.len());
                at += piece.len();
            }
        }
        item
    }

    /// Frees the allocation. The pointer must not be used afterwards.
    pub fn free(self, header: usize) {
        let size = self.size(header);
        // SAFETY: allocated by `new` with this exact layout.
        unsafe { dealloc(self.0.as_ptr(), Layout::from_size_align_unchecked(size, 1)) }
    }

    pub fn raw(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// # Safety
    /// `raw` must come from [`ItemPtr::raw`] of a live item.
    pub unsafe fn from_raw(raw: usize) -> ItemPtr {
        ItemPtr(NonNull::new_unchecked(raw as *mut u8))
    }

    fn read_u32(self, at: usize) -> u32 {
        // SAFETY: header fields are inside every allocation.
        unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(at) as *const u32) }
    }

    fn write_u32(self, at: usize, v: u32) {
        // SAFETY: as above.
        unsafe { std::ptr::write_unaligned(self.0.as_ptr().add(at) as *mut u32, v) }
    }

    pub fn exptime(self) -> u32 {
        self.read_u32(EXPTIME)
    }
    pub fn set_exptime(self, v: u32) {
        self.write_u32(EXPTIME, v)
    }
    pub fn time(self) -> u32 {
        self.read_u32(TIME)
    }
    pub fn set_time(self, v: u32) {
        self.write_u32(TIME, v)
    }
    pub fn flags(self) -> u32 {
        self.read_u32(FLAGS)
    }
    pub fn value_len(self) -> usize {
        self.read_u32(VLEN) as usize
    }
    pub fn key_len(self) -> usize {
        // SAFETY: header field.
        unsafe { *self.0.as_ptr().add(KLEN) as usize }
    }
    pub fn bits(self) -> u8 {
        // SAFETY: header field.
        unsafe { *self.0.as_ptr().add(BITS) }
    }
    pub fn set_bits(self, bits: u8) {
        // SAFETY: header field.
        unsafe { *self.0.as_ptr().add(BITS) = bits }
    }
    pub fn cas(self, header: usize) -> u64 {
        if header == HEADER_CAS {
            // SAFETY: the CAS field exists when the store uses HEADER_CAS.
            unsafe { std::ptr::read_unaligned(self.0.as_ptr().add(CAS) as *const u64) }
        } else {
            0
        }
    }
    pub fn set_cas(self, header: usize, cas: u64) {
        if header == HEADER_CAS {
            // SAFETY: as above.
            unsafe { std::ptr::write_unaligned(self.0.as_ptr().add(CAS) as *mut u64, cas) }
        }
    }
    pub fn key<'a>(self, header: usize) -> &'a [u8] {
        // SAFETY: key bytes follow the header; lifetime bounded by the caller holding the lock.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(header), self.key_len()) }
    }
    pub fn value<'a>(self, header: usize) -> &'a [u8] {
        // SAFETY: value bytes follow the key.
        unsafe {
            std::slice::from_raw_parts(
                self.0.as_ptr().add(header + self.key_len()),
                self.value_len(),
            )
        }
    }
    /// The value bytes, writable (incr/decr rewrite in place like memcached).
    pub fn value_mut<'a>(self, header: usize) -> &'a mut [u8] {
        // SAFETY: as `value`; exclusive because the shard lock is held.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.0.as_ptr().add(header + self.key_len()),
                self.value_len(),
            )
        }
    }
    /// Allocation size in bytes.
    pub fn size(self, header: usize) -> usize {
        header + self.key_len() + self.value_len()
    }
}
