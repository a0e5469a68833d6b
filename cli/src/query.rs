//! `mcp-ws tools` and `mcp-ws call`: one-shot client commands for scripts and smoke tests.
//! The exit status is non-zero when the call fails or the tool reports an error.

use std::process::ExitCode;
use std::time::Duration;

use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::core::mcp::{CallToolResult, ContentBlock, Implementation};
use mcp_ws_driver::{CallOptions, Client, ClientConfig};

use crate::args::{CallArgs, ClientArgs, ToolsArgs};

async fn open(args: &ClientArgs) -> Result<Client, String> {
    let mut config =
        ClientConfig::new(Implementation::new("mcp-ws", env!("CARGO_PKG_VERSION"))).reconnect(None);
    if let Some(version) = &args.protocol_version {
        let version = ProtocolVersion::parse(version)
            .ok_or_else(|| format!("unknown protocol version {version}"))?;
        config = config.version(version);
    }
    config.session.request_timeout = Duration::from_secs(args.timeout.max(1));
    let config = args.auth.apply(config)?;
    mcp_ws_tokio::connect(&args.url, config).await.map_err(|e| format!("{}: {e}", args.url))
}

/// Lists the tools.
pub async fn tools(args: &ToolsArgs) -> Result<ExitCode, String> {
    let client = open(&args.client).await?;
    let tools = client.list_all_tools().await;
    client.close().await;
    let tools = tools.map_err(|e| format!("tools/list failed: {e}"))?;
    if args.client.json {
        let json = serde_json::to_string_pretty(&tools).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        for tool in tools {
            println!("{}\t{}", tool.name, tool.description.unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Calls one tool.
pub async fn call(args: &CallArgs) -> Result<ExitCode, String> {
    let arguments: serde_json::Value = serde_json::from_str(&args.arguments)
        .map_err(|e| format!("the arguments are not JSON: {e}"))?;
    if !arguments.is_object() {
        return Err("the arguments must be a JSON object".into());
    }
    let client = open(&args.client).await?;
    let options = CallOptions::timeout(Duration::from_secs(args.client.timeout.max(1)));
    let result = client.call_tool_with(&args.tool, arguments, options).await;
    client.close().await;
    let result = result.map_err(|e| format!("tools/call {} failed: {e}", args.tool))?;
    print_result(&result, args.client.json)?;
    Ok(if result.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_result(result: &CallToolResult, json: bool) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    for block in &result.content {
        match block {
            ContentBlock::Text(text) if result.failed() => eprintln!("error: {}", text.text),
            ContentBlock::Text(text) => println!("{}", text.text),
            other => {
                println!("{}", serde_json::to_string(other).map_err(|e| e.to_string())?)
            }
        }
    }
    Ok(())
}
