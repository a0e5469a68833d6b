//! A hostile raw TCP client against the server's handshake, on both runtimes: every refusal
//! with its exact status line and headers, the bounds on the head's size and time, a good
//! upgrade whose pipelined first frame is not lost, and the principal reaching a handler.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mcp_ws_driver::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_driver::{AuthCheck, ClientConfig, OriginPolicy, Server, StaticToken};
use mcp_ws_tests::{Rt, TestServer, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const TOKEN: &str = "raw-s3cr3t-token";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn secured(rt: Rt) -> TestServer {
    let mut config = server_config();
    config.auth = Some(AuthCheck::new(StaticToken::new(TOKEN)));
    config.handshake_timeout = Duration::from_millis(600);
    TestServer::start(rt, config)
}

/// Sends `request` raw and reads until the server closes, or until the head of a 101 (the
/// connection then stays open), bounded to 5 s.
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    stream.write_all(request).expect("write");
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&out);
        if text.starts_with("HTTP/1.1 101 ") && text.contains("\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request head with the usual upgrade headers, `replace`d or removed (empty value).
fn request(first_line: &str, replace: &[(&str, &str)]) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = [
        ("Host", "127.0.0.1"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", KEY),
        ("Authorization", "Bearer raw-s3cr3t-token"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    for (name, value) in replace {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let mut text = format!("{first_line}\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

fn get(replace: &[(&str, &str)]) -> Vec<u8> {
    request("GET /mcp HTTP/1.1", replace)
}

#[track_caller]
fn assert_refused(answer: &str, status_line: &str, headers: &[&str], body: &str) {
    let (head, rest) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some(status_line), "{answer}");
    let lines: Vec<&str> = lines.collect();
    for header in headers {
        assert!(lines.contains(header), "no {header:?} in {answer}");
    }
    // One Connection header, ending in `close` (a 426 says `Upgrade, close`).
    let connection: Vec<&&str> = lines.iter().filter(|l| l.starts_with("Connection: ")).collect();
    assert!(connection.len() == 1 && connection[0].ends_with("close"), "{answer}");
    assert!(lines.contains(&format!("Content-Length: {}", rest.len()).as_str()), "{answer}");
    assert!(rest.contains(body), "body {rest:?} lacks {body:?}");
    assert!(!answer.contains(TOKEN), "the token leaked: {answer}");
}

#[test]
fn every_malformed_or_unwelcome_handshake_gets_its_http_status() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let server = secured(rt);
        let a = server.addr;
        // Two Host headers: RFC 9112 requires 400 (the second was not checked before).
        let mut two_hosts = get(&[]);
        two_hosts.truncate(two_hosts.len() - 2);
        two_hosts.extend_from_slice(b"Host: evil.example\r\n\r\n");
        assert_refused(&exchange(a, &two_hosts), "HTTP/1.1 400 Bad Request", &[], "one Host");
        let mut two_origins = get(&[("Origin", "http://127.0.0.1:3000")]);
        two_origins.truncate(two_origins.len() - 2);
        two_origins.extend_from_slice(b"Origin: http://evil.example\r\n\r\n");
        assert_refused(&exchange(a, &two_origins), "HTTP/1.1 400 Bad Request", &[], "one Origin");
        // An Origin that does not parse is not loopback.
        assert_refused(
            &exchange(a, &get(&[("Origin", "http://[::1")])),
            "HTTP/1.1 403 Forbidden",
            &[],
            "Origin",
        );
        let plain = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        assert_refused(
            &exchange(a, plain),
            "HTTP/1.1 426 Upgrade Required",
            &["Upgrade: websocket"],
            "this is a WebSocket MCP endpoint",
        );
        assert_refused(
            &exchange(a, &get(&[("Sec-WebSocket-Version", "8")])),
            "HTTP/1.1 426 Upgrade Required",
            &["Sec-WebSocket-Version: 13"],
            "version 13",
        );
        assert_refused(
            &exchange(a, &get(&[("Sec-WebSocket-Key", "not-a-key")])),
            "HTTP/1.1 400 Bad Request",
            &[],
            "Sec-WebSocket-Key",
        );
        assert_refused(
            &exchange(a, &get(&[("Host", "")])),
            "HTTP/1.1 400 Bad Request",
            &[],
            "no Host",
        );
        assert_refused(
            &exchange(a, &request("GET /mcp HTTP/1.0", &[])),
            "HTTP/1.1 400 Bad Request",
            &[],
            "HTTP/1.1",
        );
        assert_refused(
            &exchange(a, &request("POST /mcp HTTP/1.1", &[])),
            "HTTP/1.1 405 Method Not Allowed",
            &["Allow: GET"],
            "only GET",
        );
        assert_refused(
            &exchange(a, &request("GET /other HTTP/1.1", &[])),
            "HTTP/1.1 404 Not Found",
            &[],
            "try /mcp",
        );
        assert_refused(
            &exchange(a, &get(&[("Origin", "http://evil.example")])),
            "HTTP/1.1 403 Forbidden",
            &[],
            "Origin",
        );
        assert_refused(
            &exchange(a, &get(&[("Host", "evil.example")])),
            "HTTP/1.1 403 Forbidden",
            &[],
            "DNS rebinding",
        );
        assert_refused(
            &exchange(a, &get(&[("Authorization", "")])),
            "HTTP/1.1 401 Unauthorized",
            &["WWW-Authenticate: Bearer"],
            "needs a bearer token",
        );
        assert_refused(
            &exchange(a, &get(&[("Authorization", "Bearer raw-s3cr3t-tokeX")])),
            "HTTP/1.1 401 Unauthorized",
            &["WWW-Authenticate: Bearer error=\"invalid_token\""],
            "wrong",
        );
        assert_refused(
            &exchange(a, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n"),
            "HTTP/1.1 400 Bad Request",
            &[],
            "not an HTTP/1.1 request",
        );
        let huge = get(&[("X-Filler", &"a".repeat(20 * 1024))]);
        assert_refused(
            &exchange(a, &huge),
            "HTTP/1.1 431 Request Header Fields Too Large",
            &[],
            "larger than",
        );
        server.shutdown();
    }
}

#[test]
fn a_client_that_never_finishes_its_head_is_dropped_after_the_handshake_timeout() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let server = secured(rt);
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        stream.write_all(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n").expect("write");
        let started = Instant::now();
        let mut out = Vec::new();
        let read = stream.read_to_end(&mut out);
        let waited = started.elapsed();
        assert!(read.is_ok() && out.is_empty(), "{rt:?}: {read:?} {out:?}");
        assert!(waited < Duration::from_secs(3), "{rt:?}: held for {waited:?}");
        server.shutdown();
    }
}

/// A masked client text frame (payload under 126 bytes).
fn masked_text(payload: &str) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let bytes = payload.as_bytes();
    assert!(bytes.len() < 126);
    let mut frame = vec![0x81, 0x80 | bytes.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(bytes.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[test]
fn a_browser_token_in_the_subprotocol_gets_mcp_and_a_pipelined_first_frame_is_answered() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let server = secured(rt);
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut bytes = get(&[
            ("Authorization", ""),
            ("Origin", "http://localhost:5173"),
            ("Sec-WebSocket-Protocol", &format!("mcp, mcp.auth.{TOKEN}")),
        ]);
        let discover = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
        bytes.extend(masked_text(discover));
        stream.write_all(&bytes).expect("write head and frame together");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let n = stream.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&answer).contains("\"id\":1") {
                break;
            }
        }
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{rt:?}: {text}");
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{text}");
        assert!(text.contains("Sec-WebSocket-Protocol: mcp\r\n"), "{text}");
        assert!(!text.contains(TOKEN), "the token was echoed: {text}");
        // The frame sent behind the head was read: its answer (an error or a result) came back.
        assert!(text.contains("\"id\":1"), "{rt:?}: no answer to the pipelined frame: {text}");
        server.shutdown();
    }
}

#[test]
fn an_explicit_origin_allowlist_replaces_the_loopback_default() {
    let mut config = server_config();
    config.origins = OriginPolicy::List(vec!["https://app.example.com".into()]);
    let server = TestServer::start(Rt::Tokio, config);
    let allowed = exchange(server.addr, &get(&[("Origin", "https://app.example.com")]));
    assert!(allowed.starts_with("HTTP/1.1 101 "), "{allowed}");
    let local = exchange(server.addr, &get(&[("Origin", "http://localhost:3000")]));
    assert!(local.starts_with("HTTP/1.1 403 "), "{local}");
    server.shutdown();
}

#[test]
fn the_principal_reaches_every_handler() {
    let runtime = mcp_ws_tests::multi_thread_runtime(1);
    runtime.block_on(async {
        let net = Tokio::new();
        let whoami = Tool { name: "whoami".into(), ..Default::default() };
        let router = mcp_ws_cli::demo::router(net.clone()).tool_def(
            whoami,
            |_: serde_json::Value, context| async move {
                let name = context.principal().map(|p| p.name().to_string());
                Ok(CallToolResult::text(name.unwrap_or_else(|| "nobody".into())))
            },
        );
        let mut config = server_config();
        let token =
            StaticToken::new(TOKEN).principal(mcp_ws_driver::Principal::new("ada@example.com"));
        config.auth = Some(AuthCheck::new(token));
        let server = Server::new(net.clone(), router, config);
        let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
        let url = listening.url();
        tokio::spawn(listening.run());
        let client_config =
            ClientConfig::new(Implementation::new("c", "0")).reconnect(None).bearer_token(TOKEN);
        let client =
            within(&net, Duration::from_secs(10), mcp_ws_tokio::connect(&url, client_config))
                .await
                .expect("in time")
                .expect("connect");
        let result = client.call_tool("whoami", json!({})).await.expect("whoami");
        assert_eq!(serde_json::to_value(&result.content).unwrap()[0]["text"], "ada@example.com");
        client.close().await;
        server.shutdown().await;
    });
}

#[test]
fn a_client_told_401_while_reconnecting_gives_up_at_once() {
    use futures_util::StreamExt;
    use mcp_ws_driver::ClientEvent;
    use mcp_ws_driver::core::reconnect::{Failure, GiveUpReason, Jitter, ReconnectConfig};

    let open = TestServer::start(Rt::Tokio, server_config());
    let addr = open.addr;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let net = runtime.block_on(async { Tokio::new() });
    let reconnect = ReconnectConfig {
        initial_delay: Duration::from_millis(50),
        jitter: Jitter::None,
        ..ReconnectConfig::default()
    };
    let config = ClientConfig::new(Implementation::new("c", "0")).reconnect(Some(reconnect));
    let client = runtime.block_on(mcp_ws_tokio::connect(&open.url, config)).expect("connect");
    let mut events = runtime.block_on(async { client.events() });
    open.shutdown();
    // The same address now wants a token this client does not have.
    let guarded = {
        let mut config = server_config();
        config.auth = Some(AuthCheck::new(StaticToken::new(TOKEN)));
        TestServer::start_at(Rt::Tokio, config, addr)
    };
    let outcome = runtime.block_on(within(&net, Duration::from_secs(10), async {
        let mut dials = 0;
        while let Some(event) = events.next().await {
            match event {
                ClientEvent::Reconnecting { .. } => dials += 1,
                ClientEvent::GaveUp { reason, last_error } => return (dials, reason, last_error),
                _ => {}
            }
        }
        panic!("the event stream ended without giving up")
    }));
    let (dials, reason, last_error) = outcome.expect("gave up in time");
    assert_eq!(reason, GiveUpReason::Fatal);
    assert_eq!(last_error, Some(Failure::HandshakeStatus { status: 401, retry_after: None }));
    // Each refused dial counts; a fatal 401 ends it on the first refusal after the restart
    // (earlier dials may have met the closed port while the new server started).
    assert!(dials >= 1, "{dials}");
    runtime.block_on(client.close());
    guarded.shutdown();
}

#[test]
fn a_client_that_never_finishes_the_lifecycle_is_closed_with_1008() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let mut config = server_config();
        config.session.lifecycle_timeout = Some(Duration::from_millis(500));
        let server = TestServer::start(rt, config);
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.write_all(&get(&[("Authorization", "")])).expect("upgrade");
        // Nothing after the upgrade: no initialize, no request.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
            if answer.windows(3).any(|w| w == [0x88, w[1], 0x03] && w[1] & 0x80 == 0) {
                break;
            }
        }
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 101"), "{rt:?}: {text}");
        let head_end = text.find("\r\n\r\n").expect("a head") + 4;
        let frame = &answer[head_end..];
        assert!(frame.len() >= 4 && frame[0] == 0x88, "{rt:?}: no close frame: {frame:?}");
        assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), 1008, "{rt:?}");
        assert!(String::from_utf8_lossy(&frame[4..]).contains("lifecycle"), "{rt:?}");
        server.shutdown();
    }
}

#[test]
fn a_websocket_handed_to_serve_websocket_passes_the_connection_cap() {
    let runtime = mcp_ws_tests::multi_thread_runtime(1);
    runtime.block_on(async {
        use async_tungstenite::tokio::TokioAdapter;
        use futures_util::StreamExt;
        let net = Tokio::new();
        let mut config = server_config();
        config.limits.max_connections = 1;
        let server = Server::new(net.clone(), mcp_ws_cli::demo::router(net.clone()), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
        let embedder = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                let server = server.clone();
                tokio::spawn(async move {
                    let ws = async_tungstenite::accept_async(TokioAdapter::new(stream)).await;
                    server.serve_websocket(ws.expect("the embedder's upgrade")).await;
                });
            }
        });
        let within = Duration::from_secs(10);
        let (first, _) =
            tokio::time::timeout(within, async_tungstenite::tokio::connect_async(&url))
                .await
                .expect("in time")
                .expect("the first connection");
        let (mut second, _) =
            tokio::time::timeout(within, async_tungstenite::tokio::connect_async(&url))
                .await
                .expect("in time")
                .expect("the second upgrade (the embedder upgrades it)");
        // The only place is taken: the second is closed with 1013 (try again later).
        let message = tokio::time::timeout(within, second.next()).await.expect("a close in time");
        match message {
            Some(Ok(async_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1013, "{frame:?}")
            }
            other => panic!("expected a close with 1013, got {other:?}"),
        }
        drop(first);
        embedder.abort();
    });
}
