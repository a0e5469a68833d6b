//! # mcp-ws
//!
//! The Model Context Protocol (MCP) over WebSocket. This crate is the one to add: servers
//! with tools whose schemas are derived from their argument types, clients with reconnect, on
//! tokio (default) or smol, mountable in axum.
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
//! let client = mcp_ws::client("ws://127.0.0.1:8765/mcp").await?;
//! let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
//! assert_eq!(sum.joined_text(), "5");
//! # Ok(()) }
//! ```
//!
//! The derive macros come from `serde` and `schemars`, which your crate depends on itself
//! (`serde` with its `derive` feature, and `schemars` 1.x).
//!
//! # What is where
//!
//! | to | use |
//! |---|---|
//! | serve a router until Ctrl-C or SIGTERM, then drain | [`serve`] (or [`serve_until`] your own signal) |
//! | serve with your own name, TLS, tokens, limits | [`server`] with a [`ServerConfig`], then [`Server::listen`] and [`Listening::run`]; [`Server::shutdown`] drains |
//! | mount the endpoint in your own HTTP server | [`serve_tcp`], `mcp_ws::axum::handler` (feature `axum`) |
//! | tools, resources, prompts | [`Router`]; handlers get a [`RequestContext`] and return a `String`, a [`Structured`] value or a [`mcp::CallToolResult`], or fail with a [`ToolError`] |
//! | call a server | [`client`] (defaults) or [`connect`] with a [`ClientConfig`]; per call [`CallOptions`]; failures are [`CallError`] |
//! | the MCP messages themselves | [`mcp`] ([`mcp::PromptMessage::user`], [`mcp::Resource::new`], ...) |
//! | TLS, tokens, origins, proxies | [`ServerTls`], [`ClientTls`], [`AuthCheck`], [`StaticToken`], [`OriginPolicy`], [`HostPolicy`], [`TrustedProxies`] |
//! | notify subscribers on every node | [`Notifier`], [`Fanout`], [`LocalBus`], `redis_fanout` (feature `redis`) |
//! | everything else (sessions, the driver loop, the handshake) | [`core`] (`mcp-ws-core`) and [`driver`] (`mcp-ws-driver`) |
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `tokio` (default) | [`serve`], [`serve_until`], [`client`], [`connect`], [`server`], [`serve_tcp`] and [`Tokio`] at the root |
//! | `smol` | the same under `mcp_ws::smol` |
//! | `axum` | `mcp_ws::axum::handler`: the endpoint as an axum handler (implies `tokio`) |
//! | `redis` | `mcp_ws::redis_fanout`: change notifications fanned out to every node through Redis pub/sub (implies `tokio`) |
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use mcp_ws_core as core;
pub use mcp_ws_core::mcp;
pub use mcp_ws_driver as driver;
pub use serde_json;

// Serving.
pub use mcp_ws_driver::{
    Listening, Notifier, RequestContext, Router, Server, ServerConfig, Structured, ToolError,
    ToolOutput,
};
// Calling.
pub use mcp_ws_driver::{
    CallError, CallOptions, Client, ClientConfig, ClientEvent, ConnectError, Listen, PeerRequests,
    ProgressStream,
};
// Calling a server that requires MCP authorization (OAuth).
pub use mcp_ws_driver::{AuthorizeError, Authorizer, OAuthConfig};
// Deploying: TLS, authentication, the handshake's checks, draining.
pub use mcp_ws_driver::{
    AuthCheck, AuthDecision, AuthRequest, Authenticator, ClientTls, Drain, HostPolicy,
    OriginPolicy, PlainHttp, PlainResponse, Principal, Refusal, RequestHead, ServerTls,
    StaticToken, TlsError, TrustedProxies,
};
// Running several nodes.
pub use mcp_ws_driver::{ChangeEvent, Fanout, ListKind, LocalBus};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use mcp_ws_tokio::Tokio;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use mcp_ws_tokio::redis_fanout;

/// Connects a client to `url` with `config`, on tokio: the client with your own name, TLS,
/// tokens and handlers of server requests ([`client`] takes the defaults).
///
/// ```no_run
/// use mcp_ws::prelude::*;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::new(Implementation::new("my-agent", "1.0.0")).bearer_token("s3cret");
/// let client = mcp_ws::connect("wss://mcp.example.com/mcp", config).await?;
/// let tools = client.list_all_tools().await?;
/// println!("{} tools", tools.len());
/// client.close().await;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn connect(url: &str, config: ClientConfig) -> Result<Client, ConnectError> {
    mcp_ws_tokio::connect(url, config).await
}

/// A server answering from `router` with `config`, on tokio: bind it with [`Server::listen`]
/// and run the [`Listening`] it returns; [`Server::shutdown`] drains it.
///
/// ```no_run
/// use mcp_ws::prelude::*;
///
/// # async fn run(router: Router) -> std::io::Result<()> {
/// let server = mcp_ws::server(router, ServerConfig::new(Implementation::new("notes", "1.4.0")));
/// let listening = server.listen("127.0.0.1:8765".parse().unwrap()).await?;
/// println!("{}", listening.url());
/// tokio::spawn(listening.run());
/// // ... on your own stop condition:
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub fn server(router: Router, config: ServerConfig) -> Server<Tokio> {
    mcp_ws_tokio::server(router, config)
}

/// Serves one TCP stream accepted by your own tokio listener or HTTP server (the upgrade and
/// every handshake check are done here); see [`Server::serve_connection`].
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn serve_tcp(
    server: &Server<Tokio>,
    stream: tokio::net::TcpStream,
) -> Result<(), driver::AcceptError> {
    mcp_ws_tokio::serve_tcp(server, stream).await
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

/// The smol runtime: [`smol::connect`] and [`smol::server()`] run on smol.
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub mod smol {
    use crate::{Client, ClientConfig, ConnectError, Router, Server, ServerConfig};

    pub use mcp_ws_smol::Smol;

    /// Connects a client to `url` with `config`, on smol.
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Client, ConnectError> {
        mcp_ws_smol::connect(url, config).await
    }

    /// A server answering from `router` with `config`, on smol: bind it with
    /// [`Server::listen`].
    pub fn server(router: Router, config: ServerConfig) -> Server<Smol> {
        mcp_ws_smol::server(router, config)
    }
}

/// What a server or a client needs in scope: the router and its typed tools, the client, its
/// configuration and per-call options, the message types a handler builds most, `json!`, and
/// the derive macros of `serde` and `schemars`.
///
/// ```
/// use mcp_ws::prelude::*;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Greet {
///     /// Who to greet.
///     name: String,
/// }
///
/// let router = Router::new()
///     .prompt("greet", "Asks the model to greet someone", |g: Greet, _| async move {
///         Ok(PromptMessage::user(format!("Say hello to {}.", g.name)).into())
///     })
///     .text_resource(Resource::new("demo://readme", "readme").mime_type("text/plain"), "Hi.");
/// assert_eq!(router.capabilities().prompts.is_some(), true);
/// ```
pub mod prelude {
    pub use crate::mcp::{
        CallToolResult, GetPromptResult, Implementation, PromptMessage, Resource,
    };
    pub use crate::{
        CallError, CallOptions, Client, ClientConfig, RequestContext, Router, Server, ServerConfig,
        Structured, ToolError,
    };
    #[cfg(feature = "tokio")]
    pub use crate::{client, connect, serve, serve_until};
    pub use mcp_ws_driver::schemars::JsonSchema;
    #[doc(no_inline)]
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::json;
}

/// The environment variable that overrides the address given to [`serve`] and
/// [`serve_until`].
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub const LISTEN_ENV: &str = "MCP_WS_LISTEN";

/// The name the quick-start server reports to clients (`serverInfo.name`, and in 2026-07-28
/// `server/discover`): `mcp-ws`, with this crate's version. For your own name build the
/// server with [`server`] and [`ServerConfig::new`].
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub const SERVE_NAME: &str = "mcp-ws";

/// Serves `router` on `addr` (`"127.0.0.1:8765"`, `"localhost:8765"`; port 0 picks a free
/// one) at `ws://ADDR/mcp` until Ctrl-C or SIGTERM, then drains like `mcp-ws serve`: new
/// connections get 503, requests in flight get [`ServerConfig::shutdown_grace`] (5 s) to
/// finish, every session is closed with 1001, and `serve` returns `Ok(())`. A second signal
/// during the drain returns at once with an [`std::io::ErrorKind::Interrupted`] error.
///
/// The quick start: it announces the URL on stderr (`mcp-ws: serving ws://...`) and the
/// drain (`mcp-ws: SIGTERM: draining...`). The environment variable `MCP_WS_LISTEN`, when
/// set, replaces `addr` (for deployments and tests). The server calls itself
/// [`SERVE_NAME`] (`mcp-ws`) in `serverInfo`; for your own name, TLS, authentication or
/// limits, build a [`Server`] with [`server`] and a [`ServerConfig`].
///
/// ```no_run
/// use mcp_ws::prelude::*;
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let router = Router::new().tool("ping", "Answers pong", |_: serde_json::Value, _| async {
///         Ok("pong")
///     });
///     mcp_ws::serve("127.0.0.1:8765", router).await // returns after a drain
/// }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn serve(addr: &str, router: Router) -> std::io::Result<()> {
    let mut signals = mcp_ws_tokio::StopSignals::new();
    let running = quick_start::start(addr, router).await?;
    let signal = signals.next().await;
    eprintln!(
        "mcp-ws: {signal}: draining (up to {:?} for requests in flight; a second signal stops at once)",
        running.server.config().shutdown_grace
    );
    tokio::select! {
        result = running.drain() => result,
        signal = signals.next() => Err(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            format!("{signal} during the drain: stopped without finishing it"),
        )),
    }
}

/// [`serve`], stopping when `stop` completes instead of on a signal: then it drains the same
/// way (503 to new connections, [`ServerConfig::shutdown_grace`] for requests in flight, 1001
/// to every session) and returns.
///
/// ```no_run
/// use mcp_ws::prelude::*;
///
/// # async fn run(router: Router) -> std::io::Result<()> {
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let serving = tokio::spawn(mcp_ws::serve_until("127.0.0.1:8765", router, async {
///     let _ = stopped.await;
/// }));
/// // ... later:
/// let _ = stop.send(());
/// serving.await.expect("the server task")?;
/// # Ok(()) }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn serve_until(
    addr: &str,
    router: Router,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let running = quick_start::start(addr, router).await?;
    stop.await;
    eprintln!("mcp-ws: stopping: draining");
    running.drain().await
}

/// The environment variable that overrides the URL given to [`client`].
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
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
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub async fn client(url: &str) -> Result<Client, ConnectError> {
    let url = std::env::var(URL_ENV).unwrap_or_else(|_| url.to_string());
    let info = mcp::Implementation::new("mcp-ws-client", env!("CARGO_PKG_VERSION"));
    connect(&url, ClientConfig::new(info)).await
}

/// What [`serve`] and [`serve_until`] share: binding, announcing, draining.
#[cfg(feature = "tokio")]
mod quick_start {
    use super::{LISTEN_ENV, Router, SERVE_NAME, Server, ServerConfig, Tokio, mcp, server};

    /// A server accepting connections on its own task.
    pub(crate) struct Running {
        pub(crate) server: Server<Tokio>,
        accept: tokio::task::JoinHandle<()>,
    }

    /// Resolves `addr` (or `MCP_WS_LISTEN`), binds, announces the URL and starts accepting.
    pub(crate) async fn start(addr: &str, router: Router) -> std::io::Result<Running> {
        let addr = std::env::var(LISTEN_ENV).unwrap_or_else(|_| addr.to_string());
        let resolved = tokio::net::lookup_host(addr.as_str()).await?.next().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{addr} resolves to nothing"),
            )
        })?;
        let info = mcp::Implementation::new(SERVE_NAME, env!("CARGO_PKG_VERSION"));
        let server = server(router, ServerConfig::new(info));
        let listening = server.listen(resolved).await?;
        eprintln!("mcp-ws: serving {}", listening.url());
        let accept = tokio::spawn(listening.run());
        Ok(Running { server, accept })
    }

    impl Running {
        /// Drains ([`Server::shutdown`]) and waits for the accept loop to end.
        pub(crate) async fn drain(self) -> std::io::Result<()> {
            self.server.shutdown().await;
            self.accept.await.map_err(std::io::Error::other)?;
            eprintln!("mcp-ws: shut down");
            Ok(())
        }
    }
}
