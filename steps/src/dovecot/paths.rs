//! Where the `dovecot` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

/// mailstead's own Dovecot configuration, read last through `!include_try local.conf`.
pub const DOVECOT_LOCAL: &str = "/etc/dovecot/local.conf";

/// Postfix's private spool directory: Dovecot's LMTP and auth sockets go there.
pub const POSTFIX_PRIVATE: &str = "/var/spool/postfix/private";
