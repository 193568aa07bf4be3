//! One file per command: each defines its arguments (clap) and help, parses them, calls the
//! operation and prints through `ui::out`. `cli` holds the command line and dispatches here.
//!
//! Shared by the commands: [`session`] (the flags, the host, the answers file, the engine's
//! options), [`run`] (a run of the engine and its end block), [`edit`] (the add-/remove-
//! commands' answers edit), [`flags`] (the flag groups several commands take).
pub mod add_alias;
pub mod add_domain;
pub mod add_mailbox;
pub mod check;
pub mod completions;
pub mod demo;
pub mod dkim;
pub mod dns;
pub mod edit;
pub mod flags;
pub mod install;
pub mod man;
pub mod menu;
pub mod plan;
pub mod recover;
pub mod remove_alias;
pub mod remove_domain;
pub mod remove_mailbox;
pub mod retry_certificate;
pub mod rollback;
pub mod run;
pub mod runs;
pub mod session;
pub mod unban;
pub mod wizard;
