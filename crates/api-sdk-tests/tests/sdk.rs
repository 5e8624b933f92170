//! aws-sdk-elasticache against the router: the SDK's strict XML parser reads back every member of
//! every operation's output, maps every fault code to its typed error, follows pagination to the
//! end, and its SigV4 signatures verify. api-contract.md §3.6 lists what only this client catches.

use api::model;
use api::{
    ApiConfig, Auth, BoxFuture, ElastiCacheService, Fault, FaultCode, Operation, Output,
    RequestContext,
};
use aws_sdk_elasticache as ec;
use aws_sdk_elasticache::error::ProvideErrorMetadata;
use aws_sdk_elasticache::operation::RequestId;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Answers every operation with its fully populated sample output, except:
/// an id or name starting with `fault:` answers that fault code; when `clusters` is not 0,
/// DescribeCacheClusters pages over that many generated clusters.
struct SampleService {
    calls: Mutex<Vec<(RequestContext, Operation)>>,
    clusters: usize,
}

fn requested_fault(op: &Operation) -> Option<Fault> {
    let name = match op {
        Operation::CreateCacheCluster(m) => m.cache_cluster_id.as_str(),
        Operation::DescribeCacheClusters(m) => m.cache_cluster_id.as_deref().unwrap_or(""),
        Operation::CreateReplicationGroup(m) => m.replication_group_id.as_str(),
        Operation::AddTagsToResource(m) => m.resource_name.as_str(),
        _ => "",
    };
    let code = name.strip_prefix("fault:")?;
    let code = FaultCode::ALL
        .iter()
        .find(|c| c.code() == code)
        .expect("a known code");
    Some(Fault::new(
        *code,
        format!("requested fault {}", code.code()),
    ))
}

impl ElastiCacheService for SampleService {
    fn call(&self, ctx: RequestContext, op: Operation) -> BoxFuture<Result<Output, Fault>> {
        self.calls.lock().unwrap().push((ctx, op.clone()));
        let result = if let Some(fault) = requested_fault(&op) {
            Err(fault)
        } else if let (Operation::DescribeCacheClusters(m), true) = (&op, self.clusters > 0) {
            api::Page::from_request(
                m.marker.as_deref(),
                m.max_records,
                api::Page::DEFAULT_LIMITS,
            )
            .map(|page| {
                let all: Vec<model::CacheCluster> = (0..self.clusters)
                    .map(|i| model::CacheCluster {
                        cache_cluster_id: Some(format!("c-{i:04}")),
                        ..model::CacheCluster::sample()
                    })
                    .collect();
                let (items, marker) = page.take(all, |c| c.cache_cluster_id.clone().unwrap());
                Output::DescribeCacheClusters(model::CacheClusterMessage {
                    marker,
                    cache_clusters: Some(items),
                })
            })
        } else {
            Ok(api::samples::output(op.action()).unwrap())
        };
        Box::pin(async move { result })
    }
}

struct Harness {
    client: ec::Client,
    service: Arc<SampleService>,
}

async fn start(clusters: usize, secret: &str) -> Harness {
    let service = Arc::new(SampleService {
        calls: Mutex::new(Vec::new()),
        clusters,
    });
    let app = api::router(
        service.clone(),
        ApiConfig::new(Auth::keys([(AKID, SECRET)]), "123456789012"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let conf = ec::Config::builder()
        .region(ec::config::Region::new("eu-central-1"))
        .credentials_provider(ec::config::Credentials::new(
            AKID, secret, None, None, "test",
        ))
        .endpoint_url(format!("http://{addr}"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Harness {
        client: ec::Client::from_conf(conf),
        service,
    }
}

/// Every dotted-name string, unique number and timestamp of our sample document must show up in
/// the SDK's parsed output: a wrong element name would leave it empty, silently.
fn assert_reads_back<T: Debug>(action: &str, parsed: &T) {
    let doc = api::xml::response_document(&api::samples::output(action).unwrap(), "r");
    let debug = format!("{parsed:?}");
    let mut checked = 0;
    for text in doc
        .split('>')
        .filter_map(|piece| piece.split('<').next())
        .filter(|t| !t.is_empty())
    {
        if text.contains('.') && text.chars().next().unwrap().is_ascii_uppercase() {
            assert!(
                debug.contains(&format!("\"{text}\"")),
                "{action}: string {text} lost; SDK read {debug}"
            );
            checked += 1;
        } else if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            assert!(debug.contains(text), "{action}: number {text} lost");
            checked += 1;
        } else if text.ends_with('Z') && text.len() == 24 {
            // aws-smithy-types prints a DateTime as RFC 3339, as we send it.
            assert!(debug.contains(text), "{action}: timestamp {text} lost");
            checked += 1;
        }
    }
    if action.starts_with("Delete") && !doc.contains("Result>") {
        return;
    }
    assert!(checked > 0, "{action}: nothing checked in {doc}");
}

macro_rules! call {
    ($h:expr, $action:literal, $builder:expr) => {{
        let out = $builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {:?}", $action, e));
        assert!(out.request_id().is_some(), "{}: no request id", $action);
        assert_reads_back($action, &out);
        let calls = $h.service.calls.lock().unwrap();
        assert_eq!(calls.last().unwrap().1.action(), $action);
        assert_eq!(calls.last().unwrap().0.region, "eu-central-1");
    }};
}

#[tokio::test]
async fn every_operation_reads_back_every_member() {
    let h = start(0, SECRET).await;
    let c = &h.client;
    let tag = || ec::types::Tag::builder().key("k").value("v").build();
    call!(
        h,
        "AddTagsToResource",
        c.add_tags_to_resource().resource_name("arn:x").tags(tag())
    );
    call!(
        h,
        "AuthorizeCacheSecurityGroupIngress",
        c.authorize_cache_security_group_ingress()
            .cache_security_group_name("g")
            .ec2_security_group_name("e")
            .ec2_security_group_owner_id("1")
    );
    call!(
        h,
        "CopySnapshot",
        c.copy_snapshot()
            .source_snapshot_name("a")
            .target_snapshot_name("b")
    );
    call!(
        h,
        "CreateCacheCluster",
        c.create_cache_cluster().cache_cluster_id("c")
    );
    call!(
        h,
        "CreateCacheParameterGroup",
        c.create_cache_parameter_group()
            .cache_parameter_group_name("p")
            .cache_parameter_group_family("redis2.8")
            .description("d")
    );
    call!(
        h,
        "CreateCacheSecurityGroup",
        c.create_cache_security_group()
            .cache_security_group_name("g")
            .description("d")
    );
    call!(
        h,
        "CreateCacheSubnetGroup",
        c.create_cache_subnet_group()
            .cache_subnet_group_name("s")
            .cache_subnet_group_description("d")
            .subnet_ids("subnet-1")
    );
    call!(
        h,
        "CreateReplicationGroup",
        c.create_replication_group()
            .replication_group_id("r")
            .replication_group_description("d")
    );
    call!(h, "CreateSnapshot", c.create_snapshot().snapshot_name("s"));
    call!(
        h,
        "DeleteCacheCluster",
        c.delete_cache_cluster().cache_cluster_id("c")
    );
    call!(
        h,
        "DeleteCacheParameterGroup",
        c.delete_cache_parameter_group()
            .cache_parameter_group_name("p")
    );
    call!(
        h,
        "DeleteCacheSecurityGroup",
        c.delete_cache_security_group()
            .cache_security_group_name("g")
    );
    call!(
        h,
        "DeleteCacheSubnetGroup",
        c.delete_cache_subnet_group().cache_subnet_group_name("s")
    );
    call!(
        h,
        "DeleteReplicationGroup",
        c.delete_replication_group().replication_group_id("r")
    );
    call!(h, "DeleteSnapshot", c.delete_snapshot().snapshot_name("s"));
    call!(
        h,
        "DescribeCacheClusters",
        c.describe_cache_clusters().show_cache_node_info(true)
    );
    call!(
        h,
        "DescribeCacheEngineVersions",
        c.describe_cache_engine_versions()
    );
    call!(
        h,
        "DescribeCacheParameterGroups",
        c.describe_cache_parameter_groups()
    );
    call!(
        h,
        "DescribeCacheParameters",
        c.describe_cache_parameters()
            .cache_parameter_group_name("p")
    );
    call!(
        h,
        "DescribeCacheSecurityGroups",
        c.describe_cache_security_groups()
    );
    call!(
        h,
        "DescribeCacheSubnetGroups",
        c.describe_cache_subnet_groups()
    );
    call!(
        h,
        "DescribeEngineDefaultParameters",
        c.describe_engine_default_parameters()
            .cache_parameter_group_family("redis2.8")
    );
    call!(h, "DescribeEvents", c.describe_events());
    call!(
        h,
        "DescribeReplicationGroups",
        c.describe_replication_groups()
    );
    call!(
        h,
        "DescribeReservedCacheNodes",
        c.describe_reserved_cache_nodes()
    );
    call!(
        h,
        "DescribeReservedCacheNodesOfferings",
        c.describe_reserved_cache_nodes_offerings()
    );
    call!(h, "DescribeSnapshots", c.describe_snapshots());
    call!(
        h,
        "ListTagsForResource",
        c.list_tags_for_resource().resource_name("arn:x")
    );
    call!(
        h,
        "ModifyCacheCluster",
        c.modify_cache_cluster().cache_cluster_id("c")
    );
    call!(
        h,
        "ModifyCacheParameterGroup",
        c.modify_cache_parameter_group()
            .cache_parameter_group_name("p")
            .parameter_name_values(
                ec::types::ParameterNameValue::builder()
                    .parameter_name("timeout")
                    .parameter_value("1")
                    .build()
            )
    );
    call!(
        h,
        "ModifyCacheSubnetGroup",
        c.modify_cache_subnet_group().cache_subnet_group_name("s")
    );
    call!(
        h,
        "ModifyReplicationGroup",
        c.modify_replication_group().replication_group_id("r")
    );
    call!(
        h,
        "PurchaseReservedCacheNodesOffering",
        c.purchase_reserved_cache_nodes_offering()
            .reserved_cache_nodes_offering_id("o")
    );
    call!(
        h,
        "RebootCacheCluster",
        c.reboot_cache_cluster()
            .cache_cluster_id("c")
            .cache_node_ids_to_reboot("0001")
    );
    call!(
        h,
        "RemoveTagsFromResource",
        c.remove_tags_from_resource()
            .resource_name("arn:x")
            .tag_keys("k")
    );
    call!(
        h,
        "ResetCacheParameterGroup",
        c.reset_cache_parameter_group()
            .cache_parameter_group_name("p")
            .reset_all_parameters(true)
    );
    call!(
        h,
        "RevokeCacheSecurityGroupIngress",
        c.revoke_cache_security_group_ingress()
            .cache_security_group_name("g")
            .ec2_security_group_name("e")
            .ec2_security_group_owner_id("1")
    );
    assert_eq!(h.service.calls.lock().unwrap().len(), 37);
}

#[tokio::test]
async fn typed_fields_read_back() {
    let h = start(1, SECRET).await;
    let out = h.client.describe_cache_clusters().send().await.unwrap();
    let c = &out.cache_clusters()[0];
    assert_eq!(c.cache_cluster_id(), Some("c-0000"));
    assert_eq!(c.auto_minor_version_upgrade(), Some(true));
    assert_eq!(c.cache_nodes().len(), 2);
    assert_eq!(
        c.cache_nodes()[1].endpoint().unwrap().address(),
        Some("Endpoint.Address")
    );
    assert_eq!(
        c.security_groups()[0].security_group_id(),
        Some("SecurityGroupMembership.SecurityGroupId")
    );
    assert_eq!(
        c.cache_parameter_group()
            .unwrap()
            .cache_node_ids_to_reboot(),
        [
            "CacheParameterGroupStatus.CacheNodeIdsToReboot[0]",
            "CacheParameterGroupStatus.CacheNodeIdsToReboot[1]"
        ]
    );
    let created = c.cache_cluster_create_time().unwrap();
    let expected = model::CacheCluster::sample()
        .cache_cluster_create_time
        .unwrap();
    assert_eq!(created.secs(), expected.unix_timestamp());
    assert_eq!(created.subsec_nanos(), expected.nanosecond());
    assert_eq!(c.network_type(), Some(&ec::types::NetworkType::Ipv4));
    let rg = h.client.describe_replication_groups().send().await.unwrap();
    let g = &rg.replication_groups()[0];
    assert_eq!(
        g.member_clusters(),
        [
            "ReplicationGroup.MemberClusters[0]",
            "ReplicationGroup.MemberClusters[1]"
        ]
    );
    assert_eq!(g.node_groups()[0].node_group_members().len(), 2);
    assert_eq!(
        g.automatic_failover(),
        Some(&ec::types::AutomaticFailoverStatus::Enabled)
    );
    let offers = h
        .client
        .describe_reserved_cache_nodes_offerings()
        .send()
        .await
        .unwrap();
    let o = &offers.reserved_cache_nodes_offerings()[0];
    assert_eq!(o.recurring_charges().len(), 2);
    assert!(o.fixed_price().unwrap().fract() == 0.5);
    let defaults = h
        .client
        .describe_engine_default_parameters()
        .cache_parameter_group_family("redis2.8")
        .send()
        .await
        .unwrap();
    let d = defaults.engine_defaults().unwrap();
    assert_eq!(d.marker(), Some("EngineDefaults.Marker"));
    assert_eq!(
        d.cache_node_type_specific_parameters()[0]
            .cache_node_type_specific_values()
            .len(),
        2
    );
}

#[tokio::test]
async fn sdk_encoded_inputs_bind_to_the_same_values() {
    let h = start(1, SECRET).await;
    h.client
        .create_cache_cluster()
        .cache_cluster_id("My-Cluster")
        .num_cache_nodes(3)
        .engine("memcached")
        .az_mode(ec::types::AzMode::CrossAz)
        .preferred_availability_zones("us-east-1a")
        .preferred_availability_zones("us-east-1b")
        .security_group_ids("sg-1")
        .tags(ec::types::Tag::builder().key("a b").value("c&d=e").build())
        .auto_minor_version_upgrade(false)
        .log_delivery_configurations(
            ec::types::LogDeliveryConfigurationRequest::builder()
                .log_type(ec::types::LogType::SlowLog)
                .destination_type(ec::types::DestinationType::CloudWatchLogs)
                .destination_details(
                    ec::types::DestinationDetails::builder()
                        .cloud_watch_logs_details(
                            ec::types::CloudWatchLogsDestinationDetails::builder()
                                .log_group("lg")
                                .build(),
                        )
                        .build(),
                )
                .log_format(ec::types::LogFormat::Json)
                .enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    h.client
        .modify_cache_cluster()
        .cache_cluster_id("c")
        .set_security_group_ids(Some(vec![]))
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    h.client
        .create_replication_group()
        .replication_group_id("rg")
        .replication_group_description("d")
        .node_group_configuration(
            ec::types::NodeGroupConfiguration::builder()
                .node_group_id("0001")
                .slots("0-8191")
                .replica_count(2)
                .replica_availability_zones("us-east-1a")
                .replica_availability_zones("us-east-1b")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let calls = h.service.calls.lock().unwrap();
    let Operation::CreateCacheCluster(m) = &calls[0].1 else {
        panic!()
    };
    assert_eq!(
        *m,
        model::CreateCacheClusterMessage {
            cache_cluster_id: "My-Cluster".into(),
            num_cache_nodes: Some(3),
            engine: Some("memcached".into()),
            az_mode: Some("cross-az".into()),
            preferred_availability_zones: Some(vec!["us-east-1a".into(), "us-east-1b".into()]),
            security_group_ids: Some(vec!["sg-1".into()]),
            tags: Some(vec![model::Tag {
                key: Some("a b".into()),
                value: Some("c&d=e".into())
            }]),
            auto_minor_version_upgrade: Some(false),
            log_delivery_configurations: Some(vec![model::LogDeliveryConfigurationRequest {
                log_type: Some("slow-log".into()),
                destination_type: Some("cloudwatch-logs".into()),
                destination_details: Some(model::DestinationDetails {
                    cloud_watch_logs_details: Some(model::CloudWatchLogsDestinationDetails {
                        log_group: Some("lg".into())
                    }),
                    kinesis_firehose_details: None,
                }),
                log_format: Some("json".into()),
                enabled: Some(true),
            }]),
            ..Default::default()
        }
    );
    let Operation::ModifyCacheCluster(m) = &calls[1].1 else {
        panic!()
    };
    assert_eq!(
        (m.security_group_ids.clone(), m.apply_immediately),
        (Some(vec![]), true)
    );
    let Operation::CreateReplicationGroup(m) = &calls[2].1 else {
        panic!()
    };
    let ng = &m.node_group_configuration.as_ref().unwrap()[0];
    assert_eq!(
        ng.replica_availability_zones,
        Some(vec!["us-east-1a".to_string(), "us-east-1b".to_string()])
    );
    assert_eq!(
        (ng.slots.as_deref(), ng.replica_count),
        (Some("0-8191"), Some(2))
    );
}

#[tokio::test]
async fn every_modelled_fault_maps_to_its_typed_error() {
    let h = start(1, SECRET).await;
    for code in api::modelled_faults("CreateCacheCluster") {
        let err = h
            .client
            .create_cache_cluster()
            .cache_cluster_id(format!("fault:{}", code.code()))
            .send()
            .await
            .unwrap_err();
        let err = err.into_service_error();
        assert_eq!(err.code(), Some(code.code()));
        assert_eq!(
            err.message(),
            Some(format!("requested fault {}", code.code()).as_str())
        );
        assert!(
            !format!("{err:?}").starts_with("Unhandled"),
            "{}: not mapped to a typed error: {err:?}",
            code.code()
        );
    }
    for code in api::modelled_faults("CreateReplicationGroup") {
        let err = h
            .client
            .create_replication_group()
            .replication_group_id(format!("fault:{}", code.code()))
            .replication_group_description("d")
            .send()
            .await
            .unwrap_err();
        assert!(
            !format!("{:?}", err.into_service_error()).starts_with("Unhandled"),
            "{}",
            code.code()
        );
    }
    for code in api::modelled_faults("AddTagsToResource") {
        let err = h
            .client
            .add_tags_to_resource()
            .resource_name(format!("fault:{}", code.code()))
            .set_tags(Some(vec![]))
            .send()
            .await
            .unwrap_err();
        assert!(
            !format!("{:?}", err.into_service_error()).starts_with("Unhandled"),
            "{}",
            code.code()
        );
    }
    let err = h
        .client
        .describe_cache_clusters()
        .cache_cluster_id("fault:CacheClusterNotFound")
        .send()
        .await
        .unwrap_err();
    let raw_status = err.raw_response().unwrap().status().as_u16();
    let err = err.into_service_error();
    assert!(err.is_cache_cluster_not_found_fault());
    assert_eq!(raw_status, 404);
    assert!(err.request_id().is_some());
}

#[tokio::test]
async fn paginator_reaches_the_last_page() {
    let h = start(245, SECRET).await;
    let pages: Vec<_> = h
        .client
        .describe_cache_clusters()
        .max_records(100)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let ids: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().cache_clusters.unwrap_or_default())
        .map(|c| c.cache_cluster_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 245);
    assert_eq!(ids.first().map(String::as_str), Some("c-0000"));
    assert_eq!(ids.last().map(String::as_str), Some("c-0244"));
    assert_eq!(h.service.calls.lock().unwrap().len(), 3);
    let err = h
        .client
        .describe_cache_clusters()
        .max_records(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().code(),
        Some("InvalidParameterValue")
    );
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let h = start(1, "not-the-secret").await;
    let err = h.client.describe_cache_clusters().send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    assert_eq!(
        err.into_service_error().code(),
        Some("SignatureDoesNotMatch")
    );
    assert!(h.service.calls.lock().unwrap().is_empty());
}

/// aws-sigv4 (the SDK's signer) as an oracle: whatever it signs, our verifier accepts, and only
/// with the right secret.
#[test]
fn aws_sigv4_signatures_verify() {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use std::time::{Duration, UNIX_EPOCH};
    let identity = aws_credential_types::Credentials::new(AKID, SECRET, None, None, "test").into();
    let bodies = [
        "",
        "Action=DescribeEvents&Version=2015-02-02",
        "Action=AddTagsToResource&Version=2015-02-02&ResourceName=x&Tags.Tag.1.Key=a+b%26c",
    ];
    let regions = ["us-east-1", "ap-southeast-1"];
    let uris = ["http://127.0.0.1:8080/", "http://127.0.0.1:8080/?Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=a%20b"];
    let mut checked = 0;
    for (i, body) in bodies.iter().enumerate() {
        for region in regions {
            for uri in uris {
                let when = UNIX_EPOCH + Duration::from_secs(1_764_000_000 + i as u64 * 86_399);
                let params = aws_sigv4::sign::v4::SigningParams::builder()
                    .identity(&identity)
                    .region(region)
                    .name("elasticache")
                    .time(when)
                    .settings(SigningSettings::default())
                    .build()
                    .unwrap()
                    .into();
                let headers = [
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("host", "127.0.0.1:8080"),
                ];
                let signable = SignableRequest::new(
                    "POST",
                    uri,
                    headers.iter().copied(),
                    SignableBody::Bytes(body.as_bytes()),
                )
                .unwrap();
                let (instructions, _) = sign(signable, &params).unwrap().into_parts();
                let mut req = http::Request::builder().method("POST").uri(uri);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let mut req = req.body(()).unwrap();
                instructions.apply_to_request_http1x(&mut req);
                let sent: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
                    .collect();
                let signed = api::sigv4::SignedRequest {
                    method: "POST",
                    path: req.uri().path(),
                    query: req.uri().query().unwrap_or(""),
                    headers: &sent,
                    body: body.as_bytes(),
                };
                let now = time::OffsetDateTime::from(when);
                let good = |k: &str| (k == AKID).then(|| SECRET.to_string());
                let verified =
                    api::sigv4::verify(&signed, api::sigv4::SecretCheck::Verify(&good), now)
                        .unwrap_or_else(|f| panic!("{uri} {region}: {f}"));
                assert_eq!(verified.region, region);
                let bad = |k: &str| (k == AKID).then(|| "other".to_string());
                assert_eq!(
                    api::sigv4::verify(&signed, api::sigv4::SecretCheck::Verify(&bad), now)
                        .unwrap_err()
                        .code,
                    FaultCode::SignatureDoesNotMatch
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}
