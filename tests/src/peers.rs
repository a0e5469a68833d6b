//! Where the interop peers and the binary under test are, for the suites that run them
//! (`interop`, `interop_secure`, `inspector`): the Python venv and the npm packages that
//! `tests/interop/install.sh` installs, the `mcp-ws` binary that `cargo test --workspace`
//! builds, and a reader of a child's stdout lines.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `tests/interop`.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// The venv's Python, with the `mcp` 1.x SDK.
pub fn python() -> PathBuf {
    let python = interop_dir().join(".venv/bin/python");
    assert!(python.exists(), "the Python peer is not installed: run bash tests/interop/install.sh");
    python
}

/// The TypeScript SDK client script (its package installed beside it).
pub fn node_client() -> PathBuf {
    let sdk = interop_dir().join("node_modules/@modelcontextprotocol/sdk");
    assert!(
        sdk.exists(),
        "the TypeScript peer is not installed: run bash tests/interop/install.sh"
    );
    interop_dir().join("ts_client.mjs")
}

/// The `mcp-ws` binary built beside the running test (cargo test --workspace builds it).
pub fn mcp_ws() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let binary = exe.parent().and_then(Path::parent).expect("target dir").join("mcp-ws");
    assert!(binary.exists(), "{} is missing: run cargo test --workspace", binary.display());
    binary
}

/// The lines a child writes to `output` (its stdout or stderr), as they come.
pub fn lines_of(output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// The demo contract's tools, sorted (both demo servers, ours and the Python one, serve them).
pub const DEMO_TOOLS: [&str; 10] = [
    "add",
    "confirm",
    "divide",
    "echo",
    "list_roots",
    "multiply",
    "ping_client",
    "slow_count",
    "subtract",
    "touch",
];

/// The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
/// `tests/interop/package.json`) as a command run in `tests/interop`: the Node 22 binary of the
/// npm `node` package runs the suite's script directly (no `npx` wrapper process, so the guard
/// that stops it stops the suite), `args` after it.
pub fn conformance(args: &[&str]) -> std::process::Command {
    let dir = interop_dir();
    let script = dir.join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(
        script.exists(),
        "the conformance suite is not installed: run bash tests/interop/install.sh"
    );
    let mut command = std::process::Command::new(dir.join("node_modules/.bin/node"));
    command.arg(script).args(args).current_dir(dir);
    command
}

/// The `Total: X passed, Y failed` figures the suite prints last, if it printed them.
pub fn conformance_totals(output: &str) -> Option<(u32, u32)> {
    let line = output.lines().rev().find(|line| line.starts_with("Total: "))?;
    let mut numbers = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u32>());
    match (numbers.next(), numbers.next()) {
        (Some(Ok(passed)), Some(Ok(failed))) => Some((passed, failed)),
        _ => None,
    }
}

/// The summed `X passed, Y failed` of the suite summary's scenario lines (`✓ name: X passed, Y
/// failed`) whose scenario `pick` accepts.
pub fn scenario_totals(output: &str, pick: impl Fn(&str) -> bool) -> (u32, u32) {
    // `=== SUMMARY ===` after a server run, `=== SUITE SUMMARY ===` after a client run.
    let summary = output.rfind("SUMMARY ===").map_or("", |at| &output[at..]);
    let mut sums = (0, 0);
    for line in summary.lines().take_while(|line| !line.starts_with("Total: ")) {
        let Some((name, counts)) = line.split_once(": ") else { continue };
        let name = name.trim_start_matches(['✓', '✗', ' ']);
        let Some((passed, failed)) = conformance_totals(&format!("Total: {counts}")) else {
            continue;
        };
        if pick(name) {
            sums.0 += passed;
            sums.1 += failed;
        }
    }
    sums
}

/// Which side's scenarios [`scored_scenarios`] lists.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// `Server scenarios`: the suite tests a server.
    Server,
    /// `Client scenarios`: the suite tests a client.
    Client,
}

/// The scenarios of `side` the suite scores for `revision` (`conformance list --requirements`;
/// the extension scenarios it also runs are listed apart, as never scored).
pub fn scored_scenarios(revision: &str, side: Side) -> Vec<String> {
    let mut listing = crate::process::Guarded::spawn(
        conformance(&["list", "--requirements", revision])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null()),
    );
    let output = read_all(listing.child.stdout.take().expect("stdout"));
    let status = listing.wait(std::time::Duration::from_secs(60));
    let output = output.join().expect("stdout reader");
    assert!(status.success(), "conformance list failed:\n{output}");
    let scored = listed_scenarios(&output, side);
    assert!(!scored.is_empty(), "no {side:?} scenarios in:\n{output}");
    scored
}

/// The `  - name` lines of `side`'s section of a `conformance list` output.
pub fn listed_scenarios(listing: &str, side: Side) -> Vec<String> {
    let heading = match side {
        Side::Server => "Server scenarios",
        Side::Client => "Client scenarios",
    };
    let Some(section) = listing.split(heading).nth(1) else { return Vec::new() };
    section
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(str::to_string)
        .collect()
}

/// An SDK server (Python or TypeScript) on Streamable HTTP, killed when dropped.
pub struct SdkServer {
    child: Child,
    /// Its `http://` endpoint URL.
    pub url: String,
}

impl SdkServer {
    /// The Python SDK's FastMCP demo (`py_http_server.py`) with `extra` flags.
    pub fn start(extra: &[&str]) -> SdkServer {
        let mut command = Command::new(python());
        command.arg(interop_dir().join("py_http_server.py")).args(["--port", "0"]).args(extra);
        SdkServer::spawn(command)
    }

    /// The TypeScript SDK server (`ts_http_server.mjs`).
    pub fn start_ts(extra: &[&str]) -> SdkServer {
        let mut command = Command::new("node");
        command.current_dir(interop_dir()).arg("ts_http_server.mjs").args(extra);
        SdkServer::spawn(command)
    }

    fn spawn(mut command: Command) -> SdkServer {
        let mut child = command
            .args(["--timeout", "120"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let line = lines.recv_timeout(Duration::from_secs(60)).expect("no LISTENING line");
        let url = line.strip_prefix("LISTENING ").expect("LISTENING line").to_string();
        SdkServer { child, url }
    }
}

impl Drop for SdkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// All that `output` (a child's stdout or stderr) writes until it closes, read on a thread of
/// its own so a child that fills one pipe never blocks on it; `join` gives the text.
pub fn read_all(mut output: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = output.read_to_string(&mut text);
        text
    })
}

/// Calls the demo's `slow_count` with three steps and collects its progress: the call's
/// result and each report's `progress` value, in order.
pub async fn count_to_three_with_progress(
    client: &mcp_ws_driver::Client,
) -> (Result<mcp_ws_driver::core::mcp::CallToolResult, mcp_ws_driver::CallError>, Vec<f64>) {
    let (call, progress) = client
        .call_tool_with_progress(
            "slow_count",
            serde_json::json!({"steps": 3, "interval_ms": 20}),
            mcp_ws_driver::CallOptions::default(),
        )
        .expect("args");
    let (result, reports) =
        futures_util::future::join(call, futures_util::StreamExt::collect::<Vec<_>>(progress))
            .await;
    (result, reports.iter().map(|report| report.progress).collect())
}

/// Runs `tests/interop/py_http_client.py` (the Python SDK's `streamablehttp_client`) against
/// `url`: whether it exited 0, the JSON report it printed last, and what it wrote to stderr.
pub fn python_http_client_report(url: &str) -> (bool, serde_json::Value, String) {
    let output = std::process::Command::new(python())
        .arg(interop_dir().join("py_http_client.py"))
        .arg(url)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
            panic!("no report ({e}): {stdout} {}", String::from_utf8_lossy(&output.stderr))
        });
    (output.status.success(), report, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Runs a Node script of `tests/interop` that drives headless Chromium and prints one JSON
/// report line: the report, within 60 s; the script is stopped either way.
pub fn node_script_report(script: &str, args: &[String]) -> serde_json::Value {
    let mut child = std::process::Command::new("node")
        .arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let lines = lines_of(child.stdout.take().expect("stdout"));
    let line = lines.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    serde_json::from_str(&line.expect("a report within 60 s")).expect("JSON")
}
