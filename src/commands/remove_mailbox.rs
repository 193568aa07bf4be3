//! `mailstead remove-mailbox ADDRESS`: the mailbox leaves the answers file and the server.
use super::edit::{domain_of, edit_answers, find_domain, rule};
use super::flags;
use super::session::Session;
use crate::error::CliResult;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{rules, Answers};

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
    edit_answers(s, |a| remove_mailbox(a, &args.address))
}

pub fn remove_mailbox(a: &mut Answers, address: &str) -> Result<()> {
    rule(rules::mailbox_address("ADDRESS", address))?;
    let domain = find_domain(a, domain_of(address)?)?;
    let n = domain.mailboxes.len();
    domain
        .mailboxes
        .retain(|m| !m.address.eq_ignore_ascii_case(address));
    if domain.mailboxes.len() == n {
        return Err(eyre!("no mailbox {address}"));
    }
    Ok(())
}
