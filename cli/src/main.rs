//! The `mcp-ws` command: serve MCP over WebSocket (the built-in demo, or any stdio MCP server),
//! bridge a stdio MCP client to a WebSocket server, and list or call tools from scripts.
//!
//! Logs go to stderr (`-v`, `-vv`, or `RUST_LOG`); stdout carries only protocol data (in
//! `connect`) or results.

use std::process::ExitCode;

use clap::Parser;
use mcp_ws_cli::args::{Cli, Command};
use mcp_ws_cli::{bridge, inspect, query, serve, stdio_server};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mcp-ws: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => match (args.stdio, args.command.is_empty()) {
                (true, false) => stdio_server::run(&args, &args.command).await,
                (false, true) => serve::run(&args).await,
                (true, true) => Err("--stdio needs the server's command after --".into()),
                (false, false) => Err("a command after -- needs --stdio".into()),
            },
            Command::Connect(args) => bridge::run(&args).await,
            Command::Tools(args) => query::tools(&args).await,
            Command::Call(args) => query::call(&args).await,
            Command::Inspect(args) => inspect::run(&args).await,
        }
    });
    // Do not wait for tasks blocked on stdin and similar.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mcp-ws: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,mcp_ws_cli=info",
        1 => "info,mcp_ws_cli=debug",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only for a terminal: logs captured by tests or files stay plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colours)
        .init();
}
