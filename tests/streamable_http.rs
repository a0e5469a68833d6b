//! Streamable HTTP, server side: a session served through the in-memory message pipe runs the
//! same core session, loop and router as a WebSocket connection, on both runtimes.
//!
//! Then the endpoint itself: raw HTTP/1.1 over a plain TCP socket for the status table, and the
//! official Python SDK's Streamable HTTP client against the listener.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::server::limits::Admission;
use mcp_ws_driver::{MessagePipe, Network, PipeEnd, Server};
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Probe, server_config, test_router};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

/// Generous: the box is shared and slow; what must happen happens well within it.
const PATIENCE: Duration = Duration::from_secs(20);

async fn next_message(pipe: &mut PipeEnd) -> Value {
    let text = pipe.from_loop.next().await.expect("the session wrote a message");
    serde_json::from_str(&text).expect("JSON")
}

/// Initialize, list tools, then drop the sender: the session's future must end.
async fn exchange(pipe: &mut PipeEnd) {
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": { "roots": {} },
            "clientInfo": { "name": "pipe-test", "version": "0" }
        }
    });
    pipe.to_loop.send(initialize.to_string()).await.unwrap();
    let answer = next_message(pipe).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    pipe.to_loop.send(initialized.to_string()).await.unwrap();
    let list = json!({ "jsonrpc": "2.0", "id": "two", "method": "tools/list" });
    pipe.to_loop.send(list.to_string()).await.unwrap();
    let answer = next_message(pipe).await;
    assert_eq!(answer["id"], "two");
    let tools = answer["result"]["tools"].as_array().expect("a tool list");
    assert!(tools.iter().any(|tool| tool["name"] == "hold"), "the test router's tools: {answer}");
}

async fn serve_and_exchange<N: Network>(net: N) {
    let server = Server::new(
        net.clone(),
        test_router(net.clone(), Arc::new(Probe::default())),
        server_config(),
    );
    let permit = match server.admit(None) {
        Admission::Admitted(permit) => permit,
        _ => panic!("a fresh server admits"),
    };
    let (loop_end, mut pipe) = MessagePipe::default().open();
    let served = server.serve_messages(loop_end, None, permit);
    let client = async move {
        exchange(&mut pipe).await;
        drop(pipe.to_loop);
        // The loop ends: its output side closes after the session.
        while pipe.from_loop.next().await.is_some() {}
    };
    let both = futures_util::future::join(served, client);
    let deadline = net.sleep_until(net.now() + PATIENCE);
    match futures_util::future::select(Box::pin(both), Box::pin(deadline)).await {
        futures_util::future::Either::Left(_) => {}
        futures_util::future::Either::Right(_) => panic!("the piped session did not end in time"),
    }
    assert!(server.connections().is_empty(), "the session is untracked once it ended");
}

#[test]
fn a_piped_session_answers_and_ends_when_its_sender_is_dropped_on_tokio() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(serve_and_exchange(Tokio::new()));
}

#[test]
fn a_piped_session_answers_and_ends_when_its_sender_is_dropped_on_smol() {
    smol::block_on(serve_and_exchange(Smol::new()));
}

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;

use mcp_ws_tests::peers::{interop_dir, python};
use mcp_ws_tests::{Rt, TestServer};

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection (`Connection: close`), read to the end.
fn http(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer { status, headers, body: body.to_string() }
}

const JSON_POST: [(&str, &str); 2] =
    [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];

fn initialize_body() -> String {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": { "name": "raw", "version": "0" }
        }
    })
    .to_string()
}

fn raw_statuses(rt: Rt) {
    let server = TestServer::start(rt, server_config());
    let addr = server.addr;
    let json_only = [("Content-Type", "application/json"), ("Accept", "application/json")];
    let init = http(addr, "POST", &json_only, &initialize_body());
    assert_eq!(init.status, 200, "{}", init.body);
    assert_eq!(init.header("content-type"), Some("application/json"));
    let answer: Value = serde_json::from_str(&init.body).unwrap();
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    let session = init.header("mcp-session-id").expect("a session id").to_string();
    assert!(session.len() >= 32 && session.bytes().all(|b| b.is_ascii_graphic()));
    let in_session = |extra: &[(&'static str, &str)]| {
        let mut headers: Vec<(&str, &str)> = JSON_POST.to_vec();
        headers.push(("Mcp-Session-Id", &session));
        headers.push(("MCP-Protocol-Version", "2025-11-25"));
        headers.extend_from_slice(extra);
        headers.into_iter().map(|(n, v)| (n, v.to_string())).collect::<Vec<_>>()
    };
    fn as_refs<'a>(h: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        h.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let headers = in_session(&[]);
    assert_eq!(http(addr, "POST", &as_refs(&headers), &initialized.to_string()).status, 202);
    // A request in the session, answered as SSE.
    let list = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" }).to_string();
    let listed = http(addr, "POST", &as_refs(&headers), &list);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("content-type"), Some("text/event-stream"));
    let data = listed.body.lines().find_map(|l| l.strip_prefix("data: ")).expect("an event");
    let answer: Value = serde_json::from_str(data).unwrap();
    assert_eq!(answer["id"], 2);
    assert!(answer["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()));
    // No session id: 400; an unknown one: 404; an unsupported version: 400.
    assert_eq!(http(addr, "POST", &JSON_POST, &list).status, 400);
    let mut unknown: Vec<(&str, &str)> = JSON_POST.to_vec();
    unknown.push(("Mcp-Session-Id", "0123456789abcdef0123456789abcdef"));
    assert_eq!(http(addr, "POST", &unknown, &list).status, 404);
    let old = in_session(&[]);
    let mut old = as_refs(&old);
    old.retain(|(n, _)| *n != "MCP-Protocol-Version");
    old.push(("MCP-Protocol-Version", "1999-01-01"));
    assert_eq!(http(addr, "POST", &old, &list).status, 400);
    // A cross-origin POST: 403, by the same policy as the upgrade.
    let evil = in_session(&[("Origin", "https://evil.example")]);
    assert_eq!(http(addr, "POST", &as_refs(&evil), &list).status, 403);
    // Over the message limit: 413 (the default limit is 16 MiB; a GET of another type: 406).
    let get_json = [("Accept", "application/json"), ("Mcp-Session-Id", session.as_str())];
    assert_eq!(http(addr, "GET", &get_json, "").status, 426, "a plain GET is not an SSE GET");
    // DELETE ends the session; it is then unknown.
    let end = [("Mcp-Session-Id", session.as_str())];
    assert_eq!(http(addr, "DELETE", &end, "").status, 200);
    assert_eq!(http(addr, "POST", &as_refs(&headers), &list).status, 404);
    assert_eq!(http(addr, "DELETE", &end, "").status, 404);
}

#[test]
fn raw_http_statuses_of_a_legacy_session_on_tokio() {
    raw_statuses(Rt::Tokio);
}

#[test]
fn raw_http_statuses_of_a_legacy_session_on_smol() {
    raw_statuses(Rt::Smol);
}

#[test]
fn the_python_sdk_streamable_http_client_speaks_with_our_server() {
    let server = TestServer::start(Rt::Tokio, server_config());
    let url = format!("http://{}/mcp", server.addr);
    let output = Command::new(python())
        .arg(interop_dir().join("py_http_client.py"))
        .arg(&url)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!("no report ({e}): {stdout} {}", String::from_utf8_lossy(&output.stderr))
        });
    assert!(
        output.status.success() && report["ok"] == true,
        "{report} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert!(report["tools"].as_array().unwrap().iter().any(|t| t == "slow_count"));
    assert_eq!(report["progress"], json!([1.0, 2.0, 3.0]));
    assert_eq!(report["slow_count"], "counted to 3");
    assert_eq!(report["list_roots"], "file:///tmp/mcp-ws-interop");
}
