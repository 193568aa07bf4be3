//! mailstead's mail knowledge: facts about the host, and the capabilities that turn facts and
//! answers into changes and prove the result.
//!
//! # The registry
//!
//! A capability is one folder under `steps/src/`, named as the capability:
//!
//! ```text
//! tls/      mod.rs (step, Cap), interim.rs (a 2nd step), check.rs, retry.rs, paths.rs
//! signer/   mod.rs, check.rs, rotate.rs (`dkim rotate`), paths.rs
//! bans/     mod.rs, check.rs, unban.rs (`unban`), paths.rs
//! postfix/  mod.rs, main_cf.rs (assembles), master_cf.rs, relay.rs, check.rs, paths.rs
//! ```
//!
//! `mod.rs` holds its step(s) and a unit struct `Cap` implementing
//! [`capability::Capability`]: its name, steps, checks (each with a [`capability::Phase`]),
//! the Debian packages it needs, what it hands Postfix (`postfix_main`: `main.cf` settings;
//! `postfix_master`: `master.cf` entries) and Dovecot (`dovecot`: plugins and configuration
//! for `local.conf`), and the DNS records it contributes per mail domain (`records`). Its
//! operations (`retry.rs`, `rotate.rs`, `unban.rs`) take a Host and return data and the lines
//! to show; the CLI prints them. Its own paths are in its `paths.rs`; [`layout`] keeps only the
//! paths several capabilities share.
//!
//! [`CAPABILITIES`] lists every `Cap` once, in install order; the rest is derived from it:
//!
//! - [`install_steps`]: every capability's steps, in registry order;
//! - [`install_checks`] / [`server_checks`]: every capability's checks, sorted by
//!   [`capability::Phase`] (stable: registry order within a phase), so `mailstead check`
//!   prints one order whichever capability brings a check;
//! - [`packages::wanted`]: every capability's packages, in registry order, each once;
//! - Postfix's `main.cf` ([`postfix::main_settings`]) and Dovecot's `local.conf`
//!   ([`dovecot::render`]) assemble what the capabilities contribute
//!   ([`capability::postfix_main`], [`capability::postfix_master`], [`capability::dovecot`]),
//!   and `mailstead dns` lists each domain's MX and SPF, then what the capabilities
//!   contribute ([`capability::records`]: the signer's DKIM keys), then the rest. No
//!   capability edits another's file. A step that assembles gets the registry as an
//!   argument ([`capability::Capability::steps`]).
//!
//! Capabilities import only [`facts`] (including the resolver and the deliverability probes:
//! facts about the world), [`layout`], [`records`], [`support`], [`capability`], the engine
//! and the answers, never each other. The tests in `tests.rs` enforce it, and that every
//! capability folder is registered, every step has a failpoint in the bed's fault matrix,
//! and names are unique.
//!
//! Not capabilities: [`answers`] (the step that saves the answers file, which the CLI puts
//! first when a command changed it) and [`demo`] (the engine's demo steps, `--demo` only).
//!
//! # Adding a capability
//!
//! 1. A folder `steps/src/NAME/` with `mod.rs`: its step(s), `pub struct Cap` and its
//!    `impl Capability` (name `NAME`, steps, checks, packages, contributions); `check.rs`,
//!    `paths.rs` and operations as it needs them.
//! 2. `pub mod NAME;` and one line `&NAME::Cap` in [`CAPABILITIES`], at its place in install
//!    order.
//! 3. With a step: its name in the fault matrix of `tests/mailstack.rs` (a test here fails
//!    until it is).
//! 4. Its answers fields (the answers crate).
pub mod answers;
pub mod bans;
pub mod capability;
#[cfg(test)]
mod check_tests;
pub mod deliverability;
pub mod demo;
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
pub mod records;
pub mod services;
pub mod signer;
pub mod spam;
pub mod ssh;
pub mod support;
#[cfg(test)]
pub(crate) mod testing;
pub mod tls;

// Public paths the CLI and the tests use, from before the facts about the world moved into
// `facts/`.
pub use facts::resolver;

use capability::{Phase, Registry};
use mailstead_answers::Answers;
use mailstead_engine::{Check, Step};

/// Every capability, in install order.
pub static CAPABILITIES: &Registry = &[
    &preflight::Cap,
    &packages::Cap,
    &tls::Cap,
    // Maps and the users file first, so the configurations never point at missing files.
    &mailboxes::Cap,
    &dovecot::Cap,
    // After dovecot: the compiled scripts' directory belongs to vmail.
    &spam::Cap,
    // rspamd signs before Postfix is pointed at it as its milter.
    &signer::Cap,
    &postfix::Cap,
    &firewall::Cap,
    // Password guessers banned from the mail ports (fail2ban), after the firewall.
    &bans::Cap,
    &ssh::Cap,
    // No steps: checks only.
    &services::Cap,
    &deliverability::Cap,
    &dns::Cap,
];

/// Every step of an install, in order. Re-running them is how mailstead adds a domain, a
/// mailbox or an alias: each step changes only what differs.
pub fn install_steps() -> Vec<Box<dyn Step<Answers>>> {
    CAPABILITIES
        .iter()
        .flat_map(|c| c.steps(CAPABILITIES))
        .collect()
}

/// The checks of these phases, sorted by phase (registry order within one).
fn checks_until(last: Phase) -> Vec<Box<dyn Check<Answers>>> {
    let mut all: Vec<(Phase, Box<dyn Check<Answers>>)> = CAPABILITIES
        .iter()
        .flat_map(|c| c.checks())
        .filter(|(p, _)| *p <= last)
        .collect();
    all.sort_by_key(|(p, _)| *p);
    all.into_iter().map(|(_, c)| c).collect()
}

/// Every check, run after an install's reloads and by `mailstead check`.
pub fn install_checks() -> Vec<Box<dyn Check<Answers>>> {
    checks_until(Phase::Health)
}

/// The checks of `mailstead check`: [`install_checks`], then the deliverability checks
/// ([`Phase::World`]: reverse DNS, blocklists, served certificate, renewal hook, queue, disk,
/// DNS records). Those do not run after an install: DNS is often published later, and a
/// missing PTR must not undo an install (preflight warns about it instead).
pub fn server_checks() -> Vec<Box<dyn Check<Answers>>> {
    checks_until(Phase::World)
}

#[cfg(test)]
mod shown_tests;
#[cfg(test)]
mod tests;
