//! Rolling back: a failed step or a whole failed run while it runs, and a finished run on
//! request (`mailstead rollback`).
use super::base::{Engine, Outcome, RollbackReport};
use super::records::{
    commands_of, installed, queued_services, snapshot_paths, snapshot_targets, steps_to_roll_back,
};
use super::run_state::RunState;
use crate::event::{Event, StepOutcome};
use crate::host::{Cmd, Host};
use crate::journal::{self, sha256_hex, Record, RunDir, RunId};
use crate::step::Step;
use crate::system;
use color_eyre::eyre::{eyre, Result};
use std::collections::BTreeSet;

impl Engine<'_> {
    /// Rolls `step` back. Never gives up half-way: what could not be done or recorded (a
    /// full disk) comes back as problems, so the exit code says the rollback needs a hand.
    pub(super) fn rollback_failed_step(
        &mut self,
        run: &RunDir,
        state: &mut RunState,
        step: &str,
        error: &str,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = run.record(&Record::StepFailed {
            step: step.to_string(),
            error: error.to_string(),
        }) {
            problems.push(format!("recording the failure of step {step}: {e:#}"));
        }
        self.emit(
            run,
            Event::StepFinished {
                step: step.to_string(),
                outcome: StepOutcome::Failed(error.to_string()),
            },
        );
        let restored = match restore_step(run, step) {
            Ok(p) => p,
            Err(e) => vec![format!("rolling back step {step}: {e:#}")],
        };
        problems.extend(restored.iter().cloned());
        if let Err(e) = run.record(&Record::StepRolledBack {
            step: step.to_string(),
            problems: restored,
        }) {
            problems.push(format!(
                "recording the rollback of step {step}: {e:#} (the next start may roll it back again)"
            ));
        }
        problems.extend(self.unqueue(run, state, step));
        self.emit(
            run,
            Event::StepFinished {
                step: step.to_string(),
                outcome: StepOutcome::RolledBack {
                    ok: problems.is_empty(),
                },
            },
        );
        problems
    }

    /// Drops a rolled-back step's reload requests; services already reloaded with its
    /// configuration are reloaded again with the restored one.
    fn unqueue(&mut self, run: &RunDir, state: &mut RunState, step: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut again = Vec::new();
        for (svc, by) in state.queue.iter_mut() {
            if by.remove(step) && state.reloaded.contains(svc) {
                again.push(svc.clone());
            }
        }
        state.queue.retain(|(_, by)| !by.is_empty());
        for svc in again {
            if let Err(e) = reload(self.host, &svc) {
                problems.push(format!("reloading {svc}: {e:#}"));
            } else {
                self.note(
                    run,
                    step,
                    &format!("reloaded {svc} with the restored configuration"),
                );
            }
        }
        problems
    }

    pub(super) fn fail_whole_run<A: ?Sized>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        steps: &[&dyn Step<A>],
        at: &str,
        error: color_eyre::Report,
    ) -> Outcome {
        let error = format!("{error:#}");
        let mut problems = Vec::new();
        if let Err(e) = run.record(&Record::StepFailed {
            step: at.to_string(),
            error: error.clone(),
        }) {
            problems.push(format!("recording the failure of {at}: {e:#}"));
        }
        self.note(run, at, &format!("{error}; rolling back the whole run"));
        for step in steps.iter().rev() {
            if !state.started.iter().any(|s| s == step.name()) {
                continue;
            }
            match restore_step(run, step.name()) {
                Ok(p) => {
                    if let Err(e) = run.record(&Record::StepRolledBack {
                        step: step.name().to_string(),
                        problems: p.clone(),
                    }) {
                        problems.push(format!(
                            "recording the rollback of step {}: {e:#}",
                            step.name()
                        ));
                    }
                    problems.extend(p);
                }
                Err(e) => problems.push(format!("{}: {e:#}", step.name())),
            }
        }
        let services: BTreeSet<String> = state
            .queue
            .iter()
            .map(|(s, _)| s.clone())
            .chain(state.reloaded.iter().cloned())
            .collect();
        for svc in services {
            if let Err(e) = reload(self.host, &svc) {
                problems.push(format!("reloading {svc}: {e:#}"));
            }
        }
        state.queue.clear();
        Outcome::Failed {
            step: at.to_string(),
            error,
            problems,
        }
    }

    /// Undoes a whole run, newest step first. Refuses while a later run changed the same paths,
    /// and asks (refuses with `yes` unless `force`) when a path changed since the run left it.
    /// Once it starts restoring it never gives up half-way: what could not be done or
    /// recorded comes back as problems.
    pub fn rollback_run(
        &mut self,
        id: Option<RunId>,
        purge_packages: bool,
    ) -> Result<RollbackReport> {
        let runs = journal::list_runs(self.host, &self.opts.state_dir);
        let id = match id {
            Some(id) => id,
            None => self.newest_live_run(&runs)?,
        };
        let run = RunDir::open(self.host, &self.opts.state_dir, &id)?;
        let records = run.records()?;
        if records
            .iter()
            .any(|r| matches!(r, Record::RunRolledBack { .. }))
        {
            return Err(eyre!("run {id} was already rolled back"));
        }
        self.refuse_if_changed_later(&id, &records, &runs)?;
        let pruned = journal::pruned_paths(self.host, &run.dir);
        if !pruned.is_empty() {
            return Err(eyre!(
                "run {id} can no longer be rolled back: its snapshots of {}, which held secrets, were removed once a later run changed the same files (see docs/user/runs.md, \"What is kept\")",
                pruned
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let steps = steps_to_roll_back(&records);
        let what = what_it_undoes(&id, &records, &steps);
        if !self.approve_rollback(&id, &records, &steps, &what)? && !self.opts.yes {
            let question = format!("Roll back run {id}?");
            if !self.obs.confirm(&question, &what) {
                return Err(eyre!("not confirmed: run {id} is left as it is"));
            }
        }
        run.repair()?;
        let mut report = RollbackReport {
            id: Some(id.clone()),
            ..Default::default()
        };
        for step in steps.iter().rev() {
            match restore_step(&run, step) {
                Ok(p) => report.problems.extend(p),
                Err(e) => report
                    .problems
                    .push(format!("rolling back step {step}: {e:#}")),
            }
            report.restored_steps.push(step.clone());
            report.by_hand.extend(commands_of(&records, step));
            self.obs.event(&Event::StepFinished {
                step: step.clone(),
                outcome: StepOutcome::RolledBack { ok: true },
            });
        }
        for svc in queued_services(&records) {
            if let Err(e) = reload(self.host, &svc) {
                report.problems.push(format!("reloading {svc}: {e:#}"));
            }
        }
        report.installed = installed(&records);
        if purge_packages && !report.installed.is_empty() {
            self.purge_installed(&mut report);
        }
        if let Err(e) = run.record(&Record::RunRolledBack {
            problems: report.problems.clone(),
            purged: report.purged.clone(),
        }) {
            report.problems.push(format!(
                "recording the rollback of run {id}: {e:#} (`mailstead runs` will not show it as rolled back)"
            ));
        }
        run.log(&format!("rolled back by `{}`", self.opts.command_line));
        Ok(report)
    }

    /// Whether run `id` is still in effect: it finished a step that was not rolled back since
    /// (an all-or-nothing run undone whole, by itself or by a recovery, is not), and the run
    /// was not rolled back.
    fn is_live(&self, id: &RunId) -> Result<bool> {
        let recs = RunDir::open(self.host, &self.opts.state_dir, id)?.records()?;
        Ok(crate::journal::in_effect(&recs))
    }

    /// The newest of `runs` still in effect: what a rollback without a run id undoes.
    fn newest_live_run(&self, runs: &[RunId]) -> Result<RunId> {
        let mut found = None;
        for r in runs.iter().rev() {
            if self.is_live(r)? {
                found = Some(r.clone());
                break;
            }
        }
        found.ok_or_else(|| eyre!("there is no run left to roll back (see `mailstead runs`)"))
    }

    /// Refuses while a later run still in effect changed the same paths as run `id` (the
    /// fingerprints file aside): restoring them would undo that run too.
    fn refuse_if_changed_later(
        &self,
        id: &RunId,
        records: &[Record],
        runs: &[RunId],
    ) -> Result<()> {
        let paths = snapshot_paths(records);
        for later in runs.iter().filter(|r| *r > id) {
            if !self.is_live(later)? {
                continue;
            }
            let later_recs = RunDir::open(self.host, &self.opts.state_dir, later)?.records()?;
            let overlap = snapshot_paths(&later_recs)
                .into_iter()
                .filter(|p| paths.contains(p) && !p.ends_with("managed.json"))
                .collect::<Vec<_>>();
            if !overlap.is_empty() {
                return Err(eyre!(
                    "run {later} changed the same files after {id} ({}); roll back {later} first",
                    overlap
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Purges the packages the rolled-back run installed (`rollback --purge-packages`).
    fn purge_installed(&self, report: &mut RollbackReport) {
        let cmd = system::apt_purge_cmd(&report.installed);
        match self.host.run(&cmd) {
            Ok(out) if out.success() => report.purged = report.installed.clone(),
            Ok(out) => report.problems.push(system::failure(&cmd, &out)),
            Err(e) => report.problems.push(format!("`{cmd}`: {e}")),
        }
    }

    /// The drift guard of a run, for a rollback: paths that changed since the run left them
    /// (hand edits, renewed certificates, users added) are shown and asked about, after `what`
    /// the rollback undoes; with `yes` the rollback is refused unless `force`. `Err`: nothing
    /// may be restored; `Ok(true)`: it asked and was answered yes.
    fn approve_rollback(
        &mut self,
        id: &RunId,
        records: &[Record],
        steps: &[String],
        what: &str,
    ) -> Result<bool> {
        let left = records.iter().rev().find_map(|r| match r {
            Record::RunEnd { left, .. } if !left.is_empty() => Some(left),
            _ => None,
        });
        let managed = self.managed(self.host);
        let own = self.managed_path();
        let mut changed: Vec<String> = Vec::new();
        for (path, deep) in snapshot_targets(records, steps) {
            if path == own {
                continue;
            }
            let edited = match left {
                Some(left) => left
                    .get(&path)
                    .is_some_and(|was| journal::fingerprint(self.host, &path, deep) != *was),
                // A journal from before fingerprints were recorded: what mailstead last wrote.
                None => managed.get(&path).is_some_and(|was| {
                    self.host.read(&path).ok().flatten().map(|b| sha256_hex(&b))
                        != Some(was.clone())
                }),
            };
            if edited {
                changed.push(path.display().to_string());
            }
        }
        if changed.is_empty() {
            return Ok(false);
        }
        let why = format!(
            "changed since run {id} made them: {} (edited by hand, renewed, or changed by a command)",
            changed.join(", ")
        );
        let detail = format!(
            "{what}Rolling back run {id} puts these back as they were before it, discarding what changed since:\n{}",
            changed.join("\n")
        );
        if self.opts.yes {
            if self.opts.force {
                return Ok(false);
            }
            return Err(eyre!(
                "{why}; refusing to roll back over them with --yes (look at them, then re-run with --force to discard the changes)"
            ));
        }
        if self.obs.confirm(
            &format!("{why}. Roll back anyway, discarding those changes?"),
            &detail,
        ) {
            Ok(true)
        } else {
            Err(eyre!("{why}; left as they are"))
        }
    }
}

/// What rolling back run `id` undoes, for the question before it: the run's command and the
/// changes of `steps`, one summary a line.
fn what_it_undoes(id: &RunId, records: &[Record], steps: &[String]) -> String {
    let command = records
        .iter()
        .find_map(|r| match r {
            Record::RunStart { command, .. } => Some(command.as_str()),
            _ => None,
        })
        .unwrap_or("?");
    let changes: Vec<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Change { step, summary, .. } if steps.contains(step) => Some(summary.as_str()),
            _ => None,
        })
        .collect();
    let mut text = format!(
        "Run {id} (`{command}`): {} change{} to undo:\n",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    for c in changes {
        text.push_str(&format!("  {c}\n"));
    }
    text
}

pub(super) fn reload(host: &dyn Host, service: &str) -> Result<()> {
    if let Some(cmd) = system::reload_cmd(host, service) {
        let out = host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(system::service_failure(host, service, &cmd, &out)));
        }
    }
    Ok(())
}

/// How long an inverse command ([`Cmd::undo`]) may take before a rollback gives up on it.
pub const UNDO_TIMEOUT_SECS: u64 = 30 * 60;

/// Puts back everything `step` touched in this run, newest snapshot first.
pub(super) fn restore_step(run: &RunDir, step: &str) -> Result<Vec<String>> {
    let records = run.records()?;
    let mut problems = Vec::new();
    // First the inverses of the step's finished commands, newest first: live state that files
    // cannot hold (a firewall enabled, a user created). Before the files, so that what an
    // inverse rewrites on its way (`userdel` refreshes /etc/passwd-) is then restored too.
    let mut undos: Vec<(&String, &Vec<String>)> = Vec::new();
    let mut pending: Option<(&String, &Vec<String>)> = None;
    for r in &records {
        match r {
            Record::Change {
                step: s,
                summary,
                undo,
                ..
            } if s == step => pending = undo.as_ref().map(|u| (summary, u)),
            Record::ChangeDone { step: s } if s == step => undos.extend(pending.take()),
            _ => {}
        }
    }
    for (summary, argv) in undos.into_iter().rev() {
        let Some((program, args)) = argv.split_first() else {
            continue;
        };
        // Not seconds: an inverse may walk the file systems (the one of `useradd vmail` gives
        // every file the user owns, a whole mail store, to root before the uid is freed).
        let cmd = Cmd::new(program, args.iter().cloned())
            .timeout(std::time::Duration::from_secs(UNDO_TIMEOUT_SECS));
        match run.host.run(&cmd) {
            // What it says it did goes to the log with it.
            Ok(out) if out.success() => run.log(&format!(
                "[{step}] undone: {summary} (`{cmd}`){}",
                match out.stdout.trim() {
                    "" => String::new(),
                    said => format!(": {said}"),
                }
            )),
            Ok(out) => problems.push(format!(
                "undoing `{summary}`: {}",
                system::failure(&cmd, &out)
            )),
            Err(e) => problems.push(format!("undoing `{summary}`: cannot run `{cmd}`: {e}")),
        }
    }
    for r in records.iter().rev() {
        if let Record::Snapshot {
            step: s,
            path,
            deep,
            entries,
        } = r
        {
            if s == step {
                problems.extend(run.restore(path, *deep, entries));
            }
        }
    }
    run.log(&format!("rolled back step {step}"));
    Ok(problems)
}
