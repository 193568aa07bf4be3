//! The command line: the top-level flags, the commands (each defined in its own file under
//! `commands/`, with its arguments and help), and the dispatch to them. Every command: load
//! and validate the answers (bad input exits 2 before anything is touched), take the lock,
//! recover an interrupted run, then let the engine work.
use crate::commands::session::{Flags, Session};
use crate::commands::{
    add_alias, add_domain, add_mailbox, check, completions, demo, dkim, dns, install, man, menu,
    plan, recover, remove_alias, remove_domain, remove_mailbox, retry_certificate, rollback, runs,
    unban,
};
use crate::error::{self, CliError, CliResult};
use clap::{CommandFactory, Parser, Subcommand};
use mailstead_engine::journal;
use mailstead_engine::RealHost;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "mailstead",
    version,
    about = "Turns a fresh Debian server into a working, secure mail server (Postfix, Dovecot, rspamd).",
    long_about = "Turns a fresh Debian 12 or 13 server into a working, secure mail server \
(Postfix, Dovecot, rspamd, fail2ban), and adds domains, mailboxes and aliases later. Without a command: the \
wizard on a fresh server, a menu on a configured one.",
    after_help = "Examples:
  mailstead                  wizard (fresh server) or menu (configured one)
  mailstead plan             show what a run would change, as diffs
  mailstead install --config answers.yaml --yes
                             unattended install from an answers file
  mailstead add-domain example.org
  mailstead add-mailbox alice@example.org --password-stdin < pw.txt
  mailstead add-alias info@example.org alice@example.org,bob@example.org
  mailstead rollback         undo the newest run
  mailstead completions bash > /usr/share/bash-completion/completions/mailstead
  mailstead man | man -l -

Exit codes: 0 done, 1 a step failed and was rolled back, 2 bad input or refused (nothing \
changed), 3 a rollback could not restore everything, 4 interrupted; `check`: 0 all pass, \
5 warnings only, 1 a failure."
)]
pub struct Args {
    /// Act on a directory tree instead of / (tests): every path lives under DIR and
    /// commands run through `chroot DIR`.
    #[arg(long, global = true, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
    // The five flags below act on the wizard and the menu (no command). Written before a
    // command (`mailstead --yes install`) they act on it as its own would.
    /// The answers file, YAML [default: /etc/mailstead/mailstead.yaml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ask nothing: refuse to overwrite hand-edited files, roll back interrupted runs.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With --yes: overwrite files edited by hand since mailstead wrote them.
    #[arg(long)]
    pub force: bool,
    /// Plain line-by-line output instead of the live dashboard.
    #[arg(long)]
    pub plain: bool,
    /// Show every detail (notes, commands).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Run the engine's demo steps (they touch only /etc/demo); for the engine's own tests.
    #[arg(long, global = true, hide = true)]
    pub demo: bool,
    /// Run only these steps (comma-separated names); for tests and debugging.
    #[arg(long, global = true, hide = true, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands, in the order `--help` lists them; each one's summary and help are in its
/// file under `commands/`.
#[derive(Subcommand, Debug)]
pub enum Command {
    Install(install::Args),
    Plan(plan::Args),
    AddDomain(add_domain::Args),
    AddMailbox(add_mailbox::Args),
    AddAlias(add_alias::Args),
    RemoveDomain(remove_domain::Args),
    RemoveMailbox(remove_mailbox::Args),
    RemoveAlias(remove_alias::Args),
    Runs(runs::Args),
    Rollback(rollback::Args),
    Recover(recover::Args),
    Check(check::Args),
    Unban(unban::Args),
    Dns(dns::Args),
    RetryCertificate(retry_certificate::Args),
    /// DKIM keys: rotate a domain's signing key
    #[command(subcommand)]
    Dkim(dkim::Command),
    Completions(completions::Args),
    Demo(demo::Args),
    Man(man::Args),
}

impl Command {
    /// Commands that only read (their output may go to `head`; a closed pipe ends them quietly).
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Plan(_) | Command::Runs(_) | Command::Check(_) | Command::Dns(_)
        )
    }
}

pub fn run(args: Args) -> i32 {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if !root.is_dir() {
        return error::report(&CliError::bad_input(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }
    let s = Session {
        flags: flags(&args),
        host: RealHost::new(root),
        state_dir: PathBuf::from(journal::STATE_DIR),
    };
    mailstead_engine::interrupt::install_handler();
    match dispatch(&s, args.command.as_ref()) {
        Ok(code) => code,
        Err(e) => error::report(&e),
    }
}

/// The top level's flags, then the command's own on top.
fn flags(args: &Args) -> Flags {
    let mut f = Flags {
        config: args.config.clone(),
        yes: args.yes,
        force: args.force,
        plain: args.plain,
        verbose: args.verbose,
        demo: args.demo,
        only: args.only.clone(),
        no_command: args.command.is_none(),
    };
    match &args.command {
        None | Some(Command::Runs(_) | Command::Unban(_) | Command::Completions(_)) => {}
        Some(Command::Man(_) | Command::Demo(_)) => {}
        Some(Command::Install(a)) => _ = f.apply(&a.flags),
        Some(Command::AddDomain(a)) => _ = f.apply(&a.flags),
        Some(Command::AddMailbox(a)) => _ = f.apply(&a.flags),
        Some(Command::AddAlias(a)) => _ = f.apply(&a.flags),
        Some(Command::RemoveDomain(a)) => _ = f.apply(&a.flags),
        Some(Command::RemoveMailbox(a)) => _ = f.apply(&a.flags),
        Some(Command::RemoveAlias(a)) => _ = f.apply(&a.flags),
        Some(Command::RetryCertificate(a)) => _ = f.apply(&a.flags),
        Some(Command::Dkim(dkim::Command::Rotate(a))) => _ = f.apply(&a.flags),
        Some(Command::Plan(a)) => {
            f.config(&a.config);
            f.verbose |= a.verbose;
            f.plain |= a.plain;
        }
        Some(Command::Check(a)) => {
            f.config(&a.config);
            f.plain |= a.plain;
        }
        Some(Command::Dns(a)) => _ = f.config(&a.config),
        Some(Command::Rollback(a)) => {
            f.yes |= a.yes;
            f.force |= a.force;
            f.output(&a.output);
        }
        Some(Command::Recover(a)) => {
            f.yes |= a.yes;
            f.output(&a.output);
        }
    }
    f
}

fn dispatch(s: &Session, command: Option<&Command>) -> CliResult {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let Some(command) = command else {
        if interactive {
            return menu::start(s);
        }
        return Err(
            CliError::bad_input("no command and no terminal to ask on").with_fix(
                "run `mailstead install --config FILE --yes` with an answers file (see the README), \
                 or `mailstead --help`",
            ),
        );
    };
    match command {
        Command::Install(a) => install::run(s, a.defaults.as_deref()),
        Command::Plan(_) => plan::run(s),
        Command::AddDomain(a) => add_domain::run(s, a),
        Command::AddMailbox(a) => add_mailbox::run(s, a),
        Command::AddAlias(a) => add_alias::run(s, a),
        Command::RemoveDomain(a) => remove_domain::run(s, a),
        Command::RemoveMailbox(a) => remove_mailbox::run(s, a),
        Command::RemoveAlias(a) => remove_alias::run(s, a),
        Command::Runs(_) => runs::run(s),
        Command::Rollback(a) => rollback::run(s, a),
        Command::Recover(_) => recover::run(s),
        Command::Check(a) => check::run(s, a.json),
        Command::Unban(a) => unban::unban(s, &a.address),
        Command::Dns(a) => dns::run(s, a),
        Command::RetryCertificate(_) => retry_certificate::retry_certificate(s),
        Command::Dkim(c) => dkim::run(s, c),
        Command::Completions(a) => completions::run(Args::command(), a),
        Command::Man(_) => man::run(Args::command()),
        Command::Demo(a) => demo::run(a, s.flags.yes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("mailstead").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_before_the_command_act_on_it() {
        // As the sandbox tests and the engine's own hint (`mailstead --yes`) write them.
        let f = flags(
            &parse(&[
                "--demo", "--yes", "--plain", "--config", "a.yaml", "install",
            ])
            .unwrap(),
        );
        assert!(f.yes && f.plain && f.demo && !f.force && !f.no_command);
        assert_eq!(f.config, Some(PathBuf::from("a.yaml")));
        // The command's own win (--config) or add up (the switches).
        let f = flags(&parse(&["--config", "a.yaml", "rollback", "--force", "-v"]).unwrap());
        assert!(f.force && f.verbose && !f.yes);
        let f = flags(&parse(&["--config", "a", "add-domain", "x.test", "--config", "b"]).unwrap());
        assert_eq!(f.config, Some(PathBuf::from("b")));
        let f = flags(&parse(&["dkim", "rotate", "x.test", "--yes", "--plain"]).unwrap());
        assert!(f.yes && f.plain);
        assert!(flags(&parse(&[]).unwrap()).no_command);
    }

    #[test]
    fn a_flag_that_does_nothing_on_a_command_is_refused() {
        for args in [
            &["dns", "--yes"][..],
            &["dns", "--force"],
            &["dns", "--plain"],
            &["runs", "--plain"],
            &["unban", "192.0.2.7", "--yes"],
            &["recover", "--force"],
            &["demo", "--config", "a.yaml"],
            &["check", "--yes"],
            &["completions", "bash", "--verbose"],
        ] {
            let e = parse(args).expect_err(&format!("{args:?} is accepted"));
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn plan_and_check_take_plain_as_scripts_pass_it() {
        // Always plain output there; the booted tests pass it (`plan --plain`, `check --plain`).
        let f = flags(&parse(&["plan", "--plain", "--verbose"]).unwrap());
        assert!(f.plain && f.verbose);
        assert!(flags(&parse(&["check", "--plain", "--json"]).unwrap()).plain);
    }

    #[test]
    fn demo_takes_its_own_yes() {
        let a = parse(&["demo", "--yes", "--keep"]).unwrap();
        let Some(Command::Demo(d)) = &a.command else {
            panic!("{a:?}")
        };
        assert!(d.yes && d.keep);
    }
}
