//! Property tests of the reconnect machine over random operation sequences and time steps.
//! The operations and invariants live in `mcp_ws_core::testing::reconnect_ops`, shared with the
//! `reconnect_ops` fuzz target.

use mcp_ws_core::testing::reconnect_ops;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn delays_stay_capped_attempts_stay_budgeted_and_nothing_follows_give_up(
        data in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        if let Err(violation) = reconnect_ops::run(&data) {
            return Err(TestCaseError::fail(violation.to_string()));
        }
    }
}
