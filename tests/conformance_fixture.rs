//! The conformance fixture (`mcp-ws/examples/conformance_server`) driven over WebSocket by our
//! own client in both eras, each tool, resource, prompt and completion checked against what
//! the MCP conformance suite's scenarios (0.2.0-alpha.12) expect of it; in 2026-07-28 also the
//! `input_required` rounds seen raw (the keys the scenarios name, the retry), the capability
//! a request did not declare (-32021), and a resource that does not exist (-32602, data.uri).

#[path = "../mcp-ws/examples/conformance_server/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::time::Duration;

use mcp_ws::mcp::{
    CompleteParams, ContentBlock, CreateMessageParams, CreateMessageResult, ElicitAction,
    ElicitResult, Implementation, ResourceContents, Root, SamplingContent,
};
use mcp_ws_driver::core::mcp::common::Role as MessageRole;
use mcp_ws_driver::core::session::EraPolicy;
use mcp_ws_driver::core::{ProtocolVersion, RawJson};
use mcp_ws_driver::{CallError, CallOptions, Client, ClientConfig, PeerRequests};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(20);

fn client_config(version: ProtocolVersion) -> ClientConfig {
    let roots = vec![Root {
        uri: "file:///test/root".into(),
        name: Some("Test Root".into()),
        ..Default::default()
    }];
    let peer_requests = PeerRequests::default()
        .roots(roots)
        .sampling(|_: CreateMessageParams, _| async move {
            Ok(CreateMessageResult {
                role: MessageRole::Assistant,
                content: SamplingContent::Single(ContentBlock::text(
                    "The capital of France is Paris.",
                )),
                model: "test-model".into(),
                stop_reason: None,
                meta: None,
                extra: Default::default(),
            })
        })
        .elicitation(|_, _| async move {
            let content = json!({"name": "Alice", "username": "alice", "email": "a@example.com"});
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content: content.as_object().cloned(),
                meta: None,
                extra: Default::default(),
            })
        });
    let era = match version {
        ProtocolVersion::V2026_07_28 => EraPolicy::Modern,
        _ => EraPolicy::Legacy(version),
    };
    ClientConfig::new(Implementation::new("conformance-fixture-test", "1"))
        .era(era)
        .peer_requests(peer_requests)
}

async fn tool(client: &Client, name: &str, arguments: Value) -> Value {
    let result = tokio::time::timeout(LIMIT, client.call_tool(name, arguments))
        .await
        .unwrap_or_else(|_| panic!("{name}: timed out"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::to_value(&result).expect("json")
}

/// A raw `tools/call` (or other method), `input_required` results returned as they are.
async fn raw(client: &Client, method: &str, params: Value) -> Result<Value, CallError> {
    let params = RawJson::from_serialize(&params).expect("json");
    let options = CallOptions::default().raw_input_required();
    let answer = tokio::time::timeout(LIMIT, client.request(method, Some(params), options))
        .await
        .expect("timed out")?;
    Ok(answer.parse().expect("json"))
}

async fn both_eras(client: &Client, version: ProtocolVersion) {
    let era = version.as_str();
    let tools = client.list_tools(None).await.expect("tools/list").tools;
    for name in [
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_error_handling",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool",
        "test_reconnection",
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "test_input_required_result_elicitation",
    ] {
        let tool =
            tools.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{era}: no {name}"));
        assert!(tool.description.is_some(), "{era}: {name} has no description");
    }
    // SEP-1613: the 2020-12 schema is served as written.
    let schema = &tools.iter().find(|t| t.name == "json_schema_2020_12_tool").unwrap().input_schema;
    assert_eq!(Value::Object(schema.clone()), fixture::json_schema_2020_12(), "{era}");

    let simple = tool(client, "test_simple_text", json!({})).await;
    assert_eq!(
        simple["content"],
        json!([{"type": "text", "text": "This is a simple text response for testing."}]),
        "{era}"
    );
    let image = tool(client, "test_image_content", json!({})).await;
    assert_eq!(
        (image["content"][0]["type"].as_str(), image["content"][0]["mimeType"].as_str()),
        (Some("image"), Some("image/png")),
        "{era}"
    );
    let audio = tool(client, "test_audio_content", json!({})).await;
    assert_eq!(
        (audio["content"][0]["type"].as_str(), audio["content"][0]["mimeType"].as_str()),
        (Some("audio"), Some("audio/wav")),
        "{era}"
    );
    let embedded = tool(client, "test_embedded_resource", json!({})).await;
    assert_eq!(
        embedded["content"][0]["resource"]["text"], "This is an embedded resource content.",
        "{era}"
    );
    let mixed = tool(client, "test_multiple_content_types", json!({})).await;
    let types: Vec<_> =
        mixed["content"].as_array().unwrap().iter().map(|c| c["type"].clone()).collect();
    assert_eq!(types, [json!("text"), json!("image"), json!("resource")], "{era}");
    let failed = tool(client, "test_error_handling", json!({})).await;
    assert_eq!(failed["isError"], true, "{era}");
    assert_eq!(
        failed["content"][0]["text"],
        "This tool intentionally returns an error for testing"
    );
    assert!(
        tool(client, "test_tool_with_logging", json!({})).await["content"][0]["text"].is_string()
    );
    assert!(
        tool(client, "test_tool_with_progress", json!({})).await["content"][0]["text"].is_string()
    );
    let sampled = tool(client, "test_sampling", json!({"prompt": "Capital of France?"})).await;
    assert_eq!(
        sampled["content"][0]["text"], "LLM response: The capital of France is Paris.",
        "{era}"
    );
    let elicited = tool(client, "test_elicitation", json!({"message": "Who are you?"})).await;
    assert!(
        elicited["content"][0]["text"].as_str().unwrap().starts_with("User response: "),
        "{era}: {elicited}"
    );
    for name in ["test_elicitation_sep1034_defaults", "test_elicitation_sep1330_enums"] {
        let done = tool(client, name, json!({})).await;
        assert!(
            done["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Elicitation completed: action=accept, content={"),
            "{era}: {done}"
        );
    }
    assert_eq!(
        tool(client, "json_schema_2020_12_tool", json!({"email": "a@b"})).await["content"][0]["text"],
        "ok"
    );

    // Resources.
    let listed = client.list_resources(None).await.expect("resources/list").resources;
    for uri in ["test://static-text", "test://static-binary", "test://watched-resource"] {
        assert!(listed.iter().any(|r| r.uri == uri), "{era}: {uri} not listed");
    }
    let templates =
        client.list_resource_templates(None).await.expect("templates").resource_templates;
    assert_eq!(templates[0].uri_template, "test://template/{id}/data");
    match &client.read_resource("test://static-text").await.expect("static-text").contents[..] {
        [ResourceContents::Text(text)] => {
            assert_eq!(
                (text.text.as_str(), text.mime_type.as_deref()),
                (fixture::STATIC_TEXT, Some("text/plain"))
            )
        }
        other => panic!("{era}: {other:?}"),
    }
    match &client.read_resource("test://static-binary").await.expect("static-binary").contents[..] {
        [ResourceContents::Blob(blob)] => assert_eq!(
            (blob.blob.as_str(), blob.mime_type.as_deref()),
            (fixture::PNG, Some("image/png"))
        ),
        other => panic!("{era}: {other:?}"),
    }
    match &client.read_resource("test://template/123/data").await.expect("template").contents[..] {
        [ResourceContents::Text(text)] => {
            let body: Value = serde_json::from_str(&text.text).expect("json");
            assert_eq!(
                body,
                json!({"id": "123", "templateTest": true, "data": "Data for ID: 123"})
            );
            assert_eq!(text.uri, "test://template/123/data");
        }
        other => panic!("{era}: {other:?}"),
    }
    let missing = "test://nonexistent-resource-for-conformance-testing";
    match client.read_resource(missing).await {
        Err(CallError::Rpc(error)) => {
            let code = if version == ProtocolVersion::V2026_07_28 { -32602 } else { -32002 };
            assert_eq!(error.code, code, "{era}");
            let data: Value = error.data.expect("data").parse().expect("json");
            assert_eq!(data["uri"], missing, "{era}");
        }
        other => panic!("{era}: a missing resource must get an error, got {other:?}"),
    }

    // Prompts.
    let prompt = |name: &'static str, arguments: Value| async move {
        let arguments = serde_json::from_value(arguments).expect("arguments");
        let got =
            client.get_prompt(name, arguments).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::to_value(&got).expect("json")
    };
    let simple = prompt("test_simple_prompt", json!({})).await;
    assert_eq!(
        simple["messages"][0]["content"]["text"], "This is a simple prompt for testing.",
        "{era}"
    );
    let with_args =
        prompt("test_prompt_with_arguments", json!({"arg1": "hello", "arg2": "world"})).await;
    assert_eq!(
        with_args["messages"][0]["content"]["text"],
        "Prompt with arguments: arg1='hello', arg2='world'"
    );
    let embedded =
        prompt("test_prompt_with_embedded_resource", json!({"resourceUri": "test://x"})).await;
    assert_eq!(embedded["messages"][0]["content"]["resource"]["uri"], "test://x");
    assert_eq!(
        embedded["messages"][1]["content"]["text"],
        "Please process the embedded resource above."
    );
    let image = prompt("test_prompt_with_image", json!({})).await;
    assert_eq!(image["messages"][0]["content"]["mimeType"], "image/png");

    // Completion.
    let complete: CompleteParams = serde_json::from_value(json!({
        "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
        "argument": {"name": "arg1", "value": "par"}
    }))
    .unwrap();
    let completed = client.complete(&complete).await.expect("completion/complete");
    assert_eq!(completed.completion.values, ["paris", "park", "party"], "{era}");
}

/// The 2026-07-28 rounds as the input-required-result-* and server-stateless scenarios see them.
async fn modern_only(client: &Client) {
    let name = "test_input_required_result_elicitation";
    let first =
        raw(client, "tools/call", json!({"name": name, "arguments": {}})).await.expect("round 1");
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(first["inputRequests"]["user_name"]["method"], "elicitation/create", "{first}");
    let retry = json!({"name": name, "arguments": {},
        "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": first["requestState"]});
    let done = raw(client, "tools/call", retry).await.expect("retry");
    assert_eq!(done["resultType"], "complete");
    assert!(done["content"][0]["text"].as_str().unwrap().contains("Alice"), "{done}");

    // A tampered state is refused.
    let tampered = json!({"name": "test_input_required_result_tampered_state", "arguments": {}});
    let first = raw(client, "tools/call", tampered).await.expect("round 1");
    let forged = json!({"name": "test_input_required_result_tampered_state", "arguments": {},
        "inputResponses": {"confirmation": {"action": "accept", "content": {"ok": true}}},
        "requestState": format!("{}-TAMPERED", first["requestState"].as_str().unwrap())});
    assert!(matches!(raw(client, "tools/call", forged).await, Err(CallError::Rpc(_))));

    // Multiple inputs of three kinds in one round, under the handler's keys.
    let multiple = raw(
        client,
        "tools/call",
        json!({"name": "test_input_required_result_multiple_inputs", "arguments": {}}),
    )
    .await
    .unwrap();
    let methods: Vec<_> = ["user_name", "greeting", "roots"]
        .iter()
        .map(|k| multiple["inputRequests"][k]["method"].clone())
        .collect();
    assert_eq!(
        methods,
        [json!("elicitation/create"), json!("sampling/createMessage"), json!("roots/list")]
    );

    // Only what the request declared is asked.
    let sampling_only = json!({"name": "test_input_required_result_capabilities", "arguments": {},
        "_meta": {"io.modelcontextprotocol/clientCapabilities": {"sampling": {}}}});
    let asked = raw(client, "tools/call", sampling_only).await.expect("round 1");
    let requests = asked["inputRequests"].as_object().expect("input_required");
    assert!(
        requests.values().all(|r| r["method"] == "sampling/createMessage") && !requests.is_empty(),
        "{asked}"
    );

    // A capability the request did not declare: -32021 naming it.
    let undeclared = json!({"name": "test_missing_capability", "arguments": {},
        "_meta": {"io.modelcontextprotocol/clientCapabilities": {}}});
    match raw(client, "tools/call", undeclared).await {
        Err(CallError::Rpc(error)) => {
            assert_eq!(error.code, -32021);
            let data: Value = error.data.expect("data").parse().unwrap();
            assert_eq!(data["requiredCapabilities"], json!({"sampling": {}}));
        }
        other => panic!("expected -32021, got {other:?}"),
    }

    // The rounds the client completes by itself: several rounds, and a prompt.
    let multi = tool(client, "test_input_required_result_multi_round", json!({})).await;
    assert!(multi["content"][0]["text"].as_str().unwrap().contains("Alice"), "{multi}");
    let prompt = client
        .get_prompt("test_input_required_result_prompt", Default::default())
        .await
        .expect("prompt after a round");
    assert_eq!(prompt.messages.len(), 1);
    for name in [
        "test_input_required_result_list_roots",
        "test_input_required_result_sampling",
        "test_input_required_result_request_state",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
    ] {
        assert!(tool(client, name, json!({})).await["content"][0]["text"].is_string(), "{name}");
    }
    // tools/list and prompts/list never ask for input.
    for method in ["tools/list", "prompts/list"] {
        assert_ne!(raw(client, method, json!({})).await.unwrap()["resultType"], "input_required");
    }
}

#[test]
fn the_fixture_answers_what_the_conformance_scenarios_expect_in_both_eras() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = mcp_ws::ServerConfig::new(Implementation::new("mcp-ws-conformance", "1"));
        let server = mcp_ws::server(fixture::router(), config);
        let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
        let url = listening.url();
        tokio::spawn(listening.run());
        for version in [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28] {
            let client = tokio::time::timeout(
                LIMIT,
                mcp_ws_driver::connect(Tokio::new(), &url, client_config(version)),
            )
            .await
            .expect("connect timed out")
            .expect("connect");
            assert_eq!(client.protocol_version(), Some(version));
            both_eras(&client, version).await;
            if version == ProtocolVersion::V2026_07_28 {
                modern_only(&client).await;
            } else {
                client.subscribe_resource("test://watched-resource").await.expect("subscribe");
                client.unsubscribe_resource("test://watched-resource").await.expect("unsubscribe");
            }
            client.close().await;
        }
        server.shutdown().await;
    });
}
