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

/// The host's global IPv4 addresses (`ip -o -4 addr show scope global`, ip(8)), in order:
/// where other servers reach it. Checks probe from there, not from 127.0.0.1, so they see
/// what the internet sees (a loopback-only listener, a sender rule for strangers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublicAddresses(pub Vec<String>);

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

impl Fact for PublicAddresses {
    const READS: &'static [&'static str] = &[mailstead_engine::step::reads::SERVICES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(PublicAddresses(
            super::probe(host, "ip", &["-o", "-4", "addr", "show", "scope", "global"])
                .filter(|o| o.success())
                .map(|o| parse_ip_addr(&o.stdout))
                .unwrap_or_default(),
        ))
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

/// The host's global IPv6 addresses (`ip -o -6 addr show scope global`, ip(8)), without
/// privacy (`temporary`) or `deprecated` ones: the addresses Postfix sends from. Unique-local
/// fc00::/7 addresses are left out too (not reachable from the internet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublicAddresses6(pub Vec<String>);

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

impl Fact for PublicAddresses6 {
    const READS: &'static [&'static str] = &[mailstead_engine::step::reads::SERVICES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(PublicAddresses6(
            super::probe(host, "ip", &["-o", "-6", "addr", "show", "scope", "global"])
                .filter(|o| o.success())
                .map(|o| parse_ip6_addr(&o.stdout))
                .unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod address6_tests {
    #[test]
    fn global_v6_addresses() {
        let text = "2: eth0    inet6 2001:db8::7/64 scope global dynamic mngtmpaddr \\       valid_lft 86000sec\n\
2: eth0    inet6 2001:db8::abcd/64 scope global temporary dynamic \\       valid_lft 86000sec\n\
2: eth0    inet6 fd00::5/64 scope global \\       valid_lft forever\n";
        assert_eq!(super::parse_ip6_addr(text), ["2001:db8::7"]);
    }
}
