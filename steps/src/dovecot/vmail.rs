//! The inverses of `useradd vmail` and `groupadd vmail`, run by a rollback (issue 20).
//!
//! userdel and groupdel leave every file of the id on disk, owned by a bare number: the mail
//! under `/var/mail/vhosts`, the Sieve scripts under `/var/lib/dovecot/sieve`, anything else
//! Dovecot wrote as vmail. The next `useradd --system` (or `groupadd --system`) may get that
//! number (they hand out the highest free system id, as vmail's came), and its user would then
//! own everyone's mail. So before the id goes, every file it still owns, on every mounted file
//! system, is given to root (`chown -h`/`chgrp -h`: a symlink itself, never what it points to).
//! The mail stays where it is, readable by root only; a later install creates vmail again and
//! gives `/var/mail/vhosts` back to it (the directory only: `chown -R` it by hand to serve the
//! old mail again).
//!
//! The user is not kept instead: a rollback must leave `/etc/passwd` and `/etc/group` as they
//! were (the booted fault matrix checks /etc byte by byte).

use mailstead_engine::host::Cmd;

/// What the plan says of the undo of `useradd vmail`.
pub const USERDEL_NOTE: &str = "a rollback gives vmail's files (the mail) to root, then \
                                removes vmail: the mail stays, readable by root only";
/// What the plan says of the undo of `groupadd vmail`.
pub const GROUPDEL_NOTE: &str = "a rollback gives the group of vmail's files to root, then \
                                 removes the group";

/// `find` over every mounted file system but the kernel's and the runtime ones (nothing there
/// outlives a boot), quiet about what it cannot read; `"$@"` is the test and the action.
const SWEEP: &str =
    "sweep() { find / \\( -path /proc -o -path /sys -o -path /dev -o -path /run \\) \
                     -prune -o \"$@\" 2>/dev/null; }";

/// Gives the files whose `test` (`-uid N`, `-gid N`) holds to root with `chown` (`chown -h 0`
/// or `chgrp -h 0`), counting them in `$n`.
fn hand_to_root(test: &str, chown: &str) -> String {
    format!("n=$((n + $(sweep {test} -exec {chown} -h 0 {{}} + -printf x | wc -c)))")
}

/// Fails, naming one, when a file still matches `test` after the sweep (a file written in the
/// meantime, a file system that refused): a rollback then reports it for hand care.
fn none_left(test: &str, what: &str) -> String {
    format!(
        "left=$(sweep {test} -print -quit); if [ -n \"$left\" ]; then echo \"$left (and maybe \
         more) is still owned by the removed {what}: the next system account given that id \
         would own it; give it (and any other, find {test}) to root with chown -h root:root\" \
         >&2; exit 1; fi"
    )
}

/// The undo of `useradd vmail` (uid `uid`, primary group `gid`): vmail's files go to root,
/// then vmail goes (`--force`: Dovecot's lmtp, imap and quota-status processes run as vmail
/// until the reload that follows the restored configuration, and plain userdel refuses a user
/// with processes, exit 8; without `--remove` nothing on disk is deleted). userdel takes the
/// group vmail with the user when it can (login.defs `USERGROUPS_ENAB`, Debian's default): when
/// no group has `gid` any more, its files go to root too. Prints what it did (the run's log).
pub fn userdel(uid: u32, gid: u32) -> Cmd {
    let u = format!("-uid {uid}");
    let g = format!("-gid {gid}");
    let script = [
        SWEEP.to_string(),
        "n=0".into(),
        hand_to_root(&u, "chown"),
        "userdel --force vmail || exit".into(),
        // The group went with the user: its files go to root too.
        format!(
            "if ! getent group {gid} >/dev/null; then {}; {}; fi",
            hand_to_root(&g, "chgrp"),
            none_left(&g, &format!("group vmail (gid {gid})"))
        ),
        none_left(&u, &format!("user vmail (uid {uid})")),
        format!(
            "echo \"gave vmail's files (uid {uid}, gid {gid}) to root, $n changes: the mail \
             stays, readable by root only\""
        ),
    ]
    .join("\n");
    Cmd::new("sh", ["-c", &script])
}

/// The undo of `groupadd vmail` (gid `gid`), run after [`userdel`]: removes the group when
/// userdel did not take it, then gives the files no group has any more to root. Nothing to do
/// when a group still has `gid`.
pub fn groupdel(gid: u32) -> Cmd {
    let g = format!("-gid {gid}");
    let script = [
        SWEEP.to_string(),
        "n=0".into(),
        "if getent group vmail >/dev/null; then groupdel vmail || exit; fi".into(),
        format!("if getent group {gid} >/dev/null; then exit 0; fi"),
        hand_to_root(&g, "chgrp"),
        none_left(&g, &format!("group vmail (gid {gid})")),
        format!(
            "[ \"$n\" = 0 ] || echo \"gave the group of $n files of vmail (gid {gid}) to root\""
        ),
    ]
    .join("\n");
    Cmd::new("sh", ["-c", &script])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;
    use std::process::Command;

    fn script(cmd: &Cmd) -> &str {
        assert_eq!(cmd.program, "sh");
        assert_eq!(cmd.args[0], "-c");
        &cmd.args[1]
    }

    /// Runs `cmd`'s script over the tree `root` instead of `/`, with the commands in `stubs`
    /// (name, shell body) ahead of the real ones.
    fn run_over(cmd: &Cmd, root: &Path, stubs: &[(&str, &str)]) -> (bool, String, String) {
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for (name, body) in stubs {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let s = script(cmd).replace("find / ", &format!("find {} ", root.join("fs").display()));
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let out = Command::new("sh")
            .args(["-c", &s])
            .env("PATH", path)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    fn is_root() -> bool {
        let out = Command::new("id").arg("-u").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "0"
    }

    fn chown(p: &Path, uid: u32, gid: u32) {
        std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
    }

    fn owner(p: &Path) -> (u32, u32) {
        let m = std::fs::symlink_metadata(p).unwrap();
        (m.uid(), m.gid())
    }

    #[test]
    fn scripts_parse() {
        for cmd in [userdel(990, 990), groupdel(990)] {
            let out = Command::new("sh")
                .args(["-n", "-c", script(&cmd)])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Every mounted file system, the kernel's and runtime ones aside; symlinks not
            // followed.
            assert!(!script(&cmd).contains("-xdev"));
            assert!(script(&cmd).contains("-path /proc -o -path /sys -o -path /dev -o -path /run"));
        }
        let u = userdel(990, 991);
        let s = script(&u);
        // Files first, then the user; the group's files when the group went with it.
        let chown = s.find("-uid 990 -exec chown -h 0 {} +").unwrap();
        let del = s.find("userdel --force vmail || exit").unwrap();
        let chgrp = s.find("-gid 991 -exec chgrp -h 0 {} +").unwrap();
        assert!(chown < del && del < chgrp, "{s}");
        assert!(s.contains("if ! getent group 991 >/dev/null; then"));
        let g = groupdel(991);
        assert!(script(&g).contains("-gid 991 -exec chgrp -h 0 {} +"));
    }

    /// The undo of `useradd vmail` for real over a tree: vmail's files (a symlink itself, not
    /// its target) go to root, another user's stay, userdel runs, the group's files go to root
    /// once no group has the gid.
    #[test]
    fn userdel_gives_the_files_to_root() {
        if !is_root() {
            eprintln!("skipped: needs root to chown");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let fs = dir.path().join("fs");
        let maildir = fs.join("var/mail/vhosts/example.test/alice/Maildir/new");
        std::fs::create_dir_all(&maildir).unwrap();
        let mail = maildir.join("1.eml");
        std::fs::write(&mail, "Subject: hi\n").unwrap();
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o600)).unwrap();
        let other = fs.join("other");
        std::fs::write(&other, "").unwrap();
        let link = fs.join("link");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        for p in [&fs.join("var/mail/vhosts"), &maildir, &mail, &link] {
            chown(p, 4242, 4242);
        }
        chown(&other, 4243, 4243);
        let ran = dir.path().join("ran");
        let userdel_stub = format!("echo \"$@\" >> {}", ran.display());
        let (ok, out, err) = run_over(
            &userdel(4242, 4242),
            dir.path(),
            &[("userdel", &userdel_stub), ("getent", "exit 2")],
        );
        assert!(ok, "{err}");
        assert_eq!(std::fs::read_to_string(&ran).unwrap(), "--force vmail\n");
        for p in [&fs.join("var/mail/vhosts"), &maildir, &mail, &link] {
            assert_eq!(owner(p), (0, 0), "{}", p.display());
        }
        assert_eq!(
            owner(&other),
            (4243, 4243),
            "a symlink's target was followed"
        );
        assert_eq!(std::fs::read_to_string(&mail).unwrap(), "Subject: hi\n");
        assert!(
            out.contains("gave vmail's files (uid 4242, gid 4242) to root, 8 changes"),
            "{out}"
        );

        // A group still named keeps its files; a file chown cannot give away is reported.
        chown(&mail, 4242, 4242);
        let (ok, _, err) = run_over(
            &userdel(4242, 4242),
            dir.path(),
            &[
                ("userdel", "exit 0"),
                ("getent", "exit 0"),
                ("chown", "exit 0"),
            ],
        );
        assert!(!ok);
        assert!(
            err.contains(
                "1.eml (and maybe more) is still owned by the removed user vmail (uid 4242)"
            ),
            "{err}"
        );
        assert_eq!(owner(&mail), (4242, 4242));
    }

    /// The undo of `groupadd vmail`: groupdel only when the group is still there; the files of
    /// a gid no group has go to root.
    #[test]
    fn groupdel_gives_the_group_to_root() {
        if !is_root() {
            eprintln!("skipped: needs root to chown");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let fs = dir.path().join("fs");
        std::fs::create_dir_all(&fs).unwrap();
        let sieve = fs.join("sieve");
        std::fs::write(&sieve, "").unwrap();
        chown(&sieve, 0, 4242);
        let ran = dir.path().join("ran");
        let stub = format!("echo \"$@\" >> {}", ran.display());
        // userdel took the group already.
        let (ok, out, err) = run_over(
            &groupdel(4242),
            dir.path(),
            &[("groupdel", &stub), ("getent", "exit 2")],
        );
        assert!(ok, "{err}");
        assert!(!ran.exists(), "groupdel ran for a group that is gone");
        assert_eq!(owner(&sieve), (0, 0));
        assert!(
            out.contains("gave the group of 1 files of vmail (gid 4242) to root"),
            "{out}"
        );
    }
}
