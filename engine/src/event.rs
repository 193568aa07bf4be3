//! What the engine tells whoever watches: the dashboard, the plain log, a test.
use crate::journal::RunId;

#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    Changed(usize),
    Unchanged,
    Failed(String),
    RolledBack { ok: bool },
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
    Change {
        step: String,
        summary: String,
    },
    /// Free-form progress or warnings.
    Note {
        step: String,
        text: String,
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
