//! The ElastiCache API served by this control plane: the `api` crate's service trait,
//! implemented by mapping each bound operation onto `ops` and each result onto the model's
//! output shapes. No rule lives here; only translation.
//!

use crate::catalog;
use crate::fault::Fault;
use crate::model::{self as m, Tag};
use crate::ops::clusters::{ClusterView, CreateCluster, ModifyCluster};
use crate::ops::events::EventFilter;
use crate::ops::parameter_groups::{NodeTypeParameterView, ParameterView, ParametersPage};
use crate::ops::replication_groups::{CreateGroup, GroupView, ModifyGroup};
use crate::ops::reserved::{OfferingFilter, ReservationView};
use crate::ops::snapshots::{SnapshotFilter, SnapshotView};
use crate::plane::ControlPlane;
use api::model as w;
use api::{BoxFuture, ElastiCacheService, FaultCode, Operation, Output, RequestContext};
use std::sync::Arc;

/// Shown in every cluster, as ElastiCache does.
const CLIENT_DOWNLOAD_LANDING_PAGE: &str =
    "https://console.aws.amazon.com/elasticache/home#client-download:";

pub struct Service {
    plane: Arc<ControlPlane>,
}

impl Service {
    pub fn new(plane: Arc<ControlPlane>) -> Service {
        Service { plane }
    }
}

impl ElastiCacheService for Service {
    fn call(&self, ctx: RequestContext, op: Operation) -> BoxFuture<Result<Output, api::Fault>> {
        let plane = self.plane.clone();
        Box::pin(async move {
            if ctx.region != plane.settings.region {
                return Err(api::Fault::new(
                    FaultCode::SignatureDoesNotMatch,
                    format!(
                        "Credential should be scoped to a valid region, not '{}'. This endpoint serves '{}'.",
                        ctx.region, plane.settings.region
                    ),
                ));
            }
            tokio::task::spawn_blocking(move || dispatch(&plane, op).map_err(|f| f.to_api()))
                .await
                .map_err(|e| api::Fault::internal(format!("the operation failed: {e}")))?
        })
    }
}

fn tags_in(tags: Option<Vec<w::Tag>>) -> Vec<Tag> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| Tag {
            key: t.key.unwrap_or_default(),
            value: t.value.unwrap_or_default(),
        })
        .collect()
}

fn tags_out(tags: Vec<Tag>) -> w::TagListMessage {
    w::TagListMessage {
        tag_list: Some(
            tags.into_iter()
                .map(|t| w::Tag {
                    key: Some(t.key),
                    value: Some(t.value),
                })
                .collect(),
        ),
    }
}

fn cluster_out(v: ClusterView) -> w::CacheCluster {
    let c = v.cluster;
    let endpoint = |addr: std::net::Ipv4Addr| w::Endpoint {
        address: Some(addr.to_string()),
        port: i32::from(c.port),
    };
    let pending = &c.pending;
    let pending_out = w::PendingModifiedValues {
        num_cache_nodes: pending.num_cache_nodes.map(|n| n as i32),
        cache_node_ids_to_remove: (!pending.cache_node_ids_to_remove.is_empty())
            .then(|| pending.cache_node_ids_to_remove.clone()),
        engine_version: pending.engine_version.clone(),
        ..Default::default()
    };
    let nodes = v.show_node_info.then(|| {
        v.nodes
            .iter()
            .map(|(n, status)| w::CacheNode {
                cache_node_id: Some(n.id.clone()),
                cache_node_status: Some(if n.pending_removal {
                    "pending delete".to_string()
                } else {
                    n.status.clone()
                }),
                cache_node_create_time: Some(n.created.to_datetime()),
                // The endpoint exists once the node does (behaviour.md: not before available).
                endpoint: (n.status != m::node_status::CREATING).then(|| endpoint(n.address)),
                parameter_group_status: Some(status.to_string()),
                customer_availability_zone: Some(n.availability_zone.clone()),
                ..Default::default()
            })
            .collect()
    });
    w::CacheCluster {
        cache_cluster_id: Some(c.id.clone()),
        configuration_endpoint: c
            .configuration_address
            .filter(|_| c.status != m::cluster_status::CREATING)
            .map(endpoint),
        client_download_landing_page: Some(CLIENT_DOWNLOAD_LANDING_PAGE.into()),
        cache_node_type: Some(c.node_type.clone()),
        engine: Some(c.engine.as_str().into()),
        engine_version: Some(c.engine_version.clone()),
        cache_cluster_status: Some(c.status.clone()),
        num_cache_nodes: Some(c.num_cache_nodes as i32),
        preferred_availability_zone: Some(c.preferred_az.clone()),
        cache_cluster_create_time: Some(c.created.to_datetime()),
        preferred_maintenance_window: Some(c.maintenance_window.clone()),
        pending_modified_values: Some(pending_out),
        notification_configuration: c
            .notification
            .as_ref()
            .map(|n| w::NotificationConfiguration {
                topic_arn: Some(n.topic_arn.clone()),
                topic_status: Some(n.status.clone()),
            }),
        cache_security_groups: Some(
            c.cache_security_groups
                .iter()
                .map(|g| w::CacheSecurityGroupMembership {
                    cache_security_group_name: Some(g.clone()),
                    status: Some("active".into()),
                })
                .collect(),
        ),
        cache_parameter_group: Some(w::CacheParameterGroupStatus {
            cache_parameter_group_name: Some(c.parameter_group.clone()),
            parameter_apply_status: Some(v.parameter_apply_status.into()),
            cache_node_ids_to_reboot: Some(v.cache_node_ids_to_reboot),
        }),
        cache_subnet_group_name: c.subnet_group.clone(),
        cache_nodes: nodes,
        auto_minor_version_upgrade: c.auto_minor_version_upgrade,
        security_groups: Some(
            c.security_group_ids
                .iter()
                .map(|id| w::SecurityGroupMembership {
                    security_group_id: Some(id.clone()),
                    status: Some("active".into()),
                })
                .collect(),
        ),
        replication_group_id: c.replication_group_id.clone(),
        snapshot_retention_limit: (c.engine == catalog::Engine::Redis)
            .then_some(c.snapshot_retention_limit as i32),
        snapshot_window: c.snapshot_window.clone(),
        auth_token_enabled: Some(false),
        transit_encryption_enabled: Some(false),
        at_rest_encryption_enabled: Some(false),
        arn: Some(v.arn),
        network_type: Some("ipv4".into()),
        ip_discovery: Some("ipv4".into()),
        ..Default::default()
    }
}

/// A snapshot as the API shows it: the cluster's settings at snapshot time and one node.
fn snapshot_out(v: SnapshotView) -> w::Snapshot {
    let s = v.snapshot;
    let c = &s.cluster;
    let node = c.node(&s.node_id);
    let node_snapshot = w::NodeSnapshot {
        cache_node_id: Some(s.node_id.clone()),
        cache_size: Some(format!("{} MB", s.size.div_ceil(1 << 20))),
        cache_node_create_time: node.map(|n| n.created.to_datetime()),
        snapshot_create_time: Some(s.created.to_datetime()),
        node_group_configuration: v.show_node_group_config.then(|| w::NodeGroupConfiguration {
            node_group_id: Some("0001".into()),
            slots: Some("0-16383".into()),
            replica_count: Some(0),
            primary_availability_zone: node.map(|n| n.availability_zone.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    w::Snapshot {
        snapshot_name: Some(s.name.clone()),
        cache_cluster_id: Some(c.id.clone()),
        replication_group_id: c.replication_group_id.clone(),
        snapshot_status: Some(v.status_override.map_or(s.status.clone(), str::to_string)),
        snapshot_source: Some(s.source.clone()),
        cache_node_type: Some(c.node_type.clone()),
        engine: Some(c.engine.as_str().into()),
        engine_version: Some(c.engine_version.clone()),
        num_cache_nodes: Some(c.members().count() as i32),
        preferred_availability_zone: Some(c.preferred_az.clone()),
        cache_cluster_create_time: Some(c.created.to_datetime()),
        preferred_maintenance_window: Some(c.maintenance_window.clone()),
        topic_arn: c.notification.as_ref().map(|n| n.topic_arn.clone()),
        port: Some(i32::from(c.port)),
        cache_parameter_group_name: Some(c.parameter_group.clone()),
        cache_subnet_group_name: c.subnet_group.clone(),
        auto_minor_version_upgrade: c.auto_minor_version_upgrade,
        snapshot_retention_limit: Some(c.snapshot_retention_limit as i32),
        snapshot_window: c.snapshot_window.clone(),
        node_snapshots: Some(vec![node_snapshot]),
        arn: Some(v.arn),
        data_tiering: Some("disabled".into()),
        ..Default::default()
    }
}

fn parameter_out(p: ParameterView) -> w::Parameter {
    w::Parameter {
        parameter_name: Some(p.name),
        parameter_value: Some(p.value),
        description: Some(p.description),
        source: Some(p.source.into()),
        data_type: Some(p.data_type),
        allowed_values: (!p.allowed_values.is_empty()).then_some(p.allowed_values),
        is_modifiable: p.is_modifiable,
        minimum_engine_version: Some(p.minimum_engine_version),
        change_type: Some(p.change_type.into()),
    }
}

fn node_type_parameter_out(p: NodeTypeParameterView) -> w::CacheNodeTypeSpecificParameter {
    w::CacheNodeTypeSpecificParameter {
        parameter_name: Some(p.name),
        description: Some(p.description),
        source: Some(p.source.into()),
        data_type: Some(p.data_type),
        allowed_values: Some(p.allowed_values),
        is_modifiable: p.is_modifiable,
        minimum_engine_version: Some(p.minimum_engine_version),
        cache_node_type_specific_values: Some(
            p.values
                .into_iter()
                .map(|(t, v)| w::CacheNodeTypeSpecificValue {
                    cache_node_type: Some(t),
                    value: Some(v),
                })
                .collect(),
        ),
        change_type: Some(p.change_type.into()),
    }
}

fn parameters_out(
    p: ParametersPage,
) -> (
    Option<String>,
    Vec<w::Parameter>,
    Vec<w::CacheNodeTypeSpecificParameter>,
) {
    (
        p.marker,
        p.parameters.into_iter().map(parameter_out).collect(),
        p.node_type_specific
            .into_iter()
            .map(node_type_parameter_out)
            .collect(),
    )
}

fn parameter_group_out(plane: &ControlPlane, g: m::ParameterGroup) -> w::CacheParameterGroup {
    w::CacheParameterGroup {
        arn: Some(plane.settings.arn("parametergroup", &g.name)),
        cache_parameter_group_name: Some(g.name),
        cache_parameter_group_family: Some(g.family),
        description: Some(g.description),
        is_global: false,
    }
}

fn security_group_out(plane: &ControlPlane, g: m::SecurityGroup) -> w::CacheSecurityGroup {
    w::CacheSecurityGroup {
        arn: Some(plane.settings.arn("securitygroup", &g.name)),
        owner_id: Some(g.owner_id),
        cache_security_group_name: Some(g.name),
        description: Some(g.description),
        ec2_security_groups: Some(
            g.ec2_groups
                .into_iter()
                .map(|e| w::EC2SecurityGroup {
                    status: Some(e.status),
                    ec2_security_group_name: Some(e.name),
                    ec2_security_group_owner_id: Some(e.owner_id),
                })
                .collect(),
        ),
    }
}

fn subnet_group_out(plane: &ControlPlane, g: m::SubnetGroup) -> w::CacheSubnetGroup {
    w::CacheSubnetGroup {
        arn: Some(plane.settings.arn("subnetgroup", &g.name)),
        cache_subnet_group_name: Some(g.name),
        cache_subnet_group_description: Some(g.description),
        vpc_id: Some(g.vpc_id),
        subnets: Some(
            g.subnets
                .into_iter()
                .map(|s| w::Subnet {
                    subnet_identifier: Some(s.id),
                    subnet_availability_zone: Some(w::AvailabilityZone {
                        name: Some(s.availability_zone),
                    }),
                    supported_network_types: Some(vec!["ipv4".into()]),
                    ..Default::default()
                })
                .collect(),
        ),
        supported_network_types: Some(vec!["ipv4".into()]),
    }
}

fn recurring(o: &catalog::Offering) -> Option<Vec<w::RecurringCharge>> {
    Some(
        o.recurring_hourly
            .map(|amount| w::RecurringCharge {
                recurring_charge_amount: amount,
                recurring_charge_frequency: Some("Hourly".into()),
            })
            .into_iter()
            .collect(),
    )
}

fn offering_out(o: &catalog::Offering) -> w::ReservedCacheNodesOffering {
    w::ReservedCacheNodesOffering {
        reserved_cache_nodes_offering_id: Some(o.id.clone()),
        cache_node_type: Some(o.node_type.clone()),
        duration: o.duration as i32,
        fixed_price: o.fixed_price,
        usage_price: o.usage_price,
        product_description: Some(o.product.as_str().into()),
        offering_type: Some(o.offering_type.into()),
        recurring_charges: recurring(o),
    }
}

fn reservation_out(r: ReservationView) -> w::ReservedCacheNode {
    let o = r.offering;
    w::ReservedCacheNode {
        reserved_cache_node_id: Some(r.node.id),
        reserved_cache_nodes_offering_id: Some(o.id.clone()),
        cache_node_type: Some(o.node_type.clone()),
        start_time: Some(r.node.start.to_datetime()),
        duration: o.duration as i32,
        fixed_price: o.fixed_price,
        usage_price: o.usage_price,
        cache_node_count: r.node.count as i32,
        product_description: Some(o.product.as_str().into()),
        offering_type: Some(o.offering_type.into()),
        state: Some(r.node.state),
        recurring_charges: recurring(o),
        reservation_arn: Some(r.arn),
    }
}

fn parameter_names(
    values: Option<Vec<w::ParameterNameValue>>,
) -> Result<Vec<(String, String)>, Fault> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let name = p
                .parameter_name
                .ok_or_else(|| Fault::missing("ParameterName"))?;
            Ok((name, p.parameter_value.unwrap_or_default()))
        })
        .collect()
}

fn offering_filter(
    id: Option<String>,
    node_type: Option<String>,
    duration: Option<String>,
    product: Option<String>,
    offering_type: Option<String>,
    marker: Option<String>,
    max_records: Option<i32>,
) -> OfferingFilter {
    OfferingFilter {
        offering_id: id,
        node_type,
        duration,
        product_description: product,
        offering_type,
        marker,
        max_records,
    }
}

/// A replication group as the API shows it (one node group, `0001`, without cluster mode).
fn group_out(v: GroupView) -> w::ReplicationGroup {
    let g = &v.group;
    let status = |s: &str| Some(s.to_string());
    let on_off = |b: bool| status(if b { "enabled" } else { "disabled" });
    w::ReplicationGroup {
        replication_group_id: Some(g.id.clone()),
        description: Some(g.description.clone()),
        status: Some(g.status.clone()),
        member_clusters: Some(g.members.clone()),
        node_groups: Some(vec![w::NodeGroup {
            node_group_id: Some("0001".into()),
            status: Some(g.status.clone()),
            primary_endpoint: Some(w::Endpoint {
                address: Some(g.endpoint.to_string()),
                port: i32::from(g.port),
            }),
            node_group_members: Some(
                v.members
                    .iter()
                    .map(|m| w::NodeGroupMember {
                        cache_cluster_id: Some(m.cluster_id.clone()),
                        cache_node_id: Some(m.node_id.clone()),
                        read_endpoint: Some(w::Endpoint {
                            address: Some(m.address.to_string()),
                            port: i32::from(m.port),
                        }),
                        preferred_availability_zone: Some(m.availability_zone.clone()),
                        current_role: Some(m.role.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }]),
        automatic_failover: on_off(g.automatic_failover),
        multi_az: on_off(g.multi_az()),
        snapshotting_cluster_id: g.snapshotting_cluster.clone(),
        cluster_enabled: Some(false),
        cache_node_type: (!v.node_type.is_empty()).then(|| v.node_type.clone()),
        arn: Some(v.arn.clone()),
        replication_group_create_time: Some(g.created.to_datetime()),
        engine: Some("redis".into()),
        ..Default::default()
    }
}

/// Performs one operation.
pub fn dispatch(plane: &ControlPlane, op: Operation) -> Result<Output, Fault> {
    Ok(match op {
        Operation::CreateCacheCluster(i) => {
            let v = plane.create_cache_cluster(CreateCluster {
                cache_cluster_id: i.cache_cluster_id,
                replication_group_id: i.replication_group_id,
                az_mode: i.az_mode,
                preferred_availability_zone: i.preferred_availability_zone,
                preferred_availability_zones: i.preferred_availability_zones.unwrap_or_default(),
                num_cache_nodes: i.num_cache_nodes,
                cache_node_type: i.cache_node_type,
                engine: i.engine,
                engine_version: i.engine_version,
                cache_parameter_group_name: i.cache_parameter_group_name,
                cache_subnet_group_name: i.cache_subnet_group_name,
                cache_security_group_names: i.cache_security_group_names.unwrap_or_default(),
                security_group_ids: i.security_group_ids.unwrap_or_default(),
                tags: tags_in(i.tags),
                snapshot_arns: i.snapshot_arns.unwrap_or_default(),
                snapshot_name: i.snapshot_name,
                preferred_maintenance_window: i.preferred_maintenance_window,
                port: i.port,
                notification_topic_arn: i.notification_topic_arn,
                auto_minor_version_upgrade: i.auto_minor_version_upgrade,
                snapshot_retention_limit: i.snapshot_retention_limit,
                snapshot_window: i.snapshot_window,
            })?;
            Output::CreateCacheCluster(w::CreateCacheClusterResult {
                cache_cluster: Some(cluster_out(v)),
            })
        }
        Operation::DescribeCacheClusters(i) => {
            let (clusters, marker) = plane.describe_cache_clusters(
                i.cache_cluster_id.as_deref(),
                i.show_cache_node_info.unwrap_or(false),
                i.marker.as_deref(),
                i.max_records,
            )?;
            Output::DescribeCacheClusters(w::CacheClusterMessage {
                marker,
                cache_clusters: Some(clusters.into_iter().map(cluster_out).collect()),
            })
        }
        Operation::ModifyCacheCluster(i) => {
            if let Some(e) = &i.engine {
                let current = plane
                    .describe_cache_clusters(Some(&i.cache_cluster_id), false, None, None)?
                    .0;
                if current
                    .first()
                    .is_some_and(|c| c.cluster.engine.as_str() != e)
                {
                    return Err(Fault::invalid_parameter_combination(
                        "The engine of a cluster cannot be changed.",
                    ));
                }
            }
            let v = plane.modify_cache_cluster(ModifyCluster {
                cache_cluster_id: i.cache_cluster_id,
                num_cache_nodes: i.num_cache_nodes,
                cache_node_ids_to_remove: i.cache_node_ids_to_remove.unwrap_or_default(),
                az_mode: i.az_mode,
                new_availability_zones: i.new_availability_zones.unwrap_or_default(),
                cache_security_group_names: i.cache_security_group_names,
                security_group_ids: i.security_group_ids,
                preferred_maintenance_window: i.preferred_maintenance_window,
                notification_topic_arn: i.notification_topic_arn,
                cache_parameter_group_name: i.cache_parameter_group_name,
                notification_topic_status: i.notification_topic_status,
                apply_immediately: i.apply_immediately,
                engine_version: i.engine_version,
                auto_minor_version_upgrade: i.auto_minor_version_upgrade,
                snapshot_retention_limit: i.snapshot_retention_limit,
                snapshot_window: i.snapshot_window,
                cache_node_type: i.cache_node_type,
            })?;
            Output::ModifyCacheCluster(w::ModifyCacheClusterResult {
                cache_cluster: Some(cluster_out(v)),
            })
        }
        Operation::RebootCacheCluster(i) => {
            let v = plane.reboot_cache_cluster(&i.cache_cluster_id, &i.cache_node_ids_to_reboot)?;
            Output::RebootCacheCluster(w::RebootCacheClusterResult {
                cache_cluster: Some(cluster_out(v)),
            })
        }
        Operation::DeleteCacheCluster(i) => {
            let v = plane.delete_cache_cluster(
                &i.cache_cluster_id,
                i.final_snapshot_identifier.as_deref(),
            )?;
            Output::DeleteCacheCluster(w::DeleteCacheClusterResult {
                cache_cluster: Some(cluster_out(v)),
            })
        }

        Operation::CreateCacheParameterGroup(i) => {
            let g = plane.create_cache_parameter_group(
                &i.cache_parameter_group_name,
                &i.cache_parameter_group_family,
                &i.description,
            )?;
            Output::CreateCacheParameterGroup(w::CreateCacheParameterGroupResult {
                cache_parameter_group: Some(parameter_group_out(plane, g)),
            })
        }
        Operation::DescribeCacheParameterGroups(i) => {
            let (groups, marker) = plane.describe_cache_parameter_groups(
                i.cache_parameter_group_name.as_deref(),
                i.marker.as_deref(),
                i.max_records,
            )?;
            Output::DescribeCacheParameterGroups(w::CacheParameterGroupsMessage {
                marker,
                cache_parameter_groups: Some(
                    groups
                        .into_iter()
                        .map(|g| parameter_group_out(plane, g))
                        .collect(),
                ),
            })
        }
        Operation::DescribeCacheParameters(i) => {
            let page = plane.describe_cache_parameters(
                &i.cache_parameter_group_name,
                i.source.as_deref(),
                i.marker.as_deref(),
                i.max_records,
            )?;
            let (marker, parameters, node_type) = parameters_out(page);
            Output::DescribeCacheParameters(w::CacheParameterGroupDetails {
                marker,
                parameters: Some(parameters),
                cache_node_type_specific_parameters: Some(node_type),
            })
        }
        Operation::DescribeEngineDefaultParameters(i) => {
            let page = plane.describe_engine_default_parameters(
                &i.cache_parameter_group_family,
                i.marker.as_deref(),
                i.max_records,
            )?;
            let family = page.family.clone();
            let (marker, parameters, node_type) = parameters_out(page);
            Output::DescribeEngineDefaultParameters(w::DescribeEngineDefaultParametersResult {
                engine_defaults: Some(w::EngineDefaults {
                    cache_parameter_group_family: Some(family),
                    marker,
                    parameters: Some(parameters),
                    cache_node_type_specific_parameters: Some(node_type),
                }),
            })
        }
        Operation::ModifyCacheParameterGroup(i) => {
            let name = plane.modify_cache_parameter_group(
                &i.cache_parameter_group_name,
                &parameter_names(Some(i.parameter_name_values))?,
            )?;
            Output::ModifyCacheParameterGroup(w::CacheParameterGroupNameMessage {
                cache_parameter_group_name: Some(name),
            })
        }
        Operation::ResetCacheParameterGroup(i) => {
            let names: Vec<String> = parameter_names(i.parameter_name_values)?
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let name = plane.reset_cache_parameter_group(
                &i.cache_parameter_group_name,
                i.reset_all_parameters,
                &names,
            )?;
            Output::ResetCacheParameterGroup(w::CacheParameterGroupNameMessage {
                cache_parameter_group_name: Some(name),
            })
        }
        Operation::DeleteCacheParameterGroup(i) => {
            plane.delete_cache_parameter_group(&i.cache_parameter_group_name)?;
            Output::DeleteCacheParameterGroup
        }

        Operation::CreateCacheSecurityGroup(i) => {
            let g =
                plane.create_cache_security_group(&i.cache_security_group_name, &i.description)?;
            Output::CreateCacheSecurityGroup(w::CreateCacheSecurityGroupResult {
                cache_security_group: Some(security_group_out(plane, g)),
            })
        }
        Operation::DescribeCacheSecurityGroups(i) => {
            let (groups, marker) = plane.describe_cache_security_groups(
                i.cache_security_group_name.as_deref(),
                i.marker.as_deref(),
                i.max_records,
            )?;
            Output::DescribeCacheSecurityGroups(w::CacheSecurityGroupMessage {
                marker,
                cache_security_groups: Some(
                    groups
                        .into_iter()
                        .map(|g| security_group_out(plane, g))
                        .collect(),
                ),
            })
        }
        Operation::AuthorizeCacheSecurityGroupIngress(i) => {
            let g = plane.authorize_cache_security_group_ingress(
                &i.cache_security_group_name,
                &i.ec2_security_group_name,
                &i.ec2_security_group_owner_id,
            )?;
            Output::AuthorizeCacheSecurityGroupIngress(
                w::AuthorizeCacheSecurityGroupIngressResult {
                    cache_security_group: Some(security_group_out(plane, g)),
                },
            )
        }
        Operation::RevokeCacheSecurityGroupIngress(i) => {
            let g = plane.revoke_cache_security_group_ingress(
                &i.cache_security_group_name,
                &i.ec2_security_group_name,
                &i.ec2_security_group_owner_id,
            )?;
            Output::RevokeCacheSecurityGroupIngress(w::RevokeCacheSecurityGroupIngressResult {
                cache_security_group: Some(security_group_out(plane, g)),
            })
        }
        Operation::DeleteCacheSecurityGroup(i) => {
            plane.delete_cache_security_group(&i.cache_security_group_name)?;
            Output::DeleteCacheSecurityGroup
        }

        Operation::CreateCacheSubnetGroup(i) => {
            let g = plane.create_cache_subnet_group(
                &i.cache_subnet_group_name,
                &i.cache_subnet_group_description,
                &i.subnet_ids,
            )?;
            Output::CreateCacheSubnetGroup(w::CreateCacheSubnetGroupResult {
                cache_subnet_group: Some(subnet_group_out(plane, g)),
            })
        }
        Operation::ModifyCacheSubnetGroup(i) => {
            let g = plane.modify_cache_subnet_group(
                &i.cache_subnet_group_name,
                i.cache_subnet_group_description.as_deref(),
                i.subnet_ids.as_deref(),
            )?;
            Output::ModifyCacheSubnetGroup(w::ModifyCacheSubnetGroupResult {
                cache_subnet_group: Some(subnet_group_out(plane, g)),
            })
        }
        Operation::DeleteCacheSubnetGroup(i) => {
            plane.delete_cache_subnet_group(&i.cache_subnet_group_name)?;
            Output::DeleteCacheSubnetGroup
        }
        Operation::DescribeCacheSubnetGroups(i) => {
            let (groups, marker) = plane.describe_cache_subnet_groups(
                i.cache_subnet_group_name.as_deref(),
                i.marker.as_deref(),
                i.max_records,
            )?;
            Output::DescribeCacheSubnetGroups(w::CacheSubnetGroupMessage {
                marker,
                cache_subnet_groups: Some(
                    groups
                        .into_iter()
                        .map(|g| subnet_group_out(plane, g))
                        .collect(),
                ),
            })
        }

        Operation::DescribeEvents(i) => {
            let (events, marker) = plane.describe_events(&EventFilter {
                source_identifier: i.source_identifier,
                source_type: i.source_type,
                start_time: i.start_time,
                end_time: i.end_time,
                duration: i.duration,
                marker: i.marker,
                max_records: i.max_records,
            })?;
            Output::DescribeEvents(w::EventsMessage {
                marker,
                events: Some(
                    events
                        .into_iter()
                        .map(|e| w::Event {
                            source_identifier: Some(e.source_identifier),
                            source_type: Some(e.source_type),
                            message: Some(e.message),
                            date: Some(e.date.to_datetime()),
                        })
                        .collect(),
                ),
            })
        }

        Operation::AddTagsToResource(i) => Output::AddTagsToResource(tags_out(
            plane.add_tags_to_resource(&i.resource_name, &tags_in(Some(i.tags)))?,
        )),
        Operation::ListTagsForResource(i) => {
            Output::ListTagsForResource(tags_out(plane.list_tags_for_resource(&i.resource_name)?))
        }
        Operation::RemoveTagsFromResource(i) => Output::RemoveTagsFromResource(tags_out(
            plane.remove_tags_from_resource(&i.resource_name, &i.tag_keys)?,
        )),

        Operation::DescribeReservedCacheNodesOfferings(i) => {
            let f = offering_filter(
                i.reserved_cache_nodes_offering_id,
                i.cache_node_type,
                i.duration,
                i.product_description,
                i.offering_type,
                i.marker,
                i.max_records,
            );
            let (offers, marker) = plane.describe_reserved_cache_nodes_offerings(&f)?;
            Output::DescribeReservedCacheNodesOfferings(w::ReservedCacheNodesOfferingMessage {
                marker,
                reserved_cache_nodes_offerings: Some(
                    offers.into_iter().map(offering_out).collect(),
                ),
            })
        }
        Operation::DescribeReservedCacheNodes(i) => {
            let f = offering_filter(
                i.reserved_cache_nodes_offering_id,
                i.cache_node_type,
                i.duration,
                i.product_description,
                i.offering_type,
                i.marker,
                i.max_records,
            );
            let (nodes, marker) =
                plane.describe_reserved_cache_nodes(i.reserved_cache_node_id.as_deref(), &f)?;
            Output::DescribeReservedCacheNodes(w::ReservedCacheNodeMessage {
                marker,
                reserved_cache_nodes: Some(nodes.into_iter().map(reservation_out).collect()),
            })
        }
        Operation::PurchaseReservedCacheNodesOffering(i) => {
            if i.tags.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(Fault::invalid_parameter_value(
                    "Tags are supported on cache clusters and snapshots only.",
                ));
            }
            let r = plane.purchase_reserved_cache_nodes_offering(
                &i.reserved_cache_nodes_offering_id,
                i.reserved_cache_node_id.as_deref(),
                i.cache_node_count,
            )?;
            Output::PurchaseReservedCacheNodesOffering(
                w::PurchaseReservedCacheNodesOfferingResult {
                    reserved_cache_node: Some(reservation_out(r)),
                },
            )
        }
        Operation::DescribeCacheEngineVersions(i) => {
            let (versions, marker) = plane.describe_cache_engine_versions(
                i.engine.as_deref(),
                i.engine_version.as_deref(),
                i.cache_parameter_group_family.as_deref(),
                i.default_only,
                i.marker.as_deref(),
                i.max_records,
            )?;
            Output::DescribeCacheEngineVersions(w::CacheEngineVersionMessage {
                marker,
                cache_engine_versions: Some(
                    versions
                        .into_iter()
                        .map(|v| w::CacheEngineVersion {
                            engine: Some(v.engine.as_str().into()),
                            engine_version: Some(v.version.into()),
                            cache_parameter_group_family: Some(v.family.into()),
                            cache_engine_description: Some(v.engine_description().into()),
                            cache_engine_version_description: Some(v.version_description()),
                        })
                        .collect(),
                ),
            })
        }

        // Replication groups (issue 6).
        Operation::DescribeReplicationGroups(i) => {
            let page = api::Page::from_request(
                i.marker.as_deref(),
                i.max_records,
                api::Page::DEFAULT_LIMITS,
            )?;
            let all = plane.describe_replication_groups(i.replication_group_id.as_deref())?;
            let (list, marker) = page.take(all, |g| g.group.id.clone());
            Output::DescribeReplicationGroups(w::ReplicationGroupMessage {
                marker,
                replication_groups: Some(list.into_iter().map(group_out).collect()),
            })
        }
        Operation::CreateReplicationGroup(i) => {
            let v = plane.create_replication_group(CreateGroup {
                replication_group_id: i.replication_group_id,
                description: i.replication_group_description,
                primary_cluster_id: i.primary_cluster_id,
                automatic_failover_enabled: i.automatic_failover_enabled,
                multi_az_enabled: i.multi_az_enabled,
                num_cache_clusters: i.num_cache_clusters,
                preferred_cache_cluster_azs: i.preferred_cache_cluster_azs.unwrap_or_default(),
                cluster: CreateCluster {
                    cache_node_type: i.cache_node_type,
                    engine: i.engine,
                    engine_version: i.engine_version,
                    cache_parameter_group_name: i.cache_parameter_group_name,
                    cache_subnet_group_name: i.cache_subnet_group_name,
                    cache_security_group_names: i.cache_security_group_names.unwrap_or_default(),
                    security_group_ids: i.security_group_ids.unwrap_or_default(),
                    tags: tags_in(i.tags),
                    preferred_maintenance_window: i.preferred_maintenance_window,
                    port: i.port,
                    notification_topic_arn: i.notification_topic_arn,
                    auto_minor_version_upgrade: i.auto_minor_version_upgrade,
                    snapshot_retention_limit: i.snapshot_retention_limit,
                    snapshot_window: i.snapshot_window,
                    ..CreateCluster::default()
                },
            })?;
            Output::CreateReplicationGroup(w::CreateReplicationGroupResult {
                replication_group: Some(group_out(v)),
            })
        }
        Operation::ModifyReplicationGroup(i) => {
            let v = plane.modify_replication_group(ModifyGroup {
                replication_group_id: i.replication_group_id,
                description: i.replication_group_description,
                primary_cluster_id: i.primary_cluster_id,
                automatic_failover_enabled: i.automatic_failover_enabled,
                multi_az_enabled: i.multi_az_enabled,
                snapshotting_cluster_id: i.snapshotting_cluster_id,
            })?;
            Output::ModifyReplicationGroup(w::ModifyReplicationGroupResult {
                replication_group: Some(group_out(v)),
            })
        }
        Operation::DeleteReplicationGroup(i) => {
            let v = plane.delete_replication_group(
                &i.replication_group_id,
                i.retain_primary_cluster.unwrap_or(false),
                i.final_snapshot_identifier.as_deref(),
            )?;
            Output::DeleteReplicationGroup(w::DeleteReplicationGroupResult {
                replication_group: Some(group_out(v)),
            })
        }
        // Snapshots (issue 5).
        Operation::DescribeSnapshots(i) => {
            if let Some(rg) = i.replication_group_id {
                return Err(Fault::replication_group_not_found(format!(
                    "Replication group {rg} not found."
                )));
            }
            let (list, marker) = plane.describe_snapshots(&SnapshotFilter {
                cache_cluster_id: i.cache_cluster_id,
                snapshot_name: i.snapshot_name,
                snapshot_source: i.snapshot_source,
                show_node_group_config: i.show_node_group_config.unwrap_or(false),
                marker: i.marker,
                max_records: i.max_records,
            })?;
            Output::DescribeSnapshots(w::DescribeSnapshotsListMessage {
                marker,
                snapshots: Some(list.into_iter().map(snapshot_out).collect()),
            })
        }
        Operation::CreateSnapshot(i) => {
            let v = match (i.replication_group_id, i.cache_cluster_id) {
                (Some(_), Some(_)) => {
                    return Err(Fault::invalid_parameter_combination(
                        "Specify either CacheClusterId or ReplicationGroupId, not both.",
                    ))
                }
                (Some(rg), None) => {
                    plane.create_group_snapshot(&rg, &i.snapshot_name, &tags_in(i.tags))?
                }
                (None, c) => {
                    plane.create_snapshot(c.as_deref(), &i.snapshot_name, &tags_in(i.tags))?
                }
            };
            Output::CreateSnapshot(w::CreateSnapshotResult {
                snapshot: Some(snapshot_out(v)),
            })
        }
        Operation::CopySnapshot(i) => {
            let v = plane.copy_snapshot(
                &i.source_snapshot_name,
                &i.target_snapshot_name,
                i.target_bucket.as_deref(),
                &tags_in(i.tags),
            )?;
            Output::CopySnapshot(w::CopySnapshotResult {
                snapshot: Some(snapshot_out(v)),
            })
        }
        Operation::DeleteSnapshot(i) => {
            let v = plane.delete_snapshot(&i.snapshot_name)?;
            Output::DeleteSnapshot(w::DeleteSnapshotResult {
                snapshot: Some(snapshot_out(v)),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::plane;

    fn op(action: &str, params: &[(&str, &str)]) -> Operation {
        let mut pairs = vec![
            ("Action".to_string(), action.to_string()),
            ("Version".into(), "2015-02-02".into()),
        ];
        pairs.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let params = api::form::Params::decode(&[body.as_bytes()]).unwrap();
        Operation::bind(action, &params.tree).unwrap().unwrap()
    }

    #[test]
    fn clusters_map_onto_the_models_shapes() {
        let (p, _) = plane();
        let out = dispatch(
            &p,
            op(
                "CreateCacheCluster",
                &[
                    ("CacheClusterId", "Web"),
                    ("Engine", "memcached"),
                    ("CacheNodeType", "cache.m3.medium"),
                    ("NumCacheNodes", "2"),
                    ("Tags.Tag.1.Key", "team"),
                    ("Tags.Tag.1.Value", "a"),
                ],
            ),
        )
        .unwrap();
        let Output::CreateCacheCluster(w::CreateCacheClusterResult {
            cache_cluster: Some(c),
        }) = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(c.cache_cluster_id.as_deref(), Some("web"));
        assert_eq!(c.cache_cluster_status.as_deref(), Some("creating"));
        assert_eq!(c.num_cache_nodes, Some(2));
        assert!(c.cache_nodes.is_none(), "nodes only with ShowCacheNodeInfo");
        assert!(
            c.configuration_endpoint.is_none(),
            "no endpoint before the cluster is available"
        );
        assert_eq!(
            c.cache_parameter_group
                .unwrap()
                .parameter_apply_status
                .as_deref(),
            Some("in-sync")
        );
        assert_eq!(
            c.arn.as_deref(),
            Some("arn:aws:elasticache:us-east-1:123456789012:cluster:web")
        );

        let out = dispatch(
            &p,
            op("DescribeCacheClusters", &[("ShowCacheNodeInfo", "true")]),
        )
        .unwrap();
        let Output::DescribeCacheClusters(m) = out else {
            panic!()
        };
        let nodes = m.cache_clusters.unwrap()[0].cache_nodes.clone().unwrap();
        assert_eq!(
            nodes
                .iter()
                .map(|n| n.cache_node_id.clone().unwrap())
                .collect::<Vec<_>>(),
            ["0001", "0002"]
        );
        assert!(
            nodes[0].endpoint.is_none(),
            "a creating node has no endpoint yet"
        );

        let out = dispatch(
            &p,
            op(
                "ListTagsForResource",
                &[(
                    "ResourceName",
                    "arn:aws:elasticache:us-east-1:123456789012:cluster:web",
                )],
            ),
        )
        .unwrap();
        assert_eq!(
            out,
            Output::ListTagsForResource(w::TagListMessage {
                tag_list: Some(vec![w::Tag {
                    key: Some("team".into()),
                    value: Some("a".into())
                }])
            })
        );
    }

    #[test]
    fn faults_keep_the_models_codes_and_unbuilt_actions_say_so() {
        let (p, _) = plane();
        let code = |o: Operation| dispatch(&p, o).unwrap_err().to_api().code;
        assert_eq!(
            code(op("DescribeCacheClusters", &[("CacheClusterId", "nope")])),
            FaultCode::CacheClusterNotFoundFault
        );
        assert_eq!(
            code(op(
                "DescribeCacheSubnetGroups",
                &[("CacheSubnetGroupName", "nope")]
            )),
            FaultCode::CacheSubnetGroupNotFoundFault
        );
        assert_eq!(
            code(op(
                "CreateCacheSecurityGroup",
                &[("CacheSecurityGroupName", "default"), ("Description", "d")]
            )),
            FaultCode::InvalidParameterValueException
        );
        // A snapshot needs a source (issue 5).
        assert_eq!(
            code(op("CreateSnapshot", &[("SnapshotName", "s")])),
            FaultCode::InvalidParameterCombinationException
        );
        assert_eq!(
            code(op(
                "DeleteReplicationGroup",
                &[("ReplicationGroupId", "rg")]
            )),
            FaultCode::ReplicationGroupNotFoundFault
        );
        assert_eq!(
            code(op("DescribeCacheClusters", &[("MaxRecords", "10")])),
            FaultCode::InvalidParameterValueException
        );
        let out = dispatch(&p, op("DescribeSnapshots", &[])).unwrap();
        assert_eq!(
            out,
            Output::DescribeSnapshots(w::DescribeSnapshotsListMessage {
                marker: None,
                snapshots: Some(vec![])
            })
        );
    }

    #[test]
    fn engine_defaults_page_through_engine_defaults_marker() {
        let (p, _) = plane();
        let mut marker: Option<String> = None;
        let mut names = Vec::new();
        loop {
            let mut params = vec![
                ("CacheParameterGroupFamily", "redis2.8"),
                ("MaxRecords", "20"),
            ];
            if let Some(m) = &marker {
                params.push(("Marker", m.as_str()));
            }
            let Output::DescribeEngineDefaultParameters(r) =
                dispatch(&p, op("DescribeEngineDefaultParameters", &params)).unwrap()
            else {
                panic!()
            };
            let d = r.engine_defaults.unwrap();
            names.extend(
                d.parameters
                    .unwrap()
                    .into_iter()
                    .map(|x| x.parameter_name.unwrap()),
            );
            match d.marker {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(names.len(), 36);
    }
}
