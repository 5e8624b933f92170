//! Faults: the ElastiCache error a rule or an operation answers with.
//!
//! A fault carries the exact wire code of the API model (`CacheClusterNotFound`,
//! `QuotaExceeded.CacheSecurityGroup`, ...), its HTTP status and a message. Every fault here is
//! the caller's fault (`Sender`) except `InternalFailure`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Fault {}

pub type Result<T, E = Fault> = std::result::Result<T, E>;

macro_rules! faults {
    ($($fn_name:ident => $code:literal, $status:literal;)*) => {
        impl Fault {
            $(
                pub fn $fn_name(message: impl Into<String>) -> Fault {
                    Fault { code: $code, status: $status, message: message.into() }
                }
            )*
        }
    };
}

faults! {
    authorization_already_exists => "AuthorizationAlreadyExists", 400;
    authorization_not_found => "AuthorizationNotFound", 404;
    cache_cluster_already_exists => "CacheClusterAlreadyExists", 400;
    cache_cluster_not_found => "CacheClusterNotFound", 404;
    cache_parameter_group_already_exists => "CacheParameterGroupAlreadyExists", 400;
    cache_parameter_group_not_found => "CacheParameterGroupNotFound", 404;
    cache_parameter_group_quota_exceeded => "CacheParameterGroupQuotaExceeded", 400;
    cache_security_group_already_exists => "CacheSecurityGroupAlreadyExists", 400;
    cache_security_group_not_found => "CacheSecurityGroupNotFound", 404;
    cache_security_group_quota_exceeded => "QuotaExceeded.CacheSecurityGroup", 400;
    cache_subnet_group_already_exists => "CacheSubnetGroupAlreadyExists", 400;
    cache_subnet_group_in_use => "CacheSubnetGroupInUse", 400;
    cache_subnet_group_not_found => "CacheSubnetGroupNotFoundFault", 400;
    cache_subnet_group_quota_exceeded => "CacheSubnetGroupQuotaExceeded", 400;
    cache_subnet_quota_exceeded => "CacheSubnetQuotaExceededFault", 400;
    cluster_quota_for_customer_exceeded => "ClusterQuotaForCustomerExceeded", 400;
    insufficient_cache_cluster_capacity => "InsufficientCacheClusterCapacity", 400;
    invalid_arn => "InvalidARN", 400;
    invalid_cache_cluster_state => "InvalidCacheClusterState", 400;
    invalid_cache_parameter_group_state => "InvalidCacheParameterGroupState", 400;
    invalid_cache_security_group_state => "InvalidCacheSecurityGroupState", 400;
    invalid_parameter_combination => "InvalidParameterCombination", 400;
    invalid_parameter_value => "InvalidParameterValue", 400;
    invalid_subnet => "InvalidSubnet", 400;
    node_quota_for_cluster_exceeded => "NodeQuotaForClusterExceeded", 400;
    node_quota_for_customer_exceeded => "NodeQuotaForCustomerExceeded", 400;
    replication_group_not_found => "ReplicationGroupNotFoundFault", 404;
    reserved_cache_node_already_exists => "ReservedCacheNodeAlreadyExists", 404;
    reserved_cache_node_not_found => "ReservedCacheNodeNotFound", 404;
    reserved_cache_node_quota_exceeded => "ReservedCacheNodeQuotaExceeded", 400;
    reserved_cache_nodes_offering_not_found => "ReservedCacheNodesOfferingNotFound", 404;
    snapshot_not_found => "SnapshotNotFoundFault", 404;
    snapshot_feature_not_supported => "SnapshotFeatureNotSupportedFault", 400;
    snapshot_already_exists => "SnapshotAlreadyExistsFault", 400;
    snapshot_quota_exceeded => "SnapshotQuotaExceededFault", 400;
    invalid_snapshot_state => "InvalidSnapshotState", 400;
    subnet_in_use => "SubnetInUse", 400;
    tag_not_found => "TagNotFound", 404;
    tag_quota_per_resource_exceeded => "TagQuotaPerResourceExceeded", 400;
    internal => "InternalFailure", 500;
}

impl Fault {
    /// Whether the fault is the server's (HTTP 5xx, `<Type>Receiver</Type>`).
    pub fn is_server_fault(&self) -> bool {
        self.status >= 500
    }

    /// "The parameter X must be provided and must not be null.", as ElastiCache words a missing
    /// member the model leaves optional.
    pub fn missing(parameter: &str) -> Fault {
        Fault::invalid_parameter_value(format!(
            "The parameter {parameter} must be provided and must not be null."
        ))
    }
}

impl From<api::Fault> for Fault {
    fn from(f: api::Fault) -> Fault {
        Fault {
            code: f.code.code(),
            status: f.http_status(),
            message: f.message,
        }
    }
}

impl Fault {
    /// The wire fault: the model's code with the same `<Code>`.
    pub fn to_api(&self) -> api::Fault {
        match api::FaultCode::ALL.iter().find(|c| c.code() == self.code) {
            Some(code) => api::Fault::new(*code, self.message.clone()),
            None => api::Fault::internal(format!("{}: {}", self.code, self.message)),
        }
    }
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Fault {
        Fault::internal(format!("state store: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_maps_to_the_models_code_and_status() {
        let all = [
            Fault::authorization_already_exists(""),
            Fault::authorization_not_found(""),
            Fault::cache_cluster_already_exists(""),
            Fault::cache_cluster_not_found(""),
            Fault::cache_parameter_group_already_exists(""),
            Fault::cache_parameter_group_not_found(""),
            Fault::cache_parameter_group_quota_exceeded(""),
            Fault::cache_security_group_already_exists(""),
            Fault::cache_security_group_not_found(""),
            Fault::cache_security_group_quota_exceeded(""),
            Fault::cache_subnet_group_already_exists(""),
            Fault::cache_subnet_group_in_use(""),
            Fault::cache_subnet_group_not_found(""),
            Fault::cache_subnet_group_quota_exceeded(""),
            Fault::cache_subnet_quota_exceeded(""),
            Fault::cluster_quota_for_customer_exceeded(""),
            Fault::insufficient_cache_cluster_capacity(""),
            Fault::invalid_arn(""),
            Fault::invalid_cache_cluster_state(""),
            Fault::invalid_cache_parameter_group_state(""),
            Fault::invalid_cache_security_group_state(""),
            Fault::invalid_parameter_combination(""),
            Fault::invalid_parameter_value(""),
            Fault::invalid_subnet(""),
            Fault::node_quota_for_cluster_exceeded(""),
            Fault::node_quota_for_customer_exceeded(""),
            Fault::replication_group_not_found(""),
            Fault::reserved_cache_node_already_exists(""),
            Fault::reserved_cache_node_not_found(""),
            Fault::reserved_cache_node_quota_exceeded(""),
            Fault::reserved_cache_nodes_offering_not_found(""),
            Fault::snapshot_not_found(""),
            Fault::snapshot_feature_not_supported(""),
            Fault::snapshot_already_exists(""),
            Fault::snapshot_quota_exceeded(""),
            Fault::invalid_snapshot_state(""),
            Fault::subnet_in_use(""),
            Fault::tag_not_found(""),
            Fault::tag_quota_per_resource_exceeded(""),
            Fault::internal(""),
        ];
        for f in all {
            let wire = f.to_api();
            assert_eq!(
                (wire.code.code(), wire.http_status()),
                (f.code, f.status),
                "{}",
                f.code
            );
        }
    }
}
