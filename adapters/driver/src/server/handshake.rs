//! The server's handshake decision, as pure functions of the bytes received: parse the HTTP
//! request head ([`parse_head`]), decide whether it may become an MCP WebSocket
//! ([`decide`]), and render the answer: a `101 Switching Protocols` ([`Upgrade::response`])
//! or a refusal with its status line, headers and a short text body ([`Refusal::to_bytes`]).
//! No sockets, no clock: [`super::accept`] does the I/O around these.
//!
//! The checks, in order (the first that fails answers):
//!
//! | request | answer |
//! |---|---|
//! | not parsable as HTTP/1.x | 400 |
//! | HTTP/1.0 | 400 |
//! | a method other than GET | 405 with `Allow: GET` |
//! | more than one `Host` or more than one `Origin` | 400 |
//! | no `Host` | 400 |
//! | a `Host` the [`HostPolicy`] refuses (DNS rebinding) | 403 |
//! | an `Origin` the [`OriginPolicy`] refuses (one that does not parse as an origin too) | 403 |
//! | a GET without `Upgrade: websocket` that [`HandshakeRules::plain`] answers | its answer |
//! | another path | 404 with the right path in the body |
//! | no `Upgrade: websocket` / `Connection: upgrade` | 426 with `Upgrade: websocket` |
//! | `Sec-WebSocket-Version` other than 13 | 426 with `Sec-WebSocket-Version: 13` |
//! | a missing or malformed `Sec-WebSocket-Key` | 400 |
//! | subprotocol offers that are all `mcp.auth.<token>` (a browser would fail any 101) | 400 |
//! | the server is draining ([`HandshakeRules::drain`]) | 503 with `Retry-After` |
//! | the [`super::auth::Authenticator`] refuses | its answer (401 for a bad token) |
//!
//! Plain HTTP ([`PlainHttp`]) is the one hook for pages and probes on the same listener: it is
//! asked only about a GET without `Upgrade: websocket` whose `Host` and `Origin` passed the
//! checks above (so a DNS-rebinding page gets 403, not the page); it is not asked about
//! upgrades, and the authenticator is not asked about it (a handler that needs a credential
//! reads the head itself).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::http::StatusCode;
use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::http_head::{self, HeadStatus, RequestHeadReader};
use mcp_ws_core::subprotocol;

use super::auth::{AuthCheck, AuthDecision, AuthRequest, Principal};
use super::drain::Drain;
use super::proxy::TrustedProxies;

/// The most headers a request head may carry.
pub const MAX_HEADERS: usize = http_head::MAX_HEADERS;

/// A parsed HTTP request head and where it came from. Its `Debug` output hides credentials.
#[derive(Clone, Default)]
pub struct RequestHead {
    /// The method (`GET`).
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor_version: u8,
    /// The headers in order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The address the connection arrived on, when known.
    pub local: Option<SocketAddr>,
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> =
            self.headers.iter().map(|(name, value)| (name.as_str(), redact(name, value))).collect();
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("minor_version", &self.minor_version)
            .field("headers", &headers)
            .field("peer", &self.peer)
            .finish()
    }
}

/// A header value fit for logs: credentials replaced by `<redacted>`.
pub fn redact(name: &str, value: &str) -> String {
    match name {
        "authorization" | "cookie" | "proxy-authorization" => "<redacted>".to_string(),
        "sec-websocket-protocol" => value
            .split(',')
            .map(str::trim)
            .map(|offer| {
                if offer.starts_with(subprotocol::AUTH_PREFIX) {
                    "mcp.auth.<redacted>"
                } else {
                    offer
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => value.to_string(),
    }
}

impl RequestHead {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (lower case).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The path of the target, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers_named(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// What [`parse_head`] made of the bytes so far.
#[derive(Debug)]
pub enum HeadParse {
    /// A complete head of `len` bytes (what follows belongs to the WebSocket).
    Complete {
        /// The head.
        head: RequestHead,
        /// Its length in bytes, blank line included.
        len: usize,
    },
    /// More bytes are needed.
    Partial,
    /// The bytes are not an HTTP/1.x request head (the answer to send).
    Invalid(Refusal),
}

/// Parses an HTTP request head from the start of `bytes` (the core's
/// [`mcp_ws_core::http_head::parse_request_head`], refusals as [`Refusal`]s).
pub fn parse_head(bytes: &[u8]) -> HeadParse {
    HeadParse::from(http_head::parse_request_head(bytes))
}

impl From<HeadStatus> for HeadParse {
    fn from(status: HeadStatus) -> HeadParse {
        match status {
            HeadStatus::Complete { head, len } => HeadParse::Complete {
                head: RequestHead {
                    method: head.method,
                    target: head.target,
                    minor_version: head.minor_version,
                    headers: head.headers,
                    peer: None,
                    local: None,
                },
                len,
            },
            HeadStatus::Partial => HeadParse::Partial,
            HeadStatus::Invalid(error) => {
                HeadParse::Invalid(Refusal::new(error.status(), error.to_string()))
            }
        }
    }
}

/// Reads one request head from bytes as they arrive ([`HeadReader::push`]), within a size
/// limit (431 beyond): the core's [`RequestHeadReader`], refusals as [`Refusal`]s.
#[derive(Debug)]
pub struct HeadReader(RequestHeadReader);

impl HeadReader {
    /// A reader for a head of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        HeadReader(RequestHeadReader::new(max))
    }

    /// Adds `chunk`; says whether the head is complete.
    pub fn push(&mut self, chunk: &[u8]) -> HeadParse {
        HeadParse::from(self.0.push(chunk))
    }

    /// Every byte received so far (the head and what followed it).
    pub fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }

    /// How many times the head parser ran.
    pub fn parses(&self) -> usize {
        self.0.parses()
    }

    /// How many bytes the head parser was handed, all runs together.
    pub fn scanned(&self) -> usize {
        self.0.scanned()
    }
}

/// An HTTP answer other than the upgrade: status, extra headers and a short text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Refusal {
    /// A refusal with `status` and a one-line reason (sent as the `text/plain` body).
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Refusal { status, headers: Vec::new(), body: reason.into() }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason text.
    pub fn reason(&self) -> &str {
        &self.body
    }

    /// The extra headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The whole HTTP/1.1 response; it closes the connection.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = format!("{}\n", self.body.trim_end());
        let phrase = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Refused");
        let mut out = format!("HTTP/1.1 {} {phrase}\r\n", self.status);
        // One `Connection` header: the refusal's own options (`Upgrade` on a 426), then `close`.
        let mut connection: Vec<&str> = Vec::new();
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("connection") {
                connection.push(value);
            } else {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        connection.push("close");
        out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        out.push_str(&format!("Connection: {}\r\n\r\n", connection.join(", ")));
        out.push_str(&body);
        out.into_bytes()
    }
}

/// The answer to a plain HTTP request (a page, a health probe): status, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainResponse {
    /// The status.
    pub status: u16,
    /// The headers, `Content-Length` and `Connection` excepted (added by [`Self::to_bytes`]).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl PlainResponse {
    /// A `200 OK` with `content_type` and `body`.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        PlainResponse {
            status: 200,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The whole HTTP/1.1 response; it closes the connection.
    pub fn to_bytes(&self) -> Vec<u8> {
        let phrase = StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        let mut out = format!("HTTP/1.1 {} {phrase}\r\n", self.status);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        out.push_str("Connection: close\r\n\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

type PlainFn = dyn Fn(&RequestHead) -> Option<PlainResponse> + Send + Sync;

/// Answers plain HTTP GETs (no `Upgrade: websocket`) on the WebSocket listener: a function of
/// the request head returning `None` for what it does not serve (which then gets today's 404 or
/// 426). Asked only after the `Host` and `Origin` checks passed; never asked about upgrades.
#[derive(Clone)]
pub struct PlainHttp(Arc<PlainFn>);

impl PlainHttp {
    /// Answers with `answer`.
    pub fn new(
        answer: impl Fn(&RequestHead) -> Option<PlainResponse> + Send + Sync + 'static,
    ) -> Self {
        PlainHttp(Arc::new(answer))
    }

    /// Serves fixed responses by exact path (the query is ignored).
    pub fn routes(routes: impl IntoIterator<Item = (String, PlainResponse)>) -> Self {
        let routes: Vec<(String, PlainResponse)> = routes.into_iter().collect();
        PlainHttp::new(move |head| {
            routes.iter().find(|(path, _)| path == head.path()).map(|(_, r)| r.clone())
        })
    }

    /// The answer to `head`, if this serves it.
    pub fn answer(&self, head: &RequestHead) -> Option<PlainResponse> {
        (self.0)(head)
    }
}

impl fmt::Debug for PlainHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainHttp(..)")
    }
}

/// Which browser origins may open a session. Requests without `Origin` (native clients) always
/// pass this check; browsers always send one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Loopback origins on any port (`http(s)://localhost`, `127.0.0.1`, `[::1]`) when the
    /// server is bound to a loopback address; no browser origin otherwise.
    #[default]
    Default,
    /// Every origin (`--allow-origin '*'`).
    Any,
    /// Exactly these origins (`scheme://host[:port]`, compared case-insensitively).
    List(Vec<String>),
    /// Exactly these origins, and a request to the endpoint (an upgrade, a Streamable HTTP
    /// request) that carries no `Origin` is refused too (403): an endpoint only the pages
    /// served from these origins may use (`mcp-ws inspect`'s relay). Plain GETs answered by
    /// [`HandshakeRules::plain`] (the page itself) need no `Origin`.
    Required(Vec<String>),
}

/// Which `Host` values are accepted (against DNS rebinding: a page on `evil.example` whose
/// name is made to resolve to 127.0.0.1 still sends `Host: evil.example`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostPolicy {
    /// Loopback names and addresses only when bound to a loopback address; any otherwise.
    #[default]
    Default,
    /// Any host (behind a proxy that checks it).
    Any,
    /// These host names (ports ignored, compared case-insensitively), e.g. the public name a
    /// reverse proxy forwards.
    List(Vec<String>),
}

/// Everything [`decide`] checks a request against.
#[derive(Debug, Clone)]
pub struct HandshakeRules {
    /// The endpoint's path; other paths get 404.
    pub path: String,
    /// The protocol versions served (for `mcp.version.<v>` offers).
    pub versions: Vec<ProtocolVersion>,
    /// The browser origins allowed.
    pub origins: OriginPolicy,
    /// The `Host` values allowed.
    pub hosts: HostPolicy,
    /// The authentication check; `None` lets everyone in.
    pub auth: Option<AuthCheck>,
    /// Answers plain GETs (pages, probes); `None` answers them 404 or 426.
    pub plain: Option<PlainHttp>,
    /// Set while the server shuts down: upgrades get 503 with `Retry-After` (plain GETs are
    /// still answered by [`Self::plain`]).
    pub drain: Drain,
    /// The reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Host` are believed; none
    /// by default (the headers are then ignored).
    pub proxies: TrustedProxies,
}

/// The verdict on one request.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Upgrade to a WebSocket.
    Upgrade(Upgrade),
    /// Refuse with this answer.
    Refuse(Refusal),
    /// A plain GET that [`HandshakeRules::plain`] answered: send this and close.
    Respond(PlainResponse),
}

/// An accepted upgrade: what to answer and what the connection carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The subprotocol selected, if any (never a `mcp.auth.` offer).
    pub subprotocol: Option<String>,
    /// Who the authenticator let in.
    pub principal: Option<Principal>,
    accept: String,
}

impl Upgrade {
    /// The `101 Switching Protocols` response.
    pub fn response(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n",
            self.accept
        );
        if let Some(subprotocol) = &self.subprotocol {
            out.push_str(&format!("Sec-WebSocket-Protocol: {subprotocol}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

fn loopback_bound(local: Option<SocketAddr>) -> bool {
    local.is_some_and(|a| a.ip().is_loopback())
}

/// The host part of a `Host` value or an origin's authority, without port and brackets.
fn host_part(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Whether `host` (no port, no brackets) names the local machine.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the `Host` value is accepted by `policy` for a server bound to `local`.
pub fn host_allowed(host: &str, policy: &HostPolicy, local: Option<SocketAddr>) -> bool {
    let name = host_part(host.trim());
    match policy {
        HostPolicy::Any => true,
        HostPolicy::Default => !loopback_bound(local) || is_loopback_host(name),
        HostPolicy::List(names) => names.iter().any(|n| host_part(n).eq_ignore_ascii_case(name)),
    }
}

/// Whether the `Origin` value is accepted by `policy` for a server bound to `local`.
pub fn origin_allowed(origin: &str, policy: &OriginPolicy, local: Option<SocketAddr>) -> bool {
    let origin = origin.trim();
    match policy {
        OriginPolicy::Any => true,
        OriginPolicy::List(allowed) | OriginPolicy::Required(allowed) => {
            allowed.iter().any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
        }
        OriginPolicy::Default => loopback_bound(local) && is_loopback_origin(origin),
    }
}

/// Whether `origin` parses as an `http(s)://host[:port]` origin (RFC 6454: no path, no
/// credentials, no query) whose host is the local machine. `http://[::1` does not parse.
fn is_loopback_origin(origin: &str) -> bool {
    let Some((_, authority)) = origin.split_once("://") else { return false };
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return false;
    }
    let Ok(url) = url::Url::parse(origin) else { return false };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1).
pub fn valid_key(key: &str) -> bool {
    let key = key.trim().as_bytes();
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    // 16 bytes are 22 characters and `==`; the 22nd carries only 2 bits.
    key.len() == 24
        && key[..22].iter().all(alphabet)
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
        && &key[22..] == b"=="
}

/// What the server answers to `head`.
pub fn decide(head: &RequestHead, rules: &HandshakeRules) -> Decision {
    match check(head, rules) {
        Ok(Ok(upgrade)) => Decision::Upgrade(upgrade),
        Ok(Err(response)) => Decision::Respond(response),
        Err(refusal) => Decision::Refuse(refusal),
    }
}

const NOT_WEBSOCKET: &str = "this is a WebSocket MCP endpoint: connect with a WebSocket client \
                             (ws:// or wss://) offering the subprotocol `mcp`";

/// The Host and Origin checks every request passes, WebSocket upgrade or Streamable HTTP.
fn check_host_and_origin(head: &RequestHead, rules: &HandshakeRules) -> Result<(), Refusal> {
    // RFC 9112 §3.2: more than one Host is a 400; so is more than one Origin (RFC 6454 §7.3
    // allows one), rather than checking the first and letting the second through.
    if head.headers_named("host").count() > 1 {
        return Err(Refusal::new(400, "the request has more than one Host header"));
    }
    if head.headers_named("origin").count() > 1 {
        return Err(Refusal::new(400, "the request has more than one Origin header"));
    }
    let Some(host) = rules.proxies.host(head) else {
        return Err(Refusal::new(400, "the request has no Host header"));
    };
    if !host_allowed(host, &rules.hosts, head.local) {
        return Err(Refusal::new(403, "this Host is not served here (DNS rebinding protection)"));
    }
    if let Some(origin) = head.header("origin") {
        if !origin_allowed(origin, &rules.origins, head.local) {
            return Err(Refusal::new(403, "this Origin is not allowed"));
        }
    }
    Ok(())
}

/// [`OriginPolicy::Required`]: a request to the endpoint without `Origin` is refused.
fn check_origin_present(head: &RequestHead, rules: &HandshakeRules) -> Result<(), Refusal> {
    if matches!(rules.origins, OriginPolicy::Required(_)) && head.header("origin").is_none() {
        return Err(Refusal::new(403, "this endpoint serves only its own pages (no Origin)"));
    }
    Ok(())
}

/// Whether `head` is a Streamable HTTP request on the endpoint (`POST`, `DELETE`, or a `GET`
/// without `Upgrade: websocket` that accepts `text/event-stream`), to be served by the
/// Streamable HTTP server instead of [`decide`].
pub fn is_streamable_http(head: &RequestHead, rules: &HandshakeRules) -> bool {
    let upgrading = head.has_token("upgrade", "websocket");
    head.path() == rules.path
        && head.minor_version >= 1
        && !upgrading
        && match head.method.as_str() {
            "POST" | "DELETE" => true,
            "GET" => head
                .headers_named("accept")
                .any(|accept| mcp_ws_core::streamable::accepts(accept, "text/event-stream")),
            _ => false,
        }
}

/// The checks of one Streamable HTTP request, the same policy code as the upgrade's: Host
/// and Origin (403), the drain (503), the authenticator (its answer, 401 for a bad token).
pub fn check_http_request(
    head: &RequestHead,
    rules: &HandshakeRules,
) -> Result<Option<Principal>, Refusal> {
    check_host_and_origin(head, rules)?;
    check_origin_present(head, rules)?;
    if rules.drain.is_draining() {
        return Err(Drain::refusal());
    }
    match &rules.auth {
        None => Ok(None),
        Some(auth) => match auth.authenticate(&AuthRequest { head, subprotocol: None }) {
            AuthDecision::Allow(principal) => Ok(Some(principal)),
            AuthDecision::Refuse(refusal) => Err(refusal),
        },
    }
}

/// `Ok(Ok(_))` upgrades, `Ok(Err(_))` is a plain answer, `Err(_)` a refusal.
fn check(
    head: &RequestHead,
    rules: &HandshakeRules,
) -> Result<Result<Upgrade, PlainResponse>, Refusal> {
    if head.minor_version < 1 {
        return Err(Refusal::new(400, "the WebSocket upgrade needs HTTP/1.1"));
    }
    if head.method != "GET" {
        return Err(Refusal::new(405, format!("{NOT_WEBSOCKET}; it answers only GET"))
            .header("Allow", "GET"));
    }
    check_host_and_origin(head, rules)?;
    let upgrading =
        head.has_token("upgrade", "websocket") && head.has_token("connection", "upgrade");
    if !upgrading {
        if let Some(response) = rules.plain.as_ref().and_then(|plain| plain.answer(head)) {
            return Ok(Err(response));
        }
    }
    if head.path() != rules.path {
        return Err(Refusal::new(404, format!("no MCP endpoint at this path; try {}", rules.path)));
    }
    if !upgrading {
        return Err(Refusal::new(426, NOT_WEBSOCKET)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade"));
    }
    check_origin_present(head, rules)?;
    if head.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(Refusal::new(426, "only WebSocket version 13 is spoken here")
            .header("Sec-WebSocket-Version", "13"));
    }
    let key = match head.header("sec-websocket-key") {
        Some(key) if valid_key(key) => key.trim(),
        _ => return Err(Refusal::new(400, "missing or malformed Sec-WebSocket-Key")),
    };
    if rules.drain.is_draining() {
        return Err(Drain::refusal());
    }
    let offers: Vec<&str> = head.headers_named("sec-websocket-protocol").collect();
    let subprotocol = subprotocol::server_select(&offers, &rules.versions);
    let only_tokens = {
        let mut names = offers.iter().flat_map(|v| v.split(',')).map(str::trim);
        names.clone().next().is_some()
            && names.all(|name| name.starts_with(subprotocol::AUTH_PREFIX))
    };
    if subprotocol.is_none() && only_tokens {
        // A browser fails a 101 that selects nothing, and one that selects what it did not
        // offer; the token is never echoed. Say what to offer instead.
        return Err(Refusal::new(
            400,
            "offer the subprotocol `mcp` beside the token: new WebSocket(url, ['mcp', \
             'mcp.auth.<token>'])",
        ));
    }
    let principal = match &rules.auth {
        None => None,
        Some(auth) => {
            let request = AuthRequest { head, subprotocol: subprotocol.as_deref() };
            match auth.authenticate(&request) {
                AuthDecision::Allow(principal) => Some(principal),
                AuthDecision::Refuse(refusal) => return Err(refusal),
            }
        }
    };
    Ok(Ok(Upgrade { subprotocol, principal, accept: derive_accept_key(key.as_bytes()) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::auth::StaticToken;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn rules() -> HandshakeRules {
        HandshakeRules {
            path: "/mcp".into(),
            versions: ProtocolVersion::ALL.to_vec(),
            origins: OriginPolicy::Default,
            hosts: HostPolicy::Default,
            auth: None,
            plain: None,
            drain: Drain::new(),
            proxies: TrustedProxies::none(),
        }
    }

    fn head(extra: &[(&str, &str)]) -> RequestHead {
        let mut headers: Vec<(String, String)> = [
            ("host", "127.0.0.1:8765"),
            ("upgrade", "websocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", KEY),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        for (name, value) in extra {
            headers.retain(|(n, _)| n != name);
            if !value.is_empty() {
                headers.push((name.to_string(), value.to_string()));
            }
        }
        RequestHead {
            method: "GET".into(),
            target: "/mcp".into(),
            minor_version: 1,
            headers,
            peer: None,
            local: Some("127.0.0.1:8765".parse().unwrap()),
        }
    }

    fn refusal(head: &RequestHead, rules: &HandshakeRules) -> Refusal {
        match decide(head, rules) {
            Decision::Refuse(r) => r,
            Decision::Upgrade(u) => panic!("upgraded: {u:?}"),
            Decision::Respond(p) => panic!("answered: {p:?}"),
        }
    }

    fn upgrade(head: &RequestHead, rules: &HandshakeRules) -> Upgrade {
        match decide(head, rules) {
            Decision::Upgrade(u) => u,
            Decision::Refuse(r) => panic!("refused: {r:?}"),
            Decision::Respond(p) => panic!("answered: {p:?}"),
        }
    }

    #[test]
    fn a_good_request_gets_the_rfc_accept_key_and_mcp() {
        let u =
            upgrade(&head(&[("sec-websocket-protocol", "mcp, mcp.version.2025-11-25")]), &rules());
        assert_eq!(u.subprotocol.as_deref(), Some("mcp"));
        let text = String::from_utf8(u.response()).unwrap();
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{text}");
        assert!(text.ends_with("Sec-WebSocket-Protocol: mcp\r\n\r\n"));
    }

    #[test]
    fn every_malformed_request_gets_its_status() {
        let r = rules();
        let mut h = head(&[]);
        h.minor_version = 0;
        assert_eq!(refusal(&h, &r).status(), 400);
        let mut h = head(&[]);
        h.method = "POST".into();
        let post = refusal(&h, &r);
        assert_eq!((post.status(), post.headers()[0].1.as_str()), (405, "GET"));
        assert_eq!(refusal(&head(&[("host", "")]), &r).status(), 400);
        let plain = refusal(&head(&[("upgrade", ""), ("connection", "")]), &r);
        assert_eq!(plain.status(), 426);
        assert!(plain.headers().contains(&("Upgrade".into(), "websocket".into())));
        let v8 = refusal(&head(&[("sec-websocket-version", "8")]), &r);
        assert_eq!(v8.status(), 426);
        assert!(v8.headers().contains(&("Sec-WebSocket-Version".into(), "13".into())));
        assert_eq!(refusal(&head(&[("sec-websocket-key", "short")]), &r).status(), 400);
        assert_eq!(refusal(&head(&[("sec-websocket-key", "")]), &r).status(), 400);
        let mut h = head(&[]);
        h.target = "/other".into();
        let missing = refusal(&h, &r);
        assert_eq!(missing.status(), 404);
        assert!(missing.reason().contains("try /mcp"));
    }

    #[test]
    fn on_loopback_only_loopback_origins_and_hosts_pass_by_default() {
        let r = rules();
        upgrade(&head(&[]), &r);
        upgrade(&head(&[("origin", "http://localhost:3000")]), &r);
        upgrade(&head(&[("origin", "https://127.0.0.1")]), &r);
        upgrade(&head(&[("origin", "http://[::1]:9")]), &r);
        upgrade(&head(&[("host", "localhost:1"), ("origin", "http://LOCALHOST:5")]), &r);
        for origin in ["http://evil.example", "null", "http://localhost.evil.example", "file://"] {
            assert_eq!(refusal(&head(&[("origin", origin)]), &r).status(), 403, "{origin}");
        }
        assert_eq!(refusal(&head(&[("host", "evil.example:8765")]), &r).status(), 403);
    }

    #[test]
    fn off_loopback_browsers_need_an_allowlist_and_any_host_passes() {
        let mut r = rules();
        let mut h = head(&[("host", "mcp.example.com"), ("origin", "https://app.example.com")]);
        h.local = Some("0.0.0.0:8765".parse().unwrap());
        assert_eq!(refusal(&h, &r).status(), 403);
        r.origins = OriginPolicy::List(vec!["https://APP.example.com".into()]);
        upgrade(&h, &r);
        r.origins = OriginPolicy::Any;
        upgrade(&h, &r);
        let mut h = head(&[("host", "evil.example")]);
        h.local = None;
        upgrade(&h, &r);
    }

    #[test]
    fn a_required_origin_list_refuses_the_endpoint_without_origin_but_serves_the_page() {
        let mut r = rules();
        r.origins = OriginPolicy::Required(vec!["http://127.0.0.1:8765".into()]);
        r.plain =
            Some(PlainHttp::routes([("/".to_string(), PlainResponse::ok("text/html", "page"))]));
        upgrade(&head(&[("origin", "http://127.0.0.1:8765")]), &r);
        assert_eq!(refusal(&head(&[]), &r).status(), 403);
        assert_eq!(refusal(&head(&[("origin", "http://127.0.0.1:8766")]), &r).status(), 403);
        // The page itself is a plain GET: a navigation carries no Origin.
        let mut page = head(&[("upgrade", ""), ("connection", "")]);
        page.target = "/".into();
        assert!(matches!(decide(&page, &r), Decision::Respond(_)));
        // Streamable HTTP on the endpoint needs the Origin too.
        let mut post = head(&[("upgrade", ""), ("connection", "")]);
        post.method = "POST".into();
        assert_eq!(check_http_request(&post, &r).err().map(|e| e.status()), Some(403));
        let mut own =
            head(&[("upgrade", ""), ("connection", ""), ("origin", "http://127.0.0.1:8765")]);
        own.method = "POST".into();
        assert!(check_http_request(&own, &r).is_ok());
    }

    #[test]
    fn a_host_allowlist_admits_a_proxied_name() {
        let mut r = rules();
        r.hosts = HostPolicy::List(vec!["mcp.example.com".into()]);
        upgrade(&head(&[("host", "MCP.example.com:443")]), &r);
        assert_eq!(refusal(&head(&[("host", "127.0.0.1:8765")]), &r).status(), 403);
    }

    #[test]
    fn the_token_is_checked_from_the_header_or_the_subprotocol_and_never_echoed() {
        let mut r = rules();
        r.auth = Some(AuthCheck::new(StaticToken::new("s3cr3t")));
        let missing = refusal(&head(&[]), &r);
        assert_eq!(missing.status(), 401);
        assert_eq!(missing.headers()[0], ("WWW-Authenticate".into(), "Bearer".into()));
        let wrong = refusal(&head(&[("authorization", "Bearer nope")]), &r);
        assert_eq!(wrong.status(), 401);
        assert!(!String::from_utf8(wrong.to_bytes()).unwrap().contains("nope"));
        let u = upgrade(&head(&[("authorization", "bearer s3cr3t")]), &r);
        assert_eq!(u.principal.unwrap().name(), "token");
        let h = head(&[("sec-websocket-protocol", "mcp, mcp.auth.s3cr3t")]);
        let u = upgrade(&h, &r);
        assert_eq!(u.subprotocol.as_deref(), Some("mcp"));
        assert!(!String::from_utf8(u.response()).unwrap().contains("s3cr3t"));
        assert!(!format!("{h:?}").contains("s3cr3t"));
        let h = head(&[("sec-websocket-protocol", "mcp, mcp.auth.wrong")]);
        assert_eq!(refusal(&h, &r).status(), 401);
    }

    #[test]
    fn heads_are_parsed_incrementally_and_garbage_is_a_400() {
        let bytes = b"GET /mcp HTTP/1.1\r\nHost: a\r\n\r\nFRAME";
        assert!(matches!(parse_head(&bytes[..20]), HeadParse::Partial));
        match parse_head(bytes) {
            HeadParse::Complete { head, len } => {
                assert_eq!(&bytes[len..], b"FRAME");
                assert_eq!(head.header("host"), Some("a"));
            }
            other => panic!("{other:?}"),
        }
        match parse_head(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") {
            HeadParse::Invalid(r) => assert_eq!(r.status(), 400),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_gets_are_answered_by_the_hook_after_the_host_and_origin_checks() {
        let mut r = rules();
        let page = PlainResponse::ok("text/html", b"<p>hi</p>".to_vec());
        r.plain = Some(PlainHttp::routes([("/".to_string(), page.clone())]));
        let mut h = head(&[("upgrade", ""), ("connection", "")]);
        h.target = "/?x=1".into();
        match decide(&h, &r) {
            Decision::Respond(p) => assert_eq!(p, page),
            other => panic!("{other:?}"),
        }
        let text = String::from_utf8(page.to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"), "{text}");
        assert!(text.ends_with("Content-Length: 9\r\nConnection: close\r\n\r\n<p>hi</p>"));
        // DNS rebinding and foreign origins get 403, not the page.
        let mut rebound = h.clone();
        rebound.headers.push(("host".into(), "evil.example".into()));
        rebound.headers.retain(|(n, v)| n != "host" || v == "evil.example");
        assert_eq!(refusal(&rebound, &r).status(), 403);
        let mut foreign = h.clone();
        foreign.headers.push(("origin".into(), "http://evil.example".into()));
        assert_eq!(refusal(&foreign, &r).status(), 403);
        // What the hook does not serve keeps today's answers; upgrades never reach it.
        let mut other = h.clone();
        other.target = "/other".into();
        assert_eq!(refusal(&other, &r).status(), 404);
        let mut endpoint = h.clone();
        endpoint.target = "/mcp".into();
        assert_eq!(refusal(&endpoint, &r).status(), 426);
        r.plain = Some(PlainHttp::new(|_| Some(PlainResponse::ok("text/plain", "x"))));
        upgrade(&head(&[]), &r);
        let mut post = h.clone();
        post.method = "POST".into();
        assert_eq!(refusal(&post, &r).status(), 405);
    }

    #[test]
    fn while_draining_upgrades_get_503_with_retry_after_and_plain_gets_their_answer() {
        let mut r = rules();
        r.plain = Some(PlainHttp::routes([(
            "/healthz".to_string(),
            PlainResponse::ok("text/plain", "ok"),
        )]));
        upgrade(&head(&[]), &r);
        r.drain.start();
        let refused = refusal(&head(&[]), &r);
        assert_eq!(refused.status(), 503);
        assert!(refused.headers().contains(&("Retry-After".into(), "1".into())));
        let mut probe = head(&[("upgrade", ""), ("connection", "")]);
        probe.target = "/healthz".into();
        assert!(matches!(decide(&probe, &r), Decision::Respond(p) if p.status == 200));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_host_that_is_checked() {
        let mut r = rules();
        r.hosts = HostPolicy::List(vec!["mcp.example.com".into()]);
        let mut h = head(&[("host", "127.0.0.1:8765"), ("x-forwarded-host", "mcp.example.com")]);
        h.peer = Some("127.0.0.1:5000".parse().unwrap());
        assert_eq!(refusal(&h, &r).status(), 403, "the header is ignored from anyone");
        r.proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
        upgrade(&h, &r);
    }

    #[test]
    fn two_host_or_two_origin_headers_are_a_400() {
        let r = rules();
        let mut h = head(&[]);
        h.headers.push(("host".into(), "evil.example".into()));
        assert_eq!(refusal(&h, &r).status(), 400, "two Host headers (RFC 9112 §3.2)");
        let mut h = head(&[("origin", "http://127.0.0.1:3000")]);
        h.headers.push(("origin".into(), "http://evil.example".into()));
        assert_eq!(refusal(&h, &r).status(), 400, "two Origin headers");
        // The same with the allowlists and `Any`: a duplicate is malformed whatever the policy.
        let mut any = rules();
        any.hosts = HostPolicy::Any;
        any.origins = OriginPolicy::Any;
        assert_eq!(refusal(&h, &any).status(), 400);
    }

    #[test]
    fn an_origin_that_does_not_parse_is_refused() {
        let r = rules();
        for origin in [
            "http://[::1",
            "http://[::1]:x",
            "http://127.0.0.1:99999",
            "http://localhost/path",
            "http://user@localhost",
            "http://",
            "localhost",
            "http://local host",
        ] {
            let status = refusal(&head(&[("origin", origin)]), &r).status();
            assert!(status == 400 || status == 403, "{origin}: {status}");
        }
        assert_eq!(refusal(&head(&[("origin", "http://[::1")]), &r).status(), 403);
        upgrade(&head(&[("origin", "http://[::1]:9")]), &r);
        upgrade(&head(&[("origin", "null")]), &rules_with_any_origin());
    }

    fn rules_with_any_origin() -> HandshakeRules {
        let mut r = rules();
        r.origins = OriginPolicy::Any;
        r
    }

    #[test]
    fn the_426_has_one_connection_header() {
        let plain = refusal(&head(&[("upgrade", ""), ("connection", "")]), &rules());
        let text = String::from_utf8(plain.to_bytes()).unwrap();
        let connection: Vec<&str> = text
            .lines()
            .filter(|line| line.to_ascii_lowercase().starts_with("connection:"))
            .collect();
        assert_eq!(connection, ["Connection: Upgrade, close"], "{text}");
        assert!(text.contains("\r\nUpgrade: websocket\r\n"), "{text}");
    }

    #[test]
    fn a_browser_offering_only_a_token_is_told_to_offer_mcp_too() {
        // Browsers fail a 101 that selects nothing, and one that selects what they did not
        // offer; the token is never echoed. So the answer is a refusal that says what to offer.
        let mut r = rules();
        r.auth = Some(AuthCheck::new(StaticToken::new("s3cr3t")));
        let h = head(&[("sec-websocket-protocol", "mcp.auth.s3cr3t")]);
        let refused = refusal(&h, &r);
        assert_eq!(refused.status(), 400);
        assert!(refused.reason().contains("['mcp', 'mcp.auth.<token>']"), "{refused:?}");
        assert!(!String::from_utf8(refused.to_bytes()).unwrap().contains("s3cr3t"));
        // Without authentication too: nothing could be selected.
        let h = head(&[("sec-websocket-protocol", "mcp.auth.x")]);
        assert_eq!(refusal(&h, &rules()).status(), 400);
        // With `mcp` beside it, `mcp` is selected.
        let h = head(&[("sec-websocket-protocol", "mcp.auth.s3cr3t, mcp")]);
        assert_eq!(upgrade(&h, &r).subprotocol.as_deref(), Some("mcp"));
    }

    #[test]
    fn a_head_fed_a_byte_at_a_time_is_parsed_in_linear_time() {
        let mut text = String::from("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n");
        for i in 0..20 {
            text.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(100)));
        }
        text.push_str("\r\nFRAME");
        let bytes = text.as_bytes();
        let mut reader = HeadReader::new(16 * 1024);
        let mut complete = None;
        for byte in bytes {
            match reader.push(std::slice::from_ref(byte)) {
                HeadParse::Partial => {}
                HeadParse::Complete { head, len } => {
                    complete = Some((head, len));
                    break;
                }
                HeadParse::Invalid(r) => panic!("{r:?}"),
            }
        }
        let (head, len) = complete.expect("complete");
        assert_eq!(head.header("host"), Some("127.0.0.1:8765"));
        assert_eq!(&bytes[len..len + 1], b"F");
        // One parse per completed line at most (the old reader parsed after every byte:
        // bytes.len() parses of up to bytes.len() bytes each).
        let lines = text.matches("\r\n").count();
        assert!(reader.parses() <= lines + 1, "{} parses for {lines} lines", reader.parses());
        assert!(
            reader.scanned() <= bytes.len() * (lines + 1),
            "{} bytes scanned",
            reader.scanned()
        );
        // Garbage is still refused as soon as it arrives, not after the head limit.
        let mut reader = HeadReader::new(16 * 1024);
        assert!(matches!(
            reader.push(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            HeadParse::Invalid(r) if r.status() == 400
        ));
        // And a head over the limit is a 431.
        let mut reader = HeadReader::new(64);
        let big = format!("GET /mcp HTTP/1.1\r\nX: {}\r\n", "v".repeat(100));
        assert!(matches!(reader.push(big.as_bytes()), HeadParse::Invalid(r) if r.status() == 431));
    }

    #[test]
    fn a_refusal_is_a_complete_http_response() {
        let text = String::from_utf8(Refusal::new(404, "try /mcp").to_bytes()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 9\r\nConnection: close\r\n\r\ntry /mcp\n"
        );
    }
}
