//! The plan on one screen: what will be installed and configured, which ports open, how many
//! files change, then the question. The full diffs come on request (`d`), through a pager.
//!
//! Built from the plan's change summaries and renders only, so it says what the engine will do
//! (the engine's [`mailstead_engine::Change::summary`] and [`mailstead_engine::Change::render`]
//! forms: `apt-get install P…`, `write PATH (…)`, `remove PATH`, `directory PATH (…)`,
//! `reload S`/`restart S`; a new file renders as `+ PATH (…)`, a command as `$ CMD    # …`).
use mailstead_engine::engine::Plan;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};

/// What a plan does, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    /// Packages apt will install, in plan order.
    pub packages: Vec<String>,
    /// Steps that change something, with how many changes each.
    pub steps: Vec<(String, usize)>,
    pub files_new: usize,
    pub files_changed: usize,
    pub files_removed: usize,
    pub dirs: usize,
    /// Commands run (not counting apt and service reloads).
    pub commands: usize,
    /// Services reloaded or restarted, once each.
    pub services: Vec<String>,
    /// Changes over hand edits (their summaries): applying asks first.
    pub drifted: Vec<String>,
    pub total: usize,
}

impl PlanSummary {
    pub fn of(plan: &Plan) -> PlanSummary {
        let mut s = PlanSummary {
            total: plan.total(),
            ..Default::default()
        };
        for step in &plan.steps {
            if step.changes.is_empty() {
                continue;
            }
            s.steps.push((step.step.clone(), step.changes.len()));
            for c in &step.changes {
                if c.drift.is_some() {
                    s.drifted.push(c.summary.clone());
                }
                let sum = c.summary.as_str();
                if let Some(p) = sum.strip_prefix("apt-get install ") {
                    s.packages.extend(p.split_whitespace().map(String::from));
                } else if sum.starts_with("write ") {
                    if c.rendered.starts_with("+ ") {
                        s.files_new += 1;
                    } else {
                        s.files_changed += 1;
                    }
                } else if sum.starts_with("remove ") {
                    s.files_removed += 1;
                } else if sum.starts_with("directory ") {
                    s.dirs += 1;
                } else if let Some(svc) = sum
                    .strip_prefix("reload ")
                    .or_else(|| sum.strip_prefix("restart "))
                    .filter(|_| !c.rendered.starts_with("$ "))
                {
                    if !s.services.iter().any(|x| x == svc) {
                        s.services.push(svc.to_string());
                    }
                } else {
                    s.commands += 1;
                }
            }
        }
        s
    }
}

/// The ports the mail server listens on for the world (port and what it is for), and whether
/// the firewall closes everything else but SSH.
pub struct Ports<'a> {
    pub open: &'a [(u16, &'a str)],
    pub firewall: bool,
}

/// The summary text, wrapped at `width` columns at word boundaries, ending with a blank line.
pub fn render(s: &PlanSummary, ports: &Ports, width: usize) -> String {
    let width = width.max(40);
    let mut out = String::new();
    let mut row = |label: &str, text: String| {
        let head = format!("  {label:<10} ");
        let opts = textwrap::Options::new(width)
            .initial_indent(&head)
            .subsequent_indent("             ")
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for line in textwrap::wrap(&text, &opts) {
            let _ = writeln!(out, "{line}");
        }
    };
    if s.total == 0 {
        row("nothing", "to change: already as asked".into());
        return out;
    }
    if !s.packages.is_empty() {
        // One line: the first names, then how many more (`d` lists them all).
        let room = width.saturating_sub(13 + 24);
        let mut shown = String::new();
        let mut n = 0;
        for p in &s.packages {
            if !shown.is_empty() && shown.len() + 1 + p.len() > room {
                break;
            }
            if !shown.is_empty() {
                shown.push(' ');
            }
            shown.push_str(p);
            n += 1;
        }
        let more = s.packages.len() - n;
        let text = if more == 0 {
            format!("{}: {shown}", super::count(s.packages.len(), "package"))
        } else {
            format!(
                "{}: {shown} and {more} more",
                super::count(s.packages.len(), "package")
            )
        };
        row("install", text);
    }
    let steps: Vec<String> = s
        .steps
        .iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect();
    row("configure", steps.join(", "));
    if !ports.open.is_empty() {
        let list: Vec<String> = ports
            .open
            .iter()
            .map(|(p, what)| format!("{p} {what}"))
            .collect();
        let mut text = list.join(", ");
        if ports.firewall {
            text.push_str("; the firewall allows only these and SSH");
        }
        row("ports", text);
    }
    let mut files = Vec::new();
    let written = s.files_new + s.files_changed;
    if written > 0 {
        files.push(format!(
            "{} written ({} new, {} changed)",
            written, s.files_new, s.files_changed
        ));
    }
    if s.files_removed > 0 {
        files.push(format!("{} removed", s.files_removed));
    }
    if s.dirs > 0 {
        files.push(super::count(s.dirs, "directory").replace("directorys", "directories"));
    }
    if !files.is_empty() {
        row("files", files.join(", "));
    }
    if s.commands > 0 || !s.services.is_empty() {
        let mut text = super::count(s.commands, "command");
        if !s.services.is_empty() {
            let _ = write!(text, "; reloads {}", s.services.join(", "));
        }
        row("runs", text);
    }
    if !s.drifted.is_empty() {
        row(
            "! edited",
            format!(
                "{} edited by hand since mailstead wrote it; you are asked before each",
                super::count(s.drifted.len(), "file")
            ),
        );
    }
    out
}

/// What the admin answered at the one-screen question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Apply,
    Cancel,
    ShowDiffs,
}

impl std::str::FromStr for Answer {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(Answer::Apply),
            "n" | "no" => Ok(Answer::Cancel),
            "d" | "diff" | "diffs" => Ok(Answer::ShowDiffs),
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Apply => "yes",
            Answer::Cancel => "no",
            Answer::ShowDiffs => "show the diffs",
        })
    }
}

/// The question under the summary: `y` applies, `n` (or Esc) leaves the server as it is, `d`
/// shows the full diffs ([`page`]) and asks again.
pub fn ask(total: usize) -> Result<Answer, super::wizard::WizardError> {
    super::wizard::need_terminal()?;
    let question = if total == 1 {
        "Apply this change?".to_string()
    } else {
        format!("Apply these {total} changes?")
    };
    match inquire::CustomType::<Answer>::new(&question)
        .with_placeholder("y/n/d")
        .with_help_message(
            "y applies, n leaves the server as it is, d shows every change as a diff",
        )
        .with_error_message("type y, n or d")
        .prompt()
    {
        Ok(a) => Ok(a),
        Err(inquire::InquireError::OperationCanceled) => Ok(Answer::Cancel),
        Err(e) => Err(e.into()),
    }
}

/// The pager to show long text through, as git picks it: `$PAGER` when set and not empty,
/// else `less -R` (with `LESS=FRX` unless `LESS` is set: quit when it fits on one screen,
/// raw color codes, no screen clearing).
pub fn pager_command() -> String {
    match std::env::var("PAGER") {
        Ok(p) if !p.trim().is_empty() => p,
        _ => "less -R".into(),
    }
}

/// Shows `text` through the pager when stdout is a terminal, prints it otherwise (or when the
/// pager cannot start, e.g. `less` is not installed).
pub fn page(text: &str) {
    if std::io::stdout().is_terminal() {
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(pager_command())
            .stdin(std::process::Stdio::piped());
        if std::env::var_os("LESS").is_none() {
            cmd.env("LESS", "FRX");
        }
        if let Ok(mut child) = cmd.spawn() {
            if let Some(mut stdin) = child.stdin.take() {
                // A pager quit early closes the pipe: not an error.
                let _ = stdin.write_all(text.as_bytes());
            }
            // 126/127: the shell could not run the pager (not installed): print instead.
            match child.wait() {
                Ok(st) if !matches!(st.code(), Some(126 | 127)) => return,
                _ => {}
            }
        }
    }
    super::out::text(text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::engine::{PlannedChange, PlannedStep};

    fn change(summary: &str, rendered: &str) -> PlannedChange {
        PlannedChange {
            summary: summary.into(),
            rendered: rendered.into(),
            drift: None,
        }
    }

    pub(crate) fn plan() -> Plan {
        let mut postfix: Vec<PlannedChange> = (0..12)
            .map(|i| {
                change(
                    &format!("write /etc/postfix/f{i} (0644 root:root)"),
                    &format!("+ /etc/postfix/f{i} (0644 root:root)\n--- a\n+++ b\n+x\n"),
                )
            })
            .collect();
        postfix.push(change(
            "write /etc/postfix/main.cf (0644 root:root)",
            "--- a/etc/postfix/main.cf\n+++ b/etc/postfix/main.cf\n-a\n+b\n",
        ));
        postfix.push(change("reload postfix", "reload postfix\n"));
        postfix.push(change(
            "postmap /etc/postfix/virtual",
            "$ postmap /etc/postfix/virtual    # postmap /etc/postfix/virtual\n",
        ));
        let mut drifted = change("write /etc/dovecot/local.conf (0644 root:root)", "-a\n+b\n");
        drifted.drift = Some("edited".into());
        Plan {
            steps: vec![
                PlannedStep {
                    step: "preflight".into(),
                    changes: vec![],
                    notes: vec![],
                },
                PlannedStep {
                    step: "packages".into(),
                    changes: vec![
                        change(
                            "write /usr/sbin/policy-rc.d (0755 root:root)",
                            "+ /usr/sbin/policy-rc.d (0755 root:root)\n",
                        ),
                        change(
                            "apt-get install postfix dovecot-core dovecot-imapd dovecot-lmtpd certbot ufw rspamd redis-server",
                            "apt-get install …\n",
                        ),
                        change("remove /usr/sbin/policy-rc.d", "remove …\n"),
                    ],
                    notes: vec![],
                },
                PlannedStep {
                    step: "postfix".into(),
                    changes: postfix,
                    notes: vec![],
                },
                PlannedStep {
                    step: "dovecot".into(),
                    changes: vec![
                        drifted,
                        change("directory /var/mail/vhosts (0770 vmail:vmail)", "…"),
                        change("restart dovecot", "restart dovecot\n"),
                    ],
                    notes: vec![],
                },
            ],
            commands: vec![],
        }
    }

    #[test]
    fn counts_what_the_plan_does() {
        let s = PlanSummary::of(&plan());
        assert_eq!(s.packages.len(), 8);
        assert_eq!(
            s.steps,
            vec![
                ("packages".to_string(), 3),
                ("postfix".to_string(), 15),
                ("dovecot".to_string(), 3)
            ]
        );
        assert_eq!((s.files_new, s.files_changed), (13, 2));
        assert_eq!((s.files_removed, s.dirs, s.commands), (1, 1, 1));
        assert_eq!(s.services, vec!["postfix", "dovecot"]);
        assert_eq!(s.drifted.len(), 1);
        assert_eq!(s.total, 21);
    }

    #[test]
    fn fits_one_screen_at_60_columns() {
        let ports = [
            (25, "smtp"),
            (465, "submissions"),
            (587, "submission"),
            (993, "imaps"),
            (80, "acme http-01"),
        ];
        let text = render(
            &PlanSummary::of(&plan()),
            &Ports {
                open: &ports,
                firewall: true,
            },
            60,
        );
        assert_eq!(
            text,
            "  install    8 packages: postfix dovecot-core and 6 more
  configure  packages (3), postfix (15), dovecot (3)
  ports      25 smtp, 465 submissions, 587 submission, 993
             imaps, 80 acme http-01; the firewall allows
             only these and SSH
  files      15 written (13 new, 2 changed), 1 removed, 1
             directory
  runs       1 command; reloads postfix, dovecot
  ! edited   1 file edited by hand since mailstead wrote it;
             you are asked before each
"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert!(text.lines().count() <= 12);
    }

    #[test]
    fn nothing_to_do() {
        let text = render(
            &PlanSummary::default(),
            &Ports {
                open: &[],
                firewall: false,
            },
            80,
        );
        assert_eq!(text, "  nothing    to change: already as asked\n");
    }

    #[test]
    fn answers_and_pager() {
        assert_eq!("Y".parse(), Ok(Answer::Apply));
        assert_eq!(" no ".parse(), Ok(Answer::Cancel));
        assert_eq!("d".parse(), Ok(Answer::ShowDiffs));
        assert_eq!("maybe".parse::<Answer>(), Err(()));
    }
}
