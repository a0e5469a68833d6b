//! Our requests in flight: what each is for, when it times out, and how its progress stands.
//!
//! Deadlines live in an ordered index beside the table so the next one is found in O(log n)
//! and expiry pops them in deadline order.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use crate::id::RequestId;
use crate::time::Instant;

/// Per-call settings of an outgoing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestOptions {
    /// Overrides the session's `request_timeout` for this call.
    pub timeout: Option<Duration>,
    /// Ask the peer for progress (`_meta.progressToken`); progress arrives as
    /// [`crate::session::Event::Progress`].
    pub progress: bool,
    /// Restart the timeout whenever progress arrives.
    pub reset_timeout_on_progress: bool,
    /// With `reset_timeout_on_progress`, the longest the request may run in total; without it,
    /// ten times the timeout.
    pub max_total_timeout: Option<Duration>,
}

/// Why a request is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The application asked for it; its end is reported as an event.
    Application,
    /// The legacy `initialize` the client lifecycle sent.
    Initialize,
    /// The dual-era `server/discover` probe.
    Discover,
}

/// One request in flight.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub purpose: Purpose,
    /// Whether it has been written to the peer (queued requests have not).
    pub sent: bool,
    pub deadline: Instant,
    /// The latest the deadline can be pushed to by progress.
    pub hard_deadline: Instant,
    /// The timeout re-armed on progress, when resetting is on.
    pub reset_on_progress: Option<Duration>,
    /// Whether we asked for progress.
    pub wants_progress: bool,
    /// The last progress value accepted.
    pub last_progress: Option<f64>,
}

/// The table of our requests in flight.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    pending: HashMap<RequestId, Pending>,
    deadlines: BTreeSet<(Instant, RequestId)>,
}

impl Outgoing {
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn get(&self, id: &RequestId) -> Option<&Pending> {
        self.pending.get(id)
    }

    pub fn get_mut(&mut self, id: &RequestId) -> Option<&mut Pending> {
        self.pending.get_mut(id)
    }

    pub fn insert(&mut self, id: RequestId, pending: Pending) {
        self.deadlines.insert((pending.deadline, id.clone()));
        self.pending.insert(id, pending);
    }

    pub fn remove(&mut self, id: &RequestId) -> Option<Pending> {
        let pending = self.pending.remove(id)?;
        self.deadlines.remove(&(pending.deadline, id.clone()));
        Some(pending)
    }

    /// Moves a request's deadline (for progress resets).
    pub fn reschedule(&mut self, id: &RequestId, deadline: Instant) {
        if let Some(pending) = self.pending.get_mut(id) {
            self.deadlines.remove(&(pending.deadline, id.clone()));
            pending.deadline = deadline;
            self.deadlines.insert((deadline, id.clone()));
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest request whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(RequestId, Pending)> {
        let (at, _) = self.deadlines.first()?;
        if *at > now {
            return None;
        }
        let (_, id) = self.deadlines.pop_first()?;
        let pending = self.pending.remove(&id)?;
        Some((id, pending))
    }

    /// Removes every request, in id order so that the events they cause are deterministic.
    pub fn drain_sorted(&mut self) -> Vec<(RequestId, Pending)> {
        self.deadlines.clear();
        let mut all: Vec<_> = self.pending.drain().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}
