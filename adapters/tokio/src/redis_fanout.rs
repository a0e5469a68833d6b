//! A [`Fanout`] over Redis pub/sub (feature `redis`): every node publishes its change events on
//! one channel and subscribes to it; events carry the publishing node's id, so a node skips its
//! own (it has delivered them locally already).
//!
//! Two tasks per node, each on its own Redis connection: a subscriber that delivers the other
//! nodes' events, and a publisher fed by a bounded queue ([`RedisFanoutConfig::queue`];
//! [`Fanout::publish`] never waits, and drops an event when the queue is full). A lost or
//! refused connection is logged and dialled again with the core's reconnect machine (backoff
//! with jitter, reset after a stable connection), for as long as the fan-out lives; the
//! server's local delivery is unaffected meanwhile. Pub/sub is fire-and-forget: events
//! published while a node's subscriber is down do not reach that node, and events published
//! while its publisher is down wait in the queue (the one whose `PUBLISH` failed included).
//!
//! Wire format, one JSON text per message: `{"node": "<id>", "event": {"kind":
//! "resourceUpdated", "uri": "…"}}` or `{"node": "<id>", "event": {"kind": "listChanged",
//! "list": "tools"}}`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::core::reconnect::{Failure, Reconnect, ReconnectAction, ReconnectConfig};
use mcp_ws_driver::{ChangeEvent, Deliver, Fanout, Runtime};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::Tokio;

/// How a [`RedisFanout`] connects and queues.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisFanoutConfig {
    /// The Redis URL (`redis://host:port/`, `redis://:password@host/`).
    pub url: String,
    /// The pub/sub channel every node of one server uses. Default `mcp-ws:changes`.
    pub channel: String,
    /// How many events wait for the publisher before new ones are dropped. Default 1024.
    pub queue: usize,
    /// The backoff between dials of a lost connection. Default: the core's, capped at 5 s.
    pub reconnect: ReconnectConfig,
}

impl RedisFanoutConfig {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisFanoutConfig {
            url: url.into(),
            channel: "mcp-ws:changes".to_string(),
            queue: 1024,
            reconnect: ReconnectConfig { max_delay: Duration::from_secs(5), ..Default::default() },
        }
    }
}

/// Why a [`RedisFanout`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisFanoutError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    /// The reconnect policy contradicts itself.
    #[error("invalid reconnect policy: {0:?}")]
    Reconnect(mcp_ws_driver::core::reconnect::ReconnectError),
    /// The queue must hold at least one event.
    #[error("the publish queue must hold at least one event")]
    EmptyQueue,
}

/// One message on the channel.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    event: ChangeEvent,
}

/// Counters of a [`RedisFanout`], for logs and tests.
#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
}

/// The Redis pub/sub fan-out of one node (see the module docs). Give it to the server with
/// [`mcp_ws_driver::Server::with_fanout`]. Its tasks end when it is dropped.
pub struct RedisFanout {
    node: String,
    queue: mpsc::Sender<String>,
    deliver: Arc<Mutex<Option<Deliver>>>,
    counters: Arc<Counters>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RedisFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFanout").field("node", &self.node).finish_non_exhaustive()
    }
}

impl RedisFanout {
    /// Starts the node's subscriber and publisher tasks (inside a tokio runtime). Returns at
    /// once: the connections are made (and remade) in the background.
    pub fn start(config: RedisFanoutConfig) -> Result<RedisFanout, RedisFanoutError> {
        let client = redis::Client::open(config.url.as_str()).map_err(RedisFanoutError::Url)?;
        if config.queue == 0 {
            return Err(RedisFanoutError::EmptyQueue);
        }
        let net = Tokio::new();
        let seed = seed();
        // Checked here so that the tasks cannot fail on it.
        Reconnect::new(config.reconnect.clone(), seed, net.now())
            .map_err(RedisFanoutError::Reconnect)?;
        let node = format!("{:016x}", seed);
        let (queue, receiver) = mpsc::channel(config.queue);
        let deliver: Arc<Mutex<Option<Deliver>>> = Arc::default();
        let counters = Arc::new(Counters::default());
        let subscriber = subscribe_task(
            net.clone(),
            client.clone(),
            config.clone(),
            seed,
            node.clone(),
            deliver.clone(),
            counters.clone(),
        );
        let publisher = publish_task(net, client, config, seed ^ 1, receiver, counters.clone());
        let tasks = vec![tokio::spawn(subscriber), tokio::spawn(publisher)];
        Ok(RedisFanout { node, queue, deliver, counters, tasks })
    }

    /// This node's id on the channel.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Events this node received from other nodes.
    pub fn received(&self) -> u64 {
        self.counters.received.load(Ordering::Relaxed)
    }

    /// Events this node sent to Redis.
    pub fn published(&self) -> u64 {
        self.counters.published.load(Ordering::Relaxed)
    }

    /// Events dropped because the publish queue was full.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for RedisFanout {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Fanout for RedisFanout {
    fn publish(&self, event: &ChangeEvent) {
        let envelope = Envelope { node: self.node.clone(), event: event.clone() };
        let Ok(text) = serde_json::to_string(&envelope) else { return };
        if self.queue.try_send(text).is_err() {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "Redis publish queue full: change events dropped");
            }
        }
    }

    fn attach(&self, deliver: Deliver) {
        *self.deliver.lock().expect("lock") = Some(deliver);
    }
}

/// A jitter seed (and node id) from the standard library's per-process random keys.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x0072_6564_6973);
    hasher.finish()
}

/// Dials with `dial` and runs each connection with `run` until it is lost, forever, waiting
/// between attempts as the core's reconnect machine says. `run` returns why it ended.
async fn keep_connected<C, D, DF, R, RF>(
    net: Tokio,
    what: &'static str,
    reconnect: ReconnectConfig,
    seed: u64,
    mut dial: D,
    mut run: R,
) where
    D: FnMut() -> DF,
    DF: Future<Output = redis::RedisResult<C>>,
    R: FnMut(C) -> RF,
    RF: Future<Output = String>,
{
    let mut machine = Reconnect::new(reconnect, seed, net.now()).expect("checked in start");
    machine.start(net.now()).expect("a new machine starts");
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                ReconnectAction::Dial { attempt } => match dial().await {
                    Ok(connection) => {
                        tracing::info!(what, attempt, "connected to Redis");
                        let _ = machine.on_connected(net.now());
                        let why = run(connection).await;
                        tracing::warn!(what, why, "lost the Redis connection; dialling again");
                        let _ = machine.on_disconnected(net.now(), Failure::Transport(why));
                    }
                    Err(error) => {
                        tracing::warn!(what, attempt, %error, "cannot reach Redis");
                        let failure = Failure::Transport(error.to_string());
                        let _ = machine.on_dial_failed(net.now(), failure);
                    }
                },
                ReconnectAction::GiveUp { reason, .. } => {
                    tracing::error!(what, ?reason, "gave up reconnecting to Redis");
                    return;
                }
            }
        }
        match machine.poll_timeout() {
            Some(deadline) => {
                net.sleep_until(deadline).await;
                machine.handle_timeout(net.now());
            }
            None => return,
        }
    }
}

fn subscribe_task(
    net: Tokio,
    client: redis::Client,
    config: RedisFanoutConfig,
    seed: u64,
    node: String,
    deliver: Arc<Mutex<Option<Deliver>>>,
    counters: Arc<Counters>,
) -> impl Future<Output = ()> + Send + 'static {
    let channel = config.channel.clone();
    let dial = move || {
        let client = client.clone();
        let channel = channel.clone();
        async move {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok(pubsub)
        }
    };
    let run = move |pubsub: redis::aio::PubSub| {
        let node = node.clone();
        let deliver = deliver.clone();
        let counters = counters.clone();
        async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Ok(text) = message.get_payload::<String>() else { continue };
                let envelope: Envelope = match serde_json::from_str(&text) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        tracing::debug!(%error, "ignored a message that is not a change event");
                        continue;
                    }
                };
                if envelope.node == node {
                    continue;
                }
                counters.received.fetch_add(1, Ordering::Relaxed);
                let deliver = deliver.lock().expect("lock").clone();
                if let Some(deliver) = deliver {
                    deliver(envelope.event);
                }
            }
            "the subscription ended".to_string()
        }
    };
    keep_connected(net, "subscriber", config.reconnect, seed, dial, run)
}

fn publish_task(
    net: Tokio,
    client: redis::Client,
    config: RedisFanoutConfig,
    seed: u64,
    receiver: mpsc::Receiver<String>,
    counters: Arc<Counters>,
) -> impl Future<Output = ()> + Send + 'static {
    // The queue, and the event whose PUBLISH failed (sent first on the next connection).
    let state = Arc::new(tokio::sync::Mutex::new((receiver, None::<String>)));
    let channel = config.channel.clone();
    let dial = move || {
        let client = client.clone();
        async move { client.get_multiplexed_async_connection().await }
    };
    let run = move |mut connection: redis::aio::MultiplexedConnection| {
        let state = state.clone();
        let channel = channel.clone();
        let counters = counters.clone();
        async move {
            let mut state = state.lock().await;
            let (receiver, unsent) = &mut *state;
            loop {
                let text = match unsent.take() {
                    Some(text) => text,
                    None => match receiver.recv().await {
                        Some(text) => text,
                        None => return "the fan-out was dropped".to_string(),
                    },
                };
                let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&text)
                    .query_async(&mut connection)
                    .await;
                match sent {
                    Ok(_) => {
                        counters.published.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        *unsent = Some(text);
                        return format!("PUBLISH failed: {error}");
                    }
                }
            }
        }
    };
    keep_connected(net, "publisher", config.reconnect, seed, dial, run)
}
