//! Mounting the MCP endpoint inside an HTTP server you already have.
//!
//! This "existing server" is a tiny hand-written HTTP/1.1 server: `GET /health` answers `ok`,
//! and a WebSocket upgrade on `/mcp` is performed by the server itself (it writes the 101
//! answer) and the upgraded connection is handed to `Server::serve_websocket`. With a framework
//! that can hand over the raw TCP stream instead, `mcp_ws_tokio::serve_tcp` does the upgrade
//! too.
//!
//! `cargo run -p mcp-ws-tokio --example embed`, then
//! `curl http://127.0.0.1:8767/health` and
//! `cargo run --bin mcp-ws -- call ws://127.0.0.1:8767/mcp hello '{}'`

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::Role;
use mcp_ws_tokio::core::ProtocolVersion;
use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_tokio::server::upgrade::select_subprotocol;
use mcp_ws_tokio::ws_config::websocket_config;
use mcp_ws_tokio::{Router, Server, ServerConfig, Tokio};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

async fn handle(server: Server<Tokio>, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    // Read the request head (the "existing server" parses HTTP itself).
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (mut key, mut protocols) = (None, Vec::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "sec-websocket-key" => key = Some(value.trim().to_string()),
                "sec-websocket-protocol" => protocols.push(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut stream = reader.into_inner();
    match (path.as_str(), key) {
        ("/health", _) => {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n").await?;
        }
        ("/mcp", Some(key)) => {
            let selected =
                select_subprotocol(protocols.iter().map(String::as_str), &ProtocolVersion::ALL);
            let mut answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
                 sec-websocket-accept: {}\r\n",
                derive_accept_key(key.as_bytes())
            );
            if let Some(protocol) = selected {
                answer.push_str(&format!("sec-websocket-protocol: {protocol}\r\n"));
            }
            answer.push_str("\r\n");
            stream.write_all(answer.as_bytes()).await?;
            let config = websocket_config(server.config().session.limits.max_message_bytes);
            let ws = WebSocketStream::from_raw_socket(
                TokioAdapter::new(stream),
                Role::Server,
                Some(config),
            )
            .await;
            server.serve_websocket(ws).await;
        }
        _ => {
            stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = serde_json::json!({ "type": "object" });
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    let hello = Tool { name: "hello".into(), input_schema, ..Default::default() };
    let router = Router::new().tool_def(hello, |_: serde_json::Value, _context| async move {
        Ok(CallToolResult::text("hello from inside an existing HTTP server"))
    });
    let server =
        mcp_ws_tokio::server(router, ServerConfig::new(Implementation::new("embedded", "0.1")));
    let listener = TcpListener::bind("127.0.0.1:8767").await?;
    println!("http://127.0.0.1:8767/health and ws://127.0.0.1:8767/mcp");
    loop {
        let (stream, _) = listener.accept().await?;
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(error) = handle(server, stream).await {
                eprintln!("connection failed: {error}");
            }
        });
    }
}
