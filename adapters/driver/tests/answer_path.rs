//! The driver's answer path over an in-memory WebSocket on a virtual clock: the clock moves one
//! millisecond per frame the driver reads, and every frame the driver writes is stamped with
//! the clock, so the instant a timer fired can be read off the wire.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use futures_util::{Sink, Stream};
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::session::{
    EraPolicy, Event, RequestOptions, Role, Session, SessionConfig, SessionError,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason, ProtocolVersion, RawJson, RequestId};
use mcp_ws_driver::{
    CallOptions, ConnectionEnded, ConnectionHandle, EventSink, HandlerTasks, Runtime,
    spawn_connection,
};

/// A clock that moves only when the driver reads a frame (1 ms each).
#[derive(Clone, Default)]
struct VirtualClock {
    nanos: Arc<AtomicU64>,
    sleepers: Arc<Mutex<Vec<Waker>>>,
}

impl VirtualClock {
    fn advance(&self, by: Duration) {
        self.nanos.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
        for waker in self.sleepers.lock().unwrap().drain(..) {
            waker.wake();
        }
    }
}

impl Runtime for VirtualClock {
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

/// What the peer queued for the driver, and what the driver wrote (stamped with the clock).
#[derive(Default)]
struct Wire {
    to_driver: VecDeque<WsMessage>,
    reader: Option<Waker>,
    from_driver: VecDeque<(Instant, WsMessage)>,
    /// While set, the driver's writes wait (a peer that stopped reading).
    writes_blocked: bool,
    writer: Option<Waker>,
}

/// The driver's end of the in-memory WebSocket.
struct Pipe {
    wire: Arc<Mutex<Wire>>,
    clock: VirtualClock,
}

impl Stream for Pipe {
    type Item = Result<WsMessage, WsError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut wire = self.wire.lock().unwrap();
        match wire.to_driver.pop_front() {
            Some(message) => {
                drop(wire);
                self.clock.advance(Duration::from_millis(1));
                Poll::Ready(Some(Ok(message)))
            }
            None => {
                wire.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Sink<WsMessage> for Pipe {
    type Error = WsError;
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let mut wire = self.wire.lock().unwrap();
        if wire.writes_blocked {
            wire.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
        let now = self.clock.now();
        self.wire.lock().unwrap().from_driver.push_back((now, item));
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

/// The test's end of the wire.
struct Peer {
    wire: Arc<Mutex<Wire>>,
}

impl Peer {
    /// Queues `messages` for the driver in one go.
    fn send_all(&self, messages: impl IntoIterator<Item = WsMessage>) {
        let mut wire = self.wire.lock().unwrap();
        wire.to_driver.extend(messages);
        if let Some(reader) = wire.reader.take() {
            reader.wake();
        }
    }

    fn block_writes(&self, blocked: bool) {
        let mut wire = self.wire.lock().unwrap();
        wire.writes_blocked = blocked;
        if let Some(writer) = wire.writer.take() {
            writer.wake();
        }
    }

    fn send_json(&self, value: serde_json::Value) {
        self.send_all([WsMessage::text(value.to_string())]);
    }

    /// The next frame the driver wrote, with its stamp (waits up to 5 s of real time).
    fn next_frame(&self) -> (Instant, WsMessage) {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(frame) = self.wire.lock().unwrap().from_driver.pop_front() {
                return frame;
            }
            assert!(std::time::Instant::now() < until, "the driver wrote nothing");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The next JSON text frame the driver wrote, with its stamp.
    fn next_json(&self) -> (Instant, serde_json::Value) {
        loop {
            if let (at, WsMessage::Text(text)) = self.next_frame() {
                return (at, serde_json::from_str(text.as_str()).unwrap());
            }
        }
    }
}

struct Ignore;
impl EventSink for Ignore {
    fn on_event(&mut self, _: Event, _: &ConnectionHandle) {}
}

fn quiet(mut config: SessionConfig) -> SessionConfig {
    (config.ping_interval, config.idle_timeout) = (None, None);
    config
}

fn pipe(clock: &VirtualClock) -> (Pipe, Peer) {
    let wire = Arc::new(Mutex::new(Wire::default()));
    (Pipe { wire: wire.clone(), clock: clock.clone() }, Peer { wire })
}

/// A legacy client driven on `clock`, initialized by hand.
fn ready_client(clock: &VirtualClock) -> (ConnectionHandle, ConnectionEnded, Peer) {
    let info =
        Implementation { name: "answer-test".into(), version: "1".into(), ..Default::default() };
    let mut config = quiet(SessionConfig::client(info));
    config.role = Role::Client {
        capabilities: Default::default(),
        era: EraPolicy::Legacy(ProtocolVersion::V2025_11_25),
    };
    let session = Session::new(config, clock.now()).unwrap();
    let (ws, peer) = pipe(clock);
    let (handle, ended) = spawn_connection(clock, ws, session, Ignore);
    let (_, init) = peer.next_json();
    assert_eq!(init["method"], "initialize");
    peer.send_json(serde_json::json!({"jsonrpc":"2.0","id":init["id"],"result":{
        "protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"hand","version":"1"}}}));
    assert_eq!(peer.next_json().1["method"], "notifications/initialized");
    (handle, ended, peer)
}

#[test]
fn a_request_times_out_on_time_while_pings_flood_in() {
    let clock = VirtualClock::default();
    let (handle, _ended, peer) = ready_client(&clock);
    let call = handle.request(
        "tools/call",
        None,
        RequestOptions { timeout: Some(Duration::from_millis(100)), ..Default::default() },
    );
    let (sent_at, request) = peer.next_json();
    assert_eq!(request["method"], "tools/call");
    // Then three seconds' worth of pings (one per virtual millisecond) queued at once. (Queued
    // after the request went out: queued before, a descheduled test thread could let the
    // driver read nearly all of them before the request, and the clock would stop short of
    // the deadline.)
    peer.send_all((0..3000).map(|_| WsMessage::Ping(Default::default())));
    let (cancelled_at, cancelled) = loop {
        let (at, frame) = peer.next_json();
        if frame["method"] == "notifications/cancelled" {
            break (at, frame);
        }
    };
    assert_eq!(cancelled["params"]["requestId"], request["id"]);
    let waited = cancelled_at.saturating_duration_since(sent_at);
    assert!(
        waited >= Duration::from_millis(100) && waited <= Duration::from_millis(105),
        "the 100 ms timeout fired after {waited:?} of flood"
    );
    drop(call);
}

#[test]
fn a_retryable_call_that_races_the_close_comes_back_for_retry() {
    let clock = VirtualClock::default();
    let (handle, ended, peer) = ready_client(&clock);
    // Hold the driver in a write, then queue a close and a retryable call behind it: the call
    // reaches the driver only after its session has closed.
    peer.block_writes(true);
    let notify = std::thread::spawn({
        let handle = handle.clone();
        move || futures_executor::block_on(handle.notify("notifications/roots/list_changed", None))
    });
    std::thread::sleep(Duration::from_millis(50));
    handle.close(CloseReason::new(CloseCode::NORMAL, "bye"));
    let call = handle.request("tools/list", None, CallOptions::default().retryable());
    peer.block_writes(false);
    let _ = notify.join();
    let end = futures_executor::block_on(ended);
    assert!(format!("{end:?}").contains("retry: 1"), "the call was not kept for retry: {end:?}");
    drop(call);
}

/// A server whose handlers answer with `[1]` and which records refused answers.
struct ArrayAnswers {
    clock: VirtualClock,
    tasks: HandlerTasks,
    refused: std::sync::mpsc::Sender<(RequestId, SessionError)>,
}

impl EventSink for ArrayAnswers {
    fn on_event(&mut self, event: Event, handle: &ConnectionHandle) {
        if let Event::Request(request) = event {
            self.tasks.start(&self.clock, handle, request, |_, _| async {
                Ok(RawJson::from_string("[1]".into()).unwrap())
            });
        }
    }
    fn on_answer_refused(&mut self, id: RequestId, error: SessionError, _: &ConnectionHandle) {
        let _ = self.refused.send((id, error));
    }
}

#[test]
fn a_modern_result_that_is_not_an_object_answers_internal_error_and_is_reported() {
    let clock = VirtualClock::default();
    let info = Implementation { name: "srv".into(), version: "1".into(), ..Default::default() };
    let session = Session::new(quiet(SessionConfig::server(info)), clock.now()).unwrap();
    let (ws, peer) = pipe(&clock);
    let (refused, refusals) = std::sync::mpsc::channel();
    let sink = ArrayAnswers { clock: clock.clone(), tasks: HandlerTasks::default(), refused };
    let (_handle, _ended) = spawn_connection(&clock, ws, session, sink);
    peer.send_json(
        serde_json::json!({"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":{}}}}),
    );
    let (_, answer) = peer.next_json();
    assert_eq!((answer["id"].as_i64(), answer["error"]["code"].as_i64()), (Some(9), Some(-32603)));
    let refusal = refusals.recv_timeout(Duration::from_secs(5)).expect("the server is told");
    assert_eq!(refusal, (RequestId::from(9i64), SessionError::NotAnObject));
}
