//! The command line: subcommands and their flags.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// MCP over WebSocket: serve, bridge and call MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-ws", version, about)]
pub struct Cli {
    /// More logging on stderr (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the built-in demo server, or any stdio MCP server (`--stdio -- CMD ARGS...`),
    /// over WebSocket.
    Serve(ServeArgs),
    /// Bridge stdin/stdout (MCP stdio transport) to a WebSocket MCP server, with keepalive and
    /// auto-reconnect.
    Connect(ConnectArgs),
    /// List a server's tools.
    Tools(ToolsArgs),
    /// Call one tool.
    Call(CallArgs),
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: SocketAddr,
    /// The HTTP path of the endpoint; other paths get 404.
    #[arg(long, default_value = "/mcp")]
    pub path: String,
    /// Seconds between WebSocket pings on a quiet connection (0 turns pings off).
    #[arg(long, default_value_t = 20)]
    pub ping_interval: u64,
    /// Seconds without any frame from a client before it is declared dead.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout: u64,
    /// The largest message accepted, in bytes (larger ones close with 1009).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Serve a stdio MCP server instead of the demo: one child process per connection.
    #[arg(long)]
    pub stdio: bool,
    /// The stdio server's command and arguments (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

impl ServeArgs {
    /// The ping interval, `None` when turned off.
    pub fn ping(&self) -> Option<Duration> {
        (self.ping_interval > 0).then(|| Duration::from_secs(self.ping_interval))
    }

    /// The idle timeout.
    pub fn idle(&self) -> Option<Duration> {
        (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout))
    }
}

/// Flags of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server's ws:// URL.
    pub url: String,
    /// Seconds between WebSocket pings.
    #[arg(long, default_value_t = 20)]
    pub ping_interval: u64,
    /// Seconds without any frame from the server before the connection is declared dead.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout: u64,
    /// Give up reconnecting after this many consecutive failed attempts (0 = never).
    #[arg(long, default_value_t = 0)]
    pub max_attempts: u32,
}

/// Flags shared by `tools` and `call`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The server's ws:// URL.
    pub url: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Speak exactly this protocol version (default: probe 2026-07-28, fall back to legacy).
    #[arg(long)]
    pub protocol_version: Option<String>,
}

/// Flags of `tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The tool's name.
    pub tool: String,
    /// The arguments, as a JSON object.
    #[arg(default_value = "{}")]
    pub arguments: String,
}
