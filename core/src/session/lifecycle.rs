//! The lifecycle of both eras, for both roles: the client's `initialize` or `server/discover`
//! probe and its fallback, the server's answers to `initialize` and `server/discover`, the
//! per-request version check of 2026-07-28, and the move to ready that releases held commands.

use super::outgoing::{Pending, Purpose};
use super::request_meta::RequestMeta;
use super::{
    EraPolicy, Event, Held, LifecycleFailure, Outcome, PeerDescription, Phase, ReadyInfo, Role,
    Session,
};
use crate::close::{CloseCode, CloseReason};
use crate::mcp::{DiscoverResult, InitializeParams, InitializeResult, methods};
use crate::message::{ErrorCode, ErrorObject, Message, Notification, Request};
use crate::raw::RawJson;
use crate::session::ClosedBy;
use crate::time::Instant;
use crate::version::{self, Era, ProtocolVersion};

impl Session {
    pub(super) fn send_initialize(&mut self, now: Instant, version: ProtocolVersion) {
        let Role::Client { capabilities, .. } = &self.config.role else { return };
        let params = InitializeParams {
            protocol_version: version.as_str().to_owned(),
            capabilities: capabilities.clone(),
            client_info: self.config.info.clone(),
            ..Default::default()
        };
        let params = RawJson::from_serialize(&params).expect("initialize params serialize");
        self.phase = Phase::ClientInitializing;
        self.send_lifecycle_request(now, Purpose::Initialize, methods::INITIALIZE, Some(params));
    }

    pub(super) fn send_discover(&mut self, now: Instant) {
        self.phase = Phase::ClientProbing;
        let params = self.stamp_modern_request(None);
        self.send_lifecycle_request(now, Purpose::Discover, methods::SERVER_DISCOVER, params);
    }

    pub(super) fn send_lifecycle_request(
        &mut self,
        now: Instant,
        purpose: Purpose,
        method: &str,
        params: Option<RawJson>,
    ) {
        let id = self.allocate_id();
        let timeout = match purpose {
            Purpose::Discover => self.config.discover_timeout,
            Purpose::Initialize | Purpose::Application => self.config.request_timeout,
        };
        let deadline = now + timeout;
        self.outgoing.insert(
            id.clone(),
            Pending {
                purpose,
                sent: true,
                deadline,
                hard_deadline: deadline,
                reset_on_progress: None,
                wants_progress: false,
                last_progress: None,
            },
        );
        self.send(&Message::Request(Request::new(id, method, params)));
    }

    pub(super) fn on_initialize_answer(&mut self, outcome: Result<RawJson, ErrorObject>) {
        let result = match outcome {
            Ok(raw) => raw.parse::<InitializeResult>().map_err(|e| {
                (LifecycleFailure::InvalidInitializeResult, format!("invalid result: {e}"))
            }),
            Err(error) => Err((
                LifecycleFailure::InitializeError,
                format!("error {}: {}", error.code, error.message),
            )),
        };
        let result = match result {
            Ok(result) => result,
            Err((failure, why)) => {
                let reason = CloseReason::new(
                    CloseCode::PROTOCOL_ERROR,
                    format!("initialize failed: {why}"),
                );
                self.lifecycle_failure = Some(failure);
                return self.shut_down(reason, ClosedBy::Session, true);
            }
        };
        let version = match version::accept_initialize_answer(
            &result.protocol_version,
            &self.config.versions,
        ) {
            Ok(version) => version,
            Err(refused) => {
                let reason = CloseReason::new(CloseCode::PROTOCOL_ERROR, refused.to_string());
                self.lifecycle_failure = Some(LifecycleFailure::VersionRefused);
                return self.shut_down(reason, ClosedBy::Session, true);
            }
        };
        self.send(&Message::Notification(Notification::new(
            methods::NOTIFICATIONS_INITIALIZED,
            None,
        )));
        let peer = PeerDescription::Server {
            info: Some(result.server_info),
            capabilities: result.capabilities,
            instructions: result.instructions,
        };
        self.become_ready(Era::Legacy, version, peer);
    }

    pub(super) fn on_discover_answer(&mut self, now: Instant, result: Option<RawJson>) {
        let discovered = result.and_then(|raw| raw.parse::<DiscoverResult>().ok());
        let modern = discovered.as_ref().and_then(|d| {
            d.supported_versions
                .iter()
                .filter_map(|v| ProtocolVersion::parse(v))
                .filter(|v| v.era() == Era::Modern && self.config.versions.contains(v))
                .max()
        });
        match (modern, discovered) {
            (Some(version), Some(discovered)) => {
                let info = discovered
                    .meta
                    .as_ref()
                    .and_then(|m| m.get(crate::mcp::meta::SERVER_INFO_KEY))
                    .and_then(|v| serde_json::from_value(v.clone()).ok());
                let peer = PeerDescription::Server {
                    info,
                    capabilities: discovered.capabilities,
                    instructions: None,
                };
                self.become_ready(Era::Modern, version, peer);
            }
            _ => {
                let fallback = match &self.config.role {
                    Role::Client { era: EraPolicy::DualEra { fallback }, .. } => *fallback,
                    _ => ProtocolVersion::LATEST_LEGACY,
                };
                self.send_initialize(now, fallback);
            }
        }
    }

    pub(super) fn on_initialize(&mut self, _now: Instant, request: Request) {
        // An initialize of 2026-07-28 (stamped, or on a connection speaking it) was refused
        // with -32601 before it got here.
        if self.phase != Phase::ServerAwaitingFirst {
            let error = ErrorObject::new(
                ErrorCode::InvalidRequest,
                "invalid request: the session is already initialized",
            );
            return self.send_error(Some(request.id), error);
        }
        let params = match request.params.as_ref().map(|p| p.parse::<InitializeParams>()) {
            Some(Ok(params)) => params,
            Some(Err(e)) => {
                let error = ErrorObject::new(
                    ErrorCode::InvalidParams,
                    format!("invalid initialize params: {e}"),
                );
                return self.send_error(Some(request.id), error);
            }
            None => {
                let error = ErrorObject::new(ErrorCode::InvalidParams, "initialize needs params");
                return self.send_error(Some(request.id), error);
            }
        };
        let Some(version) =
            version::negotiate_initialize(&params.protocol_version, &self.config.versions)
        else {
            let data = serde_json::json!({
                "supported": self.config.versions,
                "requested": params.protocol_version,
            });
            let error = ErrorObject::new(ErrorCode::InvalidParams, "Unsupported protocol version")
                .with_data(RawJson::from_serialize(&data).expect("json serializes"));
            return self.send_error(Some(request.id), error);
        };
        let Role::Server { capabilities, instructions } = &self.config.role else { return };
        let result = InitializeResult {
            protocol_version: version.as_str().to_owned(),
            capabilities: capabilities.clone(),
            server_info: self.config.info.clone(),
            instructions: instructions.clone(),
            ..Default::default()
        };
        let result = RawJson::from_serialize(&result).expect("initialize result serializes");
        self.negotiated = Some((Era::Legacy, version));
        self.phase = Phase::ServerAwaitingInitialized;
        self.peer_from_initialize = Some(PeerDescription::Client {
            info: Some(params.client_info),
            capabilities: params.capabilities,
        });
        self.send_result(request.id, result);
    }

    pub(super) fn on_discover(&mut self, request: Request) {
        let modern: Vec<&str> = self
            .config
            .versions
            .iter()
            .filter(|v| v.era() == Era::Modern)
            .map(|v| v.as_str())
            .collect();
        if modern.is_empty() {
            let error =
                ErrorObject::new(ErrorCode::MethodNotFound, "method not found: server/discover");
            return self.send_error(Some(request.id), error);
        }
        // The probe is a 2026-07-28 request like any other: it names its version (-32602
        // without one, -32022 for one this server does not speak, with the supported list)
        // and declares the client's capabilities (-32602 without them); clientInfo is a
        // SHOULD, so a probe without it is answered.
        let meta = RequestMeta::read(request.params.as_ref());
        let missing = match (&meta.protocol_version, meta.has_client_capabilities()) {
            (None, _) => Some("io.modelcontextprotocol/protocolVersion"),
            (Some(_), false) => Some("io.modelcontextprotocol/clientCapabilities"),
            (Some(_), true) => None,
        };
        if let Some(stamp) = missing {
            let error = ErrorObject::new(
                ErrorCode::InvalidParams,
                format!("server/discover must carry _meta[\"{stamp}\"]"),
            );
            return self.send_error(Some(request.id), error);
        }
        if let Err(error) = self.check_modern_version(&meta) {
            return self.send_error(Some(request.id), error);
        }
        let Role::Server { capabilities, .. } = &self.config.role else { return };
        let result = DiscoverResult {
            supported_versions: modern.iter().map(|v| (*v).to_owned()).collect(),
            capabilities: capabilities.clone(),
            ..Default::default()
        };
        let raw = RawJson::from_serialize(&result).expect("discover result serializes");
        let raw = self.stamp_modern_result(&raw, true).unwrap_or(raw);
        // A 2026-07-28 client has no handshake: its probe is the lifecycle, and its first
        // request may come whenever it likes.
        self.lifecycle_deadline = None;
        self.send_result(request.id, raw);
    }

    pub(super) fn check_modern_version(
        &self,
        meta: &RequestMeta<'_>,
    ) -> Result<ProtocolVersion, ErrorObject> {
        version::check_modern_request(meta.protocol_version.as_deref(), &self.config.versions)
            .map_err(|unsupported| {
                let data = serde_json::json!({
                    "supported": unsupported.supported,
                    "requested": unsupported.requested,
                });
                ErrorObject::new(ErrorCode::UnsupportedProtocolVersion, unsupported.to_string())
                    .with_data(RawJson::from_serialize(&data).expect("json serializes"))
            })
    }

    /// A server's lifecycle did not finish by [`super::SessionConfig::lifecycle_timeout`].
    pub(super) fn lifecycle_expired(&mut self) {
        let timeout = self.config.lifecycle_timeout.unwrap_or_default();
        let reason = CloseReason::new(
            CloseCode::POLICY_VIOLATION,
            format!("the MCP lifecycle did not finish within {} ms", timeout.as_millis()),
        );
        self.shut_down(reason, ClosedBy::Session, true);
    }

    pub(super) fn become_ready(
        &mut self,
        era: Era,
        version: ProtocolVersion,
        peer: PeerDescription,
    ) {
        self.negotiated = Some((era, version));
        self.phase = Phase::Ready;
        self.lifecycle_deadline = None;
        let info = ReadyInfo { era, version, peer };
        self.ready = Some(info.clone());
        self.emit(Event::Ready(Box::new(info)));
        self.flush_held();
    }

    pub(super) fn flush_held(&mut self) {
        let server_modern =
            !self.is_client() && self.negotiated.is_some_and(|(e, _)| e == Era::Modern);
        while let Some(held) = self.held.pop_front() {
            match held {
                Held::Request { id, .. } if server_modern => {
                    self.outgoing.remove(&id);
                    let error = ErrorObject::new(
                        ErrorCode::InvalidRequest,
                        "the client speaks 2026-07-28, where servers send no requests",
                    );
                    self.emit(Event::RequestEnded { id, outcome: Outcome::Error(error) });
                }
                Held::Request { id, method, params } => {
                    if let Some(pending) = self.outgoing.get_mut(&id) {
                        pending.sent = true;
                        self.transmit_request(id, method, params);
                    }
                }
                Held::Notification(notification) => self.send(&Message::Notification(notification)),
            }
        }
    }
}
