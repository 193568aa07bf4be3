//! Whether the host has IPv6 (`/proc/net/if_inet6` lists an address): Postfix's
//! `inet_protocols` and Dovecot's `listen` must not name a protocol the host lacks (Dovecot's
//! default `listen = *, ::` does not start on a host without IPv6).
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Ipv6 {
    pub available: bool,
}

/// `/proc/net/if_inet6` has one line per IPv6 address; empty or absent: no IPv6.
pub fn parse_if_inet6(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.lines().any(|l| !l.trim().is_empty()))
}

impl Fact for Ipv6 {
    const READS: &'static [&'static str] = &[];
    fn probe(host: &dyn Host) -> Result<Self> {
        let text = host
            .read_string(Path::new("/proc/net/if_inet6"))
            .ok()
            .flatten();
        Ok(Ipv6 {
            available: parse_if_inet6(text.as_deref()),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn if_inet6() {
        assert!(super::parse_if_inet6(Some(
            "00000000000000000000000000000001 01 80 10 80       lo\n"
        )));
        assert!(!super::parse_if_inet6(Some("")));
        assert!(!super::parse_if_inet6(None));
    }
}

/// The host's global addresses (ONE `ip -o addr show scope global`, ip(8)), in order: where
/// other servers reach it. `.0`: IPv4; `.1`: IPv6, without privacy (`temporary`) or
/// `deprecated` addresses (Postfix does not send from those) and without unique-local
/// fc00::/7 ones (not reachable from the internet). Checks probe from there, not from
/// 127.0.0.1, so they see what the internet sees (a loopback-only listener, a sender rule
/// for strangers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublicAddresses(pub Vec<String>, pub Vec<String>);

impl PublicAddresses {
    /// Every public address, IPv4 first.
    pub fn ips(&self) -> Vec<std::net::IpAddr> {
        self.0
            .iter()
            .chain(&self.1)
            .filter_map(|a| a.parse().ok())
            .collect()
    }
    /// The public IPv6 addresses.
    pub fn v6(&self) -> Vec<std::net::IpAddr> {
        self.1.iter().filter_map(|a| a.parse().ok()).collect()
    }
}

/// `2: eth0    inet 10.213.1.2/24 brd 10.213.1.255 scope global eth0 ...` lines.
pub fn parse_ip_addr(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|t| *t == "inet")?;
            Some(w.next()?.split('/').next()?.to_string())
        })
        .collect()
}

/// `2: eth0    inet6 2001:db8::7/64 scope global dynamic mngtmpaddr ...` lines.
pub fn parse_ip6_addr(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.contains(" temporary") && !l.contains(" deprecated"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|t| *t == "inet6")?;
            let a = w.next()?.split('/').next()?.to_string();
            let ip: std::net::Ipv6Addr = a.parse().ok()?;
            ((ip.segments()[0] & 0xfe00) != 0xfc00).then_some(a)
        })
        .collect()
}

impl Fact for PublicAddresses {
    const READS: &'static [&'static str] = &[mailstead_engine::step::reads::SERVICES];
    fn probe(host: &dyn Host) -> Result<Self> {
        let text = super::probe(host, "ip", &["-o", "addr", "show", "scope", "global"])
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default();
        Ok(PublicAddresses(parse_ip_addr(&text), parse_ip6_addr(&text)))
    }
}

#[cfg(test)]
mod address_tests {
    #[test]
    fn global_addresses() {
        let text = "2: eth0    inet 10.213.1.2/24 brd 10.213.1.255 scope global eth0\\       valid_lft forever preferred_lft forever\n3: eth1    inet 192.0.2.7/32 scope global eth1\\       valid_lft forever\n";
        assert_eq!(super::parse_ip_addr(text), ["10.213.1.2", "192.0.2.7"]);
        assert!(super::parse_ip_addr("").is_empty());
    }
}

#[cfg(test)]
mod address6_tests {
    #[test]
    fn global_v6_addresses() {
        let text = "2: eth0    inet 192.0.2.7/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever\n\
2: eth0    inet6 2001:db8::7/64 scope global dynamic mngtmpaddr \\       valid_lft 86000sec\n\
2: eth0    inet6 2001:db8::abcd/64 scope global temporary dynamic \\       valid_lft 86000sec\n\
2: eth0    inet6 fd00::5/64 scope global \\       valid_lft forever\n";
        assert_eq!(super::parse_ip6_addr(text), ["2001:db8::7"]);
        assert_eq!(super::parse_ip_addr(text), ["192.0.2.7"]);
    }
}
