//! The conformance fixture's router: every tool, resource, prompt and completion the suite's
//! server scenarios call, each answering what the scenario expects (the expectations are the
//! suite's own scenario descriptions, 0.2.0-alpha.12). Shared by the example's `main.rs` and
//! the tests crate's `conformance_fixture.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_ws::mcp::{
    CallToolResult, CompleteResult, CreateMessageParams, ElicitParams, GetPromptResult,
    LoggingLevel, Prompt, ReadResourceResult, Resource, ResourceTemplate, Tool,
};
use mcp_ws::{ListKind, RequestContext, Router, ToolError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A 1x1 red PNG.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A WAV header with no samples (44 bytes).
pub const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";

/// The text of `test://static-text`.
pub const STATIC_TEXT: &str = "This is the content of the static text resource.";

fn parse<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a literal of the right shape")
}

fn tool(name: &str, description: &str) -> Tool {
    Tool { name: name.into(), description: Some(description.into()), ..Default::default() }
}

fn with_string_arguments(name: &str, description: &str, arguments: &[&str]) -> Tool {
    let properties: serde_json::Map<String, Value> =
        arguments.iter().map(|a| (a.to_string(), json!({"type": "string"}))).collect();
    let schema = json!({"type": "object", "properties": properties, "required": arguments});
    Tool { input_schema: parse(schema), ..tool(name, description) }
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::text(text)
}

fn elicit(message: &str, schema: Value) -> ElicitParams {
    parse(json!({"message": message, "requestedSchema": schema}))
}

fn sampling(prompt: &str) -> CreateMessageParams {
    parse(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
        "maxTokens": 100
    }))
}

fn name_question() -> ElicitParams {
    elicit(
        "What is your name?",
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
    )
}

#[derive(Deserialize)]
struct Prompted {
    prompt: String,
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

/// The tools of both eras.
fn tools(router: Router) -> Router {
    router
        .tool_def(tool("test_simple_text", "Returns simple text"), |_: Value, _| async {
            Ok(text("This is a simple text response for testing."))
        })
        .tool_def(tool("test_image_content", "Returns an image"), |_: Value, _| async {
            Ok(parse::<CallToolResult>(json!({"content": [{"type": "image", "data": PNG, "mimeType": "image/png"}]})))
        })
        .tool_def(tool("test_audio_content", "Returns audio"), |_: Value, _| async {
            Ok(parse::<CallToolResult>(json!({"content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]})))
        })
        .tool_def(tool("test_embedded_resource", "Returns an embedded resource"), |_: Value, _| async {
            Ok(parse::<CallToolResult>(json!({"content": [{"type": "resource", "resource": {
                "uri": "test://embedded-resource", "mimeType": "text/plain",
                "text": "This is an embedded resource content."}}]})))
        })
        .tool_def(tool("test_multiple_content_types", "Returns text, an image and a resource"), |_: Value, _| async {
            Ok(parse::<CallToolResult>(json!({"content": [
                {"type": "text", "text": "Multiple content types test:"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "test://mixed-content-resource",
                    "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"}}
            ]})))
        })
        .tool_def(tool("test_tool_with_logging", "Logs three messages"), |_: Value, ctx: RequestContext| async move {
            for (i, message) in ["Tool execution started", "Tool processing data", "Tool execution completed"].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.log(LoggingLevel::Info, Some("conformance"), json!(message)).await?;
            }
            Ok(text("Logging tool completed"))
        })
        .tool_def(tool("test_tool_with_progress", "Reports progress 0, 50, 100"), |_: Value, ctx: RequestContext| async move {
            for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.progress(step, Some(100.0), None);
            }
            Ok(text("Progress tool completed"))
        })
        .tool_def(tool("test_error_handling", "Always fails"), |_: Value, _| async {
            Err::<CallToolResult, _>(ToolError::msg("This tool intentionally returns an error for testing"))
        })
        .tool_def(with_string_arguments("test_sampling", "Asks the client's model", &["prompt"]), |args: Prompted, ctx: RequestContext| async move {
            let sampled = ctx.create_message(&sampling(&args.prompt)).await?;
            let answer = serde_json::to_value(&sampled.content)?;
            let said = answer["text"].as_str().map(str::to_owned).unwrap_or_else(|| answer.to_string());
            Ok(text(format!("LLM response: {said}")))
        })
        .tool_def(with_string_arguments("test_elicitation", "Asks the user", &["message"]), |args: Message, ctx: RequestContext| async move {
            let schema = json!({"type": "object", "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}},
                "required": ["username", "email"]});
            let answer = ctx.elicit(&elicit(&args.message, schema)).await?;
            Ok(text(format!("User response: {}", serde_json::to_string(&answer)?)))
        })
        .tool_def(tool("test_elicitation_sep1034_defaults", "Elicits with defaults"), |_: Value, ctx: RequestContext| async move {
            let schema = json!({"type": "object", "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": true}}});
            let answer = ctx.elicit(&elicit("Please review your details", schema)).await?;
            Ok(completed(&serde_json::to_value(&answer)?))
        })
        .tool_def(tool("test_elicitation_sep1330_enums", "Elicits every enum form"), |_: Value, ctx: RequestContext| async move {
            let schema = json!({"type": "object", "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}]},
                "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}]}}}});
            let answer = ctx.elicit(&elicit("Pick your options", schema)).await?;
            Ok(completed(&serde_json::to_value(&answer)?))
        })
        .tool_def(Tool { input_schema: parse(json_schema_2020_12()), ..tool("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features") }, |_: Value, _| async {
            Ok(text("ok"))
        })
        .tool_def(tool("test_reconnection", "Answers after a pause"), |_: Value, _| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(text("Reconnection test completed"))
        })
        .tool_def(Tool { input_schema: parse(header_param_schema()), ..tool("test_header_param", "Echoes a parameter mirrored into the Mcp-Param-Region header (SEP-2243)") }, |args: Value, _| async move {
            Ok(text(format!("region: {}", args["region"].as_str().unwrap_or(""))))
        })
}

/// The schema of `test_header_param`: one string parameter marked `x-mcp-header`, so the
/// suite's custom-header scenario can check that the server validates `Mcp-Param-Region`.
pub fn header_param_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        "required": ["region"]
    })
}

fn completed(answer: &Value) -> CallToolResult {
    text(format!(
        "Elicitation completed: action={}, content={}",
        answer["action"].as_str().unwrap_or("?"),
        answer.get("content").unwrap_or(&json!({}))
    ))
}

/// The schema of `json_schema_2020_12_tool`, as the suite writes it.
pub fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"}, "email": {"type": "string"}},
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

/// The 2026-07-28 tools: input_required rounds (MRTR), capabilities, logging, list changes.
fn modern_tools(router: Router) -> Router {
    router
        .tool_def(
            tool("test_missing_capability", "Needs sampling, which the caller must declare"),
            |_: Value, ctx: RequestContext| async move {
                let sampled = ctx.create_message(&sampling("Say hello")).await?;
                Ok(text(format!("sampled {:?}", sampled.model)))
            },
        )
        .tool_def(
            tool("test_streaming_elicitation", "Asks the user for a name"),
            |_: Value, ctx: RequestContext| async move {
                let answer = ctx.elicit_as("user_name", &name_question()).await?;
                Ok(text(format!(
                    "Hello, {}",
                    answer.content.unwrap_or_default().get("name").cloned().unwrap_or_default()
                )))
            },
        )
        .tool_def(
            tool("test_logging_tool", "Logs at info"),
            |_: Value, ctx: RequestContext| async move {
                ctx.log(LoggingLevel::Info, Some("conformance"), json!("logging tool ran")).await?;
                Ok(text("Logged"))
            },
        )
        .tool_def(
            tool("test_input_required_result_elicitation", "Asks for user_name"),
            |_: Value, ctx: RequestContext| async move {
                let answer = ctx.elicit_as("user_name", &name_question()).await?;
                Ok(text(format!("Hello, {}", serde_json::to_string(&answer.content)?)))
            },
        )
        .tool_def(
            tool("test_input_required_result_list_roots", "Asks for the roots"),
            |_: Value, ctx: RequestContext| async move {
                let roots = ctx.list_roots().await?;
                Ok(text(format!("{} root(s)", roots.roots.len())))
            },
        )
        .tool_def(
            tool("test_input_required_result_sampling", "Asks the model"),
            |_: Value, ctx: RequestContext| async move {
                let sampled =
                    ctx.create_message(&sampling("What is the capital of France?")).await?;
                Ok(text(format!("LLM response: {}", serde_json::to_string(&sampled.content)?)))
            },
        )
        .tool_def(
            tool("test_input_required_result_capabilities", "Asks only what the caller declared"),
            |_: Value, ctx: RequestContext| async move {
                let declared = ctx.client_capabilities().cloned().unwrap_or_default();
                let sampled = match declared.sampling {
                    Some(_) => Some(ctx.create_message(&sampling("Hello")).await),
                    None => None,
                };
                let elicited = match declared.elicitation {
                    Some(_) => Some(ctx.elicit_as("user_name", &name_question()).await),
                    None => None,
                };
                let (sampled, elicited) = (sampled.transpose()?, elicited.transpose()?);
                Ok(text(format!(
                    "sampled: {}, elicited: {}",
                    sampled.is_some(),
                    elicited.is_some()
                )))
            },
        )
        .tool_def(
            tool("test_input_required_result_multiple_inputs", "Asks three things at once"),
            |_: Value, ctx: RequestContext| async move {
                // Each call records its question before any `?`: one round asks all three.
                let name = ctx.elicit_as("user_name", &name_question()).await;
                let sampled = ctx.create_message_as("greeting", &sampling("Say hello")).await;
                let roots = ctx.list_roots_as("roots").await;
                let (name, _sampled, roots) = (name?, sampled?, roots?);
                Ok(text(format!(
                    "{} with {} root(s)",
                    serde_json::to_string(&name.content)?,
                    roots.roots.len()
                )))
            },
        )
        .tool_def(
            tool("test_input_required_result_multi_round", "Asks a name, then a colour"),
            |_: Value, ctx: RequestContext| async move {
                let name = ctx.elicit_as("user_name", &name_question()).await?;
                let colour = elicit(
                    "What is your favourite colour?",
                    json!({"type": "object", "properties": {"color": {"type": "string"}}}),
                );
                let colour = ctx.elicit_as("favorite_color", &colour).await?;
                Ok(text(format!(
                    "{} likes {}",
                    serde_json::to_string(&name.content)?,
                    serde_json::to_string(&colour.content)?
                )))
            },
        )
        .tool_def(
            tool("test_input_required_result_request_state", "One round, with requestState"),
            confirm,
        )
        .tool_def(
            tool(
                "test_input_required_result_tampered_state",
                "One round; a tampered state is refused",
            ),
            confirm,
        )
        .tool_def(
            tool("test_trigger_tool_change", "Announces a tools/list change"),
            |_: Value, ctx: RequestContext| async move {
                if let Some(notifier) = ctx.notifier() {
                    notifier.notify_list_changed(ListKind::Tools);
                }
                Ok(text("tools changed"))
            },
        )
        .tool_def(
            tool("test_trigger_prompt_change", "Announces a prompts/list change"),
            |_: Value, ctx: RequestContext| async move {
                if let Some(notifier) = ctx.notifier() {
                    notifier.notify_list_changed(ListKind::Prompts);
                }
                Ok(text("prompts changed"))
            },
        )
        .tool_def(
            tool("test_trigger_resource_update", "Announces a change of test://watched-resource"),
            |_: Value, ctx: RequestContext| async move {
                if let Some(notifier) = ctx.notifier() {
                    notifier.notify_resource_updated("test://watched-resource");
                }
                Ok(text("resource updated"))
            },
        )
}

async fn confirm(_: Value, ctx: RequestContext) -> Result<CallToolResult, ToolError> {
    let question =
        elicit("Proceed?", json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}));
    let answer = ctx.elicit_as("confirmation", &question).await?;
    Ok(text(format!("confirmed: {}", serde_json::to_string(&answer.content)?)))
}

fn resources(router: Router) -> Router {
    let resource = |uri: &str, mime: &str| Resource {
        uri: uri.into(),
        name: uri.trim_start_matches("test://").into(),
        mime_type: Some(mime.into()),
        ..Default::default()
    };
    router
        .text_resource(resource("test://static-text", "text/plain"), STATIC_TEXT)
        .resource(resource("test://static-binary", "image/png"), |uri, _| async move {
            Ok(parse::<ReadResourceResult>(json!({"contents": [{"uri": uri, "mimeType": "image/png", "blob": PNG}]})))
        })
        .text_resource(resource("test://watched-resource", "text/plain"), "A resource clients subscribe to.")
        .resource_template(
            ResourceTemplate { uri_template: "test://template/{id}/data".into(), name: "template".into(), mime_type: Some("application/json".into()), ..Default::default() },
            |uri, variables: BTreeMap<String, String>, _| async move {
                let id = variables.get("id").cloned().unwrap_or_default();
                let body = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                Ok(parse::<ReadResourceResult>(json!({"contents": [{"uri": uri, "mimeType": "application/json", "text": body.to_string()}]})))
            },
        )
}

fn prompt(name: &str, arguments: &[&str]) -> Prompt {
    let arguments: Vec<Value> =
        arguments.iter().map(|a| json!({"name": a, "required": true})).collect();
    parse(
        json!({"name": name, "description": format!("The {name} prompt"), "arguments": arguments}),
    )
}

fn prompts(router: Router) -> Router {
    router
        .prompt_def(prompt("test_simple_prompt", &[]), |_, _| async {
            Ok(parse::<GetPromptResult>(json!({"messages": [{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}]})))
        })
        .prompt_def(prompt("test_prompt_with_arguments", &["arg1", "arg2"]), |args, _| async move {
            let said = format!("Prompt with arguments: arg1='{}', arg2='{}'", args["arg1"], args["arg2"]);
            Ok(parse::<GetPromptResult>(json!({"messages": [{"role": "user", "content": {"type": "text", "text": said}}]})))
        })
        .prompt_def(prompt("test_prompt_with_embedded_resource", &["resourceUri"]), |args, _| async move {
            Ok(parse::<GetPromptResult>(json!({"messages": [
                {"role": "user", "content": {"type": "resource", "resource": {"uri": args["resourceUri"], "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}}]})))
        })
        .prompt_def(prompt("test_prompt_with_image", &[]), |_, _| async {
            Ok(parse::<GetPromptResult>(json!({"messages": [
                {"role": "user", "content": {"type": "image", "data": PNG, "mimeType": "image/png"}},
                {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}}]})))
        })
        .prompt_def(prompt("test_input_required_result_prompt", &[]), |_, ctx: RequestContext| async move {
            let question = elicit("What context should the prompt use?", json!({"type": "object", "properties": {"context": {"type": "string"}}}));
            let answer = ctx.elicit_as("context", &question).await.map_err(|e| match e {
                mcp_ws::CallError::MissingClientCapability(error) => error,
                other => mcp_ws::core::ErrorObject::new(mcp_ws::core::ErrorCode::InternalError, other.to_string()),
            })?;
            let context = serde_json::to_string(&answer.content).unwrap_or_default();
            Ok(parse::<GetPromptResult>(json!({"messages": [{"role": "user", "content": {"type": "text", "text": format!("Use this context: {context}")}}]})))
        })
}

/// The whole fixture.
pub fn router() -> Router {
    let router = prompts(resources(modern_tools(tools(Router::new()))));
    router.completion(|params, _| async move {
        let typed = params.argument.value;
        let values: Vec<String> = ["paris", "park", "party"]
            .iter()
            .filter(|v| v.starts_with(&typed))
            .map(|v| v.to_string())
            .collect();
        Ok(parse::<CompleteResult>(
            json!({"completion": {"values": values, "total": values.len(), "hasMore": false}}),
        ))
    })
}
