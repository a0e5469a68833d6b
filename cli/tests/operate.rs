//! `mcp-ws serve` in production, on loopback: `/healthz`, the drain on SIGTERM (a slow call in
//! flight finishes, the client sees 1001, the process exits 0; meanwhile health is 503 and
//! upgrades get 503 with Retry-After), `/metrics` after real traffic (behind the token, or on
//! `--metrics-listen` without it), JSON logs, and `--trust-proxy` for the per-address cap.
//! Every process is killed when its test ends, passed or failed.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::connect_async;
use mcp_ws_driver::async_tungstenite::tungstenite::Message;
use serde_json::{Value, json};

/// A served process, killed when dropped; its stderr is kept when asked for.
struct Served {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], stderr: Stdio) -> Served {
    let mut child = Command::new(support::BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL line");
    let url = url.trim().to_string();
    let authority = url.trim_start_matches("ws://").split('/').next().expect("authority");
    let addr = authority.parse().expect("an address in the URL");
    Served { child, url, addr }
}

impl Served {
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal");
    }

    /// Waits for the process to exit, at most `limit`.
    fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < end, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An HTTP/1.1 GET (with `extra` header lines) and the whole answer: status, head, body.
fn get(addr: SocketAddr, path: &str, extra: &[&str]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for line in extra {
        request.push_str(&format!("{line}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer to its end");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, head.to_string(), body.to_string())
}

const UPGRADE: &[&str] = &[
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
];

fn call(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(support::BINARY)
        .arg("call")
        .arg(url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mcp-ws call")
}

#[test]
fn healthz_answers_ok_and_other_plain_paths_keep_their_answers() {
    let served = serve(&[], Stdio::null());
    let (status, head, body) = get(served.addr, "/healthz", &[]);
    assert_eq!((status, body.as_str()), (200, "ok\n"), "{head}");
    assert_eq!(get(served.addr, "/nothing", &[]).0, 404);
    assert_eq!(get(served.addr, "/mcp", &[]).0, 426);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_slow_call_answers_503_meanwhile_closes_1001_and_exits_0() {
    let mut served = serve(&["--shutdown-grace", "10"], Stdio::null());
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "drain-test", "version": "1"}}});
    ws.send(Message::text(init.to_string())).await.expect("initialize");
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
    assert!(matches!(answer, Some(Ok(Message::Text(_)))), "{answer:?}");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    ws.send(Message::text(initialized.to_string())).await.expect("initialized");
    let slow = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "slow_count", "arguments": {"steps": 4, "interval_ms": 300}}});
    ws.send(Message::text(slow.to_string())).await.expect("call");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    served.signal(nix::sys::signal::Signal::SIGTERM);

    // While the call runs: health 503, an upgrade 503 with Retry-After.
    let addr = served.addr;
    let during = tokio::task::spawn_blocking(move || {
        let end = Instant::now() + Duration::from_secs(5);
        let mut health = get(addr, "/healthz", &[]);
        while health.0 != 503 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
            health = get(addr, "/healthz", &[]);
        }
        (health, get(addr, "/mcp", UPGRADE))
    })
    .await
    .expect("probe");
    let ((health, _, body), (upgrade, upgrade_head, _)) = during;
    assert_eq!((health, body.as_str()), (503, "draining\n"));
    assert_eq!(upgrade, 503, "{upgrade_head}");
    assert!(upgrade_head.contains("Retry-After: 1"), "{upgrade_head}");

    // The call completes, then the session closes with 1001.
    let mut result = None;
    let close = loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("in time");
        match next {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).expect("JSON");
                if message["id"] == 2 {
                    result = Some(message);
                }
            }
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("the connection ended without a close: {other:?}"),
        }
    };
    let result = result.expect("the slow call was answered before the close");
    assert_eq!(result["result"]["content"][0]["text"], "counted to 4", "{result}");
    assert_eq!(u16::from(close.expect("a close code").code), 1001);
    let status = served.exit_within(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "exited within the grace");
}

#[test]
fn a_second_signal_exits_at_once() {
    let mut served = serve(&["--shutdown-grace", "30"], Stdio::null());
    // A call that would hold the drain for about 20 s.
    let url = served.url.clone();
    let caller = std::thread::spawn(move || {
        call(&url, &["slow_count", r#"{"steps": 40, "interval_ms": 500}"#, "--timeout", "40"])
    });
    std::thread::sleep(Duration::from_millis(800));
    served.signal(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    assert!(served.child.try_wait().expect("wait").is_none(), "still draining");
    served.signal(nix::sys::signal::Signal::SIGINT);
    let status = served.exit_within(Duration::from_secs(3));
    assert_eq!(status.code(), Some(1), "exits at once, not successfully");
    let _ = caller.join();
}

/// The value of the sample `series` (name and labels, exactly as rendered) in `page`.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn metrics_count_the_traffic_and_need_the_token() {
    let served = serve(&["--auth-token", "s3cret"], Stdio::null());
    for i in 0..3 {
        let args = [&format!(r#"{{"text": "hi {i}"}}"#), "--auth-token", "s3cret"];
        let output = call(&served.url, &["echo", args[0], args[1], args[2]]);
        assert!(output.status.success(), "{output:?}");
    }
    let (status, head, _) = get(served.addr, "/metrics", &[]);
    assert_eq!(status, 401, "{head}");
    let auth = ["Authorization: Bearer s3cret"];
    // The server may count the last close a moment after the client is gone.
    let end = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let (status, head, page) = get(served.addr, "/metrics", &auth);
        assert_eq!(status, 200, "{head}");
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
        if sample(&page, r#"mcp_ws_closes_total{code="1000"}"#) == Some(3.0) || Instant::now() > end
        {
            break page;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&page, series), Some(value), "{series} in\n{page}");
    };
    expect(r#"mcp_ws_requests_total{method="tools/call",outcome="ok"}"#, 3.0);
    expect(r#"mcp_ws_request_duration_seconds_count{method="tools/call"}"#, 3.0);
    expect(r#"mcp_ws_connections_total{outcome="accepted",transport="websocket"}"#, 3.0);
    expect(r#"mcp_ws_closes_total{code="1000"}"#, 3.0);
    expect(r#"mcp_ws_connections_active{transport="websocket"}"#, 0.0);
    // Each call: at least the request in and its answer out.
    let messages_in = sample(&page, r#"mcp_ws_messages_total{direction="in"}"#).expect("in");
    let messages_out = sample(&page, r#"mcp_ws_messages_total{direction="out"}"#).expect("out");
    assert!(messages_in >= 3.0 && messages_out >= 3.0, "{page}");
    let bytes_in = sample(&page, r#"mcp_ws_bytes_total{direction="in"}"#).expect("bytes in");
    assert!(bytes_in > 3.0 * 50.0, "{page}");
    assert!(page.contains("# TYPE mcp_ws_request_duration_seconds histogram"), "{page}");
    assert!(
        page.contains(r#"mcp_ws_request_duration_seconds_bucket{method="tools/call",le="+Inf"} 3"#)
    );
    // A refused upgrade is counted by why.
    assert_eq!(get(served.addr, "/mcp", UPGRADE).0, 401);
    let (_, _, page) = get(served.addr, "/metrics", &auth);
    let unauthorized = r#"mcp_ws_connections_total{outcome="unauthorized",transport="websocket"}"#;
    assert_eq!(sample(&page, unauthorized), Some(1.0));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn metrics_listen_serves_metrics_without_the_token_and_not_on_the_endpoint() {
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let served =
        serve(&["--auth-token", "s3cret", "--metrics-listen", &metrics_addr], Stdio::null());
    let output = call(&served.url, &["echo", r#"{"text": "x"}"#, "--auth-token", "s3cret"]);
    assert!(output.status.success(), "{output:?}");
    let metrics: SocketAddr = metrics_addr.parse().unwrap();
    let (status, head, page) = get(metrics, "/metrics", &[]);
    assert_eq!(status, 200, "{head}");
    assert_eq!(
        sample(&page, r#"mcp_ws_requests_total{method="tools/call",outcome="ok"}"#),
        Some(1.0)
    );
    assert_eq!(get(metrics, "/healthz", &[]).0, 200);
    assert_eq!(get(metrics, "/mcp", UPGRADE).0, 404, "no endpoint on the metrics listener");
    let auth = ["Authorization: Bearer s3cret"];
    assert_eq!(get(served.addr, "/metrics", &auth).0, 404, "not on the endpoint's listener");
    assert_eq!(get(served.addr, "/healthz", &[]).0, 200);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut served = serve(&["--log-format", "json", "-v"], Stdio::piped());
    let output = call(&served.url, &["echo", r#"{"text": "x"}"#]);
    assert!(output.status.success(), "{output:?}");
    served.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(served.exit_within(Duration::from_secs(10)).success());
    let mut logs = String::new();
    served.child.stderr.take().expect("stderr").read_to_string(&mut logs).expect("read");
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() >= 4, "{logs}");
    let mut messages = Vec::new();
    for line in lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
        assert!(entry["level"].is_string(), "{line}");
        assert!(entry["target"].is_string(), "{line}");
        messages.push(entry["fields"]["message"].as_str().expect("a message").to_string());
    }
    for expected in ["serving the demo MCP server", "connection opened", "shut down"] {
        assert!(messages.iter().any(|m| m.starts_with(expected)), "{expected}: {messages:?}");
    }
}

/// Opens an upgrade from `source` (a loopback address) with `X-Forwarded-For: forwarded` and
/// returns the status and the socket (held open to keep the connection).
async fn upgrade_from(
    source: &str,
    to: SocketAddr,
    forwarded: &str,
) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(format!("{source}:0").parse().unwrap()).expect("bind the source");
    let mut stream = socket.connect(to).await.expect("connect");
    let mut request =
        format!("GET /mcp HTTP/1.1\r\nHost: {to}\r\nX-Forwarded-For: {forwarded}\r\n");
    for line in UPGRADE {
        request.push_str(&format!("{line}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte));
        if read.await.expect("in time").expect("read") == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_key_the_per_address_cap_on_the_forwarded_client() {
    forwarded_clients_are_capped_apart(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stdio_keys_its_per_address_cap_on_the_forwarded_client_too() {
    forwarded_clients_are_capped_apart(&["--stdio", "--", "cat"]).await;
}

async fn forwarded_clients_are_capped_apart(mode: &[&str]) {
    let mut args = vec!["--max-connections-per-ip", "1", "--trust-proxy", "127.0.0.1"];
    args.extend_from_slice(mode);
    let served = serve(&args, Stdio::null());
    let to = served.addr;
    let health = tokio::task::spawn_blocking(move || get(to, "/healthz", &[]).0);
    assert_eq!(health.await.expect("probe"), 200, "both modes serve /healthz");
    let (first, _held) = upgrade_from("127.0.0.1", to, "203.0.113.1").await;
    assert_eq!(first, 101);
    let (same_client, _) = upgrade_from("127.0.0.1", to, "6.6.6.6, 203.0.113.1").await;
    assert_eq!(same_client, 503, "the right-most untrusted address is the client");
    let (other_client, _held_too) = upgrade_from("127.0.0.1", to, "203.0.113.2").await;
    assert_eq!(other_client, 101, "another client behind the same proxy");
    // A peer that is not a trusted proxy is keyed on its own address, whatever it forwards.
    let (direct, _held_three) = upgrade_from("127.0.0.2", to, "198.51.100.1").await;
    assert_eq!(direct, 101);
    let (spoofed, _) = upgrade_from("127.0.0.2", to, "198.51.100.2").await;
    assert_eq!(spoofed, 503, "a spoofed X-Forwarded-For changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trust_proxy_forwarded_for_is_ignored() {
    let served = serve(&["--max-connections-per-ip", "1"], Stdio::null());
    let (first, _held) = upgrade_from("127.0.0.1", served.addr, "203.0.113.1").await;
    assert_eq!(first, 101);
    let (second, _) = upgrade_from("127.0.0.1", served.addr, "203.0.113.2").await;
    assert_eq!(second, 503, "keyed on the peer, not on the header");
}

#[test]
fn sighup_neither_stops_serve_nor_serve_stdio_and_sigterm_still_drains() {
    for mode in [&[][..], &["--stdio", "--", "cat"][..]] {
        let mut served = serve(mode, Stdio::null());
        served.signal(nix::sys::signal::Signal::SIGHUP);
        // Still serving after the hangup: a health check and a WebSocket answer.
        let (status, _, _) = get(served.addr, "/healthz", &[]);
        assert_eq!(status, 200, "{mode:?}");
        assert!(served.child.try_wait().expect("wait").is_none(), "{mode:?}: died of SIGHUP");
        // SIGHUP (1) was sent before SIGTERM (15): a process it killed exits by signal 1.
        served.signal(nix::sys::signal::Signal::SIGTERM);
        let status = served.exit_within(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "{mode:?}: {status:?}");
    }
}
