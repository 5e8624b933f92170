//! Cache parameter groups: create, describe, modify, reset, delete, their parameters and the
//! engine defaults. A group stores only the values set on it; everything else is the catalogue's
//! default for the family.

use crate::catalog::{self, Modifiable, ParameterDef};
use crate::fault::{Fault, Result};
use crate::model::*;
use crate::plane::{emit, ControlPlane, Settings};
use crate::rules;

/// Most custom parameter groups an account may have.
pub const MAX_PARAMETER_GROUPS: usize = 150;
/// Most parameters one Modify/Reset call may name.
pub const MAX_PARAMETERS_PER_CALL: usize = 20;

/// A parameter as DescribeCacheParameters shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterView {
    pub name: String,
    pub value: String,
    pub description: String,
    /// `user` when set on the group, else `system`.
    pub source: &'static str,
    pub data_type: String,
    pub allowed_values: String,
    pub is_modifiable: bool,
    pub minimum_engine_version: String,
    pub change_type: &'static str,
}

/// A node-type-specific parameter with its value for every node type.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTypeParameterView {
    pub name: String,
    pub description: String,
    pub source: &'static str,
    pub data_type: String,
    pub allowed_values: String,
    pub is_modifiable: bool,
    pub minimum_engine_version: String,
    pub change_type: &'static str,
    /// (node type, value)
    pub values: Vec<(String, String)>,
}

/// DescribeCacheParameters / DescribeEngineDefaultParameters results.
#[derive(Debug, Clone, PartialEq)]
pub struct ParametersPage {
    pub family: String,
    pub parameters: Vec<ParameterView>,
    pub node_type_specific: Vec<NodeTypeParameterView>,
    pub marker: Option<String>,
}

fn parameter_view(def: &ParameterDef, set: Option<&String>) -> ParameterView {
    ParameterView {
        name: def.name.clone(),
        value: set.cloned().unwrap_or_else(|| def.default.clone()),
        description: def.description.clone(),
        source: if set.is_some() { "user" } else { "system" },
        data_type: def.data_type.clone(),
        allowed_values: def.allowed.clone(),
        is_modifiable: def.modifiable != Modifiable::No,
        minimum_engine_version: def.since.clone(),
        change_type: def.change.as_str(),
    }
}

fn node_type_views(family: &str) -> Vec<NodeTypeParameterView> {
    let Some(f) = catalog::family(family) else {
        return Vec::new();
    };
    let since = catalog::ENGINE_VERSIONS
        .iter()
        .filter(|v| v.family == family)
        .map(|v| v.version)
        .min_by(|a, b| catalog::version_cmp(a, b))
        .unwrap_or_default();
    catalog::node_type_specific(f.engine)
        .iter()
        .map(|d| NodeTypeParameterView {
            name: d.name.into(),
            description: d.description.into(),
            source: "system",
            data_type: d.data_type.into(),
            allowed_values: d.allowed.into(),
            is_modifiable: false,
            minimum_engine_version: since.into(),
            change_type: "requires-reboot",
            values: catalog::node_types()
                .iter()
                .map(|t| (t.name.clone(), (d.value)(t)))
                .collect(),
        })
        .collect()
}

fn not_found(name: &str) -> Fault {
    Fault::cache_parameter_group_not_found(format!("CacheParameterGroup {name} not found."))
}

fn in_use(state: &State, group: &str) -> bool {
    state.clusters.values().any(|c| {
        c.parameter_group == group
            || c.pending
                .deferred
                .as_ref()
                .and_then(|d| d.parameter_group.as_deref())
                == Some(group)
    })
}

fn family_or_fault(family: &str) -> Result<&'static catalog::Family> {
    catalog::family(family).ok_or_else(|| {
        let known: Vec<&str> = catalog::families()
            .iter()
            .map(|f| f.family.as_str())
            .collect();
        Fault::invalid_parameter_value(format!(
            "Invalid CacheParameterGroupFamily: {family}. Valid families are {}.",
            known.join(", ")
        ))
    })
}

/// Tells every cluster using the group that its parameters changed.
fn announce_change(state: &mut State, settings: &Settings, group: &str) {
    let users: Vec<String> = state
        .clusters
        .values()
        .filter(|c| c.parameter_group == group)
        .map(|c| c.id.clone())
        .collect();
    for id in users {
        emit(
            state,
            settings,
            "cache-cluster",
            &id,
            "ElastiCache:CacheClusterParametersChanged",
            format!("Cache parameter group {group} was modified"),
        );
    }
}

impl ControlPlane {
    pub fn create_cache_parameter_group(
        &self,
        name: &str,
        family: &str,
        description: &str,
    ) -> Result<ParameterGroup> {
        self.write(|state, settings| {
            let key = rules::group_name("CacheParameterGroupName", name)?;
            family_or_fault(family)?;
            if key.starts_with("default.") {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid CacheParameterGroupName: {name}. Names beginning with default. are reserved."
                )));
            }
            if state.parameter_groups.contains_key(&key) {
                return Err(Fault::cache_parameter_group_already_exists(format!(
                    "Parameter group {key} already exists."
                )));
            }
            if state.parameter_groups.values().filter(|g| !g.is_default()).count() >= MAX_PARAMETER_GROUPS {
                return Err(Fault::cache_parameter_group_quota_exceeded(format!(
                    "An account has at most {MAX_PARAMETER_GROUPS} cache parameter groups."
                )));
            }
            let group = ParameterGroup {
                name: key.clone(),
                family: family.to_string(),
                description: description.to_string(),
                values: Default::default(),
            };
            state.parameter_groups.insert(key.clone(), group.clone());
            emit(state, settings, "cache-parameter-group", &key, "", format!("Created cache parameter group {key}"));
            Ok(group)
        })
    }

    pub fn describe_cache_parameter_groups(
        &self,
        name: Option<&str>,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<(Vec<ParameterGroup>, Option<String>)> {
        self.read(|state, _| {
            rules::page_of_named(
                &state.parameter_groups,
                name,
                not_found,
                marker,
                max_records,
            )
        })
    }

    pub fn describe_cache_parameters(
        &self,
        name: &str,
        source: Option<&str>,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<ParametersPage> {
        self.read(|state, _| {
            let group = state
                .parameter_groups
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| not_found(name))?;
            let all: Vec<ParameterView> = catalog::family_parameters(&group.family)
                .iter()
                .map(|d| parameter_view(d, group.values.get(&d.name)))
                .collect();
            let filtered: Vec<ParameterView> = match source {
                None => all,
                Some("user") => all.into_iter().filter(|p| p.source == "user").collect(),
                Some("system") | Some("engine-default") => {
                    all.into_iter().filter(|p| p.source == "system").collect()
                }
                Some(other) => {
                    return Err(Fault::invalid_parameter_value(format!(
                        "Invalid Source: {other}. Valid values are user, system and engine-default."
                    )))
                }
            };
            let first_page = marker.is_none_or(str::is_empty);
            let (parameters, marker) =
                rules::page(filtered, |p| p.name.clone(), marker, max_records)?;
            let node_type_specific = if first_page && source != Some("user") {
                node_type_views(&group.family)
            } else {
                Vec::new()
            };
            Ok(ParametersPage {
                family: group.family.clone(),
                parameters,
                node_type_specific,
                marker,
            })
        })
    }

    pub fn describe_engine_default_parameters(
        &self,
        family: &str,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<ParametersPage> {
        family_or_fault(family)?;
        let all: Vec<ParameterView> = catalog::family_parameters(family)
            .iter()
            .map(|d| parameter_view(d, None))
            .collect();
        let first_page = marker.is_none_or(str::is_empty);
        let (parameters, marker) = rules::page(all, |p| p.name.clone(), marker, max_records)?;
        Ok(ParametersPage {
            family: family.to_string(),
            parameters,
            node_type_specific: if first_page {
                node_type_views(family)
            } else {
                Vec::new()
            },
            marker,
        })
    }

    pub fn modify_cache_parameter_group(
        &self,
        name: &str,
        values: &[(String, String)],
    ) -> Result<String> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let group = state.parameter_groups.get(&key).ok_or_else(|| not_found(name))?;
            if group.is_default() {
                return Err(Fault::invalid_cache_parameter_group_state(format!(
                    "Default parameter group {key} cannot be modified."
                )));
            }
            if values.is_empty() {
                return Err(Fault::missing("ParameterNameValues"));
            }
            if values.len() > MAX_PARAMETERS_PER_CALL {
                return Err(Fault::invalid_parameter_value(format!(
                    "At most {MAX_PARAMETERS_PER_CALL} parameters can be modified in one call."
                )));
            }
            let used = in_use(state, &key);
            let mut group = group.clone();
            for (pname, value) in values {
                let def = catalog::family_parameter(&group.family, pname).ok_or_else(|| {
                    Fault::invalid_parameter_value(format!("Unknown parameter {pname} for family {}.", group.family))
                })?;
                match def.modifiable {
                    Modifiable::No => {
                        return Err(Fault::invalid_parameter_value(format!("The parameter {pname} is not modifiable.")))
                    }
                    Modifiable::Conditional if used => {
                        return Err(Fault::invalid_cache_parameter_group_state(format!(
                            "The parameter {pname} can be modified only while no cache cluster uses parameter group {key}."
                        )))
                    }
                    _ => {}
                }
                catalog::check_value(def, value).map_err(Fault::invalid_parameter_value)?;
                if *value == def.default {
                    group.values.remove(pname);
                } else {
                    group.values.insert(pname.clone(), value.clone());
                }
            }
            state.parameter_groups.insert(key.clone(), group);
            announce_change(state, settings, &key);
            Ok(key)
        })
    }

    pub fn reset_cache_parameter_group(
        &self,
        name: &str,
        reset_all: bool,
        names: &[String],
    ) -> Result<String> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let group = state.parameter_groups.get(&key).ok_or_else(|| not_found(name))?;
            if group.is_default() {
                return Err(Fault::invalid_cache_parameter_group_state(format!(
                    "Default parameter group {key} cannot be modified."
                )));
            }
            if reset_all && !names.is_empty() {
                return Err(Fault::invalid_parameter_combination(
                    "Give either ResetAllParameters or ParameterNameValues, not both.",
                ));
            }
            if !reset_all && names.is_empty() {
                return Err(Fault::invalid_parameter_combination(
                    "Give ResetAllParameters=true or the ParameterNameValues to reset.",
                ));
            }
            let used = in_use(state, &key);
            let mut group = group.clone();
            let targets: Vec<String> = if reset_all { group.values.keys().cloned().collect() } else { names.to_vec() };
            for pname in &targets {
                let def = catalog::family_parameter(&group.family, pname).ok_or_else(|| {
                    Fault::invalid_parameter_value(format!("Unknown parameter {pname} for family {}.", group.family))
                })?;
                if def.modifiable == Modifiable::Conditional && used && group.values.contains_key(pname) {
                    return Err(Fault::invalid_cache_parameter_group_state(format!(
                        "The parameter {pname} can be reset only while no cache cluster uses parameter group {key}."
                    )));
                }
                group.values.remove(pname);
            }
            state.parameter_groups.insert(key.clone(), group);
            announce_change(state, settings, &key);
            Ok(key)
        })
    }

    pub fn delete_cache_parameter_group(&self, name: &str) -> Result<()> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let group = state
                .parameter_groups
                .get(&key)
                .ok_or_else(|| not_found(name))?;
            if group.is_default() {
                return Err(Fault::invalid_cache_parameter_group_state(format!(
                    "Default parameter group {key} cannot be deleted."
                )));
            }
            if in_use(state, &key) {
                return Err(Fault::invalid_cache_parameter_group_state(format!(
                    "Parameter group {key} is in use by a cache cluster."
                )));
            }
            state.parameter_groups.remove(&key);
            emit(
                state,
                settings,
                "cache-parameter-group",
                &key,
                "",
                format!("Deleted cache parameter group {key}"),
            );
            Ok(())
        })
    }
}
