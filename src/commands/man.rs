//! `mailstead man`: the man page (roff) on stdout.
use crate::error::CliResult;
use crate::help;

/// Print the man page (roff) to stdout
///
/// It prints only; nothing is changed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead man | man -l -
  mailstead man > /usr/share/man/man1/mailstead.1")]
pub struct Args {}

/// `cli`: the whole command line's definition, which the page is made from.
pub fn run(cli: clap::Command) -> CliResult {
    help::man(cli)
}
