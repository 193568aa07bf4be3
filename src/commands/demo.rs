//! `mailstead demo`: the dispatcher of the demo (`crate::demo` runs it).
use crate::demo::{DemoAction, Release};
use crate::error::CliResult;

/// Try it safely: a mail server in a throwaway Debian server
///
/// It installs a whole mail server inside a throwaway Debian server on this machine (booted
/// in Linux namespaces, as root), then proves it from outside: a message delivered and read
/// over IMAPS, one sent out DKIM-signed. It removes everything at the end.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  sudo mailstead demo --yes     generated answers, no questions (2-3 minutes)
  sudo mailstead demo           the wizard, inside the throwaway server
  sudo mailstead demo --release bookworm --keep
  sudo mailstead demo shell     a shell in a server kept with --keep
  sudo mailstead demo down      remove it

It installs its host tools with apt-get (it says which first): debootstrap, socat, pebble, \
dnsmasq, swaks, python3-aiosmtpd, python3-dkim... The base image is cached in \
/var/cache/mailstead-bed; nothing else stays. mailstead never runs against this machine.")]
pub struct Args {
    /// Debian release of the throwaway server.
    #[arg(long, value_enum, default_value_t = Release::Trixie)]
    pub release: Release,
    /// Leave the server running at the end (`mailstead demo shell` enters it,
    /// `mailstead demo down` removes it).
    #[arg(long)]
    pub keep: bool,
    /// No questions: generated answers (example.test, alice@example.test), and the install
    /// inside runs unattended.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(subcommand)]
    pub action: Option<DemoAction>,
}

/// `yes`: `--yes` given here or before the command (`mailstead --yes demo`).
pub fn run(args: &Args, yes: bool) -> CliResult {
    crate::demo::run(args.action, args.release, yes || args.yes, args.keep)
}
