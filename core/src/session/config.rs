//! Session configuration: who we are, which versions and era we speak, and every limit and
//! timer the session enforces. Defaults follow `docs/binding.md` and what real peers do.

use std::time::Duration;

use crate::codec::Limits;
use crate::mcp::{ClientCapabilities, Implementation, ServerCapabilities};
use crate::version::{Era, ProtocolVersion};

/// Which era a client session speaks and how it picks one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraPolicy {
    /// Legacy lifecycle only: `initialize` asking for this version.
    Legacy(ProtocolVersion),
    /// The 2026-07-28 era only: no handshake, every request stamped with `_meta`.
    Modern,
    /// Probe with `server/discover`; fall back to `initialize` with `fallback` on any error, on
    /// an answer without a modern version we speak, or when the probe times out.
    DualEra {
        /// The legacy version to ask for when falling back.
        fallback: ProtocolVersion,
    },
}

/// What a client session does with application requests sent before the session is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeReady {
    /// Hold them (bounded by `max_pending_outgoing`) and send them once ready.
    Queue,
    /// Refuse them with [`crate::session::SessionError::NotReady`].
    Reject,
}

/// Which side of the connection a session plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// The side that connects and sends `initialize` (or stamped requests).
    Client {
        /// Capabilities declared to the server.
        capabilities: ClientCapabilities,
        /// How the era is chosen.
        era: EraPolicy,
    },
    /// The side that accepts connections and answers the lifecycle.
    Server {
        /// Capabilities declared to the client.
        capabilities: ServerCapabilities,
        /// Optional instructions returned in the `initialize` result.
        instructions: Option<String>,
    },
}

/// The configuration of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Client or server, with the role's own settings.
    pub role: Role,
    /// Our name and version, sent as `clientInfo` or `serverInfo`.
    pub info: Implementation,
    /// The versions this side speaks. A server answers both eras from this set.
    pub versions: Vec<ProtocolVersion>,
    /// What happens to application requests before the session is ready.
    pub before_ready: BeforeReady,
    /// The timeout of an outgoing request unless the call overrides it.
    pub request_timeout: Duration,
    /// How long a dual-era client waits for the `server/discover` probe before falling back.
    pub discover_timeout: Duration,
    /// How often to ask the driver for a WebSocket ping when nothing has arrived; `None` never.
    pub ping_interval: Option<Duration>,
    /// How long without any inbound frame before the peer is declared dead and the session
    /// closes with 1001.
    pub idle_timeout: Option<Duration>,
    /// The most outgoing requests in flight (including queued ones); more are refused.
    pub max_pending_outgoing: usize,
    /// The most incoming requests awaiting our response; more get a -32603 error.
    pub max_concurrent_incoming: usize,
    /// How many malformed frames are answered before the session closes with 1008.
    pub malformed_budget: u32,
    /// One counted malformed frame is forgiven per this interval (the budget refills), so only
    /// a burst closes a long session; zero never forgives.
    pub malformed_decay: Duration,
    /// How long a server gives a client to finish the lifecycle (legacy: `initialize` and
    /// `notifications/initialized`; 2026-07-28: a first stamped request or `server/discover`)
    /// before closing with 1008 (policy violation) and a reason naming the lifecycle. `None`
    /// waits forever; clients ignore it.
    pub lifecycle_timeout: Option<Duration>,
    /// Decoder limits.
    pub limits: Limits,
    /// A client's wanted log level, stamped as `_meta["io.modelcontextprotocol/logLevel"]` on
    /// each of its 2026-07-28 requests that does not name one itself. `None` (the default)
    /// stamps nothing, and a 2026-07-28 server then sends no log messages for the request.
    /// The legacy era ignores this: there `logging/setLevel` sets the connection's level.
    pub log_level: Option<crate::mcp::LoggingLevel>,
}

impl SessionConfig {
    /// A client configuration with defaults: dual-era, all released versions.
    pub fn client(info: Implementation) -> Self {
        Self::with_role(
            Role::Client {
                capabilities: ClientCapabilities::default(),
                era: EraPolicy::DualEra { fallback: ProtocolVersion::LATEST_LEGACY },
            },
            info,
        )
    }

    /// A server configuration with defaults: both eras, all released versions.
    pub fn server(info: Implementation) -> Self {
        Self::with_role(
            Role::Server { capabilities: ServerCapabilities::default(), instructions: None },
            info,
        )
    }

    fn with_role(role: Role, info: Implementation) -> Self {
        SessionConfig {
            role,
            info,
            versions: ProtocolVersion::ALL.to_vec(),
            before_ready: BeforeReady::Queue,
            request_timeout: Duration::from_secs(60),
            discover_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Some(Duration::from_secs(60)),
            max_pending_outgoing: 1024,
            max_concurrent_incoming: 256,
            malformed_budget: 16,
            malformed_decay: Duration::from_secs(10),
            lifecycle_timeout: Some(Duration::from_secs(10)),
            limits: Limits::default(),
            log_level: None,
        }
    }

    /// Checks the configuration for contradictions.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.versions.is_empty() {
            return Err(ConfigError("at least one protocol version is needed"));
        }
        if let Role::Client { era, .. } = &self.role {
            let speaks = |era: Era| self.versions.iter().any(|v| v.era() == era);
            match era {
                EraPolicy::Legacy(v) | EraPolicy::DualEra { fallback: v } => {
                    if v.era() != Era::Legacy || !self.versions.contains(v) {
                        return Err(ConfigError(
                            "the legacy version must be a supported legacy version",
                        ));
                    }
                }
                EraPolicy::Modern => {}
            }
            if matches!(era, EraPolicy::Modern | EraPolicy::DualEra { .. }) && !speaks(Era::Modern)
            {
                return Err(ConfigError(
                    "modern or dual-era mode needs a supported modern version",
                ));
            }
        }
        if let (Some(ping), Some(idle)) = (self.ping_interval, self.idle_timeout) {
            if ping >= idle {
                return Err(ConfigError("ping_interval must be shorter than idle_timeout"));
            }
        }
        let zero = |d: Option<Duration>| d.is_some_and(|d| d.is_zero());
        if zero(self.ping_interval) || zero(self.idle_timeout) || self.request_timeout.is_zero() {
            return Err(ConfigError("timers must be longer than zero"));
        }
        if self.max_pending_outgoing == 0 || self.max_concurrent_incoming == 0 {
            return Err(ConfigError("request limits must be at least one"));
        }
        Ok(())
    }
}

/// A contradiction in a [`SessionConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid session configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}
