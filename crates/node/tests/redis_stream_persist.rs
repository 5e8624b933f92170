//! Streams through RDB files and DUMP/RESTORE, both ways with redis-server 7.0: streams built by
//! real command sequences (several listpack nodes, deleted entries, an emptied stream, consumer
//! groups with pending entries, claimed and acknowledged ones, a pending entry whose message
//! was deleted, a consumer without pending entries) must read the same on both servers.
//!
//! Compared: XRANGE, XREVRANGE, XLEN, XINFO STREAM FULL, XINFO GROUPS, XPENDING (summary and
//! extended), XINFO CONSUMERS. Idle times (now minus a stored time) are masked, as the two
//! servers answer milliseconds apart; so are XINFO's `radix-tree-keys` and `radix-tree-nodes`,
//! which describe Redis's in-memory layout (a file Redis wrote keeps its tombstones inside the
//! nodes; we keep no nodes) rather than the stream's content.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::process::Command;

/// The command sequences that build the streams (the same on either server).
fn build_streams(c: &mut Client) {
    let ok = |f: Frame| assert!(!matches!(f, Frame::Error(_)), "{f:?}");
    for i in 0..450 {
        let id = format!("{}-{}", 1000 + i / 2, i % 2);
        let n = i.to_string();
        let big = "b".repeat(900);
        let args: Vec<&str> = match i {
            _ if i % 13 == 0 => vec!["XADD", "s1", &id, "other", &n, "extra", "x"],
            _ if i % 9 == 0 => vec!["XADD", "s1", &id, "n", &n, "payload", &big],
            _ => vec!["XADD", "s1", &id, "n", &n, "payload", "small"],
        };
        ok(c.cmd(&args));
    }
    for i in (3..450).step_by(17) {
        ok(c.cmd(&["XDEL", "s1", &format!("{}-{}", 1000 + i / 2, i % 2)]));
    }
    ok(c.cmd(&["XTRIM", "s1", "MINID", "1005-0"]));
    ok(c.cmd(&["XGROUP", "CREATE", "s1", "g1", "0"]));
    ok(c.cmd(&["XGROUP", "CREATE", "s1", "g2", "$"]));
    ok(c.cmd(&["XGROUP", "CREATE", "s1", "g3", "1100-0"]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "30",
        "STREAMS",
        "s1",
        ">",
    ]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "20",
        "STREAMS",
        "s1",
        ">",
    ]));
    ok(c.cmd(&["XACK", "s1", "g1", "1006-0", "1007-1", "1009-0"]));
    ok(c.cmd(&["XCLAIM", "s1", "g1", "carol", "0", "1030-0", "1031-1"]));
    ok(c.cmd(&["XDEL", "s1", "1010-0"])); // pending for alice, now deleted
    ok(c.cmd(&["XGROUP", "CREATECONSUMER", "s1", "g1", "dave"]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g3",
        "erin",
        "COUNT",
        "5",
        "STREAMS",
        "s1",
        ">",
    ]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g3",
        "erin",
        "NOACK",
        "COUNT",
        "3",
        "STREAMS",
        "s1",
        ">",
    ]));
    // An emptied stream that keeps its group.
    ok(c.cmd(&["XADD", "s2", "1-1", "a", "b"]));
    ok(c.cmd(&["XADD", "s2", "2-1", "a", "c"]));
    ok(c.cmd(&["XGROUP", "CREATE", "s2", "g", "0"]));
    ok(c.cmd(&["XREADGROUP", "GROUP", "g", "z", "STREAMS", "s2", ">"]));
    ok(c.cmd(&["XDEL", "s2", "1-1", "2-1"]));
    // A small stream with a TTL, in another database.
    ok(c.cmd(&["SELECT", "2"]));
    ok(c.cmd(&["XADD", "s3", "5-5", "f", "v", "g", "12"]));
    ok(c.cmd(&["PEXPIRE", "s3", "1000000"]));
    ok(c.cmd(&["SELECT", "0"]));
}

/// Replaces the value after each of `names` in a flat name/value reply, at any depth.
fn mask(f: Frame, names: &[&str]) -> Frame {
    match f {
        Frame::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut masked = false;
            for item in items {
                if masked {
                    out.push(Frame::Null);
                    masked = false;
                    continue;
                }
                masked = matches!(&item, Frame::Bulk(b) if names.iter().any(|n| n.as_bytes() == b));
                out.push(mask(item, names));
            }
            Frame::Array(out)
        }
        other => other,
    }
}

/// XPENDING's extended form with the idle time (third element of each entry) masked.
fn pending_without_idle(f: Frame) -> Frame {
    match f {
        Frame::Array(items) => Frame::Array(
            items
                .into_iter()
                .map(|e| match e {
                    Frame::Array(mut e) if e.len() == 4 => {
                        e[2] = Frame::Null;
                        Frame::Array(e)
                    }
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

/// What the tests compare of one server.
fn observe(c: &mut Client) -> Vec<(String, Frame)> {
    let layout = ["radix-tree-keys", "radix-tree-nodes"];
    let mut out = Vec::new();
    let mut q = |c: &mut Client, args: &[&str], f: &dyn Fn(Frame) -> Frame| {
        out.push((args.join(" "), f(c.cmd(args))));
    };
    let same = |f: Frame| f;
    for key in ["s1", "s2"] {
        q(c, &["XLEN", key], &same);
        q(c, &["XRANGE", key, "-", "+"], &same);
        q(c, &["XREVRANGE", key, "+", "-", "COUNT", "7"], &same);
        q(c, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"], &|f| {
            mask(f, &layout)
        });
        q(c, &["XINFO", "STREAM", key], &|f| mask(f, &layout));
        q(c, &["XINFO", "GROUPS", key], &same);
    }
    for g in ["g1", "g2", "g3"] {
        q(c, &["XPENDING", "s1", g], &same);
        q(
            c,
            &["XPENDING", "s1", g, "-", "+", "100"],
            &pending_without_idle,
        );
        q(c, &["XINFO", "CONSUMERS", "s1", g], &|f| mask(f, &["idle"]));
    }
    q(c, &["SELECT", "2"], &same);
    q(c, &["XINFO", "STREAM", "s3", "FULL"], &|f| mask(f, &layout));
    q(c, &["TTL", "s3"], &|f| match f {
        Frame::Int(t) => Frame::Int((t > 990) as i64),
        other => other,
    });
    q(c, &["SELECT", "0"], &same);
    out
}

fn assert_same_view(a: &[(String, Frame)], b: &[(String, Frame)]) {
    assert_eq!(a.len(), b.len());
    for ((cmd, x), (_, y)) in a.iter().zip(b) {
        assert_eq!(x, y, "{cmd}");
    }
}

fn check_rdb(path: &std::path::Path) {
    let out = Command::new("redis-check-rdb").arg(path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb: {text}"
    );
}

#[test]
fn redis_dump_rdb_with_streams_loads_into_our_node() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let real = start_real(&["--dir", d]);
    let mut rc = Client::connect(real.addr);
    build_streams(&mut rc);
    assert_eq!(rc.cmd(&["SAVE"]), simple("OK"));
    let want = observe(&mut rc);
    let ours = start_ours(&["--dir", d]);
    let mut oc = Client::connect(ours.addr());
    assert_same_view(&want, &observe(&mut oc));
}

#[test]
fn our_streams_load_into_redis_by_file_and_by_restore() {
    let dir = scratch_dir();
    let d = dir.to_str().unwrap();
    let ours = start_ours(&["--dir", d]);
    let mut oc = Client::connect(ours.addr());
    build_streams(&mut oc);
    assert_eq!(oc.cmd(&["SAVE"]), simple("OK"));
    check_rdb(&dir.join("dump.rdb"));
    let want = observe(&mut oc);

    // The file, loaded at start.
    let real = start_real(&["--dir", d, "--sanitize-dump-payload", "yes"]);
    let mut rc = Client::connect(real.addr);
    assert_same_view(&want, &observe(&mut rc));

    // DUMP from us, RESTORE into an empty redis-server, key by key.
    let empty = start_real(&["--sanitize-dump-payload", "yes"]);
    let mut ec = Client::connect(empty.addr);
    for (db, key) in [("0", "s1"), ("0", "s2"), ("2", "s3")] {
        oc.cmd(&["SELECT", db]);
        ec.cmd(&["SELECT", db]);
        let Frame::Bulk(payload) = oc.cmd(&["DUMP", key]) else {
            panic!("DUMP {key}")
        };
        let pttl = match oc.cmd(&["PTTL", key]) {
            Frame::Int(t) if t > 0 => t.to_string(),
            _ => "0".to_string(),
        };
        let restored = ec.cmd(&[b"RESTORE", key.as_bytes(), pttl.as_bytes(), &payload]);
        assert_eq!(restored, simple("OK"), "{key}");
    }
    oc.cmd(&["SELECT", "0"]);
    ec.cmd(&["SELECT", "0"]);
    assert_same_view(&want, &observe(&mut ec));

    // And back: redis-server's DUMP of what it restored comes back into our node identically.
    let again = start_ours(&[]);
    let mut ac = Client::connect(again.addr());
    for (db, key) in [("0", "s1"), ("0", "s2"), ("2", "s3")] {
        ec.cmd(&["SELECT", db]);
        ac.cmd(&["SELECT", db]);
        let Frame::Bulk(payload) = ec.cmd(&["DUMP", key]) else {
            panic!("DUMP {key}")
        };
        let restored = ac.cmd(&[b"RESTORE", key.as_bytes(), b"1000000", &payload]);
        assert_eq!(restored, simple("OK"), "{key}");
    }
    ac.cmd(&["SELECT", "0"]);
    let mut back = observe(&mut ac);
    let mut want_back = want.clone();
    // s1 and s2 got a TTL in this round; only s3's is observed.
    back.retain(|(cmd, _)| cmd != "TTL s3");
    want_back.retain(|(cmd, _)| cmd != "TTL s3");
    assert_same_view(&want_back, &back);
}
