//! Client and server sessions driven against each other on a simulated link and virtual clock.

mod sim;

use std::collections::HashMap;
use std::time::Duration;

use mcp_ws_core::reconnect::{Failure, Jitter, Reconnect, ReconnectAction, ReconnectConfig};
use mcp_ws_core::session::{
    ClosedBy, EraPolicy, Event, Outcome, PeerDescription, RequestOptions, Role, SessionConfig,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, Era, ErrorCode, ProtocolVersion, RequestId};
use sim::{LinkConfig, Pair, Reply, info, json, methods, raw};

fn client(era: EraPolicy) -> SessionConfig {
    let mut config = SessionConfig::client(info("sim-client"));
    if let Role::Client { era: policy, .. } = &mut config.role {
        *policy = era;
    }
    config
}

fn server() -> SessionConfig {
    SessionConfig::server(info("sim-server"))
}

fn legacy_only_server() -> SessionConfig {
    let mut config = server();
    config.versions.retain(|v| v.era() == Era::Legacy);
    config
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at_ms(n: u64) -> Instant {
    Instant::ZERO + ms(n)
}

#[test]
fn legacy_handshake_completes_and_a_tool_call_round_trips() {
    let mut pair = Pair::new(
        client(EraPolicy::Legacy(ProtocolVersion::V2025_06_18)),
        server(),
        LinkConfig::default(),
    );
    let id = pair
        .client
        .send_request(
            pair.now,
            "tools/call",
            Some(raw(r#"{"name":"add"}"#)),
            RequestOptions::default(),
        )
        .unwrap();
    pair.run_for(ms(100));
    let ready = pair.client_ready().expect("client ready");
    assert_eq!((ready.era, ready.version), (Era::Legacy, ProtocolVersion::V2025_06_18));
    match &ready.peer {
        PeerDescription::Server { info: Some(info), .. } => assert_eq!(info.name, "sim-server"),
        other => panic!("unexpected peer {other:?}"),
    }
    let server_ready = pair.server_ready().expect("server ready");
    assert_eq!(server_ready.version, ProtocolVersion::V2025_06_18);
    assert_eq!(
        methods(&pair.client_sent),
        ["initialize", "notifications/initialized", "tools/call"]
    );
    let outcomes = pair.client_outcomes();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].0, id);
    assert_eq!(outcomes[0].1, Outcome::Result(raw(r#"{"name":"add"}"#)));
    // initialize 5 ms there and back, then the held request: 10 ms + 10 ms.
    assert_eq!(outcomes[0].2, at_ms(20));
}

#[test]
fn modern_client_stamps_meta_and_server_stamps_results() {
    let mut pair = Pair::new(client(EraPolicy::Modern), server(), LinkConfig::default());
    pair.client.send_request(pair.now, "tools/list", None, RequestOptions::default()).unwrap();
    pair.run_for(ms(50));
    let sent = json(&pair.client_sent[0]);
    assert_eq!(sent["method"], "tools/list");
    let meta = &sent["params"]["_meta"];
    assert_eq!(meta["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
    assert_eq!(meta["io.modelcontextprotocol/clientInfo"]["name"], "sim-client");
    assert!(meta["io.modelcontextprotocol/clientCapabilities"].is_object());
    let answer = json(&pair.server_sent[0]);
    assert_eq!(answer["result"]["resultType"], "complete");
    assert_eq!(
        answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "sim-server"
    );
    let server_ready = pair.server_ready().expect("server ready on the first modern request");
    assert_eq!(
        (server_ready.era, server_ready.version),
        (Era::Modern, ProtocolVersion::V2026_07_28)
    );
    match &server_ready.peer {
        PeerDescription::Client { info: Some(info), .. } => assert_eq!(info.name, "sim-client"),
        other => panic!("unexpected peer {other:?}"),
    }
    assert!(matches!(pair.client_outcomes()[0].1, Outcome::Result(_)));
}

#[test]
fn dual_era_client_settles_on_modern_with_a_dual_era_server() {
    let dual = EraPolicy::DualEra { fallback: ProtocolVersion::V2025_11_25 };
    let mut pair = Pair::new(client(dual), server(), LinkConfig::default());
    pair.run_for(ms(50));
    let ready = pair.client_ready().expect("ready");
    assert_eq!((ready.era, ready.version), (Era::Modern, ProtocolVersion::V2026_07_28));
    match &ready.peer {
        PeerDescription::Server { info: Some(info), .. } => assert_eq!(info.name, "sim-server"),
        other => panic!("unexpected peer {other:?}"),
    }
    assert_eq!(methods(&pair.client_sent), ["server/discover"]);
    // Discover alone does not fix the server's era.
    assert!(pair.server_ready().is_none());
}

#[test]
fn dual_era_client_falls_back_to_initialize_against_a_legacy_only_server() {
    let dual = EraPolicy::DualEra { fallback: ProtocolVersion::V2025_11_25 };
    let mut pair = Pair::new(client(dual), legacy_only_server(), LinkConfig::default());
    pair.run_for(ms(100));
    let ready = pair.client_ready().expect("ready");
    assert_eq!((ready.era, ready.version), (Era::Legacy, ProtocolVersion::V2025_11_25));
    assert_eq!(
        methods(&pair.client_sent),
        ["server/discover", "initialize", "notifications/initialized"]
    );
    assert_eq!(json(&pair.server_sent[0])["error"]["code"], ErrorCode::MethodNotFound.code());
}

#[test]
fn dual_era_client_falls_back_when_the_probe_goes_unanswered() {
    let dual = EraPolicy::DualEra { fallback: ProtocolVersion::V2025_11_25 };
    let mut pair = Pair::new(client(dual), server(), LinkConfig::default());
    pair.server_silent = true;
    pair.run_for(ms(10));
    pair.server_silent = false;
    pair.run_for(ms(5_100));
    let ready = pair.client_ready().expect("ready after the fallback");
    assert_eq!(ready.era, Era::Legacy);
    let init_sent_at =
        pair.client_events.iter().find_map(|(at, e)| matches!(e, Event::Ready(_)).then_some(*at));
    // discover_timeout is 5 s; initialize goes out then and is answered 10 ms later.
    assert_eq!(init_sent_at, Some(at_ms(5_010)));
}

#[test]
fn client_closes_when_the_server_answers_a_version_it_does_not_speak() {
    let mut config = client(EraPolicy::Legacy(ProtocolVersion::V2024_11_05));
    config.versions = vec![ProtocolVersion::V2024_11_05];
    let mut server = server();
    server.versions = vec![ProtocolVersion::V2025_11_25];
    let mut pair = Pair::new(config, server, LinkConfig::default());
    pair.run_for(ms(100));
    assert!(pair.client_ready().is_none());
    let closed = pair.client_events.iter().find_map(|(_, e)| match e {
        Event::Closed { reason, by } => Some((reason.clone(), *by)),
        _ => None,
    });
    let (reason, by) = closed.expect("client closed");
    assert_eq!((reason.code, by), (CloseCode::PROTOCOL_ERROR, ClosedBy::Session));
    assert!(reason.reason.contains("2025-11-25"), "{}", reason.reason);
    // The server hears the close frame.
    assert!(
        pair.server_events
            .iter()
            .any(|(_, e)| matches!(e, Event::Closed { by: ClosedBy::Peer, .. }))
    );
}

#[test]
fn modern_request_with_an_unsupported_version_gets_32022_with_the_supported_list() {
    let mut pair =
        Pair::new(client(EraPolicy::Modern), legacy_only_server(), LinkConfig::default());
    pair.client.send_request(pair.now, "tools/list", None, RequestOptions::default()).unwrap();
    pair.run_for(ms(50));
    let outcomes = pair.client_outcomes();
    let Outcome::Error(error) = &outcomes[0].1 else { panic!("expected an error: {outcomes:?}") };
    assert_eq!(error.code, -32022);
    let data: serde_json::Value = error.data.as_ref().unwrap().parse().unwrap();
    assert_eq!(data["requested"], "2026-07-28");
    assert_eq!(data["supported"], serde_json::json!([]));
}

#[test]
fn an_unanswered_request_times_out_and_the_server_hears_the_cancellation() {
    let mut pair = Pair::new(
        client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
        server(),
        LinkConfig::default(),
    );
    pair.server_app = Box::new(|_| Reply::Never);
    pair.run_for(ms(20));
    let options = RequestOptions { timeout: Some(ms(1_000)), ..Default::default() };
    let id = pair.client.send_request(pair.now, "tools/call", None, options).unwrap();
    pair.run_for(ms(2_000));
    let outcomes = pair.client_outcomes();
    assert_eq!(outcomes, vec![(id.clone(), Outcome::TimedOut, at_ms(1_020))]);
    let cancelled: Vec<_> = pair
        .server_events
        .iter()
        .filter_map(|(at, e)| match e {
            Event::Cancelled { id, reason } => Some((*at, id.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, vec![(at_ms(1_025), id, Some("timed out".to_owned()))]);
    assert_eq!(pair.server.incoming_requests(), 0);
}

#[test]
fn cancellation_racing_a_response_ends_the_request_exactly_once() {
    let link = LinkConfig { latency: ms(50), ..Default::default() };
    let mut pair =
        Pair::new(client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25)), server(), link);
    pair.run_for(ms(200));
    let id =
        pair.client.send_request(pair.now, "tools/call", None, RequestOptions::default()).unwrap();
    // The server answers on arrival (50 ms); the answer is on the wire when the client cancels.
    pair.run_for(ms(60));
    pair.client.cancel(&id, Some("user pressed stop")).unwrap();
    pair.run_for(ms(200));
    let outcomes = pair.client_outcomes();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].1, Outcome::Cancelled);
    let unmatched =
        pair.client_events.iter().filter(|(_, e)| matches!(e, Event::UnmatchedResponse(_))).count();
    assert_eq!(unmatched, 1, "the late response is reported, not delivered twice");
    // The server already answered, so the cancellation finds nothing to stop.
    assert!(!pair.server_events.iter().any(|(_, e)| matches!(e, Event::Cancelled { .. })));
}

#[test]
fn heartbeat_declares_a_silent_server_dead_within_the_idle_timeout() {
    let mut config = client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25));
    config.ping_interval = Some(Duration::from_secs(5));
    config.idle_timeout = Some(Duration::from_secs(15));
    let mut pair = Pair::new(config, server(), LinkConfig::default());
    pair.run_for(ms(100));
    assert!(pair.client_ready().is_some());
    let last_inbound = at_ms(10); // the initialize result
    pair.server_silent = true;
    let id =
        pair.client.send_request(pair.now, "tools/call", None, RequestOptions::default()).unwrap();
    pair.run_for(Duration::from_secs(30));
    let closed = pair.client_events.iter().find_map(|(at, e)| match e {
        Event::Closed { reason, by } => Some((*at, reason.code, *by)),
        _ => None,
    });
    assert_eq!(
        closed,
        Some((last_inbound + Duration::from_secs(15), CloseCode::GOING_AWAY, ClosedBy::Session))
    );
    assert!(pair.client_pings >= 2, "pings were sent while waiting: {}", pair.client_pings);
    let outcomes = pair.client_outcomes();
    assert_eq!(outcomes.len(), 1);
    assert_eq!((outcomes[0].0.clone(), outcomes[0].1.clone()), (id, Outcome::Disconnected));
}

#[test]
fn answered_pings_keep_an_idle_connection_alive() {
    let mut config = client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25));
    config.ping_interval = Some(Duration::from_secs(5));
    config.idle_timeout = Some(Duration::from_secs(15));
    let mut pair = Pair::new(config, server(), LinkConfig::default());
    pair.run_for(Duration::from_secs(120));
    assert!(!pair.client.is_closed());
    assert!(!pair.server.is_closed());
    assert!(pair.client_pings >= 20);
}

#[test]
fn a_cut_link_ends_every_pending_request_as_disconnected() {
    let mut pair = Pair::new(
        client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
        server(),
        LinkConfig::default(),
    );
    pair.server_app = Box::new(|_| Reply::Never);
    pair.run_for(ms(50));
    let ids: Vec<RequestId> = (0..3)
        .map(|_| {
            pair.client
                .send_request(pair.now, "tools/call", None, RequestOptions::default())
                .unwrap()
        })
        .collect();
    pair.run_for(ms(50));
    pair.cut();
    let outcomes: Vec<_> = pair.client_outcomes().into_iter().map(|(id, o, _)| (id, o)).collect();
    let expected: Vec<_> = ids.into_iter().map(|id| (id, Outcome::Disconnected)).collect();
    assert_eq!(outcomes, expected);
    assert!(pair.client.send_request(pair.now, "x", None, RequestOptions::default()).is_err());
}

#[test]
fn reordering_and_loss_still_give_every_request_exactly_one_matching_outcome() {
    for seed in 0..20 {
        let link = LinkConfig { latency: ms(5), jitter: ms(40), loss_per_mille: 100, seed };
        let mut config = client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25));
        config.request_timeout = Duration::from_secs(2);
        let mut pair = Pair::new(config, server(), link);
        pair.run_for(Duration::from_secs(1));
        if pair.client_ready().is_none() {
            // The handshake itself was lost; the initialize times out and closes the session.
            pair.run_for(Duration::from_secs(120));
            assert!(pair.client.is_closed(), "seed {seed}");
            continue;
        }
        let mut sent = HashMap::new();
        for n in 0..50 {
            let params = raw(&format!(r#"{{"n":{n}}}"#));
            let id = pair
                .client
                .send_request(
                    pair.now,
                    "tools/call",
                    Some(params.clone()),
                    RequestOptions::default(),
                )
                .unwrap();
            sent.insert(id, params);
        }
        pair.run_for(Duration::from_secs(10));
        let outcomes = pair.client_outcomes();
        assert_eq!(outcomes.len(), 50, "seed {seed}");
        let mut seen = std::collections::HashSet::new();
        for (id, outcome, _) in outcomes {
            assert!(seen.insert(id.clone()), "seed {seed}: {id} ended twice");
            match outcome {
                Outcome::Result(result) => assert_eq!(result, sent[&id], "seed {seed}"),
                Outcome::TimedOut => {}
                other => panic!("seed {seed}: unexpected outcome {other:?}"),
            }
        }
        assert_eq!(pair.client.pending_requests(), 0);
    }
}

#[test]
fn after_a_cut_the_reconnect_machine_redials_and_the_lifecycle_runs_again() {
    let mut pair = Pair::new(
        client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
        server(),
        LinkConfig::default(),
    );
    let policy = ReconnectConfig { jitter: Jitter::None, ..Default::default() };
    let mut reconnect = Reconnect::new(policy, 1, pair.now).unwrap();
    reconnect.start(pair.now).unwrap();
    assert_eq!(reconnect.poll_action(), Some(ReconnectAction::Dial { attempt: 1 }));
    reconnect.on_connected(pair.now).unwrap();
    pair.run_for(ms(100));
    let lost =
        pair.client.send_request(pair.now, "tools/call", None, RequestOptions::default()).unwrap();
    pair.server_app = Box::new(|_| Reply::Never);
    pair.run_for(ms(20));
    pair.cut();
    reconnect.on_disconnected(pair.now, Failure::Transport("link cut".into())).unwrap();
    assert_eq!(reconnect.poll_timeout(), Some(pair.now + ms(250)));
    pair.run_for(ms(250));
    reconnect.handle_timeout(pair.now);
    assert_eq!(reconnect.poll_action(), Some(ReconnectAction::Dial { attempt: 2 }));
    pair.redial();
    reconnect.on_connected(pair.now).unwrap();
    pair.server_app = sim::echo_app();
    let again = pair
        .client
        .send_request(pair.now, "tools/call", Some(raw(r#"{"n":2}"#)), RequestOptions::default())
        .unwrap();
    pair.run_for(ms(100));
    let outcomes: Vec<_> = pair.client_outcomes().into_iter().map(|(id, o, _)| (id, o)).collect();
    assert_eq!(outcomes[0], (lost, Outcome::Disconnected));
    assert_eq!(outcomes[1].1, Outcome::Result(raw(r#"{"n":2}"#)));
    assert_eq!(outcomes[1].0, again);
    let initializes = methods(&pair.client_sent).iter().filter(|m| *m == "initialize").count();
    assert_eq!(initializes, 2, "the second connection re-initializes");
    let readies = pair.client_events.iter().filter(|(_, e)| matches!(e, Event::Ready(_))).count();
    assert_eq!(readies, 2);
}

#[test]
fn a_server_that_accepts_then_drops_sees_the_client_back_off_further_each_time() {
    let mut pair = Pair::new(
        client(EraPolicy::Legacy(ProtocolVersion::V2025_11_25)),
        server(),
        LinkConfig::default(),
    );
    let policy = ReconnectConfig { jitter: Jitter::None, ..Default::default() };
    let mut reconnect = Reconnect::new(policy, 1, pair.now).unwrap();
    reconnect.start(pair.now).unwrap();
    let mut dial_times = Vec::new();
    for _ in 0..7 {
        let Some(ReconnectAction::Dial { .. }) = reconnect.poll_action() else { panic!("a dial") };
        dial_times.push(pair.now);
        if pair.connections < dial_times.len() {
            pair.redial();
        }
        reconnect.on_connected(pair.now).unwrap();
        // The server completes the handshake, then drops the connection 30 ms in.
        pair.run_for(ms(30));
        assert!(pair.client.ready_info().is_some());
        pair.cut();
        reconnect.on_disconnected(pair.now, Failure::Transport("dropped".into())).unwrap();
        let next = reconnect.poll_timeout().unwrap();
        pair.run_until(next, 10_000);
        reconnect.handle_timeout(pair.now);
    }
    let gaps: Vec<u64> = dial_times
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]).as_millis() as u64)
        .collect();
    // Each gap is 30 ms of connection plus a doubling delay: it never resets.
    assert_eq!(gaps, [280, 530, 1_030, 2_030, 4_030, 8_030]);
}

/// A modern server whose handler asks for the client's roots and a confirmation in one round
/// (the driver's input round, run by hand), answering retries after `retry_delay`.
fn asking_server(
    retry_delay: Duration,
    retries_seen: std::rc::Rc<std::cell::Cell<usize>>,
) -> sim::ServerApp {
    use mcp_ws_core::mcp::{ElicitParams, InputRequest};
    use mcp_ws_core::mrtr::{InputRound, StateKey};
    let key = StateKey::new(&[5; 32]).unwrap();
    Box::new(move |request| {
        let retry = request.params.as_ref().is_some_and(|p| p.get().contains("requestState"));
        let mut round =
            match InputRound::begin(&key, &request.method, request.params.as_ref(), 1_000) {
                Ok(round) => round,
                Err(error) => return Reply::Now(Err(error)),
            };
        let roots = round.answer_or_ask(InputRequest::list_roots());
        let confirm = ElicitParams { message: "Deploy?".into(), ..Default::default() };
        let confirmed = round.answer_or_ask(InputRequest::elicit(&confirm).unwrap());
        let answer = match round.finish(&key, 2_000) {
            Err(error) => Err(error),
            Ok(Some(asked)) => Ok(mcp_ws_core::RawJson::from_serialize(&asked).unwrap()),
            Ok(None) => {
                let text = format!(
                    "{} {}",
                    roots.unwrap()["roots"][0]["uri"],
                    confirmed.unwrap()["action"]
                );
                Ok(raw(
                    &serde_json::json!({"content": [{"type": "text", "text": text}]}).to_string()
                ))
            }
        };
        if retry {
            retries_seen.set(retries_seen.get() + 1);
            Reply::After(retry_delay, answer)
        } else {
            Reply::Now(answer)
        }
    })
}

#[test]
fn an_input_required_round_cut_by_a_reconnect_is_reissued_with_a_new_id_and_the_state_it_holds() {
    use mcp_ws_core::mrtr::{InputRounds, RoundStep};
    let retries_seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut pair = Pair::new(client(EraPolicy::Modern), server(), LinkConfig::default());
    pair.server_app = asking_server(ms(200), retries_seen.clone());
    let original = raw(r#"{"name":"deploy","arguments":{}}"#);
    let mut rounds = InputRounds::new(8);
    let first = pair
        .client
        .send_request(pair.now, "tools/call", Some(original.clone()), RequestOptions::default())
        .unwrap();
    pair.run_for(ms(50));
    let Some((id, Outcome::Result(result), _)) = pair.client_outcomes().pop() else {
        panic!("no answer to the first request: {:?}", pair.client_outcomes())
    };
    assert_eq!(id, first);
    let Ok(RoundStep::Answer(requests)) = rounds.on_result(result) else {
        panic!("the server asked for nothing")
    };
    assert_eq!(requests.len(), 2, "both questions in one round");
    let responses = requests
        .iter()
        .map(|(key, request)| {
            let answer = match request.method.as_str() {
                "roots/list" => serde_json::json!({"roots": [{"uri": "file:///srv/project"}]}),
                _ => serde_json::json!({"action": "accept"}),
            };
            (key.clone(), answer)
        })
        .collect();
    let retry = rounds.retry_params(Some(&original), responses).unwrap();

    // The retry reaches the server, but the link is cut before its answer comes back.
    let cut_id = pair
        .client
        .send_request(pair.now, "tools/call", Some(retry.clone()), RequestOptions::default())
        .unwrap();
    pair.run_for(ms(50));
    assert_eq!(retries_seen.get(), 1, "the server saw the retry before the cut");
    pair.cut();
    assert!(
        matches!(pair.client_outcomes().pop(), Some((id, Outcome::Disconnected, _)) if id == cut_id)
    );
    assert!(!rounds.is_finished(), "a lost round does not end the call");

    // A new connection, a new session on both sides (nothing kept on the server): the client
    // re-issues the round with a new id and the answers and state it holds.
    pair.redial();
    let reissued = pair
        .client
        .send_request(pair.now, "tools/call", Some(retry), RequestOptions::default())
        .unwrap();
    assert_eq!(pair.connections, 2);
    pair.run_for(ms(500));
    assert_eq!(retries_seen.get(), 2, "the same state was accepted again for the same params");
    let Some((id, Outcome::Result(result), _)) = pair.client_outcomes().pop() else {
        panic!("no answer to the re-issued round")
    };
    assert_eq!(id, reissued);
    let Ok(RoundStep::Complete(done)) = rounds.on_result(result) else {
        panic!("the re-issued round did not complete")
    };
    let done = json(done.get());
    assert_eq!(done["content"][0]["text"], "\"file:///srv/project\" \"accept\"");
    assert_eq!(done["resultType"], "complete");
    assert!(rounds.is_finished());
    let sent_ids: Vec<_> = pair
        .client_sent
        .iter()
        .map(|t| json(t))
        .filter(|m| m["method"] == "tools/call")
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(sent_ids.len(), 3);
    assert_ne!(sent_ids[1], sent_ids[2], "the re-issued round has a new id");
}
