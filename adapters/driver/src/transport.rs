//! The byte stream under every WebSocket this crate opens or accepts: a runtime's TCP stream,
//! plain or wrapped in TLS (client or server side). On the server it also replays the bytes
//! read past the HTTP request head, so a first frame the client pipelined behind its upgrade
//! request is not lost.

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
        match &mut this.inner {
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
}
