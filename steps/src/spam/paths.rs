//! Where the `spam` capability's files live (its own paths; the shared ones are in
//! [`crate::layout`]).

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
