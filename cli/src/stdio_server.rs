//! `mcp-ws serve --stdio -- CMD [ARGS...]`: any stdio MCP server, exposed over WebSocket.
//!
//! Each WebSocket connection gets its own child process (MCP sessions are stateful; children
//! are never shared). Frames are checked with the core's decoder (malformed ones get their
//! JSON-RPC error or close code, as on every mcp-ws endpoint) and written to the child as one
//! compact JSON line each, ids untouched, through a queue bounded in bytes
//! (`--stdio-queue-bytes`) that a task of its own writes to the child's stdin, so the relay
//! always goes on reading the child's stdout (a child answering large results while it reads
//! nothing never deadlocks with it); while the queue is full the client is not read. The
//! child's stdout lines go back as text frames. The
//! child's stderr is logged. The child is killed when its connection ends; a child that cannot
//! start, or exits, closes the connection with 1011 and a reason saying so.

use std::collections::VecDeque;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_ws_driver::Runtime;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::{Bytes, Message as WsMessage};
use mcp_ws_driver::core::codec::Limits;
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::core::relay::{RelayAction, RelayConfig, StdioRelay};
use mcp_ws_driver::core::{CloseCode, CloseReason};
use mcp_ws_driver::server::accept::{self, ConnectionAddrs, HandshakeConfig};
use mcp_ws_driver::server::limits::{ConnectionGate, Permit};
use mcp_ws_driver::ws_io::{
    Inbound, WebSocketIo, classify, close_handshake, sleep_until_deadline, write_by,
};
use mcp_ws_tokio::Tokio;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::args::ServeArgs;
use crate::listener::Gated;
use crate::ws_io::{BoundedLines, Line, LineWriteFailed, write_line};

/// Settings each connection needs.
struct Relay {
    command: Vec<String>,
    /// The handshake checks (TLS, token, Origin, Host), as the demo server's.
    handshake: HandshakeConfig,
    net: Tokio,
    local: std::net::SocketAddr,
    limits: Limits,
    ping: Option<Duration>,
    idle: Option<Duration>,
    /// How long a child gets after its stdin closes, and again after SIGTERM.
    kill_grace: Duration,
    /// Bytes of client messages that may wait for the child to read them.
    input_queue_bytes: usize,
    /// Becomes true when the server shuts down.
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// Serves `command` until Ctrl-C.
pub async fn run(args: &ServeArgs, command: &[String]) -> Result<ExitCode, String> {
    let identity = Implementation::new("mcp-ws", env!("CARGO_PKG_VERSION"));
    let mut signals = crate::operate::StopSignals::new();
    let config = crate::serve::server_config(args, identity)?;
    crate::serve::start_metrics_listener(args, &config).await?;
    crate::serve::handle_hangup(config.tls.clone());
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://{addr}{}", args.path);
    println!("{url}");
    tracing::info!(%url, command = ?command, "serving a stdio MCP server over WebSocket");
    crate::serve::log_security(&config);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let relay = Arc::new(Relay {
        command: command.to_vec(),
        handshake: config.handshake_config(),
        net: Tokio::new(),
        local: addr,
        limits: Limits { max_message_bytes: args.max_message_bytes, ..Limits::default() },
        ping: args.ping(),
        idle: args.idle(),
        kill_grace: Duration::from_secs(args.kill_grace),
        input_queue_bytes: args.stdio_queue_bytes.max(1),
        stopping,
    });
    let next_id = AtomicU64::new(1);
    let mut connections = tokio::task::JoinSet::new();
    // Each connection holds a child: its socket and three pipes.
    let gate = ConnectionGate::new(crate::serve::connection_limits(args, 64, 5));
    let mut gated = Gated::new(listener, addr, gate, relay.handshake.clone());
    loop {
        tokio::select! {
            _ = signals.next() => break,
            incoming = gated.next() => {
                // None: accepting failed (and backed off); the loop goes on.
                if let Some(incoming) = incoming {
                    incoming.spawn_into(&mut connections, {
                        let relay = relay.clone();
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        move |stream, peer, mut permit| async move {
                            tracing::info!(connection = id, %peer, "connection accepted");
                            if let Err(error) = relay.serve(id, stream, peer, &mut permit).await {
                                tracing::info!(connection = id, "connection failed: {error}");
                            }
                        }
                    });
                }
            }
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Graceful shutdown: every relay closes its client with 1001 and stops its child.
    tracing::info!(connections = connections.len(), "shutting down");
    if let Some(drain) = &config.drain {
        drain.start();
    }
    let _ = stop.send(true);
    let all_done = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, all_done).await.is_err() {
        tracing::warn!("some connections did not end within {SHUTDOWN_GRACE:?}");
    }
    Ok(ExitCode::SUCCESS)
}

/// How long a shutdown waits for the relays to close their clients and stop their children.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Stops a child whose connection ended: its stdin is already closed (many stdio servers exit
/// on that alone); after `grace` its process group gets SIGTERM, after another `grace`
/// SIGKILL. Then it is reaped, and whatever else is left in its group is stopped the same way.
async fn stop_child(id: u64, child: &mut Child, grace: Duration) {
    drop(child.stdin.take());
    let group = child.id();
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        signal_group(group, Signal::Term);
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            tracing::warn!(connection = id, "the stdio server ignored SIGTERM; killing it");
            signal_group(group, Signal::Kill);
            let _ = child.wait().await;
        }
    }
    // The leader is gone; its group may not be (a server started by a shell or a launcher).
    if group_alive(group) {
        signal_group(group, Signal::Term);
        let deadline = tokio::time::Instant::now() + grace;
        while group_alive(group) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if group_alive(group) {
            signal_group(group, Signal::Kill);
        }
    }
}

/// The two signals a child's group gets.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

#[cfg(unix)]
fn signal_group(group: Option<u32>, signal: Signal) {
    use nix::sys::signal::{Signal as Nix, killpg};
    use nix::unistd::Pid;
    let Some(pid) = group.and_then(|pid| i32::try_from(pid).ok()) else { return };
    let signal = match signal {
        Signal::Term => Nix::SIGTERM,
        Signal::Kill => Nix::SIGKILL,
    };
    let _ = killpg(Pid::from_raw(pid), signal);
}

#[cfg(unix)]
fn group_alive(group: Option<u32>) -> bool {
    use nix::sys::signal::killpg;
    use nix::unistd::Pid;
    group
        .and_then(|pid| i32::try_from(pid).ok())
        .is_some_and(|pid| killpg(Pid::from_raw(pid), None).is_ok())
}

#[cfg(not(unix))]
fn signal_group(_group: Option<u32>, _signal: Signal) {}

#[cfg(not(unix))]
fn group_alive(_group: Option<u32>) -> bool {
    false
}

/// The child's stdin, written by a task of its own ([`ChildWriter`]) from a queue bounded in
/// bytes, so that a child busy writing large answers (and reading nothing meanwhile) never
/// holds up the relay: the relay keeps reading the child's stdout, and stops reading its
/// client only while the queue is full. A line longer than the whole bound is let in alone
/// (the message limit bounds it). A child that takes no input for the write timeout fails
/// the connection.
struct ChildInput {
    lines: tokio::sync::mpsc::UnboundedSender<(String, OwnedSemaphorePermit)>,
    /// One permit per byte (a line costs its length and newline, at most `bound`).
    room: Arc<Semaphore>,
    bound: u32,
    /// Lines that found the queue full, oldest first; they go in as room frees up.
    waiting: VecDeque<String>,
}

/// The task writing [`ChildInput`]'s queue to the child; aborted (closing the child's stdin)
/// when dropped.
struct ChildWriter(Option<tokio::task::JoinHandle<Result<(), LineWriteFailed>>>);

impl ChildInput {
    fn start<W>(mut stdin: W, bound: usize, write_timeout: Duration) -> (Self, ChildWriter)
    where
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let bound = u32::try_from(bound.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        let (lines, mut queued) =
            tokio::sync::mpsc::unbounded_channel::<(String, OwnedSemaphorePermit)>();
        let writer = tokio::spawn(async move {
            while let Some((line, permit)) = queued.recv().await {
                write_line(&mut stdin, &line, write_timeout).await?;
                drop(permit);
            }
            Ok(())
        });
        let room = Arc::new(Semaphore::new(bound as usize));
        let input = ChildInput { lines, room, bound, waiting: VecDeque::new() };
        (input, ChildWriter(Some(writer)))
    }

    fn cost(&self, line: &str) -> u32 {
        u32::try_from(line.len() + 1).unwrap_or(u32::MAX).min(self.bound)
    }

    /// Queues `line`, or holds it until there is room (then [`ChildInput::is_full`]).
    fn push(&mut self, line: String) {
        if !self.waiting.is_empty() {
            self.waiting.push_back(line);
            return;
        }
        match self.room.clone().try_acquire_many_owned(self.cost(&line)) {
            Ok(permit) => drop(self.lines.send((line, permit))),
            Err(_) => self.waiting.push_back(line),
        }
    }

    /// Whether lines wait for room.
    fn is_full(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Waits until the oldest waiting line fits, and queues it.
    async fn room(&mut self) {
        let Some(cost) = self.waiting.front().map(|line| self.cost(line)) else { return };
        if let Ok(permit) = self.room.clone().acquire_many_owned(cost).await {
            if let Some(line) = self.waiting.pop_front() {
                let _ = self.lines.send((line, permit));
            }
        }
    }
}

impl ChildWriter {
    /// Completes when writing to the child failed; never otherwise.
    async fn failed(&mut self) -> LineWriteFailed {
        if let Some(writer) = &mut self.0 {
            let ended = writer.await;
            self.0 = None;
            if let Ok(Err(failed)) = ended {
                return failed;
            }
        }
        std::future::pending().await
    }
}

impl Drop for ChildWriter {
    fn drop(&mut self) {
        if let Some(writer) = &self.0 {
            writer.abort();
        }
    }
}

/// The longest stderr line of a child that is logged (longer ones are skipped).
const STDERR_LINE_MAX: usize = 16 * 1024;

/// How long the close handshake with a client may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one write may take when no idle timeout is set.
fn ws_io_timeout() -> Duration {
    Duration::from_secs(60)
}

impl Relay {
    async fn serve(
        &self,
        id: u64,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        permit: &mut Permit,
    ) -> Result<(), String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let addrs = ConnectionAddrs { peer: Some(peer), local: Some(self.local) };
        let stream = TokioAdapter::new(stream);
        let accepted =
            accept::accept_admitted(&self.net, stream, addrs, &self.handshake, Some(permit))
                .await
                .map_err(|e| format!("upgrade failed: {e}"))?;
        tracing::debug!(connection = id, principal = ?accepted.principal, "upgraded");
        let mut ws = accepted.ws;
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so that what it starts (`sh -c`, `npx`, `uvx`) is signalled too.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let reason = CloseReason::new(
                    CloseCode::INTERNAL_ERROR,
                    format!("could not start the stdio server: {error}"),
                );
                let net = self.net.clone();
                close_handshake(&net, &mut ws, Some(reason.clone()), net.now() + CLOSE_TIMEOUT)
                    .await;
                return Err(reason.reason.to_string());
            }
        };
        tracing::info!(connection = id, pid = child.id(), "stdio server started");
        let net = self.net.clone();
        match self.relay(id, &mut ws, &mut child).await {
            Some(reason) => {
                tracing::info!(connection = id, code = reason.code.0, reason = %reason.reason, "closing");
                close_handshake(&net, &mut ws, Some(reason), net.now() + CLOSE_TIMEOUT).await;
            }
            None => {
                tracing::info!(connection = id, "the client closed or is gone");
                // Sends the library's answer to a client's close frame, if it sent one (a flush:
                // sending a close of our own after the peer's is refused).
                let _ = write_by(&net, net.now() + CLOSE_TIMEOUT, ws.flush()).await;
            }
        }
        stop_child(id, &mut child, self.kill_grace).await;
        Ok(())
    }

    /// Moves messages both ways until one side ends; returns the close reason for the client
    /// (`None` when the client is gone and nothing can be sent).
    ///
    /// What to do with each frame, line and tick is the core's [`StdioRelay`] machine; this
    /// loop performs its actions, every write bounded in time.
    async fn relay<S>(&self, id: u64, ws: &mut S, child: &mut Child) -> Option<CloseReason>
    where
        S: WebSocketIo,
    {
        let net = self.net.clone();
        let write_timeout = self.idle.unwrap_or(ws_io_timeout());
        let (mut input, mut writer) = ChildInput::start(
            child.stdin.take().expect("piped"),
            self.input_queue_bytes,
            write_timeout,
        );
        let max = self.limits.max_message_bytes;
        let mut stdout =
            BoundedLines::new(BufReader::new(child.stdout.take().expect("piped")), max);
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BoundedLines::new(BufReader::new(stderr), STDERR_LINE_MAX);
                while let Ok(Some(line)) = lines.next_line().await {
                    match line {
                        Line::Text(text) => tracing::info!(
                            connection = id,
                            "stdio server: {}",
                            String::from_utf8_lossy(text)
                        ),
                        Line::TooLong => tracing::info!(
                            connection = id,
                            "stdio server: (a stderr line over {STDERR_LINE_MAX} bytes, not shown)"
                        ),
                    }
                }
            });
        }
        let mut machine = StdioRelay::new(self.relay_config(), net.now());
        let mut stopping = self.stopping.clone();
        loop {
            let deadline = net.now() + write_timeout;
            let mut fed = false;
            while let Some(action) = machine.poll_action() {
                match action {
                    action @ (RelayAction::SendText(_) | RelayAction::SendPing) => {
                        let message = match action {
                            RelayAction::SendText(text) => WsMessage::text(text),
                            _ => WsMessage::Ping(Bytes::new()),
                        };
                        if write_by(&net, deadline, ws.feed(message)).await.is_err() {
                            return None;
                        }
                        fed = true;
                    }
                    // Queued for the writer: the relay goes on reading the child's stdout.
                    RelayAction::WriteChild(line) => input.push(line),
                    RelayAction::Close(reason) => return Some(reason),
                    RelayAction::Dropped(why) => {
                        tracing::warn!(connection = id, "not relayed: {why}")
                    }
                }
            }
            if fed && write_by(&net, deadline, ws.flush()).await.is_err() {
                return None;
            }
            if machine.is_closed() {
                return None;
            }
            // Timers first: a busy socket never postpones the keepalive.
            let next = machine.poll_timeout();
            if next.is_some_and(|at| net.now() >= at) {
                machine.handle_timeout(net.now());
                continue;
            }
            tokio::select! {
                _ = async { drop(stopping.wait_for(|stop| *stop).await) } => machine.shut_down(),
                // While the child's input queue is full, the client is not read (backpressure);
                // the child's stdout and the timers still are.
                () = input.room(), if input.is_full() => {}
                failed = writer.failed() => {
                    let why = format!("the stdio server cannot take input: {failed}");
                    machine.handle_child_failed(&why);
                }
                read = ws.next(), if !input.is_full() => match classify(&read) {
                    Inbound::Payload(payload) => machine.handle_payload(net.now(), payload),
                    Inbound::Activity => machine.handle_transport_activity(net.now()),
                    Inbound::PeerClosed(_) | Inbound::Lost(_) => machine.handle_client_gone(),
                    Inbound::Violation(reason) => return Some(reason),
                },
                line = stdout.next_line() => match line {
                    Ok(Some(Line::Text(text))) => machine.handle_child_line(&String::from_utf8_lossy(text)),
                    Ok(Some(Line::TooLong)) => machine.handle_child_line_too_long(),
                    Ok(None) | Err(_) => {
                        let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                            Ok(Ok(status)) => status.to_string(),
                            _ => "its stdout closed".to_string(),
                        };
                        machine.handle_child_exit(&status);
                    }
                },
                _ = sleep_until_deadline(&net, next) => machine.handle_timeout(net.now()),
            }
        }
    }

    fn relay_config(&self) -> RelayConfig {
        let mut config = RelayConfig::default();
        config.limits = self.limits;
        config.ping_interval = self.ping;
        config.idle_timeout = self.idle;
        config
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn the_childs_input_queue_holds_at_most_its_bound_and_then_makes_the_relay_wait() {
        // A child that reads nothing yet: its pipe holds 16 bytes.
        let (stdin, mut child_side) = tokio::io::duplex(16);
        let (mut input, _writer) = ChildInput::start(stdin, 250, Duration::from_secs(30));
        let line = "x".repeat(99);
        input.push(line.clone());
        input.push(line.clone());
        assert!(!input.is_full(), "two lines of 100 bytes fit in 250");
        input.push(line.clone());
        assert!(input.is_full(), "a third one waits; the relay stops reading its client");
        input.push(line.clone());
        let room = tokio::time::timeout(Duration::from_millis(100), input.room()).await;
        assert!(room.is_err(), "no room while the child reads nothing");
        // The child reads; room frees up and the waiting lines go in, in order.
        let reader = tokio::spawn(async move {
            let mut all = vec![0u8; 400];
            child_side.read_exact(&mut all).await.map(|_| all)
        });
        while input.is_full() {
            tokio::time::timeout(Duration::from_secs(10), input.room()).await.expect("room");
        }
        let all = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("in time")
            .expect("join")
            .expect("read");
        assert_eq!(all, format!("{line}\n").repeat(4).into_bytes());
    }
}
