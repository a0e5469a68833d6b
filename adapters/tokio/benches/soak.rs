//! Soak: many clients against one server for a long time, the server's resident set, open
//! file descriptors and live tasks sampled at an interval, and a verdict on whether they stay
//! flat.
//!
//! `SOAK_SECS=180 SOAK_INTERVAL_SECS=20 nice -n 19 cargo bench -p mcp-ws-tokio --bench soak`
//!
//! The server runs in a child process (this binary re-executed with `SOAK_ROLE=server`), so
//! what is sampled is the server's alone: the driver's `Server` on `mcp_ws_tokio::Tokio` with
//! an `echo` tool, a `sleep` tool and one subscribable resource whose update it publishes
//! every second. The child samples itself (VmRSS from `/proc/self/status`, the entries of
//! `/proc/self/fd`, tokio's live task count, the server's connection count) and prints one
//! line per sample; this process prints them with what its clients did meanwhile.
//!
//! `SOAK_CLIENTS` (1,000) clients each loop, pausing up to `SOAK_PAUSE_MS` (1,000) ms between
//! operations, picking: an `echo` call (60 %), a `sleep` call of 300 ms under a 50 ms timeout,
//! so it is cancelled (15 %), a close and a new connection (10 %), a subscribe or unsubscribe
//! of the resource (10 %; even clients, which speak 2025-11-25, where `resources/subscribe`
//! lives; odd clients speak 2026-07-28 and list tools instead), a `tools/list` (5 %). `SOAK_SECS` (1,800: 30 minutes) is the
//! duration, `SOAK_INTERVAL_SECS` (60) the sampling interval.
//!
//! The verdict compares the last sample taken under load with the first one after warm-up (the
//! second sample); the child also prints a last sample once the clients are gone:
//! flat when the resident set grew by less than 10 % + 8 MiB, the open fds by less than 5 %
//! + 16 and the live tasks by less than 5 % + 64.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mcp_ws_tokio::core::ProtocolVersion;
use mcp_ws_tokio::core::mcp::{CallToolResult, Implementation, Resource, Tool};
use mcp_ws_tokio::{
    CallOptions, ChangeEvent, ClientConfig, Router, Server, ServerConfig, Tokio, ToolError,
};
use serde::Deserialize;

const ROLE: &str = "SOAK_ROLE";
const RESOURCE: &str = "soak://clock";

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value.trim().replace('_', "").parse().unwrap_or_else(|_| {
            panic!("{name}={value} is not a number");
        }),
        Err(_) => default,
    }
}

/// Raises this process's open-file limit to its hard limit (children inherit it).
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
}

// ---------------------------------------------------------------------------------------------
// The server (child process)

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

#[derive(Deserialize)]
struct SleepArgs {
    ms: u64,
}

fn tool(name: &str, property: &str, kind: &str) -> Tool {
    let serde_json::Value::Object(input_schema) = serde_json::json!({
        "type": "object",
        "properties": { property: { "type": kind } },
        "required": [property]
    }) else {
        unreachable!()
    };
    Tool { name: name.to_string(), input_schema, ..Default::default() }
}

fn router() -> Router {
    let resource =
        Resource { uri: RESOURCE.to_string(), name: "clock".into(), ..Default::default() };
    Router::new()
        .tool_def(tool("echo", "text", "string"), |args: EchoArgs, _context| async move {
            Ok(CallToolResult::text(args.text))
        })
        .tool_def(tool("sleep", "ms", "integer"), |args: SleepArgs, _context| async move {
            tokio::time::sleep(Duration::from_millis(args.ms.min(10_000))).await;
            Ok::<_, ToolError>(CallToolResult::text("slept"))
        })
        .text_resource(resource, "tick")
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count()).unwrap_or(0)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

fn run_server() {
    raise_nofile();
    let interval = Duration::from_secs(env_u64("SOAK_INTERVAL_SECS", 60));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    runtime.block_on(async move {
        let config = ServerConfig::new(Implementation::new("soak", "0"));
        let server = Server::new(Tokio::new(), router(), config);
        let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
        println!("{}", listening.url());
        let _ = std::io::stdout().flush();
        tokio::spawn(listening.run());
        let notifier = server.notifier();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                notifier.publish(ChangeEvent::ResourceUpdated { uri: RESOURCE.to_string() });
            }
        });
        // The parent closes our stdin when it is done: end then.
        let stdin_closed = Arc::new(AtomicBool::new(false));
        std::thread::spawn({
            let closed = stdin_closed.clone();
            move || {
                let mut sink = String::new();
                while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
                closed.store(true, Ordering::SeqCst);
            }
        });
        let started = Instant::now();
        loop {
            let last = stdin_closed.load(Ordering::SeqCst);
            let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
            println!(
                "sample {} {} {} {} {}",
                started.elapsed().as_secs(),
                rss_kib(),
                open_fds(),
                tasks,
                server.connections().len()
            );
            let _ = std::io::stdout().flush();
            if last {
                break;
            }
            let next = Instant::now() + interval;
            while Instant::now() < next && !stdin_closed.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The clients (this process)

#[derive(Default)]
struct Counts {
    calls: AtomicU64,
    cancelled: AtomicU64,
    reconnects: AtomicU64,
    subscriptions: AtomicU64,
    lists: AtomicU64,
    errors: AtomicU64,
}

/// A small per-client random source (xorshift), so the clients do not all move together.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Even clients speak 2025-11-25 (where `resources/subscribe` lives), odd ones 2026-07-28.
fn client_config(k: u64) -> ClientConfig {
    let config = ClientConfig::new(Implementation::new("soak-client", "0")).reconnect(None);
    if k % 2 == 0 { config.version(ProtocolVersion::V2025_11_25) } else { config }
}

async fn client_loop(k: u64, url: String, until: Instant, pause_ms: u64, counts: Arc<Counts>) {
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (k + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let Ok(mut client) = mcp_ws_tokio::connect(&url, client_config(k)).await else {
        counts.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut subscribed = false;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(dice.next() % (pause_ms + 1))).await;
        let roll = dice.next() % 100;
        let failed = match roll {
            0..60 => {
                counts.calls.fetch_add(1, Ordering::Relaxed);
                let text = format!("soak {k}");
                let answer = client.call_tool("echo", serde_json::json!({ "text": text })).await;
                answer.map(|result| result.joined_text() != text).unwrap_or(true)
            }
            60..75 => {
                counts.cancelled.fetch_add(1, Ordering::Relaxed);
                let options = CallOptions::timeout(Duration::from_millis(50));
                let answer =
                    client.call_tool_with("sleep", serde_json::json!({ "ms": 300 }), options).await;
                answer.is_ok()
            }
            75..85 => {
                counts.reconnects.fetch_add(1, Ordering::Relaxed);
                client.close().await;
                subscribed = false;
                match mcp_ws_tokio::connect(&url, client_config(k)).await {
                    Ok(again) => {
                        client = again;
                        false
                    }
                    Err(_) => {
                        counts.errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            85..95 if k % 2 == 0 => {
                counts.subscriptions.fetch_add(1, Ordering::Relaxed);
                let done = if subscribed {
                    client.unsubscribe_resource(RESOURCE).await
                } else {
                    client.subscribe_resource(RESOURCE).await
                };
                subscribed = !subscribed;
                done.is_err()
            }
            _ => {
                counts.lists.fetch_add(1, Ordering::Relaxed);
                client.list_tools(None).await.is_err()
            }
        };
        if failed {
            counts.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    client.close().await;
}

/// One server sample: seconds, RSS KiB, open fds, live tasks, connections.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: u64,
    rss_kib: u64,
    fds: u64,
    tasks: u64,
    connections: u64,
}

fn parse_sample(line: &str) -> Option<Sample> {
    let mut fields = line.strip_prefix("sample ")?.split_whitespace().map(|f| f.parse().ok());
    Some(Sample {
        secs: fields.next()??,
        rss_kib: fields.next()??,
        fds: fields.next()??,
        tasks: fields.next()??,
        connections: fields.next()??,
    })
}

/// Whether `last` is within `percent` % + `slack` of `first`.
fn flat(first: u64, last: u64, percent: u64, slack: u64) -> bool {
    last <= first + first * percent / 100 + slack
}

fn main() {
    if std::env::var(ROLE).is_ok() {
        run_server();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no such flag: a
    // short smoke run then.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs = env_u64("SOAK_SECS", if benching { 1_800 } else { 5 });
    let interval = env_u64("SOAK_INTERVAL_SECS", if benching { 60 } else { 1 });
    let clients = env_u64("SOAK_CLIENTS", if benching { 1_000 } else { 20 });
    let pause_ms = env_u64("SOAK_PAUSE_MS", 1_000);
    raise_nofile();
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(ROLE, "server")
        .env("SOAK_INTERVAL_SECS", interval.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server child starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = lines.next().expect("the server's URL").expect("a line");
    println!(
        "soak: {clients} clients for {secs} s against {url}, a sample every {interval} s \
         (pause up to {pause_ms} ms between operations)"
    );
    let counts = Arc::new(Counts::default());
    let samples = std::thread::spawn({
        let counts = counts.clone();
        move || {
            let mut samples = Vec::new();
            for line in lines.map_while(Result::ok) {
                let Some(sample) = parse_sample(&line) else { continue };
                println!(
                    "[{:>5} s] server RSS {:>7} KiB, fds {:>5}, tasks {:>6}, connections {:>5} \
                     | clients: calls {}, cancelled {}, reconnects {}, (un)subscribes {}, \
                     lists {}, errors {}",
                    sample.secs,
                    sample.rss_kib,
                    sample.fds,
                    sample.tasks,
                    sample.connections,
                    counts.calls.load(Ordering::Relaxed),
                    counts.cancelled.load(Ordering::Relaxed),
                    counts.reconnects.load(Ordering::Relaxed),
                    counts.subscriptions.load(Ordering::Relaxed),
                    counts.lists.load(Ordering::Relaxed),
                    counts.errors.load(Ordering::Relaxed),
                );
                samples.push(sample);
            }
            samples
        }
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    let until = Instant::now() + Duration::from_secs(secs);
    runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|k| tokio::spawn(client_loop(k, url.clone(), until, pause_ms, counts.clone())))
            .collect();
        for task in tasks {
            task.await.expect("a client panicked");
        }
    });
    // One more sample with every client gone, then end the child.
    std::thread::sleep(Duration::from_secs(interval.min(5) + 1));
    drop(child.stdin.take());
    let _ = child.wait();
    let samples = samples.join().expect("sampler");
    // The first sample after warm-up, and the last one taken while every client still ran.
    match (samples.get(1), samples.iter().rev().find(|s| s.secs < secs)) {
        (Some(first), Some(last)) if last.secs > first.secs => {
            let rss = flat(first.rss_kib, last.rss_kib, 10, 8 * 1024);
            let fds = flat(first.fds, last.fds, 5, 16);
            let tasks = flat(first.tasks, last.tasks, 5, 64);
            let verdict = if rss && fds && tasks { "flat" } else { "GROWING" };
            println!(
                "verdict: {verdict} (after warm-up at {} s vs. at {} s under load: RSS {} -> {} \
                 KiB{}, fds {} -> {}{}, tasks {} -> {}{})",
                first.secs,
                last.secs,
                first.rss_kib,
                last.rss_kib,
                if rss { "" } else { " GROWING" },
                first.fds,
                last.fds,
                if fds { "" } else { " GROWING" },
                first.tasks,
                last.tasks,
                if tasks { "" } else { " GROWING" },
            );
            if let Some(after) = samples.last().filter(|s| s.secs >= secs) {
                println!(
                    "after the clients left ({} connections left): RSS {} KiB, fds {}, tasks {}",
                    after.connections, after.rss_kib, after.fds, after.tasks
                );
            }
        }
        _ => println!("verdict: too few samples ({}) for one", samples.len()),
    }
    let errors = counts.errors.load(Ordering::Relaxed);
    println!("client errors: {errors}");
}
