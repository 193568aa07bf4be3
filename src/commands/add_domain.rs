//! `mailstead add-domain NAME`: a new mail domain, in the answers file and on the server.
use super::edit::edit_answers_then;
use super::flags;
use super::run::Next;
use super::session::Session;
use crate::error::CliResult;
use mailstead_answers::edit;

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
    edit_answers_then(
        s,
        |a| Ok(edit::add_domain(a, name)?),
        Next::Domain(name.clone()),
    )
}
