//! Connection caps: how many connections a server holds at once, in all and per client
//! address, and what a connection over the cap gets (503 with `Retry-After`, which the
//! project's clients honour). One [`ConnectionGate`] serves the library's accept loop,
//! [`super::Server::serve_tcp`] and the CLI's `serve --stdio` relay.
//!
//! A connection takes a [`Permit`] as soon as it is accepted (so half-open handshakes count
//! too) and gives it back when it ends, however it ends. Refusing costs something as well (a
//! TLS handshake, reading the request head), so at most [`ConnectionLimits::max_refusing`]
//! refusals run at once; beyond that a connection is dropped unanswered.
//!
//! [`AcceptBackoff`] is the accept loops' answer to a failing `accept` (out of descriptors,
//! EMFILE/ENFILE): wait, longer each time up to a second, log once per burst, never spin.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::handshake::Refusal;

/// The caps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// The most connections held at once (handshakes included).
    pub max_connections: usize,
    /// The most connections held at once from one client address (`None`: no per-address cap).
    pub max_per_ip: Option<usize>,
    /// What a refused client is told to wait before it tries again.
    pub retry_after: Duration,
    /// The most refusals answered at once; beyond it, connections are dropped unanswered.
    pub max_refusing: usize,
}

impl Default for ConnectionLimits {
    /// 10,000 connections, no per-address cap, `Retry-After: 1`, 64 refusals at once.
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 10_000,
            max_per_ip: None,
            retry_after: Duration::from_secs(1),
            max_refusing: 64,
        }
    }
}

impl ConnectionLimits {
    /// The defaults with a different total cap.
    pub fn with_max_connections(max_connections: usize) -> Self {
        ConnectionLimits { max_connections, ..ConnectionLimits::default() }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Busy {
    /// The server holds `limit` connections.
    Full {
        /// The cap.
        limit: usize,
    },
    /// This client address holds `limit` connections.
    PerAddress {
        /// The address.
        ip: IpAddr,
        /// The cap.
        limit: usize,
    },
}

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Busy::Full { limit } => {
                write!(f, "the server holds its maximum of {limit} connections; retry later")
            }
            Busy::PerAddress { ip, limit } => {
                write!(f, "{ip} holds its maximum of {limit} connections; retry later")
            }
        }
    }
}

impl std::error::Error for Busy {}

#[derive(Debug, Default)]
struct Counts {
    active: usize,
    refusing: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Whether the last admission decision was a refusal (to log a refusal burst once).
    refusing_burst: bool,
}

/// Admits connections within [`ConnectionLimits`]. Cheap to clone; clones share the counts.
#[derive(Debug, Clone)]
pub struct ConnectionGate {
    limits: Arc<ConnectionLimits>,
    counts: Arc<Mutex<Counts>>,
}

/// What [`ConnectionGate::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    /// Serve the connection; hold the permit until it ends.
    Admitted(Permit),
    /// Answer with [`Refusing::refusal`] (503), holding the refusing slot meanwhile.
    Refuse(Refusing),
    /// Over the cap and too many refusals under way: drop the connection unanswered.
    Drop(Busy),
}

impl ConnectionGate {
    /// A gate with `limits`.
    pub fn new(limits: ConnectionLimits) -> Self {
        ConnectionGate { limits: Arc::new(limits), counts: Arc::default() }
    }

    /// The caps.
    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    /// Connections holding a permit now.
    pub fn active(&self) -> usize {
        self.lock().active
    }

    /// Decides on a connection from `peer`.
    pub fn admit(&self, peer: Option<IpAddr>) -> Admission {
        let mut counts = self.lock();
        let busy = if counts.active >= self.limits.max_connections {
            Some(Busy::Full { limit: self.limits.max_connections })
        } else {
            match (peer, self.limits.max_per_ip) {
                (Some(ip), Some(limit))
                    if counts.per_ip.get(&ip).copied().unwrap_or(0) >= limit =>
                {
                    Some(Busy::PerAddress { ip, limit })
                }
                _ => None,
            }
        };
        match busy {
            None => {
                counts.active += 1;
                if let Some(ip) = peer.filter(|_| self.limits.max_per_ip.is_some()) {
                    *counts.per_ip.entry(ip).or_default() += 1;
                }
                if std::mem::take(&mut counts.refusing_burst) {
                    tracing::info!(active = counts.active, "accepting connections again");
                }
                Admission::Admitted(Permit { gate: self.clone(), ip: peer })
            }
            Some(busy) => {
                if !std::mem::replace(&mut counts.refusing_burst, true) {
                    tracing::warn!("refusing connections with 503: {busy}");
                } else {
                    tracing::debug!("refusing a connection with 503: {busy}");
                }
                if counts.refusing >= self.limits.max_refusing {
                    return Admission::Drop(busy);
                }
                counts.refusing += 1;
                Admission::Refuse(Refusing { gate: self.clone(), busy })
            }
        }
    }

    /// The answer to a connection over a cap: 503 with `Retry-After` (whole seconds, at
    /// least 1).
    pub fn refusal(&self, busy: &Busy) -> Refusal {
        let seconds = self.limits.retry_after.as_secs().max(1);
        Refusal::new(503, busy.to_string()).header("Retry-After", seconds.to_string())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection's place under the cap; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    gate: ConnectionGate,
    ip: Option<IpAddr>,
}

impl Permit {
    /// The answer to a connection over a cap of this permit's gate (see
    /// [`ConnectionGate::refusal`]).
    pub fn refusal(&self, busy: &Busy) -> Refusal {
        self.gate.refusal(busy)
    }

    /// Moves this connection's place under the per-address cap to `ip` (the client behind a
    /// trusted proxy, known once the request head is read), unless `ip` is at its cap.
    pub fn rekey(&mut self, ip: IpAddr) -> Result<(), Busy> {
        if self.ip == Some(ip) {
            return Ok(());
        }
        if let Some(limit) = self.gate.limits.max_per_ip {
            let mut counts = self.gate.lock();
            if counts.per_ip.get(&ip).copied().unwrap_or(0) >= limit {
                return Err(Busy::PerAddress { ip, limit });
            }
            *counts.per_ip.entry(ip).or_default() += 1;
            if let Some(old) = self.ip {
                release(&mut counts, old);
            }
        }
        self.ip = Some(ip);
        Ok(())
    }
}

fn release(counts: &mut Counts, ip: IpAddr) {
    if let Some(n) = counts.per_ip.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            counts.per_ip.remove(&ip);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.gate.lock();
        counts.active = counts.active.saturating_sub(1);
        if let Some(ip) = self.ip.filter(|_| self.gate.limits.max_per_ip.is_some()) {
            release(&mut counts, ip);
        }
    }
}

/// A refusal under way; dropping it frees the refusing slot.
#[derive(Debug)]
pub struct Refusing {
    gate: ConnectionGate,
    busy: Busy,
}

impl Refusing {
    /// Why the connection is refused.
    pub fn busy(&self) -> &Busy {
        &self.busy
    }

    /// The answer: 503 with `Retry-After` (whole seconds, at least 1).
    pub fn refusal(&self) -> Refusal {
        self.gate.refusal(&self.busy)
    }
}

impl Drop for Refusing {
    fn drop(&mut self) {
        let mut counts = self.gate.lock();
        counts.refusing = counts.refusing.saturating_sub(1);
    }
}

/// How long an accept loop waits after a failed `accept`: 5 ms doubling to 1 s, back to the
/// start after a success. The first failure of a burst is logged at warn, the rest at debug.
#[derive(Debug, Clone, Default)]
pub struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    /// The shortest wait.
    pub const MIN: Duration = Duration::from_millis(5);
    /// The longest wait.
    pub const MAX: Duration = Duration::from_secs(1);

    /// An accept failed with `error`: how long to wait before the next one.
    pub fn failed(&mut self, error: &std::io::Error) -> Duration {
        let wait = Self::MIN.saturating_mul(1 << self.failures.min(8)).min(Self::MAX);
        if self.failures == 0 {
            tracing::warn!("accepting a connection failed ({error}); backing off");
        } else {
            tracing::debug!(failures = self.failures + 1, "accepting failed again ({error})");
        }
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// An accept succeeded.
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accepting connections again");
        }
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn the_connection_after_the_cap_is_refused_with_503_and_retry_after_until_one_ends() {
        let gate = ConnectionGate::new(ConnectionLimits::with_max_connections(2));
        let Admission::Admitted(first) = gate.admit(ip(1)) else { panic!("first") };
        let Admission::Admitted(_second) = gate.admit(ip(2)) else { panic!("second") };
        let Admission::Refuse(refusing) = gate.admit(ip(3)) else { panic!("third is refused") };
        let refusal = refusing.refusal();
        assert_eq!(refusal.status(), 503);
        assert!(refusal.headers().contains(&("Retry-After".to_string(), "1".to_string())));
        drop(first);
        assert!(matches!(gate.admit(ip(3)), Admission::Admitted(_)));
    }

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let limits = ConnectionLimits { max_per_ip: Some(1), ..ConnectionLimits::default() };
        let gate = ConnectionGate::new(limits);
        let Admission::Admitted(permit) = gate.admit(ip(1)) else { panic!("first") };
        assert!(
            matches!(gate.admit(ip(1)), Admission::Refuse(r) if matches!(r.busy(), Busy::PerAddress { .. }))
        );
        assert!(matches!(gate.admit(ip(2)), Admission::Admitted(_)));
        drop(permit);
        assert!(matches!(gate.admit(ip(1)), Admission::Admitted(_)));
        assert_eq!(gate.active(), 0, "every permit above was dropped");
    }

    #[test]
    fn accept_failures_back_off_to_a_second_and_reset_after_a_success() {
        let mut backoff = AcceptBackoff::default();
        let error = std::io::Error::from_raw_os_error(24);
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed(&error).as_millis()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.succeeded();
        assert_eq!(backoff.failed(&error), AcceptBackoff::MIN);
    }

    #[test]
    fn a_permit_moves_to_the_forwarded_client_within_its_cap() {
        let limits = ConnectionLimits { max_per_ip: Some(1), ..ConnectionLimits::default() };
        let gate = ConnectionGate::new(limits);
        // Two connections from a trusted proxy, admitted without an address...
        let Admission::Admitted(mut first) = gate.admit(None) else { panic!("first") };
        let Admission::Admitted(mut second) = gate.admit(None) else { panic!("second") };
        // ...then keyed on the clients behind it: the same client twice is over its cap.
        first.rekey(ip(7).unwrap()).expect("first client");
        let busy = second.rekey(ip(7).unwrap()).unwrap_err();
        assert_eq!(busy, Busy::PerAddress { ip: ip(7).unwrap(), limit: 1 });
        second.rekey(ip(8).unwrap()).expect("another client");
        drop(first);
        assert!(matches!(gate.admit(ip(7)), Admission::Admitted(_)));
        drop(second);
        assert!(gate.lock().per_ip.is_empty(), "every place was given back");
    }

    #[test]
    fn refusals_under_way_are_bounded_too() {
        let limits =
            ConnectionLimits { max_connections: 0, max_refusing: 1, ..ConnectionLimits::default() };
        let gate = ConnectionGate::new(limits);
        let Admission::Refuse(refusing) = gate.admit(ip(1)) else { panic!("refused") };
        assert!(matches!(gate.admit(ip(2)), Admission::Drop(Busy::Full { limit: 0 })));
        drop(refusing);
        assert!(matches!(gate.admit(ip(2)), Admission::Refuse(_)));
    }
}
