//! The README's server: one tool, its input schema derived from `Add`.
//! `cargo run -p mcp-ws --example readme_server` (`MCP_WS_LISTEN=127.0.0.1:0` picks a free port).
use mcp_ws::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let router = Router::new()
        .tool("add", "Adds a and b", |x: Add, _| async move { Ok((x.a + x.b).to_string()) });
    mcp_ws::serve("127.0.0.1:8765", router).await
}
