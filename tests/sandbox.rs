//! The real binary against a directory tree (`--root`), with the demo steps: plan changes
//! nothing, re-runs change nothing, bad answers change nothing, every fault is rolled back to
//! a byte-identical tree, a killed run is recovered. Commands run through `chroot`, so the
//! tree gets a tiny /bin with sh and the coreutils the demo command uses; that needs root.
use mailstead_bed::sandbox::{grep_tree, install_binary, set_mode, Tree, ANSWERS, PASSWORD};
use std::fs;
use std::path::Path;

/// The binary the sandbox trees run: this build's.
const BIN: &str = env!("CARGO_BIN_EXE_mailstead");

#[test]
fn plan_changes_nothing_and_shows_diffs() {
    let Some(t) = Tree::new(BIN) else { return };
    let before = t.snapshot_all();
    let out = t.mailstead(&["--demo", "plan"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("+hostname = mail.example.test"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("-old = 1"),
        "diff of the existing file: {}",
        out.all()
    );
    assert_eq!(
        t.snapshot_all(),
        before,
        "plan changed the tree (state dir included)"
    );
}

#[test]
fn install_then_rerun_changes_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let after_first = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("0 changes"),
        "a re-run must say it changed nothing: {}",
        out.all()
    );
    assert_eq!(t.snapshot_all(), after_first, "the re-run changed the tree");
    let out = t.mailstead(&["--demo", "plan"]);
    assert!(
        out.stdout.contains("0 changes") || out.stdout.contains("No changes"),
        "{}",
        out.all()
    );
}

#[test]
fn whole_run_rollback_restores_identical_tree() {
    let Some(t) = Tree::new(BIN) else { return };
    let before = t.snapshot();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_ne!(t.snapshot(), before);
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(t.snapshot(), before, "rollback is not byte-identical");
    let out = t.mailstead(&["--demo", "runs"]);
    assert!(out.stdout.contains("rolled back"), "{}", out.all());
    // Nothing left to roll back: exit 2, nothing changes.
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 2, "{}", out.all());
}

#[test]
fn hand_edit_is_shown_and_refused_with_yes() {
    let Some(t) = Tree::new(BIN) else { return };
    assert_eq!(
        t.mailstead(&["--demo", "--yes", "--plain", "install"]).code,
        0
    );
    fs::write(t.path("etc/demo/app.conf"), "hostname = my-own-edit\n").unwrap();
    t.write_answers(&ANSWERS.replace("admin@example.test", "root@example.test"));
    let before = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("/etc/demo/app.conf") && out.all().contains("edited by hand"),
        "{}",
        out.all()
    );
    assert_eq!(t.snapshot_all(), before, "a refused run changed the tree");
    let plan = t.mailstead(&["--demo", "plan"]);
    assert!(
        plan.stdout.contains("-hostname = my-own-edit"),
        "plan shows the hand edit as a diff: {}",
        plan.all()
    );
    let out = t.mailstead(&["--demo", "--yes", "--force", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn bad_answers_exit_2_name_the_field_and_change_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers/bad");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "need at least ten bad answers files");
    let before = t.snapshot_all();
    let mut checked = 0;
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect:"))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{} lacks a `# expect:` line", f.display()));
        let copy = t.tmp.path().join("answers.yaml");
        fs::write(&copy, &text).unwrap();
        set_mode(&copy, 0o600);
        let out = t.mailstead(&[
            "--demo",
            "--yes",
            "--plain",
            "install",
            "--config",
            copy.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 2, "{}: {}", f.display(), out.all());
        assert!(
            out.stderr.contains(expect),
            "{}: expected {expect:?} in:\n{}",
            f.display(),
            out.stderr
        );
        assert!(
            !out.all().contains("a long passphrase"),
            "{}: password leaked",
            f.display()
        );
        assert_eq!(
            t.snapshot_all(),
            before,
            "{}: the tree changed",
            f.display()
        );
        checked += 1;
    }
    println!(
        "bad answers: {checked}/{} rejected with exit 2, tree unchanged",
        files.len()
    );
}

/// An error is told without a backtrace, so none is made: with RUST_BACKTRACE=1 (as many
/// developers and CI set it) a refused answers file, and a refused `unban`, take no longer
/// than without it. color-eyre resolved a backtrace for every error before (1.5-2 s each in
/// this debug build, against 0.2 s without).
#[test]
fn an_error_resolves_no_backtrace_with_rust_backtrace_set() {
    let Some(t) = Tree::new(BIN) else { return };
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers/bad/unknown-key.yaml");
    let copy = t.tmp.path().join("answers.yaml");
    fs::copy(&bad, &copy).unwrap();
    set_mode(&copy, 0o600);
    let install = [
        "--demo",
        "--yes",
        "--plain",
        "install",
        "--config",
        copy.to_str().unwrap(),
    ];
    for args in [&install[..], &["unban", "10.0.0.0/8"]] {
        // The quickest of three runs each way: other work on the machine only slows runs down.
        let quickest = |env: &[(&str, String)]| {
            (0..3)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    let out = t.mailstead_env(args, env);
                    assert_eq!(out.code, 2, "{args:?}: {}", out.all());
                    assert!(!out.all().contains("stack backtrace"), "{}", out.all());
                    t0.elapsed().as_secs_f64()
                })
                .fold(f64::MAX, f64::min)
        };
        let without = quickest(&[("RUST_BACKTRACE", "0".into())]);
        let with = quickest(&[("RUST_BACKTRACE", "1".into())]);
        assert!(
            with < 3.0 * without + 0.3,
            "{args:?} took {with:.2} s with RUST_BACKTRACE=1, {without:.2} s without"
        );
    }
}

#[test]
fn hash_with_a_line_break_in_its_parameters_is_refused_and_changes_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    // A newline inside `rounds=` (SHA512-CRYPT) or Argon2's parameters once passed validation
    // and was written to /etc/dovecot/users as is, adding an account with a known password.
    let sha = "{SHA512-CRYPT}$6$rounds=5000\\nmallory@example.test:{PLAIN}known-password-123$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
    let argon = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1\\nmallory@example.test:{PLAIN}known-password-123$c2FsdHNhbHQ$3Jzh1qJTt3WmyWk0bkEY9wWtpVHuIwHLLxmvlIpoSBA";
    let before = t.snapshot_all();
    for hash in [sha, argon] {
        t.write_answers(&format!(
            "hostname: mail.example.test\nadmin_email: admin@example.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password_hash: \"{hash}\"\n"
        ));
        let snapshot = t.snapshot_all();
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(
            out.stderr
                .contains("domains[0].mailboxes[0].password_hash: contains a space, line break"),
            "{}",
            out.all()
        );
        assert!(!out.all().contains("mallory"), "hash echoed: {}", out.all());
        assert_eq!(
            t.snapshot_all(),
            snapshot,
            "a refused install changed the tree"
        );
    }
    t.write_answers(ANSWERS);
    assert_eq!(t.snapshot_all(), before);
}

#[test]
fn no_command_without_a_terminal_exits_2() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&[]);
    assert_eq!(out.code, 2, "{}", out.all());
}

/// `unban` takes one IP address: anything else exits 2 naming the argument, the value and
/// the fix, before anything runs (fail2ban is never asked) and the tree is unchanged.
#[test]
fn unban_refuses_what_is_not_one_address() {
    let Some(t) = Tree::new(BIN) else { return };
    let before = t.snapshot_all();
    for bad in ["192.0.2.0/24", "mail.example.test", "192.0.2.7 ", "1.2.3"] {
        let out = t.mailstead(&["unban", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.all());
        assert!(
            out.stderr
                .contains(&format!("ADDRESS: {bad:?} is not an IP address"))
                && out.stderr.contains("fix: give one IPv4 or IPv6 address")
                && out.stderr.contains("Nothing was changed."),
            "{bad}: {}",
            out.all()
        );
    }
    assert_eq!(t.snapshot_all(), before);
}

// ---- `mailstead dns` on a tree: prints the records from the answers, changes nothing ----

#[test]
fn dns_prints_records_and_changes_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    // No answers file: bad input.
    let _ = fs::remove_file(t.path("etc/mailstead/mailstead.yaml"));
    let out = t.mailstead(&["dns"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("no answers file"), "{}", out.all());
    t.write_answers(ANSWERS);
    let before = t.snapshot_all();
    let out = t.mailstead(&["dns"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("Records for example.test"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("10 mail.example.test."),
        "{}",
        out.all()
    );
    // No DKIM key on a tree: a placeholder in the table, said on stderr for zone and JSON.
    assert!(
        out.stdout.contains("(no key yet: run mailstead install)"),
        "{}",
        out.all()
    );
    let out = t.mailstead(&["dns", "--format", "json", "example.test"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("example.test: no DKIM key yet"),
        "{}",
        out.all()
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let mx: Vec<&serde_json::Value> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "MX")
        .collect();
    assert_eq!(mx.len(), 1, "{}", out.stdout);
    assert_eq!(mx[0]["value"], "10 mail.example.test.");
    let out = t.mailstead(&["dns", "--format", "zone"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("_dmarc.example.test.\t3600\tIN\tTXT\t\"v=DMARC1; p=quarantine;"),
        "{}",
        out.all()
    );
    // An unknown domain: exit 2 naming it and the configured ones.
    let out = t.mailstead(&["dns", "other.test"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("\"other.test\" is not a configured mail domain (configured: example.test)"),
        "{}",
        out.all()
    );
    assert!(out.stdout.is_empty(), "{}", out.all());
    assert_eq!(t.snapshot_all(), before, "dns changed the tree");
}

#[test]
fn password_never_reaches_output_or_state() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&["--demo", "--yes", "--plain", "--verbose", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains(PASSWORD));
    let hits = grep_tree(&t.path("var/lib/mailstead"), PASSWORD);
    assert!(hits.is_empty(), "password found in {hits:?}");
}

#[cfg(feature = "failpoints")]
mod faults {
    use super::*;

    /// Each fault, for each demo step: the tree right before that step is what remains
    /// after the step's rollback (or the next start's recovery).
    #[test]
    fn fault_matrix() {
        let Some(_) = Tree::new(BIN) else { return };
        let steps = ["demo-files", "demo-command"];
        let faults = [
            "command fails",
            "write fails",
            "before",
            "mid",
            "after",
            "SIGKILL at mid",
        ];
        let mut restored = 0;
        let mut total = 0;
        let mut failures = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            for fault in faults {
                total += 1;
                let t = Tree::new(BIN).unwrap();
                // Steps before this one are applied and stay applied.
                if i > 0 {
                    let only = steps[..i].join(",");
                    let out =
                        t.mailstead(&["--demo", "--yes", "--plain", "--only", &only, "install"]);
                    assert_eq!(out.code, 0, "{}", out.all());
                }
                let before = t.snapshot();
                let mut env: Vec<(&str, String)> = Vec::new();
                match fault {
                    "command fails" => {
                        fs::write(t.path(&format!("etc/demo/{step}.fail")), "").unwrap();
                    }
                    "write fails" => {
                        let file = if *step == "demo-files" {
                            "/etc/demo/nested/deeper/file.conf"
                        } else {
                            "/etc/demo/command.conf"
                        };
                        env.push(("FAILPOINTS", format!("engine.write=return({file})")));
                    }
                    "SIGKILL at mid" => {
                        env.push(("FAILPOINTS", format!("{step}.mid=return(kill)")))
                    }
                    point => env.push(("FAILPOINTS", format!("{step}.{point}=return"))),
                }
                let before = if fault == "command fails" {
                    t.snapshot()
                } else {
                    before
                };
                let out = t.mailstead_env(&["--demo", "--yes", "--plain", "install"], &env);
                let ok = if fault == "SIGKILL at mid" {
                    let killed = out.code == -9 || out.code == 137;
                    let rec = t.mailstead(&["--demo", "--yes", "--plain", "recover"]);
                    killed
                        && rec.code == 0
                        && rec.stdout.contains("Recovered interrupted run")
                        && t.snapshot() == before
                } else {
                    out.code == 1 && t.snapshot() == before
                };
                if ok {
                    restored += 1;
                } else {
                    failures.push(format!("{step} / {fault}: exit {} {}", out.code, out.all()));
                }
            }
        }
        println!("fault matrix: {restored}/{total} restored");
        assert!(
            failures.is_empty(),
            "not restored:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn killed_run_is_recovered_by_the_next_install() {
        let Some(t) = Tree::new(BIN) else { return };
        let before = t.snapshot();
        let out = t.mailstead_env(
            &["--demo", "--yes", "--plain", "install"],
            &[("FAILPOINTS", "demo-files.mid=return(kill)".to_string())],
        );
        assert!(out.code == -9 || out.code == 137, "{}", out.all());
        assert_ne!(t.snapshot(), before);
        let runs = t.mailstead(&["--demo", "runs"]);
        assert!(runs.all().contains("interrupted"), "{}", runs.all());
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout.contains("Recovered interrupted run"),
            "{}",
            out.all()
        );
        let rerun = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert!(rerun.stdout.contains("0 changes"), "{}", rerun.all());
    }

    /// `rollback` right after a killed run: the killed run is recovered, and that counts as
    /// its rollback; the run before it stays applied.
    #[test]
    fn rollback_after_a_killed_run_undoes_that_run_and_no_more() {
        let Some(t) = Tree::new(BIN) else { return };
        let out = t.mailstead(&[
            "--demo",
            "--yes",
            "--plain",
            "--only",
            "demo-files",
            "install",
        ]);
        assert_eq!(out.code, 0, "{}", out.all());
        let after_first = t.snapshot();
        let out = t.mailstead_env(
            &["--demo", "--yes", "--plain", "install"],
            &[("FAILPOINTS", "demo-command.mid=return(kill)".to_string())],
        );
        assert!(out.code == -9 || out.code == 137, "{}", out.all());
        let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout.contains("Recovered interrupted run"),
            "{}",
            out.all()
        );
        assert_eq!(
            t.snapshot(),
            after_first,
            "rollback undid the run before the killed one too"
        );
    }

    /// SIGTERM in the middle of an add-* run: all or nothing, the answers file included.
    #[test]
    fn add_command_interrupted_by_sigterm_keeps_nothing() {
        let Some(t) = Tree::new(BIN) else { return };
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 0, "{}", out.all());
        let before = t.snapshot();
        let runs = t.path("var/lib/mailstead/runs");
        let earlier: Vec<_> = fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        let mut child = t.spawn_env(
            &["--demo", "--yes", "--plain", "add-domain", "example.org"],
            &[("FAILPOINTS", "demo-files.mid=sleep(5000)".to_string())],
        );
        // Wait until the run is inside demo-files (the answers file already saved).
        let started = std::time::Instant::now();
        let inside = || {
            fs::read_dir(&runs)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    !earlier.contains(&e.path())
                        && fs::read_to_string(e.path().join("log.txt"))
                            .is_ok_and(|l| l.contains("[demo-files] done:"))
                })
        };
        while !inside() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "the run never reached demo-files"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(4), "{status:?}");
        assert_eq!(
            t.snapshot(),
            before,
            "an interrupted add-domain left changes (the answers file?) behind"
        );
        let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
        assert!(!answers.contains("example.org"), "{answers}");
    }

    /// An add-domain killed mid-step (a power cut), then the next start: it reads the answers
    /// only after recovering the killed run, so it never applies the killed run's answers
    /// again (issue 22: `install` said "Recovered" and then configured the domain anew, with
    /// the answers file, restored, no longer naming it).
    #[test]
    fn the_next_run_after_a_killed_add_reads_the_recovered_answers() {
        for next in ["install", "add-domain"] {
            let Some(t) = Tree::new(BIN) else { return };
            let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
            assert_eq!(out.code, 0, "{}", out.all());
            let before = t.snapshot();
            let out = t.mailstead_env(
                &["--demo", "--yes", "--plain", "add-domain", "example.org"],
                &[("FAILPOINTS", "demo-files.mid=return(kill)".to_string())],
            );
            assert!(out.code == -9 || out.code == 137, "{}", out.all());
            let args: &[&str] = if next == "install" {
                &["--demo", "--yes", "--plain", "install"]
            } else {
                &["--demo", "--yes", "--plain", "add-domain", "example.net"]
            };
            let out = t.mailstead(args);
            assert_eq!(out.code, 0, "{next}: {}", out.all());
            assert!(
                out.stdout.contains("Recovered interrupted run"),
                "{next}: {}",
                out.all()
            );
            let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
            assert!(!answers.contains("example.org"), "{next}: {answers}");
            assert!(
                !t.path("etc/demo/domains/example.org.conf").exists(),
                "{next}: the killed add-domain's domain was configured again: {}",
                out.all()
            );
            if next == "install" {
                assert_eq!(t.snapshot(), before, "install after the killed add-domain");
            } else {
                assert!(answers.contains("example.net"), "{answers}");
            }
        }
    }

    /// Two add-* commands close together: the second reads the answers file once it holds
    /// the lock, so it never writes back answers from before the first one's change.
    #[test]
    fn answers_are_read_under_the_lock() {
        let Some(t) = Tree::new(BIN) else { return };
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 0, "{}", out.all());
        // The second command waits just before taking the lock; the first runs meanwhile.
        let mut late = t.spawn_env(
            &["--demo", "--yes", "--plain", "add-domain", "example.net"],
            &[("FAILPOINTS", "cli.before_lock=sleep(3000)".to_string())],
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "example.org"]);
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(late.wait().unwrap().success());
        let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
        assert!(
            answers.contains("example.org") && answers.contains("example.net"),
            "one add-domain undid the other: {answers}"
        );
    }

    #[test]
    fn a_second_run_waits_for_no_one_and_changes_nothing() {
        let Some(t) = Tree::new(BIN) else { return };
        let mut slow = t.spawn_env(
            &["--demo", "--yes", "--plain", "install"],
            &[("FAILPOINTS", "demo-files.mid=sleep(4000)".to_string())],
        );
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_ne!(
            out.code, 0,
            "a second run got in while the first held the lock"
        );
        assert!(out.all().contains("lock"), "{}", out.all());
        assert!(slow.wait().unwrap().success());
    }
}

#[test]
fn add_commands_update_answers_and_undo_them_on_failure() {
    let Some(t) = Tree::new(BIN) else { return };
    assert_eq!(
        t.mailstead(&["--demo", "--yes", "--plain", "install"]).code,
        0
    );
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "example.org"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(t.path("etc/demo/domains/example.org.conf").exists());
    let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    assert!(answers.contains("example.org"), "{answers}");
    // An alias to several addresses, as the answers file, --help and the man page show it.
    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "add-alias",
        "team@example.test",
        "alice@example.test, someone@elsewhere.org",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    assert!(answers.contains("someone@elsewhere.org"), "{answers}");

    // A failing step undoes the whole add, answers file included.
    let before = t.snapshot();
    fs::write(t.path("etc/demo/demo-files.fail"), "").unwrap();
    let with_marker = t.snapshot();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "example.net"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        t.snapshot(),
        with_marker,
        "a failed add-domain left changes behind"
    );
    fs::remove_file(t.path("etc/demo/demo-files.fail")).unwrap();
    assert_eq!(t.snapshot(), before);

    // Bad input: exit 2, nothing changed.
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "not a domain"]);
    assert_eq!(out.code, 2, "{}", out.all());
    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "add-alias",
        "x@nowhere.test",
        "alice@example.test",
    ]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(t.snapshot(), before);
}

#[test]
fn remove_commands_update_answers_and_refuse_unknown_names() {
    let Some(t) = Tree::new(BIN) else { return };
    assert_eq!(
        t.mailstead(&["--demo", "--yes", "--plain", "install"]).code,
        0
    );
    let answers = || fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "remove-alias",
        "info@example.test",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!answers().contains("info@example.test"), "{}", answers());
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "example.org"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = t.mailstead(&["--demo", "--yes", "--plain", "remove-domain", "example.org"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!answers().contains("example.org"), "{}", answers());

    let before = t.snapshot_all();
    for args in [
        ["remove-domain", "nowhere.test"],
        ["remove-mailbox", "ghost@example.test"],
        ["remove-alias", "ghost@example.test"],
    ] {
        let out = t.mailstead(&["--demo", "--yes", "--plain", args[0], args[1]]);
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(
            out.stderr.contains("Nothing was changed"),
            "{args:?}: {}",
            out.all()
        );
    }
    assert_eq!(
        t.snapshot_all(),
        before,
        "refused removals changed the tree"
    );
}

/// The rule's words in a line `field: words (fix)`, without the field.
fn rule_words<'a>(text: &'a str, field_suffix: &str) -> &'a str {
    let line = text
        .lines()
        .find(|l| l.contains(&format!("{field_suffix}: ")))
        .unwrap_or_else(|| panic!("no {field_suffix} problem in: {text}"));
    line.split_once(&format!("{field_suffix}: "))
        .unwrap()
        .1
        .trim()
}

/// One copy of the rules: the answers file and `add-*` say the same thing about the same bad
/// value, exit 2, and change nothing.
#[test]
fn answers_file_and_add_commands_share_the_rules() {
    let Some(t) = Tree::new(BIN) else { return };
    assert_eq!(
        t.mailstead(&["--demo", "--yes", "--plain", "install"]).code,
        0
    );
    let good = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    let before = t.snapshot_all();

    // A 3-character password.
    t.write_answers(&ANSWERS.replace(PASSWORD, "abc"));
    let file = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(file.code, 2, "{}", file.all());
    t.write_answers(&good);
    assert_eq!(t.snapshot_all(), before);
    let cli = t.mailstead_stdin(
        &[
            "--demo",
            "--yes",
            "--plain",
            "add-mailbox",
            "bob@example.test",
            "--password-stdin",
        ],
        "abc\n",
    );
    assert_eq!(cli.code, 2, "{}", cli.all());
    let words = rule_words(&file.stderr, "password");
    assert_eq!(rule_words(&cli.stderr, "password"), words, "{}", cli.all());
    assert!(!cli.all().contains("abc"), "the password is never shown");
    assert!(cli.stderr.contains("Nothing was changed"), "{}", cli.all());
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused add-mailbox changed the tree"
    );

    // An uppercase name: hostname in the file, NAME for add-domain.
    t.write_answers(&ANSWERS.replace("mail.example.test", "MAIL.example.test"));
    let file = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(file.code, 2, "{}", file.all());
    t.write_answers(&good);
    let cli = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "EXAMPLE.org"]);
    assert_eq!(cli.code, 2, "{}", cli.all());
    let file_words = rule_words(&file.stderr, "hostname");
    let cli_words = rule_words(&cli.stderr, "NAME");
    // The same rule and fix; only the quoted value differs.
    let tail = |w: &str| w.split_once(' ').map(|(_, rest)| rest.to_string()).unwrap();
    let fix = |w: &str| w.rsplit_once("write it in lowercase").map(|_| ()).is_some();
    assert!(
        fix(file_words) && fix(cli_words),
        "{file_words} / {cli_words}"
    );
    assert_eq!(
        tail(file_words).split(" (").next(),
        tail(cli_words).split(" (").next(),
        "{file_words} / {cli_words}"
    );
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused add-domain changed the tree"
    );
}

/// A preflight refusal in plain words: exit 2, "nothing was changed", no escape bytes with
/// NO_COLOR or a pipe, no `Location:` or Debug text; the tree untouched.
#[test]
fn preflight_refusal_is_plain_words() {
    let Some(t) = Tree::new(BIN) else { return };
    // Preflight asks `id -u` first; then it reads which system this is.
    install_binary(&t.root, "/usr/bin/id", "/usr/bin/id");
    install_binary(&t.root, "/usr/bin/id", "/bin/id");
    fs::write(
        t.path("etc/os-release"),
        "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nID=ubuntu\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n",
    )
    .unwrap();
    // mailstead's own state included: a refusal does not even create its state directory.
    let before = t.snapshot_all();
    for env in [vec![("NO_COLOR", "1".to_string())], vec![]] {
        // stdout and stderr are pipes here.
        let out = t.mailstead_env(&["--yes", "--plain", "install"], &env);
        assert_eq!(out.code, 2, "{}", out.all());
        let all = out.all();
        assert!(all.contains("nothing was changed"), "{all}");
        assert!(!all.contains('\x1b'), "escape bytes: {all:?}");
        assert!(!all.contains("Location:"), "{all}");
        assert!(!all.contains("Refusal {"), "Debug text: {all}");
        assert!(all.to_lowercase().contains("ubuntu"), "{all}");
        assert_eq!(t.snapshot_all(), before, "a refusal changed the tree");
    }
}

/// `mailstead runs | head -1` and `mailstead plan | head -1`: no panic when the reader goes
/// away (ended by SIGPIPE like any CLI, which the shell reports as the pipeline's success).
#[test]
fn closed_pipe_is_no_panic() {
    let Some(t) = Tree::new(BIN) else { return };
    for args in [&["--demo", "plan"][..], &["--demo", "runs"][..]] {
        let (code, stderr) = t.mailstead_head1(args);
        assert!(
            code == 0 || code == -libc::SIGPIPE,
            "{args:?}: exit {code}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    assert_eq!(
        t.mailstead(&["--demo", "--yes", "--plain", "install"]).code,
        0
    );
    let (code, stderr) = t.mailstead_head1(&["--demo", "runs"]);
    assert!(code == 0 || code == -libc::SIGPIPE, "exit {code}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A run directory without a journal (a run that died before its first record, a stray
/// copy) is named by `runs` and breaks neither `runs` nor `rollback`.
#[test]
fn run_dir_without_journal_breaks_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    let before = t.snapshot();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    fs::create_dir(t.path("var/lib/mailstead/runs/29991231T235959Z-7")).unwrap();
    let out = t.mailstead(&["--demo", "runs"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("no journal"), "{}", out.all());
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(t.snapshot(), before);
}

/// `rollback` applies a run's drift guard: a file changed since the run is named, and
/// with --yes the rollback is refused (exit 2, nothing changed) unless --force.
#[test]
fn rollback_refuses_over_hand_edits_with_yes() {
    let Some(t) = Tree::new(BIN) else { return };
    let before = t.snapshot();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    fs::write(t.path("etc/demo/app.conf"), "hostname = my-own-edit\n").unwrap();
    let edited = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.all().contains("/etc/demo/app.conf"), "{}", out.all());
    assert_eq!(
        t.snapshot_all(),
        edited,
        "a refused rollback changed the tree"
    );
    let out = t.mailstead(&["--demo", "--yes", "--force", "--plain", "rollback"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(t.snapshot(), before);
}

/// After a failure the end of the run says, once: what failed and why, what was rolled back
/// and what stays applied, the one command to run next, and the log (which exists).
#[test]
fn a_failed_run_ends_with_why_what_stays_the_next_command_and_the_log() {
    let Some(t) = Tree::new(BIN) else { return };
    fs::write(t.path("etc/demo/demo-command.fail"), "").unwrap();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let all = out.all();
    println!("{all}");
    // The step line during the run, the why once at the end (on stderr: bad news).
    assert!(
        out.stdout
            .contains("✗ demo-command: failed (why: at the end)"),
        "{all}"
    );
    assert!(
        out.stderr.contains("✗ failed in step demo-command"),
        "{all}"
    );
    assert_eq!(all.matches("  why: ").count(), 1, "{all}");
    assert!(out.stderr.contains("↺ rolled back: demo-command"), "{all}");
    assert!(out.stderr.contains("stays applied: demo-files ("), "{all}");
    // The same command again, alone on its line (the hidden --root included: it is this one).
    let next = out
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("Next:"))
        .nth(1)
        .unwrap_or_default();
    assert!(
        next.starts_with("  mailstead --root ") && next.ends_with(" --demo --yes --plain install"),
        "{all}"
    );
    let log = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("log: "))
        .unwrap_or_else(|| panic!("no log line: {all}"));
    assert!(
        log.starts_with("/var/lib/mailstead/runs/") && log.ends_with("/log.txt"),
        "{all}"
    );
    assert!(
        t.path(log.trim_start_matches('/')).is_file(),
        "{log} is not in the tree"
    );
    // Success: no failure words, the log again.
    fs::remove_file(t.path("etc/demo/demo-command.fail")).unwrap();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("✓ done: "), "{}", out.all());
    assert!(
        out.stdout.contains("\nlog: /var/lib/mailstead/runs/"),
        "{}",
        out.all()
    );
    assert!(!out.all().contains("Next:"), "{}", out.all());
}

/// `rollback` asks before it undoes anything: with no terminal at all (a new session, stdin
/// /dev/null) and no --yes it refuses (exit 2) naming the fix, and the tree stays as it is.
#[test]
fn rollback_without_yes_and_no_terminal_refuses_changing_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let installed = t.snapshot_all();
    let out = std::process::Command::new("setsid")
        .arg("--wait")
        .arg(BIN)
        .arg("--root")
        .arg(&t.root)
        .args(["--demo", "--plain", "rollback"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("setsid (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no terminal to ask on") && stderr.contains("nothing was rolled back"),
        "{stderr}"
    );
    assert!(stderr.contains("--yes"), "the fix: {stderr}");
    assert_eq!(
        t.snapshot_all(),
        installed,
        "a refused rollback changed the tree"
    );
}

/// postmaster@ of a domain is required (RFC 5321 §4.5.1): `remove-alias` refuses it by the
/// rule, naming the field, the value and how to point it elsewhere; exit 2, tree unchanged.
/// Both when it is an explicit alias and when mailstead adds it by default.
#[test]
fn remove_alias_refuses_postmaster_changing_nothing() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let remove = || {
        t.mailstead(&[
            "--demo",
            "--yes",
            "--plain",
            "remove-alias",
            "postmaster@example.test",
        ])
    };
    let before = t.snapshot_all();
    let out = remove();
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("FROM: \"postmaster@example.test\"")
            && out
                .stderr
                .contains("postmaster@example.test is required (RFC 5321 §4.5.1")
            && out.stderr.contains("change the `to:`"),
        "{}",
        out.all()
    );
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused removal changed the tree"
    );

    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "add-alias",
        "postmaster@example.test",
        "alice@example.test",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let before = t.snapshot_all();
    let out = remove();
    assert_eq!(out.code, 2, "explicit postmaster alias: {}", out.all());
    assert!(out.stderr.contains("is required"), "{}", out.all());
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused removal changed the tree"
    );
}
