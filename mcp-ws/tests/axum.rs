//! The axum example's application serves MCP beside `/health`, behind its middleware, with
//! the endpoint's own checks (Origin) and subprotocol selection, and a real client calls it.

use std::time::Duration;

use mcp_ws::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../examples/axum.rs"]
mod axum_example;

/// Starts the axum example's application on a free loopback port.
async fn start_axum() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum_example::app("secret".into())
        .into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, task)
}

/// Sends one raw HTTP/1.1 request head and returns what came back before the server closed or
/// 2 s passed (enough for a status line and headers).
async fn raw(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let mut len = 0;
    let read = async {
        while let Ok(n) = stream.read(&mut answer[len..]).await {
            if n == 0 {
                break;
            }
            len += n;
            if String::from_utf8_lossy(&answer[..len]).contains("\r\n\r\n") {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    String::from_utf8_lossy(&answer[..len]).into_owned()
}

fn upgrade(extra: &str) -> String {
    format!(
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: mcp.version.2025-11-25, mcp\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn the_axum_app_serves_mcp_beside_its_routes_and_behind_its_middleware() {
    let (addr, task) = start_axum().await;
    // Another route of the same application.
    let health = raw(addr, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    // The middleware sees the upgrade request first.
    let refused = raw(addr, &upgrade("")).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    // The endpoint's own checks: a foreign Origin is refused by the driver's rules.
    let foreign =
        raw(addr, &upgrade("Authorization: Bearer secret\r\nOrigin: https://evil.example\r\n"))
            .await;
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    // An accepted upgrade selects `mcp`, exactly.
    let accepted = raw(addr, &upgrade("Authorization: Bearer secret\r\n")).await;
    assert!(accepted.starts_with("HTTP/1.1 101"), "{accepted}");
    assert!(
        accepted.to_ascii_lowercase().contains("sec-websocket-protocol: mcp\r\n"),
        "{accepted}"
    );
    assert!(
        accepted.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "the RFC 6455 accept key: {accepted}"
    );
    // And a real client calls the tool.
    let config =
        ClientConfig::new(Implementation::new("t", "1")).bearer_token("secret").reconnect(None);
    let call = async {
        let client = connect(&format!("ws://{addr}/mcp"), config).await.expect("connect");
        let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("call");
        client.close().await;
        sum
    };
    let sum = tokio::time::timeout(Duration::from_secs(20), call).await.expect("within 20 s");
    assert_eq!(sum.joined_text(), "5");
    task.abort();
}

/// Serves `/mcp` from a server with `config` on plain axum; `connect_info` mounts it with the
/// connection's addresses.
async fn start_plain(
    config: ServerConfig,
    connect_info: bool,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = mcp_ws::server(Router::new(), config);
    let app = axum::Router::new().route("/mcp", axum::routing::get(mcp_ws::axum::handler(server)));
    let task = tokio::spawn(async move {
        if connect_info {
            let app = app.into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
            axum::serve(listener, app).await.unwrap()
        } else {
            axum::serve(listener, app).await.unwrap()
        }
    });
    (addr, task)
}

#[tokio::test]
async fn the_axum_handler_passes_the_connection_cap() {
    let mut config = ServerConfig::new(Implementation::new("t", "1"));
    config.limits.max_connections = 1;
    let (addr, task) = start_plain(config, true).await;
    // The first upgrade holds the only place while its connection lives.
    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first.write_all(upgrade("").as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), first.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 101"));
    let second = raw(addr, &upgrade("")).await;
    assert!(second.starts_with("HTTP/1.1 503"), "{second}");
    assert!(second.to_ascii_lowercase().contains("retry-after: 1"), "{second}");
    drop(first);
    task.abort();
}

#[tokio::test]
async fn without_connect_info_the_handler_says_what_to_add() {
    let (addr, task) = start_plain(ServerConfig::new(Implementation::new("t", "1")), false).await;
    let answer = raw(addr, &upgrade("Origin: http://localhost:3000\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    let body = raw_body(addr, &upgrade("Origin: http://localhost:3000\r\n")).await;
    assert!(body.contains("into_make_service_with_connect_info"), "{body}");
    task.abort();
}

/// The whole answer to one request (headers and body) within 2 s.
async fn raw_body(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = async {
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&answer).contains("connect_info") {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Two `add` calls by our client at `url` (the axum example's app) in `era`; their answers.
async fn call_add(url: &str, era: mcp_ws::core::session::EraPolicy) -> String {
    let config = ClientConfig::new(Implementation::new("t", "1"))
        .bearer_token("secret")
        .era(era)
        .reconnect(None);
    let call = async {
        let client = connect(url, config).await.expect("connect");
        let first = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("call");
        let second = client.call_tool("add", json!({"a": 4, "b": 5})).await.expect("call");
        client.close().await;
        format!("{} {}", first.joined_text(), second.joined_text())
    };
    tokio::time::timeout(Duration::from_secs(20), call).await.expect("within 20 s")
}

#[tokio::test]
async fn the_axum_handler_serves_streamable_http_in_both_eras_and_websocket_on_one_route() {
    use mcp_ws::core::ProtocolVersion;
    use mcp_ws::core::session::EraPolicy;
    let (addr, task) = start_axum().await;
    let http = format!("http://{addr}/mcp");
    // Legacy Streamable HTTP: a session (Mcp-Session-Id) on the driver's session table.
    assert_eq!(call_add(&http, EraPolicy::Legacy(ProtocolVersion::V2025_11_25)).await, "5 9");
    // 2026-07-28: every POST stands alone.
    assert_eq!(call_add(&http, EraPolicy::Modern).await, "5 9");
    // And WebSocket on the same route, both eras.
    let ws = format!("ws://{addr}/mcp");
    assert_eq!(call_add(&ws, EraPolicy::Legacy(ProtocolVersion::V2025_11_25)).await, "5 9");
    assert_eq!(call_add(&ws, EraPolicy::Modern).await, "5 9");
    task.abort();
}

/// One raw HTTP/1.1 request with `body`; the status and the whole answer.
async fn raw_post(addr: std::net::SocketAddr, extra: &str, body: &str) -> (u16, String) {
    raw_post_host(addr, "127.0.0.1", extra, body).await
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[tokio::test]
async fn streamable_http_through_the_axum_handler_passes_the_endpoint_checks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let router = Router::new().tool("tick", "Counts its runs", move |_: NoArgs, _| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok("ticked".to_string())
        }
    });
    let mut config = ServerConfig::new(Implementation::new("t", "1"));
    config.auth = Some(mcp_ws::AuthCheck::new(mcp_ws::StaticToken::new("secret".to_string())));
    let server = mcp_ws::server(router, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/mcp", axum::routing::any(mcp_ws::axum::handler(server)))
        .into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tick","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    let modern = "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: tick\r\n";
    let token = "Authorization: Bearer secret\r\n";
    // A foreign Origin: 403, as on the driver's own listener, and nothing runs.
    let evil = format!("{modern}{token}Origin: https://evil.example\r\n");
    let (status, answer) = raw_post(addr, &evil, call).await;
    assert_eq!(status, 403, "{answer}");
    // No token: 401.
    let (status, answer) = raw_post(addr, modern, call).await;
    assert_eq!(status, 401, "{answer}");
    // A Host that is not this server's: 403.
    let rebound = format!("{modern}{token}");
    let (status, answer) = raw_post_host(addr, "evil.example", &rebound, call).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a refused POST ran its tool");
    // The same POST with the token from an allowed (loopback) origin is answered.
    let allowed = format!("{modern}{token}Origin: http://localhost:3000\r\n");
    let (status, answer) = raw_post(addr, &allowed, call).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("ticked"), "{answer}");
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // A legacy POST without a session that is not an initialize: 400, the driver's answer.
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    let legacy = format!("{token}MCP-Protocol-Version: 2025-11-25\r\n");
    let (status, answer) = raw_post(addr, &legacy, ping).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("Mcp-Session-Id"), "{answer}");
    task.abort();
}

/// [`raw_post`] with another `Host`.
async fn raw_post_host(
    addr: std::net::SocketAddr,
    host: &str,
    extra: &str,
    body: &str,
) -> (u16, String) {
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}
