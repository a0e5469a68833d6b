//! `netfault-node`: the `mcp-ws serve` demo node of the network fault tests, with one more
//! tool that counts where the tests can see it. It takes `mcp-ws serve`'s flags (the same
//! [`ServeArgs`], so the same session and drain settings through
//! [`mcp_ws_cli::serve::server_config`]) plus `--executions FILE`, and serves the demo router
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
use mcp_ws_cli::demo;
use mcp_ws_driver::core::mcp::{CallToolResult, Tool};
use mcp_ws_driver::{Server, ToolError};
use mcp_ws_tokio::redis_fanout::{RedisFanout, RedisFanoutConfig};
use mcp_ws_tokio::{StopSignals, Tokio};
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("netfault-node: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: NodeArgs) -> Result<ExitCode, String> {
    let net = Tokio::new();
    let mut signals = StopSignals::new();
    let config = mcp_ws_cli::serve::server_config(&args.serve, demo::implementation())?;
    let executions = Arc::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.executions)
            .map_err(|e| format!("{}: {e}", args.executions.display()))?,
    );
    let count = tool("count", serde_json::json!({ "id": { "type": "string" } }), "id");
    let big = tool("big", serde_json::json!({ "bytes": { "type": "integer" } }), "bytes");
    let router = demo::router(net.clone())
        .tool_def(count, move |args: CountArgs, _context| {
            let executions = executions.clone();
            async move {
                // One write of one line: appends of this size are not interleaved.
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
        });
    let mut server = Server::new(net.clone(), router, config);
    if let Some(url) = &args.serve.redis {
        let mut fanout = RedisFanoutConfig::new(url.clone());
        fanout.channel = args.serve.redis_channel.clone();
        let fanout = RedisFanout::start(fanout).map_err(|e| format!("--redis: {e}"))?;
        server = server.with_fanout(Arc::new(fanout));
    }
    let listening = server
        .listen(args.serve.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.serve.listen))?;
    println!("{}", listening.url());
    let accept = tokio::spawn(listening.run());
    signals.next().await;
    tokio::select! {
        () = server.shutdown() => {}
        _ = signals.next() => return Ok(ExitCode::FAILURE),
    }
    let _ = accept.await;
    Ok(ExitCode::SUCCESS)
}
