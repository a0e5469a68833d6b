//! Streamable HTTP, 2026-07-28: every `POST` stands alone, with no session.
//!
//! [`super::http`] hands over a `POST` without `Mcp-Session-Id` whose `MCP-Protocol-Version`
//! header or `_meta` protocol version is not a legacy one
//! ([`mcp_ws_core::streamable::sessionless_post_era`]). Its SEP-2243 headers are checked
//! against the body ([`check_standard_headers`]: 400 with -32020), then the request runs on a
//! short-lived session of its own: a [`MessagePipe`] and the same connection loop as every
//! other connection ([`Server::serve_messages`], admitted under the same caps), fed this one
//! message. What that session writes is the POST's response
//! ([`mcp_ws_core::streamable::stateless_output`]): the answer alone as JSON when nothing
//! precedes it (its status from [`error_status`]: -32601 is 404, -32020/-32021/-32022 400),
//! or an SSE stream of the request's notifications (progress, logs, a listen's notifications)
//! ending with the answer when the client accepts one. A request whose first output is slow
//! to come gets its SSE stream after [`super::ServerConfig::sse_keep_alive`], and every SSE
//! stream a keep-alive comment line each interval, so a long `subscriptions/listen` stays open
//! through proxies and a client that went away is noticed at the next write.
//!
//! The response holds the pipe's sender: when the answer has gone out, or the client closed the
//! response, it is dropped, the loop sees its transport end and cancels what is still running
//! (closing a request's stream cancels it, as 2026-07-28 says). A notification is accepted
//! (202) and goes nowhere: with no session, there is nothing for it to be about.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::future::{Either, select};
use futures_util::{SinkExt, Stream, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::Response;
use hyper::body::Frame as BodyFrame;
use hyper::header::HeaderValue;
use mcp_ws_core::sse::{SseEvent, encode_comment};
use mcp_ws_core::streamable::{
    HeaderMismatch, StatelessOutput, accepts, check_param_headers, check_standard_headers,
    error_status, meta_protocol_version, named_parameter_value, sessionless_post_era,
    stateless_output,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{
    Era, ErrorCode, ErrorObject, ErrorResponse, Frame, Message, Request, RequestId, decode, encode,
};
use serde_json::Value;

use super::Server;
use super::auth::Principal;
use super::handshake::RequestHead;
use super::http::{Body, plain};
use super::limits::Admission;
use super::message_pipe::{MessagePipe, PipeEnd, Written};
use crate::runtime::{Network, Runtime};

/// Whether a `POST` without `Mcp-Session-Id` carrying `message` is a 2026-07-28 one.
pub(super) fn is_stateless(head: &RequestHead, message: &Message) -> bool {
    sessionless_post_era(head.header("mcp-protocol-version"), message) == Era::Modern
}

/// Answers one 2026-07-28 `POST` (see the module docs).
pub(super) async fn post<N: Network>(
    server: Server<N>,
    head: &RequestHead,
    principal: Option<Principal>,
    message: Message,
    text: String,
) -> Response<Body> {
    let request = match message {
        Message::Request(request) => request,
        Message::Notification(_) => return plain(202, ""),
        Message::Result(_) | Message::Error(_) => {
            return plain(400, "2026-07-28 clients post requests and notifications, not answers");
        }
    };
    if matches!(server.config.backend, super::gateway::SessionBackend::Stdio(_)) {
        return json_response(error_text(&request.id, stdio_refusal(&server)));
    }
    let params = request.params.as_ref();
    let stamped = params.and_then(meta_protocol_version);
    let checked = check_standard_headers(
        head.header("mcp-method"),
        head.header("mcp-name"),
        head.header("mcp-protocol-version"),
        &request.method,
        named_parameter_value(&request.method, params).as_deref(),
        stamped.as_deref(),
    );
    let checked = checked.and_then(|()| check_tool_parameters(&server, head, &request));
    if let Err(mismatch) = checked {
        let error = ErrorObject::new(ErrorCode::HeaderMismatch, mismatch.to_string());
        return json_response(error_text(&request.id, error));
    }
    if stamped.is_none() {
        // Named 2026-07-28 by its header only: not a legacy request (an unstamped `initialize`
        // would otherwise open a legacy handshake on a session that ends with this POST).
        let error = ErrorObject::new(
            ErrorCode::InvalidParams,
            "a 2026-07-28 request carries _meta[\"io.modelcontextprotocol/protocolVersion\"]",
        );
        return json_response(error_text(&request.id, error));
    }
    let accept = head.header("accept");
    let takes_sse = accept.is_some_and(|accept| accepts(accept, "text/event-stream"));
    let takes_json = accept.is_none_or(|accept| accepts(accept, "application/json"));

    let permit = match server.admit(None) {
        Admission::Admitted(permit) => permit,
        Admission::Refuse(refusing) => return plain(503, refusing.busy().to_string()),
        Admission::Drop(busy) => return plain(503, busy.to_string()),
    };
    let (loop_end, PipeEnd { mut to_loop, from_loop }) = MessagePipe::default().open();
    let serving = server.clone();
    server.net.spawn(async move { serving.serve_messages(loop_end, principal, permit).await });
    if to_loop.send(text).await.is_err() {
        return plain(503, "the request's session ended before reading it");
    }
    let mut exchange = Exchange { _to_loop: to_loop, from_loop, id: request.id };
    let keep_alive = server.config.sse_keep_alive;

    // The first output decides the form of the response; a client that takes SSE is not kept
    // waiting for it longer than one keep-alive interval.
    let first = if takes_sse {
        let deadline = server.net.now().saturating_add(keep_alive);
        let sleep = Box::pin(server.net.sleep_until(deadline));
        match select(Box::pin(exchange.next()), sleep).await {
            Either::Left((first, _)) => Some(first),
            Either::Right(_) => None,
        }
    } else {
        Some(exchange.next().await)
    };
    match first {
        Some(None) => plain(503, "the request's session ended before answering"),
        Some(Some((StatelessOutput::Answer, answer))) if takes_json || !takes_sse => {
            json_response(answer)
        }
        Some(Some((output, first))) if takes_sse => {
            // An answer that came first is the whole stream: the exchange ends with it.
            let exchange = (output != StatelessOutput::Answer).then_some(exchange);
            sse_response(Relay::new(server.net.clone(), keep_alive, Some(first), exchange))
        }
        // A client that takes only JSON gets the answer alone.
        Some(Some(_)) => loop {
            match exchange.next().await {
                Some((StatelessOutput::Answer, answer)) => break json_response(answer),
                Some(_) => continue,
                None => break plain(503, "the request's session ended before answering"),
            }
        },
        None => sse_response(Relay::new(server.net.clone(), keep_alive, None, Some(exchange))),
    }
}

/// The `Mcp-Param-*` headers of a `tools/call` naming one of our tools, against its arguments
/// ([`check_param_headers`]).
fn check_tool_parameters<N: Network>(
    server: &Server<N>,
    head: &RequestHead,
    request: &Request,
) -> Result<(), HeaderMismatch> {
    if request.method != "tools/call" {
        return Ok(());
    }
    let Some(params) = request.params.as_ref().and_then(|p| p.parse::<Value>().ok()) else {
        return Ok(());
    };
    let name = params.get("name").and_then(Value::as_str);
    let Some(tool) = server.router.tools().iter().find(|tool| Some(tool.name.as_str()) == name)
    else {
        return Ok(());
    };
    check_param_headers(&tool.input_schema, params.get("arguments"), |name| head.header(name))
}

/// The request's side of its short-lived session: dropping it ends the session.
struct Exchange {
    /// Held, never used after the request was sent: dropping it ends the loop.
    _to_loop: mpsc::Sender<String>,
    from_loop: mpsc::Receiver<Written>,
    id: RequestId,
}

impl Exchange {
    /// The next message that goes on the response, and what it is; `None` when the session
    /// ended.
    async fn next(&mut self) -> Option<(StatelessOutput, String)> {
        loop {
            let text = self.from_loop.next().await?.text;
            match classify(&text, &self.id) {
                StatelessOutput::Unrelated => continue,
                output => return Some((output, text)),
            }
        }
    }
}

fn classify(text: &str, id: &RequestId) -> StatelessOutput {
    match decode(text, &Default::default()) {
        Ok(Frame::Single(message)) => stateless_output(&message, id),
        _ => StatelessOutput::Unrelated,
    }
}

/// The answer to a 2026-07-28 `POST` on a server whose sessions each run a stdio child
/// ([`super::gateway::SessionBackend::Stdio`]): a stdio server keeps a session's state in its
/// process, which a sessionless request has none of (a child started for one request would
/// first need its own `initialize`, and be stopped at once). -32022 (400) names the versions
/// served in sessions, so a dual-era client falls back to `initialize`.
fn stdio_refusal<N: Network>(server: &Server<N>) -> ErrorObject {
    let supported: Vec<&str> = server
        .config
        .session
        .versions
        .iter()
        .filter(|version| version.era() == Era::Legacy)
        .map(|version| version.as_str())
        .collect();
    let data = serde_json::json!({ "supported": supported });
    ErrorObject::new(
        ErrorCode::UnsupportedProtocolVersion,
        "this server runs a stdio MCP server per session: use a WebSocket or a legacy \
         Streamable HTTP session (initialize, then Mcp-Session-Id)",
    )
    .with_data(mcp_ws_core::RawJson::from_serialize(&data).expect("json serializes"))
}

fn error_text(id: &RequestId, error: ErrorObject) -> String {
    encode(&Message::Error(ErrorResponse {
        id: Some(id.clone()),
        error,
        extensions: Default::default(),
    }))
}

/// One JSON-RPC answer as the whole response, its status from [`error_status`].
fn json_response(answer: String) -> Response<Body> {
    let status = match decode(&answer, &Default::default()) {
        Ok(Frame::Single(Message::Error(error))) => error_status(error.error.code),
        _ => 200,
    };
    let mut response = Response::new(Full::new(Bytes::from(answer)).boxed_unsync());
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn sse_response<N: Runtime>(relay: Relay<N>) -> Response<Body> {
    let mut response = Response::new(StreamBody::new(relay).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/event-stream"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The SSE body of one request: its notifications, then its answer (the end), with a comment
/// line whenever the stream was quiet for a keep-alive interval. Dropping it (the client went
/// away) drops the [`Exchange`], which ends the request's session.
struct Relay<N: Runtime> {
    queued: Option<String>,
    exchange: Option<Exchange>,
    net: N,
    keep_alive: Duration,
    deadline: Instant,
    sleep: Pin<Box<N::Sleep>>,
}

// Nothing is pinned structurally: the sleep is boxed, the rest is moved freely.
impl<N: Runtime> Unpin for Relay<N> {}

impl<N: Runtime> Relay<N> {
    fn new(
        net: N,
        keep_alive: Duration,
        queued: Option<String>,
        exchange: Option<Exchange>,
    ) -> Self {
        let deadline = net.now().saturating_add(keep_alive);
        let sleep = Box::pin(net.sleep_until(deadline));
        Relay { queued, exchange, net, keep_alive, deadline, sleep }
    }

    fn rearm(&mut self) {
        self.deadline = self.net.now().saturating_add(self.keep_alive);
        self.sleep = Box::pin(self.net.sleep_until(self.deadline));
    }
}

fn event(text: String) -> BodyFrame<Bytes> {
    let mut wire = String::new();
    // A message never holds a bare CR or LF outside strings (compact JSON): one data line.
    let _ = SseEvent::new(text).with_event("message").encode(&mut wire);
    BodyFrame::data(Bytes::from(wire))
}

impl<N: Runtime> Stream for Relay<N> {
    type Item = Result<BodyFrame<Bytes>, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(text) = this.queued.take() {
            this.rearm();
            return Poll::Ready(Some(Ok(event(text))));
        }
        let Some(exchange) = &mut this.exchange else {
            return Poll::Ready(None);
        };
        loop {
            match exchange.from_loop.poll_next_unpin(cx) {
                Poll::Ready(Some(Written { text, .. })) => match classify(&text, &exchange.id) {
                    StatelessOutput::Unrelated => continue,
                    StatelessOutput::Related => {
                        this.rearm();
                        return Poll::Ready(Some(Ok(event(text))));
                    }
                    StatelessOutput::Answer => {
                        // The answer ends the stream and, with the exchange, the session.
                        this.exchange = None;
                        return Poll::Ready(Some(Ok(event(text))));
                    }
                },
                Poll::Ready(None) => {
                    this.exchange = None;
                    return Poll::Ready(None);
                }
                Poll::Pending => break,
            }
        }
        // The sleep may wake early: the deadline decides.
        while this.sleep.as_mut().poll(cx).is_ready() {
            if this.net.now() >= this.deadline {
                this.rearm();
                let mut comment = String::new();
                encode_comment("keep-alive", &mut comment);
                return Poll::Ready(Some(Ok(BodyFrame::data(Bytes::from(comment)))));
            }
            this.sleep = Box::pin(this.net.sleep_until(this.deadline));
        }
        Poll::Pending
    }
}
