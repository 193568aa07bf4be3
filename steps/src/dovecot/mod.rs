//! Step `dovecot`: IMAP (and POP3 when asked) over TLS, LMTP delivery and SMTP AUTH for
//! Postfix, for the virtual users of the `mailboxes` step.
//!
//! Touches:
//! - `/etc/dovecot/local.conf` (0644 root): mailstead's own file, read last through the
//!   package's `!include_try local.conf`; no package file is edited. Assembled from the
//!   templates in `assets/dovecot/` and what the other capabilities contribute
//!   ([`crate::capability::Capability::dovecot`]: plugins for `protocol imap`/`lmtp` at
//!   `@@IMAP_PLUGINS@@`/`@@LMTP_PLUGINS@@`, configuration at `@@CONTRIBUTED@@`). Written in the syntax of
//!   the installed Dovecot: 2.3 (Debian 12) or 2.4 (Debian 13), from `dovecot --version`, or
//!   from `/etc/os-release` when Dovecot is not installed yet (planning a fresh server).
//! - the system user and group `vmail` (`/etc/passwd`, `/etc/group`, `/etc/shadow`,
//!   `/etc/gshadow` and their `-` backups), only when missing, with an id chosen up front
//!   (uid = gid, free in 999..100) so the configuration can name it in the same run. A
//!   rollback gives the files they still own to root before removing them ([`vmail`]).
//! - `/var/mail/vhosts` (0770 vmail:vmail): the mail. Never emptied by mailstead.
//! - `/var/spool/postfix/private` (0700 postfix:root, as Postfix makes it) when missing, so
//!   Dovecot can put its LMTP and auth sockets there.
//! - queues a Dovecot reload; `doveconf -n` must accept the configuration first (verify), so
//!   a configuration Dovecot refuses is rolled back before any reload.
pub mod paths;
pub mod vmail;
use crate::capability::{self, DovecotPiece, Registry};
use crate::facts::dovecot::passdb_drivers;
use crate::facts::{Accounts, Certificates, DovecotVersion, Ipv6, OsRelease};
use crate::layout::{cert_paths, USERS_FILE, VHOSTS};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::system::failure;
use mailstead_engine::{Change, Ctx, Perms, Planned, Step};
use paths::POSTFIX_PRIVATE;

pub const LOCAL_CONF: &str = crate::dovecot::paths::DOVECOT_LOCAL;
const TEMPLATE_23: &str = include_str!("../../../assets/dovecot/local-2.3.conf");
const TEMPLATE_24: &str = include_str!("../../../assets/dovecot/local-2.4.conf");
const POP3: &str = include_str!("../../../assets/dovecot/pop3.conf");
/// The backups groupadd/useradd (and userdel/groupdel) rewrite. The databases themselves are
/// not snapshotted: a rollback removes the user and group with userdel/groupdel (their
/// inverses, [`vmail`]) and so keeps every account added since; restoring these backups
/// afterwards leaves /etc as it was.
const DB_FILES: [&str; 4] = [
    "/etc/passwd-",
    "/etc/group-",
    "/etc/shadow-",
    "/etc/gshadow-",
];

/// `c` (a [`Change::Run`]) with a line for the plan saying what its rollback does.
fn on_rollback(mut c: Change, note: &str) -> Change {
    if let Change::Run { detail, .. } = &mut c {
        detail.push(note.to_string());
    }
    c
}

/// Which configuration language to write.
pub use crate::capability::DovecotSyntax as Version;

/// `dovecot --version` of the installed Dovecot, else the Debian release it will come from.
pub fn detect(installed: &DovecotVersion, os: &OsRelease) -> Result<Version> {
    if let Some(v) = &installed.0 {
        return from_version(v).ok_or_else(|| eyre!("unsupported Dovecot version {v:?}"));
    }
    match os.debian_release() {
        Some(12) => Ok(Version::V23),
        Some(13) => Ok(Version::V24),
        _ => Err(eyre!(
            "Dovecot is not installed and this is not Debian 12 or 13 (VERSION_ID {:?}): \
             cannot tell which Dovecot configuration syntax to write",
            os.version_id
        )),
    }
}

/// "2.3.19.1 (9b53102964)" → V23; "2.4.1-4 (7d8c0e5759)" → V24.
pub fn from_version(v: &str) -> Option<Version> {
    let mut parts = v.split(['.', '-', ' ']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    match (major, minor) {
        (2, 3) => Some(Version::V23),
        (2, m) if m >= 4 => Some(Version::V24),
        _ => None,
    }
}

/// The whole of `/etc/dovecot/local.conf`.
/// `ipv6`: the host has IPv6 ([`crate::facts::Ipv6`]): `listen = *, ::`, else `*`.
/// `piece`: what the other capabilities contribute ([`capability::dovecot`]).
pub fn render(
    a: &Answers,
    version: Version,
    vmail_uid: u32,
    ipv6: bool,
    piece: &DovecotPiece,
) -> String {
    render_serving(a, version, vmail_uid, ipv6, &cert_paths(&a.hostname), piece)
}

/// [`render`], serving the chain and key `cert` (certbot's, or the interim self-signed pair:
/// [`crate::facts::Certificates::serving`]).
pub fn render_serving(
    a: &Answers,
    version: Version,
    vmail_uid: u32,
    ipv6: bool,
    cert: &(std::path::PathBuf, std::path::PathBuf),
    piece: &DovecotPiece,
) -> String {
    let (fullchain, privkey) = cert;
    // A plugin in a protocol's `mail_plugins`: 2.3 a word of the list, 2.4 a line of its block.
    let plugins = |names: &[&str]| -> String {
        names
            .iter()
            .map(|p| match version {
                Version::V23 => format!(" {p}"),
                Version::V24 => format!("    {p} = yes\n"),
            })
            .collect()
    };
    let protocols = if a.pop3 {
        "imap lmtp pop3"
    } else {
        "imap lmtp"
    };
    let template = match version {
        Version::V23 => TEMPLATE_23,
        Version::V24 => TEMPLATE_24,
    };
    let mut out = template
        .replace("@@PROTOCOLS@@", protocols)
        .replace("@@LISTEN@@", if ipv6 { "*, ::" } else { "*" })
        .replace("@@FULLCHAIN@@", &fullchain.to_string_lossy())
        .replace("@@PRIVKEY@@", &privkey.to_string_lossy())
        .replace("@@USERS@@", USERS_FILE)
        .replace("@@VHOSTS@@", VHOSTS)
        .replace("@@UID@@", &vmail_uid.to_string())
        .replace("@@QUOTA_23@@", &crate::layout::quota_rule_23(a.quota))
        .replace("@@QUOTA_24@@", &a.quota.to_string())
        .replace("@@IMAP_PLUGINS@@", &plugins(&piece.imap_plugins))
        .replace("@@LMTP_PLUGINS@@", &plugins(&piece.lmtp_plugins))
        // Last: contributed text is not searched for placeholders.
        .replace("@@CONTRIBUTED@@", &piece.config);
    if a.pop3 {
        out.push_str(POP3);
    }
    out
}

/// The package's auth settings; its `!include auth-system.conf.ext` adds a PAM passdb (and a
/// passwd userdb), so every Unix account with a password could log in to IMAP and SMTP AUTH.
pub const AUTH_CONF: &str = "/etc/dovecot/conf.d/10-auth.conf";
const AUTH_SYSTEM_INCLUDE: &str = "!include auth-system.conf.ext";

/// Switches the package's system-account passdb off (the include is commented out, not
/// deleted, so the change is visible), when the file has it active or does not exist yet
/// (dovecot-core, installed by an earlier step, brings it).
fn auth_system_change(current: Option<&str>) -> Option<Change> {
    let active = match current {
        None => true,
        Some(text) => text.lines().any(|l| l.trim() == AUTH_SYSTEM_INCLUDE),
    };
    active.then(|| {
        let mut c = Change::run(
            "Dovecot: switch off the package's PAM/system-account passdb",
            Cmd::new(
                "sed",
                [
                    "-i",
                    "-e",
                    "s/^[[:space:]]*!include auth-system\\.conf\\.ext/#&  # off: mailstead serves virtual users only/",
                    AUTH_CONF,
                ],
            )
            .files_only(),
            &[AUTH_CONF],
        );
        if let Change::Run { detail, .. } = &mut c {
            detail.push(format!("{AUTH_CONF}: #{AUTH_SYSTEM_INCLUDE}"));
        }
        c
    })
}

/// The step. It assembles `local.conf` from its own template and what the registry's
/// capabilities contribute.
pub struct Dovecot {
    /// The registry ([`crate::CAPABILITIES`]).
    pub all: &'static Registry,
}

impl Step<Answers> for Dovecot {
    fn name(&self) -> &'static str {
        "dovecot"
    }

    fn about(&self) -> &'static str {
        "Dovecot: IMAPS, LMTP and SMTP AUTH for virtual mailboxes"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let version = detect(&*ctx.fact::<DovecotVersion>()?, &*ctx.fact::<OsRelease>()?)?;
        let accounts = ctx.fact::<Accounts>()?;
        let mut changes = Vec::new();

        // vmail: existing ids, or ids picked now and given to groupadd/useradd.
        let uid = match accounts.user("vmail") {
            Some((uid, _)) => uid,
            None => {
                let no_id = || eyre!("no free system id (100-999) for user vmail");
                let gid = match accounts.group("vmail") {
                    Some(g) => g,
                    None => {
                        let id = accounts.free_system_id().ok_or_else(no_id)?;
                        changes.push(on_rollback(
                            Change::run(
                                format!("create group vmail (gid {id})"),
                                Cmd::new(
                                    "groupadd",
                                    ["--system", "--gid", &id.to_string(), "vmail"],
                                )
                                .undo(vmail::groupdel(id)),
                                &DB_FILES,
                            ),
                            vmail::GROUPDEL_NOTE,
                        ));
                        id
                    }
                };
                let uid = if accounts.uid_taken(gid) {
                    accounts.free_system_id().ok_or_else(no_id)?
                } else {
                    gid
                };
                let useradd = Change::run(
                    format!("create system user vmail (uid {uid}) for the mail in {VHOSTS}"),
                    Cmd::new(
                        "useradd",
                        [
                            "--system",
                            "--uid",
                            &uid.to_string(),
                            "--gid",
                            &gid.to_string(),
                            "--home-dir",
                            VHOSTS,
                            "--no-create-home",
                            "--shell",
                            "/usr/sbin/nologin",
                            "--comment",
                            "mailstead virtual mail",
                            "vmail",
                        ],
                    )
                    // Its files go to root first: its uid must not pass to the next user.
                    .undo(vmail::userdel(uid, gid)),
                    &DB_FILES,
                );
                changes.push(on_rollback(useradd, vmail::USERDEL_NOTE));
                uid
            }
        };
        changes.push(Change::EnsureDir {
            path: VHOSTS.into(),
            meta: Perms::new(0o770, "vmail", "vmail"),
        });
        // Postfix's private spool directory, as Postfix itself makes it (0700 postfix:root).
        changes.push(Change::EnsureDir {
            path: POSTFIX_PRIVATE.into(),
            meta: Perms::new(0o700, "postfix", "root"),
        });

        let current_auth = ctx.host.read_string(std::path::Path::new(AUTH_CONF))?;
        changes.extend(auth_system_change(current_auth.as_deref()));
        let ipv6 = ctx.fact::<Ipv6>()?.available;
        changes.push(Change::write(
            LOCAL_CONF,
            render_serving(
                ctx.answers,
                version,
                uid,
                ipv6,
                &ctx.fact::<Certificates>()?
                    .serving(ctx.host, &ctx.answers.hostname),
                &capability::dovecot(self.all, ctx.answers, version),
            ),
            Perms::root(0o644),
        ));
        changes.push(Change::reload("dovecot"));
        Ok(changes.into())
    }

    /// The certificate is in place and `doveconf -n` accepts the whole configuration, before
    /// Dovecot is reloaded. (Dovecot 2.3's `doveconf -n` does not open `ssl_cert = <file`.)
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        ctx.fact::<Certificates>()?
            .require(ctx.host, &ctx.answers.hostname)?;
        let cmd = Cmd::probe("doveconf", ["-n"]);
        let out = ctx.host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(
                "Dovecot refuses the configuration: {}",
                failure(&cmd, &out)
            ));
        }
        let passdbs = passdb_drivers(&out.stdout);
        if passdbs.iter().any(|d| d != "passwd-file") {
            return Err(eyre!(
                "Dovecot still authenticates through {} besides mailstead's users file: system \
                 accounts could log in to IMAP and SMTP AUTH; look at `doveconf -n` and \
                 {AUTH_CONF}",
                passdbs.join(", ")
            ));
        }
        Ok(())
    }
}

/// The `dovecot` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "dovecot"
    }
    fn steps(&self, all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Dovecot { all })]
    }
    fn packages(&self, answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        let mut p = vec!["dovecot-core", "dovecot-imapd", "dovecot-lmtpd"];
        if answers.pop3 {
            p.push("dovecot-pop3d");
        }
        p
    }
}

#[cfg(test)]
mod tests {
    fn dovecot() -> Dovecot {
        Dovecot {
            all: crate::CAPABILITIES,
        }
    }
    fn piece(a: &Answers, v: Version) -> DovecotPiece {
        capability::dovecot(crate::CAPABILITIES, a, v)
    }
    use super::*;
    use crate::testing::{
        add_cert, apply, ctx, effective, group_file, mail_answers as answers, try_apply,
    };
    use mailstead_engine::{Host, MemHost, Meta, Output};
    use std::path::Path;

    fn detect_on(h: &MemHost) -> Result<Version> {
        let a = answers();
        let c = ctx(h, &a);
        detect(&*c.fact::<DovecotVersion>()?, &*c.fact::<OsRelease>()?)
    }

    fn dovecot_version(h: &MemHost, v: &'static str) {
        h.on_command(move |c| {
            (c.program == "dovecot").then(|| Output {
                status: 0,
                stdout: format!("{v}\n"),
                stderr: String::new(),
            })
        });
    }

    #[test]
    fn versions() {
        assert_eq!(from_version("2.3.19.1 (9b53102964)"), Some(Version::V23));
        assert_eq!(from_version("2.4.1-4 (7d8c0e5759)"), Some(Version::V24));
        assert_eq!(from_version("2.4.2 (abc)"), Some(Version::V24));
        assert_eq!(from_version("2.2.36"), None);
        assert_eq!(from_version("garbage"), None);
    }

    #[test]
    fn version_falls_back_to_os_release_when_not_installed() {
        let h = MemHost::fake();
        h.on_command(|c| {
            (c.program == "dovecot").then(|| Output {
                status: 127,
                ..Output::default()
            })
        });
        h.add_file(
            "/etc/os-release",
            "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\nVERSION_ID=\"13\"\n",
            Meta::root(0o644),
        );
        assert_eq!(detect_on(&h).unwrap(), Version::V24);
        h.add_file(
            "/etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\n",
            Meta::root(0o644),
        );
        assert_eq!(detect_on(&h).unwrap(), Version::V23);
        h.add_file(
            "/etc/os-release",
            "ID=ubuntu\nVERSION_ID=\"24.04\"\n",
            Meta::root(0o644),
        );
        assert!(detect_on(&h).is_err());
        // No handler at all (the fake's "command not found"): same fallback.
        let h = MemHost::fake();
        h.add_file(
            "/etc/os-release",
            "ID=debian\nVERSION_ID=12\n",
            Meta::root(0o644),
        );
        assert_eq!(detect_on(&h).unwrap(), Version::V23);
    }

    #[test]
    fn renders_each_syntax() {
        let a = answers();
        let v23 = render(&a, Version::V23, 990, true, &piece(&a, Version::V23));
        assert!(v23.contains("ssl_cert = </etc/letsencrypt/live/mail.example.test/fullchain.pem\n"));
        assert!(v23.contains("ssl_key = </etc/letsencrypt/live/mail.example.test/privkey.pem\n"));
        assert!(v23.contains("mail_location = maildir:~/Maildir\n"));
        assert!(v23.contains("args = /etc/dovecot/users\n"));
        assert!(v23.contains("home=/var/mail/vhosts/%d/%n"));
        assert!(v23.contains("disable_plaintext_auth = yes"));
        assert!(v23.contains("first_valid_uid = 990\n"));
        assert!(!v23.contains("ssl_server_cert_file"));
        assert!(!v23.contains("@@"));

        let v24 = render(&a, Version::V24, 990, true, &piece(&a, Version::V24));
        assert!(v24.contains(
            "ssl_server_cert_file = /etc/letsencrypt/live/mail.example.test/fullchain.pem\n"
        ));
        assert!(v24.contains("passdb passwd-file {\n  passwd_file_path = /etc/dovecot/users\n"));
        assert!(v24.contains("home = /var/mail/vhosts/%{user | domain}/%{user | username}"));
        // The two traps of Debian 13's package configuration.
        assert!(v24.contains("auth_username_format = %{user | lower}\n"));
        assert!(v24.contains("mail_inbox_path = ~/Maildir\n"));
        assert!(!v24.contains("ssl_cert = <"));
        assert!(!v24.contains("mail_location"));
        assert!(!v24.contains("@@"));

        for conf in [&v23, &v24] {
            assert!(conf.contains("ssl = required\n"));
            assert!(conf.contains("protocols = imap lmtp\n"));
            assert!(conf.contains("unix_listener /var/spool/postfix/private/dovecot-lmtp {\n    mode = 0600\n    user = postfix\n    group = postfix"));
            assert!(conf.contains("unix_listener /var/spool/postfix/private/auth {\n    mode = 0660\n    user = postfix\n    group = postfix"));
            assert!(!conf.contains("pop3"));
        }
        // Quota: the plugin, the default limit in each syntax, the quota-status socket.
        assert!(v23.contains("mail_plugins = $mail_plugins quota\n"));
        assert!(v23.contains("quota = count:User quota\n"));
        assert!(v23.contains("quota_rule = *:storage=1073741824B\n"));
        assert!(v24.contains("mail_plugins {\n  quota = yes\n}"));
        assert!(v24.contains("quota_storage_size = 1073741824\n"));
        assert!(v24.contains("userdb passwd-file {\n  passwd_file_path = /etc/dovecot/users\n"));
        assert!(v23.contains("driver = passwd-file\n  args = /etc/dovecot/users\n  default_fields = uid=vmail gid=vmail home=/var/mail/vhosts/%d/%n"));
        for conf in [&v23, &v24] {
            assert!(conf.contains("quota_status_overquota = \"552 5.2.2 Mailbox is full\"\n"));
            assert!(conf.contains("executable = quota-status -p postfix\n  unix_listener /var/spool/postfix/private/quota-status {"));
        }
        // Spam: the Junk folder, Sieve at delivery, IMAPSieve training, in each syntax.
        for conf in [&v23, &v24] {
            assert!(conf.contains(
                "namespace inbox {\n  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n"
            ));
        }
        assert!(v23.contains("mail_plugins = $mail_plugins imap_quota imap_sieve\n"));
        assert!(v23.contains("protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}"));
        assert!(v23.contains(
            "sieve_before = file:/etc/dovecot/sieve/spam-to-junk.sieve;bindir=/var/lib/dovecot/sieve\n"
        ));
        assert!(v23.contains("imapsieve_mailbox1_name = Junk\n  imapsieve_mailbox1_causes = COPY APPEND\n  imapsieve_mailbox1_before = file:/etc/dovecot/sieve/learn-spam.sieve;"));
        assert!(v23.contains("imapsieve_mailbox2_from = Junk\n"));
        assert!(v23.contains("sieve_pipe_bin_dir = /etc/dovecot/sieve-pipe\n"));
        assert!(!v23.contains("sieve_script "));
        assert!(v24.contains("imap_quota = yes\n    imap_sieve = yes\n"));
        assert!(
            v24.contains("protocol lmtp {\n  mail_plugins {\n    quota = yes\n    sieve = yes\n")
        );
        assert!(v24.contains("sieve_script spam_to_junk {\n  type = before\n  path = /etc/dovecot/sieve/spam-to-junk.sieve\n  bin_path = /var/lib/dovecot/sieve\n}"));
        assert!(v24.contains("mailbox Junk {\n  sieve_script learn_spam {\n    type = before\n    cause = copy append\n"));
        assert!(v24.contains("imapsieve_from Junk {\n  sieve_script learn_ham {"));
        assert!(v24.contains("vnd.dovecot.pipe = yes"));
        assert!(!v24.contains("imapsieve_mailbox") && !v24.contains("sieve_before"));

        let mut unlimited = a.clone();
        unlimited.quota = 0;
        assert!(render(
            &unlimited,
            Version::V23,
            990,
            true,
            &piece(&unlimited, Version::V23)
        )
        .contains("quota_rule = *:storage=0\n"));
        assert!(render(
            &unlimited,
            Version::V24,
            990,
            true,
            &piece(&unlimited, Version::V24)
        )
        .contains("quota_storage_size = 0\n"));

        let mut p = a.clone();
        p.pop3 = true;
        let with_pop = render(&p, Version::V24, 990, true, &piece(&p, Version::V24));
        assert!(with_pop.contains("protocols = imap lmtp pop3\n"));
        assert!(with_pop.contains("service pop3-login"));
    }

    #[test]
    fn fresh_host_creates_vmail_then_dir_then_config() {
        let h = MemHost::fake();
        group_file(&h); // has a group vmail (990) but no user vmail
        dovecot_version(&h, "2.4.1-4 (7d8c0e5759)");
        let a = answers();
        let changes = dovecot().plan(&ctx(&h, &a)).unwrap().changes;
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(
            s,
            vec![
                "create system user vmail (uid 990) for the mail in /var/mail/vhosts",
                "directory /var/mail/vhosts (0770 vmail:vmail)",
                "directory /var/spool/postfix/private (0700 postfix:root)",
                "Dovecot: switch off the package's PAM/system-account passdb",
                "write /etc/dovecot/local.conf (0644 root:root)",
                "reload dovecot",
            ]
        );
        let Change::Run { cmd, touches, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(
            cmd.to_string(),
            "useradd --system --uid 990 --gid 990 --home-dir /var/mail/vhosts --no-create-home --shell /usr/sbin/nologin --comment 'mailstead virtual mail' vmail"
        );
        // Only the backups are snapshotted; the user goes again with its inverse.
        assert_eq!(touches.len(), 4);
        assert!(touches.iter().all(|t| t.to_string_lossy().ends_with('-')));
        // Its files go to root before it goes; the plan says so.
        assert_eq!(
            cmd.undo.as_ref().unwrap().to_string(),
            vmail::userdel(990, 990).to_string()
        );
        let Change::Run { detail, .. } = &changes[0] else {
            panic!()
        };
        assert_eq!(detail, &[vmail::USERDEL_NOTE]);
        assert!(changes[0]
            .render(&h)
            .contains("\n    a rollback gives vmail's files (the mail) to root"));
    }

    #[test]
    fn without_group_both_are_created_with_one_free_id() {
        let h = MemHost::fake();
        h.add_file(
            "/etc/passwd",
            "root:x:0:0::/root:/bin/sh\nsys1:x:999:999::/:/bin/false\npostfix:x:105:111::/:/bin/false\n",
            Meta::root(0o644),
        );
        h.add_file("/etc/group", "root:x:0:\nfoo:x:998:\n", Meta::root(0o644));
        dovecot_version(&h, "2.3.19.1 (9b53102964)");
        let a = answers();
        let changes = dovecot().plan(&ctx(&h, &a)).unwrap().changes;
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(s[0], "create group vmail (gid 997)");
        // Taken back by id: the group's files go to root once no group has 997.
        let undo = |c: &Change| match c {
            Change::Run { cmd, .. } => cmd.undo.as_ref().unwrap().to_string(),
            _ => panic!(),
        };
        assert_eq!(undo(&changes[0]), vmail::groupdel(997).to_string());
        assert_eq!(undo(&changes[1]), vmail::userdel(997, 997).to_string());
        assert_eq!(
            s[1],
            "create system user vmail (uid 997) for the mail in /var/mail/vhosts"
        );
        assert_eq!(s[2], "directory /var/mail/vhosts (0770 vmail:vmail)");
        let Some(Change::WriteFile { content, .. }) = changes
            .iter()
            .find(|c| matches!(c, Change::WriteFile { path, .. } if path.ends_with("local.conf")))
        else {
            panic!("no local.conf: {s:?}")
        };
        let conf = String::from_utf8_lossy(content);
        assert!(conf.contains("first_valid_uid = 997\n"));
        assert!(conf.contains("ssl_cert = <"));
    }

    #[test]
    fn second_run_changes_nothing() {
        let h = MemHost::fake();
        group_file(&h);
        // What the first run's sed left: the system passdb switched off.
        h.add_file(
            AUTH_CONF,
            "#!include auth-system.conf.ext  # off: mailstead serves virtual users only\n",
            Meta::root(0o644),
        );
        dovecot_version(&h, "2.4.1-4 (7d8c0e5759)");
        h.on_command(|c| (c.program == "useradd" || c.program == "doveconf").then(Output::default));
        let a = answers();
        let first = effective(&h, dovecot().plan(&ctx(&h, &a)).unwrap());
        // What useradd would have done (before the vmail directory is given to vmail).
        let passwd = h.read_string(Path::new("/etc/passwd")).unwrap().unwrap();
        h.add_file(
            "/etc/passwd",
            &format!("{passwd}vmail:x:990:990::/var/mail/vhosts:/usr/sbin/nologin\n"),
            Meta::root(0o644),
        );
        apply(&h, &first);
        let again = effective(&h, dovecot().plan(&ctx(&h, &a)).unwrap());
        assert!(again.is_empty(), "{again:?}");
        // No certificate yet: refused before doveconf is even asked.
        let err = dovecot().verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err}").contains("fullchain.pem does not exist"));
        add_cert(&h);
        dovecot().verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn planning_a_fresh_server_without_packages_works() {
        let h = MemHost::fake();
        h.add_file(
            "/etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\n",
            Meta::root(0o644),
        );
        h.add_file(
            "/etc/passwd",
            "root:x:0:0::/root:/bin/sh\n",
            Meta::root(0o644),
        );
        h.add_file("/etc/group", "root:x:0:\n", Meta::root(0o644));
        let a = answers();
        let changes = dovecot().plan(&ctx(&h, &a)).unwrap().changes;
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(s[0], "create group vmail (gid 999)");
        assert!(s
            .iter()
            .any(|x| x == "write /etc/dovecot/local.conf (0644 root:root)"));
        // The spool directory is planned by name, before Postfix (and its user) is installed.
        let spool = changes
            .iter()
            .find(|c| c.summary() == "directory /var/spool/postfix/private (0700 postfix:root)")
            .expect("spool directory planned")
            .clone();
        // Applying it without postfix installed is an error naming the user, not a guess.
        let e = format!("{:#}", try_apply(&h, &[spool]).unwrap_err());
        assert!(e.contains("user `postfix`"), "{e}");
    }

    #[test]
    fn verify_fails_when_doveconf_refuses() {
        let h = MemHost::fake();
        h.on_command(|c| {
            (c.program == "doveconf").then(|| Output {
                status: 89,
                stdout: String::new(),
                stderr: "doveconf: Fatal: Error in configuration file /etc/dovecot/local.conf line 9: Unknown setting: ssl_cert".into(),
            })
        });
        add_cert(&h);
        let a = answers();
        let err = dovecot().verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err:#}").contains("Unknown setting"));
    }

    /// The package's PAM passdb (every Unix account could log in) is switched off when its
    /// include is active, left alone once it is off, and verify refuses any passdb but
    /// mailstead's users file.
    #[test]
    fn system_account_passdb_is_switched_off() {
        let debian =
            "auth_mechanisms = plain\n!include auth-system.conf.ext\n#!include auth-sql.conf.ext\n";
        let c = auth_system_change(Some(debian)).expect("active include is switched off");
        let Change::Run { cmd, touches, .. } = &c else {
            panic!()
        };
        assert_eq!(cmd.program, "sed");
        assert_eq!(touches, &vec![std::path::PathBuf::from(AUTH_CONF)]);
        assert!(auth_system_change(None).is_some(), "fresh server: planned");
        assert!(auth_system_change(Some("#!include auth-system.conf.ext\n")).is_none());
        // The sed expression really comments the line out (run it on a copy).
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("10-auth.conf");
        std::fs::write(&f, debian).unwrap();
        let mut args = cmd.args.clone();
        *args.last_mut().unwrap() = f.to_string_lossy().into_owned();
        assert!(std::process::Command::new("sed")
            .args(&args)
            .status()
            .unwrap()
            .success());
        let after = std::fs::read_to_string(&f).unwrap();
        assert!(auth_system_change(Some(&after)).is_none(), "{after}");
        assert!(after.contains("#!include auth-system.conf.ext"), "{after}");

        // doveconf -n as 2.3 and 2.4 print passdbs.
        let v23 = "passdb {\n  driver = pam\n}\npassdb {\n  args = /etc/dovecot/users\n  driver = passwd-file\n}\n";
        assert_eq!(passdb_drivers(v23), vec!["pam", "passwd-file"]);
        let v24 =
            "passdb pam {\n}\npassdb passwd-file {\n  passwd_file_path = /etc/dovecot/users\n}\n";
        assert_eq!(passdb_drivers(v24), vec!["pam", "passwd-file"]);
        assert_eq!(
            passdb_drivers("passdb passwd-file {\n  passwd_file_path = /etc/dovecot/users\n}\n"),
            vec!["passwd-file"]
        );
    }
}
