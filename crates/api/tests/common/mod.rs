//! Test support: a small in-memory service behind the real router on 127.0.0.1:0, and a raw
//! HTTP/1.1 client with its own SigV4 signer (written from the AWS spec, independent of the
//! crate's verifier).
#![allow(dead_code)]

use api::model::*;
use api::{
    ApiConfig, Auth, BoxFuture, ElastiCacheService, Fault, FaultCode, Operation, Output,
    RequestContext,
};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const ACCOUNT: &str = "123456789012";

/// A test-only service: cache clusters in a map, enough to exercise lists, nested structures,
/// timestamps, booleans, faults and pagination through real clients. It records every call.
#[derive(Default)]
pub struct TestService {
    pub clusters: Mutex<BTreeMap<String, CacheCluster>>,
    pub calls: Mutex<Vec<(RequestContext, Operation)>>,
}

pub fn cluster(id: &str, nodes: usize) -> CacheCluster {
    let created = time::macros::datetime!(2024-05-01 12:34:56.789 UTC);
    CacheCluster {
        cache_cluster_id: Some(id.to_string()),
        cache_node_type: Some("cache.t3.micro".into()),
        engine: Some("memcached".into()),
        engine_version: Some("1.4.14".into()),
        cache_cluster_status: Some("available".into()),
        num_cache_nodes: Some(nodes as i32),
        preferred_availability_zone: Some("us-east-1a".into()),
        cache_cluster_create_time: Some(created),
        configuration_endpoint: Some(Endpoint {
            address: Some(format!("{id}.cfg.local")),
            port: 11211,
        }),
        cache_security_groups: Some(vec![CacheSecurityGroupMembership {
            cache_security_group_name: Some("default".into()),
            status: Some("active".into()),
        }]),
        security_groups: Some(vec![SecurityGroupMembership {
            security_group_id: Some("sg-1".into()),
            status: Some("active".into()),
        }]),
        cache_parameter_group: Some(CacheParameterGroupStatus {
            cache_parameter_group_name: Some("default.memcached1.4".into()),
            parameter_apply_status: Some("in-sync".into()),
            cache_node_ids_to_reboot: Some(vec![]),
        }),
        cache_nodes: Some(
            (1..=nodes)
                .map(|i| CacheNode {
                    cache_node_id: Some(format!("{i:04}")),
                    cache_node_status: Some("available".into()),
                    cache_node_create_time: Some(created),
                    endpoint: Some(Endpoint {
                        address: Some(format!("127.0.0.{i}")),
                        port: 11211,
                    }),
                    parameter_group_status: Some("in-sync".into()),
                    customer_availability_zone: Some("us-east-1a".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        auto_minor_version_upgrade: true,
        arn: Some(format!(
            "arn:aws:elasticache:us-east-1:{ACCOUNT}:cluster:{id}"
        )),
        ..Default::default()
    }
}

impl ElastiCacheService for TestService {
    fn call(&self, ctx: RequestContext, op: Operation) -> BoxFuture<Result<Output, Fault>> {
        self.calls.lock().unwrap().push((ctx, op.clone()));
        let result = match op {
            Operation::DescribeCacheClusters(input) => {
                let clusters = self.clusters.lock().unwrap();
                match input.cache_cluster_id {
                    Some(id) => match clusters.get(&id) {
                        Some(c) => Ok(Output::DescribeCacheClusters(CacheClusterMessage {
                            marker: None,
                            cache_clusters: Some(vec![c.clone()]),
                        })),
                        None => Err(Fault::new(
                            FaultCode::CacheClusterNotFoundFault,
                            format!("CacheCluster not found: {id}"),
                        )),
                    },
                    None => api::Page::from_request(
                        input.marker.as_deref(),
                        input.max_records,
                        api::Page::DEFAULT_LIMITS,
                    )
                    .map(|page| {
                        let all: Vec<CacheCluster> = clusters.values().cloned().collect();
                        let (items, marker) =
                            page.take(all, |c| c.cache_cluster_id.clone().unwrap());
                        Output::DescribeCacheClusters(CacheClusterMessage {
                            marker,
                            cache_clusters: Some(items),
                        })
                    }),
                }
            }
            Operation::CreateCacheCluster(input) => {
                let id = input.cache_cluster_id.to_lowercase();
                match self.clusters.lock().unwrap().entry(id.clone()) {
                    std::collections::btree_map::Entry::Occupied(_) => Err(Fault::new(
                        FaultCode::CacheClusterAlreadyExistsFault,
                        format!("Cache cluster {id} already exists."),
                    )),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let mut c = cluster(&id, input.num_cache_nodes.unwrap_or(1) as usize);
                        c.cache_cluster_status = Some("creating".into());
                        c.cache_nodes = None;
                        slot.insert(c.clone());
                        Ok(Output::CreateCacheCluster(CreateCacheClusterResult {
                            cache_cluster: Some(c),
                        }))
                    }
                }
            }
            Operation::AddTagsToResource(input) => Ok(Output::AddTagsToResource(TagListMessage {
                tag_list: Some(input.tags),
            })),
            Operation::DeleteCacheParameterGroup(_) => Ok(Output::DeleteCacheParameterGroup),
            // A result list left `None`: still sent, empty.
            Operation::DescribeCacheSecurityGroups(_) => Ok(Output::DescribeCacheSecurityGroups(
                CacheSecurityGroupMessage::default(),
            )),
            // Deliberately wrong: the router must refuse an output of another operation.
            Operation::RebootCacheCluster(_) => Ok(Output::DeleteCacheSubnetGroup),
            other => Err(Fault::new(
                FaultCode::InvalidParameterCombinationException,
                format!("{} is not in the test service", other.action()),
            )),
        };
        Box::pin(async move { result })
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub service: Arc<TestService>,
}

/// Starts the router with the test service on 127.0.0.1:0.
pub async fn start(config: ApiConfig) -> Server {
    let service = Arc::new(TestService::default());
    let app = api::router(service.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server { addr, service }
}

pub fn strict_config() -> ApiConfig {
    ApiConfig::new(Auth::keys([(AKID, SECRET)]), ACCOUNT)
}

/// A request before signing.
#[derive(Clone)]
pub struct Req {
    pub method: &'static str,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn post(addr: SocketAddr, body: &str) -> Req {
        Req {
            method: "POST",
            path_and_query: "/".into(),
            headers: vec![
                ("Host".into(), addr.to_string()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                ),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Signs with header auth, listing `signed` (lowercase names) in SignedHeaders.
    pub fn sign(
        mut self,
        akid: &str,
        secret: &str,
        amz_date: &str,
        region: &str,
        signed: &[&str],
    ) -> Req {
        self.headers.push(("X-Amz-Date".into(), amz_date.into()));
        let (path, query) = self
            .path_and_query
            .split_once('?')
            .unwrap_or((&self.path_and_query, ""));
        let mut q: Vec<&str> = query.split('&').filter(|s| !s.is_empty()).collect();
        q.sort();
        let mut canonical = format!("{}\n{}\n{}\n", self.method, path, q.join("&"));
        for name in signed {
            let v = self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
            canonical.push_str(&format!("{name}:{v}\n"));
        }
        canonical.push_str(&format!(
            "\n{}\n{}",
            signed.join(";"),
            hex::encode(Sha256::digest(&self.body))
        ));
        let date = &amz_date[..8];
        let scope = format!("{date}/{region}/elasticache/aws4_request");
        let sts = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut key = format!("AWS4{secret}").into_bytes();
        for part in [date, region, "elasticache", "aws4_request"] {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(part.as_bytes());
            key = mac.finalize().into_bytes().to_vec();
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(sts.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        self.headers.push((
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders={}, Signature={sig}",
                signed.join(";")
            ),
        ));
        self
    }

    /// Signs now with the test key, the CLI's header set.
    pub fn signed(self) -> Req {
        let now = api::sigv4::format_amz_date(time::OffsetDateTime::now_utc());
        self.sign(
            AKID,
            SECRET,
            &now,
            "us-east-1",
            &["content-type", "host", "x-amz-date"],
        )
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first `<tag>…</tag>`.
    pub fn xml_text(&self, tag: &str) -> Option<&str> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let end = self.body[start..].find(&format!("</{tag}>"))?;
        Some(&self.body[start..start + end])
    }
}

/// Sends `req` over a fresh connection and reads the whole response.
pub async fn send(addr: SocketAddr, req: &Req) -> Resp {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path_and_query);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&req.body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}
