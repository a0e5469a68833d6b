//! `server/discover` (2026-07-28): how a modern client learns a server's versions,
//! capabilities and identity without a session.
//!
//! The request's params are [`crate::mcp::RequestParams`]; the server's identity travels in
//! the result's `_meta` under [`crate::mcp::meta::SERVER_INFO_KEY`].

use serde::{Deserialize, Serialize};

use crate::mcp::capabilities::ServerCapabilities;
use crate::mcp::common::ResultType;
use crate::mcp::common::{CacheScope, JsonObject};
use crate::mcp::lifecycle::Implementation;
use crate::mcp::meta;

/// Result of `server/discover`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Every protocol version the server speaks.
    pub supported_versions: Vec<String>,
    /// What the server supports.
    pub capabilities: ServerCapabilities,
    /// Hints for the client (or its model) on how to use the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// How long, in milliseconds, the client may reuse this answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Who may reuse this answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
    /// Always `"complete"` for this result; absent means the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Result metadata, carrying the server identity.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl DiscoverResult {
    /// The server identity from `_meta`: `Ok(None)` when absent, an error when malformed.
    pub fn server_info(&self) -> Result<Option<Implementation>, serde_json::Error> {
        match &self.meta {
            Some(m) => meta::server_info(m),
            None => Ok(None),
        }
    }
}
