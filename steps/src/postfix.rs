//! Step `postfix`: Postfix as the MTA of the virtual domains, delivering to Dovecot over LMTP,
//! with submission (587, STARTTLS) and submissions (465, TLS) for authenticated users.
//!
//! Touches:
//! - `/etc/postfix/main.cf`, through ONE `postconf -e` holding only the settings whose current
//!   value differs (read with one `postconf KEY...` probe).
//! - `/etc/postfix/master.cf`, through ONE `postconf -M` holding only the `submission/inet`
//!   and `submissions/inet` entries that differ (read with one `postconf -M` probe).
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
use crate::facts::postconf::squash;
use crate::facts::{Certificates, Ipv6, PostconfMain, PostconfMaster};
use crate::layout::{
    cert_paths, ALIASES_MAP, DOMAINS_MAP, MAILBOXES_MAP, MAIN_CF, MASTER_CF, RSPAMD_MILTER,
    SENDERS_MAP, SENDER_ACCESS_MAP,
};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::system::failure;
use mailstead_engine::{Change, Ctx, Planned, Step, When};

/// Relay only for the local machine and authenticated users; 554 for everyone else (Debian's
/// default `defer_unauth_destination` answers 454, which senders keep retrying).
const RELAY: &str = "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination";

/// Every main.cf setting mailstead owns, in the order the plan shows them.
/// `ipv6`: the host has IPv6 ([`crate::facts::Ipv6`]).
///
/// Every setting the design relies on is written, not left to what the package (or an earlier
/// "Local only" install) set: listening on all interfaces (`inet_interfaces`), the protocols
/// the host has (`inet_protocols`), mail for other domains going out over SMTP
/// (`default_transport`, `relay_transport`, no `relayhost`), `+` as the address extension
/// delimiter. Postfix: postconf(5).
pub fn main_settings(a: &Answers, ipv6: bool) -> Vec<(&'static str, String)> {
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
        ("relayhost", s("")),
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
        ("smtpd_recipient_restrictions", s(RELAY)),
        // --- DKIM signer: rspamd's proxy worker in milter mode (step `signer`). ---
        // Every message passes it: mail from smtpd (25, 587, 465) and local mail (sendmail,
        // cron), which rspamd signs when its sender logged in or is this server.
        ("smtpd_milters", s(RSPAMD_MILTER)),
        ("non_smtpd_milters", s("$smtpd_milters")),
        // When rspamd is down, mail still flows (unsigned) rather than stopping: a signer
        // outage must not become a mail outage; `mailstead check` (signer) reports it.
        ("milter_default_action", s("accept")),
        // Postfix >= 2.6 speaks milter protocol 6, as rspamd does.
        ("milter_protocol", s("6")),
        // rspamd needs the login ({auth_authen}) to sign for authenticated users, and the
        // client's address to tell local mail; rspamd's documented set (rspamd.com, MTA
        // integration).
        (
            "milter_mail_macros",
            s("i {mail_addr} {client_addr} {client_name} {auth_authen}"),
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
        ("submission/inet", entry("submission", &[])),
        (
            "submissions/inet",
            entry("submissions", &["smtpd_tls_wrappermode=yes"]),
        ),
    ]
}

/// The settings that differ, as `key=value` arguments and `key: old -> new` lines.
fn main_diff(now: &PostconfMain, a: &Answers, ipv6: bool) -> (Vec<String>, Vec<String>) {
    let want = main_settings(a, ipv6);
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

pub struct Postfix;

impl Step<Answers> for Postfix {
    fn name(&self) -> &'static str {
        "postfix"
    }

    fn about(&self) -> &'static str {
        "Postfix: virtual domains, LMTP to Dovecot, TLS, submission ports"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let mut changes = Vec::new();
        let ipv6 = ctx.fact::<Ipv6>()?.available;
        let (mut args, detail) = main_diff(&*ctx.fact::<PostconfMain>()?, ctx.answers, ipv6);
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
        changes.push(if restart {
            Change::restart("postfix")
        } else {
            Change::reload("postfix")
        });
        Ok(changes.into())
    }

    /// The certificate is in place, `postfix check` passes, and every setting reads back as
    /// written (Postfix reads the certificate only when a TLS session starts).
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        ctx.fact::<Certificates>()?.require(&ctx.answers.hostname)?;
        let cmd = Cmd::new("postfix", ["check"]);
        let out = ctx.host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(
                "Postfix refuses the configuration: {}",
                failure(&cmd, &out)
            ));
        }
        let ipv6 = ctx.fact::<Ipv6>()?.available;
        let (main, _) = main_diff(&*ctx.fact::<PostconfMain>()?, ctx.answers, ipv6);
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

#[cfg(test)]
mod tests {
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
        }
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
        let changes = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.len(), 3, "{changes:?}");
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
        assert!(detail.contains(&"smtpd_recipient_restrictions: (empty) -> permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination".to_string()));
        assert!(
            detail.contains(&"smtpd_tls_mandatory_protocols: (not set) -> >=TLSv1.2".to_string())
        );
        assert!(detail.contains(&"smtpd_tls_protocols: !SSLv2, !SSLv3 -> >=TLSv1.2".to_string()));

        let Change::Run { cmd, touches, .. } = &changes[1] else {
            panic!()
        };
        assert_eq!(
            changes[1].summary(),
            "postconf: master.cf entries submission, submissions"
        );
        assert_eq!(touches, &vec![std::path::PathBuf::from(MASTER_CF)]);
        assert_eq!(cmd.args[0], "-M");
        assert!(cmd.args[1].starts_with("submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt"));
        assert!(cmd.args[2].contains("-o smtpd_tls_wrappermode=yes"));
        assert!(cmd.args[2].contains("-o smtpd_sender_restrictions=check_sender_access,inline:{<>=REJECT},reject_sender_login_mismatch"));
        assert_eq!(changes[2].summary(), "reload postfix");
    }

    #[test]
    fn applied_config_plans_nothing_and_verifies() {
        let h = MemHost::fake();
        let fake = FakePostconf::debian();
        fake.install(&h);
        let a = answers();
        apply(&h, &Postfix.plan(&ctx(&h, &a)).unwrap().changes);
        // postconf prints multi-line values joined; whitespace differences are no change.
        fake.main.lock().unwrap().insert(
            "smtpd_relay_restrictions".into(),
            "permit_mynetworks,  permit_sasl_authenticated,\n  reject_unauth_destination".into(),
        );
        let again = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(
            again.iter().map(Change::summary).collect::<Vec<_>>(),
            vec!["reload postfix"]
        );
        assert!(Postfix.verify(&ctx(&h, &a)).is_err(), "no certificate yet");
        add_cert(&h);
        Postfix.verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn one_changed_answer_is_one_key() {
        let h = MemHost::fake();
        FakePostconf::debian().install(&h);
        let mut a = answers();
        apply(&h, &Postfix.plan(&ctx(&h, &a)).unwrap().changes);
        a.message_size_limit = 20 * 1024 * 1024;
        let changes = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
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
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn a_hand_edited_master_entry_is_put_back() {
        let h = MemHost::fake();
        let fake = FakePostconf::debian();
        fake.install(&h);
        let a = answers();
        apply(&h, &Postfix.plan(&ctx(&h, &a)).unwrap().changes);
        fake.master.lock().unwrap().insert(
            "submissions/inet".into(),
            "submissions inet n - y - - smtpd".into(),
        );
        let changes = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
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
        let changes = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
        let Change::Run { cmd, detail, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(cmd.args.len(), main_settings(&a, true).len() + 1);
        assert!(detail[0].starts_with("myhostname: (not set) -> "));
        let Change::Run { cmd, .. } = &changes[1] else {
            panic!()
        };
        assert_eq!(cmd.args.len(), 3);
    }

    #[test]
    fn hostname_that_is_also_a_mail_domain_is_not_local() {
        let mut a = answers();
        a.hostname = "example.test".into();
        let s: BTreeMap<_, _> = main_settings(&a, true).into_iter().collect();
        assert_eq!(s["mydestination"], "localhost.$mydomain, localhost");
        assert_eq!(s["mydomain"], "example.test");
        let b = answers();
        let s: BTreeMap<_, _> = main_settings(&b, true).into_iter().collect();
        assert_eq!(
            s["mydestination"],
            "$myhostname, localhost.$mydomain, localhost"
        );
        assert!(!s["mydestination"].contains("example.test"));
    }

    #[test]
    fn sub_addresses_use_plus_as_the_alias_graph_does() {
        let s: BTreeMap<_, _> = main_settings(&answers(), true).into_iter().collect();
        assert_eq!(
            s["recipient_delimiter"],
            mailstead_answers::aliases::RECIPIENT_DELIMITER.to_string()
        );
    }

    #[test]
    fn nothing_that_rejects_ordinary_senders() {
        let all: String = main_settings(&answers(), true)
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
            main_settings(&answers(), true)
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
        let err = Postfix.verify(&ctx(&h, &a)).unwrap_err();
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
        let err = Postfix.verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err:#}").contains("bad thing"));
    }

    /// What the design relies on is written, whatever an earlier install left (Debian's
    /// "Local only": loopback-only, `error` transports), and the protocols follow the host.
    #[test]
    fn settings_the_design_relies_on_are_written() {
        let a = answers();
        let v6: BTreeMap<_, _> = main_settings(&a, true).into_iter().collect();
        let v4: BTreeMap<_, _> = main_settings(&a, false).into_iter().collect();
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
        for (_, entry) in master_entries() {
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
        let changes = Postfix.plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.last().unwrap().summary(), "restart postfix");
    }
}
