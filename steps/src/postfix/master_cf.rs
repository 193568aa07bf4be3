//! `master.cf`: the services mailstead owns (postscreen on 25, submission, submissions), and
//! the smtp client's IPv4-only option while IPv6 has no reverse DNS.
use super::paths::MASTER_CF;
use crate::facts::postconf::squash;
use crate::facts::resolver::Dns;
use crate::facts::{Ipv6, PostconfMaster, PublicAddresses};
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, When};

/// Options shared by both submission services: TLS and AUTH required, only authenticated
/// users relay, and only as an address their login owns.
const SUBMISSION_OPTS: &[&str] = &[
    "smtpd_tls_security_level=encrypt",
    "smtpd_sasl_auth_enable=yes",
    "smtpd_tls_auth_only=yes",
    "smtpd_client_restrictions=permit_sasl_authenticated,reject",
    // The null sender (`MAIL FROM:<>`) is never checked against the login map
    // (smtpd_null_access_lookup_key `<>`): refuse it on submission, where only people send.
    "smtpd_sender_restrictions=check_sender_access,inline:{<>=REJECT},reject_sender_login_mismatch",
    "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    "smtpd_recipient_restrictions=permit_sasl_authenticated,reject",
];

/// The master.cf entries mailstead owns, as `(service/type, entry)`.
pub fn master_entries() -> Vec<(&'static str, String)> {
    let entry = |name: &str, extra: &[&str]| {
        let mut e = format!("{name} inet n - y - - smtpd -o syslog_name=postfix/{name}");
        for o in extra.iter().chain(SUBMISSION_OPTS) {
            e.push_str(" -o ");
            e.push_str(o);
        }
        e
    };
    vec![
        // Port 25 through postscreen, which hands the clients it lets in to `smtpd/pass`;
        // `dnsblog` asks the DNS blocklists, `tlsproxy` serves STARTTLS while postscreen
        // still talks (Postfix POSTSCREEN_README, "Turning on postscreen(8) without
        // blocking mail"; chroot as Debian's commented entries and the submission ports).
        ("smtp/inet", "smtp inet n - y - 1 postscreen".to_string()),
        ("smtpd/pass", "smtpd pass - - y - - smtpd".to_string()),
        ("dnsblog/unix", "dnsblog unix - - y - 0 dnsblog".to_string()),
        (
            "tlsproxy/unix",
            "tlsproxy unix - - y - 0 tlsproxy".to_string(),
        ),
        ("submission/inet", entry("submission", &[])),
        (
            "submissions/inet",
            entry("submissions", &["smtpd_tls_wrappermode=yes"]),
        ),
    ]
}

/// The entries that differ from `now`, as `service/type=entry` arguments and `service/type:
/// old -> new` lines: Postfix's own ([`master_entries`]), then `contributed`
/// ([`crate::capability::postfix_master`]).
pub(super) fn master_diff(
    now: &PostconfMaster,
    contributed: &[(&'static str, String)],
) -> (Vec<String>, Vec<String>) {
    let mut want = master_entries();
    want.extend(contributed.iter().cloned());
    let mut args = Vec::new();
    let mut detail = Vec::new();
    for (svc, entry) in &want {
        let old = now.0.as_ref().and_then(|m| m.get(*svc));
        if old.map(String::as_str) != Some(entry.as_str()) {
            args.push(format!("{svc}={entry}"));
            detail.push(format!(
                "{svc}: {} -> {entry}",
                old.map(String::as_str).unwrap_or("(absent)")
            ));
        }
    }
    (args, detail)
}

// ---- IPv6 without forward-confirmed reverse DNS: send over IPv4 only until it has one.
// Receivers such as Gmail refuse mail over IPv6 from an address without FCrDNS.
// `smtp_address_preference = ipv4` only orders the addresses tried and still falls back to
// IPv6 (postconf(5)); the SMTP client's own `inet_protocols` (a master.cf `-o` on the
// `smtp/unix` entry) keeps it on IPv4 while the server still receives over IPv6. Re-running
// once the PTR is published takes the override away again. When DNS does not answer, the
// entry is left as it is (no flip on a DNS hiccup).

/// The `-o` mailstead adds to master.cf's `smtp/unix` entry while IPv6 lacks FCrDNS.
pub const SMTP_IPV4_ONLY: &str = "-o inet_protocols=ipv4";

/// The `smtp/unix` entry with or without [`SMTP_IPV4_ONLY`], the rest kept as it is.
pub fn smtp_client_entry(current: &str, ipv4_only: bool) -> String {
    let base = squash(&current.replace(SMTP_IPV4_ONLY, ""));
    if ipv4_only {
        format!("{base} {SMTP_IPV4_ONLY}")
    } else {
        base
    }
}

/// The `postconf -M` that adds or removes the override, when the decision
/// ([`crate::facts::deliverability::ipv4_only`]) differs from master.cf.
pub(super) fn smtp_ipv4_only_change(ctx: &Ctx<Answers>) -> Result<Option<Change>> {
    if !ctx.fact::<Ipv6>()?.available {
        return Ok(None); // inet_protocols = ipv4 for all of Postfix already
    }
    let v6 = ctx.fact::<PublicAddresses>()?.v6();
    let master = ctx.fact::<PostconfMaster>()?;
    let Some(current) = master.get("smtp/unix") else {
        return Ok(None);
    };
    let want_v4 = if v6.is_empty() {
        Some(false)
    } else {
        let dns = ctx.fact::<Dns>()?;
        match dns.resolver() {
            Ok(r) => crate::facts::deliverability::ipv4_only(r, &ctx.answers.hostname, &v6),
            Err(_) => None,
        }
    };
    let Some(want_v4) = want_v4 else {
        return Ok(None);
    };
    let want = smtp_client_entry(current, want_v4);
    if squash(current) == want {
        return Ok(None);
    }
    Ok(Some(Change::Run {
        summary: if want_v4 {
            "postconf: send over IPv4 only (IPv6 has no matching reverse DNS yet)".into()
        } else {
            "postconf: send over IPv6 again (its reverse DNS matches now)".into()
        },
        cmd: Cmd::new("postconf", ["-M".to_string(), format!("smtp/unix={want}")]).files_only(),
        touches: vec![MASTER_CF.into()],
        detail: vec![format!("smtp/unix: {current} -> {want}")],
        when: When::Always,
        keep: false,
    }))
}
