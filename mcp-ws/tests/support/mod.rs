//! What the facade's process tests share: finding a built example binary and starting the
//! README's server example on a free loopback port.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

/// A built example binary (cargo builds the examples before it runs the tests).
pub fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().expect("test binary path");
    let path =
        deps.parent().and_then(|d| d.parent()).expect("target dir").join("examples").join(name);
    assert!(path.exists(), "example {name} must be built at {}", path.display());
    path
}

/// The README server example, running on a free loopback port.
pub struct ReadmeServer {
    /// The process (killed when dropped).
    pub process: Child,
    /// Its stderr after the announcement, line by line. Held even where it is not read: the
    /// server's log lines must not meet a closed pipe.
    #[allow(dead_code, reason = "readme.rs only holds it")]
    pub lines: Lines<BufReader<ChildStderr>>,
    /// The URL it announced.
    pub url: String,
}

/// Starts the README server example and waits (at most 20 s) for the URL it announces.
pub async fn start_readme_server() -> ReadmeServer {
    let mut process = Command::new(example("readme_server"))
        .env("MCP_WS_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server example");
    let mut lines = BufReader::new(process.stderr.take().expect("piped stderr")).lines();
    let announced = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the server announces its URL within 20 s")
        .expect("read stderr")
        .expect("a line");
    let url = announced.strip_prefix("mcp-ws: serving ").expect("the announcement").to_string();
    ReadmeServer { process, lines, url }
}
