//! Streamable HTTP on the endpoint path, legacy era (2025-03-26 … 2025-11-25), served by hyper.
//!
//! [`super::accept`] hands over a connection whose first request is a `POST`, a `DELETE` or an
//! SSE `GET` on the endpoint; hyper's HTTP/1.1 server reads it (and every keep-alive request
//! after it) through [`HyperIo`], an adapter over the futures-io stream, so tokio and smol both
//! work. Each request passes the same Host/Origin/token policy as an upgrade
//! ([`super::handshake::check_http_request`]) and the routing table of
//! [`mcp_ws_core::streamable::route`].
//!
//! A session is the same core session and connection loop as a WebSocket's
//! ([`super::Server::serve_messages`] over a [`super::message_pipe`]); a dispatcher task reads
//! what the loop writes and sends it where [`OutgoingRouter`] says: a request's answer and
//! progress on that POST's response (an SSE stream when the client accepts one, else the
//! answer alone as JSON), everything else on the GET stream (kept, up to
//! [`STANDALONE_BUFFER`] messages, while none is open).
//!
//! A sessionless `POST` of the 2026-07-28 era goes to [`super::http_stateless`].
//!
//! Not yet: `Last-Event-ID` resumption, idle expiry sweeps (idle sessions are found expired on
//! their next request only).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::io::{AsyncRead, AsyncWrite};
use futures_util::{SinkExt, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame as BodyFrame, Incoming};
use hyper::{Request, Response};
use mcp_ws_core::sse::SseEvent;
use mcp_ws_core::streamable::{
    Destination, HttpRequestView, HttpRoute, HttpSessions, OutgoingRouter, SessionLimits, route,
};
use mcp_ws_core::{Frame, Message, decode};

use super::Server;
use super::accept::ConnectionAddrs;
use super::handshake::{RequestHead, check_http_request};
use super::limits::Admission;
use super::message_pipe::{MessagePipe, PipeEnd};
use crate::runtime::Network;

/// Messages kept for the GET stream while none is open (the oldest dropped beyond).
pub const STANDALONE_BUFFER: usize = 256;

pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The HTTP sessions of one server.
pub(crate) struct HttpState {
    sessions: Mutex<HttpSessions<Arc<HttpSession>>>,
}

impl HttpState {
    pub(crate) fn new(limits: SessionLimits) -> HttpState {
        HttpState { sessions: Mutex::new(HttpSessions::new(limits)) }
    }
}

struct HttpSession {
    to_loop: mpsc::Sender<String>,
    routing: Mutex<Routing>,
}

#[derive(Default)]
struct Routing {
    router: OutgoingRouter,
    posts: HashMap<u64, mpsc::Sender<String>>,
    standalone: Option<mpsc::Sender<String>>,
    buffered: VecDeque<String>,
}

/// hyper's I/O traits over a futures-io stream.
pub(crate) struct HyperIo<T>(pub(crate) T);

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; 8192];
        let want = buf.remaining().min(chunk.len());
        let n = ready!(Pin::new(&mut self.0).poll_read(cx, &mut chunk[..want]))?;
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// Serves HTTP/1.1 requests on `io` until the client closes it.
pub(crate) async fn serve<N, T>(server: Server<N>, io: T, addrs: ConnectionAddrs)
where
    N: Network,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let server = server.clone();
        async move { Ok::<_, Infallible>(handle(server, addrs, request).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(HyperIo(io), service);
    if let Err(error) = connection.await {
        tracing::debug!(%error, "HTTP connection ended");
    }
}

pub(super) fn plain(status: u16, text: impl Into<String>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text.into())).boxed_unsync());
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
        .headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("text/plain"));
    response
}

fn request_head(request: &Request<Incoming>, addrs: ConnectionAddrs) -> RequestHead {
    RequestHead {
        method: request.method().as_str().to_string(),
        target: request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string(),
        minor_version: 1,
        headers: request
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_string()))
            })
            .collect(),
        peer: addrs.peer,
        local: addrs.local,
    }
}

async fn handle<N: Network>(
    server: Server<N>,
    addrs: ConnectionAddrs,
    request: Request<Incoming>,
) -> Response<Body> {
    let rules = &server.handshake.rules;
    let head = request_head(&request, addrs);
    let principal = match check_http_request(&head, rules) {
        Ok(principal) => principal,
        Err(refusal) => {
            let mut response = plain(refusal.status(), refusal.reason());
            for (name, value) in refusal.headers() {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(name.as_bytes()),
                    hyper::header::HeaderValue::from_str(value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            return response;
        }
    };
    if head.path() != rules.path {
        return plain(404, format!("no MCP endpoint at this path; try {}", rules.path));
    }
    let view = HttpRequestView {
        method: &head.method,
        accept: head.header("accept"),
        content_type: head.header("content-type"),
        session_id: head.header("mcp-session-id"),
        protocol_version: head.header("mcp-protocol-version"),
        last_event_id: head.header("last-event-id"),
    };
    let routed = match route(&view, &rules.versions) {
        Ok(routed) => routed,
        Err(refusal) => {
            let mut response = plain(refusal.status, refusal.reason);
            if let Some(allow) = refusal.allow {
                response
                    .headers_mut()
                    .insert("allow", hyper::header::HeaderValue::from_static(allow));
            }
            return response;
        }
    };
    let wants_sse = view
        .accept
        .is_some_and(|accept| mcp_ws_core::streamable::accepts(accept, "text/event-stream"));
    match routed {
        HttpRoute::PostWithoutSession | HttpRoute::PostInSession { .. } => {
            let session_id = match routed {
                HttpRoute::PostInSession { session_id } => Some(session_id.to_string()),
                _ => None,
            };
            let max = server.config.session.limits.max_message_bytes;
            let body = match Limited::new(request.into_body(), max).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return plain(413, format!("the body is over {max} bytes")),
            };
            let Ok(text) = String::from_utf8(body.to_vec()) else {
                return plain(400, "the body is not UTF-8");
            };
            let message = match decode(&text, &server.config.session.limits) {
                Ok(Frame::Single(message)) => message,
                Ok(Frame::Batch(_)) => return plain(400, "batches are not served over HTTP"),
                Err(_) => return plain(400, "the body is not a JSON-RPC message"),
            };
            if session_id.is_none() && super::http_stateless::is_stateless(&head, &message) {
                return super::http_stateless::post(server, &head, principal, message, text).await;
            }
            post(server, session_id, principal, message, text, wants_sse).await
        }
        HttpRoute::OpenStream { session_id, .. } => {
            let Some(session) = lookup(&server, session_id) else {
                return plain(404, "unknown or ended MCP session");
            };
            let (sender, receiver) = mpsc::channel(64);
            {
                let mut routing = session.routing.lock().expect("lock");
                if routing.standalone.as_ref().is_some_and(|s| !s.is_closed()) {
                    return plain(409, "this session already has a GET stream open");
                }
                let mut sender = sender;
                while let Some(text) = routing.buffered.pop_front() {
                    if sender.try_send(text).is_err() {
                        break;
                    }
                }
                routing.standalone = Some(sender);
            }
            sse_response(receiver, None)
        }
        HttpRoute::EndSession { session_id } => {
            let ended = server.state.http.sessions.lock().expect("lock").end(session_id);
            match ended {
                Some(_) => plain(200, ""),
                None => plain(404, "unknown or ended MCP session"),
            }
        }
    }
}

fn lookup<N: Network>(server: &Server<N>, session_id: &str) -> Option<Arc<HttpSession>> {
    let now = server.net.now();
    server.state.http.sessions.lock().expect("lock").touch(session_id, now).cloned()
}

fn sse_response(receiver: mpsc::Receiver<String>, session_id: Option<&str>) -> Response<Body> {
    let events = receiver.map(|text| {
        let mut wire = String::new();
        // A message never holds a bare CR or LF outside strings (compact JSON): one data line.
        let _ = SseEvent::new(text).with_event("message").encode(&mut wire);
        Ok::<_, Infallible>(BodyFrame::data(Bytes::from(wire)))
    });
    let mut response = Response::new(StreamBody::new(events).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert("content-type", hyper::header::HeaderValue::from_static("text/event-stream"));
    headers.insert("cache-control", hyper::header::HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", hyper::header::HeaderValue::from_static("no"));
    if let Some(id) = session_id.and_then(|id| hyper::header::HeaderValue::from_str(id).ok()) {
        headers.insert("mcp-session-id", id);
    }
    response
}

async fn post<N: Network>(
    server: Server<N>,
    session_id: Option<String>,
    principal: Option<super::auth::Principal>,
    message: Message,
    text: String,
    wants_sse: bool,
) -> Response<Body> {
    let (session_id, session, created) = match session_id {
        Some(id) => match lookup(&server, &id) {
            Some(session) => (id, session, false),
            None => return plain(404, "unknown or ended MCP session"),
        },
        None => {
            let is_initialize =
                matches!(&message, Message::Request(request) if request.method == "initialize");
            if !is_initialize {
                return plain(
                    400,
                    "missing Mcp-Session-Id: initialize first (or stamp the request 2026-07-28)",
                );
            }
            match open_session(&server, principal) {
                Ok((id, session)) => (id, session, true),
                Err(response) => return response,
            }
        }
    };
    let Message::Request(request) = &message else {
        let mut to_loop = session.to_loop.clone();
        if to_loop.send(text).await.is_err() {
            return plain(404, "the MCP session has ended");
        }
        return plain(202, "");
    };
    let (sender, mut receiver) = mpsc::channel(64);
    {
        let mut routing = session.routing.lock().expect("lock");
        let Some(stream) = routing.router.open(request) else {
            return plain(409, "a request with this id is already in progress");
        };
        routing.posts.insert(stream, sender);
    }
    let mut to_loop = session.to_loop.clone();
    if to_loop.send(text).await.is_err() {
        return plain(404, "the MCP session has ended");
    }
    let id_header = created.then_some(session_id.as_str());
    if wants_sse {
        return sse_response(receiver, id_header);
    }
    // JSON: the answer alone (what came before it is dropped: the client did not accept SSE).
    let mut last = None;
    while let Some(text) = receiver.next().await {
        last = Some(text);
    }
    let Some(answer) = last else {
        return plain(503, "the MCP session ended before answering");
    };
    let mut response = Response::new(Full::new(Bytes::from(answer)).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    if let Some(id) = id_header.and_then(|id| hyper::header::HeaderValue::from_str(id).ok()) {
        headers.insert("mcp-session-id", id);
    }
    response
}

/// Opens a session: a pipe, the connection loop on it, the dispatcher, a table entry.
#[allow(clippy::result_large_err)]
fn open_session<N: Network>(
    server: &Server<N>,
    principal: Option<super::auth::Principal>,
) -> Result<(String, Arc<HttpSession>), Response<Body>> {
    let permit = match server.admit(None) {
        Admission::Admitted(permit) => permit,
        Admission::Refuse(refusing) => return Err(plain(503, refusing.busy().to_string())),
        Admission::Drop(busy) => return Err(plain(503, busy.to_string())),
    };
    let mut random = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random).is_err() {
        return Err(plain(500, "no randomness for a session id"));
    }
    let (loop_end, PipeEnd { to_loop, from_loop }) = MessagePipe::default().open();
    let session = Arc::new(HttpSession { to_loop, routing: Mutex::new(Routing::default()) });
    let now = server.net.now();
    let id = {
        let mut sessions = server.state.http.sessions.lock().expect("lock");
        drop(sessions.expire(now));
        match sessions.create(now, random, session.clone()) {
            Ok(id) => id,
            Err((full, _)) => return Err(plain(503, full.to_string())),
        }
    };
    let serving = server.clone();
    server.net.spawn(async move { serving.serve_messages(loop_end, principal, permit).await });
    let dispatched = session.clone();
    let ending = server.clone();
    let ended_id = id.clone();
    server.net.spawn(async move {
        dispatch(dispatched, from_loop).await;
        ending.state.http.sessions.lock().expect("lock").end(&ended_id);
    });
    Ok((id, session))
}

/// Sends each message the loop writes where the router says, until the loop ends.
async fn dispatch(session: Arc<HttpSession>, mut from_loop: mpsc::Receiver<String>) {
    while let Some(text) = from_loop.next().await {
        let message = match decode(&text, &Default::default()) {
            Ok(Frame::Single(message)) => Some(message),
            _ => None,
        };
        let target = {
            let mut routing = session.routing.lock().expect("lock");
            let destination = match &message {
                Some(message) => routing.router.route(message),
                None => Destination::Standalone,
            };
            match destination {
                Destination::Request { stream, last } => {
                    if last {
                        routing.posts.remove(&stream)
                    } else {
                        routing.posts.get(&stream).cloned()
                    }
                }
                Destination::Standalone => match &routing.standalone {
                    Some(sender) if !sender.is_closed() => Some(sender.clone()),
                    _ => {
                        if routing.buffered.len() == STANDALONE_BUFFER {
                            routing.buffered.pop_front();
                        }
                        routing.buffered.push_back(text.clone());
                        None
                    }
                },
            }
        };
        if let Some(mut sender) = target {
            let _ = sender.send(text).await;
        }
    }
    let mut routing = session.routing.lock().expect("lock");
    routing.posts.clear();
    routing.standalone = None;
}
