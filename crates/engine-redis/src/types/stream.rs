//! Streams: entries ordered by ID in a `BTreeMap`, plus consumer groups with their pending
//! entries lists (redis's t_stream.c keeps the same information in a radix tree of listpacks).

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }

    /// The next ID after this one (`None` past the maximum).
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq + 1,
            })
        } else if self.ms < u64::MAX {
            Some(StreamId {
                ms: self.ms + 1,
                seq: 0,
            })
        } else {
            None
        }
    }

    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq - 1,
            })
        } else if self.ms > 0 {
            Some(StreamId {
                ms: self.ms - 1,
                seq: u64::MAX,
            })
        } else {
            None
        }
    }

    /// Parses `ms-seq` or `ms` (missing seq = `default_seq`).
    pub fn parse(s: &[u8], default_seq: u64) -> Option<StreamId> {
        let st = std::str::from_utf8(s).ok()?;
        match st.split_once('-') {
            Some((a, b)) => Some(StreamId {
                ms: a.parse().ok()?,
                seq: b.parse().ok()?,
            }),
            None => Some(StreamId {
                ms: st.parse().ok()?,
                seq: default_seq,
            }),
        }
    }
}

pub type Fields = Vec<(Box<[u8]>, Box<[u8]>)>;

#[derive(Clone, Debug)]
pub struct PendingEntry {
    pub consumer: Vec<u8>,
    pub delivery_time: i64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pending: std::collections::BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, PendingEntry>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    pub entries: BTreeMap<StreamId, Fields>,
    pub last_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

/// The stream's counters behind a group's `entries-read` and `lag` (see
/// [`Stream::counter_basis`]).
#[derive(Clone, Copy, Debug)]
pub struct CounterBasis {
    first_id: StreamId,
    last_id: StreamId,
    max_deleted: StreamId,
    entries_added: u64,
    len: u64,
}

impl CounterBasis {
    /// Logical position of `id` among all entries ever added, when it can be known.
    pub fn estimate(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if (self.len == 0 && id <= self.last_id) || id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted == StreamId::MIN || self.max_deleted < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.len);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.len + 1);
            }
        }
        None
    }

    /// Whether an entry at or after `id` was deleted (redis's `streamRangeHasTombstones`):
    /// counting on from `id` would then be wrong.
    fn tombstone_from(&self, id: StreamId) -> bool {
        self.len > 0 && self.max_deleted != StreamId::MIN && self.max_deleted >= id
    }
}

impl Group {
    /// XREADGROUP `>`: hands the entries after the group's last ID to `consumer`, recording them
    /// as pending (unless `noack`).
    pub fn deliver_new(
        &mut self,
        entries: &BTreeMap<StreamId, Fields>,
        basis: CounterBasis,
        consumer: &[u8],
        count: usize,
        noack: bool,
        now: i64,
    ) -> Vec<(StreamId, Fields)> {
        self.consumers
            .entry(consumer.to_vec())
            .or_default()
            .seen_time = now;
        let Some(from) = self.last_id.next() else {
            return Vec::new();
        };
        let new: Vec<(StreamId, Fields)> = entries
            .range(from..)
            .take(count)
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (id, _) in &new {
            // As redis: a valid counter with no deletion ahead counts on; otherwise it is
            // estimated again from the entry's position.
            self.entries_read = match self.entries_read {
                Some(r) if !basis.tombstone_from(*id) => Some(r + 1),
                r if basis.entries_added == 0 => r,
                _ => basis.estimate(*id),
            };
            self.last_id = *id;
            if noack {
                continue;
            }
            if let Some(old) = self.pel.get(id) {
                let prev = old.consumer.clone();
                if let Some(pc) = self.consumers.get_mut(&prev) {
                    pc.pending.remove(id);
                }
            }
            self.pel.insert(
                *id,
                PendingEntry {
                    consumer: consumer.to_vec(),
                    delivery_time: now,
                    delivery_count: 1,
                },
            );
            self.consumers
                .entry(consumer.to_vec())
                .or_default()
                .pending
                .insert(*id);
        }
        new
    }
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }

    pub fn approx_bytes(&self) -> usize {
        self.entries
            .values()
            .map(|f| 32 + f.iter().map(|(a, b)| a.len() + b.len() + 32).sum::<usize>())
            .sum()
    }

    /// Removes entries per MAXLEN/MINID. Approximate trimming (`~`) removes only whole blocks of
    /// `node_size` entries, like redis removing whole listpack nodes; `limit` caps the removals.
    pub fn trim(
        &mut self,
        maxlen: Option<usize>,
        minid: Option<StreamId>,
        approx: bool,
        limit: usize,
        node_size: usize,
    ) -> usize {
        let mut victims: Vec<StreamId> = Vec::new();
        let len = self.entries.len();
        let wanted = match (maxlen, minid) {
            (Some(max), _) => len.saturating_sub(max),
            (None, Some(min)) => self.entries.range(..min).count(),
            _ => 0,
        };
        let n = if approx {
            // Whole nodes only: entries fill nodes of `node_size` in insertion order, so the
            // head node holds what is left of its block; remove nodes while they fit.
            let node = node_size.max(1);
            let first_index = (self.entries_added as usize).saturating_sub(len);
            let mut head = (node - first_index % node).min(len);
            let mut removed = 0;
            while head > 0 && removed + head <= wanted {
                removed += head;
                head = node.min(len - removed);
            }
            removed
        } else {
            wanted
        };
        victims.extend(self.entries.keys().take(n).copied());
        if limit > 0 {
            victims.truncate(limit);
        }
        for v in &victims {
            self.entries.remove(v);
        }
        victims.len()
    }

    /// Logical position of `id` among all entries ever added, when it can be known
    /// (redis's `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_read(&self, id: StreamId) -> Option<u64> {
        self.counter_basis().estimate(id)
    }

    /// What a group's read counter is worked out from; fixed while a read runs.
    pub fn counter_basis(&self) -> CounterBasis {
        CounterBasis {
            first_id: self.first_id(),
            last_id: self.last_id,
            max_deleted: self.max_deleted,
            entries_added: self.entries_added,
            len: self.len() as u64,
        }
    }

    /// Entries the group has not read yet (XINFO `lag`), possibly negative, or unknown.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let tombstones = self.max_deleted != StreamId::MIN && self.max_deleted > g.last_id;
        match g.entries_read {
            Some(r) if !tombstones && g.last_id >= self.first_id() => {
                Some(self.entries_added as i64 - r as i64)
            }
            _ => self
                .estimate_read(g.last_id)
                .map(|r| self.entries_added as i64 - r as i64),
        }
    }
}

/// Conversion to and from the `rdb` crate's model, which DUMP/RESTORE, snapshots, AOF rewrite
/// and full resynchronization all go through.
impl Stream {
    pub fn to_rdb(&self) -> rdb::Stream {
        let id = |i: StreamId| rdb::stream::StreamId {
            ms: i.ms,
            seq: i.seq,
        };
        rdb::Stream {
            entries: self
                .entries
                .iter()
                .map(|(i, fields)| rdb::stream::StreamEntry {
                    id: id(*i),
                    fields: fields
                        .iter()
                        .map(|(f, v)| (f.to_vec(), v.to_vec()))
                        .collect(),
                })
                .collect(),
            last_id: id(self.last_id),
            first_id: id(self.first_id()),
            max_deleted_id: id(self.max_deleted),
            entries_added: self.entries_added,
            groups: self
                .groups
                .iter()
                .map(|(name, g)| rdb::stream::ConsumerGroup {
                    name: name.clone(),
                    last_id: id(g.last_id),
                    entries_read: g.entries_read,
                    pending: g
                        .pel
                        .iter()
                        .map(|(i, p)| rdb::stream::PendingEntry {
                            id: id(*i),
                            consumer: p.consumer.clone(),
                            delivery_time_ms: p.delivery_time,
                            delivery_count: p.delivery_count,
                        })
                        .collect(),
                    consumers: g
                        .consumers
                        .iter()
                        .map(|(name, c)| rdb::stream::Consumer {
                            name: name.clone(),
                            seen_time_ms: c.seen_time,
                            // Redis 7.0 keeps no separate active time; 7.2 takes the seen time.
                            active_time_ms: c.seen_time,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The stream of an RDB value. Its recorded first ID is not kept: ours is always the first
    /// entry's (0-0 when empty), which is what Redis records too.
    pub fn from_rdb(s: rdb::Stream) -> Stream {
        let id = |i: rdb::stream::StreamId| StreamId {
            ms: i.ms,
            seq: i.seq,
        };
        let groups = s
            .groups
            .into_iter()
            .map(|g| {
                let mut consumers: BTreeMap<Vec<u8>, Consumer> = g
                    .consumers
                    .into_iter()
                    .map(|c| {
                        let consumer = Consumer {
                            seen_time: c.seen_time_ms,
                            pending: Default::default(),
                        };
                        (c.name, consumer)
                    })
                    .collect();
                let mut pel = BTreeMap::new();
                for p in g.pending {
                    let pid = id(p.id);
                    consumers
                        .entry(p.consumer.clone())
                        .or_default()
                        .pending
                        .insert(pid);
                    pel.insert(
                        pid,
                        PendingEntry {
                            consumer: p.consumer,
                            delivery_time: p.delivery_time_ms,
                            delivery_count: p.delivery_count,
                        },
                    );
                }
                let group = Group {
                    last_id: id(g.last_id),
                    entries_read: g.entries_read,
                    pel,
                    consumers,
                };
                (g.name, group)
            })
            .collect();
        Stream {
            entries: s
                .entries
                .into_iter()
                .map(|e| {
                    let fields = e
                        .fields
                        .into_iter()
                        .map(|(f, v)| (f.into_boxed_slice(), v.into_boxed_slice()))
                        .collect();
                    (id(e.id), fields)
                })
                .collect(),
            last_id: id(s.last_id),
            max_deleted: id(s.max_deleted_id),
            entries_added: s.entries_added,
            groups,
        }
    }
}
