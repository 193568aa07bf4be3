//! The end of a run, printed once, the same words in the plain log and the dashboard:
//!
//! - after success, a "what next" block: the DNS records to publish (or the command that
//!   prints them), the mail client settings (server name; IMAPS 993; submission 587 with
//!   STARTTLS or 465 with TLS, RFC 8314; the full address as the user name), and the log;
//! - after a failure: what failed and why, what was rolled back and what stays applied, the
//!   ONE command to run next, and the log.
//!
//! [`lines`] is pure; the plain log prints them ([`text`]), the dashboard draws them
//! (`dashboard::render_end`).
use super::kind::Kind;
use mailstead_engine::engine::{Outcome, RunReport};
use std::path::PathBuf;

/// Everything the end block says.
#[derive(Debug)]
pub struct End {
    pub report: RunReport,
    /// Steps of this run that stay applied, with their change counts (journal order).
    pub applied: Vec<(String, usize)>,
    /// Steps this run rolled back.
    pub rolled_back: Vec<String>,
    /// The run's log (`/var/lib/mailstead/runs/<id>/log.txt`); `None` when no run was recorded.
    pub log: Option<PathBuf>,
    /// The one command to run after a failure (the same command again, or `mailstead install`
    /// after the wizard).
    pub next_command: String,
    /// After a successful install or add-domain: what to do with the new server.
    pub what_next: Option<WhatNext>,
}

/// What a person needs to start using the server.
#[derive(Debug, Clone, Default)]
pub struct WhatNext {
    /// `dns::render_summary`'s block: the records to publish (or the commands printing them).
    pub dns: Option<String>,
    /// The server name mail clients connect to (the answers' `hostname`).
    pub hostname: String,
    /// A mailbox to show as the user name, e.g. `alice@example.org`.
    pub user: Option<String>,
    /// POP3S (995) is on too.
    pub pop3: bool,
}

/// Lines with how to paint them.
type Lines = Vec<(String, Kind)>;

fn push(out: &mut Lines, text: impl Into<String>, kind: Kind) {
    out.push((text.into(), kind));
}

/// The block as lines with how to paint them; not wrapped (each printer wraps to its width).
pub fn lines(end: &End) -> Lines {
    let mut out: Lines = Vec::new();
    let r = &end.report;
    let failed_run = matches!(
        r.outcome,
        Outcome::Failed { .. } | Outcome::Interrupted { .. }
    );
    outcome(&mut out, r);
    if failed_run {
        what_stays(&mut out, end);
    }
    if !r.installed.is_empty() {
        push(
            &mut out,
            format!("packages installed: {}", r.installed.join(" ")),
            Kind::Info,
        );
        if failed_run {
            push(
                &mut out,
                "  (kept; `mailstead rollback --purge-packages` removes them)",
                Kind::Quiet,
            );
        }
    }
    if failed_run {
        next_command(&mut out, end);
    }
    if let (Some(w), Outcome::Done) = (&end.what_next, &r.outcome) {
        what_next(&mut out, w);
    }
    if let Some(log) = &end.log {
        push(&mut out, format!("log: {}", log.display()), Kind::Quiet);
    }
    out
}

/// The first lines: how the run ended, and why when it failed.
fn outcome(out: &mut Lines, r: &RunReport) {
    let run =
        r.id.as_ref()
            .map(|id| format!(" (run {id})"))
            .unwrap_or_default();
    match &r.outcome {
        Outcome::NothingToDo => push(out, "0 changes: already as asked", Kind::Good),
        Outcome::Done if r.changes == 0 => {
            push(out, format!("0 changes: already as asked{run}"), Kind::Good)
        }
        Outcome::Done => push(
            out,
            format!("✓ done: {}{run}", super::count(r.changes, "change")),
            Kind::Good,
        ),
        Outcome::Refused(why) => {
            push(out, "refused: nothing was changed", Kind::Warn);
            push(out, format!("  {why}"), Kind::Info);
        }
        Outcome::Failed { step, error, .. } => {
            push(out, format!("✗ failed in step {step}{run}"), Kind::Bad);
            let mut first = true;
            for line in error.lines().filter(|l| !l.trim().is_empty()) {
                let lead = if first { "  why: " } else { "       " };
                first = false;
                push(out, format!("{lead}{line}"), Kind::Info);
            }
        }
        Outcome::Interrupted { step, .. } => {
            push(out, format!("interrupted in step {step}{run}"), Kind::Warn)
        }
    }
}

/// After a failure: what was rolled back, what needs hand care, what stays applied.
fn what_stays(out: &mut Lines, end: &End) {
    let problems = match &end.report.outcome {
        Outcome::Failed { problems, .. } | Outcome::Interrupted { problems, .. } => {
            problems.as_slice()
        }
        _ => &[],
    };
    if !end.rolled_back.is_empty() {
        push(
            out,
            format!(
                "↺ rolled back: {} (files as they were before)",
                end.rolled_back.join(", ")
            ),
            Kind::Undo,
        );
    }
    if !problems.is_empty() {
        push(
            out,
            "rollback could not restore everything; these need hand care:",
            Kind::Bad,
        );
        for p in problems {
            push(out, format!("  - {p}"), Kind::Info);
        }
    }
    if end.applied.is_empty() {
        push(out, "stays applied: nothing of this run", Kind::Info);
    } else {
        let list: Vec<String> = end
            .applied
            .iter()
            .map(|(s, n)| format!("{s} ({})", super::count(*n, "change")))
            .collect();
        push(
            out,
            format!("stays applied: {}", list.join(", ")),
            Kind::Info,
        );
    }
}

/// After a failure: the one command to run next, and what to do before.
fn next_command(out: &mut Lines, end: &End) {
    let r = &end.report;
    let problems = matches!(&r.outcome,
        Outcome::Failed { problems, .. } | Outcome::Interrupted { problems, .. } if !problems.is_empty());
    push(out, String::new(), Kind::Info);
    push(
        out,
        if problems {
            "Next: set right by hand what is listed above, then run:"
        } else if matches!(r.outcome, Outcome::Interrupted { .. }) {
            "Next: to finish, run:"
        } else {
            "Next: fix what the error names, then run (it picks up where this run stopped):"
        },
        Kind::Warn,
    );
    push(out, format!("  {}", end.next_command), Kind::Good);
}

/// After success: the DNS records, the mail client settings, `mailstead check`.
fn what_next(out: &mut Lines, w: &WhatNext) {
    push(out, String::new(), Kind::Info);
    push(out, "What next", Kind::Good);
    match &w.dns {
        Some(dns) => {
            for (i, l) in dns.trim_end().lines().enumerate() {
                let lead = if i == 0 { "1. " } else { "   " };
                push(out, format!("{lead}{l}"), Kind::Info);
            }
        }
        None => push(
            out,
            "1. DNS: publish the records `mailstead dns` prints",
            Kind::Info,
        ),
    }
    let user = w
        .user
        .clone()
        .unwrap_or_else(|| "the full address, e.g. alice@example.org".into());
    push(
        out,
        format!(
            "2. Mail clients: server {}, user name the full address ({user}) and its password",
            w.hostname
        ),
        Kind::Info,
    );
    push(
        out,
        "   reading: IMAP, port 993, TLS (SSL)".to_string()
            + if w.pop3 {
                "; or POP3, port 995, TLS (SSL)"
            } else {
                ""
            },
        Kind::Info,
    );
    push(
        out,
        "   sending: SMTP, port 587 with STARTTLS, or port 465 with TLS (SSL); password login",
        Kind::Info,
    );
    push(
        out,
        "3. Then `mailstead check` tells what works and what is missing",
        Kind::Info,
    );
}

/// Good news goes to stdout, bad news to stderr.
pub fn is_good(end: &End) -> bool {
    crate::exit::for_outcome(&end.report.outcome) == 0
}

/// [`lines`] as text for the plain log, wrapped at `width` at word boundaries (a continued line
/// keeps its indent, plus two), painted when `color`.
pub fn text(end: &End, width: usize, color: bool) -> String {
    let mut out = String::new();
    for (line, kind) in lines(end) {
        for w in wrap(&line, width) {
            out.push_str(&super::paint(color, kind_style(kind), &w));
            out.push('\n');
        }
    }
    out
}

/// Wraps one line at word boundaries; continuations keep its indent plus two spaces.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.is_empty() {
        return vec![String::new()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    // A numbered item (`1. …`) continues under its text.
    let rest = &line[indent.len()..];
    let numbered =
        rest.len() > 2 && rest.as_bytes()[0].is_ascii_digit() && rest[1..].starts_with(". ");
    let more = if numbered {
        format!("{indent}   ")
    } else {
        format!("{indent}  ")
    };
    let opts = textwrap::Options::new(width.max(20))
        .initial_indent(&indent)
        .subsequent_indent(&more)
        .break_words(true)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(line.trim_start(), &opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

fn kind_style(k: Kind) -> anstyle::Style {
    use super::style::{CYAN, DIM, GREEN, RED, YELLOW};
    match k {
        Kind::Info => anstyle::Style::new(),
        Kind::Good => GREEN,
        Kind::Quiet => DIM,
        Kind::Bad => RED,
        Kind::Undo => CYAN,
        Kind::Warn => YELLOW,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mailstead_engine::journal::RunId;

    pub(crate) fn done() -> End {
        End {
            report: RunReport {
                id: Some(RunId("20261129T180000Z-42".into())),
                changes: 57,
                installed: vec!["postfix".into(), "dovecot-core".into()],
                outcome: Outcome::Done,
                findings: vec![],
            },
            applied: vec![("packages".into(), 3), ("postfix".into(), 20)],
            rolled_back: vec![],
            log: Some("/var/lib/mailstead/runs/20261129T180000Z-42/log.txt".into()),
            next_command: "mailstead install".into(),
            what_next: Some(WhatNext {
                dns: Some(
                    "DNS: publish these records (`mailstead dns` prints them again)\n  \
                     example.org.  MX  10 mail.example.org.\n  \
                     example.org.  TXT \"v=spf1 mx -all\"\n"
                        .into(),
                ),
                hostname: "mail.example.org".into(),
                user: Some("alice@example.org".into()),
                pop3: false,
            }),
        }
    }

    pub(crate) fn failed() -> End {
        End {
            report: RunReport {
                id: Some(RunId("20261129T180000Z-42".into())),
                changes: 23,
                installed: vec!["certbot".into()],
                outcome: Outcome::Failed {
                    step: "tls".into(),
                    error: "certbot: the CA could not reach http://mail.example.org/.well-known/acme-challenge/ (port 80 closed?)".into(),
                    problems: vec![],
                },
                findings: vec![],
            },
            applied: vec![("packages".into(), 3), ("postfix".into(), 20)],
            rolled_back: vec!["tls".into()],
            log: Some("/var/lib/mailstead/runs/20261129T180000Z-42/log.txt".into()),
            next_command: "mailstead install".into(),
            what_next: None,
        }
    }

    #[test]
    fn success_says_what_next() {
        let t = text(&done(), 100, false);
        assert!(
            t.starts_with("✓ done: 57 changes (run 20261129T180000Z-42)\n"),
            "{t}"
        );
        assert!(t.contains("1. DNS: publish these records"), "{t}");
        assert!(
            t.contains("   example.org.  MX  10 mail.example.org."),
            "{t}"
        );
        assert!(
            t.contains("server mail.example.org, user name the full address (alice@example.org)"),
            "{t}"
        );
        assert!(t.contains("IMAP, port 993"), "{t}");
        assert!(t.contains("port 587 with STARTTLS, or port 465"), "{t}");
        assert!(!t.contains("995"), "{t}");
        assert!(
            t.ends_with("log: /var/lib/mailstead/runs/20261129T180000Z-42/log.txt\n"),
            "{t}"
        );
        // Nothing about failures.
        assert!(!t.contains("Next:") && !t.contains("stays applied"), "{t}");
    }

    #[test]
    fn failure_says_why_what_stays_and_the_one_command() {
        let t = text(&failed(), 200, false);
        assert_eq!(
            t,
            "✗ failed in step tls (run 20261129T180000Z-42)
  why: certbot: the CA could not reach http://mail.example.org/.well-known/acme-challenge/ (port 80 closed?)
↺ rolled back: tls (files as they were before)
stays applied: packages (3 changes), postfix (20 changes)
packages installed: certbot
  (kept; `mailstead rollback --purge-packages` removes them)

Next: fix what the error names, then run (it picks up where this run stopped):
  mailstead install
log: /var/lib/mailstead/runs/20261129T180000Z-42/log.txt
"
        );
        assert_eq!(t.matches("why:").count(), 1);
    }

    #[test]
    fn refusal_in_plain_words() {
        let mut e = failed();
        e.report.outcome = Outcome::Refused("this is Ubuntu, not Debian".into());
        e.report.installed.clear();
        let t = text(&e, 80, false);
        assert_eq!(
            t.lines().next(),
            Some("refused: nothing was changed"),
            "{t}"
        );
        assert!(t.contains("  this is Ubuntu, not Debian"), "{t}");
        assert!(!t.contains("Next:") && !t.contains('\x1b'), "{t:?}");
        assert!(!is_good(&e));
        assert!(is_good(&done()));
    }

    #[test]
    fn rollback_problems_need_hand_care() {
        let mut e = failed();
        e.report.outcome = Outcome::Interrupted {
            step: "tls".into(),
            problems: vec!["/etc/x: permission denied".into()],
        };
        let t = text(&e, 80, false);
        assert!(t.starts_with("interrupted in step tls"), "{t}");
        assert!(
            t.contains("need hand care:\n  - /etc/x: permission denied\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "Next: set right by hand what is listed above, then run:\n  mailstead install\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn wraps_at_word_boundaries_keeping_the_indent() {
        let t = text(&failed(), 60, false);
        assert!(t.lines().all(|l| l.chars().count() <= 60), "{t}");
        assert!(
            t.contains("  why: certbot: the CA could not reach\n    http://"),
            "{t}"
        );
    }
}
