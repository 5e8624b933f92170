//! Snapshots (issue 5): CreateSnapshot, DescribeSnapshots, CopySnapshot, DeleteSnapshot, and
//! the snapshot rules other operations borrow: restore and seed on CreateCacheCluster, the final
//! snapshot on DeleteCacheCluster, automatic snapshots in the snapshot window and their
//! retention, and what the reconciler must wait for.
//!
//! Everything here changes records only. The files (taking a node's RDB, storing, copying,
//! validating a seed) are the snapshot worker's, `crate::snapshots`, which moves a snapshot from
//! `creating` to `available`/`failed` and a restore from "waiting" to "staged" or
//! `restore-failed`.

use crate::catalog::{self, Engine};
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::ops::clusters::CreateCluster;
use crate::plane::{emit, ControlPlane, Settings};
use time::OffsetDateTime;

/// The guide: no more than 20 manual snapshots per cluster in any contiguous 24 hours.
pub const MANUAL_PER_DAY: usize = 20;
/// `SnapshotSource` values of a snapshot.
pub const SOURCE_MANUAL: &str = "manual";
pub const SOURCE_AUTOMATED: &str = "automated";

/// A snapshot as DescribeSnapshots shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotView {
    pub snapshot: Snapshot,
    pub arn: String,
    pub show_node_group_config: bool,
    /// DeleteSnapshot answers with the snapshot as `deleting`.
    pub status_override: Option<&'static str>,
}

fn view(settings: &Settings, s: &Snapshot) -> SnapshotView {
    SnapshotView {
        snapshot: s.clone(),
        arn: settings.arn("snapshot", &s.name),
        show_node_group_config: false,
        status_override: None,
    }
}

/// DescribeSnapshots' filters.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    pub cache_cluster_id: Option<String>,
    /// Snapshots of the group's member clusters (issue 6).
    pub replication_group_id: Option<String>,
    pub snapshot_name: Option<String>,
    /// `user` (manual) or `system` (automatic).
    pub snapshot_source: Option<String>,
    pub show_node_group_config: bool,
    pub marker: Option<String>,
    pub max_records: Option<i32>,
}

fn not_found(name: &str) -> Fault {
    Fault::snapshot_not_found(format!("Snapshot {name} not found."))
}

/// Snapshot names: 1–255 letters, digits and hyphens, starting with a letter, no trailing or
/// double hyphen (the cluster id rules, longer). Automatic names (`automatic.`) are ours only.
pub fn check_name(name: &str) -> Result<()> {
    let bad =
        |why: &str| Fault::invalid_parameter_value(format!("Invalid SnapshotName: {name}. {why}"));
    if name.is_empty() || name.len() > 255 {
        return Err(bad(
            "It must contain from 1 to 255 alphanumeric characters or hyphens.",
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(bad(
            "It must contain only ASCII letters, digits, and hyphens.",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad("It must begin with a letter."));
    }
    if name.ends_with('-') || name.contains("--") {
        return Err(bad(
            "It cannot end with a hyphen or contain two consecutive hyphens.",
        ));
    }
    Ok(())
}

/// Whether a cluster of this engine and node type can be snapshotted or restored into
/// (behaviour.md §4.4: Redis only, not t1/t2).
pub fn check_supported(engine: Engine, node_type: &str) -> Result<()> {
    if engine != Engine::Redis {
        return Err(Fault::snapshot_feature_not_supported(
            "Snapshots are supported only for Redis clusters.",
        ));
    }
    if catalog::is_burstable(node_type) {
        return Err(Fault::snapshot_feature_not_supported(format!(
            "Snapshots are not supported on {node_type} nodes."
        )));
    }
    Ok(())
}

/// `hh24:mi-hh24:mi` as (start minute of day, length in minutes).
pub fn parse_window(w: &str) -> Option<(u32, u32)> {
    let (a, b) = w.split_once('-')?;
    let minute = |t: &str| -> Option<u32> {
        let (h, m) = t.split_once(':')?;
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (start, end) = (minute(a)?, minute(b)?);
    Some((start, (end + 1440 - start) % 1440))
}

/// A snapshot window must last at least 60 minutes (behaviour.md §4.4).
pub fn check_window_length(w: &str) -> Result<()> {
    match parse_window(w) {
        Some((_, len)) if len >= 60 => Ok(()),
        _ => Err(Fault::invalid_parameter_value(format!(
            "Invalid SnapshotWindow: {w}. The window must be at least 60 minutes long."
        ))),
    }
}

/// A 60-minute window starting at a random hour, for clusters created without one, clear of
/// the time of day of the maintenance window (a snapshot and maintenance do not run together).
pub fn assign_window(maintenance: &crate::rules::Window) -> String {
    let m_start = maintenance.start % 1440;
    let overlaps = |h: u32| {
        let start = h * 60;
        // Two ranges on a 1440-minute circle meet if either starts inside the other.
        (start + 1440 - m_start) % 1440 < maintenance.minutes
            || (m_start + 1440 - start) % 1440 < 60
    };
    let free: Vec<u32> = (0..24).filter(|h| !overlaps(*h)).collect();
    let h = match free.len() {
        0 => rand::random::<u32>() % 24,
        n => free[rand::random::<usize>() % n],
    };
    format!("{h:02}:00-{:02}:00", (h + 1) % 24)
}

fn in_window(w: &str, at: OffsetDateTime) -> bool {
    let Some((start, len)) = parse_window(w) else {
        return false;
    };
    let now = u32::from(at.hour()) * 60 + u32::from(at.minute());
    (now + 1440 - start) % 1440 < len
}

/// Records a new snapshot of `cluster` in `creating` and marks the cluster `snapshotting`
/// (unless it is being deleted: a final snapshot). The cluster's tags go to the snapshot.
fn begin(
    state: &mut State,
    settings: &Settings,
    cluster: &Cluster,
    name: &str,
    source: &str,
    extra_tags: &[Tag],
) -> Result<Snapshot> {
    if state.snapshots.contains_key(name) {
        return Err(Fault::snapshot_already_exists(format!(
            "Snapshot {name} already exists."
        )));
    }
    let node = cluster.members().next().ok_or_else(|| {
        Fault::invalid_cache_cluster_state(format!("Cache cluster {} has no nodes.", cluster.id))
    })?;
    let snapshot = Snapshot {
        name: name.to_string(),
        status: snapshot_status::CREATING.into(),
        source: source.into(),
        cluster: cluster.clone(),
        node_id: node.id.clone(),
        created: settings.now(),
        copy_of: None,
        size: 0,
        sha256: String::new(),
    };
    let mut tags = state
        .tags
        .get(&settings.arn("cluster", &cluster.id))
        .cloned()
        .unwrap_or_default();
    merge_tags(&mut tags, extra_tags);
    if !tags.is_empty() {
        state.tags.insert(settings.arn("snapshot", name), tags);
    }
    state.snapshots.insert(name.to_string(), snapshot.clone());
    if cluster.status == cluster_status::AVAILABLE {
        if let Some(c) = state.clusters.get_mut(&cluster.id) {
            c.status = cluster_status::SNAPSHOTTING.into();
        }
    }
    Ok(snapshot)
}

fn merge_tags(tags: &mut Vec<Tag>, extra: &[Tag]) {
    for t in extra {
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(x) => x.value = t.value.clone(),
            None => tags.push(t.clone()),
        }
    }
}

/// A cluster may be snapshotted now: Redis, not t1/t2, available.
fn check_can_snapshot(cluster: &Cluster) -> Result<()> {
    check_supported(cluster.engine, &cluster.node_type)?;
    if cluster.status != cluster_status::AVAILABLE {
        return Err(Fault::invalid_cache_cluster_state(format!(
            "Cache cluster {} is not in the available state (it is {}).",
            cluster.id, cluster.status
        )));
    }
    Ok(())
}

/// DeleteCacheCluster with FinalSnapshotIdentifier: the snapshot is recorded here, before the
/// cluster turns `deleting`; the reconciler keeps the node until the worker has taken it.
pub fn final_snapshot(
    state: &mut State,
    settings: &Settings,
    cluster: &Cluster,
    name: &str,
) -> Result<()> {
    if cluster.engine != Engine::Redis {
        return Err(Fault::invalid_parameter_combination(
            "FinalSnapshotIdentifier is supported only for Redis clusters.",
        ));
    }
    check_name(name)?;
    check_can_snapshot(cluster)?;
    begin(state, settings, cluster, name, SOURCE_MANUAL, &[])?;
    Ok(())
}

/// Whether a snapshot of the cluster is being taken: its node must keep running, even if the
/// cluster is being deleted.
pub fn holds_nodes(state: &State, cluster_id: &str) -> bool {
    state.snapshots.values().any(|s| {
        s.cluster.id == cluster_id && s.status == snapshot_status::CREATING && s.copy_of.is_none()
    })
}

/// Whether the reconciler may start the cluster's nodes: not while restore data is still being
/// prepared, never after the restore failed.
pub fn may_start_nodes(cluster: &Cluster) -> bool {
    cluster.status != cluster_status::RESTORE_FAILED
        && cluster.restore.as_ref().is_none_or(|r| r.staged.is_some())
}

/// The RDB file a node of the cluster must find in its directory when it first starts.
pub fn seed_file(cluster: &Cluster) -> Option<std::path::PathBuf> {
    if cluster.status != cluster_status::CREATING {
        return None;
    }
    cluster
        .restore
        .as_ref()
        .and_then(|r| r.staged.as_ref())
        .map(std::path::PathBuf::from)
}

/// The cluster is gone: its automatic snapshots go with it (manual ones stay).
pub fn cluster_removed(state: &mut State, settings: &Settings, cluster_id: &str) {
    let doomed: Vec<String> = state
        .snapshots
        .values()
        .filter(|s| s.cluster.id == cluster_id && s.source == SOURCE_AUTOMATED)
        .map(|s| s.name.clone())
        .collect();
    for name in doomed {
        state.snapshots.remove(&name);
        state.tags.remove(&settings.arn("snapshot", &name));
    }
}

/// `arn:aws:s3:::bucket/key` as (bucket, key).
pub fn parse_object_arn(arn: &str) -> Result<(String, String)> {
    let bad = || {
        Fault::invalid_parameter_value(format!(
            "Invalid SnapshotArns member: {arn}. It must be an S3 object ARN, arn:aws:s3:::bucket/key."
        ))
    };
    let rest = arn.strip_prefix("arn:aws:s3:::").ok_or_else(bad)?;
    let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    // The key becomes a path under the bucket directory: no way out of it.
    let key_ok = !key.is_empty()
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..");
    if !bucket_ok || !key_ok {
        return Err(bad());
    }
    Ok((bucket.to_string(), key.to_string()))
}

/// Restore defaults: a cluster restored from a snapshot takes the snapshot's settings for what
/// the request leaves out, and the snapshot's tags.
pub fn restore_defaults(
    state: &State,
    settings: &Settings,
    mut input: CreateCluster,
) -> Result<CreateCluster> {
    let Some(name) = input.snapshot_name.clone() else {
        return Ok(input);
    };
    let snap = state.snapshots.get(&name).ok_or_else(|| not_found(&name))?;
    let c = &snap.cluster;
    input
        .engine
        .get_or_insert_with(|| c.engine.as_str().to_string());
    input
        .engine_version
        .get_or_insert_with(|| c.engine_version.clone());
    input
        .cache_node_type
        .get_or_insert_with(|| c.node_type.clone());
    input.num_cache_nodes.get_or_insert(1);
    input.port.get_or_insert(i32::from(c.port));
    if input.cache_parameter_group_name.is_none()
        && state.parameter_groups.contains_key(&c.parameter_group)
    {
        input.cache_parameter_group_name = Some(c.parameter_group.clone());
    }
    if input.cache_subnet_group_name.is_none() && input.cache_security_group_names.is_empty() {
        if let Some(g) = c
            .subnet_group
            .as_ref()
            .filter(|g| state.subnet_groups.contains_key(*g))
        {
            input.cache_subnet_group_name = Some(g.clone());
        }
    }
    input
        .preferred_maintenance_window
        .get_or_insert_with(|| c.maintenance_window.clone());
    input
        .snapshot_retention_limit
        .get_or_insert(c.snapshot_retention_limit as i32);
    if input.snapshot_window.is_none() {
        input.snapshot_window = c.snapshot_window.clone();
    }
    let mut tags = state
        .tags
        .get(&settings.arn("snapshot", &name))
        .cloned()
        .unwrap_or_default();
    merge_tags(&mut tags, &input.tags);
    input.tags = tags;
    Ok(input)
}

/// The restore a new cluster starts with, after CreateCacheCluster's other checks.
pub fn check_restore(
    state: &State,
    input: &CreateCluster,
    engine: Engine,
    node_type: &str,
    count: i32,
) -> Result<Option<Restore>> {
    let source = match (&input.snapshot_name, input.snapshot_arns.as_slice()) {
        (None, []) => return Ok(None),
        (Some(_), [_, ..]) => {
            return Err(Fault::invalid_parameter_combination(
                "Only one of SnapshotName and SnapshotArns can be given.",
            ))
        }
        (Some(name), []) => {
            let snap = state.snapshots.get(name).ok_or_else(|| not_found(name))?;
            if snap.status != snapshot_status::AVAILABLE {
                return Err(Fault::invalid_snapshot_state(format!(
                    "Snapshot {name} is not available (it is {}).",
                    snap.status
                )));
            }
            RestoreSource::Snapshot(name.clone())
        }
        (None, [arn]) => {
            parse_object_arn(arn)?;
            RestoreSource::Object(arn.clone())
        }
        (None, _) => {
            return Err(Fault::invalid_parameter_value(
                "A Redis cluster has one node: give exactly one SnapshotArns member.",
            ))
        }
    };
    check_supported(engine, node_type)?;
    if count != 1 {
        return Err(Fault::invalid_parameter_value(
            "Redis clusters have exactly one node: NumCacheNodes must be 1.",
        ));
    }
    Ok(Some(Restore {
        source,
        staged: None,
    }))
}

/// Manual snapshots of the cluster started in the 24 hours before `now` (deleted ones count:
/// the limit is on creations).
fn manual_in_last_day(cluster: &Cluster, now: Timestamp) -> usize {
    let day_ago = now.0 - 24 * 3600 * 1000;
    cluster
        .manual_snapshots
        .iter()
        .filter(|t| t.0 > day_ago)
        .count()
}

/// Work the snapshot worker does in one write before its I/O: automatic snapshots whose window
/// has come, and automatic snapshots past their retention limit.
pub fn due_work(state: &mut State, settings: &Settings) {
    let now = settings.clock.now();
    let now_ts = settings.now();
    // Retention: an automatic snapshot lives for its cluster's retention limit (in days, as it
    // was when the snapshot was taken).
    let expired: Vec<String> = state
        .snapshots
        .values()
        .filter(|s| s.source == SOURCE_AUTOMATED && s.status != snapshot_status::CREATING)
        .filter(|s| {
            let keep_ms = i64::from(s.cluster.snapshot_retention_limit) * 24 * 3600 * 1000;
            s.created.0 + keep_ms <= now_ts.0
        })
        .map(|s| s.name.clone())
        .collect();
    for name in expired {
        state.snapshots.remove(&name);
        state.tags.remove(&settings.arn("snapshot", &name));
    }
    // One automatic snapshot a day, in the window.
    let due: Vec<Cluster> = state
        .clusters
        .values()
        .filter(|c| c.engine == Engine::Redis && c.snapshot_retention_limit > 0)
        .filter(|c| c.status == cluster_status::AVAILABLE && !catalog::is_burstable(&c.node_type))
        .filter(|c| {
            c.snapshot_window
                .as_deref()
                .is_some_and(|w| in_window(w, now))
        })
        .filter(|c| {
            // Not again in the same window: the window is at most a day long, so anything
            // within the last 23 hours belongs to this window.
            !state.snapshots.values().any(|s| {
                s.cluster.id == c.id
                    && s.source == SOURCE_AUTOMATED
                    && s.created.0 > now_ts.0 - 23 * 3600 * 1000
            })
        })
        .cloned()
        .collect();
    for cluster in due {
        let name = format!(
            "automatic.{}-{:04}-{:02}-{:02}-{:02}-{:02}",
            cluster.id,
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute()
        );
        if let Err(f) = begin(state, settings, &cluster, &name, SOURCE_AUTOMATED, &[]) {
            tracing::warn!(cluster = %cluster.id, "automatic snapshot: {f}");
        }
    }
}

/// The worker finished a snapshot: `Ok((size, sha256))` or why it failed.
pub fn finish(
    state: &mut State,
    settings: &Settings,
    name: &str,
    result: std::result::Result<(u64, String), String>,
) {
    let Some(snap) = state.snapshots.get_mut(name) else {
        return; // deleted meanwhile; the worker removes the orphan file
    };
    if snap.status != snapshot_status::CREATING {
        return;
    }
    let cluster_id = snap.cluster.id.clone();
    snap.copy_of = None;
    let (event, message) = match result {
        Ok((size, sha256)) => {
            snap.status = snapshot_status::AVAILABLE.into();
            snap.size = size;
            snap.sha256 = sha256;
            ("ElastiCache:SnapshotComplete", format!("Snapshot succeeded for snapshot with ID '{name}' of cache cluster with ID '{cluster_id}'"))
        }
        Err(why) => {
            snap.status = snapshot_status::FAILED.into();
            ("ElastiCache:SnapshotFailed", format!("Snapshot failed for snapshot with ID '{name}' of cache cluster with ID '{cluster_id}': {why}"))
        }
    };
    if !holds_nodes(state, &cluster_id) {
        if let Some(c) = state.clusters.get_mut(&cluster_id) {
            if c.status == cluster_status::SNAPSHOTTING {
                c.status = cluster_status::AVAILABLE.into();
            }
        }
    }
    emit(
        state,
        settings,
        "cache-cluster",
        &cluster_id,
        event,
        message,
    );
}

/// The worker prepared (or failed to prepare) a restoring cluster's data.
pub fn restore_prepared(
    state: &mut State,
    settings: &Settings,
    cluster_id: &str,
    result: std::result::Result<String, String>,
) {
    let Some(c) = state.clusters.get_mut(cluster_id) else {
        return;
    };
    if c.status != cluster_status::CREATING {
        return;
    }
    let Some(restore) = c.restore.as_mut() else {
        return;
    };
    match result {
        Ok(path) => restore.staged = Some(path),
        Err(why) => {
            c.status = cluster_status::RESTORE_FAILED.into();
            emit(
                state,
                settings,
                "cache-cluster",
                cluster_id,
                "ElastiCache:CacheClusterRestoreFailed",
                format!("Restore from snapshot failed for cache cluster {cluster_id}: {why}. Delete the cache cluster and create it again."),
            );
        }
    }
}

/// The cluster's node started on the staged data: the restore is over.
pub fn restore_done(state: &mut State, cluster_id: &str) {
    if let Some(c) = state.clusters.get_mut(cluster_id) {
        c.restore = None;
    }
}

impl ControlPlane {
    pub fn create_snapshot(
        &self,
        cluster_id: Option<&str>,
        name: &str,
        tags: &[Tag],
    ) -> Result<SnapshotView> {
        self.write(|state, settings| {
            let id = cluster_id.ok_or_else(|| {
                Fault::invalid_parameter_combination(
                    "One of CacheClusterId and ReplicationGroupId must be given.",
                )
            })?;
            let cluster = state
                .clusters
                .get(&id.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| Fault::cache_cluster_not_found(format!("CacheCluster not found: {id}")))?;
            check_name(name)?;
            check_can_snapshot(&cluster)?;
            for t in tags {
                crate::rules::tag(t)?;
            }
            let now = settings.now();
            if manual_in_last_day(&cluster, now) >= MANUAL_PER_DAY {
                return Err(Fault::snapshot_quota_exceeded(format!(
                    "Cache cluster {} already has {MANUAL_PER_DAY} manual snapshots in the last 24 hours.",
                    cluster.id
                )));
            }
            let snap = begin(state, settings, &cluster, name, SOURCE_MANUAL, tags)?;
            let c = state.clusters.get_mut(&cluster.id).expect("checked above");
            c.manual_snapshots.retain(|t| t.0 > now.0 - 24 * 3600 * 1000);
            c.manual_snapshots.push(now);
            Ok(view(settings, &snap))
        })
    }

    pub fn describe_snapshots(
        &self,
        f: &SnapshotFilter,
    ) -> Result<(Vec<SnapshotView>, Option<String>)> {
        let page = api::Page::from_request(
            f.marker.as_deref(),
            f.max_records,
            api::Page::SNAPSHOT_LIMITS,
        )?;
        let source = match f.snapshot_source.as_deref() {
            None => None,
            Some("user") => Some(SOURCE_MANUAL),
            Some("system") => Some(SOURCE_AUTOMATED),
            Some(other) => {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid SnapshotSource: {other}. Valid values are user and system."
                )))
            }
        };
        self.read(|state, settings| {
            let cluster = f.cache_cluster_id.as_deref().map(str::to_ascii_lowercase);
            let group = f
                .replication_group_id
                .as_deref()
                .map(str::to_ascii_lowercase);
            let list: Vec<SnapshotView> = state
                .snapshots
                .values()
                .filter(|s| f.snapshot_name.as_deref().is_none_or(|n| s.name == n))
                .filter(|s| cluster.as_deref().is_none_or(|c| s.cluster.id == c))
                .filter(|s| {
                    group
                        .as_deref()
                        .is_none_or(|g| s.cluster.replication_group_id.as_deref() == Some(g))
                })
                .filter(|s| source.is_none_or(|src| s.source == src))
                .map(|s| SnapshotView {
                    show_node_group_config: f.show_node_group_config,
                    ..view(settings, s)
                })
                .collect();
            if list.is_empty() {
                if let Some(n) = &f.snapshot_name {
                    return Err(not_found(n));
                }
                if let Some(g) = &group {
                    if !state.replication_groups.contains_key(g) {
                        return Err(Fault::replication_group_not_found(format!(
                            "Replication group {g} not found."
                        )));
                    }
                }
                if let Some(c) = &cluster {
                    if !state.clusters.contains_key(c) {
                        return Err(Fault::cache_cluster_not_found(format!(
                            "CacheCluster not found: {c}"
                        )));
                    }
                }
            }
            Ok(page.take(list, |v| v.snapshot.name.clone()))
        })
    }

    pub fn copy_snapshot(
        &self,
        source: &str,
        target: &str,
        target_bucket: Option<&str>,
        tags: &[Tag],
    ) -> Result<SnapshotView> {
        if target_bucket.is_some() {
            // behaviour.md §4.5: exporting snapshots is not supported.
            return Err(Fault::invalid_parameter_value(
                "Exporting a snapshot to a bucket (TargetBucket) is not supported.",
            ));
        }
        self.write(|state, settings| {
            let src = state
                .snapshots
                .get(source)
                .cloned()
                .ok_or_else(|| not_found(source))?;
            if src.status != snapshot_status::AVAILABLE {
                return Err(Fault::invalid_snapshot_state(format!(
                    "Snapshot {source} is not available (it is {}).",
                    src.status
                )));
            }
            check_name(target)?;
            if state.snapshots.contains_key(target) {
                return Err(Fault::snapshot_already_exists(format!(
                    "Snapshot {target} already exists."
                )));
            }
            for t in tags {
                crate::rules::tag(t)?;
            }
            let copy = Snapshot {
                name: target.to_string(),
                status: snapshot_status::CREATING.into(),
                // A copy is manual, with no retention limit.
                source: SOURCE_MANUAL.into(),
                cluster: src.cluster.clone(),
                node_id: src.node_id.clone(),
                created: settings.now(),
                copy_of: Some(source.to_string()),
                size: 0,
                sha256: String::new(),
            };
            let mut copied_tags = state
                .tags
                .get(&settings.arn("snapshot", source))
                .cloned()
                .unwrap_or_default();
            merge_tags(&mut copied_tags, tags);
            if !copied_tags.is_empty() {
                state
                    .tags
                    .insert(settings.arn("snapshot", target), copied_tags);
            }
            state.snapshots.insert(target.to_string(), copy.clone());
            Ok(view(settings, &copy))
        })
    }

    pub fn delete_snapshot(&self, name: &str) -> Result<SnapshotView> {
        self.write(|state, settings| {
            let snap = state
                .snapshots
                .get(name)
                .cloned()
                .ok_or_else(|| not_found(name))?;
            if snap.status == snapshot_status::CREATING {
                return Err(Fault::invalid_snapshot_state(format!(
                    "Snapshot {name} is being created; delete it once it is available."
                )));
            }
            state.snapshots.remove(name);
            state.tags.remove(&settings.arn("snapshot", name));
            Ok(SnapshotView {
                status_override: Some("deleting"),
                ..view(settings, &snap)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{memcached, plane, redis};
    use time::macros::datetime;

    /// The reconciler's part: the cluster and its node available and running.
    fn available(p: &ControlPlane, id: &str) {
        p.write(|s, _| {
            let c = s.clusters.get_mut(id).unwrap();
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
    }

    /// The worker's part: every snapshot being taken completes.
    fn complete_all(p: &ControlPlane) {
        p.write(|s, settings| {
            let names: Vec<String> = s
                .snapshots
                .values()
                .filter(|x| x.status == snapshot_status::CREATING)
                .map(|x| x.name.clone())
                .collect();
            for n in names {
                finish(s, settings, &n, Ok((10, "ab".into())));
            }
            Ok(())
        })
        .unwrap();
    }

    fn names(p: &ControlPlane) -> Vec<String> {
        p.snapshot().snapshots.keys().cloned().collect()
    }

    #[test]
    fn the_twenty_first_manual_snapshot_in_a_day_is_refused() {
        let (p, clock) = plane();
        p.create_cache_cluster(redis("r")).unwrap();
        available(&p, "r");
        for i in 0..MANUAL_PER_DAY {
            p.create_snapshot(Some("r"), &format!("s{i}"), &[]).unwrap();
            // Taken while the cluster snapshots: a second one waits.
            let busy = p.create_snapshot(Some("r"), "other", &[]).unwrap_err();
            assert_eq!(busy.code, "InvalidCacheClusterState");
            complete_all(&p);
            clock.advance(time::Duration::minutes(30));
        }
        // Deleting does not give the quota back.
        p.delete_snapshot("s0").unwrap();
        let f = p.create_snapshot(Some("r"), "s20", &[]).unwrap_err();
        assert_eq!(f.code, "SnapshotQuotaExceededFault");
        assert!(!p.snapshot().snapshots.contains_key("s20"));
        // 24 hours after the first one, one more fits.
        clock.set(datetime!(2026-11-25 12:00:01 UTC));
        p.create_snapshot(Some("r"), "s20", &[]).unwrap();
    }

    #[test]
    fn node_types_and_engines_without_snapshots_are_refused() {
        let (p, _) = plane();
        p.create_cache_cluster(memcached("m", 1)).unwrap();
        available(&p, "m");
        assert_eq!(
            p.create_snapshot(Some("m"), "x", &[]).unwrap_err().code,
            "SnapshotFeatureNotSupportedFault"
        );
        let mut t2 = redis("t");
        t2.cache_node_type = Some("cache.t2.micro".into());
        p.create_cache_cluster(t2).unwrap();
        available(&p, "t");
        assert_eq!(
            p.create_snapshot(Some("t"), "x", &[]).unwrap_err().code,
            "SnapshotFeatureNotSupportedFault"
        );
        assert_eq!(
            p.create_snapshot(Some("nope"), "x", &[]).unwrap_err().code,
            "CacheClusterNotFound"
        );
        p.create_cache_cluster(redis("r")).unwrap();
        // Still creating.
        assert_eq!(
            p.create_snapshot(Some("r"), "x", &[]).unwrap_err().code,
            "InvalidCacheClusterState"
        );
        available(&p, "r");
        assert_eq!(
            p.create_snapshot(Some("r"), "bad--name", &[])
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        assert!(names(&p).is_empty());
        // Assigned windows last an hour and keep clear of the maintenance window.
        for _ in 0..50 {
            let mut r = redis("assigned");
            r.preferred_maintenance_window = Some("sun:05:30-sun:06:30".into());
            let c = p.create_cache_cluster(r).unwrap().cluster;
            let w = c.snapshot_window.unwrap();
            let (start, len) = parse_window(&w).unwrap();
            assert_eq!(len, 60);
            assert!(!["05:00-06:00", "06:00-07:00"].contains(&w.as_str()), "{w}");
            assert_eq!(start % 60, 0);
            p.write(|s, _| {
                s.clusters.remove("assigned");
                Ok(())
            })
            .unwrap();
        }
        // A too-short snapshot window is refused.
        let mut short = redis("w");
        short.snapshot_window = Some("05:00-05:30".into());
        assert_eq!(
            p.create_cache_cluster(short).unwrap_err().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn automatic_snapshots_come_in_the_window_and_go_after_the_retention_limit() {
        let (p, clock) = plane(); // 2026-11-24 12:00
        let mut r = redis("r");
        r.snapshot_retention_limit = Some(2);
        r.snapshot_window = Some("13:00-14:00".into());
        p.create_cache_cluster(r).unwrap();
        available(&p, "r");
        let due = |p: &ControlPlane| {
            p.write(|s, st| {
                due_work(s, st);
                Ok(())
            })
            .unwrap()
        };
        due(&p);
        assert!(names(&p).is_empty(), "not before the window");
        clock.set(datetime!(2026-11-24 13:10 UTC));
        due(&p);
        assert_eq!(names(&p), ["automatic.r-2026-11-24-13-10"]);
        assert_eq!(
            p.snapshot().clusters["r"].status,
            cluster_status::SNAPSHOTTING
        );
        complete_all(&p);
        assert_eq!(p.snapshot().clusters["r"].status, cluster_status::AVAILABLE);
        clock.set(datetime!(2026-11-24 13:40 UTC));
        due(&p);
        assert_eq!(names(&p).len(), 1, "once per window");
        // A manual one is kept forever.
        p.create_snapshot(Some("r"), "mine", &[]).unwrap();
        complete_all(&p);
        clock.set(datetime!(2026-11-25 13:05 UTC));
        due(&p);
        complete_all(&p);
        assert_eq!(
            names(&p),
            [
                "automatic.r-2026-11-24-13-10",
                "automatic.r-2026-11-25-13-05",
                "mine"
            ]
        );
        // Two days after the first: it expires, the second stays.
        clock.set(datetime!(2026-11-26 13:10 UTC));
        due(&p);
        complete_all(&p);
        assert_eq!(
            names(&p),
            [
                "automatic.r-2026-11-25-13-05",
                "automatic.r-2026-11-26-13-10",
                "mine"
            ]
        );
        let events = p
            .snapshot()
            .events
            .values()
            .filter(|e| e.name == "ElastiCache:SnapshotComplete")
            .count();
        assert_eq!(events, 4);
        // The cluster goes, its automatic snapshots with it; the manual one stays.
        p.write(|s, st| {
            s.clusters.remove("r");
            cluster_removed(s, st, "r");
            Ok(())
        })
        .unwrap();
        assert_eq!(names(&p), ["mine"]);
    }

    #[test]
    fn copies_restores_and_final_snapshots() {
        let (p, _) = plane();
        let mut r = redis("r");
        r.tags = vec![Tag {
            key: "team".into(),
            value: "a".into(),
        }];
        r.port = Some(7000);
        p.create_cache_cluster(r).unwrap();
        available(&p, "r");
        p.create_snapshot(Some("r"), "snap", &[]).unwrap();
        assert_eq!(
            p.copy_snapshot("snap", "copy", None, &[]).unwrap_err().code,
            "InvalidSnapshotState"
        );
        let mut restore = redis("early");
        restore.snapshot_name = Some("snap".into());
        assert_eq!(
            p.create_cache_cluster(restore).unwrap_err().code,
            "InvalidSnapshotState"
        );
        complete_all(&p);
        let copy = p.copy_snapshot("snap", "copy", None, &[]).unwrap();
        assert_eq!(
            (copy.snapshot.status.as_str(), copy.snapshot.source.as_str()),
            ("creating", "manual")
        );
        assert_eq!(
            p.copy_snapshot("snap", "copy", None, &[]).unwrap_err().code,
            "SnapshotAlreadyExistsFault"
        );
        assert_eq!(
            p.copy_snapshot("nope", "c2", None, &[]).unwrap_err().code,
            "SnapshotNotFoundFault"
        );
        complete_all(&p);
        assert_eq!(
            p.list_tags_for_resource(&p.settings.arn("snapshot", "copy"))
                .unwrap()[0]
                .key,
            "team"
        );

        // Restore: the snapshot's settings, the node type overridden, the tags copied.
        let restored = p
            .create_cache_cluster(CreateCluster {
                cache_cluster_id: "restored".into(),
                snapshot_name: Some("copy".into()),
                cache_node_type: Some("cache.m3.large".into()),
                ..Default::default()
            })
            .unwrap();
        let c = &restored.cluster;
        assert_eq!(
            (c.port, c.node_type.as_str(), c.engine),
            (7000, "cache.m3.large", Engine::Redis)
        );
        assert_eq!(
            c.restore,
            Some(Restore {
                source: RestoreSource::Snapshot("copy".into()),
                staged: None
            })
        );
        assert!(!may_start_nodes(c));
        assert_eq!(
            p.list_tags_for_resource(&p.settings.arn("cluster", "restored"))
                .unwrap()[0]
                .key,
            "team"
        );
        p.write(|s, st| {
            restore_prepared(s, st, "restored", Ok("/x/restored.rdb".into()));
            Ok(())
        })
        .unwrap();
        let c = p.snapshot().clusters["restored"].clone();
        assert!(may_start_nodes(&c));
        assert_eq!(seed_file(&c), Some("/x/restored.rdb".into()));

        // A seed that cannot be read: restore-failed and the event.
        let mut seeded = redis("seeded");
        seeded.snapshot_arns = vec!["arn:aws:s3:::bucket/dump.rdb".into()];
        p.create_cache_cluster(seeded).unwrap();
        p.write(|s, st| {
            restore_prepared(s, st, "seeded", Err("not a valid RDB file".into()));
            Ok(())
        })
        .unwrap();
        let c = p.snapshot().clusters["seeded"].clone();
        assert_eq!(c.status, "restore-failed");
        assert!(!may_start_nodes(&c));
        assert!(p
            .snapshot()
            .events
            .values()
            .any(|e| e.name == "ElastiCache:CacheClusterRestoreFailed"
                && e.source_identifier == "seeded"));
        let mut bad = redis("bad");
        bad.snapshot_arns = vec!["arn:aws:s3:::bucket/../../etc/passwd".into()];
        assert_eq!(
            p.create_cache_cluster(bad).unwrap_err().code,
            "InvalidParameterValue"
        );

        // Final snapshot: recorded before the cluster turns deleting; the node is held until
        // it is taken.
        p.delete_cache_cluster("r", Some("final")).unwrap();
        let s = p.snapshot();
        assert_eq!(s.clusters["r"].status, "deleting");
        assert_eq!(s.snapshots["final"].status, "creating");
        assert!(holds_nodes(&s, "r"));
        complete_all(&p);
        assert!(!holds_nodes(&p.snapshot(), "r"));

        // Describe: filters and the page size of DescribeSnapshots.
        let f = |cluster: Option<&str>, source: Option<&str>| {
            p.describe_snapshots(&SnapshotFilter {
                cache_cluster_id: cluster.map(Into::into),
                snapshot_source: source.map(Into::into),
                ..Default::default()
            })
            .map(|(v, _)| v.into_iter().map(|v| v.snapshot.name).collect::<Vec<_>>())
        };
        assert_eq!(
            f(Some("r"), Some("user")).unwrap(),
            ["copy", "final", "snap"]
        );
        assert!(f(None, Some("system")).unwrap().is_empty());
        assert_eq!(
            f(Some("zz"), None).unwrap_err().code,
            "CacheClusterNotFound"
        );
        assert_eq!(
            f(None, Some("bogus")).unwrap_err().code,
            "InvalidParameterValue"
        );
        let too_big = p.describe_snapshots(&SnapshotFilter {
            max_records: Some(51),
            ..Default::default()
        });
        assert_eq!(too_big.unwrap_err().code, "InvalidParameterValue");
        assert_eq!(
            p.delete_snapshot("nope").unwrap_err().code,
            "SnapshotNotFoundFault"
        );
        assert_eq!(
            p.delete_snapshot("snap").unwrap().status_override,
            Some("deleting")
        );
        assert_eq!(f(None, None).unwrap(), ["copy", "final"]);
    }
}
