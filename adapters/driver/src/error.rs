//! Errors the adapter API returns.

use mcp_ws_core::session::{Outcome, SessionError};
use mcp_ws_core::{ErrorCode, ErrorObject, RawJson};

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
    /// (Server handlers, 2026-07-28.) The request needs to ask the client for something its
    /// declared capabilities do not cover (`sampling` for `create_message`, `elicitation` for
    /// `elicit`, `roots` for `list_roots`): nothing was asked. Passed on with `?` from a tool
    /// or prompt handler, the request is answered with this error, -32021 with
    /// `data.requiredCapabilities`, as the specification requires; a handler that can do
    /// without the input handles it instead.
    #[error("error {}: {}", .0.code, .0.message)]
    MissingClientCapability(ErrorObject),
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

/// The `data` member marking an error answer as "refused without processing the request"
/// (a draining server): `{"notProcessed": true}`. Such a request is safe to issue again
/// elsewhere, whatever it does; a reconnecting [`crate::Client`] does so on its next
/// connection.
pub const NOT_PROCESSED_KEY: &str = "notProcessed";

/// The -32603 error a server answers a request it refuses without processing it (it is
/// shutting down), marked with [`NOT_PROCESSED_KEY`].
pub fn not_processed(message: impl Into<String>) -> ErrorObject {
    let mut error = ErrorObject::new(ErrorCode::InternalError, message);
    error.data = RawJson::from_serialize(&serde_json::json!({ NOT_PROCESSED_KEY: true })).ok();
    error
}

/// Whether `error` says the request was not processed ([`not_processed`]).
pub fn is_not_processed(error: &ErrorObject) -> bool {
    error
        .data
        .as_ref()
        .and_then(|data| data.parse::<serde_json::Value>().ok())
        .is_some_and(|data| data[NOT_PROCESSED_KEY] == serde_json::Value::Bool(true))
}

/// The close reason of a draining server's 1001 to a connection on which nothing was in
/// progress: the requests the client still has in flight were not processed (they reached the
/// server after its close, or were refused with [`not_processed`]). A reconnecting
/// [`crate::Client`] issues them again on its next connection, retryable or not.
pub const DRAINED_CLOSE_REASON: &str = "the server is shutting down; nothing was in progress";

/// The 1001 close with [`DRAINED_CLOSE_REASON`].
pub fn drained_close() -> mcp_ws_core::CloseReason {
    mcp_ws_core::CloseReason::new(mcp_ws_core::CloseCode::GOING_AWAY, DRAINED_CLOSE_REASON)
}

/// Whether a peer's close is [`drained_close`].
pub fn is_drained_close(reason: &mcp_ws_core::CloseReason) -> bool {
    reason.code == mcp_ws_core::CloseCode::GOING_AWAY && reason.reason == DRAINED_CLOSE_REASON
}
