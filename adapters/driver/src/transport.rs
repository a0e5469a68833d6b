//! The byte stream under every WebSocket this crate opens or accepts: a runtime's TCP stream,
//! plain or wrapped in TLS (client or server side). On the server it also replays the bytes
//! read past the HTTP request head, so a first frame the client pipelined behind its upgrade
//! request is not lost.
//!
//! It also reads ahead. tungstenite asks for at most its read buffer's size per read, and that
//! buffer is kept small (see [`crate::ws_config`]) because every idle connection holds one. So
//! a small read is served from one large per-thread scratch buffer: what the socket had beyond
//! the caller's slice is kept, exactly sized, as bytes to replay, and freed once it has been
//! handed out. A burst of requests still costs one read syscall, and an idle connection holds
//! no read-ahead memory at all.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::io::{AsyncRead, AsyncWrite};

/// A plain or TLS stream over `S`, with bytes to replay before reading from it.
pub struct Transport<S> {
    /// Bytes still to replay and how many were; boxed, as it is rare and the stream is moved.
    replay: Option<Box<(Vec<u8>, usize)>>,
    inner: Inner<S>,
}

enum Inner<S> {
    Plain(S),
    TlsClient(Box<futures_rustls::client::TlsStream<S>>),
    TlsServer(Box<futures_rustls::server::TlsStream<Sniffed<S>>>),
}

/// A stream whose first byte was read to tell TLS from plain text, and is given back first.
pub(crate) struct Sniffed<S> {
    pub(crate) first: Option<u8>,
    pub(crate) inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniffed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let (Some(byte), false) = (this.first, buf.is_empty()) {
            buf[0] = byte;
            this.first = None;
            return Poll::Ready(Ok(1));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniffed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl<S> fmt::Debug for Transport<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Plain(_) => "plain",
            Inner::TlsClient(_) => "tls-client",
            Inner::TlsServer(_) => "tls-server",
        };
        f.debug_struct("Transport").field("kind", &kind).finish()
    }
}

impl<S> Transport<S> {
    /// A plain (unencrypted) stream.
    pub fn plain(stream: S) -> Self {
        Transport { replay: None, inner: Inner::Plain(stream) }
    }

    pub(crate) fn tls_client(stream: futures_rustls::client::TlsStream<S>) -> Self {
        Transport { replay: None, inner: Inner::TlsClient(Box::new(stream)) }
    }

    pub(crate) fn tls_server(stream: futures_rustls::server::TlsStream<Sniffed<S>>) -> Self {
        Transport { replay: None, inner: Inner::TlsServer(Box::new(stream)) }
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self.inner, Inner::Plain(_))
    }

    /// Makes the next reads return `bytes` first (what was read past a request head).
    pub(crate) fn replay(&mut self, bytes: Vec<u8>) {
        self.replay = (!bytes.is_empty()).then(|| Box::new((bytes, 0)));
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(replay) = this.replay.as_mut() {
            let (bytes, done) = &mut **replay;
            let left = &bytes[*done..];
            let n = left.len().min(buf.len());
            buf[..n].copy_from_slice(&left[..n]);
            *done += n;
            if *done == bytes.len() {
                this.replay = None;
            }
            return Poll::Ready(Ok(n));
        }
        if buf.len() >= READ_AHEAD_BYTES {
            return this.inner.poll_read(cx, buf);
        }
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return this.inner.poll_read(cx, buf);
            };
            if scratch.is_empty() {
                scratch.resize(READ_AHEAD_BYTES, 0);
            }
            let read = match this.inner.poll_read(cx, &mut scratch[..]) {
                Poll::Ready(Ok(read)) => read,
                other => return other,
            };
            let n = read.min(buf.len());
            buf[..n].copy_from_slice(&scratch[..n]);
            if read > n {
                this.replay = Some(Box::new((scratch[n..read].to_vec(), 0)));
            }
            Poll::Ready(Ok(n))
        })
    }
}

/// How much one read asks the socket for; reads for less go through the per-thread scratch.
const READ_AHEAD_BYTES: usize = 16 * 1024;

thread_local! {
    /// The read-ahead buffer of this thread, shared by every connection polled on it (allocated
    /// at the first read). Only borrowed within one `poll_read`, which never re-enters it.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_close(cx),
            Inner::TlsClient(s) => Pin::new(s.as_mut()).poll_close(cx),
            Inner::TlsServer(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::{AsyncReadExt, Cursor};

    #[test]
    fn replayed_bytes_come_before_the_stream() {
        let mut t = Transport::plain(Cursor::new(b" world".to_vec()));
        t.replay(b"hello".to_vec());
        let mut out = String::new();
        futures_executor::block_on(t.read_to_string(&mut out)).unwrap();
        assert_eq!(out, "hello world");
    }

    #[test]
    fn small_reads_are_served_from_one_read_ahead_and_nothing_is_kept_after() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut t = Transport::plain(CountingReads { data: data.clone(), at: 0, reads: 0 });
        let mut out = Vec::new();
        let mut chunk = [0u8; 1000];
        futures_executor::block_on(async {
            loop {
                let n = t.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
        });
        assert_eq!(out, data);
        // 40,000 bytes in 1,000-byte slices: three reads of the stream (16 KiB each at most)
        // and the final one that sees the end, not forty.
        assert_eq!(t.inner_reads(), 4);
        assert!(t.replay.is_none(), "a drained read-ahead is freed");
    }

    /// A stream that counts how often it is read.
    struct CountingReads {
        data: Vec<u8>,
        at: usize,
        reads: usize,
    }

    impl Transport<CountingReads> {
        fn inner_reads(&self) -> usize {
            match &self.inner {
                Inner::Plain(s) => s.reads,
                _ => unreachable!(),
            }
        }
    }

    impl AsyncRead for CountingReads {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.reads += 1;
            let n = buf.len().min(this.data.len() - this.at);
            buf[..n].copy_from_slice(&this.data[this.at..this.at + n]);
            this.at += n;
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for CountingReads {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
}
