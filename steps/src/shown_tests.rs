//! Data from outside shown on the admin's terminal (issue 20 item 5): every boundary where a
//! string from the network, a certificate, a log or a command echoing remote data enters a
//! finding, a note, a plan's change or a command's message shows its control, bidi and
//! line-separator characters escaped ([`crate::support::shown`]).
use crate::facts::resolver::{Dns, Fake, Mx, Record};
use crate::support::shown;
use crate::testing::{answers, ctx, mail_answers, ok, with_address};
use mailstead_engine::{Check, Finding, Host, MemHost, Meta, Note, Output, Refusal, Status};

/// A TXT answer drawing a fake green "✓ dns-records" line over the real one.
const FAKE_PASS: &str = "\x1b[32m✓ dns-records\x1b[0m\n";

/// A character a terminal acts on instead of showing, or that reorders what it shows.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` holds nothing a terminal would act on.
#[track_caller]
fn assert_visible(text: &str) {
    assert!(!text.chars().any(hidden), "hidden characters in {text:?}");
}

#[track_caller]
fn assert_finding_visible(f: &Finding) {
    assert_visible(&f.detail);
    if let Some(fix) = &f.fix {
        assert_visible(fix);
    }
}

#[test]
fn shown_escapes_controls_bidi_and_separators_visibly() {
    assert_eq!(shown(FAKE_PASS), "\\x1b[32m✓ dns-records\\x1b[0m\\n");
    assert_eq!(shown("a\rb\tc\x07d\x08e\x7f"), "a\\rb\\tc\\x07d\\x08e\\x7f");
    // C1 controls: U+009B is a one-character CSI on some terminals.
    assert_eq!(shown("\u{9b}31m\u{85}"), "\\u{9b}31m\\u{85}");
    assert_eq!(
        shown("abc\u{202e}fed\u{2066}x\u{2069}\u{2028}\u{2029}\u{200f}\u{61c}"),
        "abc\\u{202e}fed\\u{2066}x\\u{2069}\\u{2028}\\u{2029}\\u{200f}\\u{61c}"
    );
    // Ordinary text, non-ASCII letters and backslashes are kept as they are, borrowed.
    let plain = "Grüße ✓ C:\\path, 東京";
    assert!(matches!(shown(plain), std::borrow::Cow::Borrowed(s) if s == plain));
    // Escaping twice changes nothing more.
    let once = shown("x\x1b[2Ky\u{202e}").into_owned();
    assert_eq!(shown(&once), once);
}

/// The engine's constructors are the net under every check and step.
#[test]
fn findings_notes_and_refusals_are_shown_escaped() {
    let f = Finding::fail(format!("SPF is {FAKE_PASS}"), "fix \x1b]0;title\x07");
    assert_finding_visible(&f);
    assert!(f.detail.contains("\\x1b[32m✓ dns-records"), "{f:?}");
    assert_finding_visible(&Finding::pass(FAKE_PASS));
    assert_finding_visible(&Finding::warn(FAKE_PASS, FAKE_PASS));
    assert_visible(&Note::warning(FAKE_PASS).text);
    assert_visible(&Note::info(FAKE_PASS).text);
    let r = Refusal::new(vec![format!("port 25 is used by {FAKE_PASS}")]);
    assert_visible(&r.reasons[0]);
}

/// DNS answers: a TXT (SPF) and an MX name, through the `dns-records` check.
#[test]
fn dns_records_shows_txt_and_mx_escaped() {
    let h = MemHost::fake();
    with_address(&h);
    let mut a = mail_answers();
    a.domains.retain(|d| d.name == "example.test");
    let c = ctx(&h, &a);
    c.facts.insert(Dns::with(
        Fake::new()
            .with_ip("mail.example.test", "192.0.2.7")
            .with(
                "example.test",
                Record::Mx(Mx {
                    preference: 10,
                    exchange: "evil.test\r\x1b[2K".into(),
                }),
            )
            .with(
                "example.test",
                Record::Txt(format!("v=spf1 a:elsewhere.test -all{FAKE_PASS}")),
            ),
    ));
    let f = crate::dns::check::DnsRecords.run(&c);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_finding_visible(&f);
    assert!(
        f.detail.contains("-all\\x1b[32m✓ dns-records\\x1b[0m\\n`"),
        "{f:?}"
    );
    assert!(f.detail.contains("10 evil.test\\r\\x1b[2K"), "{f:?}");
}

/// DNS answers: a PTR name with `\r`, through the `reverse-dns` check.
#[test]
fn reverse_dns_shows_the_ptr_escaped() {
    let h = MemHost::fake();
    with_address(&h);
    let a = answers();
    let c = ctx(&h, &a);
    c.facts.insert(Dns::with(
        Fake::new()
            .with_ip("mail.example.test", "192.0.2.7")
            .with_ptr("192.0.2.7", "other.test\r✓ reverse-dns"),
    ));
    let f = crate::deliverability::check::ReverseDns.run(&c);
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_finding_visible(&f);
    assert!(f.detail.contains("other.test\\r✓ reverse-dns"), "{f:?}");
}

/// Certificate fields: a subjectAltName with a CSI, in the `tls` step's reason for certbot
/// (a plan's change detail, not a finding).
#[test]
fn certificate_names_are_shown_escaped() {
    use crate::facts::certs::{parse_san, Certificate, Certificates};
    let mut certs = Certificates::default();
    certs.0.insert(
        "mail.example.test".into(),
        Certificate {
            complete: true,
            names: parse_san("DNS:evil.test\x1b[1A\x1b[2K✓\u{9b}0m"),
            valid_30_days: true,
            server: Some("https://ca.test/\x1b[31m".into()),
        },
    );
    let why = certs.problem("mail.example.test").unwrap();
    assert_visible(&why);
    assert!(why.contains("evil.test\\x1b[1a"), "{why}");
    let why = certs
        .other_server("mail.example.test", "https://acme.test/")
        .unwrap();
    assert_visible(&why);
}

/// Log lines: rspamd's log naming a login (chosen by whoever logs in) with BEL and a bidi
/// override, through the `limits` check.
#[test]
fn log_lines_are_shown_escaped() {
    let h = MemHost::fake();
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    h.add_file(
        crate::signer::check::RSPAMD_LOG,
        &format!(
            "{stamp} #1(normal) <a>; ratelimit; ratelimit \"mailstead_user(eve\x07\u{202e}moc.elgoog@)\" exceeded, (5 / 5 / 1h)\n"
        ),
        Meta::root(0o640),
    );
    h.on_command(|c| match c.program.as_str() {
        "systemctl" | "service" => ok("active\n"),
        "redis-cli" => ok("OK\n"),
        _ => None,
    });
    let mut a = answers();
    a.max_messages_per_hour = 5;
    let f = crate::signer::check::Limits.run(&ctx(&h, &a));
    assert_finding_visible(&f);
    if f.status == Status::Warn {
        assert!(f.detail.contains("eve\\x07\\u{202e}moc"), "{f:?}");
    }
}

/// SMTP replies: Postfix's delay reason quotes the remote server, through the `queue` check.
#[test]
fn smtp_replies_in_the_queue_are_shown_escaped() {
    let old = time::OffsetDateTime::now_utc().unix_timestamp() - 3 * 3600;
    let text = format!(
        "{{\"queue_name\": \"deferred\", \"queue_id\": \"4ABC\", \"arrival_time\": {old}, \"recipients\": [{{\"address\": \"bob@evil.test\", \"delay_reason\": \"host evil.test said: 450 \\u001b[32m\\u2028ok\\u0007\"}}]}}\n"
    );
    let h = MemHost::fake();
    h.on_command(move |c| (c.program == "postqueue").then(|| ok(&text)).flatten());
    let f = crate::deliverability::check::Queue.run(&ctx(&h, &answers()));
    assert_eq!(f.status, Status::Warn, "{f:?}");
    assert_finding_visible(&f);
    assert!(f.detail.contains("450 \\x1b[32m\\u{2028}ok\\x07"), "{f:?}");
}

/// Commands echoing remote data: certbot's explanation quotes the CA, which quotes what it
/// fetched from this server's name.
#[test]
fn certbot_explanation_is_shown_escaped() {
    let out = Output {
        status: 1,
        stdout: String::new(),
        stderr: format!(
            "Certbot failed to authenticate some domains\n  Detail: 192.0.2.9: Invalid response from http://x/: \"{FAKE_PASS}\"\n"
        ),
    };
    let why = crate::tls::explain_certbot(&out);
    assert_visible(&why);
    assert!(why.contains("\\x1b[32m✓ dns-records"), "{why}");
    // An output certbot's patterns do not know: its last lines, escaped.
    let out = Output {
        status: 1,
        stdout: String::new(),
        stderr: format!("something else {FAKE_PASS}"),
    };
    assert_visible(&crate::tls::explain_certbot(&out));
}

/// `unban`'s errors quote fail2ban-client's output.
#[test]
fn unban_output_is_shown_escaped() {
    let h = MemHost::fake();
    h.on_command(|c| {
        (c.program == "fail2ban-client")
            .then(|| ok("\x1b[2J\x1b[Hunbanned"))
            .flatten()
    });
    let e = crate::bans::unban::unban(&h, "192.0.2.9".parse().unwrap()).unwrap_err();
    assert_visible(&e.message());
    let h = MemHost::fake();
    h.on_command(|c| {
        (c.program == "fail2ban-client")
            .then(|| crate::testing::fail(255, "ERROR \x1b[31m\u{202e}"))
            .flatten()
    });
    let e = crate::bans::unban::unban(&h, "192.0.2.9".parse().unwrap()).unwrap_err();
    assert_visible(&e.message());
}

/// The whole of `mailstead check` on a server where every command and every DNS answer is
/// hostile: no finding carries a character a terminal would act on.
#[test]
fn every_check_of_mailstead_check_shows_hostile_data_escaped() {
    let hostile = format!("{FAKE_PASS}\r\x07\u{9b}2J\u{202e}\u{2028}");
    let h = MemHost::fake();
    with_address(&h);
    h.create_dir(std::path::Path::new("/run"), Meta::root(0o755))
        .unwrap();
    h.add_file(
        crate::signer::check::RSPAMD_LOG,
        &format!("2026-01-01 00:00:00 {hostile}\n"),
        Meta::root(0o640),
    );
    let out = hostile.clone();
    h.on_command(move |_| {
        Some(Output {
            status: 1,
            stdout: out.clone(),
            stderr: out.clone(),
        })
    });
    let mut a = mail_answers();
    a.domains.retain(|d| d.name == "example.test");
    let c = ctx(&h, &a);
    c.facts.insert(Dns::with(
        Fake::new()
            .with_ip("mail.example.test", "192.0.2.7")
            .with_ptr("192.0.2.7", &hostile)
            .with(
                "example.test",
                Record::Mx(Mx {
                    preference: 10,
                    exchange: hostile.clone(),
                }),
            )
            .with("example.test", Record::Txt(format!("v=spf1 {hostile}")))
            .with("_dmarc.example.test", Record::Txt(hostile.clone())),
    ));
    for check in crate::server_checks() {
        // These wait for an answer until their deadline (30 to 60 s) when the commands fail:
        // their findings go through the same constructors as the rest.
        if ["delivery", "signer", "bans"].contains(&check.name()) {
            continue;
        }
        assert_finding_visible(&check.run(&c));
    }
}

/// fail2ban's own error lines (quoting the admin's jail files and its log) in the `bans` step's
/// verification error.
#[test]
fn fail2ban_errors_are_shown_escaped() {
    use mailstead_engine::Step;
    let h = MemHost::fake();
    h.on_command(|c| {
        (c.program == "fail2ban-client")
            .then(|| crate::testing::fail(255, "ERROR \x1b[32m✓ bans\x1b[0m\n\u{202e}x\n"))
            .flatten()
    });
    let err = crate::bans::Bans.verify(&ctx(&h, &answers())).unwrap_err();
    let text = format!("{err:#}");
    assert_visible(&text);
    assert!(text.contains("ERROR \\x1b[32m✓ bans"), "{text}");
}
