//! The transparent pipe: one WebSocket client (the downstream side, such as the browser
//! inspector's page) carried frame for frame to one WebSocket server (the upstream side, the
//! target of `mcp-ws inspect`). Unlike [`crate::gateway`] and [`crate::bridge`] it decodes
//! nothing: data frames pass through untouched and the machine only decides when each side
//! lives, is pinged, and how each side's end closes the other.
//!
//! - **Data frames** are forwarded by the driver as they are; the machine only records them as
//!   proof of life ([`Pipe::handle_data`]).
//! - **Keepalive** is the session's heartbeat, once per side: a ping after `ping_interval` of
//!   quiet on that side, the side declared dead after `idle_timeout` without any frame from it.
//!   A dead downstream closes both sides with 1001; a dead upstream closes the downstream with
//!   1014 (bad gateway) and the upstream with 1001.
//! - **A close frame** from one side is answered on that side (the WebSocket library queued the
//!   answer; [`PipeAction::Answer`] sends it) and passed to the other with its code and reason;
//!   codes that may not be sent (1005, 1006, 1015) become 1000.
//! - **A violation** on one side (a message over the limit, invalid UTF-8, a protocol error)
//!   closes that side with its code (1009, 1007, 1002); the other side is closed with 1001
//!   (the downstream broke the rules) or 1014 (the upstream did).
//! - **A lost side** (a TCP connection ended without a close frame, a write that failed or
//!   stalled) closes the other: the downstream with 1014, the upstream with 1001.
//!
//! # Driver contract
//!
//! After every input, drain [`Pipe::poll_action`] and perform each action in order: a
//! [`PipeAction::Ping`] and [`PipeAction::Answer`] are bounded writes, a [`PipeAction::Close`]
//! a close handshake bounded in time. Report a failed write with
//! [`Pipe::handle_write_failed`]. Once [`Pipe::is_closed`] and the actions are drained, drop
//! both sockets. Re-arm one timer at [`Pipe::poll_timeout`] and call [`Pipe::handle_timeout`]
//! when it is due.

use std::collections::VecDeque;
use std::time::Duration;

use crate::close::{CloseCode, CloseReason};
use crate::heartbeat::{Beat, Heartbeat};
use crate::time::Instant;

/// One of the two sides of a [`Pipe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client that opened the pipe (the inspector's page).
    Downstream,
    /// The server the pipe dialled (the inspected target).
    Upstream,
}

impl Side {
    /// The side across the pipe.
    pub fn other(self) -> Side {
        match self {
            Side::Downstream => Side::Upstream,
            Side::Upstream => Side::Downstream,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Side::Downstream => "the client",
            Side::Upstream => "the upstream server",
        }
    }
}

/// The pipe's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipeConfig {
    /// A WebSocket ping to a side after this much quiet from it (`None`: never).
    pub ping_interval: Option<Duration>,
    /// A side is dead after this long without any frame from it (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// The code the downstream is closed with when the upstream fails (is lost, breaks the
    /// rules, stops reading, goes quiet): 1014 (bad gateway) by default, which browsers take;
    /// tungstenite-based clients refuse to receive 1014, so a gateway serving them sets 1011.
    pub upstream_failed: CloseCode,
    /// Whether the upstream has a keepalive of its own (pinged after `ping_interval`, dead after
    /// `idle_timeout`): true by default; false for an upstream that cannot be pinged and whose
    /// end the driver sees directly (a stdio child process: [`Pipe::handle_ended`]).
    pub watch_upstream: bool,
}

impl Default for PipeConfig {
    /// A ping after 20 s of quiet, dead after 60 s: the session's defaults.
    fn default() -> Self {
        PipeConfig {
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Some(Duration::from_secs(60)),
            upstream_failed: CloseCode::BAD_GATEWAY,
            watch_upstream: true,
        }
    }
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeAction {
    /// Send a WebSocket ping to this side.
    Ping(Side),
    /// Close this side: send the close frame (`None`: one without status) and wait, bounded,
    /// for the side's own close frame.
    Close(Side, Option<CloseReason>),
    /// This side closed first: send the answer the WebSocket library queued and close the
    /// transport (a bounded write; no further read).
    Answer(Side),
}

/// The pipe between two WebSockets; see the module docs.
#[derive(Debug)]
pub struct Pipe {
    upstream_failed: CloseCode,
    downstream: Heartbeat,
    upstream: Heartbeat,
    closed: bool,
    actions: VecDeque<PipeAction>,
}

impl Pipe {
    /// A pipe whose two sides opened at `now`.
    pub fn new(config: PipeConfig, now: Instant) -> Pipe {
        let heartbeat = Heartbeat::new(config.ping_interval, config.idle_timeout, now);
        let upstream =
            if config.watch_upstream { heartbeat.clone() } else { Heartbeat::new(None, None, now) };
        Pipe {
            upstream_failed: config.upstream_failed,
            downstream: heartbeat,
            upstream,
            closed: false,
            actions: VecDeque::new(),
        }
    }

    /// Whether the pipe has ended (its last actions may still wait in [`Pipe::poll_action`]).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<PipeAction> {
        self.actions.pop_front()
    }

    /// When [`Pipe::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        [self.downstream.next_deadline(), self.upstream.next_deadline()].into_iter().flatten().min()
    }

    fn heartbeat(&mut self, side: Side) -> &mut Heartbeat {
        match side {
            Side::Downstream => &mut self.downstream,
            Side::Upstream => &mut self.upstream,
        }
    }

    /// A data frame arrived from `side`; the driver forwards it to the other side as it is.
    pub fn handle_data(&mut self, side: Side, now: Instant) {
        if !self.closed {
            self.heartbeat(side).on_inbound(now);
        }
    }

    /// A ping or pong arrived from `side` (liveness only; the WebSocket library answers pings).
    pub fn handle_activity(&mut self, side: Side, now: Instant) {
        if !self.closed {
            self.heartbeat(side).on_inbound(now);
        }
    }

    /// `side` sent its close frame (`reason` is `None` when it carried no status): it is
    /// answered, and the other side closed with the same code and reason.
    pub fn handle_peer_closed(&mut self, side: Side, reason: Option<CloseReason>) {
        let passed = reason.map(|r| match r.code.0 {
            1005 | 1006 | 1015 => CloseReason::new(CloseCode::NORMAL, r.reason),
            _ => r,
        });
        if !self.closed {
            self.closed = true;
            self.actions.push_back(PipeAction::Answer(side));
            self.actions.push_back(PipeAction::Close(side.other(), passed));
        }
    }

    /// `side` broke a rule that closes it with `reason` (1009, 1007, 1002).
    pub fn handle_violation(&mut self, side: Side, reason: CloseReason) {
        let why = format!("{} was closed with {}: {}", side.name(), reason.code, reason.reason);
        let other = self.closing_other(side, why);
        self.close_both((side, Some(reason)), other);
    }

    /// `side`'s connection was lost without a close frame (`why` says how).
    pub fn handle_lost(&mut self, side: Side, why: &str) {
        let other =
            self.closing_other(side, format!("the connection to {} was lost: {why}", side.name()));
        self.close_one(other);
    }

    /// `side` ended by itself, with nothing left to close (a stdio child that exited): the other
    /// side is closed with `why` as the reason (the downstream with
    /// [`PipeConfig::upstream_failed`], the upstream with 1001).
    pub fn handle_ended(&mut self, side: Side, why: &str) {
        let other = self.closing_other(side, why.to_string());
        self.close_one(other);
    }

    /// A write to `side` failed or stalled past its deadline (it stopped reading): the other
    /// side is closed; nothing more is sent to `side`.
    pub fn handle_write_failed(&mut self, side: Side) {
        let other = self.closing_other(side, format!("{} stopped reading", side.name()));
        self.close_one(other);
    }

    /// The driver ends the pipe (a gateway shutting down, say): the downstream is closed with
    /// `reason` first (its client learns why at once), then the upstream with 1001.
    pub fn close(&mut self, reason: CloseReason) {
        let why = format!("the gateway closed its client with {}: {}", reason.code, reason.reason);
        let upstream = (Side::Upstream, Some(CloseReason::new(CloseCode::GOING_AWAY, why)));
        self.close_both((Side::Downstream, Some(reason)), upstream);
    }

    /// Runs the keepalive due at `now` on both sides.
    pub fn handle_timeout(&mut self, now: Instant) {
        for side in [Side::Downstream, Side::Upstream] {
            if self.closed {
                return;
            }
            match self.heartbeat(side).poll(now) {
                Beat::Ping => self.actions.push_back(PipeAction::Ping(side)),
                Beat::Quiet => {}
                Beat::Dead => {
                    let idle = self.heartbeat(side).idle_timeout().unwrap_or_default();
                    let why = format!("no frame from {} for {} ms", side.name(), idle.as_millis());
                    let dead = (side, Some(CloseReason::new(CloseCode::GOING_AWAY, why.clone())));
                    // The live side first: the dead one's close handshake waits in vain.
                    let other = self.closing_other(side, why);
                    self.close_both(other, dead);
                }
            }
        }
    }

    /// How the side across from `side` is closed when `side` ends for `why`: the downstream
    /// with [`PipeConfig::upstream_failed`] (its upstream failed), the upstream with 1001 (its
    /// client went away).
    fn closing_other(&self, side: Side, why: String) -> (Side, Option<CloseReason>) {
        let code = match side {
            Side::Upstream => self.upstream_failed,
            Side::Downstream => CloseCode::GOING_AWAY,
        };
        (side.other(), Some(CloseReason::new(code, why)))
    }

    fn close_one(&mut self, close: (Side, Option<CloseReason>)) {
        if !self.closed {
            self.closed = true;
            self.actions.push_back(PipeAction::Close(close.0, close.1));
        }
    }

    fn close_both(
        &mut self,
        first: (Side, Option<CloseReason>),
        then: (Side, Option<CloseReason>),
    ) {
        if !self.closed {
            self.closed = true;
            self.actions.push_back(PipeAction::Close(first.0, first.1));
            self.actions.push_back(PipeAction::Close(then.0, then.1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }

    fn pipe() -> Pipe {
        let config = PipeConfig {
            ping_interval: Some(Duration::from_secs(1)),
            idle_timeout: Some(Duration::from_secs(3)),
            ..PipeConfig::default()
        };
        Pipe::new(config, at(0))
    }

    fn actions(pipe: &mut Pipe) -> Vec<PipeAction> {
        std::iter::from_fn(|| pipe.poll_action()).collect()
    }

    fn code(action: &PipeAction) -> Option<u16> {
        match action {
            PipeAction::Close(_, reason) => reason.as_ref().map(|r| r.code.0),
            PipeAction::Ping(_) | PipeAction::Answer(_) => None,
        }
    }

    #[test]
    fn a_quiet_side_is_pinged_and_a_busy_one_is_not() {
        let mut pipe = pipe();
        assert_eq!(pipe.poll_timeout(), Some(at(1)));
        pipe.handle_data(Side::Upstream, at(1));
        pipe.handle_timeout(at(1));
        assert_eq!(actions(&mut pipe), vec![PipeAction::Ping(Side::Downstream)]);
        pipe.handle_activity(Side::Downstream, at(1));
        assert_eq!(pipe.poll_timeout(), Some(at(2)));
        pipe.handle_timeout(at(2));
        assert_eq!(
            actions(&mut pipe),
            vec![PipeAction::Ping(Side::Downstream), PipeAction::Ping(Side::Upstream)]
        );
        assert!(!pipe.is_closed());
    }

    #[test]
    fn a_silent_downstream_closes_both_sides_with_1001_the_upstream_first() {
        let mut pipe = pipe();
        pipe.handle_activity(Side::Upstream, at(2));
        pipe.handle_timeout(at(3));
        let done = actions(&mut pipe);
        assert!(pipe.is_closed());
        assert!(
            matches!(
                done[..],
                [PipeAction::Close(Side::Upstream, _), PipeAction::Close(Side::Downstream, _)]
            ),
            "{done:?}"
        );
        assert_eq!(done.iter().map(code).collect::<Vec<_>>(), [Some(1001), Some(1001)]);
        assert_eq!(pipe.poll_timeout(), None);
    }

    #[test]
    fn a_silent_upstream_closes_the_downstream_with_1014() {
        let mut pipe = pipe();
        pipe.handle_activity(Side::Downstream, at(3));
        pipe.handle_timeout(at(3));
        let done = actions(&mut pipe);
        assert!(
            matches!(
                done[..],
                [PipeAction::Close(Side::Downstream, _), PipeAction::Close(Side::Upstream, _)]
            ),
            "{done:?}"
        );
        assert_eq!(done.iter().map(code).collect::<Vec<_>>(), [Some(1014), Some(1001)]);
    }

    #[test]
    fn no_keepalive_when_turned_off() {
        let config =
            PipeConfig { ping_interval: None, idle_timeout: None, ..PipeConfig::default() };
        let pipe = Pipe::new(config, at(0));
        assert_eq!(pipe.poll_timeout(), None);
    }

    #[test]
    fn a_close_frame_is_answered_and_passed_on_with_reserved_codes_made_sendable() {
        let mut pipe = pipe();
        pipe.handle_peer_closed(Side::Downstream, Some(CloseReason::new(CloseCode(4000), "bye")));
        assert_eq!(
            actions(&mut pipe),
            vec![
                PipeAction::Answer(Side::Downstream),
                PipeAction::Close(Side::Upstream, Some(CloseReason::new(CloseCode(4000), "bye"))),
            ]
        );
        let mut pipe = self::pipe();
        pipe.handle_peer_closed(Side::Upstream, Some(CloseReason::new(CloseCode(1006), "x")));
        assert_eq!(
            actions(&mut pipe)[1],
            PipeAction::Close(Side::Downstream, Some(CloseReason::new(CloseCode::NORMAL, "x")))
        );
        let mut pipe = self::pipe();
        pipe.handle_peer_closed(Side::Upstream, None);
        assert_eq!(actions(&mut pipe)[1], PipeAction::Close(Side::Downstream, None));
    }

    #[test]
    fn a_violation_closes_that_side_with_its_code_and_the_other_as_a_gateway() {
        let mut pipe = pipe();
        let too_big = CloseReason::new(CloseCode::MESSAGE_TOO_BIG, "too big");
        pipe.handle_violation(Side::Downstream, too_big.clone());
        let done = actions(&mut pipe);
        assert_eq!(done[0], PipeAction::Close(Side::Downstream, Some(too_big.clone())));
        assert_eq!(code(&done[1]), Some(1001));
        let mut pipe = self::pipe();
        pipe.handle_violation(Side::Upstream, too_big.clone());
        let done = actions(&mut pipe);
        assert_eq!(done[0], PipeAction::Close(Side::Upstream, Some(too_big)));
        assert_eq!(code(&done[1]), Some(1014));
        // Nothing after the end.
        pipe.handle_lost(Side::Downstream, "gone");
        pipe.handle_timeout(at(100));
        assert_eq!(actions(&mut pipe), vec![]);
    }

    #[test]
    fn a_lost_or_stalled_side_closes_only_the_other() {
        let mut pipe = pipe();
        pipe.handle_lost(Side::Upstream, "reset");
        let done = actions(&mut pipe);
        assert_eq!(done.len(), 1);
        assert!(matches!(done[0], PipeAction::Close(Side::Downstream, _)));
        assert_eq!(code(&done[0]), Some(1014));
        let mut pipe = self::pipe();
        pipe.handle_write_failed(Side::Downstream);
        let done = actions(&mut pipe);
        assert_eq!(done.len(), 1);
        assert!(matches!(done[0], PipeAction::Close(Side::Upstream, _)));
        assert_eq!(code(&done[0]), Some(1001));
    }

    #[test]
    fn an_unwatched_upstream_is_never_pinged_nor_declared_dead_and_its_end_closes_the_client() {
        let config = PipeConfig {
            ping_interval: Some(Duration::from_secs(1)),
            idle_timeout: Some(Duration::from_secs(3)),
            watch_upstream: false,
            ..PipeConfig::default()
        };
        let mut pipe = Pipe::new(config, at(0));
        // Only the downstream is watched: its ping at 1 s, then (kept alive) nothing upstream.
        pipe.handle_timeout(at(1));
        assert_eq!(actions(&mut pipe), vec![PipeAction::Ping(Side::Downstream)]);
        pipe.handle_activity(Side::Downstream, at(2));
        pipe.handle_timeout(at(2));
        pipe.handle_activity(Side::Downstream, at(3));
        pipe.handle_timeout(at(4));
        assert!(!pipe.is_closed());
        assert!(!actions(&mut pipe).contains(&PipeAction::Ping(Side::Upstream)));
        pipe.handle_ended(Side::Upstream, "the child exited (exit status: 3)");
        let done = actions(&mut pipe);
        assert_eq!(
            done,
            vec![PipeAction::Close(
                Side::Downstream,
                Some(CloseReason::new(CloseCode::BAD_GATEWAY, "the child exited (exit status: 3)"))
            )]
        );
        assert!(pipe.is_closed());
    }
}
