//! Dev-only entry for the relay-host scenario (tests/deliverability/relay.rs): one booted bed
//! per release. `MAILSTEAD_BIN=$PWD/target/debug/mailstead cargo test --test deliver_relay --
//! --ignored --nocapture`.
#[path = "bed/mod.rs"]
mod bed;
#[path = "deliverability/relay.rs"]
mod relay;

use bed::Bed;

fn run(release: &str) {
    let bed = Bed::up(&format!("rly-{release}"), release);
    bed.install_mailstead();
    bed.write_answers(&bed.default_answers());
    let r = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(r.code, 0, "{release}: install:\n{}", r.text());
    relay::scenario(&bed);
    bed.down();
}

#[test]
#[ignore]
fn relay_host_bookworm() {
    run("bookworm");
}

#[test]
#[ignore]
fn relay_host_trixie() {
    run("trixie");
}
