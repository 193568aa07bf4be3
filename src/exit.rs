//! mailstead's exit codes (the README lists them). They belong to the binary: the engine
//! reports outcomes, the CLI turns them into codes.
use mailstead_engine::Outcome;

pub const DONE: i32 = 0;
pub const FAILED_ROLLED_BACK: i32 = 1;
/// Bad input, a refusal, or nothing to do for the command: nothing changed.
pub const BAD_INPUT: i32 = 2;
/// A rollback could not restore everything: what needs hand care is printed.
pub const ROLLBACK_FAILED: i32 = 3;
pub const INTERRUPTED: i32 = 4;
/// `check`: no failure, but at least one warning (or a check that could not run, e.g. no DNS).
pub const CHECK_WARNINGS: i32 = 5;

/// `check`'s code from its worst result: 0 all pass (or nothing checked), 5 warnings only,
/// 1 a failure (a check failed, or changes are pending).
pub fn for_check(worst: Option<mailstead_engine::Status>) -> i32 {
    match worst {
        None | Some(mailstead_engine::Status::Pass) => DONE,
        Some(mailstead_engine::Status::Warn) => CHECK_WARNINGS,
        Some(mailstead_engine::Status::Fail) => FAILED_ROLLED_BACK,
    }
}

/// 0 done, 1 failed and rolled back, 2 nothing changed (refused), 3 rollback needs hand
/// care, 4 interrupted.
pub fn for_outcome(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Done | Outcome::NothingToDo => DONE,
        Outcome::Refused(_) => BAD_INPUT,
        Outcome::Failed { problems, .. } | Outcome::Interrupted { problems, .. }
            if !problems.is_empty() =>
        {
            ROLLBACK_FAILED
        }
        Outcome::Failed { .. } => FAILED_ROLLED_BACK,
        Outcome::Interrupted { .. } => INTERRUPTED,
    }
}
