//! Every official 2026-07-28 example decodes into its typed view and re-encodes to the same JSON.
//!
//! The examples live in `core/tests/fixtures/spec/2026-07-28/examples/<TypeName>/*.json`. Each directory name
//! is mapped to a round trip below; a directory without a mapping fails the test, so a new
//! example type cannot slip through untested.

use std::fs;
use std::path::{Path, PathBuf};

use mcp_ws_core::mcp::*;
use mcp_ws_core::{
    ErrorResponse, Frame, Limits, Message, Notification, RawJson, Request, ResultResponse, decode,
    encode,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

type RoundTrip = fn(&str) -> Result<Value, String>;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/2026-07-28/examples")
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Parses `value` as a `T` and serializes it back.
fn typed<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let view: T = T::deserialize(value).map_err(err)?;
    serde_json::to_value(&view).map_err(err)
}

/// A bare payload (params, result, content block, ...).
fn view<T: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(err)?;
    typed::<T>(&value)
}

fn single(text: &str) -> Result<Message, String> {
    match decode(text, &Limits::default()) {
        Ok(Frame::Single(message)) => Ok(message),
        Ok(Frame::Batch(_)) => Err("decoded as a batch".into()),
        Err(e) => Err(format!("decode failed: {e}")),
    }
}

fn reencode(message: Message) -> Result<Value, String> {
    serde_json::from_str(&encode(&message)).map_err(err)
}

fn reparse<T: DeserializeOwned + Serialize>(raw: &RawJson) -> Result<RawJson, String> {
    let view: T = raw.parse().map_err(err)?;
    RawJson::from_serialize(&view).map_err(err)
}

/// A full JSON-RPC request whose params are a `P`.
fn request<P: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let Message::Request(r) = single(text)? else { return Err("not a request".into()) };
    let params = match &r.params {
        Some(p) => Some(reparse::<P>(p)?),
        None => None,
    };
    reencode(Message::Request(Request { params, ..r }))
}

/// A full JSON-RPC notification whose params are a `P`.
fn notification<P: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let Message::Notification(n) = single(text)? else { return Err("not a notification".into()) };
    let params = match &n.params {
        Some(p) => Some(reparse::<P>(p)?),
        None => None,
    };
    reencode(Message::Notification(Notification { params, ..n }))
}

/// A full JSON-RPC result response whose result is an `R`, or an input-required result.
fn response<R: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let Message::Result(r) = single(text)? else { return Err("not a result".into()) };
    let kind: EmptyResult = r.result.parse().map_err(err)?;
    let result = if ResultType::is_complete(kind.result_type.as_ref()) {
        reparse::<R>(&r.result)?
    } else {
        reparse::<InputRequiredResult>(&r.result)?
    };
    reencode(Message::Result(ResultResponse { result, ..r }))
}

/// A full JSON-RPC error response; MCP-specified `data` goes through its typed view.
fn error_response(text: &str) -> Result<Value, String> {
    let Message::Error(mut e) = single(text)? else { return Err("not an error".into()) };
    if let Some(data) = &e.error.data {
        let data = match e.error.code {
            -32022 => Some(reparse::<UnsupportedVersionData>(data)?),
            -32021 => Some(reparse::<MissingCapabilityData>(data)?),
            _ => None,
        };
        if data.is_some() {
            e.error.data = data;
        }
    }
    reencode(Message::Error(e))
}

/// A bare error object: wrapped into an `id: null` error response, decoded, re-encoded, and
/// unwrapped.
fn error_object(text: &str) -> Result<Value, String> {
    let wrapped = format!(r#"{{"jsonrpc":"2.0","id":null,"error":{text}}}"#);
    let Message::Error(e) = single(&wrapped)? else { return Err("not an error".into()) };
    let ErrorResponse { error, .. } = e;
    let mut back = reencode(Message::Error(ErrorResponse::new(None, error)))?;
    back.get_mut("error").map(Value::take).ok_or_else(|| "no error member".into())
}

/// An input request (a request without envelope), with its params through their typed view.
fn input_request(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(err)?;
    let mut request: InputRequest = InputRequest::deserialize(&value).map_err(err)?;
    request.params = match request.method.as_str() {
        methods::SAMPLING_CREATE_MESSAGE => {
            let p = request.as_create_message().ok_or("not sampling")?.map_err(err)?;
            Some(serde_json::to_value(p).map_err(err)?)
        }
        methods::ELICITATION_CREATE => {
            let p = request.as_elicit().ok_or("not elicitation")?.map_err(err)?;
            Some(serde_json::to_value(p).map_err(err)?)
        }
        methods::ROOTS_LIST => match &request.params {
            Some(p) => Some(typed::<RequestParams>(p)?),
            None => None,
        },
        other => return Err(format!("unexpected input request method {other}")),
    };
    serde_json::to_value(&request).map_err(err)
}

/// Input requests by key; each goes through [`input_request`].
fn input_requests(text: &str) -> Result<Value, String> {
    let requests: InputRequests = serde_json::from_str(text).map_err(err)?;
    let mut out = serde_json::Map::new();
    for (key, request) in requests {
        let text = serde_json::to_string(&request).map_err(err)?;
        out.insert(key, input_request(&text)?);
    }
    Ok(Value::Object(out))
}

/// Input responses by key; each must be recognised, not fall back to `Other`.
fn input_responses(text: &str) -> Result<Value, String> {
    let responses: InputResponses = serde_json::from_str(text).map_err(err)?;
    if let Some((key, _)) = responses.iter().find(|(_, r)| matches!(r, InputResponse::Other(_))) {
        return Err(format!("input response {key} was not recognised"));
    }
    serde_json::to_value(&responses).map_err(err)
}

/// Content blocks must be recognised by their `type`, not kept as unknown.
fn content<T: DeserializeOwned + Serialize>(text: &str) -> Result<Value, String> {
    let block: ContentBlock = serde_json::from_str(text).map_err(err)?;
    if matches!(block, ContentBlock::Unknown(_)) {
        return Err("content block read as unknown".into());
    }
    let _: T = T::deserialize(&{
        let mut v = serde_json::to_value(&block).map_err(err)?;
        v.as_object_mut().map(|m| m.remove("type"));
        v
    })
    .map_err(err)?;
    serde_json::to_value(&block).map_err(err)
}

/// Directory name → round trip. Keep sorted.
const TABLE: &[(&str, RoundTrip)] = &[
    ("AudioContent", content::<AudioContent>),
    ("BlobResourceContents", view::<BlobResourceContents>),
    ("BooleanSchema", view::<PrimitiveSchema>),
    ("CallToolRequest", request::<CallToolParams>),
    ("CallToolRequestParams", view::<CallToolParams>),
    ("CallToolResult", view::<CallToolResult>),
    ("CallToolResultResponse", response::<CallToolResult>),
    ("CancelledNotification", notification::<CancelledNotificationParams>),
    ("CancelledNotificationParams", view::<CancelledNotificationParams>),
    ("ClientCapabilities", view::<ClientCapabilities>),
    ("CompleteRequest", request::<CompleteParams>),
    ("CompleteRequestParams", view::<CompleteParams>),
    ("CompleteResult", view::<CompleteResult>),
    ("CompleteResultResponse", response::<CompleteResult>),
    ("CreateMessageRequest", input_request),
    ("CreateMessageRequestParams", view::<CreateMessageParams>),
    ("CreateMessageResult", view::<CreateMessageResult>),
    ("DiscoverRequest", request::<RequestParams>),
    ("DiscoverResult", view::<DiscoverResult>),
    ("DiscoverResultResponse", response::<DiscoverResult>),
    ("ElicitRequest", input_request),
    ("ElicitRequestFormParams", view::<ElicitParams>),
    ("ElicitRequestURLParams", view::<ElicitParams>),
    ("ElicitResult", view::<ElicitResult>),
    ("EmbeddedResource", content::<EmbeddedResource>),
    ("GetPromptRequest", request::<GetPromptParams>),
    ("GetPromptRequestParams", view::<GetPromptParams>),
    ("GetPromptResult", view::<GetPromptResult>),
    ("GetPromptResultResponse", response::<GetPromptResult>),
    ("HeaderMismatchError", error_response),
    ("ImageContent", content::<ImageContent>),
    ("InputRequests", input_requests),
    ("InputRequiredResult", view::<InputRequiredResult>),
    ("InputResponses", input_responses),
    ("InternalError", error_object),
    ("InvalidParamsError", error_object),
    ("ListPromptsRequest", request::<PaginatedParams>),
    ("ListPromptsResult", view::<ListPromptsResult>),
    ("ListPromptsResultResponse", response::<ListPromptsResult>),
    ("ListResourceTemplatesRequest", request::<PaginatedParams>),
    ("ListResourceTemplatesResult", view::<ListResourceTemplatesResult>),
    ("ListResourceTemplatesResultResponse", response::<ListResourceTemplatesResult>),
    ("ListResourcesRequest", request::<PaginatedParams>),
    ("ListResourcesResult", view::<ListResourcesResult>),
    ("ListResourcesResultResponse", response::<ListResourcesResult>),
    ("ListRootsRequest", input_request),
    ("ListRootsResult", view::<ListRootsResult>),
    ("ListToolsRequest", request::<PaginatedParams>),
    ("ListToolsResult", view::<ListToolsResult>),
    ("ListToolsResultResponse", response::<ListToolsResult>),
    ("LoggingMessageNotification", notification::<LoggingMessageParams>),
    ("LoggingMessageNotificationParams", view::<LoggingMessageParams>),
    ("MethodNotFoundError", error_object),
    ("MissingRequiredClientCapabilityError", error_response),
    ("ModelPreferences", view::<ModelPreferences>),
    ("NumberSchema", view::<PrimitiveSchema>),
    ("PaginatedRequestParams", view::<PaginatedParams>),
    ("ParseError", error_object),
    ("ProgressNotification", notification::<ProgressNotificationParams>),
    ("ProgressNotificationParams", view::<ProgressNotificationParams>),
    ("PromptListChangedNotification", notification::<NotificationParams>),
    ("ReadResourceRequest", request::<ReadResourceParams>),
    ("ReadResourceResult", view::<ReadResourceResult>),
    ("ReadResourceResultResponse", response::<ReadResourceResult>),
    ("Resource", view::<Resource>),
    ("ResourceLink", content::<ResourceLink>),
    ("ResourceListChangedNotification", notification::<NotificationParams>),
    ("ResourceUpdatedNotification", notification::<ResourceUpdatedNotificationParams>),
    ("ResourceUpdatedNotificationParams", view::<ResourceUpdatedNotificationParams>),
    ("Root", view::<Root>),
    ("SamplingMessage", view::<SamplingMessage>),
    ("ServerCapabilities", view::<ServerCapabilities>),
    ("StringSchema", view::<PrimitiveSchema>),
    ("SubscriptionsAcknowledgedNotification", notification::<SubscriptionsAcknowledgedParams>),
    ("SubscriptionsListenRequest", request::<SubscriptionsListenParams>),
    ("SubscriptionsListenResult", view::<SubscriptionsListenResult>),
    ("SubscriptionsListenResultResponse", response::<SubscriptionsListenResult>),
    ("TextContent", content::<TextContent>),
    ("TextResourceContents", view::<TextResourceContents>),
    ("TitledMultiSelectEnumSchema", view::<PrimitiveSchema>),
    ("TitledSingleSelectEnumSchema", view::<PrimitiveSchema>),
    ("Tool", view::<Tool>),
    ("ToolListChangedNotification", notification::<NotificationParams>),
    ("ToolResultContent", content::<ToolResultContent>),
    ("ToolUseContent", content::<ToolUseContent>),
    ("UnsupportedProtocolVersionError", error_response),
    ("UntitledMultiSelectEnumSchema", view::<PrimitiveSchema>),
    ("UntitledSingleSelectEnumSchema", view::<PrimitiveSchema>),
];

/// The number of example directories in the copied 2026-07-28 spec.
const EXPECTED_DIRECTORIES: usize = 88;

fn example_directories() -> Vec<(String, PathBuf)> {
    let dir = examples_dir();
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the 2026-07-28 examples must exist at {}: {e}", dir.display()));
    let mut dirs: Vec<(String, PathBuf)> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_dir())
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), path))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_example_directory_has_a_typed_view_in_the_table() {
    let dirs = example_directories();
    assert_eq!(dirs.len(), EXPECTED_DIRECTORIES, "example directories changed");
    let missing: Vec<&str> = dirs
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !TABLE.iter().any(|(known, _)| known == name))
        .collect();
    assert!(missing.is_empty(), "example directories without a mapping: {missing:?}");
    assert_eq!(TABLE.len(), EXPECTED_DIRECTORIES, "the table maps a directory that does not exist");
}

#[test]
fn every_example_round_trips_through_its_typed_view_unchanged() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, path) in example_directories() {
        let Some((_, round_trip)) = TABLE.iter().find(|(known, _)| *known == name) else {
            failures.push(format!("{name}: no mapping"));
            continue;
        };
        let mut files: Vec<PathBuf> = fs::read_dir(&path)
            .expect("readable example directory")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name} has no examples");
        for file in files {
            let text = fs::read_to_string(&file).expect("readable example");
            let original: Value = serde_json::from_str(&text).expect("examples are JSON");
            match round_trip(&text) {
                Ok(back) if back == original => {}
                Ok(back) => failures.push(format!(
                    "{}: re-encoded differently\n  original: {original}\n  back:     {back}",
                    file.display()
                )),
                Err(e) => failures.push(format!("{}: {e}", file.display())),
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 129, "number of example files changed");
}

#[test]
fn an_unknown_content_type_is_kept_verbatim() {
    let text = r#"{"type":"hologram","frames":[1,2],"_meta":{"k":true}}"#;
    let block: ContentBlock = serde_json::from_str(text).unwrap();
    assert_eq!(block.type_name(), Some("hologram"));
    assert!(matches!(block, ContentBlock::Unknown(_)));
    assert_eq!(serde_json::to_value(&block).unwrap(), serde_json::from_str::<Value>(text).unwrap());
}

#[test]
fn unknown_fields_and_enum_values_survive_a_round_trip() {
    let text = r#"{"content":[{"type":"text","text":"hi","future":1}],"resultType":"later","newField":{"a":[1]}}"#;
    let result: CallToolResult = serde_json::from_str(text).unwrap();
    assert_eq!(result.result_type, Some(ResultType::Other("later".into())));
    assert_eq!(result.extra.get("newField"), Some(&serde_json::json!({"a":[1]})));
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );
}

fn example(dir: &str, file: &str) -> String {
    fs::read_to_string(examples_dir().join(dir).join(file)).expect("example present")
}

#[test]
fn known_members_land_in_typed_fields_rather_than_in_extra() {
    let discover: DiscoverResult =
        serde_json::from_str(&example("DiscoverResult", "server-capabilities-discovery.json"))
            .unwrap();
    assert_eq!(discover.supported_versions, vec!["2026-07-28".to_owned()]);
    assert_eq!(discover.ttl_ms, Some(3_600_000));
    assert_eq!(discover.cache_scope, Some(CacheScope::Public));
    assert_eq!(discover.result_type, Some(ResultType::Complete));
    assert!(discover.capabilities.tools.is_some());
    assert!(discover.extra.is_empty());
    assert_eq!(discover.server_info().unwrap().unwrap().name, "ExampleServer");

    let Message::Request(call) =
        single(&example("CallToolRequest", "call-tool-request.json")).unwrap()
    else {
        panic!("not a request")
    };
    assert_eq!(call.method, methods::TOOLS_CALL);
    let params: CallToolParams = call.params.unwrap().parse().unwrap();
    assert_eq!(params.name, "get_weather");
    assert!(params.extra.is_empty());
    let meta = RequestMeta::from_object(params.meta.as_ref().unwrap()).unwrap();
    assert_eq!(meta.protocol_version.as_deref(), Some("2026-07-28"));
    assert_eq!(meta.client_info.unwrap().name, "ExampleClient");
    assert_eq!(meta.client_capabilities, Some(ClientCapabilities::default()));
    assert!(meta.extra.is_empty());

    let progress: ProgressNotificationParams =
        serde_json::from_str(&example("ProgressNotificationParams", "progress-message.json"))
            .unwrap();
    assert_eq!(progress.progress_token, ProgressToken::String("oivaizmir".into()));
    assert_eq!((progress.progress, progress.total), (50.0, Some(100.0)));

    let responses: InputResponses = serde_json::from_str(&example(
        "InputResponses",
        "elicitation-and-sampling-input-responses.json",
    ))
    .unwrap();
    assert!(matches!(responses["github_login"], InputResponse::Elicit(_)));
    assert!(matches!(responses["capital_of_france"], InputResponse::CreateMessage(_)));
}
