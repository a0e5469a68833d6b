//! Liveness: when to ask for a WebSocket ping and when to declare the peer dead.
//!
//! Any inbound frame (message, ping or pong) proves the peer alive. A ping is due once
//! `ping_interval` has passed since the later of the last inbound frame and the last ping, so a
//! busy connection sends none; the peer is dead once `idle_timeout` passes without any inbound
//! frame.

use std::time::Duration;

use crate::time::Instant;

/// What the heartbeat wants done at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Nothing is due.
    Quiet,
    /// Send a WebSocket ping.
    Ping,
    /// Nothing arrived within the idle timeout.
    Dead,
}

#[derive(Debug, Clone)]
pub(crate) struct Heartbeat {
    ping_interval: Option<Duration>,
    idle_timeout: Option<Duration>,
    last_inbound: Instant,
    last_ping: Instant,
}

impl Heartbeat {
    pub fn new(
        ping_interval: Option<Duration>,
        idle_timeout: Option<Duration>,
        now: Instant,
    ) -> Self {
        Heartbeat { ping_interval, idle_timeout, last_inbound: now, last_ping: now }
    }

    /// Records an inbound frame.
    pub fn on_inbound(&mut self, now: Instant) {
        self.last_inbound = self.last_inbound.max(now);
    }

    pub fn next_ping(&self) -> Option<Instant> {
        self.ping_interval.map(|interval| self.last_inbound.max(self.last_ping) + interval)
    }

    pub fn idle_deadline(&self) -> Option<Instant> {
        self.idle_timeout.map(|idle| self.last_inbound + idle)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [self.next_ping(), self.idle_deadline()].into_iter().flatten().min()
    }

    /// What is due at `now`; a due ping is recorded as sent.
    pub fn poll(&mut self, now: Instant) -> Beat {
        if self.idle_deadline().is_some_and(|at| at <= now) {
            return Beat::Dead;
        }
        if self.next_ping().is_some_and(|at| at <= now) {
            self.last_ping = now;
            return Beat::Ping;
        }
        Beat::Quiet
    }

    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}
