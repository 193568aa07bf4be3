//! `mailstead install`: configure the server as the answers file says.
use super::flags;
use super::run::{self, Next};
use super::session::Session;
use super::wizard;
use crate::error::CliResult;
use std::io::IsTerminal;

/// Configure the server as the answers file says
///
/// On a terminal with no answers file (and neither --config nor --yes), the wizard asks the
/// questions and writes it first.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead install --config /etc/mailstead/mailstead.yaml --yes
  mailstead install --plain --verbose")]
pub struct Args {
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session) -> CliResult {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // On a terminal without an answers file: the wizard writes one (as `--help` says).
    if !s.flags.yes && !s.config_path().exists() && interactive && s.flags.config.is_none() {
        return wizard::install(s);
    }
    run::install(s, None, Next::Server)
}
