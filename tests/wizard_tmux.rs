//! The wizard and the menu as a person meets them: the real binary on `--root <temp tree>`
//! in a tmux pane, keys sent, the screen read (issue 21 items 3 and 4).
//!
//! Ignored by default (it needs tmux and root for the tree, and takes seconds):
//! `cargo test -p mailstead --test wizard_tmux -- --ignored`. Without tmux it says so and
//! passes; `apt-get install tmux` to run it. Never touches this machine: only the temp tree.

use mailstead_bed::sandbox::Tree;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mailstead");

/// One tmux server (its own socket) with one pane running a command; killed when dropped.
struct Pane {
    socket: String,
}

impl Pane {
    /// `None` (with a note) when tmux is missing.
    fn start(command: &str) -> Option<Pane> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed (apt-get install tmux)");
            return None;
        }
        // One server per pane: the tests of this file run side by side.
        static PANES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = PANES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("mailstead-test-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "160", "-y", "50", "-s", "t"])
            .args(["env", "TERM=xterm-256color", "sh", "-c", command])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Some(Pane { socket })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys as `tmux send-keys` names them (`Enter`, `Escape`, `C-u`), or literal text.
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "t", k]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
        std::thread::sleep(Duration::from_millis(150));
    }

    /// The pane's text, with the scrollback.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "t"])
    }

    /// Waits (10 s at most) until the screen shows `text`; the screen then.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "waited for {text:?}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// The command for the pane: mailstead on the tree, then its exit code on the screen, then
/// the pane stays for reading.
fn mailstead_in(t: &Tree) -> String {
    format!(
        "{} --root {} ; echo EXIT=$? ; sleep 60",
        env!("CARGO_BIN_EXE_mailstead"),
        t.root.display()
    )
}

/// No line of the screen starts with inquire's `#` error marker.
fn no_hash_errors(screen: &str) {
    for line in screen.lines() {
        assert!(!line.trim_start().starts_with('#'), "{line:?} in\n{screen}");
    }
}

/// "Add a domain" with a domain the server has: refused at that question, in a sentence,
/// asked again; a bad name hears all its problems at once; Esc goes back to the menu, which
/// stays until Esc there.
#[test]
#[ignore = "drives the binary in tmux; run with --ignored"]
fn the_menu_refuses_an_existing_domain_at_the_question_and_stays() {
    let Some(t) = Tree::new(BIN) else { return };
    let Some(p) = Pane::start(&mailstead_in(&t)) else {
        return;
    };
    p.wait_for("What would you like to do?");
    p.keys(&["Enter"]);
    p.wait_for("Domain to add:");
    p.type_text("example.test");
    p.keys(&["Enter"]);
    let s = p.wait_for("Domain example.test is already configured");
    assert!(!s.contains("Mailbox address"), "asked on:\n{s}");
    assert!(!s.contains("error:") && !s.contains("NAME:"), "{s}");
    p.keys(&["C-u"]);
    p.type_text("Other_1.Test");
    p.keys(&["Enter"]);
    let s = p.wait_for("has uppercase letters and contains '_'");
    assert!(s.contains("The domain \"Other_1.Test\""), "{s}");
    no_hash_errors(&s);
    p.keys(&["Escape"]);
    p.wait_for("Canceled; nothing was changed.");
    let s = p.screen();
    assert_eq!(
        s.matches("What would you like to do?").count(),
        2,
        "the menu again:\n{s}"
    );
    assert!(!s.contains("EXIT="), "left the menu:\n{s}");
    p.keys(&["Escape"]);
    p.wait_for("EXIT=0");
}

/// The wizard's first question: every problem of the host name at once, never behind `#`;
/// its suggestion, typed, is accepted (the next question comes).
#[test]
#[ignore = "drives the binary in tmux; run with --ignored"]
fn the_wizard_lists_all_problems_and_accepts_its_suggestion() {
    let Some(t) = Tree::new(BIN) else { return };
    std::fs::remove_file(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    let Some(p) = Pane::start(&mailstead_in(&t)) else {
        return;
    };
    p.wait_for("Server hostname:");
    p.keys(&["C-u"]);
    p.type_text("Mail_1.Example.test.");
    p.keys(&["Enter"]);
    let s = p.wait_for("ends with a dot");
    assert!(
        s.contains(
            "has uppercase letters, contains '_', which a host name cannot and ends with a dot"
        ) || s.contains("ends with a dot, has uppercase letters and contains '_'"),
        "{s}"
    );
    no_hash_errors(&s);
    p.keys(&["C-u"]);
    p.type_text("Mail.Example.test.");
    p.keys(&["Enter"]);
    let s = p.wait_for("write it as mail.example.test");
    no_hash_errors(&s);
    p.keys(&["C-u"]);
    p.type_text("mail.example.test");
    p.keys(&["Enter"]);
    p.wait_for("First mail domain:");
    p.keys(&["C-c"]);
    p.wait_for("EXIT=4");
}

/// `install --defaults FILE` (what `mailstead demo` passes its server): every question
/// suggests the file's answer, and Enter on each takes it, up to the summary (the mailbox
/// password kept, another ACME server with its URL and CA bundle). Without presets the CA
/// bundle question suggests nothing: no empty `()`.
#[test]
#[ignore = "drives the binary in tmux; run with --ignored"]
fn the_wizard_takes_its_presets_with_enter_and_suggests_no_empty_ca() {
    let Some(t) = Tree::new(BIN) else { return };
    std::fs::remove_file(t.path("etc/mailstead/mailstead.yaml")).unwrap();
    let presets = t.tmp.path().join("presets.yaml");
    std::fs::write(
        &presets,
        "hostname: mx.preset.test\nadmin_email: admin@preset.test\ndomains:\n  - name: preset.test\n    \
         mailboxes:\n      - address: bob@preset.test\n        password: \"a long preset password 42\"\n\
         acme:\n  server: https://acme.preset.test/dir\n  ca_bundle: /root/pebble-ca.pem\n\
         ssh:\n  allow_users: [root]\nfirewall:\n  enabled: true\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&presets, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let command = format!(
        "{BIN} --root {} install --defaults {} ; echo EXIT=$? ; sleep 60",
        t.root.display(),
        presets.display()
    );
    let Some(p) = Pane::start(&command) else {
        return;
    };
    for (question, suggested) in [
        ("Server hostname:", "(mx.preset.test)"),
        ("First mail domain:", "(preset.test)"),
        ("Admin email:", "(admin@preset.test)"),
        ("First mailbox:", "(bob@preset.test)"),
        ("Change the password of bob@preset.test?", "(y/N)"),
        ("SSH logins allowed for:", "(root)"),
        ("Turn on the firewall", "(Y/n)"),
        ("Certificates from:", "> Another ACME server"),
        ("ACME directory URL:", "(https://acme.preset.test/dir)"),
        ("CA bundle to trust", "(/root/pebble-ca.pem)"),
    ] {
        let s = p.wait_for(question);
        let line = s
            .lines()
            .rev()
            .find(|l| l.contains(question) || l.contains(suggested))
            .unwrap_or_default();
        assert!(
            s.contains(suggested),
            "{question} does not suggest {suggested:?} ({line:?}):\n{s}"
        );
        p.keys(&["Enter"]);
    }
    let s = p.wait_for("certificates: https://acme.preset.test/dir");
    for answer in [
        "mx.preset.test",
        "bob@preset.test",
        "ssh logins:",
        "firewall:     on",
    ] {
        assert!(s.contains(answer), "{answer:?} not in the summary:\n{s}");
    }
    drop(p);

    // No presets: another ACME server, and the CA question suggests nothing.
    let Some(p) = Pane::start(&format!(
        "{BIN} --root {} install ; echo EXIT=$? ; sleep 60",
        t.root.display()
    )) else {
        return;
    };
    for (question, typed) in [
        (
            "Server hostname:",
            &["C-u", "mail.example.test", "Enter"][..],
        ),
        ("First mail domain:", &["Enter"]),
        ("Admin email:", &["admin@example.test", "Enter"]),
        ("First mailbox:", &["Enter"]),
        ("Password for", &["a long password here 42", "Enter"]),
        ("Type it again:", &["a long password here 42", "Enter"]),
        ("SSH logins allowed for:", &["C-u", "root", "Enter"]),
        ("Turn on the firewall", &["Enter"]),
        ("Certificates from:", &["Down", "Down", "Enter"]),
        (
            "ACME directory URL:",
            &["https://acme.example.test/dir", "Enter"],
        ),
    ] {
        p.wait_for(question);
        p.keys(typed);
    }
    let s = p.wait_for("CA bundle to trust");
    let line = s
        .lines()
        .find(|l| l.contains("CA bundle to trust"))
        .unwrap();
    assert!(!line.contains("()"), "an empty suggestion: {line:?}");
    p.keys(&["C-c"]);
    p.wait_for("EXIT=4");
}
