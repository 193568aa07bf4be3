//! Tests of the install checks across capabilities (moved from `checks.rs`).
use crate::mailboxes::check::{Delivery, SEND_SCRIPT};
use crate::postfix::check::Relay;
use crate::postfix::paths::RELAY_PASSWORD_MAP;
use crate::services::{Config, Ports, Services};
use crate::signer::check::{Signer, MILTER_PROBE, SCAN_PROBE};
use crate::testing::{answers, ctx, fail, ok};
use crate::tls::check::Certificate;
use mailstead_answers::Answers;
use mailstead_answers::{Domain, Mailbox};
use mailstead_engine::Check;
use mailstead_engine::{Host, MemHost, Meta, Status};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SS_ALL: &str = "LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:465 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:587 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:993 0.0.0.0:* users:((\"dovecot\",pid=2,fd=1))\n";

fn with_mailbox() -> Answers {
    let mut a = answers();
    a.domains = vec![Domain {
        name: "example.test".into(),
        mailboxes: vec![Mailbox {
            address: "alice@example.test".into(),
            password: None,
            password_hash: Some("{SHA512-CRYPT}$6$x".into()),
            quota: None,
        }],
        aliases: vec![],
        default_aliases: true,
    }];
    a
}

/// A working server: the message shows up at the second search.
fn working(searches: Arc<Mutex<u32>>) -> MemHost<'static> {
    let h = MemHost::fake();
    h.create_dir(std::path::Path::new("/run"), Meta::root(0o755))
        .unwrap();
    h.on_command(move |c| match c.program.as_str() {
        "service" => ok("running"),
        "ss" => ok(SS_ALL),
        "postfix" | "doveconf" => ok(""),
        "python3" => ok("2.0.0 Ok: queued as 4ABCDEF\n"),
        "doveadm" if c.args[0] == "search" => {
            let mut n = searches.lock().unwrap();
            *n += 1;
            ok(if *n >= 2 { "0123abcd 7\n" } else { "" })
        }
        "doveadm" => ok(""),
        _ => None,
    });
    h
}

#[test]
fn every_check_runs_in_order() {
    let names: Vec<&str> = crate::install_checks().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "services",
            "ports",
            "config",
            "certificate",
            "signer",
            "delivery",
            "relay",
            "quota",
            "limits",
            "bans"
        ]
    );
}

/// The CA's certificate passes; the interim self-signed one is a warning naming it; with
/// neither, a failure.
#[test]
fn the_live_certificate_is_named() {
    use crate::layout::{SELF_SIGNED_CHAIN, SELF_SIGNED_KEY};
    use crate::testing::add_cert;
    let a = answers();
    let h = MemHost::fake();
    assert_eq!(Certificate.run(&ctx(&h, &a)).status, Status::Fail);
    h.add_file(SELF_SIGNED_CHAIN, "C", mailstead_engine::Meta::root(0o644));
    h.add_file(SELF_SIGNED_KEY, "K", mailstead_engine::Meta::root(0o600));
    let f = Certificate.run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(f.detail.contains("self-signed") && f.detail.contains(SELF_SIGNED_CHAIN));
    let h = MemHost::fake();
    add_cert(&h);
    let f = Certificate.run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(f
        .detail
        .contains("/etc/letsencrypt/live/mail.example.test/fullchain.pem"));
}

#[test]
fn working_server_passes_services_ports_and_config() {
    let h = working(Arc::new(Mutex::new(0)));
    let a = with_mailbox();
    let c = ctx(&h, &a);
    for f in [Services.run(&c), Ports.run(&c), Config.run(&c)] {
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert_eq!(f.fix, None);
    }
}

#[test]
fn nothing_on_25_fails_the_ports_check() {
    let h = MemHost::fake();
    h.on_command(|c| (c.program == "ss").then(|| ok("")).flatten());
    let a = answers();
    let f = Ports.run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Fail);
    assert!(f.detail.contains("port 25 (Postfix smtp)"), "{f:?}");
    assert!(f.fix.unwrap().contains("postconf -M"));
}

#[test]
fn working_server_delivers_and_expunges_the_test_message() {
    let n = Arc::new(Mutex::new(0));
    let h = working(n.clone());
    let a = with_mailbox();
    let f = Delivery {
        timeout: Duration::from_secs(5),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(f.detail.contains("alice@example.test"), "{f:?}");
    let cmds = h.commands();
    let send = cmds.iter().find(|c| c.starts_with("python3")).unwrap();
    assert!(
        send.contains("127.0.0.1 25 mail.example.test alice@example.test"),
        "{send}"
    );
    let expunge = cmds
        .iter()
        .find(|c| c.starts_with("doveadm expunge"))
        .unwrap();
    assert!(expunge.contains("-u alice@example.test mailbox INBOX header X-Mailstead-Verify"));
    assert_eq!(*n.lock().unwrap(), 2);
}

/// With a global address, the test message comes in there, as a stranger's would.
#[test]
fn delivery_is_tried_from_the_public_address() {
    let n = Arc::new(Mutex::new(0));
    let h = working(n);
    h.on_command(|c| {
        (c.program == "ip")
            .then(|| ok("2: eth0    inet 203.0.113.5/24 brd 203.0.113.255 scope global eth0\n"))
            .flatten()
    });
    let a = with_mailbox();
    let f = Delivery {
        timeout: Duration::from_secs(5),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    let cmds = h.commands();
    let send = cmds.iter().find(|c| c.starts_with("python3")).unwrap();
    assert!(send.contains("203.0.113.5 25 mail.example.test"), "{send}");
}

#[test]
fn undelivered_message_is_removed_from_the_queue_and_reported() {
    let h = MemHost::fake();
    h.on_command(|c| match c.program.as_str() {
        "service" | "postfix" | "doveconf" | "postsuper" => ok(""),
        "ss" => ok(SS_ALL),
        "python3" => ok("2.0.0 Ok: queued as 4ABCDEF\n"),
        "doveadm" => ok(""),
        _ => None,
    });
    let a = with_mailbox();
    let f = Delivery {
        timeout: Duration::from_millis(300),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Fail);
    let fix = f.fix.clone().unwrap();
    assert!(
        f.detail.contains("queued as 4ABCDEF") && fix.contains("journalctl -u postfix -u dovecot"),
        "{f:?}"
    );
    assert!(h.commands().iter().any(|c| c == "postsuper -d 4ABCDEF"));
}

/// A 4xx (rspamd's workers not up yet after a reload) is sent again, as a sender would: the
/// second try delivers. Refused for now until the timeout, it fails saying so.
#[test]
fn delivery_sends_again_after_a_temporary_refusal() {
    use crate::mailboxes::check::REFUSED_FOR_NOW;
    let tries = Arc::new(Mutex::new(0u32));
    let t = tries.clone();
    let h = MemHost::fake();
    h.on_command(move |c| match c.program.as_str() {
        "python3" => {
            let mut n = t.lock().unwrap();
            *n += 1;
            if *n == 1 {
                fail(
                    REFUSED_FOR_NOW,
                    "RCPT TO:<alice@example.test> refused: 451 4.7.1 Service unavailable - try again later",
                )
            } else {
                ok("2.0.0 Ok: queued as 4ABCDEF\n")
            }
        }
        "doveadm" if c.args[0] == "search" => ok("0123abcd 7\n"),
        "doveadm" => ok(""),
        _ => None,
    });
    let a = with_mailbox();
    let f = Delivery {
        timeout: Duration::from_secs(10),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(*tries.lock().unwrap(), 2);

    let h = MemHost::fake();
    h.on_command(|c| match c.program.as_str() {
        "python3" => fail(
            REFUSED_FOR_NOW,
            "the message refused: 451 4.7.1 Service unavailable - try again later",
        ),
        _ => None,
    });
    let f = Delivery {
        timeout: Duration::from_millis(1500),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.detail.contains("(refused for now, again for 1 s)") && f.detail.contains("451 4.7.1"),
        "{f:?}"
    );
}

#[test]
fn broken_pieces_are_all_named_with_where_to_look() {
    let h = MemHost::fake();
    h.on_command(|c| match c.program.as_str() {
        "service" if c.args[0] == "dovecot" => fail(3, "dovecot is not running"),
        "service" => ok(""),
        "ss" => ok("LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n"),
        "postfix" => fail(1, "postfix/postfix-script: fatal: bad main.cf"),
        "doveconf" => ok(""),
        _ => None,
    });
    let mut a = with_mailbox();
    a.pop3 = true;
    let c = ctx(&h, &a);
    let services = Services.run(&c);
    assert_eq!(services.status, Status::Fail);
    assert_eq!(services.detail, "dovecot not running");
    assert!(
        services.fix.unwrap().contains("journalctl -u dovecot"),
        "where to look"
    );
    let ports = Ports.run(&c);
    assert_eq!(ports.status, Status::Fail);
    let e = &ports.detail;
    assert!(
        e.contains("port 465") && e.contains("port 993") && e.contains("port 995"),
        "{e}"
    );
    assert!(!e.contains("port 25 "), "{e}");
    let config = Config.run(&c);
    assert_eq!(config.status, Status::Fail);
    assert!(config.detail.contains("bad main.cf"), "{config:?}");
    assert!(config.fix.unwrap().contains("/etc/postfix"));
    assert!(
        !h.commands().iter().any(|c| c.starts_with("python3")),
        "no delivery on a broken server"
    );
}

#[test]
fn the_send_script_is_valid_python() {
    // Syntax only, when python3 is around (it is on every mailstead server).
    if let Ok(out) = std::process::Command::new("python3")
        .args(["-c", &format!("import ast; ast.parse({SEND_SCRIPT:?})")])
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_signer_probes_are_valid_python() {
    for script in [MILTER_PROBE, SCAN_PROBE] {
        if let Ok(out) = std::process::Command::new("python3")
            .args(["-c", &format!("import ast; ast.parse({script:?})")])
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A fake server for the signer check: rspamd running, example.test's key as `keys`
/// prints it, and rspamd's scans answering `scans` in turn (the last one repeats).
fn signer_host(keys: &'static str, scans: Vec<&'static str>) -> MemHost<'static> {
    signer_host_milter_late(keys, scans, 0)
}

/// Like [`signer_host`], with the milter refusing connections the first `late` times.
fn signer_host_milter_late(
    keys: &'static str,
    scans: Vec<&'static str>,
    late: usize,
) -> MemHost<'static> {
    let h = MemHost::fake();
    let n = Arc::new(Mutex::new(0usize));
    let m = Arc::new(Mutex::new(0usize));
    h.on_command(move |c| match c.program.as_str() {
        "service" => ok("running"),
        "sh" => ok(keys),
        "python3" if c.args[1] == MILTER_PROBE => {
            let mut i = m.lock().unwrap();
            *i += 1;
            if *i <= late {
                fail(1, "ConnectionRefusedError: [Errno 111] Connection refused")
            } else {
                ok("ok\n")
            }
        }
        "python3" => {
            let mut i = n.lock().unwrap();
            let out = scans[(*i).min(scans.len() - 1)];
            *i += 1;
            ok(out)
        }
        _ => None,
    });
    h
}

const KEY_OK: &str = "map example.test s1\nkey example.test.s1.key 600 _rspamd:_rspamd MIIB\n";

#[test]
fn signer_check_waits_for_the_reload_then_passes() {
    let h = signer_host(
        KEY_OK,
        vec![
            // Old workers: not signing yet.
            "auth example.test -\nstranger example.test -\n",
            "auth example.test example.test:s=s1\n",
        ],
    );
    let a = with_mailbox();
    let f = Signer {
        timeout: Duration::from_secs(5),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
}

/// Right after an install rspamd may not listen yet: the check waits for it.
#[test]
fn signer_check_waits_for_the_milter() {
    let scans = vec!["auth example.test example.test:s=s1\nstranger example.test -\n"];
    let a = with_mailbox();
    let h = signer_host_milter_late(KEY_OK, scans.clone(), 3);
    let f = Signer {
        timeout: Duration::from_secs(5),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    // ... but not for ever.
    let h = signer_host_milter_late(KEY_OK, scans, 1000);
    let f = Signer {
        timeout: Duration::from_millis(300),
    }
    .run(&ctx(&h, &a));
    assert!(
        f.status == Status::Fail && f.detail.contains("does not answer"),
        "{f:?}"
    );
}

#[test]
fn signer_check_fails_on_strangers_signed_bad_keys_or_no_signing() {
    let a = with_mailbox();
    let quick = Signer {
        timeout: Duration::from_millis(100),
    };
    let h = signer_host(
        KEY_OK,
        vec!["auth example.test example.test:s=s1\nstranger example.test example.test:s=s1\n"],
    );
    let f = quick.run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Fail);
    assert!(f.detail.contains("from outside"), "{f:?}");

    let h = signer_host(
        "map example.test s1\nkey example.test.s1.key 644 root:root MIIB\n",
        vec!["auth example.test example.test:s=s1\nstranger example.test -\n"],
    );
    let f = quick.run(&ctx(&h, &a));
    assert!(
        f.status == Status::Fail && f.detail.contains("not 0600"),
        "{f:?}"
    );

    let h = signer_host(
        KEY_OK,
        vec!["auth example.test -\nstranger example.test -\n"],
    );
    let f = quick.run(&ctx(&h, &a));
    assert!(
        f.status == Status::Fail && f.detail.contains("example.test:s=s1"),
        "{f:?}"
    );
}

/// A systemd server where rspamd's `systemctl is-active` says each of `states` in turn (the
/// last repeats); the rest of the signer as [`signer_host`] has it.
fn rspamd_states(states: Vec<&'static str>) -> MemHost<'static> {
    let h = MemHost::fake();
    h.create_dir(std::path::Path::new("/run"), Meta::root(0o755))
        .unwrap();
    h.create_dir(std::path::Path::new("/run/systemd"), Meta::root(0o755))
        .unwrap();
    h.create_dir(
        std::path::Path::new("/run/systemd/system"),
        Meta::root(0o755),
    )
    .unwrap();
    let n = Arc::new(Mutex::new(0usize));
    h.on_command(move |c| match c.program.as_str() {
        "systemctl" => {
            let mut i = n.lock().unwrap();
            let s = states[(*i).min(states.len() - 1)];
            *i += 1;
            Some(mailstead_engine::Output {
                status: if s == "active" { 0 } else { 3 },
                stdout: format!("{s}\n"),
                stderr: String::new(),
            })
        }
        "sh" => ok(KEY_OK),
        "python3" if c.args[1] == MILTER_PROBE => ok("ok\n"),
        "python3" => ok("auth example.test example.test:s=s1\nstranger example.test -\n"),
        _ => None,
    });
    h
}

/// rspamd stopped or failed: the filter is named down at once (no wait for a start nobody
/// asked for), with what Postfix does meanwhile and the fix.
#[test]
fn signer_check_names_the_filter_down_at_once() {
    let a = with_mailbox();
    for state in ["inactive", "failed"] {
        let h = rspamd_states(vec![state]);
        let t0 = std::time::Instant::now();
        let f = Signer {
            timeout: Duration::from_secs(60),
        }
        .run(&ctx(&h, &a));
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.starts_with(&format!(
                "rspamd, the mail filter, is not running ({state}): Postfix refuses all mail \
                 for now until it is back (451 4.7.1 on port 25; 454 4.3.0 before the login on 587 \
                 and 465)"
            )) && f
                .detail
                .contains("nothing is accepted unscanned or leaves unsigned"),
            "{f:?}"
        );
        assert!(
            f.fix
                .as_deref()
                .is_some_and(|x| x.starts_with("`systemctl start rspamd`")),
            "{f:?}"
        );
    }
    // Starting (a restart under way): waited for, then it passes.
    let h = rspamd_states(vec!["activating", "activating", "active"]);
    let f = Signer {
        timeout: Duration::from_secs(5),
    }
    .run(&ctx(&h, &a));
    assert_eq!(f.status, Status::Pass, "{f:?}");
}

/// The milter not answering says the same about what Postfix does.
#[test]
fn signer_check_names_the_milter_down_with_postfix_s_answer() {
    let a = with_mailbox();
    let h = signer_host_milter_late(KEY_OK, vec!["auth example.test -\n"], 1000);
    let f = Signer {
        timeout: Duration::from_millis(300),
    }
    .run(&ctx(&h, &a));
    assert!(
        f.status == Status::Fail
            && f.detail.contains("does not answer")
            && f.detail
                .contains("(451 4.7.1 on port 25; 454 4.3.0 before the login"),
        "{f:?}"
    );
}

/// Postfix is told to refuse for now, not to pass mail on, while the filter is down: nothing
/// accepted unscanned or unsigned.
#[test]
fn postfix_refuses_for_now_while_the_milter_is_down() {
    use crate::capability::Capability;
    let main = crate::signer::Cap.postfix_main(&with_mailbox());
    assert!(
        main.contains(&("milter_default_action", "tempfail".to_string())),
        "{main:?}"
    );
}

/// Listening on 127.0.0.1 only (Debian's "Local only" Postfix) is not listening for mail.
#[test]
fn loopback_only_fails_the_ports_check() {
    let h = mailstead_engine::MemHost::fake();
    h.on_command(|c| {
        (c.program == "ss").then(|| mailstead_engine::Output {
            status: 0,
            stdout: "LISTEN 0 100 127.0.0.1:25 0.0.0.0:* users:((\"master\",pid=1,fd=13))\n\
                     LISTEN 0 100 0.0.0.0:465 0.0.0.0:* users:((\"master\",pid=1,fd=14))\n\
                     LISTEN 0 100 0.0.0.0:587 0.0.0.0:* users:((\"master\",pid=1,fd=15))\n\
                     LISTEN 0 100 [::]:993 [::]:* users:((\"dovecot\",pid=2,fd=30))\n"
                .into(),
            stderr: String::new(),
        })
    });
    let a = crate::testing::answers();
    let f = Ports.run(&crate::testing::ctx(&h, &a));
    assert_eq!(f.status, mailstead_engine::Status::Fail, "{f:?}");
    assert!(f.detail.contains("port 25"), "{f:?}");
}

// ---- relay ----

fn relay_answers() -> Answers {
    let mut a = with_mailbox();
    a.relay_host = Some(mailstead_answers::RelayHost {
        host: "relay.outside.test".into(),
        port: 587,
        username: "relayuser".into(),
        password: mailstead_answers::Secret::new("relay pass zebra"),
    });
    a
}

fn relay_host(queue: &'static str, mode: u32) -> MemHost<'static> {
    let h = MemHost::fake();
    for p in [RELAY_PASSWORD_MAP, &format!("{RELAY_PASSWORD_MAP}.db")] {
        h.add_file(p, "x", Meta::root(mode));
    }
    h.on_command(move |c| (c.program == "postqueue").then(|| ok(queue).unwrap()));
    h
}

#[test]
fn relay_check_passes_without_a_relay_and_with_an_empty_queue() {
    let h = MemHost::fake();
    let f = Relay.run(&ctx(&h, &with_mailbox()));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    let h = relay_host("", 0o600);
    let f = Relay.run(&ctx(&h, &relay_answers()));
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert!(f.detail.contains("[relay.outside.test]:587 as relayuser"));
    assert!(!f.detail.contains("zebra"));
}

/// Mail waiting for the relay is a warning with Postfix's own reason (captured output);
/// waiting local mail is not the relay's.
#[test]
fn relay_check_warns_with_the_reason_mail_waits() {
    let q = r#"{"queue_name": "deferred", "queue_id": "4C1E0A1F2B", "sender": "alice@example.test", "recipients": [{"address": "bob@outside.test", "delay_reason": "Server certificate not verified"}]}
{"queue_name": "deferred", "queue_id": "6A", "sender": "", "recipients": [{"address": "alice@example.test", "delay_reason": "lmtp down"}]}
"#;
    let h = relay_host(q, 0o600);
    let f = Relay.run(&ctx(&h, &relay_answers()));
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert!(f.detail.starts_with("1 outgoing message(s) wait for the relay [relay.outside.test]:587: Server certificate not verified"), "{}", f.detail);
    assert!(f.fix.unwrap().contains("postqueue -f"));
}

#[test]
fn relay_check_fails_on_a_readable_or_missing_map() {
    let h = relay_host("", 0o644);
    let f = Relay.run(&ctx(&h, &relay_answers()));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(f.detail.contains("0644"), "{}", f.detail);
    assert!(f.fix.unwrap().contains("chmod 600"));
    let h = MemHost::fake();
    let f = Relay.run(&ctx(&h, &relay_answers()));
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(f.detail.contains("missing"));
}
