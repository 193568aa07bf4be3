//! Applying: a run, step by step, each change journalled and snapshotted first; reloads at the
//! end, then the checks.
use super::base::{Engine, Outcome, RunReport};
use super::drift::{drift, record_fingerprints, Managed};
use super::execute::{apply_change_fed, Feed};
use super::plan::{effective, Plan};
use super::records::left_behind;
use super::run_state::RunState;
use crate::change::Change;
use crate::event::{Event, StepOutcome};
use crate::host::{Host, Meta};
use crate::journal::{Record, RunDir, RunId};
use crate::step::{Check, Facts, Finding, Level, Note, Refusal, Status, Step};
use crate::{interrupt, system};
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

enum StepError {
    Failed(color_eyre::Report),
    Interrupted,
    Refused(String),
}

impl From<color_eyre::Report> for StepError {
    fn from(e: color_eyre::Report) -> Self {
        StepError::Failed(e)
    }
}

/// `<step>.before|mid|after`: with the `failpoints` feature, `FAILPOINTS=x.mid=return`
/// fails there; `return(kill)` kills the process on the spot, as a power cut would.
fn failpoint(name: &str) -> Result<()> {
    #[cfg(feature = "failpoints")]
    {
        if let Some(msg) = fail::eval(name, |arg| arg.unwrap_or_default()) {
            if msg == "kill" {
                // SAFETY: signalling ourselves.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
            }
            return Err(eyre!("failpoint {name} triggered {msg}"));
        }
    }
    let _ = name;
    Ok(())
}

/// The report of a run that stopped before touching anything: no journal, no changes.
fn untouched(outcome: Outcome) -> RunReport {
    RunReport {
        id: None,
        changes: 0,
        installed: vec![],
        outcome,
        findings: vec![],
    }
}

impl<'a> Engine<'a> {
    /// Plans, asks about hand edits, then applies step by step with snapshots; a failed step
    /// is rolled back at once.
    pub fn apply<A: ?Sized + Sync>(
        &mut self,
        steps: &[&dyn Step<A>],
        checks: &[&dyn Check<A>],
        answers: &A,
    ) -> Result<RunReport> {
        interrupt::reset();
        let plan = match self.plan(steps, answers) {
            Ok(plan) => plan,
            Err(e) => match e.downcast_ref::<Refusal>() {
                Some(r) => return Ok(untouched(Outcome::Refused(r.to_string()))),
                None => return Err(e),
            },
        };
        if plan.total() == 0 {
            self.warn_unchanged(&plan);
            return Ok(untouched(Outcome::NothingToDo));
        }
        let approved = match self.approve_planned_drift(&plan) {
            Ok(approved) => approved,
            Err(why) => return Ok(untouched(Outcome::Refused(why))),
        };

        let (id, mut run) = self.start_run(steps)?;
        let mut state = RunState::default();
        // Planning's probes are reused when the run follows at once; after a question about a
        // hand edit (minutes may pass) every fact is probed again.
        let facts = if plan.drifted().next().is_none() {
            plan.facts.clone()
        } else {
            Facts::default()
        };
        let (total, mut outcome) =
            self.apply_steps(&mut run, &mut state, steps, answers, &approved, &facts);
        let mut findings = Vec::new();
        if outcome == Outcome::Done {
            if let Err(e) = self.flush_reloads(&run, &mut state) {
                outcome = self.fail_whole_run(&mut run, &mut state, steps, "reload", e);
            }
        }
        if outcome == Outcome::Done && !checks.is_empty() {
            (findings, outcome) =
                self.check_applied(&mut run, &mut state, steps, checks, answers, &facts);
        }
        self.record_run_end(&run, &mut outcome);
        let ok = matches!(outcome, Outcome::Done);
        self.emit(
            &run,
            Event::RunFinished {
                id: id.clone(),
                changes: total,
                ok,
            },
        );
        Ok(RunReport {
            id: Some(id),
            changes: if ok { total } else { 0 },
            installed: state.installed,
            outcome,
            findings,
        })
    }

    /// Nothing to change, but what the steps warn about still holds (a warning only shown
    /// while changes are made would vanish on the re-run meant to check it).
    fn warn_unchanged(&mut self, plan: &Plan) {
        for step in &plan.steps {
            for note in step.notes.iter().filter(|n| n.level == Level::Warning) {
                self.obs.event(&Event::Note {
                    step: step.step.clone(),
                    level: note.level,
                    text: note.text.clone(),
                });
            }
        }
    }

    /// Asks about every planned change that would overwrite a hand edit. `Ok`: the summaries
    /// of the changes approved; `Err`: why the run stops before touching anything.
    fn approve_planned_drift(
        &mut self,
        plan: &Plan,
    ) -> std::result::Result<BTreeSet<String>, String> {
        let mut approved = BTreeSet::new();
        for c in plan.drifted() {
            self.approve_drift(&c.summary, c.drift.as_deref().unwrap_or(""))?;
            approved.insert(c.summary.clone());
        }
        Ok(approved)
    }

    /// Opens the run's journal with its start record and announces the run.
    fn start_run<A: ?Sized>(&mut self, steps: &[&dyn Step<A>]) -> Result<(RunId, RunDir<'a>)> {
        let id = RunId::new();
        let run = RunDir::create(self.host, &self.opts.state_dir, id.clone())?;
        run.record(&Record::RunStart {
            id: id.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: self.opts.command_line.clone(),
            atomic: self.opts.atomic,
        })?;
        self.emit(
            &run,
            Event::RunStarted {
                id: id.clone(),
                steps: steps.iter().map(|s| s.name().to_string()).collect(),
            },
        );
        Ok((id, run))
    }

    /// Applies the steps in order until one stops the run (fails, refuses, is interrupted).
    /// Returns the changes made and how the run stands, rolled back as far as it has to be.
    fn apply_steps<A: ?Sized>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        steps: &[&dyn Step<A>],
        answers: &A,
        approved: &BTreeSet<String>,
        facts: &Facts,
    ) -> (usize, Outcome) {
        let mut total = 0;
        for (i, step) in steps.iter().enumerate() {
            match self.apply_step(run, state, *step, answers, approved, facts) {
                Ok(n) => total += n,
                Err(err) => return (total, self.stop_at(run, state, steps, i, err)),
            }
        }
        (total, Outcome::Done)
    }

    /// Step `steps[i]` stopped the run: undoes what has to be undone and says how it ended.
    fn stop_at<A: ?Sized>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        steps: &[&dyn Step<A>],
        i: usize,
        err: StepError,
    ) -> Outcome {
        let name = steps[i].name();
        let (error, interrupted) = match err {
            // Ctrl-C also reaches a running child (same process group), which then fails:
            // that is still an interruption.
            StepError::Failed(e) => (format!("{e:#}"), interrupt::requested()),
            StepError::Interrupted => ("interrupted".to_string(), true),
            StepError::Refused(why) => return self.refused_at(run, state, steps, i, why),
        };
        if self.opts.atomic {
            // All or nothing, under every interruption too: undo the whole run.
            match self.fail_whole_run(run, state, &steps[..=i], name, eyre!(error)) {
                Outcome::Failed { step, problems, .. } if interrupted => {
                    Outcome::Interrupted { step, problems }
                }
                other => other,
            }
        } else {
            let mut problems = self.rollback_failed_step(run, state, name, &error);
            // Steps before stay applied and consistent: load what they wrote.
            if let Err(e) = self.flush_reloads(run, state) {
                problems.push(format!("reloading services: {e:#}"));
            }
            if interrupted {
                Outcome::Interrupted {
                    step: name.to_string(),
                    problems,
                }
            } else {
                Outcome::Failed {
                    step: name.to_string(),
                    error,
                    problems,
                }
            }
        }
    }

    /// Step `steps[i]` refused: nothing of it was touched; earlier steps stay applied, unless
    /// the run is all or nothing.
    fn refused_at<A: ?Sized>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        steps: &[&dyn Step<A>],
        i: usize,
        why: String,
    ) -> Outcome {
        let name = steps[i].name();
        self.note(run, name, &why);
        if self.opts.atomic && !state.started.is_empty() {
            match self.fail_whole_run(run, state, &steps[..i], name, eyre!("{why}")) {
                Outcome::Failed { problems, .. } if problems.is_empty() => Outcome::Refused(why),
                other => other,
            }
        } else {
            Outcome::Refused(why)
        }
    }

    /// The services run the new configuration now: prove it works, or undo the run. Returns
    /// the findings and how the run stands.
    fn check_applied<A: ?Sized + Sync>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        steps: &[&dyn Step<A>],
        checks: &[&dyn Check<A>],
        answers: &A,
        facts: &Facts,
    ) -> (Vec<(String, Finding)>, Outcome) {
        // Every change dropped the facts it made stale; the reloads change running services.
        facts.invalidate_key(crate::step::reads::SERVICES);
        let ctx = self.ctx(self.host, answers, facts);
        // Nothing installed, no configuration reloaded (at most a daemon told to read its
        // tables again): what only a reload changes was proved before.
        let data_only = state.installed.is_empty()
            && state
                .reloaded
                .iter()
                .all(|s| !state.reconfigured.contains(s));
        let checks: Vec<&dyn Check<A>> = checks
            .iter()
            .copied()
            .filter(|c| !(data_only && c.only_after_reload()))
            .collect();
        let findings = self.run_checks(run, &checks, &ctx);
        let failed: Vec<String> = findings
            .iter()
            .filter(|(_, f)| f.status == Status::Fail)
            .map(|(name, f)| match &f.fix {
                Some(fix) => format!("check {name}: {} (fix: {fix})", f.detail),
                None => format!("check {name}: {}", f.detail),
            })
            .collect();
        let outcome = if failed.is_empty() {
            Outcome::Done
        } else {
            self.fail_whole_run(run, state, steps, "check", eyre!(failed.join("\n")))
        };
        (findings, outcome)
    }

    /// Ends the journal with how the run ended and what it leaves behind (for a later
    /// rollback). When that cannot be written, `outcome` or a warning says so.
    fn record_run_end(&mut self, run: &RunDir, outcome: &mut Outcome) {
        let status = match outcome {
            Outcome::Done | Outcome::NothingToDo => "ok",
            Outcome::Refused(_) => "refused",
            Outcome::Failed { .. } => "failed",
            Outcome::Interrupted { .. } => "interrupted",
        };
        let end = Record::RunEnd {
            status: status.to_string(),
            left: left_behind(self.host, run, &self.managed_path()),
        };
        if let Err(e) = run.record(&end) {
            let problem = format!(
                "{e:#}: the run's end is not in its journal; the next start will offer to recover it"
            );
            match outcome {
                Outcome::Failed { problems, .. } | Outcome::Interrupted { problems, .. } => {
                    problems.push(problem)
                }
                _ => {
                    let why = problem.clone();
                    self.emit(
                        run,
                        Event::Note {
                            step: "run".into(),
                            level: Level::Warning,
                            text: why,
                        },
                    );
                }
            }
        }
    }

    /// Applies one step: plans it on the host as it is now, asks about hand edits, then
    /// snapshots, journals and applies each change. `Err`: the step failed, refused or was
    /// interrupted; what it did is left for the caller to roll back.
    fn apply_step<A: ?Sized>(
        &mut self,
        run: &mut RunDir,
        state: &mut RunState,
        step: &dyn Step<A>,
        answers: &A,
        approved: &BTreeSet<String>,
        facts: &Facts,
    ) -> std::result::Result<usize, StepError> {
        let name = step.name();
        if interrupt::requested() {
            return Err(StepError::Interrupted);
        }
        self.emit(
            run,
            Event::StepStarted {
                step: name.to_string(),
                about: step.about().to_string(),
            },
        );
        let host = self.host;
        let ctx = self.ctx(host, answers, facts);
        let planned = step.plan(&ctx).map_err(|e| planning_error(e, name))?;
        self.emit_notes(run, name, &planned.notes);
        let changes = effective(planned.changes, host, &mut state.written);
        if changes.is_empty() {
            // A step that changed nothing was verified by the run that made it so; only new
            // packages (a new daemon version reading the same files) make it worth again.
            if !state.installed.is_empty() {
                step.verify(&ctx)
                    .wrap_err_with(|| format!("step {name}: verify"))?;
            }
            self.emit(
                run,
                Event::StepFinished {
                    step: name.to_string(),
                    outcome: StepOutcome::Unchanged,
                },
            );
            return Ok(0);
        }
        let mut managed = self.managed(host);
        self.approve_step_drift(&managed, &changes, approved)
            .map_err(StepError::Refused)?;

        run.record(&Record::StepStart {
            step: name.to_string(),
        })?;
        state.started.push(name.to_string());
        let mut snapped: Vec<(PathBuf, bool)> = Vec::new();
        self.snapshot(run, name, &self.managed_path(), false, false, &mut snapped)?;
        failpoint(&format!("{name}.before"))?;
        let mid = changes.len().div_ceil(2) - 1;
        let mut applied = 0;
        for (i, change) in changes.iter().enumerate() {
            self.snapshot_change(run, name, change, &mut snapped)?;
            run.record(&change_record(name, change))?;
            self.emit(
                run,
                Event::ChangeStarted {
                    step: name.to_string(),
                    summary: change.summary(),
                    index: i + 1,
                    of: changes.len(),
                },
            );
            self.carry_out(run, state, name, change, &mut managed)?;
            facts.invalidate_for(change);
            run.record(&Record::ChangeDone {
                step: name.to_string(),
            })?;
            applied += 1;
            self.emit(
                run,
                Event::Change {
                    step: name.to_string(),
                    summary: change.summary(),
                },
            );
            if i == mid {
                failpoint(&format!("{name}.mid"))?;
            }
            if interrupt::requested() {
                return Err(StepError::Interrupted);
            }
        }
        failpoint(&format!("{name}.after"))?;
        step.verify(&ctx)
            .wrap_err_with(|| format!("step {name}: verify"))?;
        self.finish_step(run, state, name, &managed, applied)?;
        Ok(applied)
    }

    /// Shows what the step says beyond its changes.
    fn emit_notes(&mut self, run: &RunDir, step: &str, notes: &[Note]) {
        for note in notes {
            self.emit(
                run,
                Event::Note {
                    step: step.to_string(),
                    level: note.level,
                    text: note.text.clone(),
                },
            );
        }
    }

    /// Asks about each change that would overwrite a hand edit, unless approved while
    /// planning the run. `Err`: why the step refuses.
    fn approve_step_drift(
        &mut self,
        managed: &Managed,
        changes: &[Change],
        approved: &BTreeSet<String>,
    ) -> std::result::Result<(), String> {
        for c in changes {
            if let Some(d) = drift(self.host, managed, c) {
                if !approved.contains(&c.summary()) {
                    self.approve_drift(&c.summary(), &d)?;
                }
            }
        }
        Ok(())
    }

    /// Snapshots every path `change` will touch (and the parent directories it will create)
    /// that this step has not snapshotted yet. A kept command's paths are not snapshotted: a
    /// rollback leaves what it did.
    fn snapshot_change(
        &self,
        run: &mut RunDir,
        name: &str,
        change: &Change,
        snapped: &mut Vec<(PathBuf, bool)>,
    ) -> Result<()> {
        let kept = matches!(change, Change::Run { keep: true, .. });
        for p in change.paths().into_iter().filter(|_| !kept) {
            let (deep, keep) = match change {
                Change::Run { .. } => (true, false),
                Change::EnsureDir { .. } => (false, true),
                _ => (false, false),
            };
            // Parent directories the write will create: removed again on rollback.
            if let Some(top) = topmost_missing_parent(self.host, p) {
                self.snapshot(run, name, &top, false, true, snapped)?;
            }
            self.snapshot(run, name, p, deep, keep, snapped)?;
        }
        Ok(())
    }

    /// Applies one change of step `name`: a reload is only queued (services reload once, at
    /// the end of the run); anything else is done now, its output shown as it comes, its
    /// packages and fingerprints recorded.
    fn carry_out(
        &mut self,
        run: &RunDir,
        state: &mut RunState,
        name: &str,
        change: &Change,
        managed: &mut Managed,
    ) -> Result<()> {
        if let Change::Reload {
            service,
            restart,
            tables,
            ..
        } = change
        {
            run.record(&Record::ReloadQueued {
                step: name.to_string(),
                service: service.clone(),
            })?;
            state.queue(service, name);
            if *restart {
                state.restart.insert(service.clone());
            }
            if *restart || !*tables {
                state.reconfigured.insert(service.clone());
            }
            return Ok(());
        }
        let host = self.host;
        let installed = apply_change_fed(host, change, &mut |fed| {
            self.emit(run, fed_event(name, fed));
        })
        .wrap_err_with(|| format!("step {name}: {}", change.summary()))?;
        if !installed.is_empty() {
            run.record(&Record::Installed {
                step: name.to_string(),
                packages: installed.clone(),
            })?;
            state.installed.extend(installed);
        }
        record_fingerprints(host, change, managed);
        Ok(())
    }

    /// Step `name` applied all its changes: keeps their fingerprints and marks it done.
    fn finish_step(
        &mut self,
        run: &RunDir,
        state: &mut RunState,
        name: &str,
        managed: &Managed,
        applied: usize,
    ) -> Result<()> {
        let json = serde_json::to_vec_pretty(managed).map_err(|e| eyre!(e))?;
        self.host
            .write_atomic(&self.managed_path(), &json, Meta::root(0o600))
            .wrap_err("recording fingerprints")?;
        run.record(&Record::StepDone {
            step: name.to_string(),
            changes: applied,
        })?;
        state.done.push(name.to_string());
        self.emit(
            run,
            Event::StepFinished {
                step: name.to_string(),
                outcome: StepOutcome::Changed(applied),
            },
        );
        Ok(())
    }

    /// Snapshots `path` for `step` (the whole tree when `deep`), unless `snapped` already
    /// covers it.
    fn snapshot(
        &self,
        run: &mut RunDir,
        step: &str,
        path: &Path,
        deep: bool,
        keep_if_not_empty: bool,
        snapped: &mut Vec<(PathBuf, bool)>,
    ) -> Result<()> {
        let covered = snapped
            .iter()
            .any(|(p, d)| p == path && (*d || !deep) || (*d && path.starts_with(p)));
        if covered {
            return Ok(());
        }
        let entries = run.snapshot(path, deep, keep_if_not_empty)?;
        run.record(&Record::Snapshot {
            step: step.to_string(),
            path: path.to_path_buf(),
            deep,
            entries,
        })?;
        snapped.push((path.to_path_buf(), deep));
        Ok(())
    }

    /// Reloads (or restarts) each queued service once, in the order queued.
    fn flush_reloads(&mut self, run: &RunDir, state: &mut RunState) -> Result<()> {
        let services: Vec<String> = state.queue.drain(..).map(|(s, _)| s).collect();
        if services.is_empty() {
            return Ok(());
        }
        for svc in &services {
            let restart = state.restart.remove(svc);
            let cmd = if restart {
                system::restart_cmd(self.host, svc)
            } else {
                system::reload_cmd(self.host, svc)
            };
            match cmd {
                Some(cmd) => {
                    let out = self.host.run(&cmd)?;
                    if !out.success() {
                        return Err(eyre!(system::service_failure(self.host, svc, &cmd, &out)));
                    }
                    let done = if restart { "restarted" } else { "reloaded" };
                    self.note(run, "reload", &format!("{done} {svc}"));
                }
                None => self.note(
                    run,
                    "reload",
                    &format!("no service manager found: reload {svc} by hand"),
                ),
            }
            state.reloaded.insert(svc.clone());
        }
        run.record(&Record::Reloaded { services })?;
        Ok(())
    }
}

fn topmost_missing_parent(host: &dyn Host, path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .take_while(|a| !host.exists(a))
        .last()
        .map(Path::to_path_buf)
}

/// A step's `plan` error while applying: its [`Refusal`] as a refusal, anything else as a
/// failure naming the step.
fn planning_error(e: color_eyre::Report, name: &str) -> StepError {
    match e.downcast_ref::<Refusal>() {
        Some(r) => StepError::Refused(r.to_string()),
        None => StepError::Failed(e.wrap_err(format!("step {name}: reading the current state"))),
    }
}

/// The journal record of a change about to be applied: a command's line and its undo.
fn change_record(name: &str, change: &Change) -> Record {
    Record::Change {
        step: name.to_string(),
        summary: change.summary(),
        command: match change {
            Change::Run { cmd, .. } => Some(cmd.to_string()),
            _ => None,
        },
        undo: match change {
            Change::Run { cmd, .. } => cmd.undo.as_ref().map(|u| {
                std::iter::once(u.program.clone())
                    .chain(u.args.iter().cloned())
                    .collect()
            }),
            _ => None,
        },
        // A kept run's files are not snapshotted: restoring nothing does not undo it.
        files_only: matches!(change, Change::Run { cmd, keep: false, .. } if cmd.files_only),
    }
}

/// What a running change reports, as the event of step `step`.
fn fed_event(step: &str, fed: Feed) -> Event {
    let step = step.to_string();
    match fed {
        Feed::Line(line) => Event::Output {
            step,
            line: line.to_string(),
        },
        Feed::Progress { percent, what } => Event::Progress {
            step,
            percent,
            what: what.to_string(),
        },
        Feed::Tolerated(text) => Event::Note {
            step,
            level: Level::Warning,
            text: text.to_string(),
        },
    }
}
