//! The control plane's core: the state in memory, written through the store one transaction
//! per API write, plus what every operation shares (events, addresses, parameter resolution).
//!
//! ```text
//!   API call ──▶ ControlPlane::write(|state| rules + changes) ──▶ Store::commit(batch) ──▶ answer
//!                                   │
//!                                   └─ wakes ──▶ reconciler ──▶ provisioner (node processes)
//! ```
//!
//! A write works on a copy of the state; if the rules refuse, or the store fails, nothing
//! changes, in memory or on disk.

use crate::catalog::{self, ChangeType, Engine};
use crate::clock::Clock;
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::store::{self, Store};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Events older than this are dropped (DescribeEvents reaches back 14 days).
const EVENT_RETENTION_DAYS: i64 = 14;

/// Settings fixed for the life of a control plane.
#[derive(Clone)]
pub struct Settings {
    pub region: String,
    pub account_id: String,
    pub clock: Arc<dyn Clock>,
    /// Whether an address:port is free to hand out (binding it is the test; tests of the rules
    /// can say yes to everything).
    pub address_free: fn(Ipv4Addr, u16) -> bool,
}

impl Settings {
    pub fn now(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    pub fn arn(&self, resource_type: &str, name: &str) -> String {
        crate::rules::make_arn(&self.region, &self.account_id, resource_type, name)
    }

    /// The region's three Availability Zones.
    pub fn availability_zones(&self) -> [String; 3] {
        ["a", "b", "c"].map(|s| format!("{}{s}", self.region))
    }
}

/// Binds the address to see whether it is free.
pub fn address_free_by_binding(addr: Ipv4Addr, port: u16) -> bool {
    std::net::TcpListener::bind((addr, port)).is_ok()
}

pub struct ControlPlane {
    state: Mutex<Inner>,
    pub settings: Settings,
    wake: Mutex<Option<Box<dyn Fn() + Send>>>,
}

struct Inner {
    state: Arc<State>,
    store: Box<dyn Store>,
}

impl ControlPlane {
    /// Loads the state and makes sure the built-in resources exist (default parameter groups,
    /// the `default` security group, the loopback block).
    pub fn open(mut store: Box<dyn Store>, settings: Settings) -> anyhow::Result<ControlPlane> {
        let state = store::decode(store.load()?)?;
        let plane = ControlPlane {
            state: Mutex::new(Inner {
                state: Arc::new(state),
                store,
            }),
            settings,
            wake: Mutex::new(None),
        };
        plane
            .write(|state, settings| {
                bootstrap(state, settings);
                Ok(())
            })
            .map_err(|f| anyhow::anyhow!("initialising the state: {f}"))?;
        Ok(plane)
    }

    /// Called after every committed write (the reconciler's doorbell).
    pub fn on_write(&self, wake: impl Fn() + Send + 'static) {
        *self.wake.lock() = Some(Box::new(wake));
    }

    /// A consistent snapshot of the state.
    pub fn snapshot(&self) -> Arc<State> {
        self.state.lock().state.clone()
    }

    pub fn read<R>(&self, f: impl FnOnce(&State, &Settings) -> R) -> R {
        let state = self.snapshot();
        f(&state, &self.settings)
    }

    /// Runs `f` on a copy of the state and commits what it changed as one transaction.
    pub fn write<R>(&self, f: impl FnOnce(&mut State, &Settings) -> Result<R>) -> Result<R> {
        let result = {
            let mut inner = self.state.lock();
            let mut next = (*inner.state).clone();
            let result = f(&mut next, &self.settings)?;
            prune_events(&mut next, &self.settings);
            let batch = store::diff(&inner.state, &next);
            if batch.is_empty() {
                return Ok(result);
            }
            inner
                .store
                .commit(&batch)
                .map_err(|e| Fault::internal(format!("state store: {e}")))?;
            inner.state = Arc::new(next);
            result
        };
        if let Some(wake) = &*self.wake.lock() {
            wake();
        }
        Ok(result)
    }
}

fn bootstrap(state: &mut State, settings: &Settings) {
    if state.meta.is_none() {
        // 127.0.x.x is left to everything else; pick a block of our own.
        let a = 16 + rand::random::<u8>() % 230;
        let b = rand::random::<u8>() % 200;
        state.meta = Some(Meta {
            loopback_base: [a, b],
            next_address: 0,
            next_event_seq: 1,
        });
    }
    for family in catalog::families() {
        let name = format!("default.{}", family.family);
        state
            .parameter_groups
            .entry(name.clone())
            .or_insert_with(|| ParameterGroup {
                name,
                family: family.family.clone(),
                description: family.description.clone(),
                values: BTreeMap::new(),
            });
    }
    state
        .security_groups
        .entry("default".into())
        .or_insert_with(|| SecurityGroup {
            name: "default".into(),
            description: "default".into(),
            owner_id: settings.account_id.clone(),
            ec2_groups: Vec::new(),
        });
}

fn prune_events(state: &mut State, settings: &Settings) {
    let cutoff = settings.clock.now() - time::Duration::days(EVENT_RETENTION_DAYS);
    let cutoff = Timestamp::from_datetime(cutoff);
    state.events.retain(|_, e| e.date >= cutoff);
}

/// Records an event.
pub fn emit(
    state: &mut State,
    settings: &Settings,
    source_type: &str,
    source_identifier: &str,
    name: &str,
    message: impl Into<String>,
) {
    let meta = state.meta.as_mut().expect("bootstrapped");
    let seq = meta.next_event_seq;
    meta.next_event_seq += 1;
    state.events.insert(
        seq,
        Event {
            seq,
            source_identifier: source_identifier.to_string(),
            source_type: source_type.to_string(),
            message: message.into(),
            name: name.to_string(),
            date: settings.now(),
        },
    );
}

/// Hands out the next free loopback address of this installation's block (127.a.b.2 ..
/// 127.a.b.251, then 127.a.(b+1).2 ...). Addresses are never reused, so an endpoint names one
/// node forever.
pub fn allocate_address(state: &mut State, settings: &Settings, port: u16) -> Result<Ipv4Addr> {
    let meta = state.meta.as_mut().expect("bootstrapped");
    for _ in 0..10_000 {
        let index = meta.next_address;
        meta.next_address += 1;
        let third = u32::from(meta.loopback_base[1]) + index / 250;
        if third > 255 {
            break;
        }
        let addr = Ipv4Addr::new(
            127,
            meta.loopback_base[0],
            third as u8,
            (index % 250 + 2) as u8,
        );
        if (settings.address_free)(addr, port) {
            return Ok(addr);
        }
    }
    Err(Fault::insufficient_cache_cluster_capacity(
        "There are no free loopback addresses left for new cache nodes.",
    ))
}

/// The parameter values a cluster's nodes should run with: the family's defaults for the
/// engine version, overridden by the group's values.
pub fn desired_params(state: &State, cluster: &Cluster) -> BTreeMap<String, String> {
    let Some(group) = state.parameter_groups.get(&cluster.parameter_group) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for def in catalog::family_parameters(&group.family) {
        if catalog::version_cmp(&def.since, &cluster.engine_version).is_gt() {
            continue;
        }
        let value = group
            .values
            .get(&def.name)
            .cloned()
            .unwrap_or_else(|| def.default.clone());
        out.insert(def.name.clone(), value);
    }
    // The guide: with the default group, a cache.t1.micro node keeps 13 MB, not 100, for
    // connections.
    if cluster.engine == Engine::Memcached
        && group.is_default()
        && cluster.node_type == "cache.t1.micro"
    {
        out.insert("memcached_connections_overhead".into(), "13".into());
    }
    out
}

/// How a node's parameters compare with what it should run (`desired` from
/// [`desired_params`], `family` the group's).
fn node_param_status_with(
    desired: &BTreeMap<String, String>,
    family: &str,
    node: &Node,
) -> &'static str {
    if node.process.is_none() {
        return param_status::IN_SYNC;
    }
    let mut status = param_status::IN_SYNC;
    for (name, value) in desired {
        if node.applied_params.get(name) == Some(value) {
            continue;
        }
        match catalog::family_parameter(family, name).map(|d| d.change) {
            Some(ChangeType::RequiresReboot) => return param_status::PENDING_REBOOT,
            _ => status = param_status::APPLYING,
        }
    }
    status
}

/// The parameter status of a cluster: its apply status, the nodes that wait for a reboot, and
/// each node's own status (in node order).
pub fn param_statuses(
    state: &State,
    cluster: &Cluster,
) -> (&'static str, Vec<String>, Vec<&'static str>) {
    let desired = desired_params(state, cluster);
    let family = state
        .parameter_groups
        .get(&cluster.parameter_group)
        .map(|g| g.family.as_str())
        .unwrap_or_default();
    let mut to_reboot = Vec::new();
    let mut status = param_status::IN_SYNC;
    let mut per_node = Vec::with_capacity(cluster.nodes.len());
    for node in &cluster.nodes {
        let s = node_param_status_with(&desired, family, node);
        per_node.push(s);
        if node.status == node_status::DELETING {
            continue;
        }
        match s {
            param_status::PENDING_REBOOT => {
                to_reboot.push(node.id.clone());
                status = param_status::PENDING_REBOOT;
            }
            param_status::APPLYING if status == param_status::IN_SYNC => {
                status = param_status::APPLYING
            }
            _ => {}
        }
    }
    (status, to_reboot, per_node)
}
