//! Golden files: what every install step plans (files with their bytes, commands, packages)
//! for a few answer sets on Dovecot 2.3 and 2.4, snapshotted before the capabilities moved
//! into their folders. A restructuring must keep every byte (issue 19).
use crate::testing::{add_cert, answers, fresh, group_file, mail_answers, ok, try_apply};
use mailstead_answers::{Answers, RelayHost, Secret};
use mailstead_engine::{Change, Ctx, MemHost, Output};

fn relay_answers() -> Answers {
    let mut a = mail_answers();
    a.pop3 = true;
    a.greylisting = true;
    a.postscreen_dnsbl_sites = vec!["zen.spamhaus.org*2".into()];
    a.relay_host = Some(RelayHost {
        host: "smtp.relay.test".into(),
        port: 587,
        username: "user@relay.test".into(),
        password: Secret::new("relay secret"),
    });
    a
}

fn host(dovecot: &'static str) -> MemHost<'static> {
    let h = fresh();
    group_file(&h);
    add_cert(&h);
    h.on_command(move |c| match c.program.as_str() {
        "dovecot" => Some(Output {
            status: 0,
            stdout: format!("{dovecot}\n"),
            stderr: String::new(),
        }),
        _ => ok(""),
    });
    h
}

fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    for c in changes {
        match c {
            Change::WriteFile {
                path,
                content,
                meta,
                secret,
            } => {
                out.push_str(&format!(
                    "WRITE {} {meta:?} secret={secret}\n",
                    path.display()
                ));
                if !secret {
                    out.push_str(&String::from_utf8_lossy(content));
                    out.push_str("\n--- end\n");
                }
            }
            other => {
                out.push_str(&format!("{other:?}\n"));
                // What a rollback runs to take it back (not part of a command's Debug).
                if let Change::Run { cmd, .. } = other {
                    if let Some(undo) = &cmd.undo {
                        out.push_str(&format!("UNDO {undo}\n"));
                    }
                }
            }
        }
    }
    out
}

fn golden(a: &Answers, dovecot: &'static str) -> String {
    let h = host(dovecot);
    let mut out = String::new();
    for step in crate::install_steps() {
        let mut c = Ctx::new(&h, a);
        c.invoking_users = vec!["admin".into()];
        out.push_str(&format!("=== step {}\n", step.name()));
        match step.plan(&c) {
            Ok(p) => {
                out.push_str(&render(&p.changes));
                if let Err(e) = try_apply(&h, &p.changes) {
                    out.push_str(&format!("APPLY ERR {e}\n"));
                }
            }
            Err(e) => out.push_str(&format!("ERR {e}\n")),
        }
    }
    out.replace(&crate::signer::today_selector(), "sTODAY")
}

#[test]
fn rendered_files_stay_byte_identical() {
    for (name, a) in [
        ("bare", answers()),
        ("mail", mail_answers()),
        ("relay", relay_answers()),
    ] {
        for (v, dv) in [
            ("23", "2.3.19.1 (9b53102964)"),
            ("24", "2.4.1-4 (7d8c0e5759)"),
        ] {
            let text = golden(&a, dv);
            assert_eq!(text, golden(&a, dv), "deterministic");
            insta::assert_snapshot!(format!("{name}_{v}"), text);
        }
    }
}

/// The kind behind a false "check it by hand" after a rollback (postmap listed though
/// restoring its `.db` undid it): every command a plan runs either has an undo, or is marked
/// [`mailstead_engine::host::Cmd::files_only`] (its whole effect is on the files its change
/// declares, or nothing), or is one of these, which change what files cannot hold.
#[test]
fn commands_left_to_check_by_hand_are_only_those_that_change_running_state() {
    let mut left = std::collections::BTreeSet::new();
    for a in [answers(), mail_answers(), relay_answers()] {
        let h = host("2.4.1-4 (7d8c0e5759)");
        for step in crate::install_steps() {
            let mut c = Ctx::new(&h, &a);
            c.invoking_users = vec!["admin".into()];
            let Ok(p) = step.plan(&c) else { continue };
            for ch in &p.changes {
                if let Change::Run { summary, cmd, .. } = ch {
                    if cmd.undo.is_none() && !cmd.files_only {
                        left.insert(format!("{}: {summary}", step.name()));
                    }
                }
            }
            let _ = try_apply(&h, &p.changes);
        }
    }
    let left: Vec<String> = left.into_iter().collect();
    let running_state = [
        // ufw applies a rule to the live firewall too; restoring /etc/ufw does not remove it.
        "firewall: ufw: allow 22/tcp (ssh)",
        "firewall: ufw: allow 25/tcp (smtp)",
        "firewall: ufw: allow 465/tcp (submissions)",
        "firewall: ufw: allow 587/tcp (submission)",
        "firewall: ufw: allow 80/tcp (acme http-01)",
        "firewall: ufw: allow 993/tcp (imaps)",
        "firewall: ufw: allow 995/tcp (pop3s)",
        // Fresher package lists, not snapshotted (and harmless).
        "packages: apt-get update (package lists missing or older than a day)",
        // Kept on purpose (the CA's duplicate-certificate limit).
        "tls: certbot: certificate for mail.example.test",
    ];
    assert_eq!(left, running_state, "{left:#?}");
}
