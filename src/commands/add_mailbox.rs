//! `mailstead add-mailbox ADDRESS`: a new mailbox; its password asked or read from stdin.
use super::edit::edit_answers;
use super::flags;
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui;
use color_eyre::eyre::WrapErr;
use mailstead_answers::edit;
use mailstead_answers::rules;
use mailstead_engine::Secret;
use std::io::Read;

/// Add a mailbox (password asked, or read from stdin)
///
/// On a terminal the password is asked twice; elsewhere it is read from stdin
/// (--password-stdin).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead add-mailbox alice@example.org
  mailstead add-mailbox alice@example.org --password-stdin < pw.txt
  printf '%s\\n' \"$PASSWORD\" |
      mailstead add-mailbox alice@example.org --password-stdin --yes")]
pub struct Args {
    /// The mailbox's email address, user@domain (e.g. alice@example.org); the domain
    /// must already be configured (add-domain).
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// Read the password from stdin (one line, at least 12 characters) instead of
    /// asking; it is never taken from the command line. Only its hash is stored.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub flags: flags::Apply,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    let address = &args.address;
    let password = read_new_password(address, args.password_stdin)?;
    edit_answers(s, |a| Ok(edit::add_mailbox(a, address, &password)?))
}

/// A new mailbox password: from stdin with `--password-stdin`, else asked twice on the
/// terminal. Never from argv.
fn read_new_password(address: &str, from_stdin: bool) -> std::result::Result<Secret, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_to_string(&mut line)
            .wrap_err("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            return Err(CliError::bad_input("--password-stdin: stdin was empty")
                .with_fix("pipe the password in"));
        }
        let pw = Secret::new(pw);
        // The same rule as the answers file's `password`, before anything is read or written.
        if let Err(p) = rules::password("password", &pw) {
            return Err(CliError::bad_input(p).nothing_changed());
        }
        return Ok(pw);
    }
    ui::menu::ask_password(address).map_err(|e| {
        CliError::new(e, exit::BAD_INPUT)
            .with_fix("on a terminal the password is asked twice; elsewhere use --password-stdin")
    })
}
