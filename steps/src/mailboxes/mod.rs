//! Step `mailboxes`: the virtual domains, mailboxes and aliases of the answers file.
//!
//! Touches:
//! - `/etc/dovecot/users` (0640 root:dovecot, secret): Dovecot's passwd-file (passdb and
//!   userdb), one `address:{SHA512-CRYPT}hash::::::extra` line per mailbox (all seven fields,
//!   or the userdb lookup fails with "missing userdb info"; extra = the mailbox's own quota,
//!   see [`quota_fields`]). Hashes are made in-process (never
//!   `doveadm pw -p`, never argv); an existing hash that still verifies the answers' password
//!   is kept byte for byte, so a re-run changes nothing. A `password_hash` from the answers is
//!   used as is (a bare `$6$` hash gets its `{SHA512-CRYPT}` scheme prefix).
//! - `/etc/postfix/virtual_domains`, `virtual_mailboxes`, `virtual_aliases`, `virtual_senders`
//!   (0644 root) and their `.db` files: `postmap` runs only for a source that changed or whose
//!   `.db` is missing. `virtual_aliases` holds the explicit aliases plus postmaster@ and abuse@
//!   per domain (see `Domain::effective_aliases`), one hop per line as written (Postfix expands
//!   them recursively); `virtual_senders` is `smtpd_sender_login_maps`: which logins may use
//!   which sender address, an alias's being the mailboxes it finally reaches (the resolved
//!   alias graph, `mailstead_answers::aliases`).
//! - queues a Postfix reload only when the domain list (`virtual_domains`) changed. Postfix's
//!   short-lived clients (smtpd, cleanup) notice a changed `.db` before their next client and
//!   restart by themselves, so new mailboxes and aliases need none; but the address class of a
//!   domain comes from `trivial-rewrite`, which checks its tables only when a new client
//!   connects, while smtpd keeps its connection to it: a domain just added is refused with
//!   "Relay access denied" until then (seen in the bed). virtual(5): "After an update it may
//!   take a minute or so before the change becomes visible. Issue a postfix reload command to
//!   eliminate the delay." A reload keeps the master, its unit's InvocationID and main PID,
//!   and every connection. Dovecot re-reads its passwd-file when it changes. A new map named
//!   in `main.cf` comes with a `main.cf` change, which the `postfix` step reloads for.
//!
//! Removing a domain, mailbox or alias means leaving it out of the answers: it is dropped from
//! these files. Mail already delivered under `/var/mail/vhosts/<domain>/<user>` is never
//! deleted by mailstead.
//!
//! Runs before `dovecot` and `postfix`, so the files their configuration points at exist
//! before that configuration is loaded.
pub mod check;
pub use crate::layout::{
    ALIASES_MAP, DOMAINS_MAP, MAILBOXES_MAP, SENDERS_MAP, SENDER_ACCESS_MAP, USERS_FILE, VHOSTS,
};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{AliasGraph, Answers, Mailbox};
use mailstead_engine::host::Cmd;
use mailstead_engine::{system, Change, Ctx, Perms, Planned, Step};
use std::collections::BTreeMap;
use std::path::Path;

const SCHEME: &str = "{SHA512-CRYPT}";
const HEADER: &str = "# Managed by mailstead from its answers file: edits here are overwritten.\n";

pub struct Mailboxes;

impl Step<Answers> for Mailboxes {
    fn name(&self) -> &'static str {
        "mailboxes"
    }

    fn about(&self) -> &'static str {
        "Virtual domains, mailboxes and aliases (Dovecot users, Postfix maps)"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let host = ctx.host;
        let a = ctx.answers;
        let current = host.read_string(Path::new(USERS_FILE))?.unwrap_or_default();
        let users = users_file(a, &current)?;
        // Group `dovecot` comes with dovecot-core: named here, resolved when written.
        let mut changes = vec![Change::write_secret(
            USERS_FILE,
            users,
            Perms::new(0o640, "root", "dovecot"),
        )];
        // Postfix accepts mail for a new mailbox once its map is rebuilt below, so Dovecot must
        // know it first: its passwd-file is stat()ed at most once a second (db-passwd-file.c,
        // passwd_file_sync), and a lookup earlier in the second of the write leaves the old file
        // in use for the rest of it: a login refused, a delivery bounced "user unknown".
        // On a first install Dovecot runs Debian's configuration (no users file yet): nothing
        // to wait for.
        let ours = current
            .lines()
            .any(|l| !l.starts_with('#') && l.contains(':'));
        if let (true, Some(new)) = (ours, first_new_mailbox(a, &current)) {
            if system::service_active(host, "dovecot") {
                changes.push(Change::run(
                    format!("wait until Dovecot knows {new}"),
                    Cmd::new("sh", ["-c", DOVECOT_KNOWS, "sh", new]).files_only(),
                    &[],
                ));
            }
        }
        let maps = all_maps(a)?;
        for (path, content) in &maps {
            changes.push(Change::write(path, content.clone(), Perms::root(0o644)));
        }
        // postmap only the maps whose source changed or whose .db is missing: one command per
        // map, each declared with its trigger, so the engine decides. postmap writes only the
        // .db; the source is snapshotted by its own WriteFile above.
        for (path, _) in &maps {
            let db = format!("{path}.db");
            changes.push(Change::run_when_changed(
                format!("postmap {path}"),
                Cmd::new("sh", ["-c", POSTMAP_REPLACE, "sh", path]).files_only(),
                &[&db],
                &[path],
                &[&db],
            ));
        }
        // trivial-rewrite keeps the domain list it started with: a new domain would be
        // "Relay access denied" until Postfix reloads (virtual(5): "Issue a postfix reload
        // command to eliminate the delay"). Only the table changed: no config to prove again.
        changes.push(Change::reload_for_tables("postfix", &[DOMAINS_MAP]));
        Ok(changes.into())
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        for (path, _) in maps(ctx.answers)? {
            let db = format!("{path}.db");
            if !ctx.host.exists(Path::new(&db)) {
                return Err(eyre!("{db} is missing: postmap did not build it"));
            }
        }
        Ok(())
    }
}

/// `postmap` of the map `$1` into a new `.db` that then replaces the old one (rename): Postfix's
/// long-lived processes notice a changed table by its `.db`'s mtime, in whole seconds, or by
/// the file they opened being unlinked (dict.c, dict_changed_name). `postmap` rewrites the
/// `.db` in place, so a second rebuild within the same second (`add-domain` then `add-alias`
/// from a script) went unnoticed by an smtpd that opened the table in between: the new alias
/// "User unknown" until that process ended. A replaced file is noticed at once, and readers
/// never see a half-written one.
pub const POSTMAP_REPLACE: &str = r#"set -e
umask 022
new="$(dirname "$1")/.$(basename "$1").mailstead-new"
trap 'rm -f "$new" "$new.db"' EXIT
rm -f "$new" "$new.db"
cp "$1" "$new"
postmap "hash:$new"
mv -f "$new.db" "$1.db""#;

/// Asks Dovecot's userdb for `$1` until it answers (3 s at most): the first lookup in a new
/// second reads a changed passwd-file again.
const DOVECOT_KNOWS: &str = r#"for i in $(seq 30); do doveadm user "$1" >/dev/null 2>&1 && exit 0; sleep 0.1; done
echo "Dovecot does not know $1 3 s after it was written to /etc/dovecot/users: look at doveadm user $1 and journalctl -u dovecot" >&2
exit 1"#;

/// The first mailbox of the answers that `current` (the passwd-file as it is) lacks: one
/// lookup of it proves Dovecot reads the new file (it reloads the whole file at once).
fn first_new_mailbox<'a>(a: &'a Answers, current: &str) -> Option<&'a str> {
    let known: Vec<&str> = current
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(':').next())
        .collect();
    a.all_mailboxes()
        .map(|m| m.address.as_str())
        .find(|addr| !known.contains(addr))
}

/// The passwd-file: one line per mailbox, in answers order. `current` is the file as it is,
/// whose hashes are kept when they still match.
pub fn users_file(a: &Answers, current: &str) -> Result<String> {
    let existing: BTreeMap<&str, &str> = current
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            Some((f.next()?, f.next()?))
        })
        .collect();
    let mut out = String::from(HEADER);
    for m in a.all_mailboxes() {
        let hash = mailbox_hash(m, existing.get(m.address.as_str()).copied())?;
        // Validation refuses these; the generator refuses them again rather than write a line
        // that means something else (a line break adds an account, a `:` starts a field).
        if !is_field(&m.address) || m.address.starts_with('#') {
            return Err(eyre!(
                "mailbox {:?} cannot be written to {USERS_FILE}: it contains a space, `:` or a control character",
                m.address
            ));
        }
        if !is_field(&hash) {
            return Err(eyre!(
                "the password hash of {} cannot be written to {USERS_FILE}: it contains a space, `:` or a control character",
                m.address
            ));
        }
        out.push_str(&format!("{}:{hash}::::::{}\n", m.address, quota_fields(m)));
    }
    Ok(out)
}

/// The userdb extra fields of a mailbox with its own `quota`: both Dovecot generations' names,
/// each ignoring the other's (2.3 `quota_rule`, 2.4 `quota_storage_size`; Dovecot doc
/// "passwd-file": `userdb_` fields are returned by the userdb lookup, prefix stripped), so
/// the file does not depend on which Dovecot reads it. Empty without an override: the
/// default of Dovecot's configuration applies.
pub fn quota_fields(m: &Mailbox) -> String {
    match m.quota {
        None => String::new(),
        Some(q) => format!(
            "userdb_quota_rule=*:storage={} userdb_quota_storage_size={q}",
            crate::layout::quota_rule_23(q)
        ),
    }
}

/// One passwd-file field: not empty, no `:` (the field separator), no space, line break or
/// other control character.
fn is_field(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
}

/// One Postfix lookup-table key or value word: not empty, no space, line break or other
/// control character (a space ends the key, a line break starts an entry), no `,` (which
/// separates a value's words); a key does not start with `#` (that line is a comment).
fn is_map_word(s: &str, key: bool) -> bool {
    let comment = key && s.starts_with('#');
    !s.is_empty()
        && !comment
        && !s
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
}

/// A key of a Postfix map, or the error saying why it cannot be one.
fn map_key<'a>(s: &'a str, what: &str) -> Result<&'a str> {
    if is_map_word(s, true) {
        Ok(s)
    } else {
        Err(eyre!(
            "{what} {s:?} cannot be a Postfix map key: it is empty, starts with `#`, or contains a space, `,` or a control character"
        ))
    }
}

/// Every Postfix map this step writes: [`maps`] and [`sender_access`].
pub fn all_maps(a: &Answers) -> Result<Vec<(&'static str, String)>> {
    let mut m = maps(a)?;
    m.push(sender_access(a)?);
    Ok(m)
}

/// `check_sender_access` for port 25: a sender address in one of our domains comes only from
/// our own users, who send through 587/465 with a login (or from this host: mynetworks is
/// checked first). On 25 it is forged. Postfix's sender-login checks do not work there (SASL
/// is off on 25 on purpose), hence an access map (access(5)): `domain REJECT text`.
pub fn sender_access(a: &Answers) -> Result<(&'static str, String)> {
    let mut out = String::from(HEADER);
    for d in &a.domains {
        let domain = map_key(&d.name, "domain")?;
        out.push_str(&format!(
            "{domain} REJECT mail from {domain} is sent with a login on port 587 or 465\n"
        ));
    }
    Ok((SENDER_ACCESS_MAP, out))
}

/// A word of a Postfix map's value, or the error saying why it cannot be one.
fn map_value<'a>(s: &'a str, what: &str) -> Result<&'a str> {
    if is_map_word(s, false) {
        Ok(s)
    } else {
        Err(eyre!(
            "{what} {s:?} cannot be written to a Postfix map: it is empty or contains a space, `,` or a control character"
        ))
    }
}

fn mailbox_hash(m: &Mailbox, existing: Option<&str>) -> Result<String> {
    if let Some(h) = &m.password_hash {
        return Ok(if h.starts_with("$6$") {
            format!("{SCHEME}{h}")
        } else {
            h.clone()
        });
    }
    match (&m.password, existing) {
        (Some(pw), Some(old)) if verifies(pw.expose(), old) => Ok(old.to_string()),
        (Some(pw), _) => hash_password(pw.expose()),
        // Validation requires one of the two; a file from elsewhere may still lack both.
        (None, Some(old)) => Ok(old.to_string()),
        (None, None) => Err(eyre!(
            "mailbox {} has neither a password nor a password_hash",
            m.address
        )),
    }
}

/// Whether `password` matches a `{SHA512-CRYPT}` hash: the one copy is
/// [`mailstead_answers::edit::verifies`].
pub use mailstead_answers::edit::verifies;

/// A fresh `{SHA512-CRYPT}$6$salt$hash` with 96 random bits of salt: the one copy is
/// [`mailstead_answers::edit::hash_password`].
pub fn hash_password(password: &str) -> Result<String> {
    mailstead_answers::edit::hash_password(password).map_err(|e| eyre!("{e}"))
}

/// The four Postfix maps, as (path, content). Refuses (rather than writes) a key or value that
/// would change the map's meaning; validation has refused those already.
pub fn maps(a: &Answers) -> Result<Vec<(&'static str, String)>> {
    let mut domains = String::from(HEADER);
    let mut mailboxes = String::from(HEADER);
    let mut aliases = String::from(HEADER);
    // Which logins may send as an address: a mailbox as itself, an alias as the mailboxes it
    // finally reaches (through other aliases and `+tag`s; see mailstead_answers::aliases).
    // Intermediate aliases and outside addresses are no logins. Answers reaching a step are
    // validated, so the graph has no problems; if it had, this is still its best answer.
    let graph = AliasGraph::build(a).0;
    let mut senders: Vec<(String, Vec<String>)> = Vec::new();
    let mut allow = |addr: &str, login: &str| {
        match senders.iter_mut().find(|(a, _)| a == addr) {
            Some((_, logins)) => {
                if !logins.iter().any(|l| l == login) {
                    logins.push(login.to_string());
                }
            }
            None => senders.push((addr.to_string(), vec![login.to_string()])),
        };
    };
    for d in &a.domains {
        domains.push_str(&format!("{} OK\n", map_key(&d.name, "domain")?));
        for m in &d.mailboxes {
            let address = map_key(&m.address, "mailbox")?;
            let (user, domain) = address.rsplit_once('@').unwrap_or((address, &d.name));
            if user.contains('/') || domain.contains('/') || user.starts_with('.') {
                return Err(eyre!(
                    "mailbox {address:?} cannot name a mail directory: it contains `/` or starts with `.`"
                ));
            }
            mailboxes.push_str(&format!("{address} {domain}/{user}/\n"));
            allow(address, address);
        }
        for al in a.aliases_of(d) {
            let targets: Vec<&str> = al
                .to
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| map_value(t, "alias target"))
                .collect::<Result<_>>()?;
            let from = map_key(&al.from, "alias")?;
            if targets.is_empty() {
                return Err(eyre!("alias {from:?} has no target"));
            }
            aliases.push_str(&format!("{from} {}\n", targets.join(", ")));
            for login in graph.logins(&al.from) {
                allow(&al.from, login);
            }
        }
    }
    let mut senders_file = String::from(HEADER);
    for (addr, logins) in senders {
        senders_file.push_str(&format!("{addr} {}\n", logins.join(", ")));
    }
    Ok(vec![
        (DOMAINS_MAP, domains),
        (MAILBOXES_MAP, mailboxes),
        (ALIASES_MAP, aliases),
        (SENDERS_MAP, senders_file),
    ])
}

/// The `mailboxes` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "mailboxes"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Mailboxes)]
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![
            (
                Phase::Delivering,
                Box::new(check::Delivery {
                    timeout: check::DELIVERY_TIMEOUT,
                }),
            ),
            (Phase::Health, Box::new(check::Quota)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_answers::Alias;
    use mailstead_engine::{Host, MemHost, Meta, Output, Secret, When};
    use std::path::PathBuf;

    use crate::testing::{
        apply, ctx, effective, group_file, mail_answers as answers, try_apply, PW,
    };

    fn fake_postmap(h: &MemHost) {
        h.on_command(|c| {
            (c.program == "sh" && c.args.get(1).map(String::as_str) == Some(POSTMAP_REPLACE))
                .then(Output::default)
        });
    }

    #[test]
    fn fresh_host_gets_users_maps_one_postmap_and_a_reload_for_the_domains() {
        let h = MemHost::fake();
        group_file(&h);
        let a = answers();
        let changes = effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap());
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(
            s,
            vec![
                "write /etc/dovecot/users (0640 root:dovecot)",
                "write /etc/postfix/virtual_domains (0644 root:root)",
                "write /etc/postfix/virtual_mailboxes (0644 root:root)",
                "write /etc/postfix/virtual_aliases (0644 root:root)",
                "write /etc/postfix/virtual_senders (0644 root:root)",
                "write /etc/postfix/sender_access (0644 root:root)",
                "postmap /etc/postfix/virtual_domains",
                "postmap /etc/postfix/virtual_mailboxes",
                "postmap /etc/postfix/virtual_aliases",
                "postmap /etc/postfix/virtual_senders",
                "postmap /etc/postfix/sender_access",
                "reload postfix",
            ]
        );
        // One postmap per map, which writes only its .db, triggered by its map or a missing .db.
        let Change::Run {
            cmd, touches, when, ..
        } = &changes[6]
        else {
            panic!()
        };
        assert_eq!(
            (cmd.program.as_str(), cmd.args.last().map(String::as_str)),
            ("sh", Some("/etc/postfix/virtual_domains"))
        );
        assert_eq!(cmd.args[1], POSTMAP_REPLACE);
        // Restoring the .db undoes it: a rollback does not list it to check by hand.
        assert!(cmd.files_only);
        assert_eq!(touches, &[PathBuf::from("/etc/postfix/virtual_domains.db")]);
        assert_eq!(
            when,
            &When::Changed {
                changed: vec![PathBuf::from("/etc/postfix/virtual_domains")],
                missing: vec![PathBuf::from("/etc/postfix/virtual_domains.db")],
            }
        );
        assert!(matches!(
            &changes[0],
            Change::WriteFile { secret: true, .. }
        ));
    }

    #[test]
    fn map_contents() {
        let m = maps(&answers()).unwrap();
        let body = |i: usize| m[i].1.strip_prefix(HEADER).unwrap().to_string();
        assert_eq!(body(0), "example.test OK\nother.test OK\n");
        assert_eq!(
            body(1),
            "alice@example.test example.test/alice/\nbob@example.test example.test/bob/\ncarol@other.test other.test/carol/\n"
        );
        // Explicit alias, then the defaults for the domain that wants them (to the first mailbox).
        assert_eq!(
            body(2),
            "info@example.test alice@example.test, bob@example.test\npostmaster@example.test alice@example.test\nabuse@example.test alice@example.test\n"
        );
        assert_eq!(
            body(3),
            "alice@example.test alice@example.test\nbob@example.test bob@example.test\ninfo@example.test alice@example.test, bob@example.test\npostmaster@example.test alice@example.test\nabuse@example.test alice@example.test\ncarol@other.test carol@other.test\n"
        );
    }

    #[test]
    fn sender_map_names_the_mailboxes_an_alias_finally_reaches() {
        let mut a = answers();
        let alias = |from: &str, to: &str| mailstead_answers::Alias {
            from: from.into(),
            to: to.into(),
        };
        a.domains[0].aliases = vec![
            alias("sales@example.test", "info@example.test"),
            alias("info@example.test", "alice@example.test"),
            alias("lists@example.test", "bob+lists@example.test"),
            alias("fwd@example.test", "someone@example.org"),
        ];
        // A graph `validate` accepts (the fixture's short hash aside).
        mailstead_answers::resolve(&a).unwrap();
        let m = maps(&a).unwrap();
        let body = |i: usize| m[i].1.strip_prefix(HEADER).unwrap().to_string();
        // The alias map stays one hop per line, as written: Postfix expands it recursively.
        assert_eq!(
            body(2),
            "sales@example.test info@example.test\ninfo@example.test alice@example.test\nlists@example.test bob+lists@example.test\nfwd@example.test someone@example.org\npostmaster@example.test alice@example.test\nabuse@example.test alice@example.test\n"
        );
        // Senders: the logins at the end of the chain, tags stripped; an alias reaching only
        // outside addresses has no login that may send as it.
        assert_eq!(
            body(3),
            "alice@example.test alice@example.test\nbob@example.test bob@example.test\nsales@example.test alice@example.test\ninfo@example.test alice@example.test\nlists@example.test bob@example.test\npostmaster@example.test alice@example.test\nabuse@example.test alice@example.test\ncarol@other.test carol@other.test\n"
        );
    }

    #[test]
    fn second_run_changes_nothing_and_keeps_hashes() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let a = answers();
        let first = effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap());
        apply(&h, &first);
        // The fake's postmap does not write; the .db files exist on a real host.
        for (p, _) in all_maps(&a).unwrap() {
            h.add_file(&format!("{p}.db"), "db", Meta::root(0o644));
        }
        let before = h.read_string(Path::new(USERS_FILE)).unwrap().unwrap();
        let again = effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap());
        assert!(again.is_empty(), "{:?}", again);
        assert_eq!(
            h.read_string(Path::new(USERS_FILE)).unwrap().unwrap(),
            before
        );
        Mailboxes.verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn users_file_hashes_verify_and_reuse() {
        let a = answers();
        let text = users_file(&a, "").unwrap();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(lines.len(), 3);
        let alice = lines[0].strip_prefix("alice@example.test:").unwrap();
        // All seven passwd-file fields: the userdb lookup needs them.
        let alice = alice
            .strip_suffix("::::::")
            .expect("seven fields, no extra");
        assert!(alice.starts_with("{SHA512-CRYPT}$6$"), "{alice}");
        assert!(verifies(PW, alice));
        assert!(!verifies("wrong password!", alice));
        // The given hash is used as is, with its scheme made explicit.
        assert_eq!(
            lines[1],
            "bob@example.test:{SHA512-CRYPT}$6$abcdefgh$xyz::::::"
        );
        // Same answers again: byte-identical.
        assert_eq!(users_file(&a, &text).unwrap(), text);
        // A changed password gets a new hash; the others stay.
        let mut b = a.clone();
        b.domains[0].mailboxes[0].password = Some(Secret::new("a brand new passphrase"));
        let changed = users_file(&b, &text).unwrap();
        assert_ne!(changed.lines().nth(1), text.lines().nth(1));
        assert_eq!(changed.lines().nth(3), text.lines().nth(3));
        // A mailbox's own quota: both Dovecot generations' userdb fields, bytes.
        let mut q = a.clone();
        q.domains[0].mailboxes[1].quota = Some(2 << 20);
        let with_quota = users_file(&q, &text).unwrap();
        assert_eq!(
            with_quota.lines().nth(2).unwrap(),
            "bob@example.test:{SHA512-CRYPT}$6$abcdefgh$xyz::::::userdb_quota_rule=*:storage=2097152B userdb_quota_storage_size=2097152"
        );
        assert_eq!(with_quota.lines().nth(1), text.lines().nth(1), "hash kept");
        q.domains[0].mailboxes[1].quota = Some(0);
        assert!(users_file(&q, &text)
            .unwrap()
            .contains("::::::userdb_quota_rule=*:storage=0 userdb_quota_storage_size=0\n"));
        // Salts differ between two fresh hashes.
        assert_ne!(hash_password(PW).unwrap(), hash_password(PW).unwrap());
    }

    #[test]
    fn generators_refuse_values_that_would_change_their_file() {
        // Validation refuses all of these; the generators refuse them again instead of writing.
        let evil = "\nmallory@example.test:{PLAIN}known";
        let mut a = answers();
        a.domains[0].mailboxes[1].password_hash = Some(format!("$6$rounds=5000{evil}$s$h"));
        let e = users_file(&a, "").unwrap_err().to_string();
        assert!(
            e.contains("bob@example.test") && !e.contains("mallory"),
            "{e}"
        );
        for bad in [
            "x:y@example.test",
            "x\ny@example.test",
            "x y@example.test",
            "#x@example.test",
        ] {
            let mut a = answers();
            a.domains[0].mailboxes[1].address = bad.into();
            assert!(users_file(&a, "").is_err(), "{bad:?} written to users");
            // `:` means nothing in a Postfix map; the rest ends a key or starts a line.
            assert_eq!(maps(&a).is_err(), !bad.contains(':'), "{bad:?} in maps");
        }
        for (from, to) in [
            ("info@example.test", "alice@example.test bob@example.test"),
            ("info@example.test", "alice@example.test\nevil@x.test OK"),
            ("info@example.test\nevil@x.test", "alice@example.test"),
            ("info example.test", "alice@example.test"),
            ("info@example.test", ","),
        ] {
            let mut a = answers();
            a.domains[0].aliases[0] = Alias {
                from: from.into(),
                to: to.into(),
            };
            assert!(maps(&a).is_err(), "{from:?} -> {to:?} written");
        }
        let mut a = answers();
        a.domains[0].name = "example.test OK\nevil.test".into();
        assert!(maps(&a).is_err());
    }

    #[test]
    fn verifies_hashes_made_by_glibc_and_doveadm() {
        // `doveadm pw -s SHA512-CRYPT` style, default rounds (no rounds= field).
        let glibc = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        assert!(verifies("Hello world!", glibc));
        assert!(verifies("Hello world!", &format!("{SCHEME}{glibc}")));
        assert!(!verifies("Hello world!", "{PLAIN}Hello world!"));
        assert!(!verifies("Hello world!", "{SHA512-CRYPT}garbage"));
    }

    #[test]
    fn removed_mailbox_is_dropped_from_files_and_remapped() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let a = answers();
        apply(&h, &effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap()));
        for (p, _) in all_maps(&a).unwrap() {
            h.add_file(&format!("{p}.db"), "db", Meta::root(0o644));
        }
        let mut b = a.clone();
        b.domains.truncate(1);
        let changes = effective(&h, Mailboxes.plan(&ctx(&h, &b)).unwrap());
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(
            s,
            vec![
                "write /etc/dovecot/users (0640 root:dovecot)",
                "write /etc/postfix/virtual_domains (0644 root:root)",
                "write /etc/postfix/virtual_mailboxes (0644 root:root)",
                "write /etc/postfix/virtual_senders (0644 root:root)",
                "write /etc/postfix/sender_access (0644 root:root)",
                "postmap /etc/postfix/virtual_domains",
                "postmap /etc/postfix/virtual_mailboxes",
                "postmap /etc/postfix/virtual_senders",
                "postmap /etc/postfix/sender_access",
                "reload postfix",
            ]
        );
        apply(&h, &changes);
        let users = h.read_string(Path::new(USERS_FILE)).unwrap().unwrap();
        assert!(!users.contains("carol@"));
        assert!(users.contains("alice@"));
    }

    /// A new mailbox or alias: the daemons read the maps by themselves (no reload); a new
    /// domain: trivial-rewrite classifies it only once reloaded (virtual(5)).
    #[test]
    fn only_a_change_of_the_domain_list_reloads_postfix() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let a = answers();
        apply(&h, &effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap()));
        let summaries = |b: &Answers| -> Vec<String> {
            effective(&h, Mailboxes.plan(&ctx(&h, b)).unwrap())
                .iter()
                .map(Change::summary)
                .collect()
        };
        let mut mailbox = a.clone();
        let mut m = mailbox.domains[0].mailboxes[0].clone();
        m.address = format!("dave@{}", mailbox.domains[0].name);
        mailbox.domains[0].mailboxes.push(m);
        let s = summaries(&mailbox);
        assert!(s.iter().any(|c| c.starts_with("postmap")), "{s:?}");
        assert!(!s.iter().any(|c| c == "reload postfix"), "{s:?}");
        let mut domain = a.clone();
        let mut d = domain.domains[0].clone();
        d.name = "new.example".into();
        d.mailboxes.clear();
        d.aliases.clear();
        domain.domains.push(d);
        let s = summaries(&domain);
        assert!(s.iter().any(|c| c == "reload postfix"), "{s:?}");
    }

    /// A new mailbox on a running Dovecot: Postfix learns it (postmap) only after Dovecot
    /// answers for it; on a server where Dovecot does not run yet (the first install), and
    /// for a run that adds no mailbox, no wait.
    #[test]
    fn a_new_mailbox_is_known_to_dovecot_before_postfix_accepts_mail_for_it() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let active = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let on = active.clone();
        h.on_command(move |c| {
            (c.program == "service" && on.load(std::sync::atomic::Ordering::SeqCst))
                .then(Output::default)
        });
        let a = answers();
        let summaries = |b: &Answers| -> Vec<String> {
            effective(&h, Mailboxes.plan(&ctx(&h, b)).unwrap())
                .iter()
                .map(Change::summary)
                .collect()
        };
        let s = summaries(&a);
        assert!(!s.iter().any(|c| c.starts_with("wait until")), "{s:?}");
        apply(&h, &effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap()));
        active.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut more = a.clone();
        let mut m = more.domains[0].mailboxes[0].clone();
        m.address = format!("dave@{}", more.domains[0].name);
        more.domains[0].mailboxes.push(m);
        let s = summaries(&more);
        let wait = s
            .iter()
            .position(|c| c == "wait until Dovecot knows dave@example.test")
            .unwrap_or_else(|| panic!("{s:?}"));
        let users = s.iter().position(|c| c.contains(USERS_FILE)).unwrap();
        let postmap = s.iter().position(|c| c.starts_with("postmap")).unwrap();
        assert!(users < wait && wait < postmap, "{s:?}");
        // Nothing new (a password changed, a mailbox removed): nothing to wait for.
        let mut fewer = a.clone();
        fewer.domains[0].mailboxes.pop();
        let s = summaries(&fewer);
        assert!(!s.iter().any(|c| c.starts_with("wait until")), "{s:?}");
    }

    #[test]
    fn missing_db_alone_triggers_postmap() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let a = answers();
        apply(&h, &effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap()));
        for (p, _) in all_maps(&a).unwrap().into_iter().skip(1) {
            h.add_file(&format!("{p}.db"), "db", Meta::root(0o644));
        }
        let changes = effective(&h, Mailboxes.plan(&ctx(&h, &a)).unwrap());
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        // The domain list itself unchanged: no reload.
        assert_eq!(s, vec!["postmap /etc/postfix/virtual_domains"]);
    }

    #[test]
    fn no_password_in_summaries_renders_or_commands() {
        let h = MemHost::fake();
        group_file(&h);
        fake_postmap(&h);
        let a = answers();
        let changes = Mailboxes.plan(&ctx(&h, &a)).unwrap().changes;
        for c in &changes {
            let text = format!("{}\n{}\n{c:?}", c.summary(), c.render(&h));
            assert!(!text.contains(PW), "{text}");
            assert!(!text.contains("$6$"), "hash shown: {text}");
        }
        apply(&h, &changes);
        for c in h.commands() {
            assert!(!c.contains(PW));
        }
    }

    #[test]
    fn missing_dovecot_group_plans_by_name_and_fails_to_apply() {
        let h = MemHost::fake();
        h.add_file("/etc/group", "root:x:0:\n", Meta::root(0o644));
        h.add_file(
            "/etc/passwd",
            "root:x:0:0::/root:/bin/sh\n",
            Meta::root(0o644),
        );
        fake_postmap(&h);
        let a = answers();
        // Before dovecot-core is installed the plan still shows the owner it will get.
        let planned = Mailboxes.plan(&ctx(&h, &a)).unwrap();
        assert_eq!(
            planned.changes[0].summary(),
            "write /etc/dovecot/users (0640 root:dovecot)"
        );
        let changes = effective(&h, planned);
        let e = format!("{:#}", try_apply(&h, &changes).unwrap_err());
        assert!(e.contains("group `dovecot`"), "{e}");
    }

    /// Port 25's access map refuses our own domains as senders (our users send on 587/465).
    #[test]
    fn sender_access_refuses_our_domains_on_25() {
        let (path, text) = sender_access(&answers()).unwrap();
        assert_eq!(path, "/etc/postfix/sender_access");
        let body = text.strip_prefix(HEADER).unwrap();
        assert_eq!(
            body,
            "example.test REJECT mail from example.test is sent with a login on port 587 or 465\n\
             other.test REJECT mail from other.test is sent with a login on port 587 or 465\n"
        );
    }
}
