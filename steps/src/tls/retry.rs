//! `mailstead retry-certificate`'s first half: certbot alone, when the CA's certificate is not
//! there yet (no run is recorded for an attempt that fails: the timer tries every 15 minutes).
//! The CLI then runs the install again, which switches Postfix and Dovecot to the certificate
//! and removes the timer. Returns data; the lines to show go to `say` as they come.
use super::{certbot_cmd, explain_certbot};
use crate::facts::{challenge_for, Certificates, Listeners};
use crate::support::shown;
use color_eyre::eyre::Report;
use mailstead_answers::Answers;
use mailstead_engine::{Fact, Host};

/// What the attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obtained {
    /// The certificate was there already: certbot did not run.
    AlreadyThere,
    /// certbot issued it now.
    Issued,
}

/// Why no certificate was obtained (nothing was changed).
#[derive(Debug)]
pub enum RetryError {
    /// The certificates or the listening sockets could not be read.
    Probe(Report),
    /// No way to answer the CA's challenge here (bad input): the reason.
    NoChallenge(String),
    /// certbot could not be started.
    Start { cmd: String, error: std::io::Error },
    /// certbot failed: what it said, explained ([`explain_certbot`]).
    Failed(String),
}

/// Runs certbot for the answers' hostname unless its certificate is there. `say` gets each
/// line to show: the command, then certbot's output as `  | LINE`, then the outcome.
pub fn obtain(
    host: &dyn Host,
    answers: &Answers,
    say: &mut dyn FnMut(&str),
) -> Result<Obtained, RetryError> {
    let fqdn = answers.hostname.trim().to_ascii_lowercase();
    if Certificates::probe(host)
        .map_err(RetryError::Probe)?
        .present(&fqdn)
    {
        return Ok(Obtained::AlreadyThere);
    }
    let listeners = Listeners::probe(host).map_err(RetryError::Probe)?;
    let challenge = challenge_for(&listeners).map_err(RetryError::NoChallenge)?;
    let cmd = certbot_cmd(answers, &fqdn, &challenge, false);
    say(&cmd.to_string());
    let out = host
        .run_streaming(&cmd, &mut |line| say(&format!("  | {}", shown(line))))
        .map_err(|error| RetryError::Start {
            cmd: cmd.to_string(),
            error,
        })?;
    if !out.success() {
        return Err(RetryError::Failed(explain_certbot(&out)));
    }
    say(&format!(
        "certificate issued for {fqdn}: switching Postfix and Dovecot to it"
    ));
    Ok(Obtained::Issued)
}
