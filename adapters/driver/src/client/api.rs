//! The typed MCP calls of a [`Client`]: tools, resources, prompts, completion, ping and
//! subscriptions. Each is a thin layer over [`Client::request`] that builds the params and
//! parses the result with the core's typed views; anything else goes through
//! [`Client::request`] directly.
//!
//! Subscriptions deliver their notifications on [`Client::events`]: legacy
//! [`Client::subscribe_resource`] is remembered and sent again on every new session after a
//! reconnect; a 2026-07-28 [`Client::listen`] is a long-lived retryable request, issued again
//! with a new id on the next connection (its notifications then carry the new subscription
//! id).

use std::collections::BTreeMap;

use std::time::Duration;

use mcp_ws_core::RawJson;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{
    CallToolParams, CallToolResult, CompleteParams, CompleteResult, GetPromptParams,
    GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedParams, Prompt, ReadResourceParams, ReadResourceResult, Resource,
    ResourceTemplate, SubscribeParams, SubscriptionFilter, SubscriptionsListenParams,
    SubscriptionsListenResult, Tool,
};
use mcp_ws_core::param_headers::ParamHeaders;
use mcp_ws_core::session::RequestOptions;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Client;
use crate::error::CallError;
use crate::handle::{CallOptions, ProgressStream};

/// How long a [`Listen`] may stay open: a year, so in practice until it is cancelled, its
/// client closes, or the server ends it.
pub const LISTEN_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// An open `subscriptions/listen` stream (2026-07-28). Its notifications (the
/// acknowledgement first) arrive on [`Client::events`]. Dropping it, or [`Listen::cancel`],
/// cancels the listen (`notifications/cancelled`).
#[must_use = "a listen is cancelled when dropped"]
pub struct Listen {
    future: crate::runtime::BoxFuture<'static, Result<RawJson, CallError>>,
}

impl std::fmt::Debug for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listen").finish_non_exhaustive()
    }
}

impl Listen {
    /// Cancels the listen.
    pub fn cancel(self) {
        drop(self);
    }

    /// Waits until the server ends the listen (with its result), or the listen fails
    /// (refused by the server, the client closed, the connection lost without reconnect).
    pub async fn ended(self) -> Result<SubscriptionsListenResult, CallError> {
        let raw = self.future.await?;
        raw.parse().map_err(|e| CallError::InvalidResult(format!("subscriptions/listen: {e}")))
    }
}

/// The most pages a `list_all_*` call follows before it stops with an error (a server whose
/// cursors never end must not hang the client).
pub const MAX_PAGES: usize = 1000;

/// Follows `nextCursor` from page to page, collecting `items` of each, for at most
/// [`MAX_PAGES`] pages. A server that hands back the cursor it was just given would loop
/// forever: that ends at once with an error too.
async fn paginate<P, T, F, Fut>(
    method: &str,
    mut page: F,
    items: fn(P) -> (Vec<T>, Option<String>),
) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, CallError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let (batch, next) = items(page(cursor.clone()).await?);
        all.extend(batch);
        match next {
            Some(next) if cursor.as_ref() == Some(&next) => {
                return Err(CallError::InvalidResult(format!(
                    "{method} returned the cursor it was given: it would never end"
                )));
            }
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
    Err(CallError::InvalidResult(format!("{method} did not end after {MAX_PAGES} pages")))
}

fn params<T: Serialize>(value: &T) -> Result<Option<RawJson>, CallError> {
    RawJson::from_serialize(value)
        .map(Some)
        .map_err(|e| CallError::InvalidResult(format!("unserialisable params: {e}")))
}

fn arguments(arguments: Value) -> Result<Option<serde_json::Map<String, Value>>, CallError> {
    match arguments {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        _ => Err(CallError::Refused(mcp_ws_core::session::SessionError::NotAnObject)),
    }
}

impl Client {
    async fn typed<P: Serialize, T: DeserializeOwned>(
        &self,
        method: &str,
        request: &P,
        options: CallOptions,
    ) -> Result<T, CallError> {
        let raw = self.request(method, params(request)?, options).await?;
        raw.parse().map_err(|e| CallError::InvalidResult(format!("{method}: {e}")))
    }

    /// Sends an MCP `ping` (legacy era; the modern era has none and refuses it).
    pub async fn ping(&self) -> Result<(), CallError> {
        self.request(methods::PING, None, CallOptions::default()).await.map(|_| ())
    }

    /// One page of `tools/list`, without the tools whose `x-mcp-header` annotations are
    /// invalid (a client must not use those, 2026-07-28; each is logged at `warn`).
    pub async fn list_tools(&self, cursor: Option<String>) -> Result<ListToolsResult, CallError> {
        let request = PaginatedParams { cursor, ..Default::default() };
        let mut page: ListToolsResult =
            self.typed(methods::TOOLS_LIST, &request, CallOptions::default().retryable()).await?;
        page.tools.retain(|tool| match ParamHeaders::from_input_schema(&tool.input_schema) {
            Ok(_) => true,
            Err(why) => {
                tracing::warn!(tool = %tool.name, %why, "tool left out: invalid x-mcp-header");
                false
            }
        });
        Ok(page)
    }

    /// Every tool, following cursors (at most [`MAX_PAGES`] pages).
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>, CallError> {
        paginate(
            methods::TOOLS_LIST,
            |cursor| self.list_tools(cursor),
            |page| (page.tools, page.next_cursor),
        )
        .await
    }

    /// Calls tool `name` with `arguments` (a JSON object, or null for none).
    pub async fn call_tool(
        &self,
        name: &str,
        arguments_object: Value,
    ) -> Result<CallToolResult, CallError> {
        self.call_tool_with(name, arguments_object, CallOptions::default()).await
    }

    /// Calls tool `name` with per-call options (timeout, retryable...).
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments_object: Value,
        options: CallOptions,
    ) -> Result<CallToolResult, CallError> {
        let request = CallToolParams {
            name: name.to_string(),
            arguments: arguments(arguments_object)?,
            ..Default::default()
        };
        self.typed(methods::TOOLS_CALL, &request, options).await
    }

    /// Calls tool `name` asking for progress: the reports arrive on the returned stream while
    /// the future runs. Dropping the future cancels the call.
    pub fn call_tool_with_progress(
        &self,
        name: &str,
        arguments_object: Value,
        options: CallOptions,
    ) -> Result<
        (impl Future<Output = Result<CallToolResult, CallError>> + Send + use<>, ProgressStream),
        CallError,
    > {
        let request = CallToolParams {
            name: name.to_string(),
            arguments: arguments(arguments_object)?,
            ..Default::default()
        };
        let (future, progress) =
            self.request_with_progress(methods::TOOLS_CALL, params(&request)?, options);
        let typed = async move {
            let raw = future.await?;
            raw.parse::<CallToolResult>()
                .map_err(|e| CallError::InvalidResult(format!("tools/call: {e}")))
        };
        Ok((typed, progress))
    }

    /// One page of `resources/list`.
    pub async fn list_resources(
        &self,
        cursor: Option<String>,
    ) -> Result<ListResourcesResult, CallError> {
        let request = PaginatedParams { cursor, ..Default::default() };
        self.typed(methods::RESOURCES_LIST, &request, CallOptions::default().retryable()).await
    }

    /// Every resource, following cursors (at most [`MAX_PAGES`] pages).
    pub async fn list_all_resources(&self) -> Result<Vec<Resource>, CallError> {
        paginate(
            methods::RESOURCES_LIST,
            |cursor| self.list_resources(cursor),
            |page| (page.resources, page.next_cursor),
        )
        .await
    }

    /// One page of `resources/templates/list`.
    pub async fn list_resource_templates(
        &self,
        cursor: Option<String>,
    ) -> Result<ListResourceTemplatesResult, CallError> {
        let request = PaginatedParams { cursor, ..Default::default() };
        self.typed(methods::RESOURCES_TEMPLATES_LIST, &request, CallOptions::default().retryable())
            .await
    }

    /// Every resource template, following cursors (at most [`MAX_PAGES`] pages).
    pub async fn list_all_resource_templates(&self) -> Result<Vec<ResourceTemplate>, CallError> {
        paginate(
            methods::RESOURCES_TEMPLATES_LIST,
            |cursor| self.list_resource_templates(cursor),
            |page| (page.resource_templates, page.next_cursor),
        )
        .await
    }

    /// Reads the resource at `uri`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, CallError> {
        let request = ReadResourceParams { uri: uri.to_string(), ..Default::default() };
        self.typed(methods::RESOURCES_READ, &request, CallOptions::default().retryable()).await
    }

    /// Legacy `resources/subscribe`: `notifications/resources/updated` for `uri` will arrive
    /// on [`Client::events`]. The client subscribes again after each reconnect.
    pub async fn subscribe_resource(&self, uri: &str) -> Result<(), CallError> {
        let request = SubscribeParams { uri: uri.to_string(), ..Default::default() };
        let options = CallOptions::default().retryable();
        let _: serde_json::Value =
            self.typed(methods::RESOURCES_SUBSCRIBE, &request, options).await?;
        self.shared.resources.lock().expect("lock").insert(uri.to_string());
        Ok(())
    }

    /// Legacy `resources/unsubscribe`: no more updates for `uri`.
    pub async fn unsubscribe_resource(&self, uri: &str) -> Result<(), CallError> {
        self.shared.resources.lock().expect("lock").remove(uri);
        let request = SubscribeParams { uri: uri.to_string(), ..Default::default() };
        let options = CallOptions::default().retryable();
        let _: serde_json::Value =
            self.typed(methods::RESOURCES_UNSUBSCRIBE, &request, options).await?;
        Ok(())
    }

    /// Opens a `subscriptions/listen` stream (2026-07-28) for the notifications `filter`
    /// asks for. The server's acknowledgement and then the notifications arrive on
    /// [`Client::events`], each with `_meta["io.modelcontextprotocol/subscriptionId"]`. The
    /// listen is sent again, with a new id, after each reconnect.
    pub fn listen(&self, filter: SubscriptionFilter) -> Result<Listen, CallError> {
        let request = SubscriptionsListenParams { notifications: filter, ..Default::default() };
        let options = CallOptions {
            request: RequestOptions { timeout: Some(LISTEN_TIMEOUT), ..Default::default() },
            retryable: true,
            // A listen is never answered `input_required`; this also sends it at once (the
            // rounds' future is lazy, and a `Listen` is not polled until `ended`).
            raw_input_required: true,
        };
        let future = self.request(methods::SUBSCRIPTIONS_LISTEN, params(&request)?, options);
        Ok(Listen { future })
    }

    /// One page of `prompts/list`.
    pub async fn list_prompts(
        &self,
        cursor: Option<String>,
    ) -> Result<ListPromptsResult, CallError> {
        let request = PaginatedParams { cursor, ..Default::default() };
        self.typed(methods::PROMPTS_LIST, &request, CallOptions::default().retryable()).await
    }

    /// Every prompt, following cursors (at most [`MAX_PAGES`] pages).
    pub async fn list_all_prompts(&self) -> Result<Vec<Prompt>, CallError> {
        paginate(
            methods::PROMPTS_LIST,
            |cursor| self.list_prompts(cursor),
            |page| (page.prompts, page.next_cursor),
        )
        .await
    }

    /// Gets prompt `name` filled with `arguments`.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: BTreeMap<String, String>,
    ) -> Result<GetPromptResult, CallError> {
        let request = GetPromptParams {
            name: name.to_string(),
            arguments: (!arguments.is_empty()).then_some(arguments),
            ..Default::default()
        };
        self.typed(methods::PROMPTS_GET, &request, CallOptions::default().retryable()).await
    }

    /// Asks for completions of a prompt or resource-template argument.
    pub async fn complete(&self, request: &CompleteParams) -> Result<CompleteResult, CallError> {
        self.typed(methods::COMPLETION_COMPLETE, request, CallOptions::default().retryable()).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    type Numbered = std::future::Ready<Result<(Vec<usize>, Option<String>), CallError>>;

    /// A pager over `pages` numbered pages: page `n` holds `n` and leads to `n + 1`.
    fn numbered(pages: usize, asked: &Cell<usize>) -> impl FnMut(Option<String>) -> Numbered + '_ {
        move |cursor| {
            asked.set(asked.get() + 1);
            let n: usize = cursor.map_or(0, |c| c.parse().expect("our cursor"));
            let next = (n + 1 < pages).then(|| (n + 1).to_string());
            std::future::ready(Ok((vec![n], next)))
        }
    }

    #[test]
    fn pages_are_followed_to_the_end() {
        let asked = Cell::new(0);
        let all = futures_executor::block_on(paginate("x/list", numbered(5, &asked), |p| p));
        assert_eq!(all.unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(asked.get(), 5);
    }

    #[test]
    fn a_list_that_never_ends_stops_at_the_page_bound_with_an_error() {
        let asked = Cell::new(0);
        let all =
            futures_executor::block_on(paginate("x/list", numbered(usize::MAX, &asked), |p| p));
        match all {
            Err(CallError::InvalidResult(message)) => {
                assert!(message.contains("did not end after 1000 pages"), "{message}")
            }
            other => panic!("expected the bound to stop it, got {other:?}"),
        }
        assert_eq!(asked.get(), MAX_PAGES);
    }

    #[test]
    fn a_cursor_handed_back_unchanged_ends_at_once_with_an_error() {
        let asked = Cell::new(0);
        let same = |_cursor: Option<String>| {
            asked.set(asked.get() + 1);
            std::future::ready(Ok::<_, CallError>((vec![1], Some("again".to_string()))))
        };
        let all = futures_executor::block_on(paginate("x/list", same, |p| p));
        assert!(
            matches!(all, Err(CallError::InvalidResult(ref m)) if m.contains("cursor it was given")),
            "{all:?}"
        );
        assert_eq!(asked.get(), 2);
    }
}
