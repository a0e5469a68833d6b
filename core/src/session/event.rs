//! What a session hands its driver: actions to perform, events to deliver, and the errors its
//! commands return.

use std::fmt;

use crate::close::CloseReason;
use crate::id::RequestId;
use crate::mcp::{
    ClientCapabilities, Implementation, ProgressNotificationParams, ServerCapabilities,
};
use crate::message::{ErrorObject, Message, Notification};
use crate::raw::RawJson;
use crate::version::{Era, ProtocolVersion};

/// One output of the session, drained in order with `Session::poll_action`.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this text as one WebSocket text frame.
    SendText(String),
    /// Send a WebSocket ping frame (any payload; the pong comes back through
    /// `handle_transport_activity`).
    SendPing,
    /// Deliver this event to the application.
    Event(Event),
    /// Close the WebSocket with this code and reason, then drop the transport. Always followed by
    /// an [`Event::Closed`].
    Close(CloseReason),
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The lifecycle finished: the era, version and peer are known and requests flow.
    Ready(Box<ReadyInfo>),
    /// The peer sent a request; answer it with `Session::respond` exactly once.
    Request(IncomingRequest),
    /// The peer sent a notification the session does not consume itself.
    Notification(Notification),
    /// One of our requests ended; every request ends with exactly one of these.
    RequestEnded {
        /// The id we gave the request.
        id: RequestId,
        /// How it ended.
        outcome: Outcome,
    },
    /// Progress arrived for one of our requests (non-increasing progress is dropped).
    Progress {
        /// The id of our request.
        id: RequestId,
        /// The notification's params.
        params: ProgressNotificationParams,
    },
    /// The peer cancelled one of its requests: stop its handler. Its response, if any, is no
    /// longer sent.
    Cancelled {
        /// The id the peer gave the request.
        id: RequestId,
        /// The peer's reason, if it gave one.
        reason: Option<String>,
    },
    /// A response arrived for no request of ours in flight (unknown, finished or `id: null`).
    UnmatchedResponse(Message),
    /// A malformed frame arrived; it was answered as the wire binding says.
    MalformedFrame {
        /// The error the frame deserved.
        error: crate::codec::FrameError,
    },
    /// The session is over; nothing more will be sent or delivered.
    Closed {
        /// The close code and reason.
        reason: CloseReason,
        /// Who ended it.
        by: ClosedBy,
    },
}

/// Who ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedBy {
    /// The application called `Session::close`.
    Application,
    /// The session itself: a protocol failure, a dead peer, a refused version.
    Session,
    /// The peer sent a close frame.
    Peer,
    /// The transport was lost without a close frame.
    Transport,
}

/// Why a client's lifecycle failed (see `Session::lifecycle_failure`). All of them close the
/// session with 1002; only a refused version will fail the same way on every retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleFailure {
    /// The server answered `initialize` with a version this client cannot speak.
    VersionRefused,
    /// The server answered `initialize` with an error.
    InitializeError,
    /// The server's `initialize` result did not parse.
    InvalidInitializeResult,
    /// The server did not answer `initialize` within the request timeout.
    InitializeTimedOut,
}

/// The end of one outgoing request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The peer answered with a result.
    Result(RawJson),
    /// The peer answered with an error.
    Error(ErrorObject),
    /// No answer came in time; `notifications/cancelled` was sent.
    TimedOut,
    /// The application cancelled it; `notifications/cancelled` was sent if it had gone out.
    Cancelled,
    /// The connection ended first.
    Disconnected,
}

/// What the lifecycle settled.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyInfo {
    /// The era in use.
    pub era: Era,
    /// The protocol version in use (for the modern era, the one stamped on requests).
    pub version: ProtocolVersion,
    /// What the peer said about itself.
    pub peer: PeerDescription,
}

/// The peer's identity and capabilities, as far as the lifecycle told them.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerDescription {
    /// We are the client; this is the server.
    Server {
        /// `serverInfo`, when the server sent one (a fixed modern client learns it from results).
        info: Option<Implementation>,
        /// The server's capabilities (empty when unknown).
        capabilities: ServerCapabilities,
        /// The server's instructions, if any.
        instructions: Option<String>,
    },
    /// We are the server; this is the client.
    Client {
        /// `clientInfo`, when the client sent one.
        info: Option<Implementation>,
        /// The client's capabilities.
        capabilities: ClientCapabilities,
    },
}

/// A request from the peer, to be answered with `Session::respond`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingRequest {
    /// The peer's id, echoed in the response.
    pub id: RequestId,
    /// The method.
    pub method: String,
    /// The raw params.
    pub params: Option<RawJson>,
    /// Whether the peer asked for progress (`_meta.progressToken`); if so,
    /// `Session::notify_progress` can report it.
    pub wants_progress: bool,
    /// The era the request was made in: a 2026-07-28 request carries its own settings (such
    /// as [`IncomingRequest::log_level`]) where a legacy one relies on the connection's.
    pub era: Era,
    /// The least severe log level the request wants (`_meta["io.modelcontextprotocol/
    /// logLevel"]`, 2026-07-28). `None` in the modern era means no log messages at all for
    /// this request, as the specification requires; the legacy era has no such key (it is
    /// always `None` there) and uses `logging/setLevel` for the connection.
    pub log_level: Option<crate::mcp::LoggingLevel>,
    /// The capabilities the client declares for this request
    /// (`_meta["io.modelcontextprotocol/clientCapabilities"]`, 2026-07-28), when present and
    /// well-formed. Always `None` in the legacy era, where the client declared them once, in
    /// `initialize` (see [`ReadyInfo::peer`]).
    pub client_capabilities: Option<Box<crate::mcp::ClientCapabilities>>,
}

/// A command the session refused; the session state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// The session is closed.
    Closed,
    /// The session is not ready and is configured to reject early requests.
    NotReady,
    /// `max_pending_outgoing` requests are already in flight.
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
    /// No request with this id is in flight (it may have ended or been cancelled by the peer).
    UnknownRequest(RequestId),
    /// The method is not allowed in this era or role (e.g. a server request in 2026-07-28).
    NotAllowed(&'static str),
    /// Params and results must be JSON objects (MCP never uses arrays), with an object `_meta`.
    NotAnObject,
    /// The incoming request carried no progress token.
    NoProgressToken(RequestId),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Closed => f.write_str("the session is closed"),
            SessionError::NotReady => f.write_str("the session is not ready yet"),
            SessionError::TooManyPending { limit } => {
                write!(f, "too many requests in flight (limit {limit})")
            }
            SessionError::UnknownRequest(id) => write!(f, "no request {id} is in flight"),
            SessionError::NotAllowed(why) => write!(f, "not allowed: {why}"),
            SessionError::NotAnObject => {
                f.write_str("params and results must be JSON objects, with an object _meta")
            }
            SessionError::NoProgressToken(id) => {
                write!(f, "request {id} did not ask for progress")
            }
        }
    }
}

impl std::error::Error for SessionError {}
