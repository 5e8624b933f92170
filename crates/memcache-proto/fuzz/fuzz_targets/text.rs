//! Any bytes through the text parser: no panic, consumption within the input, and every parsed
//! key within memcached's limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcache_proto::fuzzing::check_text;

fuzz_target!(|data: &[u8]| check_text(data));
