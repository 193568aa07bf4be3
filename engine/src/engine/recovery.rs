//! Recovery: runs that never ended (killed, power cut), found and rolled back at the next start.
use super::base::{Engine, RollbackReport};
use super::records::{commands_of, installed, left_behind, open_steps, queued_services};
use super::rollback::{reload, restore_step};
use crate::journal::{self, Record, RunDir, RunId};
use color_eyre::eyre::{eyre, Result};
use std::collections::BTreeMap;

impl Engine<'_> {
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
}
