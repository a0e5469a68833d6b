//! The fixture server the MCP conformance suite (`@modelcontextprotocol/conformance`) runs its
//! server scenarios against, written with `Router` as any user would (see `fixture.rs`).
//!
//! `cargo run -p mcp-ws --example conformance_server -- --listen 127.0.0.1:PORT` prints its
//! URL (endpoint path `/mcp`; port 0 picks a free one) and serves until killed. The suite
//! speaks Streamable HTTP, served on the same endpoint once the listener speaks it; the
//! tests crate drives the same router over WebSocket (`tests/conformance_fixture.rs`).
mod fixture;

use mcp_ws::mcp::Implementation;
use mcp_ws::{ServerConfig, server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:3000".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            _ => {
                eprintln!("usage: conformance_server [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let addr = tokio::net::lookup_host(&listen).await?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{listen}: no address"))
    })?;
    let config =
        ServerConfig::new(Implementation::new("mcp-ws-conformance", env!("CARGO_PKG_VERSION")));
    let listening = server(fixture::router(), config).listen(addr).await?;
    println!("{}", listening.url());
    listening.run().await;
    Ok(())
}
