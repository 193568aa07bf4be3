//! A throwaway server tree for `--root` tests: a tiny /bin (sh, chmod, mkdir and their
//! libraries, so `chroot` works), a few files with unusual modes and owners, an answers file.
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const PASSWORD: &str = "a long passphrase for alice";

pub const ANSWERS: &str = "hostname: mail.example.test
admin_email: admin@example.test
domains:
  - name: example.test
    mailboxes:
      - address: alice@example.test
        password: \"a long passphrase for alice\"
    aliases:
      - from: info@example.test
        to: alice@example.test
";

pub struct Tree {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    /// The mailstead binary run against the tree (`CARGO_BIN_EXE_mailstead` of the caller).
    bin: PathBuf,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Copies a binary and the shared libraries `ldd` names into the tree.
pub fn install_binary(root: &Path, bin: &str, as_name: &str) {
    let dest = root.join(as_name.trim_start_matches('/'));
    fs::create_dir_all(dest.parent().unwrap()).unwrap();
    fs::copy(bin, &dest).unwrap();
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(str::to_string);
        if let Some(lib) = path {
            let real = fs::canonicalize(&lib).unwrap();
            let d = root.join(lib.trim_start_matches('/'));
            fs::create_dir_all(d.parent().unwrap()).unwrap();
            if !d.exists() {
                fs::copy(&real, &d).unwrap();
            }
        }
    }
}

impl Tree {
    /// A new tree that `bin` (a mailstead binary) is run against; None (with a note) when not
    /// root: chroot and chown need it.
    pub fn new(bin: impl Into<PathBuf>) -> Option<Tree> {
        if !is_root() {
            eprintln!("skipped: sandbox tests need root (chroot, chown); CI runs them as root");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        fs::create_dir_all(&root).unwrap();
        install_binary(&root, "/bin/dash", "/bin/sh");
        for b in ["chmod", "mkdir"] {
            install_binary(&root, &format!("/bin/{b}"), &format!("/bin/{b}"));
        }
        for d in ["etc/demo", "etc/mailstead", "var/lib", "tmp"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        // Owners are named in changes and resolved through the tree's own databases.
        fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            root.join("etc/group"),
            "root:x:0:\nadm:x:4:\nadmin:x:1000:\n",
        )
        .unwrap();
        let t = Tree {
            tmp,
            root,
            bin: bin.into(),
        };
        let existing = t.path("etc/demo/existing.conf");
        fs::write(&existing, "old = 1\n").unwrap();
        set_mode(&existing, 0o644);
        std::os::unix::fs::chown(&existing, Some(1000), Some(1000)).unwrap();
        let obsolete = t.path("etc/demo/obsolete.conf");
        fs::write(&obsolete, "remove me\n").unwrap();
        set_mode(&obsolete, 0o600);
        std::os::unix::fs::chown(&obsolete, Some(0), Some(4)).unwrap();
        std::os::unix::fs::symlink("existing.conf", t.path("etc/demo/link.conf")).unwrap();
        t.write_answers(ANSWERS);
        Some(t)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write_answers(&self, yaml: &str) {
        let p = self.path("etc/mailstead/mailstead.yaml");
        fs::write(&p, yaml).unwrap();
        set_mode(&p, 0o600);
    }

    pub fn mailstead(&self, args: &[&str]) -> Out {
        self.mailstead_env(args, &[])
    }

    pub fn mailstead_env(&self, args: &[&str], env: &[(&str, String)]) -> Out {
        let out = self.command(args, env).output().unwrap();
        use std::os::unix::process::ExitStatusExt;
        Out {
            code: out
                .status
                .code()
                .unwrap_or_else(|| -out.status.signal().unwrap_or(0)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The binary with `input` on stdin (`--password-stdin`).
    pub fn mailstead_stdin(&self, args: &[&str], input: &str) -> Out {
        use std::io::Write;
        let mut c = self.command(args, &[]);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The binary with stdout into a pipe whose reader reads one line and closes it
    /// (`mailstead runs | head -1`).
    pub fn mailstead_head1(&self, args: &[&str]) -> (i32, String) {
        use std::io::{BufRead, BufReader};
        let mut child = self
            .command(args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        {
            let mut r = BufReader::new(child.stdout.take().unwrap());
            r.read_line(&mut first).unwrap();
        } // reader dropped: the pipe is closed
        let out = child.wait_with_output().unwrap();
        use std::os::unix::process::ExitStatusExt;
        let code = out
            .status
            .code()
            .unwrap_or_else(|| -out.status.signal().unwrap_or(0));
        (code, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    pub fn spawn_env(&self, args: &[&str], env: &[(&str, String)]) -> std::process::Child {
        self.command(args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        // Another build of mailstead to compare with (the engine benchmark against an
        // earlier commit's binary); this build's by default.
        let bin = std::env::var_os("MAILSTEAD_TREE_BIN")
            .unwrap_or_else(|| self.bin.clone().into_os_string());
        let mut c = Command::new(bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c.env_remove("FAILPOINTS");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Every path with kind, mode, owner and content hash, except mailstead's own state.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        let mut m = snapshot_tree(&self.root);
        m.retain(|k, _| !k.starts_with("var/lib/mailstead"));
        m
    }

    /// The same, mailstead's own state included (plan and refusals must not create it).
    pub fn snapshot_all(&self) -> BTreeMap<String, String> {
        snapshot_tree(&self.root)
    }
}

pub fn snapshot_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
    let m = fs::symlink_metadata(p).unwrap();
    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
    let head = format!("{:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid());
    let v = if m.file_type().is_symlink() {
        format!("link {head} -> {}", fs::read_link(p).unwrap().display())
    } else if m.is_dir() {
        format!("dir {head}")
    } else {
        let h = Sha256::digest(fs::read(p).unwrap());
        format!("file {head} {h:x}")
    };
    out.insert(rel, v);
    if m.is_dir() {
        let mut names: Vec<_> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for n in names {
            walk(root, &n, out);
        }
    }
}

/// Files below `dir` whose bytes contain `needle`.
pub fn grep_tree(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                hits.extend(grep_tree(&p, needle));
            } else if let Ok(b) = fs::read(&p) {
                if b.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(p);
                }
            }
        }
    }
    hits
}
