//! The Step contract: read the current state, return the changes needed as data, verify.
//! Steps never change the system themselves; the engine applies what they return.
use crate::change::Change;
use crate::config::Answers;
use crate::host::Host;
use color_eyre::Result;

/// What a step sees: the host (the real one, or plan mode's overlay) and the answers.
pub struct Ctx<'a> {
    pub host: &'a dyn Host,
    pub answers: &'a Answers,
    /// The user running mailstead (and `$SUDO_USER`): never locked out of SSH.
    pub invoking_users: Vec<String>,
    /// True while planning: probes only, nothing is applied.
    pub planning: bool,
}

impl<'a> Ctx<'a> {
    /// Applying (not planning), on behalf of no particular user.
    pub fn new(host: &'a dyn Host, answers: &'a Answers) -> Ctx<'a> {
        Ctx {
            host,
            answers,
            invoking_users: Vec::new(),
            planning: false,
        }
    }
}

pub trait Step: Send + Sync {
    /// Short, stable name: journals, failpoints (`<name>.before|mid|after`), `--only`.
    fn name(&self) -> &'static str;
    /// One line for the dashboard.
    fn about(&self) -> &'static str;
    /// The changes that bring the host to what the answers ask for. Empty when it is there.
    fn plan(&self, ctx: &Ctx) -> Result<Vec<Change>>;
    /// Checks the result after apply; an error rolls the step back.
    fn verify(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }
    /// Things worth telling the admin that are not problems (a skipped part, a fallback).
    fn notes(&self, _ctx: &Ctx) -> Vec<String> {
        Vec::new()
    }
    /// Pending service reloads are done before this step runs (a verify step needs them).
    fn needs_reloaded_services(&self) -> bool {
        false
    }
}
