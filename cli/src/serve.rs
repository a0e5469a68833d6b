//! `mcp-ws serve`: the built-in demo server on WebSocket, until SIGTERM or Ctrl-C (then it
//! drains: `/healthz` turns 503, new upgrades get 503 with `Retry-After`, in-flight calls
//! finish within `--shutdown-grace`, every client gets 1001, and the process exits 0; a
//! second signal exits at once with status 1). With `--upstream URL` it is a gateway to that
//! server instead (see [`run_gateway`]); with `--stdio -- CMD ARGS` every session gets a child
//! process running that stdio MCP server (see [`run_stdio`]).

use std::process::ExitCode;
use std::time::Duration;

use mcp_ws_driver::server::gateway::{SessionBackend, Upstream};
use mcp_ws_driver::server::limits::ConnectionLimits;
use mcp_ws_driver::server::stdio::StdioServer;
use mcp_ws_driver::{
    AuthCheck, Drain, HostPolicy, OriginPolicy, PlainHttp, Router, Server, ServerConfig, ServerTls,
    StaticToken,
};
use mcp_ws_tokio::Tokio;
use mcp_ws_tokio::redis_fanout::{RedisFanout, RedisFanoutConfig};

use crate::args::ServeArgs;
use crate::demo;

/// The server configuration the flags describe, for `identity`: session settings, TLS,
/// token, Origin and Host checks (shared by the demo server and `serve --stdio`).
pub fn server_config(
    args: &ServeArgs,
    identity: mcp_ws_driver::core::mcp::Implementation,
) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::new(identity);
    config.path = args.path.clone();
    config.session.ping_interval = args.ping();
    config.session.idle_timeout = args.idle();
    if let (Some(ping), Some(idle)) = (args.ping(), args.idle()) {
        if ping >= idle {
            // A client is pinged before it can be declared dead (the session refuses a ping
            // interval not shorter than the idle timeout): `--idle-timeout 2` alone works.
            config.session.ping_interval = Some(idle / 2);
            tracing::info!(
                "--ping-interval {}s is not shorter than --idle-timeout {}s: pinging every {:?}",
                ping.as_secs(),
                idle.as_secs(),
                idle / 2
            );
        }
    }
    config.session.lifecycle_timeout =
        (args.lifecycle_timeout > 0).then(|| Duration::from_secs(args.lifecycle_timeout));
    config.session.limits.max_message_bytes = args.max_message_bytes;
    config.handshake_timeout = Duration::from_secs(args.handshake_timeout.max(1));
    config.shutdown_grace = Duration::from_secs(args.shutdown_grace);
    if let Some(proxies) = &args.trust_proxy {
        config.proxies = proxies.clone();
    }
    config.limits = connection_limits(args, 10_000, 1);
    config = config
        .with_http_sessions(args.max_http_sessions, Duration::from_secs(args.http_session_idle));
    config.node_id = args.node_id.clone();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(ServerTls::from_pem_files(cert, key).map_err(|e| format!("TLS: {e}"))?);
    }
    if let Some(token) = &args.auth_token {
        if token.is_empty() {
            return Err("--auth-token must not be empty".into());
        }
        config.auth = Some(AuthCheck::new(StaticToken::new(token.clone())));
    }
    config.origins = match args.allow_origin.as_slice() {
        [] => OriginPolicy::Default,
        list if list.iter().any(|o| o == "*") => OriginPolicy::Any,
        list => OriginPolicy::List(list.to_vec()),
    };
    config.hosts = match args.allow_host.as_slice() {
        [] => HostPolicy::Default,
        list if list.iter().any(|h| h == "*") => HostPolicy::Any,
        list => HostPolicy::List(list.to_vec()),
    };
    if let Some(secret) = &args.state_key {
        config =
            config.with_state_secret(secret.as_bytes()).map_err(|e| format!("--state-key: {e}"))?;
    }
    config.input_state_ttl = Duration::from_secs(args.input_state_ttl.max(1));
    // /healthz, and /metrics unless it has a listener of its own (then it needs no token).
    let metrics = args
        .metrics_listen
        .is_none()
        .then(|| (crate::operate::metrics_handle(), config.auth.clone()));
    let drain = Drain::new();
    config.drain = Some(drain.clone());
    let operate = crate::operate::endpoints(drain, metrics);
    config.plain_http = Some(if args.inspector {
        let page = crate::inspect::direct_page(&args.path);
        PlainHttp::new(move |head| operate.answer(head).or_else(|| page.answer(head)))
    } else {
        operate
    });
    Ok(config)
}

/// The connection caps the flags ask for. Without `--max-connections` the cap is `default`,
/// lowered so that `fds_per_connection` descriptors for each connection fit the process's
/// descriptor limit (with room to spare): a server that runs out of descriptors can no longer
/// answer anyone, while one at its cap still tells the next client 503 and when to come back.
pub fn connection_limits(
    args: &ServeArgs,
    default: usize,
    fds_per_connection: usize,
) -> ConnectionLimits {
    let room = descriptor_limit()
        .map(|soft| (soft.saturating_sub(SPARE_DESCRIPTORS) / fds_per_connection as u64).max(1))
        .map(|room| usize::try_from(room).unwrap_or(usize::MAX));
    // Three quarters of the room for connections, a quarter for answering refusals.
    let max = args
        .max_connections
        .unwrap_or_else(|| room.map_or(default, |room| (room - room / 4).max(1).min(default)));
    if let Some(room) = room.filter(|room| max > *room) {
        tracing::warn!(
            "--max-connections {max} is more than the file descriptor limit leaves room for \
             (about {room}); past that, accepting fails until connections end"
        );
    }
    let mut limits = ConnectionLimits::with_max_connections(max);
    limits.max_per_ip = args.max_connections_per_ip;
    if let Some(room) = room {
        limits.max_refusing = limits.max_refusing.min((room / 4).max(1));
    }
    limits
}

/// Descriptors kept free for everything but connections (logs, TLS files, the listener).
const SPARE_DESCRIPTORS: u64 = 64;

/// The process's soft limit on open file descriptors, when it has one.
fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{Resource, getrlimit};
        let (soft, _hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        (soft != nix::sys::resource::RLIM_INFINITY).then_some(soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Handles SIGHUP from now until the process ends, instead of dying of it (its default): with
/// TLS it reloads the certificate files (a renewed certificate without a restart); without,
/// there is nothing to reload (every other setting is a flag) and it is logged and ignored.
/// The handler is registered before this returns, so a hangup right after start is covered.
pub fn handle_hangup(tls: Option<ServerTls>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!("SIGHUP is not handled (it would stop the server): {error}");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match &tls {
                    Some(tls) => match tls.reload() {
                        Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate"),
                        Err(error) => {
                            tracing::warn!("SIGHUP: kept the old TLS certificate: {error}")
                        }
                    },
                    None => {
                        tracing::info!("SIGHUP ignored: without TLS there is nothing to reload")
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = tls;
}

/// Logs what the security settings are (never the token).
pub fn log_security(config: &ServerConfig) {
    tracing::info!(
        tls = config.tls.is_some(),
        auth = config.auth.is_some(),
        origins = ?config.origins,
        hosts = ?config.hosts,
        trusted_proxies = %config.proxies,
        "handshake checks"
    );
}

/// Starts the `--metrics-listen` listener, when asked for.
pub async fn start_metrics_listener(args: &ServeArgs, config: &ServerConfig) -> Result<(), String> {
    if let Some(addr) = args.metrics_listen {
        let handle = crate::operate::metrics_handle();
        let drain = config.drain.clone().unwrap_or_default();
        crate::operate::serve_metrics(addr, drain, handle).await?;
    }
    Ok(())
}

/// Runs the demo server.
pub async fn run(args: &ServeArgs) -> Result<ExitCode, String> {
    run_with(args, |router| router).await
}

/// Runs the demo server with routes added by `extend` (test nodes add counting tools), with
/// everything else `mcp-ws serve` does: its flags, Redis fan-out, and the drain on a signal.
pub async fn run_with(
    args: &ServeArgs,
    extend: impl FnOnce(Router) -> Router,
) -> Result<ExitCode, String> {
    let net = Tokio::new();
    let signals = crate::operate::StopSignals::new();
    let config = server_config(args, demo::implementation())?;
    log_security(&config);
    start_metrics_listener(args, &config).await?;
    handle_hangup(config.tls.clone());
    let router = extend(demo::router(net.clone()).page_size(args.page_size));
    let mut server = Server::new(net.clone(), router, config);
    if let Some(url) = &args.redis {
        let mut fanout = RedisFanoutConfig::new(url.clone());
        fanout.channel = args.redis_channel.clone();
        let fanout = RedisFanout::start(fanout).map_err(|e| format!("--redis: {e}"))?;
        tracing::info!(node = fanout.node_id(), channel = %args.redis_channel, "fanning out through Redis");
        server = server.with_fanout(std::sync::Arc::new(fanout));
    }
    serve_until_signal(args, &server, signals, "serving the demo MCP server").await
}

/// Runs the gateway of `--upstream URL`: the same listener, checks, caps, drain and metrics
/// as the demo server, with every session relayed to its own connection to the upstream.
pub async fn run_gateway(args: &ServeArgs) -> Result<ExitCode, String> {
    let url = args.upstream.as_deref().ok_or("--upstream needs a URL")?;
    let net = Tokio::new();
    let signals = crate::operate::StopSignals::new();
    let mut config = server_config(args, demo::implementation())?;
    config.backend = SessionBackend::Gateway(std::sync::Arc::new(upstream(args, url)?));
    log_security(&config);
    start_metrics_listener(args, &config).await?;
    handle_hangup(config.tls.clone());
    let server = Server::new(net, Router::new(), config);
    serve_until_signal(args, &server, signals, "serving a gateway").await
}

/// Runs `serve --stdio -- CMD ARGS`: the same listener, checks, caps, drain and metrics as the
/// demo server, WebSocket and Streamable HTTP alike, with every session relayed to a child
/// process of its own running `command` (the library's stdio backend). The connection cap
/// (`--max-connections`) is the process cap: 64 by default, lowered to fit the descriptor limit
/// (a session holds its socket and the child's three pipes).
pub async fn run_stdio(args: &ServeArgs, command: &[String]) -> Result<ExitCode, String> {
    let (program, arguments) =
        command.split_first().ok_or("--stdio needs the server's command after --")?;
    let net = Tokio::new();
    let signals = crate::operate::StopSignals::new();
    let identity =
        mcp_ws_driver::core::mcp::Implementation::new("mcp-ws", env!("CARGO_PKG_VERSION"));
    let mut config = server_config(args, identity)?;
    config.limits = connection_limits(args, 64, 5);
    let mut stdio = StdioServer::new(program.as_str(), arguments.iter().map(String::as_str));
    stdio.kill_grace = Duration::from_secs(args.kill_grace);
    stdio.input_queue_bytes = args.stdio_queue_bytes.max(1);
    config.backend = SessionBackend::Stdio(std::sync::Arc::new(stdio));
    tracing::info!(command = ?command, "one child process per session");
    log_security(&config);
    start_metrics_listener(args, &config).await?;
    handle_hangup(config.tls.clone());
    let server = Server::new(net, Router::new(), config);
    serve_until_signal(args, &server, signals, "serving a stdio MCP server").await
}

/// The upstream of `--upstream URL` with its flags.
fn upstream(args: &ServeArgs, url: &str) -> Result<Upstream, String> {
    let auth = crate::args::AuthArgs {
        ca_cert: args.upstream_ca_cert.clone(),
        auth_token: None,
        headers: args.upstream_headers.clone(),
    };
    let headers = auth.headers().map_err(|e| e.replace("--header", "--upstream-header"))?;
    let tls = auth.tls().map_err(|e| e.replace("--ca-cert", "--upstream-ca-cert"))?;
    let mut upstream = Upstream::new(url)
        .and_then(|upstream| upstream.with_headers(&headers))
        .map_err(|e| format!("--upstream {url}: {e}"))?
        .with_tls(&tls);
    upstream.connect_timeout = Duration::from_secs(args.upstream_connect_timeout.max(1));
    upstream.max_in_flight = args.upstream_max_in_flight.max(1);
    Ok(upstream)
}

/// Listens, prints the URL, serves until a signal, then drains (a second signal exits at
/// once with status 1).
async fn serve_until_signal(
    args: &ServeArgs,
    server: &Server<Tokio>,
    mut signals: crate::operate::StopSignals,
    what: &str,
) -> Result<ExitCode, String> {
    let listening = server
        .listen(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    println!("{}", listening.url());
    if args.inspector {
        let scheme = if server.config().tls.is_some() { "https" } else { "http" };
        tracing::info!("inspector at {scheme}://{}/", listening.local_addr());
    }
    tracing::info!(url = %listening.url(), "{what}");
    let accept = tokio::spawn(listening.run());
    let signal = signals.next().await;
    let grace = server.config().shutdown_grace;
    tracing::info!(signal, ?grace, "draining: new connections get 503, then every session 1001");
    tokio::select! {
        () = server.shutdown() => {}
        signal = signals.next() => {
            tracing::warn!(signal, "a second signal: exiting without draining");
            return Ok(ExitCode::FAILURE);
        }
    }
    let _ = accept.await;
    tracing::info!("shut down");
    Ok(ExitCode::SUCCESS)
}
