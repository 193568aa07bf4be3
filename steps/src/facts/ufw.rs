//! ufw's state: the rules it keeps in `/etc/ufw/user.rules` (whether active or not) and
//! whether it is active: ONE `iptables -n -L ufw-user-input`, the test `ufw status` itself
//! makes ("Is the firewall loaded at all?": no such chain in the kernel, "Status: inactive";
//! ufw's backend_iptables.py) without the 50 ms of Python's start.
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};
use std::path::Path;

pub const USER_RULES: &str = "/etc/ufw/user.rules";
/// ufw itself: without it, no chain of its name is its doing.
const UFW: &str = "/usr/sbin/ufw";

/// An incoming allow/limit rule as ufw stores it (`### tuple ###` lines of user.rules).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub proto: String,
    pub dports: String,
    /// From anywhere (not restricted to some source addresses).
    pub anywhere: bool,
    /// The rule's comment (ufw stores it hex-encoded), e.g. `mailstead: pop3s`.
    pub comment: Option<String>,
}

/// ufw's `comment=HEX`, decoded.
fn decode_comment(hex: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ufw {
    pub active: bool,
    pub rules: Vec<Rule>,
}

pub fn parse_rules(text: &str) -> Vec<Rule> {
    text.lines()
        .filter_map(|l| {
            let t: Vec<&str> = l
                .strip_prefix("### tuple ### ")?
                .split_whitespace()
                .collect();
            // ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] DIRECTION [comment=..]
            if t.len() < 7 || !matches!(t[0], "allow" | "limit") {
                return None;
            }
            let direction = if t.len() >= 9 && !t[6].starts_with("comment=") && t[6] != "in" {
                t[8]
            } else {
                t[6]
            };
            let comment = t
                .iter()
                .find_map(|w| w.strip_prefix("comment="))
                .and_then(decode_comment);
            (direction == "in").then(|| Rule {
                proto: t[1].to_string(),
                dports: t[2].to_string(),
                anywhere: t[5] == "0.0.0.0/0" || t[5] == "::/0",
                comment,
            })
        })
        .collect()
}

fn port_in(spec: &str, port: u16) -> bool {
    spec.split(',').any(|part| match part.split_once(':') {
        Some((a, b)) => {
            matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a <= port && port <= b)
        }
        None => part.parse::<u16>() == Ok(port),
    })
}

impl Rule {
    /// Lets TCP to `port` in. A rule limited to some sources counts only on an active ufw
    /// (the admin set it up and it is what lets them in today).
    pub fn covers(&self, port: u16, active: bool) -> bool {
        (self.proto == "tcp" || self.proto == "any")
            && port_in(&self.dports, port)
            && (self.anywhere || active)
    }
}

impl Ufw {
    pub fn allows(&self, port: u16) -> bool {
        self.rules.iter().any(|r| r.covers(port, self.active))
    }
}

impl Fact for Ufw {
    const READS: &'static [&'static str] = &["/etc/ufw", reads::PACKAGES, reads::SERVICES];
    fn probe(host: &dyn Host) -> Result<Self> {
        let rules = host
            .read_string(Path::new(USER_RULES))
            .ok()
            .flatten()
            .map(|t| parse_rules(&t))
            .unwrap_or_default();
        let active = host.exists(Path::new(UFW))
            && matches!(super::probe(host, "iptables", &["-w", "-n", "-L", "ufw-user-input"]),
                Some(o) if o.success());
        Ok(Ufw { active, rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_coverage() {
        let r = parse_rules("### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=x\n### tuple ### allow tcp 2000:3000 0.0.0.0/0 any 10.0.0.0/8 in\n### tuple ### deny tcp 25 0.0.0.0/0 any 0.0.0.0/0 in\n");
        assert_eq!(r.len(), 2);
        let u = Ufw {
            active: false,
            rules: r.clone(),
        };
        assert!(u.allows(22) && !u.allows(2222) && !u.allows(25));
        let u = Ufw {
            active: true,
            rules: r,
        };
        assert!(u.allows(2222));
    }
}
