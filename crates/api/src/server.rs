//! The HTTP face: an axum [`Router`] that takes every request (POST with a form body, or GET with
//! a query string), verifies its signature, binds it to an [`Operation`], calls the service and
//! writes the answer as AWS does: `text/xml`, `x-amzn-RequestId`, the fault's HTTP status.
//!
//! The router handles every path as a fallback, so the control plane can add its own routes
//! (e.g. `POST /moto-api/reset`) with `.route(..)` on the returned router.

use crate::sigv4::{self, SecretCheck, SignedRequest};
use crate::{
    form::Params, xml, ElastiCacheService, Fault, FaultCode, Operation, RequestContext, Timestamp,
    API_VERSION,
};
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// API versions accepted in `Version`; responses always use the 2015-02-02 namespace.
const ACCEPTED_VERSIONS: &[&str] = &[API_VERSION, "2014-09-30"];

/// The server's clock, injectable so tests can check signature expiry.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    /// Every request must be signed with one of these access key id → secret pairs.
    Keys(HashMap<String, String>),
    /// Any access key is accepted and the signature is not checked (development and moto's
    /// test suite, which signs with `FOOBARKEY`). Credentials must still be present and scoped
    /// correctly, since the region comes from the scope.
    AnyKey,
}

impl Auth {
    /// `Auth::Keys` from `(access key id, secret)` pairs.
    pub fn keys<K: Into<String>, S: Into<String>>(pairs: impl IntoIterator<Item = (K, S)>) -> Auth {
        Auth::Keys(
            pairs
                .into_iter()
                .map(|(k, s)| (k.into(), s.into()))
                .collect(),
        )
    }
}

/// Everything the router needs besides the service.
#[derive(Clone)]
pub struct ApiConfig {
    /// How requests are authenticated.
    pub auth: Auth,
    /// The account id of every resource, unless [`Auth::AnyKey`] maps a 12-digit access key id.
    pub account_id: String,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The clock used for the 15-minute signature window.
    pub clock: Clock,
}

impl ApiConfig {
    /// A configuration with a 1 MiB body limit and the system clock.
    pub fn new(auth: Auth, account_id: impl Into<String>) -> ApiConfig {
        ApiConfig {
            auth,
            account_id: account_id.into(),
            body_limit: 1 << 20,
            clock: Arc::new(time::OffsetDateTime::now_utc),
        }
    }
}

struct Shared {
    service: Arc<dyn ElastiCacheService>,
    config: ApiConfig,
}

/// The API router: every method and path goes to the Query protocol handler.
pub fn router(service: Arc<dyn ElastiCacheService>, config: ApiConfig) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(Arc::new(Shared { service, config }))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = answer(&shared, &request_id, request).await;
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(fault) => {
            if fault.code.is_sender() {
                tracing::debug!(code = fault.code.code(), message = %fault.message, %request_id, "request refused");
            } else {
                tracing::warn!(code = fault.code.code(), message = %fault.message, %request_id, "request failed");
            }
            let status = StatusCode::from_u16(fault.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, fault.to_xml(&request_id))
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    headers.insert(
        "x-amzn-RequestId",
        HeaderValue::from_str(&request_id).expect("a UUID is a valid header value"),
    );
    response
}

async fn answer(shared: &Shared, request_id: &str, request: Request) -> Result<String, Fault> {
    let (parts, body) = request.into_parts();
    let source_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let body = read_body(body, shared.config.body_limit).await?;
    let mut headers: Vec<(String, String)> = Vec::with_capacity(parts.headers.len() + 1);
    for (name, value) in &parts.headers {
        // Header values are bytes; a non-UTF-8 one (say, in a User-Agent) must not fail the request.
        // Were it signed, its lossy text would simply not match the signature.
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.push((name.as_str().to_string(), value));
    }
    if !headers.iter().any(|(k, _)| k == "host") {
        // HTTP/2 carries the host as :authority, which hyper leaves in the URI.
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host".to_string(), authority.to_string()));
        }
    }
    let query = parts.uri.query().unwrap_or("");
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &headers,
        body: &body,
    };
    let now = (shared.config.clock)();
    let verified = match &shared.config.auth {
        Auth::Keys(keys) => {
            let lookup = |akid: &str| keys.get(akid).cloned();
            sigv4::verify(&signed, SecretCheck::Verify(&lookup), now)?
        }
        Auth::AnyKey => sigv4::verify(&signed, SecretCheck::AcceptAny, now)?,
    };
    let account_id = match &shared.config.auth {
        Auth::AnyKey
            if verified.access_key_id.len() == 12
                && verified.access_key_id.bytes().all(|b| b.is_ascii_digit()) =>
        {
            verified.access_key_id.clone()
        }
        _ => shared.config.account_id.clone(),
    };

    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let mut texts: Vec<&[u8]> = vec![query.as_bytes()];
    if !body.is_empty() {
        if !is_form {
            return Err(Fault::new(
                FaultCode::InvalidQueryParameter,
                "The request body must be application/x-www-form-urlencoded",
            ));
        }
        texts.push(&body);
    }
    let params = Params::decode(&texts)?;
    let action = params.action.as_deref().ok_or_else(|| {
        Fault::new(
            FaultCode::MissingAction,
            "The request must contain the parameter Action",
        )
    })?;
    let version = params
        .version
        .as_deref()
        .ok_or_else(|| Fault::missing_parameter("Version"))?;
    if !ACCEPTED_VERSIONS.contains(&version) {
        return Err(Fault::new(
            FaultCode::InvalidAction,
            format!("Could not find operation {action} for version {version}"),
        ));
    }
    let op = Operation::bind(action, &params.tree).ok_or_else(|| {
        Fault::new(
            FaultCode::InvalidAction,
            format!("Could not find operation {action} for version {version}"),
        )
    })??;

    let ctx = RequestContext {
        request_id: request_id.to_string(),
        access_key_id: verified.access_key_id,
        region: verified.region,
        account_id,
        source_addr,
    };
    let action = op.action();
    let output = shared.service.call(ctx, op).await?;
    if output.action() != action {
        tracing::error!(
            expected = action,
            got = output.action(),
            "service answered with another operation's output"
        );
        return Err(Fault::internal("An internal error has occurred."));
    }
    Ok(xml::response_document(&output, request_id))
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, Fault> {
    to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            Fault::new(
                FaultCode::RequestEntityTooLarge,
                format!("The request body is larger than {limit} bytes or could not be read"),
            )
        })
}
