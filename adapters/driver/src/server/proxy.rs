//! Behind a reverse proxy: which peers are trusted proxies ([`TrustedProxies`], addresses and
//! CIDR blocks), and what follows from a request that came through one: the client's address
//! is the right-most address in `X-Forwarded-For` that is not itself a trusted proxy, and the
//! host the client asked for is the right-most `X-Forwarded-Host` entry. From any other peer
//! (and with no proxy trusted, the default) those headers are ignored: a client cannot spoof
//! its address by sending them.
//!
//! The client address feeds the per-address connection cap ([`super::limits`]) and the logs;
//! the forwarded host feeds the `Host` check of [`super::handshake`].

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::handshake::RequestHead;

/// The peers whose forwarding headers are believed. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A trusted-proxy entry that is neither an IP address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address or a CIDR block (e.g. 127.0.0.1 or 10.0.0.0/8)")]
pub struct ProxyListError {
    /// The entry.
    pub entry: String,
}

impl TrustedProxies {
    /// No proxy is trusted: forwarding headers are ignored.
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// These networks (a single address is a /32 or /128).
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        TrustedProxies(networks.into_iter().collect())
    }

    /// Parses a comma-separated list such as `127.0.0.1,10.0.0.0/8,::1`.
    pub fn parse_list(list: &str) -> Result<Self, ProxyListError> {
        let mut networks = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            networks.push(parse_network(entry)?);
        }
        Ok(TrustedProxies(networks))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether `head` came from a trusted proxy.
    pub fn forwarded(&self, head: &RequestHead) -> bool {
        head.peer.is_some_and(|peer| self.trusts(peer.ip()))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` address that is not a trusted proxy (every entry trusted:
    /// the left-most; an entry that does not parse: the hop after it, a trusted proxy).
    pub fn client_ip(&self, head: &RequestHead) -> Option<IpAddr> {
        let peer = head.peer?.ip().to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let values: Vec<&str> = head.headers_named("x-forwarded-for").collect();
        for entry in values.iter().rev().flat_map(|v| v.rsplit(',')).map(str::trim) {
            let Some(ip) = parse_forwarded_ip(entry) else { return Some(client) };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }

    /// The host the client asked for: the right-most `X-Forwarded-Host` entry from a trusted
    /// proxy, else the `Host` header.
    pub fn host<'a>(&self, head: &'a RequestHead) -> Option<&'a str> {
        let forwarded = || {
            let value = head.headers_named("x-forwarded-host").last()?;
            value.rsplit(',').map(str::trim).find(|h| !h.is_empty())
        };
        if self.forwarded(head) {
            if let Some(host) = forwarded() {
                return Some(host);
            }
        }
        head.header("host")
    }
}

impl FromStr for TrustedProxies {
    type Err = ProxyListError;

    fn from_str(list: &str) -> Result<Self, ProxyListError> {
        TrustedProxies::parse_list(list)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&list.join(","))
    }
}

fn parse_network(entry: &str) -> Result<IpNet, ProxyListError> {
    let error = || ProxyListError { entry: entry.to_string() };
    if entry.contains('/') {
        return entry.parse::<IpNet>().map(|net| net.trunc()).map_err(|_| error());
    }
    entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| error())
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry.parse::<std::net::SocketAddr>().ok().map(|addr| addr.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(peer: &str, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: "GET".into(),
            target: "/mcp".into(),
            minor_version: 1,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            peer: Some(peer.parse().unwrap()),
            local: None,
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let proxies = TrustedProxies::parse_list("127.0.0.1, 10.0.0.0/8").unwrap();
        // A client-supplied entry on the left is not believed: the proxy appended the real one.
        let h = head("127.0.0.1:9", &[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.2.3")]);
        assert_eq!(proxies.client_ip(&h), ip("203.0.113.7"));
        // Several headers are one list, in order; ports are allowed.
        let h = head(
            "10.0.0.1:9",
            &[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "[2001:db8::1]:443")],
        );
        assert_eq!(proxies.client_ip(&h), ip("2001:db8::1"));
        // Every hop trusted: the left-most.
        let h = head("127.0.0.1:9", &[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(proxies.client_ip(&h), ip("10.0.0.5"));
        // Garbage stops the walk at the last trusted hop.
        let h = head("127.0.0.1:9", &[("x-forwarded-for", "1.1.1.1, junk, 10.0.0.7")]);
        assert_eq!(proxies.client_ip(&h), ip("10.0.0.7"));
        // No header: the proxy itself.
        assert_eq!(proxies.client_ip(&head("127.0.0.1:9", &[])), ip("127.0.0.1"));
    }

    #[test]
    fn forwarding_headers_from_other_peers_are_ignored() {
        let spoofed =
            [("x-forwarded-for", "198.51.100.1"), ("host", "a"), ("x-forwarded-host", "b")];
        let h = head("192.0.2.9:9", &spoofed);
        let proxies = TrustedProxies::parse_list("127.0.0.1").unwrap();
        assert_eq!(proxies.client_ip(&h), ip("192.0.2.9"));
        assert_eq!(proxies.host(&h), Some("a"));
        assert_eq!(TrustedProxies::none().client_ip(&h), ip("192.0.2.9"));
        let h = head("127.0.0.1:9", &spoofed);
        assert_eq!(proxies.host(&h), Some("b"));
        assert_eq!(TrustedProxies::none().host(&h), Some("a"));
    }

    #[test]
    fn lists_parse_addresses_and_blocks_and_reject_the_rest() {
        let proxies: TrustedProxies = "::1,10.1.2.3/8".parse().unwrap();
        assert_eq!(proxies.to_string(), "::1/128,10.0.0.0/8");
        assert!(proxies.trusts("10.200.0.1".parse().unwrap()));
        assert!(proxies.trusts("::ffff:10.0.0.1".parse().unwrap()), "v4-mapped is v4");
        assert!(!proxies.trusts("11.0.0.1".parse().unwrap()));
        let error = TrustedProxies::parse_list("10.0.0.0/33").unwrap_err();
        assert_eq!(error.entry, "10.0.0.0/33");
        assert!(TrustedProxies::parse_list("localhost").is_err());
    }
}
