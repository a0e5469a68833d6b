//! Streamable HTTP, server side: a session served through the in-memory message pipe runs the
//! same core session, loop and router as a WebSocket connection, on both runtimes.
//!
//! (The HTTP layer on the endpoint path is not wired yet; these tests cover the seam it plugs
//! into: `Server::serve_messages`.)

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::server::limits::Admission;
use mcp_ws_driver::{MessagePipe, Network, PipeEnd, Server};
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Probe, server_config, test_router};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

/// Generous: the box is shared and slow; what must happen happens well within it.
const PATIENCE: Duration = Duration::from_secs(20);

async fn next_message(pipe: &mut PipeEnd) -> Value {
    let text = pipe.from_loop.next().await.expect("the session wrote a message");
    serde_json::from_str(&text).expect("JSON")
}

/// Initialize, list tools, then drop the sender: the session's future must end.
async fn exchange(pipe: &mut PipeEnd) {
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": { "roots": {} },
            "clientInfo": { "name": "pipe-test", "version": "0" }
        }
    });
    pipe.to_loop.send(initialize.to_string()).await.unwrap();
    let answer = next_message(pipe).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    pipe.to_loop.send(initialized.to_string()).await.unwrap();
    let list = json!({ "jsonrpc": "2.0", "id": "two", "method": "tools/list" });
    pipe.to_loop.send(list.to_string()).await.unwrap();
    let answer = next_message(pipe).await;
    assert_eq!(answer["id"], "two");
    let tools = answer["result"]["tools"].as_array().expect("a tool list");
    assert!(tools.iter().any(|tool| tool["name"] == "hold"), "the test router's tools: {answer}");
}

async fn serve_and_exchange<N: Network>(net: N) {
    let server = Server::new(
        net.clone(),
        test_router(net.clone(), Arc::new(Probe::default())),
        server_config(),
    );
    let permit = match server.admit(None) {
        Admission::Admitted(permit) => permit,
        _ => panic!("a fresh server admits"),
    };
    let (loop_end, mut pipe) = MessagePipe::default().open();
    let served = server.serve_messages(loop_end, None, permit);
    let client = async move {
        exchange(&mut pipe).await;
        drop(pipe.to_loop);
        // The loop ends: its output side closes after the session.
        while pipe.from_loop.next().await.is_some() {}
    };
    let both = futures_util::future::join(served, client);
    let deadline = net.sleep_until(net.now() + PATIENCE);
    match futures_util::future::select(Box::pin(both), Box::pin(deadline)).await {
        futures_util::future::Either::Left(_) => {}
        futures_util::future::Either::Right(_) => panic!("the piped session did not end in time"),
    }
    assert!(server.connections().is_empty(), "the session is untracked once it ended");
}

#[test]
fn a_piped_session_answers_and_ends_when_its_sender_is_dropped_on_tokio() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(serve_and_exchange(Tokio::new()));
}

#[test]
fn a_piped_session_answers_and_ends_when_its_sender_is_dropped_on_smol() {
    smol::block_on(serve_and_exchange(Smol::new()));
}
