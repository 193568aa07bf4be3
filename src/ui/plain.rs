//! One line per event: for pipes, CI, `--plain`, and terminals too small for the dashboard.
//!
//! A change's line is printed when it starts. While it runs (apt can take minutes), a ticker
//! thread prints a "still running" line every few seconds, with apt's own progress when there
//! is some, so a log never stays silent for long; these are plain lines, so they show in a pipe
//! or a CI log as well as on a terminal.
use super::progress::AptProgress;
use mailstead_engine::{Event, Level, Observer, StepOutcome};
use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a running change says it still runs.
pub const STILL_RUNNING_EVERY: Duration = Duration::from_secs(5);

type Out = Arc<Mutex<Box<dyn Write + Send>>>;

pub struct PlainLog {
    out: Out,
    verbose: bool,
    every: Duration,
    running: Arc<Mutex<Option<Running>>>,
    ticker: Option<Ticker>,
}

/// The change being applied.
#[derive(Debug, Clone)]
struct Running {
    step: String,
    summary: String,
    started: Instant,
    /// apt's latest progress: its phase, percent and what it does.
    progress: Option<AptProgress>,
    /// Lines were printed after the change's own: its end gets a line too.
    interleaved: bool,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A writer that puts ASCII stand-ins for mailstead's symbols (`ui::to_ascii`); lines are
/// written whole, so no symbol is split between two writes.
struct Ascii<W>(W);

impl<W: Write> Write for Ascii<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(b) {
            Ok(s) => self.0.write_all(super::to_ascii(s).as_bytes())?,
            Err(_) => self.0.write_all(b)?,
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn write_line(out: &Out, line: &str) {
    let mut out = locked(out);
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `12s`, `3m05s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `  ... still running: apt-get install postfix (12s, 42% unpacking: Installing postfix
/// (amd64))`.
fn still_running(r: &Running, now: Instant) -> String {
    let mut line = format!(
        "  ... still running: {} ({}",
        r.summary,
        elapsed(now.saturating_duration_since(r.started))
    );
    if let Some(p) = &r.progress {
        line.push_str(&format!(", {}", p.label(0)));
    }
    line.push(')');
    line
}

/// Prints [`still_running`] every `every` until dropped.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(out: Out, running: Arc<Mutex<Option<Running>>>, every: Duration) -> Ticker {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let line = match locked(&running).as_mut() {
                    Some(r) => {
                        r.interleaved = true;
                        still_running(r, Instant::now())
                    }
                    None => return,
                };
                write_line(&out, &line);
            }
        });
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Closing the channel wakes the thread at once.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl PlainLog {
    /// Writes to stdout.
    /// Writes to stdout (ASCII symbols on a terminal that cannot show ✓ ✗ ↺).
    pub fn new(verbose: bool) -> PlainLog {
        if super::ascii_wanted_on_stdout() {
            PlainLog::with_writer(Box::new(Ascii(std::io::stdout())), verbose)
        } else {
            PlainLog::with_writer(Box::new(std::io::stdout()), verbose)
        }
    }

    pub fn with_writer(out: Box<dyn Write + Send>, verbose: bool) -> PlainLog {
        PlainLog {
            out: Arc::new(Mutex::new(out)),
            verbose,
            every: STILL_RUNNING_EVERY,
            running: Arc::default(),
            ticker: None,
        }
    }

    /// How often a running change says it still runs (tests use milliseconds).
    #[cfg(test)]
    pub fn still_running_every(mut self, every: Duration) -> PlainLog {
        self.every = every;
        self
    }

    /// Stops the ticker and forgets the running change; returns it.
    fn change_ended(&mut self) -> Option<Running> {
        self.ticker = None;
        locked(&self.running).take()
    }

    fn print(&self, line: &str) {
        if let Some(r) = locked(&self.running).as_mut() {
            r.interleaved = true;
        }
        write_line(&self.out, line);
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
        Event::ChangeStarted { step, summary, .. } | Event::Change { step, summary } => {
            format!("[{step}] {summary}")
        }
        Event::Output { step, line } => {
            if !verbose {
                return None;
            }
            format!("[{step}]   | {line}")
        }
        // Shown by the "still running" lines.
        Event::Progress { .. } => return None,
        Event::Note { step, level, text } => {
            if !verbose && *level != Level::Warning && !note_is_warning(text) {
                return None;
            }
            format!("[{step}] {text}")
        }
        Event::Checked { check, finding } => match &finding.fix {
            Some(fix) => format!(
                "check {check}: {} {} (fix: {fix})",
                finding.status, finding.detail
            ),
            None => format!("check {check}: {} {}", finding.status, finding.detail),
        },
        Event::StepFinished { step, outcome } => step_result(step, outcome),
        Event::RunFinished { id, changes, ok } => {
            if *ok {
                format!("run {id} finished: {}", super::count(*changes, "change"))
            } else {
                format!("run {id} did not complete")
            }
        }
    })
}

/// `✓ postfix: 3 changes`, `· packages: unchanged`, `✗ tls: failed`, `↺ tls: rolled back`.
/// A failure's why is told once, at the end of the run (`ui::end`), with what to do next.
pub fn step_result(step: &str, outcome: &StepOutcome) -> String {
    match outcome {
        StepOutcome::Changed(n) => format!("✓ {step}: {}", super::count(*n, "change")),
        StepOutcome::Unchanged => format!("· {step}: unchanged"),
        StepOutcome::Failed(_) => format!("✗ {step}: failed (why: at the end)"),
        StepOutcome::RolledBack { ok: true } => format!("↺ {step}: rolled back"),
        StepOutcome::RolledBack { ok: false } => {
            format!("↺ {step}: rolled back, with problems (listed at the end)")
        }
    }
}

impl Observer for PlainLog {
    fn event(&mut self, ev: &Event) {
        match ev {
            Event::ChangeStarted { step, summary, .. } => {
                self.change_ended();
                write_line(&self.out, &format!("[{step}] {summary}"));
                *locked(&self.running) = Some(Running {
                    step: step.clone(),
                    summary: summary.clone(),
                    started: Instant::now(),
                    progress: None,
                    interleaved: false,
                });
                self.ticker = Some(Ticker::start(
                    self.out.clone(),
                    self.running.clone(),
                    self.every,
                ));
                return;
            }
            Event::Progress { percent, what, .. } => {
                if let Some(r) = locked(&self.running).as_mut() {
                    r.progress = Some(AptProgress::next(r.progress.as_ref(), *percent, what));
                }
                return;
            }
            Event::Change { step, summary } => {
                match self.change_ended() {
                    // Its line is the last one printed: nothing to add.
                    Some(r) if r.step == *step && r.summary == *summary && !r.interleaved => {}
                    Some(r) if r.step == *step && r.summary == *summary => write_line(
                        &self.out,
                        &format!(
                            "[{step}] done: {summary} ({})",
                            elapsed(r.started.elapsed())
                        ),
                    ),
                    _ => write_line(&self.out, &format!("[{step}] {summary}")),
                }
                return;
            }
            Event::StepFinished { .. } | Event::RunFinished { .. } => {
                self.change_ended();
            }
            _ => {}
        }
        if let Some(l) = line(ev, self.verbose) {
            self.print(&l);
        }
    }

    fn confirm(&mut self, question: &str, detail: &str) -> bool {
        self.change_ended();
        let _ = locked(&self.out).flush();
        super::ask_yes_no(question, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::journal::RunId;

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
                level: Level::Info,
                text: "reloaded postfix".into(),
            },
            Event::Note {
                step: "reload".into(),
                level: Level::Warning,
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
✗ tls: failed (why: at the end)
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

    fn text(buf: &Shared) -> String {
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    fn apt_started() -> Event {
        Event::ChangeStarted {
            step: "packages".into(),
            summary: "apt-get install postfix".into(),
            index: 1,
            of: 1,
        }
    }

    fn apt_done() -> Event {
        Event::Change {
            step: "packages".into(),
            summary: "apt-get install postfix".into(),
        }
    }

    #[test]
    fn a_change_is_told_when_it_starts_once() {
        let buf = Shared::default();
        let mut log = PlainLog::with_writer(Box::new(buf.clone()), false);
        log.event(&apt_started());
        log.event(&Event::Output {
            step: "packages".into(),
            line: "Setting up postfix".into(),
        });
        log.event(&apt_done());
        // Nothing came between its start and its end: one line says it all.
        assert_eq!(text(&buf), "[packages] apt-get install postfix\n");
    }

    #[test]
    fn a_long_change_says_it_still_runs_with_apt_progress() {
        let buf = Shared::default();
        let mut log = PlainLog::with_writer(Box::new(buf.clone()), false)
            .still_running_every(Duration::from_millis(50));
        log.event(&apt_started());
        log.event(&Event::Progress {
            step: "packages".into(),
            percent: 42.0,
            what: "Installing postfix (amd64)".into(),
        });
        std::thread::sleep(Duration::from_millis(300));
        log.event(&apt_done());
        let out = text(&buf);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "[packages] apt-get install postfix", "{out}");
        assert!(
            lines[1].starts_with("  ... still running: apt-get install postfix (")
                && lines[1].ends_with("s, 42% unpacking: Installing postfix (amd64))"),
            "{out}"
        );
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("[packages] done: apt-get install postfix ("),
            "{out}"
        );
        // Stopped with the change: no line after its end.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(text(&buf), out);
    }

    #[test]
    fn the_ticker_stops_when_the_step_fails() {
        let buf = Shared::default();
        let mut log = PlainLog::with_writer(Box::new(buf.clone()), false)
            .still_running_every(Duration::from_millis(50));
        log.event(&apt_started());
        std::thread::sleep(Duration::from_millis(200));
        log.event(&Event::StepFinished {
            step: "packages".into(),
            outcome: StepOutcome::Failed("apt-get: exit 100".into()),
        });
        let out = text(&buf);
        assert!(out.contains("still running"), "{out}");
        assert!(
            out.ends_with("✗ packages: failed (why: at the end)\n"),
            "{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(text(&buf), out);
    }

    #[test]
    fn output_lines_show_when_verbose() {
        let out = Event::Output {
            step: "packages".into(),
            line: "Setting up postfix".into(),
        };
        assert_eq!(line(&out, false), None);
        assert_eq!(
            line(&out, true).unwrap(),
            "[packages]   | Setting up postfix"
        );
        let buf = Shared::default();
        let mut log = PlainLog::with_writer(Box::new(buf.clone()), true);
        log.event(&apt_started());
        log.event(&out);
        log.event(&apt_done());
        let out = text(&buf);
        assert!(out.starts_with("[packages] apt-get install postfix\n[packages]   | Setting up postfix\n[packages] done: apt-get install postfix ("), "{out}");
    }

    #[test]
    fn elapsed_format() {
        assert_eq!(elapsed(Duration::from_secs(12)), "12s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m05s");
    }

    #[test]
    fn ascii_writer() {
        let mut w = Ascii(Vec::new());
        writeln!(
            w,
            "{}",
            step_result("tls", &StepOutcome::RolledBack { ok: true })
        )
        .unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), "< tls: rolled back\n");
    }

    #[test]
    fn a_failure_is_told_once_at_the_end() {
        let line = step_result(
            "tls",
            &StepOutcome::Failed("certbot: exit 1\nstderr: timeout\n".into()),
        );
        assert_eq!(line, "✗ tls: failed (why: at the end)");
    }

    #[test]
    fn singular() {
        assert_eq!(
            step_result("ssh", &StepOutcome::Changed(1)),
            "✓ ssh: 1 change"
        );
    }
}
