//! Bounded WebSocket writes and the close handshake, shared by every loop that owns a socket
//! (the driver's connection loop, the gateway, the stdio bridge, the CLI's stdio relay), so
//! there is one copy of each.
//!
//! - [`write_by`] runs one `feed`, `flush` or `send` and gives up at a deadline on the runtime's
//!   clock: a peer that stops reading fills the socket buffers, and an unbounded write would
//!   stall its loop, and every timer with it, for good.
//! - [`close_handshake`] sends a close frame and then reads (discarding) until the peer's close
//!   frame comes back, so the peer sees our close code instead of a reset (1006).
//! - [`close_frame`] turns a core [`CloseReason`] into the WebSocket close message.
//! - [`classify`] says what one read from the WebSocket means to a core machine: a payload to
//!   decode, liveness, the peer's close, a violation that closes with its own code (1009, 1007,
//!   1002), or a lost transport (a TCP connection ended without a close frame included: that
//!   is an abnormal closure, 1006, not a violation).
//! - [`sleep_until_deadline`] waits for a machine's optional next deadline.

use std::fmt;
use std::future::Future;

use async_tungstenite::tungstenite::error::ProtocolError;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use futures_util::future::Either;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mcp_ws_core::codec::Payload;
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason};

use crate::runtime::Runtime;

/// Why a bounded write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteFailed {
    /// The deadline passed before the write completed (the peer stopped reading).
    Stalled,
    /// The socket reported an error.
    Broken,
}

impl fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteFailed::Stalled => "the WebSocket write stalled past its deadline",
            WriteFailed::Broken => "the WebSocket failed while writing",
        })
    }
}

impl std::error::Error for WriteFailed {}

/// Runs one write (a `feed`, `flush`, or `send` future), giving up at `deadline` on the
/// runtime's clock.
///
/// A write that is ready at once succeeds even when the deadline has already passed.
pub async fn write_by<R: Runtime>(
    runtime: &R,
    deadline: Instant,
    write: impl Future<Output = Result<(), WsError>>,
) -> Result<(), WriteFailed> {
    match by_deadline(runtime, deadline, write).await {
        Some(Ok(())) => Ok(()),
        Some(Err(_)) => Err(WriteFailed::Broken),
        None => Err(WriteFailed::Stalled),
    }
}

/// Runs `work` until `deadline` on the runtime's clock: its output, or `None` once the
/// deadline passed first (work that is ready at once wins even past the deadline). The one
/// time bound of every write here and of [`crate::lines::write_line`].
pub(crate) async fn by_deadline<R: Runtime, T>(
    runtime: &R,
    deadline: Instant,
    work: impl Future<Output = T>,
) -> Option<T> {
    let work = std::pin::pin!(work);
    let sleep = std::pin::pin!(runtime.sleep_until(deadline));
    match futures_util::future::select(work, sleep).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(((), _)) => None,
    }
}

/// A WebSocket as every loop here holds it: a stream of reads and a sink of messages (any
/// `async-tungstenite` `WebSocketStream`, or an in-memory pair in tests).
pub trait WebSocketIo:
    Stream<Item = Result<WsMessage, WsError>> + Sink<WsMessage, Error = WsError> + Unpin
{
}

impl<T> WebSocketIo for T where
    T: Stream<Item = Result<WsMessage, WsError>> + Sink<WsMessage, Error = WsError> + Unpin
{
}

/// What one read from a WebSocket means to a core machine.
#[derive(Debug)]
pub enum Inbound<'a> {
    /// A data frame for the machine's decoder.
    Payload(Payload<'a>),
    /// A ping, a pong or a raw frame: liveness only (the WebSocket library answers pings).
    Activity,
    /// The peer's close frame; `None` when it carried no status code.
    PeerClosed(Option<CloseReason>),
    /// The peer broke a rule that closes the connection with this code: a message over the
    /// limit (1009), invalid UTF-8 (1007), a WebSocket protocol violation (1002).
    Violation(CloseReason),
    /// The transport failed or ended without a close frame.
    Lost(String),
}

/// Classifies one read (`None`: the stream ended).
pub fn classify(read: &Option<Result<WsMessage, WsError>>) -> Inbound<'_> {
    match read {
        Some(Ok(WsMessage::Text(text))) => Inbound::Payload(Payload::Text(text.as_bytes())),
        Some(Ok(WsMessage::Binary(bytes))) => Inbound::Payload(Payload::Binary(bytes)),
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {
            Inbound::Activity
        }
        Some(Ok(WsMessage::Close(frame))) => Inbound::PeerClosed(
            frame
                .as_ref()
                .map(|f| CloseReason::new(CloseCode(u16::from(f.code)), f.reason.to_string())),
        ),
        Some(Err(error @ WsError::Capacity(_))) => {
            Inbound::Violation(CloseReason::new(CloseCode::MESSAGE_TOO_BIG, error.to_string()))
        }
        Some(Err(WsError::Utf8(_))) => {
            Inbound::Violation(CloseReason::new(CloseCode::INVALID_PAYLOAD, "invalid UTF-8"))
        }
        // The peer closed the TCP connection without a close frame: an abnormal closure
        // (1006), not a protocol error of the peer's.
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
            Inbound::Lost("the connection ended without a close frame".to_string())
        }
        Some(Err(WsError::Protocol(violation))) => Inbound::Violation(CloseReason::new(
            CloseCode::PROTOCOL_ERROR,
            format!("WebSocket protocol violation: {violation}"),
        )),
        Some(Err(other)) => Inbound::Lost(other.to_string()),
        None => Inbound::Lost("the WebSocket ended".to_string()),
    }
}

/// Completes at `deadline` on the runtime's clock, or never when there is none (a machine
/// with no timer running). It may wake early; compare `now()` with the deadline.
pub async fn sleep_until_deadline<R: Runtime>(runtime: &R, deadline: Option<Instant>) {
    match deadline {
        Some(at) => runtime.sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The close frame for a core close reason.
pub fn close_frame(reason: &CloseReason) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: WsCloseCode::from(reason.code.0),
        reason: reason.reason.to_string().into(),
    }))
}

/// Sends a close frame (`reason` None = a close frame without status), flushes, then reads and
/// discards frames until the peer's close frame arrives, the stream ends or errors, or
/// `deadline` passes, so the peer sees our close code instead of a reset (1006). Returns whether
/// the peer's close was seen.
///
/// If the peer closed first (its close frame was already read), the WebSocket library has
/// answered it already; the send is then a no-op and the read ends at once with the stream.
pub async fn close_handshake<R: Runtime, S>(
    runtime: &R,
    ws: &mut S,
    reason: Option<CloseReason>,
    deadline: Instant,
) -> bool
where
    S: WebSocketIo,
{
    let frame = match &reason {
        Some(reason) => close_frame(reason),
        None => WsMessage::Close(None),
    };
    if write_by(runtime, deadline, ws.send(frame)).await.is_err() {
        return false;
    }
    let mut sleep = std::pin::pin!(runtime.sleep_until(deadline));
    loop {
        match futures_util::future::select(ws.next(), sleep.as_mut()).await {
            Either::Left((Some(Ok(WsMessage::Close(_))), _)) => return true,
            Either::Left((Some(Ok(_)), _)) => {
                // A frame the peer sent before it saw our close: discarded. Time is checked
                // here too, so a peer streaming frames cannot hold the loop past the deadline.
                if runtime.now() >= deadline {
                    return false;
                }
            }
            Either::Left((Some(Err(_)) | None, _)) => return false,
            Either::Right(((), _)) => {
                if runtime.now() >= deadline {
                    return false;
                }
                // Woke early: wait again for the same deadline.
                sleep.set(runtime.sleep_until(deadline));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use futures_channel::mpsc;
    use mcp_ws_core::CloseCode;

    use super::*;

    /// A runtime on a hand-set clock: a sleep is ready once the clock reaches its deadline;
    /// [`ManualClock::advance_to`] wakes the sleepers.
    #[derive(Clone, Default)]
    struct ManualClock {
        nanos: Arc<AtomicU64>,
        sleepers: Arc<Mutex<Vec<Waker>>>,
    }

    impl ManualClock {
        fn advance_to(&self, nanos: u64) {
            self.nanos.store(nanos, Ordering::SeqCst);
            for waker in self.sleepers.lock().unwrap().drain(..) {
                waker.wake();
            }
        }
    }

    impl Runtime for ManualClock {
        type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

        fn now(&self) -> Instant {
            Instant::from_nanos(self.nanos.load(Ordering::SeqCst))
        }

        fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
            let clock = self.clone();
            Box::pin(futures_util::future::poll_fn(move |cx| {
                clock.sleepers.lock().unwrap().push(cx.waker().clone());
                if clock.now() >= deadline { Poll::Ready(()) } else { Poll::Pending }
            }))
        }

        fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
            std::thread::spawn(move || futures_executor::block_on(task));
        }
    }

    /// One end of an in-memory WebSocket whose peer end is the test.
    struct Pipe {
        inbound: mpsc::UnboundedReceiver<Result<WsMessage, WsError>>,
        outbound: mpsc::UnboundedSender<WsMessage>,
    }

    impl Stream for Pipe {
        type Item = Result<WsMessage, WsError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.inbound.poll_next_unpin(cx)
        }
    }

    impl Sink<WsMessage> for Pipe {
        type Error = WsError;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
            self.outbound.unbounded_send(item).map_err(|_| WsError::ConnectionClosed)
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
            Poll::Ready(Ok(()))
        }
    }

    type PeerEnd =
        (mpsc::UnboundedSender<Result<WsMessage, WsError>>, mpsc::UnboundedReceiver<WsMessage>);

    fn pipe() -> (Pipe, PeerEnd) {
        let (to_pipe, inbound) = mpsc::unbounded();
        let (outbound, from_pipe) = mpsc::unbounded();
        (Pipe { inbound, outbound }, (to_pipe, from_pipe))
    }

    fn going_away() -> CloseReason {
        CloseReason::new(CloseCode::GOING_AWAY, "shutting down")
    }

    #[test]
    fn the_close_frame_carries_the_code_and_reason() {
        let WsMessage::Close(Some(frame)) = close_frame(&going_away()) else {
            panic!("not a close frame with a status");
        };
        assert_eq!((u16::from(frame.code), frame.reason.as_str()), (1001, "shutting down"));
    }

    #[test]
    fn the_handshake_sends_the_close_and_sees_the_peers_answer_after_discarding_frames() {
        let clock = ManualClock::default();
        let (mut ws, (to_pipe, mut from_pipe)) = pipe();
        to_pipe.unbounded_send(Ok(WsMessage::text("late"))).unwrap();
        to_pipe.unbounded_send(Ok(WsMessage::Close(None))).unwrap();
        let deadline = Instant::from_nanos(1_000);
        let seen = futures_executor::block_on(close_handshake(
            &clock,
            &mut ws,
            Some(going_away()),
            deadline,
        ));
        assert!(seen);
        assert_eq!(from_pipe.try_recv().ok(), Some(close_frame(&going_away())));
    }

    #[test]
    fn the_handshake_without_a_reason_sends_a_close_without_status() {
        let clock = ManualClock::default();
        let (mut ws, (to_pipe, mut from_pipe)) = pipe();
        to_pipe.unbounded_send(Ok(WsMessage::Close(None))).unwrap();
        let deadline = Instant::from_nanos(1_000);
        assert!(futures_executor::block_on(close_handshake(&clock, &mut ws, None, deadline)));
        assert_eq!(from_pipe.try_recv().ok(), Some(WsMessage::Close(None)));
    }

    #[test]
    fn the_handshake_gives_up_at_the_deadline_when_the_peer_never_answers() {
        let clock = ManualClock::default();
        let (mut ws, (_to_pipe, mut from_pipe)) = pipe();
        let deadline = Instant::from_nanos(1_000);
        let waiter = clock.clone();
        let handshake = std::thread::spawn(move || {
            futures_executor::block_on(close_handshake(
                &waiter,
                &mut ws,
                Some(going_away()),
                deadline,
            ))
        });
        // The close frame goes out before the clock moves; then time passes the deadline.
        let sent = futures_executor::block_on(from_pipe.next());
        assert_eq!(sent, Some(close_frame(&going_away())));
        clock.advance_to(999);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!handshake.is_finished(), "the handshake ended before its deadline");
        clock.advance_to(1_000);
        assert!(!handshake.join().unwrap());
    }

    #[test]
    fn the_handshake_ends_when_the_stream_ends_without_a_close() {
        let clock = ManualClock::default();
        let (mut ws, (to_pipe, _from_pipe)) = pipe();
        drop(to_pipe);
        let deadline = Instant::from_nanos(1_000);
        assert!(!futures_executor::block_on(close_handshake(
            &clock,
            &mut ws,
            Some(going_away()),
            deadline
        )));
    }

    #[test]
    fn the_handshake_with_a_passed_deadline_still_sends_the_close_but_waits_no_longer() {
        let clock = ManualClock::default();
        clock.advance_to(5_000);
        let (mut ws, (_to_pipe, mut from_pipe)) = pipe();
        let deadline = Instant::from_nanos(1_000);
        assert!(!futures_executor::block_on(close_handshake(
            &clock,
            &mut ws,
            Some(going_away()),
            deadline
        )));
        assert_eq!(from_pipe.try_recv().ok(), Some(close_frame(&going_away())));
    }

    #[test]
    fn a_write_that_errors_is_broken_and_one_past_its_deadline_is_stalled() {
        let clock = ManualClock::default();
        clock.advance_to(5_000);
        let deadline = Instant::from_nanos(1_000);
        let broken = write_by(&clock, deadline, async { Err(WsError::ConnectionClosed) });
        assert_eq!(futures_executor::block_on(broken), Err(WriteFailed::Broken));
        let stalled = write_by(&clock, deadline, futures_util::future::pending());
        assert_eq!(futures_executor::block_on(stalled), Err(WriteFailed::Stalled));
        let done = write_by(&clock, deadline, async { Ok(()) });
        assert_eq!(futures_executor::block_on(done), Ok(()));
    }
}
