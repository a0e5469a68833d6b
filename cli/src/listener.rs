//! The accept side the command's own listeners share (`inspect` and the `--metrics-listen`
//! listener; `serve`, `serve --upstream` and `serve --stdio` use the library's
//! `Listening::run`, which does the same; this module goes once those two move there): a failing
//! `accept` backs off instead of spinning, and every accepted connection passes the
//! connection gate, so that over the cap it gets 503 with `Retry-After` (or, with too many
//! refusals under way, is closed unanswered) and never a process or a relay.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::server::accept::{self, ConnectionAddrs, HandshakeConfig};
use mcp_ws_driver::server::limits::{AcceptBackoff, Admission, ConnectionGate, Permit};
use mcp_ws_tokio::Tokio;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A listener with its gate.
pub struct Gated {
    listener: TcpListener,
    gate: ConnectionGate,
    backoff: AcceptBackoff,
    refusals: Arc<Refusals>,
}

/// What answering a refusal needs.
struct Refusals {
    net: Tokio,
    local: SocketAddr,
    handshake: HandshakeConfig,
}

impl Gated {
    /// `listener` (bound at `local`), admitting within `gate`; refusals are answered after the
    /// same handshake `handshake` describes (TLS, request head).
    pub fn new(
        listener: TcpListener,
        local: SocketAddr,
        gate: ConnectionGate,
        handshake: HandshakeConfig,
    ) -> Self {
        let refusals = Arc::new(Refusals { net: Tokio::new(), local, handshake });
        Gated { listener, gate, backoff: AcceptBackoff::default(), refusals }
    }

    /// Waits for the next connection and decides on it; `None` after a failed `accept`
    /// (having waited, backing off).
    pub async fn next(&mut self) -> Option<Incoming> {
        let (stream, peer) = match self.listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tokio::time::sleep(self.backoff.failed(&error)).await;
                return None;
            }
        };
        self.backoff.succeeded();
        // A trusted proxy's connections are keyed on the client behind it once its head is
        // read (see `accept::accept_admitted`).
        let proxies = &self.refusals.handshake.rules.proxies;
        let admission = self.gate.admit(Some(peer.ip()).filter(|ip| !proxies.trusts(*ip)));
        Some(Incoming { stream, peer, admission, refusals: self.refusals.clone() })
    }
}

/// An accepted connection and what the gate decided.
pub struct Incoming {
    stream: TcpStream,
    peer: SocketAddr,
    admission: Admission,
    refusals: Arc<Refusals>,
}

impl Incoming {
    /// Hands the connection to `serve` as a task in `connections` with its place under the
    /// cap (to hold until it ends, and to pass to `accept::accept_admitted`), or answers its
    /// refusal there, or drops it.
    pub fn spawn_into<F, Fut>(self, connections: &mut JoinSet<()>, serve: F)
    where
        F: FnOnce(TcpStream, SocketAddr, Permit) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Incoming { stream, peer, admission, refusals } = self;
        match admission {
            Admission::Admitted(permit) => {
                connections.spawn(serve(stream, peer, permit));
            }
            Admission::Refuse(refusing) => {
                connections.spawn(async move {
                    let addrs = ConnectionAddrs { peer: Some(peer), local: Some(refusals.local) };
                    let stream = TokioAdapter::new(stream);
                    let refusal = refusing.refusal();
                    accept::refuse_with(&refusals.net, stream, addrs, &refusals.handshake, refusal)
                        .await;
                    drop(refusing);
                });
            }
            Admission::Drop(_) => drop(stream),
        }
    }
}
