//! What a client is configured with: the core session settings, the reconnect policy, the
//! connect timeout, the TLS roots and extra handshake headers (a bearer token), and the
//! handlers for the server's requests.

use std::time::Duration;

use mcp_ws_core::ProtocolVersion;
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::reconnect::{Reconnect, ReconnectConfig};
use mcp_ws_core::session::{EraPolicy, Role, SessionConfig};
use mcp_ws_core::time::Instant;

use super::peer_requests::PeerRequests;
use crate::dial::{DialError, Endpoint};
use crate::tls::ClientTls;

/// The configuration of a [`super::Client`].
///
/// ```
/// use std::time::Duration;
/// use mcp_ws_driver::ClientConfig;
/// use mcp_ws_driver::core::mcp::Implementation;
///
/// let mut config = ClientConfig::new(Implementation::new("my-client", "1.0.0"))
///     .bearer_token("s3cret")
///     .reconnect(None); // end the client when its connection is lost
/// config.connect_timeout = Duration::from_secs(5);
/// config.validate().unwrap();
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The core session settings (client role). Timers, limits, era and versions live here.
    pub session: SessionConfig,
    /// The reconnect policy; `None` ends the client when its connection is lost.
    pub reconnect: Option<ReconnectConfig>,
    /// The longest a TCP connect plus WebSocket upgrade may take.
    pub connect_timeout: Duration,
    /// The seed of the reconnect jitter; `None` picks a random one.
    pub jitter_seed: Option<u64>,
    /// How the server's requests are answered.
    pub peer_requests: PeerRequests,
    /// What `wss://` trusts; `None` means [`ClientTls::new`] (the compiled-in public roots).
    pub tls: Option<ClientTls>,
    /// Extra headers on every handshake, in order (`Authorization`, a proxy's API key...).
    pub headers: Vec<(String, String)>,
    /// How many `input_required` rounds (2026-07-28) one call may take before it fails with
    /// [`crate::CallError::InputRounds`]; each is answered with [`ClientConfig::peer_requests`].
    pub input_rounds: u32,
    /// For `http://` and `https://` endpoints: how many POSTs may be in flight at once (each
    /// holds one keep-alive HTTP/1.1 connection; as many idle ones are kept for reuse).
    pub http_max_concurrent_requests: usize,
    /// OAuth (MCP authorization) for `http://` and `https://` endpoints that answer `401`:
    /// discovery, registration, the authorization-code flow, step-up, refresh.
    pub oauth: Option<super::oauth::OAuthConfig>,
}

/// The default [`ClientConfig::input_rounds`].
pub const DEFAULT_INPUT_ROUNDS: u32 = 8;

impl ClientConfig {
    /// Defaults: dual-era (probe 2026-07-28, fall back to 2025-11-25), reconnect with the
    /// core's default backoff, 10 s connect timeout, no roots, server requests other than
    /// `ping` refused with -32601.
    pub fn new(info: Implementation) -> Self {
        ClientConfig {
            session: SessionConfig::client(info),
            reconnect: Some(ReconnectConfig::default()),
            connect_timeout: Duration::from_secs(10),
            jitter_seed: None,
            peer_requests: PeerRequests::default(),
            tls: None,
            headers: Vec::new(),
            input_rounds: DEFAULT_INPUT_ROUNDS,
            http_max_concurrent_requests: crate::http_client::DEFAULT_MAX_CONCURRENT_REQUESTS,
            oauth: None,
        }
    }

    /// Sets what `wss://` trusts.
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Adds a header to every handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Presents `token` as `Authorization: Bearer <token>` on every handshake.
    pub fn bearer_token(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// Authorizes with OAuth when an HTTP server answers `401` (see [`super::oauth`]).
    pub fn oauth(mut self, oauth: super::oauth::OAuthConfig) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// The endpoint `url` dialed with this configuration's TLS roots and headers.
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, DialError> {
        let mut endpoint = Endpoint::parse(url)?.with_headers(&self.headers)?;
        if let Some(tls) = &self.tls {
            endpoint = endpoint.with_tls(tls);
        }
        Ok(endpoint)
    }

    /// Sets how the era is chosen.
    pub fn era(mut self, era: EraPolicy) -> Self {
        if let Role::Client { era: current, .. } = &mut self.session.role {
            *current = era;
        }
        self
    }

    /// Speaks exactly `version`: legacy `initialize` asking for it, or the modern era.
    pub fn version(self, version: ProtocolVersion) -> Self {
        match version.era() {
            mcp_ws_core::Era::Legacy => self.era(EraPolicy::Legacy(version)),
            mcp_ws_core::Era::Modern => self.era(EraPolicy::Modern),
        }
    }

    /// Sets the reconnect policy (`None` turns reconnecting off).
    pub fn reconnect(mut self, reconnect: Option<ReconnectConfig>) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets how the server's requests are answered, declaring the matching capabilities.
    pub fn peer_requests(mut self, peer_requests: PeerRequests) -> Self {
        if let Role::Client { capabilities, .. } = &mut self.session.role {
            peer_requests.declare(capabilities);
        }
        self.peer_requests = peer_requests;
        self
    }

    /// The version put in the subprotocol offer: the legacy version asked for, or the newest
    /// modern version spoken.
    pub fn preferred_version(&self) -> ProtocolVersion {
        match &self.session.role {
            Role::Client { era: EraPolicy::Legacy(v), .. } => *v,
            _ => self
                .session
                .versions
                .iter()
                .copied()
                .max()
                .unwrap_or(ProtocolVersion::LATEST_LEGACY),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ClientConfigError> {
        if !matches!(self.session.role, Role::Client { .. }) {
            return Err(ClientConfigError::NotClientRole);
        }
        self.session.validate()?;
        if let Some(reconnect) = &self.reconnect {
            Reconnect::new(reconnect.clone(), 0, Instant::ZERO)?;
        }
        Endpoint::parse("ws://localhost/")
            .and_then(|e| e.with_headers(&self.headers))
            .map_err(|e| ClientConfigError::Header(Box::new(e)))?;
        if self.connect_timeout.is_zero() {
            return Err(ClientConfigError::ZeroConnectTimeout);
        }
        Ok(())
    }
}

/// What is contradictory in a [`ClientConfig`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// The session configuration has the server role.
    #[error("the session configuration must have the client role")]
    NotClientRole,
    /// The session settings are contradictory.
    #[error(transparent)]
    Session(#[from] mcp_ws_core::session::ConfigError),
    /// The reconnect settings are contradictory.
    #[error(transparent)]
    Reconnect(#[from] mcp_ws_core::reconnect::ReconnectError),
    /// A configured handshake header is invalid.
    #[error(transparent)]
    Header(Box<DialError>),
    /// `connect_timeout` is zero.
    #[error("connect_timeout must be longer than zero")]
    ZeroConnectTimeout,
}
