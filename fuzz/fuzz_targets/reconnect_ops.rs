//! Arbitrary operation sequences on the reconnect machine with its invariants checked after each
//! step. The harness lives in `mcp_ws_core::testing::reconnect_ops`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::reconnect_ops::run(data) {
        panic!("{violation}");
    }
});
