//! Opening a client WebSocket: parsing the endpoint URL, the TCP connect, the upgrade with the
//! subprotocol offer of ../PROTOCOL.md §3, and the one retry offering nothing.
//!
//! The offer is `mcp` plus `mcp.version.<preferred version>` (rules in
//! [`mcp_ws_core::subprotocol`]). tungstenite refuses a handshake whose answer selects none of
//! the offered subprotocols, so when a server selects nothing we dial once more offering
//! nothing, and remember that for the endpoint.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use async_tungstenite::tungstenite::http::{HeaderValue, Uri, header};
use async_tungstenite::tungstenite::{Error as WsError, protocol::WebSocketConfig};
use futures_util::future::{Either, select};
use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::reconnect::Failure;
use mcp_ws_core::subprotocol;

use crate::runtime::Network;

/// A parsed `ws://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `url`. Only `ws://` is supported for now; `wss://` is refused with
    /// [`DialError::Unsupported`] until the TLS layer lands.
    pub fn parse(url: &str) -> Result<Endpoint, DialError> {
        let uri: Uri = url.parse().map_err(|e| DialError::InvalidUrl(format!("{url}: {e}")))?;
        match uri.scheme_str() {
            Some("ws") => {}
            Some("wss") => return Err(DialError::Unsupported("wss:// (TLS) is not supported yet")),
            _ => return Err(DialError::InvalidUrl(format!("{url}: the scheme must be ws://"))),
        }
        let host = uri
            .host()
            .ok_or_else(|| DialError::InvalidUrl(format!("{url}: no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(80);
        Ok(Endpoint { url: url.to_string(), host, port })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Why a dial failed.
#[derive(Debug)]
pub enum DialError {
    /// The URL cannot be used.
    InvalidUrl(String),
    /// The URL needs something this build does not have.
    Unsupported(&'static str),
    /// TCP or the upgrade failed at the network level.
    Transport(String),
    /// The server answered the upgrade with a non-101 status.
    Status {
        /// The HTTP status.
        status: u16,
        /// Its `Retry-After`, in seconds form.
        retry_after: Option<Duration>,
    },
    /// The upgrade failed for a protocol reason (bad answer, refused subprotocol...).
    Handshake(String),
    /// TCP connect plus upgrade took longer than the connect timeout.
    TimedOut,
}

impl DialError {
    /// How the reconnect machine should count this failure.
    pub fn to_failure(&self) -> Failure {
        match self {
            DialError::InvalidUrl(_) | DialError::Unsupported(_) => {
                Failure::Fatal(self.to_string())
            }
            DialError::Status { status, retry_after } => {
                Failure::HandshakeStatus { status: *status, retry_after: *retry_after }
            }
            DialError::Transport(_) | DialError::Handshake(_) | DialError::TimedOut => {
                Failure::Transport(self.to_string())
            }
        }
    }
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::InvalidUrl(why) => write!(f, "invalid URL {why}"),
            DialError::Unsupported(what) => write!(f, "unsupported: {what}"),
            DialError::Transport(why) => write!(f, "connection failed: {why}"),
            DialError::Status { status, .. } => write!(f, "the server answered HTTP {status}"),
            DialError::Handshake(why) => write!(f, "WebSocket handshake failed: {why}"),
            DialError::TimedOut => f.write_str("connecting timed out"),
        }
    }
}

impl std::error::Error for DialError {}

/// The subprotocol policy of one endpoint: whether the server has shown it selects nothing.
#[derive(Debug, Default)]
pub struct SubprotocolMemory {
    offer_nothing: AtomicBool,
}

/// An open client WebSocket and the subprotocol the server selected.
pub struct Dialed<S> {
    /// The WebSocket.
    pub ws: WebSocketStream<S>,
    /// The selected subprotocol, if any.
    pub subprotocol: Option<String>,
}

/// Dials `endpoint` with the subprotocol fallback of the module docs, giving up after `timeout`.
pub async fn dial<N: Network>(
    net: &N,
    endpoint: &Endpoint,
    preferred: ProtocolVersion,
    memory: &SubprotocolMemory,
    ws_config: WebSocketConfig,
    timeout: Duration,
) -> Result<Dialed<N::Stream>, DialError> {
    let deadline = net.now() + timeout;
    let attempt = async {
        if !memory.offer_nothing.load(Ordering::Relaxed) {
            let offer = subprotocol::client_offer(preferred);
            match dial_once(net, endpoint, &offer, ws_config).await {
                Err(DialError::Handshake(why)) if why == NO_SUBPROTOCOL => {
                    memory.offer_nothing.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        dial_once(net, endpoint, &[], ws_config).await
    };
    match select(Box::pin(attempt), Box::pin(net.sleep_until(deadline))).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => Err(DialError::TimedOut),
    }
}

const NO_SUBPROTOCOL: &str = "the server selected no subprotocol";

async fn dial_once<N: Network>(
    net: &N,
    endpoint: &Endpoint,
    offer: &[String],
    ws_config: WebSocketConfig,
) -> Result<Dialed<N::Stream>, DialError> {
    let mut request = endpoint
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| DialError::InvalidUrl(format!("{}: {e}", endpoint.url)))?;
    if !offer.is_empty() {
        let value = HeaderValue::from_str(&offer.join(", "))
            .map_err(|e| DialError::InvalidUrl(e.to_string()))?;
        request.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    let stream = net
        .connect(endpoint.host.clone(), endpoint.port)
        .await
        .map_err(|e| DialError::Transport(e.to_string()))?;
    match async_tungstenite::client_async_with_config(request, stream, Some(ws_config)).await {
        Ok((ws, response)) => {
            let selected = response
                .headers()
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if !subprotocol::client_accepts(selected.as_deref(), offer) {
                return Err(DialError::Handshake(format!(
                    "the server selected an unoffered subprotocol {selected:?}"
                )));
            }
            Ok(Dialed { ws, subprotocol: selected })
        }
        Err(WsError::Http(response)) => {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Err(DialError::Status { status: response.status().as_u16(), retry_after })
        }
        Err(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        ))) => Err(DialError::Handshake(NO_SUBPROTOCOL.to_string())),
        Err(WsError::Io(e)) => Err(DialError::Transport(e.to_string())),
        Err(e) => Err(DialError::Handshake(e.to_string())),
    }
}
