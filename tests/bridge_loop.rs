//! The driver's stdio bridge loop (`mcp_ws_driver::bridge::run`, what `mcp-ws connect` runs)
//! on both runtimes, with in-memory client pipes: the client's lines reach a library server
//! and its answers come back as lines; the end of the client's input ends the bridge as soon
//! as every answer owed was written; a client that stops reading its output ends the bridge with
//! an error at the write deadline instead of stalling it. (`cli/tests/bridge.rs` drives the
//! binary over real stdio: reconnects, re-initialize, hostile servers.)

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::io::{AsyncWrite, Cursor};
use mcp_ws_driver::Network;
use mcp_ws_driver::bridge::{BridgeError, BridgeSettings, run};
use mcp_ws_driver::core::bridge::{BridgeConfig, BridgeExit};
use mcp_ws_driver::dial::Endpoint;
use mcp_ws_driver::lines::LineWriteFailed;
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Rt, TestServer, block_on, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::Value;

/// Generous: a busy 2-core machine.
const LIMIT: Duration = Duration::from_secs(20);

const SCRIPT: &str = concat!(
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"pipe","version":"1"}}}"#,
    "\n",
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    "\n",
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"through the bridge"}}}"#,
    "\n",
);

async fn bridged<N: Network>(net: N, url: &str) -> (Result<BridgeExit, BridgeError>, Vec<u8>) {
    let endpoint = Endpoint::parse(url).expect("url");
    // The input ends while answers are owed: the bridge ends with the last one, not at its
    // next timer (`drain_after_eof`, the connection's stability window, a ping: all longer
    // than `LIMIT` here).
    let mut machine = BridgeConfig::default();
    machine.drain_after_eof = Duration::from_secs(60);
    machine.reconnect.stable_after = Duration::from_secs(60);
    machine.ping_interval = None;
    let settings = BridgeSettings::new(machine);
    let mut output = Vec::new();
    let input = Cursor::new(SCRIPT.as_bytes().to_vec());
    let ended = within(&net, LIMIT, run(net.clone(), endpoint, settings, input, &mut output))
        .await
        .expect("the bridge ended in time");
    (ended, output)
}

fn answers_both_requests(rt: Rt) {
    let server = TestServer::start(rt, server_config());
    let (ended, output) = match rt {
        Rt::Tokio => block_on(rt, bridged(Tokio::new(), &server.url)),
        Rt::Smol => block_on(rt, bridged(Smol::new(), &server.url)),
    };
    assert!(matches!(ended, Ok(BridgeExit::Done)), "{ended:?}");
    let text = String::from_utf8(output).expect("UTF-8 lines");
    let answers: Vec<Value> =
        text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    assert_eq!(answers.len(), 2, "{text}");
    assert_eq!(answers[0]["id"], 1, "{text}");
    assert!(answers[0]["result"]["serverInfo"].is_object(), "{text}");
    assert_eq!(answers[1]["id"], 2, "{text}");
    assert!(text.contains("through the bridge"), "{text}");
    server.shutdown();
}

#[test]
fn the_bridge_carries_lines_to_the_server_and_answers_back_on_tokio() {
    answers_both_requests(Rt::Tokio);
}

#[test]
fn the_bridge_carries_lines_to_the_server_and_answers_back_on_smol() {
    answers_both_requests(Rt::Smol);
}

/// A client output nobody reads: every write waits forever.
struct Unread;

impl AsyncWrite for Unread {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Pending
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

#[test]
fn a_client_that_stops_reading_ends_the_bridge_at_the_write_deadline() {
    let server = TestServer::start(Rt::Tokio, server_config());
    let net = Tokio::new();
    let ended = block_on(Rt::Tokio, async {
        let endpoint = Endpoint::parse(&server.url).expect("url");
        let mut machine = BridgeConfig::default();
        // The write deadline is the idle timeout.
        machine.idle_timeout = Some(Duration::from_secs(1));
        let settings = BridgeSettings::new(machine);
        let input = Cursor::new(SCRIPT.as_bytes().to_vec());
        let started = std::time::Instant::now();
        let ended = within(&net, LIMIT, run(net.clone(), endpoint, settings, input, Unread)).await;
        (ended, started.elapsed())
    });
    let (ended, took) = ended;
    let ended = ended.expect("the bridge ended in time instead of stalling");
    assert!(matches!(ended, Err(BridgeError::ClientOutput(LineWriteFailed::Stalled))), "{ended:?}");
    assert!(took >= Duration::from_millis(900), "gave up after {took:?}");
    server.shutdown();
}
