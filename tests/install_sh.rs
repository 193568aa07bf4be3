//! install.sh in download mode (what `curl -fsSL BASE/install.sh | sh` runs) and the release
//! tree `dist/release` lays out, without a booted server: a tree made with `dist/release
//! --binary` from the test build, served by python's http.server on 127.0.0.1, and install.sh
//! staging into a temp dir with DESTDIR (no OS or root check, nothing started). The booted
//! version, with a terminal, no terminal and /etc, is tests/release.rs.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mailstead");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> String {
    format!(
        "{:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A release tree in `dir`, made by `dist/release --binary` from the test build.
fn release_into(dir: &Path) {
    let out = Command::new(repo().join("dist/release"))
        .args(["--out"])
        .arg(dir)
        .args(["--binary", BIN])
        .output()
        .unwrap();
    assert!(out.status.success(), "dist/release: {}", text(&out));
}

/// The release tree the tests only read, made once per run of this file (two copies of the
/// 145 MB binary each time: most of this file's time when each test made its own), in
/// cargo's temp dir for integration tests (`target/tmp`), made anew by each run.
fn tree() -> Shared {
    static TREE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    Shared(TREE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install_sh-release");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        release_into(&dir);
        dir
    }))
}

/// The shared tree, used where a test's own `TempDir` would be.
struct Shared(&'static Path);

impl Shared {
    fn path(&self) -> &Path {
        self.0
    }
}

/// A release tree of the test's own, in a temp dir: for a test that changes it.
fn own_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    release_into(dir.path());
    dir
}

fn version() -> String {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// python's http.server on 127.0.0.1 (a free port) serving `dir`; killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new("/usr/bin/python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("http.server said: {line}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl -fsSL URL/install.sh | sh`, staged into `dest`, with `path` as PATH (None: the usual).
fn curl_pipe_sh(
    server: &Server,
    dest: &Path,
    path: Option<&str>,
    extra: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"curl -fsSL "$MAILSTEAD_BASE_URL/install.sh" | sh"#])
        .env("MAILSTEAD_BASE_URL", &server.url)
        .env("DESTDIR", dest)
        .env_remove("MAILSTEAD_BINARY")
        .stdin(Stdio::null());
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// install.sh from the tree run as a file (as a downloaded script), staged into `dest`.
fn run_script(
    tree: &Path,
    dest: &Path,
    path: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(tree.join("install.sh"))
        .args(args)
        .env("DESTDIR", dest)
        .env_remove("MAILSTEAD_BINARY")
        .env_remove("MAILSTEAD_BASE_URL")
        .stdin(Stdio::null());
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn staged_files(dest: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![dest.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p.strip_prefix(dest).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    files
}

const STAGED: [&str; 5] = [
    "usr/local/sbin/mailstead",
    "usr/share/bash-completion/completions/mailstead",
    "usr/share/fish/vendor_completions.d/mailstead.fish",
    "usr/share/man/man1/mailstead.1",
    "usr/share/zsh/vendor-completions/_mailstead",
];

/// A PATH of links to everything in /usr/bin and /usr/sbin except `without`, plus `extra`
/// scripts (name, body) in front: to take curl away, or make `uname -m` lie.
fn shim_path(dir: &Path, without: &[&str], extra: &[(&str, &str)]) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for sys in ["/usr/bin", "/usr/sbin"] {
        for e in std::fs::read_dir(sys).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            let n = name.to_string_lossy();
            if without.contains(&n.as_ref()) || extra.iter().any(|(x, _)| *x == n) {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    for (name, body) in extra {
        let p = bin.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    bin.display().to_string()
}

#[test]
fn release_tree_layout() {
    let t = tree();
    let v = version();
    for d in [v.as_str(), "latest"] {
        let dir = t.path().join(d);
        let bin = dir.join("mailstead-x86_64-linux");
        let sum = std::fs::read_to_string(dir.join("mailstead-x86_64-linux.sha256")).unwrap();
        assert_eq!(
            sum,
            format!("{}  mailstead-x86_64-linux\n", sha256_hex(&bin))
        );
        assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(BIN).unwrap());
        let build = std::fs::read_to_string(dir.join("BUILD.txt")).unwrap();
        assert!(build.contains(&format!("mailstead {v}")), "{build}");
        assert!(build.contains("x86_64: prebuilt"), "{build}");
        assert_eq!(
            std::fs::read(dir.join("install.sh")).unwrap(),
            std::fs::read(repo().join("install.sh")).unwrap()
        );
    }
    assert!(t.path().join("install.sh").is_file());
}

#[test]
fn curl_pipe_sh_downloads_verifies_and_installs_then_upgrades_in_place() {
    let t = tree();
    let server = Server::start(t.path());
    let dest = tempfile::tempdir().unwrap();
    let out = curl_pipe_sh(&server, dest.path(), None, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sum = sha256_hex(Path::new(BIN));
    assert!(stdout.contains("(curl)"), "{}", text(&out));
    assert!(
        stdout.contains(&format!("SHA-256 verified: {sum}")),
        "{}",
        text(&out)
    );
    assert!(stdout.contains("installed "), "{}", text(&out));
    assert_eq!(staged_files(dest.path()), STAGED);
    let bin = dest.path().join("usr/local/sbin/mailstead");
    assert_eq!(sha256_hex(&bin), sum);
    // Again: the same file replaced in place, said as an upgrade; no leftovers.
    let out = curl_pipe_sh(&server, dest.path(), None, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("upgraded "),
        "{}",
        text(&out)
    );
    assert_eq!(staged_files(dest.path()), STAGED);
}

#[test]
fn downloads_with_wget_when_there_is_no_curl() {
    let t = tree();
    let server = Server::start(t.path());
    let shim = tempfile::tempdir().unwrap();
    let path = shim_path(shim.path(), &["curl"], &[]);
    assert!(
        Command::new("sh")
            .args(["-c", "command -v wget"])
            .env("PATH", &path)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success(),
        "wget is needed on the host for this test"
    );
    let dest = tempfile::tempdir().unwrap();
    let out = run_script(
        t.path(),
        dest.path(),
        Some(&path),
        &[],
        &[("MAILSTEAD_BASE_URL", &server.url)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(wget)"),
        "{}",
        text(&out)
    );
    assert_eq!(staged_files(dest.path()), STAGED);
    assert_eq!(
        sha256_hex(&dest.path().join("usr/local/sbin/mailstead")),
        sha256_hex(Path::new(BIN))
    );
}

#[test]
fn a_tampered_binary_is_refused_naming_both_sums_and_nothing_is_installed() {
    let t = own_tree();
    let bin: PathBuf = t.path().join("latest/mailstead-x86_64-linux");
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&bin, &bytes).unwrap();
    let expected = sha256_hex(Path::new(BIN));
    let got = sha256_hex(&bin);
    let server = Server::start(t.path());
    let dest = tempfile::tempdir().unwrap();
    let out = curl_pipe_sh(&server, dest.path(), None, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SHA-256 mismatch"), "{}", text(&out));
    assert!(
        stderr.contains(&format!("expected {expected}")),
        "{}",
        text(&out)
    );
    assert!(
        stderr.contains(&format!("got      {got}")),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("nothing was installed"), "{}", text(&out));
    assert!(staged_files(dest.path()).is_empty());
}

#[test]
fn a_missing_release_is_refused_and_nothing_is_installed() {
    let t = tree();
    let server = Server::start(t.path());
    let dest = tempfile::tempdir().unwrap();
    let out = curl_pipe_sh(
        &server,
        dest.path(),
        None,
        &[("MAILSTEAD_VERSION", "9.9.9")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("download failed: ") && stderr.contains("/9.9.9/mailstead-x86_64-linux"),
        "{}",
        text(&out)
    );
    assert!(staged_files(dest.path()).is_empty());
}

#[test]
fn another_architecture_is_refused_by_name() {
    let t = tree();
    let shim = tempfile::tempdir().unwrap();
    let path = shim_path(
        shim.path(),
        &[],
        &[(
            "uname",
            "#!/bin/sh\n[ \"$1\" = -m ] && echo riscv64 || echo Linux\n",
        )],
    );
    let dest = tempfile::tempdir().unwrap();
    let out = run_script(
        t.path(),
        dest.path(),
        Some(&path),
        &[],
        &[("MAILSTEAD_BASE_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("released for x86_64 and aarch64 only; this machine is riscv64"),
        "{}",
        text(&out)
    );
    assert!(staged_files(dest.path()).is_empty());
}

#[test]
fn a_base_url_that_is_not_http_is_refused() {
    let t = tree();
    let dest = tempfile::tempdir().unwrap();
    let out = run_script(
        t.path(),
        dest.path(),
        None,
        &[],
        &[("MAILSTEAD_BASE_URL", "ftp://mirror.example/mailstead")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "MAILSTEAD_BASE_URL=ftp://mirror.example/mailstead: not an http:// or https:// URL"
        ),
        "{}",
        text(&out)
    );
    assert!(staged_files(dest.path()).is_empty());
}

#[test]
fn help_prints_usage_and_touches_nothing() {
    let t = tree();
    let dest = tempfile::tempdir().unwrap();
    let out = run_script(t.path(), dest.path(), None, &["--help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "curl -fsSL https://",
        "sh -s -- install --config /etc/mailstead/mailstead.yaml --yes",
        "MAILSTEAD_BASE_URL",
        "--no-run",
        "x86_64 and aarch64",
    ] {
        assert!(stdout.contains(want), "--help lacks {want:?}:\n{stdout}");
    }
    // It fits an 80-column terminal: no line wraps.
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "--help line over 80 columns ({}): {line:?}",
            line.chars().count()
        );
    }
    assert!(staged_files(dest.path()).is_empty());
}

/// A download cut short anywhere runs nothing: the script only defines functions until its
/// last line.
#[test]
fn a_truncated_script_runs_nothing() {
    let script = std::fs::read_to_string(repo().join("install.sh")).unwrap();
    let last = script.trim_end().rfind('\n').unwrap();
    assert_eq!(&script[last + 1..].trim_end(), &r#"main "$@" || exit 1"#);
    let dest = tempfile::tempdir().unwrap();
    for cut in [script.len() / 3, script.len() / 2, last] {
        let mut child = Command::new("sh")
            .env("DESTDIR", dest.path())
            .env("MAILSTEAD_BINARY", BIN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&script.as_bytes()[..cut])
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.stdout.is_empty(), "cut at {cut}: {}", text(&out));
        assert!(staged_files(dest.path()).is_empty(), "cut at {cut}");
    }
}

/// install.sh and dist/release are POSIX sh and shellcheck-clean (skipped, saying so, where
/// shellcheck is not installed; `bed/bed deps` installs it).
#[test]
fn scripts_are_shellcheck_clean() {
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: shellcheck is not installed (bed/bed deps installs it)");
        return;
    }
    for s in ["install.sh", "dist/release"] {
        let out = Command::new("shellcheck")
            .args(["-s", "sh"])
            .arg(repo().join(s))
            .output()
            .unwrap();
        assert!(out.status.success(), "shellcheck {s}: {}", text(&out));
    }
}

/// Everything is staged before anything is renamed into place: a binary that fails to write
/// its man page leaves no binary, no completion and no `.new` file behind.
#[test]
fn a_failure_while_staging_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("mailstead");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$1\" in --version) echo 'mailstead 9';; completions) echo c;; *) exit 3;; esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(repo().join("install.sh"))
        .env("DESTDIR", dest.path())
        .env("MAILSTEAD_BINARY", &fake)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("command failed: "),
        "{}",
        text(&out)
    );
    assert_eq!(staged_files(dest.path()), Vec::<String>::new());
}

/// `dist/release --base-url` stamps the installers' default (https only); the default is what
/// `--help` and the unattended command show.
#[test]
fn release_base_url_is_stamped_and_must_be_https() {
    let dir = tempfile::tempdir().unwrap();
    let release = |url: &str| {
        Command::new(repo().join("dist/release"))
            .arg("--out")
            .arg(dir.path())
            .args(["--binary", BIN, "--base-url", url])
            .output()
            .unwrap()
    };
    let out = release("http://mirror.example/m");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--base-url must be an https:// URL"),
        "{}",
        text(&out)
    );
    let out = release("https://mirror.example/m/");
    assert!(out.status.success(), "{}", text(&out));
    for script in [
        "install.sh",
        "latest/install.sh",
        &format!("{}/install.sh", version()),
    ] {
        let s = std::fs::read_to_string(dir.path().join(script)).unwrap();
        assert!(
            s.lines()
                .any(|l| l == "DEFAULT_BASE_URL=https://mirror.example/m"),
            "{script} is not stamped"
        );
        let help = Command::new("sh")
            .arg(dir.path().join(script))
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&help.stdout)
                .contains("curl -fsSL https://mirror.example/m/install.sh | sh"),
            "{}",
            text(&help)
        );
    }
}

// ---- building from source: only when asked, and only a tree nobody else can change ----------
// `cargo build` runs build scripts, so a build as root runs whatever the tree holds. These use a
// stand-in `cargo` first in PATH that records its call and "builds" the test binary.

/// A directory that looks like a mailstead checkout (install.sh next to a Cargo.toml naming
/// mailstead), inside `parent`, mode 0755.
fn fake_checkout(parent: &Path) -> PathBuf {
    let d = parent.join("checkout");
    std::fs::create_dir(&d).unwrap();
    std::fs::copy(repo().join("install.sh"), d.join("install.sh")).unwrap();
    std::fs::write(
        d.join("Cargo.toml"),
        "[package]\nname = \"mailstead\"\nversion = \"0.0.0\"\n",
    )
    .unwrap();
    for p in [&d, &d.join("install.sh"), &d.join("Cargo.toml")] {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    d
}

/// A PATH whose `cargo` touches `marker` and puts the test binary where a release build would.
fn recording_cargo(shim: &Path, marker: &Path) -> String {
    let body = format!(
        "#!/bin/sh\n# build --release --locked --manifest-path DIR/Cargo.toml\n\
         touch '{}'\nd=$(dirname \"$5\")\nmkdir -p \"$d/target/release\"\n\
         cp '{BIN}' \"$d/target/release/mailstead\"\n",
        marker.display()
    );
    shim_path(shim, &["cargo"], &[("cargo", &body)])
}

fn run_checkout(checkout: &Path, dest: &Path, path: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg(checkout.join("install.sh"))
        .args(args)
        .env("DESTDIR", dest)
        .env("PATH", path)
        .env_remove("MAILSTEAD_BINARY")
        .env_remove("MAILSTEAD_BASE_URL")
        .env_remove("SUDO_UID")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn from_source_builds_a_tree_only_its_owner_can_change() {
    let base = tempfile::tempdir().unwrap();
    let checkout = fake_checkout(base.path());
    let marker = base.path().join("cargo-ran");
    let path = recording_cargo(&base.path().join("shim"), &marker);
    let dest = tempfile::tempdir().unwrap();
    let out = run_checkout(&checkout, dest.path(), &path, &["--from-source"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(marker.exists(), "cargo was not run: {}", text(&out));
    assert_eq!(staged_files(dest.path()), STAGED);
}

#[test]
fn a_checkout_is_not_built_unless_asked() {
    // A Cargo.toml naming mailstead next to a downloaded install.sh (in /tmp, say) may be
    // anybody's: without --from-source the release is downloaded and nothing is built.
    let t = tree();
    let server = Server::start(t.path());
    let base = tempfile::tempdir().unwrap();
    let checkout = fake_checkout(base.path());
    let marker = base.path().join("cargo-ran");
    let path = recording_cargo(&base.path().join("shim"), &marker);
    let dest = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(checkout.join("install.sh"))
        .env("DESTDIR", dest.path())
        .env("PATH", &path)
        .env("MAILSTEAD_BASE_URL", &server.url)
        .env_remove("MAILSTEAD_BINARY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!marker.exists(), "cargo ran without --from-source");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SHA-256 verified"),
        "{}",
        text(&out)
    );
    assert_eq!(staged_files(dest.path()), STAGED);
}

/// What is spoiled, how, and what the refusal names.
type Spoil<'a> = (&'static str, Box<dyn Fn(&Path) + 'a>, &'static str);

#[test]
fn from_source_refuses_a_tree_others_can_change() {
    use std::os::unix::fs::PermissionsExt;
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, PermissionsExt::from_mode(m)).unwrap();
    // Each case: what is made writable (or owned) by someone else, and what the error names.
    let cases: Vec<Spoil> = vec![
        (
            "the checkout itself world-writable",
            Box::new(|c: &Path| set(c, 0o777)),
            "is writable by others (mode 777)",
        ),
        (
            "a file inside group-writable",
            Box::new(|c: &Path| set(&c.join("Cargo.toml"), 0o664)),
            "Cargo.toml is writable by group or others",
        ),
        (
            "a parent directory writable by others, not sticky",
            Box::new(|c: &Path| set(c.parent().unwrap(), 0o777)),
            "is writable by others (mode 777)",
        ),
        (
            "a symlink out of the tree",
            Box::new(|c: &Path| std::os::unix::fs::symlink("/etc", c.join("build.rs")).unwrap()),
            "build.rs points outside",
        ),
    ];
    let mut cases = cases;
    // Files of another user: only root can make them.
    if unsafe { libc::geteuid() } == 0 {
        cases.push((
            "a file owned by another user",
            Box::new(|c: &Path| {
                std::os::unix::fs::chown(c.join("Cargo.toml"), Some(65534), Some(65534)).unwrap()
            }),
            "holds files owned by uid 65534",
        ));
    }
    for (what, spoil, says) in cases {
        let base = tempfile::tempdir().unwrap();
        let checkout = fake_checkout(base.path());
        let marker = base.path().join("cargo-ran");
        let path = recording_cargo(&base.path().join("shim"), &marker);
        spoil(&checkout);
        let dest = tempfile::tempdir().unwrap();
        let out = run_checkout(&checkout, dest.path(), &path, &["--from-source"]);
        set(base.path(), 0o700);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says),
            "{what}: wanted {says:?}\n{}",
            text(&out)
        );
        assert!(!marker.exists(), "{what}: cargo ran");
        assert!(
            staged_files(dest.path()).is_empty(),
            "{what}: something staged"
        );
    }
}

#[test]
fn from_source_outside_a_checkout_is_refused() {
    let t = tree();
    let dest = tempfile::tempdir().unwrap();
    let out = run_script(t.path(), dest.path(), None, &["--from-source"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in a mailstead checkout"),
        "{}",
        text(&out)
    );
    assert!(staged_files(dest.path()).is_empty());
}
