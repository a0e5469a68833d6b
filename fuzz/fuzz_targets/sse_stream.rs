//! Feed any bytes to the SSE decoder, whole and in chunks; the checks live in
//! `mcp_ws_core::testing::sse_stream`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::sse_stream::run(data) {
        panic!("{violation}");
    }
});
