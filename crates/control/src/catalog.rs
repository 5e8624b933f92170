//! What ElastiCache offers, as data: node types and their memory, engine versions and parameter
//! group families, the parameter catalogue, and the reserved-node offerings.
//!
//! The node-type table and the parameter catalogue are checked-in data files
//! (`data/node_types.json`, `data/parameters.json`, transcribed from the User Guide); this module
//! only parses them once and answers questions about them.

use serde::Deserialize;
use std::sync::OnceLock;

/// The two engines ElastiCache runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Memcached,
    Redis,
}

impl Engine {
    pub fn parse(s: &str) -> Option<Engine> {
        match s {
            "memcached" => Some(Engine::Memcached),
            "redis" => Some(Engine::Redis),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Memcached => "memcached",
            Engine::Redis => "redis",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Engine::Memcached => 11211,
            Engine::Redis => 6379,
        }
    }

    /// Nodes per cluster: memcached 1–20, redis exactly 1 (behaviour.md §0).
    pub fn max_nodes(self) -> u32 {
        match self {
            Engine::Memcached => 20,
            Engine::Redis => 1,
        }
    }

    pub fn default_version(self) -> &'static str {
        match self {
            Engine::Memcached => "1.4.14",
            Engine::Redis => "2.8.21",
        }
    }
}

/// One node type: its name and the node-type-specific parameter values.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeType {
    pub name: String,
    /// Memcached `max_cache_memory`, in MB.
    pub max_cache_memory: u64,
    /// Memcached `num_threads`.
    pub num_threads: u32,
    /// Redis `maxmemory`, in bytes.
    pub maxmemory: u64,
}

#[derive(Deserialize)]
struct NodeTypeFile {
    node_types: Vec<NodeType>,
}

pub fn node_types() -> &'static [NodeType] {
    static TYPES: OnceLock<Vec<NodeType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let file: NodeTypeFile = serde_json::from_str(include_str!("../data/node_types.json"))
            .expect("data/node_types.json is valid");
        file.node_types
    })
}

pub fn node_type(name: &str) -> Option<&'static NodeType> {
    node_types().iter().find(|t| t.name == name)
}

/// Whether backups, AOF and Multi-AZ are unavailable on this node type (t1/t2).
pub fn is_burstable(node_type: &str) -> bool {
    node_type.starts_with("cache.t1.") || node_type.starts_with("cache.t2.")
}

/// One engine version ElastiCache runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineVersion {
    pub engine: Engine,
    pub version: &'static str,
    pub family: &'static str,
}

impl EngineVersion {
    pub fn engine_description(&self) -> &'static str {
        match self.engine {
            Engine::Memcached => "memcached",
            Engine::Redis => "Redis",
        }
    }

    pub fn version_description(&self) -> String {
        format!("{} version {}", self.engine.as_str(), self.version)
    }
}

/// The engine versions of the guide, oldest first per engine (behaviour.md §4.10).
pub const ENGINE_VERSIONS: &[EngineVersion] = &[
    EngineVersion {
        engine: Engine::Memcached,
        version: "1.4.5",
        family: "memcached1.4",
    },
    EngineVersion {
        engine: Engine::Memcached,
        version: "1.4.14",
        family: "memcached1.4",
    },
    EngineVersion {
        engine: Engine::Redis,
        version: "2.6.13",
        family: "redis2.6",
    },
    EngineVersion {
        engine: Engine::Redis,
        version: "2.8.6",
        family: "redis2.8",
    },
    EngineVersion {
        engine: Engine::Redis,
        version: "2.8.19",
        family: "redis2.8",
    },
    EngineVersion {
        engine: Engine::Redis,
        version: "2.8.21",
        family: "redis2.8",
    },
];

pub fn engine_version(engine: Engine, version: &str) -> Option<&'static EngineVersion> {
    ENGINE_VERSIONS
        .iter()
        .find(|v| v.engine == engine && v.version == version)
}

/// Compares dotted version strings numerically (`1.4.5` < `1.4.14`).
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let b = b.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    a.cmp(b)
}

/// Whether a parameter takes effect at once or at the next reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeType {
    Immediate,
    RequiresReboot,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Immediate => "immediate",
            ChangeType::RequiresReboot => "requires-reboot",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modifiable {
    Yes,
    No,
    /// Modifiable only while no cluster uses the group (`activerehashing`, `databases`).
    Conditional,
}

/// One parameter of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub struct ParameterDef {
    pub engine: Engine,
    pub name: String,
    /// The first engine version that has it (`MinimumEngineVersion`).
    pub since: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub default: String,
    pub allowed: String,
    pub modifiable: Modifiable,
    pub change: ChangeType,
    pub description: String,
}

/// A parameter group family.
#[derive(Debug, Clone, Deserialize)]
pub struct Family {
    pub family: String,
    pub engine: Engine,
    pub description: String,
}

#[derive(Deserialize)]
struct ParameterFile {
    families: Vec<Family>,
    parameters: Vec<ParameterDef>,
}

fn parameter_file() -> &'static ParameterFile {
    static FILE: OnceLock<ParameterFile> = OnceLock::new();
    FILE.get_or_init(|| {
        serde_json::from_str(include_str!("../data/parameters.json"))
            .expect("data/parameters.json is valid")
    })
}

pub fn families() -> &'static [Family] {
    &parameter_file().families
}

pub fn family(name: &str) -> Option<&'static Family> {
    families().iter().find(|f| f.family == name)
}

/// The newest engine version of a family: its parameters are those up to that version.
fn family_ceiling(family: &str) -> Option<&'static str> {
    ENGINE_VERSIONS
        .iter()
        .filter(|v| v.family == family)
        .map(|v| v.version)
        .max_by(|a, b| version_cmp(a, b))
}

/// The parameters of a family, in catalogue order (computed once per family).
pub fn family_parameters(family_name: &str) -> &'static [&'static ParameterDef] {
    static BY_FAMILY: OnceLock<Vec<(String, Vec<&'static ParameterDef>)>> = OnceLock::new();
    let all = BY_FAMILY.get_or_init(|| {
        families()
            .iter()
            .map(|f| {
                let ceiling = family_ceiling(&f.family).unwrap_or("0");
                let defs = parameter_file()
                    .parameters
                    .iter()
                    .filter(|p| p.engine == f.engine && version_cmp(&p.since, ceiling).is_le())
                    .collect();
                (f.family.clone(), defs)
            })
            .collect()
    });
    all.iter()
        .find(|(f, _)| f == family_name)
        .map_or(&[], |(_, defs)| defs.as_slice())
}

pub fn family_parameter(family_name: &str, name: &str) -> Option<&'static ParameterDef> {
    family_parameters(family_name)
        .iter()
        .find(|p| p.name == name)
        .copied()
}

/// The node-type-specific parameter of an engine, one value per node type.
pub struct NodeTypeSpecificDef {
    pub name: &'static str,
    pub description: &'static str,
    pub data_type: &'static str,
    pub allowed: &'static str,
    pub value: fn(&NodeType) -> String,
}

pub fn node_type_specific(engine: Engine) -> &'static [NodeTypeSpecificDef] {
    const MEMCACHED: &[NodeTypeSpecificDef] = &[
        NodeTypeSpecificDef {
            name: "max_cache_memory",
            description:
                "The maximum configurable amount of memory to use to store items, in megabytes.",
            data_type: "integer",
            allowed: "1-",
            value: |t| t.max_cache_memory.to_string(),
        },
        NodeTypeSpecificDef {
            name: "num_threads",
            description: "The number of memcached threads to use.",
            data_type: "integer",
            allowed: "1-",
            value: |t| t.num_threads.to_string(),
        },
    ];
    const REDIS: &[NodeTypeSpecificDef] = &[NodeTypeSpecificDef {
        name: "maxmemory",
        description: "The maximum configurable amount of memory to use to store items, in bytes.",
        data_type: "integer",
        allowed: "1-",
        value: |t| t.maxmemory.to_string(),
    }];
    match engine {
        Engine::Memcached => MEMCACHED,
        Engine::Redis => REDIS,
    }
}

/// Checks a value against a parameter's data type and allowed values. Returns the reason when
/// it does not fit.
pub fn check_value(def: &ParameterDef, value: &str) -> Result<(), String> {
    let bad = || format!("Value ({value}) for parameter {} is incorrect.", def.name);
    match def.data_type.as_str() {
        "integer" => {
            let n: i64 = value.parse().map_err(|_| bad())?;
            if let Some((lo, hi)) = def.allowed.split_once('-') {
                let lo_ok = lo.is_empty() || lo.parse::<i64>().is_ok_and(|lo| n >= lo);
                let hi_ok = hi.is_empty() || hi.parse::<i64>().is_ok_and(|hi| n <= hi);
                if !lo_ok || !hi_ok {
                    return Err(format!("{} Allowed values are {}.", bad(), def.allowed));
                }
            } else if !def.allowed.is_empty() && !def.allowed.split(',').any(|a| a == value) {
                return Err(format!("{} Allowed values are {}.", bad(), def.allowed));
            }
        }
        "float" => {
            let x: f64 = value.parse().map_err(|_| bad())?;
            if let Some((lo, hi)) = def.allowed.split_once('-') {
                let lo_ok = lo.is_empty() || lo.parse::<f64>().is_ok_and(|lo| x >= lo);
                let hi_ok = hi.is_empty() || hi.parse::<f64>().is_ok_and(|hi| x <= hi);
                if !lo_ok || !hi_ok || !x.is_finite() {
                    return Err(format!("{} Allowed values are {}.", bad(), def.allowed));
                }
            }
        }
        "boolean" => {
            if value != "0" && value != "1" {
                return Err(format!("{} Allowed values are 0,1.", bad()));
            }
        }
        _ => {
            if def.name == "notify-keyspace-events" {
                if let Some(c) = value.chars().find(|c| !"KEg$lshzxeA".contains(*c)) {
                    return Err(format!(
                        "{} Invalid character '{c}'; allowed are K E g $ l s h z x e A.",
                        bad()
                    ));
                }
            } else if !def.allowed.is_empty() && !def.allowed.split(',').any(|a| a == value) {
                return Err(format!("{} Allowed values are {}.", bad(), def.allowed));
            }
        }
    }
    Ok(())
}

/// Reserved-node offering types (behaviour.md §9).
pub const OFFERING_TYPES: &[&str] = &[
    "Heavy Utilization",
    "Medium Utilization",
    "Light Utilization",
];
/// Reservation terms, in seconds: one year and three years.
pub const OFFERING_DURATIONS: &[i64] = &[31_536_000, 94_608_000];

/// A reserved cache node offering.
#[derive(Debug, Clone, PartialEq)]
pub struct Offering {
    pub id: String,
    pub node_type: String,
    pub duration: i64,
    pub fixed_price: f64,
    pub usage_price: f64,
    pub product: Engine,
    pub offering_type: &'static str,
    /// Hourly recurring charge (Heavy Utilization only).
    pub recurring_hourly: Option<f64>,
}

/// The offerings catalogue: every node type × offering type × term × engine.
///
/// The guide prices only a few offerings (cache.m1.small, 1 year: Medium 227.50 + 0.046/h, Heavy
/// 162.00 + 0.123/h recurring). Prices scale from that anchor by the node's memory; Light costs
/// 45% of Medium up front and twice its hourly rate; a 3-year term costs 1.5× the 1-year fixed
/// price. These are list prices for display; nothing is billed.
pub fn offerings() -> &'static [Offering] {
    static OFFERINGS: OnceLock<Vec<Offering>> = OnceLock::new();
    OFFERINGS.get_or_init(|| {
        let round = |x: f64, places: i32| {
            let f = 10f64.powi(places);
            (x * f).round() / f
        };
        let mut all = Vec::new();
        for t in node_types() {
            let scale = t.max_cache_memory as f64 / 1300.0;
            for product in [Engine::Memcached, Engine::Redis] {
                for &offering_type in OFFERING_TYPES {
                    for &duration in OFFERING_DURATIONS {
                        let term = if duration > 31_536_000 { 1.5 } else { 1.0 };
                        let (fixed, usage, recurring) = match offering_type {
                            "Heavy Utilization" => {
                                (162.0 * scale * term, 0.0, Some(round(0.123 * scale, 3)))
                            }
                            "Medium Utilization" => (227.5 * scale * term, 0.046 * scale, None),
                            _ => (227.5 * 0.45 * scale * term, 0.092 * scale, None),
                        };
                        let key = format!(
                            "{}|{}|{}|{}",
                            t.name,
                            product.as_str(),
                            offering_type,
                            duration
                        );
                        all.push(Offering {
                            id: uuid_from(&key),
                            node_type: t.name.clone(),
                            duration,
                            fixed_price: round(fixed, 2),
                            usage_price: round(usage, 3),
                            product,
                            offering_type,
                            recurring_hourly: recurring,
                        });
                    }
                }
            }
        }
        all
    })
}

pub fn offering(id: &str) -> Option<&'static Offering> {
    offerings().iter().find(|o| o.id == id)
}

/// A stable UUID-shaped id derived from a key (FNV-1a, version-4 layout), so offering ids stay
/// the same across restarts and machines.
fn uuid_from(key: &str) -> String {
    let fnv = |seed: u64| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for b in key.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let mut bits = (u128::from(fnv(0)) << 64) | u128::from(fnv(0x9e37_79b9_7f4a_7c15));
    bits = (bits & !(0xf << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    uuid::Uuid::from_u128(bits).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_table_has_the_guides_21_types() {
        assert_eq!(node_types().len(), 21);
        let m3 = node_type("cache.m3.medium").unwrap();
        assert_eq!(
            (m3.max_cache_memory, m3.num_threads, m3.maxmemory),
            (2850, 1, 2988441600)
        );
        assert!(node_type("cache.c1.medium").is_none());
    }

    #[test]
    fn families_hold_the_guides_parameter_counts() {
        assert_eq!(family_parameters("memcached1.4").len(), 19);
        assert_eq!(family_parameters("redis2.6").len(), 30);
        assert_eq!(family_parameters("redis2.8").len(), 36);
        assert!(family_parameter("redis2.6", "notify-keyspace-events").is_none());
        assert!(family_parameter("redis2.8", "notify-keyspace-events").is_some());
        assert!(family_parameters("redis3.2").is_empty());
    }

    #[test]
    fn every_memcached_change_needs_a_restart_and_redis_ones_are_immediate() {
        for p in family_parameters("memcached1.4") {
            assert_eq!(p.change, ChangeType::RequiresReboot, "{}", p.name);
        }
        for p in family_parameters("redis2.8") {
            assert_eq!(p.change, ChangeType::Immediate, "{}", p.name);
        }
    }

    #[test]
    fn values_are_checked_against_type_and_allowed_values() {
        let policy = family_parameter("redis2.8", "maxmemory-policy").unwrap();
        assert!(check_value(policy, "allkeys-lru").is_ok());
        assert!(check_value(policy, "lru").is_err());
        let backlog = family_parameter("redis2.8", "repl-backlog-size").unwrap();
        assert!(check_value(backlog, "16384").is_ok());
        assert!(check_value(backlog, "16383").is_err());
        assert!(check_value(backlog, "big").is_err());
        let cas = family_parameter("memcached1.4", "cas_disabled").unwrap();
        assert!(check_value(cas, "1").is_ok());
        assert!(check_value(cas, "true").is_err());
        let growth = family_parameter("memcached1.4", "chunk_size_growth_factor").unwrap();
        assert!(check_value(growth, "1.02").is_ok());
        assert!(check_value(growth, "x").is_err());
        let events = family_parameter("redis2.8", "notify-keyspace-events").unwrap();
        assert!(check_value(events, "AKE").is_ok());
        assert!(check_value(events, "AKQ").is_err());
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_cmp("1.4.5", "1.4.14").is_lt());
        assert!(version_cmp("2.8.21", "2.8.6").is_gt());
    }

    #[test]
    fn offerings_cover_types_kinds_and_terms_with_stable_unique_ids() {
        let all = offerings();
        assert_eq!(all.len(), 21 * 2 * 3 * 2);
        let mut ids: Vec<_> = all.iter().map(|o| o.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        let small = all
            .iter()
            .find(|o| {
                o.node_type == "cache.m1.small"
                    && o.offering_type == "Medium Utilization"
                    && o.duration == 31_536_000
            })
            .unwrap();
        assert_eq!((small.fixed_price, small.usage_price), (227.5, 0.046));
        assert_eq!(uuid_from("a"), uuid_from("a"));
        assert_eq!(
            uuid::Uuid::parse_str(&small.id).unwrap().get_version_num(),
            4
        );
    }
}
