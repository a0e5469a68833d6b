//! `mcp_ws::serve` drains on SIGTERM like `mcp-ws serve` (the README server's example binary,
//! signalled with `kill -TERM`), and `mcp_ws::serve_until` lets a call in flight finish before
//! it returns.

use std::time::Duration;

use mcp_ws::prelude::*;
use tokio::process::Command;

mod support;

use support::start_readme_server;

fn test_client() -> ClientConfig {
    ClientConfig::new(Implementation::new("serve-test", "1")).reconnect(None)
}

#[tokio::test]
async fn serve_drains_and_exits_zero_on_sigterm() {
    let support::ReadmeServer { process: mut server, mut lines, url } = start_readme_server().await;
    let client = connect(&url, test_client()).await.expect("connect");
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!(sum.joined_text(), "5");

    let pid = server.id().expect("running").to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().await.expect("run kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("the server exits within 20 s of SIGTERM")
        .expect("wait");
    let mut rest = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
    {
        rest.push(line);
    }
    assert_eq!(status.code(), Some(0), "exit after a drain, not death by signal: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("SIGTERM: draining")), "{rest:?}");
    assert!(rest.iter().any(|l| l == "mcp-ws: shut down"), "{rest:?}");
}

#[tokio::test]
async fn serve_until_lets_a_call_in_flight_finish_then_returns() {
    let (started_tx, started_rx) = tokio::sync::mpsc::channel::<()>(1);
    let router =
        Router::new().tool("slow", "Answers after 300 ms", move |_: serde_json::Value, _| {
            let started = started_tx.clone();
            async move {
                let _ = started.send(()).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                Ok("done")
            }
        });
    // A free loopback port (serve_until announces its URL on stderr only).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        mcp_ws::serve_until(&format!("127.0.0.1:{port}"), router, async {
            let _ = stopped.await;
        })
        .await
    });
    let url = format!("ws://127.0.0.1:{port}/mcp");
    let mut client = None;
    for _ in 0..100 {
        if let Ok(connected) = connect(&url, test_client()).await {
            client = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client.expect("the server accepts within 5 s");
    let call = tokio::spawn(async move { client.call_tool("slow", json!({})).await });
    let mut started_rx = started_rx;
    tokio::time::timeout(Duration::from_secs(20), started_rx.recv())
        .await
        .expect("the handler starts within 20 s");
    stop.send(()).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .expect("the call ends within 20 s")
        .unwrap()
        .expect("the call in flight is answered during the drain");
    assert_eq!(answer.joined_text(), "done");
    tokio::time::timeout(Duration::from_secs(20), serving)
        .await
        .expect("serve_until returns within 20 s of the stop")
        .unwrap()
        .expect("serve_until returns Ok after the drain");
    // Nothing listens any more.
    assert!(connect(&url, test_client()).await.is_err());
}
