//! Property tests of the HTTP request head parser: the checks of
//! `mcp_ws_core::testing::http_head` (shared with the `http_head` fuzz target) on arbitrary
//! bytes and on well-formed heads, some with a byte changed, fed whole and in chunks.

use mcp_ws_core::http_head::{HeadStatus, MAX_HEADERS, parse_request_head};
use mcp_ws_core::testing::http_head;
use proptest::prelude::*;

/// A head's bytes (with up to 15 bytes after it) and its number of header fields.
fn head() -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        "(GET|POST|DELETE|PUT|[A-Z]{1,7})",
        "/[a-zA-Z0-9/?=&%._-]{0,30}",
        0..2u8,
        prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,12}", "[ -~]{0,30}"), 0..80),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(method, target, minor, headers, rest)| {
            let fields = headers.len();
            let mut text = format!("{method} {target} HTTP/1.{minor}\r\n");
            for (name, value) in headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str("\r\n");
            let mut bytes = text.into_bytes();
            bytes.extend(rest);
            (bytes, fields)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_read_the_same_whole_and_in_chunks(
        data in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        if let Err(violation) = http_head::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }

    #[test]
    fn well_formed_heads_and_their_mutants_read_the_same_whole_and_in_chunks(
        limit in any::<u8>(),
        step in any::<u8>(),
        (bytes, fields) in head(),
        flip in prop::option::of((any::<usize>(), any::<u8>())),
    ) {
        let mut bytes = bytes;
        match flip {
            Some((at, byte)) => {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            None if fields <= MAX_HEADERS => {
                // Unchanged and within the field limit, the head is complete.
                let complete = matches!(parse_request_head(&bytes), HeadStatus::Complete { .. });
                prop_assert!(complete, "{:?}", String::from_utf8_lossy(&bytes));
            }
            None => {}
        }
        let mut data = vec![limit, step];
        data.extend(bytes);
        if let Err(violation) = http_head::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }
}
