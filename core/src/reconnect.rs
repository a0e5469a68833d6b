//! The client's reconnect machine: when to dial, and when to give up. Separate from the session
//! (one session per connection; one reconnect machine per client), and like it, pure: every input
//! carries `now`, actions are drained in order, and `poll_timeout()` says when to call back.
//!
//! # Rules
//!
//! - The n-th consecutive failure waits `min(max_delay, initial_delay * multiplier^(n-1))`,
//!   with full jitter by default (uniform in `[0, that]`, from a seeded generator).
//! - A failure is a failed dial or a connection that dropped before it was stable. The failure
//!   count resets only once a connection has stayed up for `stable_after`, so a server that
//!   accepts and drops at once keeps pushing the delay up instead of being hammered.
//! - A handshake answered with a status in `fatal_statuses` (401, 403, 404 by default), or a
//!   [`Failure::Fatal`], gives up at once.
//! - `Retry-After` (on 429 or 503) is a lower bound: the wait is `max(jittered delay,
//!   retry_after)`, never shorter than the server asked, but capped at `max_retry_after`
//!   (5 minutes by default) so a hostile or broken server cannot park the client for days.
//! - Budgets: `max_attempts` consecutive failures, and `max_elapsed` since the outage began
//!   (a dial that would start past the budget is not scheduled).
//!
//! # Driver loop
//!
//! ```
//! use std::time::Duration;
//! use mcp_ws_core::reconnect::{Failure, Reconnect, ReconnectAction, ReconnectConfig, Jitter};
//! use mcp_ws_core::time::Instant;
//!
//! let config = ReconnectConfig { jitter: Jitter::None, max_attempts: Some(3), ..Default::default() };
//! let mut now = Instant::ZERO;
//! let mut machine = Reconnect::new(config, 7, now).unwrap();
//! machine.start(now).unwrap();
//! let mut dials = Vec::new();
//! loop {
//!     while let Some(action) = machine.poll_action() {
//!         match action {
//!             // A real driver dials here; this server never answers.
//!             ReconnectAction::Dial { .. } => {
//!                 dials.push(now);
//!                 machine.on_dial_failed(now, Failure::Transport("refused".into())).unwrap();
//!             }
//!             ReconnectAction::GiveUp { .. } => {}
//!         }
//!     }
//!     match machine.poll_timeout() {
//!         Some(deadline) => { now = deadline; machine.handle_timeout(now); }
//!         None => break,
//!     }
//! }
//! let ms = |n| Instant::ZERO + Duration::from_millis(n);
//! assert_eq!(dials, vec![ms(0), ms(250), ms(750)]);
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::rng::SplitMix64;
use crate::time::Instant;

/// How the computed delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, delay]`: spreads a crowd of reconnecting clients best.
    Full,
    /// Exactly the computed delay (for tests and for a single client that wants predictability).
    None,
}

/// The reconnect policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectConfig {
    /// The delay after the first failure, before jitter.
    pub initial_delay: Duration,
    /// The growth factor per consecutive failure (at least 1).
    pub multiplier: f64,
    /// The cap on the delay, before jitter.
    pub max_delay: Duration,
    /// How the delay is randomised.
    pub jitter: Jitter,
    /// Give up after this many consecutive failures.
    pub max_attempts: Option<u32>,
    /// Give up when the next dial would start this long after the outage began.
    pub max_elapsed: Option<Duration>,
    /// How long a connection must stay up before the failure count resets.
    pub stable_after: Duration,
    /// Handshake statuses that end reconnecting at once.
    pub fatal_statuses: Vec<u16>,
    /// The longest wait a server's `Retry-After` can impose.
    pub max_retry_after: Duration,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_delay: Duration::from_millis(250),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: Jitter::Full,
            max_attempts: None,
            max_elapsed: None,
            stable_after: Duration::from_secs(10),
            fatal_statuses: vec![401, 403, 404],
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// Why a dial or a connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A network failure: refused, reset, timed out, dropped. Transient.
    Transport(String),
    /// The WebSocket handshake was answered with this HTTP status.
    HandshakeStatus {
        /// The status code.
        status: u16,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// A failure that retrying cannot fix (bad URL, TLS name mismatch, refused version).
    Fatal(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Transport(why) => write!(f, "transport failure: {why}"),
            Failure::HandshakeStatus { status, .. } => write!(f, "handshake answered {status}"),
            Failure::Fatal(why) => write!(f, "fatal: {why}"),
        }
    }
}

/// Why the machine stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// A fatal failure.
    Fatal,
    /// `max_attempts` consecutive failures.
    MaxAttempts,
    /// `max_elapsed` ran out.
    MaxElapsed,
    /// [`Reconnect::stop`] was called.
    Stopped,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconnectAction {
    /// Dial now. `attempt` counts dials since the last stable connection, from 1.
    Dial {
        /// The attempt number.
        attempt: u32,
    },
    /// Stop reconnecting; `last_error` is the failure that ended it (if any).
    GiveUp {
        /// The last failure seen.
        last_error: Option<Failure>,
        /// Why.
        reason: GiveUpReason,
    },
}

/// Where the machine stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectState {
    /// Not started.
    Idle,
    /// A dial was requested and its result is awaited.
    Dialing,
    /// Connected since this instant.
    Connected {
        /// When the connection came up.
        since: Instant,
    },
    /// Waiting to dial at this instant.
    Waiting {
        /// When the next dial is due.
        until: Instant,
    },
    /// Given up; no further actions.
    GaveUp,
}

/// A misused API or an invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconnectError {
    /// The configuration contradicts itself.
    InvalidConfig(&'static str),
    /// The input does not fit the current state (e.g. `on_connected` while waiting).
    Misuse {
        /// The input.
        input: &'static str,
        /// The state it arrived in.
        state: ReconnectState,
    },
}

impl fmt::Display for ReconnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconnectError::InvalidConfig(why) => write!(f, "invalid reconnect config: {why}"),
            ReconnectError::Misuse { input, state } => write!(f, "{input} in state {state:?}"),
        }
    }
}

impl std::error::Error for ReconnectError {}

/// The reconnect machine; see the module docs.
#[derive(Debug, Clone)]
pub struct Reconnect {
    config: ReconnectConfig,
    rng: SplitMix64,
    state: ReconnectState,
    /// Consecutive failures since the last stable connection.
    failures: u32,
    /// Dials since the last stable connection.
    attempt: u32,
    outage_start: Option<Instant>,
    last_delay: Option<Duration>,
    last_error: Option<Failure>,
    actions: VecDeque<ReconnectAction>,
}

impl Reconnect {
    /// A machine with `config`, jitter seeded by `seed`, created at `now`.
    pub fn new(config: ReconnectConfig, seed: u64, _now: Instant) -> Result<Self, ReconnectError> {
        if !(config.multiplier.is_finite() && config.multiplier >= 1.0) {
            return Err(ReconnectError::InvalidConfig("multiplier must be a finite number >= 1"));
        }
        if config.initial_delay > config.max_delay {
            return Err(ReconnectError::InvalidConfig("initial_delay must not exceed max_delay"));
        }
        if config.max_attempts == Some(0) {
            return Err(ReconnectError::InvalidConfig("max_attempts must be at least 1"));
        }
        Ok(Reconnect {
            config,
            rng: SplitMix64::new(seed),
            state: ReconnectState::Idle,
            failures: 0,
            attempt: 0,
            outage_start: None,
            last_delay: None,
            last_error: None,
            actions: VecDeque::new(),
        })
    }

    /// Where the machine stands.
    pub fn state(&self) -> ReconnectState {
        self.state
    }

    /// Dials since the last stable connection.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Consecutive failures since the last stable connection.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The last delay chosen (after jitter and Retry-After).
    pub fn last_delay(&self) -> Option<Duration> {
        self.last_delay
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<ReconnectAction> {
        self.actions.pop_front()
    }

    /// When [`Reconnect::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            ReconnectState::Waiting { until } => Some(until),
            ReconnectState::Connected { since } if self.failures > 0 || self.attempt > 0 => {
                Some(since + self.config.stable_after)
            }
            _ => None,
        }
    }

    /// Begins: the first dial is immediate.
    pub fn start(&mut self, _now: Instant) -> Result<(), ReconnectError> {
        if self.state != ReconnectState::Idle {
            return Err(self.misuse("start"));
        }
        self.dial();
        Ok(())
    }

    /// The dial succeeded and the connection is up.
    pub fn on_connected(&mut self, now: Instant) -> Result<(), ReconnectError> {
        if self.state != ReconnectState::Dialing {
            return Err(self.misuse("on_connected"));
        }
        self.state = ReconnectState::Connected { since: now };
        Ok(())
    }

    /// The dial failed.
    pub fn on_dial_failed(&mut self, now: Instant, failure: Failure) -> Result<(), ReconnectError> {
        if self.state != ReconnectState::Dialing {
            return Err(self.misuse("on_dial_failed"));
        }
        self.fail(now, failure);
        Ok(())
    }

    /// The connection, which was up, was lost.
    pub fn on_disconnected(
        &mut self,
        now: Instant,
        failure: Failure,
    ) -> Result<(), ReconnectError> {
        let ReconnectState::Connected { since } = self.state else {
            return Err(self.misuse("on_disconnected"));
        };
        if now >= since + self.config.stable_after {
            self.mark_stable();
        }
        self.fail(now, failure);
        Ok(())
    }

    /// Stops reconnecting.
    pub fn stop(&mut self, _now: Instant) -> Result<(), ReconnectError> {
        if self.state == ReconnectState::GaveUp {
            return Err(self.misuse("stop"));
        }
        self.give_up(GiveUpReason::Stopped);
        Ok(())
    }

    /// Runs what is due at `now`; calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            ReconnectState::Waiting { until } if now >= until => self.dial(),
            ReconnectState::Connected { since } if now >= since + self.config.stable_after => {
                self.mark_stable()
            }
            _ => {}
        }
    }

    fn mark_stable(&mut self) {
        self.failures = 0;
        self.attempt = 0;
        self.outage_start = None;
    }

    fn dial(&mut self) {
        self.attempt = self.attempt.saturating_add(1);
        self.state = ReconnectState::Dialing;
        self.actions.push_back(ReconnectAction::Dial { attempt: self.attempt });
    }

    fn fail(&mut self, now: Instant, failure: Failure) {
        let fatal = match &failure {
            Failure::Fatal(_) => true,
            Failure::HandshakeStatus { status, .. } => self.config.fatal_statuses.contains(status),
            Failure::Transport(_) => false,
        };
        let retry_after = match &failure {
            Failure::HandshakeStatus { retry_after, .. } => {
                retry_after.map(|asked| asked.min(self.config.max_retry_after))
            }
            _ => None,
        };
        self.last_error = Some(failure);
        if fatal {
            return self.give_up(GiveUpReason::Fatal);
        }
        self.failures = self.failures.saturating_add(1);
        let outage_start = *self.outage_start.get_or_insert(now);
        if self.config.max_attempts.is_some_and(|max| self.failures >= max) {
            return self.give_up(GiveUpReason::MaxAttempts);
        }
        let delay = self.jittered(self.backoff(self.failures)).max(retry_after.unwrap_or_default());
        let until = now + delay;
        if self
            .config
            .max_elapsed
            .is_some_and(|budget| until.saturating_duration_since(outage_start) > budget)
        {
            return self.give_up(GiveUpReason::MaxElapsed);
        }
        self.last_delay = Some(delay);
        self.state = ReconnectState::Waiting { until };
    }

    /// The delay before jitter after `failures` consecutive failures.
    fn backoff(&self, failures: u32) -> Duration {
        let exponent = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds =
            self.config.initial_delay.as_secs_f64() * self.config.multiplier.powi(exponent);
        Duration::try_from_secs_f64(seconds)
            .map_or(self.config.max_delay, |d| d.min(self.config.max_delay))
    }

    fn jittered(&mut self, delay: Duration) -> Duration {
        match self.config.jitter {
            Jitter::None => delay,
            Jitter::Full => {
                let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(self.rng.up_to(nanos))
            }
        }
    }

    fn give_up(&mut self, reason: GiveUpReason) {
        self.state = ReconnectState::GaveUp;
        self.actions
            .push_back(ReconnectAction::GiveUp { last_error: self.last_error.clone(), reason });
    }

    fn misuse(&self, input: &'static str) -> ReconnectError {
        ReconnectError::Misuse { input, state: self.state }
    }
}

#[cfg(test)]
mod tests;
