//! Interoperability with a real redis-server 7.0, both ways: its dump.rdb and DUMP payloads
//! through our reader, our files and payloads through its loader, RESTORE and redis-check-rdb.

mod support;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use support::dataset::{self, content_of, read_file, read_server, sample, write_file, Content};
use support::{RedisServer, Reply};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Far enough ahead that no key expires during the test.
fn expire_base() -> i64 {
    now_ms() + 3_600_000
}

fn expected(entries: &[rdb::Entry]) -> Content {
    content_of(entries.iter().cloned())
}

fn check_rdb(path: &std::path::Path) -> String {
    let out = Command::new("/usr/bin/redis-check-rdb")
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb failed:\n{text}"
    );
    text
}

/// Settings that give each type both its compact and its big encoding in one data set, plus
/// LZF-compressed quicklist nodes and PLAIN (single big element) nodes.
/// Thresholds are given explicitly: Debian's build does not use upstream's defaults for all.
const SMALL_AND_BIG: &[&str] = &[
    "--list-compress-depth",
    "1",
    "--enable-debug-command",
    "yes",
    "--hash-max-listpack-entries",
    "128",
    "--zset-max-listpack-entries",
    "128",
    "--set-max-intset-entries",
    "512",
];

#[test]
fn redis_dump_rdb_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), SMALL_AND_BIG);
    let mut c = server.client();
    // Elements of 10 KB and more go into PLAIN quicklist nodes.
    assert_eq!(
        c.cmds(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10000"])
            .status(),
        "OK"
    );
    let data = sample(expire_base());
    dataset::load_into(&mut c, &data);
    let from_server = read_server(&mut c, 16);
    dataset::assert_same(
        &dataset::without_seen_times(&from_server),
        &dataset::without_seen_times(&expected(&data)),
        "server content differs from what we loaded",
    );
    // Make sure the encodings we mean to cover are really there.
    for (db, key, enc) in [
        (0, "list:small", "quicklist"),
        (1, "set:ints", "intset"),
        (1, "set:bigints", "hashtable"),
        (2, "zset:small", "listpack"),
        (2, "zset:big", "skiplist"),
        (15, "hash:small", "listpack"),
        (15, "hash:big", "hashtable"),
        (0, "str:lzf", "raw"),
        (0, "str:int:3", "int"),
    ] {
        c.cmds(&["SELECT", &db.to_string()]);
        assert_eq!(
            c.cmds(&["OBJECT", "ENCODING", key]).bulk(),
            enc.as_bytes(),
            "{key}"
        );
    }
    assert_eq!(c.cmds(&["SAVE"]).status(), "OK");
    let (ours, reader) = read_file(&dir.path().join("dump.rdb"));
    assert_eq!(reader.version(), 10);
    assert!(reader
        .aux()
        .iter()
        .any(|(k, v)| k == b"redis-ver" && v.starts_with(b"7.0")));
    assert_eq!(ours, from_server);
}

#[test]
fn our_rdb_loads_into_redis_and_passes_check_rdb() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(expire_base());
    let path = dir.path().join("ours.rdb");
    write_file(&path, &data);
    check_rdb(&path);
    // Our reader agrees with our writer.
    assert_eq!(read_file(&path).0, expected(&data));
    let server = RedisServer::start(
        dir.path(),
        &["--dbfilename", "ours.rdb", "--sanitize-dump-payload", "yes"],
    );
    let mut c = server.client();
    assert_eq!(read_server(&mut c, 16), expected(&data));
    // Redis kept the compact encodings where 7.0 would have used them.
    c.cmds(&["SELECT", "2"]);
    assert_eq!(
        c.cmds(&["OBJECT", "ENCODING", "zset:small"]).bulk(),
        b"listpack"
    );
    // And the listpack sorted set is in the order Redis relies on.
    let first = c.cmds(&["ZRANGE", "zset:small", "0", "0"]).bulks();
    assert_eq!(first, vec![b"d".to_vec()]);
    assert_eq!(c.cmds(&["ZRANK", "zset:small", "c"]).int(), 6);
}

#[test]
fn dump_payloads_cross_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), SMALL_AND_BIG);
    let mut c = server.client();
    assert_eq!(
        c.cmds(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10000"])
            .status(),
        "OK"
    );
    let data = sample(expire_base());
    dataset::load_into(&mut c, &data);
    for e in &data {
        c.cmds(&["SELECT", &e.db.to_string()]);
        let k = e.key.as_slice();
        // Redis -> us.
        let payload = c.cmd(&[b"DUMP", k]).bulk();
        let decoded = rdb::dump::decode(&payload).unwrap();
        dataset::assert_same_value(
            &dataset::value_without_seen_times(&decoded),
            &dataset::value_without_seen_times(&e.value),
            &format!("DUMP of {:?}", String::from_utf8_lossy(&e.key)),
        );
        // Us -> Redis, into a new key, with payload sanitization on.
        let ours = rdb::dump::encode(&e.value).unwrap();
        let copy = [b"copy:", k].concat();
        let r = c.cmd(&[b"RESTORE", &copy, b"0", &ours]);
        assert_eq!(r, Reply::Status("OK".into()), "{:?}", e.key);
        let again = rdb::dump::decode(&c.cmd(&[b"DUMP", &copy]).bulk()).unwrap();
        assert_eq!(dataset::normalize(&again), dataset::normalize(&e.value));
    }
    // Redis refuses a payload whose checksum we broke, as we do.
    let mut bad = rdb::dump::encode(&rdb::Value::String(b"x".to_vec())).unwrap();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    assert!(
        matches!(c.cmd(&[b"RESTORE", b"bad", b"0", &bad]), Reply::Error(e) if e.contains("checksum"))
    );
    assert!(rdb::dump::decode(&bad).is_err());
}

#[test]
fn million_key_dump_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), &["--enable-debug-command", "yes"]);
    let mut c = server.client();
    assert_eq!(
        c.cmds(&["DEBUG", "POPULATE", "1000000", "key", "16"])
            .status(),
        "OK"
    );
    assert_eq!(c.cmds(&["SAVE"]).status(), "OK");
    let mut reader =
        rdb::Reader::new(std::fs::File::open(dir.path().join("dump.rdb")).unwrap()).unwrap();
    let mut count = 0u64;
    let mut sampled = 0;
    while let Some(e) = reader.next_entry().unwrap() {
        count += 1;
        if count.is_multiple_of(100_000) {
            let want = c.cmd(&[b"GET", &e.key]).bulk();
            assert_eq!(rdb::Value::String(want), e.value);
            sampled += 1;
        }
    }
    assert_eq!(count, 1_000_000);
    assert_eq!(sampled, 10);
}

/// A stream we encode lands in the same nodes as the one XADD built: RESTORE of our payload
/// and the original have the same XINFO (radix tree keys and nodes included) and Redis dumps
/// both to the same bytes.
#[test]
fn stream_nodes_match_what_xadd_builds() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), &[]);
    let mut c = server.client();
    for i in 0..700 {
        let value = match i % 97 {
            0 => "v".repeat(5000),
            n => "w".repeat(n * 3),
        };
        let (id, field) = (format!("{}-{}", 1000 + i / 3, i % 3), format!("f{}", i % 4));
        let mut args = vec!["XADD", "orig", &id, "sensor", &value];
        if i % 10 == 0 {
            args.extend([field.as_str(), "1"]);
        }
        assert!(matches!(c.cmds(&args), Reply::Bulk(Some(_))));
    }
    let payload = c.cmds(&["DUMP", "orig"]).bulk();
    let ours = rdb::dump::encode(&rdb::dump::decode(&payload).unwrap()).unwrap();
    assert_eq!(c.cmd(&[b"RESTORE", b"copy", b"0", &ours]).status(), "OK");
    let info = |c: &mut support::Client, k: &str| c.cmds(&["XINFO", "STREAM", k, "FULL"]);
    let orig = info(&mut c, "orig");
    assert_eq!(orig, info(&mut c, "copy"));
    let keys = orig.array()[3].int();
    assert!(keys > 7, "{keys} nodes");
    assert_eq!(c.cmds(&["DUMP", "copy"]).bulk(), payload);
}
