//! One module per step, in the order a fresh install walks them. Each reads the host through
//! `Ctx`, returns its changes as data, and verifies; none touches the system itself.
pub mod answers;
pub mod demo;
pub mod dovecot;
pub mod firewall;
pub mod mailboxes;
pub mod packages;
pub mod postfix;
pub mod preflight;
pub mod ssh;
pub mod tls;
pub mod verify;

use mailstead_engine::Step;

/// Every step of an install, in order. Re-running them is how mailstead adds a domain, a
/// mailbox or an alias: each step changes only what differs.
pub fn install_steps() -> Vec<Box<dyn Step<Answers>>> {
    vec![
        Box::new(preflight::Preflight),
        Box::new(packages::Packages),
        Box::new(tls::Tls),
        // Maps and the users file first, so the configurations never point at missing files.
        Box::new(mailboxes::Mailboxes),
        Box::new(dovecot::Dovecot),
        Box::new(postfix::Postfix),
        Box::new(firewall::Firewall),
        Box::new(ssh::Ssh),
        Box::new(verify::Verify),
    ]
}
