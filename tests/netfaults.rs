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
    let Some(lab) = lab("loss", &["client", "server"]) else { return };
    let dir = TempDir::new("netfaults-loss");
    let file = dir.0.join("executions");
    // Loss from the start: the connections are made through it too.
    lab.loss("server", 0.05, true);
    let node = start_node(&lab, "server", &file, &[]);
    let (calls_per_caller, callers) = (100, 4);
    let ledger = Arc::new(Ledger::default());
    let started = Instant::now();
    lab.enter("client", || {
        mcp_ws_tests::multi_thread_runtime(2).block_on(async {
            let net = Tokio::new();
            let mut clients = Vec::new();
            for _ in 0..2 {
                clients.push(connect(&net, &node.url, client_config(None)).await);
            }
            let stop = Arc::new(AtomicBool::new(false));
            join(start_callers(&clients, callers, calls_per_caller, &stop, &ledger)).await;
            for client in clients {
                client.close().await;
            }
        })
    });
    let dropped = lab.caught("server");
    eprintln!("[netfaults] loss: {:?} for the run, {dropped} packets dropped", started.elapsed());
    assert!(dropped > 0, "the loss rules dropped nothing");
    let t = tally("5% loss each way", &ledger, &file, 0);
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
