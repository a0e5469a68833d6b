//! A minimal server with two tools, on ws://127.0.0.1:8766/mcp until Ctrl-C.
//!
//! `cargo run -p mcp-ws-tokio --example server`, then for instance
//! `cargo run --bin mcp-ws -- call ws://127.0.0.1:8766/mcp shout '{"text":"hi"}'`

use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_tokio::{Router, ServerConfig, ToolError, server};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Text {
    text: String,
}

fn tool(name: &str, description: &str) -> Tool {
    let schema = json!({
        "type": "object",
        "properties": { "text": { "type": "string" } },
        "required": ["text"]
    });
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    Tool {
        name: name.into(),
        description: Some(description.into()),
        input_schema,
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = Router::new()
        .tool_def(tool("shout", "Upper-cases the text."), |args: Text, _context| async move {
            Ok(CallToolResult::text(args.text.to_uppercase()))
        })
        .tool_def(
            tool("count_words", "Counts the words of the text."),
            |args: Text, _context| async move {
                if args.text.trim().is_empty() {
                    return Err(ToolError::msg("there are no words to count"));
                }
                Ok(CallToolResult::text(args.text.split_whitespace().count().to_string()))
            },
        );
    let server = server(router, ServerConfig::new(Implementation::new("example-server", "0.1")));
    let listening = server.listen("127.0.0.1:8766".parse()?).await?;
    println!("{}", listening.url());
    tokio::spawn(listening.run());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
