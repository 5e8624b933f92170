//! Snapshot files (issue 5): the snapshot store and the worker that fills it.
//!
//! ```text
//!   <data>/snapshots/<name>.rdb        one file per available snapshot (size + SHA-256 in its record)
//!   <data>/snapshots/.staging/<id>.rdb restore data validated and waiting for a new cluster's node
//!   <data>/buckets/<bucket>/<key>      what `arn:aws:s3:::bucket/key` names (SnapshotArns seeds)
//! ```
//!
//! Every file appears by rename of a fsynced temporary file, so a snapshot is complete (its
//! checksum is verified again before every use) or it does not exist.
//!
//! The worker runs on a thread of its own, every `TICK` and independent of the reconciler, so
//! a long snapshot does not hold up node health checks:
//!
//! ```text
//!   due work (automatic snapshots in the window, retention)          [one write]
//!   snapshots `creating`: BGSAVE on the node (or the source file of a copy) ─▶ store
//!                                                                     [one write each: finish]
//!   restoring clusters: source ─▶ rdb reader (whole file) ─▶ fits the node? ─▶ staging
//!                                                                     [one write each]
//!   files no record names any more are removed
//! ```

use crate::catalog;
use crate::model::*;
use crate::ops::snapshots as rules;
use crate::plane::ControlPlane;
use crate::provisioner::Provisioner;
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the worker looks for work.
const TICK: Duration = Duration::from_millis(300);

/// The local snapshot store.
pub struct SnapshotStore {
    dir: PathBuf,
    staging: PathBuf,
}

impl SnapshotStore {
    pub fn open(data_dir: &Path) -> std::io::Result<SnapshotStore> {
        let dir = data_dir.join("snapshots");
        let staging = dir.join(".staging");
        std::fs::create_dir_all(&staging)?;
        Ok(SnapshotStore { dir, staging })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.rdb"))
    }

    /// Stores a copy of `src` as snapshot `name`; returns its size and SHA-256.
    pub fn put(&self, name: &str, src: &Path) -> std::io::Result<(u64, String)> {
        copy_atomic(src, &self.path(name))
    }

    /// The file of an available snapshot, after checking it is the one that was stored.
    pub fn verified(&self, snap: &Snapshot) -> Result<PathBuf, String> {
        let path = self.path(&snap.name);
        let (size, sha) =
            hash_file(&path).map_err(|e| format!("reading snapshot {}: {e}", snap.name))?;
        if size != snap.size || sha != snap.sha256 {
            return Err(format!(
                "snapshot {} is damaged (checksum mismatch)",
                snap.name
            ));
        }
        Ok(path)
    }

    /// Copies restore data into the staging area for a new cluster.
    pub fn stage(&self, cluster_id: &str, src: &Path) -> std::io::Result<PathBuf> {
        let target = self.staging.join(format!("{cluster_id}.rdb"));
        copy_atomic(src, &target)?;
        Ok(target)
    }

    /// Removes files no record needs: deleted snapshots, restores that are over, temporaries
    /// left by a crash.
    pub fn collect_garbage(&self, state: &State) {
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let keep = match file.strip_suffix(".rdb") {
                Some(name) if !file.starts_with('.') => state.snapshots.contains_key(name),
                _ => entry.path() == self.staging,
            };
            if !keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let staged: Vec<PathBuf> = state
            .clusters
            .values()
            .filter_map(|c| c.restore.as_ref()?.staged.as_ref().map(PathBuf::from))
            .collect();
        for entry in std::fs::read_dir(&self.staging)
            .into_iter()
            .flatten()
            .flatten()
        {
            if !staged.contains(&entry.path()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Copies `src` to `dst` through a temporary file in `dst`'s directory: write, fsync, rename,
/// fsync the directory. Returns the size and SHA-256 of what was written.
fn copy_atomic(src: &Path, dst: &Path) -> std::io::Result<(u64, String)> {
    let dir = dst.parent().unwrap_or(Path::new("."));
    let file_name = dst
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{file_name}", std::process::id()));
    let result = (|| {
        let mut input = BufReader::new(std::fs::File::open(src)?);
        let mut out = std::fs::File::create(&tmp)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            size += n as u64;
        }
        out.sync_all()?;
        drop(out);
        std::fs::rename(&tmp, dst)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok((size, format!("{:x}", hasher.finalize())))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut input = BufReader::new(std::fs::File::open(path)?);
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut input, &mut hasher)?;
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// Databases a node has (Redis's `databases`, not modifiable in ElastiCache).
const NODE_DATABASES: u32 = 16;

/// Reads a whole RDB file with the `rdb` reader (every record, the end marker and the
/// checksum), so a corrupt or truncated file, or one a node could not load, is refused before a
/// node tries. Returns the number of keys.
pub fn validate_rdb(path: &Path) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader =
        rdb::Reader::new(BufReader::new(file)).map_err(|e| format!("not a valid RDB file: {e}"))?;
    let mut keys = 0;
    while let Some(entry) = reader
        .next_entry()
        .map_err(|e| format!("not a valid RDB file: {e}"))?
    {
        if entry.db >= NODE_DATABASES {
            return Err(format!(
                "the file uses database {}; a node has {NODE_DATABASES}",
                entry.db
            ));
        }
        keys += 1;
    }
    Ok(keys)
}

/// The snapshot worker.
pub struct Snapshotter {
    plane: Arc<ControlPlane>,
    provisioner: Arc<dyn Provisioner>,
    store: SnapshotStore,
    /// Where `arn:aws:s3:::bucket/key` seeds are looked up: `<data>/buckets/bucket/key`.
    buckets: PathBuf,
}

impl Snapshotter {
    pub fn new(
        plane: Arc<ControlPlane>,
        provisioner: Arc<dyn Provisioner>,
        data_dir: &Path,
    ) -> std::io::Result<Snapshotter> {
        let buckets = data_dir.join("buckets");
        std::fs::create_dir_all(&buckets)?;
        Ok(Snapshotter {
            plane,
            provisioner,
            store: SnapshotStore::open(data_dir)?,
            buckets,
        })
    }

    pub fn spawn(self) -> std::thread::JoinHandle<()> {
        std::thread::Builder::new()
            .name("snapshots".into())
            .spawn(move || loop {
                self.pass();
                std::thread::sleep(TICK);
            })
            .expect("spawning the snapshot worker")
    }

    /// One look at everything.
    pub fn pass(&self) {
        if let Err(f) = self.plane.write(|state, settings| {
            rules::due_work(state, settings);
            Ok(())
        }) {
            tracing::error!("snapshots: {f}");
        }
        let state = self.plane.snapshot();
        for snap in state.snapshots.values() {
            if snap.status != snapshot_status::CREATING {
                continue;
            }
            let result = self.take(&state, snap);
            if let Err(why) = &result {
                tracing::warn!(snapshot = %snap.name, "snapshot failed: {why}");
            }
            self.commit(|state, settings| rules::finish(state, settings, &snap.name, result));
        }
        for cluster in state.clusters.values() {
            let Some(restore) = &cluster.restore else {
                continue;
            };
            if cluster.status == cluster_status::CREATING && restore.staged.is_none() {
                let result = self
                    .prepare(&state, cluster, restore)
                    .map(|p| p.to_string_lossy().into_owned());
                if let Err(why) = &result {
                    tracing::warn!(cluster = %cluster.id, "restore failed: {why}");
                }
                self.commit(|state, settings| {
                    rules::restore_prepared(state, settings, &cluster.id, result)
                });
            } else if cluster.status == cluster_status::AVAILABLE {
                self.commit(|state, _| rules::restore_done(state, &cluster.id));
            }
        }
        self.store.collect_garbage(&self.plane.snapshot());
    }

    fn commit(&self, f: impl FnOnce(&mut State, &crate::plane::Settings)) {
        if let Err(fault) = self.plane.write(|state, settings| {
            f(state, settings);
            Ok(())
        }) {
            tracing::error!("snapshots: {fault}");
        }
    }

    /// Takes one snapshot: the node's RDB (or, for a copy, the source snapshot's file) into
    /// the store.
    fn take(&self, state: &State, snap: &Snapshot) -> Result<(u64, String), String> {
        let file = match &snap.copy_of {
            Some(source) => {
                let src = state
                    .snapshots
                    .get(source)
                    .filter(|s| s.status == snapshot_status::AVAILABLE)
                    .ok_or_else(|| format!("the source snapshot {source} is gone"))?;
                self.store.verified(src)?
            }
            None => {
                let cluster = state
                    .clusters
                    .get(&snap.cluster.id)
                    .ok_or("the cache cluster is gone")?;
                let process = cluster
                    .node(&snap.node_id)
                    .and_then(|n| n.process.as_ref())
                    .ok_or_else(|| format!("cache node {} is not running", snap.node_id))?;
                self.provisioner
                    .save_rdb(&cluster.id, &snap.node_id, process)
                    .map_err(|e| format!("{e:#}"))?
            }
        };
        self.store
            .put(&snap.name, &file)
            .map_err(|e| format!("storing the snapshot: {e}"))
    }

    /// Finds, validates and stages a restoring cluster's data.
    fn prepare(
        &self,
        state: &State,
        cluster: &Cluster,
        restore: &Restore,
    ) -> Result<PathBuf, String> {
        let source = match &restore.source {
            RestoreSource::Snapshot(name) => {
                let snap = state
                    .snapshots
                    .get(name)
                    .ok_or_else(|| format!("snapshot {name} was deleted"))?;
                self.store.verified(snap)?
            }
            RestoreSource::Object(arn) => {
                let (bucket, key) = rules::parse_object_arn(arn).map_err(|f| f.message)?;
                let path = self.buckets.join(bucket).join(key);
                if !path.is_file() {
                    return Err(format!("the object {arn} does not exist"));
                }
                path
            }
        };
        validate_rdb(&source)?;
        let size = std::fs::metadata(&source).map_err(|e| e.to_string())?.len();
        // The guide: the data must fit the node. The file is the data's smallest form, so a
        // file larger than the node's memory cannot fit.
        if let Some(t) = catalog::node_type(&cluster.node_type) {
            if size > t.maxmemory {
                return Err(format!(
                    "the data ({size} bytes) does not fit a {} node ({} bytes)",
                    cluster.node_type, t.maxmemory
                ));
            }
        }
        self.store
            .stage(&cluster.id, &source)
            .map_err(|e| format!("staging the data: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Engine;
    use crate::ops::tests::{plane, redis};
    use crate::provisioner::{DiscoveryEntry, Health, NodeSpec};

    fn rdb_file(path: &Path, keys: usize) {
        let mut w = rdb::Writer::new(Vec::new()).unwrap();
        w.select_db(0, None).unwrap();
        for i in 0..keys {
            w.entry(
                format!("k{i}").as_bytes(),
                &rdb::Value::String(b"v".to_vec()),
                None,
            )
            .unwrap();
        }
        std::fs::write(path, w.finish().unwrap()).unwrap();
    }

    #[test]
    fn the_store_keeps_whole_checksummed_files_and_collects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path()).unwrap();
        let src = dir.path().join("src.rdb");
        rdb_file(&src, 3);
        assert_eq!(validate_rdb(&src), Ok(3));
        let (size, sha) = store.put("one", &src).unwrap();
        assert_eq!(size, std::fs::metadata(&src).unwrap().len());
        let (p, _) = plane();
        p.create_cache_cluster(redis("r")).unwrap();
        let cluster = p.snapshot().clusters["r"].clone();
        let mut snap = Snapshot {
            name: "one".into(),
            status: snapshot_status::AVAILABLE.into(),
            source: "manual".into(),
            cluster,
            node_id: "0001".into(),
            created: Timestamp(0),
            copy_of: None,
            size,
            sha256: sha,
        };
        assert_eq!(store.verified(&snap).unwrap(), store.path("one"));
        snap.sha256 = "00".into();
        assert!(store.verified(&snap).unwrap_err().contains("damaged"));

        // Truncated and foreign files are refused by the reader.
        let bytes = std::fs::read(&src).unwrap();
        let bad = dir.path().join("bad.rdb");
        std::fs::write(&bad, &bytes[..bytes.len() - 5]).unwrap();
        assert!(validate_rdb(&bad).is_err());
        std::fs::write(&bad, b"not an rdb at all").unwrap();
        assert!(validate_rdb(&bad).is_err());
        let mut w = rdb::Writer::new(Vec::new()).unwrap();
        w.select_db(16, None).unwrap();
        w.entry(b"k", &rdb::Value::String(b"v".to_vec()), None)
            .unwrap();
        std::fs::write(&bad, w.finish().unwrap()).unwrap();
        assert!(validate_rdb(&bad).unwrap_err().contains("database 16"));

        // A failed copy leaves nothing behind.
        assert!(store.put("two", &dir.path().join("missing.rdb")).is_err());
        assert!(!store.path("two").exists());

        // Files no record names, and crash leftovers, go.
        std::fs::write(dir.path().join("snapshots").join(".tmp-1-x.rdb"), b"x").unwrap();
        let mut state = State::default();
        state.snapshots.insert("one".into(), snap.clone());
        store.collect_garbage(&state);
        let left: Vec<String> = std::fs::read_dir(dir.path().join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}"); // one.rdb and .staging
        state.snapshots.clear();
        store.collect_garbage(&state);
        assert!(!store.path("one").exists());
    }

    /// Nodes that cannot save: every snapshot of them fails.
    struct BrokenDisk;

    impl Provisioner for BrokenDisk {
        fn start(&self, _: &NodeSpec) -> anyhow::Result<ProcessRecord> {
            anyhow::bail!("unused")
        }
        fn stop(&self, _: &str, _: &str, _: &ProcessRecord) -> anyhow::Result<()> {
            Ok(())
        }
        fn health(&self, _: Engine, _: &ProcessRecord) -> Health {
            Health::Ready
        }
        fn set_params(
            &self,
            _: Engine,
            _: &ProcessRecord,
            _: &[(String, String)],
        ) -> anyhow::Result<()> {
            Ok(())
        }
        fn set_discovery(
            &self,
            _: &ProcessRecord,
            _: u64,
            _: &[DiscoveryEntry],
        ) -> anyhow::Result<()> {
            Ok(())
        }
        fn sweep(&self, _: &[(String, String)]) {}
        fn last_words(&self, _: &str, _: &str) -> Option<String> {
            None
        }
        fn save_rdb(&self, _: &str, _: &str, _: &ProcessRecord) -> anyhow::Result<PathBuf> {
            anyhow::bail!("No space left on device (os error 28)")
        }
    }

    #[test]
    fn a_snapshot_the_node_cannot_write_fails_with_the_event_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = plane();
        let p = Arc::new(p);
        p.create_cache_cluster(redis("r")).unwrap();
        p.write(|s, _| {
            let c = s.clusters.get_mut("r").unwrap();
            c.status = cluster_status::AVAILABLE.into();
            for n in &mut c.nodes {
                n.status = node_status::AVAILABLE.into();
                n.process = Some(ProcessRecord {
                    pid: 1,
                    control_socket: "x".into(),
                    started: Timestamp(0),
                });
            }
            Ok(())
        })
        .unwrap();
        let worker = Snapshotter::new(p.clone(), Arc::new(BrokenDisk), dir.path()).unwrap();
        p.create_snapshot(Some("r"), "s", &[]).unwrap();
        assert_eq!(
            p.snapshot().clusters["r"].status,
            cluster_status::SNAPSHOTTING
        );
        worker.pass();
        let s = p.snapshot();
        assert_eq!(s.snapshots["s"].status, snapshot_status::FAILED);
        assert_eq!(s.clusters["r"].status, cluster_status::AVAILABLE);
        let failed = s
            .events
            .values()
            .find(|e| e.name == "ElastiCache:SnapshotFailed")
            .unwrap();
        assert!(
            failed.message.contains("No space left"),
            "{}",
            failed.message
        );
        assert!(!worker.store.path("s").exists());
        // A failed snapshot can be deleted.
        p.delete_snapshot("s").unwrap();
    }
}
