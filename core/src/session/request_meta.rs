//! Reading the `_meta` of incoming request params without parsing the rest.
//!
//! The session needs four things from an incoming request: its progress token (both eras) and,
//! in the 2026-07-28 era, the protocol version, client capabilities, client info and the log
//! level the request wants. The probe
//! skips every other member, and is not even run when the params do not mention `_meta`.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::mcp::{ClientCapabilities, Implementation, LoggingLevel, ProgressToken};
use crate::raw::RawJson;

/// What an incoming request's `_meta` says. The client identity stays raw until asked for:
/// the session needs it only once, when a 2026-07-28 connection becomes ready.
#[derive(Debug, Default)]
pub(crate) struct RequestMeta<'a> {
    pub progress_token: Option<ProgressToken>,
    pub protocol_version: Option<String>,
    client_info: Option<&'a RawValue>,
    client_capabilities: Option<&'a RawValue>,
    log_level: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ParamsProbe<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaProbe<'a>>,
}

#[derive(Deserialize)]
struct MetaProbe<'a> {
    #[serde(rename = "progressToken", default)]
    progress_token: Option<ProgressToken>,
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default)]
    protocol_version: Option<String>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    client_info: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    client_capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", borrow, default)]
    log_level: Option<&'a RawValue>,
}

impl<'a> RequestMeta<'a> {
    /// Reads the `_meta` of `params`; anything unreadable counts as absent.
    pub fn read(params: Option<&'a RawJson>) -> RequestMeta<'a> {
        let Some(params) = params else { return RequestMeta::default() };
        if !params.get().contains("_meta") {
            return RequestMeta::default();
        }
        let Ok(ParamsProbe { meta: Some(meta) }) = params.parse_borrowed::<ParamsProbe<'_>>()
        else {
            return RequestMeta::default();
        };
        RequestMeta {
            progress_token: meta.progress_token,
            protocol_version: meta.protocol_version,
            client_info: meta.client_info,
            client_capabilities: meta.client_capabilities,
            log_level: meta.log_level,
        }
    }

    /// The `logLevel` the request asks for (2026-07-28), when present and a string.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.log_level.and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// The `clientInfo` stamp, when present and well-formed.
    pub fn client_info(&self) -> Option<Implementation> {
        self.client_info.and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// Whether the request carries a `clientCapabilities` stamp at all.
    pub fn has_client_capabilities(&self) -> bool {
        self.client_capabilities.is_some()
    }

    /// The `clientCapabilities` stamp, when present and well-formed.
    pub fn client_capabilities(&self) -> Option<ClientCapabilities> {
        self.client_capabilities.and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}
