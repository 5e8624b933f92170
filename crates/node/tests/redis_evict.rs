//! Eviction under every `maxmemory-policy`, over a real socket. This test binary runs one node at
//! a time (one test function) because `used_memory` is the process's heap.

mod redis_common;

use redis_common::*;
use resp::Frame;

fn used(c: &mut Client) -> u64 {
    info_field(c, "memory", "used_memory")
        .unwrap()
        .parse()
        .unwrap()
}

fn evicted(c: &mut Client) -> u64 {
    info_field(c, "stats", "evicted_keys")
        .unwrap()
        .parse()
        .unwrap()
}

/// Fills until a write fails or `max_keys` are written; returns how many writes succeeded.
fn fill(c: &mut Client, prefix: &str, n: usize, ttl: bool) -> (usize, Option<Frame>) {
    let value = "x".repeat(1000);
    let mut ok = 0;
    for i in 0..n {
        let key = format!("{prefix}:{i}");
        let reply = if ttl {
            c.cmd(&["SET", &key, &value, "EX", &(1000 + i).to_string()])
        } else {
            c.cmd(&["SET", &key, &value])
        };
        if reply.is_error() {
            return (ok, Some(reply));
        }
        ok += 1;
    }
    (ok, None)
}

#[test]
fn eviction_under_each_policy() {
    for policy in [
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let node = start_ours(&[]);
        let mut c = Client::connect(node.addr());
        let base = used(&mut c);
        let limit = base + 4 * 1024 * 1024;
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]),
            simple("OK"),
            "{policy}"
        );
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]),
            simple("OK")
        );
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
        let volatile = policy.starts_with("volatile");
        // Keys without a TTL that volatile policies must never touch.
        let (kept, _) = fill(&mut c, "keep", if volatile { 300 } else { 0 }, false);
        let (written, err) = fill(&mut c, "k", 20_000, true);
        match policy {
            "noeviction" => {
                assert_eq!(
                    err,
                    Some(Frame::Error(
                        b"OOM command not allowed when used memory > 'maxmemory'.".to_vec()
                    ))
                );
                assert!(written > 1000, "wrote {written} before OOM");
                assert_eq!(evicted(&mut c), 0);
                // Reads and deletes still work at the limit.
                assert_eq!(c.cmd(&["EXISTS", "k:0"]), int(1));
                assert_eq!(c.cmd(&["DEL", "k:0"]), int(1));
            }
            _ => {
                assert_eq!(err, None, "{policy}: writes keep succeeding by evicting");
                let ev = evicted(&mut c);
                assert!(ev > 1000, "{policy}: evicted {ev}");
                let now = used(&mut c);
                assert!(
                    now <= limit + 64 * 1024,
                    "{policy}: used {now} > limit {limit}"
                );
                let dbsize = match c.cmd(&["DBSIZE"]) {
                    Frame::Int(n) => n as usize,
                    f => panic!("{f}"),
                };
                assert_eq!(
                    dbsize + ev as usize,
                    kept + written,
                    "{policy}: every key is present or evicted"
                );
                if volatile {
                    for i in 0..kept {
                        assert_eq!(
                            c.cmd(&["EXISTS", &format!("keep:{i}")]),
                            int(1),
                            "{policy} evicted a key without TTL"
                        );
                    }
                }
                if policy == "volatile-ttl" {
                    // The longest-lived keys (written last) survive.
                    assert_eq!(c.cmd(&["EXISTS", "k:19999"]), int(1));
                }
            }
        }
        drop(c);
        node.shutdown();
    }
    lowering_maxmemory_evicts_at_once();
}

/// CONFIG SET maxmemory below the memory in use evicts right away (redis's updateMaxmemory),
/// with its `evicted` notification, not at the next write. Run after the policies above: one
/// node at a time in this binary.
fn lowering_maxmemory_evicts_at_once() {
    let node = start_ours(&[]);
    let mut c = Client::connect(node.addr());
    let mut sub = Client::connect(node.addr());
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    sub.cmd(&["PSUBSCRIBE", "*"]);
    c.cmd(&["SET", "foo", "bar"]);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), simple("OK"));
    let Frame::Array(msg) = sub.read() else {
        panic!("a notification")
    };
    assert_eq!(msg[2], Frame::Bulk(b"__keyevent@0__:evicted".to_vec()));
    assert_eq!(msg[3], Frame::Bulk(b"foo".to_vec()));
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), simple("OK"));
    assert_eq!(c.cmd(&["EXISTS", "foo"]), int(0));
    node.shutdown();
}
