//! Replication groups at run time (issue 6): keeps every member node in the role the state
//! gives it, keeps the primary endpoint on the primary alone, and fails a Multi-AZ group over
//! when its primary dies or stops answering. Runs on a thread of its own (see
//! [`GroupReconciler::spawn`]), so a hung primary, which holds up every call made to it, never
//! delays its own failover behind the clusters' work.
//!
//! ```text
//!   per group, every WATCH_TICK (nothing remembered but when the primary last answered):
//!     watch the primary: PING on its own address (as a client sees it), process alive?
//!       answers ─▶ healthy     process gone/replaced ─▶ failed     silent ≥ DETECTION ─▶ failed
//!       silent < DETECTION ─▶ suspect: leave the group alone (calls to it would hang)
//!     failed, Multi-AZ on, a replica answers ─▶ failover:
//!       1. fence the old primary: LISTENER REMOVE <endpoint> + REPLICAOF <new primary> on its
//!          control socket, or, if it does not answer within FENCE_TIMEOUT, SIGKILL it
//!       2. REPLICAOF NO ONE on the replica with the largest replication offset
//!       3. state: new primary + the guide's event; the old node comes back as a replica
//!     process gone, no Multi-AZ, a replica answers ─▶ rebuild: that replica becomes the source
//!       (REPLICAOF NO ONE, no endpoint), the others follow it, the primary's replacement starts
//!       as its replica; once in sync the primary takes its role back (converge)
//!     silent, no Multi-AZ ─▶ nothing (no one takes over, so nothing to fence)
//!     converge: replicas first (REPLICAOF <primary>, LISTENER REMOVE <endpoint>), then the
//!       primary (REPLICAOF NO ONE, LISTENER ADD <endpoint>), but only once every other member
//!       is known not to be a primary: never two nodes taking writes
//!     every member available, every link up ─▶ group creating/modifying → available
//!     deleting: members gone ─▶ group gone (a retained primary leaves the group)
//! ```
//!
//! Roles are observed, not remembered, so a `serve` restart or a node replaced underneath
//! converges the same way. A node restarted while it is not the primary starts as a replica
//! (`replicaof` in its spec, see `reconciler::node_spec`), so it never serves writes empty.

use crate::model::*;
use crate::plane::{emit, ControlPlane};
use crate::provisioner::Provisioner;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a Multi-AZ group's primary may go without answering PING before it is failed over.
/// A shorter silence (a pause, a slow moment, a brief network loss) leaves it primary.
pub const DETECTION: Duration = Duration::from_secs(2);
/// How long one PING of the primary may take.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a silent primary gets to accept its demotion on its control socket before it is
/// killed instead.
const FENCE_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the group thread looks (the watch's PING).
const WATCH_TICK: Duration = Duration::from_millis(100);
/// How often a group that has converged is checked again (INFO and LISTENER on every member).
const QUIET_CONVERGE: Duration = Duration::from_millis(500);

/// What the group reconciler remembers between passes.
#[derive(Default)]
pub struct GroupReconciler {
    /// Per group: the primary being watched.
    watched: Mutex<HashMap<String, Watch>>,
    /// Per converged group: no converging again before this.
    quiet_until: Mutex<HashMap<String, Instant>>,
    /// Per cluster: the process a reboot started in place of the old one. A reboot can come and
    /// go between two passes of the watch, which must not take the new pid for a crash.
    rebooted: Mutex<HashMap<String, u32>>,
    /// One pass at a time.
    running: Mutex<()>,
}

impl GroupReconciler {
    /// A reboot replaced `cluster`'s process by `pid`; called before the new pid is written to
    /// the state, so the watch knows it when it first sees it.
    pub fn rebooted(&self, cluster: &str, pid: u32) {
        self.rebooted.lock().insert(cluster.to_string(), pid);
    }
}

/// One group's primary as the watch last saw it.
struct Watch {
    cluster: String,
    pid: u32,
    last_answer: Instant,
}

/// What the watch concluded about a primary.
#[derive(Debug, PartialEq)]
enum Verdict {
    Healthy,
    /// Silent, but not for DETECTION yet: no call is made to it this pass.
    Suspect,
    /// Its process is gone (or was replaced underneath).
    Gone(&'static str),
    /// Its process runs but has not answered for DETECTION.
    Silent,
}

/// One member node as a pass sees it.
struct Member<'a> {
    cluster: &'a Cluster,
    node: &'a Node,
}

fn member<'a>(state: &'a State, cluster_id: &str) -> Option<Member<'a>> {
    let cluster = state.clusters.get(cluster_id)?;
    let node = cluster.members().next()?;
    Some(Member { cluster, node })
}

/// `field:value` of an INFO reply.
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(str::trim)
}

/// The `replicaof` a node of `cluster` starts with: `<primary address> <port>` when the
/// cluster is a replica of a replication group, so a replaced or restarted replica never
/// serves writes as an empty primary before the group reconciler reaches it.
/// While the primary is being rebuilt, every other member (the primary's replacement too)
/// follows the replica it is rebuilt from.
pub fn start_as_replica_of(state: &State, cluster: &Cluster) -> Option<String> {
    let group = state
        .replication_groups
        .get(cluster.replication_group_id.as_ref()?)?;
    if group.status == group_status::DELETING {
        return None;
    }
    let source = group
        .rebuilding_from
        .as_ref()
        .unwrap_or(&group.primary_cluster);
    if *source == cluster.id {
        return None;
    }
    let source = member(state, source)?;
    Some(format!("{} {}", source.node.address, source.cluster.port))
}

/// A replica that can take over or serve as a rebuild's source: running, in sync once.
fn usable_replica(m: &Member) -> bool {
    m.node.process.is_some() && m.node.status == node_status::AVAILABLE && !m.node.recovering
}

/// Whether a dead node must wait before the cluster reconciler restarts it: the primary of a
/// Multi-AZ group is replaced only once a replica has taken over, so an empty process never
/// serves at the primary's address while replicas still follow it.
/// Without Multi-AZ the same holds until the rebuild from a replica is set up.
pub fn holds_restart(state: &State, cluster: &Cluster) -> bool {
    cluster
        .replication_group_id
        .as_ref()
        .and_then(|g| state.replication_groups.get(g))
        .is_some_and(|g| {
            g.primary_cluster == cluster.id
                && g.status != group_status::DELETING
                && g.rebuilding_from.is_none()
                // With no live replica to take over, everything is recreated in place
                // (behaviour.md §4.2, scenario 3).
                && g.members
                    .iter()
                    .filter(|m| **m != cluster.id)
                    .any(|m| member(state, m).is_some_and(|m| usable_replica(&m)))
        })
}

/// PING on the node's own address: any RESP reply (even -NOAUTH) means it answers.
fn answers_ping(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = s.set_write_timeout(Some(PROBE_TIMEOUT));
    let mut byte = [0u8; 1];
    s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && s.read(&mut byte).is_ok_and(|n| n == 1)
        && matches!(byte[0], b'+' | b'-')
}

/// Runs `f` on a thread of its own and waits at most `limit` for it: calls to a node that may
/// be hung (its control socket accepts, then nothing).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

impl GroupReconciler {
    /// Runs passes every WATCH_TICK on a thread of its own, for as long as the plane exists.
    pub fn spawn(
        self: Arc<Self>,
        plane: Weak<ControlPlane>,
        provisioner: Arc<dyn Provisioner>,
    ) -> std::thread::JoinHandle<()> {
        std::thread::Builder::new()
            .name("replication-groups".into())
            .spawn(move || {
                while let Some(plane) = plane.upgrade() {
                    self.pass(&plane, provisioner.as_ref());
                    drop(plane);
                    std::thread::sleep(WATCH_TICK);
                }
            })
            .expect("spawning the replication group thread")
    }

    /// One look at every group. Returns whether work is still in flight.
    pub fn pass(&self, plane: &ControlPlane, provisioner: &dyn Provisioner) -> bool {
        let _one = self.running.lock();
        let state = plane.snapshot();
        let mut busy = false;
        for group in state.replication_groups.values() {
            busy |= if group.status == group_status::DELETING {
                self.finish_delete(plane, provisioner, &state, group)
            } else {
                self.watch_and_converge(plane, provisioner, &state, group)
            };
        }
        self.watched
            .lock()
            .retain(|g, _| state.replication_groups.contains_key(g));
        self.quiet_until
            .lock()
            .retain(|g, _| state.replication_groups.contains_key(g));
        self.rebooted
            .lock()
            .retain(|c, _| state.clusters.contains_key(c));
        busy
    }

    fn finish_delete(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> bool {
        let leaving = |m: &String| !(group.retain_primary && *m == group.primary_cluster);
        if group
            .members
            .iter()
            .filter(|m| leaving(m))
            .any(|m| state.clusters.contains_key(m))
        {
            return true;
        }
        if group.retain_primary {
            if let Some(p) =
                member(state, &group.primary_cluster).and_then(|m| m.node.process.clone())
            {
                let endpoint = format!("{}:{}", group.endpoint, group.port);
                let _ = provisioner.redis_command(&p, &["LISTENER", "REMOVE", &endpoint]);
            }
        }
        self.watched.lock().remove(&group.id);
        let id = group.id.clone();
        let primary = group.primary_cluster.clone();
        let retain = group.retain_primary;
        let _ = plane.write(|state, _| {
            state.replication_groups.remove(&id);
            if retain {
                if let Some(c) = state.clusters.get_mut(&primary) {
                    c.replication_group_id = None;
                }
            }
            Ok(())
        });
        false
    }

    fn watch_and_converge(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> bool {
        if group.rebuilding_from.is_some() {
            return self.rebuild(plane, provisioner, state, group);
        }
        match self.watch(provisioner, state, group) {
            Verdict::Healthy => {
                let now = Instant::now();
                let mut quiet = self.quiet_until.lock();
                if group.status == group_status::AVAILABLE
                    && quiet.get(&group.id).is_some_and(|t| now < *t)
                {
                    return false;
                }
                quiet.remove(&group.id);
                drop(quiet);
                let busy = self.converge(plane, provisioner, state, group);
                if !busy {
                    self.quiet_until
                        .lock()
                        .insert(group.id.clone(), now + QUIET_CONVERGE);
                }
                busy
            }
            Verdict::Suspect => true,
            Verdict::Gone(why) if group.automatic_failover => {
                self.fail_over(plane, provisioner, state, group, why);
                true
            }
            Verdict::Silent if group.automatic_failover => {
                self.fail_over(plane, provisioner, state, group, "it has not answered PING");
                true
            }
            // Without Multi-AZ: a dead primary is rebuilt from a replica (behaviour.md §4.1);
            // a silent one is left alone (nothing takes over, so there is nothing to fence).
            Verdict::Gone(_) => {
                self.begin_rebuild(plane, provisioner, state, group);
                true
            }
            Verdict::Silent => true,
        }
    }

    /// Looks at the primary of a group that is up and running (a group being created, or a
    /// primary being created, rebooted or replaced, is simply converged).
    fn watch(
        &self,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> Verdict {
        let Some(primary) = member(state, &group.primary_cluster) else {
            return Verdict::Healthy;
        };
        let Some(process) = primary.node.process.as_ref() else {
            return Verdict::Healthy; // not started yet
        };
        let settled = group.status != group_status::CREATING
            && primary.node.status == node_status::AVAILABLE
            && !primary.node.recovering
            && !primary.node.reboot_requested;
        let mut watched = self.watched.lock();
        if !settled {
            // Rebooting the primary does not fail over (behaviour.md §4.2).
            watched.remove(&group.id);
            return Verdict::Healthy;
        }
        let now = Instant::now();
        let w = watched.entry(group.id.clone()).or_insert_with(|| Watch {
            cluster: primary.cluster.id.clone(),
            pid: process.pid,
            last_answer: now,
        });
        if w.cluster != primary.cluster.id {
            // After a promotion, the new primary is the one to watch.
            *w = Watch {
                cluster: primary.cluster.id.clone(),
                pid: process.pid,
                last_answer: now,
            };
        }
        if w.pid != process.pid {
            if self.rebooted.lock().remove(&primary.cluster.id) != Some(process.pid) {
                return Verdict::Gone("its process was replaced");
            }
            // Rebooting the primary does not fail over (behaviour.md §4.2).
            *w = Watch {
                cluster: primary.cluster.id.clone(),
                pid: process.pid,
                last_answer: now,
            };
        }
        drop(watched);
        let addr = SocketAddr::from((primary.node.address, primary.cluster.port));
        if answers_ping(addr) {
            if let Some(w) = self.watched.lock().get_mut(&group.id) {
                w.last_answer = Instant::now();
            }
            return Verdict::Healthy;
        }
        if !provisioner.running(process) {
            return Verdict::Gone("its process is gone");
        }
        let silent = self
            .watched
            .lock()
            .get(&group.id)
            .map_or(Duration::ZERO, |w| w.last_answer.elapsed());
        if silent >= DETECTION {
            Verdict::Silent
        } else {
            Verdict::Suspect
        }
    }

    /// Fences the failed primary, promotes the most current replica and records it.
    fn fail_over(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
        why: &str,
    ) {
        let old = group.primary_cluster.clone();
        let Some(target) = self.most_current_replica(provisioner, state, group) else {
            // Every replica failed too: the primary is replaced in place (the cluster reconciler
            // restarts it once `holds_restart` lets go, that is once no replica is alive).
            return;
        };
        tracing::warn!(group = %group.id, from = %old, to = %target.cluster.id, "the primary failed ({why}); failing over");
        let endpoint = format!("{}:{}", group.endpoint, group.port);
        let (host, port) = (
            target.node.address.to_string(),
            target.cluster.port.to_string(),
        );
        if let Some(p) = member(state, &old).and_then(|m| m.node.process.clone()) {
            if let Err(e) = self.fence(provisioner, &p, &endpoint, &host, &port) {
                // Not fenced, not promoted: two primaries would be worse than none.
                tracing::error!(group = %group.id, cluster = %old, "fencing the failed primary: {e:#}");
                return;
            }
        }
        let Some(p) = target.node.process.as_ref() else {
            return;
        };
        match provisioner.redis_command(p, &["REPLICAOF", "NO", "ONE"]) {
            Ok(r) if r.starts_with("+OK") => {}
            other => {
                // The state still moves: converge promotes it on its next pass.
                tracing::warn!(group = %group.id, cluster = %target.cluster.id, "REPLICAOF NO ONE: {other:?}");
            }
        }
        let _ = provisioner.redis_command(p, &["LISTENER", "ADD", &endpoint]);
        self.watched.lock().remove(&group.id);
        let (id, new) = (group.id.clone(), target.cluster.id.clone());
        let _ = plane.write(|state, settings| {
            if let Some(g) = state.replication_groups.get_mut(&id) {
                g.primary_cluster.clone_from(&new);
                g.status = group_status::MODIFYING.into();
            }
            emit(
                state,
                settings,
                "replication-group",
                &id,
                "ElastiCache:FailoverComplete",
                format!("Failover from master node {old} to replica node {new} completed."),
            );
            Ok(())
        });
    }

    /// Makes sure the old primary takes no more writes: demoted through its control socket
    /// when it answers there, killed when it does not. Either way its endpoint listener is gone.
    fn fence(
        &self,
        provisioner: &dyn Provisioner,
        old: &ProcessRecord,
        endpoint: &str,
        host: &str,
        port: &str,
    ) -> anyhow::Result<()> {
        if !provisioner.running(old) {
            return Ok(());
        }
        // On a thread of its own: a call to a hung node does not return in time.
        let socket = old.control_socket.clone();
        let args = [
            vec![
                "LISTENER".to_string(),
                "REMOVE".into(),
                endpoint.to_string(),
            ],
            vec!["REPLICAOF".to_string(), host.to_string(), port.to_string()],
        ];
        let demoted = within(FENCE_TIMEOUT, move || {
            args.iter().all(|a| {
                let a: Vec<&str> = a.iter().map(String::as_str).collect();
                control_command(&socket, &a).is_ok_and(|r| r.starts_with("+OK"))
            })
        });
        if demoted == Some(true) {
            tracing::warn!(
                pid = old.pid,
                "fenced the failed primary: demoted to a replica"
            );
            return Ok(());
        }
        tracing::warn!(
            pid = old.pid,
            "fencing the failed primary: it does not answer; killing it"
        );
        provisioner.kill(old)
    }

    /// The reachable replica with the largest replication offset.
    fn most_current_replica<'a>(
        &self,
        provisioner: &dyn Provisioner,
        state: &'a State,
        group: &ReplicationGroup,
    ) -> Option<Member<'a>> {
        group
            .members
            .iter()
            .filter(|m| **m != group.primary_cluster)
            .filter_map(|id| {
                let m = member(state, id).filter(usable_replica)?;
                let p = m.node.process.as_ref()?;
                let info = provisioner
                    .redis_command(p, &["INFO", "replication"])
                    .ok()?;
                let offset: i64 = info_field(&info, "slave_repl_offset")?.parse().ok()?;
                Some((offset, m))
            })
            .max_by_key(|(offset, _)| *offset)
            .map(|(_, m)| m)
    }

    /// A non-Multi-AZ primary's process is gone: the most current replica becomes the source
    /// of a rebuild (a primary on its own address only, not on the endpoint), the others follow
    /// it, and the primary's replacement starts as its replica (`start_as_replica_of`). No
    /// replica left: the primary restarts empty (the cluster reconciler's doing).
    fn begin_rebuild(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) {
        let Some(source) = self.most_current_replica(provisioner, state, group) else {
            return;
        };
        let Some(p) = source.node.process.as_ref() else {
            return;
        };
        // The primary is dead: promoting the source makes no second primary.
        if !matches!(provisioner.redis_command(p, &["REPLICAOF", "NO", "ONE"]), Ok(r) if r.starts_with("+OK"))
        {
            return;
        }
        tracing::warn!(group = %group.id, primary = %group.primary_cluster, from = %source.cluster.id, "the primary is gone; rebuilding it from a replica");
        self.watched.lock().remove(&group.id);
        let (id, from) = (group.id.clone(), source.cluster.id.clone());
        let _ = plane.write(|state, _| {
            if let Some(g) = state.replication_groups.get_mut(&id) {
                g.rebuilding_from = Some(from);
                g.status = group_status::MODIFYING.into();
            }
            Ok(())
        });
    }

    /// During a rebuild: every member follows the source; once the primary's replacement is in
    /// sync, the rebuild ends and `converge` gives it the primary role back.
    fn rebuild(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> bool {
        let endpoint = format!("{}:{}", group.endpoint, group.port);
        let source_id = group.rebuilding_from.clone().unwrap_or_default();
        let Some(source) = member(state, &source_id) else {
            self.end_rebuild(plane, group);
            return true;
        };
        let mut primary_in_sync = false;
        for id in group.members.iter().filter(|m| **m != source_id) {
            let Some(m) = member(state, id) else {
                continue;
            };
            let r = self.make_replica(provisioner, &m, &source, &endpoint);
            if *id == group.primary_cluster {
                // Only the replacement can follow the source: the dead process follows nothing.
                primary_in_sync = r.link_up;
            }
        }
        if let Some(p) = &source.node.process {
            let _ = provisioner.redis_command(p, &["LISTENER", "REMOVE", &endpoint]);
        }
        if primary_in_sync {
            self.end_rebuild(plane, group);
        }
        true
    }

    fn end_rebuild(&self, plane: &ControlPlane, group: &ReplicationGroup) {
        let id = group.id.clone();
        let _ = plane.write(|state, _| {
            if let Some(g) = state.replication_groups.get_mut(&id) {
                g.rebuilding_from = None;
            }
            Ok(())
        });
    }

    fn converge(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> bool {
        let endpoint = format!("{}:{}", group.endpoint, group.port);
        let Some(primary) = member(state, &group.primary_cluster) else {
            return true;
        };
        let mut converged = true;
        let mut others_fenced = true;
        // Replicas first: the endpoint must be free before the primary can take it, and no
        // other member may still be a primary when it becomes one.
        for id in group
            .members
            .iter()
            .filter(|m| **m != group.primary_cluster)
        {
            let Some(m) = member(state, id) else {
                converged = false;
                continue;
            };
            let r = self.make_replica(provisioner, &m, &primary, &endpoint);
            converged &= r.link_up;
            others_fenced &= r.fenced;
        }
        converged &= others_fenced && self.make_primary(provisioner, &primary, &endpoint);
        let all_available = group.members.iter().all(|m| {
            state
                .clusters
                .get(m)
                .is_some_and(|c| c.status == cluster_status::AVAILABLE)
        });
        if converged && all_available && group.status != group_status::AVAILABLE {
            let id = group.id.clone();
            let was = group.status.clone();
            let _ = plane.write(|state, settings| {
                if let Some(g) = state.replication_groups.get_mut(&id) {
                    g.status = group_status::AVAILABLE.into();
                }
                if was == group_status::CREATING {
                    // The guide's event name, misspelling included (behaviour.md §6).
                    emit(
                        state,
                        settings,
                        "replication-group",
                        &id,
                        "ElastiCache:CreateReplicaionGroupComplete",
                        format!("Replication group {id} created."),
                    );
                }
                Ok(())
            });
            return false;
        }
        !(converged && all_available)
    }

    /// Points a replica at the primary and keeps the endpoint off it.
    fn make_replica(
        &self,
        provisioner: &dyn Provisioner,
        m: &Member,
        primary: &Member,
        endpoint: &str,
    ) -> ReplicaState {
        let Some(p) = &m.node.process else {
            return ReplicaState::FENCED_DOWN;
        };
        if !provisioner.running(p) {
            return ReplicaState::FENCED_DOWN;
        }
        let Ok(info) = provisioner.redis_command(p, &["INFO", "replication"]) else {
            // Running but silent (starting, or hung): it may still think it is a primary.
            return ReplicaState::UNKNOWN;
        };
        let host = primary.node.address.to_string();
        let port = primary.cluster.port.to_string();
        let following = info_field(&info, "role") == Some("slave")
            && info_field(&info, "master_host") == Some(host.as_str())
            && info_field(&info, "master_port") == Some(port.as_str());
        let _ = provisioner.redis_command(p, &["LISTENER", "REMOVE", endpoint]);
        if !following {
            return match provisioner.redis_command(p, &["REPLICAOF", &host, &port]) {
                Ok(r) if r.starts_with("+OK") => ReplicaState::FENCED_DOWN,
                other => {
                    tracing::warn!(cluster = %m.cluster.id, "REPLICAOF: {other:?}");
                    ReplicaState {
                        fenced: info_field(&info, "role") == Some("slave"),
                        link_up: false,
                    }
                }
            };
        }
        ReplicaState {
            fenced: true,
            link_up: info_field(&info, "master_link_status") == Some("up"),
        }
    }

    /// Makes the primary a master and gives it the endpoint. Returns whether both hold.
    fn make_primary(&self, provisioner: &dyn Provisioner, m: &Member, endpoint: &str) -> bool {
        let Some(p) = &m.node.process else {
            return false;
        };
        let Ok(info) = provisioner.redis_command(p, &["INFO", "replication"]) else {
            return false;
        };
        if info_field(&info, "role") != Some("master") {
            if let Err(e) = provisioner.redis_command(p, &["REPLICAOF", "NO", "ONE"]) {
                tracing::warn!(cluster = %m.cluster.id, "REPLICAOF NO ONE: {e:#}");
            }
            return false;
        }
        match provisioner.redis_command(p, &["LISTENER", "ADD", endpoint]) {
            Ok(r) if r.starts_with("+OK") => true,
            Ok(r) => {
                tracing::warn!(cluster = %m.cluster.id, "LISTENER ADD {endpoint}: {r}");
                false
            }
            Err(e) => {
                tracing::warn!(cluster = %m.cluster.id, "LISTENER ADD {endpoint}: {e:#}");
                false
            }
        }
    }
}

/// A non-primary member after `make_replica`.
struct ReplicaState {
    /// It takes no writes: a replica, or no process at all.
    fenced: bool,
    /// Its link to the primary is up.
    link_up: bool,
}

impl ReplicaState {
    /// No process, or just told to follow the primary (link not up yet).
    const FENCED_DOWN: ReplicaState = ReplicaState {
        fenced: true,
        link_up: false,
    };
    const UNKNOWN: ReplicaState = ReplicaState {
        fenced: false,
        link_up: false,
    };
}

/// One command on a node's control socket, outside the provisioner (its calls borrow it, and a
/// fencing attempt must be abandoned after FENCE_TIMEOUT, on a thread of its own).
fn control_command(socket: &str, args: &[&str]) -> std::io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(Some(FENCE_TIMEOUT))?;
    s.set_write_timeout(Some(FENCE_TIMEOUT))?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes())?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while s.read(&mut byte)? == 1 {
        reply.push(byte[0]);
        if reply.ends_with(b"\r\n") {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&reply).trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_listener_does_not_answer_ping_and_a_dead_address_neither() {
        // Accepts (the kernel does) but never replies: what a stopped process looks like.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!answers_ping(silent.local_addr().unwrap()));
        let addr = silent.local_addr().unwrap();
        drop(silent);
        assert!(!answers_ping(addr));
        // A RESP error is an answer.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 14];
            s.read_exact(&mut buf).unwrap();
            s.write_all(b"-NOAUTH Authentication required.\r\n")
                .unwrap();
        });
        assert!(answers_ping(addr));
        t.join().unwrap();
    }
}
