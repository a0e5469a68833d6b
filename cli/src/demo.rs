//! The built-in demo server that `mcp-ws serve` runs with no arguments, and that the
//! cross-runtime and interop tests talk to.
//!
//! Its contract (also implemented by `tests/interop/py_server.py`, so the same client checks
//! run against both):
//! - tools `add`, `subtract`, `multiply`, `divide` (`{a, b}` numbers) answer one text block:
//!   the number as an integer when integral (`5`), else its shortest form (`2.5`); dividing by
//!   zero is a tool error (`isError: true`) saying `division by zero`;
//! - `echo {text}` answers the text;
//! - `slow_count {steps = 5, interval_ms = 500}` reports progress 1..steps (total `steps`,
//!   message `step i`) one interval apart and answers `counted to {steps}`; cancelling it
//!   stops it;
//! - `list_roots` asks the client for `roots/list` and answers the root URIs, one per line;
//!   `confirm {question}` asks the client's user to confirm (`elicitation/create`, a form with
//!   one boolean `confirm`) and answers `confirmed: {question}`, `not confirmed: {question}`,
//!   `declined: {question}` or `cancelled: {question}`. Both work in both eras: a server
//!   request in the legacy era, an `input_required` round trip in 2026-07-28;
//! - `ping_client` pings the client and answers `pong` (legacy era only: 2026-07-28 has no
//!   ping, and the tool says so with `isError: true`);
//! - resource `demo://readme` (text), resource template `demo://echo/{text}`, and prompt
//!   `greet {name}`;
//! - every tool's input schema refuses unknown arguments (`additionalProperties: false`), so a
//!   misspelled one is an error rather than a silently applied default;
//! - (this server only) `completion/complete` suggests names for `greet`'s `name`
//!   ([`GREET_NAMES`]) and words for the template's `text` ([`ECHO_WORDS`]) that start with
//!   what is typed (case-insensitively); another reference gets -32602;
//! - `touch {uri}` publishes `notifications/resources/updated` for `uri` to every session
//!   subscribed to it (legacy `resources/subscribe` or a 2026-07-28 `subscriptions/listen`),
//!   on every node when the server runs with `--redis`, and answers `touched {uri}` (the
//!   Python demo, which has no cross-session publish, tells the calling session only).

use std::collections::BTreeMap;
use std::time::Duration;

use mcp_ws_driver::core::mcp::common::Role as MessageRole;
use mcp_ws_driver::core::mcp::methods;
use mcp_ws_driver::core::mcp::{
    CallToolResult, CompleteParams, CompleteResult, Completion, CompletionReference, ContentBlock,
    ElicitAction, ElicitParams, GetPromptResult, Implementation, Prompt, PromptArgument,
    PromptMessage, ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
    TextResourceContents, Tool,
};
use mcp_ws_driver::core::{ErrorCode, ErrorObject};
use mcp_ws_driver::{CallOptions, Router, Runtime, ToolError};
use serde::Deserialize;
use serde_json::json;

/// The text of the `demo://readme` resource.
pub const README_TEXT: &str = "This is the mcp-ws demo server.";

/// The demo server's identity.
pub fn implementation() -> Implementation {
    Implementation::new("mcp-ws-demo", env!("CARGO_PKG_VERSION"))
}

/// Formats a tool's numeric answer: integral values without a fraction, others in their
/// shortest round-trip form (the same text Python's `repr` gives).
pub fn format_number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[derive(Deserialize)]
struct Operands {
    a: f64,
    b: f64,
}

#[derive(Deserialize)]
struct ConfirmArgs {
    question: String,
}

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

#[derive(Deserialize)]
struct TouchArgs {
    uri: String,
}

#[derive(Deserialize)]
struct CountArgs {
    #[serde(default = "default_steps")]
    steps: u32,
    #[serde(default = "default_interval_ms")]
    interval_ms: u64,
}

fn default_steps() -> u32 {
    5
}

fn default_interval_ms() -> u64 {
    500
}

/// The names `completion/complete` suggests for the `greet` prompt's `name`.
pub const GREET_NAMES: [&str; 4] = ["Ada", "Alan", "Grace", "Linus"];

/// The words `completion/complete` suggests for the `text` of `demo://echo/{text}`.
pub const ECHO_WORDS: [&str; 3] = ["bonjour", "hello", "hola"];

/// Suggestions for a `completion/complete` request to the demo.
fn complete(params: &CompleteParams) -> Result<CompleteResult, ErrorObject> {
    let candidates: &[&str] = match &params.reference {
        CompletionReference::Prompt(prompt) if prompt.name == "greet" => &GREET_NAMES,
        CompletionReference::ResourceTemplate(template) if template.uri == "demo://echo/{text}" => {
            &ECHO_WORDS
        }
        _ => {
            return Err(ErrorObject::new(
                ErrorCode::InvalidParams,
                "the demo completes greet's name and demo://echo/{text}'s text only",
            ));
        }
    };
    let typed = params.argument.value.to_lowercase();
    let values: Vec<String> = candidates
        .iter()
        .filter(|candidate| candidate.to_lowercase().starts_with(&typed))
        .map(|candidate| candidate.to_string())
        .collect();
    let total = Some(values.len() as u64);
    Ok(CompleteResult {
        completion: Completion { values, total, has_more: Some(false), ..Default::default() },
        ..Default::default()
    })
}

/// The most steps `slow_count` accepts, so one call cannot run for days.
pub const MAX_STEPS: u32 = 1000;

fn tool(name: &str, description: &str, schema: serde_json::Value) -> Tool {
    let serde_json::Value::Object(input_schema) = schema else {
        unreachable!("tool schemas are written as objects")
    };
    Tool {
        name: name.to_string(),
        description: Some(description.to_string()),
        input_schema,
        ..Default::default()
    }
}

fn operands_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
        "required": ["a", "b"],
        "additionalProperties": false
    })
}

fn arithmetic(router: Router, name: &str, description: &str, op: fn(f64, f64) -> f64) -> Router {
    router.tool_def(
        tool(name, description, operands_schema()),
        move |args: Operands, _context| async move {
            Ok(CallToolResult::text(format_number(op(args.a, args.b))))
        },
    )
}

fn text_contents(uri: String, text: String) -> ReadResourceResult {
    ReadResourceResult {
        contents: vec![ResourceContents::Text(TextResourceContents {
            uri,
            mime_type: Some("text/plain".to_string()),
            text,
            ..Default::default()
        })],
        ..Default::default()
    }
}

/// The demo router; `runtime` provides the sleeps of `slow_count`.
pub fn router<R: Runtime>(runtime: R) -> Router {
    let mut router = Router::new();
    router = arithmetic(router, "add", "Adds b to a.", |a, b| a + b);
    router = arithmetic(router, "subtract", "Subtracts b from a.", |a, b| a - b);
    router = arithmetic(router, "multiply", "Multiplies a by b.", |a, b| a * b);
    router
        .tool_def(
            tool("divide", "Divides a by b; dividing by zero is an error.", operands_schema()),
            |args: Operands, _context| async move {
                if args.b == 0.0 {
                    return Err(ToolError::msg("division by zero"));
                }
                Ok(CallToolResult::text(format_number(args.a / args.b)))
            },
        )
        .tool_def(
            tool(
                "echo",
                "Answers the text it is given.",
                json!({
                    "type": "object",
                    "properties": { "text": { "type": "string" } },
                    "required": ["text"],
                    "additionalProperties": false
                }),
            ),
            |args: EchoArgs, _context| async move { Ok(CallToolResult::text(args.text)) },
        )
        .tool_def(
            tool(
                "slow_count",
                "Counts to `steps`, one step every `interval_ms`, reporting progress; \
                 cancellable.",
                json!({
                    "type": "object",
                    "properties": {
                        "steps": { "type": "integer", "minimum": 1, "default": 5 },
                        "interval_ms": { "type": "integer", "minimum": 0, "default": 500 }
                    },
                    "additionalProperties": false
                }),
            ),
            move |args: CountArgs, context| {
                let runtime = runtime.clone();
                async move {
                    if args.steps == 0 || args.steps > MAX_STEPS {
                        return Err(ToolError::msg(format!("steps must be 1..={MAX_STEPS}")));
                    }
                    let interval = Duration::from_millis(args.interval_ms.min(60_000));
                    for step in 1..=args.steps {
                        runtime.sleep_until(runtime.now() + interval).await;
                        context.progress(
                            f64::from(step),
                            Some(f64::from(args.steps)),
                            Some(format!("step {step}")),
                        );
                    }
                    Ok(CallToolResult::text(format!("counted to {}", args.steps)))
                }
            },
        )
        .tool_def(
            tool(
                "list_roots",
                "Asks the client for its roots and answers their URIs, one per line.",
                json!({ "type": "object", "additionalProperties": false }),
            ),
            |_args: serde_json::Value, context| async move {
                let roots =
                    context.list_roots().await.map_err(|e| asking_failed("roots/list", e))?;
                let uris: Vec<String> = roots.roots.into_iter().map(|root| root.uri).collect();
                Ok(CallToolResult::text(uris.join("\n")))
            },
        )
        .tool_def(
            tool(
                "confirm",
                "Asks the user to confirm the question (elicitation) and answers what they chose.",
                json!({
                    "type": "object",
                    "properties": { "question": { "type": "string" } },
                    "required": ["question"],
                    "additionalProperties": false
                }),
            ),
            |args: ConfirmArgs, context| async move {
                let params: ElicitParams = serde_json::from_value(json!({
                    "mode": "form",
                    "message": args.question,
                    "requestedSchema": {
                        "type": "object",
                        "properties": { "confirm": { "type": "boolean", "title": "Confirm" } },
                        "required": ["confirm"]
                    }
                }))?;
                let answer = context
                    .elicit(&params)
                    .await
                    .map_err(|e| asking_failed("elicitation/create", e))?;
                let confirmed = answer
                    .content
                    .as_ref()
                    .and_then(|content| content.get("confirm"))
                    .and_then(serde_json::Value::as_bool);
                let verdict = match (answer.action, confirmed) {
                    (ElicitAction::Accept, Some(true)) => "confirmed",
                    (ElicitAction::Accept, _) => "not confirmed",
                    (ElicitAction::Decline, _) => "declined",
                    _ => "cancelled",
                };
                Ok(CallToolResult::text(format!("{verdict}: {}", args.question)))
            },
        )
        .tool_def(
            tool(
                "touch",
                "Tells every client subscribed to the resource at `uri` that it changed.",
                json!({
                    "type": "object",
                    "properties": { "uri": { "type": "string" } },
                    "required": ["uri"],
                    "additionalProperties": false
                }),
            ),
            |args: TouchArgs, context| async move {
                let notifier = context
                    .notifier()
                    .ok_or_else(|| ToolError::msg("touch needs a server to publish from"))?;
                notifier.notify_resource_updated(args.uri.clone());
                Ok(CallToolResult::text(format!("touched {}", args.uri)))
            },
        )
        .tool_def(
            tool(
                "ping_client",
                "Pings the client and answers pong.",
                json!({ "type": "object", "additionalProperties": false }),
            ),
            |_args: serde_json::Value, context| async move {
                if context.in_input_round() {
                    return Err(ToolError::msg(
                        "ping_client works only in the legacy era: 2026-07-28 has no ping \
                         (servers send no requests there)",
                    ));
                }
                context
                    .connection()
                    .request(methods::PING, None, CallOptions::timeout(Duration::from_secs(10)))
                    .await
                    .map_err(|e| ToolError::msg(format!("ping failed: {e}")))?;
                Ok(CallToolResult::text("pong"))
            },
        )
        .text_resource(
            Resource {
                uri: "demo://readme".to_string(),
                name: "readme".to_string(),
                description: Some("What this server is.".to_string()),
                mime_type: Some("text/plain".to_string()),
                ..Default::default()
            },
            README_TEXT,
        )
        .resource_template(
            ResourceTemplate {
                uri_template: "demo://echo/{text}".to_string(),
                name: "echo".to_string(),
                description: Some("A resource whose text is the end of its URI.".to_string()),
                mime_type: Some("text/plain".to_string()),
                ..Default::default()
            },
            |uri, vars: BTreeMap<String, String>, _context| async move {
                let text = vars.get("text").cloned().unwrap_or_default();
                Ok(text_contents(uri, text))
            },
        )
        .prompt_def(
            Prompt {
                name: "greet".to_string(),
                description: Some("Asks the model to greet someone.".to_string()),
                arguments: Some(vec![PromptArgument {
                    name: "name".to_string(),
                    description: Some("Who to greet.".to_string()),
                    required: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            |arguments, _context| async move {
                let name = arguments.get("name").cloned().unwrap_or_default();
                Ok(GetPromptResult {
                    messages: vec![PromptMessage {
                        role: MessageRole::User,
                        content: ContentBlock::text(format!("Say hello to {name}.")),
                        extra: Default::default(),
                    }],
                    ..Default::default()
                })
            },
        )
        .completion(|params, _context| async move { complete(&params) })
}

/// A question to the client that failed: a tool error naming `method`, except a capability the
/// request did not declare (2026-07-28), answered with its -32021 as the specification
/// requires.
fn asking_failed(method: &str, error: mcp_ws_driver::CallError) -> ToolError {
    match error {
        mcp_ws_driver::CallError::MissingClientCapability(_) => ToolError::from(error),
        other => ToolError::msg(format!("{method} failed: {other}")),
    }
}
