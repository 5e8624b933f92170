//! Any bytes through the binary parser: no panic, consumption within the input, lengths
//! consistent with the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcache_proto::fuzzing::check_binary;

fuzz_target!(|data: &[u8]| check_binary(data));
