//! Reserved cache nodes: the offerings catalogue, purchases, and engine versions.

use crate::catalog::{self, Offering};
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::plane::ControlPlane;
use crate::rules;

/// Most reserved nodes an account may hold.
pub const MAX_RESERVED_NODES: u32 = 100;

#[derive(Debug, Clone, Default)]
pub struct OfferingFilter {
    pub offering_id: Option<String>,
    pub node_type: Option<String>,
    /// `1`, `3`, `31536000` or `94608000`.
    pub duration: Option<String>,
    pub product_description: Option<String>,
    pub offering_type: Option<String>,
    pub marker: Option<String>,
    pub max_records: Option<i32>,
}

fn duration_seconds(d: &str) -> Result<i64> {
    match d {
        "1" | "31536000" => Ok(31_536_000),
        "3" | "94608000" => Ok(94_608_000),
        _ => Err(Fault::invalid_parameter_value(format!(
            "Invalid Duration: {d}. Valid values are 1, 3, 31536000 and 94608000."
        ))),
    }
}

fn matches(o: &Offering, f: &OfferingFilter) -> Result<bool> {
    Ok(f.offering_id.as_deref().is_none_or(|id| o.id == id)
        && f.node_type.as_deref().is_none_or(|t| o.node_type == t)
        && match &f.duration {
            Some(d) => o.duration == duration_seconds(d)?,
            None => true,
        }
        && f.product_description
            .as_deref()
            .is_none_or(|p| o.product.as_str() == p)
        && f.offering_type
            .as_deref()
            .is_none_or(|t| o.offering_type == t))
}

/// A reservation joined with its offering, as DescribeReservedCacheNodes shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservationView {
    pub node: ReservedNode,
    pub offering: &'static Offering,
    pub arn: String,
}

impl ControlPlane {
    pub fn describe_reserved_cache_nodes_offerings(
        &self,
        f: &OfferingFilter,
    ) -> Result<(Vec<&'static Offering>, Option<String>)> {
        let mut out = Vec::new();
        for o in catalog::offerings() {
            if matches(o, f)? {
                out.push(o);
            }
        }
        if let Some(id) = &f.offering_id {
            if out.is_empty() {
                return Err(Fault::reserved_cache_nodes_offering_not_found(format!(
                    "Reserved cache nodes offering {id} not found."
                )));
            }
        }
        rules::page(out, |o| o.id.clone(), f.marker.as_deref(), f.max_records)
    }

    pub fn purchase_reserved_cache_nodes_offering(
        &self,
        offering_id: &str,
        reservation_id: Option<&str>,
        count: Option<i32>,
    ) -> Result<ReservationView> {
        self.write(|state, settings| {
            let offering = catalog::offering(offering_id).ok_or_else(|| {
                Fault::reserved_cache_nodes_offering_not_found(format!(
                    "Reserved cache nodes offering {offering_id} not found."
                ))
            })?;
            let count = count.unwrap_or(1);
            if count < 1 {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid CacheNodeCount: {count}."
                )));
            }
            let id = match reservation_id {
                Some(id) => rules::group_name("ReservedCacheNodeId", id)?,
                None => format!(
                    "ri-{}",
                    uuid::Uuid::new_v4()
                        .simple()
                        .to_string()
                        .get(..12)
                        .unwrap_or("0")
                ),
            };
            if state.reserved_nodes.contains_key(&id) {
                return Err(Fault::reserved_cache_node_already_exists(format!(
                    "Reserved cache node {id} already exists."
                )));
            }
            let held: u32 = state.reserved_nodes.values().map(|r| r.count).sum();
            if held + count as u32 > MAX_RESERVED_NODES {
                return Err(Fault::reserved_cache_node_quota_exceeded(format!(
                    "An account may reserve at most {MAX_RESERVED_NODES} cache nodes."
                )));
            }
            let node = ReservedNode {
                id: id.clone(),
                offering_id: offering.id.clone(),
                start: settings.now(),
                count: count as u32,
                state: "payment-pending".into(),
            };
            state.reserved_nodes.insert(id.clone(), node.clone());
            Ok(ReservationView {
                node,
                offering,
                arn: settings.arn("reserved-instance", &id),
            })
        })
    }

    pub fn describe_reserved_cache_nodes(
        &self,
        reservation_id: Option<&str>,
        f: &OfferingFilter,
    ) -> Result<(Vec<ReservationView>, Option<String>)> {
        self.read(|state, settings| {
            let mut out = Vec::new();
            for node in state.reserved_nodes.values() {
                if reservation_id.is_some_and(|id| node.id != id.to_ascii_lowercase()) {
                    continue;
                }
                let Some(offering) = catalog::offering(&node.offering_id) else {
                    continue;
                };
                if matches(offering, f)? {
                    out.push(ReservationView {
                        node: node.clone(),
                        offering,
                        arn: settings.arn("reserved-instance", &node.id),
                    });
                }
            }
            if let Some(id) = reservation_id {
                if out.is_empty() {
                    return Err(Fault::reserved_cache_node_not_found(format!(
                        "Reserved cache node {id} not found."
                    )));
                }
            }
            rules::page(
                out,
                |r| r.node.id.clone(),
                f.marker.as_deref(),
                f.max_records,
            )
        })
    }

    pub fn describe_cache_engine_versions(
        &self,
        engine: Option<&str>,
        version: Option<&str>,
        family: Option<&str>,
        default_only: bool,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<(Vec<&'static catalog::EngineVersion>, Option<String>)> {
        if let Some(f) = family {
            if catalog::family(f).is_none() {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid CacheParameterGroupFamily: {f}."
                )));
            }
        }
        let out: Vec<_> = catalog::ENGINE_VERSIONS
            .iter()
            .filter(|v| engine.is_none_or(|e| v.engine.as_str() == e))
            .filter(|v| version.is_none_or(|x| v.version == x))
            .filter(|v| family.is_none_or(|f| v.family == f))
            .filter(|v| !default_only || v.version == v.engine.default_version())
            .collect();
        rules::page(
            out,
            |v| {
                let parts: Vec<String> =
                    v.version.split('.').map(|p| format!("{:0>6}", p)).collect();
                format!("{} {}", v.engine.as_str(), parts.join("."))
            },
            marker,
            max_records,
        )
    }
}
