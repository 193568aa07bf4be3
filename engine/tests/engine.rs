//! The engine's promises, against the in-memory fake host: plan changes nothing, re-runs
//! change nothing, every failure is rolled back to a byte-identical tree (content, mode,
//! owner, which files exist), killed runs are recovered, hand edits are never clobbered.
use color_eyre::eyre::{bail, Result};
use mailstead_engine::event::Recorder;
use mailstead_engine::{
    Change, Check, Cmd, Ctx, Engine, Host, MemHost, Meta, Options, Outcome, Output, Perms, Planned,
    Step,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

// Failpoints are process-global: every test holds the scenario lock (`_serial`), so a test that
// arms one never fires it inside another.
/// The engine knows no mail: these tests bring their own tiny answers type.
#[derive(Clone)]
struct Answers {
    hostname: String,
}

fn answers() -> Answers {
    Answers {
        hostname: "mail.example.test".into(),
    }
}

/// No checks: these tests are about applying and undoing.
const NO_CHECKS: &[&dyn Check<Answers>] = &[];

/// Options for a run nobody is asked anything in.
fn yes() -> Options {
    Options {
        yes: true,
        ..Options::default()
    }
}

/// A fake server with a pre-existing file of unusual mode and owner, a file to be removed,
/// and systemd "running" so reloads go through systemctl.
fn server() -> MemHost<'static> {
    let h = MemHost::fake();
    // Owners are given by name; the fake resolves them through its own passwd and group.
    h.add_file(
        "/etc/passwd",
        "root:x:0:0::/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\nmailuser:x:5000:5000::/var/mail:/usr/sbin/nologin\n",
        Meta::root(0o644),
    );
    h.add_file(
        "/etc/group",
        "root:x:0:\nadm:x:4:\nmail:x:110:\nadmin:x:1000:\nmailuser:x:5000:\n",
        Meta::root(0o644),
    );
    h.add_file(
        "/etc/app/existing.conf",
        "old = 1\n",
        Meta {
            mode: 0o644,
            uid: 1000,
            gid: 1000,
        },
    );
    h.add_file(
        "/etc/app/obsolete.conf",
        "gone soon\n",
        Meta {
            mode: 0o600,
            uid: 0,
            gid: 4,
        },
    );
    h.create_dir_all("/run/systemd/system".as_ref(), Meta::root(0o755))
        .unwrap();
    h.on_command(|c: &Cmd| (c.program == "systemctl").then(Output::default));
    h
}

/// Without the engine's own state: what a user would compare.
fn tree(h: &MemHost) -> BTreeMap<PathBuf, String> {
    h.dump()
        .into_iter()
        .filter(|(p, _)| !p.starts_with("/var/lib/mailstead"))
        .collect()
}

struct Files;
impl Step<Answers> for Files {
    fn name(&self) -> &'static str {
        "files"
    }
    fn about(&self) -> &'static str {
        "writes files"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![
            Change::write(
                "/etc/app/new.conf",
                format!("host = {}\n", ctx.answers.hostname),
                Perms::root(0o640),
            ),
            Change::write("/etc/app/existing.conf", "new = 2\n", Perms::root(0o600)),
            Change::RemoveFile {
                path: "/etc/app/obsolete.conf".into(),
            },
            Change::EnsureDir {
                path: "/var/mail/vhosts".into(),
                meta: Perms::new(0o770, "mailuser", "mailuser"),
            },
            Change::write("/etc/app/deep/er/file", "x\n", Perms::root(0o644)),
            Change::write_secret(
                "/etc/app/users",
                "alice:{SHA512-CRYPT}$6$salt$hash\n",
                Perms::new(0o640, "root", "mail"),
            ),
            Change::reload("app"),
        ]
        .into())
    }
}

/// A command that is needed until its output file exists; fails when told to.
struct Command {
    fail: Arc<AtomicBool>,
}
impl Step<Answers> for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn about(&self) -> &'static str {
        "runs a command"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        if ctx.host.exists("/etc/app/generated".as_ref()) && !self.fail.load(Ordering::SeqCst) {
            return Ok(Planned::default());
        }
        Ok(vec![
            Change::write("/etc/app/before-command", "1\n", Perms::root(0o644)),
            Change::run(
                "generate",
                Cmd::new("generate", ["/etc/app/generated"]),
                &["/etc/app/generated"],
            ),
            Change::reload("app"),
        ]
        .into())
    }
}

struct Setup {
    host: MemHost<'static>,
    fail_cmd: Arc<AtomicBool>,
}

fn setup() -> Setup {
    let host = server();
    let fail_cmd = Arc::new(AtomicBool::new(false));
    let f = fail_cmd.clone();
    host.on_command(move |c: &Cmd| {
        (c.program == "generate").then(|| Output {
            status: if f.load(Ordering::SeqCst) { 3 } else { 0 },
            stdout: String::new(),
            stderr: "generate: disk on fire".into(),
        })
    });
    Setup { host, fail_cmd }
}

fn run(s: &Setup, yes: bool, force: bool) -> (mailstead_engine::RunReport, Recorder) {
    let files = Files;
    let command = Command {
        fail: s.fail_cmd.clone(),
    };
    let steps: Vec<&dyn Step<Answers>> = vec![&files, &command];
    let mut rec = Recorder::default();
    let opts = Options {
        yes,
        force,
        ..Options::default()
    };
    let report = Engine::new(&s.host, &mut rec, opts)
        .apply(&steps, NO_CHECKS, &answers())
        .unwrap();
    (report, rec)
}

/// The generate command "creates" its file only when it succeeds (the fake cannot write
/// from a handler), so emulate it after a good run.
fn settle(s: &Setup) {
    if !s.host.exists("/etc/app/generated".as_ref()) {
        s.host
            .add_file("/etc/app/generated", "g\n", Meta::root(0o644));
    }
}

#[test]
fn plan_changes_nothing_and_shows_diffs() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = s.host.dump();
    let files = Files;
    let steps: Vec<&dyn Step<Answers>> = vec![&files];
    let mut rec = Recorder::default();
    let plan = Engine::new(&s.host, &mut rec, Options::default())
        .plan(&steps, &answers())
        .unwrap();
    assert_eq!(s.host.dump(), before, "plan must not touch the host");
    assert!(
        s.host.commands().is_empty(),
        "plan ran commands: {:?}",
        s.host.commands()
    );
    let text: String = plan.steps[0]
        .changes
        .iter()
        .map(|c| c.rendered.clone())
        .collect();
    assert!(
        text.contains("-old = 1") && text.contains("+new = 2"),
        "{text}"
    );
    assert!(
        !text.contains("SHA512"),
        "secret content leaked into the plan: {text}"
    );
    assert_eq!(plan.total(), 7);
}

#[test]
fn second_run_changes_nothing() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let (r1, _) = run(&s, true, false);
    assert_eq!(r1.outcome, Outcome::Done);
    settle(&s);
    let after_first = s.host.dump();
    let (r2, _) = run(&s, true, false);
    assert_eq!(r2.outcome, Outcome::NothingToDo);
    assert_eq!(r2.changes, 0);
    assert_eq!(s.host.dump(), after_first);
}

#[test]
fn one_reload_per_service_per_run() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    run(&s, true, false);
    let reloads = s
        .host
        .commands()
        .iter()
        .filter(|c| c.contains("reload-or-restart app"))
        .count();
    assert_eq!(reloads, 1, "{:?}", s.host.commands());
}

#[test]
fn failed_command_rolls_the_step_back_to_identical() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    s.fail_cmd.store(true, Ordering::SeqCst);
    let before = tree(&s.host);
    // The first step succeeds and stays; the second fails and is undone.
    let (r, rec) = run(&s, true, false);
    match &r.outcome {
        Outcome::Failed {
            step,
            error,
            problems,
        } => {
            assert_eq!(step, "command");
            assert!(
                error.contains("disk on fire"),
                "error should carry stderr: {error}"
            );
            assert!(problems.is_empty(), "{problems:?}");
        }
        o => panic!("unexpected {o:?}"),
    }
    // Failed with nothing left over (exit 1 in the binary, not 3).
    assert!(
        !s.host.exists("/etc/app/before-command".as_ref()),
        "failed step not rolled back"
    );
    assert!(
        s.host.exists("/etc/app/new.conf".as_ref()),
        "the good step should stay applied"
    );
    assert!(rec
        .events
        .iter()
        .any(|e| format!("{e:?}").contains("RolledBack")));
    // A whole-run rollback then restores the very first state.
    let mut rec = Recorder::default();
    let rb = Engine::new(&s.host, &mut rec, yes())
        .rollback_run(None, false)
        .unwrap();
    assert!(rb.problems.is_empty(), "{:?}", rb.problems);
    assert_eq!(tree(&s.host), before);
}

#[test]
fn failed_write_rolls_back_to_identical() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    s.host.fail_writes_to("/etc/app/deep/er/file");
    let before = tree(&s.host);
    let (r, _) = run(&s, true, false);
    assert!(
        matches!(r.outcome, Outcome::Failed { ref step, .. } if step == "files"),
        "{:?}",
        r.outcome
    );
    assert_eq!(tree(&s.host), before);
}

#[test]
fn whole_run_rollback_is_byte_identical_and_only_once() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    let (r, _) = run(&s, true, false);
    assert_eq!(r.outcome, Outcome::Done);
    let mut rec = Recorder::default();
    let mut engine = Engine::new(&s.host, &mut rec, yes());
    let rb = engine.rollback_run(None, false).unwrap();
    assert_eq!(
        rb.restored_steps,
        vec!["command".to_string(), "files".to_string()]
    );
    assert_eq!(tree(&s.host), before);
    assert!(
        engine.rollback_run(r.id.clone(), false).is_err(),
        "second rollback of the same run"
    );
}

#[test]
fn hand_edit_is_refused_with_yes_and_kept() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    run(&s, true, false);
    settle(&s);
    s.host
        .add_file("/etc/app/new.conf", "my own edit\n", Meta::root(0o640));
    // Answers changed too, so the step wants to write the file again.
    let before = s.host.dump();
    let files = Files;
    let steps: Vec<&dyn Step<Answers>> = vec![&files];
    let mut a = answers();
    a.hostname = "mx.example.test".into();
    let mut rec = Recorder::default();
    let r = Engine::new(&s.host, &mut rec, yes())
        .apply(&steps, NO_CHECKS, &a)
        .unwrap();
    assert!(
        matches!(r.outcome, Outcome::Refused(ref why) if why.contains("/etc/app/new.conf")),
        "{:?}",
        r.outcome
    );
    assert_eq!(s.host.dump(), before, "a refused run must change nothing");

    // Asked and declined: same.
    let mut rec = Recorder {
        answer: false,
        ..Recorder::default()
    };
    let r = Engine::new(&s.host, &mut rec, Options::default())
        .apply(&steps, NO_CHECKS, &a)
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Refused(_)));
    assert!(
        rec.questions[0].contains("edited by hand"),
        "{:?}",
        rec.questions
    );

    // --force overwrites.
    let mut rec = Recorder::default();
    let r = Engine::new(
        &s.host,
        &mut rec,
        Options {
            yes: true,
            force: true,
            ..Options::default()
        },
    )
    .apply(&steps, NO_CHECKS, &a)
    .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(
        s.host
            .read_string("/etc/app/new.conf".as_ref())
            .unwrap()
            .unwrap(),
        "host = mx.example.test\n"
    );
}

#[test]
fn secrets_never_reach_journal_or_log() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    run(&s, true, false);
    for (p, v) in s.host.dump() {
        if p.starts_with("/var/lib/mailstead/runs") && !p.to_string_lossy().contains("/blobs/") {
            assert!(
                !v.contains("SHA512-CRYPT"),
                "{} holds file contents",
                p.display()
            );
        }
    }
}

#[test]
fn lock_and_state_dir_are_private() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    run(&s, true, false);
    let st = s.host.stat("/var/lib/mailstead".as_ref()).unwrap().unwrap();
    assert_eq!(st.meta.mode, 0o700);
    let runs = s.host.list_dir("/var/lib/mailstead/runs".as_ref()).unwrap();
    assert_eq!(runs.len(), 1);
    let run_dir = PathBuf::from("/var/lib/mailstead/runs").join(&runs[0]);
    assert_eq!(s.host.stat(&run_dir).unwrap().unwrap().meta.mode, 0o700);
    assert!(s.host.exists(&run_dir.join("log.txt")));
}

/// A step whose plan itself fails touches nothing.
struct Broken;
impl Step<Answers> for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn about(&self) -> &'static str {
        "cannot plan"
    }
    fn plan(&self, _: &Ctx<Answers>) -> Result<Planned> {
        bail!("cannot read the current state")
    }
}

#[test]
fn failing_plan_changes_nothing() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = s.host.dump();
    let steps: Vec<&dyn Step<Answers>> = vec![&Files, &Broken];
    let mut rec = Recorder::default();
    let r = Engine::new(&s.host, &mut rec, yes()).apply(&steps, NO_CHECKS, &answers());
    assert!(r.is_err());
    assert_eq!(s.host.dump(), before);
}

#[cfg(feature = "failpoints")]
mod faults {
    use super::*;

    const POINTS: [&str; 3] = ["before", "mid", "after"];

    #[test]
    fn fault_matrix_on_the_fake_host() {
        let scenario = fail::FailScenario::setup();
        let mut restored = 0;
        let mut total = 0;
        for step in ["files", "command"] {
            for point in POINTS {
                let s = setup();
                // The first step must be applied for the second to be reached: compare against
                // the state right before the failing step.
                let before = if step == "command" {
                    let files = Files;
                    let steps: Vec<&dyn Step<Answers>> = vec![&files];
                    let mut rec = Recorder::default();
                    Engine::new(&s.host, &mut rec, yes())
                        .apply(&steps, NO_CHECKS, &answers())
                        .unwrap();
                    tree(&s.host)
                } else {
                    tree(&s.host)
                };
                fail::cfg(format!("{step}.{point}"), "return").unwrap();
                let (r, _) = run(&s, true, false);
                fail::remove(format!("{step}.{point}"));
                total += 1;
                let ok = matches!(r.outcome, Outcome::Failed { .. }) && tree(&s.host) == before;
                if ok {
                    restored += 1;
                } else {
                    eprintln!("{step}.{point}: {:?}", r.outcome);
                }
            }
        }
        scenario.teardown();
        println!("fault matrix (fake host): {restored}/{total} restored");
        assert_eq!(restored, total);
    }

    #[test]
    fn killed_run_is_recovered_on_next_start() {
        let scenario = fail::FailScenario::setup();
        let s = setup();
        let before = tree(&s.host);
        fail::cfg("files.mid", "panic").unwrap();
        let crashed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&s, true, false)));
        fail::remove("files.mid");
        assert!(
            crashed.is_err(),
            "the failpoint should have crashed the run"
        );
        assert_ne!(
            tree(&s.host),
            before,
            "the crash should leave a half-done step"
        );

        let mut rec = Recorder::default();
        let reports = Engine::new(&s.host, &mut rec, yes()).recover().unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].restored_steps, vec!["files".to_string()]);
        assert_eq!(tree(&s.host), before);
        // Recovered once; the next start finds nothing to do.
        let mut rec = Recorder::default();
        let again = Engine::new(&s.host, &mut rec, yes()).recover().unwrap();
        assert!(again.is_empty());
        scenario.teardown();
    }

    /// A third step after [`Files`] and [`Command`], for a run killed in its middle.
    struct Extra;
    impl Step<Answers> for Extra {
        fn name(&self) -> &'static str {
            "extra"
        }
        fn about(&self) -> &'static str {
            "writes two more files"
        }
        fn plan(&self, _: &Ctx<Answers>) -> Result<Planned> {
            Ok(vec![
                Change::write("/etc/app/extra-a", "a\n", Perms::root(0o600)),
                Change::write("/etc/app/existing.conf", "extra = 3\n", Perms::root(0o640)),
            ]
            .into())
        }
    }

    /// What [`killed_in_third_step`] saw.
    struct Killed {
        /// The tree before the run.
        before: BTreeMap<PathBuf, String>,
        /// The tree after the first two steps (from a twin host).
        after_two: BTreeMap<PathBuf, String>,
        /// The recovery's report.
        report: mailstead_engine::RollbackReport,
        /// The tree after the recovery.
        after: BTreeMap<PathBuf, String>,
    }

    /// Runs files, command and extra (all or nothing when `atomic`), killed ("panic", as a
    /// power cut would stop it) after the first change of extra; then recovers.
    fn killed_in_third_step(atomic: bool) -> Killed {
        let twin = setup();
        let command = Command {
            fail: twin.fail_cmd.clone(),
        };
        let first_two: Vec<&dyn Step<Answers>> = vec![&Files, &command];
        Engine::new(&twin.host, &mut Recorder::default(), yes())
            .apply(&first_two, NO_CHECKS, &answers())
            .unwrap();
        let after_two = tree(&twin.host);

        let s = setup();
        let before = tree(&s.host);
        let command = Command {
            fail: s.fail_cmd.clone(),
        };
        let steps: Vec<&dyn Step<Answers>> = vec![&Files, &command, &Extra];
        fail::cfg("extra.mid", "panic").unwrap();
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let opts = Options { atomic, ..yes() };
            Engine::new(&s.host, &mut Recorder::default(), opts).apply(
                &steps,
                NO_CHECKS,
                &answers(),
            )
        }));
        fail::remove("extra.mid");
        assert!(crashed.is_err(), "the failpoint should have killed the run");
        assert_ne!(tree(&s.host), after_two, "extra should be half-done");

        let mut rec = Recorder::default();
        let mut reports = Engine::new(&s.host, &mut rec, yes()).recover().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let report = reports.remove(0);
        // Recovered once; the next start finds nothing to do.
        let again = Engine::new(&s.host, &mut Recorder::default(), yes())
            .recover()
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        Killed {
            before,
            after_two,
            report,
            after: tree(&s.host),
        }
    }

    /// An all-or-nothing run (add-domain and friends) killed in its third step: the recovery
    /// undoes all of it, the two finished steps too, newest first, to a byte-identical tree.
    #[test]
    fn killed_atomic_run_is_recovered_whole() {
        let scenario = fail::FailScenario::setup();
        let Killed {
            before,
            report,
            after,
            ..
        } = killed_in_third_step(true);
        assert_eq!(report.restored_steps, ["extra", "command", "files"]);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(after, before, "the finished steps of the run were kept");
        scenario.teardown();
    }

    /// An ordinary run killed in its third step: only that step is rolled back; the two it
    /// finished stay applied.
    #[test]
    fn killed_ordinary_run_recovers_only_the_open_step() {
        let scenario = fail::FailScenario::setup();
        let Killed {
            before,
            after_two,
            report,
            after,
        } = killed_in_third_step(false);
        assert_eq!(report.restored_steps, ["extra"]);
        assert_eq!(after, after_two);
        assert_ne!(after, before);
        scenario.teardown();
    }

    /// A recovered all-or-nothing run leaves nothing applied: `rollback` without a run id
    /// passes over it to the run before.
    #[test]
    fn atomic_run_recovered_whole_is_not_rolled_back_again() {
        let scenario = fail::FailScenario::setup();
        let s = setup();
        let first: Vec<&dyn Step<Answers>> = vec![&Files];
        Engine::new(&s.host, &mut Recorder::default(), yes())
            .apply(&first, NO_CHECKS, &answers())
            .unwrap();
        let command = Command {
            fail: s.fail_cmd.clone(),
        };
        let second: Vec<&dyn Step<Answers>> = vec![&command, &Extra];
        fail::cfg("extra.mid", "panic").unwrap();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let opts = Options {
                atomic: true,
                ..yes()
            };
            Engine::new(&s.host, &mut Recorder::default(), opts).apply(
                &second,
                NO_CHECKS,
                &answers(),
            )
        }));
        fail::remove("extra.mid");
        Engine::new(&s.host, &mut Recorder::default(), yes())
            .recover()
            .unwrap();
        let report = Engine::new(&s.host, &mut Recorder::default(), yes())
            .rollback_run(None, false)
            .unwrap();
        assert_eq!(report.restored_steps, ["files"], "{report:?}");
        scenario.teardown();
    }

    #[test]
    fn recovery_asks_and_refuses_without_consent() {
        let scenario = fail::FailScenario::setup();
        let s = setup();
        fail::cfg("files.mid", "panic").unwrap();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&s, true, false)));
        fail::remove("files.mid");
        let mid = s.host.dump();
        let mut rec = Recorder {
            answer: false,
            ..Recorder::default()
        };
        let r = Engine::new(&s.host, &mut rec, Options::default()).recover();
        assert!(r.is_err());
        assert!(
            rec.questions[0].contains("interrupted"),
            "{:?}",
            rec.questions
        );
        assert_eq!(s.host.dump(), mid);
        scenario.teardown();
    }
}

/// log.txt is for people: each event in words, never Rust Debug text.
#[cfg(feature = "failpoints")]
#[test]
fn log_txt_is_readable_text() {
    let scenario = fail::FailScenario::setup();
    let s = setup();
    fail::cfg("command.mid", "return").unwrap();
    let (r, _) = run(&s, true, false);
    fail::remove("command.mid");
    scenario.teardown();
    assert!(
        matches!(r.outcome, Outcome::Failed { .. }),
        "{:?}",
        r.outcome
    );
    let runs = s.host.list_dir("/var/lib/mailstead/runs".as_ref()).unwrap();
    let log = s
        .host
        .read_string(
            &PathBuf::from("/var/lib/mailstead/runs")
                .join(&runs[0])
                .join("log.txt"),
        )
        .unwrap()
        .unwrap();
    for debug in [
        "Changed(",
        "RolledBack {",
        "Failed(",
        "Unchanged",
        "Some(",
        "ok: ",
    ] {
        assert!(
            !log.contains(debug),
            "log.txt holds Debug text {debug:?}:\n{log}"
        );
    }
    assert!(log.contains("done, "), "{log}");
    assert!(log.contains("rolled back"), "{log}");
}

/// The engine knows no mail: no file of its own names the mail daemons (the words are built
/// here so this file does not count itself).
#[test]
fn engine_knows_no_mail() {
    let words = [["post", "fix"].concat(), ["dove", "cot"].concat()];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack = vec![root.join("src"), root.join("tests")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = std::fs::read_to_string(&p).unwrap().to_lowercase();
                for w in &words {
                    assert!(!text.contains(w.as_str()), "{} mentions {w}", p.display());
                }
            }
        }
    }
}

fn run_dirs(h: &MemHost) -> Vec<PathBuf> {
    h.list_dir("/var/lib/mailstead/runs".as_ref())
        .unwrap()
        .into_iter()
        .map(|n| PathBuf::from("/var/lib/mailstead/runs").join(n))
        .collect()
}

/// A journal line torn by a full disk or a power cut: recovery repairs the journal and
/// records its result, so a later start recovers nothing again; a newer run's files survive.
#[cfg(feature = "failpoints")]
#[test]
fn torn_journal_is_recovered_once_and_never_over_newer_runs() {
    let scenario = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    fail::cfg("files.mid", "panic").unwrap();
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&s, true, false)));
    fail::remove("files.mid");
    scenario.teardown();
    assert!(crashed.is_err());
    // Tear the last record in the middle of its JSON.
    let journal = run_dirs(&s.host)[0].join("journal.jsonl");
    let text = s.host.read_string(&journal).unwrap().unwrap();
    let last_start = text.trim_end().rfind('\n').unwrap() + 1;
    let cut = last_start + (text.len() - last_start) / 2;
    s.host
        .write_atomic(&journal, &text.as_bytes()[..cut], Meta::root(0o600))
        .unwrap();

    let mut rec = Recorder::default();
    let reports = Engine::new(&s.host, &mut rec, yes()).recover().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].restored_steps, vec!["files".to_string()]);
    assert!(reports[0].problems.is_empty(), "{:?}", reports[0].problems);
    assert_eq!(tree(&s.host), before);
    // Repaired: the torn bytes set aside, every line whole again, the recovery recorded.
    assert!(s.host.exists(&journal.with_file_name("journal.torn")));
    let repaired = s.host.read_string(&journal).unwrap().unwrap();
    assert!(repaired.ends_with('\n'));
    assert!(repaired
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    assert!(repaired.contains("interrupted; recovered"), "{repaired}");

    // A newer run changes the same files.
    let (r, _) = run(&s, true, false);
    assert_eq!(r.outcome, Outcome::Done);
    let after = tree(&s.host);
    assert_eq!(
        s.host
            .read_string("/etc/app/existing.conf".as_ref())
            .unwrap()
            .unwrap(),
        "new = 2\n"
    );

    // The next start finds nothing to recover and leaves the newer run's files alone.
    let mut rec = Recorder::default();
    let again = Engine::new(&s.host, &mut rec, yes()).recover().unwrap();
    assert!(again.is_empty(), "recovered again: {again:?}");
    assert_eq!(tree(&s.host), after, "recovery restored over a newer run");
}

/// `rollback` applies the drift guard of a run: a path changed since the run made it is
/// named and asked about; with --yes it is refused (nothing changes) unless --force.
#[test]
fn rollback_refuses_to_discard_changes_made_since_the_run() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    let (r, _) = run(&s, true, false);
    assert_eq!(r.outcome, Outcome::Done);
    // A certificate renewed, a file edited: after the run.
    s.host
        .add_file("/etc/app/new.conf", "renewed since\n", Meta::root(0o640));
    let edited = s.host.dump();

    let mut rec = Recorder::default();
    let err = Engine::new(&s.host, &mut rec, yes())
        .rollback_run(None, false)
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("/etc/app/new.conf") && msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(
        s.host.dump(),
        edited,
        "a refused rollback changed something"
    );

    // Asked and declined: the same.
    let mut rec = Recorder {
        answer: false,
        ..Recorder::default()
    };
    assert!(Engine::new(&s.host, &mut rec, Options::default())
        .rollback_run(None, false)
        .is_err());
    assert!(
        rec.questions
            .iter()
            .any(|q| q.contains("/etc/app/new.conf")),
        "{:?}",
        rec.questions
    );
    assert_eq!(s.host.dump(), edited);

    // --yes --force: rolled back.
    let mut rec = Recorder::default();
    let force = Options {
        yes: true,
        force: true,
        ..Options::default()
    };
    let rb = Engine::new(&s.host, &mut rec, force)
        .rollback_run(None, false)
        .unwrap();
    assert!(rb.problems.is_empty(), "{:?}", rb.problems);
    assert_eq!(tree(&s.host), before);
    // Restoring files does not undo what commands did to live state: the report names them.
    assert!(
        rb.by_hand
            .iter()
            .any(|c| c.contains("`generate /etc/app/generated`")),
        "{:?}",
        rb.by_hand
    );
}

/// Plans fine, then refuses when the run reaches it (a file edited by hand meanwhile).
struct RefusesLate {
    calls: std::sync::atomic::AtomicUsize,
}
impl Step<Answers> for RefusesLate {
    fn name(&self) -> &'static str {
        "refuses-late"
    }
    fn about(&self) -> &'static str {
        "refuses at apply time"
    }
    fn plan(&self, _: &Ctx<Answers>) -> Result<Planned> {
        if self.calls.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(
                mailstead_engine::Refusal::new(vec!["edited by hand meanwhile".into()]).into(),
            );
        }
        Ok(vec![Change::write("/etc/app/late", "x\n", Perms::root(0o644))].into())
    }
}

/// All or nothing (add-*): a step refusing half-way leaves nothing of the run behind.
#[test]
fn atomic_run_refused_half_way_keeps_nothing() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    let late = RefusesLate {
        calls: Default::default(),
    };
    let steps: Vec<&dyn Step<Answers>> = vec![&Files, &late];
    let mut rec = Recorder::default();
    let opts = Options {
        atomic: true,
        ..yes()
    };
    let r = Engine::new(&s.host, &mut rec, opts)
        .apply(&steps, NO_CHECKS, &answers())
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Refused(_)), "{:?}", r.outcome);
    assert_eq!(tree(&s.host), before);
}

/// A host whose disk fills up when the `generate` command fails: journal appends fail.
struct DiskFull<'h> {
    inner: &'h MemHost<'static>,
    full: AtomicBool,
}
impl Host for DiskFull<'_> {
    fn root(&self) -> &std::path::Path {
        self.inner.root()
    }
    fn stat(&self, p: &std::path::Path) -> std::io::Result<Option<mailstead_engine::host::Stat>> {
        self.inner.stat(p)
    }
    fn read(&self, p: &std::path::Path) -> std::io::Result<Option<Vec<u8>>> {
        self.inner.read(p)
    }
    fn read_link(&self, p: &std::path::Path) -> std::io::Result<PathBuf> {
        self.inner.read_link(p)
    }
    fn list_dir(&self, p: &std::path::Path) -> std::io::Result<Vec<String>> {
        self.inner.list_dir(p)
    }
    fn write_atomic(&self, p: &std::path::Path, c: &[u8], m: Meta) -> std::io::Result<()> {
        self.inner.write_atomic(p, c, m)
    }
    fn append_sync(&self, p: &std::path::Path, c: &[u8]) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) && p.ends_with("journal.jsonl") {
            return Err(std::io::Error::other("no space left on device"));
        }
        self.inner.append_sync(p, c)
    }
    fn create_dir(&self, p: &std::path::Path, m: Meta) -> std::io::Result<()> {
        self.inner.create_dir(p, m)
    }
    fn symlink(
        &self,
        t: &std::path::Path,
        p: &std::path::Path,
        u: u32,
        g: u32,
    ) -> std::io::Result<()> {
        self.inner.symlink(t, p, u, g)
    }
    fn set_meta(&self, p: &std::path::Path, m: Meta) -> std::io::Result<()> {
        self.inner.set_meta(p, m)
    }
    fn remove(&self, p: &std::path::Path) -> std::io::Result<()> {
        self.inner.remove(p)
    }
    fn run(&self, cmd: &Cmd) -> std::io::Result<Output> {
        let out = self.inner.run(cmd)?;
        if cmd.program == "generate" && !out.success() {
            self.full.store(true, Ordering::SeqCst);
        }
        Ok(out)
    }
    fn lock(
        &self,
        p: &std::path::Path,
    ) -> std::io::Result<Box<dyn mailstead_engine::host::LockGuard>> {
        self.inner.lock(p)
    }
}

/// The journal cannot be written when a step fails (disk full): the step is still rolled
/// back, and the outcome names the problem (the "needs hand care" exit), never a clean
/// "rolled back".
#[test]
fn journal_write_failing_with_the_step_still_rolls_back_and_says_so() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    s.fail_cmd.store(true, Ordering::SeqCst);
    let host = DiskFull {
        inner: &s.host,
        full: AtomicBool::new(false),
    };
    let files = Files;
    let command = Command {
        fail: s.fail_cmd.clone(),
    };
    let steps: Vec<&dyn Step<Answers>> = vec![&files, &command];
    let mut rec = Recorder::default();
    let r = Engine::new(&host, &mut rec, yes())
        .apply(&steps, NO_CHECKS, &answers())
        .expect("a full disk must not skip the rollback");
    match &r.outcome {
        Outcome::Failed { step, problems, .. } => {
            assert_eq!(step, "command");
            assert!(
                problems.iter().any(|p| p.contains("no space left")),
                "{problems:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The failed step is undone; the step before it stays applied.
    assert!(!s.host.exists("/etc/app/before-command".as_ref()));
    assert!(s.host.exists("/etc/app/new.conf".as_ref()));
    assert_ne!(tree(&s.host), before);
}

/// A run directory without a journal is no run: rollback and recovery pass it by.
#[test]
fn run_dir_without_journal_breaks_nothing() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    let (r, _) = run(&s, true, false);
    assert_eq!(r.outcome, Outcome::Done);
    // Newer than the run, by time and by a wider pid.
    s.host
        .create_dir_all(
            "/var/lib/mailstead/runs/29991231T235959Z-1234567".as_ref(),
            Meta::root(0o700),
        )
        .unwrap();
    let mut rec = Recorder::default();
    assert!(Engine::new(&s.host, &mut rec, yes())
        .recover()
        .unwrap()
        .is_empty());
    let rb = Engine::new(&s.host, &mut rec, yes())
        .rollback_run(None, false)
        .unwrap();
    assert_eq!(rb.id, r.id);
    assert_eq!(tree(&s.host), before);
}

/// Enables a firewall (live state no file restores) and writes a file; its inverse runs on
/// rollback, before the files are restored, and only for commands that finished.
struct LiveState;
impl Step<Answers> for LiveState {
    fn name(&self) -> &'static str {
        "live"
    }
    fn about(&self) -> &'static str {
        "changes running state"
    }
    fn plan(&self, _: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![
            Change::run(
                "enable the firewall",
                Cmd::new("fw", ["enable"]).undo(Cmd::new("fw", ["disable"])),
                &[],
            ),
            Change::write("/etc/live.conf", "on\n", Perms::root(0o644)),
        ]
        .into())
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn rollback_runs_the_inverse_of_finished_commands() {
    let scenario = fail::FailScenario::setup();
    let s = setup();
    s.host
        .on_command(|c: &Cmd| (c.program == "fw").then(Output::default));
    fail::cfg("live.after", "return").unwrap();
    let mut rec = Recorder::default();
    let r = Engine::new(&s.host, &mut rec, yes())
        .apply(&[&LiveState], NO_CHECKS, &answers())
        .unwrap();
    fail::remove("live.after");
    scenario.teardown();
    assert!(
        matches!(r.outcome, Outcome::Failed { ref problems, .. } if problems.is_empty()),
        "{:?}",
        r.outcome
    );
    let ran: Vec<String> = s
        .host
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("fw"))
        .collect();
    assert_eq!(ran, ["fw enable", "fw disable"]);
    assert!(
        !s.host.exists("/etc/live.conf".as_ref()),
        "the file is restored too"
    );
}

/// A step with nothing to change that warns about something outside its reach.
struct WarnsOnly;
impl Step<Answers> for WarnsOnly {
    fn name(&self) -> &'static str {
        "warns-only"
    }
    fn about(&self) -> &'static str {
        "nothing to change, one warning, one info"
    }
    fn plan(&self, _: &Ctx<Answers>) -> Result<Planned> {
        Ok(Planned::default()
            .note(mailstead_engine::Note::warning(
                "the outside world is not ready",
            ))
            .note(mailstead_engine::Note::info("just progress")))
    }
}

/// With nothing to change, a step's warnings still reach the admin (its infos do not), and
/// nothing is recorded.
#[test]
fn nothing_to_do_still_shows_warnings() {
    let _serial = fail::FailScenario::setup();
    let h = MemHost::fake();
    let before = tree(&h);
    let mut rec = Recorder::default();
    let r = Engine::new(&h, &mut rec, yes())
        .apply(&[&WarnsOnly], NO_CHECKS, &answers())
        .unwrap();
    assert_eq!(r.outcome, Outcome::NothingToDo);
    let notes: Vec<String> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            mailstead_engine::Event::Note { step, text, .. } => Some(format!("{step}: {text}")),
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["warns-only: the outside world is not ready"]);
    assert_eq!(tree(&h), before);
}

/// A step writing a data file (no reload), or its configuration too (a reload).
struct Data {
    conf: &'static str,
}
impl Step<Answers> for Data {
    fn name(&self) -> &'static str {
        "data"
    }
    fn about(&self) -> &'static str {
        "writes a map, reloads for its configuration"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![
            Change::write("/etc/app/app.conf", self.conf, Perms::root(0o644)),
            Change::write("/etc/app/users.map", "alice 1\n", Perms::root(0o644)),
            Change::reload_after("app", &["/etc/app/app.conf"]),
        ]
        .into())
    }
}

/// Counts its runs; `reload`: what it proves changes only with a reload.
struct Counted {
    name: &'static str,
    reload: bool,
    runs: std::sync::atomic::AtomicUsize,
}
impl Check<Answers> for Counted {
    fn name(&self) -> &'static str {
        self.name
    }
    fn run(&self, _ctx: &Ctx<Answers>) -> mailstead_engine::Finding {
        self.runs.fetch_add(1, Ordering::SeqCst);
        mailstead_engine::Finding::pass("fine")
    }
    fn only_after_reload(&self) -> bool {
        self.reload
    }
}

/// A run that reloads nothing (a map changed) runs only the checks of data; one that reloads
/// runs every check. And a map change alone reloads nothing.
#[test]
fn a_data_only_run_reloads_nothing_and_skips_the_configuration_checks() {
    let _serial = fail::FailScenario::setup();
    let h = server();
    h.add_file("/etc/app/app.conf", "v = 1\n", Meta::root(0o644));
    let data = Counted {
        name: "data",
        reload: false,
        runs: Default::default(),
    };
    let conf = Counted {
        name: "conf",
        reload: true,
        runs: Default::default(),
    };
    let checks: Vec<&dyn Check<Answers>> = vec![&data, &conf];
    let runs = |c: &Counted| c.runs.load(Ordering::SeqCst);
    let step = Data { conf: "v = 1\n" };
    let steps: Vec<&dyn Step<Answers>> = vec![&step];
    let mut rec = Recorder::default();
    let r = Engine::new(&h, &mut rec, yes())
        .apply(&steps, &checks, &answers())
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert!(
        !h.commands().iter().any(|c| c.contains("reload")),
        "{:?}",
        h.commands()
    );
    assert_eq!((runs(&data), runs(&conf)), (1, 0));
    assert_eq!(r.findings.len(), 1);
    let step = Data { conf: "v = 2\n" };
    let steps: Vec<&dyn Step<Answers>> = vec![&step];
    let r = Engine::new(&h, &mut rec, yes())
        .apply(&steps, &checks, &answers())
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert!(
        h.commands()
            .iter()
            .any(|c| c.contains("reload-or-restart app")),
        "{:?}",
        h.commands()
    );
    assert_eq!((runs(&data), runs(&conf)), (2, 1));
}

/// A postmap-like command (its whole effect: the `.db` it declares) and a firewall-enable-like
/// one with no inverse.
struct MapAndFirewall;
impl Step<Answers> for MapAndFirewall {
    fn name(&self) -> &'static str {
        "map-and-firewall"
    }
    fn about(&self) -> &'static str {
        "builds a map, enables a firewall"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![
            Change::write("/etc/app/map", "a b\n", Perms::root(0o644)),
            Change::run(
                "postmap /etc/app/map",
                Cmd::new("postmap", ["hash:/etc/app/map"]).files_only(),
                &["/etc/app/map.db"],
            ),
            Change::run(
                "enable firewall",
                Cmd::new("ufw", ["--force", "enable"]),
                &[],
            ),
        ]
        .into())
    }
}

#[test]
fn check_by_hand_lists_only_commands_restoring_files_does_not_undo() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    s.host.on_command(|c: &Cmd| {
        matches!(c.program.as_str(), "postmap" | "ufw").then(Output::default)
    });
    let before = tree(&s.host);
    let step = MapAndFirewall;
    let steps: Vec<&dyn Step<Answers>> = vec![&step];
    let r = Engine::new(&s.host, &mut Recorder::default(), yes())
        .apply(&steps, NO_CHECKS, &answers())
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    let rb = Engine::new(&s.host, &mut Recorder::default(), yes())
        .rollback_run(None, false)
        .unwrap();
    assert!(rb.problems.is_empty(), "{:?}", rb.problems);
    assert_eq!(tree(&s.host), before);
    assert!(
        !rb.by_hand.iter().any(|c| c.contains("postmap")),
        "postmap's .db was restored, yet it is listed to check by hand: {:?}",
        rb.by_hand
    );
    assert_eq!(
        rb.by_hand,
        ["enable firewall: `ufw --force enable`".to_string()],
        "the firewall enabled is still listed"
    );
}

#[test]
fn rollback_shows_the_run_and_asks_before_changing_anything() {
    let _serial = fail::FailScenario::setup();
    let s = setup();
    let before = tree(&s.host);
    let (r, _) = run(&s, true, false);
    assert_eq!(r.outcome, Outcome::Done);
    let after = s.host.dump();
    let id = r.id.clone().unwrap();

    // Declined: nothing changed, and the question named the run, its command and changes.
    struct Asked(Vec<(String, String)>, bool);
    impl mailstead_engine::Observer for Asked {
        fn event(&mut self, _: &mailstead_engine::event::Event) {}
        fn confirm(&mut self, q: &str, detail: &str) -> bool {
            self.0.push((q.to_string(), detail.to_string()));
            self.1
        }
    }
    let mut no = Asked(Vec::new(), false);
    let err = Engine::new(&s.host, &mut no, Options::default())
        .rollback_run(None, false)
        .unwrap_err();
    assert!(format!("{err:#}").contains("not confirmed"), "{err:#}");
    assert_eq!(
        s.host.dump(),
        after,
        "a declined rollback changed something"
    );
    let [(q, detail)] = &no.0[..] else {
        panic!("asked {:?}", no.0)
    };
    assert!(q.contains(&id.0), "{q}");
    assert!(detail.contains("changes to undo"), "{detail}");
    assert!(detail.contains("write /etc/app/new.conf"), "{detail}");

    // Answered yes: rolled back.
    let mut yes_please = Asked(Vec::new(), true);
    let rb = Engine::new(&s.host, &mut yes_please, Options::default())
        .rollback_run(None, false)
        .unwrap();
    assert!(rb.problems.is_empty(), "{:?}", rb.problems);
    assert_eq!(tree(&s.host), before);
}
