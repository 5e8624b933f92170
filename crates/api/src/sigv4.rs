//! AWS Signature Version 4 verification for the Query API (api-contract.md §3.7).
//!
//! The server recomputes the signature from exactly what the client says it signed: the
//! `SignedHeaders` it lists (whatever they are: the CLI signs `content-type;host;x-amz-date`,
//! aws-sdk-rust five headers), the raw body's SHA-256, and the credential scope
//! `<date>/<region>/elasticache/aws4_request`. Both header auth (`Authorization:`) and presigned
//! query auth (`X-Amz-Signature=` …) are accepted. Identical replays are accepted on purpose: SDK
//! retries resend the same signed bytes.
//!
//! Faults (code, HTTP status) follow what AWS Query services answer:
//! no credentials → `MissingAuthenticationToken` 403; unparsable → `IncompleteSignature` 400;
//! unknown key → `InvalidClientTokenId` 403; wrong signature, wrong scope or more than 15 minutes
//! of clock skew ("Signature expired: …") → `SignatureDoesNotMatch` 403; a presigned URL past its
//! `X-Amz-Expires` → `RequestExpired` 400.

use crate::{Fault, FaultCode, Timestamp};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm SigV4 defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The signing name of ElastiCache.
pub const SERVICE: &str = "elasticache";
/// Largest accepted difference between the request's date and the server's clock.
pub const MAX_SKEW: Duration = Duration::minutes(15);

/// The parts of an HTTP request that take part in the signature, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path as sent, still percent-encoded (`/`).
    pub path: &'a str,
    /// The raw query string without `?` (empty when none).
    pub query: &'a str,
    /// All request headers, names in any case.
    pub headers: &'a [(String, String)],
    /// The raw body bytes.
    pub body: &'a [u8],
}

/// How to check the secret.
pub enum SecretCheck<'a> {
    /// Look the access key up and verify the HMAC; `None` from the lookup means unknown key.
    Verify(&'a dyn Fn(&str) -> Option<String>),
    /// Accept any access key and skip the HMAC and the clock (a development mode).
    AcceptAny,
}

/// What a verified request proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id of the credential.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
}

/// The signature parameters, from the `Authorization` header or the query string.
#[derive(Debug)]
struct Claims {
    access_key_id: String,
    scope_date: String,
    region: String,
    amz_date: String,
    signed_headers: String,
    signature: String,
    /// `Some` for presigned requests.
    expires: Option<String>,
}

fn fault(code: FaultCode, message: impl Into<String>) -> Fault {
    Fault::new(code, message)
}

fn mismatch(message: impl Into<String>) -> Fault {
    fault(FaultCode::SignatureDoesNotMatch, message)
}

const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. \
Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn header<'a>(req: &SignedRequest<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Query parameters decoded as the canonical request reads them (`+` is a space).
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, Fault> {
    crate::form::decode_pairs(query.as_bytes())
}

/// Verifies `req` at time `now`.
pub fn verify(
    req: &SignedRequest<'_>,
    secrets: SecretCheck<'_>,
    now: Timestamp,
) -> Result<Verified, Fault> {
    let query = query_pairs(req.query)?;
    let claims = claims(req, &query)?;
    let verified = Verified {
        access_key_id: claims.access_key_id.clone(),
        region: claims.region.clone(),
    };
    let lookup = match secrets {
        SecretCheck::AcceptAny => return Ok(verified),
        SecretCheck::Verify(lookup) => lookup,
    };
    let secret = lookup(&claims.access_key_id).ok_or_else(|| {
        fault(
            FaultCode::InvalidClientTokenId,
            "The security token included in the request is invalid.",
        )
    })?;
    check_time(&claims, now)?;
    let signed: Vec<&str> = claims.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(mismatch(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let canonical = canonical_request(req, &query, &claims, &signed);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        claims.scope_date, claims.region, SERVICE
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        claims.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(&secret, &claims.scope_date, &claims.region, SERVICE);
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    let sent = hex::decode(&claims.signature).map_err(|_| mismatch(SIGNATURE_MISMATCH))?;
    mac.verify_slice(&sent)
        .map_err(|_| mismatch(SIGNATURE_MISMATCH))?;
    Ok(verified)
}

fn claims(req: &SignedRequest<'_>, query: &[(String, String)]) -> Result<Claims, Fault> {
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (credential, signed_headers, signature, amz_date, expires) = if let Some(auth) =
        header(req, "authorization")
    {
        let rest = auth
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or_else(|| {
                fault(
                    FaultCode::IncompleteSignature,
                    format!(
                        "Unsupported AWS 'algorithm': '{}'",
                        auth.split(' ').next().unwrap_or("")
                    ),
                )
            })?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some((k, v)) = part.split_once('=') {
                match k.trim() {
                    "Credential" => credential = Some(v.trim().to_string()),
                    "SignedHeaders" => signed_headers = Some(v.trim().to_string()),
                    "Signature" => signature = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut missing = String::new();
        for (name, v) in [
            ("Credential", &credential),
            ("Signature", &signature),
            ("SignedHeaders", &signed_headers),
        ] {
            if v.is_none() {
                missing.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        let amz_date = header(req, "x-amz-date")
            .map(str::to_string)
            .or_else(|| header(req, "date").and_then(http_date_to_amz));
        if amz_date.is_none() {
            missing.push_str("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
        }
        if !missing.is_empty() {
            return Err(fault(
                FaultCode::IncompleteSignature,
                format!("{}Authorization={auth}", missing),
            ));
        }
        (
            credential.unwrap(),
            signed_headers.unwrap(),
            signature.unwrap(),
            amz_date.unwrap(),
            None,
        )
    } else if let Some(algorithm) = q("X-Amz-Algorithm") {
        if algorithm != ALGORITHM {
            return Err(fault(
                FaultCode::IncompleteSignature,
                format!("Unsupported AWS 'algorithm': '{algorithm}'"),
            ));
        }
        let mut missing = Vec::new();
        let mut get = |name: &'static str| {
            let v = q(name);
            if v.is_none() {
                missing.push(name);
            }
            v.unwrap_or_default()
        };
        let parts = (
            get("X-Amz-Credential"),
            get("X-Amz-SignedHeaders"),
            get("X-Amz-Signature"),
            get("X-Amz-Date"),
            get("X-Amz-Expires"),
        );
        if !missing.is_empty() {
            return Err(fault(
                FaultCode::IncompleteSignature,
                format!("The query string is missing {}", missing.join(", ")),
            ));
        }
        (parts.0, parts.1, parts.2, parts.3, Some(parts.4))
    } else {
        return Err(fault(
            FaultCode::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        ));
    };

    let fields: Vec<&str> = credential.split('/').collect();
    if fields.len() != 5 {
        return Err(fault(
            FaultCode::IncompleteSignature,
            format!("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"),
        ));
    }
    let (access_key_id, scope_date, region, service, terminator) =
        (fields[0], fields[1], fields[2], fields[3], fields[4]);
    if terminator != "aws4_request" {
        return Err(mismatch(format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'.")));
    }
    if service != SERVICE {
        return Err(mismatch(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    if region.is_empty() || access_key_id.is_empty() {
        return Err(mismatch("Credential should be scoped to a valid region."));
    }
    if parse_amz_date(&amz_date).is_none() {
        return Err(fault(
            FaultCode::IncompleteSignature,
            format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"),
        ));
    }
    if !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
            &amz_date[..8]
        )));
    }
    Ok(Claims {
        access_key_id: access_key_id.to_string(),
        scope_date: scope_date.to_string(),
        region: region.to_string(),
        amz_date,
        signed_headers,
        signature,
        expires,
    })
}

fn check_time(claims: &Claims, now: Timestamp) -> Result<(), Fault> {
    let date = parse_amz_date(&claims.amz_date).expect("checked in claims()");
    if let Some(expires) = &claims.expires {
        let secs: i64 = expires
            .parse()
            .ok()
            .filter(|s| (1..=604_800).contains(s))
            .ok_or_else(|| {
                fault(
                    FaultCode::IncompleteSignature,
                    format!("X-Amz-Expires must be between 1 and 604800 seconds, got '{expires}'"),
                )
            })?;
        if now > date + Duration::seconds(secs) {
            return Err(fault(FaultCode::RequestExpired, "Request has expired."));
        }
    } else if date < now - MAX_SKEW {
        return Err(mismatch(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            claims.amz_date,
            format_amz_date(now - MAX_SKEW),
            format_amz_date(now)
        )));
    }
    if date > now + MAX_SKEW {
        return Err(mismatch(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            claims.amz_date,
            format_amz_date(now + MAX_SKEW),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// The canonical request of SigV4, built from what the client says it signed.
fn canonical_request(
    req: &SignedRequest<'_>,
    query: &[(String, String)],
    claims: &Claims,
    signed: &[&str],
) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path));
    out.push('\n');
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !(claims.expires.is_some() && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&pairs.join("&"));
    out.push('\n');
    for name in signed {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&claims.signed_headers);
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(req.body)));
    out
}

/// Non-S3 services encode the (already encoded) path once more, keeping `/`.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    uri_encode(path, true)
}

/// RFC 3986 encoding: unreserved characters stay, everything else is `%XX` (upper case).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    key
}

const AMZ_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Parses `yyyymmddThhmmssZ`.
pub fn parse_amz_date(s: &str) -> Option<Timestamp> {
    PrimitiveDateTime::parse(s, AMZ_DATE)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Formats `yyyymmddThhmmssZ`.
pub fn format_amz_date(t: Timestamp) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(AMZ_DATE)
        .expect("formatting a valid date")
}

/// An RFC 1123 `Date:` header converted to the basic ISO-8601 form the scope uses.
fn http_date_to_amz(date: &str) -> Option<String> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(date.trim(), fmt)
        .ok()
        .map(|t| format_amz_date(t.assume_utc()))
}
