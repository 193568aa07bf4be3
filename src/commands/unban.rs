//! `mailstead unban ADDRESS`: lift a fail2ban ban on the mail ports.
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use color_eyre::eyre::{eyre, WrapErr};
use mailstead_answers::rules;
use mailstead_engine::{Cmd, Host};

/// Let a banned address reach the mail ports again
///
/// fail2ban bans an address for an hour after 5 failed IMAP/POP3 logins, or 10 failed SMTP AUTH attempts, within 10
/// minutes: Postfix logs each mechanism a client tries, and most try PLAIN then LOGIN, so
/// that is 5 wrong passwords too; `mailstead check` lists the bans. Exit 2 when ADDRESS is
/// not an IP address or is not banned.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead unban 192.0.2.7
  mailstead unban 2001:db8::7")]
pub struct Args {
    /// The banned address, IPv4 or IPv6, as `mailstead check` lists it (e.g. 192.0.2.7).
    #[arg(value_name = "ADDRESS")]
    pub address: String,
}

/// `mailstead unban ADDRESS`: `fail2ban-client unban ADDRESS` (fail2ban-client(1)), which
/// lifts the address's bans in every jail and prints in how many. Bad input (not one IP
/// address) and an address no jail bans exit 2, changing nothing.
pub fn unban(s: &Session, address: &str) -> CliResult {
    let ip = rules::ip_address("ADDRESS", address).map_err(|p| {
        CliError::bad_input(format!("{}: {}", p.field, p.message))
            .with_fix(p.fix)
            .nothing_changed()
    })?;
    let cmd = Cmd::new("fail2ban-client", ["unban", &ip.to_string()])
        .timeout(std::time::Duration::from_secs(30));
    let out = s.host.run(&cmd).wrap_err(
        "starting fail2ban-client (is fail2ban installed? `mailstead install` sets it up)",
    )?;
    if !out.success() {
        return Err(
            CliError::failed(eyre!("fail2ban did not lift the ban: {}", out.tail(2))).with_fix(
                "is fail2ban running? `systemctl status fail2ban`, `journalctl -u fail2ban`",
            ),
        );
    }
    match out.stdout.trim().parse::<u32>() {
        Ok(0) => Err(CliError::bad_input(format!("{ip} is not banned"))
            .with_fix("`mailstead check` lists the banned addresses (check `bans`)")
            .nothing_changed()),
        Ok(n) => {
            println!(
                "{ip} is no longer banned ({n} jail{}): it can reach the mail ports again",
                if n == 1 { "" } else { "s" }
            );
            Ok(exit::DONE)
        }
        Err(_) => Err(CliError::failed(eyre!(
            "unexpected answer from `{cmd}`: {}",
            out.stdout.trim()
        ))),
    }
}
