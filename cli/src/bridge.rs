//! `mcp-ws connect URL`: a stdio MCP client's messages (newline-delimited JSON-RPC on stdin and
//! stdout) bridged to a WebSocket MCP server, with keepalive and auto-reconnect.
//!
//! Messages pass through with ids untouched. The bridge remembers what a cut would otherwise
//! lose:
//! - the client's `initialize` params: after a reconnect in the legacy era the bridge sends its
//!   own `initialize` (id `mcp-ws-bridge-reinit-N`) and `notifications/initialized`, swallows
//!   the answer, and only then forwards the client's queued messages, so the client never
//!   notices;
//! - the client's requests in flight: each gets a JSON-RPC error (-32000) when the connection
//!   is lost, never silence;
//! - the server's requests in flight: answers to them from the client after a cut are dropped
//!   (the new session never asked).
//!
//! Messages the client writes while disconnected wait for the next connection. Reconnecting
//! follows the core's backoff; when it gives up, every waiting request gets an error and the
//! bridge exits with a failure status. When the client closes stdin, the bridge waits for the
//! answers it still owes (at most [`DRAIN_AFTER_EOF`]) and exits.

use std::collections::{HashSet, VecDeque};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::Message as WsMessage;
use mcp_ws_driver::core::codec::{self, Frame, FrameError, Limits};
use mcp_ws_driver::core::mcp::methods;
use mcp_ws_driver::core::message::{ErrorObject, ErrorResponse, Message, Notification, Request};
use mcp_ws_driver::core::reconnect::{Failure, Reconnect, ReconnectAction, ReconnectConfig};
use mcp_ws_driver::core::{ProtocolVersion, RawJson, RequestId};
use mcp_ws_driver::dial::{DialError, Dialed, SubprotocolMemory, dial};
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_driver::{BoxFuture, Runtime};
use mcp_ws_tokio::Tokio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::args::ConnectArgs;
use crate::ws_io::{self, Keepalive, KeepaliveCheck, Ws};

/// The error code a client's request gets when its connection is lost.
pub const CONNECTION_LOST: i64 = -32000;

/// How long the bridge still waits for owed answers after the client closed stdin.
pub const DRAIN_AFTER_EOF: Duration = Duration::from_secs(10);

/// The id prefix of the bridge's own `initialize` requests.
pub const REINIT_PREFIX: &str = "mcp-ws-bridge-reinit-";

/// Everything the bridge remembers across connections.
struct Bridge {
    limits: Limits,
    /// The client's `initialize` params, once it sent them.
    initialize: Option<Option<RawJson>>,
    /// The id of the client's own `initialize`, to see its answer.
    initialize_id: Option<RequestId>,
    /// Whether the client's own `initialize` has been answered (so later sessions need a
    /// re-initialize on its behalf).
    initialized: bool,
    /// The id of the bridge's own pending `initialize`, if one is in flight.
    reinit: Option<RequestId>,
    reinit_count: u64,
    /// The client's requests in flight on the current connection.
    client_pending: HashSet<RequestId>,
    /// The server's requests in flight on the current connection.
    server_pending: HashSet<RequestId>,
    /// Client messages waiting for a (ready) connection.
    outbox: VecDeque<String>,
}

/// Runs the bridge until stdin closes (exit 0) or reconnecting gives up (exit 1).
pub async fn run(args: &ConnectArgs) -> Result<ExitCode, String> {
    let endpoint = args.auth.endpoint(&args.url)?;
    let net = Tokio::new();
    let memory = Arc::new(SubprotocolMemory::default());
    let limits = Limits::default();
    let reconnect_config = ReconnectConfig {
        max_attempts: (args.max_attempts > 0).then_some(args.max_attempts),
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
        ..ReconnectConfig::default()
    };
    let seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    let mut machine =
        Reconnect::new(reconnect_config, seed, net.now()).map_err(|e| e.to_string())?;
    machine.start(net.now()).map_err(|e| e.to_string())?;

    let (line_sender, mut lines) = mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = stdin.next_line().await {
            if line_sender.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut stdout = tokio::io::stdout();
    let mut bridge = Bridge {
        limits,
        initialize: None,
        initialize_id: None,
        initialized: false,
        reinit: None,
        reinit_count: 0,
        client_pending: HashSet::new(),
        server_pending: HashSet::new(),
        outbox: VecDeque::new(),
    };
    let ping = Duration::from_secs(args.ping_interval.max(1));
    let idle = Duration::from_secs(args.idle_timeout.max(2));
    let mut ws: Option<Ws> = None;
    let mut dialing: Option<
        BoxFuture<'static, Result<Dialed<TokioAdapter<TcpStream>>, DialError>>,
    > = None;
    let mut keepalive = Keepalive::new(Some(ping), Some(idle));
    let mut ticker = tokio::time::interval(keepalive.check_every());
    let mut stdin_open = true;
    let mut stdin_closed_at: Option<tokio::time::Instant> = None;

    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                ReconnectAction::Dial { attempt } => {
                    tracing::info!(attempt, url = %endpoint.url(), "dialing");
                    let (net, endpoint, memory) = (net.clone(), endpoint.clone(), memory.clone());
                    dialing = Some(Box::pin(async move {
                        dial(
                            &net,
                            &endpoint,
                            ProtocolVersion::LATEST_LEGACY,
                            &memory,
                            websocket_config(limits.max_message_bytes),
                            Duration::from_secs(10),
                        )
                        .await
                    }));
                }
                ReconnectAction::GiveUp { reason, last_error } => {
                    tracing::error!(?reason, ?last_error, "giving up reconnecting");
                    bridge.fail_everything(&mut stdout, "the bridge gave up reconnecting").await;
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        // Once stdin has closed, answers still owed are waited for, but not for ever.
        let drained = bridge.client_pending.is_empty() && bridge.outbox.is_empty();
        let waited_enough = stdin_closed_at.is_some_and(|at| at.elapsed() >= DRAIN_AFTER_EOF);
        if !stdin_open && (drained || waited_enough) {
            if let Some(mut open) = ws.take() {
                let _ = ws_io::close(&mut open).await;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let reconnect_at = machine.poll_timeout();
        let reconnect_sleep = async {
            match reconnect_at {
                Some(at) => net.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(line) => bridge.on_client_line(&line, &mut ws, &mut stdout).await,
                None => {
                    stdin_open = false;
                    stdin_closed_at = Some(tokio::time::Instant::now());
                }
            },
            frame = async { ws.as_mut().expect("guarded").next().await }, if ws.is_some() => {
                keepalive.inbound();
                let lost = match frame {
                    Some(Ok(WsMessage::Text(text))) => {
                        bridge.on_server_frame(text.as_str(), ws.as_mut().expect("open"), &mut stdout).await;
                        None
                    }
                    Some(Ok(WsMessage::Close(frame))) => Some(format!("the server closed: {frame:?}")),
                    Some(Ok(WsMessage::Binary(_))) => Some("the server sent a binary frame".to_string()),
                    Some(Ok(_)) => None,
                    Some(Err(error)) => Some(error.to_string()),
                    None => Some("the connection ended".to_string()),
                };
                if let Some(why) = lost {
                    tracing::warn!("connection lost: {why}");
                    ws = None;
                    bridge.on_cut(&mut stdout).await;
                    let _ = machine.on_disconnected(net.now(), Failure::Transport(why));
                }
            }
            dialed = async { dialing.as_mut().expect("guarded").await }, if dialing.is_some() => {
                dialing = None;
                match dialed {
                    Ok(dialed) => {
                        tracing::info!(subprotocol = ?dialed.subprotocol, "connected");
                        let _ = machine.on_connected(net.now());
                        let mut open = dialed.ws;
                        keepalive.inbound();
                        if bridge.on_connected(&mut open).await.is_ok() {
                            ws = Some(open);
                        } else {
                            let _ = machine.on_disconnected(net.now(), Failure::Transport("send failed".into()));
                        }
                    }
                    Err(error) => {
                        tracing::warn!("dial failed: {error}");
                        let _ = machine.on_dial_failed(net.now(), error.to_failure());
                    }
                }
            }
            _ = reconnect_sleep => machine.handle_timeout(net.now()),
            _ = ticker.tick(), if ws.is_some() => match keepalive.check() {
                KeepaliveCheck::Dead => {
                    tracing::warn!("no frame from the server within {idle:?}; reconnecting");
                    if let Some(mut open) = ws.take() {
                        ws_io::close(&mut open).await;
                    }
                    bridge.on_cut(&mut stdout).await;
                    let _ = machine.on_disconnected(net.now(), Failure::Transport("idle timeout".into()));
                }
                KeepaliveCheck::Ping => {
                    let open = ws.as_mut().expect("guarded");
                    let _ = ws_io::send(open, WsMessage::Ping(Default::default())).await;
                }
                KeepaliveCheck::Quiet => {}
            },
        }
    }
}

/// Writes one message to the stdio client as one line (a server may send pretty-printed JSON;
/// newlines inside it would split the message).
async fn write_line(stdout: &mut tokio::io::Stdout, line: &str) {
    let line = codec::single_line(line);
    let _ = stdout.write_all(line.as_bytes()).await;
    let _ = stdout.write_all(b"\n").await;
    let _ = stdout.flush().await;
}

impl Bridge {
    /// One line from the stdio client.
    async fn on_client_line(
        &mut self,
        line: &str,
        ws: &mut Option<Ws>,
        stdout: &mut tokio::io::Stdout,
    ) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let message = match codec::decode(line, &self.limits) {
            Ok(Frame::Single(message)) => message,
            Ok(Frame::Batch(_)) => {
                // Batches pass through as they are; their ids are not tracked.
                self.send_or_queue(line.to_string(), ws).await;
                return;
            }
            Err(FrameError::Reply(error)) => {
                write_line(stdout, &codec::encode(&Message::Error(error))).await;
                return;
            }
            Err(FrameError::Close(reason)) => {
                tracing::warn!("dropping a client message: {}", reason.reason);
                return;
            }
        };
        match &message {
            Message::Request(request) => {
                if request.method == methods::INITIALIZE {
                    self.initialize = Some(request.params.clone());
                    self.initialize_id = Some(request.id.clone());
                }
                self.client_pending.insert(request.id.clone());
            }
            Message::Result(response) => {
                if !self.server_pending.remove(&response.id) {
                    tracing::debug!(id = %response.id, "dropping an answer to a request from an earlier connection");
                    return;
                }
            }
            Message::Error(response) => {
                if let Some(id) = &response.id {
                    if !self.server_pending.remove(id) {
                        return;
                    }
                }
            }
            Message::Notification(_) => {}
        }
        self.send_or_queue(codec::encode(&message), ws).await;
    }

    async fn send_or_queue(&mut self, text: String, ws: &mut Option<Ws>) {
        match ws {
            Some(open) if self.reinit.is_none() => {
                if ws_io::send(open, WsMessage::text(text.clone())).await.is_err() {
                    self.outbox.push_back(text);
                }
            }
            _ => self.outbox.push_back(text),
        }
    }

    /// One text frame from the server.
    async fn on_server_frame(&mut self, text: &str, ws: &mut Ws, stdout: &mut tokio::io::Stdout) {
        let message = match codec::decode(text, &self.limits) {
            Ok(Frame::Single(message)) => message,
            Ok(Frame::Batch(_)) | Err(_) => {
                // Pass anything else through; the client judges it.
                write_line(stdout, text).await;
                return;
            }
        };
        match &message {
            Message::Result(response) if Some(&response.id) == self.reinit.as_ref() => {
                self.reinit = None;
                tracing::info!("re-initialized on the client's behalf");
                let initialized = Notification::new(methods::NOTIFICATIONS_INITIALIZED, None);
                let _ = ws
                    .send(WsMessage::text(codec::encode(&Message::Notification(initialized))))
                    .await;
                self.flush(ws).await;
                return;
            }
            Message::Error(response) if response.id.is_some() && response.id == self.reinit => {
                tracing::error!(error = %response.error.message, "the server refused the re-initialize");
                self.reinit = None;
                self.flush(ws).await;
                return;
            }
            Message::Result(response) => {
                self.client_pending.remove(&response.id);
                if self.initialize_id.as_ref() == Some(&response.id) {
                    self.initialized = true;
                }
            }
            Message::Error(response) => {
                if let Some(id) = &response.id {
                    self.client_pending.remove(id);
                }
            }
            Message::Request(request) => {
                self.server_pending.insert(request.id.clone());
            }
            Message::Notification(_) => {}
        }
        write_line(stdout, text).await;
    }

    /// A new connection is up: re-initialize if the client had, then flush the outbox.
    async fn on_connected(&mut self, ws: &mut Ws) -> Result<(), ()> {
        if let (true, Some(params)) = (self.initialized, self.initialize.clone()) {
            self.reinit_count += 1;
            let id = RequestId::String(format!("{REINIT_PREFIX}{}", self.reinit_count));
            let request = Request {
                id: id.clone(),
                method: methods::INITIALIZE.to_string(),
                params,
                extensions: Default::default(),
            };
            ws_io::send(ws, WsMessage::text(codec::encode(&Message::Request(request))))
                .await
                .map_err(|_| ())?;
            self.reinit = Some(id);
            return Ok(());
        }
        self.flush(ws).await;
        Ok(())
    }

    async fn flush(&mut self, ws: &mut Ws) {
        while let Some(text) = self.outbox.pop_front() {
            if ws_io::send(ws, WsMessage::text(text.clone())).await.is_err() {
                self.outbox.push_front(text);
                return;
            }
        }
    }

    /// The connection was lost: every request of the client in flight gets an error.
    async fn on_cut(&mut self, stdout: &mut tokio::io::Stdout) {
        self.reinit = None;
        self.server_pending.clear();
        let lost: Vec<RequestId> = self.client_pending.drain().collect();
        for id in lost {
            write_line(
                stdout,
                &connection_lost(id, "the connection to the server was lost; retry the request"),
            )
            .await;
        }
    }

    async fn fail_everything(&mut self, stdout: &mut tokio::io::Stdout, why: &str) {
        self.on_cut(stdout).await;
        for text in self.outbox.drain(..) {
            if let Ok(Frame::Single(Message::Request(request))) = codec::decode(&text, &self.limits)
            {
                write_line(stdout, &connection_lost(request.id, why)).await;
            }
        }
    }
}

fn connection_lost(id: RequestId, why: &str) -> String {
    let error = ErrorObject { code: CONNECTION_LOST, message: why.to_string(), data: None };
    codec::encode(&Message::Error(ErrorResponse {
        id: Some(id),
        error,
        extensions: Default::default(),
    }))
}
