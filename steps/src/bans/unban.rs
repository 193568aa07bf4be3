//! `mailstead unban ADDRESS`: `fail2ban-client unban ADDRESS` (fail2ban-client(1)), which
//! lifts the address's bans in every jail and prints in how many. Returns data; the CLI
//! prints it and picks the exit code.
use crate::support::shown;
use mailstead_engine::host::{Cmd, Host};
use std::net::IpAddr;
use std::time::Duration;

/// The bans were lifted: `jails` is how many jails had banned `ip` (at least 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbanned {
    pub ip: IpAddr,
    pub jails: u32,
}

impl Unbanned {
    /// The line the CLI prints.
    pub fn message(&self) -> String {
        format!(
            "{} is no longer banned ({} jail{}): it can reach the mail ports again",
            self.ip,
            self.jails,
            if self.jails == 1 { "" } else { "s" }
        )
    }
}

/// Why nothing was lifted.
#[derive(Debug)]
pub enum UnbanError {
    /// fail2ban-client could not be started.
    Start(std::io::Error),
    /// fail2ban-client failed; `tail`: its last lines.
    Failed { tail: String },
    /// No jail bans the address (bad input: nothing changed).
    NotBanned(IpAddr),
    /// fail2ban-client answered something other than a count.
    Unexpected { cmd: String, stdout: String },
}

impl UnbanError {
    /// What went wrong, as the CLI says it.
    pub fn message(&self) -> String {
        match self {
            UnbanError::Start(_) => {
                "starting fail2ban-client (is fail2ban installed? `mailstead install` sets it up)"
                    .into()
            }
            UnbanError::Failed { tail } => format!("fail2ban did not lift the ban: {tail}"),
            UnbanError::NotBanned(ip) => format!("{ip} is not banned"),
            UnbanError::Unexpected { cmd, stdout } => {
                format!("unexpected answer from `{cmd}`: {stdout}")
            }
        }
    }

    /// How to fix it, when there is something to say.
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            UnbanError::Failed { .. } => {
                Some("is fail2ban running? `systemctl status fail2ban`, `journalctl -u fail2ban`")
            }
            UnbanError::NotBanned(_) => {
                Some("`mailstead check` lists the banned addresses (check `bans`)")
            }
            UnbanError::Start(_) | UnbanError::Unexpected { .. } => None,
        }
    }
}

/// Lifts every ban of `ip` (`fail2ban-client unban IP`, 30 s at most).
pub fn unban(host: &dyn Host, ip: IpAddr) -> Result<Unbanned, UnbanError> {
    let cmd =
        Cmd::new("fail2ban-client", ["unban", &ip.to_string()]).timeout(Duration::from_secs(30));
    let out = host.run(&cmd).map_err(UnbanError::Start)?;
    if !out.success() {
        return Err(UnbanError::Failed {
            tail: shown(&out.tail(2)).into_owned(),
        });
    }
    match out.stdout.trim().parse::<u32>() {
        Ok(0) => Err(UnbanError::NotBanned(ip)),
        Ok(jails) => Ok(Unbanned { ip, jails }),
        Err(_) => Err(UnbanError::Unexpected {
            cmd: cmd.to_string(),
            stdout: shown(out.stdout.trim()).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fail, ok};
    use mailstead_engine::MemHost;

    fn host(answer: Option<mailstead_engine::Output>) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| {
            (c.program == "fail2ban-client")
                .then(|| answer.clone())
                .flatten()
        });
        h
    }

    #[test]
    fn lifted_not_banned_failed_and_unexpected() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let done = unban(&host(ok("2\n")), ip).unwrap();
        assert_eq!(
            done.message(),
            "192.0.2.7 is no longer banned (2 jails): it can reach the mail ports again"
        );
        assert!(matches!(
            unban(&host(ok("0\n")), ip),
            Err(UnbanError::NotBanned(_))
        ));
        let e = unban(&host(fail(255, "no socket")), ip).unwrap_err();
        assert!(e.message().starts_with("fail2ban did not lift the ban"));
        assert!(e.fix().is_some());
        let e = unban(&host(ok("what?")), ip).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected answer from `fail2ban-client unban 192.0.2.7`: what?"
        );
    }
}
