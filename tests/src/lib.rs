//! Support for the project's cross-runtime and fault tests: servers started on either runtime,
//! the demo router with a probe tool that reports when its handler starts and is cancelled, and
//! bounded waiting.
#![deny(missing_docs)]

pub mod netns;
pub mod peers;
pub mod pki;
pub mod process;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::{Either, select};
use mcp_ws_driver::core::mcp::common::Role as MessageRole;
use mcp_ws_driver::core::mcp::{
    CallToolResult, ContentBlock, CreateMessageParams, ElicitParams, LoggingLevel, SamplingContent,
    SamplingMessage, Tool,
};
use mcp_ws_driver::{ClientEvent, Network, Router, Runtime, Server, ServerConfig, ToolError};
use mcp_ws_smol::Smol;
use mcp_ws_tokio::Tokio;

/// Which async runtime a side runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rt {
    /// tokio.
    Tokio,
    /// smol.
    Smol,
}

/// Counts what the `hold` probe tool's handlers did.
#[derive(Debug, Default)]
pub struct Probe {
    /// Handlers that started.
    pub started: AtomicUsize,
    /// Handlers whose future was dropped before finishing.
    pub cancelled: AtomicUsize,
    /// Runs of the `ask_all` and `ask_twice` handlers (2026-07-28 runs them once per round).
    pub asking_runs: AtomicUsize,
}

/// Increments `cancelled` when dropped unless disarmed.
struct DropGuard(Arc<Probe>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if self.1 {
            self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The demo router plus `hold`, a tool that runs until cancelled (at most 60 s) and records its
/// start and cancellation in `probe`.
pub fn test_router<R: Runtime>(runtime: R, probe: Arc<Probe>) -> Router {
    let schema = serde_json::json!({ "type": "object" });
    let serde_json::Value::Object(input_schema) = schema else { unreachable!() };
    let hold = Tool { name: "hold".into(), input_schema, ..Default::default() };
    let ask_model =
        Tool { name: "ask_model".into(), input_schema: Default::default(), ..Default::default() };
    let ask_user =
        Tool { name: "ask_user".into(), input_schema: Default::default(), ..Default::default() };
    let log_three =
        Tool { name: "log_three".into(), input_schema: Default::default(), ..Default::default() };
    let ask_all =
        Tool { name: "ask_all".into(), input_schema: Default::default(), ..Default::default() };
    let ask_twice =
        Tool { name: "ask_twice".into(), input_schema: Default::default(), ..Default::default() };
    let all_probe = probe.clone();
    let twice_probe = probe.clone();
    mcp_ws_cli::demo::router(runtime.clone())
        .tool_def(hold, move |_: serde_json::Value, _context| {
            let probe = probe.clone();
            let runtime = runtime.clone();
            async move {
                probe.started.fetch_add(1, Ordering::SeqCst);
                let mut guard = DropGuard(probe, true);
                runtime.sleep_until(runtime.now() + Duration::from_secs(60)).await;
                guard.1 = false;
                Ok(CallToolResult::text("held"))
            }
        })
        // Sends sampling/createMessage to the client and answers with the model's text.
        .tool_def(ask_model, |_: serde_json::Value, context| async move {
            let params = two_plus_two();
            let result = context
                .create_message(&params)
                .await
                .map_err(|e| ToolError::msg(format!("sampling failed: {e}")))?;
            let text = match result.content.blocks() {
                [ContentBlock::Text(text)] => text.text.clone(),
                other => format!("{other:?}"),
            };
            Ok(CallToolResult::text(format!("{} said {text}", result.model)))
        })
        // Sends elicitation/create to the client and answers with the action and content.
        .tool_def(ask_user, |_: serde_json::Value, context| async move {
            let params = ElicitParams { message: "Your name?".into(), ..Default::default() };
            let result = context
                .elicit(&params)
                .await
                .map_err(|e| ToolError::msg(format!("elicitation failed: {e}")))?;
            let content = serde_json::to_string(&result.content).unwrap_or_default();
            Ok(CallToolResult::text(format!("{} {content}", result.action.as_str())))
        })
        // Asks for roots, a sampling and an elicitation at once (one round in 2026-07-28).
        .tool_def(ask_all, move |_: serde_json::Value, context| {
            all_probe.asking_runs.fetch_add(1, Ordering::SeqCst);
            async move {
                let sampling = two_plus_two();
                let user = ElicitParams { message: "Your name?".into(), ..Default::default() };
                let (roots, model, name) = futures_util::future::join3(
                    context.list_roots(),
                    context.create_message(&sampling),
                    context.elicit(&user),
                )
                .await;
                let (roots, model, name) = (roots?, model?, name?);
                let name = name.content.and_then(|c| c.get("name").cloned()).unwrap_or_default();
                Ok(CallToolResult::text(format!("{} {} {name}", roots.roots.len(), model.model)))
            }
        })
        // Asks a second question that depends on the first answer (two rounds in 2026-07-28).
        .tool_def(ask_twice, move |_: serde_json::Value, context| {
            twice_probe.asking_runs.fetch_add(1, Ordering::SeqCst);
            async move {
                let first = ElicitParams { message: "Your name?".into(), ..Default::default() };
                let answer = context.elicit(&first).await?;
                let name = answer
                    .content
                    .and_then(|c| c.get("name").and_then(|n| n.as_str().map(str::to_owned)))
                    .unwrap_or_default();
                let second =
                    ElicitParams { message: format!("Confirm {name}?"), ..Default::default() };
                let confirmed = context.elicit(&second).await?;
                Ok(CallToolResult::text(format!("{name}: {}", confirmed.action.as_str())))
            }
        })
        // Logs one entry at each of three levels; the connection's logging/setLevel filters them.
        .tool_def(log_three, |_: serde_json::Value, context| async move {
            for (level, text) in [
                (LoggingLevel::Debug, "debug entry"),
                (LoggingLevel::Info, "info entry"),
                (LoggingLevel::Warning, "warning entry"),
            ] {
                context
                    .log(level, Some("tests"), serde_json::json!(text))
                    .await
                    .map_err(|e| ToolError::msg(e.to_string()))?;
            }
            Ok(CallToolResult::text("logged"))
        })
}

/// The server configuration tests use: the demo identity, defaults otherwise.
pub fn server_config() -> ServerConfig {
    ServerConfig::new(mcp_ws_cli::demo::implementation())
}

/// A server started on one runtime for a test.
pub struct TestServer {
    /// The `ws://` URL of its endpoint.
    pub url: String,
    /// Its bound address.
    pub addr: SocketAddr,
    /// What its probe tool recorded.
    pub probe: Arc<Probe>,
    host: Host,
}

enum Host {
    Tokio { server: Server<Tokio>, runtime: tokio::runtime::Runtime },
    Smol { server: Server<Smol> },
}

impl TestServer {
    /// Starts the test router on `rt`, on a free loopback port, with `config`.
    pub fn start(rt: Rt, config: ServerConfig) -> TestServer {
        Self::start_at(rt, config, "127.0.0.1:0".parse().expect("address"))
    }

    /// Starts the test router on `rt` at `addr`.
    pub fn start_at(rt: Rt, config: ServerConfig, addr: SocketAddr) -> TestServer {
        Self::start_with(rt, config, addr, |router| router, None)
    }

    /// Starts the test router, changed by `customize` (a page size, more tools), on `rt` at
    /// `addr`, fanning change notifications out with `fanout` (a node of a
    /// [`mcp_ws_driver::LocalBus`], say) when given.
    pub fn start_with(
        rt: Rt,
        config: ServerConfig,
        addr: SocketAddr,
        customize: fn(Router) -> Router,
        fanout: Option<Arc<dyn mcp_ws_driver::Fanout>>,
    ) -> TestServer {
        fn with<N: Network>(
            server: Server<N>,
            fanout: &Option<Arc<dyn mcp_ws_driver::Fanout>>,
        ) -> Server<N> {
            match fanout.clone() {
                Some(fanout) => server.with_fanout(fanout),
                None => server,
            }
        }
        let probe = Arc::new(Probe::default());
        match rt {
            Rt::Tokio => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                let (server, url, addr) = runtime.block_on(async {
                    let net = Tokio::new();
                    let server = Server::new(
                        net.clone(),
                        customize(test_router(net, probe.clone())),
                        config,
                    );
                    let server = with(server, &fanout);
                    let listening = server.listen(addr).await.expect("bind");
                    let (url, addr) = (listening.url(), listening.local_addr());
                    tokio::spawn(listening.run());
                    (server, url, addr)
                });
                TestServer { url, addr, probe, host: Host::Tokio { server, runtime } }
            }
            Rt::Smol => {
                let net = Smol::new();
                let server =
                    Server::new(net.clone(), customize(test_router(net, probe.clone())), config);
                let server = with(server, &fanout);
                let listening = smol::block_on(server.listen(addr)).expect("bind");
                let (url, addr) = (listening.url(), listening.local_addr());
                smol::spawn(listening.run()).detach();
                TestServer { url, addr, probe, host: Host::Smol { server } }
            }
        }
    }

    /// Sends `method` (no params) to every connected client; returns how many accepted it.
    /// (The handles' futures are runtime-neutral, so this can be awaited on the client's
    /// runtime.)
    pub async fn notify_all(&self, method: &str) -> usize {
        let mut sent = 0;
        for connection in self.connections() {
            if connection.notify(method, None).await.is_ok() {
                sent += 1;
            }
        }
        sent
    }

    /// The server's publisher of change notifications.
    pub fn notifier(&self) -> mcp_ws_driver::Notifier {
        match &self.host {
            Host::Tokio { server, .. } => server.notifier(),
            Host::Smol { server } => server.notifier(),
        }
    }

    /// Handles to the server's connections.
    pub fn connections(&self) -> Vec<mcp_ws_driver::ConnectionHandle> {
        match &self.host {
            Host::Tokio { server, .. } => server.connections(),
            Host::Smol { server } => server.connections(),
        }
    }

    /// What each ready connection's client said about itself.
    pub fn peers(&self) -> Vec<mcp_ws_driver::core::session::ReadyInfo> {
        match &self.host {
            Host::Tokio { server, .. } => server.peers(),
            Host::Smol { server } => server.peers(),
        }
    }

    /// Shuts the server down gracefully (1001 to every client) and stops its runtime.
    pub fn shutdown(self) {
        match self.host {
            Host::Tokio { server, runtime } => {
                runtime.block_on(server.shutdown());
                runtime.shutdown_timeout(Duration::from_secs(1));
            }
            Host::Smol { server } => smol::block_on(server.shutdown()),
        }
    }

    /// Kills the server abruptly: its tokio runtime is dropped with every task and socket, as
    /// when a process dies. Only for tokio-hosted servers. It returns once the runtime's
    /// threads have stopped, so the listening socket is closed and the address can be bound
    /// again (a background shutdown left it open for a moment: "address in use" under load).
    pub fn kill(self) {
        match self.host {
            Host::Tokio { runtime, .. } => runtime.shutdown_timeout(Duration::from_secs(2)),
            Host::Smol { .. } => panic!("kill is only supported for tokio-hosted servers"),
        }
    }
}

/// Runs `future` to completion on `rt` (a fresh current-thread tokio runtime, or
/// `smol::block_on`).
pub fn block_on<F: Future>(rt: Rt, future: F) -> F::Output {
    match rt {
        Rt::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(future),
        Rt::Smol => smol::block_on(future),
    }
}

/// Awaits `future` for at most `limit` on `net`'s clock; `None` if it did not finish.
pub async fn within<N: Network, F: Future>(
    net: &N,
    limit: Duration,
    future: F,
) -> Option<F::Output> {
    let deadline = net.now() + limit;
    match select(Box::pin(future), Box::pin(net.sleep_until(deadline))).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// Polls `condition` every 10 ms on `net`'s clock until it holds or `limit` passes.
pub async fn eventually<N: Network>(
    net: &N,
    limit: Duration,
    condition: impl Fn() -> bool,
) -> bool {
    let deadline = net.now() + limit;
    while net.now() < deadline {
        if condition() {
            return true;
        }
        net.sleep_until(net.now() + Duration::from_millis(10)).await;
    }
    condition()
}

/// The first event on `events` that `pick` maps to a value, within `limit` on `net`'s clock;
/// `None` if the limit passes or the stream ends first.
pub async fn next_event<N: Network, T>(
    net: &N,
    limit: Duration,
    events: &mut (impl futures_util::Stream<Item = ClientEvent> + Unpin),
    mut pick: impl FnMut(ClientEvent) -> Option<T>,
) -> Option<T> {
    let search = async {
        while let Some(event) = futures_util::StreamExt::next(events).await {
            if let Some(found) = pick(event) {
                return Some(found);
            }
        }
        None
    };
    within(net, limit, search).await.flatten()
}

/// The sampling request the test router's tools send: a model asked "2+2?".
fn two_plus_two() -> CreateMessageParams {
    CreateMessageParams {
        messages: vec![SamplingMessage {
            role: MessageRole::User,
            content: SamplingContent::Single(ContentBlock::text("2+2?")),
            meta: None,
            extra: Default::default(),
        }],
        max_tokens: 10,
        ..Default::default()
    }
}

/// A multi-threaded tokio runtime with `workers` worker threads and every driver enabled, for
/// tests that run clients and servers side by side in one process.
pub fn multi_thread_runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
