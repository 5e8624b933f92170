//! End to end: the real `ferrocache serve` driven by the real aws CLI, with real node
//! processes behind it (issue 4, Must show 1, 2 and 5).
//!
//! Each test has its own data dir, API port and loopback block, and cleans up every node
//! process it caused (through the pid files in the data dir) even when it fails.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{endpoint, Serve, KEY, SECRET};

/// Sends one memcached text request and reads until `terminator` ends the reply.
fn memcached(addr: &str, request: &str, terminator: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.ends_with(terminator.as_bytes()) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "{addr} closed the connection; got {:?}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(reply).unwrap()
}

/// `config get cluster` through the configuration endpoint: (version, sorted `ip:port` list).
fn discovery(addr: &str) -> (u64, Vec<String>) {
    let reply = memcached(addr, "config get cluster\r\n", "END\r\n");
    let mut lines = reply.split("\r\n");
    let header = lines.next().unwrap();
    assert!(header.starts_with("CONFIG cluster 0 "), "{reply:?}");
    let bytes: usize = header.rsplit(' ').next().unwrap().parse().unwrap();
    let body_start = header.len() + 2;
    let block = &reply[body_start..body_start + bytes];
    let mut parts = block.split('\n');
    let version = parts.next().unwrap().trim().parse().unwrap();
    let mut nodes: Vec<String> = parts
        .next()
        .unwrap()
        .split_whitespace()
        .map(|e| {
            let f: Vec<&str> = e.split('|').collect();
            format!("{}:{}", f[1], f[2])
        })
        .collect();
    nodes.sort();
    (version, nodes)
}

fn node_endpoints(cluster: &Value) -> Vec<(String, String)> {
    cluster["CacheNodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["CacheNodeId"].as_str().unwrap().to_string(),
                endpoint(&n["Endpoint"]),
            )
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// One RESP request over any stream; returns the raw first reply.
fn resp<S: Read + Write>(s: &mut S, args: &[&str]) -> String {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    match line.as_bytes()[0] {
        b'$' if !line.starts_with("$-1") => {
            let mut value = String::new();
            r.read_line(&mut value).unwrap();
            value.trim_end().to_string()
        }
        b'*' => {
            let n: usize = line[1..].trim().parse().unwrap();
            let mut items = Vec::new();
            for _ in 0..n {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                let mut v = String::new();
                r.read_line(&mut v).unwrap();
                items.push(v.trim_end().to_string());
            }
            items.join(" ")
        }
        _ => line.trim_end().to_string(),
    }
}

#[test]
fn memcached_cluster_end_to_end_with_the_aws_cli() {
    let serve = Serve::start();
    let created = serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "web",
        "--engine",
        "memcached",
        "--cache-node-type",
        "cache.m3.medium",
        "--num-cache-nodes",
        "3",
    ]);
    assert_eq!(created["CacheCluster"]["CacheClusterStatus"], "creating");

    let cluster = serve.wait_available("web");
    assert_eq!(cluster["NumCacheNodes"], 3);
    assert_eq!(
        cluster["CacheParameterGroup"]["ParameterApplyStatus"],
        "in-sync"
    );
    let nodes = node_endpoints(&cluster);
    assert_eq!(
        nodes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["0001", "0002", "0003"]
    );
    assert!(nodes
        .iter()
        .all(|(_, e)| e.starts_with("127.") && e.ends_with(":11211")));
    let config = endpoint(&cluster["ConfigurationEndpoint"]);

    // Every node stores and serves its own keys.
    for (id, addr) in &nodes {
        let key = format!("key-{id}");
        assert_eq!(
            memcached(addr, &format!("set {key} 0 0 5\r\nhello\r\n"), "\r\n"),
            "STORED\r\n"
        );
        assert_eq!(
            memcached(addr, &format!("get {key}\r\n"), "END\r\n"),
            format!("VALUE {key} 0 5\r\nhello\r\nEND\r\n")
        );
    }
    let (version, listed) = discovery(&config);
    assert_eq!(version, 1);
    assert_eq!(
        listed,
        sorted(nodes.iter().map(|(_, e)| e.clone()).collect())
    );

    // Add two nodes: two membership changes.
    serve.ok(&[
        "modify-cache-cluster",
        "--cache-cluster-id",
        "web",
        "--num-cache-nodes",
        "5",
        "--apply-immediately",
    ]);
    let cluster = serve.wait_available("web");
    let nodes = node_endpoints(&cluster);
    assert_eq!(nodes.len(), 5);
    let (version, listed) = discovery(&config);
    assert_eq!(version, 3);
    assert_eq!(
        listed,
        sorted(nodes.iter().map(|(_, e)| e.clone()).collect())
    );

    // Remove one.
    serve.ok(&[
        "modify-cache-cluster",
        "--cache-cluster-id",
        "web",
        "--num-cache-nodes",
        "4",
        "--cache-node-ids-to-remove",
        "0002",
        "--apply-immediately",
    ]);
    let cluster = serve.wait_available("web");
    let nodes = node_endpoints(&cluster);
    assert_eq!(
        nodes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["0001", "0003", "0004", "0005"]
    );
    let (version, listed) = discovery(&config);
    assert_eq!(version, 4);
    assert_eq!(
        listed,
        sorted(nodes.iter().map(|(_, e)| e.clone()).collect())
    );

    // Reboot 0001: same endpoint, data cleared; 0003 keeps its key.
    let node1 = nodes[0].1.clone();
    serve.ok(&[
        "reboot-cache-cluster",
        "--cache-cluster-id",
        "web",
        "--cache-node-ids-to-reboot",
        "0001",
    ]);
    serve.wait_available("web");
    assert_eq!(memcached(&node1, "get key-0001\r\n", "END\r\n"), "END\r\n");
    assert_eq!(
        memcached(&nodes[1].1, "get key-0003\r\n", "END\r\n"),
        "VALUE key-0003 0 5\r\nhello\r\nEND\r\n"
    );
    let events = serve.ok(&[
        "describe-events",
        "--source-type",
        "cache-cluster",
        "--source-identifier",
        "web",
    ]);
    let messages: Vec<&str> = events["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Message"].as_str().unwrap())
        .collect();
    assert!(messages.contains(&"Cache cluster created"), "{messages:?}");
    assert!(
        messages.contains(&"Cache node 0001 restarted"),
        "{messages:?}"
    );

    serve.ok(&["delete-cache-cluster", "--cache-cluster-id", "web"]);
    serve.ok(&["wait", "cache-cluster-deleted", "--cache-cluster-id", "web"]);
    assert!(serve
        .aws(&["describe-cache-clusters", "--cache-cluster-id", "web"])
        .unwrap_err()
        .contains("CacheClusterNotFound"));
    for (_, addr) in &nodes {
        assert!(
            TcpStream::connect(addr).is_err(),
            "{addr} still answers after delete"
        );
    }
}

#[test]
fn redis_parameter_group_change_reaches_the_running_node() {
    let serve = Serve::start();
    serve.ok(&[
        "create-cache-parameter-group",
        "--cache-parameter-group-name",
        "Cache-Params",
        "--cache-parameter-group-family",
        "redis2.8",
        "--description",
        "e2e",
    ]);
    serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "kv",
        "--engine",
        "redis",
        "--cache-node-type",
        "cache.t2.micro",
        "--num-cache-nodes",
        "1",
        "--cache-parameter-group-name",
        "cache-params",
    ]);
    let cluster = serve.wait_available("kv");
    let addr = endpoint(&cluster["CacheNodes"][0]["Endpoint"]);
    assert!(addr.ends_with(":6379"));
    let mut client = TcpStream::connect(&addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(resp(&mut client, &["SET", "a", "hello"]), "+OK");
    assert_eq!(resp(&mut client, &["GET", "a"]), "hello");
    assert!(
        resp(&mut client, &["CONFIG", "GET", "maxmemory-policy"]).starts_with('-'),
        "CONFIG is refused to clients"
    );

    let control = serve.control_socket("kv", "0001");
    let policy = |s: &Path| {
        let mut c = UnixStream::connect(s).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        resp(&mut c, &["CONFIG", "GET", "maxmemory-policy"])
    };
    assert_eq!(policy(&control), "maxmemory-policy volatile-lru");
    serve.ok(&[
        "modify-cache-parameter-group",
        "--cache-parameter-group-name",
        "cache-params",
        "--parameter-name-values",
        "ParameterName=maxmemory-policy,ParameterValue=allkeys-lru",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while policy(&control) != "maxmemory-policy allkeys-lru" {
        assert!(
            Instant::now() < deadline,
            "the running node never got allkeys-lru"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while serve.cluster("kv")["CacheParameterGroup"]["ParameterApplyStatus"] != "in-sync" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
    // The data survived: an immediate parameter needs no restart.
    assert_eq!(resp(&mut client, &["GET", "a"]), "hello");
    let bad = serve
        .aws(&[
            "modify-cache-parameter-group",
            "--cache-parameter-group-name",
            "cache-params",
            "--parameter-name-values",
            "ParameterName=maxmemory-policy,ParameterValue=sometimes",
        ])
        .unwrap_err();
    assert!(bad.contains("InvalidParameterValue"), "{bad}");

    serve.ok(&["delete-cache-cluster", "--cache-cluster-id", "kv"]);
    serve.ok(&["wait", "cache-cluster-deleted", "--cache-cluster-id", "kv"]);
    serve.ok(&[
        "delete-cache-parameter-group",
        "--cache-parameter-group-name",
        "cache-params",
    ]);
}

#[test]
fn a_crashed_serve_finds_its_clusters_again() {
    let mut serve = Serve::start();
    serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "steady",
        "--engine",
        "memcached",
        "--cache-node-type",
        "cache.t2.micro",
        "--num-cache-nodes",
        "2",
    ]);
    let before = serve.wait_available("steady");
    let steady_nodes = node_endpoints(&before);
    let pids_before = sorted(serve.node_pids().iter().map(|p| p.to_string()).collect());
    assert_eq!(pids_before.len(), 2);
    memcached(&steady_nodes[0].1, "set survivor 0 0 3\r\nyes\r\n", "\r\n");

    // Crash while another cluster is being created.
    serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "fresh",
        "--engine",
        "redis",
        "--cache-node-type",
        "cache.t2.micro",
        "--num-cache-nodes",
        "1",
    ]);
    serve.crash();
    serve.launch();

    let after = serve.wait_available("steady");
    let fresh = serve.wait_available("fresh");
    assert_eq!(
        node_endpoints(&after),
        steady_nodes,
        "same endpoints after the restart"
    );
    assert_eq!(
        endpoint(&after["ConfigurationEndpoint"]),
        endpoint(&before["ConfigurationEndpoint"])
    );
    // The running nodes were found again, not replaced: same processes, same data.
    assert_eq!(
        memcached(&steady_nodes[0].1, "get survivor\r\n", "END\r\n"),
        "VALUE survivor 0 3\r\nyes\r\nEND\r\n"
    );
    let pids_after = serve.node_pids();
    assert_eq!(
        pids_after.len(),
        3,
        "2 memcached nodes and 1 redis node, no duplicates"
    );
    for p in &pids_before {
        assert!(
            pids_after.iter().any(|q| q.to_string() == *p),
            "node process {p} was replaced"
        );
    }
    let all = serve.ok(&["describe-cache-clusters"]);
    let ids: Vec<&str> = all["CacheClusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CacheClusterId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fresh", "steady"]);
    assert_eq!(fresh["CacheNodes"].as_array().unwrap().len(), 1);
    let mut c = TcpStream::connect(endpoint(&fresh["CacheNodes"][0]["Endpoint"])).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(resp(&mut c, &["PING"]), "+PONG");

    for id in ["steady", "fresh"] {
        serve.ok(&["delete-cache-cluster", "--cache-cluster-id", id]);
        serve.ok(&["wait", "cache-cluster-deleted", "--cache-cluster-id", id]);
    }
    assert!(serve.node_pids().is_empty());
}

#[test]
fn killed_nodes_are_replaced_at_the_same_endpoint() {
    let serve = Serve::start();
    serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "mc",
        "--engine",
        "memcached",
        "--cache-node-type",
        "cache.t2.micro",
        "--num-cache-nodes",
        "1",
    ]);
    let cluster = serve.wait_available("mc");
    let addr = endpoint(&cluster["CacheNodes"][0]["Endpoint"]);
    let pid = serve.node_pids()[0];
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = serve.ok(&[
            "describe-events",
            "--source-identifier",
            "mc",
            "--source-type",
            "cache-cluster",
        ]);
        if events["Events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["Message"] == "Finished recovery for cache nodes 0001.")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed node was never replaced"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_ne!(serve.node_pids()[0], pid);
    assert_eq!(
        memcached(&addr, "version\r\n", "\r\n").split(' ').next(),
        Some("VERSION")
    );
    serve.ok(&["delete-cache-cluster", "--cache-cluster-id", "mc"]);
    serve.ok(&["wait", "cache-cluster-deleted", "--cache-cluster-id", "mc"]);
}

#[test]
fn boto3_walks_every_resource_family() {
    let serve = Serve::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/boto3_flow.py");
    let out = Command::new("python3")
        .arg(script)
        .args([&format!("http://127.0.0.1:{}", serve.port), KEY, SECRET])
        .env("HOME", serve.home.path())
        .env("AWS_CONFIG_FILE", serve.home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            serve.home.path().join("credentials"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 flow failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("boto3 flow ok"));
}

#[test]
fn credentials_are_generated_once_saved_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = || {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocache"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&data)
            .env_remove("FERROCACHE_ACCESS_KEY_ID")
            .env_remove("FERROCACHE_SECRET_ACCESS_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    };
    let first = start();
    let saved = std::fs::read_to_string(data.join("credentials")).unwrap();
    let id = saved
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id="))
        .unwrap();
    let secret = saved
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key="))
        .unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(secret.len(), 40);
    assert!(
        first.contains(&format!("AWS_ACCESS_KEY_ID={id}")) && first.contains(secret),
        "{first}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("credentials"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // A second serve on the same data dir is refused while the first runs.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut holder = Command::new(env!("CARGO_BIN_EXE_ferrocache"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    let other = Command::new(env!("CARGO_BIN_EXE_ferrocache"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("another `ferrocache serve` is using"));
    let second = start();
    assert!(!second.contains(secret), "the secret is printed only once");
    assert_eq!(
        std::fs::read_to_string(data.join("credentials")).unwrap(),
        saved
    );
}
