//! fail2ban's jails and the addresses each bans now (ONE `fail2ban-client banned`,
//! fail2ban-client(1), fail2ban 1.0 and later). It answers only while the server runs.
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bans {
    /// The server answered on its socket.
    pub running: bool,
    /// Every jail it runs, with the addresses it bans now, in its order.
    pub jails: Vec<(String, Vec<String>)>,
    /// Why it did not answer (the client's last line), when it did not.
    pub error: String,
}

impl Bans {
    /// Does a jail of this name run?
    pub fn has_jail(&self, name: &str) -> bool {
        self.jails.iter().any(|(j, _)| j == name)
    }
    /// The jails that ban at least one address now.
    pub fn active(&self) -> Vec<&(String, Vec<String>)> {
        self.jails
            .iter()
            .filter(|(_, ips)| !ips.is_empty())
            .collect()
    }
}

/// `[{'postfix-sasl': []}, {'dovecot': ['192.0.2.7', '2001:db8::1']}]` (Python's repr of a
/// list of one-key dicts) as `(jail, addresses)`; `None` when it is not that shape.
pub fn parse_banned(text: &str) -> Option<Vec<(String, Vec<String>)>> {
    let t = text.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?.trim();
    let mut out = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let body = rest.strip_prefix('{')?;
        let end = body.find('}')?;
        let (entry, after) = (&body[..end], &body[end + 1..]);
        let (name, list) = entry.split_once(':')?;
        let name = name.trim().trim_matches(|c| c == '\'' || c == '"');
        let list = list.trim().strip_prefix('[')?.strip_suffix(']')?;
        let ips = list
            .split(',')
            .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        out.push((name.to_string(), ips));
        rest = after.trim_start().trim_start_matches(',').trim_start();
    }
    Some(out)
}

impl Fact for Bans {
    const READS: &'static [&'static str] = &[reads::SERVICES, reads::PACKAGES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(match super::probe(host, "fail2ban-client", &["banned"]) {
            None => Bans {
                error: "fail2ban is not installed".into(),
                ..Bans::default()
            },
            Some(o) if o.success() => match parse_banned(&o.stdout) {
                Some(jails) => Bans {
                    running: true,
                    jails,
                    error: String::new(),
                },
                None => Bans {
                    error: format!(
                        "unexpected answer from `fail2ban-client banned`: {}",
                        o.tail(1)
                    ),
                    ..Bans::default()
                },
            },
            Some(o) => Bans {
                error: o.tail(1),
                ..Bans::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_banned;

    #[test]
    fn banned_lists() {
        assert_eq!(parse_banned("[]\n"), Some(vec![]));
        assert_eq!(
            parse_banned("[{'sshd': []}]\n"),
            Some(vec![("sshd".into(), vec![])])
        );
        assert_eq!(
            parse_banned(
                "[{'mailstead-postfix': ['10.213.1.1', '2001:db8::1']}, {'mailstead-dovecot': []}]"
            ),
            Some(vec![
                (
                    "mailstead-postfix".into(),
                    vec!["10.213.1.1".into(), "2001:db8::1".into()]
                ),
                ("mailstead-dovecot".into(), vec![]),
            ])
        );
        assert_eq!(parse_banned("Failed to access socket path"), None);
    }
}
