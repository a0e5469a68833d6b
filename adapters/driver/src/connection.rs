//! The driver loop: one task per connection that moves bytes, time and commands into the core
//! session and performs the actions it emits. Written once for every runtime.
//!
//! The loop waits for whichever comes first: the session's next deadline, a WebSocket message,
//! or an application command. The timer is polled first, so steady inbound traffic (a ping or
//! progress flood) cannot postpone a timeout. After each input it drains the session's actions
//! in order (send text or ping, deliver the event, close), then re-arms the timer at
//! `poll_timeout()`. Expiry is judged by `now >= deadline`, so a sleep that wakes early or late
//! does no harm. Writes are bounded by the session's idle timeout (see [`crate::ws_io`]): a peer
//! that stops reading cannot stall the loop. A close runs the close handshake, bounded, so the
//! peer sees our code rather than a reset. WebSocket protocol violations (unmasked or reserved
//! bits, unknown opcodes, bad control frames) close with 1002; pings and pongs stay in
//! tungstenite, and the driver only reports inbound traffic to the session as liveness.
//!
//! Tracing (the `tracing` crate): the session's readiness (era, version) and the connection's
//! close (code, reason, who) at info, each outgoing request's end at debug; the server adds the
//! opening (peer, subprotocol) and each handled request (see [`crate::tasks`]). Nothing is
//! formatted or allocated for a level that is off.
//!
//! Every call ends once: with its outcome, or, when it is retryable and the connection is
//! lost (even in the race between the session's close and the loop's end), by going back to
//! the reconnecting client in `ConnectionEnd::retry`. A reconnecting client's call that the
//! server refused unprocessed because it is draining ([`crate::error::is_not_processed`]) goes
//! back too, retryable or not: it waits (within its deadline) for this connection to end and
//! is issued on the next one.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_tungstenite::tungstenite::{Bytes, Error as WsError, Message as WsMessage};
use futures_channel::{mpsc, oneshot};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mcp_ws_core::codec::Payload;
use mcp_ws_core::session::{
    Action, ClosedBy, Event, LifecycleFailure, Outcome, RequestOptions, Session, SessionError,
};
use mcp_ws_core::time::Instant;
use mcp_ws_core::{CloseCode, CloseReason, RawJson, RequestId};

use crate::handle::{CallToken, Command, ConnectionHandle, ProgressSender};
use crate::handler::HandlerResult;
use crate::metrics::ConnectionMetrics;
use crate::runtime::{Alarm, Runtime};
use crate::server::message_pipe;
use crate::tasks::{LocalHandlers, LoopHandlers};
use crate::ws_io::{Inbound, WebSocketIo, WriteFailed, classify, close_handshake, write_by};

/// Receives the events the driver does not consume itself (everything but request ends and
/// progress, which go to the waiting calls).
pub trait EventSink: Send + 'static {
    /// Handles one event. `handle` can answer requests and send messages on this connection.
    fn on_event(&mut self, event: Event, handle: &ConnectionHandle);

    /// A handler's answer to the peer's request `id` that the session refused as given: in
    /// 2026-07-28, a result that is not a JSON object. The request has still ended (the peer was
    /// answered -32603); this tells the application its handler misbehaved. Does nothing by
    /// default.
    fn on_answer_refused(&mut self, id: RequestId, error: SessionError, handle: &ConnectionHandle) {
        let _ = (id, error, handle);
    }

    /// How many of the peer's requests now in flight run until cancelled (a server's
    /// subscription listens): a drain does not wait for them, and they do not count as work in
    /// progress when it decides how to close. None by default.
    fn lasting_requests(&self) -> usize {
        0
    }
}

/// A call waiting for its outcome.
struct Waiter {
    token: CallToken,
    reply: oneshot::Sender<Result<Outcome, SessionError>>,
    progress: Option<ProgressSender>,
    /// What is needed to issue the call again: kept for a reconnecting client's calls (those
    /// with a total deadline).
    retry: Option<Retry>,
}

/// What a call needs to be issued again on the next connection.
struct Retry {
    /// Issue it again when the connection is lost (the caller said it is safe to repeat).
    retryable: bool,
    method: String,
    params: Option<RawJson>,
    options: RequestOptions,
    /// The caller's total deadline, carried across connections.
    deadline: Option<Instant>,
}

/// How a connection ended, reported once its driver task has finished.
pub struct ConnectionEnd {
    /// The close code and reason the session ended with.
    pub reason: CloseReason,
    /// Who ended it.
    pub by: ClosedBy,
    /// Why the client's lifecycle failed, if that ended the session.
    pub lifecycle_failure: Option<LifecycleFailure>,
    /// Retryable calls that were in flight when the connection was lost; their callers are
    /// still waiting. A reconnecting client issues them again on the next connection.
    pub(crate) retry: Vec<Command>,
    /// The peer closed saying nothing of ours was in progress ([`crate::error::drained_close`]):
    /// the calls still in flight were not processed and go back to the client too.
    pub(crate) unprocessed: bool,
}

impl std::fmt::Debug for ConnectionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionEnd")
            .field("reason", &self.reason)
            .field("by", &self.by)
            .field("lifecycle_failure", &self.lifecycle_failure)
            .field("retry", &self.retry.len())
            .finish()
    }
}

/// Resolves with the [`ConnectionEnd`] once the connection's driver task has finished.
pub struct ConnectionEnded(oneshot::Receiver<ConnectionEnd>);

impl Future for ConnectionEnded {
    type Output = ConnectionEnd;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<ConnectionEnd> {
        Pin::new(&mut self.0).poll(cx).map(|end| {
            end.unwrap_or_else(|_| ConnectionEnd {
                reason: CloseReason::new(CloseCode::ABNORMAL, "the driver task was dropped"),
                by: ClosedBy::Transport,
                lifecycle_failure: None,
                retry: Vec::new(),
                unprocessed: false,
            })
        })
    }
}

/// Which texts the loop writes for a handler, by their place among the session's actions
/// (kept only when the transport is a message pipe, which carries the tag beside the text).
#[derive(Default)]
struct RelatedTags {
    /// Actions taken from the session so far.
    polled: u64,
    /// The place of each tagged action still queued, and its request; in order.
    queued: VecDeque<(u64, RequestId)>,
}

impl RelatedTags {
    /// The tag of the action about to be taken from the session.
    fn take_next(&mut self) -> Option<RequestId> {
        let place = self.polled;
        self.polled += 1;
        match self.queued.front() {
            Some((at, _)) if *at == place => self.queued.pop_front().map(|(_, id)| id),
            _ => None,
        }
    }
}

/// What woke the loop.
enum Wake {
    Frame(Option<Result<WsMessage, WsError>>),
    Command(Option<Command>),
    Answer(RequestId, HandlerResult),
    Timer,
}

/// How long one round of writes may take when the session has no idle timeout to borrow.
const DEFAULT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest the close handshake may take (bounded by the write timeout too).
const CLOSE_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How many inputs may be handled, their frames written to the WebSocket's buffer, before the
/// buffer is flushed even though more input is ready (tungstenite writes a full buffer to the
/// socket by itself anyway).
const MAX_INPUTS_PER_FLUSH: usize = 128;

/// Starts a driver for `session` over `ws` on `runtime`; returns the handle to it and a future
/// of how it ended.
///
/// The driver task ends when the session closes; the WebSocket is closed and dropped then.
/// The peer's requests are answered inside this one task (see [`crate::tasks`]). The returned
/// handle owns the connection: when it and all its clones are dropped, the connection closes
/// with 1000 (handles handed to the event sink and to handlers do not keep it open).
pub fn spawn_connection<R, S, E>(
    runtime: &R,
    ws: S,
    session: Session,
    events: E,
) -> (ConnectionHandle, ConnectionEnded)
where
    R: Runtime,
    S: WebSocketIo + Send + 'static,
    E: EventSink,
{
    let (ended_sender, ended) = oneshot::channel();
    let (handle, task) =
        connection(runtime.clone(), ws, session, events, ConnectionMetrics::none(), move |end| {
            let _ = ended_sender.send(end);
        });
    runtime.spawn(task);
    // The application owns this connection: once it has dropped every clone of this handle,
    // the connection closes with 1000.
    (handle.owned(), ConnectionEnded(ended))
}

/// The driver of one connection, to be run by the caller (the server runs it in the task that
/// accepted the connection, so each connection is one task): its handle and the loop's future,
/// which calls `on_end` once the session has ended (before the close handshake). `counters`
/// count its messages and bytes.
pub(crate) fn connection<R, S, E, F>(
    runtime: R,
    ws: S,
    session: Session,
    events: E,
    counters: ConnectionMetrics,
    on_end: F,
) -> (ConnectionHandle, impl Future<Output = ()> + Send + 'static)
where
    R: Runtime,
    S: WebSocketIo + Send + 'static,
    E: EventSink,
    F: FnOnce(ConnectionEnd) + Send + 'static,
{
    let (sender, receiver) = mpsc::unbounded();
    let local = Arc::new(LocalHandlers::default());
    let handle = ConnectionHandle::with_local_handlers(sender, local.clone());
    // Boxed: the session is the largest part of the loop's state, and an async fn's argument
    // may be laid out twice in its future (once as the argument, once as the local).
    let session = Box::new(session);
    let task = run_connection(
        runtime,
        ws,
        session,
        receiver,
        events,
        handle.clone(),
        local,
        counters,
        on_end,
    );
    (handle, task)
}

/// Polls every input source once, the timer first (a flood of frames or commands must not
/// postpone a deadline), then finished handlers, then frames and commands in alternating order.
#[allow(clippy::too_many_arguments, reason = "the loop's sources, borrowed one by one")]
fn poll_input<R: Runtime, S>(
    cx: &mut Context<'_>,
    alarm: &mut Alarm<R>,
    handlers: &mut LoopHandlers,
    ws: &mut S,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    turn: u8,
) -> Poll<Wake>
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    if alarm.poll_woken(cx) {
        return Poll::Ready(Wake::Timer);
    }
    if let Poll::Ready((id, answer)) = handlers.poll_answer(cx) {
        return Poll::Ready(Wake::Answer(id, answer));
    }
    if turn % 2 == 0 {
        if let Poll::Ready(w) = ws.poll_next_unpin(cx).map(Wake::Frame) {
            return Poll::Ready(w);
        }
    }
    if commands_open {
        if let Poll::Ready(c) = commands.poll_next_unpin(cx) {
            return Poll::Ready(Wake::Command(c));
        }
    }
    if turn % 2 == 1 {
        if let Poll::Ready(w) = ws.poll_next_unpin(cx).map(Wake::Frame) {
            return Poll::Ready(w);
        }
    }
    Poll::Pending
}

/// Writes one frame into the WebSocket's buffer: at once when it has room, otherwise waiting
/// no later than the pass's write deadline (set on first need).
async fn feed_bounded<R: Runtime, S>(
    runtime: &R,
    deadline: &mut Option<Instant>,
    write_timeout: std::time::Duration,
    ws: &mut S,
    message: WsMessage,
) -> Result<(), WriteFailed>
where
    S: Sink<WsMessage, Error = WsError> + Unpin,
{
    match std::future::poll_fn(|cx| Poll::Ready(ws.poll_ready_unpin(cx))).await {
        Poll::Ready(Ok(())) => ws.start_send_unpin(message).map_err(|_| WriteFailed::Broken),
        Poll::Ready(Err(_)) => Err(WriteFailed::Broken),
        Poll::Pending => {
            let at = *deadline.get_or_insert_with(|| runtime.now() + write_timeout);
            // Boxed: a full socket buffer is rare, and the wait's timer would otherwise be part
            // of every idle connection's state.
            Box::pin(write_by(runtime, at, ws.feed(message))).await
        }
    }
}

/// Flushes the WebSocket, within `write_timeout`. `Ok(true)` when it completed without
/// waiting (so the loop's task has not yielded since it last polled its inputs).
async fn flush_bounded<R: Runtime, S>(
    runtime: &R,
    write_timeout: std::time::Duration,
    ws: &mut S,
) -> Result<bool, WriteFailed>
where
    S: Sink<WsMessage, Error = WsError> + Unpin,
{
    match std::future::poll_fn(|cx| Poll::Ready(ws.poll_flush_unpin(cx))).await {
        Poll::Ready(Ok(())) => Ok(true),
        Poll::Ready(Err(_)) => Err(WriteFailed::Broken),
        Poll::Pending => {
            let waiting = write_by(runtime, runtime.now() + write_timeout, ws.flush());
            // Boxed for the same reason as in `feed_bounded`.
            Box::pin(waiting).await.map(|()| false)
        }
    }
}

/// Runs the driver loop to the end of the session (see the module docs), reports the end to
/// `on_end`, then completes the close handshake.
#[allow(clippy::too_many_arguments, reason = "one connection's parts, moved in once")]
#[allow(clippy::manual_async_fn, reason = "an async fn would hold every argument twice")]
fn run_connection<R, S, E, F>(
    runtime: R,
    mut ws: S,
    mut session: Box<Session>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut events: E,
    handle: ConnectionHandle,
    local: Arc<LocalHandlers>,
    mut counters: ConnectionMetrics,
    on_end: F,
) -> impl Future<Output = ()>
where
    R: Runtime,
    S: WebSocketIo + Send + 'static,
    E: EventSink,
    F: FnOnce(ConnectionEnd),
{
    // A block that uses its captures in place, not an `async fn`: an `async fn` moves each
    // argument into a local of its own, so the loop's state would hold the WebSocket, the sink
    // and the handle twice for the whole life of the connection.
    async move {
        let mut waiters: HashMap<RequestId, Waiter> = HashMap::new();
        let mut calls: HashMap<CallToken, RequestId> = HashMap::new();
        let mut handlers = LoopHandlers::new(local.clone());
        let mut alarm = Alarm::<R>::new();
        let mut commands_open = true;
        let mut turn = 0u8;
        // The loop's own state besides the session: a drain under way (its deadline), a
        // finished answer held until the progress before it is flushed, and a close that
        // arrived with that answer (it goes after it).
        let mut draining: Option<Instant> = None;
        let mut progress_unflushed = false;
        let mut held_answer: Option<(RequestId, HandlerResult)> = None;
        let mut held_close: Option<CloseReason> = None;
        let mut broken = false;
        // Frames written to the WebSocket's buffer since the last flush, and inputs handled since.
        let mut unflushed = false;
        let mut batched = 0usize;
        let mut tags = message_pipe::is_loop_end::<S>().then(RelatedTags::default);
        let write_timeout = session.config().idle_timeout.unwrap_or(DEFAULT_WRITE_TIMEOUT);
        let closing;
        let mut end = ConnectionEnd {
            reason: CloseReason::new(CloseCode::ABNORMAL, "the session ended without a close"),
            by: ClosedBy::Transport,
            lifecycle_failure: None,
            retry: Vec::new(),
            unprocessed: false,
        };
        // Applies one application command to the loop's state (the session, the calls, the
        // drain, the progress flag); an answer the session refused goes to the sink.
        macro_rules! apply_command {
            ($command:expr, $now:expr) => {{
                let mut looped = LoopCommand {
                    session: &mut session,
                    waiters: &mut waiters,
                    calls: &mut calls,
                    parked: &mut end.retry,
                    draining: &mut draining,
                    progress_unflushed: &mut progress_unflushed,
                    tags: tags.as_mut(),
                };
                if let Err((id, error)) = looped.apply($command, $now) {
                    events.on_answer_refused(id, error, &handle);
                }
            }};
        }
        loop {
            // 1. Perform every action the session has queued, writing frames into the WebSocket's
            //    buffer. Every write that has to wait is bounded by the pass's write deadline: a
            //    peer that stops reading fills the socket buffers, and an unbounded write would
            //    stall the loop (and with it every timer) for good.
            let mut deadline = None;
            let mut close_reason = None;
            local.set_delivering(true);
            while let Some(action) = session.poll_action() {
                let related = tags.as_mut().and_then(RelatedTags::take_next);
                let outgoing = match action {
                    Action::SendText(text) => {
                        counters.sent(text.len());
                        if let (Some(related), Some(pipe)) =
                            (related, message_pipe::as_loop_end(&mut ws))
                        {
                            pipe.relate_next(related);
                        }
                        WsMessage::text(text)
                    }
                    Action::SendPing => WsMessage::Ping(Bytes::new()),
                    Action::Close(reason) => {
                        close_reason = Some(reason);
                        continue;
                    }
                    Action::Event(event) => {
                        deliver(event, &mut waiters, &mut calls, &mut events, &handle, &mut end);
                        continue;
                    }
                };
                if broken {
                    continue;
                }
                unflushed = true;
                let fed = feed_bounded(&runtime, &mut deadline, write_timeout, &mut ws, outgoing);
                if fed.await.is_err() {
                    broken = true;
                    session.handle_transport_lost("the WebSocket failed or stalled while sending");
                }
            }
            local.set_delivering(false);
            if session.is_closed() {
                // The close handshake runs after the end is reported (below), so a peer that never
                // answers our close does not delay the client's reaction to the loss.
                if unflushed && !broken {
                    let _ = flush_bounded(&runtime, write_timeout, &mut ws).await;
                }
                closing = (!broken).then_some(close_reason);
                break;
            }
            // A finished answer whose request reported progress in this batch: the progress is
            // flushed first, in a write of its own, so the result never shares a read with the
            // progress before it (a client that handles both from one read may drop the last
            // report: the TypeScript SDK does). Then the answer, then a close that came with it.
            if let Some((id, answer)) = held_answer.take() {
                if unflushed && !broken {
                    unflushed = false;
                    if flush_bounded(&runtime, write_timeout, &mut ws).await.is_err() {
                        broken = true;
                        session
                            .handle_transport_lost("the WebSocket failed or stalled while sending");
                    }
                }
                progress_unflushed = false;
                answer_now(&mut session, id, answer, &mut events, &handle);
                if let Some(reason) = held_close.take() {
                    let _ = session.close(reason);
                }
                continue;
            }
            // A drain under way ends once no request of the peer's is in progress (everything
            // it sent was answered: what it still has in flight was never processed, which the
            // drained close tells it), or at its deadline with whatever still runs cancelled.
            if let Some(deadline) = draining {
                let in_progress =
                    session.incoming_requests().saturating_sub(events.lasting_requests());
                if in_progress == 0 || runtime.now() >= deadline {
                    draining = None;
                    let _ = session.close(match in_progress {
                        0 => crate::error::drained_close(),
                        _ => CloseReason::new(CloseCode::GOING_AWAY, "the server is shutting down"),
                    });
                    continue;
                }
            }
            // 2. Re-arm the timer at the session's next deadline, a parked call's, or the drain's.
            let parked = end.retry.iter().filter_map(total_deadline).min();
            let next = [session.poll_timeout(), parked, draining].into_iter().flatten().min();
            alarm.arm(&runtime, next);
            // 3. Take the next input that is ready now; only when none is (or a batch is full) flush
            //    what this batch wrote, in one write, and wait. Answers of handlers that finished in
            //    the meantime ride in the same write.
            turn = turn.wrapping_add(1);
            let mut ready = None;
            let mut just_polled = false;
            if batched < MAX_INPUTS_PER_FLUSH {
                let poll = std::future::poll_fn(|cx| {
                    Poll::Ready(poll_input(
                        cx,
                        &mut alarm,
                        &mut handlers,
                        &mut ws,
                        &mut commands,
                        commands_open,
                        turn,
                    ))
                });
                match poll.await {
                    Poll::Ready(wake) => ready = Some(wake),
                    Poll::Pending => just_polled = true,
                }
            }
            let wake = match ready {
                Some(wake) => {
                    batched += 1;
                    wake
                }
                None => {
                    batched = 0;
                    counters.publish();
                    if unflushed && !broken {
                        unflushed = false;
                        progress_unflushed = false;
                        match flush_bounded(&runtime, write_timeout, &mut ws).await {
                            Ok(at_once) => just_polled &= at_once,
                            Err(_) => {
                                broken = true;
                                session.handle_transport_lost(
                                    "the WebSocket failed or stalled while sending",
                                );
                                continue;
                            }
                        }
                    }
                    // Every source was polled (and registered this task's waker) just now, with
                    // nothing in between that could have consumed a wake-up: the first poll of the
                    // wait would only repeat that work (a read syscall among it), so it is skipped.
                    std::future::poll_fn(|cx| {
                        if std::mem::take(&mut just_polled) {
                            return Poll::Pending;
                        }
                        poll_input(
                            cx,
                            &mut alarm,
                            &mut handlers,
                            &mut ws,
                            &mut commands,
                            commands_open,
                            turn,
                        )
                    })
                    .await
                }
            };
            let now = runtime.now();
            match wake {
                Wake::Frame(read) => match classify(&read) {
                    Inbound::Payload(payload) => {
                        let (Payload::Text(bytes) | Payload::Binary(bytes)) = payload;
                        counters.received(bytes.len());
                        session.handle_payload(now, payload)
                    }
                    Inbound::Activity => session.handle_transport_activity(now),
                    Inbound::PeerClosed(reason) => {
                        end.unprocessed =
                            reason.as_ref().is_some_and(crate::error::is_drained_close);
                        session.handle_peer_close(reason)
                    }
                    Inbound::Violation(reason) => {
                        let _ = session.close(reason);
                    }
                    Inbound::Lost(why) => session.handle_transport_lost(why),
                },
                Wake::Answer(id, answer) => {
                    // What the handler sent through the handle before it finished (its progress,
                    // say) is already queued: it goes first, as it would have over one channel.
                    // A close among it waits until the answer is out.
                    while let Ok(command) = commands.try_recv() {
                        if let Command::Close(reason) = command {
                            held_close.get_or_insert(reason);
                            continue;
                        }
                        apply_command!(command, now);
                    }
                    if progress_unflushed {
                        held_answer = Some((id, answer));
                        continue;
                    }
                    answer_now(&mut session, id, answer, &mut events, &handle);
                    if let Some(reason) = held_close.take() {
                        let _ = session.close(reason);
                    }
                }
                Wake::Command(Some(Command::Respond { id, response })) if progress_unflushed => {
                    held_answer = Some((id, response));
                }
                Wake::Command(Some(command)) => apply_command!(command, now),
                Wake::Command(None) => {
                    // Unreachable while the loop holds its own handle (it does, for its sink):
                    // a connection whose application handles are all dropped is closed by
                    // them (see `ConnectionHandle::owned`). Kept as the same close for safety.
                    commands_open = false;
                    let _ = session
                        .close(CloseReason::new(CloseCode::NORMAL, "the client was dropped"));
                }
                Wake::Timer => {
                    if alarm.take_due(now) {
                        session.handle_timeout(now);
                        expire_parked(&mut end.retry, now);
                    }
                }
            }
        }
        counters.publish();
        // Handlers still running are dropped with their futures (their answers are not wanted).
        drop(handlers);
        end.lifecycle_failure = session.lifecycle_failure();
        // Calls still waiting (none should be: the session ends every request) end as if their
        // connection was lost: retryable ones go back to the client, the rest fail as disconnected.
        for (_, waiter) in waiters.drain() {
            match waiter.retry {
                Some(retry) if retry.retryable || end.unprocessed => end.retry.push(retry_command(
                    waiter.token,
                    retry,
                    waiter.reply,
                    waiter.progress,
                )),
                _ => {
                    let _ = waiter.reply.send(Ok(Outcome::Disconnected));
                }
            }
        }
        // Commands that raced the close (never sent): requests that can be issued again go back to
        // the client too; the rest are refused.
        commands.close();
        while let Ok(command) = commands.try_recv() {
            match command {
                // Never sent, so safe to issue again: retryable requests, and every request of a
                // reconnecting client (those with a total deadline).
                unsent @ (Command::Request { retryable: true, .. }
                | Command::Request { deadline: Some(_), .. }) => end.retry.push(unsent),
                other => other.end(Outcome::Disconnected),
            }
        }
        on_end(end);
        // Our close: send it and read until the peer's close comes back, so it sees our code and
        // not a reset. The peer's close: tungstenite has answered it; flush that.
        if let Some(close_reason) = closing {
            let deadline = runtime.now() + write_timeout.min(CLOSE_HANDSHAKE_TIMEOUT);
            match close_reason {
                // Boxed: they run once, at the end, and would otherwise widen the state the
                // connection holds all its life.
                Some(reason) => {
                    Box::pin(close_handshake(&runtime, &mut ws, Some(reason), deadline)).await;
                }
                None => {
                    let _ = Box::pin(write_by(&runtime, deadline, ws.close())).await;
                }
            }
        }
    }
}

/// A request command's total deadline.
fn total_deadline(command: &Command) -> Option<Instant> {
    match command {
        Command::Request { deadline, .. } => *deadline,
        _ => None,
    }
}

/// Ends the parked calls (waiting for the next connection) whose total deadline has passed.
fn expire_parked(parked: &mut Vec<Command>, now: Instant) {
    if parked.iter().filter_map(total_deadline).all(|deadline| now < deadline) {
        return;
    }
    for command in std::mem::take(parked) {
        match total_deadline(&command) {
            Some(deadline) if now >= deadline => command.end(Outcome::TimedOut),
            _ => parked.push(command),
        }
    }
}

/// The request command that issues a call again.
fn retry_command(
    token: CallToken,
    retry: Retry,
    reply: oneshot::Sender<Result<Outcome, SessionError>>,
    progress: Option<ProgressSender>,
) -> Command {
    Command::Request {
        token,
        method: retry.method,
        params: retry.params,
        options: retry.options,
        deadline: retry.deadline,
        reply,
        progress,
        retryable: retry.retryable,
        related: None,
    }
}

/// Answers the peer's request `id`; a refused answer (not a JSON object in 2026-07-28) goes to
/// the sink. Unknown (cancelled) requests and a closed session: the answer is not wanted.
fn answer_now<E: EventSink>(
    session: &mut Session,
    id: RequestId,
    answer: HandlerResult,
    events: &mut E,
    handle: &ConnectionHandle,
) {
    if let Err(error @ SessionError::NotAnObject) = session.respond(id.clone(), answer) {
        events.on_answer_refused(id, error, handle);
    }
}

/// What one application command may change in the loop.
struct LoopCommand<'a> {
    session: &'a mut Session,
    waiters: &'a mut HashMap<RequestId, Waiter>,
    calls: &'a mut HashMap<CallToken, RequestId>,
    /// Calls parked for the next connection (a reconnecting client's).
    parked: &'a mut Vec<Command>,
    draining: &'a mut Option<Instant>,
    /// Set when a progress report was queued for writing since the last flush.
    progress_unflushed: &'a mut bool,
    /// Where the texts written for a handler are noted (a message pipe's loop only).
    tags: Option<&'a mut RelatedTags>,
}

impl LoopCommand<'_> {
    /// Applies one application command; gives back an answer the session refused.
    fn apply(&mut self, command: Command, now: Instant) -> Result<(), (RequestId, SessionError)> {
        let LoopCommand { session, waiters, calls, parked, draining, progress_unflushed, tags } =
            self;
        let related = match &command {
            Command::Request { related, .. } | Command::Notify { related, .. } => related.clone(),
            _ => None,
        };
        let queued_before = session.queued_actions();
        match command {
            Command::Request {
                token,
                method,
                params,
                options,
                deadline,
                reply,
                progress,
                retryable,
                related: _,
            } => {
                let retry = (retryable || deadline.is_some()).then(|| Retry {
                    retryable,
                    method: method.clone(),
                    params: params.clone(),
                    options,
                    deadline,
                });
                match session.send_request(now, method, params, options) {
                    Ok(id) => {
                        calls.insert(token, id.clone());
                        waiters.insert(id, Waiter { token, reply, progress, retry });
                    }
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                }
            }
            Command::Abandon { token } => match calls.remove(&token) {
                Some(id) => {
                    if waiters.remove(&id).is_some() {
                        let _ = session.cancel(&id, Some("the caller stopped waiting"));
                    }
                }
                // Parked for the next connection (refused unprocessed by a draining server):
                // the caller is gone, so it is not issued again.
                None => parked.retain(
                    |command| !matches!(command, Command::Request { token: t, .. } if *t == token),
                ),
            },
            Command::Notify { method, params, reply, .. } => {
                let _ = reply.send(session.send_notification(method, params));
            }
            Command::Respond { id, response } => {
                // Unknown (cancelled) requests and a closed session: the answer is not wanted.
                if let Err(error @ SessionError::NotAnObject) =
                    session.respond(id.clone(), response)
                {
                    return Err((id, error));
                }
            }
            Command::Progress { id, progress, total, message, .. } => {
                if session.notify_progress(&id, progress, total, message).is_ok() {
                    **progress_unflushed = true;
                }
            }
            Command::Drain { deadline } => {
                let earlier = draining.map_or(deadline, |at| at.min(deadline));
                **draining = Some(earlier);
            }
            Command::Close(reason) => {
                let _ = session.close(reason);
            }
        }
        // A request or notification sent for a handler is the last action queued (none when
        // it was held until the session is ready, or refused).
        if let (Some(tags), Some(related)) = (tags.as_deref_mut(), related) {
            let queued = session.queued_actions();
            if queued > queued_before {
                let place = tags.polled + (queued - 1) as u64;
                tags.queued.push_back((place, related));
            }
        }
        Ok(())
    }
}

fn deliver<E: EventSink>(
    event: Event,
    waiters: &mut HashMap<RequestId, Waiter>,
    calls: &mut HashMap<CallToken, RequestId>,
    events: &mut E,
    handle: &ConnectionHandle,
    end: &mut ConnectionEnd,
) {
    match event {
        Event::RequestEnded { id, outcome } => match waiters.remove(&id) {
            Some(waiter) => {
                tracing::debug!(id = %id, outcome = outcome_kind(&outcome), "request ended");
                calls.remove(&waiter.token);
                match (outcome, waiter.retry) {
                    (Outcome::Error(error), Some(retry))
                        if crate::error::is_not_processed(&error) =>
                    {
                        tracing::debug!(id = %id, "refused unprocessed by a draining server");
                        end.retry.push(retry_command(
                            waiter.token,
                            retry,
                            waiter.reply,
                            waiter.progress,
                        ));
                    }
                    (Outcome::Disconnected, Some(retry)) if retry.retryable || end.unprocessed => {
                        end.retry.push(retry_command(
                            waiter.token,
                            retry,
                            waiter.reply,
                            waiter.progress,
                        ));
                    }
                    (outcome, _) => {
                        let _ = waiter.reply.send(Ok(outcome));
                    }
                }
            }
            None => events.on_event(Event::RequestEnded { id, outcome }, handle),
        },
        Event::Progress { id, params } => {
            match waiters.get(&id).and_then(|w| w.progress.as_ref()) {
                Some(progress) => {
                    let _ = progress.send(params);
                }
                None => events.on_event(Event::Progress { id, params }, handle),
            }
        }
        Event::Ready(info) => {
            tracing::info!(era = %info.era, version = %info.version, "session ready");
            events.on_event(Event::Ready(info), handle);
        }
        Event::Closed { reason, by } => {
            tracing::info!(
                code = reason.code.0,
                reason = %reason.reason,
                by = ?by,
                "connection closed"
            );
            end.reason = reason.clone();
            end.by = by;
            events.on_event(Event::Closed { reason, by }, handle);
        }
        other => events.on_event(other, handle),
    }
}

/// The kind of a request's outcome, for tracing.
fn outcome_kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Result(_) => "result",
        Outcome::Error(_) => "error",
        Outcome::TimedOut => "timed out",
        Outcome::Cancelled => "cancelled",
        Outcome::Disconnected => "disconnected",
        #[allow(unreachable_patterns, reason = "the enum may be non_exhaustive")]
        _ => "other",
    }
}
