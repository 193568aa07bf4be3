//! Listening TCP sockets: ONE `ss -H -ltnp` (ss(8)), or `/proc/net/tcp{,6}` without process
//! names where `ss` is missing.
use crate::layout::WEBROOT;
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};
use std::path::Path;

/// Web servers whose document root certbot can use (`--webroot`) when they hold port 80.
pub const WEB_SERVERS: &[&str] = &["nginx", "apache2", "httpd", "lighttpd", "caddy"];

/// A TCP socket in LISTEN state: its port and, when `ss` can tell, the process name and pid.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub port: u16,
    pub process: Option<String>,
    pub pid: Option<u32>,
    /// Listens on an address other machines can reach (not loopback only).
    pub public: bool,
}

impl Listener {
    pub fn describe(&self) -> String {
        match (&self.process, self.pid) {
            (Some(p), Some(pid)) => format!("{p} (pid {pid})"),
            (Some(p), None) => p.clone(),
            _ => "a process ss cannot name".to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listeners(pub Vec<Listener>);

impl Listeners {
    pub fn on(&self, port: u16) -> impl Iterator<Item = &Listener> {
        self.0.iter().filter(move |l| l.port == port)
    }
    pub fn listening(&self, port: u16) -> bool {
        self.on(port).next().is_some()
    }
}

pub fn parse_ss(text: &str) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 5 || cols[0] == "State" {
            continue;
        }
        let Some(port) = cols[3].rsplit(':').next().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let rest = cols[5..].join(" ");
        // Every process holding the socket: Postfix's children (smtpd, postscreen) inherit the
        // listener from `master`, and ss may name a child first.
        let names: Vec<&str> = rest
            .split("(\"")
            .skip(1)
            .filter_map(|r| r.split_once('"').map(|(name, _)| name))
            .collect();
        let process = names
            .iter()
            .find(|n| **n == "master")
            .or(names.first())
            .map(|n| n.to_string());
        let pid = rest
            .split_once("pid=")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok());
        let host = cols[3].rsplit_once(':').map_or("", |(h, _)| h);
        let public = !(host.starts_with("127.") || host == "[::1]" || host == "::1");
        out.push(Listener {
            port,
            process,
            pid,
            public,
        });
    }
    out
}

pub fn parse_proc_net_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.get(3) != Some(&"0A") {
                return None;
            }
            let (addr, port) = cols.get(1)?.rsplit_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            // Little-endian hex: 127.x.x.x ends in 7F; ::1 is 0..0 01000000.
            let loopback = (addr.len() == 8 && addr.ends_with("7F"))
                || addr == "00000000000000000000000001000000";
            Some(Listener {
                port,
                process: None,
                pid: None,
                public: !loopback,
            })
        })
        .collect()
}

impl Fact for Listeners {
    const READS: &'static [&'static str] = &[reads::SERVICES];
    fn probe(host: &dyn Host) -> Result<Self> {
        if let Some(o) = super::probe(host, "ss", &["-H", "-l", "-t", "-n", "-p"]) {
            if o.success() {
                return Ok(Listeners(parse_ss(&o.stdout)));
            }
        }
        let mut out = Vec::new();
        for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
            if let Ok(Some(text)) = host.read_string(Path::new(f)) {
                out.extend(parse_proc_net_tcp(&text));
            }
        }
        Ok(Listeners(out))
    }
}

/// How certbot answers the HTTP-01 challenge (RFC 8555 §8.3).
#[derive(Debug, Clone, PartialEq)]
pub enum Challenge {
    Standalone,
    Webroot(String),
}

/// Port 80 free: standalone; held by a web server: webroot; held by anything else: the
/// problem and its fix.
pub fn challenge_for(all: &Listeners) -> std::result::Result<Challenge, String> {
    let Some(first) = all.on(80).next() else {
        return Ok(Challenge::Standalone);
    };
    match &first.process {
        Some(p) if WEB_SERVERS.contains(&p.as_str()) => Ok(Challenge::Webroot(p.clone())),
        _ => Err(format!(
            "port 80 is held by {}; certbot needs it to prove this server owns its hostname \
             (HTTP-01); fix: stop it while mailstead runs, or serve {WEBROOT} on port 80 with \
             nginx or Apache (mailstead then uses certbot --webroot)",
            first.describe()
        )),
    }
}

/// The web server holding port 80, if any.
pub fn web_server_on_80(all: &Listeners) -> Option<String> {
    match challenge_for(all) {
        Ok(Challenge::Webroot(p)) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss_names_postfix_when_a_child_is_listed_first() {
        let text = "LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"smtpd\",pid=4768,fd=6),(\"master\",pid=4700,fd=13))";
        let l = parse_ss(text);
        assert_eq!(l[0].process.as_deref(), Some("master"));
        assert_eq!(l[0].port, 25);
        let text = "LISTEN 0 20 [::]:25 [::]:* users:((\"exim4\",pid=1,fd=4))";
        assert_eq!(parse_ss(text)[0].process.as_deref(), Some("exim4"));
    }

    #[test]
    fn proc_net_tcp_listeners() {
        let text = "  sl  local_address rem_address   st\n   0: 00000000:0019 00000000:0000 0A\n   1: 0100007F:1F90 00000000:0000 01\n";
        let l = parse_proc_net_tcp(text);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].port, 25);
    }

    #[test]
    fn port_80() {
        let none = Listeners::default();
        assert_eq!(challenge_for(&none), Ok(Challenge::Standalone));
        let nginx = Listeners(parse_ss(
            "LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=9,fd=6))",
        ));
        assert_eq!(web_server_on_80(&nginx).as_deref(), Some("nginx"));
        let other = Listeners(parse_ss(
            "LISTEN 0 5 0.0.0.0:80 0.0.0.0:* users:((\"python3\",pid=9,fd=3))",
        ));
        assert!(challenge_for(&other)
            .unwrap_err()
            .contains("python3 (pid 9)"));
    }
}
