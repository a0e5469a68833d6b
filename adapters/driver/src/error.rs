//! Errors the adapter API returns.

use mcp_ws_core::ErrorObject;
use mcp_ws_core::session::{Outcome, SessionError};

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The peer answered with a JSON-RPC error.
    #[error("error {}: {}", .0.code, .0.message)]
    Rpc(ErrorObject),
    /// No answer within the timeout; the peer was told to cancel.
    #[error("the request timed out")]
    TimedOut,
    /// The call was cancelled by this side.
    #[error("the request was cancelled")]
    Cancelled,
    /// The connection ended before an answer came.
    #[error("the connection ended before an answer came")]
    Disconnected,
    /// The session refused the call (closed, too many pending, bad params...).
    #[error("refused: {0}")]
    Refused(#[source] SessionError),
    /// The result did not have the expected shape.
    #[error("invalid result: {0}")]
    InvalidResult(String),
    /// (Server handlers, 2026-07-28.) The client has not answered this question yet: the
    /// request ends with `input_required` and the handler runs again with the answer. Pass it
    /// on with `?`; see [`crate::peer_calls`].
    #[error("input {key} is required from the client; the handler runs again with the answer")]
    InputRequired {
        /// The key the question travels under in `inputRequests`.
        key: String,
    },
    /// (Clients.) A round of `input_required` could not be completed: too many rounds, a
    /// malformed result, or an input request this client has no answer for.
    #[error("input_required round failed: {0}")]
    InputRounds(String),
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
