//! The malformed-input policy of the wire binding, shared by every machine that reads frames
//! from a peer (the session, the gateway, the connect bridge).
//!
//! A frame that deserves a JSON-RPC error reply gets it, and counts against a budget; once the
//! peer has sent more than `budget` such frames, the connection closes with 1008. A frame that
//! deserves a close (binary, invalid UTF-8, too large) closes at once with its own code.

use crate::close::{CloseCode, CloseReason};
use crate::codec::FrameError;
use crate::message::ErrorResponse;
use crate::time::Instant;
use core::time::Duration;

/// What to do with one malformed frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Send this error reply to the peer; the connection stays open.
    Reply(ErrorResponse),
    /// Send this error reply, then close: the peer is over its budget.
    ReplyThenClose(ErrorResponse, CloseReason),
    /// Close with this reason (no reply).
    Close(CloseReason),
}

impl Verdict {
    /// The error reply to send first, if any.
    pub fn reply(&self) -> Option<&ErrorResponse> {
        match self {
            Verdict::Reply(reply) | Verdict::ReplyThenClose(reply, _) => Some(reply),
            Verdict::Close(_) => None,
        }
    }

    /// The close that follows, if any.
    pub fn close(&self) -> Option<&CloseReason> {
        match self {
            Verdict::Reply(_) => None,
            Verdict::ReplyThenClose(_, close) | Verdict::Close(close) => Some(close),
        }
    }
}

/// Counts one peer's malformed frames against a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedBudget {
    budget: u32,
    seen: u32,
    decay: Option<Duration>,
    /// Where forgiving counts from.
    since: Option<Instant>,
}

impl MalformedBudget {
    /// A budget of `budget` tolerated malformed frames: frame `budget + 1` still gets its
    /// reply, then the close follows.
    pub fn new(budget: u32) -> Self {
        MalformedBudget { budget, seen: 0, decay: None, since: None }
    }

    /// How many replied-to malformed frames the peer has sent.
    pub fn seen(&self) -> u32 {
        self.seen
    }

    /// Forgives one counted frame per `interval` that passes ([`Self::judge_at`]), so a peer
    /// that sends a bad message now and then over a long session is not closed for the sum;
    /// a burst over the budget still is.
    pub fn with_decay(mut self, interval: Duration) -> Self {
        self.decay = Some(interval).filter(|d| !d.is_zero());
        self
    }

    /// Judges one malformed frame arriving at `now`, after forgiving what the decay interval
    /// forgives since the last one.
    pub fn judge_at(&mut self, now: Instant, error: &FrameError) -> Verdict {
        if let Some(interval) = self.decay {
            let since = *self.since.get_or_insert(now);
            let elapsed = now.saturating_duration_since(since);
            let forgiven = elapsed.as_nanos() / interval.as_nanos().max(1);
            let forgiven = u32::try_from(forgiven).unwrap_or(u32::MAX);
            self.seen = self.seen.saturating_sub(forgiven);
            // Forgiving counts on from the last whole interval (from now once nothing is left).
            self.since = Some(match self.seen {
                0 => now,
                _ => since.saturating_add(interval.saturating_mul(forgiven)),
            });
        }
        self.judge(error)
    }

    /// Judges one malformed frame (no decay: time is not known).
    pub fn judge(&mut self, error: &FrameError) -> Verdict {
        match error {
            FrameError::Reply(reply) => {
                self.seen = self.seen.saturating_add(1);
                if self.seen > self.budget {
                    let close = CloseReason::new(
                        CloseCode::POLICY_VIOLATION,
                        format!("more than {} malformed messages", self.budget),
                    );
                    Verdict::ReplyThenClose(reply.clone(), close)
                } else {
                    Verdict::Reply(reply.clone())
                }
            }
            FrameError::Close(reason) => Verdict::Close(reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ErrorCode, ErrorObject};

    fn reply() -> FrameError {
        FrameError::Reply(ErrorResponse::new(None, ErrorObject::new(ErrorCode::ParseError, "x")))
    }

    #[test]
    fn the_frame_after_the_budget_gets_its_reply_and_then_the_close() {
        let mut budget = MalformedBudget::new(2);
        assert!(matches!(budget.judge(&reply()), Verdict::Reply(_)));
        assert!(matches!(budget.judge(&reply()), Verdict::Reply(_)));
        let third = budget.judge(&reply());
        assert!(third.reply().is_some());
        assert_eq!(third.close().map(|c| c.code), Some(CloseCode::POLICY_VIOLATION));
    }

    #[test]
    fn the_count_decays_over_time_but_a_burst_still_closes() {
        let start = Instant::ZERO;
        let second = Duration::from_secs(1);
        let mut budget = MalformedBudget::new(2).with_decay(Duration::from_secs(10));
        // One bad message every 10 s, for an hour: never closed.
        for i in 0..360u32 {
            let verdict = budget.judge_at(start + second * (10 * i), &reply());
            assert!(matches!(verdict, Verdict::Reply(_)), "message {i}: {verdict:?}");
        }
        // Three within a second: closed.
        let now = start + second * 4000;
        assert!(matches!(budget.judge_at(now, &reply()), Verdict::Reply(_)));
        assert!(matches!(budget.judge_at(now, &reply()), Verdict::Reply(_)));
        assert!(budget.judge_at(now, &reply()).close().is_some());
    }

    #[test]
    fn a_close_error_closes_at_once_without_a_reply() {
        let mut budget = MalformedBudget::new(5);
        let error = FrameError::Close(CloseReason::new(CloseCode::UNSUPPORTED_DATA, "binary"));
        let verdict = budget.judge(&error);
        assert_eq!(verdict.reply(), None);
        assert_eq!(verdict.close().map(|c| c.code), Some(CloseCode::UNSUPPORTED_DATA));
        assert_eq!(budget.seen(), 0);
    }
}
