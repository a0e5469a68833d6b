//! What the real router sends conforms to the official JSON Schema of every protocol version.
//!
//! A raw WebSocket client (no driver in between) speaks each of the five versions to a served
//! test router with pages of two, and every frame it receives is validated against
//! `core/tests/fixtures/spec/<version>/schema.json`: the `initialize` result (capabilities) or
//! the `server/discover` result, each page of the four lists with its `nextCursor`, the -32602
//! answer to an invalid cursor, the `logging/setLevel` result, the log notifications and the
//! `tools/call` result.

// Shared with the core's conformance tests, which use every kind of check.
#[allow(dead_code)]
#[path = "../core/tests/support/spec.rs"]
mod spec;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use async_tungstenite::tokio::{TokioAdapter, client_async};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use futures_util::StreamExt;
use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_tests::{Rt, TestServer, server_config};
use serde_json::{Value, json};
use spec::{Check, Spec};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(10);

type Socket = async_tungstenite::WebSocketStream<TokioAdapter<TcpStream>>;

/// A raw client that validates every frame it receives against one version's schema.
struct Conformance {
    ws: Socket,
    spec: Spec,
    modern: bool,
    next_id: i64,
    checked: usize,
}

impl Conformance {
    async fn open(url: &str, version: ProtocolVersion) -> Conformance {
        let request = url.into_client_request().expect("request");
        let authority = request.uri().authority().expect("authority").as_str().to_string();
        let stream = TcpStream::connect(authority).await.expect("tcp");
        let (ws, _) = client_async(request, stream).await.expect("upgrade");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/spec");
        Conformance {
            ws,
            spec: Spec::load_from(&fixtures, version.as_str()),
            modern: version == ProtocolVersion::V2026_07_28,
            next_id: 1,
            checked: 0,
        }
    }

    fn check(&mut self, frame: &Value, check: Check) {
        let errors = self.spec.errors_of(frame, check);
        assert!(
            errors.is_empty(),
            "{} {check:?}: {frame}\nviolates the schema:\n{}",
            self.spec.version,
            errors.join("\n")
        );
        self.checked += 1;
    }

    /// `params` with the 2026-07-28 `_meta` keys (plus `extra_meta`) in the modern era.
    fn params(&self, mut params: Value, extra_meta: Value) -> Value {
        if self.modern {
            let mut meta = json!({
                "io.modelcontextprotocol/protocolVersion": self.spec.version,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "conformance", "version": "1"},
            });
            if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
                meta.extend(extra.clone());
            }
            params["_meta"] = meta;
        }
        params
    }

    async fn send(&mut self, frame: Value) {
        self.ws.send(Message::text(frame.to_string())).await.expect("send");
    }

    async fn receive(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(LIMIT, self.ws.next()).await.expect("a frame in time");
            match next.expect("the connection is open").expect("a frame") {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Sends `method` with `params` and returns the notifications that came before the
    /// answer (each validated as `notification`, when given) and the answer, validated as
    /// `answer`.
    async fn call(
        &mut self,
        method: &str,
        params: Value,
        answer: Check,
        notification: Option<Check>,
    ) -> (Vec<Value>, Value) {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        let mut notifications = Vec::new();
        loop {
            let frame = self.receive().await;
            if frame.get("id") == Some(&json!(id)) {
                self.check(&frame, answer);
                return (notifications, frame);
            }
            assert!(frame.get("id").is_none(), "an answer to another request: {frame}");
            let check = notification.unwrap_or_else(|| panic!("unexpected notification {frame}"));
            self.check(&frame, check);
            notifications.push(frame);
        }
    }

    /// Walks a list of `method` page by page; returns how many pages and items there were.
    async fn walk(&mut self, method: &str, result: &'static str, items: &str) -> (usize, usize) {
        let (mut pages, mut count) = (0, 0);
        let mut cursor: Option<String> = None;
        while pages < 100 {
            let mut params = json!({});
            if let Some(cursor) = &cursor {
                params["cursor"] = json!(cursor);
            }
            let params = self.params(params, json!({}));
            let (_, answer) = self.call(method, params, Check::Result(result), None).await;
            pages += 1;
            count += answer["result"][items].as_array().expect("items").len();
            match answer["result"]["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return (pages, count),
            }
        }
        panic!("{method} did not end");
    }
}

async fn conforms(url: &str, version: ProtocolVersion) {
    let mut client = Conformance::open(url, version).await;
    if client.modern {
        let params = client.params(json!({}), json!({}));
        let (_, discovered) =
            client.call("server/discover", params, Check::Result("DiscoverResult"), None).await;
        assert!(discovered["result"]["capabilities"]["tools"].is_object(), "{discovered}");
    } else {
        let params = json!({
            "protocolVersion": version.as_str(),
            "capabilities": {},
            "clientInfo": {"name": "conformance", "version": "1"},
        });
        let (_, initialized) =
            client.call("initialize", params, Check::Result("InitializeResult"), None).await;
        assert_eq!(initialized["result"]["protocolVersion"], version.as_str());
        client.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    }

    let (pages, tools) = client.walk("tools/list", "ListToolsResult", "tools").await;
    assert!(pages >= 3 && tools > 4, "{pages} pages of {tools} tools");
    let (pages, _) = client.walk("resources/list", "ListResourcesResult", "resources").await;
    assert_eq!(pages, 1);
    let templates = "resourceTemplates";
    client.walk("resources/templates/list", "ListResourceTemplatesResult", templates).await;
    client.walk("prompts/list", "ListPromptsResult", "prompts").await;

    let params = client.params(json!({"cursor": "not-a-cursor"}), json!({}));
    let (_, refused) = client.call("tools/list", params, Check::Error(None), None).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");

    // Log notifications: legacy asks with logging/setLevel, 2026-07-28 with `_meta`.
    let wanted = if client.modern {
        json!({"io.modelcontextprotocol/logLevel": "debug"})
    } else {
        let params = json!({"level": "debug"});
        client.call("logging/setLevel", params, Check::Result("EmptyResult"), None).await;
        json!({})
    };
    let params = client.params(json!({"name": "log_three", "arguments": {}}), wanted);
    let logged = Some(Check::Notification("LoggingMessageNotification"));
    let (logs, _) =
        client.call("tools/call", params, Check::Result("CallToolResult"), logged).await;
    let levels: Vec<&str> = logs.iter().map(|n| n["params"]["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["debug", "info", "warning"], "{}", version.as_str());
    if client.modern {
        // No level named: no log notification before the answer.
        let params = client.params(json!({"name": "log_three", "arguments": {}}), json!({}));
        let (logs, _) =
            client.call("tools/call", params, Check::Result("CallToolResult"), logged).await;
        assert!(logs.is_empty(), "{logs:?}");
    }
    assert!(client.checked >= 15, "only {} frames were checked", client.checked);
    let _ = client.ws.close(None).await;
}

#[test]
fn what_the_router_sends_conforms_to_the_schema_of_every_version() {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let server =
        TestServer::start_with(Rt::Tokio, server_config(), any_port, |r| r.page_size(2), None);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    for version in ProtocolVersion::ALL {
        runtime.block_on(conforms(&server.url, version));
    }
    server.shutdown();
}
