//! Property tests of the connect bridge's promises over random operation sequences: exactly
//! one answer per request, only JSON-RPC on stdout, the lifecycle before anything else on a
//! reconnected connection, a bounded queue, one exit.
//!
//! The operations, the model and the checks live in `mcp_ws_core::testing::bridge_ops`, shared
//! with the `bridge_ops` fuzz target; here proptest supplies the bytes.

use mcp_ws_core::testing::bridge_ops;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_request_gets_exactly_one_answer_whatever_the_server_does(
        data in proptest::collection::vec(any::<u8>(), 0..1_024)
    ) {
        if let Err(violation) = bridge_ops::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }
}

/// Long sequences biased towards what makes a bridge work hard: connects, answers, cuts and
/// clock jumps, with every configuration flag combination.
#[test]
fn long_structured_sequences_keep_the_promises() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for flags in 0..=255u8 {
        let mut data = vec![flags];
        for _ in 0..700 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let byte = (state >> 24) as u8;
            // End of input (15) only rarely; most of it becomes a dial outcome (7).
            data.push(if byte % 16 == 15 && flags % 7 != 0 { 7 } else { byte });
        }
        if let Err(violation) = bridge_ops::run(&data) {
            panic!("flags {flags}: {violation}");
        }
    }
}
