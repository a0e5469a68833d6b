//! Resident memory of a server under a burst of large messages and under a connection flood,
//! against a bare tungstenite echo server doing the same in the same run.
//!
//! `cargo bench -p mcp-ws-tokio --bench burst_memory`
//!
//! Each (variant, phase) runs a fresh server in its own child process (this binary re-executed
//! with `BURST_MEMORY_ROLE` set; the child prints its URL), so the resident set read from
//! `/proc/<pid>/status` (VmRSS) is the server's alone; the clients live in this process.
//!
//! - **burst**: `BURST_CONNECTIONS` (20) connections each send one message of `BURST_BYTES`
//!   (15,000,000) text bytes, all at once, and read the answer: for mcp-ws a `tools/call` of
//!   the `echo` tool (the demo router's, answered by the same code), for the bare server the
//!   same frame echoed back. Then every client closes.
//! - **flood**: `FLOOD_CONNECTIONS` (5,000) connections complete the WebSocket handshake
//!   (`FLOOD_PARALLEL`, 200, at a time), are all held open, then all close.
//!
//! For each, RSS before the phase, its peak (sampled every 20 ms from the first connect until
//! `after`), "open idle" (every call answered or every handshake done, 500 ms later, the
//! connections still open: what the server keeps for idle connections after the traffic) and
//! after (`BURST_SETTLE_MS`, 2 s, after every client closed), each also as a ratio to the first
//! variant's figure for the same phase. Children of this binary (not `bin=` ones) also report
//! glibc's own view (`mallinfo2`: bytes allocated vs. bytes held) and the resident set after
//! `malloc_trim(0)`, which tells memory the program still holds from memory the allocator keeps.
//!
//! `BURST_VARIANTS` (default `bare,mcp-ws`) is a comma list of `ROLE[:ENV=VALUE...]`: the roles
//! are `bare` (async-tungstenite on tokio, default `WebSocketConfig`), `mcp-ws` (the driver's
//! `Server` on `mcp_ws_tokio::Tokio` with the echo tool, default `ServerConfig`) and
//! `bin=PATH` (an `mcp-ws` binary, run as `PATH serve --listen 127.0.0.1:0`); the `ENV=VALUE`
//! pairs are set on that child only (e.g. `mcp-ws:MALLOC_ARENA_MAX=2`). The first variant is
//! the baseline of the ratios. `BURST_PHASES` (default `burst,flood`) picks the phases.
//! Both servers run on a multi-threaded tokio runtime with one worker per core, as the `mcp-ws`
//! binary does.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::{ConnectStream, accept_async, connect_async};
use async_tungstenite::tungstenite::Message;
use futures_util::{StreamExt, stream};
use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Tool};
use mcp_ws_tokio::{Router, Server, ServerConfig, Tokio};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};

const ROLE: &str = "BURST_MEMORY_ROLE";

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value.trim().replace('_', "").parse().unwrap_or_else(|_| {
            panic!("{name}={value} is not a number");
        }),
        Err(_) => default,
    }
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
fn raise_nofile() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    hard
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The servers (child processes)

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

/// The demo router's `echo` tool, alone.
fn echo_router() -> Router {
    let serde_json::Value::Object(input_schema) = serde_json::json!({
        "type": "object",
        "properties": { "text": { "type": "string" } },
        "required": ["text"]
    }) else {
        unreachable!()
    };
    let tool = Tool {
        name: "echo".to_string(),
        description: Some("Answers the text it is given.".to_string()),
        input_schema,
        ..Default::default()
    };
    Router::new().tool_def(tool, |args: EchoArgs, _context| async move {
        Ok(CallToolResult::text(args.text))
    })
}

async fn bare_echo(stream: TcpStream) {
    let Ok(mut ws) = accept_async(stream).await else { return };
    while let Some(Ok(message)) = ws.next().await {
        let data = matches!(message, Message::Text(_) | Message::Binary(_));
        if matches!(message, Message::Close(_)) {
            break;
        }
        if data && ws.send(message).await.is_err() {
            return;
        }
    }
    let _ = ws.close(None).await;
}

/// Answers the parent's commands on stdin: `stats` (glibc's `mallinfo2`), `trim`
/// (`malloc_trim(0)`). Ends the process when stdin closes, so a child never outlives the bench.
fn command_loop() {
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        if stdin.lock().read_line(&mut line).unwrap_or(0) == 0 {
            std::process::exit(0);
        }
        let answer = match line.trim() {
            "stats" => malloc_stats(),
            "trim" => {
                malloc_trim();
                "trimmed".to_string()
            }
            other => format!("unknown command {other}"),
        };
        println!("{answer}");
        let _ = std::io::stdout().flush();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_stats() -> String {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    let held = info.arena + info.hblkhd;
    let in_use = info.uordblks + info.hblkhd;
    format!("held={} in_use={} mmapped={}", held / 1024, in_use / 1024, info.hblkhd / 1024)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_stats() -> String {
    "unavailable".to_string()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_trim() {
    // SAFETY: malloc_trim returns free memory to the system; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_trim() {}

fn run_server(role: &str) {
    raise_nofile();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let url = match role {
            "bare" => {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let url = format!("ws://{}/mcp", listener.local_addr().expect("addr"));
                tokio::spawn(async move {
                    loop {
                        match listener.accept().await {
                            Ok((stream, _)) => {
                                let _ = stream.set_nodelay(true);
                                tokio::spawn(bare_echo(stream));
                            }
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                });
                url
            }
            "mcp-ws" => {
                let server = Server::new(
                    Tokio::new(),
                    echo_router(),
                    ServerConfig::new(Implementation::new("burst-memory", "0")),
                );
                let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
                let url = listening.url();
                tokio::spawn(listening.run());
                url
            }
            other => panic!("unknown role {other}"),
        };
        println!("{url}");
        let _ = std::io::stdout().flush();
        tokio::task::spawn_blocking(command_loop).await.expect("commands");
    });
}

// ---------------------------------------------------------------------------------------------
// The bench (parent process)

struct Variant {
    label: String,
    role: String,
    envs: Vec<(String, String)>,
}

fn parse_variants(text: &str) -> Vec<Variant> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|spec| {
            let mut parts = spec.split(':');
            let role = parts.next().expect("role").to_string();
            let envs = parts
                .map(|pair| {
                    let (name, value) = pair.split_once('=').expect("ENV=VALUE");
                    (name.to_string(), value.to_string())
                })
                .collect();
            let label = match role.strip_prefix("bin=") {
                Some(path) => {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    spec.replacen(&role, &format!("bin={name}"), 1)
                }
                None => spec.to_string(),
            };
            Variant { label, role, envs }
        })
        .collect()
}

struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    url: String,
    answers: bool,
}

impl ServerProcess {
    fn start(variant: &Variant) -> ServerProcess {
        let mut command = match variant.role.strip_prefix("bin=") {
            Some(path) => {
                let mut command = Command::new(path);
                command.args(["serve", "--listen", "127.0.0.1:0"]);
                command
            }
            None => {
                let mut command = Command::new(std::env::current_exe().expect("exe"));
                command.env(ROLE, &variant.role);
                command
            }
        };
        command.envs(variant.envs.iter().map(|(k, v)| (k, v)));
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start the server");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut url = String::new();
        stdout.read_line(&mut url).expect("the server's URL");
        let url = url.trim().to_string();
        assert!(url.starts_with("ws://"), "{}: no URL but {url:?}", variant.label);
        let answers = !variant.role.starts_with("bin=");
        ServerProcess { child, stdin, stdout, url, answers }
    }

    fn rss(&self) -> u64 {
        vm_rss_kib(self.child.id()).expect("the server's VmRSS")
    }

    fn ask(&mut self, command: &str) -> Option<String> {
        if !self.answers {
            return None;
        }
        let stdin = self.stdin.as_mut()?;
        writeln!(stdin, "{command}").ok()?;
        stdin.flush().ok()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).ok()?;
        Some(line.trim().to_string())
    }

    fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's VmRSS every 20 ms and keeps the largest.
struct PeakSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakSampler {
    fn start(pid: u32) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (stopping, peaking) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: at most 10 minutes of samples.
            for _ in 0..30_000 {
                if let Some(kib) = vm_rss_kib(pid) {
                    peaking.fetch_max(kib, Ordering::Relaxed);
                }
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        PeakSampler { stop, peak, thread: Some(thread) }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

type Ws = WebSocketStream<ConnectStream>;

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"burst-memory","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Every client step is bounded by this.
const STEP: Duration = Duration::from_secs(60);

async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future).await.unwrap_or_else(|_| panic!("{what} timed out"))
}

/// Reads until a data message arrives (skipping pings).
async fn next_data(ws: &mut Ws) -> Message {
    loop {
        match ws.next().await.expect("the server closed").expect("read") {
            message @ (Message::Text(_) | Message::Binary(_)) => return message,
            Message::Close(frame) => panic!("the server closed: {frame:?}"),
            _ => {}
        }
    }
}

async fn close(mut ws: Ws) {
    let _ = ws.close(None).await;
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
}

async fn open(url: &str) -> Ws {
    let (ws, _) = connect_async(url).await.expect("WebSocket handshake");
    ws
}

/// Opens the burst's connections and makes every call; gives back the connections, still open.
async fn burst(url: &str, mcp: bool, connections: usize, bytes: usize) -> Vec<Ws> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut ws = bounded("connect", open(url)).await;
        if mcp {
            ws.send(Message::text(INITIALIZE)).await.expect("send");
            let _ = bounded("initialize", next_data(&mut ws)).await;
            ws.send(Message::text(INITIALIZED)).await.expect("send");
        }
        clients.push(ws);
    }
    let text = "a".repeat(bytes);
    let request = Message::text(format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{text}"}}}}}}"#
    ));
    drop(text);
    let calls = clients.into_iter().map(|mut ws| {
        let request = request.clone();
        tokio::spawn(async move {
            bounded("send", ws.send(request)).await.expect("send the burst");
            let answer = bounded("answer", next_data(&mut ws)).await;
            assert!(answer.len() >= bytes, "a short answer: {} bytes", answer.len());
            ws
        })
    });
    let calls: Vec<_> = calls.collect();
    drop(request);
    let mut open = Vec::with_capacity(connections);
    for call in calls {
        open.push(call.await.expect("a burst client"));
    }
    open
}

async fn close_all(clients: Vec<Ws>, parallel: usize) {
    stream::iter(clients).map(close).buffer_unordered(parallel).collect::<Vec<()>>().await;
}

/// Opens the flood's connections (handshake done); gives them back, still open.
async fn flood(url: &str, connections: usize, parallel: usize) -> Vec<Ws> {
    stream::iter(0..connections)
        .map(|_| bounded("connect", open(url)))
        .buffer_unordered(parallel)
        .collect()
        .await
}

struct Row {
    phase: &'static str,
    label: String,
    before: u64,
    peak: u64,
    open: u64,
    after: u64,
    open_heap: Option<String>,
    heap: Option<String>,
    trimmed: Option<u64>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        run_server(&role);
        return;
    }
    let nofile = raise_nofile();
    let burst_connections = env_usize("BURST_CONNECTIONS", 20);
    let burst_bytes = env_usize("BURST_BYTES", 15_000_000);
    let flood_connections = env_usize("FLOOD_CONNECTIONS", 5_000);
    let flood_parallel = env_usize("FLOOD_PARALLEL", 200).max(1);
    let settle = Duration::from_millis(env_usize("BURST_SETTLE_MS", 2_000) as u64);
    let variants = parse_variants(
        &std::env::var("BURST_VARIANTS").unwrap_or_else(|_| "bare,mcp-ws".to_string()),
    );
    let phases: Vec<&'static str> = {
        let text = std::env::var("BURST_PHASES").unwrap_or_else(|_| "burst,flood".to_string());
        ["burst", "flood"].into_iter().filter(|p| text.split(',').any(|t| t.trim() == *p)).collect()
    };
    assert!(
        (flood_connections as u64) * 2 + 100 < nofile,
        "RLIMIT_NOFILE {nofile} is too low for {flood_connections} connections"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    let mut rows = Vec::new();
    for phase in &phases {
        for variant in &variants {
            let mut server = ServerProcess::start(variant);
            std::thread::sleep(Duration::from_millis(300));
            let before = server.rss();
            let sampler = PeakSampler::start(server.child.id());
            let url = server.url.clone();
            let mcp = variant.role != "bare";
            let clients = runtime.block_on(async {
                match *phase {
                    "burst" => burst(&url, mcp, burst_connections, burst_bytes).await,
                    _ => flood(&url, flood_connections, flood_parallel).await,
                }
            });
            // Every call answered (burst) or every handshake done (flood), connections still
            // open: what the server keeps for idle connections after the traffic.
            std::thread::sleep(Duration::from_millis(500));
            let open = server.rss();
            let open_heap = server.ask("stats");
            runtime.block_on(close_all(clients, flood_parallel));
            std::thread::sleep(settle);
            let after = server.rss();
            let peak = sampler.finish().max(after);
            let heap = server.ask("stats");
            let trimmed = server.ask("trim").map(|_| server.rss());
            server.stop();
            eprintln!(
                "{phase} {}: before {before} KiB, peak {peak} KiB, open {open} KiB, after {after} KiB",
                variant.label
            );
            rows.push(Row {
                phase,
                label: variant.label.clone(),
                before,
                peak,
                open,
                after,
                open_heap,
                heap,
                trimmed,
            });
        }
    }
    println!();
    println!(
        "burst: {burst_connections} connections x {burst_bytes} bytes each way; flood: \
         {flood_connections} connections opened then closed; after = {} ms after the last close",
        settle.as_millis()
    );
    println!("RSS of the server process in MiB (ratio to the first variant of the same phase)");
    println!(
        "{:<6} {:<34} {:>14} {:>14} {:>14} {:>14} {:>10}",
        "phase", "variant", "before", "peak", "open idle", "after", "after trim"
    );
    for phase in &phases {
        let of_phase: Vec<&Row> = rows.iter().filter(|r| r.phase == *phase).collect();
        let base = of_phase[0];
        for row in &of_phase {
            let cell =
                |kib: u64, base: u64| format!("{:.1} ({:.2})", mib(kib), kib as f64 / base as f64);
            println!(
                "{:<6} {:<34} {:>14} {:>14} {:>14} {:>14} {:>10}",
                row.phase,
                row.label,
                cell(row.before, base.before),
                cell(row.peak, base.peak),
                cell(row.open, base.open),
                cell(row.after, base.after),
                row.trimmed.map_or("-".to_string(), |kib| format!("{:.1}", mib(kib))),
            );
        }
    }
    println!();
    println!("glibc (KiB): held = arenas + mmapped, in_use = allocated; open idle, then after");
    for row in &rows {
        if let (Some(open), Some(after)) = (&row.open_heap, &row.heap) {
            println!("{:<6} {:<34} open: {open:<44} after: {after}", row.phase, row.label);
        }
    }
}
