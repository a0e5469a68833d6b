//! What `mcp-ws serve` logs reads as plain text: addresses and versions in their Display form
//! (not `Some(127.0.0.1:…)` or `V2026_07_28`); a scanner's 404, a plain GET's 426 and a
//! served `/healthz` are debug lines, not warnings or "handshake failed".

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_mcp-ws");

/// Sends one request head and reads the answer's status line.
fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn serve_logs_display_forms_and_keeps_scanners_at_debug() {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).expect("URL line");
    let url = url.trim().to_string();
    let addr = url.trim_start_matches("ws://").trim_end_matches("/mcp").to_string();

    assert!(get(&addr, "/wp-login.php").contains("404"));
    assert!(get(&addr, "/mcp").contains("426"));
    assert!(get(&addr, "/healthz").contains("200"));
    let call = Command::new(BINARY)
        .args(["call", &url, "add", r#"{"a": 2, "b": 3}"#])
        .output()
        .expect("run mcp-ws call");
    assert!(call.status.success(), "{}", String::from_utf8_lossy(&call.stderr));

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).expect("stderr until exit");
    let _ = child.wait();

    assert!(!logs.contains("Some("), "{logs}");
    assert!(!logs.contains("V2026_07_28") && !logs.contains("V2025_"), "{logs}");
    assert!(logs.contains("version=2026-07-28") || logs.contains("version=2025-"), "{logs}");
    assert!(logs.contains("peer=127.0.0.1:"), "{logs}");
    for line in logs.lines() {
        let scanner = line.contains("status=404") || line.contains("status=426");
        assert!(!(scanner && line.contains("WARN")), "a scanner's refusal as a warning: {line}");
        if line.contains("/healthz") {
            assert!(!line.contains("handshake failed"), "{line}");
        }
    }
    assert!(logs.contains("answered a plain GET"), "{logs}");
}
