//! What the admin sees and answers. The UI only watches engine events and asks questions: it
//! never changes the system.
//!
//! - [`plain`]: one line per event, for pipes, CI and `--plain`.
//! - [`dashboard`]: a live inline ratatui view for a terminal.
//! - [`wizard`] / [`menu`]: inquire prompts for the answers and the interactive menu.
//!
//! inquire and ratatui take turns, never at once: the dashboard stops its input thread and
//! restores the terminal before any prompt, and starts a fresh viewport afterwards.
pub mod dashboard;
pub mod menu;
pub mod plain;
pub mod wizard;

use mailstead_engine::engine::{Outcome, Plan, RollbackReport, RunReport};
use mailstead_engine::Observer;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};

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
        eprintln!("refused: {question}");
        eprintln!("  (no one to ask: {why}; answering no, the safe side)");
        return false;
    }
    let mut err = std::io::stderr();
    if !detail.trim().is_empty() && detail.trim() != question.trim() {
        let _ = writeln!(err, "{}", detail.trim_end());
    }
    let _ = err.flush();
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

/// Every change the plan would make, file changes as unified diffs (colored when `color`).
pub fn print_plan(plan: &Plan, color: bool) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(render_plan(plan, color).as_bytes());
    let _ = out.flush();
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

/// The end of a run in a few lines: what happened, what (if anything) needs hand care.
pub fn print_outcome(report: &RunReport, color: bool) {
    emit(
        &render_outcome(report, color),
        crate::exit::for_outcome(&report.outcome) == 0,
    );
}

/// Good news on stdout, bad news on stderr; a closed pipe is not worth a panic.
fn emit(text: &str, good: bool) {
    if good {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    } else {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

pub fn render_outcome(report: &RunReport, color: bool) -> String {
    let mut out = String::new();
    let run = report
        .id
        .as_ref()
        .map(|id| format!(" (run {id})"))
        .unwrap_or_default();
    match &report.outcome {
        Outcome::NothingToDo => {
            let _ = writeln!(
                out,
                "{}",
                paint(color, GREEN, "0 changes: already as asked")
            );
        }
        Outcome::Done if report.changes == 0 => {
            let _ = writeln!(
                out,
                "{}{run}",
                paint(color, GREEN, "0 changes: already as asked")
            );
        }
        Outcome::Done => {
            let _ = writeln!(
                out,
                "{}{run}",
                paint(
                    color,
                    GREEN,
                    &format!("✓ done: {}", count(report.changes, "change"))
                )
            );
        }
        Outcome::Refused(why) => {
            let _ = writeln!(
                out,
                "{}",
                paint(color, YELLOW, "refused: nothing was changed")
            );
            let _ = writeln!(out, "  {why}");
        }
        Outcome::Failed {
            step,
            error,
            problems,
        } => {
            let _ = writeln!(
                out,
                "{}{run}",
                paint(color, RED, &format!("✗ failed in step {step}"))
            );
            for line in error.lines() {
                let _ = writeln!(out, "  {line}");
            }
            rolled_back(&mut out, step, problems, color);
        }
        Outcome::Interrupted { step, problems } => {
            let _ = writeln!(
                out,
                "{}{run}",
                paint(color, YELLOW, &format!("interrupted in step {step}"))
            );
            rolled_back(&mut out, step, problems, color);
        }
    }
    if !report.installed.is_empty() {
        let _ = writeln!(out, "packages installed: {}", report.installed.join(" "));
        if crate::exit::for_outcome(&report.outcome) != 0 {
            let _ = writeln!(
                out,
                "  (kept; `mailstead rollback --purge-packages` removes them)"
            );
        }
    }
    out
}

fn rolled_back(out: &mut String, step: &str, problems: &[String], color: bool) {
    if problems.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                color,
                CYAN,
                &format!("↺ {step} rolled back: its files are as they were before it")
            )
        );
    } else {
        hand_care(out, problems, color);
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

/// The DNS records to publish, after a run's outcome (plain log and dashboard alike: the
/// dashboard has ended by then). One domain: its records; several: one line each and the
/// command that prints them. The lead may reuse it in a "what next" block.
pub fn print_dns_block(p: &mailstead_steps::dns::Published) {
    let text = format!("\n{}", mailstead_steps::dns::render_summary(p, dns_width()));
    emit(&text, true);
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
                },
            ],
            commands: vec![],
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
    fn refusal_in_plain_words() {
        let r = RunReport {
            id: None,
            changes: 0,
            installed: vec![],
            outcome: Outcome::Refused("this is Ubuntu, not Debian".into()),
            findings: vec![],
        };
        let text = render_outcome(&r, false);
        assert!(text.contains("nothing was changed"), "{text}");
        assert!(text.contains("this is Ubuntu"), "{text}");
        assert!(!text.contains('\x1b'), "{text:?}");
    }

    #[test]
    fn outcomes() {
        let mut r = RunReport {
            id: None,
            changes: 0,
            installed: vec![],
            outcome: Outcome::NothingToDo,
            findings: vec![],
        };
        assert_eq!(render_outcome(&r, false), "0 changes: already as asked\n");
        r.outcome = Outcome::Done;
        r.changes = 3;
        assert!(render_outcome(&r, false).starts_with("✓ done: 3 changes"));
        r.outcome = Outcome::Failed {
            step: "tls".into(),
            error: "acme: timeout\nmore".into(),
            problems: vec![],
        };
        r.installed = vec!["certbot".into()];
        let t = render_outcome(&r, false);
        assert!(
            t.contains("✗ failed in step tls\n  acme: timeout\n  more\n"),
            "{t}"
        );
        assert!(t.contains("↺ tls rolled back"), "{t}");
        assert!(t.contains("packages installed: certbot\n  (kept;"), "{t}");
        r.outcome = Outcome::Interrupted {
            step: "tls".into(),
            problems: vec!["/etc/x: permission denied".into()],
        };
        let t = render_outcome(&r, false);
        assert!(
            t.contains("need hand care:\n  - /etc/x: permission denied"),
            "{t}"
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
