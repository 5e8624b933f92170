//! The router end to end over real sockets: envelope, headers, faults and their statuses,
//! signature checks, and the refusal of bad input before the service sees it.

mod common;

use api::{ApiConfig, Auth};
use common::*;

#[tokio::test]
async fn describe_returns_the_result_envelope_with_request_id() {
    let server = start(strict_config()).await;
    server
        .service
        .clusters
        .lock()
        .unwrap()
        .insert("c1".into(), cluster("c1", 2));
    let resp = send(
        server.addr,
        &Req::post(
            server.addr,
            "Action=DescribeCacheClusters&Version=2015-02-02&ShowCacheNodeInfo=true",
        )
        .signed(),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("content-type"), Some("text/xml"));
    let request_id = resp.header("x-amzn-RequestId").unwrap().to_string();
    assert!(resp.body.starts_with(
        "<DescribeCacheClustersResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><DescribeCacheClustersResult><CacheClusters><CacheCluster><CacheClusterId>c1</CacheClusterId>"
    ));
    assert!(resp.body.ends_with(&format!(
        "</DescribeCacheClustersResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeCacheClustersResponse>"
    )));
    assert!(resp
        .body
        .contains("<CacheNodes><CacheNode><CacheNodeId>0001</CacheNodeId>"));
    assert!(resp
        .body
        .contains("<SecurityGroups><member><SecurityGroupId>sg-1</SecurityGroupId>"));
    assert!(resp
        .body
        .contains("<CacheClusterCreateTime>2024-05-01T12:34:56.789Z</CacheClusterCreateTime>"));
    assert!(resp
        .body
        .contains("<AutoMinorVersionUpgrade>true</AutoMinorVersionUpgrade>"));
    assert!(resp
        .body
        .contains("<CacheNodeIdsToReboot></CacheNodeIdsToReboot>"));

    let calls = server.service.calls.lock().unwrap();
    let (ctx, _) = &calls[0];
    assert_eq!(
        (
            ctx.access_key_id.as_str(),
            ctx.region.as_str(),
            ctx.account_id.as_str()
        ),
        (AKID, "us-east-1", ACCOUNT)
    );
    assert_eq!(ctx.request_id, request_id);
    assert!(ctx.source_addr.unwrap().ip().is_loopback());
}

#[tokio::test]
async fn unsigned_non_ascii_headers_are_harmless() {
    let server = start(strict_config()).await;
    let mut req = Req::post(
        server.addr,
        "Action=DeleteCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=pg",
    );
    req.headers
        .push(("User-Agent".into(), "café-client/1.0".into()));
    let resp = send(server.addr, &req.signed()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[tokio::test]
async fn service_faults_keep_code_and_status() {
    let server = start(strict_config()).await;
    let resp = send(
        server.addr,
        &Req::post(
            server.addr,
            "Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=missing",
        )
        .signed(),
    )
    .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("content-type"), Some("text/xml"));
    let request_id = resp.header("x-amzn-RequestId").unwrap();
    assert_eq!(
        resp.body,
        format!(
            "<ErrorResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><Error><Type>Sender</Type><Code>CacheClusterNotFound</Code>\
             <Message>CacheCluster not found: missing</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    );
}

#[tokio::test]
async fn operations_without_output_send_only_metadata() {
    let server = start(strict_config()).await;
    let resp = send(
        server.addr,
        &Req::post(
            server.addr,
            "Action=DeleteCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=pg",
        )
        .signed(),
    )
    .await;
    assert_eq!(resp.status, 200);
    let id = resp.header("x-amzn-RequestId").unwrap();
    assert_eq!(
        resp.body,
        format!("<DeleteCacheParameterGroupResponse xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></DeleteCacheParameterGroupResponse>")
    );
}

#[tokio::test]
async fn get_with_query_string_is_served() {
    let server = start(strict_config()).await;
    server
        .service
        .clusters
        .lock()
        .unwrap()
        .insert("c1".into(), cluster("c1", 1));
    let mut req = Req::post(server.addr, "");
    req.method = "GET";
    req.path_and_query =
        "/?Action=DescribeCacheClusters&CacheClusterId=c1&Version=2015-02-02".into();
    req.headers.retain(|(k, _)| k != "Content-Type");
    let resp = send(server.addr, &req.signed_headers_only_host()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.xml_text("CacheClusterId"), Some("c1"));
}

trait HostOnly {
    fn signed_headers_only_host(self) -> Self;
}

impl HostOnly for Req {
    fn signed_headers_only_host(self) -> Req {
        let now = api::sigv4::format_amz_date(time::OffsetDateTime::now_utc());
        self.sign(AKID, SECRET, &now, "eu-west-1", &["host", "x-amz-date"])
    }
}

/// (body, expected status, expected code): bad input is refused with the AWS fault and never
/// reaches the service.
const BAD_REQUESTS: &[(&str, u16, &str)] = &[
    ("Version=2015-02-02", 400, "MissingAction"),
    ("Action=DescribeCacheClusters", 400, "MissingParameter"),
    (
        "Action=LaunchRocket&Version=2015-02-02",
        400,
        "InvalidAction",
    ),
    (
        "Action=DescribeCacheClusters&Version=2011-01-01",
        400,
        "InvalidAction",
    ),
    (
        "Action=DescribeCacheClusters&Version=2015-02-02&MaxRecords=ten",
        400,
        "InvalidParameterValue",
    ),
    (
        "Action=DescribeCacheClusters&Version=2015-02-02&ShowCacheNodeInfo=yes",
        400,
        "InvalidParameterValue",
    ),
    (
        "Action=DescribeCacheClusters&Version=2015-02-02&Bogus=1",
        400,
        "InvalidParameterValue",
    ),
    (
        "Action=CreateCacheCluster&Version=2015-02-02",
        400,
        "MissingParameter",
    ),
    (
        "Action=CreateCacheCluster&Version=2015-02-02&CacheClusterId=a&AZMode=both-az",
        400,
        "InvalidParameterValue",
    ),
    (
        "Action=AddTagsToResource&Version=2015-02-02&ResourceName=x&Tags.member.1.Key=a",
        400,
        "InvalidParameterValue",
    ),
    (
        "Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=%zz",
        404,
        "MalformedQueryString",
    ),
    (
        "Action=DescribeCacheClusters&Version=2015-02-02&Marker=a&Marker=b",
        404,
        "MalformedQueryString",
    ),
];

#[tokio::test]
async fn bad_input_gets_the_aws_fault_and_reaches_nothing() {
    let server = start(strict_config()).await;
    for (body, status, code) in BAD_REQUESTS {
        let resp = send(server.addr, &Req::post(server.addr, body).signed()).await;
        assert_eq!(
            (resp.status, resp.xml_text("Code")),
            (*status, Some(*code)),
            "{body}: {}",
            resp.body
        );
        assert_eq!(resp.xml_text("Type"), Some("Sender"));
    }
    assert!(server.service.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn binder_builds_typed_input() {
    let server = start(strict_config()).await;
    let body = "Action=CreateCacheCluster&Version=2015-02-02&CacheClusterId=My-Redis&NumCacheNodes=3&Engine=memcached\
                &SecurityGroupIds.SecurityGroupId.2=sg-2&SecurityGroupIds.SecurityGroupId.1=sg-1\
                &Tags.Tag.1.Key=env&Tags.Tag.1.Value=a+b%26c%3Dd&AutoMinorVersionUpgrade=false&CacheSecurityGroupNames=";
    let resp = send(server.addr, &Req::post(server.addr, body).signed()).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.xml_text("CacheClusterStatus"), Some("creating"));
    let calls = server.service.calls.lock().unwrap();
    let api::Operation::CreateCacheCluster(input) = &calls[0].1 else {
        panic!()
    };
    assert_eq!(input.cache_cluster_id, "My-Redis");
    assert_eq!(input.num_cache_nodes, Some(3));
    assert_eq!(
        input.security_group_ids.as_deref(),
        Some(&["sg-1".to_string(), "sg-2".to_string()][..])
    );
    assert_eq!(input.cache_security_group_names, Some(vec![]));
    assert_eq!(input.preferred_availability_zones, None);
    assert_eq!(input.auto_minor_version_upgrade, Some(false));
    let tags = input.tags.as_ref().unwrap();
    assert_eq!(
        (tags[0].key.as_deref(), tags[0].value.as_deref()),
        (Some("env"), Some("a b&c=d"))
    );
}

#[tokio::test]
async fn output_of_another_operation_is_an_internal_failure() {
    let server = start(strict_config()).await;
    let body = "Action=RebootCacheCluster&Version=2015-02-02&CacheClusterId=c&CacheNodeIdsToReboot.CacheNodeId.1=0001";
    let resp = send(server.addr, &Req::post(server.addr, body).signed()).await;
    assert_eq!(
        (resp.status, resp.xml_text("Code"), resp.xml_text("Type")),
        (500, Some("InternalFailure"), Some("Receiver"))
    );
}

#[tokio::test]
async fn signature_failures() {
    let server = start(strict_config()).await;
    let body = "Action=DescribeCacheClusters&Version=2015-02-02";
    let now = time::OffsetDateTime::now_utc();
    let amz = |t: time::OffsetDateTime| api::sigv4::format_amz_date(t);
    let cli = ["content-type", "host", "x-amz-date"];
    let cases: Vec<(&str, Req, u16, &str)> = vec![
        (
            "no credentials",
            Req::post(server.addr, body),
            403,
            "MissingAuthenticationToken",
        ),
        (
            "wrong secret",
            Req::post(server.addr, body).sign(AKID, "not-the-secret", &amz(now), "us-east-1", &cli),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "unknown key",
            Req::post(server.addr, body).sign("AKIDUNKNOWN", SECRET, &amz(now), "us-east-1", &cli),
            403,
            "InvalidClientTokenId",
        ),
        (
            "stale date",
            Req::post(server.addr, body).sign(
                AKID,
                SECRET,
                &amz(now - time::Duration::minutes(16)),
                "us-east-1",
                &cli,
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "future date",
            Req::post(server.addr, body).sign(
                AKID,
                SECRET,
                &amz(now + time::Duration::minutes(16)),
                "us-east-1",
                &cli,
            ),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "altered body",
            {
                let mut r = Req::post(server.addr, body).signed();
                r.body =
                    b"Action=DescribeCacheClusters&Version=2015-02-02&CacheClusterId=x".to_vec();
                r
            },
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "missing signed header",
            {
                let mut r = Req::post(server.addr, body);
                r.headers
                    .push(("x-amz-user-agent".into(), "aws-sdk-rust/1.7.0".into()));
                let mut r = r.sign(
                    AKID,
                    SECRET,
                    &amz(now),
                    "us-east-1",
                    &["content-type", "host", "x-amz-date", "x-amz-user-agent"],
                );
                r.headers.retain(|(k, _)| k != "x-amz-user-agent");
                r
            },
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "garbled authorization",
            {
                let mut r = Req::post(server.addr, body);
                r.headers.push((
                    "Authorization".into(),
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x".into(),
                ));
                r.headers.push(("X-Amz-Date".into(), amz(now)));
                r
            },
            400,
            "IncompleteSignature",
        ),
        (
            "other algorithm",
            {
                let mut r = Req::post(server.addr, body);
                r.headers
                    .push(("Authorization".into(), "AWS AKIDEXAMPLE:abc".into()));
                r
            },
            400,
            "IncompleteSignature",
        ),
    ];
    for (name, req, status, code) in cases {
        let resp = send(server.addr, &req).await;
        assert_eq!(
            (resp.status, resp.xml_text("Code")),
            (status, Some(code)),
            "{name}: {}",
            resp.body
        );
    }
    assert!(server.service.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn any_key_mode_maps_a_numeric_key_to_the_account() {
    let server = start(ApiConfig::new(Auth::AnyKey, ACCOUNT)).await;
    let now = api::sigv4::format_amz_date(time::OffsetDateTime::now_utc());
    let req = Req::post(
        server.addr,
        "Action=DeleteCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=p",
    )
    .sign(
        "000000000042",
        "whatever",
        &now,
        "ap-southeast-1",
        &["host", "x-amz-date"],
    );
    let resp = send(server.addr, &req).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let req = Req::post(
        server.addr,
        "Action=DeleteCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=p",
    )
    .sign(
        "FOOBARKEY",
        "FOOBARSECRET",
        &now,
        "us-east-2",
        &["host", "x-amz-date"],
    );
    assert_eq!(send(server.addr, &req).await.status, 200);
    let calls = server.service.calls.lock().unwrap().clone();
    assert_eq!(
        (calls[0].0.account_id.as_str(), calls[0].0.region.as_str()),
        ("000000000042", "ap-southeast-1")
    );
    assert_eq!(
        (calls[1].0.account_id.as_str(), calls[1].0.region.as_str()),
        (ACCOUNT, "us-east-2")
    );
    // Credentials are still required.
    let resp = send(
        server.addr,
        &Req::post(
            server.addr,
            "Action=DescribeCacheClusters&Version=2015-02-02",
        ),
    )
    .await;
    assert_eq!(resp.xml_text("Code"), Some("MissingAuthenticationToken"));
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let mut config = strict_config();
    config.body_limit = 1024;
    let server = start(config).await;
    let body = format!(
        "Action=DescribeCacheClusters&Version=2015-02-02&Marker={}",
        "a".repeat(2000)
    );
    let resp = send(server.addr, &Req::post(server.addr, &body).signed()).await;
    assert_eq!(
        (resp.status, resp.xml_text("Code")),
        (413, Some("RequestEntityTooLarge"))
    );
}

/// The golden SigV4 vectors (botocore-signed and captured from the real CLI and Rust SDK) sent
/// byte for byte through the socket, with the server's clock set to their signing time: none is
/// refused for authentication, and each reaches the service.
#[tokio::test]
async fn golden_vectors_pass_through_the_router() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/sigv4_vectors.json")).unwrap();
    for v in doc["vectors"].as_array().unwrap() {
        let now = api::sigv4::parse_amz_date(v["now"].as_str().unwrap()).unwrap();
        let mut config = strict_config();
        config.clock = std::sync::Arc::new(move || now);
        let server = start(config).await;
        let req = Req {
            method: if v["method"] == "GET" { "GET" } else { "POST" },
            path_and_query: v["path_and_query"].as_str().unwrap().to_string(),
            headers: v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_string(),
                        h[1].as_str().unwrap().to_string(),
                    )
                })
                .filter(|(k, _)| !k.eq_ignore_ascii_case("content-length"))
                .collect(),
            body: v["body"].as_str().unwrap().as_bytes().to_vec(),
        };
        let resp = send(server.addr, &req).await;
        let name = v["name"].as_str().unwrap();
        let calls = server.service.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "{name}: {} {}", resp.status, resp.body);
        assert_eq!(calls[0].0.region, v["region"].as_str().unwrap(), "{name}");
    }
}
