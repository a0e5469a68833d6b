//! The client side of MCP authorization (OAuth 2.1), sans-IO: what to fetch after a server's
//! `401`/`403`, and what the answers mean.
//!
//! An [`OAuthFlow`] starts from the server's `WWW-Authenticate` challenge ([`Challenge`]) and
//! walks Protected Resource Metadata discovery (RFC 9728: the challenge's `resource_metadata`,
//! else the path-aware then the root well-known URL), authorization server metadata discovery
//! (RFC 8414 then OpenID Connect, in the MCP specification's order, the `issuer` checked against
//! the one the URL was built from), client identification (a pre-registered client, a Client ID
//! Metadata Document URL, or dynamic registration, RFC 7591), then either a refresh-token grant
//! or the authorization-code grant with PKCE (S256), `state`, the RFC 8707 `resource` and the
//! RFC 9207 `iss` check. Each step is a [`FlowStep`]: an HTTP request for the caller to make,
//! or an authorization URL whose redirect the caller brings back. No socket, no clock, no
//! randomness: the caller passes the random bytes the PKCE verifier and `state` are made from.
//!
//! What outlives one flow (the tokens, the client registered at an authorization server, the
//! scopes asked for so far) is an [`OAuthMemory`] the caller keeps between flows; credentials
//! are bound to the issuer that gave them and dropped when the resource names another one.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use url::Url;

/// The `offline_access` scope (asked for when the authorization server offers it and the
/// client wants refresh tokens).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// The most scopes one authorization asks for: scopes accumulate across step-ups, and a
/// server's challenges must not grow them without end.
pub const MAX_SCOPES: usize = 64;

/// How many random bytes [`OAuthFlow::new`] takes: 32 for the PKCE verifier, 16 for `state`.
pub const RANDOM_BYTES: usize = 48;

/// The parameters of a `Bearer` challenge in a `WWW-Authenticate` header (RFC 6750, RFC 9728).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// `resource_metadata`: where the Protected Resource Metadata is.
    pub resource_metadata: Option<String>,
    /// `scope`: the scopes the request needs, space-separated.
    pub scope: Option<String>,
    /// `error`: `invalid_token`, `insufficient_scope`...
    pub error: Option<String>,
}

impl Challenge {
    /// Reads the `Bearer` challenge of a `WWW-Authenticate` value (auth-params as `name=token`
    /// or `name="quoted string"`). A value without a `Bearer` challenge gives the empty one.
    pub fn parse(header: &str) -> Challenge {
        let mut challenge = Challenge::default();
        let Some(start) = find_scheme(header, "bearer") else { return challenge };
        let mut rest = &header[start + "bearer".len()..];
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            let Some(eq) = rest.find('=') else { break };
            let name = rest[..eq].trim();
            if name.is_empty() || name.contains([' ', '\t']) {
                // Another challenge (`Basic realm=...`) starts here.
                break;
            }
            let after = rest[eq + 1..].trim_start();
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = at + 1;
                            break;
                        }
                        other => value.push(other),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = after.find([',', ' ', '\t']).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            };
            match name.to_ascii_lowercase().as_str() {
                "resource_metadata" => challenge.resource_metadata = Some(value),
                "scope" => challenge.scope = Some(value),
                "error" => challenge.error = Some(value),
                _ => {}
            }
            rest = remaining;
        }
        challenge
    }

    /// Whether this is a `403` step-up challenge (`error="insufficient_scope"`).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }

    /// The challenged scopes.
    pub fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref())
    }
}

/// Where the auth scheme `scheme` (lower case) starts in a `WWW-Authenticate` value.
fn find_scheme(header: &str, scheme: &str) -> Option<usize> {
    let lower = header.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(scheme) {
        let at = from + found;
        let before_ok = at == 0 || matches!(lower.as_bytes()[at - 1], b' ' | b',' | b'\t');
        let after = lower.as_bytes().get(at + scheme.len());
        if before_ok && matches!(after, None | Some(b' ') | Some(b'\t')) {
            return Some(at);
        }
        from = at + scheme.len();
    }
    None
}

fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope.into_iter().flat_map(str::split_whitespace).map(str::to_string).collect()
}

/// A client registered in advance with an authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreRegisteredClient {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret` of a confidential client.
    pub client_secret: Option<String>,
}

impl PreRegisteredClient {
    /// A client id, with its secret when it has one.
    pub fn new(client_id: impl Into<String>, client_secret: Option<String>) -> Self {
        PreRegisteredClient { client_id: client_id.into(), client_secret }
    }
}

/// Who the client is to authorization servers, and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthClientSettings {
    /// Where the authorization server sends the user back (`redirect_uri`).
    pub redirect_uri: String,
    /// The `client_name` given at dynamic registration.
    pub client_name: String,
    /// The HTTPS URL of this client's Client ID Metadata Document, used as its `client_id`
    /// where the server advertises `client_id_metadata_document_supported`.
    pub client_metadata_url: Option<String>,
    /// A client registered in advance (used before anything else).
    pub pre_registered: Option<PreRegisteredClient>,
    /// Ask for `offline_access` (a refresh token) when the server lists it.
    pub offline_access: bool,
    /// The largest metadata, registration or token answer accepted, in bytes.
    pub max_document_bytes: usize,
    /// How tokens are obtained.
    pub grant: Grant,
}

/// How a client obtains tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Grant {
    /// The authorization-code grant with PKCE: a user (or an agent acting for one) authorizes.
    #[default]
    AuthorizationCode,
    /// The client-credentials grant (the MCP `oauth-client-credentials` extension): a
    /// machine client authenticates with its own pre-registered credentials, no user.
    ClientCredentials,
}

/// The default [`OAuthClientSettings::max_document_bytes`].
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 64 * 1024;

impl OAuthClientSettings {
    /// A client that is sent back to `redirect_uri`: dynamic registration as `client_name`,
    /// `offline_access` asked for when offered.
    pub fn new(redirect_uri: impl Into<String>, client_name: impl Into<String>) -> Self {
        OAuthClientSettings {
            redirect_uri: redirect_uri.into(),
            client_name: client_name.into(),
            client_metadata_url: None,
            pre_registered: None,
            offline_access: true,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            grant: Grant::AuthorizationCode,
        }
    }
}

/// A client id an authorization server knows, and how to authenticate at its token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCredentials {
    /// The issuer this client is registered with (credentials are never used elsewhere).
    pub issuer: String,
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`, for a confidential client.
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`, when the server said which.
    pub auth_method: Option<String>,
}

/// Tokens an authorization server issued.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tokens {
    /// The issuer that issued them.
    pub issuer: String,
    /// The access token, sent as `Authorization: Bearer`.
    pub access_token: String,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// What a client keeps between flows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthMemory {
    /// The current tokens.
    pub tokens: Option<Tokens>,
    /// The client registered (or identified) at the current issuer.
    pub client: Option<ClientCredentials>,
    /// Every scope asked for so far (re-authorization asks for their union with the new ones).
    pub requested_scopes: Vec<String>,
}

impl OAuthMemory {
    /// The access token to send, if any.
    pub fn access_token(&self) -> Option<&str> {
        self.tokens.as_ref().map(|t| t.access_token.as_str())
    }

    /// Whether a `403 insufficient_scope` challenge asks for a scope not asked for yet (a
    /// new authorization could help; asking again for the same scopes could not).
    pub fn step_up_would_widen(&self, challenge: &Challenge) -> bool {
        challenge.scopes().iter().any(|scope| !self.requested_scopes.contains(scope))
    }
}

/// The HTTP method of a [`HttpRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

/// A request the caller makes for the flow (redirects are not followed).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// The absolute URL.
    pub url: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies and headers carry secrets.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What the flow wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowStep {
    /// Make this request and pass the answer to [`OAuthFlow::handle_response`].
    Fetch(HttpRequest),
    /// Send the user (or an automated agent) to this authorization URL and pass the URL the
    /// server redirected to to [`OAuthFlow::handle_redirect`].
    Authorize(String),
    /// Done: the memory (see [`OAuthFlow::memory`]) holds the new tokens.
    Done,
    /// The flow failed.
    Failed(OAuthError),
}

/// Why an authorization flow failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// A URL could not be parsed or built.
    #[error("invalid URL {url}")]
    InvalidUrl {
        /// The URL.
        url: String,
    },
    /// No Protected Resource Metadata was found at any discovery URL.
    #[error("no protected resource metadata found (tried {tried})")]
    NoResourceMetadata {
        /// The URLs tried, space-separated.
        tried: String,
    },
    /// The Protected Resource Metadata names another resource than the server dialed.
    #[error("the protected resource metadata names resource {resource}, not the server {server}")]
    ResourceMismatch {
        /// The `resource` in the metadata.
        resource: String,
        /// The server URL.
        server: String,
    },
    /// No authorization server metadata was found at any discovery URL.
    #[error("no authorization server metadata found for {issuer}")]
    NoServerMetadata {
        /// The issuer.
        issuer: String,
    },
    /// The authorization server metadata names another issuer than the one it was fetched for.
    #[error("the authorization server metadata names issuer {found}, expected {expected}")]
    IssuerMismatch {
        /// The issuer the metadata URL was built from.
        expected: String,
        /// The issuer in the metadata.
        found: String,
    },
    /// The authorization server does not offer PKCE with S256.
    #[error("the authorization server does not support PKCE S256")]
    NoPkce,
    /// A metadata, registration or token answer is not what the specification says.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// Which document.
        what: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The client cannot identify itself: no pre-registered client, no Client ID Metadata
    /// Document support, no registration endpoint.
    #[error("no way to register a client with {issuer}")]
    NoClientRegistration {
        /// The issuer.
        issuer: String,
    },
    /// An endpoint answered with an error.
    #[error("the {endpoint} endpoint answered HTTP {status}: {error}")]
    Refused {
        /// `registration` or `token`.
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` (or the body's start).
        error: String,
    },
    /// The authorization response carried an `error`.
    #[error("authorization denied: {error}")]
    Denied {
        /// The `error` parameter.
        error: String,
    },
    /// The authorization response is not for this request (`state` differs) or lacks a code.
    #[error("invalid authorization response: {why}")]
    InvalidAuthorizationResponse {
        /// What is wrong.
        why: String,
    },
    /// The authorization response's `iss` is missing though advertised, or names another
    /// issuer (RFC 9207; compared as plain strings).
    #[error("authorization response issuer {found:?} does not match {expected}")]
    IssuerParameterMismatch {
        /// The recorded issuer.
        expected: String,
        /// The `iss` received (`None`: absent).
        found: Option<String>,
    },
    /// The flow was driven out of order (a response where none was asked for).
    #[error("the flow was not waiting for this")]
    OutOfOrder,
}

/// The answer to a [`FlowStep::Fetch`] request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct HttpAnswer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The body (bounded by the caller to [`OAuthClientSettings::max_document_bytes`]).
    pub body: &'a [u8],
}

impl<'a> HttpAnswer<'a> {
    /// An answer with `status` and `body`.
    pub fn new(status: u16, body: &'a [u8]) -> Self {
        HttpAnswer { status, body }
    }
}

/// The authorization server metadata the flow uses.
#[derive(Debug, Clone, Default)]
struct ServerMetadata {
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: Option<String>,
    scopes_supported: Option<Vec<String>>,
    auth_methods: Option<Vec<String>>,
    cimd_supported: bool,
    iss_supported: bool,
}

#[derive(Debug, Clone)]
enum Phase {
    ResourceMetadata { urls: Vec<String>, at: usize },
    ServerMetadata { urls: Vec<String>, at: usize },
    Register,
    Refresh,
    Authorize,
    Token,
    ClientCredentials,
    Done,
    Failed(OAuthError),
}

/// One run of the authorization flow (see the module documentation).
#[derive(Debug)]
pub struct OAuthFlow {
    settings: OAuthClientSettings,
    server_url: String,
    challenge: Challenge,
    memory: OAuthMemory,
    verifier: String,
    state: String,
    phase: Phase,
    resource: Option<String>,
    prm_scopes: Option<Vec<String>>,
    issuer: String,
    server: ServerMetadata,
    code: Option<String>,
}

impl OAuthFlow {
    /// Starts a flow for the MCP server at `server_url` after its `challenge`, with what the
    /// client kept from earlier flows and [`RANDOM_BYTES`] fresh random bytes.
    pub fn new(
        settings: OAuthClientSettings,
        server_url: &str,
        challenge: Challenge,
        memory: OAuthMemory,
        random: [u8; RANDOM_BYTES],
    ) -> OAuthFlow {
        let verifier = URL_SAFE_NO_PAD.encode(&random[..32]);
        let state = URL_SAFE_NO_PAD.encode(&random[32..]);
        let mut flow = OAuthFlow {
            settings,
            server_url: server_url.to_string(),
            challenge,
            memory,
            verifier,
            state,
            phase: Phase::Done,
            resource: None,
            prm_scopes: None,
            issuer: String::new(),
            server: ServerMetadata::default(),
            code: None,
        };
        flow.phase = match &flow.challenge.resource_metadata {
            Some(url) => Phase::ResourceMetadata { urls: vec![url.clone()], at: 0 },
            None => match resource_metadata_urls(server_url) {
                Ok(urls) => Phase::ResourceMetadata { urls, at: 0 },
                Err(e) => Phase::Failed(e),
            },
        };
        flow
    }

    /// What the flow wants next.
    pub fn step(&self) -> FlowStep {
        match &self.phase {
            Phase::ResourceMetadata { urls, at } | Phase::ServerMetadata { urls, at } => {
                FlowStep::Fetch(get(&urls[*at]))
            }
            Phase::Register => FlowStep::Fetch(self.registration_request()),
            Phase::Refresh => FlowStep::Fetch(self.refresh_request()),
            Phase::Authorize => FlowStep::Authorize(self.authorization_url()),
            Phase::Token => FlowStep::Fetch(self.token_request()),
            Phase::ClientCredentials => FlowStep::Fetch(self.client_credentials_request()),
            Phase::Done => FlowStep::Done,
            Phase::Failed(e) => FlowStep::Failed(e.clone()),
        }
    }

    /// What the client keeps after this flow (the new tokens once [`FlowStep::Done`]).
    pub fn memory(&self) -> &OAuthMemory {
        &self.memory
    }

    /// Consumes the flow, giving the memory to keep.
    pub fn into_memory(self) -> OAuthMemory {
        self.memory
    }

    /// The scope the authorization request asks for (`None`: the parameter is left out).
    pub fn requested_scope(&self) -> Option<String> {
        let mut scopes = self.memory.requested_scopes.clone();
        let fresh = match self.challenge.scopes() {
            challenged if !challenged.is_empty() => challenged,
            _ => self.prm_scopes.clone().unwrap_or_default(),
        };
        for scope in fresh {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.truncate(MAX_SCOPES - 1);
        let offered = self
            .server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|s| s == OFFLINE_ACCESS));
        if self.settings.offline_access
            && offered
            && !scopes.is_empty()
            && !scopes.iter().any(|s| s == OFFLINE_ACCESS)
        {
            scopes.push(OFFLINE_ACCESS.to_string());
        }
        (!scopes.is_empty()).then(|| scopes.join(" "))
    }

    /// Takes the answer to the last [`FlowStep::Fetch`].
    pub fn handle_response(&mut self, answer: HttpAnswer<'_>) {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match phase {
            Phase::ResourceMetadata { urls, at } => self.on_resource_metadata(urls, at, answer),
            Phase::ServerMetadata { urls, at } => self.on_server_metadata(urls, at, answer),
            Phase::Register => self.on_registration(answer),
            Phase::Refresh => match self.on_tokens(answer) {
                Ok(()) => Phase::Done,
                // A refused refresh falls back to a new authorization.
                Err(_) => {
                    self.memory.tokens = None;
                    self.identify_client()
                }
            },
            Phase::Token | Phase::ClientCredentials => match self.on_tokens(answer) {
                Ok(()) => Phase::Done,
                Err(e) => Phase::Failed(e),
            },
            Phase::Authorize | Phase::Done | Phase::Failed(_) => {
                Phase::Failed(OAuthError::OutOfOrder)
            }
        };
    }

    /// Takes the URL the authorization server redirected to after [`FlowStep::Authorize`].
    pub fn handle_redirect(&mut self, redirect: &str) {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        self.phase = match phase {
            Phase::Authorize => {
                // The scopes were asked for, whatever the answer: a step-up that asks for
                // nothing new cannot help (the retry bound of scope challenges).
                if let Some(scope) = self.requested_scope() {
                    self.memory.requested_scopes = split_scopes(Some(&scope));
                }
                match self.on_redirect(redirect) {
                    Ok(code) => {
                        self.code = Some(code);
                        Phase::Token
                    }
                    Err(e) => Phase::Failed(e),
                }
            }
            _ => Phase::Failed(OAuthError::OutOfOrder),
        };
    }

    fn on_resource_metadata(
        &mut self,
        urls: Vec<String>,
        at: usize,
        answer: HttpAnswer<'_>,
    ) -> Phase {
        if !(200..300).contains(&answer.status) {
            if at + 1 < urls.len() {
                return Phase::ResourceMetadata { urls, at: at + 1 };
            }
            return Phase::Failed(OAuthError::NoResourceMetadata { tried: urls.join(" ") });
        }
        let malformed = |why: &str| {
            Phase::Failed(OAuthError::Malformed {
                what: "protected resource metadata",
                why: why.to_string(),
            })
        };
        let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(answer.body) else {
            return malformed("not a JSON object");
        };
        let Some(resource) = document.get("resource").and_then(Value::as_str) else {
            return malformed("no resource");
        };
        if !resource_matches(resource, &self.server_url) {
            return Phase::Failed(OAuthError::ResourceMismatch {
                resource: resource.to_string(),
                server: self.server_url.clone(),
            });
        }
        let Some(issuer) = document
            .get("authorization_servers")
            .and_then(Value::as_array)
            .and_then(|servers| servers.first())
            .and_then(Value::as_str)
        else {
            return malformed("no authorization_servers");
        };
        self.resource = Some(resource.to_string());
        self.prm_scopes = string_list(&document, "scopes_supported");
        self.issuer = issuer.to_string();
        // Credentials are bound to the issuer that gave them (SEP-2352).
        if self.memory.client.as_ref().is_some_and(|c| c.issuer != self.issuer) {
            self.memory.client = None;
        }
        if self.memory.tokens.as_ref().is_some_and(|t| t.issuer != self.issuer) {
            self.memory.tokens = None;
        }
        match server_metadata_urls(&self.issuer) {
            Ok(urls) => Phase::ServerMetadata { urls, at: 0 },
            Err(e) => Phase::Failed(e),
        }
    }

    fn on_server_metadata(
        &mut self,
        urls: Vec<String>,
        at: usize,
        answer: HttpAnswer<'_>,
    ) -> Phase {
        if !(200..300).contains(&answer.status) {
            if at + 1 < urls.len() {
                return Phase::ServerMetadata { urls, at: at + 1 };
            }
            return Phase::Failed(OAuthError::NoServerMetadata { issuer: self.issuer.clone() });
        }
        let malformed = |why: &str| {
            Phase::Failed(OAuthError::Malformed {
                what: "authorization server metadata",
                why: why.to_string(),
            })
        };
        let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(answer.body) else {
            return malformed("not a JSON object");
        };
        let found = document.get("issuer").and_then(Value::as_str).unwrap_or_default();
        // RFC 8414 section 3.3: identical, no normalization.
        if found != self.issuer {
            return Phase::Failed(OAuthError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: found.to_string(),
            });
        }
        let text = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_string);
        let (Some(authorization_endpoint), Some(token_endpoint)) =
            (text("authorization_endpoint"), text("token_endpoint"))
        else {
            return malformed("no authorization_endpoint or token_endpoint");
        };
        let pkce = string_list(&document, "code_challenge_methods_supported");
        if !pkce.is_some_and(|methods| methods.iter().any(|m| m == "S256")) {
            return Phase::Failed(OAuthError::NoPkce);
        }
        self.server = ServerMetadata {
            authorization_endpoint,
            token_endpoint,
            registration_endpoint: text("registration_endpoint"),
            scopes_supported: string_list(&document, "scopes_supported"),
            auth_methods: string_list(&document, "token_endpoint_auth_methods_supported"),
            cimd_supported: document
                .get("client_id_metadata_document_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            iss_supported: document
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let step_up = self.challenge.is_insufficient_scope();
        if !step_up && self.memory.tokens.as_ref().is_some_and(|t| t.refresh_token.is_some()) {
            return Phase::Refresh;
        }
        self.memory.tokens = None;
        self.identify_client()
    }

    /// Picks the client id: the one registered here before, a pre-registered one, a Client
    /// ID Metadata Document URL, or a new dynamic registration.
    fn identify_client(&mut self) -> Phase {
        if self.settings.grant == Grant::ClientCredentials {
            // Only a client registered in advance has credentials of its own.
            let Some(pre) = &self.settings.pre_registered else {
                return Phase::Failed(OAuthError::NoClientRegistration {
                    issuer: self.issuer.clone(),
                });
            };
            self.memory.client = Some(ClientCredentials {
                issuer: self.issuer.clone(),
                client_id: pre.client_id.clone(),
                client_secret: pre.client_secret.clone(),
                auth_method: None,
            });
            if let Some(scope) = self.requested_scope() {
                self.memory.requested_scopes = split_scopes(Some(&scope));
            }
            return Phase::ClientCredentials;
        }
        if self.memory.client.as_ref().is_some_and(|c| c.issuer == self.issuer) {
            return Phase::Authorize;
        }
        if let Some(pre) = &self.settings.pre_registered {
            self.memory.client = Some(ClientCredentials {
                issuer: self.issuer.clone(),
                client_id: pre.client_id.clone(),
                client_secret: pre.client_secret.clone(),
                auth_method: None,
            });
            return Phase::Authorize;
        }
        if self.server.cimd_supported
            && let Some(url) = &self.settings.client_metadata_url
        {
            self.memory.client = Some(ClientCredentials {
                issuer: self.issuer.clone(),
                client_id: url.clone(),
                client_secret: None,
                auth_method: Some("none".to_string()),
            });
            return Phase::Authorize;
        }
        if self.server.registration_endpoint.is_some() {
            return Phase::Register;
        }
        Phase::Failed(OAuthError::NoClientRegistration { issuer: self.issuer.clone() })
    }

    fn on_registration(&mut self, answer: HttpAnswer<'_>) -> Phase {
        if !(200..300).contains(&answer.status) {
            return Phase::Failed(refused("registration", answer));
        }
        let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(answer.body) else {
            return Phase::Failed(OAuthError::Malformed {
                what: "registration response",
                why: "not a JSON object".into(),
            });
        };
        let text = |name: &str| document.get(name).and_then(Value::as_str).map(str::to_string);
        let Some(client_id) = text("client_id").filter(|id| !id.is_empty()) else {
            return Phase::Failed(OAuthError::Malformed {
                what: "registration response",
                why: "no client_id".into(),
            });
        };
        self.memory.client = Some(ClientCredentials {
            issuer: self.issuer.clone(),
            client_id,
            client_secret: text("client_secret"),
            auth_method: text("token_endpoint_auth_method"),
        });
        Phase::Authorize
    }

    fn on_tokens(&mut self, answer: HttpAnswer<'_>) -> Result<(), OAuthError> {
        if !(200..300).contains(&answer.status) {
            return Err(refused("token", answer));
        }
        let malformed =
            |why: &str| OAuthError::Malformed { what: "token response", why: why.to_string() };
        let Ok(Value::Object(document)) = serde_json::from_slice::<Value>(answer.body) else {
            return Err(malformed("not a JSON object"));
        };
        let Some(access_token) = document.get("access_token").and_then(Value::as_str) else {
            return Err(malformed("no access_token"));
        };
        let token_type = document.get("token_type").and_then(Value::as_str).unwrap_or_default();
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(malformed("token_type is not Bearer"));
        }
        let kept_refresh = self.memory.tokens.take().and_then(|t| t.refresh_token);
        let refresh_token = document
            .get("refresh_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(kept_refresh);
        self.memory.tokens = Some(Tokens {
            issuer: self.issuer.clone(),
            access_token: access_token.to_string(),
            refresh_token,
        });
        Ok(())
    }

    fn on_redirect(&mut self, redirect: &str) -> Result<String, OAuthError> {
        let base = Url::parse(&self.server.authorization_endpoint).map_err(|_| {
            OAuthError::InvalidUrl { url: self.server.authorization_endpoint.clone() }
        })?;
        let url = base
            .join(redirect)
            .map_err(|_| OAuthError::InvalidUrl { url: redirect.to_string() })?;
        let param = |name: &str| {
            url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
        };
        let invalid = |why: &str| OAuthError::InvalidAuthorizationResponse { why: why.into() };
        if param("state").as_deref() != Some(self.state.as_str()) {
            return Err(invalid("state does not match the request"));
        }
        // RFC 9207: a present iss is always compared; an advertised one must be present.
        let iss = param("iss");
        match &iss {
            Some(iss) if *iss != self.issuer => {
                return Err(OAuthError::IssuerParameterMismatch {
                    expected: self.issuer.clone(),
                    found: Some(iss.clone()),
                });
            }
            None if self.server.iss_supported => {
                return Err(OAuthError::IssuerParameterMismatch {
                    expected: self.issuer.clone(),
                    found: None,
                });
            }
            _ => {}
        }
        if let Some(error) = param("error") {
            return Err(OAuthError::Denied { error });
        }
        param("code").filter(|c| !c.is_empty()).ok_or_else(|| invalid("no code"))
    }

    fn registration_request(&self) -> HttpRequest {
        let methods = self.server.auth_methods.clone();
        let method = match methods {
            Some(methods) if methods.iter().any(|m| m == "none") => "none".to_string(),
            Some(methods) if !methods.is_empty() => methods[0].clone(),
            _ => "client_secret_basic".to_string(),
        };
        let mut body = Map::new();
        body.insert("client_name".into(), json!(self.settings.client_name));
        body.insert("redirect_uris".into(), json!([self.settings.redirect_uri]));
        body.insert("grant_types".into(), json!(["authorization_code", "refresh_token"]));
        body.insert("response_types".into(), json!(["code"]));
        body.insert("token_endpoint_auth_method".into(), json!(method));
        body.insert("application_type".into(), json!("native"));
        if let Some(scope) = self.requested_scope() {
            body.insert("scope".into(), json!(scope));
        }
        HttpRequest {
            method: HttpMethod::Post,
            url: self.server.registration_endpoint.clone().unwrap_or_default(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("accept".into(), "application/json".into()),
            ],
            body: Value::Object(body).to_string().into_bytes(),
        }
    }

    /// The authorization URL: the code flow with PKCE S256, `state`, `resource`, `scope`.
    pub fn authorization_url(&self) -> String {
        let client_id = self.memory.client.as_ref().map(|c| c.client_id.as_str()).unwrap_or("");
        let Ok(mut url) = Url::parse(&self.server.authorization_endpoint) else {
            return self.server.authorization_endpoint.clone();
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", &self.settings.redirect_uri)
                .append_pair("code_challenge", &pkce_challenge(&self.verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &self.state);
            if let Some(resource) = &self.resource {
                query.append_pair("resource", resource);
            }
            if let Some(scope) = self.requested_scope() {
                query.append_pair("scope", &scope);
            }
        }
        url.to_string()
    }

    fn token_request(&self) -> HttpRequest {
        let code = self.code.clone().unwrap_or_default();
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("redirect_uri", self.settings.redirect_uri.clone()),
            ("code_verifier", self.verifier.clone()),
        ];
        if let Some(resource) = &self.resource {
            form.push(("resource", resource.clone()));
        }
        self.token_endpoint_request(form)
    }

    fn client_credentials_request(&self) -> HttpRequest {
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        if let Some(scope) = self.requested_scope() {
            form.push(("scope", scope));
        }
        if let Some(resource) = &self.resource {
            form.push(("resource", resource.clone()));
        }
        self.token_endpoint_request(form)
    }

    fn refresh_request(&self) -> HttpRequest {
        let refresh =
            self.memory.tokens.as_ref().and_then(|t| t.refresh_token.clone()).unwrap_or_default();
        let mut form =
            vec![("grant_type", "refresh_token".to_string()), ("refresh_token", refresh)];
        if let Some(resource) = &self.resource {
            form.push(("resource", resource.clone()));
        }
        self.token_endpoint_request(form)
    }

    /// A form POST to the token endpoint, authenticated as the client: HTTP Basic
    /// (`client_secret_basic`, the RFC 6749 default), the secret in the form
    /// (`client_secret_post`), or the bare `client_id` (`none`).
    fn token_endpoint_request(&self, mut form: Vec<(&'static str, String)>) -> HttpRequest {
        let mut headers = vec![
            ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
            ("accept".to_string(), "application/json".to_string()),
        ];
        if let Some(client) = &self.memory.client {
            match (
                token_auth_method(client, self.server.auth_methods.as_deref()),
                &client.client_secret,
            ) {
                (TokenAuth::Basic, Some(secret)) => {
                    let pair =
                        format!("{}:{}", form_escape(&client.client_id), form_escape(secret));
                    headers
                        .push(("authorization".into(), format!("Basic {}", STANDARD.encode(pair))));
                }
                (TokenAuth::Post, Some(secret)) => {
                    form.push(("client_id", client.client_id.clone()));
                    form.push(("client_secret", secret.clone()));
                }
                _ => form.push(("client_id", client.client_id.clone())),
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        HttpRequest {
            method: HttpMethod::Post,
            url: self.server.token_endpoint.clone(),
            headers,
            body: body.into_bytes(),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum TokenAuth {
    Basic,
    Post,
    None,
}

/// How a client authenticates at the token endpoint: as registered, else by what the server
/// supports (Basic first; RFC 8414's default list is `client_secret_basic`).
fn token_auth_method(client: &ClientCredentials, supported: Option<&[String]>) -> TokenAuth {
    let named = |method: &str| match method {
        "client_secret_basic" => TokenAuth::Basic,
        "client_secret_post" => TokenAuth::Post,
        _ => TokenAuth::None,
    };
    if let Some(method) = &client.auth_method {
        return named(method);
    }
    if client.client_secret.is_none() {
        return TokenAuth::None;
    }
    let supported =
        supported.map(<[String]>::to_vec).unwrap_or_else(|| vec!["client_secret_basic".into()]);
    for preferred in ["client_secret_basic", "client_secret_post"] {
        if supported.iter().any(|m| m == preferred) {
            return named(preferred);
        }
    }
    TokenAuth::None
}

/// RFC 6749 section 2.3.1: the id and secret are form-encoded before Basic encoding.
fn form_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn refused(endpoint: &'static str, answer: HttpAnswer<'_>) -> OAuthError {
    let error = serde_json::from_slice::<Value>(answer.body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(answer.body).chars().take(200).collect());
    OAuthError::Refused { endpoint, status: answer.status, error }
}

fn string_list(document: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    document
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url: url.to_string(),
        headers: vec![("accept".into(), "application/json".into())],
        body: Vec::new(),
    }
}

/// The PKCE S256 challenge of `verifier` (RFC 7636): base64url(SHA-256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()))
}

/// The Protected Resource Metadata URLs of `server_url` in RFC 9728 order: the path-aware
/// well-known URL (when the URL has a path), then the root one.
pub fn resource_metadata_urls(server_url: &str) -> Result<Vec<String>, OAuthError> {
    let url =
        Url::parse(server_url).map_err(|_| OAuthError::InvalidUrl { url: server_url.into() })?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(format!("{origin}/.well-known/oauth-protected-resource{path}"));
    }
    urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
    Ok(urls)
}

/// The authorization server metadata URLs of `issuer` in the MCP specification's order: for
/// an issuer with a path, OAuth (RFC 8414) path-inserted, OpenID path-inserted, OpenID
/// path-appended; without one, OAuth then OpenID at the root.
pub fn server_metadata_urls(issuer: &str) -> Result<Vec<String>, OAuthError> {
    let url = Url::parse(issuer).map_err(|_| OAuthError::InvalidUrl { url: issuer.into() })?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// Whether the metadata's `resource` covers the server: same origin, and its path the
/// server's path or a whole-segment prefix of it.
pub fn resource_matches(resource: &str, server_url: &str) -> bool {
    let (Ok(resource), Ok(server)) = (Url::parse(resource), Url::parse(server_url)) else {
        return false;
    };
    if resource.origin() != server.origin() || resource.fragment().is_some() {
        return false;
    }
    let prefix = resource.path().trim_end_matches('/');
    let path = server.path().trim_end_matches('/');
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "http://localhost:3000/mcp";
    const PRM_URL: &str = "http://localhost:3000/.well-known/oauth-protected-resource/mcp";
    const ISSUER: &str = "http://localhost:4000";

    fn settings() -> OAuthClientSettings {
        OAuthClientSettings::new("http://127.0.0.1:3000/callback", "test-client")
    }

    fn prm(resource: &str, scopes: Option<&[&str]>) -> Vec<u8> {
        let mut doc = json!({ "resource": resource, "authorization_servers": [ISSUER] });
        if let Some(scopes) = scopes {
            doc["scopes_supported"] = json!(scopes);
        }
        doc.to_string().into_bytes()
    }

    fn as_metadata(extra: Value) -> Vec<u8> {
        let mut doc = json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/authorize"),
            "token_endpoint": format!("{ISSUER}/token"),
            "registration_endpoint": format!("{ISSUER}/register"),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
        });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            doc[key] = value;
        }
        doc.to_string().into_bytes()
    }

    fn fetch(flow: &OAuthFlow) -> HttpRequest {
        match flow.step() {
            FlowStep::Fetch(request) => request,
            other => panic!("expected a fetch, got {other:?}"),
        }
    }

    fn answer(flow: &mut OAuthFlow, status: u16, body: &[u8]) {
        flow.handle_response(HttpAnswer::new(status, body));
    }

    fn query(url: &str) -> Vec<(String, String)> {
        Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into(), v.into())).collect()
    }

    fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
        pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn form(request: &HttpRequest) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&request.body).map(|(k, v)| (k.into(), v.into())).collect()
    }

    /// Drives a flow through discovery (path-aware PRM, RFC 8414 metadata) to the
    /// authorization URL; returns that URL.
    fn to_authorization(flow: &mut OAuthFlow, metadata: Vec<u8>, register: bool) -> String {
        assert_eq!(fetch(flow).url, PRM_URL);
        answer(flow, 200, &prm(SERVER, None));
        assert_eq!(fetch(flow).url, format!("{ISSUER}/.well-known/oauth-authorization-server"));
        answer(flow, 200, &metadata);
        if register {
            let request = fetch(flow);
            assert_eq!(request.url, format!("{ISSUER}/register"));
            answer(flow, 201, br#"{"client_id":"c-1"}"#);
        }
        match flow.step() {
            FlowStep::Authorize(url) => url,
            other => panic!("expected the authorization step, got {other:?}"),
        }
    }

    fn redirect_for(flow: &OAuthFlow, authorization: &str, iss: Option<&str>) -> String {
        let state = param(&query(authorization), "state").unwrap();
        let _ = flow;
        let mut url = Url::parse("http://127.0.0.1:3000/callback").unwrap();
        url.query_pairs_mut().append_pair("code", "the-code").append_pair("state", &state);
        if let Some(iss) = iss {
            url.query_pairs_mut().append_pair("iss", iss);
        }
        url.to_string()
    }

    #[test]
    fn bearer_challenges_are_read_with_quoted_and_bare_parameters() {
        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp""#,
        );
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scopes(), ["mcp:basic", "mcp:write"]);
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/oauth-protected-resource/mcp")
        );
        assert!(c.is_insufficient_scope());
        let bare = Challenge::parse("Bearer error=invalid_token, scope=a");
        assert_eq!(bare.error.as_deref(), Some("invalid_token"));
        assert_eq!(bare.scope.as_deref(), Some("a"));
        let second = Challenge::parse(r#"Basic realm="x", Bearer scope="s\"q""#);
        assert_eq!(second.scope.as_deref(), Some("s\"q"));
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), Challenge::default());
        assert_eq!(Challenge::parse(""), Challenge::default());
        // A token that merely contains the scheme name is not the scheme.
        assert_eq!(Challenge::parse("NotBearer scope=x"), Challenge::default());
        // Hostile input ends without panicking.
        let _ = Challenge::parse("Bearer scope=\"unterminated");
        let _ = Challenge::parse("Bearer =,,=\"\\");
    }

    #[test]
    fn discovery_urls_follow_the_specification_order() {
        assert_eq!(
            resource_metadata_urls("http://localhost:3000/mcp").unwrap(),
            [PRM_URL, "http://localhost:3000/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            resource_metadata_urls("https://h/").unwrap(),
            ["https://h/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            server_metadata_urls("http://a:4000").unwrap(),
            [
                "http://a:4000/.well-known/oauth-authorization-server",
                "http://a:4000/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            server_metadata_urls("http://a:4000/tenant1/").unwrap(),
            [
                "http://a:4000/.well-known/oauth-authorization-server/tenant1",
                "http://a:4000/.well-known/openid-configuration/tenant1",
                "http://a:4000/tenant1/.well-known/openid-configuration"
            ]
        );
        assert!(matches!(server_metadata_urls("not a url"), Err(OAuthError::InvalidUrl { .. })));
    }

    #[test]
    fn a_resource_covers_its_own_origin_and_whole_path_segments_only() {
        assert!(resource_matches("http://localhost:3000/mcp", SERVER));
        assert!(resource_matches("http://localhost:3000", SERVER));
        assert!(resource_matches("http://localhost:3000/", SERVER));
        assert!(!resource_matches("http://localhost:3000/mc", SERVER));
        assert!(!resource_matches("http://localhost:3000/mcp/deeper", SERVER));
        assert!(!resource_matches("https://evil.example.com/mcp", SERVER));
        assert!(!resource_matches("http://localhost:3001/mcp", SERVER));
        assert!(!resource_matches("https://localhost:3000/mcp", SERVER));
        assert!(!resource_matches("http://localhost:3000/mcp#x", SERVER));
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_401_is_answered_with_discovery_registration_and_the_code_flow() {
        let challenge = Challenge::parse(r#"Bearer scope="mcp:basic""#);
        let mut flow =
            OAuthFlow::new(settings(), SERVER, challenge, OAuthMemory::default(), [7; 48]);
        // The path-aware PRM is missing: the root one is next.
        assert_eq!(fetch(&flow).url, PRM_URL);
        answer(&mut flow, 404, b"");
        assert_eq!(fetch(&flow).url, "http://localhost:3000/.well-known/oauth-protected-resource");
        answer(&mut flow, 200, &prm("http://localhost:3000", Some(&["mcp:other"])));
        // RFC 8414 missing: OpenID next.
        answer(&mut flow, 404, b"");
        assert_eq!(fetch(&flow).url, format!("{ISSUER}/.well-known/openid-configuration"));
        answer(&mut flow, 200, &as_metadata(json!({})));
        let register = fetch(&flow);
        assert_eq!(register.method, HttpMethod::Post);
        let body: Value = serde_json::from_slice(&register.body).unwrap();
        assert_eq!(body["redirect_uris"], json!(["http://127.0.0.1:3000/callback"]));
        assert_eq!(body["application_type"], "native");
        assert_eq!(body["token_endpoint_auth_method"], "none");
        assert_eq!(body["grant_types"], json!(["authorization_code", "refresh_token"]));
        answer(&mut flow, 201, br#"{"client_id":"c-1","client_secret":"s-1"}"#);
        let FlowStep::Authorize(url) = flow.step() else { panic!("no authorization step") };
        assert!(url.starts_with(&format!("{ISSUER}/authorize?")));
        let pairs = query(&url);
        assert_eq!(param(&pairs, "response_type").as_deref(), Some("code"));
        assert_eq!(param(&pairs, "client_id").as_deref(), Some("c-1"));
        assert_eq!(param(&pairs, "code_challenge_method").as_deref(), Some("S256"));
        // The challenge's scope wins over scopes_supported; the resource is the PRM's, as is.
        assert_eq!(param(&pairs, "scope").as_deref(), Some("mcp:basic"));
        assert_eq!(param(&pairs, "resource").as_deref(), Some("http://localhost:3000"));
        let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert_eq!(param(&pairs, "code_challenge"), Some(pkce_challenge(&verifier)));
        assert_eq!(param(&pairs, "state"), Some(URL_SAFE_NO_PAD.encode([7u8; 16])));
        flow.handle_redirect(&redirect_for(&flow, &url, Some(ISSUER)));
        let token = fetch(&flow);
        assert_eq!(token.url, format!("{ISSUER}/token"));
        let fields = form(&token);
        assert_eq!(param(&fields, "grant_type").as_deref(), Some("authorization_code"));
        assert_eq!(param(&fields, "code").as_deref(), Some("the-code"));
        assert_eq!(param(&fields, "code_verifier"), Some(verifier));
        assert_eq!(param(&fields, "resource").as_deref(), Some("http://localhost:3000"));
        // A secret, no method named, the server supports only `none`: the bare client id.
        assert_eq!(param(&fields, "client_id").as_deref(), Some("c-1"));
        assert!(!token.headers.iter().any(|(name, _)| name == "authorization"));
        answer(&mut flow, 200, br#"{"access_token":"at-1","token_type":"Bearer"}"#);
        assert_eq!(flow.step(), FlowStep::Done);
        let memory = flow.into_memory();
        assert_eq!(memory.access_token(), Some("at-1"));
        assert_eq!(memory.requested_scopes, ["mcp:basic"]);
        assert_eq!(memory.client.unwrap().issuer, ISSUER);
    }

    #[test]
    fn the_token_endpoint_sees_the_authentication_the_client_was_registered_with() {
        for (registered, basic, post) in [
            (
                r#"{"client_id":"c","client_secret":"s","token_endpoint_auth_method":"client_secret_basic"}"#,
                true,
                false,
            ),
            (
                r#"{"client_id":"c","client_secret":"s","token_endpoint_auth_method":"client_secret_post"}"#,
                false,
                true,
            ),
            (r#"{"client_id":"c","token_endpoint_auth_method":"none"}"#, false, false),
        ] {
            let mut flow = OAuthFlow::new(
                settings(),
                SERVER,
                Challenge::default(),
                OAuthMemory::default(),
                [1; 48],
            );
            assert_eq!(fetch(&flow).url, PRM_URL);
            answer(&mut flow, 200, &prm(SERVER, None));
            answer(&mut flow, 200, &as_metadata(json!({})));
            answer(&mut flow, 201, registered.as_bytes());
            let FlowStep::Authorize(url) = flow.step() else { panic!("no authorization") };
            assert_eq!(param(&query(&url), "scope"), None, "no scope anywhere: none asked");
            flow.handle_redirect(&redirect_for(&flow, &url, None));
            let token = fetch(&flow);
            let header = token.headers.iter().find(|(n, _)| n == "authorization");
            assert_eq!(
                header.map(|(_, v)| v.as_str()),
                basic.then_some("Basic Yzpz"),
                "{registered}"
            );
            let fields = form(&token);
            assert_eq!(param(&fields, "client_secret").is_some(), post, "{registered}");
            assert_eq!(param(&fields, "client_id").is_some(), !basic, "{registered}");
        }
    }

    #[test]
    fn a_pre_registered_client_and_a_metadata_document_url_skip_registration() {
        let mut pre = settings();
        pre.pre_registered = Some(PreRegisteredClient::new("pre", Some("secret".into())));
        let mut flow =
            OAuthFlow::new(pre, SERVER, Challenge::default(), OAuthMemory::default(), [1; 48]);
        let metadata = as_metadata(
            json!({ "token_endpoint_auth_methods_supported": ["client_secret_basic"] }),
        );
        let url = to_authorization(&mut flow, metadata, false);
        assert_eq!(param(&query(&url), "client_id").as_deref(), Some("pre"));
        flow.handle_redirect(&redirect_for(&flow, &url, Some(ISSUER)));
        let token = fetch(&flow);
        let expected = format!("Basic {}", STANDARD.encode("pre:secret"));
        assert!(token.headers.contains(&("authorization".into(), expected)));

        let mut cimd = settings();
        cimd.client_metadata_url = Some("https://client.example/meta.json".into());
        let mut flow = OAuthFlow::new(
            cimd.clone(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [1; 48],
        );
        let metadata = as_metadata(json!({ "client_id_metadata_document_supported": true }));
        let url = to_authorization(&mut flow, metadata, false);
        assert_eq!(
            param(&query(&url), "client_id").as_deref(),
            Some("https://client.example/meta.json")
        );
        // Not advertised: dynamic registration instead.
        let mut flow =
            OAuthFlow::new(cimd, SERVER, Challenge::default(), OAuthMemory::default(), [1; 48]);
        let url = to_authorization(&mut flow, as_metadata(json!({})), true);
        assert_eq!(param(&query(&url), "client_id").as_deref(), Some("c-1"));
    }

    #[test]
    fn the_authorization_response_issuer_is_compared_as_a_plain_string() {
        // (advertised, iss sent, accepted)
        let cases = [
            (true, Some(ISSUER.to_string()), true),
            (true, None, false),
            (true, Some(format!("{ISSUER}/")), false),
            (false, None, true),
            (false, Some("https://evil.example.com".to_string()), false),
            (false, Some(ISSUER.to_string()), true),
        ];
        for (advertised, iss, accepted) in cases {
            let mut flow = OAuthFlow::new(
                settings(),
                SERVER,
                Challenge::default(),
                OAuthMemory::default(),
                [2; 48],
            );
            let metadata = as_metadata(
                json!({ "authorization_response_iss_parameter_supported": advertised }),
            );
            let url = to_authorization(&mut flow, metadata, true);
            flow.handle_redirect(&redirect_for(&flow, &url, iss.as_deref()));
            match flow.step() {
                FlowStep::Fetch(token) if accepted => assert!(token.url.ends_with("/token")),
                FlowStep::Failed(OAuthError::IssuerParameterMismatch { .. }) if !accepted => {}
                other => panic!("advertised {advertised}, iss {iss:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_redirect_with_another_state_or_an_error_is_refused() {
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [3; 48],
        );
        let _ = to_authorization(&mut flow, as_metadata(json!({})), true);
        flow.handle_redirect("http://127.0.0.1:3000/callback?code=x&state=forged");
        assert!(matches!(
            flow.step(),
            FlowStep::Failed(OAuthError::InvalidAuthorizationResponse { .. })
        ));
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [3; 48],
        );
        let url = to_authorization(&mut flow, as_metadata(json!({})), true);
        let state = param(&query(&url), "state").unwrap();
        flow.handle_redirect(&format!("/callback?error=access_denied&state={state}"));
        assert_eq!(
            flow.step(),
            FlowStep::Failed(OAuthError::Denied { error: "access_denied".into() })
        );
    }

    #[test]
    fn metadata_for_another_resource_or_issuer_stops_the_flow_before_any_endpoint_is_used() {
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [4; 48],
        );
        answer(&mut flow, 200, &prm("https://evil.example.com/mcp", None));
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::ResourceMismatch { .. })));

        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [4; 48],
        );
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(&mut flow, 200, &as_metadata(json!({ "issuer": "https://attacker.example.com" })));
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::IssuerMismatch { .. })));

        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [4; 48],
        );
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(
            &mut flow,
            200,
            &as_metadata(json!({ "code_challenge_methods_supported": ["plain"] })),
        );
        assert_eq!(flow.step(), FlowStep::Failed(OAuthError::NoPkce));

        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [4; 48],
        );
        answer(&mut flow, 404, b"");
        answer(&mut flow, 404, b"");
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::NoResourceMetadata { .. })));
        flow.handle_response(HttpAnswer::new(200, b"{}"));
        assert_eq!(flow.step(), FlowStep::Failed(OAuthError::OutOfOrder));
    }

    #[test]
    fn a_step_up_asks_for_the_union_and_only_when_it_widens() {
        let challenge = Challenge::parse(r#"Bearer scope="mcp:basic""#);
        let mut flow =
            OAuthFlow::new(settings(), SERVER, challenge, OAuthMemory::default(), [5; 48]);
        let url = to_authorization(&mut flow, as_metadata(json!({})), true);
        flow.handle_redirect(&redirect_for(&flow, &url, Some(ISSUER)));
        answer(&mut flow, 200, br#"{"access_token":"at","token_type":"bearer"}"#);
        let memory = flow.into_memory();
        let step_up = Challenge::parse(r#"Bearer error="insufficient_scope", scope="mcp:write""#);
        assert!(memory.step_up_would_widen(&step_up));
        let same = Challenge::parse(r#"Bearer error="insufficient_scope", scope="mcp:basic""#);
        assert!(!memory.step_up_would_widen(&same));
        let mut flow = OAuthFlow::new(settings(), SERVER, step_up, memory, [6; 48]);
        // The client registered at this issuer is reused.
        let url = to_authorization(&mut flow, as_metadata(json!({})), false);
        assert_eq!(param(&query(&url), "scope").as_deref(), Some("mcp:basic mcp:write"));
    }

    #[test]
    fn the_scopes_asked_for_are_bounded() {
        let many: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        let challenge = Challenge::parse(&format!(r#"Bearer scope="{}""#, many.join(" ")));
        let mut flow =
            OAuthFlow::new(settings(), SERVER, challenge, OAuthMemory::default(), [5; 48]);
        let metadata = as_metadata(json!({ "scopes_supported": ["offline_access"] }));
        let url = to_authorization(&mut flow, metadata, true);
        let scope = param(&query(&url), "scope").unwrap();
        let asked: Vec<&str> = scope.split(' ').collect();
        assert_eq!(asked.len(), MAX_SCOPES);
        assert_eq!(asked[0], "s0");
        assert_eq!(asked[MAX_SCOPES - 1], OFFLINE_ACCESS);
    }

    #[test]
    fn offline_access_is_asked_for_only_where_the_server_offers_it() {
        for (offered, expected) in [
            (json!(["mcp:basic", "offline_access"]), "mcp:basic offline_access"),
            (json!(["mcp:basic"]), "mcp:basic"),
        ] {
            let challenge = Challenge::parse(r#"Bearer scope="mcp:basic""#);
            let mut flow =
                OAuthFlow::new(settings(), SERVER, challenge, OAuthMemory::default(), [5; 48]);
            let url = to_authorization(
                &mut flow,
                as_metadata(json!({ "scopes_supported": offered })),
                true,
            );
            assert_eq!(param(&query(&url), "scope").as_deref(), Some(expected));
        }
    }

    #[test]
    fn credentials_from_another_issuer_are_dropped_and_a_refresh_token_is_used_first() {
        let other = OAuthMemory {
            tokens: Some(Tokens {
                issuer: "http://old:1".into(),
                access_token: "old".into(),
                refresh_token: Some("old-refresh".into()),
            }),
            client: Some(ClientCredentials {
                issuer: "http://old:1".into(),
                client_id: "old-client".into(),
                client_secret: None,
                auth_method: None,
            }),
            requested_scopes: Vec::new(),
        };
        let mut flow = OAuthFlow::new(settings(), SERVER, Challenge::default(), other, [8; 48]);
        // Registers anew at the new issuer; never presents the old client id.
        let url = to_authorization(&mut flow, as_metadata(json!({})), true);
        assert_eq!(param(&query(&url), "client_id").as_deref(), Some("c-1"));

        let same = OAuthMemory {
            tokens: Some(Tokens {
                issuer: ISSUER.into(),
                access_token: "expired".into(),
                refresh_token: Some("r-1".into()),
            }),
            client: Some(ClientCredentials {
                issuer: ISSUER.into(),
                client_id: "c-1".into(),
                client_secret: None,
                auth_method: None,
            }),
            requested_scopes: Vec::new(),
        };
        let mut flow =
            OAuthFlow::new(settings(), SERVER, Challenge::default(), same.clone(), [8; 48]);
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(&mut flow, 200, &as_metadata(json!({})));
        let refresh = fetch(&flow);
        let fields = form(&refresh);
        assert_eq!(param(&fields, "grant_type").as_deref(), Some("refresh_token"));
        assert_eq!(param(&fields, "refresh_token").as_deref(), Some("r-1"));
        answer(&mut flow, 200, br#"{"access_token":"at-2","token_type":"Bearer"}"#);
        assert_eq!(flow.step(), FlowStep::Done);
        let memory = flow.into_memory();
        assert_eq!(memory.access_token(), Some("at-2"));
        assert_eq!(memory.tokens.unwrap().refresh_token.as_deref(), Some("r-1"));
        // A refused refresh falls back to a new authorization with the same client.
        let mut flow = OAuthFlow::new(settings(), SERVER, Challenge::default(), same, [8; 48]);
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(&mut flow, 200, &as_metadata(json!({})));
        answer(&mut flow, 400, br#"{"error":"invalid_grant"}"#);
        assert!(matches!(flow.step(), FlowStep::Authorize(_)));
        assert_eq!(flow.memory().tokens, None);
    }

    #[test]
    fn the_client_credentials_grant_skips_the_user_and_needs_a_pre_registered_client() {
        let mut machine = settings();
        machine.grant = Grant::ClientCredentials;
        let mut flow = OAuthFlow::new(
            machine.clone(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [1; 48],
        );
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(&mut flow, 200, &as_metadata(json!({})));
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::NoClientRegistration { .. })));
        machine.pre_registered = Some(PreRegisteredClient::new("m", Some("k".into())));
        let mut flow =
            OAuthFlow::new(machine, SERVER, Challenge::default(), OAuthMemory::default(), [1; 48]);
        answer(&mut flow, 200, &prm(SERVER, Some(&["mcp:read"])));
        let metadata = as_metadata(
            json!({ "token_endpoint_auth_methods_supported": ["client_secret_basic"] }),
        );
        answer(&mut flow, 200, &metadata);
        let token = fetch(&flow);
        assert_eq!(token.url, format!("{ISSUER}/token"));
        let fields = form(&token);
        assert_eq!(param(&fields, "grant_type").as_deref(), Some("client_credentials"));
        assert_eq!(param(&fields, "scope").as_deref(), Some("mcp:read"));
        assert_eq!(param(&fields, "resource").as_deref(), Some(SERVER));
        assert_eq!(param(&fields, "code_verifier"), None);
        let basic = format!("Basic {}", STANDARD.encode("m:k"));
        assert!(token.headers.contains(&("authorization".into(), basic)));
        answer(&mut flow, 200, br#"{"access_token":"cc","token_type":"Bearer"}"#);
        assert_eq!(flow.step(), FlowStep::Done);
        assert_eq!(flow.memory().access_token(), Some("cc"));
    }

    #[test]
    fn refusals_and_malformed_answers_are_errors_not_panics() {
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [9; 48],
        );
        answer(&mut flow, 200, b"[1,2]");
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::Malformed { .. })));
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [9; 48],
        );
        answer(&mut flow, 200, &prm(SERVER, None));
        answer(&mut flow, 200, &as_metadata(json!({})));
        answer(&mut flow, 400, br#"{"error":"invalid_client_metadata"}"#);
        assert_eq!(
            flow.step(),
            FlowStep::Failed(OAuthError::Refused {
                endpoint: "registration",
                status: 400,
                error: "invalid_client_metadata".into()
            })
        );
        let mut flow = OAuthFlow::new(
            settings(),
            SERVER,
            Challenge::default(),
            OAuthMemory::default(),
            [9; 48],
        );
        let url = to_authorization(&mut flow, as_metadata(json!({})), true);
        flow.handle_redirect(&redirect_for(&flow, &url, None));
        answer(&mut flow, 200, br#"{"access_token":"x","token_type":"mac"}"#);
        assert!(matches!(flow.step(), FlowStep::Failed(OAuthError::Malformed { .. })));
    }
}
