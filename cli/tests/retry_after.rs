//! `mcp-ws call` and `tools` against a busy server: a `503` with `Retry-After` is waited out
//! (within `--timeout`) and the upgrade tried again; giving up says how long it waited and
//! what the server last answered. The busy server is scripted: the first connections get a
//! 503, later ones are piped to a real `mcp-ws serve`.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::BINARY;

/// A front that answers the first `busy` connections `503` with `Retry-After: <retry_after>`
/// and pipes the others to `backend` (an address). Returns its URL and the count of 503s sent.
fn busy_front(busy: usize, retry_after: &str, backend: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/mcp", listener.local_addr().unwrap());
    let refused = Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    let retry_after = retry_after.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { return };
            if counter.load(Ordering::SeqCst) < busy {
                // Read the request head, then refuse it.
                let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {retry_after}\r\n\
                     Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n"
                );
                let _ = client.write_all(answer.as_bytes());
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Write);
                continue;
            }
            let Ok(server) = TcpStream::connect(&backend) else { return };
            for (mut from, mut to) in
                [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
            {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    (url, refused)
}

fn backend_of(url: &str) -> String {
    url.strip_prefix("ws://").and_then(|rest| rest.split('/').next()).expect("a ws URL").to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run mcp-ws")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn call_and_tools_wait_out_a_503_with_retry_after_and_then_succeed() {
    let served = support::serve(&[]);
    let (url, refused) = busy_front(1, "1", backend_of(&served.url));
    let started = Instant::now();
    let call = run(&["call", &url, "add", r#"{"a": 2, "b": 3}"#, "--timeout", "20"]);
    assert!(call.status.success(), "stderr: {}", text(&call.stderr));
    assert_eq!(text(&call.stdout).trim(), "5");
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() >= Duration::from_millis(900), "did not wait the advised second");

    let (url, refused) = busy_front(2, "1", backend_of(&served.url));
    let tools = run(&["tools", &url, "--timeout", "20"]);
    assert!(tools.status.success(), "stderr: {}", text(&tools.stderr));
    assert!(text(&tools.stdout).contains("add"), "{}", text(&tools.stdout));
    assert_eq!(refused.load(Ordering::SeqCst), 2);
}

#[test]
fn giving_up_on_a_busy_server_says_how_long_it_waited_and_the_last_status() {
    let served = support::serve(&[]);
    let (url, refused) = busy_front(usize::MAX, "1", backend_of(&served.url));
    let started = Instant::now();
    let call = run(&["call", &url, "add", r#"{"a": 2, "b": 3}"#, "--timeout", "3"]);
    let took = started.elapsed();
    assert!(!call.status.success());
    let stderr = text(&call.stderr);
    assert!(refused.load(Ordering::SeqCst) >= 2, "no retry: {stderr}");
    assert!(stderr.contains("503"), "{stderr}");
    assert!(stderr.contains("waited"), "{stderr}");
    assert!(took < Duration::from_secs(10), "--timeout 3 took {took:?}");

    // Advice beyond what --timeout leaves: no pointless wait, and it says why.
    let (url, refused) = busy_front(usize::MAX, "120", backend_of(&served.url));
    let started = Instant::now();
    let call = run(&["tools", &url, "--timeout", "5"]);
    let took = started.elapsed();
    assert!(!call.status.success());
    let stderr = text(&call.stderr);
    assert_eq!(refused.load(Ordering::SeqCst), 1, "{stderr}");
    assert!(stderr.contains("503") && stderr.contains("120 s"), "{stderr}");
    assert!(took < Duration::from_secs(4), "waited for nothing: {took:?}");
}
