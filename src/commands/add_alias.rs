//! `mailstead add-alias FROM TO`: mail to FROM goes to TO.
use super::edit::{domain_of, edit_answers, find_domain, rule};
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{self as config, rules, Answers};

/// Add an alias: mail to FROM goes to TO
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead add-alias info@example.org alice@example.org
  mailstead add-alias team@example.org alice@example.org,bob@example.net")]
pub struct Args {
    /// The alias address, user@domain on a configured domain (e.g. info@example.org);
    /// catch-alls (@example.org) are not supported.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// Where its mail goes: one address, or several separated by commas
    /// (e.g. alice@example.org,bob@example.net).
    #[arg(value_name = "TO")]
    pub to: String,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    edit_answers(s, |a| add_alias(a, &args.from, &args.to))
}

pub fn add_alias(a: &mut Answers, from: &str, to: &str) -> Result<()> {
    rule(rules::mailbox_address("FROM", from))?;
    rule(rules::alias_targets("TO", to))?;
    let domain = find_domain(a, domain_of(from)?)?;
    if domain
        .aliases
        .iter()
        .any(|x| x.from.eq_ignore_ascii_case(from))
    {
        return Err(eyre!("alias {from} already exists (remove it first)"));
    }
    domain.aliases.push(config::Alias {
        from: from.to_string(),
        to: to.to_string(),
    });
    Ok(())
}
