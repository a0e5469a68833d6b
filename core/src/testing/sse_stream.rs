//! The SSE decoder fed arbitrary bytes: the same stream read whole and read in arbitrary
//! chunks gives the same events, the same error, the same last event id and retry hint; no
//! event exceeds the bounds; a failed decoder stays failed; and every event it gives encodes
//! back into a stream that decodes to the same event.
//!
//! Input layout: byte 0 picks the bounds (small, so the fuzzer reaches the errors), byte 1 the
//! chunk sizes, the rest is the stream.

use crate::sse::{SseDecoder, SseError, SseEvent, SseLimits};
use crate::testing::session_ops::Violation;

/// What one reading of the stream gave.
#[derive(Debug, PartialEq)]
struct Reading {
    events: Vec<SseEvent>,
    error: Option<SseError>,
    last_event_id: String,
    retry: Option<u64>,
}

fn read(stream: &[u8], limits: SseLimits, chunk_sizes: impl Iterator<Item = usize>) -> Reading {
    let mut decoder = SseDecoder::new(limits);
    let mut events = Vec::new();
    let mut error = None;
    let mut rest = stream;
    for size in chunk_sizes {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        rest = tail;
        let result = decoder.feed(chunk);
        events.extend(std::iter::from_fn(|| decoder.poll_event()));
        if let Err(failed) = result {
            error = Some(failed);
            break;
        }
    }
    Reading {
        events,
        error,
        last_event_id: decoder.last_event_id().to_string(),
        retry: decoder.retry(),
    }
}

/// Runs the checks on `data`; the first broken promise, if any.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let (selector, step, stream) = match data {
        [selector, step, stream @ ..] => (*selector, usize::from(*step % 16) + 1, stream),
        _ => return Ok(()),
    };
    let limits = SseLimits {
        max_line_bytes: usize::from(selector & 0x0f) * 4 + 1,
        max_event_bytes: usize::from(selector >> 4) * 8 + 1,
    };
    let whole = read(stream, limits, std::iter::once(stream.len()));
    let chunked = read(stream, limits, (0..).map(|i| step + i % 3));
    ensure!(whole == chunked, "chunking changed the reading: whole {whole:?}, chunked {chunked:?}");
    for event in &whole.events {
        let size = event.data.len()
            + event.event.as_ref().map_or(0, String::len)
            + event.id.as_ref().map_or(0, String::len);
        ensure!(size <= limits.max_event_bytes, "{event:?} is over {limits:?}");
        let wire = match event.to_wire() {
            Ok(wire) => wire,
            Err(error) => return Err(Violation(format!("{event:?} does not encode: {error}"))),
        };
        let mut again = SseDecoder::new(SseLimits::default());
        if let Err(error) = again.feed(wire.as_bytes()) {
            return Err(Violation(format!("{wire:?} does not decode: {error}")));
        }
        let back: Vec<SseEvent> = std::iter::from_fn(|| again.poll_event()).collect();
        ensure!(back.as_slice() == std::slice::from_ref(event), "{event:?} came back {back:?}");
    }
    if let Some(error) = whole.error {
        let mut decoder = SseDecoder::new(limits);
        let _ = decoder.feed(stream);
        ensure!(decoder.feed(b"data: more\n\n") == Err(error), "a failed decoder read on");
    }
    Ok(())
}
