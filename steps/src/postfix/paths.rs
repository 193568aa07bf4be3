//! Where the `postfix` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

/// `smtp_sasl_password_maps` for the relay host: `[host]:port user:password`, 0600 root:root
/// like its `.db` (Postfix reads both as root before its smtp client drops privileges).
pub const RELAY_PASSWORD_MAP: &str = "/etc/postfix/mailstead_relay_password";

/// The CA bundle the smtp client verifies the relay host with: a file, read before the chroot
/// (Debian runs smtp chrooted in /var/spool/postfix, where a CApath directory is not there).
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

pub const MAIN_CF: &str = "/etc/postfix/main.cf";

pub const MASTER_CF: &str = "/etc/postfix/master.cf";

/// Postfix asks Dovecot's quota-status service here at RCPT time (`check_policy_service`).
pub const QUOTA_STATUS: &str = "/var/spool/postfix/private/quota-status";
