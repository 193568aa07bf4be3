//! The Host: the one door through which every effect on the system passes.
//!
//! Paths given to a Host are always system paths (`/etc/app/app.conf`); a Host built with
//! `--root DIR` maps them under DIR and runs commands through `chroot DIR`, so the same code
//! runs against a server or a directory tree in a test.
use std::fmt;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

mod cmd;
mod untrusted;

/// The most [`Host::read_untrusted`] reads: 1 MiB, far above any `authorized_keys` a person
/// keeps, far below what would hurt.
pub const UNTRUSTED_READ_CAP: u64 = 1 << 20;

/// Mode and owner of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Meta {
    pub const fn root(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
        }
    }
}

impl fmt::Display for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o} {}:{}", self.mode & 0o7777, self.uid, self.gid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// What `lstat` says about a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    pub meta: Meta,
}

pub use cmd::{Cmd, Explain, Output};

/// Held while a run owns the system; dropping it releases the lock.
pub trait LockGuard: Send {}

pub trait Host: Send + Sync {
    /// The directory system paths are mapped under (`/` on a real server).
    fn root(&self) -> &Path;
    /// lstat: None when the path does not exist.
    fn stat(&self, path: &Path) -> io::Result<Option<Stat>>;
    /// A regular file's bytes; None when absent.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// A file's bytes from a place a user controls (their home; a shared directory), where
    /// [`Host::read`] could be made to read what the user may not (a symbolic link to a
    /// root-only file), to hang (a FIFO) or to exhaust memory (`/dev/zero`, a huge file).
    /// `None` when absent. Errors (`InvalidData`, naming the path): a symbolic link (a
    /// directory on the way may be one only when root owns it), anything but a regular file,
    /// more than [`UNTRUSTED_READ_CAP`] bytes. Never blocks on a FIFO.
    ///
    /// The default, for hosts without a filesystem of their own (fakes, wrappers), checks with
    /// [`Host::stat`] first; [`RealHost`] opens with `O_NOFOLLOW | O_NONBLOCK` and checks the
    /// open descriptor, so nothing can be swapped in between.
    fn read_untrusted(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let refused = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {why}; not read", path.display()),
            )
        };
        match self.stat(path)? {
            None => Ok(None),
            Some(st) if st.kind == Kind::Symlink => Err(refused("a symbolic link")),
            Some(st) if st.kind != Kind::File => Err(refused("not a regular file")),
            Some(_) => match self.read(path)? {
                Some(b) if b.len() as u64 > UNTRUSTED_READ_CAP => Err(refused(&format!(
                    "{} bytes, more than the {UNTRUSTED_READ_CAP} allowed",
                    b.len()
                ))),
                other => Ok(other),
            },
        }
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// Entry names of a directory, sorted.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// temp file + fsync + rename + fsync of the directory, with mode and owner set before
    /// the rename, so no reader ever sees a half-written or wrongly-owned file.
    fn write_atomic(&self, path: &Path, content: &[u8], meta: Meta) -> io::Result<()>;
    /// Appends and fsyncs (journals): the record is on disk before the change it describes.
    fn append_sync(&self, path: &Path, content: &[u8]) -> io::Result<()>;
    /// Appends without waiting for the disk: for logs people read, whose last lines may be
    /// lost in a power cut (the journal, appended with [`Host::append_sync`], is what counts).
    fn append(&self, path: &Path, content: &[u8]) -> io::Result<()> {
        self.append_sync(path, content)
    }
    fn create_dir(&self, path: &Path, meta: Meta) -> io::Result<()>;
    fn symlink(&self, target: &Path, path: &Path, uid: u32, gid: u32) -> io::Result<()>;
    fn set_meta(&self, path: &Path, meta: Meta) -> io::Result<()>;
    /// Removes a file, a symlink or an empty directory.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Runs a command to completion. A non-zero exit is an `Output`, not an error; an error
    /// means the command could not be started.
    fn run(&self, cmd: &Cmd) -> io::Result<Output>;
    /// Runs a command as [`Host::run`] does, handing each line it prints to `on_line` as it
    /// appears: stdout and stderr merged in the order printed, without the line end (a line
    /// redrawn with `\r` counts as its last state). Lines are passed as printed; stdin (where
    /// secrets go) is never echoed. The returned `Output` still holds everything printed (in
    /// `stdout`), for error messages.
    ///
    /// The default runs [`Host::run`] and replays its lines afterwards.
    fn run_streaming(&self, cmd: &Cmd, on_line: &mut dyn FnMut(&str)) -> io::Result<Output> {
        let out = self.run(cmd)?;
        replay(&out, on_line);
        Ok(out)
    }
    /// An exclusive lock on a file; fails at once when another process holds it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn LockGuard>>;

    // ---- conveniences built on the primitives above ----

    fn exists(&self, path: &Path) -> bool {
        matches!(self.stat(path), Ok(Some(_)))
    }

    fn read_string(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self
            .read(path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The file at `path` itself, for a snapshot of what [`Host::stat`] just called a file: a
    /// symbolic link swapped in since, by whoever may write its directory, is an error, not
    /// followed, so no other file's content (a root-only one) lands in a snapshot that a
    /// rollback would write back there. No size cap. `None` when absent.
    ///
    /// The default checks with [`Host::stat`] first; [`RealHost`] reads as
    /// [`Host::read_untrusted`] does, without the cap.
    fn read_nofollow(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match self.stat(path)? {
            None => Ok(None),
            Some(st) if st.kind == Kind::Symlink => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: a symbolic link; not read", path.display()),
            )),
            Some(_) => self.read(path),
        }
    }

    /// [`Host::read_untrusted`] as text (invalid UTF-8 replaced).
    fn read_untrusted_string(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self
            .read_untrusted(path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// Creates missing parents (mode 0755, root) of `path`.
    fn create_dir_all(&self, path: &Path, meta: Meta) -> io::Result<()> {
        if self.exists(path) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            if parent != path {
                self.create_dir_all(parent, Meta::root(0o755))?;
            }
        }
        self.create_dir(path, meta)
    }

    /// Removes a path and everything below it.
    fn remove_all(&self, path: &Path) -> io::Result<()> {
        match self.stat(path)? {
            None => Ok(()),
            Some(st) if st.kind == Kind::Dir => {
                for name in self.list_dir(path)? {
                    self.remove_all(&path.join(name))?;
                }
                self.remove(path)
            }
            Some(_) => self.remove(path),
        }
    }

    /// uid of a user in the host's /etc/passwd.
    fn user_id(&self, name: &str) -> Option<u32> {
        id_from_db(self, "/etc/passwd", name)
    }

    /// gid of a group in the host's /etc/group.
    fn group_id(&self, name: &str) -> Option<u32> {
        id_from_db(self, "/etc/group", name)
    }

    /// Name of a uid in the host's /etc/passwd.
    fn user_name(&self, uid: u32) -> Option<String> {
        name_from_db(self, "/etc/passwd", uid)
    }

    /// Name of a gid in the host's /etc/group.
    fn group_name(&self, gid: u32) -> Option<String> {
        name_from_db(self, "/etc/group", gid)
    }
}

/// Hands the lines of a finished command's output to `on_line`: stdout, then stderr.
pub fn replay(out: &Output, on_line: &mut dyn FnMut(&str)) {
    for text in [&out.stdout, &out.stderr] {
        for line in text.lines() {
            on_line(line);
        }
    }
}

/// Reads `input` line by line until EOF, handing each line to `on_line` (see
/// [`Host::run_streaming`]) and keeping every byte in `all`.
pub fn read_lines(
    mut input: impl BufRead,
    all: &mut Vec<u8>,
    on_line: &mut dyn FnMut(&str),
) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        all.extend_from_slice(&buf);
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        // A progress display redraws its line with `\r`: what counts is its last state.
        let line = text.rsplit('\r').find(|s| !s.is_empty()).unwrap_or("");
        on_line(line);
    }
}

fn name_from_db<H: Host + ?Sized>(host: &H, db: &str, id: u32) -> Option<String> {
    let text = host.read_string(Path::new(db)).ok()??;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}

fn id_from_db<H: Host + ?Sized>(host: &H, db: &str, name: &str) -> Option<u32> {
    let text = host.read_string(Path::new(db)).ok()??;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.parse().ok()
    })
}

/// The real system, or a directory tree standing in for one (`--root`).
pub struct RealHost {
    root: PathBuf,
}

impl RealHost {
    pub fn new(root: impl Into<PathBuf>) -> RealHost {
        RealHost { root: root.into() }
    }

    /// The real path of a system path.
    pub fn real(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        if rel.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    fn is_chrooted(&self) -> bool {
        self.root != Path::new("/")
    }

    /// The command as duct runs it: under `chroot` for `--root`, stable environment, stdin.
    fn expression(&self, cmd: &Cmd) -> duct::Expression {
        let (program, mut args) = if self.is_chrooted() {
            let mut a = vec![
                self.root.to_string_lossy().into_owned(),
                cmd.program.clone(),
            ];
            a.extend(cmd.args.iter().cloned());
            ("chroot".to_string(), a)
        } else {
            (cmd.program.clone(), cmd.args.clone())
        };
        if program == "chroot" && args.is_empty() {
            args.push("/".into());
        }
        let mut expr = duct::cmd(program, args)
            .unchecked()
            // A stable, non-localised environment so output parsing works everywhere.
            .env("LC_ALL", "C.UTF-8")
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            );
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        expr = match &cmd.stdin {
            Some(s) => expr.stdin_bytes(s.expose().as_bytes().to_vec()),
            None => expr.stdin_null(),
        };
        expr
    }
}

/// Sets owner, then mode (chown clears setuid bits) through an open descriptor: a path could
/// be swapped for a symbolic link in between by whoever may write its directory (a service's
/// or a user's), and root would then change the link's target instead.
fn set_meta_of(f: &std::fs::File, meta: Meta) -> io::Result<()> {
    std::os::unix::fs::fchown(f, Some(meta.uid), Some(meta.gid))?;
    f.set_permissions(std::fs::Permissions::from_mode(meta.mode))
}

/// `path` itself, opened to change its owner and mode: never through a symbolic link (ELOOP),
/// never waiting on a FIFO.
fn open_itself(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

struct FileLock(#[allow(dead_code)] std::fs::File);
impl LockGuard for FileLock {}

impl Host for RealHost {
    fn root(&self) -> &Path {
        &self.root
    }

    fn stat(&self, path: &Path) -> io::Result<Option<Stat>> {
        match std::fs::symlink_metadata(self.real(path)) {
            Ok(m) => {
                let ft = m.file_type();
                let kind = if ft.is_symlink() {
                    Kind::Symlink
                } else if ft.is_dir() {
                    Kind::Dir
                } else if ft.is_file() {
                    Kind::File
                } else {
                    Kind::Other
                };
                Ok(Some(Stat {
                    kind,
                    meta: Meta {
                        mode: m.mode() & 0o7777,
                        uid: m.uid(),
                        gid: m.gid(),
                    },
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opened with `O_NONBLOCK` and read only when `fstat` says regular file: a FIFO or a
    /// device put where a file was (or behind a link to one) is an error, never a hang or an
    /// endless read (issue 20, item 1). Links are followed, as system files need.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(self.real(path));
        let mut f = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = f.metadata()?;
        if !meta.file_type().is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: not a regular file (a directory, FIFO, socket or device); not read",
                    path.display()
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        f.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn read_untrusted(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        untrusted::read(&self.root, path, UNTRUSTED_READ_CAP)
    }

    fn read_nofollow(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        untrusted::read(&self.root, path, u64::MAX)
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(self.real(path))
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(self.real(path))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<_>>()?;
        names.sort();
        Ok(names)
    }

    fn write_atomic(&self, path: &Path, content: &[u8], meta: Meta) -> io::Result<()> {
        let real = self.real(path);
        let dir = real
            .parent()
            .ok_or_else(|| io::Error::other("no parent directory"))?;
        let name = real
            .file_name()
            .ok_or_else(|| io::Error::other("no file name"))?
            .to_string_lossy();
        let tmp = dir.join(format!(".{name}.mailstead-{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_0600()
                .open(&tmp)?;
            f.write_all(content)?;
            // The file stays 0600 until owner and mode are both right.
            set_meta_of(&f, meta)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &real)?;
            fsync_dir(dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn append_sync(&self, path: &Path, content: &[u8]) -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode_0600()
            .open(self.real(path))?;
        f.write_all(content)?;
        f.sync_data()
    }

    fn append(&self, path: &Path, content: &[u8]) -> io::Result<()> {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode_0600()
            .open(self.real(path))?
            .write_all(content)
    }

    fn create_dir(&self, path: &Path, meta: Meta) -> io::Result<()> {
        let real = self.real(path);
        std::fs::create_dir(&real)?;
        set_meta_of(&open_itself(&real)?, meta)?;
        if let Some(parent) = real.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    }

    fn symlink(&self, target: &Path, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        let real = self.real(path);
        std::os::unix::fs::symlink(target, &real)?;
        std::os::unix::fs::lchown(&real, Some(uid), Some(gid))
    }

    fn set_meta(&self, path: &Path, meta: Meta) -> io::Result<()> {
        set_meta_of(&open_itself(&self.real(path))?, meta)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let real = self.real(path);
        let m = std::fs::symlink_metadata(&real)?;
        if m.is_dir() {
            std::fs::remove_dir(&real)
        } else {
            std::fs::remove_file(&real)
        }
    }

    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        if cmd.status_fd.is_some() {
            // Its status descriptor needs a pipe of its own, which the streaming path makes.
            return self.run_streaming(cmd, &mut |_: &str| {});
        }
        let expr = self
            .expression(cmd)
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        let handle = expr.start()?;
        let out = match cmd.timeout {
            Some(t) => match handle.wait_timeout(t)? {
                Some(o) => o.clone(),
                None => {
                    let _ = handle.kill();
                    return Ok(Output {
                        status: -1,
                        stdout: String::new(),
                        stderr: format!("timed out after {}s", t.as_secs()),
                    });
                }
            },
            None => handle.into_output()?,
        };
        Ok(Output {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn run_streaming(&self, cmd: &Cmd, on_line: &mut dyn FnMut(&str)) -> io::Result<Output> {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::mpsc;
        // One pipe for both streams, so lines come in the order they were printed.
        let mut expr = self.expression(cmd).stderr_to_stdout().unchecked();
        // The status descriptor: a pipe of its own, read by a thread, its lines handed on
        // between output lines (and all of them at the end).
        let mut status = None;
        if let Some(fd) = cmd.status_fd {
            let (status_reader, status_writer) = os_pipe::pipe()?;
            let w = std::os::fd::AsRawFd::as_raw_fd(&status_writer);
            expr = expr.before_spawn(move |c| {
                use std::os::unix::process::CommandExt;
                // SAFETY: dup2 and fcntl are async-signal-safe; only the child runs this.
                unsafe {
                    c.pre_exec(move || {
                        if w == fd {
                            // dup2 onto itself keeps close-on-exec: clear it by hand.
                            let flags = libc::fcntl(fd, libc::F_GETFD);
                            if flags < 0
                                || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
                            {
                                return Err(io::Error::last_os_error());
                            }
                        } else if libc::dup2(w, fd) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                Ok(())
            });
            status = Some((status_reader, status_writer));
        }
        let reader = expr.reader()?;
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let status_thread = status.map(|(r, w)| {
            // Our copy of the write end goes, so the thread sees EOF when the command ends.
            drop(w);
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = read_lines(io::BufReader::new(r), &mut sink, &mut |l: &str| {
                    let _ = lines_tx.send(l.to_string());
                });
            })
        });
        let mut on_line = |line: &str| {
            while let Ok(s) = lines_rx.try_recv() {
                on_line(&s);
            }
            on_line(line);
        };
        let on_line: &mut dyn FnMut(&str) = &mut on_line;
        let timed_out = AtomicBool::new(false);
        let mut all = Vec::new();
        let read = std::thread::scope(|s| {
            let (done, wait) = mpsc::channel::<()>();
            if let Some(t) = cmd.timeout {
                let (reader, timed_out) = (&reader, &timed_out);
                // Kills the command when it runs too long; the read below then ends.
                s.spawn(move || {
                    if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(t) {
                        timed_out.store(true, Ordering::SeqCst);
                        let _ = reader.kill();
                    }
                });
            }
            let read = read_lines(io::BufReader::new(&reader), &mut all, on_line);
            drop(done);
            read
        });
        if let Err(e) = read {
            let _ = reader.kill();
            return Err(e);
        }
        if let Some(t) = status_thread {
            let _ = t.join();
        }
        while let Ok(s) = lines_rx.try_recv() {
            on_line(&s);
        }
        let stdout = String::from_utf8_lossy(&all).into_owned();
        let status = match reader.try_wait()? {
            Some(o) => o.status.code().unwrap_or(-1),
            None => -1,
        };
        // Killed by the watchdog (a command that ended just in time keeps its own status).
        if status == -1 && timed_out.load(Ordering::SeqCst) {
            return Ok(Output {
                status,
                stdout,
                stderr: format!(
                    "timed out after {}s",
                    cmd.timeout.unwrap_or_default().as_secs()
                ),
            });
        }
        Ok(Output {
            status,
            stdout,
            stderr: String::new(),
        })
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn LockGuard>> {
        use fs4::fs_std::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode_0600()
            .open(self.real(path))?;
        // A non-blocking flock: it dies with the process, so a killed run never leaves a stale
        // lock behind. `false`: another process holds it.
        if !f.try_lock_exclusive()? {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another mailstead run holds the lock",
            ));
        }
        Ok(Box::new(FileLock(f)))
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}
impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let host = RealHost::new(dir.path());
        let first = host.lock(Path::new("/run.lock")).unwrap();
        let err = host.lock(Path::new("/run.lock")).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(err.to_string(), "another mailstead run holds the lock");
        drop(first);
        host.lock(Path::new("/run.lock")).unwrap();
    }
}

#[cfg(test)]
mod meta_tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Owner and mode are set on the path itself: a symbolic link swapped in by whoever may
    /// write the directory is refused, and what it points to keeps its mode.
    #[test]
    fn set_meta_does_not_follow_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let host = RealHost::new(dir.path());
        let target = dir.path().join("precious");
        std::fs::write(&target, "x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("swapped")).unwrap();
        let (uid, gid) = (
            std::fs::metadata(&target).unwrap().uid(),
            std::fs::metadata(&target).unwrap().gid(),
        );
        let meta = Meta {
            mode: 0o666,
            uid,
            gid,
        };
        assert!(host.set_meta(Path::new("/swapped"), meta).is_err());
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
        // A plain file and a directory are changed as before.
        host.set_meta(Path::new("/precious"), meta).unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o666);
        host.create_dir(
            Path::new("/d"),
            Meta {
                mode: 0o750,
                ..meta
            },
        )
        .unwrap();
        let d = std::fs::metadata(dir.path().join("d")).unwrap();
        assert_eq!(d.mode() & 0o7777, 0o750);
        host.write_atomic(
            Path::new("/f"),
            b"y",
            Meta {
                mode: 0o640,
                ..meta
            },
        )
        .unwrap();
        let f = std::fs::metadata(dir.path().join("f")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o640);
    }

    /// The plain read follows links as before, but reads no FIFO (the test would never end)
    /// and no device.
    #[test]
    fn read_refuses_a_fifo_and_a_device_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let host = RealHost::new(dir.path());
        let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let e = host.read(Path::new("/fifo")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
        assert!(host.read(Path::new("/zero")).is_err());
        std::fs::write(dir.path().join("file"), "x").unwrap();
        std::os::unix::fs::symlink("file", dir.path().join("link")).unwrap();
        assert_eq!(host.read(Path::new("/link")).unwrap().unwrap(), b"x");
        assert!(host.read(Path::new("/missing")).unwrap().is_none());
        assert!(host.read(Path::new("/")).is_err());
    }
}
