//! `main.cf`: the settings mailstead owns (Postfix's own, then what the other capabilities
//! contribute, then the relay host's), and how they differ from what Postfix has now.
use super::paths::MAIN_CF;
use super::relay::{relay_settings, relayhost};
use crate::capability::{self, Registry};
use crate::facts::postconf::squash;
use crate::facts::resolver::Dns;
use crate::facts::{Certificates, Ipv6, PostconfMain, PublicAddresses};
use crate::layout::{
    cert_paths, ALIASES_MAP, DOMAINS_MAP, MAILBOXES_MAP, SENDERS_MAP, SENDER_ACCESS_MAP,
};
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx};

/// Relay only for the local machine and authenticated users; 554 for everyone else (Debian's
/// default `defer_unauth_destination` answers 454, which senders keep retrying).
pub(super) const RELAY: &str =
    "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination";
/// Dovecot's quota-status policy service ([`crate::postfix::paths::QUOTA_STATUS`], relative to
/// Postfix's queue directory as Postfix writes local sockets).
const QUOTA_POLICY: &str = "check_policy_service unix:private/quota-status";

/// Every main.cf setting mailstead owns, in the order the plan shows them.
/// `ipv6`: the host has IPv6 ([`crate::facts::Ipv6`]).
///
/// Every setting the design relies on is written, not left to what the package (or an earlier
/// "Local only" install) set: listening on all interfaces (`inet_interfaces`), the protocols
/// the host has (`inet_protocols`), mail for other domains going out over SMTP
/// (`default_transport`, `relay_transport`, no `relayhost`), `+` as the address extension
/// delimiter. Postfix: postconf(5).
///
/// `contributed`: what the other capabilities hand Postfix ([`capability::postfix_main`], e.g.
/// the signer's milter), written after Postfix's own settings and before the relay host's.
pub fn main_settings(
    a: &Answers,
    ipv6: bool,
    contributed: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let (fullchain, privkey) = cert_paths(&a.hostname);
    let host_is_virtual = a.domains.iter().any(|d| d.name == a.hostname);
    let mydestination = if host_is_virtual {
        "localhost.$mydomain, localhost"
    } else {
        "$myhostname, localhost.$mydomain, localhost"
    };
    let s = |v: &str| v.to_string();
    vec![
        // Identity. The host's own name stays local (root's and cron's mail); the mail
        // domains are virtual only.
        ("myhostname", a.hostname.clone()),
        ("mydomain", mydomain(&a.hostname)),
        ("myorigin", s("$myhostname")),
        ("mydestination", s(mydestination)),
        (
            "mynetworks",
            s(if ipv6 {
                "127.0.0.0/8 [::1]/128"
            } else {
                "127.0.0.0/8"
            }),
        ),
        // Listening and sending: Debian's "Local only" sets loopback-only and `error`
        // transports, which bounce all outgoing mail.
        ("inet_interfaces", s("all")),
        ("inet_protocols", s(if ipv6 { "all" } else { "ipv4" })),
        ("default_transport", s("smtp")),
        ("relay_transport", s("relay")),
        // Empty unless the answers name a relay host: see the relay block at the end.
        ("relayhost", relayhost(a)),
        ("smtpd_banner", s("$myhostname ESMTP")),
        ("smtpd_helo_required", s("yes")),
        (
            "smtpd_helo_restrictions",
            s("permit_mynetworks, permit_sasl_authenticated, reject_invalid_helo_hostname"),
        ),
        ("disable_vrfy_command", s("yes")),
        ("message_size_limit", a.message_size_limit.to_string()),
        // Virtual domains, delivered to Dovecot over LMTP.
        ("virtual_mailbox_domains", format!("hash:{DOMAINS_MAP}")),
        ("virtual_mailbox_maps", format!("hash:{MAILBOXES_MAP}")),
        ("virtual_alias_maps", format!("hash:{ALIASES_MAP}")),
        // Sub-addresses: `alice+lists@` reaches `alice@` (in the alias, mailbox and sender map
        // lookups; Dovecot's LMTP strips the same `+`). Postfix's default is none; the alias
        // graph (mailstead_answers::aliases) resolves `+tag` targets the same way.
        ("recipient_delimiter", s("+")),
        ("virtual_transport", s("lmtp:unix:private/dovecot-lmtp")),
        // TLS: the certificate from certbot; opportunistic on 25, TLS 1.2 or newer.
        (
            "smtpd_tls_cert_file",
            fullchain.to_string_lossy().into_owned(),
        ),
        ("smtpd_tls_key_file", privkey.to_string_lossy().into_owned()),
        ("smtpd_tls_security_level", s("may")),
        ("smtpd_tls_auth_only", s("yes")),
        ("smtpd_tls_protocols", s(">=TLSv1.2")),
        ("smtpd_tls_mandatory_protocols", s(">=TLSv1.2")),
        ("smtpd_tls_loglevel", s("1")),
        ("smtpd_tls_received_header", s("yes")),
        ("smtp_tls_security_level", s("may")),
        ("smtp_tls_loglevel", s("1")),
        // SMTP AUTH through Dovecot, offered on the submission ports only (master.cf).
        ("smtpd_sasl_type", s("dovecot")),
        ("smtpd_sasl_path", s("private/auth")),
        ("smtpd_sasl_auth_enable", s("no")),
        ("smtpd_sender_login_maps", format!("hash:{SENDERS_MAP}")),
        // On 25: mail that claims to come from one of our mailboxes must come from its
        // logged-in owner (submission), not from anyone on the internet.
        // (reject_unauthenticated_sender_login_mismatch does nothing where SASL is off, as
        // on 25: an access map of our own domains does it; see mailboxes::sender_access.)
        (
            "smtpd_sender_restrictions",
            format!("permit_mynetworks, check_sender_access hash:{SENDER_ACCESS_MAP}"),
        ),
        // Set once each; nothing here turns away an ordinary sender.
        ("smtpd_relay_restrictions", s(RELAY)),
        // After the relay rules: a local recipient whose mailbox is full is refused at RCPT
        // with 552 by Dovecot's quota-status service (Postfix SMTPD_POLICY_README, Dovecot
        // "Quota Service"), rather than accepted and bounced later.
        (
            "smtpd_recipient_restrictions",
            format!("{RELAY}, {QUOTA_POLICY}"),
        ),
    ]
    .into_iter()
    .chain(postscreen_settings(a))
    .chain(contributed.iter().cloned())
    .chain(relay_settings(a))
    .collect()
}

/// postscreen on port 25 (master.cf `smtp/inet`, see [`super::master_entries`]).
///
/// Postfix POSTSCREEN_README: a client that talks before the greeting (a bot that does
/// not wait) is logged as PREGREET and refused at RCPT with 550; one that waits is
/// handed to smtpd and remembered for a day. The deep protocol tests after the 220
/// (pipelining, non-SMTP commands, bare newlines) stay off, written so they cannot
/// drift: they make every legitimate sender retry once. The local machine is never
/// tested (`permit_mynetworks`), nor are the server's own addresses (see
/// `postscreen_access_list`: `main_diff` puts them in).
fn postscreen_settings(a: &Answers) -> Vec<(&'static str, String)> {
    let s = String::from;
    vec![
        ("postscreen_access_list", postscreen_access_list(&[])),
        ("postscreen_greet_action", s("enforce")),
        ("postscreen_pipelining_enable", s("no")),
        ("postscreen_non_smtp_command_enable", s("no")),
        ("postscreen_bare_newline_enable", s("no")),
        // DNS blocklists, weighted, from the answers (none by default: off).
        (
            "postscreen_dnsbl_sites",
            a.postscreen_dnsbl_sites.join(", "),
        ),
        (
            "postscreen_dnsbl_threshold",
            a.postscreen_dnsbl_threshold.to_string(),
        ),
        (
            "postscreen_dnsbl_action",
            s(if a.postscreen_dnsbl_sites.is_empty() {
                "ignore"
            } else {
                "enforce"
            }),
        ),
    ]
}

/// The parent domain of the host name (`mail.example.org` → `example.org`); the name itself
/// when it has only two labels.
fn mydomain(hostname: &str) -> String {
    match hostname.split_once('.') {
        Some((_, rest)) if rest.contains('.') => rest.to_string(),
        _ => hostname.to_string(),
    }
}

/// postscreen's permanent allow list: the local machine (`permit_mynetworks`) and the
/// server's own addresses (`own`, [`PublicAddresses`]), as an inline CIDR table (Postfix >= 3.7,
/// DATABASE_README; cidr_table(5)). mailstead's `delivery` check connects to port 25 from the
/// server's own public address, and would otherwise wait postscreen's greeting (6 s) once a
/// day, in every install too.
pub fn postscreen_access_list(own: &[std::net::IpAddr]) -> String {
    if own.is_empty() {
        return "permit_mynetworks".into();
    }
    let rules: Vec<String> = own.iter().map(|ip| format!("{{{ip} permit}}")).collect();
    format!("permit_mynetworks, cidr:{{ {} }}", rules.join(", "))
}

/// The DNS name of one `postscreen_dnsbl_sites` entry (`domain[=filter][*weight]`, as the
/// answers allow): `zen.spamhaus.org=127.0.0.[2..11]*3` -> `zen.spamhaus.org`.
pub fn dnsbl_domain(site: &str) -> &str {
    site.split(['=', '*']).next().unwrap_or(site)
}

/// Whether the blocklist `domain` answers through this server's resolver
/// ([`crate::facts::deliverability::dnsbl_test_entry`], RFC 5782 §5). `Err` says what came back.
pub fn dnsbl_answers(dns: &Dns, domain: &str) -> std::result::Result<(), String> {
    let resolver = dns
        .resolver()
        .map_err(|why| format!("no resolver: {why}"))?;
    crate::facts::deliverability::dnsbl_test_entry(resolver, domain)
}

/// The answers' `postscreen_dnsbl_sites` whose lists answer ([`dnsbl_answers`]), and for each
/// other one why it was left out. postscreen would otherwise wait on (and weight nothing from) a
/// list this server cannot reach: the "off when no resolver can reach the lists". A
/// re-run puts a list back once it answers.
pub(super) fn reachable_dnsbl_sites(a: &Answers, dns: &Dns) -> (Vec<String>, Vec<String>) {
    let mut reachable = Vec::new();
    let mut left_out = Vec::new();
    for site in &a.postscreen_dnsbl_sites {
        match dnsbl_answers(dns, dnsbl_domain(site)) {
            Ok(()) => reachable.push(site.clone()),
            Err(why) => left_out.push(format!("{site} ({why})")),
        }
    }
    (reachable, left_out)
}

/// The settings that differ, as `key=value` arguments and `key: old -> new` lines.
/// `cert`: the chain and key to serve ([`Certificates::serving`]), in place of certbot's.
/// `own`: the server's addresses ([`PublicAddresses`]) for [`postscreen_access_list`].
/// `dnsbl`: the blocklists that answer ([`reachable_dnsbl_sites`]); none: DNSBL off.
fn main_diff(
    now: &PostconfMain,
    a: &Answers,
    ipv6: bool,
    cert: &(std::path::PathBuf, std::path::PathBuf),
    own: &[std::net::IpAddr],
    dnsbl: &[String],
    contributed: &[(&'static str, String)],
) -> (Vec<String>, Vec<String>) {
    let mut want = main_settings(a, ipv6, contributed);
    for (k, v) in want.iter_mut() {
        match *k {
            "smtpd_tls_cert_file" => *v = cert.0.to_string_lossy().into_owned(),
            "smtpd_tls_key_file" => *v = cert.1.to_string_lossy().into_owned(),
            "postscreen_access_list" => *v = postscreen_access_list(own),
            "postscreen_dnsbl_sites" => *v = dnsbl.join(", "),
            "postscreen_dnsbl_action" => {
                *v = if dnsbl.is_empty() {
                    "ignore"
                } else {
                    "enforce"
                }
                .into()
            }
            _ => {}
        }
    }
    let mut args = Vec::new();
    let mut detail = Vec::new();
    for (k, v) in &want {
        let old = now.0.as_ref().and_then(|m| m.get(*k));
        if old.map(String::as_str) != Some(squash(v).as_str()) {
            args.push(format!("{k}={v}"));
            detail.push(format!(
                "{k}: {} -> {v}",
                old.map(|o| if o.is_empty() { "(empty)" } else { o.as_str() })
                    .unwrap_or("(not set)")
            ));
        }
    }
    (args, detail)
}

/// Dates main.cf 2 s back. Postfix re-reads a configuration file whose time is within a
/// second of now, pausing 300 ms each time until it is older ("pausing to let main.cf cool
/// down": `dict_load_file_xt`, Postfix util/dict.c), so every Postfix command right after
/// `postconf -e` (verify's `postfix check`, the reload) waited ~2 s, in every run that set
/// anything. postconf renames the finished file into place: there is nothing to wait for.
pub(super) fn cool_main_cf() -> Change {
    Change::run(
        "main.cf: date it 2 s back, so Postfix reads it without pausing",
        Cmd::new("touch", ["--no-create", "--date=2 seconds ago", MAIN_CF]).files_only(),
        &[MAIN_CF],
    )
}

/// [`main_diff`] against this host's facts.
pub(super) struct MainDiff {
    /// `key=value` for `postconf -e`.
    pub(super) args: Vec<String>,
    /// `key: old -> new`, for the plan.
    pub(super) detail: Vec<String>,
    /// The DNS blocklists postscreen asks, and why each other one of the answers is left out
    /// ([`reachable_dnsbl_sites`]).
    pub(super) dnsbl: (Vec<String>, Vec<String>),
}

pub(super) fn main_diff_now(ctx: &Ctx<Answers>, all: &Registry) -> Result<MainDiff> {
    let ipv6 = ctx.fact::<Ipv6>()?.available;
    let cert = ctx
        .fact::<Certificates>()?
        .serving(ctx.host, &ctx.answers.hostname);
    let (dnsbl, left_out) = reachable_dnsbl_sites(ctx.answers, &*ctx.fact::<Dns>()?);
    let (args, detail) = main_diff(
        &*ctx.fact::<PostconfMain>()?,
        ctx.answers,
        ipv6,
        &cert,
        &ctx.fact::<PublicAddresses>()?.ips(),
        &dnsbl,
        &capability::postfix_main(all, ctx.answers),
    );
    Ok(MainDiff {
        args,
        detail,
        dnsbl: (dnsbl, left_out),
    })
}
