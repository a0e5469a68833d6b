//! The minimal server on smol: one tool, on ws://127.0.0.1:8768/mcp, for 10 minutes.
//!
//! `cargo run -p mcp-ws-smol --example smol_server`

use std::time::Duration;

use mcp_ws_smol::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_smol::{Router, ServerConfig, server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = serde_json::json!({ "type": "object" });
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    let tool = Tool { name: "runtime".into(), input_schema, ..Default::default() };
    let router = Router::new().tool_def(tool, |_: serde_json::Value, _context| async move {
        Ok(CallToolResult::text("served by smol"))
    });
    smol::block_on(async {
        let server = server(router, ServerConfig::new(Implementation::new("smol-example", "0.1")));
        let listening = server.listen("127.0.0.1:8768".parse()?).await?;
        println!("{}", listening.url());
        smol::spawn(listening.run()).detach();
        smol::Timer::after(Duration::from_secs(600)).await;
        server.shutdown().await;
        Ok(())
    })
}
