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
use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::session::{
    EraPolicy, Event, RequestOptions, Role, Session, SessionConfig, SessionError,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason, ProtocolVersion, RawJson, RequestId};
use mcp_ws_driver::{
    BoxFuture, CallOptions, ConnectionEnded, ConnectionHandle, EventSink, HandlerResult,
    HandlerTasks, RequestContext, Runtime, spawn_connection,
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
    /// Every text frame the driver wrote (`Some`) and every flush after a write (`None`), in
    /// order: which frames left in one write.
    writes: Vec<Option<String>>,
    unflushed: bool,
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
        let mut wire = self.wire.lock().unwrap();
        if let WsMessage::Text(text) = &item {
            wire.writes.push(Some(text.as_str().to_string()));
        }
        wire.unflushed = true;
        wire.from_driver.push_back((now, item));
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let mut wire = self.wire.lock().unwrap();
        if std::mem::take(&mut wire.unflushed) {
            wire.writes.push(None);
        }
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

/// A 2026-07-28 server whose every request is handled by `answer` (through [`HandlerTasks`],
/// so inside the loop).
struct Handled<F> {
    clock: VirtualClock,
    tasks: HandlerTasks,
    answer: F,
}

impl<F> EventSink for Handled<F>
where
    F: Fn(IncomingRequest, RequestContext) -> BoxFuture<'static, HandlerResult> + Send + 'static,
{
    fn on_event(&mut self, event: Event, handle: &ConnectionHandle) {
        if let Event::Request(request) = event {
            let answer = &self.answer;
            self.tasks.start(&self.clock, handle, request, answer);
        }
    }
}

fn modern_server<F>(clock: &VirtualClock, answer: F) -> (ConnectionHandle, ConnectionEnded, Peer)
where
    F: Fn(IncomingRequest, RequestContext) -> BoxFuture<'static, HandlerResult> + Send + 'static,
{
    let info = Implementation { name: "srv".into(), version: "1".into(), ..Default::default() };
    let session = Session::new(quiet(SessionConfig::server(info)), clock.now()).unwrap();
    let (ws, peer) = pipe(clock);
    let sink = Handled { clock: clock.clone(), tasks: HandlerTasks::default(), answer };
    let (handle, ended) = spawn_connection(clock, ws, session, sink);
    (handle, ended, peer)
}

/// A 2026-07-28 request (with a progress token when `progress`).
fn modern_request(id: i64, method: &str, progress: bool) -> serde_json::Value {
    let mut meta = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    if progress {
        meta["progressToken"] = serde_json::json!("p");
    }
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {"_meta": meta}})
}

/// #20 bug 2: a handler that panics before it returns its future (as `ctx.state::<S>()` of a
/// state never shared does) is answered -32603, and the connection goes on.
#[test]
fn a_handler_panicking_before_its_future_is_answered_internal_error_and_the_connection_lives() {
    let clock = VirtualClock::default();
    let (_handle, _ended, peer) = modern_server(&clock, |request, _| {
        if request.method == "boom" {
            panic!("a handler bug before its first await");
        }
        Box::pin(async { Ok(RawJson::empty_object()) })
    });
    peer.send_json(modern_request(1, "boom", false));
    let (_, answer) = peer.next_json();
    assert_eq!((answer["id"].as_i64(), answer["error"]["code"].as_i64()), (Some(1), Some(-32603)));
    peer.send_json(modern_request(2, "fine", false));
    let (_, answer) = peer.next_json();
    assert_eq!(answer["id"].as_i64(), Some(2), "the connection died: {answer}");
    assert!(answer["result"].is_object(), "{answer}");
}

/// #20 bug 1: a handler that finishes while a close is queued (here: it queues the close
/// itself, then answers) gets its answer written before the close.
#[test]
fn a_finished_answer_is_written_before_a_close_queued_with_it() {
    let clock = VirtualClock::default();
    let (_handle, _ended, peer) = modern_server(&clock, |_, context| {
        let connection = context.connection().clone();
        Box::pin(async move {
            connection.close(CloseReason::new(CloseCode::NORMAL, "done"));
            Ok(RawJson::empty_object())
        })
    });
    peer.send_json(modern_request(1, "tools/list", false));
    match peer.next_frame().1 {
        WsMessage::Text(text) => {
            let answer: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            assert_eq!(answer["id"].as_i64(), Some(1), "{answer}");
            assert!(answer["result"].is_object(), "{answer}");
        }
        other => panic!("the answer was lost; the driver wrote {other:?} first"),
    }
    match peer.next_frame().1 {
        WsMessage::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected the close after the answer, got {other:?}"),
    }
}

/// #25 point 8: a request's progress leaves in a write (a flush) of its own before the result,
/// so a client that reads both at once (the TypeScript SDK drops the last report then) sees
/// the progress first.
#[test]
fn progress_is_flushed_in_a_write_before_the_result_of_its_request() {
    let clock = VirtualClock::default();
    let (_handle, _ended, peer) = modern_server(&clock, |_, context| {
        context.progress(1.0, Some(2.0), None);
        Box::pin(async move {
            context.progress(2.0, Some(2.0), Some("done".into()));
            Ok(RawJson::empty_object())
        })
    });
    peer.send_json(modern_request(1, "tools/list", true));
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let (_, frame) = peer.next_json();
        seen.push(frame);
    }
    assert_eq!(seen[0]["method"], "notifications/progress");
    assert_eq!(seen[1]["method"], "notifications/progress");
    assert_eq!(seen[1]["params"]["progress"], 2.0);
    assert_eq!(seen[2]["id"].as_i64(), Some(1));
    let writes = peer.wire.lock().unwrap().writes.clone();
    let last_progress = writes
        .iter()
        .rposition(|w| w.as_deref().is_some_and(|t| t.contains("notifications/progress")))
        .expect("progress written");
    let result = writes
        .iter()
        .position(|w| w.as_deref().is_some_and(|t| t.contains("\"result\"")))
        .expect("result written");
    assert!(
        writes[last_progress..result].contains(&None),
        "the last progress and the result left in one write: {writes:?}"
    );
}

/// #20 item 7: a connection whose application handles are all dropped closes with 1000.
#[test]
fn a_connection_whose_handles_are_all_dropped_closes_with_1000() {
    let clock = VirtualClock::default();
    let (handle, ended, peer) = ready_client(&clock);
    let clone = handle.clone();
    drop(handle);
    // One clone still held: the connection stays open and usable.
    let call = clone.request("tools/list", None, CallOptions::default());
    assert_eq!(peer.next_json().1["method"], "tools/list", "it sends while a clone is held");
    drop(call);
    assert_eq!(peer.next_json().1["method"], "notifications/cancelled");
    drop(clone);
    match peer.next_frame().1 {
        WsMessage::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected a 1000 close, got {other:?}"),
    }
    let end = futures_executor::block_on(ended);
    assert_eq!(end.reason.code, CloseCode::NORMAL, "{end:?}");
}
