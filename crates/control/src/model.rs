//! The resources the control plane keeps, as plain data: what the API wrote (desired state)
//! and what the reconciler observed (statuses, processes). `State` is the whole of it; the
//! state store persists it document by document.

use crate::catalog::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use time::OffsetDateTime;

/// A point in time, stored as Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_datetime(t: OffsetDateTime) -> Timestamp {
        Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Cluster statuses (behaviour.md §11; `rebooting cache cluster nodes` from the API docs).
pub mod cluster_status {
    pub const CREATING: &str = "creating";
    pub const AVAILABLE: &str = "available";
    pub const MODIFYING: &str = "modifying";
    pub const REBOOTING: &str = "rebooting cache cluster nodes";
    pub const DELETING: &str = "deleting";
    // Snapshots (issue 5).
    pub const SNAPSHOTTING: &str = "snapshotting";
    pub const RESTORE_FAILED: &str = "restore-failed";
}

/// Node statuses.
pub mod node_status {
    pub const CREATING: &str = "creating";
    pub const AVAILABLE: &str = "available";
    pub const REBOOTING: &str = "rebooting";
    pub const DELETING: &str = "deleting";
}

/// Parameter apply statuses of a cluster and of each node.
pub mod param_status {
    pub const IN_SYNC: &str = "in-sync";
    pub const PENDING_REBOOT: &str = "pending-reboot";
    pub const APPLYING: &str = "applying";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AzMode {
    SingleAz,
    CrossAz,
}

impl AzMode {
    pub fn parse(s: &str) -> Option<AzMode> {
        match s {
            "single-az" => Some(AzMode::SingleAz),
            "cross-az" => Some(AzMode::CrossAz),
            _ => None,
        }
    }
}

/// A cache cluster: 1..n nodes of one engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Stored lower-case.
    pub id: String,
    pub engine: Engine,
    pub engine_version: String,
    pub node_type: String,
    pub status: String,
    /// The node count the cluster has now (a pending change shows in `pending`).
    pub num_cache_nodes: u32,
    pub az_mode: AzMode,
    /// The AZ of a single-AZ cluster, `Multiple` for cross-AZ.
    pub preferred_az: String,
    pub created: Timestamp,
    /// `ddd:hh24:mi-ddd:hh24:mi`, lower-case days.
    pub maintenance_window: String,
    pub pending: Pending,
    pub notification: Option<Notification>,
    pub cache_security_groups: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub parameter_group: String,
    pub subnet_group: Option<String>,
    pub port: u16,
    pub auto_minor_version_upgrade: bool,
    pub snapshot_retention_limit: u32,
    pub snapshot_window: Option<String>,
    pub replication_group_id: Option<String>,
    /// Memcached only: the loopback address every node also listens on.
    pub configuration_address: Option<Ipv4Addr>,
    /// Memcached Auto Discovery configuration version: +1 on every membership change.
    pub discovery_version: u64,
    pub nodes: Vec<Node>,
    /// The number the next new node gets (`0001`, `0002`, ...); ids are never reused.
    pub next_node_number: u32,
    /// Data to load into the first node before it starts (restore or seed; issue 5).
    #[serde(default)]
    pub restore: Option<Restore>,
    /// When CreateSnapshot was called for this cluster in the last 24 hours (the quota of 20).
    #[serde(default)]
    pub manual_snapshots: Vec<Timestamp>,
}

// ---- Snapshots (issue 5) ----

/// Snapshot statuses (behaviour.md §11).
pub mod snapshot_status {
    pub const CREATING: &str = "creating";
    pub const AVAILABLE: &str = "available";
    pub const FAILED: &str = "failed";
}

/// A snapshot: the record here, the RDB file in the snapshot store (`snapshots.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    pub status: String,
    /// `manual` or `automated`.
    pub source: String,
    /// The cluster as it was when the snapshot started: restore defaults to its settings.
    pub cluster: Cluster,
    /// The node whose data the snapshot holds.
    pub node_id: String,
    pub created: Timestamp,
    /// CopySnapshot: the snapshot whose file this one copies (until it is available).
    pub copy_of: Option<String>,
    /// The stored file, once available: its size and SHA-256 (hex).
    pub size: u64,
    pub sha256: String,
}

/// Where a restoring cluster's data comes from, and how far preparing it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    pub source: RestoreSource,
    /// The validated RDB file waiting in the staging area; the node starts once it is there.
    pub staged: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RestoreSource {
    /// CreateCacheCluster + SnapshotName.
    Snapshot(String),
    /// CreateCacheCluster + SnapshotArns: `arn:aws:s3:::bucket/key`.
    Object(String),
}

impl Cluster {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }

    /// Nodes that are part of the cluster's membership (not being deleted).
    pub fn members(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(|n| n.status != node_status::DELETING)
    }
}

/// Changes waiting for ApplyImmediately or the maintenance window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub num_cache_nodes: Option<u32>,
    pub cache_node_ids_to_remove: Vec<String>,
    /// AZs for the nodes a pending creation adds.
    pub new_availability_zones: Vec<String>,
    pub engine_version: Option<String>,
    /// Modifications without ApplyImmediately that only the window applies.
    pub deferred: Option<Deferred>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.num_cache_nodes.is_none()
            && self.cache_node_ids_to_remove.is_empty()
            && self.engine_version.is_none()
            && self.deferred.is_none()
    }
}

/// Settings ModifyCacheCluster changes without ApplyImmediately, applied in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deferred {
    pub parameter_group: Option<String>,
    pub cache_security_groups: Option<Vec<String>>,
    pub security_group_ids: Option<Vec<String>>,
    pub notification: Option<Notification>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub topic_arn: String,
    pub status: String,
}

/// One cache node: a process of `ferrocache node` at its own loopback address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// `0001`, `0002`, ...
    pub id: String,
    pub status: String,
    pub created: Timestamp,
    pub availability_zone: String,
    pub address: Ipv4Addr,
    /// The running process, once started.
    pub process: Option<ProcessRecord>,
    /// Parameter values the running process has (set at start or pushed since). Shared, as
    /// every state copy and every Describe would otherwise copy it.
    pub applied_params: Arc<BTreeMap<String, String>>,
    /// A reboot was asked for and has not happened yet.
    pub reboot_requested: bool,
    /// Pending removal (without ApplyImmediately): the node keeps serving until the window.
    pub pending_removal: bool,
    /// The process died and a replacement is starting at the same address.
    #[serde(default)]
    pub recovering: bool,
    /// The Auto Discovery configuration version the running process has been given.
    #[serde(default)]
    pub discovery_seen: u64,
}

/// How to find a node's process again after `serve` restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: u32,
    pub control_socket: String,
    pub started: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterGroup {
    /// Stored lower-case.
    pub name: String,
    pub family: String,
    pub description: String,
    /// Values set by ModifyCacheParameterGroup (Source `user`); the rest are engine defaults.
    pub values: BTreeMap<String, String>,
}

impl ParameterGroup {
    pub fn is_default(&self) -> bool {
        self.name.starts_with("default.")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub ec2_groups: Vec<Ec2Authorization>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Authorization {
    pub name: String,
    pub owner_id: String,
    pub status: String,
    pub since: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetGroup {
    /// Stored lower-case.
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub subnets: Vec<Subnet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub availability_zone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub source_identifier: String,
    /// `cache-cluster`, `cache-parameter-group`, `cache-security-group`, `cache-subnet-group`.
    pub source_type: String,
    pub message: String,
    /// The guide's event name (`ElastiCache:CacheClusterProvisioningComplete`, ...).
    pub name: String,
    pub date: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservedNode {
    pub id: String,
    pub offering_id: String,
    pub start: Timestamp,
    pub count: u32,
    pub state: String,
}

/// Counters and allocations that belong to no single resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The second and third octets of this installation's loopback block (127.a.b.x, then
    /// 127.a.(b+1).x ...), chosen at random on first start so two installations on one machine
    /// do not collide.
    pub loopback_base: [u8; 2],
    /// The next loopback address index to hand out.
    pub next_address: u32,
    pub next_event_seq: u64,
}

/// Everything the control plane knows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub clusters: BTreeMap<String, Cluster>,
    pub parameter_groups: BTreeMap<String, ParameterGroup>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub subnet_groups: BTreeMap<String, SubnetGroup>,
    /// Keyed by sequence number.
    pub events: BTreeMap<u64, Event>,
    /// Keyed by resource ARN.
    pub tags: BTreeMap<String, Vec<Tag>>,
    pub reserved_nodes: BTreeMap<String, ReservedNode>,
    pub meta: Option<Meta>,
    /// Keyed by snapshot name (issue 5).
    pub snapshots: BTreeMap<String, Snapshot>,
    /// Keyed by replication group id (issue 6).
    pub replication_groups: BTreeMap<String, ReplicationGroup>,
}

// ---- Replication groups (issue 6) ----

/// Replication group statuses.
pub mod group_status {
    pub const CREATING: &str = "creating";
    pub const AVAILABLE: &str = "available";
    pub const MODIFYING: &str = "modifying";
    pub const DELETING: &str = "deleting";
}

/// A Redis replication group: one primary cluster and up to 5 read-replica clusters (each a
/// one-node cluster), and a primary endpoint that only the current primary listens on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationGroup {
    /// Stored lower-case.
    pub id: String,
    pub description: String,
    pub status: String,
    /// The member cluster that is (or is becoming) the primary.
    pub primary_cluster: String,
    /// Member clusters in the order they joined, the primary among them.
    pub members: Vec<String>,
    /// Automatic failover (the guide's "Multi-AZ with automatic failover").
    pub automatic_failover: bool,
    /// `MultiAZEnabled`: needs automatic failover. Unset, it follows `automatic_failover`, as
    /// the guide has them as one feature.
    #[serde(default)]
    pub multi_az: Option<bool>,
    /// `SnapshottingClusterId`: the member a snapshot of the group is taken from.
    #[serde(default)]
    pub snapshotting_cluster: Option<String>,
    /// The primary endpoint's address (the members' port).
    pub endpoint: Ipv4Addr,
    pub port: u16,
    /// DeleteReplicationGroup RetainPrimaryCluster: the primary leaves the group instead.
    pub retain_primary: bool,
    pub created: Timestamp,
}

impl ReplicationGroup {
    /// Multi-AZ as DescribeReplicationGroups shows it.
    pub fn multi_az(&self) -> bool {
        self.multi_az.unwrap_or(self.automatic_failover)
    }
}
