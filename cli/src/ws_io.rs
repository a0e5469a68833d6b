//! WebSocket writes for the relays (`serve --stdio`, `connect`), each bounded in time: a peer
//! that stops reading fills the socket buffers, and an unbounded write would stall the relay,
//! its keepalive checks and its child process for good.

use std::time::Duration;

use mcp_ws_driver::async_tungstenite::WebSocketStream;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::Message as WsMessage;
use tokio::net::TcpStream;

/// The longest one write may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A WebSocket over tokio TCP, as both relays hold it.
pub type Ws = WebSocketStream<TokioAdapter<TcpStream>>;

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
