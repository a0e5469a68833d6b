//! `mcp-ws tools` and `mcp-ws call`: one-shot client commands for scripts and smoke tests.
//! The exit status is non-zero when the call fails or the tool reports an error.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::core::mcp::{
    CallToolResult, ContentBlock, Implementation, LoggingLevel, LoggingMessageParams,
    ProgressNotificationParams, Root, methods,
};
use mcp_ws_driver::{CallOptions, Client, ClientConfig, ClientEvent, PeerRequests};

use crate::args::{CallArgs, ClientArgs, ToolsArgs};

async fn open(args: &ClientArgs) -> Result<Client, String> {
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
    config = config.peer_requests(peer_requests);
    if let Some(version) = &args.protocol_version {
        let version = ProtocolVersion::parse(version)
            .ok_or_else(|| format!("unknown protocol version {version}"))?;
        config = config.version(version);
    }
    config.session.request_timeout = Duration::from_secs(args.timeout.max(1));
    // A 2026-07-28 server sends log messages only for requests naming a level; `call` shows
    // them all on stderr, as it does in the legacy era (where everything is sent by default).
    config.session.log_level = Some(LoggingLevel::Debug);
    let config = args.auth.apply(config)?;
    mcp_ws_tokio::connect(&args.url, config).await.map_err(|e| format!("{}: {e}", args.url))
}

/// Runs `work` against a client of `args` within the `--timeout`, the whole of it: connect,
/// the call, and closing (which gets what is left, and at least a moment).
async fn with_client<T, F, Fut>(args: &ClientArgs, what: &str, work: F) -> Result<T, String>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = (Client, Result<T, String>)>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout.max(1));
    let run = async {
        let client = open(args).await?;
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
            println!("{}\t{}", tool.name, tool.description.unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
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
    let result = with_client(&args.client, &format!("tools/call {tool}"), |client| async move {
        let mut events = client.events();
        let started =
            client.call_tool_with_progress(&tool, arguments, CallOptions::timeout(timeout));
        let (call, mut progress) = match started {
            Ok(started) => started,
            Err(e) => return (client, Err(format!("tools/call {tool} failed: {e}"))),
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
        (client, result.map_err(|e| format!("tools/call {tool} failed: {e}")))
    })
    .await?;
    print_result(&result, args.client.json)?;
    Ok(if result.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn report_progress(report: &ProgressNotificationParams) {
    let total = report.total.map(|t| format!("/{t}")).unwrap_or_default();
    let message = report.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    eprintln!("progress: {}{total}{message}", report.progress);
}

fn report_event(event: &ClientEvent) {
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
