//! Rules of the operations, checked against an in-memory store and a manual clock.

use super::clusters::{CreateCluster, ModifyCluster};
use super::events::EventFilter;
use super::reserved::OfferingFilter;
use crate::clock::ManualClock;
use crate::model::*;
use crate::plane::{ControlPlane, Settings};
use crate::store::SqliteStore;
use std::sync::Arc;
use time::macros::datetime;

pub(crate) fn plane() -> (ControlPlane, ManualClock) {
    let clock = ManualClock::new(datetime!(2026-11-24 12:00 UTC));
    let settings = Settings {
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        clock: Arc::new(clock.clone()),
        address_free: |_, _| true,
    };
    (
        ControlPlane::open(Box::new(SqliteStore::in_memory().unwrap()), settings).unwrap(),
        clock,
    )
}

pub(crate) fn memcached(id: &str, nodes: i32) -> CreateCluster {
    CreateCluster {
        cache_cluster_id: id.into(),
        engine: Some("memcached".into()),
        cache_node_type: Some("cache.m3.medium".into()),
        num_cache_nodes: Some(nodes),
        ..Default::default()
    }
}

pub(crate) fn redis(id: &str) -> CreateCluster {
    CreateCluster {
        cache_cluster_id: id.into(),
        engine: Some("redis".into()),
        cache_node_type: Some("cache.m3.medium".into()),
        num_cache_nodes: Some(1),
        ..Default::default()
    }
}

/// What the reconciler does when it finishes: every node available, the cluster available.
fn settle(p: &ControlPlane, id: &str) {
    p.write(|s, _| {
        let params = crate::plane::desired_params(s, &s.clusters[id]);
        let c = s.clusters.get_mut(id).unwrap();
        c.status = cluster_status::AVAILABLE.into();
        for n in &mut c.nodes {
            n.status = node_status::AVAILABLE.into();
            n.process = Some(ProcessRecord {
                pid: 1,
                control_socket: "x".into(),
                started: Timestamp(0),
            });
            n.applied_params = std::sync::Arc::new(params.clone());
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_created_cluster_is_creating_with_defaults_and_distinct_addresses() {
    let (p, _) = plane();
    let v = p.create_cache_cluster(memcached("Web", 3)).unwrap();
    let c = &v.cluster;
    assert_eq!(
        (c.id.as_str(), c.status.as_str(), c.num_cache_nodes),
        ("web", "creating", 3)
    );
    assert_eq!(c.engine_version, "1.4.14");
    assert_eq!(c.parameter_group, "default.memcached1.4");
    assert_eq!(c.cache_security_groups, vec!["default"]);
    assert_eq!(c.port, 11211);
    assert_eq!(
        v.arn,
        "arn:aws:elasticache:us-east-1:123456789012:cluster:web"
    );
    let ids: Vec<_> = c.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["0001", "0002", "0003"]);
    let mut addrs: Vec<_> = c.nodes.iter().map(|n| n.address).collect();
    addrs.push(c.configuration_address.unwrap());
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 4);
    assert!(addrs.iter().all(|a| a.is_loopback()));
    assert!(crate::rules::Window::parse(&c.maintenance_window).is_ok());
    let (redis, _) = (p.create_cache_cluster(redis("r1")).unwrap(), ());
    assert_eq!(redis.cluster.engine_version, "2.8.21");
    assert_eq!(redis.cluster.parameter_group, "default.redis2.8");
    assert!(redis.cluster.configuration_address.is_none());
}

#[test]
fn create_refuses_what_the_guide_refuses_and_changes_nothing() {
    let (p, _) = plane();
    let code = |input: CreateCluster| p.create_cache_cluster(input).unwrap_err().code;
    assert_eq!(code(memcached("1bad", 1)), "InvalidParameterValue");
    assert_eq!(code(memcached("web", 0)), "InvalidParameterValue");
    assert_eq!(code(memcached("web", 21)), "NodeQuotaForClusterExceeded");
    assert_eq!(
        code(CreateCluster {
            num_cache_nodes: Some(2),
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            cache_node_type: Some("cache.x9.huge".into()),
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            cache_node_type: None,
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            engine_version: Some("3.0".into()),
            ..redis("r")
        }),
        "InvalidParameterCombination"
    );
    assert_eq!(
        code(CreateCluster {
            cache_parameter_group_name: Some("nope".into()),
            ..redis("r")
        }),
        "CacheParameterGroupNotFound"
    );
    assert_eq!(
        code(CreateCluster {
            cache_parameter_group_name: Some("default.memcached1.4".into()),
            ..redis("r")
        }),
        "InvalidParameterCombination"
    );
    assert_eq!(
        code(CreateCluster {
            cache_security_group_names: vec!["nope".into()],
            ..redis("r")
        }),
        "CacheSecurityGroupNotFound"
    );
    assert_eq!(
        code(CreateCluster {
            cache_subnet_group_name: Some("nope".into()),
            ..redis("r")
        }),
        "CacheSubnetGroupNotFoundFault"
    );
    assert_eq!(
        code(CreateCluster {
            az_mode: Some("cross-az".into()),
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            az_mode: Some("cross-az".into()),
            ..memcached("m", 1)
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            preferred_availability_zones: vec!["us-east-1a".into()],
            ..memcached("m", 2)
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            preferred_maintenance_window: Some("mon:01:00-mon:01:30".into()),
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            snapshot_retention_limit: Some(36),
            ..redis("r")
        }),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(CreateCluster {
            snapshot_retention_limit: Some(1),
            ..memcached("m", 1)
        }),
        "InvalidParameterCombination"
    );
    assert_eq!(
        code(CreateCluster {
            replication_group_id: Some("rg".into()),
            ..redis("r")
        }),
        "ReplicationGroupNotFoundFault"
    );
    let eleven: Vec<Tag> = (0..11)
        .map(|i| Tag {
            key: format!("k{i}"),
            value: "v".into(),
        })
        .collect();
    assert_eq!(
        code(CreateCluster {
            tags: eleven,
            ..redis("r")
        }),
        "TagQuotaPerResourceExceeded"
    );
    assert!(p.snapshot().clusters.is_empty());
    assert!(p.snapshot().events.is_empty());

    let v = p
        .create_cache_cluster(CreateCluster {
            engine_version: Some("2.6.13".into()),
            ..redis("r")
        })
        .unwrap();
    assert_eq!(v.cluster.parameter_group, "default.redis2.6");
    assert_eq!(code(redis("R")), "CacheClusterAlreadyExists");
}

#[test]
fn describe_finds_pages_and_reports_missing_clusters() {
    let (p, _) = plane();
    for i in 0..25 {
        p.create_cache_cluster(redis(&format!("c{i:02}"))).unwrap();
    }
    let (page, marker) = p
        .describe_cache_clusters(None, false, None, Some(20))
        .unwrap();
    assert_eq!(page.len(), 20);
    assert!(page[0].nodes.is_empty());
    let (rest, marker) = p
        .describe_cache_clusters(None, true, marker.as_deref(), Some(20))
        .unwrap();
    assert_eq!((rest.len(), marker), (5, None));
    assert_eq!(rest[0].nodes.len(), 1);
    assert_eq!(
        p.describe_cache_clusters(Some("C03"), false, None, None)
            .unwrap()
            .0[0]
            .cluster
            .id,
        "c03"
    );
    let f = p
        .describe_cache_clusters(Some("nope"), false, None, None)
        .unwrap_err();
    assert_eq!((f.code, f.status), ("CacheClusterNotFound", 404));
}

#[test]
fn memcached_nodes_are_added_and_removed_by_the_guides_rules() {
    let (p, _) = plane();
    p.create_cache_cluster(memcached("web", 3)).unwrap();
    let modify = |n: i32, remove: &[&str], now: bool| {
        p.modify_cache_cluster(ModifyCluster {
            cache_cluster_id: "web".into(),
            num_cache_nodes: Some(n),
            cache_node_ids_to_remove: remove.iter().map(|s| s.to_string()).collect(),
            apply_immediately: now,
            ..Default::default()
        })
    };
    assert_eq!(
        modify(5, &[], true).unwrap_err().code,
        "InvalidCacheClusterState"
    );
    settle(&p, "web");
    assert_eq!(
        modify(2, &[], true).unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        modify(2, &["0009"], true).unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        modify(5, &["0001"], true).unwrap_err().code,
        "InvalidParameterCombination"
    );
    assert_eq!(
        modify(21, &[], true).unwrap_err().code,
        "NodeQuotaForClusterExceeded"
    );

    // Without ApplyImmediately the change waits.
    let v = modify(2, &["0002"], false).unwrap();
    assert_eq!(v.cluster.status, "available");
    assert_eq!(v.cluster.pending.num_cache_nodes, Some(2));
    assert_eq!(v.cluster.pending.cache_node_ids_to_remove, vec!["0002"]);
    // A new create replaces the pending delete.
    let v = modify(5, &[], false).unwrap();
    assert!(v.cluster.pending.cache_node_ids_to_remove.is_empty());
    assert_eq!(v.cluster.pending.num_cache_nodes, Some(5));
    assert_eq!(v.cluster.nodes.len(), 3);
    // With it, new nodes appear at once and the cluster is modifying.
    let v = modify(5, &[], true).unwrap();
    assert_eq!(v.cluster.status, "modifying");
    assert_eq!(v.cluster.num_cache_nodes, 3);
    assert_eq!(v.cluster.pending.num_cache_nodes, Some(5));
    let ids: Vec<_> = v
        .cluster
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.status.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("0001", "available"),
            ("0002", "available"),
            ("0003", "available"),
            ("0004", "creating"),
            ("0005", "creating")
        ]
    );

    let (p, _) = plane();
    p.create_cache_cluster(redis("r")).unwrap();
    settle(&p, "r");
    let f = p
        .modify_cache_cluster(ModifyCluster {
            cache_cluster_id: "r".into(),
            num_cache_nodes: Some(2),
            apply_immediately: true,
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(f.code, "InvalidParameterValue");
}

#[test]
fn reboot_and_delete_move_statuses() {
    let (p, _) = plane();
    p.create_cache_cluster(memcached("web", 2)).unwrap();
    assert_eq!(
        p.reboot_cache_cluster("web", &["0001".into()])
            .unwrap_err()
            .code,
        "InvalidCacheClusterState"
    );
    settle(&p, "web");
    assert_eq!(
        p.reboot_cache_cluster("web", &["0007".into()])
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    assert_eq!(
        p.reboot_cache_cluster("nope", &["0001".into()])
            .unwrap_err()
            .code,
        "CacheClusterNotFound"
    );
    let v = p.reboot_cache_cluster("web", &["0001".into()]).unwrap();
    assert_eq!(v.cluster.status, "rebooting cache cluster nodes");
    assert!(v.cluster.node("0001").unwrap().reboot_requested);
    assert!(!v.cluster.node("0002").unwrap().reboot_requested);
    assert_eq!(
        p.delete_cache_cluster("web", Some("final"))
            .unwrap_err()
            .code,
        "InvalidParameterCombination"
    );
    let v = p.delete_cache_cluster("web", None).unwrap();
    assert_eq!(v.cluster.status, "deleting");
    assert_eq!(
        p.delete_cache_cluster("web", None).unwrap_err().code,
        "InvalidCacheClusterState"
    );
}

#[test]
fn parameter_groups_follow_family_modifiability_and_reboot_rules() {
    let (p, _) = plane();
    let g = p
        .create_cache_parameter_group("MyMc", "memcached1.4", "mine")
        .unwrap();
    assert_eq!(g.name, "mymc");
    assert_eq!(
        p.create_cache_parameter_group("mymc", "memcached1.4", "x")
            .unwrap_err()
            .code,
        "CacheParameterGroupAlreadyExists"
    );
    assert_eq!(
        p.create_cache_parameter_group("x", "redis9.9", "x")
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    let set =
        |g: &str, n: &str, v: &str| p.modify_cache_parameter_group(g, &[(n.into(), v.into())]);
    assert_eq!(
        set("default.memcached1.4", "chunk_size", "64")
            .unwrap_err()
            .code,
        "InvalidCacheParameterGroupState"
    );
    assert_eq!(
        set("mymc", "backlog_queue_limit", "10").unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        set("mymc", "no_such", "1").unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        set("mymc", "cas_disabled", "yes").unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        set("nope", "cas_disabled", "1").unwrap_err().code,
        "CacheParameterGroupNotFound"
    );

    p.create_cache_cluster(CreateCluster {
        cache_parameter_group_name: Some("MyMc".into()),
        ..memcached("web", 2)
    })
    .unwrap();
    settle(&p, "web");
    set("mymc", "chunk_size", "64").unwrap();
    let v = &p
        .describe_cache_clusters(Some("web"), true, None, None)
        .unwrap()
        .0[0];
    assert_eq!(v.parameter_apply_status, "pending-reboot");
    assert_eq!(v.cache_node_ids_to_reboot, vec!["0001", "0002"]);
    assert!(v.nodes.iter().all(|(_, s)| *s == "pending-reboot"));
    let params = p
        .describe_cache_parameters("mymc", Some("user"), None, None)
        .unwrap();
    assert_eq!(params.parameters.len(), 1);
    assert_eq!(
        (
            params.parameters[0].name.as_str(),
            params.parameters[0].value.as_str()
        ),
        ("chunk_size", "64")
    );
    let all = p
        .describe_cache_parameters("mymc", None, None, None)
        .unwrap();
    assert_eq!(all.parameters.len(), 19);
    assert_eq!(all.node_type_specific.len(), 2);
    assert_eq!(all.node_type_specific[0].values.len(), 21);
    assert_eq!(
        p.delete_cache_parameter_group("mymc").unwrap_err().code,
        "InvalidCacheParameterGroupState"
    );
    assert_eq!(
        p.delete_cache_parameter_group("default.redis2.8")
            .unwrap_err()
            .code,
        "InvalidCacheParameterGroupState"
    );
    p.reset_cache_parameter_group("mymc", true, &[]).unwrap();
    let v = &p
        .describe_cache_clusters(Some("web"), true, None, None)
        .unwrap()
        .0[0];
    assert_eq!(v.parameter_apply_status, "in-sync");

    // Redis: immediate parameters are applied, not pending a reboot; conditional ones are
    // locked while a cluster uses the group.
    p.create_cache_parameter_group("rp", "redis2.8", "r")
        .unwrap();
    set("rp", "databases", "32").unwrap();
    p.create_cache_cluster(CreateCluster {
        cache_parameter_group_name: Some("rp".into()),
        ..redis("r")
    })
    .unwrap();
    settle(&p, "r");
    set("rp", "maxmemory-policy", "allkeys-lru").unwrap();
    let v = &p
        .describe_cache_clusters(Some("r"), true, None, None)
        .unwrap()
        .0[0];
    assert_eq!(v.parameter_apply_status, "applying");
    assert!(v.cache_node_ids_to_reboot.is_empty());
    assert_eq!(
        set("rp", "databases", "8").unwrap_err().code,
        "InvalidCacheParameterGroupState"
    );
    let defaults = p
        .describe_engine_default_parameters("redis2.6", None, None)
        .unwrap();
    assert_eq!(defaults.parameters.len(), 30);
    assert!(p.snapshot().events.values().any(|e| e.name
        == "ElastiCache:CacheClusterParametersChanged"
        && e.source_identifier == "r"));
}

#[test]
fn tags_are_limited_to_ten_on_existing_clusters() {
    let (p, _) = plane();
    p.create_cache_cluster(redis("r")).unwrap();
    let arn = "arn:aws:elasticache:us-east-1:123456789012:cluster:r";
    let tags: Vec<Tag> = (0..10)
        .map(|i| Tag {
            key: format!("k{i}"),
            value: "v".into(),
        })
        .collect();
    assert_eq!(p.add_tags_to_resource(arn, &tags).unwrap().len(), 10);
    let more = [Tag {
        key: "k10".into(),
        value: "v".into(),
    }];
    assert_eq!(
        p.add_tags_to_resource(arn, &more).unwrap_err().code,
        "TagQuotaPerResourceExceeded"
    );
    // Re-adding an existing key changes its value.
    let again = [Tag {
        key: "k1".into(),
        value: "w".into(),
    }];
    assert_eq!(p.add_tags_to_resource(arn, &again).unwrap().len(), 10);
    assert_eq!(
        p.remove_tags_from_resource(arn, &["k0".into()])
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        p.remove_tags_from_resource(arn, &["k0".into()])
            .unwrap_err()
            .code,
        "TagNotFound"
    );
    assert_eq!(
        p.list_tags_for_resource("arn:aws:elasticache:us-east-1:123456789012:cluster:zz")
            .unwrap_err()
            .code,
        "CacheClusterNotFound"
    );
    assert_eq!(
        p.list_tags_for_resource("nonsense").unwrap_err().code,
        "InvalidARN"
    );
}

#[test]
fn events_filter_by_source_and_time() {
    let (p, clock) = plane();
    p.create_cache_security_group("sg1", "d").unwrap();
    clock.advance(time::Duration::hours(2));
    p.create_cache_parameter_group("pg1", "redis2.8", "d")
        .unwrap();
    let all = |f: EventFilter| p.describe_events(&f).unwrap().0;
    assert_eq!(all(EventFilter::default()).len(), 1);
    assert_eq!(
        all(EventFilter {
            duration: Some(180),
            ..Default::default()
        })
        .len(),
        2
    );
    assert_eq!(
        all(EventFilter {
            duration: Some(180),
            source_type: Some("cache-security-group".into()),
            ..Default::default()
        })
        .len(),
        1
    );
    assert_eq!(
        all(EventFilter {
            duration: Some(180),
            source_identifier: Some("pg1".into()),
            ..Default::default()
        })
        .len(),
        1
    );
    let start = datetime!(2026-11-24 11:00 UTC);
    assert_eq!(
        all(EventFilter {
            start_time: Some(start),
            end_time: Some(start + time::Duration::hours(2)),
            ..Default::default()
        })
        .len(),
        1
    );
    assert_eq!(
        p.describe_events(&EventFilter {
            source_type: Some("x".into()),
            ..Default::default()
        })
        .unwrap_err()
        .code,
        "InvalidParameterValue"
    );
}

#[test]
fn security_and_subnet_groups() {
    let (p, _) = plane();
    assert_eq!(
        p.create_cache_security_group("Default", "d")
            .unwrap_err()
            .code,
        "InvalidParameterValue"
    );
    p.create_cache_security_group("sg1", "d").unwrap();
    let g = p
        .authorize_cache_security_group_ingress("sg1", "web", "987654321021")
        .unwrap();
    assert_eq!(g.ec2_groups[0].status, "authorizing");
    assert_eq!(
        p.authorize_cache_security_group_ingress("sg1", "web", "987654321021")
            .unwrap_err()
            .code,
        "AuthorizationAlreadyExists"
    );
    assert_eq!(
        p.revoke_cache_security_group_ingress("sg1", "db", "987654321021")
            .unwrap_err()
            .code,
        "AuthorizationNotFound"
    );
    p.revoke_cache_security_group_ingress("sg1", "web", "987654321021")
        .unwrap();
    assert_eq!(
        p.delete_cache_security_group("default").unwrap_err().code,
        "InvalidCacheSecurityGroupState"
    );
    p.create_cache_cluster(CreateCluster {
        cache_security_group_names: vec!["sg1".into()],
        ..redis("r")
    })
    .unwrap();
    assert_eq!(
        p.delete_cache_security_group("sg1").unwrap_err().code,
        "InvalidCacheSecurityGroupState"
    );

    assert_eq!(
        p.create_cache_subnet_group("sn", "d", &["nope".into()])
            .unwrap_err()
            .code,
        "InvalidSubnet"
    );
    let g = p
        .create_cache_subnet_group("SN", "d", &["subnet-53df9c3a".into()])
        .unwrap();
    assert_eq!(g.name, "sn");
    assert!(g.subnets[0].availability_zone.starts_with("us-east-1"));
    assert_eq!(
        p.create_cache_subnet_group("sn", "d", &["subnet-1".into()])
            .unwrap_err()
            .code,
        "CacheSubnetGroupAlreadyExists"
    );
    p.create_cache_cluster(CreateCluster {
        cache_subnet_group_name: Some("sn".into()),
        ..memcached("m", 1)
    })
    .unwrap();
    assert_eq!(
        p.delete_cache_subnet_group("sn").unwrap_err().code,
        "CacheSubnetGroupInUse"
    );
    assert_eq!(
        p.delete_cache_subnet_group("zz").unwrap_err().code,
        "CacheSubnetGroupNotFoundFault"
    );
}

#[test]
fn reserved_nodes_are_bought_from_the_catalogue() {
    let (p, _) = plane();
    let f = OfferingFilter {
        node_type: Some("cache.m1.small".into()),
        duration: Some("1".into()),
        product_description: Some("memcached".into()),
        ..Default::default()
    };
    let (offers, _) = p.describe_reserved_cache_nodes_offerings(&f).unwrap();
    assert_eq!(offers.len(), 3);
    let r = p
        .purchase_reserved_cache_nodes_offering(&offers[0].id, Some("MyReservationID"), Some(2))
        .unwrap();
    assert_eq!(
        (r.node.id.as_str(), r.node.state.as_str(), r.node.count),
        ("myreservationid", "payment-pending", 2)
    );
    assert_eq!(
        p.purchase_reserved_cache_nodes_offering(&offers[0].id, Some("myreservationid"), None)
            .unwrap_err()
            .code,
        "ReservedCacheNodeAlreadyExists"
    );
    assert_eq!(
        p.purchase_reserved_cache_nodes_offering("nope", None, None)
            .unwrap_err()
            .code,
        "ReservedCacheNodesOfferingNotFound"
    );
    assert_eq!(
        p.describe_reserved_cache_nodes(None, &OfferingFilter::default())
            .unwrap()
            .0
            .len(),
        1
    );
    assert_eq!(
        p.describe_reserved_cache_nodes(Some("x"), &OfferingFilter::default())
            .unwrap_err()
            .code,
        "ReservedCacheNodeNotFound"
    );
    let (versions, _) = p
        .describe_cache_engine_versions(Some("redis"), None, None, false, None, None)
        .unwrap();
    let order: Vec<&str> = versions.iter().map(|v| v.version).collect();
    assert_eq!(order, ["2.6.13", "2.8.6", "2.8.19", "2.8.21"]);
    let (defaults, _) = p
        .describe_cache_engine_versions(None, None, None, true, None, None)
        .unwrap();
    assert_eq!(defaults.len(), 2);
}

#[test]
fn writes_survive_a_reopen_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let settings = plane().0.settings.clone();
    let before = {
        let p = ControlPlane::open(
            Box::new(SqliteStore::open(&path).unwrap()),
            settings.clone(),
        )
        .unwrap();
        p.create_cache_cluster(memcached("web", 3)).unwrap();
        p.create_cache_parameter_group("pg", "redis2.8", "d")
            .unwrap();
        p.snapshot()
    };
    let p = ControlPlane::open(Box::new(SqliteStore::open(&path).unwrap()), settings).unwrap();
    assert_eq!(*p.snapshot(), *before);
}
