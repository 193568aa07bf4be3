//! mailstead's booted-Debian bed (README.md next to this crate): throwaway Debian servers
//! booted with systemd as PID 1 in their own namespaces on this machine, driven by the `bed`
//! script in this crate's folder.
//!
//! One driver for both users: `mailstead demo` (the product, a private copy of the script
//! written by [`Script::private`]) and the booted tests (the script in the repo,
//! [`Script::in_repo`], through [`Bed`]). Everything both need lives here once: the script and
//! the outside world's SMTP receiver ([`BED_SCRIPT`], [`SINK_SCRIPT`]), the runner
//! ([`Script::run`], [`Script::run_watched`]), `bed info` parsing ([`parse_info`]), the answers
//! a bed is installed with ([`answers`]), the receiver's mailbox ([`wait_for_message`]), the
//! printed DNS records as dnsmasq lines ([`dnsmasq`]) and the host capabilities of the demo
//! ([`DEMO_CAPS`]). The test-only pieces ([`Bed`], [`EtcSnapshot`], [`sandbox`]) are plain
//! library code too: the product never calls them, so they cost it nothing.

pub mod answers;
mod bed;
mod caps;
mod check;
pub mod dnsmasq;
mod etc;
mod reboot;
pub mod sandbox;
mod script;
mod sink;
pub mod trust;

pub use answers::{default_answers, ALICE_PASSWORD, DOMAIN, HOSTNAME, MAILBOX};
pub use bed::{
    bed_cmd, host_sh, installed_snapshot, mailstead_bin, require_bed, Bed, Check, Security,
    Snapshot, ANSWERS_PATH, MAILSTEAD_IN_BED,
};
pub use caps::DEMO_CAPS;
pub use check::finding;
pub use dnsmasq::blocklists_answering;
pub use etc::EtcSnapshot;
pub use script::{parse_info, Interrupted, Run, Script, Watch};
pub use sink::{sink_message, wait_for_message};
pub use trust::{check_private_dir, private_dir, same_process};

/// The bed script (`bed/bed` in the repo), compiled in for `mailstead demo`.
pub const BED_SCRIPT: &str = include_str!("../bed");
/// The outside world's SMTP receiver `bed sink-up` starts (`bed/smtp-sink.py`): the script
/// finds it next to itself.
pub const SINK_SCRIPT: &str = include_str!("../smtp-sink.py");
