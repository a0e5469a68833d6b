//! The legacy-era session lifecycle and the identity both sides present.
//!
//! `initialize` (with [`InitializeParams`] and [`InitializeResult`]) opens a session in
//! versions 2024-11-05 to 2025-11-25, `notifications/initialized` (params:
//! [`crate::mcp::NotificationParams`]) confirms it, and `ping` (params:
//! [`crate::mcp::RequestParams`], result: [`crate::mcp::EmptyResult`]) checks liveness. The
//! [`Implementation`] identity is also what 2026-07-28 carries in `_meta`.

use serde::{Deserialize, Serialize};

use crate::mcp::capabilities::{ClientCapabilities, ServerCapabilities};
use crate::mcp::common::JsonObject;
use crate::mcp::content::Icon;

/// The name and version of an MCP client or server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// Machine-readable name.
    pub name: String,
    /// Version string of the implementation.
    pub version: String,
    /// Human-readable display name (2025-06-18 onwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Short human-readable description (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Icons a user interface may show for it (2025-11-25 onwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Home page of the implementation (2025-11-25 onwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl Implementation {
    /// An identity with only a name and a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Implementation { name: name.into(), version: version.into(), ..Default::default() }
    }
}

/// Params of `initialize`, sent by the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The protocol version the client prefers, normally its latest.
    pub protocol_version: String,
    /// What the client supports.
    pub capabilities: ClientCapabilities,
    /// Who the client is.
    pub client_info: Implementation,
    /// Request metadata (a progress token, if any).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Result of `initialize`, sent by the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The version the session will use: the client's if the server speaks it, else the
    /// server's own choice.
    pub protocol_version: String,
    /// What the server supports.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Implementation,
    /// Hints for the client (or its model) on how to use the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}
