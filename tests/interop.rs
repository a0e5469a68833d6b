//! Interop with the official MCP SDKs (Python `mcp` 1.x, TypeScript `@modelcontextprotocol/sdk`
//! 1.x), driven through the real `mcp-ws` binary. The peers are installed by
//! `tests/interop/install.sh` (which `.ci/run` calls); the scripts and their JSON reports are
//! described in `tests/interop/README.md`. Each test checks content: exact tool results,
//! progress values, error flags.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_ws_driver::core::mcp::{ContentBlock, Implementation, ResourceContents, Root};
use mcp_ws_driver::core::{Era, ProtocolVersion};
use mcp_ws_driver::{CallOptions, ClientConfig, Network, PeerRequests};
use mcp_ws_smol::Smol;
use mcp_ws_tests::peers::{self, interop_dir, lines_of, mcp_ws, node_client, python};
use mcp_ws_tests::{Rt, block_on};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// A child process killed when the test ends, however it ends.
struct Process {
    child: Child,
    stdout: Option<mpsc::Receiver<String>>,
}

impl Process {
    fn spawn(command: &mut Command) -> Process {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stdout = child.stdout.take().map(lines_of);
        Process { child, stdout }
    }

    /// The next stdout line, within `limit`.
    fn line(&self, limit: Duration) -> String {
        self.stdout
            .as_ref()
            .expect("stdout")
            .recv_timeout(limit)
            .unwrap_or_else(|_| panic!("no output line within {limit:?}"))
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the exit status within `limit`.
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "the process did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mcp-ws serve` with `extra` arguments on a free port; returns it and its URL.
fn serve(extra: &[&str]) -> (Process, String) {
    serve_at("127.0.0.1:0", extra)
}

fn serve_at(listen: &str, extra: &[&str]) -> (Process, String) {
    let process =
        Process::spawn(Command::new(mcp_ws()).args(["serve", "--listen", listen]).args(extra));
    let url = process.line(LIMIT);
    assert!(url.starts_with("ws://127.0.0.1:"), "unexpected first line {url:?}");
    (process, url)
}

/// Runs a client script to completion and parses its one JSON report.
fn report(command: &mut Command) -> Value {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout was {stdout:?}"));
    assert!(output.status.success() && report["ok"] == true, "the client failed: {report}");
    report
}

/// Checks a client report against the demo contract.
fn assert_demo_report(report: &Value, server_name: &str, progress_exact: bool) {
    assert_eq!(report["server_name"], server_name);
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_eq!(report["tools"], json!(peers::DEMO_TOOLS));
    assert_eq!(
        report["results"],
        json!({"add": "5", "subtract": "-1", "multiply": "10", "divide": "0.25"})
    );
    assert_eq!(report["divide_by_zero"], json!({"is_error": true, "text": "division by zero"}));
    assert_eq!(report["echo"], "héllo ✓");
    assert_eq!(report["slow_count"], "counted to 3");
    let progress = report["progress"].as_array().expect("progress list").clone();
    if progress_exact {
        assert_eq!(progress, [json!(1), json!(2), json!(3)]);
    } else {
        // The TypeScript SDK runs progress handlers a microtask later than response handlers,
        // so a last progress notification that arrives in the same read as the response is
        // dropped by the SDK (the wire order is right: progress 3, then the result).
        let full = [json!(1), json!(2), json!(3)];
        assert!(progress.len() >= 2 && progress[..] == full[..progress.len()], "{progress:?}");
    }
    assert_eq!(report["list_roots"], "file:///tmp/mcp-ws-interop");
    assert_eq!(report["ping_client"], "pong");
    assert_eq!(report["resources"], json!(["demo://readme"]));
    assert_eq!(report["readme"], "This is the mcp-ws demo server.");
    assert_eq!(report["prompts"], json!(["greet"]));
    assert_eq!(report["greet"], "Say hello to Ada.");
    assert_eq!(report["ping"], true);
}

#[test]
fn the_python_sdk_client_speaks_with_our_server() {
    let (_server, url) = serve(&[]);
    let report = report(Command::new(python()).arg(interop_dir().join("py_client.py")).arg(&url));
    assert_demo_report(&report, "mcp-ws-demo", true);
}

#[test]
fn the_typescript_sdk_client_speaks_with_our_server() {
    let (_server, url) = serve(&[]);
    let report = report(Command::new("node").arg(node_client()).arg(&url));
    assert_demo_report(&report, "mcp-ws-demo", false);
}

/// Starts the Python SDK's WebSocket server; returns it and its URL.
fn python_server() -> (Process, String) {
    let process =
        Process::spawn(Command::new(python()).arg(interop_dir().join("py_server.py")).args([
            "--ws",
            "--port",
            "0",
            "--timeout",
            "120",
        ]));
    let line = process.line(LIMIT);
    let url = line.strip_prefix("LISTENING ").expect("LISTENING line").to_string();
    (process, url)
}

fn text(result: &mcp_ws_driver::core::mcp::CallToolResult) -> String {
    result.joined_text()
}

/// Our client (either runtime, default dual-era policy) against the Python SDK server.
async fn our_client_against_python<N: Network>(net: N, url: &str) {
    let roots = vec![Root { uri: "file:///tmp/ours".into(), ..Default::default() }];
    let peer_requests = PeerRequests::default().roots(roots).elicitation(|_, _| async {
        let content = json!({"confirm": true}).as_object().cloned();
        Ok(mcp_ws_driver::core::mcp::ElicitResult {
            action: mcp_ws_driver::core::mcp::ElicitAction::Accept,
            content,
            meta: None,
            extra: Default::default(),
        })
    });
    let config =
        ClientConfig::new(Implementation::new("mcp-ws-interop", "0")).peer_requests(peer_requests);
    let client = mcp_ws_driver::connect(net, url, config).await.expect("connect");
    // Dual-era: the server/discover probe fails on a 1.x server, so the client falls back.
    let info = client.ready_info().expect("ready");
    assert_eq!((info.era, info.version), (Era::Legacy, ProtocolVersion::V2025_11_25));
    assert_eq!(client.server_info().expect("serverInfo").name, "py-demo");

    let mut names: Vec<String> =
        client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(names, peers::DEMO_TOOLS);
    for (tool, args, expected) in [
        ("add", json!({"a": 2, "b": 3}), "5"),
        ("subtract", json!({"a": 2, "b": 3}), "-1"),
        ("multiply", json!({"a": 2.5, "b": 4}), "10"),
        ("divide", json!({"a": 1, "b": 3}), "0.3333333333333333"),
        ("echo", json!({"text": "héllo ✓"}), "héllo ✓"),
    ] {
        let result = client.call_tool(tool, args).await.expect(tool);
        assert_eq!((text(&result).as_str(), result.failed()), (expected, false), "{tool}");
    }
    let by_zero = client.call_tool("divide", json!({"a": 1, "b": 0})).await.expect("divide");
    assert!(by_zero.failed());
    assert_eq!(text(&by_zero), "division by zero");

    let (result, reports) = peers::count_to_three_with_progress(&client).await;
    assert_eq!(text(&result.expect("slow_count")), "counted to 3");
    assert_eq!(reports, [1.0, 2.0, 3.0]);

    // The server's own requests, answered by our client.
    let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
    assert_eq!(text(&roots), "file:///tmp/ours");
    let pong = client.call_tool("ping_client", json!({})).await.expect("ping_client");
    assert_eq!(text(&pong), "pong");
    let confirmed =
        client.call_tool("confirm", json!({"question": "Deploy?"})).await.expect("confirm");
    assert_eq!(text(&confirmed), "confirmed: Deploy?");
    client.ping().await.expect("ping");

    let readme = client.read_resource("demo://readme").await.expect("readme");
    match &readme.contents[..] {
        [ResourceContents::Text(t)] => assert_eq!(t.text, "This is the mcp-ws demo server."),
        other => panic!("{other:?}"),
    }
    let greet = client
        .get_prompt("greet", BTreeMap::from([("name".to_string(), "Ada".to_string())]))
        .await
        .expect("greet");
    match &greet.messages[0].content {
        ContentBlock::Text(t) => assert_eq!(t.text, "Say hello to Ada."),
        other => panic!("{other:?}"),
    }
    client.close().await;
}

#[test]
fn our_client_on_both_runtimes_speaks_with_the_python_sdk_server() {
    let (_server, url) = python_server();
    block_on(Rt::Tokio, async { our_client_against_python(Tokio::new(), &url).await });
    block_on(Rt::Smol, our_client_against_python(Smol::new(), &url));
}

/// The child processes of `pid` (Linux).
fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let mut children: Vec<u32> = std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    // The runtime's worker threads may own children too.
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let file = task.path().join("children");
            for child in std::fs::read_to_string(file).unwrap_or_default().split_whitespace() {
                if let Ok(child) = child.parse() {
                    if !children.contains(&child) {
                        children.push(child);
                    }
                }
            }
        }
    }
    children
}

#[test]
fn serve_stdio_gives_each_client_its_own_python_stdio_server() {
    let python = python().display().to_string();
    let script = interop_dir().join("py_server.py").display().to_string();
    let (bridge, url) = serve(&["--stdio", "--", &python, &script, "--stdio", "--timeout", "120"]);

    // Two of our clients at once: two children.
    block_on(Rt::Tokio, async {
        let config = || {
            ClientConfig::new(Implementation::new("stdio-test", "0"))
                .version(ProtocolVersion::V2025_11_25)
                .reconnect(None)
        };
        let first = mcp_ws_tokio::connect(&url, config()).await.expect("first");
        let second = mcp_ws_tokio::connect(&url, config()).await.expect("second");
        assert_eq!(first.server_info().expect("info").name, "py-demo");
        let a = first.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
        let b = second.call_tool("echo", json!({"text": "two"})).await.expect("echo");
        assert_eq!((text(&a), text(&b)), ("5".to_string(), "two".to_string()));
        assert_eq!(children_of(bridge.pid()).len(), 2, "one child per connection");
        // String ids pass through untouched: the Python server echoes them.
        let raw = first
            .request(
                "tools/call",
                Some(
                    mcp_ws_driver::core::RawJson::from_string(
                        r#"{"name":"multiply","arguments":{"a":6,"b":7}}"#.into(),
                    )
                    .expect("json"),
                ),
                CallOptions::default(),
            )
            .await
            .expect("raw call");
        assert!(raw.get().contains("42"), "{raw}");
        first.close().await;
        second.close().await;
    });
    // Children stop with their connections.
    let pid = bridge.pid();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !children_of(pid).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "children left running: {:?}",
            children_of(pid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The TypeScript SDK client through the same bridge: the Python server answers.
    let report = report(Command::new("node").arg(node_client()).arg(&url));
    assert_demo_report(&report, "py-demo", false);
}

#[test]
fn serve_stdio_reports_a_child_that_cannot_start_in_the_close_reason() {
    let (_bridge, url) = serve(&["--stdio", "--", "/nonexistent/mcp-server"]);
    let result = block_on(Rt::Tokio, async {
        let config = ClientConfig::new(Implementation::new("stdio-test", "0")).reconnect(None);
        mcp_ws_tokio::connect(&url, config).await
    });
    match result {
        Err(mcp_ws_driver::ConnectError::Lifecycle(reason)) => {
            assert_eq!(reason.code.0, 1011);
            assert!(reason.reason.contains("could not start"), "{}", reason.reason);
        }
        other => panic!("expected a lifecycle failure with close 1011, got {other:?}"),
    }
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn the_python_stdio_client_keeps_its_session_through_connect_across_a_server_restart() {
    let listen = format!("127.0.0.1:{}", free_port());
    let (server, url) = serve_at(&listen, &[]);
    let mut client = Process::spawn(
        Command::new(python())
            .arg(interop_dir().join("py_stdio_client.py"))
            .args(["--timeout", "60", "--"])
            .arg(mcp_ws())
            .args(["connect", &url]),
    );
    let phase1: Value = serde_json::from_str(&client.line(LIMIT)).expect("phase 1 JSON");
    assert_eq!(phase1["phase"], 1);
    assert_eq!(phase1["add"], "5");
    assert_eq!(phase1["server_name"], "mcp-ws-demo");

    // Restart the server in the middle of the session.
    drop(server);
    let (_server, _) = serve_at(&listen, &[]);
    client.send_line("continue");
    let phase2: Value = serde_json::from_str(&client.line(LIMIT)).expect("phase 2 JSON");
    assert_eq!(phase2["ok"], true, "{phase2}");
    assert_eq!(phase2["add"], "15");
    assert_eq!(phase2["echo"], "again");
    assert!(client.wait(LIMIT).success());
}

/// Reads stdout lines of `process` until one parses as JSON with `id`, within `limit`.
fn answer_with_id(process: &Process, id: &Value, limit: Duration) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = process.line(left);
        assert!(!line.contains(REINIT), "the bridge's own initialize leaked to the client: {line}");
        let message: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        if &message["id"] == id {
            return message;
        }
    }
}

#[test]
fn connect_answers_requests_lost_in_a_cut_and_re_initializes_for_the_client() {
    let listen = format!("127.0.0.1:{}", free_port());
    let (server, url) = serve_at(&listen, &[]);
    let mut bridge = Process::spawn(Command::new(mcp_ws()).args(["connect", &url]));
    bridge.send_line(
        r#"{"jsonrpc":"2.0","id":"init-1","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-stdio","version":"0"}}}"#,
    );
    let init = answer_with_id(&bridge, &json!("init-1"), LIMIT);
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    bridge.send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    // A long call in flight when the server dies gets an error, not silence.
    bridge.send_line(
        r#"{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"slow_count","arguments":{"steps":100,"interval_ms":100}}}"#,
    );
    std::thread::sleep(Duration::from_millis(300));
    drop(server);
    let lost = answer_with_id(&bridge, &json!(41), LIMIT);
    assert_eq!(lost["error"]["code"], -32000, "{lost}");

    // After a restart the bridge re-initializes on the client's behalf: a plain request works
    // (an uninitialized legacy session would refuse it), and ids pass through untouched.
    let (_server, _) = serve_at(&listen, &[]);
    let mut answer = Value::Null;
    for attempt in 0..40 {
        let id = json!(format!("add-{attempt}"));
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 10, "b": 5}}});
        bridge.send_line(&request.to_string());
        answer = answer_with_id(&bridge, &id, LIMIT);
        if answer.get("result").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(answer["result"]["content"][0]["text"], "15", "{answer}");
    // The bridge's own initialize answer never reaches the client.
    drop(bridge.child.stdin.take());
    assert!(bridge.wait(LIMIT).success(), "the bridge exits cleanly when stdin closes");
    let rest: Vec<String> = bridge.stdout.as_ref().expect("stdout").try_iter().collect();
    assert!(rest.iter().all(|line| !line.contains(REINIT)), "{rest:?}");
}

const REINIT: &str = "mcp-ws-bridge-reinit-";
