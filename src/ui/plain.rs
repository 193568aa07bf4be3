//! One line per event: for pipes, CI, `--plain`, and terminals too small for the dashboard.
use mailstead_engine::{Event, Observer, StepOutcome};
use std::io::Write;

pub struct PlainLog {
    out: Box<dyn Write + Send>,
    verbose: bool,
}

impl PlainLog {
    /// Writes to stdout.
    pub fn new(verbose: bool) -> PlainLog {
        PlainLog::with_writer(Box::new(std::io::stdout()), verbose)
    }

    pub fn with_writer(out: Box<dyn Write + Send>, verbose: bool) -> PlainLog {
        PlainLog { out, verbose }
    }
}

/// Notes are progress unless they warn: those always show, the rest only with `--verbose`.
pub(crate) fn note_is_warning(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "by hand",
        "rolling back",
        "refus",
        "warning",
        "failed",
        "cannot",
        "could not",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The line for an event, or `None` when it shows nothing at this verbosity.
pub fn line(ev: &Event, verbose: bool) -> Option<String> {
    Some(match ev {
        Event::RunStarted { id, steps } => format!("run {id}: {}", steps.join(", ")),
        Event::StepStarted { step, about } => {
            if !verbose {
                return None;
            }
            format!("[{step}] {about}")
        }
        Event::Change { step, summary } => format!("[{step}] {summary}"),
        Event::Note { step, level, text } => {
            if !verbose && *level != mailstead_engine::Level::Warning && !note_is_warning(text) {
                return None;
            }
            format!("[{step}] {text}")
        }
        Event::StepFinished { step, outcome } => step_result(step, outcome),
        Event::ChangeStarted { step, summary, .. } => {
            if !verbose {
                return None;
            }
            format!("[{step}] {summary} ...")
        }
        Event::Output { .. } | Event::Progress { .. } => return None,
        Event::Checked { check, finding } => match &finding.fix {
            Some(fix) => format!("check {check}: {} {} (fix: {fix})", finding.status, finding.detail),
            None => format!("check {check}: {} {}", finding.status, finding.detail),
        },
        Event::RunFinished { id, changes, ok } => {
            if *ok {
                format!("run {id} finished: {}", super::count(*changes, "change"))
            } else {
                format!("run {id} did not complete")
            }
        }
    })
}

/// `✓ postfix: 3 changes`, `· packages: unchanged`, `✗ tls: failed: ...`, `↺ tls: rolled back`.
pub fn step_result(step: &str, outcome: &StepOutcome) -> String {
    match outcome {
        StepOutcome::Changed(n) => format!("✓ {step}: {}", super::count(*n, "change")),
        StepOutcome::Unchanged => format!("· {step}: unchanged"),
        StepOutcome::Failed(e) => {
            format!("✗ {step}: failed: {}", e.trim_end().replace('\n', "\n  "))
        }
        StepOutcome::RolledBack { ok: true } => format!("↺ {step}: rolled back"),
        StepOutcome::RolledBack { ok: false } => {
            format!("↺ {step}: rolled back, with problems (listed at the end)")
        }
    }
}

impl Observer for PlainLog {
    fn event(&mut self, ev: &Event) {
        if let Some(l) = line(ev, self.verbose) {
            let _ = writeln!(self.out, "{l}");
            let _ = self.out.flush();
        }
    }

    fn confirm(&mut self, question: &str, detail: &str) -> bool {
        let _ = self.out.flush();
        super::ask_yes_no(question, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::journal::RunId;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn feed(verbose: bool) -> String {
        let buf = Shared::default();
        let mut log = PlainLog::with_writer(Box::new(buf.clone()), verbose);
        let id = RunId("20250101-000000-1".into());
        for ev in [
            Event::RunStarted {
                id: id.clone(),
                steps: vec!["packages".into(), "postfix".into(), "tls".into()],
            },
            Event::StepStarted {
                step: "packages".into(),
                about: "install the mail packages".into(),
            },
            Event::StepFinished {
                step: "packages".into(),
                outcome: StepOutcome::Unchanged,
            },
            Event::Change {
                step: "postfix".into(),
                summary: "write /etc/postfix/main.cf (root:root 0644)".into(),
            },
            Event::Note {
                step: "reload".into(),
                level: mailstead_engine::Level::Info,
                text: "reloaded postfix".into(),
            },
            Event::Note {
                step: "reload".into(),
                level: mailstead_engine::Level::Warning,
                text: "no service manager found: reload postfix by hand".into(),
            },
            Event::StepFinished {
                step: "postfix".into(),
                outcome: StepOutcome::Changed(3),
            },
            Event::StepFinished {
                step: "tls".into(),
                outcome: StepOutcome::Failed("acme: timeout".into()),
            },
            Event::StepFinished {
                step: "tls".into(),
                outcome: StepOutcome::RolledBack { ok: true },
            },
            Event::RunFinished {
                id,
                changes: 3,
                ok: false,
            },
        ] {
            log.event(&ev);
        }
        let out = buf.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines() {
        assert_eq!(
            feed(false),
            "run 20250101-000000-1: packages, postfix, tls
· packages: unchanged
[postfix] write /etc/postfix/main.cf (root:root 0644)
[reload] no service manager found: reload postfix by hand
✓ postfix: 3 changes
✗ tls: failed: acme: timeout
↺ tls: rolled back
run 20250101-000000-1 did not complete
"
        );
    }

    #[test]
    fn verbose_shows_notes_and_starts() {
        let out = feed(true);
        assert!(
            out.contains("[packages] install the mail packages\n"),
            "{out}"
        );
        assert!(out.contains("[reload] reloaded postfix\n"), "{out}");
    }

    #[test]
    fn multi_line_errors_are_indented() {
        assert_eq!(
            step_result(
                "tls",
                &StepOutcome::Failed("certbot: exit 1\nstderr: timeout\n".into())
            ),
            "✗ tls: failed: certbot: exit 1\n  stderr: timeout"
        );
    }

    #[test]
    fn singular() {
        assert_eq!(
            step_result("ssh", &StepOutcome::Changed(1)),
            "✓ ssh: 1 change"
        );
    }
}
