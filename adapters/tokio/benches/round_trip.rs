//! Sequential request/response round trips over loopback on tokio: an mcp-ws client calling a
//! `tools/call` on an mcp-ws server, against a baseline of bare tungstenite on both ends that
//! exchanges the same two wire messages with no MCP processing at all (the server answers with
//! a precomputed response). The ratio is the cost of the whole mcp-ws stack (sessions, driver
//! tasks, router, typed parsing) over moving the bytes.
//!
//! `cargo bench -p mcp-ws-tokio --bench round_trip [-- ROUND_TRIPS]`

use std::time::{Duration, Instant};

use async_tungstenite::tokio::{accept_async, connect_async};
use async_tungstenite::tungstenite::Message;
use futures_util::StreamExt;
use mcp_ws_tokio::core::ProtocolVersion;
use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_tokio::{CallOptions, ClientConfig, Router, ServerConfig};
use serde::Deserialize;
use tokio::net::TcpListener;

#[derive(Deserialize)]
struct Operands {
    a: f64,
    b: f64,
}

const REQUEST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const RESPONSE: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"5"}]}}"#;

async fn ours(round_trips: u32) -> Duration {
    let schema = serde_json::json!({"type": "object"});
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    let add = Tool { name: "add".into(), input_schema, ..Default::default() };
    let router = Router::new().tool_def(add, |args: Operands, _context| async move {
        Ok(CallToolResult::text(format!("{}", args.a + args.b)))
    });
    let server = mcp_ws_tokio::server(router, ServerConfig::new(Implementation::new("bench", "0")));
    let listening = server.listen("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
    let url = listening.url();
    tokio::spawn(listening.run());
    let config = ClientConfig::new(Implementation::new("bench", "0"))
        .version(ProtocolVersion::V2025_11_25)
        .reconnect(None);
    let client = mcp_ws_tokio::connect(&url, config).await.expect("connect");
    let arguments = serde_json::json!({"a": 2, "b": 3});
    let started = Instant::now();
    for _ in 0..round_trips {
        let result = client
            .call_tool_with("add", arguments.clone(), CallOptions::default())
            .await
            .expect("call");
        assert_eq!(result.joined_text(), "5");
    }
    let elapsed = started.elapsed();
    client.close().await;
    server.shutdown().await;
    elapsed
}

async fn bare(round_trips: u32) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let mut ws = accept_async(stream).await.expect("upgrade");
        while let Some(Ok(message)) = ws.next().await {
            if message.is_text() && ws.send(Message::text(RESPONSE)).await.is_err() {
                break;
            }
        }
    });
    let (mut ws, _) = connect_async(format!("ws://{addr}/")).await.expect("connect");
    let started = Instant::now();
    for _ in 0..round_trips {
        ws.send(Message::text(REQUEST)).await.expect("send");
        match ws.next().await.expect("answer").expect("ok") {
            Message::Text(text) => assert_eq!(text.as_str(), RESPONSE),
            other => panic!("{other:?}"),
        }
    }
    started.elapsed()
}

fn main() {
    let round_trips: u32 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Warm up both paths, then measure each three times and keep the fastest.
    runtime.block_on(ours(1000));
    runtime.block_on(bare(1000));
    let best = |f: &dyn Fn() -> Duration| (0..3).map(|_| f()).min().expect("three runs");
    let ours = best(&|| runtime.block_on(ours(round_trips)));
    let bare = best(&|| runtime.block_on(bare(round_trips)));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(round_trips);
    println!("sequential tools/call round trips over loopback: {round_trips} (best of 3)");
    println!("{:<34} {:>10} {:>12} {:>8}", "stack", "µs/call", "calls/s", "ratio");
    for (name, elapsed) in [("bare tungstenite (baseline)", bare), ("mcp-ws client + server", ours)]
    {
        println!(
            "{name:<34} {:>10.1} {:>12.0} {:>8.2}",
            per(elapsed),
            f64::from(round_trips) / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / bare.as_secs_f64()
        );
    }
}
