//! The bed script and the demo as root against what another local user planted (issue 20
//! items 1 and 2), without booting a bed: each test prepares a beds directory (and cache) the
//! way an attacker would, runs the script's subcommand on it (`MAILSTEAD_BED_DIR`,
//! `MAILSTEAD_BED_CACHE` in a temp dir), and checks that nothing of theirs ran, no file was
//! truncated through a link, no recorded PID that is not the bed's was signalled or entered.
//! Every tool that could act on the host (nsenter, systemctl, ip, unshare, debootstrap, ...)
//! is a PATH shim that only records its call. Root only: skipped otherwise.
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// Tools the script must not reach in these tests: each shim appends `NAME ARGS` to the log.
const SHIMS: &[&str] = &[
    "nsenter",
    "systemctl",
    "ip",
    "unshare",
    "setsid",
    "debootstrap",
    "socat",
    "pebble",
    "dnsmasq",
    "apt-get",
    "sysctl",
];

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

macro_rules! root_only {
    () => {
        if !is_root() {
            eprintln!("SKIPPED: the bed script's trust checks are about root; run as root");
            return;
        }
    };
}

/// A scene: a temp dir with the beds dir, the cache, the shims and their log.
struct Scene {
    t: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let s = Scene {
            t: tempfile::tempdir().unwrap(),
        };
        let shims = s.path("shims");
        fs::create_dir(&shims).unwrap();
        for name in SHIMS {
            let p = shims.join(name);
            fs::write(
                &p,
                format!(
                    "#!/bin/sh\necho \"{name} $*\" >>'{}'\nexit 1\n",
                    s.path("shims.log").display()
                ),
            )
            .unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::create_dir(s.path("cache")).unwrap();
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.t.path().join(rel)
    }

    fn beds(&self) -> PathBuf {
        self.path("beds")
    }

    /// The beds dir (root's, 0700 like `bed up` makes it) with bed `name`'s `state`.
    fn bed_with_state(&self, name: &str, state: &str) -> PathBuf {
        let dir = self.beds().join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(self.beds(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(dir.join("state"), state).unwrap();
        dir
    }

    fn bed(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("shims").display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        );
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("bed/bed"))
            .args(args)
            .env("MAILSTEAD_BED_DIR", self.beds())
            .env("MAILSTEAD_BED_CACHE", self.path("cache"))
            .env("MAILSTEAD_BED_CAPS", "flock")
            .env("MAILSTEAD_BED_MIRROR", "http://127.0.0.1:9/debian")
            .env("PATH", path)
            .env_remove("BED_OWNER_PID")
            .output()
            .unwrap()
    }

    /// What the shims recorded: tools the script reached.
    fn shim_calls(&self) -> String {
        fs::read_to_string(self.path("shims.log")).unwrap_or_default()
    }

    /// A marker file a planted command would create.
    fn marker(&self, n: u32) -> PathBuf {
        self.path(&format!("marker-{n}"))
    }

    fn assert_no_markers(&self, upto: u32) {
        for n in 1..=upto {
            assert!(
                !self.marker(n).exists(),
                "planted command {n} ran as root: {}",
                self.marker(n).display()
            );
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A state file that runs `touch MARKER-n` in every way sourcing it could.
fn hostile_state(s: &Scene, name: &str) -> String {
    format!(
        "NAME={name}\nPID=$(touch {m1})\nIDX=1`touch {m2}`\ntouch {m3}\nSTATUS=up; touch {m4}\n",
        m1 = s.marker(1).display(),
        m2 = s.marker(2).display(),
        m3 = s.marker(3).display(),
        m4 = s.marker(4).display(),
    )
}

#[test]
fn a_beds_dir_of_another_user_is_refused_and_nothing_in_it_runs() {
    root_only!();
    let s = Scene::new();
    let dir = s.bed_with_state("x", &hostile_state(&s, "x"));
    fs::set_permissions(s.beds(), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(s.beds(), Some(65534), Some(65534)).unwrap();
    for args in [
        &["down", "x"][..],
        &["down-all"],
        &["list"],
        &["info", "x"],
        &["exec", "x", "true"],
        &["up", "x", "trixie"],
    ] {
        let o = s.bed(args);
        assert!(!o.status.success(), "bed {args:?} accepted:\n{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "{} is not a private directory of root",
                s.beds().display()
            )) && err.contains("owner uid 65534")
                && err.contains("MAILSTEAD_BED_DIR"),
            "bed {args:?}: the refusal names the path, the owner and the fix:\n{}",
            text(&o)
        );
    }
    s.assert_no_markers(4);
    assert!(
        dir.join("state").exists(),
        "nothing of theirs is removed either"
    );
    assert_eq!(s.shim_calls(), "");

    // Root's, but writable by others: the same.
    std::os::unix::fs::chown(s.beds(), Some(0), Some(0)).unwrap();
    fs::set_permissions(s.beds(), fs::Permissions::from_mode(0o777)).unwrap();
    let o = s.bed(&["down", "x"]);
    assert!(
        !o.status.success() && text(&o).contains("mode 777"),
        "{}",
        text(&o)
    );

    // A symlink to a root-owned directory: not followed.
    fs::set_permissions(s.beds(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::rename(s.beds(), s.path("real-beds")).unwrap();
    symlink(s.path("real-beds"), s.beds()).unwrap();
    let o = s.bed(&["down", "x"]);
    assert!(
        !o.status.success() && text(&o).contains("symbolic link"),
        "{}",
        text(&o)
    );
    s.assert_no_markers(4);
    assert!(s.path("real-beds/x/state").exists());
}

#[test]
fn the_demo_refuses_a_beds_dir_of_another_user() {
    root_only!();
    let s = Scene::new();
    s.bed_with_state("mailstead-demo", &hostile_state(&s, "mailstead-demo"));
    std::os::unix::fs::chown(s.beds(), Some(65534), Some(65534)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mailstead"))
        .args(["demo", "down"])
        .env("MAILSTEAD_BED_DIR", s.beds())
        .env(
            "PATH",
            format!(
                "{}:{}",
                s.path("shims").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    let t = text(&o);
    // `unshare` is a shim here: the demo treats a failing one as "no namespaces" and refuses
    // too; either refusal must come before anything of the beds dir is used.
    assert_eq!(o.status.code(), Some(2), "{t}");
    s.assert_no_markers(4);
    assert!(s.beds().join("mailstead-demo/state").exists(), "{t}");
    assert!(!s.shim_calls().contains("nsenter") && !s.shim_calls().contains("systemctl"));
}

#[test]
fn the_demo_refuses_a_beds_dir_of_another_user_with_namespaces_allowed() {
    root_only!();
    let s = Scene::new();
    s.bed_with_state("mailstead-demo", &hostile_state(&s, "mailstead-demo"));
    std::os::unix::fs::chown(s.beds(), Some(65534), Some(65534)).unwrap();
    // The real unshare, so that the demo gets as far as its beds directory.
    let o = Command::new(env!("CARGO_BIN_EXE_mailstead"))
        .args(["demo", "down"])
        .env("MAILSTEAD_BED_DIR", s.beds())
        .output()
        .unwrap();
    let t = text(&o);
    if t.contains("does not allow new namespaces") {
        eprintln!("SKIPPED: no namespaces here, the demo refuses before its beds dir:\n{t}");
        return;
    }
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("the demo cannot keep its state safely")
            && t.contains(&s.beds().display().to_string())
            && t.contains("owner uid 65534"),
        "{t}"
    );
    s.assert_no_markers(4);
    assert!(s.beds().join("mailstead-demo/state").exists(), "{t}");
}

#[test]
fn a_state_file_is_parsed_never_run() {
    root_only!();
    let s = Scene::new();
    let dir = s.bed_with_state("x", &hostile_state(&s, "x"));
    // Reading commands refuse a state file with any line that is not a known KEY=VALUE.
    for args in [&["info", "x"][..], &["ip", "x"], &["exec", "x", "true"]] {
        let o = s.bed(args);
        assert!(!o.status.success(), "bed {args:?}:\n{}", text(&o));
        assert!(
            text(&o).contains("parsed, never run"),
            "bed {args:?}:\n{}",
            text(&o)
        );
    }
    // `list` and `down` skip such lines (so a bed can still be removed).
    let o = s.bed(&["list"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = s.bed(&["down", "x"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ignoring a line"), "{}", text(&o));
    s.assert_no_markers(4);
    assert!(!dir.exists(), "down removes the bed's files: {}", text(&o));
    assert_eq!(s.shim_calls(), "");
}

#[test]
fn known_keys_with_bad_values_are_refused() {
    root_only!();
    let s = Scene::new();
    for (i, line) in [
        "PID=12 34",
        "HOST_IP=10.213.1.1;reboot",
        "SINK_DIR=/etc",
        "CGROUP=/sys/fs/cgroup",
        "DIR=/",
        "VETH=eth0",
        "NAME=other",
        "EVIL=1",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("b{i}");
        s.bed_with_state(&name, &format!("NAME={name}\n{line}\n"));
        let o = s.bed(&["info", &name]);
        assert!(
            !o.status.success() && text(&o).contains("not a known KEY=VALUE"),
            "{line}:\n{}",
            text(&o)
        );
    }
    // A state file that is a link, or too big, is not read at all.
    let dir = s.bed_with_state("l", "NAME=l\n");
    fs::remove_file(dir.join("state")).unwrap();
    fs::write(s.path("elsewhere"), "NAME=l\n").unwrap();
    symlink(s.path("elsewhere"), dir.join("state")).unwrap();
    let o = s.bed(&["info", "l"]);
    assert!(
        !o.status.success() && text(&o).contains("not a regular file"),
        "{}",
        text(&o)
    );
    let dir = s.bed_with_state("big", &"NAME=big\n".repeat(10_000));
    let o = s.bed(&["info", "big"]);
    assert!(
        !o.status.success() && text(&o).contains("not a regular file"),
        "{}",
        text(&o)
    );
    assert!(dir.exists());
    // A good one still reads, values as set_state wrote them.
    s.bed_with_state(
        "good",
        "NAME=good\nIDX=7\nBED_IP=10.213.7.2\nCGROUP=''\nSTATUS=up\n",
    );
    let o = s.bed(&["info", "good"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "NAME=good\nIDX=7\nBED_IP=10.213.7.2\nCGROUP=''\nSTATUS=up\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&s.bed(&["ip", "good"]).stdout),
        "10.213.7.2\n"
    );
}

#[test]
fn a_planted_lock_link_truncates_nothing() {
    root_only!();
    let s = Scene::new();
    let victim = s.path("victim");
    fs::write(&victim, "precious").unwrap();

    // The beds dir's allocation lock (bed up): refused before the base build.
    fs::create_dir(s.beds()).unwrap();
    fs::set_permissions(s.beds(), fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&victim, s.beds().join(".lock")).unwrap();
    let o = s.bed(&["up", "z", "trixie"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(".lock is a symlink"), "{}", text(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!s.beds().join("z").exists());

    // The cache's build lock (bed base).
    fs::set_permissions(s.path("cache"), fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&victim, s.path("cache/trixie.lock")).unwrap();
    let o = s.bed(&["base", "trixie"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("trixie.lock is a symlink"),
        "{}",
        text(&o)
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");

    // A cache of another user is refused as a whole.
    fs::remove_file(s.path("cache/trixie.lock")).unwrap();
    std::os::unix::fs::chown(s.path("cache"), Some(65534), None).unwrap();
    let o = s.bed(&["base", "trixie"]);
    assert!(
        !o.status.success() && text(&o).contains("not a private directory of root"),
        "{}",
        text(&o)
    );
    assert!(
        !s.shim_calls().contains("debootstrap"),
        "{}",
        s.shim_calls()
    );
}

/// A live host process of this test, to plant as a bed's PID.
struct Sleeper(Child);

impl Sleeper {
    fn new() -> Sleeper {
        Sleeper(Command::new("sleep").arg("300").spawn().unwrap())
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn down_never_signals_or_enters_a_host_process_at_a_recorded_pid() {
    root_only!();
    let s = Scene::new();
    let mut host = Sleeper::new();
    let pid = host.pid();
    let id = mailstead_bed::trust::process_id(pid as i32).expect("the sleeper's identity");
    let (start, boot) = id.split_once('@').unwrap();
    let wrong_start = format!("{}@{boot}", start.parse::<u64>().unwrap() + 7);

    // After a reboot or a crash: the number is now a host process (wrong start time).
    let stale = s.bed_with_state(
        "stale",
        &format!(
            "NAME=stale\nPID={pid}\nPID_ID={wrong_start}\nUNSHARE_PID={pid}\nUNSHARE_PID_ID={wrong_start}\n\
             SOCAT_PID={pid}\nSOCAT_PID_ID={wrong_start}\nWATCH_PID={pid}\nWATCH_PID_ID={wrong_start}\n"
        ),
    );
    // Even with the right identity: a process of the host's pid namespace that is no systemd
    // is not the bed's PID 1, nor socat, pebble, dnsmasq, the receiver or the watcher.
    let same = s.bed_with_state(
        "same",
        &format!(
            "NAME=same\nPID={pid}\nPID_ID={id}\nUNSHARE_PID={pid}\nUNSHARE_PID_ID={id}\n\
             SOCAT_PID={pid}\nSOCAT_PID_ID={id}\nPEBBLE_PID={pid}\nPEBBLE_PID_ID={id}\n\
             DNS_PID={pid}\nDNS_PID_ID={id}\nSINK_PID={pid}\nSINK_PID_ID={id}\n\
             WATCH_PID={pid}\nWATCH_PID_ID={id}\n"
        ),
    );
    // No identity recorded (a state of an older script): a number alone is trusted for nothing.
    let bare = s.bed_with_state(
        "bare",
        &format!("NAME=bare\nPID={pid}\nSOCAT_PID={pid}\nWATCH_PID={pid}\n"),
    );

    for name in ["stale", "same", "bare"] {
        let o = s.bed(&["exec", name, "true"]);
        assert!(
            !o.status.success() && text(&o).contains("is not running"),
            "{name}: {}",
            text(&o)
        );
        let o = s.bed(&["pebble-down", name]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let o = s.bed(&["sink-down", name]);
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
    for (name, dir) in [("stale", &stale), ("same", &same), ("bare", &bare)] {
        let o = s.bed(&["down", name]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(
            text(&o).contains("not the bed's PID 1"),
            "{name}: down says why it leaves the process alone: {}",
            text(&o)
        );
        assert!(!dir.exists(), "{name}: its files are removed: {}", text(&o));
        assert!(
            host.alive(),
            "bed down {name} killed the host process {pid}"
        );
    }
    let calls = s.shim_calls();
    assert!(
        !calls.contains("nsenter") && !calls.contains("systemctl"),
        "entered a host process or asked it to power off: {calls}"
    );
}

#[test]
fn a_fork_from_a_snapshot_of_another_user_is_refused() {
    root_only!();
    let s = Scene::new();
    fs::create_dir(s.beds()).unwrap();
    fs::set_permissions(s.beds(), fs::Permissions::from_mode(0o700)).unwrap();
    // A snapshot whose meta would make sed run a command, were it used.
    let snap = s.path("snap");
    fs::create_dir_all(snap.join("root")).unwrap();
    fs::write(
        snap.join("meta"),
        format!(
            "RELEASE=trixie\nHOST_IP=1#;e touch {}\n#\nFROM=x\n",
            s.marker(1).display()
        ),
    )
    .unwrap();
    std::os::unix::fs::chown(&snap, Some(65534), Some(65534)).unwrap();
    let o = s.bed(&["up", "f", "trixie", "--from", &snap.display().to_string()]);
    assert!(
        !o.status.success() && text(&o).contains("not a private directory of root"),
        "{}",
        text(&o)
    );
    s.assert_no_markers(1);
    assert!(!s.beds().join("f").exists());
    assert_eq!(s.shim_calls(), "");
}
