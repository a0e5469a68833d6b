//! The cross-runtime matrix on loopback: tokio and smol clients against tokio and smol servers,
//! each pair in the legacy era (2025-11-25) and the modern era (2026-07-28), plus dual-era
//! auto-selection. Every case runs the same scenario: handshake, tools, resources, prompts,
//! progress, cancellation, a server notification and (legacy) server-to-client requests.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_cli::demo::README_TEXT;
use mcp_ws_driver::core::mcp::common::Role as MessageRole;
use mcp_ws_driver::core::mcp::{
    ContentBlock, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, Implementation, ResourceContents, Root, SamplingContent,
};
use mcp_ws_driver::core::session::{EraPolicy, PeerDescription};
use mcp_ws_driver::core::{Era, ProtocolVersion, RawJson};
use mcp_ws_driver::{CallError, CallOptions, ClientConfig, ClientEvent, Network, PeerRequests};
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Rt, TestServer, block_on, eventually, next_event, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const ROOT_URI: &str = "file:///tmp/mcp-ws-tests";
const LIMIT: Duration = Duration::from_secs(10);

fn client_config(era: EraPolicy) -> ClientConfig {
    let roots =
        vec![Root { uri: ROOT_URI.into(), name: Some("tests".into()), ..Default::default() }];
    let peer_requests = PeerRequests::default()
        .roots(roots)
        .sampling(|params: CreateMessageParams, _context| async move {
            let asked = match params.messages[0].content.blocks() {
                [ContentBlock::Text(text)] => text.text.clone(),
                _ => String::new(),
            };
            Ok(CreateMessageResult {
                role: MessageRole::Assistant,
                content: SamplingContent::Single(ContentBlock::text(format!("4 (to {asked})"))),
                model: "test-model".into(),
                stop_reason: None,
                meta: None,
                extra: Default::default(),
            })
        })
        .elicitation(|params: ElicitParams, _context| async move {
            assert_eq!(params.message, "Your name?");
            let content = json!({"name": "Ada"}).as_object().cloned();
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content,
                meta: None,
                extra: Default::default(),
            })
        });
    ClientConfig::new(Implementation::new("matrix-client", "0.0.1"))
        .era(era)
        .peer_requests(peer_requests)
}

fn text_of(result: &mcp_ws_driver::core::mcp::CallToolResult) -> String {
    result.joined_text()
}

/// The scenario every matrix case runs. `expect` is the era the session must settle on.
async fn scenario<N: Network>(net: N, server: &TestServer, era: EraPolicy, expect: Era) {
    let client =
        within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &server.url, client_config(era)))
            .await
            .expect("connect in time")
            .expect("connect");
    let info = client.ready_info().expect("ready after connect");
    assert_eq!(info.era, expect);
    let expected_version = match expect {
        Era::Legacy => ProtocolVersion::V2025_11_25,
        Era::Modern => ProtocolVersion::V2026_07_28,
    };
    assert_eq!(client.protocol_version(), Some(expected_version));
    if expect == Era::Legacy {
        assert_eq!(client.server_info().expect("serverInfo").name, "mcp-ws-demo");
    }

    // Tools.
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add",
            "ask_model",
            "ask_user",
            "divide",
            "echo",
            "hold",
            "list_roots",
            "log_three",
            "multiply",
            "ping_client",
            "slow_count",
            "subtract",
            "touch"
        ]
    );
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!((text_of(&sum), sum.failed()), ("5".to_string(), false));
    let quotient = client.call_tool("divide", json!({"a": 1, "b": 4})).await.expect("divide");
    assert_eq!(text_of(&quotient), "0.25");
    let by_zero = client.call_tool("divide", json!({"a": 1, "b": 0})).await.expect("divide by 0");
    assert!(by_zero.failed());
    assert_eq!(text_of(&by_zero), "division by zero");
    let echo = client.call_tool("echo", json!({"text": "héllo ✓"})).await.expect("echo");
    assert_eq!(text_of(&echo), "héllo ✓");
    match client.call_tool("add", json!({"a": "two"})).await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
        other => panic!("bad arguments must get -32602, got {other:?}"),
    }
    match client.call_tool("no_such_tool", json!({})).await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
        other => panic!("an unknown tool must get -32602, got {other:?}"),
    }

    // Resources and prompts.
    let resources = client.list_all_resources().await.expect("resources/list");
    assert_eq!(resources.iter().map(|r| r.uri.as_str()).collect::<Vec<_>>(), ["demo://readme"]);
    let readme = client.read_resource("demo://readme").await.expect("read readme");
    match &readme.contents[..] {
        [ResourceContents::Text(text)] => assert_eq!(text.text, README_TEXT),
        other => panic!("unexpected contents {other:?}"),
    }
    let templated = client.read_resource("demo://echo/bonjour").await.expect("read template");
    match &templated.contents[..] {
        [ResourceContents::Text(text)] => assert_eq!(text.text, "bonjour"),
        other => panic!("unexpected contents {other:?}"),
    }
    match client.read_resource("demo://missing").await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code, -32002),
        other => panic!("a missing resource must get -32002, got {other:?}"),
    }
    let templates = client.list_resource_templates(None).await.expect("templates");
    assert_eq!(templates.resource_templates[0].uri_template, "demo://echo/{text}");
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert_eq!(prompts[0].name, "greet");
    let greet = client
        .get_prompt("greet", BTreeMap::from([("name".to_string(), "Ada".to_string())]))
        .await
        .expect("prompts/get");
    match &greet.messages[0].content {
        ContentBlock::Text(text) => assert_eq!(text.text, "Say hello to Ada."),
        other => panic!("unexpected prompt content {other:?}"),
    }
    match client.get_prompt("greet", BTreeMap::new()).await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
        other => panic!("a missing prompt argument must get -32602, got {other:?}"),
    }

    // Progress.
    let (call, progress) = client
        .call_tool_with_progress(
            "slow_count",
            json!({"steps": 3, "interval_ms": 10}),
            CallOptions::default(),
        )
        .expect("arguments");
    let (result, reports) = futures_util::future::join(call, progress.collect::<Vec<_>>()).await;
    assert_eq!(text_of(&result.expect("slow_count")), "counted to 3");
    let values: Vec<f64> = reports.iter().map(|p| p.progress).collect();
    assert_eq!(values, [1.0, 2.0, 3.0]);
    assert_eq!(reports[2].total, Some(3.0));
    assert_eq!(reports[0].message.as_deref(), Some("step 1"));

    // Cancellation by dropping the call: the server's handler is dropped too.
    let started = server.probe.started.load(Ordering::SeqCst);
    let cancelled = server.probe.cancelled.load(Ordering::SeqCst);
    {
        let call = client.call_tool("hold", json!({}));
        let timed_out = within(&net, Duration::from_millis(300), call).await;
        assert!(timed_out.is_none(), "hold must not finish by itself");
    }
    assert!(
        eventually(&net, LIMIT, || server.probe.started.load(Ordering::SeqCst) > started).await,
        "the hold handler never started"
    );
    assert!(
        eventually(&net, LIMIT, || server.probe.cancelled.load(Ordering::SeqCst) > cancelled).await,
        "the server did not cancel the dropped call's handler"
    );

    // A per-call timeout ends the call with TimedOut and cancels the handler as well.
    let cancelled = server.probe.cancelled.load(Ordering::SeqCst);
    let timed = client
        .call_tool_with("hold", json!({}), CallOptions::timeout(Duration::from_millis(100)))
        .await;
    assert_eq!(timed.unwrap_err(), CallError::TimedOut);
    assert!(
        eventually(&net, LIMIT, || server.probe.cancelled.load(Ordering::SeqCst) > cancelled).await,
        "the server did not cancel the timed-out call's handler"
    );

    // A server notification reaches the client's event stream.
    let mut events = client.events();
    assert_eq!(server.notify_all("notifications/tools/list_changed").await, 1);
    let seen = next_event(&net, LIMIT, &mut events, |event| match event {
        ClientEvent::Notification(n) => Some(n.method),
        _ => None,
    })
    .await;
    assert_eq!(seen.as_deref(), Some("notifications/tools/list_changed"));

    // Server-to-client requests: answered by the client in the legacy era; impossible in the
    // modern era, where the tool reports the refusal as a tool error.
    let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
    let pong = client.call_tool("ping_client", json!({})).await.expect("ping_client");
    let model = client.call_tool("ask_model", json!({})).await.expect("ask_model");
    let user = client.call_tool("ask_user", json!({})).await.expect("ask_user");
    match expect {
        Era::Legacy => {
            assert_eq!(text_of(&roots), ROOT_URI);
            assert_eq!(text_of(&pong), "pong");
            assert_eq!(text_of(&model), "test-model said 4 (to 2+2?)");
            assert_eq!(text_of(&user), r#"accept {"name":"Ada"}"#);
            client.ping().await.expect("MCP ping in the legacy era");
            // logging/setLevel filters what a handler logs on this connection.
            let mut events = client.events();
            let level = RawJson::from_string(r#"{"level":"info"}"#.into()).expect("json");
            client
                .request("logging/setLevel", Some(level), CallOptions::default())
                .await
                .expect("setLevel");
            let logged = client.call_tool("log_three", json!({})).await.expect("log_three");
            assert_eq!(text_of(&logged), "logged");
            let mut entries = Vec::new();
            while entries.len() < 2 {
                let event = within(&net, LIMIT, events.next()).await.flatten().expect("an event");
                if let ClientEvent::Notification(n) = event {
                    if n.method == "notifications/message" {
                        let params: serde_json::Value =
                            n.params.expect("params").parse().expect("json");
                        entries.push(params["data"].as_str().unwrap_or_default().to_string());
                    }
                }
            }
            assert_eq!(entries, ["info entry", "warning entry"], "debug is below the level set");
            // The handlers declared their capabilities to the server.
            let peers = server.peers();
            let PeerDescription::Client { capabilities, .. } = &peers[0].peer else {
                panic!("the server's peer is a client")
            };
            assert!(capabilities.roots.is_some());
            assert!(capabilities.sampling.is_some());
            assert!(capabilities.elicitation.is_some());
        }
        Era::Modern => {
            assert!(roots.failed() && pong.failed() && model.failed() && user.failed());
            assert!(client.ping().await.is_err(), "the modern era has no MCP ping");
        }
    }

    client.close().await;
    assert!(!client.is_running());
    assert_eq!(
        client.call_tool("add", json!({"a": 1, "b": 1})).await.unwrap_err(),
        CallError::Disconnected
    );
}

fn case(client_rt: Rt, server_rt: Rt, era: EraPolicy, expect: Era) {
    let server = TestServer::start(server_rt, server_config());
    match client_rt {
        Rt::Tokio => {
            block_on(Rt::Tokio, async { scenario(Tokio::new(), &server, era, expect).await })
        }
        Rt::Smol => block_on(Rt::Smol, scenario(Smol::new(), &server, era, expect)),
    }
    server.shutdown();
}

const LEGACY: EraPolicy = EraPolicy::Legacy(ProtocolVersion::V2025_11_25);

#[test]
fn tokio_client_with_tokio_server_in_both_eras() {
    case(Rt::Tokio, Rt::Tokio, LEGACY, Era::Legacy);
    case(Rt::Tokio, Rt::Tokio, EraPolicy::Modern, Era::Modern);
}

#[test]
fn smol_client_with_smol_server_in_both_eras() {
    case(Rt::Smol, Rt::Smol, LEGACY, Era::Legacy);
    case(Rt::Smol, Rt::Smol, EraPolicy::Modern, Era::Modern);
}

#[test]
fn tokio_client_with_smol_server_in_both_eras() {
    case(Rt::Tokio, Rt::Smol, LEGACY, Era::Legacy);
    case(Rt::Tokio, Rt::Smol, EraPolicy::Modern, Era::Modern);
}

#[test]
fn smol_client_with_tokio_server_in_both_eras() {
    case(Rt::Smol, Rt::Tokio, LEGACY, Era::Legacy);
    case(Rt::Smol, Rt::Tokio, EraPolicy::Modern, Era::Modern);
}

#[test]
fn a_dual_era_client_settles_on_the_modern_era_with_our_server() {
    let dual = EraPolicy::DualEra { fallback: ProtocolVersion::V2025_11_25 };
    case(Rt::Tokio, Rt::Smol, dual.clone(), Era::Modern);
    case(Rt::Smol, Rt::Tokio, dual, Era::Modern);
}

/// Serves a router whose `panic` tool panics, on `rt`, and calls it twice from a client on the
/// same runtime: each call gets -32603 at once, and the connection keeps working.
async fn a_panicking_handler_is_answered<N: Network>(net: N, url: String) {
    let config = client_config(LEGACY).reconnect(None);
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &url, config))
        .await
        .expect("connect in time")
        .expect("connect");
    for _ in 0..2 {
        let answer = within(&net, LIMIT, client.call_tool("panic", json!({})))
            .await
            .expect("a panicking handler must still answer");
        match answer {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32603, "{error:?}"),
            other => panic!("expected -32603, got {other:?}"),
        }
    }
    let sum = client.call_tool("add", json!({"a": 1, "b": 2})).await.expect("add after panics");
    assert_eq!(text_of(&sum), "3");
    client.close().await;
}

fn panicking_handler_case(rt: Rt) {
    use mcp_ws_driver::core::mcp::{CallToolResult, Tool};
    use mcp_ws_driver::{Router, Server};
    let panicking = Tool { name: "panic".into(), ..Default::default() };
    let with_panic = |router: Router| {
        router.tool_def(panicking.clone(), |_: serde_json::Value, _| async {
            if true {
                panic!("a handler bug (expected by the test)");
            }
            Ok(CallToolResult::text("unreachable"))
        })
    };
    match rt {
        Rt::Tokio => block_on(Rt::Tokio, async {
            let net = Tokio::new();
            let router = with_panic(mcp_ws_cli::demo::router(net.clone()));
            let server = Server::new(net.clone(), router, server_config());
            let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
            let url = listening.url();
            let accept = tokio::spawn(listening.run());
            a_panicking_handler_is_answered(net, url).await;
            server.shutdown().await;
            accept.abort();
        }),
        Rt::Smol => block_on(Rt::Smol, async {
            let net = Smol::new();
            let router = with_panic(mcp_ws_cli::demo::router(net.clone()));
            let server = Server::new(net.clone(), router, server_config());
            let listening = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("bind");
            let url = listening.url();
            let accept = smol::spawn(listening.run());
            a_panicking_handler_is_answered(net, url).await;
            server.shutdown().await;
            drop(accept);
        }),
    }
}

#[test]
fn a_panicking_handler_answers_internal_error_on_tokio() {
    panicking_handler_case(Rt::Tokio);
}

#[test]
fn a_panicking_handler_answers_internal_error_on_smol() {
    panicking_handler_case(Rt::Smol);
}
