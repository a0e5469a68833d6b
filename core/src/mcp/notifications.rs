//! Notifications that are not tied to one feature: progress, cancellation, list changes and
//! resource updates.
//!
//! The three `list_changed` notifications (tools, resources, prompts) and
//! `notifications/roots/list_changed` carry no data; their params are
//! [`crate::mcp::NotificationParams`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::RequestId;
use crate::mcp::common::JsonObject;
use crate::mcp::num;

/// The token that ties progress notifications to the request that asked for them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProgressToken {
    /// A string token.
    String(String),
    /// An integer token.
    Number(i64),
}

/// The integer token `0`, so params holding a token can be built with `..Default::default()`.
impl Default for ProgressToken {
    fn default() -> Self {
        ProgressToken::Number(0)
    }
}

impl fmt::Display for ProgressToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgressToken::String(s) => f.write_str(s),
            ProgressToken::Number(n) => write!(f, "{n}"),
        }
    }
}

impl From<&str> for ProgressToken {
    fn from(value: &str) -> Self {
        ProgressToken::String(value.to_owned())
    }
}

impl From<String> for ProgressToken {
    fn from(value: String) -> Self {
        ProgressToken::String(value)
    }
}

impl From<i64> for ProgressToken {
    fn from(value: i64) -> Self {
        ProgressToken::Number(value)
    }
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressNotificationParams {
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: ProgressToken,
    /// Work done so far; must grow with each notification.
    #[serde(serialize_with = "num::f64_compact")]
    pub progress: f64,
    /// Total work, when known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "num::opt_f64_compact"
    )]
    pub total: Option<f64>,
    /// A human-readable status line (2025-03-26 onwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of `notifications/cancelled`.
///
/// `requestId` is required by every schema except 2025-11-25, where it may be left out when a
/// task is cancelled instead; it is optional here so such a notification still reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledNotificationParams {
    /// The id of the request the sender gives up on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Why, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of `notifications/resources/updated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUpdatedNotificationParams {
    /// The resource that changed (possibly a sub-resource of the one subscribed to).
    pub uri: String,
    /// Notification metadata, such as the 2026-07-28 subscription id.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}
