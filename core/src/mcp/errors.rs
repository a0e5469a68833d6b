//! The structured `data` of MCP-defined JSON-RPC errors.
//!
//! The error envelope itself is [`crate::ErrorObject`]; these types read and build its `data`
//! for the codes whose data MCP specifies.

use serde::{Deserialize, Serialize};

use crate::mcp::capabilities::ClientCapabilities;
use crate::mcp::common::JsonObject;

/// `data` of error -32022 (unsupported protocol version, 2026-07-28).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsupportedVersionData {
    /// The versions the server speaks.
    pub supported: Vec<String>,
    /// The version the request named.
    pub requested: String,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `data` of error -32021 (missing required client capability, 2026-07-28).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingCapabilityData {
    /// The capabilities the request needs the client to declare.
    pub required_capabilities: ClientCapabilities,
    /// Members this crate does not know, kept for forwarding.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl MissingCapabilityData {
    /// The data of the -32021 answer to a request whose handler needed to send the client a
    /// request of `method` (`roots/list`, `sampling/createMessage`, `elicitation/create`) that
    /// `declared` does not cover; `None` when it is covered or `method` needs no capability.
    pub fn for_request(method: &str, declared: &ClientCapabilities) -> Option<Self> {
        use crate::mcp::methods;
        let mut required = ClientCapabilities::default();
        match method {
            methods::ROOTS_LIST if declared.roots.is_none() => {
                required.roots = Some(Default::default());
            }
            methods::SAMPLING_CREATE_MESSAGE if declared.sampling.is_none() => {
                required.sampling = Some(Default::default());
            }
            methods::ELICITATION_CREATE if declared.elicitation.is_none() => {
                required.elicitation = Some(Default::default());
            }
            _ => return None,
        }
        Some(MissingCapabilityData { required_capabilities: required, ..Default::default() })
    }

    /// The -32021 error carrying this data, its message naming `method`.
    pub fn into_error(self, method: &str) -> crate::ErrorObject {
        let message = format!(
            "this request needs to send {method}, and the client did not declare the \
             capability for it in io.modelcontextprotocol/clientCapabilities"
        );
        let data = crate::RawJson::from_serialize(&self).expect("capabilities serialize");
        crate::ErrorObject::new(crate::ErrorCode::MissingRequiredClientCapability, message)
            .with_data(data)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::mcp::methods;

    #[test]
    fn a_request_the_declared_capabilities_do_not_cover_gets_minus_32021_naming_it() {
        let none = ClientCapabilities::default();
        let sampling_only: ClientCapabilities =
            serde_json::from_value(json!({"sampling": {}})).unwrap();
        let error = MissingCapabilityData::for_request(methods::SAMPLING_CREATE_MESSAGE, &none)
            .expect("sampling is not declared")
            .into_error(methods::SAMPLING_CREATE_MESSAGE);
        assert_eq!(error.code, -32021);
        let data: Value = error.data.expect("data").parse().unwrap();
        assert_eq!(data, json!({"requiredCapabilities": {"sampling": {}}}));
        for (method, wanted) in [
            (methods::ROOTS_LIST, json!({"roots": {}})),
            (methods::ELICITATION_CREATE, json!({"elicitation": {}})),
        ] {
            let data = MissingCapabilityData::for_request(method, &sampling_only).expect(method);
            assert_eq!(serde_json::to_value(&data).unwrap()["requiredCapabilities"], wanted);
        }
        let covered =
            MissingCapabilityData::for_request(methods::SAMPLING_CREATE_MESSAGE, &sampling_only);
        assert!(covered.is_none());
        assert!(MissingCapabilityData::for_request("tools/list", &none).is_none());
    }
}
