//! `mailstead add-alias FROM TO`: mail to FROM goes to TO.
use super::edit::edit_answers;
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use mailstead_answers::edit;

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
    edit_answers(s, |a| Ok(edit::add_alias(a, &args.from, &args.to)?))
}
