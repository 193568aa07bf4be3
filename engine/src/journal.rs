//! Runs on disk: `/var/lib/mailstead/runs/<id>/` (0700) holds `journal.jsonl`, `log.txt` and
//! `blobs/`. Every record is fsynced before the change it describes, so a run killed at any
//! point can be understood and undone by the next start.
use crate::host::{Host, Kind, Meta};
use color_eyre::eyre::{eyre, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

pub const STATE_DIR: &str = "/var/lib/mailstead";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RunId {
    /// `20261124T211500Z-1234`: sorts by time, unique per process (a second run within the
    /// same second of the same process gets `-1234.1`).
    pub fn new() -> RunId {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let now = time::OffsetDateTime::now_utc();
        RunId(format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}{}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            std::process::id(),
            if seq == 0 {
                String::new()
            } else {
                format!(".{seq}")
            }
        ))
    }
}

impl Default for RunId {
    fn default() -> Self {
        RunId::new()
    }
}

/// One node of a snapshot, relative to the snapshotted path (`""` is the path itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rel: String,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    /// Did not exist. `keep_if_not_empty`: a directory that may have gained content the run
    /// does not own (mail): removed only while empty.
    Absent {
        keep_if_not_empty: bool,
    },
    File {
        meta: Meta,
        sha256: String,
        blob: String,
    },
    Dir {
        meta: Meta,
    },
    Symlink {
        target: PathBuf,
        uid: u32,
        gid: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    RunStart {
        id: RunId,
        version: String,
        command: String,
    },
    StepStart {
        step: String,
    },
    /// The state of `path` before the step touched it. `deep`: the whole tree below it.
    Snapshot {
        step: String,
        path: PathBuf,
        deep: bool,
        entries: Vec<Entry>,
    },
    Change {
        step: String,
        summary: String,
    },
    ChangeDone {
        step: String,
    },
    Installed {
        step: String,
        packages: Vec<String>,
    },
    ReloadQueued {
        step: String,
        service: String,
    },
    Reloaded {
        services: Vec<String>,
    },
    StepDone {
        step: String,
        changes: usize,
    },
    StepFailed {
        step: String,
        error: String,
    },
    StepRolledBack {
        step: String,
        problems: Vec<String>,
    },
    RunEnd {
        status: String,
    },
    RunRolledBack {
        problems: Vec<String>,
        purged: Vec<String>,
    },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A run's directory, written only through the Host.
pub struct RunDir<'h> {
    pub host: &'h dyn Host,
    pub id: RunId,
    pub dir: PathBuf,
    blob_count: usize,
    started: std::time::Instant,
}

pub fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("runs")
}

/// Makes `/var/lib/mailstead/runs` (0700, root) if missing.
pub fn ensure_state_dirs(host: &dyn Host, state_dir: &Path) -> Result<()> {
    for d in [state_dir.to_path_buf(), runs_dir(state_dir)] {
        if !host.exists(&d) {
            host.create_dir_all(&d, Meta::root(0o700))
                .wrap_err_with(|| format!("creating {}", d.display()))?;
        }
    }
    Ok(())
}

impl<'h> RunDir<'h> {
    pub fn create(host: &'h dyn Host, state_dir: &Path, id: RunId) -> Result<RunDir<'h>> {
        ensure_state_dirs(host, state_dir)?;
        let dir = runs_dir(state_dir).join(&id.0);
        host.create_dir(&dir, Meta::root(0o700))
            .wrap_err_with(|| format!("creating run directory {}", dir.display()))?;
        host.create_dir(&dir.join("blobs"), Meta::root(0o700))?;
        Ok(RunDir {
            host,
            id,
            dir,
            blob_count: 0,
            started: std::time::Instant::now(),
        })
    }

    pub fn open(host: &'h dyn Host, state_dir: &Path, id: &RunId) -> Result<RunDir<'h>> {
        let dir = runs_dir(state_dir).join(&id.0);
        if !host.exists(&dir.join("journal.jsonl")) {
            return Err(eyre!("no run {id} (see `mailstead runs`)"));
        }
        let blob_count = host
            .list_dir(&dir.join("blobs"))
            .map(|v| v.len())
            .unwrap_or(0);
        Ok(RunDir {
            host,
            id: id.clone(),
            dir,
            blob_count,
            started: std::time::Instant::now(),
        })
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    pub fn record(&self, rec: &Record) -> Result<()> {
        let mut line = serde_json::to_vec(rec)?;
        line.push(b'\n');
        self.host
            .append_sync(&self.journal_path(), &line)
            .wrap_err("writing the run journal")
    }

    /// The plain log: one line per event with the seconds since the run started.
    pub fn log(&self, line: &str) {
        let t = self.started.elapsed().as_secs_f64();
        let _ = self.host.append_sync(
            &self.dir.join("log.txt"),
            format!("[{t:7.2}s] {line}\n").as_bytes(),
        );
    }

    pub fn records(&self) -> Result<Vec<Record>> {
        read_journal(self.host, &self.journal_path())
    }

    fn store_blob(&mut self, content: &[u8]) -> Result<String> {
        self.blob_count += 1;
        let name = format!("{:05}", self.blob_count);
        self.host
            .write_atomic(
                &self.dir.join("blobs").join(&name),
                content,
                Meta::root(0o600),
            )
            .wrap_err("saving a snapshot")?;
        Ok(name)
    }

    pub fn blob(&self, name: &str) -> Result<Vec<u8>> {
        self.host
            .read(&self.dir.join("blobs").join(name))?
            .ok_or_else(|| eyre!("snapshot blob {name} is missing from run {}", self.id))
    }

    /// Captures `path` (the whole tree below it when `deep`) into blobs.
    pub fn snapshot(
        &mut self,
        path: &Path,
        deep: bool,
        keep_if_not_empty: bool,
    ) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        self.capture(path, "", deep, keep_if_not_empty, &mut entries)
            .wrap_err_with(|| format!("snapshotting {}", path.display()))?;
        Ok(entries)
    }

    fn capture(
        &mut self,
        path: &Path,
        rel: &str,
        deep: bool,
        keep_if_not_empty: bool,
        out: &mut Vec<Entry>,
    ) -> Result<()> {
        let host = self.host;
        let node = match host.stat(path)? {
            None => Node::Absent { keep_if_not_empty },
            Some(st) => match st.kind {
                Kind::File => {
                    let content = host.read(path)?.unwrap_or_default();
                    Node::File {
                        meta: st.meta,
                        sha256: sha256_hex(&content),
                        blob: self.store_blob(&content)?,
                    }
                }
                Kind::Dir => Node::Dir { meta: st.meta },
                Kind::Symlink => Node::Symlink {
                    target: host.read_link(path)?,
                    uid: st.meta.uid,
                    gid: st.meta.gid,
                },
                Kind::Other => {
                    return Err(eyre!("{} is not a file, directory or link", path.display()))
                }
            },
        };
        let is_dir = matches!(node, Node::Dir { .. });
        out.push(Entry {
            rel: rel.to_string(),
            node,
        });
        if is_dir && deep {
            for name in host.list_dir(path)? {
                let child_rel = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                self.capture(&path.join(&name), &child_rel, true, false, out)?;
            }
        }
        Ok(())
    }

    /// Puts `path` back exactly as captured. Returns what could not be restored.
    pub fn restore(&self, path: &Path, deep: bool, entries: &[Entry]) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.restore_inner(path, deep, entries, &mut problems) {
            problems.push(format!("{}: {e:#}", path.display()));
        }
        problems
    }

    fn restore_inner(
        &self,
        path: &Path,
        deep: bool,
        entries: &[Entry],
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let host = self.host;
        let Some(first) = entries.first() else {
            return Ok(());
        };
        if let Node::Absent { keep_if_not_empty } = first.node {
            if keep_if_not_empty {
                if only_empty_dirs(host, path)? {
                    host.remove_all(path)?;
                } else {
                    problems.push(format!(
                        "{} was created by this run but now holds files; left in place",
                        path.display()
                    ));
                }
            } else {
                host.remove_all(path)?;
            }
            return Ok(());
        }
        if deep {
            // Remove what the snapshot did not have (deepest first), or has as another kind.
            let wanted: std::collections::BTreeMap<&str, &Node> =
                entries.iter().map(|e| (e.rel.as_str(), &e.node)).collect();
            let mut current = Vec::new();
            walk(host, path, "", &mut current)?;
            for (rel, kind) in current.iter().rev() {
                let keep = match wanted.get(rel.as_str()) {
                    Some(Node::File { .. }) => *kind == Kind::File,
                    Some(Node::Dir { .. }) => *kind == Kind::Dir,
                    Some(Node::Symlink { .. }) => *kind == Kind::Symlink,
                    _ => false,
                };
                if !keep {
                    host.remove_all(&join_rel(path, rel))?;
                }
            }
        }
        for e in entries {
            let p = join_rel(path, &e.rel);
            match &e.node {
                Node::Absent { .. } => {}
                Node::Dir { meta } => match host.stat(&p)? {
                    Some(st) if st.kind == Kind::Dir => {
                        if st.meta != *meta {
                            host.set_meta(&p, *meta)?;
                        }
                    }
                    Some(_) => {
                        host.remove_all(&p)?;
                        host.create_dir(&p, *meta)?;
                    }
                    None => host.create_dir(&p, *meta)?,
                },
                Node::File { meta, sha256, blob } => {
                    let current = host.read(&p).ok().flatten();
                    let st = host.stat(&p)?;
                    if st.map(|s| s.kind) != Some(Kind::File)
                        || current.as_deref().map(sha256_hex).as_deref() != Some(sha256.as_str())
                    {
                        let content = self.blob(blob)?;
                        if sha256_hex(&content) != *sha256 {
                            problems.push(format!(
                                "{}: snapshot is corrupt; not restored",
                                p.display()
                            ));
                            continue;
                        }
                        if matches!(st, Some(s) if s.kind != Kind::File) {
                            host.remove_all(&p)?;
                        }
                        host.write_atomic(&p, &content, *meta)?;
                    } else if st.map(|s| s.meta) != Some(*meta) {
                        host.set_meta(&p, *meta)?;
                    }
                }
                Node::Symlink { target, uid, gid } => {
                    let same = matches!(host.stat(&p)?, Some(s) if s.kind == Kind::Symlink && s.meta.uid == *uid && s.meta.gid == *gid)
                        && host.read_link(&p).ok().as_ref() == Some(target);
                    if !same {
                        host.remove_all(&p)?;
                        host.symlink(target, &p, *uid, *gid)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn join_rel(path: &Path, rel: &str) -> PathBuf {
    if rel.is_empty() {
        path.to_path_buf()
    } else {
        path.join(rel)
    }
}

/// Every node below `path` (parents before children), with its kind.
fn walk(host: &dyn Host, path: &Path, rel: &str, out: &mut Vec<(String, Kind)>) -> Result<()> {
    let Some(st) = host.stat(path)? else {
        return Ok(());
    };
    out.push((rel.to_string(), st.kind));
    if st.kind == Kind::Dir {
        for name in host.list_dir(path)? {
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            walk(host, &path.join(&name), &child, out)?;
        }
    }
    Ok(())
}

fn only_empty_dirs(host: &dyn Host, path: &Path) -> Result<bool> {
    let mut nodes = Vec::new();
    walk(host, path, "", &mut nodes)?;
    Ok(nodes.iter().all(|(_, k)| *k == Kind::Dir))
}

pub fn read_journal(host: &dyn Host, path: &Path) -> Result<Vec<Record>> {
    let text = host
        .read_string(path)?
        .ok_or_else(|| eyre!("{} is missing", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(r) => out.push(r),
            // A torn last line from a power cut: everything before it is intact.
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Ids of all runs, oldest first.
pub fn list_runs(host: &dyn Host, state_dir: &Path) -> Vec<RunId> {
    host.list_dir(&runs_dir(state_dir))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .map(RunId)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::RunId;

    #[test]
    fn run_id_is_utc_time_then_pid() {
        let id = RunId::new().0;
        let (time, rest) = id.split_once('-').unwrap();
        assert_eq!(time.len(), 16, "{id}");
        assert!(time.ends_with('Z') && time.as_bytes()[8] == b'T', "{id}");
        assert!(time[..8]
            .bytes()
            .chain(time[9..15].bytes())
            .all(|b| b.is_ascii_digit()));
        assert!(rest.starts_with(&std::process::id().to_string()), "{id}");
        let year: i32 = time[..4].parse().unwrap();
        assert!(year >= 2025, "{id}");
        // A second id in the same process gets a sequence number.
        assert!(RunId::new().0.contains('.'));
    }
}
