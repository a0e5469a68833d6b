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
//! what the loop writes and sends it where [`OutgoingRouter`] says: a request's answer, its
//! progress and what its handler writes for it (logs, questions to the client: the pipe tags
//! them with the request's id) on that POST's response (an SSE stream when the client accepts
//! one, else the answer alone as JSON), everything else on the GET stream (kept, up to
//! [`STANDALONE_BUFFER`] messages, while none is open).
//!
//! Every SSE stream starts with a priming event (an id, no data) and every event carries an id
//! from the session's [`ReplayBuffer`]: a `GET` with `Last-Event-ID` gets that stream's events
//! after it (and, for a POST's stream whose request is still running, the rest of it), or 410
//! when some of them are no longer kept.
//!
//! A session ends on `DELETE`, when it has been idle (no request, no stream open) for
//! [`SessionLimits::idle_timeout`] (a sweep on the runtime's timer finds it; the decision is
//! [`HttpSessions::expire_unless`]'s), or when its loop ends (a drain, a protocol error).
//! Ending it drops the pipe's sender: the loop ends, its handlers are cancelled, its place
//! under the connection caps is released and its streams close.
//!
//! A sessionless `POST` of the 2026-07-28 era goes to [`super::http_stateless`].

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::future::{Either, select};
use futures_util::io::{AsyncRead, AsyncWrite};
use futures_util::{SinkExt, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame as BodyFrame, Incoming};
use hyper::{Request, Response};
use mcp_ws_core::sse::SseEvent;
use mcp_ws_core::streamable::{
    Destination, HttpRequestView, HttpRoute, HttpSessions, NodeId, OutgoingRouter, ReplayBuffer,
    ResumeError, SessionLimits, route,
};
use mcp_ws_core::{Frame, Message, RequestId, decode};

use super::Server;
use super::accept::ConnectionAddrs;
use super::handshake::{RequestHead, check_http_request};
use super::limits::Admission;
use super::message_pipe::{MessagePipe, PipeEnd, Written};
use crate::metrics;
use crate::runtime::Network;

/// Messages kept for the GET stream while none is open (the oldest dropped beyond).
pub const STANDALONE_BUFFER: usize = 256;

/// The `retry` hint (milliseconds) of each stream's priming event: how long a client waits
/// before it reconnects a cut stream.
pub const RETRY_MS: u64 = 3000;

/// The stream number of the session's GET stream in event ids (POST streams count from 1).
const STANDALONE: u64 = 0;

/// The body of every Streamable HTTP response: the answer as JSON, an SSE stream, or a short
/// plain text for a refusal.
pub type HttpBody = UnsyncBoxBody<Bytes, Infallible>;

pub(super) type Body = HttpBody;

impl<N: Network> Server<N> {
    /// Answers one Streamable HTTP request on the endpoint (`POST`, `GET`, `DELETE`; both eras)
    /// exactly as this server's own listener does: the same checks (Host, Origin, drain, the
    /// authenticator: [`check_http_request`]), the same legacy session table (caps, idle expiry,
    /// `Last-Event-ID` resumption) and 2026-07-28 sessionless requests, each session or request
    /// admitted under [`super::ServerConfig::limits`]. For an embedding HTTP server (the axum
    /// handler): `head` is the request as [`handshake`](super::handshake) sees it, its path the
    /// endpoint's own (the embedding router chose the route, so the path is not checked here),
    /// `body` its body, read up to the message size limit.
    pub async fn serve_http_request<B>(&self, head: RequestHead, body: B) -> Response<HttpBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        respond(self.clone(), head, body, false).await
    }
}

/// The HTTP sessions of one server.
pub(crate) struct HttpState {
    table: Mutex<Table>,
}

struct Table {
    sessions: HttpSessions<Arc<HttpSession>>,
    /// Whether a sweep task is running (one per server, while sessions are open).
    sweeping: bool,
}

impl HttpState {
    pub(crate) fn new(limits: SessionLimits, node: Option<NodeId>) -> HttpState {
        let sessions = HttpSessions::new(limits).with_node(node);
        HttpState { table: Mutex::new(Table { sessions, sweeping: false }) }
    }
}

struct HttpSession {
    /// The pipe's sender, taken when the session ends: the loop then sees its transport end.
    to_loop: Mutex<Option<mpsc::Sender<String>>>,
    routing: Mutex<Routing>,
}

impl HttpSession {
    /// A sender into the session, while it has not ended.
    fn sender(&self) -> Option<mpsc::Sender<String>> {
        self.to_loop.lock().expect("lock").clone()
    }

    /// Ends the session: its loop ends once the senders in use (a POST handing over its
    /// message) are gone, cancelling its handlers; the dispatcher then closes its streams.
    fn end(&self) {
        self.to_loop.lock().expect("lock").take();
    }

    /// Whether a stream is open on it or one of its requests is in progress (it is not idle).
    fn in_use(&self) -> bool {
        let routing = self.routing.lock().expect("lock");
        !routing.posts.is_empty() || routing.standalone.as_ref().is_some_and(|s| !s.is_closed())
    }
}

/// Where a POST's messages go.
struct Post {
    /// Its response stream; `None` once the client dropped it (its events are still numbered
    /// and kept, for a `GET` with `Last-Event-ID` to pick up).
    sender: Option<mpsc::Sender<String>>,
    /// An SSE stream (else a JSON answer: only the answer is sent).
    sse: bool,
}

struct Routing {
    router: OutgoingRouter,
    replay: ReplayBuffer,
    posts: HashMap<u64, Post>,
    standalone: Option<mpsc::Sender<String>>,
    /// Encoded events (with their ids) for the GET stream while none is open.
    buffered: VecDeque<String>,
}

impl Routing {
    fn new(replay_events: usize) -> Routing {
        Routing {
            router: OutgoingRouter::new(),
            replay: ReplayBuffer::new(replay_events),
            posts: HashMap::new(),
            standalone: None,
            buffered: VecDeque::new(),
        }
    }

    /// A priming event for a new `stream`: its current position and the retry hint.
    fn priming(&mut self, stream: u64) -> String {
        let id = self.replay.position(stream);
        let mut wire = String::new();
        let _ = SseEvent::new("").with_id(id).with_retry(RETRY_MS).encode(&mut wire);
        wire
    }

    /// Numbers `text` as the next event of `stream`, keeps it, and encodes it.
    fn event(&mut self, stream: u64, text: &str) -> String {
        let id = self.replay.push(stream, text.to_string());
        encode_event(&id, text)
    }

    /// Where a message goes, numbered and encoded for an SSE stream: the sender, the event
    /// and the stream; `None` when it waits for a GET stream, or is not sent (progress of a
    /// request answered as JSON).
    fn deliver(
        &mut self,
        destination: Destination,
        text: &str,
        related: Option<&RequestId>,
    ) -> Option<(mpsc::Sender<String>, String, u64)> {
        let destination = match destination {
            Destination::Request { stream, last } => match self.posts.get(&stream).map(|p| p.sse) {
                Some(true) => {
                    let event = self.event(stream, text);
                    let sender = match last {
                        true => self.posts.remove(&stream).and_then(|post| post.sender),
                        false => self.posts.get(&stream).and_then(|post| post.sender.clone()),
                    };
                    return sender.map(|sender| (sender, event, stream));
                }
                Some(false) if last => {
                    let sender = self.posts.remove(&stream).and_then(|post| post.sender);
                    return sender.map(|sender| (sender, text.to_string(), stream));
                }
                // A JSON answer has no room for what comes before it: what the handler wrote
                // (a log, a question to the client) goes to the GET stream, progress nowhere.
                Some(false) if related.is_some() => Destination::Standalone,
                Some(false) => return None,
                None => Destination::Standalone,
            },
            Destination::Standalone => Destination::Standalone,
        };
        debug_assert_eq!(destination, Destination::Standalone);
        let event = self.event(STANDALONE, text);
        match &self.standalone {
            Some(sender) if !sender.is_closed() => Some((sender.clone(), event, STANDALONE)),
            _ => {
                self.buffer(event);
                None
            }
        }
    }

    /// The client dropped `stream` (sending to it failed). A POST's stream: its later events
    /// are still numbered and kept, for a `GET` with `Last-Event-ID`. The GET stream: `event`
    /// waits for the next one.
    fn lost(&mut self, stream: u64, event: Option<String>) {
        if stream == STANDALONE {
            if self.standalone.as_ref().is_some_and(|sender| sender.is_closed()) {
                self.standalone = None;
            }
            if let Some(event) = event {
                self.buffer(event);
            }
        } else if let Some(post) = self.posts.get_mut(&stream) {
            if post.sender.as_ref().is_some_and(|sender| sender.is_closed()) {
                post.sender = None;
            }
        }
    }

    fn buffer(&mut self, event: String) {
        if self.buffered.len() == STANDALONE_BUFFER {
            self.buffered.pop_front();
        }
        self.buffered.push_back(event);
    }
}

fn encode_event(id: &str, text: &str) -> String {
    let mut wire = String::new();
    // A message never holds a bare CR or LF outside strings (compact JSON): one data line.
    let _ = SseEvent::new(text).with_event("message").with_id(id).encode(&mut wire);
    wire
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
    let head = request_head(&request, addrs);
    respond(server, head, request.into_body(), true).await
}

/// Answers one request whose `head` was read (see [`Server::serve_http_request`]);
/// `check_path`: answer 404 off the endpoint's path (the driver's own listener).
async fn respond<N, B>(
    server: Server<N>,
    head: RequestHead,
    body: B,
    check_path: bool,
) -> Response<Body>
where
    N: Network,
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let rules = &server.handshake.rules;
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
    if check_path && head.path() != rules.path {
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
            let body = match Limited::new(body, max).collect().await {
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
        HttpRoute::OpenStream { session_id, last_event_id } => {
            let Some(session) = lookup(&server, session_id) else {
                return plain(404, "unknown or ended MCP session");
            };
            open_stream(&session, last_event_id)
        }
        HttpRoute::EndSession { session_id } => {
            let ended = server.state.http.table.lock().expect("lock").sessions.end(session_id);
            match ended {
                Some(session) => {
                    session.end();
                    plain(200, "")
                }
                None => plain(404, "unknown or ended MCP session"),
            }
        }
    }
}

/// The session `session_id`, marked active; `None` (answer 404) when it is unknown, ended, or
/// found idle past its timeout (then it is ended here).
fn lookup<N: Network>(server: &Server<N>, session_id: &str) -> Option<Arc<HttpSession>> {
    let now = server.net.now();
    let mut table = server.state.http.table.lock().expect("lock");
    if let Some(expired) = table.sessions.end_if_idle(session_id, now) {
        expired.end();
        return None;
    }
    table.sessions.touch(session_id, now).cloned()
}

/// A `GET`: the session's standalone stream, or (with `Last-Event-ID`) the events of a cut
/// stream after that id and, while its request runs, the rest of it.
fn open_stream(session: &HttpSession, last_event_id: Option<&str>) -> Response<Body> {
    let mut routing = session.routing.lock().expect("lock");
    let Some(last_event_id) = last_event_id else {
        if routing.standalone.as_ref().is_some_and(|s| !s.is_closed()) {
            return plain(409, "this session already has a GET stream open");
        }
        let waiting: Vec<String> = routing.buffered.drain(..).collect();
        let (mut sender, receiver) = mpsc::channel(STANDALONE_BUFFER + 1);
        let priming = routing.priming(STANDALONE);
        for event in std::iter::once(priming).chain(waiting) {
            let _ = sender.try_send(event);
        }
        routing.standalone = Some(sender);
        return sse_response(receiver, None);
    };
    let (stream, events) = match routing.replay.resume(last_event_id) {
        Ok(resumed) => resumed,
        Err(error @ ResumeError::Malformed) => return plain(400, error.to_string()),
        Err(error) => return plain(410, error.to_string()),
    };
    let (mut sender, receiver) = mpsc::channel(events.len() + 64);
    for event in &events {
        let _ = sender.try_send(encode_event(&event.id, &event.data));
    }
    if stream == STANDALONE {
        // The client lost the GET stream: this one replaces it, and what waited for a GET is
        // among the events replayed.
        routing.buffered.clear();
        routing.standalone = Some(sender);
    } else if let Some(post) = routing.posts.get_mut(&stream).filter(|post| post.sse) {
        // The request still runs: the rest of its stream comes here.
        post.sender = Some(sender);
    }
    // Otherwise the stream had ended: the replay is all of it (the sender drops here).
    sse_response(receiver, None)
}

fn sse_response(receiver: mpsc::Receiver<String>, session_id: Option<&str>) -> Response<Body> {
    let events = receiver.map(|wire| Ok::<_, Infallible>(BodyFrame::data(Bytes::from(wire))));
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
        let Some(mut to_loop) = session.sender() else {
            return plain(404, "the MCP session has ended");
        };
        if to_loop.send(text).await.is_err() {
            return plain(404, "the MCP session has ended");
        }
        return plain(202, "");
    };
    let (mut sender, mut receiver) = mpsc::channel(64);
    {
        let mut routing = session.routing.lock().expect("lock");
        let Some(stream) = routing.router.open(request) else {
            return plain(409, "a request with this id is already in progress");
        };
        if wants_sse {
            let priming = routing.priming(stream);
            let _ = sender.try_send(priming);
        }
        routing.posts.insert(stream, Post { sender: Some(sender), sse: wants_sse });
    }
    let Some(mut to_loop) = session.sender() else {
        return plain(404, "the MCP session has ended");
    };
    if to_loop.send(text).await.is_err() {
        return plain(404, "the MCP session has ended");
    }
    drop(to_loop);
    let id_header = created.then_some(session_id.as_str());
    if wants_sse {
        return sse_response(receiver, id_header);
    }
    // JSON: the answer alone (the client did not accept SSE: progress is dropped, and what the
    // handler writes for the request goes to the GET stream).
    let Some(answer) = receiver.next().await else {
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

/// Opens a session: a pipe, the connection loop on it, the dispatcher, a table entry (and the
/// sweep of idle sessions, when none runs).
#[allow(clippy::result_large_err)]
fn open_session<N: Network>(
    server: &Server<N>,
    principal: Option<super::auth::Principal>,
) -> Result<(String, Arc<HttpSession>), Response<Body>> {
    let permit = match server.admit_on(metrics::HTTP, None) {
        Admission::Admitted(permit) => permit,
        Admission::Refuse(refusing) => return Err(plain(503, refusing.busy().to_string())),
        Admission::Drop(busy) => return Err(plain(503, busy.to_string())),
    };
    let mut random = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random).is_err() {
        return Err(plain(500, "no randomness for a session id"));
    }
    let (loop_end, PipeEnd { to_loop, from_loop }) = MessagePipe::default().open();
    let replay_events = server.config.http_sessions.replay_events;
    let session = Arc::new(HttpSession {
        to_loop: Mutex::new(Some(to_loop)),
        routing: Mutex::new(Routing::new(replay_events)),
    });
    let now = server.net.now();
    let (id, start_sweep) = {
        let mut table = server.state.http.table.lock().expect("lock");
        for (_, expired) in table.sessions.expire_unless(now, |session| session.in_use()) {
            expired.end();
        }
        match table.sessions.create(now, random, session.clone()) {
            Ok(id) => (id, !std::mem::replace(&mut table.sweeping, true)),
            Err((full, _)) => {
                metrics::count_connection_on(metrics::HTTP, "busy");
                return Err(plain(503, full.to_string()));
            }
        }
    };
    metrics::count_connection_on(metrics::HTTP, "accepted");
    let serving = server.clone();
    server.net.spawn(async move { serving.serve_messages(loop_end, principal, permit).await });
    let dispatched = session.clone();
    let ending = server.clone();
    let ended_id = id.clone();
    server.net.spawn(async move {
        dispatch(dispatched, from_loop).await;
        ending.state.http.table.lock().expect("lock").sessions.end(&ended_id);
    });
    if start_sweep {
        server.net.spawn(sweep(server.clone()));
    }
    Ok((id, session))
}

/// Ends the sessions idle past their timeout, on the runtime's timer, while any is open (or
/// until the server stops).
async fn sweep<N: Network>(server: Server<N>) {
    let mut stopped = server.state.stopped.clone();
    loop {
        let next = {
            let mut table = server.state.http.table.lock().expect("lock");
            let now = server.net.now();
            for (id, expired) in table.sessions.expire_unless(now, |session| session.in_use()) {
                tracing::debug!(session = %id, "HTTP session ended idle");
                expired.end();
            }
            match table.sessions.next_expiry() {
                Some(at) => at,
                None => {
                    table.sweeping = false;
                    return;
                }
            }
        };
        let asleep = Box::pin(server.net.sleep_until(next));
        if let Either::Right(_) = select(asleep, &mut stopped).await {
            server.state.http.table.lock().expect("lock").sweeping = false;
            return;
        }
    }
}

/// Sends each message the loop writes where the router says, until the loop ends; then closes
/// every stream of the session.
async fn dispatch(session: Arc<HttpSession>, mut from_loop: mpsc::Receiver<Written>) {
    while let Some(written) = from_loop.next().await {
        let message = match decode(&written.text, &Default::default()) {
            Ok(Frame::Single(message)) => Some(message),
            _ => None,
        };
        let target = {
            let mut routing = session.routing.lock().expect("lock");
            let destination = match (&written.related, &message) {
                // What a handler wrote for its request (not an answer: answers are untagged).
                (Some(related), Some(Message::Request(_) | Message::Notification(_))) => {
                    routing.router.route_related(related)
                }
                (_, Some(message)) => routing.router.route(message),
                (_, None) => Destination::Standalone,
            };
            routing.deliver(destination, &written.text, written.related.as_ref())
        };
        if let Some((mut sender, event, stream)) = target {
            let kept = (stream == STANDALONE).then(|| event.clone());
            if sender.send(event).await.is_err() {
                session.routing.lock().expect("lock").lost(stream, kept);
            }
        }
    }
    let mut routing = session.routing.lock().expect("lock");
    routing.posts.clear();
    routing.standalone = None;
}
