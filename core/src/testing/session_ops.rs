//! Random operation sequences on one [`Session`], with its invariants checked after each step.
//!
//! The bytes choose the session's role and era policy, then a bounded list of operations: our
//! commands (request, notify, cancel, respond, report progress, close), the peer's frames
//! (answers to what the session sent, progress, requests, cancellations, garbage, binary
//! frames), transport events and clock advances. Checked after every step:
//!
//! - every request the application issued ends with at most one outcome, and once the session
//!   is closed, with exactly one; lifecycle requests never surface as outcomes;
//! - nothing is sent after a close action, and no action at all follows the `Closed` event;
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`;
//! - once closed, nothing is pending and every command returns [`SessionError::Closed`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::close::{CloseCode, CloseReason};
use crate::codec::Payload;
use crate::id::RequestId;
use crate::mcp::Implementation;
use crate::raw::RawJson;
use crate::session::{
    Action, EraPolicy, Event, RequestOptions, Role, Session, SessionConfig, SessionError,
};
use crate::testing::bytes::ByteSource;
use crate::time::Instant;
use crate::version::ProtocolVersion;
use crate::{ErrorCode, ErrorObject};

/// The most operations one input runs.
pub const MAX_OPS: usize = 256;

/// A broken invariant, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

struct Harness {
    session: Session,
    now: Instant,
    issued: Vec<RequestId>,
    outcomes: HashMap<RequestId, usize>,
    /// Requests the session sent, with their methods (ours and lifecycle ones).
    sent_requests: Vec<(RequestId, String)>,
    /// Requests the peer sent that reached the application.
    delivered: Vec<RequestId>,
    close_action_seen: bool,
    closed_event_seen: bool,
}

/// Runs the operations `data` describes; `Err` names the first broken invariant.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let mut input = ByteSource::new(data);
    let config = config_for(input.u8());
    let mut h = Harness {
        session: Session::new(config, Instant::ZERO).expect("harness configs are valid"),
        now: Instant::ZERO,
        issued: Vec::new(),
        outcomes: HashMap::new(),
        sent_requests: Vec::new(),
        delivered: Vec::new(),
        close_action_seen: false,
        closed_event_seen: false,
    };
    h.drain()?;
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        h.step(&mut input)?;
        h.drain()?;
    }
    // Whatever happened, a close must settle every request.
    if !h.session.is_closed() {
        let open = h.issued.iter().filter(|id| !h.outcomes.contains_key(*id)).count();
        ensure!(
            open <= h.session.pending_requests(),
            "{open} requests without outcome but only {} pending",
            h.session.pending_requests()
        );
        h.session
            .close(CloseReason::new(CloseCode::NORMAL, "harness done"))
            .map_err(|e| Violation(format!("close of an open session failed: {e}")))?;
        h.drain()?;
    }
    h.check_closed()
}

fn config_for(selector: u8) -> SessionConfig {
    let info = Implementation { name: "harness".into(), version: "1".into(), ..Default::default() };
    let mut config = match selector % 4 {
        0 => SessionConfig::server(info),
        era => {
            let mut config = SessionConfig::client(info);
            if let Role::Client { era: policy, .. } = &mut config.role {
                *policy = match era {
                    1 => EraPolicy::Legacy(ProtocolVersion::V2025_11_25),
                    2 => EraPolicy::Modern,
                    _ => EraPolicy::DualEra { fallback: ProtocolVersion::V2025_03_26 },
                };
            }
            config
        }
    };
    config.request_timeout = Duration::from_millis(1_000);
    config.discover_timeout = Duration::from_millis(300);
    config.ping_interval = Some(Duration::from_millis(2_000));
    config.idle_timeout = Some(Duration::from_millis(5_000));
    config.max_pending_outgoing = 8;
    config.max_concurrent_incoming = 4;
    config.malformed_budget = 3;
    config
}

const PEER_METHODS: [&str; 6] =
    ["tools/call", "ping", "initialize", "server/discover", "tools/list", "roots/list"];

impl Harness {
    fn step(&mut self, input: &mut ByteSource<'_>) -> Result<(), Violation> {
        match input.u8() % 14 {
            0 => {
                let flags = input.u8();
                let timeout_ms = u64::from(input.u16() % 3_000);
                let options = RequestOptions {
                    timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
                    progress: flags & 1 != 0,
                    reset_timeout_on_progress: flags & 2 != 0,
                    max_total_timeout: (flags & 4 != 0).then(|| Duration::from_millis(2_500)),
                };
                let params = (flags & 8 != 0).then(|| raw(r#"{"name":"t","arguments":{"x":1}}"#));
                let result = self.session.send_request(self.now, "tools/call", params, options);
                match result {
                    Ok(id) => {
                        ensure!(!self.issued.contains(&id), "id {id} allocated twice");
                        self.issued.push(id);
                    }
                    Err(e) => self.expect_refusal(&e)?,
                }
            }
            1 => {
                if let Err(e) = self.session.send_notification("notifications/message", None) {
                    self.expect_refusal(&e)?;
                }
            }
            2 => {
                if let Some(id) = pick(&self.issued, input).cloned() {
                    let result = self.session.cancel(&id, Some("harness"));
                    if result.is_ok() {
                        ensure!(
                            !self.outcomes.contains_key(&id),
                            "cancel of finished request {id} succeeded"
                        );
                    }
                }
            }
            3 | 4 => {
                let ok = input.u8() % 4;
                if let Some((id, method)) = pick(&self.sent_requests, input).cloned() {
                    let text = if ok != 0 {
                        let result = peer_result(&method, ok);
                        format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, json(&id))
                    } else {
                        format!(
                            r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32601,"message":"no"}}}}"#,
                            json(&id)
                        )
                    };
                    self.feed(&text);
                }
            }
            5 => {
                let progress = input.u8();
                if let Some((id, _)) = pick(&self.sent_requests, input).cloned() {
                    self.feed(&format!(
                        r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{},"progress":{progress}}}}}"#,
                        json(&id)
                    ));
                }
            }
            6 => {
                let id = input.u8() % 16;
                let method = PEER_METHODS[input.below(PEER_METHODS.len())];
                let params = match (method, input.u8() % 3) {
                    ("initialize", _) => {
                        r#"{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"p","version":"1"}}"#
                    }
                    (_, 0) => {
                        r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":3}}"#
                    }
                    (_, 1) => r#"{"_meta":{"progressToken":"t"}}"#,
                    _ => "{}",
                };
                self.feed(&format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
                ));
            }
            7 => {
                let text = match input.u8() % 3 {
                    0 => r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned(),
                    1 => match pick(&self.delivered, input) {
                        Some(id) => format!(
                            r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{}}}}}"#,
                            json(id)
                        ),
                        None => return Ok(()),
                    },
                    _ => r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{}}"#
                        .to_owned(),
                };
                self.feed(&text);
            }
            8 => {
                let ok = input.u8() & 1 == 0;
                if let Some(id) = pick(&self.delivered, input).cloned() {
                    let answer = if ok {
                        Ok(raw(r#"{"content":[]}"#))
                    } else {
                        Err(ErrorObject::new(ErrorCode::InternalError, "handler failed"))
                    };
                    match self.session.respond(id, answer) {
                        Ok(()) | Err(SessionError::UnknownRequest(_)) => {}
                        Err(e) => self.expect_refusal(&e)?,
                    }
                }
            }
            9 => {
                let progress = f64::from(input.u8());
                if let Some(id) = pick(&self.delivered, input).cloned() {
                    match self.session.notify_progress(&id, progress, None, None) {
                        Ok(())
                        | Err(SessionError::UnknownRequest(_) | SessionError::NoProgressToken(_)) =>
                            {}
                        Err(e) => self.expect_refusal(&e)?,
                    }
                }
            }
            10 => {
                let by = Duration::from_millis(u64::from(input.u16() % 4_000));
                self.advance_to(self.now + by)?;
            }
            11 => {
                let binary = input.u8() % 8 == 0;
                let bytes = input.slice(48);
                let payload = if binary { Payload::Binary(bytes) } else { Payload::Text(bytes) };
                self.session.handle_payload(self.now, payload);
            }
            12 => match input.u8() % 8 {
                0 => {
                    let _ = self.session.close(CloseReason::new(CloseCode::NORMAL, "app"));
                }
                1 => self.session.handle_peer_close(None),
                2 => self.session.handle_transport_lost("cut"),
                _ => self.session.handle_transport_activity(self.now),
            },
            _ => {
                if let Some(deadline) = self.session.poll_timeout() {
                    self.advance_to(deadline.max(self.now))?;
                }
            }
        }
        Ok(())
    }

    fn feed(&mut self, text: &str) {
        self.session.handle_payload(self.now, Payload::Text(text.as_bytes()));
    }

    fn advance_to(&mut self, now: Instant) -> Result<(), Violation> {
        self.now = now;
        self.session.handle_timeout(now);
        if let Some(next) = self.session.poll_timeout() {
            ensure!(next > now, "poll_timeout {next:?} is not after handle_timeout({now:?})");
        }
        Ok(())
    }

    fn expect_refusal(&self, error: &SessionError) -> Result<(), Violation> {
        if self.session.is_closed() {
            ensure!(*error == SessionError::Closed, "closed session refused with {error:?}");
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), Violation> {
        while let Some(action) = self.session.poll_action() {
            ensure!(!self.closed_event_seen, "action {action:?} after the Closed event");
            match action {
                Action::SendText(text) => {
                    ensure!(!self.close_action_seen, "text sent after close: {text}");
                    self.record_sent(&text);
                }
                Action::SendPing => ensure!(!self.close_action_seen, "ping after close"),
                Action::Close(_) => {
                    ensure!(!self.close_action_seen, "two close actions");
                    self.close_action_seen = true;
                }
                Action::Event(Event::RequestEnded { id, .. }) => {
                    ensure!(self.issued.contains(&id), "outcome for a request never issued: {id}");
                    let count = self.outcomes.entry(id.clone()).or_default();
                    *count += 1;
                    ensure!(*count == 1, "request {id} ended {count} times");
                }
                Action::Event(Event::Request(request)) => self.delivered.push(request.id),
                Action::Event(Event::Closed { .. }) => {
                    self.closed_event_seen = true;
                    self.check_closed()?;
                }
                Action::Event(_) => {}
            }
        }
        Ok(())
    }

    fn record_sent(&mut self, text: &str) {
        // Only requests are recorded: skip answers and notifications without parsing them
        // (every frame the session sends passes here, and re-parsing each one was the
        // harness's own largest cost).
        if !text.contains("\"method\"") || !text.contains("\"id\"") {
            return;
        }
        #[derive(serde::Deserialize)]
        struct Sent {
            id: Option<RequestId>,
            method: Option<String>,
        }
        if let Ok(Sent { id: Some(id), method: Some(method) }) = serde_json::from_str(text) {
            self.sent_requests.push((id, method));
        }
    }

    fn check_closed(&mut self) -> Result<(), Violation> {
        ensure!(self.session.is_closed(), "Closed event but the session is open");
        for id in &self.issued {
            let count = self.outcomes.get(id).copied().unwrap_or(0);
            ensure!(count == 1, "request {id} ended {count} times by the close");
        }
        ensure!(self.session.pending_requests() == 0, "requests pending after close");
        ensure!(self.session.incoming_requests() == 0, "incoming requests kept after close");
        ensure!(self.session.poll_timeout().is_none(), "a timer runs after close");
        let refused = self.session.send_request(self.now, "x", None, RequestOptions::default());
        ensure!(refused == Err(SessionError::Closed), "request after close: {refused:?}");
        Ok(())
    }
}

fn pick<'a, T>(items: &'a [T], input: &mut ByteSource<'_>) -> Option<&'a T> {
    if items.is_empty() { None } else { items.get(input.below(items.len())) }
}

fn raw(text: &str) -> RawJson {
    RawJson::from_string(text.to_owned()).expect("harness JSON is valid")
}

fn json(id: &RequestId) -> String {
    serde_json::to_string(id).expect("ids serialize")
}

fn peer_result(method: &str, variant: u8) -> &'static str {
    match (method, variant) {
        ("initialize", 1) => {
            r#"{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}"#
        }
        ("initialize", 2) => {
            r#"{"protocolVersion":"1999-01-01","capabilities":{},"serverInfo":{"name":"s","version":"1"}}"#
        }
        ("server/discover", 1) => r#"{"supportedVersions":["2026-07-28"],"capabilities":{}}"#,
        ("server/discover", 2) => r#"{"supportedVersions":["2025-06-18"],"capabilities":{}}"#,
        _ => "{}",
    }
}
