//! Whether other mail servers will take this server's mail: what preflight warns about and
//! `mailstead check` reports, in one place (preflight is a step, checks are not; both use
//! these functions, each turning a [`Problem`] into its own kind of message).
//!
//! - [`hostname_addresses`]: the hostname's A/AAAA records include each public address
//!   (other servers connect to the name; RFC 5321 §2.3.5).
//! - [`reverse_dns`]: forward-confirmed reverse DNS (FCrDNS): the PTR of each address names the
//!   hostname, and the hostname resolves back to that address. Large receivers refuse or junk
//!   mail from addresses without it (Gmail's sender guidelines, RFC 8601 §2.7.3 "iprev").
//! - [`blocklists`]: the address on Spamhaus ZEN, SpamCop or Barracuda (DNSBL queries,
//!   RFC 5782 §2.1: the reversed address under the list's zone; an `127.0.0.x` answer lists it).
//! - [`outbound_25`]: can this server open SMTP connections to the big providers at all
//!   (many clouds block outbound port 25)?
//! - [`ipv4_only`]: should Postfix send over IPv4 only (an IPv6 address without FCrDNS)?
use crate::facts::resolver::{normalize, reverse_name, Answer, Resolve};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Something that keeps mail from being delivered well, with the exact fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, naming the address, the record seen and the value expected.
    pub detail: String,
    /// What to do, with the exact record or setting.
    pub fix: String,
}

/// A finding for one address (or list): fine, a problem, or not checked (DNS did not answer:
/// the text says what happened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    Problem(Problem),
    Unknown(String),
}

fn problem(detail: String, fix: String) -> Outcome {
    Outcome::Problem(Problem { detail, fix })
}

/// The record to publish for `name` → `ip` (A for IPv4, AAAA for IPv6), zone-file style.
pub fn address_record(name: &str, ip: IpAddr) -> String {
    let t = if ip.is_ipv4() { "A" } else { "AAAA" };
    format!("{name}. IN {t} {ip}")
}

/// The PTR to set for `ip`, zone-file style (set at whoever owns the address: the hosting
/// provider's panel, usually "reverse DNS" next to the IP).
pub fn ptr_record(ip: IpAddr, fqdn: &str) -> String {
    format!("{}. IN PTR {fqdn}.", reverse_name(ip))
}

/// The hostname resolves (A/AAAA) to `ip`.
pub fn hostname_addresses(r: &dyn Resolve, fqdn: &str, ip: IpAddr) -> Outcome {
    let answer = if ip.is_ipv4() {
        r.a(fqdn).map(|a| Some(IpAddr::V4(a)))
    } else {
        r.aaaa(fqdn).map(|a| Some(IpAddr::V6(a)))
    };
    let t = if ip.is_ipv4() { "A" } else { "AAAA" };
    let publish = format!(
        "publish `{}` at your DNS provider",
        address_record(fqdn, ip)
    );
    match answer {
        Answer::Found(v) if v.contains(&ip) => Outcome::Ok(format!("{fqdn} {t} includes {ip}")),
        Answer::Found(v) => problem(
            format!(
                "{fqdn} resolves to {} ({t}), not to this server's address {ip}",
                v.iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!("{publish} (replacing the other {t} record)"),
        ),
        Answer::NxDomain | Answer::NoRecords => problem(
            format!("{fqdn} has no {t} record: other servers cannot find this server ({ip})"),
            publish,
        ),
        Answer::Unavailable(why) => Outcome::Unknown(why),
    }
}

/// Forward-confirmed reverse DNS of `ip`: its PTR names `fqdn`, and `fqdn` resolves to `ip`.
pub fn reverse_dns(r: &dyn Resolve, fqdn: &str, ip: IpAddr) -> Outcome {
    let fqdn = normalize(fqdn);
    let set_ptr = format!(
        "set the reverse DNS (PTR) of {ip} to {fqdn} where the address is managed (the hosting \
         provider's panel or support): `{}`",
        ptr_record(ip, &fqdn)
    );
    let names = match r.ptr(ip) {
        Answer::Found(v) => v,
        Answer::NxDomain | Answer::NoRecords => {
            return problem(
                format!("{ip} has no reverse DNS (PTR); receivers expect {fqdn}"),
                set_ptr,
            )
        }
        Answer::Unavailable(why) => return Outcome::Unknown(why),
    };
    if !names.contains(&fqdn) {
        return problem(
            format!(
                "the reverse DNS (PTR {}) of {ip} is {}, not {fqdn}",
                reverse_name(ip),
                names.join(", ")
            ),
            set_ptr,
        );
    }
    match hostname_addresses(r, &fqdn, ip) {
        Outcome::Ok(_) => Outcome::Ok(format!(
            "{ip} has reverse DNS {fqdn}, which resolves back to {ip}"
        )),
        Outcome::Problem(p) => problem(
            format!(
                "{ip} has reverse DNS {fqdn}, but it is not forward-confirmed: {}",
                p.detail
            ),
            p.fix,
        ),
        Outcome::Unknown(why) => Outcome::Unknown(why),
    }
}

/// A DNS blocklist (RFC 5782).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocklist {
    pub name: &'static str,
    pub zone: &'static str,
    /// Whether the list answers for IPv6 addresses.
    pub ipv6: bool,
    /// Where to look the address up and ask for removal.
    pub delist: &'static str,
}

/// The lists big receivers use (Spamhaus ZEN = SBL+XBL+PBL+CSS, SpamCop, Barracuda BRBL).
pub const BLOCKLISTS: &[Blocklist] = &[
    Blocklist {
        name: "Spamhaus ZEN",
        zone: "zen.spamhaus.org",
        ipv6: true,
        delist: "https://check.spamhaus.org/",
    },
    Blocklist {
        name: "SpamCop",
        zone: "bl.spamcop.net",
        ipv6: false,
        delist: "https://www.spamcop.net/bl.shtml",
    },
    Blocklist {
        name: "Barracuda",
        zone: "b.barracudacentral.org",
        ipv6: false,
        delist: "https://www.barracudacentral.org/rbl/removal-request",
    },
];

/// The DNSBL query name: the address reversed (octets, or IPv6 nibbles) under the zone.
pub fn dnsbl_name(ip: IpAddr, zone: &str) -> String {
    let rev = reverse_name(ip);
    let rev = rev
        .strip_suffix(".in-addr.arpa")
        .or_else(|| rev.strip_suffix(".ip6.arpa"))
        .unwrap_or(&rev);
    format!("{rev}.{zone}")
}

/// Whether `ip` is on `list`: NXDOMAIN is "not listed"; an answer in 127.0.0.0/8 is
/// "listed", except Spamhaus's 127.255.255.x, which means the query was refused
/// (252 typo, 254 public resolver, 255 too many queries; Spamhaus DNSBL docs, "return codes"):
/// "could not check", as is any answer outside 127/8 (a resolver rewriting NXDOMAIN).
///
/// "Not listed" needs the list to answer at all: an NXDOMAIN is believed only when the list's
/// test entry answers ([`dnsbl_test_entry`]); a resolver that says NXDOMAIN to everything (no
/// internet, a captive or filtering resolver) gives "could not check", never a pass.
pub fn blocklisted(r: &dyn Resolve, ip: IpAddr, list: &Blocklist) -> Outcome {
    if ip.is_ipv6() && !list.ipv6 {
        return Outcome::Ok(format!("{} lists no IPv6 addresses", list.name));
    }
    let q = dnsbl_name(ip, list.zone);
    match r.a(&q) {
        Answer::NxDomain | Answer::NoRecords => match dnsbl_test_entry(r, list.zone) {
            Ok(()) => Outcome::Ok(format!("{ip} is not on {}", list.name)),
            Err(why) => Outcome::Unknown(format!(
                "{} does not answer through this server's resolver ({why})",
                list.name
            )),
        },
        Answer::Unavailable(why) => Outcome::Unknown(why),
        Answer::Found(codes) => {
            if let Some(c) = codes.iter().find(|c| c.octets()[..3] == [127, 255, 255]) {
                return Outcome::Unknown(format!(
                    "{} refused the query for {ip} (answer {c}: queries through public or \
                     shared resolvers are refused; use a resolver of your own)",
                    list.name
                ));
            }
            let listed: Vec<String> = codes
                .iter()
                .filter(|c| c.octets()[0] == 127)
                .map(|c| c.to_string())
                .collect();
            if listed.is_empty() {
                return Outcome::Unknown(format!(
                    "{q} answered {} (not a blocklist answer: the resolver may rewrite \
                     missing names)",
                    codes
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            problem(
                format!(
                    "{ip} is listed on {} ({q} = {})",
                    list.name,
                    listed.join(", ")
                ),
                format!(
                    "find out why and request removal at {} (stop whatever sent spam from this \
                     address first)",
                    list.delist
                ),
            )
        }
    }
}

/// Whether the blocklist at `zone` answers: its test entry `2.0.0.127.ZONE` (RFC 5782 §5:
/// every IPv4 DNSxL MUST list 127.0.0.2) resolves to an address in 127.0.0.0/8 other than
/// 127.255.255.0/24 (Spamhaus's refusals: .254 for a query through a public resolver, .255
/// over quota, .252 typing error). `Err` says what came back instead.
pub fn dnsbl_test_entry(r: &dyn Resolve, zone: &str) -> Result<(), String> {
    let name = format!("2.0.0.127.{zone}");
    match r.a(&name) {
        Answer::Found(ips) => {
            let listed = |ip: &std::net::Ipv4Addr| {
                let o = ip.octets();
                o[0] == 127 && !(o[1] == 255 && o[2] == 255)
            };
            if ips.iter().any(listed) {
                Ok(())
            } else {
                let shown: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
                Err(format!("{name} answered {} (a refusal)", shown.join(", ")))
            }
        }
        Answer::NxDomain => Err(format!("{name} does not exist")),
        Answer::NoRecords => Err(format!("{name} has no A record")),
        Answer::Unavailable(why) => Err(format!("{name}: {why}")),
    }
}

/// A fake DNS where every list of [`BLOCKLISTS`] answers its test entry (tests).
#[cfg(test)]
pub(crate) fn lists_answering(f: crate::facts::resolver::Fake) -> crate::facts::resolver::Fake {
    BLOCKLISTS.iter().fold(f, |f, l| {
        f.with_ip(&format!("2.0.0.127.{}", l.zone), "127.0.0.2")
    })
}

/// Every list's verdict for `ip`, in [`BLOCKLISTS`] order.
pub fn blocklists(r: &dyn Resolve, ip: IpAddr) -> Vec<(&'static Blocklist, Outcome)> {
    BLOCKLISTS
        .iter()
        .map(|l| (l, blocklisted(r, ip, l)))
        .collect()
}

/// The domains whose mail servers the outbound test connects to.
pub const PROVIDERS: &[&str] = &["gmail.com", "outlook.com"];
/// How long the outbound port 25 test may take in all.
pub const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the server can open SMTP connections (TCP port 25) to the providers' mail servers:
/// the first MX of each, each address tried in parallel, `timeout` in all. `connect` is
/// [`tcp_connect`] outside tests.
pub fn outbound_25(
    r: &dyn Resolve,
    providers: &[&str],
    timeout: Duration,
    connect: fn(SocketAddr, Duration) -> Result<(), String>,
) -> Outcome {
    let mut targets: Vec<(String, SocketAddr)> = Vec::new();
    let mut why_none = Vec::new();
    for p in providers {
        let mx = match r.mx(p) {
            Answer::Found(v) => v,
            Answer::Unavailable(w) => {
                why_none.push(w);
                continue;
            }
            _ => {
                why_none.push(format!("{p} has no MX record"));
                continue;
            }
        };
        let Some(first) = mx.first() else { continue };
        match r.ips(&first.exchange) {
            Answer::Found(ips) => {
                // One IPv4 address per provider (and one IPv6 where there is no IPv4).
                let ip = ips
                    .iter()
                    .find(|i| i.is_ipv4())
                    .or(ips.first())
                    .copied()
                    .expect("found is not empty");
                targets.push((first.exchange.clone(), SocketAddr::new(ip, 25)));
            }
            Answer::Unavailable(w) => why_none.push(w),
            _ => why_none.push(format!("{} has no address", first.exchange)),
        }
    }
    if targets.is_empty() {
        return Outcome::Unknown(format!(
            "no provider's mail server could be found: {}",
            why_none.join("; ")
        ));
    }
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    for (name, addr) in &targets {
        let (tx, name, addr) = (tx.clone(), name.clone(), *addr);
        std::thread::spawn(move || {
            let _ = tx.send((name, addr, connect(addr, timeout)));
        });
    }
    drop(tx);
    let mut failures = Vec::new();
    while failures.len() < targets.len() {
        let left = timeout.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok((name, addr, Ok(()))) => {
                return Outcome::Ok(format!("outbound port 25 works ({name}, {addr})"))
            }
            Ok((name, addr, Err(e))) => failures.push(format!("{name} ({addr}): {e}")),
            Err(_) => break,
        }
    }
    // Whatever did not report in time timed out.
    for (name, addr) in &targets {
        if !failures.iter().any(|f| f.starts_with(&format!("{name} ("))) {
            failures.push(format!(
                "{name} ({addr}): no answer within {} s",
                timeout.as_secs()
            ));
        }
    }
    problem(
        format!(
            "outbound port 25 looks blocked: could not connect to {}",
            failures.join("; ")
        ),
        "ask the hosting provider to open outbound port 25, or send through a relay: set \
         `relay_host` in the answers file (your provider's or a mail service's SMTP relay, \
         port 587) and re-run `mailstead install`"
            .into(),
    )
}

/// A TCP connection to `addr` within `timeout`.
pub fn tcp_connect(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    TcpStream::connect_timeout(&addr, timeout)
        .map(drop)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                format!("no answer within {} s", timeout.as_secs())
            }
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            _ => e.to_string(),
        })
}

/// Whether Postfix should send over IPv4 only: some public IPv6 address lacks
/// forward-confirmed reverse DNS (receivers such as Gmail refuse IPv6 mail without it).
/// `None` when DNS did not answer: keep what is configured rather than flip on a DNS hiccup.
pub fn ipv4_only(r: &dyn Resolve, fqdn: &str, v6: &[IpAddr]) -> Option<bool> {
    let mut bad = false;
    for ip in v6.iter().filter(|i| i.is_ipv6()) {
        match reverse_dns(r, fqdn, *ip) {
            Outcome::Ok(_) => {}
            Outcome::Problem(_) => bad = true,
            Outcome::Unknown(_) => return None,
        }
    }
    Some(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::resolver::{Fake, Mx, Record};

    const FQDN: &str = "mail.example.test";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn fcrdns_passes_only_when_both_directions_match() {
        let good = Fake::new()
            .with_ptr("192.0.2.7", FQDN)
            .with_ip(FQDN, "192.0.2.7");
        assert!(matches!(
            reverse_dns(&good, FQDN, ip("192.0.2.7")),
            Outcome::Ok(_)
        ));

        let other = Fake::new()
            .with_ptr("192.0.2.7", "other.example.test")
            .with_ip(FQDN, "192.0.2.7");
        let Outcome::Problem(p) = reverse_dns(&other, FQDN, ip("192.0.2.7")) else {
            panic!()
        };
        assert!(
            p.detail
                .contains("is other.example.test, not mail.example.test"),
            "{p:?}"
        );
        assert!(
            p.fix
                .contains("`7.2.0.192.in-addr.arpa. IN PTR mail.example.test.`"),
            "{p:?}"
        );

        let not_forward = Fake::new()
            .with_ptr("192.0.2.7", FQDN)
            .with_ip(FQDN, "192.0.2.99");
        let Outcome::Problem(p) = reverse_dns(&not_forward, FQDN, ip("192.0.2.7")) else {
            panic!()
        };
        assert!(p.detail.contains("not forward-confirmed"), "{p:?}");
        assert!(
            p.fix.contains("`mail.example.test. IN A 192.0.2.7`"),
            "{p:?}"
        );

        let none = Fake::new();
        let Outcome::Problem(p) = reverse_dns(&none, FQDN, ip("192.0.2.7")) else {
            panic!()
        };
        assert!(p.detail.contains("no reverse DNS"), "{p:?}");

        assert!(matches!(
            reverse_dns(&Fake::silent(), FQDN, ip("192.0.2.7")),
            Outcome::Unknown(_)
        ));
    }

    #[test]
    fn hostname_must_point_here() {
        let f = Fake::new().with_ip(FQDN, "198.51.100.1");
        let Outcome::Problem(p) = hostname_addresses(&f, FQDN, ip("192.0.2.7")) else {
            panic!()
        };
        assert!(
            p.detail
                .contains("resolves to 198.51.100.1 (A), not to this server's address 192.0.2.7"),
            "{p:?}"
        );
        let Outcome::Problem(p) = hostname_addresses(&Fake::new(), FQDN, ip("2001:db8::7")) else {
            panic!()
        };
        assert!(
            p.fix.contains("`mail.example.test. IN AAAA 2001:db8::7`"),
            "{p:?}"
        );
    }

    #[test]
    fn blocklist_answers() {
        assert_eq!(
            dnsbl_name(ip("192.0.2.7"), "zen.spamhaus.org"),
            "7.2.0.192.zen.spamhaus.org"
        );
        let listed =
            lists_answering(Fake::new()).with_ip("7.2.0.192.zen.spamhaus.org", "127.0.0.2");
        let v = blocklists(&listed, ip("192.0.2.7"));
        let Outcome::Problem(p) = &v[0].1 else {
            panic!("{v:?}")
        };
        assert!(p.detail.contains("listed on Spamhaus ZEN"), "{p:?}");
        assert!(p.fix.contains("https://check.spamhaus.org/"), "{p:?}");
        assert!(matches!(v[1].1, Outcome::Ok(_)) && matches!(v[2].1, Outcome::Ok(_)));

        // Spamhaus refusing a public resolver is not a listing.
        let refused = Fake::new().with_ip("7.2.0.192.zen.spamhaus.org", "127.255.255.254");
        let Outcome::Unknown(why) = blocklisted(&refused, ip("192.0.2.7"), &BLOCKLISTS[0]) else {
            panic!()
        };
        assert!(why.contains("refused"), "{why}");
        // A resolver answering every name is not a listing either.
        let hijack = Fake::new().with_ip("7.2.0.192.bl.spamcop.net", "198.51.100.80");
        assert!(matches!(
            blocklisted(&hijack, ip("192.0.2.7"), &BLOCKLISTS[1]),
            Outcome::Unknown(_)
        ));
        // IPv6: only Spamhaus is asked.
        let seen = Fake::silent();
        let v = blocklists(&seen, ip("2001:db8::7"));
        assert!(matches!(v[0].1, Outcome::Unknown(_)));
        assert!(matches!(v[1].1, Outcome::Ok(_)) && matches!(v[2].1, Outcome::Ok(_)));
        // NXDOMAIN for everything (no internet, a filtering resolver): "could not check",
        // because the lists' own test entries do not answer either; never "not listed".
        let v = blocklists(&Fake::new(), ip("192.0.2.7"));
        for (l, o) in &v {
            let Outcome::Unknown(why) = o else {
                panic!("{}: {o:?}", l.name)
            };
            assert!(
                why.contains(&format!("2.0.0.127.{} does not exist", l.zone)),
                "{why}"
            );
        }
        // With the test entries answering, NXDOMAIN is "not listed".
        let v = blocklists(&lists_answering(Fake::new()), ip("192.0.2.7"));
        assert!(v.iter().all(|(_, o)| matches!(o, Outcome::Ok(_))), "{v:?}");
    }

    fn providers() -> Fake {
        Fake::new()
            .with(
                "gmail.com",
                Record::Mx(Mx {
                    preference: 5,
                    exchange: "mx.gmail.test".into(),
                }),
            )
            .with_ip("mx.gmail.test", "10.0.0.25")
    }

    #[test]
    fn outbound_25_blocked_names_what_was_tried_and_the_relay() {
        let o = outbound_25(
            &providers(),
            PROVIDERS,
            Duration::from_millis(300),
            |_, _| Err("connection refused".into()),
        );
        let Outcome::Problem(p) = o else {
            panic!("{o:?}")
        };
        assert!(
            p.detail
                .contains("mx.gmail.test (10.0.0.25:25): connection refused"),
            "{p:?}"
        );
        assert!(p.fix.contains("relay_host"), "{p:?}");
        // A connect that hangs is cut at the total timeout.
        let t = Instant::now();
        let o = outbound_25(
            &providers(),
            PROVIDERS,
            Duration::from_millis(300),
            |_, _| {
                std::thread::sleep(Duration::from_secs(3));
                Ok(())
            },
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        let Outcome::Problem(p) = o else {
            panic!("{o:?}")
        };
        assert!(p.detail.contains("no answer within"), "{p:?}");
        let o = outbound_25(
            &providers(),
            PROVIDERS,
            Duration::from_millis(300),
            |_, _| Ok(()),
        );
        assert!(matches!(o, Outcome::Ok(_)), "{o:?}");
        let o = outbound_25(
            &Fake::silent(),
            PROVIDERS,
            Duration::from_millis(300),
            |_, _| Ok(()),
        );
        assert!(matches!(o, Outcome::Unknown(_)), "{o:?}");
    }

    #[test]
    fn ipv4_only_until_ipv6_has_fcrdns() {
        let v6 = [ip("2001:db8::7")];
        let without = Fake::new().with_ip(FQDN, "2001:db8::7");
        assert_eq!(ipv4_only(&without, FQDN, &v6), Some(true));
        let with = without.clone().with_ptr("2001:db8::7", FQDN);
        assert_eq!(ipv4_only(&with, FQDN, &v6), Some(false));
        assert_eq!(ipv4_only(&Fake::silent(), FQDN, &v6), None);
        assert_eq!(ipv4_only(&Fake::silent(), FQDN, &[]), Some(false));
    }
}
