//! The connect bridge: a stdio MCP client (newline-delimited JSON-RPC on stdin and stdout)
//! carried over a WebSocket connection to a server that may come and go. A pure state machine
//! in the style of [`crate::session::Session`]: every input carries `now`, outputs are drained
//! from [`Bridge::poll_action`], and [`Bridge::poll_timeout`] says when to call back.
//!
//! Messages pass through with ids untouched. The bridge owns what a cut would otherwise lose
//! or double:
//!
//! - **Exactly one answer per request.** A client request sent on a connection is answered by
//!   the server, or, when that connection is lost, by the bridge with error
//!   [`CONNECTION_LOST`]. A request that never went out waits in a bounded queue for the next
//!   connection; it is answered only when it leaves the queue unsent (queue full, waited longer
//!   than `max_queue_wait`, reconnecting gave up, the bridge exits). Answers for requests the
//!   bridge already answered, or the client cancelled, are dropped.
//! - **Only JSON-RPC reaches the client.** Server frames are decoded by the core codec; a
//!   malformed one gets the wire binding's error reply (to the server) and counts against the
//!   shared malformed budget ([`crate::malformed`]); it never reaches stdout.
//! - **The lifecycle comes first.** After a reconnect, a client that had initialized is
//!   re-initialized on its behalf with its original `initialize` params (id
//!   `mcp-ws-bridge-reinit-N`, answer swallowed) and `notifications/initialized` is sent;
//!   only then does anything from the queue go out. A re-initialize that is refused, or not
//!   answered within `reinitialize_timeout`, fails that connection like a cut (with backoff).
//!   A server that answers with another protocol version than the client negotiated ends the
//!   bridge: the client could not speak it. A client whose own `initialize` the bridge had
//!   to answer (its connection was lost, say because the answer was over the size limit) has
//!   no session on the server: until it sends `initialize` again, its other requests are
//!   answered by the bridge with an error that says so (a `ping` passes) and its
//!   notifications are dropped, never relayed to a session nobody initialized.
//! - **Keepalive** is the same heartbeat the session runs: a ping after `ping_interval` of
//!   quiet, the server declared dead after `idle_timeout` without any frame.
//! - **Reconnecting** follows the core's [`Reconnect`] machine; when it gives up, every queued
//!   request is answered and the bridge exits.
//! - **End of input.** After the client closes stdin the bridge waits for the answers it still
//!   owes, at most `drain_after_eof`, answers what is left, closes the connection and exits.
//!
//! # Driver contract
//!
//! After every input, drain [`Bridge::poll_action`] until `None` and perform each action in
//! order: write a line to stdout, send a text frame or a ping on the current connection (each
//! write bounded in time; a failed write is [`Bridge::handle_connection_lost`]), start a dial,
//! close the current connection (the bridge already treats it as gone), or exit. Then re-arm
//! one timer at [`Bridge::poll_timeout`] and call [`Bridge::handle_timeout`] when it is due
//! (early calls are harmless).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::close::{CloseCode, CloseReason};
use crate::codec::{self, Frame, FrameError, Limits, Payload};
use crate::heartbeat::{Beat, Heartbeat};
use crate::id::RequestId;
use crate::malformed::MalformedBudget;
use crate::mcp::methods;
use crate::message::{
    ErrorCode, ErrorObject, ErrorResponse, Message, Notification, Request, ResultResponse,
};
use crate::raw::RawJson;
use crate::reconnect::{
    Failure, GiveUpReason, Reconnect, ReconnectAction, ReconnectConfig, ReconnectError,
};
use crate::time::Instant;

/// The error code of every answer the bridge gives in the server's place (lost, not sent).
pub const CONNECTION_LOST: i64 = -32000;

/// What the bridge answers a client request sent after the client's `initialize` was lost.
const NOT_INITIALIZED: &str = "the session is not initialized: the client's initialize request \
                               got no answer from the server (its connection was lost); send \
                               initialize again";

/// The id prefix of the bridge's own `initialize` requests.
pub const REINIT_PREFIX: &str = "mcp-ws-bridge-reinit-";

/// The bridge's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// Size and depth limits for every message, both directions.
    pub limits: Limits,
    /// When to redial, and when to give up.
    pub reconnect: ReconnectConfig,
    /// The seed of the reconnect jitter.
    pub jitter_seed: u64,
    /// A WebSocket ping after this much quiet (`None`: never).
    pub ping_interval: Option<Duration>,
    /// The server is dead after this long without any frame (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// How long the server may take to answer the bridge's re-initialize.
    pub reinitialize_timeout: Duration,
    /// The most client messages waiting for a connection.
    pub max_queued: usize,
    /// The most bytes of client messages waiting for a connection.
    pub max_queued_bytes: usize,
    /// The longest a request waits for a connection before it is answered with an error.
    pub max_queue_wait: Duration,
    /// How long answers still owed are awaited after the client closed stdin.
    pub drain_after_eof: Duration,
    /// Malformed server frames tolerated per connection before it is closed with 1008.
    pub malformed_budget: u32,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            limits: Limits::default(),
            reconnect: ReconnectConfig {
                initial_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(10),
                ..ReconnectConfig::default()
            },
            jitter_seed: 0x6d63_702d_7773,
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Some(Duration::from_secs(60)),
            reinitialize_timeout: Duration::from_secs(10),
            max_queued: 256,
            max_queued_bytes: 8 * 1024 * 1024,
            max_queue_wait: Duration::from_secs(30),
            drain_after_eof: Duration::from_secs(10),
            malformed_budget: 16,
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum BridgeAction {
    /// Write this JSON-RPC message to stdout as one line (it holds no raw newline; the driver
    /// adds the terminating `\n`).
    WriteClient(String),
    /// Send this text frame on the current connection.
    SendServer(String),
    /// Send a WebSocket ping on the current connection.
    SendPing,
    /// Open a new connection; report [`Bridge::handle_connected`] or
    /// [`Bridge::handle_dial_failed`].
    Dial {
        /// Dials since the last stable connection, from 1.
        attempt: u32,
    },
    /// Close the current connection with this reason and drop it (the bridge already counts
    /// it as lost; do not report it again).
    CloseServer(CloseReason),
    /// Something worth a log line; nothing to perform.
    Event(BridgeEvent),
    /// The bridge is done; exit with this status. Nothing follows.
    Exit(BridgeExit),
}

/// How the bridge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeExit {
    /// The client closed its input (every answer owed was given).
    Done,
    /// Reconnecting gave up.
    GaveUp,
}

/// What happened, for logs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BridgeEvent {
    /// A connection is up.
    Connected,
    /// A dial failed.
    DialFailed(Failure),
    /// The connection was lost; `answered` requests in flight got [`CONNECTION_LOST`].
    Lost {
        /// Why.
        failure: Failure,
        /// How many requests in flight were answered by the bridge.
        answered: usize,
    },
    /// The bridge re-initialized the session on the client's behalf.
    Reinitialized,
    /// A server frame was not passed to the client.
    DroppedServerFrame(String),
    /// A client message was not passed to the server.
    DroppedClientMessage(String),
    /// Reconnecting gave up.
    GaveUp {
        /// Why.
        reason: GiveUpReason,
        /// The last failure.
        last_error: Option<Failure>,
    },
}

/// A client message waiting for a connection.
#[derive(Debug)]
struct Queued {
    text: String,
    /// The request ids it carries (a batch may carry several).
    requests: Vec<RequestId>,
    since: Instant,
}

/// Where the lifecycle of the current connection stands.
#[derive(Debug)]
enum Lifecycle {
    /// The bridge's own `initialize` is in flight.
    Reinitializing { id: RequestId, deadline: Instant },
    /// Messages flow.
    Open,
}

/// The current connection.
#[derive(Debug)]
struct Connection {
    heartbeat: Heartbeat,
    malformed: MalformedBudget,
    lifecycle: Lifecycle,
    /// The client's requests in flight on it.
    client_pending: HashSet<RequestId>,
    /// The server's requests on it the client has not answered yet.
    server_pending: HashSet<RequestId>,
    /// Whether the bridge sent `notifications/initialized` on it (the client's own is dropped).
    initialized_on_behalf: bool,
}

#[derive(Debug)]
enum Link {
    /// Waiting for the reconnect machine (or given up).
    Down,
    /// A dial is under way.
    Dialing,
    /// Connected.
    Up(Box<Connection>),
}

/// What the bridge knows of the client's own `initialize`.
#[derive(Debug, Clone)]
struct ClientInit {
    id: RequestId,
    params: Option<RawJson>,
    /// The protocol version the server answered it with, once it did.
    version: Option<String>,
    /// The bridge answered it in the server's place (its connection was lost, or it never
    /// went out): no server session was initialized for the client.
    lost: bool,
}

/// The connect bridge; see the module docs.
#[derive(Debug)]
pub struct Bridge {
    config: BridgeConfig,
    reconnect: Reconnect,
    link: Link,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    init: Option<ClientInit>,
    reinit_count: u64,
    /// When the client closed stdin.
    eof_at: Option<Instant>,
    finished: bool,
    actions: VecDeque<BridgeAction>,
}

impl Bridge {
    /// A bridge created at `now`; its first action is the first dial.
    pub fn new(config: BridgeConfig, now: Instant) -> Result<Bridge, ReconnectError> {
        let mut reconnect = Reconnect::new(config.reconnect.clone(), config.jitter_seed, now)?;
        reconnect.start(now)?;
        let mut bridge = Bridge {
            config,
            reconnect,
            link: Link::Down,
            queue: VecDeque::new(),
            queued_bytes: 0,
            init: None,
            reinit_count: 0,
            eof_at: None,
            finished: false,
            actions: VecDeque::new(),
        };
        bridge.run_reconnect_actions(now);
        Ok(bridge)
    }

    // ----- getters -----

    /// Whether the bridge has exited.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Client messages waiting for a connection.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Client requests in flight on the current connection.
    pub fn in_flight(&self) -> usize {
        match &self.link {
            Link::Up(connection) => connection.client_pending.len(),
            _ => 0,
        }
    }

    /// Whether a connection is up and past its lifecycle.
    pub fn is_open(&self) -> bool {
        matches!(&self.link, Link::Up(c) if matches!(c.lifecycle, Lifecycle::Open))
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<BridgeAction> {
        self.actions.pop_front()
    }

    /// When [`Bridge::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let connection = match &self.link {
            Link::Up(connection) => Some(connection),
            _ => None,
        };
        let reinit = connection.and_then(|c| match c.lifecycle {
            Lifecycle::Reinitializing { deadline, .. } => Some(deadline),
            Lifecycle::Open => None,
        });
        let oldest_request =
            self.queue.iter().filter(|q| !q.requests.is_empty()).map(|q| q.since).min();
        [
            self.reconnect.poll_timeout(),
            connection.and_then(|c| c.heartbeat.next_deadline()),
            reinit,
            oldest_request.map(|since| since + self.config.max_queue_wait),
            self.eof_at.map(|at| at + self.config.drain_after_eof),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs: the stdio client -----

    /// One line from the client's stdin (without its newline).
    pub fn handle_client_line(&mut self, now: Instant, line: &str) {
        let line = line.trim();
        if self.finished || self.eof_at.is_some() || line.is_empty() {
            return;
        }
        match codec::decode(line, &self.config.limits) {
            Ok(Frame::Single(message)) => {
                if let Some((text, requests)) = self.admit_client_message(message) {
                    self.route(now, text, requests);
                }
            }
            Ok(Frame::Batch(members)) => {
                let mut kept = Vec::new();
                let mut requests = Vec::new();
                for member in members {
                    match member {
                        Ok(message) => {
                            let id = request_id(&message);
                            if let Some(_admitted) = self.admit_client_message(message.clone()) {
                                requests.extend(id);
                                kept.push(message);
                            }
                        }
                        Err(reply) => self.write_client(&Message::Error(reply)),
                    }
                }
                if !kept.is_empty() {
                    self.route(now, codec::encode_batch(&kept), requests);
                }
            }
            Err(FrameError::Reply(reply)) => self.write_client(&Message::Error(reply)),
            Err(FrameError::Close(reason)) => {
                // Too large for any server to accept: refuse it to the client instead.
                let error = ErrorObject::new(ErrorCode::InvalidRequest, reason.reason.to_string());
                self.write_client(&Message::Error(ErrorResponse::new(None, error)));
                self.event(BridgeEvent::DroppedClientMessage(reason.reason.to_string()));
            }
        }
    }

    /// The client wrote a line longer than the message limit (the driver discarded it while
    /// reading, so its id is unknown): it is refused with an error whose id is null.
    pub fn handle_client_line_too_long(&mut self) {
        if self.finished || self.eof_at.is_some() {
            return;
        }
        let why = format!(
            "a message over the limit of {} bytes was dropped",
            self.config.limits.max_message_bytes
        );
        let error = ErrorObject::new(ErrorCode::InvalidRequest, why.clone());
        self.write_client(&Message::Error(ErrorResponse::new(None, error)));
        self.event(BridgeEvent::DroppedClientMessage(why));
    }

    /// The client closed stdin.
    pub fn handle_client_eof(&mut self, now: Instant) {
        if self.finished || self.eof_at.is_some() {
            return;
        }
        self.eof_at = Some(now);
        self.exit_if_drained(now);
    }

    // ----- inputs: the WebSocket -----

    /// The dial asked for by [`BridgeAction::Dial`] succeeded.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.finished || !matches!(self.link, Link::Dialing) {
            return;
        }
        if self.reconnect.on_connected(now).is_err() {
            return;
        }
        let mut connection = Connection {
            heartbeat: Heartbeat::new(self.config.ping_interval, self.config.idle_timeout, now),
            malformed: MalformedBudget::new(self.config.malformed_budget),
            lifecycle: Lifecycle::Open,
            client_pending: HashSet::new(),
            server_pending: HashSet::new(),
            initialized_on_behalf: false,
        };
        self.event(BridgeEvent::Connected);
        let reinit = self.init.as_ref().filter(|init| init.version.is_some()).cloned();
        if let Some(init) = reinit {
            self.reinit_count += 1;
            let id = RequestId::String(format!("{REINIT_PREFIX}{}", self.reinit_count));
            let request = Request::new(id.clone(), methods::INITIALIZE, init.params);
            self.send_server(&Message::Request(request));
            let deadline = now + self.config.reinitialize_timeout;
            connection.lifecycle = Lifecycle::Reinitializing { id, deadline };
            self.link = Link::Up(Box::new(connection));
        } else {
            self.link = Link::Up(Box::new(connection));
            self.flush_queue();
        }
    }

    /// The dial failed.
    pub fn handle_dial_failed(&mut self, now: Instant, failure: Failure) {
        if self.finished || !matches!(self.link, Link::Dialing) {
            return;
        }
        self.link = Link::Down;
        self.event(BridgeEvent::DialFailed(failure.clone()));
        let _ = self.reconnect.on_dial_failed(now, failure);
        self.run_reconnect_actions(now);
        self.exit_if_drained(now);
    }

    /// One data frame from the server.
    pub fn handle_server_payload(&mut self, now: Instant, payload: Payload<'_>) {
        let Link::Up(connection) = &mut self.link else { return };
        connection.heartbeat.on_inbound(now);
        match codec::decode_payload(payload, &self.config.limits) {
            Ok(Frame::Single(message)) => {
                if self.admit_server_message(now, &message) {
                    self.write_client(&message);
                }
            }
            Ok(Frame::Batch(members)) => {
                let mut kept = Vec::new();
                for member in members {
                    match member {
                        Ok(message) => {
                            if self.admit_server_message(now, &message) {
                                kept.push(message);
                            }
                        }
                        Err(reply) => self.server_malformed(now, FrameError::Reply(reply)),
                    }
                    if !matches!(self.link, Link::Up(_)) {
                        return;
                    }
                }
                if !kept.is_empty() {
                    let line = codec::encode_batch(&kept);
                    self.actions.push_back(BridgeAction::WriteClient(single_line(&line)));
                }
            }
            Err(error) => self.server_malformed(now, error),
        }
        // After the client's end of input, its last owed answer ends the bridge at once.
        self.exit_if_drained(now);
    }

    /// A WebSocket ping or pong from the server (liveness only).
    pub fn handle_server_activity(&mut self, now: Instant) {
        if let Link::Up(connection) = &mut self.link {
            connection.heartbeat.on_inbound(now);
        }
    }

    /// The current connection ended (closed by the server, failed, or a write failed).
    pub fn handle_connection_lost(&mut self, now: Instant, failure: Failure) {
        if matches!(self.link, Link::Up(_)) {
            self.lose_connection(now, failure, None);
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.reconnect.handle_timeout(now);
        self.run_reconnect_actions(now);
        if let Link::Up(connection) = &mut self.link {
            match connection.heartbeat.poll(now) {
                Beat::Dead => {
                    let idle = self.config.idle_timeout.unwrap_or_default();
                    let why = format!("no frame from the server for {} ms", idle.as_millis());
                    let close = CloseReason::new(CloseCode::GOING_AWAY, why.clone());
                    self.lose_connection(now, Failure::Transport(why), Some(close));
                }
                Beat::Ping => self.actions.push_back(BridgeAction::SendPing),
                Beat::Quiet => {}
            }
        }
        if let Link::Up(connection) = &self.link {
            if let Lifecycle::Reinitializing { deadline, .. } = connection.lifecycle {
                if now >= deadline {
                    let why = "the server did not answer the re-initialize in time";
                    let close = CloseReason::new(CloseCode::PROTOCOL_ERROR, why);
                    self.lose_connection(now, Failure::Transport(why.into()), Some(close));
                }
            }
        }
        self.expire_queue(now);
        if self.eof_at.is_some_and(|at| now >= at + self.config.drain_after_eof) {
            self.answer_everything_owed("the bridge is exiting: its input closed");
        }
        self.exit_if_drained(now);
    }

    // ----- internals: the client's messages -----

    /// Checks and records one client message; returns its text and request ids when it
    /// should go to the server.
    fn admit_client_message(&mut self, message: Message) -> Option<(String, Vec<RequestId>)> {
        match &message {
            Message::Request(request) => {
                if self.id_in_use(&request.id) {
                    let error = ErrorObject::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            "request id {} is already in use by a request in progress",
                            request.id
                        ),
                    );
                    self.write_client(&Message::Error(ErrorResponse::new(
                        Some(request.id.clone()),
                        error,
                    )));
                    return None;
                }
                if request.method == methods::INITIALIZE {
                    self.init = Some(ClientInit {
                        id: request.id.clone(),
                        params: request.params.clone(),
                        version: None,
                        lost: false,
                    });
                } else if request.method != methods::PING && self.initialize_lost() {
                    let error = ErrorObject::new(ErrorCode::InvalidRequest, NOT_INITIALIZED);
                    self.write_client(&Message::Error(ErrorResponse::new(
                        Some(request.id.clone()),
                        error,
                    )));
                    self.event(BridgeEvent::DroppedClientMessage(format!(
                        "{}: {NOT_INITIALIZED}",
                        request.method
                    )));
                    return None;
                }
                Some((codec::encode(&message), vec![request.id.clone()]))
            }
            Message::Notification(notification) => {
                if notification.method != methods::NOTIFICATIONS_CANCELLED && self.initialize_lost()
                {
                    self.event(BridgeEvent::DroppedClientMessage(format!(
                        "{}: {NOT_INITIALIZED}",
                        notification.method
                    )));
                    return None;
                }
                if notification.method == methods::NOTIFICATIONS_INITIALIZED {
                    if let Link::Up(connection) = &self.link {
                        if connection.initialized_on_behalf {
                            return None;
                        }
                    }
                }
                if notification.method == methods::NOTIFICATIONS_CANCELLED {
                    if let Some(id) = cancelled_id(notification) {
                        if self.unqueue_request(&id) {
                            // It never went out: nothing to tell the server, nothing to answer.
                            return None;
                        }
                        if let Link::Up(connection) = &mut self.link {
                            connection.client_pending.remove(&id);
                        }
                    }
                }
                Some((codec::encode(&message), Vec::new()))
            }
            Message::Result(ResultResponse { id, .. })
            | Message::Error(ErrorResponse { id: Some(id), .. }) => {
                let current = match &mut self.link {
                    Link::Up(connection) => connection.server_pending.remove(id),
                    _ => false,
                };
                if current {
                    // Answers go out at once: the request came on this very connection.
                    self.send_server(&message);
                } else {
                    self.event(BridgeEvent::DroppedClientMessage(format!(
                        "an answer to {id}, which no server request on this connection awaits"
                    )));
                }
                None
            }
            Message::Error(ErrorResponse { id: None, .. }) => {
                self.event(BridgeEvent::DroppedClientMessage(
                    "an error response without an id".to_string(),
                ));
                None
            }
        }
    }

    /// Whether the client's last `initialize` was answered by the bridge, not a server: then
    /// no session was initialized for it, and only a new `initialize` (or a `ping`) may go out.
    fn initialize_lost(&self) -> bool {
        self.init.as_ref().is_some_and(|init| init.lost)
    }

    fn id_in_use(&self, id: &RequestId) -> bool {
        let in_flight = match &self.link {
            Link::Up(connection) => {
                connection.client_pending.contains(id)
                    || matches!(&connection.lifecycle, Lifecycle::Reinitializing { id: r, .. } if r == id)
            }
            _ => false,
        };
        in_flight || self.queue.iter().any(|q| q.requests.contains(id))
    }

    /// Sends a client message now, or queues it for the next open connection.
    fn route(&mut self, now: Instant, text: String, requests: Vec<RequestId>) {
        if let Link::Up(connection) = &mut self.link {
            if matches!(connection.lifecycle, Lifecycle::Open) {
                connection.client_pending.extend(requests);
                self.actions.push_back(BridgeAction::SendServer(text));
                return;
            }
        }
        let full = self.queue.len() >= self.config.max_queued
            || self.queued_bytes + text.len() > self.config.max_queued_bytes;
        if full {
            let why = format!(
                "no connection to the server, and {} messages ({} bytes) already wait for one",
                self.queue.len(),
                self.queued_bytes
            );
            for id in requests {
                self.answer_in_place(id, &why);
            }
            self.event(BridgeEvent::DroppedClientMessage(why));
            return;
        }
        self.queued_bytes += text.len();
        self.queue.push_back(Queued { text, requests, since: now });
    }

    /// Removes a queued request the client cancelled; whether it was queued.
    fn unqueue_request(&mut self, id: &RequestId) -> bool {
        let Some(at) = self.queue.iter().position(|q| q.requests.contains(id)) else {
            return false;
        };
        let queued = &mut self.queue[at];
        if queued.requests.len() == 1 {
            let removed = self.queue.remove(at).expect("found above");
            self.queued_bytes -= removed.text.len();
            true
        } else {
            // A batch member: the batch still goes out; its answer to `id` is dropped.
            queued.requests.retain(|r| r != id);
            false
        }
    }

    fn flush_queue(&mut self) {
        let Link::Up(connection) = &mut self.link else { return };
        while let Some(queued) = self.queue.pop_front() {
            self.queued_bytes -= queued.text.len();
            connection.client_pending.extend(queued.requests);
            self.actions.push_back(BridgeAction::SendServer(queued.text));
        }
    }

    fn expire_queue(&mut self, now: Instant) {
        let wait = self.config.max_queue_wait;
        let mut expired = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for queued in self.queue.drain(..) {
            if !queued.requests.is_empty() && now >= queued.since + wait {
                self.queued_bytes -= queued.text.len();
                expired.extend(queued.requests);
            } else {
                kept.push_back(queued);
            }
        }
        self.queue = kept;
        let why = format!("no connection to the server within {} ms", wait.as_millis());
        for id in expired {
            self.answer_in_place(id, &why);
        }
    }

    // ----- internals: the server's messages -----

    /// Records one server message; whether it goes to the client.
    fn admit_server_message(&mut self, now: Instant, message: &Message) -> bool {
        let Link::Up(connection) = &mut self.link else { return false };
        let answers_reinit = matches!(&connection.lifecycle,
            Lifecycle::Reinitializing { id, .. } if message.id() == Some(id))
            && !matches!(message, Message::Request(_));
        if answers_reinit {
            self.on_reinitialize_answer(now, message);
            return false;
        }
        match message {
            Message::Request(request) => {
                connection.server_pending.insert(request.id.clone());
                true
            }
            Message::Notification(_) | Message::Error(ErrorResponse { id: None, .. }) => true,
            Message::Result(ResultResponse { id, .. })
            | Message::Error(ErrorResponse { id: Some(id), .. }) => {
                if !connection.client_pending.remove(id) {
                    self.event(BridgeEvent::DroppedServerFrame(format!(
                        "an answer to {id}, which no client request in flight awaits"
                    )));
                    return false;
                }
                if let (Some(init), Message::Result(result)) = (self.init.as_mut(), message) {
                    if init.id == *id {
                        init.version = Some(protocol_version(&result.result).unwrap_or_default());
                    }
                }
                true
            }
        }
    }

    fn on_reinitialize_answer(&mut self, now: Instant, message: &Message) {
        let expected = self.init.as_ref().and_then(|init| init.version.clone());
        let refused = match message {
            Message::Result(result) => {
                let answered = protocol_version(&result.result).unwrap_or_default();
                match expected {
                    Some(version) if version != answered => {
                        let why = format!(
                            "the server now speaks protocol version {answered:?}, not the {version:?} the client negotiated"
                        );
                        let close = CloseReason::new(CloseCode::PROTOCOL_ERROR, why.clone());
                        self.lose_connection(now, Failure::Fatal(why), Some(close));
                        return;
                    }
                    _ => None,
                }
            }
            Message::Error(response) => Some(format!(
                "the server refused the re-initialize: {} ({})",
                response.error.message, response.error.code
            )),
            Message::Request(_) | Message::Notification(_) => return,
        };
        if let Some(why) = refused {
            let close = CloseReason::new(CloseCode::PROTOCOL_ERROR, why.clone());
            self.lose_connection(now, Failure::Transport(why), Some(close));
            return;
        }
        let initialized = Notification::new(methods::NOTIFICATIONS_INITIALIZED, None);
        self.send_server(&Message::Notification(initialized));
        if let Link::Up(connection) = &mut self.link {
            connection.lifecycle = Lifecycle::Open;
            connection.initialized_on_behalf = true;
        }
        self.event(BridgeEvent::Reinitialized);
        self.flush_queue();
    }

    fn server_malformed(&mut self, now: Instant, error: FrameError) {
        let Link::Up(connection) = &mut self.link else { return };
        let verdict = connection.malformed.judge(&error);
        let why = match &error {
            FrameError::Reply(reply) => reply.error.message.clone(),
            FrameError::Close(reason) => reason.reason.to_string(),
        };
        self.event(BridgeEvent::DroppedServerFrame(why));
        if let Some(reply) = verdict.reply() {
            self.send_server(&Message::Error(reply.clone()));
        }
        if let Some(close) = verdict.close() {
            let failure = Failure::Transport(close.to_string());
            self.lose_connection(now, failure, Some(close.clone()));
        }
    }

    // ----- internals: connections -----

    /// The current connection is gone: its requests in flight get their answer from the
    /// bridge; queued messages stay queued for the next one.
    fn lose_connection(&mut self, now: Instant, failure: Failure, close: Option<CloseReason>) {
        let Link::Up(connection) = std::mem::replace(&mut self.link, Link::Down) else {
            return;
        };
        if let Some(close) = close {
            self.actions.push_back(BridgeAction::CloseServer(close));
        }
        let mut lost: Vec<RequestId> = connection.client_pending.into_iter().collect();
        lost.sort_by_key(|id| id.to_string());
        let answered = lost.len();
        for id in lost {
            self.answer_in_place(id, "the connection to the server was lost; retry the request");
        }
        self.event(BridgeEvent::Lost { failure: failure.clone(), answered });
        let _ = self.reconnect.on_disconnected(now, failure);
        self.run_reconnect_actions(now);
        self.exit_if_drained(now);
    }

    fn run_reconnect_actions(&mut self, now: Instant) {
        while let Some(action) = self.reconnect.poll_action() {
            if self.finished {
                return;
            }
            match action {
                ReconnectAction::Dial { attempt } => {
                    if self.eof_at.is_some() && self.owed() == 0 {
                        continue;
                    }
                    self.link = Link::Dialing;
                    self.actions.push_back(BridgeAction::Dial { attempt });
                }
                ReconnectAction::GiveUp { reason, last_error } => {
                    if reason == GiveUpReason::Stopped {
                        continue;
                    }
                    self.event(BridgeEvent::GaveUp { reason, last_error });
                    self.answer_everything_owed("the bridge gave up reconnecting to the server");
                    self.finish(now, BridgeExit::GaveUp);
                }
            }
        }
    }

    /// Requests the bridge still owes an answer: in flight and queued.
    fn owed(&self) -> usize {
        self.in_flight() + self.queue.iter().map(|q| q.requests.len()).sum::<usize>()
    }

    fn answer_everything_owed(&mut self, why: &str) {
        if let Link::Up(connection) = &mut self.link {
            let mut pending: Vec<RequestId> = connection.client_pending.drain().collect();
            pending.sort_by_key(|id| id.to_string());
            for id in pending {
                self.answer_in_place(id, why);
            }
        }
        let queued: Vec<Queued> = self.queue.drain(..).collect();
        self.queued_bytes = 0;
        for id in queued.into_iter().flat_map(|q| q.requests) {
            self.answer_in_place(id, why);
        }
    }

    fn exit_if_drained(&mut self, now: Instant) {
        if self.finished || self.eof_at.is_none() || self.owed() > 0 {
            return;
        }
        self.finish(now, BridgeExit::Done);
    }

    fn finish(&mut self, now: Instant, exit: BridgeExit) {
        if let Link::Up(_) = self.link {
            let reason = match exit {
                BridgeExit::Done => "the client closed its input",
                BridgeExit::GaveUp => "the bridge gave up",
            };
            self.actions
                .push_back(BridgeAction::CloseServer(CloseReason::new(CloseCode::NORMAL, reason)));
        }
        self.link = Link::Down;
        let _ = self.reconnect.stop(now);
        while self.reconnect.poll_action().is_some() {}
        self.queue.clear();
        self.queued_bytes = 0;
        self.finished = true;
        self.actions.push_back(BridgeAction::Exit(exit));
    }

    // ----- internals: output -----

    /// Answers the client's request `id` in the server's place.
    fn answer_in_place(&mut self, id: RequestId, why: &str) {
        if let Some(init) = self.init.as_mut().filter(|init| init.id == id) {
            init.lost = init.version.is_none();
        }
        let error = ErrorObject { code: CONNECTION_LOST, message: why.to_string(), data: None };
        self.write_client(&Message::Error(ErrorResponse::new(Some(id), error)));
    }

    fn write_client(&mut self, message: &Message) {
        self.actions.push_back(BridgeAction::WriteClient(single_line(&codec::encode(message))));
    }

    fn send_server(&mut self, message: &Message) {
        self.actions.push_back(BridgeAction::SendServer(codec::encode(message)));
    }

    fn event(&mut self, event: BridgeEvent) {
        self.actions.push_back(BridgeAction::Event(event));
    }
}

/// The id of a request, if `message` is one.
fn request_id(message: &Message) -> Option<RequestId> {
    match message {
        Message::Request(request) => Some(request.id.clone()),
        _ => None,
    }
}

/// The request a `notifications/cancelled` names.
fn cancelled_id(notification: &Notification) -> Option<RequestId> {
    let params: crate::mcp::CancelledNotificationParams =
        notification.params.as_ref()?.parse().ok()?;
    params.request_id
}

/// The `protocolVersion` of an `initialize` result.
fn protocol_version(result: &RawJson) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        #[serde(rename = "protocolVersion")]
        protocol_version: String,
    }
    result.parse::<Versioned>().ok().map(|v| v.protocol_version)
}

fn single_line(text: &str) -> String {
    codec::single_line(text).into_owned()
}

#[cfg(test)]
mod tests;
