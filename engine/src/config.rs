//! The answers file: what the admin wants. Loaded by one `load()`, validated before anything
//! changes. (Stub: the full loader and validation land with the config work.)
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the answers live unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/mailstead/mailstead.yaml";

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub hostname: String,
    pub admin_email: String,
    #[serde(default)]
    pub domains: Vec<Domain>,
    #[serde(default)]
    pub acme: Acme,
    #[serde(default)]
    pub ssh: Ssh,
    #[serde(default)]
    pub firewall: Firewall,
    /// Offer POP3 (995) too; IMAP only by default.
    #[serde(default)]
    pub pop3: bool,
    /// Largest message accepted, in bytes.
    #[serde(default = "default_message_size_limit")]
    pub message_size_limit: u64,
}

pub fn default_message_size_limit() -> u64 {
    50 * 1024 * 1024
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub name: String,
    #[serde(default)]
    pub mailboxes: Vec<Mailbox>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// postmaster@ and abuse@ pointing at the first mailbox unless the admin set them.
    #[serde(default = "yes")]
    pub default_aliases: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// ACME directory URL; Let's Encrypt when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Extra trust for a private ACME server (a PEM file on the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    #[serde(default)]
    pub staging: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Ssh {
    /// Users allowed to log in over SSH; the user running mailstead is always added.
    #[serde(default)]
    pub allow_users: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall { enabled: true }
    }
}

fn yes() -> bool {
    true
}
