//! The gateway backend (`mcp-ws serve --upstream URL`): a session the server accepted (a
//! WebSocket, or a Streamable HTTP session's message pipe) is relayed to an upstream MCP server
//! opened for it, instead of being answered by the router. The stdio backend (`mcp-ws serve
//! --stdio -- CMD`) is the same loop and machine with a child process started for the session
//! as the upstream ([`super::stdio`]: its stdin queue, stdout lines and stop).
//!
//! The server's accept path, admission, caps, Origin/Host/token checks, drain and metrics are
//! the router backend's: the choice is made where an accepted session would start its router
//! loop ([`super::ServerConfig::backend`]). The upstream is opened like the client opens a
//! server (`ws(s)://`: a WebSocket dialled with the subprotocol fallback; `http(s)://`: the
//! Streamable HTTP client's pipe, whose exchanger keeps the session id, the protocol version and
//! the headers), one per client session. What to do with every frame, tick and end is the core's
//! [`Gateway`] machine (see its docs for the close codes); this loop performs its actions, every
//! write bounded in time, and reads one frame at a time from each side, so each direction holds
//! at most what the two transports' own bounded buffers hold.

use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use futures_channel::mpsc;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mcp_ws_core::gateway::{Gateway, GatewayAction, GatewayConfig, Side};
use mcp_ws_core::session::{Outcome, SessionConfig};
use mcp_ws_core::{CloseCode, CloseReason, ProtocolVersion};

use crate::client::{IoSettings, open_endpoint};
use crate::dial::{DialError, Endpoint, SubprotocolMemory};
use crate::handle::Command;
use crate::metrics::{self, ConnectionMetrics};
use crate::runtime::{Alarm, Network};
use crate::server::stdio::{Child, Output, StdioServer};
use crate::tls::ClientTls;
use crate::ws_io::{Inbound, WebSocketIo, classify, close_handshake, write_by};

/// The default [`Upstream::connect_timeout`].
pub const DEFAULT_UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one write to either side may take when the session has no idle timeout.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest a close handshake with either side may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What answers the sessions a server accepts ([`super::ServerConfig::backend`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum SessionBackend {
    /// The server's [`super::Router`] (the default).
    #[default]
    Router,
    /// Every session is relayed to its own connection to this upstream MCP server; the
    /// router is not used.
    Gateway(Arc<Upstream>),
    /// Every session is relayed to its own child process running this stdio MCP server
    /// ([`super::stdio`]); the router is not used. A 2026-07-28 sessionless `POST` is
    /// answered -32022 (a stdio server is served in sessions: WebSocket or legacy HTTP).
    Stdio(Arc<StdioServer>),
}

/// Where a gateway session's upstream is.
pub(crate) enum Target {
    /// A server at a URL.
    Remote(Arc<Upstream>),
    /// A child process started for the session.
    Stdio(Arc<StdioServer>),
}

/// The upstream MCP server a gateway relays every session to.
///
/// ```
/// use mcp_ws_driver::server::gateway::Upstream;
/// let upstream = Upstream::new("http://127.0.0.1:9000/mcp").unwrap()
///     .with_headers(&[("Authorization".into(), "Bearer s3cret".into())]).unwrap();
/// assert_eq!(upstream.url(), "http://127.0.0.1:9000/mcp");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Upstream {
    /// Where it is, with its TLS roots and extra headers.
    pub endpoint: Endpoint,
    /// How long opening it (TCP, TLS, the WebSocket upgrade) may take; past it the client is
    /// answered as for an unreachable upstream.
    pub connect_timeout: Duration,
    /// How many Streamable HTTP POSTs to it may be in flight at once, per client session.
    pub max_concurrent_requests: usize,
    /// The most requests of one client waiting for the upstream's answer; one more is
    /// answered -32000 by the gateway.
    pub max_in_flight: usize,
    /// The close code the client gets when the upstream cannot be reached, is lost, breaks
    /// the WebSocket rules, stops reading or goes quiet past the idle timeout (the reason
    /// says which). 1011 by default: tungstenite-based clients refuse to receive 1014 (Bad
    /// Gateway); a browser page that reconnects on 1014 asks for that (`mcp-ws inspect`).
    pub upstream_failed: CloseCode,
    memory: Arc<SubprotocolMemory>,
}

impl Upstream {
    /// The upstream at `url` (`ws://`, `wss://`, `http://` or `https://`).
    pub fn new(url: &str) -> Result<Upstream, DialError> {
        Ok(Upstream {
            endpoint: Endpoint::parse(url)?,
            connect_timeout: DEFAULT_UPSTREAM_CONNECT_TIMEOUT,
            max_concurrent_requests: crate::http_client::DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_in_flight: GatewayConfig::default().max_in_flight,
            upstream_failed: GatewayConfig::default().pipe.upstream_failed,
            memory: Arc::default(),
        })
    }

    /// Trusts `tls`'s roots for a `wss://` or `https://` upstream.
    pub fn with_tls(mut self, tls: &ClientTls) -> Self {
        self.endpoint = self.endpoint.with_tls(tls);
        self
    }

    /// Sends these headers to the upstream (its `Authorization`, say) on every upgrade or POST.
    pub fn with_headers(mut self, headers: &[(String, String)]) -> Result<Self, DialError> {
        self.endpoint = self.endpoint.with_headers(headers)?;
        Ok(self)
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// The machine's settings for a server whose sessions run with `session`.
    fn gateway_config(&self, session: &SessionConfig) -> GatewayConfig {
        let mut config = session_gateway_config(session, self.max_in_flight);
        config.pipe.upstream_failed = self.upstream_failed;
        config
    }
}

/// The gateway machine's settings for a server whose sessions run with `session`: the
/// session's keepalive, limits and malformed budget, at most `max_in_flight` requests.
pub(super) fn session_gateway_config(
    session: &SessionConfig,
    max_in_flight: usize,
) -> GatewayConfig {
    let mut config = GatewayConfig::default();
    config.pipe.ping_interval = session.ping_interval;
    config.pipe.idle_timeout = session.idle_timeout;
    config.limits = session.limits;
    config.malformed_budget = session.malformed_budget;
    config.malformed_decay = session.malformed_decay;
    config.max_in_flight = max_in_flight.max(1);
    config
}

/// The upstream side of a gateway loop.
enum Up<U> {
    /// A WebSocket or Streamable HTTP client pipe to a server at a URL.
    Remote(U),
    /// A stdio child process.
    Child(Box<Child>),
    /// The upstream could not be opened.
    Missing,
}

/// The two sides a gateway loop holds.
struct Sides<D, U> {
    down: D,
    up: Up<U>,
}

/// Opens `target` for one session: the machine for it and the upstream side.
async fn open<N: Network>(
    net: &N,
    target: &Target,
    session: &SessionConfig,
    write_timeout: Duration,
) -> (Gateway, Up<crate::client::ClientIo<N::Stream>>) {
    match target {
        Target::Remote(upstream) => {
            let config = upstream.gateway_config(session);
            let how = IoSettings {
                preferred: ProtocolVersion::LATEST,
                max_message_bytes: session.limits.max_message_bytes,
                connect_timeout: upstream.connect_timeout,
                max_concurrent_requests: upstream.max_concurrent_requests.max(1),
            };
            let endpoint = upstream.endpoint.clone();
            match open_endpoint(net.clone(), endpoint, upstream.memory.clone(), how).await {
                Ok(io) => {
                    tracing::debug!(upstream = upstream.url(), "upstream opened");
                    (Gateway::new(config, net.now()), Up::Remote(io))
                }
                Err(error) => {
                    let why = format!(
                        "the upstream server {} cannot be reached: {error}",
                        upstream.url()
                    );
                    tracing::warn!("{why}");
                    (Gateway::unreachable(config, net.now(), &why), Up::Missing)
                }
            }
        }
        Target::Stdio(server) => {
            let config = server.gateway_config(session);
            match server.start(net, session.limits.max_message_bytes, write_timeout) {
                Ok(child) => (Gateway::new(config, net.now()), Up::Child(Box::new(child))),
                Err(error) => {
                    let why =
                        format!("could not start the stdio server {}: {error}", server.program);
                    tracing::warn!("{why}");
                    (Gateway::unreachable(config, net.now(), &why), Up::Missing)
                }
            }
        }
    }
}

/// Relays one accepted session (`down`) to a fresh upstream for it (`target`) until either
/// side ends; `commands` carry the server's drain and close. Counts the client's messages in
/// `counters` and its close code in the close metrics. A child process is stopped before this
/// returns.
pub(crate) async fn relay<N, D>(
    net: N,
    down: D,
    target: Target,
    session: Arc<SessionConfig>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut counters: ConnectionMetrics,
) where
    N: Network,
    D: WebSocketIo + Send + 'static,
{
    let write_timeout = session.idle_timeout.unwrap_or(DEFAULT_WRITE_TIMEOUT);
    let (mut machine, up) = open(&net, &target, &session, write_timeout).await;
    let mut sides = Sides { down, up };
    let mut alarm = Alarm::<N>::new();
    let mut commands_open = true;
    let mut turn = 0u8;
    let mut client_close: Option<u16> = None;
    loop {
        while let Some(action) = machine.poll_action() {
            perform(&net, &mut sides, &mut machine, action, write_timeout, &mut counters)
                .await
                .map(|code| client_close.get_or_insert(code));
        }
        counters.publish();
        if machine.is_closed() {
            break;
        }
        let input_deadline = match &sides.up {
            Up::Child(child) => child.input_deadline(),
            _ => None,
        };
        alarm.arm(&net, [machine.poll_timeout(), input_deadline].into_iter().flatten().min());
        turn = turn.wrapping_add(1);
        let woke = std::future::poll_fn(|cx| {
            if alarm.poll_woken(cx) {
                return Poll::Ready(Woke::Timer);
            }
            if commands_open {
                if let Poll::Ready(command) = commands.poll_next_unpin(cx) {
                    return Poll::Ready(Woke::Command(command));
                }
            }
            // Alternate which side is read first, so neither starves the other.
            // While a child's input queue is full, its client is not read (backpressure); the
            // child's output still is. Its input is written first, so that a queue emptied now
            // lets the client be read in this same poll (nothing else would wake it).
            if let Up::Child(child) = &mut sides.up {
                child.poll_input(cx, net.now());
            }
            let read_down = !matches!(&sides.up, Up::Child(child) if child.input_full());
            for side in [Side::Downstream, Side::Upstream]
                .into_iter()
                .cycle()
                .skip(turn as usize % 2)
                .take(2)
            {
                let woke = match side {
                    Side::Downstream if read_down => {
                        sides.down.poll_next_unpin(cx).map(|read| Woke::Read(side, read))
                    }
                    Side::Downstream => Poll::Pending,
                    Side::Upstream => match &mut sides.up {
                        Up::Remote(up) => up.poll_next_unpin(cx).map(|read| Woke::Read(side, read)),
                        Up::Child(child) => child.poll_output(cx).map(Woke::Child),
                        Up::Missing => Poll::Pending,
                    },
                };
                if woke.is_ready() {
                    return woke;
                }
            }
            Poll::Pending
        })
        .await;
        let now = net.now();
        match woke {
            Woke::Timer => {
                if alarm.take_due(now) {
                    if let Up::Child(child) = &sides.up {
                        if child.input_deadline().is_some_and(|at| now >= at) {
                            let why = format!(
                                "the stdio server cannot take input: it read none for {} ms",
                                write_timeout.as_millis()
                            );
                            tracing::warn!("{why}");
                            machine.handle_upstream_ended(&why);
                        }
                    }
                    machine.handle_timeout(now);
                }
            }
            Woke::Child(Output::Line(line)) => {
                // Blank lines are no messages (and no log lines worth reporting).
                if !line.iter().all(u8::is_ascii_whitespace) {
                    machine.handle_payload(Side::Upstream, now, mcp_ws_core::Payload::Text(&line));
                }
            }
            Woke::Child(Output::TooLong) => machine.handle_upstream_oversized(),
            Woke::Child(Output::Closed) => {
                let why = match &mut sides.up {
                    Up::Child(child) => child.exit_reason(&net).await,
                    _ => "the stdio server closed its stdout".to_string(),
                };
                machine.handle_upstream_ended(&why);
            }
            Woke::Command(Some(Command::Drain { deadline })) => machine.drain(
                deadline,
                crate::error::drained_close(),
                crate::error::not_processed("the server is shutting down"),
            ),
            Woke::Command(Some(Command::Close(reason))) => machine.close(reason),
            // A gateway session sends nothing of its own: the upstream speaks for it.
            Woke::Command(Some(other)) => other.end(Outcome::Disconnected),
            Woke::Command(None) => commands_open = false,
            Woke::Read(side, read) => match classify(&read) {
                Inbound::Payload(payload) => {
                    if side == Side::Downstream {
                        let (mcp_ws_core::Payload::Text(bytes)
                        | mcp_ws_core::Payload::Binary(bytes)) = payload;
                        counters.received(bytes.len());
                    }
                    machine.handle_payload(side, now, payload)
                }
                Inbound::Activity => machine.handle_activity(side, now),
                Inbound::PeerClosed(reason) => {
                    if side == Side::Downstream {
                        client_close.get_or_insert(reason.as_ref().map_or(1005, |r| r.code.0));
                    }
                    machine.handle_peer_closed(side, reason)
                }
                Inbound::Violation(reason) => machine.handle_violation(side, reason),
                Inbound::Lost(why) => {
                    if side == Side::Downstream {
                        client_close.get_or_insert(1006);
                    }
                    machine.handle_lost(side, &why)
                }
            },
        }
    }
    counters.publish();
    metrics::count_close(client_close.unwrap_or(1006));
    if let Up::Child(child) = &mut sides.up {
        child.stop(&net).await;
    }
}

/// What woke the gateway loop.
enum Woke {
    Timer,
    Command(Option<Command>),
    Read(Side, Option<Result<WsMessage, WsError>>),
    Child(Output),
}

/// Performs one action; gives the close code sent to the client when it closes the client.
async fn perform<N, D, U>(
    net: &N,
    sides: &mut Sides<D, U>,
    machine: &mut Gateway,
    action: GatewayAction,
    write_timeout: Duration,
    counters: &mut ConnectionMetrics,
) -> Option<u16>
where
    N: Network,
    D: WebSocketIo,
    U: WebSocketIo,
{
    // A child's stdin takes lines, queued; it has no pings nor close handshake (it is stopped
    // when the loop ends).
    let action = match (action, &mut sides.up) {
        (GatewayAction::Send(Side::Upstream, text), Up::Child(child)) => {
            child.push(text, net.now());
            return None;
        }
        (
            GatewayAction::Ping(Side::Upstream)
            | GatewayAction::Answer(Side::Upstream)
            | GatewayAction::Close(Side::Upstream, _),
            Up::Child(_),
        ) => return None,
        (action, _) => action,
    };
    let (side, message) = match action {
        GatewayAction::Send(side, text) => {
            if side == Side::Downstream {
                counters.sent(text.len());
            }
            (side, WsMessage::text(text))
        }
        GatewayAction::Ping(side) => (side, WsMessage::Ping(Default::default())),
        GatewayAction::Dropped(why) => {
            tracing::warn!("not relayed: {why}");
            return None;
        }
        GatewayAction::Answer(side) => {
            // Closing the sink flushes the answer the WebSocket library queued.
            let deadline = net.now() + write_timeout.min(CLOSE_TIMEOUT);
            let _ = match side {
                Side::Downstream => write_by(net, deadline, sides.down.close()).await,
                Side::Upstream => match &mut sides.up {
                    Up::Remote(up) => write_by(net, deadline, up.close()).await,
                    Up::Child(_) | Up::Missing => Ok(()),
                },
            };
            return None;
        }
        GatewayAction::Close(side, reason) => {
            let deadline = net.now() + write_timeout.min(CLOSE_TIMEOUT);
            let code = reason.as_ref().map_or(1005, |r: &CloseReason| r.code.0);
            match side {
                Side::Downstream => {
                    tracing::info!(code, reason = ?reason.as_ref().map(|r| r.reason.to_string()), "closing the gateway's client");
                    let closing = close_handshake(net, &mut sides.down, reason, deadline);
                    match &mut sides.up {
                        // A child is stopped meanwhile: a client slow to answer the close does
                        // not keep it running (nor its place under the cap held longer).
                        Up::Child(child) => {
                            futures_util::future::join(closing, child.stop(net)).await;
                        }
                        _ => {
                            closing.await;
                        }
                    }
                    return Some(code);
                }
                Side::Upstream => {
                    if let Up::Remote(up) = &mut sides.up {
                        close_handshake(net, up, reason, deadline).await;
                    }
                    return None;
                }
            }
        }
    };
    let deadline = net.now() + write_timeout;
    let sent = match side {
        Side::Downstream => send(net, deadline, &mut sides.down, message).await,
        Side::Upstream => match &mut sides.up {
            Up::Remote(up) => send(net, deadline, up, message).await,
            Up::Child(_) | Up::Missing => Ok(()),
        },
    };
    if sent.is_err() {
        machine.handle_write_failed(side);
    }
    None
}

async fn send<N, S>(
    net: &N,
    deadline: mcp_ws_core::time::Instant,
    sink: &mut S,
    message: WsMessage,
) -> Result<(), crate::ws_io::WriteFailed>
where
    N: Network,
    S: Sink<WsMessage, Error = WsError> + Stream + Unpin,
{
    write_by(net, deadline, sink.send(message)).await
}
