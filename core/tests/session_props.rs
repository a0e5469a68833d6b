//! Property tests of the session invariants over random operation sequences and time steps.
//!
//! The operations and the invariants live in `mcp_ws_core::testing::session_ops`, shared with the
//! `session_ops` fuzz target; here proptest supplies the bytes.

use mcp_ws_core::testing::session_ops;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_request_ends_once_and_nothing_follows_the_close(
        data in proptest::collection::vec(any::<u8>(), 0..1_024)
    ) {
        if let Err(violation) = session_ops::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }
}

/// Inputs that exercise each role with a dense mix of operations, so the property above is not
/// only ever fed short sequences that close early.
#[test]
fn long_structured_sequences_keep_the_invariants() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for role in 0..4u8 {
        for round in 0..50 {
            let mut data = vec![role];
            for _ in 0..600 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let byte = (state >> 24) as u8;
                // Keep closes rare: remap most close operations (12) to clock advances (10).
                data.push(if byte % 14 == 12 && round % 5 != 0 { 10 } else { byte });
            }
            if let Err(violation) = session_ops::run(&data) {
                panic!("role {role} round {round}: {violation}");
            }
        }
    }
}
