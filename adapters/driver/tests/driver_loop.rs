//! The driver loop over an in-memory WebSocket, with the test playing the server by hand.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use futures_channel::{mpsc, oneshot};
use futures_util::{Sink, Stream, StreamExt};
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::session::{EraPolicy, Event, RequestOptions, Role, Session, SessionConfig};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{ProtocolVersion, RawJson};
use mcp_ws_driver::{CallError, ConnectionHandle, EventSink, Runtime, spawn_connection};

/// A runtime on OS threads: each task blocks a thread; sleeps are threads that wake a channel.
#[derive(Clone)]
struct ThreadRuntime {
    epoch: std::time::Instant,
}

impl Runtime for ThreadRuntime {
    type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn now(&self) -> Instant {
        Instant::from_nanos(self.epoch.elapsed().as_nanos() as u64)
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        let wait = Duration::from_nanos(deadline.as_nanos().saturating_sub(self.now().as_nanos()));
        let (wake, done) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(wait.min(Duration::from_secs(5)));
            let _ = wake.send(());
        });
        Box::pin(async move {
            let _ = done.await;
        })
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        std::thread::spawn(move || futures_executor::block_on(task));
    }
}

/// One end of an in-memory WebSocket.
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

struct Ignore;
impl EventSink for Ignore {
    fn on_event(&mut self, _: Event, _: &ConnectionHandle) {}
}

struct Peer {
    to_driver: mpsc::UnboundedSender<Result<WsMessage, WsError>>,
    from_driver: mpsc::UnboundedReceiver<WsMessage>,
}

impl Peer {
    fn next_json(&mut self) -> serde_json::Value {
        loop {
            let message =
                futures_executor::block_on(self.from_driver.next()).expect("driver alive");
            if let WsMessage::Text(text) = message {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    fn send(&self, value: serde_json::Value) {
        self.to_driver.unbounded_send(Ok(WsMessage::text(value.to_string()))).unwrap();
    }
}

fn legacy_client() -> (ConnectionHandle, Peer) {
    let runtime = ThreadRuntime { epoch: std::time::Instant::now() };
    let info =
        Implementation { name: "driver-test".into(), version: "1".into(), ..Default::default() };
    let mut config = SessionConfig::client(info);
    config.role = Role::Client {
        capabilities: Default::default(),
        era: EraPolicy::Legacy(ProtocolVersion::V2025_11_25),
    };
    let session = Session::new(config, runtime.now()).unwrap();
    let (to_driver, inbound) = mpsc::unbounded();
    let (outbound, from_driver) = mpsc::unbounded();
    let (handle, _ended) = spawn_connection(&runtime, Pipe { inbound, outbound }, session, Ignore);
    let mut peer = Peer { to_driver, from_driver };
    let init = peer.next_json();
    assert_eq!(init["method"], "initialize");
    peer.send(serde_json::json!({"jsonrpc":"2.0","id":init["id"],"result":{
        "protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"hand","version":"1"}}}));
    assert_eq!(peer.next_json()["method"], "notifications/initialized");
    (handle, peer)
}

#[test]
fn a_request_resolves_with_the_result_the_peer_sent() {
    let (handle, mut peer) = legacy_client();
    let params = RawJson::from_string(r#"{"name":"add"}"#.into()).unwrap();
    let call = handle.request("tools/call", Some(params), RequestOptions::default());
    let (answer_tx, answer_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || answer_tx.send(futures_executor::block_on(call)).unwrap());
    let request = peer.next_json();
    assert_eq!(
        (request["method"].as_str(), request["params"]["name"].as_str()),
        (Some("tools/call"), Some("add"))
    );
    peer.send(serde_json::json!({"jsonrpc":"2.0","id":request["id"],"result":{"content":[]}}));
    let result = answer_rx.recv_timeout(Duration::from_secs(5)).expect("the call resolves");
    assert_eq!(result.unwrap().get(), r#"{"content":[]}"#);
}

#[test]
fn dropping_a_request_future_sends_a_cancellation() {
    let (handle, mut peer) = legacy_client();
    let call = handle.request("tools/call", None, RequestOptions::default());
    let request = peer.next_json();
    drop(call);
    let cancelled = peer.next_json();
    assert_eq!(cancelled["method"], "notifications/cancelled");
    assert_eq!(cancelled["params"]["requestId"], request["id"]);
}

#[test]
fn a_lost_transport_fails_pending_calls_as_disconnected() {
    let (handle, mut peer) = legacy_client();
    let call = handle.request("tools/call", None, RequestOptions::default());
    let _ = peer.next_json();
    drop(peer);
    let result = futures_executor::block_on(call);
    assert_eq!(result, Err(CallError::Disconnected));
}
