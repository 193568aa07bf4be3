//! What the live view shows, as data: the steps and their status, the change being applied,
//! apt's progress, the running command's last lines; updated from the engine's events.
pub(super) const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// How many of a running command's last output lines the view shows.
pub const TAIL: usize = 5;
/// Rows kept for a running command's progress bar and output tail.
pub(super) const DETAIL_ROWS: u16 = 1 + TAIL as u16;
/// Width of apt's progress bar, in cells.
pub(super) const BAR: usize = 24;
use crate::ui::kind::Kind;
use crate::ui::plain;
use crate::ui::progress::AptProgress;
use mailstead_engine::{Event, Level, Status as CheckStatus, StepOutcome};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Pending,
    Running,
    Changed(usize),
    Unchanged,
    Failed,
    RolledBack { ok: bool },
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub status: Status,
    /// What the step does (while running).
    pub about: String,
}

/// Everything the view shows; updated from events, drawn by [`render`].
#[derive(Debug, Clone, Default)]
pub struct DashState {
    pub run: Option<String>,
    pub steps: Vec<Row>,
    /// The change just applied, as `[step] summary`.
    pub current: Option<String>,
    /// The change being applied now (a command may run for minutes).
    pub running: Option<RunningChange>,
    /// apt's progress while it runs: its phase, percent and what it does.
    pub progress: Option<AptProgress>,
    /// The last lines the running command printed (at most [`TAIL`]).
    pub tail: std::collections::VecDeque<String>,
    pub tick: usize,
    /// Ctrl-C seen: the engine stops at its next safe point.
    pub interrupting: bool,
    pub verbose: bool,
    /// Draw ASCII stand-ins for ✓ ✗ ↺ and the rest (`ui::unicode_ok` said the terminal cannot).
    pub ascii: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunningChange {
    pub step: String,
    pub summary: String,
    pub index: usize,
    pub of: usize,
}

/// A line for the scrollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub text: String,
    pub kind: Kind,
}

impl DashState {
    fn row(&mut self, step: &str) -> &mut Row {
        if let Some(i) = self.steps.iter().position(|r| r.name == step) {
            return &mut self.steps[i];
        }
        self.steps.push(Row {
            name: step.to_string(),
            status: Status::Pending,
            about: String::new(),
        });
        self.steps.last_mut().expect("just pushed")
    }

    /// Forgets the running change, its progress and its output.
    fn change_ended(&mut self) {
        self.running = None;
        self.progress = None;
        self.tail.clear();
    }

    /// Updates the state; returns what to keep in the scrollback.
    pub fn apply(&mut self, ev: &Event) -> Vec<Logged> {
        let log = |text: String, kind| vec![Logged { text, kind }];
        match ev {
            Event::RunStarted { id, steps } => {
                self.run = Some(id.to_string());
                self.steps = steps
                    .iter()
                    .map(|s| Row {
                        name: s.clone(),
                        status: Status::Pending,
                        about: String::new(),
                    })
                    .collect();
                log(format!("run {id}: {}", steps.join(", ")), Kind::Quiet)
            }
            Event::StepStarted { step, about } => {
                let row = self.row(step);
                row.status = Status::Running;
                row.about = about.clone();
                self.current = None;
                self.change_ended();
                if self.verbose {
                    log(format!("[{step}] {about}"), Kind::Quiet)
                } else {
                    vec![]
                }
            }
            Event::ChangeStarted {
                step,
                summary,
                index,
                of,
            } => {
                self.change_ended();
                self.running = Some(RunningChange {
                    step: step.clone(),
                    summary: summary.clone(),
                    index: *index,
                    of: *of,
                });
                vec![]
            }
            Event::Output { step, line } => {
                if !line.trim().is_empty() {
                    if self.tail.len() == TAIL {
                        self.tail.pop_front();
                    }
                    self.tail.push_back(line.clone());
                }
                if self.verbose {
                    log(format!("  [{step}]   | {line}"), Kind::Quiet)
                } else {
                    vec![]
                }
            }
            Event::Progress { percent, what, .. } => {
                self.progress = Some(AptProgress::next(self.progress.as_ref(), *percent, what));
                vec![]
            }
            Event::Change { step, summary } => {
                self.change_ended();
                self.current = Some(format!("[{step}] {summary}"));
                log(format!("  [{step}] {summary}"), Kind::Info)
            }
            Event::Checked { check, finding } => {
                let kind = match finding.status {
                    CheckStatus::Pass => Kind::Info,
                    CheckStatus::Warn => Kind::Warn,
                    CheckStatus::Fail => Kind::Bad,
                };
                log(
                    format!("  check {check}: {} {}", finding.status, finding.detail),
                    kind,
                )
            }
            Event::Note { step, level, text } => {
                if *level == Level::Warning || plain::note_is_warning(text) {
                    log(format!("  [{step}] {text}"), Kind::Warn)
                } else if self.verbose {
                    log(format!("  [{step}] {text}"), Kind::Quiet)
                } else {
                    vec![]
                }
            }
            Event::StepFinished { step, outcome } => {
                let status = match outcome {
                    StepOutcome::Changed(n) => Status::Changed(*n),
                    StepOutcome::Unchanged => Status::Unchanged,
                    StepOutcome::Failed(_) => Status::Failed,
                    StepOutcome::RolledBack { ok } => Status::RolledBack { ok: *ok },
                };
                self.row(step).status = status;
                self.current = None;
                self.change_ended();
                let kind = match outcome {
                    StepOutcome::Changed(_) => Kind::Good,
                    StepOutcome::Unchanged => Kind::Quiet,
                    StepOutcome::Failed(_) => Kind::Bad,
                    StepOutcome::RolledBack { .. } => Kind::Undo,
                };
                log(plain::step_result(step, outcome), kind)
            }
            Event::RunFinished { .. } => {
                self.current = None;
                self.change_ended();
                vec![]
            }
        }
    }

    /// Lines the view needs to show every step, and a running command's progress and output.
    pub fn height(&self) -> u16 {
        (self.steps.len() as u16).saturating_add(3 + DETAIL_ROWS)
    }

    /// The lines under the running change: apt's progress bar, then the output tail.
    pub(super) fn detail(&self, color: bool) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if self.running.is_none() {
            return lines;
        }
        if let Some(p) = &self.progress {
            let filled = ((p.percent / 100.0) * BAR as f32).round() as usize;
            let filled = filled.min(BAR);
            lines.push(Line::from(vec![
                Span::raw("    "),
                Span::styled("█".repeat(filled), style(color, Kind::Good)),
                Span::styled("░".repeat(BAR - filled), style(color, Kind::Quiet)),
                Span::raw(format!(" {}", p.label(3))),
            ]));
        }
        for l in &self.tail {
            lines.push(Line::styled(
                format!("    │ {l}"),
                style(color, Kind::Quiet),
            ));
        }
        lines
    }
}

/// How a line of `kind` is painted in the view (plain when not `color`).
pub(super) fn style(color: bool, kind: Kind) -> Style {
    if !color {
        return Style::default();
    }
    match kind {
        Kind::Info => Style::default(),
        Kind::Good => Style::default().fg(Color::Green),
        Kind::Quiet => Style::default().add_modifier(Modifier::DIM),
        Kind::Bad => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        Kind::Undo => Style::default().fg(Color::Cyan),
        Kind::Warn => Style::default().fg(Color::Yellow),
    }
}
