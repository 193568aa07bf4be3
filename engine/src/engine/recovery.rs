//! Recovery: runs that never ended (killed, power cut), found and rolled back at the next start.
use super::base::{Engine, RollbackReport};
use super::records::{
    commands_of, installed, left_behind, open_steps, queued_services, steps_to_roll_back,
};
use super::rollback::{reload, restore_step};
use crate::journal::{self, Record, RunDir, RunId};
use color_eyre::eyre::{eyre, Result};
use std::collections::BTreeMap;

impl Engine<'_> {
    /// Finds runs that never ended (killed, power cut) and rolls back the step they were in;
    /// of an all-or-nothing run ([`Options::atomic`](super::Options::atomic), recorded in its
    /// start record) every step it did, as Ctrl-C would have.
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
            let later: Vec<&RunId> = runs.iter().filter(|r| *r > id).collect();
            reports.push(self.recover_run(&run, id, &records, &later)?);
        }
        Ok(reports)
    }

    /// Recovers run `id`, which never ended; `later` are the runs after it. Asks first when it
    /// is the newest run (refuses without an answer unless `yes`). `Err`: not allowed to.
    /// What it rolls back: the steps left open, or of an all-or-nothing run every step it
    /// started and did not roll back yet (newest first, whatever it finished included).
    fn recover_run(
        &mut self,
        run: &RunDir,
        id: &RunId,
        records: &[Record],
        later: &[&RunId],
    ) -> Result<RollbackReport> {
        let open: Vec<String> = open_steps(records);
        let whole = is_atomic(records);
        let (detail, question) = if whole {
            (
                format!(
                    "Run {id} was interrupted{}; it is all or nothing.",
                    in_steps(&open)
                ),
                "Roll the whole run back now?",
            )
        } else {
            (
                format!("Run {id} was interrupted{}.", in_steps(&open)),
                "Roll the interrupted step back now?",
            )
        };
        if later.is_empty()
            && !self.opts.yes
            && !self.obs.confirm(&format!("{detail} {question}"), &detail)
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
            return Ok(report);
        }
        match later.last() {
            Some(newest) => close_superseded(run, id, &open, newest, &mut report),
            None if whole => {
                let done = steps_to_roll_back(records);
                self.roll_back_steps(run, id, records, &done, whole, &mut report)
            }
            None => self.roll_back_steps(run, id, records, &open, whole, &mut report),
        }
        Ok(report)
    }

    /// Rolls back `steps` of run `id` (in the order they started), newest first, reloads what
    /// it queued and closes its journal as recovered (`whole`: all of it was undone).
    fn roll_back_steps(
        &mut self,
        run: &RunDir,
        id: &RunId,
        records: &[Record],
        steps: &[String],
        whole: bool,
        report: &mut RollbackReport,
    ) {
        for step in steps.iter().rev() {
            let problems = match restore_step(run, step) {
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
            report.by_hand.extend(commands_of(records, step));
        }
        // Steps that finished wrote configuration nobody loaded yet; the rolled-back step
        // may have been loaded: reload both.
        for svc in queued_services(records) {
            if let Err(e) = reload(self.host, &svc) {
                report.problems.push(format!("reloading {svc}: {e:#}"));
            }
        }
        report.installed = installed(records);
        if let Err(e) = run.record(&Record::RunEnd {
            status: if whole {
                "interrupted; recovered whole"
            } else {
                "interrupted; recovered"
            }
            .to_string(),
            left: left_behind(self.host, run, &self.managed_path()),
        }) {
            report.problems.push(format!(
                "recording the recovery of run {id}: {e:#} (the next start will offer it again)"
            ));
        }
        run.log(&format!("recovered: rolled back {}", steps.join(", ")));
    }
}

/// Run `id` never ended but later runs came after it: its snapshots are older than what they
/// wrote, and restoring them would undo those runs. Closes it, restores nothing.
fn close_superseded(
    run: &RunDir,
    id: &RunId,
    open: &[String],
    newest: &RunId,
    report: &mut RollbackReport,
) {
    report.problems.push(format!(
        "run {id} was interrupted{} but later runs ({newest} the newest) changed the server since; \
         its snapshots were not restored over them (see {}/log.txt)",
        in_steps(open),
        run.dir.display()
    ));
    if let Err(e) = run.record(&Record::RunEnd {
        status: "interrupted; not recovered (later runs)".to_string(),
        left: BTreeMap::new(),
    }) {
        report.problems.push(format!("recording it: {e:#}"));
    }
}

/// Whether the run's start record marks it all or nothing.
fn is_atomic(records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| matches!(r, Record::RunStart { atomic: true, .. }))
}

/// ` in step a, b` for the steps a run left open; empty when there are none.
fn in_steps(open: &[String]) -> String {
    if open.is_empty() {
        String::new()
    } else {
        format!(" in step {}", open.join(", "))
    }
}
