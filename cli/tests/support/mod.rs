//! What the binary's tests share: starting `mcp-ws serve` (with any flags) on a free port and
//! stopping it when the test ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_mcp-ws");

/// A running `mcp-ws serve`, killed when dropped.
pub struct Served {
    /// The process.
    pub child: Child,
    /// The URL it printed.
    pub url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `mcp-ws serve --listen 127.0.0.1:0 EXTRA...` and reads the URL it prints.
pub fn serve(extra: &[&str]) -> Served {
    serve_at("127.0.0.1:0", extra)
}

/// Starts `mcp-ws serve --listen LISTEN EXTRA...` and reads the URL it prints.
pub fn serve_at(listen: &str, extra: &[&str]) -> Served {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", listen])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mcp-ws serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut url).expect("URL line");
    Served { child, url: url.trim().to_string() }
}
