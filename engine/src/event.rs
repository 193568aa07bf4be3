//! What the engine tells whoever watches: the dashboard, the plain log, a test.
use crate::journal::RunId;
use crate::step::{Finding, Level, Status};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    Changed(usize),
    Unchanged,
    Failed(String),
    RolledBack { ok: bool },
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepOutcome::Changed(1) => f.write_str("done, 1 change"),
            StepOutcome::Changed(n) => write!(f, "done, {n} changes"),
            StepOutcome::Unchanged => f.write_str("already as wanted, nothing changed"),
            StepOutcome::Failed(e) => write!(f, "failed: {e}"),
            StepOutcome::RolledBack { ok: true } => f.write_str("rolled back, files restored"),
            StepOutcome::RolledBack { ok: false } => {
                f.write_str("rolled back, but some files need hand care")
            }
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    RunStarted {
        id: RunId,
        steps: Vec<String>,
    },
    StepStarted {
        step: String,
        about: String,
    },
    /// A change begins (a command may now run for minutes).
    ChangeStarted {
        step: String,
        summary: String,
        /// 1-based position of the change in its step, and how many the step has.
        index: usize,
        of: usize,
    },
    /// A change ended well.
    Change {
        step: String,
        summary: String,
    },
    /// One line a running command printed (stdout or stderr), as it printed it.
    Output {
        step: String,
        line: String,
    },
    /// A long command's own progress (apt's status file descriptor), 0..=100.
    Progress {
        step: String,
        percent: f32,
        what: String,
    },
    /// Something worth telling that is not a change: a skipped part, a fallback, a warning.
    Note {
        step: String,
        level: Level,
        text: String,
    },
    /// A check ran after the run's reloads (or in `mailstead check`).
    Checked {
        check: String,
        finding: Finding,
    },
    StepFinished {
        step: String,
        outcome: StepOutcome,
    },
    RunFinished {
        id: RunId,
        changes: usize,
        ok: bool,
    },
}

/// Watches a run. Answers questions the engine must ask (drift, recovery).
pub trait Observer {
    fn event(&mut self, ev: &Event);
    /// Ask the admin; with no one to ask, answer `false` (the safe side).
    fn confirm(&mut self, question: &str, detail: &str) -> bool;
}

/// Records events; answers every question with a fixed answer. For tests and `--yes`.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    pub answer: bool,
    pub questions: Vec<String>,
}

impl Observer for Recorder {
    fn event(&mut self, ev: &Event) {
        self.events.push(ev.clone());
    }
    fn confirm(&mut self, question: &str, _detail: &str) -> bool {
        self.questions.push(question.to_string());
        self.answer
    }
}
