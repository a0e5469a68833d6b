//! The MCP server: accept WebSocket connections, run one core session per connection, and answer
//! requests from a [`Router`].
//!
//! - [`Server::listen`] binds a TCP listener; [`Listening::run`] accepts until shutdown.
//! - [`Server::serve_tcp`] serves one already accepted TCP stream (upgrade included), and
//!   [`Server::serve_websocket`] one already upgraded WebSocket: the two ways to mount the
//!   endpoint inside an existing HTTP server.
//! - [`Server::shutdown`] drains: upgrades get 503 with `Retry-After` (the listener stays open
//!   meanwhile, so a proxy sees a clean refusal), in-flight handlers finish up to a deadline,
//!   then every session closes with 1001, what is left is cancelled, and the listener stops.
//!
//! What the server counts goes to the [`metrics`] facade.
//!
//! What answers a session is [`ServerConfig::backend`]: the [`Router`], or the [`gateway`]
//! relaying it to an upstream MCP server or to a child process running a [`stdio`] server.
//!
//! - [`Server::notify_resource_updated`] and [`Server::notify_list_changed`] (or a
//!   [`Notifier`], which handlers reach through their context) tell every subscribed session
//!   of a change, on this node at once and on the other nodes through the [`fanout::Fanout`]
//!   set with [`Server::with_fanout`]; see [`subscriptions`] for who gets what.
//!
//! Each connection is one task: the one that accepted it (or the caller's, for
//! [`Server::serve_tcp`] and [`Server::serve_websocket`]) runs the handshake and then the driver
//! loop, and the loop runs the request handlers itself (see [`crate::tasks`]; a handler that
//! blocks the CPU must offload its work). A request the client cancels, or whose connection
//! drops, has its future dropped and its answer is never sent.

pub mod accept;
pub mod auth;
pub mod drain;
pub mod fanout;
pub mod gateway;
pub mod handshake;
mod http;
mod http_stateless;
pub mod limits;
pub mod message_pipe;
pub mod proxy;
pub mod router;
pub mod stdio;
pub mod subscriptions;
pub mod typed;
pub mod upgrade;
pub mod uri_template;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::Message as WsMessage;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use futures_channel::oneshot;
use futures_util::SinkExt;
use futures_util::future::{Either, FutureExt, Shared, select};
use futures_util::io::{AsyncRead, AsyncWrite};
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mrtr::{InputRound, StateError, StateKey};
use mcp_ws_core::session::{Event, PeerDescription, ReadyInfo, Role, Session, SessionConfig};
use mcp_ws_core::streamable::{NodeId, SessionLimits};
use mcp_ws_core::{CloseCode, CloseReason, Era};

pub use http::HttpBody;
pub use router::{Router, Structured, ToolError, ToolOutput};

use crate::connection::{EventSink, connection};
use crate::handle::ConnectionHandle;
use crate::handler::{HandlerResult, to_result};
use crate::metrics::{self, ActiveConnection, ConnectionMetrics, RequestMetrics};
use crate::runtime::{BoxFuture, Network};
use crate::tasks::HandlerTasks;
use crate::tls::ServerTls;
use crate::ws_config::websocket_config;
use crate::ws_io::WebSocketIo;
use accept::{ConnectionAddrs, HandshakeConfig};
use auth::{AuthCheck, Principal};
use drain::Drain;
use fanout::{Fanout, LocalBus};
use handshake::{HandshakeRules, HostPolicy, OriginPolicy, PlainHttp};
use limits::{AcceptBackoff, Admission, ConnectionGate, ConnectionLimits};
use proxy::TrustedProxies;
use subscriptions::{ChangeEvent, ListKind, SubscriptionLimits, Subscriptions};

/// The configuration of a [`Server`]: [`ServerConfig::new`] with the name and version the
/// server reports, then the fields to change (the struct is `#[non_exhaustive]`, so start
/// from `new`).
///
/// ```
/// use std::time::Duration;
/// use mcp_ws_driver::core::mcp::Implementation;
/// use mcp_ws_driver::{AuthCheck, OriginPolicy, ServerConfig, StaticToken};
///
/// let mut config = ServerConfig::new(Implementation::new("notes", "1.4.0"));
/// config.path = "/notes/mcp".into();
/// config.auth = Some(AuthCheck::new(StaticToken::new("s3cret")));
/// config.origins = OriginPolicy::List(vec!["https://app.example.com".into()]);
/// config.shutdown_grace = Duration::from_secs(20);
/// config.session.limits.max_message_bytes = 1 << 20;
/// // mcp_ws_tokio::server(router, config).listen(addr).await?.run().await
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The core session settings (server role). When its capabilities are left empty, the
    /// router's are declared.
    pub session: SessionConfig,
    /// The HTTP path of the endpoint; other paths get 404.
    pub path: String,
    /// The longest a client may take to complete the WebSocket upgrade.
    pub handshake_timeout: Duration,
    /// How long [`Server::shutdown`] waits for in-flight handlers.
    pub shutdown_grace: Duration,
    /// TLS (`wss://`); `None` serves plain `ws://`.
    pub tls: Option<ServerTls>,
    /// The browser origins allowed (see [`OriginPolicy`]; a refused one gets 403).
    pub origins: OriginPolicy,
    /// The `Host` values allowed (see [`HostPolicy`]; a refused one gets 403).
    pub hosts: HostPolicy,
    /// Who may connect; `None` lets everyone in. [`auth::StaticToken`] is a bearer token.
    pub auth: Option<AuthCheck>,
    /// The largest HTTP request head accepted (431 beyond).
    pub max_head_bytes: usize,
    /// How many connections are held at once; beyond, 503 with `Retry-After`.
    pub limits: ConnectionLimits,
    /// Answers plain HTTP GETs on the same listener (a page, a probe), after the `Host` and
    /// `Origin` checks; `None` answers them 404 or 426. See [`handshake::PlainHttp`].
    pub plain_http: Option<PlainHttp>,
    /// The key that seals the `requestState` of `input_required` round trips (2026-07-28; see
    /// [`crate::peer_calls`]). Random per process by default; nodes behind one load balancer
    /// must share one ([`ServerConfig::with_state_secret`]) so any of them can verify a state
    /// another made.
    pub state_key: StateKey,
    /// How long a client may take to answer an `input_required` round (the sealed state
    /// expires after it; a later retry gets -32602 and must start over).
    pub input_state_ttl: Duration,
    /// How much each session may subscribe to (resource URIs, open listens).
    pub subscriptions: SubscriptionLimits,
    /// The draining flag [`Server::shutdown`] sets. `None` (the default): each server makes
    /// its own. Set it to share the flag with whatever reports the server's health (a
    /// `/healthz` in [`Self::plain_http`]); the server then stores it here, so a config taken
    /// from [`Server::config`] or given a flag carries it to every server built from it.
    pub drain: Option<Drain>,
    /// The reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Host` are believed (for the
    /// per-address cap, the logs and the `Host` check); none by default.
    pub proxies: TrustedProxies,
    /// How often a long-lived 2026-07-28 response stream (a `subscriptions/listen`, or a
    /// request whose answer is slow to come) gets a keep-alive comment line, so proxies keep
    /// it open and a client that went away is noticed. Default 15 s.
    pub sse_keep_alive: Duration,
    /// The legacy-era Streamable HTTP sessions: how many may be open at once (beyond, an
    /// `initialize` gets 503), how long one may sit idle (no request, no stream open) before
    /// it is ended, and how many SSE events each keeps for `Last-Event-ID`. Each session also
    /// holds a place under [`ServerConfig::limits`] while it lives.
    pub http_sessions: SessionLimits,
    /// This node's name, put in front of every legacy-era Streamable HTTP session id it mints
    /// (`<node>.<32 hex digits>`), so a load balancer in front of several nodes can send each
    /// request of a session to the node that holds it (a `map` on `$http_mcp_session_id` in
    /// nginx; see the README's "Running several nodes"). `None` (the default): bare ids.
    pub node_id: Option<NodeId>,
    /// What answers each accepted session: the router (the default), a gateway relaying it
    /// to an upstream MCP server ([`gateway::SessionBackend::Gateway`]), or a child process of
    /// a stdio MCP server of its own ([`gateway::SessionBackend::Stdio`]). Everything before that
    /// (admission, caps, the checks, drain, metrics) is the same for both.
    pub backend: gateway::SessionBackend,
}

/// The default [`ServerConfig::sse_keep_alive`].
pub const DEFAULT_SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The default [`ServerConfig::input_state_ttl`]: long enough for a person to answer an
/// elicitation.
pub const DEFAULT_INPUT_STATE_TTL: Duration = Duration::from_secs(30 * 60);

/// A random 32-byte state key from the operating system's generator.
fn random_state_key() -> StateKey {
    use ring::rand::SecureRandom;
    let mut secret = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut secret).expect("the system random generator works");
    StateKey::new(&secret).expect("32 bytes make a key")
}

impl ServerConfig {
    /// Defaults: both eras, path `/mcp`, 10 s upgrade timeout, 5 s shutdown grace, no TLS,
    /// no authentication, the loopback defaults of [`OriginPolicy`] and [`HostPolicy`], request
    /// heads up to 16 KiB.
    pub fn new(info: Implementation) -> Self {
        ServerConfig {
            session: SessionConfig::server(info),
            path: "/mcp".to_string(),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            tls: None,
            origins: OriginPolicy::Default,
            hosts: HostPolicy::Default,
            auth: None,
            max_head_bytes: 16 * 1024,
            limits: ConnectionLimits::default(),
            plain_http: None,
            state_key: random_state_key(),
            input_state_ttl: DEFAULT_INPUT_STATE_TTL,
            subscriptions: SubscriptionLimits::default(),
            drain: None,
            proxies: TrustedProxies::none(),
            sse_keep_alive: DEFAULT_SSE_KEEP_ALIVE,
            http_sessions: SessionLimits::default(),
            node_id: None,
            backend: gateway::SessionBackend::Router,
        }
    }

    /// This configuration with at most `max` legacy-era Streamable HTTP sessions open at once,
    /// each ended after `idle` without a request or an open stream (see
    /// [`ServerConfig::http_sessions`]).
    pub fn with_http_sessions(mut self, max: usize, idle: Duration) -> Self {
        self.http_sessions.max_sessions = max;
        self.http_sessions.idle_timeout = idle;
        self
    }

    /// Seals request states with a key made from `secret` (at least 16 bytes), shared by every
    /// node that serves the same clients.
    pub fn with_state_secret(mut self, secret: &[u8]) -> Result<Self, StateError> {
        self.state_key = StateKey::new(secret)?;
        Ok(self)
    }

    /// What the handshake of every connection is checked against.
    pub fn handshake_config(&self) -> HandshakeConfig {
        HandshakeConfig {
            rules: HandshakeRules {
                path: self.path.clone(),
                versions: self.session.versions.clone(),
                origins: self.origins.clone(),
                hosts: self.hosts.clone(),
                auth: self.auth.clone(),
                plain: self.plain_http.clone(),
                drain: self.drain.clone().unwrap_or_default(),
                proxies: self.proxies.clone(),
            },
            tls: self.tls.clone(),
            timeout: self.handshake_timeout,
            max_head_bytes: self.max_head_bytes,
            websocket: websocket_config(self.session.limits.max_message_bytes),
        }
    }
}

/// One live connection, as the server tracks it.
struct Tracked {
    handle: ConnectionHandle,
    subscriptions: Arc<Mutex<Subscriptions>>,
    peer: Arc<Mutex<Option<ReadyInfo>>>,
    /// Counts it in the active-connections gauge while it is tracked, so the gauge and
    /// [`Server::connections`] agree.
    _active: ActiveConnection,
}

struct ServerState {
    /// Carries this node's change events to the other nodes.
    fanout: Mutex<Arc<dyn Fanout>>,
    /// Change notifications dropped because a connection had too many waiting.
    dropped_notifications: AtomicU64,
    connections: Mutex<HashMap<u64, Tracked>>,
    /// Woken (and emptied) when the last tracked connection is untracked: a shutdown waits on
    /// it instead of polling.
    all_ended: Mutex<Vec<oneshot::Sender<()>>>,
    next_connection: AtomicU64,
    draining: Drain,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    stopped: Shared<oneshot::Receiver<()>>,
    /// The Streamable HTTP sessions.
    http: http::HttpState,
}

/// A server: a router, a configuration and the connections it serves. Cheap to clone.
///
/// Generic over the runtime's [`Network`]; `mcp_ws_tokio::server` and `mcp_ws_smol::server`
/// build one for their runtime.
///
/// ```no_run
/// use mcp_ws_driver::core::mcp::Implementation;
/// use mcp_ws_driver::{Network, Router, Server, ServerConfig};
///
/// async fn serve<N: Network>(net: N) -> std::io::Result<()> {
///     let router = Router::new().tool("hello", "Says hello", |who: String, _ctx| async move {
///         Ok(format!("hello, {who}"))
///     });
///     let mut config = ServerConfig::new(Implementation::new("greeter", "1.0"));
///     config.path = "/mcp".into();
///     let listening = Server::new(net, router, config).listen(([127, 0, 0, 1], 8765).into()).await?;
///     println!("serving {}", listening.url());
///     listening.run().await; // until `Server::shutdown`
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Server<N: Network> {
    net: N,
    router: Arc<Router>,
    config: Arc<ServerConfig>,
    handshake: Arc<HandshakeConfig>,
    gate: ConnectionGate,
    state: Arc<ServerState>,
}

/// A bound listener; [`Listening::run`] accepts connections on it.
pub struct Listening<N: Network> {
    server: Server<N>,
    listener: N::Listener,
    local_addr: SocketAddr,
}

impl<N: Network> Server<N> {
    /// A server answering from `router` on runtime `net`.
    pub fn new(net: N, router: Router, mut config: ServerConfig) -> Self {
        if let Role::Server { capabilities, .. } = &mut config.session.role {
            if *capabilities == Default::default() {
                *capabilities = router.capabilities();
            }
        }
        let (stop, stopped) = oneshot::channel();
        let draining = config.drain.get_or_insert_with(Drain::new).clone();
        let http = http::HttpState::new(config.http_sessions, config.node_id.clone());
        Server {
            net,
            router: Arc::new(router),
            handshake: Arc::new(config.handshake_config()),
            gate: ConnectionGate::new(config.limits.clone()),
            config: Arc::new(config),
            state: Arc::new(ServerState {
                fanout: Mutex::new(Arc::new(LocalBus::new().node())),
                dropped_notifications: AtomicU64::new(0),
                connections: Mutex::new(HashMap::new()),
                all_ended: Mutex::new(Vec::new()),
                next_connection: AtomicU64::new(1),
                draining,
                stop: Mutex::new(Some(stop)),
                stopped: stopped.shared(),
                http,
            }),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Binds `addr` (port 0 picks a free port).
    pub async fn listen(&self, addr: SocketAddr) -> io::Result<Listening<N>> {
        self.config
            .session
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let listener = self.net.bind(addr).await?;
        self.listen_on(listener)
    }

    /// Serves on a listener bound beforehand (with the runtime's [`Network::bind`]), for a
    /// configuration that depends on the bound address: a port picked by the system that the
    /// allowed origins must name, say.
    pub fn listen_on(&self, listener: N::Listener) -> io::Result<Listening<N>> {
        self.config
            .session
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let local_addr = self.net.local_addr(&listener)?;
        Ok(Listening { server: self.clone(), listener, local_addr })
    }

    /// Serves one accepted TCP stream: performs the handshake (TLS when configured, the checks
    /// of [`handshake`], the upgrade), then runs the session until it ends. Errors only if the
    /// handshake fails. Without addresses the loopback defaults of the Origin and Host checks
    /// do not apply (browser origins need an allowlist); see [`Server::serve_connection`].
    pub async fn serve_tcp<S>(&self, stream: S) -> Result<(), accept::AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_connection(stream, ConnectionAddrs::default()).await
    }

    /// [`Server::serve_tcp`] for a stream whose peer and local addresses are known.
    pub async fn serve_connection<S>(
        &self,
        stream: S,
        addrs: ConnectionAddrs,
    ) -> Result<(), accept::AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // The permit is held until the session ends. A trusted proxy's connections are keyed
        // on the client behind it once its head is read.
        let mut permit = match self.admit(addrs.peer) {
            Admission::Admitted(permit) => permit,
            Admission::Refuse(refusing) => {
                let refusal = refusing.refusal();
                let error = accept::refuse_with(&self.net, stream, addrs, &self.handshake, refusal);
                return Err(error.await);
            }
            Admission::Drop(busy) => return Err(accept::AcceptError::Dropped(busy)),
        };
        // The handshake's and the HTTP server's futures are boxed: this future lives as long
        // as the connection, and held inline they would size every idle WebSocket session's
        // task by the largest of them (hyper's connection state), about 1 KiB more each.
        let serving = {
            let opened = Box::pin(accept::accept_either(
                &self.net,
                stream,
                addrs,
                &self.handshake,
                Some(&mut permit),
            ))
            .await;
            let accepted = match opened {
                Ok(accept::Opened::WebSocket(accepted)) => *accepted,
                Ok(accept::Opened::Http(transport)) => {
                    metrics::count_connection_on(metrics::HTTP, "http");
                    Box::pin(http::serve(self.clone(), transport, addrs)).await;
                    drop(permit);
                    return Ok(());
                }
                Err(error) => {
                    metrics::count_connection(metrics::accept_outcome(&error));
                    return Err(error);
                }
            };
            metrics::count_connection("accepted");
            // The request head and the rest are dropped here, not held for the session's life.
            self.serve_session(accepted.ws, accepted.principal)
        };
        serving.await;
        drop(permit);
        Ok(())
    }

    /// Takes a place under this server's connection caps ([`ServerConfig::limits`]) for a
    /// connection from `peer`: the admission every entry point passes. An embedding server
    /// calls it before answering an upgrade, answers [`Admission::Refuse`] with its refusal
    /// (503 with `Retry-After`), and hands the [`limits::Permit`] to
    /// [`Server::serve_websocket_permitted`], which holds it until the session ends. A trusted
    /// proxy's own address is not counted per address.
    pub fn admit(&self, peer: Option<SocketAddr>) -> Admission {
        self.admit_on(metrics::WEBSOCKET, peer)
    }

    /// [`Server::admit`] for a connection of `transport` (its label in the metrics).
    pub(crate) fn admit_on(&self, transport: &'static str, peer: Option<SocketAddr>) -> Admission {
        let proxies = &self.handshake.rules.proxies;
        let key = peer.map(|peer| peer.ip()).filter(|ip| !proxies.trusts(*ip));
        let admission = self.gate.admit(key);
        match &admission {
            Admission::Admitted(_) => {}
            Admission::Refuse(refusing) => {
                metrics::count_connection_on(transport, metrics::busy_outcome(refusing.busy()))
            }
            Admission::Drop(_) => metrics::count_connection_on(transport, "dropped"),
        }
        admission
    }

    /// Serves one already upgraded WebSocket admitted with [`Server::admit`], whose upgrade
    /// request was checked with [`handshake::decide`] (Origin, Host, the authenticator):
    /// its handlers see the principal the authenticator let in. The permit is held until the
    /// session ends. This is what the axum handler does.
    pub async fn serve_websocket_permitted<S>(
        &self,
        ws: WebSocketStream<S>,
        principal: Option<Principal>,
        permit: limits::Permit,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_session(ws, principal).await;
        drop(permit);
    }

    /// Serves one already upgraded WebSocket until its session ends, **without the Origin,
    /// Host and authentication checks** (the request head is gone: your HTTP server upgraded
    /// it, and it alone can have checked them; call [`handshake::decide`] on the head first, or
    /// use [`Server::admit`] with [`Server::serve_websocket_permitted`]). It does pass the
    /// connection caps: over them, the WebSocket is closed with 1013 (try again later).
    pub async fn serve_websocket<S>(&self, ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_websocket_as(ws, None).await;
    }

    /// [`Server::serve_websocket`] with the principal your own checks let in: **no Origin,
    /// Host or authentication check** is made here either; the connection caps apply.
    pub async fn serve_websocket_as<S>(&self, ws: WebSocketStream<S>, principal: Option<Principal>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match self.admit(None) {
            Admission::Admitted(permit) => {
                self.serve_websocket_permitted(ws, principal, permit).await
            }
            Admission::Refuse(refusing) => close_busy(ws, &refusing.busy().to_string()).await,
            Admission::Drop(busy) => close_busy(ws, &busy.to_string()).await,
        }
    }

    /// Serves one session whose messages travel through an in-memory
    /// [`message_pipe`](message_pipe::MessagePipe) instead of a socket (what a Streamable HTTP
    /// session is): the same core session, connection loop, router and caps as a WebSocket
    /// connection, until the pipe's sender is dropped or the server drains. **No Origin, Host
    /// or authentication check** is made here: the caller made them on its request.
    pub async fn serve_messages(
        &self,
        pipe: message_pipe::LoopEnd,
        principal: Option<Principal>,
        permit: limits::Permit,
    ) {
        self.serve_session(pipe, principal).await;
        drop(permit);
    }

    /// The future that serves one upgraded WebSocket: built here, synchronously, so the task's
    /// future holds only what the loop needs (one allocation the size of the loop's state) and
    /// not also the locals that built it.
    fn serve_session<S>(
        &self,
        ws: S,
        principal: Option<Principal>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>
    where
        S: WebSocketIo + Send + 'static,
    {
        match &self.config.backend {
            gateway::SessionBackend::Gateway(upstream) => {
                return self.gateway_session(ws, gateway::Target::Remote(upstream.clone()));
            }
            gateway::SessionBackend::Stdio(server) => {
                return self.gateway_session(ws, gateway::Target::Stdio(server.clone()));
            }
            gateway::SessionBackend::Router => {}
        }
        let session = match Session::new(self.config.session.clone(), self.net.now()) {
            Ok(session) => session,
            Err(error) => {
                // A misconfigured server tells each client why instead of dropping it silently.
                let mut ws = ws;
                let frame = CloseFrame {
                    code: WsCloseCode::from(CloseCode::INTERNAL_ERROR.0),
                    reason: CloseReason::new(CloseCode::INTERNAL_ERROR, error.to_string())
                        .reason
                        .to_string()
                        .into(),
                };
                return Box::pin(async move {
                    let _ = ws.send(WsMessage::Close(Some(frame))).await;
                });
            }
        };
        let id = self.state.next_connection.fetch_add(1, Ordering::Relaxed);
        let transport = transport_label::<S>();
        let subscriptions = Arc::new(Mutex::new(Subscriptions::new(self.config.subscriptions)));
        let peer = Arc::new(Mutex::new(None));
        let sink = ServerSink {
            config: self.config.clone(),
            net: self.net.clone(),
            router: self.router.clone(),
            tasks: HandlerTasks::default(),
            listens: HandlerTasks::default(),
            subscriptions: subscriptions.clone(),
            state: self.state.clone(),
            peer: peer.clone(),
            principal,
            requests: RequestMetrics::default(),
        };
        // The driver runs in the task that awaits this future (the one that accepted the
        // connection): one task per connection. It is untracked once its session has ended
        // (before the close handshake).
        let state = self.state.clone();
        let counters = ConnectionMetrics::registered();
        let (handle, driver) =
            connection(self.net.clone(), ws, session, sink, counters, move |_end| {
                state.untrack(id);
            });
        // Registered and checked under one lock, which `shutdown` also takes after setting
        // `draining`: either shutdown sees this connection or this sees the draining flag.
        let draining = {
            let mut connections = self.state.connections.lock().expect("lock");
            let tracked = Tracked {
                handle: handle.clone(),
                subscriptions,
                peer,
                _active: ActiveConnection::open(transport),
            };
            connections.insert(id, tracked);
            self.state.draining.is_draining()
        };
        if draining {
            // Nothing can be in progress yet: the loop closes it drained at once.
            handle.drain(self.net.now() + self.config.shutdown_grace);
        }
        // Untracked too if the caller drops this future before the session ends.
        let untrack = Untrack { state: self.state.clone(), id };
        // A combinator, not an `async move` block: a block would keep `driver` twice in its
        // state (once as the captured value, once as the future it awaits), doubling what each
        // idle connection holds.
        Box::pin(driver.map(move |()| drop(untrack)))
    }

    /// The future that relays one accepted session to `target` (the gateway and stdio
    /// backends), tracked like a router session: counted, drained by [`Server::shutdown`],
    /// untracked when it ends.
    fn gateway_session<S>(
        &self,
        ws: S,
        target: gateway::Target,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>
    where
        S: WebSocketIo + Send + 'static,
    {
        let id = self.state.next_connection.fetch_add(1, Ordering::Relaxed);
        let (commands, receiver) = futures_channel::mpsc::unbounded();
        let handle = ConnectionHandle::new(commands);
        let draining = {
            let mut connections = self.state.connections.lock().expect("lock");
            let tracked = Tracked {
                handle: handle.clone(),
                subscriptions: Arc::new(Mutex::new(Subscriptions::new(self.config.subscriptions))),
                peer: Arc::new(Mutex::new(None)),
                _active: ActiveConnection::open(transport_label::<S>()),
            };
            connections.insert(id, tracked);
            self.state.draining.is_draining()
        };
        if draining {
            handle.drain(self.net.now() + self.config.shutdown_grace);
        }
        let untrack = Untrack { state: self.state.clone(), id };
        let session = Arc::new(self.config.session.clone());
        let counters = ConnectionMetrics::registered();
        let relay = gateway::relay(self.net.clone(), ws, target, session, receiver, counters);
        Box::pin(relay.map(move |()| drop(untrack)))
    }

    /// Handles to every live connection (to send notifications to all clients, say).
    pub fn connections(&self) -> Vec<ConnectionHandle> {
        self.state.connections.lock().expect("lock").values().map(|c| c.handle.clone()).collect()
    }

    /// What each ready connection's client said about itself.
    pub fn peers(&self) -> Vec<ReadyInfo> {
        let connections = self.state.connections.lock().expect("lock");
        connections.values().filter_map(|c| c.peer.lock().expect("lock").clone()).collect()
    }

    /// Whether [`Server::shutdown`] has begun.
    pub fn is_draining(&self) -> bool {
        self.state.draining.is_draining()
    }

    /// Shuts down: starts draining (upgrades get 503 with `Retry-After`, new requests on open
    /// connections an error, plain GETs their usual answer: a health check can report it),
    /// and asks every connection's loop to drain: each closes with 1001 as soon as none of its
    /// client's requests is in progress (the drained close: what the client still has in flight
    /// was not processed), or when `shutdown_grace` runs out, cancelling the handlers still
    /// running. Then it waits (within the same grace again, for the close handshakes) for the
    /// connections to end, and only then stops every listener accepting.
    pub async fn shutdown(&self) {
        {
            let _registering = self.state.connections.lock().expect("lock");
            self.state.draining.start();
        }
        let grace = self.config.shutdown_grace;
        let deadline = self.net.now() + grace;
        let all_ended = {
            let connections = self.state.connections.lock().expect("lock");
            for connection in connections.values() {
                connection.handle.drain(deadline);
            }
            let (sender, receiver) = oneshot::channel();
            match connections.is_empty() {
                true => None,
                false => {
                    self.state.all_ended.lock().expect("lock").push(sender);
                    Some(receiver)
                }
            }
        };
        if let Some(all_ended) = all_ended {
            let give_up = self.net.sleep_until(deadline + grace);
            let _ = select(all_ended, Box::pin(give_up)).await;
        }
        if let Some(stop) = self.state.stop.lock().expect("lock").take() {
            let _ = stop.send(());
        }
    }

    /// The publisher of this server's change notifications (for code that has no
    /// [`RequestContext`](crate::RequestContext) at hand; handlers have
    /// [`RequestContext::notifier`](crate::RequestContext::notifier)).
    pub fn notifier(&self) -> Notifier {
        Notifier { state: self.state.clone() }
    }

    /// Tells every session subscribed to `uri`, on every node, that it changed.
    pub fn notify_resource_updated(&self, uri: impl Into<String>) {
        self.notifier().notify_resource_updated(uri);
    }

    /// Tells every session following the `list`, on every node, that it changed.
    pub fn notify_list_changed(&self, list: ListKind) {
        self.notifier().notify_list_changed(list);
    }

    /// Carries this server's change events to other nodes with `fanout` (instead of its own
    /// in-process [`LocalBus`] node, which reaches no other server), and delivers theirs here.
    /// Set it before serving.
    pub fn with_fanout(self, fanout: Arc<dyn Fanout>) -> Self {
        let state = Arc::downgrade(&self.state);
        fanout.attach(Arc::new(move |event| {
            if let Some(state) = state.upgrade() {
                state.deliver(&event);
            }
        }));
        *self.state.fanout.lock().expect("lock") = fanout;
        self
    }
}

impl<N: Network> Listening<N> {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to: `wss://` with TLS, `ws://` without.
    pub fn url(&self) -> String {
        let scheme = if self.server.config.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.local_addr, self.server.config.path)
    }

    /// The server this listener feeds (for shutdown and connection handles).
    pub fn server(&self) -> &Server<N> {
        &self.server
    }

    /// Accepts connections until [`Server::shutdown`] has closed the sessions (while it drains,
    /// upgrades are answered 503); each is served on its own task.
    pub async fn run(self) {
        let Listening { server, listener, local_addr } = self;
        let mut stopped = server.state.stopped.clone();
        let mut backoff = AcceptBackoff::default();
        loop {
            let accepted = match select(server.net.accept(&listener), &mut stopped).await {
                Either::Left((accepted, _)) => accepted,
                Either::Right(_) => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff.succeeded();
                    let server = server.clone();
                    let addrs = ConnectionAddrs { peer: Some(peer), local: Some(local_addr) };
                    server.net.clone().spawn(async move {
                        let _ = server.serve_connection(stream, addrs).await;
                    });
                }
                Err(error) => {
                    // Out of descriptors and similar: back off rather than spin.
                    let wait = backoff.failed(&error);
                    let net = &server.net;
                    net.sleep_until(net.now() + wait).await;
                }
            }
        }
    }
}

/// Closes an upgraded WebSocket the server has no place for: 1013 (try again later).
async fn close_busy<S>(mut ws: WebSocketStream<S>, why: &str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let reason = CloseReason::new(CloseCode(1013), why.to_string());
    let frame =
        CloseFrame { code: WsCloseCode::from(1013), reason: reason.reason.to_string().into() };
    let _ = ws.close(Some(frame)).await;
}

/// The wall clock in Unix seconds (request states expire on it, across nodes).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Runs a 2026-07-28 handler to its end, then answers `input_required` if it asked the client
/// for something it did not get (whatever the handler returned), else with its own answer.
async fn end_input_round(
    answer: BoxFuture<'static, HandlerResult>,
    round: Arc<Mutex<InputRound>>,
    config: Arc<ServerConfig>,
) -> HandlerResult {
    let answer = answer.await;
    let round = {
        let round = round.lock().expect("lock");
        if !round.is_missing_input() {
            return answer;
        }
        round.clone()
    };
    let expires = unix_now().saturating_add(config.input_state_ttl.as_secs().max(1));
    match round.finish(&config.state_key, expires)? {
        Some(input_required) => to_result(&input_required),
        None => answer,
    }
}

/// Publishes a server's change notifications: to its own subscribed sessions at once, and to
/// the other nodes' through its [`fanout::Fanout`]. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    state: Arc<ServerState>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

impl Notifier {
    /// Tells every session subscribed to `uri`, on every node, that it changed
    /// (`notifications/resources/updated`).
    pub fn notify_resource_updated(&self, uri: impl Into<String>) {
        self.publish(ChangeEvent::ResourceUpdated { uri: uri.into() });
    }

    /// Tells every session following `list`, on every node, that it changed
    /// (`notifications/{tools,resources,prompts}/list_changed`).
    pub fn notify_list_changed(&self, list: ListKind) {
        self.publish(ChangeEvent::ListChanged { list });
    }

    /// Publishes `event` here and to the other nodes.
    pub fn publish(&self, event: ChangeEvent) {
        self.state.deliver(&event);
        let fanout = self.state.fanout.lock().expect("lock").clone();
        fanout.publish(&event);
    }

    /// How many change notifications this server dropped because a connection already had
    /// [`MAX_QUEUED_NOTIFICATIONS`](crate::handle::MAX_QUEUED_NOTIFICATIONS) waiting.
    pub fn dropped(&self) -> u64 {
        self.state.dropped_notifications.load(Ordering::Relaxed)
    }
}

impl ServerState {
    /// Sends `event` to this node's sessions that follow it. The connections are snapshotted
    /// under the lock and the fan-out runs outside it, so a large fan-out does not hold up
    /// connections opening and closing (nor another fan-out).
    fn deliver(&self, event: &ChangeEvent) {
        let targets: Vec<(ConnectionHandle, Arc<Mutex<Subscriptions>>)> = {
            let connections = self.connections.lock().expect("lock");
            connections.values().map(|c| (c.handle.clone(), c.subscriptions.clone())).collect()
        };
        let mut dropped = 0u64;
        for (handle, subscriptions) in targets {
            let notifications = subscriptions.lock().expect("lock").notifications_for(event);
            for notification in notifications {
                if !handle.notify_queued(notification) && handle.is_open() {
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            self.dropped_notifications.fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(dropped, "change notifications dropped for connections that lag");
        }
    }

    /// Stops tracking connection `id`; wakes a waiting shutdown when it was the last.
    fn untrack(&self, id: u64) {
        let mut connections = self.connections.lock().expect("lock");
        if connections.remove(&id).is_some() && connections.is_empty() {
            for waiter in self.all_ended.lock().expect("lock").drain(..) {
                let _ = waiter.send(());
            }
        }
    }
}

/// Removes a connection from the tracked ones when dropped.
struct Untrack {
    state: Arc<ServerState>,
    id: u64,
}

impl Drop for Untrack {
    fn drop(&mut self) {
        self.state.untrack(self.id);
    }
}

/// Receives one server connection's events.
struct ServerSink<N: Network> {
    config: Arc<ServerConfig>,
    net: N,
    router: Arc<Router>,
    tasks: HandlerTasks,
    listens: HandlerTasks,
    subscriptions: Arc<Mutex<Subscriptions>>,
    state: Arc<ServerState>,
    peer: Arc<Mutex<Option<ReadyInfo>>>,
    principal: Option<Principal>,
    requests: RequestMetrics,
}

impl<N: Network> EventSink for ServerSink<N> {
    fn lasting_requests(&self) -> usize {
        self.listens.len()
    }

    fn on_event(&mut self, event: Event, handle: &ConnectionHandle) {
        match event {
            Event::Ready(info) => {
                self.subscriptions.lock().expect("lock").set_legacy(info.era == Era::Legacy);
                *self.peer.lock().expect("lock") = Some(*info);
            }
            Event::Request(request) => {
                if self.state.draining.is_draining() {
                    metrics::count_refused_request(&request.method);
                    // Marked unprocessed: a reconnecting client issues it on its next
                    // connection (to another node) instead of failing the call.
                    let error = crate::error::not_processed("the server is shutting down");
                    handle.respond(request.id, Err(error));
                    return;
                }
                let router = self.router.clone();
                let principal = self.principal.clone();
                let subscriptions = self.subscriptions.clone();
                let notifier = Notifier { state: self.state.clone() };
                let (version, session_capabilities) = match self.peer.lock().expect("lock").as_ref()
                {
                    Some(info) => (
                        Some(info.version),
                        match &info.peer {
                            PeerDescription::Client { capabilities, .. }
                                if info.era == Era::Legacy =>
                            {
                                Some(capabilities.clone())
                            }
                            _ => None,
                        },
                    ),
                    None => (None, None),
                };
                let tasks = match request.method.as_str() {
                    methods::SUBSCRIPTIONS_LISTEN => &self.listens,
                    _ => &self.tasks,
                };
                let mut record = self.requests.start(&request.method);
                // A 2026-07-28 request may be answered `input_required`; a listen never asks
                // the client for input, so it needs no round.
                let round = if request.era == Era::Modern
                    && request.method != methods::SUBSCRIPTIONS_LISTEN
                {
                    match InputRound::begin(
                        &self.config.state_key,
                        &request.method,
                        request.params.as_ref(),
                        unix_now(),
                    ) {
                        Ok(round) => Some((Arc::new(Mutex::new(round)), self.config.clone())),
                        Err(error) => {
                            let refused: HandlerResult = Err(error);
                            record.finished(&refused);
                            handle.respond(request.id, refused);
                            return;
                        }
                    }
                } else {
                    None
                };
                tasks.start(&self.net, handle, request, move |request, mut context| {
                    context.principal = principal;
                    context.subscriptions = Some(subscriptions);
                    context.notifier = Some(notifier);
                    context.protocol_version = version;
                    if context.client_capabilities.is_none() {
                        context.client_capabilities = session_capabilities;
                    }
                    let answering = match round {
                        Some((round, config)) => {
                            context.input = Some(round.clone());
                            let answer = router.dispatch(request, context);
                            Box::pin(end_input_round(answer, round, config))
                        }
                        None => router.dispatch(request, context),
                    };
                    async move {
                        let answer = answering.await;
                        record.finished(&answer);
                        answer
                    }
                });
            }
            Event::Cancelled { id, .. } => {
                self.tasks.cancel(&id);
                self.listens.cancel(&id);
            }
            Event::Notification(notification) => self.router.notification(notification, handle),
            Event::Closed { reason, .. } => {
                metrics::count_close(reason.code.0);
                self.tasks.cancel_all();
                self.listens.cancel_all();
            }
            Event::RequestEnded { .. }
            | Event::Progress { .. }
            | Event::UnmatchedResponse(_)
            | Event::MalformedFrame { .. } => {}
        }
    }
}

/// The `transport` metrics label of sessions over `S`: one served over a message pipe is a
/// Streamable HTTP one.
fn transport_label<S: 'static>() -> &'static str {
    match message_pipe::is_loop_end::<S>() {
        true => metrics::HTTP,
        false => metrics::WEBSOCKET,
    }
}
