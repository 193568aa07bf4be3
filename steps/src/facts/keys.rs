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
            let keyed = ["authorized_keys", "authorized_keys2"].iter().any(|f| {
                host.read_string(&Path::new(&home).join(".ssh").join(f))
                    .ok()
                    .flatten()
                    .is_some_and(|t| has_login_key(&t))
            });
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
