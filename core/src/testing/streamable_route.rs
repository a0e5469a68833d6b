//! Streamable HTTP request classification ([`route`]) fed arbitrary methods and header
//! values. Checked for every request:
//!
//! - a refusal is one of the documented statuses (400, 404, 405, 406, 415), and only a 405
//!   carries `Allow`;
//! - a method other than `POST`, `GET`, `DELETE` is always 405;
//! - a route's session id is the `Mcp-Session-Id` header trimmed, and one [`is_session_id`]
//!   accepts; a `Last-Event-ID` is passed on trimmed;
//! - a routed `POST` has a JSON `Content-Type` and an `Accept` (when present) that admits
//!   JSON or SSE; a routed `GET` accepts SSE; a `GET`/`DELETE` is routed only with a session;
//! - the route is the method's own kind (`POST` to a post, `GET` to a stream, `DELETE` to an
//!   end);
//! - whitespace around the header values does not change the answer.
//!
//! Input layout: byte 0 picks the method and which headers are present; then each present
//! header value is a length byte and that many bytes (lossy UTF-8), taken whole from a few
//! useful values when the length byte's top bit is set.

use crate::streamable::{HttpRefusal, HttpRequestView, HttpRoute, accepts, is_session_id, route};
use crate::testing::bytes::ByteSource;
use crate::testing::session_ops::Violation;
use crate::version::ProtocolVersion;

const METHODS: [&str; 6] = ["POST", "GET", "DELETE", "PUT", "post", "OPTIONS"];

/// Values worth reaching that random bytes rarely spell.
const USEFUL: [&str; 12] = [
    "application/json",
    "text/event-stream",
    "application/json, text/event-stream",
    "application/json;q=0, text/event-stream;q=0",
    "*/*",
    "text/*",
    "2025-11-25",
    "2026-07-28",
    "2025-03-26",
    "0123456789abcdef0123456789abcdef",
    "application/json; charset=utf-8",
    "1-7",
];

fn value(input: &mut ByteSource<'_>) -> String {
    let len = input.u8();
    if len & 0x80 != 0 {
        USEFUL[usize::from(len & 0x7f) % USEFUL.len()].to_string()
    } else {
        String::from_utf8_lossy(input.slice(usize::from(len))).into_owned()
    }
}

/// The headers of one request, owned.
#[derive(Debug, Default)]
struct Headers {
    accept: Option<String>,
    content_type: Option<String>,
    session_id: Option<String>,
    protocol_version: Option<String>,
    last_event_id: Option<String>,
}

impl Headers {
    fn view<'a>(&'a self, method: &'a str) -> HttpRequestView<'a> {
        HttpRequestView {
            method,
            accept: self.accept.as_deref(),
            content_type: self.content_type.as_deref(),
            session_id: self.session_id.as_deref(),
            protocol_version: self.protocol_version.as_deref(),
            last_event_id: self.last_event_id.as_deref(),
        }
    }

    fn padded(&self) -> Headers {
        let pad = |v: &Option<String>| v.as_ref().map(|v| format!(" \t{v} "));
        Headers {
            accept: pad(&self.accept),
            content_type: pad(&self.content_type),
            session_id: pad(&self.session_id),
            protocol_version: pad(&self.protocol_version),
            last_event_id: pad(&self.last_event_id),
        }
    }
}

/// Runs the checks on `data`; the first broken promise, if any.
pub fn run(data: &[u8]) -> Result<(), Violation> {
    let mut input = ByteSource::new(data);
    let supported = &ProtocolVersion::ALL[..];
    while !input.is_empty() {
        let selector = input.u8();
        let method = METHODS[usize::from(selector & 7) % METHODS.len()];
        let present = |bit: u8, input: &mut ByteSource<'_>| {
            (selector & (bit << 3) != 0).then(|| value(input))
        };
        let headers = Headers {
            accept: present(1, &mut input),
            content_type: present(2, &mut input),
            session_id: present(4, &mut input),
            protocol_version: present(8, &mut input),
            last_event_id: present(16, &mut input),
        };
        let view = headers.view(method);
        let answer = route(&view, supported);
        check(&headers, method, &answer)?;
        let padded = headers.padded();
        let again = route(&padded.view(method), supported);
        let same = match (&answer, &again) {
            (Ok(a), Ok(b)) => route_kind(a) == route_kind(b),
            (Err(a), Err(b)) => a.status == b.status,
            _ => false,
        };
        ensure!(same, "padding changed {answer:?} into {again:?} for {headers:?}");
    }
    Ok(())
}

fn route_kind(route: &HttpRoute<'_>) -> (u8, Option<String>, Option<String>) {
    match route {
        HttpRoute::PostWithoutSession => (0, None, None),
        HttpRoute::PostInSession { session_id } => (1, Some(session_id.to_string()), None),
        HttpRoute::OpenStream { session_id, last_event_id } => {
            (2, Some(session_id.to_string()), last_event_id.map(str::to_string))
        }
        HttpRoute::EndSession { session_id } => (3, Some(session_id.to_string()), None),
        #[allow(unreachable_patterns)]
        _ => (4, None, None),
    }
}

fn check(
    headers: &Headers,
    method: &str,
    answer: &Result<HttpRoute<'_>, HttpRefusal>,
) -> Result<(), Violation> {
    let known = matches!(method, "POST" | "GET" | "DELETE");
    let route = match answer {
        Err(refusal) => {
            ensure!(
                matches!(refusal.status, 400 | 404 | 405 | 406 | 415),
                "undocumented status {refusal:?}"
            );
            ensure!(refusal.allow.is_some() == (refusal.status == 405), "Allow on {refusal:?}");
            ensure!(known || refusal.status == 405, "{method} answered {refusal:?}");
            return Ok(());
        }
        Ok(route) => route,
    };
    ensure!(known, "{method} was routed to {route:?}");
    let session = headers.session_id.as_deref().map(str::trim);
    let (kind, routed_session, last_event_id) = route_kind(route);
    if let Some(id) = &routed_session {
        ensure!(Some(id.as_str()) == session, "session {id:?} routed from {session:?}");
        ensure!(is_session_id(id), "{id:?} is not a session id");
    }
    match method {
        "POST" => {
            ensure!(kind <= 1, "a POST routed to {route:?}");
            ensure!(routed_session.is_some() == session.is_some(), "{route:?} for {session:?}");
            let json = headers.content_type.as_deref().is_some_and(|c| {
                c.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json")
            });
            ensure!(json, "a POST of {:?} routed", headers.content_type);
            if let Some(accept) = &headers.accept {
                ensure!(
                    accepts(accept, "application/json") || accepts(accept, "text/event-stream"),
                    "a POST accepting {accept:?} routed"
                );
            }
        }
        "GET" => {
            ensure!(kind == 2, "a GET routed to {route:?}");
            ensure!(
                headers.accept.as_deref().is_some_and(|a| accepts(a, "text/event-stream")),
                "a GET accepting {:?} routed",
                headers.accept
            );
            ensure!(
                last_event_id == headers.last_event_id.as_deref().map(|l| l.trim().to_string()),
                "Last-Event-ID {last_event_id:?} from {:?}",
                headers.last_event_id
            );
        }
        _ => ensure!(kind == 3, "a DELETE routed to {route:?}"),
    }
    Ok(())
}
