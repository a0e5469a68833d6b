//! The JSON-RPC 2.0 message model: requests, notifications, result and error responses.
//!
//! Every message keeps its params, result and error data as [`RawJson`], and keeps any envelope
//! member it does not know in [`Extensions`], so a message read from one peer and written to
//! another comes out with the same content. Building and reading MCP-typed payloads is the job of
//! the [`crate::mcp`] views; this module only knows the envelope.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::id::RequestId;
use crate::raw::RawJson;

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request, which expects exactly one response with the same id.
    Request(Request),
    /// A notification, which expects no response.
    Notification(Notification),
    /// A successful response to a request.
    Result(ResultResponse),
    /// An error response to a request, or to input whose id could not be read (`id: null`).
    Error(ErrorResponse),
}

/// Envelope members other than the JSON-RPC ones, kept in the order they arrived.
///
/// JSON-RPC defines no other members, but a relay must not drop what a peer added. Holding none
/// costs no allocation.
pub type Extensions = Vec<(String, RawJson)>;

/// A JSON-RPC request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The id the response will carry.
    pub id: RequestId,
    /// The method name, such as `tools/call`.
    pub method: String,
    /// The params: a JSON object or array, or `None` when absent.
    pub params: Option<RawJson>,
    /// Unknown envelope members, kept for forwarding.
    pub extensions: Extensions,
}

/// A JSON-RPC notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The method name, such as `notifications/progress`.
    pub method: String,
    /// The params: a JSON object or array, or `None` when absent.
    pub params: Option<RawJson>,
    /// Unknown envelope members, kept for forwarding.
    pub extensions: Extensions,
}

/// A successful JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultResponse {
    /// The id of the request this answers.
    pub id: RequestId,
    /// The result value.
    pub result: RawJson,
    /// Unknown envelope members, kept for forwarding.
    pub extensions: Extensions,
}

/// A JSON-RPC error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The id of the request this answers, or `None` (written as `null`) when the offending
    /// input's id could not be read.
    pub id: Option<RequestId>,
    /// What went wrong.
    pub error: ErrorObject,
    /// Unknown envelope members, kept for forwarding.
    pub extensions: Extensions,
}

/// The `error` member of an error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorObject {
    /// The error code; see [`ErrorCode`] for the ones JSON-RPC and MCP define.
    pub code: i64,
    /// A short description of the error.
    pub message: String,
    /// Optional structured detail.
    pub data: Option<RawJson>,
}

/// Error codes defined by JSON-RPC 2.0 and by MCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// -32700: the text is not valid JSON.
    ParseError,
    /// -32600: the JSON is not a valid JSON-RPC message.
    InvalidRequest,
    /// -32601: the method does not exist or is not available.
    MethodNotFound,
    /// -32602: the params are invalid for the method.
    InvalidParams,
    /// -32603: the receiver failed internally.
    InternalError,
    /// -32020: an HTTP header does not match the message body (2026-07-28).
    HeaderMismatch,
    /// -32021: the request needs a client capability the client did not declare (2026-07-28).
    MissingRequiredClientCapability,
    /// -32022: the request's protocol version is not supported (2026-07-28).
    UnsupportedProtocolVersion,
}

impl ErrorCode {
    /// The numeric code.
    pub const fn code(self) -> i64 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::MethodNotFound => -32601,
            ErrorCode::InvalidParams => -32602,
            ErrorCode::InternalError => -32603,
            ErrorCode::HeaderMismatch => -32020,
            ErrorCode::MissingRequiredClientCapability => -32021,
            ErrorCode::UnsupportedProtocolVersion => -32022,
        }
    }

    /// The code for a number, when it is one this crate names.
    pub const fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            -32700 => ErrorCode::ParseError,
            -32600 => ErrorCode::InvalidRequest,
            -32601 => ErrorCode::MethodNotFound,
            -32602 => ErrorCode::InvalidParams,
            -32603 => ErrorCode::InternalError,
            -32020 => ErrorCode::HeaderMismatch,
            -32021 => ErrorCode::MissingRequiredClientCapability,
            -32022 => ErrorCode::UnsupportedProtocolVersion,
            _ => return None,
        })
    }
}

impl ErrorObject {
    /// An error with a named code, a message and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorObject { code: code.code(), message: message.into(), data: None }
    }

    /// The same error carrying `data`.
    pub fn with_data(mut self, data: RawJson) -> Self {
        self.data = Some(data);
        self
    }

    /// The named code, when the numeric code is one this crate knows.
    pub fn known_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }
}

impl Request {
    /// A request with no extensions.
    pub fn new(
        id: impl Into<RequestId>,
        method: impl Into<String>,
        params: Option<RawJson>,
    ) -> Self {
        Request { id: id.into(), method: method.into(), params, extensions: Extensions::new() }
    }
}

impl Notification {
    /// A notification with no extensions.
    pub fn new(method: impl Into<String>, params: Option<RawJson>) -> Self {
        Notification { method: method.into(), params, extensions: Extensions::new() }
    }
}

impl ResultResponse {
    /// A result response with no extensions.
    pub fn new(id: RequestId, result: RawJson) -> Self {
        ResultResponse { id, result, extensions: Extensions::new() }
    }
}

impl ErrorResponse {
    /// An error response with no extensions.
    pub fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        ErrorResponse { id, error, extensions: Extensions::new() }
    }
}

impl Message {
    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Result(_) | Message::Error(_) => None,
        }
    }

    /// The id of a request or response (`None` for notifications and `id: null` errors).
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Message::Request(r) => Some(&r.id),
            Message::Result(r) => Some(&r.id),
            Message::Error(e) => e.id.as_ref(),
            Message::Notification(_) => None,
        }
    }
}

impl From<Request> for Message {
    fn from(value: Request) -> Self {
        Message::Request(value)
    }
}

impl From<Notification> for Message {
    fn from(value: Notification) -> Self {
        Message::Notification(value)
    }
}

impl From<ResultResponse> for Message {
    fn from(value: ResultResponse) -> Self {
        Message::Result(value)
    }
}

impl From<ErrorResponse> for Message {
    fn from(value: ErrorResponse) -> Self {
        Message::Error(value)
    }
}

const JSONRPC_VERSION: &str = "2.0";

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        let extensions = match self {
            Message::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                if let Some(params) = &r.params {
                    map.serialize_entry("params", params)?;
                }
                &r.extensions
            }
            Message::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if let Some(params) = &n.params {
                    map.serialize_entry("params", params)?;
                }
                &n.extensions
            }
            Message::Result(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("result", &r.result)?;
                &r.extensions
            }
            Message::Error(e) => {
                map.serialize_entry("id", &e.id)?;
                map.serialize_entry("error", &e.error)?;
                &e.extensions
            }
        };
        for (key, value) in extensions {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ErrorObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &self.message)?;
        if let Some(data) = &self.data {
            map.serialize_entry("data", data)?;
        }
        map.end()
    }
}
