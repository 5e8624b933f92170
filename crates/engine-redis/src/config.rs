//! Configuration parameters: the ones of the ElastiCache guide (`parameters.md`, including the
//! ElastiCache-only `reserved-memory` and the split `client-output-buffer-limit-<class>-*`
//! names) plus the redis-server 7.0 names clients read with CONFIG GET.
//!
//! One table (`PARAMS`) describes every parameter: name, aliases, kind, default, whether it
//! can change at run time. Values are kept in canonical text form (what CONFIG GET prints) and
//! the ones the engine uses are also cached as typed fields.

use crate::db::AccessTracking;
use crate::types::Limits;
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
enum Kind {
    Int(i64, i64),
    Memory,
    Bool,
    Enum(&'static [&'static str]),
    Str,
    Notify,
    ClientOutputLimit,
}

struct Param {
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: &'static str,
    mutable: bool,
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
    }
}

const I: Kind = Kind::Int(0, i64::MAX);

static PARAMS: &[Param] = &[
    Param {
        name: "databases",
        aliases: &[],
        kind: Kind::Int(1, 1 << 20),
        default: "16",
        mutable: false,
    },
    p("maxmemory", Kind::Memory, "0"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", Kind::Int(1, i32::MAX as i64), "5"),
    p("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    p("reserved-memory", Kind::Memory, "0"),
    p("requirepass", Kind::Str, ""),
    p("acllog-max-len", I, "128"),
    p("notify-keyspace-events", Kind::Notify, ""),
    p("timeout", Kind::Int(0, i32::MAX as i64), "0"),
    p("tcp-keepalive", Kind::Int(0, i32::MAX as i64), "300"),
    p("slowlog-log-slower-than", Kind::Int(-1, i64::MAX), "10000"),
    p("slowlog-max-len", Kind::Int(0, i64::MAX), "128"),
    Param {
        name: "hash-max-listpack-entries",
        aliases: &["hash-max-ziplist-entries"],
        kind: I,
        default: "512",
        mutable: true,
    },
    Param {
        name: "hash-max-listpack-value",
        aliases: &["hash-max-ziplist-value"],
        kind: I,
        default: "64",
        mutable: true,
    },
    Param {
        name: "list-max-listpack-size",
        aliases: &["list-max-ziplist-size"],
        kind: Kind::Int(i32::MIN as i64, i32::MAX as i64),
        default: "-2",
        mutable: true,
    },
    p("list-max-ziplist-entries", I, "512"),
    p("list-max-ziplist-value", I, "64"),
    p("list-compress-depth", I, "0"),
    p("set-max-intset-entries", I, "512"),
    Param {
        name: "zset-max-listpack-entries",
        aliases: &["zset-max-ziplist-entries"],
        kind: I,
        default: "128",
        mutable: true,
    },
    Param {
        name: "zset-max-listpack-value",
        aliases: &["zset-max-ziplist-value"],
        kind: I,
        default: "64",
        mutable: true,
    },
    p("hll-sparse-max-bytes", I, "3000"),
    Param {
        name: "busy-reply-threshold",
        aliases: &["lua-time-limit"],
        kind: I,
        default: "5000",
        mutable: true,
    },
    p("proto-max-bulk-len", Kind::Memory, "536870912"),
    p("client-query-buffer-limit", Kind::Memory, "1073741824"),
    p("client-output-buffer-limit", Kind::ClientOutputLimit, ""),
    p("lfu-log-factor", I, "10"),
    p("lfu-decay-time", I, "1"),
    p("hz", Kind::Int(0, i32::MAX as i64), "10"),
    p("maxclients", Kind::Int(1, i64::MAX), "65000"),
    p("appendonly", Kind::Bool, "no"),
    p(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    p("appendfilename", Kind::Str, "appendonly.aof"),
    p("aof-load-truncated", Kind::Bool, "yes"),
    p("aof-use-rdb-preamble", Kind::Bool, "yes"),
    p("auto-aof-rewrite-percentage", I, "100"),
    p("auto-aof-rewrite-min-size", Kind::Memory, "67108864"),
    // ferrocache's own: a managed primary writes ElastiCacheMasterReplicationTimestamp
    // (`replication::write_timestamp`); off by default so data sets stay what clients wrote.
    p("elasticache-master-replication-timestamp", Kind::Bool, "no"),
    p("save", Kind::Str, ""),
    p("dir", Kind::Str, "."),
    p("dbfilename", Kind::Str, "dump.rdb"),
    Param {
        name: "activerehashing",
        aliases: &["activeresharding"],
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
    },
    Param {
        name: "min-replicas-to-write",
        aliases: &["min-slaves-to-write"],
        kind: I,
        default: "0",
        mutable: true,
    },
    Param {
        name: "min-replicas-max-lag",
        aliases: &["min-slaves-max-lag"],
        kind: I,
        default: "10",
        mutable: true,
    },
    p("repl-backlog-size", Kind::Memory, "1048576"),
    p("repl-backlog-ttl", I, "3600"),
    p("repl-timeout", Kind::Int(1, i64::MAX), "60"),
    p("repl-ping-replica-period", Kind::Int(1, i64::MAX), "10"),
    Param {
        name: "replica-allow-chaining",
        aliases: &["slave-allow-chaining"],
        kind: Kind::Bool,
        default: "no",
        mutable: true,
    },
    Param {
        name: "replica-read-only",
        aliases: &["slave-read-only"],
        kind: Kind::Bool,
        default: "yes",
        mutable: true,
    },
    p("lazyfree-lazy-eviction", Kind::Bool, "no"),
    p("lazyfree-lazy-expire", Kind::Bool, "no"),
    p("lazyfree-lazy-server-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-del", Kind::Bool, "no"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    p("active-expire-effort", Kind::Int(1, 10), "1"),
    p("latency-tracking", Kind::Bool, "yes"),
    p("latency-monitor-threshold", I, "0"),
    p(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    p("logfile", Kind::Str, ""),
    p("io-threads", Kind::Int(1, 128), "1"),
    Param {
        name: "port",
        aliases: &[],
        kind: Kind::Int(0, 65535),
        default: "6379",
        mutable: false,
    },
    Param {
        name: "bind",
        aliases: &[],
        kind: Kind::Str,
        default: "127.0.0.1",
        mutable: false,
    },
    p("protected-mode", Kind::Bool, "no"),
    p("daemonize", Kind::Bool, "no"),
    p("cluster-enabled", Kind::Bool, "no"),
    p("close-on-oom", Kind::Bool, "no"),
    p("stream-node-max-entries", I, "100"),
    p("tracking-table-max-keys", I, "1000000"),
    p(
        "enable-debug-command",
        Kind::Enum(&["yes", "no", "local"]),
        "yes",
    ),
];

/// The three client classes of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

#[derive(Clone, Debug)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    pub databases: usize,
    pub maxmemory: u64,
    pub reserved_memory: u64,
    pub policy: &'static str,
    pub samples: usize,
    pub requirepass: String,
    pub notify_flags: u32,
    pub timeout_secs: u64,
    pub slowlog_slower_than: i64,
    pub slowlog_max_len: usize,
    pub proto_max_bulk_len: i64,
    /// `min-replicas-to-write`, read by every write command (0: no check).
    pub min_replicas_to_write: usize,
    pub output_limits: [OutputLimit; 3],
}

fn parse_memory(s: &str) -> Option<u64> {
    let l = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| l.strip_suffix(suf).map(|n| (n.to_string(), *m)))
    .unwrap_or((l.clone(), 1));
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

fn find(name: &str) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// Where a client-output-buffer-limit class sits in [`Config::output_limits`].
pub fn class_index(class: &str) -> Option<usize> {
    match class {
        "normal" => Some(0),
        "replica" | "slave" => Some(1),
        "pubsub" => Some(2),
        _ => None,
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: BTreeMap::new(),
            databases: 16,
            maxmemory: 0,
            reserved_memory: 0,
            policy: "noeviction",
            samples: 5,
            requirepass: String::new(),
            notify_flags: 0,
            timeout_secs: 0,
            slowlog_slower_than: 10000,
            slowlog_max_len: 128,
            proto_max_bulk_len: 512 << 20,
            min_replicas_to_write: 0,
            output_limits: [
                OutputLimit::default(),
                OutputLimit {
                    hard: 256 << 20,
                    soft: 64 << 20,
                    soft_secs: 60,
                },
                OutputLimit {
                    hard: 32 << 20,
                    soft: 8 << 20,
                    soft_secs: 60,
                },
            ],
        };
        for p in PARAMS {
            if !matches!(p.kind, Kind::ClientOutputLimit) {
                c.values.insert(p.name, p.default.to_string());
            }
        }
        c.refresh();
        c
    }
}

impl Config {
    /// Sets a parameter at startup (`--param`): immutable ones are allowed here.
    pub fn set_initial(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.set_inner(name, value, true)
    }

    /// CONFIG SET of one parameter; the error is redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.set_inner(name, value, false)
    }

    fn set_inner(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let name = name.to_ascii_lowercase();
        // ElastiCache's split names: client-output-buffer-limit-<class>-<hard-limit|soft-limit|soft-seconds>.
        if let Some(rest) = name.strip_prefix("client-output-buffer-limit-") {
            let (class, field) = rest.split_once('-').ok_or("Unknown option")?;
            let idx = class_index(class).ok_or("Unknown option")?;
            let v = parse_memory(value).ok_or("argument must be a memory value")?;
            let l = &mut self.output_limits[idx];
            match field {
                "hard-limit" => l.hard = v,
                "soft-limit" => l.soft = v,
                "soft-seconds" => l.soft_secs = v,
                _ => return Err("Unknown option".into()),
            }
            return Ok(());
        }
        let p = find(&name).ok_or("Unknown option")?;
        if !p.mutable && !startup {
            return Err("can't set immutable config".into());
        }
        let canonical = match p.kind {
            Kind::Int(min, max) => {
                let v: i64 = value
                    .parse()
                    .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
                if v < min || v > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                v.to_string()
            }
            Kind::Memory => parse_memory(value)
                .ok_or("argument must be a memory value")?
                .to_string(),
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" => "yes".into(),
                "no" => "no".into(),
                _ => return Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Enum(opts) => {
                let l = value.to_ascii_lowercase();
                if !opts.contains(&l.as_str()) {
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ));
                }
                l
            }
            Kind::Str => value.to_string(),
            Kind::Notify => {
                let f = crate::notify::parse_flags(value)
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                crate::notify::flags_to_string(f)
            }
            Kind::ClientOutputLimit => {
                self.set_output_limits(value)?;
                return Ok(());
            }
        };
        self.values.insert(p.name, canonical);
        self.refresh();
        Ok(())
    }

    fn set_output_limits(&mut self, value: &str) -> Result<(), String> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut limits = self.output_limits;
        for chunk in words.chunks(4) {
            let idx = class_index(chunk[0])
                .ok_or("Invalid client class specified in buffer limit configuration.")?;
            let hard = parse_memory(chunk[1]).ok_or(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            )?;
            let soft = parse_memory(chunk[2]).ok_or(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            )?;
            let secs: u64 = chunk[3].parse().map_err(|_| {
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
            })?;
            limits[idx] = OutputLimit {
                hard,
                soft,
                soft_secs: secs,
            };
        }
        self.output_limits = limits;
        Ok(())
    }

    fn val(&self, name: &str) -> &str {
        self.values.get(name).map_or("", |s| s.as_str())
    }

    fn int(&self, name: &str) -> i64 {
        self.val(name).parse().unwrap_or(0)
    }

    fn refresh(&mut self) {
        self.databases = self.int("databases") as usize;
        self.maxmemory = self.int("maxmemory") as u64;
        self.reserved_memory = self.int("reserved-memory") as u64;
        let pol = self.val("maxmemory-policy").to_string();
        self.policy = POLICIES
            .iter()
            .find(|p| **p == pol)
            .copied()
            .unwrap_or("noeviction");
        self.samples = self.int("maxmemory-samples") as usize;
        self.requirepass = self.val("requirepass").to_string();
        self.notify_flags =
            crate::notify::parse_flags(self.val("notify-keyspace-events")).unwrap_or(0);
        self.timeout_secs = self.int("timeout") as u64;
        self.slowlog_slower_than = self.int("slowlog-log-slower-than");
        self.slowlog_max_len = self.int("slowlog-max-len") as usize;
        self.proto_max_bulk_len = self.int("proto-max-bulk-len");
        self.min_replicas_to_write = self.int("min-replicas-to-write").max(0) as usize;
    }

    /// The text CONFIG GET prints for a canonical name.
    pub fn get(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        if name == "client-output-buffer-limit" {
            let l = &self.output_limits;
            return Some(format!(
                "normal {} {} {} slave {} {} {} pubsub {} {} {}",
                l[0].hard,
                l[0].soft,
                l[0].soft_secs,
                l[1].hard,
                l[1].soft,
                l[1].soft_secs,
                l[2].hard,
                l[2].soft,
                l[2].soft_secs
            ));
        }
        if let Some(rest) = name.strip_prefix("client-output-buffer-limit-") {
            let (class, field) = rest.split_once('-')?;
            let l = self.output_limits[class_index(class)?];
            return match field {
                "hard-limit" => Some(l.hard.to_string()),
                "soft-limit" => Some(l.soft.to_string()),
                "soft-seconds" => Some(l.soft_secs.to_string()),
                _ => None,
            };
        }
        let p = find(&name)?;
        Some(self.val(p.name).to_string())
    }

    /// Every (name, value) whose name or alias matches the glob, as CONFIG GET lists them.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for p in PARAMS {
            names.push(p.name);
            names.extend_from_slice(p.aliases);
        }
        for n in names {
            if crate::util::glob_match(pattern, n.as_bytes(), true) {
                if let Some(v) = self.get(n) {
                    out.push((n.to_string(), v));
                }
            }
        }
        out
    }

    pub fn type_limits(&self) -> Limits {
        Limits {
            hash_entries: self.int("hash-max-listpack-entries") as usize,
            hash_value: self.int("hash-max-listpack-value") as usize,
            set_intset_entries: self.int("set-max-intset-entries") as usize,
            zset_entries: self.int("zset-max-listpack-entries") as usize,
            zset_value: self.int("zset-max-listpack-value") as usize,
        }
    }

    pub fn access_tracking(&self) -> AccessTracking {
        if self.policy.ends_with("lfu") {
            AccessTracking::Lfu {
                log_factor: self.int("lfu-log-factor") as u32,
                decay_minutes: self.int("lfu-decay-time") as u32,
            }
        } else {
            AccessTracking::Lru
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        self.val(name) == "yes"
    }

    pub fn value_of(&self, name: &str) -> String {
        self.val(name).to_string()
    }

    /// Bytes the data may use before eviction: `maxmemory - reserved-memory` (0 = unlimited).
    pub fn memory_limit(&self) -> u64 {
        if self.maxmemory == 0 {
            0
        } else {
            self.maxmemory.saturating_sub(self.reserved_memory).max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get() {
        let mut c = Config::default();
        c.set("maxmemory", "1mb").unwrap();
        assert_eq!(c.get("maxmemory").unwrap(), "1048576");
        assert!(c.set("maxmemory-policy", "bogus").is_err());
        c.set("hash-max-ziplist-entries", "7").unwrap();
        assert_eq!(c.get("hash-max-listpack-entries").unwrap(), "7");
        assert!(c.set("databases", "3").is_err());
        c.set("client-output-buffer-limit-pubsub-hard-limit", "100")
            .unwrap();
        assert_eq!(c.output_limits[2].hard, 100);
        c.set("notify-keyspace-events", "KEA").unwrap();
        assert_eq!(c.get("notify-keyspace-events").unwrap(), "AKE");
    }
}
