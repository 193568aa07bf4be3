//! What the admin sees and answers. The UI only watches engine events and asks questions: it
//! never changes the system.
//!
//! - [`plain`]: one line per event, for pipes, CI and `--plain`.
//! - [`dashboard`]: a live inline ratatui view for a terminal.
//! - [`wizard`] / [`menu`]: inquire prompts for the answers and the interactive menu.
//! - [`out`]: the one way words reach the admin (symbols, pipes); every printer uses it.
//!
//! inquire and ratatui take turns, never at once: the dashboard stops its input thread and
//! restores the terminal before any prompt, and starts a fresh viewport afterwards.
pub mod dashboard;
pub mod end;
pub mod kind;
pub mod menu;
pub mod out;
pub mod plain;
pub mod progress;
pub mod summary;
pub mod wizard;

use mailstead_engine::engine::{Plan, RollbackReport};
use mailstead_engine::Observer;
use std::fmt::Write as _;
use std::io::IsTerminal;

pub use dashboard::Dashboard;
pub use plain::PlainLog;

/// The dashboard on a terminal (unless `plain`), the plain log otherwise. The dashboard falls
/// back to the plain log by itself when the terminal is too small or cannot be put in raw mode.
pub fn observer(plain: bool, verbose: bool) -> Box<dyn Observer> {
    if !plain && dashboard_possible() {
        Box::new(Dashboard::new(verbose))
    } else {
        Box::new(PlainLog::new(verbose))
    }
}

/// A live view needs stdout on a terminal that understands cursor movement.
pub fn dashboard_possible() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
        && std::env::var_os("CI").is_none()
}

/// Can the terminal show ✓ ✗ ↺ and the other symbols? Not on the Linux console
/// (`TERM=linux`: its console font lacks them), and only under a UTF-8 locale: the first of
/// `LC_ALL`, `LC_CTYPE`, `LANG` that is set and not empty decides (POSIX's order); none set is
/// the POSIX locale, which is ASCII.
pub fn unicode_from(
    term: Option<&str>,
    lc_all: Option<&str>,
    lc_ctype: Option<&str>,
    lang: Option<&str>,
) -> bool {
    if term == Some("linux") {
        return false;
    }
    let locale = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .unwrap_or("");
    let l = locale.to_ascii_lowercase();
    l.contains("utf-8") || l.contains("utf8")
}

/// [`unicode_from`] for this process's environment, decided once.
pub fn unicode_ok() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        let var = |k: &str| std::env::var(k).ok();
        unicode_from(
            var("TERM").as_deref(),
            var("LC_ALL").as_deref(),
            var("LC_CTYPE").as_deref(),
            var("LANG").as_deref(),
        )
    })
}

/// Plain text printed to a terminal that cannot show the symbols gets ASCII ones; text going
/// to a pipe or file keeps them (what reads it reads UTF-8).
pub fn ascii_wanted_on_stdout() -> bool {
    std::io::stdout().is_terminal() && !unicode_ok()
}

/// The ASCII stand-in for a symbol mailstead draws, one column wide like the symbol.
pub fn ascii_symbol(c: char) -> Option<char> {
    Some(match c {
        '✓' => '+',
        '✗' => 'x',
        '↺' => '<',
        '·' => '-',
        '○' => 'o',
        '→' | '▸' => '>',
        '←' => '<',
        '│' => '|',
        '█' => '#',
        '░' => '.',
        '…' => '.',
        '—' | '–' => '-',
        '↑' => '^',
        '↓' => 'v',
        // The spinner's frames turn as | / - \ .
        '⠋' | '⠸' | '⠦' => '|',
        '⠙' | '⠼' | '⠧' => '/',
        '⠹' | '⠴' | '⠇' => '-',
        '⠏' => '\\',
        _ => return None,
    })
}

/// `text` with every symbol [`ascii_symbol`] knows replaced.
pub fn to_ascii(text: &str) -> String {
    text.chars().map(|c| ascii_symbol(c).unwrap_or(c)).collect()
}

/// The one place color is decided, for everything mailstead prints (plans, outcomes,
/// rollbacks, errors, the dashboard). anstream's rules for each stream (`NO_COLOR`,
/// `CLICOLOR=0`, `CLICOLOR_FORCE`, `TERM=dumb`, a terminal or not), and both stdout and stderr
/// must get color: outcomes go to either, and a half-colored transcript helps no one.
pub fn color_wanted() -> bool {
    use anstream::{AutoStream, ColorChoice};
    let wanted = |c: ColorChoice| c != ColorChoice::Never;
    wanted(AutoStream::choice(&std::io::stdout())) && wanted(AutoStream::choice(&std::io::stderr()))
}

/// Puts the terminal back as the shell expects it (raw mode off, cursor shown). Safe to call at
/// any time, any number of times; the dashboard does it itself, this is for error paths.
pub fn restore_terminal() {
    if crossterm::terminal::is_raw_mode_enabled().unwrap_or(false) {
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
    }
}

/// Can we ask the admin? inquire draws on stderr and reads keys from stdin, or from /dev/tty when
/// stdin is a pipe (`curl | sh`): crossterm opens /dev/tty itself in that case.
pub fn can_prompt() -> Result<(), String> {
    if !std::io::stdin().is_terminal() {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            Ok(f) if f.is_terminal() => {}
            Ok(_) => return Err("stdin is not a terminal and /dev/tty is not one either".into()),
            Err(e) => {
                return Err(format!(
                    "stdin is not a terminal and /dev/tty cannot be opened: {e}"
                ))
            }
        }
    }
    if !std::io::stderr().is_terminal() {
        return Err("stderr is not a terminal (prompts are drawn there)".into());
    }
    Ok(())
}

/// A yes/no question during a run (hand edits, recovery). No terminal: `false`, and says so.
/// The detail (a diff, what happened) is shown above the question.
pub(crate) fn ask_yes_no(question: &str, detail: &str) -> bool {
    if let Err(why) = can_prompt() {
        out::err_line(format_args!("refused: {question}"));
        out::err_line(format_args!(
            "  (no one to ask: {why}; answering no, the safe side)"
        ));
        return false;
    }
    if !detail.trim().is_empty() && detail.trim() != question.trim() {
        out::err_line(detail.trim_end());
    }
    match inquire::Confirm::new(question)
        .with_default(false)
        .with_help_message("y to go ahead, n (or Enter, Esc) to leave things as they are")
        .prompt()
    {
        Ok(answer) => answer,
        Err(inquire::InquireError::OperationInterrupted) => {
            // Ctrl-C at a question: answer no and let the engine stop safely.
            mailstead_engine::interrupt::request();
            false
        }
        Err(_) => false,
    }
}

/// Waits for Enter (or Esc, q, Ctrl-C) under `line`, e.g. after an add-domain from the menu,
/// whose records the menu drawn next would push out of sight. No terminal: returns at once.
pub fn wait_for_enter(line: &str) {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    if can_prompt().is_err() {
        return;
    }
    out::err_line(paint(color_wanted(), DIM, line));
    if crossterm::terminal::enable_raw_mode().is_err() {
        return;
    }
    while let Ok(ev) = event::read() {
        if let Event::Key(k) = ev {
            let ctrl_c =
                k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
            if k.kind == KeyEventKind::Press
                && (ctrl_c || matches!(k.code, KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q')))
            {
                break;
            }
        }
    }
    let _ = crossterm::terminal::disable_raw_mode();
}

/// The styles mailstead paints with (anstyle); whether to paint is [`color_wanted`]'s call.
pub(crate) mod style {
    use anstyle::{AnsiColor, Style};
    pub const RED: Style = AnsiColor::Red.on_default();
    pub const GREEN: Style = AnsiColor::Green.on_default();
    pub const YELLOW: Style = AnsiColor::Yellow.on_default();
    pub const CYAN: Style = AnsiColor::Cyan.on_default();
    pub const BOLD: Style = Style::new().bold();
    pub const DIM: Style = Style::new().dimmed();
}
use style::{BOLD, CYAN, DIM, GREEN, RED, YELLOW};

/// `text` in `style` when `color`, as it is otherwise.
pub(crate) fn paint(color: bool, style: anstyle::Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// The plan on one screen (what is installed and configured, ports, file counts) and the
/// question; `d` pages the full diffs and asks again. `Ok(true)`: apply.
pub fn confirm_plan(
    plan: &Plan,
    answers: &mailstead_answers::Answers,
) -> Result<bool, wizard::WizardError> {
    let summary = summary::PlanSummary::of(plan);
    let text = confirm_text(&summary, answers, dns_width());
    if plan.total() == 0 {
        out::err_text(&text);
        return Ok(false);
    }
    loop {
        out::err_line("What this run does (nothing is changed until you answer):");
        out::err_text(&text);
        match summary::ask(&summary::question(&summary))? {
            summary::Answer::Apply => {
                // The end of the run explains a count different from the one shown here.
                summary::remember(&summary);
                return Ok(true);
            }
            summary::Answer::Cancel => return Ok(false),
            // Then the summary and the question again, together under the diffs.
            summary::Answer::ShowDiffs => summary::page(&render_plan(plan, color_wanted())),
        }
    }
}

/// The confirm screen's summary for `answers` (its ports and firewall), `width` columns wide.
fn confirm_text(
    summary: &summary::PlanSummary,
    answers: &mailstead_answers::Answers,
    width: usize,
) -> String {
    let mut ports: Vec<(u16, &str)> = mailstead_steps::layout::mail_ports(answers.pop3);
    ports.push((80, "certificate challenges"));
    summary::render(
        summary,
        &summary::Ports {
            open: &ports,
            firewall: answers.firewall.enabled,
        },
        width,
    )
}

/// Every change the plan would make, file changes as unified diffs (colored when `color`).
pub fn print_plan(plan: &Plan, color: bool) {
    out::text(&render_plan(plan, color));
}

/// How many probes planning ran, per program (`--verbose`): each fact is probed once a run.
pub fn render_probes(plan: &Plan) -> String {
    let mut per: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in &plan.commands {
        *per.entry(c.split_whitespace().next().unwrap_or(""))
            .or_default() += 1;
    }
    let list: Vec<String> = per.iter().map(|(p, n)| format!("{p} x{n}")).collect();
    format!(
        "planning ran {}: {}\n",
        count(plan.commands.len(), "command"),
        list.join(", ")
    )
}

pub fn render_plan(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    for step in &plan.steps {
        if step.changes.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                paint(color, DIM, &format!("· {}: unchanged", step.step))
            );
            notes(&mut out, &step.notes, color);
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            paint(
                color,
                BOLD,
                &format!("▸ {}: {}", step.step, count(step.changes.len(), "change"))
            )
        );
        notes(&mut out, &step.notes, color);
        for c in &step.changes {
            let _ = writeln!(out, "  {}", c.summary);
            if let Some(d) = &c.drift {
                let _ = writeln!(
                    out,
                    "  {}",
                    paint(
                        color,
                        YELLOW,
                        "! edited by hand since mailstead wrote it; applying asks first:"
                    )
                );
                for line in d.lines() {
                    let _ = writeln!(out, "    {}", diff_line(line, color));
                }
            }
            let rendered = c.rendered.trim_end();
            // A lone summary line repeats what was just printed.
            if !rendered.is_empty() && rendered != c.summary {
                for line in rendered.lines() {
                    let _ = writeln!(out, "    {}", diff_line(line, color));
                }
            }
        }
    }
    let total = plan.total();
    if total == 0 {
        let _ = writeln!(
            out,
            "{}",
            paint(color, GREEN, "0 changes: already as asked")
        );
    } else {
        let steps = plan.steps.iter().filter(|s| !s.changes.is_empty()).count();
        let drifted = plan.drifted().count();
        let _ = write!(
            out,
            "{} in {}",
            count(total, "change"),
            count(steps, "step")
        );
        if drifted > 0 {
            let _ = write!(
                out,
                "{}",
                paint(
                    color,
                    YELLOW,
                    &format!(", {} over hand edits", count(drifted, "file"))
                )
            );
        }
        let _ = writeln!(out, " (nothing was changed)");
    }
    out
}

fn notes(out: &mut String, notes: &[mailstead_engine::Note], color: bool) {
    for n in notes {
        let line = match n.level {
            mailstead_engine::Level::Info => format!("note: {}", n.text),
            mailstead_engine::Level::Warning => format!("warning: {}", n.text),
        };
        let _ = writeln!(out, "  {}", paint(color, YELLOW, &line));
    }
}

fn diff_line(line: &str, color: bool) -> String {
    if !color {
        return line.to_string();
    }
    let style = if line.starts_with("+++") || line.starts_with("---") {
        BOLD
    } else if line.starts_with('+') {
        GREEN
    } else if line.starts_with('-') {
        RED
    } else if line.starts_with("@@") {
        CYAN
    } else {
        return line.to_string();
    };
    paint(true, style, line)
}

pub(crate) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The end of a run, printed once: drawn by the dashboard when it ran the run, printed as
/// text otherwise (good news on stdout, bad news on stderr).
pub fn print_end(end: &end::End, plain: bool) {
    if !plain && dashboard_possible() && dashboard::show_end(end) {
        return;
    }
    emit(
        &end::text(end, dns_width(), color_wanted()),
        end::is_good(end),
    );
}

/// Good news on stdout, bad news on stderr.
fn emit(text: &str, good: bool) {
    if good {
        out::text(text);
    } else {
        out::err_text(text);
    }
}

fn hand_care(out: &mut String, problems: &[String], color: bool) {
    let _ = writeln!(
        out,
        "{}",
        paint(
            color,
            RED,
            "rollback could not restore everything; these need hand care:"
        )
    );
    for p in problems {
        let _ = writeln!(out, "  - {p}");
    }
}

/// After `mailstead rollback` or crash recovery.
pub fn print_rollback(report: &RollbackReport, color: bool) {
    emit(&render_rollback(report, color), report.problems.is_empty());
}

pub fn render_rollback(report: &RollbackReport, color: bool) -> String {
    let mut out = String::new();
    let run = report
        .id
        .as_ref()
        .map(|id| format!("run {id}"))
        .unwrap_or_else(|| "the run".into());
    if report.restored_steps.is_empty() {
        let _ = writeln!(out, "↺ {run}: no step needed restoring");
    } else {
        let _ = writeln!(
            out,
            "{}",
            paint(
                color,
                CYAN,
                &format!("↺ rolled back {run}: {}", report.restored_steps.join(", "))
            )
        );
    }
    if !report.problems.is_empty() {
        hand_care(&mut out, &report.problems, color);
    }
    if !report.purged.is_empty() {
        let _ = writeln!(out, "packages removed: {}", report.purged.join(" "));
    }
    let kept: Vec<&String> = report
        .installed
        .iter()
        .filter(|p| !report.purged.contains(p))
        .collect();
    if !kept.is_empty() {
        let _ = writeln!(
            out,
            "packages the run installed, kept: {} (`--purge-packages` removes them)",
            kept.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    out
}

// ---- `mailstead dns`: the records block after an install or add-domain ----

/// Columns to wrap `mailstead dns`'s table at: the terminal's width, else 80.
pub fn dns_width() -> usize {
    if std::io::stdout().is_terminal() {
        if let Ok((cols, _)) = crossterm::terminal::size() {
            return usize::from(cols).clamp(40, 200);
        }
    }
    80
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::engine::{PlannedChange, PlannedStep};

    fn plan() -> Plan {
        Plan {
            steps: vec![
                PlannedStep {
                    step: "packages".into(),
                    changes: vec![],
                    notes: vec![mailstead_engine::Note::info(
                        "dovecot-pop3d skipped: pop3 is off",
                    )],
                    contingent: None,
                },
                PlannedStep {
                    step: "postfix".into(),
                    changes: vec![
                        PlannedChange {
                            summary: "write /etc/postfix/main.cf (root:root 0644)".into(),
                            rendered: "--- a/etc/postfix/main.cf\n+++ b/etc/postfix/main.cf\n@@ -1 +1 @@\n-myhostname = old\n+myhostname = mail.example.test\n".into(),
                            drift: None,
                        },
                        PlannedChange {
                            summary: "reload postfix".into(),
                            rendered: "reload postfix\n".into(),
                            drift: Some("edited by hand".into()),
                        },
                    ],
                    notes: vec![],
                    contingent: None,
                },
            ],
            commands: vec![],
            facts: Default::default(),
        }
    }

    #[test]
    fn plan_plain_text() {
        let text = render_plan(&plan(), false);
        assert!(
            text.contains("· packages: unchanged\n  note: dovecot-pop3d skipped: pop3 is off\n"),
            "{text}"
        );
        assert!(text.contains("▸ postfix: 2 changes"), "{text}");
        assert!(text.contains("    -myhostname = old"), "{text}");
        assert!(
            text.contains("    +myhostname = mail.example.test"),
            "{text}"
        );
        // The summary is not repeated for a change that renders as its summary.
        assert_eq!(text.matches("reload postfix").count(), 1, "{text}");
        assert!(text.contains("! edited by hand"), "{text}");
        assert!(
            text.ends_with("2 changes in 1 step, 1 file over hand edits (nothing was changed)\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn plan_colored_diff() {
        let text = render_plan(&plan(), true);
        assert!(text.contains("\x1b[32m+myhostname = mail.example.test\x1b[0m"));
        assert!(text.contains("\x1b[31m-myhostname = old\x1b[0m"));
        assert!(text.contains("\x1b[1m+++ b/etc/postfix/main.cf\x1b[0m"));
        assert!(text.contains(&paint(true, CYAN, "@@ -1 +1 @@")));
    }

    #[test]
    fn empty_plan_says_already_as_asked() {
        let text = render_plan(&Plan::default(), false);
        assert_eq!(text, "0 changes: already as asked\n");
    }

    #[test]
    fn color_is_decided_in_one_place() {
        // Tests run with captured (non-terminal) output: anstream says no color.
        if std::env::var_os("CLICOLOR_FORCE").is_none() {
            assert!(!color_wanted());
        }
        assert_eq!(paint(false, RED, "x"), "x");
    }

    #[test]
    fn symbols_follow_the_locale_and_the_console() {
        let u = |t, a, c, l| unicode_from(t, a, c, l);
        assert!(u(Some("xterm-256color"), None, None, Some("en_US.UTF-8")));
        assert!(u(Some("xterm"), None, None, Some("C.utf8")));
        assert!(
            !u(Some("linux"), None, None, Some("C.UTF-8")),
            "the Linux console"
        );
        assert!(
            !u(Some("xterm"), None, None, None),
            "no locale: POSIX, ASCII"
        );
        assert!(!u(Some("xterm"), None, None, Some("C")));
        // LC_ALL wins over LANG; an empty one does not count.
        assert!(!u(Some("xterm"), Some("C"), None, Some("en_US.UTF-8")));
        assert!(u(Some("xterm"), Some(""), Some("en_US.UTF-8"), Some("C")));
        assert_eq!(
            to_ascii("✓ done ✗ failed ↺ rolled back → x │ ██░░ …"),
            "+ done x failed < rolled back > x | ##.. ."
        );
    }

    #[test]
    fn rollback_report() {
        let r = RollbackReport {
            id: None,
            restored_steps: vec!["postfix".into(), "packages".into()],
            problems: vec![],
            installed: vec!["postfix".into(), "dovecot-core".into()],
            purged: vec!["dovecot-core".into()],
            ..Default::default()
        };
        let t = render_rollback(&r, false);
        assert!(
            t.contains("↺ rolled back the run: postfix, packages"),
            "{t}"
        );
        assert!(t.contains("packages removed: dovecot-core"), "{t}");
        assert!(t.contains("kept: postfix "), "{t}");
    }
}
