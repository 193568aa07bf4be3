//! Hand edits: the fingerprints of what mailstead last wrote, what differs from them now, and
//! asking before overwriting it.
use super::base::Engine;
use crate::change::{unified_diff, Change};
use crate::host::{Host, Kind};
use crate::journal::sha256_hex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) type Managed = BTreeMap<PathBuf, String>;

impl Engine<'_> {
    pub(super) fn managed_path(&self) -> PathBuf {
        self.opts.state_dir.join("managed.json")
    }

    /// Fingerprints of the files mailstead last wrote.
    pub(super) fn managed(&self, host: &dyn Host) -> Managed {
        let mut m: Managed = host
            .read(&self.managed_path())
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        m.retain(|p, _| !self.opts.unguarded.contains(p));
        m
    }

    pub(super) fn approve_drift(
        &mut self,
        summary: &str,
        detail: &str,
    ) -> std::result::Result<(), String> {
        let why = format!("{summary}: the file was edited by hand since mailstead wrote it");
        if self.opts.yes {
            if self.opts.force {
                return Ok(());
            }
            return Err(format!(
                "{why}; refusing to overwrite it with --yes (review with `mailstead plan`, then re-run with --force to overwrite)"
            ));
        }
        if self.obs.confirm(&format!("{why}. Overwrite it?"), detail) {
            Ok(())
        } else {
            Err(format!("{why}; left as it is, nothing changed"))
        }
    }
}

/// What differs from what mailstead last wrote, if the change would overwrite a hand edit.
pub(super) fn drift(host: &dyn Host, managed: &Managed, change: &Change) -> Option<String> {
    let check = |path: &Path| -> Option<Vec<u8>> {
        let want = managed.get(path)?;
        let now = host.read(path).ok().flatten();
        match &now {
            Some(b) if sha256_hex(b) == *want => None,
            _ => Some(now.unwrap_or_default()),
        }
    };
    match change {
        Change::WriteFile {
            path,
            content,
            secret,
            ..
        } => check(path).map(|now| {
            if *secret {
                format!("{} (contents hidden: holds secrets)", path.display())
            } else {
                unified_diff(
                    path,
                    &String::from_utf8_lossy(&now),
                    &String::from_utf8_lossy(content),
                )
            }
        }),
        Change::RemoveFile { path } => {
            check(path).map(|_| format!("{} would be removed", path.display()))
        }
        Change::Run {
            touches, detail, ..
        } => {
            let edited: Vec<String> = touches
                .iter()
                .filter(|p| check(p).is_some())
                .map(|p| p.display().to_string())
                .collect();
            (!edited.is_empty()).then(|| {
                format!(
                    "edited by hand: {}\nmailstead would change:\n{}",
                    edited.join(", "),
                    detail.join("\n")
                )
            })
        }
        _ => None,
    }
}

pub(super) fn record_fingerprints(host: &dyn Host, change: &Change, managed: &mut Managed) {
    match change {
        Change::WriteFile { path, content, .. } => {
            managed.insert(path.clone(), sha256_hex(content));
        }
        Change::RemoveFile { path } => {
            managed.remove(path);
        }
        Change::Run { touches, .. } => {
            for p in touches {
                match host.stat(p) {
                    Ok(Some(st)) if st.kind == Kind::File => {
                        if let Ok(Some(b)) = host.read(p) {
                            managed.insert(p.clone(), sha256_hex(&b));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
