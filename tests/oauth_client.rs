//! The client's OAuth flow over a WebSocket: our server refuses the upgrade with `401` and a
//! `WWW-Authenticate: Bearer resource_metadata=...` challenge, a loopback mock serves the
//! Protected Resource Metadata and plays the authorization server (metadata, registration, an
//! authorization endpoint that redirects at once, the token endpoint), and the client, given
//! `ClientConfig::oauth`, runs the flow and dials again with the token. The Streamable HTTP
//! side of the same flow is what `tests/conformance_client.rs` checks against the official
//! suite's scenarios.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mcp_ws_driver::server::auth::unauthorized;
use mcp_ws_driver::{
    AuthCheck, AuthDecision, ClientConfig, ConnectError, DialError, OAuthConfig, Principal,
};
use mcp_ws_tests::{Rt, TestServer, server_config};
use mcp_ws_tokio::Tokio;
use serde_json::json;

const TOKEN: &str = "oauth-ws-token";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const LIMIT: Duration = Duration::from_secs(20);

/// The mock: PRM and authorization server on one loopback port, recording each request line.
struct Mock {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Mock {
    /// `resource`: the PRM's `resource` once the server's URL is known.
    fn start(resource: Arc<OnceLock<String>>) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = answer(stream, addr, &resource, &seen);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Mock { addr, seen, stop, thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head and `Content-Length` body, bounded to 64 KiB and 5 s) and answers it.
fn answer(
    mut stream: TcpStream,
    addr: SocketAddr,
    resource: &OnceLock<String>,
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 || data.len() > 64 * 1024 {
            return Ok(());
        }
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_string)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                break (text[..end].to_string(), text[end + 4..end + 4 + length].to_string());
            }
        }
    };
    let line = head.lines().next().unwrap_or_default().to_string();
    let target = line.split(' ').nth(1).unwrap_or_default().to_string();
    let path = target.split('?').next().unwrap_or_default().to_string();
    seen.lock().unwrap().push(format!("{} {path}", line.split(' ').next().unwrap_or_default()));
    let issuer = format!("http://{addr}");
    let json_answer = |status: &str, body: serde_json::Value| {
        let body = body.to_string();
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let response = match path.as_str() {
        "/prm" => json_answer(
            "200 OK",
            json!({ "resource": resource.get().cloned().unwrap_or_default(), "authorization_servers": [issuer] }),
        ),
        "/.well-known/oauth-authorization-server" => json_answer(
            "200 OK",
            json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "registration_endpoint": format!("{issuer}/register"),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "authorization_response_iss_parameter_supported": true,
            }),
        ),
        "/register" => json_answer("201 Created", json!({ "client_id": "ws-client" })),
        "/authorize" => {
            let state = target
                .split(['?', '&'])
                .find_map(|pair| pair.strip_prefix("state="))
                .unwrap_or_default();
            let iss: String = issuer
                .bytes()
                .map(|b| match b {
                    b':' => "%3A".to_string(),
                    b'/' => "%2F".to_string(),
                    other => (other as char).to_string(),
                })
                .collect();
            format!(
                "HTTP/1.1 302 Found\r\nlocation: {REDIRECT}?code=the-code&state={state}&iss={iss}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        }
        "/token" if body.contains("code_verifier=") && body.contains("client_id=ws-client") => {
            json_answer("200 OK", json!({ "access_token": TOKEN, "token_type": "Bearer" }))
        }
        _ => json_answer("404 Not Found", json!({ "error": "not_found" })),
    };
    stream.write_all(response.as_bytes())
}

/// A server that lets in only `Bearer TOKEN` and points everyone else at the mock's PRM.
fn guarded(prm: String) -> TestServer {
    let mut config = server_config();
    config.auth = Some(AuthCheck::new(move |request: &mcp_ws_driver::AuthRequest<'_>| {
        if request.bearer_token() == Some(TOKEN) {
            AuthDecision::Allow(Principal::new("oauth"))
        } else {
            AuthDecision::Refuse(unauthorized(
                &format!(r#"Bearer resource_metadata="{prm}", scope="mcp:tools""#),
                "an OAuth token is needed",
            ))
        }
    }));
    TestServer::start(Rt::Tokio, config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn a_websocket_upgrade_refused_with_401_runs_the_oauth_flow_and_dials_again() {
    let resource = Arc::new(OnceLock::new());
    let mock = Mock::start(resource.clone());
    let server = guarded(format!("{}/prm", mock.url()));
    resource.set(server.url.replacen("ws://", "http://", 1)).unwrap();
    let oauth = OAuthConfig::new(REDIRECT, "ws-oauth-test");
    let config = ClientConfig::new(mcp_ws_driver::core::mcp::Implementation::new("t", "1"))
        .reconnect(None)
        .oauth(oauth.clone());
    runtime().block_on(async {
        let started = Instant::now();
        let client =
            tokio::time::timeout(LIMIT, mcp_ws_driver::connect(Tokio::new(), &server.url, config))
                .await
                .expect("connect timed out")
                .expect("the client authorized and connected");
        let tools = tokio::time::timeout(LIMIT, client.list_all_tools()).await.unwrap().unwrap();
        assert!(!tools.is_empty());
        client.close().await;
        assert!(started.elapsed() < LIMIT);
    });
    assert_eq!(oauth.access_token().as_deref(), Some(TOKEN));
    assert_eq!(
        mock.seen(),
        [
            "GET /prm",
            "GET /.well-known/oauth-authorization-server",
            "POST /register",
            "GET /authorize",
            "POST /token"
        ]
    );
}

#[test]
fn a_resource_metadata_document_for_another_server_stops_the_flow_before_authorization() {
    let resource = Arc::new(OnceLock::new());
    resource.set("https://evil.example.com/mcp".to_string()).unwrap();
    let mock = Mock::start(resource);
    let server = guarded(format!("{}/prm", mock.url()));
    let config = ClientConfig::new(mcp_ws_driver::core::mcp::Implementation::new("t", "1"))
        .reconnect(None)
        .oauth(OAuthConfig::new(REDIRECT, "ws-oauth-test"));
    runtime().block_on(async {
        let outcome =
            tokio::time::timeout(LIMIT, mcp_ws_driver::connect(Tokio::new(), &server.url, config))
                .await
                .expect("connect timed out");
        match outcome {
            Err(ConnectError::Dial(DialError::Status { status: 401, reason, .. })) => {
                assert!(reason.contains("names resource https://evil.example.com/mcp"), "{reason}");
            }
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("the client connected with no token"),
        }
    });
    assert_eq!(mock.seen(), ["GET /prm"]);
}
