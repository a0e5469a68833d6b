//! The application's side of one connection: a cloneable handle that sends commands to the
//! connection's driver task, and the future of one outgoing request.
//!
//! Dropping a [`RequestFuture`] before it completes cancels the request: the driver sends
//! `notifications/cancelled` and forgets it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures_channel::{mpsc, oneshot};
use futures_util::Stream;
use mcp_ws_core::mcp::ProgressNotificationParams;
use mcp_ws_core::session::{Outcome, RequestOptions, SessionError};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason, ErrorObject, RawJson, RequestId};

use crate::bounded::{self, Received};
use crate::error::CallError;

/// A token naming one call before the session has given it an id.
pub(crate) type CallToken = u64;

/// The one allocator of call tokens, shared by every handle in the process: a client's calls
/// and its connections' own calls (a legacy resubscription after a reconnect) meet in one
/// connection's table of calls, so their tokens must never collide.
static NEXT_CALL_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A call token no other call in this process has.
fn next_call_token() -> CallToken {
    NEXT_CALL_TOKEN.fetch_add(1, Ordering::Relaxed)
}

/// What the application asks of a connection's driver.
pub(crate) enum Command {
    Request {
        token: CallToken,
        method: String,
        params: Option<RawJson>,
        options: RequestOptions,
        /// The caller's total deadline, once a reconnecting client has seen the call: its
        /// timeout counts from the first attempt, across connections (`options.timeout` is
        /// then what remains of it).
        deadline: Option<Instant>,
        reply: oneshot::Sender<Result<Outcome, SessionError>>,
        progress: Option<ProgressSender>,
        /// Issue it again on the next connection if this one is lost (reconnecting clients).
        retryable: bool,
        /// The peer's request a handler sends this for (see [`Command::Notify::related`]).
        related: Option<RequestId>,
    },
    /// The caller dropped its request future.
    Abandon {
        token: CallToken,
    },
    Notify {
        method: String,
        params: Option<RawJson>,
        reply: oneshot::Sender<Result<(), SessionError>>,
        /// For a change notification: its place among those waiting for the loop.
        _slot: Option<QueueSlot>,
        /// The peer's request a handler sends this for (a log, a question to the client): a
        /// message pipe carries it beside the text, so Streamable HTTP can answer it on that
        /// request's stream; a WebSocket ignores it.
        related: Option<RequestId>,
    },
    Respond {
        id: RequestId,
        response: Result<RawJson, ErrorObject>,
    },
    Progress {
        id: RequestId,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
        /// Its place among the progress reports waiting for the loop (freed when dropped).
        _slot: QueueSlot,
    },
    Close(CloseReason),
    /// Drain the connection (a server shutting down): close it once no request of the peer's
    /// is in progress (with [`crate::error::drained_close`]), or at `deadline` with 1001 and
    /// whatever still runs cancelled. The loop decides, from its own session.
    Drain {
        deadline: Instant,
    },
}

impl Command {
    /// Whether this is a request whose caller has stopped waiting (dropped its future): it is
    /// not to be issued again.
    pub(crate) fn caller_gone(&self) -> bool {
        matches!(self, Command::Request { reply, .. } if reply.is_canceled())
    }

    /// Ends a command that will not reach a session: a request gets `outcome`, a notification
    /// is refused as closed, the rest are dropped.
    pub(crate) fn end(self, outcome: Outcome) {
        match self {
            Command::Request { reply, .. } => {
                let _ = reply.send(Ok(outcome));
            }
            Command::Notify { reply, .. } => {
                let _ = reply.send(Err(SessionError::Closed));
            }
            Command::Abandon { .. }
            | Command::Respond { .. }
            | Command::Progress { .. }
            | Command::Drain { .. }
            | Command::Close(_) => {}
        }
    }
}

/// Per-call settings: the core's [`RequestOptions`] plus what the driver adds.
///
/// ```
/// use std::time::Duration;
/// use mcp_ws_driver::CallOptions;
///
/// // 5 s for the answer; safe to issue again on the next connection after a reconnect.
/// let options = CallOptions::timeout(Duration::from_secs(5)).retryable();
/// assert_eq!(options.request.timeout, Some(Duration::from_secs(5)));
/// // With a client: client.call_tool_with("add", args, options).await
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// Timeout, progress and timeout-reset settings, enforced by the core session.
    pub request: RequestOptions,
    /// On a reconnecting client: if the connection is lost before the answer, issue the request
    /// again (with a new id) on the next connection instead of failing with
    /// [`CallError::Disconnected`]. Only for requests that are safe to repeat.
    pub retryable: bool,
    /// On a client: hand an `input_required` result (2026-07-28) to the caller as it is,
    /// instead of answering its input requests and retrying (the default; see
    /// [`crate::Client::request`]).
    pub raw_input_required: bool,
}

impl From<RequestOptions> for CallOptions {
    fn from(request: RequestOptions) -> Self {
        CallOptions { request, ..CallOptions::default() }
    }
}

impl CallOptions {
    /// Options with a per-call timeout.
    pub fn timeout(timeout: std::time::Duration) -> Self {
        CallOptions {
            request: RequestOptions { timeout: Some(timeout), ..RequestOptions::default() },
            ..CallOptions::default()
        }
    }

    /// These options, handing `input_required` results to the caller instead of answering
    /// them (to see, or drive, the rounds yourself).
    pub fn raw_input_required(mut self) -> Self {
        self.raw_input_required = true;
        self
    }

    /// These options, marked retryable.
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
}

/// How many progress reports a connection's handlers may have waiting for its loop; more are
/// dropped (the loop is held up by a slow peer, and the latest report is what counts).
pub const MAX_QUEUED_PROGRESS: usize = 256;

/// How many change notifications (resource updates, list changes: see
/// [`crate::server::Notifier`]) may wait for one connection's loop; more are dropped and
/// counted (the loop is held up by a slow peer, which is closed once its writes time out).
pub const MAX_QUEUED_NOTIFICATIONS: usize = 1024;

/// One queued command's place in a bounded queue to the loop (progress reports, change
/// notifications); dropping it frees the place.
pub(crate) struct QueueSlot(Arc<AtomicUsize>);

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A place in the queue that `queued` counts, unless `limit` are taken.
fn take_slot(queued: &Arc<AtomicUsize>, limit: usize) -> Option<QueueSlot> {
    if queued.load(Ordering::Relaxed) >= limit {
        return None;
    }
    queued.fetch_add(1, Ordering::Relaxed);
    Some(QueueSlot(queued.clone()))
}

/// A cloneable handle to one live connection.
#[derive(Clone)]
pub struct ConnectionHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// Progress reports sent and not yet applied by the loop.
    progress_queued: Arc<AtomicUsize>,
    /// Change notifications sent and not yet applied by the loop.
    notifications_queued: Arc<AtomicUsize>,
    /// Where handlers for the peer's requests go to run inside the connection's own task
    /// (`None` for a handle no connection loop drives, such as the client's).
    pub(crate) local: Option<Arc<crate::tasks::LocalHandlers>>,
    /// Set on the handles the application owns (those [`crate::spawn_connection`] returns):
    /// when the last of them is dropped, the connection closes with 1000.
    owner: Option<Arc<Owner>>,
}

/// Closes a connection when the last handle its application owns is dropped.
struct Owner(mpsc::UnboundedSender<Command>);

impl Drop for Owner {
    fn drop(&mut self) {
        let reason =
            CloseReason::new(CloseCode::NORMAL, "every handle to the connection was dropped");
        let _ = self.0.unbounded_send(Command::Close(reason));
    }
}

impl std::fmt::Debug for ConnectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionHandle").field("open", &!self.commands.is_closed()).finish()
    }
}

impl ConnectionHandle {
    pub(crate) fn new(commands: mpsc::UnboundedSender<Command>) -> Self {
        ConnectionHandle {
            commands,
            progress_queued: Arc::default(),
            notifications_queued: Arc::default(),
            local: None,
            owner: None,
        }
    }

    /// This handle, owning its connection: once it and every clone of it are dropped, the
    /// connection closes with 1000.
    pub(crate) fn owned(mut self) -> Self {
        self.owner = Some(Arc::new(Owner(self.commands.clone())));
        self
    }

    /// Asks the connection's loop to drain by `deadline` (see [`Command::Drain`]).
    pub(crate) fn drain(&self, deadline: Instant) {
        let _ = self.commands.unbounded_send(Command::Drain { deadline });
    }

    /// A handle whose connection loop runs the handlers started with it (see
    /// [`crate::tasks::HandlerTasks::start`]).
    pub(crate) fn with_local_handlers(
        commands: mpsc::UnboundedSender<Command>,
        local: Arc<crate::tasks::LocalHandlers>,
    ) -> Self {
        ConnectionHandle { local: Some(local), ..ConnectionHandle::new(commands) }
    }

    /// Passes a command on; gives it back if the receiving task has ended.
    #[allow(clippy::result_large_err, reason = "the error is the command itself, given back")]
    pub(crate) fn send_command(&self, command: Command) -> Result<(), Command> {
        self.commands.unbounded_send(command).map_err(|e| e.into_inner())
    }

    /// Whether the connection's driver is still running.
    pub fn is_open(&self) -> bool {
        !self.commands.is_closed()
    }

    /// Sends a request and resolves with its result or the reason it failed.
    pub fn request(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: impl Into<CallOptions>,
    ) -> RequestFuture {
        self.start_request(method.into(), params, options.into(), None, None)
    }

    /// Sends a request that asks for progress; progress arrives on the returned stream, which
    /// ends when the request does.
    pub fn request_with_progress(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: impl Into<CallOptions>,
    ) -> (RequestFuture, ProgressStream) {
        let mut options = options.into();
        options.request.progress = true;
        let (sender, stream) = ProgressStream::channel();
        let future = self.start_request(method.into(), params, options, Some(sender), None);
        (future, stream)
    }

    pub(crate) fn start_request(
        &self,
        method: String,
        params: Option<RawJson>,
        options: CallOptions,
        progress: Option<ProgressSender>,
        related: Option<RequestId>,
    ) -> RequestFuture {
        let token = next_call_token();
        let (reply, receiver) = oneshot::channel();
        let command = Command::Request {
            token,
            method,
            params,
            options: options.request,
            deadline: None,
            reply,
            progress,
            retryable: options.retryable,
            related,
        };
        let sent = self.commands.unbounded_send(command).is_ok();
        RequestFuture {
            receiver: sent.then_some(receiver),
            token,
            commands: self.commands.clone(),
            done: false,
        }
    }

    /// Sends a notification; resolves once the session has accepted it for sending.
    pub async fn notify(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
    ) -> Result<(), CallError> {
        self.notify_for(None, method.into(), params).await
    }

    /// [`ConnectionHandle::notify`] for the peer's request `related` (a handler's log).
    pub(crate) async fn notify_for(
        &self,
        related: Option<RequestId>,
        method: String,
        params: Option<RawJson>,
    ) -> Result<(), CallError> {
        let (reply, receiver) = oneshot::channel();
        let command = Command::Notify { method, params, reply, _slot: None, related };
        self.commands.unbounded_send(command).map_err(|_| CallError::Disconnected)?;
        match receiver.await {
            Ok(result) => result.map_err(CallError::from),
            Err(_) => Err(CallError::Disconnected),
        }
    }

    /// Queues a change notification without waiting for the session to take it; `false` when
    /// it was dropped because [`MAX_QUEUED_NOTIFICATIONS`] already wait (or the connection
    /// has ended).
    pub(crate) fn notify_queued(&self, notification: mcp_ws_core::message::Notification) -> bool {
        let slot = match take_slot(&self.notifications_queued, MAX_QUEUED_NOTIFICATIONS) {
            Some(slot) => slot,
            None => return false,
        };
        let (reply, _) = oneshot::channel();
        let command = Command::Notify {
            method: notification.method,
            params: notification.params,
            reply,
            _slot: Some(slot),
            related: None,
        };
        self.commands.unbounded_send(command).is_ok()
    }

    /// Answers the peer's request `id` (used by handler tasks).
    pub(crate) fn respond(&self, id: RequestId, response: Result<RawJson, ErrorObject>) {
        let _ = self.commands.unbounded_send(Command::Respond { id, response });
    }

    /// Reports progress on the peer's request `id`.
    pub(crate) fn progress(
        &self,
        id: RequestId,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) {
        // Progress is advisory: while the loop is held up (a peer reading slowly), reports
        // beyond the bound are dropped rather than queued without limit.
        let Some(_slot) = take_slot(&self.progress_queued, MAX_QUEUED_PROGRESS) else { return };
        let _ =
            self.commands.unbounded_send(Command::Progress { id, progress, total, message, _slot });
    }

    /// Closes the connection with `reason`; pending calls fail as disconnected.
    pub fn close(&self, reason: CloseReason) {
        let _ = self.commands.unbounded_send(Command::Close(reason));
    }

    /// Sends a request and parses its result as `T`.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: impl Into<String>,
        params: Option<RawJson>,
        options: impl Into<CallOptions>,
    ) -> Result<T, CallError> {
        let raw = self.request(method, params, options).await?;
        raw.parse().map_err(|e| CallError::InvalidResult(e.to_string()))
    }

    /// [`ConnectionHandle::call`] for the peer's request `related` (a handler's question to
    /// the client).
    pub(crate) async fn call_for<T: serde::de::DeserializeOwned>(
        &self,
        related: RequestId,
        method: &str,
        params: Option<RawJson>,
    ) -> Result<T, CallError> {
        let options = CallOptions::default();
        let raw = self.start_request(method.into(), params, options, None, Some(related)).await?;
        raw.parse().map_err(|e| CallError::InvalidResult(e.to_string()))
    }
}

/// The future of one outgoing request. Dropping it early cancels the request.
#[must_use = "a request is cancelled when its future is dropped"]
pub struct RequestFuture {
    receiver: Option<oneshot::Receiver<Result<Outcome, SessionError>>>,
    token: CallToken,
    commands: mpsc::UnboundedSender<Command>,
    done: bool,
}

impl RequestFuture {
    /// Cancels the request: the peer is sent `notifications/cancelled` and any late answer is
    /// ignored. The same as dropping the future, spelled out.
    pub fn cancel(self) {
        drop(self);
    }
}

impl Future for RequestFuture {
    type Output = Result<RawJson, CallError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(receiver) = self.receiver.as_mut() else {
            self.done = true;
            return Poll::Ready(Err(CallError::Disconnected));
        };
        let result = match Pin::new(receiver).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Ok(outcome))) => CallError::from_outcome(outcome),
            Poll::Ready(Ok(Err(refused))) => Err(CallError::from(refused)),
            Poll::Ready(Err(_)) => Err(CallError::Disconnected),
        };
        self.done = true;
        Poll::Ready(result)
    }
}

impl Drop for RequestFuture {
    fn drop(&mut self) {
        if !self.done && self.receiver.is_some() {
            let _ = self.commands.unbounded_send(Command::Abandon { token: self.token });
        }
    }
}

/// How many progress reports wait for a slow reader before the oldest are dropped.
pub const PROGRESS_QUEUE: usize = 64;

/// The driver's end of a call's progress stream.
pub(crate) type ProgressSender = bounded::Sender<ProgressNotificationParams>;

/// Progress reports for one request, ending when the request ends.
///
/// At most [`PROGRESS_QUEUE`] reports wait to be read; when a server reports faster than the
/// stream is read, the oldest waiting reports are dropped (the latest progress is what counts)
/// and [`ProgressStream::missed`] counts them.
pub struct ProgressStream {
    receiver: bounded::Receiver<ProgressNotificationParams>,
    missed: u64,
}

impl ProgressStream {
    /// A stream and the driver's end of it.
    pub(crate) fn channel() -> (ProgressSender, ProgressStream) {
        let (sender, receiver) = bounded::channel(PROGRESS_QUEUE);
        (sender, ProgressStream { receiver, missed: 0 })
    }

    /// How many reports were dropped because the stream was read too slowly.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

impl Stream for ProgressStream {
    type Item = ProgressNotificationParams;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match Pin::new(&mut self.receiver).poll_next(cx) {
                Poll::Ready(Some(Received::Missed(n))) => self.missed += n,
                Poll::Ready(Some(Received::Item(report))) => return Poll::Ready(Some(report)),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(receiver: &mut mpsc::UnboundedReceiver<Command>) -> usize {
        std::iter::from_fn(|| receiver.try_recv().ok()).count()
    }

    #[test]
    fn progress_waiting_for_a_held_up_loop_is_bounded_and_the_bound_frees_as_it_drains() {
        let (sender, mut receiver) = mpsc::unbounded();
        let handle = ConnectionHandle::new(sender);
        for n in 0..1_000 {
            handle.progress(RequestId::from(1i64), f64::from(n), None, None);
        }
        // Draining drops each command, which frees its place.
        assert_eq!(queued(&mut receiver), MAX_QUEUED_PROGRESS);
        handle.progress(RequestId::from(1i64), 1_000.0, None, None);
        assert_eq!(queued(&mut receiver), 1);
    }

    fn token_of(receiver: &mut mpsc::UnboundedReceiver<Command>) -> CallToken {
        match receiver.try_recv() {
            Ok(Command::Request { token, .. }) => token,
            _ => panic!("no request was sent"),
        }
    }

    #[test]
    fn calls_made_through_different_handles_never_share_a_token() {
        // A client's handle and a connection's own handle feed one connection's calls: the
        // first call of each must not be named alike.
        let (client_sender, mut client_receiver) = mpsc::unbounded();
        let (connection_sender, mut connection_receiver) = mpsc::unbounded();
        let client = ConnectionHandle::new(client_sender);
        let connection = ConnectionHandle::new(connection_sender);
        let first = client.request("tools/call", None, CallOptions::default());
        let resubscribe = connection.request("resources/subscribe", None, CallOptions::default());
        let (a, b) = (token_of(&mut client_receiver), token_of(&mut connection_receiver));
        assert_ne!(a, b, "two calls got token {a}");
        drop((first, resubscribe));
    }
}
