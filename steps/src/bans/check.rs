//! Checks: proof that the installed server works (they change nothing; the engine runs them
//! after a run's reloads, `mailstead check` alone).
//!
//! - `bans`: fail2ban runs mailstead's jails (waiting up to 30 s for its socket after a
//!   start); passes with "no address banned", warns naming each jail and the addresses it
//!   bans now (`mailstead unban ADDRESS` lifts one); fails when fail2ban is not running or a
//!   jail is missing (then nobody is banned).
use mailstead_answers::Answers;
use mailstead_engine::{Check, Ctx, Finding};
use std::time::{Duration, Instant};

/// How long `bans` waits for fail2ban's socket (a start right before the checks).
pub const BANS_TIMEOUT: Duration = Duration::from_secs(30);

/// `bans`: fail2ban runs mailstead's jails; the addresses banned now.
pub struct Bans {
    pub timeout: Duration,
}

impl Check<Answers> for Bans {
    fn name(&self) -> &'static str {
        "bans"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        use super::paths::BAN_JAILS;
        use crate::facts::Bans as Jails;
        use mailstead_engine::Fact;
        let start = Instant::now();
        // Probed here, not cached: fail2ban may still be opening its socket after a start.
        let bans = loop {
            let b = Jails::probe(ctx.host).unwrap_or_default();
            if b.running || start.elapsed() >= self.timeout {
                break b;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        if !bans.running {
            return Finding::fail(
                format!(
                    "fail2ban is not running ({}): password guessers are not banned",
                    bans.error
                ),
                "systemctl restart fail2ban; see journalctl -u fail2ban",
            );
        }
        let missing: Vec<&str> = BAN_JAILS
            .iter()
            .copied()
            .filter(|j| !bans.has_jail(j))
            .collect();
        if !missing.is_empty() {
            return Finding::fail(
                format!(
                    "fail2ban runs without the jail{} {}: those guessers are not banned",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
                "look at /etc/fail2ban/jail.d/mailstead.conf and `fail2ban-client -d`; re-run \
                 `mailstead install`",
            );
        }
        let active = bans.active();
        if active.is_empty() {
            return Finding::pass(format!(
                "no address banned (fail2ban jails {})",
                BAN_JAILS.join(", ")
            ));
        }
        Finding::warn(
            format!(
                "banned from the mail ports now: {}",
                active
                    .iter()
                    .map(|(jail, ips)| format!("{jail}: {}", ips.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "nothing to do for guessers (a ban lasts an hour); to let an address in now: \
                 `mailstead unban {}`",
                active
                    .iter()
                    .flat_map(|(_, ips)| ips.first())
                    .next()
                    .map(String::as_str)
                    .unwrap_or("ADDRESS")
            ),
        )
    }
}

#[cfg(test)]
mod bans_tests {
    use super::*;
    use crate::testing::{answers, ctx, fail, ok};
    use mailstead_engine::{MemHost, Status};

    fn run(answer: Option<mailstead_engine::Output>) -> Finding {
        let h = MemHost::fake();
        h.on_command(move |c| {
            (c.program == "fail2ban-client")
                .then(|| answer.clone())
                .flatten()
        });
        let a = answers();
        Bans {
            timeout: Duration::ZERO,
        }
        .run(&ctx(&h, &a))
    }

    #[test]
    fn lists_the_bans_by_jail() {
        let f = run(ok(
            "[{'mailstead-postfix': []}, {'mailstead-dovecot': []}, {'sshd': []}]\n",
        ));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.starts_with("no address banned"), "{f:?}");
        let f = run(ok(
            "[{'mailstead-postfix': ['10.213.1.1', '192.0.2.7']}, {'mailstead-dovecot': []}]\n",
        ));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(
            f.detail,
            "banned from the mail ports now: mailstead-postfix: 10.213.1.1, 192.0.2.7"
        );
        assert!(f.fix.unwrap().contains("mailstead unban 10.213.1.1`"));
    }

    #[test]
    fn fails_when_fail2ban_or_a_jail_is_missing() {
        let f = run(fail(
            255,
            "ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?",
        ));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("Is fail2ban running?"), "{f:?}");
        let f = run(None);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        let f = run(ok("[{'mailstead-postfix': []}]"));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("mailstead-dovecot"), "{f:?}");
    }
}
