//! Which change notifications one server session asked for, in either era, and which
//! notifications a change turns into for it. Plain bookkeeping, no I/O: the server keeps one
//! [`Subscriptions`] per connection and asks it what to send when a [`ChangeEvent`] arrives.
//!
//! - Legacy era (2024-11-05 … 2025-11-25): `resources/subscribe` and `resources/unsubscribe`
//!   add and remove URIs; `notifications/resources/updated {uri}` goes to sessions that
//!   subscribed to that URI, and the three `…/list_changed` notifications go to every legacy
//!   session (the server declares `listChanged`, which needs no opt-in).
//! - Modern era (2026-07-28): each `subscriptions/listen` request opens a stream identified by
//!   the request's id. The server first sends `notifications/subscriptions/acknowledged` with
//!   the part of the requested filter it serves, then only the notifications that filter asks
//!   for, each with `_meta["io.modelcontextprotocol/subscriptionId"]` set to that id. A change
//!   matching two listens of one session is sent once per listen.
//!
//! Resource URIs match exactly. Both kinds of resource subscription of one session count
//! against one bound ([`SubscriptionLimits::max_resource_uris`]); listens have their own
//! ([`SubscriptionLimits::max_listens`]). Past either bound the request is answered -32602
//! (invalid params) with the limit in the message, and nothing is recorded.

use std::collections::BTreeSet;

use mcp_ws_core::mcp::common::JsonObject;
use mcp_ws_core::mcp::meta::SUBSCRIPTION_ID_KEY;
use mcp_ws_core::mcp::methods;
use mcp_ws_core::mcp::{SubscriptionFilter, SubscriptionsAcknowledgedParams};
use mcp_ws_core::message::Notification;
use mcp_ws_core::{ErrorCode, ErrorObject, RawJson, RequestId};
use serde::{Deserialize, Serialize};

/// A change a server publishes to the sessions that follow it (on every node, with a
/// [`super::fanout::Fanout`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum ChangeEvent {
    /// The resource at `uri` changed: `notifications/resources/updated`.
    ResourceUpdated {
        /// The resource that changed.
        uri: String,
    },
    /// One of the server's lists changed: `notifications/{tools,resources,prompts}/list_changed`.
    ListChanged {
        /// Which list.
        list: ListKind,
    },
}

/// The lists whose changes a server announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ListKind {
    /// `tools/list`.
    Tools,
    /// `resources/list`.
    Resources,
    /// `prompts/list`.
    Prompts,
}

impl ListKind {
    /// The notification method announcing a change of this list.
    pub fn method(self) -> &'static str {
        match self {
            ListKind::Tools => methods::NOTIFICATIONS_TOOLS_LIST_CHANGED,
            ListKind::Resources => methods::NOTIFICATIONS_RESOURCES_LIST_CHANGED,
            ListKind::Prompts => methods::NOTIFICATIONS_PROMPTS_LIST_CHANGED,
        }
    }
}

/// How much one session may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionLimits {
    /// The most distinct resource URIs one session follows (legacy subscriptions and the URIs
    /// of all its listens together). Default 1024.
    pub max_resource_uris: usize,
    /// The most `subscriptions/listen` streams one session holds open at once. Each holds one
    /// of the session's `max_concurrent_incoming` request slots while it is open, so this
    /// bound keeps listens from starving calls. Default 8.
    pub max_listens: usize,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        SubscriptionLimits { max_resource_uris: 1024, max_listens: 8 }
    }
}

/// What a server can notify about (from its router's registry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offered {
    /// It has tools (so a tool list that can change).
    pub tools: bool,
    /// It has resources or resource templates.
    pub resources: bool,
    /// It has prompts.
    pub prompts: bool,
}

impl Offered {
    fn lists(self, list: ListKind) -> bool {
        match list {
            ListKind::Tools => self.tools,
            ListKind::Resources => self.resources,
            ListKind::Prompts => self.prompts,
        }
    }
}

/// One open listen: its id (the subscription id) and the filter the server acknowledged.
#[derive(Debug, Clone)]
struct Listen {
    id: RequestId,
    lists: BTreeSet<ListKind>,
    uris: BTreeSet<String>,
}

/// One session's subscriptions (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    limits: SubscriptionLimits,
    legacy: bool,
    resources: BTreeSet<String>,
    listens: Vec<Listen>,
}

impl Subscriptions {
    /// No subscriptions yet, bounded by `limits`.
    pub fn new(limits: SubscriptionLimits) -> Self {
        Subscriptions { limits, ..Default::default() }
    }

    /// Records the session's era once it is ready: a legacy session gets every list change.
    pub fn set_legacy(&mut self, legacy: bool) {
        self.legacy = legacy;
    }

    /// Whether the session speaks the legacy era.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// How many distinct resource URIs the session follows.
    pub fn resource_uris(&self) -> usize {
        let mut all: BTreeSet<&str> = self.resources.iter().map(String::as_str).collect();
        for listen in &self.listens {
            all.extend(listen.uris.iter().map(String::as_str));
        }
        all.len()
    }

    /// How many listens are open.
    pub fn listens(&self) -> usize {
        self.listens.len()
    }

    /// Legacy `resources/subscribe`: follows `uri`. Subscribing twice is harmless.
    pub fn subscribe(&mut self, uri: &str) -> Result<(), ErrorObject> {
        if self.resources.contains(uri) {
            return Ok(());
        }
        let followed = self.resource_uris();
        let already = self.listens.iter().any(|l| l.uris.contains(uri));
        if !already && followed >= self.limits.max_resource_uris {
            return Err(too_many_uris(self.limits.max_resource_uris));
        }
        self.resources.insert(uri.to_string());
        Ok(())
    }

    /// Legacy `resources/unsubscribe`: stops following `uri`; whether it was followed.
    pub fn unsubscribe(&mut self, uri: &str) -> bool {
        self.resources.remove(uri)
    }

    /// Opens the listen `id` for `requested`, keeping what `offered` can serve. Returns the
    /// `notifications/subscriptions/acknowledged` to send first. A second listen with the
    /// same id replaces the first (the session refuses ids in use, so that is a reuse).
    pub fn listen(
        &mut self,
        id: RequestId,
        requested: &SubscriptionFilter,
        offered: Offered,
    ) -> Result<Notification, ErrorObject> {
        self.end_listen(&id);
        if self.listens.len() >= self.limits.max_listens {
            return Err(ErrorObject::new(
                ErrorCode::InvalidParams,
                format!(
                    "too many open subscriptions/listen streams on this connection (limit {})",
                    self.limits.max_listens
                ),
            ));
        }
        let mut lists = BTreeSet::new();
        for (list, wanted) in [
            (ListKind::Tools, requested.tools_list_changed),
            (ListKind::Resources, requested.resources_list_changed),
            (ListKind::Prompts, requested.prompts_list_changed),
        ] {
            if wanted == Some(true) && offered.lists(list) {
                lists.insert(list);
            }
        }
        let uris: BTreeSet<String> = match &requested.resource_subscriptions {
            Some(uris) if offered.resources => uris.iter().cloned().collect(),
            _ => BTreeSet::new(),
        };
        let mut all: BTreeSet<&str> = self.resources.iter().map(String::as_str).collect();
        for listen in &self.listens {
            all.extend(listen.uris.iter().map(String::as_str));
        }
        all.extend(uris.iter().map(String::as_str));
        if all.len() > self.limits.max_resource_uris {
            return Err(too_many_uris(self.limits.max_resource_uris));
        }
        let acknowledged = SubscriptionFilter {
            tools_list_changed: lists.contains(&ListKind::Tools).then_some(true),
            prompts_list_changed: lists.contains(&ListKind::Prompts).then_some(true),
            resources_list_changed: lists.contains(&ListKind::Resources).then_some(true),
            resource_subscriptions: requested
                .resource_subscriptions
                .is_some()
                .then(|| uris.iter().cloned().collect())
                .filter(|_| offered.resources),
            extra: Default::default(),
        };
        let params = SubscriptionsAcknowledgedParams {
            notifications: acknowledged,
            meta: Some(subscription_meta(&id)),
            extra: Default::default(),
        };
        self.listens.push(Listen { id, lists, uris });
        Ok(Notification::new(
            methods::NOTIFICATIONS_SUBSCRIPTIONS_ACKNOWLEDGED,
            Some(RawJson::from_serialize(&params).expect("acknowledgement params serialize")),
        ))
    }

    /// Closes the listen `id` (cancelled, or its connection ended).
    pub fn end_listen(&mut self, id: &RequestId) {
        self.listens.retain(|listen| &listen.id != id);
    }

    /// The notifications `event` means for this session, in the order to send them.
    pub fn notifications_for(&self, event: &ChangeEvent) -> Vec<Notification> {
        let mut out = Vec::new();
        match event {
            ChangeEvent::ResourceUpdated { uri } => {
                let method = methods::NOTIFICATIONS_RESOURCES_UPDATED;
                if self.legacy && self.resources.contains(uri) {
                    out.push(notification(method, Some(uri), None));
                }
                for listen in self.listens.iter().filter(|l| l.uris.contains(uri)) {
                    out.push(notification(method, Some(uri), Some(&listen.id)));
                }
            }
            ChangeEvent::ListChanged { list } => {
                if self.legacy {
                    out.push(notification(list.method(), None, None));
                }
                for listen in self.listens.iter().filter(|l| l.lists.contains(list)) {
                    out.push(notification(list.method(), None, Some(&listen.id)));
                }
            }
        }
        out
    }
}

fn too_many_uris(limit: usize) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::InvalidParams,
        format!("too many resource subscriptions on this connection (limit {limit})"),
    )
}

fn subscription_meta(id: &RequestId) -> JsonObject {
    let mut meta = JsonObject::new();
    meta.insert(
        SUBSCRIPTION_ID_KEY.to_string(),
        serde_json::to_value(id).expect("request ids serialize"),
    );
    meta
}

/// A change notification, with the subscription id of a modern listen when there is one.
fn notification(method: &str, uri: Option<&str>, listen: Option<&RequestId>) -> Notification {
    let mut params = JsonObject::new();
    if let Some(uri) = uri {
        params.insert("uri".to_string(), serde_json::Value::String(uri.to_string()));
    }
    if let Some(id) = listen {
        params.insert("_meta".to_string(), serde_json::Value::Object(subscription_meta(id)));
    }
    let params = (!params.is_empty())
        .then(|| RawJson::from_serialize(&params).expect("notification params serialize"));
    Notification::new(method, params)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn all() -> Offered {
        Offered { tools: true, resources: true, prompts: true }
    }

    fn params(n: &Notification) -> Value {
        n.params.as_ref().map_or(Value::Null, |p| p.parse().unwrap())
    }

    fn legacy() -> Subscriptions {
        let mut subs = Subscriptions::new(SubscriptionLimits::default());
        subs.set_legacy(true);
        subs
    }

    fn filter(value: Value) -> SubscriptionFilter {
        serde_json::from_value(value).unwrap()
    }

    fn updated(uri: &str) -> ChangeEvent {
        ChangeEvent::ResourceUpdated { uri: uri.into() }
    }

    #[test]
    fn a_legacy_session_gets_updates_of_the_uris_it_subscribed_to_until_it_unsubscribes() {
        let mut subs = legacy();
        subs.subscribe("demo://a").unwrap();
        assert!(subs.notifications_for(&updated("demo://b")).is_empty());
        let sent = subs.notifications_for(&updated("demo://a"));
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "notifications/resources/updated");
        assert_eq!(params(&sent[0]), json!({"uri": "demo://a"}));
        assert!(subs.unsubscribe("demo://a"));
        assert!(subs.notifications_for(&updated("demo://a")).is_empty());
        assert!(!subs.unsubscribe("demo://a"));
    }

    #[test]
    fn a_legacy_session_gets_every_list_change_without_params() {
        let subs = legacy();
        let sent = subs.notifications_for(&ChangeEvent::ListChanged { list: ListKind::Prompts });
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "notifications/prompts/list_changed");
        assert!(sent[0].params.is_none());
    }

    #[test]
    fn a_modern_session_without_a_listen_gets_nothing() {
        let subs = Subscriptions::new(SubscriptionLimits::default());
        assert!(
            subs.notifications_for(&ChangeEvent::ListChanged { list: ListKind::Tools }).is_empty()
        );
        assert!(subs.notifications_for(&updated("demo://a")).is_empty());
    }

    #[test]
    fn a_listen_is_acknowledged_with_what_the_server_offers_and_its_notifications_carry_its_id() {
        let mut subs = Subscriptions::new(SubscriptionLimits::default());
        let requested = filter(json!({
            "toolsListChanged": true,
            "promptsListChanged": true,
            "resourceSubscriptions": ["demo://a"]
        }));
        let offered = Offered { tools: true, resources: true, prompts: false };
        let ack = subs.listen(RequestId::from("listen-1"), &requested, offered).unwrap();
        assert_eq!(ack.method, "notifications/subscriptions/acknowledged");
        assert_eq!(
            params(&ack),
            json!({
                "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"},
                "notifications": {"toolsListChanged": true, "resourceSubscriptions": ["demo://a"]}
            })
        );
        let sent = subs.notifications_for(&updated("demo://a"));
        assert_eq!(
            params(&sent[0]),
            json!({"uri": "demo://a", "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}})
        );
        let tools = subs.notifications_for(&ChangeEvent::ListChanged { list: ListKind::Tools });
        assert_eq!(
            params(&tools[0]),
            json!({"_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"}})
        );
        // Not requested (resources) or not offered (prompts): not sent.
        for list in [ListKind::Resources, ListKind::Prompts] {
            assert!(subs.notifications_for(&ChangeEvent::ListChanged { list }).is_empty());
        }
        subs.end_listen(&RequestId::from("listen-1"));
        assert!(subs.notifications_for(&updated("demo://a")).is_empty());
        assert_eq!(subs.listens(), 0);
    }

    #[test]
    fn two_listens_each_get_their_own_copy() {
        let mut subs = Subscriptions::new(SubscriptionLimits::default());
        let requested = filter(json!({"resourceSubscriptions": ["demo://a"]}));
        subs.listen(RequestId::from(1i64), &requested, all()).unwrap();
        subs.listen(RequestId::from(2i64), &requested, all()).unwrap();
        let ids: Vec<Value> = subs
            .notifications_for(&updated("demo://a"))
            .iter()
            .map(|n| params(n)["_meta"]["io.modelcontextprotocol/subscriptionId"].clone())
            .collect();
        assert_eq!(ids, vec![json!(1), json!(2)]);
        assert_eq!(subs.resource_uris(), 1);
    }

    #[test]
    fn resource_uris_past_the_bound_are_refused_with_invalid_params_and_not_recorded() {
        let limits = SubscriptionLimits { max_resource_uris: 2, max_listens: 8 };
        let mut subs = Subscriptions::new(limits);
        subs.set_legacy(true);
        subs.subscribe("demo://1").unwrap();
        subs.subscribe("demo://2").unwrap();
        subs.subscribe("demo://2").unwrap();
        let error = subs.subscribe("demo://3").unwrap_err();
        assert_eq!(error.code, -32602);
        assert!(error.message.contains("limit 2"), "{}", error.message);
        let requested = filter(json!({"resourceSubscriptions": ["demo://1", "demo://4"]}));
        let error = subs.listen(RequestId::from(1i64), &requested, all()).unwrap_err();
        assert_eq!(error.code, -32602);
        assert_eq!(subs.listens(), 0);
        // URIs already followed do not count twice.
        let requested = filter(json!({"resourceSubscriptions": ["demo://1", "demo://2"]}));
        subs.listen(RequestId::from(1i64), &requested, all()).unwrap();
        assert_eq!(subs.resource_uris(), 2);
    }

    #[test]
    fn listens_past_the_bound_are_refused_and_an_ended_one_frees_its_place() {
        let limits = SubscriptionLimits { max_resource_uris: 10, max_listens: 2 };
        let mut subs = Subscriptions::new(limits);
        let requested = filter(json!({"toolsListChanged": true}));
        subs.listen(RequestId::from(1i64), &requested, all()).unwrap();
        subs.listen(RequestId::from(2i64), &requested, all()).unwrap();
        let error = subs.listen(RequestId::from(3i64), &requested, all()).unwrap_err();
        assert_eq!(error.code, -32602);
        subs.end_listen(&RequestId::from(1i64));
        subs.listen(RequestId::from(3i64), &requested, all()).unwrap();
        assert_eq!(subs.listens(), 2);
    }

    #[test]
    fn change_events_round_trip_through_json() {
        for event in [updated("demo://a"), ChangeEvent::ListChanged { list: ListKind::Tools }] {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<ChangeEvent>(&text).unwrap(), event);
        }
        let text = serde_json::to_string(&updated("x")).unwrap();
        assert_eq!(text, r#"{"kind":"resourceUpdated","uri":"x"}"#);
    }
}
