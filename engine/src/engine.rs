//! The engine alone plans, applies, journals, snapshots and rolls back. Steps only say what
//! they want; observers only watch.
//!
//! Its parts, each using only parts listed before it (no cycles):
//! - `base`: the [`Engine`], its [`Options`], how a run ends ([`Outcome`], the reports), the
//!   events it logs and hands the observer.
//! - `execute`: one change carried out on a host ([`apply_change`]).
//! - `records`: what a run's journal says (paths snapshotted, steps left open, commands run).
//! - `run_state`: what a run in progress tracks between its steps.
//! - `drift`: hand edits (fingerprints of what mailstead wrote, asking before overwriting).
//! - `check`: the checks, after a run and alone.
//! - `plan`: every change the steps would make, on an overlay ([`Plan`], [`effective`]).
//! - `rollback`: undoing a failed step, a failed run, or a finished run on request.
//! - `recovery`: runs that never ended, rolled back at the next start.
//! - `apply`: a run, step by step, journalled and snapshotted.
mod apply;
mod base;
mod check;
mod drift;
mod execute;
mod plan;
mod records;
mod recovery;
mod rollback;
mod run_state;

pub use base::{Engine, Options, Outcome, RollbackReport, RunReport};
pub use execute::{apply_change, apply_change_fed, Feed};
pub use plan::{effective, Plan, PlannedChange, PlannedStep};
