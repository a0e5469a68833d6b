//! Memory held by idle WebSocket connections, server side: tungstenite's default buffers (the
//! baseline) against the buffers mcp-ws configures, and against a whole idle mcp-ws session
//! (core session, driver task, buffers) after the MCP handshake.
//!
//! `cargo bench -p mcp-ws-tokio --bench idle_memory [-- CONNECTIONS]`
//!
//! Each variant runs in its own child process so freed memory of one cannot hide the next. A
//! child opens the connections on loopback, lets every server side read one message (reading is
//! what makes tungstenite fill its read buffer: it zero-fills the whole capacity), and reports
//! how much its resident set grew per connection. The client sides live in the same process and
//! use the same small buffers in every variant, so they add the same amount to each figure.
//! Ratios are against the default-buffer baseline.

use std::time::Duration;

use async_tungstenite::tokio::{accept_async_with_config, client_async_with_config};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use futures_util::StreamExt;
use mcp_ws_tokio::core::mcp::Implementation;
use mcp_ws_tokio::ws_config::websocket_config;
use mcp_ws_tokio::{Router, Server, ServerConfig, Tokio};
use tokio::net::{TcpListener, TcpStream};

const VARIANTS: [&str; 3] = ["tungstenite-default", "mcp-ws-buffers", "mcp-ws-session"];

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).expect("rss").parse().expect("number");
    pages * 4
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;

async fn child(variant: &str, connections: usize) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("ws://{addr}/mcp");
    // Clients use small buffers in every variant, so their share is the same.
    let client_config = websocket_config(64 * 1024);
    let before = resident_kib();
    let mut held_servers = Vec::new();
    let mut held_clients = Vec::new();
    match variant {
        "mcp-ws-session" => {
            let net = Tokio::new();
            let server = Server::new(
                net.clone(),
                Router::new(),
                ServerConfig::new(Implementation::new("bench", "0")),
            );
            let serving = server.clone();
            tokio::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.expect("accept");
                    let server = serving.clone();
                    tokio::spawn(async move { mcp_ws_tokio::serve_tcp(&server, stream).await });
                }
            });
            for _ in 0..connections {
                let stream = TcpStream::connect(addr).await.expect("connect");
                let (mut ws, _) =
                    client_async_with_config(url.as_str(), stream, Some(client_config))
                        .await
                        .expect("ws");
                ws.send(Message::text(INITIALIZE)).await.expect("send");
                let _ = ws.next().await.expect("answer").expect("ok");
                ws.send(Message::text(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#))
                    .await
                    .expect("send");
                held_clients.push(ws);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(server.connections().len(), connections);
        }
        _ => {
            let server_config: WebSocketConfig = if variant == "tungstenite-default" {
                WebSocketConfig::default()
            } else {
                websocket_config(16 * 1024 * 1024)
            };
            for _ in 0..connections {
                let stream = TcpStream::connect(addr).await.expect("connect");
                let client = client_async_with_config(url.as_str(), stream, Some(client_config));
                let server = async {
                    let (accepted, _) = listener.accept().await.expect("accept");
                    accept_async_with_config(accepted, Some(server_config))
                        .await
                        .expect("accept ws")
                };
                let ((mut ws, _), mut server_ws) = {
                    let (client, server) = tokio::join!(client, server);
                    (client.expect("client"), server)
                };
                ws.send(Message::text(INITIALIZE)).await.expect("send");
                let _ = server_ws.next().await.expect("message").expect("ok");
                held_clients.push(ws);
                held_servers.push(server_ws);
            }
        }
    }
    let after = resident_kib();
    std::hint::black_box((&held_servers, &held_clients));
    (after.saturating_sub(before)) as f64 / connections as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--variant") {
        let variant = &args[position + 1];
        let connections: usize = args[position + 2].parse().expect("count");
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let per_connection = runtime.block_on(child(variant, connections));
        println!("{per_connection:.2}");
        return;
    }
    let connections: usize = args.iter().skip(1).find_map(|a| a.parse().ok()).unwrap_or(500);
    let exe = std::env::current_exe().expect("exe");
    let mut figures = Vec::new();
    for variant in VARIANTS {
        let output = std::process::Command::new(&exe)
            .args(["--variant", variant, &connections.to_string()])
            .output()
            .expect("child");
        let text = String::from_utf8_lossy(&output.stdout);
        let kib: f64 = text.trim().parse().unwrap_or_else(|_| {
            panic!("{variant} failed: {text} {}", String::from_utf8_lossy(&output.stderr))
        });
        figures.push((variant, kib));
    }
    let baseline = figures[0].1;
    println!("idle connections: {connections} (client and server in one process, loopback)");
    println!("{:<22} {:>16} {:>8}", "variant", "KiB/connection", "ratio");
    for (variant, kib) in figures {
        println!("{variant:<22} {kib:>16.1} {:>8.3}", kib / baseline);
    }
}
