//! What both relays (`serve --stdio`, `connect`) need beyond the library: the WebSocket type they
//! hold, one bounded write of a line to a pipe (the bridge's stdout, the child's stdin), and
//! [`BoundedLines`], lines read from a pipe (a child's stdout and stderr, the bridge's stdin)
//! that never buffer more than the limit however long a line is.
//! Bounded WebSocket writes, the close handshake and keepalive are not here: they are the
//! driver's `ws_io` and the core's relay and bridge machines, shared with the library's own
//! connection loop.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

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

/// One line read by [`BoundedLines::next_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line (without its newline; a last line without one counts too).
    Text(&'a [u8]),
    /// A line longer than the limit: it was read to its end and discarded.
    TooLong,
}

/// Lines from a pipe, holding at most `max` bytes of any one line: a longer line is consumed
/// to its end and discarded, so a peer printing an endless line costs no memory.
/// [`BoundedLines::next_line`] is cancel-safe in `select!`: a partly read line is kept.
#[derive(Debug)]
pub struct BoundedLines<R> {
    pipe: R,
    max: usize,
    line: Vec<u8>,
    /// The current line went past `max` and was reported; skipping to its end.
    skipping: bool,
    /// The last line returned is still in `line`.
    returned: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines of at most `max` bytes from `pipe`.
    pub fn new(pipe: R, max: usize) -> Self {
        BoundedLines { pipe, max, line: Vec::new(), skipping: false, returned: false }
    }

    /// The next line; `None` at the end of the pipe. A line over the limit is reported as
    /// [`Line::TooLong`] as soon as it passes the limit (an endless line is reported too), and
    /// its rest is skipped by the following calls.
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        if std::mem::take(&mut self.returned) {
            self.line.clear();
        }
        loop {
            let available = self.pipe.fill_buf().await?;
            if available.is_empty() {
                self.skipping = false;
                if self.line.is_empty() {
                    return Ok(None);
                }
                self.returned = true;
                return Ok(Some(Line::Text(&self.line)));
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let taken = newline.map_or(available.len(), |at| at + 1);
            if self.skipping {
                // The rest of a line already reported as too long.
                self.pipe.consume(taken);
                self.skipping = newline.is_none();
                continue;
            }
            let chunk = &available[..newline.unwrap_or(available.len())];
            if self.line.len() + chunk.len() > self.max {
                self.line = Vec::new();
                self.pipe.consume(taken);
                self.skipping = newline.is_none();
                return Ok(Some(Line::TooLong));
            }
            self.line.extend_from_slice(chunk);
            self.pipe.consume(taken);
            if newline.is_some() {
                self.returned = true;
                return Ok(Some(Line::Text(&self.line)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Option<String>> {
        let mut lines = BoundedLines::new(tokio::io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            out.push(match line {
                Line::Text(text) => Some(String::from_utf8(text.to_vec()).unwrap()),
                Line::TooLong => None,
            });
        }
        out
    }

    #[tokio::test]
    async fn lines_within_the_limit_pass_and_a_longer_one_is_reported_and_skipped() {
        let got = lines(b"short\nthis one is far too long\nok\n\nlast", 8).await;
        let want = [Some("short"), None, Some("ok"), Some(""), Some("last")];
        assert_eq!(got, want.map(|l| l.map(str::to_string)));
    }

    #[tokio::test]
    async fn an_endless_line_never_grows_the_buffer_past_the_limit() {
        let endless = vec![b'x'; 1 << 20];
        let mut lines = BoundedLines::new(tokio::io::BufReader::new(&endless[..]), 1024);
        assert_eq!(lines.next_line().await.unwrap(), Some(Line::TooLong));
        assert!(lines.line.capacity() <= 2048, "buffered {} bytes", lines.line.capacity());
        assert_eq!(lines.next_line().await.unwrap(), None);
    }
}
