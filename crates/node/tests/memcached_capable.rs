//! memccapable (libmemcached-tools) runs all its ASCII and binary tests against our node.

mod memcached_common;

use std::process::Command;

fn run_memccapable(flag: &str) {
    let bin = memcached_common::which("memccapable")
        .expect("memccapable is not installed (scripts/test.sh installs libmemcached-tools)");
    let node = memcached_common::start_node(&[]);
    let out = Command::new(bin)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &node.addr().port().to_string(),
            flag,
            "-t",
            "10",
        ])
        .output()
        .expect("run memccapable");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "memccapable {flag} failed:\n{text}");
    assert!(text.contains("All tests passed"), "{text}");
    assert!(!text.contains("[FAIL]"), "{text}");
}

#[test]
fn memccapable_ascii() {
    run_memccapable("-a");
}

#[test]
fn memccapable_binary() {
    run_memccapable("-b");
}
