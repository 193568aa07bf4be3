//! The answers a bed is installed with: `mailstead demo --yes` and the booted tests write the
//! same file (only the mailbox password differs).

/// The mail domain (RFC 2606 `.test`: never a real domain).
pub const DOMAIN: &str = "example.test";
/// The server's host name; the bed's hostname and `/etc/hosts` say the same.
pub const HOSTNAME: &str = "mail.example.test";
/// The one mailbox.
pub const MAILBOX: &str = "alice@example.test";
/// The tests' password of [`MAILBOX`] (the demo generates one per run).
pub const ALICE_PASSWORD: &str = "correct horse battery staple 42";

/// The answers file: [`DOMAIN`] with [`MAILBOX`] (password `password`), `postmaster@` an
/// alias of it, the bed's pebble at `acme_url` as the ACME server (its listener certificate at
/// /root/pebble-ca.pem inside the bed), SSH for root only, the firewall on.
pub fn default_answers(acme_url: &str, password: &str) -> String {
    format!(
        r#"hostname: {HOSTNAME}
admin_email: admin@{DOMAIN}
domains:
  - name: {DOMAIN}
    mailboxes:
      - address: {MAILBOX}
        password: "{password}"
    aliases:
      - from: postmaster@{DOMAIN}
        to: {MAILBOX}
acme:
  server: {acme_url}
  ca_bundle: /root/pebble-ca.pem
ssh:
  allow_users: [root]
firewall:
  enabled: true
"#
    )
}
