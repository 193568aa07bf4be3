//! Where the `bans` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

/// mailstead's fail2ban jails. A `.conf` in `jail.d/` is read after Debian's
/// `defaults-debian.conf` and before any `.local` file (jail.conf(5)), so the admin's
/// `jail.local` or `jail.d/*.local` still override it.
pub const FAIL2BAN_JAILS: &str = "/etc/fail2ban/jail.d/mailstead.conf";

/// Debian's `dovecot` filter plus the line Dovecot 2.4 writes for a failed login, which
/// fail2ban 1.1.0 (trixie) does not match yet.
pub const FAIL2BAN_DOVECOT_FILTER: &str = "/etc/fail2ban/filter.d/mailstead-dovecot.conf";

/// The jails mailstead writes: SMTP AUTH failures (Postfix) and IMAP/POP3 login failures
/// (Dovecot).
pub const BAN_JAILS: [&str; 2] = ["mailstead-postfix", "mailstead-dovecot"];

/// The ports a ban closes: every mail port Postfix and Dovecot may serve (SMTP 25,
/// submissions 465, submission 587, IMAP 143, IMAPS 993, POP3 110, POP3S 995; RFC 5321, RFC
/// 8314, RFC 6409, RFC 9051, RFC 1939). Never SSH.
pub const BAN_PORTS: [u16; 7] = [25, 465, 587, 143, 993, 110, 995];
