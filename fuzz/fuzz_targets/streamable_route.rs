//! Feed any bytes to Streamable HTTP request classification, as methods and header values; the checks
//! live in `mcp_ws_core::testing::streamable_route`, shared with the corpus replay test.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mcp_ws_core::testing::streamable_route::run(data) {
        panic!("{violation}");
    }
});
