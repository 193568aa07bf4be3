//! Step `postfix`: Postfix as the MTA of the virtual domains, delivering to Dovecot over LMTP,
//! with submission (587, STARTTLS) and submissions (465, TLS) for authenticated users.
//!
//! Touches:
//! - `/etc/postfix/main.cf`, through ONE `postconf -e` holding only the settings whose current
//!   value differs (read with one `postconf KEY...` probe).
//! - `/etc/postfix/master.cf`, through ONE `postconf -M` holding only the entries that differ
//!   (read with one `postconf -M` probe): port 25 through postscreen (`smtp/inet`,
//!   `smtpd/pass`, `dnsblog/unix`, `tlsproxy/unix`), `submission/inet` and `submissions/inet`.
//! - with `relay_host`: `/etc/postfix/mailstead_relay_password` and its `.db` (0600 root:root,
//!   secret: never shown in plans or logs), written before main.cf names them and removed after
//!   main.cf stops naming them when the relay host leaves the answers (see `relay_settings`).
//! - queues a Postfix reload; `postfix check` and a re-read of every setting must pass first
//!   (verify), so a configuration Postfix refuses is rolled back before any reload.
//!
//! The lookup tables it names (`virtual_*`) are written by the `mailboxes` step.
//!
//! Not repeated from the guide: `$mydomain` in `mydestination` (the domains are virtual, and
//! a domain may never be both), a LAN range in `mynetworks`, `smtpd_recipient_restrictions`
//! set twice, `reject_unknown_client_hostname` / `reject_unknown_helo_hostname` /
//! `reject_unknown_sender_domain` (they reject real senders), delivery through a pipe to
//! dovecot-lda, `smtpd_sasl_authenticated_header` (it publishes login names).
pub mod check;
use crate::capability::{self, Registry};
use crate::facts::postconf::squash;
use crate::facts::resolver::Dns;
use crate::facts::{Certificates, Ipv6, PostconfMain, PostconfMaster, PublicAddresses};
use crate::layout::{
    cert_paths, ALIASES_MAP, DOMAINS_MAP, MAILBOXES_MAP, MAIN_CF, MASTER_CF, RELAY_PASSWORD_MAP,
    SENDERS_MAP, SENDER_ACCESS_MAP, SYSTEM_CA_FILE,
};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{Answers, IMPLICIT_TLS_PORT};
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::system::failure;
use mailstead_engine::{Change, Ctx, Note, Perms, Planned, Step, When};
use std::path::Path;

/// Relay only for the local machine and authenticated users; 554 for everyone else (Debian's
/// default `defer_unauth_destination` answers 454, which senders keep retrying).
const RELAY: &str = "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination";
/// Dovecot's quota-status policy service ([`crate::layout::QUOTA_STATUS`], relative to
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
        // --- postscreen on port 25 (master.cf `smtp/inet`, see `master_entries`). ---
        // Postfix POSTSCREEN_README: a client that talks before the greeting (a bot that does
        // not wait) is logged as PREGREET and refused at RCPT with 550; one that waits is
        // handed to smtpd and remembered for a day. The deep protocol tests after the 220
        // (pipelining, non-SMTP commands, bare newlines) stay off, written so they cannot
        // drift: they make every legitimate sender retry once. The local machine is never
        // tested (`permit_mynetworks`), nor are the server's own addresses (see
        // `postscreen_access_list`: `main_diff` puts them in).
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
    .into_iter()
    .chain(contributed.iter().cloned())
    .chain(relay_settings(a))
    .collect()
}

// ---- relay host (smarthost) -----------------------------------------------------------------
// With `relay_host` in the answers, every outgoing message goes to it, over TLS that must
// encrypt AND verify the relay's certificate against its name, with SMTP AUTH from a 0600
// password map. Without it, the same keys hold Postfix's defaults (what a fresh Debian has), so
// an install without a relay changes nothing here and removing the relay puts them back.
// Sources: postconf(5), Postfix SASL_README ("Enabling SASL authentication in the Postfix SMTP
// client") and TLS_README ("TLS policy table").

/// `relayhost`: `[host]:port` (brackets: no MX lookup), or empty for direct delivery.
pub fn relayhost(a: &Answers) -> String {
    a.relay_host
        .as_ref()
        .map(|r| r.nexthop())
        .unwrap_or_default()
}

/// The main.cf keys of the relay host, always all of them (defaults without a relay).
///
/// - `smtp_sasl_auth_enable`, `smtp_sasl_password_maps`: AUTH with the map's `user:password`
///   for the `[host]:port` key.
/// - `smtp_sasl_security_options = noplaintext, noanonymous` (Postfix's default, written so it
///   cannot drift): outside TLS no password mechanism is ever used;
///   `smtp_sasl_tls_security_options = noanonymous`: inside TLS, PLAIN/LOGIN are allowed (what
///   relays offer), anonymous never.
/// - `smtp_tls_policy_maps`: `secure match=hostname` for the relay's next hop only: TLS is
///   required (no fallback to clear text) and the certificate must chain to a trusted CA and
///   name the host; any other destination keeps `smtp_tls_security_level`.
/// - `smtp_tls_CAfile`: the system bundle as one file, loaded before Debian's smtp chroot
///   (a CApath directory is looked up inside the chroot, where it is missing).
/// - `smtp_tls_wrappermode = yes` for port 465 (implicit TLS, RFC 8314), else STARTTLS.
pub fn relay_settings(a: &Answers) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_string();
    match &a.relay_host {
        Some(r) => vec![
            ("smtp_sasl_auth_enable", s("yes")),
            (
                "smtp_sasl_password_maps",
                format!("hash:{RELAY_PASSWORD_MAP}"),
            ),
            ("smtp_sasl_security_options", s("noplaintext, noanonymous")),
            ("smtp_sasl_tls_security_options", s("noanonymous")),
            (
                "smtp_tls_policy_maps",
                format!("inline:{{ {{ {} = secure match=hostname }} }}", r.nexthop()),
            ),
            ("smtp_tls_CAfile", s(SYSTEM_CA_FILE)),
            (
                "smtp_tls_wrappermode",
                s(if r.port == IMPLICIT_TLS_PORT {
                    "yes"
                } else {
                    "no"
                }),
            ),
        ],
        None => vec![
            ("smtp_sasl_auth_enable", s("no")),
            ("smtp_sasl_password_maps", s("")),
            ("smtp_sasl_security_options", s("noplaintext, noanonymous")),
            (
                "smtp_sasl_tls_security_options",
                s("$smtp_sasl_security_options"),
            ),
            ("smtp_tls_policy_maps", s("")),
            ("smtp_tls_CAfile", s("")),
            ("smtp_tls_wrappermode", s("no")),
        ],
    }
}

/// The password map's content: one `[host]:port username:password` line (postconf(5)
/// `smtp_sasl_password_maps`), or `None` without a relay host. Validation refused every value
/// that would break the line (`mailstead_answers::rules::relay`); this refuses them again.
pub fn relay_password_map(a: &Answers) -> Result<Option<Vec<u8>>> {
    let Some(r) = &a.relay_host else {
        return Ok(None);
    };
    let pw = r.password.expose();
    let bad = |s: &str| s.is_empty() || s.chars().any(char::is_control);
    if bad(&r.username)
        || r.username.contains(':')
        || r.username.contains(char::is_whitespace)
        || bad(pw)
        || pw.trim() != pw
    {
        return Err(eyre!(
            "the relay host's username or password cannot be written to {RELAY_PASSWORD_MAP} (empty, a `:` in the username, a line break, or spaces at either end)"
        ));
    }
    Ok(Some(
        format!(
            "# Managed by mailstead from its answers file (relay_host): edits here are overwritten.\n{} {}:{pw}\n",
            r.nexthop(),
            r.username
        )
        .into_bytes(),
    ))
}

/// The changes that put the password map in place (before main.cf names it) or take it away
/// (after main.cf stops naming it): `(before, after)`.
///
/// The map and its `.db` are 0600 root:root. `postmap` runs only when the map changed or the
/// `.db` is missing. The `.db` holds the password too: postmap gives a new one the map's mode
/// (measured in the bed: 0600 from a 0600 map under umask 022), and the `umask 077` and
/// `chmod 0600` around it keep that true whatever an older `.db` or the umask say (`verify`
/// refuses a `.db` others can read). The map is a secret `WriteFile`: plans, diffs and logs
/// never show its content.
fn relay_map_changes(a: &Answers, host: &dyn Host) -> Result<(Vec<Change>, Vec<Change>)> {
    let db = format!("{RELAY_PASSWORD_MAP}.db");
    match relay_password_map(a)? {
        Some(content) => Ok((
            vec![
                Change::write_secret(RELAY_PASSWORD_MAP, content, Perms::root(0o600)),
                Change::run_when_changed(
                    format!("postmap {RELAY_PASSWORD_MAP} (0600)"),
                    Cmd::new(
                        "sh",
                        [
                            "-c".to_string(),
                            format!(
                                "umask 077 && postmap hash:{RELAY_PASSWORD_MAP} && chmod 0600 {db}"
                            ),
                        ],
                    ),
                    &[&db],
                    &[RELAY_PASSWORD_MAP],
                    &[&db],
                ),
            ],
            vec![],
        )),
        // Only what is there: a server that never had a relay plans no removal.
        None => Ok((
            vec![],
            [RELAY_PASSWORD_MAP, db.as_str()]
                .into_iter()
                .filter(|p| host.exists(Path::new(p)))
                .map(|p| Change::RemoveFile { path: p.into() })
                .collect(),
        )),
    }
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
fn reachable_dnsbl_sites(a: &Answers, dns: &Dns) -> (Vec<String>, Vec<String>) {
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
fn cool_main_cf() -> Change {
    Change::run(
        "main.cf: date it 2 s back, so Postfix reads it without pausing",
        Cmd::new("touch", ["--no-create", "--date=2 seconds ago", MAIN_CF]),
        &[MAIN_CF],
    )
}

/// [`main_diff`] against this host's facts.
struct MainDiff {
    /// `key=value` for `postconf -e`.
    args: Vec<String>,
    /// `key: old -> new`, for the plan.
    detail: Vec<String>,
    /// The DNS blocklists postscreen asks, and why each other one of the answers is left out
    /// ([`reachable_dnsbl_sites`]).
    dnsbl: (Vec<String>, Vec<String>),
}

fn main_diff_now(ctx: &Ctx<Answers>, all: &Registry) -> Result<MainDiff> {
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

fn master_diff(now: &PostconfMaster) -> (Vec<String>, Vec<String>) {
    let want = master_entries();
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
fn smtp_ipv4_only_change(ctx: &Ctx<Answers>) -> Result<Option<Change>> {
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
        cmd: Cmd::new("postconf", ["-M".to_string(), format!("smtp/unix={want}")]),
        touches: vec![MASTER_CF.into()],
        detail: vec![format!("smtp/unix: {current} -> {want}")],
        when: When::Always,
        keep: false,
    }))
}

/// The step. It assembles `main.cf` from its own settings and what the registry's
/// capabilities contribute.
pub struct Postfix {
    /// The registry ([`crate::CAPABILITIES`]).
    pub all: &'static Registry,
}

impl Step<Answers> for Postfix {
    fn name(&self) -> &'static str {
        "postfix"
    }

    fn about(&self) -> &'static str {
        "Postfix: virtual domains, LMTP to Dovecot, TLS, submission ports"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        // The relay's password map exists before main.cf names it, and goes after main.cf
        // stops naming it.
        let (relay_before, relay_after) = relay_map_changes(ctx.answers, ctx.host)?;
        let mut changes = relay_before;
        let MainDiff {
            mut args,
            detail,
            dnsbl: (dnsbl, left_out),
        } = main_diff_now(ctx, self.all)?;
        // Postfix reads these only when it starts: a reload keeps the old listeners
        // (postconf(5): "specify postfix stop; postfix start" after changing them).
        let restart = args
            .iter()
            .any(|a| a.starts_with("inet_interfaces=") || a.starts_with("inet_protocols="));
        if !args.is_empty() {
            let n = args.len();
            args.insert(0, "-e".into());
            changes.push(Change::Run {
                summary: format!("postconf: set {n} main.cf setting{}", plural(n)),
                cmd: Cmd::new("postconf", args),
                touches: vec![MAIN_CF.into()],
                detail,
                when: When::Always,
                keep: false,
            });
            changes.push(cool_main_cf());
        }
        let (mut args, detail) = master_diff(&*ctx.fact::<PostconfMaster>()?);
        if !args.is_empty() {
            let names: Vec<&str> = args
                .iter()
                .filter_map(|a| a.split_once('/').map(|(n, _)| n))
                .collect();
            let summary = format!("postconf: master.cf entries {}", names.join(", "));
            args.insert(0, "-M".into());
            changes.push(Change::Run {
                summary,
                cmd: Cmd::new("postconf", args),
                touches: vec![MASTER_CF.into()],
                detail,
                when: When::Always,
                keep: false,
            });
        }
        changes.extend(relay_after);
        changes.extend(smtp_ipv4_only_change(ctx)?);
        changes.push(if restart {
            Change::restart("postfix")
        } else {
            Change::reload("postfix")
        });
        let mut planned = Planned::changes(changes);
        if !left_out.is_empty() {
            planned = planned.note(Note::warning(format!(
                "postscreen: {} not used: the list{} did not answer its test entry through \
                 this server's resolver ({}); {}. Run `mailstead install` again once the \
                 resolver reaches {}",
                left_out.join(", "),
                if left_out.len() == 1 { "" } else { "s" },
                ctx.fact::<Dns>()?
                    .resolver()
                    .map(|r| r.servers())
                    .unwrap_or_else(|why| why.to_string()),
                if dnsbl.is_empty() {
                    "DNS blocklists are off".to_string()
                } else {
                    format!("postscreen asks {}", dnsbl.join(", "))
                },
                if left_out.len() == 1 { "it" } else { "them" }
            )));
        }
        Ok(planned)
    }

    /// The certificate is in place, `postfix check` passes, and every setting reads back as
    /// written (Postfix reads the certificate only when a TLS session starts).
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        ctx.fact::<Certificates>()?
            .require(ctx.host, &ctx.answers.hostname)?;
        if ctx.answers.relay_host.is_some() {
            let db = format!("{RELAY_PASSWORD_MAP}.db");
            match ctx.host.stat(Path::new(&db))? {
                Some(st) if st.meta.mode & 0o077 == 0 => {}
                Some(_) => {
                    return Err(eyre!(
                        "{db} holds the relay password but others can read it"
                    ))
                }
                None => return Err(eyre!("{db} is missing: postmap did not build it")),
            }
        }
        let cmd = Cmd::new("postfix", ["check"]);
        let out = ctx.host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(
                "Postfix refuses the configuration: {}",
                failure(&cmd, &out)
            ));
        }
        let main = main_diff_now(ctx, self.all)?.args;
        let (master, _) = master_diff(&*ctx.fact::<PostconfMaster>()?);
        if !main.is_empty() || !master.is_empty() {
            return Err(eyre!(
                "Postfix does not read back what was set: {}",
                main.iter()
                    .chain(&master)
                    .map(|a| a.split('=').next().unwrap_or(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The `postfix` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "postfix"
    }
    fn steps(
        &self,
        all: &'static crate::capability::Registry,
    ) -> Vec<Box<dyn mailstead_engine::Step<mailstead_answers::Answers>>> {
        vec![Box::new(Postfix { all })]
    }
    fn checks(
        &self,
    ) -> Vec<(
        crate::capability::Phase,
        Box<dyn mailstead_engine::Check<mailstead_answers::Answers>>,
    )> {
        use crate::capability::Phase;
        vec![(Phase::Delivering, Box::new(check::Relay))]
    }
    fn packages(&self, answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        let mut p = vec!["postfix"];
        // relay_host: Postfix's smtp client authenticates through Cyrus SASL, whose PLAIN and
        // LOGIN mechanisms (what relays offer) are in libsasl2-modules, a Recommends that
        // --no-install-recommends leaves out ("no worthy mechs found" without it).
        if answers.relay_host.is_some() {
            p.push("libsasl2-modules");
        }
        p
    }
}

#[cfg(test)]
mod tests {
    fn postfix() -> Postfix {
        Postfix {
            all: crate::CAPABILITIES,
        }
    }
    fn contributed(a: &Answers) -> Vec<(&'static str, String)> {
        capability::postfix_main(crate::CAPABILITIES, a)
    }
    use super::*;
    use crate::testing::{add_cert, apply, ctx, mail_answers as answers};
    use mailstead_engine::{MemHost, Meta, Output};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    /// A fake `postconf` over an in-memory main.cf/master.cf (what the real one would print).
    #[derive(Default, Clone)]
    struct FakePostconf {
        main: Arc<Mutex<BTreeMap<String, String>>>,
        master: Arc<Mutex<BTreeMap<String, String>>>,
    }

    impl FakePostconf {
        fn debian() -> FakePostconf {
            let f = FakePostconf::default();
            {
                let mut m = f.main.lock().unwrap();
                for (k, v) in [
                    ("myhostname", "mail.example.test"),
                    ("mydomain", "example.test"),
                    ("myorigin", "/etc/mailname"),
                    ("mydestination", "$myhostname, mail.example.test, localhost, localhost.localdomain, localhost"),
                    ("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"),
                    // What Debian's "Internet Site" sets.
                    ("inet_interfaces", "all"),
                    ("inet_protocols", "all"),
                    ("smtpd_banner", "$myhostname ESMTP $mail_name (Debian/GNU)"),
                    ("smtpd_helo_required", "no"),
                    ("smtpd_helo_restrictions", ""),
                    ("disable_vrfy_command", "no"),
                    ("message_size_limit", "10240000"),
                    ("smtpd_tls_security_level", "may"),
                    ("smtpd_tls_cert_file", "/etc/ssl/certs/ssl-cert-snakeoil.pem"),
                    ("smtpd_tls_key_file", "/etc/ssl/private/ssl-cert-snakeoil.key"),
                    ("smtpd_tls_auth_only", "no"),
                    ("smtpd_tls_protocols", "!SSLv2, !SSLv3"),
                    ("smtpd_sasl_type", "cyrus"),
                    ("smtpd_sasl_path", "smtpd"),
                    ("smtpd_sasl_auth_enable", "no"),
                    ("smtp_tls_security_level", "may"),
                    ("smtpd_relay_restrictions", "permit_mynetworks permit_sasl_authenticated defer_unauth_destination"),
                    ("smtpd_recipient_restrictions", ""),
                    // Postfix's defaults for the relay keys (postconf prints every default).
                    ("relayhost", ""),
                    ("smtp_sasl_auth_enable", "no"),
                    ("smtp_sasl_password_maps", ""),
                    ("smtp_sasl_security_options", "noplaintext, noanonymous"),
                    ("smtp_sasl_tls_security_options", "$smtp_sasl_security_options"),
                    ("smtp_tls_policy_maps", ""),
                    ("smtp_tls_CAfile", ""),
                    ("smtp_tls_wrappermode", "no"),
                ] {
                    m.insert(k.into(), v.into());
                }
            }
            f.master.lock().unwrap().insert(
                "smtp/inet".into(),
                "smtp       inet  n       -       y       -       -       smtpd".into(),
            );
            f
        }

        fn install(&self, h: &MemHost) {
            let me = self.clone();
            h.on_command(move |c| {
                if c.program != "postconf" {
                    return None;
                }
                let mut out = String::new();
                match c.args.first().map(String::as_str) {
                    Some("-e") => {
                        for a in &c.args[1..] {
                            let (k, v) = a.split_once('=').unwrap();
                            me.main.lock().unwrap().insert(k.into(), v.into());
                        }
                    }
                    Some("-M") if c.args.len() == 1 => {
                        for v in me.master.lock().unwrap().values() {
                            out.push_str(&format!("{v}\n"));
                        }
                    }
                    Some("-M") => {
                        for a in &c.args[1..] {
                            match a.split_once('=') {
                                Some((k, v)) => {
                                    me.master.lock().unwrap().insert(k.into(), v.into());
                                }
                                None => {
                                    if let Some(v) = me.master.lock().unwrap().get(a) {
                                        out.push_str(&format!("{v}\n"));
                                    }
                                }
                            }
                        }
                    }
                    _ => {
                        // Every setting without arguments, else the known keys asked for
                        // (unknown ones: a warning on stderr); continuation lines joined, as
                        // the real postconf prints them.
                        let main = me.main.lock().unwrap();
                        let keys: Vec<&String> = if c.args.is_empty() {
                            main.keys().collect()
                        } else {
                            c.args.iter().collect()
                        };
                        for k in keys {
                            if let Some(v) = main.get(k) {
                                let v = v.replace('\n', " ");
                                out.push_str(&format!("{k} = {v}\n").replace(" = \n", " =\n"));
                            }
                        }
                    }
                }
                Some(Output {
                    status: 0,
                    stdout: out,
                    stderr: String::new(),
                })
            });
            h.on_command(|c| (c.program == "postfix").then(Output::default));
            // cool_main_cf: only the file's time changes, which MemHost does not keep.
            h.on_command(|c| (c.program == "touch").then(Output::default));
        }
    }

    /// IPv6 without FCrDNS: the SMTP client goes IPv4 only; once the PTR is there, back.
    #[test]
    fn ipv6_without_reverse_dns_sends_over_ipv4_only_until_it_has() {
        use crate::facts::resolver::{Dns, Fake};
        let h = MemHost::fake();
        h.add_file(
            "/proc/net/if_inet6",
            "20010db8000000000000000000000007 02 40 00 80 eth0\n",
            Meta::root(0o444),
        );
        let fake = FakePostconf::debian();
        fake.master
            .lock()
            .unwrap()
            .insert("smtp/unix".into(), "smtp unix - - y - - smtp".into());
        fake.install(&h);
        h.on_command(|c| {
            (c.program == "ip")
                .then(|| {
                    crate::testing::ok(
                        "2: eth0    inet6 2001:db8::7/64 scope global \\ valid_lft forever\n",
                    )
                })
                .flatten()
        });
        add_cert(&h);
        let a = answers();
        let no_ptr = Fake::new().with_ip("mail.example.test", "2001:db8::7");
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(no_ptr.clone()));
        let planned = postfix().plan(&c).unwrap();
        let summaries: Vec<String> = planned.changes.iter().map(|c| c.summary()).collect();
        assert!(
            summaries.iter().any(|s| s.contains("send over IPv4 only")),
            "{summaries:?}"
        );
        apply(&h, &planned.changes);
        assert_eq!(
            fake.master.lock().unwrap()["smtp/unix"],
            "smtp unix - - y - - smtp -o inet_protocols=ipv4"
        );
        // Same DNS again: nothing to do about it.
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(no_ptr.clone()));
        assert!(!postfix()
            .plan(&c)
            .unwrap()
            .changes
            .iter()
            .any(|c| c.summary().contains("IPv")));
        // DNS silent: left as it is.
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(Fake::silent()));
        assert!(!postfix()
            .plan(&c)
            .unwrap()
            .changes
            .iter()
            .any(|c| c.summary().contains("IPv")));
        // The PTR is published: back to IPv6.
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(
            no_ptr.with_ptr("2001:db8::7", "mail.example.test"),
        ));
        let planned = postfix().plan(&c).unwrap();
        assert!(planned
            .changes
            .iter()
            .any(|c| c.summary().contains("send over IPv6 again")));
        apply(&h, &planned.changes);
        assert_eq!(
            fake.master.lock().unwrap()["smtp/unix"],
            "smtp unix - - y - - smtp"
        );
    }

    #[test]
    fn debian_defaults_get_one_batched_postconf_with_only_what_differs() {
        let h = MemHost::fake();
        h.add_file(
            "/proc/net/if_inet6",
            "00000000000000000000000000000001 01 80 10 80       lo\n",
            Meta::root(0o444),
        );
        FakePostconf::debian().install(&h);
        let a = answers();
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        // postconf -e, main.cf dated back, postconf -M, the reload.
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert_eq!(changes[1].summary(), cool_main_cf().summary());
        let Change::Run {
            cmd,
            touches,
            detail,
            ..
        } = &changes[0]
        else {
            panic!()
        };
        assert_eq!(cmd.args[0], "-e");
        assert_eq!(touches, &vec![std::path::PathBuf::from(MAIN_CF)]);
        // Already right on Debian: not in the command.
        for same in [
            "myhostname=",
            "mydomain=",
            "smtpd_tls_security_level=",
            "smtp_tls_security_level=",
            "smtpd_sasl_auth_enable=",
        ] {
            assert!(!cmd.args.iter().any(|x| x.starts_with(same)), "{same}");
        }
        assert!(cmd
            .args
            .contains(&"mydestination=$myhostname, localhost.$mydomain, localhost".into()));
        assert!(cmd
            .args
            .contains(&"mynetworks=127.0.0.0/8 [::1]/128".into()));
        assert!(cmd
            .args
            .contains(&"virtual_transport=lmtp:unix:private/dovecot-lmtp".into()));
        assert!(cmd
            .args
            .contains(&format!("smtpd_relay_restrictions={RELAY}")));
        assert!(cmd.args.contains(&"message_size_limit=10485760".into()));
        assert!(cmd.args.contains(
            &"smtpd_tls_cert_file=/etc/letsencrypt/live/mail.example.test/fullchain.pem".into()
        ));
        assert_eq!(detail.len(), cmd.args.len() - 1);
        assert!(detail.contains(&"smtpd_relay_restrictions: permit_mynetworks permit_sasl_authenticated defer_unauth_destination -> permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination".to_string()));
        assert!(detail.contains(&"smtpd_recipient_restrictions: (empty) -> permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_policy_service unix:private/quota-status".to_string()));
        assert!(
            detail.contains(&"smtpd_tls_mandatory_protocols: (not set) -> >=TLSv1.2".to_string())
        );
        assert!(detail.contains(&"smtpd_tls_protocols: !SSLv2, !SSLv3 -> >=TLSv1.2".to_string()));

        let Change::Run { cmd, touches, .. } = &changes[2] else {
            panic!()
        };
        assert_eq!(
            changes[2].summary(),
            "postconf: master.cf entries smtp, smtpd, dnsblog, tlsproxy, submission, submissions"
        );
        assert_eq!(touches, &vec![std::path::PathBuf::from(MASTER_CF)]);
        assert_eq!(cmd.args[0], "-M");
        assert_eq!(cmd.args[1], "smtp/inet=smtp inet n - y - 1 postscreen");
        assert_eq!(cmd.args[2], "smtpd/pass=smtpd pass - - y - - smtpd");
        assert!(cmd.args[5].starts_with("submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt"));
        assert!(cmd.args[6].contains("-o smtpd_tls_wrappermode=yes"));
        assert!(cmd.args[6].contains("-o smtpd_sender_restrictions=check_sender_access,inline:{<>=REJECT},reject_sender_login_mismatch"));
        assert_eq!(changes[3].summary(), "reload postfix");
    }

    #[test]
    fn applied_config_plans_nothing_and_verifies() {
        let h = MemHost::fake();
        let fake = FakePostconf::debian();
        fake.install(&h);
        let a = answers();
        apply(&h, &postfix().plan(&ctx(&h, &a)).unwrap().changes);
        // postconf prints multi-line values joined; whitespace differences are no change.
        fake.main.lock().unwrap().insert(
            "smtpd_relay_restrictions".into(),
            "permit_mynetworks,  permit_sasl_authenticated,\n  reject_unauth_destination".into(),
        );
        let again = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(
            again.iter().map(Change::summary).collect::<Vec<_>>(),
            vec!["reload postfix"]
        );
        assert!(
            postfix().verify(&ctx(&h, &a)).is_err(),
            "no certificate yet"
        );
        add_cert(&h);
        postfix().verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn one_changed_answer_is_one_key() {
        let h = MemHost::fake();
        FakePostconf::debian().install(&h);
        let mut a = answers();
        apply(&h, &postfix().plan(&ctx(&h, &a)).unwrap().changes);
        a.message_size_limit = 20 * 1024 * 1024;
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        let Change::Run { cmd, detail, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(cmd.program, "postconf");
        assert_eq!(cmd.args, ["-e", "message_size_limit=20971520"]);
        assert_eq!(
            detail,
            &vec!["message_size_limit: 10485760 -> 20971520".to_string()]
        );
        assert_eq!(changes[0].summary(), "postconf: set 1 main.cf setting");
        assert_eq!(changes.len(), 3);
    }

    #[test]
    fn a_hand_edited_master_entry_is_put_back() {
        let h = MemHost::fake();
        let fake = FakePostconf::debian();
        fake.install(&h);
        let a = answers();
        apply(&h, &postfix().plan(&ctx(&h, &a)).unwrap().changes);
        fake.master.lock().unwrap().insert(
            "submissions/inet".into(),
            "submissions inet n - y - - smtpd".into(),
        );
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(
            changes[0].summary(),
            "postconf: master.cf entries submissions"
        );
        let Change::Run { cmd, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(cmd.args.len(), 2);
    }

    #[test]
    fn not_installed_yet_plans_everything() {
        // Planning a fresh server: postconf does not exist (the fake: command not found).
        let h = MemHost::fake();
        let a = answers();
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        let Change::Run { cmd, detail, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(
            cmd.args.len(),
            main_settings(&a, true, &contributed(&a)).len() + 1
        );
        assert!(detail[0].starts_with("myhostname: (not set) -> "));
        let Change::Run { cmd, .. } = &changes[2] else {
            panic!()
        };
        assert_eq!(cmd.args.len(), master_entries().len() + 1);
    }

    #[test]
    fn hostname_that_is_also_a_mail_domain_is_not_local() {
        let mut a = answers();
        a.hostname = "example.test".into();
        let s: BTreeMap<_, _> = main_settings(&a, true, &contributed(&a))
            .into_iter()
            .collect();
        assert_eq!(s["mydestination"], "localhost.$mydomain, localhost");
        assert_eq!(s["mydomain"], "example.test");
        let b = answers();
        let s: BTreeMap<_, _> = main_settings(&b, true, &contributed(&b))
            .into_iter()
            .collect();
        assert_eq!(
            s["mydestination"],
            "$myhostname, localhost.$mydomain, localhost"
        );
        assert!(!s["mydestination"].contains("example.test"));
    }

    /// A blocklist is used when its RFC 5782 test entry answers 127.0.0.2; a list that does not
    /// exist, a refusal (Spamhaus's 127.255.255.254 for public resolvers) and a silent DNS
    /// leave it out; the site's filter and weight do not change the name asked.
    #[test]
    fn dnsbl_used_only_when_it_answers() {
        use crate::facts::resolver::{Dns, Fake, Record};
        let dns = Dns::with(
            Fake::new()
                .with(
                    "2.0.0.127.zen.example",
                    Record::A("127.0.0.2".parse().unwrap()),
                )
                .with(
                    "2.0.0.127.public.example",
                    Record::A("127.255.255.254".parse().unwrap()),
                ),
        );
        assert_eq!(dnsbl_domain("zen.example=127.0.0.[2..11]*3"), "zen.example");
        assert_eq!(dnsbl_domain("zen.example*2"), "zen.example");
        assert_eq!(dnsbl_answers(&dns, "zen.example"), Ok(()));
        let refused = dnsbl_answers(&dns, "public.example").unwrap_err();
        assert!(refused.contains("127.255.255.254 (a refusal)"), "{refused}");
        let gone = dnsbl_answers(&dns, "gone.example").unwrap_err();
        assert!(gone.contains("does not exist"), "{gone}");
        let silent = Dns::with(Fake::silent());
        assert!(dnsbl_answers(&silent, "zen.example").is_err());

        let mut a = answers();
        a.postscreen_dnsbl_sites = vec![
            "zen.example=127.0.0.[2..11]*3".into(),
            "gone.example".into(),
        ];
        let (used, left_out) = reachable_dnsbl_sites(&a, &dns);
        assert_eq!(used, ["zen.example=127.0.0.[2..11]*3"]);
        assert_eq!(left_out.len(), 1);
        assert!(left_out[0].starts_with("gone.example ("), "{left_out:?}");
        // None answers: DNSBL off in main.cf.
        let (used, _) = reachable_dnsbl_sites(&a, &silent);
        assert!(used.is_empty());
    }

    /// Port 25 through postscreen: the pregreet test enforced, the after-220 tests off, no
    /// DNSBL by default; the answers' weighted lists and threshold as written.
    #[test]
    fn postscreen_on_port_25_with_the_answers_dnsbl() {
        let s: BTreeMap<_, _> = main_settings(&answers(), true, &contributed(&answers()))
            .into_iter()
            .collect();
        assert_eq!(s["postscreen_greet_action"], "enforce");
        for k in [
            "postscreen_pipelining_enable",
            "postscreen_non_smtp_command_enable",
            "postscreen_bare_newline_enable",
        ] {
            assert_eq!(s[k], "no", "{k}");
        }
        assert_eq!(s["postscreen_dnsbl_sites"], "");
        assert_eq!(s["postscreen_dnsbl_action"], "ignore");
        let mut a = answers();
        a.postscreen_dnsbl_sites = vec![
            "zen.spamhaus.org=127.0.0.[2..11]*3".into(),
            "list.dnswl.org=127.0.[0..255].[1;2;3]*-2".into(),
        ];
        a.postscreen_dnsbl_threshold = 3;
        let s: BTreeMap<_, _> = main_settings(&a, true, &contributed(&a))
            .into_iter()
            .collect();
        assert_eq!(
            s["postscreen_dnsbl_sites"],
            "zen.spamhaus.org=127.0.0.[2..11]*3, list.dnswl.org=127.0.[0..255].[1;2;3]*-2"
        );
        assert_eq!(s["postscreen_dnsbl_threshold"], "3");
        assert_eq!(s["postscreen_dnsbl_action"], "enforce");
        assert_eq!(postscreen_access_list(&[]), "permit_mynetworks");
        assert_eq!(
            postscreen_access_list(&["192.0.2.7".parse().unwrap(), "2001:db8::7".parse().unwrap()]),
            "permit_mynetworks, cidr:{ {192.0.2.7 permit}, {2001:db8::7 permit} }"
        );
        let m: BTreeMap<_, _> = master_entries().into_iter().collect();
        assert_eq!(m["smtp/inet"], "smtp inet n - y - 1 postscreen");
        assert_eq!(m["smtpd/pass"], "smtpd pass - - y - - smtpd");
        assert!(m.contains_key("dnsblog/unix") && m.contains_key("tlsproxy/unix"));
        // Submission stays plain smtpd: postscreen is for port 25 only.
        assert!(m["submission/inet"].contains(" smtpd -o "));
        assert!(m["submissions/inet"].contains(" smtpd -o "));
    }

    #[test]
    fn sub_addresses_use_plus_as_the_alias_graph_does() {
        let s: BTreeMap<_, _> = main_settings(&answers(), true, &contributed(&answers()))
            .into_iter()
            .collect();
        assert_eq!(
            s["recipient_delimiter"],
            mailstead_answers::aliases::RECIPIENT_DELIMITER.to_string()
        );
    }

    #[test]
    fn nothing_that_rejects_ordinary_senders() {
        let all: String = main_settings(&answers(), true, &contributed(&answers()))
            .into_iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .chain(master_entries().into_iter().map(|(_, e)| e))
            .collect();
        for bad in [
            "reject_unknown_client_hostname",
            "reject_unknown_helo_hostname",
            "reject_unknown_sender_domain",
            "defer_unauth_destination",
            "192.168.",
            "dovecot-lda",
        ] {
            assert!(!all.contains(bad), "{bad}");
        }
        assert_eq!(
            main_settings(&answers(), true, &contributed(&answers()))
                .iter()
                .filter(|(k, _)| *k == "smtpd_recipient_restrictions")
                .count(),
            1
        );
    }

    #[test]
    fn verify_fails_on_postfix_check_or_readback() {
        let h = MemHost::fake();
        let fake = FakePostconf::debian();
        fake.install(&h);
        add_cert(&h);
        let a = answers();
        // Not applied: read-back differs.
        let err = postfix().verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err}").contains("mydestination"));

        let h = MemHost::fake();
        add_cert(&h);
        h.on_command(|c| {
            (c.program == "postfix").then(|| Output {
                status: 1,
                stdout: String::new(),
                stderr: "postfix/postfix-script: fatal: bad thing".into(),
            })
        });
        let err = postfix().verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err:#}").contains("bad thing"));
    }

    /// What the design relies on is written, whatever an earlier install left (Debian's
    /// "Local only": loopback-only, `error` transports), and the protocols follow the host.
    #[test]
    fn settings_the_design_relies_on_are_written() {
        let a = answers();
        let v6: BTreeMap<_, _> = main_settings(&a, true, &contributed(&a))
            .into_iter()
            .collect();
        let v4: BTreeMap<_, _> = main_settings(&a, false, &contributed(&a))
            .into_iter()
            .collect();
        assert_eq!(v6["inet_interfaces"], "all");
        assert_eq!(v6["default_transport"], "smtp");
        assert_eq!(v6["relay_transport"], "relay");
        assert_eq!(v6["relayhost"], "");
        assert_eq!(v6["inet_protocols"], "all");
        assert_eq!(v4["inet_protocols"], "ipv4");
        assert!(!v4["mynetworks"].contains("::1"));
        // On 25, nobody but a mailbox's own login sends as that mailbox.
        assert!(v6["smtpd_sender_restrictions"]
            .contains("check_sender_access hash:/etc/postfix/sender_access"));
        // On submission, the null sender is refused before the login check.
        for (_, entry) in master_entries()
            .into_iter()
            .filter(|(svc, _)| svc.starts_with("submission"))
        {
            assert!(
                entry.contains("smtpd_sender_restrictions=check_sender_access,inline:{<>=REJECT},reject_sender_login_mismatch"),
                "{entry}"
            );
        }
    }

    /// A change of `inet_interfaces` (a "Local only" Postfix listens on loopback) asks for a
    /// restart: a reload would keep the old listeners.
    #[test]
    fn listener_settings_restart_postfix() {
        let local_only = FakePostconf::debian();
        local_only
            .main
            .lock()
            .unwrap()
            .insert("inet_interfaces".into(), "loopback-only".into());
        let h = MemHost::fake();
        local_only.install(&h);
        let a = answers();
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.last().unwrap().summary(), "restart postfix");
    }

    // ---- relay host ----

    const RELAY_PW: &str = "s3cret relay pass";

    fn with_relay(port: u16) -> mailstead_answers::Answers {
        let mut a = answers();
        a.relay_host = Some(mailstead_answers::RelayHost {
            host: "relay.outside.test".into(),
            port,
            username: "relayuser".into(),
            password: mailstead_answers::Secret::new(RELAY_PW),
        });
        a
    }

    fn postconf_args(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .find_map(|c| match c {
                Change::Run { cmd, .. } if cmd.args.first().map(String::as_str) == Some("-e") => {
                    Some(cmd.args.clone())
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Without a relay host the relay keys hold Postfix's defaults: a Debian Postfix (and an
    /// install made before relay_host existed) gets no relay key in its postconf.
    #[test]
    fn no_relay_host_changes_no_relay_key() {
        let h = MemHost::fake();
        FakePostconf::debian().install(&h);
        let changes = postfix().plan(&ctx(&h, &answers())).unwrap().changes;
        let args = postconf_args(&changes);
        for (k, _) in relay_settings(&answers()) {
            assert!(!args.iter().any(|a| a.starts_with(&format!("{k}="))), "{k}");
        }
        assert!(!args.iter().any(|a| a.starts_with("relayhost=")));
        assert!(changes
            .iter()
            .all(|c| !c.paths().iter().any(|p| p.starts_with(RELAY_PASSWORD_MAP))));
    }

    #[test]
    fn relay_host_is_sasl_over_verified_tls_with_a_secret_0600_map() {
        let h = MemHost::fake();
        FakePostconf::debian().install(&h);
        let a = with_relay(587);
        let changes = postfix().plan(&ctx(&h, &a)).unwrap().changes;
        // The map first (main.cf must never name a missing map), as a secret 0600 file.
        let Change::WriteFile {
            path,
            content,
            meta,
            secret,
        } = &changes[0]
        else {
            panic!("{changes:?}")
        };
        assert_eq!(path, std::path::Path::new(RELAY_PASSWORD_MAP));
        assert!(*secret);
        assert_eq!(meta, &mailstead_engine::Perms::root(0o600));
        assert!(String::from_utf8_lossy(content).ends_with(&format!(
            "\n[relay.outside.test]:587 relayuser:{RELAY_PW}\n"
        )));
        // postmap only when the map changed or its .db is missing; the .db ends 0600.
        let Change::Run { cmd, when, .. } = &changes[1] else {
            panic!()
        };
        assert!(cmd.args[1].contains("umask 077 && postmap hash:/etc/postfix/mailstead_relay_password && chmod 0600 /etc/postfix/mailstead_relay_password.db"));
        assert!(matches!(when, When::Changed { .. }));
        let args = postconf_args(&changes);
        for want in [
            "relayhost=[relay.outside.test]:587",
            "smtp_sasl_auth_enable=yes",
            "smtp_sasl_password_maps=hash:/etc/postfix/mailstead_relay_password",
            "smtp_sasl_tls_security_options=noanonymous",
            "smtp_tls_policy_maps=inline:{ { [relay.outside.test]:587 = secure match=hostname } }",
            "smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt",
        ] {
            assert!(args.contains(&want.to_string()), "{want} not in {args:?}");
        }
        // Unchanged from the defaults: no plaintext mechanism outside TLS, STARTTLS on 587,
        // and every other destination keeps its opportunistic TLS.
        for same in [
            "smtp_sasl_security_options=",
            "smtp_tls_wrappermode=",
            "smtp_tls_security_level=",
        ] {
            assert!(!args.iter().any(|x| x.starts_with(same)), "{same}");
        }
        // Nothing a user sees holds the password: no argv, no summary, no rendered plan.
        for c in &changes {
            assert!(!c.render(&h).contains(RELAY_PW), "{}", c.render(&h));
            assert!(!c.summary().contains(RELAY_PW));
        }
        assert!(changes[0].render(&h).contains("contents hidden"));
    }

    #[test]
    fn port_465_is_implicit_tls() {
        let s: BTreeMap<_, _> = relay_settings(&with_relay(465)).into_iter().collect();
        assert_eq!(s["smtp_tls_wrappermode"], "yes");
        let s: BTreeMap<_, _> = relay_settings(&with_relay(2525)).into_iter().collect();
        assert_eq!(s["smtp_tls_wrappermode"], "no");
    }

    /// Re-running with the relay changes nothing; removing it from the answers puts the
    /// defaults back and removes the map and its .db, after main.cf stops naming them.
    #[test]
    fn relay_rerun_is_quiet_and_removal_takes_everything_away() {
        let h = MemHost::fake();
        crate::testing::group_file(&h);
        let fake = FakePostconf::debian();
        fake.install(&h);
        h.on_command(|c| (c.program == "sh").then(Output::default));
        let a = with_relay(587);
        let planned = postfix().plan(&ctx(&h, &a)).unwrap();
        apply(&h, &planned.changes);
        h.add_file(&format!("{RELAY_PASSWORD_MAP}.db"), "DB", Meta::root(0o600));
        let again = crate::testing::effective(&h, postfix().plan(&ctx(&h, &a)).unwrap());
        assert!(again.is_empty(), "{again:?}");

        let b = answers();
        let changes = postfix().plan(&ctx(&h, &b)).unwrap().changes;
        let args = postconf_args(&changes);
        assert!(args.contains(&"relayhost=".to_string()), "{args:?}");
        assert!(args.contains(&"smtp_sasl_auth_enable=no".to_string()));
        assert!(args.contains(&"smtp_tls_policy_maps=".to_string()));
        let n = changes.len();
        assert_eq!(
            changes[n - 3].summary(),
            format!("remove {RELAY_PASSWORD_MAP}")
        );
        assert_eq!(
            changes[n - 2].summary(),
            format!("remove {RELAY_PASSWORD_MAP}.db")
        );
        apply(&h, &changes);
        assert!(!mailstead_engine::Host::exists(
            &h,
            std::path::Path::new(RELAY_PASSWORD_MAP)
        ));
        assert!(crate::testing::effective(&h, postfix().plan(&ctx(&h, &b)).unwrap()).is_empty());
    }
}
