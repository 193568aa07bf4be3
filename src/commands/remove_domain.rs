//! `mailstead remove-domain NAME`: the domain leaves the answers file and the server.
use super::edit::edit_answers;
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use mailstead_answers::edit;

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
    edit_answers(s, |a| Ok(edit::remove_domain(a, &args.name)?))
}
