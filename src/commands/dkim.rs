//! `mailstead dkim rotate DOMAIN [--published]`: the DKIM signer's key rotation.
use super::flags;
use super::run::{apply_steps, Next};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
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
    use mailstead_engine::Fact;
    use mailstead_steps::facts::{dkim_txt, DkimKeys};
    use mailstead_steps::signer::{rotate_state, today_selector, Rotate, RotateState};
    let domain = domain.trim().to_ascii_lowercase();
    let answers = s.load_answers()?;
    if !answers
        .domains
        .iter()
        .any(|d| d.name.trim().eq_ignore_ascii_case(&domain))
    {
        return Err(CliError::bad_input(format!(
            "DOMAIN: {domain:?} is not a configured domain; nothing was changed"
        ))
        .with_fix("give one of the domains of the answers file (add it first with add-domain)"));
    }
    let keys = DkimKeys::probe(&s.host).map_err(|e| CliError::new(e, exit::FAILED_ROLLED_BACK))?;
    let state = rotate_state(&keys, &domain, &today_selector());
    let mut confirmed = published;
    if let RotateState::Waiting {
        next, public_key, ..
    } = &state
    {
        let name = format!("{next}._domainkey.{domain}");
        if !confirmed {
            use mailstead_steps::resolver::Dns;
            let dns =
                Dns::probe(&s.host).map_err(|e| CliError::new(e, exit::FAILED_ROLLED_BACK))?;
            let txts = dns
                .resolver()
                .map_err(str::to_string)
                .and_then(|r| r.txt(&name).records());
            match txts {
                Ok(txts) if txts.iter().any(|t| dkim_p(t) == Some(public_key.as_str())) => {
                    println!("{name}: the new key's record is in DNS.");
                    confirmed = true;
                }
                Ok(_) => {
                    println!(
                        "{name} does not show the new key in DNS yet. Publish this TXT record:\n\n  {name}.  TXT  \"{}\"\n\nthen run `mailstead dkim rotate {domain}` again (or add --published if this server cannot see your DNS).",
                        dkim_txt(public_key)
                    );
                    return Ok(exit::BAD_INPUT);
                }
                Err(e) => {
                    println!(
                        "could not look {name} up in DNS ({e}). Publish this TXT record:\n\n  {name}.  TXT  \"{}\"\n\nthen run `mailstead dkim rotate {domain} --published` once it is.",
                        dkim_txt(public_key)
                    );
                    return Ok(exit::BAD_INPUT);
                }
            }
        }
    }
    let step = Rotate {
        domain: domain.clone(),
        published: confirmed,
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
    let after = DkimKeys::probe(&s.host).map_err(|e| CliError::new(e, exit::FAILED_ROLLED_BACK))?;
    match (&state, after.newest(&domain)) {
        (RotateState::Start { current, .. }, Some(new)) => {
            let name = format!("{}._domainkey.{domain}", new.selector);
            println!(
                "\nNew DKIM key for {domain}: selector {} (not signing yet; {current} still signs).\n\
                 Publish this TXT record, keeping {current}'s:\n\n  {name}.  TXT  \"{}\"\n\n\
                 Once it is in DNS, run `mailstead dkim rotate {domain}` again to sign with it.",
                new.selector,
                dkim_txt(&new.public_key)
            );
        }
        (RotateState::Waiting { current, next, .. }, _) => {
            println!(
                "\n{domain} now signs with selector {next}. Keep {current}._domainkey.{domain} \
                 published for a few days (mail signed with it may still be in transit); its key \
                 stays in /var/lib/rspamd/dkim."
            );
        }
        _ => {}
    }
    Ok(code)
}

/// The `p=` tag of a DKIM record, whitespace removed (RFC 6376 section 3.6.1).
fn dkim_p(txt: &str) -> Option<&str> {
    txt.split(';')
        .map(str::trim)
        .find_map(|t| t.strip_prefix("p="))
        .map(str::trim)
}
