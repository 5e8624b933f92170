//! Byte fixtures: the request bodies captured from aws-cli 1.45.11 and aws-sdk-elasticache
//! 1.129.0 (api-contract.md §3.2, §3.3) bound to typed inputs, and output documents written
//! byte for byte.

use api::form::Params;
use api::model::*;
use api::{Operation, Output};

fn bind(body: &str) -> Operation {
    let params = Params::decode(&[body.as_bytes()]).unwrap();
    assert_eq!(params.version.as_deref(), Some("2015-02-02"));
    Operation::bind(params.action.as_deref().unwrap(), &params.tree)
        .unwrap()
        .unwrap_or_else(|f| panic!("{body}: {f}"))
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn cli_create_cache_cluster() {
    let op = bind(
        "Action=CreateCacheCluster&Version=2015-02-02&CacheClusterId=my-redis&PreferredAvailabilityZones.PreferredAvailabilityZone.1=us-east-1a&NumCacheNodes=1&CacheNodeType=cache.t3.micro&Engine=redis&EngineVersion=7.0&SecurityGroupIds.SecurityGroupId.1=sg-1&SecurityGroupIds.SecurityGroupId.2=sg-2&Tags.Tag.1.Key=env&Tags.Tag.1.Value=dev&Tags.Tag.2.Key=team&Tags.Tag.2.Value=core&Port=6379",
    );
    assert_eq!(
        op,
        Operation::CreateCacheCluster(CreateCacheClusterMessage {
            cache_cluster_id: s("my-redis"),
            preferred_availability_zones: Some(vec![s("us-east-1a")]),
            num_cache_nodes: Some(1),
            cache_node_type: Some(s("cache.t3.micro")),
            engine: Some(s("redis")),
            engine_version: Some(s("7.0")),
            security_group_ids: Some(vec![s("sg-1"), s("sg-2")]),
            tags: Some(vec![
                Tag {
                    key: Some(s("env")),
                    value: Some(s("dev"))
                },
                Tag {
                    key: Some(s("team")),
                    value: Some(s("core"))
                }
            ]),
            port: Some(6379),
            ..Default::default()
        })
    );
}

#[test]
fn cli_modify_cache_cluster_with_empty_list() {
    let op = bind("Action=ModifyCacheCluster&Version=2015-02-02&CacheClusterId=my-memc&NumCacheNodes=1&CacheNodeIdsToRemove.CacheNodeId.1=0002&CacheNodeIdsToRemove.CacheNodeId.2=0003&NewAvailabilityZones.PreferredAvailabilityZone.1=us-east-1a&NewAvailabilityZones.PreferredAvailabilityZone.2=us-east-1b&SecurityGroupIds=&ApplyImmediately=true");
    assert_eq!(
        op,
        Operation::ModifyCacheCluster(ModifyCacheClusterMessage {
            cache_cluster_id: s("my-memc"),
            num_cache_nodes: Some(1),
            cache_node_ids_to_remove: Some(vec![s("0002"), s("0003")]),
            new_availability_zones: Some(vec![s("us-east-1a"), s("us-east-1b")]),
            security_group_ids: Some(vec![]),
            apply_immediately: true,
            ..Default::default()
        })
    );
}

#[test]
fn cli_add_tags_decodes_form_escapes() {
    let op = bind("Action=AddTagsToResource&Version=2015-02-02&ResourceName=arn%3Aaws%3Aelasticache%3Aus-east-1%3A123456789012%3Acluster%3Amy-redis&Tags.Tag.1.Key=env&Tags.Tag.1.Value=dev&Tags.Tag.2.Key=owner&Tags.Tag.2.Value=a+b%26c%3Dd");
    assert_eq!(
        op,
        Operation::AddTagsToResource(AddTagsToResourceMessage {
            resource_name: s("arn:aws:elasticache:us-east-1:123456789012:cluster:my-redis"),
            tags: vec![
                Tag {
                    key: Some(s("env")),
                    value: Some(s("dev"))
                },
                Tag {
                    key: Some(s("owner")),
                    value: Some(s("a b&c=d"))
                }
            ],
        })
    );
}

#[test]
fn cli_describe_events_timestamps() {
    let op = bind("Action=DescribeEvents&Version=2015-02-02&SourceIdentifier=my-redis&SourceType=cache-cluster&StartTime=2024-05-01T00%3A00%3A00Z&EndTime=2024-05-02T00%3A00%3A00Z&MaxRecords=20");
    assert_eq!(
        op,
        Operation::DescribeEvents(DescribeEventsMessage {
            source_identifier: Some(s("my-redis")),
            source_type: Some(s("cache-cluster")),
            start_time: Some(time::macros::datetime!(2024-05-01 0:00 UTC)),
            end_time: Some(time::macros::datetime!(2024-05-02 0:00 UTC)),
            max_records: Some(20),
            ..Default::default()
        })
    );
    let Operation::DescribeEvents(m) =
        bind("Action=DescribeEvents&Version=2015-02-02&StartTime=2024-05-01T10%3A00%3A00.250000Z")
    else {
        panic!()
    };
    assert_eq!(
        m.start_time,
        Some(time::macros::datetime!(2024-05-01 10:00:00.25 UTC))
    );
}

#[test]
fn cli_parameter_name_values_and_nested_lists() {
    let op = bind("Action=ModifyCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=pg1&ParameterNameValues.ParameterNameValue.1.ParameterName=maxmemory-policy&ParameterNameValues.ParameterNameValue.1.ParameterValue=allkeys-lru&ParameterNameValues.ParameterNameValue.2.ParameterName=timeout&ParameterNameValues.ParameterNameValue.2.ParameterValue=300");
    assert_eq!(
        op,
        Operation::ModifyCacheParameterGroup(ModifyCacheParameterGroupMessage {
            cache_parameter_group_name: s("pg1"),
            parameter_name_values: vec![
                ParameterNameValue {
                    parameter_name: Some(s("maxmemory-policy")),
                    parameter_value: Some(s("allkeys-lru"))
                },
                ParameterNameValue {
                    parameter_name: Some(s("timeout")),
                    parameter_value: Some(s("300"))
                },
            ],
        })
    );
    let op = bind("Action=CreateReplicationGroup&Version=2015-02-02&ReplicationGroupId=rg1&ReplicationGroupDescription=my+rg&NumNodeGroups=2&ReplicasPerNodeGroup=1&NodeGroupConfiguration.NodeGroupConfiguration.1.NodeGroupId=0001&NodeGroupConfiguration.NodeGroupConfiguration.1.Slots=0-8191&NodeGroupConfiguration.NodeGroupConfiguration.1.ReplicaCount=1&NodeGroupConfiguration.NodeGroupConfiguration.1.PrimaryAvailabilityZone=us-east-1a&NodeGroupConfiguration.NodeGroupConfiguration.1.ReplicaAvailabilityZones.AvailabilityZone.1=us-east-1b&Engine=redis");
    assert_eq!(
        op,
        Operation::CreateReplicationGroup(CreateReplicationGroupMessage {
            replication_group_id: s("rg1"),
            replication_group_description: s("my rg"),
            num_node_groups: Some(2),
            replicas_per_node_group: Some(1),
            node_group_configuration: Some(vec![NodeGroupConfiguration {
                node_group_id: Some(s("0001")),
                slots: Some(s("0-8191")),
                replica_count: Some(1),
                primary_availability_zone: Some(s("us-east-1a")),
                replica_availability_zones: Some(vec![s("us-east-1b")]),
                ..Default::default()
            }]),
            engine: Some(s("redis")),
            ..Default::default()
        })
    );
}

#[test]
fn cli_reboot_remove_tags_describe() {
    assert_eq!(
        bind("Action=RebootCacheCluster&Version=2015-02-02&CacheClusterId=my-redis&CacheNodeIdsToReboot.CacheNodeId.1=0001"),
        Operation::RebootCacheCluster(RebootCacheClusterMessage { cache_cluster_id: s("my-redis"), cache_node_ids_to_reboot: vec![s("0001")] })
    );
    assert_eq!(
        bind("Action=RemoveTagsFromResource&Version=2015-02-02&ResourceName=arn%3Aaws%3Aelasticache%3Aus-east-1%3A123456789012%3Acluster%3Amy-redis&TagKeys.member.1=env&TagKeys.member.2=owner"),
        Operation::RemoveTagsFromResource(RemoveTagsFromResourceMessage {
            resource_name: s("arn:aws:elasticache:us-east-1:123456789012:cluster:my-redis"),
            tag_keys: vec![s("env"), s("owner")],
        })
    );
    assert_eq!(
        bind("Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=missing"),
        Operation::DescribeCacheClusters(DescribeCacheClustersMessage {
            cache_cluster_id: Some(s("missing")),
            ..Default::default()
        })
    );
}

#[test]
fn rust_sdk_requests() {
    let Operation::CreateCacheCluster(m) = bind("Action=CreateCacheCluster&Version=2015-02-02&CacheClusterId=my-redis&NumCacheNodes=1&CacheNodeType=cache.t3.micro&Engine=redis&SecurityGroupIds.SecurityGroupId.1=sg-1&SecurityGroupIds.SecurityGroupId.2=sg-2&Tags.Tag.1.Key=env&Tags.Tag.1.Value=dev") else { panic!() };
    assert_eq!(m.security_group_ids, Some(vec![s("sg-1"), s("sg-2")]));
    assert_eq!(
        m.tags,
        Some(vec![Tag {
            key: Some(s("env")),
            value: Some(s("dev"))
        }])
    );
    let Operation::ModifyCacheCluster(m) = bind("Action=ModifyCacheCluster&Version=2015-02-02&CacheClusterId=my-memc&NumCacheNodes=1&CacheNodeIdsToRemove.CacheNodeId.1=0002&CacheNodeIdsToRemove.CacheNodeId.2=0003&SecurityGroupIds=&ApplyImmediately=true") else { panic!() };
    assert_eq!(
        (
            m.security_group_ids,
            m.new_availability_zones,
            m.apply_immediately
        ),
        (Some(vec![]), None, true)
    );
    let Operation::DescribeEvents(m) =
        bind("Action=DescribeEvents&Version=2015-02-02&SourceType=cache-cluster&MaxRecords=20")
    else {
        panic!()
    };
    assert_eq!(
        (m.source_type.as_deref(), m.max_records),
        (Some("cache-cluster"), Some(20))
    );
}

#[test]
fn every_operation_binds_its_required_members_only() {
    // A request with nothing but Action/Version: operations with required members say which one
    // is missing; the others bind to an empty input.
    for action in api::ACTIONS {
        let params =
            Params::decode(&[format!("Action={action}&Version=2015-02-02").as_bytes()]).unwrap();
        match Operation::bind(action, &params.tree).unwrap() {
            Ok(op) => assert_eq!(op.action(), *action),
            Err(fault) => {
                assert_eq!(fault.code, api::FaultCode::MissingParameter, "{action}");
                assert!(fault
                    .message
                    .starts_with("The request must contain the parameter "));
            }
        }
    }
    assert!(Operation::bind("NoSuchAction", &Default::default()).is_none());
}

#[test]
fn create_result_document_matches_contract() {
    let cluster = CacheCluster {
        cache_cluster_id: Some(s("my-redis")),
        cache_cluster_status: Some(s("creating")),
        num_cache_nodes: Some(1),
        cache_cluster_create_time: Some(time::macros::datetime!(2024-05-01 12:34:56.789 UTC)),
        security_groups: Some(vec![SecurityGroupMembership {
            security_group_id: Some(s("sg-1")),
            status: Some(s("active")),
        }]),
        cache_security_groups: Some(vec![CacheSecurityGroupMembership {
            cache_security_group_name: Some(s("default")),
            status: Some(s("active")),
        }]),
        auto_minor_version_upgrade: true,
        ..Default::default()
    };
    let doc = api::xml::response_document(
        &Output::CreateCacheCluster(CreateCacheClusterResult {
            cache_cluster: Some(cluster),
        }),
        "c657d9bd-1f51-48bd-8edc-8c7a7209f442",
    );
    // api-contract.md §3.5, whitespace removed, members in model order; the model's non-optional
    // `Boolean` members are always present, as AWS sends them.
    assert_eq!(
        doc,
        "<CreateCacheClusterResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><CreateCacheClusterResult><CacheCluster>\
         <CacheClusterId>my-redis</CacheClusterId><CacheClusterStatus>creating</CacheClusterStatus><NumCacheNodes>1</NumCacheNodes>\
         <CacheClusterCreateTime>2024-05-01T12:34:56.789Z</CacheClusterCreateTime>\
         <CacheSecurityGroups><CacheSecurityGroup><CacheSecurityGroupName>default</CacheSecurityGroupName><Status>active</Status></CacheSecurityGroup></CacheSecurityGroups>\
         <AutoMinorVersionUpgrade>true</AutoMinorVersionUpgrade>\
         <SecurityGroups><member><SecurityGroupId>sg-1</SecurityGroupId><Status>active</Status></member></SecurityGroups>\
         <ReplicationGroupLogDeliveryEnabled>false</ReplicationGroupLogDeliveryEnabled></CacheCluster></CreateCacheClusterResult><ResponseMetadata><RequestId>c657d9bd-1f51-48bd-8edc-8c7a7209f442</RequestId></ResponseMetadata></CreateCacheClusterResponse>"
    );
}

#[test]
fn list_element_names_follow_the_model() {
    let rg = ReplicationGroup {
        replication_group_id: Some(s("rg")),
        member_clusters: Some(vec![s("rg-001")]),
        node_groups: Some(vec![NodeGroup {
            node_group_id: Some(s("0001")),
            node_group_members: Some(vec![NodeGroupMember {
                cache_cluster_id: Some(s("rg-001")),
                ..Default::default()
            }]),
            ..Default::default()
        }]),
        user_group_ids: Some(vec![s("ug")]),
        ..Default::default()
    };
    let doc = api::xml::response_document(
        &Output::DescribeReplicationGroups(ReplicationGroupMessage {
            marker: Some(s("m")),
            replication_groups: Some(vec![rg]),
        }),
        "r",
    );
    for piece in [
        "<DescribeReplicationGroupsResult><Marker>m</Marker><ReplicationGroups><ReplicationGroup><ReplicationGroupId>rg</ReplicationGroupId>",
        "<MemberClusters><ClusterId>rg-001</ClusterId></MemberClusters>",
        "<NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><NodeGroupMembers><NodeGroupMember><CacheClusterId>rg-001</CacheClusterId></NodeGroupMember></NodeGroupMembers></NodeGroup></NodeGroups>",
        "<UserGroupIds><member>ug</member></UserGroupIds>",
    ] {
        assert!(doc.contains(piece), "{piece} not in {doc}");
    }
    let engine = Output::DescribeEngineDefaultParameters(DescribeEngineDefaultParametersResult {
        engine_defaults: Some(EngineDefaults {
            cache_parameter_group_family: Some(s("redis2.8")),
            marker: None,
            parameters: Some(vec![Parameter {
                parameter_name: Some(s("maxmemory-policy")),
                is_modifiable: true,
                ..Default::default()
            }]),
            cache_node_type_specific_parameters: Some(vec![CacheNodeTypeSpecificParameter {
                parameter_name: Some(s("maxmemory")),
                cache_node_type_specific_values: Some(vec![CacheNodeTypeSpecificValue {
                    cache_node_type: Some(s("cache.t3.micro")),
                    value: Some(s("1")),
                }]),
                ..Default::default()
            }]),
        }),
    });
    let doc = api::xml::response_document(&engine, "r");
    assert!(doc.contains("<DescribeEngineDefaultParametersResult><EngineDefaults><CacheParameterGroupFamily>redis2.8</CacheParameterGroupFamily><Parameters><Parameter><ParameterName>maxmemory-policy</ParameterName><IsModifiable>true</IsModifiable></Parameter></Parameters>"), "{doc}");
    assert!(doc.contains("<CacheNodeTypeSpecificValues><CacheNodeTypeSpecificValue><CacheNodeType>cache.t3.micro</CacheNodeType><Value>1</Value></CacheNodeTypeSpecificValue></CacheNodeTypeSpecificValues>"), "{doc}");
}

#[test]
fn result_lists_are_sent_even_when_none() {
    let doc = api::xml::response_document(
        &Output::DescribeCacheClusters(CacheClusterMessage::default()),
        "r",
    );
    assert!(doc.contains("<DescribeCacheClustersResult><CacheClusters></CacheClusters></DescribeCacheClustersResult>"), "{doc}");
    let doc =
        api::xml::response_document(&Output::ListTagsForResource(TagListMessage::default()), "r");
    assert!(
        doc.contains("<ListTagsForResourceResult><TagList></TagList></ListTagsForResourceResult>"),
        "{doc}"
    );
    // Nested lists stay optional: CacheNodes only with ShowCacheNodeInfo.
    let cluster = CacheCluster {
        cache_cluster_id: Some(s("c")),
        ..Default::default()
    };
    let doc = api::xml::response_document(
        &Output::DescribeCacheClusters(CacheClusterMessage {
            marker: None,
            cache_clusters: Some(vec![cluster]),
        }),
        "r",
    );
    assert!(!doc.contains("CacheNodes"), "{doc}");
}
