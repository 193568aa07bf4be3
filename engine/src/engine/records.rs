//! What a run's journal says: the paths it snapshotted, the steps it left open, the commands it
//! ran, the services it queued and the packages it installed.
use crate::host::Host;
use crate::journal::{self, Record, RunDir};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each path the run snapshotted, with whether as a whole tree.
pub(super) fn snapshot_targets(records: &[Record], steps: &[String]) -> BTreeMap<PathBuf, bool> {
    let mut out: BTreeMap<PathBuf, bool> = BTreeMap::new();
    for r in records {
        if let Record::Snapshot {
            step, path, deep, ..
        } = r
        {
            if steps.contains(step) {
                *out.entry(path.clone()).or_default() |= *deep;
            }
        }
    }
    out
}

/// What the run leaves at every path it snapshotted (not the engine's own fingerprints):
/// recorded at its end, so a rollback can tell what changed since.
pub(super) fn left_behind(host: &dyn Host, run: &RunDir, own: &Path) -> BTreeMap<PathBuf, String> {
    let Ok(records) = run.records() else {
        return BTreeMap::new();
    };
    let mut steps: Vec<String> = Vec::new();
    for r in &records {
        if let Record::Snapshot { step, .. } = r {
            if !steps.contains(step) {
                steps.push(step.clone());
            }
        }
    }
    snapshot_targets(&records, &steps)
        .into_iter()
        .filter(|(p, _)| p != own)
        .map(|(p, deep)| {
            let f = journal::fingerprint(host, &p, deep);
            (p, f)
        })
        .collect()
}

/// The commands `step` ran (or began) that restoring its files does not undo, as
/// `summary: command line`: the rule for the "check it by hand" list. Left out: a command with
/// an inverse (the rollback ran it) and a command declared [`crate::Cmd::files_only`] (its
/// whole effect is on the files the step snapshotted and the rollback restored, e.g. postmap
/// and its `.db`). Everything else may have changed running state (a firewall enabled, a
/// service started) and is listed.
pub(super) fn commands_of(records: &[Record], step: &str) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Change {
                step: s,
                summary,
                command: Some(cmd),
                undo: None,
                files_only: false,
            } if s == step => Some(format!("{summary}: `{cmd}`")),
            _ => None,
        })
        .collect()
}

/// Steps a journal started and did not roll back, each once, in the order they started: what
/// rolling back the whole run restores.
pub(super) fn steps_to_roll_back(records: &[Record]) -> Vec<String> {
    let mut steps: Vec<String> = Vec::new();
    for r in records {
        if let Record::StepStart { step } = r {
            let rolled = records
                .iter()
                .any(|x| matches!(x, Record::StepRolledBack { step: s, .. } if s == step));
            if !rolled && !steps.contains(step) {
                steps.push(step.clone());
            }
        }
    }
    steps
}

/// Steps a journal started but never finished nor rolled back.
pub(super) fn open_steps(records: &[Record]) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    for r in records {
        match r {
            Record::StepStart { step } => open.push(step.clone()),
            Record::StepDone { step, .. } | Record::StepRolledBack { step, .. } => {
                open.retain(|s| s != step)
            }
            _ => {}
        }
    }
    open
}

pub(super) fn queued_services(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if let Record::ReloadQueued { service, .. } = r {
            if !out.contains(service) {
                out.push(service.clone());
            }
        }
    }
    out
}

pub(super) fn installed(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Installed { packages, .. } => Some(packages.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

pub(super) fn snapshot_paths(records: &[Record]) -> BTreeSet<PathBuf> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Snapshot { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}
