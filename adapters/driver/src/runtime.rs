//! The runtime seam: the three things the driver needs from an async runtime.
//!
//! A [`Runtime`] tells the time, sleeps until a deadline and spawns tasks. The tokio and smol
//! crates implement it in a few lines each; everything else in this crate is runtime-agnostic.
//! Time is reported as the core's [`Instant`], nanoseconds since the runtime value was made, so
//! the core never reads a clock and tokio's paused-time tests move the core's clock too.

use std::future::Future;

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
}
