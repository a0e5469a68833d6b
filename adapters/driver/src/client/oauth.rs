//! OAuth for the client (MCP authorization): the configuration ([`OAuthConfig`]), and the
//! agent that runs the core's [`OAuthFlow`] when the server answers `401` (or `403
//! insufficient_scope`), making the requests the flow asks for with the driver's HTTP client
//! and keeping the tokens between flows (and across reconnects).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_ws_core::oauth::{
    Challenge, FlowStep, HttpAnswer, HttpMethod, OAuthClientSettings, OAuthError, OAuthFlow,
    OAuthMemory, PreRegisteredClient, RANDOM_BYTES,
};
use ring::rand::SecureRandom;

use crate::runtime::{BoxFuture, Network};
use crate::tls::ClientTls;

/// How many requests one flow may make before it is abandoned (discovery, registration,
/// token: a correct flow needs at most 9).
const MAX_FLOW_STEPS: usize = 16;

/// The default [`OAuthConfig::max_authorizations_per_request`].
pub const DEFAULT_MAX_AUTHORIZATIONS_PER_REQUEST: u32 = 2;

/// What gets the authorization code: the user's browser, or (for authorization servers that
/// grant without a user, as in tests and automated setups) the client itself.
#[derive(Clone)]
#[non_exhaustive]
pub enum Authorizer {
    /// The client GETs the authorization URL itself and takes the redirect's `Location`
    /// (a server that needs a user to log in answers with a page instead, and the flow fails).
    FollowRedirect,
    /// Called with the authorization URL; returns the URL the user's browser was redirected
    /// to (with `code`, `state` and perhaps `iss`), or why there is none.
    Callback(Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, String>> + Send + Sync>),
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authorizer::FollowRedirect => f.write_str("FollowRedirect"),
            Authorizer::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// OAuth for a client whose server requires MCP authorization (Streamable HTTP endpoints).
///
/// ```
/// use mcp_ws_driver::{Authorizer, OAuthConfig};
///
/// let oauth = OAuthConfig::new("http://127.0.0.1:8765/callback", "my-agent")
///     .client_metadata_url("https://agent.example.com/client.json")
///     .authorizer(Authorizer::Callback(std::sync::Arc::new(|url| {
///         Box::pin(async move {
///             // Open `url` in a browser; return the redirect it ends at.
///             Err(format!("open {url}"))
///         })
///     })));
/// assert_eq!(oauth.max_authorizations_per_request, 2);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct OAuthConfig {
    /// Who the client is to authorization servers.
    pub client: OAuthClientSettings,
    /// What gets the authorization code.
    pub authorizer: Authorizer,
    /// How many authorizations one request may trigger (a `401`, then a `403` step-up...)
    /// before it fails with the server's answer: the bound on re-authorization loops.
    pub max_authorizations_per_request: u32,
    /// Tokens and registrations, shared by clones of this configuration.
    memory: Arc<Mutex<OAuthMemory>>,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client", &self.client)
            .field("authorizer", &self.authorizer)
            .field("max_authorizations_per_request", &self.max_authorizations_per_request)
            .finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// A client sent back to `redirect_uri`, registered dynamically as `client_name` unless
    /// configured otherwise; the authorization URL is followed by the client itself
    /// ([`Authorizer::FollowRedirect`]) until [`OAuthConfig::authorizer`] says otherwise.
    pub fn new(redirect_uri: impl Into<String>, client_name: impl Into<String>) -> Self {
        OAuthConfig {
            client: OAuthClientSettings::new(redirect_uri, client_name),
            authorizer: Authorizer::FollowRedirect,
            max_authorizations_per_request: DEFAULT_MAX_AUTHORIZATIONS_PER_REQUEST,
            memory: Arc::new(Mutex::new(OAuthMemory::default())),
        }
    }

    /// Sets what gets the authorization code.
    pub fn authorizer(mut self, authorizer: Authorizer) -> Self {
        self.authorizer = authorizer;
        self
    }

    /// Uses this Client ID Metadata Document URL as the client id where servers support it.
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client.client_metadata_url = Some(url.into());
        self
    }

    /// Uses a client registered in advance.
    pub fn pre_registered(mut self, client_id: &str, client_secret: Option<&str>) -> Self {
        self.client.pre_registered =
            Some(PreRegisteredClient::new(client_id, client_secret.map(str::to_string)));
        self
    }

    /// Obtains tokens with the client-credentials grant (a machine client, no user), as the
    /// [pre-registered](OAuthConfig::pre_registered) client.
    pub fn client_credentials(mut self) -> Self {
        self.client.grant = mcp_ws_core::oauth::Grant::ClientCredentials;
        self
    }

    /// Whether to ask for `offline_access` (refresh tokens) when a server offers it.
    pub fn offline_access(mut self, wanted: bool) -> Self {
        self.client.offline_access = wanted;
        self
    }

    /// The current access token, if one was obtained.
    pub fn access_token(&self) -> Option<String> {
        self.memory.lock().expect("lock").access_token().map(str::to_string)
    }
}

/// Why the client could not authorize.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The flow refused something the servers said.
    #[error("authorization failed: {0}")]
    Flow(#[from] OAuthError),
    /// A request of the flow failed.
    #[error("authorization request to {url} failed: {why}")]
    Fetch {
        /// The URL.
        url: String,
        /// What failed.
        why: String,
    },
    /// The authorization URL did not redirect back.
    #[error("the authorization endpoint answered HTTP {status} without a redirect")]
    NoRedirect {
        /// The HTTP status.
        status: u16,
    },
    /// The [`Authorizer::Callback`] gave no redirect.
    #[error("authorization was not completed: {0}")]
    Authorizer(String),
    /// The flow took more than its bounded number of steps.
    #[error("the authorization flow took too many steps")]
    TooManySteps,
}

/// One HTTP exchange, as the agent needs it.
pub(crate) struct Fetched {
    pub status: u16,
    pub location: Option<String>,
    pub body: bytes::Bytes,
}

/// What makes the flow's requests: the driver's HTTP client (see
/// `crate::http_client::fetch_once`).
pub(crate) struct FetchSettings {
    pub tls: Option<ClientTls>,
    pub connect_timeout: Duration,
}

/// Runs flows for one client (shared by its reconnects) and serializes them.
pub(crate) struct OAuthAgent {
    config: OAuthConfig,
    running: futures_util::lock::Mutex<()>,
}

impl OAuthAgent {
    pub fn new(config: OAuthConfig) -> Self {
        OAuthAgent { config, running: futures_util::lock::Mutex::new(()) }
    }

    pub fn max_authorizations_per_request(&self) -> u32 {
        self.config.max_authorizations_per_request
    }

    /// The access token to send.
    pub fn access_token(&self) -> Option<String> {
        self.config.access_token()
    }

    /// Whether answering `challenge` (after a request sent with `sent_token`) is worth a
    /// flow: a `401`, or a `403` step-up that asks for a scope not asked for yet.
    pub fn wants(&self, status: u16, challenge: &Challenge) -> bool {
        match status {
            401 => true,
            403 => {
                challenge.is_insufficient_scope()
                    && self.config.memory.lock().expect("lock").step_up_would_widen(challenge)
            }
            _ => false,
        }
    }

    /// Runs a flow for `server_url` after `challenge`, unless another request's flow already
    /// replaced `sent_token` meanwhile.
    pub async fn authorize<N: Network>(
        &self,
        net: &N,
        server_url: &str,
        status: u16,
        challenge: Challenge,
        sent_token: Option<String>,
        fetch: &FetchSettings,
    ) -> Result<(), AuthorizeError> {
        let _running = self.running.lock().await;
        if self.access_token() != sent_token && self.access_token().is_some() && status == 401 {
            return Ok(());
        }
        let memory = self.config.memory.lock().expect("lock").clone();
        let mut random = [0u8; RANDOM_BYTES];
        ring::rand::SystemRandom::new()
            .fill(&mut random)
            .map_err(|_| AuthorizeError::Authorizer("no system randomness".into()))?;
        let mut flow =
            OAuthFlow::new(self.config.client.clone(), server_url, challenge, memory, random);
        let max_bytes = self.config.client.max_document_bytes;
        for _ in 0..MAX_FLOW_STEPS {
            match flow.step() {
                FlowStep::Fetch(request) => {
                    let method = match request.method {
                        HttpMethod::Post => "POST",
                        _ => "GET",
                    };
                    let fetched = crate::http_client::fetch_once(
                        net,
                        method,
                        &request.url,
                        &request.headers,
                        request.body,
                        fetch,
                        max_bytes,
                    )
                    .await
                    .map_err(|why| AuthorizeError::Fetch { url: request.url.clone(), why })?;
                    flow.handle_response(HttpAnswer::new(fetched.status, &fetched.body));
                }
                FlowStep::Authorize(url) => {
                    let redirect = match &self.config.authorizer {
                        Authorizer::FollowRedirect => {
                            let fetched = crate::http_client::fetch_once(
                                net,
                                "GET",
                                &url,
                                &[],
                                Vec::new(),
                                fetch,
                                max_bytes,
                            )
                            .await
                            .map_err(|why| AuthorizeError::Fetch { url: url.clone(), why })?;
                            match fetched.location {
                                Some(location) if (300..400).contains(&fetched.status) => location,
                                _ => {
                                    return Err(AuthorizeError::NoRedirect {
                                        status: fetched.status,
                                    });
                                }
                            }
                        }
                        Authorizer::Callback(callback) => {
                            callback(url).await.map_err(AuthorizeError::Authorizer)?
                        }
                    };
                    flow.handle_redirect(&redirect);
                }
                FlowStep::Done => {
                    *self.config.memory.lock().expect("lock") = flow.into_memory();
                    return Ok(());
                }
                FlowStep::Failed(error) => {
                    *self.config.memory.lock().expect("lock") = flow.into_memory();
                    return Err(error.into());
                }
                _ => return Err(AuthorizeError::TooManySteps),
            }
        }
        Err(AuthorizeError::TooManySteps)
    }
}
