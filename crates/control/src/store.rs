//! The state store: where `State` lives between restarts.
//!
//! The interface is deliberately narrow, a key/value space of JSON documents grouped by kind,
//! loaded whole at start and changed by atomic batches, so another backend (etcd) can take
//! SQLite's place. Every API write becomes exactly one batch, i.e. one SQLite transaction,
//! committed before the API answers.

use crate::model::*;
use rusqlite::{params, Connection};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The kinds of document; each is a table in SQLite and a key prefix in etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cluster,
    ParameterGroup,
    SecurityGroup,
    SubnetGroup,
    Event,
    Tags,
    ReservedNode,
    Meta,
    Snapshot,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Cluster,
        Kind::ParameterGroup,
        Kind::SecurityGroup,
        Kind::SubnetGroup,
        Kind::Event,
        Kind::Tags,
        Kind::ReservedNode,
        Kind::Meta,
        Kind::Snapshot,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Kind::Cluster => "clusters",
            Kind::ParameterGroup => "parameter_groups",
            Kind::SecurityGroup => "security_groups",
            Kind::SubnetGroup => "subnet_groups",
            Kind::Event => "events",
            Kind::Tags => "tags",
            Kind::ReservedNode => "reserved_nodes",
            Kind::Meta => "meta",
            Kind::Snapshot => "snapshots",
        }
    }
}

/// One change of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Put {
        kind: Kind,
        key: String,
        doc: String,
    },
    Delete {
        kind: Kind,
        key: String,
    },
}

/// A place that keeps documents.
pub trait Store: Send {
    /// Every document, by kind.
    fn load(&mut self) -> anyhow::Result<Vec<(Kind, String, String)>>;
    /// Applies a batch atomically: all of it or none of it.
    fn commit(&mut self, batch: &[Change]) -> anyhow::Result<()>;
}

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    // 1: one table of documents per kind.
    "CREATE TABLE clusters (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE parameter_groups (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE security_groups (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE subnet_groups (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE events (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE tags (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE reserved_nodes (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
     CREATE TABLE meta (key TEXT PRIMARY KEY, doc TEXT NOT NULL);",
    // 2: snapshots (issue 5).
    "CREATE TABLE snapshots (key TEXT PRIMARY KEY, doc TEXT NOT NULL);",
];

/// SQLite in one file, WAL journal, full sync: a committed batch survives a crash of the
/// process and of the machine.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = SqliteStore { conn };
        store.migrate()?;
        Ok(store)
    }

    pub fn in_memory() -> anyhow::Result<SqliteStore> {
        let mut store = SqliteStore {
            conn: Connection::open_in_memory()?,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        let applied: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        anyhow::ensure!(
            applied <= MIGRATIONS.len(),
            "the state database has schema version {applied}, newer than this binary knows ({})",
            MIGRATIONS.len()
        );
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn load(&mut self) -> anyhow::Result<Vec<(Kind, String, String)>> {
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT key, doc FROM {} ORDER BY key",
                kind.table()
            ))?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (key, doc) = row?;
                out.push((kind, key, doc));
            }
        }
        Ok(out)
    }

    fn commit(&mut self, batch: &[Change]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        for change in batch {
            match change {
                Change::Put { kind, key, doc } => {
                    tx.execute(
                        &format!(
                            "INSERT INTO {} (key, doc) VALUES (?1, ?2)
                             ON CONFLICT(key) DO UPDATE SET doc = excluded.doc",
                            kind.table()
                        ),
                        params![key, doc],
                    )?;
                }
                Change::Delete { kind, key } => {
                    tx.execute(
                        &format!("DELETE FROM {} WHERE key = ?1", kind.table()),
                        params![key],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Rebuilds the state from stored documents.
pub fn decode(docs: Vec<(Kind, String, String)>) -> anyhow::Result<State> {
    fn parse<T: DeserializeOwned>(kind: Kind, key: &str, doc: &str) -> anyhow::Result<T> {
        serde_json::from_str(doc)
            .map_err(|e| anyhow::anyhow!("stored {} {key:?} is unreadable: {e}", kind.table()))
    }
    let mut state = State::default();
    for (kind, key, doc) in docs {
        match kind {
            Kind::Cluster => {
                state.clusters.insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::ParameterGroup => {
                state
                    .parameter_groups
                    .insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::SecurityGroup => {
                state
                    .security_groups
                    .insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::SubnetGroup => {
                state
                    .subnet_groups
                    .insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::Event => {
                let event: Event = parse(kind, &key, &doc)?;
                state.events.insert(event.seq, event);
            }
            Kind::Tags => {
                state.tags.insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::ReservedNode => {
                state
                    .reserved_nodes
                    .insert(key.clone(), parse(kind, &key, &doc)?);
            }
            Kind::Meta => state.meta = Some(parse(kind, &key, &doc)?),
            Kind::Snapshot => {
                state
                    .snapshots
                    .insert(key.clone(), parse(kind, &key, &doc)?);
            }
        }
    }
    Ok(state)
}

/// The batch that turns `old` into `new`.
pub fn diff(old: &State, new: &State) -> Vec<Change> {
    let mut batch = Vec::new();
    diff_table(Kind::Cluster, &old.clusters, &new.clusters, &mut batch);
    diff_table(
        Kind::ParameterGroup,
        &old.parameter_groups,
        &new.parameter_groups,
        &mut batch,
    );
    diff_table(
        Kind::SecurityGroup,
        &old.security_groups,
        &new.security_groups,
        &mut batch,
    );
    diff_table(
        Kind::SubnetGroup,
        &old.subnet_groups,
        &new.subnet_groups,
        &mut batch,
    );
    let event_key = |seq: &u64| format!("{seq:020}");
    let old_events: BTreeMap<String, &Event> =
        old.events.iter().map(|(k, v)| (event_key(k), v)).collect();
    let new_events: BTreeMap<String, &Event> =
        new.events.iter().map(|(k, v)| (event_key(k), v)).collect();
    diff_table(Kind::Event, &old_events, &new_events, &mut batch);
    diff_table(Kind::Tags, &old.tags, &new.tags, &mut batch);
    diff_table(
        Kind::ReservedNode,
        &old.reserved_nodes,
        &new.reserved_nodes,
        &mut batch,
    );
    diff_table(Kind::Snapshot, &old.snapshots, &new.snapshots, &mut batch);
    if old.meta != new.meta {
        if let Some(meta) = &new.meta {
            batch.push(Change::Put {
                kind: Kind::Meta,
                key: "meta".into(),
                doc: to_doc(meta),
            });
        }
    }
    batch
}

fn diff_table<T: Serialize + PartialEq>(
    kind: Kind,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    batch: &mut Vec<Change>,
) {
    for (key, value) in new {
        if old.get(key) != Some(value) {
            batch.push(Change::Put {
                kind,
                key: key.clone(),
                doc: to_doc(value),
            });
        }
    }
    for key in old.keys() {
        if !new.contains_key(key) {
            batch.push(Change::Delete {
                kind,
                key: key.clone(),
            });
        }
    }
}

fn to_doc<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str) -> ParameterGroup {
        ParameterGroup {
            name: name.into(),
            family: "redis2.8".into(),
            description: "d".into(),
            values: BTreeMap::from([("timeout".into(), "5".into())]),
        }
    }

    #[test]
    fn batches_round_trip_through_sqlite_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut state = State::default();
        {
            let mut store = SqliteStore::open(&path).unwrap();
            let mut next = state.clone();
            next.parameter_groups.insert("a".into(), group("a"));
            next.parameter_groups.insert("b".into(), group("b"));
            next.events.insert(
                7,
                Event {
                    seq: 7,
                    source_identifier: "a".into(),
                    source_type: "cache-parameter-group".into(),
                    message: "m".into(),
                    name: "n".into(),
                    date: Timestamp(1),
                },
            );
            next.meta = Some(Meta {
                loopback_base: [9, 9],
                next_address: 3,
                next_event_seq: 8,
            });
            store.commit(&diff(&state, &next)).unwrap();
            state = next;
            let mut next = state.clone();
            next.parameter_groups.remove("a");
            let batch = diff(&state, &next);
            assert_eq!(
                batch,
                vec![Change::Delete {
                    kind: Kind::ParameterGroup,
                    key: "a".into()
                }]
            );
            store.commit(&batch).unwrap();
            state = next;
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(decode(store.load().unwrap()).unwrap(), state);
    }

    #[test]
    fn an_unchanged_state_makes_an_empty_batch() {
        let mut state = State::default();
        state.parameter_groups.insert("a".into(), group("a"));
        assert!(diff(&state, &state.clone()).is_empty());
    }

    #[test]
    fn a_failed_batch_changes_nothing() {
        let mut store = SqliteStore::in_memory().unwrap();
        store
            .commit(&[Change::Put {
                kind: Kind::Tags,
                key: "x".into(),
                doc: "[]".into(),
            }])
            .unwrap();
        store.conn.execute_batch("CREATE TRIGGER no_meta BEFORE INSERT ON meta BEGIN SELECT RAISE(ABORT, 'refused'); END;").unwrap();
        let batch = [
            Change::Delete {
                kind: Kind::Tags,
                key: "x".into(),
            },
            Change::Put {
                kind: Kind::Meta,
                key: "meta".into(),
                doc: "{}".into(),
            },
        ];
        assert!(store.commit(&batch).is_err());
        assert_eq!(store.load().unwrap().len(), 1);
    }
}
