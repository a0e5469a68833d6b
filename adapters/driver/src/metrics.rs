//! What the server counts, recorded through the [`metrics`] facade: the metric names (one
//! constant each), their labels (bounded sets of static strings) and the few recording points
//! the server's accept path, connection loop and request handlers call.
//!
//! Nothing is exported by this crate: an application installs the recorder it likes (the
//! `mcp-ws` binary installs `metrics-exporter-prometheus` and serves it on `GET /metrics`; an
//! axum application can install the same, or any other `metrics` recorder). Without a
//! recorder every recording is a call into the facade's no-op recorder: no allocation, no
//! lock. The connection loop registers its four counters once per connection and then only
//! adds to them; a request costs a clock read, one counter and one histogram lookup.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`CONNECTIONS_ACTIVE`] | gauge | |
//! | [`CONNECTIONS_TOTAL`] | counter | `outcome`: `accepted`, `busy`, `busy_per_ip`, `dropped`, `draining`, `unauthorized`, `forbidden`, `not_found`, `bad_request`, `timed_out`, `tls_error`, `io_error`, `http` (a plain GET answered) |
//! | [`REQUESTS_TOTAL`] | counter | `method` (see [`method_label`]), `outcome`: `ok`, `error`, `cancelled`, `panicked`, `refused` (the server was shutting down) |
//! | [`REQUEST_DURATION_SECONDS`] | histogram | `method` |
//! | [`MESSAGES_TOTAL`] | counter | `direction`: `in`, `out` (MCP messages, one per text frame) |
//! | [`BYTES_TOTAL`] | counter | `direction`: `in`, `out` (the frames' payload bytes) |
//! | [`CLOSES_TOTAL`] | counter | `code`: `1000` … `1011` as sent or received, else `other` |
//!
//! Only server connections are counted (those of [`crate::Server`], the axum handler
//! included); the client's connections are not.

use std::time::Instant;

use mcp_ws_core::mcp::methods;
use metrics::{Counter, counter, gauge, histogram};

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
    CLIENT_METHODS.iter().find(|known| **known == method).copied().unwrap_or("other")
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
        AcceptError::Refused { status, .. } => match status {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            // The handshake answers 503 only while draining; the gate's 503 is counted apart.
            503 => "draining",
            _ => "bad_request",
        },
    }
}

/// The `outcome` label of a connection over a cap.
pub fn busy_outcome(busy: &Busy) -> &'static str {
    match busy {
        Busy::Full { .. } => "busy",
        Busy::PerAddress { .. } => "busy_per_ip",
    }
}

/// Counts one connection in [`CONNECTIONS_TOTAL`].
pub fn count_connection(outcome: &'static str) {
    counter!(CONNECTIONS_TOTAL, "outcome" => outcome).increment(1);
}

/// Counts one close in [`CLOSES_TOTAL`].
pub(crate) fn count_close(code: u16) {
    counter!(CLOSES_TOTAL, "code" => close_code_label(code)).increment(1);
}

/// Counts a request refused at once (the server is shutting down).
pub(crate) fn count_refused_request(method: &str) {
    counter!(REQUESTS_TOTAL, "method" => method_label(method), "outcome" => "refused").increment(1);
}

/// One open connection in [`CONNECTIONS_ACTIVE`], until dropped.
pub(crate) struct ActiveConnection(());

impl ActiveConnection {
    pub(crate) fn open() -> Self {
        gauge!(CONNECTIONS_ACTIVE).increment(1.0);
        ActiveConnection(())
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS_ACTIVE).decrement(1.0);
    }
}

/// One connection's message and byte counters, registered once.
pub(crate) struct ConnectionMetrics {
    messages_in: Counter,
    messages_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
}

impl ConnectionMetrics {
    /// Counters in the installed recorder (a server connection).
    pub(crate) fn registered() -> Self {
        ConnectionMetrics {
            messages_in: counter!(MESSAGES_TOTAL, "direction" => "in"),
            messages_out: counter!(MESSAGES_TOTAL, "direction" => "out"),
            bytes_in: counter!(BYTES_TOTAL, "direction" => "in"),
            bytes_out: counter!(BYTES_TOTAL, "direction" => "out"),
        }
    }

    /// Counters that count nothing (a client connection).
    pub(crate) fn none() -> Self {
        ConnectionMetrics {
            messages_in: Counter::noop(),
            messages_out: Counter::noop(),
            bytes_in: Counter::noop(),
            bytes_out: Counter::noop(),
        }
    }

    pub(crate) fn received(&self, bytes: usize) {
        self.messages_in.increment(1);
        self.bytes_in.increment(bytes as u64);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.messages_out.increment(1);
        self.bytes_out.increment(bytes as u64);
    }
}

/// One request being handled: recorded in [`REQUESTS_TOTAL`] and
/// [`REQUEST_DURATION_SECONDS`] when dropped, with the outcome [`Self::finished`] set
/// (`cancelled` if none was: its future was dropped; `panicked` while unwinding).
pub(crate) struct RequestRecord {
    method: &'static str,
    started: Instant,
    outcome: Option<&'static str>,
}

impl RequestRecord {
    pub(crate) fn start(method: &str) -> Self {
        RequestRecord { method: method_label(method), started: Instant::now(), outcome: None }
    }

    pub(crate) fn finished<T, E>(&mut self, answer: &Result<T, E>) {
        self.outcome = Some(if answer.is_ok() { "ok" } else { "error" });
    }
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        let outcome = match self.outcome {
            Some(outcome) => outcome,
            None if std::thread::panicking() => "panicked",
            None => "cancelled",
        };
        counter!(REQUESTS_TOTAL, "method" => self.method, "outcome" => outcome).increment(1);
        histogram!(REQUEST_DURATION_SECONDS, "method" => self.method)
            .record(self.started.elapsed().as_secs_f64());
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
        assert_eq!(busy_outcome(&Busy::Full { limit: 1 }), "busy");
    }
}
