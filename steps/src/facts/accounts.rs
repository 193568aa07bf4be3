//! `/etc/passwd` and `/etc/group` (passwd(5), group(5)), parsed once.
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// (name, uid, gid) per passwd line.
    pub users: Vec<(String, u32, u32)>,
    /// (name, gid) per group line.
    pub groups: Vec<(String, u32)>,
}

/// `name:x:uid:gid:...` lines; malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((
                f.first()?.to_string(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect()
}

/// `name:x:gid:members` lines.
pub fn parse_group(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse().ok()?))
        })
        .collect()
}

impl Accounts {
    /// (uid, gid) of a user.
    pub fn user(&self, name: &str) -> Option<(u32, u32)> {
        self.users
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, u, g)| (*u, *g))
    }
    pub fn group(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|(n, _)| n == name).map(|(_, g)| *g)
    }
    /// A system id (999 down to 100) free both as a uid and as a gid, so a new system user
    /// can get uid = gid (Debian's adduser range for system accounts).
    pub fn free_system_id(&self) -> Option<u32> {
        (100..1000).rev().find(|id| {
            !self.users.iter().any(|(_, u, _)| u == id) && !self.groups.iter().any(|(_, g)| g == id)
        })
    }
    pub fn uid_taken(&self, id: u32) -> bool {
        self.users.iter().any(|(_, u, _)| *u == id)
    }
}

impl Fact for Accounts {
    const READS: &'static [&'static str] = &["/etc/passwd", "/etc/group"];
    fn probe(host: &dyn Host) -> Result<Self> {
        let read = |p: &str| {
            host.read_string(Path::new(p))
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        Ok(Accounts {
            users: parse_passwd(&read("/etc/passwd")),
            groups: parse_group(&read("/etc/group")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_free_ids() {
        let a = Accounts {
            users: parse_passwd("root:x:0:0:root:/root:/bin/bash\nbroken\nvmail:x:999:999::/var/mail/vhosts:/usr/sbin/nologin\n"),
            groups: parse_group("root:x:0:\ndovecot:x:998:\n"),
        };
        assert_eq!(a.user("vmail"), Some((999, 999)));
        assert_eq!(a.group("dovecot"), Some(998));
        assert_eq!(a.user("nobody"), None);
        assert_eq!(a.free_system_id(), Some(997));
    }
}
