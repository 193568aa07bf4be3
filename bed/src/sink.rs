//! The outside world's mailbox: the `.eml` files `bed sink-up`'s receiver writes.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The first `.eml` in `dir` (by name: `0001.eml`, `0002.eml`...) whose raw text contains
/// `needle`, waiting up to `secs` for it. Ok(None) when none came in time;
/// Err([`crate::Interrupted`]) as soon as `interrupted` says so (polled every 300 ms).
pub fn wait_for_message(
    dir: &Path,
    needle: &str,
    secs: u64,
    interrupted: &dyn Fn() -> bool,
) -> Result<Option<PathBuf>, crate::Interrupted> {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if interrupted() {
            return Err(crate::Interrupted);
        }
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter(|p| read_message(p).is_some_and(|t| t.contains(needle)))
                .collect();
            found.sort();
            if let Some(p) = found.into_iter().next() {
                return Ok(Some(p));
            }
        }
        if Instant::now() >= end {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// [`wait_for_message`] without interruption, for the tests: the message, or None after
/// `secs`.
pub fn sink_message(dir: &Path, needle: &str, secs: u64) -> Option<PathBuf> {
    wait_for_message(dir, needle, secs, &|| false).unwrap_or(None)
}

/// A message the receiver wrote, read the way root reads what lives in a shared place: not
/// through a link, no FIFO to block on, a regular file of at most 16 MiB. None otherwise.
fn read_message(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const MAX: u64 = 16 << 20;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.len() > MAX {
        return None;
    }
    let mut text = String::new();
    f.take(MAX).read_to_string(&mut text).ok()?;
    Some(text)
}
