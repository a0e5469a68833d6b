//! Our client over Streamable HTTP (`http://` URLs): against the official Python SDK's FastMCP
//! served with its Streamable HTTP transport (stateful with session ids and SSE answers, and
//! stateless with JSON answers), on tokio and smol; and against scripted raw-HTTP servers for
//! the edge cases the SDK will not produce on demand (a cut SSE stream resumed with
//! `Last-Event-ID` after the `retry:` hint, 404 on a session, 405 on the GET stream).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use mcp_ws_driver::core::mcp::{Implementation, Root};
use mcp_ws_driver::core::{Era, ProtocolVersion};
use mcp_ws_driver::{ClientConfig, Network, PeerRequests, Runtime};
use mcp_ws_smol::Smol;
use mcp_ws_tests::peers::{self, SdkServer};
use mcp_ws_tests::{Rt, block_on, eventually, within};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

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

    let (result, reports) = peers::count_to_three_with_progress(&client).await;
    assert_eq!(text(&result.expect("slow_count")), "counted to 3");
    // Progress and server requests travel on SSE streams; a JSON-answering server has none.
    let expected: &[f64] = if streaming { &[1.0, 2.0, 3.0] } else { &[] };
    assert_eq!(reports, expected);

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
    let server = SdkServer::start(&[]);
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    block_on(Rt::Tokio, async {
        our_client_against_python_http(Tokio::new(), &server.url, true).await
    });
    block_on(Rt::Smol, our_client_against_python_http(Smol::new(), &server.url, true));
}

#[test]
fn our_client_speaks_with_the_python_sdk_server_in_stateless_json_mode() {
    let server = SdkServer::start(&["--stateless", "--json"]);
    block_on(Rt::Tokio, async {
        our_client_against_python_http(Tokio::new(), &server.url, false).await
    });
}

#[test]
fn the_cli_calls_and_lists_tools_of_the_python_sdk_server_over_http() {
    let server = SdkServer::start(&[]);
    let call = Command::new(peers::mcp_ws())
        .args(["call", &server.url, "add", r#"{"a": 2, "b": 3}"#])
        .output()
        .expect("run mcp-ws call");
    let stderr = String::from_utf8_lossy(&call.stderr);
    assert!(call.status.success(), "mcp-ws call failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&call.stdout).trim(), "5");
    let tools =
        Command::new(peers::mcp_ws()).args(["tools", &server.url]).output().expect("run tools");
    assert!(tools.status.success(), "{}", String::from_utf8_lossy(&tools.stderr));
    let listing = String::from_utf8_lossy(&tools.stdout);
    for tool in peers::DEMO_TOOLS {
        assert!(listing.contains(tool), "{tool} missing from {listing}");
    }
}

// ---------------------------------------------------------------------------------------------
// A scripted raw-HTTP server: each accepted connection serves requests one at a time; the test
// gets every request (method, headers, body) and says what to answer.

/// One HTTP request as the scripted server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn rpc_method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }
}

/// What the scripted server writes back: raw bytes, then whether to close the connection.
struct Reply {
    bytes: Vec<u8>,
    close: bool,
}

fn json_reply(status: u16, body: &Value, extra: &[(&str, &str)]) -> Reply {
    let body = body.to_string();
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    Reply { bytes: format!("{head}\r\n{body}").into_bytes(), close: false }
}

fn empty_reply(status: u16) -> Reply {
    Reply {
        bytes: format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n").into_bytes(),
        close: false,
    }
}

/// An SSE answer of `events` whose body then ends with the connection (a cut stream when the
/// answer is not among the events).
fn sse_reply(events: &str) -> Reply {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    Reply { bytes: format!("{head}{events}").into_bytes(), close: true }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let method = line.split_whitespace().next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { method, headers, body: serde_json::from_slice(&body).unwrap_or(Value::Null) })
}

/// Starts the scripted server; `answer` is called for every request, on the connection's
/// thread. Returns the URL and every request seen, in order.
fn scripted(
    answer: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let (seen, requests) = mpsc::channel();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(stream) = stream else { break };
            let answer = answer.clone();
            let seen = seen.clone();
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(LIMIT)).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader) {
                    let reply = answer(&request);
                    let _ = seen.send(request);
                    if writer.write_all(&reply.bytes).is_err() || reply.close {
                        break;
                    }
                }
            });
        }
    });
    (url, requests)
}

/// The answer of a legacy server (2025-11-25) to `request`, with session `session`.
fn legacy_answer(request: &Seen, session: &str) -> Reply {
    let id = request.body.get("id").cloned().unwrap_or(Value::Null);
    match (request.method.as_str(), request.rpc_method()) {
        ("POST", Some("initialize")) => json_reply(
            200,
            &json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "scripted", "version": "0"},
            }}),
            &[("mcp-session-id", session)],
        ),
        ("POST", Some("server/discover")) => json_reply(
            400,
            &json!({"jsonrpc": "2.0", "id": Value::Null, "error": {"code": -32600, "message": "Bad Request: Missing session ID"}}),
            &[],
        ),
        ("POST", Some(_)) if request.body.get("id").is_none() => empty_reply(202),
        ("POST", Some("ping")) => {
            json_reply(200, &json!({"jsonrpc": "2.0", "id": id, "result": {}}), &[])
        }
        ("GET", _) => empty_reply(405),
        ("DELETE", _) => empty_reply(200),
        _ => empty_reply(400),
    }
}

fn quick_config() -> ClientConfig {
    ClientConfig::new(Implementation::new("mcp-ws-http", "0")).reconnect(None)
}

/// All requests seen so far, waiting up to `limit` for one matching `pick`.
fn wait_for(requests: &mpsc::Receiver<Seen>, all: &mut Vec<Seen>, pick: impl Fn(&Seen) -> bool) {
    let deadline = std::time::Instant::now() + LIMIT;
    while !all.iter().any(&pick) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match requests.recv_timeout(left) {
            Ok(request) => all.push(request),
            Err(_) => panic!("the expected request never came; seen: {all:#?}"),
        }
    }
}

#[test]
fn a_cut_sse_answer_is_resumed_with_last_event_id_after_the_retry_hint_on_tokio_and_smol() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let call_id = std::sync::Mutex::new(Value::Null);
        let (url, requests) = scripted(move |request| {
            match (request.method.as_str(), request.rpc_method()) {
                ("POST", Some("tools/call")) => {
                    *call_id.lock().unwrap() = request.body["id"].clone();
                    // A priming event with an id and the retry hint, then the stream is cut.
                    sse_reply("id: ev-1\nretry: 300\ndata: \n\n")
                }
                ("GET", _) if request.header("last-event-id") == Some("ev-1") => {
                    let answer = json!({"jsonrpc": "2.0", "id": *call_id.lock().unwrap(),
                        "result": {"content": [{"type": "text", "text": "resumed"}]}});
                    sse_reply(&format!("id: ev-2\ndata: {answer}\n\n"))
                }
                _ => legacy_answer(request, "s-1"),
            }
        });
        let outcome = match rt {
            Rt::Tokio => block_on(rt, resumed_call(Tokio::new(), url.clone())),
            Rt::Smol => block_on(rt, resumed_call(Smol::new(), url.clone())),
        };
        let mut all: Vec<Seen> = requests.try_iter().collect();
        assert_eq!(outcome, Ok("resumed".to_string()), "seen {all:#?}");
        wait_for(&requests, &mut all, |r| r.header("last-event-id").is_some());
        let call_post = all.iter().find(|r| r.rpc_method() == Some("tools/call")).unwrap();
        assert_eq!(call_post.header("mcp-session-id"), Some("s-1"));
        assert_eq!(call_post.header("mcp-protocol-version"), Some("2025-11-25"));
        assert!(call_post.header("accept").unwrap().contains("text/event-stream"));
        let resume = all.iter().find(|r| r.header("last-event-id").is_some()).unwrap();
        assert_eq!((resume.method.as_str(), resume.header("mcp-session-id")), ("GET", Some("s-1")));
    }
}

/// Calls a tool whose answer comes only on the resumed stream.
async fn resumed_call<N: Network>(net: N, url: String) -> Result<String, String> {
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &url, quick_config()))
        .await
        .ok_or("connect timed out")?
        .map_err(|e| e.to_string())?;
    let started = net.now();
    let result = within(&net, LIMIT, client.call_tool("anything", json!({})))
        .await
        .ok_or("the call timed out")?
        .map_err(|e| e.to_string())?;
    // The resume waited for the 300 ms retry hint.
    let waited = net.now().saturating_duration_since(started);
    client.close().await;
    if waited < Duration::from_millis(250) {
        return Err(format!("resumed after {waited:?}, before the retry hint"));
    }
    Ok(text(&result))
}

#[test]
fn a_404_on_the_session_starts_a_new_one_and_a_405_on_get_is_no_stream() {
    let sessions = std::sync::atomic::AtomicUsize::new(0);
    let (url, requests) = scripted(move |request| {
        let session = request.header("mcp-session-id");
        match (request.method.as_str(), request.rpc_method()) {
            ("POST", Some("initialize")) => {
                let n = sessions.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                legacy_answer(request, &format!("s-{n}"))
            }
            // The first session is gone after its handshake.
            ("POST", Some("ping")) if session == Some("s-1") => empty_reply(404),
            _ => legacy_answer(request, "unused"),
        }
    });
    block_on(Rt::Tokio, async move {
        let net = Tokio::new();
        let config = ClientConfig::new(Implementation::new("mcp-ws-http", "0"));
        let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &url, config))
            .await
            .expect("connect in time")
            .expect("connect");
        // The first ping meets the 404; the client re-initializes and a later ping succeeds.
        let deadline = net.now() + LIMIT;
        let mut answered = false;
        while !answered && net.now() < deadline {
            answered = within(&net, Duration::from_secs(10), client.ping())
                .await
                .is_some_and(|r| r.is_ok());
        }
        assert!(answered, "no ping succeeded after the session was lost");
        client.close().await;
    });
    let mut all: Vec<Seen> = requests.try_iter().collect();
    wait_for(&requests, &mut all, |r| r.header("mcp-session-id") == Some("s-2"));
    let initializes: Vec<&Seen> =
        all.iter().filter(|r| r.rpc_method() == Some("initialize")).collect();
    assert_eq!(initializes.len(), 2, "{all:#?}");
    assert!(initializes.iter().all(|r| r.header("mcp-session-id").is_none()));
    let lost = all
        .iter()
        .position(|r| r.header("mcp-session-id") == Some("s-1") && r.rpc_method() == Some("ping"));
    let second = all.iter().rposition(|r| r.rpc_method() == Some("initialize"));
    assert!(lost < second, "the second initialize came before the 404: {all:#?}");
    assert!(
        all.iter()
            .any(|r| r.rpc_method() == Some("ping") && r.header("mcp-session-id") == Some("s-2"))
    );
    // The GET stream was asked for after `notifications/initialized`; its 405 ended nothing.
    let get = all.iter().find(|r| r.method == "GET").expect("a GET for the server's stream");
    assert_eq!(get.header("accept"), Some("text/event-stream"));
    assert!(get.header("mcp-session-id").is_some());
}

/// Our client against the TypeScript SDK's server: initialize, list, call, progress, and (when
/// stateful) a roots/list request of the server's answered by POSTing the response.
async fn our_client_against_ts_http<N: Network>(net: N, url: &str, stateful: bool) {
    let roots = vec![Root { uri: "file:///tmp/ts".into(), ..Default::default() }];
    let config = ClientConfig::new(Implementation::new("mcp-ws-http", "0"))
        .peer_requests(PeerRequests::default().roots(roots));
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), url, config))
        .await
        .expect("connect in time")
        .expect("connect");
    assert_eq!(client.server_info().expect("serverInfo").name, "ts-demo");
    let mut names: Vec<String> =
        client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(names, ["add", "list_roots", "slow_count"]);
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!(text(&sum), "5");
    let (result, reports) = peers::count_to_three_with_progress(&client).await;
    assert_eq!(text(&result.expect("slow_count")), "counted to 3");
    assert_eq!(reports, [1.0, 2.0, 3.0]);
    if stateful {
        let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
        assert_eq!(text(&roots), "file:///tmp/ts");
    }
    client.close().await;
}

#[test]
fn our_client_speaks_streamable_http_with_the_typescript_sdk_server_stateful_and_stateless() {
    let stateful = SdkServer::start_ts(&[]);
    block_on(Rt::Tokio, async {
        our_client_against_ts_http(Tokio::new(), &stateful.url, true).await
    });
    let stateless = SdkServer::start_ts(&["--stateless"]);
    block_on(Rt::Smol, our_client_against_ts_http(Smol::new(), &stateless.url, false));
}

/// A legacy server that keeps no session (no `Mcp-Session-Id`, as the TypeScript SDK's
/// stateless transport) and serves no GET at all: 404 there means "no stream", not "the
/// session is gone" (there is none), so the connection must go on. (The conformance suite's
/// mock servers are such servers: the connection used to end at random, by who won the race
/// between the GET's 404 and the next call.)
#[test]
fn a_404_on_the_get_stream_without_a_session_is_no_stream_and_ends_nothing() {
    let get_answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let get_flag = get_answered.clone();
    let (url, requests) = scripted(move |request| {
        let id = request.body.get("id").cloned().unwrap_or(Value::Null);
        match (request.method.as_str(), request.rpc_method()) {
            ("POST", Some("initialize")) => json_reply(
                200,
                &json!({"jsonrpc": "2.0", "id": id, "result": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "sessionless", "version": "0"},
                }}),
                &[],
            ),
            ("GET", _) => {
                get_flag.store(true, std::sync::atomic::Ordering::SeqCst);
                empty_reply(404)
            }
            _ => legacy_answer(request, "unused"),
        }
    });
    block_on(Rt::Tokio, async {
        let net = Tokio::new();
        let config = quick_config().version(ProtocolVersion::V2025_11_25);
        let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &url, config))
            .await
            .expect("connect in time")
            .expect("connect");
        // The GET (after `notifications/initialized`) has had its 404 before the ping.
        let get_seen = || get_answered.load(std::sync::atomic::Ordering::SeqCst);
        assert!(eventually(&net, LIMIT, get_seen).await, "no GET for the server's stream");
        net.sleep_until(net.now() + Duration::from_millis(200)).await;
        let ping = within(&net, LIMIT, client.ping()).await.expect("ping in time");
        assert!(ping.is_ok(), "the connection ended on the GET's 404: {ping:?}");
        client.close().await;
    });
    let all: Vec<Seen> = requests.try_iter().collect();
    let initializes = all.iter().filter(|r| r.rpc_method() == Some("initialize")).count();
    assert_eq!(initializes, 1, "{all:#?}");
    assert!(all.iter().all(|r| r.header("mcp-session-id").is_none()), "{all:#?}");
}

/// A 2026-07-28 server that refuses a request with -32022 (HTTP 400) naming a version this
/// client speaks: the request goes again once, with a new id (the conformance suite's
/// `request-metadata` scenario refuses the first request it sees so), and a second refusal
/// fails the call instead of looping.
#[test]
fn a_2026_request_refused_with_32022_naming_a_version_we_speak_is_sent_again_once() {
    let refusals = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(2));
    let left = refusals.clone();
    let (url, requests) = scripted(move |request| {
        let id = request.body.get("id").cloned().unwrap_or(Value::Null);
        let refuse = request.rpc_method() == Some("tools/list")
            && left
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok_and(|n| n != 1);
        if refuse {
            return json_reply(
                400,
                &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32022,
                    "message": "Unsupported protocol version",
                    "data": {"supported": ["2026-07-28"], "requested": "2026-07-28"}}}),
                &[],
            );
        }
        match request.rpc_method() {
            Some("tools/list") => {
                json_reply(200, &json!({"jsonrpc": "2.0", "id": id, "result": {"tools": []}}), &[])
            }
            _ => json_reply(200, &json!({"jsonrpc": "2.0", "id": id, "result": {}}), &[]),
        }
    });
    block_on(Rt::Tokio, async {
        let net = Tokio::new();
        let config = quick_config().era(mcp_ws_driver::core::session::EraPolicy::Modern);
        let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &url, config))
            .await
            .expect("connect in time")
            .expect("connect");
        // The first tools/list is refused once, then answered.
        let listed = within(&net, LIMIT, client.list_tools(None)).await.expect("in time");
        assert!(listed.is_ok(), "the refused request was not sent again: {listed:?}");
        // Refused twice in a row (the scripted server refuses the third and fourth): fails.
        refusals.store(3, std::sync::atomic::Ordering::SeqCst);
        let refused = within(&net, LIMIT, client.list_tools(None)).await.expect("in time");
        assert!(
            matches!(&refused, Err(mcp_ws_driver::CallError::Rpc(e)) if e.code == -32022),
            "{refused:?}"
        );
        client.close().await;
    });
    let lists: Vec<Seen> =
        requests.try_iter().filter(|r| r.rpc_method() == Some("tools/list")).collect();
    assert_eq!(lists.len(), 4, "{lists:#?}");
    assert_ne!(lists[0].body["id"], lists[1].body["id"], "a retry needs a new id");
    assert!(lists.iter().all(|r| r.header("mcp-protocol-version") == Some("2026-07-28")));
}
