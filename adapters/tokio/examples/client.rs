//! A minimal client: connect, list the tools, call one.
//!
//! Start a server first (`cargo run --bin mcp-ws -- serve`), then:
//! `cargo run -p mcp-ws-tokio --example client [ws://127.0.0.1:8765/mcp]`

use mcp_ws_tokio::core::mcp::Implementation;
use mcp_ws_tokio::{ClientConfig, connect};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:8765/mcp".into());
    let client = connect(&url, ClientConfig::new(Implementation::new("example", "0.1"))).await?;
    println!("connected: {:?} {:?}", client.protocol_version(), client.server_info());
    for tool in client.list_all_tools().await? {
        println!("tool {}", tool.name);
    }
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await?;
    println!("add(2, 3) = {}", sum.joined_text());
    client.close().await;
    Ok(())
}
