//! # mcp-ws-driver
//!
//! The runtime-agnostic layer between the sans-IO core (`mcp-ws-core`) and a WebSocket: one
//! driver loop, written once, generic over a `Stream + Sink` of WebSocket messages and a small
//! [`Runtime`] trait. The tokio and smol adapters supply only connect, listen, sleep and spawn.
//!
//! - [`runtime`]: the runtime seam (now, sleep until, spawn).
//! - [`connection`]: the driver loop of one connection.
//! - [`handle`]: the application's handle to a connection and the future of one request.
//! - [`tasks`]: abortable handler tasks for the peer's requests.
//! - [`error`]: errors of calls.
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub mod connection;
pub mod error;
pub mod handle;
pub mod runtime;
pub mod tasks;

pub use connection::{EventSink, spawn_connection};
pub use error::CallError;
pub use handle::{ConnectionHandle, ProgressStream, RequestFuture};
pub use runtime::Runtime;
pub use tasks::{HandlerTasks, RequestContext};
