//! `mcp-ws serve --max-http-sessions N --http-session-idle SECS`: the legacy Streamable HTTP
//! session cap answers an `initialize` over it 503, and an idle session is ended (freeing its
//! place) without another request, over raw HTTP on loopback.

#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// POSTs an `initialize` to the served endpoint; the status.
fn initialize(url: &str) -> u16 {
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
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line")
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
