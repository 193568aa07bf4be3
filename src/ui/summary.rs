//! The plan on one screen: what will be installed and configured, which ports open, how many
//! files change, then the question. The full diffs come on request (`d`), through a pager.
//!
//! Built from the plan's change summaries and renders only, so it says what the engine will do
//! (the engine's [`mailstead_engine::Change::summary`] and [`mailstead_engine::Change::render`]
//! forms: `apt-get install P…`, `write PATH (…)`, `remove PATH`, `directory PATH (…)`,
//! `reload S`/`restart S`; a new file renders as `+ PATH (…)`, a command as `$ CMD    # …`).
use mailstead_engine::engine::Plan;
use mailstead_engine::Level;
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
    /// The plan's warnings (notes of level warning, every step's), as `(step, text)`.
    pub warnings: Vec<(String, String)>,
    /// Warnings of a step whose changes depend on the run ([`uncertain`]): they hold only when
    /// it makes them, as `(step, what it depends on, text)`.
    pub warnings_if: Vec<(String, String, String)>,
    /// Parts of `total` that depend on what happens during the run ([`uncertain`]).
    pub uncertain: Vec<Uncertain>,
}

/// Changes a plan counts that the run may find not needed (or needed) once the steps before
/// have run: each step is planned again at run time, on the server as the earlier ones left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncertain {
    pub step: String,
    /// How many of the step's planned changes depend on it.
    pub changes: usize,
    /// What they depend on, completing "depend on …": `whether the CA issues the certificate
    /// now`.
    pub depends_on: String,
    /// Why they were not needed, completing "… were not needed because …".
    pub not_needed_because: String,
}

/// The plan's changes that depend on the run: each step's [`Contingency`] (plan data the step
/// sets, e.g. `tls-interim`'s temporary certificate, only made when the CA does not issue one
/// while the run asks it), for the steps that plan changes.
///
/// [`Contingency`]: mailstead_engine::Contingency
pub fn uncertain(plan: &Plan) -> Vec<Uncertain> {
    plan.steps
        .iter()
        .filter(|s| !s.changes.is_empty())
        .filter_map(|s| {
            let c = s.contingent.as_ref()?;
            Some(Uncertain {
                step: s.step.clone(),
                changes: s.changes.len(),
                depends_on: c.depends_on.clone(),
                not_needed_because: c.not_needed_because.clone(),
            })
        })
        .collect()
}

/// What the confirm screen told the admin, kept for the end of the run to explain a
/// different count ([`remember`], [`take_remembered`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Promised {
    pub total: usize,
    /// Per step with changes: its name and how many it planned.
    pub steps: Vec<(String, usize)>,
    pub uncertain: Vec<Uncertain>,
}

static PROMISED: std::sync::Mutex<Option<Promised>> = std::sync::Mutex::new(None);

/// Keeps what the confirm screen showed until the run that follows ends.
pub fn remember(s: &PlanSummary) {
    let p = Promised {
        total: s.total,
        steps: s.steps.clone(),
        uncertain: s.uncertain.clone(),
    };
    *PROMISED.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
}

/// What the last confirm screen showed, once (the menu's next action starts afresh); `None`
/// when the run was not confirmed on a screen (`--yes`, `install` with an answers file).
pub fn take_remembered() -> Option<Promised> {
    PROMISED.lock().unwrap_or_else(|e| e.into_inner()).take()
}

impl PlanSummary {
    pub fn of(plan: &Plan) -> PlanSummary {
        let mut s = PlanSummary {
            total: plan.total(),
            uncertain: uncertain(plan),
            ..Default::default()
        };
        for step in &plan.steps {
            let warnings = step.notes.iter().filter(|n| n.level == Level::Warning);
            match &step.contingent {
                Some(c) if !step.changes.is_empty() => s.warnings_if.extend(
                    warnings.map(|n| (step.step.clone(), c.depends_on.clone(), n.text.clone())),
                ),
                _ => s
                    .warnings
                    .extend(warnings.map(|n| (step.step.clone(), n.text.clone()))),
            }
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
        warning_rows(&mut row, s);
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
    for u in &s.uncertain {
        row(
            "depends",
            format!(
                "{} of the {} changes on {} (not needed if it does: {})",
                u.changes, s.total, u.depends_on, u.step
            ),
        );
    }
    warning_rows(&mut row, s);
    out
}

/// One `! warning` row per warning of the plan, with the step it comes from; a warning that
/// holds only if the run needs its step's changes says on what (`? maybe`: the demo's local CA
/// issues at once, and its plan must not warn of a self-signed certificate as if certain).
fn warning_rows(row: &mut impl FnMut(&str, String), s: &PlanSummary) {
    for (step, text) in &s.warnings {
        row("! warning", format!("{step}: {text}"));
    }
    for (step, depends_on, text) in &s.warnings_if {
        row(
            "? maybe",
            format!("{step}, depending on {depends_on}: {text}"),
        );
    }
}

/// The question under the summary: "Apply these 72 changes?", or "Apply about 72 changes?"
/// when some depend on the run ([`uncertain`]; the summary's `about` row says which).
pub fn question(s: &PlanSummary) -> String {
    match (s.total, s.uncertain.is_empty()) {
        (1, true) => "Apply this change?".to_string(),
        (n, true) => format!("Apply these {n} changes?"),
        (n, false) => format!("Apply about {n} changes?"),
    }
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
pub fn ask(question: &str) -> Result<Answer, super::wizard::WizardError> {
    super::wizard::need_terminal()?;
    match inquire::CustomType::<Answer>::new(question)
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
                    contingent: None,
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
                    contingent: None,
                },
                PlannedStep {
                    step: "postfix".into(),
                    changes: postfix,
                    notes: vec![],
                    contingent: None,
                },
                PlannedStep {
                    step: "dovecot".into(),
                    changes: vec![
                        drifted,
                        change("directory /var/mail/vhosts (0770 vmail:vmail)", "…"),
                        change("restart dovecot", "restart dovecot\n"),
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

    /// The install's plan as the wizard's confirm screen shows it: the CA is asked for the
    /// certificate (step `tls`), so what `tls-interim` plans depends on its answer; preflight
    /// warns about a blocklist.
    fn install_plan() -> Plan {
        let mut p = plan();
        p.steps[0].notes.push(mailstead_engine::Note::warning(
            "blocklist zen.spamhaus.org does not answer (its test entry 127.0.0.2 \
                 resolves to nothing): mail it would refuse gets through",
        ));
        p.steps.push(PlannedStep {
            step: "tls".into(),
            changes: vec![change(
                "certbot: certificate for mail.example.org",
                "$ certbot certonly …\n",
            )],
            notes: vec![],
            contingent: None,
        });
        p.steps.push(PlannedStep {
            step: "tls-interim".into(),
            changes: (0..4)
                .map(|i| {
                    change(
                        &format!("write /etc/systemd/system/u{i} (0644 root:root)"),
                        "+ u\n",
                    )
                })
                .collect(),
            notes: vec![mailstead_engine::Note::warning(
                "until the CA issues the certificate for mail.example.org, Postfix and Dovecot \
                 serve a temporary self-signed one",
            )],
            contingent: Some(mailstead_engine::Contingency {
                depends_on: "whether the CA issues the certificate now".into(),
                not_needed_because: "the CA issued the certificate at once".into(),
            }),
        });
        p
    }

    fn screen(p: &Plan, width: usize) -> String {
        let s = PlanSummary::of(p);
        let ports = [(25, "smtp"), (465, "submissions"), (993, "imaps")];
        format!(
            "What this run does (nothing is changed until you answer):\n{}? {} (y/n/d)\n",
            render(
                &s,
                &Ports {
                    open: &ports,
                    firewall: true
                },
                width
            ),
            question(&s)
        )
    }

    #[test]
    fn snapshot_confirm_with_a_warning() {
        let mut p = plan();
        p.steps[0].notes.push(mailstead_engine::Note::warning(
            "blocklist zen.spamhaus.org does not answer",
        ));
        p.steps[0].notes.push(mailstead_engine::Note::info(
            "not on the screen: only warnings are",
        ));
        let text = screen(&p, 80);
        assert!(
            text.contains("  ! warning  preflight: blocklist zen.spamhaus.org does not answer\n"),
            "{text}"
        );
        assert!(!text.contains("not on the screen"), "{text}");
        assert!(text.contains("? Apply these 21 changes?"), "{text}");
        insta::assert_snapshot!("confirm_warning_80", text);
    }

    #[test]
    fn snapshot_confirm_with_a_count_that_depends_on_the_ca() {
        let p = install_plan();
        let s = PlanSummary::of(&p);
        assert_eq!(
            s.uncertain,
            vec![Uncertain {
                step: "tls-interim".into(),
                changes: 4,
                depends_on: "whether the CA issues the certificate now".into(),
                not_needed_because: "the CA issued the certificate at once".into(),
            }]
        );
        assert_eq!(question(&s), "Apply about 26 changes?");
        let text = screen(&p, 80);
        assert!(
            text.contains("  depends    4 of the 26 changes on whether the CA issues the"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        // Its warning holds only if the CA does not issue at once: said so, not as certain.
        assert!(
            text.contains("  ? maybe    tls-interim, depending on whether the CA issues")
                && !text.contains("! warning  tls-interim"),
            "{text}"
        );
        insta::assert_snapshot!("confirm_ca_dependent_80", text);
        // A certificate already there: certbot is not asked and `tls-interim` marks nothing as
        // depending on it (its own test), the count is exact.
        let mut p = install_plan();
        p.steps.retain(|s| s.step != "tls");
        p.steps.last_mut().unwrap().contingent = None;
        let s = PlanSummary::of(&p);
        assert!(s.uncertain.is_empty());
        assert_eq!(question(&s), "Apply these 25 changes?");
    }

    #[test]
    fn the_confirm_screen_remembers_what_it_promised_once() {
        let s = PlanSummary::of(&install_plan());
        remember(&s);
        let p = take_remembered().expect("remembered");
        assert_eq!((p.total, p.uncertain.len()), (26, 1));
        assert_eq!(take_remembered(), None);
    }
}
