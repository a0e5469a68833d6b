//! The structured `data` of MCP-defined JSON-RPC errors.
//!
//! The error envelope itself is [`crate::ErrorObject`]; these types read and build its `data`
//! for the codes whose data MCP specifies.

use serde::{Deserialize, Serialize};

use crate::mcp::capabilities::ClientCapabilities;
use crate::mcp::common::JsonObject;

/// `data` of error -32022 (unsupported protocol version, 2026-07-28).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsupportedVersionData {
    /// The versions the server speaks.
    pub supported: Vec<String>,
    /// The version the request named.
    pub requested: String,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `data` of error -32021 (missing required client capability, 2026-07-28).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingCapabilityData {
    /// The capabilities the request needs the client to declare.
    pub required_capabilities: ClientCapabilities,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}
