//! memcached's slab classes, as a reporting view.
//!
//! Items here are single allocations of their exact size, so memory freed by any item serves
//! any other (no slab calcification). `stats slabs` and `stats items` still group items into
//! the classes memcached would compute from `chunk_size` and `chunk_size_growth_factor`, so
//! that tools reading them see the familiar shape; the page figures are derived from those
//! counts.

/// memcached's `sizeof(item)` on 64-bit, to which it adds `chunk_size` for the first class.
pub const MEMCACHED_ITEM_HEADER: usize = 48;
const CHUNK_ALIGN: usize = 8;
const MAX_CLASSES: usize = 63;
/// memcached's slab page size (equal to its default item size max).
pub const SLAB_PAGE_SIZE: usize = 1024 * 1024;

/// The chunk size of each class, class 1 first (memcached's `slabs_init`).
pub fn class_sizes(chunk_size: u32, factor: f64) -> Vec<usize> {
    let chunk_max = SLAB_PAGE_SIZE / 2;
    let mut sizes = Vec::new();
    let mut size = MEMCACHED_ITEM_HEADER + chunk_size as usize;
    while sizes.len() + 1 < MAX_CLASSES - 1 {
        if size as f64 >= chunk_max as f64 / factor {
            break;
        }
        if !size.is_multiple_of(CHUNK_ALIGN) {
            size += CHUNK_ALIGN - size % CHUNK_ALIGN;
        }
        sizes.push(size);
        size = (size as f64 * factor) as usize;
    }
    sizes.push(chunk_max);
    sizes
}

/// What memcached would count as an item's total size (`ITEM_ntotal`): header, key + NUL,
/// value + CRLF, and the CAS field.
pub fn memcached_item_total(key_len: usize, value_len: usize, cas: bool) -> usize {
    MEMCACHED_ITEM_HEADER + key_len + 1 + value_len + 2 + if cas { 8 } else { 0 }
}

/// The class (1-based) an item of `total` bytes falls in; the largest class holds everything
/// above (memcached chains chunks of that class for big items).
pub fn class_of(sizes: &[usize], total: usize) -> usize {
    sizes.partition_point(|&s| s < total).min(sizes.len() - 1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_classes_match_memcached() {
        let sizes = class_sizes(48, 1.25);
        assert_eq!(&sizes[..6], &[96, 120, 152, 192, 240, 304]);
        assert_eq!(sizes.len(), 39);
        assert_eq!(sizes[37], 394840);
        assert_eq!(*sizes.last().unwrap(), 524288);
        assert_eq!(class_of(&sizes, 96), 1);
        assert_eq!(class_of(&sizes, 97), 2);
        assert_eq!(class_of(&sizes, 2_000_000), 39);
    }

    #[test]
    fn growth_factor_changes_classes() {
        let sizes = class_sizes(48, 2.0);
        assert_eq!(&sizes[..4], &[96, 192, 384, 768]);
    }
}
