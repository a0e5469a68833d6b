//! The browser inspector: a page (plain HTML, CSS and JavaScript compiled into the binary, no
//! CDN, no build step) that connects to a WebSocket MCP server, lists and calls its tools,
//! reads its resources and prompts, answers its requests, and shows every frame.
//!
//! - `mcp-ws serve --inspector` serves the page at `/` of the demo server itself, through the
//!   driver's plain-HTTP hook ([`mcp_ws_driver::PlainHttp`]); the page connects to the
//!   endpoint on the same origin.
//! - `mcp-ws inspect URL` serves the page on loopback and a WebSocket relay at [`RELAY_PATH`]
//!   that takes only the page this run served (its own `Origin`, required, and the run's secret
//!   offered as `mcp.auth.<secret>`: the page reads it from the `#relay=` fragment of the
//!   printed URL) and dials URL with the driver's
//!   [`mcp_ws_driver::dial::dial`] — so `--auth-token`, `--header` and `--ca-cert` apply
//!   to the target and never reach the browser — and pipes frames both ways untouched, close
//!   codes included. A target that cannot be reached closes the page's socket with 1014 (bad
//!   gateway) and the dial error as reason; a target connection lost without a close frame
//!   closes it with 1014 too, so the page reconnects. What passes and when each side ends
//!   (keepalive on both legs, 1009 for an oversized page frame, close frames answered and
//!   passed on) is the core's [`mcp_ws_driver::core::pipe::Pipe`]; the pump here only moves
//!   frames.
//!
//! The page learns which mode it is in from `/config.json`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::Message as WsMessage;
use mcp_ws_driver::async_tungstenite::tungstenite::protocol::WebSocketConfig;
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::core::pipe::{Pipe, PipeAction, PipeConfig, Side};
use mcp_ws_driver::core::{CloseCode, CloseReason, ProtocolVersion};
use mcp_ws_driver::dial::{Endpoint, SubprotocolMemory, dial};
use mcp_ws_driver::server::accept::{self, ConnectionAddrs, HandshakeConfig};
use mcp_ws_driver::server::auth::unauthorized;
use mcp_ws_driver::server::limits::{ConnectionGate, ConnectionLimits};
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_driver::ws_io::{
    Inbound, WebSocketIo, classify, close_handshake, sleep_until_deadline, write_by,
};
use mcp_ws_driver::{
    AuthCheck, AuthDecision, AuthRequest, Authenticator, OriginPolicy, PlainHttp, PlainResponse,
    Principal, Refusal, Runtime, ServerConfig, StaticToken,
};
use mcp_ws_tokio::Tokio;
use tokio::net::{TcpListener, TcpStream};

use crate::args::InspectArgs;
use crate::listener::Gated;

/// Where `inspect` serves the relay.
pub const RELAY_PATH: &str = "/relay";

const INDEX_HTML: &str = include_str!("../assets/inspector/index.html");
const APP_JS: &str = include_str!("../assets/inspector/app.js");
const APP_CSS: &str = include_str!("../assets/inspector/app.css");

/// The close code for "the target could not be reached, was lost or stopped answering" (1014,
/// Bad Gateway).
pub const BAD_GATEWAY: CloseCode = CloseCode::BAD_GATEWAY;

/// How long a frame may take to be written before the relay gives up on that side.
const WRITE_LIMIT: Duration = Duration::from_secs(10);

/// How long a closing side gets to answer the close frame.
const CLOSE_LIMIT: Duration = Duration::from_secs(2);

/// The page's routes: `/` (and `/index.html`), `/app.js`, `/app.css` and `/config.json` (`config`,
/// which tells the page where to connect). Every answer forbids caching and framing and carries
/// a Content-Security-Policy that allows only the page's own scripts and styles.
pub fn page(config: &serde_json::Value) -> PlainHttp {
    let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; \
               frame-ancestors 'none'";
    let asset = |content_type: &str, body: Vec<u8>| {
        PlainResponse::ok(content_type, body)
            .header("Cache-Control", "no-store")
            .header("X-Content-Type-Options", "nosniff")
            .header("X-Frame-Options", "DENY")
            .header("Referrer-Policy", "no-referrer")
            .header("Content-Security-Policy", csp)
    };
    let html = asset("text/html; charset=utf-8", INDEX_HTML.as_bytes().to_vec());
    PlainHttp::routes([
        ("/".to_string(), html.clone()),
        ("/index.html".to_string(), html),
        ("/app.js".to_string(), asset("text/javascript; charset=utf-8", APP_JS.into())),
        ("/app.css".to_string(), asset("text/css; charset=utf-8", APP_CSS.into())),
        ("/config.json".to_string(), asset("application/json", config.to_string().into_bytes())),
    ])
}

/// The page for `serve --inspector`: it connects to `path` on its own origin.
pub fn direct_page(path: &str) -> PlainHttp {
    page(&serde_json::json!({ "mode": "direct", "endpoint": path }))
}

/// A URL fit to show: without user information or query (which may carry credentials).
fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let rest = match rest.split_once('/') {
        Some((authority, path)) => {
            format!("{}/{path}", authority.rsplit_once('@').map_or(authority, |(_, host)| host))
        }
        None => rest.rsplit_once('@').map_or(rest, |(_, host)| host).to_string(),
    };
    format!("{scheme}://{rest}")
}

struct Relay {
    net: Tokio,
    endpoint: Endpoint,
    memory: SubprotocolMemory,
    handshake: HandshakeConfig,
    ws_config: WebSocketConfig,
    connect_timeout: Duration,
    pipe: PipeConfig,
    local: SocketAddr,
}

/// A per-run secret: 32 bytes from the system's random generator, as 64 hex digits (a valid
/// subprotocol token).
fn relay_secret() -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system random generator failed".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Lets in only the page this run served: the upgrade must carry an `Origin` (a browser
/// always sends one; the origin list already refused every other origin, so a local process
/// that sends none is refused here, 403) and offer the run's secret as `mcp.auth.<secret>`,
/// which the page read from its URL's fragment (401 when missing or wrong; compared in
/// constant time, never logged).
struct PageOnly {
    secret: StaticToken,
}

impl Authenticator for PageOnly {
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision {
        if request.head.header("origin").is_none() {
            return AuthDecision::Refuse(Refusal::new(
                403,
                "the inspect relay serves only the inspector page it served (no Origin)",
            ));
        }
        match request.bearer_token() {
            Some(presented) if self.secret.matches(presented) => {
                AuthDecision::Allow(Principal::new("inspector-page"))
            }
            _ => AuthDecision::Refuse(unauthorized(
                "Bearer",
                "open the URL `mcp-ws inspect` printed: its #relay= fragment carries this run's \
                 secret",
            )),
        }
    }
}

/// Runs `mcp-ws inspect` until Ctrl-C.
pub async fn run(args: &InspectArgs) -> Result<ExitCode, String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {}: inspect serves only on loopback (its relay carries your credentials)",
            args.listen
        ));
    }
    let endpoint = args.auth.endpoint(&args.url)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let secret = relay_secret()?;
    let relay = Arc::new(relay_for(args, endpoint, local, &secret));
    // The secret travels only in the fragment, which a browser never sends in a request.
    println!("http://{local}/#relay={secret}");
    tracing::info!(
        target_url = %display_url(&args.url),
        "inspector at http://{local}/ (open the printed URL: it carries the relay's secret)"
    );
    let gate = ConnectionGate::new(ConnectionLimits::with_max_connections(64));
    let mut gated = Gated::new(listener, local, gate, relay.handshake.clone());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            incoming = gated.next() => {
                // None: accepting failed (and backed off); the loop goes on.
                if let Some(incoming) = incoming {
                    incoming.spawn_into(&mut connections, {
                        let relay = relay.clone();
                        move |stream, peer, permit| async move {
                            relay.serve(stream, peer).await;
                            drop(permit);
                        }
                    });
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    Ok(ExitCode::SUCCESS)
}

fn relay_for(args: &InspectArgs, endpoint: Endpoint, local: SocketAddr, secret: &str) -> Relay {
    let port = local.port();
    // Only the page's own origin may open the relay: under either loopback name it was
    // served at. The Host check (loopback names only) keeps DNS rebinding out of the page.
    let mut origins = vec![format!("http://{local}"), format!("http://localhost:{port}")];
    if local.ip().is_ipv4() {
        origins.push(format!("http://127.0.0.1:{port}"));
    } else {
        origins.push(format!("http://[::1]:{port}"));
    }
    let mut config =
        ServerConfig::new(Implementation::new("mcp-ws-inspect", env!("CARGO_PKG_VERSION")));
    config.path = RELAY_PATH.to_string();
    config.origins = OriginPolicy::List(origins);
    config.auth = Some(AuthCheck::new(PageOnly { secret: StaticToken::new(secret) }));
    config.session.limits.max_message_bytes = args.max_message_bytes;
    config.plain_http = Some(page(&serde_json::json!({
        "mode": "relay",
        "endpoint": RELAY_PATH,
        "target": display_url(&args.url),
    })));
    let ws_config = websocket_config(args.max_message_bytes);
    let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    let mut pipe = PipeConfig::default();
    pipe.ping_interval = seconds(args.ping_interval);
    pipe.idle_timeout = seconds(args.idle_timeout);
    Relay {
        net: Tokio::new(),
        endpoint,
        memory: SubprotocolMemory::default(),
        handshake: config.handshake_config(),
        ws_config,
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        pipe,
        local,
    }
}

impl Relay {
    async fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let addrs = ConnectionAddrs { peer: Some(peer), local: Some(self.local) };
        let accepted = match accept::accept(
            &self.net,
            TokioAdapter::new(stream),
            addrs,
            &self.handshake,
        )
        .await
        {
            Ok(accepted) => accepted,
            Err(accept::AcceptError::Answered { status, path }) => {
                tracing::debug!(%peer, status, path, "served the page");
                return;
            }
            Err(error) => {
                tracing::info!(%peer, "refused: {error}");
                return;
            }
        };
        let mut browser = accepted.ws;
        let dialed = dial(
            &self.net,
            &self.endpoint,
            ProtocolVersion::LATEST,
            &self.memory,
            self.ws_config,
            self.connect_timeout,
        )
        .await;
        let target = match dialed {
            Ok(dialed) => dialed,
            Err(error) => {
                tracing::info!(%peer, "cannot reach the target: {error}");
                let reason = CloseReason::new(CloseCode::BAD_GATEWAY, error.to_string());
                let deadline = self.net.now() + CLOSE_LIMIT;
                close_handshake(&self.net, &mut browser, Some(reason), deadline).await;
                return;
            }
        };
        tracing::info!(%peer, subprotocol = ?target.subprotocol, "relaying");
        pump(&self.net, self.pipe.clone(), browser, target.ws).await;
    }
}

/// Drives the core's [`Pipe`]: data frames are forwarded untouched (each write bounded by
/// [`WRITE_LIMIT`]), everything else is the machine's input, and its actions (pings, close
/// handshakes bounded by [`CLOSE_LIMIT`]) are performed in order until it ends.
async fn pump<A, B>(net: &Tokio, config: PipeConfig, mut browser: A, mut target: B)
where
    A: WebSocketIo,
    B: WebSocketIo,
{
    let mut machine = Pipe::new(config, net.now());
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                PipeAction::Ping(side) => {
                    let ping = WsMessage::Ping(Default::default());
                    let deadline = net.now() + WRITE_LIMIT;
                    let sent = match side {
                        Side::Downstream => write_by(net, deadline, browser.send(ping)).await,
                        Side::Upstream => write_by(net, deadline, target.send(ping)).await,
                    };
                    if sent.is_err() {
                        machine.handle_write_failed(side);
                    }
                }
                PipeAction::Answer(side) => {
                    // Closing the sink flushes the answer tungstenite queued to the socket.
                    let deadline = net.now() + CLOSE_LIMIT;
                    let _ = match side {
                        Side::Downstream => write_by(net, deadline, browser.close()).await,
                        Side::Upstream => write_by(net, deadline, target.close()).await,
                    };
                }
                PipeAction::Close(side, reason) => {
                    let deadline = net.now() + CLOSE_LIMIT;
                    match side {
                        Side::Downstream => {
                            close_handshake(net, &mut browser, reason, deadline).await;
                        }
                        Side::Upstream => {
                            close_handshake(net, &mut target, reason, deadline).await;
                        }
                    }
                }
            }
        }
        if machine.is_closed() {
            return;
        }
        let (side, read) = tokio::select! {
            read = browser.next() => (Side::Downstream, read),
            read = target.next() => (Side::Upstream, read),
            () = sleep_until_deadline(net, machine.poll_timeout()) => {
                machine.handle_timeout(net.now());
                continue;
            }
        };
        let now = net.now();
        match read {
            Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => {
                machine.handle_data(side, now);
                let deadline = now + WRITE_LIMIT;
                let sent = match side {
                    Side::Downstream => write_by(net, deadline, target.send(message)).await,
                    Side::Upstream => write_by(net, deadline, browser.send(message)).await,
                };
                if sent.is_err() {
                    machine.handle_write_failed(side.other());
                }
            }
            read => match classify(&read) {
                Inbound::Payload(_) | Inbound::Activity => machine.handle_activity(side, now),
                Inbound::PeerClosed(reason) => machine.handle_peer_closed(side, reason),
                Inbound::Violation(reason) => machine.handle_violation(side, reason),
                Inbound::Lost(why) => machine.handle_lost(side, &why),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_lose_credentials() {
        assert_eq!(display_url("ws://u:p@h:1/mcp?token=x"), "ws://h:1/mcp");
        assert_eq!(display_url("wss://h"), "wss://h");
    }

    #[test]
    fn the_page_is_served_with_its_config_and_headers() {
        let plain = direct_page("/mcp");
        let head = |path: &str| mcp_ws_driver::RequestHead {
            method: "GET".into(),
            target: path.into(),
            minor_version: 1,
            ..Default::default()
        };
        let index = plain.answer(&head("/")).expect("index");
        assert!(String::from_utf8_lossy(&index.body).contains("app.js"));
        assert!(index.headers.iter().any(|(n, _)| n == "Content-Security-Policy"));
        let config = plain.answer(&head("/config.json?x")).expect("config");
        assert_eq!(config.body, br#"{"endpoint":"/mcp","mode":"direct"}"#);
        assert!(plain.answer(&head("/other")).is_none());
    }
}
