//! # mcp-ws
//!
//! The Model Context Protocol (MCP) over WebSocket. This crate is the one to add: it
//! re-exports the sans-IO core ([`core`], `mcp-ws-core`), the runtime-agnostic driver
//! ([`driver`], `mcp-ws-driver`: client, server, router) and the runtime adapter of your
//! choice.
//!
//! | feature | what it adds |
//! |---|---|
//! | `tokio` (default) | [`connect`], [`server`], [`serve`], [`serve_tcp`] and [`Tokio`] at the root |
//! | `smol` | the same under [`smol`](crate::smol) |
//! | `axum` | [`axum::handler`](crate::axum::handler): the endpoint as an axum handler (implies `tokio`) |
//!
//! A server with one tool, its input schema derived from the argument type:
//!
//! ```no_run
//! use mcp_ws::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Add { a: i64, b: i64 }
//!
//! # #[cfg(feature = "tokio")]
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let router = Router::new()
//!         .tool("add", "Adds a and b", |x: Add, _| async move { Ok((x.a + x.b).to_string()) });
//!     mcp_ws::serve("127.0.0.1:8765", router).await
//! }
//! # #[cfg(not(feature = "tokio"))] fn main() {}
//! ```
//!
//! And a client calling it:
//!
//! ```no_run
//! use mcp_ws::prelude::*;
//!
//! # #[cfg(feature = "tokio")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = connect("ws://127.0.0.1:8765/mcp", ClientConfig::new(Implementation::new("me", "1"))).await?;
//! let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
//! assert_eq!(sum.joined_text(), "5");
//! # Ok(()) }
//! ```
//!
//! The derive macros come from `serde` and `schemars`, which your crate depends on itself
//! (`cargo add mcp-ws serde schemars tokio -F serde/derive,tokio/full`).
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

pub use mcp_ws_driver::*;

pub use mcp_ws_core as core;
pub use mcp_ws_driver as driver;
pub use serde_json;

#[cfg(feature = "redis")]
pub use mcp_ws_tokio::redis_fanout;
#[cfg(feature = "tokio")]
pub use mcp_ws_tokio::{Tokio, connect, serve_tcp, server};

#[cfg(feature = "axum")]
pub mod axum;

/// The smol runtime: [`smol::connect`] and [`smol::server`] run on smol.
#[cfg(feature = "smol")]
pub mod smol {
    pub use mcp_ws_smol::{Smol, connect, server};
}

/// What a server or a client needs in scope: the router and its typed tools, the client and
/// its configuration, `json!`, and the derive macros of `serde` and `schemars`.
pub mod prelude {
    pub use crate::core::mcp::{CallToolResult, Implementation};
    pub use crate::{
        CallError, Client, ClientConfig, RequestContext, Router, Server, ServerConfig, Structured,
        ToolError,
    };
    #[cfg(feature = "tokio")]
    pub use crate::{client, connect, serve};
    pub use mcp_ws_driver::schemars::JsonSchema;
    #[doc(no_inline)]
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
}

/// The environment variable that overrides the address given to [`serve`].
#[cfg(feature = "tokio")]
pub const LISTEN_ENV: &str = "MCP_WS_LISTEN";

/// Serves `router` on `addr` (`"127.0.0.1:8765"`, `"localhost:8765"`; port 0 picks a free
/// one) at `ws://ADDR/mcp` until the process ends: the quick start. It announces the URL on
/// stderr (`mcp-ws: serving ws://...`). The environment variable `MCP_WS_LISTEN`, when set,
/// replaces `addr` (for deployments and tests). The server calls itself `mcp-ws`; for your
/// own name, TLS, authentication or shutdown, build a [`Server`] with [`server`] and a
/// [`ServerConfig`].
#[cfg(feature = "tokio")]
pub async fn serve(addr: &str, router: Router) -> std::io::Result<()> {
    let addr = std::env::var(LISTEN_ENV).unwrap_or_else(|_| addr.to_string());
    let resolved = tokio::net::lookup_host(addr.as_str()).await?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{addr} resolves to nothing"))
    })?;
    let info = core::mcp::Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let listening = server(router, ServerConfig::new(info)).listen(resolved).await?;
    eprintln!("mcp-ws: serving {}", listening.url());
    listening.run().await;
    Ok(())
}

/// The environment variable that overrides the URL given to [`client`].
#[cfg(feature = "tokio")]
pub const URL_ENV: &str = "MCP_WS_URL";

/// Connects to the MCP server at `url` with the default [`ClientConfig`] (calling itself
/// `mcp-ws-client`; dual-era; reconnecting): the quick start. The environment variable
/// `MCP_WS_URL`, when set, replaces `url` (the counterpart of [`serve`]'s `MCP_WS_LISTEN`).
/// For your own name, TLS, tokens or handlers of server requests, use [`connect`] with a
/// [`ClientConfig`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = mcp_ws::client("ws://127.0.0.1:8765/mcp").await?;
/// let sum = client.call_tool("add", mcp_ws::serde_json::json!({"a": 2, "b": 3})).await?;
/// assert_eq!(sum.joined_text(), "5");
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
pub async fn client(url: &str) -> Result<Client, ConnectError> {
    let url = std::env::var(URL_ENV).unwrap_or_else(|_| url.to_string());
    let info = core::mcp::Implementation::new("mcp-ws-client", env!("CARGO_PKG_VERSION"));
    connect(&url, ClientConfig::new(info)).await
}
