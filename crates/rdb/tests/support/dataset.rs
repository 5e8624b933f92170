//! A data set with every type in small and big encodings, and the means to load it into a
//! redis-server, read a server's whole content back, and compare content regardless of order.
#![allow(dead_code)]

use std::collections::BTreeMap;

use super::{Client, Reply};
use rdb::stream::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};
use rdb::{Entry, Value};

/// Content in comparable form: (db, key) -> (value with collections sorted, expiry ms).
pub type Content = BTreeMap<(u32, Vec<u8>), (Value, Option<i64>)>;

/// Sorts collection members so two equal values compare equal.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Set(m) => {
            let mut m = m.clone();
            m.sort();
            Value::Set(m)
        }
        Value::SortedSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.0.cmp(&b.0));
            Value::SortedSet(p)
        }
        Value::Hash(p) => {
            let mut p = p.clone();
            p.sort();
            Value::Hash(p)
        }
        Value::Stream(st) => {
            let mut st = st.clone();
            st.groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &mut st.groups {
                g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                g.pending.sort_by_key(|p| p.id);
            }
            Value::Stream(st)
        }
        other => other.clone(),
    }
}

/// `content` with every stream consumer's seen and active time zeroed: commands cannot set
/// them (any command a consumer runs stamps the current time), so content built with commands
/// is compared with its model this way. Values that travel in files or payloads keep them.
pub fn without_seen_times(content: &Content) -> Content {
    content
        .iter()
        .map(|(k, (v, ttl))| (k.clone(), (value_without_seen_times(v), *ttl)))
        .collect()
}

/// One value as [`without_seen_times`] compares it (normalized too).
pub fn value_without_seen_times(v: &Value) -> Value {
    let mut v = normalize(v);
    if let Value::Stream(s) = &mut v {
        for c in s.groups.iter_mut().flat_map(|g| g.consumers.iter_mut()) {
            c.seen_time_ms = 0;
            c.active_time_ms = 0;
        }
    }
    v
}

pub fn content_of(entries: impl IntoIterator<Item = Entry>) -> Content {
    entries
        .into_iter()
        .map(|e| ((e.db, e.key), (normalize(&e.value), e.expire_ms)))
        .collect()
}

/// A small deterministic generator (no external randomness needed).
pub struct Lcg(u64);
impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Every type, in the encodings Redis 7.0 picks for small and big values, with expiries and
/// several databases. `expire_base_ms` should be in the future so loaders keep the keys.
pub fn sample(expire_base_ms: i64) -> Vec<Entry> {
    let mut rng = Lcg::new(7);
    let mut out = Vec::new();
    let mut add = |db: u32, key: &str, value: Value, ttl: Option<i64>| {
        out.push(Entry {
            db,
            key: key.as_bytes().to_vec(),
            value,
            expire_ms: ttl.map(|t| expire_base_ms + t),
        });
    };
    let s = |x: &str| x.as_bytes().to_vec();
    // Strings: integers of each width, text, empty, binary, compressible and incompressible.
    for (i, v) in [
        "0",
        "-1",
        "127",
        "-129",
        "32767",
        "65536",
        "-2147483648",
        "4294967296",
        "007",
        "1.5",
    ]
    .iter()
    .enumerate()
    {
        add(0, &format!("str:int:{i}"), Value::String(s(v)), None);
    }
    add(0, "str:empty", Value::String(vec![]), None);
    add(0, "str:text", Value::String(s("hello world")), Some(1000));
    add(0, "str:binary", Value::String((0..=255u8).collect()), None);
    add(
        0,
        "str:lzf",
        Value::String(s(&"abcdefgh".repeat(500))),
        Some(2000),
    );
    add(0, "str:random", Value::String(rng.bytes(3000)), None);
    add(
        0,
        "str:big",
        Value::String(s(&"0123456789".repeat(30_000))),
        None,
    );
    // Lists.
    add(
        0,
        "list:small",
        Value::List(vec![s("a"), s("1"), s("-70000"), s(""), s("b")]),
        None,
    );
    let big: Vec<Vec<u8>> = (0..5000)
        .map(|i| format!("item-{i}").into_bytes())
        .collect();
    add(0, "list:big", Value::List(big), Some(3000));
    let mut wide: Vec<Vec<u8>> = (0..20).map(|i| i.to_string().into_bytes()).collect();
    wide.push(rng.bytes(20_000));
    wide.push(s(&"x".repeat(10_000)));
    add(0, "list:wide", Value::List(wide), None);
    // Sets: intset, big intset (hashtable), strings.
    add(
        1,
        "set:ints",
        Value::Set(
            (0..100)
                .map(|i| (i * 7 - 300).to_string().into_bytes())
                .collect(),
        ),
        None,
    );
    add(
        1,
        "set:bigints",
        Value::Set(
            (0..1000)
                .map(|i| (i * 1_000_003).to_string().into_bytes())
                .collect(),
        ),
        None,
    );
    add(
        1,
        "set:wideints",
        Value::Set(vec![
            s("1"),
            s("9223372036854775807"),
            s("-9223372036854775808"),
        ]),
        None,
    );
    add(
        1,
        "set:strings",
        Value::Set(vec![s("apple"), s("banana"), s("7"), s("")]),
        Some(4000),
    );
    add(
        1,
        "set:bigstrings",
        Value::Set(
            (0..700)
                .map(|i| format!("member:{i}").into_bytes())
                .collect(),
        ),
        None,
    );
    // Sorted sets: listpack and skiplist, odd scores.
    add(
        2,
        "zset:small",
        Value::SortedSet(vec![
            (s("a"), 1.0),
            (s("b"), -2.5),
            (s("c"), f64::INFINITY),
            (s("d"), f64::NEG_INFINITY),
            (s("e"), 0.1),
            (s("12"), 3e100),
            (s("f"), 1e-300),
        ]),
        None,
    );
    let zbig: Vec<(Vec<u8>, f64)> = (0..500)
        .map(|i| (format!("m{i}").into_bytes(), i as f64 / 3.0))
        .collect();
    add(2, "zset:big", Value::SortedSet(zbig), Some(5000));
    add(
        2,
        "zset:longmember",
        Value::SortedSet(vec![(s(&"z".repeat(100)), 1.0), (s("short"), 2.0)]),
        None,
    );
    // Hashes: listpack and hashtable.
    add(
        15,
        "hash:small",
        Value::Hash(vec![(s("f1"), s("v1")), (s("n"), s("42")), (s("e"), s(""))]),
        None,
    );
    let hbig: Vec<(Vec<u8>, Vec<u8>)> = (0..500)
        .map(|i| {
            (
                format!("field{i}").into_bytes(),
                format!("{}", i * 3).into_bytes(),
            )
        })
        .collect();
    add(15, "hash:big", Value::Hash(hbig), Some(6000));
    add(
        15,
        "hash:longvalue",
        Value::Hash(vec![(s("f"), s(&"v".repeat(200)))]),
        None,
    );
    add(15, "str:db15", Value::String(s("in db 15")), None);
    // Streams: several nodes (by entry count and by bytes), entries with the master entry's
    // fields and with their own, tombstones, consumer groups with pending entries.
    for (db, key, value, ttl) in sample_streams(expire_base_ms) {
        add(db, key, value, ttl);
    }
    out
}

fn sid(ms: u64, seq: u64) -> StreamId {
    StreamId { ms, seq }
}

/// The streams of [`sample`]: times are relative to `base_ms` so they look current.
fn sample_streams(base_ms: i64) -> Vec<(u32, &'static str, Value, Option<i64>)> {
    let s = |x: &str| x.as_bytes().to_vec();
    let f = |pairs: &[(&str, &[u8])]| -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs.iter().map(|(k, v)| (s(k), v.to_vec())).collect()
    };
    let t = base_ms - 7_200_000; // in the past: XCLAIM TIME clamps future times to now
    let mut out = Vec::new();
    // Small: one node, a field set change, an integer field name, binary and empty values.
    let small = Stream {
        entries: vec![
            StreamEntry {
                id: sid(1, 0),
                fields: f(&[("name", b"ann"), ("age", b"42")]),
            },
            StreamEntry {
                id: sid(1, 2),
                fields: f(&[("name", b"bob"), ("age", b"-7")]),
            },
            StreamEntry {
                id: sid(5, 0),
                fields: f(&[("12", b""), ("bin", &[0, 255, b'\r', b'\n'])]),
            },
        ],
        last_id: sid(9, 9),
        first_id: sid(1, 0),
        max_deleted_id: sid(1, 1),
        entries_added: 6,
        groups: vec![],
    };
    out.push((3, "stream:small", Value::Stream(Box::new(small)), None));
    // Big: 350 entries (4 nodes by count), a 6000-byte value (a node by bytes), three groups.
    let mut entries: Vec<StreamEntry> = (0..350u64)
        .map(|i| StreamEntry {
            id: sid(1_700_000_000_000 + i / 4, (i % 4) * 2),
            fields: if i % 50 == 7 {
                f(&[("other", format!("{i}").as_bytes())])
            } else {
                f(&[
                    ("sensor", format!("s{}", i % 5).as_bytes()),
                    ("reading", format!("{}", i * 37 % 1000).as_bytes()),
                ])
            },
        })
        .collect();
    entries[200].fields = f(&[("blob", "x".repeat(6000).as_bytes())]);
    let id_of = |i: usize| entries[i].id;
    let pending = |i: usize, who: &str, n: u64| PendingEntry {
        id: id_of(i),
        consumer: s(who),
        delivery_time_ms: t + i as i64,
        delivery_count: n,
    };
    let consumer = |name: &str, at: i64| Consumer {
        name: s(name),
        seen_time_ms: at,
        active_time_ms: at,
    };
    let groups = vec![
        ConsumerGroup {
            name: s("readers"),
            last_id: id_of(120),
            entries_read: Some(121),
            pending: vec![
                pending(3, "alice", 1),
                pending(4, "bob", 3),
                pending(99, "alice", 2),
                pending(120, "bob", 1),
            ],
            consumers: vec![
                consumer("alice", t + 5000),
                consumer("bob", t + 6000),
                consumer("idle", t + 7000),
            ],
        },
        ConsumerGroup {
            name: s("fresh"),
            last_id: sid(0, 0),
            entries_read: Some(0),
            pending: vec![],
            consumers: vec![],
        },
        ConsumerGroup {
            // Behind a tombstone: Redis cannot tell how far it has read.
            name: s("lost"),
            last_id: id_of(10),
            entries_read: None,
            pending: vec![pending(5, "c1", 9)],
            consumers: vec![consumer("c1", t)],
        },
    ];
    let last_id = entries[349].id;
    let big = Stream {
        first_id: entries[0].id,
        entries,
        last_id,
        max_deleted_id: sid(1_700_000_000_050, 1),
        entries_added: 400,
        groups,
    };
    out.push((3, "stream:big", Value::Stream(Box::new(big)), Some(7000)));
    // Empty: every entry deleted, a group left.
    let empty = Stream {
        entries: vec![],
        last_id: sid(5, 5),
        first_id: sid(0, 0),
        max_deleted_id: sid(5, 5),
        entries_added: 3,
        groups: vec![ConsumerGroup {
            name: s("g"),
            last_id: sid(5, 5),
            entries_read: Some(3),
            pending: vec![],
            consumers: vec![],
        }],
    };
    out.push((3, "stream:empty", Value::Stream(Box::new(empty)), None));
    out
}

fn id_text(id: StreamId) -> Vec<u8> {
    format!("{}-{}", id.ms, id.seq).into_bytes()
}

fn parse_id(b: &[u8]) -> StreamId {
    let t = std::str::from_utf8(b).unwrap();
    let (ms, seq) = t.split_once('-').unwrap();
    sid(ms.parse().unwrap(), seq.parse().unwrap())
}

/// Builds `st` at `k` with commands: XADD (plus entries deleted again between the real ones,
/// so nodes carry tombstones), XSETID for the metadata, XGROUP CREATE/CREATECONSUMER, and
/// XCLAIM FORCE with TIME and RETRYCOUNT for each pending entry.
fn load_stream(c: &mut Client, k: &[u8], st: &Stream) {
    let ok = |r: Reply| assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    let mut ghosts = Vec::new();
    for (i, e) in st.entries.iter().enumerate() {
        let id = id_text(e.id);
        let mut args: Vec<&[u8]> = vec![b"XADD", k, &id];
        for (f, v) in &e.fields {
            args.push(f);
            args.push(v);
        }
        ok(c.cmd(&args));
        let ghost = sid(e.id.ms, e.id.seq + 1);
        let before_next = st.entries.get(i + 1).map_or(st.last_id, |n| n.id);
        if i % 7 == 3 && ghost < before_next {
            let g = id_text(ghost);
            ok(c.cmd(&[b"XADD", k, &g, b"ghost", b"1"]));
            ghosts.push(g);
        }
    }
    if st.entries.is_empty() {
        ok(c.cmd(&[b"XGROUP", b"CREATE", k, b"tmp", b"$", b"MKSTREAM"]));
        ok(c.cmd(&[b"XGROUP", b"DESTROY", k, b"tmp"]));
    }
    for g in &ghosts {
        assert_eq!(c.cmd(&[b"XDEL", k, g]).int(), 1);
    }
    let (last, added, maxdel) = (
        id_text(st.last_id),
        st.entries_added.to_string().into_bytes(),
        id_text(st.max_deleted_id),
    );
    ok(c.cmd(&[
        b"XSETID",
        k,
        &last,
        b"ENTRIESADDED",
        &added,
        b"MAXDELETEDID",
        &maxdel,
    ]));
    for g in &st.groups {
        let last = id_text(g.last_id);
        let mut args: Vec<Vec<u8>> = vec![
            b"XGROUP".to_vec(),
            b"CREATE".to_vec(),
            k.to_vec(),
            g.name.clone(),
            last,
        ];
        if let Some(n) = g.entries_read {
            args.push(b"ENTRIESREAD".to_vec());
            args.push(n.to_string().into_bytes());
        }
        let a: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        ok(c.cmd(&a));
        for cons in &g.consumers {
            ok(c.cmd(&[b"XGROUP", b"CREATECONSUMER", k, &g.name, &cons.name]));
        }
        for p in &g.pending {
            let (id, time, count) = (
                id_text(p.id),
                p.delivery_time_ms.to_string().into_bytes(),
                p.delivery_count.to_string().into_bytes(),
            );
            let r = c.cmd(&[
                b"XCLAIM",
                k,
                &g.name,
                &p.consumer,
                b"0",
                &id,
                b"TIME",
                &time,
                b"RETRYCOUNT",
                &count,
                b"FORCE",
                b"JUSTID",
            ]);
            assert_eq!(r.bulks(), vec![id.clone()]);
        }
    }
}

/// A RESP2 map reply (flat array of name/value pairs) by name.
fn map_of(r: &Reply) -> BTreeMap<String, Reply> {
    r.array()
        .chunks(2)
        .map(|p| (String::from_utf8(p[0].bulk()).unwrap(), p[1].clone()))
        .collect()
}

fn entry_of(r: &Reply) -> StreamEntry {
    let e = r.array();
    StreamEntry {
        id: parse_id(&e[0].bulk()),
        fields: e[1]
            .bulks()
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
    }
}

/// A stream as a server shows it in XINFO STREAM FULL (Redis 7.0 has no active time: the seen
/// time stands for it, as it does when Redis 7.2 loads a 7.0 file).
pub fn read_stream(c: &mut Client, k: &[u8]) -> Stream {
    let info = map_of(&c.cmd(&[b"XINFO", b"STREAM", k, b"FULL", b"COUNT", b"0"]));
    let id = |name: &str| parse_id(&info[name].bulk());
    let groups = info["groups"]
        .array()
        .iter()
        .map(|g| {
            let g = map_of(g);
            let consumers = g["consumers"]
                .array()
                .iter()
                .map(|cr| {
                    let cm = map_of(cr);
                    let seen = cm["seen-time"].int();
                    Consumer {
                        name: cm["name"].bulk(),
                        seen_time_ms: seen,
                        active_time_ms: seen,
                    }
                })
                .collect();
            ConsumerGroup {
                name: g["name"].bulk(),
                last_id: parse_id(&g["last-delivered-id"].bulk()),
                entries_read: match &g["entries-read"] {
                    Reply::Int(n) => Some(*n as u64),
                    _ => None,
                },
                pending: g["pending"]
                    .array()
                    .iter()
                    .map(|p| {
                        let p = p.array();
                        PendingEntry {
                            id: parse_id(&p[0].bulk()),
                            consumer: p[1].bulk(),
                            delivery_time_ms: p[2].int(),
                            delivery_count: p[3].int() as u64,
                        }
                    })
                    .collect(),
                consumers,
            }
        })
        .collect();
    Stream {
        entries: info["entries"].array().iter().map(entry_of).collect(),
        last_id: id("last-generated-id"),
        first_id: id("recorded-first-entry-id"),
        max_deleted_id: id("max-deleted-entry-id"),
        entries_added: info["entries-added"].int() as u64,
        groups,
    }
}

/// Writes `entries` into a running server with ordinary commands.
pub fn load_into(c: &mut Client, entries: &[Entry]) {
    for e in entries {
        let db = e.db.to_string();
        assert_eq!(c.cmds(&["SELECT", &db]).status(), "OK");
        let k = e.key.as_slice();
        let mut batch = |cmd: &[u8], items: Vec<Vec<u8>>, per: usize| {
            for chunk in items.chunks(per * 64) {
                let mut args: Vec<&[u8]> = vec![cmd, k];
                args.extend(chunk.iter().map(Vec::as_slice));
                let r = c.cmd(&args);
                assert!(matches!(r, Reply::Int(_)), "{r:?}");
            }
        };
        match &e.value {
            Value::String(v) => assert_eq!(c.cmd(&[b"SET", k, v]).status(), "OK"),
            Value::List(items) => batch(b"RPUSH", items.clone(), 1),
            Value::Set(items) => batch(b"SADD", items.clone(), 1),
            Value::SortedSet(p) => {
                let flat = p
                    .iter()
                    .flat_map(|(m, s)| [format_score(*s), m.clone()])
                    .collect();
                batch(b"ZADD", flat, 2)
            }
            Value::Hash(p) => batch(
                b"HSET",
                p.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
                2,
            ),
            Value::Stream(st) => load_stream(c, k, st),
        }
        if let Some(ms) = e.expire_ms {
            assert_eq!(
                c.cmd(&[b"PEXPIREAT", k, ms.to_string().as_bytes()]).int(),
                1
            );
        }
    }
}

fn format_score(s: f64) -> Vec<u8> {
    if s.is_infinite() {
        return if s > 0.0 {
            b"+inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    format!("{s:?}").into_bytes()
}

/// Reads every key of every database of a running server.
pub fn read_server(c: &mut Client, dbs: u32) -> Content {
    let mut out = Content::new();
    for db in 0..dbs {
        assert_eq!(c.cmds(&["SELECT", &db.to_string()]).status(), "OK");
        for key in c.cmds(&["KEYS", "*"]).bulks() {
            let k = key.as_slice();
            let t = c.cmd(&[b"TYPE", k]).status();
            let value = match t.as_str() {
                "string" => Value::String(c.cmd(&[b"GET", k]).bulk()),
                "list" => Value::List(c.cmd(&[b"LRANGE", k, b"0", b"-1"]).bulks()),
                "set" => Value::Set(c.cmd(&[b"SMEMBERS", k]).bulks()),
                "zset" => {
                    let flat = c.cmd(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]).bulks();
                    Value::SortedSet(
                        flat.chunks(2)
                            .map(|p| (p[0].clone(), rdb::encoding::parse_score(&p[1]).unwrap()))
                            .collect(),
                    )
                }
                "hash" => {
                    let flat = c.cmd(&[b"HGETALL", k]).bulks();
                    Value::Hash(
                        flat.chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone()))
                            .collect(),
                    )
                }
                "stream" => Value::Stream(Box::new(read_stream(c, k))),
                other => panic!("unexpected type {other}"),
            };
            let pexp = c.cmd(&[b"PEXPIRETIME", k]).int();
            let expire = (pexp >= 0).then_some(pexp);
            out.insert((db, key), (normalize(&value), expire));
        }
    }
    out
}

/// Reads an RDB file with our reader.
pub fn read_file(path: &std::path::Path) -> (Content, rdb::Reader<std::fs::File>) {
    let mut reader = rdb::Reader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push(e);
    }
    (content_of(entries), reader)
}

/// Writes `entries` (grouped by db) as an RDB file with our writer.
pub fn write_file(path: &std::path::Path, entries: &[Entry]) {
    let mut by_db: BTreeMap<u32, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_db.entry(e.db).or_default().push(e);
    }
    let mut w = rdb::Writer::new(std::fs::File::create(path).unwrap()).unwrap();
    w.standard_aux("7.0.15", 1_700_000_000, 1_000_000).unwrap();
    for (db, es) in by_db {
        let expires = es.iter().filter(|e| e.expire_ms.is_some()).count() as u64;
        w.select_db(db, Some((es.len() as u64, expires))).unwrap();
        for e in es {
            w.entry(&e.key, &e.value, e.expire_ms).unwrap();
        }
    }
    w.finish().unwrap().sync_all().unwrap();
}

/// Asserts `a == b`, naming the first key that differs and showing a bounded part of it
/// (whole data sets are too large to print).
pub fn assert_same(a: &Content, b: &Content, what: &str) {
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            let key = String::from_utf8_lossy(&k.1);
            match (x, y) {
                (Some((v, t)), Some((w, u))) => {
                    assert_eq!(t, u, "{what}: expiry of {key:?} in db {}", k.0);
                    assert_same_value(v, w, &format!("{what}: {key:?} in db {}", k.0));
                }
                _ => panic!("{what}: key {key:?} in db {} only on one side", k.0),
            }
        }
    }
}

/// Asserts `a == b` for one value, showing where two streams differ rather than all of them.
pub fn assert_same_value(a: &Value, b: &Value, what: &str) {
    if a == b {
        return;
    }
    if let (Value::Stream(s), Value::Stream(o)) = (a, b) {
        if let Some(i) = (0..s.entries.len().max(o.entries.len()))
            .find(|&i| s.entries.get(i) != o.entries.get(i))
        {
            panic!(
                "{what}: stream entry {i} differs:\n left: {:?}\nright: {:?}",
                s.entries.get(i),
                o.entries.get(i)
            );
        }
        let (mut m, mut n) = ((**s).clone(), (**o).clone());
        m.entries.clear();
        n.entries.clear();
        panic!("{what}: stream metadata differs:\n left: {m:?}\nright: {n:?}");
    }
    let (l, r) = (format!("{a:?}"), format!("{b:?}"));
    panic!(
        "{what}: values differ:\n left: {}\nright: {}",
        &l[..l.len().min(2000)],
        &r[..r.len().min(2000)]
    );
}
