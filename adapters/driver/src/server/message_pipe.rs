//! The in-memory message pipe: a session served over something other than a socket.
//!
//! A Streamable HTTP session has no socket of its own: its messages arrive as request bodies
//! and leave as response bodies and event streams. It is still the same core session driven by
//! the same connection loop as a WebSocket's ([`super::Server::serve_messages`]): the loop gets
//! a [`LoopEnd`], which looks like a WebSocket to it (each message one text frame), and the
//! HTTP layer holds the [`PipeEnd`], putting what clients post in and routing what the loop
//! writes out. Both directions are bounded channels of [`MessagePipe::capacity`] messages, so a
//! client that posts faster than the session answers waits (or is refused) instead of growing
//! a queue.
//!
//! Dropping the [`PipeEnd`]'s sender ends the session (the loop sees its transport end); a
//! close the loop sends ends the inbound side, so the loop's close handshake completes at
//! once. A pipe is alive while its [`PipeEnd`] is held, so a ping the loop's heartbeat sends
//! is answered by the pipe itself (a pong on the inbound side): a quiet client, such as one
//! holding a `subscriptions/listen` stream open, is not declared dead for sending nothing.
//!
//! What the loop writes for a handler (its log entries, its questions to the client) comes out
//! tagged with the handler's request id ([`Written::related`]), so Streamable HTTP can send it
//! on that request's stream. The loop is generic over any WebSocket-like transport, so it asks
//! whether its transport is a [`LoopEnd`] (a type check the compiler resolves)
//! and tags only then: a WebSocket never sees a tag.

use std::any::Any;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use futures_channel::mpsc;
use futures_util::{Sink, Stream, StreamExt};
use mcp_ws_core::RequestId;

/// The settings of a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagePipe {
    /// How many messages each direction holds before the writer waits.
    pub capacity: usize,
}

impl MessagePipe {
    /// 64 messages each way.
    pub const DEFAULT_CAPACITY: usize = 64;

    /// A new pipe: the loop's end and the HTTP layer's end.
    pub fn open(self) -> (LoopEnd, PipeEnd) {
        // futures' bounded channel holds `buffer + senders` messages: one sender each way.
        let slots = self.capacity.saturating_sub(1);
        let (to_loop, inbound) = mpsc::channel(slots);
        let (outbound, from_loop) = mpsc::channel(slots);
        (
            LoopEnd { inbound, outbound, closed: false, related: None, pong: None, reader: None },
            PipeEnd { to_loop, from_loop },
        )
    }
}

impl Default for MessagePipe {
    fn default() -> Self {
        MessagePipe { capacity: Self::DEFAULT_CAPACITY }
    }
}

/// The connection loop's end: a stream of text frames in, a sink of frames out.
#[derive(Debug)]
pub struct LoopEnd {
    inbound: mpsc::Receiver<String>,
    outbound: mpsc::Sender<Written>,
    closed: bool,
    /// The tag of the next text written.
    related: Option<RequestId>,
    /// The payload of the last ping the loop sent, answered on the next read.
    pong: Option<Vec<u8>>,
    /// The reader waiting on the inbound side, woken when a pong is due.
    reader: Option<Waker>,
}

impl LoopEnd {
    /// Tags the next text written as related to the peer's request `related`.
    pub(crate) fn relate_next(&mut self, related: RequestId) {
        self.related = Some(related);
    }
}

/// `transport` as the pipe's loop end, when it is one.
pub(crate) fn as_loop_end<S: 'static>(transport: &mut S) -> Option<&mut LoopEnd> {
    (transport as &mut dyn Any).downcast_mut::<LoopEnd>()
}

/// Whether transports of type `S` are the pipe's loop end.
pub(crate) fn is_loop_end<S: 'static>() -> bool {
    std::any::TypeId::of::<S>() == std::any::TypeId::of::<LoopEnd>()
}

/// One message the session wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// The JSON-RPC message (or batch), as text.
    pub text: String,
    /// The peer's request it was written for, when a handler wrote it (a log entry, a request
    /// to the client): it belongs on that request's stream.
    pub related: Option<RequestId>,
}

/// The HTTP layer's end: messages for the session go into `to_loop`, what the session writes
/// comes out of `from_loop` (each one JSON-RPC message or batch, as text).
#[derive(Debug)]
pub struct PipeEnd {
    /// Messages from the client, to the session.
    pub to_loop: mpsc::Sender<String>,
    /// Messages from the session, to the client.
    pub from_loop: mpsc::Receiver<Written>,
}

impl Stream for LoopEnd {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.closed {
            return Poll::Ready(None);
        }
        if let Some(payload) = self.pong.take() {
            return Poll::Ready(Some(Ok(WsMessage::Pong(payload.into()))));
        }
        let polled = self.inbound.poll_next_unpin(cx);
        if polled.is_pending() {
            self.reader = Some(cx.waker().clone());
        }
        polled.map(|text| text.map(|text| Ok(WsMessage::text(text))))
    }
}

impl Sink<WsMessage> for LoopEnd {
    type Error = WsError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.outbound.poll_ready(cx).map_err(|_| WsError::ConnectionClosed)
    }

    fn start_send(mut self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
        match item {
            WsMessage::Text(text) => {
                let written =
                    Written { text: text.as_str().to_owned(), related: self.related.take() };
                self.outbound.start_send(written).map_err(|_| WsError::ConnectionClosed)
            }
            WsMessage::Close(_) => {
                self.closed = true;
                self.inbound.close();
                Ok(())
            }
            WsMessage::Ping(payload) => {
                self.pong = Some(payload.to_vec());
                if let Some(reader) = self.reader.take() {
                    reader.wake();
                }
                Ok(())
            }
            // Pongs and binary frames mean nothing on a pipe.
            _ => Ok(()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.outbound.close_channel();
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::SinkExt;

    #[test]
    fn text_goes_through_both_ways_and_the_capacity_bounds_each_direction() {
        let (mut loop_end, mut pipe_end) = MessagePipe { capacity: 2 }.open();
        pipe_end.to_loop.try_send("a".into()).unwrap();
        pipe_end.to_loop.try_send("b".into()).unwrap();
        assert!(pipe_end.to_loop.try_send("c".into()).unwrap_err().is_full());
        let first = futures_executor::block_on(loop_end.next()).unwrap().unwrap();
        assert_eq!(first, WsMessage::text("a"));
        futures_executor::block_on(loop_end.send(WsMessage::text("out"))).unwrap();
        let written = pipe_end.from_loop.try_recv().unwrap();
        assert_eq!((written.text.as_str(), written.related), ("out", None));
        as_loop_end(&mut loop_end).expect("a loop end").relate_next(RequestId::from(7i64));
        futures_executor::block_on(loop_end.send(WsMessage::text("tagged"))).unwrap();
        futures_executor::block_on(loop_end.send(WsMessage::text("untagged"))).unwrap();
        let related: Vec<_> =
            std::iter::from_fn(|| pipe_end.from_loop.try_recv().ok()).map(|w| w.related).collect();
        assert_eq!(related, [Some(RequestId::from(7i64)), None], "a tag goes with one text");
        assert!(!is_loop_end::<String>() && is_loop_end::<LoopEnd>());
    }

    #[test]
    fn a_ping_the_loop_sends_is_answered_by_the_pipe() {
        let (mut loop_end, _pipe_end) = MessagePipe::default().open();
        futures_executor::block_on(loop_end.send(WsMessage::Ping(b"beat".to_vec().into())))
            .unwrap();
        let pong = futures_executor::block_on(loop_end.next()).unwrap().unwrap();
        assert_eq!(pong, WsMessage::Pong(b"beat".to_vec().into()));
    }

    #[test]
    fn the_loops_close_ends_its_inbound_side_and_dropping_the_sender_ends_the_stream() {
        let (mut loop_end, pipe_end) = MessagePipe::default().open();
        futures_executor::block_on(loop_end.send(WsMessage::Close(None))).unwrap();
        assert!(futures_executor::block_on(loop_end.next()).is_none());

        let (mut loop_end, pipe_end_2) = MessagePipe::default().open();
        drop(pipe_end_2.to_loop);
        assert!(futures_executor::block_on(loop_end.next()).is_none());
        drop(pipe_end);
    }
}
