//! Where things live on a mailstead server: the paths several steps and checks agree on.
//! Only constants and pure functions of them; no step logic.
use std::path::PathBuf;

/// Dovecot's passwd-file of virtual users (0640 root:dovecot).
pub const USERS_FILE: &str = "/etc/dovecot/users";
/// mailstead's own Dovecot configuration, read last through `!include_try local.conf`.
pub const DOVECOT_LOCAL: &str = "/etc/dovecot/local.conf";
/// Postfix lookup tables (hash: maps; `postmap` makes the `.db` next to each).
pub const DOMAINS_MAP: &str = "/etc/postfix/virtual_domains";
pub const MAILBOXES_MAP: &str = "/etc/postfix/virtual_mailboxes";
pub const ALIASES_MAP: &str = "/etc/postfix/virtual_aliases";
pub const SENDERS_MAP: &str = "/etc/postfix/virtual_senders";
/// Port 25's `check_sender_access`: our own domains as senders are refused there.
pub const SENDER_ACCESS_MAP: &str = "/etc/postfix/sender_access";
/// `smtp_sasl_password_maps` for the relay host: `[host]:port user:password`, 0600 root:root
/// like its `.db` (Postfix reads both as root before its smtp client drops privileges).
pub const RELAY_PASSWORD_MAP: &str = "/etc/postfix/mailstead_relay_password";
/// The CA bundle the smtp client verifies the relay host with: a file, read before the chroot
/// (Debian runs smtp chrooted in /var/spool/postfix, where a CApath directory is not there).
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";
pub const MAIN_CF: &str = "/etc/postfix/main.cf";
pub const MASTER_CF: &str = "/etc/postfix/master.cf";
/// Where the mail lives: `<domain>/<user>/Maildir`.
pub const VHOSTS: &str = "/var/mail/vhosts";
/// Postfix's private spool directory: Dovecot's LMTP and auth sockets go there.
pub const POSTFIX_PRIVATE: &str = "/var/spool/postfix/private";
/// certbot's hook that reloads the mail services after a renewal.
pub const DEPLOY_HOOK: &str = "/etc/letsencrypt/renewal-hooks/deploy/mailstead-reload";
/// Document root used with `--webroot` (Debian's default site for nginx, Apache, lighttpd).
pub const WEBROOT: &str = "/var/www/html";
/// The SSH drop-in that holds `AllowUsers`.
pub const SSH_DROP_IN: &str = "/etc/ssh/sshd_config.d/50-mailstead.conf";

/// Where certbot keeps the live certificate chain and key for `hostname`.
pub fn cert_paths(hostname: &str) -> (PathBuf, PathBuf) {
    let live = PathBuf::from("/etc/letsencrypt/live").join(hostname);
    (live.join("fullchain.pem"), live.join("privkey.pem"))
}

/// The interim self-signed certificate, served while the CA cannot issue the real one yet
/// (the name does not resolve here yet, port 80 is filtered, the CA is unreachable).
pub const SELF_SIGNED_CHAIN: &str = "/etc/mailstead/tls/self-signed.pem";
pub const SELF_SIGNED_KEY: &str = "/etc/mailstead/tls/self-signed.key";
/// The systemd timer (and its service) that retries issuing the real certificate.
pub const CERT_RETRY_TIMER: &str = "/etc/systemd/system/mailstead-certificate.timer";
pub const CERT_RETRY_SERVICE: &str = "/etc/systemd/system/mailstead-certificate.service";

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

// --- DKIM signer (rspamd): keys, which selector signs, rspamd's milter. ---
/// One private key per domain and selector, `<domain>.<selector>.key` (PEM, RSA 2048, 0600
/// `_rspamd:_rspamd`); the directory is 0700, same owner. Keys are never deleted by mailstead.
pub const DKIM_KEY_DIR: &str = "/var/lib/rspamd/dkim";
/// Which selector signs for each domain: `domain selector` per line (rspamd's
/// `dkim_signing.conf` reads it as `selector_map`).
pub const DKIM_SELECTORS_MAP: &str = "/etc/rspamd/local.d/dkim_selectors.map";
/// rspamd's DKIM signing settings, mailstead's own (rspamd reads `local.d` over its defaults).
pub const DKIM_SIGNING_CONF: &str = "/etc/rspamd/local.d/dkim_signing.conf";
/// rspamd's ratelimit module settings: the sending limit of logged-in users.
pub const RATELIMIT_CONF: &str = "/etc/rspamd/local.d/ratelimit.conf";
/// rspamd's local Lua rules (read by both rspamd 3.4 and 3.12; `lua.local.d/` is 3.12 only):
/// the `From:` header of a logged-in user's mail must be its envelope sender.
pub const RSPAMD_LOCAL_LUA: &str = "/etc/rspamd/rspamd.local.lua";
/// The user Debian's rspamd package creates (bookworm 3.4 and trixie 3.12 alike).
pub const RSPAMD_USER: &str = "_rspamd";
/// rspamd's proxy worker in milter mode, as Debian's package binds it (`localhost:11332`).
pub const RSPAMD_MILTER: &str = "inet:127.0.0.1:11332";

/// The private key of `domain` for `selector`: `DKIM_KEY_DIR/<domain>.<selector>.key`.
pub fn dkim_key_path(domain: &str, selector: &str) -> PathBuf {
    PathBuf::from(DKIM_KEY_DIR).join(format!("{domain}.{selector}.key"))
}

/// Postfix asks Dovecot's quota-status service here at RCPT time (`check_policy_service`).
pub const QUOTA_STATUS: &str = "/var/spool/postfix/private/quota-status";

/// A storage limit in Dovecot 2.3's `quota_rule` syntax: bytes with the `B` suffix (a bare
/// number would be kilobytes); `0` is unlimited (Dovecot 2.3 doc, quota configuration).
pub fn quota_rule_23(bytes: u64) -> String {
    if bytes == 0 {
        "0".into()
    } else {
        format!("{bytes}B")
    }
}

// --- Spam (step `spam`): rspamd's inbound checks, Sieve's Junk, IMAPSieve training. ---
/// rspamd's general options: which client addresses count as local (`local_addrs`). In
/// `override.d`: `local.d/options.inc` is merged into the defaults (lists grow), this replaces.
pub const RSPAMD_OPTIONS: &str = "/etc/rspamd/override.d/options.inc";
/// rspamd's milter_headers module: the headers added to inbound mail.
pub const RSPAMD_MILTER_HEADERS: &str = "/etc/rspamd/local.d/milter_headers.conf";
/// rspamd's DMARC module: what a DMARC failure of a `p=reject` domain does.
pub const RSPAMD_DMARC: &str = "/etc/rspamd/local.d/dmarc.conf";
/// rspamd's Bayes classifier: its statistics in Redis.
pub const RSPAMD_BAYES: &str = "/etc/rspamd/local.d/classifier-bayes.conf";
/// rspamd's greylist module: on or off (`greylisting` in the answers).
pub const RSPAMD_GREYLIST: &str = "/etc/rspamd/local.d/greylist.conf";
/// rspamd's action thresholds (reject, add header, greylist).
pub const RSPAMD_ACTIONS: &str = "/etc/rspamd/local.d/actions.conf";
/// Where Redis listens (Debian's redis-server: localhost only): the sending limit's buckets,
/// Bayes statistics and (when on) greylisting.
pub const REDIS_SERVER: &str = "127.0.0.1:6379";
/// mailstead's global Sieve scripts (0755 root; scripts 0644 root).
pub const SIEVE_DIR: &str = "/etc/dovecot/sieve";
/// Run before every user's own Sieve script at delivery: likely spam goes to Junk.
pub const SIEVE_SPAM_TO_JUNK: &str = "/etc/dovecot/sieve/spam-to-junk.sieve";
/// Where Dovecot keeps the compiled global scripts (0700 vmail:vmail): LMTP and IMAP run as
/// vmail and compile them on first use; `/etc` is read-only to Dovecot (its unit's
/// `ProtectSystem=full`).
pub const SIEVE_BIN_DIR: &str = "/var/lib/dovecot/sieve";
/// IMAPSieve: a message copied or moved into Junk is piped to `rspamc learn_spam`.
pub const SIEVE_LEARN_SPAM: &str = "/etc/dovecot/sieve/learn-spam.sieve";
/// IMAPSieve: a message moved out of Junk (not to Trash) is piped to `rspamc learn_ham`.
pub const SIEVE_LEARN_HAM: &str = "/etc/dovecot/sieve/learn-ham.sieve";
/// The programs Sieve's `pipe` may run (`sieve_pipe_bin_dir`, 0755 root).
pub const SIEVE_PIPE_DIR: &str = "/etc/dovecot/sieve-pipe";
// --- Bans (fail2ban): password guessers shut out of the mail ports. ---
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
