//! pymemcache's own integration tests (from its PyPI sdist) against our node and against Debian's
//! memcached on the same machine: every test must end the same way on both, and none may fail
//! on ours. scripts/test.sh installs pytest and pymemcache's requirements; the sdist is fetched
//! once into target/pymemcache-sdist.

mod memcached_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = "4.0.0";

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The unpacked sdist, downloading it if needed.
fn sdist() -> PathBuf {
    let dir = workspace_target().join("pymemcache-sdist");
    let unpacked = dir.join(format!("pymemcache-{VERSION}"));
    if unpacked
        .join("pymemcache/test/test_integration.py")
        .is_file()
    {
        return unpacked;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join(format!("pymemcache-{VERSION}.tar.gz"));
    if !tarball.is_file() {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-binary",
                ":all:",
                "--no-deps",
            ])
            .arg(format!("pymemcache=={VERSION}"))
            .arg("-d")
            .arg(&dir)
            .status()
            .expect("python3 is needed to fetch the pymemcache sdist");
        assert!(
            status.success(),
            "pip download of the pymemcache {VERSION} sdist failed"
        );
    }
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .status()
        .expect("tar");
    assert!(status.success(), "unpacking {}", tarball.display());
    unpacked
}

/// Runs the integration tests against a server: test id → outcome.
fn run_pytest(sdist: &Path, port: u16) -> BTreeMap<String, String> {
    let out = Command::new("python3")
        .current_dir(sdist)
        .args([
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
        ])
        .args([
            "-m",
            "integration",
            "--server",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg("pymemcache/test/test_integration.py")
        .output()
        .expect("run pytest");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !text.contains("No module named pytest")
            && !String::from_utf8_lossy(&out.stderr).contains("No module named pytest"),
        "pytest is not installed (scripts/test.sh installs scripts/test-requirements.txt)"
    );
    let mut outcomes = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(2, ' ');
        let (Some(outcome), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        if matches!(
            outcome,
            "PASSED" | "FAILED" | "SKIPPED" | "ERROR" | "XFAIL" | "XPASS"
        ) {
            let id = rest.split(" - ").next().unwrap_or(rest).to_string();
            outcomes.insert(id, outcome.to_string());
        }
    }
    assert!(
        !outcomes.is_empty(),
        "no test outcomes parsed from pytest output:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    outcomes
}

#[test]
fn pymemcache_integration_suite_matches_memcached() {
    let sdist = sdist();
    let theirs = memcached_common::start_memcached(&[]);
    let ours = memcached_common::start_node(&[]);
    let reference = run_pytest(&sdist, theirs.addr.port());
    let got = run_pytest(&sdist, ours.addr().port());
    let passed = got.values().filter(|o| *o == "PASSED").count();
    assert!(
        passed >= 90,
        "only {passed} pymemcache tests passed: {got:?}"
    );
    let failed: Vec<_> = got
        .iter()
        .filter(|(_, o)| matches!(o.as_str(), "FAILED" | "ERROR"))
        .collect();
    assert!(failed.is_empty(), "failed against ferrocache: {failed:?}");
    assert_eq!(got, reference, "outcomes differ from memcached's");
}
