//! Any bytes as a DUMP payload body: the checksum is recomputed so the value decoder itself is
//! exercised, not just the CRC check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut payload = data.to_vec();
    payload.extend(10u16.to_le_bytes());
    let crc = rdb::crc64(&payload);
    payload.extend(crc.to_le_bytes());
    if let Ok(value) = rdb::dump::decode(&payload) {
        // Whatever decodes must encode again.
        let again = rdb::dump::encode(&value).expect("decoded value re-encodes");
        rdb::dump::decode(&again).expect("re-encoded value decodes");
    }
});
