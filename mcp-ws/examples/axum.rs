//! The MCP endpoint mounted in an axum application (WebSocket and Streamable HTTP on one
//! route): `GET /health` beside it, and a bearer-token middleware in front of `/mcp` (an axum
//! layer: it sees every request before the endpoint does). The endpoint's own Origin/Host checks and subprotocol selection apply too.
//!
//! `MCP_WS_TOKEN=secret cargo run -p mcp-ws --features axum --example axum`, then
//! `curl http://127.0.0.1:8767/health` and
//! `cargo run --bin mcp-ws -- call ws://127.0.0.1:8767/mcp add '{"a": 2, "b": 3}' --auth-token secret`
//! (`MCP_WS_LISTEN` moves the address; without `MCP_WS_TOKEN` the token is `secret`.)

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use mcp_ws::prelude::*;

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

/// The application: `/health`, and `/mcp` behind `require_token`.
pub fn app(token: String) -> axum::Router {
    let router = Router::new()
        .tool("add", "Adds a and b", |x: Add, _| async move { Ok((x.a + x.b).to_string()) });
    let mcp = mcp_ws::server(router, ServerConfig::new(Implementation::new("axum-example", "1")));
    axum::Router::new()
        .route("/mcp", any(mcp_ws::axum::handler(mcp)))
        .route_layer(middleware::from_fn_with_state(token, require_token))
        .route("/health", get(|| async { "ok" }))
}

/// An ordinary axum middleware: no `Authorization: Bearer TOKEN`, no MCP.
async fn require_token(State(token): State<String>, request: Request, next: Next) -> Response {
    let expected = format!("Bearer {token}");
    match request.headers().get(header::AUTHORIZATION) {
        Some(value) if value.as_bytes() == expected.as_bytes() => next.run(request).await,
        _ => (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "token needed\n")
            .into_response(),
    }
}

#[allow(dead_code)] // Tests include this file as a module and call `app` only.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let token = std::env::var("MCP_WS_TOKEN").unwrap_or_else(|_| "secret".into());
    let addr = std::env::var("MCP_WS_LISTEN").unwrap_or_else(|_| "127.0.0.1:8767".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("serving ws://{}/mcp and http://{0}/health", listener.local_addr()?);
    let app = app(token).into_make_service_with_connect_info::<mcp_ws::axum::Addrs>();
    axum::serve(listener, app).await
}
