//! What running `mcp-ws serve` in production needs beside the endpoint: the Prometheus
//! recorder behind `GET /metrics` (`metrics-exporter-prometheus`, without its HTTP listener:
//! the text is served through the endpoint's own plain-HTTP hook, or a listener of
//! `--metrics-listen`), `GET /healthz` (200 `ok`, 503 while draining), and the shutdown
//! signals (SIGINT or SIGTERM drains; a second one exits at once).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use mcp_ws_driver::metrics::{self as names, DURATION_BUCKETS};
use mcp_ws_driver::server::accept::HandshakeConfig;
use mcp_ws_driver::server::handshake::HandshakeRules;
use mcp_ws_driver::server::limits::{ConnectionGate, ConnectionLimits};
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_driver::{
    AuthCheck, AuthDecision, AuthRequest, Drain, HostPolicy, OriginPolicy, PlainHttp,
    PlainResponse, RequestHead, TrustedProxies,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::task::JoinSet;
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::listener::Gated;

/// The health probe's path.
pub const HEALTH_PATH: &str = "/healthz";
/// The metrics' path.
pub const METRICS_PATH: &str = "/metrics";

/// How often the recorder's upkeep runs (it bounds the histograms' memory).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The most connections the metrics listener holds at once (scrapers, not clients).
const METRICS_CONNECTIONS: usize = 16;

/// The process's Prometheus recorder, installed on first use (with the request-duration
/// histogram's buckets) and kept up by a task of the current runtime.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(names::REQUEST_DURATION_SECONDS.to_string()),
                DURATION_BUCKETS,
            )
            .expect("the buckets are not empty");
        match builder.install_recorder() {
            Ok(handle) => {
                names::describe();
                let upkeep = handle.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
                    loop {
                        tick.tick().await;
                        upkeep.run_upkeep();
                    }
                });
                Some(handle)
            }
            Err(error) => {
                tracing::warn!("metrics are not recorded: {error}");
                None
            }
        }
    });
    match handle {
        Some(handle) => handle.clone(),
        // Another recorder was installed first: render an empty page rather than fail.
        None => PrometheusBuilder::new().build_recorder().handle(),
    }
}

/// `/healthz` from `drain`, and `/metrics` from `metrics` (when given) behind `auth` (when
/// given: the token the endpoint needs).
pub fn endpoints(
    drain: Drain,
    metrics: Option<(PrometheusHandle, Option<AuthCheck>)>,
) -> PlainHttp {
    PlainHttp::new(move |head| match head.path() {
        HEALTH_PATH => Some(health(&drain)),
        METRICS_PATH => metrics.as_ref().map(|(handle, auth)| metrics_page(head, handle, auth)),
        _ => None,
    })
}

fn health(drain: &Drain) -> PlainResponse {
    if drain.is_draining() {
        PlainResponse { status: 503, ..PlainResponse::ok("text/plain", "draining\n") }
    } else {
        PlainResponse::ok("text/plain", "ok\n")
    }
}

fn metrics_page(
    head: &RequestHead,
    handle: &PrometheusHandle,
    auth: &Option<AuthCheck>,
) -> PlainResponse {
    if let Some(auth) = auth {
        if let AuthDecision::Refuse(refusal) =
            auth.authenticate(&AuthRequest { head, subprotocol: None })
        {
            let mut response = PlainResponse::ok("text/plain", format!("{}\n", refusal.reason()));
            response.status = refusal.status();
            response.headers.extend(refusal.headers().iter().cloned());
            return response;
        }
    }
    PlainResponse::ok("text/plain; version=0.0.4", handle.render())
}

/// Serves `/metrics` and `/healthz` without a token on `addr` (a loopback address, by the
/// flag's documentation), until the process ends. Returns the bound address.
pub async fn serve_metrics(
    addr: SocketAddr,
    drain: Drain,
    handle: PrometheusHandle,
) -> Result<SocketAddr, String> {
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "--metrics-listen is not a loopback address: anyone who can reach it reads the metrics");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let handshake = HandshakeConfig {
        rules: HandshakeRules {
            // No request path is empty: an upgrade here gets 404.
            path: String::new(),
            versions: Vec::new(),
            origins: OriginPolicy::Default,
            hosts: HostPolicy::Default,
            auth: None,
            plain: Some(endpoints(drain, Some((handle, None)))),
            drain: Drain::new(),
            proxies: TrustedProxies::none(),
        },
        tls: None,
        timeout: Duration::from_secs(10),
        max_head_bytes: 16 * 1024,
        websocket: websocket_config(64 * 1024),
    };
    let gate = ConnectionGate::new(ConnectionLimits::with_max_connections(METRICS_CONNECTIONS));
    let mut gated = Gated::new(listener, local, gate, handshake.clone());
    tracing::info!("metrics at http://{local}{METRICS_PATH}");
    tokio::spawn(async move {
        let net = mcp_ws_tokio::Tokio::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                incoming = gated.next() => {
                    let Some(incoming) = incoming else { continue };
                    let (net, handshake) = (net.clone(), handshake.clone());
                    incoming.spawn_into(&mut connections, move |stream, peer, permit| async move {
                        let _permit = permit;
                        let addrs = mcp_ws_driver::ConnectionAddrs {
                            peer: Some(peer),
                            local: Some(local),
                        };
                        let stream = stream.compat();
                        // Every outcome is an answer already sent (or a client gone).
                        let _ = mcp_ws_driver::server::accept::accept(&net, stream, addrs, &handshake).await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok(local)
}

/// The signals that stop the server: SIGINT (Ctrl-C) and SIGTERM (shared with the facade's
/// `mcp_ws::serve`).
pub use mcp_ws_tokio::StopSignals;
