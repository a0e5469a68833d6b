//! Newline-delimited JSON-RPC on a byte pipe (a stdio client's stdin and stdout, a child
//! process's pipes), bounded both ways:
//!
//! - [`BoundedLines`] reads lines holding at most a limit of any one line: a longer line is
//!   consumed to its end and discarded, so a peer printing an endless line costs no memory.
//! - [`write_line`] writes one line and flushes, giving up at a deadline on the runtime's
//!   clock (a reader that stops reading would otherwise stall its loop for good), with the
//!   same time bound as every WebSocket write ([`crate::ws_io::write_by`]).
//!
//! Both are `futures-io` based, like every byte stream of the driver; a tokio pipe passes
//! through a compat wrapper.

use std::fmt;
use std::io;

use futures_util::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use mcp_ws_core::time::Instant;

use crate::runtime::Runtime;
use crate::ws_io::by_deadline;

/// Why a line could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum LineWriteFailed {
    /// The pipe failed (closed by the reader).
    Io(io::Error),
    /// The reader did not take the line by the deadline.
    Stalled,
}

impl fmt::Display for LineWriteFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineWriteFailed::Io(error) => write!(f, "{error}"),
            LineWriteFailed::Stalled => f.write_str("the reader stopped reading"),
        }
    }
}

impl std::error::Error for LineWriteFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LineWriteFailed::Io(error) => Some(error),
            LineWriteFailed::Stalled => None,
        }
    }
}

/// Writes `line` and a newline to `pipe` and flushes, giving up at `deadline` on `runtime`'s
/// clock. A write that is ready at once succeeds even when the deadline has already passed.
pub async fn write_line<R, W>(
    runtime: &R,
    pipe: &mut W,
    line: &str,
    deadline: Instant,
) -> Result<(), LineWriteFailed>
where
    R: Runtime,
    W: AsyncWrite + Unpin,
{
    let written = async {
        pipe.write_all(line.as_bytes()).await?;
        pipe.write_all(b"\n").await?;
        pipe.flush().await
    };
    match by_deadline(runtime, deadline, written).await {
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => Err(LineWriteFailed::Io(error)),
        None => Err(LineWriteFailed::Stalled),
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
/// to its end and discarded. [`BoundedLines::next_line`] is cancel-safe (a partly read line
/// is kept), so it can be raced against other inputs.
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
    pub async fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
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
                self.pipe.consume_unpin(taken);
                self.skipping = newline.is_none();
                continue;
            }
            let chunk = &available[..newline.unwrap_or(available.len())];
            if self.line.len() + chunk.len() > self.max {
                self.line = Vec::new();
                self.pipe.consume_unpin(taken);
                self.skipping = newline.is_none();
                return Ok(Some(Line::TooLong));
            }
            self.line.extend_from_slice(chunk);
            self.pipe.consume_unpin(taken);
            if newline.is_some() {
                self.returned = true;
                return Ok(Some(Line::Text(&self.line)));
            }
        }
    }

    /// The line buffer's capacity (what a long line has cost in memory).
    pub fn buffered_capacity(&self) -> usize {
        self.line.capacity()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::io::BufReader;

    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Option<String>> {
        let mut lines = BoundedLines::new(BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(line) = futures_executor::block_on(lines.next_line()).unwrap() {
            out.push(match line {
                Line::Text(text) => Some(String::from_utf8(text.to_vec()).unwrap()),
                Line::TooLong => None,
            });
        }
        out
    }

    #[test]
    fn lines_within_the_limit_pass_and_a_longer_one_is_reported_and_skipped() {
        let got = lines(b"short\nthis one is far too long\nok\n\nlast", 8);
        let want = [Some("short"), None, Some("ok"), Some(""), Some("last")];
        assert_eq!(got, want.map(|l| l.map(str::to_string)));
    }

    #[test]
    fn an_endless_line_never_grows_the_buffer_past_the_limit() {
        let endless = vec![b'x'; 1 << 20];
        let mut lines = BoundedLines::new(BufReader::new(&endless[..]), 1024);
        assert_eq!(futures_executor::block_on(lines.next_line()).unwrap(), Some(Line::TooLong));
        assert!(lines.buffered_capacity() <= 2048, "buffered {}", lines.buffered_capacity());
        assert_eq!(futures_executor::block_on(lines.next_line()).unwrap(), None);
    }
}
