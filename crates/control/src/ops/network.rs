//! Cache security groups (EC2-Classic access) and cache subnet groups (VPC placement).
//!
//! There is no EC2 here: an EC2 security group authorisation is recorded and shown, and a
//! subnet id is accepted in AWS's form (`subnet-` + hex) with its AZ derived from the id.

use crate::fault::{Fault, Result};
use crate::model::*;
use crate::plane::{emit, ControlPlane, Settings};
use crate::rules;

pub const MAX_SECURITY_GROUPS: usize = 50;
pub const MAX_SUBNET_GROUPS: usize = 50;
pub const MAX_SUBNETS_PER_GROUP: usize = 20;

fn sg_not_found(name: &str) -> Fault {
    Fault::cache_security_group_not_found(format!("CacheSecurityGroup not found: {name}"))
}

fn subnet_group_not_found(name: &str) -> Fault {
    Fault::cache_subnet_group_not_found(format!("CacheSubnetGroup {name} not found."))
}

fn security_group_name(name: &str) -> Result<String> {
    if name.eq_ignore_ascii_case("default") {
        return Err(Fault::invalid_parameter_value(
            "A cache security group cannot be named Default.",
        ));
    }
    if name.is_empty()
        || name.len() > 255
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Fault::invalid_parameter_value(format!(
            "Invalid CacheSecurityGroupName: {name}. It must contain 1 to 255 ASCII letters, digits or hyphens."
        )));
    }
    Ok(name.to_ascii_lowercase())
}

fn announce_security_change(state: &mut State, settings: &Settings, group: &str, message: &str) {
    emit(
        state,
        settings,
        "cache-security-group",
        group,
        "",
        message.to_string(),
    );
    let users: Vec<String> = state
        .clusters
        .values()
        .filter(|c| c.cache_security_groups.iter().any(|g| g == group))
        .map(|c| c.id.clone())
        .collect();
    for id in users {
        emit(
            state,
            settings,
            "cache-cluster",
            &id,
            "ElastiCache:CacheClusterSecurityGroupModified",
            message.to_string(),
        );
    }
}

/// The AZ a subnet is in: derived from its id, stable.
fn subnet_az(settings: &Settings, id: &str) -> String {
    let h = id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    settings.availability_zones()[(h % 3) as usize].clone()
}

fn check_subnets(settings: &Settings, ids: &[String]) -> Result<Vec<Subnet>> {
    if ids.is_empty() {
        return Err(Fault::missing("SubnetIds"));
    }
    if ids.len() > MAX_SUBNETS_PER_GROUP {
        return Err(Fault::cache_subnet_quota_exceeded(format!(
            "A cache subnet group has at most {MAX_SUBNETS_PER_GROUP} subnets."
        )));
    }
    let mut out: Vec<Subnet> = Vec::new();
    for id in ids {
        let hex = id.strip_prefix("subnet-").unwrap_or("");
        if hex.is_empty() || hex.len() > 17 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Fault::invalid_subnet(format!(
                "The subnet ID {id} is not valid."
            )));
        }
        if out.iter().all(|s| s.id != *id) {
            out.push(Subnet {
                id: id.clone(),
                availability_zone: subnet_az(settings, id),
            });
        }
    }
    Ok(out)
}

impl ControlPlane {
    pub fn create_cache_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        self.write(|state, settings| {
            let key = security_group_name(name)?;
            if state.security_groups.contains_key(&key) {
                return Err(Fault::cache_security_group_already_exists(format!(
                    "Cache security group {key} already exists."
                )));
            }
            if state.security_groups.len() >= MAX_SECURITY_GROUPS {
                return Err(Fault::cache_security_group_quota_exceeded(format!(
                    "An account has at most {MAX_SECURITY_GROUPS} cache security groups."
                )));
            }
            let group = SecurityGroup {
                name: key.clone(),
                description: description.to_string(),
                owner_id: settings.account_id.clone(),
                ec2_groups: Vec::new(),
            };
            state.security_groups.insert(key.clone(), group.clone());
            emit(
                state,
                settings,
                "cache-security-group",
                &key,
                "",
                format!("Created cache security group {key}"),
            );
            Ok(group)
        })
    }

    pub fn describe_cache_security_groups(
        &self,
        name: Option<&str>,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<(Vec<SecurityGroup>, Option<String>)> {
        self.read(|state, _| {
            rules::page_of_named(
                &state.security_groups,
                name,
                sg_not_found,
                marker,
                max_records,
            )
        })
    }

    pub fn authorize_cache_security_group_ingress(
        &self,
        name: &str,
        ec2_name: &str,
        ec2_owner: &str,
    ) -> Result<SecurityGroup> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let mut group = state.security_groups.get(&key).cloned().ok_or_else(|| sg_not_found(name))?;
            if ec2_owner.len() != 12 || !ec2_owner.chars().all(|c| c.is_ascii_digit()) {
                return Err(Fault::invalid_parameter_value(format!(
                    "Invalid EC2SecurityGroupOwnerId: {ec2_owner}. It must be a 12-digit AWS account id."
                )));
            }
            if ec2_name.is_empty() {
                return Err(Fault::missing("EC2SecurityGroupName"));
            }
            if group.ec2_groups.iter().any(|g| g.name == ec2_name && g.owner_id == ec2_owner) {
                return Err(Fault::authorization_already_exists(format!(
                    "EC2 security group {ec2_name} of {ec2_owner} is already authorized for cache security group {key}."
                )));
            }
            group.ec2_groups.push(Ec2Authorization {
                name: ec2_name.to_string(),
                owner_id: ec2_owner.to_string(),
                status: "authorizing".into(),
                since: settings.now(),
            });
            state.security_groups.insert(key.clone(), group.clone());
            announce_security_change(state, settings, &key, &format!("Authorized EC2 security group {ec2_name} ({ec2_owner}) on cache security group {key}"));
            Ok(group)
        })
    }

    pub fn revoke_cache_security_group_ingress(
        &self,
        name: &str,
        ec2_name: &str,
        ec2_owner: &str,
    ) -> Result<SecurityGroup> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let mut group = state.security_groups.get(&key).cloned().ok_or_else(|| sg_not_found(name))?;
            let before = group.ec2_groups.len();
            group.ec2_groups.retain(|g| !(g.name == ec2_name && g.owner_id == ec2_owner));
            if group.ec2_groups.len() == before {
                return Err(Fault::authorization_not_found(format!(
                    "EC2 security group {ec2_name} of {ec2_owner} is not authorized for cache security group {key}."
                )));
            }
            state.security_groups.insert(key.clone(), group.clone());
            announce_security_change(state, settings, &key, &format!("Revoked EC2 security group {ec2_name} ({ec2_owner}) from cache security group {key}"));
            Ok(group)
        })
    }

    pub fn delete_cache_security_group(&self, name: &str) -> Result<()> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            if key == "default" {
                return Err(Fault::invalid_cache_security_group_state(
                    "The default cache security group cannot be deleted.",
                ));
            }
            if !state.security_groups.contains_key(&key) {
                return Err(sg_not_found(name));
            }
            if state
                .clusters
                .values()
                .any(|c| c.cache_security_groups.contains(&key))
            {
                return Err(Fault::invalid_cache_security_group_state(format!(
                    "Cache security group {key} is in use by a cache cluster."
                )));
            }
            state.security_groups.remove(&key);
            emit(
                state,
                settings,
                "cache-security-group",
                &key,
                "",
                format!("Deleted cache security group {key}"),
            );
            Ok(())
        })
    }

    pub fn create_cache_subnet_group(
        &self,
        name: &str,
        description: &str,
        subnet_ids: &[String],
    ) -> Result<SubnetGroup> {
        self.write(|state, settings| {
            let key = rules::group_name("CacheSubnetGroupName", name)?;
            if key == "default" {
                return Err(Fault::invalid_parameter_value(
                    "A cache subnet group cannot be named default.",
                ));
            }
            let subnets = check_subnets(settings, subnet_ids)?;
            if state.subnet_groups.contains_key(&key) {
                return Err(Fault::cache_subnet_group_already_exists(format!(
                    "Cache subnet group {key} already exists."
                )));
            }
            if state.subnet_groups.len() >= MAX_SUBNET_GROUPS {
                return Err(Fault::cache_subnet_group_quota_exceeded(format!(
                    "An account has at most {MAX_SUBNET_GROUPS} cache subnet groups."
                )));
            }
            let group = SubnetGroup {
                name: key.clone(),
                description: description.to_string(),
                vpc_id: format!(
                    "vpc-{:08x}",
                    settings
                        .account_id
                        .bytes()
                        .fold(0u32, |h, b| h.wrapping_mul(131).wrapping_add(u32::from(b)))
                ),
                subnets,
            };
            state.subnet_groups.insert(key.clone(), group.clone());
            emit(
                state,
                settings,
                "cache-subnet-group",
                &key,
                "",
                format!("Created cache subnet group {key}"),
            );
            Ok(group)
        })
    }

    pub fn modify_cache_subnet_group(
        &self,
        name: &str,
        description: Option<&str>,
        subnet_ids: Option<&[String]>,
    ) -> Result<SubnetGroup> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            let mut group = state
                .subnet_groups
                .get(&key)
                .cloned()
                .ok_or_else(|| subnet_group_not_found(name))?;
            if let Some(d) = description {
                group.description = d.to_string();
            }
            if let Some(ids) = subnet_ids {
                let subnets = check_subnets(settings, ids)?;
                // A subnet is in use while a node of a cluster in the group sits in its AZ and no
                // other remaining subnet covers that AZ.
                for old in &group.subnets {
                    if subnets.iter().any(|s| s.id == old.id) {
                        continue;
                    }
                    let az_still_covered = subnets
                        .iter()
                        .any(|s| s.availability_zone == old.availability_zone);
                    let used = state.clusters.values().any(|c| {
                        c.subnet_group.as_deref() == Some(key.as_str())
                            && c.nodes
                                .iter()
                                .any(|n| n.availability_zone == old.availability_zone)
                    });
                    if used && !az_still_covered {
                        return Err(Fault::subnet_in_use(format!(
                            "Subnet {} is in use by a cache cluster.",
                            old.id
                        )));
                    }
                }
                group.subnets = subnets;
            }
            state.subnet_groups.insert(key.clone(), group.clone());
            emit(
                state,
                settings,
                "cache-subnet-group",
                &key,
                "",
                format!("Modified cache subnet group {key}"),
            );
            Ok(group)
        })
    }

    pub fn delete_cache_subnet_group(&self, name: &str) -> Result<()> {
        self.write(|state, settings| {
            let key = name.to_ascii_lowercase();
            if !state.subnet_groups.contains_key(&key) {
                return Err(subnet_group_not_found(name));
            }
            if state
                .clusters
                .values()
                .any(|c| c.subnet_group.as_deref() == Some(key.as_str()))
            {
                return Err(Fault::cache_subnet_group_in_use(format!(
                    "Cache subnet group {key} is in use by a cache cluster."
                )));
            }
            state.subnet_groups.remove(&key);
            emit(
                state,
                settings,
                "cache-subnet-group",
                &key,
                "",
                format!("Deleted cache subnet group {key}"),
            );
            Ok(())
        })
    }

    pub fn describe_cache_subnet_groups(
        &self,
        name: Option<&str>,
        marker: Option<&str>,
        max_records: Option<i32>,
    ) -> Result<(Vec<SubnetGroup>, Option<String>)> {
        self.read(|state, _| {
            rules::page_of_named(
                &state.subnet_groups,
                name,
                subnet_group_not_found,
                marker,
                max_records,
            )
        })
    }
}
