//! `mcp-ws serve --stdio -- CMD [ARGS...]`: any stdio MCP server, exposed over WebSocket.
//!
//! Each WebSocket connection gets its own child process (MCP sessions are stateful; children
//! are never shared). Frames are checked with the core's decoder (malformed ones get their
//! JSON-RPC error or close code, as on every mcp-ws endpoint) and written to the child as one
//! compact JSON line each, ids untouched; the child's stdout lines go back as text frames. The
//! child's stderr is logged. The child is killed when its connection ends; a child that cannot
//! start, or exits, closes the connection with 1011 and a reason saying so.

use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::TokioAdapter;
use mcp_ws_driver::async_tungstenite::tungstenite::protocol::CloseFrame;
use mcp_ws_driver::async_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCode;
use mcp_ws_driver::async_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use mcp_ws_driver::core::codec::{self, Frame, FrameError, Limits};
use mcp_ws_driver::core::mcp::Implementation;
use mcp_ws_driver::core::message::Message;
use mcp_ws_driver::core::{CloseCode, CloseReason};
use mcp_ws_driver::server::accept::{self, ConnectionAddrs, HandshakeConfig};
use mcp_ws_tokio::Tokio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

use crate::args::ServeArgs;
use crate::ws_io::{self, Keepalive, KeepaliveCheck, Ws};

/// Settings each connection needs.
struct Relay {
    command: Vec<String>,
    /// The handshake checks (TLS, token, Origin, Host), as the demo server's.
    handshake: HandshakeConfig,
    net: Tokio,
    local: std::net::SocketAddr,
    limits: Limits,
    ping: Option<Duration>,
    idle: Option<Duration>,
    /// Becomes true when the server shuts down.
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// Serves `command` until Ctrl-C.
pub async fn run(args: &ServeArgs, command: &[String]) -> Result<ExitCode, String> {
    let identity = Implementation::new("mcp-ws", env!("CARGO_PKG_VERSION"));
    let config = crate::serve::server_config(args, identity)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let url = format!("{scheme}://{addr}{}", args.path);
    println!("{url}");
    tracing::info!(%url, command = ?command, "serving a stdio MCP server over WebSocket");
    crate::serve::log_security(&config);
    if let Some(tls) = &config.tls {
        crate::serve::reload_on_hangup(tls.clone());
    }
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let relay = Arc::new(Relay {
        command: command.to_vec(),
        handshake: config.handshake_config(),
        net: Tokio::new(),
        local: addr,
        limits: Limits { max_message_bytes: args.max_message_bytes, ..Limits::default() },
        ping: args.ping(),
        idle: args.idle(),
        stopping,
    });
    let next_id = AtomicU64::new(1);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let relay = relay.clone();
                connections.spawn(async move {
                    tracing::info!(connection = id, %peer, "connection accepted");
                    if let Err(error) = relay.serve(id, stream, peer).await {
                        tracing::info!(connection = id, "connection failed: {error}");
                    }
                });
            }
            // Reap finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Graceful shutdown: every relay closes its client with 1001 and stops its child.
    tracing::info!(connections = connections.len(), "shutting down");
    let _ = stop.send(true);
    let all_done = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, all_done).await.is_err() {
        tracing::warn!("some connections did not end within {SHUTDOWN_GRACE:?}");
    }
    Ok(ExitCode::SUCCESS)
}

/// How long a shutdown waits for the relays to close their clients and stop their children.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn close_frame(reason: &CloseReason) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: WsCode::from(reason.code.0),
        reason: reason.reason.to_string().into(),
    }))
}

impl Relay {
    async fn serve(
        &self,
        id: u64,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> Result<(), String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let addrs = ConnectionAddrs { peer: Some(peer), local: Some(self.local) };
        let accepted = accept::accept(&self.net, TokioAdapter::new(stream), addrs, &self.handshake)
            .await
            .map_err(|e| format!("upgrade failed: {e}"))?;
        tracing::debug!(connection = id, principal = ?accepted.principal, "upgraded");
        let mut ws = accepted.ws;
        let mut child = match Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                let reason = CloseReason::new(
                    CloseCode::INTERNAL_ERROR,
                    format!("could not start the stdio server: {error}"),
                );
                let _ = ws_io::send(&mut ws, close_frame(&reason)).await;
                return Err(reason.reason.to_string());
            }
        };
        tracing::info!(connection = id, pid = child.id(), "stdio server started");
        let reason = self.relay(id, &mut ws, &mut child).await;
        tracing::info!(connection = id, code = reason.code.0, reason = %reason.reason, "closing");
        let _ = ws_io::send(&mut ws, close_frame(&reason)).await;
        let _ = ws_io::close(&mut ws).await;
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        Ok(())
    }

    /// Moves messages both ways until one side ends; returns the close reason for the client.
    async fn relay(&self, id: u64, ws: &mut Ws, child: &mut Child) -> CloseReason {
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(connection = id, "stdio server: {line}");
                }
            });
        }
        let mut keepalive = Keepalive::new(self.ping, self.idle);
        let mut ticker = tokio::time::interval(keepalive.check_every());
        let mut stopping = self.stopping.clone();
        loop {
            tokio::select! {
                _ = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    return CloseReason::new(CloseCode::GOING_AWAY, "the server is shutting down");
                }
                frame = ws.next() => {
                    keepalive.inbound();
                    let text = match frame {
                        Some(Ok(WsMessage::Text(text))) => text,
                        Some(Ok(WsMessage::Binary(_))) => {
                            return CloseReason::new(CloseCode::UNSUPPORTED_DATA, "binary frames are not MCP messages");
                        }
                        Some(Ok(WsMessage::Close(_))) | None => {
                            return CloseReason::new(CloseCode::NORMAL, "the client closed");
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(WsError::Capacity(e))) => {
                            return CloseReason::new(CloseCode::MESSAGE_TOO_BIG, e.to_string());
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            return CloseReason::new(CloseCode::INVALID_PAYLOAD, "invalid UTF-8");
                        }
                        Some(Err(e)) => return CloseReason::new(CloseCode::ABNORMAL, e.to_string()),
                    };
                    // One line per message: raw params keep the peer's own whitespace, which
                    // may include newlines, so the encoding is flattened.
                    let line = match codec::decode(text.as_str(), &self.limits) {
                        Ok(Frame::Single(message)) => codec::encode(&message),
                        Ok(Frame::Batch(entries)) => {
                            let mut good = Vec::new();
                            for entry in entries {
                                match entry {
                                    Ok(message) => good.push(message),
                                    Err(error) => {
                                        let reply = codec::encode(&Message::Error(error));
                                        let _ = ws_io::send(ws, WsMessage::text(reply)).await;
                                    }
                                }
                            }
                            if good.is_empty() { continue }
                            codec::encode_batch(&good)
                        }
                        Err(FrameError::Reply(error)) => {
                            let reply = codec::encode(&Message::Error(error));
                            let _ = ws_io::send(ws, WsMessage::text(reply)).await;
                            continue;
                        }
                        Err(FrameError::Close(reason)) => return reason,
                    };
                    let line = codec::single_line(&line);
                    let written = async {
                        stdin.write_all(line.as_bytes()).await?;
                        stdin.write_all(b"\n").await?;
                        stdin.flush().await
                    };
                    if let Err(error) = written.await {
                        return CloseReason::new(CloseCode::INTERNAL_ERROR, format!("the stdio server stopped reading: {error}"));
                    }
                }
                line = stdout.next_line() => match line {
                    Ok(Some(line)) => {
                        let line = line.trim();
                        if line.is_empty() { continue }
                        if ws_io::send(ws, WsMessage::text(line.to_string())).await.is_err() {
                            return CloseReason::new(CloseCode::ABNORMAL, "the client connection failed");
                        }
                    }
                    Ok(None) | Err(_) => {
                        let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                            Ok(Ok(status)) => status.to_string(),
                            _ => "its stdout closed".to_string(),
                        };
                        return CloseReason::new(CloseCode::INTERNAL_ERROR, format!("the stdio server exited ({status})"));
                    }
                },
                _ = ticker.tick() => match keepalive.check() {
                    KeepaliveCheck::Dead => {
                        return CloseReason::new(CloseCode::GOING_AWAY, "no frame from the client within the idle timeout");
                    }
                    KeepaliveCheck::Ping => {
                        let _ = ws_io::send(ws, WsMessage::Ping(Default::default())).await;
                    }
                    KeepaliveCheck::Quiet => {}
                },
            }
        }
    }
}
