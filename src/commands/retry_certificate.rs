//! `mailstead retry-certificate`: try again to get the TLS certificate from the CA.
use super::flags;
use super::run::{install, Next};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use color_eyre::eyre::{eyre, WrapErr};
use mailstead_engine::Host;

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
    use mailstead_engine::Fact;
    use mailstead_steps::facts::{challenge_for, Certificates, Listeners};
    let answers = s.load_answers()?;
    let fqdn = answers.hostname.trim().to_ascii_lowercase();
    if !Certificates::probe(&s.host)?.present(&fqdn) {
        let challenge = challenge_for(&Listeners::probe(&s.host)?)
            .map_err(|why| CliError::bad_input(why).nothing_changed())?;
        let cmd = mailstead_steps::tls::certbot_cmd(&answers, &fqdn, &challenge, false);
        println!("{cmd}");
        let out = s
            .host
            .run_streaming(&cmd, &mut |line| println!("  | {line}"))
            .wrap_err_with(|| format!("starting `{cmd}`"))?;
        if !out.success() {
            return Err(CliError::new(
                eyre!("{}", mailstead_steps::tls::explain_certbot(&out)),
                exit::FAILED_ROLLED_BACK,
            )
            .nothing_changed());
        }
        println!("certificate issued for {fqdn}: switching Postfix and Dovecot to it");
    }
    install(s, Some(answers), Next::Outcome)
}
