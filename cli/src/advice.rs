//! Error messages of the client commands that say what to do next: no server listening at
//! the URL, a token to pass on 401, the flag that answers a server request the command could
//! not answer (`--root`, `--elicit`), a connection lost while waiting.
//!
//! The requests a command refused are remembered for the process (a command is one call), so
//! the final error can name the flag instead of the protocol's internal keys.

use std::sync::Mutex;

use mcp_ws_driver::core::mcp::methods;
use mcp_ws_driver::core::{ErrorCode, ErrorObject};
use mcp_ws_driver::{CallError, ConnectError, DialError, RequestHandler, request_handler};

/// What to say about a failed connect to `url`; `token_given` tells whether `--auth-token`
/// (or `MCP_WS_AUTH_TOKEN`) was set.
pub fn connect_error(url: &str, error: &ConnectError, token_given: bool) -> String {
    match error {
        ConnectError::Dial(DialError::Transport(text)) if is_refused(text) => format!(
            "no server is listening at {url} ({error}): start one (e.g. `mcp-ws serve`) or \
             check the host and port"
        ),
        ConnectError::Dial(DialError::Status { status: 401, .. }) if token_given => format!(
            "{url}: {error}: the token given with --auth-token (or MCP_WS_AUTH_TOKEN) was not \
             accepted"
        ),
        ConnectError::Dial(DialError::Status { status: 401, .. }) => format!(
            "{url}: {error}: pass the server's token with --auth-token TOKEN (or set \
             MCP_WS_AUTH_TOKEN)"
        ),
        _ => format!("{url}: {error}"),
    }
}

/// Whether a transport failure's text is a refused TCP connection (the driver keeps only the
/// text of the I/O error; this is its wording on Linux, macOS and Windows).
fn is_refused(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("connection refused") || text.contains("actively refused")
}

/// Server requests refused by this process, each with the advice that names the flag.
static REFUSED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// What a command says when the server asks `method` and it has no answer.
pub fn unanswerable(method: &str) -> String {
    match method {
        methods::ROOTS_LIST => {
            "the server asked for the client's roots (roots/list): give them with --root URI \
             (repeatable)"
                .to_string()
        }
        methods::ELICITATION_CREATE => "the server asked the user a question \
             (elicitation/create): answer it with --elicit accept[:JSON], decline or cancel"
            .to_string(),
        methods::SAMPLING_CREATE_MESSAGE => "the server asked the client's model for a message \
             (sampling/createMessage), which mcp-ws cannot answer"
            .to_string(),
        other => format!("the server sent a request mcp-ws cannot answer ({other})"),
    }
}

/// Answers every server request the command has no answer for with -32601 and the advice of
/// [`unanswerable`], and remembers the advice for [`refused`].
pub fn refusing_handler() -> RequestHandler {
    request_handler(|request, _context| {
        let advice = unanswerable(&request.method);
        let mut refused = REFUSED.lock().unwrap_or_else(|e| e.into_inner());
        if !refused.contains(&advice) {
            refused.push(advice.clone());
        }
        async move { Err(ErrorObject::new(ErrorCode::MethodNotFound, advice)) }
    })
}

/// The advice for the server requests refused so far, one per line.
pub fn refused() -> Option<String> {
    let refused = REFUSED.lock().unwrap_or_else(|e| e.into_inner());
    (!refused.is_empty()).then(|| refused.join("\n"))
}

/// The advice of [`unanswerable`] for each capability a -32021 error's
/// `data.requiredCapabilities` names, one per line.
fn undeclared_advice(error: &ErrorObject) -> Option<String> {
    let data: serde_json::Value = error.data.as_ref()?.parse().ok()?;
    let required = data.get("requiredCapabilities")?.as_object()?;
    let advice: Vec<String> = required
        .keys()
        .filter_map(|capability| match capability.as_str() {
            "roots" => Some(unanswerable(methods::ROOTS_LIST)),
            "elicitation" => Some(unanswerable(methods::ELICITATION_CREATE)),
            "sampling" => Some(unanswerable(methods::SAMPLING_CREATE_MESSAGE)),
            _ => None,
        })
        .collect();
    (!advice.is_empty()).then(|| advice.join("\n"))
}

/// What to say about a failed call (`what` names it, e.g. `tools/call add`).
pub fn call_error(what: &str, error: &CallError) -> String {
    match (error, refused()) {
        // The 2026-07-28 round names the request by its internal key: say the flag instead.
        (CallError::InputRounds(_), Some(advice)) => format!("{what} failed: {advice}"),
        // 2026-07-28: the server would need a capability this command did not declare.
        (CallError::Rpc(error), _)
            if error.code == ErrorCode::MissingRequiredClientCapability.code() =>
        {
            match undeclared_advice(error) {
                Some(advice) => format!("{what} failed: {advice}"),
                None => format!("{what} failed: {error:?}"),
            }
        }
        (CallError::Disconnected, _) => {
            format!("{what} failed: the connection was lost before the answer came")
        }
        _ => format!("{what} failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undeclared_capability_names_the_flag_that_declares_it() {
        let data = mcp_ws_driver::core::RawJson::from_serialize(
            &serde_json::json!({"requiredCapabilities": {"elicitation": {}}}),
        )
        .unwrap();
        let error = ErrorObject::new(ErrorCode::MissingRequiredClientCapability, "needs it")
            .with_data(data);
        let text = call_error("tools/call confirm", &CallError::Rpc(error));
        assert!(text.contains("--elicit accept[:JSON], decline or cancel"), "{text}");
    }

    #[test]
    fn a_refused_connection_says_no_server_is_listening() {
        let error = ConnectError::Dial(DialError::Transport(
            "Connection refused (os error 111)".to_string(),
        ));
        let text = connect_error("ws://127.0.0.1:9/mcp", &error, false);
        assert!(text.starts_with("no server is listening at ws://127.0.0.1:9/mcp"), "{text}");
    }

    #[test]
    fn a_401_names_the_token_flag_and_variable() {
        let error = ConnectError::Dial(DialError::Status {
            status: 401,
            retry_after: None,
            reason: "unauthorized".into(),
            challenge: None,
        });
        let without = connect_error("ws://h/mcp", &error, false);
        assert!(without.contains("--auth-token TOKEN"), "{without}");
        assert!(without.contains("MCP_WS_AUTH_TOKEN"), "{without}");
        let with = connect_error("ws://h/mcp", &error, true);
        assert!(with.contains("was not accepted"), "{with}");
    }

    #[test]
    fn each_unanswerable_request_names_its_flag() {
        assert!(unanswerable(methods::ROOTS_LIST).contains("--root URI"));
        assert!(unanswerable(methods::ELICITATION_CREATE).contains("--elicit accept"));
    }
}
