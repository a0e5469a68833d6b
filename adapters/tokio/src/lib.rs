//! # mcp-ws-tokio
//!
//! MCP over WebSocket on tokio. This crate supplies only what is tokio-specific: the clock,
//! sleeping, spawning and TCP ([`Tokio`]). Everything else (sessions, the client with
//! reconnect, the server with its router) comes from `mcp-ws-driver`, re-exported here.
//!
//! Time is read from tokio's clock, so `#[tokio::test(start_paused = true)]` moves the
//! sessions' timers too.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_ws_tokio::{ClientConfig, connect};
//! use mcp_ws_tokio::core::mcp::Implementation;
//!
//! let config = ClientConfig::new(Implementation::new("my-client", "1.0.0"));
//! let client = connect("ws://127.0.0.1:8765/mcp", config).await?;
//! let tools = client.list_all_tools().await?;
//! println!("{} tools", tools.len());
//! client.close().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::core::time::Instant;
use tokio::net::{TcpListener, TcpStream};

pub use mcp_ws_driver::*;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis_fanout;
pub mod signals;

pub use signals::StopSignals;

/// The tokio runtime seam. Must be created inside a tokio runtime.
#[derive(Clone, Debug)]
pub struct Tokio {
    base: tokio::time::Instant,
}

impl Tokio {
    /// A seam whose clock starts now (on tokio's clock).
    pub fn new() -> Self {
        Tokio { base: tokio::time::Instant::now() }
    }
}

impl Default for Tokio {
    fn default() -> Self {
        Tokio::new()
    }
}

impl Runtime for Tokio {
    type Sleep = tokio::time::Sleep;

    fn now(&self) -> Instant {
        runtime::instant_after_base(
            tokio::time::Instant::now().saturating_duration_since(self.base),
        )
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(self.base + runtime::offset_from_base(deadline))
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(task);
    }

    /// Starts `command` on tokio's process driver (killed if its exit future is dropped first).
    fn spawn_process(&self, command: std::process::Command) -> io::Result<runtime::ChildProcess> {
        let mut command = tokio::process::Command::from(command);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let pid = child.id().unwrap_or(0);
        let piped = || io::Error::other("the child's stdin, stdout and stderr must be piped");
        let stdin = child.stdin.take().ok_or_else(piped)?;
        let stdout = child.stdout.take().ok_or_else(piped)?;
        let stderr = child.stderr.take().ok_or_else(piped)?;
        Ok(runtime::ChildProcess::new(
            pid,
            Box::pin(TokioAdapter::new(stdin)),
            Box::pin(TokioAdapter::new(stdout)),
            Box::pin(TokioAdapter::new(stderr)),
            Box::pin(async move { child.wait().await }),
        ))
    }
}

impl Network for Tokio {
    type Stream = TokioAdapter<TcpStream>;
    type Listener = TcpListener;

    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Self::Stream>> {
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(TokioAdapter::new(stream))
        })
    }

    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Listener>> {
        Box::pin(TcpListener::bind(addr))
    }

    fn accept<'a>(
        &self,
        listener: &'a Self::Listener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = listener.accept().await?;
            stream.set_nodelay(true)?;
            Ok((TokioAdapter::new(stream), peer))
        })
    }

    fn local_addr(&self, listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
}

/// Connects a client to `url` on tokio; see [`mcp_ws_driver::connect`].
pub async fn connect(url: &str, config: ClientConfig) -> Result<Client, ConnectError> {
    mcp_ws_driver::connect(Tokio::new(), url, config).await
}

/// A server answering from `router` on tokio; bind it with [`Server::listen`].
pub fn server(router: Router, config: ServerConfig) -> Server<Tokio> {
    Server::new(Tokio::new(), router, config)
}

/// Serves one TCP stream accepted by your own tokio listener or HTTP server (the upgrade is
/// done here); see [`Server::serve_tcp`].
pub async fn serve_tcp(server: &Server<Tokio>, stream: TcpStream) -> Result<(), AcceptError> {
    stream.set_nodelay(true).map_err(AcceptError::Io)?;
    let addrs = ConnectionAddrs { peer: stream.peer_addr().ok(), local: stream.local_addr().ok() };
    server.serve_connection(TokioAdapter::new(stream), addrs).await
}
