//! The WebSocket side of the relays (`serve --stdio`, `connect`), which move messages without
//! running a core session:
//! - writes, each bounded in time: a peer that stops reading fills the socket buffers, and an
//!   unbounded write would stall the relay, its keepalive checks and its child process for good;
//! - [`Keepalive`]: a ping after quiet, and a verdict of dead after `idle` without any frame.

use std::time::Duration;

use mcp_ws_driver::async_tungstenite::WebSocketStream;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::Message as WsMessage;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The longest one write may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A WebSocket over tokio TCP, as both relays hold it.
pub type Ws = WebSocketStream<mcp_ws_driver::Transport<TokioAdapter<TcpStream>>>;

/// Sends `message`, failing if the socket fails or the write does not finish in time.
pub async fn send(ws: &mut Ws, message: WsMessage) -> Result<(), ()> {
    match tokio::time::timeout(WRITE_TIMEOUT, ws.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Closes the WebSocket politely, within the same bound.
pub async fn close(ws: &mut Ws) {
    let _ = tokio::time::timeout(WRITE_TIMEOUT, ws.close(None)).await;
}

/// The period of keepalive checks.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// What a relay's keepalive asks for at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveCheck {
    /// Nothing to do.
    Quiet,
    /// Send a WebSocket ping.
    Ping,
    /// Nothing arrived within the idle timeout: the peer is gone.
    Dead,
}

/// The relays' keepalive: pings after `ping` without inbound frames (at most one per `ping`),
/// and a dead verdict after `idle` without any.
#[derive(Debug)]
pub struct Keepalive {
    ping: Option<Duration>,
    idle: Option<Duration>,
    last_inbound: Instant,
    last_ping: Instant,
}

impl Keepalive {
    /// A keepalive starting now; `None` turns that half off.
    pub fn new(ping: Option<Duration>, idle: Option<Duration>) -> Self {
        let now = Instant::now();
        Keepalive { ping, idle, last_inbound: now, last_ping: now }
    }

    /// How often [`Keepalive::check`] should run (the verdicts are this precise).
    pub fn check_every(&self) -> Duration {
        CHECK_EVERY
    }

    /// A frame arrived (or a new connection opened).
    pub fn inbound(&mut self) {
        self.last_inbound = Instant::now();
    }

    /// What to do now.
    pub fn check(&mut self) -> KeepaliveCheck {
        let now = Instant::now();
        let quiet = now - self.last_inbound;
        if self.idle.is_some_and(|idle| quiet >= idle) {
            return KeepaliveCheck::Dead;
        }
        match self.ping {
            Some(ping) if quiet >= ping && now - self.last_ping >= ping => {
                self.last_ping = now;
                KeepaliveCheck::Ping
            }
            _ => KeepaliveCheck::Quiet,
        }
    }
}
