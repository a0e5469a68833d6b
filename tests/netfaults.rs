//! Faults on an emulated network rather than on loopback: test hosts in network namespaces
//! ([`mcp_ws_tests::netns::Lab`]), our server as a process on one host (`netfault-node`:
//! `mcp-ws serve`'s demo node with a `count` tool that records every execution in a file),
//! our client in this process on another, and the kernel's faults between them:
//!
//! - 5 % random loss each way for a whole run: every call answered, each exactly once;
//! - a black hole longer than the heartbeat deadline: the client's heartbeat declares the
//!   server dead within its idle timeout, calls in flight end once each, and the client
//!   reconnects when the hole closes;
//! - TCP resets for a second: the same, detected at once;
//! - three nodes behind nginx with Redis fan-out, each on its own host, SIGTERMed in turn
//!   under load: no call fails, none runs twice;
//! - a black hole between nginx and one of the nodes: its two clients' heartbeats find it,
//!   they move to the other nodes through nginx, and the calls go on;
//! - a 1 Mbit/s link and large results: every call answers, at the link's pace, and the
//!   server's memory stays bounded.
//!
//! Every call is counted at the caller (its one outcome) and at the tool (its executions);
//! each test prints the counts (`[netfaults] ...` lines, `--nocapture` to see them). The
//! tests need root, `ip`, `iptables` and `tc` (CI has them: `.ci/run` runs as root and
//! `tests/interop/install.sh` installs iptables); elsewhere each test prints why it skips
//! and passes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::core::reconnect::ReconnectConfig;
use mcp_ws_driver::core::session::ClosedBy;
use mcp_ws_driver::{CallError, CallOptions, Client, ClientConfig, ClientEvent};
use mcp_ws_tests::netns::Lab;
use mcp_ws_tests::peers::lines_of;
use mcp_ws_tests::process::{Guarded, TempDir, executions, nginx_conf, redis_conf};
use mcp_ws_tests::{eventually, next_event, within};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const NODE: &str = env!("CARGO_BIN_EXE_netfault-node");
const NGINX: &str = "/usr/sbin/nginx";
const REDIS: &str = "/usr/bin/redis-server";
/// For what should happen (a process starting, a reconnect): generous on a busy machine.
const LIMIT: Duration = Duration::from_secs(20);
/// Each call's own timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const NODE_PORT: u16 = 9000;

/// A lab with `hosts`, or `None` after saying why labs cannot be made here.
fn lab(test: &str, hosts: &[&str]) -> Option<Lab> {
    if let Some(why) = Lab::unavailable() {
        eprintln!("[netfaults] SKIPPED {test}: {why}");
        return None;
    }
    Some(Lab::new(hosts))
}

/// A `netfault-node` on `host`, port 9000, recording executions in `executions`.
struct Node {
    process: Guarded,
    url: String,
}

fn start_node(lab: &Lab, host: &str, executions: &Path, extra: &[&str]) -> Node {
    let listen = SocketAddr::from((lab.host(host).ip, NODE_PORT)).to_string();
    let mut process = Guarded::spawn(
        lab.command(host, NODE)
            .args(["--listen", &listen, "--executions"])
            .arg(executions)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let lines = lines_of(process.child.stdout.take().expect("stdout"));
    let url = lines.recv_timeout(LIMIT).expect("the node's URL line");
    assert!(url.ends_with(&format!("{listen}/mcp")), "unexpected first line {url:?}");
    Node { process, url }
}

/// A client configuration: fast reconnects, a 2 s connect timeout, and the heartbeat given
/// (ping interval, idle timeout) or the defaults (20 s, 60 s).
fn client_config(heartbeat: Option<(Duration, Duration)>) -> ClientConfig {
    let reconnect = ReconnectConfig {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        ..Default::default()
    };
    let mut config = ClientConfig::new(Implementation::new("netfaults-test", "0.0.1"))
        .reconnect(Some(reconnect));
    config.connect_timeout = Duration::from_secs(2);
    if let Some((ping, idle)) = heartbeat {
        config.session.ping_interval = Some(ping);
        config.session.idle_timeout = Some(idle);
    }
    config
}

async fn connect(net: &Tokio, url: &str, config: ClientConfig) -> Client {
    let connecting = mcp_ws_driver::connect(net.clone(), url, config);
    within(net, LIMIT, connecting).await.expect("connected in time").expect("connect")
}

/// One call's single outcome, as its caller saw it.
#[derive(Debug)]
struct Outcome {
    caller: usize,
    id: String,
    retryable: bool,
    error: Option<CallError>,
}

/// What the callers of one scenario did.
#[derive(Default)]
struct Ledger {
    issued: AtomicUsize,
    outcomes: Mutex<Vec<Outcome>>,
}

impl Ledger {
    fn ok(&self) -> usize {
        self.outcomes.lock().unwrap().iter().filter(|o| o.error.is_none()).count()
    }
}

/// Callers on `clients` (caller `k` on client `k % clients.len()`; odd callers mark their
/// calls retryable), each calling `count` with a fresh id until `stop` or `max_calls`,
/// recording each call's outcome.
fn start_callers(
    clients: &[Client],
    callers: usize,
    max_calls: usize,
    stop: &Arc<AtomicBool>,
    ledger: &Arc<Ledger>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..callers)
        .map(|k| {
            let client = clients[k % clients.len()].clone();
            let (stop, ledger) = (stop.clone(), ledger.clone());
            tokio::spawn(async move {
                let retryable = k % 2 == 1;
                for n in 0..max_calls {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("c{k}-{n}");
                    let mut options = CallOptions::timeout(CALL_TIMEOUT);
                    if retryable {
                        options = options.retryable();
                    }
                    ledger.issued.fetch_add(1, Ordering::SeqCst);
                    let answer = client.call_tool_with("count", json!({ "id": id }), options).await;
                    let error = match answer {
                        Ok(result) => {
                            assert_eq!(result.joined_text(), format!("counted {id}"));
                            None
                        }
                        Err(error) => Some(error),
                    };
                    ledger.outcomes.lock().unwrap().push(Outcome {
                        caller: k,
                        id,
                        retryable,
                        error,
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect()
}

async fn join(callers: Vec<tokio::task::JoinHandle<()>>) {
    for caller in callers {
        caller.await.expect("a caller panicked");
    }
}

/// The counts of one scenario, at the callers and at the tool.
#[derive(Debug, Default)]
struct Tally {
    calls: usize,
    retryable: usize,
    executions: usize,
    ok: usize,
    disconnected: usize,
    other_errors: Vec<String>,
    /// Calls without an outcome, and successful calls the tool never ran.
    lost: usize,
    /// Non-retryable calls the tool ran more than once.
    doubled: usize,
    /// Retryable calls the tool ran twice (issued again after a lost connection).
    retryable_ran_twice: usize,
    /// Retryable calls run more often than one issue plus one per lost connection.
    retryable_over_limit: usize,
    /// Failed calls the tool did run (the answer was lost with the connection).
    failed_after_running: usize,
    /// Executions of ids no caller issued.
    unknown: usize,
    /// Ids with more than one outcome.
    two_outcomes: usize,
}

/// Counts `ledger` against the executions in `path`; a retryable call may run once more per
/// lost connection (`reconnects`), as documented.
fn tally(scenario: &str, ledger: &Ledger, path: &Path, reconnects: usize) -> Tally {
    let runs = executions(path);
    let outcomes = ledger.outcomes.lock().unwrap();
    let mut t = Tally {
        calls: ledger.issued.load(Ordering::SeqCst),
        executions: runs.values().sum(),
        ..Default::default()
    };
    t.lost = t.calls - outcomes.len();
    let mut seen = HashMap::new();
    for outcome in outcomes.iter() {
        *seen.entry(outcome.id.as_str()).or_insert(0) += 1;
        let ran = runs.get(&outcome.id).copied().unwrap_or(0);
        t.retryable += usize::from(outcome.retryable);
        match &outcome.error {
            None => t.ok += 1,
            Some(CallError::Disconnected) => t.disconnected += 1,
            Some(other) => t.other_errors.push(format!("caller {}: {other}", outcome.caller)),
        }
        if outcome.error.is_none() && ran == 0 {
            t.lost += 1;
        }
        if outcome.error.is_some() && ran > 0 {
            t.failed_after_running += 1;
        }
        if outcome.retryable {
            t.retryable_ran_twice += usize::from(ran == 2);
            t.retryable_over_limit += usize::from(ran > 1 + reconnects);
        } else if ran > 1 {
            t.doubled += 1;
        }
    }
    t.two_outcomes = seen.values().filter(|n| **n > 1).count();
    t.unknown = runs.keys().filter(|id| !seen.contains_key(id.as_str())).count();
    eprintln!(
        "[netfaults] {scenario}: calls {} ({} retryable), executions {}, outcomes: ok {}, \
         disconnected {}, other errors {}; lost {}, doubled {}, retryable ran twice {} \
         (over the limit {}), failed after running {}, unknown executions {}",
        t.calls,
        t.retryable,
        t.executions,
        t.ok,
        t.disconnected,
        t.other_errors.len(),
        t.lost,
        t.doubled,
        t.retryable_ran_twice,
        t.retryable_over_limit,
        t.failed_after_running,
        t.unknown
    );
    t
}

/// What holds in every scenario: one outcome per call, nothing lost, no non-retryable call
/// run twice, retryable ones within their documented limit, no execution from nowhere.
fn assert_exactly_once_where_promised(t: &Tally) {
    assert_eq!(t.two_outcomes, 0, "calls with two outcomes: {t:?}");
    assert_eq!(t.lost, 0, "lost calls: {t:?}");
    assert_eq!(t.doubled, 0, "non-retryable calls run twice: {t:?}");
    assert_eq!(t.retryable_over_limit, 0, "retryable calls run too often: {t:?}");
    assert_eq!(t.unknown, 0, "executions nobody asked for: {t:?}");
}

/// The instant the next `Disconnected` event arrives on `events`, with its reason.
async fn disconnected(
    net: &Tokio,
    limit: Duration,
    events: &mut (impl futures_util::Stream<Item = ClientEvent> + Unpin),
) -> Option<(Instant, ClosedBy, String)> {
    next_event(net, limit, events, |event| match event {
        ClientEvent::Disconnected { reason, by } => {
            Some((Instant::now(), by, reason.reason.into_owned()))
        }
        _ => None,
    })
    .await
}

/// The instant the next `Ready` event arrives on `events`.
async fn ready(
    net: &Tokio,
    limit: Duration,
    events: &mut (impl futures_util::Stream<Item = ClientEvent> + Unpin),
) -> Option<Instant> {
    next_event(net, limit, events, |event| match event {
        ClientEvent::Ready(_) => Some(Instant::now()),
        _ => None,
    })
    .await
}

#[test]
fn five_percent_loss_each_way_loses_no_call_and_runs_none_twice() {
    loss_for_a_whole_run("5% loss each way", Scheme::WebSocket);
}

#[test]
fn streamable_http_under_five_percent_loss_each_way_loses_no_call_and_runs_none_twice() {
    loss_for_a_whole_run("Streamable HTTP, 5% loss each way", Scheme::Http);
}

/// The transport our client speaks to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    WebSocket,
    /// Streamable HTTP, at the same URL with `http://`.
    Http,
}

impl Scheme {
    fn url(self, node_url: &str) -> String {
        match self {
            Scheme::WebSocket => node_url.to_string(),
            Scheme::Http => node_url.replacen("ws://", "http://", 1),
        }
    }
}

/// Two clients, four callers, 100 calls each, 5 % loss each way on the server's link for the
/// whole run (the connections are made through it too).
fn loss_for_a_whole_run(scenario: &str, scheme: Scheme) {
    let Some(lab) = lab(scenario, &["client", "server"]) else { return };
    let dir = TempDir::new("netfaults-loss");
    let file = dir.0.join("executions");
    lab.loss("server", 0.05, true);
    let node = start_node(&lab, "server", &file, &[]);
    let url = scheme.url(&node.url);
    let (calls_per_caller, callers) = (100, 4);
    let ledger = Arc::new(Ledger::default());
    let started = Instant::now();
    lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let mut clients = Vec::new();
            for _ in 0..2 {
                clients.push(connect(&net, &url, client_config(None)).await);
            }
            let stop = Arc::new(AtomicBool::new(false));
            join(start_callers(&clients, callers, calls_per_caller, &stop, &ledger)).await;
            for client in clients {
                client.close().await;
            }
        })
    });
    let dropped = lab.caught("server");
    eprintln!(
        "[netfaults] {scenario}: {:?} for the run, {dropped} packets dropped",
        started.elapsed()
    );
    assert!(dropped > 0, "the loss rules dropped nothing");
    let t = tally(scenario, &ledger, &file, 0);
    assert_eq!(t.calls, calls_per_caller * callers);
    assert_exactly_once_where_promised(&t);
    // TCP retransmits: no connection is lost, so every call succeeds, exactly once.
    assert_eq!(t.ok, t.calls, "calls failed under loss: {:?}", t.other_errors);
    assert_eq!(t.executions, t.calls);
}

/// The client's heartbeat in the black-hole and reset scenarios: a ping after 250 ms of
/// quiet, dead after 1.5 s without a frame. (With the defaults, 20 s and 60 s, a hole is
/// detected 60 s after the last frame: a 30 s hole goes unnoticed, TCP retransmits across
/// it.)
const PING: Duration = Duration::from_millis(250);
const IDLE: Duration = Duration::from_millis(1500);

/// What a client saw in one fault between it and its server.
struct FaultRun {
    detected_after: Duration,
    closed_by: ClosedBy,
    reason: String,
    reconnected_after: Duration,
}

/// Two hosts, a node with a 1 s/3 s heartbeat, one client with four callers; `fault(on)`
/// is applied for `length` while they call, after which the client must reconnect and go on.
fn fault_between_client_and_server(
    scenario: &str,
    length: Duration,
    fault: impl Fn(&Lab, bool) + Sync,
) -> Option<(FaultRun, Tally)> {
    let lab = lab(scenario, &["client", "server"])?;
    let dir = TempDir::new("netfaults-fault");
    let file = dir.0.join("executions");
    let node = start_node(&lab, "server", &file, &["--ping-interval", "1", "--idle-timeout", "3"]);
    let ledger = Arc::new(Ledger::default());
    let run = lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let client = connect(&net, &node.url, client_config(Some((PING, IDLE)))).await;
            let mut events = client.events();
            let stop = Arc::new(AtomicBool::new(false));
            let callers = start_callers(std::slice::from_ref(&client), 4, 100_000, &stop, &ledger);
            let ok = eventually(&net, LIMIT, || ledger.ok() >= 20).await;
            assert!(ok, "the callers did not get going");
            let on = Instant::now();
            fault(&lab, true);
            let gone = disconnected(&net, LIMIT, &mut events).await;
            let (at, closed_by, reason) = gone.expect("the client did not notice the fault");
            let left = length.saturating_sub(on.elapsed());
            tokio::time::sleep(left).await;
            let caught = lab.caught("server") + lab.caught("client");
            eprintln!("[netfaults] {scenario}: {caught} packets dropped or reset by the fault");
            assert!(caught > 0, "the fault caught no packet");
            fault(&lab, false);
            let off = Instant::now();
            let back = ready(&net, LIMIT, &mut events).await.expect("no reconnect in time");
            let ok_before = ledger.ok();
            let going_on = eventually(&net, LIMIT, || ledger.ok() >= ok_before + 20).await;
            assert!(going_on, "the calls did not go on after the reconnect");
            stop.store(true, Ordering::SeqCst);
            join(callers).await;
            client.close().await;
            FaultRun {
                detected_after: at - on,
                closed_by,
                reason,
                reconnected_after: back.saturating_duration_since(off),
            }
        })
    });
    eprintln!(
        "[netfaults] {scenario}: detected after {:?} ({:?}: {}), reconnected {:?} after the \
         fault ended",
        run.detected_after, run.closed_by, run.reason, run.reconnected_after
    );
    // One lost connection: a retryable call may run once more.
    let t = tally(scenario, &ledger, &file, 1);
    Some((run, t))
}

/// The failures a lost connection may cause: only the non-retryable calls in flight (at
/// most one per non-retryable caller, of the two) fail, as disconnected.
fn assert_only_calls_in_flight_failed(t: &Tally) {
    assert!(t.other_errors.is_empty(), "unexpected errors: {:?}", t.other_errors);
    assert!(t.disconnected <= 2, "more calls failed than were in flight: {t:?}");
    assert!(t.ok + t.disconnected == t.calls, "{t:?}");
}

#[test]
fn a_black_hole_is_detected_by_the_heartbeat_and_the_client_reconnects_after_it() {
    let hole = Duration::from_secs(4);
    let run = fault_between_client_and_server("black hole", hole, |lab, on| {
        lab.black_hole("server", "client", on)
    });
    let Some((run, t)) = run else { return };
    assert_eq!(run.closed_by, ClosedBy::Session, "not the heartbeat: {}", run.reason);
    assert!(run.reason.contains("no frame from the peer"), "{}", run.reason);
    // The last frame came at most just before the hole opened, so the deadline is the idle
    // timeout after it: not before half of it (nothing else notices a silent hole), and
    // not after it plus a busy machine's slack.
    assert!(run.detected_after >= IDLE / 2, "too early: {:?}", run.detected_after);
    assert!(
        run.detected_after <= IDLE + Duration::from_millis(1500),
        "the heartbeat took {:?} (idle timeout {IDLE:?})",
        run.detected_after
    );
    assert!(run.reconnected_after <= Duration::from_secs(10), "{:?}", run.reconnected_after);
    assert_exactly_once_where_promised(&t);
    assert_only_calls_in_flight_failed(&t);
}

#[test]
fn tcp_resets_end_each_call_once_and_the_client_reconnects() {
    let run = fault_between_client_and_server("tcp resets", Duration::from_secs(1), |lab, on| {
        lab.resets("server", "client", on)
    });
    let Some((run, t)) = run else { return };
    // A reset is noticed at the next segment, not at the heartbeat's deadline.
    assert_eq!(run.closed_by, ClosedBy::Transport, "{}", run.reason);
    assert!(run.detected_after < IDLE, "the reset took {:?}", run.detected_after);
    assert!(run.reconnected_after <= Duration::from_secs(10), "{:?}", run.reconnected_after);
    assert_exactly_once_where_promised(&t);
    assert_only_calls_in_flight_failed(&t);
}

/// Two hosts, a node, one Streamable HTTP client with four callers; `fault(on)` is applied
/// for `length` while they call, after which the calls must go on. The counts, and whether
/// the calls went on.
fn http_fault_between_client_and_server(
    scenario: &str,
    length: Duration,
    fault: impl Fn(&Lab, bool) + Sync,
) -> Option<Tally> {
    let lab = lab(scenario, &["client", "server"])?;
    let dir = TempDir::new("netfaults-http-fault");
    let file = dir.0.join("executions");
    let node = start_node(&lab, "server", &file, &[]);
    let url = Scheme::Http.url(&node.url);
    let ledger = Arc::new(Ledger::default());
    lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let client = connect(&net, &url, client_config(None)).await;
            let stop = Arc::new(AtomicBool::new(false));
            let callers = start_callers(std::slice::from_ref(&client), 4, 100_000, &stop, &ledger);
            let ok = eventually(&net, LIMIT, || ledger.ok() >= 20).await;
            assert!(ok, "the callers did not get going");
            let ok_before = ledger.ok();
            fault(&lab, true);
            tokio::time::sleep(length).await;
            let caught = lab.caught("server") + lab.caught("client");
            eprintln!("[netfaults] {scenario}: {caught} packets dropped or reset by the fault");
            assert!(caught > 0, "the fault caught no packet");
            fault(&lab, false);
            let during = ledger.ok() - ok_before;
            eprintln!("[netfaults] {scenario}: {during} calls answered during the fault");
            let ok_before = ledger.ok();
            let going_on = eventually(&net, LIMIT, || ledger.ok() >= ok_before + 20).await;
            assert!(going_on, "the calls did not go on after the fault");
            stop.store(true, Ordering::SeqCst);
            join(callers).await;
            client.close().await;
        })
    });
    // No connection is declared lost over HTTP (each call is its own POST): a retryable call
    // is never issued twice.
    Some(tally(scenario, &ledger, &file, 0))
}

#[test]
fn streamable_http_across_a_black_hole_answers_every_call_once_after_it() {
    // Shorter than the calls' 30 s timeout: TCP retransmits across it.
    let hole = Duration::from_secs(4);
    let t = http_fault_between_client_and_server("Streamable HTTP, black hole", hole, |lab, on| {
        lab.black_hole("server", "client", on)
    });
    let Some(t) = t else { return };
    assert_exactly_once_where_promised(&t);
    assert!(t.disconnected == 0 && t.other_errors.is_empty(), "calls failed: {t:?}");
    assert_eq!(t.executions, t.calls, "{t:?}");
}

#[test]
fn streamable_http_tcp_resets_fail_calls_once_each_and_the_calls_go_on() {
    let length = Duration::from_secs(1);
    let t =
        http_fault_between_client_and_server("Streamable HTTP, tcp resets", length, |lab, on| {
            lab.resets("server", "client", on)
        });
    let Some(t) = t else { return };
    assert_exactly_once_where_promised(&t);
    // A reset POST fails its call at once with the transport's error (the client does not
    // re-issue it: the server may have run it).
    for error in &t.other_errors {
        assert!(error.contains("HTTP request failed"), "unexpected error: {error}");
    }
    assert_eq!(t.ok + t.disconnected + t.other_errors.len(), t.calls, "{t:?}");
    assert!(t.ok > 0 && t.executions >= t.ok, "{t:?}");
}

/// `mcp-ws connect URL` on host `client`, as a stdio MCP client runs it: its stdin, and the
/// lines of its stdout.
struct StdioBridge {
    process: Guarded,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl StdioBridge {
    fn start(lab: &Lab, url: &str, flags: &[&str]) -> StdioBridge {
        let child = lab
            .command("client", mcp_ws_tests::peers::mcp_ws())
            .arg("connect")
            .arg(url)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mcp-ws connect starts");
        let mut process = Guarded { child, graceful: false };
        let stdin = process.child.stdin.take().expect("stdin");
        let lines = lines_of(process.child.stdout.take().expect("stdout"));
        let mut bridge = StdioBridge { process, stdin, lines };
        bridge.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "netfaults-stdio", "version": "0.0.1"}}}));
        let answer = bridge.answer(LIMIT).expect("the bridge answers initialize");
        assert!(answer.get("result").is_some(), "initialize failed: {answer}");
        bridge.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        bridge
    }

    fn send(&mut self, message: &serde_json::Value) {
        writeln!(self.stdin, "{message}").expect("the bridge reads stdin");
        self.stdin.flush().expect("flush");
    }

    /// The next answer (a line with an `id`) within `limit`; notifications are skipped.
    fn answer(&self, limit: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("the bridge wrote a line that is not JSON ({e}): {line}")
            });
            if value.get("id").is_some() {
                return Some(value);
            }
        }
    }
}

/// Calls `count` through `bridge`, four at a time, until `stop` or `max_calls`: each answer
/// is recorded as its call's outcome (an error answer as `CallError::Rpc`); an answer for an
/// id that has one already, or for none we sent, is recorded as a second outcome.
fn call_through_bridge(
    bridge: &mut StdioBridge,
    max_calls: usize,
    stop: &AtomicBool,
    ledger: &Ledger,
) {
    let mut open: HashMap<u64, String> = HashMap::new();
    let mut next = 1u64;
    while !(stop.load(Ordering::SeqCst) || next > max_calls as u64) || !open.is_empty() {
        while open.len() < 4 && !stop.load(Ordering::SeqCst) && next <= max_calls as u64 {
            let id = format!("b-{next}");
            ledger.issued.fetch_add(1, Ordering::SeqCst);
            bridge.send(&json!({"jsonrpc": "2.0", "id": next, "method": "tools/call",
                "params": {"name": "count", "arguments": {"id": id}}}));
            open.insert(next, id);
            next += 1;
        }
        // Longer than a call's wait across a hole: an answer owed is an answer given.
        let Some(answer) = bridge.answer(CALL_TIMEOUT + LIMIT) else {
            panic!("the bridge owes {} answers and gave none in time", open.len());
        };
        let number = answer["id"].as_u64().unwrap_or(0);
        let id = open.remove(&number).unwrap_or_else(|| format!("b-{number}"));
        let error = match (answer.get("result"), answer.get("error")) {
            (Some(result), None) => {
                assert_eq!(result["content"][0]["text"], format!("counted {id}"), "{answer}");
                None
            }
            _ => Some(CallError::Rpc(mcp_ws_driver::core::ErrorObject {
                code: answer["error"]["code"].as_i64().unwrap_or(0),
                message: answer["error"]["message"].as_str().unwrap_or("").to_string(),
                data: None,
            })),
        };
        ledger.outcomes.lock().unwrap().push(Outcome { caller: 0, id, retryable: false, error });
    }
}

/// The bridge between a stdio client and a node across `fault`; the counts, the bridge's
/// peak RSS growth in KiB, and the calls answered after the fault.
fn bridge_across_a_fault(
    scenario: &str,
    scheme: Scheme,
    length: Duration,
    fault: impl Fn(&Lab, bool) + Sync,
    fault_from_start: bool,
) -> Option<(Tally, u64, usize)> {
    let lab = lab(scenario, &["client", "server"])?;
    let dir = TempDir::new("netfaults-bridge");
    let file = dir.0.join("executions");
    if fault_from_start {
        fault(&lab, true);
    }
    let node = start_node(&lab, "server", &file, &["--ping-interval", "1", "--idle-timeout", "3"]);
    let url = scheme.url(&node.url);
    let flags = ["--ping-interval", "1", "--idle-timeout", "3"];
    let mut bridge = StdioBridge::start(&lab, &url, &flags);
    let pid = bridge.process.child.id();
    let baseline = rss_kib(pid);
    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (peak, after) = std::thread::scope(|scope| {
        let caller = scope.spawn(|| call_through_bridge(&mut bridge, 100_000, &stop, &ledger));
        let mut peak = baseline;
        let mut sample_until = |done: &dyn Fn() -> bool, limit: Duration| {
            let deadline = Instant::now() + limit;
            while !done() && Instant::now() < deadline && !caller.is_finished() {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(50));
            }
            done()
        };
        assert!(sample_until(&|| ledger.ok() >= 20, LIMIT), "the bridge's calls did not get going");
        if !fault_from_start {
            fault(&lab, true);
        }
        sample_until(&|| false, length);
        // Read before the rules go (their counters go with them).
        let caught = lab.caught("server") + lab.caught("client");
        eprintln!("[netfaults] {scenario}: {caught} packets caught by the fault");
        assert!(caught > 0, "the fault caught no packet");
        fault(&lab, false);
        let ok_before = ledger.ok();
        let going_on = sample_until(&|| ledger.ok() >= ok_before + 20, CALL_TIMEOUT + LIMIT);
        stop.store(true, Ordering::SeqCst);
        caller.join().expect("the bridge caller panicked");
        assert!(going_on, "the calls did not go on after the fault");
        (peak, ledger.ok() - ok_before)
    });
    drop(bridge.stdin);
    let exit = bridge.process.wait(LIMIT);
    assert!(exit.success(), "the bridge exited with {exit} when stdin closed");
    let grown = peak.saturating_sub(baseline);
    eprintln!("[netfaults] {scenario}: bridge RSS {baseline} KiB, peak +{grown} KiB");
    Some((tally(scenario, &ledger, &file, 0), grown, after))
}

/// What holds for the bridge in every fault: one answer per request, none lost, none run
/// twice (the bridge marks nothing retryable), and its memory bounded.
fn assert_bridge_answered_each_call_once(t: &Tally, grown_kib: u64) {
    assert_exactly_once_where_promised(t);
    assert_eq!(t.ok + t.other_errors.len(), t.calls, "{t:?}");
    assert!(grown_kib < 16 * 1024, "the bridge grew by {grown_kib} KiB");
}

#[test]
fn the_stdio_bridge_under_five_percent_loss_answers_every_call_once() {
    for scheme in [Scheme::WebSocket, Scheme::Http] {
        let scenario = format!("bridge over {scheme:?}, 5% loss each way");
        let loss = |lab: &Lab, on: bool| {
            if on {
                lab.loss("server", 0.05, true)
            }
        };
        let run = bridge_across_a_fault(&scenario, scheme, Duration::from_secs(5), loss, true);
        let Some((t, grown, _)) = run else { return };
        assert_bridge_answered_each_call_once(&t, grown);
        // TCP retransmits: no connection is lost, every call succeeds.
        assert_eq!(t.ok, t.calls, "calls failed under loss: {:?}", t.other_errors);
        assert_eq!(t.executions, t.calls, "{t:?}");
    }
}

#[test]
fn the_stdio_bridge_across_a_black_hole_answers_every_call_once_and_goes_on() {
    let hole = Duration::from_secs(5);
    let scenario = "bridge over WebSocket, black hole";
    let run = bridge_across_a_fault(
        scenario,
        Scheme::WebSocket,
        hole,
        |lab, on| lab.black_hole("server", "client", on),
        false,
    );
    let Some((t, grown, after)) = run else { return };
    assert_bridge_answered_each_call_once(&t, grown);
    assert!(after >= 20, "{after} calls after the hole");
    // Only the calls in flight when the heartbeat gave up (four at most) may fail.
    assert!(t.other_errors.len() <= 4, "{t:?}");
}

/// A TCP relay that holds each chunk for `base` plus up to `jitter` either way before passing
/// it on (in order: a chunk never overtakes the one before it), both directions, on the
/// runtime it is spawned on. Each chunk waits in a channel of at most 1024 chunks.
async fn delaying_relay(
    listener: tokio::net::TcpListener,
    upstream: SocketAddr,
    base: Duration,
    jitter: Duration,
) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    loop {
        let Ok((down, _)) = listener.accept().await else { return };
        let Ok(up) = tokio::net::TcpStream::connect(upstream).await else { continue };
        let (down_read, down_write) = down.into_split();
        let (up_read, up_write) = up.into_split();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        tokio::spawn(delayed_copy(down_read, up_write, base, jitter, seed));
        tokio::spawn(delayed_copy(up_read, down_write, base, jitter, seed ^ 0xA5A5));
    }
}

async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    base: Duration,
    jitter: Duration,
    mut seed: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (chunks, mut due_chunks) =
        tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(1024);
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = due_chunks.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut last = tokio::time::Instant::now();
    let mut buffer = vec![0u8; 16 * 1024];
    let spread = jitter.as_micros() as u64 * 2 + 1;
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = base - jitter + Duration::from_micros(seed % spread);
        last = last.max(tokio::time::Instant::now() + delay);
        if chunks.send((last, buffer[..n].to_vec())).await.is_err() {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}

#[test]
fn both_transports_through_a_relay_adding_50_ms_and_jitter_answer_every_call_once() {
    let Some(lab) = lab("delaying relay", &["client", "server"]) else { return };
    let dir = TempDir::new("netfaults-relay");
    let file = dir.0.join("executions");
    let node = start_node(&lab, "server", &file, &[]);
    let upstream = SocketAddr::from((lab.host("server").ip, NODE_PORT));
    let (base, jitter) = (Duration::from_millis(50), Duration::from_millis(20));
    let ledger = Arc::new(Ledger::default());
    let latencies = lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let relay = listener.local_addr().expect("address");
            let relaying = tokio::spawn(delaying_relay(listener, upstream, base, jitter));
            let mut latencies = Vec::new();
            for scheme in [Scheme::WebSocket, Scheme::Http] {
                let url = scheme.url(&format!("ws://{relay}/mcp"));
                let client = connect(&net, &url, client_config(None)).await;
                for n in 0..40 {
                    let id = format!("{scheme:?}-{n}");
                    ledger.issued.fetch_add(1, Ordering::SeqCst);
                    let started = Instant::now();
                    let answer = client
                        .call_tool_with(
                            "count",
                            json!({ "id": id }),
                            CallOptions::timeout(CALL_TIMEOUT),
                        )
                        .await;
                    latencies.push((scheme, started.elapsed()));
                    let error = answer.err();
                    ledger.outcomes.lock().unwrap().push(Outcome {
                        caller: 0,
                        id,
                        retryable: false,
                        error,
                    });
                }
                client.close().await;
            }
            relaying.abort();
            latencies
        })
    });
    drop(node);
    let t = tally("through a 50 ms +- 20 ms relay", &ledger, &file, 0);
    assert_exactly_once_where_promised(&t);
    assert_eq!(t.ok, t.calls, "calls failed through the relay: {:?}", t.other_errors);
    assert_eq!(t.executions, t.calls, "{t:?}");
    for scheme in [Scheme::WebSocket, Scheme::Http] {
        let mut times: Vec<Duration> =
            latencies.iter().filter(|(s, _)| *s == scheme).map(|(_, d)| *d).collect();
        times.sort();
        let (min, median, max) = (times[0], times[times.len() / 2], times[times.len() - 1]);
        eprintln!(
            "[netfaults] relay, {scheme:?}: call latency min {min:?}, median {median:?}, max {max:?}"
        );
        // A call crosses the relay at least twice (the request, the answer), each time held
        // at least base - jitter.
        assert!(min >= 2 * (base - jitter), "{scheme:?}: a call took only {min:?}");
    }
}

/// One inline Redis command over RESP; its raw answer.
fn redis_command(addr: SocketAddr, command: &str) -> String {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return String::new();
    };
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = stream.write_all(format!("{command}\r\n").as_bytes());
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// Waits (from a host that reaches `redis`) until `n` nodes listen on the fan-out channel.
fn wait_for_subscribers(redis: SocketAddr, n: usize) {
    let deadline = Instant::now() + LIMIT;
    let expected = format!(":{n}\r\n");
    loop {
        let answer = redis_command(redis, "PUBSUB NUMSUB mcp-ws:changes");
        if answer.ends_with(&expected) {
            return;
        }
        assert!(Instant::now() < deadline, "{n} nodes did not subscribe in time: {answer:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_port(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {addr} in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn require(binary: &str, package: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: this test needs Debian's {package} \
         (bash tests/interop/install.sh installs it when run as root)"
    );
}

/// Redis and nginx on host `lb`, three nodes on `n1`..`n3` fanning out through the Redis,
/// recording executions in one file; stopped when dropped (and killed with the lab).
struct Cluster {
    nodes: Vec<Node>,
    node_flags: Vec<String>,
    file: PathBuf,
    redis_addr: SocketAddr,
    url: String,
    _nginx: Guarded,
    _redis: Guarded,
    _dir: TempDir,
}

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const CLUSTER_HOSTS: [&str; 5] = ["client", "lb", "n1", "n2", "n3"];

impl Cluster {
    fn start(lab: &Lab, extra_node_flags: &[&str]) -> Cluster {
        require(NGINX, "nginx");
        require(REDIS, "redis-server");
        let dir = TempDir::new("netfaults-cluster");
        let file = dir.0.join("executions");
        let lb = lab.host("lb").ip;
        let redis_addr = SocketAddr::from((lb, 6379));
        let redis_conf_path = dir.0.join("redis.conf");
        std::fs::write(&redis_conf_path, redis_conf(&dir.0, &lb.to_string(), 6379)).unwrap();
        let redis =
            Guarded::spawn(lab.command("lb", REDIS).arg(&redis_conf_path).stdout(Stdio::null()));
        let mut node_flags: Vec<String> =
            ["--redis", &format!("redis://{redis_addr}/"), "--shutdown-grace", "3"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        node_flags.extend(extra_node_flags.iter().map(|s| s.to_string()));
        lab.enter("client", || wait_for_port(redis_addr, "redis-server"));
        let flags: Vec<&str> = node_flags.iter().map(String::as_str).collect();
        let nodes: Vec<Node> =
            NODES.iter().map(|name| start_node(lab, name, &file, &flags)).collect();
        let upstream: Vec<SocketAddr> =
            NODES.iter().map(|name| SocketAddr::from((lab.host(name).ip, NODE_PORT))).collect();
        let nginx_addr = SocketAddr::from((lb, 8080));
        let conf: PathBuf = dir.0.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(&dir.0, nginx_addr, &upstream)).unwrap();
        let mut nginx = Guarded::spawn(
            lab.command("lb", NGINX)
                .arg("-c")
                .arg(&conf)
                .args(["-p", &dir.0.display().to_string(), "-g", "daemon off;"])
                .stderr(Stdio::inherit()),
        );
        nginx.graceful = true;
        lab.enter("client", || {
            wait_for_port(nginx_addr, "nginx");
            wait_for_subscribers(redis_addr, 3);
        });
        Cluster {
            nodes,
            node_flags,
            file,
            redis_addr,
            url: format!("ws://{nginx_addr}/mcp"),
            _nginx: nginx,
            _redis: redis,
            _dir: dir,
        }
    }

    /// Starts node `i` again (same host and port).
    fn restart(&mut self, lab: &Lab, i: usize) {
        let flags: Vec<&str> = self.node_flags.iter().map(String::as_str).collect();
        self.nodes[i] = start_node(lab, NODES[i], &self.file, &flags);
    }
}

#[test]
fn a_rolling_sigterm_of_three_nodes_behind_nginx_loses_no_call_and_runs_none_twice() {
    let Some(lab) = lab("rolling sigterm", &CLUSTER_HOSTS) else { return };
    let mut cluster = Cluster::start(&lab, &[]);
    let (url, redis_addr, file) = (cluster.url.clone(), cluster.redis_addr, cluster.file.clone());
    let names = NODES;
    let ledger = Arc::new(Ledger::default());
    let mut exits = Vec::new();
    lab.enter("client", || {
        let rt = mcp_ws_tests::multi_thread_runtime(2);
        let net = rt.block_on(async { Tokio::new() });
        let clients: Vec<Client> = rt.block_on(async {
            let mut clients = Vec::new();
            for _ in 0..6 {
                clients.push(connect(&net, &url, client_config(None)).await);
            }
            clients
        });
        let stop = Arc::new(AtomicBool::new(false));
        let callers = {
            let _entered = rt.enter();
            start_callers(&clients, 6, 100_000, &stop, &ledger)
        };
        for (i, name) in names.iter().enumerate() {
            // Under load: some calls succeed between two stops.
            let ok_before = ledger.ok();
            let going = rt.block_on(eventually(&net, LIMIT, || ledger.ok() >= ok_before + 100));
            assert!(going, "the calls stalled before stopping {name}");
            let node = &mut cluster.nodes[i];
            node.process.signal("-TERM");
            exits.push(node.process.wait(LIMIT));
            cluster.restart(&lab, i);
            wait_for_subscribers(redis_addr, 3);
        }
        let ok_before = ledger.ok();
        let going = rt.block_on(eventually(&net, LIMIT, || ledger.ok() >= ok_before + 100));
        assert!(going, "the calls stalled after the last restart");
        stop.store(true, Ordering::SeqCst);
        rt.block_on(async {
            join(callers).await;
            for client in clients {
                client.close().await;
            }
        });
    });
    for (name, status) in names.iter().zip(&exits) {
        assert!(status.success(), "{name} exited with {status} after SIGTERM");
    }
    let t = tally("rolling SIGTERM of 3 nodes behind nginx", &ledger, &file, 0);
    assert_exactly_once_where_promised(&t);
    // A drain refuses unprocessed or finishes what it started: no call fails, none runs
    // twice, retryable or not.
    assert!(t.disconnected == 0 && t.other_errors.is_empty(), "calls failed: {t:?}");
    assert_eq!(t.executions, t.calls, "{t:?}");
}

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

#[test]
fn large_results_over_a_one_megabit_link_all_arrive_and_the_server_memory_stays_bounded() {
    let Some(lab) = lab("1 Mbit link", &["client", "server"]) else { return };
    let dir = TempDir::new("netfaults-slow");
    let node = start_node(&lab, "server", &dir.0.join("executions"), &[]);
    let pid = node.process.child.id();
    let baseline = rss_kib(pid);
    lab.throttle("server", "1mbit");
    // 8 calls at once of 128 KiB each: 1 MiB, about 8.4 s at 1 Mbit/s.
    let (calls, bytes) = (8usize, 128 * 1024usize);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::SeqCst) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let started = Instant::now();
    let answers = lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let client = connect(&net, &node.url, client_config(None)).await;
            let mut tasks = Vec::new();
            for _ in 0..calls {
                let client = client.clone();
                tasks.push(tokio::spawn(async move {
                    let options = CallOptions::timeout(Duration::from_secs(60));
                    let answer =
                        client.call_tool_with("big", json!({ "bytes": bytes }), options).await;
                    answer.map(|result| result.joined_text().len())
                }));
            }
            let mut answers = Vec::new();
            for task in tasks {
                answers.push(task.await.expect("a caller panicked"));
            }
            client.close().await;
            answers
        })
    });
    let elapsed = started.elapsed();
    sampling.store(false, Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    eprintln!(
        "[netfaults] 1 Mbit link: {calls} results of {bytes} bytes in {elapsed:?}; server RSS \
         {baseline} KiB before, peak {peak} KiB"
    );
    for answer in &answers {
        assert_eq!(answer.as_ref().ok(), Some(&bytes), "{answer:?}");
    }
    // The link really was slow (the bytes took at least 80 % of their time at 1 Mbit/s)...
    let floor = Duration::from_secs_f64((calls * bytes * 8) as f64 / 1e6 * 0.8);
    assert!(elapsed >= floor, "{elapsed:?} is faster than the link allows ({floor:?})");
    // ...and the server held no more than a few copies of what it had to send.
    let grown = peak.saturating_sub(baseline);
    assert!(grown < 16 * 1024, "the server grew by {grown} KiB for 1 MiB of results");
}

#[test]
fn a_black_hole_between_nginx_and_one_node_moves_its_clients_by_heartbeat() {
    let Some(lab) = lab("node black hole", &CLUSTER_HOSTS) else { return };
    let cluster = Cluster::start(&lab, &[]);
    let ledger = Arc::new(Ledger::default());
    let hole = Duration::from_secs(5);
    let detections = lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let mut clients = Vec::new();
            for _ in 0..6 {
                // nginx tries a node that does not answer for its 2 s connect timeout before
                // the next one: the client's own connect timeout is longer.
                let mut config = client_config(Some((PING, IDLE)));
                config.connect_timeout = Duration::from_secs(8);
                clients.push(connect(&net, &cluster.url, config).await);
            }
            let stop = Arc::new(AtomicBool::new(false));
            let callers = start_callers(&clients, 6, 100_000, &stop, &ledger);
            let ok = eventually(&net, LIMIT, || ledger.ok() >= 30).await;
            assert!(ok, "the callers did not get going");
            let watchers: Vec<_> = clients
                .iter()
                .map(|client| {
                    let (mut events, net) = (client.events(), net.clone());
                    let limit = hole.min(IDLE + Duration::from_secs(3));
                    tokio::spawn(async move { disconnected(&net, limit, &mut events).await })
                })
                .collect();
            let on = Instant::now();
            lab.black_hole("n1", "lb", true);
            let mut detections = Vec::new();
            for watcher in watchers {
                if let Some((at, by, reason)) = watcher.await.expect("a watcher panicked") {
                    detections.push((at - on, by, reason));
                }
            }
            // The clients of the other nodes go on meanwhile, and the moved ones with them.
            let ok_before = ledger.ok();
            let going = eventually(&net, LIMIT, || ledger.ok() >= ok_before + 60).await;
            assert!(going, "the calls stalled during the hole");
            tokio::time::sleep(hole.saturating_sub(on.elapsed())).await;
            lab.black_hole("n1", "lb", false);
            let ok_before = ledger.ok();
            let going = eventually(&net, LIMIT, || ledger.ok() >= ok_before + 60).await;
            assert!(going, "the calls stalled after the hole");
            stop.store(true, Ordering::SeqCst);
            join(callers).await;
            for client in clients {
                client.close().await;
            }
            detections
        })
    });
    eprintln!("[netfaults] node black hole: detections {detections:?}");
    let t = tally("black hole between nginx and one of 3 nodes", &ledger, &cluster.file, 1);
    // nginx puts two of the six clients on each node, round-robin.
    assert_eq!(detections.len(), 2, "not the clients of one node: {detections:?}");
    for (after, by, reason) in &detections {
        assert_eq!(*by, ClosedBy::Session, "not the heartbeat: {reason}");
        assert!(*after >= IDLE / 2 && *after <= IDLE + Duration::from_millis(1500), "{after:?}");
    }
    assert_exactly_once_where_promised(&t);
    assert!(t.other_errors.is_empty(), "unexpected errors: {:?}", t.other_errors);
    // Only non-retryable calls in flight on the two clients of the node fail.
    assert!(t.disconnected <= 2, "more calls failed than were in flight: {t:?}");
}
