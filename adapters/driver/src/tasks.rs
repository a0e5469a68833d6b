//! Handlers for the peer's requests, shared by the client and the server.
//!
//! A handler runs inside its connection's own task: [`HandlerTasks::start`] hands the handler's
//! future to the connection loop, which polls it beside the socket, the timer and the commands
//! (see [`crate::connection`]). A handler that finishes at once costs no spawned task, no
//! channel and no wake-up of another thread, and its answer rides in the same write as the
//! other answers of that pass. The flip side: **a handler that blocks the CPU (a long
//! computation, blocking I/O) stalls its whole connection**; such a handler must offload the
//! work itself (`tokio::task::spawn_blocking`, `smol::unblock`, a thread pool) and await it.
//! Handlers of other connections are not affected.
//!
//! A request the peer cancels, or one whose connection ends, has its handler future dropped
//! (at the connection's next pass) and its answer is never sent. How many run at once is bounded
//! by the session's `max_concurrent_incoming`: the session refuses requests beyond it.
//!
//! Running handlers are keyed by the peer's id *and* a per-request token: a peer may cancel a
//! request and reuse its id at once, and the dropped future must then not remove (and so
//! silence) the entry of the new request with the same id. A handler that panics is answered
//! with -32603 (internal error) and its entry is freed like any other.
//!
//! A handle that no connection loop drives (none of the driver's own loops hands one out to a
//! sink) falls back to running each handler as its own task on the runtime, answering through
//! the handle's command channel.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{AbortHandle, Abortable, Either};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;
use mcp_ws_core::mcp::{LoggingLevel, LoggingMessageParams, log_allowed, methods};
use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::{Era, ErrorCode, ErrorObject, RawJson, RequestId};

use crate::error::CallError;
use crate::handler::HandlerResult;

use crate::handle::ConnectionHandle;
use crate::runtime::Runtime;

/// The connection's minimum log level from `logging/setLevel` (legacy era); `None` until set.
type ConnectionLogLevel = Arc<Mutex<Option<LoggingLevel>>>;

/// What a handler can see and do while it runs.
#[derive(Clone, Debug)]
pub struct RequestContext {
    id: RequestId,
    wants_progress: bool,
    handle: ConnectionHandle,
    cancelled: Arc<AtomicBool>,
    /// The era of the request.
    pub(crate) era: Era,
    /// The request's own minimum log level (`_meta`, 2026-07-28).
    log_level: Option<LoggingLevel>,
    /// The connection's minimum log level (`logging/setLevel`, legacy era).
    connection_log_level: ConnectionLogLevel,
    /// Who the server's authenticator let in (set by the server for its handlers).
    pub(crate) principal: Option<crate::server::auth::Principal>,
    /// The router's shared states (set by the router for its handlers).
    pub(crate) states: crate::state::States,
    /// The `input_required` round this request runs in (server, 2026-07-28 only).
    pub(crate) input: Option<Arc<Mutex<mcp_ws_core::mrtr::InputRound>>>,
    /// The connection's subscriptions (set by the server for its handlers).
    pub(crate) subscriptions: Option<Arc<Mutex<crate::server::subscriptions::Subscriptions>>>,
    /// The protocol version of the session (set by the server for its handlers).
    pub(crate) protocol_version: Option<mcp_ws_core::ProtocolVersion>,
    /// The server's publisher of change notifications (set by the server for its handlers).
    pub(crate) notifier: Option<crate::server::Notifier>,
    /// What the client declared it can do: this request's own `_meta` stamp (2026-07-28), or
    /// the connection's `initialize` (legacy era, set by the server for its handlers).
    pub(crate) client_capabilities: Option<mcp_ws_core::mcp::ClientCapabilities>,
}

impl RequestContext {
    /// The context of a request that did not come over a connection: an input request of an
    /// `input_required` result, answered by the client's handlers.
    pub(crate) fn detached(id: RequestId, handle: ConnectionHandle) -> RequestContext {
        RequestContext {
            id,
            wants_progress: false,
            handle,
            cancelled: Arc::default(),
            // Input requests exist only in 2026-07-28; they carry no log level of their own.
            era: Era::Modern,
            log_level: None,
            connection_log_level: Arc::default(),
            principal: None,
            states: Default::default(),
            input: None,
            subscriptions: None,
            notifier: None,
            protocol_version: None,
            client_capabilities: None,
        }
    }

    /// The peer's id of the request being handled.
    pub fn request_id(&self) -> &RequestId {
        &self.id
    }

    /// Who the server's authenticator let in on this connection (`None` without one, and on
    /// the client side).
    pub fn principal(&self) -> Option<&crate::server::auth::Principal> {
        self.principal.as_ref()
    }

    /// The era the request was made in.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The protocol version the session speaks (`None` outside a server's handlers).
    pub fn protocol_version(&self) -> Option<mcp_ws_core::ProtocolVersion> {
        self.protocol_version
    }

    /// The least severe log level this request asked for in its `_meta` (2026-07-28 only;
    /// `None` there means no log messages for it, and always `None` in the legacy era).
    pub fn requested_log_level(&self) -> Option<&LoggingLevel> {
        self.log_level.as_ref()
    }

    /// The capabilities the client declared (`None` on the client side, and for a 2026-07-28
    /// request without the stamp). In 2026-07-28 each request declares its own in its `_meta`,
    /// so two requests of one connection may differ; in the legacy era they are the ones the
    /// client sent in `initialize`. [`RequestContext::elicit`],
    /// [`RequestContext::create_message`] and [`RequestContext::list_roots`] check them
    /// before asking (see [`CallError::MissingClientCapability`]); a handler that can do
    /// without a capability reads them to decide what to ask.
    pub fn client_capabilities(&self) -> Option<&mcp_ws_core::mcp::ClientCapabilities> {
        self.client_capabilities.as_ref()
    }

    /// The server's publisher of change notifications (`None` on the client side): a handler
    /// that changes a resource tells every subscribed session, on every node, with it.
    pub fn notifier(&self) -> Option<&crate::server::Notifier> {
        self.notifier.as_ref()
    }

    /// Whether the peer asked for progress on this request.
    pub fn wants_progress(&self) -> bool {
        self.wants_progress
    }

    /// Reports progress to the peer, if it asked for progress (otherwise does nothing).
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        if self.wants_progress {
            self.handle.progress(self.id.clone(), progress, total, message);
        }
    }

    /// Whether the peer cancelled the request or the connection ended. The handler's future is
    /// dropped at its next await point anyway; this is for work between await points.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The connection the request came on, to send notifications while handling it.
    pub fn connection(&self) -> &ConnectionHandle {
        &self.handle
    }

    /// Sets the least severe level [`RequestContext::log`] sends for the legacy-era requests
    /// of this connection (what a `logging/setLevel` request asks for).
    pub fn set_log_level(&self, level: &LoggingLevel) {
        *self.connection_log_level.lock().expect("lock") = Some(level.clone());
    }

    /// Whether [`RequestContext::log`] would send a message at `level` for this request (see
    /// [`log_allowed`]: the connection's `logging/setLevel` in the legacy era, the request's
    /// own `_meta` level in 2026-07-28, where a request without one gets no log messages).
    pub fn logs_at(&self, level: &LoggingLevel) -> bool {
        let connection = self.connection_log_level.lock().expect("lock").clone();
        log_allowed(self.era, self.log_level.as_ref(), connection.as_ref(), level)
    }

    /// Sends a `notifications/message` log entry to the peer, unless the request's log level
    /// filters it out (see [`RequestContext::logs_at`]); a filtered entry is `Ok(())`.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: serde_json::Value,
    ) -> Result<(), CallError> {
        if !self.logs_at(&level) {
            return Ok(());
        }
        let params = LoggingMessageParams {
            level,
            logger: logger.map(str::to_string),
            data,
            meta: None,
            extra: Default::default(),
        };
        let raw = RawJson::from_serialize(&params)
            .map_err(|e| CallError::InvalidResult(e.to_string()))?;
        let method = methods::NOTIFICATIONS_MESSAGE.to_string();
        self.handle.notify_for(Some(self.id.clone()), method, Some(raw)).await
    }
}

struct Running {
    /// Which start of a request with this id the entry belongs to.
    token: u64,
    abort: AbortHandle,
    cancelled: Arc<AtomicBool>,
}

/// The handler tasks of one connection.
#[derive(Clone, Default)]
pub struct HandlerTasks {
    running: Arc<Mutex<HashMap<RequestId, Running>>>,
    next_token: Arc<AtomicU64>,
    connection_log_level: ConnectionLogLevel,
}

impl HandlerTasks {
    /// Runs `handler` for the peer's `request` inside the connection's task (see the module
    /// docs) and answers when it finishes, unless the request was cancelled or the connection
    /// ended first. `runtime` is used only for a handle that no connection loop drives.
    pub fn start<R, F, H>(
        &self,
        runtime: &R,
        handle: &ConnectionHandle,
        request: IncomingRequest,
        handler: H,
    ) where
        R: Runtime,
        H: FnOnce(IncomingRequest, RequestContext) -> F,
        F: Future<Output = Result<RawJson, ErrorObject>> + Send + 'static,
    {
        let id = request.id.clone();
        let wants_progress = request.wants_progress;
        let (era, log_level) = (request.era, request.log_level.clone());
        let client_capabilities = request.client_capabilities.as_deref().cloned();
        // Only when debug tracing is on is the method kept and the clock read.
        let traced = tracing::enabled!(tracing::Level::DEBUG)
            .then(|| (request.method.clone(), std::time::Instant::now()));
        let cancelled = Arc::new(AtomicBool::new(false));
        let context = RequestContext {
            id: id.clone(),
            wants_progress,
            handle: handle.clone(),
            cancelled: cancelled.clone(),
            era,
            log_level,
            connection_log_level: self.connection_log_level.clone(),
            principal: None,
            states: Default::default(),
            input: None,
            subscriptions: None,
            notifier: None,
            protocol_version: None,
            client_capabilities,
        };
        let (abort, registration) = AbortHandle::new_pair();
        // One guard over the whole handler: its synchronous part (what runs before its first
        // `.await`, such as `ctx.state::<S>()` of a state never shared) and its future.
        let work = match catch_unwind(AssertUnwindSafe(|| handler(request, context))) {
            Ok(future) => Either::Left(AssertUnwindSafe(future).catch_unwind()),
            Err(panic) => Either::Right(futures_util::future::ready(Err(panic))),
        };
        let work = Abortable::new(work, registration);
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let entry = Running { token, abort, cancelled };
        if let Some(replaced) = self.running.lock().expect("lock").insert(id.clone(), entry) {
            // The peer reused the id of a request still running: the old task can no longer
            // be answered (its id now names the new request), so it stops.
            replaced.cancelled.store(true, Ordering::Relaxed);
            replaced.abort.abort();
        }
        let running = self.running.clone();
        let finish = async move {
            let answer = work.await;
            let still_wanted = {
                let mut running = running.lock().expect("lock");
                let ours = running.get(&id).is_some_and(|entry| entry.token == token);
                if ours {
                    running.remove(&id);
                }
                ours
            };
            if let Some((method, started)) = traced {
                let outcome = match (&answer, still_wanted) {
                    (Err(_), _) | (_, false) => "cancelled",
                    (Ok(Ok(Ok(_))), true) => "result",
                    (Ok(Ok(Err(_))), true) => "error",
                    (Ok(Err(_panic)), true) => "panicked",
                };
                let micros = started.elapsed().as_micros() as u64;
                tracing::debug!(%method, id = %id, micros, outcome, "request handled");
            }
            let answer = match answer {
                Ok(Ok(answer)) => answer,
                Ok(Err(_panic)) => {
                    Err(ErrorObject::new(ErrorCode::InternalError, "the request handler panicked"))
                }
                Err(_aborted) => return None,
            };
            still_wanted.then_some((id, answer))
        };
        match &handle.local {
            Some(local) => local.push(Box::pin(finish)),
            None => {
                let handle = handle.clone();
                runtime.spawn(async move {
                    if let Some((id, answer)) = finish.await {
                        handle.respond(id, answer);
                    }
                });
            }
        }
    }

    /// Aborts the task of request `id` (the peer cancelled it).
    pub fn cancel(&self, id: &RequestId) {
        if let Some(running) = self.running.lock().expect("lock").remove(id) {
            running.cancelled.store(true, Ordering::Relaxed);
            running.abort.abort();
        }
    }

    /// Aborts every task (the connection ended).
    pub fn cancel_all(&self) {
        for (_, running) in self.running.lock().expect("lock").drain() {
            running.cancelled.store(true, Ordering::Relaxed);
            running.abort.abort();
        }
    }

    /// How many handlers are running.
    pub fn len(&self) -> usize {
        self.running.lock().expect("lock").len()
    }

    /// Whether no handler is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs a synchronous handler entry point (a notification hook, say) so that a panic in it is
/// logged and swallowed instead of ending the connection's task; `None` when it panicked.
pub(crate) fn guarded<T>(what: &'static str, entry: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(entry)) {
        Ok(value) => Some(value),
        Err(_panic) => {
            tracing::warn!(handler = what, "a handler panicked; the connection goes on");
            None
        }
    }
}

/// A handler future as the connection loop runs it: it resolves with the answer to send, or
/// with `None` when the answer is no longer wanted (cancelled, replaced, connection ended).
pub(crate) type Answering =
    Pin<Box<dyn Future<Output = Option<(RequestId, HandlerResult)>> + Send>>;

/// The handlers one connection loop runs in its own task. Started handlers wait in `started`
/// (filled by [`HandlerTasks::start`] through the connection's handle, usually from inside the
/// loop's own event delivery) until the loop moves them into its `FuturesUnordered`.
#[derive(Default)]
pub(crate) struct LocalHandlers {
    started: Mutex<Vec<Answering>>,
    /// Set while the loop itself is delivering events: a handler started then is picked up
    /// before the loop waits again, so the loop need not be woken.
    delivering: AtomicBool,
    waker: AtomicWaker,
}

impl LocalHandlers {
    fn push(&self, future: Answering) {
        self.started.lock().expect("lock").push(future);
        if !self.delivering.load(Ordering::SeqCst) {
            self.waker.wake();
        }
    }

    /// Marks the start and the end of the loop's own event delivery.
    pub(crate) fn set_delivering(&self, delivering: bool) {
        self.delivering.store(delivering, Ordering::SeqCst);
    }
}

/// The loop's side of [`LocalHandlers`]: the running handler futures.
pub(crate) struct LoopHandlers {
    shared: Arc<LocalHandlers>,
    running: FuturesUnordered<Answering>,
}

impl LoopHandlers {
    pub(crate) fn new(shared: Arc<LocalHandlers>) -> Self {
        LoopHandlers { shared, running: FuturesUnordered::new() }
    }

    /// Polls the handlers; ready with the next answer to send.
    pub(crate) fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<(RequestId, HandlerResult)> {
        self.shared.waker.register(cx.waker());
        {
            let mut started = self.shared.started.lock().expect("lock");
            for future in started.drain(..) {
                self.running.push(future);
            }
        }
        loop {
            match self.running.poll_next_unpin(cx) {
                Poll::Ready(Some(Some(answer))) => return Poll::Ready(answer),
                Poll::Ready(Some(None)) => continue,
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;

    use futures_channel::mpsc;

    use super::*;
    use crate::handle::Command;
    use crate::runtime::BoxFuture;

    /// A runtime whose spawned tasks wait in a list until the test runs them, in order.
    #[derive(Clone, Default)]
    struct QueuedTasks(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

    impl QueuedTasks {
        fn run_all(&self) {
            let tasks: Vec<_> = self.0.lock().unwrap().drain(..).collect();
            for task in tasks {
                futures_executor::block_on(task);
            }
        }
    }

    impl Runtime for QueuedTasks {
        type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;
        fn now(&self) -> mcp_ws_core::time::Instant {
            mcp_ws_core::time::Instant::ZERO
        }
        fn sleep_until(&self, _: mcp_ws_core::time::Instant) -> Self::Sleep {
            Box::pin(futures_util::future::pending())
        }
        fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
            self.0.lock().unwrap().push(Box::pin(task));
        }
    }

    fn request(id: i64) -> IncomingRequest {
        IncomingRequest {
            id: RequestId::from(id),
            method: "tools/call".into(),
            params: None,
            wants_progress: false,
            era: Era::Legacy,
            log_level: None,
            client_capabilities: None,
        }
    }

    fn answers(commands: &mut mpsc::UnboundedReceiver<Command>) -> Vec<(RequestId, bool)> {
        let mut answers = Vec::new();
        while let Ok(command) = commands.try_recv() {
            if let Command::Respond { id, response } = command {
                answers.push((id, response.is_ok()));
            }
        }
        answers
    }

    fn ok() -> RawJson {
        RawJson::from_string("{}".into()).unwrap()
    }

    #[test]
    fn a_request_reusing_a_cancelled_id_is_answered_and_frees_its_entry() {
        let runtime = QueuedTasks::default();
        let (sender, mut commands) = mpsc::unbounded();
        let handle = ConnectionHandle::new(sender);
        let tasks = HandlerTasks::default();
        tasks.start(&runtime, &handle, request(1), |_, _| futures_util::future::pending());
        tasks.cancel(&RequestId::from(1i64));
        tasks.start(&runtime, &handle, request(1), |_, _| async { Ok(ok()) });
        // The aborted first task runs after the second request started.
        runtime.run_all();
        assert_eq!(answers(&mut commands), vec![(RequestId::from(1i64), true)]);
        assert!(tasks.is_empty(), "{} handler entries leaked", tasks.len());
    }

    #[test]
    fn a_handler_that_panics_is_answered_with_an_internal_error_and_frees_its_entry() {
        let runtime = QueuedTasks::default();
        let (sender, mut commands) = mpsc::unbounded();
        let handle = ConnectionHandle::new(sender);
        let tasks = HandlerTasks::default();
        tasks.start(&runtime, &handle, request(7), |_, _| async {
            if true {
                panic!("handler bug");
            }
            Ok(ok())
        });
        runtime.run_all();
        assert_eq!(answers(&mut commands), vec![(RequestId::from(7i64), false)]);
        assert!(tasks.is_empty());
    }

    #[test]
    fn a_handler_that_panics_before_returning_its_future_is_answered_with_an_internal_error() {
        let runtime = QueuedTasks::default();
        let (sender, mut commands) = mpsc::unbounded();
        let handle = ConnectionHandle::new(sender);
        let tasks = HandlerTasks::default();
        // The synchronous part panics (as `ctx.state::<Missing>()` before `async move` does).
        tasks.start(&runtime, &handle, request(9), |_, _| -> futures_util::future::Ready<_> {
            panic!("handler bug before its future")
        });
        runtime.run_all();
        let answered: Vec<_> = std::iter::from_fn(|| commands.try_recv().ok())
            .filter_map(|command| match command {
                Command::Respond { id, response: Err(error) } => Some((id, error.code)),
                _ => None,
            })
            .collect();
        assert_eq!(answered, vec![(RequestId::from(9i64), -32603)]);
        assert!(tasks.is_empty(), "{} handler entries leaked", tasks.len());
    }
}
