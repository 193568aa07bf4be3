//! Mail that arrives, in booted Debian 12 and 13 servers: one bed per release, installed once
//! and shared by every scenario below (each says what it expects of the bed it gets). Run as
//! root by `tests/run` (`cargo test --test deliverability -- --ignored --test-threads=1`).
//!
//! Order matters: the install happens while the ACME server is unreachable (the interim
//! certificate phase), so every later scenario also proves a server that started that way.
#[path = "bed/mod.rs"]
mod bed;
#[path = "deliverability/dns.rs"]
mod dns;
#[path = "deliverability/relay.rs"]
mod relay;

use bed::Bed;

const UNITS: [&str; 2] = ["postfix@-.service", "dovecot.service"];

/// The certificate served on `port` (STARTTLS on 25/587), as `issuer=…\nsubject=…`.
fn served_cert(bed: &Bed, port: u16) -> String {
    let starttls = match port {
        25 | 587 => "-starttls smtp",
        _ => "",
    };
    let r = bed::host_sh(&format!(
        "openssl s_client -connect {ip}:{port} {starttls} -servername mail.example.test </dev/null 2>/dev/null \
         | openssl x509 -noout -issuer -subject",
        ip = bed.ip
    ));
    r.stdout
}

/// Installed while pebble is down: the run completes on a self-signed certificate, says why
/// and what happens next; mail flows; the timer (started by the test, as systemd would) gets
/// the real certificate once pebble is back, and Postfix and Dovecot serve it without a restart.
fn interim_certificate(bed: &Bed) {
    bed.install_mailstead();
    bed.write_answers(&bed.default_answers());
    let r = bed.bed("pebble-down", &[]);
    assert!(r.ok(), "{}", r.text());
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "install with the CA down:\n{}", run.text());
    let out = run.text();
    println!(
        "{}: install with the CA unreachable took {:.1} s",
        bed.release, run.secs
    );
    assert!(
        out.contains("ACME server cannot be reached") && out.contains("self-signed"),
        "the run does not say why there is no certificate and what it does instead:\n{out}"
    );
    for port in [25, 465, 587, 993] {
        let served = served_cert(bed, port);
        assert!(
            served.contains("issuer=CN = mail.example.test")
                && served.contains("subject=CN = mail.example.test"),
            "port {port} does not serve the self-signed certificate:\n{served}"
        );
    }
    bed.smtp_deliver("alice@example.test", "before-the-certificate")
        .unwrap_or_else(|e| panic!("delivery on the interim certificate: {e}"));
    bed.sh_ok("systemctl is-active --quiet mailstead-certificate.timer");
    let check = bed.mailstead(&["check"]);
    assert!(
        check.text().contains("self-signed"),
        "check does not say the self-signed certificate is live:\n{}",
        check.text()
    );

    let before = bed.invocation_ids(&UNITS);
    let r = bed.bed("pebble-up", &[]);
    assert!(r.ok(), "{}", r.text());
    let t0 = std::time::Instant::now();
    let retry = bed.sh("systemctl start mailstead-certificate.service");
    assert!(
        retry.ok(),
        "the retry service failed:\n{}\n{}",
        retry.text(),
        bed.journal("mailstead-certificate.service", 40)
    );
    println!(
        "{}: the timer's retry issued and switched in {:.1} s",
        bed.release,
        t0.elapsed().as_secs_f64()
    );
    for port in [25, 465, 587, 993] {
        bed.tls_verify(port).unwrap_or_else(|e| {
            panic!(
                "port {port} after the retry: {e}\n{}",
                bed.journal("mailstead-certificate.service", 40)
            )
        });
    }
    assert_eq!(
        bed.invocation_ids(&UNITS),
        before,
        "Postfix or Dovecot restarted to switch certificates (a reload is enough)"
    );
    bed.sh_ok(
        "! test -e /etc/systemd/system/mailstead-certificate.timer && \
         ! systemctl is-active --quiet mailstead-certificate.timer",
    );
    let again = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(again.code, 0, "{}", again.text());
    assert!(
        again.text().contains("0 changes") || again.text().contains("nothing to do"),
        "a re-run after the switch changes things:\n{}",
        again.text()
    );
}

fn deliverability(release: &str) {
    let bed = Bed::up(&format!("deliver-{release}"), release);
    interim_certificate(&bed);
    dns::scenario(&bed);
    relay::scenario(&bed);
    bed.down();
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn deliverability_bookworm() {
    deliverability("bookworm");
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn deliverability_trixie() {
    deliverability("trixie");
}
