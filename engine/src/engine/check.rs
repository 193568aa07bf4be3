//! Checks: what proves a run's result, after it and on its own (`mailstead check`).
use super::base::Engine;
use crate::event::Event;
use crate::journal::RunDir;
use crate::step::{Check, Ctx, Facts, Finding};

impl Engine<'_> {
    /// Runs every check on `ctx`, emitting each finding; also what `mailstead check` does.
    pub(super) fn run_checks<A: ?Sized>(
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
}
