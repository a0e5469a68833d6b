//! `mcp-ws connect URL`: a stdio MCP client's messages (newline-delimited JSON-RPC on stdin and
//! stdout) bridged to a WebSocket MCP server (`ws(s)://`) or a Streamable HTTP one
//! (`http(s)://`), with keepalive and auto-reconnect.
//!
//! The loop is the driver's [`mcp_ws_driver::bridge::run`] (the rules are the core's
//! [`mcp_ws_driver::core::bridge::Bridge`] machine's); this module turns the flags into its
//! settings and wires the process's stdin and stdout to it.

use std::process::ExitCode;
use std::time::Duration;

use mcp_ws_driver::bridge::{self as driver_bridge, BridgeSettings};
use mcp_ws_driver::core::bridge::{BridgeConfig, BridgeExit};
use mcp_ws_driver::core::reconnect::ReconnectConfig;
use mcp_ws_tokio::Tokio;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use crate::args::ConnectArgs;

pub use mcp_ws_driver::core::bridge::{CONNECTION_LOST, REINIT_PREFIX};

/// The settings of the bridge machine for `args`.
pub fn bridge_config(args: &ConnectArgs) -> BridgeConfig {
    let defaults = BridgeConfig::default();
    let mut config = BridgeConfig::default();
    config.reconnect = ReconnectConfig {
        max_attempts: (args.max_attempts > 0).then_some(args.max_attempts),
        ..defaults.reconnect
    };
    config.jitter_seed = u64::from(std::process::id()) ^ 0x9e37_79b9_7f4a_7c15;
    config.ping_interval =
        (args.ping_interval > 0).then(|| Duration::from_secs(args.ping_interval));
    config.idle_timeout = (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout));
    config
}

/// Runs the bridge until stdin closes (exit 0) or reconnecting gives up (exit 1).
pub async fn run(args: &ConnectArgs) -> Result<ExitCode, String> {
    let endpoint = args.auth.endpoint(&args.url)?;
    let settings = BridgeSettings::new(bridge_config(args));
    let stdin = tokio::io::stdin().compat();
    let stdout = tokio::io::stdout().compat_write();
    match driver_bridge::run(Tokio::new(), endpoint, settings, stdin, stdout).await {
        Ok(BridgeExit::Done) => Ok(ExitCode::SUCCESS),
        Ok(BridgeExit::GaveUp) => Ok(ExitCode::FAILURE),
        Err(driver_bridge::BridgeError::Config(error)) => Err(error.to_string()),
        Err(error) => {
            tracing::error!("{error}; exiting");
            Ok(ExitCode::FAILURE)
        }
    }
}
