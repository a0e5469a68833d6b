//! The `mcp-ws` command: serve MCP over WebSocket (the built-in demo, or any stdio MCP server),
//! bridge a stdio MCP client to a WebSocket server, and use a server from scripts (tools,
//! resources, prompts, completion, subscriptions, ping).
//!
//! Logs go to stderr (`-v`, `-vv`, or `RUST_LOG`); stdout carries only protocol data (in
//! `connect`) or results.

use std::process::ExitCode;

use clap::Parser;
use mcp_ws_cli::args::{Cli, Command, LogFormat};
use mcp_ws_cli::{bridge, explore, inspect, query, serve, watch};

/// mimalloc instead of glibc's malloc: after a burst of large messages glibc keeps the freed
/// buffers (its mmap threshold rises to the size of the first large buffer freed, so later
/// ones come from arenas it does not trim), and after a connection flood it keeps the small
/// per-connection allocations. mimalloc, told to purge at once (see [`tune_allocator`]), gives
/// both back. Measured with `cargo bench -p mcp-ws-tokio --bench burst_memory` (its `bin=`
/// variants run this binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Purges freed memory at once instead of after mimalloc's default 10 ms delay: a delayed purge
/// runs only when the thread that freed the memory allocates again, and a server's workers go
/// idle after a burst, so the memory would stay resident until the next traffic.
fn tune_allocator() {
    // `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (libmimalloc-sys 0.1.49 does not
    // name it); the version is pinned in Cargo.toml.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores the option; it may be called at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.log_format);
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
                (true, false) => serve::run_stdio(&args, &args.command).await,
                (false, true) if args.upstream.is_some() => serve::run_gateway(&args).await,
                (false, true) => serve::run(&args).await,
                (true, true) => Err("--stdio needs the server's command after --".into()),
                (false, false) if args.upstream.is_some() => {
                    Err("--upstream relays to a URL: it takes no command after --".into())
                }
                (false, false) => Err("a command after -- needs --stdio".into()),
            },
            Command::Connect(args) => bridge::run(&args).await,
            Command::Tools(args) => query::tools(&args).await,
            Command::Call(args) => query::call(&args).await,
            Command::Resources(command) => explore::resources(&command).await,
            Command::Prompts(command) => explore::prompts(&command).await,
            Command::Complete(args) => explore::complete(&args).await,
            Command::Watch(args) => watch::run(&args).await,
            Command::Ping(args) => explore::ping(&args).await,
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

fn init_logging(verbose: u8, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,mcp_ws_cli=info",
        1 => "info,mcp_ws_cli=debug",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => {
            // Colours only for a terminal: logs captured by tests or files stay plain text.
            let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
            logs.with_ansi(colours).init()
        }
    }
}
