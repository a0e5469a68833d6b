//! The gateway backend (`mcp-ws serve --upstream URL`, [`SessionBackend::Gateway`]) in both
//! directions: a WebSocket client through the gateway to the official Python SDK's FastMCP
//! served over Streamable HTTP, and a Streamable HTTP client through the gateway to a
//! WebSocket server (our router), on tokio and on smol; an upstream that cannot be reached is
//! refused with its reason (a -32000 answer, then 1011); an upstream that dies mid-session
//! closes its client with 1011; the client's malformed frames are answered by the gateway.

use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tokio::{TokioAdapter, client_async};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use futures_util::StreamExt;
use mcp_ws_driver::core::mcp::{Implementation, Root};
use mcp_ws_driver::core::{Era, ProtocolVersion};
use mcp_ws_driver::server::gateway::{SessionBackend, Upstream};
use mcp_ws_driver::{ClientConfig, Network, PeerRequests, ServerConfig};
use mcp_ws_smol::Smol;
use mcp_ws_tests::peers::{self, SdkServer};
use mcp_ws_tests::{Rt, TestServer, block_on, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(60);

/// A server configuration whose sessions are relayed to `upstream`.
fn gateway_config(upstream: &str) -> ServerConfig {
    let mut config = server_config();
    let upstream = Upstream::new(upstream).expect("upstream URL");
    config.backend = SessionBackend::Gateway(Arc::new(upstream));
    config
}

fn client_config() -> ClientConfig {
    let roots = vec![Root { uri: "file:///tmp/through-the-gateway".into(), ..Default::default() }];
    ClientConfig::new(Implementation::new("gateway-test", "0"))
        .peer_requests(PeerRequests::default().roots(roots))
}

/// Lists, calls, a call with progress and a server request (roots) answered by the client,
/// all through the gateway at `url`; `server_name` is the upstream's `serverInfo.name`
/// (passed through untouched). The era is the upstream's and the client's to settle (a
/// 2026-07-28 router upstream reached over WebSocket settles the modern era).
async fn through_the_gateway<N: Network>(net: N, url: &str, server_name: &str, era: Option<Era>) {
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), url, client_config()))
        .await
        .expect("connect in time")
        .expect("connect");
    let info = client.ready_info().expect("ready");
    if let Some(era) = era {
        assert_eq!(info.era, era);
    }
    assert_eq!(client.server_info().expect("serverInfo").name, server_name);
    let tools: Vec<String> =
        client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name).collect();
    for tool in peers::DEMO_TOOLS {
        assert!(tools.iter().any(|t| t == tool), "{tool} missing from {tools:?}");
    }
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!((sum.joined_text().as_str(), sum.failed()), ("5", false));
    let by_zero = client.call_tool("divide", json!({"a": 1, "b": 0})).await.expect("divide");
    assert!(by_zero.failed());
    let (result, reports) = peers::count_to_three_with_progress(&client).await;
    assert_eq!(result.expect("slow_count").joined_text(), "counted to 3");
    assert_eq!(reports, [1.0, 2.0, 3.0]);
    // A server request travels upstream → gateway → client and its answer back.
    let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
    assert!(roots.joined_text().contains("file:///tmp/through-the-gateway"), "{roots:?}");
    client.close().await;
}

#[test]
fn a_websocket_client_reaches_the_python_sdk_http_server_through_the_gateway() {
    let upstream = SdkServer::start(&[]);
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&upstream.url));
    assert!(gateway.url.starts_with("ws://"), "{}", gateway.url);
    block_on(
        Rt::Tokio,
        through_the_gateway(Tokio::new(), &gateway.url, "py-demo", Some(Era::Legacy)),
    );
    gateway.shutdown();
}

#[test]
fn an_http_client_reaches_a_websocket_server_through_the_gateway_on_tokio() {
    let upstream = TestServer::start(Rt::Tokio, server_config());
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&upstream.url));
    let url = gateway.url.replacen("ws://", "http://", 1);
    block_on(Rt::Tokio, through_the_gateway(Tokio::new(), &url, "mcp-ws-demo", None));
    gateway.shutdown();
    upstream.shutdown();
}

#[test]
fn the_gateway_runs_on_smol_both_ways() {
    let upstream = TestServer::start(Rt::Smol, server_config());
    let gateway = TestServer::start(Rt::Smol, gateway_config(&upstream.url));
    let http = gateway.url.replacen("ws://", "http://", 1);
    block_on(Rt::Smol, through_the_gateway(Smol::new(), &http, "mcp-ws-demo", None));
    block_on(Rt::Smol, through_the_gateway(Smol::new(), &gateway.url, "mcp-ws-demo", None));
    gateway.shutdown();
    upstream.shutdown();
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn an_upstream_that_cannot_be_reached_is_refused_with_its_reason() {
    let dead = format!("ws://127.0.0.1:{}/mcp", closed_port());
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&dead));
    // Our client over WebSocket: the session fails with the gateway's reason.
    let refused = block_on(Rt::Tokio, async {
        let net = Tokio::new();
        let connecting = mcp_ws_driver::connect(net.clone(), &gateway.url, client_config());
        within(&net, LIMIT, connecting).await.expect("refused in time")
    });
    let error = match refused {
        Ok(_) => panic!("a session through an unreachable upstream"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("cannot be reached") && error.contains(&dead), "{error}");

    // A raw Streamable HTTP initialize: answered with the reason, as a JSON-RPC error.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string();
    let answer = post(gateway.addr.port(), &body);
    let error = &answer["error"];
    assert_eq!(error["code"], -32000, "{answer}");
    assert_eq!(answer["id"], 1, "{answer}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot be reached") && message.contains(&dead), "{answer}");
    gateway.shutdown();
}

/// POSTs `body` to `/mcp` on `port` with plain blocking HTTP/1.1 and returns the JSON-RPC
/// answer (the body, or the data of the SSE answer's one event).
fn post(port: u16, body: &str) -> Value {
    let mut stream = StdTcpStream::connect(("127.0.0.1", port)).expect("tcp");
    stream.set_read_timeout(Some(LIMIT)).expect("timeout");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: application/json, \
         text/event-stream\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json = match head.to_ascii_lowercase().contains("content-type: text/event-stream") {
        true => body.lines().find_map(|line| line.strip_prefix("data: ")).expect("an event"),
        false => body.trim(),
    };
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {body}"))
}

type Socket = async_tungstenite::WebSocketStream<TokioAdapter<TcpStream>>;

async fn raw_ws(url: &str) -> Socket {
    let request = url.into_client_request().expect("request");
    let authority = request.uri().authority().expect("authority").as_str().to_string();
    let stream = TcpStream::connect(authority).await.expect("tcp");
    client_async(request, stream).await.expect("upgrade").0
}

/// The next data frame as JSON, skipping pings.
async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(LIMIT, ws.next()).await.expect("in time");
        match frame {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("json"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a data frame, got {other:?}"),
        }
    }
}

/// The close frame the peer sends, within [`LIMIT`], skipping what comes before it.
async fn close_frame(ws: &mut Socket) -> CloseFrame {
    loop {
        match tokio::time::timeout(LIMIT, ws.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => return frame.expect("a close frame with a status"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

async fn initialize(ws: &mut Socket) {
    let initialize = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": ProtocolVersion::V2025_11_25.as_str(), "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}});
    ws.send(Message::text(initialize.to_string())).await.expect("send");
    let answer = next_json(ws).await;
    // The id comes back exactly as sent (a string): the gateway passes ids untouched.
    assert_eq!(answer["id"], "init", "{answer}");
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25", "{answer}");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    ws.send(Message::text(initialized.to_string())).await.expect("send");
}

#[test]
fn an_upstream_that_dies_mid_session_closes_the_client_with_1011() {
    let upstream = TestServer::start(Rt::Tokio, server_config());
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&upstream.url));
    let runtime = mcp_ws_tests::multi_thread_runtime(1);
    let mut ws = runtime.block_on(async {
        let mut ws = raw_ws(&gateway.url).await;
        initialize(&mut ws).await;
        ws
    });
    // The upstream's process dies: its sockets are gone without a close frame.
    upstream.kill();
    let frame = runtime.block_on(close_frame(&mut ws));
    assert_eq!(u16::from(frame.code), 1011, "{frame:?}");
    assert!(frame.reason.contains("upstream"), "{frame:?}");
    gateway.shutdown();
}

#[test]
fn the_clients_malformed_frames_are_answered_by_the_gateway_and_valid_ones_pass() {
    let upstream = TestServer::start(Rt::Tokio, server_config());
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&upstream.url));
    block_on(Rt::Tokio, async {
        let mut ws = raw_ws(&gateway.url).await;
        initialize(&mut ws).await;
        ws.send(Message::text("not json")).await.expect("send");
        let answer = next_json(&mut ws).await;
        assert_eq!((answer["error"]["code"].as_i64(), &answer["id"]), (Some(-32700), &Value::Null));
        let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 2}}});
        ws.send(Message::text(call.to_string())).await.expect("send");
        let answer = next_json(&mut ws).await;
        assert_eq!(answer["id"], 7, "{answer}");
        assert_eq!(answer["result"]["content"][0]["text"], "3", "{answer}");
        let _ = ws.close(None).await;
    });
    gateway.shutdown();
    upstream.shutdown();
}

#[test]
fn a_draining_gateway_closes_its_idle_clients_with_the_drained_1001() {
    let upstream = TestServer::start(Rt::Tokio, server_config());
    let gateway = TestServer::start(Rt::Tokio, gateway_config(&upstream.url));
    let runtime = mcp_ws_tests::multi_thread_runtime(1);
    let mut ws = runtime.block_on(async {
        let mut ws = raw_ws(&gateway.url).await;
        initialize(&mut ws).await;
        ws
    });
    let closing = std::thread::spawn(move || gateway.shutdown());
    let frame = runtime.block_on(close_frame(&mut ws));
    assert_eq!(u16::from(frame.code), 1001, "{frame:?}");
    assert_eq!(frame.reason.as_str(), mcp_ws_driver::error::DRAINED_CLOSE_REASON);
    closing.join().expect("shutdown");
    upstream.shutdown();
}
