//! `mcp-ws serve` (both modes) under hostile load, on loopback, bounded in count and time:
//! a child printing an endless line, the connection and process caps (503 with Retry-After,
//! and a good client gets in once the flood ends), a child that stops reading, children left
//! behind by a shell, and a flood under a low file descriptor limit.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mcp_ws_driver::async_tungstenite::tokio::connect_async;
use mcp_ws_driver::async_tungstenite::tungstenite::{Error as WsError, Message};

/// A served process, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sh -c "<prefix> exec mcp-ws serve --listen 127.0.0.1:0 ARGS"` (the prefix can
/// lower limits with `ulimit`).
fn serve_with(prefix: &str, args: &[&str]) -> Served {
    let quoted: Vec<String> =
        args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    let script = format!(
        "{prefix} exec '{}' serve --listen 127.0.0.1:0 {}",
        support::BINARY,
        quoted.join(" ")
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL line");
    Served { child, url: url.trim().to_string() }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).expect("value").parse().expect("number")
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // The fields after the command name (in parentheses): state, ppid, pgrp, ...
        let after = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            children.push(child);
        }
    }
    children
}

/// The processes in process group `group`.
fn group_members(group: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let after = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.get(2).and_then(|p| p.parse::<u32>().ok()) == Some(group) {
            members.push(pid);
        }
    }
    members
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn close_code<S>(ws: &mut S) -> (u16, String)
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("in time") {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) => panic!("a close without a code"),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Connects and expects a 503 with Retry-After.
async fn expect_503(url: &str) {
    match connect_async(url).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            let retry = response.headers().get("retry-after").expect("Retry-After");
            assert!(retry.to_str().unwrap().parse::<u64>().unwrap() >= 1);
        }
        other => panic!("expected 503, got {:?}", other.map(|_| "an upgrade")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_printing_an_endless_line_gets_1009_and_the_relay_stays_small() {
    let served = serve_with(
        "",
        &[
            "--max-message-bytes",
            "65536",
            "--stdio",
            "--",
            "sh",
            "-c",
            "exec tr '\\0' x < /dev/zero",
        ],
    );
    let pid = served.child.id();
    let before = resident_kib(pid);
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, 1009, "{reason}");
    let after = resident_kib(pid);
    assert!(after < before + 32 * 1024, "the relay grew from {before} KiB to {after} KiB");
    // The child was stopped: none is left.
    wait_until("the child is gone", Duration::from_secs(5), || children_of(pid).is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stdio_process_cap_answers_503_and_a_good_client_gets_in_after_the_flood() {
    let served = serve_with("", &["--max-connections", "2", "--stdio", "--", "cat"]);
    let pid = served.child.id();
    let descriptors = || std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fds").count();
    let idle_descriptors = descriptors();
    let (first, _) = connect_async(served.url.as_str()).await.expect("first");
    let (mut second, _) = connect_async(served.url.as_str()).await.expect("second");
    for _ in 0..5 {
        expect_503(&served.url).await;
    }
    assert_eq!(children_of(pid).len(), 2, "one child per admitted connection, no more");
    drop(first);
    second.close(None).await.expect("close");
    wait_until("the children are gone", Duration::from_secs(5), || children_of(pid).is_empty())
        .await;
    // No descriptor is left behind by the connections, the refusals or the children's pipes.
    wait_until("the descriptors are back", Duration::from_secs(5), || {
        descriptors() == idle_descriptors
    })
    .await;
    let (mut good, _) = connect_async(served.url.as_str()).await.expect("in after the flood");
    good.send(Message::text(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)).await.expect("send");
    let echoed = tokio::time::timeout(Duration::from_secs(5), good.next()).await.expect("in time");
    assert!(matches!(echoed, Some(Ok(Message::Text(_)))), "{echoed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_of_the_demo_server_answers_503_with_retry_after() {
    let served = serve_with("", &["--max-connections", "3"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_async(served.url.as_str()).await.expect("under the cap").0);
    }
    expect_503(&served.url).await;
    held.clear();
    // The permits come back as the sessions end.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match connect_async(served.url.as_str()).await {
            Ok(_) => break,
            Err(_) if Instant::now() < end => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(error) => panic!("still refused after the others left: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_stops_reading_is_closed_with_1011_within_the_idle_timeout() {
    let served = serve_with("", &["--idle-timeout", "2", "--stdio", "--", "sleep", "60"]);
    let pid = served.child.id();
    let (mut ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    // Far more than a pipe holds; the child never reads any of it.
    let big =
        format!(r#"{{"jsonrpc":"2.0","method":"x","params":{{"p":"{}"}}}}"#, "a".repeat(60_000));
    let started = Instant::now();
    let sender = async {
        for _ in 0..64 {
            if ws.send(Message::text(big.clone())).await.is_err() {
                break;
            }
        }
        ws
    };
    let mut ws = sender.await;
    let (code, reason) = close_code(&mut ws).await;
    assert_eq!(code, 1011, "{reason}");
    assert!(reason.contains("input"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    wait_until("the child is gone", Duration::from_secs(8), || children_of(pid).is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_shell_started_is_stopped_with_its_group() {
    // The shell stays (two commands) and starts a grandchild that ignores stdin.
    let served =
        serve_with("", &["--kill-grace", "1", "--stdio", "--", "sh", "-c", "sleep 60 & cat; wait"]);
    let pid = served.child.id();
    let (ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    let mut shell = 0;
    wait_until("the shell runs", Duration::from_secs(5), || {
        shell = children_of(pid).first().copied().unwrap_or(0);
        shell != 0 && group_members(shell).len() >= 2
    })
    .await;
    drop(ws);
    wait_until("the whole group is gone", Duration::from_secs(8), || {
        group_members(shell).is_empty()
    })
    .await;
    // No zombie either: the relay reaped its child.
    assert!(children_of(pid).is_empty());
}

/// Raises this test process's descriptor limit to its hard limit (the flood needs ~1000).
fn raise_own_descriptor_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard.min(8192), hard).expect("setrlimit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_under_a_low_descriptor_limit_is_refused_cleanly_and_good_clients_get_in_after() {
    raise_own_descriptor_limit();
    // 160 descriptors: the cap the server derives leaves room, so it answers instead of
    // failing to accept.
    let served = serve_with("ulimit -n 160;", &["--handshake-timeout", "2"]);
    let addr = served.url.trim_start_matches("ws://").trim_end_matches("/mcp").to_string();
    let mut flood = Vec::new();
    for _ in 0..1000 {
        match tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(&addr))
            .await
        {
            Ok(Ok(stream)) => flood.push(stream),
            _ => break,
        }
    }
    assert!(flood.len() >= 500, "the flood could open only {} connections", flood.len());
    // During the flood a good client is refused quickly and cleanly (503 or a closed socket),
    // never left hanging.
    let started = Instant::now();
    let during =
        tokio::time::timeout(Duration::from_secs(5), connect_async(served.url.as_str())).await;
    assert!(during.is_ok(), "a good client hung during the flood");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(flood);
    // Afterwards it gets in.
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match connect_async(served.url.as_str()).await {
            Ok(_) => break,
            Err(_) if Instant::now() < end => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => panic!("still refused after the flood: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_child_answering_large_results_to_pipelined_requests_is_not_blocked_by_its_input() {
    // The child reads four requests, then answers each with ~200 KB (far more than a pipe
    // holds) before it reads on: while it writes, it reads nothing. A relay that waits on the
    // child's stdin and stops reading its stdout would deadlock with it until the write timeout
    // (the idle timeout, 3 s here) and close with 1011.
    let script = r#"$| = 1; my @ids;
        while (<STDIN>) {
            push @ids, $1 if /"id":(\d+)/;
            next if @ids < 4;
            print qq({"jsonrpc":"2.0","id":$_,"result":{"blob":"), "x" x 200000, qq("}}\n) for @ids;
            @ids = ();
        }"#;
    let served = serve_with(
        "",
        &["--ping-interval", "1", "--idle-timeout", "3", "--stdio", "--", "perl", "-e", script],
    );
    let (ws, _) = connect_async(served.url.as_str()).await.expect("connect");
    let (mut sink, mut stream) = ws.split();
    const REQUESTS: u64 = 64;
    // 64 requests of ~4 KiB: 256 KiB pipelined, four times what the child's stdin pipe holds.
    let padding = "p".repeat(4096);
    let sender = tokio::spawn(async move {
        for id in 0..REQUESTS {
            let request = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"pad":"{padding}"}}}}"#
            );
            sink.send(Message::text(request)).await.expect("send");
        }
        sink
    });
    let mut answered = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while (answered.len() as u64) < REQUESTS {
        let frame = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} answers in time", answered.len()));
        match frame {
            Some(Ok(Message::Text(text))) => {
                let answer: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                assert_eq!(answer["result"]["blob"].as_str().map(str::len), Some(200_000));
                answered.insert(answer["id"].as_u64().expect("an id"));
            }
            Some(Ok(Message::Close(frame))) => {
                panic!("closed after {} answers: {frame:?}", answered.len())
            }
            Some(Ok(_)) => {}
            other => panic!("after {} answers: {other:?}", answered.len()),
        }
    }
    assert_eq!(answered, (0..REQUESTS).collect());
    drop(sender.await.expect("sender"));
}
