//! Handler tasks for the peer's requests, shared by the client and the server.
//!
//! Each incoming request runs as its own spawned task; its answer goes back through the
//! connection handle. A request the peer cancels, or one whose connection ends, has its task
//! aborted (the handler future is dropped) and its answer is never sent.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::{AbortHandle, Abortable};
use mcp_ws_core::mcp::{LoggingLevel, LoggingMessageParams, methods};
use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::{ErrorObject, RawJson, RequestId};

use crate::error::CallError;

use crate::handle::ConnectionHandle;
use crate::runtime::Runtime;

/// The least severe log level sent when the peer never set one (debug: everything).
const ALL_LEVELS: u8 = 0;

/// What a handler can see and do while it runs.
#[derive(Clone, Debug)]
pub struct RequestContext {
    id: RequestId,
    wants_progress: bool,
    handle: ConnectionHandle,
    cancelled: Arc<AtomicBool>,
    /// The connection's minimum log severity (see `logging/setLevel`).
    log_threshold: Arc<AtomicU8>,
    /// Who the server's authenticator let in (set by the server for its handlers).
    pub(crate) principal: Option<crate::server::auth::Principal>,
}

impl RequestContext {
    /// The peer's id of the request being handled.
    pub fn request_id(&self) -> &RequestId {
        &self.id
    }

    /// Who the server's authenticator let in on this connection (`None` without one, and on
    /// the client side).
    pub fn principal(&self) -> Option<&crate::server::auth::Principal> {
        self.principal.as_ref()
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

    /// Sets the least severe level [`RequestContext::log`] sends on this connection (what a
    /// `logging/setLevel` request asks for).
    pub fn set_log_level(&self, level: &LoggingLevel) {
        let threshold = level.severity().unwrap_or(ALL_LEVELS);
        self.log_threshold.store(threshold, Ordering::Relaxed);
    }

    /// Sends a `notifications/message` log entry to the peer, unless the peer asked for a more
    /// severe minimum level with `logging/setLevel`.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: serde_json::Value,
    ) -> Result<(), CallError> {
        let severity = level.severity().unwrap_or(u8::MAX);
        if severity < self.log_threshold.load(Ordering::Relaxed) {
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
        self.handle.notify(methods::NOTIFICATIONS_MESSAGE, Some(raw)).await
    }
}

struct Running {
    abort: AbortHandle,
    cancelled: Arc<AtomicBool>,
}

/// The handler tasks of one connection.
#[derive(Clone, Default)]
pub struct HandlerTasks {
    running: Arc<Mutex<HashMap<RequestId, Running>>>,
    log_threshold: Arc<AtomicU8>,
}

impl HandlerTasks {
    /// Runs `handler` for the peer's `request` as its own task and sends its answer when it
    /// finishes (unless the request was cancelled or the connection ended first).
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
        let cancelled = Arc::new(AtomicBool::new(false));
        let context = RequestContext {
            id: id.clone(),
            wants_progress,
            handle: handle.clone(),
            cancelled: cancelled.clone(),
            log_threshold: self.log_threshold.clone(),
            principal: None,
        };
        let (abort, registration) = AbortHandle::new_pair();
        let work = Abortable::new(handler(request, context), registration);
        self.running.lock().expect("lock").insert(id.clone(), Running { abort, cancelled });
        let running = self.running.clone();
        let handle = handle.clone();
        runtime.spawn(async move {
            let answer = work.await;
            let still_wanted = running.lock().expect("lock").remove(&id).is_some();
            if let (Ok(answer), true) = (answer, still_wanted) {
                handle.respond(id, answer);
            }
        });
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
