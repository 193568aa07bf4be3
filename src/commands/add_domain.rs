//! `mailstead add-domain NAME`: a new mail domain, in the answers file and on the server.
use super::edit::{edit_answers_then, rule};
use super::flags;
use super::run::Next;
use super::session::Session;
use crate::error::CliResult;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{self as config, rules, Answers};

/// Add a mail domain and apply it
///
/// The domain goes into the answers file, and the server is configured for it in the same
/// run.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead add-domain example.org")]
pub struct Args {
    /// The domain name, e.g. example.org (a DNS name, in lowercase).
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    let name = &args.name;
    edit_answers_then(s, |a| add_domain(a, name), Next::Domain(name.clone()))
}

pub fn add_domain(a: &mut Answers, name: &str) -> Result<()> {
    rule(rules::domain("NAME", name))?;
    if a.domains.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
        return Err(eyre!("domain {name} is already configured"));
    }
    a.domains.push(config::Domain {
        name: name.to_string(),
        mailboxes: vec![],
        aliases: vec![],
        default_aliases: true,
    });
    Ok(())
}
