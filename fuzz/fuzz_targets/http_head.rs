//! Feed any bytes to the HTTP request head parser, whole and in chunks; the checks
//! live in `mcp_ws_core::testing::http_head`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::http_head::run(data) {
        panic!("{violation}");
    }
});
