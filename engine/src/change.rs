//! Changes as data: what a step wants done. The engine shows them (plan) or applies them.
use crate::host::{Cmd, Host, Kind, Meta};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum Change {
    /// Make a file hold exactly these bytes, mode and owner.
    WriteFile {
        path: PathBuf,
        content: Vec<u8>,
        meta: Meta,
        /// Contents are never shown in plans, logs or diffs (hashes, keys).
        secret: bool,
    },
    /// Remove a file mailstead manages.
    RemoveFile { path: PathBuf },
    /// Make a directory exist with this mode and owner.
    EnsureDir { path: PathBuf, meta: Meta },
    /// Run a command. `touches` are snapshotted first (a directory as a whole tree).
    Run {
        summary: String,
        cmd: Cmd,
        touches: Vec<PathBuf>,
        /// Extra lines for the plan (e.g. `postconf` keys old → new).
        detail: Vec<String>,
    },
    /// Install packages with apt (debconf answers first). Recorded in the journal; never
    /// removed by a rollback unless asked (`--purge-packages`).
    Install {
        packages: Vec<String>,
        debconf: Vec<String>,
    },
    /// Reload a service once, after the steps that need it (never more than once a run).
    Reload { service: String },
}

impl Change {
    pub fn write(path: &str, content: impl Into<Vec<u8>>, meta: Meta) -> Change {
        Change::WriteFile {
            path: PathBuf::from(path),
            content: content.into(),
            meta,
            secret: false,
        }
    }

    pub fn write_secret(path: &str, content: impl Into<Vec<u8>>, meta: Meta) -> Change {
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
        }
    }

    pub fn reload(service: &str) -> Change {
        Change::Reload {
            service: service.to_string(),
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
            Change::Reload { service } => format!("reload {service}"),
        }
    }

    /// Does applying this change do anything on `host` right now? Steps may declare desired
    /// files and directories; the engine keeps only those that differ.
    pub fn is_noop(&self, host: &dyn Host) -> bool {
        match self {
            Change::WriteFile {
                path,
                content,
                meta,
                ..
            } => {
                matches!(host.stat(path), Ok(Some(st)) if st.kind == Kind::File && st.meta == *meta)
                    && matches!(host.read(path), Ok(Some(ref c)) if c == content)
            }
            Change::RemoveFile { path } => !host.exists(path),
            Change::EnsureDir { path, meta } => {
                matches!(host.stat(path), Ok(Some(st)) if st.kind == Kind::Dir && st.meta == *meta)
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
                    (Some(m), true) if m != meta => {
                        let _ = writeln!(out, "~ {} mode/owner {m} -> {meta}", path.display());
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
