//! The client the MCP conformance suite judges (`conformance client --command ...`): written
//! with the public client API as a user would, it connects to the URL the suite appends,
//! reads `MCP_CONFORMANCE_SCENARIO` (and `MCP_CONFORMANCE_CONTEXT`, a JSON object, for the
//! scenarios that name the calls to make) and does what that scenario asks. The wire
//! (`MCP_CONFORMANCE_PROTOCOL_VERSION`) picks the lifecycle: a dated version through 2025-11-25
//! runs the `initialize` handshake, 2026-07-28 stamps every request with `_meta`.
//!
//! `cargo run -p mcp-ws --example conformance_client -- http://127.0.0.1:PORT/mcp`
//! (`tests/conformance_client.rs` runs the suite with it).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use mcp_ws::core::ProtocolVersion;
use mcp_ws::core::session::EraPolicy;
use mcp_ws::driver::{Authorizer, OAuthConfig};
use mcp_ws::mcp::{
    ContentBlock, CreateMessageResult, ElicitAction, ElicitParams, ElicitResult, Implementation,
    Role, Root, SamplingContent, Tool,
};
use mcp_ws::{Client, ClientConfig, PeerRequests};
use serde_json::{Map, Value, json};

/// The longest any one scenario may take here (the suite's own limit is 30 s).
const SCENARIO_LIMIT: Duration = Duration::from_secs(25);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: conformance_client URL (the suite appends the URL)");
        return ExitCode::from(2);
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let version = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION")
        .ok()
        .and_then(|text| ProtocolVersion::parse(&text))
        .unwrap_or(ProtocolVersion::V2025_11_25);
    match tokio::time::timeout(SCENARIO_LIMIT, run(&url, &scenario, &context, version)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("conformance_client: {scenario}: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("conformance_client: {scenario}: timed out");
            ExitCode::FAILURE
        }
    }
}

type Failure = Box<dyn std::error::Error>;

async fn run(
    url: &str,
    scenario: &str,
    context: &Value,
    version: ProtocolVersion,
) -> Result<(), Failure> {
    let era = match version {
        ProtocolVersion::V2026_07_28 => EraPolicy::Modern,
        legacy => EraPolicy::Legacy(legacy),
    };
    let config = ClientConfig::new(Implementation::new("mcp-ws-conformance-client", "1.0.0"))
        .era(era)
        .peer_requests(peer_requests())
        .oauth(oauth(scenario, context));
    let client = mcp_ws::connect(url, config).await?;
    let outcome = scenario_steps(&client, scenario, context).await;
    client.close().await;
    outcome
}

/// The URL of this client's Client ID Metadata Document (the suite's authorization servers
/// take it as the client id without fetching it).
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// OAuth as a headless agent does it: the client follows the authorization URL itself and
/// takes the code from the redirect (the suite's authorization servers grant at once). The
/// `auth/pre-registration` and `auth/client-credentials-basic` contexts name a client
/// registered in advance.
fn oauth(scenario: &str, context: &Value) -> OAuthConfig {
    let mut oauth = OAuthConfig::new("http://127.0.0.1:3000/callback", "mcp-ws-conformance-client")
        .client_metadata_url(CLIENT_METADATA_URL)
        .authorizer(Authorizer::FollowRedirect);
    // A machine client with a secret (the client-credentials extension; its JWT variant,
    // `private_key_jwt`, is not built).
    if scenario == "auth/client-credentials-basic" {
        oauth = oauth.client_credentials();
    }
    match context.get("client_id").and_then(Value::as_str) {
        Some(id) => oauth.pre_registered(id, context.get("client_secret").and_then(Value::as_str)),
        None => oauth,
    }
}

/// What the client answers when the server asks: roots, a canned sampling answer, and
/// elicitation accepted with the schema's defaults (SEP-1034: fields left to their defaults).
fn peer_requests() -> PeerRequests {
    PeerRequests::default()
        .roots(vec![Root {
            uri: "file:///conformance/root".into(),
            name: Some("Conformance root".into()),
            ..Default::default()
        }])
        .sampling(|_, _| async move {
            Ok(CreateMessageResult {
                role: Role::Assistant,
                content: SamplingContent::Single(ContentBlock::text("A sampled answer.")),
                model: "conformance-model".into(),
                stop_reason: Some("endTurn".into()),
                meta: None,
                extra: Default::default(),
            })
        })
        .elicitation(|params: ElicitParams, _| async move {
            let mut content = Map::new();
            if let Some(schema) = params.requested_schema {
                for (name, field) in schema.properties {
                    if let Some(default) = field.default {
                        content.insert(name, default);
                    }
                }
            }
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content: Some(content),
                meta: None,
                extra: Default::default(),
            })
        })
}

async fn scenario_steps(client: &Client, scenario: &str, context: &Value) -> Result<(), Failure> {
    match scenario {
        // The handshake (or, on 2026-07-28, discovery) is all there is.
        "initialize" => {
            client.list_all_tools().await?;
        }
        // Calls the named tools with the arguments the context gives.
        _ if context.get("toolCalls").is_some() => {
            client.list_all_tools().await?;
            for call in context["toolCalls"].as_array().into_iter().flatten() {
                let name = call["name"].as_str().unwrap_or_default();
                client.call_tool(name, call["arguments"].clone()).await?;
            }
        }
        // Every kind of request that names something in its headers.
        "http-standard-headers" => {
            for tool in client.list_all_tools().await? {
                client.call_tool(&tool.name, arguments_for(&tool)).await?;
            }
            for resource in client.list_all_resources().await? {
                client.read_resource(&resource.uri).await?;
            }
            for prompt in client.list_all_prompts().await? {
                client.get_prompt(&prompt.name, BTreeMap::new()).await?;
            }
        }
        // Lists the tools; nothing may fetch the network `$ref` in a schema.
        "json-schema-ref-no-deref" => {
            client.list_all_tools().await?;
        }
        // Sends the rich schema back through the echo tool exactly as it was received.
        "json-schema-2020-12-preservation" => {
            let tools = client.list_all_tools().await?;
            let echo = "json_schema_echo";
            let focal =
                tools.iter().find(|tool| tool.name != echo).ok_or("no schema tool listed")?;
            let schema = Value::Object(focal.input_schema.clone());
            client.call_tool(echo, json!({ "schema": schema })).await?;
        }
        // Everything else (tools_call, elicitation defaults, sse-retry, request metadata,
        // request state, invalid tool headers, auth/*): call every tool the server lists, with
        // arguments made from its schema. A tool the library refused to list is not called.
        _ => {
            for tool in client.list_all_tools().await? {
                client.call_tool(&tool.name, arguments_for(&tool)).await?;
            }
        }
    }
    Ok(())
}

/// Arguments that satisfy a tool's required properties: a sample value of each one's type.
fn arguments_for(tool: &Tool) -> Value {
    let properties = tool.input_schema.get("properties").and_then(Value::as_object);
    let required = tool.input_schema.get("required").and_then(Value::as_array);
    let mut arguments = Map::new();
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let kind = properties
            .and_then(|properties| properties.get(name))
            .and_then(|property| property.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("string");
        let sample = match kind {
            "number" | "integer" => json!(3),
            "boolean" => json!(true),
            "object" => json!({}),
            "array" => json!([]),
            "null" => Value::Null,
            _ => json!("sample"),
        };
        arguments.insert(name.to_string(), sample);
    }
    Value::Object(arguments)
}
