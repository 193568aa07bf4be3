//! The answers files under `tests/answers/`: every good one parses, every bad one fails with a
//! message containing its `# expect:` line. The binary's exit-2/unchanged-tree test reuses them.
use mailstead_answers::{self as config, ConfigError};
use std::fs;
use std::path::{Path, PathBuf};

fn dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/answers")
        .join(kind)
}

fn yaml_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir(kind))
        .expect("tests/answers exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).expect("readable test file")
}

fn parse_file(path: &Path) -> Result<config::Answers, ConfigError> {
    let name = path
        .file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned();
    config::parse(&read(path), &name)
}

/// The plaintext password values in a file (for the never-leak check).
fn passwords_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("password:"))
        .map(|v| {
            v.split('#')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

#[test]
fn good_files_parse() {
    let files = yaml_files("good");
    assert!(files.len() >= 2, "minimal and full examples exist");
    for f in files {
        let a = parse_file(&f).unwrap_or_else(|e| panic!("{} should parse:\n{e}", f.display()));
        // What mailstead would write back reads the same.
        let again = config::parse(&config::to_yaml(&a), "round-trip").expect("round trip");
        assert_eq!(a, again, "{}", f.display());
    }
}

#[test]
fn full_example_has_every_section() {
    let a = parse_file(&dir("good").join("full.yaml")).expect("full.yaml");
    assert_eq!(a.domains.len(), 2);
    assert_eq!(a.domains[0].mailboxes.len(), 2);
    assert!(a.domains[0].mailboxes[1].password_hash.is_some());
    assert_eq!(a.acme_server_url(), "https://acme.example/dir");
    assert_eq!(a.ssh.allow_users, ["root"]);
    assert!(a.firewall.enabled);
    // postmaster@ is explicit, abuse@ is added.
    let froms: Vec<String> = a.domains[0]
        .effective_aliases()
        .into_iter()
        .map(|x| x.from)
        .collect();
    assert_eq!(
        froms,
        [
            "postmaster@example.test",
            "team@example.test",
            "abuse@example.test"
        ]
    );
}

#[test]
fn bad_files_fail_with_their_expected_message() {
    let files = yaml_files("bad");
    assert!(
        files.len() >= 12,
        "at least 12 bad answers files, found {}",
        files.len()
    );
    let mut report = Vec::new();
    for f in &files {
        let text = read(f);
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} must start with `# expect: ...`", f.display()));
        let err = match parse_file(f) {
            Ok(_) => panic!("{} parsed but must fail with {expect:?}", f.display()),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(
            msg.contains(expect),
            "{}:\n  expected {expect:?}\n  got:\n{msg}",
            f.display()
        );
        // Every problem names a field, or is about the whole file and says where.
        for p in &err.problems {
            assert!(
                !p.field.is_empty() || p.line.is_some() || msg.contains("empty"),
                "{}: problem names no field and no line: {p}",
                f.display()
            );
            assert!(
                !p.fix.is_empty(),
                "{}: problem without a fix: {p}",
                f.display()
            );
        }
        for pw in passwords_in(&text) {
            assert!(
                !msg.contains(&pw),
                "{}: password leaked:\n{msg}",
                f.display()
            );
            assert!(
                !format!("{err:?}").contains(&pw),
                "{}: password leaked in Debug",
                f.display()
            );
        }
        report.push(format!("{}\n{msg}", f.display()));
    }
    println!("{}", report.join("\n\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let err = parse_file(&dir("bad").join("many-problems.yaml")).expect_err("many problems");
    let msg = err.to_string();
    for needle in [
        "hostname: \"mail\" is not a fully qualified name",
        "admin_email: \"admin\" is not an email address",
        "domains[0].mailboxes[0].address: \"bob@\" is not an email address",
        "domains[0].mailboxes[0].password: is too short",
        "acme.server: \"http://acme.example/dir\" is not https",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    assert_eq!(err.problems.len(), 5, "{msg}");
    assert_eq!(msg.lines().count(), 5, "one problem per line:\n{msg}");
}

#[test]
fn shape_problems_are_reported_together() {
    let text = "hostnme: mail.example.test\nadmin_emial: admin@example.test\npop3: yes\n\
                domains:\n  - name: example.test\n    mailboxs: []\nfirewall: {enabled: maybe}\n";
    let err = config::parse(text, "x.yaml").expect_err("shape problems");
    let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "hostnme",
            "admin_emial",
            "pop3",
            "domains[0].mailboxs",
            "firewall.enabled",
        ],
        "{err}"
    );
}

#[test]
fn load_applies_the_file_mode_rule() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("mailstead.yaml");
    fs::copy(dir("good").join("minimal.yaml"), &path).expect("copy");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    config::load(&path).expect("0600 with a password is fine");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = config::load(&path).expect_err("0644 with a password");
    assert!(
        err.to_string()
            .contains(&format!("chmod 600 {}", path.display())),
        "{err}"
    );
}

#[test]
fn password_never_appears_in_any_message() {
    let secret = "Tr0ub4dor&3-very-secret";
    let good = read(&dir("good").join("minimal.yaml")).replace("a long passphrase", secret);
    let breakages: [(&str, &str); 6] = [
        ("hostname: mail.example.test", "hostname: bad"),
        ("alice@example.test", "Alice@example.test"),
        ("password:", "pasword:"),
        (&format!("\"{secret}\""), &format!("\"{secret}")),
        (&format!("\"{secret}\""), &format!("[{secret}]")),
        (
            &format!("\"{secret}\""),
            &format!("\"{secret}\"\n        password_hash: \"{secret}\""),
        ),
    ];
    for (from, to) in breakages {
        let text = good.replacen(from, to, 1);
        let err = config::parse(&text, "x.yaml").expect_err("broken");
        let shown = format!("{err}\n{err:?}");
        assert!(
            !shown.contains("Tr0ub4dor"),
            "leaked after {to:?}:\n{shown}"
        );
    }
}
