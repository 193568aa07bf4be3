//! The answers file an install is given becomes the server's one configuration (issue 21
//! item 1), and secrets at rest (issue 20 item 3): no plaintext mailbox password anywhere in
//! the tree once applied, secret snapshots kept only while a rollback can use them, runs
//! pruned. The real binary on `--root` trees with the demo steps, as tests/sandbox.rs.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
const BIN: &str = env!("CARGO_BIN_EXE_mailstead");
use mailstead_bed::sandbox::*;

const BOB: &str = "bob has another long passphrase";
const RELAY_1: &str = "relay-secret-number-one";
const RELAY_2: &str = "relay-secret-number-two";

fn with_relay(password: &str) -> String {
    format!(
        "{ANSWERS}relay_host:\n  host: smtp.relay.test\n  username: mailer\n  password: \"{password}\"\n"
    )
}

/// An answers file outside the tree (where an admin keeps theirs, e.g. /root/a.yaml).
fn outside(t: &Tree, name: &str, yaml: &str) -> String {
    let p = t.tmp.path().join(name);
    fs::write(&p, yaml).unwrap();
    set_mode(&p, 0o600);
    p.to_str().unwrap().to_string()
}

fn server_file(t: &Tree) -> PathBuf {
    t.path("etc/mailstead/mailstead.yaml")
}

/// A tree whose server has no answers file yet (a fresh server).
fn fresh() -> Option<Tree> {
    let t = Tree::new(BIN)?;
    fs::remove_file(server_file(&t)).unwrap();
    Some(t)
}

fn run_dirs(t: &Tree) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(t.path("var/lib/mailstead/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn rel(t: &Tree, hits: Vec<PathBuf>) -> Vec<String> {
    hits.iter()
        .map(|p| p.strip_prefix(&t.root).unwrap().display().to_string())
        .collect()
}

#[test]
fn install_config_elsewhere_becomes_the_server_file() {
    let Some(t) = fresh() else { return };
    let a = outside(&t, "a.yaml", ANSWERS);
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("is now this server's answers file")
            && out.stdout.contains("need no --config"),
        "{}",
        out.all()
    );
    assert!(
        out.stdout
            .contains(&format!("{a} still holds mailbox passwords in plain text"))
            && out.stdout.contains(&format!("`rm {a}`")),
        "{}",
        out.all()
    );
    let server = server_file(&t);
    let meta = fs::metadata(&server).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o600, 0));
    let text = fs::read_to_string(&server).unwrap();
    assert!(
        text.contains("password_hash:") && !text.contains(PASSWORD),
        "{text}"
    );
    // Every later command without --config.
    let out = t.mailstead(&["--demo", "plan"]);
    assert_eq!(out.code, 0, "{}", out.all());
    for args in [&["check"][..], &["dns"][..], &["runs"][..]] {
        let out = t.mailstead(args);
        assert!(
            !out.all().contains("no answers file"),
            "{args:?}: {}",
            out.all()
        );
    }
    let out = t.mailstead_stdin(
        &[
            "--demo",
            "--yes",
            "--plain",
            "add-mailbox",
            "bob@example.test",
            "--password-stdin",
        ],
        BOB,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(fs::read_to_string(&server)
        .unwrap()
        .contains("bob@example.test"));
    // a.yaml again: bob was added since, so it differs, and with --yes the differences are
    // still shown before it becomes the configuration.
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("differs from this server's answers file")
            && out.stderr.contains("-  - address: bob@example.test"),
        "{}",
        out.all()
    );
}

#[test]
fn the_same_config_again_changes_nothing() {
    let Some(t) = fresh() else { return };
    let a = outside(&t, "a.yaml", ANSWERS);
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    let before = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("says what this server's answers file"),
        "{}",
        out.all()
    );
    assert_eq!(
        t.snapshot_all(),
        before,
        "the same answers again changed the tree"
    );
}

#[test]
fn a_different_config_is_a_plan_refused_without_yes() {
    let Some(t) = fresh() else { return };
    let a = outside(&t, "a.yaml", &with_relay(RELAY_1));
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    let b = outside(
        &t,
        "b.yaml",
        &with_relay(RELAY_2).replace("admin@example.test", "root@example.test"),
    );
    let before = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--plain", "install", "--config", &b]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("-admin_email: admin@example.test")
            && out.stderr.contains("+admin_email: root@example.test")
            && out.stderr.contains("(hidden, changed)")
            && out.stderr.contains("nothing was changed"),
        "{}",
        out.all()
    );
    for secret in [RELAY_1, RELAY_2, PASSWORD] {
        assert!(!out.all().contains(secret), "{secret} shown: {}", out.all());
    }
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused --config changed the tree"
    );
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &b]);
    assert_eq!(out.code, 0, "{}", out.all());
    let text = fs::read_to_string(server_file(&t)).unwrap();
    assert!(
        text.contains("root@example.test") && text.contains(RELAY_2),
        "{text}"
    );
}

#[test]
fn no_plaintext_password_at_rest_and_secret_snapshots_pruned() {
    let Some(t) = fresh() else { return };
    let a = outside(&t, "a.yaml", &with_relay(RELAY_1));
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = t.mailstead_stdin(
        &[
            "--demo",
            "--yes",
            "--plain",
            "add-mailbox",
            "bob@example.test",
            "--password-stdin",
        ],
        BOB,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "other.test"]);
    assert_eq!(out.code, 0, "{}", out.all());
    // The relay password changes.
    let server = server_file(&t);
    let rotated = fs::read_to_string(&server)
        .unwrap()
        .replace(RELAY_1, RELAY_2);
    let c = outside(&t, "c.yaml", &rotated);
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install", "--config", &c]);
    assert_eq!(out.code, 0, "{}", out.all());
    // The whole tree: answers file, snapshots, journals, logs.
    for pw in [PASSWORD, BOB] {
        assert_eq!(
            rel(&t, grep_tree(&t.root, pw)),
            Vec::<String>::new(),
            "{pw}"
        );
    }
    // The old relay password only where rolling back the rotation needs it.
    let runs = run_dirs(&t);
    let newest = format!("var/lib/mailstead/runs/{}/blobs", runs.last().unwrap());
    let old = rel(&t, grep_tree(&t.root, RELAY_1));
    assert!(
        !old.is_empty() && old.iter().all(|p| p.starts_with(&newest)),
        "{old:?}"
    );
    assert_eq!(
        rel(&t, grep_tree(&t.root, RELAY_2)),
        ["etc/mailstead/mailstead.yaml"]
    );
    // Once a later run changes the same file, no rollback can use it: gone.
    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "add-alias",
        "sales@example.test",
        "alice@example.test",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(rel(&t, grep_tree(&t.root, RELAY_1)), Vec::<String>::new());
}

#[test]
fn a_hand_written_server_file_is_hashed_by_the_next_edit_and_pruned_runs_refused() {
    let Some(t) = Tree::new(BIN) else { return };
    // The server's own file, written by hand with a plaintext password: install applies it
    // and leaves it as it is (a rollback puts back exactly that), saying so.
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("holds mailbox passwords in plain text")
            && out
                .stdout
                .contains("The next add-/remove- command saves it with the hashes only"),
        "{}",
        out.all()
    );
    let out = t.mailstead(&["--demo", "--yes", "--plain", "add-domain", "other.test"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let text = fs::read_to_string(server_file(&t)).unwrap();
    assert!(
        !text.contains(PASSWORD) && text.contains("password_hash"),
        "{text}"
    );
    // The edit's snapshot holds it while that edit can be rolled back...
    assert!(!grep_tree(&t.root, PASSWORD).is_empty());
    let out = t.mailstead(&[
        "--demo",
        "--yes",
        "--plain",
        "add-alias",
        "sales@other.test",
        "alice@example.test",
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    // ... and not once a later run changed the file.
    assert_eq!(rel(&t, grep_tree(&t.root, PASSWORD)), Vec::<String>::new());
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let before = t.snapshot_all();
    let out = t.mailstead(&["--demo", "--yes", "--plain", "rollback"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("can no longer be rolled back")
            && out.stderr.contains("/etc/mailstead/mailstead.yaml"),
        "{}",
        out.all()
    );
    assert_eq!(
        t.snapshot_all(),
        before,
        "a refused rollback changed the tree"
    );
}

#[test]
fn runs_are_pruned_to_the_newest_ten() {
    let Some(t) = Tree::new(BIN) else { return };
    let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let first = run_dirs(&t);
    assert_eq!(first.len(), 1);
    for i in 0..11 {
        let from = format!("a{i}@example.test");
        let out = t.mailstead(&[
            "--demo",
            "--yes",
            "--plain",
            "add-alias",
            &from,
            "alice@example.test",
        ]);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    let kept = run_dirs(&t);
    assert_eq!(kept.len(), 10, "{kept:?}");
    assert!(!kept.contains(&first[0]), "the oldest run is pruned first");
    // Of the ten, only the newest holds a snapshot of the answers file (0600): each run
    // changed it, so no earlier one can be rolled back while the later ones stand.
    let with_blobs: Vec<&String> = kept
        .iter()
        .filter(|id| {
            fs::read_dir(t.path(&format!("var/lib/mailstead/runs/{id}/blobs")))
                .unwrap()
                .any(|b| {
                    let p = b.unwrap().path();
                    fs::read_to_string(p).is_ok_and(|s| s.contains("hostname: mail.example.test"))
                })
        })
        .collect();
    assert_eq!(with_blobs, [kept.last().unwrap()]);
}
