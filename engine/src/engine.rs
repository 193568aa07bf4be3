//! The engine alone plans, applies, journals, snapshots and rolls back. Steps only say what
//! they want; observers only watch.
use crate::change::{unified_diff, Change, Perms, When};
use crate::event::{Event, Observer, StepOutcome};
use crate::host::{Cmd, Host, Kind, Meta};
use crate::journal::{self, sha256_hex, Record, RunDir, RunId};
use crate::memhost::MemHost;
use crate::step::{Check, Ctx, Facts, Finding, Level, Note, Refusal, Status, Step};
use crate::{interrupt, system};
use color_eyre::eyre::{eyre, Result, WrapErr};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct Options {
    /// Where runs, snapshots and fingerprints live (`/var/lib/mailstead`).
    pub state_dir: PathBuf,
    /// No one to ask: take the safe answer (refuse to overwrite hand edits, roll back).
    pub yes: bool,
    /// With `yes`: overwrite files edited by hand anyway.
    pub force: bool,
    /// For the journal (never holds secrets: the CLI takes none in argv).
    pub command_line: String,
    pub invoking_users: Vec<String>,
    /// Files mailstead writes but the admin is expected to edit too (the answers file):
    /// re-read before every write, so no hand-edit guard.
    pub unguarded: Vec<PathBuf>,
    /// All or nothing: a failed step rolls back the whole run, not just itself (add-domain
    /// and friends: the answers file must not claim what the server does not have).
    pub atomic: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            state_dir: PathBuf::from(journal::STATE_DIR),
            yes: false,
            force: false,
            command_line: String::new(),
            invoking_users: vec!["root".into()],
            unguarded: Vec::new(),
            atomic: false,
        }
    }
}

/// How a run ended; decides the exit code.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    NothingToDo,
    /// Stopped before touching anything (hand edits not to be overwritten, a question
    /// declined, a step's [`Refusal`]).
    Refused(String),
    Failed {
        step: String,
        error: String,
        problems: Vec<String>,
    },
    Interrupted {
        step: String,
        problems: Vec<String>,
    },
}

#[derive(Debug)]
pub struct RunReport {
    pub id: Option<RunId>,
    pub changes: usize,
    pub installed: Vec<String>,
    pub outcome: Outcome,
    /// What the checks found after the run's reloads (empty when nothing changed).
    pub findings: Vec<(String, Finding)>,
}

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
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<PlannedStep>,
    /// Every command planning ran (read-only probes), in order: with facts cached per run,
    /// each probe runs once.
    pub commands: Vec<String>,
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

#[derive(Debug, Default)]
pub struct RollbackReport {
    pub id: Option<RunId>,
    pub restored_steps: Vec<String>,
    pub problems: Vec<String>,
    pub installed: Vec<String>,
    pub purged: Vec<String>,
    /// Commands of the restored steps: restoring files does not undo what they did to live
    /// state (a firewall enabled, the running hostname, a service started); a person checks.
    pub by_hand: Vec<String>,
}

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

/// `engine.write=return(PATH)`: the write of PATH fails as a full disk would.
fn injected_write_failure(path: &Path) -> Result<()> {
    #[cfg(feature = "failpoints")]
    {
        if let Some(p) = fail::eval("engine.write", |arg| arg.unwrap_or_default()) {
            if p.is_empty() || Path::new(&p) == path {
                return Err(eyre!(
                    "writing {}: no space left on device (injected)",
                    path.display()
                ));
            }
        }
    }
    let _ = path;
    Ok(())
}

type Managed = BTreeMap<PathBuf, String>;

pub struct Engine<'a> {
    pub host: &'a dyn Host,
    pub obs: &'a mut dyn Observer,
    pub opts: Options,
}

impl<'a> Engine<'a> {
    pub fn new(host: &'a dyn Host, obs: &'a mut dyn Observer, opts: Options) -> Engine<'a> {
        Engine { host, obs, opts }
    }

    fn managed_path(&self) -> PathBuf {
        self.opts.state_dir.join("managed.json")
    }

    /// Fingerprints of the files mailstead last wrote.
    fn managed(&self, host: &dyn Host) -> Managed {
        let mut m: Managed = host
            .read(&self.managed_path())
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        m.retain(|p, _| !self.opts.unguarded.contains(p));
        m
    }

    fn ctx<'c, A: ?Sized>(&self, host: &'c dyn Host, answers: &'c A, facts: &Facts) -> Ctx<'c, A> {
        Ctx {
            host,
            answers,
            invoking_users: self.opts.invoking_users.clone(),
            facts: facts.clone(),
        }
    }

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
            });
        }
        plan.commands = overlay.probes();
        Ok(plan)
    }

    /// Plans, asks about hand edits, then applies step by step with snapshots; a failed step
    /// is rolled back at once.
    pub fn apply<A: ?Sized>(
        &mut self,
        steps: &[&dyn Step<A>],
        checks: &[&dyn Check<A>],
        answers: &A,
    ) -> Result<RunReport> {
        interrupt::reset();
        let plan = match self.plan(steps, answers) {
            Ok(plan) => plan,
            Err(e) => match e.downcast_ref::<Refusal>() {
                Some(r) => {
                    return Ok(RunReport {
                        id: None,
                        changes: 0,
                        installed: vec![],
                        outcome: Outcome::Refused(r.to_string()),
                        findings: vec![],
                    })
                }
                None => return Err(e),
            },
        };
        if plan.total() == 0 {
            // Nothing to change, but what the steps warn about still holds (a warning only
            // shown while changes are made would vanish on the re-run meant to check it).
            for step in &plan.steps {
                for note in step.notes.iter().filter(|n| n.level == Level::Warning) {
                    self.obs.event(&Event::Note {
                        step: step.step.clone(),
                        level: note.level,
                        text: note.text.clone(),
                    });
                }
            }
            return Ok(RunReport {
                id: None,
                changes: 0,
                installed: vec![],
                outcome: Outcome::NothingToDo,
                findings: vec![],
            });
        }
        let mut approved = BTreeSet::new();
        for c in plan.drifted() {
            if let Err(why) = self.approve_drift(&c.summary, c.drift.as_deref().unwrap_or("")) {
                return Ok(RunReport {
                    id: None,
                    changes: 0,
                    installed: vec![],
                    outcome: Outcome::Refused(why),
                    findings: vec![],
                });
            }
            approved.insert(c.summary.clone());
        }

        let id = RunId::new();
        let mut run = RunDir::create(self.host, &self.opts.state_dir, id.clone())?;
        run.record(&Record::RunStart {
            id: id.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            command: self.opts.command_line.clone(),
        })?;
        self.emit(
            &run,
            Event::RunStarted {
                id: id.clone(),
                steps: steps.iter().map(|s| s.name().to_string()).collect(),
            },
        );

        let mut state = RunState::default();
        let facts = Facts::default();
        let mut total = 0;
        let mut outcome = Outcome::Done;
        for (i, step) in steps.iter().enumerate() {
            match self.apply_step(&mut run, &mut state, *step, answers, &approved, &facts) {
                Ok(n) => total += n,
                Err(err) => {
                    let (error, interrupted) = match err {
                        // Ctrl-C also reaches a running child (same process group), which
                        // then fails: that is still an interruption.
                        StepError::Failed(e) => (format!("{e:#}"), interrupt::requested()),
                        StepError::Interrupted => ("interrupted".to_string(), true),
                        StepError::Refused(why) => {
                            // Nothing of this step was touched; earlier steps stay applied,
                            // unless the run is all or nothing.
                            self.note(&run, step.name(), &why);
                            outcome = if self.opts.atomic && !state.started.is_empty() {
                                match self.fail_whole_run(
                                    &mut run,
                                    &mut state,
                                    &steps[..i],
                                    step.name(),
                                    eyre!("{why}"),
                                ) {
                                    Outcome::Failed { problems, .. } if problems.is_empty() => {
                                        Outcome::Refused(why)
                                    }
                                    other => other,
                                }
                            } else {
                                Outcome::Refused(why)
                            };
                            break;
                        }
                    };
                    outcome = if self.opts.atomic {
                        // All or nothing, under every interruption too: undo the whole run.
                        match self.fail_whole_run(
                            &mut run,
                            &mut state,
                            &steps[..=i],
                            step.name(),
                            eyre!(error),
                        ) {
                            Outcome::Failed { step, problems, .. } if interrupted => {
                                Outcome::Interrupted { step, problems }
                            }
                            other => other,
                        }
                    } else {
                        let problems =
                            self.rollback_failed_step(&run, &mut state, step.name(), &error);
                        // Steps before stay applied and consistent: load what they wrote.
                        let mut problems = problems;
                        if let Err(e) = self.flush_reloads(&run, &mut state) {
                            problems.push(format!("reloading services: {e:#}"));
                        }
                        if interrupted {
                            Outcome::Interrupted {
                                step: step.name().to_string(),
                                problems,
                            }
                        } else {
                            Outcome::Failed {
                                step: step.name().to_string(),
                                error,
                                problems,
                            }
                        }
                    };
                    break;
                }
            }
        }
        let mut findings = Vec::new();
        if outcome == Outcome::Done {
            if let Err(e) = self.flush_reloads(&run, &mut state) {
                outcome = self.fail_whole_run(&mut run, &mut state, steps, "reload", e);
            }
        }
        if outcome == Outcome::Done && !checks.is_empty() {
            // The services run the new configuration now: prove it works, or undo the run.
            facts.clear();
            let ctx = self.ctx(self.host, answers, &facts);
            findings = self.run_checks(&run, checks, &ctx);
            let failed: Vec<String> = findings
                .iter()
                .filter(|(_, f)| f.status == Status::Fail)
                .map(|(name, f)| match &f.fix {
                    Some(fix) => format!("check {name}: {} (fix: {fix})", f.detail),
                    None => format!("check {name}: {}", f.detail),
                })
                .collect();
            if !failed.is_empty() {
                outcome = self.fail_whole_run(
                    &mut run,
                    &mut state,
                    steps,
                    "check",
                    eyre!(failed.join("\n")),
                );
            }
        }
        let status = match &outcome {
            Outcome::Done | Outcome::NothingToDo => "ok",
            Outcome::Refused(_) => "refused",
            Outcome::Failed { .. } => "failed",
            Outcome::Interrupted { .. } => "interrupted",
        };
        let end = Record::RunEnd {
            status: status.to_string(),
            left: left_behind(self.host, &run, &self.managed_path()),
        };
        if let Err(e) = run.record(&end) {
            let problem = format!(
                "{e:#}: the run's end is not in its journal; the next start will offer to recover it"
            );
            match &mut outcome {
                Outcome::Failed { problems, .. } | Outcome::Interrupted { problems, .. } => {
                    problems.push(problem)
                }
                _ => {
                    let why = problem.clone();
                    self.emit(
                        &run,
                        Event::Note {
                            step: "run".into(),
                            level: Level::Warning,
                            text: why,
                        },
                    );
                }
            }
        }
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

    /// Runs every check on `ctx`, emitting each finding; also what `mailstead check` does.
    fn run_checks<A: ?Sized>(
        &mut self,
        run: &RunDir,
        checks: &[&dyn Check<A>],
        ctx: &Ctx<A>,
    ) -> Vec<(String, Finding)> {
        let mut out = Vec::new();
        for check in checks {
            let finding = check.run(ctx);
            let ev = Event::Checked {
                check: check.name().to_string(),
                finding: finding.clone(),
            };
            self.emit(run, ev);
            out.push((check.name().to_string(), finding));
        }
        out
    }

    /// Runs the checks alone, against the host as it is (`mailstead check`).
    pub fn check<A: ?Sized>(
        &mut self,
        checks: &[&dyn Check<A>],
        answers: &A,
    ) -> Vec<(String, Finding)> {
        let facts = Facts::default();
        let ctx = self.ctx(self.host, answers, &facts);
        let mut out = Vec::new();
        for check in checks {
            let finding = check.run(&ctx);
            self.obs.event(&Event::Checked {
                check: check.name().to_string(),
                finding: finding.clone(),
            });
            out.push((check.name().to_string(), finding));
        }
        out
    }

    fn approve_drift(&mut self, summary: &str, detail: &str) -> std::result::Result<(), String> {
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

    fn emit(&mut self, run: &RunDir, ev: Event) {
        match ev {
            Event::Progress { .. } => run.log_progress(&log_line(&ev)),
            _ => run.log(&log_line(&ev)),
        }
        self.obs.event(&ev);
    }

    fn note(&mut self, run: &RunDir, step: &str, text: &str) {
        self.emit(
            run,
            Event::Note {
                step: step.to_string(),
                level: Level::Info,
                text: text.to_string(),
            },
        );
    }

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
        let planned = match step.plan(&ctx) {
            Ok(p) => p,
            Err(e) => {
                return Err(match e.downcast_ref::<Refusal>() {
                    Some(r) => StepError::Refused(r.to_string()),
                    None => StepError::Failed(
                        e.wrap_err(format!("step {name}: reading the current state")),
                    ),
                })
            }
        };
        for note in &planned.notes {
            self.emit(
                run,
                Event::Note {
                    step: name.to_string(),
                    level: note.level,
                    text: note.text.clone(),
                },
            );
        }
        let changes = effective(planned.changes, host, &mut state.written);
        if changes.is_empty() {
            step.verify(&ctx)
                .wrap_err_with(|| format!("step {name}: verify"))?;
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
        for c in &changes {
            if let Some(d) = drift(host, &managed, c) {
                if !approved.contains(&c.summary()) {
                    self.approve_drift(&c.summary(), &d)
                        .map_err(StepError::Refused)?;
                }
            }
        }

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
            let kept = matches!(change, Change::Run { keep: true, .. });
            for p in change.paths().into_iter().filter(|_| !kept) {
                let (deep, keep) = match change {
                    Change::Run { .. } => (true, false),
                    Change::EnsureDir { .. } => (false, true),
                    _ => (false, false),
                };
                // Parent directories the write will create: removed again on rollback.
                if let Some(top) = topmost_missing_parent(host, p) {
                    self.snapshot(run, name, &top, false, true, &mut snapped)?;
                }
                self.snapshot(run, name, p, deep, keep, &mut snapped)?;
            }
            run.record(&Record::Change {
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
            })?;
            self.emit(
                run,
                Event::ChangeStarted {
                    step: name.to_string(),
                    summary: change.summary(),
                    index: i + 1,
                    of: changes.len(),
                },
            );
            if let Change::Reload { service, restart } = change {
                run.record(&Record::ReloadQueued {
                    step: name.to_string(),
                    service: service.clone(),
                })?;
                state.queue(service, name);
                if *restart {
                    state.restart.insert(service.clone());
                }
            } else {
                let installed = apply_change_fed(host, change, &mut |fed| {
                    let step = name.to_string();
                    let ev = match fed {
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
                    };
                    self.emit(run, ev);
                })
                .wrap_err_with(|| format!("step {name}: {}", change.summary()))?;
                if !installed.is_empty() {
                    run.record(&Record::Installed {
                        step: name.to_string(),
                        packages: installed.clone(),
                    })?;
                    state.installed.extend(installed);
                }
                record_fingerprints(host, change, &mut managed);
            }
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
        let json = serde_json::to_vec_pretty(&managed).map_err(|e| eyre!(e))?;
        host.write_atomic(&self.managed_path(), &json, Meta::root(0o600))
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
        Ok(applied)
    }

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

    /// Rolls `step` back. Never gives up half-way: what could not be done or recorded (a
    /// full disk) comes back as problems, so the exit code says the rollback needs a hand.
    fn rollback_failed_step(
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

    fn fail_whole_run<A: ?Sized>(
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
                        return Err(eyre!(system::failure(&cmd, &out)));
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

    /// Takes the lock that keeps two runs apart; held until dropped.
    pub fn lock(&self) -> Result<Box<dyn crate::host::LockGuard>> {
        journal::ensure_state_dirs(self.host, &self.opts.state_dir)?;
        self.host
            .lock(&self.opts.state_dir.join("lock"))
            .wrap_err("another mailstead run is in progress (lock held); wait for it to finish")
    }

    /// Finds runs that never ended (killed, power cut) and rolls back the step they were in.
    /// A torn journal is repaired first and the result recorded durably, so a second start
    /// finds nothing to do. A run that later runs came after is never restored over them.
    pub fn recover(&mut self) -> Result<Vec<RollbackReport>> {
        let mut reports = Vec::new();
        let runs = journal::list_runs(self.host, &self.opts.state_dir);
        for id in &runs {
            let run = match RunDir::open(self.host, &self.opts.state_dir, id) {
                Ok(r) => r,
                Err(_) => continue,
            };
            let records = run.records()?;
            if records.iter().any(|r| matches!(r, Record::RunEnd { .. })) {
                continue;
            }
            let open: Vec<String> = open_steps(&records);
            let later: Vec<&RunId> = runs.iter().filter(|r| *r > id).collect();
            let detail = format!(
                "Run {id} was interrupted{}.",
                if open.is_empty() {
                    String::new()
                } else {
                    format!(" in step {}", open.join(", "))
                }
            );
            if later.is_empty()
                && !self.opts.yes
                && !self.obs.confirm(
                    &format!("{detail} Roll the interrupted step back now?"),
                    &detail,
                )
            {
                return Err(eyre!(
                    "{detail} Nothing was changed; run `mailstead --yes` or answer yes to roll it back first"
                ));
            }
            let mut report = RollbackReport {
                id: Some(id.clone()),
                ..Default::default()
            };
            if let Err(e) = run.repair() {
                report.problems.push(format!(
                    "run {id}: its journal has a torn record and could not be repaired: {e:#}; nothing was rolled back"
                ));
                reports.push(report);
                continue;
            }
            if let Some(newest) = later.last() {
                // Its snapshots are older than what later runs wrote: restoring them would
                // undo those runs. Close it, restore nothing.
                report.problems.push(format!(
                    "run {id} was interrupted{} but later runs ({newest} the newest) changed the server since; \
                     its snapshots were not restored over them (see {}/log.txt)",
                    if open.is_empty() {
                        String::new()
                    } else {
                        format!(" in step {}", open.join(", "))
                    },
                    run.dir.display()
                ));
                if let Err(e) = run.record(&Record::RunEnd {
                    status: "interrupted; not recovered (later runs)".to_string(),
                    left: BTreeMap::new(),
                }) {
                    report.problems.push(format!("recording it: {e:#}"));
                }
                reports.push(report);
                continue;
            }
            for step in open.iter().rev() {
                let problems = match restore_step(&run, step) {
                    Ok(p) => p,
                    Err(e) => vec![format!("rolling back step {step}: {e:#}")],
                };
                if let Err(e) = run.record(&Record::StepRolledBack {
                    step: step.clone(),
                    problems: problems.clone(),
                }) {
                    report
                        .problems
                        .push(format!("recording the rollback of step {step}: {e:#}"));
                }
                report.problems.extend(problems);
                report.restored_steps.push(step.clone());
                report.by_hand.extend(commands_of(&records, step));
            }
            // Steps that finished wrote configuration nobody loaded yet; the rolled-back step
            // may have been loaded: reload both.
            for svc in queued_services(&records) {
                if let Err(e) = reload(self.host, &svc) {
                    report.problems.push(format!("reloading {svc}: {e:#}"));
                }
            }
            report.installed = installed(&records);
            if let Err(e) = run.record(&Record::RunEnd {
                status: "interrupted; recovered".to_string(),
                left: left_behind(self.host, &run, &self.managed_path()),
            }) {
                report.problems.push(format!(
                    "recording the recovery of run {id}: {e:#} (the next start will offer it again)"
                ));
            }
            run.log(&format!("recovered: rolled back {}", open.join(", ")));
            reports.push(report);
        }
        Ok(reports)
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
        let live = |id: &RunId| -> Result<bool> {
            let recs = RunDir::open(self.host, &self.opts.state_dir, id)?.records()?;
            Ok(!recs
                .iter()
                .any(|r| matches!(r, Record::RunRolledBack { .. }))
                && recs.iter().any(|r| matches!(r, Record::StepDone { .. })))
        };
        let id = match id {
            Some(id) => id,
            None => {
                let mut found = None;
                for r in runs.iter().rev() {
                    if live(r)? {
                        found = Some(r.clone());
                        break;
                    }
                }
                found.ok_or_else(|| {
                    eyre!("there is no run left to roll back (see `mailstead runs`)")
                })?
            }
        };
        let run = RunDir::open(self.host, &self.opts.state_dir, &id)?;
        let records = run.records()?;
        if records
            .iter()
            .any(|r| matches!(r, Record::RunRolledBack { .. }))
        {
            return Err(eyre!("run {id} was already rolled back"));
        }
        let paths = snapshot_paths(&records);
        for later in runs.iter().filter(|r| **r > id) {
            if !live(later)? {
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
        let mut steps: Vec<String> = Vec::new();
        for r in &records {
            if let Record::StepStart { step } = r {
                let rolled = records
                    .iter()
                    .any(|x| matches!(x, Record::StepRolledBack { step: s, .. } if s == step));
                if !rolled && !steps.contains(step) {
                    steps.push(step.clone());
                }
            }
        }
        self.approve_rollback(&id, &records, &steps)?;
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
            let cmd = system::apt_purge_cmd(&report.installed);
            match self.host.run(&cmd) {
                Ok(out) if out.success() => report.purged = report.installed.clone(),
                Ok(out) => report.problems.push(system::failure(&cmd, &out)),
                Err(e) => report.problems.push(format!("`{cmd}`: {e}")),
            }
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

    /// The drift guard of a run, for a rollback: paths that changed since the run left them
    /// (hand edits, renewed certificates, users added) are shown and asked about; with `yes`
    /// the rollback is refused unless `force`. `Err`: nothing may be restored.
    fn approve_rollback(&mut self, id: &RunId, records: &[Record], steps: &[String]) -> Result<()> {
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
            return Ok(());
        }
        let why = format!(
            "changed since run {id} made them: {} (edited by hand, renewed, or changed by a command)",
            changed.join(", ")
        );
        let detail = format!(
            "Rolling back run {id} puts these back as they were before it, discarding what changed since:\n{}",
            changed.join("\n")
        );
        if self.opts.yes {
            if self.opts.force {
                return Ok(());
            }
            return Err(eyre!(
                "{why}; refusing to roll back over them with --yes (look at them, then re-run with --force to discard the changes)"
            ));
        }
        if self.obs.confirm(
            &format!("{why}. Roll back anyway, discarding those changes?"),
            &detail,
        ) {
            Ok(())
        } else {
            Err(eyre!("{why}; left as they are"))
        }
    }
}

#[derive(Default)]
struct RunState {
    started: Vec<String>,
    done: Vec<String>,
    /// Services waiting for their one reload, with the steps that asked.
    queue: Vec<(String, BTreeSet<String>)>,
    reloaded: BTreeSet<String>,
    installed: Vec<String>,
    /// Paths written so far: what [`When::Changed`] commands look at.
    written: BTreeSet<PathBuf>,
    /// Queued services that want a restart, not a reload.
    restart: BTreeSet<String>,
}

impl RunState {
    fn queue(&mut self, service: &str, step: &str) {
        match self.queue.iter_mut().find(|(s, _)| s == service) {
            Some((_, by)) => {
                by.insert(step.to_string());
            }
            None => self
                .queue
                .push((service.to_string(), BTreeSet::from([step.to_string()]))),
        }
    }
}

fn reload(host: &dyn Host, service: &str) -> Result<()> {
    if let Some(cmd) = system::reload_cmd(host, service) {
        let out = host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(system::failure(&cmd, &out)));
        }
    }
    Ok(())
}

/// Drops changes that would change nothing; a reload alone is not a change.
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
/// this call extends). Public for steps' unit tests.
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

/// What a command reports while a change applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feed<'a> {
    /// A line it printed (stdout or stderr).
    Line(&'a str),
    /// apt's own progress (see [`system::apt_status`]), 0..=100.
    Progress { percent: f32, what: &'a str },
    /// A tolerated command failed ([`Cmd::tolerated`]): this explains it, the run goes on.
    Tolerated(&'a str),
}

/// Applies one change. Returns the packages it newly installed.
pub fn apply_change(host: &dyn Host, change: &Change) -> Result<Vec<String>> {
    apply_change_as(host, change, false, &mut |_| {})
}

/// Applies one change, handing what its commands print to `feed` as they print it.
pub fn apply_change_fed(
    host: &dyn Host,
    change: &Change,
    feed: &mut dyn FnMut(Feed),
) -> Result<Vec<String>> {
    apply_change_as(host, change, false, feed)
}

/// apt's output with its status lines (`APT::Status-Fd`, on a pipe of its own) turned into progress.
fn apt_feed<'f>(feed: &'f mut dyn FnMut(Feed)) -> impl FnMut(&str) + 'f {
    move |line: &str| match system::apt_status(line) {
        Some(st) => {
            if !st.before.trim().is_empty() {
                feed(Feed::Line(st.before));
            }
            feed(Feed::Progress {
                percent: st.percent,
                what: st.what,
            });
        }
        // Waiting for another apt's lock (DPkg::Lock::Timeout): shown as progress, so the
        // plain log's "still running" lines and the dashboard say who holds it.
        None if line.starts_with("Waiting for cache lock") => {
            feed(Feed::Line(line));
            feed(Feed::Progress {
                percent: 0.0,
                what: line,
            });
        }
        None => feed(Feed::Line(line)),
    }
}

/// Mode and ids for `perms` on `host`. While planning on the overlay, users and groups that
/// a planned package install would create do not exist yet: they stand in as root there (the
/// plan shows the names; only applying resolves them).
fn meta_for(host: &dyn Host, perms: &Perms, planning: bool) -> Result<Meta> {
    match perms.resolve(host) {
        Ok(m) => Ok(m),
        Err(_) if planning => Ok(Meta::root(perms.mode)),
        Err(e) => Err(eyre!("{e}: cannot give it owner {}", perms)),
    }
}

fn apply_change_as(
    host: &dyn Host,
    change: &Change,
    planning: bool,
    feed: &mut dyn FnMut(Feed),
) -> Result<Vec<String>> {
    match change {
        Change::WriteFile {
            path,
            content,
            meta,
            ..
        } => {
            if let Some(parent) = path.parent() {
                host.create_dir_all(parent, Meta::root(0o755))?;
            }
            injected_write_failure(path)?;
            let meta = meta_for(host, meta, planning)
                .wrap_err_with(|| format!("writing {}", path.display()))?;
            host.write_atomic(path, content, meta)
                .wrap_err_with(|| format!("writing {}", path.display()))?;
        }
        Change::RemoveFile { path } => {
            if host.exists(path) {
                host.remove(path)
                    .wrap_err_with(|| format!("removing {}", path.display()))?;
            }
        }
        Change::EnsureDir { path, meta } => match host.stat(path)? {
            Some(st) if st.kind == Kind::Dir => {
                host.set_meta(path, meta_for(host, meta, planning)?)?
            }
            Some(_) => return Err(eyre!("{} exists and is not a directory", path.display())),
            None => {
                if let Some(parent) = path.parent() {
                    host.create_dir_all(parent, Meta::root(0o755))?;
                }
                host.create_dir(path, meta_for(host, meta, planning)?)
                    .wrap_err_with(|| format!("creating {}", path.display()))?;
            }
        },
        Change::Run { cmd, .. } => {
            let out = host
                .run_streaming(cmd, &mut |line| feed(Feed::Line(line)))
                .wrap_err_with(|| format!("starting `{cmd}`"))?;
            if !out.success() {
                match cmd.tolerated {
                    Some(explain) => feed(Feed::Tolerated(&explain(&out))),
                    None => return Err(eyre!(system::failure(cmd, &out))),
                }
            }
        }
        Change::Install { packages, debconf } => {
            let missing: Vec<String> = packages
                .iter()
                .filter(|p| !system::package_installed(host, p))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(vec![]);
            }
            if !debconf.is_empty() {
                let cmd = system::debconf_cmd(debconf);
                let out = host.run_streaming(&cmd, &mut |line| feed(Feed::Line(line)))?;
                if !out.success() {
                    return Err(eyre!(system::failure(&cmd, &out)));
                }
            }
            let cmd = system::apt_install_cmd(&missing);
            let out = host.run_streaming(&cmd, &mut apt_feed(feed))?;
            if !out.success() {
                // Restoring files does not take packages back: say what state dpkg left them
                // in, so nobody reads "rolled back" as "as it was".
                let state = system::package_states(host, &missing);
                let left: Vec<String> = state
                    .iter()
                    .filter(|(_, s)| s != "install ok installed" && s != "not installed")
                    .map(|(p, s)| format!("{p} ({s})"))
                    .collect();
                let mut msg = system::failure(&cmd, &out);
                if !left.is_empty() {
                    msg.push_str(&format!(
                        "\npackages left half-installed by dpkg: {}; fix: `dpkg --configure -a` \
                         then `apt-get -f install`, or remove them with `apt-get purge`",
                        left.join(", ")
                    ));
                }
                return Err(eyre!(msg));
            }
            return Ok(missing);
        }
        Change::Reload { .. } => {}
    }
    Ok(vec![])
}

/// What differs from what mailstead last wrote, if the change would overwrite a hand edit.
fn drift(host: &dyn Host, managed: &Managed, change: &Change) -> Option<String> {
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

fn record_fingerprints(host: &dyn Host, change: &Change, managed: &mut Managed) {
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

fn topmost_missing_parent(host: &dyn Host, path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .take_while(|a| !host.exists(a))
        .last()
        .map(Path::to_path_buf)
}

/// Puts back everything `step` touched in this run, newest snapshot first.
fn restore_step(run: &RunDir, step: &str) -> Result<Vec<String>> {
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
        let cmd =
            Cmd::new(program, args.iter().cloned()).timeout(std::time::Duration::from_secs(120));
        match run.host.run(&cmd) {
            Ok(out) if out.success() => run.log(&format!("[{step}] undone: {summary} (`{cmd}`)")),
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

/// Each path the run snapshotted, with whether as a whole tree.
fn snapshot_targets(records: &[Record], steps: &[String]) -> BTreeMap<PathBuf, bool> {
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
fn left_behind(host: &dyn Host, run: &RunDir, own: &Path) -> BTreeMap<PathBuf, String> {
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

/// The commands `step` ran (or began), as `summary: command line`.
fn commands_of(records: &[Record], step: &str) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Change {
                step: s,
                summary,
                command: Some(cmd),
                undo: None,
            } if s == step => Some(format!("{summary}: `{cmd}`")),
            _ => None,
        })
        .collect()
}

/// Steps a journal started but never finished nor rolled back.
fn open_steps(records: &[Record]) -> Vec<String> {
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

fn queued_services(records: &[Record]) -> Vec<String> {
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

fn installed(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Installed { packages, .. } => Some(packages.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn snapshot_paths(records: &[Record]) -> BTreeSet<PathBuf> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Snapshot { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// One readable line of `log.txt` per event (command output lines are logged too).
fn log_line(ev: &Event) -> String {
    match ev {
        Event::RunStarted { id, steps } => format!("run {id} started: {}", steps.join(", ")),
        Event::StepStarted { step, about } => format!("[{step}] {about}"),
        Event::ChangeStarted { step, summary, .. } => format!("[{step}] start: {summary}"),
        Event::Change { step, summary } => format!("[{step}] done: {summary}"),
        Event::Output { step, line } => format!("[{step}]   | {line}"),
        Event::Progress {
            step,
            percent,
            what,
        } => format!("[{step}] {percent:.0}% {what}"),
        Event::Note { step, level, text } => match level {
            Level::Info => format!("[{step}] {text}"),
            Level::Warning => format!("[{step}] warning: {text}"),
        },
        Event::Checked { check, finding } => match &finding.fix {
            Some(fix) => format!(
                "[check {check}] {}: {} (fix: {fix})",
                finding.status, finding.detail
            ),
            None => format!("[check {check}] {}: {}", finding.status, finding.detail),
        },
        Event::StepFinished { step, outcome } => format!("[{step}] {outcome}"),
        Event::RunFinished { id, changes, ok } => {
            format!(
                "run {id} finished: {} ({changes} changes)",
                if *ok { "ok" } else { "failed" }
            )
        }
    }
}
