//! Any bytes through the streaming RDB reader: errors are fine, panics, hangs and huge
//! allocations are not. Seed the corpus with `../tests/fixtures/*.rdb`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = rdb::Reader::new(data) {
        for entry in reader.take(100_000) {
            if entry.is_err() {
                break;
            }
        }
    }
});
