//! Messages built with the typed MCP views conform to the official JSON Schema of every version.
//!
//! For each protocol version the test builds every kind of message the core produces in that
//! version, encodes it with [`mcp_ws_core::encode`], and validates it against
//! `core/tests/fixtures/spec/<version>/schema.json` (unmodified copies of the official schemas;
//! see the README there): the JSON-RPC envelope definition combined with the definition that names the message (for results, the result definition applied to the
//! `result` member).

#[path = "support/spec.rs"]
mod spec;

use std::collections::BTreeMap;
use std::path::Path;

use mcp_ws_core::mcp::meta::{
    CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, LOG_LEVEL_KEY, PROGRESS_TOKEN_KEY,
    PROTOCOL_VERSION_KEY, SERVER_INFO_KEY, SUBSCRIPTION_ID_KEY,
};
use mcp_ws_core::mcp::*;
use mcp_ws_core::{
    ErrorCode, ErrorObject, ErrorResponse, Message, Notification, ProtocolVersion, RawJson,
    Request, RequestId, ResultResponse, encode,
};
use serde::Serialize;
use serde_json::{Value, json};
use spec::{Check, Spec};

struct Case {
    label: String,
    message: Message,
    check: Check,
}

/// One version's schema, loaded from this crate's fixtures.
struct VersionSpec {
    spec: Spec,
}

impl VersionSpec {
    fn load(version: ProtocolVersion) -> VersionSpec {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec");
        VersionSpec { spec: Spec::load_from(&fixtures, version.as_str()) }
    }

    /// Validation errors of `message` under `check`, as text.
    fn errors(&self, message: &Message, check: Check) -> Vec<String> {
        let instance: Value = serde_json::from_str(&encode(message)).expect("encoded JSON");
        self.spec.errors_of(&instance, check)
    }
}

/// A cursor as the router writes it: the second page of five items in pages of two.
fn real_cursor() -> String {
    let items = ["a", "b", "c", "d", "e"];
    let page = mcp_ws_core::pagination::page("tools/list", &items, |i| i, None, 2).expect("a page");
    page.next_cursor.expect("more pages")
}

fn raw<T: Serialize>(value: &T) -> RawJson {
    RawJson::from_serialize(value).expect("views serialize")
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Builds the messages of one version.
struct Builder {
    version: ProtocolVersion,
    modern: bool,
    next_id: i64,
    cases: Vec<Case>,
}

impl Builder {
    fn new(version: ProtocolVersion) -> Builder {
        let modern = version == ProtocolVersion::V2026_07_28;
        Builder { version, modern, next_id: 1, cases: Vec::new() }
    }

    fn at_least(&self, version: ProtocolVersion) -> bool {
        ProtocolVersion::ALL.iter().position(|v| *v == self.version)
            >= ProtocolVersion::ALL.iter().position(|v| *v == version)
    }

    /// `_meta` for a request: the modern per-request keys, or nothing in the legacy era.
    fn request_meta(&self) -> Option<JsonObject> {
        if !self.modern {
            return None;
        }
        let mut meta = JsonObject::new();
        meta::set_protocol_version(&mut meta, self.version.as_str());
        let caps = ClientCapabilities {
            roots: Some(RootsCapability::default()),
            sampling: Some(SamplingCapability::default()),
            elicitation: Some(ElicitationCapability {
                form: Some(JsonObject::new()),
                ..Default::default()
            }),
            ..Default::default()
        };
        meta::set_client_capabilities(&mut meta, &caps).unwrap();
        meta::set_client_info(&mut meta, &Implementation::new("conformance-client", "0.1.0"))
            .unwrap();
        Some(meta)
    }

    /// `_meta` for a result: the server identity in the modern era.
    fn result_meta(&self) -> Option<JsonObject> {
        if !self.modern {
            return None;
        }
        let mut meta = JsonObject::new();
        let info = Implementation {
            title: Some("Conformance Server".into()),
            ..Implementation::new("conformance-server", "0.1.0")
        };
        meta::set_server_info(&mut meta, &info).unwrap();
        Some(meta)
    }

    fn complete(&self) -> Option<ResultType> {
        self.modern.then_some(ResultType::Complete)
    }

    fn cache(&self) -> (Option<u64>, Option<CacheScope>) {
        if self.modern { (Some(60_000), Some(CacheScope::Private)) } else { (None, None) }
    }

    fn request<P: Serialize>(
        &mut self,
        label: &str,
        method: &str,
        params: Option<&P>,
        def: &'static str,
    ) {
        let id = RequestId::from(self.next_id);
        self.next_id += 1;
        let message = Message::Request(Request::new(id, method, params.map(raw)));
        self.push(label, message, Check::Request(def));
    }

    fn notification<P: Serialize>(
        &mut self,
        label: &str,
        method: &str,
        params: Option<&P>,
        def: &'static str,
    ) {
        let message = Message::Notification(Notification::new(method, params.map(raw)));
        self.push(label, message, Check::Notification(def));
    }

    fn result<R: Serialize>(&mut self, label: &str, result: &R, def: &'static str) {
        let message = Message::Result(ResultResponse::new(RequestId::from("r-1"), raw(result)));
        self.push(label, message, Check::Result(def));
    }

    fn push(&mut self, label: &str, message: Message, check: Check) {
        self.cases.push(Case { label: label.to_owned(), message, check });
    }
}

fn tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather for a city".into()),
        input_schema: object(json!({
            "type": "object",
            "properties": { "city": { "type": "string" } },
            "required": ["city"]
        })),
        ..Default::default()
    }
}

fn build(version: ProtocolVersion) -> Vec<Case> {
    let mut b = Builder::new(version);
    let none: Option<&RequestParams> = None;

    // Lifecycle.
    if b.modern {
        let params = RequestParams { meta: b.request_meta(), ..Default::default() };
        b.request(
            "server/discover request",
            methods::SERVER_DISCOVER,
            Some(&params),
            "DiscoverRequest",
        );
        let (ttl_ms, cache_scope) = b.cache();
        let discover = DiscoverResult {
            supported_versions: vec![version.as_str().into(), "2025-11-25".into()],
            capabilities: ServerCapabilities {
                tools: Some(ToolsCapability { list_changed: Some(true), ..Default::default() }),
                resources: Some(ResourcesCapability::default()),
                prompts: Some(PromptsCapability::default()),
                logging: Some(JsonObject::new()),
                completions: Some(JsonObject::new()),
                ..Default::default()
            },
            instructions: Some("Use get_weather.".into()),
            ttl_ms,
            cache_scope,
            result_type: b.complete(),
            meta: b.result_meta(),
            ..Default::default()
        };
        b.result("server/discover result", &discover, "DiscoverResult");
    } else {
        let params = InitializeParams {
            protocol_version: version.as_str().into(),
            capabilities: ClientCapabilities {
                roots: Some(RootsCapability { list_changed: Some(true), ..Default::default() }),
                sampling: Some(SamplingCapability::default()),
                elicitation: b
                    .at_least(ProtocolVersion::V2025_06_18)
                    .then(ElicitationCapability::default),
                ..Default::default()
            },
            client_info: Implementation::new("conformance-client", "0.1.0"),
            meta: None,
            extra: JsonObject::new(),
        };
        b.request("initialize request", methods::INITIALIZE, Some(&params), "InitializeRequest");
        let result = InitializeResult {
            protocol_version: version.as_str().into(),
            capabilities: ServerCapabilities {
                tools: Some(ToolsCapability { list_changed: Some(true), ..Default::default() }),
                resources: Some(ResourcesCapability {
                    subscribe: Some(true),
                    list_changed: Some(true),
                    ..Default::default()
                }),
                prompts: Some(PromptsCapability::default()),
                logging: Some(JsonObject::new()),
                ..Default::default()
            },
            server_info: Implementation::new("conformance-server", "0.1.0"),
            instructions: Some("Use get_weather.".into()),
            ..Default::default()
        };
        b.result("initialize result", &result, "InitializeResult");
        b.notification(
            "initialized",
            methods::NOTIFICATIONS_INITIALIZED,
            none,
            "InitializedNotification",
        );
        b.request("ping", methods::PING, none, "PingRequest");
        let mut with_token = JsonObject::new();
        meta::set_progress_token(&mut with_token, &ProgressToken::from(7));
        let ping = RequestParams { meta: Some(with_token), ..Default::default() };
        b.request("ping with progress token", methods::PING, Some(&ping), "PingRequest");
        b.result("ping result", &EmptyResult::default(), "EmptyResult");
    }

    // Tools.
    let (ttl_ms, cache_scope) = b.cache();
    let list = PaginatedParams { meta: b.request_meta(), ..Default::default() };
    b.request("tools/list request", methods::TOOLS_LIST, Some(&list), "ListToolsRequest");
    let list_paged = PaginatedParams {
        cursor: Some("page-2".into()),
        meta: b.request_meta(),
        ..Default::default()
    };
    b.request(
        "tools/list request with cursor",
        methods::TOOLS_LIST,
        Some(&list_paged),
        "ListToolsRequest",
    );
    let tools = ListToolsResult {
        tools: vec![tool()],
        next_cursor: Some("page-2".into()),
        ttl_ms,
        cache_scope: cache_scope.clone(),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("tools/list result", &tools, "ListToolsResult");
    let mut call_meta = b.request_meta().unwrap_or_default();
    meta::set_progress_token(&mut call_meta, &ProgressToken::from("tok-1"));
    if b.modern {
        meta::set_log_level(&mut call_meta, &LoggingLevel::Warning);
    }
    let call = CallToolParams {
        name: "get_weather".into(),
        arguments: Some(object(json!({ "city": "Paris" }))),
        meta: Some(call_meta),
        ..Default::default()
    };
    b.request("tools/call request", methods::TOOLS_CALL, Some(&call), "CallToolRequest");
    let called = CallToolResult {
        content: vec![ContentBlock::text("21 °C, sunny")],
        is_error: Some(false),
        structured_content: b
            .at_least(ProtocolVersion::V2025_06_18)
            .then(|| json!({ "temperature": 21 })),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("tools/call result", &called, "CallToolResult");
    let failed = CallToolResult {
        content: vec![ContentBlock::text("unknown city")],
        is_error: Some(true),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("tools/call error result", &failed, "CallToolResult");

    // Resources.
    b.request(
        "resources/list request",
        methods::RESOURCES_LIST,
        Some(&list),
        "ListResourcesRequest",
    );
    let resources = ListResourcesResult {
        resources: vec![Resource {
            uri: "file:///notes.txt".into(),
            name: "notes".into(),
            mime_type: Some("text/plain".into()),
            size: Some(12),
            ..Default::default()
        }],
        next_cursor: Some(real_cursor()),
        ttl_ms,
        cache_scope: cache_scope.clone(),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("resources/list result", &resources, "ListResourcesResult");
    b.request(
        "resources/templates/list request",
        methods::RESOURCES_TEMPLATES_LIST,
        Some(&list),
        "ListResourceTemplatesRequest",
    );
    let templates = ListResourceTemplatesResult {
        resource_templates: vec![ResourceTemplate {
            uri_template: "file:///{path}".into(),
            name: "files".into(),
            ..Default::default()
        }],
        next_cursor: Some(real_cursor()),
        ttl_ms,
        cache_scope: cache_scope.clone(),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("resources/templates/list result", &templates, "ListResourceTemplatesResult");
    let read = ReadResourceParams {
        uri: "file:///notes.txt".into(),
        meta: b.request_meta(),
        ..Default::default()
    };
    b.request(
        "resources/read request",
        methods::RESOURCES_READ,
        Some(&read),
        "ReadResourceRequest",
    );
    let contents = ReadResourceResult {
        contents: vec![
            ResourceContents::Text(TextResourceContents {
                uri: "file:///notes.txt".into(),
                mime_type: Some("text/plain".into()),
                text: "hello".into(),
                ..Default::default()
            }),
            ResourceContents::Blob(BlobResourceContents {
                uri: "file:///logo.png".into(),
                mime_type: Some("image/png".into()),
                blob: "iVBORw0KGgo=".into(),
                ..Default::default()
            }),
        ],
        ttl_ms,
        cache_scope: cache_scope.clone(),
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("resources/read result", &contents, "ReadResourceResult");
    if !b.modern {
        let sub = SubscribeParams { uri: "file:///notes.txt".into(), ..Default::default() };
        b.request(
            "resources/subscribe request",
            methods::RESOURCES_SUBSCRIBE,
            Some(&sub),
            "SubscribeRequest",
        );
        b.request(
            "resources/unsubscribe request",
            methods::RESOURCES_UNSUBSCRIBE,
            Some(&sub),
            "UnsubscribeRequest",
        );
    }

    // Prompts.
    b.request("prompts/list request", methods::PROMPTS_LIST, Some(&list), "ListPromptsRequest");
    let prompts = ListPromptsResult {
        prompts: vec![Prompt {
            name: "summarise".into(),
            description: Some("Summarise a text".into()),
            arguments: Some(vec![PromptArgument {
                name: "text".into(),
                required: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        }],
        next_cursor: Some(real_cursor()),
        ttl_ms,
        cache_scope,
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("prompts/list result", &prompts, "ListPromptsResult");
    let get = GetPromptParams {
        name: "summarise".into(),
        arguments: Some(BTreeMap::from([("text".to_owned(), "long text".to_owned())])),
        meta: b.request_meta(),
        ..Default::default()
    };
    b.request("prompts/get request", methods::PROMPTS_GET, Some(&get), "GetPromptRequest");
    let got = GetPromptResult {
        description: Some("Summary prompt".into()),
        messages: vec![PromptMessage {
            role: Role::User,
            content: ContentBlock::text("Summarise: long text"),
            extra: JsonObject::new(),
        }],
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("prompts/get result", &got, "GetPromptResult");

    // Completion.
    let complete = CompleteParams {
        reference: CompletionReference::Prompt(PromptReference {
            name: "summarise".into(),
            ..Default::default()
        }),
        argument: CompletionArgument {
            name: "text".into(),
            value: "lo".into(),
            ..Default::default()
        },
        context: None,
        meta: b.request_meta(),
        extra: JsonObject::new(),
    };
    b.request(
        "completion/complete request",
        methods::COMPLETION_COMPLETE,
        Some(&complete),
        "CompleteRequest",
    );
    let completed = CompleteResult {
        completion: Completion {
            values: vec!["long".into(), "lorem".into()],
            total: Some(2),
            has_more: Some(false),
            ..Default::default()
        },
        result_type: b.complete(),
        meta: b.result_meta(),
        ..Default::default()
    };
    b.result("completion/complete result", &completed, "CompleteResult");

    // Logging.
    if !b.modern {
        let level =
            SetLevelParams { level: LoggingLevel::Info, meta: None, extra: JsonObject::new() };
        b.request(
            "logging/setLevel request",
            methods::LOGGING_SET_LEVEL,
            Some(&level),
            "SetLevelRequest",
        );
    }
    let log = LoggingMessageParams {
        level: LoggingLevel::Warning,
        logger: Some("weather".into()),
        data: json!({ "msg": "slow upstream" }),
        meta: None,
        extra: JsonObject::new(),
    };
    b.notification(
        "notifications/message",
        methods::NOTIFICATIONS_MESSAGE,
        Some(&log),
        "LoggingMessageNotification",
    );

    // Progress and cancellation.
    let progress = ProgressNotificationParams {
        progress_token: ProgressToken::from("tok-1"),
        progress: 50.0,
        total: Some(100.0),
        message: b.at_least(ProtocolVersion::V2025_03_26).then(|| "halfway".to_owned()),
        ..Default::default()
    };
    b.notification(
        "notifications/progress",
        methods::NOTIFICATIONS_PROGRESS,
        Some(&progress),
        "ProgressNotification",
    );
    let fractional = ProgressNotificationParams {
        progress_token: ProgressToken::from(3),
        progress: 0.25,
        ..Default::default()
    };
    b.notification(
        "notifications/progress with a fraction and integer token",
        methods::NOTIFICATIONS_PROGRESS,
        Some(&fractional),
        "ProgressNotification",
    );
    let cancelled = CancelledNotificationParams {
        request_id: Some(RequestId::from(5_i64)),
        reason: Some("timed out".into()),
        ..Default::default()
    };
    b.notification(
        "notifications/cancelled",
        methods::NOTIFICATIONS_CANCELLED,
        Some(&cancelled),
        "CancelledNotification",
    );

    // Change notifications; in the modern era they belong to a subscription.
    let change = NotificationParams {
        meta: b.modern.then(|| {
            let mut m = JsonObject::new();
            meta::set_subscription_id(&mut m, &RequestId::from("listen-1")).unwrap();
            m
        }),
        ..Default::default()
    };
    let change = Some(&change);
    b.notification(
        "tools list_changed",
        methods::NOTIFICATIONS_TOOLS_LIST_CHANGED,
        change,
        "ToolListChangedNotification",
    );
    b.notification(
        "resources list_changed",
        methods::NOTIFICATIONS_RESOURCES_LIST_CHANGED,
        change,
        "ResourceListChangedNotification",
    );
    b.notification(
        "prompts list_changed",
        methods::NOTIFICATIONS_PROMPTS_LIST_CHANGED,
        change,
        "PromptListChangedNotification",
    );
    let updated = ResourceUpdatedNotificationParams {
        uri: "file:///notes.txt".into(),
        meta: change.and_then(|c| c.meta.clone()),
        ..Default::default()
    };
    b.notification(
        "resources/updated",
        methods::NOTIFICATIONS_RESOURCES_UPDATED,
        Some(&updated),
        "ResourceUpdatedNotification",
    );

    // What a server asks of a client.
    let roots = ListRootsResult {
        roots: vec![Root {
            uri: "file:///home/me".into(),
            name: Some("home".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let sampling = CreateMessageParams {
        messages: vec![SamplingMessage {
            role: Role::User,
            content: SamplingContent::Single(ContentBlock::text("Capital of France?")),
            meta: None,
            extra: JsonObject::new(),
        }],
        model_preferences: Some(ModelPreferences {
            hints: Some(vec![ModelHint { name: Some("claude".into()), ..Default::default() }]),
            intelligence_priority: Some(0.8),
            speed_priority: Some(1.0),
            ..Default::default()
        }),
        system_prompt: Some("Be brief.".into()),
        include_context: Some(IncludeContext::None),
        temperature: Some(0.2),
        max_tokens: 100,
        ..Default::default()
    };
    let sampled = CreateMessageResult {
        role: Role::Assistant,
        content: SamplingContent::Single(ContentBlock::text("Paris")),
        model: "claude-test".into(),
        stop_reason: Some("endTurn".into()),
        meta: None,
        extra: JsonObject::new(),
    };
    let elicit = ElicitParams {
        mode: b.at_least(ProtocolVersion::V2025_11_25).then(|| "form".to_owned()),
        message: "Your GitHub username?".into(),
        requested_schema: Some(RequestedSchema {
            kind: "object".into(),
            properties: BTreeMap::from([(
                "name".to_owned(),
                PrimitiveSchema {
                    kind: "string".into(),
                    title: Some("Username".into()),
                    min_length: Some(1),
                    ..Default::default()
                },
            )]),
            required: Some(vec!["name".into()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let elicited = ElicitResult {
        action: ElicitAction::Accept,
        content: Some(object(json!({ "name": "octocat" }))),
        meta: None,
        extra: JsonObject::new(),
    };
    let has_elicitation = b.at_least(ProtocolVersion::V2025_06_18);
    if b.modern {
        // 2026-07-28: servers send no requests; they answer with input requests instead, and
        // the client retries with input responses.
        let mut asks = InputRequiredResult {
            request_state: Some("opaque-state".into()),
            meta: b.result_meta(),
            ..InputRequiredResult::new()
        };
        let requests = asks.input_requests.get_or_insert_with(Default::default);
        requests.insert("roots".into(), InputRequest::list_roots());
        requests.insert("sample".into(), InputRequest::create_message(&sampling).unwrap());
        requests.insert("login".into(), InputRequest::elicit(&elicit).unwrap());
        b.result("input_required result", &asks, "InputRequiredResult");
        let retry = CallToolParams {
            input_responses: Some(BTreeMap::from([
                ("roots".to_owned(), InputResponse::ListRoots(roots)),
                ("sample".to_owned(), InputResponse::CreateMessage(sampled)),
                ("login".to_owned(), InputResponse::Elicit(elicited)),
            ])),
            request_state: Some("opaque-state".into()),
            ..call.clone()
        };
        b.request(
            "tools/call retry with input responses",
            methods::TOOLS_CALL,
            Some(&retry),
            "CallToolRequest",
        );

        // What the server's input round and the client's round machine really produce: the
        // router's input_required result (sealed state, derived keys) and the client's retry.
        let state_key = mcp_ws_core::mrtr::StateKey::new(&[9; 32]).unwrap();
        let first_call = CallToolParams { meta: b.request_meta(), ..call.clone() };
        let first_raw = raw(&first_call);
        let mut round = mcp_ws_core::mrtr::InputRound::begin(
            &state_key,
            methods::TOOLS_CALL,
            Some(&first_raw),
            1_000,
        )
        .unwrap();
        for request in [
            InputRequest::list_roots(),
            InputRequest::create_message(&sampling).unwrap(),
            InputRequest::elicit(&elicit).unwrap(),
        ] {
            assert!(round.answer_or_ask(request).is_err());
        }
        let mut produced = round.finish(&state_key, 2_000).unwrap().expect("input is missing");
        produced.meta = b.result_meta();
        b.result("input_required result of an input round", &produced, "InputRequiredResult");
        let mut rounds = mcp_ws_core::mrtr::InputRounds::new(8);
        let step = rounds.on_result(raw(&produced)).unwrap();
        let mcp_ws_core::mrtr::RoundStep::Answer(requests) = step else { panic!("{step:?}") };
        let answers: BTreeMap<String, Value> = requests
            .iter()
            .map(|(key, request)| {
                let answer = match request.method.as_str() {
                    methods::ROOTS_LIST => serde_json::to_value(retry_roots()).unwrap(),
                    methods::SAMPLING_CREATE_MESSAGE => json!({
                        "role": "assistant",
                        "content": {"type": "text", "text": "Paris"},
                        "model": "m"
                    }),
                    _ => json!({"action": "accept", "content": {"name": "octocat"}}),
                };
                (key.clone(), answer)
            })
            .collect();
        let retry_params = rounds.retry_params(Some(&first_raw), answers).unwrap();
        let retry_params: Value = retry_params.parse().unwrap();
        b.request(
            "tools/call retry built by the client's round machine",
            methods::TOOLS_CALL,
            Some(&retry_params),
            "CallToolRequest",
        );

        // Subscriptions.
        let listen = SubscriptionsListenParams {
            notifications: SubscriptionFilter {
                tools_list_changed: Some(true),
                resource_subscriptions: Some(vec!["file:///notes.txt".into()]),
                ..Default::default()
            },
            meta: b.request_meta(),
            ..Default::default()
        };
        b.request(
            "subscriptions/listen request",
            methods::SUBSCRIPTIONS_LISTEN,
            Some(&listen),
            "SubscriptionsListenRequest",
        );
        let ack = SubscriptionsAcknowledgedParams {
            notifications: listen.notifications.clone(),
            meta: change.and_then(|c| c.meta.clone()),
            ..Default::default()
        };
        b.notification(
            "subscriptions acknowledged",
            methods::NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED,
            Some(&ack),
            "SubscriptionsAcknowledgedNotification",
        );
        let mut closed_meta = b.result_meta().unwrap();
        meta::set_subscription_id(&mut closed_meta, &RequestId::from("listen-1")).unwrap();
        let closed = SubscriptionsListenResult {
            result_type: b.complete(),
            meta: Some(closed_meta),
            ..Default::default()
        };
        b.result("subscriptions/listen result", &closed, "SubscriptionsListenResult");

        // The unsupported-version error.
        let data = UnsupportedVersionData {
            supported: vec![version.as_str().into(), "2025-11-25".into()],
            requested: "1900-01-01".into(),
            ..Default::default()
        };
        let error =
            ErrorObject::new(ErrorCode::UnsupportedProtocolVersion, "Unsupported protocol version")
                .with_data(raw(&data));
        b.push(
            "-32022 unsupported version error",
            Message::Error(ErrorResponse::new(Some(RequestId::from(9_i64)), error)),
            Check::Error(Some("UnsupportedProtocolVersionError")),
        );
    } else {
        b.request("roots/list request", methods::ROOTS_LIST, none, "ListRootsRequest");
        b.result("roots/list result", &roots, "ListRootsResult");
        b.notification(
            "roots list_changed",
            methods::NOTIFICATIONS_ROOTS_LIST_CHANGED,
            none,
            "RootsListChangedNotification",
        );
        b.request(
            "sampling/createMessage request",
            methods::SAMPLING_CREATE_MESSAGE,
            Some(&sampling),
            "CreateMessageRequest",
        );
        b.result("sampling/createMessage result", &sampled, "CreateMessageResult");
        if has_elicitation {
            b.request(
                "elicitation/create request",
                methods::ELICITATION_CREATE,
                Some(&elicit),
                "ElicitRequest",
            );
            b.result("elicitation/create result", &elicited, "ElicitResult");
        }
        let error = ErrorObject::new(ErrorCode::MethodNotFound, "Method not found: tasks/get");
        b.push(
            "method not found error",
            Message::Error(ErrorResponse::new(Some(RequestId::from(9_i64)), error)),
            Check::Error(None),
        );
    }
    b.cases
}

fn assert_version_conforms(version: ProtocolVersion, expected_cases: usize) {
    let spec = VersionSpec::load(version);
    let cases = build(version);
    let mut failures = Vec::new();
    for case in &cases {
        let errors = spec.errors(&case.message, case.check);
        if !errors.is_empty() {
            failures.push(format!(
                "{} ({:?}): {}\n    {}",
                case.label,
                case.check,
                encode(&case.message),
                errors.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: {} of {} messages fail the schema:\n{}",
        version.as_str(),
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(cases.len(), expected_cases, "{}: number of messages checked", version.as_str());
}

#[test]
fn every_message_built_for_2024_11_05_matches_its_schema() {
    assert_version_conforms(ProtocolVersion::V2024_11_05, 41);
}

#[test]
fn every_message_built_for_2025_03_26_matches_its_schema() {
    assert_version_conforms(ProtocolVersion::V2025_03_26, 41);
}

#[test]
fn every_message_built_for_2025_06_18_matches_its_schema() {
    assert_version_conforms(ProtocolVersion::V2025_06_18, 43);
}

#[test]
fn every_message_built_for_2025_11_25_matches_its_schema() {
    assert_version_conforms(ProtocolVersion::V2025_11_25, 43);
}

#[test]
fn every_message_built_for_2026_07_28_matches_its_schema() {
    assert_version_conforms(ProtocolVersion::V2026_07_28, 36);
}

#[test]
fn modern_requests_carry_the_three_meta_keys_and_results_carry_server_info() {
    let cases = build(ProtocolVersion::V2026_07_28);
    let mut requests = 0;
    let mut results = 0;
    for case in &cases {
        let value: Value = serde_json::from_str(&encode(&case.message)).unwrap();
        match case.check {
            Check::Request(_) => {
                let meta = &value["params"]["_meta"];
                for key in [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY] {
                    assert!(meta.get(key).is_some(), "{}: no {key}", case.label);
                }
                assert_eq!(meta[PROTOCOL_VERSION_KEY], "2026-07-28");
                requests += 1;
            }
            Check::Result(_) => {
                assert!(value["result"]["_meta"].get(SERVER_INFO_KEY).is_some(), "{}", case.label);
                assert!(value["result"]["resultType"].is_string(), "{}", case.label);
                results += 1;
            }
            _ => {}
        }
    }
    assert_eq!((requests, results), (13, 13));
    let call = cases.iter().find(|c| c.label == "tools/call request").unwrap();
    let value: Value = serde_json::from_str(&encode(&call.message)).unwrap();
    assert_eq!(value["params"]["_meta"][PROGRESS_TOKEN_KEY], "tok-1");
    assert_eq!(value["params"]["_meta"][LOG_LEVEL_KEY], "warning");
    let listen = cases.iter().find(|c| c.label == "subscriptions/listen result").unwrap();
    let value: Value = serde_json::from_str(&encode(&listen.message)).unwrap();
    assert_eq!(value["result"]["_meta"][SUBSCRIPTION_ID_KEY], "listen-1");
}

#[test]
fn a_tools_call_without_a_name_fails_validation_in_every_version() {
    for version in ProtocolVersion::ALL {
        let spec = VersionSpec::load(version);
        let params = json!({ "arguments": { "city": "Paris" } });
        let broken = Message::Request(Request::new(1_i64, methods::TOOLS_CALL, Some(raw(&params))));
        let errors = spec.errors(&broken, Check::Request("CallToolRequest"));
        assert!(!errors.is_empty(), "{}: a nameless tools/call passed", version.as_str());
    }
}

#[test]
fn a_modern_request_without_meta_and_a_result_without_result_type_fail_validation() {
    let spec = VersionSpec::load(ProtocolVersion::V2026_07_28);
    let params = CallToolParams { name: "get_weather".into(), ..Default::default() };
    let bare = Message::Request(Request::new(1_i64, methods::TOOLS_CALL, Some(raw(&params))));
    assert!(!spec.errors(&bare, Check::Request("CallToolRequest")).is_empty());
    let result = CallToolResult { content: vec![ContentBlock::text("x")], ..Default::default() };
    let untyped = Message::Result(ResultResponse::new(RequestId::from(1_i64), raw(&result)));
    assert!(!spec.errors(&untyped, Check::Result("CallToolResult")).is_empty());
}

fn retry_roots() -> ListRootsResult {
    ListRootsResult {
        roots: vec![Root { uri: "file:///srv/project".into(), ..Default::default() }],
        ..Default::default()
    }
}
