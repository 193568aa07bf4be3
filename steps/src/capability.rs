//! What a capability is: one folder under `steps/src/` that brings its steps, its checks, the
//! packages it needs and the settings it hands Postfix and Dovecot. The registry
//! ([`crate::CAPABILITIES`]) lists them once, in install order; everything else is derived.
//!
//! A capability implements only what it has: every method but [`Capability::name`] has a
//! default that contributes nothing. Capabilities never import each other: what one hands
//! another goes through these methods, which the receiving step reads from the registry it is
//! given ([`Capability::steps`]'s `all`).
use crate::records::{DnsInputs, Record};
use mailstead_answers::Answers;
use mailstead_engine::{Check, Step};

/// The registry: every capability, in install order.
pub type Registry = [&'static dyn Capability];

/// What [`Capability::steps`] returns.
pub type Steps = Vec<Box<dyn Step<Answers>>>;

/// What [`Capability::checks`] returns: each check with its [`Phase`].
pub type Checks = Vec<(Phase, Box<dyn Check<Answers>>)>;

/// When a check runs, relative to the others. Checks run sorted by phase (stable: within a
/// phase, in registry order), so what `mailstead check` prints keeps one order whichever
/// capability brings a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The services run, listen and accept their configuration.
    Running,
    /// What they serve: the certificate, the signer.
    Serving,
    /// Mail flows: delivery into a mailbox, the relay host.
    Delivering,
    /// Health over time: quotas, sending limits, bans.
    Health,
    /// `mailstead check` only (not after an install): the world outside (DNS, blocklists,
    /// served certificate, queue, disk).
    World,
}

/// Which Dovecot configuration language to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DovecotSyntax {
    /// Dovecot 2.3 (Debian 12): `ssl_cert = <file`, `mail_location`, `passdb { driver = }`.
    V23,
    /// Dovecot 2.4 (Debian 13): `ssl_server_cert_file`, `mail_driver`, named passdb/userdb.
    V24,
}

/// What a capability hands Dovecot's `local.conf` (the `dovecot` capability assembles it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DovecotPiece {
    /// Plugins added to `protocol imap`'s `mail_plugins`, e.g. `imap_sieve`.
    pub imap_plugins: Vec<&'static str>,
    /// Plugins added to `protocol lmtp`'s `mail_plugins` (2.4: the block Dovecot's quota
    /// already opens).
    pub lmtp_plugins: Vec<&'static str>,
    /// Configuration appended after mailstead's own, in the syntax asked for, ending in `\n`.
    pub config: String,
}

/// One capability. See the module docs.
pub trait Capability: Sync {
    /// Short, stable name (the folder's name).
    fn name(&self) -> &'static str;
    /// The steps it runs, in order, each named for journals and failpoints. `all` is the
    /// registry, for a step that assembles what other capabilities contribute.
    fn steps(&self, _all: &'static Registry) -> Steps {
        Vec::new()
    }
    /// The checks that prove it works, each with its [`Phase`].
    fn checks(&self) -> Checks {
        Vec::new()
    }
    /// The Debian packages it needs for these answers, in install order.
    fn packages(&self, _answers: &Answers) -> Vec<&'static str> {
        Vec::new()
    }
    /// Postfix `main.cf` settings it contributes (`name`, `value`), in the order `postconf -e`
    /// writes them.
    fn postfix_main(&self, _answers: &Answers) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Postfix `master.cf` entries it contributes (`service/type`, entry), after Postfix's
    /// own (a content filter's service, a policy daemon).
    fn postfix_master(&self, _answers: &Answers) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// DNS records it contributes for the mail domain `domain` (the `dns` capability lists
    /// them after the domain's MX and SPF, in registry order).
    fn records(&self, _inputs: &DnsInputs, _domain: &str) -> Vec<Record> {
        Vec::new()
    }
    /// What it adds to Dovecot's `local.conf`, in the given syntax.
    fn dovecot(&self, _answers: &Answers, _syntax: DovecotSyntax) -> DovecotPiece {
        DovecotPiece::default()
    }
}

/// Every capability's Postfix `main.cf` settings, in registry order.
pub fn postfix_main(all: &Registry, answers: &Answers) -> Vec<(&'static str, String)> {
    all.iter().flat_map(|c| c.postfix_main(answers)).collect()
}

/// Every capability's Postfix `master.cf` entries, in registry order.
pub fn postfix_master(all: &Registry, answers: &Answers) -> Vec<(&'static str, String)> {
    all.iter().flat_map(|c| c.postfix_master(answers)).collect()
}

/// Every capability's DNS records for the mail domain `domain`, in registry order.
pub fn records(all: &Registry, inputs: &DnsInputs, domain: &str) -> Vec<Record> {
    all.iter().flat_map(|c| c.records(inputs, domain)).collect()
}

/// Every capability's Dovecot piece, merged in registry order.
pub fn dovecot(all: &Registry, answers: &Answers, syntax: DovecotSyntax) -> DovecotPiece {
    let mut merged = DovecotPiece::default();
    for piece in all.iter().map(|c| c.dovecot(answers, syntax)) {
        merged.imap_plugins.extend(piece.imap_plugins);
        merged.lmtp_plugins.extend(piece.lmtp_plugins);
        merged.config.push_str(&piece.config);
    }
    merged
}
