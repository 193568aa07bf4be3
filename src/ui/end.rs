//! The end of a run, printed once, the same words in the plain log and the dashboard:
//!
//! - after success, a "what next" block: which DNS records to publish, counted, and the one
//!   command that prints them whole (a DKIM value is long: it is copied from there, one line,
//!   never from a wrapped screen), the mail client settings (server name; IMAPS 993;
//!   submission 587 with STARTTLS or 465 with TLS, RFC 8314; the full address as the user
//!   name), and the log. It fits a 24-row terminal, so "✓ done" stays on screen;
//! - when the count differs from the one the confirm screen showed, why;
//! - after a failure: what failed and why, what was rolled back and what stays applied, the
//!   ONE command to run next, and the log.
//!
//! [`lines`] is pure; the plain log prints them ([`text`]), the dashboard draws them
//! (`dashboard::render_end`).
use super::kind::Kind;
use super::summary::Promised;
use mailstead_engine::engine::{Outcome, RunReport};
use mailstead_steps::dns::{Published, RType};
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
    /// What the confirm screen said the run would change (`summary::take_remembered`);
    /// `None` when no screen asked (`--yes`, `install` with an answers file).
    pub planned: Option<Promised>,
}

/// What a person needs to start using the server.
#[derive(Debug, Clone, Default)]
pub struct WhatNext {
    /// The records to publish (all domains', or the new domain's and the server's); `None`
    /// when they could not be worked out (the end then names the command only).
    pub dns: Option<Published>,
    /// The command printing them whole: `mailstead dns`, or `mailstead dns DOMAIN` after
    /// add-domain.
    pub dns_command: String,
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
    outcome(&mut out, r, end.planned.as_ref(), &end.applied);
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
fn outcome(
    out: &mut Lines,
    r: &RunReport,
    planned: Option<&Promised>,
    applied: &[(String, usize)],
) {
    let run =
        r.id.as_ref()
            .map(|id| format!(" (run {id})"))
            .unwrap_or_default();
    match &r.outcome {
        Outcome::NothingToDo => push(out, "0 changes: already as asked", Kind::Good),
        Outcome::Done if r.changes == 0 => {
            push(out, format!("0 changes: already as asked{run}"), Kind::Good)
        }
        Outcome::Done => match planned.filter(|p| p.total != r.changes) {
            None => push(
                out,
                format!("✓ done: {}{run}", super::count(r.changes, "change")),
                Kind::Good,
            ),
            Some(p) => {
                push(
                    out,
                    format!(
                        "✓ done: {} of the {} planned changes{run}",
                        r.changes, p.total
                    ),
                    Kind::Good,
                );
                for why in count_differences(p, applied) {
                    push(out, format!("  {why}"), Kind::Info);
                }
            }
        },
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

/// Why steps made another number of changes than planned, a sentence per step: each step is
/// planned again when it runs, on the server as the steps before left it.
fn count_differences(planned: &Promised, applied: &[(String, usize)]) -> Vec<String> {
    let made = |step: &str| {
        applied
            .iter()
            .filter(|(s, _)| s == step)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    let mut steps: Vec<&str> = planned.steps.iter().map(|(s, _)| s.as_str()).collect();
    for (s, _) in applied {
        if !steps.contains(&s.as_str()) {
            steps.push(s);
        }
    }
    let mut out = Vec::new();
    for step in steps {
        let plan: usize = planned
            .steps
            .iter()
            .filter(|(s, _)| s == step)
            .map(|(_, n)| n)
            .sum();
        let made = made(step);
        if made < plan {
            let n = plan - made;
            let were = if n == 1 { "was" } else { "were" };
            let because = planned
                .uncertain
                .iter()
                .find(|u| u.step == step)
                .map(|u| u.not_needed_because.clone())
                .unwrap_or_else(|| "the steps before it had already done it".into());
            out.push(format!("{n} {were} not needed ({step}): {because}"));
        } else if made > plan {
            out.push(format!(
                "{} more than planned ({step}): the steps before it changed what it found",
                made - plan
            ));
        }
    }
    out
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

/// After success: the DNS records (counted; the command prints them), the mail client
/// settings, `mailstead check`.
fn what_next(out: &mut Lines, w: &WhatNext) {
    push(out, String::new(), Kind::Info);
    push(out, "What next", Kind::Good);
    push(
        out,
        format!(
            "1. DNS: publish these records; `{}` prints them, ready to copy:",
            w.dns_command
        ),
        Kind::Info,
    );
    if let Some(p) = &w.dns {
        for line in dns_counts(p) {
            push(out, format!("   {line}"), Kind::Info);
        }
    }
    // A domain added without a mailbox has no address to show: say what the user name is.
    let user = match &w.user {
        Some(user) => format!("the full address ({user})"),
        None => "a mailbox's full address (add one: `mailstead add-mailbox NAME@DOMAIN`)".into(),
    };
    push(
        out,
        format!(
            "2. Mail clients: server {}, user name {user} and its password",
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
        "   sending: SMTP, port 587 with STARTTLS or 465 with TLS (SSL); password login",
        Kind::Info,
    );
    push(
        out,
        "3. Then `mailstead check` tells what works and what is missing",
        Kind::Info,
    );
}

/// The records to publish, counted per domain (at most three domains named), the server's,
/// and the reverse DNS to ask the provider for: what `mailstead dns` prints, in brief.
fn dns_counts(p: &Published) -> Vec<String> {
    // As `Published::is_server` tells them: the hostname's A, AAAA, CAA and HELO SPF.
    let server = |r: &&mailstead_steps::dns::Record| {
        r.domain == p.hostname
            && (matches!(r.rtype, RType::A | RType::Aaaa | RType::Caa)
                || (r.rtype == RType::Txt && r.value == mailstead_steps::dns::HELO_SPF))
    };
    let mut lines = Vec::new();
    let mail = |d: &str| {
        p.records
            .iter()
            .filter(|r| r.domain == d && !server(r))
            .collect::<Vec<_>>()
    };
    if p.domains.len() <= 3 {
        for d in &p.domains {
            let recs = mail(d);
            let mut text = format!("{d}: {} ({})", count_records(recs.len()), kinds(&recs));
            if p.missing_dkim.contains(d) {
                text.push_str("; its DKIM key is not made yet");
            }
            lines.push(text);
        }
    } else {
        let n: usize = p.domains.iter().map(|d| mail(d).len()).sum();
        lines.push(format!(
            "{} mail domains ({}, …): {}",
            p.domains.len(),
            p.domains[..2].join(", "),
            count_records(n)
        ));
    }
    let own: Vec<_> = p.records.iter().filter(server).collect();
    if !own.is_empty() {
        lines.push(format!(
            "the server {}: {} ({})",
            p.hostname,
            count_records(own.len()),
            kinds(&own)
        ));
    }
    if !p.ptr.is_empty() {
        lines.push(format!(
            "and reverse DNS (PTR) for {}: ask your hosting provider",
            if p.ptr.len() == 1 {
                "its address".to_string()
            } else {
                format!("its {} addresses", p.ptr.len())
            }
        ));
    }
    lines
}

fn count_records(n: usize) -> String {
    super::count(n, "record")
}

/// What records are, by the names people know them by (a TXT is SPF, DKIM, DMARC or TLS-RPT
/// by its value), in order, repeated ones counted: `MX, SPF, DKIM, DMARC, TLS-RPT, 2 SRV`.
fn kinds(records: &[&mailstead_steps::dns::Record]) -> String {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for r in records {
        let v = r.value.as_str();
        let name = match r.rtype {
            RType::Txt if v.starts_with("v=spf1") => "SPF".to_string(),
            RType::Txt if v.starts_with("v=DKIM1") => "DKIM".to_string(),
            RType::Txt if v.starts_with("v=DMARC1") => "DMARC".to_string(),
            RType::Txt if v.starts_with("v=TLSRPTv1") => "TLS-RPT".to_string(),
            t => t.to_string(),
        };
        match seen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, k)) => *k += 1,
            None => seen.push((name, 1)),
        }
    }
    seen.iter()
        .map(|(n, k)| {
            if *k == 1 {
                n.clone()
            } else {
                format!("{k} {n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
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

/// Wraps one line at word boundaries; continuations keep its indent plus two spaces. A word
/// longer than the line (a path, a command, a record's value) is never cut: it stands on a
/// line of its own, so it is copied whole.
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
        .break_words(false)
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
                dns: Some(published()),
                dns_command: "mailstead dns".into(),
                hostname: "mail.example.org".into(),
                user: Some("alice@example.org".into()),
                pop3: false,
            }),
            planned: None,
        }
    }

    /// A DKIM TXT value as `dns::dkim_txt` makes it: a 2048-bit key, about 400 characters.
    pub(crate) fn dkim_value() -> String {
        format!(
            "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}IDAQAB",
            "x".repeat(340)
        )
    }

    /// What `mailstead dns` publishes for one domain on a server with an IPv4 and an IPv6
    /// address.
    pub(crate) fn published() -> Published {
        use mailstead_steps::dns::{Ptr, Record};
        let r = |domain: &str, name: &str, rtype, value: String| Record {
            domain: domain.into(),
            name: name.into(),
            rtype,
            value,
            ttl: 3600,
            purpose: "",
        };
        let (d, h) = ("example.org", "mail.example.org");
        Published {
            records: vec![
                r(d, "example.org.", RType::Mx, "10 mail.example.org.".into()),
                r(d, "example.org.", RType::Txt, "v=spf1 mx -all".into()),
                r(d, "mail._domainkey.example.org.", RType::Txt, dkim_value()),
                r(
                    d,
                    "_dmarc.example.org.",
                    RType::Txt,
                    "v=DMARC1; p=quarantine".into(),
                ),
                r(
                    d,
                    "_smtp._tls.example.org.",
                    RType::Txt,
                    "v=TLSRPTv1; rua=mailto:postmaster@example.org".into(),
                ),
                r(
                    d,
                    "_submissions._tcp.example.org.",
                    RType::Srv,
                    "0 1 465 mail.example.org.".into(),
                ),
                r(
                    d,
                    "_imaps._tcp.example.org.",
                    RType::Srv,
                    "0 1 993 mail.example.org.".into(),
                ),
                r(h, "mail.example.org.", RType::A, "192.0.2.7".into()),
                r(h, "mail.example.org.", RType::Aaaa, "2001:db8::7".into()),
                r(
                    h,
                    "mail.example.org.",
                    RType::Txt,
                    mailstead_steps::dns::HELO_SPF.into(),
                ),
                r(
                    h,
                    "example.org.",
                    RType::Caa,
                    "0 issue \"letsencrypt.org\"".into(),
                ),
            ],
            ptr: ["192.0.2.7", "2001:db8::7"]
                .iter()
                .map(|a| Ptr {
                    address: a.parse().unwrap(),
                    reverse_name: String::new(),
                    target: "mail.example.org.".into(),
                    instruction: String::new(),
                })
                .collect(),
            notes: vec![],
            hostname: h.into(),
            domains: vec![d.into()],
            missing_dkim: vec![],
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
            planned: None,
        }
    }

    /// A domain added with no mailbox yet: the user name is said once, and how to get one.
    #[test]
    fn what_next_without_a_mailbox_names_how_to_add_one() {
        let mut e = done();
        if let Some(w) = e.what_next.as_mut() {
            w.user = None;
        }
        let t = text(&e, 200, false);
        assert!(
            t.contains(
                "user name a mailbox's full address (add one: `mailstead add-mailbox \
                 NAME@DOMAIN`) and its password"
            ),
            "{t}"
        );
        assert_eq!(t.matches("full address").count(), 1, "{t}");
    }

    #[test]
    fn success_says_what_next() {
        let t = text(&done(), 100, false);
        assert!(
            t.starts_with("✓ done: 57 changes (run 20261129T180000Z-42)\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "1. DNS: publish these records; `mailstead dns` prints them, ready to copy:\n"
            ),
            "{t}"
        );
        assert!(
            t.contains("   example.org: 7 records (MX, SPF, DKIM, DMARC, TLS-RPT, 2 SRV)\n"),
            "{t}"
        );
        assert!(
            t.contains("   the server mail.example.org: 4 records (A, AAAA, SPF, CAA)\n"),
            "{t}"
        );
        assert!(t.contains("PTR) for its 2 addresses"), "{t}");
        assert!(
            t.contains("server mail.example.org, user name the full address (alice@example.org)"),
            "{t}"
        );
        assert!(t.contains("IMAP, port 993"), "{t}");
        assert!(
            t.contains("port 587 with STARTTLS or 465 with TLS (SSL)"),
            "{t}"
        );
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

    /// An install's end as a person sees it: many packages, the records, a count that
    /// differs from the confirm screen's.
    pub(crate) fn install_done() -> End {
        let mut e = done();
        e.report.changes = 68;
        e.report.installed = "postfix postfix-pcre dovecot-core dovecot-imapd dovecot-lmtpd \
                              dovecot-sieve certbot ufw rspamd redis-server fail2ban"
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        e.applied = vec![
            ("answers".into(), 1),
            ("packages".into(), 3),
            ("tls".into(), 2),
            ("postfix".into(), 62),
        ];
        e.planned = Some(Promised {
            total: 72,
            steps: vec![
                ("answers".into(), 1),
                ("packages".into(), 3),
                ("tls".into(), 2),
                ("tls-interim".into(), 4),
                ("postfix".into(), 62),
            ],
            uncertain: vec![crate::ui::summary::Uncertain {
                step: "tls-interim".into(),
                changes: 4,
                depends_on: "whether the CA issues the certificate now".into(),
                not_needed_because: "the CA issued the certificate at once".into(),
            }],
        });
        e
    }

    #[test]
    fn a_different_count_is_explained() {
        let t = text(&install_done(), 80, false);
        assert!(
            t.starts_with(
                "✓ done: 68 of the 72 planned changes (run 20261129T180000Z-42)\n  4 were not \
                 needed (tls-interim): the CA issued the certificate at once\n"
            ),
            "{t}"
        );
        // A count as planned says nothing more.
        let mut e = install_done();
        e.report.changes = 72;
        assert!(text(&e, 80, false).starts_with("✓ done: 72 changes (run "));
        // More than planned, and fewer without a known reason.
        let mut e = install_done();
        e.report.changes = 70;
        e.applied = vec![
            ("packages".into(), 2),
            ("postfix".into(), 64),
            ("tls-interim".into(), 4),
        ];
        let t = text(&e, 200, false);
        assert!(
            t.contains("\n  1 was not needed (answers): the steps before it had already done it\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "\n  2 more than planned (postfix): the steps before it changed what it found\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn the_end_of_an_install_fits_one_screen() {
        // The plain log's form: under 24 rows at 80 columns, so "✓ done" stays on screen.
        let t = text(&install_done(), 80, false);
        assert!(t.lines().count() < 24, "{} lines:\n{t}", t.lines().count());
        assert!(t.lines().all(|l| l.chars().count() <= 80), "{t}");
    }

    #[test]
    fn a_record_value_is_never_cut() {
        // The end names the records; it never shows a value a terminal would wrap (a DKIM
        // value has spaces: no wrapping keeps it whole).
        let t = text(&install_done(), 80, false);
        assert!(!t.contains("v=DKIM1") && !t.contains("p=MIIB"), "{t}");
        // A long word (a path, a command) stands whole on a line of its own.
        let long = format!("log: /var/lib/mailstead/runs/{}/log.txt", "x".repeat(90));
        let lines = wrap(&long, 80);
        assert_eq!(lines, ["log:".to_string(), format!("  {}", &long[5..])]);
        // `mailstead dns`, where the end sends the admin for it: the value on one line.
        let table = mailstead_steps::dns::render_table(&published(), 80);
        assert!(table.lines().any(|l| l.contains(&dkim_value())), "{table}");
    }
}
