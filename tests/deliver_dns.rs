//! Dev-only entry for the `mailstead dns` bed scenario (tests/deliverability/dns.rs): a bed
//! per release, mailstead installed with the default answers, then the scenario. Run as root:
//! `MAILSTEAD_BIN=$PWD/target/debug/mailstead cargo test --test deliver_dns -- --ignored --nocapture`.
#[path = "bed/mod.rs"]
mod bed;
#[path = "deliverability/dns.rs"]
mod dns;

use bed::Bed;

fn install_then_scenario(release: &str) {
    let bed = Bed::up(&format!("dns-{release}"), release);
    bed.install_mailstead();
    bed.write_answers(&bed.default_answers());
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "[{release}] install:\n{}", run.text());
    // After the install, the records to publish (one domain: its table).
    assert!(
        run.stdout.contains("DNS: publish these records")
            && run.stdout.contains("Records for example.test")
            && run.stdout.contains("10 mail.example.test."),
        "[{release}] install shows the DNS records:\n{}",
        run.text()
    );
    dns::scenario(&bed);
    bed.down();
}

#[test]
#[ignore]
fn dns_bookworm() {
    install_then_scenario("bookworm");
}

#[test]
#[ignore]
fn dns_trixie() {
    install_then_scenario("trixie");
}
