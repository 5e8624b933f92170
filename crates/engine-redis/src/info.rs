//! INFO: redis-server 7.0's sections and field names, filled with this engine's numbers.
//!
//! `redis_version` is reported as 7.0.15, the redis-server this engine is tested against
//! (differential tests and redis-py's suite). Clients gate features on it (redis-py's tests
//! skip by version; redis-cli picks command syntax), so it must name the release whose
//! commands and replies we reproduce: a lower version would hide gaps by skipping tests, a
//! higher one would invite commands of releases we do not implement.

use crate::server::Server;
use std::fmt::Write;

pub const REDIS_VERSION: &str = "7.0.15";

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", n / 1024.0 / 1024.0 / 1024.0)
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn cpu_times() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0;
    let ut = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let st = f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (ut, st)
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .map_or(0, |kb| kb * 1024)
}

/// Builds the INFO text for the requested sections (empty = default). `caller_connected` says
/// whether the calling client is a connection: while it runs it is out of the registry, so it is
/// added to `connected_clients` here.
pub fn render(srv: &Server, args: &[String], caller_connected: bool) -> String {
    let mut wanted: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let everything = wanted.iter().any(|w| w == "all" || w == "everything");
    if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    if everything {
        wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
        wanted.push("commandstats".into());
        wanted.push("latencystats".into());
    }
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "latencystats",
        "cluster",
        "keyspace",
    ];
    let mut out = String::new();
    for sec in order {
        if !wanted.iter().any(|w| w == sec) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(srv, sec, &mut out, caller_connected as usize);
    }
    out
}

fn section(srv: &Server, name: &str, o: &mut String, caller: usize) {
    let w = |o: &mut String, k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(o, "{k}:{v}\r\n");
    };
    match name {
        "server" => {
            o.push_str("# Server\r\n");
            w(o, "redis_version", &REDIS_VERSION);
            w(o, "redis_git_sha1", &"00000000");
            w(o, "redis_git_dirty", &0);
            w(o, "redis_build_id", &"ferrocache");
            w(o, "redis_mode", &"standalone");
            w(
                o,
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            w(o, "arch_bits", &64);
            w(o, "monotonic_clock", &"POSIX clock_gettime");
            w(o, "multiplexing_api", &"epoll");
            w(o, "atomicvar_api", &"c11-builtin");
            w(o, "gcc_version", &"0.0.0");
            w(o, "process_id", &std::process::id());
            w(o, "process_supervised", &"no");
            w(o, "run_id", &srv.run_id);
            w(o, "tcp_port", &srv.tcp_port);
            let now = crate::util::now_us();
            w(o, "server_time_usec", &now);
            w(o, "uptime_in_seconds", &srv.uptime_secs());
            w(o, "uptime_in_days", &(srv.uptime_secs() / 86400));
            w(o, "hz", &srv.config.value_of("hz"));
            w(o, "configured_hz", &srv.config.value_of("hz"));
            w(o, "lru_clock", &(srv.ks.lru_clock() & 0xff_ffff));
            w(o, "executable", &srv.executable);
            w(o, "config_file", &srv.config_file);
            w(o, "io_threads_active", &0);
            w(o, "ferrocache_engine", &"ferrocache");
            w(o, "ferrocache_managed", &(srv.managed as u8));
        }
        "clients" => {
            o.push_str("# Clients\r\n");
            w(o, "connected_clients", &(srv.client_count() + caller));
            w(o, "cluster_connections", &0);
            w(o, "maxclients", &srv.config.value_of("maxclients"));
            w(o, "client_recent_max_input_buffer", &0);
            w(
                o,
                "client_recent_max_output_buffer",
                &srv.stats.output_peaks.recent_max(),
            );
            w(o, "blocked_clients", &srv.blocking.blocked_clients());
            w(o, "tracking_clients", &srv.tracking.clients);
            w(
                o,
                "clients_in_timeout_table",
                &srv.blocking.blocked_clients(),
            );
        }
        "memory" => {
            let used = srv.used_memory() as u64;
            let rss = rss_bytes();
            let peak = (crate::alloc::peak() as u64).max(used);
            // As redis computes it: the dataset is what is not overhead, and the overhead is the
            // keyspace's tables (O(number of DBs); walking the keys would hold the lock for
            // O(keys) on every INFO).
            let overhead: u64 = srv
                .ks
                .dbs
                .iter()
                .map(|d| (d.keys.overhead_bytes() + d.expires.overhead_bytes()) as u64)
                .sum();
            let dataset = used.saturating_sub(overhead);
            let maxmem = srv.config.maxmemory;
            let sysmem = total_system_memory();
            o.push_str("# Memory\r\n");
            w(o, "used_memory", &used);
            w(o, "used_memory_human", &human_bytes(used));
            w(o, "used_memory_rss", &rss);
            w(o, "used_memory_rss_human", &human_bytes(rss));
            w(o, "used_memory_peak", &peak);
            w(o, "used_memory_peak_human", &human_bytes(peak));
            w(
                o,
                "used_memory_peak_perc",
                &format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
            );
            w(o, "used_memory_overhead", &used.saturating_sub(dataset));
            w(o, "used_memory_startup", &0);
            w(o, "used_memory_dataset", &dataset.min(used));
            w(
                o,
                "used_memory_dataset_perc",
                &format!(
                    "{:.2}%",
                    dataset.min(used) as f64 * 100.0 / used.max(1) as f64
                ),
            );
            w(o, "allocator_allocated", &used);
            w(o, "allocator_active", &rss);
            w(o, "allocator_resident", &rss);
            w(o, "total_system_memory", &sysmem);
            w(o, "total_system_memory_human", &human_bytes(sysmem));
            w(o, "used_memory_lua", &0);
            w(o, "used_memory_vm_eval", &0);
            w(o, "used_memory_lua_human", &"0B");
            w(o, "used_memory_scripts_eval", &0);
            w(o, "number_of_cached_scripts", &0);
            let functions = &srv.scripts.functions;
            let vm_functions = functions.vm_memory();
            w(o, "number_of_functions", &functions.function_count());
            w(o, "number_of_libraries", &functions.library_count());
            w(o, "used_memory_vm_functions", &vm_functions);
            w(o, "used_memory_vm_total", &vm_functions);
            w(
                o,
                "used_memory_vm_total_human",
                &human_bytes(vm_functions as u64),
            );
            w(o, "used_memory_functions", &functions.overhead());
            w(o, "used_memory_scripts", &0);
            w(o, "used_memory_scripts_human", &"0B");
            w(o, "maxmemory", &maxmem);
            w(o, "maxmemory_human", &human_bytes(maxmem));
            w(o, "maxmemory_policy", &srv.config.policy);
            w(o, "reserved_memory", &srv.config.reserved_memory);
            w(o, "allocator_frag_ratio", &"1.00");
            w(o, "allocator_frag_bytes", &0);
            w(
                o,
                "mem_fragmentation_ratio",
                &format!("{:.2}", rss as f64 / used.max(1) as f64),
            );
            w(o, "mem_fragmentation_bytes", &(rss as i64 - used as i64));
            w(o, "mem_not_counted_for_evict", &0);
            w(o, "mem_replication_backlog", &0);
            w(o, "mem_clients_slaves", &0);
            w(o, "mem_clients_normal", &0);
            w(o, "mem_aof_buffer", &0);
            w(o, "mem_allocator", &"libc");
            w(o, "active_defrag_running", &0);
            w(o, "lazyfree_pending_objects", &0);
            w(o, "lazyfreed_objects", &0);
        }
        "persistence" => {
            o.push_str("# Persistence\r\n");
            crate::persistence::info(srv, o);
        }
        "stats" => {
            let s = &srv.stats;
            let k = &srv.ks.stats;
            o.push_str("# Stats\r\n");
            w(o, "total_connections_received", &s.connections_received);
            w(o, "total_commands_processed", &s.commands_processed);
            w(o, "instantaneous_ops_per_sec", &0);
            w(o, "total_net_input_bytes", &s.net_input_bytes);
            w(o, "total_net_output_bytes", &s.net_output_bytes);
            w(o, "instantaneous_input_kbps", &"0.00");
            w(o, "instantaneous_output_kbps", &"0.00");
            w(o, "rejected_connections", &s.rejected_connections);
            w(o, "sync_full", &srv.repl.sync_full);
            w(o, "sync_partial_ok", &srv.repl.sync_partial_ok);
            w(o, "sync_partial_err", &srv.repl.sync_partial_err);
            w(o, "expired_keys", &k.expired);
            w(o, "expired_stale_perc", &"0.00");
            w(o, "expired_time_cap_reached_count", &0);
            w(o, "expire_cycle_cpu_milliseconds", &0);
            w(o, "evicted_keys", &k.evicted);
            w(o, "evicted_clients", &s.evicted_clients);
            w(o, "total_eviction_exceeded_time", &0);
            w(o, "current_eviction_exceeded_time", &0);
            w(o, "keyspace_hits", &k.hits);
            w(o, "keyspace_misses", &k.misses);
            w(o, "pubsub_channels", &srv.pubsub.channels.len());
            w(o, "pubsub_patterns", &srv.pubsub.patterns.len());
            w(o, "latest_fork_usec", &0);
            w(o, "total_forks", &0);
            w(o, "migrate_cached_sockets", &0);
            w(o, "slave_expires_tracked_keys", &0);
            w(o, "active_defrag_hits", &0);
            w(o, "active_defrag_misses", &0);
            w(o, "active_defrag_key_hits", &0);
            w(o, "active_defrag_key_misses", &0);
            w(o, "total_active_defrag_time", &0);
            w(o, "current_active_defrag_time", &0);
            w(o, "tracking_total_keys", &srv.tracking.total_keys());
            w(o, "tracking_total_items", &srv.tracking.total_items());
            w(o, "tracking_total_prefixes", &srv.tracking.total_prefixes());
            w(o, "unexpected_error_replies", &s.unexpected_error_replies);
            w(o, "total_error_replies", &s.total_error_replies);
            w(o, "dump_payload_sanitizations", &0);
            w(o, "total_reads_processed", &s.commands_processed);
            w(o, "total_writes_processed", &s.commands_processed);
            w(o, "io_threaded_reads_processed", &0);
            w(o, "io_threaded_writes_processed", &0);
        }
        "replication" => {
            o.push_str("# Replication\r\n");
            let mut f = |k: &str, v: &dyn std::fmt::Display| w(o, k, v);
            crate::replication::info(srv, &mut f);
        }
        "cpu" => {
            let (u, s) = cpu_times();
            o.push_str("# CPU\r\n");
            w(o, "used_cpu_sys", &format!("{s:.6}"));
            w(o, "used_cpu_user", &format!("{u:.6}"));
            w(o, "used_cpu_sys_children", &"0.000000");
            w(o, "used_cpu_user_children", &"0.000000");
            w(o, "used_cpu_sys_main_thread", &format!("{s:.6}"));
            w(o, "used_cpu_user_main_thread", &format!("{u:.6}"));
        }
        "modules" => o.push_str("# Modules\r\n"),
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            let mut names: Vec<_> = srv.stats.commands.iter().collect();
            names.sort_by_key(|(n, _)| **n);
            for (n, c) in names {
                let per = if c.calls > 0 {
                    c.usec as f64 / c.calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    o,
                    "cmdstat_{n}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                    c.calls, c.usec, c.rejected, c.failed
                );
            }
        }
        "errorstats" => {
            o.push_str("# Errorstats\r\n");
            let mut errs: Vec<_> = srv.stats.errors.iter().collect();
            errs.sort();
            for (e, n) in errs {
                let _ = write!(o, "errorstat_{e}:count={n}\r\n");
            }
        }
        "latencystats" => o.push_str("# Latencystats\r\n"),
        "cluster" => {
            o.push_str("# Cluster\r\n");
            w(o, "cluster_enabled", &0);
        }
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for (i, d) in srv.ks.dbs.iter().enumerate() {
                if d.is_empty() {
                    continue;
                }
                let _ = write!(
                    o,
                    "db{i}:keys={},expires={},avg_ttl={}\r\n",
                    d.len(),
                    d.expires.len(),
                    d.avg_ttl(srv.ks.now)
                );
            }
        }
        _ => {}
    }
}
