//! Property tests of Streamable HTTP request classification: the checks of
//! `mcp_ws_core::testing::streamable_route` (shared with the `streamable_route` fuzz target) on
//! arbitrary bytes and on requests made of plausible header values.

use mcp_ws_core::testing::streamable_route;
use proptest::prelude::*;

/// One request in the harness's layout, its header values picked among useful ones (a length
/// byte with the top bit set) or written out.
fn request() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        prop::collection::vec(
            prop_oneof![
                (0x80u8..=0xff).prop_map(|b| vec![b]),
                "[ -~]{0,40}".prop_map(|s| {
                    let mut bytes = vec![s.len() as u8];
                    bytes.extend(s.into_bytes());
                    bytes
                }),
            ],
            5,
        ),
    )
        .prop_map(|(selector, values)| {
            let mut bytes = vec![selector];
            bytes.extend(values.into_iter().flatten());
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_classified_as_documented(
        data in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        if let Err(violation) = streamable_route::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }

    #[test]
    fn plausible_requests_are_classified_as_documented(
        requests in prop::collection::vec(request(), 1..8)
    ) {
        let data: Vec<u8> = requests.into_iter().flatten().collect();
        if let Err(violation) = streamable_route::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }
}
