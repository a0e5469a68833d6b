//! Property tests of the SSE codec: events encoded then decoded in any chunking come back the
//! same, and arbitrary bytes in arbitrary chunks never panic and never exceed the bounds.

use mcp_ws_core::sse::{SseDecoder, SseError, SseEvent, SseLimits, encode_comment};
use proptest::prelude::*;

fn event() -> impl Strategy<Value = SseEvent> {
    (
        prop::option::of("[^\r\n\0]{0,12}"),
        prop::option::of("[^\r\n:]{1,8}"),
        // Data without CR: CRLF and CR are read back as LF, a documented normalisation.
        "[^\r]{0,40}",
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(id, event, data, retry)| SseEvent { id, event, data, retry })
}

/// Splits `bytes` at the given cut points (taken modulo the length).
fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points {
        chunks.push(bytes[start..point].to_vec());
        start = point;
    }
    chunks.push(bytes[start..].to_vec());
    chunks
}

proptest! {
    #[test]
    fn encode_then_decode_in_any_chunking_gives_the_same_events(
        events in prop::collection::vec(event(), 0..8),
        comments in prop::collection::vec(prop::option::of("[^\r\n]{0,10}"), 8),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut wire = String::new();
        for (event, comment) in events.iter().zip(&comments) {
            if let Some(comment) = comment {
                encode_comment(comment, &mut wire);
            }
            event.encode(&mut wire).unwrap();
        }
        let mut decoder = SseDecoder::default();
        let mut decoded = Vec::new();
        for chunk in chunked(wire.as_bytes(), &cuts) {
            decoder.feed(&chunk).unwrap();
            decoded.extend(std::iter::from_fn(|| decoder.poll_event()));
        }
        prop_assert_eq!(&decoded, &events);
        prop_assert!(!decoder.is_mid_event());
        let last_id = events.iter().rev().find_map(|e| e.id.clone()).unwrap_or_default();
        prop_assert_eq!(decoder.last_event_id(), last_id.as_str());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_within_bounds(
        bytes in prop::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), Just(b' '), any::<u8>(),
                        Just(b'd'), Just(b'a'), Just(b't')], 0..400),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
        max_line in 1usize..64,
        max_event in 1usize..128,
    ) {
        let limits = SseLimits { max_line_bytes: max_line, max_event_bytes: max_event };
        let mut decoder = SseDecoder::new(limits);
        for chunk in chunked(&bytes, &cuts) {
            match decoder.feed(&chunk) {
                Ok(()) => {}
                Err(SseError::LineTooLong { limit }) => prop_assert_eq!(limit, max_line),
                Err(SseError::EventTooLarge { limit }) => prop_assert_eq!(limit, max_event),
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
            while let Some(event) = decoder.poll_event() {
                let size = event.data.len()
                    + event.id.as_ref().map_or(0, String::len)
                    + event.event.as_ref().map_or(0, String::len);
                prop_assert!(size <= max_event);
            }
        }
    }

    /// The fuzz target's checks (`testing::sse_stream`: whole and chunked readings agree, the
    /// bounds hold, errors stick, events re-encode) on inputs made mostly of the bytes and
    /// words SSE is made of, so line ends fall on chunk edges often.
    #[test]
    fn the_sse_stream_harness_holds_on_sse_shaped_bytes(
        head in any::<[u8; 2]>(),
        pieces in prop::collection::vec(
            prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..]), Just(&b":"[..]),
                        Just(&b"data: "[..]), Just(&b"id: "[..]), Just(&b"event:"[..]),
                        Just(&b"retry: 9"[..]), Just(&b"x"[..]), Just(&b"\xef\xbb\xbf"[..]),
                        Just(&b"\0"[..]), Just(&b"\xff"[..])], 0..80),
    ) {
        let mut input = head.to_vec();
        for piece in pieces {
            input.extend_from_slice(piece);
        }
        if let Err(violation) = mcp_ws_core::testing::sse_stream::run(&input) {
            prop_assert!(false, "{}", violation);
        }
    }
}
