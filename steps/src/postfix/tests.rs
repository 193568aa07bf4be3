//! The postfix capability's tests: main.cf, master.cf, the relay host, the step.
fn postfix() -> Postfix {
    Postfix {
        all: crate::CAPABILITIES,
    }
}
fn contributed(a: &Answers) -> Vec<(&'static str, String)> {
    capability::postfix_main(crate::CAPABILITIES, a)
}
use super::main_cf::{reachable_dnsbl_sites, RELAY};
use super::*;
use crate::capability;
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
                (
                    "mydestination",
                    "$myhostname, mail.example.test, localhost, localhost.localdomain, localhost",
                ),
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
                (
                    "smtpd_tls_cert_file",
                    "/etc/ssl/certs/ssl-cert-snakeoil.pem",
                ),
                (
                    "smtpd_tls_key_file",
                    "/etc/ssl/private/ssl-cert-snakeoil.key",
                ),
                ("smtpd_tls_auth_only", "no"),
                ("smtpd_tls_protocols", "!SSLv2, !SSLv3"),
                ("smtpd_sasl_type", "cyrus"),
                ("smtpd_sasl_path", "smtpd"),
                ("smtpd_sasl_auth_enable", "no"),
                ("smtp_tls_security_level", "may"),
                (
                    "smtpd_relay_restrictions",
                    "permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
                ),
                ("smtpd_recipient_restrictions", ""),
                // Postfix's defaults for the relay keys (postconf prints every default).
                ("relayhost", ""),
                ("smtp_sasl_auth_enable", "no"),
                ("smtp_sasl_password_maps", ""),
                ("smtp_sasl_security_options", "noplaintext, noanonymous"),
                (
                    "smtp_sasl_tls_security_options",
                    "$smtp_sasl_security_options",
                ),
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
    assert!(detail.contains(&"smtpd_tls_mandatory_protocols: (not set) -> >=TLSv1.2".to_string()));
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
