//! The per-connection MCP session: a pure state machine that consumes frames, commands and
//! timestamps, and emits actions.
//!
//! One [`Session`] serves one WebSocket connection, as client or server, in either era: the
//! legacy `initialize` lifecycle (2024-11-05 to 2025-11-25) or the stateless 2026-07-28 era. It
//! correlates requests and responses, times requests out, carries cancellation and progress,
//! keeps the connection alive, enforces limits, and guarantees that every outgoing request ends
//! with exactly one [`Outcome`].
//!
//! # Methods, by kind
//!
//! - **Getters** (`&self`): [`Session::ready_info`], [`Session::is_closed`],
//!   [`Session::pending_requests`], [`Session::poll_timeout`].
//! - **Inputs** from the network and the clock: [`Session::handle_payload`],
//!   [`Session::handle_transport_activity`], [`Session::handle_peer_close`],
//!   [`Session::handle_transport_lost`], [`Session::handle_timeout`].
//! - **Commands** from the application: [`Session::send_request`],
//!   [`Session::send_notification`], [`Session::respond`], [`Session::notify_progress`],
//!   [`Session::cancel`], [`Session::close`]. A misused command returns a [`SessionError`] and
//!   changes nothing.
//! - **Output**: [`Session::poll_action`], one ordered queue of [`Action`]s.
//!
//! # The driver contract
//!
//! The session never reads a clock and never performs IO. Its driver must:
//!
//! 1. pass the current [`Instant`] with every input and timed command;
//! 2. after every input or command, drain [`Session::poll_action`] until it returns `None`,
//!    performing each action in order (send the text or ping, deliver the event, close);
//! 3. then re-arm one timer at [`Session::poll_timeout`] and call [`Session::handle_timeout`]
//!    when `now >= deadline` (calling it early is harmless).
//!
//! ```
//! use mcp_ws_core::mcp::Implementation;
//! use mcp_ws_core::session::{Action, Event, RequestOptions, Session, SessionConfig};
//! use mcp_ws_core::time::Instant;
//! use mcp_ws_core::codec::Payload;
//!
//! let info = |name: &str| Implementation { name: name.into(), version: "1.0".into(), ..Default::default() };
//! let mut now = Instant::ZERO;
//! let mut client = Session::new(SessionConfig::client(info("client")), now).unwrap();
//! let mut server = Session::new(SessionConfig::server(info("server")), now).unwrap();
//! let mut ready = false;
//! let mut answer = None;
//! // A tiny in-memory link: run both sides until neither has anything to do.
//! for _round in 0..20 {
//!     let mut idle = true;
//!     while let Some(action) = client.poll_action() {
//!         idle = false;
//!         match action {
//!             Action::SendText(text) => server.handle_payload(now, Payload::Text(text.as_bytes())),
//!             Action::Event(Event::Ready(_)) => {
//!                 ready = true;
//!                 client.send_request(now, "tools/list", None, RequestOptions::default()).unwrap();
//!             }
//!             Action::Event(Event::RequestEnded { outcome, .. }) => answer = Some(outcome),
//!             _ => {}
//!         }
//!     }
//!     while let Some(action) = server.poll_action() {
//!         idle = false;
//!         match action {
//!             Action::SendText(text) => client.handle_payload(now, Payload::Text(text.as_bytes())),
//!             Action::Event(Event::Request(request)) => {
//!                 let tools = mcp_ws_core::RawJson::from_string(r#"{"tools":[]}"#.into()).unwrap();
//!                 server.respond(request.id, Ok(tools)).unwrap();
//!             }
//!             _ => {}
//!         }
//!     }
//!     if idle {
//!         // Nothing left to do now: jump the virtual clock to the next deadline.
//!         match client.poll_timeout().into_iter().chain(server.poll_timeout()).min() {
//!             Some(deadline) if answer.is_none() => {
//!                 now = deadline;
//!                 client.handle_timeout(now);
//!                 server.handle_timeout(now);
//!             }
//!             _ => break,
//!         }
//!     }
//! }
//! assert!(ready);
//! assert!(matches!(answer, Some(mcp_ws_core::session::Outcome::Result(_))));
//! ```

mod config;
mod event;
mod lifecycle;
mod outgoing;
mod request_meta;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use serde_json::value::RawValue;

pub use config::{BeforeReady, ConfigError, EraPolicy, Role, SessionConfig};
pub use event::{
    Action, ClosedBy, Event, IncomingRequest, LifecycleFailure, Outcome, PeerDescription,
    ReadyInfo, SessionError,
};
pub use outgoing::RequestOptions;

use crate::heartbeat::{Beat, Heartbeat};
use crate::malformed::{MalformedBudget, Verdict};
use outgoing::{Outgoing, Pending, Purpose};
use request_meta::RequestMeta;

use crate::close::{CloseCode, CloseReason};
use crate::codec::{Frame, FrameError, Payload, decode_payload, encode};
use crate::id::RequestId;
use crate::json_object::{Stamp, read_members, stamp};
use crate::mcp::{
    CancelledNotificationParams, ProgressNotificationParams, ProgressToken, ServerCapabilities,
    methods,
};
use crate::message::{
    ErrorCode, ErrorObject, ErrorResponse, Message, Notification, Request, ResultResponse,
};
use crate::raw::RawJson;
use crate::time::Instant;
use crate::version::{Era, ProtocolVersion};

/// Where the lifecycle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Client, dual-era: `server/discover` is in flight.
    ClientProbing,
    /// Client: `initialize` is in flight.
    ClientInitializing,
    /// Server: the client has not yet shown which era it speaks.
    ServerAwaitingFirst,
    /// Server, legacy: `initialize` was answered; waiting for `notifications/initialized`.
    ServerAwaitingInitialized,
    /// Requests flow.
    Ready,
    /// Over.
    Closed,
}

/// A command held until the session is ready.
#[derive(Debug)]
enum Held {
    Request { id: RequestId, method: String, params: Option<RawJson> },
    Notification(Notification),
}

/// An incoming request awaiting our response.
#[derive(Debug)]
struct Incoming {
    progress_token: Option<ProgressToken>,
    /// Results to it get the 2026-07-28 stamps.
    modern: bool,
    /// Its 2026-07-28 result is cacheable: it gets `ttlMs` and `cacheScope` too.
    cacheable: bool,
}

/// Pre-encoded `_meta` values stamped on 2026-07-28 messages.
#[derive(Debug)]
struct ModernStamps {
    protocol_version: Box<RawValue>,
    capabilities: Box<RawValue>,
    info: Box<RawValue>,
    /// A client's wanted log level, when configured.
    log_level: Option<Box<RawValue>>,
}

/// One MCP session over one connection. See the module documentation for the driver contract.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    phase: Phase,
    /// The era and version once known (a legacy server knows it before it is ready).
    negotiated: Option<(Era, ProtocolVersion)>,
    ready: Option<ReadyInfo>,
    /// What a legacy server learned from `initialize`, reported when `initialized` arrives.
    peer_from_initialize: Option<PeerDescription>,
    actions: VecDeque<Action>,
    outgoing: Outgoing,
    incoming: HashMap<RequestId, Incoming>,
    held: VecDeque<Held>,
    next_id: i64,
    heartbeat: Heartbeat,
    malformed: MalformedBudget,
    stamps: Option<ModernStamps>,
    /// Why the client's lifecycle failed, when the session closed for that.
    lifecycle_failure: Option<LifecycleFailure>,
    /// When a server closes a session whose lifecycle has not finished.
    lifecycle_deadline: Option<Instant>,
}

const RESULT_TYPE_KEY: &str = "resultType";
const COMPLETE: &str = "\"complete\"";
const TTL_MS_KEY: &str = "ttlMs";
const CACHE_SCOPE_KEY: &str = "cacheScope";
/// What a result says about caching when its handler said nothing: stale at once, and only
/// for the client that asked (the safe choice when results may depend on who asks).
const DEFAULT_TTL_MS: &str = "0";
const DEFAULT_CACHE_SCOPE: &str = "\"private\"";

/// The methods whose 2026-07-28 results are cacheable (the schema requires `ttlMs` and
/// `cacheScope` on them).
fn is_cacheable(method: &str) -> bool {
    matches!(
        method,
        methods::TOOLS_LIST
            | methods::RESOURCES_LIST
            | methods::RESOURCES_TEMPLATES_LIST
            | methods::PROMPTS_LIST
            | methods::RESOURCES_READ
            | methods::SERVER_DISCOVER
    )
}

impl Session {
    /// Starts a session at `now`. A client's first lifecycle message is queued at once.
    pub fn new(config: SessionConfig, now: Instant) -> Result<Session, ConfigError> {
        config.validate()?;
        let heartbeat = Heartbeat::new(config.ping_interval, config.idle_timeout, now);
        let stamps = modern_stamps(&config);
        let is_client = matches!(config.role, Role::Client { .. });
        let mut session = Session {
            phase: if is_client { Phase::ClientInitializing } else { Phase::ServerAwaitingFirst },
            negotiated: None,
            ready: None,
            peer_from_initialize: None,
            actions: VecDeque::new(),
            outgoing: Outgoing::default(),
            incoming: HashMap::new(),
            held: VecDeque::new(),
            next_id: 1,
            heartbeat,
            malformed: MalformedBudget::new(config.malformed_budget)
                .with_decay(config.malformed_decay),
            stamps,
            lifecycle_failure: None,
            lifecycle_deadline: match is_client {
                false => config.lifecycle_timeout.map(|timeout| now + timeout),
                true => None,
            },
            config,
        };
        if let Role::Client { era, .. } = &session.config.role {
            match era.clone() {
                EraPolicy::Legacy(version) => session.send_initialize(now, version),
                EraPolicy::Modern => {
                    let version = session.newest(Era::Modern);
                    session.become_ready(
                        Era::Modern,
                        version,
                        PeerDescription::Server {
                            info: None,
                            capabilities: ServerCapabilities::default(),
                            instructions: None,
                        },
                    );
                }
                EraPolicy::DualEra { .. } => session.send_discover(now),
            }
        }
        Ok(session)
    }

    // ----- getters -----

    /// What the lifecycle settled, once the session is ready.
    pub fn ready_info(&self) -> Option<&ReadyInfo> {
        self.ready.as_ref()
    }

    /// Why the client's lifecycle failed, if the session closed because it did. A reconnecting
    /// client gives up only on [`LifecycleFailure::VersionRefused`]; the others may pass.
    pub fn lifecycle_failure(&self) -> Option<LifecycleFailure> {
        self.lifecycle_failure
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        matches!(self.config.role, Role::Client { .. })
    }

    /// How many of our requests are in flight, including held ones and lifecycle requests.
    pub fn pending_requests(&self) -> usize {
        self.outgoing.len()
    }

    /// How many of the peer's requests await our response.
    pub fn incoming_requests(&self) -> usize {
        self.incoming.len()
    }

    /// The configuration the session runs with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// When [`Session::handle_timeout`] should next be called, or `None` when no timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        [self.outgoing.next_deadline(), self.heartbeat.next_deadline(), self.lifecycle_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    // ----- output -----

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// How many actions wait for [`Session::poll_action`]. A driver that must know which
    /// action a command of its own produced (to tag what it writes for one request, say)
    /// compares this before and after the command: the new actions are the last ones.
    pub fn queued_actions(&self) -> usize {
        self.actions.len()
    }

    // ----- inputs -----

    /// Feeds one WebSocket data frame. Counts as liveness.
    pub fn handle_payload(&mut self, now: Instant, payload: Payload<'_>) {
        if self.is_closed() {
            return;
        }
        self.heartbeat.on_inbound(now);
        match decode_payload(payload, &self.config.limits) {
            Ok(Frame::Single(message)) => self.on_message(now, message),
            Ok(Frame::Batch(members)) => {
                let allowed = self.negotiated.is_some_and(|(_, v)| v.allows_batches());
                if !allowed {
                    let error = ErrorObject::new(
                        ErrorCode::InvalidRequest,
                        "invalid request: JSON-RPC batches are allowed only in protocol version 2025-03-26",
                    );
                    self.on_malformed(now, FrameError::Reply(ErrorResponse::new(None, error)));
                    return;
                }
                for member in members {
                    if self.is_closed() {
                        return;
                    }
                    match member {
                        Ok(message) => self.on_message(now, message),
                        Err(reply) => self.on_malformed(now, FrameError::Reply(reply)),
                    }
                }
            }
            Err(error) => self.on_malformed(now, error),
        }
    }

    /// Records a WebSocket ping or pong from the peer (tungstenite answers pings itself).
    pub fn handle_transport_activity(&mut self, now: Instant) {
        if !self.is_closed() {
            self.heartbeat.on_inbound(now);
        }
    }

    /// The peer sent a close frame (`None` when it carried no status code).
    pub fn handle_peer_close(&mut self, reason: Option<CloseReason>) {
        let reason = reason.unwrap_or_else(|| {
            CloseReason::new(CloseCode::NORMAL, "the peer closed without a status code")
        });
        self.shut_down(reason, ClosedBy::Peer, false);
    }

    /// The transport failed without a close frame.
    pub fn handle_transport_lost(&mut self, why: impl Into<String>) {
        let reason = CloseReason::new(CloseCode::ABNORMAL, why.into());
        self.shut_down(reason, ClosedBy::Transport, false);
    }

    /// Runs every timer due at `now`: heartbeat, request timeouts, the discover probe.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.lifecycle_deadline.is_some_and(|deadline| now >= deadline) {
            return self.lifecycle_expired();
        }
        match self.heartbeat.poll(now) {
            Beat::Dead => {
                let idle = self.heartbeat.idle_timeout().unwrap_or_default();
                let reason = CloseReason::new(
                    CloseCode::GOING_AWAY,
                    format!("no frame from the peer for {} ms", idle.as_millis()),
                );
                self.shut_down(reason, ClosedBy::Session, true);
                return;
            }
            Beat::Ping => self.actions.push_back(Action::SendPing),
            Beat::Quiet => {}
        }
        while let Some((id, pending)) = self.outgoing.pop_expired(now) {
            self.on_request_expired(now, id, pending);
            if self.is_closed() {
                return;
            }
        }
    }

    // ----- commands -----

    /// Sends a request; its end arrives as [`Event::RequestEnded`] with the returned id.
    ///
    /// Before the session is ready the request is held (or refused, by configuration); its
    /// timeout runs from now either way.
    pub fn send_request(
        &mut self,
        now: Instant,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: RequestOptions,
    ) -> Result<RequestId, SessionError> {
        let method = method.into();
        self.check_open()?;
        check_params(params.as_ref())?;
        if !self.is_client() && self.negotiated.is_some_and(|(era, _)| era == Era::Modern) {
            return Err(SessionError::NotAllowed(
                "servers send no requests in 2026-07-28; return an input_required result instead",
            ));
        }
        if method == methods::PING && self.negotiated.is_some_and(|(era, _)| era == Era::Modern) {
            return Err(SessionError::NotAllowed(
                "2026-07-28 has no ping; rely on WebSocket pings",
            ));
        }
        if self.outgoing.len() >= self.config.max_pending_outgoing {
            return Err(SessionError::TooManyPending { limit: self.config.max_pending_outgoing });
        }
        let ready = self.phase == Phase::Ready;
        if !ready && self.config.before_ready == BeforeReady::Reject {
            return Err(SessionError::NotReady);
        }
        let id = self.allocate_id();
        let timeout = options.timeout.unwrap_or(self.config.request_timeout);
        let deadline = now + timeout;
        let reset = options.reset_timeout_on_progress.then_some(timeout);
        let hard_deadline = match (reset, options.max_total_timeout) {
            (Some(_), Some(total)) => now + total.max(timeout),
            (Some(_), None) => now + timeout.saturating_mul(10),
            (None, _) => deadline,
        };
        self.outgoing.insert(
            id.clone(),
            Pending {
                purpose: Purpose::Application,
                sent: ready,
                deadline,
                hard_deadline,
                reset_on_progress: reset,
                wants_progress: options.progress,
                last_progress: None,
            },
        );
        if ready {
            self.transmit_request(id.clone(), method, params);
        } else {
            self.held.push_back(Held::Request { id: id.clone(), method, params });
        }
        Ok(id)
    }

    /// Sends a notification (held until ready, except those the lifecycle allows early).
    pub fn send_notification(
        &mut self,
        method: impl Into<String>,
        params: Option<RawJson>,
    ) -> Result<(), SessionError> {
        self.check_open()?;
        check_params(params.as_ref())?;
        let notification = Notification::new(method, params);
        let early_ok = !self.is_client() && notification.method == methods::NOTIFICATIONS_MESSAGE;
        if self.phase == Phase::Ready || early_ok {
            self.send(&Message::Notification(notification));
        } else {
            // Held ones are bounded like requests in flight.
            let limit = self.config.max_pending_outgoing;
            if self.held.iter().filter(|h| matches!(h, Held::Notification(_))).count() >= limit {
                return Err(SessionError::TooManyPending { limit });
            }
            self.held.push_back(Held::Notification(notification));
        }
        Ok(())
    }

    /// Answers the peer's request `id` with a result or an error.
    ///
    /// Fails with [`SessionError::UnknownRequest`] when the request is not awaiting an answer,
    /// including when the peer cancelled it (its late answer is suppressed, as MCP requires).
    ///
    /// In 2026-07-28 a result must be a JSON object (it gets the era's stamps). One that is not
    /// still ends the request: the peer is answered with -32603 (internal error) and this
    /// returns [`SessionError::NotAnObject`], so the application learns its handler's mistake.
    /// This is the one error after which the session state has changed.
    pub fn respond(
        &mut self,
        id: RequestId,
        response: Result<RawJson, ErrorObject>,
    ) -> Result<(), SessionError> {
        self.check_open()?;
        let Some(incoming) = self.incoming.remove(&id) else {
            return Err(SessionError::UnknownRequest(id));
        };
        let (message, refused) = match response {
            Ok(result) if incoming.modern => match self
                .stamp_modern_result(&result, incoming.cacheable)
            {
                Some(stamped) => (Message::Result(ResultResponse::new(id.clone(), stamped)), None),
                None => {
                    let error = ErrorObject::new(
                        ErrorCode::InternalError,
                        "the server produced a result that is not a JSON object",
                    );
                    let message = Message::Error(ErrorResponse::new(Some(id.clone()), error));
                    (message, Some(SessionError::NotAnObject))
                }
            },
            Ok(result) => (Message::Result(ResultResponse::new(id.clone(), result)), None),
            Err(error) => (Message::Error(ErrorResponse::new(Some(id.clone()), error)), None),
        };
        self.send(&message);
        refused.map_or(Ok(()), Err)
    }

    /// Reports progress on the peer's request `id`, which must have asked for it.
    pub fn notify_progress(
        &mut self,
        id: &RequestId,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> Result<(), SessionError> {
        self.check_open()?;
        let incoming =
            self.incoming.get(id).ok_or_else(|| SessionError::UnknownRequest(id.clone()))?;
        let token = incoming
            .progress_token
            .clone()
            .ok_or_else(|| SessionError::NoProgressToken(id.clone()))?;
        let params = ProgressNotificationParams {
            progress_token: token,
            progress,
            total,
            message,
            ..Default::default()
        };
        let params = RawJson::from_serialize(&params).expect("progress params serialize");
        self.send(&Message::Notification(Notification::new(
            methods::NOTIFICATIONS_PROGRESS,
            Some(params),
        )));
        Ok(())
    }

    /// Cancels our request `id`: it ends as [`Outcome::Cancelled`] and, if it went out, the
    /// peer gets `notifications/cancelled`.
    pub fn cancel(&mut self, id: &RequestId, reason: Option<&str>) -> Result<(), SessionError> {
        self.check_open()?;
        match self.outgoing.get(id).map(|p| p.purpose) {
            None => return Err(SessionError::UnknownRequest(id.clone())),
            Some(Purpose::Initialize | Purpose::Discover) => {
                return Err(SessionError::NotAllowed("lifecycle requests cannot be cancelled"));
            }
            Some(Purpose::Application) => {}
        }
        let pending = self.outgoing.remove(id).expect("checked above");
        if pending.sent {
            self.send_cancelled(id, reason);
        } else {
            self.held.retain(|h| !matches!(h, Held::Request { id: held, .. } if held == id));
        }
        self.emit(Event::RequestEnded { id: id.clone(), outcome: Outcome::Cancelled });
        Ok(())
    }

    /// Closes the session: sends a close frame with `reason` and ends every request.
    pub fn close(&mut self, reason: CloseReason) -> Result<(), SessionError> {
        self.check_open()?;
        self.shut_down(reason, ClosedBy::Application, true);
        Ok(())
    }

    // ----- internals: dispatch -----

    fn on_message(&mut self, now: Instant, message: Message) {
        match message {
            Message::Request(request) => self.on_request(now, request),
            Message::Notification(notification) => self.on_notification(now, notification),
            Message::Result(response) => self.on_response(now, Message::Result(response)),
            Message::Error(response) if response.id.is_some() => {
                self.on_response(now, Message::Error(response))
            }
            Message::Error(response) => {
                self.emit(Event::UnmatchedResponse(Message::Error(response)))
            }
        }
    }

    fn on_request(&mut self, now: Instant, request: Request) {
        let meta = RequestMeta::read(request.params.as_ref());
        let lifecycle = request.method == methods::PING
            || (request.method == methods::INITIALIZE && !self.is_client());
        if lifecycle {
            if let Some(error) = self.refuse_legacy_only(&request.method, &meta) {
                return self.send_error(Some(request.id), error);
            }
        }
        if request.method == methods::PING {
            self.send_result(request.id, RawJson::empty_object());
            return;
        }
        if self.incoming.contains_key(&request.id) {
            let error = ErrorObject::new(
                ErrorCode::InvalidRequest,
                format!("request id {} is already in use by a request in progress", request.id),
            );
            self.send_error(Some(request.id), error);
            return;
        }
        let mut modern = false;
        if !self.is_client() {
            match request.method.as_str() {
                methods::INITIALIZE => return self.on_initialize(now, request),
                methods::SERVER_DISCOVER => return self.on_discover(request),
                _ => {}
            }
            match self.negotiated.map(|(era, _)| era) {
                Some(Era::Legacy) => {}
                Some(Era::Modern) => {
                    if let Err(error) = self.check_modern_version(&meta) {
                        return self.send_error(Some(request.id), error);
                    }
                    modern = true;
                }
                None if meta.protocol_version.is_some() || !self.speaks(Era::Legacy) => {
                    let version = match self.check_modern_version(&meta) {
                        Ok(version) => version,
                        Err(error) => return self.send_error(Some(request.id), error),
                    };
                    let peer = PeerDescription::Client {
                        info: meta.client_info(),
                        capabilities: meta.client_capabilities().unwrap_or_default(),
                    };
                    self.become_ready(Era::Modern, version, peer);
                    modern = true;
                }
                None => {
                    let error = ErrorObject::new(
                        ErrorCode::InvalidRequest,
                        "the session is not initialized: send initialize first, or stamp \
                         _meta[\"io.modelcontextprotocol/protocolVersion\"] (2026-07-28)",
                    );
                    return self.send_error(Some(request.id), error);
                }
            }
        }
        if self.incoming.len() >= self.config.max_concurrent_incoming {
            let error = ErrorObject::new(
                ErrorCode::InternalError,
                format!(
                    "too many concurrent requests (limit {}); retry later",
                    self.config.max_concurrent_incoming
                ),
            );
            return self.send_error(Some(request.id), error);
        }
        let wants_progress = meta.progress_token.is_some();
        let cacheable = modern && is_cacheable(&request.method);
        let log_level = if modern { meta.log_level() } else { None };
        let client_capabilities =
            if modern { meta.client_capabilities().map(Box::new) } else { None };
        let incoming = Incoming { progress_token: meta.progress_token, modern, cacheable };
        self.incoming.insert(request.id.clone(), incoming);
        self.emit(Event::Request(IncomingRequest {
            id: request.id,
            method: request.method,
            params: request.params,
            wants_progress,
            era: if modern { Era::Modern } else { Era::Legacy },
            log_level,
            client_capabilities,
        }));
    }

    /// The error for a `ping` or `initialize` made in 2026-07-28, which has neither: the
    /// request's own `_meta` stamp decides its era (so a stamped one is refused even on a
    /// fresh or legacy connection), and an unstamped one is of the connection's era. A stamp
    /// naming a version this server does not speak gets -32022 as any other request would;
    /// one naming a legacy version is a legacy request. `None`: answer it as legacy.
    fn refuse_legacy_only(&self, method: &str, meta: &RequestMeta<'_>) -> Option<ErrorObject> {
        let not_found = || {
            ErrorObject::new(
                ErrorCode::MethodNotFound,
                format!("method not found: 2026-07-28 has no {method}"),
            )
        };
        match meta.protocol_version.as_deref() {
            Some(stamp) if ProtocolVersion::parse(stamp).map(|v| v.era()) != Some(Era::Legacy) => {
                Some(self.check_modern_version(meta).err().unwrap_or_else(not_found))
            }
            Some(_) => None,
            None => self.negotiated.is_some_and(|(era, _)| era == Era::Modern).then(not_found),
        }
    }

    fn on_notification(&mut self, now: Instant, notification: Notification) {
        match notification.method.as_str() {
            methods::NOTIFICATIONS_INITIALIZED => {
                if self.phase == Phase::ServerAwaitingInitialized {
                    let (era, version) = self.negotiated.expect("set when initialize was answered");
                    let peer = self.peer_from_initialize.take().expect("set with negotiated");
                    self.become_ready(era, version, peer);
                }
            }
            methods::NOTIFICATIONS_CANCELLED => {
                let params: Option<CancelledNotificationParams> =
                    notification.params.as_ref().and_then(|p| p.parse().ok());
                if let Some(CancelledNotificationParams { request_id: Some(id), reason, .. }) =
                    params
                {
                    if self.incoming.remove(&id).is_some() {
                        self.emit(Event::Cancelled { id, reason });
                    }
                }
            }
            methods::NOTIFICATIONS_PROGRESS => {
                let params: Option<ProgressNotificationParams> =
                    notification.params.as_ref().and_then(|p| p.parse().ok());
                if let Some(params) = params {
                    self.on_progress(now, params);
                }
            }
            _ => self.emit(Event::Notification(notification)),
        }
    }

    fn on_progress(&mut self, now: Instant, params: ProgressNotificationParams) {
        let id = match &params.progress_token {
            ProgressToken::Number(n) => RequestId::from(*n),
            ProgressToken::String(s) => RequestId::from(s.as_str()),
        };
        let Some(pending) = self.outgoing.get_mut(&id) else { return };
        if !pending.wants_progress || !params.progress.is_finite() {
            return;
        }
        if pending.last_progress.is_some_and(|last| params.progress <= last) {
            return;
        }
        pending.last_progress = Some(params.progress);
        if let Some(timeout) = pending.reset_on_progress {
            let deadline = (now + timeout).min(pending.hard_deadline);
            self.outgoing.reschedule(&id, deadline);
        }
        self.emit(Event::Progress { id, params });
    }

    /// Handles a result, or an error with an id.
    fn on_response(&mut self, now: Instant, message: Message) {
        let sent = message.id().and_then(|id| self.outgoing.get(id)).is_some_and(|p| p.sent);
        if !sent {
            // Unknown, finished, or held and never sent: the peer answered nothing we asked.
            return self.emit(Event::UnmatchedResponse(message));
        }
        let (id, outcome) = match message {
            Message::Result(r) => (r.id, Ok(r.result)),
            Message::Error(ErrorResponse { id: Some(id), error, .. }) => (id, Err(error)),
            Message::Request(_) | Message::Notification(_) | Message::Error(_) => return,
        };
        let Some(pending) = self.outgoing.remove(&id) else { return };
        match pending.purpose {
            Purpose::Application => {
                let outcome = match outcome {
                    Ok(result) => Outcome::Result(result),
                    Err(error) => Outcome::Error(error),
                };
                self.emit(Event::RequestEnded { id, outcome });
            }
            Purpose::Initialize => self.on_initialize_answer(outcome),
            Purpose::Discover => self.on_discover_answer(now, outcome.ok()),
        }
    }

    fn on_request_expired(&mut self, now: Instant, id: RequestId, pending: Pending) {
        match pending.purpose {
            Purpose::Application => {
                if pending.sent {
                    self.send_cancelled(&id, Some("timed out"));
                } else {
                    self.held
                        .retain(|h| !matches!(h, Held::Request { id: held, .. } if *held == id));
                }
                self.emit(Event::RequestEnded { id, outcome: Outcome::TimedOut });
            }
            Purpose::Initialize => {
                let reason = CloseReason::new(
                    CloseCode::PROTOCOL_ERROR,
                    "the server did not answer initialize in time",
                );
                self.lifecycle_failure = Some(LifecycleFailure::InitializeTimedOut);
                self.shut_down(reason, ClosedBy::Session, true);
            }
            Purpose::Discover => self.on_discover_answer(now, None),
        }
    }

    fn on_malformed(&mut self, now: Instant, error: FrameError) {
        let verdict = self.malformed.judge_at(now, &error);
        if let Some(reply) = verdict.reply() {
            self.send(&Message::Error(reply.clone()));
        }
        self.emit(Event::MalformedFrame { error });
        match verdict {
            Verdict::Reply(_) => {}
            Verdict::ReplyThenClose(_, reason) | Verdict::Close(reason) => {
                self.shut_down(reason, ClosedBy::Session, true)
            }
        }
    }

    // ----- internals: sending -----

    fn transmit_request(&mut self, id: RequestId, method: String, params: Option<RawJson>) {
        let wants_progress = self.outgoing.get(&id).is_some_and(|p| p.wants_progress);
        let modern_client =
            self.is_client() && self.negotiated.is_some_and(|(era, _)| era == Era::Modern);
        let token = wants_progress.then(|| progress_token_for(&id));
        let token_member = token.as_deref().map(|t| ("progressToken", t));
        let params = if modern_client {
            let stamps = self.stamps.as_ref().expect("modern clients have stamps");
            let meta: Vec<(&str, &RawValue)> =
                modern_meta(stamps, true).into_iter().chain(token_member).collect();
            Some(
                stamp(params.as_ref(), Stamp { top: &[], meta: &meta })
                    .expect("params are objects"),
            )
        } else if let Some(member) = token_member {
            Some(
                stamp(params.as_ref(), Stamp { top: &[], meta: &[member] })
                    .expect("params are objects"),
            )
        } else {
            params
        };
        self.send(&Message::Request(Request::new(id, method, params)));
    }

    fn stamp_modern_request(&self, params: Option<RawJson>) -> Option<RawJson> {
        let Some(stamps) = &self.stamps else { return params };
        let meta = modern_meta(stamps, true);
        stamp(params.as_ref(), Stamp { top: &[], meta: &meta }).ok().or(params)
    }

    /// Adds `resultType: "complete"` and `_meta.serverInfo` to a result, and to a cacheable
    /// one `ttlMs: 0` and `cacheScope: "private"` (members the result has win); `None` if the
    /// result is not an object.
    fn stamp_modern_result(&self, result: &RawJson, cacheable: bool) -> Option<RawJson> {
        let stamps = self.stamps.as_ref()?;
        let complete = complete_raw();
        let ttl = RawValue::from_string(DEFAULT_TTL_MS.to_owned()).expect("valid JSON");
        let scope = RawValue::from_string(DEFAULT_CACHE_SCOPE.to_owned()).expect("valid JSON");
        let mut top: Vec<(&str, &RawValue)> = vec![(RESULT_TYPE_KEY, &complete)];
        if cacheable {
            top.extend([(TTL_MS_KEY, &*ttl), (CACHE_SCOPE_KEY, &*scope)]);
        }
        let meta = modern_meta(stamps, false);
        stamp(Some(result), Stamp { top: &top, meta: &meta }).ok()
    }

    fn send_cancelled(&mut self, id: &RequestId, reason: Option<&str>) {
        let params = CancelledNotificationParams {
            request_id: Some(id.clone()),
            reason: reason.map(str::to_owned),
            ..Default::default()
        };
        let params = RawJson::from_serialize(&params).expect("cancelled params serialize");
        self.send(&Message::Notification(Notification::new(
            methods::NOTIFICATIONS_CANCELLED,
            Some(params),
        )));
    }

    fn send_result(&mut self, id: RequestId, result: RawJson) {
        self.send(&Message::Result(ResultResponse::new(id, result)));
    }

    fn send_error(&mut self, id: Option<RequestId>, error: ErrorObject) {
        self.send(&Message::Error(ErrorResponse::new(id, error)));
    }

    fn send(&mut self, message: &Message) {
        if !self.is_closed() {
            self.actions.push_back(Action::SendText(encode(message)));
        }
    }

    fn emit(&mut self, event: Event) {
        self.actions.push_back(Action::Event(event));
    }

    fn check_open(&self) -> Result<(), SessionError> {
        if self.is_closed() { Err(SessionError::Closed) } else { Ok(()) }
    }

    fn allocate_id(&mut self) -> RequestId {
        let id = RequestId::from(self.next_id);
        self.next_id += 1;
        id
    }

    fn speaks(&self, era: Era) -> bool {
        self.config.versions.iter().any(|v| v.era() == era)
    }

    fn newest(&self, era: Era) -> ProtocolVersion {
        self.config
            .versions
            .iter()
            .copied()
            .filter(|v| v.era() == era)
            .max()
            .unwrap_or(ProtocolVersion::LATEST)
    }

    fn shut_down(&mut self, reason: CloseReason, by: ClosedBy, send_close: bool) {
        if self.is_closed() {
            return;
        }
        self.phase = Phase::Closed;
        if send_close {
            self.actions.push_back(Action::Close(reason.clone()));
        }
        self.held.clear();
        self.incoming.clear();
        for (id, pending) in self.outgoing.drain_sorted() {
            if pending.purpose == Purpose::Application {
                self.emit(Event::RequestEnded { id, outcome: Outcome::Disconnected });
            }
        }
        self.emit(Event::Closed { reason, by });
    }
}

/// Checks that params the application gave are an object whose `_meta`, if any, is an object,
/// so the session can stamp them.
fn check_params(params: Option<&RawJson>) -> Result<(), SessionError> {
    let Some(params) = params else { return Ok(()) };
    let members = read_members(params.get()).ok_or(SessionError::NotAnObject)?;
    match members.iter().find(|(key, _)| key == "_meta") {
        Some((_, meta)) if !meta.get().starts_with('{') => Err(SessionError::NotAnObject),
        _ => Ok(()),
    }
}

/// The progress token we put on our request `id`: the id itself, as JSON.
fn progress_token_for(id: &RequestId) -> Box<RawValue> {
    serde_json::value::to_raw_value(id).expect("ids serialize")
}

fn complete_raw() -> Box<RawValue> {
    RawValue::from_string(COMPLETE.to_owned()).expect("valid JSON")
}

fn modern_meta(stamps: &ModernStamps, client: bool) -> Vec<(&'static str, &RawValue)> {
    use crate::mcp::meta::{
        CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, PROTOCOL_VERSION_KEY, SERVER_INFO_KEY,
    };
    if client {
        let mut meta = vec![
            (PROTOCOL_VERSION_KEY, &*stamps.protocol_version),
            (CLIENT_CAPABILITIES_KEY, &*stamps.capabilities),
            (CLIENT_INFO_KEY, &*stamps.info),
        ];
        if let Some(level) = &stamps.log_level {
            meta.push((crate::mcp::meta::LOG_LEVEL_KEY, level));
        }
        meta
    } else {
        vec![(SERVER_INFO_KEY, &*stamps.info)]
    }
}

/// The 2026-07-28 stamps for this configuration, when it speaks that era.
fn modern_stamps(config: &SessionConfig) -> Option<ModernStamps> {
    let version = config.versions.iter().copied().filter(|v| v.era() == Era::Modern).max()?;
    let capabilities = match &config.role {
        Role::Client { capabilities, .. } => serde_json::value::to_raw_value(capabilities),
        Role::Server { capabilities, .. } => serde_json::value::to_raw_value(capabilities),
    }
    .expect("capabilities serialize");
    Some(ModernStamps {
        protocol_version: serde_json::value::to_raw_value(version.as_str()).expect("a string"),
        capabilities,
        info: serde_json::value::to_raw_value(&config.info).expect("implementation serializes"),
        log_level: match (&config.role, &config.log_level) {
            (Role::Client { .. }, Some(level)) => {
                Some(serde_json::value::to_raw_value(level).expect("a string"))
            }
            _ => None,
        },
    })
}
