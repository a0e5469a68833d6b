//! `netfault-node`: the `mcp-ws serve` demo node of the network fault tests, with one more
//! tool that counts where the tests can see it. It takes `mcp-ws serve`'s flags (the same
//! [`ServeArgs`], served by [`mcp_ws_cli::serve::run_with`], so the same session, fan-out and
//! drain settings) plus `--executions FILE`, and serves the demo router
//! with:
//!
//! - `count {id}`: appends one line `id` to FILE per execution (opened in append mode, so the
//!   nodes of a cluster share one file) and answers `counted {id}`;
//! - `big {bytes}`: answers a text of `bytes` bytes (at most 4 MiB), for the throttled link.
//!
//! It prints its URL on the first line of stdout, and drains on SIGTERM as `mcp-ws serve`
//! does (`Server::shutdown`: in-flight calls finish within `--shutdown-grace`, new ones are
//! refused unprocessed, every client gets 1001), exiting 0.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use mcp_ws_cli::args::ServeArgs;
use mcp_ws_driver::ToolError;
use mcp_ws_driver::core::mcp::{CallToolResult, Tool};
use serde::Deserialize;

/// The flags: `mcp-ws serve`'s, and where to record executions.
#[derive(Debug, Parser)]
struct NodeArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// The file each `count` execution appends its id to.
    #[arg(long)]
    executions: PathBuf,
}

#[derive(Deserialize)]
struct CountArgs {
    id: String,
}

#[derive(Deserialize)]
struct BigArgs {
    bytes: usize,
}

const MAX_BIG: usize = 4 << 20;

fn tool(name: &str, properties: serde_json::Value, required: &str) -> Tool {
    let schema = serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": [required],
        "additionalProperties": false
    });
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    Tool { name: name.into(), input_schema, ..Default::default() }
}

fn main() -> ExitCode {
    let args = NodeArgs::parse();
    let runtime = mcp_ws_tests::multi_thread_runtime(1);
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("netfault-node: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: NodeArgs) -> Result<ExitCode, String> {
    let executions = Arc::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.executions)
            .map_err(|e| format!("{}: {e}", args.executions.display()))?,
    );
    let count = tool("count", serde_json::json!({ "id": { "type": "string" } }), "id");
    let big = tool("big", serde_json::json!({ "bytes": { "type": "integer" } }), "bytes");
    // Everything else is `mcp-ws serve` itself: its flags, Redis fan-out, the drain on SIGTERM.
    mcp_ws_cli::serve::run_with(&args.serve, move |router| {
        router
            .tool_def(count, move |args: CountArgs, _context| {
                let executions = executions.clone();
                async move {
                    (&*executions)
                        .write_all(format!("{}\n", args.id).as_bytes())
                        .map_err(|e| ToolError::msg(format!("cannot record: {e}")))?;
                    Ok(CallToolResult::text(format!("counted {}", args.id)))
                }
            })
            .tool_def(big, |args: BigArgs, _context| async move {
                if args.bytes > MAX_BIG {
                    return Err(ToolError::msg(format!("bytes must be at most {MAX_BIG}")));
                }
                Ok(CallToolResult::text("x".repeat(args.bytes)))
            })
    })
    .await
}
