//! Decode any bytes as a text payload; what decodes must round-trip, what does not must be
//! classified. The check lives in `mcp_ws_core::testing::decode_frame`, shared with the replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::decode_frame::check(data) {
        panic!("{violation}");
    }
});
