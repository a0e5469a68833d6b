//! Literal scenarios of the bridge, with explicit instants.

use std::time::Duration;

use super::*;
use crate::reconnect::Jitter;

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn config() -> BridgeConfig {
    BridgeConfig {
        reconnect: ReconnectConfig {
            jitter: Jitter::None,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(100),
            max_attempts: Some(3),
            ..ReconnectConfig::default()
        },
        ping_interval: None,
        idle_timeout: None,
        reinitialize_timeout: Duration::from_secs(2),
        max_queue_wait: Duration::from_secs(5),
        drain_after_eof: Duration::from_secs(1),
        ..BridgeConfig::default()
    }
}

fn drain(bridge: &mut Bridge) -> Vec<BridgeAction> {
    std::iter::from_fn(|| bridge.poll_action())
        .filter(|a| !matches!(a, BridgeAction::Event(_)))
        .collect()
}

fn to_client(actions: &[BridgeAction]) -> Vec<serde_json::Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            BridgeAction::WriteClient(line) => Some(serde_json::from_str(line).unwrap()),
            _ => None,
        })
        .collect()
}

fn to_server(actions: &[BridgeAction]) -> Vec<serde_json::Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            BridgeAction::SendServer(text) => Some(serde_json::from_str(text).unwrap()),
            _ => None,
        })
        .collect()
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#;
const INIT_RESULT: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}"#;

fn request(id: u32) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo"}}}}"#)
}

fn result(id: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[]}}}}"#)
}

/// A bridge whose client initialized on its first connection.
fn initialized_bridge() -> Bridge {
    let mut bridge = Bridge::new(config(), at(0)).unwrap();
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 1 }]);
    bridge.handle_connected(at(1));
    bridge.handle_client_line(at(2), INIT);
    bridge.handle_server_payload(at(3), Payload::Text(INIT_RESULT.as_bytes()));
    bridge.handle_client_line(at(4), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let actions = drain(&mut bridge);
    assert_eq!(to_server(&actions).len(), 2);
    assert_eq!(to_client(&actions).len(), 1);
    bridge
}

#[test]
fn a_request_queued_across_a_cut_is_answered_once_by_the_next_connection() {
    let mut bridge = initialized_bridge();
    bridge.handle_connection_lost(at(10), Failure::Transport("reset".into()));
    assert_eq!(drain(&mut bridge), vec![]);
    // Written while disconnected: it waits.
    bridge.handle_client_line(at(20), &request(7));
    assert_eq!(drain(&mut bridge), vec![]);
    bridge.handle_timeout(at(110));
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 2 }]);
    // The new connection is cut in the middle of the re-initialize: request 7 never went out,
    // so it gets no answer yet (the old bridge answered it here and then sent it anyway).
    bridge.handle_connected(at(120));
    let actions = drain(&mut bridge);
    assert_eq!(to_server(&actions)[0]["method"], "initialize");
    assert_eq!(to_server(&actions)[0]["id"], "mcp-ws-bridge-reinit-1");
    assert_eq!(to_server(&actions).len(), 1, "nothing but the re-initialize goes out first");
    bridge.handle_connection_lost(at(130), Failure::Transport("reset".into()));
    assert_eq!(to_client(&drain(&mut bridge)), Vec::<serde_json::Value>::new());
    // The third connection completes the lifecycle, then request 7 goes out and is answered.
    bridge.handle_timeout(at(230));
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 3 }]);
    bridge.handle_connected(at(340));
    drain(&mut bridge);
    let reinit = INIT_RESULT.replace(r#""id":0"#, r#""id":"mcp-ws-bridge-reinit-2""#);
    bridge.handle_server_payload(at(341), Payload::Text(reinit.as_bytes()));
    let actions = drain(&mut bridge);
    let sent = to_server(&actions);
    assert_eq!(sent[0]["method"], "notifications/initialized");
    assert_eq!(sent[1]["id"], 7);
    assert!(to_client(&actions).is_empty(), "the re-initialize's answer is swallowed");
    bridge.handle_server_payload(at(342), Payload::Text(result("7").as_bytes()));
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], 7);
    assert!(answers[0].get("result").is_some());
}

#[test]
fn a_request_in_flight_when_the_connection_drops_gets_exactly_one_error() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_line(at(10), &request(5));
    assert_eq!(to_server(&drain(&mut bridge))[0]["id"], 5);
    bridge.handle_connection_lost(at(11), Failure::Transport("reset".into()));
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], 5);
    assert_eq!(answers[0]["error"]["code"], CONNECTION_LOST);
    // A late answer on the next connection cannot reach the client a second time.
    bridge.handle_timeout(at(111));
    bridge.handle_connected(at(112));
    drain(&mut bridge);
    bridge.handle_server_payload(at(113), Payload::Text(result("5").as_bytes()));
    assert!(to_client(&drain(&mut bridge)).is_empty());
}

#[test]
fn giving_up_answers_each_queued_request_once_and_exits() {
    let mut bridge = initialized_bridge();
    bridge.handle_connection_lost(at(10), Failure::Transport("reset".into()));
    bridge.handle_client_line(at(11), &request(1));
    bridge.handle_client_line(at(12), &request(2));
    let mut now = 12;
    let mut answers = Vec::new();
    let mut exit = None;
    for _ in 0..10 {
        now += 200;
        bridge.handle_timeout(at(now));
        for action in drain(&mut bridge) {
            match action {
                BridgeAction::Dial { .. } => {
                    bridge.handle_dial_failed(at(now), Failure::Transport("refused".into()))
                }
                BridgeAction::WriteClient(line) => answers.push(line),
                BridgeAction::Exit(how) => exit = Some(how),
                _ => {}
            }
        }
        for action in drain(&mut bridge) {
            match action {
                BridgeAction::WriteClient(line) => answers.push(line),
                BridgeAction::Exit(how) => exit = Some(how),
                _ => {}
            }
        }
    }
    assert_eq!(exit, Some(BridgeExit::GaveUp));
    assert_eq!(answers.len(), 2, "one error each, not two: {answers:?}");
    assert!(bridge.is_finished());
    assert_eq!(bridge.poll_timeout(), None);
}

#[test]
fn text_from_the_server_that_is_not_json_rpc_never_reaches_stdout() {
    let mut bridge = initialized_bridge();
    bridge.handle_server_payload(at(10), Payload::Text(b"Traceback (most recent call last):"));
    bridge.handle_server_payload(at(11), Payload::Text(br#"{"hello":"world"}"#));
    let actions = drain(&mut bridge);
    assert!(to_client(&actions).is_empty());
    let replies = to_server(&actions);
    assert_eq!(replies[0]["error"]["code"], -32700);
    assert_eq!(replies[1]["error"]["code"], -32600);
}

#[test]
fn a_refused_re_initialize_fails_the_connection_and_sends_nothing_queued() {
    let mut bridge = initialized_bridge();
    bridge.handle_connection_lost(at(10), Failure::Transport("reset".into()));
    bridge.handle_client_line(at(11), &request(9));
    bridge.handle_timeout(at(110));
    drain(&mut bridge);
    bridge.handle_connected(at(111));
    drain(&mut bridge);
    let refusal = r#"{"jsonrpc":"2.0","id":"mcp-ws-bridge-reinit-1","error":{"code":-32603,"message":"busy"}}"#;
    bridge.handle_server_payload(at(112), Payload::Text(refusal.as_bytes()));
    let actions = drain(&mut bridge);
    assert!(to_server(&actions).is_empty(), "no initialized, no queued request: {actions:?}");
    assert!(matches!(&actions[0], BridgeAction::CloseServer(r) if r.reason.contains("busy")));
    assert!(to_client(&actions).is_empty(), "request 9 still waits");
    assert_eq!(bridge.queued(), 1);
    assert!(bridge.poll_timeout().is_some_and(|t| t > at(112)), "backoff before the next dial");
}

#[test]
fn an_unanswered_re_initialize_times_out_and_redials() {
    let mut bridge = initialized_bridge();
    bridge.handle_connection_lost(at(10), Failure::Transport("reset".into()));
    bridge.handle_timeout(at(110));
    drain(&mut bridge);
    bridge.handle_connected(at(110));
    drain(&mut bridge);
    assert_eq!(bridge.poll_timeout(), Some(at(2110)));
    bridge.handle_timeout(at(2110));
    let actions = drain(&mut bridge);
    assert!(
        matches!(&actions[0], BridgeAction::CloseServer(r) if r.code == CloseCode::PROTOCOL_ERROR)
    );
}

#[test]
fn a_server_that_changed_its_version_ends_the_bridge() {
    let mut bridge = initialized_bridge();
    bridge.handle_connection_lost(at(10), Failure::Transport("reset".into()));
    bridge.handle_timeout(at(110));
    drain(&mut bridge);
    bridge.handle_connected(at(110));
    drain(&mut bridge);
    let other = INIT_RESULT
        .replace(r#""id":0"#, r#""id":"mcp-ws-bridge-reinit-1""#)
        .replace("2025-06-18", "2024-11-05");
    bridge.handle_server_payload(at(111), Payload::Text(other.as_bytes()));
    let actions = drain(&mut bridge);
    assert!(actions.contains(&BridgeAction::Exit(BridgeExit::GaveUp)), "{actions:?}");
}

#[test]
fn a_full_queue_answers_at_once() {
    let mut bridge = Bridge::new(BridgeConfig { max_queued: 1, ..config() }, at(0)).unwrap();
    drain(&mut bridge);
    bridge.handle_client_line(at(1), &request(1));
    bridge.handle_client_line(at(2), &request(2));
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], 2);
    assert_eq!(answers[0]["error"]["code"], CONNECTION_LOST);
}

#[test]
fn a_request_waits_for_a_connection_at_most_max_queue_wait() {
    let mut bridge = Bridge::new(config(), at(0)).unwrap();
    drain(&mut bridge);
    bridge.handle_client_line(at(1), &request(1));
    assert_eq!(bridge.poll_timeout(), Some(at(5001)));
    bridge.handle_timeout(at(5001));
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], 1);
}

#[test]
fn a_cancelled_queued_request_is_never_sent_nor_answered() {
    let mut bridge = Bridge::new(config(), at(0)).unwrap();
    drain(&mut bridge);
    bridge.handle_client_line(at(1), &request(1));
    bridge.handle_client_line(
        at(2),
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
    );
    bridge.handle_connected(at(3));
    let actions = drain(&mut bridge);
    assert!(to_server(&actions).is_empty(), "{actions:?}");
    assert!(to_client(&actions).is_empty());
}

#[test]
fn a_duplicate_request_id_is_refused_without_touching_the_first() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_line(at(10), &request(3));
    bridge.handle_client_line(at(11), &request(3));
    let actions = drain(&mut bridge);
    assert_eq!(to_server(&actions).len(), 1);
    assert_eq!(to_client(&actions)[0]["error"]["code"], -32600);
}

#[test]
fn an_answer_to_a_server_request_of_an_earlier_connection_is_dropped() {
    let mut bridge = initialized_bridge();
    let ping = r#"{"jsonrpc":"2.0","id":"s1","method":"roots/list"}"#;
    bridge.handle_server_payload(at(10), Payload::Text(ping.as_bytes()));
    assert_eq!(to_client(&drain(&mut bridge)).len(), 1);
    bridge.handle_connection_lost(at(11), Failure::Transport("reset".into()));
    bridge.handle_timeout(at(111));
    bridge.handle_connected(at(112));
    drain(&mut bridge);
    bridge.handle_client_line(at(113), r#"{"jsonrpc":"2.0","id":"s1","result":{"roots":[]}}"#);
    assert!(to_server(&drain(&mut bridge)).is_empty());
}

#[test]
fn end_of_input_waits_for_owed_answers_then_answers_the_rest_and_exits() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_line(at(10), &request(1));
    drain(&mut bridge);
    bridge.handle_client_eof(at(11));
    assert_eq!(drain(&mut bridge), vec![]);
    assert_eq!(bridge.poll_timeout(), Some(at(1011)));
    bridge.handle_timeout(at(1011));
    let actions = drain(&mut bridge);
    assert_eq!(to_client(&actions)[0]["id"], 1);
    assert!(matches!(actions[1], BridgeAction::CloseServer(_)));
    assert_eq!(actions[2], BridgeAction::Exit(BridgeExit::Done));
}

#[test]
fn end_of_input_exits_as_soon_as_the_last_owed_answer_is_written() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_line(at(10), &request(1));
    drain(&mut bridge);
    bridge.handle_client_eof(at(11));
    assert_eq!(drain(&mut bridge), vec![]);
    // The answer comes long before `drain_after_eof`: it is written, and the bridge is done.
    bridge.handle_server_payload(at(20), Payload::Text(result("1").as_bytes()));
    let actions = drain(&mut bridge);
    assert_eq!(to_client(&actions).len(), 1, "{actions:?}");
    assert_eq!(to_client(&actions)[0]["id"], 1);
    assert!(
        matches!(&actions[1], BridgeAction::CloseServer(r) if r.code == CloseCode::NORMAL),
        "{actions:?}"
    );
    assert_eq!(actions[2], BridgeAction::Exit(BridgeExit::Done));
}

#[test]
fn end_of_input_with_nothing_owed_exits_at_once() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_eof(at(10));
    let actions = drain(&mut bridge);
    assert!(matches!(&actions[0], BridgeAction::CloseServer(r) if r.code == CloseCode::NORMAL));
    assert_eq!(actions[1], BridgeAction::Exit(BridgeExit::Done));
}

#[test]
fn a_silent_server_is_pinged_then_dropped_and_redialled() {
    let config = BridgeConfig {
        ping_interval: Some(Duration::from_secs(1)),
        idle_timeout: Some(Duration::from_secs(3)),
        ..config()
    };
    let mut bridge = Bridge::new(config, at(0)).unwrap();
    drain(&mut bridge);
    bridge.handle_connected(at(0));
    bridge.handle_timeout(at(1000));
    assert_eq!(drain(&mut bridge), vec![BridgeAction::SendPing]);
    bridge.handle_timeout(at(3000));
    let actions = drain(&mut bridge);
    assert!(matches!(&actions[0], BridgeAction::CloseServer(r) if r.code == CloseCode::GOING_AWAY));
    bridge.handle_timeout(at(3100));
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 2 }]);
}

#[test]
fn a_client_line_over_the_limit_is_refused_with_a_null_id() {
    let mut bridge = initialized_bridge();
    bridge.handle_client_line_too_long();
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["id"], serde_json::Value::Null);
    assert_eq!(answers[0]["error"]["code"], -32600);
}

#[test]
fn after_an_initialize_lost_with_its_connection_nothing_reaches_the_next_session_until_a_new_one() {
    let mut bridge = Bridge::new(config(), at(0)).unwrap();
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 1 }]);
    bridge.handle_connected(at(1));
    bridge.handle_client_line(at(2), INIT);
    assert_eq!(to_server(&drain(&mut bridge)).len(), 1);
    // Its answer was too large to read: the connection is lost and the bridge answers it.
    bridge.handle_connection_lost(at(3), Failure::Transport("message too big".into()));
    let answers = to_client(&drain(&mut bridge));
    assert_eq!(answers.len(), 1);
    assert_eq!(
        (answers[0]["id"].clone(), answers[0]["error"]["code"].clone()),
        (json(0), json(-32000))
    );
    bridge.handle_timeout(at(110));
    assert_eq!(drain(&mut bridge), vec![BridgeAction::Dial { attempt: 2 }]);
    bridge.handle_connected(at(120));
    assert_eq!(to_server(&drain(&mut bridge)), Vec::<serde_json::Value>::new());
    // The client carries on as if initialized: the new session never was, so nothing goes out;
    // the request is answered by the bridge, saying why.
    bridge.handle_client_line(at(130), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    bridge.handle_client_line(at(131), &request(1));
    let actions = drain(&mut bridge);
    assert_eq!(to_server(&actions), Vec::<serde_json::Value>::new(), "{actions:?}");
    let answers = to_client(&actions);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    assert!(answers[0]["error"]["message"].as_str().unwrap().contains("initialize"), "{answers:?}");
    // A ping may precede the lifecycle; a new initialize starts it again, and then all flows.
    bridge.handle_client_line(at(140), r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#);
    assert_eq!(to_server(&drain(&mut bridge))[0]["method"], "ping");
    bridge.handle_client_line(at(141), &INIT.replace(r#""id":0"#, r#""id":5"#));
    assert_eq!(to_server(&drain(&mut bridge))[0]["method"], "initialize");
    let answered = INIT_RESULT.replace(r#""id":0"#, r#""id":5"#);
    bridge.handle_server_payload(at(142), Payload::Text(answered.as_bytes()));
    assert_eq!(to_client(&drain(&mut bridge))[0]["id"], 5);
    bridge.handle_client_line(at(143), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    bridge.handle_client_line(at(144), &request(2));
    let sent = to_server(&drain(&mut bridge));
    assert_eq!(sent[0]["method"], "notifications/initialized");
    assert_eq!(sent[1]["id"], 2);
}

#[test]
fn requests_pipelined_behind_an_initialize_still_in_flight_go_out() {
    let mut bridge = Bridge::new(config(), at(0)).unwrap();
    drain(&mut bridge);
    bridge.handle_connected(at(1));
    bridge.handle_client_line(at(2), INIT);
    bridge.handle_client_line(at(3), r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    bridge.handle_client_line(at(4), &request(1));
    assert_eq!(to_server(&drain(&mut bridge)).len(), 3);
}

fn json(value: impl Into<serde_json::Value>) -> serde_json::Value {
    value.into()
}
