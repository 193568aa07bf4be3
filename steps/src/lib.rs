//! mailstead's mail knowledge: facts about the host, the steps that turn facts and answers
//! into changes, and the checks that prove the result.
//!
//! - [`facts`]: one module per probe, parsed once, cached per run by the engine.
//! - [`layout`]: the paths steps and checks agree on.
//! - the step modules, in the order a fresh install walks them. No step module imports
//!   another: they share only facts and layout (a unit test below enforces it).
//! - [`checks`]: proof after apply, and `mailstead check`.
pub mod answers;
// Password guessers banned from the mail ports (fail2ban), after the firewall.
pub mod bans;
pub mod checks;
pub mod deliverability;
pub mod demo;
// `mailstead dns`: the records to publish (a plain module, not a step).
pub mod dns;
pub mod dovecot;
pub mod facts;
pub mod firewall;
#[cfg(test)]
mod golden_tests;
pub mod layout;
pub mod mailboxes;
pub mod packages;
pub mod postfix;
pub mod preflight;
pub mod resolver;
// DKIM signing with rspamd (the signer step, before postfix: the milter runs first).
pub mod signer;
// Inbound spam: rspamd's checks, Sieve's Junk folder, IMAPSieve training.
pub mod spam;
pub mod ssh;
#[cfg(test)]
pub(crate) mod testing;
pub mod tls;
pub mod tls_interim;

use mailstead_answers::Answers;
use mailstead_engine::{Check, Step};

/// Every step of an install, in order. Re-running them is how mailstead adds a domain, a
/// mailbox or an alias: each step changes only what differs.
pub fn install_steps() -> Vec<Box<dyn Step<Answers>>> {
    vec![
        Box::new(preflight::Preflight),
        Box::new(packages::Packages),
        Box::new(tls::Tls),
        Box::new(tls_interim::TlsInterim),
        // Maps and the users file first, so the configurations never point at missing files.
        Box::new(mailboxes::Mailboxes),
        Box::new(dovecot::Dovecot),
        // After dovecot: the compiled scripts' directory belongs to vmail.
        Box::new(spam::Spam),
        // rspamd signs before Postfix is pointed at it as its milter.
        Box::new(signer::Signer),
        Box::new(postfix::Postfix),
        Box::new(firewall::Firewall),
        Box::new(bans::Bans),
        Box::new(ssh::Ssh),
    ]
}

/// Every check, run after an install's reloads and by `mailstead check`.
pub fn install_checks() -> Vec<Box<dyn Check<Answers>>> {
    checks::all()
}

/// The checks of `mailstead check`: [`install_checks`], then the deliverability checks
/// (reverse DNS, blocklists, served certificate, renewal hook, queue, disk). Those do not run
/// after an install: DNS is often published later, and a missing PTR must not undo an install
/// (preflight warns about it instead).
pub fn server_checks() -> Vec<Box<dyn Check<Answers>>> {
    let mut all = install_checks();
    all.extend(checks::deliverability::all());
    all
}

/// The step modules (not facts, layout or checks).
pub const STEP_MODULES: &[&str] = &[
    "answers",
    "bans",
    "demo",
    "dovecot",
    "firewall",
    "mailboxes",
    "packages",
    "postfix",
    "preflight",
    "signer",
    "ssh",
    "tls",
    "tls_interim",
];

#[cfg(test)]
mod tests {
    /// No step module imports another, in its code or its tests: steps depend on facts,
    /// layout and the engine only.
    #[test]
    fn no_step_imports_another() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for m in super::STEP_MODULES {
            let text = std::fs::read_to_string(dir.join(format!("{m}.rs"))).unwrap();
            for other in super::STEP_MODULES.iter().filter(|o| *o != m) {
                for pat in [
                    format!("crate::{other}::"),
                    format!("crate::{other};"),
                    format!("crate::{{{other}"),
                ] {
                    assert!(
                        !text.contains(&pat),
                        "step module {m} imports step module {other} ({pat})"
                    );
                }
            }
        }
    }
}
