//! The README's client: calls `add` on the URL given (default the README server's).
//! `cargo run -p mcp-ws --example readme_client -- ws://127.0.0.1:8765/mcp`
use mcp_ws::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:8765/mcp".into());
    let client = connect(&url, ClientConfig::new(Implementation::new("me", "1"))).await?;
    println!("{}", client.call_tool("add", json!({"a": 2, "b": 3})).await?.joined_text());
    Ok(())
}
