//! Issue 20 on the real binary against a directory tree (`--root`), with the demo steps: an
//! all-or-nothing edit killed half-way is undone whole by the next start. Needs root (chroot,
//! chown), as tests/sandbox.rs does; skipped otherwise.

#[cfg(feature = "failpoints")]
mod faults {
    use mailstead_bed::sandbox::*;
    const BIN: &str = env!("CARGO_BIN_EXE_mailstead");
    use std::fs;

    /// `add-domain` killed (SIGKILL, as a power cut would stop it) after its answers file was
    /// saved and in the middle of the next step, then `recover`: the tree is byte-identical
    /// (content, mode, owner) to before add-domain, the answers file included.
    #[test]
    fn killed_add_domain_is_recovered_whole() {
        let Some(t) = Tree::new(BIN) else { return };
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 0, "{}", out.all());
        let before = t.snapshot();
        let out = t.mailstead_env(
            &["--demo", "--yes", "--plain", "add-domain", "other.test"],
            &[("FAILPOINTS", "demo-files.mid=return(kill)".to_string())],
        );
        assert!(out.code == -9 || out.code == 137, "{}", out.all());
        let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
        assert!(
            answers.contains("other.test"),
            "the kill came before the answers file was saved: {answers}"
        );
        assert!(t.path("etc/demo/domains/other.test.conf").exists());

        let out = t.mailstead(&["--demo", "--yes", "--plain", "recover"]);
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout.contains("Recovered interrupted run"),
            "{}",
            out.all()
        );
        let answers = fs::read_to_string(t.path("etc/mailstead/mailstead.yaml")).unwrap();
        assert!(!answers.contains("other.test"), "{answers}");
        assert_eq!(
            t.snapshot(),
            before,
            "the recovery of a killed add-domain left part of it behind"
        );
        // Nothing is left to recover, and the run shows as recovered.
        let out = t.mailstead(&["--demo", "--yes", "--plain", "recover"]);
        assert!(out.stdout.contains("Nothing to recover"), "{}", out.all());
        let runs = t.mailstead(&["--demo", "runs"]);
        assert!(runs.stdout.contains("recovered whole"), "{}", runs.all());
    }

    /// `rollback` right after a killed add-domain: its recovery undoes it whole and counts as
    /// its rollback; the install before it stays applied.
    #[test]
    fn rollback_after_a_killed_add_domain_undoes_it_and_no_more() {
        let Some(t) = Tree::new(BIN) else { return };
        let out = t.mailstead(&["--demo", "--yes", "--plain", "install"]);
        assert_eq!(out.code, 0, "{}", out.all());
        let installed = t.snapshot();
        let out = t.mailstead_env(
            &["--demo", "--yes", "--plain", "add-domain", "other.test"],
            &[("FAILPOINTS", "demo-files.mid=return(kill)".to_string())],
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
            installed,
            "rollback undid the install too, or left part of add-domain"
        );
    }

    /// An ordinary install killed in its second step: recovery still undoes only that step;
    /// the first stays applied (what an install run always did).
    #[test]
    fn killed_install_keeps_its_finished_steps() {
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
        let after_files = t.snapshot();
        fs::write(t.path("etc/mailstead/mailstead.yaml"), {
            let mut a = ANSWERS.replace("mail.example.test", "mx.example.test");
            a.push('\n');
            a
        })
        .unwrap();
        set_mode(&t.path("etc/mailstead/mailstead.yaml"), 0o600);
        let edited = t.snapshot();
        assert_ne!(edited, after_files);
        let out = t.mailstead_env(
            &["--demo", "--yes", "--plain", "install"],
            &[("FAILPOINTS", "demo-command.mid=return(kill)".to_string())],
        );
        assert!(out.code == -9 || out.code == 137, "{}", out.all());
        let out = t.mailstead(&["--demo", "--yes", "--plain", "recover"]);
        assert_eq!(out.code, 0, "{}", out.all());
        let now = t.snapshot();
        // demo-files (rewritten for the new hostname) stays; demo-command is undone.
        assert_ne!(now, edited, "the finished step was undone too");
        assert_eq!(
            now.get("etc/demo/command.conf"),
            edited.get("etc/demo/command.conf")
        );
        let app = fs::read_to_string(t.path("etc/demo/app.conf")).unwrap();
        assert!(app.contains("mx.example.test"), "{app}");
    }
}
