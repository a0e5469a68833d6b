//! # mcp-ws-driver
//!
//! The runtime-agnostic layer between the sans-IO core (`mcp-ws-core`) and a WebSocket: one
//! driver loop, written once, generic over a `Stream + Sink` of WebSocket messages and a small
//! [`Runtime`] trait. The tokio and smol adapters supply only connect, listen, sleep and spawn.
//!
//! - [`runtime`]: the runtime seam (now, sleep until, spawn, start a child process; TCP
//!   connect, bind, accept).
//! - [`connection`]: the driver loop of one connection.
//! - [`handle`]: the application's handle to a connection and the future of one request.
//! - [`tasks`]: abortable handler tasks for the peer's requests.
//! - [`handler`]: the handler function type and its helpers.
//! - [`peer_calls`]: what a server handler asks of its client (roots, sampling, elicitation),
//!   one API for both eras (requests in legacy, `input_required` rounds in 2026-07-28).
//! - [`client`]: the client with reconnect supervision and typed calls.
//! - [`server`]: the server with its router, accept loop, embedding and shutdown, and the
//!   change notifications it fans out to subscribed sessions on every node; or, instead of the
//!   router, a gateway to an upstream server or to a stdio child per session.
//! - [`bridge`]: a stdio client's lines bridged to a server, with keepalive and reconnect
//!   (`mcp-ws connect`).
//! - [`lines`]: newline-delimited messages on byte pipes, bounded in size and time.
//! - [`dial`]: opening a client WebSocket with the subprotocol fallback.
//! - [`tls`]: rustls for `wss://`, both sides, over futures-io streams.
//! - [`transport`]: the plain-or-TLS byte stream under every WebSocket.
//! - [`ws_config`]: the tungstenite buffer settings.
//! - [`ws_io`]: bounded WebSocket writes and the close handshake, shared by every loop that owns a socket.
//! - [`error`]: errors of calls.
//! - [`metrics`]: what the server counts (names, labels), through the `metrics` facade.
//!
//! Handlers read shared state with [`RequestContext::state`] (see [`Router::with_state`]).
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub mod arguments;
mod bounded;
pub mod bridge;
pub mod client;
pub mod connection;
pub mod dial;
pub mod error;
pub mod handle;
pub mod handler;
pub mod http_client;
pub mod lines;
pub mod metrics;
pub mod peer_calls;
pub mod runtime;
pub mod server;
mod state;
pub mod tasks;
pub mod tls;
pub mod transport;
pub mod ws_config;
pub mod ws_io;

pub use async_tungstenite;
pub use client::oauth::{AuthorizeError, Authorizer, OAuthConfig};
pub use client::{
    Client, ClientConfig, ClientConfigError, ClientEvent, ConnectError, Listen, PeerRequests,
    connect,
};
pub use connection::{ConnectionEnd, ConnectionEnded, EventSink, spawn_connection};
pub use dial::{DialError, UrlError};
pub use error::CallError;
pub use handle::{CallOptions, ConnectionHandle, ProgressStream, RequestFuture};
pub use handler::{HandlerResult, RequestHandler, request_handler};
pub use mcp_ws_core as core;
pub use runtime::{BoxFuture, Network, Runtime};
pub use schemars;
pub use server::accept::{AcceptError, Accepted, ConnectionAddrs, HandshakeConfig};
pub use server::auth::{
    AuthCheck, AuthDecision, AuthRequest, Authenticator, Principal, StaticToken,
};
pub use server::drain::Drain;
pub use server::fanout::{Deliver, Fanout, LocalBus, LocalNode};
pub use server::handshake::{
    HostPolicy, OriginPolicy, PlainHttp, PlainResponse, Refusal, RequestHead,
};
pub use server::message_pipe::{LoopEnd, MessagePipe, PipeEnd, Written};
pub use server::proxy::TrustedProxies;
pub use server::subscriptions::{ChangeEvent, ListKind, SubscriptionLimits};
pub use server::{
    DEFAULT_INPUT_STATE_TTL, Listening, Notifier, Router, Server, ServerConfig, Structured,
    ToolError, ToolOutput,
};
pub use tasks::{HandlerTasks, RequestContext};
pub use tls::{ClientTls, ServerTls, TlsError, TlsFailure};
pub use transport::Transport;
