//! `mailstead runs`: the runs, newest last.
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::out;
use mailstead_engine::journal::{self, Record, RunDir};

/// List the runs, newest last
///
/// One line each: the run's id, status, changes, steps and command line.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(s: &Session) -> CliResult {
    let ids = journal::list_runs(&s.host, &s.state_dir);
    if ids.is_empty() {
        out::line("No runs yet.");
    }
    for id in journal::list_run_dirs(&s.host, &s.state_dir) {
        if !ids.contains(&id) {
            out::line(format_args!(
                "{id}  no journal: not a run mailstead can read (ignored)"
            ));
            continue;
        }
        let recs = match RunDir::open(&s.host, &s.state_dir, &id).and_then(|r| r.records()) {
            Ok(r) => r,
            Err(e) => {
                out::line(format_args!("{id}  unreadable journal: {e:#}"));
                continue;
            }
        };
        let mut status = "in progress or interrupted".to_string();
        let mut changes = 0;
        let mut steps = Vec::new();
        let mut command = String::new();
        for r in &recs {
            match r {
                Record::RunStart { command: c, .. } => command = c.clone(),
                Record::StepDone { step, changes: n } => {
                    changes += n;
                    steps.push(step.clone());
                }
                Record::RunEnd { status: st, .. } => status = st.clone(),
                Record::RunRolledBack { .. } => status = "rolled back".into(),
                _ => {}
            }
        }
        out::line(format_args!(
            "{id}  {status:<12} {changes:>3} changes  steps: {}  `{command}`",
            if steps.is_empty() {
                "-".to_string()
            } else {
                steps.join(",")
            }
        ));
    }
    Ok(exit::DONE)
}
