//! Unit tests of single session rules, fed by hand with literal times.

use std::time::Duration;

use super::*;
use crate::mcp::{Implementation, LoggingLevel};

fn info(name: &str) -> Implementation {
    Implementation { name: name.into(), version: "1".into(), ..Default::default() }
}

fn raw(text: &str) -> RawJson {
    RawJson::from_string(text.to_owned()).unwrap()
}

fn t(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn server_config() -> SessionConfig {
    SessionConfig::server(info("srv"))
}

fn legacy_client_config() -> SessionConfig {
    let mut config = SessionConfig::client(info("cli"));
    config.role = Role::Client {
        capabilities: Default::default(),
        era: EraPolicy::Legacy(ProtocolVersion::V2025_11_25),
    };
    config
}

fn drain(session: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| session.poll_action()).collect()
}

fn texts(actions: &[Action]) -> Vec<serde_json::Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendText(t) => Some(serde_json::from_str(t).unwrap()),
            _ => None,
        })
        .collect()
}

fn events(actions: Vec<Action>) -> Vec<Event> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn feed(session: &mut Session, now: Instant, text: &str) -> Vec<Action> {
    session.handle_payload(now, Payload::Text(text.as_bytes()));
    drain(session)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// A legacy server session that has completed the handshake.
fn ready_server() -> Session {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(&mut server, t(0), INIT);
    feed(&mut server, t(0), INITIALIZED);
    server
}

/// A legacy client session that has completed the handshake.
fn ready_client(config: SessionConfig) -> Session {
    let mut client = Session::new(config, t(0)).unwrap();
    let sent = texts(&drain(&mut client));
    assert_eq!(sent[0]["method"], "initialize");
    let id = sent[0]["id"].clone();
    let answer = serde_json::json!({"jsonrpc":"2.0","id":id,"result":{
        "protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}});
    let actions = feed(&mut client, t(1), &answer.to_string());
    assert!(events(actions).iter().any(|e| matches!(e, Event::Ready(_))));
    client
}

#[test]
fn server_answers_requests_before_initialize_with_an_error() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let actions = feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#);
    let sent = texts(&actions);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], "a");
    assert_eq!(sent[0]["error"]["code"], -32600);
    assert!(events(actions).is_empty());
}

#[test]
fn ping_is_answered_with_an_empty_object_in_any_phase() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let sent = texts(&feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#));
    assert_eq!(sent, vec![serde_json::json!({"jsonrpc":"2.0","id":9,"result":{}})]);
    let mut client = ready_client(legacy_client_config());
    let sent = texts(&feed(
        &mut client,
        t(2),
        r#"{"jsonrpc":"2.0","id":"p","method":"ping","params":{"_meta":{"progressToken":1}}}"#,
    ));
    assert_eq!(sent, vec![serde_json::json!({"jsonrpc":"2.0","id":"p","result":{}})]);
}

#[test]
fn server_negotiates_the_clients_version_and_reports_ready_on_initialized() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let sent = texts(&feed(&mut server, t(0), INIT));
    assert_eq!(sent[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(sent[0]["result"]["serverInfo"]["name"], "srv");
    assert!(server.ready_info().is_none());
    let evs = events(feed(&mut server, t(1), INITIALIZED));
    let Event::Ready(ready) = &evs[0] else { panic!("{evs:?}") };
    assert_eq!((ready.era, ready.version), (Era::Legacy, ProtocolVersion::V2025_06_18));
}

#[test]
fn a_second_initialize_is_refused() {
    let mut server = ready_server();
    let sent = texts(&feed(&mut server, t(1), &INIT.replace("\"id\":0", "\"id\":1")));
    assert_eq!(sent[0]["error"]["code"], -32600);
    assert_eq!(sent[0]["id"], 1);
}

#[test]
fn a_server_without_legacy_versions_answers_initialize_with_the_supported_list() {
    let mut config = server_config();
    config.versions = vec![ProtocolVersion::V2026_07_28];
    let mut server = Session::new(config, t(0)).unwrap();
    let sent = texts(&feed(&mut server, t(0), INIT));
    assert_eq!(sent[0]["error"]["code"], -32602);
    assert_eq!(sent[0]["error"]["data"]["supported"], serde_json::json!(["2026-07-28"]));
    assert_eq!(sent[0]["error"]["data"]["requested"], "2025-06-18");
}

#[test]
fn a_request_reusing_an_id_in_progress_gets_an_error_and_the_first_stays_open() {
    let mut server = ready_server();
    let first = feed(
        &mut server,
        t(1),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"a"}}"#,
    );
    assert_eq!(events(first).len(), 1);
    let second = feed(
        &mut server,
        t(2),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"b"}}"#,
    );
    let sent = texts(&second);
    assert_eq!(sent[0]["error"]["code"], -32600);
    assert_eq!(sent[0]["id"], 5);
    assert!(events(second).is_empty());
    assert!(server.respond(RequestId::from(5i64), Ok(raw("{}"))).is_ok());
}

#[test]
fn a_cancelled_incoming_request_becomes_an_event_and_its_late_answer_is_suppressed() {
    let mut server = ready_server();
    feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{}}"#);
    let evs = events(feed(
        &mut server,
        t(2),
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x","reason":"bored"}}"#,
    ));
    assert_eq!(
        evs,
        vec![Event::Cancelled { id: RequestId::from("x"), reason: Some("bored".into()) }]
    );
    assert_eq!(
        server.respond(RequestId::from("x"), Ok(raw("{}"))),
        Err(SessionError::UnknownRequest(RequestId::from("x")))
    );
    assert!(drain(&mut server).is_empty());
}

#[test]
fn too_many_concurrent_incoming_requests_get_an_error() {
    let mut config = server_config();
    config.max_concurrent_incoming = 2;
    let mut server = Session::new(config, t(0)).unwrap();
    feed(&mut server, t(0), INIT);
    feed(&mut server, t(0), INITIALIZED);
    for id in 1..=2 {
        let text = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call"}}"#);
        assert_eq!(events(feed(&mut server, t(1), &text)).len(), 1);
    }
    let sent = texts(&feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#));
    assert_eq!(sent[0]["error"]["code"], -32603);
    assert_eq!(sent[0]["id"], 3);
}

#[test]
fn too_many_pending_outgoing_requests_are_refused_without_sending() {
    let mut config = legacy_client_config();
    config.max_pending_outgoing = 3;
    let mut client = ready_client(config);
    for _ in 0..3 {
        client.send_request(t(2), "tools/call", None, RequestOptions::default()).unwrap();
    }
    drain(&mut client);
    assert_eq!(
        client.send_request(t(2), "tools/call", None, RequestOptions::default()),
        Err(SessionError::TooManyPending { limit: 3 })
    );
    assert!(drain(&mut client).is_empty());
}

#[test]
fn the_malformed_budget_closes_the_connection_with_1008() {
    let mut config = server_config();
    config.malformed_budget = 2;
    let mut server = Session::new(config, t(0)).unwrap();
    for _ in 0..2 {
        let actions = feed(&mut server, t(1), "{nope");
        assert_eq!(texts(&actions)[0]["error"]["code"], -32700);
        assert!(!server.is_closed());
    }
    let actions = feed(&mut server, t(1), "{nope");
    let close = actions.iter().find_map(|a| match a {
        Action::Close(reason) => Some(reason.code),
        _ => None,
    });
    assert_eq!(close, Some(CloseCode::POLICY_VIOLATION));
    assert!(server.is_closed());
}

#[test]
fn a_binary_frame_closes_the_connection_with_1003() {
    let mut server = ready_server();
    server.handle_payload(t(1), Payload::Binary(b"{}"));
    let actions = drain(&mut server);
    assert!(matches!(&actions[1], Action::Close(r) if r.code == CloseCode::UNSUPPORTED_DATA));
    assert!(server.is_closed());
}

#[test]
fn batches_are_refused_unless_the_version_is_2025_03_26() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#;
    let mut server = ready_server(); // negotiated 2025-06-18
    let sent = texts(&feed(&mut server, t(1), batch));
    assert_eq!(sent[0]["error"]["code"], -32600);
    assert_eq!(sent[0]["id"], serde_json::Value::Null);

    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(&mut server, t(0), &INIT.replace("2025-06-18", "2025-03-26"));
    feed(&mut server, t(0), INITIALIZED);
    let evs = events(feed(&mut server, t(1), batch));
    assert_eq!(evs.len(), 2);
    assert!(evs.iter().all(|e| matches!(e, Event::Request(_))));
}

#[test]
fn progress_is_routed_to_its_request_and_non_increasing_progress_is_dropped() {
    let mut client = ready_client(legacy_client_config());
    let options = RequestOptions { progress: true, ..Default::default() };
    let id =
        client.send_request(t(2), "tools/call", Some(raw(r#"{"name":"slow"}"#)), options).unwrap();
    let sent = texts(&drain(&mut client));
    let token = sent[0]["params"]["_meta"]["progressToken"].clone();
    assert_eq!(token, serde_json::to_value(&id).unwrap());
    let progress = |p: f64| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{token},"progress":{p},"total":10}}}}"#
        )
    };
    let mut seen = Vec::new();
    for p in [1.0, 2.0, 2.0, 1.5, 3.0] {
        for e in events(feed(&mut client, t(3), &progress(p))) {
            if let Event::Progress { id: pid, params } = e {
                assert_eq!(pid, id);
                seen.push(params.progress);
            }
        }
    }
    assert_eq!(seen, vec![1.0, 2.0, 3.0]);
}

#[test]
fn progress_resets_the_timeout_but_never_past_the_maximum_total() {
    let mut client = ready_client(legacy_client_config());
    let options = RequestOptions {
        timeout: Some(Duration::from_millis(100)),
        progress: true,
        reset_timeout_on_progress: true,
        max_total_timeout: Some(Duration::from_millis(250)),
    };
    let id = client.send_request(t(0), "tools/call", None, options).unwrap();
    drain(&mut client);
    assert_eq!(client.poll_timeout(), Some(t(100)));
    let progress = |p: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":{id},"progress":{p}}}}}"#
        )
    };
    feed(&mut client, t(90), &progress(1));
    assert_eq!(client.poll_timeout(), Some(t(190)));
    feed(&mut client, t(180), &progress(2));
    assert_eq!(client.poll_timeout(), Some(t(250)), "capped by the maximum total");
    client.handle_timeout(t(249));
    assert!(events(drain(&mut client)).is_empty(), "early handle_timeout is a no-op");
    client.handle_timeout(t(250));
    let actions = drain(&mut client);
    assert_eq!(texts(&actions)[0]["method"], "notifications/cancelled");
    assert_eq!(events(actions), vec![Event::RequestEnded { id, outcome: Outcome::TimedOut }]);
}

#[test]
fn a_response_to_an_unknown_id_is_reported_not_fatal() {
    let mut client = ready_client(legacy_client_config());
    let evs = events(feed(&mut client, t(2), r#"{"jsonrpc":"2.0","id":999,"result":{}}"#));
    assert!(matches!(&evs[..], [Event::UnmatchedResponse(Message::Result(_))]));
    assert!(!client.is_closed());
}

#[test]
fn after_close_commands_fail_and_nothing_more_is_emitted() {
    let mut client = ready_client(legacy_client_config());
    let id = client.send_request(t(2), "tools/call", None, RequestOptions::default()).unwrap();
    drain(&mut client);
    client.close(CloseReason::new(CloseCode::NORMAL, "bye")).unwrap();
    let actions = drain(&mut client);
    assert!(matches!(actions[0], Action::Close(_)));
    assert_eq!(
        events(actions),
        vec![
            Event::RequestEnded { id, outcome: Outcome::Disconnected },
            Event::Closed {
                reason: CloseReason::new(CloseCode::NORMAL, "bye"),
                by: ClosedBy::Application
            },
        ]
    );
    assert_eq!(
        client.send_request(t(3), "x", None, RequestOptions::default()),
        Err(SessionError::Closed)
    );
    assert_eq!(client.send_notification("x", None), Err(SessionError::Closed));
    assert_eq!(
        client.close(CloseReason::new(CloseCode::NORMAL, "again")),
        Err(SessionError::Closed)
    );
    feed(&mut client, t(4), r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    client.handle_timeout(t(1_000_000));
    assert!(drain(&mut client).is_empty());
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn a_client_configured_to_reject_early_requests_refuses_them_before_ready() {
    let mut config = legacy_client_config();
    config.before_ready = BeforeReady::Reject;
    let mut client = Session::new(config, t(0)).unwrap();
    assert_eq!(
        client.send_request(t(0), "tools/list", None, RequestOptions::default()),
        Err(SessionError::NotReady)
    );
}

#[test]
fn a_client_closes_when_initialize_fails() {
    let mut client = Session::new(legacy_client_config(), t(0)).unwrap();
    drain(&mut client);
    let actions = feed(
        &mut client,
        t(1),
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no"}}"#,
    );
    assert!(matches!(&actions[0], Action::Close(r) if r.code == CloseCode::PROTOCOL_ERROR));
    assert!(client.is_closed());
}

#[test]
fn a_modern_server_refuses_missing_and_unsupported_versions() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let sent = texts(&feed(
        &mut server,
        t(0),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01"}}}"#,
    ));
    assert_eq!(sent[0]["error"]["code"], -32022);
    assert_eq!(sent[0]["error"]["data"]["requested"], "2099-01-01");
    assert_eq!(sent[0]["error"]["data"]["supported"], serde_json::json!(["2026-07-28"]));
    assert!(server.ready_info().is_none());
}

#[test]
fn progress_can_only_be_reported_for_requests_that_asked_for_it() {
    let mut server = ready_server();
    feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#);
    assert_eq!(
        server.notify_progress(&RequestId::from(1i64), 1.0, None, None),
        Err(SessionError::NoProgressToken(RequestId::from(1i64)))
    );
    feed(
        &mut server,
        t(1),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":{"progressToken":"tok"}}}"#,
    );
    server
        .notify_progress(&RequestId::from(2i64), 1.0, Some(4.0), Some("a quarter".into()))
        .unwrap();
    let sent = texts(&drain(&mut server));
    assert_eq!(sent[0]["method"], "notifications/progress");
    assert_eq!(sent[0]["params"]["progressToken"], "tok");
    assert_eq!(sent[0]["params"]["total"], 4.0);
}

#[test]
fn servers_cannot_send_requests_in_the_modern_era() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(
        &mut server,
        t(0),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
    );
    assert!(matches!(
        server.send_request(t(1), "roots/list", None, RequestOptions::default()),
        Err(SessionError::NotAllowed(_))
    ));
}

#[test]
fn params_that_are_not_objects_are_refused() {
    let mut client = ready_client(legacy_client_config());
    assert_eq!(
        client.send_request(t(1), "x", Some(raw("[1]")), RequestOptions::default()),
        Err(SessionError::NotAnObject)
    );
    assert_eq!(
        client.send_request(t(1), "x", Some(raw(r#"{"_meta":1}"#)), RequestOptions::default()),
        Err(SessionError::NotAnObject)
    );
}

#[test]
fn the_heartbeat_asks_for_a_ping_after_a_quiet_interval_and_closes_after_idle_timeout() {
    let mut config = legacy_client_config();
    config.ping_interval = Some(Duration::from_secs(20));
    config.idle_timeout = Some(Duration::from_secs(60));
    let mut client = ready_client(config); // last inbound at t(1)
    assert_eq!(client.poll_timeout(), Some(t(20_001)));
    client.handle_timeout(t(20_001));
    assert_eq!(drain(&mut client), vec![Action::SendPing]);
    client.handle_transport_activity(t(20_050)); // the pong
    assert_eq!(client.poll_timeout(), Some(t(40_050)));
    client.handle_timeout(t(40_050));
    assert_eq!(drain(&mut client), vec![Action::SendPing]);
    client.handle_timeout(t(60_050));
    assert_eq!(drain(&mut client), vec![Action::SendPing]);
    client.handle_timeout(t(80_049));
    assert!(drain(&mut client).is_empty());
    client.handle_timeout(t(80_050));
    let actions = drain(&mut client);
    assert!(matches!(&actions[0], Action::Close(r) if r.code == CloseCode::GOING_AWAY));
}

#[test]
fn a_legacy_client_can_ping_over_mcp_and_a_modern_one_cannot() {
    let mut client = ready_client(legacy_client_config());
    let id = client.send_request(t(2), "ping", None, RequestOptions::default()).unwrap();
    let sent = texts(&drain(&mut client));
    assert_eq!(sent[0]["method"], "ping");
    let mut server = ready_server();
    let answer = texts(&feed(&mut server, t(3), &serde_json::to_string(&sent[0]).unwrap()));
    assert_eq!(answer[0]["result"], serde_json::json!({}));
    let evs = events(feed(&mut client, t(4), &serde_json::to_string(&answer[0]).unwrap()));
    assert_eq!(evs, vec![Event::RequestEnded { id, outcome: Outcome::Result(raw("{}")) }]);

    let mut config = SessionConfig::client(info("cli"));
    config.role = Role::Client { capabilities: Default::default(), era: EraPolicy::Modern };
    let mut modern = Session::new(config, t(0)).unwrap();
    assert!(matches!(
        modern.send_request(t(1), "ping", None, RequestOptions::default()),
        Err(SessionError::NotAllowed(_))
    ));
}

#[test]
fn a_modern_result_that_is_not_an_object_still_ends_the_request_with_an_internal_error() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(
        &mut server,
        t(0),
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    );
    assert_eq!(server.incoming_requests(), 1);
    assert_eq!(
        server.respond(RequestId::from(1i64), Ok(raw("[1,2]"))),
        Err(SessionError::NotAnObject)
    );
    let sent = texts(&drain(&mut server));
    assert_eq!(sent.len(), 1, "exactly one answer: {sent:?}");
    assert_eq!(
        (sent[0]["id"].as_i64(), sent[0]["error"]["code"].as_i64()),
        (Some(1), Some(-32603))
    );
    assert_eq!(server.incoming_requests(), 0, "the request must have ended");
    // A second answer to the same id is refused: the first one counted.
    assert_eq!(
        server.respond(RequestId::from(1i64), Ok(raw("{}"))),
        Err(SessionError::UnknownRequest(RequestId::from(1i64)))
    );
}

fn initialize_answered(answer: &str) -> Session {
    let mut client = Session::new(legacy_client_config(), t(0)).unwrap();
    drain(&mut client);
    feed(&mut client, t(1), answer);
    assert!(client.is_closed());
    client
}

#[test]
fn a_failed_lifecycle_says_whether_the_version_was_refused_or_initialize_failed() {
    let refused = initialize_answered(
        r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"1999-01-01","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#,
    );
    assert_eq!(refused.lifecycle_failure(), Some(LifecycleFailure::VersionRefused));
    let errored =
        initialize_answered(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"busy"}}"#);
    assert_eq!(errored.lifecycle_failure(), Some(LifecycleFailure::InitializeError));
    let garbled = initialize_answered(r#"{"jsonrpc":"2.0","id":1,"result":{"nope":true}}"#);
    assert_eq!(garbled.lifecycle_failure(), Some(LifecycleFailure::InvalidInitializeResult));

    let mut config = legacy_client_config();
    (config.ping_interval, config.idle_timeout) = (None, None);
    let mut silent = Session::new(config, t(0)).unwrap();
    drain(&mut silent);
    for _ in 0..1000 {
        let Some(deadline) = silent.poll_timeout() else { break };
        silent.handle_timeout(deadline);
        drain(&mut silent);
    }
    assert!(silent.is_closed());
    assert_eq!(silent.lifecycle_failure(), Some(LifecycleFailure::InitializeTimedOut));

    let ready = ready_client(legacy_client_config());
    assert_eq!(ready.lifecycle_failure(), None);
}

const MODERN_META: &str = r#""io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}"#;

fn modern_request(id: i64, method: &str, extra_meta: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{"_meta":{{{MODERN_META}{extra_meta}}}}}}}"#
    )
}

fn requests(actions: Vec<Action>) -> Vec<IncomingRequest> {
    events(actions)
        .into_iter()
        .filter_map(|e| match e {
            Event::Request(request) => Some(request),
            _ => None,
        })
        .collect()
}

#[test]
fn modern_list_and_read_results_get_cache_members_and_other_results_do_not() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(&mut server, t(0), &modern_request(1, "tools/list", ""));
    feed(&mut server, t(0), &modern_request(2, "tools/call", ""));
    feed(&mut server, t(0), &modern_request(3, "resources/read", ""));
    server.respond(RequestId::from(1i64), Ok(raw(r#"{"tools":[]}"#))).unwrap();
    server.respond(RequestId::from(2i64), Ok(raw(r#"{"content":[]}"#))).unwrap();
    // A handler that chose its own cache members keeps them.
    let own = r#"{"contents":[],"ttlMs":5000,"cacheScope":"public"}"#;
    server.respond(RequestId::from(3i64), Ok(raw(own))).unwrap();
    let sent = texts(&drain(&mut server));
    assert_eq!(
        (&sent[0]["result"]["ttlMs"], &sent[0]["result"]["cacheScope"]),
        (&0.into(), &"private".into())
    );
    assert_eq!(sent[0]["result"]["resultType"], "complete");
    assert!(
        sent[1]["result"].get("ttlMs").is_none() && sent[1]["result"].get("cacheScope").is_none()
    );
    assert_eq!(
        (&sent[2]["result"]["ttlMs"], &sent[2]["result"]["cacheScope"]),
        (&5000.into(), &"public".into())
    );
    let discover = modern_request(4, "server/discover", "");
    let sent = texts(&feed(&mut server, t(1), &discover));
    assert_eq!(sent[0]["result"]["ttlMs"], 0);
    assert_eq!(sent[0]["result"]["cacheScope"], "private");
}

#[test]
fn legacy_list_results_get_no_cache_members() {
    let mut server = ready_server();
    feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    server.respond(RequestId::from(1i64), Ok(raw(r#"{"tools":[]}"#))).unwrap();
    let sent = texts(&drain(&mut server));
    assert_eq!(sent[0]["result"], serde_json::json!({"tools": []}));
}

#[test]
fn a_modern_request_reports_its_era_and_log_level_and_a_legacy_one_no_level() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let with_level = r#","io.modelcontextprotocol/logLevel":"warning""#;
    let seen = requests(feed(&mut server, t(0), &modern_request(1, "tools/call", with_level)));
    assert_eq!(
        (seen[0].era, seen[0].log_level.clone()),
        (Era::Modern, Some(LoggingLevel::Warning))
    );
    let seen = requests(feed(&mut server, t(0), &modern_request(2, "tools/call", "")));
    assert_eq!((seen[0].era, seen[0].log_level.clone()), (Era::Modern, None));
    // A level that is not a string does not hide the rest of `_meta` (the progress token).
    let odd = r#","io.modelcontextprotocol/logLevel":7,"progressToken":"p""#;
    let seen = requests(feed(&mut server, t(0), &modern_request(3, "tools/call", odd)));
    assert_eq!((seen[0].log_level.clone(), seen[0].wants_progress), (None, true));

    let mut legacy = ready_server();
    let text = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/logLevel":"error"}}}"#;
    let seen = requests(feed(&mut legacy, t(1), text));
    assert_eq!((seen[0].era, seen[0].log_level.clone()), (Era::Legacy, None));
}

#[test]
fn a_modern_client_stamps_its_configured_log_level_unless_the_request_names_one() {
    let mut config = SessionConfig::client(info("cli"));
    config.role = Role::Client { capabilities: Default::default(), era: EraPolicy::Modern };
    config.log_level = Some(LoggingLevel::Info);
    let mut client = Session::new(config, t(0)).unwrap();
    drain(&mut client);
    let own = raw(r#"{"_meta":{"io.modelcontextprotocol/logLevel":"error"}}"#);
    client.send_request(t(0), "tools/list", None, Default::default()).unwrap();
    client.send_request(t(0), "tools/call", Some(own), Default::default()).unwrap();
    let sent = texts(&drain(&mut client));
    let levels: Vec<&serde_json::Value> =
        sent.iter().map(|m| &m["params"]["_meta"]["io.modelcontextprotocol/logLevel"]).collect();
    assert_eq!(levels, [&serde_json::json!("info"), &serde_json::json!("error")]);
}

/// The one error a session sent, as (id, code).
fn one_error(actions: &[Action]) -> (serde_json::Value, serde_json::Value) {
    let sent = texts(actions);
    assert_eq!(sent.len(), 1, "{sent:?}");
    (sent[0]["id"].clone(), sent[0]["error"]["code"].clone())
}

#[test]
fn a_ping_stamped_2026_07_28_is_method_not_found_and_an_unstamped_one_on_a_modern_connection_too() {
    // A fresh connection: the ping's own stamp says 2026-07-28, which has no ping.
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let actions = feed(&mut server, t(0), &modern_request(7, "ping", ""));
    assert_eq!(one_error(&actions), (serde_json::json!(7), serde_json::json!(-32601)));
    assert!(server.ready_info().is_none(), "a refused ping decides no era");
    // A connection already speaking 2026-07-28: an unstamped ping is not a legacy ping either.
    feed(&mut server, t(0), &modern_request(8, "tools/list", ""));
    let actions = feed(&mut server, t(1), r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#);
    assert_eq!(one_error(&actions), (serde_json::json!(9), serde_json::json!(-32601)));
    // A legacy connection: a ping stamped 2026-07-28 is still a 2026-07-28 request.
    let mut legacy = ready_server();
    let actions = feed(&mut legacy, t(1), &modern_request(10, "ping", ""));
    assert_eq!(one_error(&actions), (serde_json::json!(10), serde_json::json!(-32601)));
    let sent = texts(&feed(&mut legacy, t(1), r#"{"jsonrpc":"2.0","id":11,"method":"ping"}"#));
    assert_eq!(sent, vec![serde_json::json!({"jsonrpc":"2.0","id":11,"result":{}})]);
}

#[test]
fn an_initialize_stamped_2026_07_28_is_method_not_found_and_negotiates_nothing() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    // As the conformance suite sends it: only the 2026-07-28 stamps.
    let actions = feed(&mut server, t(0), &modern_request(1, "initialize", ""));
    assert_eq!(one_error(&actions), (serde_json::json!(1), serde_json::json!(-32601)));
    // With legacy params as well: the stamp decides the era, not the params.
    let stamped_init =
        INIT.replace(r#""params":{"#, &format!(r#""params":{{"_meta":{{{MODERN_META}}},"#));
    let actions = feed(&mut server, t(0), &stamped_init);
    assert_eq!(one_error(&actions), (serde_json::json!(0), serde_json::json!(-32601)));
    assert!(server.ready_info().is_none());
    // The connection is still free to speak the legacy era.
    let sent = texts(&feed(&mut server, t(1), INIT));
    assert_eq!(sent[0]["result"]["protocolVersion"], "2025-06-18");
}

#[test]
fn an_initialize_on_a_connection_speaking_2026_07_28_is_method_not_found() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(&mut server, t(0), &modern_request(1, "tools/list", ""));
    let actions = feed(&mut server, t(1), INIT);
    assert_eq!(one_error(&actions), (serde_json::json!(0), serde_json::json!(-32601)));
}

#[test]
fn a_ping_or_initialize_stamped_with_an_unknown_version_gets_the_unsupported_version_error() {
    for method in ["ping", "initialize"] {
        let mut server = Session::new(server_config(), t(0)).unwrap();
        let request = modern_request(3, method, "").replace("2026-07-28", "v999.0.0");
        let sent = texts(&feed(&mut server, t(0), &request));
        assert_eq!(sent.len(), 1, "{method}: {sent:?}");
        assert_eq!(sent[0]["error"]["code"], -32022, "{method}");
        assert_eq!(sent[0]["error"]["data"]["requested"], "v999.0.0", "{method}");
        assert_eq!(sent[0]["error"]["data"]["supported"], serde_json::json!(["2026-07-28"]));
    }
}

#[test]
fn a_server_whose_lifecycle_does_not_finish_in_time_closes_with_1008() {
    // `initialize` answered, `initialized` never sent.
    let mut server = Session::new(server_config(), t(0)).unwrap();
    feed(&mut server, t(0), INIT);
    assert_eq!(server.poll_timeout(), Some(t(10_000)), "the lifecycle deadline (10 s by default)");
    server.handle_timeout(t(9_999));
    assert!(!server.is_closed());
    server.handle_timeout(t(10_000));
    let closed = events(drain(&mut server));
    assert!(server.is_closed());
    assert!(
        closed.iter().any(|e| matches!(e, Event::Closed { reason, .. }
            if reason.code == CloseCode::POLICY_VIOLATION && reason.reason.contains("lifecycle"))),
        "{closed:?}"
    );
    // A session that became ready in time is not closed by it.
    let mut ready = ready_server();
    ready.handle_timeout(t(10_000));
    assert!(!ready.is_closed());
    // Nor one whose deadline is configured off.
    let mut config = server_config();
    config.lifecycle_timeout = None;
    (config.idle_timeout, config.ping_interval) = (None, None);
    let mut patient = Session::new(config, t(0)).unwrap();
    patient.handle_timeout(t(3_600_000));
    assert!(!patient.is_closed());
}

#[test]
fn notifications_held_before_ready_are_bounded() {
    let mut config = server_config();
    config.max_pending_outgoing = 4;
    config.lifecycle_timeout = None;
    let mut server = Session::new(config, t(0)).unwrap();
    for _ in 0..4 {
        server.send_notification("notifications/tools/list_changed", None).expect("held");
    }
    assert_eq!(
        server.send_notification("notifications/tools/list_changed", None),
        Err(SessionError::TooManyPending { limit: 4 })
    );
}

#[test]
fn a_modern_request_carries_its_own_client_capabilities_and_a_legacy_one_none() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let with_sampling = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}}}"#;
    let first = requests(feed(&mut server, t(0), with_sampling));
    let second = requests(feed(&mut server, t(0), &modern_request(2, "tools/call", "")));
    let sampling = first[0].client_capabilities.as_ref().expect("declared");
    assert!(sampling.sampling.is_some() && sampling.elicitation.is_none());
    let bare = second[0].client_capabilities.as_ref().expect("declared, empty");
    assert!(bare.sampling.is_none());

    let mut legacy = ready_server();
    let asked =
        requests(feed(&mut legacy, t(1), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
    assert_eq!(asked[0].client_capabilities, None);
}

#[test]
fn server_discover_needs_the_version_and_capabilities_stamps_but_not_client_info() {
    let mut server = Session::new(server_config(), t(0)).unwrap();
    let version = r#""io.modelcontextprotocol/protocolVersion":"2026-07-28""#;
    let capabilities = r#""io.modelcontextprotocol/clientCapabilities":{}"#;
    let info = r#""io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}"#;
    let discover = |id: u32, meta: Option<String>| match meta {
        None => {
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"server/discover","params":{{}}}}"#)
        }
        Some(meta) => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"server/discover","params":{{"_meta":{{{meta}}}}}}}"#
        ),
    };
    for (id, meta) in [
        (101, None),
        (102, Some(format!("{info},{capabilities}"))),
        (104, Some(format!("{version},{info}"))),
    ] {
        let sent = texts(&feed(&mut server, t(0), &discover(id, meta)));
        assert_eq!(sent[0]["id"], id);
        assert_eq!(sent[0]["error"]["code"], -32602, "{id}: {}", sent[0]);
    }
    let unsupported =
        format!(r#""io.modelcontextprotocol/protocolVersion":"v999.0.0",{capabilities},{info}"#);
    let sent = texts(&feed(&mut server, t(0), &discover(301, Some(unsupported))));
    assert_eq!(sent[0]["error"]["code"], -32022);
    assert_eq!(sent[0]["error"]["data"]["requested"], "v999.0.0");
    assert_eq!(sent[0]["error"]["data"]["supported"], serde_json::json!(["2026-07-28"]));
    let sent =
        texts(&feed(&mut server, t(0), &discover(105, Some(format!("{version},{capabilities}")))));
    assert_eq!(sent[0]["result"]["supportedVersions"], serde_json::json!(["2026-07-28"]));
    assert_eq!(sent[0]["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "srv");
}
