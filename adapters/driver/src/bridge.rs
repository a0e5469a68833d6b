//! The stdio bridge (`mcp-ws connect URL`): a stdio MCP client's messages (newline-delimited
//! JSON-RPC on any byte pipes: the process's stdin and stdout, or an in-memory pair) carried to
//! a WebSocket MCP server (`ws(s)://`) or a Streamable HTTP one (`http(s)://`, through the
//! client's HTTP pipe), with keepalive and auto-reconnect.
//!
//! Everything the bridge decides (which answers it owes, what waits for the next connection,
//! the re-initialize after a reconnect, keepalive, backoff, when to exit) is the core's
//! [`Bridge`] machine; its docs state the rules. [`run`] only moves bytes: client lines in
//! ([`BoundedLines`], never more than the message limit of one line held), client lines out
//! ([`write_line`], bounded in time), frames both ways (every write bounded by
//! [`write_by`], closes through [`close_handshake`]), dials, and one timer. It is generic over
//! the runtime: the tokio and smol adapters run the same loop.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_tungstenite::tungstenite::{Bytes, Error as WsError, Message as WsMessage};
use futures_util::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use futures_util::{FutureExt, SinkExt, StreamExt};
use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::bridge::{Bridge, BridgeAction, BridgeConfig, BridgeEvent, BridgeExit};
use mcp_ws_core::reconnect::{Failure, ReconnectError};
use mcp_ws_core::{CloseReason, time::Instant};

use crate::client::{ClientIo, IoSettings, open_endpoint};
use crate::dial::{DialError, Endpoint, SubprotocolMemory};
use crate::lines::{BoundedLines, Line, LineWriteFailed, write_line};
use crate::runtime::{BoxFuture, Network};
use crate::ws_io::{Inbound, classify, close_handshake, sleep_until_deadline, write_by};

/// The default [`BridgeSettings::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default [`BridgeSettings::close_timeout`].
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one write may take when the machine has no idle timeout.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The settings of one bridge: the machine's, and how the loop dials and closes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BridgeSettings {
    /// The core machine's settings (limits, keepalive, reconnect, queue bounds).
    pub machine: BridgeConfig,
    /// How long one dial (TCP, TLS, the WebSocket upgrade) may take.
    pub connect_timeout: Duration,
    /// How long a close handshake with the server may take (it runs in the background).
    pub close_timeout: Duration,
    /// The version offered first in the WebSocket subprotocol (the client's own `initialize`
    /// chooses the session's version; the legacy one by default, which every server speaks).
    pub preferred: ProtocolVersion,
}

impl BridgeSettings {
    /// `machine` with the default dial and close timeouts.
    pub fn new(machine: BridgeConfig) -> Self {
        BridgeSettings {
            machine,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            preferred: ProtocolVersion::LATEST_LEGACY,
        }
    }
}

/// Why a bridge stopped other than by its machine's decision.
#[derive(Debug)]
#[non_exhaustive]
pub enum BridgeError {
    /// The machine's settings are invalid.
    Config(ReconnectError),
    /// The client's output could not be written (it closed it, or stopped reading).
    ClientOutput(LineWriteFailed),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Config(error) => write!(f, "invalid bridge settings: {error}"),
            BridgeError::ClientOutput(error) => write!(f, "cannot write to the client: {error}"),
        }
    }
}

impl std::error::Error for BridgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BridgeError::Config(error) => Some(error),
            BridgeError::ClientOutput(error) => Some(error),
        }
    }
}

/// What woke the loop.
enum Woke<S> {
    Line(std::io::Result<Option<Option<String>>>),
    Read(Option<Result<WsMessage, WsError>>),
    Dialed(Result<ClientIo<S>, DialError>),
    Timer,
}

/// Bridges the client on `input` / `output` to `endpoint` until the client closes its input
/// and every answer owed was given ([`BridgeExit::Done`]) or reconnecting gives up
/// ([`BridgeExit::GaveUp`]).
pub async fn run<N, I, O>(
    net: N,
    endpoint: Endpoint,
    settings: BridgeSettings,
    input: I,
    mut output: O,
) -> Result<BridgeExit, BridgeError>
where
    N: Network,
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let memory = Arc::new(SubprotocolMemory::default());
    let limits = settings.machine.limits;
    let write_timeout = settings.machine.idle_timeout.unwrap_or(DEFAULT_WRITE_TIMEOUT);
    let mut bridge =
        Bridge::new(settings.machine.clone(), net.now()).map_err(BridgeError::Config)?;
    // Lines over the message limit are discarded while reading.
    let mut lines = BoundedLines::new(BufReader::new(input), limits.max_message_bytes);
    let mut ws: Option<ClientIo<N::Stream>> = None;
    let mut dialing: Option<BoxFuture<'static, Result<ClientIo<N::Stream>, DialError>>> = None;
    let mut input_open = true;

    loop {
        // 1. Perform what the machine asks, in order; frames are fed, then flushed once.
        let deadline = net.now() + write_timeout;
        let mut fed = false;
        let mut lost: Option<String> = None;
        while let Some(action) = bridge.poll_action() {
            match action {
                BridgeAction::WriteClient(line) => {
                    let by = net.now() + write_timeout;
                    write_line(&net, &mut output, &line, by)
                        .await
                        .map_err(BridgeError::ClientOutput)?;
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
                    let how = IoSettings {
                        preferred: settings.preferred,
                        max_message_bytes: limits.max_message_bytes,
                        connect_timeout: settings.connect_timeout,
                        ..IoSettings::default()
                    };
                    dialing = Some(Box::pin(open_endpoint(net, endpoint, memory, how)));
                }
                BridgeAction::CloseServer(reason) => {
                    if let Some(open) = ws.take() {
                        close_in_background(&net, open, Some(reason), settings.close_timeout);
                    }
                    lost = None;
                    fed = false;
                }
                BridgeAction::Event(event) => log_event(&event),
                BridgeAction::Exit(exit) => {
                    let _ = output.flush().await;
                    return Ok(exit);
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
        // 3. Wait for the next input. Reading a line is cancel-safe: a partial one is kept.
        let woke = {
            let mut line = std::pin::pin!(async {
                lines.next_line().await.map(|line| {
                    line.map(|line| match line {
                        Line::Text(text) => Some(String::from_utf8_lossy(text).into_owned()),
                        Line::TooLong => None,
                    })
                })
            });
            let mut timer = std::pin::pin!(sleep_until_deadline(&net, next));
            std::future::poll_fn(|cx| {
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Woke::Timer);
                }
                if let Some(open) = ws.as_mut() {
                    if let Poll::Ready(read) = open.poll_next_unpin(cx) {
                        return Poll::Ready(Woke::Read(read));
                    }
                }
                if let Some(dial) = dialing.as_mut() {
                    if let Poll::Ready(dialed) = dial.poll_unpin(cx) {
                        return Poll::Ready(Woke::Dialed(dialed));
                    }
                }
                if input_open {
                    if let Poll::Ready(read) = line.as_mut().poll(cx) {
                        return Poll::Ready(Woke::Line(read));
                    }
                }
                Poll::Pending
            })
            .await
        };
        let now = net.now();
        match woke {
            Woke::Timer => bridge.handle_timeout(now),
            Woke::Line(Ok(Some(Some(line)))) => bridge.handle_client_line(now, &line),
            Woke::Line(Ok(Some(None))) => bridge.handle_client_line_too_long(),
            Woke::Line(Ok(None) | Err(_)) => {
                input_open = false;
                bridge.handle_client_eof(now);
            }
            Woke::Read(read) => match classify(&read) {
                Inbound::Payload(payload) => bridge.handle_server_payload(now, payload),
                Inbound::Activity => bridge.handle_server_activity(now),
                Inbound::PeerClosed(reason) => {
                    // The library has queued its answer to the close; let it go out.
                    if let Some(open) = ws.take() {
                        close_in_background(&net, open, None, settings.close_timeout);
                    }
                    let why = match reason {
                        Some(reason) => format!("the server closed ({reason})"),
                        None => "the server closed".to_string(),
                    };
                    bridge.handle_connection_lost(now, Failure::Transport(why));
                }
                Inbound::Violation(reason) => {
                    let why = reason.to_string();
                    if let Some(open) = ws.take() {
                        close_in_background(&net, open, Some(reason), settings.close_timeout);
                    }
                    bridge.handle_connection_lost(now, Failure::Transport(why));
                }
                Inbound::Lost(why) => {
                    ws = None;
                    bridge.handle_connection_lost(now, Failure::Transport(why));
                }
            },
            Woke::Dialed(dialed) => {
                dialing = None;
                match dialed {
                    Ok(dialed) => {
                        tracing::info!("connected");
                        ws = Some(dialed);
                        bridge.handle_connected(now);
                    }
                    Err(error) => {
                        // The error names the cause (and the server's refusal text, if any).
                        tracing::warn!("dial failed: {error}");
                        bridge.handle_dial_failed(now, error.to_failure());
                    }
                }
            }
        }
        // A dial the machine no longer waits for (it exited or gave up) is abandoned.
        if bridge.is_finished() {
            dialing = None;
        }
    }
}

/// Closes a connection the bridge is done with, without holding up the loop: our close frame
/// and then the server's answer, or (`None`) the library's answer to the server's close;
/// bounded by `timeout`.
fn close_in_background<N: Network>(
    net: &N,
    mut open: ClientIo<N::Stream>,
    reason: Option<CloseReason>,
    timeout: Duration,
) {
    let runtime = net.clone();
    net.spawn(async move {
        let deadline: Instant = runtime.now() + timeout;
        match reason {
            Some(reason) => {
                close_handshake(&runtime, &mut open, Some(reason), deadline).await;
            }
            None => {
                // Sends the library's answer to the server's close frame (a flush: sending a
                // close of our own after the peer's is refused).
                let _ = write_by(&runtime, deadline, open.flush()).await;
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
