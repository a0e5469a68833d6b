//! WebSocket subprotocol negotiation, as the project's binding defines it.
//!
//! Real peers disagree here (see the README's wire binding): the official SDK clients offer
//! `mcp` and refuse a server that does not echo it; browsers accept only exactly `mcp`; some
//! servers select only the SEP-1288 forms `mcp.version.<v>`; the Python server answers `mcp`
//! even when nothing was offered. So a client offers `mcp` and `mcp.version.<preferred>`, and
//! when the server selects nothing it retries once offering nothing; a server selects `mcp` when
//! offered, else a `mcp.version.<v>` it speaks, else nothing. A `mcp.auth.<token>` offer carries
//! a bearer token from browsers and is never echoed.

use crate::version::ProtocolVersion;

/// The plain subprotocol name.
pub const MCP: &str = "mcp";

/// The prefix of SEP-1288 version offers.
pub const VERSION_PREFIX: &str = "mcp.version.";

/// The prefix of SEP-1288 bearer-token offers.
pub const AUTH_PREFIX: &str = "mcp.auth.";

/// What a client offers in `Sec-WebSocket-Protocol`, in order.
pub fn client_offer(preferred: ProtocolVersion) -> Vec<String> {
    vec![MCP.to_owned(), format!("{VERSION_PREFIX}{preferred}")]
}

/// The subprotocol a server selects from the client's offers (each header value may hold
/// several comma-separated names), or `None` to select nothing.
pub fn server_select(offered: &[&str], supported: &[ProtocolVersion]) -> Option<String> {
    let names: Vec<&str> =
        offered.iter().flat_map(|value| value.split(',')).map(str::trim).collect();
    if names.contains(&MCP) {
        return Some(MCP.to_owned());
    }
    names
        .iter()
        .filter_map(|name| name.strip_prefix(VERSION_PREFIX))
        .filter_map(ProtocolVersion::parse)
        .filter(|v| supported.contains(v))
        .max()
        .map(|v| format!("{VERSION_PREFIX}{v}"))
}

/// The bearer token a browser client offered as `mcp.auth.<token>`, if any.
pub fn offered_token<'a>(offered: &[&'a str]) -> Option<&'a str> {
    offered
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|name| name.strip_prefix(AUTH_PREFIX))
}

/// Whether a client accepts the server's selection: one of its offers, or nothing at all (then
/// the client retries offering nothing, see the module docs).
pub fn client_accepts(selected: Option<&str>, offered: &[String]) -> bool {
    match selected {
        None => true,
        Some(name) => offered.iter().any(|o| o == name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    #[test]
    fn the_client_offers_plain_mcp_and_its_preferred_version() {
        assert_eq!(client_offer(V2025_11_25), ["mcp", "mcp.version.2025-11-25"]);
    }

    #[test]
    fn the_server_echoes_exactly_mcp_when_offered() {
        assert_eq!(
            server_select(&["mcp.version.2025-06-18, mcp"], &ProtocolVersion::ALL).as_deref(),
            Some("mcp")
        );
    }

    #[test]
    fn the_server_selects_the_newest_version_form_it_speaks_without_plain_mcp() {
        let offered = ["mcp.version.2025-06-18", "mcp.version.2099-01-01, mcp.version.2025-03-26"];
        assert_eq!(
            server_select(&offered, &ProtocolVersion::ALL).as_deref(),
            Some("mcp.version.2025-06-18")
        );
        assert_eq!(server_select(&offered, &[V2024_11_05]), None);
    }

    #[test]
    fn the_server_selects_nothing_when_nothing_was_offered() {
        assert_eq!(server_select(&[], &ProtocolVersion::ALL), None);
        assert_eq!(server_select(&["graphql-ws"], &ProtocolVersion::ALL), None);
    }

    #[test]
    fn an_auth_offer_yields_its_token_and_is_never_selected() {
        let offered = ["mcp, mcp.auth.s3cr3t"];
        assert_eq!(offered_token(&offered), Some("s3cr3t"));
        assert_eq!(server_select(&["mcp.auth.s3cr3t"], &ProtocolVersion::ALL), None);
    }

    #[test]
    fn the_client_refuses_a_selection_it_did_not_offer() {
        let offer = client_offer(V2025_11_25);
        assert!(client_accepts(Some("mcp"), &offer));
        assert!(client_accepts(None, &offer));
        assert!(!client_accepts(Some("MCP"), &offer));
    }
}
