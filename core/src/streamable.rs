//! Streamable HTTP state that needs no socket: the legacy-era session table (ids, a count cap,
//! idle expiry) and the per-session SSE replay buffer (event ids, `Last-Event-ID` resume).
//!
//! [`HttpSessions`] maps `Mcp-Session-Id` values to whatever the driver keeps per session
//! (its handle on the connection loop). Ids are 32 hex digits made from 16 random bytes the
//! caller supplies (the core reads no entropy source, as it reads no clock): visible ASCII,
//! unguessable when the bytes are. A table given a [`NodeId`] puts it in front of every id it
//! mints (`<node>.<32 hex digits>`), so a load balancer can send each request of a session to
//! the node that holds it ([`session_node`]). The table is bounded by [`SessionLimits::max_sessions`]
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

use crate::id::RequestId;
use crate::message::{Message, Request};
use crate::param_headers::ParamHeaders;
use crate::raw::RawJson;
use crate::time::Instant;
use crate::version::{Era, ProtocolVersion};

/// Bounds of the session table, and of what each session keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionLimits {
    /// The most sessions open at once; [`HttpSessions::create`] refuses beyond.
    pub max_sessions: usize,
    /// A session with no request for this long is expired.
    pub idle_timeout: Duration,
    /// The SSE events each session keeps for `Last-Event-ID` resumption (its
    /// [`ReplayBuffer::capacity`]).
    pub replay_events: usize,
}

impl SessionLimits {
    /// 1024 sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 1024;
    /// 10 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

    /// The defaults with `max_sessions` and `idle_timeout`.
    pub fn new(max_sessions: usize, idle_timeout: Duration) -> SessionLimits {
        SessionLimits { max_sessions, idle_timeout, ..SessionLimits::default() }
    }
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            replay_events: ReplayBuffer::DEFAULT_CAPACITY,
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

/// The name of one server node in the session ids it mints: 1 to [`NodeId::MAX_LEN`]
/// characters of `A-Z a-z 0-9 _ -`, so an id stays visible ASCII, and the `.` that ends the
/// name cannot be part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeId(String);

impl NodeId {
    /// The longest node name.
    pub const MAX_LEN: usize = 32;

    /// `name`, if it is a valid node name.
    pub fn new(name: &str) -> Result<NodeId, InvalidNodeId> {
        if name.is_empty() {
            return Err(InvalidNodeId::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(InvalidNodeId::TooLong { len: name.len() });
        }
        match name.chars().find(|c| !is_node_char(*c)) {
            Some(c) => Err(InvalidNodeId::Character(c)),
            None => Ok(NodeId(name.to_string())),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for NodeId {
    type Err = InvalidNodeId;

    fn from_str(name: &str) -> Result<NodeId, InvalidNodeId> {
        NodeId::new(name)
    }
}

fn is_node_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Why a node name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidNodeId {
    /// The name is empty.
    Empty,
    /// The name is longer than [`NodeId::MAX_LEN`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a character other than `A-Z a-z 0-9 _ -`.
    Character(char),
}

impl fmt::Display for InvalidNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidNodeId::Empty => f.write_str("a node id must not be empty"),
            InvalidNodeId::TooLong { len } => {
                write!(f, "a node id is at most {} characters, not {len}", NodeId::MAX_LEN)
            }
            InvalidNodeId::Character(c) => {
                write!(f, "a node id is made of A-Z a-z 0-9 _ -, not {c:?}")
            }
        }
    }
}

impl std::error::Error for InvalidNodeId {}

struct Entry<T> {
    value: T,
    last_active: Instant,
}

/// The legacy-era HTTP sessions of one server: id to driver state, bounded in count and idle
/// time.
pub struct HttpSessions<T> {
    limits: SessionLimits,
    node: Option<NodeId>,
    entries: HashMap<String, Entry<T>>,
}

impl<T> fmt::Debug for HttpSessions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSessions")
            .field("limits", &self.limits)
            .field("node", &self.node)
            .field("open", &self.entries.len())
            .finish()
    }
}

impl<T> HttpSessions<T> {
    /// An empty table.
    pub fn new(limits: SessionLimits) -> HttpSessions<T> {
        HttpSessions { limits, node: None, entries: HashMap::new() }
    }

    /// This table, minting ids that start with `node` and a `.` (see [`session_node`]).
    pub fn with_node(mut self, node: Option<NodeId>) -> HttpSessions<T> {
        self.node = node;
        self
    }

    /// The node named in the ids this table mints.
    pub fn node(&self) -> Option<&NodeId> {
        self.node.as_ref()
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
        let id = session_id(self.node.as_ref(), random);
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
        self.expire_unless(now, |_| false)
    }

    /// [`HttpSessions::expire`], except that a session `in_use` says is busy (a stream open
    /// on it, a request in progress) is not idle: it is marked active at `now` instead.
    pub fn expire_unless(
        &mut self,
        now: Instant,
        mut in_use: impl FnMut(&T) -> bool,
    ) -> Vec<(String, T)> {
        let timeout = self.limits.idle_timeout;
        let mut idle = Vec::new();
        for (id, entry) in &mut self.entries {
            if now.saturating_duration_since(entry.last_active) < timeout {
                continue;
            }
            if in_use(&entry.value) {
                entry.last_active = now;
            } else {
                idle.push(id.clone());
            }
        }
        idle.into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|entry| (id, entry.value)))
            .collect()
    }

    /// Removes and returns the session `id` if it has been idle for at least the timeout at
    /// `now` (so the caller can end it before answering 404); `None` otherwise.
    pub fn end_if_idle(&mut self, id: &str, now: Instant) -> Option<T> {
        let timeout = self.limits.idle_timeout;
        let idle = now.saturating_duration_since(self.entries.get(id)?.last_active) >= timeout;
        if idle { self.end(id) } else { None }
    }

    /// When the next session would expire if nothing touches it; `None` when none is open.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|entry| entry.last_active.saturating_add(self.limits.idle_timeout))
            .min()
    }
}

/// 32 lower-case hex digits, after `node` and a `.` when there is one.
fn session_id(node: Option<&NodeId>, random: [u8; 16]) -> String {
    let mut id = String::with_capacity(NodeId::MAX_LEN + 33);
    if let Some(node) = node {
        id.push_str(node.as_str());
        id.push('.');
    }
    for byte in random {
        id.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        id.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    id
}

/// Whether `text` is a well-formed session id as [`HttpSessions`] makes them; anything else can
/// be answered 404 without a lookup.
pub fn is_session_id(text: &str) -> bool {
    let random = match text.split_once('.') {
        Some((node, random)) if NodeId::new(node).is_ok() => random,
        Some(_) => return false,
        None => text,
    };
    random.len() == 32 && random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The node named in a well-formed session id (`<node>.<32 hex digits>`); `None` for an id
/// minted without a node, or one [`is_session_id`] refuses. A load balancer's routing rule
/// does the same on the `Mcp-Session-Id` header.
pub fn session_node(id: &str) -> Option<&str> {
    if !is_session_id(id) {
        return None;
    }
    id.split_once('.').map(|(node, _)| node)
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

    /// An id for the point `stream` has reached, retaining nothing: what a priming event (an
    /// id and empty data, sent first on a new stream) carries, so a client that loses the
    /// stream before any other event can still resume it.
    pub fn position(&mut self, stream: u64) -> String {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        format!("{stream}-{sequence}")
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

/// What the endpoint needs to see of one Streamable HTTP request to route it: the method and
/// the header values as received (the caller matches header names case-insensitively; `None`
/// for an absent header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpRequestView<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `Accept`.
    pub accept: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Mcp-Session-Id`.
    pub session_id: Option<&'a str>,
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<&'a str>,
    /// `Last-Event-ID`.
    pub last_event_id: Option<&'a str>,
}

/// Where a request on the endpoint goes, once its method and headers passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpRoute<'a> {
    /// A `POST` without a session: a legacy `initialize` (which opens one) or a standalone
    /// 2026-07-28 request; the body decides.
    PostWithoutSession,
    /// A `POST` in the legacy session `session_id` (look it up: unknown is 404).
    PostInSession {
        /// The `Mcp-Session-Id`.
        session_id: &'a str,
    },
    /// A `GET` opening the session's server-to-client stream, resuming after `last_event_id`.
    OpenStream {
        /// The `Mcp-Session-Id`.
        session_id: &'a str,
        /// The `Last-Event-ID`, when the client resumes a cut stream.
        last_event_id: Option<&'a str>,
    },
    /// A `DELETE` ending the session.
    EndSession {
        /// The `Mcp-Session-Id`.
        session_id: &'a str,
    },
}

/// A request refused before its body is read: the status, a short reason for the body, and
/// the `Allow` header a 405 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRefusal {
    /// The HTTP status.
    pub status: u16,
    /// Why, in a sentence.
    pub reason: &'static str,
    /// The `Allow` header value, on a 405.
    pub allow: Option<&'static str>,
}

impl HttpRefusal {
    const fn new(status: u16, reason: &'static str) -> HttpRefusal {
        HttpRefusal { status, reason, allow: None }
    }
}

impl fmt::Display for HttpRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for HttpRefusal {}

/// Whether an `Accept` value admits `media_type` (`type/subtype`, or its wildcards).
pub fn accepts(accept: &str, media_type: &str) -> bool {
    let main = media_type.split('/').next().unwrap_or("");
    accept.split(',').any(|range| {
        let mut params = range.split(';');
        let range = params.next().unwrap_or("").trim();
        let refused = params.any(|p| {
            p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0))
        });
        !refused
            && (range.eq_ignore_ascii_case(media_type)
                || range == "*/*"
                || range.strip_suffix("/*").is_some_and(|prefix| prefix.eq_ignore_ascii_case(main)))
    })
}

fn media_type_is(content_type: &str, media_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media_type)
}

/// Routes a request on the endpoint (not a WebSocket upgrade) by its method and headers, the
/// checks of both eras that need no body, in order:
///
/// | request | answer |
/// |---|---|
/// | a method other than `POST`, `GET`, `DELETE` | 405, `Allow: GET, POST, DELETE` |
/// | `MCP-Protocol-Version` not one of `supported` (except on a `POST` without a session id: see [`sessionless_post_era`]) | 400 |
/// | `POST` whose `Content-Type` is not `application/json` | 415 |
/// | `POST` whose `Accept` admits neither JSON nor SSE | 406 |
/// | `GET` whose `Accept` does not admit `text/event-stream` | 406 |
/// | `GET`/`DELETE` without a session id, the request naming a 2026-07-28 version | 405, `Allow: POST` |
/// | `GET`/`DELETE` without a session id otherwise | 400 |
/// | a session id that is not one [`HttpSessions`] makes | 404 |
///
/// The session lookup (404 for an unknown or ended one) and every body check are the caller's.
pub fn route<'a>(
    request: &HttpRequestView<'a>,
    supported: &[ProtocolVersion],
) -> Result<HttpRoute<'a>, HttpRefusal> {
    let method = request.method;
    if !matches!(method, "POST" | "GET" | "DELETE") {
        return Err(HttpRefusal {
            allow: Some("GET, POST, DELETE"),
            ..HttpRefusal::new(405, "the MCP endpoint answers POST, GET and DELETE")
        });
    }
    let session_id = request.session_id.map(str::trim);
    // A sessionless POST's version is the body's business (a 2026-07-28 request naming one we
    // do not speak is answered -32022 with the supported list, which needs its id).
    let version = match request.protocol_version.map(str::trim) {
        None => None,
        Some(_) if method == "POST" && session_id.is_none() => None,
        Some(text) => match ProtocolVersion::parse(text).filter(|v| supported.contains(v)) {
            Some(version) => Some(version),
            None => return Err(HttpRefusal::new(400, "unsupported MCP-Protocol-Version")),
        },
    };
    if method == "POST" {
        if !request.content_type.is_some_and(|c| media_type_is(c, "application/json")) {
            return Err(HttpRefusal::new(415, "the body must be application/json"));
        }
        if let Some(accept) = request.accept {
            if !accepts(accept, "application/json") && !accepts(accept, "text/event-stream") {
                return Err(HttpRefusal::new(
                    406,
                    "the client must accept application/json or text/event-stream",
                ));
            }
        }
    } else if method == "GET"
        && !request.accept.is_some_and(|accept| accepts(accept, "text/event-stream"))
    {
        return Err(HttpRefusal::new(406, "a GET stream is text/event-stream"));
    }
    let session_id = match session_id {
        Some(id) if is_session_id(id) => Some(id),
        Some(_) => return Err(HttpRefusal::new(404, "unknown MCP session")),
        None => None,
    };
    match (method, session_id) {
        ("POST", None) => Ok(HttpRoute::PostWithoutSession),
        ("POST", Some(session_id)) => Ok(HttpRoute::PostInSession { session_id }),
        (_, None) if version.is_some_and(|v| v.era() == Era::Modern) => Err(HttpRefusal {
            allow: Some("POST"),
            ..HttpRefusal::new(405, "2026-07-28 has no sessions: every request is a POST")
        }),
        (_, None) => Err(HttpRefusal::new(400, "missing Mcp-Session-Id")),
        ("GET", Some(session_id)) => Ok(HttpRoute::OpenStream {
            session_id,
            last_event_id: request.last_event_id.map(str::trim),
        }),
        (_, Some(session_id)) => Ok(HttpRoute::EndSession { session_id }),
    }
}

/// A 2026-07-28 header that does not match the body (answer 400 with -32020).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderMismatch {
    /// `Mcp-Method` is absent or differs from the body's method.
    Method,
    /// `Mcp-Name` is absent or differs from the body's name (`tools/call`, `prompts/get`) or
    /// URI (`resources/read`).
    Name,
    /// `MCP-Protocol-Version` is absent or differs from the `_meta` protocol version.
    ProtocolVersion,
    /// An `Mcp-Param-*` header mirroring a tool parameter marked `x-mcp-header` is absent while
    /// the body has the parameter, present while it has not, not valid Base64 inside its
    /// `=?base64?…?=` wrapper, or different from the body's value.
    Param,
}

impl fmt::Display for HeaderMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderMismatch::Method => "the Mcp-Method header does not match the body's method",
            HeaderMismatch::Name => "the Mcp-Name header does not match the body",
            HeaderMismatch::ProtocolVersion => {
                "the MCP-Protocol-Version header does not match the _meta protocol version"
            }
            HeaderMismatch::Param => {
                "an Mcp-Param header does not match the tool argument it mirrors"
            }
        })
    }
}

impl std::error::Error for HeaderMismatch {}

/// The methods whose request carries `Mcp-Name`, and the parameter it mirrors.
pub fn named_parameter(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// Checks the SEP-2243 headers of a 2026-07-28 request against its body: `Mcp-Method` equals
/// the method (values are case-sensitive; surrounding whitespace is not part of a value),
/// `Mcp-Name` equals the named parameter ([`named_parameter`]) when the body has one, and
/// `MCP-Protocol-Version` equals the `_meta` version when the body names one.
pub fn check_standard_headers(
    method_header: Option<&str>,
    name_header: Option<&str>,
    version_header: Option<&str>,
    body_method: &str,
    body_name: Option<&str>,
    body_version: Option<&str>,
) -> Result<(), HeaderMismatch> {
    if method_header.map(str::trim) != Some(body_method) {
        return Err(HeaderMismatch::Method);
    }
    if let Some(name) = body_name.filter(|_| named_parameter(body_method).is_some()) {
        if name_header.map(str::trim) != Some(name) {
            return Err(HeaderMismatch::Name);
        }
    }
    if let Some(version) = body_version {
        if version_header.map(str::trim) != Some(version) {
            return Err(HeaderMismatch::ProtocolVersion);
        }
    }
    Ok(())
}

/// The era of a `POST` without `Mcp-Session-Id`: legacy (an `initialize` opening a session,
/// or a request that lacks one: 400) unless the request names a 2026-07-28 version, or one
/// that is not legacy, in its `MCP-Protocol-Version` header or its `_meta` protocol version.
/// A version this server does not know counts as modern, so the request is answered -32022
/// with the supported list rather than as a legacy request.
pub fn sessionless_post_era(version_header: Option<&str>, message: &Message) -> Era {
    let not_legacy =
        |text: &str| ProtocolVersion::parse(text.trim()).map(|v| v.era()) != Some(Era::Legacy);
    let params = match message {
        Message::Request(request) => request.params.as_ref(),
        Message::Notification(notification) => notification.params.as_ref(),
        _ => None,
    };
    let stamped = params.and_then(meta_protocol_version);
    if version_header.is_some_and(not_legacy) || stamped.as_deref().is_some_and(not_legacy) {
        Era::Modern
    } else {
        Era::Legacy
    }
}

/// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when it is a string.
pub fn meta_protocol_version(params: &RawJson) -> Option<String> {
    let value: serde_json::Value = params.parse().ok()?;
    let version = value.get("_meta")?.get("io.modelcontextprotocol/protocolVersion")?;
    version.as_str().map(str::to_owned)
}

/// The parameter [`named_parameter`] names in `params`, when it is a string (what `Mcp-Name`
/// must equal).
pub fn named_parameter_value(method: &str, params: Option<&RawJson>) -> Option<String> {
    let key = named_parameter(method)?;
    let value: serde_json::Value = params?.parse().ok()?;
    value.get(key)?.as_str().map(str::to_owned)
}

/// The HTTP status of a 2026-07-28 response whose body is the JSON-RPC error `code` (a
/// response stream that already began is 200 whatever it ends with): 404 for -32601 (method
/// not found: how a client tells a modern server from an old one), 400 for the errors that
/// say the request itself is wrong (-32700, -32600, -32602, -32020 header mismatch, -32021
/// missing client capability, -32022 unsupported version), 500 for -32603 (internal error),
/// and 200 for any other code: an application error the handler chose is an answer.
pub fn error_status(code: i64) -> u16 {
    match code {
        -32601 => 404,
        -32700 | -32600 | -32602 | -32020 | -32021 | -32022 => 400,
        -32603 => 500,
        _ => 200,
    }
}

/// What a message the session writes is to the 2026-07-28 POST that carried `request`, on
/// that POST's own short-lived session: see [`stateless_output`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatelessOutput {
    /// The answer: the last message of the response.
    Answer,
    /// A notification about the request (progress, a log, a listen's notification): on the
    /// response stream before the answer.
    Related,
    /// Anything else (a server request, which 2026-07-28 has none of, or an answer to another
    /// id): not sent.
    Unrelated,
}

/// Sorts what the session of a 2026-07-28 POST writes: the answer to `request` ends the
/// response, notifications ride on it before, and nothing else leaves (the session serves this
/// one request, so every notification it writes is about it).
pub fn stateless_output(message: &Message, request: &RequestId) -> StatelessOutput {
    match message {
        Message::Result(result) if &result.id == request => StatelessOutput::Answer,
        Message::Error(error) if error.id.as_ref() == Some(request) => StatelessOutput::Answer,
        Message::Notification(_) => StatelessOutput::Related,
        _ => StatelessOutput::Unrelated,
    }
}

/// Checks the SEP-2243 `Mcp-Param-{Name}` headers of a `tools/call` against its arguments,
/// by the tool's `input_schema` annotations as [`ParamHeaders`] reads them (the client's rules,
/// [`ParamHeaders::check`]); `header` looks one up by its lower-case name,
/// `mcp-param-{name}`. A tool whose annotations are invalid mirrors nothing (clients leave it
/// out of their lists, so none calls it with headers).
pub fn check_param_headers<'h>(
    input_schema: &serde_json::Map<String, serde_json::Value>,
    arguments: Option<&serde_json::Value>,
    header: impl Fn(&str) -> Option<&'h str>,
) -> Result<(), HeaderMismatch> {
    let Ok(params) = ParamHeaders::from_input_schema(input_schema) else { return Ok(()) };
    params
        .check(arguments, |name| header(&name.to_ascii_lowercase()))
        .map_err(|_| HeaderMismatch::Param)
}

/// Where a message the session writes goes, in a legacy-era HTTP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The response stream of the open POST `stream`; `last` when the message is that
    /// request's answer (the stream ends after it).
    Request {
        /// The POST's stream.
        stream: u64,
        /// Whether this is the answer that ends it.
        last: bool,
    },
    /// The session's standalone stream (the GET), buffered while none is open.
    Standalone,
}

/// Routes what a session writes to the HTTP streams open on it: a response to the POST that
/// carried its request, a progress notification to the POST whose request gave its
/// `progressToken`, everything else to the standalone stream.
///
/// Logs and server requests a handler sends about its request (`ctx.log`, `ctx.elicit`,
/// `ctx.list_roots`, `ctx.create_message`) are related to that request but carry nothing that
/// names it; the driver routes them with [`OutgoingRouter::route_related`], given the request
/// id the handler's context knows.
#[derive(Debug, Default)]
pub struct OutgoingRouter {
    next_stream: u64,
    by_id: HashMap<RequestId, u64>,
    by_progress_token: HashMap<String, u64>,
    tokens_of: HashMap<u64, Option<String>>,
}

impl OutgoingRouter {
    /// An empty router.
    pub fn new() -> OutgoingRouter {
        OutgoingRouter::default()
    }

    /// A POST carried `request`: opens its response stream. `None` when a request with the same
    /// id is already open (answer the POST with an error instead of mixing two answers).
    pub fn open(&mut self, request: &Request) -> Option<u64> {
        if self.by_id.contains_key(&request.id) {
            return None;
        }
        self.next_stream += 1;
        let stream = self.next_stream;
        self.by_id.insert(request.id.clone(), stream);
        let token = request.params.as_ref().and_then(|params| progress_token(params, true));
        if let Some(token) = &token {
            self.by_progress_token.insert(token.clone(), stream);
        }
        self.tokens_of.insert(stream, token);
        Some(stream)
    }

    /// Where `message` goes. A response ends its stream's routing entries.
    pub fn route(&mut self, message: &Message) -> Destination {
        let answered = match message {
            Message::Result(result) => Some(&result.id),
            Message::Error(error) => error.id.as_ref(),
            Message::Notification(notification)
                if notification.method == "notifications/progress" =>
            {
                let stream = notification
                    .params
                    .as_ref()
                    .and_then(|params| progress_token(params, false))
                    .and_then(|token| self.by_progress_token.get(&token).copied());
                return match stream {
                    Some(stream) => Destination::Request { stream, last: false },
                    None => Destination::Standalone,
                };
            }
            _ => None,
        };
        match answered.and_then(|id| self.by_id.remove(id)) {
            Some(stream) => {
                if let Some(Some(token)) = self.tokens_of.remove(&stream) {
                    self.by_progress_token.remove(&token);
                }
                Destination::Request { stream, last: true }
            }
            None => Destination::Standalone,
        }
    }

    /// Where a message related to the request `related` goes (a handler's log or server
    /// request): that request's stream while it is open, else the standalone stream.
    pub fn route_related(&self, related: &RequestId) -> Destination {
        match self.by_id.get(related) {
            Some(&stream) => Destination::Request { stream, last: false },
            None => Destination::Standalone,
        }
    }

    /// The client dropped the POST's stream before the answer (not a cancellation): later
    /// messages of that request go to the standalone stream.
    pub fn abandon(&mut self, stream: u64) {
        self.by_id.retain(|_, open| *open != stream);
        if let Some(Some(token)) = self.tokens_of.remove(&stream) {
            self.by_progress_token.remove(&token);
        }
    }
}

/// A progress token as compact JSON text (tokens are strings or numbers; the text keeps `1`
/// and `"1"` apart): a request's `_meta.progressToken` (`in_meta`), or the `progressToken` at
/// the top of a progress notification's params.
fn progress_token(params: &RawJson, in_meta: bool) -> Option<String> {
    let value: serde_json::Value = params.parse().ok()?;
    let holder = if in_meta { value.get("_meta")? } else { &value };
    let token = holder.get("progressToken")?;
    (token.is_string() || token.is_number()).then(|| token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }

    fn limits(max_sessions: usize, idle_secs: u64) -> SessionLimits {
        SessionLimits::new(max_sessions, Duration::from_secs(idle_secs))
    }

    #[test]
    fn session_ids_are_hex_of_the_random_bytes() {
        let mut table = HttpSessions::new(SessionLimits::default());
        let id = table.create(at(0), [0xab; 16], ()).unwrap();
        assert_eq!(id, "ab".repeat(16));
        assert!(is_session_id(&id));
        assert!(!is_session_id("AB"));
        assert!(!is_session_id(&"g".repeat(32)));
        assert_eq!(session_node(&id), None);
    }

    #[test]
    fn a_node_names_itself_in_every_session_id_it_mints() {
        let node = NodeId::new("node-b_2").unwrap();
        let mut table = HttpSessions::new(SessionLimits::default()).with_node(Some(node.clone()));
        let id = table.create(at(0), [0xab; 16], ()).unwrap();
        assert_eq!(id, format!("node-b_2.{}", "ab".repeat(16)));
        assert!(is_session_id(&id));
        assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)), "visible ASCII: {id}");
        assert_eq!(session_node(&id), Some("node-b_2"));
        assert!(table.touch(&id, at(1)).is_some());
        // Two random parts make two ids; the node part alone finds nothing.
        let other = table.create(at(0), [0xcd; 16], ()).unwrap();
        assert_ne!(id, other);
        assert!(table.touch("node-b_2", at(1)).is_none());
        // Malformed: a node part that is not a node name, or a random part that is not 32 hex.
        for forged in [
            format!("no/de.{}", "ab".repeat(16)),
            format!(".{}", "ab".repeat(16)),
            format!("{}.{}", "n".repeat(NodeId::MAX_LEN + 1), "ab".repeat(16)),
            "node.abc".to_string(),
            format!("a.b.{}", "ab".repeat(16)),
        ] {
            assert!(!is_session_id(&forged), "{forged}");
            assert_eq!(session_node(&forged), None, "{forged}");
        }
    }

    #[test]
    fn node_names_are_short_tokens() {
        assert_eq!(NodeId::new("a").unwrap().as_str(), "a");
        assert_eq!(NodeId::new(&"z".repeat(NodeId::MAX_LEN)).unwrap().as_str().len(), 32);
        assert_eq!(NodeId::new(""), Err(InvalidNodeId::Empty));
        assert_eq!(NodeId::new(&"z".repeat(33)), Err(InvalidNodeId::TooLong { len: 33 }));
        assert_eq!(NodeId::new("a.b"), Err(InvalidNodeId::Character('.')));
        assert_eq!(NodeId::new("a b"), Err(InvalidNodeId::Character(' ')));
        assert_eq!(NodeId::new("nöde"), Err(InvalidNodeId::Character('ö')));
        assert!("node-1".parse::<NodeId>().is_ok());
        assert!(InvalidNodeId::Character('.').to_string().contains("A-Z"));
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
    fn a_priming_position_resumes_with_everything_after_it_and_retains_nothing() {
        let mut buffer = ReplayBuffer::new(2);
        buffer.push(1, "other".into());
        let priming = buffer.position(0);
        assert_eq!(buffer.resume(&priming), Ok((0, vec![])));
        buffer.push(0, "a".into());
        let data: Vec<String> =
            buffer.resume(&priming).unwrap().1.into_iter().map(|e| e.data).collect();
        assert_eq!(data, ["a"]);
        buffer.push(0, "b".into());
        buffer.push(0, "c".into()); // evicts "a"
        assert_eq!(buffer.resume(&priming), Err(ResumeError::Evicted));
    }

    #[test]
    fn sessions_in_use_are_kept_and_idle_ones_end_at_lookup() {
        let mut table = HttpSessions::new(limits(4, 10));
        let busy = table.create(at(0), [1; 16], true).unwrap();
        let idle = table.create(at(0), [2; 16], false).unwrap();
        assert_eq!(table.expire_unless(at(10), |in_use| *in_use), vec![(idle, false)]);
        assert_eq!(table.next_expiry(), Some(at(20)), "the busy one counts as active now");
        assert_eq!(table.end_if_idle(&busy, at(19)), None);
        assert_eq!(table.end_if_idle(&busy, at(20)), Some(true));
        assert!(table.is_empty());
    }

    #[test]
    fn ids_not_given_out_are_malformed() {
        let mut buffer = ReplayBuffer::new(2);
        buffer.push(0, "a".into());
        for id in ["", "0", "0-", "-1", "0-x", "0-5", "a-1", "0-1-2"] {
            assert_eq!(buffer.resume(id), Err(ResumeError::Malformed), "{id:?}");
        }
    }

    fn view(method: &'static str) -> HttpRequestView<'static> {
        HttpRequestView {
            method,
            accept: Some("application/json, text/event-stream"),
            content_type: Some("application/json"),
            ..HttpRequestView::default()
        }
    }

    const SESSION: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn every_refusal_of_the_route_table_gets_its_status() {
        let all = &ProtocolVersion::ALL;
        let status = |v: HttpRequestView<'static>| route(&v, all).map_err(|r| (r.status, r.allow));
        assert_eq!(status(view("PUT")), Err((405, Some("GET, POST, DELETE"))));
        let bad_version = HttpRequestView { protocol_version: Some("1999-01-01"), ..view("GET") };
        assert_eq!(status(bad_version), Err((400, None)));
        let unsupported = route(
            &HttpRequestView {
                protocol_version: Some("2025-03-26"),
                session_id: Some(SESSION),
                ..view("POST")
            },
            &[ProtocolVersion::V2025_11_25],
        );
        assert_eq!(unsupported.unwrap_err().status, 400);
        let text = HttpRequestView { content_type: Some("text/plain"), ..view("POST") };
        assert_eq!(status(text), Err((415, None)));
        let html = HttpRequestView { accept: Some("text/html"), ..view("POST") };
        assert_eq!(status(html), Err((406, None)));
        let get_json = HttpRequestView { accept: Some("application/json"), ..view("GET") };
        assert_eq!(status(get_json), Err((406, None)));
        assert_eq!(status(view("GET")), Err((400, None)), "a legacy GET needs its session");
        assert_eq!(status(view("DELETE")), Err((400, None)));
        let modern = HttpRequestView { protocol_version: Some("2026-07-28"), ..view("DELETE") };
        assert_eq!(status(modern), Err((405, Some("POST"))));
        let forged = HttpRequestView { session_id: Some("../etc"), ..view("POST") };
        assert_eq!(status(forged), Err((404, None)));
    }

    #[test]
    fn accepted_requests_are_routed() {
        let all = &ProtocolVersion::ALL;
        assert_eq!(route(&view("POST"), all), Ok(HttpRoute::PostWithoutSession));
        // A sessionless POST naming a version we do not speak is a 2026-07-28 request: its
        // body is read and it is answered -32022 with the supported list, not a bare 400.
        let unknown = HttpRequestView { protocol_version: Some("2099-01-01"), ..view("POST") };
        assert_eq!(route(&unknown, all), Ok(HttpRoute::PostWithoutSession));
        let charset = HttpRequestView {
            content_type: Some("Application/JSON; charset=utf-8"),
            accept: None,
            ..view("POST")
        };
        assert_eq!(route(&charset, all), Ok(HttpRoute::PostWithoutSession));
        let in_session = HttpRequestView {
            session_id: Some(SESSION),
            protocol_version: Some("2025-11-25"),
            ..view("POST")
        };
        assert_eq!(route(&in_session, all), Ok(HttpRoute::PostInSession { session_id: SESSION }));
        let resume = HttpRequestView {
            accept: Some("text/event-stream"),
            session_id: Some(SESSION),
            last_event_id: Some("0-3"),
            ..view("GET")
        };
        assert_eq!(
            route(&resume, all),
            Ok(HttpRoute::OpenStream { session_id: SESSION, last_event_id: Some("0-3") })
        );
        let delete = HttpRequestView { session_id: Some(SESSION), ..view("DELETE") };
        assert_eq!(route(&delete, all), Ok(HttpRoute::EndSession { session_id: SESSION }));
        let on_node = "node-2.0123456789abcdef0123456789abcdef";
        let routed = HttpRequestView { session_id: Some(on_node), ..view("POST") };
        assert_eq!(route(&routed, all), Ok(HttpRoute::PostInSession { session_id: on_node }));
    }

    #[test]
    fn accept_ranges_and_quality_zero() {
        assert!(accepts("*/*", "text/event-stream"));
        assert!(accepts("text/*", "text/event-stream"));
        assert!(accepts("application/json;q=0.5", "application/json"));
        assert!(!accepts("application/json;q=0", "application/json"));
        assert!(!accepts("application/jsonx", "application/json"));
    }

    #[test]
    fn standard_headers_must_match_the_body() {
        let check = |m, n, v| {
            check_standard_headers(m, n, v, "tools/call", Some("echo"), Some("2026-07-28"))
        };
        let version = Some("2026-07-28");
        assert_eq!(check(Some("tools/call"), Some("  echo  "), version), Ok(()));
        assert_eq!(check(None, Some("echo"), version), Err(HeaderMismatch::Method));
        assert_eq!(check(Some("TOOLS/CALL"), Some("echo"), version), Err(HeaderMismatch::Method));
        assert_eq!(check(Some("tools/call"), None, version), Err(HeaderMismatch::Name));
        assert_eq!(check(Some("tools/call"), Some("other"), version), Err(HeaderMismatch::Name));
        assert_eq!(
            check(Some("tools/call"), Some("echo"), Some("2025-11-25")),
            Err(HeaderMismatch::ProtocolVersion)
        );
        let list = check_standard_headers(Some("tools/list"), None, None, "tools/list", None, None);
        assert_eq!(list, Ok(()), "tools/list carries no Mcp-Name");
    }

    #[test]
    fn a_sessionless_post_is_modern_when_its_header_or_its_meta_names_a_non_legacy_version() {
        let list = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        let stamped = parse(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        let initialize = parse(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#,
        );
        assert_eq!(sessionless_post_era(None, &list), Era::Legacy);
        assert_eq!(sessionless_post_era(None, &initialize), Era::Legacy);
        assert_eq!(sessionless_post_era(Some("2025-11-25"), &initialize), Era::Legacy);
        assert_eq!(sessionless_post_era(Some(" 2026-07-28 "), &list), Era::Modern);
        assert_eq!(sessionless_post_era(Some("2099-01-01"), &initialize), Era::Modern);
        assert_eq!(sessionless_post_era(None, &stamped), Era::Modern);
        assert_eq!(sessionless_post_era(Some("2025-11-25"), &stamped), Era::Modern);
    }

    #[test]
    fn the_named_parameter_and_the_meta_version_are_read_from_the_params() {
        let params = RawJson::from_serialize(&serde_json::json!({
            "name": "echo", "uri": 5,
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
        }))
        .unwrap();
        assert_eq!(named_parameter_value("tools/call", Some(&params)).as_deref(), Some("echo"));
        assert_eq!(named_parameter_value("resources/read", Some(&params)), None, "not a string");
        assert_eq!(named_parameter_value("tools/list", Some(&params)), None);
        assert_eq!(meta_protocol_version(&params).as_deref(), Some("2026-07-28"));
        let bare = RawJson::from_serialize(&serde_json::json!({})).unwrap();
        assert_eq!(meta_protocol_version(&bare), None);
    }

    #[test]
    fn error_statuses_of_2026_07_28_answers() {
        assert_eq!(error_status(-32601), 404);
        for code in [-32700, -32600, -32602, -32020, -32021, -32022] {
            assert_eq!(error_status(code), 400, "{code}");
        }
        assert_eq!(error_status(-32603), 500);
        assert_eq!(error_status(-32002), 200, "an application error is an answer");
        assert_eq!(error_status(1), 200);
    }

    #[test]
    fn a_stateless_post_gets_its_answer_and_notifications_only() {
        let id = RequestId::from(7i64);
        let answer = parse(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
        let error = parse(r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"no"}}"#);
        let other = parse(r#"{"jsonrpc":"2.0","id":"7","result":{}}"#);
        let progress = parse(
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}"#,
        );
        let server_request = parse(r#"{"jsonrpc":"2.0","id":1,"method":"roots/list"}"#);
        assert_eq!(stateless_output(&answer, &id), StatelessOutput::Answer);
        assert_eq!(stateless_output(&error, &id), StatelessOutput::Answer);
        assert_eq!(stateless_output(&other, &id), StatelessOutput::Unrelated);
        assert_eq!(stateless_output(&progress, &id), StatelessOutput::Related);
        assert_eq!(stateless_output(&server_request, &id), StatelessOutput::Unrelated);
    }

    #[test]
    fn param_headers_mirror_the_arguments_marked_x_mcp_header() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "region": { "type": "string", "x-mcp-header": "Region" },
                "count": { "type": "integer", "x-mcp-header": "Count" },
                "note": { "type": "string" }
            }
        });
        let schema = schema.as_object().unwrap();
        let arguments = serde_json::json!({ "region": "Hello", "count": 3, "note": "x" });
        let check = |headers: &[(&'static str, &'static str)]| {
            let headers = headers.to_vec();
            check_param_headers(schema, Some(&arguments), move |name| {
                headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
            })
        };
        assert_eq!(check(&[("mcp-param-region", "Hello"), ("mcp-param-count", "3")]), Ok(()));
        assert_eq!(
            check(&[("mcp-param-region", " =?base64?SGVsbG8=?= "), ("mcp-param-count", "3")]),
            Ok(())
        );
        let mismatch = Err(HeaderMismatch::Param);
        assert_eq!(check(&[("mcp-param-count", "3")]), mismatch, "omitted");
        assert_eq!(check(&[("mcp-param-region", "Bye"), ("mcp-param-count", "3")]), mismatch);
        assert_eq!(check(&[("mcp-param-region", "Hello"), ("mcp-param-count", "4")]), mismatch);
        for bad in ["=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?="] {
            assert_eq!(
                check(&[("mcp-param-region", bad), ("mcp-param-count", "3")]),
                mismatch,
                "{bad}"
            );
        }
        let without_region = serde_json::json!({ "count": 3 });
        let headers = |name: &str| match name {
            "mcp-param-count" => Some("3"),
            "mcp-param-region" => Some("Hello"),
            _ => None,
        };
        assert_eq!(check_param_headers(schema, Some(&without_region), headers), mismatch);
        // A nested annotated property is checked too (the client mirrors it).
        let nested = serde_json::json!({"type": "object", "properties": {"where": {
            "type": "object",
            "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}
        }}});
        let arguments = serde_json::json!({"where": {"zone": "eu"}});
        let zone =
            |value: &'static str| move |name: &str| (name == "mcp-param-zone").then_some(value);
        let nested = nested.as_object().unwrap();
        assert_eq!(check_param_headers(nested, Some(&arguments), zone("eu")), Ok(()));
        assert_eq!(check_param_headers(nested, Some(&arguments), zone("us")), mismatch);
        let decode = crate::param_headers::decode_header_value;
        assert_eq!(decode("=?base64?SGVsbG8="), Some("=?base64?SGVsbG8=".into()));
        assert_eq!(decode("SGVsbG8="), Some("SGVsbG8=".into()), "literal");
    }

    fn parse(text: &str) -> Message {
        match crate::decode(text, &crate::Limits::default()) {
            Ok(crate::Frame::Single(message)) => message,
            other => panic!("not one message: {other:?}"),
        }
    }

    fn request(text: &str) -> Request {
        match parse(text) {
            Message::Request(request) => request,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn answers_and_progress_go_to_their_post_and_the_rest_to_the_standalone_stream() {
        let mut router = OutgoingRouter::new();
        let call = request(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p"}}}"#,
        );
        let other = request(r#"{"jsonrpc":"2.0","id":"7","method":"tools/list"}"#);
        let call_stream = router.open(&call).unwrap();
        let other_stream = router.open(&other).unwrap();
        assert_ne!(call_stream, other_stream, "7 and \"7\" are different ids");
        assert_eq!(router.open(&call), None, "a duplicate id is refused");
        let progress = parse(
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":1}}"#,
        );
        assert_eq!(
            router.route(&progress),
            Destination::Request { stream: call_stream, last: false }
        );
        let changed = parse(r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#);
        assert_eq!(router.route(&changed), Destination::Standalone);
        let roots = parse(r#"{"jsonrpc":"2.0","id":1,"method":"roots/list"}"#);
        assert_eq!(router.route(&roots), Destination::Standalone);
        assert_eq!(
            router.route_related(&call.id),
            Destination::Request { stream: call_stream, last: false }
        );
        let answer = parse(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
        assert_eq!(router.route(&answer), Destination::Request { stream: call_stream, last: true });
        assert_eq!(router.route(&progress), Destination::Standalone, "the stream has ended");
        assert_eq!(router.route_related(&call.id), Destination::Standalone);
        let error = parse(r#"{"jsonrpc":"2.0","id":"7","error":{"code":-1,"message":"no"}}"#);
        assert_eq!(router.route(&error), Destination::Request { stream: other_stream, last: true });
    }

    #[test]
    fn an_abandoned_stream_routes_nothing() {
        let mut router = OutgoingRouter::new();
        let call = request(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":5}}}"#,
        );
        let stream = router.open(&call).unwrap();
        router.abandon(stream);
        let progress = parse(
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":5,"progress":1}}"#,
        );
        assert_eq!(router.route(&progress), Destination::Standalone);
        let answer = parse(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
        assert_eq!(router.route(&answer), Destination::Standalone);
    }
}
