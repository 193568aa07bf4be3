//! The answers file: what the admin wants, as YAML. The ONE copy of every input rule: the
//! wizard, the menu, `add-*` flags and stdin, and preflight all call [`rules`].
//!
//! [`load`]/[`parse`] are the ONE place YAML is read. Parsing runs in stages so that a bad file
//! yields every problem at once, each naming its field, its value and the fix:
//!
//! 1. YAML syntax, into an untyped tree with source positions (serde-saphyr, with a budget so
//!    an alias bomb is refused instead of expanded).
//! 2. Shape: the tree is checked against a schema table — unknown keys (with a "did you mean"),
//!    missing required keys, wrong types — collecting all problems.
//! 3. Typed deserialization into [`Answers`] (serde derive stays the source of truth; the schema
//!    table is cross-checked against it in tests).
//! 4. Meaning: [`validate`] (FQDNs, addresses, passwords, uniqueness, ...), and the alias graph
//!    resolved once by [`resolve`] (chains, `+tag`, loops; see [`aliases`]).
//!
//! Decisions, written down:
//! - Names are lowercase only. Uppercase in `hostname`, domain names and mailbox/alias addresses
//!   is rejected (not silently lowered): DNS ignores case but Postfix maps, Dovecot user lookups,
//!   mail directories and certificates compare bytes, and one spelling means `Alice@` and
//!   `alice@` can never become two mailboxes. Rejecting keeps what is in the file exactly what
//!   runs.
//! - Booleans are strict YAML 1.2 (`true`/`false`); `yes`/`no`/`on`/`off` are rejected with a fix.
//! - An alias `to` is one address or a comma-separated list (`a@x.test, b@y.test`).
//! - An alias `from` must be inside the domain it is listed under (like mailboxes); catch-all
//!   `@domain` aliases are not supported.
//! - Mailbox and alias-from local parts allow `a-z 0-9 . _ -` only: they become Postfix map keys,
//!   Dovecot user names and directory names; `+` is left out because it is the sub-address
//!   delimiter (`alice+tag@` reaches `alice@`). Alias targets may be any ordinary address.
//! - Password values never appear in any message: not in problems, not in YAML snippets.
//! - `password` and `password_hash` must be quoted strings in the file: unquoted, YAML reads
//!   ` #...` as a comment, a leading `!`/`&`/`*` as syntax and digits as a number, and would
//!   store something other than what was typed. [`to_yaml`] writes them in double quotes.
//! - Internationalised names are written in their ASCII (`xn--`) form; the error names it.
//!
//! Modules, each importing only those above it (no cycle): [`problem`] (what is wrong) and
//! [`model`] (the types) ← `schema` (every key: kind, meaning, rule, example) ← `shape` (the
//! untyped tree checked against the schema) ← [`rules`] ← [`aliases`] ← `validate` ← `load` ←
//! [`edit`] (the answers-editing verbs) and [`reference`] (the generated reference page).
pub mod aliases;
pub mod edit;
mod load;
pub mod model;
pub mod problem;
pub mod reference;
pub mod rules;
mod schema;
mod shape;
mod validate;

pub use aliases::{resolve, AliasGraph, Reach};
pub use load::{check_file_mode, load, parse, to_yaml};
pub use model::{
    default_max_messages_per_hour, default_message_size_limit, default_postscreen_dnsbl_threshold,
    default_quota, default_relay_port, Acme, Alias, Answers, Domain, Firewall, Mailbox, RelayHost,
    Secret, Ssh, DEFAULT_PATH, DEFAULT_RELAY_PORT, IMPLICIT_TLS_PORT, LETSENCRYPT_PRODUCTION,
    LETSENCRYPT_STAGING, MAX_DNSBL_THRESHOLD, MAX_DNSBL_WEIGHT, MAX_FILE_BYTES,
    MAX_MESSAGES_PER_HOUR, MAX_MESSAGE_SIZE, MAX_QUOTA, MIN_MESSAGE_SIZE, MIN_PASSWORD_LEN,
    MIN_QUOTA,
};
pub use problem::{ConfigError, Problem};
pub use validate::validate;

#[cfg(test)]
mod tests;
