//! Random operation sequences on one [`Bridge`], against a small model of the stdio client and
//! of the server connections, with the bridge's promises checked after every step:
//!
//! - every line written to stdout is one JSON-RPC message (no raw newline, decodable);
//! - no request read from stdin is answered twice, and by the end every request the client
//!   did not cancel has exactly one answer;
//! - nothing is sent without a connection; on a connection that needs a re-initialize, the
//!   bridge's `initialize` goes first, and no other request goes out before it was answered
//!   and `notifications/initialized` was sent;
//! - no dial is asked for while one is under way or a connection is up;
//! - the queue stays within its bound; `Exit` comes at most once and nothing follows it;
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`.
//!
//! The bytes choose the operations: client lines (requests, `initialize`, notifications,
//! cancellations, garbage, answers to server requests), dial outcomes, server frames (answers,
//! the re-initialize's answer, requests, garbage), cuts, clock jumps and end of input. After
//! the input runs out, stdin is closed and the clock runs until the bridge exits.

use std::collections::HashMap;
use std::time::Duration;

use crate::bridge::{Bridge, BridgeAction, BridgeConfig, REINIT_PREFIX};
use crate::codec::{self, Frame, Limits, Payload};
use crate::id::RequestId;
use crate::message::Message;
use crate::reconnect::{Failure, Jitter, ReconnectConfig};
use crate::testing::bytes::ByteSource;
use crate::testing::session_ops::{MAX_OPS, Violation};
use crate::time::Instant;

/// The id the model's client gives its `initialize`.
const INIT_ID: i64 = 100;

/// Where a model connection's lifecycle stands, as the fake server sees it.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    /// The client had initialized: the bridge's re-initialize must come first.
    NeedsReinit,
    /// The re-initialize arrived and is not answered yet.
    ReinitSent(RequestId),
    /// The re-initialize was answered; `notifications/initialized` must come next.
    AwaitInitialized,
    /// Anything may flow.
    Open,
}

#[derive(Debug)]
enum ModelLink {
    Down,
    Dialing,
    Up {
        stage: Stage,
        /// Requests this connection received and has not answered.
        inbox: Vec<RequestId>,
        /// Server requests sent on it that the client may answer.
        asked: Vec<RequestId>,
    },
}

struct Harness {
    bridge: Bridge,
    now: Instant,
    max_queued: usize,
    link: ModelLink,
    /// Per request id: requests written, answers read, cancellations written while owed.
    requests: HashMap<RequestId, (u32, u32, u32)>,
    client_initialized: bool,
    next_server_request: u32,
    eof: bool,
    exited: bool,
}

/// Runs the operations `data` describes; `Err` names the first broken invariant.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let mut input = ByteSource::new(data);
    let flags = input.u8();
    let config = config_for(flags);
    let max_queued = config.max_queued;
    let mut h = Harness {
        bridge: Bridge::new(config, Instant::ZERO)
            .map_err(|e| Violation(format!("harness config refused: {e}")))?,
        now: Instant::ZERO,
        max_queued,
        link: ModelLink::Down,
        requests: HashMap::new(),
        client_initialized: false,
        next_server_request: 1,
        eof: false,
        exited: false,
    };
    h.drain()?;
    for _ in 0..MAX_OPS {
        if input.is_empty() || h.exited {
            break;
        }
        h.step(&mut input)?;
        h.drain()?;
    }
    h.finish()
}

fn config_for(flags: u8) -> BridgeConfig {
    BridgeConfig {
        limits: Limits { max_message_bytes: 4_096, ..Limits::default() },
        reconnect: ReconnectConfig {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
            jitter: if flags & 1 == 0 { Jitter::Full } else { Jitter::None },
            max_attempts: (flags & 2 != 0).then_some(6),
            stable_after: Duration::from_millis(500),
            ..ReconnectConfig::default()
        },
        jitter_seed: u64::from(flags),
        ping_interval: (flags & 4 != 0).then(|| Duration::from_millis(700)),
        idle_timeout: (flags & 4 != 0).then(|| Duration::from_millis(2_000)),
        reinitialize_timeout: Duration::from_millis(800),
        max_queued: 1 + usize::from(flags >> 5),
        max_queued_bytes: 8 * 1024 * 1024,
        max_queue_wait: Duration::from_millis(1_500),
        drain_after_eof: Duration::from_millis(1_000),
        malformed_budget: 2,
    }
}

fn json_id(id: &RequestId) -> String {
    serde_json::to_string(id).expect("ids serialize")
}

impl Harness {
    fn step(&mut self, input: &mut ByteSource<'_>) -> Result<(), Violation> {
        let op = input.u8() % 16;
        match op {
            0 | 1 if !self.eof => {
                let id = RequestId::from(i64::from(input.u8() % 8));
                self.client_request(&id, "tools/call");
            }
            2 if !self.eof => {
                let id = RequestId::from(INIT_ID);
                let (sent, answered, cancelled) =
                    self.requests.get(&id).copied().unwrap_or_default();
                if answered + cancelled >= sent {
                    // A fresh initialize (not refused as a duplicate) starts a new session.
                    self.client_initialized = false;
                }
                self.client_request(&id, "initialize");
            }
            3 if !self.eof => {
                let method = if input.u8() % 2 == 0 {
                    "notifications/initialized"
                } else {
                    "notifications/roots/list_changed"
                };
                let line = format!(r#"{{"jsonrpc":"2.0","method":"{method}"}}"#);
                self.bridge.handle_client_line(self.now, &line);
            }
            4 if !self.eof => {
                let owed: Vec<RequestId> = self
                    .requests
                    .iter()
                    .filter(|(_, (sent, answered, cancelled))| answered + cancelled < *sent)
                    .map(|(id, _)| id.clone())
                    .collect();
                if let Some(id) = owed.get(input.below(owed.len().max(1))) {
                    self.requests.get_mut(id).expect("listed").2 += 1;
                    let line = format!(
                        r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{}}}}}"#,
                        json_id(id)
                    );
                    self.bridge.handle_client_line(self.now, &line);
                }
            }
            5 if !self.eof => {
                let garbage = ["{", "hello", r#"{"a":1}"#, "[]", "  "];
                let line = garbage[input.below(garbage.len())];
                self.bridge.handle_client_line(self.now, line);
            }
            6 if !self.eof => {
                let asked = match &self.link {
                    ModelLink::Up { asked, .. } => asked.clone(),
                    _ => Vec::new(),
                };
                let id = asked
                    .get(input.below(asked.len().max(1)))
                    .cloned()
                    .unwrap_or_else(|| RequestId::from("s-stale"));
                let line = format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, json_id(&id));
                self.bridge.handle_client_line(self.now, &line);
            }
            7 => {
                if matches!(self.link, ModelLink::Dialing) {
                    if input.u8() % 3 == 0 {
                        self.link = ModelLink::Down;
                        let failure = match input.u8() % 4 {
                            0 => Failure::HandshakeStatus {
                                status: 503,
                                retry_after: Some(Duration::from_millis(300)),
                            },
                            _ => Failure::Transport("refused".into()),
                        };
                        self.bridge.handle_dial_failed(self.now, failure);
                    } else {
                        let stage =
                            if self.client_initialized { Stage::NeedsReinit } else { Stage::Open };
                        self.link = ModelLink::Up { stage, inbox: Vec::new(), asked: Vec::new() };
                        self.bridge.handle_connected(self.now);
                    }
                }
            }
            8 | 9 => self.server_answers(input),
            10 => self.server_speaks(input),
            11 => {
                if matches!(self.link, ModelLink::Up { .. }) {
                    self.link = ModelLink::Down;
                    self.bridge.handle_connection_lost(self.now, Failure::Transport("cut".into()));
                }
            }
            12 | 13 => {
                self.now = self.now + Duration::from_millis(u64::from(input.u16() % 3_000));
                self.timeout()?;
            }
            14 => {
                if let Some(deadline) = self.bridge.poll_timeout() {
                    self.now = self.now.max(deadline);
                }
                self.timeout()?;
            }
            15 if input.u8() % 8 == 0 && !self.eof => {
                self.eof = true;
                self.bridge.handle_client_eof(self.now);
            }
            _ => {}
        }
        Ok(())
    }

    fn client_request(&mut self, id: &RequestId, method: &str) {
        self.requests.entry(id.clone()).or_default().0 += 1;
        let params = if method == "initialize" {
            r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}"#
        } else {
            r#"{"name":"echo"}"#
        };
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"{method}","params":{params}}}"#,
            json_id(id)
        );
        self.bridge.handle_client_line(self.now, &line);
    }

    fn timeout(&mut self) -> Result<(), Violation> {
        self.bridge.handle_timeout(self.now);
        if let Some(next) = self.bridge.poll_timeout() {
            ensure!(
                next > self.now,
                "poll_timeout {next:?} not after handle_timeout({:?})",
                self.now
            );
        }
        Ok(())
    }

    /// The server answers something: a request it holds, the re-initialize, or a stranger.
    fn server_answers(&mut self, input: &mut ByteSource<'_>) {
        let ModelLink::Up { stage, inbox, .. } = &mut self.link else { return };
        let choice = input.u8();
        let text = if let (Stage::ReinitSent(id), true) = (stage.clone(), choice % 2 == 0) {
            let version = if choice % 32 == 0 { "2024-11-05" } else { "2025-06-18" };
            if choice % 6 == 0 {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32603,"message":"busy"}}}}"#,
                    json_id(&id)
                )
            } else {
                *stage = Stage::AwaitInitialized;
                format!(
                    r#"{{"jsonrpc":"2.0","id":{},"result":{{"protocolVersion":"{version}","capabilities":{{}},"serverInfo":{{"name":"s","version":"1"}}}}}}"#,
                    json_id(&id)
                )
            }
        } else if !inbox.is_empty() && choice % 5 != 0 {
            let id = inbox.remove(input.below(inbox.len()));
            if id == RequestId::from(INIT_ID) {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{},"result":{{"protocolVersion":"2025-06-18","capabilities":{{}},"serverInfo":{{"name":"s","version":"1"}}}}}}"#,
                    json_id(&id)
                )
            } else if choice % 3 == 0 {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32602,"message":"bad"}}}}"#,
                    json_id(&id)
                )
            } else {
                format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[]}}}}"#, json_id(&id))
            }
        } else {
            // An answer nobody asked for (or a second one).
            let id = input.u8() % 8;
            format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#)
        };
        self.bridge.handle_server_payload(self.now, Payload::Text(text.as_bytes()));
    }

    /// The server sends something of its own.
    fn server_speaks(&mut self, input: &mut ByteSource<'_>) {
        if !matches!(self.link, ModelLink::Up { .. }) {
            return;
        }
        match input.u8() % 6 {
            0 | 1 => {
                let id = RequestId::from(format!("s{}", self.next_server_request));
                self.next_server_request += 1;
                if let ModelLink::Up { asked, .. } = &mut self.link {
                    asked.push(id.clone());
                }
                let text =
                    format!(r#"{{"jsonrpc":"2.0","id":{},"method":"roots/list"}}"#, json_id(&id));
                self.bridge.handle_server_payload(self.now, Payload::Text(text.as_bytes()));
            }
            2 => {
                let text = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#;
                self.bridge.handle_server_payload(self.now, Payload::Text(text.as_bytes()));
            }
            3 => self.bridge.handle_server_payload(self.now, Payload::Text(b"not json at all")),
            4 => self.bridge.handle_server_payload(self.now, Payload::Binary(b"\x00\x01")),
            _ => self.bridge.handle_server_activity(self.now),
        }
    }

    /// Performs the bridge's actions on the model, checking each.
    fn drain(&mut self) -> Result<(), Violation> {
        while let Some(action) = self.bridge.poll_action() {
            ensure!(!self.exited, "action {action:?} after Exit");
            match action {
                BridgeAction::WriteClient(line) => self.client_reads(&line)?,
                BridgeAction::SendServer(text) => self.server_reads(&text)?,
                BridgeAction::SendPing => {
                    ensure!(matches!(self.link, ModelLink::Up { .. }), "a ping with no connection")
                }
                BridgeAction::Dial { .. } => {
                    ensure!(matches!(self.link, ModelLink::Down), "a dial while {:?}", self.link);
                    self.link = ModelLink::Dialing;
                }
                BridgeAction::CloseServer(_) => {
                    ensure!(
                        matches!(self.link, ModelLink::Up { .. }),
                        "a close with no connection"
                    );
                    self.link = ModelLink::Down;
                }
                BridgeAction::Event(_) => {}
                BridgeAction::Exit(_) => self.exited = true,
            }
        }
        ensure!(
            self.bridge.queued() <= self.max_queued,
            "{} queued over the bound {}",
            self.bridge.queued(),
            self.max_queued
        );
        Ok(())
    }

    fn client_reads(&mut self, line: &str) -> Result<(), Violation> {
        ensure!(!line.contains('\n'), "a raw newline in a stdout line: {line:?}");
        let frame = codec::decode(line, &Limits::default());
        let messages = match frame {
            Ok(Frame::Single(message)) => vec![message],
            Ok(Frame::Batch(members)) => {
                members.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| {
                    Violation(format!("a batch member on stdout is not JSON-RPC: {e:?}"))
                })?
            }
            Err(error) => {
                return Err(Violation(format!("stdout line {line:?} is not JSON-RPC: {error:?}")));
            }
        };
        for message in messages {
            let id = match &message {
                Message::Result(r) => Some(r.id.clone()),
                Message::Error(e) => e.id.clone(),
                _ => None,
            };
            let Some(id) = id else { continue };
            let Some(counts) = self.requests.get_mut(&id) else {
                return Err(Violation(format!("an answer to {id}, which the client never sent")));
            };
            counts.1 += 1;
            ensure!(
                counts.1 <= counts.0,
                "request {id} answered {} times for {} requests",
                counts.1,
                counts.0
            );
            if id == RequestId::from(INIT_ID) && matches!(message, Message::Result(_)) {
                self.client_initialized = true;
            }
        }
        Ok(())
    }

    fn server_reads(&mut self, text: &str) -> Result<(), Violation> {
        let ModelLink::Up { stage, inbox, asked } = &mut self.link else {
            return Err(Violation(format!("sent with no connection: {text}")));
        };
        let messages = match codec::decode(text, &Limits::default()) {
            Ok(Frame::Single(message)) => vec![message],
            Ok(Frame::Batch(members)) => members.into_iter().filter_map(Result::ok).collect(),
            Err(error) => {
                return Err(Violation(format!("sent a malformed frame {text}: {error:?}")));
            }
        };
        for message in messages {
            match (&*stage, &message) {
                (Stage::NeedsReinit, Message::Request(r)) => {
                    ensure!(
                        r.method == "initialize" && r.id.to_string().contains(REINIT_PREFIX),
                        "request {} before the re-initialize",
                        r.method
                    );
                    *stage = Stage::ReinitSent(r.id.clone());
                }
                (Stage::ReinitSent(_) | Stage::AwaitInitialized, Message::Request(r)) => {
                    return Err(Violation(format!(
                        "request {} {} before the lifecycle was complete",
                        r.id, r.method
                    )));
                }
                (Stage::AwaitInitialized, Message::Notification(n)) => {
                    ensure!(
                        n.method == "notifications/initialized",
                        "{} before notifications/initialized",
                        n.method
                    );
                    *stage = Stage::Open;
                }
                (Stage::Open, Message::Request(r)) => inbox.push(r.id.clone()),
                (_, Message::Result(r)) => {
                    ensure!(asked.contains(&r.id), "an answer to {} the server never asked", r.id);
                    asked.retain(|a| a != &r.id);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Closes stdin and runs the clock until the bridge exits, then checks every request got
    /// its answer.
    fn finish(mut self) -> Result<(), Violation> {
        if !self.exited && !self.eof {
            self.eof = true;
            self.bridge.handle_client_eof(self.now);
            self.drain()?;
        }
        for _ in 0..1_000 {
            if self.exited {
                break;
            }
            if matches!(self.link, ModelLink::Dialing) {
                self.link = ModelLink::Down;
                self.bridge.handle_dial_failed(self.now, Failure::Transport("gone".into()));
            } else {
                let next = self
                    .bridge
                    .poll_timeout()
                    .ok_or_else(|| Violation("not exited, and no timer runs".to_string()))?;
                self.now = self.now.max(next);
                self.timeout()?;
            }
            self.drain()?;
        }
        ensure!(self.exited, "the bridge never exited after end of input");
        for (id, (sent, answered, cancelled)) in &self.requests {
            ensure!(
                answered + cancelled >= *sent,
                "request {id}: {sent} sent, {answered} answered, {cancelled} cancelled"
            );
        }
        Ok(())
    }
}
