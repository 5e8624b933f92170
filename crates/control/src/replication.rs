//! Replication groups at run time (issue 6): keeps every member node in the role the state
//! gives it, keeps the primary endpoint on the primary alone, and fails over when a Multi-AZ
//! group's primary process dies. Called by the reconciler at the start of each pass, before the
//! clusters' own work (which restarts dead processes).
//!
//! ```text
//!   per group, per pass (nothing remembered but the primary's pid):
//!     primary process gone or replaced, Multi-AZ on ─▶ promote the replica with the largest
//!         replication offset (state write + event); the dead node comes back as a replica
//!     replicas first:  INFO replication ─▶ REPLICAOF <primary> <port> unless already so;
//!                      LISTENER REMOVE <endpoint>
//!     then the primary: REPLICAOF NO ONE unless master; LISTENER ADD <endpoint>
//!     every member available, every link up ─▶ group creating/modifying → available
//!     deleting: members gone ─▶ group gone (a retained primary leaves the group)
//! ```
//!
//! Roles are observed, not remembered, so a `serve` restart or a node replaced underneath
//! converges the same way.

use crate::model::*;
use crate::plane::{emit, ControlPlane};
use crate::provisioner::{Health, Provisioner};
use parking_lot::Mutex;
use std::collections::HashMap;

/// What the group reconciler remembers between passes.
#[derive(Default)]
pub struct GroupReconciler {
    /// Per group: the primary cluster and the pid of its process last seen alive.
    primary_pid: Mutex<HashMap<String, (String, u32)>>,
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

/// Whether a dead node must wait before the cluster reconciler restarts it: the primary of a
/// Multi-AZ group is replaced only once a replica has taken over, so an empty process never
/// serves at the primary's address while replicas still follow it.
pub fn holds_restart(state: &State, cluster: &Cluster) -> bool {
    cluster
        .replication_group_id
        .as_ref()
        .and_then(|g| state.replication_groups.get(g))
        .is_some_and(|g| {
            g.automatic_failover
                && g.primary_cluster == cluster.id
                && g.status != group_status::DELETING
                // With no live replica to take over, everything is recreated in place
                // (behaviour.md §4.2, scenario 3).
                && g.members.iter().filter(|m| **m != cluster.id).any(|m| {
                    member(state, m).is_some_and(|m| {
                        m.node.process.is_some()
                            && m.node.status == node_status::AVAILABLE
                            && !m.node.recovering
                    })
                })
        })
}

impl GroupReconciler {
    /// One look at every group. Returns whether work is still in flight.
    pub fn pass(&self, plane: &ControlPlane, provisioner: &dyn Provisioner) -> bool {
        let state = plane.snapshot();
        let mut busy = false;
        for group in state.replication_groups.values() {
            busy |= if group.status == group_status::DELETING {
                self.finish_delete(plane, provisioner, &state, group)
            } else {
                self.converge(plane, provisioner, &state, group)
            };
        }
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
        self.primary_pid.lock().remove(&group.id);
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

    fn converge(
        &self,
        plane: &ControlPlane,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> bool {
        if let Some(new_primary) = self.failover_target(provisioner, state, group) {
            let (id, old) = (group.id.clone(), group.primary_cluster.clone());
            tracing::warn!(group = %id, from = %old, to = %new_primary, "primary is gone; failing over");
            self.primary_pid.lock().remove(&id);
            let _ = plane.write(|state, settings| {
                if let Some(g) = state.replication_groups.get_mut(&id) {
                    g.primary_cluster.clone_from(&new_primary);
                    g.status = group_status::MODIFYING.into();
                }
                emit(
                    state,
                    settings,
                    "replication-group",
                    &id,
                    "ElastiCache:FailoverComplete",
                    format!(
                        "Failover from master node {} to replica node {} completed.",
                        old, new_primary
                    ),
                );
                Ok(())
            });
            return true;
        }
        let endpoint = format!("{}:{}", group.endpoint, group.port);
        let Some(primary) = member(state, &group.primary_cluster) else {
            return true;
        };
        let mut converged = true;
        // Replicas first: the endpoint must be free before the primary can take it.
        for id in group
            .members
            .iter()
            .filter(|m| **m != group.primary_cluster)
        {
            let Some(m) = member(state, id) else {
                converged = false;
                continue;
            };
            converged &= self.make_replica(provisioner, &m, &primary, &endpoint);
        }
        converged &= self.make_primary(provisioner, &primary, &endpoint);
        if let Some(p) = &primary.node.process {
            if primary.node.status == node_status::AVAILABLE && !primary.node.recovering {
                let mut seen = self.primary_pid.lock();
                let entry = seen
                    .entry(group.id.clone())
                    .or_insert_with(|| (primary.cluster.id.clone(), p.pid));
                if entry.0 != primary.cluster.id {
                    // After a promotion, the new primary's process is the one to watch.
                    *entry = (primary.cluster.id.clone(), p.pid);
                }
            }
        }
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

    /// The replica to promote when a Multi-AZ group's primary process is gone (or was replaced
    /// by an empty one): the reachable replica with the largest replication offset.
    fn failover_target(
        &self,
        provisioner: &dyn Provisioner,
        state: &State,
        group: &ReplicationGroup,
    ) -> Option<String> {
        if !group.automatic_failover || group.status == group_status::CREATING {
            return None;
        }
        let primary = member(state, &group.primary_cluster)?;
        if primary.node.reboot_requested || primary.node.status == node_status::REBOOTING {
            // Rebooting the primary does not fail over (behaviour.md §4.2).
            self.primary_pid.lock().remove(&group.id);
            return None;
        }
        let known = self
            .primary_pid
            .lock()
            .get(&group.id)
            .filter(|(cluster, _)| *cluster == group.primary_cluster)
            .map(|(_, pid)| *pid);
        let failed = match &primary.node.process {
            None => false, // never started yet
            Some(p) if known.is_some_and(|k| k != p.pid) => true,
            Some(p) => provisioner.health(primary.cluster.engine, p) == Health::Gone,
        };
        if !failed {
            return None;
        }
        group
            .members
            .iter()
            .filter(|m| **m != group.primary_cluster)
            .filter_map(|id| {
                let m = member(state, id)?;
                let p = m.node.process.as_ref()?;
                let info = provisioner
                    .redis_command(p, &["INFO", "replication"])
                    .ok()?;
                let offset: i64 = info_field(&info, "slave_repl_offset")?.parse().ok()?;
                Some((offset, id.clone()))
            })
            .max_by_key(|(offset, _)| *offset)
            .map(|(_, id)| id)
    }

    /// Points a replica at the primary and keeps the endpoint off it. Returns whether its link
    /// is up.
    fn make_replica(
        &self,
        provisioner: &dyn Provisioner,
        m: &Member,
        primary: &Member,
        endpoint: &str,
    ) -> bool {
        let Some(p) = &m.node.process else {
            return false;
        };
        if m.node.status != node_status::AVAILABLE && m.node.status != node_status::CREATING {
            return false;
        }
        let Ok(info) = provisioner.redis_command(p, &["INFO", "replication"]) else {
            return false;
        };
        let host = primary.node.address.to_string();
        let port = primary.cluster.port.to_string();
        let following = info_field(&info, "role") == Some("slave")
            && info_field(&info, "master_host") == Some(host.as_str())
            && info_field(&info, "master_port") == Some(port.as_str());
        let _ = provisioner.redis_command(p, &["LISTENER", "REMOVE", endpoint]);
        if !following {
            if let Err(e) = provisioner.redis_command(p, &["REPLICAOF", &host, &port]) {
                tracing::warn!(cluster = %m.cluster.id, "REPLICAOF: {e:#}");
            }
            return false;
        }
        info_field(&info, "master_link_status") == Some("up")
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
