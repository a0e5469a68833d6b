//! The client side of Streamable HTTP (both eras), as an in-memory WebSocket for the one
//! connection loop: the loop holds an [`HttpPipe`] exactly as it holds a WebSocket, and an
//! exchanger task on the far end of the pipe turns each outgoing message into a `POST`.
//!
//! - Each message is POSTed with `Accept: application/json, text/event-stream`, the
//!   `Mcp-Session-Id` the server gave (legacy era), the `MCP-Protocol-Version` once one is
//!   known, and on the 2026-07-28 wire `Mcp-Method` (and `Mcp-Name` for `tools/call`,
//!   `resources/read`, `prompts/get`), and the `Mcp-Param-*` mirrors of a `tools/call`'s
//!   `x-mcp-header` arguments (learned from the `tools/list` answers that pass through).
//! - A JSON answer is fed back as one message, an SSE answer as one message per event (decoded
//!   by the core's [`mcp_ws_core::sse`] codec); 202 feeds nothing. An answer that is neither,
//!   to a request, is fed back as that request's error response, so the call fails instead of
//!   waiting for its timeout.
//! - After a legacy `notifications/initialized`, the exchanger opens the `GET` stream for the
//!   server's own requests and notifications (405: the server has none).
//! - A cut SSE stream is resumed with `GET` and `Last-Event-ID`, after the stream's `retry:`
//!   hint, a bounded number of times.
//! - 404 on a request that carried a session id means the session is gone: the pipe ends as a
//!   lost connection, and the client's reconnect machinery initializes a new session.
//! - With OAuth configured ([`crate::client::oauth`]), a `401` (or a `403
//!   insufficient_scope` asking for a new scope) runs the authorization flow, whose requests
//!   go out through `fetch_once` on fresh connections, and the POST is sent again with the
//!   token, a bounded number of times; every later request carries the token.
//! - POSTs run concurrently up to [`HttpSettings::max_concurrent_requests`]; each holds one
//!   keep-alive HTTP/1.1 connection (hyper's client over the runtime's [`Network`]), and idle
//!   connections are kept for reuse up to the same bound.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::future::{Either, select};
use futures_util::io::{AsyncRead, AsyncWrite};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use mcp_ws_core::oauth::Challenge;
use mcp_ws_core::param_headers::{ParamHeaders, encode_header_value};
use mcp_ws_core::sse::{SseDecoder, SseLimits};
use rustls::pki_types::ServerName;
use serde_json::Value;

use crate::client::oauth::{FetchSettings, Fetched, OAuthAgent};
use crate::dial::{DialError, Endpoint};
use crate::runtime::Network;
use crate::transport::Transport;

/// The default [`HttpSettings::max_concurrent_requests`].
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 8;

/// How many times in a row a cut SSE stream is resumed before the exchanger gives up on it.
const MAX_RESUMES: u32 = 5;

/// The wait before resuming a cut SSE stream when the server gave no `retry:` hint.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

/// The longest `retry:` hint honoured (a hostile server cannot park a stream for hours).
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The settings of one Streamable HTTP exchanger.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpSettings {
    /// How many POSTs may be in flight at once (each holds one HTTP/1.1 connection).
    pub max_concurrent_requests: usize,
    /// The largest message (a JSON body or an SSE event's data) accepted from the server.
    pub max_message_bytes: usize,
    /// How long one TCP connect (plus TLS) may take.
    pub connect_timeout: Duration,
    /// OAuth for a server that answers `401`: the flow runs and the request is sent again
    /// with the token (`None`: a `401` fails the request).
    pub(crate) oauth: Option<Arc<OAuthAgent>>,
}

impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("connect_timeout", &self.connect_timeout)
            .field("oauth", &self.oauth.is_some())
            .finish()
    }
}

/// The in-memory WebSocket the connection loop holds for an `http://` or `https://` endpoint.
pub struct HttpPipe {
    inbound: mpsc::Receiver<Result<WsMessage, WsError>>,
    outbound: mpsc::Sender<String>,
    /// A ping waiting for its (local) pong: HTTP has no liveness of its own.
    pong_due: bool,
    /// Dropped with the pipe: tells the exchanger to stop its GET stream.
    _alive: oneshot::Sender<()>,
}

impl std::fmt::Debug for HttpPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPipe").finish_non_exhaustive()
    }
}

impl Stream for HttpPipe {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.pong_due {
            self.pong_due = false;
            return Poll::Ready(Some(Ok(WsMessage::Pong(Bytes::new()))));
        }
        self.inbound.poll_next_unpin(cx)
    }
}

impl Sink<WsMessage> for HttpPipe {
    type Error = WsError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.outbound.poll_ready(cx).map_err(|_| WsError::ConnectionClosed)
    }

    fn start_send(mut self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
        match item {
            WsMessage::Text(text) => self
                .outbound
                .start_send(text.as_str().to_string())
                .map_err(|_| WsError::ConnectionClosed),
            WsMessage::Binary(bytes) => self
                .outbound
                .start_send(String::from_utf8_lossy(&bytes).into_owned())
                .map_err(|_| WsError::ConnectionClosed),
            WsMessage::Ping(_) => {
                self.pong_due = true;
                Ok(())
            }
            WsMessage::Close(_) => {
                self.outbound.close_channel();
                Ok(())
            }
            WsMessage::Pong(_) | WsMessage::Frame(_) => Ok(()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.outbound.close_channel();
        Poll::Ready(Ok(()))
    }
}

/// Opens the pipe to `endpoint` and spawns its exchanger on `net`. Nothing is sent until the
/// loop writes its first message.
pub fn open<N: Network>(net: &N, endpoint: &Endpoint, settings: HttpSettings) -> HttpPipe {
    let bound = settings.max_concurrent_requests.max(1);
    let (to_loop, inbound) = mpsc::channel(bound * 4);
    let (outbound, from_loop) = mpsc::channel(bound);
    let (alive, gone) = oneshot::channel();
    let exchanger = Arc::new(Exchanger {
        net: net.clone(),
        endpoint: endpoint.clone(),
        settings,
        state: Mutex::new(WireState::default()),
        idle: Mutex::new(Vec::new()),
    });
    net.spawn(exchanger.run(from_loop, to_loop, gone));
    HttpPipe { inbound, outbound, pong_due: false, _alive: alive }
}

/// What the exchanger learned from the traffic so far.
#[derive(Debug, Default)]
struct WireState {
    session_id: Option<String>,
    protocol_version: Option<String>,
    /// The `id` of the outstanding `initialize` request, whose answer names the version.
    initialize_id: Option<Value>,
    get_stream_opened: bool,
    /// The ids of the outstanding `tools/list` requests, whose answers name the tools'
    /// `x-mcp-header` parameters (at most [`MAX_TOOLS_LIST_IN_FLIGHT`]).
    tools_list_ids: Vec<Value>,
    /// The `Mcp-Param-*` parameters of each listed tool that has some (at most
    /// [`MAX_TOOLS_WITH_PARAM_HEADERS`] tools; the newest listing wins).
    param_headers: HashMap<String, ParamHeaders>,
}

/// How many `tools/list` answers the exchanger watches for at once.
const MAX_TOOLS_LIST_IN_FLIGHT: usize = 16;

/// How many tools' `Mcp-Param-*` parameters the exchanger remembers.
const MAX_TOOLS_WITH_PARAM_HEADERS: usize = 4096;

impl WireState {
    /// Notes an outgoing message whose answer carries something the wire needs.
    fn note_request(&mut self, message: &Value) {
        let id = request_id(message);
        match message.get("method").and_then(Value::as_str) {
            Some("initialize") => self.initialize_id = id,
            Some("tools/list") => {
                if let Some(id) = id {
                    if self.tools_list_ids.len() >= MAX_TOOLS_LIST_IN_FLIGHT {
                        self.tools_list_ids.remove(0);
                    }
                    self.tools_list_ids.push(id);
                }
            }
            _ => {}
        }
    }

    /// Notes what an incoming message tells the wire: the version an `initialize` answer
    /// names, the `x-mcp-header` parameters of the tools a `tools/list` answer lists.
    fn note_answer(&mut self, message: &Value) {
        if let Some(at) = message
            .get("id")
            .filter(|_| message.get("method").is_none())
            .and_then(|id| self.tools_list_ids.iter().position(|listed| listed == id))
        {
            self.tools_list_ids.remove(at);
            let tools = message.pointer("/result/tools").and_then(Value::as_array);
            for tool in tools.into_iter().flatten() {
                self.note_tool(tool);
            }
        }
        if self.initialize_id.is_some() && message.get("id") == self.initialize_id.as_ref() {
            if let Some(version) =
                message.pointer("/result/protocolVersion").and_then(Value::as_str)
            {
                self.protocol_version = Some(version.to_string());
            }
            self.initialize_id = None;
        }
    }

    /// Remembers one listed tool's `Mcp-Param-*` parameters (forgets them when it has none or
    /// its annotations are invalid: the client API does not offer such a tool).
    fn note_tool(&mut self, tool: &Value) {
        let Some(name) = tool.get("name").and_then(Value::as_str) else { return };
        let params = tool
            .get("inputSchema")
            .and_then(Value::as_object)
            .and_then(|schema| ParamHeaders::from_input_schema(schema).ok())
            .filter(|params| !params.is_empty());
        match params {
            Some(params) => {
                if self.param_headers.len() >= MAX_TOOLS_WITH_PARAM_HEADERS
                    && !self.param_headers.contains_key(name)
                {
                    self.param_headers.clear();
                }
                self.param_headers.insert(name.to_string(), params);
            }
            None => {
                self.param_headers.remove(name);
            }
        }
    }
}

struct Exchanger<N: Network> {
    net: N,
    endpoint: Endpoint,
    settings: HttpSettings,
    state: Mutex<WireState>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// Why the exchange stopped feeding the loop.
enum Stop {
    /// The session is gone (404): the loop sees a lost connection.
    SessionGone,
    /// The loop went away.
    LoopGone,
}

type ToLoop = mpsc::Sender<Result<WsMessage, WsError>>;

/// The JSON-RPC `id` of a request (a message with a `method` and an `id`).
fn request_id(message: &Value) -> Option<Value> {
    if message.get("method").is_some() { message.get("id").cloned() } else { None }
}

impl<N: Network> Exchanger<N> {
    async fn run(
        self: Arc<Self>,
        from_loop: mpsc::Receiver<String>,
        to_loop: ToLoop,
        gone: oneshot::Receiver<()>,
    ) {
        let (get_trigger, get_wanted) = oneshot::channel::<()>();
        let get_trigger = Mutex::new(Some(get_trigger));
        let limit = self.settings.max_concurrent_requests.max(1);
        let posts = {
            let this = self.clone();
            let to_loop = to_loop.clone();
            let get_trigger = &get_trigger;
            async move {
                let mut stop = None;
                let stop_ref = &mut stop;
                let mut stream = std::pin::pin!(
                    from_loop
                        .map(|text| {
                            let this = this.clone();
                            let to_loop = to_loop.clone();
                            async move {
                                let result = this.post(text, to_loop).await;
                                if matches!(result, Ok(true))
                                    && let Some(trigger) = get_trigger.lock().expect("lock").take()
                                {
                                    let _ = trigger.send(());
                                }
                                result
                            }
                        })
                        .buffer_unordered(limit)
                );
                while let Some(result) = stream.next().await {
                    if let Err(why) = result {
                        *stop_ref = Some(why);
                        break;
                    }
                }
                stop.unwrap_or(Stop::LoopGone)
            }
        };
        let get_stream = {
            let this = self.clone();
            let to_loop = to_loop.clone();
            async move {
                if get_wanted.await.is_err() {
                    return std::future::pending::<Stop>().await;
                }
                match this.get_stream(to_loop).await {
                    Err(stop) => stop,
                    Ok(()) => std::future::pending::<Stop>().await,
                }
            }
        };
        let work = select(Box::pin(posts), Box::pin(get_stream));
        let stop = match select(work, gone).await {
            Either::Left((Either::Left((stop, _)) | Either::Right((stop, _)), _)) => stop,
            Either::Right(_) => Stop::LoopGone,
        };
        let mut to_loop = to_loop;
        match stop {
            Stop::SessionGone => {
                let lost = io::Error::other("the HTTP session ended (404): starting a new one");
                let _ = to_loop.send(Err(WsError::Io(lost))).await;
            }
            Stop::LoopGone => self.end_session().await,
        }
    }

    /// POSTs one message and feeds back the answer. `Ok(true)`: this was the legacy
    /// `notifications/initialized`, so the GET stream may open now.
    async fn post(&self, text: String, to_loop: ToLoop) -> Result<bool, Stop> {
        let message: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = request_id(&message);
        let method = message.get("method").and_then(Value::as_str).map(str::to_string);
        self.state.lock().expect("lock").note_request(&message);
        let (had_session, headers) = {
            let state = self.state.lock().expect("lock");
            let headers = post_headers(&message, &state);
            (headers.iter().any(|(name, _)| name == "mcp-session-id"), headers)
        };
        let body = Bytes::from(text);
        let mut authorizations = 0;
        let response = loop {
            let mut headers = headers.clone();
            let sent_token = self.add_token(&mut headers);
            let response = match self.request("POST", headers, body.clone()).await {
                Ok(response) => response,
                Err(why) => {
                    tracing::debug!(%why, "a Streamable HTTP POST failed");
                    if let Some(id) = id {
                        let message = format!("the HTTP request failed: {why}");
                        feed(&to_loop, error_response(&id, -32603, &message)).await?;
                        return Ok(false);
                    }
                    return Err(Stop::SessionGone);
                }
            };
            let status = response.status().as_u16();
            let Some(agent) = &self.settings.oauth else { break response };
            let challenge =
                Challenge::parse(&header_text(&response, "www-authenticate").unwrap_or_default());
            if authorizations >= agent.max_authorizations_per_request()
                || !agent.wants(status, &challenge)
            {
                break response;
            }
            authorizations += 1;
            let _ = self.read_body(response.into_body()).await;
            let fetch = FetchSettings {
                tls: self.endpoint.tls().cloned(),
                connect_timeout: self.settings.connect_timeout,
            };
            let url = self.endpoint.url().to_string();
            if let Err(why) =
                agent.authorize(&self.net, &url, status, challenge, sent_token, &fetch).await
            {
                tracing::debug!(%why, "OAuth authorization failed");
                if let Some(id) = id {
                    feed(&to_loop, error_response(&id, -32001, &why.to_string())).await?;
                }
                return Ok(false);
            }
        };
        let status = response.status().as_u16();
        if status == 404 && had_session {
            // The server does not know the session (it ended, or this node never held it):
            // the request was not processed, so it goes back to the client, which issues it
            // again on its next session, retryable or not (as for a draining server's refusal).
            if let Some(id) = &id {
                let refused = crate::error::not_processed("the HTTP session ended (404)");
                feed(&to_loop, not_processed_response(id, &refused)).await?;
            }
            return Err(Stop::SessionGone);
        }
        // A session id counts only on the answer to `initialize` (a server may set one on a
        // refusal too, for a session it never keeps).
        if method.as_deref() == Some("initialize")
            && (200..300).contains(&status)
            && let Some(session) = header_text(&response, "mcp-session-id")
        {
            self.state.lock().expect("lock").session_id = Some(session);
        }
        let is_sse = header_text(&response, "content-type")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"));
        if is_sse && (200..300).contains(&status) {
            self.read_sse(response.into_body(), id, to_loop).await?;
        } else {
            let body = self.read_body(response.into_body()).await.unwrap_or_default();
            let parsed = serde_json::from_slice::<Value>(&body)
                .ok()
                .filter(|v| v.get("jsonrpc").is_some() || v.is_array());
            let answers_this = |answer: &Value| {
                answer.is_array() || id.is_none() || answer.get("id") == id.as_ref()
            };
            match (parsed, &id) {
                (Some(answer), _) if (200..300).contains(&status) || answers_this(&answer) => {
                    self.feed_value(&to_loop, answer).await?;
                }
                (refusal, Some(id)) => {
                    // The server refused the request at the HTTP level (400 without a
                    // session, 404 for an unknown method, 415...): the request fails with
                    // the server's error, under the request's own id.
                    let code = refusal
                        .as_ref()
                        .and_then(|r| r.pointer("/error/code"))
                        .and_then(Value::as_i64)
                        .unwrap_or(-32603);
                    let reason = refusal
                        .as_ref()
                        .and_then(|r| r.pointer("/error/message"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| {
                            String::from_utf8_lossy(&body).chars().take(300).collect()
                        });
                    let message = format!("the server answered HTTP {status}: {reason}");
                    feed(&to_loop, error_response(id, code, &message)).await?;
                }
                _ => {}
            }
        }
        let initialized = method.as_deref() == Some("notifications/initialized") && {
            let mut state = self.state.lock().expect("lock");
            !std::mem::replace(&mut state.get_stream_opened, true)
        };
        Ok(initialized)
    }

    /// Feeds one parsed answer (or each message of a batch) to the loop, noting the version an
    /// `initialize` answer names.
    async fn feed_value(&self, to_loop: &ToLoop, answer: Value) -> Result<(), Stop> {
        let messages = match answer {
            Value::Array(items) => items,
            one => vec![one],
        };
        for message in messages {
            self.note_answer(&message);
            feed(to_loop, message.to_string()).await?;
        }
        Ok(())
    }

    fn note_answer(&self, message: &Value) {
        self.state.lock().expect("lock").note_answer(message);
    }

    /// Reads an SSE answer to the end, resuming it with `Last-Event-ID` when it is cut before
    /// the answer to `id` arrived.
    async fn read_sse(
        &self,
        body: Incoming,
        id: Option<Value>,
        to_loop: ToLoop,
    ) -> Result<(), Stop> {
        let mut decoder =
            SseDecoder::new(SseLimits::for_message_size(self.settings.max_message_bytes));
        let mut body = body;
        let mut resumes = 0;
        loop {
            let answered = self.pump_sse(&mut body, &mut decoder, id.as_ref(), &to_loop).await?;
            if answered || id.is_none() || decoder.last_event_id().is_empty() {
                return Ok(());
            }
            resumes += 1;
            if resumes > MAX_RESUMES {
                if let Some(id) = &id {
                    feed(
                        &to_loop,
                        error_response(id, -32603, "the server's SSE stream was cut too often"),
                    )
                    .await?;
                }
                return Ok(());
            }
            match self.resume(&decoder).await {
                Some(next) => body = next,
                None => {
                    if let Some(id) = &id {
                        feed(
                            &to_loop,
                            error_response(id, -32603, "the server's SSE stream was cut"),
                        )
                        .await?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Feeds the events of one SSE body; returns whether the answer to `id` was among them.
    async fn pump_sse(
        &self,
        body: &mut Incoming,
        decoder: &mut SseDecoder,
        id: Option<&Value>,
        to_loop: &ToLoop,
    ) -> Result<bool, Stop> {
        let mut answered = false;
        loop {
            let frame = match body.frame().await {
                Some(Ok(frame)) => frame,
                Some(Err(_)) | None => return Ok(answered),
            };
            let Ok(chunk) = frame.into_data() else { continue };
            if decoder.feed(&chunk).is_err() {
                return Ok(answered);
            }
            while let Some(event) = decoder.poll_event() {
                if event.data.trim().is_empty() {
                    continue;
                }
                let Ok(message) = serde_json::from_str::<Value>(&event.data) else { continue };
                if id.is_some() && message.get("method").is_none() && message.get("id") == id {
                    answered = true;
                }
                self.feed_value(to_loop, message).await?;
            }
            if answered {
                return Ok(true);
            }
        }
    }

    /// Waits the stream's `retry:` hint, then GETs it again with `Last-Event-ID`.
    async fn resume(&self, decoder: &SseDecoder) -> Option<Incoming> {
        let wait =
            decoder.retry().map(Duration::from_millis).unwrap_or(DEFAULT_RETRY).min(MAX_RETRY);
        self.net.sleep_until(self.net.now() + wait).await;
        let mut headers: Headers = vec![("accept".into(), "text/event-stream".to_string())];
        headers.push(("last-event-id".into(), decoder.last_event_id().to_string()));
        self.add_session_headers(&mut headers);
        let response = self.request("GET", headers, Bytes::new()).await.ok()?;
        if response.status().is_success() { Some(response.into_body()) } else { None }
    }

    /// Adds the OAuth access token, if there is one; returns it.
    fn add_token(&self, headers: &mut Headers) -> Option<String> {
        let token = self.settings.oauth.as_ref().and_then(|agent| agent.access_token())?;
        headers.push(("authorization".into(), format!("Bearer {token}")));
        Some(token)
    }

    fn add_session_headers(&self, headers: &mut Headers) {
        self.add_token(headers);
        let state = self.state.lock().expect("lock");
        if let Some(session) = &state.session_id {
            headers.push(("mcp-session-id".into(), session.clone()));
        }
        if let Some(version) = &state.protocol_version {
            headers.push(("mcp-protocol-version".into(), version.clone()));
        }
    }

    /// The standalone GET stream of a legacy session, resumed when cut. Ends `Ok` when the
    /// server has none (405) or gives up on it.
    async fn get_stream(&self, to_loop: ToLoop) -> Result<(), Stop> {
        let mut decoder =
            SseDecoder::new(SseLimits::for_message_size(self.settings.max_message_bytes));
        let mut resumes = 0;
        loop {
            let mut headers: Headers = vec![("accept".into(), "text/event-stream".to_string())];
            if !decoder.last_event_id().is_empty() {
                headers.push(("last-event-id".into(), decoder.last_event_id().to_string()));
            }
            self.add_session_headers(&mut headers);
            let had_session = headers.iter().any(|(name, _)| name == "mcp-session-id");
            let Ok(response) = self.request("GET", headers, Bytes::new()).await else {
                return Ok(());
            };
            match response.status().as_u16() {
                // 404 ends a session; without one it only says there is no stream here.
                404 if had_session => return Err(Stop::SessionGone),
                200..=299 => {}
                _ => return Ok(()),
            }
            let mut body = response.into_body();
            self.pump_sse(&mut body, &mut decoder, None, &to_loop).await?;
            resumes += 1;
            if resumes > MAX_RESUMES {
                return Ok(());
            }
            let wait =
                decoder.retry().map(Duration::from_millis).unwrap_or(DEFAULT_RETRY).min(MAX_RETRY);
            self.net.sleep_until(self.net.now() + wait).await;
        }
    }

    /// Ends the legacy session with `DELETE` (best effort; 405 means the server keeps it).
    async fn end_session(&self) {
        let mut headers = Headers::new();
        self.add_session_headers(&mut headers);
        if headers.iter().any(|(name, _)| name == "mcp-session-id") {
            let _ = self.request("DELETE", headers, Bytes::new()).await;
        }
    }

    /// Reads a whole (non-SSE) body, bounded by the message size limit.
    async fn read_body(&self, body: Incoming) -> Result<Bytes, String> {
        http_body_util::Limited::new(body, self.settings.max_message_bytes)
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .map_err(|e| e.to_string())
    }

    /// Sends one request on an idle keep-alive connection, or a new one.
    async fn request(
        &self,
        method: &str,
        headers: Headers,
        body: Bytes,
    ) -> Result<hyper::Response<Incoming>, String> {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(self.endpoint.target())
            .header("host", self.endpoint.authority());
        let own_authorization = headers.iter().any(|(name, _)| name == "authorization");
        for (name, value) in self.endpoint.headers() {
            if own_authorization && name == hyper::header::AUTHORIZATION {
                continue;
            }
            builder = builder.header(name, value);
        }
        for (name, value) in headers {
            builder = builder.header(name.as_ref(), value);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let mut sender = loop {
            let idle = self.idle.lock().expect("lock").pop();
            match idle {
                Some(sender) if !sender.is_closed() => break sender,
                Some(_) => continue,
                None => break self.open_connection().await.map_err(|e| e.to_string())?,
            }
        };
        if sender.ready().await.is_err() {
            sender = self.open_connection().await.map_err(|e| e.to_string())?;
        }
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        // The connection goes back to the pool once this exchange is answered; hyper queues
        // the next request behind the current body, so an idle entry is usable at once.
        let mut idle = self.idle.lock().expect("lock");
        if idle.len() < self.settings.max_concurrent_requests.max(1)
            && !header_text(&response, "content-type")
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"))
        {
            idle.push(sender);
        }
        Ok(response)
    }

    async fn open_connection(&self) -> Result<SendRequest<Full<Bytes>>, DialError> {
        connect_http(&self.net, &self.endpoint, self.settings.connect_timeout).await
    }
}

/// Opens one HTTP/1.1 connection (TCP, TLS for `https://`) to `endpoint`'s host.
async fn connect_http<N: Network>(
    net: &N,
    endpoint: &Endpoint,
    connect_timeout: Duration,
) -> Result<SendRequest<Full<Bytes>>, DialError> {
    {
        let connect = net.connect(endpoint.host().to_string(), endpoint.port());
        let deadline = net.now() + connect_timeout;
        let stream = match select(connect, Box::pin(net.sleep_until(deadline))).await {
            Either::Left((Ok(stream), _)) => stream,
            Either::Left((Err(e), _)) => return Err(DialError::Transport(e.to_string())),
            Either::Right(_) => return Err(DialError::TimedOut),
        };
        let transport = match endpoint.tls() {
            None => Transport::plain(stream),
            Some(tls) => {
                let name = ServerName::try_from(endpoint.host().to_string())
                    .map_err(|e| DialError::Transport(e.to_string()))?;
                let tls_stream = tls
                    .connector()
                    .connect(name, stream)
                    .await
                    .map_err(|e| DialError::Transport(e.to_string()))?;
                Transport::tls_client(tls_stream)
            }
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(HyperIo(transport))
            .await
            .map_err(|e| DialError::Transport(e.to_string()))?;
        net.spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// One request on a fresh connection, for the OAuth flow (metadata, registration, token,
/// authorization URLs on any host): redirects are not followed, the body is read up to
/// `max_bytes`.
pub(crate) async fn fetch_once<N: Network>(
    net: &N,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    settings: &FetchSettings,
    max_bytes: usize,
) -> Result<Fetched, String> {
    let mut endpoint = Endpoint::parse(url).map_err(|e| e.to_string())?;
    if !endpoint.is_http() {
        return Err(format!("{url} is not an http(s) URL"));
    }
    if let Some(tls) = &settings.tls {
        endpoint = endpoint.with_tls(tls);
    }
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(endpoint.target())
        .header("host", endpoint.authority());
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let mut sender =
        connect_http(net, &endpoint, settings.connect_timeout).await.map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let location = header_text(&response, "location");
    let body = http_body_util::Limited::new(response.into_body(), max_bytes)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|e| e.to_string())?;
    Ok(Fetched { status, location, body })
}

/// The headers of one HTTP request, by (lower-case) name.
type Headers = Vec<(Cow<'static, str>, String)>;

/// The headers of the POST carrying `message`: the session id (not on `initialize`, which
/// starts a new session), the protocol version (the one in the request's `_meta` on the
/// 2026-07-28 wire, else the negotiated one), and on the 2026-07-28 wire `Mcp-Method`, for
/// `tools/call`, `prompts/get` and `resources/read` `Mcp-Name` (in the base64 sentinel when
/// not plain ASCII), and for `tools/call` of a listed tool with `x-mcp-header` parameters
/// their `Mcp-Param-*` mirrors.
fn post_headers(message: &Value, state: &WireState) -> Headers {
    let mut headers: Headers = vec![
        ("accept".into(), "application/json, text/event-stream".to_string()),
        ("content-type".into(), "application/json".to_string()),
    ];
    let method = message.get("method").and_then(Value::as_str);
    if method != Some("initialize")
        && let Some(session) = &state.session_id
    {
        headers.push(("mcp-session-id".into(), session.clone()));
    }
    let meta_version = message
        .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
        .and_then(Value::as_str);
    if let Some(version) = meta_version.or(state.protocol_version.as_deref()) {
        headers.push(("mcp-protocol-version".into(), version.to_string()));
    }
    if let (Some(_), Some(method)) = (meta_version, method) {
        headers.push(("mcp-method".into(), method.to_string()));
        let name = match method {
            "tools/call" | "prompts/get" => message.pointer("/params/name"),
            "resources/read" => message.pointer("/params/uri"),
            _ => None,
        };
        if let Some(name) = name.and_then(Value::as_str) {
            headers.push(("mcp-name".into(), encode_header_value(name)));
        }
        if method == "tools/call"
            && let Some(params) = message
                .pointer("/params/name")
                .and_then(Value::as_str)
                .and_then(|tool| state.param_headers.get(tool))
        {
            for (name, value) in params.headers_for(message.pointer("/params/arguments")) {
                headers.push((name.to_ascii_lowercase().into(), value));
            }
        }
    }
    headers
}

/// Sends one message text to the loop.
async fn feed(to_loop: &ToLoop, text: String) -> Result<(), Stop> {
    let mut to_loop = to_loop.clone();
    to_loop.send(Ok(WsMessage::text(text))).await.map_err(|_| Stop::LoopGone)
}

/// The JSON-RPC error response the transport makes for a request the server did not answer.
fn error_response(id: &Value, code: i64, message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    })
    .to_string()
}

/// The error response for a request the server refused unprocessed ([`crate::error::not_processed`]).
fn not_processed_response(id: &Value, error: &mcp_ws_core::message::ErrorObject) -> String {
    let data = error.data.as_ref().and_then(|data| data.parse::<Value>().ok());
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": error.code, "message": error.message, "data": data },
    })
    .to_string()
}

fn header_text(response: &hyper::Response<Incoming>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// A `futures-io` stream as hyper's IO traits.
struct HyperIo<S>(S);

impl<S: AsyncRead + Unpin> hyper::rt::Read for HyperIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 16 * 1024];
        let room = buf.remaining().min(scratch.len());
        match Pin::new(&mut self.0).poll_read(cx, &mut scratch[..room]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<S> {
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

/// What a client connection runs over: a WebSocket, or the pipe to a Streamable HTTP
/// exchanger. Both are the same [`crate::ws_io::WebSocketIo`] to the connection loop (and to
/// the gateway and the `connect` bridge); [`crate::client::open_endpoint`] opens one.
pub enum ClientIo<S> {
    /// A `ws://` or `wss://` endpoint.
    WebSocket(Box<async_tungstenite::WebSocketStream<Transport<S>>>),
    /// An `http://` or `https://` endpoint.
    Http(HttpPipe),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for ClientIo<S> {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            ClientIo::WebSocket(ws) => ws.poll_next_unpin(cx),
            ClientIo::Http(pipe) => pipe.poll_next_unpin(cx),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<WsMessage> for ClientIo<S> {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            ClientIo::WebSocket(ws) => ws.poll_ready_unpin(cx),
            ClientIo::Http(pipe) => pipe.poll_ready_unpin(cx),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
        match self.get_mut() {
            ClientIo::WebSocket(ws) => ws.start_send_unpin(item),
            ClientIo::Http(pipe) => pipe.start_send_unpin(item),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            ClientIo::WebSocket(ws) => ws.poll_flush_unpin(cx),
            ClientIo::Http(pipe) => pipe.poll_flush_unpin(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        match self.get_mut() {
            ClientIo::WebSocket(ws) => ws.poll_close_unpin(cx),
            ClientIo::Http(pipe) => pipe.poll_close_unpin(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(headers: &Headers) -> Vec<(&str, &str)> {
        headers.iter().map(|(n, v)| (n.as_ref(), v.as_str())).collect()
    }

    #[test]
    fn a_2026_request_names_its_method_and_tool_in_headers() {
        let call = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "add", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
        let headers = post_headers(&call, &WireState::default());
        assert_eq!(
            names(&headers)[2..],
            [
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "add")
            ]
        );
        let read = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read",
            "params": {"uri": "demo://readme",
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
        assert!(
            names(&post_headers(&read, &WireState::default()))
                .contains(&("mcp-name", "demo://readme"))
        );
    }

    #[test]
    fn a_legacy_request_carries_the_session_and_negotiated_version_but_initialize_no_session() {
        let state = WireState {
            session_id: Some("s-1".into()),
            protocol_version: Some("2025-11-25".into()),
            ..WireState::default()
        };
        let list = serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        assert_eq!(
            names(&post_headers(&list, &state))[2..],
            [("mcp-session-id", "s-1"), ("mcp-protocol-version", "2025-11-25")]
        );
        let init = serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "initialize"});
        assert!(!post_headers(&init, &state).iter().any(|(n, _)| n == "mcp-session-id"));
    }

    fn stamped(id: u64, method: &str, params: Value) -> Value {
        let mut params = params;
        params["_meta"] =
            serde_json::json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    #[test]
    fn a_2026_tools_call_mirrors_the_listed_tools_x_mcp_header_arguments() {
        let mut state = WireState::default();
        state.note_request(&stamped(7, "tools/list", serde_json::json!({})));
        state.note_answer(&serde_json::json!({"jsonrpc": "2.0", "id": 7, "result": {"tools": [
            {"name": "route", "inputSchema": {"type": "object", "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
                "query": {"type": "string"}}}},
            {"name": "plain", "inputSchema": {"type": "object"}}]}}));
        let call = stamped(
            8,
            "tools/call",
            serde_json::json!({"name": "route",
                "arguments": {"region": "Hello, 世界", "verbose": null, "query": "q"}}),
        );
        let headers = post_headers(&call, &state);
        let params: Vec<_> =
            names(&headers).into_iter().filter(|(n, _)| n.starts_with("mcp-param-")).collect();
        assert_eq!(params, [("mcp-param-region", "=?base64?SGVsbG8sIOS4lueVjA==?=")]);
        // A tool listed without annotations, or never listed, mirrors nothing.
        let plain = stamped(9, "tools/call", serde_json::json!({"name": "plain", "arguments": {}}));
        assert!(
            !names(&post_headers(&plain, &state)).iter().any(|(n, _)| n.starts_with("mcp-param-"))
        );
    }

    #[test]
    fn legacy_calls_mirror_no_parameters_and_only_answers_to_tools_list_are_read() {
        let mut state = WireState::default();
        let tools = serde_json::json!({"tools": [{"name": "route", "inputSchema": {
            "type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}}]});
        // An answer to some other request naming tools teaches nothing.
        state.note_request(&stamped(1, "resources/list", serde_json::json!({})));
        state.note_answer(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": tools.clone()}));
        let call = stamped(
            2,
            "tools/call",
            serde_json::json!({"name": "route", "arguments": {"region": "eu"}}),
        );
        assert!(
            !names(&post_headers(&call, &state)).iter().any(|(n, _)| n.starts_with("mcp-param-"))
        );
        state.note_request(&stamped(3, "tools/list", serde_json::json!({})));
        state.note_answer(&serde_json::json!({"jsonrpc": "2.0", "id": 3, "result": tools}));
        assert!(names(&post_headers(&call, &state)).contains(&("mcp-param-region", "eu")));
        let legacy = serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "route", "arguments": {"region": "eu"}}});
        assert!(
            !names(&post_headers(&legacy, &state)).iter().any(|(n, _)| n.starts_with("mcp-param-"))
        );
    }

    #[test]
    fn a_name_that_is_not_plain_ascii_rides_in_base64() {
        let call = stamped(1, "tools/call", serde_json::json!({"name": "café"}));
        assert!(
            names(&post_headers(&call, &WireState::default()))
                .contains(&("mcp-name", "=?base64?Y2Fmw6k=?="))
        );
    }
}
