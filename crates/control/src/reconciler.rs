//! The reconciler: the one owner of every status change after an API call returns. Woken by
//! each committed write and by a timer, it compares what the state wants with what runs and
//! drives nodes through the provisioner.
//!
//! ```text
//!   wake (write / 500 ms) ─▶ due work (windows, immediate upgrades)      [one write]
//!                          ─▶ per node: start / stop / restart / health,
//!                             push parameters and Auto Discovery          [provisioner I/O]
//!                          ─▶ outcomes + status transitions               [one write per cluster]
//! ```
//!
//! I/O happens outside the state lock; its outcomes are applied to the state as it is then,
//! so an API write that came in between is never overwritten.

use crate::catalog::{self, ChangeType, Engine};
use crate::model::*;
use crate::ops::clusters::{new_node, placement};
use crate::ops::snapshots;
use crate::plane::{self, emit, ControlPlane, Settings};
use crate::provisioner::{DiscoveryEntry, Health, NodeSpec, Provisioner};
use crate::rules::Window;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the reconciler looks even when nothing was written.
const TICK: Duration = Duration::from_millis(500);
/// How often it looks while something is in flight (a node starting, a status to move on).
const BUSY_TICK: Duration = Duration::from_millis(50);
/// A node that keeps dying is restarted at most this often.
const RESTART_BACKOFF: Duration = Duration::from_secs(2);

/// What happened to one node during a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Started {
        node: String,
        process: ProcessRecord,
        params: BTreeMap<String, String>,
    },
    /// A dead process was replaced at the same address.
    Replaced {
        node: String,
        process: ProcessRecord,
        params: BTreeMap<String, String>,
    },
    /// A reboot: the process was stopped and started again (data cleared).
    Restarted {
        node: String,
        process: ProcessRecord,
        params: BTreeMap<String, String>,
    },
    Stopped {
        node: String,
    },
    /// A node that had not become available yet exited (reported once per node).
    Failed {
        node: String,
        reason: String,
    },
    Ready {
        node: String,
    },
    ParamsApplied {
        node: String,
        params: Vec<(String, String)>,
    },
    DiscoverySeen {
        node: String,
        version: u64,
    },
}

pub struct Reconciler {
    plane: Arc<ControlPlane>,
    provisioner: Arc<dyn Provisioner>,
    last_start: Mutex<HashMap<(String, String), Instant>>,
    /// Nodes whose failure to start has been reported already.
    reported: Mutex<std::collections::HashSet<(String, String)>>,
    /// Replication groups: roles, the primary endpoint, failover (issue 6). Runs on a thread
    /// of its own once spawned.
    groups: Arc<crate::replication::GroupReconciler>,
}

impl Reconciler {
    pub fn new(plane: Arc<ControlPlane>, provisioner: Arc<dyn Provisioner>) -> Reconciler {
        Reconciler {
            plane,
            provisioner,
            last_start: Mutex::new(HashMap::new()),
            reported: Mutex::new(Default::default()),
            groups: Default::default(),
        }
    }

    /// Runs passes forever on a thread of its own, woken by writes.
    pub fn spawn(self) -> std::thread::JoinHandle<()> {
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        self.plane.on_write(move || {
            let _ = tx.try_send(());
        });
        self.groups
            .clone()
            .spawn(Arc::downgrade(&self.plane), self.provisioner.clone());
        std::thread::Builder::new()
            .name("reconciler".into())
            .spawn(move || {
                let known: Vec<(String, String)> = self
                    .plane
                    .snapshot()
                    .clusters
                    .values()
                    .flat_map(|c| c.nodes.iter().map(|n| (c.id.clone(), n.id.clone())))
                    .collect();
                self.provisioner.sweep(&known);
                loop {
                    let tick = if self.pass() { BUSY_TICK } else { TICK };
                    match rx.recv_timeout(tick) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .expect("spawning the reconciler thread")
    }

    /// One look at everything. Returns whether work is still in flight.
    pub fn pass(&self) -> bool {
        if let Err(f) = self.plane.write(|state, settings| {
            start_due_work(state, settings);
            Ok(())
        }) {
            tracing::error!("reconciler: {f}");
        }
        let state = self.plane.snapshot();
        for cluster in state.clusters.values() {
            let outcomes = self.drive(&state, cluster);
            let id = cluster.id.clone();
            let result = self.plane.write(|state, settings| {
                apply(state, settings, &id, &outcomes);
                advance(state, settings, &id);
                Ok(())
            });
            if let Err(f) = result {
                tracing::error!(cluster = %id, "reconciler: {f}");
            }
        }
        self.plane.snapshot().clusters.values().any(|c| {
            c.status != cluster_status::AVAILABLE
                || c.nodes.iter().any(|n| {
                    n.status != node_status::AVAILABLE || n.recovering || n.reboot_requested
                })
        })
    }

    fn may_start(&self, cluster: &str, node: &str) -> bool {
        let key = (cluster.to_string(), node.to_string());
        let mut last = self.last_start.lock();
        if last
            .get(&key)
            .is_some_and(|t| t.elapsed() < RESTART_BACKOFF)
        {
            return false;
        }
        last.insert(key, Instant::now());
        true
    }

    fn start(
        &self,
        state: &State,
        cluster: &Cluster,
        node: &Node,
    ) -> Option<(ProcessRecord, BTreeMap<String, String>)> {
        if !self.may_start(&cluster.id, &node.id) {
            return None;
        }
        let (spec, params) = node_spec(state, cluster, node);
        match self.provisioner.start(&spec) {
            Ok(process) => Some((process, params)),
            Err(e) => {
                tracing::error!(cluster = %cluster.id, node = %node.id, "starting node: {e:#}");
                None
            }
        }
    }

    fn drive(&self, state: &State, cluster: &Cluster) -> Vec<Outcome> {
        let mut out = Vec::new();
        let desired = plane::desired_params(state, cluster);
        let family = state
            .parameter_groups
            .get(&cluster.parameter_group)
            .map(|g| g.family.clone())
            .unwrap_or_default();
        let entries = discovery_entries(cluster);
        // Nodes being deleted stop in parallel: each stop waits for its process to exit.
        let stopped: Vec<Outcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = cluster
                .nodes
                .iter()
                .filter(|n| n.status == node_status::DELETING)
                // A final snapshot still reads the node (issue 5).
                .filter(|_| !snapshots::holds_nodes(state, &cluster.id))
                .filter_map(|n| n.process.as_ref().map(|p| (n, p)))
                .map(|(node, p)| {
                    scope.spawn(move || match self.provisioner.stop(&cluster.id, &node.id, p) {
                        Ok(()) => Some(Outcome::Stopped { node: node.id.clone() }),
                        Err(e) => {
                            tracing::error!(cluster = %cluster.id, node = %node.id, "stopping node: {e:#}");
                            None
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().ok().flatten())
                .collect()
        });
        out.extend(stopped);
        for node in &cluster.nodes {
            let name = node.id.clone();
            if node.status == node_status::DELETING {
                continue; // stopped below, all at once
            }
            let Some(process) = &node.process else {
                // Restore data not ready yet, or the restore failed (issue 5).
                if !snapshots::may_start_nodes(cluster) {
                    continue;
                }
                if let Some((process, params)) = self.start(state, cluster, node) {
                    out.push(Outcome::Started {
                        node: name,
                        process,
                        params,
                    });
                }
                continue;
            };
            match self.provisioner.health(cluster.engine, process) {
                // A Multi-AZ group's primary fails over first (issue 6).
                Health::Gone if crate::replication::holds_restart(state, cluster) => {}
                Health::Gone => {
                    tracing::warn!(cluster = %cluster.id, node = %node.id, pid = process.pid, "node process is gone; replacing it");
                    let never_ready = node.status == node_status::CREATING
                        || node.status == node_status::REBOOTING;
                    if never_ready
                        && self
                            .reported
                            .lock()
                            .insert((cluster.id.clone(), node.id.clone()))
                    {
                        let reason = self
                            .provisioner
                            .last_words(&cluster.id, &node.id)
                            .unwrap_or_else(|| "no output".into());
                        out.push(Outcome::Failed {
                            node: name.clone(),
                            reason,
                        });
                    }
                    if let Some((process, params)) = self.start(state, cluster, node) {
                        if node.status == node_status::AVAILABLE || node.recovering {
                            out.push(Outcome::Replaced {
                                node: name,
                                process,
                                params,
                            });
                        } else {
                            out.push(Outcome::Started {
                                node: name,
                                process,
                                params,
                            });
                        }
                    }
                }
                Health::Starting => {}
                Health::Ready if node.reboot_requested => {
                    let _ = self.provisioner.stop(&cluster.id, &node.id, process);
                    self.last_start
                        .lock()
                        .remove(&(cluster.id.clone(), node.id.clone()));
                    if let Some((process, params)) = self.start(state, cluster, node) {
                        self.groups.rebooted(&cluster.id, process.pid);
                        out.push(Outcome::Restarted {
                            node: name,
                            process,
                            params,
                        });
                    } else {
                        out.push(Outcome::Stopped { node: name });
                    }
                }
                Health::Ready => {
                    self.reported
                        .lock()
                        .remove(&(cluster.id.clone(), node.id.clone()));
                    if node.status != node_status::AVAILABLE || node.recovering {
                        out.push(Outcome::Ready { node: name.clone() });
                    }
                    let changed: Vec<(String, String)> = desired
                        .iter()
                        .filter(|(k, v)| node.applied_params.get(*k) != Some(*v))
                        .filter(|(k, _)| {
                            catalog::family_parameter(&family, k)
                                .is_some_and(|d| d.change == ChangeType::Immediate)
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !changed.is_empty() {
                        if let Err(e) =
                            self.provisioner
                                .set_params(cluster.engine, process, &changed)
                        {
                            // Recorded as applied all the same: retrying a value the node refuses
                            // would loop forever. The node's refusal is in this log line.
                            tracing::warn!(cluster = %cluster.id, node = %node.id, "applying parameters: {e:#}");
                        }
                        out.push(Outcome::ParamsApplied {
                            node: name.clone(),
                            params: changed,
                        });
                    }
                    if cluster.engine == Engine::Memcached
                        && node.discovery_seen != cluster.discovery_version
                    {
                        match self.provisioner.set_discovery(
                            process,
                            cluster.discovery_version,
                            &entries,
                        ) {
                            Ok(()) => out.push(Outcome::DiscoverySeen {
                                node: name,
                                version: cluster.discovery_version,
                            }),
                            Err(e) => {
                                tracing::warn!(cluster = %cluster.id, node = %node.id, "pushing the cluster configuration: {e:#}")
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// How the provisioner should start a node, and the parameter values it will have.
pub fn node_spec(
    state: &State,
    cluster: &Cluster,
    node: &Node,
) -> (NodeSpec, BTreeMap<String, String>) {
    let desired = plane::desired_params(state, cluster);
    let node_type = catalog::node_type(&cluster.node_type);
    let mut params = desired.clone();
    // A replica of a replication group starts as one (issue 6).
    if let Some(primary) = crate::replication::start_as_replica_of(state, cluster) {
        params.insert("replicaof".into(), primary);
    }
    let mut addresses = vec![node.address];
    let (mut threads, mut maxmemory) = (None, None);
    match cluster.engine {
        Engine::Memcached => {
            if let Some(cfg) = cluster.configuration_address {
                addresses.push(cfg);
            }
            if let Some(t) = node_type {
                params.insert("max_cache_memory".into(), t.max_cache_memory.to_string());
                threads = Some(t.num_threads);
            }
        }
        Engine::Redis => maxmemory = node_type.map(|t| t.maxmemory),
    }
    let spec = NodeSpec {
        cluster_id: cluster.id.clone(),
        node_id: node.id.clone(),
        engine: cluster.engine,
        engine_version: cluster.engine_version.clone(),
        addresses,
        port: cluster.port,
        threads,
        maxmemory,
        params,
        seed_rdb: snapshots::seed_file(cluster),
    };
    (spec, desired)
}

/// The Auto Discovery node list: every member, except nodes still being added to a running
/// cluster (they join the list once available).
pub fn discovery_entries(cluster: &Cluster) -> Vec<DiscoveryEntry> {
    cluster
        .members()
        .filter(|n| cluster.status == cluster_status::CREATING || n.status != node_status::CREATING)
        .map(|n| DiscoveryEntry {
            hostname: n.address.to_string(),
            ip: n.address,
            port: cluster.port,
        })
        .collect()
}

/// Work that starts now: pending changes whose maintenance window has come, an engine upgrade
/// asked for with ApplyImmediately, authorisations that have propagated, payments that went
/// through.
pub fn start_due_work(state: &mut State, settings: &Settings) {
    let now = settings.clock.now();
    let ids: Vec<String> = state.clusters.keys().cloned().collect();
    for id in ids {
        let mut cluster = state.clusters[&id].clone();
        let in_window = Window::parse(&cluster.maintenance_window).is_ok_and(|w| w.contains(now));
        let mut changed = false;
        if cluster.status == cluster_status::AVAILABLE && in_window {
            // Pending removals.
            let removing: Vec<String> = cluster
                .nodes
                .iter()
                .filter(|n| n.pending_removal)
                .map(|n| n.id.clone())
                .collect();
            for nid in &removing {
                let n = cluster.node_mut(nid).expect("listed above");
                n.pending_removal = false;
                n.status = node_status::DELETING.into();
            }
            if !removing.is_empty() {
                cluster.discovery_version += removing.len() as u64;
                changed = true;
            }
            // Pending additions.
            let members = cluster.members().count() as u32;
            if let Some(target) = cluster.pending.num_cache_nodes.filter(|t| *t > members) {
                let asked = std::mem::take(&mut cluster.pending.new_availability_zones);
                let azs = placement(settings, &cluster, &asked, (target - members) as usize)
                    .or_else(|_| placement(settings, &cluster, &[], (target - members) as usize));
                for az in azs.unwrap_or_default() {
                    if let Err(f) = new_node(state, settings, &mut cluster, az) {
                        tracing::error!(cluster = %id, "adding a node in the maintenance window: {f}");
                    }
                }
                changed = true;
            }
            if let Some(d) = cluster.pending.deferred.take() {
                if let Some(g) = d.parameter_group {
                    cluster.parameter_group = g;
                    emit(
                        state,
                        settings,
                        "cache-cluster",
                        &id,
                        "ElastiCache:CacheClusterParametersChanged",
                        "Updated cache parameter group in the maintenance window",
                    );
                }
                if let Some(g) = d.cache_security_groups {
                    cluster.cache_security_groups = g;
                    emit(
                        state,
                        settings,
                        "cache-cluster",
                        &id,
                        "ElastiCache:CacheClusterSecurityGroupModified",
                        "Updated cache security groups in the maintenance window",
                    );
                }
                if let Some(g) = d.security_group_ids {
                    cluster.security_group_ids = g;
                }
                if let Some(n) = d.notification {
                    cluster.notification = Some(n);
                }
                state.clusters.insert(id.clone(), cluster.clone());
            }
            if cluster.pending.engine_version.is_some() {
                cluster.status = cluster_status::MODIFYING.into();
            }
            if changed {
                cluster.status = cluster_status::MODIFYING.into();
            }
        }
        // An engine version change restarts every node on the new version.
        if cluster.status == cluster_status::MODIFYING {
            if let Some(v) = cluster.pending.engine_version.take() {
                cluster.engine_version = v;
                for n in cluster
                    .nodes
                    .iter_mut()
                    .filter(|n| n.status != node_status::DELETING)
                {
                    n.reboot_requested = true;
                }
            }
        }
        if state.clusters[&id] != cluster {
            state.clusters.insert(id, cluster);
        }
    }
    for group in state.security_groups.values_mut() {
        for ec2 in &mut group.ec2_groups {
            if ec2.status == "authorizing" {
                ec2.status = "authorized".into();
            }
        }
    }
    for r in state.reserved_nodes.values_mut() {
        if r.state == "payment-pending" {
            r.state = "active".into();
        }
    }
}

/// Records what the provisioner did.
pub fn apply(state: &mut State, settings: &Settings, id: &str, outcomes: &[Outcome]) {
    let Some(mut cluster) = state.clusters.get(id).cloned() else {
        return;
    };
    let mut events: Vec<(&str, String)> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Started {
                node,
                process,
                params,
            }
            | Outcome::Replaced {
                node,
                process,
                params,
            }
            | Outcome::Restarted {
                node,
                process,
                params,
            } => {
                let Some(n) = cluster.node_mut(node) else {
                    continue;
                };
                n.process = Some(process.clone());
                n.applied_params = Arc::new(params.clone());
                n.discovery_seen = 0;
                match outcome {
                    Outcome::Replaced { .. } => {
                        if !n.recovering {
                            events.push(("", format!("Recovering cache nodes {node}.")));
                        }
                        n.recovering = true;
                    }
                    Outcome::Restarted { .. } => {
                        n.reboot_requested = false;
                        // Not available again until the new process answers.
                        n.status = node_status::REBOOTING.into();
                    }
                    _ => {}
                }
            }
            Outcome::Stopped { node } => {
                if let Some(n) = cluster.node_mut(node) {
                    n.process = None;
                }
            }
            Outcome::Ready { node } => {
                let adding = cluster.status != cluster_status::CREATING;
                let Some(n) = cluster.node_mut(node) else {
                    continue;
                };
                let was = std::mem::replace(&mut n.status, node_status::AVAILABLE.into());
                let az = n.availability_zone.clone();
                if std::mem::take(&mut n.recovering) {
                    events.push((
                        "ElastiCache:CacheNodeReplaceComplete",
                        format!("Finished recovery for cache nodes {node}."),
                    ));
                }
                if was == node_status::CREATING && adding {
                    cluster.discovery_version += 1;
                    events.push((
                        "ElastiCache:AddCacheNodeComplete",
                        format!("Added cache node {node} in availability zone {az}"),
                    ));
                }
                if was == node_status::REBOOTING {
                    events.push((
                        "ElastiCache:CacheNodesRebooted",
                        format!("Cache node {node} restarted"),
                    ));
                }
            }
            Outcome::Failed { node, reason } => {
                events.push((
                    "",
                    format!("Cache node {node} failed to start and is being retried: {reason}"),
                ));
            }
            Outcome::ParamsApplied { node, params } => {
                if let Some(n) = cluster.node_mut(node) {
                    Arc::make_mut(&mut n.applied_params).extend(params.iter().cloned());
                }
            }
            Outcome::DiscoverySeen { node, version } => {
                if let Some(n) = cluster.node_mut(node) {
                    n.discovery_seen = *version;
                }
            }
        }
    }
    state.clusters.insert(id.to_string(), cluster);
    for (name, message) in events {
        emit(state, settings, "cache-cluster", id, name, message);
    }
}

/// Moves the cluster's status on once its nodes have caught up.
pub fn advance(state: &mut State, settings: &Settings, id: &str) {
    let Some(mut cluster) = state.clusters.get(id).cloned() else {
        return;
    };
    if cluster.status == cluster_status::DELETING {
        if cluster.nodes.iter().all(|n| n.process.is_none()) {
            state.clusters.remove(id);
            state.tags.remove(&settings.arn("cluster", id));
            snapshots::cluster_removed(state, settings, id);
            emit(
                state,
                settings,
                "cache-cluster",
                id,
                "ElastiCache:DeleteCacheClusterComplete",
                "Cache cluster deleted",
            );
        }
        return;
    }
    let removed: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| n.status == node_status::DELETING && n.process.is_none())
        .map(|n| n.id.clone())
        .collect();
    cluster.nodes.retain(|n| !removed.contains(&n.id));
    let discovery_current = cluster.engine != Engine::Memcached
        || cluster
            .members()
            .all(|n| n.discovery_seen == cluster.discovery_version);
    let all_available = cluster
        .nodes
        .iter()
        .all(|n| n.status == node_status::AVAILABLE && !n.reboot_requested);
    let mut events: Vec<(&str, String)> = Vec::new();
    if !removed.is_empty() {
        events.push((
            "ElastiCache:RemoveCacheNodeComplete",
            format!("Removed cache nodes {}", removed.join(", ")),
        ));
    }
    match cluster.status.as_str() {
        cluster_status::CREATING if all_available && discovery_current => {
            cluster.status = cluster_status::AVAILABLE.into();
            events.push((
                "ElastiCache:CacheClusterProvisioningComplete",
                "Cache cluster created".into(),
            ));
        }
        cluster_status::MODIFYING
            if all_available && discovery_current && cluster.pending.engine_version.is_none() =>
        {
            cluster.num_cache_nodes = cluster.members().count() as u32;
            cluster.pending.num_cache_nodes = None;
            cluster.pending.cache_node_ids_to_remove.clear();
            cluster.pending.new_availability_zones.clear();
            cluster.status = cluster_status::AVAILABLE.into();
        }
        cluster_status::REBOOTING if all_available && discovery_current => {
            cluster.status = cluster_status::AVAILABLE.into();
        }
        _ => {}
    }
    state.clusters.insert(id.to_string(), cluster);
    for (name, message) in events {
        emit(state, settings, "cache-cluster", id, name, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::clusters::ModifyCluster;
    use crate::ops::tests::{memcached, plane, redis};
    use parking_lot::Mutex as PlMutex;

    /// A provisioner whose nodes are entries in a table: tests kill them by hand.
    #[derive(Default)]
    struct FakeNodes {
        next_pid: PlMutex<u32>,
        alive: PlMutex<HashMap<u32, bool>>,
        params: PlMutex<Vec<(u32, String, String)>>,
        discovery: PlMutex<HashMap<u32, (u64, Vec<DiscoveryEntry>)>>,
        specs: PlMutex<Vec<NodeSpec>>,
    }

    impl Provisioner for FakeNodes {
        fn start(&self, spec: &NodeSpec) -> anyhow::Result<ProcessRecord> {
            let mut next = self.next_pid.lock();
            *next += 1;
            self.alive.lock().insert(*next, true);
            self.specs.lock().push(spec.clone());
            Ok(ProcessRecord {
                pid: *next,
                control_socket: format!("{}/{}", spec.cluster_id, spec.node_id),
                started: Timestamp(0),
            })
        }
        fn stop(&self, _: &str, _: &str, p: &ProcessRecord) -> anyhow::Result<()> {
            self.alive.lock().insert(p.pid, false);
            Ok(())
        }
        fn health(&self, _: Engine, p: &ProcessRecord) -> Health {
            if self.alive.lock().get(&p.pid) == Some(&true) {
                Health::Ready
            } else {
                Health::Gone
            }
        }
        fn set_params(
            &self,
            _: Engine,
            p: &ProcessRecord,
            params: &[(String, String)],
        ) -> anyhow::Result<()> {
            self.params
                .lock()
                .extend(params.iter().map(|(k, v)| (p.pid, k.clone(), v.clone())));
            Ok(())
        }
        fn set_discovery(
            &self,
            p: &ProcessRecord,
            version: u64,
            entries: &[DiscoveryEntry],
        ) -> anyhow::Result<()> {
            self.discovery
                .lock()
                .insert(p.pid, (version, entries.to_vec()));
            Ok(())
        }
        fn sweep(&self, _: &[(String, String)]) {}
        fn last_words(&self, _: &str, _: &str) -> Option<String> {
            Some("bind: address in use".into())
        }
    }

    fn settle(r: &Reconciler, p: &ControlPlane, id: &str, status: &str) {
        for _ in 0..10 {
            r.pass();
            if p.snapshot().clusters.get(id).map(|c| c.status.as_str()) == Some(status) {
                return;
            }
            r.last_start.lock().clear();
        }
        panic!(
            "{id} never reached {status}: {:?}",
            p.snapshot().clusters.get(id).map(|c| c.status.clone())
        );
    }

    fn events(p: &ControlPlane) -> Vec<String> {
        p.snapshot()
            .events
            .values()
            .map(|e| format!("{} {}", e.name, e.message))
            .collect()
    }

    #[test]
    fn memcached_cluster_lifecycle_with_auto_discovery() {
        let (p, _) = plane();
        let p = Arc::new(p);
        let nodes = Arc::new(FakeNodes::default());
        let r = Reconciler::new(p.clone(), nodes.clone());
        p.create_cache_cluster(memcached("web", 3)).unwrap();
        settle(&r, &p, "web", "available");
        let c = p.snapshot().clusters["web"].clone();
        assert!(c
            .nodes
            .iter()
            .all(|n| n.status == "available" && n.discovery_seen == 1));
        let first = nodes.specs.lock()[0].clone();
        assert_eq!(
            first.addresses,
            vec![c.nodes[0].address, c.configuration_address.unwrap()]
        );
        assert_eq!(first.params["max_cache_memory"], "2850");
        assert_eq!(first.threads, Some(1));
        assert_eq!(nodes.discovery.lock().values().next().unwrap().1.len(), 3);
        assert!(events(&p)
            .iter()
            .any(|e| e == "ElastiCache:CacheClusterProvisioningComplete Cache cluster created"));

        // Add 2, remove 1: the version follows each membership change.
        p.modify_cache_cluster(ModifyCluster {
            cache_cluster_id: "web".into(),
            num_cache_nodes: Some(5),
            apply_immediately: true,
            ..Default::default()
        })
        .unwrap();
        settle(&r, &p, "web", "available");
        let c = p.snapshot().clusters["web"].clone();
        assert_eq!(
            (
                c.num_cache_nodes,
                c.discovery_version,
                c.pending.num_cache_nodes
            ),
            (5, 3, None)
        );
        p.modify_cache_cluster(ModifyCluster {
            cache_cluster_id: "web".into(),
            num_cache_nodes: Some(4),
            cache_node_ids_to_remove: vec!["0002".into()],
            apply_immediately: true,
            ..Default::default()
        })
        .unwrap();
        settle(&r, &p, "web", "available");
        let c = p.snapshot().clusters["web"].clone();
        assert_eq!(c.discovery_version, 4);
        let ids: Vec<_> = c.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["0001", "0003", "0004", "0005"]);
        let pid = c.nodes[0].process.as_ref().unwrap().pid;
        let (version, list) = nodes.discovery.lock()[&pid].clone();
        assert_eq!((version, list.len()), (4, 4));
        assert!(
            events(&p)
                .iter()
                .any(|e| e
                    .starts_with("ElastiCache:RemoveCacheNodeComplete Removed cache nodes 0002"))
        );

        // A killed node is replaced at the same address.
        nodes.alive.lock().insert(pid, false);
        r.last_start.lock().clear();
        r.pass();
        r.pass();
        let c = p.snapshot().clusters["web"].clone();
        assert_ne!(c.nodes[0].process.as_ref().unwrap().pid, pid);
        assert!(!c.nodes[0].recovering);
        assert!(events(&p)
            .iter()
            .any(|e| e
                == "ElastiCache:CacheNodeReplaceComplete Finished recovery for cache nodes 0001."));

        // Reboot restarts exactly the chosen node.
        let before: Vec<u32> = c
            .nodes
            .iter()
            .map(|n| n.process.as_ref().unwrap().pid)
            .collect();
        p.reboot_cache_cluster("web", &["0003".into()]).unwrap();
        settle(&r, &p, "web", "available");
        let after: Vec<u32> = p.snapshot().clusters["web"]
            .nodes
            .iter()
            .map(|n| n.process.as_ref().unwrap().pid)
            .collect();
        assert_eq!(before.iter().zip(&after).filter(|(a, b)| a != b).count(), 1);
        assert_ne!(before[1], after[1]);
        assert!(events(&p)
            .iter()
            .any(|e| e == "ElastiCache:CacheNodesRebooted Cache node 0003 restarted"));

        // Delete stops everything and forgets the cluster.
        p.delete_cache_cluster("web", None).unwrap();
        r.pass();
        assert!(!p.snapshot().clusters.contains_key("web"));
        assert!(nodes.alive.lock().values().all(|a| !a));
        assert!(events(&p)
            .iter()
            .any(|e| e == "ElastiCache:DeleteCacheClusterComplete Cache cluster deleted"));
    }

    #[test]
    fn immediate_parameters_reach_running_nodes_and_static_ones_wait_for_reboot() {
        let (p, _) = plane();
        let p = Arc::new(p);
        let nodes = Arc::new(FakeNodes::default());
        let r = Reconciler::new(p.clone(), nodes.clone());
        p.create_cache_parameter_group("rp", "redis2.8", "d")
            .unwrap();
        p.create_cache_cluster(crate::ops::clusters::CreateCluster {
            cache_parameter_group_name: Some("rp".into()),
            ..redis("r")
        })
        .unwrap();
        settle(&r, &p, "r", "available");
        assert_eq!(nodes.specs.lock()[0].maxmemory, Some(2988441600));
        p.modify_cache_parameter_group("rp", &[("maxmemory-policy".into(), "allkeys-lru".into())])
            .unwrap();
        r.pass();
        assert!(nodes
            .params
            .lock()
            .iter()
            .any(|(_, k, v)| k == "maxmemory-policy" && v == "allkeys-lru"));
        let v = &p
            .describe_cache_clusters(Some("r"), true, None, None)
            .unwrap()
            .0[0];
        assert_eq!(v.parameter_apply_status, "in-sync");

        p.create_cache_parameter_group("mp", "memcached1.4", "d")
            .unwrap();
        p.create_cache_cluster(crate::ops::clusters::CreateCluster {
            cache_parameter_group_name: Some("mp".into()),
            ..memcached("m", 2)
        })
        .unwrap();
        settle(&r, &p, "m", "available");
        p.modify_cache_parameter_group("mp", &[("chunk_size".into(), "64".into())])
            .unwrap();
        r.pass();
        let v = &p
            .describe_cache_clusters(Some("m"), true, None, None)
            .unwrap()
            .0[0];
        assert_eq!(
            (v.parameter_apply_status, v.cache_node_ids_to_reboot.clone()),
            (
                "pending-reboot",
                vec!["0001".to_string(), "0002".to_string()]
            )
        );
        p.reboot_cache_cluster("m", &["0001".into()]).unwrap();
        settle(&r, &p, "m", "available");
        let v = &p
            .describe_cache_clusters(Some("m"), true, None, None)
            .unwrap()
            .0[0];
        assert_eq!(v.cache_node_ids_to_reboot, vec!["0002".to_string()]);
        assert_eq!(
            nodes.specs.lock().last().unwrap().params["chunk_size"],
            "64"
        );
    }

    #[test]
    fn pending_changes_wait_for_the_maintenance_window() {
        let (p, clock) = plane();
        let p = Arc::new(p);
        let nodes = Arc::new(FakeNodes::default());
        let r = Reconciler::new(p.clone(), nodes);
        // The clock is Tuesday 2026-11-24 12:00 UTC.
        p.create_cache_cluster(crate::ops::clusters::CreateCluster {
            preferred_maintenance_window: Some("wed:03:00-wed:04:00".into()),
            ..memcached("web", 2)
        })
        .unwrap();
        settle(&r, &p, "web", "available");
        p.modify_cache_cluster(ModifyCluster {
            cache_cluster_id: "web".into(),
            num_cache_nodes: Some(3),
            ..Default::default()
        })
        .unwrap();
        r.pass();
        let c = p.snapshot().clusters["web"].clone();
        assert_eq!((c.nodes.len(), c.pending.num_cache_nodes), (2, Some(3)));
        clock.advance(time::Duration::hours(15) + time::Duration::minutes(10));
        settle(&r, &p, "web", "available");
        let c = p.snapshot().clusters["web"].clone();
        assert_eq!(
            (c.nodes.len(), c.num_cache_nodes, c.pending.num_cache_nodes),
            (3, 3, None)
        );
    }

    #[test]
    fn an_immediate_engine_upgrade_restarts_every_node_on_the_new_version() {
        let (p, _) = plane();
        let p = Arc::new(p);
        let nodes = Arc::new(FakeNodes::default());
        let r = Reconciler::new(p.clone(), nodes.clone());
        p.create_cache_cluster(crate::ops::clusters::CreateCluster {
            engine_version: Some("2.8.6".into()),
            ..redis("r")
        })
        .unwrap();
        settle(&r, &p, "r", "available");
        let old_pid = p.snapshot().clusters["r"].nodes[0]
            .process
            .as_ref()
            .unwrap()
            .pid;
        let v = p
            .modify_cache_cluster(ModifyCluster {
                cache_cluster_id: "r".into(),
                engine_version: Some("2.8.21".into()),
                apply_immediately: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            (
                v.cluster.status.as_str(),
                v.cluster.pending.engine_version.as_deref()
            ),
            ("modifying", Some("2.8.21"))
        );
        settle(&r, &p, "r", "available");
        let c = p.snapshot().clusters["r"].clone();
        assert_eq!(c.engine_version, "2.8.21");
        assert_ne!(c.nodes[0].process.as_ref().unwrap().pid, old_pid);
        assert_eq!(nodes.specs.lock().last().unwrap().engine_version, "2.8.21");
        let f = p
            .modify_cache_cluster(ModifyCluster {
                cache_cluster_id: "r".into(),
                engine_version: Some("2.8.6".into()),
                apply_immediately: true,
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(f.code, "InvalidParameterValue");
    }

    #[test]
    fn a_node_that_dies_before_it_is_available_is_reported_once_and_retried() {
        let (p, _) = plane();
        let p = Arc::new(p);
        let nodes = Arc::new(FakeNodes::default());
        let r = Reconciler::new(p.clone(), nodes.clone());
        p.create_cache_cluster(redis("r")).unwrap();
        r.pass();
        for round in 0..2 {
            let pid = p.snapshot().clusters["r"].nodes[0]
                .process
                .as_ref()
                .unwrap()
                .pid;
            nodes.alive.lock().insert(pid, false);
            r.last_start.lock().clear();
            r.pass();
            let failures = events(&p)
                .iter()
                .filter(|e| e.contains("failed to start"))
                .count();
            assert_eq!(failures, 1, "round {round}: {:?}", events(&p));
        }
        assert!(events(&p).iter().any(|e| e.ends_with(
            "Cache node 0001 failed to start and is being retried: bind: address in use"
        )));
        settle(&r, &p, "r", "available");
    }
}
