//! `mcp-ws connect` against a scripted server that misbehaves on purpose: it closes in the
//! middle of the bridge's re-initialize, and sends text that is not JSON-RPC. Seen from the
//! stdio client: every request gets exactly one answer, only JSON-RPC reaches stdout, and
//! nothing but the re-initialize reaches a connection whose lifecycle is not complete.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::accept_hdr_async;
use mcp_ws_driver::async_tungstenite::tungstenite::Message;
use mcp_ws_driver::async_tungstenite::tungstenite::handshake::server::{Request, Response};
use mcp_ws_driver::async_tungstenite::tungstenite::http::HeaderValue;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A `mcp-ws connect` process, killed when dropped.
struct Bridge {
    child: Child,
    lines: std_mpsc::Receiver<String>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bridge {
    fn start(url: &str) -> Bridge {
        let mut child = Command::new(support::BINARY)
            .args(["connect", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcp-ws connect");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Bridge { child, lines }
    }

    fn write(&mut self, message: Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{message}").expect("write stdin");
        stdin.flush().expect("flush");
    }

    /// Every line the bridge writes within `span`.
    fn lines_for(&self, span: Duration) -> Vec<String> {
        let end = Instant::now() + span;
        let mut lines = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        lines
    }

    /// The next line, within five seconds.
    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(5)).expect("a line from the bridge")
    }
}

/// What the scripted server tells the test.
#[derive(Debug)]
enum Seen {
    /// Connection `n` received this message.
    Frame(usize, Value),
}

/// Accepts connections one after another and plays a script on each: connection 1 answers
/// `initialize`, sends text that is not JSON-RPC (when `garbage`), and closes after `notifications/initialized`;
/// connection 2 closes as soon as the bridge's re-initialize arrives plus `hold`; connection 3
/// answers everything.
// tungstenite's handshake callback returns its own (large) error type.
#[allow(clippy::result_large_err)]
async fn scripted_server(
    listener: TcpListener,
    seen: mpsc::UnboundedSender<Seen>,
    mut release_second: mpsc::UnboundedReceiver<()>,
    garbage: bool,
    refuse_second: bool,
) {
    for n in 1..=3 {
        let Ok((stream, _)) = listener.accept().await else { return };
        let select_mcp = |_: &Request, mut response: Response| {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("mcp"));
            Ok(response)
        };
        let Ok(mut ws) = accept_hdr_async(stream, select_mcp).await else { return };
        while let Some(Ok(frame)) = ws.next().await {
            let Message::Text(text) = frame else { continue };
            let message: Value =
                serde_json::from_str(text.as_str()).expect("the bridge sends JSON");
            let _ = seen.send(Seen::Frame(n, message.clone()));
            let method = message["method"].as_str().unwrap_or_default().to_string();
            let id = message.get("id").cloned();
            match (n, method.as_str(), id) {
                (2, "initialize", Some(id)) => {
                    // Mid-handshake: hold the answer until the test says; then either drop the
                    // link or refuse the initialize and keep listening.
                    let _ = release_second.recv().await;
                    if !refuse_second {
                        break;
                    }
                    let refusal = json!({"jsonrpc": "2.0", "id": id,
                        "error": {"code": -32603, "message": "not ready"}});
                    let _ = ws.send(Message::text(refusal.to_string())).await;
                }
                (_, "initialize", Some(id)) => {
                    let result = json!({"jsonrpc": "2.0", "id": id, "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "serverInfo": {"name": "scripted", "version": "1"}}});
                    let _ = ws.send(Message::text(result.to_string())).await;
                    if n == 1 && garbage {
                        let _ = ws.send(Message::text("this is not JSON-RPC")).await;
                        let _ = ws.send(Message::text(r#"{"not":"a message"}"#)).await;
                    }
                }
                (1, "notifications/initialized", _) => break,
                (_, _, Some(id)) => {
                    let result = json!({"jsonrpc": "2.0", "id": id, "result": {"content": []}});
                    let _ = ws.send(Message::text(result.to_string())).await;
                }
                _ => {}
            }
        }
        drop(ws);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_written_during_a_cut_re_initialize_is_answered_exactly_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
    let (seen_sender, mut seen) = mpsc::unbounded_channel();
    let (release, release_second) = mpsc::unbounded_channel();
    let server = tokio::spawn(scripted_server(listener, seen_sender, release_second, false, false));

    let mut bridge = Bridge::start(&url);
    bridge.write(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "stdio-client", "version": "1"}}}));
    let answer: Value = serde_json::from_str(&bridge.next_line()).expect("JSON");
    assert_eq!(answer["id"], 0);
    bridge.write(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    // Wait until connection 2 holds the bridge's re-initialize unanswered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let Seen::Frame(n, message) = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .expect("the bridge re-initializes on a second connection")
            .expect("server running");
        if n == 2 {
            assert_eq!(message["method"], "initialize");
            assert_eq!(message["id"], "mcp-ws-bridge-reinit-1");
            break;
        }
    }
    // Request 1 is written while the lifecycle is incomplete; then the link drops.
    bridge.write(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {}}}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(()).expect("server running");

    let lines = tokio::task::spawn_blocking(move || {
        let lines = bridge.lines_for(Duration::from_secs(3));
        (bridge, lines)
    })
    .await
    .expect("reader");
    let (_bridge, lines) = lines;
    let messages: Vec<Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON on stdout: {line}"))
        })
        .collect();
    let answers: Vec<&Value> = messages.iter().filter(|m| m["id"] == 1).collect();
    assert_eq!(answers.len(), 1, "request 1 must get exactly one answer: {messages:?}");
    assert!(
        answers[0].get("result").is_some(),
        "it is answered by the third connection: {answers:?}"
    );
    for message in &messages {
        assert_eq!(message["jsonrpc"], "2.0", "only JSON-RPC reaches stdout: {message}");
    }

    // What each connection received: connection 2 saw nothing but the re-initialize.
    let mut received: Vec<(usize, Value)> = Vec::new();
    while let Ok(Seen::Frame(n, message)) = seen.try_recv() {
        received.push((n, message));
    }
    assert!(
        received.iter().all(|(n, _)| *n != 2),
        "connection 2 got more than the re-initialize: {received:?}"
    );
    let third: Vec<&Value> = received.iter().filter(|(n, _)| *n == 3).map(|(_, m)| m).collect();
    assert_eq!(third[0]["method"], "initialize");
    assert_eq!(third[1]["method"], "notifications/initialized");
    assert_eq!(third[2]["id"], 1);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_from_the_server_that_is_not_json_rpc_never_reaches_stdout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
    let (seen_sender, _seen) = mpsc::unbounded_channel();
    let (_release, release_second) = mpsc::unbounded_channel();
    let server = tokio::spawn(scripted_server(listener, seen_sender, release_second, true, false));
    let mut bridge = Bridge::start(&url);
    bridge.write(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "stdio-client", "version": "1"}}}));
    let lines = tokio::task::spawn_blocking(move || bridge.lines_for(Duration::from_secs(1)))
        .await
        .expect("reader");
    assert_eq!(lines.len(), 1, "only the initialize result: {lines:?}");
    let answer: Value = serde_json::from_str(&lines[0]).expect("JSON");
    assert_eq!((answer["jsonrpc"].as_str(), answer["id"].as_i64()), (Some("2.0"), Some(0)));
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_re_initialize_sends_nothing_queued_on_that_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
    let (seen_sender, mut seen) = mpsc::unbounded_channel();
    let (release, release_second) = mpsc::unbounded_channel();
    let server = tokio::spawn(scripted_server(listener, seen_sender, release_second, false, true));
    let mut bridge = Bridge::start(&url);
    bridge.write(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "stdio-client", "version": "1"}}}));
    let answer: Value = serde_json::from_str(&bridge.next_line()).expect("JSON");
    assert_eq!(answer["id"], 0);
    bridge.write(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let Seen::Frame(n, _) = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .expect("a second connection")
            .expect("server running");
        if n == 2 {
            break;
        }
    }
    bridge.write(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "echo", "arguments": {}}}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(()).expect("server running");
    let (_bridge, lines) = tokio::task::spawn_blocking(move || {
        let lines = bridge.lines_for(Duration::from_secs(3));
        (bridge, lines)
    })
    .await
    .expect("reader");
    let mut received: Vec<(usize, Value)> = Vec::new();
    while let Ok(Seen::Frame(n, message)) = seen.try_recv() {
        received.push((n, message));
    }
    let second: Vec<&Value> = received.iter().filter(|(n, _)| *n == 2).map(|(_, m)| m).collect();
    assert!(second.is_empty(), "connection 2 refused initialize, yet got: {second:?}");
    let answers: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON"))
        .filter(|m| m["id"] == 1)
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(answers[0].get("result").is_some(), "the next connection ran it: {answers:?}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::result_large_err)]
async fn a_server_closing_the_connection_gets_its_close_answered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
    let (answered_sender, mut answered) = mpsc::unbounded_channel();
    let server = tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else { return };
        let select_mcp = |_: &Request, mut response: Response| {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("mcp"));
            Ok(response)
        };
        let Ok(mut ws) = accept_hdr_async(stream, select_mcp).await else { return };
        let frame = mcp_ws_driver::async_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1001.into(),
            reason: "going away".into(),
        };
        let _ = ws.send(Message::Close(Some(frame))).await;
        let reply = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        let _ = answered_sender.send(format!("{reply:?}"));
    });
    let _bridge = Bridge::start(&url);
    let reply = tokio::time::timeout(Duration::from_secs(10), answered.recv())
        .await
        .expect("the server saw something in time")
        .expect("server ran");
    assert!(reply.contains("Close(Some"), "the bridge answered the close: {reply}");
    server.abort();
}

#[test]
fn connect_bridges_stdio_to_a_streamable_http_server() {
    let served = support::serve(&[]);
    let url = served.url.replacen("ws://", "http://", 1);
    let mut bridge = Bridge::start(&url);
    bridge.write(json!({"jsonrpc": "2.0", "id": "i", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "stdio-client", "version": "0"}}}));
    let answer: Value = serde_json::from_str(&bridge.next_line()).expect("json");
    assert_eq!(
        (&answer["id"], &answer["result"]["protocolVersion"]),
        (&json!("i"), &json!("2025-11-25")),
        "{answer}"
    );
    bridge.write(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    bridge.write(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 40, "b": 2}}}));
    let answer: Value = serde_json::from_str(&bridge.next_line()).expect("json");
    assert_eq!(answer["id"], 2, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "42", "{answer}");
}
