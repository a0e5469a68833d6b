//! Test hosts in network namespaces, for the network fault suite: a [`Lab`] is a set of
//! hosts (one namespace each, with `lo` and an `eth0` at `10.200.0.x/24`) plugged into one
//! bridge (in a namespace of its own), and the faults the kernel can inject between them
//! without `netem`: random packet loss (`iptables -m statistic`), a black hole (`-j DROP`),
//! TCP resets (`-j REJECT --reject-with tcp-reset`) and a slow link (`tc ... tbf`).
//!
//! Processes run in a host with [`Lab::command`] (`ip netns exec`); the test's own code runs
//! in a host with [`Lab::enter`] (a thread that `setns`es into it; the threads it starts, a
//! tokio runtime's workers say, stay there). Every rule and qdisc lives inside a host's
//! namespace, so dropping the lab (also on a failed test) removes everything at once: it
//! kills every process left in its namespaces, then deletes them (their veths and rules
//! go with them). Names are unique per lab (`mcpnf<pid>x<n>-<host>`), so parallel tests do
//! not collide; a lab also deletes the namespaces of test processes that no longer exist
//! (left by a run that was killed before its drops ran).
//!
//! Making namespaces needs root and `ip`; the faults need `iptables` and `tc`
//! ([`Lab::unavailable`] says what is missing, and the tests skip with that message).

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The prefix of every namespace a lab makes.
const PREFIX: &str = "mcpnf";

/// One host of a lab.
#[derive(Debug, Clone)]
pub struct Host {
    /// The name the test gave it.
    pub name: String,
    /// Its namespace.
    pub netns: String,
    /// Its address on the lab's /24.
    pub ip: Ipv4Addr,
}

/// Hosts on one bridge, each in a network namespace; everything removed on drop.
pub struct Lab {
    hosts: Vec<Host>,
    switch: String,
}

/// Runs `ip` (or another program) and panics with its stderr if it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn found(program: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|dir| Path::new(dir).join(program).exists())
}

/// Kills every process in `netns` and deletes it.
fn delete_netns(netns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", netns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = Command::new("ip").args(["netns", "del", netns]).status();
}

/// Deletes the namespaces of labs whose test process is gone.
fn delete_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some(pid) = rest.split('x').next() else { continue };
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            delete_netns(name);
        }
    }
}

impl Lab {
    /// Why labs cannot be made here (not root, `ip`, `iptables` or `tc` missing, namespaces
    /// refused), or `None` when they can.
    pub fn unavailable() -> Option<String> {
        if !crate::process::is_root() {
            return Some("not root: network namespaces need root".into());
        }
        for program in ["ip", "iptables", "tc"] {
            if !found(program) {
                return Some(format!(
                    "`{program}` is not installed (iproute2, iptables: \
                     bash tests/interop/install.sh installs them as root)"
                ));
            }
        }
        static PROBED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        PROBED
            .get_or_init(|| {
                let probe = format!("{PREFIX}{}xprobe", std::process::id());
                let made = Command::new("ip").args(["netns", "add", &probe]).output();
                let _ = Command::new("ip")
                    .args(["netns", "del", &probe])
                    .stderr(std::process::Stdio::null())
                    .status();
                match made {
                    Ok(out) if out.status.success() => None,
                    Ok(out) => Some(format!(
                        "ip netns add failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    )),
                    Err(e) => Some(format!("cannot run ip: {e}")),
                }
            })
            .clone()
    }

    /// Makes one namespace per name in `hosts` (at `10.200.0.2`, `.3`...), all on one bridge.
    pub fn new(hosts: &[&str]) -> Lab {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        delete_stale();
        let prefix =
            format!("{PREFIX}{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let switch = format!("{prefix}-sw");
        let mut lab = Lab { hosts: Vec::new(), switch: switch.clone() };
        run("ip", &["netns", "add", &switch]);
        run("ip", &["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        run("ip", &["-n", &switch, "link", "set", "br0", "up"]);
        for (i, name) in hosts.iter().enumerate() {
            let netns = format!("{prefix}-{name}");
            let ip = Ipv4Addr::new(10, 200, 0, 2 + i as u8);
            run("ip", &["netns", "add", &netns]);
            lab.hosts.push(Host { name: name.to_string(), netns: netns.clone(), ip });
            let port = format!("p{i}");
            run(
                "ip",
                &[
                    "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                    "netns", &netns,
                ],
            );
            run("ip", &["-n", &switch, "link", "set", &port, "master", "br0", "up"]);
            run("ip", &["-n", &netns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
            run("ip", &["-n", &netns, "link", "set", "eth0", "up"]);
            run("ip", &["-n", &netns, "link", "set", "lo", "up"]);
        }
        lab
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no host {name}"))
    }

    /// A command that runs `program` in host `name` (`ip netns exec`, which execs it: the
    /// child's pid is the program's).
    pub fn command(&self, name: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.host(name).netns]).arg(program);
        command
    }

    /// Runs `f` on a thread that entered host `name`'s network namespace (sockets it and the
    /// threads it starts open are that host's), and returns what it returns; a panic in `f`
    /// is passed on.
    pub fn enter<T: Send>(&self, name: &str, f: impl FnOnce() -> T + Send) -> T {
        let path = Path::new("/run/netns").join(&self.host(name).netns);
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                let file = std::fs::File::open(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                // SAFETY: `setns` on an open namespace file; it changes only this thread.
                let entered = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(entered, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            });
            thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs `iptables args` in host `name`.
    pub fn iptables(&self, name: &str, args: &[&str]) {
        run("ip", &[&["netns", "exec", &self.host(name).netns, "iptables", "-w"], args].concat());
    }

    /// Drops each packet `name` sends or receives on `eth0` with probability `p` (both
    /// directions of every connection through it), or stops doing so when `on` is false.
    pub fn loss(&self, name: &str, p: f64, on: bool) {
        let op = if on { "-A" } else { "-D" };
        let p = p.to_string();
        for (chain, dir) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
            self.iptables(
                name,
                &[
                    op,
                    chain,
                    dir,
                    "eth0",
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    &p,
                    "-j",
                    "DROP",
                ],
            );
        }
    }

    /// Drops every packet between hosts `a` and `b` (a black hole: no error, no reset), or
    /// stops doing so when `on` is false. The rules are in `a`.
    pub fn black_hole(&self, a: &str, b: &str, on: bool) {
        let op = if on { "-A" } else { "-D" };
        let peer = self.host(b).ip.to_string();
        self.iptables(a, &[op, "INPUT", "-s", &peer, "-j", "DROP"]);
        self.iptables(a, &[op, "OUTPUT", "-d", &peer, "-j", "DROP"]);
    }

    /// Answers every TCP segment between hosts `a` and `b`, either way, with a reset (so
    /// both ends of every connection between them are reset as soon as they send, and
    /// connection attempts are refused), or stops doing so when `on` is false. Resets
    /// themselves pass (else each end's rule would eat the reset the other end's rule sent,
    /// and only the heartbeat would notice).
    pub fn resets(&self, a: &str, b: &str, on: bool) {
        let op = if on { "-A" } else { "-D" };
        for (at, from) in [(a, b), (b, a)] {
            let peer = self.host(from).ip.to_string();
            self.iptables(
                at,
                &[
                    op,
                    "INPUT",
                    "-p",
                    "tcp",
                    "-s",
                    &peer,
                    "--tcp-flags",
                    "RST",
                    "NONE",
                    "-j",
                    "REJECT",
                    "--reject-with",
                    "tcp-reset",
                ],
            );
        }
    }

    /// How many packets the `DROP` and `REJECT` rules of host `name` caught so far.
    pub fn caught(&self, name: &str) -> u64 {
        let netns = &self.host(name).netns;
        let listing =
            run("ip", &["netns", "exec", netns, "iptables", "-w", "-L", "-n", "-v", "-x"]);
        listing
            .lines()
            .filter(|line| matches!(line.split_whitespace().nth(2), Some("DROP" | "REJECT")))
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// Limits what host `name` sends on `eth0` to `rate` (`tc` syntax, `1mbit`) with a token
    /// bucket filter.
    pub fn throttle(&self, name: &str, rate: &str) {
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.host(name).netns,
                "tc",
                "qdisc",
                "add",
                "dev",
                "eth0",
                "root",
                "tbf",
                "rate",
                rate,
                "burst",
                "32kbit",
                "latency",
                "400ms",
            ],
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for host in &self.hosts {
            delete_netns(&host.netns);
        }
        delete_netns(&self.switch);
    }
}
