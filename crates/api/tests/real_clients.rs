//! The router driven by the real clients: the aws CLI (botocore) and boto3, against the test
//! service on 127.0.0.1. They parse our XML with their own parsers, so this checks envelope,
//! list element names, timestamps, booleans, error mapping and pagination as users will see them.

mod common;

use common::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Command, Output};

fn client_env(cmd: &mut Command, secret: &str) {
    cmd.env("AWS_ACCESS_KEY_ID", AKID)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ELASTICACHE");
}

async fn aws(addr: SocketAddr, secret: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("aws");
    client_env(&mut cmd, secret);
    cmd.arg("elasticache").args(args).args([
        "--endpoint-url",
        &format!("http://{addr}"),
        "--output",
        "json",
        "--cli-read-timeout",
        "20",
    ]);
    tokio::task::spawn_blocking(move || {
        cmd.output()
            .expect("the aws CLI is installed (scripts/test-requirements.txt)")
    })
    .await
    .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_reads_our_xml() {
    let server = start(strict_config()).await;
    server
        .service
        .clusters
        .lock()
        .unwrap()
        .insert("c1".into(), cluster("c1", 3));

    let out = json(
        &aws(
            server.addr,
            SECRET,
            &["describe-cache-clusters", "--show-cache-node-info"],
        )
        .await,
    );
    let c = &out["CacheClusters"][0];
    assert_eq!(c["CacheClusterId"], "c1");
    assert_eq!(c["NumCacheNodes"], 3);
    assert_eq!(c["AutoMinorVersionUpgrade"], true);
    assert_eq!(c["CacheClusterCreateTime"], "2024-05-01T12:34:56.789Z");
    assert_eq!(c["ConfigurationEndpoint"]["Port"], 11211);
    assert_eq!(c["CacheNodes"].as_array().unwrap().len(), 3);
    assert_eq!(c["CacheNodes"][2]["CacheNodeId"], "0003");
    assert_eq!(c["CacheNodes"][2]["Endpoint"]["Address"], "127.0.0.3");
    assert_eq!(c["SecurityGroups"][0]["SecurityGroupId"], "sg-1");
    assert_eq!(
        c["CacheSecurityGroups"][0]["CacheSecurityGroupName"],
        "default"
    );
    assert_eq!(
        c["CacheParameterGroup"]["CacheNodeIdsToReboot"],
        Value::Array(vec![])
    );

    let out = aws(
        server.addr,
        SECRET,
        &["describe-cache-clusters", "--cache-cluster-id", "missing"],
    )
    .await;
    assert_eq!(out.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("An error occurred (CacheClusterNotFound) when calling the DescribeCacheClusters operation: CacheCluster not found: missing"),
        "{stderr}"
    );

    let out = json(
        &aws(
            server.addr,
            SECRET,
            &[
                "create-cache-cluster",
                "--cache-cluster-id",
                "New-One",
                "--engine",
                "memcached",
                "--num-cache-nodes",
                "2",
                "--security-group-ids",
                "sg-1",
                "sg-2",
                "--tags",
                "Key=env,Value=a b&c=d",
            ],
        )
        .await,
    );
    assert_eq!(out["CacheCluster"]["CacheClusterStatus"], "creating");
    let calls = server.service.calls.lock().unwrap().clone();
    let api::Operation::CreateCacheCluster(input) = &calls.last().unwrap().1 else {
        panic!()
    };
    assert_eq!(
        input.security_group_ids,
        Some(vec!["sg-1".to_string(), "sg-2".to_string()])
    );
    assert_eq!(
        input.tags.as_ref().unwrap()[0].value.as_deref(),
        Some("a b&c=d")
    );
    assert_eq!(input.num_cache_nodes, Some(2));

    let out = aws(server.addr, "wrong-secret", &["describe-cache-clusters"]).await;
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("(SignatureDoesNotMatch)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_auto_paginates_to_the_end() {
    let server = start(strict_config()).await;
    {
        let mut clusters = server.service.clusters.lock().unwrap();
        for i in 0..245 {
            let id = format!("c-{i:03}");
            clusters.insert(id.clone(), cluster(&id, 1));
        }
    }
    let out = json(&aws(server.addr, SECRET, &["describe-cache-clusters"]).await);
    let ids: Vec<&str> = out["CacheClusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CacheClusterId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 245);
    assert_eq!(ids[244], "c-244");
    let pages = server.service.calls.lock().unwrap().len();
    assert_eq!(pages, 3, "100 + 100 + 45");
    let out = aws(
        server.addr,
        SECRET,
        &["describe-cache-clusters", "--page-size", "10"],
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("(InvalidParameterValue)"));
}

const BOTO3_SCRIPT: &str = r#"
import json, sys, boto3, datetime
c = boto3.client("elasticache", endpoint_url=sys.argv[1], region_name="eu-west-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
out = {}
r = c.describe_cache_clusters(ShowCacheNodeInfo=True)
cl = r["CacheClusters"][0]
out["id"] = cl["CacheClusterId"]
out["nodes"] = [n["CacheNodeId"] for n in cl["CacheNodes"]]
out["created_utc"] = cl["CacheClusterCreateTime"] == datetime.datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=datetime.timezone.utc)
out["amvu"] = cl["AutoMinorVersionUpgrade"]
out["request_id"] = r["ResponseMetadata"]["RequestId"]
out["header_id"] = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
try:
    c.describe_cache_clusters(CacheClusterId="missing")
except c.exceptions.CacheClusterNotFoundFault as e:
    out["fault"] = [e.response["Error"]["Code"], e.response["Error"]["Type"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
r = c.add_tags_to_resource(ResourceName="arn:aws:elasticache:eu-west-1:123456789012:cluster:c1", Tags=[{"Key": "k", "Value": "v <&>"}])
out["tags"] = r["TagList"]
out["empty_list"] = c.describe_cache_security_groups()["CacheSecurityGroups"]
r = c.delete_cache_parameter_group(CacheParameterGroupName="pg")
out["delete_status"] = r["ResponseMetadata"]["HTTPStatusCode"]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_reads_our_xml() {
    let server = start(strict_config()).await;
    server
        .service
        .clusters
        .lock()
        .unwrap()
        .insert("c1".into(), cluster("c1", 2));
    let mut cmd = Command::new("python3");
    client_env(&mut cmd, SECRET);
    cmd.args([
        "-c",
        BOTO3_SCRIPT,
        &format!("http://{}", server.addr),
        AKID,
        SECRET,
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let v = json(&out);
    assert_eq!(v["id"], "c1");
    assert_eq!(v["nodes"], serde_json::json!(["0001", "0002"]));
    assert_eq!(v["created_utc"], true);
    assert_eq!(v["amvu"], true);
    assert_eq!(v["request_id"], v["header_id"]);
    assert_eq!(
        v["fault"],
        serde_json::json!(["CacheClusterNotFound", "Sender", 404])
    );
    assert_eq!(
        v["tags"],
        serde_json::json!([{"Key": "k", "Value": "v <&>"}])
    );
    assert_eq!(v["delete_status"], 200);
    assert_eq!(v["empty_list"], serde_json::json!([]));
    let calls = server.service.calls.lock().unwrap();
    assert!(calls.iter().all(|(ctx, _)| ctx.region == "eu-west-1"));
}
