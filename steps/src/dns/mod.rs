//! Every DNS record a mail domain served by mailstead needs, derived from the answers, the
//! server's addresses and its DKIM keys; and the three ways `mailstead dns` prints them.
//!
//! A plain module (not a step): [`expected`] is pure, so `mailstead dns`, the summary after an
//! install and the DNS checks all agree on one list. Nothing here touches the host.
//!
//! Per mail domain `D` (hostname `H`), each value with its source:
//!
//! | record | name | value | source |
//! |---|---|---|---|
//! | MX | `D.` | `10 H.` | RFC 5321 §5.1 (mail for D goes to H) |
//! | TXT (SPF) | `D.` | `v=spf1 mx -all`; with a relay host `v=spf1 mx a:RELAY -all` | RFC 7208 §5.4 (`mx`), §5.3 (`a`), §5.1 (`-all`) |
//! | TXT (DKIM) | `SEL._domainkey.D.` | `v=DKIM1; k=rsa; p=KEY`, one per published key | RFC 6376 §3.6.1, §3.6.2.1 |
//! | TXT (DMARC) | `_dmarc.D.` | `v=DMARC1; p=quarantine; rua=mailto:postmaster@D` | RFC 7489 §6.3 |
//! | TXT (TLS-RPT) | `_smtp._tls.D.` | `v=TLSRPTv1; rua=mailto:postmaster@D` | RFC 8460 §3 |
//! | SRV | `_submissions._tcp.D.` | `0 1 465 H.` | RFC 8314 §5.1 |
//! | SRV | `_submission._tcp.D.` | `0 1 587 H.` | RFC 6186 §3.1 |
//! | SRV | `_imaps._tcp.D.` | `0 1 993 H.` | RFC 6186 §3.2, RFC 8314 §5.1 |
//! | SRV | `_imap._tcp.D.` | `0 0 0 .` (not offered: IMAP only over TLS) | RFC 6186 §4 |
//! | SRV | `_pop3s._tcp.D.` | `0 1 995 H.`, or `0 0 0 .` without `pop3` | RFC 6186 §3.3, §4 |
//! | SRV | `_pop3._tcp.D.` | `0 0 0 .` (not offered) | RFC 6186 §4 |
//!
//! For the server itself, once: `A`/`AAAA` of `H` (its public addresses), SPF for the HELO
//! name `H` (`v=spf1 a -all`, RFC 7208 §2.3; left out when `H` is itself a mail domain, whose
//! SPF record already covers it), and `CAA` on `H` naming the ACME CA (RFC 8659 §4.2; only for
//! CAs whose issuer domain is known, see [`caa_issuer`]). Reverse DNS (PTR, RFC 1035 §3.5) is
//! set by whoever owns each address, not in the domain's zone: [`Ptr`] is an instruction.
//!
//! Every record has [`TTL`]. DMARC's default policy is `quarantine`: see the README's "DNS
//! records" for the reason.
pub mod check;
use crate::capability;
use crate::records::{fqdn, rec};
pub use crate::records::{DkimPublic, DnsInputs, RType, Record, TTL};
use serde::Serialize;
use std::net::IpAddr;

/// The longest character-string a TXT record may hold, in bytes (RFC 1035 §3.3.14: one
/// length octet); a longer DKIM value is split into several (RFC 6376 §3.6.2.2).
pub const TXT_CHUNK: usize = 255;

/// SPF for the server's HELO name (RFC 7208 §2.3): only its own addresses.
pub const HELO_SPF: &str = "v=spf1 a -all";

/// The DMARC policy published for every domain (RFC 7489 §6.3 `p=`); see the README.
pub const DMARC_POLICY: &str = "quarantine";

/// Reverse DNS is not in the domain's zone: whoever owns the address (the hosting provider)
/// sets it. An instruction, not a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ptr {
    pub address: IpAddr,
    /// The reverse owner name (`7.2.0.192.in-addr.arpa.`, nibbles under `ip6.arpa.`).
    pub reverse_name: String,
    /// What the PTR must name: the hostname, with the trailing dot.
    pub target: String,
    /// The instruction to the provider, one line.
    pub instruction: String,
}

/// Everything `mailstead dns` prints: records, PTR instructions, notes, and the mail domains
/// without a DKIM key yet (their DKIM line is left out of zone and JSON output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub records: Vec<Record>,
    pub ptr: Vec<Ptr>,
    pub notes: Vec<String>,
    #[serde(skip)]
    pub hostname: String,
    #[serde(skip)]
    pub domains: Vec<String>,
    #[serde(skip)]
    pub missing_dkim: Vec<String>,
}

/// The `issue` domain of an ACME server's CA for CAA (RFC 8659 §4.2), from the directory
/// URL's host; `None` for a CA mailstead does not know (no CAA can be suggested: a wrong
/// one would stop the renewal). Sources: each CA's CAA documentation (Let's Encrypt
/// "Certificate Authority Authorization", Google Trust Services, Buypass Go SSL, ZeroSSL).
pub fn caa_issuer(acme_server: &str) -> Option<&'static str> {
    let rest = acme_server
        .split_once("://")
        .map_or(acme_server, |(_, r)| r);
    let host = rest.split(['/', ':', '?']).next()?.to_ascii_lowercase();
    let under = |zone: &str| host == zone || host.ends_with(&format!(".{zone}"));
    if under("api.letsencrypt.org") {
        Some("letsencrypt.org")
    } else if under("pki.goog") {
        Some("pki.goog")
    } else if under("buypass.com") {
        Some("buypass.com")
    } else if under("zerossl.com") {
        Some("sectigo.com")
    } else {
        None
    }
}

/// A relay host name as SPF's `a:` mechanism wants it: no `[ ]`, no port.
fn relay_name(relay: &str) -> String {
    let r = relay.trim();
    let r = r
        .strip_prefix('[')
        .map_or(r, |s| s.split(']').next().unwrap_or(s));
    let r = r.split(':').next().unwrap_or(r);
    r.trim_end_matches('.').to_ascii_lowercase()
}

/// The DKIM key record's text (RFC 6376 §3.6.1): `v=DKIM1; k=rsa; p=KEY` (the one writer of
/// it, next to its one reader [`crate::facts::dkim_p`]).
pub use crate::facts::dkim_txt;

/// Every record to publish, mail domains first (in the answers' order), then the server's.
/// The inputs for `answers` on this server: its public addresses
/// ([`crate::facts::PublicAddresses`]) and its DKIM keys ([`crate::facts::DkimKeys`], public
/// parts only; every key of a domain is published, the signing one and any kept during a
/// rotation). One place, so `mailstead dns` and the `dns-records` check expect the same.
pub fn inputs(
    answers: &mailstead_answers::Answers,
    public: &crate::facts::PublicAddresses,
    keys: Option<&crate::facts::DkimKeys>,
) -> DnsInputs {
    let dkim = keys
        .map(|k| {
            k.by_domain
                .iter()
                .map(|(domain, keys)| {
                    let published = keys
                        .iter()
                        .map(|k| DkimPublic {
                            selector: k.selector.clone(),
                            public_key: k.public_key.clone(),
                            signing: k.signing,
                        })
                        .collect();
                    (domain.clone(), published)
                })
                .collect()
        })
        .unwrap_or_default();
    DnsInputs {
        hostname: answers.hostname.clone(),
        domains: answers.domains.iter().map(|d| d.name.clone()).collect(),
        public_v4: public.0.iter().filter_map(|a| a.parse().ok()).collect(),
        public_v6: public.1.iter().filter_map(|a| a.parse().ok()).collect(),
        dkim,
        acme_server: answers.acme_server_url().to_string(),
        relay_host: answers.relay_host.as_ref().map(|r| r.host.clone()),
        pop3: answers.pop3,
    }
}

pub fn expected(inp: &DnsInputs) -> Vec<Record> {
    let host = fqdn(&inp.hostname);
    let mut out: Vec<Record> = inp
        .domains
        .iter()
        .flat_map(|d| domain_records(inp, d, &host))
        .collect();
    out.extend(server_records(inp, &host));
    out
}

/// The records of one mail domain `d`: MX, SPF, DKIM, DMARC, TLS-RPT, SRV.
fn domain_records(inp: &DnsInputs, d: &str, host: &str) -> Vec<Record> {
    let not_offered = "0 0 0 .".to_string();
    let mut out = Vec::new();
    let name = fqdn(d);
    out.push(rec(
        d,
        name.clone(),
        RType::Mx,
        format!("10 {host}"),
        "mail for this domain is delivered to this server",
    ));
    let (spf, spf_purpose) = match &inp.relay_host {
        Some(r) => (
            format!("v=spf1 mx a:{} -all", relay_name(r)),
            "SPF: this server and the relay host may send as this domain; no one else",
        ),
        None => (
            "v=spf1 mx -all".to_string(),
            "SPF: only this server (the MX) may send as this domain",
        ),
    };
    out.push(rec(d, name.clone(), RType::Txt, spf, spf_purpose));
    // What the capabilities contribute (the signer: its DKIM keys).
    out.extend(capability::records(crate::CAPABILITIES, inp, d));
    out.push(rec(
        d,
        format!("_dmarc.{name}"),
        RType::Txt,
        format!("v=DMARC1; p={DMARC_POLICY}; rua=mailto:postmaster@{d}"),
        "DMARC: mail failing SPF and DKIM goes to spam; daily reports to postmaster@",
    ));
    out.push(rec(
        d,
        format!("_smtp._tls.{name}"),
        RType::Txt,
        format!("v=TLSRPTv1; rua=mailto:postmaster@{d}"),
        "TLS-RPT: senders report TLS failures delivering here to postmaster@",
    ));
    out.push(rec(
        d,
        format!("_submissions._tcp.{name}"),
        RType::Srv,
        format!("0 1 465 {host}"),
        "mail clients find where to send (TLS, port 465)",
    ));
    out.push(rec(
        d,
        format!("_submission._tcp.{name}"),
        RType::Srv,
        format!("0 1 587 {host}"),
        "mail clients find where to send (STARTTLS, port 587)",
    ));
    out.push(rec(
        d,
        format!("_imaps._tcp.{name}"),
        RType::Srv,
        format!("0 1 993 {host}"),
        "mail clients find where to read mail (IMAP over TLS, port 993)",
    ));
    out.push(rec(
        d,
        format!("_imap._tcp.{name}"),
        RType::Srv,
        not_offered.clone(),
        "IMAP without TLS is not offered (target \".\")",
    ));
    out.push(if inp.pop3 {
        rec(
            d,
            format!("_pop3s._tcp.{name}"),
            RType::Srv,
            format!("0 1 995 {host}"),
            "mail clients find POP3 over TLS (port 995)",
        )
    } else {
        rec(
            d,
            format!("_pop3s._tcp.{name}"),
            RType::Srv,
            not_offered.clone(),
            "POP3 is not offered (target \".\")",
        )
    });
    out.push(rec(
        d,
        format!("_pop3._tcp.{name}"),
        RType::Srv,
        not_offered.clone(),
        "POP3 without TLS is not offered (target \".\")",
    ));
    out
}

/// The server's own records, once: A/AAAA, the HELO name's SPF, CAA.
fn server_records(inp: &DnsInputs, host: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let h = inp.hostname.trim_end_matches('.').to_ascii_lowercase();
    for a in &inp.public_v4 {
        out.push(rec(
            &h,
            host.to_string(),
            RType::A,
            a.to_string(),
            "the server's IPv4 address",
        ));
    }
    for a in &inp.public_v6 {
        out.push(rec(
            &h,
            host.to_string(),
            RType::Aaaa,
            a.to_string(),
            "the server's IPv6 address",
        ));
    }
    if !inp.domains.iter().any(|d| fqdn(d) == host) {
        out.push(rec(
            &h,
            host.to_string(),
            RType::Txt,
            HELO_SPF.into(),
            "SPF for the name the server greets with (HELO): bounces are checked against it",
        ));
    }
    if let Some(ca) = caa_issuer(&inp.acme_server) {
        out.push(rec(
            &h,
            host.to_string(),
            RType::Caa,
            format!("0 issue \"{ca}\""),
            "CAA: only this server's ACME CA may issue certificates for the hostname",
        ));
    }
    out
}

/// The reverse owner name of an address (RFC 1035 §3.5, RFC 3596 §2.5), with the dot (zone
/// files and `mailstead dns` write absolute names): [`crate::facts::resolver::reverse_name`]'s.
pub fn reverse_name(a: IpAddr) -> String {
    crate::facts::resolver::reverse_name(a) + "."
}

/// One PTR instruction per public address: receivers check that the address names the
/// hostname and the hostname names the address back (forward-confirmed reverse DNS).
pub fn ptr_instructions(inp: &DnsInputs) -> Vec<Ptr> {
    let host = fqdn(&inp.hostname);
    let addrs = inp
        .public_v4
        .iter()
        .map(|a| IpAddr::V4(*a))
        .chain(inp.public_v6.iter().map(|a| IpAddr::V6(*a)));
    addrs
        .map(|a| Ptr {
            address: a,
            reverse_name: reverse_name(a),
            target: host.clone(),
            instruction: format!(
                "ask the provider of {a} to set its reverse DNS (PTR) to {}",
                host.trim_end_matches('.')
            ),
        })
        .collect()
}

/// What the records cannot say by themselves: missing or private addresses, a CA without
/// a known CAA name, what a relay host may need instead.
pub fn notes(inp: &DnsInputs) -> Vec<String> {
    let h = inp.hostname.trim_end_matches('.');
    let mut n = Vec::new();
    if inp.public_v4.is_empty() && inp.public_v6.is_empty() {
        n.push(format!(
            "no public address was found on the server's interfaces: publish A (and AAAA) \
             records for {h} with the address the internet reaches it on, and ask for its PTR"
        ));
    }
    for a in &inp.public_v4 {
        // RFC 1918, RFC 6598 (carrier-grade NAT, 100.64.0.0/10), loopback, link-local.
        let cgnat = a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64;
        if a.is_private() || cgnat || a.is_loopback() || a.is_link_local() {
            n.push(format!(
                "{a} is a private address: if the server is behind NAT, publish its public \
                 address for {h} instead, and ask for the PTR of that one"
            ));
        }
    }
    for a in &inp.public_v6 {
        if a.is_unique_local() {
            n.push(format!(
                "{a} is a unique local address (fc00::/7), not reachable from the internet: \
                 leave its AAAA out"
            ));
        }
    }
    if caa_issuer(&inp.acme_server).is_none() {
        n.push(format!(
            "no CAA record suggested: mailstead does not know the CAA issuer name of the ACME \
             server {}; its CA documents the name for `0 issue \"NAME\"` (RFC 8659), and a \
             wrong one would stop the certificate's renewal",
            inp.acme_server
        ));
    }
    if let Some(r) = &inp.relay_host {
        n.push(format!(
            "SPF names the relay host {} by its address records (a:); if your relay provider \
             documents an SPF include (include:...), use that instead: it covers every \
             address the provider sends from",
            relay_name(r)
        ));
    }
    n
}

/// Records, PTR instructions and notes together.
pub fn published(inp: &DnsInputs) -> Published {
    Published {
        records: expected(inp),
        ptr: ptr_instructions(inp),
        notes: notes(inp),
        hostname: inp.hostname.trim_end_matches('.').to_ascii_lowercase(),
        domains: inp.domains.clone(),
        missing_dkim: inp
            .domains
            .iter()
            .filter(|d| inp.dkim.get(*d).is_none_or(|k| k.is_empty()))
            .cloned()
            .collect(),
    }
}

impl Published {
    /// Only `domain`'s records, plus the server's own (which every domain needs).
    /// `None` when `domain` is not one of the mail domains.
    pub fn for_domain(&self, domain: &str) -> Option<Published> {
        let d = self
            .domains
            .iter()
            .find(|x| x.eq_ignore_ascii_case(domain.trim_end_matches('.')))?
            .clone();
        Some(Published {
            records: self
                .records
                .iter()
                .filter(|r| r.domain == d || self.is_server(r))
                .cloned()
                .collect(),
            ptr: self.ptr.clone(),
            notes: self.notes.clone(),
            hostname: self.hostname.clone(),
            missing_dkim: self
                .missing_dkim
                .iter()
                .filter(|m| **m == d)
                .cloned()
                .collect(),
            domains: vec![d],
        })
    }

    /// Whether `r` is one of the server's own records (A, AAAA, HELO SPF, CAA), which a
    /// hostname that is also a mail domain shares its name with.
    fn is_server(&self, r: &Record) -> bool {
        r.domain == self.hostname
            && (matches!(r.rtype, RType::A | RType::Aaaa | RType::Caa)
                || (r.rtype == RType::Txt && r.value == HELO_SPF))
    }

    /// The server's own records.
    fn server_records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| self.is_server(r))
    }

    /// Mail domain `d`'s own records.
    fn domain_records<'a>(&'a self, d: &'a str) -> impl Iterator<Item = &'a Record> {
        self.records
            .iter()
            .filter(move |r| r.domain == d && !self.is_server(r))
    }
}

/// A TXT text as zone-file character-strings: quoted, `"` and `\` escaped (RFC 1035 §5.1),
/// split so that no string holds more than [`TXT_CHUNK`] bytes (RFC 6376 §3.6.2.2).
pub fn txt_strings(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    bytes
        .chunks(TXT_CHUNK)
        .map(|c| {
            let s = String::from_utf8_lossy(c);
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect()
}

fn zone_line(out: &mut String, r: &Record) {
    let data = match r.rtype {
        RType::Txt => txt_strings(&r.value).join(" "),
        _ => r.value.clone(),
    };
    out.push_str(&format!(
        "; {}\n{}\t{}\tIN\t{}\t{}\n",
        r.purpose, r.name, r.ttl, r.rtype, data
    ));
}

/// Zone-file form (RFC 1035 §5): absolute names, one record a line, each with a comment;
/// PTR instructions and notes as comments. Loads in a zone parser (tested below).
pub fn render_zone(p: &Published) -> String {
    let mut out = String::from(
        "; DNS records for mailstead's mail domains (`mailstead dns --format zone`).\n\
         ; Names are absolute (they end in \".\"): add each line to the zone it belongs to.\n",
    );
    for d in &p.domains {
        out.push_str(&format!("\n; ---- {d} ----\n"));
        for r in p.domain_records(d) {
            zone_line(&mut out, r);
        }
    }
    out.push_str(&format!(
        "\n; ---- the server {} (once, for every domain) ----\n",
        p.hostname
    ));
    for r in p.server_records() {
        zone_line(&mut out, r);
    }
    if !p.ptr.is_empty() {
        out.push_str("\n; Reverse DNS is not in these zones:\n");
        for x in &p.ptr {
            out.push_str(&format!(
                "; {}  ({} PTR {})\n",
                x.instruction, x.reverse_name, x.target
            ));
        }
    }
    if !p.notes.is_empty() {
        out.push('\n');
        for n in &p.notes {
            out.push_str(&format!("; note: {n}\n"));
        }
    }
    out
}

/// The placeholder for a domain without a DKIM key yet (table form only).
pub const NO_DKIM_YET: &str = "(no key yet: run mailstead install)";

fn wrap_into(out: &mut String, text: &str, width: usize, first: &str, rest: &str) {
    let opts = textwrap::Options::new(width.max(40))
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false);
    for l in textwrap::wrap(text, opts) {
        out.push_str(l.trim_end());
        out.push('\n');
    }
}

fn table_record(out: &mut String, r: &Record, width: usize) {
    out.push_str(&format!("  {:<5} {}\n", r.rtype.to_string(), r.name));
    // The value is never wrapped: a DKIM key goes into a web form as one line.
    out.push_str(&format!("        {}\n", r.value));
    wrap_into(out, r.purpose, width, "        # ", "          ");
}

/// Terminal form: per domain, each record as type and name, its value on one line (long
/// DKIM keys unbroken, ready for a provider's web form), and what it is for, wrapped at
/// `width` columns at word boundaries.
pub fn render_table(p: &Published, width: usize) -> String {
    let mut out = String::new();
    for d in &p.domains {
        out.push_str(&format!("Records for {d}\n"));
        let mut dkim_done = false;
        for r in p.domain_records(d) {
            if r.rtype == RType::Txt && r.value.starts_with("v=DMARC1") && !dkim_done {
                if p.missing_dkim.contains(d) {
                    out.push_str(&format!("  TXT   SELECTOR._domainkey.{d}.\n"));
                    out.push_str(&format!("        {NO_DKIM_YET}\n"));
                }
                dkim_done = true;
            }
            table_record(&mut out, r, width);
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "The server {} (once, for every domain)\n",
        p.hostname
    ));
    for r in p.server_records() {
        table_record(&mut out, r, width);
    }
    if !p.ptr.is_empty() {
        out.push_str("\nReverse DNS (PTR): not in your zone, ask the owner\n");
        for x in &p.ptr {
            out.push_str(&format!("  PTR   {} -> {}\n", x.address, x.target));
            wrap_into(&mut out, &x.instruction, width, "        # ", "          ");
        }
    }
    if !p.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &p.notes {
            wrap_into(&mut out, n, width, "  - ", "    ");
        }
    }
    out
}

/// JSON form, stable for machines: `{"records": [{"domain", "name", "type", "value", "ttl",
/// "purpose"}...], "ptr": [{"address", "reverse_name", "target", "instruction"}...],
/// "notes": [text...]}`. `value` as in [`Record::value`] (TXT unquoted and unsplit).
pub fn render_json(p: &Published) -> String {
    let mut s = serde_json::to_string_pretty(p).expect("plain data serializes");
    s.push('\n');
    s
}

/// The short block shown after an install or add-domain: one domain's records in table form;
/// with several domains one line per domain and the command that prints them.
pub fn render_summary(p: &Published, width: usize) -> String {
    let mut out = String::new();
    wrap_into(
        &mut out,
        "DNS: publish these records (`mailstead dns` prints them again, \
         `--format zone` as a zone file)",
        width,
        "",
        "  ",
    );
    if p.domains.len() <= 1 {
        out.push_str(&render_table(p, width));
        return out;
    }
    for d in &p.domains {
        let n = p.domain_records(d).count();
        let dkim = if p.missing_dkim.contains(d) {
            ", DKIM key not made yet"
        } else {
            ""
        };
        out.push_str(&format!("  {d}: {n} records{dkim}: mailstead dns {d}\n"));
    }
    let n = p.server_records().count();
    out.push_str(&format!(
        "  the server {}: {n} records and {} reverse DNS (PTR) to ask for: mailstead dns\n",
        p.hostname,
        p.ptr.len()
    ));
    out
}

/// The `dns` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "dns"
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![(Phase::World, Box::new(check::DnsRecords))]
    }
}

#[cfg(test)]
mod tests;
