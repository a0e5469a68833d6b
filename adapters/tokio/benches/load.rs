//! Server cost under load, side by side with a floor: a bare tokio-tungstenite echo server that
//! parses every frame with serde_json and coalesces its writes (the floor), mcp-ws on tokio and
//! mcp-ws on smol, all answering `tools/call echo` with a 64-byte text.
//!
//! `cargo bench -p mcp-ws-tokio --bench load`
//!
//! Each server runs in its own child process (this binary with `--server KIND`), so its CPU
//! time is read from `/proc/<pid>/stat` (utime + stime of every thread of the child, clock-tick
//! resolution) and its memory from `/proc/<pid>/statm`. The load generator runs in this process
//! on one tokio thread: N connections (raw tungstenite clients that do the MCP handshake) each
//! keep K requests in flight, every answer is checked (id and echoed text), and latency is taken
//! from the write of a request to the read of its answer. Throughput and CPU are counted over the
//! measuring window only, after a warm-up. Servers are measured interleaved, scenario by
//! scenario, so drift on a shared machine hits all three alike; ratios are to the floor.
//!
//! Idle sessions: a fresh child per server and count; N sessions are opened (handshake done,
//! heartbeats on with mcp-ws's defaults), and the child's resident set growth per session is
//! reported; then one more connection runs sequential requests (1 × 1) beside them.
//!
//! Streamable HTTP: the same echo over `POST /mcp`, one request in flight per keep-alive
//! connection (HTTP/1.1 has no multiplexing; N connections are N requests in flight), each
//! connection its own legacy session (`initialize`, `Mcp-Session-Id` on every call). Two ways a
//! client may ask: `sse` (`Accept: application/json, text/event-stream`, what the SDKs send: our
//! server answers each call with an SSE stream) and `json` (`Accept: application/json` only:
//! a JSON body). The floor is a bare hyper server that parses each body with serde_json and
//! answers JSON (`floor-http`); mcp-ws is the same child as above, on the same listener.
//!
//! Environment (all optional):
//! - `LOAD_SCENARIOS` (default `1x1,1x32,64x8`): connections x in-flight requests per connection
//! - `LOAD_WARMUP_MS` (500), `LOAD_DURATION_MS` (2000): per scenario and server
//! - `LOAD_RUNS` (1): runs per scenario and server; the median run by throughput is reported
//! - `LOAD_IDLE` (default `1000,10000`; empty skips): idle session counts
//! - `LOAD_SERVERS` (default `floor,tokio,floor-smol,smol`): `floor-smol` is the same bare echo
//!   server on smol's executor and reactor; the `rt` columns compare each server with the floor
//!   on its own runtime, which tells the runtime's cost from ours. `tokio-metrics` is mcp-ws on
//!   tokio with a Prometheus recorder installed, as the `mcp-ws` binary runs, to price the
//!   recording
//! - `LOAD_SERVER_THREADS` (2): worker threads of every server (tokio workers, `SMOL_THREADS`)
//! - `LOAD_HTTP` (default `1,32`; empty skips): Streamable HTTP connection counts
//! - `LOAD_HTTP_SERVERS` (default `floor-http,tokio,smol`)

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::{TokioAdapter, accept_async_with_config, client_async_with_config};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use futures_util::{FutureExt, SinkExt, StreamExt};
use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_tokio::{Router, ServerConfig};
use serde::Deserialize;
use tokio::io::AsyncBufReadExt;
use tokio::net::{TcpListener, TcpStream};

type ClientWs = WebSocketStream<TokioAdapter<TcpStream>>;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The 64-byte text request `id` carries (and must come back).
fn text_of(id: u64) -> String {
    format!("{id:064}")
}

fn request(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        text_of(id)
    )
}

// ---------------------------------------------------------------------------------------------
// Servers (child processes)
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Echo {
    text: String,
}

fn echo_router() -> Router {
    let schema = serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}});
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    let echo = Tool { name: "echo".into(), input_schema, ..Default::default() };
    Router::new()
        .tool_def(echo, |args: Echo, _context| async move { Ok(CallToolResult::text(args.text)) })
}

/// The servers' configuration: the defaults, with a connection cap above the largest idle
/// count measured (the default cap is 10,000, and the 1x1 probe comes on top).
fn bench_config(info: Implementation) -> ServerConfig {
    let mut config = ServerConfig::new(info);
    config.limits = mcp_ws_driver::server::limits::ConnectionLimits::with_max_connections(100_000);
    config
}

/// The floor's answer to one frame: parsed with serde_json, answered by hand.
fn floor_answer(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = value.get("id")?;
    value.get("method")?;
    let result = match value["params"]["arguments"]["text"].as_str() {
        Some(text) => serde_json::json!({"content": [{"type": "text", "text": text}]}),
        None => serde_json::json!({}),
    };
    Some(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string())
}

/// The floor's tungstenite buffers (the sizes a careful bare server would pick for small JSON).
fn floor_ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(8192)
}

async fn floor_connection(stream: TcpStream) {
    stream.set_nodelay(true).expect("nodelay");
    let Ok(ws) = accept_async_with_config(stream, Some(floor_ws_config())).await else { return };
    floor_session(ws).await;
}

/// The same floor on smol's executor and reactor, to tell the runtime's own cost from ours.
async fn floor_connection_smol(stream: smol::net::TcpStream) {
    stream.set_nodelay(true).expect("nodelay");
    let accepted = async_tungstenite::accept_async_with_config(stream, Some(floor_ws_config()));
    let Ok(ws) = accepted.await else { return };
    floor_session(ws).await;
}

async fn floor_session<S>(mut ws: WebSocketStream<S>)
where
    S: futures_util::io::AsyncRead + futures_util::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = ws.next().await {
        let mut message = message;
        // Everything already readable is answered before one flush.
        loop {
            if let Message::Text(text) = &message {
                if let Some(answer) = floor_answer(text.as_str()) {
                    if ws.feed(Message::text(answer)).await.is_err() {
                        return;
                    }
                }
            }
            match ws.next().now_or_never() {
                Some(Some(Ok(next))) => message = next,
                Some(_) => return,
                None => break,
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

/// The HTTP floor's answer to one POST body: `initialize` gets a session id, a notification
/// 202, anything else [`floor_answer`] as JSON.
async fn floor_http_answer(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    let text = std::str::from_utf8(&body).unwrap_or("");
    let mut response = hyper::Response::builder();
    let answer = match floor_answer(text) {
        Some(answer) if text.contains(r#""method":"initialize""#) => {
            response = response.header("mcp-session-id", "0123456789abcdef0123456789abcdef");
            answer
        }
        Some(answer) => answer,
        None => {
            let empty = http_body_util::Full::new(bytes::Bytes::new());
            return Ok(response.status(202).body(empty).expect("response"));
        }
    };
    let full = http_body_util::Full::new(bytes::Bytes::from(answer));
    Ok(response.header("content-type", "application/json").body(full).expect("response"))
}

async fn floor_http_connection(stream: TcpStream) {
    stream.set_nodelay(true).expect("nodelay");
    let io = hyper_util::rt::TokioIo::new(stream);
    let service = hyper::service::service_fn(floor_http_answer);
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
}

fn serve(kind: &str, threads: usize) {
    let info = Implementation::new("load", "0");
    match kind {
        "floor" | "floor-http" | "tokio" | "tokio-metrics" => {
            if kind == "tokio-metrics" {
                // Installed for the process's life; nobody scrapes during the run.
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .install_recorder()
                    .expect("the only recorder");
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if kind == "floor" || kind == "floor-http" {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    println!("{}", listener.local_addr().expect("addr"));
                    let http = kind == "floor-http";
                    tokio::spawn(async move {
                        loop {
                            let (stream, _) = listener.accept().await.expect("accept");
                            if http {
                                tokio::spawn(floor_http_connection(stream));
                            } else {
                                tokio::spawn(floor_connection(stream));
                            }
                        }
                    });
                } else {
                    let server = mcp_ws_tokio::server(echo_router(), bench_config(info));
                    let listening =
                        server.listen("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
                    println!("{}", listening.local_addr());
                    tokio::spawn(listening.run());
                }
                wait_for_stdin_eof().await;
            });
        }
        "smol" | "floor-smol" => {
            smol::block_on(async {
                if kind == "floor-smol" {
                    let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    println!("{}", listener.local_addr().expect("addr"));
                    smol::spawn(async move {
                        loop {
                            let (stream, _) = listener.accept().await.expect("accept");
                            smol::spawn(floor_connection_smol(stream)).detach();
                        }
                    })
                    .detach();
                } else {
                    let server = mcp_ws_smol::server(echo_router(), bench_config(info));
                    let listening =
                        server.listen("127.0.0.1:0".parse().expect("addr")).await.expect("bind");
                    println!("{}", listening.local_addr());
                    smol::spawn(listening.run()).detach();
                }
                // Stdin is read on a plain thread; the server runs on smol's executor threads.
                let (done, finished) = futures_channel::oneshot::channel::<()>();
                std::thread::spawn(move || {
                    let mut line = String::new();
                    while std::io::stdin().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {}
                    let _ = done.send(());
                });
                let _ = finished.await;
            });
        }
        other => panic!("unknown server {other}"),
    }
}

async fn wait_for_stdin_eof() {
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    while stdin.read_line(&mut line).await.map(|n| n > 0).unwrap_or(false) {}
}

/// A server child process; dropped, it is killed.
struct Child {
    kind: String,
    process: std::process::Child,
    addr: String,
}

impl Child {
    fn start(kind: &str, threads: usize) -> Child {
        use std::io::BufRead;
        let exe = std::env::current_exe().expect("exe");
        let mut process = std::process::Command::new(exe)
            .args(["--server", kind])
            .env("SMOL_THREADS", threads.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("server child");
        let stdout = process.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).expect("address");
        Child { kind: kind.to_string(), process, addr: line.trim().to_string() }
    }

    /// CPU time of every thread of the child so far (user + system).
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.process.id())).expect("stat");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); after the name, the state is index 0 (field 3).
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_micros(ticks * 1_000_000 / hz)
    }

    fn resident_kib(&self) -> u64 {
        let statm =
            std::fs::read_to_string(format!("/proc/{}/statm", self.process.id())).expect("statm");
        let pages: u64 = statm.split_whitespace().nth(1).expect("rss").parse().expect("number");
        pages * 4
    }

    fn url(&self) -> String {
        format!("ws://{}/mcp", self.addr)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------

const MEASURING: u8 = 1;
const STOPPING: u8 = 2;

struct Phase {
    phase: AtomicU8,
    completed: AtomicU64,
}

async fn open(url: &str, addr: &str) -> ClientWs {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(8192);
    let (mut ws, _) = client_async_with_config(url, stream, Some(config)).await.expect("upgrade");
    ws.send(Message::text(INITIALIZE)).await.expect("initialize");
    loop {
        match ws.next().await.expect("answer").expect("frame") {
            Message::Text(text) => {
                let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("json");
                if value["id"] == 0 {
                    break;
                }
            }
            _ => continue,
        }
    }
    ws.send(Message::text(INITIALIZED)).await.expect("initialized");
    ws
}

/// Checks one answer; gives back its id.
fn check(text: &str) -> u64 {
    let value: serde_json::Value = serde_json::from_str(text).expect("answer is JSON");
    let id = value["id"].as_u64().unwrap_or_else(|| panic!("answer without id: {text}"));
    let echoed = value["result"]["content"][0]["text"].as_str();
    assert_eq!(echoed, Some(text_of(id).as_str()), "wrong answer: {text}");
    id
}

/// Keeps `in_flight` requests going on `ws` until the phase says stop; returns the latencies
/// (ns) of the answers read while measuring.
async fn drive(mut ws: ClientWs, first_id: u64, in_flight: usize, phase: Arc<Phase>) -> Vec<u32> {
    let mut latencies = Vec::new();
    let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(in_flight * 2);
    let mut next_id = first_id;
    for _ in 0..in_flight {
        ws.feed(Message::text(request(next_id))).await.expect("send");
        sent.insert(next_id, Instant::now());
        next_id += 1;
    }
    ws.flush().await.expect("flush");
    loop {
        let mut message = ws.next().await.expect("the server ended the connection").expect("read");
        loop {
            if let Message::Text(text) = &message {
                let id = check(text.as_str());
                let at = sent.remove(&id).unwrap_or_else(|| panic!("unexpected answer {id}"));
                let state = phase.phase.load(Ordering::Relaxed);
                if state == MEASURING {
                    latencies.push(at.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                    phase.completed.fetch_add(1, Ordering::Relaxed);
                }
                if state != STOPPING {
                    ws.feed(Message::text(request(next_id))).await.expect("send");
                    sent.insert(next_id, Instant::now());
                    next_id += 1;
                }
            }
            match ws.next().now_or_never() {
                Some(next) => message = next.expect("open").expect("read"),
                None => break,
            }
        }
        ws.flush().await.expect("flush");
        if phase.phase.load(Ordering::Relaxed) == STOPPING && sent.is_empty() {
            let _ = ws.close(None).await;
            return latencies;
        }
    }
}

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_request: Duration,
}

async fn load(
    child: &Child,
    connections: usize,
    in_flight: usize,
    warmup: Duration,
    window: Duration,
) -> Run {
    let url = child.url();
    let phase = Arc::new(Phase { phase: AtomicU8::new(0), completed: AtomicU64::new(0) });
    let mut tasks = Vec::new();
    for c in 0..connections {
        let ws = open(&url, &child.addr).await;
        let first_id = 1 + (c as u64) * 1_000_000_000;
        tasks.push(tokio::spawn(drive(ws, first_id, in_flight, phase.clone())));
    }
    measure(child, tasks, phase, warmup, window).await
}

/// Lets `tasks` run through the warm-up, then measures throughput, latency and the server's
/// CPU over `window`, and stops them.
async fn measure(
    child: &Child,
    tasks: Vec<tokio::task::JoinHandle<Vec<u32>>>,
    phase: Arc<Phase>,
    warmup: Duration,
    window: Duration,
) -> Run {
    tokio::time::sleep(warmup).await;
    let cpu_before = child.cpu();
    let started = Instant::now();
    phase.phase.store(MEASURING, Ordering::Relaxed);
    tokio::time::sleep(window).await;
    phase.phase.store(STOPPING, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let completed = phase.completed.load(Ordering::Relaxed);
    let cpu = child.cpu() - cpu_before;
    let mut latencies = Vec::with_capacity(completed as usize);
    for task in tasks {
        latencies.extend(task.await.expect("connection task"));
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_nanos(latencies.get(i).copied().unwrap_or(0) as u64)
    };
    Run {
        per_second: completed as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        cpu_per_request: cpu.div_f64(completed.max(1) as f64),
    }
}

/// How a Streamable HTTP client asks for its answers.
#[derive(Clone, Copy, PartialEq)]
enum HttpAccept {
    /// `application/json, text/event-stream`: the server may answer with an SSE stream.
    Sse,
    /// `application/json` only.
    Json,
}

type HttpSender = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

/// One keep-alive connection with its legacy session.
struct HttpConnection {
    sender: HttpSender,
    session: String,
    accept: HttpAccept,
}

impl HttpConnection {
    async fn open(addr: &str, accept: HttpAccept) -> HttpConnection {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let io = hyper_util::rt::TokioIo::new(stream);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(io).await.expect("HTTP handshake");
        tokio::spawn(connection);
        let mut opened = HttpConnection { sender, session: String::new(), accept };
        let (status, headers, _) = opened.post(INITIALIZE).await;
        assert_eq!(status, 200, "initialize");
        opened.session = headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("a session id")
            .to_string();
        let (status, _, _) = opened.post(INITIALIZED).await;
        assert_eq!(status, 202, "initialized");
        opened
    }

    /// POSTs `body`; the status, headers and the JSON-RPC message answered (the last SSE
    /// event's data when the answer is a stream).
    async fn post(&mut self, body: &str) -> (u16, hyper::HeaderMap, String) {
        use http_body_util::BodyExt;
        let accept = match self.accept {
            HttpAccept::Sse => "application/json, text/event-stream",
            HttpAccept::Json => "application/json",
        };
        let mut request = hyper::Request::post("/mcp")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("accept", accept);
        if !self.session.is_empty() {
            request = request
                .header("mcp-session-id", &self.session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(body.as_bytes())))
            .expect("request");
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let is_sse = headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = if is_sse {
            let mut decoder = mcp_ws_tokio::core::sse::SseDecoder::default();
            decoder.feed(&bytes).expect("an SSE stream");
            std::iter::from_fn(|| decoder.poll_event())
                .map(|event| event.data)
                .filter(|data| !data.is_empty())
                .last()
                .unwrap_or_default()
        } else {
            String::from_utf8(bytes.to_vec()).expect("UTF-8")
        };
        (status, headers, text)
    }
}

/// Sequential echo calls on `connection` until the phase says stop; the latencies (ns) of
/// the answers read while measuring.
async fn drive_http(mut connection: HttpConnection, first_id: u64, phase: Arc<Phase>) -> Vec<u32> {
    let mut latencies = Vec::new();
    let mut id = first_id;
    while phase.phase.load(Ordering::Relaxed) != STOPPING {
        let started = Instant::now();
        let (status, _, text) = connection.post(&request(id)).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(check(&text), id);
        if phase.phase.load(Ordering::Relaxed) == MEASURING {
            latencies.push(started.elapsed().as_nanos().min(u32::MAX as u128) as u32);
            phase.completed.fetch_add(1, Ordering::Relaxed);
        }
        id += 1;
    }
    latencies
}

async fn load_http(
    child: &Child,
    connections: usize,
    accept: HttpAccept,
    warmup: Duration,
    window: Duration,
) -> Run {
    let phase = Arc::new(Phase { phase: AtomicU8::new(0), completed: AtomicU64::new(0) });
    let mut tasks = Vec::new();
    for c in 0..connections {
        let connection = HttpConnection::open(&child.addr, accept).await;
        let first_id = 1 + (c as u64) * 1_000_000_000;
        tasks.push(tokio::spawn(drive_http(connection, first_id, phase.clone())));
    }
    measure(child, tasks, phase, warmup, window).await
}

struct Idle {
    kib_per_session: f64,
    probe_p50: Duration,
    probe_p99: Duration,
}

async fn idle(child: Child, sessions: usize) -> Idle {
    let url = child.url();
    let before = child.resident_kib();
    let mut held = Vec::with_capacity(sessions);
    // Opened in waves, so the listener's backlog is never the limit.
    while held.len() < sessions {
        let wave = (sessions - held.len()).min(256);
        let opened =
            futures_util::future::join_all((0..wave).map(|_| open(&url, &child.addr))).await;
        held.extend(opened);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = child.resident_kib();
    // One connection of sequential requests beside the idle ones.
    let phase = Arc::new(Phase { phase: AtomicU8::new(MEASURING), completed: AtomicU64::new(0) });
    let probe = tokio::spawn(drive(open(&url, &child.addr).await, 1, 1, phase.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.phase.store(STOPPING, Ordering::Relaxed);
    let mut latencies = probe.await.expect("probe");
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        Duration::from_nanos(latencies.get(i).copied().unwrap_or(0) as u64)
    };
    // The server goes first, so the clients' ends are closed by it (no TIME_WAIT here).
    drop(child);
    drop(held);
    Idle {
        kib_per_session: after.saturating_sub(before) as f64 / sessions as f64,
        probe_p50: at(0.5),
        probe_p99: at(0.99),
    }
}

fn raise_fd_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// The median by throughput of `runs` (at least one) runs of `run`.
fn median_run(runs: usize, mut run: impl FnMut() -> Run) -> Run {
    let mut all: Vec<Run> = (0..runs.max(1)).map(|_| run()).collect();
    all.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    let middle = all.len() / 2;
    all.swap_remove(middle)
}

fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 { format!("{:.2}", value / floor) } else { "-".into() }
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = env_or("LOAD_SERVER_THREADS", 2);
    if let Some(position) = args.iter().position(|a| a == "--server") {
        serve(&args[position + 1], threads);
        return;
    }
    let scenarios: Vec<(usize, usize)> = std::env::var("LOAD_SCENARIOS")
        .unwrap_or_else(|_| "1x1,1x32,64x8".into())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (n, k) = s.split_once('x').expect("NxK");
            (n.trim().parse().expect("N"), k.trim().parse().expect("K"))
        })
        .collect();
    let idle_counts: Vec<usize> = std::env::var("LOAD_IDLE")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let servers: Vec<String> = std::env::var("LOAD_SERVERS")
        .unwrap_or_else(|_| "floor,tokio,floor-smol,smol".into())
        .split(',')
        .map(str::to_string)
        .collect();
    let warmup = Duration::from_millis(env_or("LOAD_WARMUP_MS", 500));
    let window = Duration::from_millis(env_or("LOAD_DURATION_MS", 2000));
    let runs: usize = env_or("LOAD_RUNS", 1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");

    println!(
        "load: tools/call echo (64-byte text); server threads {threads}; warm-up {warmup:?}, window {window:?}, runs {runs}"
    );
    println!("server CPU from /proc/<pid>/stat of each server's child process (utime+stime)");
    println!();
    println!(
        "{:<8} {:<10} {:>10} {:>6} {:>9} {:>9} {:>6} {:>10} {:>6} {:>7} {:>7}",
        "scenario",
        "server",
        "req/s",
        "ratio",
        "p50 µs",
        "p99 µs",
        "ratio",
        "CPU µs/req",
        "ratio",
        "rt req",
        "rt CPU"
    );
    let children: Vec<Child> = servers.iter().map(|kind| Child::start(kind, threads)).collect();
    for &(connections, in_flight) in &scenarios {
        let mut results: Vec<Run> = Vec::new();
        for child in &children {
            results.push(median_run(runs, || {
                runtime.block_on(load(child, connections, in_flight, warmup, window))
            }));
        }
        let floor = children.iter().position(|c| c.kind == "floor").map(|i| &results[i]);
        for (child, run) in children.iter().zip(&results) {
            let (f_rate, f_p50, f_cpu) = floor.map_or((0.0, 0.0, 0.0), |f| {
                (f.per_second, f.p50.as_secs_f64(), f.cpu_per_request.as_secs_f64())
            });
            // The same ratios against the floor on the server's own runtime.
            let own_floor = if child.kind == "smol" { "floor-smol" } else { "floor" };
            let own = children.iter().position(|c| c.kind == own_floor).map(|i| &results[i]);
            let (o_rate, o_cpu) =
                own.map_or((0.0, 0.0), |f| (f.per_second, f.cpu_per_request.as_secs_f64()));
            println!(
                "{:<8} {:<10} {:>10.0} {:>6} {:>9.1} {:>9.1} {:>6} {:>10.2} {:>6} {:>7} {:>7}",
                format!("{connections}x{in_flight}"),
                child.kind,
                run.per_second,
                ratio(run.per_second, f_rate),
                run.p50.as_secs_f64() * 1e6,
                run.p99.as_secs_f64() * 1e6,
                ratio(run.p50.as_secs_f64(), f_p50),
                run.cpu_per_request.as_secs_f64() * 1e6,
                ratio(run.cpu_per_request.as_secs_f64(), f_cpu),
                ratio(run.per_second, o_rate),
                ratio(run.cpu_per_request.as_secs_f64(), o_cpu),
            );
        }
    }
    drop(children);
    let http_counts: Vec<usize> = std::env::var("LOAD_HTTP")
        .unwrap_or_else(|_| "1,32".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let http_servers: Vec<String> = std::env::var("LOAD_HTTP_SERVERS")
        .unwrap_or_else(|_| "floor-http,tokio,smol".into())
        .split(',')
        .map(str::to_string)
        .collect();
    if !http_counts.is_empty() {
        println!();
        println!("Streamable HTTP, one call in flight per keep-alive connection:");
        println!(
            "{:<12} {:<10} {:>10} {:>6} {:>9} {:>9} {:>6} {:>10} {:>6}",
            "scenario",
            "server",
            "req/s",
            "ratio",
            "p50 µs",
            "p99 µs",
            "ratio",
            "CPU µs/req",
            "ratio"
        );
        let children: Vec<Child> =
            http_servers.iter().map(|kind| Child::start(kind, threads)).collect();
        for &connections in &http_counts {
            for (accept, label) in [(HttpAccept::Json, "json"), (HttpAccept::Sse, "sse")] {
                let results: Vec<Run> = children
                    .iter()
                    .map(|child| {
                        median_run(runs, || {
                            runtime.block_on(load_http(child, connections, accept, warmup, window))
                        })
                    })
                    .collect();
                let floor = children.iter().position(|c| c.kind == "floor-http");
                let floor = floor.map(|i| &results[i]);
                for (child, run) in children.iter().zip(&results) {
                    let (f_rate, f_p50, f_cpu) = floor.map_or((0.0, 0.0, 0.0), |f| {
                        (f.per_second, f.p50.as_secs_f64(), f.cpu_per_request.as_secs_f64())
                    });
                    println!(
                        "{:<12} {:<10} {:>10.0} {:>6} {:>9.1} {:>9.1} {:>6} {:>10.2} {:>6}",
                        format!("{connections} {label}"),
                        child.kind,
                        run.per_second,
                        ratio(run.per_second, f_rate),
                        run.p50.as_secs_f64() * 1e6,
                        run.p99.as_secs_f64() * 1e6,
                        ratio(run.p50.as_secs_f64(), f_p50),
                        run.cpu_per_request.as_secs_f64() * 1e6,
                        ratio(run.cpu_per_request.as_secs_f64(), f_cpu),
                    );
                }
            }
        }
    }
    if idle_counts.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<14} {:<10} {:>12} {:>6} {:>14} {:>14}",
        "idle sessions", "server", "KiB/session", "ratio", "1x1 p50 µs", "1x1 p99 µs"
    );
    for &sessions in &idle_counts {
        let mut rows = Vec::new();
        for kind in &servers {
            let child = Child::start(kind, threads);
            let result = runtime.block_on(idle(child, sessions));
            rows.push((kind.clone(), result));
        }
        let floor = rows.iter().find(|(k, _)| k == "floor").map_or(0.0, |(_, r)| r.kib_per_session);
        for (kind, row) in &rows {
            println!(
                "{:<14} {:<10} {:>12.1} {:>6} {:>14.1} {:>14.1}",
                sessions,
                kind,
                row.kib_per_session,
                ratio(row.kib_per_session, floor),
                row.probe_p50.as_secs_f64() * 1e6,
                row.probe_p99.as_secs_f64() * 1e6,
            );
        }
    }
}
