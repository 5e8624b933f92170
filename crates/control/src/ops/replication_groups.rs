//! Redis replication groups (issue 6): CreateReplicationGroup, DescribeReplicationGroups,
//! ModifyReplicationGroup, DeleteReplicationGroup, and the read replica CreateCacheCluster adds
//! with `ReplicationGroupId`. The rules live here (behaviour.md §1.2, §2.1, §4.1, §4.2); the
//! nodes' roles and the primary endpoint are `crate::replication`'s.

use crate::catalog::Engine;
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::ops::clusters::{create_in, CreateCluster};
use crate::plane::{allocate_address, emit, ControlPlane, Settings};
use crate::rules;

/// A group has one primary and at most this many read replicas.
pub const MAX_REPLICAS: usize = 5;

/// CreateReplicationGroup's parameters.
#[derive(Debug, Clone, Default)]
pub struct CreateGroup {
    pub replication_group_id: String,
    pub description: String,
    pub primary_cluster_id: Option<String>,
    pub automatic_failover_enabled: Option<bool>,
    /// `MultiAZEnabled`: needs automatic failover.
    pub multi_az_enabled: Option<bool>,
    pub num_cache_clusters: Option<i32>,
    pub preferred_cache_cluster_azs: Vec<String>,
    /// The settings of the member clusters it creates.
    pub cluster: CreateCluster,
}

/// ModifyReplicationGroup's parameters (the ones built).
#[derive(Debug, Clone, Default)]
pub struct ModifyGroup {
    pub replication_group_id: String,
    pub description: Option<String>,
    pub primary_cluster_id: Option<String>,
    pub automatic_failover_enabled: Option<bool>,
    pub multi_az_enabled: Option<bool>,
    /// `SnapshottingClusterId`: a member cluster.
    pub snapshotting_cluster_id: Option<String>,
}

/// A member as DescribeReplicationGroups shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub cluster_id: String,
    pub node_id: String,
    pub address: std::net::Ipv4Addr,
    pub port: u16,
    pub availability_zone: String,
    /// `primary` or `replica`.
    pub role: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    pub group: ReplicationGroup,
    pub node_type: String,
    pub members: Vec<MemberView>,
    pub arn: String,
}

fn not_found(id: &str) -> Fault {
    Fault::replication_group_not_found(format!("ReplicationGroup {id} not found."))
}

pub fn view(state: &State, settings: &Settings, group: &ReplicationGroup) -> GroupView {
    let mut members = Vec::new();
    let mut node_type = String::new();
    for id in &group.members {
        let Some(cluster) = state.clusters.get(id) else {
            continue;
        };
        node_type.clone_from(&cluster.node_type);
        for node in cluster.members() {
            members.push(MemberView {
                cluster_id: cluster.id.clone(),
                node_id: node.id.clone(),
                address: node.address,
                port: cluster.port,
                availability_zone: node.availability_zone.clone(),
                role: if *id == group.primary_cluster {
                    "primary"
                } else {
                    "replica"
                },
            });
        }
    }
    GroupView {
        group: group.clone(),
        node_type,
        members,
        arn: settings.arn("replicationgroup", &group.id),
    }
}

/// Multi-AZ's preconditions (behaviour.md §4.2): a read replica, Redis 2.8.6 or later, no t1/t2
/// node type, AOF off.
fn check_multi_az(state: &State, members: &[String]) -> Result<()> {
    let refuse = |why: &str| Err(Fault::invalid_parameter_combination(why.to_string()));
    if members.len() < 2 {
        return refuse(
            "Automatic failover needs at least one read replica in the replication group.",
        );
    }
    for id in members {
        let Some(c) = state.clusters.get(id) else {
            continue;
        };
        if version_below(&c.engine_version, &[2, 8, 6]) {
            return refuse(&format!(
                "Automatic failover needs Redis 2.8.6 or later; cluster {id} runs {}.",
                c.engine_version
            ));
        }
        if c.node_type.starts_with("cache.t1.") || c.node_type.starts_with("cache.t2.") {
            return refuse(&format!(
                "Automatic failover is not available on {} nodes.",
                c.node_type
            ));
        }
        let aof = state
            .parameter_groups
            .get(&c.parameter_group)
            .and_then(|g| g.values.get("appendonly"))
            .is_some_and(|v| v == "yes");
        if aof {
            return refuse(&format!(
                "Automatic failover and AOF (appendonly) are mutually exclusive; cluster {id} has appendonly on."
            ));
        }
    }
    Ok(())
}

/// `MultiAZEnabled` needs automatic failover (the API's rule; the guide has them as one).
fn check_multi_az_flag(multi_az: Option<bool>, automatic_failover: bool) -> Result<()> {
    if multi_az == Some(true) && !automatic_failover {
        return Err(Fault::invalid_parameter_combination(
            "Multi-AZ needs automatic failover: set AutomaticFailoverEnabled as well.",
        ));
    }
    Ok(())
}

/// The member a snapshot of the group is taken from (CreateSnapshot with ReplicationGroupId):
/// its SnapshottingClusterId, else an available read replica, so the primary is spared the
/// work, else the primary.
pub(crate) fn snapshot_source(state: &State, group_id: &str) -> Result<String> {
    let group = state
        .replication_groups
        .get(&group_id.to_ascii_lowercase())
        .ok_or_else(|| not_found(group_id))?;
    if let Some(c) = &group.snapshotting_cluster {
        return Ok(c.clone());
    }
    let available = |id: &&String| {
        state
            .clusters
            .get(*id)
            .is_some_and(|c| c.status == cluster_status::AVAILABLE)
    };
    Ok(group
        .members
        .iter()
        .filter(|m| **m != group.primary_cluster)
        .find(available)
        .unwrap_or(&group.primary_cluster)
        .clone())
}

fn version_below(version: &str, min: &[u32]) -> bool {
    let have: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    have.as_slice() < min
}

/// CreateCacheCluster with ReplicationGroupId: a one-node Redis cluster that replicates the
/// group's primary. Node type and engine default to the primary's.
pub(crate) fn add_replica(
    state: &mut State,
    settings: &Settings,
    group_id: &str,
    input: &CreateCluster,
) -> Result<crate::ops::clusters::ClusterView> {
    let key = group_id.to_ascii_lowercase();
    let group = state
        .replication_groups
        .get(&key)
        .ok_or_else(|| not_found(group_id))?
        .clone();
    if group.status == group_status::DELETING {
        return Err(Fault::invalid_replication_group_state(format!(
            "Replication group {key} is being deleted."
        )));
    }
    if group.members.len() > MAX_REPLICAS {
        return Err(Fault::node_quota_for_cluster_exceeded(format!(
            "Replication group {key} already has {MAX_REPLICAS} read replicas."
        )));
    }
    let primary = state
        .clusters
        .get(&group.primary_cluster)
        .ok_or_else(|| Fault::internal("the group's primary cluster is missing"))?
        .clone();
    if input
        .engine
        .as_deref()
        .is_some_and(|e| !e.eq_ignore_ascii_case("redis"))
    {
        return Err(Fault::invalid_parameter_combination(
            "A read replica of a replication group runs Redis.",
        ));
    }
    let mut input = input.clone();
    input.replication_group_id = None;
    input.engine = Some("redis".into());
    input
        .cache_node_type
        .get_or_insert_with(|| primary.node_type.clone());
    input
        .engine_version
        .get_or_insert_with(|| primary.engine_version.clone());
    input
        .cache_parameter_group_name
        .get_or_insert_with(|| primary.parameter_group.clone());
    input.num_cache_nodes.get_or_insert(1);
    input.port = Some(i32::from(primary.port));
    let mut shown = create_in(state, settings, &input)?;
    let id = shown.cluster.id.clone();
    if let Some(c) = state.clusters.get_mut(&id) {
        c.replication_group_id = Some(key.clone());
        shown.cluster.replication_group_id = Some(key.clone());
    }
    let group = state.replication_groups.get_mut(&key).expect("found above");
    group.members.push(id);
    group.status = group_status::MODIFYING.into();
    Ok(shown)
}

/// DeleteCacheCluster of a member: a replica leaves its group; the primary cannot be deleted
/// this way.
pub(crate) fn check_member_delete(state: &mut State, cluster_id: &str) -> Result<()> {
    let Some(group_id) = state
        .clusters
        .get(cluster_id)
        .and_then(|c| c.replication_group_id.clone())
    else {
        return Ok(());
    };
    let Some(group) = state.replication_groups.get_mut(&group_id) else {
        return Ok(());
    };
    if group.primary_cluster == cluster_id && group.status != group_status::DELETING {
        return Err(Fault::invalid_cache_cluster_state(format!(
            "Cache cluster {cluster_id} is the primary of replication group {group_id}; delete or modify the replication group instead."
        )));
    }
    if group.automatic_failover
        && group.members.len() <= 2
        && group.status != group_status::DELETING
    {
        return Err(Fault::invalid_replication_group_state(format!(
            "Cache cluster {cluster_id} is the last read replica of replication group {group_id}, which has automatic failover enabled; disable it first."
        )));
    }
    group.members.retain(|m| m != cluster_id);
    if group.snapshotting_cluster.as_deref() == Some(cluster_id) {
        group.snapshotting_cluster = None;
    }
    Ok(())
}

impl ControlPlane {
    pub fn create_replication_group(&self, input: CreateGroup) -> Result<GroupView> {
        self.write(|state, settings| {
            let id = rules::replication_group_id(&input.replication_group_id)?;
            if state.replication_groups.contains_key(&id) {
                return Err(Fault::replication_group_already_exists(format!(
                    "Replication group {id} already exists."
                )));
            }
            if input.description.is_empty() {
                return Err(Fault::missing("ReplicationGroupDescription"));
            }
            if let Some(e) = &input.cluster.engine {
                if !e.eq_ignore_ascii_case("redis") {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Invalid engine: {e}. Replication groups run Redis."
                    )));
                }
            }
            let members: Vec<String> = match &input.primary_cluster_id {
                Some(primary) => {
                    if input.num_cache_clusters.is_some()
                        || !input.preferred_cache_cluster_azs.is_empty()
                    {
                        return Err(Fault::invalid_parameter_combination(
                            "PrimaryClusterId cannot be combined with NumCacheClusters or PreferredCacheClusterAZs.",
                        ));
                    }
                    let key = primary.to_ascii_lowercase();
                    let c = state.clusters.get(&key).ok_or_else(|| {
                        Fault::cache_cluster_not_found(format!("Cache cluster {primary} not found."))
                    })?;
                    if c.engine != Engine::Redis {
                        return Err(Fault::invalid_parameter_combination(format!(
                            "Cache cluster {key} is not a Redis cluster."
                        )));
                    }
                    if c.status != cluster_status::AVAILABLE {
                        return Err(Fault::invalid_cache_cluster_state(format!(
                            "Cache cluster {key} is not available (status {}).",
                            c.status
                        )));
                    }
                    if let Some(g) = &c.replication_group_id {
                        return Err(Fault::invalid_cache_cluster_state(format!(
                            "Cache cluster {key} already belongs to replication group {g}."
                        )));
                    }
                    vec![key]
                }
                None => {
                    let azs = &input.preferred_cache_cluster_azs;
                    let count = match (input.num_cache_clusters, azs.len()) {
                        (Some(n), l) if l > 0 && l != n as usize => {
                            return Err(Fault::invalid_parameter_combination(format!(
                                "PreferredCacheClusterAZs names {l} zones but NumCacheClusters is {n}."
                            )))
                        }
                        (Some(n), _) => n,
                        (None, l) if l > 0 => l as i32,
                        (None, _) => {
                            return Err(Fault::missing("PrimaryClusterId or NumCacheClusters"))
                        }
                    };
                    if !(1..=(MAX_REPLICAS as i32 + 1)).contains(&count) {
                        return Err(Fault::invalid_parameter_value(format!(
                            "Invalid NumCacheClusters: {count}. A replication group has a primary and 0 to {MAX_REPLICAS} read replicas."
                        )));
                    }
                    let mut ids = Vec::new();
                    for n in 1..=count as usize {
                        let mut c = input.cluster.clone();
                        c.cache_cluster_id = format!("{id}{n:03}");
                        c.engine = Some("redis".into());
                        c.num_cache_nodes = Some(1);
                        c.replication_group_id = None;
                        c.preferred_availability_zone = azs.get(n - 1).cloned();
                        c.preferred_availability_zones = Vec::new();
                        c.tags = input.cluster.tags.clone();
                        let shown = create_in(state, settings, &c)?;
                        ids.push(shown.cluster.id);
                    }
                    ids
                }
            };
            let automatic_failover = input.automatic_failover_enabled.unwrap_or(false);
            check_multi_az_flag(input.multi_az_enabled, automatic_failover)?;
            if automatic_failover {
                check_multi_az(state, &members)?;
            }
            let port = state.clusters[&members[0]].port;
            let endpoint = allocate_address(state, settings, port)?;
            for m in &members {
                if let Some(c) = state.clusters.get_mut(m) {
                    c.replication_group_id = Some(id.clone());
                }
            }
            let group = ReplicationGroup {
                id: id.clone(),
                description: input.description.clone(),
                status: group_status::CREATING.into(),
                primary_cluster: members[0].clone(),
                members,
                automatic_failover,
                multi_az: input.multi_az_enabled,
                snapshotting_cluster: None,
                endpoint,
                port,
                retain_primary: false,
                created: settings.now(),
            };
            if !input.cluster.tags.is_empty() {
                state.tags.insert(
                    settings.arn("replicationgroup", &id),
                    input.cluster.tags.clone(),
                );
            }
            state.replication_groups.insert(id, group.clone());
            Ok(view(state, settings, &group))
        })
    }

    /// CreateSnapshot with ReplicationGroupId: a snapshot of the member `snapshot_source`
    /// picks.
    pub fn create_group_snapshot(
        &self,
        group_id: &str,
        name: &str,
        tags: &[Tag],
    ) -> Result<crate::ops::snapshots::SnapshotView> {
        let source = self.read(|state, _| snapshot_source(state, group_id))?;
        self.create_snapshot(Some(&source), name, tags)
    }

    pub fn describe_replication_groups(&self, id: Option<&str>) -> Result<Vec<GroupView>> {
        self.read(|state, settings| match id {
            Some(id) => {
                let key = id.to_ascii_lowercase();
                let g = state
                    .replication_groups
                    .get(&key)
                    .ok_or_else(|| not_found(id))?;
                Ok(vec![view(state, settings, g)])
            }
            None => Ok(state
                .replication_groups
                .values()
                .map(|g| view(state, settings, g))
                .collect()),
        })
    }

    pub fn modify_replication_group(&self, input: ModifyGroup) -> Result<GroupView> {
        self.write(|state, settings| {
            let key = input.replication_group_id.to_ascii_lowercase();
            let group = state
                .replication_groups
                .get(&key)
                .ok_or_else(|| not_found(&input.replication_group_id))?
                .clone();
            if group.status != group_status::AVAILABLE {
                return Err(Fault::invalid_replication_group_state(format!(
                    "Replication group {key} is not available (status {}).",
                    group.status
                )));
            }
            let failover = input
                .automatic_failover_enabled
                .unwrap_or(group.automatic_failover);
            let mut primary = group.primary_cluster.clone();
            if let Some(p) = &input.primary_cluster_id {
                let p = p.to_ascii_lowercase();
                if !group.members.contains(&p) {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Cache cluster {p} is not a member of replication group {key}."
                    )));
                }
                if p != group.primary_cluster && failover {
                    return Err(Fault::invalid_replication_group_state(
                        "Currently, you cannot promote a read replica to primary if the replication group is Multi-AZ enabled. Disable automatic failover first.",
                    ));
                }
                primary = p;
            }
            let multi_az = match input.multi_az_enabled {
                Some(m) => Some(m),
                // Turning automatic failover off turns off a Multi-AZ that only followed it.
                None if group.multi_az == Some(true) && !failover => {
                    return Err(Fault::invalid_parameter_combination(
                        "Multi-AZ is enabled: disable it (MultiAZEnabled false) to disable automatic failover.",
                    ))
                }
                None => group.multi_az,
            };
            check_multi_az_flag(multi_az, failover)?;
            if failover && !group.automatic_failover {
                check_multi_az(state, &group.members)?;
            }
            let snapshotting = match &input.snapshotting_cluster_id {
                Some(c) => {
                    let c = c.to_ascii_lowercase();
                    if !group.members.contains(&c) {
                        return Err(Fault::invalid_parameter_value(format!(
                            "Cache cluster {c} is not a member of replication group {key}."
                        )));
                    }
                    Some(c)
                }
                None => group.snapshotting_cluster.clone(),
            };
            let g = state.replication_groups.get_mut(&key).expect("found above");
            if let Some(d) = &input.description {
                g.description.clone_from(d);
            }
            let changes = primary != g.primary_cluster;
            g.primary_cluster = primary;
            g.automatic_failover = failover;
            g.multi_az = multi_az;
            g.snapshotting_cluster = snapshotting;
            if changes {
                g.status = group_status::MODIFYING.into();
            }
            let g = g.clone();
            Ok(view(state, settings, &g))
        })
    }

    /// DeleteReplicationGroup. A final snapshot is taken on the primary before its node stops
    /// (the snapshot worker's, issue 5: the node is held until it is done).
    pub fn delete_replication_group(
        &self,
        id: &str,
        retain_primary: bool,
        final_snapshot: Option<&str>,
    ) -> Result<GroupView> {
        self.write(|state, settings| {
            let key = id.to_ascii_lowercase();
            let group = state
                .replication_groups
                .get(&key)
                .ok_or_else(|| not_found(id))?;
            if group.status == group_status::DELETING {
                return Err(Fault::invalid_replication_group_state(format!(
                    "Replication group {key} is already being deleted."
                )));
            }
            if let Some(name) = final_snapshot {
                let primary = state
                    .clusters
                    .get(&group.primary_cluster)
                    .cloned()
                    .ok_or_else(|| Fault::internal("the group's primary cluster is missing"))?;
                crate::ops::snapshots::final_snapshot(state, settings, &primary, name)?;
            }
            let group = state.replication_groups.get_mut(&key).expect("found above");
            group.status = group_status::DELETING.into();
            group.retain_primary = retain_primary;
            let group = group.clone();
            for m in &group.members {
                if retain_primary && *m == group.primary_cluster {
                    continue;
                }
                if let Some(c) = state.clusters.get_mut(m) {
                    c.status = cluster_status::DELETING.into();
                    c.pending = Pending::default();
                    for n in &mut c.nodes {
                        n.status = node_status::DELETING.into();
                    }
                }
            }
            emit(
                state,
                settings,
                "replication-group",
                &key,
                "ElastiCache:DeleteReplicationGroup",
                format!("Replication group {key} is being deleted."),
            );
            Ok(view(state, settings, &group))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{plane, redis};

    fn group(id: &str, clusters: i32) -> CreateGroup {
        CreateGroup {
            replication_group_id: id.into(),
            description: "d".into(),
            num_cache_clusters: Some(clusters),
            cluster: CreateCluster {
                cache_node_type: Some("cache.m3.medium".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn make_available(p: &ControlPlane, id: &str) {
        p.write(|s, _| {
            s.clusters.get_mut(id).unwrap().status = cluster_status::AVAILABLE.into();
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_group_around_an_existing_primary() {
        let (p, _) = plane();
        p.create_cache_cluster(redis("solo")).unwrap();
        let around = |primary: &str| CreateGroup {
            replication_group_id: "g".into(),
            description: "d".into(),
            primary_cluster_id: Some(primary.into()),
            ..Default::default()
        };
        // Not available yet; missing; memcached.
        let e = p.create_replication_group(around("solo")).unwrap_err();
        assert_eq!(e.code, "InvalidCacheClusterState");
        let e = p.create_replication_group(around("nosuch")).unwrap_err();
        assert_eq!(e.code, "CacheClusterNotFound");
        p.create_cache_cluster(crate::ops::tests::memcached("mc", 1))
            .unwrap();
        make_available(&p, "mc");
        let e = p.create_replication_group(around("mc")).unwrap_err();
        assert_eq!(e.code, "InvalidParameterCombination");
        make_available(&p, "solo");
        let v = p.create_replication_group(around("Solo")).unwrap();
        assert_eq!(v.group.members, vec!["solo".to_string()]);
        assert_eq!(v.members[0].role, "primary");
        assert_ne!(v.group.endpoint, v.members[0].address);
        // In a group already.
        let mut again = around("solo");
        again.replication_group_id = "h".into();
        assert_eq!(
            p.create_replication_group(again).unwrap_err().code,
            "InvalidCacheClusterState"
        );
        // Multi-AZ needs a replica.
        let e = p
            .modify_replication_group(ModifyGroup {
                replication_group_id: "g".into(),
                automatic_failover_enabled: Some(true),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidReplicationGroupState"); // still creating
    }

    #[test]
    fn multi_az_preconditions_and_refusals_change_nothing() {
        let (p, _) = plane();
        let before = p.snapshot();
        let mut old = group("old", 2);
        old.automatic_failover_enabled = Some(true);
        old.cluster.engine_version = Some("2.6.13".into());
        assert_eq!(
            p.create_replication_group(old).unwrap_err().code,
            "InvalidParameterCombination"
        );
        p.create_cache_parameter_group("aof", "redis2.8", "d")
            .unwrap();
        p.modify_cache_parameter_group("aof", &[("appendonly".into(), "yes".into())])
            .unwrap();
        let mut aof = group("aof", 2);
        aof.automatic_failover_enabled = Some(true);
        aof.cluster.cache_parameter_group_name = Some("aof".into());
        assert_eq!(
            p.create_replication_group(aof).unwrap_err().code,
            "InvalidParameterCombination"
        );
        // A refused request creates no member cluster.
        let after = p.snapshot();
        assert_eq!(before.clusters, after.clusters);
        assert!(after.replication_groups.is_empty());
        let mut zones = group("zones", 3);
        zones.preferred_cache_cluster_azs = vec!["us-east-1a".into()];
        assert_eq!(
            p.create_replication_group(zones).unwrap_err().code,
            "InvalidParameterCombination"
        );
        let mut ok = group("ok", 2);
        ok.automatic_failover_enabled = Some(true);
        ok.preferred_cache_cluster_azs = vec!["us-east-1a".into(), "us-east-1b".into()];
        let v = p.create_replication_group(ok).unwrap();
        assert!(v.group.automatic_failover);
        let zones: Vec<&str> = v
            .members
            .iter()
            .map(|m| m.availability_zone.as_str())
            .collect();
        assert_eq!(zones, ["us-east-1a", "us-east-1b"]);
        // The member ids follow the CLI/API naming.
        assert_eq!(
            p.snapshot().replication_groups["ok"].members,
            ["ok001", "ok002"]
        );
    }

    #[test]
    fn replicas_join_up_to_five_and_leave() {
        let (p, _) = plane();
        p.create_replication_group(group("g", 1)).unwrap();
        p.write(|s, _| {
            s.replication_groups.get_mut("g").unwrap().status = group_status::AVAILABLE.into();
            Ok(())
        })
        .unwrap();
        for n in 0..5 {
            let c = p
                .create_cache_cluster(CreateCluster {
                    cache_cluster_id: format!("r{n}"),
                    replication_group_id: Some("G".into()),
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(c.cluster.replication_group_id.as_deref(), Some("g"));
            assert_eq!(c.cluster.node_type, "cache.m3.medium");
        }
        let e = p
            .create_cache_cluster(CreateCluster {
                cache_cluster_id: "r5".into(),
                replication_group_id: Some("g".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.code, "NodeQuotaForClusterExceeded");
        assert_eq!(
            p.delete_cache_cluster("g001", None).unwrap_err().code,
            "InvalidCacheClusterState"
        );
        p.delete_cache_cluster("r3", None).unwrap();
        assert!(!p.snapshot().replication_groups["g"]
            .members
            .contains(&"r3".to_string()));
    }

    fn set_group_available(p: &ControlPlane, id: &str) {
        p.write(|s, _| {
            s.replication_groups.get_mut(id).unwrap().status = group_status::AVAILABLE.into();
            for c in s.clusters.values_mut() {
                c.status = cluster_status::AVAILABLE.into();
                for n in &mut c.nodes {
                    n.status = node_status::AVAILABLE.into();
                }
            }
            Ok(())
        })
        .unwrap();
    }

    fn modify(id: &str) -> ModifyGroup {
        ModifyGroup {
            replication_group_id: id.into(),
            ..Default::default()
        }
    }

    #[test]
    fn multi_az_needs_a_replica_and_automatic_failover() {
        let (p, _) = plane();
        p.create_replication_group(group("one", 1)).unwrap();
        set_group_available(&p, "one");
        let before = p.snapshot();
        let e = p
            .modify_replication_group(ModifyGroup {
                automatic_failover_enabled: Some(true),
                ..modify("one")
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterCombination");
        // MultiAZEnabled without automatic failover, at create and modify.
        let mut g = group("two", 2);
        g.multi_az_enabled = Some(true);
        assert_eq!(
            p.create_replication_group(g).unwrap_err().code,
            "InvalidParameterCombination"
        );
        let e = p
            .modify_replication_group(ModifyGroup {
                multi_az_enabled: Some(true),
                ..modify("one")
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterCombination");
        assert_eq!(p.snapshot().replication_groups, before.replication_groups);

        let mut g = group("two", 2);
        g.multi_az_enabled = Some(true);
        g.automatic_failover_enabled = Some(true);
        let v = p.create_replication_group(g).unwrap();
        assert!(v.group.multi_az());
        set_group_available(&p, "two");
        // Automatic failover cannot go while Multi-AZ stays.
        let e = p
            .modify_replication_group(ModifyGroup {
                automatic_failover_enabled: Some(false),
                ..modify("two")
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterCombination");
        let v = p
            .modify_replication_group(ModifyGroup {
                automatic_failover_enabled: Some(false),
                multi_az_enabled: Some(false),
                ..modify("two")
            })
            .unwrap();
        assert!(!v.group.multi_az() && !v.group.automatic_failover);
        // Unset, Multi-AZ follows automatic failover (the guide's single feature).
        let v = p
            .modify_replication_group(ModifyGroup {
                automatic_failover_enabled: Some(true),
                multi_az_enabled: None,
                ..modify("two")
            })
            .unwrap();
        assert!(v.group.automatic_failover && !v.group.multi_az());
        let mut g = group("three", 2);
        g.automatic_failover_enabled = Some(true);
        assert!(p.create_replication_group(g).unwrap().group.multi_az());
    }

    #[test]
    fn snapshots_of_a_group_come_from_the_snapshotting_cluster_or_a_replica() {
        let (p, _) = plane();
        p.create_replication_group(group("g", 3)).unwrap();
        set_group_available(&p, "g");
        // A replica by default: the primary is spared.
        let s = p.create_group_snapshot("G", "s1", &[]).unwrap();
        assert_eq!(s.snapshot.cluster.id, "g002");
        assert_eq!(
            s.snapshot.cluster.replication_group_id.as_deref(),
            Some("g")
        );
        let e = p
            .modify_replication_group(ModifyGroup {
                snapshotting_cluster_id: Some("nosuch".into()),
                ..modify("g")
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        let v = p
            .modify_replication_group(ModifyGroup {
                snapshotting_cluster_id: Some("G003".into()),
                ..modify("g")
            })
            .unwrap();
        assert_eq!(v.group.snapshotting_cluster.as_deref(), Some("g003"));
        let s = p.create_group_snapshot("g", "s2", &[]).unwrap();
        assert_eq!(s.snapshot.cluster.id, "g003");
        assert_eq!(
            p.create_group_snapshot("nosuch", "s3", &[])
                .unwrap_err()
                .code,
            "ReplicationGroupNotFoundFault"
        );
        // The snapshotting cluster leaves the group: the choice falls back to a replica.
        p.delete_cache_cluster("g003", None).unwrap();
        assert_eq!(
            p.snapshot().replication_groups["g"].snapshotting_cluster,
            None
        );
        // Deleting the group with a final snapshot takes it on the primary.
        let e = p
            .delete_replication_group("g", false, Some("bad name!"))
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        assert_eq!(p.snapshot().replication_groups["g"].status, "available");
        p.delete_replication_group("g", false, Some("final"))
            .unwrap();
        let s = p.snapshot();
        assert_eq!(s.snapshots["final"].cluster.id, "g001");
        assert!(crate::ops::snapshots::holds_nodes(&s, "g001"));
    }
}
