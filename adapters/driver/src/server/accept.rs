//! Opening a server connection: the I/O around the pure decision in [`super::handshake`], one
//! function ([`accept`]) for [`super::Server::listen`]'s accept loop, [`super::Server::serve_tcp`]
//! and the CLI's `serve --stdio` relay.
//!
//! Within one deadline: the TLS handshake (when configured), a bounded read of the request head,
//! the decision, and the answer (a refusal with its status, or `101`). Bytes the client sent
//! behind its head (a pipelined first frame) are replayed to the WebSocket.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use futures_util::future::{Either, select};
use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::auth::Principal;
use super::handshake::{
    Decision, HandshakeRules, HeadParse, HeadReader, PlainResponse, Refusal, RequestHead, decide,
    is_streamable_http,
};
use super::limits::Permit;
use crate::runtime::Runtime;
use crate::tls::ServerTls;
use crate::transport::{Sniffed, Transport};

/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Everything the server side of a handshake needs.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// What requests are checked against.
    pub rules: HandshakeRules,
    /// TLS, for `wss://`; `None` serves plain `ws://`.
    pub tls: Option<ServerTls>,
    /// The longest the TLS handshake, the request head and the answer may take together.
    pub timeout: Duration,
    /// The largest request head accepted (431 beyond).
    pub max_head_bytes: usize,
    /// The WebSocket settings of the upgraded connection.
    pub websocket: WebSocketConfig,
}

/// Where a connection came from and arrived at, when known. The local address decides the
/// loopback defaults of the Origin and Host checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionAddrs {
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// The address the server accepted on.
    pub local: Option<SocketAddr>,
}

/// An upgraded connection.
pub struct Accepted<S> {
    /// The WebSocket.
    pub ws: WebSocketStream<Transport<S>>,
    /// The request head (its `Debug` hides credentials).
    pub head: RequestHead,
    /// The selected subprotocol.
    pub subprotocol: Option<String>,
    /// Who the authenticator let in.
    pub principal: Option<Principal>,
}

/// Why a connection did not become a WebSocket.
#[derive(Debug)]
#[non_exhaustive]
pub enum AcceptError {
    /// The handshake did not finish within the timeout.
    TimedOut,
    /// The TLS handshake failed (a plain-text client on a TLS port, say).
    Tls(io::Error),
    /// The socket failed or closed before a complete request head arrived.
    Io(io::Error),
    /// The request was refused with this status and reason (already sent to the client).
    Refused {
        /// The HTTP status sent.
        status: u16,
        /// The reason sent.
        reason: String,
    },
    /// The server was over its connection cap with too many refusals under way: the
    /// connection was closed unanswered.
    Dropped(super::limits::Busy),
    /// The client behind a trusted proxy holds its maximum of connections: refused with 503
    /// and `Retry-After` (already sent).
    Busy(super::limits::Busy),
    /// A plain GET was answered by [`HandshakeRules::plain`] (already sent to the client).
    Answered {
        /// The HTTP status sent.
        status: u16,
        /// The request's path.
        path: String,
    },
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptError::TimedOut => f.write_str("the handshake timed out"),
            AcceptError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            AcceptError::Io(e) => write!(f, "the connection failed during the handshake: {e}"),
            AcceptError::Refused { status, reason } => write!(f, "refused with {status}: {reason}"),
            AcceptError::Dropped(busy) => write!(f, "closed unanswered: {busy}"),
            AcceptError::Busy(busy) => write!(f, "refused with 503: {busy}"),
            AcceptError::Answered { status, path } => {
                write!(f, "answered a plain GET of {path} with {status}")
            }
        }
    }
}

impl std::error::Error for AcceptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AcceptError::Tls(e) | AcceptError::Io(e) => Some(e),
            AcceptError::Dropped(busy) | AcceptError::Busy(busy) => Some(busy),
            _ => None,
        }
    }
}

/// Performs the server side of the handshake on `stream`, within `config.timeout`.
pub async fn accept<R, S>(
    runtime: &R,
    stream: S,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
) -> Result<Accepted<S>, AcceptError>
where
    R: Runtime,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    accept_admitted(runtime, stream, addrs, config, None).await
}

/// [`accept`] for a connection holding `permit` under the connection caps: when the peer is
/// a trusted proxy ([`HandshakeRules::proxies`]), the permit is moved to the forwarded client
/// address once the head is read, and a client at its per-address cap gets 503.
pub async fn accept_admitted<R, S>(
    runtime: &R,
    stream: S,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
    permit: Option<&mut Permit>,
) -> Result<Accepted<S>, AcceptError>
where
    R: Runtime,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = runtime.now() + config.timeout;
    let work = handshake(stream, addrs, config, None, permit, false);
    let result = match select(Box::pin(work), Box::pin(runtime.sleep_until(deadline))).await {
        Either::Left((Ok(Opened::WebSocket(accepted)), _)) => Ok(*accepted),
        // Not reached: `http` is false.
        Either::Left((Ok(Opened::Http(_)), _)) => {
            Err(AcceptError::Io(io::Error::other("unexpected Streamable HTTP")))
        }
        Either::Left((Err(error), _)) => Err(error),
        Either::Right(_) => Err(AcceptError::TimedOut),
    };
    log_outcome(result.as_ref(), addrs, config);
    result
}

/// What a connection on the listener became.
pub(crate) enum Opened<S> {
    /// An upgraded WebSocket.
    WebSocket(Box<Accepted<S>>),
    /// A Streamable HTTP request on the endpoint: the transport replays every byte read, the
    /// request head included, for the HTTP server.
    Http(Transport<S>),
}

/// [`accept_admitted`] that also lets Streamable HTTP requests on the endpoint through.
pub(crate) async fn accept_either<R, S>(
    runtime: &R,
    stream: S,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
    permit: Option<&mut Permit>,
) -> Result<Opened<S>, AcceptError>
where
    R: Runtime,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = runtime.now() + config.timeout;
    let work = handshake(stream, addrs, config, None, permit, true);
    let result = match select(Box::pin(work), Box::pin(runtime.sleep_until(deadline))).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(AcceptError::TimedOut),
    };
    match &result {
        Ok(Opened::WebSocket(accepted)) => log_outcome(Ok(&**accepted), addrs, config),
        // A Streamable HTTP connection is logged per request by the HTTP server.
        Ok(Opened::Http(_)) => {}
        Err(error) => log_outcome::<S>(Err(error), addrs, config),
    }
    result
}

/// Logs how a handshake ended, addresses in their plain form. What every scanner and probe
/// causes (a 404, a plain GET answered 426, a health check or page answered) is debug, and
/// counted in `mcp_ws_connections_total` by outcome; other refusals are warnings.
fn log_outcome<S>(
    result: Result<&Accepted<S>, &AcceptError>,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
) {
    let peer = addrs.peer.map(tracing::field::display);
    match result {
        Ok(accepted) => tracing::info!(
            peer,
            client = config.rules.proxies.client_ip(&accepted.head).map(tracing::field::display),
            subprotocol = accepted.subprotocol.as_deref(),
            "connection opened"
        ),
        Err(AcceptError::Refused { status: status @ (404 | 426), reason }) => {
            tracing::debug!(peer, status, %reason, "connection refused")
        }
        Err(AcceptError::Refused { status, reason }) => {
            tracing::warn!(peer, status, %reason, "connection refused")
        }
        Err(AcceptError::Answered { status, path }) => {
            tracing::debug!(peer, status, path = path.as_str(), "answered a plain GET")
        }
        Err(error) => tracing::debug!(peer, %error, "handshake failed"),
    }
}

/// Answers `stream` with `refusal` whatever it asks (a server over its connection cap answers
/// 503): the TLS handshake and the request head are read first, within `config.timeout`, so
/// the client reads the answer instead of a reset.
pub async fn refuse_with<R, S>(
    runtime: &R,
    stream: S,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
    refusal: Refusal,
) -> AcceptError
where
    R: Runtime,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = runtime.now() + config.timeout;
    let work = handshake(stream, addrs, config, Some(refusal), None, false);
    match select(Box::pin(work), Box::pin(runtime.sleep_until(deadline))).await {
        Either::Left((Err(error), _)) => error,
        // Not reached: a forced refusal never upgrades. Had it, the client got a WebSocket
        // that is dropped here, which closes it.
        Either::Left((Ok(_), _)) => AcceptError::Refused {
            status: 503,
            reason: "upgraded despite a forced refusal".to_string(),
        },
        Either::Right(_) => AcceptError::TimedOut,
    }
}

async fn handshake<S>(
    stream: S,
    addrs: ConnectionAddrs,
    config: &HandshakeConfig,
    forced: Option<Refusal>,
    permit: Option<&mut Permit>,
    http: bool,
) -> Result<Opened<S>, AcceptError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut transport = match &config.tls {
        None => Transport::plain(stream),
        Some(tls) => {
            let mut stream = stream;
            let mut first = [0u8; 1];
            if stream.read(&mut first).await.map_err(AcceptError::Io)? == 0 {
                return Err(AcceptError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            let mut sniffed = Sniffed { first: Some(first[0]), inner: stream };
            if first[0] != TLS_HANDSHAKE_RECORD {
                // Plain text on a TLS port: answer in plain text, after reading the head (so
                // closing does not reset the connection before the answer is read).
                let _ = read_head(&mut sniffed, config.max_head_bytes).await;
                let refusal = Refusal::new(400, "this endpoint speaks TLS: connect with wss://");
                return Err(refuse(&mut sniffed, refusal).await);
            }
            let accepted = tls.acceptor().accept(sniffed).await.map_err(AcceptError::Tls)?;
            Transport::tls_server(accepted)
        }
    };
    let (mut head, len, mut bytes) = match read_head(&mut transport, config.max_head_bytes).await {
        Ok(read) => read,
        Err(Ok(refusal)) => return Err(refuse(&mut transport, refusal).await),
        Err(Err(e)) => return Err(AcceptError::Io(e)),
    };
    head.peer = addrs.peer;
    head.local = addrs.local;
    if let Some(refusal) = forced {
        return Err(refuse(&mut transport, refusal).await);
    }
    if let Some(permit) = permit.filter(|_| config.rules.proxies.forwarded(&head)) {
        if let Some(client) = config.rules.proxies.client_ip(&head) {
            if let Err(busy) = permit.rekey(client) {
                let refusal = permit.refusal(&busy);
                refuse(&mut transport, refusal).await;
                return Err(AcceptError::Busy(busy));
            }
        }
    }
    if http && is_streamable_http(&head, &config.rules) {
        // hyper reads the request again, head included, from the replayed bytes.
        transport.replay(bytes);
        return Ok(Opened::Http(transport));
    }
    match decide(&head, &config.rules) {
        Decision::Refuse(refusal) => Err(refuse(&mut transport, refusal).await),
        Decision::Respond(response) => Err(respond(&mut transport, &head, response).await),
        Decision::Upgrade(upgrade) => {
            transport.write_all(&upgrade.response()).await.map_err(AcceptError::Io)?;
            transport.flush().await.map_err(AcceptError::Io)?;
            transport.replay(bytes.split_off(len));
            let ws =
                WebSocketStream::from_raw_socket(transport, Role::Server, Some(config.websocket))
                    .await;
            Ok(Opened::WebSocket(Box::new(Accepted {
                ws,
                head,
                subprotocol: upgrade.subprotocol,
                principal: upgrade.principal,
            })))
        }
    }
}

/// Reads until a complete head: the head, its length and every byte read. `Err(Ok(_))` is a
/// refusal to send (garbage, too large), `Err(Err(_))` a failed or closed socket.
async fn read_head<T: AsyncRead + Unpin>(
    stream: &mut T,
    max: usize,
) -> Result<(RequestHead, usize, Vec<u8>), Result<Refusal, io::Error>> {
    let mut reader = HeadReader::new(max);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(Err)?;
        if n == 0 {
            return Err(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before the end of the request head",
            )));
        }
        match reader.push(&chunk[..n]) {
            HeadParse::Complete { head, len } => return Ok((head, len, reader.into_bytes())),
            HeadParse::Invalid(refusal) => return Err(Ok(refusal)),
            HeadParse::Partial => {}
        }
    }
}

async fn refuse<T: AsyncWrite + Unpin>(stream: &mut T, refusal: Refusal) -> AcceptError {
    let _ = stream.write_all(&refusal.to_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.close().await;
    AcceptError::Refused { status: refusal.status(), reason: refusal.reason().to_string() }
}

async fn respond<T: AsyncWrite + Unpin>(
    stream: &mut T,
    head: &RequestHead,
    response: PlainResponse,
) -> AcceptError {
    let _ = stream.write_all(&response.to_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.close().await;
    AcceptError::Answered { status: response.status, path: head.path().to_string() }
}
