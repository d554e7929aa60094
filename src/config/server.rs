//! `[server]`: the one listener, how long a client may take, how many may connect, and which
//! proxies may name the client.

use super::raw::RawServer;
use crate::settings::Problems;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `[server]`, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The listen address.
    pub listen: SocketAddr,
    /// How long shutdown waits for in-flight work.
    pub shutdown_grace: Duration,
    /// Who the client is when a proxy is in front.
    pub forwarded: ForwardedPolicy,
    /// How long a client may take to send a request's headers (and how long an idle
    /// keep-alive connection is kept).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Bytes of request bodies held in memory at once, across all requests.
    pub body_memory: usize,
    /// `hook_rate_per_minute` and `hook_rate_burst`: what one provider address may post to
    /// the `/hooks/...` doors, sustained and at once.
    pub hook_rate: (u32, u32),
    /// `replica`: this daemon's name among replicas, as its leases record it; `None` takes
    /// the host's name and the listen port.
    pub replica: Option<String>,
}

impl ServerConfig {
    /// This daemon's replica id: `replica`, or `<host name>:<port>` with the port it listens
    /// on, which differs between replicas of one host and stays the same across a restart
    /// (a restarted replica takes its own leases back at once).
    pub fn replica_id(&self, port: u16) -> String {
        self.replica.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .or_else(|| std::env::var("HOSTNAME").ok())
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "leadgate".to_string());
            format!("{host}:{port}")
        })
    }
}

/// Which `X-Forwarded-For` entry names the client, so a client cannot choose its own address
/// for the rate limit by writing the header itself.
#[derive(Debug, Clone, Default)]
pub struct ForwardedPolicy {
    /// `trust_forwarded_for`: a proxy in front appends the address it saw.
    pub enabled: bool,
    /// `trusted_proxies`: when not empty, only these peers' headers are read, and their own
    /// entries are skipped.
    pub trusted: Vec<IpNet>,
}

impl ForwardedPolicy {
    /// The client's address: the socket peer, or, from a trusted proxy, the rightmost
    /// `X-Forwarded-For` entry that is not a trusted proxy itself (entries to its left were
    /// written by the client and prove nothing).
    ///
    /// An IPv4 client of a dual-stack listener (`[::]:8080`) arrives as `::ffff:a.b.c.d`: it is
    /// read as the IPv4 address it is, so that it is counted by itself, not with all of IPv4 in
    /// one IPv6 /64, and an IPv4 proxy's entry in `trusted_proxies` matches it.
    pub fn client_ip(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.enabled || !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop_address(hop) else {
                // A hop that is not an address: the last one known is as far as trust goes.
                return client;
            };
            client = ip;
            if !self.trusted.iter().any(|net| net.contains(&ip)) {
                return ip;
            }
        }
        client
    }

    /// The address a rate limit counts the client by ([`ForwardedPolicy::client_ip`]): an IPv6
    /// client by its /64, the network one subscriber is given (a host may take any address in
    /// it, so counting by address would never limit it), an IPv4 client by its address.
    pub fn limit_key(&self, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
        rate_key(self.client_ip(headers, peer))
    }

    fn is_trusted(&self, peer: IpAddr) -> bool {
        self.trusted.is_empty() || self.trusted.iter().any(|net| net.contains(&peer))
    }
}

/// The address an `X-Forwarded-For` entry names: a bare address, or as some balancers write
/// it, with its port (`203.0.113.7:51234`, `[2001:db8::1]:443`) or in brackets.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

/// Validates `[server]`, adding what is wrong to `p`.
pub(super) fn validate(p: &mut Problems, raw: &RawServer) -> ServerConfig {
    let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = listen_text.parse().unwrap_or_else(|_| {
        p.add(
            "server.listen",
            format!("{listen_text:?} is not an address"),
            Some("write it as \"127.0.0.1:8080\" or \"0.0.0.0:8080\""),
        );
        ([127, 0, 0, 1], 8080).into()
    });
    let mut trusted = Vec::new();
    for (i, text) in raw.trusted_proxies.iter().enumerate() {
        match parse_net(text) {
            Some(net) => trusted.push(net),
            None => p.add(
                format!("server.trusted_proxies[{i}]"),
                format!("{text:?} is not an address or a CIDR block"),
                Some("write \"10.0.0.5\", \"10.0.0.0/8\" or \"::1\""),
            ),
        }
    }
    if !trusted.is_empty() && raw.trust_forwarded_for == Some(false) {
        p.add(
            "server.trusted_proxies",
            "is set while trust_forwarded_for = false",
            Some("remove trust_forwarded_for = false to read X-Forwarded-For from these proxies"),
        );
    }
    let positive = |p: &mut Problems, key: &str, value: Option<Duration>, default: u64| {
        let d = value.unwrap_or(Duration::from_secs(default));
        if d.is_zero() {
            p.add(format!("server.{key}"), "must be longer than zero", None);
        }
        d
    };
    let header_timeout = positive(p, "header_timeout", raw.header_timeout.map(|d| d.0), 10);
    let body_timeout = positive(p, "body_timeout", raw.body_timeout.map(|d| d.0), 30);
    let max_connections = raw.max_connections.unwrap_or(512);
    if max_connections == 0 {
        p.add("server.max_connections", "must be at least 1", None);
    }
    let body_memory = raw.body_memory.map_or(64 << 20, |s| s.0);
    if body_memory < 64 << 10 {
        p.add(
            "server.body_memory",
            "is below 64KiB, less than one form's text",
            Some("the default, \"64MiB\", holds six full uploads at once"),
        );
    }
    let hook_rate = (
        raw.hook_rate_per_minute.unwrap_or(1200),
        raw.hook_rate_burst.unwrap_or(300),
    );
    for (key, value) in [
        ("hook_rate_per_minute", hook_rate.0),
        ("hook_rate_burst", hook_rate.1),
    ] {
        if value == 0 {
            p.add(format!("server.{key}"), "must be at least 1", None);
        }
    }
    ServerConfig {
        listen,
        shutdown_grace: raw.shutdown_grace.map_or(Duration::from_secs(10), |d| d.0),
        forwarded: ForwardedPolicy {
            enabled: raw.trust_forwarded_for.unwrap_or(!trusted.is_empty()),
            trusted,
        },
        header_timeout,
        body_timeout,
        max_connections: max_connections.max(1),
        body_memory,
        hook_rate,
        replica: raw.replica.clone().filter(|r| !r.trim().is_empty()),
    }
}

/// An address (a block of one) or a CIDR block; one written IPv4-mapped (`::ffff:10.0.0.5`,
/// as a dual-stack listener's logs show a peer) is the IPv4 block it stands for, as peers are
/// read ([`ForwardedPolicy::client_ip`]).
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    Some(match net {
        IpNet::V6(v6) => match (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96)) {
            (Some(v4), Some(prefix)) => {
                ipnet::Ipv4Net::new(v4, prefix).map_or(net, |v4| IpNet::V4(v4.trunc()))
            }
            _ => net,
        },
        v4 => v4,
    })
}

/// The address a rate limit counts `client` by: an IPv6 address's /64, an IPv4 address itself
/// (for a caller that has the client's address already; see [`ForwardedPolicy::limit_key`]).
pub fn rate_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("header value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn the_address_the_proxy_saw_is_the_client_not_what_the_client_wrote() {
        let one_proxy = ForwardedPolicy {
            enabled: true,
            trusted: Vec::new(),
        };
        let h = headers(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(one_proxy.client_ip(&h, ip("127.0.0.1")), ip("203.0.113.7"));
        // A rotating leftmost value does not change who the client is.
        let h2 = headers(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(one_proxy.client_ip(&h2, ip("127.0.0.1")), ip("203.0.113.7"));
        // Two headers read as one list, in order.
        let h3 = headers(&["6.6.6.6", "203.0.113.9"]);
        assert_eq!(one_proxy.client_ip(&h3, ip("127.0.0.1")), ip("203.0.113.9"));
        // No header: the peer.
        assert_eq!(
            one_proxy.client_ip(&HeaderMap::new(), ip("127.0.0.1")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_proxies_are_skipped_and_only_they_are_believed() {
        let chain = ForwardedPolicy {
            enabled: true,
            trusted: vec![
                parse_net("10.0.0.0/8").expect("net"),
                parse_net("::1").expect("net"),
            ],
        };
        let h = headers(&["6.6.6.6, 198.51.100.4, 10.1.2.3"]);
        assert_eq!(chain.client_ip(&h, ip("10.0.0.1")), ip("198.51.100.4"));
        // From a peer that is not a trusted proxy, the header is the client's own words.
        assert_eq!(chain.client_ip(&h, ip("192.0.2.1")), ip("192.0.2.1"));
        // Garbage stops the walk at the last hop known.
        let junk = headers(&["198.51.100.4, nonsense, 10.1.2.3"]);
        assert_eq!(chain.client_ip(&junk, ip("10.0.0.1")), ip("10.1.2.3"));
        // Every hop trusted: the leftmost.
        let all = headers(&["10.9.9.9, 10.1.2.3"]);
        assert_eq!(chain.client_ip(&all, ip("10.0.0.1")), ip("10.9.9.9"));
    }

    #[test]
    fn a_rate_limit_counts_an_ipv6_client_by_its_64_and_an_ipv4_client_by_its_address() {
        let off = ForwardedPolicy::default();
        let none = HeaderMap::new();
        let a = off.limit_key(&none, ip("2001:db8:1:2:aaaa::1"));
        let b = off.limit_key(&none, ip("2001:db8:1:2:bbbb:cccc:dddd:eeee"));
        assert_eq!(a, ip("2001:db8:1:2::"));
        assert_eq!(a, b, "one /64, one client");
        assert_ne!(a, off.limit_key(&none, ip("2001:db8:1:3::1")));
        assert_eq!(off.limit_key(&none, ip("203.0.113.7")), ip("203.0.113.7"));
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_listener_is_counted_by_its_own_address() {
        let off = ForwardedPolicy::default();
        let none = HeaderMap::new();
        let a = off.limit_key(&none, ip("::ffff:203.0.113.7"));
        assert_eq!(a, ip("203.0.113.7"));
        assert_ne!(a, off.limit_key(&none, ip("::ffff:198.51.100.4")));
        // An IPv4 proxy in `trusted_proxies` is the same proxy when it arrives mapped.
        let proxy = ForwardedPolicy {
            enabled: true,
            trusted: vec![parse_net("10.0.0.5").expect("net")],
        };
        let h = headers(&["198.51.100.4"]);
        assert_eq!(
            proxy.client_ip(&h, ip("::ffff:10.0.0.5")),
            ip("198.51.100.4")
        );
        // And one written mapped, as such a listener's logs showed it, is the same proxy.
        let mapped = ForwardedPolicy {
            enabled: true,
            trusted: vec![parse_net("::ffff:10.0.0.0/104").expect("net")],
        };
        assert_eq!(
            mapped.client_ip(&h, ip("::ffff:10.0.0.5")),
            ip("198.51.100.4")
        );
        assert_eq!(mapped.client_ip(&h, ip("10.0.0.5")), ip("198.51.100.4"));
    }

    #[test]
    fn a_hop_written_with_its_port_or_in_brackets_is_still_the_client() {
        let one_proxy = ForwardedPolicy {
            enabled: true,
            trusted: Vec::new(),
        };
        let peer = ip("127.0.0.1");
        for (hop, client) in [
            ("203.0.113.7:51234", "203.0.113.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            assert_eq!(
                one_proxy.client_ip(&headers(&[hop]), peer),
                ip(client),
                "{hop}"
            );
        }
    }

    #[test]
    fn off_means_the_peer() {
        let off = ForwardedPolicy::default();
        let h = headers(&["203.0.113.7"]);
        assert_eq!(off.client_ip(&h, ip("127.0.0.1")), ip("127.0.0.1"));
    }

    #[test]
    fn problems_are_named() {
        let mut p = Problems::new(std::path::Path::new("leadgate.toml"));
        let raw = RawServer {
            trusted_proxies: vec!["10.0.0.0/8".into(), "nope".into()],
            max_connections: Some(0),
            ..RawServer::default()
        };
        let cfg = validate(&mut p, &raw);
        let keys: Vec<&str> = p.list.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(
            keys,
            ["server.trusted_proxies[1]", "server.max_connections"]
        );
        assert!(cfg.forwarded.enabled, "a proxy list turns forwarding on");
    }
}
