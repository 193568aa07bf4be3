//! Who runs mailstead, the server's name, and its disk and memory.
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::path::Path;

/// The uid mailstead runs as (`id -u`); `None` when `id` cannot tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub uid: Option<u32>,
}

impl Fact for Identity {
    const READS: &'static [&'static str] = &[];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(Identity {
            uid: super::probe(host, "id", &["-u"])
                .filter(|o| o.success())
                .and_then(|o| o.stdout.trim().parse().ok()),
        })
    }
}

/// Free space under /var (KiB, `df -Pk /var`) and MemTotal (KiB, /proc/meminfo).
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    pub var_free_kib: Option<u64>,
    pub mem_total_kib: Option<u64>,
}

pub fn parse_df(text: &str) -> Option<u64> {
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

pub fn parse_meminfo(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix("MemTotal:")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

impl Fact for Resources {
    const READS: &'static [&'static str] = &[];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(Resources {
            var_free_kib: super::probe(host, "df", &["-Pk", "/var"])
                .filter(|o| o.success())
                .and_then(|o| parse_df(&o.stdout)),
            mem_total_kib: host
                .read_string(Path::new("/proc/meminfo"))
                .ok()
                .flatten()
                .and_then(|t| parse_meminfo(&t)),
        })
    }
}

/// The server's FQDN: `hostname -f` on a live system (not under `--root`), else what
/// /etc/hostname and the /etc/hosts line naming it say.
#[derive(Debug, Clone, PartialEq)]
pub struct Hostname {
    pub fqdn: Option<String>,
}

fn first_line(text: &str) -> Option<String> {
    text.lines()
        .next()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
}

/// The FQDN that `/etc/hosts` gives the short `name`.
pub fn fqdn_from_hosts(hosts: &str, name: &str) -> Option<String> {
    hosts.lines().find_map(|l| {
        let l = l.split('#').next().unwrap_or_default();
        let names: Vec<String> = l
            .split_whitespace()
            .skip(1)
            .map(|n| n.to_ascii_lowercase())
            .collect();
        (names.iter().any(|n| n == name) && names.first()?.contains('.')).then(|| names[0].clone())
    })
}

impl Fact for Hostname {
    const READS: &'static [&'static str] = &["/etc/hostname", "/etc/hosts"];
    fn probe(host: &dyn Host) -> Result<Self> {
        if host.root() == Path::new("/") {
            if let Some(o) = super::probe(host, "hostname", &["-f"]) {
                if o.success() && !o.stdout.trim().is_empty() {
                    return Ok(Hostname {
                        fqdn: Some(o.stdout.trim().to_ascii_lowercase()),
                    });
                }
            }
        }
        let read = |p: &str| host.read_string(Path::new(p)).ok().flatten();
        let fqdn = read("/etc/hostname")
            .and_then(|t| first_line(&t))
            .and_then(|name| {
                if name.contains('.') {
                    Some(name)
                } else {
                    fqdn_from_hosts(&read("/etc/hosts")?, &name)
                }
            });
        Ok(Hostname { fqdn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 100 50 2048 50% /\n"), Some(2048));
        assert_eq!(
            parse_meminfo("MemTotal:  1000 kB\nMemFree: 5 kB\n"),
            Some(1000)
        );
        assert_eq!(
            fqdn_from_hosts("127.0.1.1\tmail.example.test mail\n", "mail").as_deref(),
            Some("mail.example.test")
        );
        assert_eq!(fqdn_from_hosts("127.0.1.1\tmail\n", "mail"), None);
    }
}
