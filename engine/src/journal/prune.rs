//! Pruning the run history: how many runs are kept, and secret-bearing snapshots dropped
//! once no rollback can use them (docs/user/runs.md, "What is kept, and for how long").
use super::{list_runs, read_journal, runs_dir, Node, Record, RunId};
use crate::host::{Host, Meta};
use color_eyre::eyre::{Context, Result};
use std::path::{Path, PathBuf};

/// How many finished runs [`prune`] keeps: the newest ten (a `rollback` undoes one run at a
/// time, newest first; ten is more than anyone walks back, and bounds what is kept).
pub const KEEP_RUNS: usize = 10;

/// The file in a run's directory that names the paths whose secret-bearing snapshots
/// [`prune`] removed (one path a line): a rollback of that run is refused from then on.
pub const PRUNED_FILE: &str = "pruned.txt";

/// What [`prune`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Whole runs removed (older than the newest [`KEEP_RUNS`] finished ones).
    pub runs: Vec<RunId>,
    /// Snapshot blobs removed from the runs kept.
    pub blobs: usize,
}

/// Whether a snapshotted file may hold a secret: a file others cannot read (a mode without
/// `o+r`: an answers file, a password map and its `.db`, private keys, password
/// hashes). A file everyone could read held nothing secret.
fn secret_bearing(node: &Node) -> Option<&str> {
    match node {
        Node::File { meta, blob, .. } if meta.mode & 0o004 == 0 => Some(blob),
        _ => None,
    }
}

/// The steps of a journal that were rolled back (a failed step, or every step of a failed run).
fn rolled_back_steps(records: &[Record]) -> Vec<&str> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::StepRolledBack { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether a journal ended (a run without its end is recovered, never pruned).
fn finished(records: &[Record]) -> bool {
    records.iter().any(|r| matches!(r, Record::RunEnd { .. }))
}

fn rolled_back(records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| matches!(r, Record::RunRolledBack { .. }))
}

/// The paths a finished, not rolled-back run still has changed: those its steps that were not
/// rolled back snapshotted (the engine's own fingerprints file aside, as for `rollback`).
fn paths_in_effect(records: &[Record]) -> std::collections::BTreeSet<&Path> {
    let undone = rolled_back_steps(records);
    if !finished(records) || rolled_back(records) {
        return Default::default();
    }
    records
        .iter()
        .filter_map(|r| match r {
            Record::Snapshot { step, path, .. } if !undone.contains(&step.as_str()) => {
                Some(path.as_path())
            }
            _ => None,
        })
        .filter(|p| !p.ends_with("managed.json"))
        .collect()
}

/// Prunes `runs/` by the policy in docs/user/runs.md ("What is kept, and for how long"):
///
/// 1. Of the finished runs, the newest `keep` are kept; older ones are removed whole. A run
///    without its end (killed) is never removed: the next start recovers it.
/// 2. In the runs kept, the snapshot of a secret-bearing file ([`secret_bearing`]) is removed
///    once no rollback can use it: the run or that step was rolled back already, or a later
///    finished run still in effect changed the same path (`rollback` refuses that run while
///    the later one stands). The run's [`PRUNED_FILE`] names those paths, and `rollback`
///    refuses the run from then on, rather than restore half of it.
///
/// Journals and logs are kept as they are (they hold no file contents). Call it holding the
/// lock. Errors: a file could not be removed or written (what was removed before stays so).
pub fn prune(host: &dyn Host, state_dir: &Path, keep: usize) -> Result<Pruned> {
    let mut pruned = Pruned::default();
    let mut runs: Vec<(RunId, Vec<Record>)> = list_runs(host, state_dir)
        .into_iter()
        .filter_map(|id| {
            let recs = read_journal(host, &runs_dir(state_dir).join(&id.0).join("journal.jsonl"));
            recs.ok().map(|r| (id, r))
        })
        .collect();
    let finished_count = runs.iter().filter(|(_, r)| finished(r)).count();
    let mut to_remove = finished_count.saturating_sub(keep);
    runs.retain(|(id, recs)| {
        if to_remove == 0 || !finished(recs) {
            return true;
        }
        to_remove -= 1;
        pruned.runs.push(id.clone());
        false
    });
    for id in &pruned.runs {
        host.remove_all(&runs_dir(state_dir).join(&id.0))
            .wrap_err_with(|| format!("removing old run {id}"))?;
    }
    for (i, (id, recs)) in runs.iter().enumerate() {
        if !finished(recs) {
            continue;
        }
        let dir = runs_dir(state_dir).join(&id.0);
        let whole_run_undone = rolled_back(recs);
        let undone = rolled_back_steps(recs);
        let mut superseded: Vec<&Path> = Vec::new();
        for r in recs {
            let Record::Snapshot {
                step,
                path,
                entries,
                ..
            } = r
            else {
                continue;
            };
            let later_changed = || {
                runs[i + 1..]
                    .iter()
                    .any(|(_, later)| paths_in_effect(later).contains(path.as_path()))
            };
            let unused = whole_run_undone || undone.contains(&step.as_str());
            let is_superseded = !unused && !path.ends_with("managed.json") && later_changed();
            if !unused && !is_superseded {
                continue;
            }
            let mut removed_here = false;
            for blob in entries.iter().filter_map(|e| secret_bearing(&e.node)) {
                let p = dir.join("blobs").join(blob);
                if host.exists(&p) {
                    host.remove(&p)
                        .wrap_err_with(|| format!("removing a snapshot of {}", path.display()))?;
                    pruned.blobs += 1;
                    removed_here = true;
                }
            }
            if is_superseded && removed_here {
                superseded.push(path);
            }
        }
        if !superseded.is_empty() {
            let mut listed = pruned_paths(host, &dir);
            listed.extend(superseded.iter().map(|p| p.to_path_buf()));
            listed.sort();
            listed.dedup();
            let text: String = listed
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            host.write_atomic(&dir.join(PRUNED_FILE), text.as_bytes(), Meta::root(0o600))
                .wrap_err_with(|| format!("recording what was pruned from run {id}"))?;
        }
    }
    Ok(pruned)
}

/// The paths whose secret-bearing snapshots [`prune`] removed from the run in `dir` (none
/// when it removed nothing there).
pub fn pruned_paths(host: &dyn Host, dir: &Path) -> Vec<PathBuf> {
    host.read(&dir.join(PRUNED_FILE))
        .ok()
        .flatten()
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| !l.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}
