//! The server side of the WebSocket upgrade for an embedding HTTP server that runs
//! tungstenite's handshake itself: the path check (other paths get 404) and the subprotocol
//! selection of `docs/binding.md` (`mcp` when offered, exactly that string; else a
//! `mcp.version.<v>` we speak; else nothing).
//!
//! This applies no Origin, Host or token check. The server's own accept path
//! ([`super::accept::accept`]) and the pure [`super::handshake::decide`] do; an embedding server
//! should call `decide` on the request head (or check those itself) before upgrading.

use async_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use async_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::subprotocol;

/// Checks one upgrade request; pass it as tungstenite's handshake callback (to
/// `accept_hdr_async`) to apply this module's rules to an endpoint of your own.
#[derive(Debug, Clone, Copy)]
pub struct UpgradeCheck<'a> {
    /// The endpoint's path.
    pub path: &'a str,
    /// The protocol versions served (for `mcp.version.<v>` offers).
    pub versions: &'a [ProtocolVersion],
}

impl Callback for UpgradeCheck<'_> {
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        answer_upgrade(request, response, self.path, self.versions)
    }
}

/// The upgrade answer for `request`: a 404 for another path, else `response` with the selected
/// subprotocol (if any) set. Public so an embedding HTTP server can apply the same rules; the
/// error type is tungstenite's callback error, hence its size.
#[allow(clippy::result_large_err)]
pub fn answer_upgrade(
    request: &Request,
    mut response: Response,
    path: &str,
    versions: &[ProtocolVersion],
) -> Result<Response, ErrorResponse> {
    if request.uri().path() != path {
        let mut refusal =
            ErrorResponse::new(Some(format!("no MCP endpoint at this path; try {path}\n")));
        *refusal.status_mut() = StatusCode::NOT_FOUND;
        return Err(refusal);
    }
    if let Some(selected) = select_subprotocol(
        request
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        versions,
    ) {
        let value = HeaderValue::from_str(&selected).expect("subprotocol names are tokens");
        response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    Ok(response)
}

/// The subprotocol to select from the offered header values, if any.
pub fn select_subprotocol<'a>(
    offered: impl Iterator<Item = &'a str>,
    versions: &[ProtocolVersion],
) -> Option<String> {
    let offered: Vec<&str> = offered.collect();
    subprotocol::server_select(&offered, versions)
}
