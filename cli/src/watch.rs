//! `mcp-ws watch URL [URI...]`: prints resource updates (and, with `--lists`, list changes)
//! as the server sends them, until interrupted, `--count N` updates, or `--timeout SECS`.
//!
//! Legacy era: `resources/subscribe` for each URI (list changes need no subscription).
//! 2026-07-28: one `subscriptions/listen` asking for exactly those notifications. The client
//! reconnects when the connection is lost (the driver subscribes or listens again on the new
//! session); losing and regaining it is said on stderr, and a `--timeout` reached while
//! reconnecting says so.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::core::Era;
use mcp_ws_driver::core::mcp::{SubscriptionFilter, methods};
use mcp_ws_driver::core::message::Notification;
use mcp_ws_driver::core::reconnect::ReconnectConfig;
use mcp_ws_driver::{ClientEvent, Listen};

use crate::advice;
use crate::args::{ClientArgs, WatchArgs};
use crate::query;

/// How long connecting and subscribing may take (or `--timeout`, if shorter).
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the connection stands, for the messages on stderr.
#[derive(Debug, Default)]
struct Link {
    /// `Some` while reconnecting: the attempt and the last failure.
    reconnecting: Option<(u32, Option<String>)>,
}

impl Link {
    fn describe(&self) -> String {
        match &self.reconnecting {
            None => String::new(),
            Some((attempt, failure)) => {
                let failure = failure.as_deref().map(|f| format!("; last failure: {f}"));
                format!(
                    "; the connection was lost and mcp-ws was still reconnecting (attempt \
                     {attempt}{})",
                    failure.unwrap_or_default()
                )
            }
        }
    }
}

/// Runs `watch`.
pub async fn run(args: &WatchArgs) -> Result<ExitCode, String> {
    let setup = args.timeout.map_or(SETUP_TIMEOUT, |t| SETUP_TIMEOUT.min(Duration::from_secs(t)));
    let client_args = ClientArgs {
        url: args.url.clone(),
        auth: args.auth.clone(),
        json: args.json,
        timeout: setup.as_secs().max(1),
        protocol_version: args.protocol_version,
        roots: Vec::new(),
        elicit: None,
    };
    let config = query::config(&client_args)?.reconnect(Some(ReconnectConfig::default()));
    let deadline = args.timeout.map(|t| tokio::time::Instant::now() + Duration::from_secs(t));
    let connect = mcp_ws_tokio::connect(&args.url, config);
    let client = match tokio::time::timeout(setup, connect).await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            let token = args.auth.auth_token.is_some();
            return Err(advice::connect_error(&args.url, &error, token));
        }
        Err(_) => return Err(format!("{}: no connection within {} s", args.url, setup.as_secs())),
    };
    let outcome = watch(&client, args, setup, deadline).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), client.close()).await;
    outcome
}

async fn watch(
    client: &mcp_ws_driver::Client,
    args: &WatchArgs,
    setup: Duration,
    deadline: Option<tokio::time::Instant>,
) -> Result<ExitCode, String> {
    let mut events = client.events();
    let era = client.protocol_version().map(|v| v.era()).unwrap_or(Era::Legacy);
    let mut listen: Option<Listen> = None;
    match era {
        Era::Legacy => {
            for uri in &args.uris {
                let subscribed = tokio::time::timeout(setup, client.subscribe_resource(uri));
                match subscribed.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(advice::call_error(&format!("subscribe {uri}"), &e)),
                    Err(_) => return Err(format!("subscribe {uri}: no answer within {setup:?}")),
                }
            }
        }
        Era::Modern => {
            let filter = SubscriptionFilter {
                tools_list_changed: args.lists.then_some(true),
                prompts_list_changed: args.lists.then_some(true),
                resources_list_changed: args.lists.then_some(true),
                resource_subscriptions: (!args.uris.is_empty()).then(|| args.uris.clone()),
                ..Default::default()
            };
            listen = Some(client.listen(filter).map_err(|e| format!("subscriptions/listen: {e}"))?);
        }
    }
    let mut ended = std::pin::pin!(async move {
        match listen {
            Some(listen) => listen.ended().await.map(|_| ()),
            None => std::future::pending().await,
        }
    });
    let watched = if args.uris.is_empty() { "list changes".into() } else { args.uris.join(", ") };
    eprintln!("watching {watched} at {} (Ctrl-C stops)", args.url);
    let sleep = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    let mut sleep = std::pin::pin!(sleep);
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let mut link = Link::default();
    let mut seen = 0u64;
    loop {
        let event = tokio::select! {
            _ = &mut interrupted => return Ok(ExitCode::SUCCESS),
            _ = &mut sleep => {
                return match args.count {
                    Some(count) if seen < count => Err(format!(
                        "watch: {seen} of {count} updates within {} s{}",
                        args.timeout.unwrap_or_default(),
                        link.describe()
                    )),
                    _ => {
                        let note = link.describe();
                        if !note.is_empty() {
                            eprintln!("watch: stopped at --timeout{note}");
                        }
                        Ok(ExitCode::SUCCESS)
                    }
                };
            }
            end = &mut ended => {
                return Err(match end {
                    Ok(()) => "the server ended the subscription".to_string(),
                    Err(e) => advice::call_error("subscriptions/listen", &e),
                });
            }
            event = events.next() => match event {
                Some(event) => event,
                None => return Err(format!("the connection to {} ended", args.url)),
            },
        };
        match event {
            ClientEvent::Notification(notification) => {
                if wanted(&notification, args) {
                    print_notification(&notification, args.json);
                    seen += 1;
                    if args.count.is_some_and(|count| seen >= count) {
                        return Ok(ExitCode::SUCCESS);
                    }
                } else {
                    query::report_event(&ClientEvent::Notification(notification));
                }
            }
            ClientEvent::Disconnected { reason, .. } => {
                eprintln!("connection lost ({reason}); reconnecting");
                link.reconnecting = Some((0, None));
            }
            ClientEvent::Reconnecting { attempt } => {
                let failure = link.reconnecting.take().and_then(|(_, failure)| failure);
                link.reconnecting = Some((attempt, failure));
            }
            ClientEvent::DialFailed { failure } => {
                let attempt = link.reconnecting.as_ref().map_or(0, |(attempt, _)| *attempt);
                link.reconnecting = Some((attempt, Some(failure.to_string())));
            }
            ClientEvent::Ready(_) => {
                if link.reconnecting.take().is_some() {
                    eprintln!("reconnected; watching again");
                }
            }
            ClientEvent::GaveUp { last_error, .. } => {
                let last = last_error.map(|e| format!(" (last failure: {e})")).unwrap_or_default();
                return Err(format!("gave up reconnecting to {}{last}", args.url));
            }
            ClientEvent::Lagged { missed } => eprintln!("watch: {missed} notifications missed"),
        }
    }
}

/// Whether `notification` is one `watch` was asked for.
fn wanted(notification: &Notification, args: &WatchArgs) -> bool {
    match notification.method.as_str() {
        methods::NOTIFICATIONS_RESOURCES_UPDATED => {
            let uri = updated_uri(notification);
            args.uris.is_empty() || uri.is_some_and(|uri| args.uris.contains(&uri))
        }
        methods::NOTIFICATIONS_TOOLS_LIST_CHANGED
        | methods::NOTIFICATIONS_RESOURCES_LIST_CHANGED
        | methods::NOTIFICATIONS_PROMPTS_LIST_CHANGED => args.lists,
        _ => false,
    }
}

fn updated_uri(notification: &Notification) -> Option<String> {
    let params: serde_json::Value = notification.params.as_ref()?.parse().ok()?;
    params.get("uri")?.as_str().map(str::to_string)
}

fn print_notification(notification: &Notification, json: bool) {
    let method = notification.method.strip_prefix("notifications/").unwrap_or(&notification.method);
    if json {
        let params: Option<serde_json::Value> =
            notification.params.as_ref().and_then(|p| p.parse().ok());
        println!("{}", serde_json::json!({ "method": notification.method, "params": params }));
    } else {
        match updated_uri(notification) {
            Some(uri) => println!("{method} {uri}"),
            None => println!("{method}"),
        }
    }
}
