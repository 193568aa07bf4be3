//! `mailstead plan`: every change a run would make, files as diffs; changes nothing.
use super::flags;
use super::run::warn_interrupted;
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::{self, out};
use mailstead_answers::Answers;
use mailstead_engine::{Engine, Step};

/// Show what a run would change, as diffs; changes nothing
///
/// Every change a run would make, step by step, files as unified diffs.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: flags::Config,
    /// Also say how many probes planning ran, per program.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    // A plan is always plain text; accepted so scripts may pass it as to a run.
    #[arg(long, hide = true)]
    pub plain: bool,
}

pub fn run(s: &Session) -> CliResult {
    warn_interrupted(s);
    let answers = s.load_answers()?;
    let owned = s.steps();
    let steps: Vec<&dyn Step<Answers>> = owned.iter().map(|b| b.as_ref()).collect();
    let mut obs = mailstead_engine::event::Recorder::default();
    let plan = Engine::new(&s.host, &mut obs, s.options()).plan(&steps, &answers)?;
    ui::print_plan(&plan, ui::color_wanted());
    if s.flags.verbose {
        out::text(&ui::render_probes(&plan));
    }
    Ok(exit::DONE)
}
