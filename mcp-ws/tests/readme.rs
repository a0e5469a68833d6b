//! The README's server and client examples run as written: the built example binaries, the
//! client against the server on a free loopback port.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// A built example binary (cargo builds the examples before it runs the tests).
fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().expect("test binary path");
    let path =
        deps.parent().and_then(|d| d.parent()).expect("target dir").join("examples").join(name);
    assert!(path.exists(), "example {name} must be built at {}", path.display());
    path
}

#[tokio::test]
async fn the_readme_client_gets_five_from_the_readme_server() {
    let mut server = Command::new(example("readme_server"))
        .env("MCP_WS_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server example");
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let announced = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the server announces its URL within 20 s")
        .unwrap()
        .expect("a line");
    let url = announced.strip_prefix("mcp-ws: serving ").expect("the announcement").to_string();
    let client =
        Command::new(example("readme_client")).env("MCP_WS_URL", &url).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(20), client)
        .await
        .expect("the client finishes within 20 s")
        .expect("run the client example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "5\n");
    server.kill().await.expect("stop the server");
}
