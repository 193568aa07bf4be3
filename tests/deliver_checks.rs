//! Dev entry for the deliverability checks scenario (tests/deliverability/checks.rs): a bed per
//! release, mailstead installed with the default answers, then the scenario. Run as root:
//! `MAILSTEAD_BIN=$PWD/target/debug/mailstead cargo test -p mailstead --test deliver_checks -- --ignored --nocapture --test-threads=1`
#[path = "bed/mod.rs"]
mod bed;
#[path = "deliverability/checks.rs"]
mod checks;

use bed::Bed;

fn run(release: &str) {
    let bed = Bed::up("dchecks", release);
    bed.install_mailstead();
    bed.write_answers(&bed.default_answers());
    let install = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(install.code, 0, "install on {release}:\n{}", install.text());
    println!("{release}: install without DNS took {:.1} s", install.secs);
    checks::scenario(&bed);
    bed.down();
}

#[test]
#[ignore]
fn deliverability_checks_bookworm() {
    run("bookworm");
}

#[test]
#[ignore]
fn deliverability_checks_trixie() {
    run("trixie");
}
