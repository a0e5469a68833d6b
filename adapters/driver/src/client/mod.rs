//! The MCP client: connect to a server, keep the connection alive across cuts, and call it.
//!
//! [`connect`] dials the endpoint (with the subprotocol fallback of [`crate::dial`]), runs the
//! lifecycle the configured era needs, and returns a [`Client`] once the session is ready.
//! Behind the client a supervisor task owns the core's reconnect machine: when the connection
//! is lost, calls in flight fail with [`CallError::Disconnected`] (or are issued again on the
//! next connection when marked retryable), the supervisor redials with backoff, the new session
//! runs the lifecycle again, and subscribers see [`ClientEvent`]s. Calls made while
//! reconnecting wait for the next connection, within their timeout.
//!
//! - [`config`]: what a client is configured with.
//! - `supervisor` (private): the reconnect loop.
//! - [`api`]: the typed MCP calls.
//! - [`peer_requests`]: answering the server's requests (roots, sampling, elicitation).
//! - `input_rounds` (private): answering `input_required` results (2026-07-28) with the same
//!   handlers, and retrying.

pub mod api;
pub mod config;
mod input_rounds;
pub mod oauth;
pub mod peer_requests;
mod supervisor;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use futures_channel::{mpsc, oneshot};
use futures_util::future::{FutureExt, Shared};
use futures_util::{Stream, StreamExt};
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::message::Notification;
use mcp_ws_core::reconnect::{Failure, GiveUpReason};
use mcp_ws_core::session::{ClosedBy, Event, PeerDescription, ReadyInfo, Session, SessionConfig};
use mcp_ws_core::{CloseCode, CloseReason, Era, ProtocolVersion, RawJson};

pub use api::Listen;
pub use config::{ClientConfig, ClientConfigError};
pub use peer_requests::PeerRequests;

use crate::bounded::{self, Received};
use crate::connection::{ConnectionEnded, EventSink, spawn_connection};
use crate::dial::{DialError, SubprotocolMemory, dial};
use crate::error::CallError;
use crate::handle::{CallOptions, ConnectionHandle, ProgressSender, ProgressStream};
pub use crate::http_client::ClientIo;
use crate::http_client::HttpSettings;
use crate::runtime::BoxFuture;
use crate::runtime::Network;
use crate::tasks::HandlerTasks;
use crate::ws_config::websocket_config;

/// Something that happened to a client's connection, as subscribers see it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// A session became ready: after the first connect and after every reconnect.
    Ready(Box<ReadyInfo>),
    /// The connection was lost or closed.
    Disconnected {
        /// The close code and reason.
        reason: CloseReason,
        /// Who ended it.
        by: ClosedBy,
    },
    /// The supervisor is dialing again (attempt counts from 1 since the last stable connection).
    Reconnecting {
        /// The attempt number.
        attempt: u32,
    },
    /// A redial failed.
    DialFailed {
        /// Why.
        failure: Failure,
    },
    /// The supervisor stopped reconnecting for good.
    GaveUp {
        /// Why.
        reason: GiveUpReason,
        /// The failure that ended it, if any.
        last_error: Option<Failure>,
    },
    /// A notification from the server (list changes, resource updates, log messages...).
    Notification(Notification),
    /// This subscription was read too slowly: `missed` events were dropped here (the oldest
    /// first) so that at most [`EVENT_QUEUE`] wait. It comes before the next event kept.
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
}

/// How many events wait for a slow subscriber before the oldest are dropped (and the
/// subscriber is told with [`ClientEvent::Lagged`]).
pub const EVENT_QUEUE: usize = 256;

/// Why [`connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The configuration is contradictory.
    #[error("invalid client configuration: {0}")]
    Config(#[source] ClientConfigError),
    /// The WebSocket could not be opened.
    #[error(transparent)]
    Dial(DialError),
    /// The WebSocket opened but the lifecycle failed (version refused, initialize error...).
    #[error("the session failed to start: {} ({})", .0.reason, .0.code.0)]
    Lifecycle(CloseReason),
}

/// State shared by the client, its supervisor and its connections' event sinks.
struct ClientShared {
    ready: Mutex<Option<ReadyInfo>>,
    /// The era and version the endpoint settled on the last time a session became ready, so a
    /// dual-era client does not probe again on every reconnect.
    settled: Mutex<Option<(Era, ProtocolVersion)>>,
    subscribers: Mutex<Vec<bounded::Sender<ClientEvent>>>,
    /// The resources subscribed to with `resources/subscribe` (legacy era), subscribed again
    /// on every new session: the server forgets them with the connection.
    resources: Mutex<BTreeSet<String>>,
}

impl ClientShared {
    fn emit(&self, event: ClientEvent) {
        let mut subscribers = self.subscribers.lock().expect("lock");
        subscribers.retain(|s| s.send(event.clone()).is_ok());
    }
}

/// A connected MCP client. Cheap to clone; every clone drives the same connection.
///
/// Made by [`connect`] (or `mcp_ws_tokio::connect` / `mcp_ws_smol::connect`), it reconnects
/// by itself when the connection is lost (see [`ClientConfig::reconnect`]).
///
/// ```no_run
/// use mcp_ws_driver::core::mcp::Implementation;
/// use mcp_ws_driver::{ClientConfig, Network, connect};
///
/// async fn add<N: Network>(net: N) -> Result<(), Box<dyn std::error::Error>> {
///     let config = ClientConfig::new(Implementation::new("me", "1.0"));
///     let client = connect(net, "ws://127.0.0.1:8765/mcp", config).await?;
///     for tool in client.list_all_tools().await? {
///         println!("{}", tool.name);
///     }
///     let sum = client.call_tool("add", serde_json::json!({"a": 2, "b": 3})).await?;
///     assert_eq!(sum.joined_text(), "5");
///     client.close().await;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Client {
    handle: ConnectionHandle,
    shared: Arc<ClientShared>,
    finished: Shared<oneshot::Receiver<()>>,
    /// What answers `input_required` rounds, and how many a call may take.
    peer_requests: PeerRequests,
    input_rounds: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("ready", &self.ready_info()).finish()
    }
}

/// Connects to the MCP server at `url` over `net` and waits until the session is ready.
///
/// The first connection is not retried: a wrong URL or a refused version fails here. Later
/// losses are handled by the reconnect policy in `config`.
pub async fn connect<N: Network>(
    net: N,
    url: &str,
    config: ClientConfig,
) -> Result<Client, ConnectError> {
    config.validate().map_err(ConnectError::Config)?;
    let endpoint = config.endpoint(url).map_err(ConnectError::Dial)?;
    let memory = Arc::new(SubprotocolMemory::default());
    let dialed = open_io(&net, &endpoint, &memory, &config).await.map_err(ConnectError::Dial)?;

    let shared = Arc::new(ClientShared {
        ready: Mutex::new(None),
        settled: Mutex::new(None),
        subscribers: Mutex::new(Vec::new()),
        resources: Mutex::new(BTreeSet::new()),
    });
    let (first_ready, first_ready_receiver) = oneshot::channel();
    let (connection, ended) =
        start_session(&net, &config.session, &config, &shared, dialed, Some(first_ready));
    let (commands, command_receiver) = mpsc::unbounded();
    let peer_requests = config.peer_requests.clone();
    let input_rounds = config.input_rounds;
    let (finished_sender, finished) = oneshot::channel();
    let supervisor = supervisor::Supervisor {
        net: net.clone(),
        endpoint,
        memory,
        config,
        shared: shared.clone(),
        current: Some((connection, ended)),
    };
    net.spawn(async move {
        supervisor.run(command_receiver).await;
        let _ = finished_sender.send(());
    });
    let client = Client {
        handle: ConnectionHandle::new(commands),
        shared,
        finished: finished.shared(),
        peer_requests,
        input_rounds,
    };
    match first_ready_receiver.await {
        Ok(Ok(())) => Ok(client),
        Ok(Err(reason)) => {
            client.close().await;
            Err(ConnectError::Lifecycle(reason))
        }
        Err(_) => {
            client.close().await;
            Err(ConnectError::Lifecycle(CloseReason::new(
                CloseCode::ABNORMAL,
                "the connection ended before the session was ready",
            )))
        }
    }
}

/// Opens what the client talks over: dials a `ws://`/`wss://` endpoint (with the subprotocol
/// fallback), or opens the Streamable HTTP pipe of an `http://`/`https://` one.
pub(super) fn open_io<N: Network>(
    net: &N,
    endpoint: &crate::dial::Endpoint,
    memory: &Arc<SubprotocolMemory>,
    config: &ClientConfig,
) -> crate::runtime::BoxFuture<'static, Result<ClientIo<N::Stream>, DialError>> {
    let how = IoSettings {
        preferred: config.preferred_version(),
        max_message_bytes: config.session.limits.max_message_bytes,
        connect_timeout: config.connect_timeout,
        max_concurrent_requests: config.http_max_concurrent_requests,
    };
    let oauth = config.oauth.clone().map(|oauth| Arc::new(oauth::OAuthAgent::new(oauth)));
    match oauth {
        Some(agent) if !endpoint.is_http() => {
            Box::pin(dial_with_oauth(net.clone(), endpoint.clone(), memory.clone(), how, agent))
        }
        oauth => {
            Box::pin(open_endpoint_with(net.clone(), endpoint.clone(), memory.clone(), how, oauth))
        }
    }
}

/// Dials a `ws://`/`wss://` endpoint with the OAuth token, if there is one; an upgrade refused
/// with `401` (or a widening `403 insufficient_scope`) runs the OAuth flow for the endpoint's
/// `http(s)://` twin, then dials again, at most `max_authorizations_per_request` times.
async fn dial_with_oauth<N: Network>(
    net: N,
    endpoint: crate::dial::Endpoint,
    memory: Arc<SubprotocolMemory>,
    how: IoSettings,
    agent: Arc<oauth::OAuthAgent>,
) -> Result<ClientIo<N::Stream>, DialError> {
    let mut authorizations = 0;
    loop {
        let token = agent.access_token();
        let mut dialed = endpoint.clone();
        if let Some(token) = &token {
            dialed = dialed.with_headers(&[("Authorization".into(), format!("Bearer {token}"))])?;
        }
        let (status, retry_after, reason, challenge) =
            match open_endpoint(net.clone(), dialed, memory.clone(), how).await {
                Err(DialError::Status { status, retry_after, reason, challenge }) => {
                    (status, retry_after, reason, challenge)
                }
                other => return other,
            };
        let parsed = mcp_ws_core::oauth::Challenge::parse(challenge.as_deref().unwrap_or(""));
        if authorizations >= agent.max_authorizations_per_request() || !agent.wants(status, &parsed)
        {
            return Err(DialError::Status { status, retry_after, reason, challenge });
        }
        authorizations += 1;
        let fetch = oauth::FetchSettings {
            tls: endpoint.tls().cloned(),
            connect_timeout: how.connect_timeout,
        };
        // `ws://` and `wss://` are the only other schemes an endpoint has.
        let http_url = format!("http{}", endpoint.url().get(2..).unwrap_or_default());
        if let Err(why) = agent.authorize(&net, &http_url, status, parsed, token, &fetch).await {
            return Err(DialError::Status {
                status,
                retry_after: None,
                reason: why.to_string(),
                challenge,
            });
        }
    }
}

/// How [`open_endpoint`] opens an endpoint. Start from `default()` and set the fields.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct IoSettings {
    /// The version offered in the WebSocket subprotocol.
    pub preferred: ProtocolVersion,
    /// The largest message accepted.
    pub max_message_bytes: usize,
    /// How long the connect (and the upgrade) may take.
    pub connect_timeout: std::time::Duration,
    /// How many Streamable HTTP POSTs may be in flight at once.
    pub max_concurrent_requests: usize,
}

impl Default for IoSettings {
    /// The latest version, the core's message limit, 10 s to connect,
    /// [`crate::http_client::DEFAULT_MAX_CONCURRENT_REQUESTS`] POSTs.
    fn default() -> Self {
        IoSettings {
            preferred: ProtocolVersion::LATEST,
            max_message_bytes: mcp_ws_core::Limits::default().max_message_bytes,
            connect_timeout: std::time::Duration::from_secs(10),
            max_concurrent_requests: crate::http_client::DEFAULT_MAX_CONCURRENT_REQUESTS,
        }
    }
}

/// Dials a `ws://`/`wss://` `endpoint` (with the subprotocol fallback, remembered in
/// `memory`) or opens the Streamable HTTP pipe of an `http://`/`https://` one: what the client,
/// the gateway ([`crate::server::gateway`]) and the CLI's `connect` bridge talk to a server
/// over. The HTTP pipe opens lazily: nothing is sent before the first message.
pub async fn open_endpoint<N: Network>(
    net: N,
    endpoint: crate::dial::Endpoint,
    memory: Arc<SubprotocolMemory>,
    how: IoSettings,
) -> Result<ClientIo<N::Stream>, DialError> {
    open_endpoint_with(net, endpoint, memory, how, None).await
}

/// [`open_endpoint`], with OAuth for an HTTP endpoint.
async fn open_endpoint_with<N: Network>(
    net: N,
    endpoint: crate::dial::Endpoint,
    memory: Arc<SubprotocolMemory>,
    how: IoSettings,
    oauth: Option<Arc<oauth::OAuthAgent>>,
) -> Result<ClientIo<N::Stream>, DialError> {
    if endpoint.is_http() {
        let settings = HttpSettings {
            max_concurrent_requests: how.max_concurrent_requests,
            max_message_bytes: how.max_message_bytes,
            connect_timeout: how.connect_timeout,
            oauth,
        };
        return Ok(ClientIo::Http(crate::http_client::open(&net, &endpoint, settings)));
    }
    let ws_config = websocket_config(how.max_message_bytes);
    let dialed =
        dial(&net, &endpoint, how.preferred, &memory, ws_config, how.connect_timeout).await?;
    Ok(ClientIo::WebSocket(Box::new(dialed.ws)))
}

/// Starts a session and its driver over an open WebSocket (or Streamable HTTP pipe).
fn start_session<N: Network>(
    net: &N,
    config: &SessionConfig,
    client: &ClientConfig,
    shared: &Arc<ClientShared>,
    ws: ClientIo<N::Stream>,
    first_ready: Option<oneshot::Sender<Result<(), CloseReason>>>,
) -> (ConnectionHandle, ConnectionEnded) {
    let session = Session::new(config.clone(), net.now()).expect("validated in ClientConfig");
    let sink = ClientSink {
        net: net.clone(),
        shared: shared.clone(),
        tasks: HandlerTasks::default(),
        peer_requests: client.peer_requests.clone(),
        first_ready,
    };
    spawn_connection(net, ws, session, sink)
}

/// Receives one connection's events on behalf of the client.
struct ClientSink<N: Network> {
    net: N,
    shared: Arc<ClientShared>,
    tasks: HandlerTasks,
    peer_requests: PeerRequests,
    first_ready: Option<oneshot::Sender<Result<(), CloseReason>>>,
}

impl<N: Network> ClientSink<N> {
    /// Sends `resources/subscribe` again for every resource the client follows (a new legacy
    /// session after a reconnect; the old server session forgot them). Listens (2026-07-28)
    /// need nothing here: they are retryable requests, issued again by the supervisor.
    fn subscribe_again(&self, handle: &ConnectionHandle) {
        let uris: Vec<String> =
            self.shared.resources.lock().expect("lock").iter().cloned().collect();
        for uri in uris {
            let params = mcp_ws_core::mcp::SubscribeParams { uri, ..Default::default() };
            let Ok(params) = RawJson::from_serialize(&params) else { continue };
            let call = handle.request(
                mcp_ws_core::mcp::methods::RESOURCES_SUBSCRIBE,
                Some(params),
                CallOptions::default(),
            );
            self.net.spawn(async move {
                if let Err(error) = call.await {
                    tracing::warn!(%error, "subscribing again after a reconnect failed");
                }
            });
        }
    }
}

impl<N: Network> EventSink for ClientSink<N> {
    fn on_event(&mut self, event: Event, handle: &ConnectionHandle) {
        match event {
            Event::Ready(info) => {
                *self.shared.ready.lock().expect("lock") = Some((*info).clone());
                *self.shared.settled.lock().expect("lock") = Some((info.era, info.version));
                let reconnected = match self.first_ready.take() {
                    Some(first) => {
                        let _ = first.send(Ok(()));
                        false
                    }
                    None => true,
                };
                if reconnected && info.era == Era::Legacy {
                    self.subscribe_again(handle);
                }
                self.shared.emit(ClientEvent::Ready(info));
            }
            Event::Request(request) => {
                let peer_requests = self.peer_requests.clone();
                self.tasks.start(&self.net, handle, request, move |request, context| {
                    peer_requests.handle(request, context)
                });
            }
            Event::Cancelled { id, .. } => self.tasks.cancel(&id),
            Event::Notification(notification) => {
                self.shared.emit(ClientEvent::Notification(notification))
            }
            Event::Closed { reason, .. } => {
                self.tasks.cancel_all();
                *self.shared.ready.lock().expect("lock") = None;
                if let Some(first) = self.first_ready.take() {
                    let _ = first.send(Err(reason));
                }
            }
            Event::RequestEnded { .. }
            | Event::Progress { .. }
            | Event::UnmatchedResponse(_)
            | Event::MalformedFrame { .. } => {}
        }
    }
}

impl Client {
    /// What the lifecycle of the current session settled (era, version, server), or `None`
    /// while disconnected.
    pub fn ready_info(&self) -> Option<ReadyInfo> {
        self.shared.ready.lock().expect("lock").clone()
    }

    /// The protocol version of the current session.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.ready_info().map(|info| info.version)
    }

    /// The server's `serverInfo`, when it sent one.
    pub fn server_info(&self) -> Option<Implementation> {
        match self.ready_info()?.peer {
            PeerDescription::Server { info, .. } => info,
            PeerDescription::Client { .. } => None,
        }
    }

    /// A stream of everything that happens from now on: readiness, disconnects, reconnects and
    /// server notifications. Each call makes an independent subscription; dropping the stream
    /// unsubscribes. A subscription read too slowly keeps the latest [`EVENT_QUEUE`] events and
    /// says how many it dropped with [`ClientEvent::Lagged`].
    pub fn events(&self) -> impl Stream<Item = ClientEvent> + Send + Unpin + use<> {
        let (sender, receiver) = bounded::channel(EVENT_QUEUE);
        self.shared.subscribers.lock().expect("lock").push(sender);
        receiver.map(|received| match received {
            Received::Item(event) => event,
            Received::Missed(missed) => ClientEvent::Lagged { missed },
        })
    }

    /// Sends a raw request and resolves with its final result.
    ///
    /// A 2026-07-28 server that needs input answers with `resultType: "input_required"`; the
    /// client then answers each of its input requests with [`ClientConfig::peer_requests`]
    /// (the handlers that answer legacy server requests), retries the request with
    /// `inputResponses` and the server's `requestState`, and repeats for up to
    /// [`ClientConfig::input_rounds`] rounds. Each round is a new request with these options
    /// (its timeout counts per round). With [`CallOptions::raw_input_required`] the first
    /// result is returned as it is. Dropping the future cancels the round in flight.
    pub fn request(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: impl Into<CallOptions>,
    ) -> BoxFuture<'static, Result<RawJson, CallError>> {
        self.start(method.into(), params, options.into(), None)
    }

    /// [`Client::request`] asking for progress: the reports of every round arrive on the
    /// returned stream, which ends when the call does.
    pub fn request_with_progress(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: impl Into<CallOptions>,
    ) -> (BoxFuture<'static, Result<RawJson, CallError>>, ProgressStream) {
        let mut options = options.into();
        options.request.progress = true;
        let (sender, stream) = ProgressStream::channel();
        (self.start(method.into(), params, options, Some(sender)), stream)
    }

    fn start(
        &self,
        method: String,
        params: Option<RawJson>,
        options: CallOptions,
        progress: Option<ProgressSender>,
    ) -> BoxFuture<'static, Result<RawJson, CallError>> {
        if options.raw_input_required {
            return Box::pin(self.handle.start_request(method, params, options, progress, None));
        }
        let round_trip = input_rounds::RoundTrip {
            handle: self.handle.clone(),
            peer_requests: self.peer_requests.clone(),
            limit: self.input_rounds,
            method,
            params,
            options,
            progress,
            shared: self.shared.clone(),
        };
        Box::pin(round_trip.run())
    }

    /// Sends a notification to the server. Fails with [`CallError::Disconnected`] while the
    /// client is between connections.
    pub async fn notify(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
    ) -> Result<(), CallError> {
        self.handle.notify(method, params).await
    }

    /// Whether the client is still running (connected or reconnecting).
    pub fn is_running(&self) -> bool {
        self.handle.is_open()
    }

    /// Closes the client: stops reconnecting, closes the connection with 1000, and ends every
    /// pending call with [`CallError::Disconnected`]. Resolves when all of that is done.
    pub async fn close(&self) {
        self.handle.close(CloseReason::new(CloseCode::NORMAL, "the client closed"));
        let _ = self.finished.clone().await;
    }

    /// Resolves when the client has stopped for good (closed, or gave up reconnecting).
    pub async fn closed(&self) {
        let _ = self.finished.clone().await;
    }
}
