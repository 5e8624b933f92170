//! Randomised checks of the form binder on the stable toolchain (the libFuzzer targets in
//! `fuzz/` go further): random bytes never panic it, and typed inputs survive being encoded the
//! way botocore encodes them and bound again.

use api::form::Params;
use api::model::{
    CreateCacheClusterMessage, ModifyCacheParameterGroupMessage, ParameterNameValue, Tag,
};
use api::{FaultCode, Operation};
use proptest::prelude::*;

/// Percent-encodes like botocore's Query serializer (`quote(safe='-_.~')`).
fn enc(s: &str) -> String {
    api::sigv4::uri_encode(s, false)
}

fn bind(body: &str) -> Result<Operation, api::Fault> {
    let params = Params::decode(&[body.as_bytes()])?;
    Operation::bind(params.action.as_deref().unwrap_or(""), &params.tree).expect("known action")
}

/// Keys made of real member names, list element names and indices, so random requests reach
/// deep into the shapes instead of failing at the first unknown key.
fn key() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("CacheClusterId"),
        Just("NumCacheNodes"),
        Just("Tags"),
        Just("Tag"),
        Just("Key"),
        Just("Value"),
        Just("SecurityGroupIds"),
        Just("SecurityGroupId"),
        Just("member"),
        Just("1"),
        Just("2"),
        Just("0"),
        Just("01"),
        Just("LogDeliveryConfigurations"),
        Just("LogDeliveryConfigurationRequest"),
        Just("DestinationDetails"),
        Just("CloudWatchLogsDetails"),
        Just("LogGroup"),
        Just("AZMode"),
        Just("AutoMinorVersionUpgrade"),
        Just("Port"),
        Just(""),
    ];
    prop::collection::vec(segment, 1..6).prop_map(|s| s.join("."))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("true".into()),
        Just("7".into()),
        Just("single-az".into()),
        ".{0,8}",
        Just("%zz".into())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(params) = Params::decode(&[&body]) {
            for action in api::ACTIONS {
                if let Err(fault) = Operation::bind(action, &params.tree).unwrap() {
                    prop_assert!(fault.code.is_sender());
                }
            }
        }
    }

    #[test]
    fn structured_requests_bind_or_fail_as_sender(pairs in prop::collection::vec((key(), value()), 0..12)) {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let body = format!("Action=CreateCacheCluster&Version=2015-02-02&{}", body.join("&"));
        match bind(&body) {
            Ok(Operation::CreateCacheCluster(_)) => {}
            Ok(other) => prop_assert!(false, "bound {other:?}"),
            Err(fault) => prop_assert!(
                matches!(fault.code, FaultCode::MissingParameter | FaultCode::InvalidParameterValueException | FaultCode::MalformedQueryString),
                "{fault}"
            ),
        }
    }

    #[test]
    fn typed_input_round_trips(
        id in "[a-zA-Z][a-zA-Z0-9-]{0,20}",
        nodes in proptest::option::of(any::<i32>()),
        sgs in proptest::option::of(prop::collection::vec("\\PC{0,12}", 0..5)),
        tags in prop::collection::vec(("\\PC{1,10}", proptest::option::of("\\PC{0,10}")), 0..5),
        amvu in proptest::option::of(any::<bool>()),
    ) {
        let mut body = format!("Action=CreateCacheCluster&Version=2015-02-02&CacheClusterId={}", enc(&id));
        if let Some(n) = nodes { body += &format!("&NumCacheNodes={n}"); }
        match &sgs {
            Some(list) if list.is_empty() => body += "&SecurityGroupIds=",
            Some(list) => for (i, sg) in list.iter().enumerate() { body += &format!("&SecurityGroupIds.SecurityGroupId.{}={}", i + 1, enc(sg)); },
            None => {}
        }
        for (i, (k, v)) in tags.iter().enumerate() {
            body += &format!("&Tags.Tag.{}.Key={}", i + 1, enc(k));
            if let Some(v) = v { body += &format!("&Tags.Tag.{}.Value={}", i + 1, enc(v)); }
        }
        if let Some(b) = amvu { body += &format!("&AutoMinorVersionUpgrade={b}"); }
        let expected = CreateCacheClusterMessage {
            cache_cluster_id: id.clone(),
            num_cache_nodes: nodes,
            security_group_ids: sgs.clone(),
            tags: (!tags.is_empty()).then(|| tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: v.clone() }).collect()),
            auto_minor_version_upgrade: amvu,
            ..Default::default()
        };
        prop_assert_eq!(bind(&body).unwrap(), Operation::CreateCacheCluster(expected));
    }

    #[test]
    fn list_order_follows_indices_not_key_order(values in prop::collection::vec("[a-z]{1,5}", 1..12)) {
        // Keys in reverse order; indices 1..n must still give the original order.
        let mut body = "Action=ModifyCacheParameterGroup&Version=2015-02-02&CacheParameterGroupName=pg".to_string();
        for (i, v) in values.iter().enumerate().rev() {
            body += &format!("&ParameterNameValues.ParameterNameValue.{}.ParameterName={v}", i + 1);
        }
        let expected = ModifyCacheParameterGroupMessage {
            cache_parameter_group_name: "pg".into(),
            parameter_name_values: values.iter().map(|v| ParameterNameValue { parameter_name: Some(v.clone()), parameter_value: None }).collect(),
        };
        prop_assert_eq!(bind(&body).unwrap(), Operation::ModifyCacheParameterGroup(expected));
    }
}
