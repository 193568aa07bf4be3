//! The engine itself and what all its parts share: its options, how a run ends, the context
//! steps see, and the events it logs and hands to the observer.
use crate::event::{Event, Observer};
use crate::host::Host;
use crate::journal::{self, RunDir, RunId};
use crate::step::{Ctx, Facts, Finding, Level};
use color_eyre::eyre::{Result, WrapErr};
use std::path::PathBuf;

pub struct Options {
    /// Where runs, snapshots and fingerprints live (`/var/lib/mailstead`).
    pub state_dir: PathBuf,
    /// No one to ask: take the safe answer (refuse to overwrite hand edits, roll back).
    pub yes: bool,
    /// With `yes`: overwrite files edited by hand anyway.
    pub force: bool,
    /// For the journal (never holds secrets: the CLI takes none in argv).
    pub command_line: String,
    pub invoking_users: Vec<String>,
    /// Files mailstead writes but the admin is expected to edit too (the answers file):
    /// re-read before every write, so no hand-edit guard.
    pub unguarded: Vec<PathBuf>,
    /// All or nothing: a failed step rolls back the whole run, not just itself (add-domain
    /// and friends: the answers file must not claim what the server does not have).
    pub atomic: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            state_dir: PathBuf::from(journal::STATE_DIR),
            yes: false,
            force: false,
            command_line: String::new(),
            invoking_users: vec!["root".into()],
            unguarded: Vec::new(),
            atomic: false,
        }
    }
}

/// How a run ended; decides the exit code.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    NothingToDo,
    /// Stopped before touching anything (hand edits not to be overwritten, a question
    /// declined, a step's [`Refusal`](crate::step::Refusal)).
    Refused(String),
    Failed {
        step: String,
        error: String,
        problems: Vec<String>,
    },
    Interrupted {
        step: String,
        problems: Vec<String>,
    },
}

#[derive(Debug)]
pub struct RunReport {
    pub id: Option<RunId>,
    pub changes: usize,
    pub installed: Vec<String>,
    pub outcome: Outcome,
    /// What the checks found after the run's reloads (empty when nothing changed).
    pub findings: Vec<(String, Finding)>,
}

#[derive(Debug, Default)]
pub struct RollbackReport {
    pub id: Option<RunId>,
    pub restored_steps: Vec<String>,
    pub problems: Vec<String>,
    pub installed: Vec<String>,
    pub purged: Vec<String>,
    /// Commands of the restored steps: restoring files does not undo what they did to live
    /// state (a firewall enabled, the running hostname, a service started); a person checks.
    pub by_hand: Vec<String>,
}

pub struct Engine<'a> {
    pub host: &'a dyn Host,
    pub obs: &'a mut dyn Observer,
    pub opts: Options,
}

impl<'a> Engine<'a> {
    pub fn new(host: &'a dyn Host, obs: &'a mut dyn Observer, opts: Options) -> Engine<'a> {
        Engine { host, obs, opts }
    }

    pub(super) fn ctx<'c, A: ?Sized>(
        &self,
        host: &'c dyn Host,
        answers: &'c A,
        facts: &Facts,
    ) -> Ctx<'c, A> {
        Ctx {
            host,
            answers,
            invoking_users: self.opts.invoking_users.clone(),
            facts: facts.clone(),
        }
    }

    pub(super) fn emit(&mut self, run: &RunDir, ev: Event) {
        match ev {
            Event::Progress { .. } => run.log_progress(&log_line(&ev)),
            _ => run.log(&log_line(&ev)),
        }
        self.obs.event(&ev);
    }

    pub(super) fn note(&mut self, run: &RunDir, step: &str, text: &str) {
        self.emit(
            run,
            Event::Note {
                step: step.to_string(),
                level: Level::Info,
                text: text.to_string(),
            },
        );
    }

    /// Takes the lock that keeps two runs apart; held until dropped.
    pub fn lock(&self) -> Result<Box<dyn crate::host::LockGuard>> {
        journal::ensure_state_dirs(self.host, &self.opts.state_dir)?;
        self.host
            .lock(&self.opts.state_dir.join("lock"))
            .wrap_err("another mailstead run is in progress (lock held); wait for it to finish")
    }
}

/// One readable line of `log.txt` per event (command output lines are logged too).
fn log_line(ev: &Event) -> String {
    match ev {
        Event::RunStarted { id, steps } => format!("run {id} started: {}", steps.join(", ")),
        Event::StepStarted { step, about } => format!("[{step}] {about}"),
        Event::ChangeStarted { step, summary, .. } => format!("[{step}] start: {summary}"),
        Event::Change { step, summary } => format!("[{step}] done: {summary}"),
        Event::Output { step, line } => format!("[{step}]   | {line}"),
        Event::Progress {
            step,
            percent,
            what,
        } => format!("[{step}] {percent:.0}% {what}"),
        Event::Note { step, level, text } => match level {
            Level::Info => format!("[{step}] {text}"),
            Level::Warning => format!("[{step}] warning: {text}"),
        },
        Event::Checked { check, finding } => match &finding.fix {
            Some(fix) => format!(
                "[check {check}] {}: {} (fix: {fix})",
                finding.status, finding.detail
            ),
            None => format!("[check {check}] {}: {}", finding.status, finding.detail),
        },
        Event::StepFinished { step, outcome } => format!("[{step}] {outcome}"),
        Event::RunFinished { id, changes, ok } => {
            format!(
                "run {id} finished: {} ({changes} changes)",
                if *ok { "ok" } else { "failed" }
            )
        }
    }
}
