//! Step `spam`: inbound mail checked by rspamd (SPF, DKIM, DMARC, spam score), likely spam
//! filed into the Junk folder by Sieve, and rspamd's Bayes classifier trained by moving mail
//! into and out of Junk (IMAPSieve).
//!
//! Touches:
//! - `paths::RSPAMD_OPTIONS`: only loopback is "local" to rspamd ([`OPTIONS`]).
//! - `paths::RSPAMD_MILTER_HEADERS`: `Authentication-Results` and `X-Spam-Status` on
//!   inbound mail ([`MILTER_HEADERS`]).
//! - `paths::RSPAMD_DMARC`: mail failing DMARC of a `p=reject` domain is refused ([`DMARC`]).
//! - `paths::RSPAMD_BAYES`: the Bayes statistics in Redis ([`BAYES`]).
//! - `paths::RSPAMD_ACTIONS` and `paths::RSPAMD_GREYLIST`: the action thresholds, and
//!   greylisting on or off from the answers' `greylisting` ([`actions_conf`], [`greylist_conf`]).
//! - `paths::SIEVE_DIR` with the three global Sieve scripts, `paths::SIEVE_PIPE_DIR` with
//!   the two programs they may pipe to, `paths::SIEVE_BIN_DIR` (0700 vmail) for their
//!   compiled forms. Dovecot's side (the sieve plugins, the Junk folder) is this
//!   capability's contribution to Dovecot's `local.conf` ([`Cap`]'s `dovecot`:
//!   `dovecot-2.3.conf` / `dovecot-2.4.conf` here, naming these paths), which the `dovecot`
//!   step writes.
//! - queues an rspamd reload.
//!
//! What a message from outside (port 25) meets, in rspamd's default scores: an action
//! `reject` (score 15 or more, GTUBE, or DMARC `p=reject` failed) refuses it at SMTP time
//! with `554 5.7.1`; `add header` (6 or more) adds `X-Spam: Yes` (the rspamd proxy's milter
//! `spam_header`), and the Sieve script run before the user's own files it into Junk.
pub mod paths;
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::{Change, Ctx, Perms, Planned, Step};
use paths::{
    REDIS_SERVER, RSPAMD_ACTIONS, RSPAMD_BAYES, RSPAMD_DMARC, RSPAMD_GREYLIST,
    RSPAMD_MILTER_HEADERS, RSPAMD_OPTIONS, SIEVE_BIN_DIR, SIEVE_DIR, SIEVE_LEARN_HAM,
    SIEVE_LEARN_SPAM, SIEVE_PIPE_DIR, SIEVE_SPAM_TO_JUNK,
};

/// What spam filtering adds to Dovecot's `local.conf` (2.3 and 2.4 syntax; `@@SIEVE_*@@`
/// are this capability's paths).
const DOVECOT_23: &str = include_str!("dovecot-2.3.conf");
const DOVECOT_24: &str = include_str!("dovecot-2.4.conf");

/// rspamd's options (override.d: replaces the default list instead of adding to it).
///
/// rspamd treats mail from `local_addrs` as local and skips SPF, DMARC, DNS blocklists and
/// most other checks for it; its default list holds every private range (10/8, 172.16/12,
/// 192.168/16...). Here only this server itself is local: a client on a private address
/// (a neighbour on the LAN, or the test bed) is checked like any other.
///
/// File maps are checked for changes every `map_watch_interval` (5 min) ×
/// `map_file_watch_multiplier` (0.1 by default: 30 s, plus up to as much again of jitter);
/// at 0.001 rspamd looks (a `stat`) every 0.3–0.6 s, so a domain added to the DKIM
/// selectors map signs within a second, with no reload (the `signer` step). HTTP maps keep
/// their 5 minutes.
pub const OPTIONS: &str = r#"# mailstead: only this server itself counts as local to rspamd (local_addrs), so mail
# from every other address is checked. Managed by mailstead: edits are overwritten.
local_addrs = ["127.0.0.0/8", "::1"];
# File maps (the DKIM selectors map) are re-read within a second of a change: 5 min x 0.001.
map_file_watch_multiplier = 0.001;
"#;

/// rspamd's milter_headers module (rspamd.com, "Milter headers module"): inbound mail gets
/// `Authentication-Results` (RFC 8601: SPF, DKIM, DMARC as rspamd found them) and
/// `X-Spam-Status` (`Yes`/`No, score=S`). Not for logged-in users or this server's own mail
/// (the module's defaults `skip_authenticated`, `skip_local`).
pub const MILTER_HEADERS: &str = r#"# mailstead: headers rspamd adds to inbound mail. Managed by mailstead: edits are overwritten.
use = ["authentication-results", "x-spam-status"];
"#;

/// rspamd's DMARC module (rspamd.com, "DMARC module", `actions`): a message whose `From:`
/// domain publishes `p=reject` and that passes neither aligned SPF nor aligned DKIM is
/// refused at SMTP time (RFC 7489 §6.7: the receiver honours the policy); `p=quarantine`
/// marks it as spam (Junk).
pub const DMARC: &str = r#"# mailstead: honour DMARC policies of inbound mail. Managed by mailstead: edits are overwritten.
actions {
  quarantine = "add_header";
  reject = "reject";
}
"#;

/// rspamd's Bayes classifier (statistic.conf's `bayes`): statistics in the local Redis, set
/// here for this classifier only (a global `redis.conf` would also switch on greylisting and
/// other Redis modules). It classifies once 200 spam and 200 ham are learned (`min_learns`).
pub fn bayes_conf() -> String {
    format!(
        "# mailstead: rspamd's Bayes classifier keeps its statistics in Redis. Managed by mailstead.\n\
         backend = \"redis\";\nservers = \"{REDIS_SERVER}\";\n"
    )
}

/// rspamd's greylist module (rspamd.com, "Greylisting module"): on (`greylisting: true`), a
/// message from outside scoring 4 or more from a sender not seen before is deferred with
/// `451 4.7.1` for 5 minutes; off (the default), the module is disabled and no mail waits.
pub fn greylist_conf(on: bool) -> String {
    let mut s = String::from(
        "# mailstead: greylisting (`greylisting` in the answers). Managed by mailstead.\n",
    );
    if on {
        s.push_str(&format!("enabled = true;\nservers = \"{REDIS_SERVER}\";\n"));
    } else {
        s.push_str("enabled = false;\n");
    }
    s
}

/// rspamd's actions (rspamd.com, "Actions and scores"): refuse at 15, mark as spam (Junk)
/// at 6; the `greylist` action at 4 only with greylisting on (`null` switches it off).
pub fn actions_conf(greylisting: bool) -> String {
    format!(
        "# mailstead: what a spam score does. Managed by mailstead: edits are overwritten.\n\
         reject = 15;\nadd_header = 6;\ngreylist = {};\n",
        if greylisting { "4" } else { "null" }
    )
}

/// Run before every user's own script at delivery (LMTP): mail rspamd marked (`X-Spam:
/// Yes`, its milter's spam header) goes to Junk, made if missing (RFC 5228 `fileinto`,
/// RFC 5490 `:create`).
pub const SPAM_TO_JUNK: &str = r#"# mailstead: mail rspamd marked as spam goes to the Junk folder. Managed by mailstead.
require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
  fileinto :create "Junk";
  stop;
}
"#;

/// IMAPSieve (RFC 6785), on a message copied or moved into Junk: rspamd learns it as spam.
pub const LEARN_SPAM: &str = r#"# mailstead: mail moved into Junk is learned as spam by rspamd. Managed by mailstead.
require ["vnd.dovecot.pipe", "copy"];
pipe :copy "rspamd-learn-spam";
"#;

/// IMAPSieve, on a message copied or moved out of Junk: rspamd learns it as ham, unless it
/// goes to Trash (deleting spam is not saying it is good mail).
pub const LEARN_HAM: &str = r#"# mailstead: mail moved out of Junk (not to Trash) is learned as ham by rspamd.
# Managed by mailstead.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];
if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string :is "${mailbox}" "Trash" {
  stop;
}
pipe :copy "rspamd-learn-ham";
"#;

/// The program `pipe` runs for `what` (`spam` or `ham`): the message on stdin to rspamd's
/// controller on localhost (`secure_ip` there: no password needed), as the mail user.
pub fn learn_program(what: &str) -> String {
    format!(
        "#!/bin/sh\n# mailstead: the message on stdin is {what} (IMAPSieve). Managed by mailstead.\n\
         exec /usr/bin/rspamc --connect 127.0.0.1:11334 learn_{what}\n"
    )
}

pub struct Spam;

impl Step<Answers> for Spam {
    fn name(&self) -> &'static str {
        "spam"
    }

    fn about(&self) -> &'static str {
        "rspamd checks inbound mail (SPF, DKIM, DMARC, spam); spam to Junk; Junk trains rspamd"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let grey = ctx.answers.greylisting;
        let mut changes = vec![
            Change::write(RSPAMD_OPTIONS, OPTIONS, Perms::root(0o644)),
            Change::write(RSPAMD_MILTER_HEADERS, MILTER_HEADERS, Perms::root(0o644)),
            Change::write(RSPAMD_DMARC, DMARC, Perms::root(0o644)),
            Change::write(RSPAMD_BAYES, bayes_conf(), Perms::root(0o644)),
            Change::write(RSPAMD_ACTIONS, actions_conf(grey), Perms::root(0o644)),
            Change::write(RSPAMD_GREYLIST, greylist_conf(grey), Perms::root(0o644)),
            Change::EnsureDir {
                path: SIEVE_DIR.into(),
                meta: Perms::root(0o755),
            },
            Change::EnsureDir {
                path: SIEVE_PIPE_DIR.into(),
                meta: Perms::root(0o755),
            },
            Change::EnsureDir {
                path: SIEVE_BIN_DIR.into(),
                meta: Perms::new(0o700, "vmail", "vmail"),
            },
            Change::write(SIEVE_SPAM_TO_JUNK, SPAM_TO_JUNK, Perms::root(0o644)),
            Change::write(SIEVE_LEARN_SPAM, LEARN_SPAM, Perms::root(0o644)),
            Change::write(SIEVE_LEARN_HAM, LEARN_HAM, Perms::root(0o644)),
        ];
        for what in ["spam", "ham"] {
            changes.push(Change::write(
                &format!("{SIEVE_PIPE_DIR}/rspamd-learn-{what}"),
                learn_program(what),
                Perms::root(0o755),
            ));
        }
        changes.push(Change::reload("rspamd"));
        Ok(changes.into())
    }
}

/// The `spam` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "spam"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Spam)]
    }
    fn packages(&self, _answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        // Redis: rspamd's Bayes statistics, the sending limit's buckets
        // (`max_messages_per_hour`, capability `signer`) and greylisting when on. Debian's
        // redis-server listens on 127.0.0.1:6379 only. Sieve for Dovecot (Pigeonhole): spam
        // to Junk at delivery, IMAPSieve training. Not dovecot-managesieved: no ManageSieve
        // port is opened.
        vec!["redis-server", "dovecot-sieve"]
    }
    /// Sieve at delivery (spam to Junk) and IMAPSieve (training), for Dovecot's `local.conf`.
    fn dovecot(
        &self,
        _answers: &mailstead_answers::Answers,
        syntax: crate::capability::DovecotSyntax,
    ) -> crate::capability::DovecotPiece {
        use crate::capability::{DovecotPiece, DovecotSyntax};
        let (config, lmtp_plugins) = match syntax {
            // 2.3's fragment opens its own `protocol lmtp` (the template has none).
            DovecotSyntax::V23 => (DOVECOT_23, Vec::new()),
            DovecotSyntax::V24 => (DOVECOT_24, vec!["sieve"]),
        };
        DovecotPiece {
            imap_plugins: vec!["imap_sieve"],
            lmtp_plugins,
            config: config
                .replace("@@SIEVE_SPAM_TO_JUNK@@", SIEVE_SPAM_TO_JUNK)
                .replace("@@SIEVE_LEARN_SPAM@@", SIEVE_LEARN_SPAM)
                .replace("@@SIEVE_LEARN_HAM@@", SIEVE_LEARN_HAM)
                .replace("@@SIEVE_PIPE_DIR@@", SIEVE_PIPE_DIR)
                .replace("@@SIEVE_BIN_DIR@@", SIEVE_BIN_DIR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ctx, mail_answers as answers};
    use mailstead_engine::MemHost;

    fn file<'a>(p: &'a Planned, path: &str) -> std::borrow::Cow<'a, str> {
        p.changes
            .iter()
            .find_map(|c| match c {
                Change::WriteFile {
                    path: p, content, ..
                } if p.to_string_lossy() == path => Some(String::from_utf8_lossy(content)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{path} not written"))
    }

    /// Greylisting is off by default and on with `greylisting: true`; Redis is named per
    /// module, never globally.
    #[test]
    fn greylisting_follows_the_answers() {
        let h = MemHost::fake();
        let a = answers();
        assert!(!a.greylisting, "off by default");
        let p = Spam.plan(&ctx(&h, &a)).unwrap();
        assert_eq!(
            file(&p, RSPAMD_GREYLIST).lines().last(),
            Some("enabled = false;")
        );
        assert!(file(&p, RSPAMD_ACTIONS).contains("greylist = null;\n"));
        let mut on = a.clone();
        on.greylisting = true;
        let p = Spam.plan(&ctx(&h, &on)).unwrap();
        let g = file(&p, RSPAMD_GREYLIST);
        assert!(
            g.contains("enabled = true;\nservers = \"127.0.0.1:6379\";\n"),
            "{g}"
        );
        assert!(file(&p, RSPAMD_ACTIONS).contains("greylist = 4;\n"));
        assert!(p
            .changes
            .iter()
            .all(|c| !c.summary().contains("/etc/rspamd/local.d/redis.conf")));
        assert_eq!(p.changes.last().unwrap().summary(), "reload rspamd");
    }

    /// What inbound mail meets: only loopback is local, Authentication-Results added, DMARC
    /// p=reject refused, Bayes in Redis; the scripts file spam into Junk and train rspamd.
    #[test]
    fn inbound_checks_and_scripts() {
        let h = MemHost::fake();
        let a = answers();
        let p = Spam.plan(&ctx(&h, &a)).unwrap();
        assert!(file(&p, RSPAMD_OPTIONS).contains("local_addrs = [\"127.0.0.0/8\", \"::1\"];"));
        assert!(RSPAMD_OPTIONS.contains("/override.d/"));
        assert!(file(&p, RSPAMD_MILTER_HEADERS).contains("\"authentication-results\""));
        assert!(file(&p, RSPAMD_DMARC).contains("reject = \"reject\";"));
        assert!(file(&p, RSPAMD_BAYES).contains("servers = \"127.0.0.1:6379\";"));
        assert!(file(&p, SIEVE_SPAM_TO_JUNK).contains("if header :is \"X-Spam\" \"Yes\""));
        assert!(file(&p, SIEVE_SPAM_TO_JUNK).contains("fileinto :create \"Junk\";"));
        assert!(file(&p, SIEVE_LEARN_SPAM).contains("pipe :copy \"rspamd-learn-spam\";"));
        let ham = file(&p, SIEVE_LEARN_HAM);
        assert!(ham.contains("\"Trash\"") && ham.contains("pipe :copy \"rspamd-learn-ham\";"));
        let prog = file(&p, "/etc/dovecot/sieve-pipe/rspamd-learn-spam");
        assert!(prog.starts_with("#!/bin/sh\n"));
        assert!(prog.contains("exec /usr/bin/rspamc --connect 127.0.0.1:11334 learn_spam\n"));
        let bin_dir = p
            .changes
            .iter()
            .find(|c| c.summary().starts_with("directory /var/lib/dovecot/sieve "))
            .expect("the compiled scripts' directory");
        assert_eq!(
            bin_dir.summary(),
            "directory /var/lib/dovecot/sieve (0700 vmail:vmail)"
        );
    }
}
