//! A data set with every type in small and big encodings, and the means to load it into a
//! redis-server, read a server's whole content back, and compare content regardless of order.
#![allow(dead_code)]

use std::collections::BTreeMap;

use super::{Client, Reply};
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
        other => other.clone(),
    }
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
    out
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
