//! mailstead: turns a fresh Debian server into a working, secure mail server, and adds
//! domains, mailboxes and aliases to it later.
//!
//! The shape, top to bottom:
//! - `cli`: the command line (clap) and the dispatch to `commands`.
//! - `commands`: one file per command; each loads the answers, builds the step list, hands
//!   it to the engine and maps the outcome to an exit code.
//! - `help`: the completions and the man page, made from the command line's definition.
//! - `ui`: the wizard, the menu, the live dashboard and the plain log. It only watches engine
//!   events and asks questions.
//! - `exit`: the exit codes.
//! - crate `mailstead-steps` (`steps/`): facts, steps (what to change, as data), checks.
//! - crate `mailstead-answers` (`answers/`): the answers file and every input rule.
//! - crate `mailstead-engine` (`engine/`): knows no mail; the Host door, plans, applies,
//!   journals, snapshots, rolls back, recovers and runs checks.
//!
//! The binary (`main.rs`) is only the entry point; everything lives in this library, so the
//! UI examples (`examples/`) use it as a crate instead of including its files.
pub mod cli;
pub mod commands;
pub mod demo;
pub mod error;
pub mod exit;
pub mod help;
pub mod ui;
