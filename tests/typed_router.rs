//! Tools and prompts registered from Rust types: the derived `inputSchema`/`outputSchema`
//! validate against the official `Tool` definition of 2025-11-25 and 2026-07-28 (read from
//! `core/tests/fixtures/spec`), bad arguments get an `isError` result naming the field, a `?`-propagated `io::Error`
//! becomes an `isError` result with its message, protocol errors stay JSON-RPC errors,
//! structured output round-trips, and shared state reaches the handlers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mcp_ws_driver::core::mcp::common::Role;
use mcp_ws_driver::core::mcp::{
    ContentBlock, GetPromptResult, Implementation, PromptMessage, Tool,
};
use mcp_ws_driver::core::{ErrorCode, ErrorObject};
use mcp_ws_driver::{CallError, ClientConfig, Router, ServerConfig, Structured, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
    /// How many times (default once).
    times: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
struct ReadArgs {
    /// The file to read.
    path: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Sum {
    total: i64,
    terms: Vec<i64>,
}

#[derive(Deserialize, JsonSchema)]
struct Terms {
    terms: Vec<i64>,
}

#[derive(Deserialize, JsonSchema)]
struct TopicArgs {
    /// What to write about.
    topic: String,
    /// The tone.
    tone: Option<String>,
}

/// The greeting every `greet` call uses, shared through `Router::with_state`.
struct Salutation(String);

fn router() -> Router {
    Router::new()
        .with_state(Salutation("Hello".into()))
        .tool("greet", "Greets someone", |args: GreetArgs, ctx| async move {
            let word = &ctx.state::<Salutation>().0;
            let times = args.times.unwrap_or(1) as usize;
            Ok(vec![format!("{word}, {}!", args.name); times].join(" "))
        })
        .tool("read", "Reads a file", |args: ReadArgs, _ctx| async move {
            let text = std::fs::read_to_string(&args.path)?;
            Ok(text)
        })
        .tool("refuse", "Always a protocol error", |_: ReadArgs, _ctx| async move {
            Err::<String, _>(ToolError::protocol(ErrorObject::new(
                ErrorCode::InvalidParams,
                "path outside the sandbox",
            )))
        })
        .tool("sum", "Adds numbers", |args: Terms, _ctx| async move {
            Ok(Structured(Sum { total: args.terms.iter().sum(), terms: args.terms }))
        })
        .resource_from("files://{name}", "file", |file: FileVars, _ctx| async move {
            if file.name == "secret" {
                let code = mcp_ws_driver::server::router::RESOURCE_NOT_FOUND;
                let error = ErrorObject { code, message: "no such file".into(), data: None };
                return Err(ToolError::protocol(error));
            }
            let path = std::env::temp_dir().join(format!("mcp-ws-typed-router-{}", file.name));
            Ok(std::fs::read_to_string(path)?)
        })
        .prompt("essay", "Writes an essay", |args: TopicArgs, _ctx| async move {
            let tone = args.tone.unwrap_or_else(|| "plain".into());
            Ok(GetPromptResult {
                messages: vec![PromptMessage {
                    role: Role::User,
                    content: ContentBlock::text(format!("A {tone} essay on {}", args.topic)),
                    extra: Default::default(),
                }],
                ..Default::default()
            })
        })
}

#[derive(Deserialize)]
struct FileVars {
    name: String,
}

/// The official `Tool` definition of `version`, as a validator.
fn tool_validator(version: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/spec")
        .join(version)
        .join("schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("schema must exist at {}: {e}", path.display()));
    let root: Value = serde_json::from_str(&text).expect("schema is JSON");
    let key = if root.get("$defs").is_some() { "$defs" } else { "definitions" };
    assert!(root[key].get("Tool").is_some(), "{version} defines Tool");
    let schema = json!({
        "$schema": root["$schema"],
        key: root[key],
        "$ref": format!("#/{key}/Tool"),
    });
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn derived_tool_definitions_validate_against_the_official_tool_schema() {
    let router = router();
    for version in ["2025-11-25", "2026-07-28"] {
        let validator = tool_validator(version);
        for tool in router.tools() {
            let instance = serde_json::to_value(tool).expect("serialisable");
            let errors: Vec<String> =
                validator.iter_errors(&instance).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{version} {}: {errors:?}\n{instance:#}", tool.name);
        }
        // The check can fail: a definition without the object type at the top is refused.
        let mut broken = serde_json::to_value(&router.tools()[0]).unwrap();
        broken["inputSchema"]["type"] = json!("string");
        assert!(!validator.is_valid(&broken), "{version} must refuse a non-object inputSchema");
    }
}

#[test]
fn the_derived_schemas_describe_the_rust_types() {
    let router = router();
    let greet: &Tool = &router.tools()[0];
    assert_eq!(greet.description.as_deref(), Some("Greets someone"));
    assert_eq!(greet.input_schema["type"], "object");
    assert_eq!(greet.input_schema["properties"]["name"]["description"], "Who to greet.");
    assert_eq!(greet.input_schema["required"], json!(["name"]));
    assert!(greet.output_schema.is_none(), "a String result declares no output schema");
    let sum = router.tools().iter().find(|t| t.name == "sum").unwrap();
    let output = sum.output_schema.as_ref().expect("Structured<Sum> declares an output schema");
    assert_eq!(output["type"], "object");
    assert_eq!(output["required"], json!(["total", "terms"]));
}

async fn with_client<F, Fut>(test: F)
where
    F: FnOnce(mcp_ws_driver::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let server = mcp_ws_tokio::server(router(), ServerConfig::new(Implementation::new("t", "1")));
    let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
    let url = listening.url();
    let run = tokio::spawn(listening.run());
    let config = ClientConfig::new(Implementation::new("c", "1")).reconnect(None);
    let client = mcp_ws_tokio::connect(&url, config).await.expect("connect");
    tokio::time::timeout(Duration::from_secs(20), test(client.clone()))
        .await
        .expect("the test finishes within 20 s");
    client.close().await;
    server.shutdown().await;
    run.await.expect("accept loop ends");
}

#[tokio::test]
async fn a_typed_tool_is_called_with_its_arguments_and_the_shared_state() {
    with_client(|client| async move {
        let result = client.call_tool("greet", json!({"name": "Ada", "times": 2})).await.unwrap();
        assert!(!result.failed());
        assert_eq!(result.joined_text(), "Hello, Ada! Hello, Ada!");
    })
    .await;
}

#[tokio::test]
async fn bad_arguments_are_refused_naming_the_field() {
    // The client settles on 2026-07-28: a tool execution error (-32602 before 2025-11-25).
    with_client(|client| async move {
        for (bad, field) in [
            (json!({}), "name"),
            (json!({"name": 7}), "name"),
            (json!({"name": "Ada", "times": -1}), "times"),
            (json!({"name": "Ada", "tims": 2}), "tims"),
        ] {
            let result = client.call_tool("greet", bad.clone()).await.expect("a tool error");
            assert!(result.failed(), "{bad}: {result:?}");
            let text = result.joined_text();
            assert!(text.starts_with("invalid arguments for tool greet: "), "{bad}: {text}");
            assert!(text.contains(&format!("\"{field}\"")), "{bad}: {text}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_io_error_propagated_with_question_mark_becomes_an_error_result_with_its_message() {
    with_client(|client| async move {
        let missing = std::env::temp_dir().join("mcp-ws-typed-router-no-such-file.txt");
        let expected = std::fs::read_to_string(&missing).unwrap_err().to_string();
        let result = client.call_tool("read", json!({"path": missing})).await.unwrap();
        assert!(result.failed(), "isError must be true: {result:?}");
        assert_eq!(result.joined_text(), expected);
    })
    .await;
}

#[tokio::test]
async fn a_protocol_error_from_a_tool_stays_a_json_rpc_error() {
    with_client(|client| async move {
        match client.call_tool("refuse", json!({"path": "/etc/passwd"})).await {
            Err(CallError::Rpc(error)) => {
                assert_eq!(error.code, -32602);
                assert_eq!(error.message, "path outside the sandbox");
            }
            other => panic!("expected a JSON-RPC error, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn structured_output_round_trips() {
    with_client(|client| async move {
        let result = client.call_tool("sum", json!({"terms": [1, 2, 39]})).await.unwrap();
        let structured = result.structured_content.clone().expect("structuredContent is filled");
        let sum: Sum = serde_json::from_value(structured).unwrap();
        assert_eq!(sum, Sum { total: 42, terms: vec![1, 2, 39] });
        // The same JSON as text, for clients that predate structured content.
        let text: Sum = serde_json::from_str(&result.joined_text()).unwrap();
        assert_eq!(text, sum);
        let tools = client.list_all_tools().await.unwrap();
        let listed = tools.iter().find(|t| t.name == "sum").unwrap();
        assert_eq!(
            listed.output_schema.as_ref().unwrap()["properties"]["total"]["type"],
            "integer"
        );
    })
    .await;
}

#[tokio::test]
async fn a_typed_prompt_lists_its_derived_arguments_and_checks_them() {
    with_client(|client| async move {
        let prompts = client.list_prompts(None).await.unwrap().prompts;
        let arguments = prompts[0].arguments.clone().unwrap();
        let listed: Vec<(&str, Option<bool>, Option<&str>)> = arguments
            .iter()
            .map(|a| (a.name.as_str(), a.required, a.description.as_deref()))
            .collect();
        assert_eq!(
            listed,
            [
                ("topic", Some(true), Some("What to write about.")),
                ("tone", Some(false), Some("The tone."))
            ]
        );
        let args = BTreeMap::from([("topic".to_string(), "rust".to_string())]);
        let got = client.get_prompt("essay", args).await.unwrap();
        assert_eq!(
            serde_json::to_value(&got.messages[0]).unwrap()["content"]["text"],
            "A plain essay on rust"
        );
        match client.get_prompt("essay", BTreeMap::new()).await {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602, "{error:?}"),
            other => panic!("a missing required argument must get -32602, got {other:?}"),
        }
    })
    .await;
}

#[test]
fn content_blocks_are_text() {
    // Guards the assumption `joined_text` makes above: a String result is one text block.
    let result = mcp_ws_driver::core::mcp::CallToolResult::text("x");
    assert!(matches!(result.content[0], ContentBlock::Text(_)));
}

#[tokio::test]
async fn a_typed_resource_template_reads_its_variables_and_takes_question_mark_errors() {
    with_client(|client| async move {
        let path = std::env::temp_dir().join("mcp-ws-typed-router-present");
        std::fs::write(&path, "contents").unwrap();
        let read = client.read_resource("files://present").await.unwrap();
        assert_eq!(
            serde_json::to_value(&read.contents).unwrap(),
            json!([{"uri": "files://present", "mimeType": "text/plain", "text": "contents"}])
        );
        // An io::Error from `?` is a -32603 error with its message.
        let missing =
            std::fs::read_to_string(std::env::temp_dir().join("mcp-ws-typed-router-absent"))
                .unwrap_err()
                .to_string();
        match client.read_resource("files://absent").await {
            Err(CallError::Rpc(error)) => {
                assert_eq!(error.code, -32603);
                assert_eq!(error.message, missing);
            }
            other => panic!("expected -32603, got {other:?}"),
        }
        // A protocol error keeps its code.
        match client.read_resource("files://secret").await {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32002),
            other => panic!("expected -32002, got {other:?}"),
        }
        let _ = std::fs::remove_file(path);
    })
    .await;
}
