//! The WebSocket type both relays (`serve --stdio`, `connect`) hold. Bounded writes, the close
//! handshake and keepalive are not here: they are the driver's `ws_io` and the core's relay and
//! bridge machines, shared with the library's own connection loop.

use mcp_ws_driver::async_tungstenite::WebSocketStream;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use tokio::net::TcpStream;

/// A WebSocket over tokio TCP, as both relays hold it.
pub type Ws = WebSocketStream<TokioAdapter<TcpStream>>;
