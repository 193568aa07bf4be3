//! `mailstead remove-domain NAME`: the domain leaves the answers file and the server.
use super::edit::{edit_answers, find_domain, rule};
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use color_eyre::eyre::Result;
use mailstead_answers::{rules, Answers};

/// Remove a mail domain (its mail on disk is kept)
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead remove-domain example.org")]
pub struct Args {
    /// The configured domain to remove, e.g. example.org.
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    edit_answers(s, |a| remove_domain(a, &args.name))
}

pub fn remove_domain(a: &mut Answers, name: &str) -> Result<()> {
    rule(rules::domain("NAME", name))?;
    find_domain(a, name)?;
    a.domains.retain(|d| !d.name.eq_ignore_ascii_case(name));
    Ok(())
}
