//! The README's client: calls `add` on the README server (`MCP_WS_URL` points it elsewhere).
//! `cargo run -p mcp-ws --example readme_client`
use mcp_ws::prelude::*;

#[tokio::main]
async fn main() {
    let client = mcp_ws::client("ws://127.0.0.1:8765/mcp").await.unwrap();
    println!("{}", client.call_tool("add", json!({"a": 2, "b": 3})).await.unwrap().joined_text());
}
