//! The `_meta` object: well-known keys and helpers to read and write them.
//!
//! Before 2026-07-28 the only key MCP defines is `progressToken`. The 2026-07-28 (modern) era
//! moves what `initialize` used to negotiate into every message: each request names the
//! protocol version, the client's capabilities and identity, and each result the server's
//! identity. The helpers here work on a `_meta` object as a [`JsonObject`]; the typed views
//! [`RequestMeta`], [`ResultMeta`] and [`NotificationMeta`] read a whole `_meta` at once.
//!
//! Readers never fail on a missing key (they return `None`); typed readers report a present but
//! malformed value as an error rather than hiding it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::RequestId;
use crate::mcp::capabilities::ClientCapabilities;
use crate::mcp::common::JsonObject;
use crate::mcp::lifecycle::Implementation;
use crate::mcp::logging::LoggingLevel;
use crate::mcp::notifications::ProgressToken;

/// `_meta` key of the protocol version a 2026-07-28 request is written in.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client capabilities on a 2026-07-28 request.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the client's [`Implementation`] on a 2026-07-28 request.
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key of the server's [`Implementation`] on a 2026-07-28 result.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key of the lowest log level the client wants for this request (2026-07-28).
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key tying a notification or listen result to a `subscriptions/listen` stream
/// (2026-07-28).
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key of the token a request offers for progress notifications (all versions).
pub const PROGRESS_TOKEN_KEY: &str = "progressToken";

/// Reads `key` from `meta` as a `T`: `Ok(None)` when absent, an error when present but not a
/// `T`.
pub fn get<T: DeserializeOwned>(
    meta: &JsonObject,
    key: &str,
) -> Result<Option<T>, serde_json::Error> {
    match meta.get(key) {
        None => Ok(None),
        Some(value) => T::deserialize(value).map(Some),
    }
}

/// Writes `value` under `key`, replacing what was there.
pub fn set<T: Serialize + ?Sized>(
    meta: &mut JsonObject,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    let value = serde_json::to_value(value)?;
    meta.insert(key.to_owned(), value);
    Ok(())
}

/// The protocol version a request names, when present as a string.
pub fn protocol_version(meta: &JsonObject) -> Option<&str> {
    meta.get(PROTOCOL_VERSION_KEY).and_then(Value::as_str)
}

/// Sets the protocol version a request names.
pub fn set_protocol_version(meta: &mut JsonObject, version: &str) {
    meta.insert(PROTOCOL_VERSION_KEY.to_owned(), Value::String(version.to_owned()));
}

/// The client capabilities a request declares.
pub fn client_capabilities(
    meta: &JsonObject,
) -> Result<Option<ClientCapabilities>, serde_json::Error> {
    get(meta, CLIENT_CAPABILITIES_KEY)
}

/// Sets the client capabilities a request declares.
pub fn set_client_capabilities(
    meta: &mut JsonObject,
    capabilities: &ClientCapabilities,
) -> Result<(), serde_json::Error> {
    set(meta, CLIENT_CAPABILITIES_KEY, capabilities)
}

/// The client identity a request carries.
pub fn client_info(meta: &JsonObject) -> Result<Option<Implementation>, serde_json::Error> {
    get(meta, CLIENT_INFO_KEY)
}

/// Sets the client identity a request carries.
pub fn set_client_info(
    meta: &mut JsonObject,
    info: &Implementation,
) -> Result<(), serde_json::Error> {
    set(meta, CLIENT_INFO_KEY, info)
}

/// The server identity a result carries.
pub fn server_info(meta: &JsonObject) -> Result<Option<Implementation>, serde_json::Error> {
    get(meta, SERVER_INFO_KEY)
}

/// Sets the server identity a result carries.
pub fn set_server_info(
    meta: &mut JsonObject,
    info: &Implementation,
) -> Result<(), serde_json::Error> {
    set(meta, SERVER_INFO_KEY, info)
}

/// The log level a request asks for.
pub fn log_level(meta: &JsonObject) -> Result<Option<LoggingLevel>, serde_json::Error> {
    get(meta, LOG_LEVEL_KEY)
}

/// Sets the log level a request asks for.
pub fn set_log_level(meta: &mut JsonObject, level: &LoggingLevel) {
    meta.insert(LOG_LEVEL_KEY.to_owned(), Value::String(level.as_str().to_owned()));
}

/// The subscription a notification or listen result belongs to.
pub fn subscription_id(meta: &JsonObject) -> Result<Option<RequestId>, serde_json::Error> {
    get(meta, SUBSCRIPTION_ID_KEY)
}

/// Sets the subscription a notification or listen result belongs to.
pub fn set_subscription_id(meta: &mut JsonObject, id: &RequestId) -> Result<(), serde_json::Error> {
    set(meta, SUBSCRIPTION_ID_KEY, id)
}

/// The progress token a request offers.
pub fn progress_token(meta: &JsonObject) -> Result<Option<ProgressToken>, serde_json::Error> {
    get(meta, PROGRESS_TOKEN_KEY)
}

/// Sets the progress token a request offers.
pub fn set_progress_token(meta: &mut JsonObject, token: &ProgressToken) {
    let value = match token {
        ProgressToken::String(s) => Value::String(s.clone()),
        ProgressToken::Number(n) => Value::from(*n),
    };
    meta.insert(PROGRESS_TOKEN_KEY.to_owned(), value);
}

/// A request's `_meta`, read as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestMeta {
    /// The protocol version the request is written in (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// The capabilities the client declares for this request (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// The client's identity (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// The lowest log level the client wants while this request runs (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// The token progress notifications for this request will carry.
    #[serde(rename = "progressToken", default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    /// Other keys, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A result's `_meta`, read as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultMeta {
    /// The server's identity (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/serverInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_info: Option<Implementation>,
    /// The stream a `subscriptions/listen` result closes (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Other keys, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A notification's `_meta`, read as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationMeta {
    /// The `subscriptions/listen` stream this notification belongs to (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Other keys, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl RequestMeta {
    /// Reads a `_meta` object.
    pub fn from_object(meta: &JsonObject) -> Result<Self, serde_json::Error> {
        Self::deserialize(meta)
    }

    /// Writes this view back as a `_meta` object.
    pub fn to_object(&self) -> Result<JsonObject, serde_json::Error> {
        to_object(self)
    }
}

impl ResultMeta {
    /// Reads a `_meta` object.
    pub fn from_object(meta: &JsonObject) -> Result<Self, serde_json::Error> {
        Self::deserialize(meta)
    }

    /// Writes this view back as a `_meta` object.
    pub fn to_object(&self) -> Result<JsonObject, serde_json::Error> {
        to_object(self)
    }
}

impl NotificationMeta {
    /// Reads a `_meta` object.
    pub fn from_object(meta: &JsonObject) -> Result<Self, serde_json::Error> {
        Self::deserialize(meta)
    }

    /// Writes this view back as a `_meta` object.
    pub fn to_object(&self) -> Result<JsonObject, serde_json::Error> {
        to_object(self)
    }
}

fn to_object<T: Serialize>(value: &T) -> Result<JsonObject, serde_json::Error> {
    match serde_json::to_value(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(serde::ser::Error::custom("a _meta view must serialize to a JSON object")),
    }
}
