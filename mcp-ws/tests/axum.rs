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
