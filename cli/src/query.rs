//! `mcp-ws tools` and `mcp-ws call`: one-shot client commands for scripts and smoke tests,
//! and the connection they share with the other client commands ([`crate::explore`],
//! [`crate::watch`]). The exit status is non-zero when the call fails or the tool reports an
//! error. `call` checks the arguments against the tool's listed input schema before sending
//! them (`--no-check` skips that).

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mcp_ws_driver::arguments::{ArgumentSchema, describe};
use mcp_ws_driver::core::mcp::{
    CallToolResult, ContentBlock, Implementation, LoggingLevel, LoggingMessageParams,
    ProgressNotificationParams, Root, Tool, methods,
};
use mcp_ws_driver::{
    CallOptions, Client, ClientConfig, ClientEvent, ConnectError, DialError, PeerRequests,
};

use crate::advice;
use crate::args::{CallArgs, ClientArgs, ToolsArgs};

/// The client configuration of `args` (roots, elicitation, version, timeout, TLS, headers).
pub(crate) fn config(args: &ClientArgs) -> Result<ClientConfig, String> {
    let mut config =
        ClientConfig::new(Implementation::new("mcp-ws", env!("CARGO_PKG_VERSION"))).reconnect(None);
    let mut peer_requests = PeerRequests::default();
    if !args.roots.is_empty() {
        let roots = args
            .roots
            .iter()
            .map(|uri| Root { uri: uri.clone(), name: None, meta: None, extra: Default::default() })
            .collect();
        peer_requests = peer_requests.roots(roots);
    }
    if let Some(answer) = &args.elicit {
        let answer = answer.clone();
        peer_requests = peer_requests.elicitation(move |_params, _context| {
            let answer = answer.clone();
            async move { Ok(answer) }
        });
    }
    // What the flags do not answer is refused with advice naming the flag.
    config = config.peer_requests(peer_requests.handler(advice::refusing_handler()));
    if let Some(version) = args.protocol_version {
        config = config.version(version);
    }
    config.session.request_timeout = Duration::from_secs(args.timeout.max(1));
    // A 2026-07-28 server sends log messages only for requests naming a level; `call` shows
    // them all on stderr, as it does in the legacy era (where everything is sent by default).
    config.session.log_level = Some(LoggingLevel::Debug);
    args.auth.apply(config)
}

/// The shortest wait between two upgrades to a busy server (a `Retry-After: 0` is not a spin).
const MIN_BUSY_WAIT: Duration = Duration::from_millis(200);

/// Connects by `deadline`. A server too busy to take the connection (503 or 429 with
/// `Retry-After`) is waited out as it asks and tried again, while the wait fits before
/// `deadline`; giving up says how long it waited and what the server last answered. (The
/// library's client does not retry its first connection: that is the caller's choice.)
pub(crate) async fn open_by(
    args: &ClientArgs,
    deadline: tokio::time::Instant,
) -> Result<Client, String> {
    let config = config(args)?;
    let started = tokio::time::Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let error = match mcp_ws_tokio::connect(&args.url, config.clone()).await {
            Ok(client) => return Ok(client),
            Err(error) => error,
        };
        let busy = match &error {
            ConnectError::Dial(DialError::Status {
                status: status @ (503 | 429),
                retry_after: Some(wait),
                ..
            }) => Some((*status, *wait)),
            _ => None,
        };
        let advice = advice::connect_error(&args.url, &error, args.auth.auth_token.is_some());
        let Some((status, advised)) = busy else { return Err(advice) };
        let now = tokio::time::Instant::now();
        let wait = advised.max(MIN_BUSY_WAIT);
        let left = deadline.saturating_duration_since(now);
        if wait >= left {
            return Err(format!(
                "{advice}; gave up after {attempts} attempt(s) and {:.1} s waited: the last \
                 answer was {status} with Retry-After {} s, more than the {:.1} s --timeout \
                 ({} s) leaves",
                now.duration_since(started).as_secs_f64(),
                advised.as_secs(),
                left.as_secs_f64(),
                args.timeout.max(1),
            ));
        }
        tracing::info!(
            status,
            wait_ms = wait.as_millis() as u64,
            "the server is busy; waiting as it asks"
        );
        tokio::time::sleep(wait).await;
    }
}

/// Runs `work` against a client of `args` within the `--timeout`, the whole of it: connect,
/// the call, and closing (which gets what is left, and at least a moment).
pub(crate) async fn with_client<T, F, Fut>(
    args: &ClientArgs,
    what: &str,
    work: F,
) -> Result<T, String>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = (Client, Result<T, String>)>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout.max(1));
    let run = async {
        let client = open_by(args, deadline).await?;
        let (client, result) = work(client).await;
        Ok::<_, String>((client, result))
    };
    let (client, result) = match tokio::time::timeout_at(deadline, run).await {
        Ok(outcome) => outcome?,
        Err(_) => return Err(format!("{what}: no answer within {} s", args.timeout.max(1))),
    };
    let close_by = deadline.max(tokio::time::Instant::now() + Duration::from_millis(200));
    let _ = tokio::time::timeout_at(close_by, client.close()).await;
    result
}

/// Lists the tools.
pub async fn tools(args: &ToolsArgs) -> Result<ExitCode, String> {
    let tools = with_client(&args.client, "tools/list", |client| async move {
        let tools = client.list_all_tools().await.map_err(|e| format!("tools/list failed: {e}"));
        (client, tools)
    })
    .await?;
    if args.client.json {
        let json = serde_json::to_string_pretty(&tools).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        for tool in tools {
            print_tool(&tool);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A tool as text: `name<TAB>description`, then one indented line per argument
/// (`name: type (required)` or `(default ...)`, and its description).
fn print_tool(tool: &Tool) {
    println!("{}\t{}", tool.name, tool.description.as_deref().unwrap_or_default());
    let arguments = describe(&tool.input_schema);
    if arguments.is_empty() {
        println!("    (no arguments)");
    }
    for argument in arguments {
        match &argument.description {
            Some(description) => println!("    {argument}  {description}"),
            None => println!("    {argument}"),
        }
    }
}

/// Checks `arguments` against the input schema `tools/list` gives for `tool`: `Err` says
/// what is wrong and what the tool takes. A schema this build cannot compile is not checked
/// (the server will be).
fn check_arguments(
    tools: &[Tool],
    tool: &str,
    arguments: &serde_json::Value,
) -> Result<(), String> {
    let Some(listed) = tools.iter().find(|t| t.name == tool) else {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        return Err(format!(
            "the server lists no tool named {tool} (its tools: {}); --no-check calls it anyway",
            names.join(", ")
        ));
    };
    let schema = match ArgumentSchema::compile(&listed.input_schema) {
        Ok(schema) => schema,
        Err(error) => {
            tracing::warn!("not checking the arguments of {tool}: {error}");
            return Ok(());
        }
    };
    schema.check(arguments).map_err(|invalid| {
        format!(
            "invalid arguments for tool {tool}: {invalid}\n(checked against the tool's listed \
             input schema; --no-check sends them anyway)"
        )
    })
}

/// The arguments of `call`: inline JSON, `-` for stdin, `@FILE` for a file.
fn read_arguments(given: &str) -> Result<serde_json::Value, String> {
    let text = match given {
        "-" => std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read the arguments from stdin: {e}"))?,
        file if file.starts_with('@') => std::fs::read_to_string(&file[1..])
            .map_err(|e| format!("cannot read the arguments from {}: {e}", &file[1..]))?,
        inline => inline.to_string(),
    };
    let arguments: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the arguments are not JSON: {e}"))?;
    if !arguments.is_object() {
        return Err("the arguments must be a JSON object".into());
    }
    Ok(arguments)
}

/// Calls one tool; progress and the server's log messages go to stderr meanwhile.
pub async fn call(args: &CallArgs) -> Result<ExitCode, String> {
    let arguments = read_arguments(&args.arguments)?;
    let tool = args.tool.clone();
    let timeout = Duration::from_secs(args.client.timeout.max(1));
    let check = !args.no_check;
    let result = with_client(&args.client, &format!("tools/call {tool}"), |client| async move {
        if check {
            // Only what the server lists can be checked; a failed listing is not our error.
            match client.list_all_tools().await {
                Ok(tools) => {
                    if let Err(problem) = check_arguments(&tools, &tool, &arguments) {
                        return (client, Err(problem));
                    }
                }
                Err(error) => tracing::warn!("not checking the arguments: tools/list: {error}"),
            }
        }
        let mut events = client.events();
        let started =
            client.call_tool_with_progress(&tool, arguments, CallOptions::timeout(timeout));
        let (call, mut progress) = match started {
            Ok(started) => started,
            Err(e) => return (client, Err(advice::call_error(&format!("tools/call {tool}"), &e))),
        };
        let mut call = std::pin::pin!(call);
        let result = loop {
            // Reports before the answer: the driver queues them in the order they came.
            tokio::select! {
                biased;
                Some(report) = progress.next() => report_progress(&report),
                Some(event) = events.next() => report_event(&event),
                result = &mut call => break result,
            }
        };
        // Whatever came in the same read as the answer is already queued.
        while let Some(Some(report)) = progress.next().now_or_never() {
            report_progress(&report);
        }
        while let Some(Some(event)) = events.next().now_or_never() {
            report_event(&event);
        }
        (client, result.map_err(|e| advice::call_error(&format!("tools/call {tool}"), &e)))
    })
    .await?;
    print_result(&result, args.client.json)?;
    if result.failed() {
        if let Some(advice) = advice::refused() {
            eprintln!("{advice}");
        }
    }
    Ok(if result.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub(crate) fn report_progress(report: &ProgressNotificationParams) {
    let total = report.total.map(|t| format!("/{t}")).unwrap_or_default();
    let message = report.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    eprintln!("progress: {}{total}{message}", report.progress);
}

pub(crate) fn report_event(event: &ClientEvent) {
    if let ClientEvent::Notification(notification) = event {
        if notification.method == methods::NOTIFICATIONS_MESSAGE {
            let params: Option<LoggingMessageParams> =
                notification.params.as_ref().and_then(|p| p.parse().ok());
            if let Some(params) = params {
                let logger = params.logger.map(|l| format!(" {l}")).unwrap_or_default();
                eprintln!("server log [{}{logger}]: {}", params.level.as_str(), params.data);
            }
        }
    }
}

fn print_result(result: &CallToolResult, json: bool) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    for block in &result.content {
        match block {
            ContentBlock::Text(text) if result.failed() => eprintln!("error: {}", text.text),
            ContentBlock::Text(text) => println!("{}", text.text),
            other => {
                println!("{}", serde_json::to_string(other).map_err(|e| e.to_string())?)
            }
        }
    }
    Ok(())
}
