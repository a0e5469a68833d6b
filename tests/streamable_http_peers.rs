//! Official SDK clients against `mcp-ws serve` (the demo server, the binary `cargo test
//! --workspace` builds) over Streamable HTTP: the TypeScript SDK's
//! `StreamableHTTPClientTransport` (`tests/interop/ts_http_client.mjs`, legacy era) initializes,
//! lists the tools, calls one, calls `slow_count` with progress, answers the server's
//! `roots/list` (asked by `list_roots`) and `elicitation/create` (asked by `confirm`), pings and
//! ends its session with `DELETE`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mcp_ws_tests::peers::{self, interop_dir, lines_of, mcp_ws, read_all};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// A child process, killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mcp-ws serve` on a free loopback port; returns it and its `http://` endpoint URL.
fn serve() -> (Process, String) {
    let mut child = Command::new(mcp_ws())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start mcp-ws serve");
    let lines = lines_of(child.stdout.take().expect("stdout"));
    let process = Process(child);
    let first = lines.recv_timeout(LIMIT).expect("mcp-ws serve printed no URL");
    let url = first.strip_prefix("ws://").map(|rest| format!("http://{rest}"));
    let url = url.unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    (process, url)
}

/// Runs `node SCRIPT URL` (bounded by `LIMIT`, killed beyond) and parses its JSON report.
fn run_node(script: &str, url: &str) -> Value {
    let mut child = Command::new("node")
        .current_dir(interop_dir())
        .arg(script)
        .arg(url)
        .args(["--timeout", "40"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start node");
    let out = read_all(child.stdout.take().expect("stdout"));
    let err = read_all(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let mut child = Process(child);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < LIMIT, "{script} ran longer than {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON report from {script} ({e}): {stdout}\n{stderr}"));
    assert!(status.success() && report["ok"] == true, "{script} failed: {report}\n{stderr}");
    report
}

#[test]
fn the_typescript_sdk_streamable_http_client_speaks_with_mcp_ws_serve() {
    let sdk = interop_dir().join("node_modules/@modelcontextprotocol/sdk");
    assert!(sdk.exists(), "the TypeScript SDK is not installed: run bash tests/interop/install.sh");
    let (_server, url) = serve();
    let report = run_node("ts_http_client.mjs", &url);
    assert_eq!(report["server_name"], "mcp-ws-demo");
    assert_eq!(report["protocol_version"], "2025-11-25");
    let session = report["session_id"].as_str().expect("a session id");
    assert!(!session.is_empty() && session.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    assert_eq!(report["tools"], json!(peers::DEMO_TOOLS));
    assert_eq!(report["add"], "5");
    assert_eq!(report["slow_count"], "counted to 3");
    // Progress arrives on the call's SSE answer before its result; the SDK may run the last
    // progress handler after the result's (see tests/interop.rs), so a prefix of 1, 2, 3.
    let progress = report["progress"].as_array().expect("progress").clone();
    let full = [json!(1), json!(2), json!(3)];
    assert!(progress.len() >= 2 && progress[..] == full[..progress.len()], "{progress:?}");
    assert!(report["progress_totals"].as_array().unwrap().iter().all(|t| t == 3));
    // The server's roots/list reached the SDK (on the call's stream) and its answer came back.
    assert_eq!(report["roots_requests"], 1);
    assert_eq!(report["list_roots"], "file:///tmp/mcp-ws-ts-http");
    // And an elicitation, likewise.
    assert_eq!(report["elicitation_message"], "Ship it?");
    assert_eq!(report["confirm"], "confirmed: Ship it?");
    assert_eq!(report["ping"], true);
    assert_eq!(report["terminated"], true);
}
