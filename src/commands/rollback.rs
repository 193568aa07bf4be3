//! `mailstead rollback [RUN]`: undo a whole run, newest step first.
use super::flags;
use super::run::{print_by_hand, recover};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::{self, out};
use mailstead_engine::journal::{self, RunDir, RunId};
use mailstead_engine::Engine;

/// Undo a whole run (the newest by default)
///
/// Shows the run (its id, command and changes) and asks first, unless --yes. Its steps are
/// undone newest step first; refused while a later run changed the same files.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead rollback
  mailstead rollback 20261124T211500Z-1234 --purge-packages")]
pub struct Args {
    /// The run's id as `mailstead runs` lists it, e.g. 20261124T211500Z-1234
    /// (UTC start time, then the process id) [default: the newest run].
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Also purge the packages the run installed.
    #[arg(long)]
    pub purge_packages: bool,
    /// Ask nothing: roll back without confirming (needed with no terminal), refuse to roll back
    /// over files changed since the run, and roll back an interrupted run first.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With --yes: roll back over files changed since the run, discarding those changes.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: flags::Output,
}

pub fn run(s: &Session, args: &Args) -> CliResult {
    rollback(s, args.run.clone().map(RunId), args.purge_packages)
}

/// Shows what it undoes and asks first (the engine's question), unless `--yes`; with no one to
/// ask and no `--yes`, refuses before touching anything (exit 2, as `install` does).
pub fn rollback(s: &Session, id: Option<RunId>, purge: bool) -> CliResult {
    if !s.flags.yes {
        if let Err(why) = ui::can_prompt() {
            return Err(CliError::bad_input(format!(
                "rollback asks before it undoes a run, and there is no terminal to ask on ({why}); nothing was rolled back"
            ))
            .with_fix("re-run with --yes to roll back without asking (`mailstead rollback --yes`)"));
        }
    }
    let mut obs = s.observer();
    let _lock = Engine::new(&s.host, obs.as_mut(), s.options()).lock()?;
    let recovered = recover(s, obs.as_mut())?;
    // `rollback` names the newest run: when that one was just recovered, its recovery is its
    // rollback (with whatever steps it finished), and the run before it stays as it is.
    let newest = journal::list_runs(&s.host, &s.state_dir).pop();
    let id = match (id, newest) {
        (None, Some(newest)) if recovered.contains(&newest) => {
            let recs = RunDir::open(&s.host, &s.state_dir, &newest)?.records()?;
            if !journal::in_effect(&recs) {
                // Nothing of it is left applied: it is rolled back.
                out::line(format_args!(
                    "Run {newest} was interrupted and is now rolled back; no other run was touched."
                ));
                return Ok(exit::DONE);
            }
            Some(newest)
        }
        (id, _) => id,
    };
    let report = match Engine::new(&s.host, obs.as_mut(), s.options()).rollback_run(id, purge) {
        Ok(r) => r,
        Err(e) => {
            drop(obs);
            return Err(CliError::new(
                e.wrap_err("nothing was rolled back"),
                exit::BAD_INPUT,
            ));
        }
    };
    drop(obs);
    ui::print_rollback(&report, ui::color_wanted());
    print_by_hand(&report.by_hand);
    if !report.problems.is_empty() {
        return Ok(exit::ROLLBACK_FAILED);
    }
    Ok(exit::DONE)
}
