//! `mcp-ws connect URL`: a stdio MCP client's messages (newline-delimited JSON-RPC on stdin and
//! stdout) bridged to a WebSocket MCP server (`ws(s)://`) or a Streamable HTTP one
//! (`http(s)://`, through the driver's HTTP client pipe), with keepalive and auto-reconnect.
//!
//! Everything the bridge decides (which answers it owes, what waits for the next connection,
//! the re-initialize after a reconnect, keepalive, backoff, when to exit) is the core's
//! [`Bridge`] machine; its docs state the rules. This module only moves bytes: stdin lines in,
//! stdout lines out, WebSocket frames both ways (every write bounded in time by the driver's
//! [`write_by`], closes through
//! [`close_handshake`]), dials, and one timer.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::{Bytes, Message as WsMessage};
use mcp_ws_driver::client::{ClientIo, IoSettings, open_endpoint};
use mcp_ws_driver::core::bridge::{Bridge, BridgeAction, BridgeConfig, BridgeEvent, BridgeExit};
use mcp_ws_driver::core::reconnect::{Failure, ReconnectConfig};
use mcp_ws_driver::core::{CloseReason, ProtocolVersion};
use mcp_ws_driver::dial::{DialError, SubprotocolMemory};
use mcp_ws_driver::ws_io::{Inbound, classify, close_handshake, sleep_until_deadline, write_by};
use mcp_ws_driver::{BoxFuture, Runtime};
use mcp_ws_tokio::Tokio;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::args::ConnectArgs;
use crate::ws_io::{BoundedLines, Line, write_line};

/// The connection to the server: a WebSocket, or the Streamable HTTP pipe.
type Ws = ClientIo<TokioAdapter<TcpStream>>;

pub use mcp_ws_driver::core::bridge::{CONNECTION_LOST, REINIT_PREFIX};

/// How long a close handshake with the server may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The settings of the bridge machine for `args`.
pub fn bridge_config(args: &ConnectArgs) -> BridgeConfig {
    let defaults = BridgeConfig::default();
    let mut config = BridgeConfig::default();
    config.reconnect = ReconnectConfig {
        max_attempts: (args.max_attempts > 0).then_some(args.max_attempts),
        ..defaults.reconnect
    };
    config.jitter_seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    config.ping_interval =
        (args.ping_interval > 0).then(|| Duration::from_secs(args.ping_interval));
    config.idle_timeout = (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout));
    config
}

/// Runs the bridge until stdin closes (exit 0) or reconnecting gives up (exit 1).
pub async fn run(args: &ConnectArgs) -> Result<ExitCode, String> {
    let endpoint = args.auth.endpoint(&args.url)?;
    let net = Tokio::new();
    let memory = Arc::new(SubprotocolMemory::default());
    let config = bridge_config(args);
    let limits = config.limits;
    let write_timeout = config.idle_timeout.unwrap_or(Duration::from_secs(60));
    let mut bridge = Bridge::new(config, net.now()).map_err(|e| e.to_string())?;

    // Lines over the message limit are discarded while reading (`None` stands for one).
    let (line_sender, mut lines) = mpsc::channel::<Option<String>>(64);
    let max_line = limits.max_message_bytes;
    tokio::spawn(async move {
        let mut stdin = BoundedLines::new(BufReader::new(tokio::io::stdin()), max_line);
        while let Ok(Some(line)) = stdin.next_line().await {
            let line = match line {
                Line::Text(text) => Some(String::from_utf8_lossy(text).into_owned()),
                Line::TooLong => None,
            };
            if line_sender.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut stdout = tokio::io::stdout();
    let mut ws: Option<Ws> = None;
    let mut dialing: Option<BoxFuture<'static, Result<Ws, DialError>>> = None;
    let mut stdin_open = true;

    loop {
        // 1. Perform what the machine asks, in order; frames are fed, then flushed once.
        let deadline = net.now() + write_timeout;
        let mut fed = false;
        let mut lost: Option<String> = None;
        while let Some(action) = bridge.poll_action() {
            match action {
                BridgeAction::WriteClient(line) => {
                    if let Err(failed) = write_line(&mut stdout, &line, write_timeout).await {
                        tracing::error!("cannot write to stdout ({failed}); exiting");
                        return Ok(ExitCode::FAILURE);
                    }
                }
                action @ (BridgeAction::SendServer(_) | BridgeAction::SendPing) => {
                    let message = match action {
                        BridgeAction::SendServer(text) => WsMessage::text(text),
                        _ => WsMessage::Ping(Bytes::new()),
                    };
                    if let (Some(open), None) = (ws.as_mut(), &lost) {
                        match write_by(&net, deadline, open.feed(message)).await {
                            Ok(()) => fed = true,
                            Err(failed) => lost = Some(failed.to_string()),
                        }
                    }
                }
                BridgeAction::Dial { attempt } => {
                    tracing::info!(attempt, url = %endpoint.url(), "dialing");
                    let (net, endpoint, memory) = (net.clone(), endpoint.clone(), memory.clone());
                    let mut how = IoSettings::default();
                    how.preferred = ProtocolVersion::LATEST_LEGACY;
                    how.max_message_bytes = limits.max_message_bytes;
                    how.connect_timeout = Duration::from_secs(10);
                    dialing = Some(Box::pin(open_endpoint(net, endpoint, memory, how)));
                }
                BridgeAction::CloseServer(reason) => {
                    if let Some(open) = ws.take() {
                        close_in_background(&net, open, Some(reason));
                    }
                    lost = None;
                    fed = false;
                }
                BridgeAction::Event(event) => log_event(&event),
                BridgeAction::Exit(exit) => {
                    let _ = stdout.flush().await;
                    return Ok(match exit {
                        BridgeExit::Done => ExitCode::SUCCESS,
                        BridgeExit::GaveUp => ExitCode::FAILURE,
                    });
                }
            }
        }
        if let (true, None, Some(open)) = (fed, &lost, ws.as_mut()) {
            if let Err(failed) = write_by(&net, deadline, open.flush()).await {
                lost = Some(failed.to_string());
            }
        }
        if let Some(why) = lost {
            ws = None;
            bridge.handle_connection_lost(net.now(), Failure::Transport(why));
            continue;
        }
        // 2. Timers first: a busy socket or a chatty client never postpones them.
        let next = bridge.poll_timeout();
        if next.is_some_and(|at| net.now() >= at) {
            bridge.handle_timeout(net.now());
            continue;
        }
        // 3. Wait for the next input.
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(Some(line)) => bridge.handle_client_line(net.now(), &line),
                Some(None) => bridge.handle_client_line_too_long(),
                None => {
                    stdin_open = false;
                    bridge.handle_client_eof(net.now());
                }
            },
            read = async { ws.as_mut().expect("guarded").next().await }, if ws.is_some() => {
                let now = net.now();
                match classify(&read) {
                    Inbound::Payload(payload) => bridge.handle_server_payload(now, payload),
                    Inbound::Activity => bridge.handle_server_activity(now),
                    Inbound::PeerClosed(reason) => {
                        // The library has queued its answer to the close; let it go out.
                        if let Some(open) = ws.take() {
                            close_in_background(&net, open, None);
                        }
                        let why = match reason {
                            Some(reason) => format!("the server closed ({reason})"),
                            None => "the server closed".to_string(),
                        };
                        bridge.handle_connection_lost(now, Failure::Transport(why));
                    }
                    Inbound::Violation(reason) => {
                        if let Some(open) = ws.take() {
                            close_in_background(&net, open, Some(reason.clone()));
                        }
                        bridge.handle_connection_lost(now, Failure::Transport(reason.to_string()));
                    }
                    Inbound::Lost(why) => {
                        ws = None;
                        bridge.handle_connection_lost(now, Failure::Transport(why));
                    }
                }
            }
            dialed = async { dialing.as_mut().expect("guarded").await }, if dialing.is_some() => {
                dialing = None;
                match dialed {
                    Ok(dialed) => {
                        tracing::info!("connected");
                        ws = Some(dialed);
                        bridge.handle_connected(net.now());
                    }
                    Err(error) => {
                        // The error names the cause (and the server's refusal text, if any).
                        tracing::warn!("dial failed: {error}");
                        bridge.handle_dial_failed(net.now(), error.to_failure());
                    }
                }
            }
            _ = sleep_until_deadline(&net, next) => bridge.handle_timeout(net.now()),
        }
        // A dial the machine no longer waits for (it exited or gave up) is abandoned.
        if bridge.is_finished() {
            dialing = None;
        }
    }
}

/// Closes a connection the bridge is done with, without holding up the loop: our close frame
/// and then the server's answer, or (`None`) the library's answer to the server's close;
/// bounded by [`CLOSE_TIMEOUT`].
fn close_in_background(net: &Tokio, mut open: Ws, reason: Option<CloseReason>) {
    let net = net.clone();
    tokio::spawn(async move {
        let deadline = net.now() + CLOSE_TIMEOUT;
        match reason {
            Some(reason) => {
                close_handshake(&net, &mut open, Some(reason), deadline).await;
            }
            None => {
                // Sends the library's answer to the server's close frame (a flush: sending a
                // close of our own after the peer's is refused).
                let _ = write_by(&net, deadline, open.flush()).await;
            }
        }
    });
}

fn log_event(event: &BridgeEvent) {
    match event {
        BridgeEvent::Connected => tracing::info!("connected to the server"),
        BridgeEvent::DialFailed(failure) => tracing::debug!("dial failed: {failure}"),
        BridgeEvent::Lost { failure, answered } => {
            tracing::warn!(answered, "connection lost: {failure}")
        }
        BridgeEvent::Reinitialized => tracing::info!("re-initialized on the client's behalf"),
        BridgeEvent::DroppedServerFrame(why) => tracing::warn!("not passed to the client: {why}"),
        BridgeEvent::DroppedClientMessage(why) => {
            tracing::warn!("not passed to the server: {why}")
        }
        BridgeEvent::GaveUp { reason, last_error } => {
            tracing::error!(?reason, ?last_error, "giving up reconnecting")
        }
        other => tracing::info!(?other, "bridge event"),
    }
}
