//! mailstead's engine. It knows no mail: steps describe changes as data; this crate is the only
//! place that applies them, and it always can undo what it applied.
//!
//! - [`host`]: the one door to the system (files, commands), real or under `--root`.
//! - [`memhost`]: the same door in memory: a fake for tests, an overlay for `plan`.
//! - [`step`] / [`change`]: the contract every step follows: facts in, changes and notes out,
//!   or a refusal; checks that prove the result.
//! - [`engine`]: plan, apply, journal, snapshot, roll back, recover, run checks.
//! - [`journal`]: runs on disk and the snapshots inside them.
pub mod change;
pub mod engine;
pub mod event;
pub mod host;
pub mod interrupt;
pub mod journal;
pub mod memhost;
pub mod secret;
pub mod step;
pub mod system;

pub use change::{Change, Perms, When};
pub use engine::{effective, Engine, Options, Outcome, Plan, RollbackReport, RunReport};
pub use event::{Event, Observer, StepOutcome};
pub use host::{Cmd, Host, Meta, Output, RealHost};
pub use memhost::MemHost;
pub use secret::Secret;
pub use step::{
    Check, Contingency, Ctx, Fact, Facts, Finding, Level, Note, Planned, Refusal, Status, Step,
};
