//! `mailstead` with no command on a terminal: the wizard on a fresh server, the menu on a
//! configured one. The menu's actions are the commands' own runs.
use super::edit::edited_answers;
use super::run::{self, apply, plan_confirmed, Next};
use super::session::Session;
use super::{check, plan, rollback, runs, wizard};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::{self, out};
use color_eyre::eyre::Result;
use mailstead_answers::edit;
use mailstead_answers::Answers;
use mailstead_engine::journal::{self, Record, RunDir, RunId};
use mailstead_engine::Step;

/// No command on a terminal: the wizard on a fresh server, the menu on a configured one.
pub fn start(s: &Session) -> CliResult {
    let configured = s.config_path().exists();
    if !configured {
        return wizard::install(s, None);
    }
    interactive_menu(s)
}

/// The menu of a configured server. It comes back after every action, as a menu does: one
/// that went well, one that failed (its error or end block is said, then the menu again), one
/// left with Esc. It ends with Quit / Esc at the menu, or Ctrl-C (exit 4).
fn interactive_menu(s: &Session) -> CliResult {
    loop {
        match menu_action(s) {
            Ok(MENU_QUIT) => return Ok(exit::DONE),
            Ok(exit::INTERRUPTED) => return Ok(exit::INTERRUPTED),
            Ok(_) => {}
            Err(e) if e.code == exit::INTERRUPTED => return Err(e),
            Err(e) if is_canceled(&e) => out::err_line("Canceled; nothing was changed."),
            Err(e) => {
                crate::error::report(&e);
            }
        }
        out::err_line("");
    }
}

/// Esc at one of an action's questions: back to the menu, not an error.
fn is_canceled(e: &CliError) -> bool {
    e.error.as_ref().is_some_and(|r| {
        matches!(
            r.downcast_ref::<ui::wizard::WizardError>(),
            Some(ui::wizard::WizardError::Canceled)
        )
    })
}

/// One choice of the menu, done. Quit ends the loop through [`MENU_QUIT`].
fn menu_action(s: &Session) -> CliResult {
    use ui::menu::MenuChoice;
    let unfinished = unfinished_install(s);
    match ui::menu::main_menu(unfinished.as_deref())? {
        MenuChoice::FinishInstall => run::install(s, None, Next::Server),
        MenuChoice::AddDomain => {
            // The domain, then its first mailbox (postmaster@ and abuse@ go to it), in one
            // run; then that domain's DNS records.
            let answers = s.load_answers()?;
            let d = ui::menu::ask_domain(&answers)?;
            // The mailbox is checked against the answers as they will be: with the domain.
            let mut with_domain = answers;
            edit::add_domain(&mut with_domain, &d).map_err(CliError::bad_input)?;
            let (addr, pw) = ui::menu::ask_mailbox(&with_domain, std::slice::from_ref(&d))?;
            out::err_line(format_args!(
                "postmaster@{d} and abuse@{d} will go to {addr} (RFC 2142)."
            ));
            edit_answers_confirmed(
                s,
                |a| {
                    edit::add_domain(a, &d)?;
                    Ok(edit::add_mailbox(a, &addr, &pw)?)
                },
                Next::Domain(d.clone()),
            )
            // The records stay on screen until the admin has seen them.
            .inspect(|code| {
                if *code == exit::DONE {
                    ui::wait_for_enter("Press Enter to go back to the menu.")
                }
            })
        }
        MenuChoice::AddMailbox => {
            let (addr, pw) = ui::menu::ask_mailbox(&s.load_answers()?, &[])?;
            edit_answers_confirmed(s, |a| Ok(edit::add_mailbox(a, &addr, &pw)?), Next::Outcome)
        }
        MenuChoice::AddAlias => {
            let (from, to) = ui::menu::ask_alias(&s.load_answers()?)?;
            edit_answers_confirmed(s, |a| Ok(edit::add_alias(a, &from, &to)?), Next::Outcome)
        }
        MenuChoice::Check => check::run(s, false).map(|_| exit::DONE),
        MenuChoice::Plan => plan::run(s),
        MenuChoice::Rollback => rollback::rollback(s, None, false),
        MenuChoice::Runs => runs::run(s),
        MenuChoice::Quit => Ok(MENU_QUIT),
    }
}

/// Not an exit code anyone sees: the menu's Quit, turned into [`exit::DONE`] by
/// [`interactive_menu`].
const MENU_QUIT: i32 = -1;

/// `edit_answers_then` for the menu: the edit is planned first and shown on one screen with
/// the question (`d`: the diffs), as the wizard's install is; nothing changes on `n` or Esc.
fn edit_answers_confirmed(
    s: &Session,
    edit: impl FnOnce(&mut Answers) -> Result<()>,
    next: Next,
) -> CliResult {
    let (answers, save) = edited_answers(s, edit)?;
    if !plan_confirmed(s, &save, &answers)? {
        out::line("Nothing was changed.");
        return Ok(exit::DONE);
    }
    apply(
        s,
        move || Ok((answers, vec![Box::new(save) as Box<dyn Step<Answers>>])),
        true,
        next,
    )
}

/// Why the first installation has not finished, when no run has ever ended well and the
/// newest one failed or was stopped: `the last run (ID) failed in step tls`. `None` otherwise.
fn unfinished_install(s: &Session) -> Option<String> {
    let ids = journal::list_runs(&s.host, &s.state_dir);
    let mut newest: Option<(RunId, Option<String>, Option<String>)> = None;
    for id in ids {
        let recs = RunDir::open(&s.host, &s.state_dir, &id)
            .and_then(|r| r.records())
            .ok()?;
        let status = recs.iter().find_map(|r| match r {
            Record::RunEnd { status, .. } => Some(status.clone()),
            _ => None,
        });
        if status.as_deref() == Some("ok") {
            return None;
        }
        let failed_step = recs.iter().find_map(|r| match r {
            Record::StepFailed { step, .. } => Some(step.clone()),
            _ => None,
        });
        newest = Some((id, status, failed_step));
    }
    let (id, status, step) = newest?;
    let what = match status.as_deref() {
        Some("refused") => "was refused",
        Some("failed") => "failed",
        _ => "was stopped",
    };
    Some(match step {
        Some(step) => format!("the last run ({id}) {what} in step {step}"),
        None => format!("the last run ({id}) {what}"),
    })
}
