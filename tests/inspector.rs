//! The browser inspector in a real browser: `tests/interop/inspector.mjs` drives Debian's
//! Chromium (through playwright-core, nothing downloaded) against
//! - `mcp-ws serve --inspector` (the page at `/` of the demo server, same origin), and
//! - `mcp-ws inspect URL` relaying to the Python SDK's WebSocket server
//!   (`tests/interop/py_server.py`),
//!
//! and reports what the page showed: it connected by itself and listed the tools, the form
//! generated for `add` gave 5, `divide` by zero showed `isError`, `slow_count`'s progress bar
//! moved and Cancel stopped it (`notifications/cancelled` sent, no progress after), `demo://readme`
//! read, a `roots/list` from the server (legacy era) was answered from the page, the log holds
//! the frames (with latencies; filter and search work), a server restart showed `reconnecting`
//! and then `ready` again, the page fits a narrow window, and there were no console errors
//! (Chromium's own reports of refused reconnection attempts while the server is down
//! excepted) and no page errors. Against our server also: in the default era (2026-07-28) the
//! `input_required` rounds of `confirm` and `list_roots` were answered from the Input requests
//! tab and retried to their final result, a resource followed through `subscriptions/listen`
//! and then (legacy) `resources/subscribe` showed `touch`'s update in the Notifications tab, and
//! a call was run again and edited from the History tab. A third test serves the page from a
//! server on the test router with a completing prompt: suggestions appear as one types, one
//! round asks for roots, sampling and elicitation at once, two rounds follow each other, and an
//! abandoned round sends no retry. Screenshots go to `target/inspector-shots/<test>/` (not
//! committed). Every process (servers, relay, Node, Chromium) is stopped when a test ends.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_ws_driver::Router;
use mcp_ws_driver::core::mcp::common::Role;
use mcp_ws_driver::core::mcp::{
    CompleteResult, Completion, ContentBlock, GetPromptResult, Prompt, PromptArgument,
    PromptMessage,
};
use mcp_ws_driver::core::session::Role as SessionRole;
use mcp_ws_tests::peers::{self, interop_dir, lines_of, mcp_ws, python};
use mcp_ws_tests::{Rt, TestServer, server_config};
use mcp_ws_tokio::Tokio;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

fn shots_dir(test: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let target = exe.ancestors().nth(3).expect("target dir");
    target.join("inspector-shots").join(test)
}

/// A child process killed when dropped, its stdout read line by line.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    fn spawn(command: &mut Command) -> Process {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let lines = lines_of(child.stdout.take().expect("stdout"));
        Process { child, lines }
    }

    fn line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mcp-ws serve --inspector` at `listen`; returns it and its port.
fn serve_inspector(listen: &str) -> (Process, u16) {
    let process =
        Process::spawn(Command::new(mcp_ws()).args(["serve", "--inspector", "--listen", listen]));
    let url = process.line(LIMIT).expect("the URL line");
    let port = url
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {url:?}"));
    (process, port)
}

/// The Python SDK's WebSocket server on `port` (0: a free one); returns it and its URL.
fn python_server(port: u16) -> (Process, String) {
    let process =
        Process::spawn(Command::new(python()).arg(interop_dir().join("py_server.py")).args([
            "--ws",
            "--port",
            &port.to_string(),
            "--timeout",
            "180",
        ]));
    let line = process.line(LIMIT).expect("the LISTENING line");
    let url = line.strip_prefix("LISTENING ").expect("LISTENING line").to_string();
    (process, url)
}

/// Runs the page script on `page_url`; `restart` is called (with `false` = stop the server,
/// `true` = start it again) when the script asks. Returns the script's report.
fn drive(page_url: &str, test: &str, restart: impl FnMut(bool)) -> Value {
    drive_scenario(page_url, test, "demo", restart)
}

/// Runs the page script's `scenario` (`demo`: the demo contract with a server restart;
/// `extras`: completion and the input rounds of the test router's tools) on `page_url`.
fn drive_scenario(
    page_url: &str,
    test: &str,
    scenario: &str,
    mut restart: impl FnMut(bool),
) -> Value {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "chromium is missing: run bash tests/interop/install.sh"
    );
    assert!(
        interop_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run bash tests/interop/install.sh"
    );
    let shots = shots_dir(test);
    let mut script = Process::spawn(
        Command::new("node")
            .arg(interop_dir().join("inspector.mjs"))
            .arg(page_url)
            .arg("--shots")
            .arg(&shots)
            .args(["--scenario", scenario, "--restart", "--timeout", "150"]),
    );
    loop {
        let Some(line) = script.line(Duration::from_secs(170)) else {
            panic!("the page script ended without a report");
        };
        match line.as_str() {
            "KILL" => {
                restart(false);
                script.send_line("killed");
            }
            "START" => {
                restart(true);
                script.send_line("started");
            }
            report => {
                let report: Value = serde_json::from_str(report)
                    .unwrap_or_else(|e| panic!("not a report ({e}): {report:?}"));
                eprintln!("inspector report: {report}");
                eprintln!("screenshots in {}", shots.display());
                return report;
            }
        }
    }
}

/// What the page must have shown against any server with the demo contract.
fn assert_page_worked(report: &Value) {
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["tools"], json!(peers::DEMO_TOOLS));
    assert_eq!(report["subprotocol"], "mcp");
    assert_eq!((&report["add_outcome"], &report["add"]), (&json!("ok"), &json!("5")));
    assert_eq!(report["divide_outcome"], "tool-error");
    assert_eq!(report["divide_error_shown"], true);
    let seen = report["progress_seen"].as_array().expect("progress");
    assert!(seen[1].as_f64() > seen[0].as_f64(), "the bar did not move: {report}");
    assert_eq!(report["progress_bar"]["max"], 20.0);
    assert_eq!(report["slow_count_outcome"], "cancelled");
    assert_eq!(report["cancel_sent"], true);
    let after = report["progress_after_cancel"].as_array().expect("after cancel");
    assert_eq!(after[0], after[1], "progress went on after the cancel: {report}");
    assert_eq!(report["readme"], "This is the mcp-ws demo server.");
    assert_eq!(report["legacy_version"], "2025-11-25");
    assert_eq!(report["requests_tab_selected"], "true");
    assert_eq!(report["list_roots_outcome"], "ok");
    assert_eq!(report["list_roots"], "file:///inspector-root\nfile:///second-root");
    for (what, seen) in report["log_has"].as_object().expect("log_has") {
        assert_eq!(seen, &json!(true), "the log lacks {what}: {report}");
    }
    assert_eq!(report["filtered_kinds"], json!(["notification"]));
    // The Notifications tab shows the update `touch` caused (legacy era).
    assert_eq!(report["legacy_update"]["summary"], "demo://readme", "{report}");
    // History: the first `add` run again from its entry, and its arguments back in the form.
    assert_eq!(
        (&report["history_rerun_outcome"], &report["history_rerun"]),
        (&json!("ok"), &json!("5")),
        "{report}"
    );
    assert_eq!(report["history_grew"], true, "{report}");
    assert_eq!(report["history_edit"], json!({"a": 2, "b": 3}), "{report}");
    assert!(report["search_rows"].as_u64() >= Some(2), "{report}");
    assert_eq!(report["expanded_json"], true);
    assert!(
        report["reconnecting_text"].as_str().unwrap_or("").contains("next attempt in"),
        "{report}"
    );
    assert_eq!(report["close_logged"], true);
    assert_eq!(report["add_after_restart"], "42");
    assert_eq!(report["narrow_overflow"], false);
    assert_eq!(report["console_errors"], json!([]));
    assert_eq!(report["page_errors"], json!([]));
}

#[test]
fn the_inspector_served_by_mcp_ws_serve_drives_the_demo_server() {
    let (server, port) = serve_inspector("127.0.0.1:0");
    let mut server = Some(server);
    let page = format!("http://127.0.0.1:{port}/");
    let report = drive(&page, "serve", |start| {
        if start {
            server = Some(serve_inspector(&format!("127.0.0.1:{port}")).0);
        } else {
            drop(server.take());
        }
    });
    assert_page_worked(&report);
    // Auto probes server/discover first: our server speaks 2026-07-28.
    assert_eq!(
        (&report["first_era"], &report["first_version"]),
        (&json!("modern"), &json!("2026-07-28"))
    );
    assert_eq!(report["server"], format!("mcp-ws-demo {}", env!("CARGO_PKG_VERSION")));
    // The default era's input_required rounds: answered from the page, retried, final result.
    assert_eq!(report["modern_round_tab_selected"], "true", "{report}");
    assert_eq!(report["modern_elicit_message"], "Proceed?", "{report}");
    assert_eq!(
        (&report["modern_confirm_outcome"], &report["modern_confirm"]),
        (&json!("ok"), &json!("confirmed: Proceed?")),
        "{report}"
    );
    assert_eq!(report["modern_confirm_rounds"], 1, "{report}");
    assert!(
        report["modern_confirm_round_shown"].as_str().unwrap_or("").contains("elicitation/create"),
        "{report}"
    );
    assert_eq!(
        (&report["modern_list_roots_outcome"], &report["modern_list_roots"]),
        (&json!("ok"), &json!("file:///modern-root\nfile:///other-root")),
        "{report}"
    );
    assert_eq!(report["modern_retry_sent"], true, "{report}");
    // 2026-07-28 subscriptions: the URI joins the page's subscriptions/listen, and the update
    // arrives under that listen's id.
    assert_eq!(report["modern_subscribed"], true, "{report}");
    assert_eq!(report["modern_listen_sent"], true, "{report}");
    assert_eq!(report["modern_update"]["summary"], "demo://readme", "{report}");
    assert!(
        report["modern_update"]["head"].as_str().unwrap_or("").contains("listen #"),
        "{report}"
    );
    // After switching to the legacy era the subscription is made again with resources/subscribe.
    assert_eq!(report["legacy_subscription_restored"], true, "{report}");
    assert_eq!(
        (&report["legacy_subscribed"], &report["legacy_subscribe_sent"]),
        (&json!(true), &json!(true))
    );
    // The server went away without a close frame (killed).
    assert_eq!(report["close_shown"], "1006");
}

#[test]
fn mcp_ws_inspect_relays_the_page_to_the_python_sdk_server() {
    let (python, target) = python_server(0);
    let target_port: u16 = target
        .strip_prefix("ws://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .and_then(|port| port.parse().ok())
        .expect("python port");
    let mut python = Some(python);
    let relay = Process::spawn(Command::new(mcp_ws()).args([
        "inspect",
        &target,
        "--listen",
        "127.0.0.1:0",
    ]));
    let page = relay.line(LIMIT).expect("the page URL line");
    // The relay's per-run secret rides in the fragment, which the page reads and offers.
    assert!(page.starts_with("http://127.0.0.1:") && page.contains("/#relay="), "{page}");
    let report = drive(&page, "inspect-python", |start| {
        if start {
            python = Some(python_server(target_port).0);
        } else {
            drop(python.take());
        }
    });
    assert_page_worked(&report);
    // The Python SDK has no server/discover: auto fell back to initialize.
    assert_eq!(
        (&report["first_era"], &report["first_version"]),
        (&json!("legacy"), &json!("2025-11-25"))
    );
    assert!(report["server"].as_str().unwrap_or("").starts_with("py-demo"), "{report}");
    // FastMCP declares no resource subscriptions: no Subscribe button (its touch tells the
    // calling session anyway, which the shared checks saw in the Notifications tab).
    assert_eq!(report["legacy_subscribed"], false, "{report}");
    // The relay turned the lost target connection into 1014 (bad gateway) with its reason.
    assert!(report["close_shown"].as_str().unwrap_or("").starts_with("1014"), "{report}");
    drop(relay);
}

/// What the `pick_fruit` prompt's completion offers.
const FRUITS: [&str; 6] = ["apple", "apricot", "banana", "blackberry", "blueberry", "cherry"];

/// The test router plus a prompt whose argument the server completes.
fn with_completions(router: Router) -> Router {
    let prompt = Prompt {
        name: "pick_fruit".to_string(),
        description: Some("Asks for a fruit (the server completes its name).".to_string()),
        arguments: Some(vec![PromptArgument {
            name: "fruit".to_string(),
            required: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    router
        .prompt_def(prompt, |arguments, _context| async move {
            let fruit = arguments.get("fruit").cloned().unwrap_or_default();
            Ok(GetPromptResult {
                messages: vec![PromptMessage {
                    role: Role::User,
                    content: ContentBlock::text(format!("Tell me about the {fruit}.")),
                    extra: Default::default(),
                }],
                ..Default::default()
            })
        })
        // Replaces the demo's own completion (greet's name, the echo template's text).
        .completion(|params, _context| async move {
            let typed = params.argument.value.to_lowercase();
            let values: Vec<String> = FRUITS
                .iter()
                .filter(|fruit| fruit.starts_with(&typed))
                .map(|fruit| fruit.to_string())
                .collect();
            let total = Some(values.len() as u64);
            Ok(CompleteResult {
                completion: Completion { values, total, ..Default::default() },
                ..Default::default()
            })
        })
}

#[test]
fn the_inspector_completes_prompt_arguments_and_answers_every_kind_of_input_round() {
    // The page at `/` of a server on the test router (demo tools plus `ask_all`, which asks for
    // roots, a sampling and an elicitation in one round, and `ask_twice`, which asks in two).
    let mut config = server_config();
    config.plain_http = Some(mcp_ws_cli::inspect::direct_page("/mcp"));
    let mut capabilities = with_completions(mcp_ws_cli::demo::router(Tokio::new())).capabilities();
    capabilities.completions = Some(Default::default());
    config.session.role = SessionRole::Server { capabilities, instructions: None };
    let addr = "127.0.0.1:0".parse().expect("address");
    let server = TestServer::start_with(Rt::Tokio, config, addr, with_completions, None);
    let page = format!("http://{}/", server.addr);
    let report = drive_scenario(&page, "extras", "extras", |_| unreachable!("no restart"));
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["first_era"], "modern", "{report}");
    // Completion: the server's suggestions for what was typed, and the one picked is used.
    assert_eq!(report["suggestions_b"], json!(["banana", "blackberry", "blueberry"]), "{report}");
    assert_eq!(report["suggestions_bl"], json!(["blackberry", "blueberry"]), "{report}");
    assert_eq!(report["picked"], "blueberry", "{report}");
    assert_eq!(report["prompt_text"], "Tell me about the blueberry.", "{report}");
    // One round asking for three things at once, each answered in its own card.
    assert_eq!(
        report["ask_all_cards"],
        json!(["elicitation/create", "roots/list", "sampling/createMessage"]),
        "{report}"
    );
    assert_eq!(report["ask_all_sampling_prompt"], "2+2?", "{report}");
    assert_eq!(
        (&report["ask_all_outcome"], &report["ask_all"]),
        (&json!("ok"), &json!("2 model-at-the-page \"Ada\"")),
        "{report}"
    );
    assert_eq!(report["ask_all_rounds"], 1, "{report}");
    // Two rounds, the second asking what the first answer made it ask.
    assert_eq!(report["ask_twice_second_message"], "Confirm Ada?", "{report}");
    assert_eq!(
        (&report["ask_twice_outcome"], &report["ask_twice"]),
        (&json!("ok"), &json!("Ada: accept")),
        "{report}"
    );
    assert_eq!(report["ask_twice_rounds"], 2, "{report}");
    // Abandoning a round ends the call without a retry.
    assert_eq!(report["abandoned_outcome"], "abandoned", "{report}");
    assert_eq!(report["abandoned_retries"], 0, "{report}");
    assert_eq!(report["console_errors"], json!([]));
    assert_eq!(report["page_errors"], json!([]));
    server.shutdown();
}

/// One raw HTTP/1.1 request to `port` on loopback; returns the whole answer as text.
fn http(port: u16, head: &str) -> String {
    String::from_utf8_lossy(&http_bytes(port, head)).into_owned()
}

/// One raw HTTP/1.1 request to `port` on loopback; returns the whole answer.
fn http_bytes(port: u16, head: &str) -> Vec<u8> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mcp\r\n";

#[test]
fn inspect_serves_the_page_to_loopback_only_keeps_its_token_and_checks_the_relays_origin() {
    const TOKEN: &str = "inspect-T0ken-99";
    // Nothing listens at the target: the page and the checks do not need it.
    let relay = Process::spawn(
        Command::new(mcp_ws())
            .args(["inspect", "ws://127.0.0.1:9/mcp", "--listen", "127.0.0.1:0"])
            .args(["--auth-token", TOKEN, "--header", "X-Extra: 1"])
            .env_remove("MCP_WS_AUTH_TOKEN"),
    );
    let page = relay.line(LIMIT).expect("the page URL line");
    let (port, secret) = page
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once("/#relay="))
        .and_then(|(port, secret)| Some((port.parse::<u16>().ok()?, secret.to_string())))
        .unwrap_or_else(|| panic!("{page}"));
    let get = |path: &str, extra: &str| {
        http(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n"))
    };
    let index = get("/", "");
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("Content-Security-Policy: default-src 'none'"), "{index}");
    let config = get("/config.json", "");
    assert!(
        config.ends_with(r#"{"endpoint":"/relay","mode":"relay","target":"ws://127.0.0.1:9/mcp"}"#),
        "{config}"
    );
    for path in ["/", "/app.js", "/app.css", "/config.json"] {
        assert!(!get(path, "").contains(TOKEN), "{path} carries the token");
    }
    // DNS rebinding: another Host gets 403, not the page.
    let rebound = http(port, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
    // Only the page's own origin may open the relay.
    let foreign = get("/relay", &format!("{UPGRADE}Origin: http://localhost:5173\r\n"));
    assert!(foreign.starts_with("HTTP/1.1 403"), "{foreign}");
    // ... and only with this run's secret (`cli/tests/inspect_relay.rs` has every refusal).
    let no_secret = get("/relay", &format!("{UPGRADE}Origin: http://127.0.0.1:{port}\r\n"));
    assert!(no_secret.starts_with("HTTP/1.1 401"), "{no_secret}");
    let own = http_bytes(
        port,
        &format!(
            "GET /relay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{UPGRADE}Origin: http://127.0.0.1:{port}\r\n\
             Sec-WebSocket-Protocol: mcp.auth.{secret}\r\n\r\n"
        ),
    );
    let text = String::from_utf8_lossy(&own);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    // The target is down: the relay closes the page's socket with 1014 and the dial error.
    let head_end = own.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let close = own[head_end..].to_vec();
    assert!(close.len() > 4 && close[0] == 0x88, "no close frame: {close:?}");
    assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1014);
    assert!(!String::from_utf8_lossy(&close).contains(TOKEN));
    // Another path is still a 404, a plain GET of the relay a 426.
    assert!(get("/nothing", "").starts_with("HTTP/1.1 404"));
    assert!(get("/relay", "").starts_with("HTTP/1.1 426"));
    // It refuses to listen off loopback.
    let status = Command::new(mcp_ws())
        .args(["inspect", "ws://127.0.0.1:9/mcp", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(!status.success());
}
