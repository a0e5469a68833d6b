//! MCP protocol versions as data: the released set, each one's era and features, and the
//! negotiation rules of both eras.
//!
//! Legacy versions (2024-11-05 to 2025-11-25) negotiate once, in `initialize`: the server answers
//! with the client's version when it supports it and otherwise with its own latest legacy
//! version, and the client closes if it cannot speak the answer. The modern era (2026-07-28) has
//! no handshake: every request names its version and the server refuses an unsupported one with
//! error -32022.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mcp::UnsupportedVersionData;
use crate::message::ErrorObject;

/// A released MCP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// 2024-11-05, the first release.
    V2024_11_05,
    /// 2025-03-26, which adds JSON-RPC batches.
    V2025_03_26,
    /// 2025-06-18, which removes batches and adds elicitation.
    V2025_06_18,
    /// 2025-11-25, which adds tasks, icons and URL elicitation; the last legacy version.
    V2025_11_25,
    /// 2026-07-28, the stateless modern era.
    V2026_07_28,
}

/// The two lifecycles MCP has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// `initialize`, its result, then `notifications/initialized`; one version per connection.
    Legacy,
    /// No handshake; every request carries its version and client identity in `_meta`.
    Modern,
}

impl fmt::Display for Era {
    /// `legacy` or `modern`, as logs show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        })
    }
}

impl ProtocolVersion {
    /// Every released version, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];

    /// The newest version.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The newest legacy version, the newest any released WebSocket-capable SDK speaks.
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The version's date string, as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// The version a date string names, if it is a released one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The version's lifecycle era.
    pub const fn era(self) -> Era {
        match self {
            ProtocolVersion::V2026_07_28 => Era::Modern,
            _ => Era::Legacy,
        }
    }

    /// Whether JSON-RPC batches (arrays of messages) are allowed: only in 2025-03-26.
    pub const fn allows_batches(self) -> bool {
        matches!(self, ProtocolVersion::V2025_03_26)
    }

    /// Whether servers may ask the client for input with `elicitation/create`.
    pub const fn has_elicitation(self) -> bool {
        !matches!(self, ProtocolVersion::V2024_11_05 | ProtocolVersion::V2025_03_26)
    }

    /// Whether the protocol has an MCP-level `ping` request (every legacy version).
    pub const fn has_ping(self) -> bool {
        matches!(self.era(), Era::Legacy)
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a version string that names no released version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVersion(pub String);

impl fmt::Display for UnknownVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown MCP protocol version {:?}", self.0)
    }
}

impl std::error::Error for UnknownVersion {}

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProtocolVersion::parse(s).ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ProtocolVersion::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(UnknownVersion(text.into_owned())))
    }
}

/// Server side of legacy negotiation: the version to answer an `initialize` that asked for
/// `requested`.
///
/// The client's version when it is a legacy version in `supported`; otherwise the newest legacy
/// version in `supported`; `None` when `supported` holds no legacy version at all.
pub fn negotiate_initialize(
    requested: &str,
    supported: &[ProtocolVersion],
) -> Option<ProtocolVersion> {
    let legacy = supported.iter().copied().filter(|v| v.era() == Era::Legacy);
    match ProtocolVersion::parse(requested) {
        Some(v) if v.era() == Era::Legacy && supported.contains(&v) => Some(v),
        _ => legacy.max(),
    }
}

/// Why a client refuses the version a server answered in `initialize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRefused {
    /// What the server answered.
    pub answered: String,
}

impl fmt::Display for VersionRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server answered protocol version {:?}, which this client does not speak",
            self.answered
        )
    }
}

impl std::error::Error for VersionRefused {}

/// Client side of legacy negotiation: accepts the server's answer if the client speaks it.
pub fn accept_initialize_answer(
    answered: &str,
    supported: &[ProtocolVersion],
) -> Result<ProtocolVersion, VersionRefused> {
    ProtocolVersion::parse(answered)
        .filter(|v| v.era() == Era::Legacy && supported.contains(v))
        .ok_or_else(|| VersionRefused { answered: answered.to_owned() })
}

/// Server side of modern negotiation: the version of a request whose `_meta` names
/// `requested`, or `Err` when the server must answer -32022.
pub fn check_modern_request(
    requested: Option<&str>,
    supported: &[ProtocolVersion],
) -> Result<ProtocolVersion, UnsupportedVersion> {
    requested
        .and_then(ProtocolVersion::parse)
        .filter(|v| v.era() == Era::Modern && supported.contains(v))
        .ok_or_else(|| UnsupportedVersion {
            requested: requested.map(str::to_owned),
            supported: supported.iter().copied().filter(|v| v.era() == Era::Modern).collect(),
        })
}

/// Client side of a -32022 refusal (2026-07-28): the version to send the request again with,
/// the newest modern version in the error's `data.supported` that is also in `speaks`; `None`
/// for any other error, or when the server supports none of them (then the call fails).
pub fn retry_version(error: &ErrorObject, speaks: &[ProtocolVersion]) -> Option<ProtocolVersion> {
    if error.code != -32022 {
        return None;
    }
    let data: UnsupportedVersionData = error.data.as_ref()?.parse().ok()?;
    data.supported
        .iter()
        .filter_map(|text| ProtocolVersion::parse(text))
        .filter(|v| v.era() == Era::Modern && speaks.contains(v))
        .max()
}

/// The detail of a -32022 error: what was asked for and what the server speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedVersion {
    /// The version the request named, or `None` when it named none.
    pub requested: Option<String>,
    /// The modern versions the server supports.
    pub supported: Vec<ProtocolVersion>,
}

impl fmt::Display for UnsupportedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.requested {
            Some(v) => write!(f, "unsupported protocol version {v:?}"),
            None => f.write_str("request names no protocol version"),
        }
    }
}

impl std::error::Error for UnsupportedVersion {}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    #[test]
    fn server_echoes_a_supported_legacy_version() {
        assert_eq!(negotiate_initialize("2025-03-26", &ProtocolVersion::ALL), Some(V2025_03_26));
    }

    #[test]
    fn server_answers_its_latest_legacy_version_to_an_unknown_one() {
        assert_eq!(negotiate_initialize("2099-01-01", &ProtocolVersion::ALL), Some(V2025_11_25));
        assert_eq!(negotiate_initialize("2026-07-28", &ProtocolVersion::ALL), Some(V2025_11_25));
        assert_eq!(
            negotiate_initialize("2025-06-18", &[V2024_11_05, V2025_03_26]),
            Some(V2025_03_26)
        );
    }

    #[test]
    fn server_without_legacy_versions_cannot_answer_initialize() {
        assert_eq!(negotiate_initialize("2025-06-18", &[V2026_07_28]), None);
    }

    #[test]
    fn client_refuses_an_answer_it_does_not_speak() {
        assert_eq!(accept_initialize_answer("2025-06-18", &ProtocolVersion::ALL), Ok(V2025_06_18));
        assert_eq!(
            accept_initialize_answer("2024-11-05", &[V2025_11_25]),
            Err(VersionRefused { answered: "2024-11-05".into() })
        );
        assert!(accept_initialize_answer("2026-07-28", &ProtocolVersion::ALL).is_err());
    }

    #[test]
    fn modern_server_refuses_legacy_and_missing_versions() {
        assert_eq!(
            check_modern_request(Some("2026-07-28"), &ProtocolVersion::ALL),
            Ok(V2026_07_28)
        );
        let err = check_modern_request(Some("2025-06-18"), &ProtocolVersion::ALL).unwrap_err();
        assert_eq!(err.supported, vec![V2026_07_28]);
        assert_eq!(err.requested.as_deref(), Some("2025-06-18"));
        assert!(check_modern_request(None, &ProtocolVersion::ALL).is_err());
    }

    #[test]
    fn only_2025_03_26_allows_batches() {
        let with: Vec<_> =
            ProtocolVersion::ALL.into_iter().filter(|v| v.allows_batches()).collect();
        assert_eq!(with, vec![V2025_03_26]);
    }

    fn refusal(code: i64, data: Option<&str>) -> ErrorObject {
        ErrorObject {
            code,
            message: "Unsupported protocol version".into(),
            data: data.map(|d| crate::RawJson::from_string(d.to_string()).unwrap()),
        }
    }

    #[test]
    fn a_32022_naming_a_modern_version_we_speak_is_retried_with_it() {
        let speaks = [V2025_11_25, V2026_07_28];
        let data = r#"{"supported": ["2027-01-01", "2026-07-28", "2025-11-25"], "requested": "x"}"#;
        assert_eq!(retry_version(&refusal(-32022, Some(data)), &speaks), Some(V2026_07_28));
        // Only legacy versions, or none we speak: the call fails.
        let legacy = r#"{"supported": ["2025-11-25"], "requested": "2026-07-28"}"#;
        assert_eq!(retry_version(&refusal(-32022, Some(legacy)), &speaks), None);
        assert_eq!(retry_version(&refusal(-32022, Some(data)), &[V2025_11_25]), None);
        // Another error, or no readable data.
        assert_eq!(retry_version(&refusal(-32602, Some(data)), &speaks), None);
        assert_eq!(retry_version(&refusal(-32022, None), &speaks), None);
        assert_eq!(retry_version(&refusal(-32022, Some("[1]")), &speaks), None);
    }
}
