//! Where things live on a mailstead server: the paths SEVERAL capabilities (or facts) agree
//! on. A path one capability alone uses lives in its folder (`<capability>/paths.rs`).
//! Only constants and pure functions of them; no step logic.
use std::path::PathBuf;

/// Dovecot's passwd-file of virtual users (0640 root:dovecot).
pub const USERS_FILE: &str = "/etc/dovecot/users";
/// Postfix lookup tables (hash: maps; `postmap` makes the `.db` next to each).
pub const DOMAINS_MAP: &str = "/etc/postfix/virtual_domains";
pub const MAILBOXES_MAP: &str = "/etc/postfix/virtual_mailboxes";
pub const ALIASES_MAP: &str = "/etc/postfix/virtual_aliases";
pub const SENDERS_MAP: &str = "/etc/postfix/virtual_senders";
/// Port 25's `check_sender_access`: our own domains as senders are refused there.
pub const SENDER_ACCESS_MAP: &str = "/etc/postfix/sender_access";
/// Where the mail lives: `<domain>/<user>/Maildir`.
pub const VHOSTS: &str = "/var/mail/vhosts";
/// certbot's hook that reloads the mail services after a renewal.
pub const DEPLOY_HOOK: &str = "/etc/letsencrypt/renewal-hooks/deploy/mailstead-reload";
/// Document root used with `--webroot` (Debian's default site for nginx, Apache, lighttpd).
pub const WEBROOT: &str = "/var/www/html";

/// Where certbot keeps the live certificate chain and key for `hostname`.
pub fn cert_paths(hostname: &str) -> (PathBuf, PathBuf) {
    let live = PathBuf::from("/etc/letsencrypt/live").join(hostname);
    (live.join("fullchain.pem"), live.join("privkey.pem"))
}

/// The interim self-signed certificate, served while the CA cannot issue the real one yet
/// (the name does not resolve here yet, port 80 is filtered, the CA is unreachable).
pub const SELF_SIGNED_CHAIN: &str = "/etc/mailstead/tls/self-signed.pem";
pub const SELF_SIGNED_KEY: &str = "/etc/mailstead/tls/self-signed.key";

/// The chain and key Postfix and Dovecot serve: certbot's when it has issued one for
/// `hostname` (`issued`: [`crate::facts::Certificates::present`]), else the interim
/// self-signed pair.
pub fn serving_cert(hostname: &str, issued: bool) -> (PathBuf, PathBuf) {
    if issued {
        cert_paths(hostname)
    } else {
        (SELF_SIGNED_CHAIN.into(), SELF_SIGNED_KEY.into())
    }
}

/// The ports mail clients and servers reach, with what serves them (`pop3`: 995 too).
pub fn mail_ports(pop3: bool) -> Vec<(u16, &'static str)> {
    let mut p = vec![
        (25, "Postfix smtp"),
        (465, "Postfix submissions"),
        (587, "Postfix submission"),
        (993, "Dovecot imaps"),
    ];
    if pop3 {
        p.push((995, "Dovecot pop3s"));
    }
    p
}

// --- DKIM keys (the signer writes them; facts::dkim reads them). ---
/// One private key per domain and selector, `<domain>.<selector>.key` (PEM, RSA 2048, 0600
/// `_rspamd:_rspamd`); the directory is 0700, same owner. Keys are never deleted by mailstead.
pub const DKIM_KEY_DIR: &str = "/var/lib/rspamd/dkim";
/// Which selector signs for each domain: `domain selector` per line (rspamd's
/// `dkim_signing.conf` reads it as `selector_map`).
pub const DKIM_SELECTORS_MAP: &str = "/etc/rspamd/local.d/dkim_selectors.map";

/// A storage limit in Dovecot 2.3's `quota_rule` syntax: bytes with the `B` suffix (a bare
/// number would be kilobytes); `0` is unlimited (Dovecot 2.3 doc, quota configuration).
pub fn quota_rule_23(bytes: u64) -> String {
    if bytes == 0 {
        "0".into()
    } else {
        format!("{bytes}B")
    }
}
