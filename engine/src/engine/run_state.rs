//! What a run in progress keeps track of between its steps.
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Default)]
pub(super) struct RunState {
    pub(super) started: Vec<String>,
    pub(super) done: Vec<String>,
    /// Services waiting for their one reload, with the steps that asked.
    pub(super) queue: Vec<(String, BTreeSet<String>)>,
    pub(super) reloaded: BTreeSet<String>,
    pub(super) installed: Vec<String>,
    /// Paths written so far: what [`When::Changed`](crate::change::When::Changed) commands
    /// look at.
    pub(super) written: BTreeSet<PathBuf>,
    /// Queued services that want a restart, not a reload.
    pub(super) restart: BTreeSet<String>,
    /// Queued services whose configuration changed (not only their lookup tables: see
    /// [`Change::Reload`](crate::change::Change::Reload)'s `tables`).
    pub(super) reconfigured: BTreeSet<String>,
}

impl RunState {
    pub(super) fn queue(&mut self, service: &str, step: &str) {
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
