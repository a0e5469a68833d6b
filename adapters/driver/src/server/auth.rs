//! Who may open a session: the pluggable check the handshake runs before the upgrade, and the
//! [`Principal`] it yields, which every handler then sees through
//! [`crate::RequestContext::principal`].
//!
//! An [`Authenticator`] sees the request head (path, headers, peer address) and the subprotocol
//! the server selected, and either allows with a principal or refuses with an HTTP status.
//! [`StaticToken`] is the bearer-token implementation: `Authorization: Bearer <token>` from
//! native clients, or a `mcp.auth.<token>` subprotocol offer from browsers (which cannot set
//! headers); tokens are compared in constant time and never logged.

use std::fmt;
use std::sync::Arc;

use mcp_ws_core::subprotocol;
use subtle::ConstantTimeEq;

use super::handshake::{Refusal, RequestHead};

/// The identity an [`Authenticator`] allowed: reaches every handler of the connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    name: Arc<str>,
}

impl Principal {
    /// A principal called `name` (a user, a service account, `"token"`...).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Principal { name: name.into() }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What an [`Authenticator`] is shown.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The request head, peer and local addresses included.
    pub head: &'a RequestHead,
    /// The subprotocol the server will select, if any.
    pub subprotocol: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    /// The bearer token presented: `Authorization: Bearer <token>` first, else a
    /// `mcp.auth.<token>` subprotocol offer.
    pub fn bearer_token(&self) -> Option<&'a str> {
        let head = self.head;
        if let Some(value) = head.header("authorization") {
            let value = value.trim();
            let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
            return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
        }
        let offers: Vec<&str> = head.headers_named("sec-websocket-protocol").collect();
        subprotocol::offered_token(&offers)
    }
}

/// An authenticator's verdict.
#[derive(Debug, Clone)]
pub enum AuthDecision {
    /// Let the client in as this principal.
    Allow(Principal),
    /// Refuse the upgrade with this answer (a 401 with `WWW-Authenticate`, a 403...).
    Refuse(Refusal),
}

/// The pluggable check run on every upgrade request. Closures of the right shape implement it.
///
/// It is synchronous on purpose: it is one step of the pure handshake decision
/// ([`super::handshake::decide`]), which the listener, the axum handler and an embedder's own
/// upgrade all call the same way. It runs on the connection's own task (each accepted
/// connection is spawned before its handshake), never in the accept loop, so a slow check
/// delays only its own client; but it holds a runtime worker while it runs, and the handshake
/// deadline cannot interrupt it. So it must not block: verify what can be verified locally (a
/// constant-time token compare, a JWT signature) and read anything that needs I/O (token
/// introspection, revocation lists) from state a background task keeps fresh.
pub trait Authenticator: Send + Sync + 'static {
    /// Decides on one request. Must not block (see the trait docs).
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision;
}

impl<F> Authenticator for F
where
    F: Fn(&AuthRequest<'_>) -> AuthDecision + Send + Sync + 'static,
{
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision {
        self(request)
    }
}

/// A shared [`Authenticator`], as [`crate::ServerConfig`] holds it.
#[derive(Clone)]
pub struct AuthCheck(Arc<dyn Authenticator>);

impl AuthCheck {
    /// Wraps `authenticator`.
    pub fn new(authenticator: impl Authenticator) -> Self {
        AuthCheck(Arc::new(authenticator))
    }

    /// Runs the check.
    pub fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision {
        self.0.authenticate(request)
    }
}

impl fmt::Debug for AuthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthCheck(..)")
    }
}

/// A 401 refusal asking for a bearer token (`WWW-Authenticate: Bearer`, RFC 6750 §3).
pub fn unauthorized(challenge: &str, why: &str) -> Refusal {
    Refusal::new(401, why).header("WWW-Authenticate", challenge)
}

/// One shared bearer token: the simplest [`Authenticator`].
#[derive(Clone)]
pub struct StaticToken {
    token: Vec<u8>,
    principal: Principal,
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken").field("principal", &self.principal).finish_non_exhaustive()
    }
}

impl StaticToken {
    /// Accepts `token`; the principal is named `"token"`.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken { token: token.into().into_bytes(), principal: Principal::new("token") }
    }

    /// Names the principal the token stands for.
    pub fn principal(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    /// Whether `presented` is the token, in time independent of where they differ (the length
    /// is not hidden).
    pub fn matches(&self, presented: &str) -> bool {
        bool::from(self.token.as_slice().ct_eq(presented.as_bytes()))
    }
}

impl Authenticator for StaticToken {
    fn authenticate(&self, request: &AuthRequest<'_>) -> AuthDecision {
        match request.bearer_token() {
            None => AuthDecision::Refuse(unauthorized(
                "Bearer",
                "this MCP endpoint needs a bearer token: send `Authorization: Bearer <token>` \
                 or offer the subprotocol `mcp.auth.<token>`",
            )),
            Some(token) if self.matches(token) => AuthDecision::Allow(self.principal.clone()),
            Some(_) => AuthDecision::Refuse(unauthorized(
                "Bearer error=\"invalid_token\"",
                "the bearer token is wrong",
            )),
        }
    }
}
