//! Draining: the state a server is in between a shutdown signal and its exit. A [`Drain`] is
//! one shared flag that [`super::Server::shutdown`] sets and everything that answers clients
//! reads: the handshake answers upgrades with 503 and `Retry-After` (see
//! [`super::handshake::decide`]), connections refuse new requests, and a health endpoint
//! (the CLI's `/healthz`) turns 503 so a load balancer stops sending traffic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::handshake::Refusal;

/// What a client refused while draining is told to wait, in seconds (it would do better at
/// another node at once; a lone node is back after a restart).
pub const DRAIN_RETRY_AFTER_SECS: u64 = 1;

/// Whether a server is draining. Cheap to clone; clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// A flag that is not set.
    pub fn new() -> Self {
        Drain::default()
    }

    /// Starts draining (there is no way back: a draining server is on its way out).
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The answer to an upgrade while draining: 503 with `Retry-After`.
    pub fn refusal() -> Refusal {
        Refusal::new(503, "the server is shutting down; connect again (another node, or later)")
            .header("Retry-After", DRAIN_RETRY_AFTER_SECS.to_string())
    }
}
