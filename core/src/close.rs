//! WebSocket close codes and reasons, as data.
//!
//! The core decides when a connection must close and with which code; the adapters turn that
//! into a close frame. The codes are the RFC 6455 ones this project uses; the mapping from
//! failures to codes is documented in the README's wire binding section.

use std::borrow::Cow;
use std::fmt;

/// A WebSocket close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection is fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, or the peer was declared dead).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the WebSocket or MCP protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a binary frame arrived; MCP over WebSocket uses text frames only.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1006: the connection was lost without a close frame (never sent, only reported).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a text frame held invalid UTF-8.
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the peer violated policy, e.g. sent more malformed frames than the budget allows.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message exceeded the configured size limit.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the endpoint hit an internal error.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1014: a gateway's upstream could not be reached, was lost or stopped answering.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A close code with a human-readable reason.
///
/// RFC 6455 limits a close frame's reason to 123 bytes; [`CloseReason::new`] truncates longer
/// text at a character boundary so the frame can always be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The status code.
    pub code: CloseCode,
    /// Why the connection closes.
    pub reason: Cow<'static, str>,
}

/// The longest reason a close frame can carry, in bytes.
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

impl CloseReason {
    /// A close reason, truncated to [`MAX_CLOSE_REASON_BYTES`].
    pub fn new(code: CloseCode, reason: impl Into<Cow<'static, str>>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_CLOSE_REASON_BYTES {
            let mut end = MAX_CLOSE_REASON_BYTES;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.to_mut().truncate(end);
        }
        CloseReason { code, reason }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close {}: {}", self.code, self.reason)
    }
}
