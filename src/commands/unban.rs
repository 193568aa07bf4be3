//! `mailstead unban ADDRESS`: lift a fail2ban ban on the mail ports.
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::out;
use color_eyre::eyre::eyre;
use mailstead_answers::rules;

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
    use mailstead_steps::bans::unban::{unban, UnbanError};
    let ip = rules::ip_address("ADDRESS", address).map_err(|p| {
        CliError::bad_input(format!("{}: {}", p.field, p.message))
            .with_fix(p.fix)
            .nothing_changed()
    })?;
    let e = match unban(&s.host, ip) {
        Ok(done) => {
            out::line(done.message());
            return Ok(exit::DONE);
        }
        Err(e) => e,
    };
    let (message, fix) = (e.message(), e.fix());
    Err(match e {
        UnbanError::Start(error) => color_eyre::Report::new(error).wrap_err(message).into(),
        UnbanError::NotBanned(_) => CliError::bad_input(message)
            .with_fix(fix.unwrap_or_default())
            .nothing_changed(),
        UnbanError::Failed { .. } | UnbanError::Unexpected { .. } => {
            let err = CliError::failed(eyre!("{message}"));
            match fix {
                Some(fix) => err.with_fix(fix),
                None => err,
            }
        }
    })
}
