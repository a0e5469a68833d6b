//! `mcp-ws resources`, `prompts`, `complete` and `ping`: the rest of what a server offers,
//! one request each (lists follow `nextCursor`), with the conventions of `tools` and `call`:
//! text for people, `--json` for scripts, a non-zero exit on any error, `--timeout` for the
//! whole command.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use mcp_ws_driver::core::mcp::{
    CompleteParams, CompletionArgument, CompletionContext, CompletionReference, ContentBlock,
    PromptReference, ResourceContents, ResourceTemplateReference, methods,
};
use mcp_ws_driver::core::{Era, ProtocolVersion};
use mcp_ws_driver::{CallError, CallOptions};
use serde::Serialize;

use crate::advice;
use crate::args::{
    ClientArgs, CompleteArgs, PingArgs, PromptGetArgs, PromptsCommand, ReadArgs, ResourcesCommand,
};
use crate::query::with_client;

/// Runs one request `what` with `call` on a client of `args`; a failure says what failed.
async fn request<T, F, Fut>(args: &ClientArgs, what: &str, call: F) -> Result<T, String>
where
    F: FnOnce(mcp_ws_driver::Client) -> Fut,
    Fut: Future<Output = (mcp_ws_driver::Client, Result<T, CallError>)>,
{
    let what_owned = what.to_string();
    with_client(args, what, |client| async move {
        let (client, result) = call(client).await;
        (client, result.map_err(|e| advice::call_error(&what_owned, &e)))
    })
    .await
}

fn print_json<T: Serialize>(value: &T) -> Result<(), String> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|e| e.to_string())?);
    Ok(())
}

/// `name (mime)` of a listing line, without what is absent.
fn labelled(name: &str, mime_type: Option<&str>) -> String {
    match mime_type {
        Some(mime) => format!("{name} ({mime})"),
        None => name.to_string(),
    }
}

/// `mcp-ws resources list|read|templates`.
pub async fn resources(command: &ResourcesCommand) -> Result<ExitCode, String> {
    match command {
        ResourcesCommand::List(args) => {
            let resources = request(args, "resources/list", |client| async move {
                let listed = client.list_all_resources().await;
                (client, listed)
            })
            .await?;
            if args.json {
                print_json(&resources)?;
            }
            for resource in resources.iter().filter(|_| !args.json) {
                let label = labelled(&resource.name, resource.mime_type.as_deref());
                let description = resource.description.as_deref().unwrap_or_default();
                println!("{}\t{label}\t{description}", resource.uri);
            }
        }
        ResourcesCommand::Templates(args) => {
            let templates = request(args, "resources/templates/list", |client| async move {
                let listed = client.list_all_resource_templates().await;
                (client, listed)
            })
            .await?;
            if args.json {
                print_json(&templates)?;
            }
            for template in templates.iter().filter(|_| !args.json) {
                let label = labelled(&template.name, template.mime_type.as_deref());
                let description = template.description.as_deref().unwrap_or_default();
                println!("{}\t{label}\t{description}", template.uri_template);
            }
        }
        ResourcesCommand::Read(ReadArgs { client: args, uri }) => {
            let what = format!("resources/read {uri}");
            let read = request(args, &what, |client| async move {
                let read = client.read_resource(uri).await;
                (client, read)
            })
            .await?;
            if args.json {
                print_json(&read)?;
                return Ok(ExitCode::SUCCESS);
            }
            for contents in &read.contents {
                match contents {
                    ResourceContents::Text(text) => println!("{}", text.text),
                    ResourceContents::Blob(blob) => eprintln!(
                        "{}: binary contents ({} base64 characters{}); --json prints them",
                        blob.uri,
                        blob.blob.len(),
                        blob.mime_type.as_deref().map(|m| format!(", {m}")).unwrap_or_default()
                    ),
                    other => {
                        println!("{}", serde_json::to_string(other).map_err(|e| e.to_string())?)
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mcp-ws prompts list|get`.
pub async fn prompts(command: &PromptsCommand) -> Result<ExitCode, String> {
    match command {
        PromptsCommand::List(args) => {
            let prompts = request(args, "prompts/list", |client| async move {
                let listed = client.list_all_prompts().await;
                (client, listed)
            })
            .await?;
            if args.json {
                return print_json(&prompts).map(|()| ExitCode::SUCCESS);
            }
            for prompt in prompts {
                println!("{}\t{}", prompt.name, prompt.description.unwrap_or_default());
                let arguments = prompt.arguments.unwrap_or_default();
                if arguments.is_empty() {
                    println!("    (no arguments)");
                }
                for argument in arguments {
                    let required = if argument.required == Some(true) { " (required)" } else { "" };
                    let description =
                        argument.description.map(|d| format!("  {d}")).unwrap_or_default();
                    println!("    {}: string{required}{description}", argument.name);
                }
            }
        }
        PromptsCommand::Get(PromptGetArgs { client: args, name, arguments }) => {
            let arguments: BTreeMap<String, String> = arguments.iter().cloned().collect();
            let what = format!("prompts/get {name}");
            let prompt = request(args, &what, |client| async move {
                let got = client.get_prompt(name, arguments).await;
                (client, got)
            })
            .await?;
            if args.json {
                return print_json(&prompt).map(|()| ExitCode::SUCCESS);
            }
            if let Some(description) = &prompt.description {
                eprintln!("{description}");
            }
            for message in &prompt.messages {
                let role = serde_json::to_value(&message.role).map_err(|e| e.to_string())?;
                let role = role.as_str().unwrap_or("?").to_string();
                match &message.content {
                    ContentBlock::Text(text) => println!("[{role}] {}", text.text),
                    other => println!(
                        "[{role}] {}",
                        serde_json::to_string(other).map_err(|e| e.to_string())?
                    ),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mcp-ws complete`: the suggestions, one per line.
pub async fn complete(args: &CompleteArgs) -> Result<ExitCode, String> {
    let reference = match (&args.prompt, &args.resource) {
        (Some(name), _) => CompletionReference::Prompt(PromptReference {
            name: name.clone(),
            ..Default::default()
        }),
        (None, Some(uri)) => CompletionReference::ResourceTemplate(ResourceTemplateReference {
            uri: uri.clone(),
            ..Default::default()
        }),
        (None, None) => return Err("complete needs --prompt NAME or --resource TEMPLATE".into()),
    };
    let context = (!args.context.is_empty()).then(|| CompletionContext {
        arguments: Some(args.context.iter().cloned().collect()),
        ..Default::default()
    });
    let params = CompleteParams {
        reference,
        argument: CompletionArgument {
            name: args.argument.clone(),
            value: args.value.clone(),
            ..Default::default()
        },
        context,
        meta: None,
        extra: Default::default(),
    };
    let result = request(&args.client, "completion/complete", |client| async move {
        let completed = client.complete(&params).await;
        (client, completed)
    })
    .await?;
    if args.client.json {
        return print_json(&result).map(|()| ExitCode::SUCCESS);
    }
    for value in &result.completion.values {
        println!("{value}");
    }
    if result.completion.has_more == Some(true) {
        let total = result.completion.total.map(|t| format!(" of {t}")).unwrap_or_default();
        eprintln!("({} shown{total}; there are more)", result.completion.values.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `mcp-ws ping`: `ping` in the legacy era; 2026-07-28 has none, so `server/discover` there.
pub async fn ping(args: &PingArgs) -> Result<ExitCode, String> {
    let args = &args.client;
    let (method, version, took) = request(args, "ping", |client| async move {
        let version = client.protocol_version().unwrap_or(ProtocolVersion::LATEST);
        let method = match version.era() {
            Era::Legacy => methods::PING,
            Era::Modern => methods::SERVER_DISCOVER,
        };
        let started = Instant::now();
        let answer = client.request(method, None, CallOptions::default()).await;
        (client, answer.map(|_| (method, version, started.elapsed())))
    })
    .await?;
    let millis = took.as_secs_f64() * 1000.0;
    if args.json {
        let answer = serde_json::json!({
            "method": method,
            "protocolVersion": version.as_str(),
            "milliseconds": millis,
        });
        return print_json(&answer).map(|()| ExitCode::SUCCESS);
    }
    println!("{} answered {method} in {millis:.1} ms (protocol {version})", args.url);
    Ok(ExitCode::SUCCESS)
}
