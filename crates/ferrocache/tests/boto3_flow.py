"""A second client: boto3 against a running `ferrocache serve` (endpoint in argv[1]).

Walks the resource families the control plane serves, reads typed fields back, follows
pagination over more than 100 items and checks that faults map to boto3's exception classes.
Exits non-zero (an AssertionError or a boto3 error) on the first mismatch.
"""
import sys

import boto3
import botocore

endpoint, key, secret = sys.argv[1:4]
ec = boto3.client(
    "elasticache",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=key,
    aws_secret_access_key=secret,
)


def fails_with(exc, fn, **kw):
    try:
        fn(**kw)
    except exc as e:
        return e.response["Error"]
    raise AssertionError(f"{fn.__name__}({kw}) did not raise {exc}")


# Parameter groups: more than 100, through the paginator.
for i in range(105):
    ec.create_cache_parameter_group(
        CacheParameterGroupName=f"PG-{i:03}", CacheParameterGroupFamily="memcached1.4", Description=f"group {i}"
    )
names = [
    g["CacheParameterGroupName"]
    for page in ec.get_paginator("describe_cache_parameter_groups").paginate()
    for g in page["CacheParameterGroups"]
]
assert len(names) == 108 and len(set(names)) == 108, len(names)
assert "pg-042" in names and "default.redis2.8" in names
first = ec.describe_cache_parameter_groups(MaxRecords=20)
assert len(first["CacheParameterGroups"]) == 20 and "Marker" in first
fails_with(ec.exceptions.CacheParameterGroupAlreadyExistsFault, ec.create_cache_parameter_group,
           CacheParameterGroupName="pg-001", CacheParameterGroupFamily="memcached1.4", Description="x")
fails_with(ec.exceptions.InvalidParameterValueException, ec.describe_cache_parameter_groups, MaxRecords=101)

ec.modify_cache_parameter_group(
    CacheParameterGroupName="pg-001",
    ParameterNameValues=[{"ParameterName": "chunk_size", "ParameterValue": "64"}],
)
params = ec.describe_cache_parameters(CacheParameterGroupName="pg-001", Source="user")["Parameters"]
assert [(p["ParameterName"], p["ParameterValue"], p["ChangeType"]) for p in params] == [("chunk_size", "64", "requires-reboot")]
details = ec.describe_cache_parameters(CacheParameterGroupName="pg-001")
assert len(details["Parameters"]) == 19
mcm = [p for p in details["CacheNodeTypeSpecificParameters"] if p["ParameterName"] == "max_cache_memory"][0]
assert {v["CacheNodeType"]: v["Value"] for v in mcm["CacheNodeTypeSpecificValues"]}["cache.m3.medium"] == "2850"
err = fails_with(ec.exceptions.InvalidCacheParameterGroupStateFault, ec.modify_cache_parameter_group,
                 CacheParameterGroupName="default.memcached1.4",
                 ParameterNameValues=[{"ParameterName": "chunk_size", "ParameterValue": "64"}])
ec.reset_cache_parameter_group(CacheParameterGroupName="pg-001", ResetAllParameters=True)
assert ec.describe_cache_parameters(CacheParameterGroupName="pg-001", Source="user")["Parameters"] == []
defaults = [
    p
    for page in ec.get_paginator("describe_engine_default_parameters").paginate(
        CacheParameterGroupFamily="redis2.8", PaginationConfig={"PageSize": 20}
    )
    for p in page["EngineDefaults"]["Parameters"]
]
assert len(defaults) == 36, len(defaults)
for i in range(105):
    ec.delete_cache_parameter_group(CacheParameterGroupName=f"pg-{i:03}")
fails_with(ec.exceptions.CacheParameterGroupNotFoundFault, ec.delete_cache_parameter_group, CacheParameterGroupName="pg-000")

# Security groups.
ec.create_cache_security_group(CacheSecurityGroupName="web-tier", Description="web")
g = ec.authorize_cache_security_group_ingress(
    CacheSecurityGroupName="web-tier", EC2SecurityGroupName="app", EC2SecurityGroupOwnerId="987654321021"
)["CacheSecurityGroup"]
assert g["EC2SecurityGroups"][0]["Status"] == "authorizing"
fails_with(ec.exceptions.AuthorizationAlreadyExistsFault, ec.authorize_cache_security_group_ingress,
           CacheSecurityGroupName="web-tier", EC2SecurityGroupName="app", EC2SecurityGroupOwnerId="987654321021")
ec.revoke_cache_security_group_ingress(
    CacheSecurityGroupName="web-tier", EC2SecurityGroupName="app", EC2SecurityGroupOwnerId="987654321021"
)
fails_with(ec.exceptions.AuthorizationNotFoundFault, ec.revoke_cache_security_group_ingress,
           CacheSecurityGroupName="web-tier", EC2SecurityGroupName="app", EC2SecurityGroupOwnerId="987654321021")
groups = ec.describe_cache_security_groups()["CacheSecurityGroups"]
assert sorted(g["CacheSecurityGroupName"] for g in groups) == ["default", "web-tier"]
ec.delete_cache_security_group(CacheSecurityGroupName="web-tier")
fails_with(ec.exceptions.CacheSecurityGroupNotFoundFault, ec.describe_cache_security_groups, CacheSecurityGroupName="web-tier")

# Subnet groups.
sg = ec.create_cache_subnet_group(
    CacheSubnetGroupName="Private", CacheSubnetGroupDescription="p", SubnetIds=["subnet-53df9c3a", "subnet-0a1b2c3d"]
)["CacheSubnetGroup"]
assert sg["CacheSubnetGroupName"] == "private" and len(sg["Subnets"]) == 2
assert sg["Subnets"][0]["SubnetAvailabilityZone"]["Name"].startswith("us-east-1")
fails_with(ec.exceptions.InvalidSubnet, ec.create_cache_subnet_group,
           CacheSubnetGroupName="bad", CacheSubnetGroupDescription="b", SubnetIds=["vpc-1"])
ec.modify_cache_subnet_group(CacheSubnetGroupName="private", CacheSubnetGroupDescription="changed")
assert ec.describe_cache_subnet_groups(CacheSubnetGroupName="private")["CacheSubnetGroups"][0]["CacheSubnetGroupDescription"] == "changed"
ec.delete_cache_subnet_group(CacheSubnetGroupName="private")
fails_with(ec.exceptions.CacheSubnetGroupNotFoundFault, ec.delete_cache_subnet_group, CacheSubnetGroupName="private")

# A cluster, its tags and its events.
c = ec.create_cache_cluster(
    CacheClusterId="Boto", Engine="memcached", CacheNodeType="cache.t2.micro", NumCacheNodes=2,
    Tags=[{"Key": "team", "Value": "cache"}],
)["CacheCluster"]
assert c["CacheClusterId"] == "boto" and c["CacheClusterStatus"] == "creating"
ec.get_waiter("cache_cluster_available").wait(CacheClusterId="boto", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
c = ec.describe_cache_clusters(CacheClusterId="boto", ShowCacheNodeInfo=True)["CacheClusters"][0]
assert [n["CacheNodeStatus"] for n in c["CacheNodes"]] == ["available", "available"]
assert c["ConfigurationEndpoint"]["Port"] == 11211
arn = c["ARN"]
assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "team", "Value": "cache"}]
ec.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(9)])
fails_with(ec.exceptions.TagQuotaPerResourceExceeded, ec.add_tags_to_resource, ResourceName=arn, Tags=[{"Key": "one-more", "Value": "v"}])
assert len(ec.remove_tags_from_resource(ResourceName=arn, TagKeys=["k0"])["TagList"]) == 9
fails_with(ec.exceptions.InvalidARNFault, ec.list_tags_for_resource, ResourceName="not-an-arn")
fails_with(ec.exceptions.CacheClusterAlreadyExistsFault, ec.create_cache_cluster,
           CacheClusterId="boto", Engine="memcached", CacheNodeType="cache.t2.micro", NumCacheNodes=1)
fails_with(ec.exceptions.NodeQuotaForClusterExceededFault, ec.create_cache_cluster,
           CacheClusterId="toobig", Engine="memcached", CacheNodeType="cache.t2.micro", NumCacheNodes=21)
fails_with(ec.exceptions.InvalidParameterValueException, ec.create_cache_cluster,
           CacheClusterId="r2", Engine="redis", CacheNodeType="cache.t2.micro", NumCacheNodes=2)
events = ec.describe_events(SourceType="cache-cluster", SourceIdentifier="boto", Duration=60)["Events"]
assert any(e["Message"] == "Cache cluster created" for e in events), events
ec.delete_cache_cluster(CacheClusterId="boto")
ec.get_waiter("cache_cluster_deleted").wait(CacheClusterId="boto", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
fails_with(ec.exceptions.CacheClusterNotFoundFault, ec.describe_cache_clusters, CacheClusterId="boto")

# Reserved nodes and engine versions.
offers = [
    o
    for page in ec.get_paginator("describe_reserved_cache_nodes_offerings").paginate()
    for o in page["ReservedCacheNodesOfferings"]
]
assert len(offers) == 21 * 2 * 3 * 2, len(offers)
small = ec.describe_reserved_cache_nodes_offerings(CacheNodeType="cache.m1.small", Duration="1", ProductDescription="memcached", OfferingType="Medium Utilization")["ReservedCacheNodesOfferings"]
assert len(small) == 1 and small[0]["FixedPrice"] == 227.5 and small[0]["Duration"] == 31536000
r = ec.purchase_reserved_cache_nodes_offering(ReservedCacheNodesOfferingId=small[0]["ReservedCacheNodesOfferingId"], ReservedCacheNodeId="mine", CacheNodeCount=2)["ReservedCacheNode"]
assert (r["ReservedCacheNodeId"], r["CacheNodeCount"], r["State"]) == ("mine", 2, "payment-pending")
fails_with(ec.exceptions.ReservedCacheNodeAlreadyExistsFault, ec.purchase_reserved_cache_nodes_offering,
           ReservedCacheNodesOfferingId=small[0]["ReservedCacheNodesOfferingId"], ReservedCacheNodeId="mine")
assert [n["ReservedCacheNodeId"] for n in ec.describe_reserved_cache_nodes()["ReservedCacheNodes"]] == ["mine"]
versions = ec.describe_cache_engine_versions()["CacheEngineVersions"]
assert [(v["Engine"], v["EngineVersion"]) for v in versions] == [
    ("memcached", "1.4.5"), ("memcached", "1.4.14"), ("redis", "2.6.13"), ("redis", "2.8.6"), ("redis", "2.8.19"), ("redis", "2.8.21")
], versions

# Snapshots need a source; replication groups are not built yet: faults, never fake results.
fails_with(ec.exceptions.InvalidParameterCombinationException, ec.create_snapshot, SnapshotName="s")
fails_with(ec.exceptions.SnapshotNotFoundFault, ec.delete_snapshot, SnapshotName="s")
fails_with(ec.exceptions.ReplicationGroupNotFoundFault, ec.describe_replication_groups, ReplicationGroupId="rg")
assert ec.describe_snapshots()["Snapshots"] == []

# A wrong secret is refused.
bad = boto3.client("elasticache", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key="wrong")
try:
    bad.describe_cache_clusters()
    raise AssertionError("a wrong secret was accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "SignatureDoesNotMatch", e.response

print("boto3 flow ok")
