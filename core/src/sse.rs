//! Server-Sent Events, sans-IO: the event-stream encoder and an incremental, bounded decoder.
//!
//! Streamable HTTP carries server-to-client JSON-RPC messages as an SSE stream
//! (`text/event-stream`). This module owns the wire format and nothing else: [`SseEvent::encode`]
//! writes one event (an `id:` line, an `event:` line, one `data:` line per line of the data and
//! a `retry:` line, then the blank line that ends it), [`encode_comment`] writes a comment (the
//! keep-alive), and [`SseDecoder`] reads a stream fed in arbitrary byte chunks and yields the
//! events it completes, following the WHATWG parsing rules (CR, LF or CRLF line ends, one
//! leading space after the colon dropped, comments and unknown fields ignored, an event with no
//! `data` line not dispatched, a leading byte order mark dropped).
//!
//! The decoder is bounded: a line longer than [`SseLimits::max_line_bytes`] or an event whose
//! fields add up to more than [`SseLimits::max_event_bytes`] is an [`SseError`], reported as soon
//! as the bound is crossed (a peer cannot make it buffer without limit by never ending a line),
//! and every later call reports it again.

use std::collections::VecDeque;
use std::fmt;

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id` field given in this event's block, if any. (The id a stream resumes from is
    /// [`SseDecoder::last_event_id`], which persists across events as the WHATWG rules say.)
    pub id: Option<String>,
    /// The event type (`event` field); `None` means the default type, `message`.
    pub event: Option<String>,
    /// The data: the `data` lines joined with `\n`.
    pub data: String,
    /// The reconnection time in milliseconds given in this event's block (`retry` field), if any.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// An event of the default type carrying `data`, with no id and no retry.
    pub fn new(data: impl Into<String>) -> SseEvent {
        SseEvent { data: data.into(), ..SseEvent::default() }
    }

    /// Sets the event id.
    pub fn with_id(mut self, id: impl Into<String>) -> SseEvent {
        self.id = Some(id.into());
        self
    }

    /// Sets the event type.
    pub fn with_event(mut self, event: impl Into<String>) -> SseEvent {
        self.event = Some(event.into());
        self
    }

    /// Sets the reconnection time hint, in milliseconds.
    pub fn with_retry(mut self, retry_ms: u64) -> SseEvent {
        self.retry = Some(retry_ms);
        self
    }

    /// Appends this event's wire form to `out`.
    ///
    /// The data is split on CRLF, CR and LF, one `data:` line each, so any data round-trips
    /// (with CRLF and CR read back as LF). The id must not contain CR, LF or NUL and the event
    /// type must not contain CR or LF (they cannot be represented); `out` is left untouched
    /// then. An empty event type is not written (it means the default type).
    pub fn encode(&self, out: &mut String) -> Result<(), SseEncodeError> {
        if let Some(id) = &self.id {
            if id.contains(['\r', '\n', '\0']) {
                return Err(SseEncodeError::InvalidId);
            }
        }
        if let Some(event) = &self.event {
            if event.contains(['\r', '\n']) {
                return Err(SseEncodeError::InvalidEventType);
            }
        }
        out.reserve(self.data.len() + 16);
        if let Some(id) = &self.id {
            push_field(out, "id", id);
        }
        if let Some(event) = self.event.as_deref().filter(|e| !e.is_empty()) {
            push_field(out, "event", event);
        }
        if let Some(retry) = self.retry {
            out.push_str("retry: ");
            out.push_str(&retry.to_string());
            out.push('\n');
        }
        for line in split_lines(&self.data) {
            push_field(out, "data", line);
        }
        out.push('\n');
        Ok(())
    }

    /// This event's wire form as a new string (see [`SseEvent::encode`]).
    pub fn to_wire(&self) -> Result<String, SseEncodeError> {
        let mut out = String::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Appends a comment block (the keep-alive of an idle stream) to `out`: one `:` line per line of
/// `text`, then a blank line. Decoders ignore it.
pub fn encode_comment(text: &str, out: &mut String) {
    for line in split_lines(text) {
        out.push(':');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push('\n');
}

fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push(':');
    if !value.is_empty() {
        out.push(' ');
        out.push_str(value);
    }
    out.push('\n');
}

/// Splits on CRLF, CR and LF; an empty string is one empty line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(current)
            }
            Some(at) => {
                let skip = if current[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
        }
    })
}

/// Why an event could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseEncodeError {
    /// The id contains CR, LF or NUL.
    InvalidId,
    /// The event type contains CR or LF.
    InvalidEventType,
}

impl fmt::Display for SseEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseEncodeError::InvalidId => {
                f.write_str("an SSE event id cannot contain CR, LF or NUL")
            }
            SseEncodeError::InvalidEventType => {
                f.write_str("an SSE event type cannot contain CR or LF")
            }
        }
    }
}

impl std::error::Error for SseEncodeError {}

/// Bounds of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseLimits {
    /// The longest line accepted, in bytes, without its line end.
    pub max_line_bytes: usize,
    /// The most bytes one event's fields (data, id, event type) may add up to.
    pub max_event_bytes: usize,
}

impl SseLimits {
    /// The default line bound: the default message size limit plus room for the `data: ` prefix.
    pub const DEFAULT_MAX_LINE_BYTES: usize = crate::Limits::DEFAULT_MAX_MESSAGE_BYTES + 64;
    /// The default event bound: the default message size limit plus room for the other fields.
    pub const DEFAULT_MAX_EVENT_BYTES: usize = crate::Limits::DEFAULT_MAX_MESSAGE_BYTES + 1024;

    /// Limits that admit one message of up to `max_message_bytes` per event.
    pub fn for_message_size(max_message_bytes: usize) -> SseLimits {
        SseLimits {
            max_line_bytes: max_message_bytes.saturating_add(64),
            max_event_bytes: max_message_bytes.saturating_add(1024),
        }
    }
}

impl Default for SseLimits {
    fn default() -> Self {
        SseLimits {
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// Why a stream could not be decoded. The decoder stays failed: the stream should be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseError {
    /// A line exceeded [`SseLimits::max_line_bytes`].
    LineTooLong {
        /// The bound that was crossed.
        limit: usize,
    },
    /// An event exceeded [`SseLimits::max_event_bytes`].
    EventTooLarge {
        /// The bound that was crossed.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => {
                write!(f, "an SSE line is longer than the limit of {limit} bytes")
            }
            SseError::EventTooLarge { limit } => {
                write!(f, "an SSE event is larger than the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// The incremental event-stream decoder: [`feed`](SseDecoder::feed) bytes as they arrive, then
/// take completed events with [`poll_event`](SseDecoder::poll_event).
#[derive(Debug)]
pub struct SseDecoder {
    limits: SseLimits,
    /// The bytes of the line being read (no line end yet).
    line: Vec<u8>,
    /// The last byte seen was a CR ending a line: a LF right after it belongs to that line end.
    after_cr: bool,
    /// No line has been completed yet (a leading byte order mark is dropped).
    at_start: bool,
    data: String,
    has_data: bool,
    event: String,
    block_id: Option<String>,
    block_retry: Option<u64>,
    last_event_id: String,
    last_retry: Option<u64>,
    ready: VecDeque<SseEvent>,
    failed: Option<SseError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(SseLimits::default())
    }
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new(limits: SseLimits) -> SseDecoder {
        SseDecoder {
            limits,
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            data: String::new(),
            has_data: false,
            event: String::new(),
            block_id: None,
            block_retry: None,
            last_event_id: String::new(),
            last_retry: None,
            ready: VecDeque::new(),
            failed: None,
        }
    }

    /// Reads the next chunk of the stream. Completed events queue up for
    /// [`poll_event`](SseDecoder::poll_event) (events completed before an error stay
    /// available).
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), SseError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        while !chunk.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if chunk[0] == b'\n' {
                    chunk = &chunk[1..];
                    continue;
                }
            }
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.extend_line(chunk)?;
                    chunk = &[];
                }
                Some(at) => {
                    self.extend_line(&chunk[..at])?;
                    if chunk[at] == b'\r' {
                        self.after_cr = true;
                    }
                    chunk = &chunk[at + 1..];
                    let line = std::mem::take(&mut self.line);
                    let result = self.process_line(&line);
                    self.line = line;
                    self.line.clear();
                    result?;
                }
            }
        }
        Ok(())
    }

    /// The next completed event, oldest first.
    pub fn poll_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// The last event id the stream set (WHATWG: it persists across events and is what a client
    /// sends as `Last-Event-ID` to resume); empty when none was set.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The last reconnection time hint the stream gave, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.last_retry
    }

    /// Whether the decoder holds part of an unfinished line or event (which is discarded if the
    /// stream ends now).
    pub fn is_mid_event(&self) -> bool {
        !self.line.is_empty()
            || self.has_data
            || !self.event.is_empty()
            || self.block_id.is_some()
            || self.block_retry.is_some()
    }

    fn fail(&mut self, error: SseError) -> SseError {
        self.failed = Some(error);
        self.line = Vec::new();
        self.data = String::new();
        error
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.limits.max_line_bytes {
            return Err(self.fail(SseError::LineTooLong { limit: self.limits.max_line_bytes }));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn event_bytes(&self) -> usize {
        self.data.len() + self.event.len() + self.block_id.as_ref().map_or(0, String::len)
    }

    fn process_line(&mut self, mut line: &[u8]) -> Result<(), SseError> {
        if self.at_start {
            self.at_start = false;
            if let Some(rest) = line.strip_prefix(b"\xEF\xBB\xBF") {
                line = rest;
            }
        }
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match name {
            b"data" => {
                let added = value.len() + usize::from(self.has_data);
                if self.event_bytes() + added > self.limits.max_event_bytes {
                    return Err(
                        self.fail(SseError::EventTooLarge { limit: self.limits.max_event_bytes })
                    );
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"event" => {
                if self.event_bytes() - self.event.len() + value.len() > self.limits.max_event_bytes
                {
                    return Err(
                        self.fail(SseError::EventTooLarge { limit: self.limits.max_event_bytes })
                    );
                }
                self.event = value.into_owned();
            }
            b"id" if !value.contains('\0') => {
                let old = self.block_id.as_ref().map_or(0, String::len);
                if self.event_bytes() - old + value.len() > self.limits.max_event_bytes {
                    return Err(
                        self.fail(SseError::EventTooLarge { limit: self.limits.max_event_bytes })
                    );
                }
                self.last_event_id = value.to_string();
                self.block_id = Some(value.into_owned());
            }
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.block_retry = Some(ms);
                    self.last_retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self) {
        let event = std::mem::take(&mut self.event);
        let id = self.block_id.take();
        let retry = self.block_retry.take();
        let data = std::mem::take(&mut self.data);
        if !std::mem::replace(&mut self.has_data, false) {
            return;
        }
        self.ready.push_back(SseEvent {
            id,
            event: if event.is_empty() { None } else { Some(event) },
            data,
            retry,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::default();
        decoder.feed(input).unwrap();
        std::iter::from_fn(|| decoder.poll_event()).collect()
    }

    #[test]
    fn encodes_every_field_and_splits_data_lines() {
        let event =
            SseEvent::new("one\ntwo\r\nthree").with_id("7").with_event("message").with_retry(3000);
        assert_eq!(
            event.to_wire().unwrap(),
            "id: 7\nevent: message\nretry: 3000\ndata: one\ndata: two\ndata: three\n\n"
        );
        assert_eq!(SseEvent::new("").to_wire().unwrap(), "data:\n\n");
    }

    #[test]
    fn refuses_unrepresentable_fields() {
        assert_eq!(SseEvent::new("x").with_id("a\nb").to_wire(), Err(SseEncodeError::InvalidId));
        assert_eq!(SseEvent::new("x").with_id("a\0b").to_wire(), Err(SseEncodeError::InvalidId));
        assert_eq!(
            SseEvent::new("x").with_event("a\rb").to_wire(),
            Err(SseEncodeError::InvalidEventType)
        );
    }

    #[test]
    fn comments_are_ignored_by_the_decoder() {
        let mut wire = String::new();
        encode_comment("keep-alive", &mut wire);
        assert_eq!(wire, ": keep-alive\n\n");
        wire.push_str(&SseEvent::new("x").to_wire().unwrap());
        assert_eq!(decode_all(wire.as_bytes()), vec![SseEvent::new("x")]);
    }

    #[test]
    fn decodes_the_whatwg_line_forms() {
        let input =
            b"\xEF\xBB\xBFdata:no space\r\ndata:  two spaces\revent:ping\nid\n\nfoo: bar\n\n";
        let events = decode_all(input);
        assert_eq!(
            events,
            vec![SseEvent {
                id: Some(String::new()),
                event: Some("ping".into()),
                data: "no space\n two spaces".into(),
                retry: None,
            }]
        );
    }

    #[test]
    fn an_event_without_data_is_not_dispatched_but_sets_the_id_and_retry() {
        let mut decoder = SseDecoder::default();
        decoder.feed(b"id: 5\nretry: 1500\n\nretry: x\n\n").unwrap();
        assert_eq!(decoder.poll_event(), None);
        assert_eq!(decoder.last_event_id(), "5");
        assert_eq!(decoder.retry(), Some(1500));
        decoder.feed(b"data: a\n\n").unwrap();
        let event = decoder.poll_event().unwrap();
        assert_eq!(event.id, None, "the id field belongs to the block that gave it");
        assert_eq!(decoder.last_event_id(), "5", "the last event id persists");
    }

    #[test]
    fn an_empty_data_field_is_an_event_with_empty_data() {
        // The priming event of a resumable stream.
        let events = decode_all(b"id: 0\ndata:\n\n");
        assert_eq!(events, vec![SseEvent::new("").with_id("0")]);
    }

    #[test]
    fn id_with_nul_is_ignored() {
        let events = decode_all(b"id: a\0b\ndata: x\n\n");
        assert_eq!(events, vec![SseEvent::new("x")]);
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let mut decoder = SseDecoder::default();
        decoder.feed(b"data: a\r").unwrap();
        decoder.feed(b"\ndata: b\r").unwrap();
        decoder.feed(b"\n\r").unwrap();
        decoder.feed(b"\n").unwrap();
        assert_eq!(decoder.poll_event(), Some(SseEvent::new("a\nb")));
        assert_eq!(decoder.poll_event(), None);
        assert!(!decoder.is_mid_event());
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        let mut decoder = SseDecoder::default();
        decoder.feed(b"data: a\n").unwrap();
        assert_eq!(decoder.poll_event(), None);
        assert!(decoder.is_mid_event());
    }

    #[test]
    fn a_line_over_the_bound_fails_before_it_ends() {
        let mut decoder = SseDecoder::new(SseLimits { max_line_bytes: 16, max_event_bytes: 1000 });
        decoder.feed(b"data: 0123456789").unwrap();
        assert_eq!(decoder.feed(b"x"), Err(SseError::LineTooLong { limit: 16 }));
        assert_eq!(decoder.feed(b"\n\n"), Err(SseError::LineTooLong { limit: 16 }), "stays failed");
    }

    #[test]
    fn an_event_over_the_bound_fails() {
        let mut decoder = SseDecoder::new(SseLimits { max_line_bytes: 100, max_event_bytes: 10 });
        decoder.feed(b"data: 01234\n").unwrap();
        assert_eq!(decoder.feed(b"data: 56789\n"), Err(SseError::EventTooLarge { limit: 10 }));
    }

    #[test]
    fn events_before_an_error_stay_available() {
        let mut decoder = SseDecoder::new(SseLimits { max_line_bytes: 8, max_event_bytes: 100 });
        assert!(decoder.feed(b"data: a\n\ndata: too long\n").is_err());
        assert_eq!(decoder.poll_event(), Some(SseEvent::new("a")));
    }
}
