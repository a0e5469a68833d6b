//! Errors the adapter API returns.

use std::fmt;

use mcp_ws_core::ErrorObject;
use mcp_ws_core::session::{Outcome, SessionError};

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The peer answered with a JSON-RPC error.
    Rpc(ErrorObject),
    /// No answer within the timeout; the peer was told to cancel.
    TimedOut,
    /// The call was cancelled by this side.
    Cancelled,
    /// The connection ended before an answer came.
    Disconnected,
    /// The session refused the call (closed, too many pending, bad params...).
    Refused(SessionError),
    /// The result did not have the expected shape.
    InvalidResult(String),
}

impl CallError {
    pub(crate) fn from_outcome(outcome: Outcome) -> Result<mcp_ws_core::RawJson, CallError> {
        match outcome {
            Outcome::Result(raw) => Ok(raw),
            Outcome::Error(error) => Err(CallError::Rpc(error)),
            Outcome::TimedOut => Err(CallError::TimedOut),
            Outcome::Cancelled => Err(CallError::Cancelled),
            Outcome::Disconnected => Err(CallError::Disconnected),
        }
    }
}

impl From<SessionError> for CallError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Closed => CallError::Disconnected,
            other => CallError::Refused(other),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rpc(e) => write!(f, "error {}: {}", e.code, e.message),
            CallError::TimedOut => f.write_str("the request timed out"),
            CallError::Cancelled => f.write_str("the request was cancelled"),
            CallError::Disconnected => f.write_str("the connection ended before an answer came"),
            CallError::Refused(e) => write!(f, "refused: {e}"),
            CallError::InvalidResult(why) => write!(f, "invalid result: {why}"),
        }
    }
}

impl std::error::Error for CallError {}
