//! The browser inspector: a page (plain HTML, CSS and JavaScript compiled into the binary, no
//! CDN, no build step) that connects to a WebSocket MCP server, lists and calls its tools,
//! reads its resources and prompts, answers its requests, and shows every frame.
//!
//! - `mcp-ws serve --inspector` serves the page at `/` of the demo server itself, through the
//!   driver's plain-HTTP hook ([`mcp_ws_driver::PlainHttp`]); the page connects to the
//!   endpoint on the same origin.
//! - `mcp-ws inspect URL` serves the page on loopback and, at [`RELAY_PATH`], the library's
//!   [`Server`] with the gateway backend ([`SessionBackend::Gateway`]): every session the page
//!   opens is relayed to its own connection to URL, opened with the driver's client (so
//!   `--auth-token`, `--header` and `--ca-cert` apply to the target and never reach the
//!   browser). Admission is the server's own: the allowed origins are the page's own origin
//!   under its loopback names and one is required ([`OriginPolicy::Required`]), the run's
//!   secret is the server's token (offered by the page as `mcp.auth.<secret>`: it reads it
//!   from the `#relay=` fragment of the printed URL), Host is checked against DNS rebinding,
//!   and at most [`MAX_CONNECTIONS`] are held. What passes and when each side ends (keepalive
//!   and the idle timeout on both legs, 1009 for an oversized page frame, close frames answered
//!   and passed on, the page's frames checked by the core codec) is the core's gateway
//!   machine. A target that cannot be reached gets the page's requests answered -32000 with
//!   the dial error, then the page's socket closed with 1014 (bad gateway; the gateway's
//!   [`Upstream::upstream_failed`], 1011 by default) and the same reason; a target lost,
//!   silent past the idle timeout or closed without a close frame closes it with 1014 too, so
//!   the page reconnects. The relay also answers Streamable HTTP at the same path, under the
//!   same checks.
//!
//! The page learns which mode it is in from `/config.json`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mcp_ws_driver::core::CloseCode;
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::server::gateway::{SessionBackend, Upstream};
use mcp_ws_driver::server::limits::ConnectionLimits;
use mcp_ws_driver::{
    AuthCheck, Network, OriginPolicy, PlainHttp, PlainResponse, Router, Server, ServerConfig,
    StaticToken,
};
use mcp_ws_tokio::Tokio;

use crate::args::InspectArgs;

/// Where `inspect` serves the relay.
pub const RELAY_PATH: &str = "/relay";

const INDEX_HTML: &str = include_str!("../assets/inspector/index.html");
const APP_JS: &str = include_str!("../assets/inspector/app.js");
const APP_CSS: &str = include_str!("../assets/inspector/app.css");

/// The close code for "the target could not be reached, was lost or stopped answering" (1014,
/// Bad Gateway): browsers take it, and the page reconnects on it.
pub const BAD_GATEWAY: CloseCode = CloseCode::BAD_GATEWAY;

/// The most connections (sockets and Streamable HTTP sessions) the relay holds at once.
pub const MAX_CONNECTIONS: usize = 64;

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

/// Runs `mcp-ws inspect` until Ctrl-C.
pub async fn run(args: &InspectArgs) -> Result<ExitCode, String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "--listen {}: inspect serves only on loopback (its relay carries your credentials)",
            args.listen
        ));
    }
    let endpoint = args.auth.endpoint(&args.url)?;
    let net = Tokio::new();
    // Bound first: the allowed origins name the port the system picked.
    let listener = net
        .bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = net.local_addr(&listener).map_err(|e| e.to_string())?;
    let secret = relay_secret()?;
    let mut upstream = Upstream::new(&args.url).map_err(|e| format!("{}: {e}", args.url))?;
    upstream.endpoint = endpoint;
    upstream.connect_timeout = Duration::from_secs(args.connect_timeout.max(1));
    upstream.upstream_failed = BAD_GATEWAY;
    let config = relay_config(args, local, &secret, upstream);
    let server = Server::new(net, Router::new(), config);
    let listening = server.listen_on(listener).map_err(|e| e.to_string())?;
    // The secret travels only in the fragment, which a browser never sends in a request.
    println!("http://{local}/#relay={secret}");
    tracing::info!(
        target_url = %display_url(&args.url),
        "inspector at http://{local}/ (open the printed URL: it carries the relay's secret)"
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = listening.run() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The relay's server: the page at `/`, the gateway to `upstream` at [`RELAY_PATH`] for the
/// page this run served only.
fn relay_config(
    args: &InspectArgs,
    local: std::net::SocketAddr,
    secret: &str,
    upstream: Upstream,
) -> ServerConfig {
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
    config.origins = OriginPolicy::Required(origins);
    // Compared in constant time, never logged.
    config.auth = Some(AuthCheck::new(StaticToken::new(secret)));
    config.session.limits.max_message_bytes = args.max_message_bytes;
    let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    config.session.ping_interval = seconds(args.ping_interval);
    config.session.idle_timeout = seconds(args.idle_timeout);
    config.limits = ConnectionLimits::with_max_connections(MAX_CONNECTIONS);
    config.plain_http = Some(page(&serde_json::json!({
        "mode": "relay",
        "endpoint": RELAY_PATH,
        "target": display_url(&args.url),
    })));
    config.backend = SessionBackend::Gateway(Arc::new(upstream));
    config
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
