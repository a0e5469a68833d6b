//! How a client answers the server's requests in the legacy era: `roots/list` from a fixed
//! list, `sampling/createMessage` and `elicitation/create` from typed handlers, anything else
//! from a raw handler, and -32601 when there is none. Registering a handler declares the
//! matching client capability. `ping` never gets here: the core session answers it.

use std::future::Future;
use std::sync::Arc;

use mcp_ws_core::ErrorObject;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult,
    ElicitationCapability, ListRootsResult, Root, RootsCapability, SamplingCapability,
};
use mcp_ws_core::session::IncomingRequest;

use crate::handler::{HandlerResult, RequestHandler, method_not_found, parse_params, to_result};
use crate::runtime::BoxFuture;
use crate::tasks::RequestContext;

type TypedHandler<P, R> =
    Arc<dyn Fn(P, RequestContext) -> BoxFuture<'static, Result<R, ErrorObject>> + Send + Sync>;

/// The client's answers to server requests.
#[derive(Clone, Default)]
pub struct PeerRequests {
    roots: Option<Arc<Vec<Root>>>,
    sampling: Option<TypedHandler<CreateMessageParams, CreateMessageResult>>,
    elicitation: Option<TypedHandler<ElicitParams, ElicitResult>>,
    handler: Option<RequestHandler>,
}

fn typed<P, R, F, Fut>(handler: F) -> TypedHandler<P, R>
where
    F: Fn(P, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ErrorObject>> + Send + 'static,
{
    Arc::new(move |params, context| Box::pin(handler(params, context)))
}

impl PeerRequests {
    /// Answers `roots/list` with `roots` (and declares the roots capability).
    pub fn roots(mut self, roots: Vec<Root>) -> Self {
        self.roots = Some(Arc::new(roots));
        self
    }

    /// Answers `sampling/createMessage` (asking the application's model) and declares the
    /// sampling capability.
    pub fn sampling<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CreateMessageParams, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
    {
        self.sampling = Some(typed(handler));
        self
    }

    /// Answers `elicitation/create` (asking the user) and declares the elicitation capability.
    pub fn elicitation<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ElicitParams, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.elicitation = Some(typed(handler));
        self
    }

    /// Answers every other server request with `handler` (custom methods).
    pub fn handler(mut self, handler: RequestHandler) -> Self {
        self.handler = Some(handler);
        self
    }

    /// Adds the capabilities these answers need to `capabilities` (keeping any already set).
    pub fn declare(&self, capabilities: &mut ClientCapabilities) {
        if self.roots.is_some() && capabilities.roots.is_none() {
            capabilities.roots =
                Some(RootsCapability { list_changed: Some(false), ..Default::default() });
        }
        if self.sampling.is_some() && capabilities.sampling.is_none() {
            capabilities.sampling = Some(SamplingCapability::default());
        }
        if self.elicitation.is_some() && capabilities.elicitation.is_none() {
            capabilities.elicitation = Some(ElicitationCapability {
                form: Some(Default::default()),
                ..Default::default()
            });
        }
    }

    /// Answers one request.
    pub(crate) fn handle(
        &self,
        request: IncomingRequest,
        context: RequestContext,
    ) -> BoxFuture<'static, HandlerResult> {
        match request.method.as_str() {
            methods::ROOTS_LIST if self.roots.is_some() => {
                let roots = self.roots.as_deref().cloned().unwrap_or_default();
                let answer = to_result(&ListRootsResult { roots, ..Default::default() });
                return Box::pin(async move { answer });
            }
            methods::SAMPLING_CREATE_MESSAGE if self.sampling.is_some() => {
                let handler = self.sampling.clone().expect("checked");
                return run_typed(handler, request, context);
            }
            methods::ELICITATION_CREATE if self.elicitation.is_some() => {
                let handler = self.elicitation.clone().expect("checked");
                return run_typed(handler, request, context);
            }
            _ => {}
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

/// Parses the params (-32602 when they do not fit), runs a typed handler, serialises its result.
fn run_typed<P, R>(
    handler: TypedHandler<P, R>,
    request: IncomingRequest,
    context: RequestContext,
) -> BoxFuture<'static, HandlerResult>
where
    P: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
{
    Box::pin(async move {
        let params: P = parse_params(request.params.as_ref())?;
        to_result(&handler(params, context).await?)
    })
}
