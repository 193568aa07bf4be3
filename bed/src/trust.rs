//! What root may trust of the places the bed shares with other users (issue 20 items 1, 2):
//! the beds and cache directories must be root's own ([`check_private_dir`], [`private_dir`]),
//! lock files in them are opened without following links ([`open_lock`]), and a recorded
//! process is the same one only when its start time and the boot match too ([`same_process`]).
//! The bed script applies the same rules (`private_dir`, `lock_path`, `same_proc` in `bed/bed`).
use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where the beds live: `MAILSTEAD_BED_DIR`, default `/var/tmp/mailstead-beds` (as the bed
/// script has it).
pub fn beds_dir() -> PathBuf {
    std::env::var_os("MAILSTEAD_BED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/mailstead-beds"))
}

/// Ok(true): `path` is a directory (lstat: not a symlink) owned by root that neither its group
/// nor others can write. Ok(false): nothing is there. Err(message naming the path and the fix):
/// anything else (a symlink, another owner, group/other-writable, not a directory, unreadable).
pub fn check_private_dir(path: &Path) -> Result<bool, String> {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    };
    let kind = if m.file_type().is_symlink() {
        "a symlink"
    } else if m.is_dir() {
        "a directory"
    } else {
        "not a directory"
    };
    if m.is_dir() && m.uid() == 0 && m.mode() & 0o022 == 0 {
        return Ok(true);
    }
    Err(format!(
        "{} is not a private directory of root ({kind}, owner uid {}, mode {:o}): another user \
         could plant files there that root would run or overwrite; remove it (after checking \
         what is in it) or point MAILSTEAD_BED_DIR / MAILSTEAD_BED_CACHE at a directory only \
         root can write",
        path.display(),
        m.uid(),
        m.mode() & 0o7777
    ))
}

/// [`check_private_dir`], making `path` first (mode 0700, missing parents as usual) when
/// nothing is there; checked again after the mkdir (another user may have won the race). The
/// parent must be root's and not writable by others unless sticky (like /var/tmp): else a user
/// could rename `path` away and put their own in its place.
pub fn private_dir(path: &Path) -> Result<(), String> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    if !parent.exists() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let p = std::fs::metadata(parent)
        .map_err(|e| format!("cannot inspect {}: {e}", parent.display()))?;
    if p.uid() != 0 || (p.mode() & 0o022 != 0 && p.mode() & 0o1000 == 0) {
        return Err(format!(
            "{} (parent of {}) can be changed by a user other than root (uid {}, mode {:o}):              they could replace it; use a directory in a root-only or sticky parent              (MAILSTEAD_BED_DIR, MAILSTEAD_BED_CACHE)",
            parent.display(),
            path.display(),
            p.uid(),
            p.mode() & 0o7777
        ));
    }
    if !check_private_dir(path)? {
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
        if !check_private_dir(path)? {
            return Err(format!("{} vanished after it was created", path.display()));
        }
    }
    Ok(())
}

/// A lock file opened for flock: created 0600 when missing, never truncated, never through a
/// symlink (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK), and only a regular file.
/// Its directory must have passed [`private_dir`].
pub fn open_lock(path: &Path) -> io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(f)
}

/// START@BOOT_ID of live process `pid` (start time in clock ticks after boot, field 22 of
/// `/proc/PID/stat`; `/proc/sys/kernel/random/boot_id`), the identity the bed script records
/// next to each PID (`*_PID_ID`). None: no such process (or no procfs).
pub fn process_id(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    let start = fields.get(19)?;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(format!("{start}@{}", boot.trim()))
}

/// Is `pid` still the process recorded with identity `id` (START@BOOT_ID)? False for an empty
/// `id`, a dead process, a zombie, or a number now used by another process.
pub fn same_process(pid: i32, id: &str) -> bool {
    pid > 0 && !id.is_empty() && process_id(pid).as_deref() == Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn only_a_root_owned_unwritable_real_directory_is_private() {
        if !is_root() {
            eprintln!("SKIPPED: needs root (owner checks)");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("beds");
        assert_eq!(check_private_dir(&d), Ok(false));
        private_dir(&d).unwrap();
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        assert_eq!(check_private_dir(&d), Ok(true));

        std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
        let e = private_dir(&d).unwrap_err();
        assert!(e.contains("owner uid 65534") && e.contains("beds"), "{e}");
        std::os::unix::fs::chown(&d, Some(0), None).unwrap();

        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_private_dir(&d).unwrap_err().contains("mode 777"));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_private_dir(&d), Ok(true));

        let link = t.path().join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(check_private_dir(&link).unwrap_err().contains("a symlink"));
    }

    #[test]
    fn a_lock_is_never_opened_through_a_link_nor_truncated() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        let lock = t.path().join(".lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        assert!(open_lock(&lock).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        // An existing regular lock file is kept as it is.
        assert!(open_lock(&victim).is_ok());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn a_process_is_the_recorded_one_only_with_its_start_time_and_boot() {
        let me = std::process::id() as i32;
        let id = process_id(me).expect("this process has an identity");
        assert!(same_process(me, &id));
        let (start, boot) = id.split_once('@').unwrap();
        let other_start = format!("{}@{boot}", start.parse::<u64>().unwrap() + 1);
        assert!(!same_process(me, &other_start));
        assert!(!same_process(
            me,
            &format!("{start}@00000000-0000-0000-0000-000000000000")
        ));
        assert!(!same_process(me, ""));
    }
}
