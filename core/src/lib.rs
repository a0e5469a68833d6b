//! # mcp-ws-core
//!
//! The sans-IO core of mcp-ws: everything about speaking the Model Context Protocol over
//! WebSocket that does not need a socket, a clock or an async runtime.
//!
//! - [`codec`]: one WebSocket payload in, one classified JSON-RPC frame out ([`decode`]), and
//!   compact text back ([`encode`]).
//! - [`message`], [`id`], [`raw`]: the JSON-RPC message model, with params and results kept as
//!   raw JSON and ids kept exactly as sent.
//! - [`mcp`]: typed views of MCP payloads for every released protocol version.
//! - [`pagination`]: pages and opaque cursors for the MCP list methods.
//! - [`param_headers`]: tool arguments mirrored into `Mcp-Param-*` HTTP headers (2026-07-28).
//! - [`version`]: protocol versions as data and the negotiation rules of both eras.
//! - [`session`]: the per-connection state machine: lifecycle of both eras, correlation,
//!   timeouts, cancellation, progress, heartbeat and limits. Its docs state the driver contract.
//! - [`reconnect`]: the client's reconnect machine: backoff with full jitter, budgets,
//!   Retry-After, and a reset only after a connection proved stable.
//! - [`subprotocol`]: the WebSocket subprotocol offers and selection of the binding.
//! - [`time`]: the core's own instant type; the core never reads a clock.
//! - [`close`]: WebSocket close codes the core asks the adapters to send.
//! - [`bridge`]: the connect bridge: a stdio client carried over reconnecting WebSocket
//!   connections, exactly one answer per request.
//! - [`pipe`]: the transparent pipe: one WebSocket client carried frame for frame to one
//!   WebSocket server (the inspector's relay), with keepalive on both sides.
//! - [`gateway`]: `serve --upstream` and `serve --stdio`: one client session carried to one
//!   upstream MCP server (or stdio child process), the client's frames checked, its requests in flight bounded, a drain and an unreachable
//!   upstream answered.
//! - [`mrtr`]: `input_required` round trips (2026-07-28): the sealed request state, the
//!   server's round, the client's round machine.
//! - [`malformed`]: the malformed-input policy (error replies, the budget, the 1008 close).
//! - [`streamable`]: Streamable HTTP state: the legacy-era session table (cap, idle expiry)
//!   and the SSE replay buffer behind `Last-Event-ID`.
//! - [`sse`]: Server-Sent Events for Streamable HTTP: the encoder and a bounded incremental
//!   decoder.
//! - [`oauth`]: the client side of MCP authorization: the flow after a `401`/`403` (discovery,
//!   registration, the PKCE code grant, refresh) as requests to make and answers to read.
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub mod bridge;
pub mod close;
pub mod codec;
pub mod gateway;
mod heartbeat;
pub mod http_head;
pub mod id;
mod json_object;
pub mod malformed;
pub mod mcp;
pub mod message;
pub mod mrtr;
pub mod oauth;
pub mod pagination;
pub mod param_headers;
pub mod pipe;
pub mod raw;
pub mod reconnect;
mod rng;
mod scan;
pub mod session;
pub mod sse;
pub mod streamable;
pub mod subprotocol;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod version;

pub use close::{CloseCode, CloseReason};
pub use codec::{
    Frame, FrameError, Limits, Payload, decode, decode_bytes, decode_payload, encode, encode_batch,
};
pub use id::{IntegerId, RequestId};
pub use message::{
    ErrorCode, ErrorObject, ErrorResponse, Message, Notification, Request, ResultResponse,
};
pub use raw::RawJson;
pub use version::{Era, ProtocolVersion};
