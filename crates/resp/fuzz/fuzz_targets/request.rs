//! Fuzzes the request parser the way a connection drives it: parse, consume, repeat. Checks
//! that progress is always made, that consumed bytes stay in bounds, that every argument obeys
//! the bulk-length limit, and that the same bytes split at an arbitrary point parse the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::request::{parse_request, Parsed, RequestLimits};

fn drive(data: &[u8], limits: &RequestLimits) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        match parse_request(rest, limits) {
            Ok(Parsed::Command(argv, n)) => {
                assert!(n > 0 && n <= rest.len());
                for a in argv.iter() {
                    assert!(a.len() as i64 <= limits.max_bulk_len);
                }
                out.push(argv.to_vecs());
                rest = &rest[n..];
            }
            Ok(Parsed::Incomplete) => return (out, None),
            Err(e) => return (out, Some(e.message())),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = RequestLimits { max_bulk_len: 1 << 20, authenticated: data.first() != Some(&0) };
    let (cmds, err) = drive(data, &limits);
    // Feeding a prefix first must never yield a command the whole input does not.
    if data.len() > 1 {
        let (prefix_cmds, prefix_err) = drive(&data[..data.len() / 2], &limits);
        assert!(prefix_cmds.len() <= cmds.len());
        assert_eq!(&cmds[..prefix_cmds.len()], &prefix_cmds[..]);
        if prefix_err.is_some() {
            assert!(err.is_some());
        }
    }
});
