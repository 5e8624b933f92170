//! HyperLogLog against a real redis-server 7.0: the same PFADDs must give the same bytes (GET),
//! the same counts and cache bytes, the same merges; values cross both ways and keep working.

#[path = "../../rdb/tests/support/mod.rs"]
mod support;

use engine_redis::hll::{self, HllError, DEFAULT_SPARSE_MAX_BYTES};
use support::{Client, RedisServer, Reply};

fn elements(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}:{i}").into_bytes())
        .collect()
}

fn redis_pfadd(c: &mut Client, key: &[u8], elems: &[Vec<u8>]) {
    if elems.is_empty() {
        c.cmd(&[b"PFADD", key]);
    }
    for chunk in elems.chunks(500) {
        let mut args: Vec<&[u8]> = vec![b"PFADD", key];
        args.extend(chunk.iter().map(Vec::as_slice));
        assert!(matches!(c.cmd(&args), Reply::Int(_)));
    }
}

fn ours(elems: &[Vec<u8>], sparse_max: usize) -> Vec<u8> {
    let refs: Vec<&[u8]> = elems.iter().map(Vec::as_slice).collect();
    hll::pfadd_new(&refs, sparse_max)
}

#[test]
fn same_elements_same_bytes_and_counts() {
    let dir = support::TempDir::new();
    let server = RedisServer::start(dir.path(), &[]);
    let mut c = server.client();
    for (round, n) in [
        0usize, 1, 2, 10, 100, 300, 1000, 2000, 5000, 20_000, 100_000,
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("hll{round}");
        let elems = elements(&key, n);
        redis_pfadd(&mut c, key.as_bytes(), &elems);
        let theirs = c.cmd(&[b"GET", key.as_bytes()]).bulk();
        let mut mine = ours(&elems, DEFAULT_SPARSE_MAX_BYTES);
        assert_eq!(
            mine,
            theirs,
            "{n} elements: bytes differ (sparse: {})",
            hll::is_sparse(&theirs)
        );
        let count = c.cmd(&[b"PFCOUNT", key.as_bytes()]).int() as u64;
        assert_eq!(
            hll::pfcount_cached(&mut mine).unwrap().0,
            count,
            "{n} elements"
        );
        // The cache bytes Redis wrote are ours too.
        assert_eq!(mine, c.cmd(&[b"GET", key.as_bytes()]).bulk());
    }
}

#[test]
fn sparse_limit_parameter_and_union_counts() {
    let dir = support::TempDir::new();
    let server = RedisServer::start(dir.path(), &["--hll-sparse-max-bytes", "400"]);
    let mut c = server.client();
    let a = elements("a", 150);
    let b = elements("b", 3000);
    redis_pfadd(&mut c, b"a", &a);
    redis_pfadd(&mut c, b"b", &b);
    let (mine_a, mine_b) = (ours(&a, 400), ours(&b, 400));
    assert_eq!(mine_a, c.cmd(&[b"GET", b"a"]).bulk());
    assert_eq!(mine_b, c.cmd(&[b"GET", b"b"]).bulk());
    assert!(!hll::is_sparse(&mine_b));
    let union = c.cmd(&[b"PFCOUNT", b"a", b"b", b"missing"]).int() as u64;
    assert_eq!(hll::pfcount(&[&mine_a, &mine_b]).unwrap(), union);
    // PFMERGE into a new key and into an existing one.
    assert_eq!(c.cmd(&[b"PFMERGE", b"m1", b"a"]).status(), "OK");
    assert_eq!(c.cmd(&[b"PFMERGE", b"a", b"b"]).status(), "OK");
    let m1 = hll::pfmerge(None, &[&mine_a], 400).unwrap();
    assert_eq!(m1, c.cmd(&[b"GET", b"m1"]).bulk());
    let merged = hll::pfmerge(Some(&mine_a), &[&mine_b], 400).unwrap();
    assert_eq!(merged, c.cmd(&[b"GET", b"a"]).bulk());
    // A sparse-only merge stays sparse and byte-identical.
    redis_pfadd(&mut c, b"s1", &elements("s1", 40));
    redis_pfadd(&mut c, b"s2", &elements("s2", 40));
    assert_eq!(c.cmd(&[b"PFMERGE", b"s3", b"s1", b"s2"]).status(), "OK");
    let s = hll::pfmerge(
        None,
        &[
            &ours(&elements("s1", 40), 400),
            &ours(&elements("s2", 40), 400),
        ],
        400,
    )
    .unwrap();
    assert!(hll::is_sparse(&s));
    assert_eq!(s, c.cmd(&[b"GET", b"s3"]).bulk());
}

#[test]
fn values_cross_both_ways() {
    let dir = support::TempDir::new();
    let server = RedisServer::start(dir.path(), &[]);
    let mut c = server.client();
    // Redis -> us: keep adding here.
    redis_pfadd(&mut c, b"r", &elements("r", 700));
    let mut v = c.cmd(&[b"GET", b"r"]).bulk();
    let more = elements("more", 700);
    let refs: Vec<&[u8]> = more.iter().map(Vec::as_slice).collect();
    hll::pfadd(&mut v, &refs, DEFAULT_SPARSE_MAX_BYTES).unwrap();
    redis_pfadd(&mut c, b"r", &more);
    assert_eq!(v, c.cmd(&[b"GET", b"r"]).bulk());
    // Us -> Redis: SET our bytes, Redis counts and extends them like its own.
    let mine = ours(&elements("x", 4000), DEFAULT_SPARSE_MAX_BYTES);
    assert_eq!(c.cmd(&[b"SET", b"x", &mine]).status(), "OK");
    let mut counted = mine.clone();
    assert_eq!(
        c.cmd(&[b"PFCOUNT", b"x"]).int() as u64,
        hll::pfcount_cached(&mut counted).unwrap().0
    );
    assert_eq!(c.cmd(&[b"PFADD", b"x", b"new"]).int(), 1);
    let mut extended = counted.clone();
    assert!(hll::pfadd(&mut extended, &[b"new"], DEFAULT_SPARSE_MAX_BYTES).unwrap());
    assert_eq!(extended, c.cmd(&[b"GET", b"x"]).bulk());
}

#[test]
fn invalid_values_get_redis_errors() {
    let dir = support::TempDir::new();
    let server = RedisServer::start(dir.path(), &[]);
    let mut c = server.client();
    c.cmd(&[b"SET", b"plain", b"not a hyperloglog at all"]);
    let Reply::Error(e) = c.cmd(&[b"PFADD", b"plain", b"x"]) else {
        panic!()
    };
    let mut plain = b"not a hyperloglog at all".to_vec();
    assert_eq!(
        hll::pfadd(&mut plain, &[b"x"], 3000)
            .unwrap_err()
            .to_string(),
        e
    );
    // A sparse value whose runs stop short of 16384 registers, with a stale cache.
    let mut broken = hll::new_empty();
    broken.truncate(16);
    broken.extend([0x7f, 0x00]); // XZERO of 16129 only
    broken[15] |= 0x80;
    c.cmd(&[b"SET", b"broken", &broken]);
    let Reply::Error(e) = c.cmd(&[b"PFCOUNT", b"broken"]) else {
        panic!()
    };
    assert_eq!(
        hll::pfcount_cached(&mut broken.clone()).unwrap_err(),
        HllError::Corrupted
    );
    assert_eq!(HllError::Corrupted.to_string(), e);
    let Reply::Error(e) = c.cmd(&[b"PFCOUNT", b"broken", b"plain"]) else {
        panic!()
    };
    assert_eq!(
        hll::pfcount(&[&broken, b"plain"]).unwrap_err().to_string(),
        e
    );
}
