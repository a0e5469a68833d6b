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
    let written = pipe.from_loop.next().await.expect("the session wrote a message");
    serde_json::from_str(&written.text).expect("JSON")
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

use mcp_ws_tests::peers;
use mcp_ws_tests::{Rt, TestServer, block_on};

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
    let (succeeded, report, errors) = peers::python_http_client_report(&url);
    assert!(succeeded && report["ok"] == true, "{report} {errors}");
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert!(report["tools"].as_array().unwrap().iter().any(|t| t == "slow_count"));
    assert_eq!(report["progress"], json!([1.0, 2.0, 3.0]));
    assert_eq!(report["slow_count"], "counted to 3");
    assert_eq!(report["list_roots"], "file:///tmp/mcp-ws-interop");
}

// ----- sessions that end, expire, resume; what a handler writes goes on its POST's stream -----

use std::io::BufRead;
use std::time::Instant;

/// One SSE event as read: its id and data (a priming event has an id and empty data).
#[derive(Debug, Clone, PartialEq)]
struct Event {
    id: Option<String>,
    data: String,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {:?}", self.data))
    }
}

/// A response read as it comes: the head at once, then SSE events one by one (hyper sends a
/// streamed body chunked).
struct Streamed {
    reader: std::io::BufReader<TcpStream>,
    status: u16,
    headers: Vec<(String, String)>,
    pending: String,
    ended: bool,
}

impl Streamed {
    fn open(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &str) -> Streamed {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request =
            format!("{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = std::io::BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).expect("a status line").parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let Some((name, value)) = line.trim_end().split_once(':') else { break };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Streamed { reader, status, headers, pending: String::new(), ended: false }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The next event; `None` once the body has ended. A read that takes longer than
    /// `PATIENCE` fails the test.
    fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                let mut event = Event { id: None, data: String::new() };
                for line in block.lines() {
                    if let Some(id) = line.strip_prefix("id:") {
                        event.id = Some(id.trim().to_string());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        event.data.push_str(data.strip_prefix(' ').unwrap_or(data));
                    }
                }
                return Some(event);
            }
            if self.ended {
                return None;
            }
            // One chunk: its size in hex, the bytes, CRLF; size 0 ends the body.
            let mut size = String::new();
            if self.reader.read_line(&mut size).unwrap() == 0 {
                self.ended = true;
                continue;
            }
            let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
            if size == 0 {
                self.ended = true;
                continue;
            }
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk).unwrap();
            self.pending.push_str(std::str::from_utf8(&chunk[..size]).unwrap());
        }
    }

    /// Every event until the body ends.
    fn rest(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.next_event()).collect()
    }
}

/// Waits (polling, at most `PATIENCE`) until `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < end, "not in time: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An initialized legacy session on `addr`: its id. `capabilities` are the client's.
fn initialized_session(addr: SocketAddr, capabilities: Value) -> String {
    let json_only = [("Content-Type", "application/json"), ("Accept", "application/json")];
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities,
            "clientInfo": { "name": "raw", "version": "0" }
        }
    });
    let init = http(addr, "POST", &json_only, &initialize.to_string());
    assert_eq!(init.status, 200, "{}", init.body);
    let session = init.header("mcp-session-id").expect("a session id").to_string();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let posted = http(addr, "POST", &session_headers(&session), &initialized.to_string());
    assert_eq!(posted.status, 202);
    session
}

fn session_headers(session: &str) -> Vec<(&'static str, &str)> {
    let mut headers = JSON_POST.to_vec();
    headers.push(("Mcp-Session-Id", session));
    headers.push(("MCP-Protocol-Version", "2025-11-25"));
    headers
}

fn sse_get_headers(session: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", session),
        ("MCP-Protocol-Version", "2025-11-25"),
    ]
}

fn call(id: u64, tool: &str, arguments: Value) -> String {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments, "_meta": { "progressToken": id } }
    })
    .to_string()
}

fn delete_ends_the_loop(rt: Rt) {
    let server = TestServer::start(rt, server_config());
    let addr = server.addr;
    let session = initialized_session(addr, json!({}));
    let mut held =
        Streamed::open(addr, "POST", &session_headers(&session), &call(2, "hold", json!({})));
    assert_eq!(held.status, 200);
    let probe = server.probe.clone();
    wait_for("the hold tool runs", || probe.started.load(std::sync::atomic::Ordering::SeqCst) == 1);
    assert_eq!(server.connections().len(), 1, "the session is one connection");
    let end = [("Mcp-Session-Id", session.as_str())];
    assert_eq!(http(addr, "DELETE", &end, "").status, 200);
    // The loop ends: the handler is cancelled, the connection untracked, its stream closed.
    wait_for("the handler is cancelled", || {
        probe.cancelled.load(std::sync::atomic::Ordering::SeqCst) == 1
    });
    wait_for("the session is untracked", || server.connections().is_empty());
    let events = held.rest();
    assert!(events.iter().all(|e| e.data.is_empty()), "no answer after the end: {events:?}");
    let list = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" }).to_string();
    assert_eq!(http(addr, "POST", &session_headers(&session), &list).status, 404);
}

#[test]
fn delete_ends_the_sessions_loop_and_cancels_its_handlers_on_tokio() {
    delete_ends_the_loop(Rt::Tokio);
}

#[test]
fn delete_ends_the_sessions_loop_and_cancels_its_handlers_on_smol() {
    delete_ends_the_loop(Rt::Smol);
}

fn idle_sessions_are_swept(rt: Rt) {
    let config = server_config().with_http_sessions(16, Duration::from_millis(500));
    let server = TestServer::start(rt, config);
    let addr = server.addr;
    let session = initialized_session(addr, json!({}));
    assert_eq!(server.connections().len(), 1);
    // No further request: the sweep alone ends it, releasing its place.
    wait_for("the idle session is ended", || server.connections().is_empty());
    let list = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" }).to_string();
    assert_eq!(http(addr, "POST", &session_headers(&session), &list).status, 404);
    // A session with its GET stream open is in use, not idle.
    let session = initialized_session(addr, json!({}));
    let mut get = Streamed::open(addr, "GET", &sse_get_headers(&session), "");
    assert_eq!(get.status, 200);
    assert!(get.next_event().is_some_and(|e| e.id.is_some() && e.data.is_empty()), "priming");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.connections().len(), 1, "a session with an open stream is kept");
}

#[test]
fn an_idle_session_is_swept_without_another_request_on_tokio() {
    idle_sessions_are_swept(Rt::Tokio);
}

#[test]
fn an_idle_session_is_swept_without_another_request_on_smol() {
    idle_sessions_are_swept(Rt::Smol);
}

fn related_messages_on_the_post_stream(rt: Rt) {
    let server = TestServer::start(rt, server_config());
    let addr = server.addr;
    let session = initialized_session(addr, json!({ "elicitation": {} }));
    let headers = session_headers(&session);
    // Logs, before the result, on the same stream.
    let mut logged = Streamed::open(addr, "POST", &headers, &call(2, "log_three", json!({})));
    assert_eq!(logged.status, 200);
    assert_eq!(logged.header("content-type"), Some("text/event-stream"));
    let events = logged.rest();
    let messages: Vec<Value> =
        events.iter().filter(|e| !e.data.is_empty()).map(Event::json).collect();
    let logs = messages.iter().filter(|m| m["method"] == "notifications/message").count();
    assert_eq!(logs, 3, "the handler's logs on its POST's stream: {messages:?}");
    assert_eq!(messages.last().unwrap()["id"], 2, "the result last: {messages:?}");
    assert!(messages[..messages.len() - 1].iter().all(|m| m.get("id").is_none()));
    // A question to the client, on the same stream; its answer posted; then the result.
    let mut asking = Streamed::open(addr, "POST", &headers, &call(3, "ask_user", json!({})));
    let question = std::iter::from_fn(|| asking.next_event())
        .find(|e| !e.data.is_empty())
        .expect("the elicitation on the POST's stream")
        .json();
    assert_eq!(question["method"], "elicitation/create", "{question}");
    let answer = json!({
        "jsonrpc": "2.0", "id": question["id"],
        "result": { "action": "accept", "content": { "name": "Ada" } }
    });
    assert_eq!(http(addr, "POST", &headers, &answer.to_string()).status, 202);
    let result = asking.next_event().expect("the result").json();
    assert_eq!(result["id"], 3);
    assert!(result["result"]["content"][0]["text"].as_str().unwrap().starts_with("accept"));
    assert_eq!(asking.next_event(), None, "the stream ends after the result");
}

#[test]
fn what_a_handler_writes_for_its_request_arrives_on_its_posts_stream_on_tokio() {
    related_messages_on_the_post_stream(Rt::Tokio);
}

#[test]
fn what_a_handler_writes_for_its_request_arrives_on_its_posts_stream_on_smol() {
    related_messages_on_the_post_stream(Rt::Smol);
}

fn last_event_id_resumes(rt: Rt) {
    let mut config = server_config();
    config.http_sessions.replay_events = 8;
    let server = TestServer::start(rt, config);
    let addr = server.addr;
    let session = initialized_session(addr, json!({}));
    let notify = |count: usize| {
        for _ in 0..count {
            let sent = block_on(rt, server.notify_all("notifications/tools/list_changed"));
            assert_eq!(sent, 1);
        }
    };
    // The GET stream: a priming event, then the notifications, each with an id.
    let mut get = Streamed::open(addr, "GET", &sse_get_headers(&session), "");
    assert_eq!(get.status, 200);
    let priming = get.next_event().unwrap();
    assert!(priming.id.is_some() && priming.data.is_empty(), "{priming:?}");
    notify(3);
    let seen: Vec<Event> = (0..3).map(|_| get.next_event().unwrap()).collect();
    assert!(
        seen.iter()
            .all(|e| e.id.is_some() && e.json()["method"] == "notifications/tools/list_changed")
    );
    drop(get);
    notify(2);
    // Resumed after the second: the third and the two sent while it was cut, nothing doubled.
    let last_seen = seen[1].id.clone().unwrap();
    let mut headers = sse_get_headers(&session);
    headers.push(("Last-Event-ID", &last_seen));
    let mut resumed = Streamed::open(addr, "GET", &headers, "");
    assert_eq!(resumed.status, 200);
    let replayed: Vec<Event> = (0..3).map(|_| resumed.next_event().unwrap()).collect();
    assert_eq!(replayed[0], seen[2], "the same event, with the same id");
    let ids: std::collections::HashSet<_> = replayed.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 3);
    // The resumed stream is the GET stream now: new messages come on it.
    notify(1);
    let live = resumed.next_event().unwrap();
    assert_eq!(live.json()["method"], "notifications/tools/list_changed");
    drop(resumed);
    // Past what is kept (8 events): 410, not a silent loss; a made-up id: 400.
    notify(10);
    let mut evicted = sse_get_headers(&session);
    evicted.push(("Last-Event-ID", &last_seen));
    assert_eq!(http(addr, "GET", &evicted, "").status, 410);
    let mut forged = sse_get_headers(&session);
    forged.push(("Last-Event-ID", "0-999999"));
    assert_eq!(http(addr, "GET", &forged, "").status, 400);
    // A POST's stream cut mid-call and resumed with a GET: the rest of it, then its end.
    let headers = session_headers(&session);
    let body = call(7, "slow_count", json!({ "steps": 4, "interval_ms": 200 }));
    let mut counting = Streamed::open(addr, "POST", &headers, &body);
    let priming = counting.next_event().unwrap();
    assert!(priming.id.is_some() && priming.data.is_empty());
    let first = counting.next_event().unwrap();
    assert_eq!(first.json()["params"]["progress"], 1.0, "{first:?}");
    drop(counting);
    let mut headers = sse_get_headers(&session);
    let first_id = first.id.clone().unwrap();
    headers.push(("Last-Event-ID", &first_id));
    let mut rest = Streamed::open(addr, "GET", &headers, "");
    assert_eq!(rest.status, 200);
    let messages: Vec<Value> = rest.rest().iter().map(Event::json).collect();
    let progress: Vec<f64> =
        messages.iter().filter_map(|m| m["params"].get("progress")?.as_f64()).collect();
    assert_eq!(progress, [2.0, 3.0, 4.0], "nothing lost, nothing doubled: {messages:?}");
    assert_eq!(messages.last().unwrap()["id"], 7, "the answer ends it: {messages:?}");
}

#[test]
fn a_get_with_last_event_id_replays_what_was_missed_on_tokio() {
    last_event_id_resumes(Rt::Tokio);
}

#[test]
fn a_get_with_last_event_id_replays_what_was_missed_on_smol() {
    last_event_id_resumes(Rt::Smol);
}
