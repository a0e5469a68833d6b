//! `mcp-ws serve` made safe to deploy, as a user runs it: wss with a certificate from PEM
//! files, a bearer token (flag or `MCP_WS_AUTH_TOKEN`), the client commands with `--ca-cert`
//! and `--auth-token`, the same checks in `serve --stdio`, and no token in any log at `-vv`.

#[path = "../../tests/src/pki.rs"]
mod pki;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_ws_driver::ClientTls;
use mcp_ws_driver::async_tungstenite::tungstenite::Message;
use mcp_ws_driver::core::ProtocolVersion;
use mcp_ws_driver::dial::{Endpoint, SubprotocolMemory, dial};
use mcp_ws_driver::ws_config::websocket_config;
use mcp_ws_tokio::Tokio;
use pki::TestPki;

/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_mcp-ws");

const TOKEN: &str = "cli-T0ken-ab12";

/// A `mcp-ws` server process whose stderr goes to a file, killed when dropped.
struct Server {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)], log: &Path) -> Server {
        let stderr = std::fs::File::create(log).expect("log file");
        let mut child = Command::new(BINARY)
            .args(["-vv", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("MCP_WS_AUTH_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start mcp-ws serve");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL");
        Server { child, url: url.trim().to_string(), log: log.to_path_buf() }
    }

    fn port(&self) -> u16 {
        let rest = self.url.rsplit_once(':').expect("port").1;
        rest.trim_end_matches("/mcp").parse().expect("port number")
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("MCP_WS_AUTH_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run mcp-ws")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A raw upgrade request with `extra` header lines; returns the server's status line.
fn raw_status(port: u16, extra: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let request = format!(
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut out = vec![0u8; 1024];
    let n = stream.read(&mut out).unwrap_or(0);
    text(&out[..n]).lines().next().unwrap_or("").to_string()
}

#[test]
fn wss_with_a_token_serves_call_and_refuses_a_missing_token_with_a_clear_401() {
    let pki = TestPki::loopback();
    let files = pki.files();
    let (cert, key, ca) =
        (files.cert.to_str().unwrap(), files.key.to_str().unwrap(), files.ca.to_str().unwrap());
    let log = files.dir.join("serve.log");
    let server =
        Server::start(&["--tls-cert", cert, "--tls-key", key, "--auth-token", TOKEN], &[], &log);
    assert!(server.url.starts_with("wss://127.0.0.1:"), "{}", server.url);
    let url = server.url.clone();

    let ok = run(
        &["-vv", "call", &url, "add", r#"{"a":2,"b":3}"#, "--ca-cert", ca, "--auth-token", TOKEN],
        &[],
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim(), "5");
    assert!(!text(&ok.stderr).contains(TOKEN), "the client logged the token");

    // From the environment, as scripts keep it out of `ps`.
    let env = run(
        &["call", &url, "add", r#"{"a":1,"b":1}"#, "--ca-cert", ca],
        &[("MCP_WS_AUTH_TOKEN", TOKEN)],
    );
    assert_eq!(text(&env.stdout).trim(), "2", "{}", text(&env.stderr));

    let missing = run(&["call", &url, "add", r#"{"a":2,"b":3}"#, "--ca-cert", ca], &[]);
    assert!(!missing.status.success());
    let stderr = text(&missing.stderr);
    assert!(stderr.contains("HTTP 401 Unauthorized"), "{stderr}");
    assert!(stderr.contains("needs a bearer token"), "{stderr}");

    let wrong = run(&["tools", &url, "--ca-cert", ca, "--auth-token", "wrong-T0ken-zz"], &[]);
    assert!(text(&wrong.stderr).contains("the bearer token is wrong"), "{}", text(&wrong.stderr));

    // Without --ca-cert the private CA is unknown, and the error says so.
    let untrusted = run(&["tools", &url, "--auth-token", TOKEN], &[]);
    assert!(
        text(&untrusted.stderr).contains("unknown certificate authority"),
        "{}",
        text(&untrusted.stderr)
    );

    // --header sends the token as well.
    let header = format!("Authorization: Bearer {TOKEN}");
    let by_header = run(&["tools", &url, "--ca-cert", ca, "--header", &header], &[]);
    assert!(by_header.status.success(), "{}", text(&by_header.stderr));

    let logged = server.stop();
    assert!(logged.contains("DEBUG") || logged.contains("INFO"), "nothing logged at -vv: {logged}");
    assert!(!logged.contains(TOKEN), "the server logged the token:\n{logged}");
    assert!(!logged.contains("wrong-T0ken-zz"), "the server logged a presented token:\n{logged}");
}

#[test]
fn serve_stdio_checks_origin_host_and_token_and_speaks_wss() {
    let pki = TestPki::loopback();
    let files = pki.files();
    let (cert, key) = (files.cert.to_str().unwrap(), files.key.to_str().unwrap());
    let log = files.dir.join("stdio.log");

    // Plain, to read the raw statuses.
    let plain = Server::start(&["--stdio", "--", "cat"], &[("MCP_WS_AUTH_TOKEN", TOKEN)], &log);
    let port = plain.port();
    assert_eq!(raw_status(port, ""), "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        raw_status(
            port,
            &format!("Authorization: Bearer {TOKEN}\r\nOrigin: http://evil.example\r\n")
        ),
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(
        raw_status(
            port,
            &format!(
                "Sec-WebSocket-Protocol: mcp, mcp.auth.{TOKEN}\r\nOrigin: http://localhost:8000\r\n"
            )
        ),
        "HTTP/1.1 101 Switching Protocols"
    );
    let plain_get = {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /mcp HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    assert!(plain_get.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{plain_get}");
    let logged = plain.stop();
    assert!(!logged.contains(TOKEN), "the stdio server logged the token:\n{logged}");

    // Over TLS, through the driver's own client: a line goes to `cat` and comes back.
    let log = files.dir.join("stdio-tls.log");
    let tls = Server::start(
        &["--tls-cert", cert, "--tls-key", key, "--auth-token", TOKEN, "--stdio", "--", "cat"],
        &[],
        &log,
    );
    assert!(tls.url.starts_with("wss://"), "{}", tls.url);
    let url = tls.url.clone();
    let ca = pki.ca_pem.clone();
    let echoed =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(
            async move {
                let net = Tokio::new();
                let endpoint = Endpoint::parse(&url)
                    .unwrap()
                    .with_tls(&ClientTls::only_ca_pem(ca.as_bytes()).unwrap())
                    .with_headers(&[("Authorization".into(), format!("Bearer {TOKEN}"))])
                    .unwrap();
                let memory = SubprotocolMemory::default();
                let mut dialed = dial(
                    &net,
                    &endpoint,
                    ProtocolVersion::LATEST_LEGACY,
                    &memory,
                    websocket_config(1 << 20),
                    Duration::from_secs(10),
                )
                .await
                .expect("wss dial");
                assert_eq!(dialed.subprotocol.as_deref(), Some("mcp"));
                let line = r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
                dialed.ws.send(Message::text(line)).await.expect("send");
                let echo = async {
                    loop {
                        match dialed.ws.next().await.expect("frame").expect("ok") {
                            Message::Text(text) => return text.to_string(),
                            _ => continue,
                        }
                    }
                };
                tokio::time::timeout(Duration::from_secs(10), echo).await.expect("echo in time")
            },
        );
    assert_eq!(echoed, r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
    let logged = tls.stop();
    assert!(!logged.contains(TOKEN), "the stdio server logged the token:\n{logged}");
}

#[test]
fn connect_told_401_stops_reconnecting_and_says_why() {
    let pki = TestPki::loopback();
    let files = pki.files();
    let (cert, key, ca) =
        (files.cert.to_str().unwrap(), files.key.to_str().unwrap(), files.ca.to_str().unwrap());
    let log = files.dir.join("connect.log");
    let server =
        Server::start(&["--tls-cert", cert, "--tls-key", key, "--auth-token", TOKEN], &[], &log);
    let mut bridge = Command::new(BINARY)
        .args(["connect", &server.url, "--ca-cert", ca])
        .env_remove("MCP_WS_AUTH_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcp-ws connect");
    // Bounded wait: a bridge that kept reconnecting would still be running after 10 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = bridge.try_wait().expect("wait") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = bridge.kill();
    }
    let output = bridge.wait_with_output().expect("output");
    let stderr = text(&output.stderr);
    assert!(status.is_some_and(|s| !s.success()), "the bridge kept going: {stderr}");
    assert!(stderr.contains("HTTP 401 Unauthorized"), "{stderr}");
    assert!(stderr.contains("needs a bearer token"), "{stderr}");
    assert!(stderr.contains("giving up"), "{stderr}");
}

#[test]
fn certificate_problems_are_told_in_words_with_the_next_step() {
    let cases = [
        (TestPki::expired_loopback(), "it expired", "renew it"),
        (TestPki::ca_as_leaf(), "presents a CA certificate as its own", "leaf certificate"),
    ];
    for (pki, what, next_step) in cases {
        let files = pki.files();
        let (cert, key, ca) =
            (files.cert.to_str().unwrap(), files.key.to_str().unwrap(), files.ca.to_str().unwrap());
        let server = Server::start(
            &["--tls-cert", cert, "--tls-key", key],
            &[],
            &files.dir.join("serve.log"),
        );
        let refused = run(&["tools", &server.url, "--ca-cert", ca, "--timeout", "10"], &[]);
        assert!(!refused.status.success());
        let stderr = text(&refused.stderr);
        assert!(stderr.contains(what) && stderr.contains(next_step), "{stderr}");
        // No Rust Debug text: variant names, `Context {`, `Other(`.
        for debug in ["CaUsedAsEndEntity", "Context {", "Other(", "UnixTime"] {
            assert!(!stderr.contains(debug), "{debug} in {stderr}");
        }
        drop(server);
    }
}
