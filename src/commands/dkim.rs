//! `mailstead dkim rotate DOMAIN [--published]`: the DKIM signer's key rotation.
use super::flags;
use super::run::{apply_steps, Next};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::out;
use mailstead_answers::Answers;
use mailstead_engine::Step;

/// `mailstead dkim ...` (its summary is on `cli::Command::Dkim`).
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Rotate(RotateArgs),
}

/// Rotate a domain's DKIM key, in two runs
///
/// The first run makes the new key (not signing yet) and prints its DNS record; the second, once the record is in DNS (looked up, or
/// confirmed with --published), signs with it. The old key stays on disk: keep its record
/// published until mail signed with it has arrived (a few days).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead dkim rotate example.org   prints the new TXT record to publish
  mailstead dkim rotate example.org   once published: signs with the new key
  mailstead dkim rotate example.org --published
                                      DNS not visible from here: you confirm")]
pub struct RotateArgs {
    /// The configured domain, e.g. example.org.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// The new key's record is published: switch without looking it up in DNS.
    #[arg(long)]
    pub published: bool,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, command: &Command) -> CliResult {
    match command {
        Command::Rotate(a) => dkim_rotate(s, &a.domain, a.published),
    }
}

/// Phase 1 makes the next key and prints its record; phase 2 (a newer key waits) looks the
/// record up in DNS (or takes `--published`) and switches signing to it. Both are runs of the
/// engine (`signer::Rotate`), journaled and rolled back on failure.
fn dkim_rotate(s: &Session, domain: &str, published: bool) -> CliResult {
    use mailstead_steps::signer::rotate::{finish, prepare, Prepared, RotateError};
    let answers = s.load_answers()?;
    let prepared = match prepare(&s.host, &answers, domain, published) {
        Ok(p) => p,
        Err(RotateError::UnknownDomain(d)) => {
            let (message, fix) = RotateError::unknown_domain(&d);
            return Err(CliError::bad_input(message).with_fix(fix));
        }
        Err(RotateError::Probe(e)) => return Err(CliError::new(e, exit::FAILED_ROLLED_BACK)),
    };
    let (step, state) = match prepared {
        Prepared::Publish { said } => {
            out::line(said);
            return Ok(exit::BAD_INPUT);
        }
        Prepared::Apply { step, state, said } => {
            for line in said {
                out::line(line);
            }
            (step, state)
        }
    };
    let code = apply_steps(
        s,
        || Ok((answers, vec![Box::new(step) as Box<dyn Step<Answers>>])),
        true,
        false,
        Next::Outcome,
    )?;
    if code != exit::DONE {
        return Ok(code);
    }
    if let Some(said) =
        finish(&s.host, domain, &state).map_err(|e| CliError::new(e, exit::FAILED_ROLLED_BACK))?
    {
        out::line(said);
    }
    Ok(code)
}
