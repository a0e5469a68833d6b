//! Our client judged by the official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! installed by `tests/interop/install.sh`): `conformance client --requirements 2025-11-25`
//! and `--requirements 2026-07-28` run `mcp-ws/examples/conformance_client.rs` (built by
//! `cargo test --workspace` beside this test) against each scenario's mock server, with the
//! committed expected failures of `tests/conformance/client-<revision>.yaml` (empty: the
//! `auth/*` scenarios pass through the client's OAuth flow). The suite's exit status must be 0
//! (no failure outside the list, no stale entry), every check of a scenario the revision scores
//! (`conformance list --requirements`) must pass, and its `Total: X passed, Y failed` line is
//! printed (it also counts the extension scenarios it runs but never scores: client
//! credentials, DPoP, enterprise-managed authorization, workload identity).
//!
//! Beside it, what the suite showed our client library did wrong, checked against our own
//! server: a tool whose `x-mcp-header` annotations are invalid is left out of `tools/list`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mcp_ws::mcp::{Implementation, Tool};
use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::core::session::EraPolicy;
use mcp_ws_driver::{Client, ClientConfig};
use mcp_ws_tests::peers::{
    Side, conformance, conformance_totals, listed_scenarios, read_all, scenario_totals,
    scored_scenarios,
};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

/// One whole requirement set (about 40 scenarios, most of them OAuth ones that fail fast).
const SUITE_LIMIT: Duration = Duration::from_secs(600);

const LIMIT: Duration = Duration::from_secs(30);

/// The example binary `cargo test --workspace` builds beside this test.
fn conformance_client() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let debug = exe.parent().and_then(Path::parent).expect("target dir");
    let binary = debug.join("examples").join("conformance_client");
    assert!(
        binary.exists(),
        "{} is missing: run cargo test --workspace (or cargo build -p mcp-ws --example \
         conformance_client)",
        binary.display()
    );
    binary
}

/// Runs one requirement set; returns the exit status's success and the whole output.
fn run_suite(revision: &str) -> (bool, String) {
    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join(format!("client-{revision}.yaml"));
    assert!(expected.exists(), "{} is missing", expected.display());
    let child = conformance(&["client", "--command"])
        .arg(conformance_client())
        .args(["--requirements", revision, "--expected-failures"])
        .arg(&expected)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout stops the suite and the clients it started.
        .process_group(0)
        .spawn()
        .expect("cannot start the conformance suite (run bash tests/interop/install.sh)");
    let (status, output) = wait_bounded(child, SUITE_LIMIT);
    let Some(status) = status else {
        panic!("the {revision} suite ran longer than {SUITE_LIMIT:?}:\n{output}");
    };
    (status.success(), output)
}

/// Waits at most `limit` for a child started in its own process group (killing the group
/// after that); returns its exit status (`None`: killed) and its stdout then stderr.
fn wait_bounded(mut child: Child, limit: Duration) -> (Option<ExitStatus>, String) {
    let out = read_all(child.stdout.take().expect("stdout"));
    let err = read_all(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > limit {
            // The whole process group this test started: the suite and its clients.
            let _ = Command::new("kill").args(["-KILL", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (status, format!("{}{}", out.join().unwrap_or_default(), err.join().unwrap_or_default()))
}

fn judge(revision: &str) {
    let (success, output) = run_suite(revision);
    let Some((passed, failed)) = conformance_totals(&output) else {
        panic!("no `Total:` line in the {revision} suite's output:\n{output}");
    };
    let scored = scored_scenarios(revision, Side::Client);
    let is_scored = |name: &str| scored.iter().any(|s| s == name);
    let (ours, ours_failed) = scenario_totals(&output, is_scored);
    let (auth, auth_failed) =
        scenario_totals(&output, |name| name.starts_with("auth/") && is_scored(name));
    println!(
        "MCP conformance {revision}, client: {passed} passed, {failed} failed; the {} scored \
         scenarios: {ours}/{} checks passed ({auth}/{} in auth/*)",
        scored.len(),
        ours + ours_failed,
        auth + auth_failed
    );
    assert!(
        success,
        "the {revision} client suite failed outside tests/conformance/client-{revision}.yaml \
         (or an entry there is stale):\n{output}"
    );
    assert!(ours > 0, "{output}");
    assert!(auth > 0, "no scored auth/* scenario ran:\n{output}");
    assert_eq!(ours_failed, 0, "a check of a scored scenario failed:\n{output}");
}

#[test]
fn the_conformance_suite_judges_our_client_on_2025_11_25() {
    judge("2025-11-25");
}

#[test]
fn the_conformance_suite_judges_our_client_on_2026_07_28() {
    judge("2026-07-28");
}

#[test]
fn totals_are_read_from_the_summary_line() {
    assert_eq!(conformance_totals("x\nTotal: 39 passed, 94 failed, 1 warnings\n"), Some((39, 94)));
    assert_eq!(conformance_totals("no summary"), None);
    let summary = "=== SUITE SUMMARY ===\n\n✓ initialize: 1 passed, 0 failed\n\
        ✗ auth/dpop: 0 passed, 3 failed\n✗ sse-retry: 2 passed, 1 failed\n\nTotal: 3 passed, 4 failed";
    assert_eq!(scenario_totals(summary, |name| !name.starts_with("auth/")), (3, 1));
    assert_eq!(scenario_totals(summary, |name| name.starts_with("auth/")), (0, 3));
    let listing = "Server scenarios (test against a server):\n  - ping\n\nClient scenarios \
        (test against a client):\n  - initialize\n  - auth/metadata-default\n\nRun and \
        reported, but never scored:\n  extension (1):\n    - auth/dpop [client]\n";
    assert_eq!(listed_scenarios(listing, Side::Client), ["initialize", "auth/metadata-default"]);
    assert_eq!(listed_scenarios(listing, Side::Server), ["ping"]);
    assert!(listed_scenarios("nothing", Side::Client).is_empty());
}

/// A tool whose `inputSchema` is `properties` alone.
fn tool(name: &str, properties: Value) -> Tool {
    let schema = json!({"type": "object", "properties": properties});
    Tool {
        name: name.into(),
        description: Some(format!("{name} (x-mcp-header test)")),
        input_schema: schema.as_object().cloned().expect("object"),
        ..Default::default()
    }
}

async fn listed(client: &Client) -> Vec<String> {
    let tools = tokio::time::timeout(LIMIT, client.list_all_tools())
        .await
        .expect("tools/list timed out")
        .expect("tools/list");
    let mut names: Vec<_> = tools.into_iter().map(|tool| tool.name).collect();
    names.sort();
    names
}

#[test]
fn tools_with_invalid_x_mcp_header_annotations_are_left_out_of_tools_list() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut router = mcp_ws::Router::new();
        let tools = [
            tool("valid", json!({"region": {"type": "string", "x-mcp-header": "Region"}})),
            tool("plain", json!({"query": {"type": "string"}})),
            tool("empty_name", json!({"v": {"type": "string", "x-mcp-header": ""}})),
            tool("on_number", json!({"v": {"type": "number", "x-mcp-header": "Score"}})),
            tool("on_object", json!({"v": {"type": "object", "x-mcp-header": "Data"}})),
            tool("with_space", json!({"v": {"type": "string", "x-mcp-header": "My Region"}})),
            tool(
                "twice",
                json!({"a": {"type": "string", "x-mcp-header": "Field"},
                    "b": {"type": "string", "x-mcp-header": "field"}}),
            ),
        ];
        for tool in tools {
            router = router.tool_def(tool, |_: Value, _| async { Ok("ok".to_string()) });
        }
        let config = mcp_ws::ServerConfig::new(Implementation::new("x-mcp-header-test", "1"));
        let server = mcp_ws::server(router, config);
        let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
        let ws_url = listening.url();
        let http_url = ws_url.replacen("ws://", "http://", 1);
        tokio::spawn(listening.run());
        for (url, era) in [
            (&ws_url, EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
            (&ws_url, EraPolicy::Modern),
            // (Our server answers 2026-07-28 over HTTP only once it serves stateless POSTs.)
            (&http_url, EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
        ] {
            let config =
                ClientConfig::new(Implementation::new("x-mcp-header-client", "1")).era(era.clone());
            let client =
                tokio::time::timeout(LIMIT, mcp_ws_driver::connect(Tokio::new(), url, config))
                    .await
                    .expect("connect timed out")
                    .expect("connect");
            assert_eq!(listed(&client).await, ["plain", "valid"], "{url} {era:?}");
            client.close().await;
        }
        server.shutdown().await;
    });
}
