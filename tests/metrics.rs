//! The library's metrics, without the CLI: an embedder installs a `metrics` recorder (here
//! `metrics-util`'s `DebuggingRecorder`) and a server of the driver records into it: the
//! connection and its close, each request by method and outcome with its duration, and the
//! messages and bytes both ways. One test in this binary: the recorder is process-global.

use std::collections::HashSet;
use std::time::Duration;

use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::metrics as names;
use mcp_ws_driver::{ClientConfig, ServerConfig};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;

type Sample =
    (metrics_util::CompositeKey, Option<metrics::Unit>, Option<metrics::SharedString>, DebugValue);

fn value<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    let wanted: HashSet<(String, String)> =
        labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    samples.iter().find_map(|(key, _, _, value)| {
        let key = key.key();
        let labels: HashSet<(String, String)> =
            key.labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
        (key.name() == name && labels == wanted).then_some(value)
    })
}

fn counter(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(samples, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name} {labels:?}: {other:?} in {samples:#?}"),
    }
}

async fn snapshot_when<F: Fn(&Snapshotter) -> bool>(snapshotter: &Snapshotter, ready: F) {
    for _ in 0..200 {
        if ready(snapshotter) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_records_into_the_embedders_recorder() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("the only recorder of this process");

    let net = mcp_ws_tokio::Tokio::new();
    let router = mcp_ws_cli::demo::router(net.clone());
    let server = mcp_ws_tokio::server(router, ServerConfig::new(Implementation::new("t", "1")));
    let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
    let url = listening.url();
    let run = tokio::spawn(listening.run());
    let config = ClientConfig::new(Implementation::new("c", "1")).reconnect(None);
    let client = mcp_ws_tokio::connect(&url, config).await.expect("connect");
    for i in 0..3 {
        let result = client.call_tool("echo", json!({"text": format!("hi {i}")})).await;
        assert_eq!(result.expect("echo").joined_text(), format!("hi {i}"));
    }
    let unknown =
        client.request("no/such/method", None, mcp_ws_driver::CallOptions::default()).await;
    assert!(unknown.is_err(), "{unknown:?}");
    client.close().await;
    // The server sees the close a moment after the client has sent it.
    snapshot_when(&snapshotter, |_| server.connections().is_empty()).await;
    let samples = snapshotter.snapshot().into_vec();
    // A client that drops its TCP connection without a close frame: an abnormal closure (1006),
    // not a protocol error (1002). (Each snapshot drains the counters: they are summed.)
    drop_without_close(listening_addr(&url)).await;
    let (mut abnormal, mut protocol_error) = (0, 0);
    for _ in 0..1000 {
        let later = snapshotter.snapshot().into_vec();
        let closes = |code| match value(&later, names::CLOSES_TOTAL, &[("code", code)]) {
            Some(DebugValue::Counter(n)) => *n,
            _ => 0,
        };
        abnormal += closes("1006");
        protocol_error += closes("1002");
        if abnormal > 0 && server.connections().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((abnormal, protocol_error), (1, 0), "closes counted as 1006 and 1002");
    server.shutdown().await;
    run.await.expect("accept loop ends");

    let call = [("method", "tools/call"), ("outcome", "ok")];
    assert_eq!(counter(&samples, names::REQUESTS_TOTAL, &call), 3);
    let other = [("method", "other"), ("outcome", "error")];
    assert_eq!(counter(&samples, names::REQUESTS_TOTAL, &other), 1, "unknown methods are `other`");
    match value(&samples, names::REQUEST_DURATION_SECONDS, &[("method", "tools/call")]) {
        Some(DebugValue::Histogram(durations)) => {
            assert_eq!(durations.len(), 3);
            assert!(durations.iter().all(|d| d.0 > 0.0 && d.0 < 5.0), "{durations:?}");
        }
        other => panic!("durations: {other:?}"),
    }
    let accepted = [("outcome", "accepted"), ("transport", "websocket")];
    assert_eq!(counter(&samples, names::CONNECTIONS_TOTAL, &accepted), 1);
    assert_eq!(counter(&samples, names::CLOSES_TOTAL, &[("code", "1000")]), 1);
    assert_eq!(
        value(&samples, names::CONNECTIONS_ACTIVE, &[("transport", "websocket")]),
        Some(&DebugValue::Gauge(0.0.into())),
        "opened once and closed once"
    );
    // The handshake of the era, 4 requests and their answers at least, both ways.
    let messages_in = counter(&samples, names::MESSAGES_TOTAL, &[("direction", "in")]);
    let messages_out = counter(&samples, names::MESSAGES_TOTAL, &[("direction", "out")]);
    assert!(messages_in >= 4 && messages_out >= 4, "{messages_in} in, {messages_out} out");
    let bytes_in = counter(&samples, names::BYTES_TOTAL, &[("direction", "in")]);
    let bytes_out = counter(&samples, names::BYTES_TOTAL, &[("direction", "out")]);
    assert!(bytes_in > 4 * 40 && bytes_out > 4 * 40, "{bytes_in} in, {bytes_out} out");

    // A Streamable HTTP session is a connection of the `http` transport: counted when
    // `initialize` opens it, active until `DELETE` ends it.
    let net = mcp_ws_tokio::Tokio::new();
    let router = mcp_ws_cli::demo::router(net.clone());
    let server = mcp_ws_tokio::server(router, ServerConfig::new(Implementation::new("t", "1")));
    let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
    let addr = listening_addr(&listening.url());
    let run = tokio::spawn(listening.run());
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
    let (status, session) = http_request(&addr, "POST", None, initialize).await;
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let samples = snapshotter.snapshot().into_vec();
    let accepted = [("outcome", "accepted"), ("transport", "http")];
    assert_eq!(counter(&samples, names::CONNECTIONS_TOTAL, &accepted), 1, "{samples:#?}");
    let http_active = [("transport", "http")];
    assert_eq!(
        value(&samples, names::CONNECTIONS_ACTIVE, &http_active),
        Some(&DebugValue::Gauge(1.0.into()))
    );
    assert_eq!(http_request(&addr, "DELETE", Some(&session), "").await.0, 200);
    snapshot_when(&snapshotter, |_| server.connections().is_empty()).await;
    let samples = snapshotter.snapshot().into_vec();
    // (Snapshots drain: this one holds the change since the last.)
    assert_eq!(
        value(&samples, names::CONNECTIONS_ACTIVE, &http_active),
        Some(&DebugValue::Gauge((-1.0).into())),
        "ended by the DELETE"
    );
    server.shutdown().await;
    run.await.expect("accept loop ends");
}

/// One HTTP request to the endpoint at `addr` on a connection of its own: the status and the
/// `Mcp-Session-Id` answered.
async fn http_request(
    addr: &str,
    method: &str,
    session: Option<&str>,
    body: &str,
) -> (u16, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let session = session.map(|id| format!("Mcp-Session-Id: {id}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{session}\
         Content-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_string(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let id = answer.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("mcp-session-id").then(|| value.trim().to_string())
    });
    (status, id)
}

/// The `host:port` of a `ws://host:port/path` URL.
fn listening_addr(url: &str) -> String {
    let rest = url.strip_prefix("ws://").expect("a ws URL");
    rest.split('/').next().expect("authority").to_string()
}

/// Upgrades a raw TCP connection to `addr` and then closes the socket without a close frame.
async fn drop_without_close(addr: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "GET /mcp HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: mcp\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the upgrade answer in time")
            .expect("read");
        assert!(read > 0, "closed before answering");
        answer.extend_from_slice(&buf[..read]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&answer));
    drop(stream);
}
