//! `mailstead runs`: the runs, newest last.
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::out;
use mailstead_engine::journal::{self, Record, RunDir};
use std::io::IsTerminal;

/// List the runs, newest last
///
/// A header, then one line each: the run's id, status, changes, command line and steps. On a
/// terminal the table fits its width: a long command or steps list is cut short.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(s: &Session) -> CliResult {
    let ids = journal::list_runs(&s.host, &s.state_dir);
    if ids.is_empty() {
        out::line("No runs yet.");
    }
    let mut rows = Vec::new();
    for id in journal::list_run_dirs(&s.host, &s.state_dir) {
        let id_text = id.to_string();
        if !ids.contains(&id) {
            rows.push(Row::note(
                id_text,
                "no journal",
                "not a run mailstead can read (ignored)",
            ));
            continue;
        }
        match RunDir::open(&s.host, &s.state_dir, &id).and_then(|r| r.records()) {
            Ok(recs) => rows.push(Row::of(id_text, &recs)),
            Err(e) => rows.push(Row::note(id_text, "unreadable journal", &format!("{e:#}"))),
        }
    }
    let width = std::io::stdout()
        .is_terminal()
        .then(crossterm::terminal::size)
        .and_then(Result::ok)
        .map(|(cols, _)| usize::from(cols));
    for line in table(&rows, width) {
        out::line(line);
    }
    Ok(exit::DONE)
}

/// One run as `runs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    status: String,
    /// Changes made by its steps; `None` when the journal could not be read.
    changes: Option<usize>,
    /// The command line it was started with, in backticks; empty when unknown.
    command: String,
    /// The steps that finished, comma-separated (`-` for none), or why the run is not read.
    steps: String,
}

impl Row {
    /// A run told from its journal's records.
    fn of(id: String, recs: &[Record]) -> Row {
        let mut status = "in progress or interrupted".to_string();
        let mut changes = 0;
        let mut steps = Vec::new();
        let mut command = String::new();
        for r in recs {
            match r {
                Record::RunStart { command: c, .. } => command = format!("`{}`", short(c)),
                Record::StepDone { step, changes: n } => {
                    changes += n;
                    steps.push(step.clone());
                }
                Record::RunEnd { status: st, .. } => status = st.clone(),
                Record::RunRolledBack { .. } => status = "rolled back".into(),
                _ => {}
            }
        }
        Row {
            id,
            status,
            changes: Some(changes),
            command,
            steps: if steps.is_empty() {
                "-".into()
            } else {
                steps.join(",")
            },
        }
    }

    /// A run directory that cannot be listed as a run: `status` says so, `why` in the last
    /// column.
    fn note(id: String, status: &str, why: &str) -> Row {
        Row {
            id,
            status: status.into(),
            changes: None,
            command: String::new(),
            steps: why.into(),
        }
    }
}

/// A command line without the binary's directory: `/usr/local/sbin/mailstead install` is
/// `mailstead install`.
fn short(command: &str) -> String {
    let (first, rest) = command.split_once(' ').unwrap_or((command, ""));
    let bin = first
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or(first);
    format!("{bin} {rest}").trim_end().to_string()
}

/// `text` cut to `max` columns, its end an ellipsis when cut.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The header and one line per row, each column as wide as its widest cell (ids of different
/// widths stay aligned); changes right-aligned, the steps (longest) last and unpadded.
/// With a terminal `cols` wide, no line is wider: the command and the steps are cut (ending in
/// `…`) to what is left after the id, status and changes, the command at most 3/5 of it.
/// No lines when there are no rows.
fn table(rows: &[Row], cols: Option<usize>) -> Vec<String> {
    if rows.is_empty() {
        return Vec::new();
    }
    let header = Row {
        id: "RUN".into(),
        status: "STATUS".into(),
        changes: None,
        command: "COMMAND".into(),
        steps: "STEPS".into(),
    };
    let changes = |r: &Row| match (r.changes, r.id == header.id) {
        (_, true) => "CHANGES".to_string(),
        (Some(n), _) => n.to_string(),
        (None, _) => "-".to_string(),
    };
    let all: Vec<&Row> = std::iter::once(&header).chain(rows).collect();
    let width = |f: &dyn Fn(&Row) -> usize| all.iter().map(|r| f(r)).max().unwrap_or(0);
    let (w_id, w_status, w_changes, w_command) = (
        width(&|r| r.id.chars().count()),
        width(&|r| r.status.chars().count()),
        width(&|r| changes(r).len()),
        width(&|r| r.command.chars().count()),
    );
    let w_steps = width(&|r| r.steps.chars().count());
    // Columns left for the command and the steps (and the two spaces between them).
    let left = cols.map(|w| w.saturating_sub(w_id + w_status + w_changes + 6 + 2));
    let (w_command, max_steps) = match left {
        Some(left) if w_command + w_steps > left => {
            let command = w_command.min(left * 3 / 5).max(4);
            (command, left.saturating_sub(command).max(4))
        }
        _ => (w_command, w_steps),
    };
    all.iter()
        .map(|r| {
            format!(
                "{:<w_id$}  {:<w_status$}  {:>w_changes$}  {:<w_command$}  {}",
                r.id,
                r.status,
                changes(r),
                fit(&r.command, w_command),
                fit(&r.steps, max_steps)
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, status: &str, changes: usize, command: &str, steps: &str) -> Row {
        Row {
            id: id.into(),
            status: status.into(),
            changes: Some(changes),
            command: format!("`{command}`"),
            steps: steps.into(),
        }
    }

    /// A header, and every column starting at the same place on every line, whatever the
    /// widths of the ids (pids of different lengths, a `.N` sequence) and statuses.
    #[test]
    fn a_header_and_aligned_columns() {
        let rows = vec![
            row(
                "20261206T171500Z-7",
                "ok",
                72,
                "mailstead install",
                "packages,tls",
            ),
            row(
                "20261206T171600Z-123456.2",
                "rolled back",
                3,
                "mailstead add-domain other.test",
                "postfix",
            ),
            Row::note(
                "29991231T235959Z-7".into(),
                "no journal",
                "not a run mailstead can read (ignored)",
            ),
        ];
        let lines = table(&rows, None);
        assert_eq!(
            lines,
            [
                "RUN                        STATUS       CHANGES  COMMAND                            STEPS",
                "20261206T171500Z-7         ok                72  `mailstead install`                packages,tls",
                "20261206T171600Z-123456.2  rolled back        3  `mailstead add-domain other.test`  postfix",
                "29991231T235959Z-7         no journal         -                                     not a run mailstead can read (ignored)",
            ]
        );
        let status_at = lines[0].find("STATUS").unwrap();
        for l in &lines {
            assert_eq!(l.chars().nth(status_at - 1), Some(' '), "{l}");
            assert_ne!(l.chars().nth(status_at), Some(' '), "{l}");
        }
        assert!(table(&[], Some(80)).is_empty());
    }

    /// On an 80-column terminal no line wraps: a long command and a long steps list end in
    /// `…`, the columns still aligned; the binary's directory is left out of the command.
    #[test]
    fn the_table_fits_the_terminal() {
        let steps = "packages,hostname,postfix,dovecot,rspamd,dkim,tls,firewall,fail2ban,check";
        let rows = vec![
            Row::of(
                "20261206T171500Z-4242".into(),
                &[
                    Record::RunStart {
                        id: journal::RunId("20261206T171500Z-4242".into()),
                        version: "0.1.0".into(),
                        command: "/work/main/target/release/mailstead install --config \
                                  /etc/mailstead/mailstead.yaml --yes"
                            .into(),
                        atomic: false,
                    },
                    Record::StepDone {
                        step: "packages".into(),
                        changes: 3,
                    },
                    Record::RunEnd {
                        status: "ok".into(),
                        left: Default::default(),
                    },
                ],
            ),
            row(
                "20261206T171600Z-7",
                "ok",
                12,
                "mailstead add-mailbox b@example.test",
                steps,
            ),
        ];
        assert!(
            rows[0].command.starts_with("`mailstead install --config"),
            "{:?}",
            rows[0].command
        );
        let lines = table(&rows, Some(80));
        for l in &lines {
            assert!(
                l.chars().count() <= 80,
                "{} columns: {l}",
                l.chars().count()
            );
        }
        assert!(
            lines[1].contains("  `mailstead install --") && lines[1].contains("…  packages"),
            "{lines:#?}"
        );
        assert!(
            lines[2].ends_with('…') && lines[2].contains("packages,host"),
            "{lines:#?}"
        );
        // The steps column starts at the same column on every line.
        let steps_at = lines[0].find("STEPS").unwrap();
        for l in &lines[1..] {
            let rest: String = l.chars().skip(steps_at).collect();
            assert!(rest.starts_with("packages"), "{lines:#?}");
            assert_eq!(l.chars().nth(steps_at - 1), Some(' '), "{lines:#?}");
        }
        // Wide enough: nothing cut.
        let wide = table(&rows, Some(300));
        assert!(wide[2].ends_with(steps) && !wide.iter().any(|l| l.contains('…')));
    }
}
