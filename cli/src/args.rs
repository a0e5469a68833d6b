//! The command line: subcommands and their flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::core::mcp::{ElicitAction, ElicitResult};
use mcp_ws_driver::dial::Endpoint;
use mcp_ws_driver::{ClientConfig, ClientTls, TrustedProxies};

/// MCP over WebSocket: serve, bridge and call MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-ws", version, about)]
pub struct Cli {
    /// More logging on stderr (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// How log lines are written on stderr: `text` for people, `json` (one JSON object per
    /// line: timestamp, level, target, fields) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The formats of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Plain text, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
// Parsed once at start-up: the size of its largest variant (serve's flags) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the built-in demo server, or any stdio MCP server (`--stdio -- CMD ARGS...`),
    /// over WebSocket.
    Serve(ServeArgs),
    /// Bridge stdin/stdout (MCP stdio transport) to a WebSocket MCP server, with keepalive and
    /// auto-reconnect.
    Connect(ConnectArgs),
    /// List a server's tools with their arguments (name, type, required or default).
    Tools(ToolsArgs),
    /// Call one tool (its arguments are checked against the listed input schema first).
    Call(CallArgs),
    /// List, read or list the templates of a server's resources.
    #[command(subcommand)]
    Resources(ResourcesCommand),
    /// List a server's prompts, or get one filled with arguments.
    #[command(subcommand)]
    Prompts(PromptsCommand),
    /// Ask for completions of a prompt argument or a resource template variable.
    Complete(CompleteArgs),
    /// Print resource updates (and, with --lists, list changes) as they come: legacy
    /// `resources/subscribe`, or `subscriptions/listen` in 2026-07-28.
    Watch(WatchArgs),
    /// Check that a server answers: `ping` (legacy era) or `server/discover` (2026-07-28).
    Ping(PingArgs),
    /// Open a browser inspector for any WebSocket MCP server: serves a page on loopback and
    /// relays its WebSocket to URL (with --auth-token/--header/--ca-cert, kept out of the page).
    Inspect(InspectArgs),
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (`HOST:PORT`; a host name such as `localhost` is resolved).
    #[arg(long, default_value = "127.0.0.1:8765", value_parser = listen_address)]
    pub listen: SocketAddr,
    /// The HTTP path of the endpoint (starting with `/`); other paths get 404.
    #[arg(long, default_value = "/mcp", value_parser = endpoint_path)]
    pub path: String,
    /// Seconds between WebSocket pings on a quiet connection (0 turns pings off).
    #[arg(long, default_value_t = 20)]
    pub ping_interval: u64,
    /// Seconds without any frame from a client before it is declared dead.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout: u64,
    /// Seconds a client has to finish the MCP lifecycle (`initialize` and `initialized`, or a
    /// first 2026-07-28 request or `server/discover`) before it is closed with 1008; 0 waits
    /// forever.
    #[arg(long, default_value_t = 10)]
    pub lifecycle_timeout: u64,
    /// The largest message accepted, in bytes (larger ones close with 1009).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Serve a stdio MCP server instead of the demo: one child process per connection.
    #[arg(long)]
    pub stdio: bool,
    /// Be a gateway instead of the demo: every client session (WebSocket or Streamable HTTP)
    /// is relayed, ids untouched, to its own connection to the MCP server at this URL
    /// (`ws://`, `wss://`, `http://` or `https://`). An upstream that cannot be reached
    /// answers the client's requests with -32000 and closes it with 1011.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with_all = ["stdio", "page_size", "redis", "state_key", "input_state_ttl", "kill_grace", "stdio_queue_bytes"]
    )]
    pub upstream: Option<String>,
    /// With --upstream: send this header to the upstream, `Name: value` (repeatable; e.g. its
    /// `Authorization`).
    #[arg(long = "upstream-header", value_name = "NAME: VALUE", requires = "upstream")]
    pub upstream_headers: Vec<String>,
    /// With --upstream: also trust this CA certificate (PEM) for a wss:// or https:// upstream.
    #[arg(long, value_name = "FILE", requires = "upstream")]
    pub upstream_ca_cert: Option<PathBuf>,
    /// With --upstream: seconds opening the upstream for a client may take.
    #[arg(long, default_value_t = 10, value_name = "SECS", requires = "upstream")]
    pub upstream_connect_timeout: u64,
    /// With --upstream: the most requests of one client waiting for the upstream at once;
    /// one more is answered -32000 by the gateway.
    #[arg(long, default_value_t = 64, value_name = "N", requires = "upstream")]
    pub upstream_max_in_flight: usize,
    /// Serve wss:// with this certificate chain (PEM, leaf first); needs --tls-key. SIGHUP
    /// reloads both files.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require this bearer token (`Authorization: Bearer`, or a `mcp.auth.<token>`
    /// subprotocol from browsers); wrong or missing ones get 401.
    #[arg(long, value_name = "TOKEN", env = "MCP_WS_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Allow browser pages from this origin (`https://app.example.com`; repeatable; `*` allows
    /// every origin). Default: loopback origins when listening on loopback, none otherwise.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Accept this Host name (repeatable; `*` accepts any), e.g. the public name a reverse
    /// proxy forwards. Default: loopback names when listening on loopback, any otherwise.
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// The most connections held at once; beyond, 503 with Retry-After (default: 10000 for the
    /// demo server, 64 for --stdio, either lowered to fit the process's file descriptor limit).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// The most connections held at once from one client address (default: no such cap).
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
    /// The most Streamable HTTP sessions (legacy era, `Mcp-Session-Id`) open at once; beyond,
    /// an `initialize` gets 503 (0 refuses every one). Each also counts against
    /// --max-connections.
    #[arg(long, value_name = "N", default_value_t = mcp_ws_driver::core::streamable::SessionLimits::DEFAULT_MAX_SESSIONS, value_parser = clap::value_parser!(usize))]
    pub max_http_sessions: usize,
    /// Seconds a Streamable HTTP session may go without a request (and with no stream open)
    /// before it is ended.
    #[arg(long, value_name = "SECS", default_value_t = mcp_ws_driver::core::streamable::SessionLimits::DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub http_session_idle: u64,
    /// This node's name (1 to 32 of A-Z a-z 0-9 _ -), put in front of every Streamable HTTP
    /// session id it mints (`NAME.<32 hex digits>`), so a load balancer in front of several
    /// nodes can route each session's requests to it (see the README's "Running several
    /// nodes").
    #[arg(long, value_name = "NAME", value_parser = node_id)]
    pub node_id: Option<mcp_ws_driver::core::streamable::NodeId>,
    /// Seconds a client may take to complete the handshake (TLS, request head, upgrade).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub handshake_timeout: u64,
    /// Also serve the browser inspector page at `/` (same origin; it connects to the endpoint).
    #[arg(long)]
    pub inspector: bool,
    /// Items per page of the demo server's tools/list, resources/list,
    /// resources/templates/list and prompts/list (1 to 10000); clients follow `nextCursor`.
    #[arg(long, default_value_t = mcp_ws_driver::server::router::DEFAULT_PAGE_SIZE, value_name = "N", value_parser = page_size)]
    pub page_size: usize,
    /// The secret (at least 16 bytes) that seals the requestState of input_required round
    /// trips (2026-07-28). Nodes behind one load balancer must share it; default: a random
    /// key per process.
    #[arg(long, value_name = "SECRET", env = "MCP_WS_STATE_KEY", hide_env_values = true)]
    pub state_key: Option<String>,
    /// Seconds a client may take to answer an input_required round before its state expires.
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    pub input_state_ttl: u64,
    /// Seconds a shutdown (SIGTERM or Ctrl-C) lets in-flight calls finish before every session
    /// is closed with 1001; meanwhile /healthz answers 503 and new upgrades get 503 with
    /// Retry-After. A second signal exits at once.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub shutdown_grace: u64,
    /// Serve /metrics (and /healthz) on this address of its own, without the token; meant
    /// for a loopback address. Without it /metrics is on the endpoint's listener and needs
    /// the --auth-token when one is set.
    #[arg(long, value_name = "ADDR", value_parser = listen_address)]
    pub metrics_listen: Option<SocketAddr>,
    /// Behind a reverse proxy: believe X-Forwarded-For and X-Forwarded-Host from these peers
    /// (comma-separated addresses or CIDR blocks, e.g. `127.0.0.1,10.0.0.0/8`). The client's
    /// address (logs, --max-connections-per-ip) is then the right-most forwarded address
    /// that is not one of them. Without it those headers are ignored.
    #[arg(long, value_name = "ADDRS", value_parser = trusted_proxies)]
    pub trust_proxy: Option<TrustedProxies>,
    /// Fan change notifications (the demo's `touch`, resource updates, list changes) out to
    /// every node of this server through Redis pub/sub at this URL (`redis://host:port/`):
    /// run several `serve --redis` nodes behind a load balancer and a subscriber on any node
    /// hears a change published on any other. A lost Redis connection is retried with
    /// backoff; local notifications go on meanwhile.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// The Redis pub/sub channel of --redis (one per server; every node of it uses the same).
    #[arg(long, value_name = "NAME", default_value = "mcp-ws:changes", requires = "redis")]
    pub redis_channel: String,
    /// With --stdio: seconds a child may take to exit after SIGTERM before it gets SIGKILL.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub kill_grace: u64,
    /// With --stdio: bytes of client messages that may wait for a child to read them; beyond,
    /// the relay stops reading that client until the child catches up (it goes on reading the
    /// child's output). One message larger than this still passes, alone.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    pub stdio_queue_bytes: usize,
    /// The stdio server's command and arguments (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

impl ServeArgs {
    /// The ping interval, `None` when turned off.
    pub fn ping(&self) -> Option<Duration> {
        (self.ping_interval > 0).then(|| Duration::from_secs(self.ping_interval))
    }

    /// The idle timeout.
    pub fn idle(&self) -> Option<Duration> {
        (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout))
    }
}

/// How client commands authenticate and what TLS roots they trust.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Also trust this CA certificate (PEM) for wss:// (public roots are always trusted).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Send `Authorization: Bearer TOKEN` on the handshake.
    #[arg(long, value_name = "TOKEN", env = "MCP_WS_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Send this extra handshake header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

impl AuthArgs {
    /// The TLS roots: the public ones plus `--ca-cert`.
    pub fn tls(&self) -> Result<ClientTls, String> {
        let tls = ClientTls::new();
        match &self.ca_cert {
            None => Ok(tls),
            Some(path) => tls.add_ca_pem_file(path).map_err(|e| format!("--ca-cert: {e}")),
        }
    }

    /// The handshake headers: `--header`s, then `Authorization` from `--auth-token`.
    pub fn headers(&self) -> Result<Vec<(String, String)>, String> {
        let mut headers = Vec::new();
        for header in &self.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("--header {header:?}: expected `Name: value`"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        if let Some(token) = &self.auth_token {
            headers.push(("Authorization".to_string(), format!("Bearer {token}")));
        }
        Ok(headers)
    }

    /// Applies these flags to a client configuration.
    pub fn apply(&self, mut config: ClientConfig) -> Result<ClientConfig, String> {
        config.headers.extend(self.headers()?);
        Ok(config.tls(self.tls()?))
    }

    /// The endpoint `url` with these flags' roots and headers.
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, String> {
        let tls = self.tls()?;
        let headers = self.headers()?;
        let endpoint = Endpoint::parse(url)
            .and_then(|e| e.with_headers(&headers))
            .map_err(|e| format!("{url}: {e}"))?;
        Ok(endpoint.with_tls(&tls))
    }
}

/// Flags of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server's ws:// or wss:// URL.
    pub url: String,
    /// TLS and authentication.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Seconds between WebSocket pings.
    #[arg(long, default_value_t = 20)]
    pub ping_interval: u64,
    /// Seconds without any frame from the server before the connection is declared dead.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout: u64,
    /// Give up reconnecting after this many consecutive failed attempts (0 = never).
    #[arg(long, default_value_t = 0)]
    pub max_attempts: u32,
}

/// Flags shared by the client commands (`tools`, `call`, `resources`, `prompts`, ...).
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's URL: ws:// or wss:// (WebSocket), http:// or https:// (Streamable HTTP).
    pub url: String,
    /// TLS and authentication.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Speak exactly this protocol version (default: probe 2026-07-28, fall back to legacy).
    #[arg(long, value_name = "VERSION", value_parser = protocol_version)]
    pub protocol_version: Option<ProtocolVersion>,
    /// A root to report when the server asks `roots/list` (repeatable; a `file://` URI).
    #[arg(long = "root", value_name = "URI")]
    pub roots: Vec<String>,
    /// How to answer when the server asks the user (`elicitation/create`): `accept` (an empty
    /// form), `accept:JSON` (the form's values, a JSON object), `decline` or `cancel`. Without
    /// it the client declares no elicitation support.
    #[arg(long, value_name = "ANSWER", value_parser = elicit_answer)]
    pub elicit: Option<ElicitResult>,
}

/// Parses `--elicit`.
fn elicit_answer(text: &str) -> Result<ElicitResult, String> {
    let (action, content) = match text.split_once(':') {
        Some((action, json)) => (action, Some(json)),
        None => (text, None),
    };
    let action = match action {
        "accept" => ElicitAction::Accept,
        "decline" => ElicitAction::Decline,
        "cancel" => ElicitAction::Cancel,
        other => return Err(format!("{other}: expected accept[:JSON], decline or cancel")),
    };
    let content = match content {
        None if action == ElicitAction::Accept => Some(Default::default()),
        None => None,
        Some(_) if action != ElicitAction::Accept => {
            return Err("only accept takes form values".into());
        }
        Some(json) => match serde_json::from_str(json) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => return Err(format!("{json}: the form values must be a JSON object")),
        },
    };
    Ok(ElicitResult { action, content, meta: None, extra: Default::default() })
}

/// Flags of `tools`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The tool's name.
    pub tool: String,
    /// The arguments, as a JSON object; `-` reads them from stdin, `@FILE` from a file.
    #[arg(default_value = "{}")]
    pub arguments: String,
    /// Send the arguments without checking them against the tool's listed input schema
    /// (and call a tool the server does not list).
    #[arg(long)]
    pub no_check: bool,
}

/// `resources` and what it does.
#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// List the resources (following `nextCursor` through every page).
    List(ClientArgs),
    /// Read one resource and print its contents.
    Read(ReadArgs),
    /// List the resource templates.
    Templates(ClientArgs),
}

/// Flags of `resources read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The resource's URI.
    pub uri: String,
}

/// `prompts` and what it does.
#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// List the prompts with their arguments.
    List(ClientArgs),
    /// Get one prompt filled with arguments and print its messages.
    Get(PromptGetArgs),
}

/// Flags of `prompts get`.
#[derive(Debug, Args)]
pub struct PromptGetArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The prompt's name.
    pub name: String,
    /// Its arguments, `NAME=VALUE` each.
    #[arg(value_name = "NAME=VALUE", value_parser = name_value)]
    pub arguments: Vec<(String, String)>,
}

/// Flags of `complete`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("reference").required(true).args(["prompt", "resource"])))]
pub struct CompleteArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Complete an argument of this prompt.
    #[arg(long, value_name = "NAME")]
    pub prompt: Option<String>,
    /// Complete a variable of this resource template (`demo://echo/{text}`).
    #[arg(long, value_name = "URI_TEMPLATE")]
    pub resource: Option<String>,
    /// The argument (or template variable) to complete.
    pub argument: String,
    /// What is typed so far.
    #[arg(default_value = "")]
    pub value: String,
    /// The values of other arguments already chosen, `NAME=VALUE` (repeatable).
    #[arg(long = "context", value_name = "NAME=VALUE", value_parser = name_value)]
    pub context: Vec<(String, String)>,
}

/// Flags of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The server's URL: ws:// or wss:// (WebSocket), http:// or https:// (Streamable HTTP).
    pub url: String,
    /// The resources to follow (`notifications/resources/updated`).
    #[arg(value_name = "URI")]
    pub uris: Vec<String>,
    /// Also print changes of the tool, resource and prompt lists.
    #[arg(long)]
    pub lists: bool,
    /// Stop after this many updates (exit 1 if --timeout comes first).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// TLS and authentication.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Print each notification as one line of JSON.
    #[arg(long)]
    pub json: bool,
    /// Speak exactly this protocol version (default: probe 2026-07-28, fall back to legacy).
    #[arg(long, value_name = "VERSION", value_parser = protocol_version)]
    pub protocol_version: Option<ProtocolVersion>,
}

/// Flags of `ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// Connection flags.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Parses `NAME=VALUE`.
fn name_value(given: &str) -> Result<(String, String), String> {
    match given.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("{given}: expected NAME=VALUE")),
    }
}

/// Parses `--protocol-version`: one of the versions this build speaks.
pub fn protocol_version(given: &str) -> Result<ProtocolVersion, String> {
    ProtocolVersion::parse(given).ok_or_else(|| {
        let valid: Vec<&str> = ProtocolVersion::ALL.iter().map(|v| v.as_str()).collect();
        format!("unknown protocol version {given}; valid versions: {}", valid.join(", "))
    })
}

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The server's URL: ws://, wss://, http:// or https:// (Streamable HTTP).
    pub url: String,
    /// Where the page is served (loopback only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8766", value_parser = listen_address)]
    pub listen: SocketAddr,
    /// TLS and authentication for the target (never sent to the browser).
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Seconds the relay may take to connect to the target.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub connect_timeout: u64,
    /// The largest message relayed, in bytes (a larger one from the page closes it with 1009).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Seconds between WebSocket pings to a quiet page or target (0 turns pings off).
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    pub ping_interval: u64,
    /// Seconds without any frame from the page or the target before that side is declared
    /// dead and both are closed (0 waits forever).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub idle_timeout: u64,
}

/// Parses `HOST:PORT` for a listener: an address, or a name resolved now (IPv4 preferred, as
/// `localhost` usually means `127.0.0.1` to the clients that will connect).
pub fn listen_address(given: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = given.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = given
        .to_socket_addrs()
        .map_err(|e| format!("expected HOST:PORT (e.g. 127.0.0.1:8765 or localhost:8765): {e}"))?
        .collect();
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{given} resolves to no address"))
}

/// Parses `--page-size`: a whole number from 1 to the router's maximum.
pub fn page_size(given: &str) -> Result<usize, String> {
    let max = mcp_ws_driver::server::router::MAX_PAGE_SIZE;
    match given.parse::<usize>() {
        Ok(size) if (1..=max).contains(&size) => Ok(size),
        _ => Err(format!("the page size must be a whole number from 1 to {max}")),
    }
}

/// Parses `--node-id`.
pub fn node_id(given: &str) -> Result<mcp_ws_driver::core::streamable::NodeId, String> {
    mcp_ws_driver::core::streamable::NodeId::new(given).map_err(|e| e.to_string())
}

/// Parses `--trust-proxy`.
pub fn trusted_proxies(given: &str) -> Result<TrustedProxies, String> {
    let proxies = TrustedProxies::parse_list(given).map_err(|e| e.to_string())?;
    if proxies.is_empty() {
        return Err("expected addresses or CIDR blocks, e.g. 127.0.0.1,10.0.0.0/8".into());
    }
    Ok(proxies)
}

/// Checks an endpoint path: it must start with `/` (a path like `mcp` would make the URL
/// `ws://127.0.0.1:8765mcp`).
pub fn endpoint_path(given: &str) -> Result<String, String> {
    if given.starts_with('/') {
        Ok(given.to_string())
    } else {
        Err(format!("the path must start with '/' (did you mean /{given}?)"))
    }
}
