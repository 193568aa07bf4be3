//! Carrying out one change on a host: write, remove, create, run, install.
use crate::change::{Change, Perms};
use crate::host::{Host, Kind, Meta};
use crate::system;
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::path::Path;

/// What a command reports while a change applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feed<'a> {
    /// A line it printed (stdout or stderr).
    Line(&'a str),
    /// apt's own progress (see [`system::apt_status`]), 0..=100.
    Progress { percent: f32, what: &'a str },
    /// A tolerated command failed ([`Cmd::tolerated`](crate::host::Cmd::tolerated)): this
    /// explains it, the run goes on.
    Tolerated(&'a str),
}

/// Applies one change. Returns the packages it newly installed.
pub fn apply_change(host: &dyn Host, change: &Change) -> Result<Vec<String>> {
    apply_change_as(host, change, false, &mut |_| {})
}

/// Applies one change, handing what its commands print to `feed` as they print it.
pub fn apply_change_fed(
    host: &dyn Host,
    change: &Change,
    feed: &mut dyn FnMut(Feed),
) -> Result<Vec<String>> {
    apply_change_as(host, change, false, feed)
}

/// apt's output with its status lines (`APT::Status-Fd`, on a pipe of its own) turned into progress.
fn apt_feed<'f>(feed: &'f mut dyn FnMut(Feed)) -> impl FnMut(&str) + 'f {
    move |line: &str| match system::apt_status(line) {
        Some(st) => {
            if !st.before.trim().is_empty() {
                feed(Feed::Line(st.before));
            }
            feed(Feed::Progress {
                percent: st.percent,
                what: st.what,
            });
        }
        // Waiting for another apt's lock (DPkg::Lock::Timeout): shown as progress, so the
        // plain log's "still running" lines and the dashboard say who holds it.
        None if line.starts_with("Waiting for cache lock") => {
            feed(Feed::Line(line));
            feed(Feed::Progress {
                percent: 0.0,
                what: line,
            });
        }
        None => feed(Feed::Line(line)),
    }
}

/// Mode and ids for `perms` on `host`. While planning on the overlay, users and groups that
/// a planned package install would create do not exist yet: they stand in as root there (the
/// plan shows the names; only applying resolves them).
fn meta_for(host: &dyn Host, perms: &Perms, planning: bool) -> Result<Meta> {
    match perms.resolve(host) {
        Ok(m) => Ok(m),
        Err(_) if planning => Ok(Meta::root(perms.mode)),
        Err(e) => Err(eyre!("{e}: cannot give it owner {}", perms)),
    }
}

pub(super) fn apply_change_as(
    host: &dyn Host,
    change: &Change,
    planning: bool,
    feed: &mut dyn FnMut(Feed),
) -> Result<Vec<String>> {
    match change {
        Change::WriteFile {
            path,
            content,
            meta,
            ..
        } => {
            if let Some(parent) = path.parent() {
                host.create_dir_all(parent, Meta::root(0o755))?;
            }
            injected_write_failure(path)?;
            let meta = meta_for(host, meta, planning)
                .wrap_err_with(|| format!("writing {}", path.display()))?;
            host.write_atomic(path, content, meta)
                .wrap_err_with(|| format!("writing {}", path.display()))?;
        }
        Change::RemoveFile { path } => {
            if host.exists(path) {
                host.remove(path)
                    .wrap_err_with(|| format!("removing {}", path.display()))?;
            }
        }
        Change::EnsureDir { path, meta } => match host.stat(path)? {
            Some(st) if st.kind == Kind::Dir => {
                host.set_meta(path, meta_for(host, meta, planning)?)?
            }
            Some(_) => return Err(eyre!("{} exists and is not a directory", path.display())),
            None => {
                if let Some(parent) = path.parent() {
                    host.create_dir_all(parent, Meta::root(0o755))?;
                }
                host.create_dir(path, meta_for(host, meta, planning)?)
                    .wrap_err_with(|| format!("creating {}", path.display()))?;
            }
        },
        Change::Run { cmd, .. } => {
            let out = host
                .run_streaming(cmd, &mut |line| feed(Feed::Line(line)))
                .wrap_err_with(|| format!("starting `{cmd}`"))?;
            if !out.success() {
                match cmd.tolerated {
                    Some(explain) => feed(Feed::Tolerated(&explain(&out))),
                    None => return Err(eyre!(system::failure(cmd, &out))),
                }
            }
        }
        Change::Install { packages, debconf } => return install(host, packages, debconf, feed),
        Change::Reload { .. } => {}
    }
    Ok(vec![])
}

/// Installs those of `packages` not installed yet, after seeding `debconf` (the answers to
/// their install questions). Returns the packages it installed; on failure, says which ones
/// dpkg left half-installed.
fn install(
    host: &dyn Host,
    packages: &[String],
    debconf: &[String],
    feed: &mut dyn FnMut(Feed),
) -> Result<Vec<String>> {
    let missing: Vec<String> = packages
        .iter()
        .filter(|p| !system::package_installed(host, p))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(vec![]);
    }
    if !debconf.is_empty() {
        let cmd = system::debconf_cmd(debconf);
        let out = host.run_streaming(&cmd, &mut |line| feed(Feed::Line(line)))?;
        if !out.success() {
            return Err(eyre!(system::failure(&cmd, &out)));
        }
    }
    let cmd = system::apt_install_cmd(&missing);
    let out = host.run_streaming(&cmd, &mut apt_feed(feed))?;
    if !out.success() {
        // Restoring files does not take packages back: say what state dpkg left them
        // in, so nobody reads "rolled back" as "as it was".
        let state = system::package_states(host, &missing);
        let left: Vec<String> = state
            .iter()
            .filter(|(_, s)| s != "install ok installed" && s != "not installed")
            .map(|(p, s)| format!("{p} ({s})"))
            .collect();
        let mut msg = system::failure(&cmd, &out);
        if !left.is_empty() {
            msg.push_str(&format!(
                "\npackages left half-installed by dpkg: {}; fix: `dpkg --configure -a` \
                 then `apt-get -f install`, or remove them with `apt-get purge`",
                left.join(", ")
            ));
        }
        return Err(eyre!(msg));
    }
    Ok(missing)
}

/// `engine.write=return(PATH)`: the write of PATH fails as a full disk would.
fn injected_write_failure(path: &Path) -> Result<()> {
    #[cfg(feature = "failpoints")]
    {
        if let Some(p) = fail::eval("engine.write", |arg| arg.unwrap_or_default()) {
            if p.is_empty() || Path::new(&p) == path {
                return Err(eyre!(
                    "writing {}: no space left on device (injected)",
                    path.display()
                ));
            }
        }
    }
    let _ = path;
    Ok(())
}
