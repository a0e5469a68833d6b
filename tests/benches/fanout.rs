//! Subscribed sessions and change notifications across three nodes, beside one node (the
//! baseline), on loopback.
//!
//! `cargo bench -p mcp-ws-tests --bench fanout`
//!
//! Needs `/usr/bin/redis-server` (started here on a free port with a temporary config, and
//! stopped at the end). Each layout runs the demo router in this process on tokio: "1 node"
//! is one server with the in-process fan-out; "3 nodes" is three servers, each with its own
//! Redis pub/sub fan-out (`RedisFanout`), the same path `serve --redis` takes. The load: N
//! legacy clients, spread round-robin over the nodes, each subscribes to one URI (sessions/s:
//! connect, initialize and subscribe, 32 at a time); then K `touch`es, from a client on the
//! first node, each reaching all N subscribers (notifications/s: N × K deliveries from the
//! first publish to the last delivery). All on one machine, the three nodes share its cores:
//! the figure shows what the Redis hop costs, not what three machines would add.
//!
//! Environment: `FANOUT_SESSIONS` (default 300), `FANOUT_TOUCHES` (default 200).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mcp_ws_tokio::core::ProtocolVersion;
use mcp_ws_tokio::core::mcp::Implementation;
use mcp_ws_tokio::core::session::EraPolicy;
use mcp_ws_tokio::redis_fanout::{RedisFanout, RedisFanoutConfig};
use mcp_ws_tokio::{Client, ClientConfig, ClientEvent, Fanout, Server, ServerConfig, Tokio};
use serde_json::json;

struct Redis(Child, std::path::PathBuf);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_redis() -> (Redis, u16) {
    let binary = "/usr/bin/redis-server";
    assert!(
        std::path::Path::new(binary).exists(),
        "{binary} is missing (apt-get install redis-server)"
    );
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("mcp-ws-fanout-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("redis.conf");
    let text = format!(
        "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\ndir {}\n",
        dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    let child = Command::new(binary).arg(&conf).stdout(Stdio::null()).spawn().unwrap();
    let redis = Redis(child, dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (redis, port)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Starts `count` nodes (with Redis fan-out when `redis` is given); their URLs.
async fn nodes(count: usize, redis: Option<u16>) -> (Vec<Server<Tokio>>, Vec<String>) {
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..count {
        let net = Tokio::new();
        let mut config = ServerConfig::new(Implementation::new("fanout-bench", "0"));
        config.limits =
            mcp_ws_tokio::server::limits::ConnectionLimits::with_max_connections(100_000);
        let mut server = Server::new(net.clone(), mcp_ws_cli::demo::router(net), config);
        if let Some(port) = redis {
            let fanout =
                RedisFanout::start(RedisFanoutConfig::new(format!("redis://127.0.0.1:{port}/")))
                    .expect("fan-out");
            let fanout: Arc<dyn Fanout> = Arc::new(fanout);
            server = server.with_fanout(fanout);
        }
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listening = server.listen(addr).await.expect("bind");
        urls.push(listening.url());
        tokio::spawn(listening.run());
        servers.push(server);
    }
    if redis.is_some() {
        // Let every subscriber reach Redis before anything is published.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (servers, urls)
}

struct Figures {
    sessions_per_second: f64,
    notifications_per_second: f64,
}

async fn run(count: usize, redis: Option<u16>, sessions: usize, touches: u64) -> Figures {
    let (servers, urls) = nodes(count, redis).await;
    let config = ClientConfig::new(Implementation::new("fanout-bench-client", "0"))
        .era(EraPolicy::Legacy(ProtocolVersion::V2025_11_25));
    let started = Instant::now();
    let connecting = (0..sessions).map(|i| {
        let url = urls[i % urls.len()].clone();
        let config = config.clone();
        async move {
            let client = mcp_ws_tokio::connect(&url, config).await.expect("connect");
            let events = client.events();
            client.subscribe_resource("demo://bench").await.expect("subscribe");
            (client, events)
        }
    });
    // 32 at a time: all at once would overflow one listener's accept backlog, and the
    // dropped SYNs would measure TCP's 1 s retransmit instead.
    let clients: Vec<(Client, _)> =
        futures_util::stream::iter(connecting).buffer_unordered(32).collect().await;
    let sessions_per_second = sessions as f64 / started.elapsed().as_secs_f64();
    let received = Arc::new(AtomicU64::new(0));
    let expected = sessions as u64 * touches;
    let (done_sender, done) = tokio::sync::oneshot::channel::<Instant>();
    let done_sender = Arc::new(std::sync::Mutex::new(Some(done_sender)));
    let mut handles = Vec::new();
    let mut publisher = None;
    for (i, (client, mut events)) in clients.into_iter().enumerate() {
        if i == 0 {
            publisher = Some(client.clone());
        }
        let received = received.clone();
        let done_sender = done_sender.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = 0;
            while mine < touches {
                match events.next().await {
                    Some(ClientEvent::Notification(n))
                        if n.method == "notifications/resources/updated" =>
                    {
                        mine += 1;
                        if received.fetch_add(1, Ordering::Relaxed) + 1 == expected {
                            if let Some(sender) = done_sender.lock().unwrap().take() {
                                let _ = sender.send(Instant::now());
                            }
                        }
                    }
                    Some(ClientEvent::Lagged { missed }) => {
                        panic!("a subscriber lagged by {missed}")
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            client
        }));
    }
    let publisher = publisher.expect("a client");
    let first = Instant::now();
    for _ in 0..touches {
        publisher.call_tool("touch", json!({"uri": "demo://bench"})).await.expect("touch");
    }
    let last = tokio::time::timeout(Duration::from_secs(60), done)
        .await
        .expect("every delivery in 60 s")
        .unwrap();
    let notifications_per_second = expected as f64 / (last - first).as_secs_f64();
    for handle in handles {
        handle.await.unwrap().close().await;
    }
    for server in servers {
        server.shutdown().await;
    }
    Figures { sessions_per_second, notifications_per_second }
}

fn main() {
    let sessions = env("FANOUT_SESSIONS", 300) as usize;
    let touches = env("FANOUT_TOUCHES", 200);
    let (_redis, port) = start_redis();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!(
        "fanout: {sessions} subscribed legacy sessions, {touches} touches each reaching all of them"
    );
    println!("{:<28} {:>14} {:>18}", "layout", "sessions/s", "notifications/s");
    for (name, count, redis) in
        [("1 node (baseline)", 1, None), ("3 nodes, Redis fan-out", 3, Some(port))]
    {
        let figures = runtime.block_on(run(count, redis, sessions, touches));
        println!(
            "{:<28} {:>14.0} {:>18.0}",
            name, figures.sessions_per_second, figures.notifications_per_second
        );
    }
}
