//! Opening a client WebSocket: parsing the endpoint URL, the TCP connect, TLS for `wss://`
//! (SNI and certificate check against the URL's host), the upgrade with the subprotocol offer
//! of `docs/binding.md` and the configured extra headers (`Authorization`...), and the one
//! retry offering nothing.
//!
//! The offer is `mcp` plus `mcp.version.<preferred version>` (rules in
//! [`mcp_ws_core::subprotocol`]). tungstenite refuses a handshake whose answer selects none of
//! the offered subprotocols, so when a server selects nothing we dial once more offering
//! nothing, and remember that for the endpoint.
//!
//! A refused upgrade keeps the server's reason: [`DialError::Status`] carries the status and
//! the text of the response body (a 404's "try /mcp", a 401's "needs a bearer token").

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use async_tungstenite::tungstenite::http::{HeaderName, HeaderValue, StatusCode, header};
use async_tungstenite::tungstenite::{Error as WsError, protocol::WebSocketConfig};
use futures_util::future::{Either, select};
use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::reconnect::Failure;
use mcp_ws_core::subprotocol;
use rustls::pki_types::ServerName;

use crate::runtime::Network;
use crate::tls::{ClientTls, TlsFailure};
use crate::transport::Transport;

/// A parsed `ws://` or `wss://` endpoint, with the TLS roots and extra handshake headers to
/// dial it with.
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: String,
    host: String,
    port: u16,
    tls: Option<ClientTls>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// `http://` or `https://`: Streamable HTTP instead of a WebSocket.
    http: bool,
    /// The path and query, as an HTTP request target.
    target: String,
}

impl Endpoint {
    /// Parses `url` (`ws://` or `wss://`; a `wss://` URL trusts the default roots of
    /// [`ClientTls::new`] until [`Endpoint::with_tls`]).
    pub fn parse(url: &str) -> Result<Endpoint, DialError> {
        let invalid = |problem: UrlError| DialError::InvalidUrl { url: url.to_string(), problem };
        // The URL standard reads `ws:///mcp` as host `mcp`; a third slash means no host here.
        if url.split_once("://").is_some_and(|(_, rest)| rest.starts_with('/')) {
            return Err(invalid(UrlError::NoHost));
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            invalid(match e {
                url::ParseError::InvalidPort => UrlError::Port,
                url::ParseError::EmptyHost => UrlError::NoHost,
                other => UrlError::Syntax(other),
            })
        })?;
        let (tls, default_port, http) = match parsed.scheme() {
            "ws" => (None, 80, false),
            "wss" => (Some(ClientTls::new()), 443, false),
            "http" => (None, 80, true),
            "https" => (Some(ClientTls::new()), 443, true),
            other => return Err(invalid(UrlError::Scheme(other.to_string()))),
        };
        if let Some(fragment) = parsed.fragment() {
            return Err(invalid(UrlError::Fragment(fragment.to_string())));
        }
        let host = match parsed.host() {
            None => return Err(invalid(UrlError::NoHost)),
            Some(url::Host::Domain("")) => {
                return Err(invalid(UrlError::NoHost));
            }
            Some(url::Host::Domain(name)) => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
        };
        let port = parsed.port().unwrap_or(default_port);
        if port == 0 {
            return Err(invalid(UrlError::Port));
        }
        let target = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        Ok(Endpoint { url: url.to_string(), host, port, tls, headers: Vec::new(), http, target })
    }

    /// Uses `tls` for a `wss://` URL (ignored for `ws://`).
    pub fn with_tls(mut self, tls: &ClientTls) -> Self {
        if self.tls.is_some() {
            self.tls = Some(tls.clone());
        }
        self
    }

    /// Adds headers to every handshake (`Authorization: Bearer ...`, a proxy's key...).
    /// Credentials (`Authorization`, `Cookie`) are marked sensitive so `Debug` hides them.
    pub fn with_headers(mut self, headers: &[(String, String)]) -> Result<Self, DialError> {
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|e| DialError::InvalidHeader(format!("{name}: {e}")))?;
            let mut value = HeaderValue::from_str(value.trim())
                .map_err(|e| DialError::InvalidHeader(format!("{name}: {e}")))?;
            if name == header::AUTHORIZATION
                || name == header::COOKIE
                || name == header::PROXY_AUTHORIZATION
            {
                value.set_sensitive(true);
            }
            self.headers.push((name, value));
        }
        Ok(self)
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the endpoint is `wss://` or `https://`.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether the endpoint is `http://` or `https://` (Streamable HTTP).
    pub fn is_http(&self) -> bool {
        self.http
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn tls(&self) -> Option<&ClientTls> {
        self.tls.as_ref()
    }

    pub(crate) fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The path and query, as an HTTP request target.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// The `Host` header value.
    pub(crate) fn authority(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{host}:{}", self.port)
    }
}

/// What is wrong with a URL given to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not a URL at all.
    #[error("{0}")]
    Syntax(#[source] url::ParseError),
    /// The scheme is not `ws`, `wss`, `http` or `https`.
    #[error("the scheme must be ws://, wss://, http:// or https://, not {0}://")]
    Scheme(String),
    /// The URL names no host.
    #[error("the URL names no host")]
    NoHost,
    /// The port is not a number from 1 to 65535.
    #[error("the port must be a number from 1 to 65535")]
    Port,
    /// WebSocket URLs have no fragment (RFC 6455 §3).
    #[error("a WebSocket URL has no fragment (#{0})")]
    Fragment(String),
    /// The WebSocket library cannot build a request for it.
    #[error("{0}")]
    Request(String),
    /// The host cannot be checked against a TLS certificate.
    #[error("the host is not a name a certificate can be checked against: {0}")]
    TlsName(String),
}

/// Why a dial failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The URL cannot be used.
    #[error("invalid URL {url}: {problem}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        #[source]
        problem: UrlError,
    },
    /// A configured handshake header is not a valid HTTP header.
    #[error("invalid handshake header {0}")]
    InvalidHeader(String),
    /// The URL needs something this build does not have.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// TCP or the upgrade failed at the network level.
    #[error("connection failed: {0}")]
    Transport(String),
    /// The TLS handshake of a `wss://` URL failed.
    #[error(transparent)]
    Tls(TlsFailure),
    /// The server answered the upgrade with a non-101 status.
    #[error("{}", refused(*status, reason))]
    Status {
        /// The HTTP status.
        status: u16,
        /// Its `Retry-After` (seconds or an HTTP date, as a wait from when it was read).
        retry_after: Option<Duration>,
        /// The server's reason: the start of the response body, as text.
        reason: String,
        /// Its `WWW-Authenticate` (a `401`'s challenge, which an OAuth client answers).
        challenge: Option<String>,
    },
    /// The upgrade failed for a protocol reason (bad answer, refused subprotocol...).
    #[error("WebSocket handshake failed: {0}")]
    Handshake(String),
    /// TCP connect plus upgrade took longer than the connect timeout.
    #[error("connecting timed out")]
    TimedOut,
}

/// The text of a refused upgrade.
fn refused(status: u16, reason: &str) -> String {
    let phrase = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let mut text = format!("the server refused the connection: HTTP {status} {phrase}");
    match status {
        401 => text.push_str(" (a missing or wrong token)"),
        403 => text.push_str(" (not allowed)"),
        _ => {}
    }
    if !reason.is_empty() {
        text.push_str(": ");
        text.push_str(reason);
    }
    text
}

/// A `Retry-After` value as a wait from `now`: delay-seconds or an HTTP date (RFC 9110
/// §10.2.3); a date in the past is no wait. `None` if it is neither.
pub fn retry_after_value(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

impl DialError {
    /// How the reconnect machine should count this failure: a refused status is the
    /// machine's to judge (401, 403 and 404 are fatal by default), a certificate problem is
    /// fatal, the rest transient.
    pub fn to_failure(&self) -> Failure {
        match self {
            DialError::InvalidUrl { .. }
            | DialError::InvalidHeader(_)
            | DialError::Unsupported(_) => Failure::Fatal(self.to_string()),
            DialError::Tls(failure) if failure.is_fatal() => Failure::Fatal(self.to_string()),
            DialError::Status { status, retry_after, .. } => {
                Failure::HandshakeStatus { status: *status, retry_after: *retry_after }
            }
            DialError::Tls(_)
            | DialError::Transport(_)
            | DialError::Handshake(_)
            | DialError::TimedOut => Failure::Transport(self.to_string()),
        }
    }
}

/// The server's reason text from a refusal body: printable, one line, bounded.
fn reason_text(body: Option<&[u8]>) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body.unwrap_or_default());
    let mut out: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// The subprotocol policy of one endpoint: whether the server has shown it selects nothing.
#[derive(Debug, Default)]
pub struct SubprotocolMemory {
    offer_nothing: AtomicBool,
}

/// An open client WebSocket and the subprotocol the server selected.
pub struct Dialed<S> {
    /// The WebSocket.
    pub ws: WebSocketStream<Transport<S>>,
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
    if endpoint.is_http() {
        return Err(DialError::Unsupported(
            "a WebSocket to an http:// or https:// URL (the client speaks Streamable HTTP to \
             those; this path relays WebSocket frames)",
        ));
    }
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
    let mut request =
        endpoint.url.as_str().into_client_request().map_err(|e| DialError::InvalidUrl {
            url: endpoint.url.clone(),
            problem: UrlError::Request(e.to_string()),
        })?;
    for (name, value) in &endpoint.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    if !offer.is_empty() {
        let value = HeaderValue::from_str(&offer.join(", "))
            .map_err(|e| DialError::InvalidHeader(format!("Sec-WebSocket-Protocol: {e}")))?;
        request.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    let stream = net
        .connect(endpoint.host.clone(), endpoint.port)
        .await
        .map_err(|e| DialError::Transport(e.to_string()))?;
    let stream = match &endpoint.tls {
        None => Transport::plain(stream),
        Some(tls) => {
            let name =
                ServerName::try_from(endpoint.host.clone()).map_err(|e| DialError::InvalidUrl {
                    url: endpoint.url.clone(),
                    problem: UrlError::TlsName(e.to_string()),
                })?;
            let tls_stream =
                tls.connector().connect(name, stream).await.map_err(
                    |e| match TlsFailure::classify(&e, &endpoint.host) {
                        Some(failure) => DialError::Tls(failure),
                        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                            DialError::Tls(TlsFailure::Other(
                                "the server closed the connection during the TLS handshake".into(),
                            ))
                        }
                        None => DialError::Transport(e.to_string()),
                    },
                )?;
            Transport::tls_client(tls_stream)
        }
    };
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
                .and_then(|v| retry_after_value(v, SystemTime::now()));
            let challenge = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Err(DialError::Status {
                status: response.status().as_u16(),
                retry_after,
                reason: reason_text(response.body().as_deref()),
                challenge,
            })
        }
        Err(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        ))) => Err(DialError::Handshake(NO_SUBPROTOCOL.to_string())),
        Err(WsError::Io(e)) => Err(DialError::Transport(e.to_string())),
        Err(e) => Err(DialError::Handshake(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_the_servers_reason() {
        let e = DialError::Status {
            status: 404,
            retry_after: None,
            reason: reason_text(Some(b"no MCP endpoint at this path; try /mcp\n")),
            challenge: None,
        };
        assert_eq!(
            e.to_string(),
            "the server refused the connection: HTTP 404 Not Found: no MCP endpoint at this \
             path; try /mcp"
        );
        assert_eq!(e.to_failure(), Failure::HandshakeStatus { status: 404, retry_after: None });
    }

    #[test]
    fn wss_urls_default_to_port_443_and_tls() {
        let e = Endpoint::parse("wss://example.com/mcp").unwrap();
        assert!(e.is_tls());
        assert_eq!(e.port, 443);
        assert!(!Endpoint::parse("ws://example.com/mcp").unwrap().is_tls());
        assert!(Endpoint::parse("https://example.com/mcp").unwrap().is_tls());
        assert!(Endpoint::parse("http://example.com/mcp").unwrap().is_http());
        assert!(Endpoint::parse("ftp://example.com/mcp").is_err());
    }

    #[test]
    fn a_port_out_of_range_is_an_error_that_names_the_port() {
        let e = Endpoint::parse("ws://127.0.0.1:99999/mcp").unwrap_err();
        assert!(matches!(e, DialError::InvalidUrl { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("ws://127.0.0.1:99999/mcp") && text.contains("port"), "{text}");
    }

    #[test]
    fn a_port_that_is_not_a_number_is_an_error_that_names_the_port() {
        let e = Endpoint::parse("ws://127.0.0.1:abc/mcp").unwrap_err();
        assert!(matches!(e, DialError::InvalidUrl { .. }), "{e:?}");
        assert!(e.to_string().contains("port"), "{e}");
    }

    #[test]
    fn urls_keep_their_hosts_ports_and_paths() {
        let e = Endpoint::parse("ws://[::1]:8765/mcp?x=1").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8765));
        assert_eq!(Endpoint::parse("ws://localhost/mcp").unwrap().port, 80);
        let no_host = Endpoint::parse("ws:///mcp").unwrap_err().to_string();
        assert!(no_host.contains("host"), "{no_host}");
        let scheme = Endpoint::parse("ftp://h/mcp").unwrap_err().to_string();
        assert!(scheme.contains("ws://, wss://, http:// or https://"), "{scheme}");
        assert_eq!(Endpoint::parse("http://h:9/a/mcp?x=1").unwrap().target(), "/a/mcp?x=1");
        let fragment = Endpoint::parse("ws://h/mcp#top").unwrap_err().to_string();
        assert!(fragment.contains("fragment"), "{fragment}");
        assert!(Endpoint::parse("ws://h:0/mcp").unwrap_err().to_string().contains("port"));
    }

    #[test]
    fn retry_after_is_read_in_both_forms() {
        assert_eq!(
            retry_after_value(" 120 ", SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(120))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777 - 30);
        // RFC 9110's example date, 30 s after `now`.
        assert_eq!(
            retry_after_value("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            retry_after_value("Sun, 06 Nov 1994 08:49:37 GMT", now + Duration::from_secs(60)),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn authorization_headers_are_hidden_from_debug() {
        let e = Endpoint::parse("ws://h/mcp")
            .unwrap()
            .with_headers(&[("Authorization".into(), "Bearer s3cr3t".into())])
            .unwrap();
        assert!(!format!("{e:?}").contains("s3cr3t"));
        assert!(
            Endpoint::parse("ws://h/mcp")
                .unwrap()
                .with_headers(&[("bad name".into(), "x".into())])
                .is_err()
        );
    }
}
