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
mod demo;
// SEAM: DNS TXT lookup for `dkim rotate` until steps' resolver lands.
mod error;
mod exit;
mod help;
mod ui;

use clap::Parser;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    // Errors are printed as plain words by `cli::run`; a panic (a bug) says what and where to
    // report it, without location or span-trace sections.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .display_location_section(false)
        .capture_span_trace_by_default(false)
        .install();
    let args = cli::Args::parse();
    if args.command.as_ref().is_some_and(cli::Command::only_reads) {
        // `mailstead runs | head -1`: end quietly when the reader goes away, as CLIs do. Only
        // for commands that change nothing: a run in progress is never cut short by a pipe.
        // SAFETY: setting a signal disposition to its default before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = cli::run(args);
    std::process::ExitCode::from(code as u8)
}
