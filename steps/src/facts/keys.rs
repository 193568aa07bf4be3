//! Accounts that can really log in over SSH by key: a login shell, and an
//! `~/.ssh/authorized_keys` (or `authorized_keys2`) with at least one key that is not a
//! forced-command stub. Cloud images put such a stub in root's file
//! (`command="echo 'Please login as the user \"debian\" rather than root'..."`): root has a
//! key there but cannot log in with it. sshd(8) AUTHORIZED_KEYS FILE FORMAT.
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyLogins(pub Vec<String>);

/// `name:x:uid:gid:gecos:home:shell` → (name, home, shell).
pub fn homes(passwd: &str) -> Vec<(String, String, String)> {
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7).then(|| (f[0].to_string(), f[5].to_string(), f[6].to_string()))
        })
        .collect()
}

fn login_shell(shell: &str) -> bool {
    !(shell.ends_with("/nologin") || shell.ends_with("/false") || shell.is_empty())
}

/// At least one line of an authorized_keys file is a key a person can log in with: not a
/// comment, and no forced `command=` (a stub that only prints a message, or a restricted
/// service key).
pub fn has_login_key(text: &str) -> bool {
    text.lines().map(str::trim).any(|l| {
        if l.is_empty() || l.starts_with('#') {
            return false;
        }
        // Options come first when the line does not start with the key type.
        let key_first = l.starts_with("ssh-") || l.starts_with("ecdsa-") || l.starts_with("sk-");
        key_first || !l.contains("command=")
    })
}

/// Whether the `authorized_keys` file at `path`, in a home its user controls, lets someone
/// in. Read with [`Host::read_untrusted`]: root never follows the user's symbolic link (to a
/// root-only file), never waits on their FIFO, never reads `/dev/zero` or a huge file
/// (issue 20, item 1). Such a file is not read but counted as letting its user in: sshd reads
/// it as that user (a link to their own dotfiles works), so leaving them out of `AllowUsers`
/// could lock them out; and it gains nothing a plain key file would not. Unreadable for
/// another reason (permissions): as before, no key.
fn key_file_lets_in(host: &dyn Host, path: &Path) -> bool {
    match host.read_untrusted_string(path) {
        Ok(text) => text.is_some_and(|t| has_login_key(&t)),
        Err(e) => e.kind() == std::io::ErrorKind::InvalidData,
    }
}

impl Fact for KeyLogins {
    const READS: &'static [&'static str] = &["/etc/passwd", "/root/.ssh", "/home"];
    fn probe(host: &dyn Host) -> Result<Self> {
        let passwd = host
            .read_string(Path::new("/etc/passwd"))
            .ok()
            .flatten()
            .unwrap_or_default();
        let mut out = Vec::new();
        for (name, home, shell) in homes(&passwd) {
            if !login_shell(&shell) || home.is_empty() {
                continue;
            }
            let keyed = ["authorized_keys", "authorized_keys2"]
                .iter()
                .any(|f| key_file_lets_in(host, &Path::new(&home).join(".ssh").join(f)));
            if keyed {
                out.push(name);
            }
        }
        Ok(KeyLogins(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::{Meta, RealHost};
    use std::fs;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\neve:x:1000:1000::/home/eve:/bin/bash\n";

    /// A `--root` tree where eve's `authorized_keys` is made by `plant` (given its real path).
    fn key_logins_with(plant: impl FnOnce(&Path)) -> KeyLogins {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("home/eve/.ssh")).unwrap();
        fs::create_dir_all(root.join("root/.ssh")).unwrap();
        fs::write(root.join("etc/passwd"), PASSWD).unwrap();
        // No key in it: a probe that followed a link to it would find eve keyless.
        fs::write(root.join("root/.ssh/only-root"), "# root's secret\n").unwrap();
        plant(&root.join("home/eve/.ssh/authorized_keys"));
        KeyLogins::probe(&RealHost::new(root)).unwrap()
    }

    #[test]
    fn a_plain_key_file_counts() {
        let k = key_logins_with(|p| fs::write(p, "ssh-ed25519 AAAA eve\n").unwrap());
        assert_eq!(k.0, ["eve"]);
        let k = key_logins_with(|p| fs::write(p, "# none\n").unwrap());
        assert!(k.0.is_empty());
    }

    /// A FIFO: the probe must end (a blocking open would wait forever for a writer).
    #[test]
    fn a_planted_fifo_does_not_hang_the_probe() {
        let k = key_logins_with(|p| {
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap();
            assert!(made.success());
        });
        assert_eq!(k.0, ["eve"]);
    }

    /// A link to a root-only file is not followed, a huge file is not read: not read, they
    /// count as letting eve in (see [`key_file_lets_in`]), where reading them found no key.
    #[test]
    fn a_planted_link_or_huge_file_is_not_read() {
        let k = key_logins_with(|p| {
            let target = p.ancestors().nth(4).unwrap().join("root/.ssh/only-root");
            std::os::unix::fs::symlink(target, p).unwrap();
        });
        assert_eq!(k.0, ["eve"]);
        let k = key_logins_with(|p| {
            let lines = mailstead_engine::host::UNTRUSTED_READ_CAP as usize / 2 + 1;
            fs::write(p, "#\n".repeat(lines)).unwrap();
        });
        assert_eq!(k.0, ["eve"]);
    }

    /// The fake host refuses a link too (the default `read_untrusted`).
    #[test]
    fn the_fake_host_does_not_follow_a_link_either() {
        let h = mailstead_engine::MemHost::fake();
        h.add_file("/etc/passwd", PASSWD, Meta::root(0o644));
        h.add_file("/etc/shadow", "root:$6$x:1::::::\n", Meta::root(0o600));
        h.create_dir_all(Path::new("/home/eve/.ssh"), Meta::root(0o755))
            .unwrap();
        h.symlink(
            Path::new("/etc/shadow"),
            Path::new("/home/eve/.ssh/authorized_keys"),
            1000,
            1000,
        )
        .unwrap();
        let e = h
            .read_untrusted(Path::new("/home/eve/.ssh/authorized_keys"))
            .unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn stubs_do_not_count() {
        let stub = "no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user \\\"debian\\\" rather than the user \\\"root\\\".';echo;sleep 10;exit 142\" ssh-ed25519 AAAAC3Nza admin@laptop\n";
        assert!(!has_login_key(stub));
        assert!(has_login_key("ssh-ed25519 AAAAC3Nza admin@laptop\n"));
        assert!(has_login_key("from=\"10.0.0.0/8\" ssh-rsa AAAAB3 x\n"));
        assert!(!has_login_key("# nothing\n\n"));
        let h = homes("root:x:0:0:root:/root:/bin/bash\nwww:x:33:33::/var/www:/usr/sbin/nologin\n");
        assert_eq!(h[0], ("root".into(), "/root".into(), "/bin/bash".into()));
        assert!(!login_shell(&h[1].2));
    }
}
