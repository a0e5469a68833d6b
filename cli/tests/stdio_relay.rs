//! `mcp-ws serve --stdio` as a relay, with `cat` as the stdio "server" (it echoes every line
//! it is given) and a raw WebSocket client: frames become one compact line each with ids
//! untouched, malformed frames are answered by the relay and never reach the child, and a child
//! that exits closes the connection with 1011.

mod support;

use std::process::Command;

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::connect_async;
use mcp_ws_driver::async_tungstenite::tungstenite::Message;

use support::Served;

fn serve_stdio(command: &[&str]) -> Served {
    let mut args = vec!["--stdio", "--"];
    args.extend_from_slice(command);
    support::serve(&args)
}

async fn next_text<S>(ws: &mut S) -> String
where
    S: futures_util::Stream<
            Item = Result<Message, mcp_ws_driver::async_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Text(text) => return text.to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn frames_become_compact_lines_with_ids_untouched_and_bad_frames_stay_out() {
    let served = serve_stdio(&["cat"]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    // A pretty-printed request with a string id and a big integer in its params.
    let pretty = "{\n  \"jsonrpc\": \"2.0\",\n  \"id\": \"abc-1\",\n  \"method\": \"tools/call\",\n  \"params\": {\"n\": 123456789012345678901234567890}\n}";
    ws.send(Message::text(pretty)).await.expect("send");
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"jsonrpc":"2.0","id":"abc-1","method":"tools/call","params":{"n":123456789012345678901234567890}}"#
    );
    // Malformed: the relay answers, the child never sees it (the next echo is the next message).
    ws.send(Message::text("{")).await.expect("send");
    let error: serde_json::Value = serde_json::from_str(&next_text(&mut ws).await).expect("json");
    assert_eq!(
        (error["id"].clone(), error["error"]["code"].as_i64()),
        (serde_json::Value::Null, Some(-32700))
    );
    ws.send(Message::text(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#)).await.expect("send");
    assert_eq!(next_text(&mut ws).await, r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
    // A binary frame closes with 1003.
    ws.send(Message::binary(b"x".to_vec())).await.expect("send");
    loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1003);
                break;
            }
            Message::Close(None) => panic!("a close without a code"),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_child_that_exits_closes_the_connection_with_1011_and_says_so() {
    let served = serve_stdio(&["sh", "-c", "exit 3"]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1011);
                assert!(frame.reason.contains("exited"), "{}", frame.reason);
                assert!(frame.reason.contains('3'), "{}", frame.reason);
                break;
            }
            Message::Close(None) => panic!("a close without a code"),
            _ => continue,
        }
    }
}

/// Sends SIGINT (Ctrl-C) to the served process.
fn interrupt(served: &Served) {
    let status =
        Command::new("kill").args(["-INT", &served.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

async fn close_code_of<S>(ws: &mut S) -> u16
where
    S: futures_util::Stream<
            Item = Result<Message, mcp_ws_driver::async_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Close(Some(frame)) => return u16::from(frame.code),
            Message::Close(None) => panic!("a close without a code"),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn ctrl_c_closes_relayed_clients_with_1001_and_exits_cleanly() {
    let mut served = serve_stdio(&["cat"]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    ws.send(Message::text(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)).await.expect("send");
    let _ = next_text(&mut ws).await;
    interrupt(&served);
    assert_eq!(close_code_of(&mut ws).await, 1001);
    let status = tokio::task::spawn_blocking(move || {
        let status = served.child.wait().expect("wait");
        (served, status)
    })
    .await
    .expect("join")
    .1;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn ctrl_c_shuts_the_demo_server_down_with_1001() {
    let mut served = support::serve(&[]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#,
    ))
    .await
    .expect("send");
    let _ = next_text(&mut ws).await;
    interrupt(&served);
    assert_eq!(close_code_of(&mut ws).await, 1001);
    let status = tokio::task::spawn_blocking(move || served.child.wait().expect("wait"))
        .await
        .expect("join");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_client_that_closes_gets_the_close_answered_not_a_reset() {
    let served = serve_stdio(&["cat"]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    let frame = mcp_ws_driver::async_tungstenite::tungstenite::protocol::CloseFrame {
        code: 1000.into(),
        reason: "done".into(),
    };
    ws.send(Message::Close(Some(frame))).await.expect("send close");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("an answer in time");
    match answer {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("expected the close to be answered, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_is_read_again_as_soon_as_the_childs_input_queue_empties() {
    // A queue of one byte is full after every message; the child answers only `echo` lines,
    // so nothing from its stdout wakes the relay after the first (quiet) message: the queue
    // emptying must.
    let served = support::serve(&[
        "--stdio-queue-bytes",
        "1",
        "--stdio",
        "--",
        "grep",
        "--line-buffered",
        "echo",
    ]);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    for id in 0..3 {
        ws.send(Message::text(r#"{"jsonrpc":"2.0","method":"notifications/quiet"}"#))
            .await
            .expect("send");
        let echo = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"echo"}}"#);
        ws.send(Message::text(echo.clone())).await.expect("send");
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(10), next_text(&mut ws)).await;
        assert_eq!(answer.expect("the echo in time (the client was not read)"), echo);
    }
}
