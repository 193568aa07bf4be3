//! The answers' types: what the admin wants, as serde reads and writes it. Every rule a value
//! must follow lives in [`crate::rules`]; what each key means is written in [`crate::schema`]
//! (the reference page is generated from it).
pub use mailstead_engine::Secret;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the answers live unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/mailstead/mailstead.yaml";

/// Let's Encrypt's production ACME directory, used when `acme.server` is absent.
pub const LETSENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging ACME directory, used with `acme.staging: true`.
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Smallest and largest accepted `message_size_limit`.
pub const MIN_MESSAGE_SIZE: u64 = 1024 * 1024;
pub const MAX_MESSAGE_SIZE: u64 = 1024 * 1024 * 1024;

/// Smallest non-zero mailbox quota (`quota`, `mailboxes[].quota`), in bytes: 1 MiB.
pub const MIN_QUOTA: u64 = 1024 * 1024;
/// Largest mailbox quota, in bytes: 64 TiB (a sanity bound, far above any disk of a VPS).
pub const MAX_QUOTA: u64 = 64 << 40;

/// Shortest accepted plaintext password. IMAP and SMTP AUTH face the internet and are
/// brute-forced around the clock; 12 characters puts guessing out of reach of those bots.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Largest answers file `load` reads: 1,000 domains × 10 mailboxes is ~1 MiB, so this is
/// generous, and it stops a stray huge file from being read into memory.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The whole answers file. Build one in code with [`Answers::new`] (every other key at its
/// default), never with a struct literal.
///
/// A new key costs: its field here, with its default in a `#[serde(default...)]` attribute
/// (the one copy of the default: [`Answers::new`] and the reference page read it from serde);
/// its row in `crate::schema` (kind, example, meaning, rule: the shape check and the reference
/// page read it; a test fails while it is missing); and, when its value has a rule beyond its
/// type, that rule in [`crate::rules`] and its call in [`crate::validate`]. Then regenerate
/// `docs/user/answers.md` (`MAILSTEAD_BLESS=1 cargo test -p mailstead-answers reference`).
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
    /// Mailbox size limit of every mailbox, in bytes (Dovecot's quota plugin, storage limit);
    /// `0` means unlimited. A mailbox's own `quota` overrides it. Mail to a full mailbox is
    /// refused at RCPT time with `552 5.2.2` (Dovecot's quota-status service, asked by Postfix).
    #[serde(default = "default_quota")]
    pub quota: u64,
    /// At most this many messages an hour from each logged-in user (SMTP AUTH on 587/465);
    /// beyond it mail is deferred with `451 4.7.1` (rspamd's ratelimit module: a leaky bucket
    /// of this size draining at this rate). `0` = no limit. A hijacked account then sends a
    /// trickle, not a flood that gets the server's address blocklisted.
    #[serde(default = "default_max_messages_per_hour")]
    pub max_messages_per_hour: u32,
    /// DNS blocklists postscreen asks about every new client on port 25, each
    /// `domain[=filter][*weight]` as in Postfix's `postscreen_dnsbl_sites` (postconf(5)), e.g.
    /// `zen.spamhaus.org=127.0.0.[2..11]*3`. A client whose weights add up to
    /// [`Answers::postscreen_dnsbl_threshold`] is refused with 550. Empty (the default): no list
    /// is asked (many lists refuse queries through public resolvers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postscreen_dnsbl_sites: Vec<String>,
    /// The sum of [`Answers::postscreen_dnsbl_sites`] weights that refuses a client (Postfix's
    /// `postscreen_dnsbl_threshold`; default 1, as Postfix's), 1 to 1000.
    #[serde(default = "default_postscreen_dnsbl_threshold")]
    pub postscreen_dnsbl_threshold: u32,
    /// Greylisting of inbound mail (rspamd's greylist module): a message from outside that
    /// scores 4 or more, from a sender not seen before, is deferred with `451 4.7.1` and
    /// accepted when the sending server retries after 5 minutes. Off by default: it delays
    /// login links and one-time codes, and rspamd's other checks catch most spam already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub greylisting: bool,
    /// Addresses and networks never banned by fail2ban (every jail's `ignoreip`: mailstead's
    /// mail jails and Debian's `sshd` jail), each an IPv4 or IPv6 address or a CIDR network
    /// (`192.0.2.0/24`, `2001:db8::/32`), e.g. an office's or a monitoring host's. Empty (the
    /// default): only loopback and the server's own addresses are never banned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_networks: Vec<String>,
    /// Send all outgoing mail through this relay host (smarthost) instead of delivering it
    /// directly; see [`RelayHost`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_host: Option<RelayHost>,
}

pub fn default_message_size_limit() -> u64 {
    50 * 1024 * 1024
}

/// The default sending limit of a logged-in user: 200 messages an hour.
pub fn default_max_messages_per_hour() -> u32 {
    200
}

/// Largest accepted `max_messages_per_hour`.
pub const MAX_MESSAGES_PER_HOUR: u32 = 100_000;

/// The default DNSBL threshold: 1, Postfix's own.
pub fn default_postscreen_dnsbl_threshold() -> u32 {
    1
}

/// Largest accepted `postscreen_dnsbl_threshold`.
pub const MAX_DNSBL_THRESHOLD: u32 = 1000;

/// Largest weight of one DNSBL site, either sign.
pub const MAX_DNSBL_WEIGHT: i32 = 1000;

/// The default mailbox quota: 1 GiB.
pub fn default_quota() -> u64 {
    1024 * 1024 * 1024
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
    /// Written back in double quotes: [`crate::parse`] refuses a secret that is not quoted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "quoted_secret"
    )]
    pub password: Option<Secret>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "quoted"
    )]
    pub password_hash: Option<String>,
    /// This mailbox's size limit in bytes, overriding the top-level `quota`; `0` = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
}

/// A relay host (smarthost, Postfix's `relayhost`): every outgoing message goes to it, over TLS
/// that must encrypt and verify its certificate, with SMTP AUTH (RFC 4954). For servers whose
/// provider blocks outbound port 25.
///
/// Decisions, written down (rules in [`crate::rules`]):
/// - `host` is a DNS name (the same rules as `hostname`), never an IP address: the relay's
///   certificate is verified against this name, and a certificate names a host, not an address.
/// - `port` is 587 (submission, STARTTLS, RFC 6409) unless set; 465 means implicit TLS
///   (submissions, RFC 8314); any other port (25, 2525) speaks STARTTLS. Whatever the port, TLS
///   is required and verified, so the password never crosses the network in clear.
/// - `username` and `password` are both required: a relay that accepts mail without AUTH would
///   be an open relay, and mailstead never sends through one; AUTH is what the relay bills and
///   limits by. The password is the provider's, so mailstead's minimum length does not apply.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayHost {
    pub host: String,
    /// TCP port; 465 is implicit TLS, anything else STARTTLS.
    #[serde(default = "default_relay_port")]
    pub port: u16,
    pub username: String,
    /// Written back in double quotes: [`crate::parse`] refuses a secret that is not quoted.
    #[serde(serialize_with = "quoted_secret_required")]
    pub password: Secret,
}

/// The submission port (RFC 6409), where relays take authenticated mail.
pub const DEFAULT_RELAY_PORT: u16 = 587;
/// The port that means implicit TLS (RFC 8314 "submissions").
pub const IMPLICIT_TLS_PORT: u16 = 465;

pub fn default_relay_port() -> u16 {
    DEFAULT_RELAY_PORT
}

impl RelayHost {
    /// Postfix's next-hop form: `[host]:port` (brackets: no MX lookup, the name is the host).
    pub fn nexthop(&self) -> String {
        format!("[{}]:{}", self.host, self.port)
    }
}

fn quoted_secret_required<S: serde::Serializer>(v: &Secret, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&serde_saphyr::DoubleQuoted(v.expose()), s)
}

fn quoted_secret<S: serde::Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    quoted(&v.as_ref().map(|p| p.expose().to_string()), s)
}

fn quoted<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&serde_saphyr::DoubleQuoted(v.as_str())),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub from: String,
    /// One address, or several separated by commas.
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

/// `T` with only `keys` given and every other field at its serde default: exactly what a file
/// with just those keys reads as. The `#[serde(default)]` attributes above are the one copy of
/// each default, so a new field needs no constructor change.
///
/// Panics if `T` refuses them, which only a required field missing from `keys` (a bug in this
/// file, caught by the tests) can make it do.
fn with_defaults<T: DeserializeOwned>(keys: Vec<(&'static str, String)>) -> T {
    match T::deserialize(MapDeserializer::<_, ValueError>::new(keys.into_iter())) {
        Ok(value) => value,
        Err(e) => panic!("the required keys alone must deserialize: {e}"),
    }
}

impl Answers {
    /// Answers for the server `hostname` (an FQDN) with `admin_email`, no domain yet, and every
    /// other key at its default (as a file with only these two keys). Not yet valid:
    /// [`crate::validate`] wants at least one domain.
    pub fn new(hostname: impl Into<String>, admin_email: impl Into<String>) -> Answers {
        with_defaults(vec![
            ("hostname", hostname.into()),
            ("admin_email", admin_email.into()),
        ])
    }

    /// These answers with `domain` appended (builder style, for tests and the wizard).
    pub fn with_domain(mut self, domain: Domain) -> Answers {
        self.domains.push(domain);
        self
    }
}

impl Domain {
    /// The mail domain `name`, no mailbox, no alias, other keys at their defaults
    /// (`default_aliases: true`).
    pub fn new(name: impl Into<String>) -> Domain {
        with_defaults(vec![("name", name.into())])
    }

    /// This domain with `mailbox` appended.
    pub fn with_mailbox(mut self, mailbox: Mailbox) -> Domain {
        self.mailboxes.push(mailbox);
        self
    }

    /// This domain with the alias `from` → `to` appended (`to`: one address or a
    /// comma-separated list).
    pub fn with_alias(mut self, from: impl Into<String>, to: impl Into<String>) -> Domain {
        self.aliases.push(Alias {
            from: from.into(),
            to: to.into(),
        });
        self
    }
}

impl Mailbox {
    /// The mailbox `address` with a plaintext `password` (hashed when installed), other keys
    /// at their defaults (no own quota).
    pub fn with_password(address: impl Into<String>, password: Secret) -> Mailbox {
        Mailbox {
            password: Some(password),
            ..with_defaults(vec![("address", address.into())])
        }
    }

    /// The mailbox `address` with a password hash (`{SHA512-CRYPT}$6$...`), other keys at their
    /// defaults.
    pub fn with_hash(address: impl Into<String>, password_hash: impl Into<String>) -> Mailbox {
        Mailbox {
            password_hash: Some(password_hash.into()),
            ..with_defaults(vec![("address", address.into())])
        }
    }
}

impl Answers {
    /// Every mailbox of every domain, in file order.
    pub fn all_mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        self.domains.iter().flat_map(|d| d.mailboxes.iter())
    }

    /// Whether any mailbox carries a plaintext password (decides how private the file must be).
    pub fn has_plaintext_password(&self) -> bool {
        self.all_mailboxes().any(|m| m.password.is_some()) || self.relay_host.is_some()
    }

    /// The ACME directory to use: `acme.server`, else Let's Encrypt (staging if asked).
    pub fn acme_server_url(&self) -> &str {
        match &self.acme.server {
            Some(url) => url,
            None if self.acme.staging => LETSENCRYPT_STAGING,
            None => LETSENCRYPT_PRODUCTION,
        }
    }
}

impl Answers {
    /// The aliases to install for `d`: [`Domain::effective_aliases`], and for a domain without
    /// any mailbox (with `default_aliases`), postmaster@ and abuse@ to `admin_email` when it
    /// can receive (outside this server, or a mailbox or alias here), else to the server's
    /// first mailbox: every mail domain must accept mail for postmaster (RFC 5321 §4.5.1,
    /// RFC 2142).
    pub fn aliases_of(&self, d: &Domain) -> Vec<Alias> {
        let mut out = d.effective_aliases();
        if d.mailboxes.is_empty() && d.default_aliases {
            let admin = self.admin_email.to_lowercase();
            let ours = admin
                .rsplit_once('@')
                .is_some_and(|(_, dom)| self.domains.iter().any(|x| x.name == dom));
            let here = self.all_mailboxes().any(|m| m.address == admin)
                || self
                    .domains
                    .iter()
                    .flat_map(|x| &x.aliases)
                    .any(|x| x.from == admin);
            let to = if !ours || here {
                Some(self.admin_email.clone())
            } else {
                self.all_mailboxes().next().map(|m| m.address.clone())
            };
            let Some(to) = to else {
                return out;
            };
            for local in ["postmaster", "abuse"] {
                let addr = format!("{local}@{}", d.name);
                if !d.aliases.iter().any(|a| a.from == addr) {
                    out.push(Alias {
                        from: addr,
                        to: to.clone(),
                    });
                }
            }
        }
        out
    }
}

impl Domain {
    /// The aliases to install: the explicit ones, plus (when `default_aliases`) postmaster@ and
    /// abuse@ pointing at the first mailbox, unless that address is already a mailbox or an
    /// alias. RFC 5321/2142 expect both to exist. A domain without mailboxes gets no defaults.
    pub fn effective_aliases(&self) -> Vec<Alias> {
        let mut out = self.aliases.clone();
        let Some(first) = self.mailboxes.first() else {
            return out;
        };
        if !self.default_aliases {
            return out;
        }
        for local in ["postmaster", "abuse"] {
            let addr = format!("{local}@{}", self.name);
            let taken = self.mailboxes.iter().any(|m| m.address == addr)
                || self.aliases.iter().any(|a| a.from == addr);
            if !taken {
                out.push(Alias {
                    from: addr,
                    to: first.address.clone(),
                });
            }
        }
        out
    }
}
