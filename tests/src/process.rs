//! Child processes and files the process-level suites (`scale_out`, `netfaults`) start and
//! must clean up, also when a test fails: a guarded child (stopped and reaped on drop), a
//! temporary directory (removed on drop), and the nginx configuration the README's "Running
//! several nodes" shows, for nodes at any address.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A child process stopped and reaped when dropped: SIGTERM first when `graceful` (nginx's
/// master stops its workers then; killed, it would leave them running), SIGKILL after 5 s or
/// at once.
pub struct Guarded {
    /// The child.
    pub child: Child,
    /// Whether dropping it sends SIGTERM (and waits up to 5 s) before SIGKILL.
    pub graceful: bool,
}

impl Guarded {
    /// Starts `command` with standard input closed; panics, naming it, if it cannot start.
    pub fn spawn(command: &mut Command) -> Guarded {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Guarded { child, graceful: false }
    }

    /// Sends `signal` (`-TERM`, `-KILL`...) with `kill`; panics if it fails.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// The exit status, within `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.graceful && matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory named after `name`, this process and a counter.
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mcp-ws-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The nginx configuration (files under `dir`, listening on `listen`): an upstream of the
/// `nodes`, the WebSocket proxy headers, a read timeout above the nodes' 20 s ping interval,
/// and the next node tried when one refuses or is draining (503). The README's "Running
/// several nodes" shows the same lines.
pub fn nginx_conf(dir: &Path, listen: SocketAddr, nodes: &[SocketAddr]) -> String {
    let d = dir.display();
    let servers: String =
        nodes.iter().map(|addr| format!("        server {addr} max_fails=0;\n")).collect();
    let user = if is_root() { "user root;\n" } else { "" };
    format!(
        "{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream mcp {{
{servers}    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen {listen};
        location /mcp {{
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 120s;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_503;
        }}
    }}
}}
"
    )
}

/// [`nginx_conf`] that also routes legacy Streamable HTTP sessions: each node runs with
/// `--node-id NAME` (the first of its pair), so every session id it mints starts with `NAME.`.
/// A `map` on `$http_mcp_session_id` names the node's upstream, and a request of a session goes
/// there (through the named location `@mcp_session`); everything without a session id
/// (WebSocket upgrades, `initialize`, every 2026-07-28 POST) goes to the round-robin pool as in
/// [`nginx_conf`]. A node's upstream lists the other nodes as `backup`: when the node is gone,
/// or answers 503 while it drains, the request is passed on (`non_idempotent`: safe here, as
/// no other node knows the session) and another node answers 404, so the client starts a new
/// session. The README's "Running several nodes" shows it.
pub fn nginx_conf_routed(dir: &Path, listen: SocketAddr, nodes: &[(String, SocketAddr)]) -> String {
    let addrs: Vec<SocketAddr> = nodes.iter().map(|(_, addr)| *addr).collect();
    let plain = nginx_conf(dir, listen, &addrs);
    let mut upstreams = String::new();
    let mut routes = String::new();
    for (name, addr) in nodes {
        upstreams.push_str(&format!("    upstream mcp_node_{name} {{\n"));
        upstreams.push_str(&format!("        server {addr} max_fails=0;\n"));
        for (_, other) in nodes.iter().filter(|(other, _)| other != name) {
            upstreams.push_str(&format!("        server {other} backup;\n"));
        }
        upstreams.push_str("    }\n");
        routes.push_str(&format!("        \"~^{name}\\.\" mcp_node_{name};\n"));
    }
    let routing = format!(
        "{upstreams}    map $http_mcp_session_id $mcp_node {{\n        default \"\";\n{routes}    }}\n    server {{"
    );
    let session = "        location @mcp_session {
            proxy_pass http://$mcp_node;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_read_timeout 120s;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_503 non_idempotent;
        }
        location /mcp {
            error_page 418 = @mcp_session;
            if ($mcp_node) {
                return 418;
            }
";
    plain.replacen("    server {", &routing, 1).replacen("        location /mcp {\n", session, 1)
}

/// A redis-server configuration listening on `bind`:`port`, persisting nothing, in `dir`
/// (protected mode off on an address other than loopback: the test's hosts have no password).
pub fn redis_conf(dir: &Path, bind: &str, port: u16) -> String {
    let open = if bind == "127.0.0.1" { "" } else { "protected-mode no\n" };
    format!(
        "port {port}\nbind {bind}\n{open}save \"\"\nappendonly no\ndaemonize no\ndir {}\n",
        dir.display()
    )
}

/// How many times `netfault-node`'s `count` tool ran each call id, from the file its nodes
/// append one line per execution to (empty when none ran yet).
pub fn executions(path: &Path) -> std::collections::HashMap<String, usize> {
    let mut runs = std::collections::HashMap::new();
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        *runs.entry(line.to_string()).or_insert(0) += 1;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routed_layout_sends_a_session_to_its_node_and_the_rest_to_the_pool() {
        let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let nodes = [("n1".to_string(), addr(8701)), ("n2".to_string(), addr(8702))];
        let conf = nginx_conf_routed(Path::new("/tmp/x"), addr(8700), &nodes);
        println!("{conf}");
        for expected in [
            "upstream mcp {\n        server 127.0.0.1:8701 max_fails=0;\n        server 127.0.0.1:8702 max_fails=0;\n    }",
            "upstream mcp_node_n1 {\n        server 127.0.0.1:8701 max_fails=0;\n        server 127.0.0.1:8702 backup;\n    }",
            "upstream mcp_node_n2 {\n        server 127.0.0.1:8702 max_fails=0;\n        server 127.0.0.1:8701 backup;\n    }",
            "map $http_mcp_session_id $mcp_node {\n        default \"\";\n        \"~^n1\\.\" mcp_node_n1;\n        \"~^n2\\.\" mcp_node_n2;\n    }",
            "proxy_pass http://$mcp_node;",
            "proxy_next_upstream error timeout http_503 non_idempotent;",
            "if ($mcp_node) {\n                return 418;",
            "proxy_pass http://mcp;",
        ] {
            assert!(conf.contains(expected), "missing {expected:?} in\n{conf}");
        }
        // The pool keeps its own next-upstream rule: a sessionless POST cut mid-way is not sent
        // again.
        assert_eq!(conf.matches("non_idempotent").count(), 1, "{conf}");
    }
}
