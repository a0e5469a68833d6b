//! Pagination of the four list methods and per-request log levels, on loopback: tokio and smol
//! clients against tokio and smol servers, each body run in the legacy era (2025-11-25) and in
//! the modern era (2026-07-28).
//!
//! - Pages: the router serves pages of two; a walk by hand visits every item once, in order,
//!   and ends; `list_all_*` follow the cursors to the same lists; a cursor that is not one, or
//!   one from another list, gets -32602.
//! - Log levels: a tool logs at debug, info and warning. In the legacy era
//!   `logging/setLevel(warning)` leaves only the warning; in 2026-07-28 a request naming
//!   `warning` in `_meta` gets only the warning while a concurrent request naming nothing gets
//!   no log message at all, and `logging/setLevel` does not exist.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::core::mcp::meta::LOG_LEVEL_KEY;
use mcp_ws_driver::core::mcp::{
    CallToolParams, CallToolResult, GetPromptResult, LoggingLevel, Prompt, Resource,
    ResourceTemplate, Tool,
};
use mcp_ws_driver::core::session::EraPolicy;
use mcp_ws_driver::core::{Era, ProtocolVersion, RawJson};
use mcp_ws_driver::{CallError, CallOptions, Client, ClientConfig, ClientEvent, Network, Router};
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Rt, TestServer, block_on, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(10);
const PAGE: usize = 2;

/// The test router with pages of two, five resources, three templates, five prompts, and
/// `log_tagged`, which logs `"<tag> debug"`, `"<tag> info"` and `"<tag> warning"`.
fn paged(router: Router) -> Router {
    let mut router = router.page_size(PAGE);
    for n in 1..=4 {
        let resource = Resource {
            uri: format!("demo://extra/{n}"),
            name: format!("extra {n}"),
            ..Default::default()
        };
        router = router.text_resource(resource, format!("extra {n}"));
    }
    for n in 1..=2 {
        let template = ResourceTemplate {
            uri_template: format!("demo://more{n}/{{text}}"),
            name: format!("more {n}"),
            ..Default::default()
        };
        router = router
            .resource_template(template, |_uri, _vars, _ctx| async { Ok(Default::default()) });
    }
    for n in 1..=4 {
        let prompt = Prompt { name: format!("extra_{n}"), ..Default::default() };
        router = router.prompt_def(prompt, |_args, _ctx| async { Ok(GetPromptResult::default()) });
    }
    let log_tagged = Tool { name: "log_tagged".into(), ..Default::default() };
    router.tool_def(log_tagged, |args: serde_json::Value, context| async move {
        let tag = args["tag"].as_str().unwrap_or("?").to_string();
        for level in [LoggingLevel::Debug, LoggingLevel::Info, LoggingLevel::Warning] {
            let data = json!(format!("{tag} {}", level.as_str()));
            context
                .log(level, Some("tests"), data)
                .await
                .map_err(|e| mcp_ws_driver::ToolError::msg(e.to_string()))?;
        }
        Ok(CallToolResult::text("logged"))
    })
}

fn era_policy(era: Era) -> EraPolicy {
    match era {
        Era::Legacy => EraPolicy::Legacy(ProtocolVersion::V2025_11_25),
        Era::Modern => EraPolicy::Modern,
    }
}

async fn connect<N: Network>(net: &N, server: &TestServer, era: Era) -> Client {
    let config = ClientConfig::new(mcp_ws_driver::core::mcp::Implementation::new("pages", "0.0.1"))
        .era(era_policy(era))
        .reconnect(None);
    let client = within(net, LIMIT, mcp_ws_driver::connect(net.clone(), &server.url, config))
        .await
        .expect("connect in time")
        .expect("connect");
    assert_eq!(client.ready_info().expect("ready").era, era);
    client
}

fn invalid_params(outcome: Result<impl std::fmt::Debug, CallError>, what: &str) -> String {
    match outcome {
        Err(CallError::Rpc(error)) if error.code == -32602 => error.message,
        other => panic!("{what} must get -32602, got {other:?}"),
    }
}

/// Walks `tools/list` page by page, checking each page's size and the cache members of the
/// era; returns the names in the order served and the cursors seen.
async fn walk_tools(client: &Client, era: Era) -> (Vec<String>, Vec<String>) {
    let (mut names, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor = None;
    for _ in 0..100 {
        let page = client.list_tools(cursor.clone()).await.expect("a page of tools");
        assert!(page.tools.len() <= PAGE, "a page of {} tools", page.tools.len());
        let expected_ttl = (era == Era::Modern).then_some(0);
        assert_eq!(page.ttl_ms, expected_ttl, "ttlMs in the {era:?} era");
        names.extend(page.tools.into_iter().map(|t| t.name));
        match page.next_cursor {
            Some(next) => {
                assert_eq!(names.len() % PAGE, 0, "only the last page may be short");
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => return (names, cursors),
        }
    }
    panic!("tools/list did not end within 100 pages");
}

async fn pagination<N: Network>(net: N, server: &TestServer, era: Era) {
    let client = connect(&net, server, era).await;

    // A walk by hand: every tool once, in pages of two, ending.
    let (walked, cursors) = walk_tools(&client, era).await;
    assert!(walked.len() > 2 * PAGE, "the test router must need several pages: {walked:?}");
    assert_eq!(cursors.len(), walked.len().div_ceil(PAGE) - 1);
    let mut unique = walked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), walked.len(), "a tool was served twice: {walked:?}");
    assert!(walked.iter().any(|n| n == "log_tagged") && walked.iter().any(|n| n == "add"));

    // list_all_* follow the cursors of all four lists.
    let all: Vec<String> =
        client.list_all_tools().await.expect("all tools").into_iter().map(|t| t.name).collect();
    assert_eq!(all, walked);
    let resources = client.list_all_resources().await.expect("all resources");
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["demo://readme", "demo://extra/1", "demo://extra/2", "demo://extra/3", "demo://extra/4"]
    );
    let first = client.list_resources(None).await.expect("first page of resources");
    assert_eq!((first.resources.len(), first.next_cursor.is_some()), (PAGE, true));
    let templates = client.list_all_resource_templates().await.expect("all templates");
    let uri_templates: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert_eq!(uri_templates, ["demo://echo/{text}", "demo://more1/{text}", "demo://more2/{text}"]);
    let prompts = client.list_all_prompts().await.expect("all prompts");
    let prompt_names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(prompt_names, ["greet", "extra_1", "extra_2", "extra_3", "extra_4"]);

    // Invalid cursors get -32602, on every list.
    let message = invalid_params(client.list_tools(Some("garbage!".into())).await, "garbage");
    assert!(message.contains("invalid cursor"), "{message}");
    invalid_params(client.list_resources(Some(String::new())).await, "an empty cursor");
    invalid_params(client.list_resource_templates(Some("AAAA".into())).await, "a short cursor");
    let tools_cursor = Some(cursors[0].clone());
    let message = invalid_params(client.list_prompts(tools_cursor).await, "a tools cursor");
    assert!(message.contains("list changed"), "{message}");
    let not_text = RawJson::from_serialize(&json!({ "cursor": 5 })).expect("params");
    let refused = client.request("tools/list", Some(not_text), CallOptions::default()).await;
    invalid_params(refused, "a cursor that is not a string");
    // The connection still works after the refusals.
    assert_eq!(
        client.list_tools(Some(cursors[0].clone())).await.expect("page 2").tools.len(),
        PAGE
    );
    client.close().await;
}

/// Calls `log_tagged` with `tag`, naming `level` in `_meta` when given.
async fn call_logged(client: &Client, tag: &str, level: Option<LoggingLevel>) {
    let mut params = CallToolParams {
        name: "log_tagged".into(),
        arguments: json!({ "tag": tag }).as_object().cloned(),
        ..Default::default()
    };
    if let Some(level) = level {
        let mut meta = mcp_ws_driver::core::mcp::JsonObject::new();
        mcp_ws_driver::core::mcp::meta::set_log_level(&mut meta, &level);
        params.meta = Some(meta);
    }
    let raw = RawJson::from_serialize(&params).expect("params");
    assert!(raw.get().contains(LOG_LEVEL_KEY) == params.meta.is_some());
    let result = client.request("tools/call", Some(raw), CallOptions::default()).await;
    let result: CallToolResult = result.expect("log_tagged").parse().expect("a call result");
    assert_eq!(result.joined_text(), "logged");
}

async fn set_level(client: &Client, level: &str) -> Result<RawJson, CallError> {
    let params = RawJson::from_serialize(&json!({ "level": level })).expect("params");
    client.request("logging/setLevel", Some(params), CallOptions::default()).await
}

async fn log_levels<N: Network>(net: N, server: &TestServer, era: Era) {
    let client = connect(&net, server, era).await;
    let mut events = client.events();
    match era {
        Era::Legacy => {
            set_level(&client, "warning").await.expect("setLevel");
        }
        Era::Modern => match set_level(&client, "warning").await {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32601, "{error:?}"),
            other => panic!("2026-07-28 has no logging/setLevel, got {other:?}"),
        },
    }
    // A asks for warning; B, at the same time, names no level.
    futures_util::future::join(
        call_logged(&client, "A", Some(LoggingLevel::Warning)),
        call_logged(&client, "B", None),
    )
    .await;
    // C asks for everything (legacy: through setLevel again); its last entry ends the wait.
    if era == Era::Legacy {
        set_level(&client, "debug").await.expect("setLevel debug");
    }
    call_logged(&client, "C", Some(LoggingLevel::Debug)).await;
    let mut entries: Vec<String> = Vec::new();
    while entries.last().map(String::as_str) != Some("C warning") {
        let event = within(&net, LIMIT, events.next()).await.flatten().expect("a log entry");
        if let ClientEvent::Notification(n) = event {
            if n.method == "notifications/message" {
                let params: serde_json::Value = n.params.expect("params").parse().expect("json");
                entries.push(params["data"].as_str().expect("text data").to_string());
            }
        }
    }
    let of = |tag: &str| -> Vec<&str> {
        entries.iter().map(String::as_str).filter(|e| e.starts_with(tag)).collect()
    };
    assert_eq!(of("C "), ["C debug", "C info", "C warning"], "{entries:?}");
    assert_eq!(of("A "), ["A warning"], "{entries:?}");
    match era {
        // The connection's level applies to B as to A.
        Era::Legacy => assert_eq!(of("B "), ["B warning"], "{entries:?}"),
        // No level named: no log message for B.
        Era::Modern => assert!(of("B ").is_empty(), "{entries:?}"),
    }
    client.close().await;
}

fn case(client_rt: Rt, server_rt: Rt) {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let server = TestServer::start_with(server_rt, server_config(), any_port, paged, None);
    for era in [Era::Legacy, Era::Modern] {
        match client_rt {
            Rt::Tokio => block_on(Rt::Tokio, async {
                pagination(Tokio::new(), &server, era).await;
                log_levels(Tokio::new(), &server, era).await;
            }),
            Rt::Smol => block_on(Rt::Smol, async {
                pagination(Smol::new(), &server, era).await;
                log_levels(Smol::new(), &server, era).await;
            }),
        }
    }
    server.shutdown();
}

#[test]
fn tokio_client_with_tokio_server_pages_and_levels_in_both_eras() {
    case(Rt::Tokio, Rt::Tokio);
}

#[test]
fn smol_client_with_smol_server_pages_and_levels_in_both_eras() {
    case(Rt::Smol, Rt::Smol);
}

#[test]
fn tokio_client_with_smol_server_pages_and_levels_in_both_eras() {
    case(Rt::Tokio, Rt::Smol);
}

#[test]
fn smol_client_with_tokio_server_pages_and_levels_in_both_eras() {
    case(Rt::Smol, Rt::Tokio);
}
