//! Streamable HTTP state that needs no socket: the legacy-era session table (ids, a count cap,
//! idle expiry) and the per-session SSE replay buffer (event ids, `Last-Event-ID` resume).
//!
//! [`HttpSessions`] maps `Mcp-Session-Id` values to whatever the driver keeps per session
//! (its handle on the connection loop). Ids are 32 hex digits made from 16 random bytes the
//! caller supplies (the core reads no entropy source, as it reads no clock): visible ASCII,
//! unguessable when the bytes are. The table is bounded by [`SessionLimits::max_sessions`]
//! and a session idle longer than [`SessionLimits::idle_timeout`] is expired by
//! [`HttpSessions::expire`]; time is a parameter everywhere.
//!
//! [`ReplayBuffer`] gives every event a session a unique id (`<stream>-<sequence>`, the
//! sequence counted across all streams of the session) and keeps the last
//! [`ReplayBuffer::capacity`] events, so a client that lost a stream can open a new one with
//! `Last-Event-ID` and get exactly the events after it on that stream: none lost while they are
//! retained, none doubled, and a clear [`ResumeError`] once they are not.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::time::Instant;

/// Bounds of the session table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// The most sessions open at once; [`HttpSessions::create`] refuses beyond.
    pub max_sessions: usize,
    /// A session with no request for this long is expired.
    pub idle_timeout: Duration,
}

impl SessionLimits {
    /// 1024 sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 1024;
    /// 10 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// The session table was full (answer 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionsFull {
    /// The cap that was reached.
    pub max_sessions: usize,
}

impl fmt::Display for SessionsFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server holds its maximum of {} HTTP sessions", self.max_sessions)
    }
}

impl std::error::Error for SessionsFull {}

struct Entry<T> {
    value: T,
    last_active: Instant,
}

/// The legacy-era HTTP sessions of one server: id to driver state, bounded in count and idle
/// time.
pub struct HttpSessions<T> {
    limits: SessionLimits,
    entries: HashMap<String, Entry<T>>,
}

impl<T> fmt::Debug for HttpSessions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSessions")
            .field("limits", &self.limits)
            .field("open", &self.entries.len())
            .finish()
    }
}

impl<T> HttpSessions<T> {
    /// An empty table.
    pub fn new(limits: SessionLimits) -> HttpSessions<T> {
        HttpSessions { limits, entries: HashMap::new() }
    }

    /// The bounds in force.
    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Opens a session holding `value`, its id made from `random` (16 bytes from a secure
    /// source). Call [`HttpSessions::expire`] first so sessions idle past their timeout do not
    /// count against the cap (and get closed). Over the cap, `value` comes back with the
    /// refusal.
    pub fn create(
        &mut self,
        now: Instant,
        random: [u8; 16],
        value: T,
    ) -> Result<String, (SessionsFull, T)> {
        if self.entries.len() >= self.limits.max_sessions {
            return Err((SessionsFull { max_sessions: self.limits.max_sessions }, value));
        }
        let id = session_id(random);
        self.entries.insert(id.clone(), Entry { value, last_active: now });
        Ok(id)
    }

    /// The session `id`, marked active at `now`; `None` for an unknown, ended or expired one
    /// (answer 404). A session found idle past its timeout is removed here.
    pub fn touch(&mut self, id: &str, now: Instant) -> Option<&mut T> {
        let timeout = self.limits.idle_timeout;
        let idle = self
            .entries
            .get(id)
            .map(|entry| now.saturating_duration_since(entry.last_active) >= timeout)?;
        if idle {
            self.entries.remove(id);
            return None;
        }
        let entry = self.entries.get_mut(id)?;
        entry.last_active = now;
        Some(&mut entry.value)
    }

    /// Ends the session `id` (a `DELETE`, or the connection loop ended); its value, if it was
    /// open.
    pub fn end(&mut self, id: &str) -> Option<T> {
        self.entries.remove(id).map(|entry| entry.value)
    }

    /// Removes every session idle for at least the timeout at `now`, returning them.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, T)> {
        let timeout = self.limits.idle_timeout;
        let idle: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, entry)| now.saturating_duration_since(entry.last_active) >= timeout)
            .map(|(id, _)| id.clone())
            .collect();
        idle.into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|entry| (id, entry.value)))
            .collect()
    }

    /// When the next session would expire if nothing touches it; `None` when none is open.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|entry| entry.last_active.saturating_add(self.limits.idle_timeout))
            .min()
    }
}

/// 32 lower-case hex digits.
fn session_id(random: [u8; 16]) -> String {
    let mut id = String::with_capacity(32);
    for byte in random {
        id.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        id.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    id
}

/// Whether `text` is a well-formed session id as [`HttpSessions`] makes them; anything else can
/// be answered 404 without a lookup.
pub fn is_session_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One retained event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedEvent {
    /// The event id, `<stream>-<sequence>`.
    pub id: String,
    /// The stream it was sent on.
    pub stream: u64,
    /// The message (the event's data).
    pub data: String,
}

/// Why a `Last-Event-ID` cannot resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeError {
    /// The id is not one this buffer gave out (answer 400).
    Malformed,
    /// Events after the id were dropped from the bounded buffer: resuming would lose them.
    Evicted,
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResumeError::Malformed => "the Last-Event-ID is not an event id of this session",
            ResumeError::Evicted => "events after the Last-Event-ID are no longer retained",
        })
    }
}

impl std::error::Error for ResumeError {}

/// The SSE events of one session, numbered and kept in a bounded buffer for resumption.
#[derive(Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    next_sequence: u64,
    retained: VecDeque<(u64, ReplayedEvent)>,
    /// Per stream, the highest sequence dropped from the buffer.
    evicted_through: HashMap<u64, u64>,
}

impl ReplayBuffer {
    /// 256 events per session.
    pub const DEFAULT_CAPACITY: usize = 256;

    /// An empty buffer keeping at most `capacity` events.
    pub fn new(capacity: usize) -> ReplayBuffer {
        ReplayBuffer {
            capacity,
            next_sequence: 1,
            retained: VecDeque::new(),
            evicted_through: HashMap::new(),
        }
    }

    /// The most events kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Numbers `data` as the next event of `stream`, retains it (dropping the oldest one when
    /// full) and returns its id.
    pub fn push(&mut self, stream: u64, data: String) -> String {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = format!("{stream}-{sequence}");
        if self.capacity == 0 {
            self.evicted_through.insert(stream, sequence);
            return id;
        }
        if self.retained.len() == self.capacity {
            if let Some((old, event)) = self.retained.pop_front() {
                self.evicted_through.insert(event.stream, old);
            }
        }
        self.retained.push_back((sequence, ReplayedEvent { id: id.clone(), stream, data }));
        id
    }

    /// The stream `last_event_id` belongs to and every retained event of that stream after it,
    /// oldest first.
    pub fn resume(&self, last_event_id: &str) -> Result<(u64, Vec<ReplayedEvent>), ResumeError> {
        let (stream, sequence) = parse_event_id(last_event_id).ok_or(ResumeError::Malformed)?;
        if sequence >= self.next_sequence {
            return Err(ResumeError::Malformed);
        }
        if self.evicted_through.get(&stream).is_some_and(|&evicted| evicted > sequence) {
            return Err(ResumeError::Evicted);
        }
        let events = self
            .retained
            .iter()
            .filter(|(seq, event)| event.stream == stream && *seq > sequence)
            .map(|(_, event)| event.clone())
            .collect();
        Ok((stream, events))
    }
}

fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, sequence) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(stream) || !digits(sequence) {
        return None;
    }
    Some((stream.parse().ok()?, sequence.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }

    fn limits(max_sessions: usize, idle_secs: u64) -> SessionLimits {
        SessionLimits { max_sessions, idle_timeout: Duration::from_secs(idle_secs) }
    }

    #[test]
    fn session_ids_are_hex_of_the_random_bytes() {
        let mut table = HttpSessions::new(SessionLimits::default());
        let id = table.create(at(0), [0xab; 16], ()).unwrap();
        assert_eq!(id, "ab".repeat(16));
        assert!(is_session_id(&id));
        assert!(!is_session_id("AB"));
        assert!(!is_session_id(&"g".repeat(32)));
    }

    #[test]
    fn the_cap_refuses_and_an_ended_session_frees_its_place() {
        let mut table = HttpSessions::new(limits(2, 60));
        let a = table.create(at(0), [1; 16], "a").unwrap();
        table.create(at(0), [2; 16], "b").unwrap();
        let (full, value) = table.create(at(1), [3; 16], "c").unwrap_err();
        assert_eq!((full.max_sessions, value), (2, "c"));
        assert_eq!(table.end(&a), Some("a"));
        assert_eq!(table.touch(&a, at(1)), None, "an ended session is unknown");
        assert!(table.create(at(1), [3; 16], "c").is_ok());
    }

    #[test]
    fn idle_sessions_expire_and_activity_keeps_them() {
        let mut table = HttpSessions::new(limits(2, 10));
        let a = table.create(at(0), [1; 16], "a").unwrap();
        let b = table.create(at(0), [2; 16], "b").unwrap();
        assert_eq!(table.next_expiry(), Some(at(10)));
        assert!(table.touch(&a, at(9)).is_some());
        assert_eq!(table.expire(at(10)), vec![(b.clone(), "b")]);
        assert_eq!(table.next_expiry(), Some(at(19)));
        assert_eq!(table.touch(&b, at(10)), None);
        assert_eq!(table.touch(&a, at(19)), None, "found idle at lookup");
        assert!(table.is_empty());
    }

    #[test]
    fn expiring_idle_sessions_frees_places_under_the_cap() {
        let mut table = HttpSessions::new(limits(1, 10));
        let a = table.create(at(0), [1; 16], "a").unwrap();
        assert!(table.create(at(10), [2; 16], "b").is_err());
        assert_eq!(table.expire(at(10)), vec![(a, "a")]);
        assert!(table.create(at(10), [2; 16], "b").is_ok());
    }

    #[test]
    fn resume_gives_the_events_after_the_id_on_its_stream_only() {
        let mut buffer = ReplayBuffer::new(8);
        let first = buffer.push(0, "a".into());
        buffer.push(1, "other stream".into());
        buffer.push(0, "b".into());
        buffer.push(0, "c".into());
        let (stream, events) = buffer.resume(&first).unwrap();
        assert_eq!(stream, 0);
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["b", "c"]);
        let last = events.last().unwrap().id.clone();
        assert_eq!(buffer.resume(&last).unwrap().1, vec![], "nothing doubled");
    }

    #[test]
    fn resume_past_the_buffer_is_an_error_not_a_silent_loss() {
        let mut buffer = ReplayBuffer::new(2);
        let first = buffer.push(0, "a".into());
        let second = buffer.push(0, "b".into());
        buffer.push(0, "c".into());
        buffer.push(0, "d".into());
        assert_eq!(buffer.resume(&first), Err(ResumeError::Evicted));
        assert_eq!(buffer.resume(&second).unwrap().1.len(), 2);
    }

    #[test]
    fn eviction_on_another_stream_does_not_block_resume() {
        let mut buffer = ReplayBuffer::new(2);
        buffer.push(1, "x".into());
        let mine = buffer.push(0, "a".into());
        buffer.push(0, "b".into()); // evicts stream 1's event
        assert_eq!(buffer.resume(&mine).unwrap().1.len(), 1);
    }

    #[test]
    fn ids_not_given_out_are_malformed() {
        let mut buffer = ReplayBuffer::new(2);
        buffer.push(0, "a".into());
        for id in ["", "0", "0-", "-1", "0-x", "0-5", "a-1", "0-1-2"] {
            assert_eq!(buffer.resume(id), Err(ResumeError::Malformed), "{id:?}");
        }
    }
}
