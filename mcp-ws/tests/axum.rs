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
