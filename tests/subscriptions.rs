//! Subscriptions end to end on loopback, in both eras and on both runtimes: legacy
//! `resources/subscribe` / `resources/unsubscribe` and list changes, 2026-07-28
//! `subscriptions/listen` (acknowledged first, the subscription id on every notification,
//! cancel ends it), the demo's `touch` tool, servers linked by an in-process fan-out, the
//! bounds, and the re-subscribe / re-listen after a reconnect.

use std::sync::Arc;
use std::time::Duration;

use mcp_ws_driver::core::mcp::{Implementation, SubscriptionFilter};
use mcp_ws_driver::core::session::EraPolicy;
use mcp_ws_driver::core::{ProtocolVersion, RawJson};
use mcp_ws_driver::{
    CallError, CallOptions, Client, ClientConfig, ClientEvent, ListKind, LocalBus, Network,
    SubscriptionLimits,
};
use mcp_ws_smol::Smol;
use mcp_ws_tests::{Rt, TestServer, block_on, next_event, server_config, within};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(10);
const LEGACY: EraPolicy = EraPolicy::Legacy(ProtocolVersion::V2025_11_25);
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

fn config(era: EraPolicy) -> ClientConfig {
    ClientConfig::new(Implementation::new("subscriptions-test", "0.0.1")).era(era)
}

async fn client<N: Network>(net: &N, url: &str, era: EraPolicy) -> Client {
    within(net, LIMIT, mcp_ws_driver::connect(net.clone(), url, config(era)))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// The next notification on `events`: its method and params.
async fn next_notification<N: Network>(
    net: &N,
    events: &mut (impl futures_util::Stream<Item = ClientEvent> + Unpin),
) -> (String, Value) {
    next_event(net, LIMIT, events, |event| match event {
        ClientEvent::Notification(n) => {
            let params = n.params.as_ref().map_or(Value::Null, |p| p.parse().unwrap());
            Some((n.method, params))
        }
        _ => None,
    })
    .await
    .expect("a notification in time")
}

fn filter(value: Value) -> SubscriptionFilter {
    serde_json::from_value(value).unwrap()
}

async fn legacy_subscribe_unsubscribe_and_list_changes<N: Network>(net: N, server: &TestServer) {
    let client = client(&net, &server.url, LEGACY).await;
    let capabilities = match client.ready_info().unwrap().peer {
        mcp_ws_driver::core::session::PeerDescription::Server { capabilities, .. } => capabilities,
        other => panic!("not a server: {other:?}"),
    };
    assert_eq!(capabilities.resources.unwrap().subscribe, Some(true));
    let mut events = client.events();
    client.subscribe_resource("demo://readme").await.expect("subscribe");
    let notifier = server.notifier();
    notifier.notify_resource_updated("demo://other");
    notifier.notify_resource_updated("demo://readme");
    // Not subscribed to demo://other: the first notification is the readme's.
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/resources/updated");
    assert_eq!(params, json!({"uri": "demo://readme"}));
    // Legacy sessions get every list change.
    notifier.notify_list_changed(ListKind::Tools);
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/tools/list_changed");
    assert_eq!(params, Value::Null);
    client.unsubscribe_resource("demo://readme").await.expect("unsubscribe");
    notifier.notify_resource_updated("demo://readme");
    notifier.notify_list_changed(ListKind::Prompts);
    // The update after the unsubscribe did not come: the list change is next.
    let (method, _) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/prompts/list_changed");
    client.close().await;
}

async fn modern_listen_acknowledged_ids_and_cancel<N: Network>(net: N, server: &TestServer) {
    let client = client(&net, &server.url, EraPolicy::Modern).await;
    let mut events = client.events();
    let listen = client
        .listen(filter(json!({
            "toolsListChanged": true,
            "resourceSubscriptions": ["demo://readme"]
        })))
        .expect("listen");
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/subscriptions/acknowledged");
    let id = params["_meta"][SUBSCRIPTION_ID].clone();
    assert!(!id.is_null(), "no subscription id: {params}");
    assert_eq!(
        params["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["demo://readme"]})
    );
    let notifier = server.notifier();
    notifier.notify_list_changed(ListKind::Prompts); // not asked for
    notifier.notify_resource_updated("demo://readme");
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/resources/updated");
    assert_eq!(params, json!({"uri": "demo://readme", "_meta": {SUBSCRIPTION_ID: id.clone()}}));
    notifier.notify_list_changed(ListKind::Tools);
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/tools/list_changed");
    assert_eq!(params, json!({"_meta": {SUBSCRIPTION_ID: id.clone()}}));
    // A call goes through while the listen is open.
    let sum = client.call_tool("add", json!({"a": 2, "b": 3})).await.expect("add");
    assert_eq!(sum.joined_text(), "5");
    listen.cancel();
    // A second listen: its acknowledgement comes after the cancel reached the server.
    let _second = client.listen(filter(json!({"promptsListChanged": true}))).expect("listen");
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/subscriptions/acknowledged");
    let second = params["_meta"][SUBSCRIPTION_ID].clone();
    assert_ne!(second, id);
    notifier.notify_resource_updated("demo://readme"); // the cancelled listen's
    notifier.notify_list_changed(ListKind::Prompts);
    let (method, params) = next_notification(&net, &mut events).await;
    assert_eq!(method, "notifications/prompts/list_changed");
    assert_eq!(params["_meta"][SUBSCRIPTION_ID], second);
    client.close().await;
}

fn both_eras(client_rt: Rt, server_rt: Rt) {
    let server = TestServer::start(server_rt, server_config());
    match client_rt {
        Rt::Tokio => block_on(Rt::Tokio, async {
            legacy_subscribe_unsubscribe_and_list_changes(Tokio::new(), &server).await;
            modern_listen_acknowledged_ids_and_cancel(Tokio::new(), &server).await;
        }),
        Rt::Smol => block_on(Rt::Smol, async {
            legacy_subscribe_unsubscribe_and_list_changes(Smol::new(), &server).await;
            modern_listen_acknowledged_ids_and_cancel(Smol::new(), &server).await;
        }),
    }
    server.shutdown();
}

#[test]
fn subscriptions_work_in_both_eras_tokio_client_smol_server() {
    both_eras(Rt::Tokio, Rt::Smol);
}

#[test]
fn subscriptions_work_in_both_eras_smol_client_tokio_server() {
    both_eras(Rt::Smol, Rt::Tokio);
}

#[test]
fn a_touch_on_one_server_reaches_subscribers_of_every_server_on_the_bus() {
    let bus = LocalBus::new();
    let any = "127.0.0.1:0".parse().unwrap();
    let servers: Vec<TestServer> = (0..3)
        .map(|_| {
            let node: Arc<dyn mcp_ws_driver::Fanout> = Arc::new(bus.node());
            TestServer::start_with(Rt::Tokio, server_config(), any, |router| router, Some(node))
        })
        .collect();
    let lonely = TestServer::start(Rt::Tokio, server_config());
    block_on(Rt::Tokio, async {
        let net = Tokio::new();
        let legacy = client(&net, &servers[0].url, LEGACY).await;
        let modern = client(&net, &servers[1].url, EraPolicy::Modern).await;
        let toucher = client(&net, &servers[2].url, EraPolicy::Modern).await;
        let outsider = client(&net, &lonely.url, LEGACY).await;
        let (mut legacy_events, mut modern_events) = (legacy.events(), modern.events());
        let mut outsider_events = outsider.events();
        legacy.subscribe_resource("demo://shared").await.unwrap();
        outsider.subscribe_resource("demo://shared").await.unwrap();
        let _listen = modern.listen(filter(json!({"resourceSubscriptions": ["demo://shared"]})));
        let (method, _) = next_notification(&net, &mut modern_events).await;
        assert_eq!(method, "notifications/subscriptions/acknowledged");
        let touched = toucher.call_tool("touch", json!({"uri": "demo://shared"})).await.unwrap();
        assert_eq!(touched.joined_text(), "touched demo://shared");
        let (method, params) = next_notification(&net, &mut legacy_events).await;
        assert_eq!(
            (method.as_str(), &params["uri"]),
            ("notifications/resources/updated", &json!("demo://shared"))
        );
        let (method, params) = next_notification(&net, &mut modern_events).await;
        assert_eq!(method, "notifications/resources/updated");
        assert_eq!(params["uri"], "demo://shared");
        assert!(
            params["_meta"][SUBSCRIPTION_ID].is_number()
                || params["_meta"][SUBSCRIPTION_ID].is_string()
        );
        // A server not on the bus hears nothing of it, only its own touches.
        outsider.call_tool("touch", json!({"uri": "demo://shared"})).await.unwrap();
        let (_, params) = next_notification(&net, &mut outsider_events).await;
        assert_eq!(params["uri"], "demo://shared");
        let unexpected = next_event(&net, Duration::from_millis(300), &mut outsider_events, |e| {
            matches!(e, ClientEvent::Notification(_)).then_some(e)
        });
        assert_eq!(unexpected.await, None, "the outsider got a notification of another bus");
        for client in [legacy, modern, toucher, outsider] {
            client.close().await;
        }
    });
    for server in servers {
        server.shutdown();
    }
    lonely.shutdown();
}

#[test]
fn subscriptions_past_the_bounds_are_refused_with_invalid_params() {
    let mut config = server_config();
    let mut limits = SubscriptionLimits::default();
    limits.max_resource_uris = 2;
    limits.max_listens = 1;
    config.subscriptions = limits;
    let server = TestServer::start(Rt::Tokio, config);
    block_on(Rt::Tokio, async {
        let net = Tokio::new();
        let legacy = client(&net, &server.url, LEGACY).await;
        legacy.subscribe_resource("demo://1").await.unwrap();
        legacy.subscribe_resource("demo://2").await.unwrap();
        match legacy.subscribe_resource("demo://3").await {
            Err(CallError::Rpc(error)) => {
                assert_eq!(error.code, -32602);
                assert!(error.message.contains("limit 2"), "{}", error.message);
            }
            other => panic!("expected -32602, got {other:?}"),
        }
        // Listening is not a legacy method.
        let listen = legacy.listen(SubscriptionFilter::default()).unwrap();
        match within(&net, LIMIT, listen.ended()).await.expect("answered") {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32601),
            other => panic!("expected -32601, got {other:?}"),
        }
        let modern = client(&net, &server.url, EraPolicy::Modern).await;
        let _first = modern.listen(filter(json!({"toolsListChanged": true}))).unwrap();
        let second = modern.listen(filter(json!({"toolsListChanged": true}))).unwrap();
        match within(&net, LIMIT, second.ended()).await.expect("answered") {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
            other => panic!("expected -32602, got {other:?}"),
        }
        let too_many = modern.listen(filter(json!({"resourceSubscriptions": ["a", "b", "c"]})));
        match within(&net, LIMIT, too_many.unwrap().ended()).await.expect("answered") {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
            other => panic!("expected -32602, got {other:?}"),
        }
        // A subscription request without a uri is invalid params too.
        let raw = RawJson::from_serialize(&json!({})).unwrap();
        match legacy.request("resources/subscribe", Some(raw), CallOptions::default()).await {
            Err(CallError::Rpc(error)) => assert_eq!(error.code, -32602),
            other => panic!("expected -32602, got {other:?}"),
        }
        legacy.close().await;
        modern.close().await;
    });
    server.shutdown();
}

#[test]
fn after_a_reconnect_legacy_subscribes_again_and_modern_listens_again() {
    let server = TestServer::start(Rt::Tokio, server_config());
    let addr = server.addr;
    let url = server.url.clone();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let net = runtime.block_on(async { Tokio::new() });
    let (legacy, modern, _listen, mut legacy_events, mut modern_events, first_id) = runtime
        .block_on(async {
            let legacy = client(&net, &url, LEGACY).await;
            let modern = client(&net, &url, EraPolicy::Modern).await;
            let (legacy_events, mut modern_events) = (legacy.events(), modern.events());
            legacy.subscribe_resource("demo://readme").await.unwrap();
            let listen = modern.listen(filter(json!({"resourceSubscriptions": ["demo://readme"]})));
            let (_, params) = next_notification(&net, &mut modern_events).await;
            let first_id = params["_meta"][SUBSCRIPTION_ID].clone();
            (legacy, modern, listen.unwrap(), legacy_events, modern_events, first_id)
        });
    server.kill();
    let server = TestServer::start_at(Rt::Tokio, server_config(), addr);
    runtime.block_on(async {
        let (method, params) = next_notification(&net, &mut modern_events).await;
        assert_eq!(method, "notifications/subscriptions/acknowledged");
        // The listen went out again on the new connection (as a new request of the new
        // session, whose ids start over: the id may equal the old one).
        let second_id = params["_meta"][SUBSCRIPTION_ID].clone();
        assert!(!second_id.is_null() && !first_id.is_null());
        // The legacy client's subscribe went out on its new session: wait until it is in.
        let subscribed = mcp_ws_tests::eventually(&net, LIMIT, || server.peers().len() == 2).await;
        assert!(subscribed, "both clients reconnected");
        let notifier = server.notifier();
        let mut legacy_got = None;
        for _ in 0..50 {
            notifier.notify_resource_updated("demo://readme");
            let got =
                next_event(&net, Duration::from_millis(100), &mut legacy_events, |e| match e {
                    ClientEvent::Notification(n)
                        if n.method == "notifications/resources/updated" =>
                    {
                        Some(n)
                    }
                    _ => None,
                })
                .await;
            if got.is_some() {
                legacy_got = got;
                break;
            }
        }
        assert!(legacy_got.is_some(), "the legacy client did not subscribe again");
        let (method, params) = next_notification(&net, &mut modern_events).await;
        assert_eq!(method, "notifications/resources/updated");
        assert_eq!(params["_meta"][SUBSCRIPTION_ID], second_id);
        legacy.close().await;
        modern.close().await;
    });
    server.shutdown();
}

#[test]
fn an_open_listen_does_not_hold_up_shutdown_for_its_grace() {
    let mut config = server_config();
    config.shutdown_grace = Duration::from_secs(30);
    let server = TestServer::start(Rt::Tokio, config);
    // The client lives on its own runtime through the server's shutdown.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (modern, listen) = runtime.block_on(async {
        let net = Tokio::new();
        let modern = client(&net, &server.url, EraPolicy::Modern).await;
        let mut events = modern.events();
        let listen = modern.listen(filter(json!({"toolsListChanged": true}))).unwrap();
        let (method, _) = next_notification(&net, &mut events).await;
        assert_eq!(method, "notifications/subscriptions/acknowledged");
        (modern, listen)
    });
    assert_eq!(server.connections().len(), 1);
    let started = std::time::Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited {:?} for a listen",
        started.elapsed()
    );
    drop(listen);
    runtime.block_on(modern.close());
}
