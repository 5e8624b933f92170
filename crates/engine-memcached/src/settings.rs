//! The Memcached parameters of the guide, parsed from `--param NAME=VALUE` and from the admin
//! command `config set param NAME VALUE`.
//!
//! Memory: items may use `max_cache_memory - memcached_connections_overhead` MB. Without
//! `max_cache_memory` (a standalone node), the limit is memcached's default of 64 MB.
//! Parameters the guide marks as not modifiable are accepted and validated; those that only
//! tune memcached internals we do not have (large pages, core files, paged memory locking,
//! backlog size) change nothing, as documented on each field.

use std::fmt;

/// Why a parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// Which protocols a node accepts (`binding_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingProtocol {
    Auto,
    Ascii,
    Binary,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// MB for the node (node-type parameter); `None` on a standalone node.
    pub max_cache_memory: Option<u64>,
    /// MB held back for connections.
    pub memcached_connections_overhead: u64,
    pub max_item_size: u64,
    pub cas_disabled: bool,
    pub chunk_size: u32,
    pub chunk_size_growth_factor: f64,
    pub error_on_memory_exhausted: bool,
    pub maxconns_fast: bool,
    pub max_simultaneous_connections: u64,
    pub slab_automove: u32,
    pub slab_reassign: bool,
    pub num_threads: usize,
    pub hashpower_init: u32,
    pub config_max: u64,
    pub config_size_max: u64,
    pub binding_protocol: BindingProtocol,
    /// Most requests served for one connection before yielding to others.
    pub requests_per_event: u32,
    /// Accepted, no effect: the listen backlog is the OS default.
    pub backlog_queue_limit: u32,
    /// Accepted, no effect (no huge pages, no mlock, no core-file tuning).
    pub large_memory_pages: bool,
    pub lock_down_paged_memory: bool,
    pub maximize_core_file_limit: bool,
}

/// memcached's default item memory when no node type says otherwise.
pub const STANDALONE_LIMIT_MB: u64 = 64;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_cache_memory: None,
            memcached_connections_overhead: 100,
            max_item_size: 1024 * 1024,
            cas_disabled: false,
            chunk_size: 48,
            chunk_size_growth_factor: 1.25,
            error_on_memory_exhausted: false,
            maxconns_fast: false,
            max_simultaneous_connections: 65000,
            slab_automove: 0,
            slab_reassign: false,
            num_threads: 4,
            hashpower_init: 16,
            config_max: 16,
            config_size_max: 65536,
            binding_protocol: BindingProtocol::Auto,
            requests_per_event: 20,
            backlog_queue_limit: 1024,
            large_memory_pages: false,
            lock_down_paged_memory: false,
            maximize_core_file_limit: false,
        }
    }
}

/// Parameters that need a restart (they shape memory layout or threads).
const RESTART_ONLY: &[&str] = &[
    "cas_disabled",
    "chunk_size",
    "chunk_size_growth_factor",
    "num_threads",
    "hashpower_init",
    "binding_protocol",
];

fn boolean(name: &str, v: &str) -> Result<bool, ParamError> {
    match v {
        "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(ParamError(format!("{name}: expected 0 or 1, got {v:?}"))),
    }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ParamError> {
    v.parse()
        .map_err(|_| ParamError(format!("{name}: expected a number, got {v:?}")))
}

impl Settings {
    /// Applies one parameter at startup.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        let v = value.trim();
        match name {
            "max_cache_memory" => self.max_cache_memory = Some(number(name, v)?),
            "memcached_connections_overhead" => {
                self.memcached_connections_overhead = number(name, v)?
            }
            "max_item_size" => {
                let size: u64 = number(name, v)?;
                if !(1024..=1024 * 1024 * 1024).contains(&size) {
                    return Err(ParamError(format!(
                        "max_item_size: {size} is outside 1024..1073741824"
                    )));
                }
                self.max_item_size = size;
            }
            "cas_disabled" => self.cas_disabled = boolean(name, v)?,
            "chunk_size" => {
                let c: u32 = number(name, v)?;
                if c == 0 {
                    return Err(ParamError("chunk_size must be positive".into()));
                }
                self.chunk_size = c;
            }
            "chunk_size_growth_factor" => {
                let f: f64 = number(name, v)?;
                if f <= 1.0 {
                    return Err(ParamError(
                        "chunk_size_growth_factor must be above 1".into(),
                    ));
                }
                self.chunk_size_growth_factor = f;
            }
            "error_on_memory_exhausted" => self.error_on_memory_exhausted = boolean(name, v)?,
            "maxconns_fast" => self.maxconns_fast = boolean(name, v)?,
            "max_simultaneous_connections" => {
                self.max_simultaneous_connections = number::<u64>(name, v)?.max(1)
            }
            "slab_automove" => {
                let n: u32 = number(name, v)?;
                if n > 2 {
                    return Err(ParamError("slab_automove must be 0, 1 or 2".into()));
                }
                self.slab_automove = n;
            }
            "slab_reassign" => self.slab_reassign = boolean(name, v)?,
            "num_threads" => self.num_threads = number::<usize>(name, v)?.max(1),
            "hashpower_init" => self.hashpower_init = number::<u32>(name, v)?.clamp(8, 32),
            "config_max" => self.config_max = number(name, v)?,
            "config_size_max" => self.config_size_max = number(name, v)?,
            "binding_protocol" => {
                self.binding_protocol = match v {
                    "auto" => BindingProtocol::Auto,
                    "ascii" => BindingProtocol::Ascii,
                    "binary" => BindingProtocol::Binary,
                    _ => return Err(ParamError(format!("binding_protocol: {v:?}"))),
                }
            }
            "requests_per_event" => self.requests_per_event = number::<u32>(name, v)?.max(1),
            "backlog_queue_limit" => self.backlog_queue_limit = number(name, v)?,
            "large_memory_pages" => self.large_memory_pages = boolean(name, v)?,
            "lock_down_paged_memory" => self.lock_down_paged_memory = boolean(name, v)?,
            "maximize_core_file_limit" => self.maximize_core_file_limit = boolean(name, v)?,
            _ => return Err(ParamError(format!("unknown memcached parameter {name:?}"))),
        }
        Ok(())
    }

    /// Applies one parameter on a running node (admin command); restart-only ones are refused.
    pub fn apply_runtime(&mut self, name: &str, value: &str) -> Result<(), ParamError> {
        if RESTART_ONLY.contains(&name) {
            return Err(ParamError(format!(
                "{name} takes effect only after a restart"
            )));
        }
        self.apply(name, value)
    }

    /// Bytes items may use.
    pub fn limit_bytes(&self) -> u64 {
        let mb = match self.max_cache_memory {
            Some(total) => total
                .saturating_sub(self.memcached_connections_overhead)
                .max(1),
            None => STANDALONE_LIMIT_MB,
        };
        mb * 1024 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_limit_rules() {
        let mut s = Settings::default();
        assert_eq!(s.limit_bytes(), 64 << 20);
        s.apply("max_cache_memory", "64").unwrap();
        s.apply("memcached_connections_overhead", "0").unwrap();
        assert_eq!(s.limit_bytes(), 64 << 20);
        s.apply("max_cache_memory", "1300").unwrap();
        s.apply("memcached_connections_overhead", "100").unwrap();
        assert_eq!(s.limit_bytes(), 1200 << 20);
    }

    #[test]
    fn refusals() {
        let mut s = Settings::default();
        assert!(s.apply("nope", "1").is_err());
        assert!(s.apply("cas_disabled", "2").is_err());
        assert!(s.apply_runtime("cas_disabled", "1").is_err());
        assert!(s.apply_runtime("error_on_memory_exhausted", "1").is_ok());
    }
}
