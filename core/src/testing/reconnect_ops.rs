//! Random operation sequences on one [`Reconnect`] machine, with its invariants checked after
//! each step:
//!
//! - every delay lies in `[0, max_delay]`, or equals a larger `Retry-After` the server sent,
//!   itself capped at `max_retry_after`;
//! - consecutive failures never exceed `max_attempts`;
//! - no `Dial` follows a `GiveUp`, and exactly one `GiveUp` is ever emitted;
//! - after `handle_timeout(now)`, `poll_timeout()` is `None` or later than `now`;
//! - inputs that do not fit the state return an error and change nothing visible.

use std::time::Duration;

use crate::reconnect::{Failure, Jitter, Reconnect, ReconnectAction, ReconnectConfig};
use crate::testing::bytes::ByteSource;
use crate::testing::session_ops::{MAX_OPS, Violation};
use crate::time::Instant;

/// Runs the operations `data` describes; `Err` names the first broken invariant.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let mut input = ByteSource::new(data);
    let flags = input.u8();
    let config = ReconnectConfig {
        initial_delay: Duration::from_millis(u64::from(input.u8()) + 1),
        multiplier: 1.0 + f64::from(input.u8() % 40) / 10.0,
        max_delay: Duration::from_millis(u64::from(input.u16()) + 256),
        jitter: if flags & 1 == 0 { Jitter::Full } else { Jitter::None },
        max_attempts: (flags & 2 != 0).then(|| u32::from(input.u8() % 12) + 1),
        max_elapsed: (flags & 4 != 0).then(|| Duration::from_millis(u64::from(input.u16()))),
        stable_after: Duration::from_millis(u64::from(input.u16() % 5_000)),
        fatal_statuses: vec![401, 403, 404],
        // Below the largest Retry-After the inputs produce (262 s), so the cap is exercised.
        max_retry_after: Duration::from_secs(100),
    };
    let seed = u64::from(input.u16());
    let mut now = Instant::ZERO;
    let mut machine = Reconnect::new(config.clone(), seed, now)
        .map_err(|e| Violation(format!("harness config refused: {e}")))?;
    let mut gave_up = false;
    let mut last_retry_after;
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let before = machine.state();
        let delay_before = machine.last_delay();
        last_retry_after = Duration::ZERO;
        let op = input.u8() % 8;
        let last_op_was_timeout = matches!(op, 4 | 5);
        let result = match op {
            0 => machine.start(now),
            1 => machine.on_connected(now),
            2 | 3 => {
                let failure = failure(&mut input);
                last_retry_after = retry_after(&failure);
                if input.u8() & 1 == 0 {
                    machine.on_dial_failed(now, failure)
                } else {
                    machine.on_disconnected(now, failure)
                }
            }
            4 => {
                now = now + Duration::from_millis(u64::from(input.u16()));
                machine.handle_timeout(now);
                Ok(())
            }
            5 => {
                if let Some(deadline) = machine.poll_timeout() {
                    now = now.max(deadline);
                }
                machine.handle_timeout(now);
                Ok(())
            }
            6 if input.u8() % 8 == 0 => machine.stop(now),
            _ => Ok(()),
        };
        if result.is_err() {
            ensure!(machine.state() == before, "a refused input changed the state");
        }
        if last_op_was_timeout {
            if let Some(next) = machine.poll_timeout() {
                ensure!(next > now, "poll_timeout {next:?} is not after handle_timeout({now:?})");
            }
        }
        while let Some(action) = machine.poll_action() {
            match action {
                ReconnectAction::Dial { .. } => ensure!(!gave_up, "dial after give-up"),
                ReconnectAction::GiveUp { .. } => {
                    ensure!(!gave_up, "two give-ups");
                    gave_up = true;
                }
            }
        }
        if let Some(delay) = machine.last_delay().filter(|_| machine.last_delay() != delay_before) {
            ensure!(
                delay <= config.max_delay.max(last_retry_after.min(config.max_retry_after)),
                "delay {delay:?} above the cap {:?}",
                config.max_delay
            );
        }
        if let Some(max) = config.max_attempts {
            ensure!(
                machine.failures() <= max,
                "{} failures over the budget {max}",
                machine.failures()
            );
        }
        ensure!(!gave_up || machine.poll_timeout().is_none(), "a timer after give-up");
    }
    Ok(())
}

fn failure(input: &mut ByteSource<'_>) -> Failure {
    match input.u8() % 6 {
        0 => Failure::Fatal("bad".into()),
        1 => Failure::HandshakeStatus { status: 401, retry_after: None },
        2 => Failure::HandshakeStatus {
            status: 503,
            retry_after: Some(Duration::from_millis(u64::from(input.u16()) * 4)),
        },
        3 => Failure::HandshakeStatus { status: 429, retry_after: None },
        _ => Failure::Transport("refused".into()),
    }
}

fn retry_after(failure: &Failure) -> Duration {
    match failure {
        Failure::HandshakeStatus { retry_after: Some(d), .. } => *d,
        _ => Duration::ZERO,
    }
}
