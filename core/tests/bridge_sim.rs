//! The connect bridge against real core server sessions on a virtual clock: a scripted stdio
//! client, a link with latency that can be cut at any frame, a server that can refuse one
//! re-initialize or drop every connection for a while. Each scenario checks, from the stdio
//! client's side, exactly one answer per request and no request refused for a missing
//! lifecycle (the core server session refuses requests before `initialize`).

use std::collections::HashMap;
use std::time::Duration;

use mcp_ws_core::RawJson;
use mcp_ws_core::bridge::{Bridge, BridgeAction, BridgeConfig, BridgeExit, CONNECTION_LOST};
use mcp_ws_core::codec::Payload;
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::reconnect::{Failure, Jitter, ReconnectConfig};
use mcp_ws_core::session::{Action, Event, Session, SessionConfig};
use mcp_ws_core::time::Instant;
use serde_json::{Value, json};

const LATENCY: Duration = Duration::from_millis(5);

fn ms(n: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    Server,
    Bridge,
}

/// When to cut a connection.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Connection `n` after `frames` frames were delivered on it (either way).
    AfterFrames { connection: usize, frames: usize },
    /// Connections up to `until` are dropped this long after they open.
    Flapping { up_for: Duration, until: usize },
}

struct World {
    now: Instant,
    bridge: Bridge,
    server: Option<Session>,
    connection: usize,
    frames_on_connection: usize,
    opened_at: Instant,
    seq: u64,
    in_flight: Vec<(Instant, u64, usize, To, String)>,
    dial_at: Option<Instant>,
    client_script: Vec<(Instant, String)>,
    eof_at: Instant,
    eof_sent: bool,
    stdout: Vec<Value>,
    exit: Option<BridgeExit>,
    cut: Option<Cut>,
    refuse_reinit_once: bool,
    /// Methods each connection's server received, in order.
    received: HashMap<usize, Vec<String>>,
}

fn server_config() -> SessionConfig {
    let info =
        Implementation { name: "sim-server".into(), version: "1".into(), ..Default::default() };
    let mut config = SessionConfig::server(info);
    config.ping_interval = None;
    config.idle_timeout = None;
    config
}

fn bridge_config() -> BridgeConfig {
    let mut config = BridgeConfig::default();
    config.reconnect = ReconnectConfig {
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        jitter: Jitter::Full,
        stable_after: Duration::from_millis(300),
        ..ReconnectConfig::default()
    };
    config.jitter_seed = 7;
    config.ping_interval = Some(Duration::from_millis(500));
    config.idle_timeout = Some(Duration::from_millis(1_500));
    config.max_queue_wait = Duration::from_secs(10);
    config.drain_after_eof = Duration::from_secs(2);
    config
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"stdio-client","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn call(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"n":{id}}}}}}}"#
    )
}

impl World {
    fn new(client_script: Vec<(Instant, String)>, eof_at: Instant) -> World {
        World {
            now: Instant::ZERO,
            bridge: Bridge::new(bridge_config(), Instant::ZERO).expect("valid config"),
            server: None,
            connection: 0,
            frames_on_connection: 0,
            opened_at: Instant::ZERO,
            seq: 0,
            in_flight: Vec::new(),
            dial_at: None,
            client_script,
            eof_at,
            eof_sent: false,
            stdout: Vec::new(),
            exit: None,
            cut: None,
            refuse_reinit_once: false,
            received: HashMap::new(),
        }
    }

    fn post(&mut self, to: To, text: String) {
        self.seq += 1;
        self.in_flight.push((self.now + LATENCY, self.seq, self.connection, to, text));
    }

    fn drain(&mut self) {
        loop {
            let mut any = false;
            while let Some(action) = self.bridge.poll_action() {
                any = true;
                match action {
                    BridgeAction::WriteClient(line) => {
                        assert!(!line.contains('\n'));
                        self.stdout.push(serde_json::from_str(&line).expect("stdout is JSON"));
                    }
                    BridgeAction::SendServer(text) => {
                        assert!(self.server.is_some(), "sent with no connection: {text}");
                        self.post(To::Server, text);
                    }
                    BridgeAction::SendPing => {
                        // The server's WebSocket library answers with a pong.
                        if self.server.is_some() {
                            self.post(To::Bridge, String::new());
                        }
                    }
                    BridgeAction::Dial { .. } => {
                        self.dial_at = Some(self.now + Duration::from_millis(1))
                    }
                    BridgeAction::CloseServer(_) => self.drop_connection(),
                    BridgeAction::Event(_) => {}
                    BridgeAction::Exit(exit) => self.exit = Some(exit),
                }
            }
            if let Some(server) = self.server.as_mut() {
                let mut replies = Vec::new();
                while let Some(action) = server.poll_action() {
                    any = true;
                    match action {
                        Action::SendText(text) => replies.push(text),
                        Action::Event(Event::Request(request)) => {
                            let result =
                                request.params.clone().unwrap_or_else(RawJson::empty_object);
                            let _ = server.respond(request.id, Ok(result));
                        }
                        _ => {}
                    }
                }
                for text in replies {
                    self.post(To::Bridge, text);
                }
            }
            if !any {
                return;
            }
        }
    }

    fn drop_connection(&mut self) {
        self.server = None;
        let current = self.connection;
        self.in_flight.retain(|(_, _, connection, _, _)| *connection != current);
    }

    fn cut_now(&mut self) {
        self.drop_connection();
        self.bridge.handle_connection_lost(self.now, Failure::Transport("cut".into()));
    }

    fn deliver(&mut self, to: To, text: String) {
        self.frames_on_connection += 1;
        match to {
            To::Bridge if text.is_empty() => self.bridge.handle_server_activity(self.now),
            To::Bridge => {
                self.bridge.handle_server_payload(self.now, Payload::Text(text.as_bytes()))
            }
            To::Server => {
                let message: Value = serde_json::from_str(&text).expect("the bridge sends JSON");
                let label = message["method"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("answer {}", message["id"]));
                self.received.entry(self.connection).or_default().push(label);
                let reinit = message["method"] == "initialize"
                    && message["id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("mcp-ws-bridge-reinit-"));
                if reinit && self.refuse_reinit_once {
                    self.refuse_reinit_once = false;
                    let refusal = json!({"jsonrpc": "2.0", "id": message["id"],
                        "error": {"code": -32603, "message": "not ready yet"}});
                    self.post(To::Bridge, refusal.to_string());
                } else if let Some(server) = self.server.as_mut() {
                    server.handle_payload(self.now, Payload::Text(text.as_bytes()));
                }
            }
        }
        // The driver performs what this frame caused before it sees the next input (the cut).
        self.drain();
        if let Some(Cut::AfterFrames { connection, frames }) = self.cut {
            if connection == self.connection
                && self.frames_on_connection == frames
                && self.server.is_some()
            {
                self.cut_now();
            }
        }
    }

    /// Runs until the bridge exits (bounded).
    fn run(&mut self) {
        self.run_until(|world| world.exit.is_some());
    }

    /// Runs until `done` holds (bounded), one event at a time.
    fn run_until(&mut self, done: impl Fn(&World) -> bool) {
        self.drain();
        for _ in 0..20_000 {
            if done(self) {
                return;
            }
            let script_at = self.client_script.first().map(|(at, _)| *at);
            let eof_at = (!self.eof_sent).then_some(self.eof_at);
            let flap_at = match self.cut {
                Some(Cut::Flapping { up_for, until })
                    if self.server.is_some() && self.connection <= until =>
                {
                    Some(self.opened_at + up_for)
                }
                _ => None,
            };
            let next = [
                self.in_flight.iter().map(|(at, ..)| *at).min(),
                self.dial_at,
                self.bridge.poll_timeout(),
                self.server.as_ref().and_then(Session::poll_timeout),
                script_at,
                eof_at,
                flap_at,
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("something is always due before the bridge exits");
            self.now = self.now.max(next);
            if flap_at.is_some_and(|at| at <= self.now) {
                self.cut_now();
            } else if let Some(position) = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, (at, ..))| *at <= self.now)
                .min_by_key(|(_, (at, seq, ..))| (*at, *seq))
                .map(|(i, _)| i)
            {
                let (_, _, connection, to, text) = self.in_flight.remove(position);
                if connection == self.connection {
                    self.deliver(to, text);
                }
            } else if self.dial_at.is_some_and(|at| at <= self.now) {
                self.dial_at = None;
                self.connection += 1;
                self.frames_on_connection = 0;
                self.opened_at = self.now;
                self.server = Some(Session::new(server_config(), self.now).expect("valid"));
                self.bridge.handle_connected(self.now);
            } else if script_at.is_some_and(|at| at <= self.now) {
                let (_, line) = self.client_script.remove(0);
                self.bridge.handle_client_line(self.now, &line);
            } else if eof_at.is_some_and(|at| at <= self.now) {
                self.eof_sent = true;
                self.bridge.handle_client_eof(self.now);
            } else {
                self.bridge.handle_timeout(self.now);
                if let Some(server) = self.server.as_mut() {
                    server.handle_timeout(self.now);
                }
            }
            self.drain();
        }
        panic!("the simulation did not finish");
    }

    /// Every answer the client read, by request id.
    fn answers(&self) -> HashMap<u64, Vec<&Value>> {
        let mut answers: HashMap<u64, Vec<&Value>> = HashMap::new();
        for message in &self.stdout {
            if let Some(id) = message["id"].as_u64() {
                answers.entry(id).or_default().push(message);
            }
        }
        answers
    }
}

fn script(lines: &[(u64, String)]) -> Vec<(Instant, String)> {
    lines.iter().map(|(at, line)| (ms(*at), line.clone())).collect()
}

/// Asserts exactly one answer per id, each a result or the bridge's own -32000, never a
/// refusal for a missing lifecycle.
fn assert_one_answer_each(world: &World, ids: &[u64]) {
    let answers = world.answers();
    for id in ids {
        let got = answers.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(got.len(), 1, "request {id}: {got:?} (connections: {:?})", world.received);
        let answer = got[0];
        if let Some(error) = answer.get("error") {
            assert_eq!(
                error["code"], CONNECTION_LOST,
                "request {id} refused by the server: {answer}"
            );
        }
    }
    assert_eq!(world.exit, Some(BridgeExit::Done));
}

#[test]
fn a_cut_at_every_point_of_the_re_initialize_loses_nothing_and_doubles_nothing() {
    for frames in 0..10 {
        let lines = [
            (0, INITIALIZE.to_string()),
            (50, INITIALIZED.to_string()),
            (100, call(1)),
            (300, call(2)),
            (300, call(3)),
            (2_000, call(4)),
        ];
        let mut world = World::new(script(&lines), ms(3_000));
        // Connection 1 dies after call 1 (frames: initialize, its answer, initialized, call 1,
        // its answer); connection 2 dies after `frames` frames of its re-initialize and flush.
        world.cut = Some(Cut::AfterFrames { connection: 1, frames: 5 });
        world.run_until(|world| world.connection >= 2);
        world.cut = Some(Cut::AfterFrames { connection: 2, frames });
        world.run();
        assert_one_answer_each(&world, &[0, 1, 2, 3, 4]);
        let answers = world.answers();
        assert!(answers[&4][0].get("result").is_some(), "after the outage calls work again");
        if frames == 0 {
            // Nothing went out on connection 2, so the queued calls ran on connection 3.
            assert!(answers[&2][0].get("result").is_some());
            assert!(answers[&3][0].get("result").is_some());
        }
        // Every connection after the first began with the re-initialize, then initialized.
        for (connection, methods) in &world.received {
            if *connection > 1 && methods.len() >= 2 {
                assert_eq!(methods[0], "initialize", "connection {connection}: {methods:?}");
                assert_eq!(
                    methods[1], "notifications/initialized",
                    "connection {connection}: {methods:?}"
                );
            }
        }
    }
}

#[test]
fn a_flapping_server_costs_calls_in_flight_but_never_doubles_an_answer() {
    let mut lines = vec![(0, INITIALIZE.to_string()), (20, INITIALIZED.to_string())];
    let ids: Vec<u64> = (1..=30).collect();
    for id in &ids {
        lines.push((30 + id * 70, call(*id)));
    }
    let mut world = World::new(script(&lines), ms(4_000));
    world.cut = Some(Cut::Flapping { up_for: Duration::from_millis(120), until: 8 });
    world.run();
    assert_one_answer_each(&world, &ids);
    assert!(world.connection > 8, "it reconnected through the flapping: {}", world.connection);
    let answers = world.answers();
    let results = ids.iter().filter(|id| answers[id][0].get("result").is_some()).count();
    assert!(results >= 10, "most calls still succeed: {results} of {}", ids.len());
    let last = answers[&30][0];
    assert!(last.get("result").is_some(), "once the server is stable calls work: {last}");
}

#[test]
fn a_server_that_refuses_the_re_initialize_once_is_redialled_and_the_queued_call_runs() {
    let lines = [(0, INITIALIZE.to_string()), (20, INITIALIZED.to_string()), (200, call(1))];
    let mut world = World::new(script(&lines), ms(2_000));
    world.cut = Some(Cut::AfterFrames { connection: 1, frames: 3 });
    world.refuse_reinit_once = true;
    world.run();
    assert_one_answer_each(&world, &[0, 1]);
    assert!(world.answers()[&1][0].get("result").is_some());
    assert_eq!(
        world.received[&2],
        vec!["initialize".to_string()],
        "nothing but the refused re-initialize"
    );
    assert_eq!(world.received[&3][..3], ["initialize", "notifications/initialized", "tools/call"]);
}
