//! The MCP endpoint as an axum handler, beside your other routes and behind your middleware.
//!
//! ```no_run
//! use axum::routing::get;
//! use mcp_ws::prelude::*;
//!
//! # async fn run() -> std::io::Result<()> {
//! let mcp = mcp_ws::server(Router::new(), ServerConfig::new(Implementation::new("app", "1")));
//! let app = axum::Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .route("/mcp", axum::routing::any(mcp_ws::axum::handler(mcp)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8765").await?;
//! let app = app.into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! How it meets the driver: the handler does not use axum's `WebSocketUpgrade` (whose
//! `WebSocket` has its own message type). It builds the driver's
//! [`RequestHead`] from the request, runs the same
//! pure [`decide`] as every other server of this project
//! (Origin and Host policies, the authenticator, subprotocol selection, `Sec-WebSocket-*`
//! checks), answers a refusal with its status, headers and reason, and otherwise answers the
//! driver's own `101` and takes the upgraded connection from hyper as raw bytes, on which the
//! driver's WebSocket and connection loop run as for a connection it accepted itself
//! ([`Server::serve_websocket_permitted`](crate::Server::serve_websocket_permitted), after [`Server::admit`](crate::Server::admit)). One loop, one set of
//! checks.
//!
//! Streamable HTTP on the same route (mount it with `axum::routing::any`, or `get` + `post` +
//! `delete`): a `POST`, a `DELETE` or an SSE `GET` without `Upgrade: websocket` is answered by
//! the driver's own Streamable HTTP server ([`Server::serve_http_request`](crate::Server::serve_http_request)),
//! both eras: legacy sessions (`Mcp-Session-Id`, caps, idle expiry, `Last-Event-ID`) and
//! 2026-07-28 sessionless requests, after the same Host, Origin, drain and token checks as on
//! the driver's listener. One session table, one set of checks, whichever way the request came.
//!
//! The connection caps ([`ServerConfig::limits`](crate::ServerConfig)) apply as on the driver's
//! own listener: over them, an upgrade or an HTTP request gets 503 with `Retry-After` (each
//! HTTP request holds a place while it is answered, as a connection does on the driver's
//! listener, and each legacy session or 2026-07-28 request one while it lives).
//!
//! The route decides the path: the handler serves whatever route it is mounted on
//! (`ServerConfig::path` is not checked here). The loopback defaults of the Origin and Host
//! policies need the local address, so an app served without connect info (plain
//! `axum::serve(listener, app)`) answers every upgrade 500 with what to add, and logs it as an
//! error. Serve with
//! `into_make_service_with_connect_info::<mcp_ws::axum::Addrs>()` (peer and local address),
//! or with `ConnectInfo<SocketAddr>` (peer only; then set explicit
//! [`OriginPolicy`](crate::OriginPolicy) and [`HostPolicy`](crate::HostPolicy) lists for
//! browsers).
//!
//! Metrics: the handler and the connections it serves record the same
//! [`metrics`] as the driver's own listener; install any `metrics`
//! recorder (e.g. `metrics-exporter-prometheus`) and serve its page on a route of yours.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, Version};
use axum::serve::IncomingStream;
use mcp_ws_driver::async_tungstenite::WebSocketStream;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::protocol::Role;
use mcp_ws_driver::metrics;
use mcp_ws_driver::server::accept::{ConnectionAddrs, HandshakeConfig};
use mcp_ws_driver::server::handshake::{
    Decision, Refusal, RequestHead, decide, is_streamable_http,
};
use mcp_ws_driver::server::limits::Admission;
use mcp_ws_tokio::Tokio;

use crate::Server;

/// The future an MCP handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// The peer and local address of a connection, for
/// `into_make_service_with_connect_info::<Addrs>()`: the handler reads them to apply the
/// loopback defaults of the Origin and Host checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Addrs(pub ConnectionAddrs);

impl axum::extract::connect_info::Connected<IncomingStream<'_, tokio::net::TcpListener>> for Addrs {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Addrs(ConnectionAddrs {
            peer: Some(*stream.remote_addr()),
            local: stream.io().local_addr().ok(),
        })
    }
}

/// An axum handler serving `server`'s MCP endpoint: `any(mcp_ws::axum::handler(server))`
/// (WebSocket upgrades and Streamable HTTP), or `get(...)` for WebSocket only. See the
/// [module docs](self) for how requests are checked and upgraded.
pub fn handler(server: Server<Tokio>) -> impl Fn(Request) -> HandlerFuture + Clone + Send + Sync {
    let handshake = Arc::new(server.config().handshake_config());
    move |request| {
        let server = server.clone();
        let handshake = handshake.clone();
        Box::pin(async move {
            match streamable_http(&request, &handshake) {
                Some(head) => answer_http(server, head, request).await,
                None => answer(server, &handshake, request),
            }
        })
    }
}

/// The request's head when it is a Streamable HTTP request (not an upgrade) and the app was
/// served with connect info (without it, [`answer`] says what to add).
fn streamable_http(request: &Request, handshake: &HandshakeConfig) -> Option<RequestHead> {
    let head = request_head(request, &handshake.rules.path)?;
    is_streamable_http(&head, &handshake.rules).then_some(head)
}

/// A Streamable HTTP request, answered by the driver's HTTP server under the connection caps.
async fn answer_http(server: Server<Tokio>, head: RequestHead, request: Request) -> Response<Body> {
    let _permit = match server.admit(head.peer) {
        Admission::Admitted(permit) => permit,
        Admission::Refuse(refusing) => return refusal_response(&refusing.refusal()),
        Admission::Drop(busy) => return refusal_response(&server_busy(&busy)),
    };
    let response = server.serve_http_request(head, request.into_body()).await;
    response.map(Body::new)
}

fn answer(
    server: Server<Tokio>,
    handshake: &HandshakeConfig,
    mut request: Request,
) -> Response<Body> {
    let Some(head) = request_head(&request, &handshake.rules.path) else {
        tracing::error!("{NO_CONNECT_INFO}");
        return refusal_response(&Refusal::new(500, NO_CONNECT_INFO));
    };
    // The same admission as the driver's own listener: the connection caps first, then the
    // checks of `decide`.
    let permit = match server.admit(head.peer) {
        Admission::Admitted(permit) => permit,
        Admission::Refuse(refusing) => return refusal_response(&refusing.refusal()),
        // An HTTP server cannot drop the connection from a handler: the same 503.
        Admission::Drop(busy) => return refusal_response(&server_busy(&busy)),
    };
    let upgrade = match decide(&head, &handshake.rules) {
        Decision::Refuse(refusal) => {
            metrics::count_connection(metrics::refusal_outcome(refusal.status()));
            return refusal_response(&refusal);
        }
        Decision::Respond(plain) => {
            metrics::count_connection("http");
            return plain_response(plain);
        }
        Decision::Upgrade(upgrade) => {
            metrics::count_connection("accepted");
            upgrade
        }
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        // HTTP/2 or a server without upgrade support.
        let refusal =
            Refusal::new(426, "this server cannot upgrade this connection to a WebSocket");
        return refusal_response(&refusal.header("Upgrade", "websocket"));
    };
    let websocket = handshake.websocket;
    let principal = upgrade.principal.clone();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else { return };
        let io = TokioAdapter::new(hyper_util::rt::TokioIo::new(upgraded));
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(websocket)).await;
        server.serve_websocket_permitted(ws, principal, permit).await;
    });
    switching_protocols(&upgrade.response())
}

const NO_CONNECT_INFO: &str = "the MCP endpoint needs the connection's addresses for its \
                               Origin and Host checks: serve the axum app with \
                               `app.into_make_service_with_connect_info::<mcp_ws::axum::Addrs>()` \
                               (or `::<std::net::SocketAddr>()` with explicit Origin and Host \
                               lists)";

fn server_busy(busy: &mcp_ws_driver::server::limits::Busy) -> Refusal {
    Refusal::new(503, busy.to_string()).header("Retry-After", "1")
}

/// The driver's view of the request (the path is the endpoint's own: axum routed it here), or
/// `None` when the app was served without connect info.
fn request_head(request: &Request, path: &str) -> Option<RequestHead> {
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let addrs =
        request.extensions().get::<ConnectInfo<Addrs>>().map(|info| info.0.0).or_else(|| {
            let peer = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
            Some(ConnectionAddrs { peer: Some(peer.0), local: None })
        })?;
    Some(RequestHead {
        method: request.method().as_str().to_string(),
        target: format!("{path}{query}"),
        minor_version: if request.version() == Version::HTTP_10 { 0 } else { 1 },
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect(),
        peer: addrs.peer,
        local: addrs.local,
    })
}

fn refusal_response(refusal: &Refusal) -> Response<Body> {
    let mut response = Response::new(Body::from(format!("{}\n", refusal.reason())));
    *response.status_mut() =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    for (name, value) in refusal.headers() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A plain-HTTP answer of the server's [`mcp_ws_driver::PlainHttp`] hook (a GET without
/// `Upgrade` on the endpoint's route) as an axum response.
fn plain_response(plain: mcp_ws_driver::PlainResponse) -> Response<Body> {
    let mut response = Response::new(Body::from(plain.body));
    *response.status_mut() = StatusCode::from_u16(plain.status).unwrap_or(StatusCode::OK);
    for (name, value) in &plain.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str()))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The driver's `101` answer (raw bytes) as an HTTP response for hyper to send.
fn switching_protocols(raw: &[u8]) -> Response<Body> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    if parsed.parse(raw).is_ok() {
        for header in parsed.headers.iter() {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(header.name), HeaderValue::from_bytes(header.value))
            {
                response.headers_mut().append(name, value);
            }
        }
    }
    response
}
