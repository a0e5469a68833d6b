//! Several nodes behind a real nginx, fanned out through a real Redis, all on loopback and
//! started (and stopped, also on failure) by the tests: redis-server with a temporary config,
//! three `mcp-ws serve --redis …` nodes, and nginx in front of them with the config the
//! README's "Running several nodes" shows. Clients (the library's, on tokio) connect through
//! nginx, which spreads them round-robin over the nodes. The nodes are `netfault-node`
//! (`mcp-ws serve` with its flags and demo router, plus a `count` tool that records each
//! execution in a file the three nodes share), so a call is counted where it ran, not only
//! where it was answered.
//!
//! - a `touch` on one node reaches the subscribed clients on all three, legacy and modern;
//! - SIGTERM to one node: its clients reconnect through nginx to the others and go on, no
//!   call fails and none runs twice (a drain never runs a request it then calls unprocessed),
//!   the drained node exits 0;
//! - SIGKILL to one node: the same, except that calls in flight fail as disconnected (or are
//!   issued again when marked retryable);
//! - Redis stopped and restarted: local notifications keep flowing, cross-node ones resume;
//! - legacy Streamable HTTP sessions, with the nodes started with `--node-id` and nginx
//!   routing on the node named in `Mcp-Session-Id` (the README's routed layout): every session
//!   stays on its node (no 404, no reconnect), while 2026-07-28 POSTs through the same nginx
//!   are spread over the three; SIGTERM to one node: its HTTP clients start new sessions on
//!   the others and go on.
//!
//! nginx and redis-server must be installed (`bash tests/interop/install.sh` does it as root);
//! without them these tests fail, saying so.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::core::mcp::{Implementation, SubscriptionFilter};
use mcp_ws_driver::core::reconnect::ReconnectConfig;
use mcp_ws_driver::core::session::EraPolicy;
use mcp_ws_driver::{CallError, CallOptions, Client, ClientConfig, ClientEvent, Listen};
use mcp_ws_tests::next_event;
use mcp_ws_tests::peers::lines_of;
use mcp_ws_tests::process::{
    Guarded, TempDir, executions, nginx_conf, nginx_conf_routed, redis_conf,
};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

/// `mcp-ws serve` plus the `count` tool (`tests/src/bin/netfault_node.rs`).
const NODE: &str = env!("CARGO_BIN_EXE_netfault-node");
const NGINX: &str = "/usr/sbin/nginx";
const REDIS: &str = "/usr/bin/redis-server";
const LIMIT: Duration = Duration::from_secs(15);
const LEGACY: EraPolicy = EraPolicy::Legacy(ProtocolVersion::V2025_11_25);
const CHANNEL: &str = "mcp-ws:changes";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `port` accepts TCP connections.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port} in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn require(binary: &str, package: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: the scale-out tests need Debian's {package} \
         (bash tests/interop/install.sh installs it when run as root)"
    );
}

/// One inline Redis command over RESP; its raw answer.
fn redis_command(port: u16, command: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    stream.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// A plain GET on a node; the body.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// How many sessions a node holds, from its /metrics (every `transport`).
fn sessions_on(port: u16) -> u64 {
    http_get(port, "/metrics")
        .lines()
        .filter(|line| line.starts_with("mcp_ws_connections_active"))
        .filter_map(|line| line.split_whitespace().last()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// One `mcp-ws serve --redis` node.
struct Node {
    process: Guarded,
    port: u16,
}

/// Redis, three nodes and nginx; stopped in reverse order when dropped.
struct Cluster {
    _nginx: Guarded,
    nodes: Vec<Node>,
    redis: Option<Guarded>,
    redis_port: u16,
    url: String,
    dir: TempDir,
}

/// The names of the routed cluster's nodes (`--node-id`), and of their executions files.
const NODE_IDS: [&str; 3] = ["n0", "n1", "n2"];

impl Cluster {
    /// The cluster of the README's plain layout: one executions file for the three nodes.
    fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// `routed`: the nodes run with `--node-id n0`..`n2`, each recording its executions in a
    /// file of its own (`executions-n0`..), behind [`nginx_conf_routed`].
    fn start_with(routed: bool) -> Cluster {
        require(NGINX, "nginx");
        require(REDIS, "redis-server");
        let dir = TempDir::new("scale-out");
        let redis_port = free_port();
        let redis = start_redis(&dir.0, redis_port);
        let nodes: Vec<Node> = NODE_IDS
            .iter()
            .map(|name| match routed {
                true => {
                    start_node(redis_port, &dir.0.join(format!("executions-{name}")), Some(name))
                }
                false => start_node(redis_port, &dir.0.join("executions"), None),
            })
            .collect();
        let nginx_port = free_port();
        let conf = dir.0.join("nginx.conf");
        let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
        let listen = SocketAddr::from(([127, 0, 0, 1], nginx_port));
        let upstream: Vec<SocketAddr> =
            ports.iter().map(|p| SocketAddr::from(([127, 0, 0, 1], *p))).collect();
        let text = match routed {
            true => {
                let named: Vec<(String, SocketAddr)> =
                    NODE_IDS.iter().map(|name| name.to_string()).zip(upstream).collect();
                nginx_conf_routed(&dir.0, listen, &named)
            }
            false => nginx_conf(&dir.0, listen, &upstream),
        };
        std::fs::write(&conf, text).unwrap();
        let mut nginx = Guarded::spawn(
            Command::new(NGINX)
                .arg("-c")
                .arg(&conf)
                .args(["-p", &dir.0.display().to_string(), "-g", "daemon off;"])
                .stderr(Stdio::inherit()),
        );
        nginx.graceful = true;
        wait_for_port(nginx_port, "nginx");
        let cluster = Cluster {
            _nginx: nginx,
            nodes,
            redis: Some(redis),
            redis_port,
            url: format!("ws://127.0.0.1:{nginx_port}/mcp"),
            dir,
        };
        cluster.wait_for_subscribers(3);
        cluster
    }

    /// Waits until `n` nodes are subscribed to the channel.
    fn wait_for_subscribers(&self, n: usize) {
        let deadline = Instant::now() + LIMIT;
        let expected = format!(":{n}\r\n");
        loop {
            let answer = redis_command(self.redis_port, &format!("PUBSUB NUMSUB {CHANNEL}"));
            if answer.ends_with(&expected) {
                return;
            }
            assert!(Instant::now() < deadline, "{n} nodes did not subscribe in time: {answer:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn start_redis(dir: &Path, port: u16) -> Guarded {
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, redis_conf(dir, "127.0.0.1", port)).unwrap();
    let redis = Guarded::spawn(Command::new(REDIS).arg(&conf).stdout(Stdio::null()));
    wait_for_port(port, "redis-server");
    redis
}

fn start_node(redis_port: u16, executions: &Path, node_id: Option<&str>) -> Node {
    let port = free_port();
    let redis = format!("redis://127.0.0.1:{redis_port}/");
    let node_id: Vec<&str> = node_id.map(|name| vec!["--node-id", name]).unwrap_or_default();
    let mut process = Guarded::spawn(
        Command::new(NODE)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--redis", &redis])
            .args(&node_id)
            .arg("--executions")
            .arg(executions)
            .args(["--shutdown-grace", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let lines = lines_of(process.child.stdout.take().expect("stdout"));
    let url = lines.recv_timeout(LIMIT).expect("the node's URL line");
    assert!(url.ends_with(&format!(":{port}/mcp")), "unexpected first line {url:?}");
    Node { process, port }
}

fn client_config(era: EraPolicy) -> ClientConfig {
    let reconnect = ReconnectConfig {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        ..Default::default()
    };
    ClientConfig::new(Implementation::new("scale-out-test", "0.0.1"))
        .era(era)
        .reconnect(Some(reconnect))
}

/// A client through nginx with its subscription to `uris`: legacy `resources/subscribe` or
/// a modern listen (acknowledged before this returns).
struct Subscriber {
    client: Client,
    events: Box<dyn futures_util::Stream<Item = ClientEvent> + Send + Unpin>,
    _listen: Option<Listen>,
}

async fn subscriber(net: &Tokio, url: &str, legacy: bool, uris: &[&str]) -> Subscriber {
    let era = if legacy { LEGACY } else { EraPolicy::Modern };
    let connecting = mcp_ws_driver::connect(net.clone(), url, client_config(era));
    let client =
        mcp_ws_tests::within(net, LIMIT, connecting).await.expect("in time").expect("connect");
    let mut events = client.events();
    let listen = if legacy {
        for uri in uris {
            client.subscribe_resource(uri).await.expect("subscribe");
        }
        None
    } else {
        let filter: SubscriptionFilter =
            serde_json::from_value(json!({ "resourceSubscriptions": uris })).unwrap();
        let listen = client.listen(filter).expect("listen");
        let acknowledged = next_event(net, LIMIT, &mut events, |event| match event {
            ClientEvent::Notification(n)
                if n.method == "notifications/subscriptions/acknowledged" =>
            {
                Some(())
            }
            _ => None,
        });
        assert!(acknowledged.await.is_some(), "the listen was not acknowledged");
        Some(listen)
    };
    Subscriber { client, events: Box::new(events), _listen: listen }
}

/// Six subscribers, legacy and modern in turn; nginx puts two on each node.
async fn six_subscribers(net: &Tokio, cluster: &Cluster, uris: &[&str]) -> Vec<Subscriber> {
    let mut subscribers = Vec::new();
    for i in 0..6 {
        subscribers.push(subscriber(net, &cluster.url, i % 2 == 0, uris).await);
    }
    subscribers
}

/// Waits until `subscriber` hears that `uri` was updated.
async fn hears(net: &Tokio, subscriber: &mut Subscriber, uri: &str) -> bool {
    next_event(net, LIMIT, &mut subscriber.events, |event| match event {
        ClientEvent::Notification(n) if n.method == "notifications/resources/updated" => {
            let params: Value = n.params.as_ref().map_or(Value::Null, |p| p.parse().unwrap());
            (params["uri"] == uri).then_some(())
        }
        _ => None,
    })
    .await
    .is_some()
}

async fn touch(client: &Client, uri: &str) {
    let answer = client.call_tool("touch", json!({ "uri": uri })).await.expect("touch");
    assert_eq!(answer.joined_text(), format!("touched {uri}"));
}

#[test]
fn a_touch_on_one_node_reaches_the_subscribers_on_all_three_in_both_eras() {
    let cluster = Cluster::start();
    mcp_ws_tests::multi_thread_runtime(2).block_on(async {
        let net = Tokio::new();
        let mut subscribers = six_subscribers(&net, &cluster, &["demo://shared"]).await;
        for node in &cluster.nodes {
            assert_eq!(sessions_on(node.port), 2, "nginx did not spread the clients");
        }
        // From a legacy client on the first node, then from a modern one on the second.
        for (from, uri) in [(0, "demo://shared"), (1, "demo://shared")] {
            touch(&subscribers[from].client, uri).await;
            for (i, subscriber) in subscribers.iter_mut().enumerate() {
                assert!(hears(&net, subscriber, uri).await, "subscriber {i} missed the touch");
            }
        }
        for subscriber in subscribers {
            subscriber.client.close().await;
        }
    });
}

/// What the callers of one scenario saw.
#[derive(Default)]
struct Calls {
    ok_after_stop: AtomicUsize,
    errors: Mutex<Vec<(usize, bool, CallError)>>,
    /// The id of every call answered with a result.
    answered: Mutex<Vec<String>>,
}

/// What the nodes' file says of the calls.
#[derive(Debug)]
struct Runs {
    /// Executions in all.
    total: usize,
    /// The ids that ran more than once, with how many times.
    doubled: Vec<(String, usize)>,
    /// The answered ids that never ran.
    unrun: Vec<String>,
}

fn doubled_and_unrun(calls: &Calls, runs: HashMap<String, usize>) -> Runs {
    let mut doubled: Vec<(String, usize)> =
        runs.iter().filter(|(_, n)| **n > 1).map(|(id, n)| (id.clone(), *n)).collect();
    doubled.sort();
    let unrun = calls
        .answered
        .lock()
        .unwrap()
        .iter()
        .filter(|id| !runs.contains_key(*id))
        .cloned()
        .collect();
    Runs { total: runs.values().sum(), doubled, unrun }
}

/// Calls `count` in a loop on every subscriber's client (odd ones marked retryable) until
/// `stop`, each call with an id of its own, recording answers and failures; `stopped` marks
/// when the node went away.
fn start_callers(
    clients: &[Client],
    stop: &Arc<AtomicBool>,
    stopped: &Arc<AtomicBool>,
    calls: &Arc<Calls>,
) -> Vec<tokio::task::JoinHandle<()>> {
    clients
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let client = client.clone();
            let (stop, stopped, calls) = (stop.clone(), stopped.clone(), calls.clone());
            tokio::spawn(async move {
                let retryable = i % 2 == 1;
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) && n < 100_000 {
                    n += 1;
                    let mut options = CallOptions::timeout(LIMIT);
                    if retryable {
                        options = options.retryable();
                    }
                    let id = format!("caller{i}-{n}");
                    let arguments = json!({ "id": id });
                    match client.call_tool_with("count", arguments, options).await {
                        Ok(result) => {
                            assert_eq!(result.joined_text(), format!("counted {id}"));
                            calls.answered.lock().unwrap().push(id);
                            if stopped.load(Ordering::SeqCst) {
                                calls.ok_after_stop.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(error) => calls.errors.lock().unwrap().push((i, retryable, error)),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

/// The SIGTERM and SIGKILL scenarios: six subscribers calling in a loop, node 0 stopped with
/// `signal`, then everyone goes on and still hears a touch.
fn one_node_goes_away(signal: &str) -> (Arc<Calls>, std::process::ExitStatus, Runs) {
    let mut cluster = Cluster::start();
    let rt = mcp_ws_tests::multi_thread_runtime(2);
    let net = rt.block_on(async { Tokio::new() });
    let mut subscribers = rt.block_on(six_subscribers(&net, &cluster, &["demo://after"]));
    assert_eq!(sessions_on(cluster.nodes[0].port), 2);
    let (stop, stopped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let calls = Arc::new(Calls::default());
    let callers = {
        let _entered = rt.enter();
        let clients: Vec<Client> = subscribers.iter().map(|s| s.client.clone()).collect();
        start_callers(&clients, &stop, &stopped, &calls)
    };
    std::thread::sleep(Duration::from_millis(300));
    let node = &mut cluster.nodes[0];
    node.process.signal(signal);
    let status = node.process.wait(LIMIT);
    stopped.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    rt.block_on(async {
        for caller in callers {
            caller.await.expect("a caller panicked");
        }
        for node in &cluster.nodes[1..] {
            assert_eq!(sessions_on(node.port), 3, "the clients did not move to the other nodes");
        }
        touch(&subscribers[0].client, "demo://after").await;
        for (i, subscriber) in subscribers.iter_mut().enumerate() {
            assert!(hears(&net, subscriber, "demo://after").await, "subscriber {i} went deaf");
        }
        for subscriber in subscribers {
            subscriber.client.close().await;
        }
    });
    let runs = doubled_and_unrun(&calls, executions(&cluster.dir.0.join("executions")));
    (calls, status, runs)
}

#[test]
fn sigterm_to_one_node_moves_its_clients_to_the_others_no_call_fails_or_runs_twice() {
    let (calls, status, runs) = one_node_goes_away("-TERM");
    assert!(status.success(), "the drained node exited with {status}");
    let answered = calls.answered.lock().unwrap().len();
    println!("[scale_out] SIGTERM: {answered} calls answered, {} executions", runs.total);
    // Every answered call ran, and no call ran twice: a call the draining node ran was
    // answered there, never refused as unprocessed and issued again on another node.
    assert!(runs.unrun.is_empty(), "answered but never ran: {:?}", runs.unrun);
    assert!(runs.doubled.is_empty(), "ran more than once: {:?}", runs.doubled);
    // No caller, retryable or not, sees a failure: calls the draining node refused
    // unprocessed, and calls that reached it after its drained close, were issued again on
    // another node.
    let errors = calls.errors.lock().unwrap();
    assert!(errors.is_empty(), "calls failed: {:?}", *errors);
    assert!(calls.ok_after_stop.load(Ordering::Relaxed) > 0, "nobody called after the drain");
}

#[test]
fn sigkill_to_one_node_fails_only_calls_in_flight_and_retries_the_retryable_ones() {
    let (calls, _status, runs) = one_node_goes_away("-KILL");
    assert!(runs.unrun.is_empty(), "answered but never ran: {:?}", runs.unrun);
    let errors = calls.errors.lock().unwrap();
    // Only a retryable call cut by the kill may have run twice (once on the killed node).
    for (id, _) in &runs.doubled {
        let caller: usize = id["caller".len()..].split('-').next().unwrap().parse().unwrap();
        assert!(caller % 2 == 1, "non-retryable call {id} ran twice: {:?}", runs.doubled);
    }
    assert!(runs.doubled.len() <= 1, "more calls ran twice than were cut: {:?}", runs.doubled);
    for (caller, retryable, error) in errors.iter() {
        assert!(!retryable, "retryable caller {caller} failed: {error:?}");
        assert_eq!(*error, CallError::Disconnected, "caller {caller}");
    }
    // Each of the two callers on the killed node had at most one call in flight.
    assert!(errors.len() <= 2, "more calls failed than were in flight: {:?}", *errors);
    assert!(calls.ok_after_stop.load(Ordering::Relaxed) > 0, "nobody called after the kill");
}

#[test]
fn with_redis_stopped_local_notifications_flow_and_cross_node_ones_resume_after_a_restart() {
    let mut cluster = Cluster::start();
    mcp_ws_tests::multi_thread_runtime(2).block_on(async {
        let net = Tokio::new();
        let uris = ["demo://during", "demo://after"];
        let mut subscribers = six_subscribers(&net, &cluster, &uris).await;
        drop(cluster.redis.take());
        // Subscribers 0 and 3 share the first node: a touch there still reaches both.
        touch(&subscribers[0].client, "demo://during").await;
        for i in [0, 3] {
            assert!(hears(&net, &mut subscribers[i], "demo://during").await, "local {i} missed it");
        }
        cluster.redis = Some(start_redis(&cluster.dir.0, cluster.redis_port));
        let (redis_port, deadline) = (cluster.redis_port, Instant::now() + LIMIT);
        loop {
            let answer = redis_command(redis_port, &format!("PUBSUB NUMSUB {CHANNEL}"));
            if answer.ends_with(":3\r\n") {
                break;
            }
            assert!(Instant::now() < deadline, "the nodes did not subscribe again: {answer:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        touch(&subscribers[1].client, "demo://after").await;
        for (i, subscriber) in subscribers.iter_mut().enumerate() {
            assert!(hears(&net, subscriber, "demo://after").await, "subscriber {i} missed it");
        }
        for subscriber in subscribers {
            subscriber.client.close().await;
        }
    });
}

/// Where each call id ran in a routed cluster: the names of the nodes that ran it, once per
/// execution (each node records in a file of its own).
fn ran_on(dir: &Path) -> HashMap<String, Vec<&'static str>> {
    let mut ran: HashMap<String, Vec<&'static str>> = HashMap::new();
    for name in NODE_IDS {
        for (id, n) in executions(&dir.join(format!("executions-{name}"))) {
            ran.entry(id).or_default().extend(std::iter::repeat_n(name, n));
        }
    }
    ran
}

/// A client through nginx over Streamable HTTP, counting the connections it lost (a 404 on
/// its session is one: it then initializes a new session).
struct HttpCaller {
    client: Client,
    disconnects: Arc<AtomicUsize>,
    watcher: tokio::task::JoinHandle<()>,
}

async fn http_caller(net: &Tokio, url: &str, era: EraPolicy) -> HttpCaller {
    let connecting = mcp_ws_driver::connect(net.clone(), url, client_config(era));
    let client =
        mcp_ws_tests::within(net, LIMIT, connecting).await.expect("in time").expect("connect");
    let disconnects = Arc::new(AtomicUsize::new(0));
    let mut events = client.events();
    let counted = disconnects.clone();
    let watcher = tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some(event) = events.next().await {
            if let ClientEvent::Disconnected { .. } = event {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    HttpCaller { client, disconnects, watcher }
}

/// `calls` sequential `count` calls on `client` with ids `{prefix}-{n}`; the ones that failed.
async fn count_calls(client: Client, prefix: String, calls: usize) -> Vec<(String, CallError)> {
    let mut failed = Vec::new();
    for n in 0..calls {
        let id = format!("{prefix}-{n}");
        let options = CallOptions::timeout(LIMIT);
        match client.call_tool_with("count", json!({ "id": id }), options).await {
            Ok(result) => assert_eq!(result.joined_text(), format!("counted {id}")),
            Err(error) => failed.push((id, error)),
        }
    }
    failed
}

#[test]
fn legacy_http_sessions_stay_on_their_node_and_modern_posts_spread_over_the_three() {
    let cluster = Cluster::start_with(true);
    let url = cluster.url.replace("ws://", "http://");
    const CLIENTS: usize = 6;
    const CALLS: usize = 25;
    mcp_ws_tests::multi_thread_runtime(2).block_on(async {
        let net = Tokio::new();
        let mut callers = Vec::new();
        for _ in 0..CLIENTS {
            callers.push(http_caller(&net, &url, LEGACY).await);
        }
        let tasks: Vec<_> = callers
            .iter()
            .enumerate()
            .map(|(i, caller)| {
                tokio::spawn(count_calls(caller.client.clone(), format!("legacy{i}"), CALLS))
            })
            .collect();
        let mut failed = Vec::new();
        for task in tasks {
            failed.extend(task.await.expect("a caller panicked"));
        }
        assert!(failed.is_empty(), "legacy HTTP calls failed through nginx: {failed:?}");
        let ran = ran_on(&cluster.dir.0);
        let mut homes = BTreeSet::new();
        for i in 0..CLIENTS {
            let mut nodes = BTreeSet::new();
            for n in 0..CALLS {
                let on = ran.get(&format!("legacy{i}-{n}")).cloned().unwrap_or_default();
                assert_eq!(on.len(), 1, "call legacy{i}-{n} ran {} times: {on:?}", on.len());
                nodes.extend(on);
            }
            assert_eq!(nodes.len(), 1, "client {i}'s session moved between nodes: {nodes:?}");
            homes.extend(nodes);
        }
        assert_eq!(homes.len(), 3, "nginx did not spread the sessions: {homes:?}");
        for (i, caller) in callers.iter().enumerate() {
            let lost = caller.disconnects.load(Ordering::SeqCst);
            assert_eq!(lost, 0, "client {i} lost its session {lost} times (a 404 through nginx)");
        }
        // 2026-07-28 through the same nginx: every POST stands alone, round-robin over all.
        const MODERN: usize = 30;
        let modern = http_caller(&net, &url, EraPolicy::Modern).await;
        let failed = count_calls(modern.client.clone(), "modern".into(), MODERN).await;
        assert!(failed.is_empty(), "2026-07-28 calls failed through nginx: {failed:?}");
        let ran = ran_on(&cluster.dir.0);
        let mut per_node: HashMap<&str, usize> = HashMap::new();
        for n in 0..MODERN {
            let on = ran.get(&format!("modern-{n}")).cloned().unwrap_or_default();
            assert_eq!(on.len(), 1, "call modern-{n} ran {} times", on.len());
            *per_node.entry(on[0]).or_default() += 1;
        }
        println!("[scale_out] 2026-07-28 calls per node: {per_node:?}");
        for name in NODE_IDS {
            let here = per_node.get(name).copied().unwrap_or(0);
            assert!(here >= MODERN / 6, "node {name} ran {here} of {MODERN}: {per_node:?}");
        }
        for caller in callers.into_iter().chain([modern]) {
            caller.client.close().await;
            caller.watcher.abort();
        }
    });
}

#[test]
fn sigterm_to_one_node_sends_its_legacy_http_clients_to_new_sessions_on_the_others() {
    let mut cluster = Cluster::start_with(true);
    let url = cluster.url.replace("ws://", "http://");
    let rt = mcp_ws_tests::multi_thread_runtime(2);
    let net = rt.block_on(async { Tokio::new() });
    let callers: Vec<HttpCaller> = rt.block_on(async {
        let mut callers = Vec::new();
        for _ in 0..6 {
            callers.push(http_caller(&net, &url, LEGACY).await);
        }
        callers
    });
    let (stop, stopped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let calls = Arc::new(Calls::default());
    let clients: Vec<Client> = callers.iter().map(|c| c.client.clone()).collect();
    let tasks = {
        let _entered = rt.enter();
        start_callers(&clients, &stop, &stopped, &calls)
    };
    std::thread::sleep(Duration::from_millis(300));
    let node = &mut cluster.nodes[0];
    node.process.signal("-TERM");
    let status = node.process.wait(LIMIT);
    stopped.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    rt.block_on(async {
        for task in tasks {
            task.await.expect("a caller panicked");
        }
    });
    assert!(status.success(), "the drained node exited with {status}");
    let ran = ran_on(&cluster.dir.0);
    let runs = ran.iter().map(|(id, nodes)| (id.clone(), nodes.len())).collect();
    let runs = doubled_and_unrun(&calls, runs);
    let errors = calls.errors.lock().unwrap();
    let lost: Vec<usize> = callers.iter().map(|c| c.disconnects.load(Ordering::SeqCst)).collect();
    println!(
        "[scale_out] HTTP, SIGTERM: {} executions, {} calls after the stop, failed {:?}, \
         sessions lost per client {lost:?}",
        runs.total,
        calls.ok_after_stop.load(Ordering::Relaxed),
        *errors
    );
    assert!(runs.unrun.is_empty(), "answered but never ran: {:?}", runs.unrun);
    assert!(runs.doubled.is_empty(), "ran more than once: {:?}", runs.doubled);
    // Nothing ran that was not answered: a call that failed never ran anywhere.
    let answered: BTreeSet<String> = calls.answered.lock().unwrap().iter().cloned().collect();
    let unanswered: Vec<&String> = ran.keys().filter(|id| !answered.contains(*id)).collect();
    assert!(unanswered.is_empty(), "ran but failed at the caller: {unanswered:?}");
    let mut drained = BTreeSet::new();
    for (i, lost) in lost.iter().enumerate() {
        let homes: BTreeSet<&str> = ran
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("caller{i}-")))
            .flat_map(|(_, nodes)| nodes.iter().copied())
            .collect();
        if homes.contains("n0") {
            // On the drained node: its session ended (the node's 503, then another node's
            // 404 through the backup servers) and the client initialized a new one elsewhere.
            assert_eq!(*lost, 1, "caller {i} on the drained node: {homes:?}");
            drained.insert(i);
        } else {
            assert_eq!(*lost, 0, "caller {i} lost a session on a node that stayed: {homes:?}");
            assert_eq!(homes.len(), 1, "caller {i} moved between live nodes: {homes:?}");
        }
    }
    assert_eq!(drained.len(), 2, "nginx put two of the six sessions on each node");
    // No call fails: one a client of the drained node issued on its session as it ended gets
    // that node's 503, passed on by nginx to another node, whose 404 says the request was not
    // processed, so it goes back to the client, retryable or not, and is issued again on the
    // client's new session (it ran once: checked above).
    assert!(errors.is_empty(), "calls failed: {:?}", *errors);
    assert!(calls.ok_after_stop.load(Ordering::Relaxed) > 0, "nobody called after the drain");
    // And every client goes on, on a live node.
    rt.block_on(async {
        for (i, caller) in callers.iter().enumerate() {
            let failed = count_calls(caller.client.clone(), format!("final{i}"), 1).await;
            assert!(failed.is_empty(), "caller {i} after the drain: {failed:?}");
        }
    });
    let ran = ran_on(&cluster.dir.0);
    for i in 0..callers.len() {
        let on = ran.get(&format!("final{i}-0")).cloned().unwrap_or_default();
        assert!(on.len() == 1 && on[0] != "n0", "caller {i}'s last call ran on {on:?}");
    }
    drop(errors);
    rt.block_on(async {
        for caller in callers {
            caller.client.close().await;
            caller.watcher.abort();
        }
    });
}
