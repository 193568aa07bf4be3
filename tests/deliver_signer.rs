//! Dev entry for the DKIM signer scenario (tests/deliverability/signer.rs): one fresh bed per
//! release, mailstead installed with the default answers, then the scenario. Run as root:
//! `MAILSTEAD_BIN=$PWD/target/debug/mailstead cargo test --test deliver_signer -- --ignored --nocapture`
#[path = "bed/mod.rs"]
mod bed;
#[path = "deliverability/signer.rs"]
mod signer;

fn run(release: &str) {
    bed::require_bed();
    let b = bed::Bed::up(&format!("signer-{release}"), release);
    b.install_mailstead();
    b.write_answers(&b.default_answers());
    let install = b.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(install.code, 0, "install on {release}:\n{}", install.text());
    println!("{release}: fresh install {:.1} s", install.secs);
    signer::scenario(&b);
    b.down();
}

#[test]
#[ignore = "booted-Debian bed: root + namespaces; run with --ignored"]
fn signer_bookworm() {
    run("bookworm");
}

#[test]
#[ignore = "booted-Debian bed: root + namespaces; run with --ignored"]
fn signer_trixie() {
    run("trixie");
}
