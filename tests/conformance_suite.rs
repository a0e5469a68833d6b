//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `tests/interop/package.json`) judging our server: its server scenarios for 2025-11-25 and
//! 2026-07-28 run over Streamable HTTP against the fixture (`mcp-ws/examples/conformance_server`,
//! the same `Router` served in-process here), each with a committed expected-failures file
//! (`tests/conformance/server-<revision>.yaml`, every entry with its reason). The suite's own
//! exit status is the verdict: it fails on a failure not listed and on a listed one that now
//! passes, so the file cannot go stale. The figures are printed.
//!
//! The WebSocket path is judged by the same checks through our own gateway: the fixture
//! served on its listener, reached only over WebSocket by a second server whose sessions are
//! relayed upstream (`mcp-ws serve --upstream ws://…`, [`SessionBackend::Gateway`]), and the
//! suite speaks Streamable HTTP to that gateway.
//!
//! Both paths also run every scenario the suite has, scored or not (`--suite all`), against
//! `tests/conformance/server-all.yaml` (and `server-all-gateway.yaml` through the gateway),
//! which list only what we have not built, each with its reason.

#[path = "../mcp-ws/examples/conformance_server/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::process::Stdio;
use std::time::{Duration, Instant};

use mcp_ws::mcp::Implementation;
use mcp_ws::{ServerConfig, server};
use mcp_ws_driver::server::gateway::{SessionBackend, Upstream};
use mcp_ws_tests::peers::{
    Side, conformance, conformance_totals, read_all, scenario_totals, scored_scenarios,
};
use mcp_ws_tests::process::Guarded;

/// Every scenario the suite has, scored or not (`--suite all`).
const ALL: &str = "all";

/// Whole-suite bound: a revision's run takes well under a minute here.
const SUITE_LIMIT: Duration = Duration::from_secs(600);

/// How the suite reaches the fixture.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// Streamable HTTP, straight to the fixture's listener.
    Direct,
    /// Streamable HTTP to a gateway that relays each session over WebSocket to the fixture.
    ThroughTheGatewayOverWebSocket,
}

/// Which scenarios the suite runs: a revision's scored requirement set, or [`ALL`].
fn judge_server(revision: &str, path: Path) {
    let runtime = mcp_ws_tests::multi_thread_runtime(2);
    let url = runtime.block_on(async {
        let config = ServerConfig::new(Implementation::new("mcp-ws-conformance", "test"));
        let listening = server(fixture::router(), config)
            .listen("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("listen");
        let fixture = listening.local_addr();
        tokio::spawn(listening.run());
        if path == Path::Direct {
            return format!("http://{fixture}/mcp");
        }
        let mut config = ServerConfig::new(Implementation::new("mcp-ws-gateway", "test"));
        let upstream = Upstream::new(&format!("ws://{fixture}/mcp")).expect("upstream URL");
        config.backend = SessionBackend::Gateway(std::sync::Arc::new(upstream));
        let gateway = server(mcp_ws::Router::new(), config)
            .listen("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("listen");
        let url = format!("http://{}/mcp", gateway.local_addr());
        tokio::spawn(gateway.run());
        url
    });
    let baseline = match (revision, path) {
        (ALL, Path::ThroughTheGatewayOverWebSocket) => "all-gateway".to_string(),
        _ => revision.to_string(),
    };
    let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("conformance/server-{baseline}.yaml"));
    let expected = expected.to_str().expect("utf-8 path").to_string();
    let started = Instant::now();
    let mut suite = Guarded::spawn(
        conformance(&[
            "server",
            "--url",
            &url,
            if revision == ALL { "--suite" } else { "--requirements" },
            revision,
            "--expected-failures",
            &expected,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()),
    );
    let reader = read_all(suite.child.stdout.take().expect("stdout"));
    let errors = read_all(suite.child.stderr.take().expect("stderr"));
    let status = suite.wait(SUITE_LIMIT);
    let output = reader.join().expect("stdout reader");
    let errors = errors.join().expect("stderr reader");
    let (passed, failed) = conformance_totals(&output)
        .unwrap_or_else(|| panic!("no totals printed:\n{output}\n{errors}"));
    if revision != ALL {
        let scored = scored_scenarios(revision, Side::Server);
        let (ours, ours_failed) = scenario_totals(&output, |name| scored.iter().any(|s| s == name));
        println!(
            "MCP conformance {revision}, server{}: the {} scored scenarios: {ours}/{} checks passed",
            if path == Path::Direct { "" } else { " (through the gateway, over WebSocket)" },
            scored.len(),
            ours + ours_failed
        );
        assert!(ours > 0, "no scored check passed:\n{output}");
        assert_eq!(ours_failed, 0, "a check of a scored scenario failed:\n{output}");
    }
    println!(
        "conformance server {} {revision}{}: {passed} passed, {failed} failed \
         (every failure listed in {expected}) in {:.0?}",
        if revision == ALL { "--suite" } else { "--requirements" },
        if path == Path::Direct { "" } else { " (through the gateway, over WebSocket)" },
        started.elapsed()
    );
    assert!(
        status.success(),
        "the suite's verdict on {revision} (an unexpected failure, or a listed one that now \
         passes):\n{output}\n{errors}"
    );
    assert!(passed > 0, "nothing passed:\n{output}");
    drop(runtime);
}

#[test]
fn server_scenarios_of_2025_11_25_over_streamable_http() {
    judge_server("2025-11-25", Path::Direct);
}

#[test]
fn server_scenarios_of_2026_07_28_over_streamable_http() {
    judge_server("2026-07-28", Path::Direct);
}

#[test]
fn server_scenarios_of_2025_11_25_over_websocket_through_the_gateway() {
    judge_server("2025-11-25", Path::ThroughTheGatewayOverWebSocket);
}

#[test]
fn server_scenarios_of_2026_07_28_over_websocket_through_the_gateway() {
    judge_server("2026-07-28", Path::ThroughTheGatewayOverWebSocket);
}

#[test]
fn every_server_scenario_scored_or_not_over_streamable_http() {
    judge_server(ALL, Path::Direct);
}

#[test]
fn every_server_scenario_scored_or_not_over_websocket_through_the_gateway() {
    judge_server(ALL, Path::ThroughTheGatewayOverWebSocket);
}
