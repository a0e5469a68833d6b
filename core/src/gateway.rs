//! The gateway: one MCP client session (the downstream side: a WebSocket, or a Streamable HTTP
//! session's message pipe) carried message for message to one upstream MCP server (a WebSocket
//! it dialled, a Streamable HTTP client pipe, or a stdio child process started for the session),
//! for `mcp-ws serve --upstream URL` and `mcp-ws serve --stdio -- CMD`. It runs no MCP session
//! of its own: messages pass with ids untouched and the upstream runs the lifecycle. When each
//! side lives, is pinged and how one side's end closes the other is the transparent [`Pipe`]'s;
//! what the gateway adds:
//!
//! - **Frames from the client are checked** by the core codec as on every endpoint: a valid
//!   message (or the valid members of a batch) goes upstream as compact text
//!   ([`GatewayAction::Send`]); a malformed one gets the wire binding's error reply or close
//!   code, under the shared malformed budget ([`crate::malformed`]).
//! - **Frames from the upstream** go to the client as they are when they are JSON-RPC
//!   messages; anything else is dropped and reported ([`GatewayAction::Dropped`]).
//! - **The client's requests in flight are bounded**: at most `max_in_flight` unanswered at
//!   once; one more is answered -32000 by the gateway and not sent.
//! - **Draining** ([`Gateway::drain`]): new requests are answered with the refusal given; the
//!   client is closed with the drained reason once none of its requests is in flight, or at the
//!   deadline with 1001.
//! - **A stdio upstream** (a child process; [`PipeConfig::watch_upstream`] off: it is never
//!   pinged): its stdout lines are its frames, checked as above (a stray log line is dropped
//!   and reported); a line over the message limit closes the client with 1009
//!   ([`Gateway::handle_upstream_oversized`]); the child exiting closes the client with 1011
//!   and a reason saying how it exited ([`Gateway::handle_upstream_ended`]).
//! - **An unreachable upstream** ([`Gateway::unreachable`]): the client's requests are answered
//!   -32000 with the reason, then the client is closed with 1011 and the same reason; a client
//!   that sends nothing is closed after `refusal_wait`.
//!
//! Close codes seen by the client: the upstream's own close code and reason when it closed
//! with a close frame; **1011** with a reason naming what happened when the upstream could not
//! be reached, was lost, broke the WebSocket rules, stopped reading or went quiet past the idle
//! timeout (not the transparent pipe's 1014, which tungstenite-based clients refuse to
//! receive; [`PipeConfig::upstream_failed`]); 1001 when the gateway shuts down (with the
//! drained reason when none of the client's requests was in flight).
//!
//! # Driver contract
//!
//! After every input, drain [`Gateway::poll_action`] and perform each action in order (writes
//! bounded in time; report a failed one with [`Gateway::handle_write_failed`]). Once
//! [`Gateway::is_closed`] and the actions are drained, drop both sides. Re-arm one timer at
//! [`Gateway::poll_timeout`] and call [`Gateway::handle_timeout`] when it is due.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::close::{CloseCode, CloseReason};
use crate::codec::{self, Frame, FrameError, Limits, Payload};
use crate::id::RequestId;
use crate::malformed::MalformedBudget;
use crate::message::{ErrorObject, ErrorResponse, Message};
use crate::pipe::{Pipe, PipeAction, PipeConfig};
use crate::time::Instant;

pub use crate::pipe::Side;

/// The code of every answer the gateway gives in the upstream's place.
pub const GATEWAY_ERROR: i64 = -32000;

/// The gateway's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Keepalive of both sides.
    pub pipe: PipeConfig,
    /// Size and depth limits of the client's messages.
    pub limits: Limits,
    /// Malformed client frames tolerated before the client is closed with 1008.
    pub malformed_budget: u32,
    /// One counted malformed frame is forgiven per this interval (zero never forgives).
    pub malformed_decay: Duration,
    /// The most client requests unanswered at once.
    pub max_in_flight: usize,
    /// How long an unreachable upstream's client is waited for (to answer its first request
    /// with the reason) before it is closed.
    pub refusal_wait: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        let pipe =
            PipeConfig { upstream_failed: CloseCode::INTERNAL_ERROR, ..PipeConfig::default() };
        GatewayConfig {
            pipe,
            limits: Limits::default(),
            malformed_budget: 16,
            malformed_decay: Duration::from_secs(10),
            max_in_flight: 64,
            refusal_wait: Duration::from_secs(5),
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayAction {
    /// Send this text frame to this side.
    Send(Side, String),
    /// Send a WebSocket ping to this side.
    Ping(Side),
    /// This side closed first: send the answer the WebSocket library queued (bounded).
    Answer(Side),
    /// Close this side with this reason (`None`: a close frame without status), bounded.
    Close(Side, Option<CloseReason>),
    /// Something worth a log line; nothing to perform.
    Dropped(String),
}

/// A drain under way.
#[derive(Debug)]
struct Draining {
    deadline: Instant,
    drained: CloseReason,
    refusal: ErrorObject,
}

/// The gateway of one client session; see the module docs.
#[derive(Debug)]
pub struct Gateway {
    pipe: Pipe,
    /// [`PipeConfig::watch_upstream`]: false for a stdio child, whose oversized messages close
    /// the client with 1009 (nothing upstream is a WebSocket to close with it).
    upstream_watched: bool,
    limits: Limits,
    malformed: MalformedBudget,
    max_in_flight: usize,
    in_flight: HashSet<RequestId>,
    draining: Option<Draining>,
    /// The upstream could not be opened: why (in full, for the error answers), the close, and
    /// until when the client is waited for.
    unreachable: Option<(String, CloseReason, Instant)>,
    actions: VecDeque<GatewayAction>,
}

impl Gateway {
    /// A gateway whose two sides opened at `now`.
    pub fn new(config: GatewayConfig, now: Instant) -> Gateway {
        Gateway {
            upstream_watched: config.pipe.watch_upstream,
            pipe: Pipe::new(config.pipe, now),
            limits: config.limits,
            malformed: MalformedBudget::new(config.malformed_budget)
                .with_decay(config.malformed_decay),
            max_in_flight: config.max_in_flight,
            in_flight: HashSet::new(),
            draining: None,
            unreachable: None,
            actions: VecDeque::new(),
        }
    }

    /// A gateway whose upstream could not be opened (`why` says so): it answers the client's
    /// requests with the reason, then closes the client with 1011.
    pub fn unreachable(config: GatewayConfig, now: Instant, why: &str) -> Gateway {
        let wait = config.refusal_wait;
        let code = config.pipe.upstream_failed;
        let mut gateway = Gateway::new(config, now);
        let reason = CloseReason::new(code, why.to_string());
        gateway.unreachable = Some((why.to_string(), reason, now + wait));
        gateway
    }

    /// Whether the gateway has ended (its last actions may still wait in
    /// [`Gateway::poll_action`]).
    pub fn is_closed(&self) -> bool {
        self.pipe.is_closed()
    }

    /// How many of the client's requests wait for the upstream's answer.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<GatewayAction> {
        self.take_pipe_actions();
        self.actions.pop_front()
    }

    /// When [`Gateway::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        if let Some((_, _, until)) = &self.unreachable {
            return Some(*until);
        }
        let drain = self.draining.as_ref().map(|d| d.deadline);
        [self.pipe.poll_timeout(), drain].into_iter().flatten().min()
    }

    /// A data frame from `side`.
    pub fn handle_payload(&mut self, side: Side, now: Instant, payload: Payload<'_>) {
        if self.is_closed() {
            return;
        }
        self.pipe.handle_data(side, now);
        match side {
            Side::Downstream => self.client_frame(now, payload),
            Side::Upstream => self.upstream_frame(payload),
        }
    }

    /// A ping or pong from `side` (liveness only).
    pub fn handle_activity(&mut self, side: Side, now: Instant) {
        self.pipe.handle_activity(side, now);
    }

    /// `side` sent its close frame: it is answered, and the other side closed with the same
    /// code and reason.
    pub fn handle_peer_closed(&mut self, side: Side, reason: Option<CloseReason>) {
        self.pipe.handle_peer_closed(side, reason);
    }

    /// `side` broke a rule that closes it with `reason` (1009, 1007, 1002).
    pub fn handle_violation(&mut self, side: Side, reason: CloseReason) {
        self.pipe.handle_violation(side, reason);
    }

    /// `side`'s connection was lost without a close frame (`why` says how).
    pub fn handle_lost(&mut self, side: Side, why: &str) {
        self.pipe.handle_lost(side, why);
    }

    /// The upstream ended by itself with nothing left to close (a stdio child that exited;
    /// `why` says how): the client is closed with [`PipeConfig::upstream_failed`] (1011) and
    /// `why` as the reason.
    pub fn handle_upstream_ended(&mut self, why: &str) {
        self.pipe.handle_ended(Side::Upstream, why);
    }

    /// The upstream sent a message over the limit, which the driver discarded while reading it
    /// (a stdio child's stdout line): no client would accept it, so the client is closed with
    /// 1009 saying so, and the upstream with 1001.
    pub fn handle_upstream_oversized(&mut self) {
        let why = format!(
            "the upstream server sent a message over the limit of {} bytes",
            self.limits.max_message_bytes
        );
        self.pipe.close(CloseReason::new(CloseCode::MESSAGE_TOO_BIG, why));
    }

    /// A write to `side` failed or stalled past its deadline.
    pub fn handle_write_failed(&mut self, side: Side) {
        self.pipe.handle_write_failed(side);
    }

    /// The server is shutting down: from now on the client's new requests are answered with
    /// `refusal`; the client is closed with `drained` once none of its requests is in flight,
    /// or with 1001 at `deadline` (what still runs upstream is abandoned).
    pub fn drain(&mut self, deadline: Instant, drained: CloseReason, refusal: ErrorObject) {
        if self.is_closed() {
            return;
        }
        let deadline = self.draining.as_ref().map_or(deadline, |d| d.deadline.min(deadline));
        self.draining = Some(Draining { deadline, drained, refusal });
        self.close_if_drained();
    }

    /// Closes the client with `reason` and the upstream with 1001.
    pub fn close(&mut self, reason: CloseReason) {
        self.pipe.close(reason);
    }

    /// Runs the keepalive and the deadlines due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if let Some((_, reason, until)) = &self.unreachable {
            if now >= *until {
                let reason = reason.clone();
                self.pipe.close(reason);
            }
            return;
        }
        if self.draining.as_ref().is_some_and(|d| now >= d.deadline) {
            self.pipe.close(CloseReason::new(CloseCode::GOING_AWAY, "the server is shutting down"));
            return;
        }
        self.pipe.handle_timeout(now);
    }

    fn client_frame(&mut self, now: Instant, payload: Payload<'_>) {
        let frame = match codec::decode_payload(payload, &self.limits) {
            Ok(frame) => frame,
            Err(error) => return self.malformed(now, error),
        };
        let (members, batch) = match frame {
            Frame::Single(message) => (vec![Ok(message)], false),
            Frame::Batch(members) => (members, true),
        };
        let mut forward = Vec::new();
        for member in members {
            match member {
                Ok(message) => {
                    if let Some(message) = self.admit(message) {
                        forward.push(message);
                    }
                }
                Err(reply) => self.malformed(now, FrameError::Reply(reply)),
            }
            if self.is_closed() {
                return;
            }
        }
        if self.unreachable.is_some() {
            // Nowhere to send it (its requests were answered above).
            return;
        }
        let text = match (batch, forward.as_slice()) {
            (_, []) => return,
            (false, [message]) => codec::encode(message),
            _ => codec::encode_batch(&forward),
        };
        // One line: raw params keep the client's whitespace, and a stdio upstream reads one
        // message per line.
        let text = codec::single_line(&text).into_owned();
        self.push(GatewayAction::Send(Side::Upstream, text));
    }

    /// Whether a valid client message goes upstream; a request the gateway answers itself
    /// (upstream unreachable, draining, too many in flight) does not.
    fn admit(&mut self, message: Message) -> Option<Message> {
        let Message::Request(request) = &message else { return Some(message) };
        let refusal = if let Some((why, _, _)) = &self.unreachable {
            Some(ErrorObject { code: GATEWAY_ERROR, message: why.clone(), data: None })
        } else if let Some(draining) = &self.draining {
            Some(draining.refusal.clone())
        } else if self.in_flight.len() >= self.max_in_flight
            && !self.in_flight.contains(&request.id)
        {
            Some(ErrorObject {
                code: GATEWAY_ERROR,
                message: format!(
                    "too many requests in flight through the gateway (at most {})",
                    self.max_in_flight
                ),
                data: None,
            })
        } else {
            None
        };
        match refusal {
            Some(error) => {
                let reply = ErrorResponse::new(Some(request.id.clone()), error);
                self.send_client(&Message::Error(reply));
                if let Some((_, reason, _)) = &self.unreachable {
                    let reason = reason.clone();
                    self.pipe.close(reason);
                }
                None
            }
            None => {
                self.in_flight.insert(request.id.clone());
                Some(message)
            }
        }
    }

    fn upstream_frame(&mut self, payload: Payload<'_>) {
        let text = match payload {
            Payload::Text(bytes) => bytes,
            Payload::Binary(_) => {
                return self.drop_upstream("a binary frame".to_string());
            }
        };
        // The upstream's own limits bound what it sends; the client's limits are the ones the
        // gateway promised, so they check the upstream's frames too.
        match codec::decode_bytes(text, &self.limits) {
            Ok(frame) => {
                let answered: Vec<RequestId> = match &frame {
                    Frame::Single(message) => answered_id(message).into_iter().collect(),
                    Frame::Batch(members) => {
                        members.iter().flatten().filter_map(answered_id).collect()
                    }
                };
                for id in answered {
                    self.in_flight.remove(&id);
                }
                let text = String::from_utf8_lossy(text).into_owned();
                self.push(GatewayAction::Send(Side::Downstream, text));
                self.close_if_drained();
            }
            Err(FrameError::Close(reason))
                if reason.code == CloseCode::MESSAGE_TOO_BIG && !self.upstream_watched =>
            {
                self.handle_upstream_oversized();
            }
            Err(FrameError::Close(reason)) if reason.code == CloseCode::MESSAGE_TOO_BIG => {
                let why = format!("the upstream sent a message over the limit: {}", reason.reason);
                self.pipe.handle_violation(Side::Upstream, CloseReason::new(reason.code, why));
            }
            Err(FrameError::Close(reason)) => self.drop_upstream(reason.reason.to_string()),
            Err(FrameError::Reply(reply)) => self.drop_upstream(format!(
                "a frame that is not a JSON-RPC message ({})",
                reply.error.message
            )),
        }
    }

    fn drop_upstream(&mut self, what: String) {
        self.push(GatewayAction::Dropped(format!("from the upstream: {what}")));
    }

    fn malformed(&mut self, now: Instant, error: FrameError) {
        let verdict = self.malformed.judge_at(now, &error);
        if let Some(reply) = verdict.reply() {
            self.send_client(&Message::Error(reply.clone()));
        }
        if let Some(close) = verdict.close() {
            self.pipe.handle_violation(Side::Downstream, close.clone());
        }
    }

    fn send_client(&mut self, message: &Message) {
        self.push(GatewayAction::Send(Side::Downstream, codec::encode(message)));
    }

    fn close_if_drained(&mut self) {
        if let Some(draining) = &self.draining {
            if self.in_flight.is_empty() {
                let reason = draining.drained.clone();
                self.pipe.close(reason);
            }
        }
    }

    /// Queues `action` behind what the pipe queued before it.
    fn push(&mut self, action: GatewayAction) {
        self.take_pipe_actions();
        self.actions.push_back(action);
    }

    /// Moves the pipe's actions behind the gateway's own, keeping their order.
    fn take_pipe_actions(&mut self) {
        while let Some(action) = self.pipe.poll_action() {
            self.actions.push_back(match action {
                PipeAction::Ping(side) => GatewayAction::Ping(side),
                PipeAction::Answer(side) => GatewayAction::Answer(side),
                PipeAction::Close(side, reason) => GatewayAction::Close(side, reason),
            });
        }
    }
}

/// The id of the client request a message from the upstream answers.
fn answered_id(message: &Message) -> Option<RequestId> {
    match message {
        Message::Result(result) => Some(result.id.clone()),
        Message::Error(error) => error.id.clone(),
        Message::Request(_) | Message::Notification(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn config() -> GatewayConfig {
        let mut config = GatewayConfig::default();
        config.pipe.ping_interval = Some(Duration::from_secs(1));
        config.pipe.idle_timeout = Some(Duration::from_secs(3));
        config.malformed_budget = 1;
        config.max_in_flight = 2;
        config
    }

    fn actions(gateway: &mut Gateway) -> Vec<GatewayAction> {
        std::iter::from_fn(|| gateway.poll_action()).collect()
    }

    fn client(gateway: &mut Gateway, text: &str) -> Vec<GatewayAction> {
        gateway.handle_payload(Side::Downstream, at(0), Payload::Text(text.as_bytes()));
        actions(gateway)
    }

    fn upstream(gateway: &mut Gateway, text: &str) -> Vec<GatewayAction> {
        gateway.handle_payload(Side::Upstream, at(0), Payload::Text(text.as_bytes()));
        actions(gateway)
    }

    fn request(id: &str) -> String {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list"}}"#)
    }

    fn close_code(action: &GatewayAction) -> Option<(Side, u16)> {
        match action {
            GatewayAction::Close(side, Some(reason)) => Some((*side, reason.code.0)),
            _ => None,
        }
    }

    #[test]
    fn a_valid_client_message_goes_upstream_compact_with_its_id_untouched() {
        let mut gateway = Gateway::new(config(), at(0));
        let sent =
            client(&mut gateway, "{\"jsonrpc\": \"2.0\",\n \"id\": \"a-1\", \"method\": \"ping\"}");
        assert_eq!(
            sent,
            vec![GatewayAction::Send(
                Side::Upstream,
                r#"{"jsonrpc":"2.0","id":"a-1","method":"ping"}"#.into()
            )]
        );
        assert_eq!(gateway.in_flight(), 1);
        let answer = r#"{"jsonrpc":"2.0","id":"a-1","result":{}}"#;
        assert_eq!(
            upstream(&mut gateway, answer),
            vec![GatewayAction::Send(Side::Downstream, answer.into())]
        );
        assert_eq!(gateway.in_flight(), 0);
    }

    #[test]
    fn malformed_client_frames_are_answered_and_closed_past_the_budget() {
        let mut gateway = Gateway::new(config(), at(0));
        let first = client(&mut gateway, "not json");
        assert!(
            matches!(&first[..], [GatewayAction::Send(Side::Downstream, t)] if t.contains("-32700"))
        );
        let second = client(&mut gateway, "still not json");
        assert!(
            matches!(&second[0], GatewayAction::Send(Side::Downstream, t) if t.contains("-32700"))
        );
        assert_eq!(close_code(&second[1]), Some((Side::Downstream, 1008)));
        assert_eq!(close_code(&second[2]), Some((Side::Upstream, 1001)));
        assert!(gateway.is_closed());
    }

    #[test]
    fn a_request_over_the_in_flight_bound_is_answered_by_the_gateway_and_not_sent() {
        let mut gateway = Gateway::new(config(), at(0));
        client(&mut gateway, &request("1"));
        client(&mut gateway, &request("2"));
        let third = client(&mut gateway, &request("3"));
        assert!(
            matches!(&third[..], [GatewayAction::Send(Side::Downstream, t)] if t.contains("-32000") && t.contains(r#""id":3"#)),
            "{third:?}"
        );
        // Notifications and answers to the upstream's requests are not bounded by it.
        let note =
            client(&mut gateway, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(&note[..], [GatewayAction::Send(Side::Upstream, _)]));
        upstream(&mut gateway, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert!(matches!(
            &client(&mut gateway, &request("4"))[..],
            [GatewayAction::Send(Side::Upstream, _)]
        ));
    }

    #[test]
    fn what_the_upstream_sends_that_is_not_json_rpc_is_dropped() {
        let mut gateway = Gateway::new(config(), at(0));
        let dropped = upstream(&mut gateway, "starting...");
        assert!(matches!(&dropped[..], [GatewayAction::Dropped(_)]), "{dropped:?}");
        assert!(!gateway.is_closed());
    }

    #[test]
    fn a_drain_waits_for_the_requests_in_flight_then_closes_with_the_drained_reason() {
        let mut gateway = Gateway::new(config(), at(0));
        client(&mut gateway, &request("1"));
        let drained = CloseReason::new(CloseCode::GOING_AWAY, "drained");
        let refusal = ErrorObject { code: -32603, message: "shutting down".into(), data: None };
        gateway.drain(at(10_000), drained, refusal);
        assert!(actions(&mut gateway).is_empty());
        let refused = client(&mut gateway, &request("2"));
        assert!(
            matches!(&refused[..], [GatewayAction::Send(Side::Downstream, t)] if t.contains("shutting down"))
        );
        let done = upstream(&mut gateway, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert!(matches!(&done[0], GatewayAction::Send(Side::Downstream, _)));
        assert!(
            matches!(&done[1], GatewayAction::Close(Side::Downstream, Some(r)) if r.reason == "drained")
        );
        assert_eq!(close_code(&done[2]), Some((Side::Upstream, 1001)));
    }

    #[test]
    fn a_drain_that_runs_out_closes_with_1001() {
        let mut gateway = Gateway::new(config(), at(0));
        client(&mut gateway, &request("1"));
        let refusal = ErrorObject { code: -32603, message: "no".into(), data: None };
        gateway.drain(at(500), CloseReason::new(CloseCode::GOING_AWAY, "drained"), refusal);
        assert_eq!(gateway.poll_timeout(), Some(at(500)));
        gateway.handle_timeout(at(500));
        let done = actions(&mut gateway);
        assert!(
            matches!(&done[0], GatewayAction::Close(Side::Downstream, Some(r)) if r.code.0 == 1001 && r.reason != "drained")
        );
    }

    #[test]
    fn an_unreachable_upstream_answers_the_first_request_then_closes_with_1011() {
        let mut gateway =
            Gateway::unreachable(config(), at(0), "the upstream cannot be reached: refused");
        let done = client(&mut gateway, &request("\"x\""));
        assert!(
            matches!(&done[0], GatewayAction::Send(Side::Downstream, t) if t.contains("-32000") && t.contains("cannot be reached") && t.contains(r#""id":"x""#)),
            "{done:?}"
        );
        assert_eq!(close_code(&done[1]), Some((Side::Downstream, 1011)));
        assert!(gateway.is_closed());
    }

    #[test]
    fn an_unreachable_upstreams_silent_client_is_closed_after_the_wait() {
        let mut gateway = Gateway::unreachable(config(), at(0), "down");
        let until = gateway.poll_timeout().expect("a deadline");
        gateway.handle_timeout(until);
        assert_eq!(close_code(&actions(&mut gateway)[0]), Some((Side::Downstream, 1011)));
    }

    #[test]
    fn a_lost_upstream_closes_the_client_with_1011_and_its_close_frame_passes_through() {
        let mut gateway = Gateway::new(config(), at(0));
        gateway.handle_lost(Side::Upstream, "reset");
        assert_eq!(close_code(&actions(&mut gateway)[0]), Some((Side::Downstream, 1011)));

        let mut gateway = Gateway::new(config(), at(0));
        gateway.handle_peer_closed(Side::Upstream, Some(CloseReason::new(CloseCode(4000), "bye")));
        let done = actions(&mut gateway);
        assert_eq!(done[0], GatewayAction::Answer(Side::Upstream));
        assert_eq!(close_code(&done[1]), Some((Side::Downstream, 4000)));
    }

    // What the retired stdio relay machine (`relay::StdioRelay`) asserted, on the gateway
    // with a stdio upstream.

    fn stdio_config() -> GatewayConfig {
        let mut config = config();
        config.pipe.watch_upstream = false;
        config
    }

    #[test]
    fn a_pretty_printed_client_frame_reaches_a_stdio_child_as_one_line() {
        let mut gateway = Gateway::new(stdio_config(), at(0));
        let frame = "{\"jsonrpc\":\"2.0\",\n \"id\":1,\n \"method\":\"tools/call\",\n \"params\": {\n  \"n\": 123456789012345678901234567890\n }}";
        assert_eq!(
            client(&mut gateway, frame),
            vec![GatewayAction::Send(
                Side::Upstream,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n":123456789012345678901234567890}}"#.into()
            )]
        );
    }

    #[test]
    fn a_stray_log_line_from_a_stdio_child_never_reaches_the_client() {
        let mut gateway = Gateway::new(stdio_config(), at(0));
        let dropped = upstream(&mut gateway, "starting server on stdio...");
        assert!(matches!(&dropped[..], [GatewayAction::Dropped(_)]), "{dropped:?}");
        let answer = r#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert_eq!(
            upstream(&mut gateway, answer),
            vec![GatewayAction::Send(Side::Downstream, answer.into())]
        );
    }

    #[test]
    fn a_stdio_childs_line_over_the_limit_closes_the_client_with_1009() {
        let mut config = stdio_config();
        config.limits.max_message_bytes = 64;
        let mut gateway = Gateway::new(config.clone(), at(0));
        let line = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"x":"{}"}}}}"#, "a".repeat(100));
        let done = upstream(&mut gateway, &line);
        assert_eq!(close_code(&done[0]), Some((Side::Downstream, 1009)), "{done:?}");
        assert!(gateway.is_closed());

        // One the driver discarded while reading it (longer than the limit).
        let mut gateway = Gateway::new(config, at(0));
        gateway.handle_upstream_oversized();
        let done = actions(&mut gateway);
        assert_eq!(close_code(&done[0]), Some((Side::Downstream, 1009)), "{done:?}");
        assert!(
            matches!(&done[0], GatewayAction::Close(_, Some(r)) if r.reason.contains("64 bytes"))
        );
        assert_eq!(close_code(&done[1]), Some((Side::Upstream, 1001)));
    }

    #[test]
    fn a_stdio_child_is_never_pinged_while_a_quiet_client_is_pinged_then_closed_with_1001() {
        let mut gateway = Gateway::new(stdio_config(), at(0));
        assert_eq!(gateway.poll_timeout(), Some(at(1000)));
        gateway.handle_timeout(at(1000));
        assert_eq!(actions(&mut gateway), vec![GatewayAction::Ping(Side::Downstream)]);
        gateway.handle_activity(Side::Downstream, at(1500));
        gateway.handle_timeout(at(2499));
        assert_eq!(actions(&mut gateway), vec![]);
        gateway.handle_timeout(at(4500));
        let done = actions(&mut gateway);
        assert!(done.iter().any(|a| close_code(a) == Some((Side::Downstream, 1001))), "{done:?}");
        assert!(!done.contains(&GatewayAction::Ping(Side::Upstream)));
        assert_eq!(gateway.poll_timeout(), None);
    }

    #[test]
    fn a_stdio_child_that_exits_closes_the_client_with_1011_once_saying_how() {
        let mut gateway = Gateway::new(stdio_config(), at(0));
        gateway.handle_upstream_ended("the stdio server exited (exit status: 3)");
        gateway.close(CloseReason::new(CloseCode::GOING_AWAY, "shutting down"));
        let done = actions(&mut gateway);
        assert_eq!(done.len(), 1, "{done:?}");
        assert!(
            matches!(&done[0], GatewayAction::Close(Side::Downstream, Some(r)) if r.code == CloseCode::INTERNAL_ERROR && r.reason.contains("exit status: 3")),
            "{done:?}"
        );
    }
}
