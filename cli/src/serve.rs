//! `mcp-ws serve`: the built-in demo server on WebSocket, until Ctrl-C (then a graceful
//! shutdown: 1001 to every client after in-flight calls finish).

use std::process::ExitCode;

use mcp_ws_driver::{Server, ServerConfig};
use mcp_ws_tokio::Tokio;

use crate::args::ServeArgs;
use crate::demo;

/// The server configuration the flags describe, for `identity`.
pub fn server_config(
    args: &ServeArgs,
    identity: mcp_ws_driver::core::mcp::Implementation,
) -> ServerConfig {
    let mut config = ServerConfig::new(identity);
    config.path = args.path.clone();
    config.session.ping_interval = args.ping();
    config.session.idle_timeout = args.idle();
    config.session.limits.max_message_bytes = args.max_message_bytes;
    config
}

/// Runs the demo server.
pub async fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    let net = Tokio::new();
    let server =
        Server::new(net.clone(), demo::router(net), server_config(args, demo::implementation()));
    let listening = server
        .listen(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("{}", listening.url());
    tracing::info!(url = %listening.url(), "serving the demo MCP server");
    let accept = tokio::spawn(listening.run());
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    let _ = accept.await;
    Ok(ExitCode::SUCCESS)
}
