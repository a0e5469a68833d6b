//! The browser inspector: a page (plain HTML, CSS and JavaScript compiled into the binary, no
//! CDN, no build step) that connects to a WebSocket MCP server, lists and calls its tools,
//! reads its resources and prompts, answers its requests, and shows every frame.
//!
//! - `mcp-ws serve --inspector` serves the page at `/` of the demo server itself, through the
//!   driver's plain-HTTP hook ([`mcp_ws_driver::PlainHttp`]); the page connects to the
//!   endpoint on the same origin.
//! - `mcp-ws inspect URL` serves the page on loopback and a WebSocket relay at [`RELAY_PATH`]
//!   (Origin-checked to the page's own origin) that dials URL with the driver's
//!   [`mcp_ws_driver::dial::dial`] — so `--auth-token`, `--header` and `--ca-cert` apply
//!   to the target and never reach the browser — and pipes frames both ways untouched, close
//!   codes included. A target that cannot be reached closes the page's socket with 1014 (bad
//!   gateway) and the dial error as reason; a target connection lost without a close frame
//!   closes it with 1014 too, so the page reconnects.
//!
//! The page learns which mode it is in from `/config.json`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::protocol::WebSocketConfig;
use mcp_ws_driver::async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::core::{CloseCode, CloseReason, ProtocolVersion};
use mcp_ws_driver::dial::{Endpoint, SubprotocolMemory, dial};
use mcp_ws_driver::server::accept::{self, ConnectionAddrs, HandshakeConfig};
use mcp_ws_driver::server::limits::{ConnectionGate, ConnectionLimits};
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_driver::ws_io::{WebSocketIo, close_handshake};
use mcp_ws_driver::{OriginPolicy, PlainHttp, PlainResponse, Runtime, ServerConfig};
use mcp_ws_tokio::Tokio;
use tokio::net::{TcpListener, TcpStream};

use crate::args::InspectArgs;
use crate::listener::Gated;

/// Where `inspect` serves the relay.
pub const RELAY_PATH: &str = "/relay";

const INDEX_HTML: &str = include_str!("../assets/inspector/index.html");
const APP_JS: &str = include_str!("../assets/inspector/app.js");
const APP_CSS: &str = include_str!("../assets/inspector/app.css");

/// The close code for "the target could not be reached or was lost" (1014, Bad Gateway).
pub const BAD_GATEWAY: CloseCode = CloseCode(1014);

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
    local: SocketAddr,
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
    let relay = Arc::new(relay_for(args, endpoint, local));
    println!("http://{local}/");
    tracing::info!(target_url = %display_url(&args.url), "inspector at http://{local}/");
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

fn relay_for(args: &InspectArgs, endpoint: Endpoint, local: SocketAddr) -> Relay {
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
    config.session.limits.max_message_bytes = args.max_message_bytes;
    config.plain_http = Some(page(&serde_json::json!({
        "mode": "relay",
        "endpoint": RELAY_PATH,
        "target": display_url(&args.url),
    })));
    let ws_config = websocket_config(args.max_message_bytes);
    Relay {
        net: Tokio::new(),
        endpoint,
        memory: SubprotocolMemory::default(),
        handshake: config.handshake_config(),
        ws_config,
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
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
                let reason = CloseReason::new(BAD_GATEWAY, error.to_string());
                let deadline = self.net.now() + CLOSE_LIMIT;
                close_handshake(&self.net, &mut browser, Some(reason), deadline).await;
                return;
            }
        };
        tracing::info!(%peer, subprotocol = ?target.subprotocol, "relaying");
        pipe(&self.net, browser, target.ws).await;
    }
}

/// Pipes data frames both ways until one side closes; its close frame (code and reason) is
/// passed to the other side. A side lost without a close frame closes the other with 1014
/// (the target) or 1001 (the page).
async fn pipe<A, B>(net: &Tokio, mut browser: A, mut target: B)
where
    A: WebSocketIo,
    B: WebSocketIo,
{
    loop {
        tokio::select! {
            read = browser.next() => match read {
                Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => {
                    if !forward(&mut target, message).await {
                        let reason = CloseReason::new(BAD_GATEWAY, "the target stopped reading");
                        finish(net, &mut browser, Some(reason)).await;
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let reason = frame.map(|f| CloseReason::new(CloseCode(u16::from(f.code)), f.reason.to_string()));
                    finish(net, &mut target, reason).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let reason = CloseReason::new(CloseCode::GOING_AWAY, "the inspector page went away");
                    finish(net, &mut target, Some(reason)).await;
                    return;
                }
            },
            read = target.next() => match read {
                Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => {
                    if !forward(&mut browser, message).await {
                        let reason = CloseReason::new(CloseCode::GOING_AWAY, "the inspector page stopped reading");
                        finish(net, &mut target, Some(reason)).await;
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let reason = frame.map(|f| CloseReason::new(CloseCode(u16::from(f.code)), f.reason.to_string()));
                    finish(net, &mut browser, reason).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    let why = format!("the connection to the target was lost: {error}");
                    finish(net, &mut browser, Some(CloseReason::new(BAD_GATEWAY, why))).await;
                    return;
                }
                None => {
                    let why = "the connection to the target was lost";
                    finish(net, &mut browser, Some(CloseReason::new(BAD_GATEWAY, why))).await;
                    return;
                }
            },
        }
    }
}

async fn forward<S>(to: &mut S, message: WsMessage) -> bool
where
    S: Sink<WsMessage, Error = WsError> + Unpin,
{
    matches!(tokio::time::timeout(WRITE_LIMIT, to.send(message)).await, Ok(Ok(())))
}

/// Closes `side` with `reason` (a close frame without status when `None`; reserved codes that
/// may not be sent become 1000), waiting briefly for its answer.
async fn finish<S>(net: &Tokio, side: &mut S, reason: Option<CloseReason>)
where
    S: WebSocketIo,
{
    let reason = reason.map(|r| match r.code.0 {
        1005 | 1006 | 1015 => CloseReason::new(CloseCode::NORMAL, r.reason),
        _ => r,
    });
    close_handshake(net, side, reason, net.now() + CLOSE_LIMIT).await;
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
