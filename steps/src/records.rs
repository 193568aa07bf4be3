//! The DNS records a mail domain needs, as data: what `mailstead dns` prints, what the `dns`
//! capability checks, and what a capability contributes
//! ([`crate::capability::Capability::records`]). Shared, so a capability can contribute
//! records without importing the `dns` capability.
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The TTL of every record, in seconds: an hour, so a mistake is corrected quickly.
pub const TTL: u32 = 3600;

/// What the records are derived from. Addresses are the ones the internet reaches the
/// server on; DKIM keys are every published key by domain (during a rotation both the old and
/// the new key are listed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsInputs {
    /// The server's FQDN, lowercase, without a trailing dot (`mail.example.test`).
    pub hostname: String,
    /// The mail domains, in the answers' order.
    pub domains: Vec<String>,
    pub public_v4: Vec<Ipv4Addr>,
    pub public_v6: Vec<Ipv6Addr>,
    /// Published DKIM keys by domain; a domain missing here has no key yet.
    pub dkim: BTreeMap<String, Vec<DkimPublic>>,
    /// The ACME directory URL the certificate comes from (for CAA).
    pub acme_server: String,
    /// The relay host outgoing mail goes through, if any (a host name, for SPF).
    pub relay_host: Option<String>,
    /// Whether POP3 (995, TLS) is offered.
    pub pop3: bool,
}

/// One published DKIM public key.
#[derive(Debug, Clone, PartialEq)]
pub struct DkimPublic {
    /// The selector (`SEL` in `SEL._domainkey.D`), RFC 6376 §3.1.
    pub selector: String,
    /// Base64 of the DER SubjectPublicKeyInfo: the `p=` value (RFC 6376 §3.6.1).
    pub public_key: String,
    /// Whether mail is signed with it now (false: kept published during a rotation).
    pub signing: bool,
}

/// A DNS record type mailstead asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RType {
    A,
    Aaaa,
    Mx,
    Txt,
    Srv,
    Caa,
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Mx => "MX",
            RType::Txt => "TXT",
            RType::Srv => "SRV",
            RType::Caa => "CAA",
        })
    }
}

/// One record to publish.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The mail domain it belongs to, or the hostname for the server's own records.
    pub domain: String,
    /// The owner name, an FQDN with the trailing dot (`_dmarc.example.test.`).
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RType,
    /// The record's data on one line, in presentation form (RFC 1035 §5.1) except for TXT:
    /// for TXT it is the text itself, unquoted and unsplit, as web forms want it
    /// ([`crate::dns::render_zone`] quotes and splits it).
    pub value: String,
    /// Seconds.
    pub ttl: u32,
    /// What it is for, one line for humans.
    pub purpose: &'static str,
}

/// `name` lowercase with one trailing dot (an FQDN).
pub fn fqdn(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    format!("{n}.")
}

/// A record of `domain` with [`TTL`].
pub fn rec(
    domain: &str,
    name: String,
    rtype: RType,
    value: String,
    purpose: &'static str,
) -> Record {
    Record {
        domain: domain.to_string(),
        name,
        rtype,
        value,
        ttl: TTL,
        purpose,
    }
}
