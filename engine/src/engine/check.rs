//! Checks: what proves a run's result, after it and on its own (`mailstead check`).
use super::base::Engine;
use crate::event::Event;
use crate::journal::RunDir;
use crate::step::{Check, Ctx, Facts, Finding};

impl Engine<'_> {
    /// Runs every check on `ctx`, emitting each finding; also what `mailstead check` does.
    pub(super) fn run_checks<A: ?Sized + Sync>(
        &mut self,
        run: &RunDir,
        checks: &[&dyn Check<A>],
        ctx: &Ctx<A>,
    ) -> Vec<(String, Finding)> {
        // The checks only read, and several wait (a test message's delivery, rspamd's
        // signature): they run side by side, and are reported in their order.
        let findings: Vec<Finding> = std::thread::scope(|scope| {
            let running: Vec<_> = checks
                .iter()
                .map(|check| scope.spawn(move || check.run(ctx)))
                .collect();
            running
                .into_iter()
                .zip(checks)
                .map(|(h, check)| {
                    h.join().unwrap_or_else(|_| {
                        Finding::fail(
                            format!("check {} panicked", check.name()),
                            "report this as a bug",
                        )
                    })
                })
                .collect()
        });
        let mut out = Vec::new();
        for (check, finding) in checks.iter().zip(findings) {
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
