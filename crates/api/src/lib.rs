//! The ElastiCache Query protocol (API version 2015-02-02): SigV4 verification, the form binder,
//! the XML writer and faults. Shapes are generated from the AWS API model
//! (`model/elasticache-2015-02-02.json`, by `scripts/gen-api-model.py`).
//!
//! Knows nothing of how resources behave: a request becomes a typed [`Operation`] handed to an
//! [`ElastiCacheService`], which the `control` crate implements, and its [`Output`] or [`Fault`]
//! goes back on the wire exactly as AWS sends it (api-contract.md §3).
//!
//! ```text
//!  HTTP POST/GET ─► router ─► SigV4 verify ─► form decode ─► Operation::bind ─► service.call
//!                   (server.rs)  (sigv4.rs)      (form.rs)     (generated/bind.rs)     │
//!  text/xml ◄──── <XResponse><XResult>… / <ErrorResponse> ◄── (xml.rs, generated/write.rs) ◄┘
//! ```
//!
//! # The seam
//!
//! ```no_run
//! use api::{model, ApiConfig, Auth, BoxFuture, ElastiCacheService, Fault, FaultCode, Operation, Output, RequestContext};
//! use std::sync::Arc;
//!
//! struct Control;
//!
//! impl ElastiCacheService for Control {
//!     fn call(&self, ctx: RequestContext, op: Operation) -> BoxFuture<Result<Output, Fault>> {
//!         Box::pin(async move {
//!             match op {
//!                 Operation::DescribeCacheClusters(input) => {
//!                     let page = api::Page::from_request(input.marker.as_deref(), input.max_records, api::Page::DEFAULT_LIMITS)?;
//!                     let clusters: Vec<model::CacheCluster> = Vec::new(); // sorted by id, from the state of ctx.region
//!                     let (items, marker) = page.take(clusters, |c| c.cache_cluster_id.clone().unwrap_or_default());
//!                     Ok(Output::DescribeCacheClusters(model::CacheClusterMessage { marker, cache_clusters: Some(items) }))
//!                 }
//!                 other => Err(Fault::new(FaultCode::InvalidAction, format!("{} is not implemented", other.action()))),
//!             }
//!         })
//!     }
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let config = ApiConfig::new(Auth::keys([("AKIDEXAMPLE", "secret")]), "123456789012");
//! let app = api::router(Arc::new(Control), config);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // `with_connect_info` lets RequestContext::source_addr carry the client's address.
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
//! # }
//! ```

mod fault;
pub mod form;
mod generated;
mod pagination;
mod server;
pub mod sigv4;
pub mod xml;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

pub use fault::Fault;
pub use generated::fault_code::FaultCode;
pub use generated::operation::{modelled_faults, Operation, Output, ACTIONS};
pub use pagination::{Page, PageLimits};
pub use server::{router, ApiConfig, Auth, Clock};

/// Every structure shape of the model (inputs, outputs, nested types), one struct each, and the
/// allowed values of its enumerated strings in [`model::enums`].
pub mod model {
    pub use crate::generated::types::*;
}

/// Fully populated sample outputs of every operation (feature `samples`, for contract tests).
#[cfg(feature = "samples")]
pub use generated::samples;

/// The model's only timestamp type (`TStamp`).
pub type Timestamp = time::OffsetDateTime;

/// The API version served; requests must say `Version=2015-02-02` (or the older `2014-09-30`,
/// whose operations are a subset with the same shapes for our purposes).
pub const API_VERSION: &str = "2015-02-02";

/// A boxed, sendable future, so [`ElastiCacheService`] stays object-safe without `async_trait`.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Who asked, from where, in which region: what the wire layer learned from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The id sent back in `x-amzn-RequestId` and `<RequestId>` (a UUID v4).
    pub request_id: String,
    /// The access key id the request was signed with.
    pub access_key_id: String,
    /// The region of the SigV4 credential scope; it selects the per-region state.
    pub region: String,
    /// The account id that owns resources (ARNs): [`ApiConfig::account_id`], or the access key id
    /// itself when it is 12 digits and [`Auth::AnyKey`] is in use (LocalStack's dev trick).
    pub account_id: String,
    /// The client's address, when the router is served with connect info.
    pub source_addr: Option<SocketAddr>,
}

/// What the control plane implements: one call per bound request.
///
/// The returned [`Output`] must be the variant of the same operation as `op` (the router answers
/// `InternalFailure` otherwise). Faults go on the wire as `<ErrorResponse>` with their code's HTTP
/// status. Calls run concurrently; the future must not borrow `self` (clone an `Arc` into it).
pub trait ElastiCacheService: Send + Sync + 'static {
    /// Performs `op` for the caller described by `ctx`.
    fn call(&self, ctx: RequestContext, op: Operation) -> BoxFuture<Result<Output, Fault>>;
}
