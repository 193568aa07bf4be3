//! OpenSSH's server: is it installed, does `sshd -t` accept its configuration, and the
//! effective settings from ONE `sshd -T` (sshd(8)), with the config files as a fallback for
//! the ports when `sshd -T` cannot run.
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};
use std::path::Path;

pub const SSHD: &str = "/usr/sbin/sshd";
pub const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sshd {
    pub installed: bool,
    /// `sshd -T` ran: its `key value` lines (keys lowercase), in order.
    pub effective: Option<Vec<(String, String)>>,
    /// What `sshd -T` said when it failed (empty when it passed or could not run).
    pub error: String,
    /// It failed only because `/run/sshd` is missing (sshd not started yet): not a config
    /// error.
    pub missing_privsep: bool,
    /// `Port` lines of sshd_config and its drop-ins outside `Match` blocks.
    pub configured_ports: Vec<u16>,
    /// sshd_config includes `sshd_config.d/*.conf` before any `Match` block.
    pub includes_drop_ins: bool,
}

pub fn parse_effective(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// `Port` lines outside `Match` blocks.
pub fn ports_in_config(text: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or_default().to_ascii_lowercase();
        if key == "match" {
            break;
        }
        if key == "port" {
            ports.extend(words.next().and_then(|p| p.parse::<u16>().ok()));
        }
    }
    ports
}

pub fn includes_drop_ins(text: &str) -> bool {
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next().map(str::to_ascii_lowercase).as_deref() {
            Some("match") => return false,
            Some("include")
                if w.any(|p| {
                    p == "/etc/ssh/sshd_config.d/*.conf" || p == "sshd_config.d/*.conf"
                }) =>
            {
                return true
            }
            _ => {}
        }
    }
    false
}

impl Sshd {
    /// Every value of `key` (lowercase), e.g. `port`, `allowusers`.
    pub fn values(&self, key: &str) -> Vec<&str> {
        self.effective
            .iter()
            .flatten()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Ports sshd will listen on after a restart: `sshd -T` (port, listenaddress), else the
    /// config files; 22 when installed and nothing says otherwise.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = match &self.effective {
            Some(_) => self
                .values("port")
                .iter()
                .filter_map(|v| v.parse().ok())
                .chain(
                    self.values("listenaddress")
                        .iter()
                        .filter_map(|v| v.rsplit_once(':')?.1.parse().ok()),
                )
                .collect(),
            None => self.configured_ports.clone(),
        };
        if ports.is_empty() && self.installed {
            ports.push(22);
        }
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

impl Fact for Sshd {
    const READS: &'static [&'static str] = &["/etc/ssh", "/run/sshd", SSHD, reads::PACKAGES];
    fn probe(host: &dyn Host) -> Result<Self> {
        let installed = host.exists(Path::new(SSHD));
        let mut files = vec![SSHD_CONFIG.to_string()];
        if let Ok(names) = host.list_dir(Path::new("/etc/ssh/sshd_config.d")) {
            files.extend(
                names
                    .into_iter()
                    .filter(|n| n.ends_with(".conf"))
                    .map(|n| format!("/etc/ssh/sshd_config.d/{n}")),
            );
        }
        let mut configured_ports = Vec::new();
        let mut includes = false;
        for (i, f) in files.iter().enumerate() {
            if let Ok(Some(text)) = host.read_string(Path::new(f)) {
                configured_ports.extend(ports_in_config(&text));
                if i == 0 {
                    includes = includes_drop_ins(&text);
                }
            }
        }
        let mut fact = Sshd {
            installed,
            configured_ports,
            includes_drop_ins: includes,
            ..Sshd::default()
        };
        if installed {
            if let Some(o) = super::probe(host, "sshd", &["-T"]) {
                if o.success() {
                    fact.effective = Some(parse_effective(&o.stdout));
                } else {
                    fact.missing_privsep =
                        o.stderr.contains("Missing privilege separation directory");
                    fact.error = o.tail(3).replace('\n', " / ");
                }
            }
        }
        Ok(fact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_ports_and_users() {
        let s = Sshd {
            installed: true,
            effective: Some(parse_effective(
                "port 22\nlistenaddress [::]:2222\nallowusers alice bob\n",
            )),
            ..Sshd::default()
        };
        assert_eq!(s.ports(), vec![22, 2222]);
        assert_eq!(s.values("allowusers"), vec!["alice bob"]);
    }

    #[test]
    fn config_fallback_and_includes() {
        assert_eq!(
            ports_in_config("Port 2200\nMatch User x\nPort 9\n"),
            vec![2200]
        );
        assert!(includes_drop_ins("Include /etc/ssh/sshd_config.d/*.conf\n"));
        assert!(!includes_drop_ins(
            "Match all\nInclude /etc/ssh/sshd_config.d/*.conf\n"
        ));
        let s = Sshd {
            installed: true,
            ..Sshd::default()
        };
        assert_eq!(s.ports(), vec![22]);
    }
}
