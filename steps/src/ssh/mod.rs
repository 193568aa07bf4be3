//! Step `ssh`: restricts SSH logins with `AllowUsers`, never locking out who runs mailstead.
//!
//! Touches `/etc/ssh/sshd_config.d/50-mailstead.conf` only (never the package's sshd_config),
//! and only when sshd_config includes `/etc/ssh/sshd_config.d/*.conf` before any `Match`
//! block (Debian's default); otherwise it explains why and changes nothing.
//!
//! The users are `ssh.allow_users` from the answers plus the user running mailstead and
//! `$SUDO_USER` (always). With an empty `allow_users` nothing is restricted (no file; a drop-in
//! left by an earlier run is removed).
//!
//! After writing, `sshd -t` validates the whole configuration (a failure fails the step and
//! the engine restores the drop-in), then sshd is reloaded once (service `ssh`). `/run/sshd`
//! is created first when missing, as sshd's unit would, since `sshd -t` needs it.
pub mod paths;
use crate::facts::{KeyLogins, Sshd};
use crate::ssh::paths::SSH_DROP_IN as DROP_IN;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, Note, Perms, Planned, Step};
use std::path::Path;
use std::time::Duration;

pub struct Ssh;

const SSHD_CONFIG: &str = crate::facts::sshd::SSHD_CONFIG;

/// Why the step does nothing on this host, if it does nothing.
pub fn skip_reason(sshd: &Sshd) -> Option<String> {
    if !sshd.installed {
        return Some("OpenSSH server is not installed: no SSH access to restrict".into());
    }
    if sshd.includes_drop_ins {
        return None;
    }
    Some(format!(
        "{SSHD_CONFIG} does not include /etc/ssh/sshd_config.d/*.conf (before any Match \
         block), so a drop-in would not be read; mailstead leaves SSH as it is. To let it \
         manage AllowUsers, add `Include /etc/ssh/sshd_config.d/*.conf` at the top of \
         {SSHD_CONFIG}, check with `sshd -t`, and re-run"
    ))
}

/// The answers' users plus the invoking users, in order, without duplicates.
/// Plus (`key_logins`) every account that can really log in by key: on a cloud image the
/// admin logs in as `debian` while root holds only a "please log in as debian" stub, so
/// `AllowUsers root` alone would lock everyone out.
pub fn allowed_users(ctx: &Ctx<Answers>, key_logins: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for u in ctx
        .answers
        .ssh
        .allow_users
        .iter()
        .chain(&ctx.invoking_users)
        .chain(key_logins)
    {
        let u = u.trim().to_string();
        if !u.is_empty() && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// A user name or an sshd pattern (`alice`, `bob@10.0.0.*`): no spaces, quotes or controls.
fn valid_user(u: &str) -> bool {
    u.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@*?:/[]$".contains(c))
}

fn drop_in(users: &[String]) -> String {
    format!(
        "# Written by mailstead: only these users may log in over SSH.\n\
         # The user who runs mailstead is always kept. Change `ssh.allow_users` in the answers\n\
         # and re-run mailstead rather than editing this file.\n\
         AllowUsers {}\n",
        users.join(" ")
    )
}

/// `sshd -t`, with `/run/sshd` made first as sshd's unit would (sshd -t needs it; it is a
/// tmpfs directory, so nothing to snapshot).
fn validate() -> Cmd {
    // Only reads the configuration (and makes sshd's own runtime directory): a rollback has
    // nothing of it to check by hand.
    Cmd::new("sh", ["-c", "install -d -m 0755 /run/sshd && exec sshd -t"])
        .timeout(Duration::from_secs(30))
        .files_only()
}

impl Step<Answers> for Ssh {
    fn name(&self) -> &'static str {
        "ssh"
    }
    fn about(&self) -> &'static str {
        "SSH: AllowUsers drop-in (always keeping you), validated with sshd -t before reload"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let host = ctx.host;
        if let Some(why) = skip_reason(&*ctx.fact::<Sshd>()?) {
            return Ok(Planned::default().note(Note::warning(why)));
        }
        if ctx.answers.ssh.allow_users.is_empty() {
            let note = Note::info("ssh.allow_users is empty: SSH logins are not restricted");
            // Nothing to restrict: take back a restriction an earlier run wrote.
            if !host.exists(Path::new(DROP_IN)) {
                return Ok(Planned::default().note(note));
            }
            return Ok(Planned::changes(vec![
                Change::RemoveFile {
                    path: DROP_IN.into(),
                },
                Change::run("sshd -t (validate SSH configuration)", validate(), &[]),
                Change::reload("ssh"),
            ])
            .note(note));
        }
        let key_logins = ctx.fact::<KeyLogins>()?;
        let users = allowed_users(ctx, &key_logins.0);
        let mut notes = Vec::new();
        let kept: Vec<&String> = key_logins
            .0
            .iter()
            .filter(|u| !ctx.answers.ssh.allow_users.contains(u) && !ctx.invoking_users.contains(u))
            .collect();
        if !kept.is_empty() {
            notes.push(Note::info(format!(
                "AllowUsers keeps {} too: they log in by SSH key (add them to ssh.allow_users to say so, or remove their keys)",
                kept.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        if let Some(bad) = users.iter().find(|u| !valid_user(u)) {
            return Err(eyre!(
                "ssh.allow_users has `{bad}`, which is not a user name; fix: list plain login \
                 names (e.g. [alice, bob]) in the answers"
            ));
        }
        let want = drop_in(&users);
        // sshd -t runs only when the drop-in changed (the engine decides).
        let mut validate_change = Change::run_when_changed(
            "sshd -t (validate SSH configuration)",
            validate(),
            &[],
            &[DROP_IN],
            &[],
        );
        if let Change::Run { detail, .. } = &mut validate_change {
            detail.push(format!("AllowUsers {}", users.join(" ")));
        }
        Ok(Planned {
            changes: vec![
                Change::write(DROP_IN, want, Perms::root(0o644)),
                validate_change,
                Change::reload("ssh"),
            ],
            notes,
            ..Planned::default()
        })
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        let sshd = ctx.fact::<Sshd>()?;
        if skip_reason(&sshd).is_some() {
            return Ok(());
        }
        if sshd.missing_privsep {
            // sshd is not running (no /run/sshd): `sshd -t` validated the files on apply.
            return Ok(());
        }
        if sshd.effective.is_none() {
            return Err(eyre!(
                "sshd rejects its configuration (`sshd -T`): {}; look at {DROP_IN} and `sshd -t`",
                sshd.error
            ));
        }
        if ctx.answers.ssh.allow_users.is_empty() {
            return Ok(());
        }
        let allowed: Vec<&str> = sshd
            .values("allowusers")
            .into_iter()
            .flat_map(str::split_whitespace)
            .collect();
        let missing: Vec<&String> = ctx
            .invoking_users
            .iter()
            .filter(|u| !allowed.contains(&u.as_str()))
            .collect();
        if !allowed.is_empty() && !missing.is_empty() {
            return Err(eyre!(
                "sshd would not let {} log in (AllowUsers {}); another AllowUsers line must be \
                 taking precedence: check `sshd -T | grep allowusers`",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                allowed.join(" ")
            ));
        }
        Ok(())
    }
}

/// The `ssh` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "ssh"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Ssh)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::sshd::{SSHD, SSHD_CONFIG};
    use crate::testing::{answers, effective, group_file, ok};
    use mailstead_engine::{Host, MemHost, Meta};

    const DEBIAN_CONFIG: &str = "# This is the sshd server system-wide configuration file.\n\nInclude /etc/ssh/sshd_config.d/*.conf\n\nKbdInteractiveAuthentication no\nUsePAM yes\n";

    fn host(config: &str) -> MemHost<'static> {
        let h = MemHost::fake();
        h.add_file(SSHD, "", Meta::root(0o755));
        h.add_file(SSHD_CONFIG, config, Meta::root(0o644));
        h.create_dir(Path::new("/run"), Meta::root(0o755)).unwrap();
        group_file(&h);
        h
    }

    fn ctx<'a>(h: &'a MemHost<'static>, a: &'a Answers, users: &[&str]) -> Ctx<'a, Answers> {
        let mut c = crate::testing::ctx(h, a);
        c.invoking_users = users.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn writes_drop_in_validates_then_reloads_keeping_invoking_users() {
        let h = host(DEBIAN_CONFIG);
        let mut a = answers();
        a.ssh.allow_users = vec!["alice".into(), "admin".into()];
        let changes = effective(&h, Ssh.plan(&ctx(&h, &a, &["admin", "root"])).unwrap());
        let s: Vec<String> = changes.iter().map(|c| c.summary()).collect();
        assert_eq!(
            s,
            [
                "write /etc/ssh/sshd_config.d/50-mailstead.conf (0644 root:root)",
                "sshd -t (validate SSH configuration)",
                "reload ssh"
            ]
        );
        let Change::WriteFile { content, .. } = &changes[0] else {
            panic!()
        };
        assert!(String::from_utf8_lossy(content).ends_with("\nAllowUsers alice admin root\n"));
    }

    #[test]
    fn invoking_user_is_kept_even_when_not_listed() {
        let h = host(DEBIAN_CONFIG);
        let mut a = answers();
        a.ssh.allow_users = vec!["alice".into()];
        let c = ctx(&h, &a, &["deploy"]);
        assert_eq!(allowed_users(&c, &[]), ["alice", "deploy"]);
    }

    #[test]
    fn already_in_place_means_no_change() {
        let h = host(DEBIAN_CONFIG);
        let mut a = answers();
        a.ssh.allow_users = vec!["alice".into()];
        h.add_file(
            DROP_IN,
            &drop_in(&["alice".into(), "root".into()]),
            Meta::root(0o644),
        );
        assert!(effective(&h, Ssh.plan(&ctx(&h, &a, &["root"])).unwrap()).is_empty());
        h.on_command(|c| {
            (c.program == "sshd")
                .then(|| ok("port 22\nallowusers alice\nallowusers root\n"))
                .flatten()
        });
        Ssh.verify(&ctx(&h, &a, &["root"])).unwrap();
        assert!(Ssh.verify(&ctx(&h, &a, &["mallory"])).is_err());
    }

    #[test]
    fn no_include_is_skipped_with_a_note() {
        let h = host("Port 22\nPermitRootLogin no\n");
        let mut a = answers();
        a.ssh.allow_users = vec!["alice".into()];
        let c = ctx(&h, &a, &["root"]);
        let planned = Ssh.plan(&c).unwrap();
        assert!(planned.changes.is_empty());
        let notes = &planned.notes;
        assert!(
            notes[0].text.contains("does not include")
                && notes[0]
                    .text
                    .contains("Include /etc/ssh/sshd_config.d/*.conf"),
            "{notes:?}"
        );
        // An Include inside a Match block does not count either.
        let h = host("Match User x\nInclude /etc/ssh/sshd_config.d/*.conf\n");
        let c = ctx(&h, &a, &["root"]);
        assert!(skip_reason(&c.fact::<Sshd>().unwrap()).is_some());
        assert!(Ssh.plan(&c).unwrap().changes.is_empty());
    }

    #[test]
    fn empty_allow_users_restricts_nothing_and_removes_an_old_drop_in() {
        let h = host(DEBIAN_CONFIG);
        let a = answers();
        assert!(Ssh
            .plan(&ctx(&h, &a, &["root"]))
            .unwrap()
            .changes
            .is_empty());
        h.add_file(DROP_IN, "AllowUsers old\n", Meta::root(0o644));
        let s: Vec<String> = Ssh
            .plan(&ctx(&h, &a, &["root"]))
            .unwrap()
            .changes
            .iter()
            .map(|c| c.summary())
            .collect();
        assert_eq!(s[0], format!("remove {DROP_IN}"));
        assert!(s.contains(&"reload ssh".to_string()));
    }

    #[test]
    fn bad_user_names_are_refused() {
        let h = host(DEBIAN_CONFIG);
        let mut a = answers();
        a.ssh.allow_users = vec!["alice\nPermitRootLogin yes".into()];
        assert!(Ssh.plan(&ctx(&h, &a, &["root"])).is_err());
    }

    /// Cloud image: root holds only a "please log in as debian" stub, `debian` logs in by
    /// key; `allow_users: [root]` run by root must not lock `debian` out.
    #[test]
    fn accounts_with_real_keys_are_kept() {
        let h = host(DEBIAN_CONFIG);
        h.add_file(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000::/home/debian:/bin/bash\nwww:x:33:33::/var/www:/usr/sbin/nologin\n",
            Meta::root(0o644),
        );
        h.add_file(
            "/root/.ssh/authorized_keys",
            "no-port-forwarding,command=\"echo 'Please login as the user \\\"debian\\\" rather than root';sleep 10\" ssh-ed25519 AAAA admin\n",
            Meta::root(0o600),
        );
        h.add_file(
            "/home/debian/.ssh/authorized_keys",
            "ssh-ed25519 AAAA admin\n",
            Meta::root(0o600),
        );
        h.add_file(
            "/var/www/.ssh/authorized_keys",
            "ssh-ed25519 AAAA deploy\n",
            Meta::root(0o600),
        );
        let mut a = answers();
        a.ssh.allow_users = vec!["root".into()];
        let planned = Ssh.plan(&ctx(&h, &a, &["root"])).unwrap();
        let Some(Change::WriteFile { content, .. }) = planned.changes.first() else {
            panic!("{:?}", planned.changes)
        };
        let text = String::from_utf8_lossy(content);
        assert!(text.contains("AllowUsers root debian\n"), "{text}");
        assert!(
            planned.notes.iter().any(|n| n.text.contains("debian")),
            "{:?}",
            planned.notes
        );
    }
}
