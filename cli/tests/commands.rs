//! The `mcp-ws` binary as scripts use it: `serve` prints its URL, `tools` and `call` print
//! results and set the exit status. (Building these tests also builds the binary that the
//! interop suite in `tests/` drives.)

mod support;

use std::process::{Command, Output};

use support::{BINARY, Served};

fn serve() -> Served {
    support::serve(&[])
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run mcp-ws")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn serve_prints_the_url_it_listens_on() {
    let served = serve();
    assert!(
        served.url.starts_with("ws://127.0.0.1:") && served.url.ends_with("/mcp"),
        "{}",
        served.url
    );
}

#[test]
fn tools_lists_the_demo_tools_as_text_and_as_json() {
    let served = serve();
    let text = run(&["tools", &served.url]);
    assert!(text.status.success());
    // One line per tool, then its arguments indented.
    let names: Vec<String> = stdout(&text)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        names,
        [
            "add",
            "subtract",
            "multiply",
            "divide",
            "echo",
            "slow_count",
            "list_roots",
            "confirm",
            "touch",
            "ping_client"
        ]
    );
    let json = run(&["tools", "--json", &served.url]);
    let tools: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(tools[0]["name"], "add");
    assert_eq!(tools[0]["inputSchema"]["required"], serde_json::json!(["a", "b"]));
}

#[test]
fn call_prints_the_result_and_exits_non_zero_on_any_error() {
    let served = serve();
    let sum = run(&["call", &served.url, "add", r#"{"a": 2, "b": 3}"#]);
    assert!(sum.status.success());
    assert_eq!(stdout(&sum), "5\n");

    let by_zero = run(&["call", &served.url, "divide", r#"{"a": 1, "b": 0}"#]);
    assert_eq!(by_zero.status.code(), Some(1), "a tool error is a failure");
    assert!(String::from_utf8_lossy(&by_zero.stderr).contains("division by zero"));

    let json = run(&["call", "--json", &served.url, "echo", r#"{"text": "hi"}"#]);
    let result: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(result["content"][0]["text"], "hi");

    let unknown = run(&["call", &served.url, "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("lists no tool named nope"));
    let unchecked = run(&["call", "--no-check", &served.url, "nope"]);
    assert_eq!(unchecked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unchecked.stderr).contains("-32602"));

    let bad_json = run(&["call", &served.url, "add", "{not json"]);
    assert_eq!(bad_json.status.code(), Some(1));
}

#[test]
fn a_server_that_is_not_there_is_a_failure_with_a_message() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("a").port();
    let output = run(&["tools", &format!("ws://127.0.0.1:{port}/mcp")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("connection failed"));
}

#[test]
fn serve_refuses_contradictory_stdio_flags() {
    let without_command = run(&["serve", "--stdio"]);
    assert_eq!(without_command.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&without_command.stderr).contains("--stdio needs"));
    let without_flag = run(&["serve", "--", "cat"]);
    assert_eq!(without_flag.status.code(), Some(1));
}

#[test]
fn serve_refuses_upstream_with_stdio_or_demo_only_flags() {
    for extra in [
        &["--stdio", "--", "cat"][..],
        &["--page-size", "5"],
        &["--redis", "redis://127.0.0.1:1/"],
        &["--state-key", "0123456789abcdef0123"],
    ] {
        let mut args = vec!["serve", "--upstream", "ws://127.0.0.1:1/mcp"];
        args.extend_from_slice(extra);
        let refused = run(&args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("--upstream") && stderr.contains("cannot be used with"),
            "{extra:?}: {stderr}"
        );
    }
    let command = run(&["serve", "--upstream", "ws://127.0.0.1:1/mcp", "--", "cat"]);
    assert_eq!(command.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&command.stderr).contains("takes no command"));
    let bad_url = run(&["serve", "--upstream", "ftp://127.0.0.1/mcp"]);
    assert_eq!(bad_url.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_url.stderr).contains("--upstream ftp://"));
    let header_alone = run(&["serve", "--upstream-header", "X-Key: 1"]);
    assert_eq!(header_alone.status.code(), Some(2));
}

#[test]
fn serve_upstream_is_a_gateway_reached_over_websocket_and_http() {
    let upstream = serve();
    let gateway = support::serve(&["--upstream", &upstream.url]);
    assert!(gateway.url.starts_with("ws://127.0.0.1:"), "{}", gateway.url);
    let http = gateway.url.replacen("ws://", "http://", 1);
    for url in [gateway.url.as_str(), http.as_str()] {
        let call = run(&["call", url, "add", r#"{"a": 20, "b": 22}"#]);
        let stderr = String::from_utf8_lossy(&call.stderr);
        assert!(call.status.success(), "{url}: {stderr}");
        assert_eq!(stdout(&call).trim(), "42", "{url}");
    }
}
