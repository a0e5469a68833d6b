//! What both relays (`serve --stdio`, `connect`) need beyond the library: the WebSocket type they
//! hold and one bounded write of a line to a pipe (the bridge's stdout, the child's stdin).
//! Bounded WebSocket writes, the close handshake and keepalive are not here: they are the
//! driver's `ws_io` and the core's relay and bridge machines, shared with the library's own
//! connection loop.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use mcp_ws_driver::async_tungstenite::WebSocketStream;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use tokio::net::TcpStream;

/// A WebSocket over tokio TCP, as both relays hold it.
pub type Ws = WebSocketStream<mcp_ws_driver::Transport<TokioAdapter<TcpStream>>>;

/// Why a line could not be written.
#[derive(Debug)]
pub enum LineWriteFailed {
    /// The pipe failed (closed by the reader).
    Io(std::io::Error),
    /// The reader did not take the line within the time allowed.
    Stalled,
}

impl std::fmt::Display for LineWriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineWriteFailed::Io(error) => write!(f, "{error}"),
            LineWriteFailed::Stalled => f.write_str("the reader stopped reading"),
        }
    }
}

/// Writes `line` and a newline to `pipe` and flushes, within `timeout`.
pub async fn write_line<W: AsyncWrite + Unpin>(
    pipe: &mut W,
    line: &str,
    timeout: Duration,
) -> Result<(), LineWriteFailed> {
    let written = async {
        pipe.write_all(line.as_bytes()).await?;
        pipe.write_all(b"\n").await?;
        pipe.flush().await
    };
    match tokio::time::timeout(timeout, written).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(LineWriteFailed::Io(error)),
        Err(_) => Err(LineWriteFailed::Stalled),
    }
}
