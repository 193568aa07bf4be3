//! `mailstead completions SHELL`: shell completions on stdout.
use crate::error::CliResult;
use crate::help;

/// Print shell completions to stdout
///
/// It prints only; nothing is changed.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead completions bash > /usr/share/bash-completion/completions/mailstead
  mailstead completions zsh > /usr/share/zsh/vendor-completions/_mailstead
  mailstead completions fish \\
      > /usr/share/fish/vendor_completions.d/mailstead.fish
  source <(mailstead completions bash)      this bash session only")]
pub struct Args {
    /// The shell to write completions for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `cli`: the whole command line's definition, which the completions are made from.
pub fn run(cli: clap::Command, args: &Args) -> CliResult {
    help::completions(cli, args.shell)
}
