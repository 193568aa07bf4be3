//! A listing of a bed's /etc, to prove what a run changed (or did not).
use std::collections::BTreeMap;

/// A listing of /etc: path -> "type mode uid gid sha256|target".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcSnapshot {
    pub entries: BTreeMap<String, String>,
}

impl EtcSnapshot {
    pub fn parse(text: &str) -> EtcSnapshot {
        let entries = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(p, rest)| (p.to_string(), rest.replace('\t', " ")))
            .collect();
        EtcSnapshot { entries }
    }

    /// Differences from `self` to `after`: "+ path ...", "- path ...", "~ path: old -> new".
    pub fn diff(&self, after: &EtcSnapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (p, v) in &self.entries {
            match after.entries.get(p) {
                None => out.push(format!("- {p} {v}")),
                Some(w) if w != v => out.push(format!("~ {p}: {v} -> {w}")),
                _ => {}
            }
        }
        for (p, w) in &after.entries {
            if !self.entries.contains_key(p) {
                out.push(format!("+ {p} {w}"));
            }
        }
        out
    }

    /// Like [`EtcSnapshot::assert_same`], but differences below `kept` (what a run keeps on
    /// purpose across a rollback, e.g. an issued certificate) are allowed, except at
    /// `restored` paths below it, which must be as before.
    pub fn assert_same_but(&self, after: &EtcSnapshot, what: &str, kept: &str, restored: &[&str]) {
        let path_of = |line: &str| {
            line.trim_start_matches(['+', '-', '~', ' '])
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let d: Vec<String> = self
            .diff(after)
            .into_iter()
            .filter(|l| {
                let p = path_of(l);
                !p.starts_with(kept) || restored.iter().any(|r| p.starts_with(r))
            })
            .collect();
        assert!(
            d.is_empty(),
            "{what}: /etc changed outside {kept} ({} entries):\n{}",
            d.len(),
            d.join("\n")
        );
    }

    /// Panics listing every difference unless `after` is identical.
    pub fn assert_same(&self, after: &EtcSnapshot, what: &str) {
        let d = self.diff(after);
        assert!(
            d.is_empty(),
            "{what}: /etc changed ({} entries):\n{}",
            d.len(),
            d.join("\n")
        );
    }
}
