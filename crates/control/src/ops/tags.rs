//! Cost-allocation tags: at most 10 per resource, on clusters and snapshots (behaviour.md §2.5).

use crate::fault::{Fault, Result};
use crate::model::*;
use crate::plane::{ControlPlane, Settings};
use crate::rules;

/// Checks that the ARN names an existing taggable resource and returns its canonical ARN.
fn resource(state: &State, settings: &Settings, arn: &str) -> Result<String> {
    let parsed = rules::arn(arn, &settings.region, &settings.account_id)?;
    match parsed.resource_type.as_str() {
        "cluster" => {
            let id = parsed.name.to_ascii_lowercase();
            if !state.clusters.contains_key(&id) {
                return Err(Fault::cache_cluster_not_found(format!("CacheCluster not found: {}", parsed.name)));
            }
            Ok(settings.arn("cluster", &id))
        }
        "snapshot" => {
            if !state.snapshots.contains_key(&parsed.name) {
                return Err(Fault::snapshot_not_found(format!("Snapshot {} not found.", parsed.name)));
            }
            Ok(settings.arn("snapshot", &parsed.name))
        }
        other => Err(Fault::invalid_arn(format!(
            "{arn} is not a valid ARN: tags are supported on cache clusters and snapshots, not on {other}."
        ))),
    }
}

impl ControlPlane {
    pub fn add_tags_to_resource(&self, arn: &str, tags: &[Tag]) -> Result<Vec<Tag>> {
        self.write(|state, settings| {
            let key = resource(state, settings, arn)?;
            if tags.is_empty() {
                return Err(Fault::missing("Tags"));
            }
            for t in tags {
                rules::tag(t)?;
            }
            let mut current = state.tags.get(&key).cloned().unwrap_or_default();
            for t in tags {
                match current.iter_mut().find(|c| c.key == t.key) {
                    Some(c) => c.value = t.value.clone(),
                    None => current.push(t.clone()),
                }
            }
            if current.len() > rules::MAX_TAGS {
                return Err(Fault::tag_quota_per_resource_exceeded(format!(
                    "A resource has at most {} tags.",
                    rules::MAX_TAGS
                )));
            }
            state.tags.insert(key, current.clone());
            Ok(current)
        })
    }

    pub fn list_tags_for_resource(&self, arn: &str) -> Result<Vec<Tag>> {
        self.read(|state, settings| {
            let key = resource(state, settings, arn)?;
            Ok(state.tags.get(&key).cloned().unwrap_or_default())
        })
    }

    pub fn remove_tags_from_resource(&self, arn: &str, keys: &[String]) -> Result<Vec<Tag>> {
        self.write(|state, settings| {
            let key = resource(state, settings, arn)?;
            let mut current = state.tags.get(&key).cloned().unwrap_or_default();
            for k in keys {
                if current.iter().all(|t| t.key != *k) {
                    return Err(Fault::tag_not_found(format!("Tag {k} not found on {key}.")));
                }
                current.retain(|t| t.key != *k);
            }
            if current.is_empty() {
                state.tags.remove(&key);
            } else {
                state.tags.insert(key, current.clone());
            }
            Ok(current)
        })
    }
}
