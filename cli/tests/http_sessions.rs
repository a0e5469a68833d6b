//! `mcp-ws serve --max-http-sessions N --http-session-idle SECS`: the legacy Streamable HTTP
//! session cap answers an `initialize` over it 503, and an idle session is ended (freeing its
//! place) without another request, over raw HTTP on loopback. `--node-id NAME` puts the node's
//! name in front of every session id it mints, and a name that is not a short token is refused.

#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// POSTs an `initialize` to the served endpoint; the status.
fn initialize(url: &str) -> u16 {
    let answer = initialize_answer(url);
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line")
}

/// POSTs an `initialize` to the served endpoint; the whole answer.
fn initialize_answer(url: &str) -> String {
    let authority = url.trim_start_matches("ws://").split('/').next().expect("host:port");
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn node_id_names_the_node_in_every_session_id() {
    let served = support::serve(&["--node-id", "node-b_2"]);
    for _ in 0..2 {
        let answer = initialize_answer(&served.url);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let id = answer
            .lines()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("mcp-session-id:")
                    .map(|v| v.trim().to_string())
            })
            .expect("an Mcp-Session-Id header");
        let (node, random) = id.split_once('.').expect("NODE.RANDOM");
        assert_eq!(node, "node-b_2");
        assert_eq!(random.len(), 32, "{id}");
    }
}

#[test]
fn a_node_id_that_is_not_a_short_token_is_refused() {
    for bad in ["a.b", "", "node one", &"n".repeat(33)] {
        let output = std::process::Command::new(support::BINARY)
            .args(["serve", "--listen", "127.0.0.1:0", "--node-id", bad])
            .output()
            .expect("run mcp-ws serve");
        assert!(!output.status.success(), "--node-id {bad:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--node-id"), "{bad:?}: {stderr}");
    }
}

#[test]
fn the_http_session_cap_and_idle_expiry_come_from_the_flags() {
    let served = support::serve(&["--max-http-sessions", "1", "--http-session-idle", "1"]);
    assert_eq!(initialize(&served.url), 200);
    assert_eq!(initialize(&served.url), 503, "a second session is over the cap of 1");
    // The first one is ended once idle for a second, and its place is free again.
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        match initialize(&served.url) {
            200 => break,
            503 if Instant::now() < end => std::thread::sleep(Duration::from_millis(100)),
            status => panic!("the idle session still holds the only place: {status}"),
        }
    }
}
