//! mailstead: turns a fresh Debian server into a working, secure mail server, and adds
//! domains, mailboxes and aliases to it later.
//!
//! The shape, top to bottom:
//! - `cli`: the commands (clap); each loads the answers, builds the step list, hands it to
//!   the engine and maps the outcome to an exit code.
//! - `ui`: the wizard, the menu, the live dashboard and the plain log. It only watches engine
//!   events and asks questions.
//! - `exit`: the exit codes.
//! - crate `mailstead-steps` (`steps/`): facts, steps (what to change, as data), checks.
//! - crate `mailstead-answers` (`answers/`): the answers file and every input rule.
//! - crate `mailstead-engine` (`engine/`): knows no mail; the Host door, plans, applies,
//!   journals, snapshots, rolls back, recovers and runs checks.
mod cli;
mod exit;
mod help;
mod ui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install();
    let args = cli::Args::parse();
    let code = cli::run(args);
    std::process::ExitCode::from(code as u8)
}
