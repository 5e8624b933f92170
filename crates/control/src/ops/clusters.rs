//! Cache clusters: CreateCacheCluster, DescribeCacheClusters, ModifyCacheCluster,
//! RebootCacheCluster, DeleteCacheCluster. The rules live here; the work (processes,
//! statuses after the first) is the reconciler's.

use crate::catalog::{self, Engine};
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::ops::snapshots;
use crate::plane::{self, allocate_address, emit, ControlPlane, Settings};
use crate::rules::{self, Window};

/// CreateCacheCluster's parameters, as the API received them.
#[derive(Debug, Clone, Default)]
pub struct CreateCluster {
    pub cache_cluster_id: String,
    pub replication_group_id: Option<String>,
    pub az_mode: Option<String>,
    pub preferred_availability_zone: Option<String>,
    pub preferred_availability_zones: Vec<String>,
    pub num_cache_nodes: Option<i32>,
    pub cache_node_type: Option<String>,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub cache_parameter_group_name: Option<String>,
    pub cache_subnet_group_name: Option<String>,
    pub cache_security_group_names: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub tags: Vec<Tag>,
    pub snapshot_arns: Vec<String>,
    pub snapshot_name: Option<String>,
    pub preferred_maintenance_window: Option<String>,
    pub port: Option<i32>,
    pub notification_topic_arn: Option<String>,
    pub auto_minor_version_upgrade: Option<bool>,
    pub snapshot_retention_limit: Option<i32>,
    pub snapshot_window: Option<String>,
}

/// ModifyCacheCluster's parameters.
#[derive(Debug, Clone, Default)]
pub struct ModifyCluster {
    pub cache_cluster_id: String,
    pub num_cache_nodes: Option<i32>,
    pub cache_node_ids_to_remove: Vec<String>,
    pub az_mode: Option<String>,
    pub new_availability_zones: Vec<String>,
    pub cache_security_group_names: Option<Vec<String>>,
    pub security_group_ids: Option<Vec<String>>,
    pub preferred_maintenance_window: Option<String>,
    pub notification_topic_arn: Option<String>,
    pub cache_parameter_group_name: Option<String>,
    pub notification_topic_status: Option<String>,
    pub apply_immediately: bool,
    pub engine_version: Option<String>,
    pub auto_minor_version_upgrade: Option<bool>,
    pub snapshot_retention_limit: Option<i32>,
    pub snapshot_window: Option<String>,
    pub cache_node_type: Option<String>,
}

/// A cluster as DescribeCacheClusters shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub cluster: Cluster,
    pub arn: String,
    pub parameter_apply_status: &'static str,
    pub cache_node_ids_to_reboot: Vec<String>,
    /// Per node: (node, its ParameterGroupStatus); empty unless ShowCacheNodeInfo.
    pub nodes: Vec<(Node, &'static str)>,
    pub show_node_info: bool,
}

pub fn view(
    state: &State,
    settings: &Settings,
    cluster: &Cluster,
    show_node_info: bool,
) -> ClusterView {
    let (status, to_reboot, per_node) = plane::param_statuses(state, cluster);
    let nodes = if show_node_info {
        cluster.nodes.iter().cloned().zip(per_node).collect()
    } else {
        Vec::new()
    };
    ClusterView {
        cluster: cluster.clone(),
        arn: settings.arn("cluster", &cluster.id),
        parameter_apply_status: status,
        cache_node_ids_to_reboot: to_reboot,
        nodes,
        show_node_info,
    }
}

fn not_found(id: &str) -> Fault {
    Fault::cache_cluster_not_found(format!("CacheCluster not found: {id}"))
}

fn check_security_groups(state: &State, names: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in names {
        let key = name.to_ascii_lowercase();
        if !state.security_groups.contains_key(&key) {
            return Err(Fault::cache_security_group_not_found(format!(
                "CacheSecurityGroup not found: {name}"
            )));
        }
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

fn check_az(settings: &Settings, az: &str) -> Result<()> {
    if settings.availability_zones().iter().any(|a| a == az) {
        Ok(())
    } else {
        Err(Fault::invalid_parameter_value(format!(
            "Invalid availability zone: {az}. Availability zones of {} are {}.",
            settings.region,
            settings.availability_zones().join(", ")
        )))
    }
}

fn check_topic(arn: &str) -> Result<()> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "sns" && !parts[5].is_empty() {
        Ok(())
    } else {
        Err(Fault::invalid_parameter_value(format!(
            "Invalid SNS topic ARN: {arn}"
        )))
    }
}

fn check_retention(engine: Engine, node_type: &str, limit: i32) -> Result<u32> {
    if !(0..=35).contains(&limit) {
        return Err(Fault::invalid_parameter_value(format!(
            "Invalid SnapshotRetentionLimit: {limit}. It must be between 0 and 35."
        )));
    }
    if limit > 0 && engine == Engine::Memcached {
        return Err(Fault::invalid_parameter_combination(
            "Snapshots are supported only for Redis clusters.",
        ));
    }
    if limit > 0 && catalog::is_burstable(node_type) {
        return Err(Fault::invalid_parameter_combination(format!(
            "Snapshots are not supported on {node_type} nodes."
        )));
    }
    Ok(limit as u32)
}

fn check_snapshot_window(w: &str) -> Result<()> {
    let ok = w.len() == 11
        && w.split_once('-').is_some_and(|(a, b)| {
            [a, b].iter().all(|t| {
                t.split_once(':').is_some_and(|(h, m)| {
                    h.len() == 2
                        && m.len() == 2
                        && h.parse::<u8>().is_ok_and(|h| h < 24)
                        && m.parse::<u8>().is_ok_and(|m| m < 60)
                })
            })
        });
    if !ok {
        return Err(Fault::invalid_parameter_value(format!(
            "Invalid SnapshotWindow: {w}. It must be in the format hh24:mi-hh24:mi."
        )));
    }
    snapshots::check_window_length(w)
}

pub(crate) fn new_node(
    state: &mut State,
    settings: &Settings,
    cluster: &mut Cluster,
    az: String,
) -> Result<()> {
    let address = allocate_address(state, settings, cluster.port)?;
    let id = format!("{:04}", cluster.next_node_number);
    cluster.next_node_number += 1;
    cluster.nodes.push(Node {
        id,
        status: node_status::CREATING.into(),
        created: settings.now(),
        availability_zone: az,
        address,
        process: None,
        applied_params: Default::default(),
        reboot_requested: false,
        pending_removal: false,
        recovering: false,
        discovery_seen: 0,
    });
    Ok(())
}

/// The AZ of each of `count` new nodes: the ones asked for, else spread over the region (cross-AZ)
/// or all in the cluster's AZ.
pub(crate) fn placement(
    settings: &Settings,
    cluster: &Cluster,
    asked: &[String],
    count: usize,
) -> Result<Vec<String>> {
    if !asked.is_empty() {
        if asked.len() != count {
            return Err(Fault::invalid_parameter_value(format!(
                "The number of availability zones ({}) must equal the number of new cache nodes ({count}).",
                asked.len()
            )));
        }
        for az in asked {
            check_az(settings, az)?;
        }
        if cluster.az_mode == AzMode::SingleAz && asked.iter().any(|a| *a != cluster.preferred_az) {
            return Err(Fault::invalid_parameter_combination(
                "A single-az cluster keeps all its nodes in one availability zone; use AZMode cross-az.",
            ));
        }
        return Ok(asked.to_vec());
    }
    let zones = settings.availability_zones();
    Ok((0..count)
        .map(|i| match cluster.az_mode {
            AzMode::SingleAz => cluster.preferred_az.clone(),
            AzMode::CrossAz => zones[(cluster.nodes.len() + i) % zones.len()].clone(),
        })
        .collect())
}

impl ControlPlane {
    pub fn create_cache_cluster(&self, input: CreateCluster) -> Result<ClusterView> {
        // Restore (issue 5): the snapshot's settings fill in what the request leaves out.
        let input =
            self.read(|state, settings| snapshots::restore_defaults(state, settings, input))?;
        self.write(|state, settings| {
            let id = rules::cluster_id(&input.cache_cluster_id)?;
            if let Some(rg) = &input.replication_group_id {
                return Err(Fault::replication_group_not_found(format!("Replication group {rg} not found.")));
            }
            let engine_name = input.engine.as_deref().ok_or_else(|| Fault::missing("Engine"))?;
            let engine = Engine::parse(&engine_name.to_ascii_lowercase()).ok_or_else(|| {
                Fault::invalid_parameter_value(format!("Invalid engine: {engine_name}. Valid engines are memcached and redis."))
            })?;
            let node_type = input.cache_node_type.clone().ok_or_else(|| Fault::missing("CacheNodeType"))?;
            if catalog::node_type(&node_type).is_none() {
                return Err(Fault::invalid_parameter_value(format!("Invalid CacheNodeType: {node_type}")));
            }
            let count = input.num_cache_nodes.ok_or_else(|| Fault::missing("NumCacheNodes"))?;
            if count < 1 {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid NumCacheNodes: {count}. A cluster has at least one node."
                )));
            }
            if engine == Engine::Redis && count != 1 {
                return Err(Fault::invalid_parameter_value(
                    "Redis clusters have exactly one node: NumCacheNodes must be 1.",
                ));
            }
            if count as u32 > engine.max_nodes() {
                return Err(Fault::node_quota_for_cluster_exceeded(format!(
                    "A {} cluster has at most {} nodes.",
                    engine.as_str(),
                    engine.max_nodes()
                )));
            }
            let version = input.engine_version.clone().unwrap_or_else(|| engine.default_version().into());
            let ev = catalog::engine_version(engine, &version).ok_or_else(|| {
                Fault::invalid_parameter_combination(format!("Cannot find version {version} for {}", engine.as_str()))
            })?;
            let parameter_group = match &input.cache_parameter_group_name {
                Some(name) => {
                    let key = name.to_ascii_lowercase();
                    let group = state.parameter_groups.get(&key).ok_or_else(|| {
                        Fault::cache_parameter_group_not_found(format!("CacheParameterGroup {name} not found."))
                    })?;
                    if group.family != ev.family {
                        return Err(Fault::invalid_parameter_combination(format!(
                            "The parameter group {name} has family {}, but engine {} {version} needs family {}.",
                            group.family,
                            engine.as_str(),
                            ev.family
                        )));
                    }
                    key
                }
                None => format!("default.{}", ev.family),
            };
            let subnet_group = match &input.cache_subnet_group_name {
                Some(name) => {
                    let key = name.to_ascii_lowercase();
                    if !state.subnet_groups.contains_key(&key) {
                        return Err(Fault::cache_subnet_group_not_found(format!("CacheSubnetGroup {name} not found.")));
                    }
                    if !input.cache_security_group_names.is_empty() {
                        return Err(Fault::invalid_parameter_combination(
                            "Cache security groups are for clusters outside a VPC; a cluster in a cache subnet group uses SecurityGroupIds.",
                        ));
                    }
                    Some(key)
                }
                None => None,
            };
            let cache_security_groups = if subnet_group.is_some() {
                Vec::new()
            } else if input.cache_security_group_names.is_empty() {
                vec!["default".to_string()]
            } else {
                check_security_groups(state, &input.cache_security_group_names)?
            };
            let az_mode = match input.az_mode.as_deref() {
                None => {
                    if input.preferred_availability_zones.len() > 1 { AzMode::CrossAz } else { AzMode::SingleAz }
                }
                Some(m) => AzMode::parse(m).ok_or_else(|| {
                    Fault::invalid_parameter_value(format!("Invalid AZMode: {m}. It must be single-az or cross-az."))
                })?,
            };
            if az_mode == AzMode::CrossAz && engine == Engine::Redis {
                return Err(Fault::invalid_parameter_value("AZMode cross-az is supported only for Memcached clusters."));
            }
            if az_mode == AzMode::CrossAz && count < 2 {
                return Err(Fault::invalid_parameter_value(
                    "AZMode cross-az needs at least 2 cache nodes.",
                ));
            }
            if input.preferred_availability_zone.is_some() && !input.preferred_availability_zones.is_empty() {
                return Err(Fault::invalid_parameter_combination(
                    "Only one of PreferredAvailabilityZone and PreferredAvailabilityZones can be given.",
                ));
            }
            let window = match &input.preferred_maintenance_window {
                Some(w) => Window::parse(w)?,
                None => Window::assign(&settings.region, &mut rand::thread_rng()),
            };
            let port = match input.port {
                None => engine.default_port(),
                Some(p) if (1..=65535).contains(&p) => p as u16,
                Some(p) => return Err(Fault::invalid_parameter_value(format!("Invalid Port: {p}"))),
            };
            if let Some(arn) = &input.notification_topic_arn {
                check_topic(arn)?;
            }
            let retention = check_retention(engine, &node_type, input.snapshot_retention_limit.unwrap_or(0))?;
            if let Some(w) = &input.snapshot_window {
                if engine == Engine::Memcached {
                    return Err(Fault::invalid_parameter_combination("Snapshots are supported only for Redis clusters."));
                }
                check_snapshot_window(w)?;
            }
            // Restore and seed (issue 5).
            let restore = snapshots::check_restore(state, &input, engine, &node_type, count)?;
            if input.tags.len() > rules::MAX_TAGS {
                return Err(Fault::tag_quota_per_resource_exceeded(format!(
                    "A resource has at most {} tags.",
                    rules::MAX_TAGS
                )));
            }
            for tag in &input.tags {
                rules::tag(tag)?;
            }
            if state.clusters.contains_key(&id) {
                return Err(Fault::cache_cluster_already_exists(format!("Cache cluster {id} already exists.")));
            }
            let zones = settings.availability_zones();
            let preferred_az = match (az_mode, &input.preferred_availability_zone, input.preferred_availability_zones.first()) {
                (AzMode::CrossAz, _, _) => "Multiple".to_string(),
                (AzMode::SingleAz, Some(az), _) | (AzMode::SingleAz, None, Some(az)) => {
                    check_az(settings, az)?;
                    az.clone()
                }
                (AzMode::SingleAz, None, None) => zones[rand::random::<usize>() % zones.len()].clone(),
            };
            let mut cluster = Cluster {
                id: id.clone(),
                engine,
                engine_version: version,
                node_type,
                status: cluster_status::CREATING.into(),
                num_cache_nodes: count as u32,
                az_mode,
                preferred_az,
                created: settings.now(),
                maintenance_window: window.format(),
                pending: Pending::default(),
                notification: input
                    .notification_topic_arn
                    .clone()
                    .map(|topic_arn| Notification { topic_arn, status: "active".into() }),
                cache_security_groups,
                security_group_ids: input.security_group_ids.clone(),
                parameter_group,
                subnet_group,
                port,
                auto_minor_version_upgrade: input.auto_minor_version_upgrade.unwrap_or(true),
                snapshot_retention_limit: retention,
                snapshot_window: input.snapshot_window.clone().or_else(|| (engine == Engine::Redis).then(|| snapshots::assign_window(&window))),
                replication_group_id: None,
                configuration_address: None,
                discovery_version: 1,
                nodes: Vec::new(),
                next_node_number: 1,
                restore,
                manual_snapshots: Vec::new(),
            };
            let azs = placement(settings, &cluster, &input.preferred_availability_zones, count as usize)?;
            for az in azs {
                new_node(state, settings, &mut cluster, az)?;
            }
            if engine == Engine::Memcached {
                cluster.configuration_address = Some(allocate_address(state, settings, port)?);
            }
            if !input.tags.is_empty() {
                state.tags.insert(settings.arn("cluster", &id), input.tags.clone());
            }
            let shown = view(state, settings, &cluster, false);
            state.clusters.insert(id, cluster);
            Ok(shown)
        })
    }

    pub fn describe_cache_clusters(
        &self,
        id: Option<&str>,
        show_node_info: bool,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<(Vec<ClusterView>, Option<String>)> {
        self.read(|state, settings| {
            let clusters: Vec<&Cluster> = match id {
                Some(id) => {
                    let c = state
                        .clusters
                        .get(&id.to_ascii_lowercase())
                        .ok_or_else(|| not_found(id))?;
                    vec![c]
                }
                None => state.clusters.values().collect(),
            };
            let (page, marker) = rules::page(clusters, |c| c.id.clone(), marker, max_records)?;
            Ok((
                page.into_iter()
                    .map(|c| view(state, settings, c, show_node_info))
                    .collect(),
                marker,
            ))
        })
    }

    pub fn modify_cache_cluster(&self, input: ModifyCluster) -> Result<ClusterView> {
        self.write(|state, settings| {
            let id = input.cache_cluster_id.to_ascii_lowercase();
            let mut cluster = state.clusters.get(&id).cloned().ok_or_else(|| not_found(&input.cache_cluster_id))?;
            if cluster.status != cluster_status::AVAILABLE {
                return Err(Fault::invalid_cache_cluster_state(format!(
                    "Cache cluster {id} is not in the available state (it is {}).",
                    cluster.status
                )));
            }
            if let Some(t) = &input.cache_node_type {
                if *t != cluster.node_type {
                    return Err(Fault::invalid_parameter_combination(
                        "ElastiCache does not support changing the cache node type of an existing cluster.",
                    ));
                }
            }
            let immediate = input.apply_immediately;
            let mut busy = false;
            let mut events: Vec<(&str, String)> = Vec::new();

            if let Some(mode) = &input.az_mode {
                let mode = AzMode::parse(mode).ok_or_else(|| {
                    Fault::invalid_parameter_value(format!("Invalid AZMode: {mode}. It must be single-az or cross-az."))
                })?;
                if mode == AzMode::CrossAz && cluster.engine == Engine::Redis {
                    return Err(Fault::invalid_parameter_value("AZMode cross-az is supported only for Memcached clusters."));
                }
                if mode == AzMode::CrossAz {
                    cluster.az_mode = mode;
                    cluster.preferred_az = "Multiple".into();
                } else if cluster.az_mode == AzMode::CrossAz {
                    return Err(Fault::invalid_parameter_value(
                        "A cross-az cluster cannot go back to single-az: the AZ of an existing node never changes.",
                    ));
                }
            }

            // Adding and removing nodes (Memcached only).
            if let Some(target) = input.num_cache_nodes {
                if target < 1 {
                    return Err(Fault::invalid_parameter_value(format!("Invalid NumCacheNodes: {target}.")));
                }
                if cluster.engine == Engine::Redis && target != 1 {
                    return Err(Fault::invalid_parameter_value(
                        "Nodes can be added to or removed from Memcached clusters only; a Redis cluster has one node.",
                    ));
                }
                if target as u32 > cluster.engine.max_nodes() {
                    return Err(Fault::node_quota_for_cluster_exceeded(format!(
                        "A {} cluster has at most {} nodes.",
                        cluster.engine.as_str(),
                        cluster.engine.max_nodes()
                    )));
                }
                let target = target as u32;
                let active = cluster.members().count() as u32;
                let mut remove: Vec<String> = Vec::new();
                for raw in &input.cache_node_ids_to_remove {
                    if cluster.node(raw).is_none() {
                        return Err(Fault::invalid_parameter_value(format!("Cache node {raw} does not exist in cluster {id}.")));
                    }
                    if !remove.contains(raw) {
                        remove.push(raw.clone());
                    }
                }
                // A new request replaces whatever add/remove was pending.
                cluster.pending.num_cache_nodes = None;
                cluster.pending.cache_node_ids_to_remove.clear();
                cluster.pending.new_availability_zones.clear();
                for n in &mut cluster.nodes {
                    n.pending_removal = false;
                }
                if target > active {
                    if !remove.is_empty() {
                        return Err(Fault::invalid_parameter_combination(
                            "CacheNodeIdsToRemove can be given only when NumCacheNodes is less than the current number of nodes.",
                        ));
                    }
                    let azs = placement(settings, &cluster, &input.new_availability_zones, (target - active) as usize)?;
                    if immediate {
                        for az in azs {
                            new_node(state, settings, &mut cluster, az)?;
                        }
                        cluster.pending.num_cache_nodes = Some(target);
                        busy = true;
                    } else {
                        cluster.pending.num_cache_nodes = Some(target);
                        cluster.pending.new_availability_zones = azs;
                    }
                } else if target < active {
                    if remove.len() as u32 != active - target {
                        return Err(Fault::invalid_parameter_value(format!(
                            "The number of cache node IDs listed ({}) must equal the number of currently active nodes ({active}) minus NumCacheNodes ({target}).",
                            remove.len()
                        )));
                    }
                    if immediate {
                        for rid in &remove {
                            let node = cluster.node_mut(rid).expect("checked above");
                            node.status = node_status::DELETING.into();
                        }
                        cluster.discovery_version += remove.len() as u64;
                        cluster.pending.num_cache_nodes = Some(target);
                        cluster.pending.cache_node_ids_to_remove = remove;
                        busy = true;
                    } else {
                        for rid in &remove {
                            cluster.node_mut(rid).expect("checked above").pending_removal = true;
                        }
                        cluster.pending.num_cache_nodes = Some(target);
                        cluster.pending.cache_node_ids_to_remove = remove;
                    }
                } else if !remove.is_empty() {
                    return Err(Fault::invalid_parameter_value(
                        "CacheNodeIdsToRemove must be empty when NumCacheNodes equals the current number of nodes.",
                    ));
                }
            } else if !input.cache_node_ids_to_remove.is_empty() || !input.new_availability_zones.is_empty() {
                return Err(Fault::invalid_parameter_combination(
                    "CacheNodeIdsToRemove and NewAvailabilityZones need NumCacheNodes.",
                ));
            }

            let mut deferred = cluster.pending.deferred.clone().unwrap_or_default();
            if let Some(name) = &input.cache_parameter_group_name {
                let key = name.to_ascii_lowercase();
                let group = state.parameter_groups.get(&key).ok_or_else(|| {
                    Fault::cache_parameter_group_not_found(format!("CacheParameterGroup {name} not found."))
                })?;
                let version = input.engine_version.as_deref().unwrap_or(&cluster.engine_version);
                let family = catalog::engine_version(cluster.engine, version).map(|v| v.family).unwrap_or_default();
                if group.family != family {
                    return Err(Fault::invalid_parameter_combination(format!(
                        "The parameter group {name} has family {}, but the cluster needs family {family}.",
                        group.family
                    )));
                }
                let old = &state.parameter_groups[&cluster.parameter_group];
                for def in catalog::family_parameters(&group.family) {
                    if def.modifiable == catalog::Modifiable::Conditional {
                        let value = |g: &ParameterGroup| g.values.get(&def.name).cloned().unwrap_or_else(|| def.default.clone());
                        if value(old) != value(group) {
                            return Err(Fault::invalid_parameter_combination(format!(
                                "The parameter {} must have the same value in the old and the new parameter group.",
                                def.name
                            )));
                        }
                    }
                }
                if key != cluster.parameter_group {
                    if immediate {
                        cluster.parameter_group = key;
                        events.push(("ElastiCache:CacheClusterParametersChanged", format!("Updated cache parameter group to {name}")));
                    } else {
                        deferred.parameter_group = Some(key);
                    }
                }
            }
            if let Some(names) = &input.cache_security_group_names {
                if cluster.subnet_group.is_some() && !names.is_empty() {
                    return Err(Fault::invalid_parameter_combination(
                        "Cache security groups are for clusters outside a VPC; this cluster is in a cache subnet group.",
                    ));
                }
                let groups = check_security_groups(state, names)?;
                if immediate {
                    if groups != cluster.cache_security_groups {
                        cluster.cache_security_groups = groups;
                        events.push(("ElastiCache:CacheClusterSecurityGroupModified", "Updated cache security groups".into()));
                    }
                } else {
                    deferred.cache_security_groups = Some(groups);
                }
            }
            if let Some(ids) = &input.security_group_ids {
                if immediate {
                    cluster.security_group_ids = ids.clone();
                } else {
                    deferred.security_group_ids = Some(ids.clone());
                }
            }
            if input.notification_topic_arn.is_some() || input.notification_topic_status.is_some() {
                let current = cluster.notification.clone();
                let topic_arn = match (&input.notification_topic_arn, &current) {
                    (Some(arn), _) => {
                        check_topic(arn)?;
                        arn.clone()
                    }
                    (None, Some(n)) => n.topic_arn.clone(),
                    (None, None) => {
                        return Err(Fault::invalid_parameter_combination(
                            "NotificationTopicStatus needs a notification topic.",
                        ))
                    }
                };
                let status = input
                    .notification_topic_status
                    .clone()
                    .or(current.map(|n| n.status))
                    .unwrap_or_else(|| "active".into());
                if status != "active" && status != "inactive" {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Invalid NotificationTopicStatus: {status}. It must be active or inactive."
                    )));
                }
                let n = Notification { topic_arn, status };
                if immediate {
                    cluster.notification = Some(n);
                } else {
                    deferred.notification = Some(n);
                }
            }
            cluster.pending.deferred = (deferred != Deferred::default()).then_some(deferred);

            if let Some(v) = &input.engine_version {
                let ev = catalog::engine_version(cluster.engine, v).ok_or_else(|| {
                    Fault::invalid_parameter_combination(format!("Cannot find version {v} for {}", cluster.engine.as_str()))
                })?;
                if catalog::version_cmp(v, &cluster.engine_version).is_lt() {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Cannot downgrade the engine from {} to {v}.",
                        cluster.engine_version
                    )));
                }
                let group_family = state
                    .parameter_groups
                    .get(input.cache_parameter_group_name.as_deref().map(str::to_ascii_lowercase).as_deref().unwrap_or(&cluster.parameter_group))
                    .map(|g| g.family.clone())
                    .unwrap_or_default();
                if group_family != ev.family {
                    return Err(Fault::invalid_parameter_combination(format!(
                        "Engine version {v} needs a parameter group of family {}; give CacheParameterGroupName too.",
                        ev.family
                    )));
                }
                if *v != cluster.engine_version {
                    cluster.pending.engine_version = Some(v.clone());
                    if immediate {
                        // The reconciler restarts every node on the new version (data is cleared).
                        busy = true;
                    }
                }
            }
            if let Some(w) = &input.preferred_maintenance_window {
                cluster.maintenance_window = Window::parse(w)?.format();
            }
            if let Some(b) = input.auto_minor_version_upgrade {
                cluster.auto_minor_version_upgrade = b;
            }
            if let Some(limit) = input.snapshot_retention_limit {
                cluster.snapshot_retention_limit = check_retention(cluster.engine, &cluster.node_type, limit)?;
            }
            if let Some(w) = &input.snapshot_window {
                if cluster.engine == Engine::Memcached {
                    return Err(Fault::invalid_parameter_combination("Snapshots are supported only for Redis clusters."));
                }
                check_snapshot_window(w)?;
                cluster.snapshot_window = Some(w.clone());
            }
            if busy {
                cluster.status = cluster_status::MODIFYING.into();
            }
            for (name, message) in events {
                emit(state, settings, "cache-cluster", &id, name, message);
            }
            let shown = view(state, settings, &cluster, false);
            state.clusters.insert(id, cluster);
            Ok(shown)
        })
    }

    pub fn reboot_cache_cluster(&self, id: &str, node_ids: &[String]) -> Result<ClusterView> {
        self.write(|state, settings| {
            let key = id.to_ascii_lowercase();
            let cluster = state.clusters.get_mut(&key).ok_or_else(|| not_found(id))?;
            if cluster.status != cluster_status::AVAILABLE {
                return Err(Fault::invalid_cache_cluster_state(format!(
                    "Cache cluster {key} is not in the available state (it is {}).",
                    cluster.status
                )));
            }
            if node_ids.is_empty() {
                return Err(Fault::missing("CacheNodeIdsToReboot"));
            }
            for nid in node_ids {
                if cluster.members().all(|n| n.id != *nid) {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Cache node {nid} does not exist in cluster {key}."
                    )));
                }
            }
            for nid in node_ids {
                let node = cluster.node_mut(nid).expect("checked above");
                node.reboot_requested = true;
                node.status = node_status::REBOOTING.into();
            }
            cluster.status = cluster_status::REBOOTING.into();
            let cluster = cluster.clone();
            Ok(view(state, settings, &cluster, false))
        })
    }

    pub fn delete_cache_cluster(
        &self,
        id: &str,
        final_snapshot: Option<&str>,
    ) -> Result<ClusterView> {
        self.write(|state, settings| {
            let key = id.to_ascii_lowercase();
            let cluster = state.clusters.get_mut(&key).ok_or_else(|| not_found(id))?;
            if cluster.status == cluster_status::DELETING {
                return Err(Fault::invalid_cache_cluster_state(format!(
                    "Cache cluster {key} is already being deleted."
                )));
            }
            if let Some(name) = final_snapshot {
                let c = cluster.clone();
                snapshots::final_snapshot(state, settings, &c, name)?;
            }
            let cluster = state.clusters.get_mut(&key).expect("found above");
            cluster.status = cluster_status::DELETING.into();
            for node in &mut cluster.nodes {
                node.status = node_status::DELETING.into();
            }
            cluster.pending = Pending::default();
            let cluster = cluster.clone();
            Ok(view(state, settings, &cluster, false))
        })
    }
}
