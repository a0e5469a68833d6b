//! Logging: `logging/setLevel` and the `notifications/message` log records a server sends.
//!
//! In 2026-07-28 there is no `logging/setLevel`; a request names its wanted level in
//! `_meta` under [`crate::mcp::meta::LOG_LEVEL_KEY`] instead.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mcp::common::JsonObject;

string_enum! {
    /// Severity of a log message, as in syslog (RFC 5424).
    pub enum LoggingLevel {
        /// Detailed debugging information.
        Debug = "debug",
        /// Normal operational messages.
        Info = "info",
        /// Normal but significant events.
        Notice = "notice",
        /// Warning conditions.
        Warning = "warning",
        /// Error conditions.
        Error = "error",
        /// Critical conditions.
        Critical = "critical",
        /// Action must be taken immediately.
        Alert = "alert",
        /// The system is unusable.
        Emergency = "emergency",
    }
}

impl LoggingLevel {
    /// Rank from 0 (debug) to 7 (emergency); `None` for a level this crate does not know.
    pub fn severity(&self) -> Option<u8> {
        Some(match self {
            LoggingLevel::Debug => 0,
            LoggingLevel::Info => 1,
            LoggingLevel::Notice => 2,
            LoggingLevel::Warning => 3,
            LoggingLevel::Error => 4,
            LoggingLevel::Critical => 5,
            LoggingLevel::Alert => 6,
            LoggingLevel::Emergency => 7,
            LoggingLevel::Other(_) => return None,
        })
    }
}

/// Params of `logging/setLevel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetLevelParams {
    /// The lowest level the client wants to receive.
    pub level: LoggingLevel,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of `notifications/message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingMessageParams {
    /// How severe the message is.
    pub level: LoggingLevel,
    /// Which logger emitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The message: any JSON value.
    pub data: Value,
    /// Notification metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<JsonObject>,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}
