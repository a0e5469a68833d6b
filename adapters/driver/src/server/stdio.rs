//! The stdio session backend (`mcp-ws serve --stdio -- CMD ARGS`): every session the server
//! accepts (a WebSocket, or a legacy Streamable HTTP session) gets a child process of its own
//! running a stdio MCP server, and the gateway ([`super::gateway`], the core's
//! [`mcp_ws_core::gateway::Gateway`] machine) relays the session to it: the child is one more
//! kind of upstream, its stdout lines its frames, its stdin the place frames go.
//!
//! What this module owns is the child's input and output, moved without blocking the relay:
//!
//! - **Starting** it through the runtime seam ([`crate::Runtime::spawn_process`]), in a
//!   process group of its own (what it starts, `sh -c` or `npx`, is signalled with it).
//! - **Its stdin** is written from a queue bounded in bytes ([`StdioServer::input_queue_bytes`])
//!   as the pipe takes it, in the relay's own poll: the relay goes on reading the child's stdout
//!   while the child reads nothing (a child writing a large answer never deadlocks with a client
//!   sending more), and stops reading its client only while the queue is full. One message
//!   larger than the bound still passes, alone. A child that takes no input for the session's
//!   write timeout fails the session (1011).
//! - **Its stdout** is read line by line, each line at most the message limit: a longer one is
//!   discarded as it is read and closes the client with 1009.
//! - **Its stderr** is logged, line by line, by a task of its own.
//! - **Stopping** it when its session ends: its stdin closes (many stdio servers exit on that
//!   alone); after [`StdioServer::kill_grace`] its group gets SIGTERM, after another grace
//!   SIGKILL; what is left of its group is stopped the same way. The session holds its place
//!   under the server's connection cap until then, so the cap bounds the processes.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::{Either, select};
use futures_util::io::{AsyncRead, AsyncWrite};
use mcp_ws_core::gateway::GatewayConfig;
use mcp_ws_core::session::SessionConfig;
use mcp_ws_core::time::Instant;

use crate::runtime::{BoxFuture, ChildProcess, Runtime};

/// The default [`StdioServer::kill_grace`].
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// The default [`StdioServer::input_queue_bytes`].
pub const DEFAULT_INPUT_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// The longest stderr line of a child that is logged (longer ones are reported, not shown).
const STDERR_LINE_MAX: usize = 16 * 1024;

/// How long a child whose stdout closed is given to exit, for the close reason's status.
const EXIT_STATUS_WAIT: Duration = Duration::from_secs(2);

/// How much is read from a child's pipe at once.
const READ_CHUNK: usize = 8 * 1024;

/// The stdio MCP server a server runs one child process of per session
/// ([`super::gateway::SessionBackend::Stdio`]).
///
/// ```
/// use mcp_ws_driver::server::stdio::StdioServer;
/// let server = StdioServer::new("python3", ["-m", "my_mcp_server"]);
/// assert_eq!(server.program, "python3");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StdioServer {
    /// The program started for each session.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long a child gets to exit after its stdin closes, and again after SIGTERM, before
    /// SIGKILL.
    pub kill_grace: Duration,
    /// Bytes of client messages that may wait for the child to read them; beyond, the client
    /// is not read until the child catches up.
    pub input_queue_bytes: usize,
    /// The most requests of one client waiting for the child's answer; one more is answered
    /// -32000 by the gateway.
    pub max_in_flight: usize,
}

impl StdioServer {
    /// `program` with `args`, the default grace, queue and in-flight bound.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> StdioServer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        StdioServer {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            kill_grace: DEFAULT_KILL_GRACE,
            input_queue_bytes: DEFAULT_INPUT_QUEUE_BYTES,
            max_in_flight: GatewayConfig::default().max_in_flight,
        }
    }

    /// The gateway machine's settings for a server whose sessions run with `session`: the
    /// child is never pinged (its exit is seen directly).
    pub(super) fn gateway_config(&self, session: &SessionConfig) -> GatewayConfig {
        let mut config = super::gateway::session_gateway_config(session, self.max_in_flight);
        config.pipe.watch_upstream = false;
        config
    }

    /// Starts a child on `net`, its stdout lines at most `max_line` bytes, its stdin failing
    /// the session after `write_timeout` without progress; its stderr is logged from now on.
    pub(super) fn start<N: Runtime>(
        &self,
        net: &N,
        max_line: usize,
        write_timeout: Duration,
    ) -> io::Result<Child> {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let ChildProcess { pid, stdin, stdout, stderr, exit } = net.spawn_process(command)?;
        tracing::info!(pid, program = %self.program, "stdio server started");
        net.spawn(log_stderr(pid, stderr));
        Ok(Child {
            pid,
            stdin: Some(stdin),
            stdout: LineReader::new(stdout, max_line),
            stdout_done: false,
            exit: Some(exit),
            status: None,
            kill_grace: self.kill_grace,
            stopped: false,
            input: InputQueue::new(self.input_queue_bytes.max(1), write_timeout),
        })
    }
}

/// Logs a child's stderr until it closes.
async fn log_stderr(pid: u32, stderr: Pin<Box<dyn AsyncRead + Send>>) {
    let mut lines = LineReader::new(stderr, STDERR_LINE_MAX);
    while let Ok(Some(line)) = std::future::poll_fn(|cx| lines.poll_line(cx)).await {
        match line {
            Line::Text(text) => {
                tracing::info!(pid, "stdio server: {}", String::from_utf8_lossy(&text))
            }
            Line::TooLong => tracing::info!(
                pid,
                "stdio server: (a stderr line over {STDERR_LINE_MAX} bytes, not shown)"
            ),
        }
    }
}

/// What a child's output brought ([`Child::poll_output`]).
#[derive(Debug)]
pub(super) enum Output {
    /// One stdout line, without its line end.
    Line(Vec<u8>),
    /// A stdout line over the message limit (discarded).
    TooLong,
    /// Its stdout closed (it exited, or closed it): see [`Child::exit_reason`].
    Closed,
}

/// A running child: the upstream side of one stdio session.
pub(super) struct Child {
    pid: u32,
    /// `None` once closed (stopping).
    stdin: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    stdout: LineReader<Pin<Box<dyn AsyncRead + Send>>>,
    stdout_done: bool,
    /// The process's exit; `None` once it completed (then `status` says how).
    exit: Option<BoxFuture<'static, io::Result<std::process::ExitStatus>>>,
    status: Option<String>,
    kill_grace: Duration,
    stopped: bool,
    input: InputQueue,
}

impl Child {
    /// Queues one line (no raw newline in it) for the child's stdin.
    pub(super) fn push(&mut self, line: String, now: Instant) {
        self.input.push(line, now);
    }

    /// Whether the input queue is full (the client is not read meanwhile).
    pub(super) fn input_full(&self) -> bool {
        self.input.is_full()
    }

    /// When the child, not reading its input, fails the session.
    pub(super) fn input_deadline(&self) -> Option<Instant> {
        self.input.deadline()
    }

    /// Writes what its stdin takes now, without waiting (woken when it takes more). Call it
    /// before asking [`Child::input_full`]: a queue it empties lets the client be read again.
    pub(super) fn poll_input(&mut self, cx: &mut Context<'_>, now: Instant) {
        if let Some(stdin) = self.stdin.as_mut() {
            self.input.poll_write(stdin.as_mut(), cx, now);
        }
    }

    /// Reads its stdout: ready with the next line (or its end).
    pub(super) fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<Output> {
        if self.stdout_done {
            return Poll::Pending;
        }
        match self.stdout.poll_line(cx) {
            Poll::Ready(Ok(Some(Line::Text(text)))) => Poll::Ready(Output::Line(text)),
            Poll::Ready(Ok(Some(Line::TooLong))) => Poll::Ready(Output::TooLong),
            Poll::Ready(Ok(None) | Err(_)) => {
                self.stdout_done = true;
                Poll::Ready(Output::Closed)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Why the session ends after the child's stdout closed: how it exited, waited for a
    /// little while.
    pub(super) async fn exit_reason<N: Runtime>(&mut self, net: &N) -> String {
        let exited = self.wait_exit(net, EXIT_STATUS_WAIT).await;
        match (&self.status, exited) {
            (Some(status), true) => format!("the stdio server exited ({status})"),
            _ => "the stdio server closed its stdout".to_string(),
        }
    }

    /// Waits up to `grace` for the process to exit; whether it has.
    async fn wait_exit<N: Runtime>(&mut self, net: &N, grace: Duration) -> bool {
        let Some(exit) = self.exit.as_mut() else { return true };
        let sleep = Box::pin(net.sleep_until(net.now().saturating_add(grace)));
        match select(exit, sleep).await {
            Either::Left((status, _)) => {
                self.status = Some(match status {
                    Ok(status) => status.to_string(),
                    Err(error) => format!("its status is unknown: {error}"),
                });
                self.exit = None;
                true
            }
            Either::Right(_) => false,
        }
    }

    /// Stops the child (see the module docs) and reaps it; once.
    pub(super) async fn stop<N: Runtime>(&mut self, net: &N) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let grace = self.kill_grace;
        self.stdin = None;
        let group = self.pid;
        if !self.wait_exit(net, grace).await {
            signal_group(group, Signal::Term);
            if !self.wait_exit(net, grace).await {
                tracing::warn!(pid = group, "the stdio server ignored SIGTERM; killing it");
                signal_group(group, Signal::Kill);
                self.wait_exit(net, grace).await;
            }
        }
        tracing::info!(pid = group, status = ?self.status, "stdio server stopped");
        // The leader is gone; its group may not be (a server started by a shell or a launcher).
        if group_alive(group) {
            signal_group(group, Signal::Term);
            let deadline = net.now().saturating_add(grace);
            while group_alive(group) && net.now() < deadline {
                net.sleep_until(net.now().saturating_add(Duration::from_millis(20))).await;
            }
            if group_alive(group) {
                signal_group(group, Signal::Kill);
            }
        }
        // Dropping what is left of `exit` (with the child) kills the leader if it still runs.
    }
}

/// The two signals a child's group gets.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

#[cfg(unix)]
fn signal_group(group: u32, signal: Signal) {
    use nix::sys::signal::{Signal as Nix, killpg};
    use nix::unistd::Pid;
    let Ok(pid) = i32::try_from(group) else { return };
    if pid <= 1 {
        return;
    }
    let signal = match signal {
        Signal::Term => Nix::SIGTERM,
        Signal::Kill => Nix::SIGKILL,
    };
    let _ = killpg(Pid::from_raw(pid), signal);
}

#[cfg(unix)]
fn group_alive(group: u32) -> bool {
    use nix::sys::signal::killpg;
    use nix::unistd::Pid;
    i32::try_from(group).is_ok_and(|pid| pid > 1 && killpg(Pid::from_raw(pid), None).is_ok())
}

#[cfg(not(unix))]
fn signal_group(_group: u32, _signal: Signal) {}

#[cfg(not(unix))]
fn group_alive(_group: u32) -> bool {
    false
}

/// A child's stdin queue, bounded in bytes, written as the pipe takes it.
struct InputQueue {
    /// Lines with their newline; the front one written up to `written`.
    lines: VecDeque<Vec<u8>>,
    written: usize,
    /// Bytes not yet written.
    queued: usize,
    bound: usize,
    write_timeout: Duration,
    /// When the queue last made progress (or became non-empty); `None` while empty.
    progress: Option<Instant>,
    /// Writing failed (the child closed its stdin): nothing more is written, and the queue
    /// times out unless the child's exit ends the session first.
    broken: bool,
}

impl InputQueue {
    fn new(bound: usize, write_timeout: Duration) -> Self {
        InputQueue {
            lines: VecDeque::new(),
            written: 0,
            queued: 0,
            bound,
            write_timeout,
            progress: None,
            broken: false,
        }
    }

    fn push(&mut self, line: String, now: Instant) {
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        if self.lines.is_empty() {
            self.progress = Some(now);
        }
        self.queued += bytes.len();
        self.lines.push_back(bytes);
    }

    fn is_full(&self) -> bool {
        self.queued >= self.bound
    }

    fn deadline(&self) -> Option<Instant> {
        self.progress.map(|at| at.saturating_add(self.write_timeout))
    }

    /// Writes what `stdin` takes without waiting.
    fn poll_write<W: AsyncWrite + ?Sized>(
        &mut self,
        mut stdin: Pin<&mut W>,
        cx: &mut Context<'_>,
        now: Instant,
    ) {
        let mut wrote = false;
        while !self.broken {
            let Some(front) = self.lines.front() else { break };
            match stdin.as_mut().poll_write(cx, &front[self.written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => self.broken = true,
                Poll::Ready(Ok(n)) => {
                    wrote = true;
                    self.written += n;
                    self.queued -= n;
                    self.progress = Some(now);
                    if self.written == front.len() {
                        self.lines.pop_front();
                        self.written = 0;
                    }
                }
                Poll::Pending => break,
            }
        }
        if wrote && !self.broken {
            let _ = stdin.as_mut().poll_flush(cx);
        }
        if self.lines.is_empty() {
            self.progress = None;
        }
    }
}

/// One line a [`LineReader`] read.
#[derive(Debug, PartialEq)]
enum Line {
    /// A line without its `\n` (or `\r\n`).
    Text(Vec<u8>),
    /// A line longer than the limit, discarded as it was read.
    TooLong,
}

/// Lines of a byte stream, each at most `max` bytes: a longer one is reported as
/// [`Line::TooLong`] as soon as it passes the limit and the rest of it is discarded, so the
/// reader holds at most `max` plus one read.
struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    /// How much of `buf` holds no newline.
    scanned: usize,
    max: usize,
    discarding: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(reader: R, max: usize) -> Self {
        LineReader { reader, buf: Vec::new(), scanned: 0, max, discarding: false, eof: false }
    }

    /// The next line; `None` at the end of the stream.
    fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Line>>> {
        loop {
            if let Some(at) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') {
                let end = self.scanned + at;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                self.scanned = 0;
                line.pop();
                if std::mem::take(&mut self.discarding) {
                    continue;
                }
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > self.max {
                    return Poll::Ready(Ok(Some(Line::TooLong)));
                }
                return Poll::Ready(Ok(Some(Line::Text(line))));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.max {
                self.buf.clear();
                self.scanned = 0;
                if !self.discarding {
                    self.discarding = true;
                    return Poll::Ready(Ok(Some(Line::TooLong)));
                }
            }
            if self.eof {
                if self.buf.is_empty() || self.discarding {
                    return Poll::Ready(Ok(None));
                }
                self.scanned = 0;
                return Poll::Ready(Ok(Some(Line::Text(std::mem::take(&mut self.buf)))));
            }
            let len = self.buf.len();
            self.buf.resize(len + READ_CHUNK, 0);
            let read = Pin::new(&mut self.reader).poll_read(cx, &mut self.buf[len..]);
            match read {
                Poll::Ready(Ok(n)) => {
                    self.buf.truncate(len + n);
                    self.eof = n == 0;
                }
                Poll::Ready(Err(error)) => {
                    self.buf.truncate(len);
                    return Poll::Ready(Err(error));
                }
                Poll::Pending => {
                    self.buf.truncate(len);
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::Cursor;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = LineReader::new(Cursor::new(input.to_vec()), max);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut out = Vec::new();
        loop {
            match reader.poll_line(&mut cx) {
                Poll::Ready(Ok(Some(line))) => out.push(line),
                Poll::Ready(Ok(None)) => return out,
                other => panic!("a cursor is always ready: {other:?}"),
            }
        }
    }

    fn text(s: &str) -> Line {
        Line::Text(s.as_bytes().to_vec())
    }

    #[test]
    fn lines_split_on_newlines_with_crlf_and_a_last_unterminated_line() {
        assert_eq!(lines(b"a\r\nbc\n\nd", 10), vec![text("a"), text("bc"), text(""), text("d")]);
    }

    #[test]
    fn a_line_over_the_limit_is_reported_once_and_the_next_line_still_comes() {
        let mut input = vec![b'x'; 3 * READ_CHUNK];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(lines(&input, 100), vec![Line::TooLong, text("ok")]);
        // Over the limit but within one read: reported when its newline is found.
        assert_eq!(lines(b"0123456789ab\nok\n", 10), vec![Line::TooLong, text("ok")]);
        // Exactly the limit passes.
        assert_eq!(lines(b"0123456789\n", 10), vec![text("0123456789")]);
    }

    /// A stdin that takes `room` bytes, then nothing.
    struct Stingy {
        taken: Vec<u8>,
        room: usize,
    }

    impl AsyncWrite for Stingy {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.room);
            if n == 0 {
                return Poll::Pending;
            }
            self.room -= n;
            self.taken.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn the_input_queue_fills_by_bytes_drains_as_the_child_reads_and_times_out_when_it_does_not() {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut stdin = Stingy { taken: Vec::new(), room: 4 };
        let mut queue = InputQueue::new(8, Duration::from_secs(5));
        assert_eq!(queue.deadline(), None);
        queue.push("abc".into(), at(0));
        assert!(!queue.is_full());
        queue.push("defgh".into(), at(0));
        assert!(queue.is_full(), "10 bytes queued, the bound is 8");
        queue.poll_write(Pin::new(&mut stdin), &mut cx, at(1000));
        assert_eq!(stdin.taken, b"abc\n");
        assert!(!queue.is_full(), "6 bytes left");
        // No progress since 1 s: the child fails the session at 6 s.
        assert_eq!(queue.deadline(), Some(at(6000)));
        stdin.room = 100;
        queue.poll_write(Pin::new(&mut stdin), &mut cx, at(2000));
        assert_eq!(stdin.taken, b"abc\ndefgh\n");
        assert_eq!(queue.deadline(), None);
        // One line larger than the whole bound is queued alone.
        queue.push("x".repeat(20), at(3000));
        assert!(queue.is_full());
    }
}
