//! Streamable HTTP, 2026-07-28, server side: raw HTTP/1.1 against `Server::listen` on tokio
//! and on smol. No session: each POST stands alone, its answer JSON when nothing precedes it
//! and an SSE stream otherwise; the SEP-2243 headers are checked against the body; errors
//! carry their HTTP status (-32020/-32021/-32022 400, -32601 404); `GET`/`DELETE` are 405;
//! closing a request's response cancels its handler; `subscriptions/listen` is a long-lived
//! stream with keep-alive comments.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mcp_ws_driver::core::mcp::{CallToolResult, Tool};
use mcp_ws_driver::{ListKind, Router};
use mcp_ws_tests::{Rt, TestServer, server_config};
use serde_json::{Value, json};

/// Generous: the box is shared and slow; what must happen happens well within it.
const PATIENCE: Duration = Duration::from_secs(20);

const V2026: &str = "2026-07-28";

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"), "{}", self.body);
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The messages of an SSE body, in order.
    fn events(&self) -> Vec<Value> {
        assert_eq!(self.header("content-type"), Some("text/event-stream"), "{}", self.body);
        self.body
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| serde_json::from_str(data.trim()).expect("JSON data"))
            .collect()
    }
}

fn request_text(addr: SocketAddr, method: &str, headers: &[(&str, String)], body: &str) -> String {
    let mut request = format!("{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    request
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// One request on its own connection, read to the end (chunk-size lines of a chunked body are
/// left in: the assertions read `data:` lines and JSON bodies only).
fn http(addr: SocketAddr, method: &str, headers: &[(&str, String)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    // Bounded in total, not per read: keep-alive comments would reset a per-read timeout.
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    stream.write_all(request_text(addr, method, headers, body).as_bytes()).unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        assert!(started.elapsed() < PATIENCE, "the response did not end: {raw:?}");
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let (status, headers) = parse_head(head);
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Answer { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    out
}

fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": V2026,
        "io.modelcontextprotocol/clientInfo": { "name": "raw-2026", "version": "0" },
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

/// The headers a 2026-07-28 client sends with `method` (and `Mcp-Name` when given).
fn headers_for(method: &str, name: Option<&str>, accept: &str) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("Accept", accept.to_string()),
        ("MCP-Protocol-Version", V2026.to_string()),
        ("Mcp-Method", method.to_string()),
    ];
    if let Some(name) = name {
        headers.push(("Mcp-Name", name.to_string()));
    }
    headers
}

const BOTH: &str = "application/json, text/event-stream";

fn call_body(id: u64, tool: &str, arguments: Value, extra_meta: Value) -> String {
    let mut meta = meta(json!({}));
    if let (Value::Object(meta), Value::Object(extra)) = (&mut meta, extra_meta) {
        meta.extend(extra);
    }
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments, "_meta": meta }
    })
    .to_string()
}

fn stateless_calls(rt: Rt) {
    let server = TestServer::start(rt, server_config());
    let addr = server.addr;

    // Nothing precedes the result: one JSON object, no session.
    let body = call_body(1, "echo", json!({ "text": "hi" }), json!({}));
    let answer = http(addr, "POST", &headers_for("tools/call", Some("echo"), BOTH), &body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("mcp-session-id"), None, "2026-07-28 has no sessions");
    let json = answer.json();
    assert_eq!(json["id"], 1);
    assert_eq!(json["result"]["content"][0]["text"], "hi", "{json}");
    assert_eq!(json["result"]["resultType"], "complete", "{json}");

    // Progress before the result: an SSE stream of the progress, then the answer, then its end.
    let arguments = json!({ "steps": 3, "interval_ms": 20 });
    let body = call_body(2, "slow_count", arguments, json!({ "progressToken": "p" }));
    let answer = http(addr, "POST", &headers_for("tools/call", Some("slow_count"), BOTH), &body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-accel-buffering"), Some("no"));
    let events = answer.events();
    let methods: Vec<_> = events.iter().map(|e| e["method"].as_str().unwrap_or("answer")).collect();
    assert_eq!(
        methods,
        ["notifications/progress", "notifications/progress", "notifications/progress", "answer"],
        "{events:?}"
    );
    assert_eq!(events[0]["params"]["progressToken"], "p");
    assert_eq!(events[3]["id"], 2);
    assert_eq!(events[3]["result"]["content"][0]["text"], "counted to 3");

    // The same call from a client that accepts only JSON: the answer alone.
    let body = call_body(3, "slow_count", json!({ "steps": 2, "interval_ms": 20 }), json!({}));
    let headers = headers_for("tools/call", Some("slow_count"), "application/json");
    let answer = http(addr, "POST", &headers, &body);
    assert_eq!(answer.json()["result"]["content"][0]["text"], "counted to 2");

    // A client that takes only SSE gets a stream even when the answer comes first, and the
    // stream ends with it.
    let body = call_body(4, "echo", json!({ "text": "sse" }), json!({}));
    let headers = headers_for("tools/call", Some("echo"), "text/event-stream");
    let started = Instant::now();
    let events = http(addr, "POST", &headers, &body).events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["result"]["content"][0]["text"], "sse");
    assert!(started.elapsed() < Duration::from_secs(5), "the stream ended with its answer");

    // A notification is accepted and not answered.
    let notification = json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": { "requestId": 9, "_meta": meta(json!({})) }
    });
    let headers = headers_for("notifications/cancelled", None, BOTH);
    let answer = http(addr, "POST", &headers, &notification.to_string());
    assert_eq!((answer.status, answer.body.as_str()), (202, ""));
    assert!(server.connections().is_empty(), "no session outlives its POST");
    server.shutdown();
}

#[test]
fn a_stateless_call_is_answered_as_json_or_as_sse_with_its_progress_on_tokio() {
    stateless_calls(Rt::Tokio);
}

#[test]
fn a_stateless_call_is_answered_as_json_or_as_sse_with_its_progress_on_smol() {
    stateless_calls(Rt::Smol);
}

/// The test router plus `regional {region}`, whose parameter is mirrored into
/// `Mcp-Param-Region` (SEP-2243 `x-mcp-header`).
fn with_header_parameter(router: Router) -> Router {
    let schema = json!({
        "type": "object",
        "properties": { "region": { "type": "string", "x-mcp-header": "Region" } },
        "required": ["region"]
    });
    let Value::Object(input_schema) = schema else { unreachable!() };
    let tool = Tool { name: "regional".into(), input_schema, ..Default::default() };
    router.tool_def(tool, |arguments: Value, _| async move {
        Ok(CallToolResult::text(arguments["region"].as_str().unwrap_or("").to_string()))
    })
}

fn error_answers(rt: Rt) {
    let localhost = "127.0.0.1:0".parse().unwrap();
    let server =
        TestServer::start_with(rt, server_config(), localhost, with_header_parameter, None);
    let addr = server.addr;
    let list = json!({
        "jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": { "_meta": meta(json!({})) }
    })
    .to_string();

    // Mcp-Method names another method: 400 with -32020 and the request's id.
    let answer = http(addr, "POST", &headers_for("prompts/list", None, BOTH), &list);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        (answer.json()["id"].clone(), answer.json()["error"]["code"].clone()),
        (json!(11), json!(-32020))
    );

    // Mcp-Name does not match the tool: -32020.
    let body = call_body(12, "echo", json!({ "text": "x" }), json!({}));
    let answer = http(addr, "POST", &headers_for("tools/call", Some("add"), BOTH), &body);
    assert_eq!((answer.status, answer.json()["error"]["code"].clone()), (400, json!(-32020)));

    // No MCP-Protocol-Version header while _meta names one: -32020.
    let mut headers = headers_for("tools/list", None, BOTH);
    headers.retain(|(name, _)| *name != "MCP-Protocol-Version");
    let answer = http(addr, "POST", &headers, &list);
    assert_eq!((answer.status, answer.json()["error"]["code"].clone()), (400, json!(-32020)));

    // A version this server does not speak: 400 with -32022 and what it does speak.
    let mut unknown_meta = meta(json!({}));
    unknown_meta["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let body = json!({
        "jsonrpc": "2.0", "id": 13, "method": "tools/list", "params": { "_meta": unknown_meta }
    })
    .to_string();
    let mut headers = headers_for("tools/list", None, BOTH);
    headers.retain(|(name, _)| *name != "MCP-Protocol-Version");
    headers.push(("MCP-Protocol-Version", "2099-01-01".to_string()));
    let answer = http(addr, "POST", &headers, &body);
    assert_eq!(answer.status, 400, "{}", answer.body);
    let json = answer.json();
    assert_eq!((json["id"].clone(), json["error"]["code"].clone()), (json!(13), json!(-32022)));
    assert_eq!(json["error"]["data"]["requested"], "2099-01-01");
    assert!(json["error"]["data"]["supported"].as_array().unwrap().contains(&json!(V2026)));

    // An unknown method, and ping (which 2026-07-28 does not have): 404 with -32601.
    for method in ["no/such_method", "ping"] {
        let body = json!({
            "jsonrpc": "2.0", "id": 14, "method": method, "params": { "_meta": meta(json!({})) }
        })
        .to_string();
        let answer = http(addr, "POST", &headers_for(method, None, BOTH), &body);
        assert_eq!(answer.status, 404, "{method}: {}", answer.body);
        assert_eq!(answer.json()["error"]["code"], -32601, "{method}");
    }

    // Named 2026-07-28 by its header but not stamped: -32602, not a legacy answer.
    let initialize = json!({
        "jsonrpc": "2.0", "id": 17, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": { "name": "raw", "version": "0" }
        }
    });
    let answer =
        http(addr, "POST", &headers_for("initialize", None, BOTH), &initialize.to_string());
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], -32602);

    // A tool that needs a capability the client did not declare: 400 with -32021.
    let body = call_body(15, "confirm", json!({ "question": "ok?" }), json!({}));
    let answer = http(addr, "POST", &headers_for("tools/call", Some("confirm"), BOTH), &body);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], -32021);

    // Mcp-Param-Region mirrors `region`: literal or Base64-wrapped it passes; absent, different
    // or broken Base64 it is -32020.
    let body = call_body(16, "regional", json!({ "region": "Hello" }), json!({}));
    let mut passes = Vec::new();
    for value in
        [None, Some("Hello"), Some("=?base64?SGVsbG8=?="), Some("Bye"), Some("=?base64?SGVsbG8?=")]
    {
        let mut headers = headers_for("tools/call", Some("regional"), BOTH);
        headers.extend(value.map(|value| ("Mcp-Param-Region", value.to_string())));
        let answer = http(addr, "POST", &headers, &body);
        let json = answer.json();
        match answer.status {
            200 => assert_eq!(json["result"]["content"][0]["text"], "Hello", "{json}"),
            _ => assert_eq!((answer.status, json["error"]["code"].clone()), (400, json!(-32020))),
        }
        passes.push(answer.status == 200);
    }
    assert_eq!(passes, [false, true, true, false, false]);

    // GET and DELETE naming 2026-07-28: 405, POST allowed.
    for method in ["GET", "DELETE"] {
        let headers = [
            ("Accept", "text/event-stream".to_string()),
            ("MCP-Protocol-Version", V2026.to_string()),
        ];
        let answer = http(addr, method, &headers, "");
        assert_eq!((answer.status, answer.header("allow")), (405, Some("POST")), "{method}");
    }
    server.shutdown();
}

#[test]
fn header_mismatch_unsupported_version_unknown_method_and_missing_capability_on_tokio() {
    error_answers(Rt::Tokio);
}

#[test]
fn header_mismatch_unsupported_version_unknown_method_and_missing_capability_on_smol() {
    error_answers(Rt::Smol);
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn disconnect_cancels(rt: Rt, accept: &str) {
    let server = TestServer::start(rt, server_config());
    let addr = server.addr;
    let body = call_body(21, "hold", json!({}), json!({}));
    let mut stream = TcpStream::connect(addr).unwrap();
    let headers = headers_for("tools/call", Some("hold"), accept);
    stream.write_all(request_text(addr, "POST", &headers, &body).as_bytes()).unwrap();
    wait_until("the handler to start", || server.probe.started.load(Ordering::SeqCst) == 1);
    assert_eq!(server.probe.cancelled.load(Ordering::SeqCst), 0);
    drop(stream);
    wait_until("the handler to see the cancellation", || {
        server.probe.cancelled.load(Ordering::SeqCst) == 1
    });
    wait_until("the request's session to end", || server.connections().is_empty());
    server.shutdown();
}

#[test]
fn closing_the_response_cancels_the_request_on_tokio() {
    disconnect_cancels(Rt::Tokio, BOTH);
    disconnect_cancels(Rt::Tokio, "text/event-stream");
    disconnect_cancels(Rt::Tokio, "application/json");
}

#[test]
fn closing_the_response_cancels_the_request_on_smol() {
    disconnect_cancels(Rt::Smol, BOTH);
    disconnect_cancels(Rt::Smol, "text/event-stream");
    disconnect_cancels(Rt::Smol, "application/json");
}

/// Reads lines of a streaming response until `stop` says so (bounded by the read timeout).
fn read_lines_until(reader: &mut impl BufRead, mut stop: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).expect("the stream stays open");
        assert!(read > 0, "the stream ended early after {lines:?}");
        let line = line.trim_end().to_string();
        let done = stop(&line);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn listen_keeps_alive(rt: Rt) {
    let mut config = server_config();
    config.sse_keep_alive = Duration::from_millis(100);
    // The session's WebSocket heartbeat must not end a listen whose client sends nothing:
    // a pipe has no pings of its own, the HTTP connection is its liveness.
    config.session.ping_interval = Some(Duration::from_millis(100));
    config.session.idle_timeout = Some(Duration::from_millis(300));
    let server = TestServer::start(rt, config);
    let addr = server.addr;
    let body = json!({
        "jsonrpc": "2.0", "id": 31, "method": "subscriptions/listen",
        "params": { "notifications": { "toolsListChanged": true }, "_meta": meta(json!({})) }
    })
    .to_string();
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let headers = headers_for("subscriptions/listen", None, BOTH);
    writer.write_all(request_text(addr, "POST", &headers, &body).as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let head = read_lines_until(&mut reader, str::is_empty).join("\n");
    let (status, headers) = parse_head(&head);
    assert_eq!(status, 200, "{head}");
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
    assert_eq!(header("x-accel-buffering").as_deref(), Some("no"));

    let lines = read_lines_until(&mut reader, |line| line.starts_with("data:"));
    let ack: Value = serde_json::from_str(lines.last().unwrap()["data:".len()..].trim()).unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged", "{ack}");
    // Quiet: keep-alive comment lines, one per interval, for well past the idle timeout.
    let quiet = Instant::now();
    let mut comments = 0;
    while comments < 5 || quiet.elapsed() < Duration::from_millis(900) {
        let lines = read_lines_until(&mut reader, |line| line.starts_with(':'));
        assert!(lines.iter().all(|line| !line.starts_with("data:")), "{lines:?}");
        comments += 1;
    }

    // A change it listens for arrives on the stream, with the listen's id.
    server.notifier().notify_list_changed(ListKind::Tools);
    let lines = read_lines_until(&mut reader, |line| line.starts_with("data:"));
    let changed: Value =
        serde_json::from_str(lines.last().unwrap()["data:".len()..].trim()).unwrap();
    assert_eq!(changed["method"], "notifications/tools/list_changed", "{changed}");
    assert_eq!(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 31);
    assert_eq!(server.connections().len(), 1, "the listen holds its session");
    drop(reader);
    drop(writer);
    wait_until("the listen's session to end", || server.connections().is_empty());
    server.shutdown();
}

#[test]
fn subscriptions_listen_is_a_long_lived_stream_with_keep_alive_comments_on_tokio() {
    listen_keeps_alive(Rt::Tokio);
}

#[test]
fn subscriptions_listen_is_a_long_lived_stream_with_keep_alive_comments_on_smol() {
    listen_keeps_alive(Rt::Smol);
}
