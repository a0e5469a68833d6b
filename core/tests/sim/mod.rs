//! A deterministic simulation of one client session and one server session on an in-memory
//! WebSocket link, on a virtual clock that jumps to the next deadline.
//!
//! The link adds latency and seeded jitter (which reorders messages), can lose text frames with
//! a seeded probability, and can be cut. WebSocket pings are answered by the receiving side's
//! "transport" with a pong, as tungstenite does. Every drive is bounded: a simulation that never
//! goes idle fails the test instead of hanging.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use mcp_ws_core::codec::Payload;
use mcp_ws_core::mcp::Implementation;
use mcp_ws_core::session::{Action, Event, IncomingRequest, Session, SessionConfig};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseReason, ErrorObject, RawJson};

/// A small seeded generator for the link (SplitMix64).
pub struct LinkRng(u64);

impl LinkRng {
    pub fn new(seed: u64) -> Self {
        LinkRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }
}

/// How the link behaves.
#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub latency: Duration,
    /// Up to this much extra delay per frame, uniformly; frames can overtake each other.
    pub jitter: Duration,
    /// Probability in per mille that a text frame is lost.
    pub loss_per_mille: u32,
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(5),
            jitter: Duration::ZERO,
            loss_per_mille: 0,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone)]
enum Packet {
    Text(String),
    Ping,
    Pong,
    Close(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What the simulated server application does with a request.
pub type ServerApp = Box<dyn FnMut(&IncomingRequest) -> Reply>;

/// The server application's decision about one request.
pub enum Reply {
    /// Answer now.
    Now(Result<RawJson, ErrorObject>),
    /// Answer after this much virtual time.
    After(Duration, Result<RawJson, ErrorObject>),
    /// Never answer.
    Never,
}

pub struct Pair {
    pub now: Instant,
    pub client: Session,
    pub server: Session,
    link: LinkConfig,
    rng: LinkRng,
    seq: u64,
    /// In flight: (deliver at, sequence, destination, packet).
    in_flight: Vec<(Instant, u64, Side, Packet)>,
    /// Server answers scheduled for later: (at, id, answer).
    scheduled: Vec<(Instant, mcp_ws_core::RequestId, Result<RawJson, ErrorObject>)>,
    pub client_events: Vec<(Instant, Event)>,
    pub server_events: Vec<(Instant, Event)>,
    /// Texts each side sent, in order.
    pub client_sent: Vec<String>,
    pub server_sent: Vec<String>,
    pub client_pings: usize,
    pub server_app: ServerApp,
    /// When true, the server's transport stops reading: nothing reaches it and it answers no ping.
    pub server_silent: bool,
    configs: (SessionConfig, SessionConfig),
    /// How many connections this pair has had (1 after `new`).
    pub connections: usize,
}

pub fn info(name: &str) -> Implementation {
    Implementation { name: name.into(), version: "1.0.0".into(), ..Default::default() }
}

pub fn raw(text: &str) -> RawJson {
    RawJson::from_string(text.to_owned()).expect("test JSON is valid")
}

/// A server application that echoes each request's params as its result.
pub fn echo_app() -> ServerApp {
    Box::new(|request: &IncomingRequest| {
        Reply::Now(Ok(request.params.clone().unwrap_or_else(RawJson::empty_object)))
    })
}

impl Pair {
    pub fn new(client: SessionConfig, server: SessionConfig, link: LinkConfig) -> Pair {
        let now = Instant::ZERO;
        Pair {
            now,
            client: Session::new(client.clone(), now).expect("valid client config"),
            server: Session::new(server.clone(), now).expect("valid server config"),
            configs: (client, server),
            connections: 1,
            rng: LinkRng::new(link.seed),
            link,
            seq: 0,
            in_flight: Vec::new(),
            scheduled: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_sent: Vec::new(),
            server_sent: Vec::new(),
            client_pings: 0,
            server_app: echo_app(),
            server_silent: false,
        }
    }

    fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    fn send(&mut self, to: Side, packet: Packet) {
        if matches!(packet, Packet::Text(_)) && self.rng.chance(self.link.loss_per_mille) {
            return;
        }
        let jitter_nanos = self.link.jitter.as_nanos() as u64;
        let jitter = if jitter_nanos == 0 { 0 } else { self.rng.next_u64() % (jitter_nanos + 1) };
        let at = self.now + self.link.latency + Duration::from_nanos(jitter);
        self.seq += 1;
        self.in_flight.push((at, self.seq, to, packet));
    }

    /// Performs every queued action of both sides; returns whether anything happened.
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut progressed = false;
            while let Some(action) = self.client.poll_action() {
                progressed = true;
                match action {
                    Action::SendText(text) => {
                        self.client_sent.push(text.clone());
                        self.send(Side::Server, Packet::Text(text));
                    }
                    Action::SendPing => {
                        self.client_pings += 1;
                        self.send(Side::Server, Packet::Ping);
                    }
                    Action::Event(event) => self.client_events.push((self.now, event)),
                    Action::Close(reason) => self.send(Side::Server, Packet::Close(reason)),
                }
            }
            while let Some(action) = self.server.poll_action() {
                progressed = true;
                match action {
                    Action::SendText(text) => {
                        self.server_sent.push(text.clone());
                        self.send(Side::Client, Packet::Text(text));
                    }
                    Action::SendPing => self.send(Side::Client, Packet::Ping),
                    Action::Event(Event::Request(request)) => {
                        let reply = (self.server_app)(&request);
                        self.server_events.push((self.now, Event::Request(request.clone())));
                        match reply {
                            Reply::Now(answer) => {
                                let _ = self.server.respond(request.id, answer);
                            }
                            Reply::After(delay, answer) => {
                                self.scheduled.push((self.now + delay, request.id, answer));
                            }
                            Reply::Never => {}
                        }
                    }
                    Action::Event(event) => self.server_events.push((self.now, event)),
                    Action::Close(reason) => self.send(Side::Client, Packet::Close(reason)),
                }
            }
            if !progressed {
                return any;
            }
            any = true;
        }
    }

    fn next_wakeup(&self) -> Option<Instant> {
        let flight = self.in_flight.iter().map(|(at, ..)| *at).min();
        let scheduled = self.scheduled.iter().map(|(at, ..)| *at).min();
        [flight, scheduled, self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn deliver_due(&mut self) {
        loop {
            let due = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, (at, ..))| *at <= self.now)
                .min_by_key(|(_, (at, seq, ..))| (*at, *seq))
                .map(|(i, _)| i);
            let Some(index) = due else { break };
            let (_, _, to, packet) = self.in_flight.swap_remove(index);
            let now = self.now;
            if to == Side::Server && self.server_silent {
                continue;
            }
            match packet {
                Packet::Text(text) => {
                    self.session(to).handle_payload(now, Payload::Text(text.as_bytes()))
                }
                Packet::Ping => {
                    self.session(to).handle_transport_activity(now);
                    let back = if to == Side::Client { Side::Server } else { Side::Client };
                    self.send(back, Packet::Pong);
                }
                Packet::Pong => self.session(to).handle_transport_activity(now),
                Packet::Close(reason) => self.session(to).handle_peer_close(Some(reason)),
            }
            self.drain();
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.scheduled).into_iter().partition(|(at, ..)| *at <= self.now);
        self.scheduled = later;
        for (_, id, answer) in due {
            let _ = self.server.respond(id, answer);
        }
    }

    /// Runs until `until`, jumping the clock from deadline to deadline; the clock ends at
    /// `until` even when nothing was due. Panics after `max_steps` wake-ups: a live-locked simulation is a bug.
    pub fn run_until(&mut self, until: Instant, max_steps: usize) {
        self.drain();
        for _ in 0..max_steps {
            let Some(next) = self.next_wakeup().filter(|next| *next <= until) else {
                self.now = self.now.max(until);
                return;
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            self.deliver_due();
            let now = self.now;
            self.client.handle_timeout(now);
            self.server.handle_timeout(now);
            self.drain();
        }
        panic!("simulation did not settle within {max_steps} steps (now = {:?})", self.now);
    }

    /// Runs for `span` of virtual time from now.
    pub fn run_for(&mut self, span: Duration) {
        let until = self.now + span;
        self.run_until(until, 100_000);
    }

    /// Cuts the link: both sides lose the transport, frames in flight vanish.
    pub fn cut(&mut self) {
        self.in_flight.clear();
        self.client.handle_transport_lost("link cut");
        self.server.handle_transport_lost("link cut");
        self.drain();
    }

    /// A new connection at the current time: fresh sessions on both sides, an empty link. The
    /// event and sent logs carry on, so tests see both connections.
    pub fn redial(&mut self) {
        self.in_flight.clear();
        self.scheduled.clear();
        self.client = Session::new(self.configs.0.clone(), self.now).expect("valid client config");
        self.server = Session::new(self.configs.1.clone(), self.now).expect("valid server config");
        self.connections += 1;
        self.drain();
    }

    pub fn client_ready(&self) -> Option<&mcp_ws_core::session::ReadyInfo> {
        self.client_events.iter().find_map(|(_, e)| match e {
            Event::Ready(info) => Some(&**info),
            _ => None,
        })
    }

    pub fn server_ready(&self) -> Option<&mcp_ws_core::session::ReadyInfo> {
        self.server_events.iter().find_map(|(_, e)| match e {
            Event::Ready(info) => Some(&**info),
            _ => None,
        })
    }

    /// The outcomes the client saw, in order, as (id, outcome, when).
    pub fn client_outcomes(
        &self,
    ) -> Vec<(mcp_ws_core::RequestId, mcp_ws_core::session::Outcome, Instant)> {
        self.client_events
            .iter()
            .filter_map(|(at, e)| match e {
                Event::RequestEnded { id, outcome } => Some((id.clone(), outcome.clone(), *at)),
                _ => None,
            })
            .collect()
    }
}

/// Decodes a sent text as JSON for assertions.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("sent texts are JSON")
}

/// The methods of the requests and notifications among `texts`.
pub fn methods(texts: &[String]) -> VecDeque<String> {
    texts
        .iter()
        .filter_map(|t| json(t).get("method").and_then(|m| m.as_str()).map(str::to_owned))
        .collect()
}
