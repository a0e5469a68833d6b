//! The server's registry: tools, resources (static and templated) and prompts, each with an
//! async handler, plus a raw fallback for every other method. The router answers the MCP list
//! and call methods from the registry and declares the matching capabilities.
//!
//! The four list methods are served in pages of [`Router::page_size`] items with the core's
//! opaque cursors ([`mcp_ws_core::pagination`]), in both eras; an invalid cursor gets -32602.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use mcp_ws_core::mcp::PaginatedParams;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{
    CallToolParams, CallToolResult, CompleteParams, CompleteResult, GetPromptParams,
    GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, Prompt, PromptsCapability, ReadResourceParams, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ResourcesCapability, ServerCapabilities, SetLevelParams,
    SubscribeParams, SubscriptionsListenParams, TextResourceContents, Tool, ToolsCapability,
};
use mcp_ws_core::message::Notification;
use mcp_ws_core::session::IncomingRequest;
use mcp_ws_core::{ErrorCode, ErrorObject, ProtocolVersion};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

pub use mcp_ws_core::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use super::subscriptions::{Offered, Subscriptions};
pub use super::typed::{Structured, ToolError, ToolOutput};
use super::typed::{object_schema, prompt_arguments};
use super::uri_template::UriTemplate;
use crate::arguments::{ArgumentSchema, deny_unknown_arguments};
use crate::handle::ConnectionHandle;
use crate::handler::{HandlerResult, RequestHandler, method_not_found, parse_params, to_result};
use crate::runtime::BoxFuture;
use crate::state::States;
use crate::tasks::RequestContext;

/// Closes its listen when dropped.
struct OpenListen {
    subscriptions: Arc<Mutex<Subscriptions>>,
    id: mcp_ws_core::RequestId,
}

impl Drop for OpenListen {
    fn drop(&mut self) {
        self.subscriptions.lock().expect("lock").end_listen(&self.id);
    }
}

/// The JSON-RPC error code the legacy era uses for an unknown resource (2026-07-28 uses
/// -32602).
pub const RESOURCE_NOT_FOUND: i64 = -32002;

type ToolFn =
    Arc<dyn Fn(CallToolParams, RequestContext) -> BoxFuture<'static, HandlerResult> + Send + Sync>;
type ReadFn = Arc<
    dyn Fn(String, BTreeMap<String, String>, RequestContext) -> BoxFuture<'static, HandlerResult>
        + Send
        + Sync,
>;
type PromptFn = Arc<
    dyn Fn(BTreeMap<String, String>, RequestContext) -> BoxFuture<'static, HandlerResult>
        + Send
        + Sync,
>;
type NotificationFn = Arc<dyn Fn(Notification, ConnectionHandle) + Send + Sync>;
type CompleteFn =
    Arc<dyn Fn(CompleteParams, RequestContext) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// The first protocol version that answers arguments a tool's input schema does not accept
/// with a tool execution error (`isError: true`, so the model sees the message and can
/// correct its call: SEP-1303) instead of the JSON-RPC error -32602 of earlier versions.
pub const TOOL_ERROR_FOR_INVALID_ARGUMENTS: ProtocolVersion = ProtocolVersion::V2025_11_25;

/// The registry a server answers from. Build it once; it is shared by every connection.
///
/// ```
/// use mcp_ws_driver::Router;
/// use mcp_ws_driver::core::mcp::{Resource, Tool};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Echo {
///     text: String,
/// }
///
/// let router = Router::new()
///     // Derived schema, typed arguments, a `String` result.
///     .tool("echo", "Echoes the text", |args: Echo, _ctx| async move { Ok(args.text) })
///     // A definition written by hand, raw JSON arguments.
///     .tool_def(Tool { name: "raw".into(), ..Default::default() }, |_: serde_json::Value, _| {
///         async move { Ok("ok") }
///     })
///     .text_resource(
///         Resource { uri: "demo://readme".into(), name: "readme".into(), ..Default::default() },
///         "hello",
///     );
/// assert_eq!(router.tools().len(), 2);
/// assert!(router.capabilities().resources.is_some());
/// ```
#[derive(Clone, Default)]
pub struct Router {
    tools: Vec<Tool>,
    tool_handlers: HashMap<String, ToolFn>,
    resources: Vec<Resource>,
    resource_handlers: HashMap<String, ReadFn>,
    templates: Vec<(ResourceTemplate, UriTemplate, ReadFn)>,
    prompts: Vec<Prompt>,
    prompt_handlers: HashMap<String, PromptFn>,
    completion: Option<CompleteFn>,
    fallback: Option<RequestHandler>,
    on_notification: Option<NotificationFn>,
    states: States,
    /// Items per page of the list methods; `None` for [`DEFAULT_PAGE_SIZE`].
    page_size: Option<usize>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Router::default()
    }

    /// Shares `state` with every handler, which reads it with
    /// [`RequestContext::state`]. One state per type; a second of the same type replaces the
    /// first. The router keeps it behind one `Arc`: no `Arc` or clone in your closures.
    pub fn with_state<S: Send + Sync + 'static>(mut self, state: S) -> Self {
        self.states.insert(state);
        self
    }

    /// Registers a tool whose input schema is derived from its argument type `A` (with
    /// `schemars`; doc comments become descriptions) and whose output schema comes from its
    /// result type ([`Structured<T>`] declares one, a `String` or a [`CallToolResult`] none).
    ///
    /// The derived schema refuses properties `A` does not have (`additionalProperties: false`,
    /// see [`deny_unknown_arguments`]): a misspelled argument is refused instead of silently
    /// left at its default. To accept unknown properties, say so on the type:
    /// `#[schemars(extend("additionalProperties" = true))]`. Arguments are checked as
    /// [`Router::tool_def`] describes. A handler error ([`ToolError`],
    /// which any `std::error::Error` converts into with `?`) becomes an `isError: true` result
    /// carrying its message, or, made with [`ToolError::protocol`], a JSON-RPC error. A second
    /// tool with the same name replaces the first.
    ///
    /// # Panics
    /// If `A` (or the `T` of a `Structured<T>` result) is not described by an object schema:
    /// MCP tool arguments and structured outputs are JSON objects.
    ///
    /// # Example
    /// ```
    /// use mcp_ws_driver::{Router, Structured, ToolError};
    /// use schemars::JsonSchema;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct GreetArgs {
    ///     /// Who to greet.
    ///     name: String,
    /// }
    ///
    /// #[derive(Serialize, JsonSchema)]
    /// struct Length {
    ///     bytes: u64,
    /// }
    ///
    /// struct Greeting(&'static str);
    ///
    /// let router = Router::new()
    ///     .with_state(Greeting("Hello"))
    ///     .tool("greet", "Greets someone", |args: GreetArgs, ctx| async move {
    ///         Ok(format!("{}, {}!", ctx.state::<Greeting>().0, args.name))
    ///     })
    ///     .tool("file_size", "Size of a file", |args: GreetArgs, _ctx| async move {
    ///         let bytes = std::fs::metadata(&args.name)?.len(); // io::Error -> isError
    ///         Ok::<_, ToolError>(Structured(Length { bytes }))
    ///     });
    /// assert_eq!(router.tools()[0].input_schema["type"], "object");
    /// assert!(router.tools()[1].output_schema.is_some());
    /// ```
    pub fn tool<A, R, F, Fut>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        R: ToolOutput + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
    {
        let name = name.into();
        let mut input_schema = object_schema::<A>(&format!("the arguments of tool {name}"));
        deny_unknown_arguments(&mut input_schema);
        let tool = Tool {
            input_schema,
            output_schema: R::output_schema(),
            description: Some(description.into()),
            name,
            ..Default::default()
        };
        self.tool_def(tool, handler)
    }

    /// Registers a tool from a definition written by hand (its `inputSchema` and
    /// `outputSchema` are yours to keep in step with `A` and the result); otherwise as
    /// [`Router::tool`]. An input schema without a `type` (such as the empty one of
    /// `Tool::default()`) is given `"type": "object"`: every MCP version requires it, and tool
    /// arguments are objects. A hand-written schema is taken as written: add
    /// `"additionalProperties": false` to refuse unknown arguments.
    ///
    /// The input schema is compiled once, here; each call's arguments are checked against it
    /// (missing required fields, unknown fields where the schema refuses them, wrong types,
    /// bounds), then parsed as `A`, before the handler runs. Arguments that fail either are
    /// answered with a message naming the field and what the tool takes: from protocol version
    /// 2025-11-25 on as a tool execution error (`isError: true`: the specification counts
    /// input validation among tool errors, so that the model can correct its call), before it
    /// as the JSON-RPC error -32602 (see [`TOOL_ERROR_FOR_INVALID_ARGUMENTS`]).
    ///
    /// # Panics
    /// If the input schema is not a JSON Schema the validator can compile (a programming
    /// error, like a malformed URI template).
    pub fn tool_def<A, R, F, Fut>(mut self, mut tool: Tool, handler: F) -> Self
    where
        A: DeserializeOwned + Send + 'static,
        R: ToolOutput + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
    {
        if !tool.input_schema.contains_key("type") {
            tool.input_schema.insert("type".into(), serde_json::Value::from("object"));
        }
        let schema = ArgumentSchema::compile(&tool.input_schema)
            .unwrap_or_else(|e| panic!("tool {}: {e}", tool.name));
        let handler = Arc::new(handler);
        let name = tool.name.clone();
        let call: ToolFn = Arc::new(move |params: CallToolParams, context| {
            let arguments = serde_json::Value::Object(params.arguments.unwrap_or_default());
            let parsed: Result<A, String> = match schema.check(&arguments) {
                Ok(()) => serde_json::from_value(arguments).map_err(|e| e.to_string()),
                Err(invalid) => Err(invalid.to_string()),
            };
            let handler = handler.clone();
            let tool = params.name;
            Box::pin(async move {
                let arguments = match parsed {
                    Ok(arguments) => arguments,
                    Err(problem) => {
                        return invalid_arguments(&tool, &problem, context.protocol_version());
                    }
                };
                let result = match handler(arguments, context).await {
                    Ok(output) => output.into_call_result(),
                    Err(error) => Err(error),
                };
                let result = match result {
                    Ok(result) => result,
                    Err(error) => error.into_answer()?,
                };
                to_result(&result)
            })
        });
        self.tools.retain(|t| t.name != name);
        self.tools.push(tool);
        self.tool_handlers.insert(name, call);
        self
    }

    /// Registers a resource whose contents come from `handler(uri, context)`.
    pub fn resource<F, Fut>(mut self, resource: Resource, handler: F) -> Self
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorObject>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let read: ReadFn = Arc::new(move |uri, _vars, context| {
            let handler = handler.clone();
            Box::pin(async move { to_result(&handler(uri, context).await?) })
        });
        self.resources.retain(|r| r.uri != resource.uri);
        self.resource_handlers.insert(resource.uri.clone(), read);
        self.resources.push(resource);
        self
    }

    /// Registers a resource with fixed text contents.
    pub fn text_resource(self, resource: Resource, text: impl Into<String>) -> Self {
        let text = text.into();
        let mime_type = resource.mime_type.clone();
        self.resource(resource, move |uri, _context| {
            let contents = ResourceContents::Text(TextResourceContents {
                uri,
                mime_type: mime_type.clone(),
                text: text.clone(),
                ..Default::default()
            });
            async move { Ok(ReadResourceResult { contents: vec![contents], ..Default::default() }) }
        })
    }

    /// Registers a resource template (`{name}` variables); `handler(uri, variables, context)`
    /// reads a matching URI. Panics if the template is malformed (a programming error).
    pub fn resource_template<F, Fut>(mut self, template: ResourceTemplate, handler: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorObject>> + Send + 'static,
    {
        let parsed = UriTemplate::parse(&template.uri_template)
            .unwrap_or_else(|| panic!("malformed URI template {:?}", template.uri_template));
        let handler = Arc::new(handler);
        let read: ReadFn = Arc::new(move |uri, vars, context| {
            let handler = handler.clone();
            Box::pin(async move { to_result(&handler(uri, vars, context).await?) })
        });
        self.templates.push((template, parsed, read));
        self
    }

    /// Registers a resource template read by a typed handler: the URI's variables are
    /// deserialized into `A` (a struct with a `String` field per variable; a URI whose
    /// variables do not fit gets -32602), the handler returns the text (served with the
    /// template's MIME type), and its errors take `?` from any `std::error::Error` (answered
    /// -32603 with the message; [`ToolError::protocol`] for another code, such as -32002 for a
    /// resource that does not exist). Panics if the template is malformed (a programming
    /// error).
    ///
    /// ```
    /// use mcp_ws_driver::Router;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Note {
    ///     name: String,
    /// }
    ///
    /// let router = Router::new().resource_from("notes://{name}", "note", |note: Note, _ctx| async move {
    ///     Ok(std::fs::read_to_string(format!("/srv/notes/{}.txt", note.name))?)
    /// });
    /// # let _ = router;
    /// ```
    pub fn resource_from<A, F, Fut>(self, uri_template: &str, name: &str, handler: F) -> Self
    where
        A: DeserializeOwned + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
    {
        let template = ResourceTemplate {
            uri_template: uri_template.to_string(),
            name: name.to_string(),
            mime_type: Some("text/plain".to_string()),
            ..Default::default()
        };
        let mime_type = template.mime_type.clone();
        let handler = Arc::new(handler);
        self.resource_template(template, move |uri, variables, context| {
            let handler = handler.clone();
            let mime_type = mime_type.clone();
            async move {
                let variables = serde_json::to_value(&variables).unwrap_or_default();
                let arguments = A::deserialize(variables).map_err(|e| {
                    ErrorObject::new(ErrorCode::InvalidParams, format!("{uri}: {e}"))
                })?;
                let text = handler(arguments, context).await.map_err(ToolError::into_error)?;
                let contents = ResourceContents::Text(TextResourceContents {
                    uri,
                    mime_type,
                    text,
                    ..Default::default()
                });
                Ok(ReadResourceResult { contents: vec![contents], ..Default::default() })
            }
        })
    }

    /// Registers a prompt whose argument list is derived from `A` (one argument per field,
    /// doc comments as descriptions, required unless optional). Prompt arguments are strings
    /// on the wire, so `A`'s fields are `String` or `Option<String>`. Arguments that do not
    /// deserialise as `A` get -32602; a [`ToolError`] from the handler is answered as -32603
    /// with its message (or as its own JSON-RPC error when made with [`ToolError::protocol`]).
    ///
    /// # Panics
    /// If `A` is not described by an object schema.
    pub fn prompt<A, F, Fut>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static,
    {
        let name = name.into();
        let prompt = Prompt {
            arguments: Some(prompt_arguments::<A>()),
            description: Some(description.into()),
            name,
            ..Default::default()
        };
        let handler = Arc::new(handler);
        self.prompt_def(prompt, move |arguments, context| {
            let parsed = serde_json::to_value(arguments)
                .and_then(serde_json::from_value::<A>)
                .map_err(|e| {
                    ErrorObject::new(ErrorCode::InvalidParams, format!("invalid arguments: {e}"))
                });
            let handler = handler.clone();
            async move {
                handler(parsed?, context).await.map_err(|error| match error.as_protocol() {
                    Some(protocol) => protocol.clone(),
                    None => ErrorObject::new(ErrorCode::InternalError, error.message()),
                })
            }
        })
    }

    /// Registers a prompt from a definition written by hand; `handler(arguments, context)`
    /// fills it. Missing required arguments (as declared in `prompt.arguments`) get -32602
    /// before the handler runs.
    pub fn prompt_def<F, Fut>(mut self, prompt: Prompt, handler: F) -> Self
    where
        F: Fn(BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ErrorObject>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let get: PromptFn = Arc::new(move |arguments, context| {
            let handler = handler.clone();
            Box::pin(async move { to_result(&handler(arguments, context).await?) })
        });
        self.prompts.retain(|p| p.name != prompt.name);
        self.prompt_handlers.insert(prompt.name.clone(), get);
        self.prompts.push(prompt);
        self
    }

    /// Answers `completion/complete` (suggestions for a prompt argument or a resource
    /// template variable) with `handler(params, context)`, and declares the `completions`
    /// capability. A second call replaces the handler.
    ///
    /// ```
    /// use mcp_ws_driver::Router;
    /// use mcp_ws_driver::core::mcp::{CompleteResult, Completion};
    ///
    /// let colours = ["red", "green", "blue"];
    /// let router = Router::new().completion(move |params, _ctx| async move {
    ///     let typed = params.argument.value;
    ///     let values = colours.iter().filter(|c| c.starts_with(&typed)).map(|c| c.to_string());
    ///     Ok(CompleteResult {
    ///         completion: Completion { values: values.collect(), ..Default::default() },
    ///         ..Default::default()
    ///     })
    /// });
    /// assert!(router.capabilities().completions.is_some());
    /// ```
    pub fn completion<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CompleteParams, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CompleteResult, ErrorObject>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.completion = Some(Arc::new(move |params, context| {
            let handler = handler.clone();
            Box::pin(async move { to_result(&handler(params, context).await?) })
        }));
        self
    }

    /// Serves `tools/list`, `resources/list`, `resources/templates/list` and `prompts/list` in
    /// pages of at most `size` items (default [`DEFAULT_PAGE_SIZE`]); `size` is clamped into
    /// `1..=`[`MAX_PAGE_SIZE`]. The cursor of the next page is opaque to clients and carries a
    /// fingerprint of the list, so a cursor from another list (a server restarted with other
    /// tools, another node with another registry) is refused with -32602 instead of skipping
    /// or repeating items.
    ///
    /// ```
    /// use mcp_ws_driver::Router;
    ///
    /// let router = Router::new().page_size(0);
    /// assert_eq!(router.page_size_in_use(), 1);
    /// ```
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = Some(mcp_ws_core::pagination::clamp_page_size(size));
        self
    }

    /// The page size the list methods use.
    pub fn page_size_in_use(&self) -> usize {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// Answers every method the registry does not (completion, subscriptions, custom methods).
    pub fn fallback(mut self, handler: RequestHandler) -> Self {
        self.fallback = Some(handler);
        self
    }

    /// Called for each notification a client sends (roots/list_changed, custom ones).
    pub fn on_notification(
        mut self,
        handler: impl Fn(Notification, ConnectionHandle) + Send + Sync + 'static,
    ) -> Self {
        self.on_notification = Some(Arc::new(handler));
        self
    }

    /// The capabilities this registry serves.
    pub fn capabilities(&self) -> ServerCapabilities {
        let mut capabilities =
            ServerCapabilities { logging: Some(Default::default()), ..Default::default() };
        if !self.tools.is_empty() {
            capabilities.tools =
                Some(ToolsCapability { list_changed: Some(true), ..Default::default() });
        }
        if !self.resources.is_empty() || !self.templates.is_empty() {
            capabilities.resources = Some(ResourcesCapability {
                list_changed: Some(true),
                subscribe: Some(true),
                ..Default::default()
            });
        }
        if !self.prompts.is_empty() {
            capabilities.prompts =
                Some(PromptsCapability { list_changed: Some(true), ..Default::default() });
        }
        if self.completion.is_some() {
            capabilities.completions = Some(Default::default());
        }
        capabilities
    }

    /// The registered tools.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    pub(crate) fn notification(&self, notification: Notification, handle: &ConnectionHandle) {
        if let Some(hook) = &self.on_notification {
            crate::tasks::guarded("on_notification", || hook(notification, handle.clone()));
        }
    }

    /// Answers one request.
    pub(crate) fn dispatch(
        &self,
        request: IncomingRequest,
        mut context: RequestContext,
    ) -> BoxFuture<'static, HandlerResult> {
        context.states = self.states.clone();
        let ready = |answer: HandlerResult| -> BoxFuture<'static, HandlerResult> {
            Box::pin(async move { answer })
        };
        let params = request.params.as_ref();
        // The era of a server session's subscriptions (`None` outside a server).
        let legacy = context.subscriptions.as_ref().map(|s| s.lock().expect("lock").is_legacy());
        match request.method.as_str() {
            methods::TOOLS_LIST if !self.tools.is_empty() => ready(self.list_page(
                methods::TOOLS_LIST,
                params,
                &self.tools,
                |t| &t.name,
                |page, next_cursor| {
                    to_result(&ListToolsResult { tools: page, next_cursor, ..Default::default() })
                },
            )),
            methods::TOOLS_CALL if !self.tools.is_empty() => {
                let call: CallToolParams = match parse_params(params) {
                    Ok(call) => call,
                    Err(error) => return ready(Err(error)),
                };
                match self.tool_handlers.get(&call.name) {
                    Some(handler) => handler(call, context),
                    None => ready(Err(ErrorObject::new(
                        ErrorCode::InvalidParams,
                        format!("unknown tool: {}", call.name),
                    ))),
                }
            }
            methods::RESOURCES_LIST if self.serves_resources() => ready(self.list_page(
                methods::RESOURCES_LIST,
                params,
                &self.resources,
                |r| &r.uri,
                |page, next_cursor| {
                    to_result(&ListResourcesResult {
                        resources: page,
                        next_cursor,
                        ..Default::default()
                    })
                },
            )),
            methods::RESOURCES_TEMPLATES_LIST if self.serves_resources() => ready(self.list_page(
                methods::RESOURCES_TEMPLATES_LIST,
                params,
                &self.templates,
                template_key,
                |page, next_cursor| {
                    to_result(&ListResourceTemplatesResult {
                        resource_templates: page.into_iter().map(|(t, _, _)| t).collect(),
                        next_cursor,
                        ..Default::default()
                    })
                },
            )),
            methods::RESOURCES_READ if self.serves_resources() => {
                let read: ReadResourceParams = match parse_params(params) {
                    Ok(read) => read,
                    Err(error) => return ready(Err(error)),
                };
                if let Some(handler) = self.resource_handlers.get(&read.uri) {
                    return handler(read.uri, BTreeMap::new(), context);
                }
                for (_, template, handler) in &self.templates {
                    if let Some(vars) = template.matches(&read.uri) {
                        return handler(read.uri, vars, context);
                    }
                }
                ready(Err(resource_not_found(&read.uri, context.era())))
            }
            methods::PROMPTS_LIST if !self.prompts.is_empty() => ready(self.list_page(
                methods::PROMPTS_LIST,
                params,
                &self.prompts,
                |p| &p.name,
                |page, next_cursor| {
                    to_result(&ListPromptsResult {
                        prompts: page,
                        next_cursor,
                        ..Default::default()
                    })
                },
            )),
            methods::PROMPTS_GET if !self.prompts.is_empty() => {
                let get: GetPromptParams = match parse_params(params) {
                    Ok(get) => get,
                    Err(error) => return ready(Err(error)),
                };
                let (Some(prompt), Some(handler)) = (
                    self.prompts.iter().find(|p| p.name == get.name),
                    self.prompt_handlers.get(&get.name),
                ) else {
                    return ready(Err(ErrorObject::new(
                        ErrorCode::InvalidParams,
                        format!("unknown prompt: {}", get.name),
                    )));
                };
                let arguments = get.arguments.unwrap_or_default();
                let missing: Vec<&str> = prompt
                    .arguments
                    .iter()
                    .flatten()
                    .filter(|a| a.required == Some(true) && !arguments.contains_key(&a.name))
                    .map(|a| a.name.as_str())
                    .collect();
                if !missing.is_empty() {
                    return ready(Err(ErrorObject::new(
                        ErrorCode::InvalidParams,
                        format!("prompt {} is missing arguments: {}", get.name, missing.join(", ")),
                    )));
                }
                handler(arguments, context)
            }
            methods::COMPLETION_COMPLETE if self.completion.is_some() => {
                let complete: CompleteParams = match parse_params(params) {
                    Ok(complete) => complete,
                    Err(error) => return ready(Err(error)),
                };
                (self.completion.as_ref().expect("checked"))(complete, context)
            }
            // 2026-07-28 has no logging/setLevel: each request names its level in `_meta`.
            methods::LOGGING_SET_LEVEL if context.era() == mcp_ws_core::Era::Modern => {
                ready(Err(method_not_found(&request.method)))
            }
            methods::RESOURCES_SUBSCRIBE | methods::RESOURCES_UNSUBSCRIBE
                if self.serves_resources() && legacy == Some(true) =>
            {
                let subscriptions = context.subscriptions.as_ref().expect("legacy is Some");
                ready(Self::subscribe(subscriptions, &request.method, params))
            }
            methods::SUBSCRIPTIONS_LISTEN if legacy == Some(false) => {
                let subscriptions = context.subscriptions.clone().expect("legacy is Some");
                self.listen(subscriptions, params, context)
            }
            methods::LOGGING_SET_LEVEL => {
                let set: SetLevelParams = match parse_params(params) {
                    Ok(set) => set,
                    Err(error) => return ready(Err(error)),
                };
                context.set_log_level(&set.level);
                ready(Ok(mcp_ws_core::RawJson::empty_object()))
            }
            _ => match &self.fallback {
                Some(fallback) => fallback(request, context),
                None => ready(Err(method_not_found(&request.method))),
            },
        }
    }

    /// One page of `items` for a `method` list request with `params` (its cursor), built by `build`
    /// from the page's items and the next cursor. An invalid cursor gets -32602.
    fn list_page<T: Clone>(
        &self,
        method: &str,
        params: Option<&mcp_ws_core::RawJson>,
        items: &[T],
        key: impl Fn(&T) -> &str,
        build: impl FnOnce(Vec<T>, Option<String>) -> HandlerResult,
    ) -> HandlerResult {
        let request: PaginatedParams = parse_params(params)?;
        let page = mcp_ws_core::pagination::page(
            method,
            items,
            key,
            request.cursor.as_deref(),
            self.page_size_in_use(),
        )
        .map_err(|e| e.to_error())?;
        build(page.items.to_vec(), page.next_cursor)
    }

    /// What this registry can announce changes of.
    pub(crate) fn offered(&self) -> Offered {
        Offered {
            tools: !self.tools.is_empty(),
            resources: self.serves_resources(),
            prompts: !self.prompts.is_empty(),
        }
    }

    /// `resources/subscribe` and `resources/unsubscribe` (legacy era).
    fn subscribe(
        subscriptions: &Mutex<Subscriptions>,
        method: &str,
        params: Option<&mcp_ws_core::RawJson>,
    ) -> HandlerResult {
        let subscribe: SubscribeParams = parse_params(params)?;
        let mut subscriptions = subscriptions.lock().expect("lock");
        if method == methods::RESOURCES_SUBSCRIBE {
            subscriptions.subscribe(&subscribe.uri)?;
        } else {
            subscriptions.unsubscribe(&subscribe.uri);
        }
        Ok(mcp_ws_core::RawJson::empty_object())
    }

    /// `subscriptions/listen` (2026-07-28): acknowledges, then stays open (sending nothing
    /// itself: the server's deliveries carry the notifications) until the client cancels it
    /// or the connection ends, when its future is dropped and the listen closed.
    fn listen(
        &self,
        subscriptions: Arc<Mutex<Subscriptions>>,
        params: Option<&mcp_ws_core::RawJson>,
        context: RequestContext,
    ) -> BoxFuture<'static, HandlerResult> {
        let offered = self.offered();
        let listen: Result<SubscriptionsListenParams, _> = parse_params(params);
        Box::pin(async move {
            let listen = listen?;
            let id = context.request_id().clone();
            {
                // Acknowledged under the lock the deliveries take: nothing for this listen
                // can be queued before its acknowledgement.
                let mut locked = subscriptions.lock().expect("lock");
                let acknowledgement = locked.listen(id.clone(), &listen.notifications, offered)?;
                context.connection().notify_queued(acknowledgement);
            }
            let _open = OpenListen { subscriptions, id };
            std::future::pending::<HandlerResult>().await
        })
    }

    fn serves_resources(&self) -> bool {
        !self.resources.is_empty() || !self.templates.is_empty()
    }
}

/// The answer to arguments a tool does not accept (`problem` names the field): a tool
/// execution error from [`TOOL_ERROR_FOR_INVALID_ARGUMENTS`] on, -32602 before it (and when
/// the version is unknown).
fn invalid_arguments(tool: &str, problem: &str, version: Option<ProtocolVersion>) -> HandlerResult {
    let message = format!("invalid arguments for tool {tool}: {problem}");
    if version.is_some_and(|v| v >= TOOL_ERROR_FOR_INVALID_ARGUMENTS) {
        to_result(&CallToolResult::error(message))
    } else {
        Err(ErrorObject::new(ErrorCode::InvalidParams, message))
    }
}

/// The answer to a `resources/read` of a URI the registry does not have: -32602 in 2026-07-28
/// (SEP-2164 standardises on Invalid Params), [`RESOURCE_NOT_FOUND`] (-32002) in the legacy
/// era, as its specification says; in both, `data.uri` names the URI.
fn resource_not_found(uri: &str, era: mcp_ws_core::Era) -> ErrorObject {
    let mut error =
        ErrorObject::new(ErrorCode::InvalidParams, format!("resource not found: {uri}"));
    if era == mcp_ws_core::Era::Legacy {
        error.code = RESOURCE_NOT_FOUND;
    }
    let data = serde_json::json!({ "uri": uri });
    error.with_data(mcp_ws_core::RawJson::from_serialize(&data).expect("json serializes"))
}

fn template_key(entry: &(ResourceTemplate, UriTemplate, ReadFn)) -> &str {
    &entry.0.uri_template
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mcp_ws_core::{Era, RawJson, RequestId};
    use serde_json::{Value, json};

    use super::*;

    /// The versions on each side of [`TOOL_ERROR_FOR_INVALID_ARGUMENTS`].
    const JSON_RPC_ERROR: [ProtocolVersion; 3] =
        [ProtocolVersion::V2024_11_05, ProtocolVersion::V2025_03_26, ProtocolVersion::V2025_06_18];
    const TOOL_ERROR: [ProtocolVersion; 2] =
        [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28];

    fn call(
        router: &Router,
        tool: &str,
        arguments: Value,
        version: ProtocolVersion,
    ) -> HandlerResult {
        let (sender, _receiver) = futures_channel::mpsc::unbounded();
        let mut context =
            RequestContext::detached(RequestId::from(1i64), ConnectionHandle::new(sender));
        context.protocol_version = Some(version);
        let params = json!({ "name": tool, "arguments": arguments });
        let request = IncomingRequest {
            id: RequestId::from(1i64),
            method: methods::TOOLS_CALL.into(),
            params: Some(RawJson::from_serialize(&params).unwrap()),
            wants_progress: false,
            era: Era::Legacy,
            log_level: None,
            client_capabilities: None,
        };
        futures_executor::block_on(router.dispatch(request, context))
    }

    /// The refusal's message, checking that `version` answers it the way the specification
    /// of that version says: -32602 before 2025-11-25, an `isError` result from it on.
    fn refusal(answer: HandlerResult, version: ProtocolVersion) -> String {
        if version >= TOOL_ERROR_FOR_INVALID_ARGUMENTS {
            let result: CallToolResult = answer.expect("a result").parse().expect("a call result");
            assert!(result.failed(), "{version:?}: isError must be true: {result:?}");
            result.joined_text()
        } else {
            let error = answer.expect_err("a JSON-RPC error");
            assert_eq!(error.code, -32602, "{version:?}: {error:?}");
            error.message
        }
    }

    #[derive(serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Count {
        #[serde(default)]
        steps: Option<u32>,
    }

    #[test]
    fn a_misspelled_argument_of_a_derived_schema_is_refused_before_the_handler_runs() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let router = Router::new().tool("count", "Counts", move |_: Count, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok("counted") }
        });
        assert_eq!(router.tools()[0].input_schema["additionalProperties"], false);
        for version in JSON_RPC_ERROR.into_iter().chain(TOOL_ERROR) {
            let message = refusal(call(&router, "count", json!({"n": 3}), version), version);
            assert_eq!(
                message,
                "invalid arguments for tool count: unknown argument \"n\" \
                 (the tool takes: steps: integer)"
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0, "the handler must not run");
        let fine = call(&router, "count", json!({"steps": 2}), ProtocolVersion::V2026_07_28);
        assert!(fine.is_ok());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Operands {
        a: f64,
        b: f64,
    }

    fn hand_written(extra: Value) -> Router {
        let mut schema = json!({
            "type": "object",
            "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
            "required": ["a", "b"]
        });
        schema.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let tool = Tool {
            name: "add".into(),
            input_schema: schema.as_object().unwrap().clone(),
            ..Default::default()
        };
        Router::new().tool_def(tool, |x: Operands, _| async move { Ok((x.a + x.b).to_string()) })
    }

    #[test]
    fn a_wrong_type_and_a_missing_field_are_each_named() {
        let router = hand_written(json!({}));
        for version in JSON_RPC_ERROR.into_iter().chain(TOOL_ERROR) {
            let message = refusal(call(&router, "add", json!({"a": "two"}), version), version);
            assert!(message.contains("argument \"a\": expected number, got \"two\""), "{message}");
            assert!(message.contains("missing required argument \"b\""), "{message}");
        }
    }

    #[test]
    fn a_hand_written_schema_that_refuses_unknown_fields_is_obeyed() {
        let strict = hand_written(json!({"additionalProperties": false}));
        let arguments = json!({"a": 1, "b": 2, "c": 3});
        let message = refusal(
            call(&strict, "add", arguments.clone(), ProtocolVersion::V2025_06_18),
            ProtocolVersion::V2025_06_18,
        );
        assert!(message.contains("unknown argument \"c\""), "{message}");
        // Without it, extra fields are the schema's business: accepted.
        let open = hand_written(json!({}));
        assert!(call(&open, "add", arguments, ProtocolVersion::V2025_06_18).is_ok());
    }

    #[test]
    fn completion_is_answered_and_declared() {
        assert!(Router::new().capabilities().completions.is_none());
        let router = Router::new().completion(|params, _| async move {
            Ok(CompleteResult {
                completion: mcp_ws_core::mcp::Completion {
                    values: vec![format!("{}!", params.argument.value)],
                    ..Default::default()
                },
                ..Default::default()
            })
        });
        assert!(router.capabilities().completions.is_some());
        let (sender, _receiver) = futures_channel::mpsc::unbounded();
        let context =
            RequestContext::detached(RequestId::from(1i64), ConnectionHandle::new(sender));
        let params = json!({
            "ref": { "type": "ref/prompt", "name": "greet" },
            "argument": { "name": "name", "value": "Ad" }
        });
        let request = IncomingRequest {
            id: RequestId::from(1i64),
            method: methods::COMPLETION_COMPLETE.into(),
            params: Some(RawJson::from_serialize(&params).unwrap()),
            wants_progress: false,
            era: Era::Legacy,
            log_level: None,
            client_capabilities: None,
        };
        let answer = futures_executor::block_on(router.dispatch(request, context)).unwrap();
        let result: CompleteResult = answer.parse().unwrap();
        assert_eq!(result.completion.values, ["Ad!"]);
    }
}

#[cfg(test)]
mod conformance_gaps {
    use std::sync::{Arc, Mutex};

    use mcp_ws_core::mcp::{CreateMessageParams, ElicitParams};
    use mcp_ws_core::mrtr::{InputRound, StateKey};
    use mcp_ws_core::{Era, RawJson, RequestId};
    use serde_json::{Value, json};

    use super::*;
    use crate::error::CallError;

    fn context(era: Era, capabilities: Option<Value>) -> RequestContext {
        let (sender, _receiver) = futures_channel::mpsc::unbounded();
        let mut context =
            RequestContext::detached(RequestId::from(1i64), ConnectionHandle::new(sender));
        context.era = era;
        context.client_capabilities = capabilities.map(|c| serde_json::from_value(c).unwrap());
        context
    }

    fn request(method: &str, params: Value) -> IncomingRequest {
        IncomingRequest {
            id: RequestId::from(1i64),
            method: method.into(),
            params: Some(RawJson::from_serialize(&params).unwrap()),
            wants_progress: false,
            era: Era::Modern,
            log_level: None,
            client_capabilities: None,
        }
    }

    #[test]
    fn an_unknown_resource_is_minus_32602_in_2026_and_minus_32002_before_with_data_uri() {
        let router = Router::new().text_resource(
            Resource { uri: "test://static-text".into(), name: "t".into(), ..Default::default() },
            "x",
        );
        let uri = "test://nonexistent-resource-for-conformance-testing";
        for (era, code) in [(Era::Modern, -32602), (Era::Legacy, -32002)] {
            let read = request(methods::RESOURCES_READ, json!({ "uri": uri }));
            let answer = futures_executor::block_on(router.dispatch(read, context(era, None)));
            let error = answer.expect_err("an error");
            assert_eq!(error.code, code, "{era:?}");
            let data: Value = error.data.expect("data").parse().unwrap();
            assert_eq!(data, json!({ "uri": uri }), "{era:?}");
        }
    }

    /// A tool asking for sampling: `?` on the capability error answers -32021.
    fn sampling_router() -> Router {
        Router::new().tool_def(
            Tool { name: "sample".into(), ..Default::default() },
            |_: Value, ctx: RequestContext| async move {
                let params: CreateMessageParams =
                    serde_json::from_value(json!({"messages": [], "maxTokens": 10})).unwrap();
                let sampled = ctx.create_message(&params).await?;
                Ok(format!("{:?}", sampled.role))
            },
        )
    }

    #[test]
    fn a_2026_request_not_declaring_a_capability_it_needs_is_answered_minus_32021() {
        let router = sampling_router();
        let call = || request(methods::TOOLS_CALL, json!({"name": "sample", "arguments": {}}));
        let answer = futures_executor::block_on(
            router.dispatch(call(), context(Era::Modern, Some(json!({})))),
        );
        let error = answer.expect_err("-32021");
        assert_eq!(error.code, -32021);
        let data: Value = error.data.expect("data").parse().unwrap();
        assert_eq!(data["requiredCapabilities"], json!({"sampling": {}}));
        // Declared: asked (as an input request of the round) instead.
        let key = StateKey::new(&[3; 32]).unwrap();
        let round = InputRound::begin(&key, methods::TOOLS_CALL, None, 1).unwrap();
        let round = Arc::new(Mutex::new(round));
        let mut declared = context(Era::Modern, Some(json!({"sampling": {}})));
        declared.input = Some(round.clone());
        let _ = futures_executor::block_on(router.dispatch(call(), declared));
        assert!(round.lock().unwrap().is_missing_input());
    }

    #[test]
    fn a_handler_chosen_key_names_the_input_request_and_is_checked() {
        let key = StateKey::new(&[3; 32]).unwrap();
        let round = Arc::new(Mutex::new(InputRound::begin(&key, "tools/call", None, 1).unwrap()));
        let mut ctx = context(Era::Modern, Some(json!({"elicitation": {}})));
        ctx.input = Some(round.clone());
        let params = ElicitParams { message: "Name?".into(), ..Default::default() };
        let asked = futures_executor::block_on(ctx.elicit_as("user_name", &params));
        assert_eq!(asked.unwrap_err(), CallError::InputRequired { key: "user_name".into() });
        let invalid = futures_executor::block_on(ctx.elicit_as("", &params));
        assert!(matches!(invalid, Err(CallError::InvalidResult(_))), "{invalid:?}");
        let result = round.lock().unwrap().clone().finish(&key, 100).unwrap().unwrap();
        let requests = result.input_requests.unwrap();
        assert_eq!(requests.keys().collect::<Vec<_>>(), ["user_name"]);
    }
}
