//! `mailstead remove-alias FROM`: the alias leaves the answers file and the server.
use super::edit::{domain_of, edit_answers, find_domain, rule};
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{rules, Answers};

/// Remove an alias
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead remove-alias info@example.org")]
pub struct Args {
    /// The alias address, user@domain (e.g. info@example.org).
    #[arg(value_name = "FROM")]
    pub from: String,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    edit_answers(s, |a| remove_alias(a, &args.from))
}

pub fn remove_alias(a: &mut Answers, from: &str) -> Result<()> {
    rule(rules::mailbox_address("FROM", from))?;
    let domain = find_domain(a, domain_of(from)?)?;
    let n = domain.aliases.len();
    domain
        .aliases
        .retain(|x| !x.from.eq_ignore_ascii_case(from));
    if domain.aliases.len() == n {
        return Err(eyre!("no alias {from}"));
    }
    Ok(())
}
