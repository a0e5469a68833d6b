//! A real browser presenting a bearer token as a subprotocol offer (Debian's Chromium through
//! playwright-core, `tests/interop/browser_token.mjs`), against the library's listener with a
//! `StaticToken`:
//! - `new WebSocket(url, ['mcp', 'mcp.auth.TOKEN'])` opens, with the subprotocol `mcp`;
//! - `['mcp.auth.TOKEN']` alone cannot open in any browser (Chromium fails a 101 that selects
//!   nothing, and one that selects `mcp`, which it did not offer; echoing the token is not an
//!   option), so the server refuses it with 400 and a reason saying to offer `mcp` too;
//! - a wrong token gets 401.

use mcp_ws_driver::{AuthCheck, PlainHttp, PlainResponse, StaticToken};
use mcp_ws_tests::{Rt, TestServer, server_config};

const TOKEN: &str = "browser-s3cr3t";

#[test]
fn a_browser_presents_its_token_as_a_subprotocol_offer() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: run bash tests/interop/install.sh"
    );
    let mut config = server_config();
    config.auth = Some(AuthCheck::new(StaticToken::new(TOKEN)));
    let page = PlainResponse::ok("text/html", "<!doctype html><title>t</title>");
    config.plain_http = Some(PlainHttp::routes([("/".to_string(), page)]));
    let server = TestServer::start(Rt::Tokio, config);
    let report = mcp_ws_tests::peers::node_script_report(
        "browser_token.mjs",
        &[server.addr.port().to_string(), TOKEN.to_string()],
    );
    server.shutdown();
    let results = report["results"].as_array().unwrap_or_else(|| panic!("{report}"));
    let console = report["console"].to_string();
    // Offering `mcp` beside the token opens, with `mcp`.
    assert_eq!(results[0]["open"], true, "{report}");
    assert_eq!(results[0]["protocol"], "mcp", "{report}");
    // The token alone: refused with 400 before the upgrade, not a 101 Chromium fails.
    assert_eq!(results[1]["open"], false, "{report}");
    assert!(console.contains("Unexpected response code: 400"), "{report}");
    assert!(!console.contains("no response was received"), "{report}");
    // A wrong token: 401.
    assert_eq!(results[2]["open"], false, "{report}");
    assert!(console.contains("HTTP Authentication failed"), "{report}");
    assert!(!console.contains(TOKEN), "the token reached the console: {report}");
}
