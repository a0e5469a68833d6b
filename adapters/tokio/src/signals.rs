//! The signals that ask a server to stop: Ctrl-C (SIGINT) and, on Unix, SIGTERM (what
//! `kill`, systemd and container runtimes send). One listener for the `mcp-ws` command and the
//! facade's `mcp_ws::serve`, so both drain the same way.

/// Ctrl-C (SIGINT) and SIGTERM, listened for from [`StopSignals::new`] on.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Listens for them from now on (a SIGTERM no longer kills the process outright). Must be
    /// called inside a tokio runtime with its I/O driver enabled (`#[tokio::main]` has it).
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let terminate = signal(SignalKind::terminate())
                .inspect_err(|e| tracing::warn!("SIGTERM is not handled: {e}"))
                .ok();
            StopSignals { terminate }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for the next one; returns its name (`"SIGINT"`, `"SIGTERM"`, or `"Ctrl-C"` off
    /// Unix).
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let terminate = async {
                match &mut self.terminate {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = terminate => "SIGTERM",
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
