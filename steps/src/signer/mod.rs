//! Step `signer`: rspamd (Debian's package) as Postfix's milter, signing outgoing mail with
//! DKIM (RFC 6376) for every domain of the answers.
//!
//! Touches:
//! - `layout::DKIM_KEY_DIR` (0700 `_rspamd:_rspamd`) and, for each domain without a key, a
//!   new RSA-2048 key `<domain>.<selector>.key` (0600 `_rspamd:_rspamd`), made by
//!   `openssl genpkey` straight into its file: the private key is never printed, logged,
//!   journaled or put in argv, and a re-run finds the file and makes none. Keys are never
//!   rotated or deleted here (`mailstead dkim rotate DOMAIN` rotates; a removed domain keeps
//!   its keys).
//! - `layout::DKIM_SELECTORS_MAP`: `domain selector` per line, keeping each domain's signing
//!   selector; a removed domain is dropped from it.
//! - `paths::DKIM_SIGNING_CONF`: rspamd's `dkim_signing` module settings (see [`SIGNING_CONF`]).
//! - `paths::RATELIMIT_CONF`: the sending limit of logged-in users (see [`ratelimit_conf`]).
//! - `paths::RSPAMD_LOCAL_LUA`: the `From:` header rule (see [`FROM_RULE`]) and the notice to
//!   postmaster when a login reaches its sending limit (see [`limit_notice`]).
//! - queues an rspamd reload only when its configuration changed (the signing settings, the
//!   limit, the Lua rules): a new domain's key and selector line need none. rspamd finds a
//!   key through the `path` template when it first signs for the domain, and re-reads the
//!   selectors map, a file map, when it changes: the `spam` step's `options.inc` has it check
//!   file maps every 0.3–0.6 s. Every domain's signing key must be in place first (verify).
//!
//! Selectors name their UTC date: `s20261129`, then `s20261129b`, `s20261129c` for more keys
//! the same day. Postfix's side (`smtpd_milters`...) is in the `postfix` step.
pub mod check;
pub mod paths;
pub mod rotate;
use crate::facts::dkim::DkimKeys;
use crate::layout::{DKIM_KEY_DIR, DKIM_SELECTORS_MAP};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, Note, Perms, Planned, Step};
use paths::{dkim_key_path, DKIM_SIGNING_CONF, RATELIMIT_CONF, RSPAMD_LOCAL_LUA, RSPAMD_USER};
use std::collections::BTreeMap;

/// rspamd's `dkim_signing` settings (https://rspamd.com/doc/modules/dkim_signing.html).
///
/// - Only mail of logged-in users (`sign_authenticated`) and mail made on this server
///   (`sign_networks` = loopback: the `sendmail` command and cron, which Postfix hands to the
///   milter as client 127.0.0.1) is signed. Not `sign_local`: rspamd counts every private
///   address (10/8, 172.16/12, 192.168/16) as local, so mail relayed from a neighbour on
///   the LAN would be signed. Never inbound (`sign_inbound = false`).
/// - The domain is the `From:` header's, exactly (`use_esld = false`: `a.example.org` is not
///   signed as `example.org`); it must be the login's domain (`allow_username_mismatch =
///   false`: alice@example.org signs only as example.org) and the envelope sender's
///   (`allow_hdrfrom_mismatch = false`).
/// - Only domains in the selectors map are signed (`try_fallback = false`), with the key at
///   `path`.
pub const SIGNING_CONF: &str = r#"# mailstead: DKIM signing (rspamd dkim_signing module). Managed by mailstead:
# `mailstead check` reports edits; `mailstead dkim rotate DOMAIN` changes keys.
enabled = true;
sign_authenticated = true;
sign_local = false;
sign_networks = ["127.0.0.0/8", "::1"];
sign_inbound = false;
use_domain = "header";
use_esld = false;
allow_username_mismatch = false;
allow_hdrfrom_mismatch = false;
allow_hdrfrom_multiple = false;
try_fallback = false;
use_redis = false;
selector_map = "/etc/rspamd/local.d/dkim_selectors.map";
path = "/var/lib/rspamd/dkim/$domain.$selector.key";
"#;

/// The `From:` rule (rspamd Lua, `RSPAMD_LOCAL_LUA`): mail of a logged-in user whose `From:`
/// header is not exactly one address equal to the envelope sender is refused (`554 5.7.1`).
/// Postfix already lets a login use only its own envelope senders (`smtpd_sender_login_maps`
/// with `reject_sender_login_mismatch` on 587/465), so this makes the header the login's too:
/// a hijacked account cannot send as the boss.
pub const FROM_RULE: &str = r#"-- mailstead: the From: header of a logged-in user's mail must be its envelope sender
-- (which Postfix already ties to the login). Managed by mailstead: edits are overwritten.
rspamd_config:register_symbol({
  name = 'MAILSTEAD_FROM_NOT_LOGIN',
  type = 'prefilter',
  priority = 10,
  callback = function(task)
    local user = task:get_user()
    if not user then return false end
    local env = task:get_from('smtp')
    local hdr = task:get_from('mime')
    local env_addr = env and env[1] and env[1].addr and env[1].addr:lower() or ''
    if not hdr or #hdr ~= 1 or not hdr[1].addr or hdr[1].addr:lower() ~= env_addr then
      local shown = (hdr and hdr[1] and hdr[1].addr) or '(none)'
      task:set_pre_result('reject', 'From: header ' .. shown ..
        ' is not an address of login ' .. user, 'mailstead')
      return true
    end
    return false
  end,
})
"#;

/// The symbol rspamd's ratelimit module adds, besides its soft reject, to a message over a
/// login's limit (`info_symbol`, rspamd.com ratelimit module); [`limit_notice`] watches it.
pub const RATELIMITED_SYMBOL: &str = "MAILSTEAD_RATELIMITED";

/// The notice (rspamd Lua, appended to [`FROM_RULE`] in `RSPAMD_LOCAL_LUA`): when a message of a
/// login is deferred for its sending limit (the [`RATELIMITED_SYMBOL`]), rspamd mails `to`
/// (postmaster@ of the first domain, which Postfix delivers to the admin) from `from`, over
/// SMTP to 127.0.0.1:25 (in `mynetworks`: no postscreen wait, no AUTH, not limited itself),
/// saying which login, when, and what to do. At most one notice per login an hour per rspamd
/// scanner process (its own memory: a restart may send one more). rspamd logs
/// `mailstead: told TO that LOGIN reached its sending limit`, or why it could not.
///
/// Runs as an `idempotent` symbol with `ignore_passthrough`: the stage rspamd runs for every
/// message even after a pre-result (the ratelimit's soft reject), as its metadata_exporter does.
/// `to`, `from` and `helo` are validated answers (addresses and a host name: no quotes).
pub fn limit_notice(to: &str, from: &str, helo: &str) -> String {
    format!(
        r#"
-- mailstead: tell the postmaster when a login reaches its sending limit (once an hour per
-- login and scanner process). Managed by mailstead: edits are overwritten.
local mailstead_notified = {{}}
rspamd_config:register_symbol({{
  name = 'MAILSTEAD_LIMIT_NOTICE',
  type = 'idempotent',
  flags = 'empty,ignore_passthrough',
  callback = function(task)
    if not task:has_symbol('{RATELIMITED_SYMBOL}') then return end
    local user = task:get_user()
    if not user then return end
    local util = require 'rspamd_util'
    local logger = require 'rspamd_logger'
    local now = util.get_time()
    local last = mailstead_notified[user]
    if last and now - last < 3600 then return end
    mailstead_notified[user] = now
    local to, from = '{to}', '{from}'
    local when = os.date('!%Y-%m-%d %H:%M:%S UTC', math.floor(now))
    local msg = table.concat({{
      'From: mailstead <' .. from .. '>',
      'To: <' .. to .. '>',
      'Date: ' .. os.date('!%a, %d %b %Y %H:%M:%S +0000', math.floor(now)),
      'Subject: ' .. user .. ' reached its sending limit',
      'Message-ID: <mailstead-limit.' .. math.floor(now * 1000) .. '@{helo}>',
      'Auto-Submitted: auto-generated',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The login ' .. user .. ' sent more mail in the last hour than its limit',
      '(max_messages_per_hour in the mailstead answers). Since ' .. when .. ' its messages',
      'are deferred with 451 4.7.1 until the hour has passed.',
      '',
      'If its owner did not send that much mail, its password is probably known to',
      'someone else: change the password (in the answers file, then `mailstead install`)',
      'and look at the mail queue (`mailq`).',
      '',
      "rspamd log: grep 'mailstead_user(" .. user .. ")' /var/log/rspamd/rspamd.log",
      '',
    }}, '\r\n')
    require('lua_smtp').sendmail({{
      task = task, host = '127.0.0.1', port = 25, helo = '{helo}',
      from = from, recipients = {{ to }}, timeout = 10,
    }}, msg, function(ok, err)
      if ok then
        logger.infox(task, 'mailstead: told %s that %s reached its sending limit', to, user)
      else
        logger.errx(task, 'mailstead: could not tell %s that %s reached its sending limit: %s',
          to, user, err)
      end
    end)
  end,
}})
"#
    )
}

/// rspamd's `ratelimit` settings for `max_messages_per_hour` = `per_hour` (0: the module
/// off) (rspamd.com, ratelimit module).
///
/// - One bucket per login (`selector = "user.lower"`), `per_hour` messages deep, draining at
///   `per_hour` an hour; beyond it Postfix answers `451 4.7.1 Ratelimit "mailstead_user"
///   exceeded` (rspamd's soft reject through the milter) and rspamd logs
///   `ratelimit "mailstead_user(LOGIN)" exceeded` in `/var/log/rspamd/rspamd.log`.
/// - rspamd counts a message once its update reaches Redis; right after a reload the first
///   update can land seconds late (rspamd uploads its Redis scripts then), so a burst at that
///   moment may get one message more through.
/// - `allow_local`: rspamd counts private addresses (10/8, 192.168/16...) as local and would
///   skip them; a login from the office LAN is limited too.
/// - The fixed limit does not grow with ham or shrink with spam (the factors are 1).
/// - No login is exempt: an exemption by name would hold for anyone given a mailbox of that
///   name. `mailstead check`'s scans are counted too, each under a login of its own
///   (`mailstead-check-TOKEN@DOMAIN`, see `check::SCAN_PROBE`), so one message per bucket
///   never reaches a limit of 1 or more.
pub fn ratelimit_conf(per_hour: u32) -> String {
    let mut s = String::from(
        "# mailstead: the sending limit of logged-in users (rspamd ratelimit module).\n\
         # Managed by mailstead from `max_messages_per_hour`: edits are overwritten.\n",
    );
    if per_hour == 0 {
        s.push_str("enabled = false;\n");
        return s;
    }
    let burst = per_hour;
    s.push_str(&format!(
        "servers = \"127.0.0.1:6379\";\n\
         allow_local = true;\n\
         info_symbol = \"{RATELIMITED_SYMBOL}\";\n\
         ham_factor_rate = 1.0;\nham_factor_burst = 1.0;\n\
         spam_factor_rate = 1.0;\nspam_factor_burst = 1.0;\n\
         rates {{\n  mailstead_user {{\n    selector = \"user.lower\";\n    bucket = {{\n      \
         burst = {burst};\n      rate = \"{per_hour} / 1h\";\n    }}\n  }}\n}}\n"
    ));
    s
}

/// `s` + the UTC date, `YYYYMMDD`.
pub fn date_selector(now: time::OffsetDateTime) -> String {
    let d = now.to_offset(time::UtcOffset::UTC).date();
    format!("s{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Today's selector (UTC).
pub fn today_selector() -> String {
    date_selector(time::OffsetDateTime::now_utc())
}

/// The first of `base`, `base`+`b`, `base`+`c`, ... not in `taken`.
pub fn next_selector(base: &str, taken: &[&str]) -> String {
    if !taken.contains(&base) {
        return base.to_string();
    }
    ('b'..='z')
        .map(|c| format!("{base}{c}"))
        .find(|s| !taken.contains(&s.as_str()))
        .unwrap_or_else(|| format!("{base}z{}", taken.len()))
}

/// The command that makes a new key of `domain` for `selector`: `openssl genpkey` writes it
/// (umask 077) to a temporary file next to it, which gets its owner and mode before it takes
/// the key's name. Only paths are in argv; openssl prints nothing.
pub fn keygen(domain: &str, selector: &str) -> Change {
    let key = dkim_key_path(domain, selector);
    let key = key.to_string_lossy().into_owned();
    let tmp = format!("{key}.tmp");
    let script = "set -e; umask 077; openssl genpkey -quiet -algorithm RSA \
                  -pkeyopt rsa_keygen_bits:2048 -out \"$2\"; chown \"$3:$3\" \"$2\"; \
                  chmod 0600 \"$2\"; mv \"$2\" \"$1\"";
    Change::run_when_changed(
        format!("new DKIM key for {domain} (selector {selector}, RSA 2048)"),
        Cmd::new("sh", ["-c", script, "sh", &key, &tmp, RSPAMD_USER]).files_only(),
        &[&key, &tmp],
        &[],
        &[&key],
    )
}

/// The selectors map's text: `domain selector` lines, sorted by domain.
pub fn selectors_map(signing: &BTreeMap<String, String>) -> String {
    let mut s = String::from(
        "# mailstead: the DKIM selector that signs for each domain (rspamd dkim_signing selector_map).\n",
    );
    for (d, sel) in signing {
        s.push_str(&format!("{d} {sel}\n"));
    }
    s
}

/// `RSPAMD_LOCAL_LUA`: the [`FROM_RULE`] and the [`limit_notice`] to postmaster@ of the first
/// domain, from the same address, greeting as the server's `hostname`.
pub fn rspamd_local_lua(a: &Answers) -> String {
    let first = domains(a).into_iter().next().unwrap_or_default();
    let postmaster = format!("postmaster@{first}");
    format!(
        "{FROM_RULE}{}",
        limit_notice(&postmaster, &postmaster, a.hostname.trim())
    )
}

/// The domains of the answers, trimmed and lowercase.
fn domains(a: &Answers) -> Vec<String> {
    a.domains
        .iter()
        .map(|d| d.name.trim().to_ascii_lowercase())
        .collect()
}

/// Which selector signs for each domain, and the keys to make: the map's selector when its
/// key exists; else the newest key of the domain; else a new key with today's selector.
pub fn signing_plan(
    keys: &DkimKeys,
    domains: &[String],
    today: &str,
) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut signing = BTreeMap::new();
    let mut new = Vec::new();
    for d in domains {
        let have = keys.by_domain.get(d);
        let from_map = keys
            .map
            .get(d)
            .filter(|s| have.is_some_and(|ks| ks.iter().any(|k| &k.selector == *s)));
        let sel = match (from_map, keys.newest(d)) {
            (Some(s), _) => s.clone(),
            (None, Some(k)) => k.selector.clone(),
            (None, None) => {
                new.push((d.clone(), today.to_string()));
                today.to_string()
            }
        };
        signing.insert(d.clone(), sel);
    }
    (signing, new)
}

pub struct Signer;

impl Step<Answers> for Signer {
    fn name(&self) -> &'static str {
        "signer"
    }

    fn about(&self) -> &'static str {
        "rspamd: DKIM keys and signing, sending limit and From: check of outgoing mail"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let keys = ctx.fact::<DkimKeys>()?;
        let wanted = domains(ctx.answers);
        let (signing, new) = signing_plan(&keys, &wanted, &today_selector());
        let mut changes = vec![Change::EnsureDir {
            path: DKIM_KEY_DIR.into(),
            meta: Perms::new(0o700, RSPAMD_USER, RSPAMD_USER),
        }];
        for (d, sel) in &new {
            changes.push(keygen(d, sel));
        }
        changes.push(Change::write(
            DKIM_SIGNING_CONF,
            SIGNING_CONF,
            Perms::root(0o644),
        ));
        changes.push(Change::write(
            DKIM_SELECTORS_MAP,
            selectors_map(&signing),
            Perms::root(0o644),
        ));
        changes.push(Change::write(
            RATELIMIT_CONF,
            ratelimit_conf(ctx.answers.max_messages_per_hour),
            Perms::root(0o644),
        ));
        changes.push(Change::write(
            RSPAMD_LOCAL_LUA,
            rspamd_local_lua(ctx.answers),
            Perms::root(0o644),
        ));
        changes.push(Change::reload_after(
            "rspamd",
            &[DKIM_SIGNING_CONF, RATELIMIT_CONF, RSPAMD_LOCAL_LUA],
        ));
        let mut planned = Planned::changes(changes);
        for d in keys.by_domain.keys().filter(|d| !wanted.contains(d)) {
            planned = planned.note(Note::info(format!(
                "{d} is not a configured domain: its DKIM keys stay in {DKIM_KEY_DIR} and \
                 keep nothing signed; remove its DKIM records from DNS once no mail signed \
                 with them is in transit"
            )));
        }
        Ok(planned)
    }

    /// Every domain has its signing key, 0600 `_rspamd:_rspamd`, readable by openssl. (Not
    /// `rspamadm configtest`: it takes ~10 s on Debian 13; the `signer` check proves after the
    /// reload that rspamd signs, and a failure there rolls the run back.)
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        let keys = ctx.fact::<DkimKeys>()?;
        let owner = format!("{RSPAMD_USER}:{RSPAMD_USER}");
        for d in domains(ctx.answers) {
            match keys.signing(&d) {
                Some(k)
                    if k.mode & 0o7777 == 0o600 && k.owner == owner && !k.public_key.is_empty() => {
                }
                Some(k) => {
                    return Err(eyre!(
                        "the DKIM key {} is {:04o} {} (or unreadable), not 0600 {owner}",
                        dkim_key_path(&d, &k.selector).display(),
                        k.mode & 0o7777,
                        k.owner
                    ))
                }
                None => return Err(eyre!("{d} has no signing DKIM key after the run")),
            }
        }
        Ok(())
    }
}

/// `mailstead dkim rotate DOMAIN`, as a step run by the engine (snapshots and rollback).
///
/// - Phase 1 (no key newer than the signing one): makes the next key (not signing yet).
/// - Phase 2 (such a key exists and `published` says its record is in DNS, checked or
///   confirmed by the admin): the map names the new selector and rspamd reloads. The old key
///   stays on disk (and should stay published until mail signed with it has arrived).
pub struct Rotate {
    pub domain: String,
    pub published: bool,
}

/// Where a rotation of one domain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateState {
    /// No key at all: an install makes the first one.
    NoKey,
    /// Only the signing key: phase 1 makes `next`.
    Start { current: String, next: String },
    /// A newer key waits for DNS: phase 2 switches to it.
    Waiting {
        current: String,
        next: String,
        public_key: String,
    },
}

/// Where the rotation of `domain` stands, with today's selector `today`.
pub fn rotate_state(keys: &DkimKeys, domain: &str, today: &str) -> RotateState {
    let Some(list) = keys.by_domain.get(domain) else {
        return RotateState::NoKey;
    };
    let Some(current) = keys.signing(domain).or(list.last()) else {
        return RotateState::NoKey;
    };
    match list.last() {
        Some(newest) if newest.selector > current.selector => RotateState::Waiting {
            current: current.selector.clone(),
            next: newest.selector.clone(),
            public_key: newest.public_key.clone(),
        },
        _ => {
            let taken: Vec<&str> = list.iter().map(|k| k.selector.as_str()).collect();
            // The date part (`s` + 8 digits); never a date before the current key's (a clock
            // set back would otherwise make a selector that sorts before it).
            let current_date: String = current.selector.chars().take(9).collect();
            let base = if today > current_date.as_str() {
                today.to_string()
            } else {
                current_date
            };
            RotateState::Start {
                current: current.selector.clone(),
                next: next_selector(&base, &taken),
            }
        }
    }
}

impl Step<Answers> for Rotate {
    fn name(&self) -> &'static str {
        "dkim-rotate"
    }

    fn about(&self) -> &'static str {
        "DKIM key rotation: a new key first, signing with it once it is in DNS"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let keys = ctx.fact::<DkimKeys>()?;
        match rotate_state(&keys, &self.domain, &today_selector()) {
            RotateState::NoKey => Err(mailstead_engine::Refusal::new(vec![format!(
                "{} has no DKIM key yet; run `mailstead install` first",
                self.domain
            )])
            .into()),
            RotateState::Start { next, .. } => Ok(vec![keygen(&self.domain, &next)].into()),
            RotateState::Waiting { next, .. } if self.published => {
                let mut signing: BTreeMap<String, String> = keys
                    .map
                    .iter()
                    .map(|(d, s)| (d.clone(), s.clone()))
                    .collect();
                signing.insert(self.domain.clone(), next);
                Ok(vec![
                    Change::write(
                        DKIM_SELECTORS_MAP,
                        selectors_map(&signing),
                        Perms::root(0o644),
                    ),
                    Change::reload("rspamd"),
                ]
                .into())
            }
            RotateState::Waiting { next, .. } => {
                Err(mailstead_engine::Refusal::new(vec![format!(
                    "the DKIM record of {next}._domainkey.{} is not in DNS yet; publish it \
                 (`mailstead dkim rotate {}` prints it), or pass --published once it is",
                    self.domain, self.domain
                )])
                .into())
            }
        }
    }
}

/// The `signer` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "signer"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Signer)]
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![
            (
                Phase::Serving,
                Box::new(check::Signer {
                    timeout: check::SIGNER_TIMEOUT,
                }),
            ),
            (Phase::Health, Box::new(check::Limits)),
        ]
    }
    fn packages(&self, _answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        // rspamd from Debian. Not held by the packages step's policy: it starts on its
        // defaults (all listeners on localhost) and is running before Postfix is pointed at
        // it.
        vec!["rspamd"]
    }
    /// The TXT record of each published key of `domain` (RFC 6376 §3.6.1), signing or kept
    /// during a rotation.
    fn records(
        &self,
        inputs: &crate::records::DnsInputs,
        domain: &str,
    ) -> Vec<crate::records::Record> {
        use crate::records::{fqdn, rec, RType};
        let name = fqdn(domain);
        inputs
            .dkim
            .get(domain)
            .into_iter()
            .flatten()
            .map(|k| {
                rec(
                    domain,
                    format!("{}._domainkey.{name}", k.selector),
                    RType::Txt,
                    crate::facts::dkim_txt(&k.public_key),
                    if k.signing {
                        "DKIM: the public key receivers verify this server's signatures with"
                    } else {
                        "DKIM: an older key, kept published while mail signed with it is in transit"
                    },
                )
            })
            .collect()
    }
    /// rspamd's proxy worker in milter mode, for Postfix's `main.cf`.
    fn postfix_main(&self, _answers: &mailstead_answers::Answers) -> Vec<(&'static str, String)> {
        let s = String::from;
        vec![
            // Every message passes it: mail from smtpd (25, 587, 465) and local mail (sendmail,
            // cron), which rspamd signs when its sender logged in or is this server.
            ("smtpd_milters", s(crate::signer::paths::RSPAMD_MILTER)),
            ("non_smtpd_milters", s("$smtpd_milters")),
            // When rspamd does not answer, Postfix refuses for now on 25, 587 and 465 alike
            // (451 4.7.1; 454 4.3.0 to STARTTLS and AUTH) (smtpd reads this; local mail's cleanup too): a temporary refusal
            // costs nothing (senders retry), an unsigned message fails DMARC at the receiver
            // and an unscanned one reaches the inbox. `mailstead check` (signer) names it;
            // docs/user/failures.md.
            ("milter_default_action", s("tempfail")),
            // Postfix >= 2.6 speaks milter protocol 6, as rspamd does.
            ("milter_protocol", s("6")),
            // rspamd needs the login ({auth_authen}) to sign for authenticated users, and the
            // client's address to tell local mail; rspamd's documented set (rspamd.com, MTA
            // integration).
            (
                "milter_mail_macros",
                s("i {mail_addr} {client_addr} {client_name} {auth_authen}"),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::dkim::parse;
    use crate::testing::{ctx, mail_answers as answers, ok};
    use mailstead_engine::MemHost;

    fn host(probe: &'static str) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| (c.program == "sh" && c.probe).then(|| ok(probe)).flatten());
        h
    }

    #[test]
    fn selectors_name_their_date() {
        // 2026-11-29 23:30 UTC.
        let t = time::OffsetDateTime::from_unix_timestamp(1_795_995_000).unwrap();
        assert_eq!(date_selector(t), "s20261129");
        assert_eq!(next_selector("s20261129", &[]), "s20261129");
        assert_eq!(
            next_selector("s20261129", &["s20261129", "s20261129b"]),
            "s20261129c"
        );
    }

    #[test]
    fn fresh_server_gets_one_key_per_domain_and_a_map() {
        let h = host("");
        let a = answers();
        let p = Signer.plan(&ctx(&h, &a)).unwrap();
        let s: Vec<String> = p.changes.iter().map(Change::summary).collect();
        let today = today_selector();
        assert!(
            s.iter().any(
                |c| c == &format!("new DKIM key for example.test (selector {today}, RSA 2048)")
            ),
            "{s:?}"
        );
        let map = p.changes.iter().find_map(|c| match c {
            Change::WriteFile { path, content, .. } if path.ends_with("dkim_selectors.map") => {
                Some(String::from_utf8(content.clone()).unwrap())
            }
            _ => None,
        });
        assert!(map.unwrap().contains(&format!("example.test {today}\n")));
        // The key never passes through argv or the plan: only paths.
        for c in &p.changes {
            if let Change::Run { cmd, .. } = c {
                assert!(cmd.stdin.is_none());
                assert!(!cmd.to_string().contains("PRIVATE"));
            }
        }
    }

    #[test]
    fn existing_keys_are_kept_and_removed_domains_noted() {
        let keys = parse(
            "map example.test s20240101\nmap gone.test s20240101\n\
             key example.test.s20240101.key 600 _rspamd:_rspamd AAA\n\
             key example.test.s20250101.key 600 _rspamd:_rspamd BBB\n\
             key gone.test.s20240101.key 600 _rspamd:_rspamd CCC\n",
        );
        let (signing, new) = signing_plan(&keys, &["example.test".into()], "s20261129");
        // A newer key waiting for DNS (rotation phase 1) does not sign yet.
        assert_eq!(signing["example.test"], "s20240101");
        assert!(new.is_empty());
        assert!(!signing.contains_key("gone.test"));

        let h = host(
            "map example.test s20240101\nkey example.test.s20240101.key 600 _rspamd:_rspamd AAA\n\
             key gone.test.s20240101.key 600 _rspamd:_rspamd CCC\n",
        );
        let a = answers();
        let p = Signer.plan(&ctx(&h, &a)).unwrap();
        let s: Vec<String> = p.changes.iter().map(Change::summary).collect();
        assert!(
            !s.iter()
                .any(|c| c.starts_with("new DKIM key for example.test")),
            "{s:?}"
        );
        // other.test (in the answers, no key yet) gets its first one.
        assert!(
            s.iter()
                .any(|c| c.starts_with("new DKIM key for other.test")),
            "{s:?}"
        );
        assert!(p.notes.iter().any(|n| n.text.contains("gone.test")));
    }

    /// A domain added to a configured server: its key and its selector line, and no rspamd
    /// reload (rspamd re-reads the map by itself); a changed sending limit still reloads.
    #[test]
    fn a_new_domain_reloads_nothing_a_new_limit_reloads_rspamd() {
        let h = host(
            "map example.test s20240101\nkey example.test.s20240101.key 600 _rspamd:_rspamd AAA\n",
        );
        crate::testing::group_file(&h);
        let mut a = answers();
        for (path, content) in [
            (DKIM_SIGNING_CONF, SIGNING_CONF.to_string()),
            (RATELIMIT_CONF, ratelimit_conf(a.max_messages_per_hour)),
            (RSPAMD_LOCAL_LUA, rspamd_local_lua(&a)),
        ] {
            h.add_file(path, content.as_str(), mailstead_engine::Meta::root(0o644));
        }
        use mailstead_engine::Host;
        h.create_dir_all(DKIM_KEY_DIR.as_ref(), mailstead_engine::Meta::root(0o700))
            .unwrap();
        let summaries = |h: &MemHost, a: &Answers| -> Vec<String> {
            crate::testing::effective(h, Signer.plan(&ctx(h, a)).unwrap())
                .iter()
                .map(Change::summary)
                .collect()
        };
        let s = summaries(&h, &a);
        assert!(
            s.iter()
                .any(|c| c.starts_with("new DKIM key for other.test")),
            "{s:?}"
        );
        assert!(s.iter().any(|c| c.contains("dkim_selectors.map")), "{s:?}");
        assert!(!s.iter().any(|c| c.contains("reload")), "{s:?}");
        a.max_messages_per_hour += 1;
        let s = summaries(&h, &a);
        assert!(s.iter().any(|c| c == "reload rspamd"), "{s:?}");
    }

    /// verify: every domain's signing key is in place, 0600 `_rspamd:_rspamd`.
    #[test]
    fn verify_wants_every_key_private_to_rspamd() {
        let a = answers();
        let good = "map example.test s1\nmap other.test s1\n\
                    key example.test.s1.key 600 _rspamd:_rspamd AAA\n\
                    key other.test.s1.key 600 _rspamd:_rspamd BBB\n";
        Signer.verify(&ctx(&host(good), &a)).unwrap();
        let loose = "map example.test s1\nmap other.test s1\n\
                     key example.test.s1.key 644 root:root AAA\n\
                     key other.test.s1.key 600 _rspamd:_rspamd BBB\n";
        let e = Signer.verify(&ctx(&host(loose), &a)).unwrap_err();
        assert!(format!("{e}").contains("0644 root:root"), "{e}");
        let missing = "map example.test s1\nkey example.test.s1.key 600 _rspamd:_rspamd AAA\n";
        let e = Signer.verify(&ctx(&host(missing), &a)).unwrap_err();
        assert!(
            format!("{e}").contains("other.test has no signing DKIM key"),
            "{e}"
        );
    }

    #[test]
    fn rotation_phases() {
        let one = parse(
            "map example.test s20240101\nkey example.test.s20240101.key 600 _rspamd:_rspamd AAA\n",
        );
        assert_eq!(
            rotate_state(&one, "example.test", "s20261129"),
            RotateState::Start {
                current: "s20240101".into(),
                next: "s20261129".into()
            }
        );
        let two = parse(
            "map example.test s20261129\nkey example.test.s20261129.key 600 _rspamd:_rspamd AAA\n\
             key example.test.s20261129b.key 600 _rspamd:_rspamd BBB\n",
        );
        assert_eq!(
            rotate_state(&two, "example.test", "s20261129"),
            RotateState::Waiting {
                current: "s20261129".into(),
                next: "s20261129b".into(),
                public_key: "BBB".into()
            }
        );
        // Second rotation the same day.
        let done = parse(
            "map example.test s20261129b\nkey example.test.s20261129.key 600 _rspamd:_rspamd AAA\n\
             key example.test.s20261129b.key 600 _rspamd:_rspamd BBB\n",
        );
        assert_eq!(
            rotate_state(&done, "example.test", "s20261129"),
            RotateState::Start {
                current: "s20261129b".into(),
                next: "s20261129c".into()
            }
        );
        assert_eq!(rotate_state(&done, "nope.test", "s1"), RotateState::NoKey);
    }

    #[test]
    fn phase_two_needs_dns_or_confirmation() {
        let probe =
            "map example.test s20261129\nkey example.test.s20261129.key 600 _rspamd:_rspamd AAA\n\
                     key example.test.s20261129b.key 600 _rspamd:_rspamd BBB\n";
        let h = host(probe);
        let a = answers();
        let r = Rotate {
            domain: "example.test".into(),
            published: false,
        };
        let e = r.plan(&ctx(&h, &a)).unwrap_err();
        assert!(
            format!("{e}").contains("s20261129b._domainkey.example.test"),
            "{e}"
        );
        let r = Rotate {
            domain: "example.test".into(),
            published: true,
        };
        let p = r.plan(&ctx(&h, &a)).unwrap();
        let Change::WriteFile { content, .. } = &p.changes[0] else {
            panic!("{:?}", p.changes)
        };
        assert_eq!(
            String::from_utf8_lossy(content).lines().last().unwrap(),
            "example.test s20261129b"
        );
    }

    /// The sending limit: one bucket per login of the answers' size, no login exempt; off at 0.
    #[test]
    fn ratelimit_settings() {
        let c13 = ratelimit_conf(5);
        assert!(c13.contains("selector = \"user.lower\";"), "{c13}");
        assert!(
            c13.contains("burst = 5;\n      rate = \"5 / 1h\";"),
            "{c13}"
        );
        assert!(c13.contains("servers = \"127.0.0.1:6379\";"));
        assert!(c13.contains("allow_local = true;"));
        // No login is exempt by its name, not even the check's.
        assert!(!c13.contains("whitelisted"), "{c13}");
        assert!(!c13.contains("mailstead-check"), "{c13}");
        let off = ratelimit_conf(0);
        assert!(
            off.contains("enabled = false;") && !off.contains("rates"),
            "{off}"
        );
        // The From: rule rejects, names the header and the login, and only for logged-in users.
        assert!(FROM_RULE.contains("task:get_user()"));
        assert!(FROM_RULE.contains("set_pre_result('reject'"));
        // The notice watches the symbol the ratelimit adds.
        assert!(
            c13.contains("info_symbol = \"MAILSTEAD_RATELIMITED\";"),
            "{c13}"
        );
        let n = limit_notice(
            "postmaster@example.test",
            "postmaster@example.test",
            "mail.example.test",
        );
        assert!(
            n.contains("task:has_symbol('MAILSTEAD_RATELIMITED')"),
            "{n}"
        );
        assert!(n.contains("local to, from = 'postmaster@example.test', 'postmaster@example.test'"));
        assert!(n.contains("helo = 'mail.example.test'"));
        assert!(n.contains("flags = 'empty,ignore_passthrough'"));
    }
}
