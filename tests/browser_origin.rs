//! A real browser (Debian's Chromium through playwright-core, `tests/interop/browser_origin.mjs`)
//! POSTing a JSON-RPC request to the library's listener over Streamable HTTP from a page of
//! another origin, the server allowing only its own:
//! - an ordinary `fetch` with `Content-Type: application/json` never reaches the endpoint as a
//!   POST (the browser's CORS preflight is not granted) and fails in the page;
//! - the same POST without a preflight (`mode: 'no-cors'`, sent as text/plain) reaches the
//!   server, which answers 403 on its Origin;
//! - neither runs anything (a `tick` tool counts its runs), while the same `fetch` from the
//!   server's own page (an allowed origin) is answered and runs once.

use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_ws_driver::core::mcp::{CallToolResult, Tool};
use mcp_ws_driver::{OriginPolicy, PlainHttp, PlainResponse, Router};
use mcp_ws_tests::{Rt, TestServer, server_config};
use serde_json::Value;

/// How many times `tick` ran (one test in this binary).
static TICKS: AtomicUsize = AtomicUsize::new(0);

fn with_tick(router: Router) -> Router {
    let tick = Tool { name: "tick".into(), input_schema: Default::default(), ..Default::default() };
    router.tool_def(tick, |_: Value, _| async {
        TICKS.fetch_add(1, Ordering::SeqCst);
        Ok(CallToolResult::text("ticked"))
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_page_of_another_origin_gets_403_on_post_and_nothing_runs() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: run bash tests/interop/install.sh"
    );
    // The page of another origin: a second loopback server's own page.
    let mut elsewhere = server_config();
    let page = PlainResponse::ok("text/html", "<!doctype html><title>elsewhere</title>");
    elsewhere.plain_http = Some(PlainHttp::routes([("/".to_string(), page)]));
    let elsewhere = TestServer::start(Rt::Tokio, elsewhere);
    let foreign = elsewhere.addr.port();
    let port = free_port();
    let mut config = server_config();
    config.origins = OriginPolicy::List(vec![format!("http://127.0.0.1:{port}")]);
    let page = PlainResponse::ok("text/html", "<!doctype html><title>own</title>");
    config.plain_http = Some(PlainHttp::routes([("/".to_string(), page)]));
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = TestServer::start_with(Rt::Tokio, config, addr, with_tick, None);
    let report = mcp_ws_tests::peers::node_script_report(
        "browser_origin.mjs",
        &[port.to_string(), foreign.to_string()],
    );
    server.shutdown();
    elsewhere.shutdown();
    println!("[browser_origin] {report}");
    assert!(report.get("error").is_none(), "{report}");
    // The preflighted fetch fails in the page: the browser sent no POST.
    assert_eq!(report["foreignCors"]["ok"], false, "{report}");
    assert!(report["foreignCors"]["error"].is_string(), "{report}");
    // The POST sent without a preflight: the server's 403, hidden from the page.
    assert_eq!(report["foreignNoCors"]["type"], "opaque", "{report}");
    let statuses = report["statuses"].as_array().unwrap_or_else(|| panic!("{report}"));
    let foreign_origin = format!("http://127.0.0.1:{foreign}");
    let foreign_posts: Vec<&Value> = statuses
        .iter()
        .filter(|s| s["origin"] == foreign_origin.as_str() && s["method"] == "POST")
        .collect();
    assert_eq!(foreign_posts.len(), 1, "one POST reached the server from elsewhere: {report}");
    assert_eq!(foreign_posts[0]["status"], 403, "{report}");
    // From the server's own page the same fetch is answered, and runs once.
    assert_eq!(report["allowed"]["status"], 200, "{report}");
    assert!(report["allowed"]["text"].as_str().is_some_and(|t| t.contains("ticked")), "{report}");
    assert_eq!(TICKS.load(Ordering::SeqCst), 1, "only the allowed POST runs: {report}");
}
