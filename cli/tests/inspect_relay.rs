//! `mcp-ws inspect`'s relay against hostile and broken peers, without a browser (the page in
//! Chromium is `tests/inspector.rs`):
//!
//! - only its own page gets in: an upgrade without `Origin`, with another origin, without the
//!   run's secret (`mcp.auth.<secret>`, from the `#relay=` fragment of the printed URL) or with
//!   a wrong one is refused before the target is dialled;
//! - a page frame over the limit closes the page's socket with 1009, and the page's close frame
//!   is answered (not a dropped TCP connection, which browsers report as 1006);
//! - keepalive on both legs: pings to the page and the target, a silent page or target closed
//!   after the idle timeout (with short configured durations);
//! - the relay is the gateway, so a Streamable HTTP target (`http://`) is reached too.

mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mcp_ws_driver::async_tungstenite::tungstenite;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use support::BINARY;

/// How long anything that should happen may take on a busy machine.
const LIMIT: Duration = Duration::from_secs(20);

/// A running `mcp-ws inspect`, killed when dropped.
struct Inspect {
    child: Child,
    /// The relay's address.
    addr: SocketAddr,
    /// The secret from the printed URL's fragment.
    secret: String,
    /// The whole printed URL.
    printed: String,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Inspect {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Inspect {
    fn start(target: &str, extra: &[&str]) -> Inspect {
        let mut child = Command::new(BINARY)
            .args(["inspect", target, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mcp-ws inspect");
        let mut printed = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut printed)
            .expect("the URL line");
        let printed = printed.trim().to_string();
        let (lines, stderr) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let rest = printed.strip_prefix("http://").unwrap_or_else(|| panic!("{printed:?}"));
        let (authority, fragment) = rest.split_once("/#relay=").unwrap_or((rest, ""));
        let addr = authority.trim_end_matches('/').parse().expect("the relay's address");
        Inspect { child, addr, secret: fragment.to_string(), printed, stderr }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stderr lines so far (the process is stopped first, so that all of them are in).
    fn stop_and_read_stderr(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        lines
    }

    /// A WebSocket to the relay as the page opens it: its origin, `mcp` and the secret offered.
    fn page(&self) -> WebSocket<TcpStream> {
        self.page_with(&self.origin(), &format!("mcp, mcp.auth.{}", self.secret))
    }

    fn page_with(&self, origin: &str, protocols: &str) -> WebSocket<TcpStream> {
        let mut request =
            format!("ws://{}/relay", self.addr).into_client_request().expect("request");
        request.headers_mut().insert("Origin", HeaderValue::from_str(origin).unwrap());
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(protocols).unwrap());
        let stream = TcpStream::connect(self.addr).expect("connect to the relay");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let config = WebSocketConfig::default().max_message_size(None).max_frame_size(None);
        let (ws, response) = tungstenite::client::client_with_config(request, stream, Some(config))
            .expect("the relay upgrades the page");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap()),
            Some("mcp")
        );
        ws
    }

    /// The status the relay answers a raw upgrade with these extra headers.
    fn upgrade_status(&self, extra: &[(&str, &str)]) -> u16 {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the relay");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut head = format!(
            "GET /relay HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
            self.addr
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send the request");
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) => panic!("reading the answer: {e}"),
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
    }
}

/// Reads until a close frame arrives and returns its code and reason; panics on anything else
/// ending the connection (a dropped TCP connection, a timeout). Pings are counted.
fn read_until_close(ws: &mut WebSocket<TcpStream>) -> (u16, String, usize) {
    let mut pings = 0;
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                return (u16::from(frame.code), frame.reason.to_string(), pings);
            }
            Ok(Message::Close(None)) => return (1005, String::new(), pings),
            Ok(Message::Ping(_)) => pings += 1,
            Ok(_) => {}
            Err(e) => panic!("the connection ended without a close frame: {e}"),
        }
    }
}

#[test]
fn the_printed_url_carries_a_per_run_secret_in_its_fragment_and_the_log_does_not() {
    let target = support::serve(&[]);
    let mut first = Inspect::start(&target.url, &[]);
    let second = Inspect::start(&target.url, &[]);
    assert!(first.printed.contains("/#relay="), "{}", first.printed);
    assert!(first.secret.len() >= 32, "a short secret: {:?}", first.secret);
    assert!(
        first.secret.bytes().all(|b| b.is_ascii_alphanumeric()),
        "the secret must be a valid subprotocol token: {:?}",
        first.secret
    );
    assert_ne!(first.secret, second.secret, "the secret is not per run");
    // A refused attempt and a relayed session: the log names neither the secret.
    assert_eq!(first.upgrade_status(&[("Origin", &first.origin())]), 401);
    let mut page = first.page();
    page.close(None).expect("close");
    let _ = read_until_close(&mut page);
    let secret = first.secret.clone();
    let log = first.stop_and_read_stderr();
    assert!(!log.is_empty(), "no log at debug level");
    assert!(!log.iter().any(|line| line.contains(&secret)), "the secret was logged: {log:?}");
}

#[test]
fn the_relay_refuses_upgrades_without_origin_or_from_another_origin() {
    let target = support::serve(&[]);
    let inspect = Inspect::start(&target.url, &[]);
    let offer = format!("mcp, mcp.auth.{}", inspect.secret);
    // A local process: the secret is not even enough without the page's Origin.
    assert_eq!(inspect.upgrade_status(&[("Sec-WebSocket-Protocol", &offer)]), 403);
    assert_eq!(
        inspect.upgrade_status(&[
            ("Origin", "http://evil.example"),
            ("Sec-WebSocket-Protocol", &offer)
        ]),
        403
    );
    let other_port = format!("http://127.0.0.1:{}", inspect.addr.port() + 1);
    assert_eq!(
        inspect.upgrade_status(&[("Origin", &other_port), ("Sec-WebSocket-Protocol", &offer)]),
        403
    );
    // The page itself gets in.
    assert_eq!(
        inspect
            .upgrade_status(&[("Origin", &inspect.origin()), ("Sec-WebSocket-Protocol", &offer)]),
        101
    );
}

#[test]
fn the_relay_refuses_the_pages_origin_without_the_secret_or_with_a_wrong_one() {
    let target = support::serve(&[]);
    let inspect = Inspect::start(&target.url, &[]);
    let origin = inspect.origin();
    assert_eq!(
        inspect.upgrade_status(&[("Origin", &origin), ("Sec-WebSocket-Protocol", "mcp")]),
        401
    );
    assert_eq!(inspect.upgrade_status(&[("Origin", &origin)]), 401);
    let wrong = format!("mcp, mcp.auth.{}x", inspect.secret);
    assert_eq!(
        inspect.upgrade_status(&[("Origin", &origin), ("Sec-WebSocket-Protocol", &wrong)]),
        401
    );
    let mut flipped = inspect.secret.clone().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let flipped = format!("mcp, mcp.auth.{}", String::from_utf8(flipped).unwrap());
    assert_eq!(
        inspect.upgrade_status(&[("Origin", &origin), ("Sec-WebSocket-Protocol", &flipped)]),
        401
    );
    // Under the other loopback name of the page's origin, with the secret: in.
    let localhost = format!("http://localhost:{}", inspect.addr.port());
    let offer = format!("mcp, mcp.auth.{}", inspect.secret);
    assert_eq!(
        inspect.upgrade_status(&[("Origin", &localhost), ("Sec-WebSocket-Protocol", &offer)]),
        101
    );
}

#[test]
fn a_page_frame_over_the_limit_closes_the_page_with_1009() {
    let target = support::serve(&[]);
    let inspect = Inspect::start(&target.url, &["--max-message-bytes", "4096"]);
    let mut page = inspect.page();
    // Within the limit: relayed both ways.
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#;
    page.send(Message::text(ping)).expect("send");
    match page.read().expect("an answer through the relay") {
        Message::Text(text) => assert!(text.contains(r#""id":1"#), "{text}"),
        other => panic!("not a text frame: {other:?}"),
    }
    let big =
        format!(r#"{{"jsonrpc":"2.0","method":"x","params":{{"pad":"{}"}}}}"#, "a".repeat(8192));
    page.send(Message::text(big)).expect("send the big frame");
    let (code, reason, _) = read_until_close(&mut page);
    assert_eq!(code, 1009, "{reason}");
}

#[test]
fn the_relay_reaches_a_streamable_http_target_too() {
    // The relay is the gateway: an http:// target is opened with the Streamable HTTP client.
    let target = support::serve(&[]);
    let http = target.url.replacen("ws://", "http://", 1);
    let inspect = Inspect::start(&http, &[]);
    let mut page = inspect.page();
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"page","version":"1"}}}"#;
    page.send(Message::text(initialize)).expect("send");
    match page.read().expect("an answer through the relay") {
        Message::Text(text) => {
            assert!(text.contains(r#""id":1"#) && text.contains("serverInfo"), "{text}")
        }
        other => panic!("not a text frame: {other:?}"),
    }
    page.close(None).expect("close");
    let _ = read_until_close(&mut page);
}

#[test]
fn the_relay_answers_the_pages_close_frame() {
    let target = support::serve(&[]);
    let inspect = Inspect::start(&target.url, &[]);
    let mut page = inspect.page();
    page.close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    }))
    .expect("send the close");
    // The relay's answer: a close frame, then the end of the stream (not a reset).
    let (code, _, _) = read_until_close(&mut page);
    assert_eq!(code, 1000);
    match page.read() {
        Err(tungstenite::Error::ConnectionClosed) => {}
        other => panic!("after the close handshake: {other:?}"),
    }
}

/// A scripted target: accepts one WebSocket (selecting `mcp`), tells the test, and then either
/// reads (answering pings; each ping reported) or never reads again.
fn scripted_target(reads: bool) -> (String, mpsc::Receiver<&'static str>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().unwrap());
    let (events, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        // The callback's type is tungstenite's (its error is an HTTP response).
        #[allow(clippy::result_large_err)]
        let select = |_: &Request, mut response: Response| {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mcp"));
            Ok(response)
        };
        let Ok(mut ws) = tungstenite::accept_hdr(stream, select) else { return };
        let _ = events.send("open");
        if !reads {
            std::thread::sleep(Duration::from_secs(60));
            drop(ws);
            return;
        }
        loop {
            match ws.read() {
                Ok(Message::Ping(_)) => {
                    let _ = events.send("ping");
                }
                Ok(Message::Close(_)) => {
                    let _ = events.send("close");
                    let _ = ws.flush();
                    return;
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return,
            }
        }
    });
    (url, seen)
}

#[test]
fn the_relay_pings_both_legs_and_keeps_a_live_session_open() {
    let (target, seen) = scripted_target(true);
    let inspect = Inspect::start(&target, &["--ping-interval", "1", "--idle-timeout", "3"]);
    let mut page = inspect.page();
    assert_eq!(seen.recv_timeout(LIMIT), Ok("open"));
    // The page reads (so it answers pings) for well past the idle timeout: it is pinged and
    // stays open.
    page.get_mut().set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let started = Instant::now();
    let mut page_pings = 0;
    while started.elapsed() < Duration::from_secs(6) {
        match page.read() {
            Ok(Message::Ping(_)) => page_pings += 1,
            Ok(Message::Close(frame)) => panic!("a live page was closed: {frame:?}"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("the page's connection ended: {e}"),
        }
    }
    assert!(page_pings >= 2, "the page was pinged {page_pings} times in 6 s");
    let target_pings = seen.try_iter().filter(|e| *e == "ping").count();
    assert!(target_pings >= 2, "the target was pinged {target_pings} times in 6 s");
}

#[test]
fn a_silent_page_is_closed_after_the_idle_timeout() {
    let (target, seen) = scripted_target(true);
    let inspect = Inspect::start(&target, &["--ping-interval", "1", "--idle-timeout", "2"]);
    let mut page = inspect.page();
    assert_eq!(seen.recv_timeout(LIMIT), Ok("open"));
    // The page reads nothing (so answers no ping) for longer than the idle timeout.
    std::thread::sleep(Duration::from_secs(4));
    let (code, reason, pings) = read_until_close(&mut page);
    assert_eq!(code, 1001, "{reason}");
    assert!(pings >= 1, "closed without a ping first");
    // The target's leg was closed too.
    let deadline = Instant::now() + LIMIT;
    let mut closed = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match seen.recv_timeout(left) {
            Ok("close") => {
                closed = true;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(closed, "the target's leg was left open");
}

#[test]
fn a_silent_target_closes_the_page_with_1014_after_the_idle_timeout() {
    let (target, seen) = scripted_target(false);
    let inspect = Inspect::start(&target, &["--ping-interval", "1", "--idle-timeout", "2"]);
    let mut page = inspect.page();
    assert_eq!(seen.recv_timeout(LIMIT), Ok("open"));
    let started = Instant::now();
    // tungstenite refuses to receive 1014 (browsers take it): read the frames raw.
    let (code, reason) = raw_close(page.get_mut());
    assert_eq!(code, 1014, "{reason}");
    assert!(started.elapsed() >= Duration::from_millis(1500), "closed too early: {reason}");
}

/// Reads unmasked server frames straight off the socket, answering pings, until a close frame;
/// returns its code and reason (panics if the connection ends first). Only for sockets nothing
/// was read from since the upgrade.
fn raw_close(stream: &mut TcpStream) -> (u16, String) {
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).expect("a frame header before the end");
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                stream.read_exact(&mut ext).unwrap();
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                stream.read_exact(&mut ext).unwrap();
                u64::from_be_bytes(ext)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        stream.read_exact(&mut payload).unwrap();
        if head[0] & 0x0f == 0x9 {
            // A ping: answer it (masked, as a client must; a zero key leaves the payload).
            let mut pong = vec![0x8a, 0x80 | u8::try_from(payload.len()).unwrap(), 0, 0, 0, 0];
            pong.extend_from_slice(&payload);
            stream.write_all(&pong).expect("answer the ping");
        }
        if head[0] & 0x0f == 0x8 {
            assert!(payload.len() >= 2, "a close frame without a code");
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
        }
    }
}
