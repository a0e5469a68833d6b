//! What a user of `mcp-ws call`, `tools`, `serve` and `connect` hits: arguments from stdin or a
//! file, roots for servers that ask, progress and server logs on stderr, host names and paths
//! checked, a total `--timeout`, and `connect` ending when its input does.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::BINARY;

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run mcp-ws")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn call_reads_a_large_argument_from_a_file_and_from_stdin() {
    let served = support::serve(&[]);
    let big = "x".repeat(200_000);
    let arguments = serde_json::json!({ "text": big }).to_string();
    let dir = std::env::temp_dir().join(format!("mcp-ws-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("args.json");
    std::fs::write(&file, &arguments).unwrap();
    let from_file = run(&["call", &served.url, "echo", &format!("@{}", file.display())]);
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    assert_eq!(text(&from_file.stdout).trim_end().len(), 200_000);

    let mut child = Command::new(BINARY)
        .args(["call", &served.url, "echo", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(arguments.as_bytes()).unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
    assert_eq!(text(&from_stdin.stdout).trim_end().len(), 200_000);
    let _ = std::fs::remove_dir_all(dir);
}

/// The protocol versions of the two eras.
const ERAS: [&str; 2] = ["2025-11-25", "2026-07-28"];

#[test]
fn call_answers_roots_list_with_the_roots_given_in_both_eras() {
    let served = support::serve(&[]);
    for version in ERAS {
        // The command line of the issue, as written.
        let one = run(&[
            "call",
            "--protocol-version",
            version,
            &served.url,
            "list_roots",
            "--root",
            "file:///srv/project",
        ]);
        assert!(one.status.success(), "{version}: {}", text(&one.stderr));
        assert_eq!(text(&one.stdout).trim(), "file:///srv/project", "{version}");
        let two = run(&[
            "call",
            &served.url,
            "list_roots",
            "--protocol-version",
            version,
            "--root",
            "file:///srv/project",
            "--root",
            "file:///srv/other",
        ]);
        assert!(two.status.success(), "{version}: {}", text(&two.stderr));
        assert_eq!(text(&two.stdout).trim(), "file:///srv/project\nfile:///srv/other");
    }
}

#[test]
fn call_answers_the_confirm_elicitation_with_elicit_in_both_eras() {
    let served = support::serve(&[]);
    let question = r#"{"question": "Deploy?"}"#;
    for version in ERAS {
        let call = |elicit: &[&str]| {
            let mut args = vec!["call", "--protocol-version", version, &served.url, "confirm"];
            args.push(question);
            args.extend_from_slice(elicit);
            run(&args)
        };
        for (elicit, expected) in [
            (r#"accept:{"confirm":true}"#, "confirmed: Deploy?"),
            (r#"accept:{"confirm":false}"#, "not confirmed: Deploy?"),
            ("decline", "declined: Deploy?"),
            ("cancel", "cancelled: Deploy?"),
        ] {
            let output = call(&["--elicit", elicit]);
            assert!(output.status.success(), "{version} {elicit}: {}", text(&output.stderr));
            assert_eq!(text(&output.stdout).trim(), expected, "{version} {elicit}");
        }
        // Without --elicit the client cannot answer: the call fails and says why.
        let unanswered = call(&[]);
        assert_eq!(unanswered.status.code(), Some(1), "{version}");
        assert!(text(&unanswered.stderr).contains("elicitation/create"), "{version}");
    }
    let bad = run(&["call", &served.url, "confirm", question, "--elicit", "maybe"]);
    assert_eq!(bad.status.code(), Some(2), "a malformed --elicit is a usage error");
}

#[test]
fn ping_client_works_in_the_legacy_era_and_says_why_not_in_2026_07_28() {
    let served = support::serve(&[]);
    let legacy = run(&["call", "--protocol-version", ERAS[0], &served.url, "ping_client"]);
    assert!(legacy.status.success(), "{}", text(&legacy.stderr));
    assert_eq!(text(&legacy.stdout).trim(), "pong");
    let modern = run(&["call", "--protocol-version", ERAS[1], &served.url, "ping_client"]);
    assert_eq!(modern.status.code(), Some(1));
    assert!(text(&modern.stderr).contains("only in the legacy era"), "{}", text(&modern.stderr));
}

#[test]
fn serve_refuses_a_state_key_too_short_to_be_a_secret() {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--state-key", "short"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mcp-ws serve");
    // Bounded: a server that started anyway is killed (and the test fails).
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status.expect("serve must refuse a short --state-key and exit");
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("--state-key"), "{stderr}");
}

#[test]
fn call_shows_progress_on_stderr() {
    let served = support::serve(&[]);
    let output = run(&["call", &served.url, "slow_count", r#"{"steps": 3, "interval_ms": 20}"#]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "counted to 3");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("progress: 1/3 step 1"), "{stderr}");
    assert!(stderr.contains("progress: 3/3 step 3"), "{stderr}");
}

#[test]
fn call_timeout_is_the_whole_wait() {
    // A call that is answered too late, and a server that never answers the upgrade at all:
    // both end at --timeout, not at a connect timeout or a close handshake after it.
    let served = support::serve(&[]);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("ws://{}/mcp", silent.local_addr().unwrap());
    for (url, tool, arguments) in [
        (served.url.as_str(), "slow_count", r#"{"steps": 100, "interval_ms": 1000}"#),
        (silent_url.as_str(), "add", r#"{"a": 1, "b": 2}"#),
    ] {
        let started = Instant::now();
        let output = run(&["call", url, tool, arguments, "--timeout", "2"]);
        let took = started.elapsed();
        assert!(!output.status.success());
        assert!(took >= Duration::from_secs(2), "{took:?}");
        assert!(took < Duration::from_millis(3_500), "--timeout 2 took {took:?} against {url}");
    }
}

#[test]
fn serve_resolves_a_host_name_and_refuses_a_path_without_a_slash() {
    let served = support::serve_at("localhost:0", &[]);
    assert!(served.url.starts_with("ws://127.0.0.1:"), "{}", served.url);
    let refused = run(&["serve", "--path", "mcp"]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("must start with '/'"), "{}", text(&refused.stderr));
}

#[test]
fn connect_exits_when_its_input_closes_and_nothing_is_owed() {
    let served = support::serve(&[]);
    let started = Instant::now();
    let output = Command::new(BINARY)
        .args(["connect", &served.url])
        .stdin(Stdio::null())
        .output()
        .expect("run connect");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

/// The tool names `mcp-ws tools --json EXTRA...` lists from `url`.
fn listed_tools(url: &str, extra: &[&str]) -> Vec<String> {
    let output = run(&[&["tools", url, "--json", "--timeout", "10"], extra].concat());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let tools: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect("JSON");
    tools.iter().map(|t| t["name"].as_str().expect("a name").to_string()).collect()
}

#[test]
fn tools_lists_every_tool_through_pages_of_two_in_both_eras() {
    let whole = support::serve(&[]);
    let paged = support::serve(&["--page-size", "2"]);
    let everything = listed_tools(&whole.url, &[]);
    assert!(everything.len() > 4, "the demo must need several pages of two: {everything:?}");
    for era in [&["--protocol-version", "2025-11-25"][..], &["--protocol-version", "2026-07-28"]] {
        assert_eq!(listed_tools(&paged.url, era), everything, "{era:?}");
    }
    assert_eq!(listed_tools(&paged.url, &[]), everything, "dual-era default");
}

#[test]
fn serve_refuses_a_page_size_of_zero_or_beyond_the_maximum() {
    for size in ["0", "10001", "many"] {
        let refused = run(&["serve", "--listen", "127.0.0.1:0", "--page-size", size]);
        assert!(!refused.status.success(), "--page-size {size} was accepted");
        let stderr = text(&refused.stderr);
        assert!(stderr.contains("page size must be a whole number from 1 to 10000"), "{stderr}");
    }
}
