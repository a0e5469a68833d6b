//! Full request/response cycles between a client and a server session in memory (encode,
//! decode, correlate, respond), next to a bare serde_json encode + decode of the same messages
//! measured in the same run.
//!
//! `cargo bench -p mcp-ws-core --bench session`
//!
//! Read the two medians of each group: `session` / `bare_serde_json` is the session overhead
//! ratio (target ≤ 1.5), and 1 / `session` time is round trips per second on one core (target
//! ≥ 500k/s).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mcp_ws_core::codec::Payload;
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::session::{
    Action, EraPolicy, Event, RequestOptions, Role, Session, SessionConfig,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{ProtocolVersion, RawJson};

const PARAMS: &str = r#"{"name":"add","arguments":{"a":1,"b":2,"note":"a short argument string"}}"#;
const RESULT: &str = r#"{"content":[{"type":"text","text":"3"}],"isError":false}"#;

fn info(name: &str) -> Implementation {
    Implementation { name: name.into(), version: "1.0.0".into(), ..Default::default() }
}

/// Runs the handshake and returns two ready sessions.
fn ready_pair(era: EraPolicy) -> (Session, Session) {
    let now = Instant::ZERO;
    let mut client_config = SessionConfig::client(info("bench-client"));
    if let Role::Client { era: policy, .. } = &mut client_config.role {
        *policy = era;
    }
    client_config.ping_interval = None;
    client_config.idle_timeout = None;
    let mut server_config = SessionConfig::server(info("bench-server"));
    server_config.ping_interval = None;
    server_config.idle_timeout = None;
    let mut client = Session::new(client_config, now).unwrap();
    let mut server = Session::new(server_config, now).unwrap();
    for _ in 0..4 {
        while let Some(action) = client.poll_action() {
            if let Action::SendText(text) = action {
                server.handle_payload(now, Payload::Text(text.as_bytes()));
            }
        }
        while let Some(action) = server.poll_action() {
            if let Action::SendText(text) = action {
                client.handle_payload(now, Payload::Text(text.as_bytes()));
            }
        }
    }
    assert!(client.ready_info().is_some(), "handshake completes");
    (client, server)
}

/// One full cycle. Returns the two wire texts and the result so nothing is optimised away.
fn round_trip(
    client: &mut Session,
    server: &mut Session,
    params: &RawJson,
    result: &RawJson,
) -> (String, String, RawJson) {
    let now = Instant::ZERO;
    client
        .send_request(now, "tools/call", Some(params.clone()), RequestOptions::default())
        .unwrap();
    let Some(Action::SendText(request)) = client.poll_action() else { unreachable!() };
    server.handle_payload(now, Payload::Text(request.as_bytes()));
    // The first modern request also makes the server report Ready; skip such events.
    let incoming = std::iter::from_fn(|| server.poll_action())
        .find_map(|action| match action {
            Action::Event(Event::Request(incoming)) => Some(incoming),
            _ => None,
        })
        .expect("the server delivers the request");
    server.respond(incoming.id, Ok(result.clone())).unwrap();
    let Some(Action::SendText(response)) = server.poll_action() else { unreachable!() };
    client.handle_payload(now, Payload::Text(response.as_bytes()));
    let Some(Action::Event(Event::RequestEnded { outcome, .. })) = client.poll_action() else {
        unreachable!()
    };
    match outcome {
        mcp_ws_core::session::Outcome::Result(raw) => (request, response, raw),
        other => panic!("unexpected outcome {other:?}"),
    }
}

/// The same two wire messages with serde_json alone: parse each into a `Value` and encode it.
fn bare_round_trip(request: &str, response: &str) -> (String, String) {
    let parsed: serde_json::Value = serde_json::from_str(request).unwrap();
    let request = serde_json::to_string(&parsed).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(response).unwrap();
    let response = serde_json::to_string(&parsed).unwrap();
    (request, response)
}

fn bench(c: &mut Criterion) {
    let params = RawJson::from_string(PARAMS.to_owned()).unwrap();
    let result = RawJson::from_string(RESULT.to_owned()).unwrap();
    for (name, era) in
        [("legacy", EraPolicy::Legacy(ProtocolVersion::V2025_11_25)), ("modern", EraPolicy::Modern)]
    {
        let mut group = c.benchmark_group(format!("round_trip_{name}"));
        group.throughput(Throughput::Elements(1));
        let (mut client, mut server) = ready_pair(era);
        let (request, response, _) = round_trip(&mut client, &mut server, &params, &result);
        group.bench_function("session", |b| {
            b.iter(|| black_box(round_trip(&mut client, &mut server, &params, &result)))
        });
        group.bench_function("bare_serde_json", |b| {
            b.iter(|| black_box(bare_round_trip(black_box(&request), black_box(&response))))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
