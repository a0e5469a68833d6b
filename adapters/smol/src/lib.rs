//! # mcp-ws-smol
//!
//! MCP over WebSocket on smol. This crate supplies only what is smol-specific: the clock,
//! timers, spawning, child processes and TCP ([`Smol`]). Everything else (sessions, the client with reconnect,
//! the server with its router) comes from `mcp-ws-driver`, re-exported here.
//!
//! Tasks are spawned on smol's global executor (`smol::spawn`), so they run whether or not the
//! caller is inside `smol::block_on`.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_ws_smol::{ClientConfig, connect};
//! use mcp_ws_smol::core::mcp::Implementation;
//!
//! smol::block_on(async {
//!     let config = ClientConfig::new(Implementation::new("my-client", "1.0.0"));
//!     let client = connect("ws://127.0.0.1:8765/mcp", config).await?;
//!     let tools = client.list_all_tools().await?;
//!     println!("{} tools", tools.len());
//!     client.close().await;
//!     Ok(())
//! })
//! # }
//! ```
#![deny(missing_docs, unused_must_use)]
#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use mcp_ws_driver::core::time::Instant;
use smol::Timer;
use smol::net::{TcpListener, TcpStream};

pub use mcp_ws_driver::*;

/// The smol runtime seam.
#[derive(Clone, Debug)]
pub struct Smol {
    base: std::time::Instant,
}

impl Smol {
    /// A seam whose clock starts now.
    pub fn new() -> Self {
        Smol { base: std::time::Instant::now() }
    }
}

impl Default for Smol {
    fn default() -> Self {
        Smol::new()
    }
}

/// A timer future that completes with `()` (smol's own yields the instant it fired).
pub struct SmolSleep(Timer);

impl Future for SmolSleep {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Runtime for Smol {
    type Sleep = SmolSleep;

    fn now(&self) -> Instant {
        runtime::instant_after_base(self.base.elapsed())
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        SmolSleep(Timer::at(self.base + runtime::offset_from_base(deadline)))
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        smol::spawn(task).detach();
    }

    /// Starts `command` with smol's `async-process` (killed if its exit future is dropped
    /// first).
    fn spawn_process(&self, command: std::process::Command) -> io::Result<runtime::ChildProcess> {
        let mut command = smol::process::Command::from(command);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let piped = || io::Error::other("the child's stdin, stdout and stderr must be piped");
        let stdin = child.stdin.take().ok_or_else(piped)?;
        let stdout = child.stdout.take().ok_or_else(piped)?;
        let stderr = child.stderr.take().ok_or_else(piped)?;
        Ok(runtime::ChildProcess::new(
            child.id(),
            Box::pin(stdin),
            Box::pin(stdout),
            Box::pin(stderr),
            Box::pin(async move { child.status().await }),
        ))
    }
}

impl Network for Smol {
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Self::Stream>> {
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
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
            Ok((stream, peer))
        })
    }

    fn local_addr(&self, listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
}

/// Connects a client to `url` on smol; see [`mcp_ws_driver::connect`].
pub async fn connect(url: &str, config: ClientConfig) -> Result<Client, ConnectError> {
    mcp_ws_driver::connect(Smol::new(), url, config).await
}

/// A server answering from `router` on smol; bind it with [`Server::listen`].
pub fn server(router: Router, config: ServerConfig) -> Server<Smol> {
    Server::new(Smol::new(), router, config)
}
