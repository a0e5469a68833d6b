//! Logging: `logging/setLevel` and the `notifications/message` log records a server sends.
//!
//! In 2026-07-28 there is no `logging/setLevel`; a request names its wanted level in
//! `_meta` under [`crate::mcp::meta::LOG_LEVEL_KEY`] instead. [`log_allowed`] holds the rule
//! of both eras: which log messages a server may send while it answers a request.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mcp::common::JsonObject;
use crate::version::Era;

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

    /// Whether a message at this level is at least as severe as `minimum`. A message at a
    /// level this crate does not know always passes; an unknown minimum lets everything pass.
    pub fn passes(&self, minimum: &LoggingLevel) -> bool {
        match (self.severity(), minimum.severity()) {
            (Some(level), Some(minimum)) => level >= minimum,
            _ => true,
        }
    }
}

/// Whether a server may send a log message at `level` while it answers a request of `era`.
///
/// - Legacy (`initialize`) era: the connection's minimum from `logging/setLevel`
///   (`connection_level`) applies; before any `logging/setLevel` every message may be sent.
/// - 2026-07-28: only the request's own `_meta` level (`request_level`) counts. Without one
///   no log message may be sent for the request: the specification says the client opts in
///   by naming a level, and the server MUST NOT send log messages otherwise.
pub fn log_allowed(
    era: Era,
    request_level: Option<&LoggingLevel>,
    connection_level: Option<&LoggingLevel>,
    level: &LoggingLevel,
) -> bool {
    let minimum = match era {
        Era::Legacy => match connection_level {
            None => return true,
            Some(minimum) => minimum,
        },
        Era::Modern => match request_level {
            None => return false,
            Some(minimum) => minimum,
        },
    };
    level.passes(minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVELS: [LoggingLevel; 3] =
        [LoggingLevel::Debug, LoggingLevel::Info, LoggingLevel::Warning];

    fn sent(
        era: Era,
        request: Option<&LoggingLevel>,
        connection: Option<&LoggingLevel>,
    ) -> Vec<&'static str> {
        LEVELS
            .iter()
            .filter(|level| log_allowed(era, request, connection, level))
            .map(|level| match level {
                LoggingLevel::Debug => "debug",
                LoggingLevel::Info => "info",
                _ => "warning",
            })
            .collect()
    }

    #[test]
    fn legacy_requests_follow_the_connection_level_and_send_everything_before_one_is_set() {
        assert_eq!(sent(Era::Legacy, None, None), ["debug", "info", "warning"]);
        assert_eq!(sent(Era::Legacy, None, Some(&LoggingLevel::Warning)), ["warning"]);
        // A `_meta` level has no say in the legacy era.
        let error = LoggingLevel::Error;
        assert_eq!(sent(Era::Legacy, Some(&error), Some(&LoggingLevel::Info)), ["info", "warning"]);
    }

    #[test]
    fn modern_requests_follow_their_own_level_and_get_nothing_without_one() {
        assert_eq!(sent(Era::Modern, Some(&LoggingLevel::Warning), None), ["warning"]);
        assert_eq!(
            sent(Era::Modern, Some(&LoggingLevel::Debug), None),
            ["debug", "info", "warning"]
        );
        assert!(sent(Era::Modern, None, Some(&LoggingLevel::Debug)).is_empty());
    }

    #[test]
    fn unknown_levels_are_let_through() {
        let odd = LoggingLevel::Other("verbose".into());
        assert_eq!(sent(Era::Modern, Some(&odd), None), ["debug", "info", "warning"]);
        assert!(odd.passes(&LoggingLevel::Emergency));
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
