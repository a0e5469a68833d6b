//! The stdio backend (`mcp-ws serve --stdio -- CMD`, [`SessionBackend::Stdio`]): a stdio MCP
//! server (the official Python SDK's FastMCP, `tests/interop/py_server.py --stdio`) served
//! over Streamable HTTP as well as WebSocket, one child process per session:
//!
//! - our client over `http://` and the Python SDK's `streamablehttp_client` through
//!   `initialize`, `tools/list`, `tools/call` (with progress, and a server request answered by
//!   the client), each session with its own child, stopped when the session ends;
//! - a 2026-07-28 sessionless `POST` is answered -32022 and starts no child;
//! - the library backend on smol, over both transports.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_ws_driver::core::mcp::{Implementation, Root};
use mcp_ws_driver::server::gateway::SessionBackend;
use mcp_ws_driver::server::stdio::StdioServer;
use mcp_ws_driver::{ClientConfig, Network, PeerRequests, ServerConfig};
use mcp_ws_smol::Smol;
use mcp_ws_tests::peers::{self, interop_dir, lines_of, mcp_ws, python};
use mcp_ws_tests::{Rt, TestServer, block_on, eventually, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// The Python SDK's demo server on stdio: the command and its arguments.
fn python_stdio_server() -> Vec<String> {
    let script = interop_dir().join("py_server.py");
    [python().display().to_string(), script.display().to_string()]
        .into_iter()
        .chain(["--stdio", "--timeout", "120"].map(String::from))
        .collect()
}

/// `mcp-ws serve --stdio -- <the Python stdio server>`, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(mcp_ws())
            .args(["serve", "--listen", "127.0.0.1:0", "--stdio", "--"])
            .args(python_stdio_server())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mcp-ws serve --stdio");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let url = lines.recv_timeout(LIMIT).expect("the URL line");
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        Served { child, url }
    }

    fn port(&self) -> u16 {
        let authority = self.url.trim_start_matches("ws://").trim_end_matches("/mcp");
        authority.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes whose parent is `pid` running `py_server.py` (Linux).
fn stdio_children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        let after = stat.rsplit(')').next().unwrap_or_default();
        let parent = after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        let command = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        if parent == Some(pid) && String::from_utf8_lossy(&command).contains("py_server.py") {
            children.push(child);
        }
    }
    children
}

/// Waits (bounded) until `pid` has no stdio child left.
fn wait_for_no_children(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !stdio_children_of(pid).is_empty() {
        assert!(Instant::now() < deadline, "children left running: {:?}", stdio_children_of(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client_config() -> ClientConfig {
    let roots = vec![Root { uri: "file:///tmp/through-stdio".into(), ..Default::default() }];
    ClientConfig::new(Implementation::new("stdio-backend-test", "0"))
        .peer_requests(PeerRequests::default().roots(roots))
        .reconnect(None)
}

/// Initializes (our dual-era client: over `http://` its 2026-07-28 probe is refused and it
/// falls back to `initialize`), lists, calls, a call with progress and a server request
/// answered by the client, all against the Python stdio server behind `url`.
async fn against_the_python_stdio_server<N: Network>(net: N, url: &str) {
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), url, client_config()))
        .await
        .expect("connect in time")
        .expect("connect");
    assert_eq!(client.server_info().expect("serverInfo").name, "py-demo");
    let tools: Vec<String> =
        client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name).collect();
    for tool in peers::DEMO_TOOLS {
        assert!(tools.iter().any(|t| t == tool), "{tool} missing from {tools:?}");
    }
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!((sum.joined_text().as_str(), sum.failed()), ("5", false));
    let (result, reports) = peers::count_to_three_with_progress(&client).await;
    assert_eq!(result.expect("slow_count").joined_text(), "counted to 3");
    assert_eq!(reports, [1.0, 2.0, 3.0]);
    let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
    assert!(roots.joined_text().contains("file:///tmp/through-stdio"), "{roots:?}");
    client.close().await;
}

#[test]
fn our_http_client_and_the_python_sdks_reach_a_stdio_server_each_with_its_own_child() {
    let served = Served::start();
    let pid = served.child.id();
    let http = served.url.replacen("ws://", "http://", 1);
    block_on(Rt::Tokio, async {
        let net = Tokio::new();
        against_the_python_stdio_server(net.clone(), &http).await;
        // The session ended (the client's DELETE, sent from its runtime): its child is stopped.
        let gone = || stdio_children_of(pid).is_empty();
        assert!(eventually(&net, Duration::from_secs(15), gone).await, "the child still runs");
    });

    let (succeeded, report, errors) = peers::python_http_client_report(&http);
    assert!(succeeded && report["ok"] == true, "{report} {errors}");
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert!(report["session_id"].as_str().is_some_and(|id| !id.is_empty()), "{report}");
    assert_eq!(report["tools"], json!(peers::DEMO_TOOLS));
    assert_eq!(report["progress"], json!([1.0, 2.0, 3.0]));
    assert_eq!(report["slow_count"], "counted to 3");
    assert_eq!(report["list_roots"], "file:///tmp/mcp-ws-interop");
    wait_for_no_children(pid);
}

/// POSTs `body` with `headers` to `/mcp` on `port`; the status and the body as JSON.
fn post(port: u16, headers: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("tcp");
    stream.set_read_timeout(Some(LIMIT)).expect("timeout");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: application/json, \
         text/event-stream\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {response}")))
}

#[test]
fn a_2026_sessionless_post_is_answered_32022_and_starts_no_child() {
    let served = Served::start();
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
    let headers = "mcp-protocol-version: 2026-07-28\r\nmcp-method: tools/list\r\n";
    let (status, answer) = post(served.port(), headers, &body.to_string());
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["error"]["code"], -32022, "{answer}");
    assert!(answer["error"]["data"]["supported"].as_array().is_some_and(|v| !v.is_empty()));
    assert!(stdio_children_of(served.child.id()).is_empty(), "a child was started");
}

/// A library server on `rt` whose sessions each run the Python stdio server.
fn stdio_config() -> ServerConfig {
    let command = python_stdio_server();
    let mut config = server_config();
    let server = StdioServer::new(command[0].as_str(), command[1..].iter().map(String::as_str));
    config.backend = SessionBackend::Stdio(Arc::new(server));
    config
}

#[test]
fn the_stdio_backend_runs_on_smol_over_websocket_and_http() {
    let server = TestServer::start(Rt::Smol, stdio_config());
    let http = server.url.replacen("ws://", "http://", 1);
    block_on(Rt::Smol, async {
        let net = Smol::new();
        against_the_python_stdio_server(net.clone(), &server.url).await;
        against_the_python_stdio_server(net.clone(), &http).await;
        let gone = || stdio_children_of(std::process::id()).is_empty();
        assert!(eventually(&net, Duration::from_secs(15), gone).await, "a child still runs");
    });
    server.shutdown();
}
