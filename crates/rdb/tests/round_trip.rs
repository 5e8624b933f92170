//! Property tests: whatever our writer writes, our reader reads back unchanged (files and DUMP
//! payloads); and no mutation of valid input makes the reader panic (a stable-toolchain
//! companion to the cargo-fuzz target in `fuzz/`).

mod support;

use std::collections::BTreeSet;

use proptest::prelude::*;
use rdb::stream::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};
use rdb::{Entry, Value};
use support::dataset::{content_of, normalize, Lcg};

fn blob() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..80),
        2 => any::<i64>().prop_map(|i| i.to_string().into_bytes()),
        1 => (0usize..3, 60usize..9000).prop_map(|(c, n)| vec![b'a' + c as u8; n]),
        1 => proptest::collection::vec(any::<u8>(), 60..400),
    ]
}

fn unique(items: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let set: BTreeSet<Vec<u8>> = items.into_iter().collect();
    set.into_iter().collect()
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        (-1000i64..1000).prop_map(|i| i as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let n = 1..300usize;
    prop_oneof![
        blob().prop_map(Value::String),
        proptest::collection::vec(blob(), n.clone()).prop_map(Value::List),
        proptest::collection::vec(blob(), n.clone()).prop_map(|v| Value::Set(unique(v))),
        proptest::collection::vec(any::<i64>(), n.clone()).prop_map(|v| Value::Set(unique(
            v.iter().map(|i| i.to_string().into_bytes()).collect()
        ))),
        proptest::collection::vec((blob(), score()), n.clone()).prop_map(|v| {
            let members = unique(v.iter().map(|p| p.0.clone()).collect());
            Value::SortedSet(members.into_iter().zip(v.iter().map(|p| p.1)).collect())
        }),
        stream(),
        proptest::collection::vec((blob(), blob()), n).prop_map(|v| {
            let fields = unique(v.iter().map(|p| p.0.clone()).collect());
            Value::Hash(
                fields
                    .into_iter()
                    .zip(v.iter().map(|p| p.1.clone()))
                    .collect(),
            )
        }),
    ]
}

/// Streams: ascending IDs with sequence and millisecond steps (deltas against a node's master
/// ID of either sign), field sets that change, groups whose PEL entries belong to consumers.
fn stream() -> impl Strategy<Value = Value> {
    let entry = (
        0u64..3,
        any::<u64>(),
        proptest::collection::vec((blob(), blob()), 1..4),
    );
    let group = (
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec((any::<u16>(), 0u8..3, any::<i64>(), any::<u64>()), 0..6),
        1u8..4,
    );
    (
        proptest::collection::vec(entry, 0..250),
        proptest::collection::vec(group, 0..3),
        any::<u64>(),
    )
        .prop_map(|(raw, raw_groups, extra)| {
            let mut id = StreamId { ms: 1, seq: 0 };
            let mut entries = Vec::new();
            for (step, seq, fields) in raw {
                id = if step == 0 {
                    StreamId {
                        ms: id.ms,
                        seq: id.seq + 1,
                    }
                } else {
                    StreamId {
                        ms: id.ms + step,
                        seq: seq >> 1,
                    }
                };
                entries.push(StreamEntry { id, fields });
            }
            let last_id = StreamId {
                ms: id.ms + (extra & 3),
                seq: id.seq,
            };
            let mut names = BTreeSet::new();
            let groups = raw_groups
                .into_iter()
                .filter(|(name, ..)| names.insert(name.clone()))
                .map(|(name, read, pel, nconsumers)| {
                    let consumers: Vec<Consumer> = (0..nconsumers)
                        .map(|i| Consumer {
                            name: vec![b'c', i],
                            seen_time_ms: 1_700_000_000_000 + i as i64,
                            active_time_ms: 1_700_000_000_000 + i as i64,
                        })
                        .collect();
                    let mut ids = BTreeSet::new();
                    let pending = pel
                        .into_iter()
                        .filter(|(n, ..)| ids.insert(*n))
                        .map(|(n, owner, time, count)| PendingEntry {
                            id: StreamId {
                                ms: n as u64,
                                seq: 0,
                            },
                            consumer: consumers[owner as usize % consumers.len()].name.clone(),
                            delivery_time_ms: time,
                            delivery_count: count,
                        })
                        .collect();
                    ConsumerGroup {
                        name,
                        last_id: StreamId {
                            ms: extra % (last_id.ms + 1),
                            seq: 0,
                        },
                        entries_read: read.map(u64::from),
                        pending,
                        consumers,
                    }
                })
                .collect();
            Value::Stream(Box::new(Stream {
                first_id: entries.first().map_or(StreamId::default(), |e| e.id),
                entries_added: entries.len() as u64 + (extra >> 40),
                max_deleted_id: StreamId {
                    ms: extra & 0xff,
                    seq: 1,
                },
                entries,
                last_id,
                groups,
            }))
        })
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec(
        (
            0u32..20,
            blob(),
            value(),
            proptest::option::of(any::<i64>()),
        ),
        0..12,
    )
    .prop_map(|v| {
        let mut seen = BTreeSet::new();
        let mut out: Vec<Entry> = v
            .into_iter()
            .filter(|(db, k, _, _)| seen.insert((*db, k.clone())))
            .map(|(db, key, value, expire_ms)| Entry {
                db,
                key,
                value,
                expire_ms,
            })
            .collect();
        out.sort_by_key(|e| e.db);
        out
    })
}

fn write(entries: &[Entry]) -> Vec<u8> {
    let mut w = rdb::Writer::new(Vec::new()).unwrap();
    w.standard_aux("7.0.15", 0, 0).unwrap();
    let mut db = None;
    for e in entries {
        if db != Some(e.db) {
            w.select_db(e.db, None).unwrap();
            db = Some(e.db);
        }
        w.entry(&e.key, &e.value, e.expire_ms).unwrap();
    }
    w.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn file_round_trip(es in entries()) {
        let bytes = write(&es);
        let back: Vec<Entry> = rdb::Reader::new(&bytes[..]).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(content_of(back), content_of(es));
    }

    #[test]
    fn dump_round_trip(v in value()) {
        let payload = rdb::dump::encode(&v).unwrap();
        prop_assert_eq!(normalize(&rdb::dump::decode(&payload).unwrap()), normalize(&v));
    }
}

/// Seeds: every fixture plus a file and payloads of our own.
fn seeds() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds: Vec<Vec<u8>> = ["v6.rdb", "v7.rdb", "v8.rdb", "v9.rdb"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let sample = support::dataset::sample(4102444800000);
    seeds.push(write(&sample[..12]));
    seeds
}

fn mutate(rng: &mut Lcg, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.next() % 4 {
        if data.is_empty() {
            return;
        }
        let at = (rng.next() as usize) % data.len();
        match rng.next() % 5 {
            0 => data[at] ^= 1 << (rng.next() % 8),
            1 => data[at] = rng.next() as u8,
            2 => data.truncate(at),
            3 => data.insert(at, rng.next() as u8),
            _ => data[at] = [0x00, 0x7f, 0x80, 0xc0, 0xc3, 0xfe, 0xff][(rng.next() % 7) as usize],
        }
    }
}

#[test]
fn mutated_input_never_panics() {
    let mut rng = Lcg::new(0xF022);
    let seeds = seeds();
    let sample = support::dataset::sample(0);
    for round in 0..3000 {
        let mut data = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &mut data);
        if let Ok(reader) = rdb::Reader::new(&data[..]) {
            for e in reader.take(10_000) {
                if e.is_err() {
                    break;
                }
            }
        }
        // DUMP payloads: fix the checksum up so the decoder itself gets exercised.
        let mut p = rdb::dump::encode(&sample[round % sample.len()].value).unwrap();
        let body_len = p.len() - 10;
        let mut body = p[..body_len].to_vec();
        mutate(&mut rng, &mut body);
        p.splice(..body_len, body);
        let n = p.len();
        let crc = rdb::crc64(&p[..n - 8]);
        p[n - 8..].copy_from_slice(&crc.to_le_bytes());
        let _ = rdb::dump::decode(&p);
    }
}
