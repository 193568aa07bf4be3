//! `mailstead demo` as a user runs it: the real binary as a subprocess, as root, booting its
//! throwaway Debian server (the bed, trixie by default) on this machine.
//!
//! - `demo_yes_proves_the_server_and_leaves_nothing`: `mailstead demo --yes` ends with a
//!   delivered message, read back over IMAPS, and one submitted on 587 that arrives DKIM-signed
//!   (the demo's own lines), exit 0; afterwards the host has no new mounts, no veth link of the
//!   demo, no process of its bed (systemd, socat, pebble, dnsmasq, the receiver), no cgroup, no
//!   bed files or private script directory, and /etc and the firewall rules are as before.
//! - `ctrl_c_during_the_install_leaves_nothing`: SIGINT once the install inside is running
//!   apt-get: exit 4, says so, and the same "nothing left behind".
//! - `demo_wizard_with_enter_only_through_tee`: `mailstead demo | tee FILE` in tmux, every
//!   question of the wizard answered with Enter (the demo's presets), y for the plan: the
//!   same proof, no preflight warning the demo caused, the output in FILE.
//! - `refuses_where_it_cannot_run` (not booted, no root needed): as an unprivileged user it says
//!   why and what to do instead, exit 2, nothing touched.
//!
//! The booted ones are `#[ignore]` (root, namespaces, network for apt): `tests/run` runs them.
use mailstead_bed as bed;

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BED_NAME: &str = "mailstead-demo";
/// The host capabilities the demo needs: the same list the binary uses.
use bed::DEMO_CAPS as CAPS;

fn beds_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("MAILSTEAD_BED_DIR").unwrap_or("/var/tmp/mailstead-beds".into()))
}

/// What the host looks like, for "nothing left behind".
#[derive(Debug)]
struct HostState {
    mounts: BTreeSet<String>,
    links: BTreeSet<String>,
    etc: BTreeMap<String, String>,
    firewall: String,
    /// Listening sockets of the host (`ss -ltun`, local address and port) and, where systemd
    /// runs the host, its running services: the demo's socat, pebble and dnsmasq listen on
    /// the host end while it runs, and none of them, nor any service, may stay.
    services: BTreeSet<String>,
    temp_dirs: BTreeSet<String>,
}

fn sha256_file(p: &Path) -> String {
    match std::fs::read(p) {
        Ok(b) => format!("{:x}", Sha256::digest(&b)),
        Err(e) => format!("(unreadable: {})", e.kind()),
    }
}

/// Every entry under /etc: type, mode, owner, sha256 or link target.
fn etc_listing() -> BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::from("/etc")];
    while let Some(p) = stack.pop() {
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let ft = md.file_type();
        let what = if ft.is_symlink() {
            format!("l {}", std::fs::read_link(&p).unwrap_or_default().display())
        } else if ft.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
            "d".to_string()
        } else if ft.is_file() {
            format!("f {}", sha256_file(&p))
        } else {
            "o".to_string()
        };
        out.insert(
            p.display().to_string(),
            format!("{:o} {}:{} {what}", md.mode() & 0o7777, md.uid(), md.gid()),
        );
    }
    out
}

fn sh(script: &str) -> String {
    let o = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The host's firewall rules, counters left out (nft and iptables, where installed).
fn firewall_rules() -> String {
    sh("{ command -v nft >/dev/null && nft list ruleset; \
          command -v iptables-save >/dev/null && iptables-save; \
          command -v ip6tables-save >/dev/null && ip6tables-save; } 2>/dev/null \
        | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]//g'")
}

fn host_state() -> HostState {
    let tmp = std::env::temp_dir();
    HostState {
        mounts: std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
        links: sh("ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//'")
            .lines()
            .map(str::to_string)
            .collect(),
        etc: etc_listing(),
        firewall: firewall_rules(),
        services: sh("ss -H -ltun | awk '{print $1, $5}'; \
                      [ \"$(ps -p 1 -o comm=)\" = systemd ] && \
                      systemctl list-units --type=service --state=running --no-legend --plain \
                      | awk '{print $1}'; true")
        .lines()
        .map(str::to_string)
        .collect(),
        temp_dirs: std::fs::read_dir(&tmp)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("mailstead-demo-"))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Host processes that belong to the demo's bed: in its cgroup, or naming its directory or
/// its addresses (socat, pebble, dnsmasq, the receiver, the bed's unshare and systemd).
fn bed_processes(idx: Option<&str>) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cg = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let ours = cg.contains(&format!("mailstead-bed-{BED_NAME}"))
            || cmd.contains(&format!("mailstead-beds/{BED_NAME}"))
            || cmd.contains(&format!(" {BED_NAME} "))
            || idx.is_some_and(|i| cmd.contains(&format!("10.213.{i}.")));
        if ours {
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

fn bed_cgroups() -> Vec<String> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .map(|r| Path::new(r).join(format!("mailstead-bed-{BED_NAME}")))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect()
}

/// The host after the demo ended: nothing of it is left, and /etc and the firewall are as
/// they were. `idx` is N of the bed's 10.213.N.0/24 (from the demo's output).
fn assert_nothing_left(before: &HostState, idx: Option<&str>, what: &str) {
    // The bed's watcher and `bed down` may still be finishing for a moment after a kill.
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end
        && (beds_dir().join(BED_NAME).exists() || !bed_processes(idx).is_empty())
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let after = host_state();
    let mut problems = vec![];
    let new_mounts: Vec<&String> = after.mounts.difference(&before.mounts).collect();
    if !new_mounts.is_empty() {
        problems.push(format!("new mounts: {new_mounts:#?}"));
    }
    if let Some(i) = idx {
        if after.links.contains(&format!("msb{i}")) {
            problems.push(format!("the demo's veth link msb{i} is still there"));
        }
    }
    let procs = bed_processes(idx);
    if !procs.is_empty() {
        problems.push(format!("processes of the demo's bed: {procs:#?}"));
    }
    let cgs = bed_cgroups();
    if !cgs.is_empty() {
        problems.push(format!("cgroups: {cgs:?}"));
    }
    if beds_dir().join(BED_NAME).exists() {
        problems.push(format!(
            "bed files: {}",
            beds_dir().join(BED_NAME).display()
        ));
    }
    let new_tmp: Vec<&String> = after.temp_dirs.difference(&before.temp_dirs).collect();
    if !new_tmp.is_empty() {
        problems.push(format!("private script directories left: {new_tmp:?}"));
    }
    let mut etc = vec![];
    for (p, v) in &before.etc {
        match after.etc.get(p) {
            None => etc.push(format!("- {p}")),
            Some(w) if w != v => etc.push(format!("~ {p}: {v} -> {w}")),
            _ => {}
        }
    }
    for p in after.etc.keys().filter(|p| !before.etc.contains_key(*p)) {
        etc.push(format!("+ {p}"));
    }
    if !etc.is_empty() {
        problems.push(format!("host /etc changed:\n{}", etc.join("\n")));
    }
    if after.firewall != before.firewall {
        problems.push(format!(
            "host firewall rules changed:\n--- before\n{}\n--- after\n{}",
            before.firewall, after.firewall
        ));
    }
    // Other beds (other tests, other users of this machine) may listen on their own host ends
    // meanwhile: a new listener counts when it is on a bed address (the demo's, when known).
    let bed_addr = idx.map_or("10.213.".to_string(), |i| format!("10.213.{i}.1:"));
    let new_services: Vec<&String> = after
        .services
        .difference(&before.services)
        .filter(|l| !(l.starts_with("tcp ") || l.starts_with("udp ")) || l.contains(&bed_addr))
        .collect();
    if !new_services.is_empty() {
        problems.push(format!("new listeners or services: {new_services:?}"));
    }
    assert!(
        problems.is_empty(),
        "{what}: left behind on the host:\n{}",
        problems.join("\n")
    );
}

/// Root, namespaces, the demo's host tools installed (so package installs are not counted
/// as the demo's changes to /etc), no demo bed running; then the host as it is now.
fn prepare() -> HostState {
    bed::require_bed();
    let mut args = vec!["deps"];
    args.extend_from_slice(CAPS);
    let r = bed::bed_cmd(&args, &[], None);
    assert!(r.ok(), "bed deps:\n{}", r.text());
    assert!(
        !beds_dir().join(BED_NAME).exists(),
        "a demo bed already exists ({}); `mailstead demo down` first",
        beds_dir().join(BED_NAME).display()
    );
    let left = bed_processes(None);
    assert!(
        left.is_empty(),
        "processes of a demo bed before the test: {left:#?}"
    );
    host_state()
}

fn spawn_demo(args: &[&str]) -> Child {
    let bin = bed::mailstead_bin();
    assert!(
        bin.is_file(),
        "no mailstead binary at {} (MAILSTEAD_BIN)",
        bin.display()
    );
    Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mailstead demo")
}

/// N of 10.213.N.2 in "server up at 10.213.N.2".
fn bed_index(out: &str) -> Option<String> {
    let rest = out.split("server up at 10.213.").nth(1)?;
    Some(rest.split('.').next()?.to_string())
}

fn collect(r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(r).read_to_string(&mut s);
        s
    })
}

/// Waits up to `secs` for the child; kills it (the bed's watcher then cleans up) and panics
/// when it does not end.
fn wait_for(child: &mut Child, secs: u64, what: &str) -> i32 {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code().unwrap_or(-1);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: mailstead demo did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "boots a Debian server: root, namespaces, network (tests/run)"]
fn demo_yes_proves_the_server_and_leaves_nothing() {
    let before = prepare();
    let t0 = Instant::now();
    let mut child = spawn_demo(&["demo", "--yes"]);
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let code = wait_for(&mut child, 1200, "demo --yes");
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let text = format!("{out}\n--- stderr ---\n{err}");
    println!("{text}");
    println!(
        "mailstead demo --yes took {:.0} s in all",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(code, 0, "mailstead demo --yes failed:\n{text}");
    for line in [
        "delivered: a message to alice@example.test",
        "read over IMAPS: logged in to",
        "the message is in INBOX",
        "arrived at the test receiver",
        "DKIM verified: verified d=example.test s=",
        "mailstead check (inside the server, exit 0)",
        "demo done in",
    ] {
        assert!(
            out.contains(line),
            "the demo's output lacks {line:?}:\n{text}"
        );
    }
    // What the user reads of the server: the records to publish and the checks.
    assert!(out.contains("_dmarc.example.test"), "{text}");
    assert!(out.contains("✓ delivery"), "{text}");
    // --yes asks nothing; it says how to get a shell and whose password the file keeps.
    assert!(!text.contains("Open a shell"), "{text}");
    assert!(
        out.contains(" demo --keep` (the server stays), then `")
            && out.contains("the password of alice@example.test is in /root/demo-mailbox-password"),
        "{text}"
    );
    // Secrets stay out of the output.
    assert!(!out.contains("password: \""), "{text}");
    let idx = bed_index(&out);
    assert!(idx.is_some(), "no 'server up at' line:\n{text}");
    assert_nothing_left(&before, idx.as_deref(), "after mailstead demo --yes");
}

#[test]
#[ignore = "boots a Debian server: root, namespaces, network (tests/run)"]
fn ctrl_c_during_the_install_leaves_nothing() {
    let before = prepare();
    let mut child = spawn_demo(&["demo", "--yes"]);
    let pid = child.id() as i32;
    let err = collect(child.stderr.take().unwrap());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    // Until the install inside is running apt-get (the slow, interesting middle).
    let mut installing = false;
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        out.push_str(&line);
        out.push('\n');
        installing |= line.contains("installing the mail server inside");
        if installing && line.contains("apt-get install") {
            break;
        }
    }
    assert!(
        installing,
        "the demo ended before its install started:\n{out}"
    );
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let t = Instant::now();
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        for l in lines.map_while(Result::ok) {
            s.push_str(&l);
            s.push('\n');
        }
        s
    });
    let code = wait_for(&mut child, 120, "demo after SIGINT");
    out.push_str(&rest.join().unwrap());
    let err = err.join().unwrap();
    let text = format!("{out}\n--- stderr ---\n{err}");
    println!("{text}");
    println!("SIGINT to exit: {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(code, 4, "exit code after Ctrl-C:\n{text}");
    assert!(
        err.contains("Interrupted: the demo server was taken down"),
        "the demo does not say it was interrupted and cleaned up:\n{text}"
    );
    assert!(!out.contains("demo done in"), "{text}");
    assert_nothing_left(&before, bed_index(&out).as_deref(), "after Ctrl-C");
}

/// `tmux -L SOCKET ARGS`: its stdout.
fn tmux(socket: &str, args: &[&str]) -> String {
    let o = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The pane's text with its scrollback.
fn pane(socket: &str) -> String {
    tmux(
        socket,
        &["capture-pane", "-p", "-J", "-S", "-3000", "-t", "demo"],
    )
}

/// Waits up to `secs` until the pane shows one of `texts`: which one, and the screen.
fn wait_pane(socket: &str, texts: &[&str], secs: u64) -> (usize, String) {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = pane(socket);
        if let Some(i) = texts.iter().position(|t| s.contains(t)) {
            return (i, s);
        }
        assert!(
            Instant::now() < end,
            "waited {secs} s for {texts:?}; the pane:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `mailstead demo` without --yes, as a person runs it keeping a log: `mailstead demo | tee
/// FILE` in a terminal (tmux), so stdin is the terminal and stdout a pipe. Every question of
/// the wizard inside is answered with Enter alone (the demo's presets: the mailbox password
/// kept, pebble's URL and CA bundle), y confirms the plan, n declines the shell at the end: a
/// working server (delivered, read over IMAPS, DKIM verified), no preflight warning of DNS
/// checks that could not run, the output in FILE too (plain text: the wizard drew on the
/// terminal, not into the pipe), exit 0, nothing left behind.
#[test]
#[ignore = "boots a Debian server: root, namespaces, network (tests/run)"]
fn demo_wizard_with_enter_only_through_tee() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let before = prepare();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let socket = format!("mailstead-demo-test-{}", std::process::id());
    let line = format!(
        "{{ {} demo; echo DEMO_EXIT=$?; }} | tee {}; sleep 600",
        bed::mailstead_bin().display(),
        log.display()
    );
    let ok = Command::new("tmux")
        .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
        .args(["-x", "120", "-y", "40", "-s", "demo"])
        .args([
            "env",
            "TERM=xterm-256color",
            "LANG=C.UTF-8",
            "sh",
            "-c",
            &line,
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "tmux new-session failed");
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            tmux(&self.0, &["kill-server"]);
        }
    }
    let _kill = Kill(socket.clone());
    let keys = |k: &[&str]| {
        for key in k {
            tmux(&socket, &["send-keys", "-t", "demo", key]);
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let t0 = Instant::now();
    let questions: [(&str, &str); 10] = [
        ("Server hostname:", "(mail.example.test)"),
        ("First mail domain:", "(example.test)"),
        ("Admin email:", "(admin@example.test)"),
        ("First mailbox:", "(alice@example.test)"),
        ("Change the password of alice@example.test?", "(y/N)"),
        ("SSH logins allowed for:", "(root)"),
        ("Turn on the firewall", "(Y/n)"),
        ("Certificates from:", "> Another ACME server"),
        ("ACME directory URL:", ":14000/dir)"),
        ("CA bundle to trust", "(/root/pebble-ca.pem)"),
    ];
    for (i, (question, suggested)) in questions.into_iter().enumerate() {
        let secs = if i == 0 { 900 } else { 60 };
        let (_, s) = wait_pane(&socket, &[question, "DEMO_EXIT="], secs);
        assert!(!s.contains("DEMO_EXIT="), "the demo ended early:\n{s}");
        assert!(
            s.contains(suggested),
            "{question} without {suggested:?}:\n{s}"
        );
        keys(&["Enter"]);
    }
    let wizard = t0.elapsed().as_secs_f64();
    // The relay question only where outbound port 25 looks blocked: Enter (no) there too.
    let (which, s) = wait_pane(&socket, &[" changes? ", "relay host (smarthost)?"], 300);
    let s = if which == 1 {
        keys(&["Enter"]);
        wait_pane(&socket, &[" changes? "], 300).1
    } else {
        s
    };
    eprintln!("the plan:\n{s}");
    assert!(
        !s.contains("could not run") && !s.contains("could not be checked"),
        "a warning the demo caused itself (its DNS not answering):\n{s}"
    );
    keys(&["y", "Enter"]);
    let (which, s) = wait_pane(
        &socket,
        &["Open a shell inside the demo server?", "DEMO_EXIT="],
        1200,
    );
    if which == 0 {
        // Which mailboxes the password file is for: the answers' and the demo's own.
        assert!(
            s.contains("the password of alice@example.test and demo-check@example.test is in"),
            "{s}"
        );
        keys(&["n", "Enter"]);
    }
    let (_, s2) = wait_pane(&socket, &["DEMO_EXIT="], 300);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    println!(
        "--- the pane ---\n{s}\n{s2}\n--- {} ---\n{text}",
        log.display()
    );
    println!(
        "demo without --yes, Enter only: first question after {wizard:.0} s, all done in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(text.contains("DEMO_EXIT=0"), "the demo failed:\n{text}");
    for line in [
        "the wizard runs inside the server on this terminal",
        "read over IMAPS: logged in to",
        "the message is in INBOX",
        "DKIM verified: verified d=example.test s=",
        "mailstead check (inside the server, exit 0)",
        "demo done in",
    ] {
        assert!(
            text.contains(line),
            "{} lacks {line:?}:\n{text}",
            log.display()
        );
    }
    assert!(
        !text.contains("some DNS checks could not run"),
        "the preflight warned of DNS the demo did not serve:\n{text}"
    );
    assert!(
        !text.contains("no terminal"),
        "refused for stdout not a terminal:\n{text}"
    );
    // The wizard's screens went to the terminal, not through the pipe: the log is text a
    // person reads (no cursor moves, no colours), and says where the screens were.
    assert!(
        text.contains("mailstead install --defaults") && text.contains("runs on the terminal"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "terminal escape codes in {}:\n{text:?}",
        log.display()
    );
    drop(_kill);
    assert_nothing_left(&before, bed_index(&text).as_deref(), "after demo | tee");
}

/// Not root: says why and what to do instead, exit 2, touches nothing (no bed, no apt-get).
#[test]
fn refuses_where_it_cannot_run() {
    let bin = env!("CARGO_BIN_EXE_mailstead");
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let demo_bed = beds_dir().join(BED_NAME);
    let bed_before = demo_bed.exists();
    // A copy nobody can run, whatever the checkout's directory modes (e.g. under /root).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("mailstead");
    std::fs::copy(bin, &copy).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let copy = copy.to_str().unwrap();
    let out = if root {
        // As nobody, through util-linux setpriv (the machine runs the tests as root).
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                copy,
                "demo",
                "--yes",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("setpriv (util-linux)")
    } else {
        Command::new(bin)
            .args(["demo", "--yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mailstead demo cannot run here: not running as root"),
        "{stderr}"
    );
    // The fix names the path it was started by (issue: a bare `mailstead` is not on PATH).
    let started_by = if root { copy } else { bin };
    assert!(
        stderr.contains(&format!("fix: run it as root: `sudo {started_by} demo`")),
        "{stderr}"
    );
    assert!(stderr.contains("Nothing was changed."), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(bed_before, demo_bed.exists(), "a demo bed appeared or went");
}

/// Without --yes and with no terminal at all (a new session, stdin /dev/null): it says which
/// terminal is missing (stdin, /dev/tty; never stdout, which may be a pipe), both ways on,
/// exit 2, nothing touched.
#[test]
fn without_a_terminal_for_keys_it_says_which_is_missing() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root (the demo's first check)");
        return;
    }
    let demo_bed = beds_dir().join(BED_NAME);
    let bed_before = demo_bed.exists();
    let out = Command::new("setsid")
        .args(["--wait", env!("CARGO_BIN_EXE_mailstead"), "demo"])
        .stdin(Stdio::null())
        .output()
        .expect("setsid (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("mailstead demo cannot run here") {
        eprintln!("SKIPPED: this machine cannot run the demo:\n{stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "no terminal to read the wizard's keys from: stdin is not a terminal, and /dev/tty \
             cannot be opened"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("demo | tee demo.log") && stderr.contains("demo --yes"),
        "{stderr}"
    );
    assert!(stderr.contains("Nothing was changed."), "{stderr}");
    assert_eq!(bed_before, demo_bed.exists(), "a demo bed appeared or went");
}
