//! The driver's bounded line pipes ([`mcp_ws_driver::lines`]) for tokio pipes (a child's
//! stdin, stdout and stderr for `serve --stdio`): the same reader and writer, through tokio's
//! compat wrappers, with the tokio clock for the write deadline. Bounded WebSocket writes,
//! the close handshake and keepalive are the driver's `ws_io` and the core's machines.

use std::time::Duration;

use mcp_ws_driver::Runtime;
use mcp_ws_driver::lines;
use mcp_ws_tokio::Tokio;
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

pub use mcp_ws_driver::lines::{Line, LineWriteFailed};

/// Writes `line` and a newline to `pipe` and flushes, within `timeout`
/// ([`mcp_ws_driver::lines::write_line`]).
pub async fn write_line<W: AsyncWrite + Unpin>(
    pipe: &mut W,
    line: &str,
    timeout: Duration,
) -> Result<(), LineWriteFailed> {
    let net = Tokio::new();
    let deadline = net.now() + timeout;
    lines::write_line(&net, &mut pipe.compat_write(), line, deadline).await
}

/// Lines from a tokio pipe, holding at most `max` bytes of any one line
/// ([`mcp_ws_driver::lines::BoundedLines`]; cancel-safe).
#[derive(Debug)]
pub struct BoundedLines<R>(lines::BoundedLines<Compat<R>>);

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines of at most `max` bytes from `pipe`.
    pub fn new(pipe: R, max: usize) -> Self {
        BoundedLines(lines::BoundedLines::new(pipe.compat(), max))
    }

    /// The next line; `None` at the end of the pipe (see
    /// [`mcp_ws_driver::lines::BoundedLines::next_line`]).
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.0.next_line().await
    }
}
