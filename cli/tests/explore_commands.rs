//! The client commands beyond `call`, against the demo server (`mcp-ws serve`) in both eras:
//! `tools` with argument names, types and required marks; `call` refusing misspelled
//! arguments (on the client against the listed schema, and on the server with `--no-check`);
//! `resources list|read|templates`; `prompts list|get`; `complete`; `watch`; `ping`. And the
//! errors that name the next step: no server listening, a bad `--protocol-version`, 401, a
//! server request only a flag answers, and a watch that loses its server.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::BINARY;

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run mcp-ws")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A legacy version before 2025-11-25, 2025-11-25 and 2026-07-28.
const VERSIONS: [&str; 3] = ["2025-06-18", "2025-11-25", "2026-07-28"];

/// The protocol versions of the two eras.
const ERAS: [&str; 2] = ["2025-11-25", "2026-07-28"];

#[test]
fn tools_shows_each_argument_with_its_type_and_required_mark() {
    let served = support::serve(&[]);
    let output = run(&["tools", &served.url]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("add\tAdds b to a.\n    a: number (required)\n    b: number (required)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    interval_ms: integer (default 500)\n    steps: integer (default 5)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("list_roots\t"), "{stdout}");
    assert!(stdout.contains("    (no arguments)\n"), "{stdout}");
}

#[test]
fn a_misspelled_argument_is_refused_by_the_client_and_by_the_server() {
    let served = support::serve(&[]);
    // The command of the issue: refused before sending, saying what the tool takes.
    let checked = run(&["call", &served.url, "slow_count", r#"{"n":3}"#]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked.stdout));
    let stderr = text(&checked.stderr);
    assert!(stderr.contains("unknown argument \"n\""), "{stderr}");
    assert!(stderr.contains("interval_ms: integer (default 500), steps: integer (default 5)"));
    assert!(stderr.contains("--no-check"), "{stderr}");
    // Sent anyway, the server refuses it too, in every version, naming the field.
    for version in VERSIONS {
        let started = Instant::now();
        let sent = run(&[
            "call",
            "--no-check",
            "--protocol-version",
            version,
            &served.url,
            "slow_count",
            r#"{"n":3}"#,
        ]);
        assert_eq!(sent.status.code(), Some(1), "{version}: {}", text(&sent.stdout));
        let stderr = text(&sent.stderr);
        assert!(stderr.contains("unknown argument \"n\""), "{version}: {stderr}");
        // Before 2025-11-25 a JSON-RPC error, from it on a tool execution error.
        let rpc = stderr.contains("error -32602");
        assert_eq!(rpc, version == "2025-06-18", "{version}: {stderr}");
        // It did not count (5 steps of 500 ms by default).
        assert!(started.elapsed() < Duration::from_millis(2_000), "{version}: it ran");
    }
    // A wrong type and a missing field are named as well.
    let wrong = run(&["call", &served.url, "add", r#"{"a":"two"}"#]);
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = text(&wrong.stderr);
    assert!(stderr.contains("argument \"a\": expected number, got \"two\""), "{stderr}");
    assert!(stderr.contains("missing required argument \"b\""), "{stderr}");
    // A tool the server does not list is refused with the names it does list.
    let unknown = run(&["call", &served.url, "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        text(&unknown.stderr).contains("its tools: add, subtract"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn resources_lists_reads_and_lists_templates_in_both_eras() {
    let served = support::serve(&[]);
    for version in ERAS {
        let with = |args: &[&str]| {
            let mut all = vec!["resources", args[0], "--protocol-version", version, &served.url];
            all.extend_from_slice(&args[1..]);
            run(&all)
        };
        let list = with(&["list"]);
        assert!(list.status.success(), "{version}: {}", text(&list.stderr));
        assert_eq!(
            text(&list.stdout),
            "demo://readme\treadme (text/plain)\tWhat this server is.\n",
            "{version}"
        );
        let read = with(&["read", "demo://readme"]);
        assert!(read.status.success(), "{version}: {}", text(&read.stderr));
        assert_eq!(text(&read.stdout), "This is the mcp-ws demo server.\n", "{version}");
        let templated = with(&["read", "demo://echo/bonjour", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&templated.stdout).expect("JSON");
        assert_eq!(json["contents"][0]["text"], "bonjour", "{version}");
        let templates = with(&["templates"]);
        assert!(templates.status.success(), "{version}: {}", text(&templates.stderr));
        assert!(text(&templates.stdout).starts_with("demo://echo/{text}\techo (text/plain)\t"));
        let missing = with(&["read", "demo://nothing"]);
        assert_eq!(missing.status.code(), Some(1), "{version}");
        // -32002 in the legacy era, -32602 (SEP-2164) in 2026-07-28.
        let code = if version == ERAS[1] { "-32602" } else { "-32002" };
        assert!(text(&missing.stderr).contains(code), "{version}: {}", text(&missing.stderr));
    }
}

#[test]
fn prompts_lists_and_gets_with_arguments_in_both_eras() {
    let served = support::serve(&[]);
    for version in ERAS {
        let list = run(&["prompts", "list", "--protocol-version", version, &served.url]);
        assert!(list.status.success(), "{version}: {}", text(&list.stderr));
        assert_eq!(
            text(&list.stdout),
            "greet\tAsks the model to greet someone.\n    name: string (required)  Who to greet.\n"
        );
        let get = run(&[
            "prompts",
            "get",
            "--protocol-version",
            version,
            &served.url,
            "greet",
            "name=Ada",
        ]);
        assert!(get.status.success(), "{version}: {}", text(&get.stderr));
        assert_eq!(text(&get.stdout), "[user] Say hello to Ada.\n", "{version}");
        let missing = run(&["prompts", "get", "--protocol-version", version, &served.url, "greet"]);
        assert_eq!(missing.status.code(), Some(1), "{version}");
        assert!(text(&missing.stderr).contains("missing arguments: name"), "{version}");
    }
    let malformed = run(&["prompts", "get", &served.url, "greet", "name"]);
    assert_eq!(malformed.status.code(), Some(2), "NAME=VALUE is a usage error");
}

#[test]
fn complete_suggests_prompt_arguments_and_template_variables() {
    let served = support::serve(&[]);
    for version in ERAS {
        let names = run(&[
            "complete",
            "--protocol-version",
            version,
            &served.url,
            "--prompt",
            "greet",
            "name",
            "a",
        ]);
        assert!(names.status.success(), "{version}: {}", text(&names.stderr));
        assert_eq!(text(&names.stdout), "Ada\nAlan\n", "{version}");
        let words = run(&[
            "complete",
            "--json",
            &served.url,
            "--resource",
            "demo://echo/{text}",
            "text",
            "h",
        ]);
        let json: serde_json::Value = serde_json::from_slice(&words.stdout).expect("JSON");
        assert_eq!(json["completion"]["values"], serde_json::json!(["hello", "hola"]));
    }
    let neither = run(&["complete", &served.url, "name"]);
    assert_eq!(neither.status.code(), Some(2), "--prompt or --resource is required");
    let unknown = run(&["complete", &served.url, "--prompt", "nope", "x"]);
    assert_eq!(unknown.status.code(), Some(1));
}

#[test]
fn ping_answers_in_both_eras() {
    let served = support::serve(&[]);
    for (version, method) in [(ERAS[0], "ping"), (ERAS[1], "server/discover")] {
        let ping = run(&["ping", "--protocol-version", version, &served.url]);
        assert!(ping.status.success(), "{version}: {}", text(&ping.stderr));
        let stdout = text(&ping.stdout);
        assert!(stdout.contains(&format!("answered {method} in ")), "{version}: {stdout}");
        assert!(stdout.contains(&format!("(protocol {version})")), "{version}: {stdout}");
    }
}

/// A started `watch`, its stderr lines read on a thread.
struct Watching {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watch(args: &[&str]) -> Watching {
    let mut child = Command::new(BINARY)
        .arg("watch")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mcp-ws watch");
    let (sender, stderr) = mpsc::channel();
    let pipe = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Watching { child, stderr }
}

impl Watching {
    /// Waits (at most `within`) for a stderr line containing `needle`; the lines up to it.
    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut seen = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if line.contains(needle) {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no {needle:?} on stderr within {within:?}; got:\n{seen}");
    }

    /// Waits (at most `within`) for the process to exit; its status and stdout.
    fn finish(mut self, within: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "watch did not end within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut stdout).unwrap();
        (status.code(), stdout)
    }
}

#[test]
fn watch_prints_resource_updates_in_both_eras_until_its_count() {
    let served = support::serve(&[]);
    for version in ERAS {
        let watching = watch(&[
            "--protocol-version",
            version,
            &served.url,
            "demo://readme",
            "--count",
            "2",
            "--timeout",
            "30",
        ]);
        watching.wait_for("watching demo://readme", Duration::from_secs(20));
        // Another resource's update is not printed, and does not count.
        for uri in ["demo://other", "demo://readme", "demo://readme"] {
            let touch = run(&["call", &served.url, "touch", &format!(r#"{{"uri":"{uri}"}}"#)]);
            assert!(touch.status.success(), "{}", text(&touch.stderr));
        }
        let (code, stdout) = watching.finish(Duration::from_secs(20));
        assert_eq!(code, Some(0), "{version}");
        assert_eq!(
            stdout, "resources/updated demo://readme\nresources/updated demo://readme\n",
            "{version}"
        );
    }
}

#[test]
fn watch_says_it_was_reconnecting_when_its_timeout_comes_first() {
    let served = support::serve(&[]);
    let watching = watch(&[&served.url, "demo://readme", "--count", "1", "--timeout", "4"]);
    watching.wait_for("watching", Duration::from_secs(20));
    drop(served);
    watching.wait_for("connection lost", Duration::from_secs(10));
    let said = watching.wait_for("was still reconnecting", Duration::from_secs(10));
    assert!(said.contains("watch: 0 of 1 updates within 4 s"), "{said}");
    let (code, stdout) = watching.finish(Duration::from_secs(10));
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
}

#[test]
fn errors_say_what_to_do_next() {
    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}/mcp");
    for command in [&["tools", url.as_str()][..], &["resources", "list", url.as_str()][..]] {
        let refused = run(command);
        assert_eq!(refused.status.code(), Some(1));
        let stderr = text(&refused.stderr);
        assert!(stderr.contains(&format!("no server is listening at {url}")), "{stderr}");
    }
    // A version this build does not speak: the valid ones are listed.
    let bad = run(&["tools", "--protocol-version", "2025-01-01", &url]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = text(&bad.stderr);
    assert!(
        stderr
            .contains("valid versions: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28"),
        "{stderr}"
    );
    // 401: the flag and the variable that carry the token.
    let guarded = support::serve(&["--auth-token", "sesame-sesame-sesame"]);
    let unauthorized = Command::new(BINARY)
        .args(["tools", &guarded.url])
        .env_remove("MCP_WS_AUTH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(unauthorized.status.code(), Some(1));
    let stderr = text(&unauthorized.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(stderr.contains("--auth-token TOKEN (or set MCP_WS_AUTH_TOKEN)"), "{stderr}");
    let wrong = run(&["tools", &guarded.url, "--auth-token", "not-it"]);
    assert!(text(&wrong.stderr).contains("was not accepted"), "{}", text(&wrong.stderr));
}

#[test]
fn a_server_request_without_its_flag_names_the_flag_in_both_eras() {
    let served = support::serve(&[]);
    for version in ERAS {
        let confirm = run(&[
            "call",
            "--protocol-version",
            version,
            &served.url,
            "confirm",
            r#"{"question": "Deploy?"}"#,
        ]);
        assert_eq!(confirm.status.code(), Some(1), "{version}");
        let stderr = text(&confirm.stderr);
        assert!(
            stderr.contains("--elicit accept[:JSON], decline or cancel"),
            "{version}: {stderr}"
        );
        assert!(!stderr.contains("elicit-"), "{version}: an internal key leaked: {stderr}");
        let roots = run(&["call", "--protocol-version", version, &served.url, "list_roots"]);
        assert_eq!(roots.status.code(), Some(1), "{version}");
        let stderr = text(&roots.stderr);
        assert!(stderr.contains("--root URI"), "{version}: {stderr}");
    }
}
