//! `mailstead recover`: roll back what an interrupted run left half-done, and nothing else.
use super::flags;
use super::run::recover;
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::out;
use mailstead_engine::Engine;

/// Roll back what an interrupted run left half-done
///
/// Only the interrupted run is touched: its unfinished step is undone, or all of it when it
/// was all or nothing (add-*, remove-*); runs that ended stay as they are.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Ask nothing: roll the interrupted run back without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub output: flags::Output,
}

pub fn run(s: &Session) -> CliResult {
    let mut obs = s.observer();
    let _lock = Engine::new(&s.host, obs.as_mut(), s.options()).lock()?;
    if recover(s, obs.as_mut())?.is_empty() {
        out::line("Nothing to recover.");
    }
    Ok(exit::DONE)
}
