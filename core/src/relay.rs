//! The stdio relay: one WebSocket client carried to one stdio MCP server process (`mcp-ws
//! serve --stdio`). A pure state machine like [`crate::session::Session`], but it runs no MCP
//! session of its own: messages pass through with ids untouched, and the child runs the
//! lifecycle.
//!
//! What it owns, from the same shared pieces as the session:
//!
//! - **Frames from the client** are decoded by the core codec. A valid message goes to the
//!   child as one compact line ([`RelayAction::WriteChild`]); a malformed one gets the wire
//!   binding's error reply or close code, under the shared malformed budget
//!   ([`crate::malformed`]).
//! - **Lines from the child** go to the client as text frames when they are JSON-RPC messages;
//!   anything else the child prints on stdout (a stray log line) is dropped and reported. A
//!   line over the message limit closes the connection with 1009: no peer would accept it.
//! - **Keepalive** is the session's heartbeat: a ping after `ping_interval` of quiet, the
//!   client declared dead after `idle_timeout` without any frame (close 1001).
//! - **The end**: the child exiting or failing closes with 1011 and a reason saying so; the
//!   server shutting down closes with 1001.
//!
//! # Driver contract
//!
//! After every input, drain [`StdioRelay::poll_action`] and perform each action in order
//! (writes bounded in time); once [`StdioRelay::is_closed`], close the WebSocket (after a
//! [`RelayAction::Close`], with that reason) and stop the child. Re-arm one timer at
//! [`StdioRelay::poll_timeout`] and call [`StdioRelay::handle_timeout`] when it is due.

use std::collections::VecDeque;
use std::time::Duration;

use crate::close::{CloseCode, CloseReason};
use crate::codec::{self, Frame, FrameError, Limits, Payload};
use crate::heartbeat::{Beat, Heartbeat};
use crate::malformed::MalformedBudget;
use crate::message::Message;
use crate::time::Instant;

/// The relay's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RelayConfig {
    /// Size and depth limits, both directions.
    pub limits: Limits,
    /// A WebSocket ping after this much quiet (`None`: never).
    pub ping_interval: Option<Duration>,
    /// The client is dead after this long without any frame (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// Malformed client frames tolerated before the connection closes with 1008.
    pub malformed_budget: u32,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            limits: Limits::default(),
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Some(Duration::from_secs(60)),
            malformed_budget: 16,
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RelayAction {
    /// Send this text frame to the WebSocket client.
    SendText(String),
    /// Send a WebSocket ping to the client.
    SendPing,
    /// Write this line to the child's stdin (it holds no raw newline; add the `\n`).
    WriteChild(String),
    /// Close the WebSocket with this reason and stop the child. Nothing follows.
    Close(CloseReason),
    /// Something worth a log line; nothing to perform.
    Dropped(String),
}

/// The relay of one connection; see the module docs.
#[derive(Debug)]
pub struct StdioRelay {
    limits: Limits,
    heartbeat: Heartbeat,
    malformed: MalformedBudget,
    closed: bool,
    actions: VecDeque<RelayAction>,
}

impl StdioRelay {
    /// A relay for a connection that opened at `now`.
    pub fn new(config: RelayConfig, now: Instant) -> StdioRelay {
        StdioRelay {
            limits: config.limits,
            heartbeat: Heartbeat::new(config.ping_interval, config.idle_timeout, now),
            malformed: MalformedBudget::new(config.malformed_budget),
            closed: false,
            actions: VecDeque::new(),
        }
    }

    /// Whether the relay has ended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<RelayAction> {
        self.actions.pop_front()
    }

    /// When [`StdioRelay::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed { None } else { self.heartbeat.next_deadline() }
    }

    /// One data frame from the WebSocket client.
    pub fn handle_payload(&mut self, now: Instant, payload: Payload<'_>) {
        if self.closed {
            return;
        }
        self.heartbeat.on_inbound(now);
        match codec::decode_payload(payload, &self.limits) {
            Ok(Frame::Single(message)) => self.write_child(&codec::encode(&message)),
            Ok(Frame::Batch(members)) => {
                let mut good = Vec::new();
                for member in members {
                    match member {
                        Ok(message) => good.push(message),
                        Err(reply) => self.malformed_frame(FrameError::Reply(reply)),
                    }
                    if self.closed {
                        return;
                    }
                }
                if !good.is_empty() {
                    self.write_child(&codec::encode_batch(&good));
                }
            }
            Err(error) => self.malformed_frame(error),
        }
    }

    /// A WebSocket ping or pong from the client (liveness only).
    pub fn handle_transport_activity(&mut self, now: Instant) {
        if !self.closed {
            self.heartbeat.on_inbound(now);
        }
    }

    /// One line from the child's stdout (without its newline).
    pub fn handle_child_line(&mut self, line: &str) {
        let line = line.trim();
        if self.closed || line.is_empty() {
            return;
        }
        match codec::decode(line, &self.limits) {
            Ok(_) => self.actions.push_back(RelayAction::SendText(line.to_string())),
            Err(FrameError::Close(reason)) if reason.code == CloseCode::MESSAGE_TOO_BIG => {
                let why =
                    format!("the stdio server sent a message over the limit: {}", reason.reason);
                self.close(CloseReason::new(CloseCode::MESSAGE_TOO_BIG, why));
            }
            Err(FrameError::Close(reason)) => {
                self.actions.push_back(RelayAction::Dropped(format!(
                    "a stdout line of the stdio server: {}",
                    reason.reason
                )));
            }
            Err(FrameError::Reply(reply)) => {
                self.actions.push_back(RelayAction::Dropped(format!(
                    "a stdout line of the stdio server that is not a JSON-RPC message ({})",
                    reply.error.message
                )));
            }
        }
    }

    /// The child printed a line longer than the message limit (the driver discarded it while
    /// reading): no peer would accept it, so the connection closes with 1009.
    pub fn handle_child_line_too_long(&mut self) {
        let why = format!(
            "the stdio server sent a message over the limit of {} bytes",
            self.limits.max_message_bytes
        );
        self.close(CloseReason::new(CloseCode::MESSAGE_TOO_BIG, why));
    }

    /// The child's stdout reached its end (it exited, or closed stdout); `status` describes
    /// how, for the close reason.
    pub fn handle_child_exit(&mut self, status: &str) {
        self.close(CloseReason::new(
            CloseCode::INTERNAL_ERROR,
            format!("the stdio server exited ({status})"),
        ));
    }

    /// Talking to the child failed (it could not start, or stopped reading).
    pub fn handle_child_failed(&mut self, why: &str) {
        self.close(CloseReason::new(CloseCode::INTERNAL_ERROR, why.to_string()));
    }

    /// The client sent a close frame or the connection was lost: nothing more to send.
    pub fn handle_client_gone(&mut self) {
        self.closed = true;
    }

    /// The server is shutting down.
    pub fn shut_down(&mut self) {
        self.close(CloseReason::new(CloseCode::GOING_AWAY, "the server is shutting down"));
    }

    /// Runs the keepalive due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        match self.heartbeat.poll(now) {
            Beat::Dead => {
                let idle = self.heartbeat.idle_timeout().unwrap_or_default();
                self.close(CloseReason::new(
                    CloseCode::GOING_AWAY,
                    format!("no frame from the client for {} ms", idle.as_millis()),
                ));
            }
            Beat::Ping => self.actions.push_back(RelayAction::SendPing),
            Beat::Quiet => {}
        }
    }

    fn malformed_frame(&mut self, error: FrameError) {
        let verdict = self.malformed.judge(&error);
        if let Some(reply) = verdict.reply() {
            self.actions
                .push_back(RelayAction::SendText(codec::encode(&Message::Error(reply.clone()))));
        }
        if let Some(close) = verdict.close() {
            self.close(close.clone());
        }
    }

    fn write_child(&mut self, text: &str) {
        self.actions.push_back(RelayAction::WriteChild(codec::single_line(text).into_owned()));
    }

    fn close(&mut self, reason: CloseReason) {
        if !self.closed {
            self.closed = true;
            self.actions.push_back(RelayAction::Close(reason));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay() -> StdioRelay {
        let config = RelayConfig {
            ping_interval: Some(Duration::from_secs(1)),
            idle_timeout: Some(Duration::from_secs(3)),
            malformed_budget: 1,
            ..RelayConfig::default()
        };
        StdioRelay::new(config, Instant::ZERO)
    }

    fn drain(relay: &mut StdioRelay) -> Vec<RelayAction> {
        std::iter::from_fn(|| relay.poll_action()).collect()
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_pretty_printed_client_frame_reaches_the_child_as_one_line() {
        let mut relay = relay();
        let frame = "{\"jsonrpc\":\"2.0\",\n \"id\":1,\n \"method\":\"ping\"}";
        relay.handle_payload(at(0), Payload::Text(frame.as_bytes()));
        assert_eq!(
            drain(&mut relay),
            vec![RelayAction::WriteChild(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.into())]
        );
    }

    #[test]
    fn garbage_from_the_client_is_answered_then_closed_past_the_budget() {
        let mut relay = relay();
        relay.handle_payload(at(0), Payload::Text(b"not json"));
        let first = drain(&mut relay);
        assert!(matches!(&first[..], [RelayAction::SendText(t)] if t.contains("-32700")));
        relay.handle_payload(at(0), Payload::Text(b"still not json"));
        let second = drain(&mut relay);
        assert!(matches!(&second[0], RelayAction::SendText(t) if t.contains("-32700")));
        assert!(
            matches!(&second[1], RelayAction::Close(r) if r.code == CloseCode::POLICY_VIOLATION)
        );
        assert!(relay.is_closed());
    }

    #[test]
    fn a_stray_log_line_from_the_child_never_reaches_the_client() {
        let mut relay = relay();
        relay.handle_child_line("starting server on stdio...");
        relay.handle_child_line(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        let actions = drain(&mut relay);
        assert!(matches!(&actions[0], RelayAction::Dropped(_)));
        assert_eq!(
            actions[1],
            RelayAction::SendText(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.into())
        );
    }

    #[test]
    fn a_child_line_over_the_limit_closes_with_1009() {
        let config = RelayConfig {
            limits: Limits { max_message_bytes: 64, ..Limits::default() },
            ..RelayConfig::default()
        };
        let mut relay = StdioRelay::new(config, Instant::ZERO);
        let line = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"x":"{}"}}}}"#, "a".repeat(100));
        relay.handle_child_line(&line);
        assert!(
            matches!(&drain(&mut relay)[..], [RelayAction::Close(r)] if r.code == CloseCode::MESSAGE_TOO_BIG)
        );
    }

    #[test]
    fn a_child_line_the_reader_discarded_as_too_long_closes_with_1009() {
        let mut relay = relay();
        relay.handle_child_line_too_long();
        assert!(
            matches!(&drain(&mut relay)[..], [RelayAction::Close(r)] if r.code == CloseCode::MESSAGE_TOO_BIG)
        );
    }

    #[test]
    fn a_quiet_client_is_pinged_then_declared_dead_with_1001() {
        let mut relay = relay();
        assert_eq!(relay.poll_timeout(), Some(at(1000)));
        relay.handle_timeout(at(1000));
        assert_eq!(drain(&mut relay), vec![RelayAction::SendPing]);
        relay.handle_transport_activity(at(1500));
        relay.handle_timeout(at(2499));
        assert_eq!(drain(&mut relay), vec![]);
        relay.handle_timeout(at(4500));
        assert!(
            matches!(&drain(&mut relay)[..], [RelayAction::Close(r)] if r.code == CloseCode::GOING_AWAY)
        );
        assert_eq!(relay.poll_timeout(), None);
    }

    #[test]
    fn the_child_exiting_closes_with_1011_once() {
        let mut relay = relay();
        relay.handle_child_exit("exit status: 3");
        relay.shut_down();
        let actions = drain(&mut relay);
        assert_eq!(actions.len(), 1);
        assert!(
            matches!(&actions[0], RelayAction::Close(r) if r.code == CloseCode::INTERNAL_ERROR && r.reason.contains("exit status: 3"))
        );
    }
}
