//! Whether this machine can run the demo at all: Linux, root, and new namespaces allowed.
//! Asked before anything is touched; a refusal names the reason and what to do instead. And
//! whether the demo may install the bed's host tools here.
use super::hints::invoked_as;
use super::{Stage, Stop};
use crate::error::CliError;
use std::process::{Command, Stdio};
/// Why the demo cannot run on this machine, or `None` when it can: Linux (`os` as
/// `std::env::consts::OS`), root (`euid` 0), and new namespaces allowed (`namespaces`, asked
/// only when the rest holds: `Err(why)` when unshare(2) is refused). The error names the reason
/// and what to do instead (naming `me`, the path mailstead was started by); exit 2, nothing
/// touched.
pub fn refusal(
    me: &str,
    os: &str,
    euid: u32,
    namespaces: impl FnOnce() -> Result<(), String>,
) -> Option<CliError> {
    const ELSEWHERE: &str = "or run mailstead itself on a spare Debian 12 or 13 server or VM \
        (the README's \"Install on a server\")";
    let (why, fix) = if os != "linux" {
        (
            format!("this is {os}, and the demo's throwaway server needs Linux namespaces"),
            format!("run `sudo {me} demo` on a Linux machine, {ELSEWHERE}"),
        )
    } else if euid != 0 {
        (
            "not running as root: the demo boots a throwaway Debian server in Linux namespaces \
             (mounts, a veth link, apt-get for its tools), which needs root"
                .to_string(),
            format!("run it as root: `sudo {me} demo`, {ELSEWHERE}"),
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
    match refusal(
        &invoked_as(),
        std::env::consts::OS,
        euid,
        namespaces_allowed,
    ) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether the demo may install the bed's host tools `pkgs` on this machine: with `--yes`
/// without asking, else only when the person says yes to `ask` (which shows the question).
/// No, or Esc: [`Stop::Declined`] naming the packages, nothing installed; Ctrl-C:
/// [`Stop::Interrupted`].
pub(super) fn tools_consent(
    yes: bool,
    pkgs: &str,
    ask: impl FnOnce() -> Result<bool, inquire::InquireError>,
) -> Stage<()> {
    if yes {
        return Ok(());
    }
    match ask() {
        Ok(true) => Ok(()),
        Ok(false) | Err(inquire::InquireError::OperationCanceled) => Err(Stop::Declined {
            why: format!("the demo needs host tools that are not installed: {pkgs}; nothing was installed"),
            fix: format!(
                "install them (`apt-get install --no-install-recommends {pkgs}`), or run `{} demo --yes`",
                invoked_as()
            ),
        }),
        Err(inquire::InquireError::OperationInterrupted) => Err(Stop::Interrupted),
        Err(e) => Err(Stop::Failed(format!("asking whether to install the host tools: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_tools_are_installed_only_with_yes_or_a_yes_to_the_question() {
        // --yes: never asks.
        assert!(tools_consent(true, "pebble swaks", || panic!("asked with --yes")).is_ok());
        // Asked: yes goes on.
        assert!(tools_consent(false, "pebble swaks", || Ok(true)).is_ok());
        // No, or Esc: stops, naming the packages and both ways on, nothing installed.
        for answer in [Ok(false), Err(inquire::InquireError::OperationCanceled)] {
            match tools_consent(false, "pebble swaks", || answer) {
                Err(Stop::Declined { why, fix }) => {
                    assert!(why.contains("pebble swaks") && why.contains("nothing was installed"));
                    assert!(fix.contains("apt-get install --no-install-recommends pebble swaks"));
                    assert!(fix.contains("demo --yes"), "{fix}");
                }
                _ => panic!("not declined"),
            }
        }
        // Ctrl-C at the question: interrupted.
        assert!(matches!(
            tools_consent(false, "x", || Err(
                inquire::InquireError::OperationInterrupted
            )),
            Err(Stop::Interrupted)
        ));
    }
}
