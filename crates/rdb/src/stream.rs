//! Stream values: the model ([`Stream`] with its consumer groups) and its RDB encoding.
//!
//! Redis keeps a stream as a radix tree of listpacks keyed by each node's master ID (big-endian
//! ms and seq); the RDB value is that tree dumped node by node, then the stream's metadata and
//! its consumer groups:
//!
//! ```text
//! stream := nodes:len (master_id:string(16 bytes BE) listpack:string)*
//!           length:len last_id:(len len)
//!           [first_id:(len len) max_deleted_id:(len len) entries_added:len]     (type 19, 21)
//!           groups:len group*
//! group  := name:string last_id:(len len) [entries_read:len]                    (type 19, 21)
//!           pel:len (id:16 bytes BE delivery_time:i64 LE delivery_count:len)*
//!           consumers:len (name:string seen_time:i64 LE [active_time:i64 LE]    (type 21)
//!                          pel:len id:16 bytes BE*)*
//! node   := master entry: count deleted nfields field* 0
//!           entries: flags ms-diff seq-diff [nfields (field value)* | value*] lp-count
//! ```
//!
//! An entry whose field names equal the master entry's carries only its values (SAMEFIELDS
//! flag); deleted entries stay in their node with the DELETED flag until the node is rewritten.
//! The model drops deleted entries: they are invisible to every command. The writer packs
//! entries into nodes as a run of XADDs would with the default `stream-node-max-bytes 4096`
//! and `stream-node-max-entries 100`, so a stream loaded by redis-server from our file has the
//! node layout (XINFO `radix-tree-keys`) the same stream built by XADD has.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use crate::encoding::{listpack, strict_i64, Elem};
use crate::error::{corrupt, Error, Result};
use crate::opcode::{TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2, TYPE_STREAM_LISTPACKS_3};
use crate::read::Decoder;
use crate::write::{put_len, put_string};

/// An entry ID: milliseconds and sequence number, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// The 128-bit big-endian form used as radix tree key and in PELs.
    fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    fn from_be_bytes(b: [u8; 16]) -> StreamId {
        StreamId {
            ms: u64::from_be_bytes(b[..8].try_into().unwrap()),
            seq: u64::from_be_bytes(b[8..].try_into().unwrap()),
        }
    }

    fn is_zero(self) -> bool {
        self == StreamId::default()
    }
}

/// One live entry: its ID and its field/value pairs in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A stream as XINFO STREAM FULL shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// Live entries in ascending ID order.
    pub entries: Vec<StreamEntry>,
    /// The last ID ever generated (`last-generated-id`), at least the last entry's.
    pub last_id: StreamId,
    /// `recorded-first-entry-id`: the first live entry's ID, 0-0 when empty.
    pub first_id: StreamId,
    /// `max-deleted-entry-id`: the largest ID ever deleted (XDEL, XTRIM), 0-0 if none.
    pub max_deleted_id: StreamId,
    /// `entries-added`: every entry ever added, deleted ones included.
    pub entries_added: u64,
    pub groups: Vec<ConsumerGroup>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerGroup {
    pub name: Vec<u8>,
    /// `last-delivered-id`.
    pub last_id: StreamId,
    /// `entries-read`, `None` when Redis cannot know it (stored as -1).
    pub entries_read: Option<u64>,
    /// The group's pending entries list, each entry owned by one of `consumers`.
    pub pending: Vec<PendingEntry>,
    pub consumers: Vec<Consumer>,
}

/// A delivered, not yet acknowledged entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    pub id: StreamId,
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
    /// Unix ms of the last delivery.
    pub delivery_time_ms: i64,
    pub delivery_count: u64,
}

/// A consumer of a group (its pending entries are those of the group it owns).
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub name: Vec<u8>,
    /// Unix ms of its last interaction (`seen-time`).
    pub seen_time_ms: i64,
    /// Unix ms of its last successful read or claim (Redis 7.2 `active-time`); files of older
    /// types do not carry it and Redis then takes the seen time, as we do.
    pub active_time_ms: i64,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// `stream-node-max-bytes` and `stream-node-max-entries` defaults: where XADD starts a node.
const NODE_MAX_BYTES: usize = 4096;
const NODE_MAX_ENTRIES: usize = 100;
/// `entries_read` of a group whose position Redis cannot tell (`SCG_INVALID_ENTRIES_READ`).
const INVALID_ENTRIES_READ: u64 = u64::MAX;

impl<R: Read> Decoder<R> {
    fn stream_id(&mut self) -> Result<StreamId> {
        Ok(StreamId {
            ms: self.len()?,
            seq: self.len()?,
        })
    }

    fn millis(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A stream value of RDB type `t` (15, 19 or 21).
    pub(crate) fn stream(&mut self, t: u8) -> Result<Stream> {
        debug_assert!(matches!(
            t,
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3
        ));
        let mut s = Stream::default();
        let nodes = self.len()?;
        let mut last_master: Option<StreamId> = None;
        for _ in 0..nodes {
            let key = self.string()?;
            let master = StreamId::from_be_bytes(
                key.try_into()
                    .map_err(|_| corrupt("stream node key is not a 16-byte ID"))?,
            );
            if last_master.is_some_and(|m| m >= master) {
                return Err(corrupt("stream nodes out of order"));
            }
            last_master = Some(master);
            let lp = self.string()?;
            decode_node(master, &lp, &mut s.entries)?;
        }
        let length = self.len()?;
        if length != s.entries.len() as u64 {
            return Err(corrupt("stream length does not match its entries"));
        }
        s.last_id = self.stream_id()?;
        if s.entries.last().is_some_and(|e| e.id > s.last_id) {
            return Err(corrupt("stream entry after the stream's last ID"));
        }
        if t >= TYPE_STREAM_LISTPACKS_2 {
            s.first_id = self.stream_id()?;
            s.max_deleted_id = self.stream_id()?;
            s.entries_added = self.len()?;
        } else {
            // Redis 5/6 did not record these; Redis derives them on load the same way.
            s.first_id = s.entries.first().map_or(StreamId::default(), |e| e.id);
            s.entries_added = length;
        }
        let groups = self.len()?;
        let mut names = BTreeSet::new();
        for _ in 0..groups {
            let g = self.group(t, &s)?;
            if !names.insert(g.name.clone()) {
                return Err(corrupt("duplicate consumer group name"));
            }
            s.groups.push(g);
        }
        Ok(s)
    }

    fn group(&mut self, t: u8, s: &Stream) -> Result<ConsumerGroup> {
        let name = self.string()?;
        let last_id = self.stream_id()?;
        let entries_read = if t >= TYPE_STREAM_LISTPACKS_2 {
            Some(self.len()?).filter(|&n| n != INVALID_ENTRIES_READ)
        } else {
            estimate_entries_read(s, last_id)
        };
        // The group PEL first, owners unresolved; each consumer then lists the IDs it owns.
        let mut pel: BTreeMap<StreamId, (i64, u64, Option<usize>)> = BTreeMap::new();
        for _ in 0..self.len()? {
            let id = StreamId::from_be_bytes(self.array()?);
            let time = self.millis()?;
            let count = self.len()?;
            if pel.insert(id, (time, count, None)).is_some() {
                return Err(corrupt("duplicate entry in a group's PEL"));
            }
        }
        let mut consumers: Vec<Consumer> = Vec::new();
        let mut names = BTreeSet::new();
        for _ in 0..self.len()? {
            let name = self.string()?;
            if !names.insert(name.clone()) {
                return Err(corrupt("duplicate consumer in a group"));
            }
            let seen_time_ms = self.millis()?;
            let active_time_ms = if t >= TYPE_STREAM_LISTPACKS_3 {
                self.millis()?
            } else {
                seen_time_ms
            };
            for _ in 0..self.len()? {
                let id = StreamId::from_be_bytes(self.array()?);
                let owner = &mut pel
                    .get_mut(&id)
                    .ok_or_else(|| corrupt("consumer PEL entry missing from the group PEL"))?
                    .2;
                if owner.replace(consumers.len()).is_some() {
                    return Err(corrupt("PEL entry owned by two consumers"));
                }
            }
            consumers.push(Consumer {
                name,
                seen_time_ms,
                active_time_ms,
            });
        }
        let pending = pel
            .into_iter()
            .map(|(id, (time, count, owner))| {
                let owner = owner.ok_or_else(|| corrupt("PEL entry without a consumer"))?;
                Ok(PendingEntry {
                    id,
                    consumer: consumers[owner].name.clone(),
                    delivery_time_ms: time,
                    delivery_count: count,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConsumerGroup {
            name,
            last_id,
            entries_read,
            pending,
            consumers,
        })
    }
}

/// Redis's `streamEstimateDistanceFromFirstEverEntry` for a stream of a pre-7.0 file (no
/// tombstone recorded, every entry ever added still counted by `length`).
fn estimate_entries_read(s: &Stream, id: StreamId) -> Option<u64> {
    if s.entries_added == 0 {
        return Some(0);
    }
    if id == s.last_id {
        return Some(s.entries_added);
    }
    if id > s.last_id {
        return None;
    }
    let before_tombstones = s.max_deleted_id.is_zero() || s.max_deleted_id < s.first_id;
    match id.cmp(&s.first_id) {
        std::cmp::Ordering::Less if before_tombstones => {
            Some(s.entries_added - s.entries.len() as u64)
        }
        std::cmp::Ordering::Equal if before_tombstones => {
            Some(s.entries_added - s.entries.len() as u64 + 1)
        }
        _ => None,
    }
}

/// Reads the integer fields of a node (Redis stores them as listpack integers; a string that
/// parses the way `lpGetInteger` would is accepted too).
fn int(e: Option<&Elem<'_>>) -> Result<i64> {
    match e {
        Some(Elem::Int(i)) => Ok(*i),
        Some(Elem::Str(s)) => {
            strict_i64(s).ok_or_else(|| corrupt("stream node: expected an integer"))
        }
        None => Err(corrupt("stream node truncated")),
    }
}

fn count(e: Option<&Elem<'_>>) -> Result<usize> {
    usize::try_from(int(e)?).map_err(|_| corrupt("stream node: negative count"))
}

fn bytes(e: Option<&Elem<'_>>) -> Result<Vec<u8>> {
    e.map(|e| e.to_bytes())
        .ok_or_else(|| corrupt("stream node truncated"))
}

/// Appends the live entries of one node to `out`, checking the node's own bookkeeping.
fn decode_node(master: StreamId, lp: &[u8], out: &mut Vec<StreamEntry>) -> Result<()> {
    let elems = listpack::decode(lp)?;
    if elems.is_empty() {
        return Err(corrupt("empty listpack in a stream"));
    }
    let mut it = elems.iter();
    let live = count(it.next())?;
    let deleted = count(it.next())?;
    let nmaster = count(it.next())?;
    let master_fields = (0..nmaster)
        .map(|_| bytes(it.next()))
        .collect::<Result<Vec<_>>>()?;
    if int(it.next())? != 0 {
        return Err(corrupt("stream master entry not terminated by 0"));
    }
    let mut seen_live = 0;
    for _ in 0..live
        .checked_add(deleted)
        .ok_or_else(|| corrupt("stream node count"))?
    {
        let flags = int(it.next())?;
        let id = StreamId {
            ms: master.ms.wrapping_add(int(it.next())? as u64),
            seq: master.seq.wrapping_add(int(it.next())? as u64),
        };
        let (fields, parts) = if flags & FLAG_SAMEFIELDS != 0 {
            let fields = master_fields
                .iter()
                .map(|f| Ok((f.clone(), bytes(it.next())?)))
                .collect::<Result<Vec<_>>>()?;
            (fields, 3 + nmaster)
        } else {
            let n = count(it.next())?;
            let fields = (0..n)
                .map(|_| Ok((bytes(it.next())?, bytes(it.next())?)))
                .collect::<Result<Vec<_>>>()?;
            (fields, 4 + 2 * n)
        };
        if count(it.next())? != parts {
            return Err(corrupt("stream entry lp-count does not match the entry"));
        }
        if let Some(prev) = out.last() {
            if prev.id >= id {
                return Err(corrupt("stream entries out of order"));
            }
        }
        if id < master {
            return Err(corrupt("stream entry before its node's master ID"));
        }
        if flags & FLAG_DELETED == 0 {
            seen_live += 1;
            out.push(StreamEntry { id, fields });
        }
    }
    if it.next().is_some() {
        return Err(corrupt("bytes after the last entry of a stream node"));
    }
    if seen_live != live {
        return Err(corrupt(
            "stream node entry count does not match its entries",
        ));
    }
    Ok(())
}

/// A node being filled the way XADD fills the tail node.
struct Node {
    master: StreamId,
    master_fields: Vec<Vec<u8>>,
    lp: listpack::Builder,
    entries: usize,
}

impl Node {
    fn new(first: &StreamEntry) -> Node {
        let mut lp = listpack::Builder::new();
        lp.push_integer(0); // live entries, set when the node is closed
        lp.push_integer(0); // deleted entries
        lp.push_integer(first.fields.len() as i64);
        for (f, _) in &first.fields {
            lp.push(f);
        }
        lp.push_integer(0); // master entry terminator
        Node {
            master: first.id,
            master_fields: first.fields.iter().map(|(f, _)| f.clone()).collect(),
            lp,
            entries: 0,
        }
    }

    fn push(&mut self, e: &StreamEntry) {
        let same = e.fields.len() == self.master_fields.len()
            && e.fields
                .iter()
                .zip(&self.master_fields)
                .all(|((f, _), m)| f == m);
        let lp = &mut self.lp;
        lp.push_integer(if same { FLAG_SAMEFIELDS } else { 0 });
        // Differences wrap like Redis's unsigned subtraction stored as a signed integer.
        lp.push_integer(e.id.ms.wrapping_sub(self.master.ms) as i64);
        lp.push_integer(e.id.seq.wrapping_sub(self.master.seq) as i64);
        if same {
            for (_, v) in &e.fields {
                lp.push(v);
            }
            lp.push_integer(3 + e.fields.len() as i64);
        } else {
            lp.push_integer(e.fields.len() as i64);
            for (f, v) in &e.fields {
                lp.push(f);
                lp.push(v);
            }
            lp.push_integer(4 + 2 * e.fields.len() as i64);
        }
        self.entries += 1;
    }

    /// XADD's test for starting a new node before adding an entry of `entry_bytes`.
    fn is_full_for(&self, entry_bytes: usize) -> bool {
        self.lp.len() + entry_bytes >= NODE_MAX_BYTES || self.entries >= NODE_MAX_ENTRIES
    }

    fn finish(mut self) -> (StreamId, Vec<u8>) {
        self.lp.set_first_small_int(self.entries as u8);
        (self.master, self.lp.finish())
    }
}

fn check(s: &Stream) -> Result<()> {
    if s.entries.windows(2).any(|w| w[0].id >= w[1].id) {
        return Err(Error::InvalidValue(
            "stream entries not in ascending ID order",
        ));
    }
    if s.entries.last().is_some_and(|e| e.id > s.last_id) {
        return Err(Error::InvalidValue(
            "stream entry after the stream's last ID",
        ));
    }
    let mut groups = BTreeSet::new();
    for g in &s.groups {
        if !groups.insert(&g.name) {
            return Err(Error::InvalidValue("duplicate consumer group name"));
        }
        let consumers: BTreeSet<&Vec<u8>> = g.consumers.iter().map(|c| &c.name).collect();
        if consumers.len() != g.consumers.len() {
            return Err(Error::InvalidValue("duplicate consumer in a group"));
        }
        let mut ids = BTreeSet::new();
        for p in &g.pending {
            if !ids.insert(p.id) {
                return Err(Error::InvalidValue("duplicate entry in a group's PEL"));
            }
            if !consumers.contains(&p.consumer) {
                return Err(Error::InvalidValue(
                    "PEL entry owned by an unknown consumer",
                ));
            }
        }
    }
    Ok(())
}

/// Appends the payload of a stream as RDB type 19 (`STREAM_LISTPACKS_2`, what Redis 7.0 writes).
pub(crate) fn encode(s: &Stream, out: &mut Vec<u8>) -> Result<u8> {
    check(s)?;
    let mut nodes = Vec::new();
    let mut node: Option<Node> = None;
    for e in &s.entries {
        let entry_bytes: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        if node.as_ref().is_some_and(|n| n.is_full_for(entry_bytes)) {
            nodes.extend(node.take().map(Node::finish));
        }
        node.get_or_insert_with(|| Node::new(e)).push(e);
    }
    nodes.extend(node.map(Node::finish));
    put_len(out, nodes.len() as u64);
    for (master, lp) in &nodes {
        put_string(out, &master.to_be_bytes());
        put_string(out, lp);
    }
    put_len(out, s.entries.len() as u64);
    for id in [s.last_id, s.first_id, s.max_deleted_id] {
        put_len(out, id.ms);
        put_len(out, id.seq);
    }
    put_len(out, s.entries_added);
    put_len(out, s.groups.len() as u64);
    for g in &s.groups {
        put_string(out, &g.name);
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        put_len(out, g.entries_read.unwrap_or(INVALID_ENTRIES_READ));
        let mut pending: Vec<&PendingEntry> = g.pending.iter().collect();
        pending.sort_by_key(|p| p.id);
        put_len(out, pending.len() as u64);
        for p in &pending {
            out.extend(p.id.to_be_bytes());
            out.extend(p.delivery_time_ms.to_le_bytes());
            put_len(out, p.delivery_count);
        }
        let mut owned: BTreeMap<&[u8], Vec<StreamId>> = BTreeMap::new();
        for p in &pending {
            owned.entry(&p.consumer).or_default().push(p.id);
        }
        put_len(out, g.consumers.len() as u64);
        for c in &g.consumers {
            put_string(out, &c.name);
            out.extend(c.seen_time_ms.to_le_bytes());
            let ids = owned.get(c.name.as_slice()).map_or(&[][..], Vec::as_slice);
            put_len(out, ids.len() as u64);
            for id in ids {
                out.extend(id.to_be_bytes());
            }
        }
    }
    Ok(TYPE_STREAM_LISTPACKS_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dump, Value};

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        pairs
            .iter()
            .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// redis-server 7.0.15: XADD s 1-1 a 1 b x; XADD s 1-2 a 2 b y; XADD s 2-0 c z;
    /// XGROUP CREATE s g 0; XREADGROUP GROUP g alice COUNT 2 STREAMS s >; DUMP s
    /// (one LZF-compressed node: SAMEFIELDS entries and one with its own fields).
    const REDIS_DUMP: &str = "13011000000000000000010000000000000001c33b404011400000001900030100010201816102816202400900002001050101817802052016400a201c0079200c400a02dfff02201a076302817a020601ff03020001010000030101670102020200000000000000010000000000000001dace0917a20100000100000000000000010000000000000002dace0917a2010000010105616c696365dace0917a20100000200000000000000010000000000000001000000000000000100000000000000020a009a1c95155bf9f703";

    fn redis_stream() -> Stream {
        let t = 1795682848474;
        let pending = |seq| PendingEntry {
            id: id(1, seq),
            consumer: b"alice".to_vec(),
            delivery_time_ms: t,
            delivery_count: 1,
        };
        Stream {
            entries: vec![
                StreamEntry {
                    id: id(1, 1),
                    fields: fields(&[("a", "1"), ("b", "x")]),
                },
                StreamEntry {
                    id: id(1, 2),
                    fields: fields(&[("a", "2"), ("b", "y")]),
                },
                StreamEntry {
                    id: id(2, 0),
                    fields: fields(&[("c", "z")]),
                },
            ],
            last_id: id(2, 0),
            first_id: id(1, 1),
            max_deleted_id: id(0, 0),
            entries_added: 3,
            groups: vec![ConsumerGroup {
                name: b"g".to_vec(),
                last_id: id(1, 2),
                entries_read: Some(2),
                pending: vec![pending(1), pending(2)],
                consumers: vec![Consumer {
                    name: b"alice".to_vec(),
                    seen_time_ms: t,
                    active_time_ms: t,
                }],
            }],
        }
    }

    #[test]
    fn redis_payload_decodes_and_round_trips() {
        let v = dump::decode(&hex(REDIS_DUMP)).unwrap();
        assert_eq!(v, Value::Stream(Box::new(redis_stream())));
        let ours = dump::encode(&v).unwrap();
        assert_eq!(ours[0], TYPE_STREAM_LISTPACKS_2);
        assert_eq!(dump::decode(&ours).unwrap(), v);
    }

    #[test]
    fn nodes_split_like_xadd() {
        // 250 small entries: nodes of 100; 30 entries of 1000 bytes: a node every 4 entries.
        let mut s = Stream::default();
        for i in 0..250 {
            s.entries.push(StreamEntry {
                id: id(1000 + i / 3, i % 3),
                fields: fields(&[("f", &i.to_string())]),
            });
        }
        let mut out = Vec::new();
        s.last_id = s.entries.last().unwrap().id;
        encode(&s, &mut out).unwrap();
        assert_eq!(out[0], 3);
        let mut big = Stream::default();
        for i in 0..30 {
            big.entries.push(StreamEntry {
                id: id(i, 0),
                fields: fields(&[("v", &"x".repeat(1000))]),
            });
        }
        big.last_id = id(29, 0);
        out.clear();
        encode(&big, &mut out).unwrap();
        // 18 bytes of header and master entry, 1012 per entry: a 5th would reach 4096.
        assert_eq!(out[0], 8);
        let back = Decoder { r: &out[..] }
            .stream(TYPE_STREAM_LISTPACKS_2)
            .unwrap();
        assert_eq!(back.entries, big.entries);
    }

    #[test]
    fn deleted_entries_and_negative_seq_deltas_decode() {
        // A node with master 5-7: entry 5-7 deleted, entry 6-0 (seq delta -7) with own fields.
        let mut lp = listpack::Builder::new();
        for i in [1, 1, 1] {
            lp.push_integer(i);
        }
        lp.push(b"a");
        lp.push_integer(0);
        lp.push_integer(FLAG_SAMEFIELDS | FLAG_DELETED);
        lp.push_integer(0);
        lp.push_integer(0);
        lp.push(b"gone");
        lp.push_integer(4);
        lp.push_integer(0);
        lp.push_integer(1);
        lp.push_integer(-7);
        lp.push_integer(1);
        lp.push(b"b");
        lp.push(b"kept");
        lp.push_integer(6);
        let mut entries = Vec::new();
        decode_node(id(5, 7), &lp.finish(), &mut entries).unwrap();
        assert_eq!(
            entries,
            vec![StreamEntry {
                id: id(6, 0),
                fields: fields(&[("b", "kept")])
            }]
        );
    }

    #[test]
    fn inconsistent_values_are_refused() {
        let mut s = redis_stream();
        s.groups[0].pending[0].consumer = b"nobody".to_vec();
        assert!(matches!(
            encode(&s, &mut Vec::new()),
            Err(Error::InvalidValue(_))
        ));
        let mut s = redis_stream();
        s.entries.swap(0, 1);
        assert!(encode(&s, &mut Vec::new()).is_err());
        let mut s = redis_stream();
        s.last_id = id(1, 0);
        assert!(encode(&s, &mut Vec::new()).is_err());
    }

    #[test]
    fn corrupt_payloads_are_errors() {
        let mut ours = Vec::new();
        crate::encode_value(&Value::Stream(Box::new(redis_stream())), &mut ours).unwrap();
        // Every truncation and every single-byte change is an error or a different value,
        // never a panic.
        for n in 0..ours.len() {
            let mut d = Decoder {
                r: &ours[1..n.max(1)],
            };
            assert!(d.value(ours[0]).is_err());
        }
        for i in 1..ours.len() {
            for delta in [1u8, 0x80] {
                let mut bad = ours.clone();
                bad[i] = bad[i].wrapping_add(delta);
                let _ = Decoder { r: &bad[1..] }.value(bad[0]);
            }
        }
    }
}
