//! `mailstead remove-alias FROM`: the alias leaves the answers file and the server.
use super::edit::edit_answers;
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use mailstead_answers::edit;

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
    edit_answers(s, |a| Ok(edit::remove_alias(a, &args.from)?))
}
