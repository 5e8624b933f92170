//! End to end: the real `ferrocache serve` driven by aws-sdk-elasticache, the strictest client
//! (issue 4, Must show 3). Its XML parser reads every typed field back, every fault code must map
//! to the operation's typed error variant, and its paginators follow nested markers.
//!
//! One test walks all 37 actions against one serve; an interceptor records the name of every
//! operation the SDK sent, so the walk cannot silently skip one.

mod common;

use aws_sdk_elasticache as ec;
use aws_sdk_elasticache::client::Waiters;
use aws_sdk_elasticache::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_elasticache::operation as op;
use aws_sdk_elasticache::types::{ChangeType, ParameterNameValue, SourceType, Tag};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use common::{Serve, KEY, SECRET};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every action of the API version 2015-02-02 (api-contract.md).
const ACTIONS: [&str; 37] = [
    "AddTagsToResource",
    "AuthorizeCacheSecurityGroupIngress",
    "CopySnapshot",
    "CreateCacheCluster",
    "CreateCacheParameterGroup",
    "CreateCacheSecurityGroup",
    "CreateCacheSubnetGroup",
    "CreateReplicationGroup",
    "CreateSnapshot",
    "DeleteCacheCluster",
    "DeleteCacheParameterGroup",
    "DeleteCacheSecurityGroup",
    "DeleteCacheSubnetGroup",
    "DeleteReplicationGroup",
    "DeleteSnapshot",
    "DescribeCacheClusters",
    "DescribeCacheEngineVersions",
    "DescribeCacheParameterGroups",
    "DescribeCacheParameters",
    "DescribeCacheSecurityGroups",
    "DescribeCacheSubnetGroups",
    "DescribeEngineDefaultParameters",
    "DescribeEvents",
    "DescribeReplicationGroups",
    "DescribeReservedCacheNodes",
    "DescribeReservedCacheNodesOfferings",
    "DescribeSnapshots",
    "ListTagsForResource",
    "ModifyCacheCluster",
    "ModifyCacheParameterGroup",
    "ModifyCacheSubnetGroup",
    "ModifyReplicationGroup",
    "PurchaseReservedCacheNodesOffering",
    "RebootCacheCluster",
    "RemoveTagsFromResource",
    "ResetCacheParameterGroup",
    "RevokeCacheSecurityGroupIngress",
];

/// Records the operation name of every request the client makes.
#[derive(Debug, Default, Clone)]
struct Sent(Arc<Mutex<BTreeSet<String>>>);

impl Intercept for Sent {
    fn name(&self) -> &'static str {
        "Sent"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().expect("operation metadata").name();
        self.0.lock().unwrap().insert(name.to_string());
        Ok(())
    }
}

fn client(serve: &Serve, secret: &str, sent: &Sent) -> ec::Client {
    let conf = ec::Config::builder()
        .region(ec::config::Region::new("us-east-1"))
        .credentials_provider(ec::config::Credentials::new(
            KEY, secret, None, None, "test",
        ))
        .endpoint_url(format!("http://127.0.0.1:{}", serve.port))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(sent.clone())
        .build();
    ec::Client::from_conf(conf)
}

/// Awaits a call that must fail and asserts the SDK mapped the fault to `$variant`.
macro_rules! assert_fault {
    ($call:expr, $variant:path) => {{
        let err = $call
            .await
            .expect_err(concat!("expected ", stringify!($variant)))
            .into_service_error();
        assert!(
            matches!(err, $variant(_)),
            "expected {}, got {err:?}",
            stringify!($variant)
        );
        err
    }};
}

/// For a fault the SDK's model does not list for that operation: it stays unhandled, so the
/// code is all a client can match on.
macro_rules! assert_unmodelled_fault {
    ($call:expr, $code:literal) => {{
        let err = $call
            .await
            .expect_err(concat!("expected ", $code))
            .into_service_error();
        assert_eq!(
            ec::error::ProvideErrorMetadata::code(&err),
            Some($code),
            "{err:?}"
        );
    }};
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_rust_drives_all_37_actions_against_serve() {
    let serve = Serve::start();
    let sent = Sent::default();
    let ec = client(&serve, SECRET, &sent);

    parameter_groups(&ec).await;
    security_groups(&ec).await;
    subnet_groups(&ec).await;
    cache_cluster(&ec).await;
    reserved_nodes_and_engine_versions(&ec).await;
    replication_groups(&ec).await;
    snapshots(&ec).await;

    let sent = sent.0.lock().unwrap().clone();
    let all: BTreeSet<String> = ACTIONS.iter().map(|a| a.to_string()).collect();
    assert_eq!(sent, all, "the walk must send every action and no other");

    // A wrong secret: the SDK's signature is refused with the code it knows.
    let bad = client(&serve, "wrong-secret", &Sent::default());
    let err = bad.describe_cache_clusters().send().await.unwrap_err();
    let meta = ec::error::ProvideErrorMetadata::meta(&err);
    assert_eq!(meta.code(), Some("SignatureDoesNotMatch"), "{err:?}");
}

async fn parameter_groups(ec: &ec::Client) {
    let created = ec
        .create_cache_parameter_group()
        .cache_parameter_group_name("Sdk-Params")
        .cache_parameter_group_family("memcached1.4")
        .description("from the sdk")
        .send()
        .await
        .unwrap();
    let group = created.cache_parameter_group().unwrap();
    assert_eq!(group.cache_parameter_group_name(), Some("sdk-params"));
    assert_eq!(group.cache_parameter_group_family(), Some("memcached1.4"));
    assert_eq!(group.description(), Some("from the sdk"));
    assert_fault!(
        ec.create_cache_parameter_group()
            .cache_parameter_group_name("sdk-params")
            .cache_parameter_group_family("memcached1.4")
            .description("again")
            .send(),
        op::create_cache_parameter_group::CreateCacheParameterGroupError::CacheParameterGroupAlreadyExistsFault
    );

    // More than 100 groups (3 defaults + ours + 100), through the items paginator.
    for i in 0..100 {
        ec.create_cache_parameter_group()
            .cache_parameter_group_name(format!("pg-{i:03}"))
            .cache_parameter_group_family("redis2.8")
            .description(format!("group {i}"))
            .send()
            .await
            .unwrap();
    }
    let names: Vec<String> = ec
        .describe_cache_parameter_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.cache_parameter_group_name().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 104, "{names:?}");
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 104);
    assert!(names.contains(&"pg-099".to_string()) && names.contains(&"sdk-params".to_string()));
    let first = ec
        .describe_cache_parameter_groups()
        .max_records(20)
        .send()
        .await
        .unwrap();
    assert_eq!(first.cache_parameter_groups().len(), 20);
    assert!(first.marker().is_some());
    assert_fault!(
        ec.describe_cache_parameter_groups().max_records(101).send(),
        op::describe_cache_parameter_groups::DescribeCacheParameterGroupsError::InvalidParameterValueException
    );
    for i in 0..100 {
        ec.delete_cache_parameter_group()
            .cache_parameter_group_name(format!("pg-{i:03}"))
            .send()
            .await
            .unwrap();
    }

    let modified = ec
        .modify_cache_parameter_group()
        .cache_parameter_group_name("sdk-params")
        .parameter_name_values(
            ParameterNameValue::builder()
                .parameter_name("chunk_size")
                .parameter_value("64")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(modified.cache_parameter_group_name(), Some("sdk-params"));
    let user = ec
        .describe_cache_parameters()
        .cache_parameter_group_name("sdk-params")
        .source("user")
        .send()
        .await
        .unwrap();
    let changed: Vec<_> = user
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_name().unwrap(),
                p.parameter_value().unwrap(),
                p.change_type().cloned(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [("chunk_size", "64", Some(ChangeType::RequiresReboot))]
    );
    let all = ec
        .describe_cache_parameters()
        .cache_parameter_group_name("sdk-params")
        .send()
        .await
        .unwrap();
    assert_eq!(all.parameters().len(), 19);
    let max_memory = all
        .cache_node_type_specific_parameters()
        .iter()
        .find(|p| p.parameter_name() == Some("max_cache_memory"))
        .expect("max_cache_memory is node-type specific");
    let m3_medium = max_memory
        .cache_node_type_specific_values()
        .iter()
        .find(|v| v.cache_node_type() == Some("cache.m3.medium"))
        .unwrap();
    assert_eq!(m3_medium.value(), Some("2850"));
    assert_fault!(
        ec.modify_cache_parameter_group()
            .cache_parameter_group_name("default.memcached1.4")
            .parameter_name_values(
                ParameterNameValue::builder()
                    .parameter_name("chunk_size")
                    .parameter_value("64")
                    .build(),
            )
            .send(),
        op::modify_cache_parameter_group::ModifyCacheParameterGroupError::InvalidCacheParameterGroupStateFault
    );
    assert_fault!(
        ec.modify_cache_parameter_group()
            .cache_parameter_group_name("sdk-params")
            .parameter_name_values(
                ParameterNameValue::builder()
                    .parameter_name("chunk_size")
                    .parameter_value("not-a-number")
                    .build(),
            )
            .send(),
        op::modify_cache_parameter_group::ModifyCacheParameterGroupError::InvalidParameterValueException
    );

    let reset = ec
        .reset_cache_parameter_group()
        .cache_parameter_group_name("sdk-params")
        .reset_all_parameters(true)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.cache_parameter_group_name(), Some("sdk-params"));
    let user = ec
        .describe_cache_parameters()
        .cache_parameter_group_name("sdk-params")
        .source("user")
        .send()
        .await
        .unwrap();
    assert!(user.parameters().is_empty(), "{user:?}");

    // EngineDefaults nests its marker: the paginator must find it to reach page two.
    let defaults: Vec<_> = ec
        .describe_engine_default_parameters()
        .cache_parameter_group_family("redis2.8")
        .into_paginator()
        .page_size(20)
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(defaults.len(), 36);
    assert!(defaults
        .iter()
        .any(|p| p.parameter_name() == Some("maxmemory-policy")
            && p.parameter_value() == Some("volatile-lru")));
    assert_fault!(
        ec.describe_engine_default_parameters()
            .cache_parameter_group_family("redis9.9")
            .send(),
        op::describe_engine_default_parameters::DescribeEngineDefaultParametersError::InvalidParameterValueException
    );

    ec.delete_cache_parameter_group()
        .cache_parameter_group_name("sdk-params")
        .send()
        .await
        .unwrap();
    assert_fault!(
        ec.delete_cache_parameter_group()
            .cache_parameter_group_name("sdk-params")
            .send(),
        op::delete_cache_parameter_group::DeleteCacheParameterGroupError::CacheParameterGroupNotFoundFault
    );
    assert_fault!(
        ec.describe_cache_parameters()
            .cache_parameter_group_name("sdk-params")
            .send(),
        op::describe_cache_parameters::DescribeCacheParametersError::CacheParameterGroupNotFoundFault
    );
}

async fn security_groups(ec: &ec::Client) {
    let created = ec
        .create_cache_security_group()
        .cache_security_group_name("Web-Tier")
        .description("web")
        .send()
        .await
        .unwrap();
    let group = created.cache_security_group().unwrap();
    assert_eq!(group.cache_security_group_name(), Some("web-tier"));
    assert!(group.owner_id().is_some_and(|o| o.len() == 12));
    let authorized = ec
        .authorize_cache_security_group_ingress()
        .cache_security_group_name("web-tier")
        .ec2_security_group_name("app")
        .ec2_security_group_owner_id("987654321021")
        .send()
        .await
        .unwrap();
    let ingress = authorized
        .cache_security_group()
        .unwrap()
        .ec2_security_groups();
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0].ec2_security_group_name(), Some("app"));
    assert_eq!(
        ingress[0].ec2_security_group_owner_id(),
        Some("987654321021")
    );
    assert_eq!(ingress[0].status(), Some("authorizing"));
    assert_fault!(
        ec.authorize_cache_security_group_ingress()
            .cache_security_group_name("web-tier")
            .ec2_security_group_name("app")
            .ec2_security_group_owner_id("987654321021")
            .send(),
        op::authorize_cache_security_group_ingress::AuthorizeCacheSecurityGroupIngressError::AuthorizationAlreadyExistsFault
    );
    let revoked = ec
        .revoke_cache_security_group_ingress()
        .cache_security_group_name("web-tier")
        .ec2_security_group_name("app")
        .ec2_security_group_owner_id("987654321021")
        .send()
        .await
        .unwrap();
    assert_eq!(
        revoked
            .cache_security_group()
            .unwrap()
            .cache_security_group_name(),
        Some("web-tier")
    );
    assert_fault!(
        ec.revoke_cache_security_group_ingress()
            .cache_security_group_name("web-tier")
            .ec2_security_group_name("app")
            .ec2_security_group_owner_id("987654321021")
            .send(),
        op::revoke_cache_security_group_ingress::RevokeCacheSecurityGroupIngressError::AuthorizationNotFoundFault
    );
    let described = ec.describe_cache_security_groups().send().await.unwrap();
    let mut names: Vec<_> = described
        .cache_security_groups()
        .iter()
        .map(|g| g.cache_security_group_name().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["default", "web-tier"]);
    ec.delete_cache_security_group()
        .cache_security_group_name("web-tier")
        .send()
        .await
        .unwrap();
    assert_fault!(
        ec.describe_cache_security_groups()
            .cache_security_group_name("web-tier")
            .send(),
        op::describe_cache_security_groups::DescribeCacheSecurityGroupsError::CacheSecurityGroupNotFoundFault
    );
    assert_fault!(
        ec.delete_cache_security_group()
            .cache_security_group_name("web-tier")
            .send(),
        op::delete_cache_security_group::DeleteCacheSecurityGroupError::CacheSecurityGroupNotFoundFault
    );
}

async fn subnet_groups(ec: &ec::Client) {
    let created = ec
        .create_cache_subnet_group()
        .cache_subnet_group_name("Private")
        .cache_subnet_group_description("p")
        .subnet_ids("subnet-53df9c3a")
        .subnet_ids("subnet-0a1b2c3d")
        .send()
        .await
        .unwrap();
    let group = created.cache_subnet_group().unwrap();
    assert_eq!(group.cache_subnet_group_name(), Some("private"));
    let subnets = group.subnets();
    assert_eq!(subnets.len(), 2);
    assert!(subnets.iter().all(|s| s
        .subnet_availability_zone()
        .and_then(|z| z.name())
        .is_some_and(|n| n.starts_with("us-east-1"))));
    assert!(group.vpc_id().is_some_and(|v| v.starts_with("vpc-")));
    assert_fault!(
        ec.create_cache_subnet_group()
            .cache_subnet_group_name("private")
            .cache_subnet_group_description("again")
            .subnet_ids("subnet-53df9c3a")
            .send(),
        op::create_cache_subnet_group::CreateCacheSubnetGroupError::CacheSubnetGroupAlreadyExistsFault
    );
    assert_fault!(
        ec.create_cache_subnet_group()
            .cache_subnet_group_name("bad")
            .cache_subnet_group_description("b")
            .subnet_ids("vpc-1")
            .send(),
        op::create_cache_subnet_group::CreateCacheSubnetGroupError::InvalidSubnet
    );
    let modified = ec
        .modify_cache_subnet_group()
        .cache_subnet_group_name("private")
        .cache_subnet_group_description("changed")
        .send()
        .await
        .unwrap();
    assert_eq!(
        modified
            .cache_subnet_group()
            .unwrap()
            .cache_subnet_group_description(),
        Some("changed")
    );
    let described = ec
        .describe_cache_subnet_groups()
        .cache_subnet_group_name("private")
        .send()
        .await
        .unwrap();
    assert_eq!(described.cache_subnet_groups().len(), 1);
    assert_eq!(
        described.cache_subnet_groups()[0].cache_subnet_group_description(),
        Some("changed")
    );
    assert_eq!(described.cache_subnet_groups()[0].subnets().len(), 2);
    ec.delete_cache_subnet_group()
        .cache_subnet_group_name("private")
        .send()
        .await
        .unwrap();
    assert_fault!(
        ec.delete_cache_subnet_group()
            .cache_subnet_group_name("private")
            .send(),
        op::delete_cache_subnet_group::DeleteCacheSubnetGroupError::CacheSubnetGroupNotFoundFault
    );
    assert_fault!(
        ec.modify_cache_subnet_group()
            .cache_subnet_group_name("private")
            .cache_subnet_group_description("gone")
            .send(),
        op::modify_cache_subnet_group::ModifyCacheSubnetGroupError::CacheSubnetGroupNotFoundFault
    );
}

/// Polls DescribeCacheClusters quickly until `id` is available (the SDK waiter waits 15 s
/// between attempts), then lets the waiter confirm it on its first attempt.
async fn wait_available(ec: &ec::Client, id: &str) -> ec::types::CacheCluster {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = ec
            .describe_cache_clusters()
            .cache_cluster_id(id)
            .show_cache_node_info(true)
            .send()
            .await
            .unwrap();
        let cluster = out.cache_clusters()[0].clone();
        if cluster.cache_cluster_status() == Some("available") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became available: {cluster:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let waited = ec
        .wait_until_cache_cluster_available()
        .cache_cluster_id(id)
        .show_cache_node_info(true)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    waited.into_result().unwrap().cache_clusters()[0].clone()
}

/// Asks a memcached node for its version: the endpoint the SDK read is a live node.
fn memcached_version(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"version\r\n").unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    while !reply.ends_with(b"\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{addr} closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(reply).unwrap()
}

fn node_endpoints(cluster: &ec::types::CacheCluster) -> Vec<(String, String)> {
    cluster
        .cache_nodes()
        .iter()
        .map(|n| {
            let e = n.endpoint().expect("a node endpoint");
            (
                n.cache_node_id().unwrap().to_string(),
                format!("{}:{}", e.address().unwrap(), e.port().unwrap()),
            )
        })
        .collect()
}

async fn cache_cluster(ec: &ec::Client) {
    use op::create_cache_cluster::CreateCacheClusterError as Create;

    let created = ec
        .create_cache_cluster()
        .cache_cluster_id("Sdk")
        .engine("memcached")
        .cache_node_type("cache.t2.micro")
        .num_cache_nodes(2)
        .tags(tag("team", "cache"))
        .send()
        .await
        .unwrap();
    let c = created.cache_cluster().unwrap();
    assert_eq!(c.cache_cluster_id(), Some("sdk"));
    assert_eq!(c.cache_cluster_status(), Some("creating"));
    assert_eq!(c.engine(), Some("memcached"));
    assert_eq!(c.num_cache_nodes(), Some(2));

    let cluster = wait_available(ec, "sdk").await;
    assert_eq!(cluster.cache_node_type(), Some("cache.t2.micro"));
    assert!(cluster
        .engine_version()
        .is_some_and(|v| v.starts_with("1.4")));
    assert!(cluster.cache_cluster_create_time().is_some());
    assert_eq!(
        cluster
            .cache_parameter_group()
            .and_then(|g| g.parameter_apply_status()),
        Some("in-sync")
    );
    let nodes = node_endpoints(&cluster);
    assert_eq!(
        nodes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["0001", "0002"]
    );
    assert!(cluster
        .cache_nodes()
        .iter()
        .all(|n| n.cache_node_status() == Some("available")));
    for (_, addr) in &nodes {
        assert!(
            addr.starts_with("127.") && addr.ends_with(":11211"),
            "{addr}"
        );
        assert!(memcached_version(addr).starts_with("VERSION "));
    }
    assert_eq!(
        cluster.configuration_endpoint().and_then(|e| e.port()),
        Some(11211)
    );
    let arn = cluster.arn().expect("an ARN").to_string();
    assert!(arn.starts_with("arn:aws:elasticache:") && arn.ends_with(":cluster:sdk"));

    // Typed faults on create.
    assert_fault!(
        ec.create_cache_cluster()
            .cache_cluster_id("sdk")
            .engine("memcached")
            .cache_node_type("cache.t2.micro")
            .num_cache_nodes(1)
            .send(),
        Create::CacheClusterAlreadyExistsFault
    );
    assert_fault!(
        ec.create_cache_cluster()
            .cache_cluster_id("toobig")
            .engine("memcached")
            .cache_node_type("cache.t2.micro")
            .num_cache_nodes(21)
            .send(),
        Create::NodeQuotaForClusterExceededFault
    );
    assert_fault!(
        ec.create_cache_cluster()
            .cache_cluster_id("r2")
            .engine("redis")
            .cache_node_type("cache.t2.micro")
            .num_cache_nodes(2)
            .send(),
        Create::InvalidParameterValueException
    );
    assert_fault!(
        ec.create_cache_cluster()
            .cache_cluster_id("nopg")
            .engine("memcached")
            .cache_node_type("cache.t2.micro")
            .num_cache_nodes(1)
            .cache_parameter_group_name("no-such-group")
            .send(),
        Create::CacheParameterGroupNotFoundFault
    );
    assert_fault!(
        ec.describe_cache_clusters()
            .cache_cluster_id("no-such-cluster")
            .send(),
        op::describe_cache_clusters::DescribeCacheClustersError::CacheClusterNotFoundFault
    );

    // Tags: list, the 10-tag limit, remove.
    let listed = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tag_list(), [tag("team", "cache")]);
    let mut more = ec.add_tags_to_resource().resource_name(&arn);
    for i in 0..9 {
        more = more.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(more.send().await.unwrap().tag_list().len(), 10);
    assert_fault!(
        ec.add_tags_to_resource()
            .resource_name(&arn)
            .tags(tag("one-more", "v"))
            .send(),
        op::add_tags_to_resource::AddTagsToResourceError::TagQuotaPerResourceExceeded
    );
    let removed = ec
        .remove_tags_from_resource()
        .resource_name(&arn)
        .tag_keys("k0")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.tag_list().len(), 9);
    assert!(removed.tag_list().iter().all(|t| t.key() != Some("k0")));
    assert_fault!(
        ec.remove_tags_from_resource()
            .resource_name(&arn)
            .tag_keys("never-set")
            .send(),
        op::remove_tags_from_resource::RemoveTagsFromResourceError::TagNotFoundFault
    );
    assert_fault!(
        ec.list_tags_for_resource()
            .resource_name("not-an-arn")
            .send(),
        op::list_tags_for_resource::ListTagsForResourceError::InvalidArnFault
    );
    assert_fault!(
        ec.list_tags_for_resource()
            .resource_name(arn.replace(":cluster:sdk", ":cluster:gone"))
            .send(),
        op::list_tags_for_resource::ListTagsForResourceError::CacheClusterNotFoundFault
    );

    // Modify: one more node, applied now.
    let modified = ec
        .modify_cache_cluster()
        .cache_cluster_id("sdk")
        .num_cache_nodes(3)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        modified.cache_cluster().unwrap().cache_cluster_status(),
        Some("modifying")
    );
    let cluster = wait_available(ec, "sdk").await;
    assert_eq!(cluster.num_cache_nodes(), Some(3));
    let nodes = node_endpoints(&cluster);
    assert_eq!(nodes.len(), 3);
    assert!(memcached_version(&nodes[2].1).starts_with("VERSION "));
    assert_fault!(
        ec.modify_cache_cluster()
            .cache_cluster_id("sdk")
            .engine("redis")
            .send(),
        op::modify_cache_cluster::ModifyCacheClusterError::InvalidParameterCombinationException
    );
    assert_fault!(
        ec.modify_cache_cluster()
            .cache_cluster_id("gone")
            .num_cache_nodes(2)
            .send(),
        op::modify_cache_cluster::ModifyCacheClusterError::CacheClusterNotFoundFault
    );

    // Reboot one node.
    let rebooted = ec
        .reboot_cache_cluster()
        .cache_cluster_id("sdk")
        .cache_node_ids_to_reboot("0001")
        .send()
        .await
        .unwrap();
    assert_eq!(
        rebooted.cache_cluster().unwrap().cache_cluster_status(),
        Some("rebooting cache cluster nodes")
    );
    wait_available(ec, "sdk").await;
    assert_fault!(
        ec.reboot_cache_cluster()
            .cache_cluster_id("gone")
            .cache_node_ids_to_reboot("0001")
            .send(),
        op::reboot_cache_cluster::RebootCacheClusterError::CacheClusterNotFoundFault
    );

    // Events, filtered by source, and by a time window that ends before they happened.
    let events = ec
        .describe_events()
        .source_type(SourceType::CacheCluster)
        .source_identifier("sdk")
        .duration(60)
        .send()
        .await
        .unwrap();
    let messages: Vec<&str> = events
        .events()
        .iter()
        .map(|e| e.message().unwrap())
        .collect();
    assert!(messages.contains(&"Cache cluster created"), "{messages:?}");
    assert!(
        messages.contains(&"Cache node 0001 restarted"),
        "{messages:?}"
    );
    assert!(events.events().iter().all(|e| {
        e.source_identifier() == Some("sdk")
            && e.source_type() == Some(&SourceType::CacheCluster)
            && e.date().is_some()
    }));
    // The parameter groups made and dropped above left more than 100 events: paged by 20 or
    // by 100, the paginator reads the same events in the same order.
    let mut by_page_size = Vec::new();
    for size in [20, 100] {
        let events: Vec<_> = ec
            .describe_events()
            .duration(60)
            .into_paginator()
            .page_size(size)
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        by_page_size.push(events);
    }
    assert!(by_page_size[0].len() > 100, "{}", by_page_size[0].len());
    assert_eq!(by_page_size[0], by_page_size[1]);
    let before = ec
        .describe_events()
        .source_identifier("sdk")
        .source_type(SourceType::CacheCluster)
        .end_time(ec::primitives::DateTime::from_secs(86_400))
        .send()
        .await
        .unwrap();
    assert!(before.events().is_empty(), "{before:?}");
    assert_fault!(
        ec.describe_events()
            .start_time(ec::primitives::DateTime::from_secs(0))
            .end_time(ec::primitives::DateTime::from_secs(86_400))
            .duration(60)
            .send(),
        op::describe_events::DescribeEventsError::InvalidParameterCombinationException
    );

    // Delete: the waiter sees the cluster gone, its nodes stop answering.
    let deleted = ec
        .delete_cache_cluster()
        .cache_cluster_id("sdk")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.cache_cluster().unwrap().cache_cluster_status(),
        Some("deleting")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while ec
        .describe_cache_clusters()
        .cache_cluster_id("sdk")
        .send()
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "sdk was never deleted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ec.wait_until_cache_cluster_deleted()
        .cache_cluster_id("sdk")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_fault!(
        ec.delete_cache_cluster().cache_cluster_id("sdk").send(),
        op::delete_cache_cluster::DeleteCacheClusterError::CacheClusterNotFoundFault
    );
    for (_, addr) in &nodes {
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} answers after delete"
        );
    }
}

async fn reserved_nodes_and_engine_versions(ec: &ec::Client) {
    // 21 node types x 2 durations x 3 offering types x 2 engines: three pages of 100.
    let offers: Vec<_> = ec
        .describe_reserved_cache_nodes_offerings()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(offers.len(), 252);
    let ids: BTreeSet<_> = offers
        .iter()
        .map(|o| o.reserved_cache_nodes_offering_id().unwrap())
        .collect();
    assert_eq!(ids.len(), 252);
    let small = ec
        .describe_reserved_cache_nodes_offerings()
        .cache_node_type("cache.m1.small")
        .duration("1")
        .product_description("memcached")
        .offering_type("Medium Utilization")
        .send()
        .await
        .unwrap();
    let offers = small.reserved_cache_nodes_offerings();
    assert_eq!(offers.len(), 1);
    let offer = &offers[0];
    assert_eq!(offer.fixed_price(), Some(227.5));
    assert_eq!(offer.duration(), Some(31_536_000));
    assert!(offer.usage_price().is_some());
    assert!(!offer.recurring_charges().is_empty() || offer.usage_price() > Some(0.0));
    let offering_id = offer.reserved_cache_nodes_offering_id().unwrap();
    assert_fault!(
        ec.describe_reserved_cache_nodes_offerings()
            .reserved_cache_nodes_offering_id("00000000-0000-0000-0000-000000000000")
            .send(),
        op::describe_reserved_cache_nodes_offerings::DescribeReservedCacheNodesOfferingsError::ReservedCacheNodesOfferingNotFoundFault
    );

    let bought = ec
        .purchase_reserved_cache_nodes_offering()
        .reserved_cache_nodes_offering_id(offering_id)
        .reserved_cache_node_id("mine")
        .cache_node_count(2)
        .send()
        .await
        .unwrap();
    let node = bought.reserved_cache_node().unwrap();
    assert_eq!(node.reserved_cache_node_id(), Some("mine"));
    assert_eq!(node.cache_node_count(), Some(2));
    assert_eq!(node.state(), Some("payment-pending"));
    assert_eq!(node.reserved_cache_nodes_offering_id(), Some(offering_id));
    assert!(node.start_time().is_some());
    assert_fault!(
        ec.purchase_reserved_cache_nodes_offering()
            .reserved_cache_nodes_offering_id(offering_id)
            .reserved_cache_node_id("mine")
            .send(),
        op::purchase_reserved_cache_nodes_offering::PurchaseReservedCacheNodesOfferingError::ReservedCacheNodeAlreadyExistsFault
    );
    assert_fault!(
        ec.purchase_reserved_cache_nodes_offering()
            .reserved_cache_nodes_offering_id("00000000-0000-0000-0000-000000000000")
            .send(),
        op::purchase_reserved_cache_nodes_offering::PurchaseReservedCacheNodesOfferingError::ReservedCacheNodesOfferingNotFoundFault
    );
    let reserved = ec.describe_reserved_cache_nodes().send().await.unwrap();
    let ids: Vec<_> = reserved
        .reserved_cache_nodes()
        .iter()
        .map(|n| n.reserved_cache_node_id().unwrap())
        .collect();
    assert_eq!(ids, ["mine"]);
    assert_fault!(
        ec.describe_reserved_cache_nodes()
            .reserved_cache_node_id("theirs")
            .send(),
        op::describe_reserved_cache_nodes::DescribeReservedCacheNodesError::ReservedCacheNodeNotFoundFault
    );

    let versions = ec.describe_cache_engine_versions().send().await.unwrap();
    let listed: Vec<_> = versions
        .cache_engine_versions()
        .iter()
        .map(|v| (v.engine().unwrap(), v.engine_version().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("memcached", "1.4.5"),
            ("memcached", "1.4.14"),
            ("redis", "2.6.13"),
            ("redis", "2.8.6"),
            ("redis", "2.8.19"),
            ("redis", "2.8.21"),
        ]
    );
    assert!(versions
        .cache_engine_versions()
        .iter()
        .all(|v| v.cache_parameter_group_family().is_some()
            && v.cache_engine_description().is_some()));
    let redis_default = ec
        .describe_cache_engine_versions()
        .engine("redis")
        .default_only(true)
        .send()
        .await
        .unwrap();
    assert_eq!(redis_default.cache_engine_versions().len(), 1);
}

/// Replication groups: their whole lifecycle (members, primary endpoint, promotion, failover)
/// is driven with the aws CLI in `replication_groups.rs`; here the SDK checks the typed faults.
async fn replication_groups(ec: &ec::Client) {
    let groups = ec.describe_replication_groups().send().await.unwrap();
    assert!(groups.replication_groups().is_empty());
    assert_fault!(
        ec.describe_replication_groups()
            .replication_group_id("rg")
            .send(),
        op::describe_replication_groups::DescribeReplicationGroupsError::ReplicationGroupNotFoundFault
    );
    assert_fault!(
        ec.modify_replication_group()
            .replication_group_id("rg")
            .replication_group_description("d")
            .send(),
        op::modify_replication_group::ModifyReplicationGroupError::ReplicationGroupNotFoundFault
    );
    assert_fault!(
        ec.delete_replication_group()
            .replication_group_id("rg")
            .send(),
        op::delete_replication_group::DeleteReplicationGroupError::ReplicationGroupNotFoundFault
    );
    assert_fault!(
        ec.create_replication_group()
            .replication_group_id("rg")
            .replication_group_description("d")
            .primary_cluster_id("no-such-primary")
            .send(),
        op::create_replication_group::CreateReplicationGroupError::CacheClusterNotFoundFault
    );
    assert_unmodelled_fault!(
        ec.describe_snapshots().replication_group_id("rg").send(),
        "ReplicationGroupNotFoundFault"
    );
}

/// Sends one inline Redis command and reads one reply (a line, or a bulk string's two lines).
fn redis(addr: &str, command: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let lines = reply.windows(2).filter(|w| w == b"\r\n").count();
        let bulk = reply.first() == Some(&b'$') && !reply.starts_with(b"$-1");
        if lines >= if bulk { 2 } else { 1 } {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{addr} closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(reply).unwrap()
}

async fn create_redis(
    ec: &ec::Client,
    id: &str,
    snapshot: Option<&str>,
) -> ec::types::CacheCluster {
    ec.create_cache_cluster()
        .cache_cluster_id(id)
        .engine("redis")
        .cache_node_type("cache.m3.medium")
        .num_cache_nodes(1)
        .set_snapshot_name(snapshot.map(str::to_string))
        .tags(tag("team", "blue"))
        .send()
        .await
        .unwrap();
    wait_available(ec, id).await
}

async fn wait_snapshot(ec: &ec::Client, name: &str) -> ec::types::Snapshot {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = ec
            .describe_snapshots()
            .snapshot_name(name)
            .show_node_group_config(true)
            .send()
            .await
            .unwrap();
        let snapshot = out.snapshots()[0].clone();
        match snapshot.snapshot_status() {
            Some("available") => return snapshot,
            Some("creating") => {}
            other => panic!("snapshot {name} is {other:?}: {snapshot:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "snapshot {name} never became available"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A Redis cluster's data through CreateSnapshot, CopySnapshot and a restore, then DeleteSnapshot.
async fn snapshots(ec: &ec::Client) {
    use op::create_snapshot::CreateSnapshotError as Create;

    assert!(ec
        .describe_snapshots()
        .send()
        .await
        .unwrap()
        .snapshots()
        .is_empty());
    assert_fault!(
        ec.describe_snapshots().snapshot_name("s").send(),
        op::describe_snapshots::DescribeSnapshotsError::SnapshotNotFoundFault
    );
    assert_fault!(
        ec.describe_snapshots().cache_cluster_id("gone").send(),
        op::describe_snapshots::DescribeSnapshotsError::CacheClusterNotFoundFault
    );
    assert_fault!(
        ec.create_snapshot()
            .cache_cluster_id("gone")
            .snapshot_name("s")
            .send(),
        Create::CacheClusterNotFoundFault
    );

    let src = create_redis(ec, "sdk-src", None).await;
    let node = src.cache_nodes()[0].endpoint().unwrap();
    let addr = format!("{}:{}", node.address().unwrap(), node.port().unwrap());
    assert_eq!(node.port(), Some(6379));
    assert_eq!(redis(&addr, "SET greeting hello"), "+OK\r\n");

    let created = ec
        .create_snapshot()
        .cache_cluster_id("sdk-src")
        .snapshot_name("sdk-manual")
        .send()
        .await
        .unwrap();
    let s = created.snapshot().unwrap();
    assert_eq!(s.snapshot_name(), Some("sdk-manual"));
    assert_eq!(s.snapshot_status(), Some("creating"));
    assert_eq!(s.snapshot_source(), Some("manual"));
    let s = wait_snapshot(ec, "sdk-manual").await;
    assert_eq!(s.cache_cluster_id(), Some("sdk-src"));
    assert_eq!(s.engine(), Some("redis"));
    assert_eq!(s.cache_node_type(), Some("cache.m3.medium"));
    assert_eq!(s.port(), Some(6379));
    assert!(s.cache_cluster_create_time().is_some());
    let arn = s.arn().expect("a snapshot ARN").to_string();
    assert!(arn.ends_with(":snapshot:sdk-manual"), "{arn}");
    let nodes = s.node_snapshots();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].cache_node_id(), Some("0001"));
    assert!(nodes[0].cache_size().is_some_and(|c| c.ends_with(" MB")));
    assert!(nodes[0].snapshot_create_time().is_some());
    assert_eq!(
        nodes[0]
            .node_group_configuration()
            .and_then(|g| g.node_group_id()),
        Some("0001")
    );
    assert_fault!(
        ec.create_snapshot()
            .cache_cluster_id("sdk-src")
            .snapshot_name("sdk-manual")
            .send(),
        Create::SnapshotAlreadyExistsFault
    );
    // Memcached keeps no data on disk: no snapshots of it.
    ec.create_cache_cluster()
        .cache_cluster_id("sdk-mc")
        .engine("memcached")
        .cache_node_type("cache.t2.micro")
        .num_cache_nodes(1)
        .send()
        .await
        .unwrap();
    assert_fault!(
        ec.create_snapshot()
            .cache_cluster_id("sdk-mc")
            .snapshot_name("mc")
            .send(),
        Create::SnapshotFeatureNotSupportedFault
    );

    let copied = ec
        .copy_snapshot()
        .source_snapshot_name("sdk-manual")
        .target_snapshot_name("sdk-copy")
        .send()
        .await
        .unwrap();
    assert_eq!(copied.snapshot().unwrap().snapshot_name(), Some("sdk-copy"));
    wait_snapshot(ec, "sdk-copy").await;
    assert_fault!(
        ec.copy_snapshot()
            .source_snapshot_name("sdk-manual")
            .target_snapshot_name("sdk-copy")
            .send(),
        op::copy_snapshot::CopySnapshotError::SnapshotAlreadyExistsFault
    );
    assert_fault!(
        ec.copy_snapshot()
            .source_snapshot_name("never-taken")
            .target_snapshot_name("t")
            .send(),
        op::copy_snapshot::CopySnapshotError::SnapshotNotFoundFault
    );
    let listed = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tag_list(), [tag("team", "blue")]);
    let mut names: Vec<String> = ec
        .describe_snapshots()
        .snapshot_source("user")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.snapshot_name().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["sdk-copy", "sdk-manual"]);

    // The copy restores into a new cluster holding the key.
    let restored = create_redis(ec, "sdk-restored", Some("sdk-copy")).await;
    let node = restored.cache_nodes()[0].endpoint().unwrap();
    let restored_addr = format!("{}:{}", node.address().unwrap(), node.port().unwrap());
    assert_eq!(redis(&restored_addr, "GET greeting"), "$5\r\nhello\r\n");

    let deleted = ec
        .delete_snapshot()
        .snapshot_name("sdk-manual")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.snapshot().unwrap().snapshot_status(),
        Some("deleting")
    );
    assert_fault!(
        ec.delete_snapshot().snapshot_name("sdk-manual").send(),
        op::delete_snapshot::DeleteSnapshotError::SnapshotNotFoundFault
    );
    assert_unmodelled_fault!(
        ec.create_cache_cluster()
            .cache_cluster_id("again")
            .engine("redis")
            .cache_node_type("cache.m3.medium")
            .num_cache_nodes(1)
            .snapshot_name("sdk-manual")
            .send(),
        "SnapshotNotFoundFault"
    );
}
