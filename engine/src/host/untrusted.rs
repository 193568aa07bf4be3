//! Reading a file in a place someone other than root controls (a user's home, a shared
//! directory), for [`Host::read_untrusted`](super::Host::read_untrusted): root must not be
//! made to read a file the user may not read (a symbolic link to `/etc/shadow`), to hang (a
//! FIFO nobody writes to), or to fill its memory (a link to `/dev/zero`, a huge file).
//! Issue 20, item 1.
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// Why a file in an untrusted place was not read, naming it (`path` is the system path).
fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}; not read", path.display()),
    )
}

fn c_name(name: &std::ffi::OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::other("a file name with a NUL byte"))
}

/// `openat(dir, name, flags)` as an owned descriptor.
fn open_at(dir: &OwnedFd, name: &CString, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: a valid descriptor and a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
fn lstat_at(dir: &OwnedFd, name: &CString) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is a valid value for fstatat to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, NUL-terminated name, a stat buffer of the right type.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn is_missing(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOENT)
}

/// The bytes of the regular file at system path `path` under `root`, at most `cap` of them.
/// `Ok(None)`: it (or a directory on the way) does not exist.
///
/// Directories on the way are opened one by one (`openat`): a symbolic link among them is
/// followed only when root owns it (the admin made it: `/home` linked to `/srv/home`); the
/// file itself is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO opens without waiting for a
/// writer) and read only when `fstat` on that descriptor says it is a regular file of at most
/// `cap` bytes; then at most `cap` bytes are read, so a file growing meanwhile changes nothing.
///
/// Errors (`InvalidData`, naming the path): a symbolic link, a FIFO, socket, device or
/// directory, a file larger than `cap`, a `..` in the path; or the system's own error.
pub(crate) fn read(root: &Path, path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let names: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::RootDir | Component::CurDir => None,
            Component::ParentDir | Component::Prefix(_) => {
                Some(Err(refused(path, "a path with `..` in it")))
            }
        })
        .collect::<io::Result<_>>()?;
    let Some((file, dirs)) = names.split_last() else {
        return Err(refused(path, "not a file"));
    };
    // The root itself (`/`, or the tree of `--root`) is the admin's choice: opened as given.
    let root_dir = File::open(root)?;
    let mut dir: OwnedFd = root_dir.into();
    for name in dirs {
        let c = c_name(name)?;
        dir = match open_at(
            &dir,
            &c,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        ) {
            Ok(fd) => fd,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => {
                let st = match lstat_at(&dir, &c) {
                    Ok(st) => st,
                    Err(e) if is_missing(&e) => return Ok(None),
                    Err(_) => return Err(e),
                };
                if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
                    return Err(e);
                }
                if st.st_uid != 0 {
                    return Err(refused(
                        path,
                        &format!(
                            "{} on the way is a symbolic link owned by uid {}",
                            name.to_string_lossy(),
                            st.st_uid
                        ),
                    ));
                }
                match open_at(&dir, &c, libc::O_PATH | libc::O_DIRECTORY) {
                    Ok(fd) => fd,
                    Err(e) if is_missing(&e) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        };
    }
    let c = c_name(file)?;
    let fd = match open_at(
        &dir,
        &c,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
    ) {
        Ok(fd) => fd,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "a symbolic link"))
        }
        Err(e) => return Err(e),
    };
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(refused(
            path,
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    if meta.len() > cap {
        return Err(refused(
            path,
            &format!("{} bytes, more than the {cap} allowed", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(refused(
            path,
            &format!("grew past the {cap} bytes allowed while read"),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::super::{Host, RealHost, UNTRUSTED_READ_CAP};
    use std::fs;
    use std::path::Path;

    /// A `--root` tree with `/home/eve/.ssh/`, as a user would own it.
    fn tree() -> (tempfile::TempDir, RealHost) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("home/eve/.ssh")).unwrap();
        fs::create_dir_all(dir.path().join("root/.ssh")).unwrap();
        fs::write(dir.path().join("root/.ssh/secret"), "root only\n").unwrap();
        let host = RealHost::new(dir.path());
        (dir, host)
    }

    const KEYS: &str = "/home/eve/.ssh/authorized_keys";

    fn real(dir: &tempfile::TempDir, p: &str) -> std::path::PathBuf {
        dir.path().join(p.trim_start_matches('/'))
    }

    fn refusal(host: &RealHost, p: &str) -> String {
        let e = host.read_untrusted(Path::new(p)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
        let text = e.to_string();
        assert!(text.contains(p), "the error does not name the file: {text}");
        text
    }

    #[test]
    fn a_regular_file_is_read_and_a_missing_one_is_none() {
        let (dir, host) = tree();
        fs::write(real(&dir, KEYS), "ssh-ed25519 AAAA eve\n").unwrap();
        let got = host.read_untrusted(Path::new(KEYS)).unwrap();
        assert_eq!(got.as_deref(), Some(&b"ssh-ed25519 AAAA eve\n"[..]));
        let none = host
            .read_untrusted(Path::new("/home/eve/.ssh/authorized_keys2"))
            .unwrap();
        assert!(none.is_none());
        let none = host
            .read_untrusted(Path::new("/home/bob/.ssh/authorized_keys"))
            .unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let (dir, host) = tree();
        std::os::unix::fs::symlink(real(&dir, "/root/.ssh/secret"), real(&dir, KEYS)).unwrap();
        let why = refusal(&host, KEYS);
        assert!(why.contains("symbolic link"), "{why}");
        // The plain read still follows it: the difference is the point.
        assert!(host.read(Path::new(KEYS)).unwrap().is_some());
    }

    #[test]
    fn a_directory_on_the_way_linked_by_a_user_is_not_followed() {
        let (dir, host) = tree();
        fs::remove_dir(real(&dir, "/home/eve/.ssh")).unwrap();
        std::os::unix::fs::symlink(real(&dir, "/root/.ssh"), real(&dir, "/home/eve/.ssh")).unwrap();
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Root's own links are followed; give this one to a user, as eve would have it.
            std::os::unix::fs::lchown(real(&dir, "/home/eve/.ssh"), Some(1000), Some(1000))
                .unwrap();
        }
        let why = refusal(&host, "/home/eve/.ssh/secret");
        assert!(why.contains("symbolic link owned by uid"), "{why}");
    }

    /// The admin's own links on the way are followed (`/home` moved elsewhere and linked).
    #[test]
    fn a_directory_on_the_way_linked_by_root_is_followed() {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: only root makes links root owns");
            return;
        }
        let (dir, host) = tree();
        fs::create_dir_all(real(&dir, "/srv/home/ann/.ssh")).unwrap();
        fs::write(real(&dir, "/srv/home/ann/.ssh/authorized_keys"), "k\n").unwrap();
        fs::remove_dir_all(real(&dir, "/home")).unwrap();
        std::os::unix::fs::symlink(real(&dir, "/srv/home"), real(&dir, "/home")).unwrap();
        let got = host
            .read_untrusted(Path::new("/home/ann/.ssh/authorized_keys"))
            .unwrap();
        assert_eq!(got.as_deref(), Some(&b"k\n"[..]));
    }

    /// Plan mode reads through an overlay: it must hand the read to the real host, not read
    /// the FIFO itself.
    #[test]
    fn an_overlay_refuses_a_fifo_without_blocking() {
        let (dir, host) = tree();
        let fifo = std::ffi::CString::new(real(&dir, KEYS).to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let overlay = crate::memhost::MemHost::overlay(&host);
        let e = overlay.read_untrusted(Path::new(KEYS)).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (dir, host) = tree();
        let fifo = std::ffi::CString::new(real(&dir, KEYS).to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        // Were the open blocking, this test would never end (no writer ever comes).
        let why = refusal(&host, KEYS);
        assert!(why.contains("not a regular file"), "{why}");
    }

    #[test]
    fn a_device_is_refused() {
        let (dir, host) = tree();
        let node = std::ffi::CString::new(real(&dir, KEYS).to_str().unwrap()).unwrap();
        // /dev/zero's numbers (1, 5); only root may make device nodes.
        // SAFETY: a NUL-terminated path.
        let made =
            unsafe { libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) };
        if made != 0 {
            eprintln!("skipped: making a device node needs root");
            return;
        }
        let why = refusal(&host, KEYS);
        assert!(why.contains("not a regular file"), "{why}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let (dir, host) = tree();
        let f = fs::File::create(real(&dir, KEYS)).unwrap();
        // Sparse: no real megabytes written.
        f.set_len(UNTRUSTED_READ_CAP + 1).unwrap();
        let why = refusal(&host, KEYS);
        assert!(why.contains("more than the"), "{why}");
        f.set_len(UNTRUSTED_READ_CAP).unwrap();
        let got = host.read_untrusted(Path::new(KEYS)).unwrap().unwrap();
        assert_eq!(got.len() as u64, UNTRUSTED_READ_CAP);
    }

    /// What snapshots read: no link followed, but no cap either.
    #[test]
    fn read_nofollow_refuses_a_link_and_reads_a_big_file() {
        let (dir, host) = tree();
        std::os::unix::fs::symlink(real(&dir, "/root/.ssh/secret"), real(&dir, KEYS)).unwrap();
        assert!(host.read_nofollow(Path::new(KEYS)).is_err());
        let big = vec![b'#'; UNTRUSTED_READ_CAP as usize * 2];
        fs::write(real(&dir, "/root/.ssh/big"), &big).unwrap();
        let got = host.read_nofollow(Path::new("/root/.ssh/big")).unwrap();
        assert_eq!(got.map(|b| b.len()), Some(big.len()));
        assert!(host
            .read_nofollow(Path::new("/root/.ssh/none"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_path_with_dot_dot_is_refused() {
        let (_dir, host) = tree();
        refusal(&host, "/home/eve/../../etc/shadow");
    }
}
