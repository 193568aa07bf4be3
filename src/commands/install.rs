//! `mailstead install`: configure the server as the answers file says.
//!
//! An installed server has one configuration, its answers file `/etc/mailstead/mailstead.yaml`
//! (issue 21): `install --config FILE` takes FILE into it (0600 root, mailbox passwords as
//! their hashes) by the run's first step, so every later command works without `--config`.
//! A FILE that differs from the server's file is shown as the differences and applied only
//! once confirmed (or with `--yes`), never silently swapped.
use super::flags;
use super::run::{self, Loaded, Next};
use super::session::Session;
use super::wizard;
use crate::error::{CliError, CliResult};
use crate::ui::{self, out};
use mailstead_answers::{self as config, Answers, Secret};
use mailstead_engine::Step;
use mailstead_steps::answers::SaveAnswers;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Configure the server as the answers file says
///
/// On a terminal with no answers file (and neither --config nor --yes), the wizard asks the
/// questions and writes it first. An answers file given with --config becomes the server's
/// own (/etc/mailstead/mailstead.yaml), so later commands need no --config.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead install --config /etc/mailstead/mailstead.yaml --yes
  mailstead install --plain --verbose")]
pub struct Args {
    #[command(flatten)]
    pub flags: flags::Apply,
    /// The wizard's suggestions, from an answers file: Enter on a question takes its answer
    /// (`mailstead demo` presets its throwaway server's this way). Only where the wizard asks.
    #[arg(long, value_name = "FILE")]
    pub defaults: Option<PathBuf>,
}

pub fn run(s: &Session, defaults: Option<&Path>) -> CliResult {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    // On a terminal without an answers file: the wizard writes one (as `--help` says).
    let no_wizard = no_wizard_because(
        s.flags.yes,
        s.flags.config.is_some(),
        s.config_path().exists(),
        interactive,
    );
    match (no_wizard, defaults) {
        (None, None) => wizard::install(s, None),
        (None, Some(path)) => {
            let d = config::load(path).map_err(|e| {
                CliError::bad_input(format!(
                    "{} (--defaults) is not valid; nothing was changed:\n{e}",
                    path.display()
                ))
            })?;
            wizard::install(s, Some(&d))
        }
        (Some(why), Some(path)) => Err(CliError::bad_input(format!(
            "--defaults {} is for the wizard's questions, and they are not asked: {why}",
            path.display()
        ))
        .with_fix("leave out --defaults (or --yes and --config) and run it on a terminal")
        .nothing_changed()),
        (Some(_), None) => run::install(s, None, Next::Server),
    }
}

/// Why `install` runs without the wizard, or `None` when the wizard asks: not with `--yes`,
/// `--config`, an answers file on the server, or without a terminal on stdin and stdout.
fn no_wizard_because(
    yes: bool,
    config: bool,
    server_file: bool,
    interactive: bool,
) -> Option<&'static str> {
    if yes {
        Some("--yes asks nothing")
    } else if config {
        Some("--config gives the answers")
    } else if server_file {
        Some("this server has its answers file already")
    } else if !interactive {
        Some("stdin and stdout are not both a terminal")
    } else {
        None
    }
}

/// How the answers an install applies relate to the server's own answers file.
#[derive(Debug, Clone, PartialEq)]
pub enum Adopted {
    /// The server's own file, applied as it is (never rewritten by an install: a rollback
    /// puts back exactly what was there, and no snapshot takes a copy of it). `plaintext`:
    /// the admin wrote mailbox passwords into it in plain text; the next add-/remove- command
    /// saves it with their hashes only.
    ServerFile { plaintext: bool },
    /// Another file (`from`) becomes the server's file: there was none, or the admin
    /// confirmed the differences. `plaintext`: `from` holds mailbox passwords in plain text.
    Taken { from: PathBuf, plaintext: bool },
    /// Another file that says what the server's file says already.
    Same { from: PathBuf, plaintext: bool },
}

/// Whether any mailbox of `a` has a plaintext `password` (a relay password is no mailbox's).
fn plaintext_mailbox_password(a: &Answers) -> bool {
    a.all_mailboxes().any(|m| m.password.is_some())
}

/// The answers an install applies, with the step that saves them as the server's file when
/// another file is given and the server's file does not say the same already (a first
/// install with `--config`, a file that differs and was confirmed, or one that says the same
/// while the server's file holds plaintext mailbox passwords).
/// Read under the lock. Errors (exit 2, nothing changed): an answers file that is missing or
/// invalid; a `--config` that differs from the server's file, not confirmed.
/// Returns the answers and steps, how they relate to the server's file, and the YAML the
/// save step writes (if any).
pub fn server_answers(s: &Session) -> Result<(Loaded, Adopted, Option<String>), CliError> {
    let given = s.load_answers()?;
    let from = s.config_path();
    let same_file = s.config_is_server_file();
    let server_path = s.server_config_path();
    let server_exists = std::fs::symlink_metadata(&server_path).is_ok();
    let previous = if same_file {
        Some(given.clone())
    } else if server_exists {
        config::load(&server_path).ok()
    } else {
        None
    };
    let plaintext = plaintext_mailbox_password(&given);
    let mut answers = given;
    // Another file is saved as the server's, with hashes only. A mailbox whose password
    // verifies against the hash the server's file has keeps that hash: the same file given
    // again is the same configuration, and the mailbox step writes nothing new. The server's
    // own file is applied as it is (the mailbox step reuses the hashes it wrote before).
    if !same_file {
        hash(config::edit::hash_passwords_reusing(
            &mut answers,
            previous.as_ref(),
        ))?;
    }
    let differs = !same_file
        && match &previous {
            Some(p) => {
                let mut p = p.clone();
                hash(config::edit::hash_passwords_reusing(&mut p, Some(&answers)))?;
                p != answers
            }
            // An unreadable server file is replaced only as a difference is: confirmed.
            None => server_exists,
        };
    let server_plaintext = previous.as_ref().is_some_and(plaintext_mailbox_password);
    if differs {
        confirm_replacing(s, &from, &server_path, previous.as_ref(), &answers)?;
    }
    let need_save = !same_file && (!server_exists || differs || server_plaintext);
    let mut steps: Vec<Box<dyn Step<Answers>>> = Vec::new();
    let saved = need_save.then(|| config::to_yaml(&answers));
    if let Some(yaml) = &saved {
        steps.push(Box::new(SaveAnswers {
            path: PathBuf::from(config::DEFAULT_PATH),
            yaml: yaml.clone(),
        }));
    }
    let adopted = if same_file {
        Adopted::ServerFile {
            plaintext: server_plaintext,
        }
    } else if need_save {
        Adopted::Taken { from, plaintext }
    } else {
        Adopted::Same { from, plaintext }
    };
    Ok(((answers, steps), adopted, saved))
}

fn hash(r: Result<(), config::edit::EditError>) -> Result<(), CliError> {
    r.map_err(|e| CliError::failed(color_eyre::eyre::eyre!("{e}")))
}

/// `a` as YAML for showing, the relay password hidden: `changed` says only whether it is a
/// new one.
fn shown(a: &Answers, changed: bool) -> String {
    let mut a = a.clone();
    if let Some(r) = a.relay_host.as_mut() {
        r.password = Secret::new(if changed {
            "(hidden, changed)"
        } else {
            "(hidden)"
        });
    }
    config::to_yaml(&a)
}

/// Shows how `new` (from `from`) differs from the server's answers, then asks; with `--yes`
/// only shows. Error (exit 2, nothing changed): not confirmed, or no one to ask.
fn confirm_replacing(
    s: &Session,
    from: &Path,
    server: &Path,
    previous: Option<&Answers>,
    new: &Answers,
) -> Result<(), CliError> {
    let relay_pw = |a: &Answers| a.relay_host.as_ref().map(|r| r.password.clone());
    let changed = previous.is_some_and(|p| relay_pw(p).is_some() && relay_pw(p) != relay_pw(new));
    let before = previous.map(|p| shown(p, false)).unwrap_or_default();
    let diff = mailstead_engine::change::unified_diff(server, &before, &shown(new, changed));
    out::err_line(format_args!(
        "{} differs from this server's answers file {}{}:",
        from.display(),
        server.display(),
        if previous.is_none() {
            " (which cannot be read as answers)"
        } else {
            ""
        }
    ));
    out::err_text(&diff);
    if s.flags.yes {
        out::err_line(format_args!(
            "--yes: {} becomes the server's answers file.",
            from.display()
        ));
        return Ok(());
    }
    let question = format!(
        "Make {} this server's configuration, with these differences?",
        from.display()
    );
    if ui::ask_yes_no(&question, "") {
        return Ok(());
    }
    Err(CliError::bad_input(format!(
        "{} differs from this server's answers file {} (the differences are above); nothing was changed",
        from.display(),
        server.display()
    ))
    .with_fix(
        "re-run on a terminal to confirm, or with --yes to make it the server's configuration; \
         without --config the server's own file is used",
    ))
}

/// Says, after the run, what became of the answers file given: where the server's
/// configuration now is, and that a file holding plaintext passwords can be deleted. Nothing
/// about a change the run did not keep (`saved` is not in the server's file: the run failed
/// and was rolled back).
pub fn say_adopted(s: &Session, adopted: &Adopted, saved: Option<&str>) {
    let server = s.server_config_path();
    let kept = saved.is_some_and(|yaml| {
        std::fs::read_to_string(&server).is_ok_and(|now| now.trim_end() == yaml.trim_end())
    });
    let plaintext_note = |from: &Path| {
        out::line(format_args!(
            "{} still holds mailbox passwords in plain text; the server keeps only their hashes \
             and no longer needs it: delete it (`rm {}`).",
            from.display(),
            from.display()
        ))
    };
    match adopted {
        Adopted::ServerFile { plaintext: true } => out::line(format_args!(
            "{} holds mailbox passwords in plain text (0600 root); the server uses only their \
             hashes. The next add-/remove- command saves it with the hashes only, or write \
             each as `password_hash:` yourself (`doveadm pw -s SHA512-CRYPT`).",
            server.display()
        )),
        Adopted::ServerFile { .. } => {}
        Adopted::Taken { from, plaintext } if kept => {
            out::line(format_args!(
                "{} is now this server's answers file: {} (0600 root, mailbox passwords as \
                 hashes). Later commands read it; they need no --config.",
                from.display(),
                server.display()
            ));
            if *plaintext {
                plaintext_note(from);
            }
        }
        Adopted::Taken { .. } => {}
        Adopted::Same { from, plaintext } => {
            out::line(format_args!(
                "{} says what this server's answers file {} says; later commands read that \
                 file and need no --config.",
                from.display(),
                server.display()
            ));
            if *plaintext {
                plaintext_note(from);
            }
        }
    }
}
