//! Feeds the UI fake engine events with pauses, to try the dashboard in a real terminal.
//!
//! `cargo run --example dashboard_demo [-- --plain] [--verbose] [--ask] [--fail] [--panic]`
//! - `--ask`: a question in the middle of the run (the view pauses, inquire asks, it resumes)
//! - `--fail`: the tls step fails and is rolled back
//! - `--panic`: panics mid-run (the terminal must still be restored)
//! - Ctrl-C during the run: the current step is rolled back, exit 4.
//!
//! The packages step plays a captured `apt-get install` (output lines and apt's progress); in
//! plain mode (`--plain`, or piped: `| cat`) it prints "still running" lines every 5 s.
use mailstead::{exit, ui};

use mailstead_engine::engine::{Outcome, RunReport};
use mailstead_engine::journal::RunId;
use mailstead_engine::{interrupt, Event, Level, StepOutcome};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    let fast = std::env::var("DEMO_FAST").is_ok();
    let pause =
        |ms: u64| std::thread::sleep(Duration::from_millis(if fast { ms / 10 } else { ms }));
    let mut obs = ui::observer(has("--plain"), has("--verbose"));
    let id = RunId("20250101-120000-demo".into());
    let steps: Vec<(&str, &str, Vec<&str>)> = vec![
        ("preflight", "check the system", vec![]),
        (
            "packages",
            "install Postfix, Dovecot",
            vec!["apt-get install postfix dovecot-core dovecot-imapd"],
        ),
        (
            "postfix",
            "configure Postfix",
            vec![
                "write /etc/postfix/main.cf (root:root 0644)",
                "write /etc/postfix/master.cf (root:root 0644)",
                "postconf -e smtpd_tls_security_level=may",
            ],
        ),
        (
            "dovecot",
            "configure Dovecot",
            vec!["write /etc/dovecot/conf.d/10-mail.conf (root:root 0644)"],
        ),
        (
            "tls",
            "get a certificate",
            vec!["write /etc/mailstead/acme/account.json (root:root 0600)"],
        ),
        ("ssh", "harden sshd", vec![]),
        (
            "firewall",
            "open mail ports only",
            vec!["nft -f /etc/nftables.conf"],
        ),
    ];
    obs.event(&Event::RunStarted {
        id: id.clone(),
        steps: steps.iter().map(|s| s.0.to_string()).collect(),
    });
    let mut total = 0;
    let mut outcome = Outcome::Done;
    'run: for (name, about, changes) in &steps {
        obs.event(&Event::StepStarted {
            step: name.to_string(),
            about: about.to_string(),
        });
        pause(600);
        if *name == "postfix" && has("--ask") {
            let yes = obs.confirm(
                "/etc/postfix/main.cf was edited by hand since mailstead wrote it. Overwrite it?",
                "--- a/etc/postfix/main.cf\n+++ b/etc/postfix/main.cf\n@@ -1 +1 @@\n-myhostname = hand.example\n+myhostname = mail.example.test",
            );
            obs.event(&Event::Note {
                step: name.to_string(),
                level: Level::Info,
                text: format!("answer: {yes}"),
            });
        }
        if *name == "postfix" && has("--panic") {
            panic!("demo panic in the middle of a run");
        }
        for (i, c) in changes.iter().enumerate() {
            obs.event(&Event::ChangeStarted {
                step: name.to_string(),
                summary: c.to_string(),
                index: i + 1,
                of: changes.len(),
            });
            if c.starts_with("apt-get") {
                play_apt(&mut *obs, name, &pause);
            }
            pause(700);
            obs.event(&Event::Change {
                step: name.to_string(),
                summary: c.to_string(),
            });
            if interrupt::requested() {
                obs.event(&Event::StepFinished {
                    step: name.to_string(),
                    outcome: StepOutcome::Failed("interrupted".into()),
                });
                obs.event(&Event::StepFinished {
                    step: name.to_string(),
                    outcome: StepOutcome::RolledBack { ok: true },
                });
                outcome = Outcome::Interrupted {
                    step: name.to_string(),
                    problems: vec![],
                };
                break 'run;
            }
        }
        if *name == "tls" && has("--fail") {
            let e = "step tls: running certbot certonly --standalone -d mail.example.test: exit status 1\nstderr: Timeout during connect (likely firewall problem)".to_string();
            obs.event(&Event::StepFinished {
                step: name.to_string(),
                outcome: StepOutcome::Failed(e.clone()),
            });
            pause(400);
            obs.event(&Event::StepFinished {
                step: name.to_string(),
                outcome: StepOutcome::RolledBack { ok: true },
            });
            outcome = Outcome::Failed {
                step: name.to_string(),
                error: e,
                problems: vec![],
            };
            break;
        }
        let o = if changes.is_empty() {
            StepOutcome::Unchanged
        } else {
            StepOutcome::Changed(changes.len())
        };
        total += changes.len();
        obs.event(&Event::StepFinished {
            step: name.to_string(),
            outcome: o,
        });
    }
    obs.event(&Event::Note {
        step: "reload".into(),
        level: Level::Info,
        text: "reloaded postfix".into(),
    });
    let ok = outcome == Outcome::Done;
    obs.event(&Event::RunFinished {
        id: id.clone(),
        changes: total,
        ok,
    });
    drop(obs);
    let report = RunReport {
        id: Some(id),
        changes: if ok { total } else { 0 },
        installed: vec!["postfix".into()],
        outcome,
        findings: vec![],
    };
    let code = exit::for_outcome(&report.outcome);
    let end = ui::end::End {
        applied: if ok {
            vec![]
        } else {
            vec![("packages".into(), 1), ("postfix".into(), 2)]
        },
        rolled_back: if ok { vec![] } else { vec!["tls".into()] },
        log: Some(
            format!(
                "/var/lib/mailstead/runs/{}/log.txt",
                report.id.as_ref().map(|i| i.0.as_str()).unwrap_or("?")
            )
            .into(),
        ),
        next_command: "mailstead install".into(),
        what_next: Some(ui::end::WhatNext {
            // The records are counted from what `mailstead dns` would print; none here.
            dns: None,
            dns_command: "mailstead dns".into(),
            hostname: "mail.example.test".into(),
            user: Some("alice@example.test".into()),
            pop3: false,
        }),
        planned: None,
        report,
    };
    ui::print_end(&end, has("--plain"));
    std::process::exit(code);
}

/// What `apt-get install -o APT::Status-Fd=3 -o Dpkg::Use-Pty=0` prints, as the engine passes
/// it on: output lines, and apt's status lines as progress. About 12 s (1.2 s with DEMO_FAST).
fn play_apt(obs: &mut dyn mailstead_engine::Observer, step: &str, pause: &dyn Fn(u64)) {
    let pkgs = ["postfix", "dovecot-core", "dovecot-imapd"];
    let out = |obs: &mut dyn mailstead_engine::Observer, line: String| {
        obs.event(&Event::Output {
            step: step.to_string(),
            line,
        })
    };
    let progress = |obs: &mut dyn mailstead_engine::Observer, percent: f32, what: String| {
        obs.event(&Event::Progress {
            step: step.to_string(),
            percent,
            what,
        })
    };
    out(obs, "Reading package lists...".into());
    out(obs, "Building dependency tree...".into());
    for (i, p) in pkgs.iter().enumerate() {
        progress(
            obs,
            (i * 100 / pkgs.len()) as f32,
            format!("Retrieving file {} of {}", i + 1, pkgs.len()),
        );
        out(
            obs,
            format!(
                "Get:{} http://deb.debian.org/debian bookworm/main amd64 {p} [1,234 kB]",
                i + 1
            ),
        );
        pause(1000);
    }
    let total = pkgs.len() * 3;
    let mut n = 0;
    for (verb, line) in [
        ("Preparing", "Selecting previously unselected package"),
        ("Unpacking", "Unpacking"),
        ("Configuring", "Setting up"),
    ] {
        for p in pkgs {
            n += 1;
            progress(obs, (n * 100 / total) as f32, format!("{verb} {p} (amd64)"));
            out(obs, format!("{line} {p} ..."));
            pause(450);
        }
    }
}
