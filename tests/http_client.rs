//! Our client over Streamable HTTP (`http://` URLs): against the official Python SDK's FastMCP
//! served with its Streamable HTTP transport (stateful with session ids and SSE answers, and
//! stateless with JSON answers), on tokio and smol; and against scripted raw-HTTP servers for
//! the edge cases the SDK will not produce on demand (a cut SSE stream resumed with
//! `Last-Event-ID` after the `retry:` hint, 404 on a session, 405 on the GET stream).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_ws_driver::core::mcp::{Implementation, Root};
use mcp_ws_driver::core::{Era, ProtocolVersion};
use mcp_ws_driver::{CallOptions, ClientConfig, Network, PeerRequests};
use mcp_ws_smol::Smol;
use mcp_ws_tests::peers::{self, interop_dir, lines_of, python};
use mcp_ws_tests::{Rt, block_on, within};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

/// The Python SDK server, killed when the test ends.
struct PyServer {
    child: Child,
    url: String,
}

impl PyServer {
    fn start(extra: &[&str]) -> PyServer {
        let mut child = Command::new(python())
            .arg(interop_dir().join("py_http_server.py"))
            .args(["--port", "0", "--timeout", "120"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start py_http_server.py");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let line = lines.recv_timeout(LIMIT).expect("no LISTENING line");
        let url = line.strip_prefix("LISTENING ").expect("LISTENING line").to_string();
        PyServer { child, url }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(result: &mcp_ws_driver::core::mcp::CallToolResult) -> String {
    result.joined_text()
}

/// Initialize, list, calls, a call with progress, server requests (roots, elicitation, ping)
/// answered by POSTing the response, and a ping of ours.
async fn our_client_against_python_http<N: Network>(net: N, url: &str, streaming: bool) {
    let roots = vec![Root { uri: "file:///tmp/ours".into(), ..Default::default() }];
    let peer_requests = PeerRequests::default().roots(roots).elicitation(|_, _| async {
        Ok(mcp_ws_driver::core::mcp::ElicitResult {
            action: mcp_ws_driver::core::mcp::ElicitAction::Accept,
            content: json!({"confirm": true}).as_object().cloned(),
            meta: None,
            extra: Default::default(),
        })
    });
    let config =
        ClientConfig::new(Implementation::new("mcp-ws-http", "0")).peer_requests(peer_requests);
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), url, config))
        .await
        .expect("connect in time")
        .expect("connect");
    // Dual-era: the 2026-07-28 probe fails on a 1.x server, so the client falls back.
    let info = client.ready_info().expect("ready");
    assert_eq!((info.era, info.version), (Era::Legacy, ProtocolVersion::V2025_11_25));
    assert_eq!(client.server_info().expect("serverInfo").name, "py-demo");

    let mut names: Vec<String> =
        client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(names, peers::DEMO_TOOLS);
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!((text(&sum).as_str(), sum.failed()), ("5", false));
    let by_zero = client.call_tool("divide", json!({"a": 1, "b": 0})).await.expect("divide");
    assert!(by_zero.failed());
    assert_eq!(text(&by_zero), "division by zero");

    let (call, progress) = client
        .call_tool_with_progress(
            "slow_count",
            json!({"steps": 3, "interval_ms": 20}),
            CallOptions::default(),
        )
        .expect("args");
    let (result, reports) =
        futures_util::future::join(call, futures_util::StreamExt::collect::<Vec<_>>(progress))
            .await;
    assert_eq!(text(&result.expect("slow_count")), "counted to 3");
    // Progress and server requests travel on SSE streams; a JSON-answering server has none.
    let expected: &[f64] = if streaming { &[1.0, 2.0, 3.0] } else { &[] };
    assert_eq!(reports.iter().map(|p| p.progress).collect::<Vec<_>>(), expected);

    if streaming {
        let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
        assert_eq!(text(&roots), "file:///tmp/ours");
        let confirmed =
            client.call_tool("confirm", json!({"question": "Deploy?"})).await.expect("confirm");
        assert_eq!(text(&confirmed), "confirmed: Deploy?");
        let pong = client.call_tool("ping_client", json!({})).await.expect("ping_client");
        assert_eq!(text(&pong), "pong");
    }
    client.ping().await.expect("ping");
    client.close().await;
}

#[test]
fn our_client_on_both_runtimes_speaks_streamable_http_with_the_python_sdk_server() {
    let server = PyServer::start(&[]);
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    block_on(Rt::Tokio, async {
        our_client_against_python_http(Tokio::new(), &server.url, true).await
    });
    block_on(Rt::Smol, our_client_against_python_http(Smol::new(), &server.url, true));
}

#[test]
fn our_client_speaks_with_the_python_sdk_server_in_stateless_json_mode() {
    let server = PyServer::start(&["--stateless", "--json"]);
    block_on(Rt::Tokio, async {
        our_client_against_python_http(Tokio::new(), &server.url, false).await
    });
}
