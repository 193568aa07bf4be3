//! `mailstead retry-certificate`: try again to get the TLS certificate from the CA.
use super::flags;
use super::run::{install, Next};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::out;
use color_eyre::eyre::eyre;

/// Try again to get the TLS certificate from the CA
///
/// Meanwhile a temporary self-signed certificate is served; once the CA's is issued, Postfix
/// and Dovecot switch to it. mailstead-certificate.timer runs this every 15 minutes.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead retry-certificate --yes --plain
  systemctl start mailstead-certificate     the same, as the timer runs it")]
pub struct Args {
    #[command(flatten)]
    pub flags: flags::Apply,
}

/// certbot alone first (no run is recorded for an attempt that fails: the timer tries every
/// 15 minutes); once the certificate exists, the install again, which switches Postfix and
/// Dovecot to it (one reload each) and removes the timer.
pub fn retry_certificate(s: &Session) -> CliResult {
    use mailstead_steps::tls::retry::{obtain, RetryError};
    let answers = s.load_answers()?;
    match obtain(&s.host, &answers, &mut |line| out::line(line)) {
        Ok(_) => {}
        Err(RetryError::Probe(e)) => return Err(e.into()),
        Err(RetryError::NoChallenge(why)) => return Err(CliError::bad_input(why).nothing_changed()),
        Err(RetryError::Start { cmd, error }) => {
            return Err(color_eyre::Report::new(error)
                .wrap_err(format!("starting `{cmd}`"))
                .into())
        }
        Err(RetryError::Failed(why)) => {
            return Err(CliError::new(eyre!("{why}"), exit::FAILED_ROLLED_BACK).nothing_changed())
        }
    }
    install(s, Some(answers), Next::Outcome)
}
