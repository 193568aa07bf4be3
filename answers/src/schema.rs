//! Every key of the answers file, once: its kind (for the shape check), whether it is
//! required, an example, what it means and the rule its value follows. The shape check
//! ([`crate::shape`]) and the reference page ([`crate::reference`]) both read these tables;
//! tests hold them equal to the serde structs in [`crate::model`] and to the page in
//! `docs/user/answers.md`. Defaults are not written here: the reference reads them from serde
//! (the `#[serde(default)]` attributes in [`crate::model`] are their one copy).
use crate::model::{Acme, Alias, Answers, Domain, Firewall, Mailbox, RelayHost, Ssh};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a key's value must look like.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A single value (strings, and numbers/booleans serde reads as strings).
    Text,
    Bool,
    /// A whole number of bytes.
    Bytes,
    /// A TCP port number, 1..=65535.
    Port,
    /// A whole number (a count), 0 or more.
    Count,
    /// A list of single values.
    TextList,
    Block(&'static Schema),
    List(&'static Schema),
}

/// One key of one block.
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) required: bool,
    /// An example value, as written in YAML after `name: ` (for "add `name: example`" fixes
    /// and the reference page).
    pub(crate) example: &'static str,
    /// What the key means, in Markdown, for the reference page.
    pub(crate) doc: &'static str,
    /// The rule its value follows and where the rule comes from (an RFC, a manual page), with
    /// the function in [`crate::rules`] or [`crate::validate`] that applies it.
    pub(crate) rule: &'static str,
}

/// The keys one struct level accepts. Must match the serde structs in [`crate::model`]
/// (tested).
pub(crate) struct Schema {
    /// The serde struct's name (checked by the tests).
    pub(crate) name: &'static str,
    /// Where this block sits in the file, for the reference page: `` (top level), `acme`,
    /// `domains[]`, `domains[].mailboxes[]`, ...
    pub(crate) path: &'static str,
    pub(crate) fields: &'static [Field],
    /// The struct with only its required keys set (to their examples), parsed by serde and
    /// written back as YAML: the defaults of every other key, as serde fills them in.
    pub(crate) defaults: fn(&Schema) -> Result<String, String>,
}

/// [`Schema::defaults`] for the serde struct `T`.
fn defaults_of<T: DeserializeOwned + Serialize>(schema: &Schema) -> Result<String, String> {
    let yaml: String = schema
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| format!("{}: {}\n", f.name, f.example))
        .collect();
    let value: T = serde_saphyr::from_str(&yaml).map_err(|e| format!("{}: {e}", schema.name))?;
    serde_saphyr::to_string(&value).map_err(|e| format!("{}: {e}", schema.name))
}

pub(crate) static ANSWERS_SCHEMA: Schema = Schema {
    name: "Answers",
    path: "",
    defaults: defaults_of::<Answers>,
    fields: &[
        Field {
            name: "hostname",
            kind: Kind::Text,
            required: true,
            example: "mail.example.test",
            doc: "This server's host name: Postfix's `myhostname`, the name in its greeting and \
                  the name on its TLS certificate. Its A/AAAA record must point at this server.",
            rule: "A fully qualified DNS name: at least two labels of `a-z 0-9 -` (1 to 63 \
                   characters, no hyphen at either end), at most 253 characters, lowercase, no \
                   trailing dot, not an IP address; internationalised names in their `xn--` \
                   form (RFC 1035 §2.3.1, RFC 1123 §2.1, RFC 5890). `rules::hostname`.",
        },
        Field {
            name: "admin_email",
            kind: Kind::Text,
            required: true,
            example: "admin@example.test",
            doc: "Where the server's own mail goes: Let's Encrypt's expiry notices, and \
                  postmaster@/abuse@ of a domain that has no mailbox.",
            rule: "An email address: a local part of RFC 5322 atext (at most 64 characters, \
                   RFC 5321 §4.5.3.1.1) without the characters that mean something in Postfix \
                   and Dovecot files, `@`, and a domain by the `hostname` rule. `rules::address`.",
        },
        Field {
            name: "domains",
            kind: Kind::List(&DOMAIN_SCHEMA),
            required: false,
            example: "[{name: example.test}]",
            doc: "The mail domains this server receives mail for, each with its mailboxes and \
                  aliases. At least one is needed: a file without a domain is refused.",
            rule: "At least one domain; each domain once (compared without case). `validate`.",
        },
        Field {
            name: "acme",
            kind: Kind::Block(&ACME_SCHEMA),
            required: false,
            example: "{staging: false}",
            doc: "Where the TLS certificate comes from (an ACME server, RFC 8555).",
            rule: "A block of the keys below.",
        },
        Field {
            name: "ssh",
            kind: Kind::Block(&SSH_SCHEMA),
            required: false,
            example: "{allow_users: [root]}",
            doc: "Who may log in over SSH.",
            rule: "A block of the keys below.",
        },
        Field {
            name: "firewall",
            kind: Kind::Block(&FIREWALL_SCHEMA),
            required: false,
            example: "{enabled: true}",
            doc: "The firewall (ufw) that lets in SSH and the mail ports only.",
            rule: "A block of the keys below.",
        },
        Field {
            name: "pop3",
            kind: Kind::Bool,
            required: false,
            example: "false",
            doc: "Offer POP3 over TLS (port 995) too; IMAP only when false.",
            rule: "`true` or `false` (YAML 1.2; `yes`/`no`/`on`/`off` are refused).",
        },
        Field {
            name: "message_size_limit",
            kind: Kind::Bytes,
            required: false,
            example: "52428800",
            doc: "The largest message accepted, in bytes (Postfix's `message_size_limit`).",
            rule: "A whole number of bytes from 1048576 (1 MiB) to 1073741824 (1 GiB). \
                   `validate`.",
        },
        Field {
            name: "quota",
            kind: Kind::Bytes,
            required: false,
            example: "1073741824",
            doc: "The size limit of every mailbox, in bytes (Dovecot's quota plugin, a storage \
                  limit); `0` means unlimited. A mailbox's own `quota` overrides it. Mail to a \
                  full mailbox is refused at RCPT time with `552 5.2.2`.",
            rule: "`0`, or a whole number of bytes from 1048576 (1 MiB) to 70368744177664 \
                   (64 TiB). `rules::quota`.",
        },
        Field {
            name: "max_messages_per_hour",
            kind: Kind::Count,
            required: false,
            example: "200",
            doc: "At most this many messages an hour from each logged-in user (SMTP AUTH on \
                  587/465); beyond it mail is deferred with `451 4.7.1` (rspamd's ratelimit \
                  module, a leaky bucket). `0` means no limit. A hijacked account then sends a \
                  trickle, not a flood that gets the server's address blocklisted.",
            rule: "A whole number from 0 to 100000. `rules::max_messages_per_hour`.",
        },
        Field {
            name: "postscreen_dnsbl_sites",
            kind: Kind::TextList,
            required: false,
            example: "[\"zen.spamhaus.org=127.0.0.[2..11]*3\"]",
            doc: "DNS blocklists postscreen asks about every new client on port 25. A client \
                  whose weights add up to `postscreen_dnsbl_threshold` is refused with 550. \
                  Empty: no list is asked (many lists refuse queries through public resolvers).",
            rule: "Each `domain[=filter][*weight]` as Postfix's `postscreen_dnsbl_sites` \
                   (postconf(5)): a DNS name, an optional reply filter of four octets (a number, \
                   a range `[a..b]` or a list `[a;b]`), an optional non-zero weight from -1000 \
                   to 1000 (negative weights allow). `rules::postscreen_dnsbl_site`.",
        },
        Field {
            name: "postscreen_dnsbl_threshold",
            kind: Kind::Count,
            required: false,
            example: "3",
            doc: "The sum of `postscreen_dnsbl_sites` weights that refuses a client (Postfix's \
                  `postscreen_dnsbl_threshold`).",
            rule: "A whole number from 1 to 1000. `rules::postscreen_dnsbl_threshold`.",
        },
        Field {
            name: "greylisting",
            kind: Kind::Bool,
            required: false,
            example: "false",
            doc: "Greylisting of inbound mail (rspamd's greylist module): a message from outside \
                  that scores 4 or more, from a sender not seen before, is deferred with \
                  `451 4.7.1` and accepted when the sender retries after 5 minutes. Off by \
                  default: it delays login links and one-time codes.",
            rule: "`true` or `false`.",
        },
        Field {
            name: "trusted_networks",
            kind: Kind::TextList,
            required: false,
            example: "[\"192.0.2.0/24\", \"2001:db8::7\"]",
            doc: "Addresses and networks fail2ban never bans (every jail's `ignoreip`: the mail \
                  jails and Debian's `sshd` jail), e.g. an office whose users mistype \
                  passwords. Empty: only loopback and the server's own addresses.",
            rule: "Each an IPv4 or IPv6 address or a CIDR network (`192.0.2.0/24`, \
                   `2001:db8::/32`; prefix up to 32 or 128), nothing else. \
                   `rules::trusted_network`.",
        },
        Field {
            name: "relay_host",
            kind: Kind::Block(&RELAY_HOST_SCHEMA),
            required: false,
            example: "{host: smtp.relay.example, port: 587, username: me, password: \"...\"}",
            doc: "Send all outgoing mail through this relay host (smarthost, Postfix's \
                  `relayhost`) instead of delivering it directly: for servers whose provider \
                  blocks outbound port 25. TLS is required and its certificate verified; the \
                  relay must take SMTP AUTH (RFC 4954), so mailstead never sends through an \
                  open relay.",
            rule: "A block of the keys below; absent: mail is delivered directly.",
        },
    ],
};
/// `relay_host`: see `RelayHost` (all sending through a smarthost, AUTH over verified TLS).
pub(crate) static RELAY_HOST_SCHEMA: Schema = Schema {
    name: "RelayHost",
    path: "relay_host",
    defaults: defaults_of::<RelayHost>,
    fields: &[
        Field {
            name: "host",
            kind: Kind::Text,
            required: true,
            example: "smtp.relay.example",
            doc: "The relay's DNS name, as its certificate names it.",
            rule: "A DNS name by the `hostname` rule, not an IP address and without a port: the \
                   relay's certificate is verified against the name (postconf(5) \
                   `smtp_tls_security_level = secure`). `rules::relay_host`.",
        },
        Field {
            name: "port",
            kind: Kind::Port,
            required: false,
            example: "587",
            doc: "The relay's TCP port: 587 is submission with STARTTLS (RFC 6409), 465 is \
                  implicit TLS (RFC 8314); any other port speaks STARTTLS.",
            rule: "A whole number from 1 to 65535. `rules::relay_port`.",
        },
        Field {
            name: "username",
            kind: Kind::Text,
            required: true,
            example: "me@example.test",
            doc: "The login the relay provider gave you.",
            rule: "Not empty, at most 255 bytes (SASL PLAIN, RFC 4616), no space, control \
                   character or `:` (Postfix's password map line is `user:password`, \
                   postconf(5) `smtp_sasl_password_maps`). `rules::relay_username`.",
        },
        Field {
            name: "password",
            kind: Kind::Text,
            required: true,
            example: "\"the relay's password\"",
            doc: "The password the relay provider gave you. Never shown in any message.",
            rule: "A quoted string (unquoted, YAML may read it as something else); not empty, \
                   one line, no spaces at either end, at most 255 bytes. mailstead's minimum \
                   length does not apply: the password is the provider's. \
                   `rules::relay_password`.",
        },
    ],
};
pub(crate) static DOMAIN_SCHEMA: Schema = Schema {
    name: "Domain",
    path: "domains[]",
    defaults: defaults_of::<Domain>,
    fields: &[
        Field {
            name: "name",
            kind: Kind::Text,
            required: true,
            example: "example.test",
            doc: "The mail domain: the part after `@` of its addresses.",
            rule: "A DNS name by the `hostname` rule. `rules::domain`.",
        },
        Field {
            name: "mailboxes",
            kind: Kind::List(&MAILBOX_SCHEMA),
            required: false,
            example: "[{address: alice@example.test, password: \"...\"}]",
            doc: "The mailboxes of this domain: each a login for IMAP and SMTP AUTH, and a place \
                  mail is kept.",
            rule: "Each address once across all domains, as a mailbox or an alias. `validate`.",
        },
        Field {
            name: "aliases",
            kind: Kind::List(&ALIAS_SCHEMA),
            required: false,
            example: "[{from: info@example.test, to: alice@example.test}]",
            doc: "Addresses of this domain that forward to others (Postfix's \
                  `virtual_alias_maps`).",
            rule: "Each address once across all domains, as a mailbox or an alias; every alias \
                   reaches a mailbox or an outside address, without loops (Postfix virtual(5)). \
                   `validate`, `aliases::resolve`.",
        },
        Field {
            name: "default_aliases",
            kind: Kind::Bool,
            required: false,
            example: "true",
            doc: "Add postmaster@ and abuse@ of this domain, pointing at its first mailbox (or, \
                  without a mailbox, at `admin_email`), unless they are set already: every mail \
                  domain must accept mail for them (RFC 5321 §4.5.1, RFC 2142).",
            rule: "`true` or `false`.",
        },
    ],
};
pub(crate) static MAILBOX_SCHEMA: Schema = Schema {
    name: "Mailbox",
    path: "domains[].mailboxes[]",
    defaults: defaults_of::<Mailbox>,
    fields: &[
        Field {
            name: "address",
            kind: Kind::Text,
            required: true,
            example: "alice@example.test",
            doc: "The mailbox's address, which is also its login.",
            rule: "A local part of `a-z 0-9 . _ -` (it becomes a Postfix map key, a Dovecot user \
                   name and a directory name; `+` is the sub-address delimiter), at most 64 \
                   characters (RFC 5321 §4.5.3.1.1), then `@` and the domain it is listed \
                   under. `rules::mailbox_address`.",
        },
        Field {
            name: "password",
            kind: Kind::Text,
            required: false,
            example: "\"a long passphrase\"",
            doc: "The mailbox's password in plain text; mailstead stores its hash. A file with \
                  one must not be readable by others (`chmod 600`). Give `password` or \
                  `password_hash`, not both.",
            rule: "A quoted string of at least 12 characters, one line, no control characters, \
                   no spaces at either end: IMAP and SMTP AUTH are brute-forced around the clock. \
                   `rules::password`.",
        },
        Field {
            name: "password_hash",
            kind: Kind::Text,
            required: false,
            example: "\"{SHA512-CRYPT}$6$...\"",
            doc: "The mailbox's password as a hash Dovecot verifies (`doveadm pw -s \
                  SHA512-CRYPT`). `mailstead add-mailbox` writes this form.",
            rule:
                "A quoted `{SHA512-CRYPT}$6$...` (or bare `$6$...`) or `{ARGON2ID}$argon2id$...` \
                   (Dovecot's password schemes). `rules::password_hash`.",
        },
        Field {
            name: "quota",
            kind: Kind::Bytes,
            required: false,
            example: "2147483648",
            doc: "This mailbox's size limit in bytes, overriding the top-level `quota`; `0` \
                  means unlimited.",
            rule: "`0`, or a whole number of bytes from 1048576 (1 MiB) to 70368744177664 \
                   (64 TiB). `rules::quota`.",
        },
    ],
};
pub(crate) static ALIAS_SCHEMA: Schema = Schema {
    name: "Alias",
    path: "domains[].aliases[]",
    defaults: defaults_of::<Alias>,
    fields: &[
        Field {
            name: "from",
            kind: Kind::Text,
            required: true,
            example: "info@example.test",
            doc: "The alias address.",
            rule: "An address by the mailbox `address` rule, in the domain it is listed under; \
                   catch-all `@domain` aliases are not supported. `rules::mailbox_address`.",
        },
        Field {
            name: "to",
            kind: Kind::Text,
            required: true,
            example: "alice@example.test",
            doc: "Where its mail goes: one address, or several separated by commas \
                  (`a@example.test, b@example.org`).",
            rule: "Each an email address by the `admin_email` rule; an address in one of this \
                   server's domains must be a mailbox or an alias (after a `+tag` is removed). \
                   `rules::alias_targets`, `aliases::resolve`.",
        },
    ],
};
pub(crate) static ACME_SCHEMA: Schema = Schema {
    name: "Acme",
    path: "acme",
    defaults: defaults_of::<Acme>,
    fields: &[
        Field {
            name: "server",
            kind: Kind::Text,
            required: false,
            example: "https://acme.example/dir",
            doc: "The ACME directory URL to get the certificate from; Let's Encrypt when absent.",
            rule: "An `https://` URL with a host (RFC 8555 requires TLS); not together with \
                   `staging: true`. `rules::https_url`.",
        },
        Field {
            name: "ca_bundle",
            kind: Kind::Text,
            required: false,
            example: "/root/test-ca.pem",
            doc: "Extra trust for a private ACME server: a PEM file on the server.",
            rule: "An absolute path without spaces, line breaks or control characters. \
                   `rules::absolute_path`.",
        },
        Field {
            name: "staging",
            kind: Kind::Bool,
            required: false,
            example: "false",
            doc: "Use Let's Encrypt's staging server (certificates no client trusts, for tests).",
            rule: "`true` or `false`; `true` only without `server`. `validate`.",
        },
    ],
};
pub(crate) static SSH_SCHEMA: Schema = Schema {
    name: "Ssh",
    path: "ssh",
    defaults: defaults_of::<Ssh>,
    fields: &[Field {
        name: "allow_users",
        kind: Kind::TextList,
        required: false,
        example: "[root]",
        doc: "Users allowed to log in over SSH (sshd's `AllowUsers`); the user running \
              mailstead is always added, so it cannot lock itself out.",
        rule: "Each a Unix user name as Debian's `adduser` accepts it (`^[a-z_][-a-z0-9_]*$`), at \
               most 32 characters. `rules::unix_user`.",
    }],
};
pub(crate) static FIREWALL_SCHEMA: Schema = Schema {
    name: "Firewall",
    path: "firewall",
    defaults: defaults_of::<Firewall>,
    fields: &[Field {
        name: "enabled",
        kind: Kind::Bool,
        required: false,
        example: "true",
        doc: "Set up the firewall (ufw): SSH and the mail ports in, everything else \
              refused.",
        rule: "`true` or `false`.",
    }],
};

/// Every schema, for the tests against the serde structs and the reference page.
#[cfg(test)]
pub(crate) static SCHEMAS: [&Schema; 8] = [
    &ANSWERS_SCHEMA,
    &DOMAIN_SCHEMA,
    &MAILBOX_SCHEMA,
    &ALIAS_SCHEMA,
    &ACME_SCHEMA,
    &SSH_SCHEMA,
    &FIREWALL_SCHEMA,
    &RELAY_HOST_SCHEMA,
];

impl Schema {
    /// The keys it accepts, in declaration order.
    pub(crate) fn keys(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}
