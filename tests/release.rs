//! The one-line install on booted Debian servers (the bed: bed/README.md): a release tree
//! served over HTTP from the host end, and inside a fresh bed
//! `curl -fsSL http://HOST:PORT/install.sh | sh` on a terminal (tmux inside the bed) installs
//! mailstead and starts the wizard, whose screens are captured. Before that, with no terminal
//! the script prints the unattended command, exits non-zero and changes nothing (/etc
//! identical, no binary), and a tampered binary is refused with both sums shown and nothing
//! installed (both through wget, the bed having no curl yet: the script uses either). Last,
//! the same bed is installed through the whole wizard (tmux send-keys), gets mail from outside
//! and serves it over IMAPS; the benchmark line says how long that took the machine.
//!
//! The tree: `$MAILSTEAD_RELEASE_TREE` when set (one made by `dist/release`, the real release
//! build), else one made here by `dist/release --binary $MAILSTEAD_BIN` (see bed/src/bed.rs).
//! Root only, Linux namespaces; run explicitly:
//! `cargo test -p mailstead --test release -- --ignored --test-threads=1 --nocapture`
use mailstead_bed as bed;

use bed::{mailstead_bin, Bed};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORT: u16 = 8047;
const ANSWERS: &str = "/etc/mailstead/mailstead.yaml";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The release tree to serve: `good/` as built, `bad/` the same with the binary altered after
/// its .sha256 was written.
fn trees(into: &Path) -> PathBuf {
    let good = into.join("good");
    match std::env::var_os("MAILSTEAD_RELEASE_TREE") {
        Some(t) => {
            let r = Command::new("cp")
                .arg("-R")
                .arg(&t)
                .arg(&good)
                .status()
                .unwrap();
            assert!(r.success(), "copy of {t:?}");
        }
        None => {
            let out = Command::new(repo().join("dist/release"))
                .arg("--out")
                .arg(&good)
                .arg("--binary")
                .arg(mailstead_bin())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "dist/release --binary: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let bad = into.join("bad");
    assert!(Command::new("cp")
        .arg("-R")
        .arg(&good)
        .arg(&bad)
        .status()
        .unwrap()
        .success());
    let bin = bad.join("latest/mailstead-x86_64-linux");
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes.extend_from_slice(b"\0tampered");
    std::fs::write(&bin, bytes).unwrap();
    good
}

/// `/usr/bin/python3 -m http.server` on the bed's host end; killed on drop.
struct Server(Child);

impl Server {
    fn start(host_ip: &str, dir: &Path) -> Server {
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "http.server", "--bind", host_ip, &PORT.to_string()])
            .arg("--directory")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server");
        let t0 = Instant::now();
        while std::net::TcpStream::connect((host_ip, PORT)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "http.server not up on {host_ip}:{PORT}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The tmux pane's screen, as text.
fn screen(bed: &Bed) -> String {
    bed.exec(&["tmux", "capture-pane", "-p", "-t", "inst"])
        .stdout
}

/// Waits (up to `secs`) for `want` on the tmux screen; returns the screen.
fn wait_screen(bed: &Bed, want: &str, secs: u64) -> String {
    let t0 = Instant::now();
    loop {
        let s = screen(bed);
        if s.contains(want) {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{}: no {want:?} on the screen after {secs} s:\n{s}",
            bed.release
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn absent(bed: &Bed, paths: &[&str]) {
    for p in paths {
        let r = bed.exec(&["test", "-e", p]);
        assert!(
            !r.ok(),
            "{}: {p} exists, but nothing was to be installed",
            bed.release
        );
    }
}

/// Starts `command` in a detached tmux session `inst` inside the bed, on a `cols`x40 terminal
/// (`TERM=xterm-256color`, plus `env` such as `LANG=C.UTF-8`), keeping the pane for 15 minutes
/// after it ends so its last screen can still be read; `EXIT=N` shows its exit code.
fn tmux_session(bed: &Bed, env: &[&str], cols: u16, command: &str) {
    let cols = cols.to_string();
    let run = format!("{command}; echo \"EXIT=$?\"; sleep 900");
    let mut argv = vec!["env", "TERM=xterm-256color"];
    argv.extend_from_slice(env);
    argv.extend_from_slice(&[
        "tmux",
        "new-session",
        "-d",
        "-s",
        "inst",
        "-x",
        &cols,
        "-y",
        "40",
        &run,
    ]);
    let r = bed.exec(&argv);
    assert!(r.ok(), "{}: tmux: {}", bed.release, r.text());
}

fn one_liner(release: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let good = trees(tmp.path());
    let sum = std::fs::read_to_string(good.join("latest/mailstead-x86_64-linux.sha256")).unwrap();
    let sum = sum.split_whitespace().next().unwrap().to_string();
    let bad_sum = sha256_file(&tmp.path().join("bad/latest/mailstead-x86_64-linux"));

    let bed = Bed::up(&format!("release-{release}"), release);
    let _server = Server::start(&bed.host_ip, tmp.path());
    let base = format!("http://{}:{PORT}", bed.host_ip);
    // Test setup: tmux for a terminal, wget to download with (no curl yet). The base root has
    // neither (debootstrap minbase + ca-certificates).
    let apt = bed.sh(
        "export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && \
         apt-get install -y -q --no-install-recommends tmux wget >/tmp/apt.log 2>&1 || \
         { tail -n 30 /tmp/apt.log; exit 1; }",
    );
    assert!(apt.ok(), "{release}: apt setup: {}", apt.text());
    assert!(!bed.exec(&["sh", "-c", "command -v curl"]).ok());
    let installed = [
        "/usr/local/sbin/mailstead",
        "/usr/share/man/man1/mailstead.1",
        "/usr/share/bash-completion/completions/mailstead",
    ];
    let before = bed.etc_snapshot();

    // No terminal (stdout a pipe, no controlling terminal): the unattended command, exit 1.
    let r = bed.sh(&format!(
        "wget -qO- {base}/good/install.sh | MAILSTEAD_BASE_URL={base}/good sh"
    ));
    eprintln!("{release}: no terminal:\n{}", r.text());
    assert_eq!(r.code, 1, "{release}: no terminal: {}", r.text());
    assert!(
        r.stderr.contains(&format!(
            "curl -fsSL {base}/good/install.sh | MAILSTEAD_BASE_URL={base}/good sh -s -- install --config {ANSWERS} --yes"
        )),
        "{release}: the unattended command is not shown: {}",
        r.text()
    );
    assert!(
        r.stderr.contains("nothing was installed or changed"),
        "{}",
        r.text()
    );
    absent(&bed, &installed);
    before.assert_same(&bed.etc_snapshot(), "install.sh with no terminal");

    // Not root, or not Debian 12/13: refused before any download, even with `--no-run`
    // (which would otherwise install). Another OS is faked with a bind mount over
    // os-release in a mount namespace of its own.
    let r = bed.sh(&format!(
        "wget -qO- {base}/good/install.sh | setpriv --reuid=nobody --regid=nogroup --clear-groups \
         env MAILSTEAD_BASE_URL={base}/good sh -s -- --no-run"
    ));
    assert_eq!(r.code, 1, "{release}: as nobody: {}", r.text());
    assert!(r.stderr.contains("run as root"), "{}", r.text());
    let r = bed.sh(&format!(
        "printf 'ID=ubuntu\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"Ubuntu 24.04 LTS\"\n' >/root/os-release && \
         unshare -m sh -c 'mount --bind /root/os-release /etc/os-release && \
         wget -qO- {base}/good/install.sh | MAILSTEAD_BASE_URL={base}/good sh -s -- --no-run'; \
         rc=$?; rm -f /root/os-release; exit $rc"
    ));
    assert_eq!(r.code, 1, "{release}: on another OS: {}", r.text());
    assert!(
        r.stderr.contains(
            "supports Debian 12 (bookworm) and Debian 13 (trixie); this is Ubuntu 24.04 LTS"
        ),
        "{}",
        r.text()
    );
    absent(&bed, &installed);

    // A tampered binary (unattended form, so it gets as far as the download): both sums, exit 1.
    let r = bed.sh(&format!(
        "wget -qO- {base}/bad/install.sh | MAILSTEAD_BASE_URL={base}/bad sh -s -- install --config {ANSWERS} --yes"
    ));
    eprintln!("{release}: tampered binary:\n{}", r.text());
    assert_eq!(r.code, 1, "{release}: tampered: {}", r.text());
    assert!(r.stdout.contains("(wget)"), "{}", r.text());
    assert!(r.stderr.contains("SHA-256 mismatch"), "{}", r.text());
    assert!(
        r.stderr.contains(&format!("expected {sum}")),
        "{}",
        r.text()
    );
    assert!(
        r.stderr.contains(&format!("got      {bad_sum}")),
        "{}",
        r.text()
    );
    assert!(r.stderr.contains("nothing was installed"), "{}", r.text());
    absent(&bed, &installed);
    before.assert_same(&bed.etc_snapshot(), "install.sh with a tampered binary");
    let leftovers = bed.sh_ok("ls /tmp | grep '^tmp\\.' || true");
    assert!(
        leftovers.trim().is_empty(),
        "temporary files left: {leftovers}"
    );

    // The one-liner on a terminal: curl, then the wizard.
    let apt = bed.sh(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl \
         >/tmp/apt.log 2>&1 || { tail -n 30 /tmp/apt.log; exit 1; }",
    );
    assert!(apt.ok(), "{release}: apt curl: {}", apt.text());
    let line = format!("curl -fsSL {base}/good/install.sh | MAILSTEAD_BASE_URL={base}/good sh");
    let t0 = Instant::now();
    tmux_session(&bed, &[], 120, &line);
    let s1 = wait_screen(&bed, "Server hostname:", 90);
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("{release}: screen 1, after {secs:.1} s (`{line}`):\n{s1}");
    assert!(s1.contains(&format!("SHA-256 verified: {sum}")), "{s1}");
    assert!(s1.contains("installed /usr/local/sbin/mailstead"), "{s1}");
    assert!(
        s1.contains("mail.example.test"),
        "{release}: hostname default: {s1}"
    );
    // Ctrl-U clears what was typed; Enter then takes the default hostname; the next question
    // appears.
    bed.exec(&["tmux", "send-keys", "-t", "inst", "junk"]);
    wait_screen(&bed, "(mail.example.test) junk", 20);
    bed.exec(&["tmux", "send-keys", "-t", "inst", "C-u"]);
    bed.exec(&["tmux", "send-keys", "-t", "inst", "Enter"]);
    let s2 = wait_screen(&bed, "First mail domain:", 20);
    eprintln!("{release}: screen 2 (after junk, Ctrl-U, Enter):\n{s2}");
    assert!(s2.contains("> Server hostname: mail.example.test"), "{s2}");
    assert!(s2.contains("example.test"), "{s2}");
    // Esc goes back one question: the hostname again, as answered.
    bed.exec(&["tmux", "send-keys", "-t", "inst", "Escape"]);
    let s3 = wait_screen(&bed, "First mail domain: <back>", 20);
    eprintln!("{release}: screen 3 (after Esc):\n{s3}");
    assert_eq!(s3.matches("Server hostname:").count(), 2, "{s3}");
    // Esc at the first question asks whether to quit; y quits: nothing changed, exit 2 (and
    // so does the pipeline).
    bed.exec(&["tmux", "send-keys", "-t", "inst", "Escape"]);
    wait_screen(&bed, "Quit the wizard?", 20);
    bed.exec(&["tmux", "send-keys", "-t", "inst", "y", "Enter"]);
    let s4 = wait_screen(&bed, "EXIT=", 20);
    eprintln!("{release}: screen 4 (after Esc, Esc, y):\n{s4}");
    assert!(s4.contains("nothing was changed"), "{s4}");
    assert!(s4.contains("EXIT=2"), "{s4}");
    bed.exec(&["tmux", "kill-server"]);

    // What it installed: the served binary, running, with completions and the man page.
    let got = bed.sh_ok("sha256sum /usr/local/sbin/mailstead");
    assert!(
        got.starts_with(&sum),
        "{release}: installed binary {got} is not {sum}"
    );
    let v = bed.sh_ok("/usr/local/sbin/mailstead --version; stat -c %a /usr/local/sbin/mailstead");
    eprintln!("{release}: {}", v.trim());
    assert!(v.contains("mailstead ") && v.ends_with("755\n"), "{v}");
    bed.sh_ok(&format!("test -s {}", installed[1..].join(" && test -s ")));

    // Again, unattended install only: upgraded in place, same file.
    let r = bed.sh(&format!("{line} -s -- --no-run"));
    assert!(r.ok(), "{release}: re-run: {}", r.text());
    assert!(
        r.stdout.contains("upgraded /usr/local/sbin/mailstead"),
        "{}",
        r.text()
    );
    let got = bed.sh_ok("sha256sum /usr/local/sbin/mailstead");
    assert!(got.starts_with(&sum), "{got}");
    bed.sh_ok("test ! -e /usr/local/sbin/mailstead.new");

    wizard_to_mail(&bed, &line);
}

/// On the installed server, `mailstead` on a terminal is the menu: "Add a domain" asks the
/// domain, then its first mailbox, applies both in one run and ends with that domain's DNS
/// records; mail to postmaster@ of the new domain reaches that mailbox over IMAPS.
fn menu_add_domain(bed: &Bed) {
    let release = &bed.release;
    tmux_session(bed, &["LANG=C.UTF-8"], 100, "/usr/local/sbin/mailstead");
    let menu = wait_screen(bed, "What would you like to do?", 30);
    eprintln!("{release}: the menu:\n{menu}");
    assert!(!menu.contains("Finish the installation"), "{menu}");
    assert!(
        menu.contains("> Add a domain (and its first mailbox)"),
        "{menu}"
    );
    keys(bed, &["Enter"]);
    wait_screen(bed, "Domain to add:", 30);
    keys(bed, &["example.org", "Enter"]);
    wait_screen(bed, "Mailbox address:", 30);
    keys(bed, &["bob", "Enter"]);
    wait_screen(bed, "Password for bob@example.org:", 30);
    keys(bed, &[bed::ALICE_PASSWORD, "Enter"]);
    wait_screen(bed, "Type it again:", 30);
    keys(bed, &[bed::ALICE_PASSWORD, "Enter"]);
    // As the install does: the change on one screen and the question; nothing before `y`.
    let ask = wait_screen(bed, " changes? ", 120);
    eprintln!("{release}: the menu's add-domain asks:\n{ask}");
    bed.sh_ok(&format!("! grep -q 'example.org' {ANSWERS}"));
    keys(bed, &["y", "Enter"]);
    // The run, its end block, which stays until Enter; then the menu again: its help line
    // shows only while it waits. Esc quits.
    let records = wait_screen(bed, "Press Enter to go back to the menu.", 300);
    assert!(
        records.contains("done: "),
        "{release}: the end scrolled away:\n{records}"
    );
    keys(bed, &["Enter"]);
    wait_screen(bed, "Esc to quit", 30);
    keys(bed, &["Escape"]);
    wait_screen(bed, "EXIT=", 30);
    let end = bed
        .exec(&["tmux", "capture-pane", "-p", "-S", "-2000", "-t", "inst"])
        .stdout;
    eprintln!("{release}: the menu's add-domain:\n{end}");
    bed.exec(&["tmux", "kill-server"]);
    for want in [
        "postmaster@example.org and abuse@example.org will go to bob@example.org",
        "done: ",
        "`mailstead dns example.org` prints them",
        "   example.org: ",
        "user name the full address (bob@example.org)",
        "EXIT=0",
    ] {
        assert!(
            end.contains(want),
            "{release}: no {want:?} after add-domain:\n{end}"
        );
    }
    assert!(!end.contains("done: 4 changes\nEXIT"), "{end}");
    bed.smtp_deliver("postmaster@example.org", "to-the-new-postmaster")
        .unwrap_or_else(|e| panic!("{release}: deliver to postmaster@example.org: {e}"));
    bed.imaps_fetch(
        "bob@example.org",
        bed::ALICE_PASSWORD,
        Some("to-the-new-postmaster"),
        30,
    )
    .unwrap_or_else(|e| panic!("{release}: bob reads postmaster@'s mail: {e}"));
}

/// `tmux send-keys` to the wizard's pane.
fn keys(bed: &Bed, keys: &[&str]) {
    let mut cmd = vec!["tmux", "send-keys", "-t", "inst"];
    cmd.extend_from_slice(keys);
    let r = bed.exec(&cmd);
    assert!(r.ok(), "send-keys {keys:?}: {}", r.text());
}

/// The one-liner again, the whole wizard answered through tmux (pebble as the ACME server), the
/// plan on one screen (d pages the diffs, q returns), y; then the end with what next; then mail
/// from outside on port 25, read back over IMAPS. The screens are printed. And the benchmark:
/// the machine's time from `curl … | sh` to a delivered and read message (what an unattended
/// run does; the time a person takes to answer is left out), next to apt-get install alone.
fn wizard_to_mail(bed: &Bed, line: &str) {
    let release = &bed.release;
    // The relay question comes only when outbound port 25 is blocked. On bookworm it is made
    // to look blocked (gmail.com's MX is an address where nothing listens on 25: refused);
    // on trixie nothing answers for the providers, so it cannot be told and is not asked.
    let blocked = release == "bookworm";
    if blocked {
        bed.dns(&[
            "mx-host=gmail.com,mx.gmail.test,5",
            &format!("address=/mx.gmail.test/{}", bed.host_ip),
        ]);
    }
    let t0 = Instant::now();
    tmux_session(bed, &["LANG=C.UTF-8"], 100, line);
    wait_screen(bed, "Server hostname:", 90);
    let to_first_screen = t0.elapsed().as_secs_f64();
    let answers: [(&str, &[&str]); 11] = [
        ("Server hostname:", &["Enter"]),
        ("First mail domain:", &["Enter"]),
        ("Admin email:", &["admin@example.test", "Enter"]),
        ("First mailbox:", &["alice", "Enter"]),
        (
            "Password for alice@example.test:",
            &[bed::ALICE_PASSWORD, "Enter"],
        ),
        ("Type it again:", &[bed::ALICE_PASSWORD, "Enter"]),
        ("SSH logins allowed for:", &["Enter"]),
        ("Turn on the firewall", &["Enter"]),
        ("Certificates from:", &["Down", "Down", "Enter"]),
        ("ACME directory URL:", &[bed.acme_url.as_str(), "Enter"]),
        ("CA bundle to trust", &["/root/pebble-ca.pem", "Enter"]),
    ];
    for (question, typed) in answers {
        wait_screen(bed, question, 30);
        keys(bed, typed);
    }
    if blocked {
        let s = wait_screen(bed, "relay host (smarthost)?", 30);
        eprintln!("{release}: outbound 25 blocked, the relay question:\n{s}");
        assert!(
            s.contains("Note: outbound port 25 looks blocked: could not connect to mx.gmail.test"),
            "{s}"
        );
        keys(bed, &["Enter"]);
    }
    let t_plan = Instant::now();
    let summary = wait_screen(bed, " changes? ", 120);
    let planning = t_plan.elapsed().as_secs_f64();
    eprintln!("{release}: the plan on one screen:\n{summary}");
    assert!(summary.contains("What this run does"), "{summary}");
    for row in ["install", "configure", "ports", "files"] {
        assert!(
            summary.contains(&format!("  {row} ")),
            "{release}: no {row} row:\n{summary}"
        );
    }
    assert!(
        summary.contains("993") && summary.contains("imaps"),
        "{summary}"
    );
    if !blocked {
        assert!(!summary.contains("relay host (smarthost)?"), "{summary}");
    }
    assert!(summary.contains("relay host:   none"), "{summary}");
    // The answers, the summary and the question fit one 40-row screen: the first line is there.
    assert!(summary.contains("Your answers:"), "{summary}");
    // d: every change as a diff, in the pager; q back to the question.
    keys(bed, &["d", "Enter"]);
    let paged = wait_screen(bed, "+++ b/usr/sbin/policy-rc.d", 30);
    eprintln!("{release}: d (the pager):\n{paged}");
    keys(bed, &["q"]);
    let again = wait_screen(bed, "What this run does", 30);
    assert!(again.contains(" changes? "), "{again}");
    keys(bed, &["y", "Enter"]);
    let t_run = Instant::now();
    wait_screen(bed, "EXIT=", 900);
    let run = t_run.elapsed().as_secs_f64();
    // The end block may be taller than the pane: the screen with its scrollback.
    let end = bed
        .exec(&["tmux", "capture-pane", "-p", "-S", "-60", "-t", "inst"])
        .stdout;
    eprintln!("{release}: the end of the run:\n{end}");
    assert!(end.contains("EXIT=0"), "{release}: the run failed:\n{end}");
    for want in [
        "done: ",
        "What next",
        "DNS: publish these records",
        "server mail.example.test, user name the full address (alice@example.test)",
        "IMAP, port 993",
        "port 587 with STARTTLS or 465",
        "log: /var/lib/mailstead/runs/",
    ] {
        assert!(
            end.contains(want),
            "{release}: no {want:?} at the end:\n{end}"
        );
    }
    bed.exec(&["tmux", "kill-server"]);
    // Mail from outside lands and is read back over IMAPS.
    let t_mail = Instant::now();
    bed.smtp_deliver("alice@example.test", "after-the-wizard")
        .unwrap_or_else(|e| panic!("{release}: deliver after the wizard: {e}"));
    bed.imaps_fetch(
        "alice@example.test",
        bed::ALICE_PASSWORD,
        Some("after-the-wizard"),
        30,
    )
    .unwrap_or_else(|e| panic!("{release}: read over IMAPS after the wizard: {e}"));
    let mail = t_mail.elapsed().as_secs_f64();
    // apt-get install alone, from the run's own log (`[  t s] [packages] start:/done: apt-get
    // install ...`).
    let log = bed.sh_ok("cat \"$(ls -d /var/lib/mailstead/runs/*/ | tail -n 1)log.txt\"");
    let at = |what: &str| -> Option<f64> {
        log.lines().find(|l| l.contains(what)).and_then(|l| {
            l.trim_start_matches('[')
                .split('s')
                .next()?
                .trim()
                .parse()
                .ok()
        })
    };
    let apt = match (
        at("[packages] start: apt-get install"),
        at("[packages] done: apt-get install"),
    ) {
        (Some(a), Some(b)) => format!("{:.1} s", b - a),
        _ => "not in the log".into(),
    };
    let total = to_first_screen + planning + run + mail;
    menu_add_domain(bed);
    println!(
        "bench {release}: curl | sh to a delivered and read message {total:.1} s of machine time \
         (download and start {to_first_screen:.1} s, planning {planning:.1} s, the run {run:.1} s, \
         deliver and read {mail:.1} s; typing the answers not counted); apt-get install alone {apt}"
    );
}

#[test]
#[ignore = "booted-Debian bed: root + namespaces; run with --ignored"]
fn one_liner_install_bookworm() {
    one_liner("bookworm");
}

#[test]
#[ignore = "booted-Debian bed: root + namespaces; run with --ignored"]
fn one_liner_install_trixie() {
    one_liner("trixie");
}
