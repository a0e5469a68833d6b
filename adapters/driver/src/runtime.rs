//! The runtime seam: what the driver needs from an async runtime.
//!
//! A [`Runtime`] tells the time, sleeps until a deadline and spawns tasks; a [`Network`] also
//! connects, binds and accepts TCP. The tokio and smol crates implement both in a few lines each; everything else in this crate is runtime-agnostic.
//! Time is reported as the core's [`Instant`], nanoseconds since the runtime value was made, so
//! the core never reads a clock and tokio's paused-time tests move the core's clock too.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use futures_util::io::{AsyncRead, AsyncWrite};

use mcp_ws_core::time::Instant;

/// An async runtime, as far as the driver needs one.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The future [`Runtime::sleep_until`] returns.
    type Sleep: Future<Output = ()> + Send + 'static;

    /// The current time on this runtime's clock, as the core's instant.
    fn now(&self) -> Instant;

    /// A future that completes at or after `deadline` (it may wake early or late; the driver
    /// checks `now() >= deadline` itself).
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Runs `task` in the background. The task ends by itself; the driver keeps no handle.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Starts `command` with its stdin, stdout and stderr piped (the runtime pipes them: a
    /// converted `std` command may not keep its own stdio settings) as a child process whose
    /// pipes
    /// and exit this runtime drives: what a stdio session backend
    /// ([`crate::server::stdio`]) runs its server in. By default a runtime starts none
    /// (`Unsupported`); the tokio and smol seams do.
    fn spawn_process(&self, command: std::process::Command) -> io::Result<ChildProcess> {
        let _ = command;
        Err(io::Error::new(io::ErrorKind::Unsupported, "this runtime does not start processes"))
    }
}

/// A child process a runtime started ([`Runtime::spawn_process`]): its three pipes as
/// `futures-io` streams and the future of its exit.
pub struct ChildProcess {
    pub(crate) pid: u32,
    pub(crate) stdin: Pin<Box<dyn AsyncWrite + Send>>,
    pub(crate) stdout: Pin<Box<dyn AsyncRead + Send>>,
    pub(crate) stderr: Pin<Box<dyn AsyncRead + Send>>,
    pub(crate) exit: BoxFuture<'static, io::Result<std::process::ExitStatus>>,
}

impl ChildProcess {
    /// The process `pid` with its pipes; `exit` completes when it has exited, and dropping
    /// it before kills the process (the runtime's kill-on-drop).
    pub fn new(
        pid: u32,
        stdin: Pin<Box<dyn AsyncWrite + Send>>,
        stdout: Pin<Box<dyn AsyncRead + Send>>,
        stderr: Pin<Box<dyn AsyncRead + Send>>,
        exit: BoxFuture<'static, io::Result<std::process::ExitStatus>>,
    ) -> Self {
        ChildProcess { pid, stdin, stdout, stderr, exit }
    }
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProcess").field("pid", &self.pid).finish_non_exhaustive()
    }
}

/// A boxed, sendable future, as the [`Network`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The sockets a runtime provides: TCP connect, listen and accept. Streams are `futures-io`
/// byte streams, which async-tungstenite speaks on every runtime.
///
/// Implementations set `TCP_NODELAY` on every stream they return (`docs/binding.md`, "Sockets": without it
/// a small request written after a notification waits for a delayed ACK).
pub trait Network: Runtime {
    /// A connected TCP stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;

    /// Opens a TCP connection to `host:port` (the name is resolved by the runtime).
    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Self::Stream>>;

    /// Binds a listener on `addr`.
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Listener>>;

    /// Accepts the next connection on `listener`.
    fn accept<'a>(
        &self,
        listener: &'a Self::Listener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>>;

    /// The address `listener` is bound to (useful after binding port 0).
    fn local_addr(&self, listener: &Self::Listener) -> io::Result<SocketAddr>;
}

/// The core instant `elapsed` after a runtime's base instant (saturating at the core's range).
/// Runtime seams measure their clock from a base and convert with this.
pub fn instant_after_base(elapsed: std::time::Duration) -> Instant {
    Instant::from_nanos(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
}

/// How long after a runtime's base instant `deadline` falls (the inverse of
/// [`instant_after_base`]).
pub fn offset_from_base(deadline: Instant) -> std::time::Duration {
    std::time::Duration::from_nanos(deadline.as_nanos())
}

/// One re-armable timer: the sleep for the earliest deadline a loop is waiting for. Both driver
/// loops (a connection's, a client's supervisor) keep one and re-arm it after every input.
pub(crate) struct Alarm<R: Runtime> {
    armed: Option<(Instant, Pin<Box<R::Sleep>>)>,
}

impl<R: Runtime> Alarm<R> {
    /// An alarm set for nothing.
    pub(crate) fn new() -> Self {
        Alarm { armed: None }
    }

    /// Sets the alarm for `deadline` (or clears it); a sleep already running for the same
    /// deadline is kept.
    pub(crate) fn arm(&mut self, runtime: &R, deadline: Option<Instant>) {
        match deadline {
            Some(at) if self.armed.as_ref().map(|(t, _)| *t) != Some(at) => {
                self.armed = Some((at, Box::pin(runtime.sleep_until(at))));
            }
            Some(_) => {}
            None => self.armed = None,
        }
    }

    /// Polls the sleep; ready when it has woken (possibly early: check [`Alarm::take_due`]).
    pub(crate) fn poll_woken(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        self.armed.as_mut().is_some_and(|(_, sleep)| sleep.as_mut().poll(cx).is_ready())
    }

    /// Whether the deadline has passed at `now`. Call it after [`Alarm::poll_woken`] said the
    /// sleep woke: the finished sleep is dropped either way, so an early wake is re-armed with
    /// a fresh sleep for the same deadline by the next [`Alarm::arm`].
    pub(crate) fn take_due(&mut self, now: Instant) -> bool {
        let due = self.armed.as_ref().is_some_and(|(at, _)| now >= *at);
        self.armed = None;
        due
    }
}
