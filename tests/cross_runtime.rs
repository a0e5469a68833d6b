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
            // The name, or a confirmation of anything else (the demo's `confirm` form).
            let content = match params.message.as_str() {
                "Your name?" => json!({"name": "Ada"}),
                _ => json!({"confirm": true}),
            };
            let content = content.as_object().cloned();
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
            "ask_all",
            "ask_model",
            "ask_twice",
            "ask_user",
            "confirm",
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
    // Arguments the schema refuses: from 2025-11-25 on a tool execution error naming the field.
    let bad = client.call_tool("add", json!({"a": "two"})).await.expect("a tool error result");
    assert!(bad.failed(), "{bad:?}");
    assert!(text_of(&bad).contains("argument \"a\": expected number"), "{}", text_of(&bad));
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
        // -32002 in the legacy era, -32602 (SEP-2164) in 2026-07-28; data.uri in both.
        Err(CallError::Rpc(error)) => {
            assert_eq!(error.code, if expect == Era::Modern { -32602 } else { -32002 });
            let data: serde_json::Value = error.data.expect("data").parse().expect("json");
            assert_eq!(data["uri"], "demo://missing");
        }
        other => panic!("a missing resource must get an error, got {other:?}"),
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

    // What a handler asks of the client: the same handler code and the same answers in both
    // eras (server requests in the legacy era, input_required round trips in 2026-07-28).
    let runs_before = server.probe.asking_runs.load(Ordering::SeqCst);
    let roots = client.call_tool("list_roots", json!({})).await.expect("list_roots");
    let model = client.call_tool("ask_model", json!({})).await.expect("ask_model");
    let user = client.call_tool("ask_user", json!({})).await.expect("ask_user");
    let confirm =
        client.call_tool("confirm", json!({"question": "Deploy?"})).await.expect("confirm");
    let all = client.call_tool("ask_all", json!({})).await.expect("ask_all");
    let twice = client.call_tool("ask_twice", json!({})).await.expect("ask_twice");
    assert_eq!(text_of(&roots), ROOT_URI);
    assert_eq!(text_of(&model), "test-model said 4 (to 2+2?)");
    assert_eq!(text_of(&user), r#"accept {"name":"Ada"}"#);
    assert_eq!(text_of(&confirm), "confirmed: Deploy?");
    assert_eq!(text_of(&all), r#"1 test-model "Ada""#);
    assert_eq!(text_of(&twice), "Ada: accept");
    assert!(![&roots, &model, &user, &confirm, &all, &twice].iter().any(|r| r.failed()));
    let runs = server.probe.asking_runs.load(Ordering::SeqCst) - runs_before;
    let pong = client.call_tool("ping_client", json!({})).await.expect("ping_client");
    match expect {
        Era::Legacy => {
            // One run each: the handler awaits the client's answers.
            assert_eq!(runs, 2);
            assert_eq!(text_of(&pong), "pong");
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
            // Re-invoked once per round: ask_all asks everything in one round (2 runs),
            // ask_twice in two (3 runs).
            assert_eq!(runs, 5);
            assert!(pong.failed());
            assert!(text_of(&pong).contains("only in the legacy era"), "{}", text_of(&pong));
            assert!(client.ping().await.is_err(), "the modern era has no MCP ping");
            modern_round_checks(&client).await;
        }
    }

    client.close().await;
    assert!(!client.is_running());
    assert_eq!(
        client.call_tool("add", json!({"a": 1, "b": 1})).await.unwrap_err(),
        CallError::Disconnected
    );
}

/// 2026-07-28 only: the rounds seen raw (the opt-out), and request states the server must
/// refuse (forged, replayed against other params, an answer of the wrong shape) or accept (the
/// same state again; answers to unasked keys ignored; answers without a state).
async fn modern_round_checks(client: &mcp_ws_driver::Client) {
    let call = |params: serde_json::Value, options: CallOptions| {
        let raw = RawJson::from_serialize(&params).expect("json");
        client.request("tools/call", Some(raw), options)
    };
    let first = call(json!({"name": "list_roots"}), CallOptions::default().raw_input_required())
        .await
        .expect("the raw first round");
    let first: serde_json::Value = first.parse().expect("json");
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(first["inputRequests"]["roots"]["method"], "roots/list");
    assert_eq!(first["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-ws-demo");
    let state = first["requestState"].as_str().expect("a sealed state").to_string();
    let roots = json!({"roots": {"roots": [{"uri": "file:///elsewhere"}]}});
    let raw = CallOptions::default().raw_input_required();

    // The genuine state with the answer completes, and may be sent again (stateless server).
    for _ in 0..2 {
        let done = call(
            json!({"name": "list_roots", "inputResponses": roots, "requestState": state}),
            raw,
        )
        .await
        .expect("a genuine retry");
        let done: serde_json::Value = done.parse().expect("json");
        assert_eq!(done["resultType"], "complete");
        assert_eq!(done["content"][0]["text"], "file:///elsewhere");
    }
    // The state alone, without the answer: asked again.
    let again = call(json!({"name": "list_roots", "requestState": state}), raw).await.unwrap();
    let again: serde_json::Value = again.parse().expect("json");
    assert_eq!(again["resultType"], "input_required");
    // An answer under a key nothing asked is ignored (SEP-2322): asked again.
    let unasked = json!({"name": "list_roots", "inputResponses": {"made-up": {"roots": []}},
                         "requestState": state});
    let again: serde_json::Value = call(unasked, raw).await.unwrap().parse().expect("json");
    assert_eq!(again["resultType"], "input_required");
    // Without a state (optional in SEP-2322), an answer counts when the handler asks under
    // its key and it has that question's shape.
    let stateless = json!({"name": "list_roots", "inputResponses": roots});
    let done: serde_json::Value = call(stateless, raw).await.unwrap().parse().expect("json");
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["content"][0]["text"], "file:///elsewhere");

    // Refused with -32602 before the handler runs.
    let mut forged = state.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let refused = [
        json!({"name": "list_roots", "inputResponses": roots, "requestState": forged}),
        json!({"name": "confirm", "arguments": {"question": "x"}, "inputResponses": roots,
               "requestState": state}),
        json!({"name": "list_roots", "inputResponses": {"roots": {"action": "accept"}},
               "requestState": state}),
    ];
    for params in refused {
        match call(params.clone(), raw).await {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602, "{params}"),
            other => panic!("{params} must get -32602, got {other:?}"),
        }
    }
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

/// 2026-07-28 rounds across a reconnect and at their bounds, against `server`:
/// - the connection is cut while the client answers a round: the retryable call's next round
///   waits for the next connection and is re-issued there (new id, same answers and state) and
///   the call completes;
/// - a client allowing one round fails a two-round call with `InputRounds`;
/// - a client with no elicitation handler (so no elicitation capability) gets -32021.
async fn rounds_across_a_reconnect_and_at_their_bounds<N: Network>(net: N, server: &TestServer) {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::{Arc, Mutex};
    let connections: Arc<Mutex<Vec<mcp_ws_driver::ConnectionHandle>>> = Arc::default();
    let cut_once = Arc::new(AtomicBool::new(false));
    let cut_connections = Arc::new(AtomicUsize::new(0));
    let (to_cut, cut, counted) = (connections.clone(), cut_once.clone(), cut_connections.clone());
    let peer_requests = PeerRequests::default().elicitation(move |params: ElicitParams, _| {
        // Cut the connection the first time the user is asked, before answering.
        if !cut.swap(true, Ordering::SeqCst) {
            for connection in to_cut.lock().unwrap().iter() {
                counted.fetch_add(1, Ordering::SeqCst);
                connection.close(mcp_ws_driver::core::CloseReason::new(
                    mcp_ws_driver::core::CloseCode::GOING_AWAY,
                    "cut by the test",
                ));
            }
        }
        let content = match params.message.as_str() {
            "Your name?" => json!({"name": "Ada"}),
            _ => json!({"confirm": true}),
        };
        async move {
            Ok(ElicitResult {
                action: ElicitAction::Accept,
                content: content.as_object().cloned(),
                meta: None,
                extra: Default::default(),
            })
        }
    });
    let config = ClientConfig::new(Implementation::new("rounds-client", "0.0.1"))
        .era(EraPolicy::Modern)
        .peer_requests(peer_requests.clone());
    let client = within(&net, LIMIT, mcp_ws_driver::connect(net.clone(), &server.url, config))
        .await
        .expect("connect in time")
        .expect("connect");
    // A 2026-07-28 client is ready without a round trip, so the server may not have
    // registered the connection yet when `connect` returns: wait until it has.
    assert!(
        eventually(&net, LIMIT, || !server.connections().is_empty()).await,
        "the server registers the connection"
    );
    *connections.lock().unwrap() = server.connections();
    let mut events = client.events();
    let twice = within(
        &net,
        LIMIT,
        client.call_tool_with("ask_twice", json!({}), CallOptions::default().retryable()),
    )
    .await
    .expect("the call ends in time")
    .expect("ask_twice across a reconnect");
    assert_eq!(text_of(&twice), "Ada: accept");
    assert!(cut_once.load(Ordering::SeqCst));
    assert_eq!(cut_connections.load(Ordering::SeqCst), 1, "the cut closed the client's connection");
    let reconnected = next_event(&net, LIMIT, &mut events, |event| match event {
        ClientEvent::Ready(_) => Some(()),
        _ => None,
    })
    .await;
    assert!(reconnected.is_some(), "the client reconnected during the rounds");
    client.close().await;

    let mut one_round = ClientConfig::new(Implementation::new("rounds-client", "0.0.1"))
        .era(EraPolicy::Modern)
        .peer_requests(peer_requests)
        .reconnect(None);
    one_round.input_rounds = 1;
    let client =
        mcp_ws_driver::connect(net.clone(), &server.url, one_round).await.expect("connect");
    match client.call_tool("ask_twice", json!({})).await {
        Err(CallError::InputRounds(message)) => {
            assert!(message.contains("after 1 rounds"), "{message}")
        }
        other => panic!("a second round must exceed the limit, got {other:?}"),
    }
    client.close().await;

    let unanswering = ClientConfig::new(Implementation::new("rounds-client", "0.0.1"))
        .era(EraPolicy::Modern)
        .reconnect(None);
    let client =
        mcp_ws_driver::connect(net.clone(), &server.url, unanswering).await.expect("connect");
    // A client with no elicitation handler declares no elicitation capability: the server
    // does not ask it (2026-07-28) but answers -32021 naming the capability.
    match client.call_tool("confirm", json!({"question": "Deploy?"})).await {
        Err(CallError::Rpc(error)) => {
            assert_eq!(error.code, -32021, "{error:?}");
            let data: serde_json::Value = error.data.expect("data").parse().expect("json");
            assert_eq!(data["requiredCapabilities"], json!({"elicitation": {}}));
        }
        other => panic!("an undeclared capability must fail the call, got {other:?}"),
    }
    client.close().await;
}

#[test]
fn input_rounds_survive_a_reconnect_and_are_bounded_on_tokio_and_smol() {
    for (client_rt, server_rt) in [(Rt::Tokio, Rt::Smol), (Rt::Smol, Rt::Tokio)] {
        let server = TestServer::start(server_rt, server_config());
        match client_rt {
            Rt::Tokio => block_on(Rt::Tokio, async {
                rounds_across_a_reconnect_and_at_their_bounds(Tokio::new(), &server).await
            }),
            Rt::Smol => block_on(
                Rt::Smol,
                rounds_across_a_reconnect_and_at_their_bounds(Smol::new(), &server),
            ),
        }
        server.shutdown();
    }
}

/// Two nodes that share a state key accept each other's request states (a load balancer may
/// send the retry anywhere); a node with another key refuses them with -32602.
async fn nodes_sharing_a_state_key<N: Network>(net: N, first: &str, twin: &str, other: &str) {
    let connect = |url: String| {
        let config = client_config(EraPolicy::Modern).reconnect(None);
        let net = net.clone();
        async move { mcp_ws_driver::connect(net, &url, config).await }
    };
    let (a, b, c) = (
        connect(first.to_string()).await.expect("a"),
        connect(twin.to_string()).await.expect("b"),
        connect(other.to_string()).await.expect("c"),
    );
    let raw = CallOptions::default().raw_input_required();
    let params = |value: serde_json::Value| Some(RawJson::from_serialize(&value).expect("json"));
    let asked = a.request("tools/call", params(json!({"name": "list_roots"})), raw).await.unwrap();
    let asked: serde_json::Value = asked.parse().expect("json");
    let retry = json!({
        "name": "list_roots",
        "inputResponses": {"roots": {"roots": [{"uri": "file:///srv/project"}]}},
        "requestState": asked["requestState"],
    });
    let done = b.request("tools/call", params(retry.clone()), raw).await.expect("the twin");
    let done: serde_json::Value = done.parse().expect("json");
    assert_eq!(done["content"][0]["text"], "file:///srv/project");
    match c.request("tools/call", params(retry), raw).await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
        other => panic!("a node with another key must refuse the state, got {other:?}"),
    }
    for client in [a, b, c] {
        client.close().await;
    }
}

#[test]
fn nodes_sharing_a_state_key_verify_each_others_states_on_tokio_and_smol() {
    let shared = |secret: &[u8]| server_config().with_state_secret(secret).expect("a key");
    let first = TestServer::start(Rt::Tokio, shared(b"one key for every node here"));
    let twin = TestServer::start(Rt::Smol, shared(b"one key for every node here"));
    let other = TestServer::start(Rt::Tokio, shared(b"another key, another cluster"));
    let urls = (first.url.clone(), twin.url.clone(), other.url.clone());
    block_on(Rt::Tokio, async {
        nodes_sharing_a_state_key(Tokio::new(), &urls.0, &urls.1, &urls.2).await
    });
    block_on(Rt::Smol, nodes_sharing_a_state_key(Smol::new(), &urls.1, &urls.0, &urls.2));
    for server in [first, twin, other] {
        server.shutdown();
    }
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
