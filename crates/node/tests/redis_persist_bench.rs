//! Benchmarks of snapshots and replication (ignored by default; `bench/redis-snapshot.sh` and
//! `bench/redis-repl.sh` run them in a release build). Each prints one summary line per
//! measurement, for ferrocache and, on the same data, redis-server 7.0.
//!
//! - snapshot: BGSAVE of N keys (MB/s, keys/s), GET latency (p50/p99/max) of a probe client
//!   while writers run, outside and during the snapshot, and the node's memory growth during it;
//!   restore: time to load the file at start.
//! - replication: full sync of N keys to a redis-server replica (primary = ours, then
//!   primary = redis-server), partial resync after CLIENT KILL, replica lag under write load.

mod redis_common;

use redis_common::*;
use resp::Frame;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn keys() -> usize {
    std::env::var("FERRO_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn load(addr: SocketAddr, n: usize) {
    let mut c = Client::connect(addr);
    c.set_timeout(Duration::from_secs(120));
    let value = "v".repeat(100);
    let mut batch = Vec::new();
    let mut pending = 0;
    for i in 0..n {
        batch.extend(Client::encode(&["SET", &format!("key:{i:08}"), &value]));
        pending += 1;
        if pending == 1000 || i + 1 == n {
            c.send_raw(&batch);
            batch.clear();
            for _ in 0..pending {
                c.read();
            }
            pending = 0;
        }
    }
}

fn field(addr: SocketAddr, section: &str, name: &str) -> String {
    info_field(&mut Client::connect(addr), section, name).unwrap_or_default()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p) as usize]
}

/// The memory a node uses: ferrocache's allocation counter is read in-process (its INFO memory
/// walks the keyspace, which would itself disturb the latency being measured); redis-server's
/// INFO field is cheap.
fn used_memory(addr: SocketAddr, in_process: bool) -> f64 {
    if in_process {
        engine_redis::alloc::allocated().unwrap_or(0) as f64
    } else {
        field(addr, "memory", "used_memory").parse().unwrap_or(0.0)
    }
}

/// Runs BGSAVE under load and reports; `phase` 0 = before, 1 = during.
fn snapshot_under_load(name: &str, addr: SocketAddr, n: usize, dir: &std::path::Path) {
    let ours = name == "ferrocache";
    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(0));
    let lat: Arc<Mutex<[Vec<f64>; 2]>> = Arc::new(Mutex::new([Vec::new(), Vec::new()]));
    let mut threads = Vec::new();
    for w in 0..2 {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut c = Client::connect(addr);
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let mut b = Vec::new();
                for _ in 0..10 {
                    b.extend(Client::encode(&[
                        "SET",
                        &format!("key:{:08}", (i * 7919) % n),
                        "w",
                    ]));
                    i += 1;
                }
                c.send_raw(&b);
                for _ in 0..10 {
                    c.read();
                }
            }
        }));
    }
    {
        let (stop, phase, lat) = (stop.clone(), phase.clone(), lat.clone());
        threads.push(std::thread::spawn(move || {
            let mut c = Client::connect(addr);
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                c.cmd(&["GET", &format!("key:{:08}", (i * 104729) % n)]);
                let us = t.elapsed().as_secs_f64() * 1e6;
                let p = phase.load(Ordering::Relaxed) as usize;
                if p < 2 {
                    lat.lock().unwrap()[p].push(us);
                }
                i += 1;
                std::thread::sleep(Duration::from_micros(500));
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    let mut c = Client::connect(addr);
    let mem0 = used_memory(addr, ours);
    phase.store(1, Ordering::Relaxed);
    let t0 = Instant::now();
    c.cmd(&["BGSAVE"]);
    let mut mem_peak = mem0;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        mem_peak = mem_peak.max(used_memory(addr, ours));
        if field(addr, "persistence", "rdb_bgsave_in_progress") == "0" {
            break;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    phase.store(2, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let size = std::fs::metadata(dir.join("dump.rdb"))
        .map(|m| m.len())
        .unwrap_or(0) as f64;
    let mut l = lat.lock().unwrap();
    let [before, during] = &mut *l;
    println!(
        "{name}: BGSAVE of {n} keys under write load: {secs:.2} s, {:.1} MB/s, {:.0} keys/s; \
         GET latency us before p50 {:.0} p99 {:.0} max {:.0} | during p50 {:.0} p99 {:.0} max {:.0}; \
         used_memory +{:.1} MB (peak), rdb_last_cow_size {}",
        size / 1e6 / secs,
        n as f64 / secs,
        pct(before, 0.5),
        pct(before, 0.99),
        pct(before, 1.0),
        pct(during, 0.5),
        pct(during, 0.99),
        pct(during, 1.0),
        (mem_peak - mem0) / 1e6,
        field(addr, "persistence", "rdb_last_cow_size"),
    );
}

#[test]
#[ignore = "a benchmark, not a test: bench/redis-snapshot.sh runs it with --ignored"]
fn bench_snapshot_and_restore() {
    let n = keys();
    // ferrocache
    let d = tempfile::tempdir().unwrap();
    let ours = start_ours(&["--dir", d.path().to_str().unwrap()]);
    load(ours.addr(), n);
    let mut c = Client::connect(ours.addr());
    let t = Instant::now();
    c.set_timeout(Duration::from_secs(600));
    assert_eq!(c.cmd(&["SAVE"]), simple("OK"));
    let save = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(d.path().join("dump.rdb")).unwrap().len() as f64;
    println!(
        "ferrocache: SAVE of {n} keys, idle: {save:.2} s, {:.1} MB/s, {:.0} keys/s ({:.1} MB)",
        size / 1e6 / save,
        n as f64 / save,
        size / 1e6
    );
    snapshot_under_load("ferrocache", ours.addr(), n, d.path());
    drop(c);
    drop(ours);
    let t = Instant::now();
    let ours = start_ours(&["--dir", d.path().to_str().unwrap()]);
    let restore = t.elapsed().as_secs_f64();
    let loaded = match Client::connect(ours.addr()).cmd(&["DBSIZE"]) {
        Frame::Int(k) => k,
        _ => 0,
    };
    println!(
        "ferrocache: restore at start: {loaded} keys in {restore:.2} s, {:.1} MB/s",
        size / 1e6 / restore
    );
    drop(ours);

    // redis-server on the same data
    let d2 = tempfile::tempdir().unwrap();
    let real = start_real(&["--dir", d2.path().to_str().unwrap()]);
    load(real.addr, n);
    let mut r = Client::connect(real.addr);
    r.set_timeout(Duration::from_secs(600));
    let t = Instant::now();
    assert_eq!(r.cmd(&["SAVE"]), simple("OK"));
    let save = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(d2.path().join("dump.rdb")).unwrap().len() as f64;
    println!(
        "redis-server: SAVE of {n} keys, idle: {save:.2} s, {:.1} MB/s, {:.0} keys/s ({:.1} MB)",
        size / 1e6 / save,
        n as f64 / save,
        size / 1e6
    );
    snapshot_under_load("redis-server", real.addr, n, d2.path());
    drop(real);
    let t = Instant::now();
    let real = start_real(&["--dir", d2.path().to_str().unwrap()]);
    let mut r = Client::connect(real.addr);
    while field(real.addr, "persistence", "loading") != "0" {
        std::thread::sleep(Duration::from_millis(10));
    }
    let restore = t.elapsed().as_secs_f64();
    println!(
        "redis-server: restore at start: {} keys in {restore:.2} s",
        super_int(r.cmd(&["DBSIZE"]))
    );
}

fn super_int(f: Frame) -> i64 {
    match f {
        Frame::Int(k) => k,
        _ => -1,
    }
}

fn wait_sync(primary: SocketAddr, replica: SocketAddr, deadline: Duration) {
    let t = Instant::now();
    loop {
        let up = field(replica, "replication", "master_link_status") == "up";
        let p = field(primary, "replication", "master_repl_offset");
        if up && p == field(replica, "replication", "slave_repl_offset") {
            return;
        }
        assert!(t.elapsed() < deadline, "replica did not sync");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "a benchmark, not a test: bench/redis-repl.sh runs it with --ignored"]
fn bench_replication() {
    let n = keys();
    for primary_is_ours in [true, false] {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ours;
        let real_primary;
        let primary = if primary_is_ours {
            ours = Some(start_ours(&["--dir", d1.path().to_str().unwrap()]));
            real_primary = None;
            ours.as_ref().unwrap().addr()
        } else {
            ours = None;
            real_primary = Some(start_real(&[
                "--dir",
                d1.path().to_str().unwrap(),
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "0",
            ]));
            real_primary.as_ref().unwrap().addr
        };
        load(primary, n);
        let name = if primary_is_ours {
            "ferrocache primary -> redis-server replica"
        } else {
            "redis-server primary -> ferrocache replica"
        };
        let t = Instant::now();
        let (replica_addr, _ours_r, _real_r);
        if primary_is_ours {
            let r = start_real(&[
                "--dir",
                d2.path().to_str().unwrap(),
                "--replicaof",
                "127.0.0.1",
                &primary.port().to_string(),
            ]);
            replica_addr = r.addr;
            _real_r = Some(r);
            _ours_r = None;
        } else {
            let o = start_ours(&["--dir", d2.path().to_str().unwrap()]);
            Client::connect(o.addr()).cmd(&["REPLICAOF", "127.0.0.1", &primary.port().to_string()]);
            replica_addr = o.addr();
            _ours_r = Some(o);
            _real_r = None;
        }
        wait_sync(primary, replica_addr, Duration::from_secs(600));
        let full = t.elapsed().as_secs_f64();
        // What a full sync carries is the data set as an RDB file: its size, saved after.
        Client::connect(primary).cmd(&["SAVE"]);
        let rdb_bytes = std::fs::metadata(d1.path().join("dump.rdb"))
            .map(|m| m.len())
            .unwrap_or(0) as f64;
        // Lag under load: writers on the primary, sample offset difference.
        let stop = Arc::new(AtomicBool::new(false));
        let mut ws = Vec::new();
        for w in 0..2 {
            let stop = stop.clone();
            ws.push(std::thread::spawn(move || {
                let mut c = Client::connect(primary);
                let mut i = w;
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut b = Vec::new();
                    for _ in 0..10 {
                        b.extend(Client::encode(&[
                            "SET",
                            &format!("key:{:08}", (i * 7919) % n),
                            "w",
                        ]));
                        i += 1;
                    }
                    c.send_raw(&b);
                    for _ in 0..10 {
                        c.read();
                    }
                    done += 10;
                }
                done
            }));
        }
        let mut lags = Vec::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            let p: f64 = field(primary, "replication", "master_repl_offset")
                .parse()
                .unwrap_or(0.0);
            let r: f64 = field(replica_addr, "replication", "slave_repl_offset")
                .parse()
                .unwrap_or(0.0);
            lags.push((p - r).max(0.0));
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        let writes: u64 = ws.into_iter().map(|w| w.join().unwrap()).sum();
        let t = Instant::now();
        wait_sync(primary, replica_addr, Duration::from_secs(60));
        let catch_up = t.elapsed().as_secs_f64();
        // Partial resync after a dropped link.
        let kill = if primary_is_ours {
            (primary, "replica")
        } else {
            (replica_addr, "master")
        };
        Client::connect(kill.0).cmd(&["CLIENT", "KILL", "TYPE", kill.1]);
        let mut c = Client::connect(primary);
        let offset = |a| -> f64 {
            field(a, "replication", "master_repl_offset")
                .parse()
                .unwrap_or(0.0)
        };
        let before = offset(primary);
        const DURING: usize = 5000;
        let value = "x".repeat(100);
        for i in 0..DURING {
            c.cmd(&["SET", &format!("during:{i}"), &value]);
        }
        let backlog_bytes = offset(primary) - before;
        let t = Instant::now();
        wait_sync(primary, replica_addr, Duration::from_secs(60));
        let partial = t.elapsed().as_secs_f64();
        println!(
            "{name}: full sync of {n} keys {full:.2} s ({:.0} keys/s, {:.1} MB/s of {:.1} MB RDB); \
             under load ({:.0} writes/s) replica lag bytes p50 {:.0} p99 {:.0} max {:.0}, caught up \
             {catch_up:.3} s after; partial resync after CLIENT KILL ({} ok) of {DURING} writes, \
             {:.2} MB of backlog, in {partial:.3} s ({:.0} keys/s, {:.1} MB/s)",
            n as f64 / full,
            rdb_bytes / 1e6 / full,
            rdb_bytes / 1e6,
            writes as f64 / 5.0,
            pct(&mut lags.clone(), 0.5),
            pct(&mut lags.clone(), 0.99),
            pct(&mut lags, 1.0),
            field(primary, "stats", "sync_partial_ok"),
            backlog_bytes / 1e6,
            DURING as f64 / partial,
            backlog_bytes / 1e6 / partial,
        );
        drop(ours);
        drop(real_primary);
    }
}
