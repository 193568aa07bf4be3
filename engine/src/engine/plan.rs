//! Planning: every change the steps would make, tried on an overlay of the host.
use super::base::Engine;
use super::drift::drift;
use super::execute::apply_change_as;
use crate::change::{Change, When};
use crate::host::Host;
use crate::memhost::MemHost;
use crate::step::{Facts, Note, Refusal, Step};
use color_eyre::eyre::{Result, WrapErr};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct PlannedChange {
    pub summary: String,
    /// A unified diff for files, the command line otherwise.
    pub rendered: String,
    /// Set when the change would overwrite a hand edit: what differs.
    pub drift: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub step: String,
    pub changes: Vec<PlannedChange>,
    /// What the admin should know that is not a change (a skipped part, a fallback).
    pub notes: Vec<Note>,
    /// What these changes depend on when the run may find them not needed (the step's
    /// [`crate::Planned::contingent`]).
    pub contingent: Option<crate::Contingency>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<PlannedStep>,
    /// Every command planning ran (read-only probes), in order: with facts cached per run,
    /// each probe runs once.
    pub commands: Vec<String>,
    /// What planning probed, for the run that applies this plan right after: a fact probed
    /// before any planned change touched its reads still holds until an applied change does
    /// ([`Facts::pristine`]).
    pub facts: Facts,
}

impl Plan {
    pub fn total(&self) -> usize {
        self.steps.iter().map(|s| s.changes.len()).sum()
    }
    pub fn drifted(&self) -> impl Iterator<Item = &PlannedChange> {
        self.steps
            .iter()
            .flat_map(|s| &s.changes)
            .filter(|c| c.drift.is_some())
    }
}

impl Engine<'_> {
    /// Every change the steps would make, with diffs; nothing on the host changes. A step's
    /// [`Refusal`] comes back as the error (find it with `downcast_ref::<Refusal>()`).
    pub fn plan<A: ?Sized>(&mut self, steps: &[&dyn Step<A>], answers: &A) -> Result<Plan> {
        let overlay = MemHost::overlay(self.host);
        let managed = self.managed(self.host);
        let facts = Facts::default();
        let mut written = BTreeSet::new();
        let mut plan = Plan::default();
        for step in steps {
            let ctx = self.ctx(&overlay, answers, &facts);
            let planned = step.plan(&ctx).map_err(|e| refusal_or(e, step.name()))?;
            let changes = effective(planned.changes, &overlay, &mut written);
            let mut planned_changes = Vec::new();
            for c in &changes {
                planned_changes.push(PlannedChange {
                    summary: c.summary(),
                    rendered: c.render(&overlay),
                    // Hand edits are judged on the real files, not on what earlier planned
                    // changes would make of them.
                    drift: drift(self.host, &managed, c),
                });
                // Later steps plan against the world as earlier steps would leave it.
                if !matches!(c, Change::Reload { .. }) {
                    apply_change_as(&overlay, c, true, &mut |_| {}).wrap_err_with(|| {
                        format!("planning step {}: {}", step.name(), c.summary())
                    })?;
                }
                facts.invalidate_for(c);
            }
            plan.steps.push(PlannedStep {
                step: step.name().to_string(),
                changes: planned_changes,
                notes: planned.notes,
                contingent: planned.contingent,
            });
        }
        plan.commands = overlay.probes();
        plan.facts = facts.pristine();
        Ok(plan)
    }
}

/// A step's `plan` error as the engine reports it: a [`Refusal`] as is, anything else with
/// the step's name.
fn refusal_or(e: color_eyre::Report, step: &str) -> color_eyre::Report {
    if e.downcast_ref::<Refusal>().is_some() {
        e
    } else {
        e.wrap_err(format!("planning step {step}"))
    }
}

/// The changes that do something on `host` now: files that differ, commands whose trigger
/// fired ([`When::Changed`] against `written`, the paths this run has written so far, which
/// this call extends). Drops changes that would change nothing; a reload alone is not a
/// change. Public for steps' unit tests.
pub fn effective(
    changes: Vec<Change>,
    host: &dyn Host,
    written: &mut BTreeSet<PathBuf>,
) -> Vec<Change> {
    let mut kept: Vec<Change> = Vec::new();
    for c in changes {
        let keep = match &c {
            Change::Run {
                when: When::Changed { changed, missing },
                ..
            } => {
                changed.iter().any(|p| written.contains(p))
                    || missing.iter().any(|p| !host.exists(p))
            }
            // A reload for some paths only: when this run wrote one of them.
            Change::Reload { after, .. } if !after.is_empty() => {
                after.iter().any(|p| written.contains(p))
            }
            // A file written earlier in this run exists by the time this runs, whatever the
            // host says now.
            Change::RemoveFile { path } if written.contains(path) => true,
            other => !other.is_noop(host),
        };
        if keep {
            if let Change::WriteFile { path, .. } | Change::RemoveFile { path } = &c {
                written.insert(path.clone());
            }
            kept.push(c);
        }
    }
    if kept.iter().all(|c| matches!(c, Change::Reload { .. })) {
        return Vec::new();
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemHost, Meta, Perms};

    fn reloads(changes: &[Change]) -> usize {
        changes
            .iter()
            .filter(|c| matches!(c, Change::Reload { .. }))
            .count()
    }

    /// A step writing a map and its configuration, reloading only for the configuration.
    fn step() -> Vec<Change> {
        vec![
            Change::write("/etc/d/d.conf", "conf\n", Perms::root(0o644)),
            Change::write("/etc/d/d.map", "a 1\nb 2\n", Perms::root(0o644)),
            Change::reload_after("d", &["/etc/d/d.conf"]),
        ]
    }

    fn host() -> MemHost<'static> {
        let h = MemHost::fake();
        h.add_file(
            "/etc/passwd",
            "root:x:0:0::/root:/bin/sh\n",
            Meta::root(0o644),
        );
        h.add_file("/etc/group", "root:x:0:\n", Meta::root(0o644));
        h.add_file("/etc/d/d.conf", "conf\n", Meta::root(0o644));
        h
    }

    #[test]
    fn a_reload_after_its_configuration_only_when_the_configuration_changed() {
        let h = host();
        h.add_file("/etc/d/d.map", "a 1\n", Meta::root(0o644));
        // Only the map differs: written, and no reload.
        let kept = effective(step(), &h, &mut BTreeSet::new());
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(reloads(&kept), 0, "{kept:?}");
        // The configuration differs too: the reload comes back.
        h.add_file("/etc/d/d.conf", "conf changed\n", Meta::root(0o644));
        let kept = effective(step(), &h, &mut BTreeSet::new());
        assert_eq!((kept.len(), reloads(&kept)), (3, 1), "{kept:?}");
        // Written by an earlier step of the same run: the reload too.
        h.add_file("/etc/d/d.conf", "conf\n", Meta::root(0o644));
        let mut written = BTreeSet::from([PathBuf::from("/etc/d/d.conf")]);
        let kept = effective(step(), &h, &mut written);
        assert_eq!(reloads(&kept), 1, "{kept:?}");
    }

    #[test]
    fn a_plain_reload_comes_with_any_change_of_its_step() {
        let h = host();
        let mut changes = step();
        changes[2] = Change::reload("d");
        let kept = effective(changes, &h, &mut BTreeSet::new());
        assert_eq!((kept.len(), reloads(&kept)), (2, 1), "{kept:?}");
    }
}
