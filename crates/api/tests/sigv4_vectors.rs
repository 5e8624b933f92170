//! The verifier against signatures made by botocore's own signer and by the captured aws-cli and
//! aws-sdk-rust requests (`fixtures/sigv4_vectors.json`, made by `fixtures/make_sigv4_vectors.py`),
//! then the same requests spoiled one way at a time.

use api::sigv4::{parse_amz_date, verify, SecretCheck, SignedRequest};
use api::FaultCode;
use serde_json::Value;

struct Vector {
    name: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    region: String,
    now: api::Timestamp,
    presigned: bool,
}

fn vectors() -> (String, Vec<Vector>) {
    let text = include_str!("fixtures/sigv4_vectors.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let vectors = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let pq = v["path_and_query"].as_str().unwrap();
            let (path, query) = pq.split_once('?').unwrap_or((pq, ""));
            Vector {
                name: v["name"].as_str().unwrap().into(),
                method: v["method"].as_str().unwrap().into(),
                path: path.into(),
                query: query.into(),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
                    .collect(),
                body: v["body"].as_str().unwrap().as_bytes().to_vec(),
                region: v["region"].as_str().unwrap().into(),
                now: parse_amz_date(v["now"].as_str().unwrap()).unwrap(),
                presigned: v["presigned"].as_bool().unwrap(),
            }
        })
        .collect();
    (doc["secret"].as_str().unwrap().to_string(), vectors)
}

fn check(
    v: &Vector,
    secret: &str,
    now: api::Timestamp,
) -> Result<api::sigv4::Verified, api::Fault> {
    let lookup = |akid: &str| (akid == "AKIDEXAMPLE").then(|| secret.to_string());
    let req = SignedRequest {
        method: &v.method,
        path: &v.path,
        query: &v.query,
        headers: &v.headers,
        body: &v.body,
    };
    verify(&req, SecretCheck::Verify(&lookup), now)
}

#[test]
fn every_golden_vector_verifies() {
    let (secret, vectors) = vectors();
    assert_eq!(vectors.len(), 9);
    for v in &vectors {
        let verified = check(v, &secret, v.now).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(verified.access_key_id, "AKIDEXAMPLE");
        assert_eq!(verified.region, v.region, "{}", v.name);
        // Replays and a clock up to 15 minutes off either way are fine.
        assert!(
            check(v, &secret, v.now + time::Duration::minutes(14)).is_ok(),
            "{}",
            v.name
        );
        assert!(
            check(v, &secret, v.now - time::Duration::minutes(14)).is_ok(),
            "{}",
            v.name
        );
    }
}

fn code(r: Result<api::sigv4::Verified, api::Fault>) -> FaultCode {
    r.expect_err("must fail").code
}

#[test]
fn spoiled_vectors_fail_with_the_aws_fault() {
    let (secret, vectors) = vectors();
    for v in &vectors {
        let name = &v.name;
        assert_eq!(
            code(check(v, "wrong-secret", v.now)),
            FaultCode::SignatureDoesNotMatch,
            "{name}: wrong secret"
        );

        let mut altered = Vector {
            body: v.body.clone(),
            headers: v.headers.clone(),
            ..clone_of(v)
        };
        if v.body.is_empty() {
            altered.query.push_str("&Extra=1");
        } else {
            let last = altered.body.len() - 1;
            altered.body[last] ^= 1;
        }
        assert_eq!(
            code(check(&altered, &secret, v.now)),
            FaultCode::SignatureDoesNotMatch,
            "{name}: altered"
        );

        if !v.presigned {
            let mut missing = clone_of(v);
            missing
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("x-amz-date"));
            assert_eq!(
                code(check(&missing, &secret, v.now)),
                FaultCode::IncompleteSignature,
                "{name}: no date"
            );
            let mut missing = clone_of(v);
            missing
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("host"));
            assert_eq!(
                code(check(&missing, &secret, v.now)),
                FaultCode::SignatureDoesNotMatch,
                "{name}: no host"
            );
            let stale = v.now + time::Duration::minutes(16);
            let fault = check(v, &secret, stale).unwrap_err();
            assert_eq!(
                fault.code,
                FaultCode::SignatureDoesNotMatch,
                "{name}: stale"
            );
            assert!(
                fault.message.starts_with("Signature expired: "),
                "{}",
                fault.message
            );
            let early = v.now - time::Duration::minutes(16);
            assert!(check(v, &secret, early)
                .unwrap_err()
                .message
                .starts_with("Signature not yet current: "));
            let mut unsigned = clone_of(v);
            unsigned
                .headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            assert_eq!(
                code(check(&unsigned, &secret, v.now)),
                FaultCode::MissingAuthenticationToken,
                "{name}"
            );
        } else {
            // X-Amz-Expires=900: valid for 15 minutes, then RequestExpired.
            assert!(check(v, &secret, v.now + time::Duration::seconds(899)).is_ok());
            assert_eq!(
                code(check(v, &secret, v.now + time::Duration::seconds(901))),
                FaultCode::RequestExpired
            );
        }
        let lookup = |_: &str| None;
        let req = SignedRequest {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            headers: &v.headers,
            body: &v.body,
        };
        assert_eq!(
            code(verify(&req, SecretCheck::Verify(&lookup), v.now)),
            FaultCode::InvalidClientTokenId,
            "{name}"
        );
    }
}

fn clone_of(v: &Vector) -> Vector {
    Vector {
        name: v.name.clone(),
        method: v.method.clone(),
        path: v.path.clone(),
        query: v.query.clone(),
        headers: v.headers.clone(),
        body: v.body.clone(),
        region: v.region.clone(),
        now: v.now,
        presigned: v.presigned,
    }
}

#[test]
fn malformed_credentials() {
    let (secret, vectors) = vectors();
    let v = &vectors[0];
    let cases = [
        ("Credential=AKIDEXAMPLE/20261126/us-east-1/elasticache, SignedHeaders=host, Signature=00", FaultCode::IncompleteSignature),
        ("SignedHeaders=host;x-amz-date, Signature=00", FaultCode::IncompleteSignature),
        ("Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", FaultCode::SignatureDoesNotMatch),
        ("Credential=AKIDEXAMPLE/20261125/us-east-1/elasticache/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", FaultCode::SignatureDoesNotMatch),
        ("Credential=AKIDEXAMPLE/20261126/us-east-1/elasticache/aws4_request, SignedHeaders=x-amz-date, Signature=00", FaultCode::SignatureDoesNotMatch),
        ("Credential=AKIDEXAMPLE/20261126/us-east-1/elasticache/aws4_request, SignedHeaders=host;x-amz-date, Signature=zz", FaultCode::SignatureDoesNotMatch),
    ];
    for (auth, expected) in cases {
        let mut bad = clone_of(v);
        for h in bad.headers.iter_mut() {
            if h.0.eq_ignore_ascii_case("authorization") {
                h.1 = format!("AWS4-HMAC-SHA256 {auth}");
            }
        }
        assert_eq!(code(check(&bad, &secret, v.now)), expected, "{auth}");
    }
}
