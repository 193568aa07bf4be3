//! Runs on disk: `/var/lib/mailstead/runs/<id>/` (0700) holds `journal.jsonl`, `log.txt` and
//! `blobs/`. Every record is fsynced before the change it describes, so a run killed at any
//! point can be understood and undone by the next start.
use crate::host::{Host, Kind, Meta};
use color_eyre::eyre::{eyre, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const STATE_DIR: &str = "/var/lib/mailstead";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunId(pub String);

impl RunId {
    /// `(time, pid, seq)` parsed from `20261124T211500Z-1234[.N]`: pids and sequence numbers
    /// of different widths sort as numbers, not as text. `None` for a name of another shape.
    fn key(&self) -> Option<(&str, u64, u64)> {
        let (time, rest) = self.0.split_once('-')?;
        let (pid, seq) = match rest.split_once('.') {
            Some((p, s)) => (p, s.parse().ok()?),
            None => (rest, 0),
        };
        Some((time, pid.parse().ok()?, seq))
    }
}

/// Oldest first: by start time, then process id, then sequence number. Names that are not
/// run ids sort before all run ids, as text among themselves.
impl Ord for RunId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self.key(), other.key()) {
            (Some(a), Some(b)) => a.cmp(&b).then_with(|| self.0.cmp(&other.0)),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (None, None) => self.0.cmp(&other.0),
        }
    }
}

impl PartialOrd for RunId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

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
        /// All or nothing ([`crate::Options::atomic`]: add-domain and friends): a recovery
        /// undoes every step of the run, not only the one it was killed in. Absent (false) in
        /// journals of ordinary runs and of older mailsteads.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        atomic: bool,
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
        /// For a command: its command line (what a rollback cannot undo by restoring files).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        /// For a command with an inverse ([`crate::Cmd::undo`]): the inverse's program and
        /// arguments, run by a rollback after the files are restored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Vec<String>>,
        /// The command changes only the files its step snapshotted ([`crate::Cmd::files_only`]):
        /// restoring them undoes it. Absent (false) in older journals.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        files_only: bool,
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
        /// What the run left at each path it snapshotted ([`fingerprint`]): a rollback
        /// compares against it to find what changed since.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        left: BTreeMap<PathBuf, String>,
    },
    RunRolledBack {
        problems: Vec<String>,
        purged: Vec<String>,
    },
}

/// Whether a run with these records is still in effect: it finished a step that was not
/// rolled back since (an all-or-nothing run undone whole, by itself or by a recovery, is
/// not), and the run itself was not rolled back.
pub fn in_effect(recs: &[Record]) -> bool {
    let rolled_back = |step: &str| {
        recs.iter()
            .any(|r| matches!(r, Record::StepRolledBack { step: s, .. } if s == step))
    };
    !recs
        .iter()
        .any(|r| matches!(r, Record::RunRolledBack { .. }))
        && recs
            .iter()
            .any(|r| matches!(r, Record::StepDone { step, .. } if !rolled_back(step)))
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
    /// An append failed (a full disk may have left part of it): the next record starts on a
    /// line of its own, so it is not glued to the torn one.
    torn: std::cell::Cell<bool>,
    /// The last progress line logged: apt reports the same percentage and file many times
    /// over, and the log keeps one line per change of it.
    last_progress: std::cell::RefCell<String>,
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
            torn: std::cell::Cell::new(false),
            last_progress: Default::default(),
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
            torn: std::cell::Cell::new(false),
            last_progress: Default::default(),
        })
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    pub fn record(&self, rec: &Record) -> Result<()> {
        let mut line = if self.torn.get() { vec![b'\n'] } else { vec![] };
        line.extend(serde_json::to_vec(rec)?);
        line.push(b'\n');
        let written = self.host.append_sync(&self.journal_path(), &line);
        self.torn.set(written.is_err());
        written.wrap_err("writing the run journal")
    }

    /// The plain log: one line per event with the seconds since the run started.
    pub fn log(&self, line: &str) {
        let t = self.started.elapsed().as_secs_f64();
        // Not synced: a streamed apt install logs thousands of lines, and one fsync each made
        // installs several times slower. The journal is synced record by record.
        let _ = self.host.append(
            &self.dir.join("log.txt"),
            format!("[{t:7.2}s] {line}\n").as_bytes(),
        );
    }

    /// A progress line, logged only when it differs from the last one.
    pub fn log_progress(&self, line: &str) {
        let mut last = self.last_progress.borrow_mut();
        if *last != line {
            line.clone_into(&mut last);
            self.log(line);
        }
    }

    pub fn records(&self) -> Result<Vec<Record>> {
        read_journal(self.host, &self.journal_path())
    }

    /// Makes a journal with a torn line whole again before anything is appended to it: the
    /// intact records are rewritten (atomically) without it, the torn bytes kept in
    /// `journal.torn` for a person to read. Without this, the next record would be glued to
    /// the torn line and lost, and every start would recover the same run again.
    /// Returns whether anything was repaired.
    pub fn repair(&self) -> Result<bool> {
        let path = self.journal_path();
        let Some(bytes) = self.host.read(&path)? else {
            return Ok(false);
        };
        let text = String::from_utf8_lossy(&bytes);
        let (records, torn) = parse_journal(&text);
        if !torn {
            return Ok(false);
        }
        let mut kept = Vec::new();
        for r in &records {
            kept.extend(serde_json::to_vec(r)?);
            kept.push(b'\n');
        }
        self.host
            .write_atomic(&self.dir.join("journal.torn"), &bytes, Meta::root(0o600))
            .wrap_err("keeping the torn journal")?;
        self.host
            .write_atomic(&path, &kept, Meta::root(0o600))
            .wrap_err("repairing the run journal")?;
        self.log("journal repaired: a torn record was dropped (kept in journal.torn)");
        Ok(true)
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
                    // Not through a link swapped in since the stat (issue 20, item 1).
                    let content = host.read_nofollow(path)?.unwrap_or_default();
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

/// The records of a journal. A line torn by a power cut or a full disk (no newline, or not
/// JSON) is skipped: nothing was done after a record that never made it to disk. A record an
/// older mailstead appended right after a torn line (glued to it) is still read.
pub fn read_journal(host: &dyn Host, path: &Path) -> Result<Vec<Record>> {
    let text = host
        .read(path)?
        .ok_or_else(|| eyre!("{} is missing", path.display()))?;
    Ok(parse_journal(&String::from_utf8_lossy(&text)).0)
}

/// The records, and whether the text holds a torn line.
fn parse_journal(text: &str) -> (Vec<Record>, bool) {
    let mut out = Vec::new();
    let mut torn = !text.is_empty() && !text.ends_with('\n');
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(r) => out.push(r),
            Err(_) => {
                torn = true;
                // `{"t":"chan{"t":"step_rolled_back",...}`: the glued record is whole.
                if let Some(r) = line
                    .match_indices("{\"t\":")
                    .skip_while(|(i, _)| *i == 0)
                    .find_map(|(i, _)| serde_json::from_str(&line[i..]).ok())
                {
                    out.push(r);
                }
            }
        }
    }
    (out, torn)
}

/// A fingerprint of what is at `path` now (the whole tree below it when `deep`): kinds,
/// modes, owners, contents and link targets. Equal fingerprints: nothing changed.
pub fn fingerprint(host: &dyn Host, path: &Path, deep: bool) -> String {
    let mut text = String::new();
    let mut nodes = Vec::new();
    if deep {
        if walk(host, path, "", &mut nodes).is_err() {
            return "unreadable".into();
        }
    } else {
        match host.stat(path) {
            Ok(Some(st)) => nodes.push((String::new(), st.kind)),
            Ok(None) => {}
            Err(_) => return "unreadable".into(),
        }
    }
    for (rel, _) in nodes {
        let p = join_rel(path, &rel);
        let Ok(Some(st)) = host.stat(&p) else {
            continue;
        };
        let what = match st.kind {
            Kind::File => host
                .read(&p)
                .ok()
                .flatten()
                .map(|b| sha256_hex(&b))
                .unwrap_or_default(),
            Kind::Symlink => host
                .read_link(&p)
                .map(|t| t.display().to_string())
                .unwrap_or_default(),
            Kind::Dir | Kind::Other => String::new(),
        };
        text.push_str(&format!(
            "{rel}\0{:?}\0{:o}\0{}\0{}\0{what}\n",
            st.kind, st.meta.mode, st.meta.uid, st.meta.gid
        ));
    }
    if text.is_empty() {
        "absent".into()
    } else {
        sha256_hex(text.as_bytes())
    }
}

/// Every directory in `runs/`, oldest first (by [`RunId`]'s order), journal or not.
pub fn list_run_dirs(host: &dyn Host, state_dir: &Path) -> Vec<RunId> {
    let mut ids: Vec<RunId> = host
        .list_dir(&runs_dir(state_dir))
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .map(RunId)
        .collect();
    ids.sort();
    ids
}

/// Ids of all runs that have a journal, oldest first. A directory without one (a run that
/// died before its first record, a stray copy) is no run: `mailstead runs` names it.
pub fn list_runs(host: &dyn Host, state_dir: &Path) -> Vec<RunId> {
    list_run_dirs(host, state_dir)
        .into_iter()
        .filter(|id| host.exists(&runs_dir(state_dir).join(&id.0).join("journal.jsonl")))
        .collect()
}

mod prune;
pub use prune::{prune, pruned_paths, Pruned, KEEP_RUNS, PRUNED_FILE};

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

    #[test]
    fn run_ids_sort_by_time_then_pid_then_seq_as_numbers() {
        let id = |s: &str| RunId(s.to_string());
        let mut ids = [
            id("20261124T211500Z-1000"),
            id("20261124T211500Z-999.10"),
            id("20261124T211500Z-999.9"),
            id("20261124T211459Z-70000"),
            id("20261124T211500Z-999"),
        ];
        ids.sort();
        let names: Vec<&str> = ids.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "20261124T211459Z-70000",
                "20261124T211500Z-999",
                "20261124T211500Z-999.9",
                "20261124T211500Z-999.10",
                "20261124T211500Z-1000",
            ]
        );
        assert!(id("20261124T211500Z-1000") > id("20261124T211500Z-999"));
    }

    /// A finished run `id` whose one step `step` snapshotted `path` (holding `content`, with
    /// `mode`) before writing it; `undone`: the whole run was rolled back since.
    fn fake_run(
        host: &crate::MemHost,
        id: &str,
        step: &str,
        files: &[(&str, u32, &str)],
        undone: bool,
    ) {
        use super::{Record, RunDir};
        use crate::host::{Host, Meta};
        use std::path::Path;
        let state = Path::new(super::STATE_DIR);
        let mut run = RunDir::create(host, state, RunId(id.to_string())).unwrap();
        run.record(&Record::StepStart { step: step.into() })
            .unwrap();
        for (path, mode, content) in files {
            let path = Path::new(path);
            host.create_dir_all(path.parent().unwrap(), Meta::root(0o755))
                .unwrap();
            host.write_atomic(path, content.as_bytes(), Meta::root(*mode))
                .unwrap();
            let entries = run.snapshot(path, false, false).unwrap();
            run.record(&Record::Snapshot {
                step: step.into(),
                path: path.into(),
                deep: false,
                entries,
            })
            .unwrap();
        }
        run.record(&Record::StepDone {
            step: step.into(),
            changes: 1,
        })
        .unwrap();
        run.record(&Record::RunEnd {
            status: "ok".into(),
            left: Default::default(),
        })
        .unwrap();
        if undone {
            run.record(&Record::RunRolledBack {
                problems: vec![],
                purged: vec![],
            })
            .unwrap();
        }
    }

    /// Every blob's content under the state directory, as text.
    fn blobs(host: &crate::MemHost) -> Vec<String> {
        use crate::host::Host;
        let runs = super::runs_dir(std::path::Path::new(super::STATE_DIR));
        let mut out = Vec::new();
        for id in host.list_dir(&runs).unwrap() {
            let dir = runs.join(id).join("blobs");
            for b in host.list_dir(&dir).unwrap() {
                let bytes = host.read(&dir.join(b)).unwrap().unwrap();
                out.push(String::from_utf8(bytes).unwrap());
            }
        }
        out.sort();
        out
    }

    #[test]
    fn prune_drops_secret_snapshots_no_rollback_can_use() {
        use super::{prune, pruned_paths, runs_dir, Pruned, STATE_DIR};
        let host = crate::MemHost::fake();
        let state = std::path::Path::new(STATE_DIR);
        let map = "/etc/app/passwords";
        // Each run snapshots what the one before it wrote.
        fake_run(
            &host,
            "20261124T000001Z-1",
            "relay",
            &[(map, 0o600, "old-1")],
            false,
        );
        fake_run(
            &host,
            "20261124T000002Z-1",
            "relay",
            &[(map, 0o600, "old-2"), ("/etc/public.conf", 0o644, "public")],
            false,
        );
        fake_run(
            &host,
            "20261124T000003Z-1",
            "other",
            &[("/etc/key", 0o600, "undone")],
            true,
        );
        let done = prune(&host, state, 10).unwrap();
        assert_eq!(
            done,
            Pruned {
                runs: vec![],
                blobs: 2
            }
        );
        // Run 1's secret is superseded by run 2; run 3 was rolled back; run 2's stays (its
        // rollback needs it), and a world-readable file is no secret.
        assert_eq!(blobs(&host), ["old-2", "public"]);
        let first = runs_dir(state).join("20261124T000001Z-1");
        assert_eq!(pruned_paths(&host, &first), [std::path::PathBuf::from(map)]);
        assert!(pruned_paths(&host, &runs_dir(state).join("20261124T000002Z-1")).is_empty());
        // Pruning again finds nothing more.
        assert_eq!(prune(&host, state, 10).unwrap(), Pruned::default());
        // Keeping two finished runs removes the oldest whole.
        let done = prune(&host, state, 2).unwrap();
        assert_eq!(done.runs, [RunId("20261124T000001Z-1".into())]);
        assert_eq!(super::list_runs(&host, state).len(), 2);
    }

    #[test]
    fn prune_never_touches_a_run_without_its_end() {
        use super::{prune, Record, RunDir, STATE_DIR};
        use crate::host::{Host, Meta};
        let host = crate::MemHost::fake();
        let state = std::path::Path::new(STATE_DIR);
        let path = std::path::Path::new("/etc/key");
        host.create_dir_all(path.parent().unwrap(), Meta::root(0o755))
            .unwrap();
        host.write_atomic(path, b"killed", Meta::root(0o600))
            .unwrap();
        let mut run = RunDir::create(&host, state, RunId("20261124T000001Z-1".into())).unwrap();
        run.record(&Record::StepStart { step: "s".into() }).unwrap();
        let entries = run.snapshot(path, false, false).unwrap();
        run.record(&Record::Snapshot {
            step: "s".into(),
            path: path.into(),
            deep: false,
            entries,
        })
        .unwrap();
        fake_run(
            &host,
            "20261124T000002Z-1",
            "s",
            &[("/etc/key", 0o600, "later")],
            false,
        );
        let done = prune(&host, state, 0).unwrap();
        assert_eq!(done.runs, [RunId("20261124T000002Z-1".into())]);
        assert_eq!(
            blobs(&host),
            ["killed"],
            "the killed run is left for recovery"
        );
    }

    #[test]
    fn torn_line_is_skipped_and_glued_record_read() {
        let good = r#"{"t":"step_start","step":"a"}"#;
        let glued = r#"{"t":"change_d{"t":"run_end","status":"x"}"#;
        let (recs, torn) = super::parse_journal(&format!("{good}\n{glued}\n"));
        assert!(torn);
        assert_eq!(recs.len(), 2, "{recs:?}");
        let (recs, torn) = super::parse_journal(&format!("{good}\n{{\"t\":\"ste"));
        assert!(torn);
        assert_eq!(recs.len(), 1);
        let (_, torn) = super::parse_journal(&format!("{good}\n"));
        assert!(!torn);
    }
}
