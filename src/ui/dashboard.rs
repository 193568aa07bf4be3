//! A live view of a run, drawn inline under the shell prompt (no alternate screen): the steps
//! with their status, the change being applied (with apt's progress as a bar and the last
//! lines its command printed), the elapsed time. Finished lines go into the
//! scrollback with `insert_before`, so the terminal keeps a log once the view is gone.
//!
//! The engine calls the observer synchronously from its thread; a ticker thread keeps the
//! spinner and the clock moving during long commands and turns Ctrl-C (no SIGINT in raw mode)
//! into `interrupt::request()`. Before a question, the ticker stops and the terminal is
//! restored, inquire asks, then a fresh viewport starts: the two never hold the terminal at once.
use super::end::End;
use super::kind::Kind;
use super::out;
use super::plain::PlainLog;
use crossterm::event::{self, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use mailstead_engine::{interrupt, Event, Observer};
use ratatui::backend::CrosstermBackend;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod state;
mod view;

use state::style;
pub use state::{DashState, Logged};
pub use view::{asciify, end_rows, render, render_end};

/// Below this the view is useless: fall back to the plain log.
const MIN_COLS: u16 = 40;
const MIN_ROWS: u16 = 6;
const TICK: Duration = Duration::from_millis(100);

/// Draws the end block once, inline, and leaves it on screen (the shell prompt follows).
/// `false` when the terminal cannot take it (too small, not a terminal): print it as text.
pub fn show_end(end: &End) -> bool {
    let Ok((cols, rows)) = terminal::size() else {
        return false;
    };
    if cols < MIN_COLS {
        return false;
    }
    let lines = end_rows(end, cols);
    // A word longer than the terminal (a path, a command) is never cut: the terminal wraps
    // the printed text, where the view would clip it.
    if lines
        .iter()
        .any(|(l, _)| l.chars().count() > usize::from(cols))
    {
        return false;
    }
    let height = lines.len() as u16;
    if height == 0 || height >= rows {
        return false;
    }
    let Ok(mut t) = open(height) else {
        return false;
    };
    let (color, ascii) = (super::color_wanted(), !super::unicode_ok());
    let drawn = t
        .draw(|f| {
            let area = f.area();
            render_end(end, color, ascii, area, f.buffer_mut())
        })
        .is_ok();
    VIEW_TOP.store(NO_VIEW, Ordering::SeqCst);
    // Leave what was drawn; the cursor goes under it.
    let bottom = t.get_frame().area().bottom();
    let _ = crossterm::execute!(
        t.backend_mut(),
        crossterm::cursor::MoveTo(0, bottom.saturating_sub(1)),
        crossterm::cursor::Show
    );
    drop(t);
    let _ = terminal::disable_raw_mode();
    out::line("");
    drawn
}

/// After the terminal changed size: forget what is on screen and draw every cell again, so
/// nothing of the old frame is left (an inline view's old rows may have reflowed).
pub fn redraw_after_resize<B: ratatui::backend::Backend>(
    t: &mut Terminal<B>,
    state: &DashState,
    elapsed: Duration,
    color: bool,
) -> Result<(), B::Error> {
    t.autoresize()?;
    t.clear()?;
    t.draw(|f| render(state, elapsed, color, f))?;
    Ok(())
}

/// Wraps text to the terminal's width (display columns), at spaces where it can, inside a
/// word too long for a line; continued lines are indented by two.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width.max(10))
        .subsequent_indent("  ")
        .break_words(true)
        // Commands and package names (`apt-get`, `dovecot-core`) are not split at hyphens.
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    // Each line of the text starts unindented; only its own continuations are indented.
    let mut out: Vec<String> = text
        .lines()
        .flat_map(|line| textwrap::wrap(line, &options))
        .map(|line| line.into_owned())
        .collect();
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

type Term = Terminal<CrosstermBackend<Stdout>>;

struct Inner {
    state: DashState,
    term: Option<Term>,
    started: Instant,
    color: bool,
}

impl Inner {
    fn draw(&mut self) {
        let elapsed = self.started.elapsed();
        let (state, color) = (&self.state, self.color);
        let Some(_g) = drawing() else { return };
        if let Some(t) = self.term.as_mut() {
            let _ = t.draw(|f| render(state, elapsed, color, f));
            // The view moves down as lines go into the scrollback, and on resize.
            VIEW_TOP.store(t.get_frame().area().y as u32, Ordering::SeqCst);
        }
    }

    fn resized(&mut self) {
        let elapsed = self.started.elapsed();
        let (state, color) = (&self.state, self.color);
        let Some(_g) = drawing() else { return };
        if let Some(t) = self.term.as_mut() {
            let _ = redraw_after_resize(t, state, elapsed, color);
            VIEW_TOP.store(t.get_frame().area().y as u32, Ordering::SeqCst);
        }
    }

    fn log(&mut self, lines: &[Logged]) {
        let color = self.color;
        let Some(t) = self.term.as_mut() else { return };
        let width = t.size().map(|s| s.width).unwrap_or(80) as usize;
        let mut rows: Vec<(String, Kind)> = Vec::new();
        for l in lines {
            for w in wrap(&l.text, width) {
                rows.push((w, l.kind));
            }
        }
        if rows.is_empty() {
            return;
        }
        let Some(_g) = drawing() else { return };
        let ascii = self.state.ascii;
        let _ = t.insert_before(rows.len() as u16, |buf| {
            let lines: Vec<Line> = rows
                .into_iter()
                .map(|(s, k)| Line::styled(s, style(color, k)))
                .collect();
            let area = buf.area;
            Paragraph::new(lines).render(area, buf);
            if ascii {
                asciify(area, buf);
            }
        });
        VIEW_TOP.store(t.get_frame().area().y as u32, Ordering::SeqCst);
    }
}

/// Set by the panic hook: nothing draws any more.
static HALT: AtomicBool = AtomicBool::new(false);
/// Held while drawing, so the panic hook never clears the view halfway through a frame.
static DRAWING: Mutex<()> = Mutex::new(());
/// The view's top row while it is on screen (`NO_VIEW` otherwise): the panic hook clears from
/// there so the panic message is readable and not overdrawn.
static VIEW_TOP: AtomicU32 = AtomicU32::new(NO_VIEW);
const NO_VIEW: u32 = u32::MAX;

fn drawing() -> Option<MutexGuard<'static, ()>> {
    let g = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
    (!HALT.load(Ordering::SeqCst)).then_some(g)
}

/// Restores the terminal if a panic unwinds through the view (installed once).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            HALT.store(true, Ordering::SeqCst);
            // Wait (briefly: the panic may come from inside a draw) for a frame in progress.
            let deadline = Instant::now() + Duration::from_millis(300);
            let _guard = loop {
                match DRAWING.try_lock() {
                    Ok(g) => break Some(g),
                    Err(std::sync::TryLockError::Poisoned(e)) => break Some(e.into_inner()),
                    Err(_) if Instant::now() > deadline => break None,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            };
            let top = VIEW_TOP.swap(NO_VIEW, Ordering::SeqCst);
            if top != NO_VIEW {
                let _ = crossterm::execute!(
                    io::stdout(),
                    crossterm::cursor::MoveTo(0, top as u16),
                    terminal::Clear(terminal::ClearType::FromCursorDown)
                );
            }
            super::restore_terminal();
            prev(info);
        }));
    });
}

fn open(height: u16) -> io::Result<Term> {
    install_panic_hook();
    HALT.store(false, Ordering::SeqCst);
    terminal::enable_raw_mode()?;
    let opened = Terminal::with_options(
        CrosstermBackend::new(io::stdout()),
        TerminalOptions {
            viewport: Viewport::Inline(height),
        },
    );
    match opened {
        Ok(mut t) => {
            let _ = t.hide_cursor();
            VIEW_TOP.store(t.get_frame().area().y as u32, Ordering::SeqCst);
            Ok(t)
        }
        Err(e) => {
            super::restore_terminal();
            Err(e)
        }
    }
}

/// Clears the view, leaves the cursor where it began, shows it, ends raw mode. While
/// panicking the hook has cleared already, and what follows the view is the panic message.
fn close(mut t: Term) {
    VIEW_TOP.store(NO_VIEW, Ordering::SeqCst);
    let area = t.get_frame().area();
    if !std::thread::panicking() && !HALT.load(Ordering::SeqCst) {
        let _ = crossterm::execute!(
            t.backend_mut(),
            crossterm::cursor::MoveTo(0, area.y),
            terminal::Clear(terminal::ClearType::FromCursorDown)
        );
    }
    let _ = crossterm::execute!(t.backend_mut(), crossterm::cursor::Show);
    drop(t);
    let _ = terminal::disable_raw_mode();
}

pub struct Dashboard {
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
    /// Used before the run starts, after it ends, and when the terminal cannot host the view.
    plain: PlainLog,
    verbose: bool,
    fallback: bool,
    height: u16,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Dashboard {
    /// Touches nothing until the run starts.
    pub fn new(verbose: bool) -> Dashboard {
        Dashboard {
            inner: Arc::new(Mutex::new(Inner {
                state: DashState {
                    verbose,
                    ascii: !super::unicode_ok(),
                    ..Default::default()
                },
                term: None,
                started: Instant::now(),
                color: super::color_wanted(),
            })),
            stop: Arc::new(AtomicBool::new(false)),
            ticker: None,
            plain: PlainLog::new(verbose),
            verbose,
            fallback: false,
            height: 0,
        }
    }

    fn live(&self) -> bool {
        lock(&self.inner).term.is_some()
    }

    /// Opens the viewport and starts the ticker; `false` when the terminal cannot host it.
    fn start(&mut self) -> bool {
        let Ok((cols, rows)) = terminal::size() else {
            return false;
        };
        if cols < MIN_COLS || rows < MIN_ROWS {
            return false;
        }
        let height = self.height.min(rows.saturating_sub(1)).max(4);
        let Ok(term) = open(height) else {
            return false;
        };
        lock(&self.inner).term = Some(term);
        self.stop.store(false, Ordering::SeqCst);
        let (inner, stop) = (self.inner.clone(), self.stop.clone());
        self.ticker = Some(std::thread::spawn(move || ticker(inner, stop)));
        true
    }

    /// Stops the ticker, clears the view and gives the terminal back.
    fn pause(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.ticker.take() {
            let _ = h.join();
        }
        if let Some(t) = lock(&self.inner).term.take() {
            close(t);
        }
    }
}

/// Keeps the spinner and clock moving; reads keys only to catch Ctrl-C.
fn ticker(inner: Arc<Mutex<Inner>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match event::poll(TICK) {
            Ok(true) => match event::read() {
                Ok(event::Event::Key(k)) => {
                    let ctrl_c = k.kind == KeyEventKind::Press
                        && k.modifiers.contains(KeyModifiers::CONTROL)
                        && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('C'));
                    if ctrl_c {
                        interrupt::request();
                        lock(&inner).state.interrupting = true;
                    }
                }
                Ok(event::Event::Resize(..)) => lock(&inner).resized(),
                _ => {}
            },
            Ok(false) => {}
            Err(_) => std::thread::sleep(TICK),
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut g = lock(&inner);
        g.state.tick = g.state.tick.wrapping_add(1);
        g.draw();
    }
}

impl Observer for Dashboard {
    fn event(&mut self, ev: &Event) {
        let mut logged = Vec::new();
        if let Event::RunStarted { .. } = ev {
            // A new run: a fresh view (or the plain log if this terminal cannot host one).
            self.pause();
            {
                let mut g = lock(&self.inner);
                g.state = DashState {
                    verbose: self.verbose,
                    ascii: !super::unicode_ok(),
                    ..Default::default()
                };
                logged = g.state.apply(ev);
                g.started = Instant::now();
                self.height = g.state.height();
            }
            self.fallback = !self.start();
        }
        if self.fallback || !self.live() {
            self.plain.event(ev);
            return;
        }
        {
            let mut g = lock(&self.inner);
            if !matches!(ev, Event::RunStarted { .. }) {
                logged = g.state.apply(ev);
            }
            g.log(&logged);
            g.draw();
        }
        if let Event::RunFinished { .. } = ev {
            self.pause();
        }
    }

    fn confirm(&mut self, question: &str, detail: &str) -> bool {
        let was_live = self.live();
        self.pause();
        let answer = super::ask_yes_no(question, detail);
        if was_live && !self.start() {
            self.fallback = true;
        }
        if was_live && !self.fallback {
            lock(&self.inner).draw();
        }
        answer
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.pause();
    }
}

#[cfg(test)]
mod tests {
    use super::state::*;
    use super::view::*;
    use super::*;
    use crate::ui::kind::Kind;
    use mailstead_engine::journal::RunId;
    use mailstead_engine::{Level, StepOutcome};
    use ratatui::backend::TestBackend;

    fn screen(state: &DashState, w: u16, h: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render(state, Duration::from_secs(83), false, f))
            .unwrap();
        let buf = t.backend().buffer();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn started() -> DashState {
        let mut s = DashState::default();
        s.apply(&Event::RunStarted {
            id: RunId("r1".into()),
            steps: vec![
                "packages".into(),
                "postfix".into(),
                "dovecot".into(),
                "tls".into(),
            ],
        });
        s
    }

    #[test]
    fn steps_show_their_status() {
        let mut s = started();
        let ev = |step: &str, o| Event::StepFinished {
            step: step.into(),
            outcome: o,
        };
        s.apply(&ev("packages", StepOutcome::Unchanged));
        s.apply(&Event::StepStarted {
            step: "postfix".into(),
            about: "configure Postfix".into(),
        });
        let logged = s.apply(&Event::Change {
            step: "postfix".into(),
            summary: "write /etc/postfix/main.cf".into(),
        });
        assert_eq!(logged[0].text, "  [postfix] write /etc/postfix/main.cf");
        let lines = screen(&s, 60, s.height());
        assert_eq!(
            lines[..7],
            [
                "mailstead  run r1  1:23  1/4 steps",
                "  · packages  unchanged",
                "  ⠋ postfix   configure Postfix",
                "  ○ dovecot",
                "  ○ tls",
                "  → [postfix] write /etc/postfix/main.cf",
                "  Ctrl-C stops safely: the current step is rolled back",
            ]
        );
        // Rows kept for a running command's progress and output stay blank.
        assert!(lines[7..].iter().all(String::is_empty), "{lines:#?}");
        assert_eq!(lines.len(), 7 + TAIL + 1);
        s.apply(&ev("postfix", StepOutcome::Changed(3)));
        s.apply(&ev("dovecot", StepOutcome::Changed(1)));
        let logged = s.apply(&ev("tls", StepOutcome::Failed("acme: timeout".into())));
        assert_eq!(logged[0].text, "✗ tls: failed (why: at the end)");
        assert_eq!(logged[0].kind, Kind::Bad);
        s.apply(&ev("tls", StepOutcome::RolledBack { ok: true }));
        s.interrupting = true;
        let lines = screen(&s, 80, s.height());
        assert_eq!(lines[0], "mailstead  run r1  1:23  4/4 steps");
        assert_eq!(lines[2], "  ✓ postfix   3 changes");
        assert_eq!(lines[3], "  ✓ dovecot   1 change");
        assert_eq!(lines[4], "  ↺ tls       rolled back");
        assert_eq!(lines[5], "");
        assert!(lines[6].contains("stopping at the next safe point"));
    }

    #[test]
    fn a_short_view_keeps_the_running_step_visible() {
        let mut s = DashState::default();
        s.apply(&Event::RunStarted {
            id: RunId("r".into()),
            steps: (0..20).map(|i| format!("s{i:02}")).collect(),
        });
        for i in 0..12 {
            s.apply(&Event::StepFinished {
                step: format!("s{i:02}"),
                outcome: StepOutcome::Unchanged,
            });
        }
        s.apply(&Event::StepStarted {
            step: "s12".into(),
            about: "doing".into(),
        });
        let lines = screen(&s, 40, 8);
        assert!(lines.iter().any(|l| l.contains("s12  doing")), "{lines:#?}");
        assert!(lines[0].ends_with("12/20 steps"));
    }

    #[test]
    fn unknown_steps_get_a_row_and_notes_follow_verbosity() {
        let mut s = DashState::default();
        s.apply(&Event::StepFinished {
            step: "postfix".into(),
            outcome: StepOutcome::RolledBack { ok: false },
        });
        assert_eq!(s.steps[0].status, Status::RolledBack { ok: false });
        let quiet = s.apply(&Event::Note {
            step: "reload".into(),
            level: Level::Info,
            text: "reloaded postfix".into(),
        });
        assert!(quiet.is_empty());
        let warn = s.apply(&Event::Note {
            step: "reload".into(),
            level: Level::Warning,
            text: "no service manager found: reload postfix by hand".into(),
        });
        assert_eq!(warn[0].kind, Kind::Warn);
    }

    /// The packages step while apt runs: StepStarted, ChangeStarted, progress, output.
    fn installing() -> DashState {
        let mut s = started();
        s.apply(&Event::StepStarted {
            step: "packages".into(),
            about: "install Postfix, Dovecot".into(),
        });
        s.apply(&Event::ChangeStarted {
            step: "packages".into(),
            summary: "apt-get install postfix dovecot-core".into(),
            index: 1,
            of: 2,
        });
        for line in [
            "Reading package lists...",
            "",
            "Selecting previously unselected package postfix.",
            "Unpacking postfix (3.7.11-0+deb12u1) ...",
            "Selecting previously unselected package dovecot-core.",
            "Unpacking dovecot-core (1:2.3.19.1) ...",
            "Setting up postfix (3.7.11-0+deb12u1) ...",
        ] {
            s.apply(&Event::Output {
                step: "packages".into(),
                line: line.into(),
            });
        }
        s.apply(&Event::Progress {
            step: "packages".into(),
            percent: 42.4,
            what: "Installing dovecot-core (amd64)".into(),
        });
        s
    }

    #[test]
    fn a_running_command_shows_progress_and_its_last_lines() {
        let s = installing();
        let lines = screen(&s, 80, s.height());
        assert_eq!(
            lines,
            vec![
                "mailstead  run r1  1:23  0/4 steps",
                "  ⠋ packages  install Postfix, Dovecot",
                "  ○ postfix",
                "  ○ dovecot",
                "  ○ tls",
                "  → [packages] apt-get install postfix dovecot-core  (1/2)",
                "    ██████████░░░░░░░░░░░░░░  42% unpacking: Installing dovecot-core (amd64)",
                "    │ Selecting previously unselected package postfix.",
                "    │ Unpacking postfix (3.7.11-0+deb12u1) ...",
                "    │ Selecting previously unselected package dovecot-core.",
                "    │ Unpacking dovecot-core (1:2.3.19.1) ...",
                "    │ Setting up postfix (3.7.11-0+deb12u1) ...",
                "  Ctrl-C stops safely: the current step is rolled back",
            ]
        );
        let text = lines.join("\n");
        assert!(text.contains("apt-get install postfix"), "{text}");
        assert!(text.contains("42%"), "{text}");
        assert!(text.contains("Setting up postfix"), "{text}");
        // Older lines fell off the tail.
        assert!(!text.contains("Reading package lists"), "{text}");
    }

    #[test]
    fn the_end_of_a_change_clears_its_progress_and_output() {
        let mut s = installing();
        let logged = s.apply(&Event::Change {
            step: "packages".into(),
            summary: "apt-get install postfix dovecot-core".into(),
        });
        assert_eq!(
            logged[0].text,
            "  [packages] apt-get install postfix dovecot-core"
        );
        assert!(s.running.is_none() && s.progress.is_none() && s.tail.is_empty());
        let text = screen(&s, 80, s.height()).join("\n");
        assert!(!text.contains("42%"), "{text}");
        assert!(!text.contains("│"), "{text}");
        assert!(text.contains("  → [packages] apt-get install postfix dovecot-core\n"));

        let mut s = installing();
        s.apply(&Event::StepFinished {
            step: "packages".into(),
            outcome: StepOutcome::Failed("apt-get: exit 100".into()),
        });
        assert!(s.running.is_none() && s.progress.is_none() && s.tail.is_empty());
    }

    #[test]
    fn output_goes_to_the_scrollback_only_when_verbose() {
        let out = Event::Output {
            step: "packages".into(),
            line: "Setting up postfix".into(),
        };
        assert!(installing().apply(&out).is_empty());
        let mut s = installing();
        s.verbose = true;
        assert_eq!(s.apply(&out)[0].text, "  [packages]   | Setting up postfix");
        assert!(installing()
            .apply(&Event::Progress {
                step: "packages".into(),
                percent: 50.0,
                what: "x".into(),
            })
            .is_empty());
    }

    #[test]
    fn a_small_view_keeps_the_running_step_the_bar_and_the_newest_line() {
        let s = installing();
        let lines = screen(&s, 60, 7);
        assert_eq!(lines.len(), 7);
        let text = lines.join("\n");
        assert!(text.contains("packages  install"), "{text}");
        assert!(text.contains("42%"), "{text}");
        assert!(text.contains("Setting up postfix"), "{text}");
        assert!(lines[6].contains("Ctrl-C"), "{text}");
    }

    #[test]
    fn wraps_long_lines() {
        // textwrap cuts a word too long for any line into pieces that fit the narrower
        // (indented) lines, so the first line is 8 wide here, not 10.
        assert_eq!(wrap("abcdefghijklmnop", 10), vec!["abcdefgh", "  ijklmnop"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        // At a space when there is one; the indent is kept on the first line.
        assert_eq!(
            wrap("  run apt-get install", 12),
            vec!["  run", "  apt-get", "  install"]
        );
        assert_eq!(wrap("é".repeat(12).as_str(), 10).len(), 2);
    }

    // ---- snapshots (insta): what a person sees, at 80 and 60 columns, Unicode and ASCII ----

    fn buffer_lines(buf: &ratatui::buffer::Buffer) -> Vec<String> {
        let a = buf.area;
        (a.top()..a.bottom())
            .map(|y| {
                (a.left()..a.right())
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    /// The live view; the rows it keeps blank for a command's output are left out.
    fn view(state: &DashState, w: u16) -> String {
        let mut lines = screen(state, w, state.height());
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines.join("\n")
    }

    /// The end block as the dashboard draws it, `w` columns wide.
    fn end_view(end: &End, w: u16, ascii: bool) -> String {
        let h = end_rows(end, w).len() as u16;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| render_end(end, false, ascii, f.area(), f.buffer_mut()))
            .unwrap();
        buffer_lines(t.backend().buffer()).join("\n")
    }

    /// The run after tls failed and was rolled back: the view as it stood, then the end block.
    fn failed_run(ascii: bool) -> DashState {
        let mut s = started();
        s.ascii = ascii;
        let ev = |step: &str, o| Event::StepFinished {
            step: step.into(),
            outcome: o,
        };
        s.apply(&ev("packages", StepOutcome::Changed(3)));
        s.apply(&ev("postfix", StepOutcome::Changed(20)));
        s.apply(&ev("dovecot", StepOutcome::Unchanged));
        s.apply(&ev("tls", StepOutcome::Failed("certbot: exit 1".into())));
        s.apply(&ev("tls", StepOutcome::RolledBack { ok: true }));
        s
    }

    #[test]
    fn snapshot_running_with_apt_percentage() {
        insta::assert_snapshot!("running_apt_80", view(&installing(), 80));
        let mut s = installing();
        s.ascii = true;
        insta::assert_snapshot!("running_apt_80_ascii", view(&s, 80));
    }

    #[test]
    fn snapshot_running_at_60_columns() {
        let text = view(&installing(), 60);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        insta::assert_snapshot!("running_apt_60", text);
    }

    #[test]
    fn snapshot_a_long_command_wraps_at_60_columns() {
        let mut s = installing();
        if let Some(r) = s.running.as_mut() {
            r.summary =
                "apt-get install postfix dovecot-core dovecot-imapd dovecot-lmtpd certbot rspamd ufw"
                    .into();
        }
        let text = view(&s, 60);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        // Cut at a space, the rest on the next row; the bar, the newest output and the hint stay.
        assert!(
            text.contains("\n    dovecot-imapd dovecot-lmtpd certbot rspamd ufw  (1/2)\n"),
            "{text}"
        );
        // Every step row still there: the output tail gave up a line instead.
        assert!(text.contains("  ○ tls"), "{text}");
        assert!(
            text.contains("42%") && text.contains("Setting up postfix"),
            "{text}"
        );
        assert!(
            text.ends_with("Ctrl-C stops safely: the current step is rolled back"),
            "{text}"
        );
        insta::assert_snapshot!("running_long_command_60", text);
    }

    #[test]
    fn snapshot_done_with_what_next() {
        let end = crate::ui::end::tests::done();
        insta::assert_snapshot!("done_80", end_view(&end, 80, false));
        insta::assert_snapshot!("done_60_ascii", end_view(&end, 60, true));
    }

    #[test]
    fn snapshot_the_end_of_an_install_fits_the_terminal() {
        // One domain: 80×24, "✓ done" still on screen when the prompt comes back.
        let end = crate::ui::end::tests::install_done();
        let text = end_view(&end, 80, false);
        assert!(text.lines().count() < 24, "{text}");
        assert!(text.starts_with("✓ done"), "{text}");
        insta::assert_snapshot!("install_done_80x24", text);
        // Three domains and POP3: 80×32, each domain a line, and `mailstead dns DOMAIN`.
        let mut end = crate::ui::end::tests::install_done();
        if let Some(w) = end.what_next.as_mut() {
            w.pop3 = true;
            if let Some(p) = w.dns.as_mut() {
                for d in ["example.net", "example.com"] {
                    let copies: Vec<_> = p
                        .records
                        .iter()
                        .filter(|r| r.domain == "example.org")
                        // example.com has no DKIM key yet: no DKIM record.
                        .filter(|r| d != "example.com" || !r.value.starts_with("v=DKIM1"))
                        .map(|r| mailstead_steps::dns::Record {
                            domain: d.into(),
                            name: r.name.replace("example.org", d),
                            ..r.clone()
                        })
                        .collect();
                    p.records.extend(copies);
                    p.domains.push(d.into());
                }
                p.missing_dkim.push("example.com".into());
            }
        }
        let text = end_view(&end, 80, false);
        assert!(text.lines().count() < 32, "{text}");
        insta::assert_snapshot!("install_done_80x32", text);
    }

    #[test]
    fn snapshot_failed_rolled_back_with_next_command() {
        let end = crate::ui::end::tests::failed();
        for (w, ascii, name) in [
            (80, false, "failed_80"),
            (60, false, "failed_60"),
            (60, true, "failed_60_ascii"),
        ] {
            let text = format!(
                "{}\n{}",
                view(&failed_run(ascii), w),
                end_view(&end, w, ascii)
            );
            assert!(
                text.lines().all(|l| l.chars().count() <= usize::from(w)),
                "{text}"
            );
            if ascii {
                assert!(text.is_ascii(), "{text}");
            } else {
                assert!(
                    text.contains("↺ tls") && text.contains("✗ failed in step tls"),
                    "{text}"
                );
            }
            // The one command, alone on its line.
            assert!(text.contains("\n  mailstead install\n"), "{text}");
            insta::assert_snapshot!(name, text);
        }
    }

    #[test]
    fn a_resize_redraws_every_cell() {
        let s = installing();
        let mut t = Terminal::new(TestBackend::new(80, s.height())).unwrap();
        t.draw(|f| render(&s, Duration::from_secs(83), false, f))
            .unwrap();
        assert!(buffer_lines(t.backend().buffer())[5].contains("(1/2)"));
        t.backend_mut().resize(50, s.height());
        redraw_after_resize(&mut t, &s, Duration::from_secs(83), false).unwrap();
        let after = buffer_lines(t.backend().buffer());
        // Exactly what a fresh 50-column view shows: nothing left of the 80-column frame.
        assert_eq!(after, screen(&s, 50, s.height()));
        assert!(after.iter().all(|l| l.chars().count() <= 50), "{after:#?}");
        // The current change wraps at a space instead.
        assert_eq!(
            after[5], "  → [packages] apt-get install postfix",
            "{after:#?}"
        );
        assert_eq!(after[6], "    dovecot-core  (1/2)", "{after:#?}");
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(Duration::from_secs(5)), "0:05");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
