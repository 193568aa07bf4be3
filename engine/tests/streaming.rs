//! What a running command prints reaches observers while it runs: output lines as
//! `Event::Output`, apt's status lines as `Event::Progress`, all between the change's start
//! and its end, and in the run's log.txt.
use color_eyre::eyre::Result;
use mailstead_engine::event::Recorder;
use mailstead_engine::journal::{list_runs, runs_dir};
use mailstead_engine::{
    Change, Cmd, Ctx, Engine, Event, Host, MemHost, Options, Output, Planned, RealHost, Secret,
    Step,
};
use std::path::PathBuf;
use std::time::Duration;

struct Answers;

struct Install;
impl Step<Answers> for Install {
    fn name(&self) -> &'static str {
        "packages"
    }
    fn about(&self) -> &'static str {
        "installs packages"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(Planned {
            changes: vec![
                Change::Install {
                    packages: vec!["adm-core".into()],
                    debconf: vec![],
                },
                Change::run(
                    "rebuild the aliases",
                    Cmd::new("newaliases", Vec::<String>::new()),
                    &[],
                ),
            ],
            ..Planned::default()
        })
    }
}

const APT: &str = "\
Reading package lists...
Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 777 (unattended-upgr)
dlstatus:1:0:Retrieving file 1 of 1
dlstatus:1:0:Retrieving file 1 of 1
Get:1 http://deb.debian.org/debian bookworm/main amd64 adm-core amd64 [3,347 kB]
pmstatus:adm-core:42.8571:Installing adm-core (amd64)
Setting up adm-core (1:2.3.19.1) ...
pmstatus:adm-core:100:Installed adm-core (amd64)
";

fn host() -> MemHost<'static> {
    let h = MemHost::fake();
    let installed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let i = installed.clone();
    h.on_command(move |c: &Cmd| {
        use std::sync::atomic::Ordering;
        match c.program.as_str() {
            "dpkg-query" => Some(Output {
                status: if i.load(Ordering::SeqCst) { 0 } else { 1 },
                stdout: if i.load(Ordering::SeqCst) {
                    "install ok installed".into()
                } else {
                    String::new()
                },
                stderr: String::new(),
            }),
            "apt-get" => {
                i.store(true, Ordering::SeqCst);
                Some(Output {
                    status: 0,
                    stdout: APT.into(),
                    stderr: String::new(),
                })
            }
            "newaliases" => Some(Output {
                status: 0,
                stdout: String::new(),
                stderr: "newaliases: warning: something\n".into(),
            }),
            _ => None,
        }
    });
    h
}

#[test]
fn command_output_and_apt_progress_are_events() {
    let h = host();
    let mut rec = Recorder::default();
    let opts = Options {
        yes: true,
        ..Options::default()
    };
    let report = Engine::new(&h, &mut rec, opts)
        .apply(&[&Install], &[], &Answers)
        .unwrap();
    assert_eq!(report.installed, vec!["adm-core".to_string()]);
    let seen: Vec<String> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ChangeStarted {
                summary, index, of, ..
            } => Some(format!("start {index}/{of} {summary}")),
            Event::Change { summary, .. } => Some(format!("end {summary}")),
            Event::Output { step, line } => Some(format!("{step}| {line}")),
            Event::Progress { percent, what, .. } => Some(format!("{percent:.0}% {what}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            "start 1/2 apt-get install adm-core",
            "packages| Reading package lists...",
            // Another apt holds the lock: said as progress too, so plain mode shows it.
            "packages| Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 777 (unattended-upgr)",
            "0% Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 777 (unattended-upgr)",
            "0% Retrieving file 1 of 1",
            "0% Retrieving file 1 of 1",
            "packages| Get:1 http://deb.debian.org/debian bookworm/main amd64 adm-core amd64 [3,347 kB]",
            "43% Installing adm-core (amd64)",
            "packages| Setting up adm-core (1:2.3.19.1) ...",
            "100% Installed adm-core (amd64)",
            "end apt-get install adm-core",
            "start 2/2 rebuild the aliases",
            "packages| newaliases: warning: something",
            "end rebuild the aliases",
        ]
    );
    // The run's log has the lines too.
    let state = PathBuf::from(mailstead_engine::journal::STATE_DIR);
    let id = list_runs(&h, &state).pop().unwrap();
    let log = h
        .read_string(&runs_dir(&state).join(&id.0).join("log.txt"))
        .unwrap()
        .unwrap();
    assert!(log.contains("[packages]   | Setting up adm-core"), "{log}");
    assert!(log.contains("[packages] 43% Installing adm-core"), "{log}");
    // apt said the same progress twice: the log says it once.
    assert_eq!(
        log.matches("[packages] 0% Retrieving file 1 of 1").count(),
        1,
        "{log}"
    );
}

#[test]
fn planning_streams_nothing() {
    let h = host();
    let mut rec = Recorder::default();
    let plan = Engine::new(&h, &mut rec, Options::default())
        .plan(&[&Install], &Answers)
        .unwrap();
    assert_eq!(plan.total(), 2);
    assert!(rec.events.is_empty(), "{:?}", rec.events);
    assert!(
        !h.commands().iter().any(|c| c.starts_with("apt-get")),
        "{:?}",
        h.commands()
    );
}

#[test]
fn memhost_replays_scripted_lines() {
    let h = host();
    let mut lines = Vec::new();
    let out = h
        .run_streaming(&Cmd::new("newaliases", Vec::<String>::new()), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
    assert_eq!(lines, vec!["newaliases: warning: something"]);
    assert!(out.success());
}

// RealHost against harmless shell one-liners (no mailstead action touches this machine).
fn sh(script: &str) -> Cmd {
    Cmd::new("sh", ["-c", script])
}

#[test]
fn real_host_streams_both_streams_in_order() {
    let host = RealHost::new("/");
    let mut lines = Vec::new();
    let out = host
        .run_streaming(
            &sh("echo one; echo two >&2; printf 'half\\rthree\\n'; echo; exit 3"),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
    assert_eq!(lines, vec!["one", "two", "three", ""]);
    assert_eq!(out.status, 3);
    // The whole output stays for error messages.
    assert!(out.tail(5).contains("two"), "{out:?}");
}

#[test]
fn real_host_streams_lines_as_they_come() {
    let host = RealHost::new("/");
    let start = std::time::Instant::now();
    let mut first = None;
    host.run_streaming(&sh("echo early; sleep 1; echo late"), &mut |l| {
        if l == "early" {
            first = Some(start.elapsed());
        }
    })
    .unwrap();
    // The first line arrived before the command ended (it sleeps a second after it).
    assert!(first.unwrap() < start.elapsed(), "{first:?}");
    assert!(first.unwrap() < Duration::from_millis(900), "{first:?}");
}

#[test]
fn real_host_streaming_keeps_stdin_and_timeout() {
    let host = RealHost::new("/");
    let mut lines = Vec::new();
    let out = host
        .run_streaming(
            &Cmd::new("cat", Vec::<String>::new()).stdin(Secret::new("s3cret\n")),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
    assert!(out.success());
    // What the command prints is passed as is (cat echoes; mailstead itself never does).
    assert_eq!(lines, vec!["s3cret"]);
    // Displayed commands never show stdin.
    assert!(!Cmd::new("cat", Vec::<String>::new())
        .stdin(Secret::new("s3cret"))
        .to_string()
        .contains("s3cret"));

    let mut lines = Vec::new();
    let out = host
        .run_streaming(
            &sh("echo started; exec sleep 30").timeout(Duration::from_millis(300)),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
    assert_eq!(lines, vec!["started"]);
    assert_eq!(out.status, -1);
    assert!(out.stderr.contains("timed out"), "{out:?}");
    assert!(out.stdout.contains("started"), "{out:?}");
}

#[test]
fn replay_gives_stdout_then_stderr() {
    // What the default `run_streaming` does after `run`.
    let h = MemHost::fake();
    h.on_command(|_| {
        Some(Output {
            status: 0,
            stdout: "a\nb\n".into(),
            stderr: "c\n".into(),
        })
    });
    let mut lines = Vec::new();
    mailstead_engine::host::replay(&h.run(&sh("x")).unwrap(), &mut |l| {
        lines.push(l.to_string())
    });
    assert_eq!(lines, vec!["a", "b", "c"]);
}

/// A status descriptor (apt's `APT::Status-Fd`) is a pipe of its own: its lines are streamed,
/// but they are not the command's output, and the output pipe is never shared with it (apt
/// makes it non-blocking, and maintainer scripts writing to it would fail).
#[test]
fn real_host_status_descriptor_is_its_own_pipe() {
    let host = RealHost::new("/");
    // fd 3 and fd 1 are different pipes: writing 256 KiB to stdout cannot block on fd 3.
    let cmd = sh("echo 'pmstatus:a:50:half' >&3; head -c 262144 /dev/zero | tr '\\0' x; echo; \
                  echo out; [ \"$(readlink /proc/self/fd/1)\" != \"$(readlink /proc/self/fd/3)\" ]; \
                  echo same=$? >&3")
    .status_fd(3);
    let mut lines = Vec::new();
    let out = host
        .run_streaming(&cmd, &mut |l: &str| lines.push(l.to_string()))
        .unwrap();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(lines.iter().any(|l| l == "pmstatus:a:50:half"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "same=0"),
        "fd 1 and fd 3 share a pipe: {lines:?}"
    );
    assert!(lines.iter().any(|l| l == "out"));
    assert!(
        !out.stdout.contains("pmstatus"),
        "status lines are not output"
    );
    // The plain run gives the status descriptor its pipe too (never one of mailstead's files).
    let out = host.run(&cmd).unwrap();
    assert_eq!(out.status, 0);
    assert!(out.stdout.contains("out"));
}

/// An attempt whose failure has a fallback: the step goes on to its next change, the run ends
/// done, and the explanation reaches observers as a warning (not the raw failure).
#[test]
fn a_tolerated_failure_is_a_warning_and_the_run_goes_on() {
    struct Attempt;
    impl Step<Answers> for Attempt {
        fn name(&self) -> &'static str {
            "tls"
        }
        fn about(&self) -> &'static str {
            "tries to get a certificate"
        }
        fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
            let explain: mailstead_engine::host::Explain =
                |out| format!("the CA said: {}", out.stderr.trim());
            Ok(Planned {
                changes: vec![
                    Change::run(
                        "ask the CA",
                        Cmd::new("issue", ["now"]).tolerate_failure(explain),
                        &[],
                    ),
                    Change::write("/etc/after", "x", mailstead_engine::Perms::root(0o644)),
                ],
                ..Planned::default()
            })
        }
    }
    let h = MemHost::fake();
    let root = mailstead_engine::Meta::root(0o644);
    h.add_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", root);
    h.add_file("/etc/group", "root:x:0:\n", root);
    h.on_command(|c: &Cmd| {
        (c.program == "issue").then(|| Output {
            status: 1,
            stdout: String::new(),
            stderr: "connection refused\n".into(),
        })
    });
    let mut rec = Recorder::default();
    let opts = Options {
        yes: true,
        ..Options::default()
    };
    let report = Engine::new(&h, &mut rec, opts)
        .apply(&[&Attempt], &[], &Answers)
        .unwrap();
    assert!(
        matches!(report.outcome, mailstead_engine::Outcome::Done),
        "{:?}",
        report.outcome
    );
    assert!(h.exists(std::path::Path::new("/etc/after")));
    let warned = rec.events.iter().any(|e| {
        matches!(e, Event::Note { level: mailstead_engine::Level::Warning, text, .. }
            if text == "the CA said: connection refused")
    });
    assert!(warned, "{:?}", rec.events);
}
