//! Arbitrary operation sequences on the connect bridge against a model of the stdio client and
//! the server connections, with the bridge's promises checked after each step. The harness
//! lives in `mcp_ws_core::testing::bridge_ops`, shared with the property tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::bridge_ops::run(data) {
        panic!("{violation}");
    }
});
