//! End to end (issue 5): snapshots through the real aws CLI against `ferrocache serve`, with
//! real node processes and data written and compared over RESP.
//!
//! - manual snapshot, copy, restore into a new cluster (node type overridden), every key, value
//!   and TTL compared; the stored file passes redis-check-rdb; delete with a final snapshot,
//!   restored too;
//! - the 21st manual snapshot of a cluster in 24 hours is refused;
//! - a dump.rdb written by redis-server 7.0 seeds a cluster through SnapshotArns
//!   (`arn:aws:s3:::bucket/key` = `<data>/buckets/bucket/key`); a truncated one and a missing
//!   one give `restore-failed` and the event;
//! - automatic snapshots in the snapshot window and their retention, with `serve` on a clock
//!   the test moves (`--clock-file`); automatic ones go with their cluster, manual ones stay;
//! - a full disk (a small tmpfs mounted over the snapshot store) fails a snapshot with
//!   SnapshotFailed, leaves no partial file, and the node keeps serving.

mod common;

use common::{endpoint, Serve};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A RESP reply, binary-safe.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// A RESP2 client on one connection.
struct Client {
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client {
            r: BufReader::new(s),
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> Reply {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.r.get_mut().write_all(&req).unwrap();
        self.read()
    }

    fn cmd(&mut self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let reply = self.call(&args);
        assert!(!matches!(reply, Reply::Error(_)), "{args:?}: {reply:?}");
        reply
    }

    fn read(&mut self) -> Reply {
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let (kind, rest) = line.trim_end().split_at(1);
        match kind {
            "+" => Reply::Simple(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut body = vec![0; n as usize + 2];
                self.r.read_exact(&mut body).unwrap();
                body.truncate(n as usize);
                Reply::Bulk(Some(body))
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read()).collect()))
            }
            _ => panic!("unexpected reply line {line:?}"),
        }
    }

    fn items(&mut self, args: &[&str]) -> Vec<Vec<u8>> {
        match self.cmd(args) {
            Reply::Array(Some(items)) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(Some(b)) => b,
                    other => panic!("{args:?}: {other:?}"),
                })
                .collect(),
            other => panic!("{args:?}: {other:?}"),
        }
    }
}

/// Writes a data set covering every type, small and large encodings, binary values, TTLs and
/// a second database.
fn load(addr: &str) {
    let mut c = Client::connect(addr);
    for i in 0..300 {
        c.cmd(&["SET", &format!("s:{i}"), &format!("value-{i}")]);
    }
    c.cmd(&["SET", "int", "12345"]);
    c.call(&[b"SET", b"binary", &[0u8, 1, 2, 255, 254, b'\r', b'\n']]);
    c.cmd(&["SET", "big", &"x".repeat(100_000)]);
    for i in 0..5 {
        c.cmd(&["HSET", "h:small", &format!("f{i}"), &format!("v{i}")]);
        c.cmd(&["RPUSH", "l:small", &format!("e{i}")]);
        c.cmd(&["SADD", "set:int", &i.to_string()]);
        c.cmd(&["SADD", "set:str", &format!("m{i}")]);
        c.cmd(&["ZADD", "z:small", &format!("{i}.5"), &format!("z{i}")]);
    }
    for i in 0..700 {
        c.cmd(&["HSET", "h:big", &format!("field-{i}"), &"v".repeat(i % 90)]);
        c.cmd(&["RPUSH", "l:big", &format!("element-{i}")]);
        c.cmd(&["SADD", "set:big", &format!("member-{i}")]);
        c.cmd(&[
            "ZADD",
            "z:big",
            &(i as f64 / 7.0).to_string(),
            &format!("zm-{i}"),
        ]);
    }
    for i in 0..20 {
        c.cmd(&["SET", &format!("ttl:{i}"), "expires", "EX", "36000"]);
    }
    // A stream spanning several nodes, with a consumer group and pending entries.
    for i in 0..300 {
        c.cmd(&[
            "XADD",
            "stream",
            &format!("{}-1", 1000 + i),
            "n",
            &i.to_string(),
        ]);
    }
    c.cmd(&["XDEL", "stream", "1010-1"]);
    c.cmd(&["XGROUP", "CREATE", "stream", "g", "0"]);
    c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "25",
        "STREAMS",
        "stream",
        ">",
    ]);
    c.cmd(&["XACK", "stream", "g", "1003-1"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", "in-db-3", "yes"]);
    c.cmd(&["HSET", "h:db3", "a", "1"]);
}

/// Everything in databases 0–15: (db, key) → (type, canonical value, has a TTL).
type Dump = BTreeMap<(u8, Vec<u8>), (String, Vec<Vec<u8>>, bool)>;

fn dump(addr: &str) -> Dump {
    let mut c = Client::connect(addr);
    let mut out = Dump::new();
    for db in 0..16u8 {
        c.cmd(&["SELECT", &db.to_string()]);
        for key in c.items(&["KEYS", "*"]) {
            let k = String::from_utf8_lossy(&key).into_owned();
            let kind = match c.cmd(&["TYPE", &k]) {
                Reply::Simple(t) => t,
                other => panic!("TYPE {k}: {other:?}"),
            };
            let mut value = match kind.as_str() {
                "string" => match c.call(&[b"GET", &key]) {
                    Reply::Bulk(Some(v)) => vec![v],
                    other => panic!("GET {k}: {other:?}"),
                },
                "hash" => c
                    .items(&["HGETALL", &k])
                    .chunks(2)
                    .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                    .collect(),
                "list" => c.items(&["LRANGE", &k, "0", "-1"]),
                "set" => c.items(&["SMEMBERS", &k]),
                "zset" => c.items(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
                // Everything but the node counts, which describe the server's memory layout.
                "stream" => match c.cmd(&["XINFO", "STREAM", &k, "FULL", "COUNT", "0"]) {
                    Reply::Array(Some(v)) => v
                        .chunks(2)
                        .filter(|p| !matches!(&p[0], Reply::Bulk(Some(n)) if n.starts_with(b"radix-tree")))
                        .map(|p| format!("{p:?}").into_bytes())
                        .collect(),
                    other => panic!("XINFO STREAM {k}: {other:?}"),
                },
                other => panic!("unexpected type {other} of {k}"),
            };
            if kind == "hash" || kind == "set" {
                value.sort();
            }
            let ttl = match c.cmd(&["TTL", &k]) {
                Reply::Int(t) => t > 0,
                other => panic!("TTL {k}: {other:?}"),
            };
            out.insert((db, key), (kind, value, ttl));
        }
    }
    out
}

fn assert_same(expected: &Dump, actual: &Dump) {
    assert_eq!(expected.len(), actual.len(), "key counts differ");
    for (k, v) in expected {
        assert_eq!(
            actual.get(k),
            Some(v),
            "key {:?} in db {}",
            String::from_utf8_lossy(&k.1),
            k.0
        );
    }
}

fn snapshot(serve: &Serve, name: &str) -> Result<Value, String> {
    serve
        .aws(&["describe-snapshots", "--snapshot-name", name])
        .map(|v| v["Snapshots"][0].clone())
}

fn wait_snapshot(serve: &Serve, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = snapshot(serve, name).unwrap();
        match s["SnapshotStatus"].as_str().unwrap() {
            "available" => return s,
            "creating" => {}
            other => panic!("snapshot {name} is {other}: {s}"),
        }
        assert!(
            Instant::now() < deadline,
            "snapshot {name} never became available"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_status(serve: &Serve, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = serve.cluster(id);
        if c["CacheClusterStatus"] == status {
            return c;
        }
        assert!(Instant::now() < deadline, "{id} never became {status}: {c}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_gone(serve: &Serve, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while serve
        .aws(&["describe-cache-clusters", "--cache-cluster-id", id])
        .is_ok()
    {
        assert!(Instant::now() < deadline, "{id} was never deleted");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn redis_endpoint(cluster: &Value) -> String {
    endpoint(&cluster["CacheNodes"][0]["Endpoint"])
}

fn create_redis(serve: &Serve, id: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "create-cache-cluster",
        "--cache-cluster-id",
        id,
        "--engine",
        "redis",
        "--num-cache-nodes",
        "1",
    ];
    if !extra.contains(&"--cache-node-type") {
        args.extend(["--cache-node-type", "cache.m3.medium"]);
    }
    args.extend(extra);
    serve.ok(&args)["CacheCluster"].clone()
}

fn event_messages(serve: &Serve, id: &str) -> Vec<String> {
    serve.ok(&[
        "describe-events",
        "--source-type",
        "cache-cluster",
        "--source-identifier",
        id,
    ])["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Message"].as_str().unwrap().to_string())
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["Snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["SnapshotName"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn snapshot_copy_restore_and_final_snapshot_with_the_aws_cli() {
    let serve = Serve::start();
    create_redis(&serve, "src", &["--tags", "Key=team,Value=blue"]);
    let src = serve.wait_available("src");
    let src_addr = redis_endpoint(&src);
    load(&src_addr);
    let expected = dump(&src_addr);
    assert_eq!(expected.len(), 300 + 3 + 9 + 1 + 20 + 2);

    let created = serve.ok(&[
        "create-snapshot",
        "--cache-cluster-id",
        "src",
        "--snapshot-name",
        "manual1",
    ])["Snapshot"]
        .clone();
    assert_eq!(created["SnapshotStatus"], "creating");
    assert_eq!(created["SnapshotSource"], "manual");
    let busy = serve.aws(&[
        "create-snapshot",
        "--cache-cluster-id",
        "src",
        "--snapshot-name",
        "manual2",
    ]);
    if let Err(e) = busy {
        // Refused only because the first one still runs.
        assert!(e.contains("InvalidCacheClusterState"), "{e}");
    } else {
        wait_snapshot(&serve, "manual2");
    }
    let s = wait_snapshot(&serve, "manual1");
    assert_eq!(s["CacheClusterId"], "src");
    assert_eq!(s["Engine"], "redis");
    assert_eq!(s["CacheNodeType"], "cache.m3.medium");
    assert_eq!(s["NodeSnapshots"][0]["CacheNodeId"], "0001");
    assert!(s["NodeSnapshots"][0]
        .get("NodeGroupConfiguration")
        .is_none());
    let with_config = serve.ok(&[
        "describe-snapshots",
        "--snapshot-name",
        "manual1",
        "--show-node-group-config",
    ]);
    assert_eq!(
        with_config["Snapshots"][0]["NodeSnapshots"][0]["NodeGroupConfiguration"]["NodeGroupId"],
        "0001"
    );
    assert_eq!(serve.cluster("src")["CacheClusterStatus"], "available");
    assert!(event_messages(&serve, "src")
        .iter()
        .any(|m| m.contains("Snapshot succeeded for snapshot with ID 'manual1'")));

    // Written after the snapshot: not in it.
    Client::connect(&src_addr).cmd(&["SET", "after-snapshot", "1"]);

    serve.ok(&[
        "copy-snapshot",
        "--source-snapshot-name",
        "manual1",
        "--target-snapshot-name",
        "copy1",
    ]);
    let copy = wait_snapshot(&serve, "copy1");
    assert_eq!(copy["SnapshotSource"], "manual");
    let tags = serve.ok(&[
        "list-tags-for-resource",
        "--resource-name",
        copy["ARN"].as_str().unwrap(),
    ]);
    assert_eq!(tags["TagList"][0]["Key"], "team");
    // The stored file is a real RDB: redis-server's own checker accepts it.
    let stored = serve.data.join("snapshots").join("copy1.rdb");
    let check = Command::new("redis-check-rdb")
        .arg(&stored)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "redis-check-rdb {}: {}",
        stored.display(),
        String::from_utf8_lossy(&check.stdout)
    );
    let dup = serve
        .aws(&[
            "copy-snapshot",
            "--source-snapshot-name",
            "manual1",
            "--target-snapshot-name",
            "copy1",
        ])
        .unwrap_err();
    assert!(dup.contains("SnapshotAlreadyExistsFault"), "{dup}");

    // Restore the copy into a new cluster on a bigger node type.
    let restoring = serve.ok(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "restored",
        "--snapshot-name",
        "copy1",
        "--cache-node-type",
        "cache.m3.large",
    ])["CacheCluster"]
        .clone();
    assert_eq!(restoring["CacheClusterStatus"], "creating");
    let restored = serve.wait_available("restored");
    assert_eq!(restored["CacheNodeType"], "cache.m3.large");
    assert_eq!(restored["Engine"], "redis");
    assert_same(&expected, &dump(&redis_endpoint(&restored)));
    let tags = serve.ok(&[
        "list-tags-for-resource",
        "--resource-name",
        restored["ARN"].as_str().unwrap(),
    ]);
    assert_eq!(tags["TagList"][0]["Value"], "blue");

    // Delete the source with a final snapshot; it holds the data written after manual1.
    let deleting = serve.ok(&[
        "delete-cache-cluster",
        "--cache-cluster-id",
        "src",
        "--final-snapshot-identifier",
        "src-final",
    ]);
    assert_eq!(deleting["CacheCluster"]["CacheClusterStatus"], "deleting");
    wait_snapshot(&serve, "src-final");
    wait_gone(&serve, "src");
    create_redis(&serve, "fromfinal", &["--snapshot-name", "src-final"]);
    let fromfinal = serve.wait_available("fromfinal");
    let mut expected_final = expected.clone();
    expected_final.insert(
        (0, b"after-snapshot".to_vec()),
        ("string".into(), vec![b"1".to_vec()], false),
    );
    assert_same(&expected_final, &dump(&redis_endpoint(&fromfinal)));

    // Manual snapshots outlive their cluster.
    let user = serve.ok(&["describe-snapshots", "--snapshot-source", "user"]);
    let mut all = names(&user);
    all.retain(|n| n != "manual2");
    assert_eq!(all, ["copy1", "manual1", "src-final"]);
    assert!(names(&serve.ok(&["describe-snapshots", "--snapshot-source", "system"])).is_empty());
    let by_cluster = serve.ok(&["describe-snapshots", "--cache-cluster-id", "src"]);
    assert!(names(&by_cluster).contains(&"src-final".to_string()));

    // Delete: the snapshot is gone, restoring from it is refused.
    let deleted = serve.ok(&["delete-snapshot", "--snapshot-name", "manual1"]);
    assert_eq!(deleted["Snapshot"]["SnapshotStatus"], "deleting");
    assert!(snapshot(&serve, "manual1")
        .unwrap_err()
        .contains("SnapshotNotFoundFault"));
    let e = serve
        .aws(&[
            "create-cache-cluster",
            "--cache-cluster-id",
            "again",
            "--snapshot-name",
            "manual1",
        ])
        .unwrap_err();
    assert!(e.contains("SnapshotNotFoundFault"), "{e}");
    // Its file goes with it (the worker removes files no record names).
    let file = serve.data.join("snapshots").join("manual1.rdb");
    let deadline = Instant::now() + Duration::from_secs(10);
    while file.exists() {
        assert!(
            Instant::now() < deadline,
            "{} was not removed",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(serve.data.join("snapshots").join("copy1.rdb").exists());
}

#[test]
fn the_21st_manual_snapshot_in_a_day_is_refused() {
    let serve = Serve::start();
    create_redis(&serve, "q", &[]);
    let c = serve.wait_available("q");
    Client::connect(&redis_endpoint(&c)).cmd(&["SET", "k", "v"]);
    for i in 0..20 {
        let name = format!("q-{i}");
        serve.ok(&[
            "create-snapshot",
            "--cache-cluster-id",
            "q",
            "--snapshot-name",
            &name,
        ]);
        wait_snapshot(&serve, &name);
        wait_status(&serve, "q", "available");
    }
    let e = serve
        .aws(&[
            "create-snapshot",
            "--cache-cluster-id",
            "q",
            "--snapshot-name",
            "q-20",
        ])
        .unwrap_err();
    assert!(e.contains("SnapshotQuotaExceededFault"), "{e}");
    // Deleting one does not give the quota back.
    serve.ok(&["delete-snapshot", "--snapshot-name", "q-0"]);
    let e = serve
        .aws(&[
            "create-snapshot",
            "--cache-cluster-id",
            "q",
            "--snapshot-name",
            "q-20",
        ])
        .unwrap_err();
    assert!(e.contains("SnapshotQuotaExceededFault"), "{e}");
    // Pages of DescribeSnapshots hold 20 to 50.
    let e = serve
        .aws(&["describe-snapshots", "--max-records", "19"])
        .unwrap_err();
    assert!(e.contains("InvalidParameterValue"), "{e}");
    let all = serve.ok(&[
        "describe-snapshots",
        "--cache-cluster-id",
        "q",
        "--page-size",
        "20",
    ]);
    assert_eq!(names(&all).len(), 19);
    // Node types without snapshots.
    create_redis(&serve, "tiny", &["--cache-node-type", "cache.t2.micro"]);
    serve.wait_available("tiny");
    let e = serve
        .aws(&[
            "create-snapshot",
            "--cache-cluster-id",
            "tiny",
            "--snapshot-name",
            "t",
        ])
        .unwrap_err();
    assert!(e.contains("SnapshotFeatureNotSupportedFault"), "{e}");
}

/// redis-server 7.0 on a free loopback port, writing its dump.rdb into `dir`.
struct RedisServer {
    child: Child,
    addr: String,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        let (child, port) = common::spawn_on_free_port(
            |port| {
                let mut c = Command::new("redis-server");
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no", "--dir"])
                    .arg(dir);
                c
            },
            false,
        );
        RedisServer {
            child,
            addr: format!("127.0.0.1:{port}"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn seeds_from_a_redis_server_rdb_and_a_corrupt_one_fails_the_restore() {
    let serve = Serve::start();
    let redis_dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(redis_dir.path());
    load(&redis.addr);
    let expected = dump(&redis.addr);
    Client::connect(&redis.addr).cmd(&["SAVE"]);
    let rdb = std::fs::read(redis_dir.path().join("dump.rdb")).unwrap();
    let bucket = serve.data.join("buckets").join("seed-bucket");
    std::fs::create_dir_all(bucket.join("exports")).unwrap();
    std::fs::write(bucket.join("exports").join("dump.rdb"), &rdb).unwrap();
    std::fs::write(bucket.join("truncated.rdb"), &rdb[..rdb.len() / 2]).unwrap();

    create_redis(
        &serve,
        "seeded",
        &[
            "--snapshot-arns",
            "arn:aws:s3:::seed-bucket/exports/dump.rdb",
        ],
    );
    let seeded = serve.wait_available("seeded");
    assert_same(&expected, &dump(&redis_endpoint(&seeded)));

    for (id, arn, why) in [
        (
            "truncated",
            "arn:aws:s3:::seed-bucket/truncated.rdb",
            "not a valid RDB file",
        ),
        (
            "missing",
            "arn:aws:s3:::seed-bucket/nothing.rdb",
            "does not exist",
        ),
    ] {
        create_redis(&serve, id, &["--snapshot-arns", arn]);
        let failed = wait_status(&serve, id, "restore-failed");
        assert!(
            failed["CacheNodes"][0].get("Endpoint").is_none(),
            "{failed}"
        );
        let messages = event_messages(&serve, id);
        assert!(
            messages
                .iter()
                .any(|m| m.contains("Restore from snapshot failed") && m.contains(why)),
            "{messages:?}"
        );
        // The only way on: delete it.
        serve.ok(&["delete-cache-cluster", "--cache-cluster-id", id]);
        wait_gone(&serve, id);
    }
    // The seeded cluster kept serving throughout.
    assert_eq!(
        Client::connect(&redis_endpoint(&seeded)).cmd(&["GET", "int"]),
        Reply::Bulk(Some(b"12345".to_vec()))
    );
    let bad = serve.aws(&[
        "create-cache-cluster",
        "--cache-cluster-id",
        "bad",
        "--engine",
        "redis",
        "--cache-node-type",
        "cache.m3.medium",
        "--num-cache-nodes",
        "1",
        "--snapshot-arns",
        "arn:aws:s3:::seed-bucket/../../state.db",
    ]);
    assert!(bad.unwrap_err().contains("InvalidParameterValue"));
}

/// `serve --clock-file`: the control plane's clock, moved by rewriting the file.
struct TestClock {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestClock {
    fn new(at: &str) -> TestClock {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock {
            path: dir.path().join("clock"),
            _dir: dir,
        };
        clock.set(at);
        clock
    }

    /// Moves the clock to `at` (RFC 3339); it runs on from there.
    fn set(&self, at: &str) {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, at).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }

    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// Automatic snapshots of one cluster, by name.
fn automatic(serve: &Serve, cluster: &str) -> Vec<Value> {
    let mut v: Vec<Value> = serve.ok(&[
        "describe-snapshots",
        "--cache-cluster-id",
        cluster,
        "--snapshot-source",
        "system",
    ])["Snapshots"]
        .as_array()
        .unwrap()
        .clone();
    v.sort_by_key(|s| s["SnapshotName"].as_str().unwrap().to_string());
    v
}

/// Waits until the cluster's automatic snapshots are `count`, all available, and the cluster
/// is `available` again.
fn wait_automatic(serve: &Serve, cluster: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let snaps = automatic(serve, cluster);
        if snaps.len() == count
            && snaps.iter().all(|s| s["SnapshotStatus"] == "available")
            && serve.cluster(cluster)["CacheClusterStatus"] == "available"
        {
            return snaps;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} available automatic snapshots of {cluster}: {snaps:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn snapshot_name(s: &Value) -> &str {
    s["SnapshotName"].as_str().unwrap()
}

#[test]
fn automatic_snapshots_come_in_the_window_and_expire_after_the_retention_limit() {
    let clock = TestClock::new("2026-11-24T12:00:00Z");
    let serve = Serve::start_with(&["--clock-file", clock.arg()]);
    create_redis(
        &serve,
        "auto",
        &[
            "--snapshot-retention-limit",
            "2",
            "--snapshot-window",
            "13:00-14:00",
            "--preferred-maintenance-window",
            "sun:05:00-sun:06:00",
            "--tags",
            "Key=team,Value=green",
        ],
    );
    let c = serve.wait_available("auto");
    assert_eq!(c["SnapshotRetentionLimit"], 2);
    assert_eq!(c["SnapshotWindow"], "13:00-14:00");
    let addr = redis_endpoint(&c);
    let mut client = Client::connect(&addr);
    client.cmd(&["SET", "day", "1"]);

    // Before the window: nothing (the worker looks every 300 ms).
    std::thread::sleep(Duration::from_secs(1));
    assert!(automatic(&serve, "auto").is_empty());

    // Day 1, in the window: one automatic snapshot, named as ElastiCache names them.
    clock.set("2026-11-24T13:05:00Z");
    let day1 = wait_automatic(&serve, "auto", 1).remove(0);
    let day1_name = snapshot_name(&day1).to_string();
    assert!(
        day1_name.starts_with("automatic.auto-2026-11-24-13-0"),
        "{day1_name}"
    );
    assert_eq!(day1["SnapshotSource"], "automated");
    assert_eq!(day1["SnapshotRetentionLimit"], 2);
    assert_eq!(day1["SnapshotWindow"], "13:00-14:00");
    assert!(
        day1["NodeSnapshots"][0]["SnapshotCreateTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-24T13:0"),
        "{day1}"
    );
    assert!(event_messages(&serve, "auto")
        .iter()
        .any(|m| m.contains(&format!(
            "Snapshot succeeded for snapshot with ID '{day1_name}'"
        ))));
    // The cluster's tags went to it.
    let tags = serve.ok(&[
        "list-tags-for-resource",
        "--resource-name",
        day1["ARN"].as_str().unwrap(),
    ]);
    assert_eq!(tags["TagList"][0]["Value"], "green");

    // Later in the same window: still one.
    clock.set("2026-11-24T13:40:00Z");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(automatic(&serve, "auto").len(), 1);

    // Day 2: a second one, holding day 2's data.
    client.cmd(&["SET", "day", "2"]);
    clock.set("2026-11-25T13:05:00Z");
    let snaps = wait_automatic(&serve, "auto", 2);
    let day2_name = snapshot_name(&snaps[1]).to_string();
    assert!(
        day2_name.starts_with("automatic.auto-2026-11-25-13-0"),
        "{snaps:?}"
    );
    assert_eq!(snapshot_name(&snaps[0]), day1_name);

    // Day 3, two days after the first: it has outlived the retention limit and is deleted;
    // day 3's is taken.
    client.cmd(&["SET", "day", "3"]);
    clock.set("2026-11-26T13:07:00Z");
    let deadline = Instant::now() + Duration::from_secs(60);
    let snaps = loop {
        let snaps = wait_automatic(&serve, "auto", 2);
        if snapshot_name(&snaps[0]) != day1_name {
            break snaps;
        }
        assert!(Instant::now() < deadline, "{day1_name} was never deleted");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(snapshot_name(&snaps[0]), day2_name);
    assert!(
        snapshot_name(&snaps[1]).starts_with("automatic.auto-2026-11-26-13-0"),
        "{snaps:?}"
    );
    assert!(snapshot(&serve, &day1_name)
        .unwrap_err()
        .contains("SnapshotNotFoundFault"));

    // An automatic snapshot restores like any other: day 2's holds day 2's data.
    create_redis(
        &serve,
        "fromauto",
        &[
            "--snapshot-name",
            &day2_name,
            "--snapshot-retention-limit",
            "0",
        ],
    );
    let restored = serve.wait_available("fromauto");
    assert_eq!(
        Client::connect(&redis_endpoint(&restored)).cmd(&["GET", "day"]),
        Reply::Bulk(Some(b"2".to_vec()))
    );

    // Deleting the cluster deletes its automatic snapshots; a manual one stays.
    serve.ok(&[
        "create-snapshot",
        "--cache-cluster-id",
        "auto",
        "--snapshot-name",
        "kept",
    ]);
    wait_snapshot(&serve, "kept");
    wait_status(&serve, "auto", "available");
    serve.ok(&["delete-cache-cluster", "--cache-cluster-id", "auto"]);
    wait_gone(&serve, "auto");
    assert_eq!(
        names(&serve.ok(&["describe-snapshots", "--cache-cluster-id", "auto"])),
        ["kept"]
    );
    assert!(names(&serve.ok(&["describe-snapshots", "--snapshot-source", "system"])).is_empty());
}

/// A small tmpfs mounted for the life of the guard.
struct TmpfsMount(std::path::PathBuf);

impl TmpfsMount {
    /// Mounts a `size` tmpfs on `path`; Err(why) where mounting is not permitted (not root, no
    /// CAP_SYS_ADMIN in a container).
    fn mount(path: &Path, size: &str) -> Result<TmpfsMount, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(TmpfsMount(path.to_path_buf()))
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open there: detach it now, freed when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Bytes LZF cannot compress (xorshift), so the snapshot is as big as the data.
fn incompressible(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_full_disk_fails_the_snapshot_and_leaves_no_partial_file() {
    let serve = Serve::start();
    let store = serve.data.join("snapshots");
    // Mounted after the store exists (serve made it); dropped before `serve`, so unmounted
    // before serve's data dir is removed.
    let _mount = match TmpfsMount::mount(&store, "2m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!(
                "skipped: cannot mount a tmpfs over {}: {why}",
                store.display()
            );
            return;
        }
    };
    std::fs::create_dir_all(store.join(".staging")).unwrap();
    create_redis(&serve, "full", &[]);
    let c = serve.wait_available("full");
    let addr = redis_endpoint(&c);
    let mut client = Client::connect(&addr);
    // 4 MB of data for a 2 MB disk.
    for i in 0..20 {
        let value = incompressible(200_000, i + 1);
        client.call(&[b"SET", format!("big:{i}").as_bytes(), &value]);
    }
    client.cmd(&["SET", "small", "still here"]);

    serve.ok(&[
        "create-snapshot",
        "--cache-cluster-id",
        "full",
        "--snapshot-name",
        "toobig",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let s = snapshot(&serve, "toobig").unwrap();
        if s["SnapshotStatus"] != "creating" {
            break s;
        }
        assert!(Instant::now() < deadline, "the snapshot never ended: {s}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(failed["SnapshotStatus"], "failed", "{failed}");
    let messages = event_messages(&serve, "full");
    assert!(
        messages.iter().any(
            |m| m.contains("Snapshot failed for snapshot with ID 'toobig'")
                && m.contains("No space left on device")
        ),
        "{messages:?}"
    );
    // Nothing partial in the store: no snapshot file, no temporary, the space given back.
    let left: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, [".staging"], "{left:?}");
    // The node kept serving, and the cluster is usable again.
    wait_status(&serve, "full", "available");
    assert_eq!(
        client.cmd(&["GET", "small"]),
        Reply::Bulk(Some(b"still here".to_vec()))
    );
    client.cmd(&["SET", "after", "1"]);
    // With the data shrunk to what the disk holds, the next snapshot succeeds.
    for i in 0..20 {
        client.cmd(&["DEL", &format!("big:{i}")]);
    }
    serve.ok(&[
        "create-snapshot",
        "--cache-cluster-id",
        "full",
        "--snapshot-name",
        "fits",
    ]);
    wait_snapshot(&serve, "fits");
    assert!(store.join("fits.rdb").exists());
    // The failed one can be deleted.
    serve.ok(&["delete-snapshot", "--snapshot-name", "toobig"]);
}
