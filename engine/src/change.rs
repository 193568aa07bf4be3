//! Changes as data: what a step wants done. The engine shows them (plan) or applies them.
use crate::host::{Cmd, Host, Kind, Meta};
use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A wanted mode and owner, by name (`0640 root:adm`). Names are resolved to ids on the
/// host when the change is applied, so a plan made before the package that creates the group
/// is installed shows exactly what applying writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perms {
    pub mode: u32,
    pub user: String,
    pub group: String,
}

impl Perms {
    pub fn new(mode: u32, user: &str, group: &str) -> Perms {
        Perms {
            mode,
            user: user.to_string(),
            group: group.to_string(),
        }
    }

    /// `mode root:root`.
    pub fn root(mode: u32) -> Perms {
        Perms::new(mode, "root", "root")
    }

    /// The ids on `host`; an error names the missing user or group.
    pub fn resolve(&self, host: &dyn Host) -> std::io::Result<Meta> {
        let missing = |what: &str, name: &str| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{what} `{name}` does not exist on this system"),
            )
        };
        let uid = host
            .user_id(&self.user)
            .ok_or_else(|| missing("user", &self.user))?;
        let gid = host
            .group_id(&self.group)
            .ok_or_else(|| missing("group", &self.group))?;
        Ok(Meta {
            mode: self.mode,
            uid,
            gid,
        })
    }

    /// Does `meta` (what is on disk) match? False when a name does not resolve yet.
    pub fn matches(&self, host: &dyn Host, meta: &Meta) -> bool {
        matches!(self.resolve(host), Ok(m) if m == *meta)
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o} {}:{}", self.mode & 0o7777, self.user, self.group)
    }
}

/// `mode user:group` for what is on disk, by name where the host knows the ids.
pub fn describe_meta(host: &dyn Host, meta: &Meta) -> String {
    let user = host
        .user_name(meta.uid)
        .unwrap_or_else(|| meta.uid.to_string());
    let group = host
        .group_name(meta.gid)
        .unwrap_or_else(|| meta.gid.to_string());
    format!("{:04o} {user}:{group}", meta.mode & 0o7777)
}

/// When a [`Change::Run`] runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum When {
    /// Every time it is planned.
    #[default]
    Always,
    /// Only when an earlier change of the same run writes one of `changed`, or one of
    /// `missing` does not exist (`postmap` after its map changed, or when its `.db` is gone).
    /// The engine decides; steps never compare files themselves.
    Changed {
        changed: Vec<PathBuf>,
        missing: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub enum Change {
    /// Make a file hold exactly these bytes, mode and owner.
    WriteFile {
        path: PathBuf,
        content: Vec<u8>,
        meta: Perms,
        /// Contents are never shown in plans, logs or diffs (hashes, keys).
        secret: bool,
    },
    /// Remove a file mailstead manages.
    RemoveFile { path: PathBuf },
    /// Make a directory exist with this mode and owner.
    EnsureDir { path: PathBuf, meta: Perms },
    /// Run a command. `touches` are snapshotted first (a directory as a whole tree).
    Run {
        summary: String,
        cmd: Cmd,
        touches: Vec<PathBuf>,
        /// Extra lines for the plan (e.g. `postconf` keys old → new).
        detail: Vec<String>,
        when: When,
        /// What it makes is kept when the run is rolled back: its `touches` are not
        /// snapshotted (an issued certificate: re-issuing it on every retry would hit the
        /// CA's duplicate-certificate limit). Only for results that are harmless unused.
        keep: bool,
    },
    /// Install packages with apt (debconf answers first). Recorded in the journal; never
    /// removed by a rollback unless asked (`--purge-packages`).
    Install {
        packages: Vec<String>,
        debconf: Vec<String>,
    },
    /// Reload a service once, after the steps that need it (never more than once a run).
    /// `restart`: a settings change the service reads only at start (a daemon's
    /// `inet_interfaces`) wants a restart instead; one restart then replaces the reload.
    /// `after`: empty, whenever the step changes anything; else only when an earlier change
    /// of the run writes one of these paths (its configuration, not the maps and keys the
    /// daemon re-reads by itself). See [`Change::reload_after`].
    /// `tables`: only lookup tables changed, the configuration is as the last run proved it;
    /// the reload just tells the daemon's long-running processes to read the tables again
    /// (a process that keeps the domain list it started with). The run's checks of
    /// configuration, sockets and certificates are not repeated for it. See
    /// [`Change::reload_for_tables`].
    Reload {
        service: String,
        restart: bool,
        after: Vec<PathBuf>,
        tables: bool,
    },
}

impl Change {
    pub fn write(path: &str, content: impl Into<Vec<u8>>, meta: Perms) -> Change {
        Change::WriteFile {
            path: PathBuf::from(path),
            content: content.into(),
            meta,
            secret: false,
        }
    }

    pub fn write_secret(path: &str, content: impl Into<Vec<u8>>, meta: Perms) -> Change {
        Change::WriteFile {
            path: PathBuf::from(path),
            content: content.into(),
            meta,
            secret: true,
        }
    }

    pub fn run(summary: impl Into<String>, cmd: Cmd, touches: &[&str]) -> Change {
        Change::Run {
            summary: summary.into(),
            cmd,
            touches: touches.iter().map(PathBuf::from).collect(),
            detail: Vec::new(),
            when: When::Always,
            keep: false,
        }
    }

    /// See [`Change::Run`]'s `keep`.
    pub fn kept_on_rollback(mut self) -> Change {
        if let Change::Run { keep, .. } = &mut self {
            *keep = true;
        }
        self
    }

    /// A command that runs only when an earlier change of this run writes one of `changed`,
    /// or when one of `missing` does not exist. See [`When::Changed`].
    pub fn run_when_changed(
        summary: impl Into<String>,
        cmd: Cmd,
        touches: &[&str],
        changed: &[&str],
        missing: &[&str],
    ) -> Change {
        let mut c = Change::run(summary, cmd, touches);
        if let Change::Run { when, .. } = &mut c {
            *when = When::Changed {
                changed: changed.iter().map(PathBuf::from).collect(),
                missing: missing.iter().map(PathBuf::from).collect(),
            };
        }
        c
    }

    pub fn reload(service: &str) -> Change {
        Change::Reload {
            service: service.to_string(),
            restart: false,
            after: Vec::new(),
            tables: false,
        }
    }

    /// A reload only when an earlier change of this run writes one of `after`: a step whose
    /// other files (lookup tables, maps, keys) the daemon picks up by itself queues no reload
    /// when only those changed.
    pub fn reload_after(service: &str, after: &[&str]) -> Change {
        Change::Reload {
            service: service.to_string(),
            restart: false,
            after: after.iter().map(PathBuf::from).collect(),
            tables: false,
        }
    }

    /// A reload only when an earlier change of this run writes one of `tables`, lookup tables
    /// a long-running process of the daemon reads only at its start (a domain list that a
    /// long-lived lookup process caches). The configuration is unchanged, so the run does not
    /// prove it again ([`crate::Check::only_after_reload`]).
    pub fn reload_for_tables(service: &str, tables: &[&str]) -> Change {
        Change::Reload {
            service: service.to_string(),
            restart: false,
            after: tables.iter().map(PathBuf::from).collect(),
            tables: true,
        }
    }

    /// See [`Change::Reload`]'s `restart`.
    pub fn restart(service: &str) -> Change {
        Change::Reload {
            service: service.to_string(),
            restart: true,
            after: Vec::new(),
            tables: false,
        }
    }

    /// One line for dashboards, logs and journals. Never contains file contents or stdin.
    pub fn summary(&self) -> String {
        match self {
            Change::WriteFile { path, meta, .. } => format!("write {} ({meta})", path.display()),
            Change::RemoveFile { path } => format!("remove {}", path.display()),
            Change::EnsureDir { path, meta } => format!("directory {} ({meta})", path.display()),
            Change::Run { summary, .. } => summary.clone(),
            Change::Install { packages, .. } => format!("apt-get install {}", packages.join(" ")),
            Change::Reload {
                service,
                restart: false,
                ..
            } => format!("reload {service}"),
            Change::Reload { service, .. } => format!("restart {service}"),
        }
    }

    /// Does applying this change do anything on `host` right now? Steps may declare desired
    /// files and directories; the engine keeps only those that differ.
    pub(crate) fn is_noop(&self, host: &dyn Host) -> bool {
        match self {
            Change::WriteFile {
                path,
                content,
                meta,
                ..
            } => {
                matches!(host.stat(path), Ok(Some(st)) if st.kind == Kind::File && meta.matches(host, &st.meta))
                    && matches!(host.read(path), Ok(Some(ref c)) if c == content)
            }
            Change::RemoveFile { path } => !host.exists(path),
            Change::EnsureDir { path, meta } => {
                matches!(host.stat(path), Ok(Some(st)) if st.kind == Kind::Dir && meta.matches(host, &st.meta))
            }
            _ => false,
        }
    }

    /// The change as a reviewer reads it: a unified diff for files, the command otherwise.
    pub fn render(&self, host: &dyn Host) -> String {
        let mut out = String::new();
        match self {
            Change::WriteFile {
                path,
                content,
                meta,
                secret,
            } => {
                let before = host.read(path).ok().flatten();
                let old_meta = host.stat(path).ok().flatten().map(|s| s.meta);
                match (&old_meta, before.is_some()) {
                    (Some(m), true) if !meta.matches(host, m) => {
                        let _ = writeln!(
                            out,
                            "~ {} mode/owner {} -> {meta}",
                            path.display(),
                            describe_meta(host, m)
                        );
                    }
                    (None, _) => {
                        let _ = writeln!(out, "+ {} ({meta})", path.display());
                    }
                    _ => {}
                }
                if *secret {
                    if before.as_deref() != Some(content.as_slice()) {
                        let _ = writeln!(out, "  (contents hidden: holds secrets)");
                    }
                } else {
                    out.push_str(&unified_diff(
                        path,
                        &String::from_utf8_lossy(before.as_deref().unwrap_or_default()),
                        &String::from_utf8_lossy(content),
                    ));
                }
            }
            Change::Run {
                summary,
                cmd,
                detail,
                ..
            } => {
                let _ = writeln!(out, "$ {cmd}    # {summary}");
                for d in detail {
                    let _ = writeln!(out, "    {d}");
                }
            }
            other => {
                let _ = writeln!(out, "{}", other.summary());
            }
        }
        out
    }

    /// Paths the engine snapshots before applying this change.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            Change::WriteFile { path, .. }
            | Change::RemoveFile { path }
            | Change::EnsureDir { path, .. } => vec![path.as_path()],
            Change::Run { touches, .. } => touches.iter().map(PathBuf::as_path).collect(),
            Change::Install { .. } | Change::Reload { .. } => vec![],
        }
    }
}

pub fn unified_diff(path: &Path, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a{}", path.display()),
            &format!("b{}", path.display()),
        )
        .to_string()
}
