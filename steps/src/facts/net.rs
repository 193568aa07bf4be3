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
