//! The official SDK clients against `mcp-ws serve --tls-cert --tls-key --auth-token` over
//! wss:// with a CA made at run time: the Python client (trusting the CA through
//! `SSL_CERT_FILE`, the token in `Authorization`) and the TypeScript client (trusting it through
//! `NODE_EXTRA_CA_CERTS`, the token as a `mcp.auth.<token>` subprotocol as browsers send it),
//! each with the token (the demo contract works) and without it (refused with 401). Then the
//! TypeScript client in headless Chromium (`tests/interop/browser_client.mjs`), with the token
//! in the subprotocol: from a loopback origin (in), without the token (401), from another
//! origin (403), from an origin on the allowlist (in). The peers and Chromium are installed by
//! `tests/interop/install.sh`; the binary is the one `cargo test --workspace` builds.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use mcp_ws_tests::peers::{interop_dir, mcp_ws, node_client, python};
use mcp_ws_tests::pki::{PkiFiles, TestPki};
use serde_json::{Value, json};

const TOKEN: &str = "interop-T0ken-42";

/// `mcp-ws serve` over wss with the token, killed when dropped.
struct Served {
    child: Child,
    url: String,
    files: PkiFiles,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_wss() -> Served {
    let files = TestPki::loopback().files();
    let mut child = Command::new(mcp_ws())
        .args(["serve", "--listen", "127.0.0.1:0", "--auth-token", TOKEN])
        .arg("--tls-cert")
        .arg(&files.cert)
        .arg("--tls-key")
        .arg(&files.key)
        .env_remove("MCP_WS_AUTH_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL line");
    let url = url.trim().to_string();
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
    // The certificate names 127.0.0.1 and localhost; use the name, as SNI needs one.
    Served { child, url: url.replace("127.0.0.1", "localhost"), files }
}

/// Runs a client script (bounded by its own --timeout) and parses its one JSON report.
fn report(command: &mut Command) -> (bool, Value) {
    let output = command
        .args(["--timeout", "20"])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout was {stdout:?}"));
    (output.status.success() && report["ok"] == true, report)
}

fn assert_contract(report: &Value) {
    assert_eq!(report["server_name"], "mcp-ws-demo", "{report}");
    assert_eq!(
        report["results"],
        json!({"add": "5", "subtract": "-1", "multiply": "10", "divide": "0.25"})
    );
    assert_eq!(report["echo"], "héllo ✓");
    assert_eq!(report["ping"], true);
}

fn python_client(served: &Served) -> Command {
    let mut command = Command::new(python());
    command
        .arg(interop_dir().join("py_client.py"))
        .arg(&served.url)
        .env("SSL_CERT_FILE", &served.files.ca);
    command
}

fn ts_client(served: &Served) -> Command {
    let mut command = Command::new("node");
    command.arg(node_client()).arg(&served.url).env("NODE_EXTRA_CA_CERTS", &served.files.ca);
    command
}

#[test]
fn the_python_sdk_client_uses_wss_with_a_bearer_token_and_is_refused_without() {
    let served = serve_wss();
    let (ok, with) = report(python_client(&served).args(["--token", TOKEN]));
    assert!(ok, "the Python client failed with the token: {with}");
    assert_contract(&with);
    let (ok, without) = report(&mut python_client(&served));
    assert!(!ok, "the Python client got in without the token: {without}");
    assert!(without["error"].as_str().unwrap_or("").contains("401"), "{without}");
}

#[test]
fn the_typescript_sdk_client_uses_wss_with_a_subprotocol_token_and_is_refused_without() {
    let served = serve_wss();
    let (ok, with) = report(ts_client(&served).args(["--token", TOKEN]));
    assert!(ok, "the TypeScript client failed with the token: {with}");
    assert_contract(&with);
    let (ok, without) = report(&mut ts_client(&served));
    assert!(!ok, "the TypeScript client got in without the token: {without}");
    assert!(without["error"].as_str().unwrap_or("").contains("401"), "{without}");
}

/// `mcp-ws serve --auth-token TOKEN EXTRA...` on plain ws:// (loopback), killed when dropped.
fn serve_plain(extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(mcp_ws())
        .args(["serve", "--listen", "127.0.0.1:0", "--auth-token", TOKEN])
        .args(extra)
        .env_remove("MCP_WS_AUTH_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL line");
    (child, url.trim().to_string())
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The TypeScript SDK client in headless Chromium, on a page from `origin`.
fn browser(url: &str, origin: &str, token: Option<&str>) -> (bool, Value) {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "chromium is missing: run bash tests/interop/install.sh"
    );
    let mut command = Command::new("node");
    command.arg(interop_dir().join("browser_client.mjs")).arg(url).args(["--origin", origin]);
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    report(&mut command)
}

#[test]
fn chromium_from_a_loopback_origin_gets_in_with_a_subprotocol_token_and_not_without() {
    let (child, url) = serve_plain(&[]);
    let _server = Killed(child);
    let (ok, with) = browser(&url, "http://localhost:5173", Some(TOKEN));
    assert!(ok, "the browser client failed: {with}");
    assert_eq!(
        (with["add"].as_str(), with["server_name"].as_str()),
        (Some("5"), Some("mcp-ws-demo"))
    );
    let (ok, without) = browser(&url, "http://localhost:5173", None);
    assert!(!ok, "the browser got in without the token: {without}");
    // Chromium's words for a 401 to a WebSocket handshake.
    assert!(
        without["socket_errors"].to_string().contains("HTTP Authentication failed"),
        "{without}"
    );
}

#[test]
fn chromium_from_another_origin_is_refused_with_403_even_with_the_token() {
    let (child, url) = serve_plain(&[]);
    let _server = Killed(child);
    let (ok, evil) = browser(&url, "http://evil.example", Some(TOKEN));
    assert!(!ok, "a page on another origin got in: {evil}");
    assert_eq!(evil["origin"], "http://evil.example");
    assert!(evil["socket_errors"].to_string().contains("Unexpected response code: 403"), "{evil}");
}

#[test]
fn chromium_from_an_allowed_origin_gets_in() {
    let (child, url) = serve_plain(&["--allow-origin", "https://app.example.com"]);
    let _server = Killed(child);
    let (ok, allowed) = browser(&url, "https://app.example.com", Some(TOKEN));
    assert!(ok, "the allowed origin was refused: {allowed}");
    assert_eq!(allowed["add"], "5");
}
