//! Handlers for the peer's requests: the boxed function type both sides register, and the
//! event sink plumbing that runs them as abortable tasks.

use std::future::Future;
use std::sync::Arc;

use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::{ErrorCode, ErrorObject, RawJson};

use crate::runtime::BoxFuture;
use crate::tasks::RequestContext;

/// What a request handler resolves to: the result object, or the JSON-RPC error to answer with.
pub type HandlerResult = Result<RawJson, ErrorObject>;

/// A handler for requests that arrive from the peer.
pub type RequestHandler =
    Arc<dyn Fn(IncomingRequest, RequestContext) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// Boxes an async closure as a [`RequestHandler`].
pub fn request_handler<F, Fut>(handler: F) -> RequestHandler
where
    F: Fn(IncomingRequest, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(move |request, context| Box::pin(handler(request, context)))
}

/// The -32601 error for a method nobody handles.
pub fn method_not_found(method: &str) -> ErrorObject {
    ErrorObject::new(ErrorCode::MethodNotFound, format!("method not found: {method}"))
}

/// Serialises a typed result into the raw JSON an answer carries.
pub fn to_result<T: serde::Serialize>(value: &T) -> HandlerResult {
    RawJson::from_serialize(value)
        .map_err(|e| ErrorObject::new(ErrorCode::InternalError, format!("unserialisable: {e}")))
}

/// Parses a request's params as `T`, mapping failure to -32602.
pub fn parse_params<T: serde::de::DeserializeOwned>(
    params: Option<&RawJson>,
) -> Result<T, ErrorObject> {
    let parsed = match params {
        Some(raw) => raw.parse(),
        None => serde_json::from_str("{}"),
    };
    parsed.map_err(|e| ErrorObject::new(ErrorCode::InvalidParams, format!("invalid params: {e}")))
}
