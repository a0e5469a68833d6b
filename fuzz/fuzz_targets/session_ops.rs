//! Arbitrary operation sequences on one session with its invariants checked after each step.
//! The harness lives in `mcp_ws_core::testing::session_ops`, shared with the property tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::session_ops::run(data) {
        panic!("{violation}");
    }
});
