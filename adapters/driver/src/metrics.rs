//! What the server counts, recorded through the [`metrics`] facade: the metric names (one
//! constant each), their labels (bounded sets of static strings) and the few recording points
//! the server's accept path, connection loop and request handlers call.
//!
//! Nothing is exported by this crate: an application installs the recorder it likes (the
//! `mcp-ws` binary installs `metrics-exporter-prometheus` and serves it on `GET /metrics`; an
//! axum application can install the same, or any other `metrics` recorder). Without a
//! recorder every recording is a call into the facade's no-op recorder: no allocation, no
//! lock. The connection loop registers its four counters once per connection and publishes
//! its local totals to them once per batch of frames; a request costs a clock read and, with
//! handles looked up once per connection and method, one counter add and one histogram
//! record.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`CONNECTIONS_ACTIVE`] | gauge | `transport` |
//! | [`CONNECTIONS_TOTAL`] | counter | `outcome`: `accepted`, `busy`, `busy_per_ip`, `dropped`, `draining`, `unauthorized`, `forbidden`, `not_found`, `bad_request`, `timed_out`, `tls_error`, `io_error`, `http` (a plain GET answered, or a TCP connection handed to Streamable HTTP); `transport` |
//!
//! The `transport` label says which MCP transport a connection is (or was asking to be):
//! `websocket` for everything on the upgrade path, `http` for Streamable HTTP, where a legacy
//! session counts as one connection (`accepted` when `initialize` opens it, `busy` when a cap
//! refuses it) and the TCP connections carrying its requests as `http`.
//! | [`REQUESTS_TOTAL`] | counter | `method` (see [`method_label`]), `outcome`: `ok`, `error`, `cancelled`, `panicked`, `refused` (the server was shutting down) |
//! | [`REQUEST_DURATION_SECONDS`] | histogram | `method` |
//! | [`MESSAGES_TOTAL`] | counter | `direction`: `in`, `out` (MCP messages, one per text frame) |
//! | [`BYTES_TOTAL`] | counter | `direction`: `in`, `out` (the frames' payload bytes) |
//! | [`CLOSES_TOTAL`] | counter | `code`: `1000` … `1011` as sent or received, else `other` |
//!
//! Only server connections are counted (those of [`crate::Server`], the axum handler
//! included); the client's connections are not.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use mcp_ws_core::mcp::methods;
use metrics::{Counter, Histogram, Key, Label, Level, Metadata, counter, gauge};

use crate::server::accept::AcceptError;
use crate::server::limits::Busy;

/// Server connections open now (upgraded, session running).
pub const CONNECTIONS_ACTIVE: &str = "mcp_ws_connections_active";
/// Connections accepted on the listener, by `outcome`: upgraded or why not.
pub const CONNECTIONS_TOTAL: &str = "mcp_ws_connections_total";
/// Requests from clients handled, by `method` and `outcome`.
pub const REQUESTS_TOTAL: &str = "mcp_ws_requests_total";
/// How long handlers took, by `method`, in seconds.
pub const REQUEST_DURATION_SECONDS: &str = "mcp_ws_request_duration_seconds";
/// MCP messages (text frames), by `direction`.
pub const MESSAGES_TOTAL: &str = "mcp_ws_messages_total";
/// Payload bytes of the messages, by `direction`.
pub const BYTES_TOTAL: &str = "mcp_ws_bytes_total";
/// Closed connections, by close `code`.
pub const CLOSES_TOTAL: &str = "mcp_ws_closes_total";

/// Sends the descriptions of every metric to the installed recorder (exporters print them as
/// `# HELP`). Call it once after installing a recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(CONNECTIONS_ACTIVE, "MCP WebSocket connections open now");
    describe_counter!(CONNECTIONS_TOTAL, "Connections accepted, by upgrade outcome");
    describe_counter!(REQUESTS_TOTAL, "Client requests handled, by method and outcome");
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time the server took to answer a request, by method"
    );
    describe_counter!(MESSAGES_TOTAL, "MCP messages (text frames), by direction");
    describe_counter!(BYTES_TOTAL, Unit::Bytes, "Payload bytes of MCP messages, by direction");
    describe_counter!(CLOSES_TOTAL, "Closed connections, by WebSocket close code");
}

/// Buckets fit for [`REQUEST_DURATION_SECONDS`]: 100 µs to 60 s.
pub const DURATION_BUCKETS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0];

/// Every method a client may send a server, in all five protocol versions.
const CLIENT_METHODS: &[&str] = &[
    methods::INITIALIZE,
    methods::PING,
    methods::SERVER_DISCOVER,
    methods::TOOLS_LIST,
    methods::TOOLS_CALL,
    methods::RESOURCES_LIST,
    methods::RESOURCES_TEMPLATES_LIST,
    methods::RESOURCES_READ,
    methods::RESOURCES_SUBSCRIBE,
    methods::RESOURCES_UNSUBSCRIBE,
    methods::PROMPTS_LIST,
    methods::PROMPTS_GET,
    methods::COMPLETION_COMPLETE,
    methods::LOGGING_SET_LEVEL,
    methods::SUBSCRIPTIONS_LISTEN,
    methods::TASKS_GET,
    methods::TASKS_RESULT,
    methods::TASKS_LIST,
    methods::TASKS_CANCEL,
];

/// The `method` label of a request: the method's name when MCP defines it as a client
/// request, `other` for anything else (a peer cannot grow the label set).
pub fn method_label(method: &str) -> &'static str {
    CLIENT_METHODS.get(method_index(method)).copied().unwrap_or("other")
}

/// The `code` label of a close code.
pub fn close_code_label(code: u16) -> &'static str {
    match code {
        1000 => "1000",
        1001 => "1001",
        1002 => "1002",
        1003 => "1003",
        1005 => "1005",
        1006 => "1006",
        1007 => "1007",
        1008 => "1008",
        1009 => "1009",
        1010 => "1010",
        1011 => "1011",
        _ => "other",
    }
}

/// The `outcome` label of a handshake that did not upgrade.
pub fn accept_outcome(error: &AcceptError) -> &'static str {
    match error {
        AcceptError::TimedOut => "timed_out",
        AcceptError::Tls(_) => "tls_error",
        AcceptError::Io(_) => "io_error",
        AcceptError::Dropped(_) => "dropped",
        AcceptError::Busy(busy) => busy_outcome(busy),
        AcceptError::Answered { .. } => "http",
        AcceptError::Refused { status, .. } => refusal_outcome(*status),
    }
}

/// The `outcome` label of a handshake refused with `status` by
/// [`crate::server::handshake::decide`] (which answers 503 only while draining; the
/// connection gate's 503 is [`busy_outcome`]).
pub fn refusal_outcome(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        426 => "not_websocket",
        503 => "draining",
        _ => "bad_request",
    }
}

/// The `outcome` label of a connection over a cap.
pub fn busy_outcome(busy: &Busy) -> &'static str {
    match busy {
        Busy::Full { .. } => "busy",
        Busy::PerAddress { .. } => "busy_per_ip",
    }
}

/// The `transport` label of a WebSocket connection.
pub const WEBSOCKET: &str = "websocket";
/// The `transport` label of Streamable HTTP.
pub const HTTP: &str = "http";

/// Counts one WebSocket connection in [`CONNECTIONS_TOTAL`].
pub fn count_connection(outcome: &'static str) {
    count_connection_on(WEBSOCKET, outcome);
}

/// Counts one connection of `transport` ([`WEBSOCKET`] or [`HTTP`]) in [`CONNECTIONS_TOTAL`].
pub fn count_connection_on(transport: &'static str, outcome: &'static str) {
    counter!(CONNECTIONS_TOTAL, "outcome" => outcome, "transport" => transport).increment(1);
}

/// Counts one close in [`CLOSES_TOTAL`].
pub(crate) fn count_close(code: u16) {
    counter!(CLOSES_TOTAL, "code" => close_code_label(code)).increment(1);
}

/// One open connection of a transport in [`CONNECTIONS_ACTIVE`], until dropped.
pub(crate) struct ActiveConnection(&'static str);

impl ActiveConnection {
    pub(crate) fn open(transport: &'static str) -> Self {
        gauge!(CONNECTIONS_ACTIVE, "transport" => transport).increment(1.0);
        ActiveConnection(transport)
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS_ACTIVE, "transport" => self.0).decrement(1.0);
    }
}

/// One connection's message and byte counters, registered once. The loop adds to local
/// totals and publishes them to the shared counters once per batch ([`Self::publish`]), so
/// connections on different threads do not contend on the counters' cache lines per message.
pub(crate) struct ConnectionMetrics {
    messages_in: Counter,
    messages_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    /// Not yet published: messages in, bytes in, messages out, bytes out.
    pending: [u64; 4],
}

impl ConnectionMetrics {
    /// Counters in the installed recorder (a server connection).
    pub(crate) fn registered() -> Self {
        ConnectionMetrics {
            messages_in: counter!(MESSAGES_TOTAL, "direction" => "in"),
            messages_out: counter!(MESSAGES_TOTAL, "direction" => "out"),
            bytes_in: counter!(BYTES_TOTAL, "direction" => "in"),
            bytes_out: counter!(BYTES_TOTAL, "direction" => "out"),
            pending: [0; 4],
        }
    }

    /// Counters that count nothing (a client connection).
    pub(crate) fn none() -> Self {
        ConnectionMetrics {
            messages_in: Counter::noop(),
            messages_out: Counter::noop(),
            bytes_in: Counter::noop(),
            bytes_out: Counter::noop(),
            pending: [0; 4],
        }
    }

    pub(crate) fn received(&mut self, bytes: usize) {
        self.pending[0] += 1;
        self.pending[1] += bytes as u64;
    }

    pub(crate) fn sent(&mut self, bytes: usize) {
        self.pending[2] += 1;
        self.pending[3] += bytes as u64;
    }

    /// Adds what was counted since the last call to the shared counters.
    pub(crate) fn publish(&mut self) {
        if self.pending == [0; 4] {
            return;
        }
        let [messages_in, bytes_in, messages_out, bytes_out] = std::mem::take(&mut self.pending);
        self.messages_in.increment(messages_in);
        self.bytes_in.increment(bytes_in);
        self.messages_out.increment(messages_out);
        self.bytes_out.increment(bytes_out);
    }
}

/// The `outcome` labels of [`REQUESTS_TOTAL`].
const REQUEST_OUTCOMES: [&str; 5] = ["ok", "error", "cancelled", "panicked", "refused"];
const OK: usize = 0;
const ERROR: usize = 1;
const CANCELLED: usize = 2;
const PANICKED: usize = 3;
const REFUSED: usize = 4;

/// The keys of the per-request metrics, built once: every method label with every outcome
/// (a `counter!` whose label values are not literals builds its key, a vector of labels, on
/// every call, recorder or not).
struct RequestKeys {
    /// `[method][outcome]`, methods in [`CLIENT_METHODS`] order, then `other`.
    requests: Vec<[Key; REQUEST_OUTCOMES.len()]>,
    /// `[method]`.
    durations: Vec<Key>,
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

fn request_keys() -> &'static RequestKeys {
    static KEYS: OnceLock<RequestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let methods = CLIENT_METHODS.iter().copied().chain(["other"]);
        let labels = |method: &'static str| vec![Label::from_static_parts("method", method)];
        RequestKeys {
            requests: methods
                .clone()
                .map(|method| {
                    REQUEST_OUTCOMES.map(|outcome| {
                        let mut labels = labels(method);
                        labels.push(Label::from_static_parts("outcome", outcome));
                        Key::from_parts(REQUESTS_TOTAL, labels)
                    })
                })
                .collect(),
            durations: methods
                .map(|method| Key::from_parts(REQUEST_DURATION_SECONDS, labels(method)))
                .collect(),
        }
    })
}

/// The index of a method in [`RequestKeys`] (`other` last).
fn method_index(method: &str) -> usize {
    CLIENT_METHODS.iter().position(|known| *known == method).unwrap_or(CLIENT_METHODS.len())
}

fn count_request(method: usize, outcome: usize) {
    let key = &request_keys().requests[method][outcome];
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(1));
}

/// Counts a request refused at once (the server is shutting down).
pub(crate) fn count_refused_request(method: &str) {
    count_request(method_index(method), REFUSED);
}

/// One method's handles, registered on first use on a connection.
#[derive(Default)]
struct MethodHandles {
    outcomes: [OnceLock<Counter>; REQUEST_OUTCOMES.len()],
    duration: OnceLock<Histogram>,
}

/// One connection's request handles: each (method, outcome) is looked up in the recorder
/// once per connection, not once per request. Bounded by the method labels.
#[derive(Default)]
pub(crate) struct RequestMetrics {
    methods: Vec<Option<Arc<MethodHandles>>>,
}

impl RequestMetrics {
    /// Starts recording one request of `method`.
    pub(crate) fn start(&mut self, method: &str) -> RequestRecord {
        let index = method_index(method);
        if self.methods.is_empty() {
            self.methods.resize_with(CLIENT_METHODS.len() + 1, || None);
        }
        let handles = self.methods[index].get_or_insert_with(Arc::default).clone();
        RequestRecord { method: index, handles, started: Instant::now(), outcome: None }
    }
}

/// One request being handled: recorded in [`REQUESTS_TOTAL`] and
/// [`REQUEST_DURATION_SECONDS`] when dropped, with the outcome [`Self::finished`] set
/// (`cancelled` if none was: its future was dropped; `panicked` while unwinding).
pub(crate) struct RequestRecord {
    method: usize,
    handles: Arc<MethodHandles>,
    started: Instant,
    outcome: Option<usize>,
}

impl RequestRecord {
    pub(crate) fn finished<T, E>(&mut self, answer: &Result<T, E>) {
        self.outcome = Some(if answer.is_ok() { OK } else { ERROR });
    }
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        let outcome = match self.outcome {
            Some(outcome) => outcome,
            None if std::thread::panicking() => PANICKED,
            None => CANCELLED,
        };
        let keys = request_keys();
        let counter = self.handles.outcomes[outcome].get_or_init(|| {
            let key = &keys.requests[self.method][outcome];
            metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
        });
        counter.increment(1);
        let duration = self.handles.duration.get_or_init(|| {
            let key = &keys.durations[self.method];
            metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA))
        });
        duration.record(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_bounded_sets() {
        assert_eq!(method_label("tools/call"), "tools/call");
        assert_eq!(method_label("server/discover"), "server/discover");
        assert_eq!(method_label("tools/call/../../x"), "other");
        assert_eq!(method_label("notifications/initialized"), "other");
        assert_eq!(close_code_label(1001), "1001");
        assert_eq!(close_code_label(4000), "other");
        let refused = |status| AcceptError::Refused { status, reason: String::new() };
        assert_eq!(accept_outcome(&refused(401)), "unauthorized");
        assert_eq!(accept_outcome(&refused(503)), "draining");
        assert_eq!(accept_outcome(&refused(431)), "bad_request");
        // What scanners get: counted apart, so the logs can keep them at debug.
        assert_eq!(accept_outcome(&refused(404)), "not_found");
        assert_eq!(accept_outcome(&refused(426)), "not_websocket");
        assert_eq!(busy_outcome(&Busy::Full { limit: 1 }), "busy");
        let keys = request_keys();
        let key = &keys.requests[method_index("tools/call")][ERROR];
        let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
        assert_eq!(labels, [("method", "tools/call"), ("outcome", "error")]);
        let other = &keys.durations[method_index("x")];
        assert_eq!(other.labels().next().map(|l| l.value()), Some("other"));
    }
}
