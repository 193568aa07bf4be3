//! Facts: what mailstead knows about the host, each probed by ONE command or file read,
//! parsed in one place, cached per run by the engine ([`mailstead_engine::Facts`]) and
//! dropped when a change touches what it reads ([`Fact::READS`]).
//!
//! Steps and checks read facts with `ctx.fact::<T>()`; they never run probes of their own.
//! Each parser is a plain function over captured output, unit-tested below its fact.
pub mod accounts;
/// fail2ban's jails and bans (`fail2ban-client banned`).
pub mod bans;
pub mod certs;
pub mod deliverability;
pub mod dkim;
pub mod dkim_public;
pub mod dovecot;
pub mod keys;
pub mod net;
pub mod os;
pub mod packages;
pub mod postconf;
/// The mail queue (`postqueue -j`), for the relay host check.
pub mod queue;
pub mod resolver;
pub mod sockets;
pub mod sshd;
pub mod system;
pub mod ufw;

pub use accounts::Accounts;
pub use bans::Bans;
pub use certs::Certificates;
pub use dkim::{dkim_p, dkim_txt, DkimKey, DkimKeys};
pub use dovecot::DovecotVersion;
pub use keys::KeyLogins;
pub use net::{Ipv6, PublicAddresses};
pub use os::OsRelease;
pub use packages::Packages;
pub use postconf::{PostconfMain, PostconfMaster};
pub use sockets::{challenge_for, web_server_on_80, Challenge, Listener, Listeners};
pub use sshd::Sshd;
pub use system::{Hostname, Identity, Resources};
pub use ufw::Ufw;

use mailstead_engine::{Cmd, Host, Output};

/// Runs a read-only probe; `None` when the program cannot be started (not installed).
pub(crate) fn probe(host: &dyn Host, program: &str, args: &[&str]) -> Option<Output> {
    host.run(&Cmd::probe(program, args.iter().copied())).ok()
}
