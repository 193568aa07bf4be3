//! `dns-records`: DNS as published versus what `mailstead dns` prints ([`super::inputs`] and
//! [`super::expected`]): MX, SPF, each DKIM key (the `p=` published must be the public half of
//! the private key on disk, RFC 6376 §3.6.1), DMARC and the hostname's A/AAAA must be there
//! (fail, printing the exact record to publish); TLS-RPT, SRV, CAA and the HELO SPF are advice
//! (warn). An admin's own DMARC policy or SPF mechanisms of a relay are respected: DMARC passes
//! with any `v=DMARC1` record, SPF must contain `mx` (or `a` of the hostname) and must not end
//! in `+all`. `mailstead check` only.
use crate::facts::dkim::{dkim_seen, DkimSeen};
use crate::facts::resolver::Dns;
use crate::facts::{dkim_p, PublicAddresses};
use mailstead_answers::Answers;
use mailstead_engine::{Check, Ctx, Finding};
use std::net::IpAddr;

/// `dns-records`: see the module docs.
pub struct DnsRecords;

/// One expected record compared with what DNS answers: `Ok`, a required one missing or wrong
/// (`Problem`), advice (`Advice`), or no answer (`Unknown`).
enum Seen {
    Ok,
    Problem(String),
    Advice(String),
    Unknown(String),
}

/// The record as a zone-file line to publish (TXT quoted, unsplit: `mailstead dns --format
/// zone` splits long ones into 255-byte strings).
fn zone_line(rec: &super::Record) -> String {
    match rec.rtype {
        super::RType::Txt => format!("{} IN TXT \"{}\"", rec.name, rec.value),
        _ => format!("{} IN {} {}", rec.name, rec.rtype, rec.value),
    }
}

/// SPF that lets this server send: an `mx` or `a:HOSTNAME` mechanism (or `a` on the
/// hostname's own record), and no `+all`/`all` at the end (RFC 7208 §5.1).
fn spf_allows(spf: &str, hostname: &str) -> bool {
    let terms: Vec<&str> = spf.split_whitespace().collect();
    let lets_us = terms.iter().any(|t| {
        let t = t.trim_start_matches('+');
        t == "mx" || t.starts_with("mx:") || t.starts_with("mx/") || *t == format!("a:{hostname}")
    });
    let open = terms.iter().any(|t| *t == "+all" || *t == "all");
    lets_us && !open
}

fn compare(r: &dyn crate::facts::resolver::Resolve, hostname: &str, rec: &super::Record) -> Seen {
    use super::RType;
    use crate::facts::resolver::Answer;
    let name = rec.name.trim_end_matches('.');
    let publish = zone_line(rec);
    let unknown = |w: String| Seen::Unknown(format!("{name} {}: {w}", rec.rtype));
    match rec.rtype {
        RType::Mx => match r.mx(name) {
            Answer::Unavailable(w) => unknown(w),
            Answer::Found(v) if v.iter().any(|m| m.exchange == hostname) => Seen::Ok,
            Answer::Found(v) => Seen::Problem(format!(
                "the MX of {name} is {}, not this server; publish `{publish}`",
                v.iter()
                    .map(|m| format!("{} {}", m.preference, m.exchange))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Seen::Problem(format!("{name} has no MX record; publish `{publish}`")),
        },
        RType::A | RType::Aaaa => {
            let want: IpAddr = match rec.value.parse() {
                Ok(ip) => ip,
                Err(_) => return Seen::Ok,
            };
            match r.ips(name) {
                Answer::Unavailable(w) => unknown(w),
                Answer::Found(v) if v.contains(&want) => Seen::Ok,
                Answer::Found(v) => Seen::Problem(format!(
                    "{name} resolves to {}, not {want}; publish `{publish}`",
                    v.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => Seen::Problem(format!("{name} does not resolve; publish `{publish}`")),
            }
        }
        RType::Txt => {
            let txts = match r.txt(name) {
                Answer::Unavailable(w) => return unknown(w),
                Answer::Found(v) => v,
                _ => Vec::new(),
            };
            let value = rec.value.as_str();
            if value.starts_with("v=DKIM1") {
                let want = dkim_p(value).unwrap_or_default();
                // The best of the records at the name: one right record among others is
                // enough for receivers.
                let seen = txts
                    .iter()
                    .map(|t| dkim_seen(t, &want))
                    .min()
                    .unwrap_or(DkimSeen::NoKey);
                return match seen.problem(name) {
                    None => Seen::Ok,
                    Some(problem) => Seen::Problem(format!("{problem}; publish `{publish}`")),
                };
            }
            let prefix = value
                .split_whitespace()
                .next()
                .unwrap_or(value)
                .trim_end_matches(';');
            let matching: Vec<&String> = txts.iter().filter(|t| t.starts_with(prefix)).collect();
            let required = prefix == "v=spf1" && rec.domain != hostname || prefix == "v=DMARC1";
            match (prefix, matching.as_slice()) {
                (_, []) if required => {
                    Seen::Problem(format!("no {} record at {name}; publish `{publish}`", kind_of(prefix)))
                }
                (_, []) => Seen::Advice(format!("no {} record at {name}", kind_of(prefix))),
                ("v=spf1", [one]) if rec.domain != hostname && !spf_allows(one, hostname) => Seen::Problem(format!(
                    "the SPF of {name} is `{one}`, which does not let this server send (or lets anyone); publish `{publish}`"
                )),
                ("v=spf1", [_, _, ..]) => Seen::Problem(format!(
                    "{name} has {} SPF records (RFC 7208 §3.2 allows one: receivers then fail SPF); keep only `{publish}`",
                    matching.len()
                )),
                _ => Seen::Ok,
            }
        }
        RType::Srv => match r.srv(name) {
            Answer::Unavailable(w) => unknown(w),
            Answer::Found(_) => Seen::Ok,
            _ => Seen::Advice(format!("no SRV record at {name}")),
        },
        RType::Caa => match r.caa(name) {
            Answer::Unavailable(w) => unknown(w),
            Answer::Found(_) => Seen::Ok,
            _ => Seen::Advice(format!("no CAA record at {name}")),
        },
    }
}

fn kind_of(prefix: &str) -> &'static str {
    match prefix {
        "v=spf1" => "SPF",
        "v=DMARC1" => "DMARC",
        "v=TLSRPTv1" => "TLS-RPT",
        _ => "TXT",
    }
}

impl Check<Answers> for DnsRecords {
    fn name(&self) -> &'static str {
        "dns-records"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let dns = match ctx.fact::<Dns>() {
            Ok(d) => d,
            Err(e) => {
                return Finding::warn(format!("DNS records not checked: {e:#}"), "make DNS work")
            }
        };
        let r =
            match dns.resolver() {
                Ok(r) => r,
                Err(why) => return Finding::warn(
                    format!("DNS records not checked: {why}"),
                    "give the server a working /etc/resolv.conf, then run `mailstead check` again",
                ),
            };
        let public = ctx
            .fact::<PublicAddresses>()
            .map(|p| (*p).clone())
            .unwrap_or_default();
        let keys = ctx.fact::<crate::facts::DkimKeys>().ok();
        let inputs = super::inputs(ctx.answers, &public, keys.as_deref());
        let hostname = ctx.answers.hostname.trim().to_ascii_lowercase();
        let expected = super::expected(&inputs);
        let (mut ok, mut problems, mut advice, mut unknown) =
            (0, Vec::new(), Vec::new(), Vec::new());
        for rec in &expected {
            match compare(r, &hostname, rec) {
                Seen::Ok => ok += 1,
                Seen::Problem(p) => problems.push(p),
                Seen::Advice(a) => advice.push(a),
                Seen::Unknown(u) => unknown.push(u),
            }
        }
        let all = "`mailstead dns --format zone` prints every record";
        if !problems.is_empty() {
            let mut detail = problems.join("; ");
            if !advice.is_empty() {
                detail.push_str(&format!("; also: {}", advice.join("; ")));
            }
            return Finding::fail(
                detail,
                format!("publish the records named above at your DNS provider ({all})"),
            );
        }
        if !unknown.is_empty() {
            return Finding::warn(
                format!(
                    "{} of {} records could not be checked: {}",
                    unknown.len(),
                    expected.len(),
                    unknown.join("; ")
                ),
                "run `mailstead check` again when DNS answers",
            );
        }
        if !advice.is_empty() {
            return Finding::warn(
                format!(
                    "the required records are published ({ok} as expected); advice: {}",
                    advice.join("; ")
                ),
                format!(
                    "publish them too ({all}): TLS-RPT reports TLS failures to you, SRV records \
                     let mail clients find their settings, CAA lets only your CA issue for the \
                     hostname"
                ),
            );
        }
        Finding::pass(format!(
            "all {ok} records as `mailstead dns` prints them, for {} domain(s)",
            inputs.domains.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::resolver::Fake;
    use crate::testing::{ctx, with_address};
    use mailstead_engine::{MemHost, Status};

    /// DNS as published versus `mailstead dns`: everything required there passes (advice for
    /// the rest warns); a wrong SPF and a DKIM record of another key fail, printing the exact
    /// record to publish; no answer warns.
    #[test]
    fn dns_records_compare_with_what_dns_prints() {
        use crate::facts::resolver::{Mx, Record};
        use crate::facts::{DkimKey, DkimKeys};
        let h = MemHost::fake();
        with_address(&h);
        let mut a = crate::testing::mail_answers();
        a.domains.retain(|d| d.name == "example.test");
        let keys = DkimKeys {
            by_domain: [(
                "example.test".to_string(),
                vec![DkimKey {
                    selector: "s20261129".into(),
                    public_key: "MIIBKEY".into(),
                    signing: true,
                    mode: 0o600,
                    owner: "_rspamd:_rspamd".into(),
                }],
            )]
            .into(),
            map: Default::default(),
        };
        let dns = |spf: &str, p: &str| {
            Fake::new()
                .with_ip("mail.example.test", "192.0.2.7")
                .with(
                    "example.test",
                    Record::Mx(Mx {
                        preference: 10,
                        exchange: "mail.example.test".into(),
                    }),
                )
                .with("example.test", Record::Txt(spf.into()))
                .with(
                    "s20261129._domainkey.example.test",
                    Record::Txt(format!("v=DKIM1; k=rsa; p={p}")),
                )
                .with(
                    "_dmarc.example.test",
                    Record::Txt("v=DMARC1; p=reject".into()),
                )
        };
        let run = |fake: Fake| {
            let c = ctx(&h, &a);
            c.facts.insert(keys.clone());
            c.facts.insert(Dns::with(fake));
            DnsRecords.run(&c)
        };
        let f = run(dns("v=spf1 mx -all", "MIIBKEY"));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.contains("required records are published"), "{f:?}");
        assert!(f.detail.contains("_smtp._tls.example.test"), "{f:?}");

        let f = run(dns("v=spf1 a:elsewhere.test -all", "MIIBKEY"));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.contains("does not let this server send")
                && f.detail
                    .contains("`example.test. IN TXT \"v=spf1 mx -all\"`"),
            "{f:?}"
        );
        let f = run(dns("v=spf1 mx -all", "MIIBOTHER"));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail
                .contains("does not match this server's private key")
                && f.detail.contains("p=MIIBKEY"),
            "{f:?}"
        );
        // Cut at one string, or pasted with its quotes: said so, with how to paste.
        let f = run(dns("v=spf1 mx -all", "MIIB"));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.contains(
                "the DKIM record at s20261129._domainkey.example.test is cut: its p= holds the first 4 of the key's 7 characters"
            ) && !f.detail.contains("does not match")
                && f.detail.contains("p=MIIBKEY"),
            "{f:?}"
        );
        let f = run(dns("v=spf1 mx -all", "MIIBKEY\""));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.contains("holds `\"` characters")
                && f.detail.contains("without the quotes")
                && !f.detail.contains("does not match"),
            "{f:?}"
        );
        let f = run(Fake::silent());
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.contains("could not be checked"), "{f:?}");
        assert!(spf_allows("v=spf1 mx -all", "mail.example.test"));
        assert!(!spf_allows("v=spf1 mx +all", "mail.example.test"));
        assert!(spf_allows(
            "v=spf1 a:mail.example.test ~all",
            "mail.example.test"
        ));
    }
}
