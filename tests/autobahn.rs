//! The Autobahn WebSocket test cases, run by `kosoku` (a runner of Autobahn's own case files,
//! installed by `tests/interop/install.sh`), against both ends of our WebSocket layer:
//!
//! - **server**: kosoku's fuzzing client drives an echo endpoint built on our accept path
//!   (`server::accept`, the `Transport` with its read-ahead, the `ServerConfig` handshake
//!   rules and WebSocket settings) and our bounded writes and close handshake (`ws_io`);
//! - **client**: kosoku's fuzzing server is driven by an echo client built on our dial path
//!   (`dial`, with the subprotocol fallback, and the client's WebSocket settings).
//!
//! Excluded: 12.* and 13.* (permessage-deflate, which we do not negotiate) and 9.* (large
//! message performance; `autobahn_performance_cases`, ignored, runs them with the message limit
//! raised and prints their timings). Each side's `index.json` is compared with
//! `autobahn/expected-<side>.json`: any FAILED, any NON-STRICT or UNIMPLEMENTED not listed
//! there, or a different number of cases fails the test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::async_tungstenite::tungstenite::Message as WsMessage;
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::dial::{SubprotocolMemory, dial};
use mcp_ws_driver::server::accept::accept;
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_driver::ws_io::{Inbound, WebSocketIo, classify, close_handshake, write_by};
use mcp_ws_driver::{ClientConfig, ConnectionAddrs, Network, Runtime, ServerConfig};
use mcp_ws_tests::peers::{interop_dir, lines_of};
use mcp_ws_tokio::Tokio;

/// The cases excluded from every run (see the module docs).
const EXCLUDED: [&str; 3] = ["9.*", "12.*", "13.*"];
/// The longest one side's run may take (about 250 cases, most of them milliseconds; a few
/// wait on kosoku's own timeouts).
const RUN_LIMIT: Duration = Duration::from_secs(420);
/// The longest one echo write may wait for the peer to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a close handshake may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The user agent our client reports to kosoku's fuzzing server.
const AGENT: &str = "mcp-ws";

fn kosoku() -> PathBuf {
    let path = interop_dir().join(".autobahn-venv/bin/kosoku");
    assert!(path.exists(), "kosoku is not installed: run bash tests/interop/install.sh");
    path
}

fn expected_file(side: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("autobahn/expected-{side}.json"))
}

/// A fresh, empty report directory for one run.
fn report_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-ws-autobahn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("report dir");
    dir
}

/// A child process that is killed (and reaped) when dropped, whatever the test did.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    /// Waits for the child to exit, at most `limit`; `None` when it did not.
    fn wait_for(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

fn kosoku_command(mode: &str, address: &str, cases: &[&str], outdir: &Path) -> Command {
    let mut command = Command::new(kosoku());
    command.args(["-m", mode, address, "-o"]).arg(outdir);
    for case in cases {
        command.args(["-i", case]);
    }
    if cases.is_empty() {
        for excluded in EXCLUDED {
            command.args(["-x", excluded]);
        }
    }
    command.stdin(Stdio::null());
    command
}

// ----- the two endpoints under test -----

/// Echoes every text and binary message back until the connection ends: the WebSocket library
/// checks the frames, [`classify`] turns a violation into its close code, writes are bounded by
/// [`write_by`], and closes go through [`close_handshake`], as in the driver's own loops.
async fn echo<R: Runtime, S: WebSocketIo>(runtime: &R, ws: &mut S) {
    loop {
        let read = ws.next().await;
        if let Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) = read {
            let deadline = runtime.now() + WRITE_TIMEOUT;
            if write_by(runtime, deadline, ws.send(message)).await.is_err() {
                return;
            }
            continue;
        }
        let deadline = runtime.now() + CLOSE_TIMEOUT;
        match classify(&read) {
            Inbound::Payload(_) | Inbound::Activity => {}
            // tungstenite has queued its answer to the peer's close: flush it.
            Inbound::PeerClosed(_) => {
                let _ = write_by(runtime, deadline, ws.close()).await;
                return;
            }
            Inbound::Violation(reason) => {
                close_handshake(runtime, ws, Some(reason), deadline).await;
                return;
            }
            Inbound::Lost(_) => return,
        }
    }
}

/// Serves the echo endpoint at `/` of `listener` with the server's default configuration
/// (its limits, handshake rules and WebSocket settings), `max_message_bytes` aside.
async fn serve_echo(net: Tokio, listener: tokio::net::TcpListener, max_message_bytes: usize) {
    let mut config = ServerConfig::new(Implementation {
        name: "mcp-ws-autobahn".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    });
    config.path = "/".into();
    config.session.limits.max_message_bytes = max_message_bytes;
    let handshake = config.handshake_config();
    let local = net.local_addr(&listener).ok();
    loop {
        let Ok((stream, peer)) = net.accept(&listener).await else { return };
        let net = net.clone();
        let handshake = handshake.clone();
        tokio::spawn(async move {
            let addrs = ConnectionAddrs { peer: Some(peer), local };
            if let Ok(mut accepted) = accept(&net, stream, addrs, &handshake).await {
                echo(&net, &mut accepted.ws).await;
            }
        });
    }
}

/// A bare async-tungstenite echo server with its default settings but the message limit: what
/// tungstenite alone does with the 9.* cases.
async fn serve_bare_echo(listener: tokio::net::TcpListener, max_message_bytes: usize) {
    use mcp_ws_driver::async_tungstenite::tungstenite::protocol::WebSocketConfig;
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        tokio::spawn(async move {
            let config = WebSocketConfig::default()
                .max_message_size(Some(max_message_bytes))
                .max_frame_size(Some(max_message_bytes));
            let Ok(mut ws) = mcp_ws_driver::async_tungstenite::tokio::accept_async_with_config(
                stream,
                Some(config),
            )
            .await
            else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Drives kosoku's fuzzing server at `base` (`ws://host:port`) as a client: asks for the case
/// count, runs each case as an echo connection dialled with our dial path and the client's
/// default configuration, then asks for the reports.
async fn drive_fuzzing_server(net: Tokio, base: String, max_message_bytes: usize) {
    let mut config = ClientConfig::new(Implementation {
        name: AGENT.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    });
    config.session.limits.max_message_bytes = max_message_bytes;
    let memory = SubprotocolMemory::default();
    let open = |path: String| {
        let endpoint = config.endpoint(&format!("{base}{path}")).expect("endpoint");
        let (net, memory, config) = (&net, &memory, &config);
        async move {
            dial(
                net,
                &endpoint,
                config.preferred_version(),
                memory,
                websocket_config(config.session.limits.max_message_bytes),
                config.connect_timeout,
            )
            .await
        }
    };
    let mut counter = open("/getCaseCount".into()).await.expect("dial getCaseCount").ws;
    let count: u32 = loop {
        match counter.next().await {
            Some(Ok(WsMessage::Text(text))) => break text.trim().parse().expect("case count"),
            Some(Ok(_)) => {}
            other => panic!("no case count from kosoku: {other:?}"),
        }
    };
    echo(&net, &mut counter).await;
    for case in 1..=count {
        match open(format!("/runCase?case={case}&agent={AGENT}")).await {
            Ok(mut dialed) => echo(&net, &mut dialed.ws).await,
            // A case may fail the handshake on purpose; kosoku records what it saw.
            Err(error) => eprintln!("case {case}: {error}"),
        }
    }
    let mut reports =
        open(format!("/updateReports?agent={AGENT}")).await.expect("updateReports").ws;
    echo(&net, &mut reports).await;
}

// ----- reading and judging the reports -----

/// One case's verdicts, from `index.json`.
#[derive(Debug, Clone)]
struct Verdict {
    behavior: String,
    behavior_close: String,
    duration_ms: u64,
}

/// The verdicts of the one agent in `dir/index.json`, by case id.
fn read_index(dir: &Path) -> BTreeMap<String, Verdict> {
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("kosoku wrote no {}: {e}", path.display()));
    let index: serde_json::Value = serde_json::from_str(&text).expect("index.json is JSON");
    let agents = index.as_object().expect("index.json is an object of agents");
    assert_eq!(agents.len(), 1, "one agent expected in {}", path.display());
    let cases = agents.values().next().unwrap().as_object().expect("cases");
    cases
        .iter()
        .map(|(id, case)| {
            let text = |key: &str| case[key].as_str().unwrap_or("MISSING").to_string();
            let verdict = Verdict {
                behavior: text("behavior"),
                behavior_close: text("behaviorClose"),
                duration_ms: case["duration"].as_u64().unwrap_or(0),
            };
            (id.clone(), verdict)
        })
        .collect()
}

/// Counts of each behaviour, as a line for the test output.
fn tally(verdicts: &BTreeMap<String, Verdict>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for verdict in verdicts.values() {
        *counts.entry(verdict.behavior.clone()).or_insert(0) += 1;
    }
    counts
}

/// Compares a run with the committed expectations; the problems found (empty when clean).
fn judge(verdicts: &BTreeMap<String, Verdict>, expected: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let cases = expected["cases"].as_u64().expect("expected file: cases") as usize;
    if verdicts.len() != cases {
        problems.push(format!("{} cases ran, {cases} expected", verdicts.len()));
    }
    let listed = expected["not_ok"].as_object().expect("expected file: not_ok");
    for (id, verdict) in verdicts {
        if verdict.behavior == "FAILED" || verdict.behavior_close == "FAILED" {
            problems.push(format!("{id}: {verdict:?}"));
            continue;
        }
        if matches!(verdict.behavior.as_str(), "OK" | "INFORMATIONAL") {
            continue;
        }
        let allowed = listed.get(id).and_then(|entry| entry["behavior"].as_str());
        if allowed != Some(verdict.behavior.as_str()) {
            problems.push(format!("{id}: new {} ({verdict:?})", verdict.behavior));
        }
    }
    for id in listed.keys() {
        if verdicts.get(id).is_some_and(|v| v.behavior == "OK") {
            eprintln!("note: {id} is listed in the expected file but is OK now");
        }
    }
    problems
}

fn check_against_expected(side: &str, dir: &Path) {
    let verdicts = read_index(dir);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(expected_file(side)).expect("expected file"))
            .expect("expected file is JSON");
    eprintln!(
        "autobahn {side}: {:?} ({} cases; report in {})",
        tally(&verdicts),
        verdicts.len(),
        dir.display()
    );
    let problems = judge(&verdicts, &expected);
    assert!(problems.is_empty(), "autobahn {side} side:\n{}", problems.join("\n"));
    // Kept when the test fails, for the per-case reports.
    let _ = std::fs::remove_dir_all(dir);
}

// ----- the two runs -----

/// Runs kosoku's fuzzing client against our echo endpoint; the report directory.
fn run_server_side(cases: &[&str], max_message_bytes: usize, limit: Duration) -> PathBuf {
    run_echo_server_side(EchoServer::Ours, cases, max_message_bytes, limit)
}

/// Which echo server kosoku's fuzzing client is run against.
#[derive(Clone, Copy, PartialEq)]
enum EchoServer {
    /// Ours: the driver's accept path and transport.
    Ours,
    /// A bare async-tungstenite echo server (the baseline the 9.* timings are compared with).
    BareTungstenite,
}

fn run_echo_server_side(
    server: EchoServer,
    cases: &[&str],
    max_message_bytes: usize,
    limit: Duration,
) -> PathBuf {
    let name = match (server, cases.is_empty()) {
        (EchoServer::Ours, true) => "server",
        (EchoServer::Ours, false) => "server-selected",
        (EchoServer::BareTungstenite, _) => "tungstenite-selected",
    };
    let dir = report_dir(name);
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    runtime.spawn(async move {
        match server {
            EchoServer::Ours => serve_echo(Tokio::new(), listener, max_message_bytes).await,
            EchoServer::BareTungstenite => serve_bare_echo(listener, max_message_bytes).await,
        }
    });
    let mut kosoku = Reaped(
        kosoku_command("fuzzingclient", &format!("ws://{addr}"), cases, &dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("start kosoku"),
    );
    let status = kosoku.wait_for(limit);
    assert!(status.is_some(), "kosoku (server side) did not finish within {limit:?}");
    runtime.shutdown_timeout(Duration::from_secs(2));
    dir
}

/// Runs our echo client against kosoku's fuzzing server; the report directory.
fn run_client_side(cases: &[&str], max_message_bytes: usize, limit: Duration) -> PathBuf {
    let dir = report_dir(if cases.is_empty() { "client" } else { "client-selected" });
    let mut kosoku = Reaped(
        kosoku_command("fuzzingserver", "127.0.0.1:0", cases, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kosoku"),
    );
    // kosoku names the port it bound on stderr.
    let seen = lines_of(kosoku.0.stderr.take().expect("stderr"));
    let base = loop {
        let line = seen
            .recv_timeout(Duration::from_secs(60))
            .expect("kosoku did not say where it listens within 60 s");
        if let Some((_, url)) = line.split_once("listening on ") {
            break url.trim().to_string();
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let driven = runtime.block_on(async {
        tokio::time::timeout(limit, drive_fuzzing_server(Tokio::new(), base, max_message_bytes))
            .await
    });
    assert!(driven.is_ok(), "our client did not get through the cases within {limit:?}");
    let status = kosoku.wait_for(Duration::from_secs(60));
    assert!(
        status.is_some(),
        "kosoku (client side) did not finish after the reports were asked for"
    );
    runtime.shutdown_timeout(Duration::from_secs(2));
    dir
}

/// The default message limit of both sides (the session's).
fn default_limit() -> usize {
    ClientConfig::new(Implementation::default()).session.limits.max_message_bytes
}

#[test]
fn autobahn_server_side_is_clean() {
    let dir = run_server_side(&[], default_limit(), RUN_LIMIT);
    check_against_expected("server", &dir);
}

#[test]
fn autobahn_client_side_is_clean() {
    let dir = run_client_side(&[], default_limit(), RUN_LIMIT);
    check_against_expected("client", &dir);
}

/// The 9.* cases (messages and frames up to 16 MiB, in one piece and in chunks), with the
/// message limit raised to 64 MiB: prints each case's verdict and duration. Not run by
/// default (minutes of CPU on a shared machine): `cargo test -p mcp-ws-tests --test autobahn --
/// --ignored --nocapture`.
#[test]
#[ignore = "performance cases: run by hand"]
fn autobahn_performance_cases() {
    let limit = 64 * 1024 * 1024;
    let bare = read_index(&run_echo_server_side(
        EchoServer::BareTungstenite,
        &["9.*"],
        limit,
        Duration::from_secs(1800),
    ));
    for (side, dir) in [
        ("server", run_server_side(&["9.*"], limit, Duration::from_secs(1800))),
        ("client", run_client_side(&["9.*"], limit, Duration::from_secs(1800))),
    ] {
        let verdicts = read_index(&dir);
        for (id, verdict) in &verdicts {
            let baseline = bare.get(id).map_or(0, |v| v.duration_ms);
            eprintln!(
                "{side} {id}: {} {} ms (bare tungstenite server: {baseline} ms)",
                verdict.behavior, verdict.duration_ms
            );
        }
        let total: u64 = verdicts.values().map(|v| v.duration_ms).sum();
        eprintln!("{side}: {:?}, {total} ms in all", tally(&verdicts));
        assert!(verdicts.values().all(|v| v.behavior != "FAILED"), "{side}: a 9.* case FAILED");
    }
    let bare_total: u64 = bare.values().map(|v| v.duration_ms).sum();
    eprintln!("bare tungstenite server: {:?}, {bare_total} ms in all", tally(&bare));
}

/// The judge itself: each way a run can go wrong is reported.
#[test]
fn the_judge_fails_a_failed_case_a_new_non_strict_one_and_a_different_case_count() {
    let verdict = |behavior: &str, close: &str| Verdict {
        behavior: behavior.into(),
        behavior_close: close.into(),
        duration_ms: 1,
    };
    let expected = serde_json::json!({
        "cases": 4,
        "not_ok": { "6.4.3": { "behavior": "NON-STRICT", "why": "known" } }
    });
    let mut run: BTreeMap<String, Verdict> = BTreeMap::new();
    run.insert("1.1.1".into(), verdict("OK", "OK"));
    run.insert("6.4.3".into(), verdict("NON-STRICT", "OK"));
    run.insert("7.1.6".into(), verdict("INFORMATIONAL", "INFORMATIONAL"));
    run.insert("7.13.1".into(), verdict("INFORMATIONAL", "INFORMATIONAL"));
    assert_eq!(judge(&run, &expected), Vec::<String>::new());

    let mut failed = run.clone();
    failed.insert("1.1.1".into(), verdict("FAILED", "OK"));
    assert_eq!(judge(&failed, &expected).len(), 1);
    let mut close_failed = run.clone();
    close_failed.insert("1.1.1".into(), verdict("OK", "FAILED"));
    assert_eq!(judge(&close_failed, &expected).len(), 1);
    let mut new_non_strict = run.clone();
    new_non_strict.insert("7.1.6".into(), verdict("NON-STRICT", "OK"));
    assert!(judge(&new_non_strict, &expected)[0].contains("new NON-STRICT"));
    let mut unimplemented = run.clone();
    unimplemented.insert("7.1.6".into(), verdict("UNIMPLEMENTED", "OK"));
    assert_eq!(judge(&unimplemented, &expected).len(), 1);
    let mut fewer = run.clone();
    fewer.remove("1.1.1");
    assert!(judge(&fewer, &expected)[0].contains("3 cases ran, 4 expected"));
}
