//! The signals that ask a server to stop: Ctrl-C (SIGINT) and, on Unix, SIGTERM (what
//! `kill`, systemd and container runtimes send). One listener for the `mcp-ws` command and the
//! facade's `mcp_ws::serve`, so both drain the same way.

/// Ctrl-C (SIGINT) and SIGTERM, listened for from [`StopSignals::new`] on: both handlers are
/// installed there, not when [`StopSignals::next`] is first polled, so a signal that arrives
/// before the server's task gets to wait for it (right after it printed its URL, on a busy
/// machine) is held for it instead of killing the process undrained.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Listens for them from now on (neither kills the process outright any more). Must be
    /// called inside a tokio runtime with its I/O driver enabled (`#[tokio::main]` has it).
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let interrupt = signal(SignalKind::interrupt())
                .inspect_err(|e| tracing::warn!("SIGINT is not handled: {e}"))
                .ok();
            let terminate = signal(SignalKind::terminate())
                .inspect_err(|e| tracing::warn!("SIGTERM is not handled: {e}"))
                .ok();
            StopSignals { interrupt, terminate }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for the next one; returns its name (`"SIGINT"`, `"SIGTERM"`, or `"Ctrl-C"` off
    /// Unix).
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = received(&mut self.interrupt) => "SIGINT",
                () = received(&mut self.terminate) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

impl Default for StopSignals {
    fn default() -> Self {
        StopSignals::new()
    }
}
