//! `mailstead remove-mailbox ADDRESS`: the mailbox leaves the answers file and the server.
use super::edit::edit_answers;
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use mailstead_answers::edit;

/// Remove a mailbox (its mail on disk is kept)
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead remove-mailbox alice@example.org")]
pub struct Args {
    /// The mailbox's email address, user@domain (e.g. alice@example.org).
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    edit_answers(s, |a| Ok(edit::remove_mailbox(a, &args.address)?))
}
