//! How a client answers the server's requests in the legacy era: `roots/list` from a fixed
//! list, anything else (sampling, elicitation, custom methods) from an application handler, and
//! -32601 when there is none. `ping` never gets here: the core session answers it.

use std::sync::Arc;

use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{ListRootsResult, Root};
use mcp_ws_core::session::IncomingRequest;

use crate::handler::{HandlerResult, RequestHandler, method_not_found, to_result};
use crate::runtime::BoxFuture;
use crate::tasks::RequestContext;

/// The client's answers to server requests.
#[derive(Clone, Default)]
pub struct PeerRequests {
    roots: Option<Arc<Vec<Root>>>,
    handler: Option<RequestHandler>,
}

impl PeerRequests {
    /// Answers `roots/list` with `roots` (and declares the roots capability).
    pub fn roots(mut self, roots: Vec<Root>) -> Self {
        self.roots = Some(Arc::new(roots));
        self
    }

    /// Answers every other server request with `handler` (sampling/createMessage,
    /// elicitation/create, custom methods).
    pub fn handler(mut self, handler: RequestHandler) -> Self {
        self.handler = Some(handler);
        self
    }

    /// Whether `roots/list` is answered.
    pub fn has_roots(&self) -> bool {
        self.roots.is_some()
    }

    /// Answers one request.
    pub(crate) fn handle(
        &self,
        request: IncomingRequest,
        context: RequestContext,
    ) -> BoxFuture<'static, HandlerResult> {
        if request.method == methods::ROOTS_LIST {
            if let Some(roots) = &self.roots {
                let result = ListRootsResult { roots: (**roots).clone(), ..Default::default() };
                let answer = to_result(&result);
                return Box::pin(async move { answer });
            }
        }
        match &self.handler {
            Some(handler) => handler(request, context),
            None => {
                let error = method_not_found(&request.method);
                Box::pin(async move { Err(error) })
            }
        }
    }
}
