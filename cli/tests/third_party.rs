//! The client commands against a server we did not write: the official Python SDK's FastMCP
//! over WebSocket (`tests/interop/py_server.py`, installed by `tests/interop/install.sh`),
//! which speaks the legacy era only, so every command also exercises the dual-era fallback.

#[allow(dead_code)] // Only the binary's path is used here.
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::BINARY;

/// The Python demo server, killed when dropped.
struct PyServer {
    child: Child,
    url: String,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interop() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop")
}

fn py_server() -> PyServer {
    let python = interop().join(".venv/bin/python");
    assert!(python.exists(), "the Python peer is not installed: run bash tests/interop/install.sh");
    let mut child = Command::new(python)
        .arg(interop().join("py_server.py"))
        .args(["--ws", "--port", "0", "--timeout", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start py_server.py");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = PyServer { child, url: String::new() };
    // Bounded: the SDK starts in a second or two; a busy machine gets generous time.
    let line = lines.recv_timeout(Duration::from_secs(60)).expect("the LISTENING line");
    server.url = line.strip_prefix("LISTENING ").expect("LISTENING ws://...").to_string();
    server
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run mcp-ws")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_client_commands_work_against_the_python_sdk_server() {
    let server = py_server();
    let url = server.url.as_str();

    let tools = run(&["tools", url]);
    assert!(tools.status.success(), "{}", text(&tools.stderr));
    let listing = text(&tools.stdout);
    assert!(
        listing
            .contains("add\tAdd two numbers\n    a: number (required)\n    b: number (required)\n"),
        "{listing}"
    );

    let sum = run(&["call", url, "add", r#"{"a": 2, "b": 3}"#]);
    assert!(sum.status.success(), "{}", text(&sum.stderr));
    assert_eq!(text(&sum.stdout), "5\n");
    // Checked against the schema the Python server lists, before sending.
    let missing = run(&["call", url, "add", r#"{"a": 2, "c": 3}"#]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("missing required argument \"b\""));

    let resources = run(&["resources", "list", url]);
    assert!(resources.status.success(), "{}", text(&resources.stderr));
    assert!(text(&resources.stdout).starts_with("demo://readme\treadme (text/plain)\t"));
    let read = run(&["resources", "read", url, "demo://readme"]);
    assert!(read.status.success(), "{}", text(&read.stderr));
    assert_eq!(text(&read.stdout), "This is the mcp-ws demo server.\n");
    let templates = run(&["resources", "templates", url, "--json"]);
    assert!(templates.status.success(), "{}", text(&templates.stderr));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&templates.stdout).unwrap(),
        serde_json::json!([])
    );

    let prompts = run(&["prompts", "list", url]);
    assert!(prompts.status.success(), "{}", text(&prompts.stderr));
    assert!(text(&prompts.stdout).contains("greet\tGreet someone\n    name: string (required)"));
    let greet = run(&["prompts", "get", url, "greet", "name=Ada"]);
    assert!(greet.status.success(), "{}", text(&greet.stderr));
    assert_eq!(text(&greet.stdout), "[user] Say hello to Ada.\n");

    let ping = run(&["ping", url]);
    assert!(ping.status.success(), "{}", text(&ping.stderr));
    assert!(text(&ping.stdout).contains("answered ping in "), "{}", text(&ping.stdout));

    // The Python demo offers no completion: the error is the server's, and the exit 1.
    let complete = run(&["complete", url, "--prompt", "greet", "name", "A"]);
    assert_eq!(complete.status.code(), Some(1), "{}", text(&complete.stdout));
    assert!(text(&complete.stderr).contains("completion/complete failed"));
}
