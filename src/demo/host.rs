//! Whether this machine can run the demo at all: Linux, root, and new namespaces allowed.
//! Asked before anything is touched; a refusal names the reason and what to do instead.
use crate::error::CliError;
use std::process::{Command, Stdio};
/// Why the demo cannot run on this machine, or `None` when it can: Linux (`os` as
/// `std::env::consts::OS`), root (`euid` 0), and new namespaces allowed (`namespaces`, asked
/// only when the rest holds: `Err(why)` when unshare(2) is refused). The error names the reason
/// and what to do instead; exit 2, nothing touched.
pub fn refusal(
    os: &str,
    euid: u32,
    namespaces: impl FnOnce() -> Result<(), String>,
) -> Option<CliError> {
    const ELSEWHERE: &str = "or run mailstead itself on a spare Debian 12 or 13 server or VM \
        (the README's \"Install on a server\")";
    let (why, fix) = if os != "linux" {
        (
            format!("this is {os}, and the demo's throwaway server needs Linux namespaces"),
            format!("run `sudo mailstead demo` on a Linux machine, {ELSEWHERE}"),
        )
    } else if euid != 0 {
        (
            "not running as root: the demo boots a throwaway Debian server in Linux namespaces \
             (mounts, a veth link, apt-get for its tools), which needs root"
                .to_string(),
            format!("run it as root: `sudo mailstead demo`, {ELSEWHERE}"),
        )
    } else if let Err(e) = namespaces() {
        (
            format!("this kernel or container does not allow new namespaces ({e})"),
            format!(
                "run it on a Linux host or VM that allows them (not inside an unprivileged \
                 container), {ELSEWHERE}"
            ),
        )
    } else {
        return None;
    };
    Some(
        CliError::bad_input(format!("mailstead demo cannot run here: {why}"))
            .with_fix(fix)
            .nothing_changed(),
    )
}

/// Can this process make mount, pid, net, uts and ipc namespaces? Asked with util-linux's
/// `unshare`; when that is missing the bed's tools are not installed yet: the boot will tell.
fn namespaces_allowed() -> Result<(), String> {
    match Command::new("unshare")
        .args([
            "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "unshare failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot run unshare: {e}")),
    }
}

pub(super) fn check_host() -> Result<(), CliError> {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    match refusal(std::env::consts::OS, euid, namespaces_allowed) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
